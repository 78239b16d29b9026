//! HTML: only what a reader sees of the page's main content (no navigation, scripts or hidden
//! elements), in the blocks a browser would lay out.

use encoding_rs::Encoding;
use scraper::node::Element;
use scraper::{ElementRef, Html, Node};

use super::decode::decode_text;
use super::writer::BlockWriter;
use super::{BlockKind, ExtractError, Extracted};

/// Elements whose content a reader does not see as page text, or that repeat on every page
/// (navigation). Form controls are dropped because their labels and options are UI, not prose.
#[rustfmt::skip]
const DROPPED_HTML_ELEMENTS: &[&str] = &[
    "head", "script", "style", "noscript", "template", "svg", "canvas", "iframe", "nav", "button", "select",
    "option", "optgroup", "datalist", "input", "textarea", "object", "embed", "audio", "video",
];

/// Elements that start and end a block of text. Anything else is inline and joins its paragraph.
#[rustfmt::skip]
const BLOCK_HTML_ELEMENTS: &[&str] = &[
    "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details", "dialog", "div",
    "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "header", "hgroup", "hr", "html", "legend",
    "li", "main", "menu", "ol", "p", "section", "summary", "table", "tbody", "tfoot", "thead", "tr", "ul",
];

pub(super) fn extract_html(bytes: &[u8]) -> Result<Extracted, ExtractError> {
    let decoded = decode_text(bytes, declared_html_charset(bytes))?;
    // html5ever would keep a UTF-8 BOM as page text.
    let source = decoded.text.strip_prefix('\u{feff}').unwrap_or(&decoded.text);
    let document = Html::parse_document(source);
    if is_marked_noindex(&document) {
        return Err(ExtractError::NoIndex);
    }

    let mut builder = HtmlBlockBuilder::default();
    // An explicit stack instead of recursion: html5ever keeps any nesting depth, and a hostile page
    // nested a hundred thousand deep must not overflow the stack.
    let mut stack = vec![(*content_root(&document), false)];
    while let Some((node, leaving)) = stack.pop() {
        match node.value() {
            Node::Text(text) if !leaving => builder.push_text(text),
            Node::Element(element) => {
                let name = element.name();
                if leaving {
                    builder.close(name);
                } else if is_hidden_html(element) {
                    builder.skip(name);
                } else {
                    builder.open(name);
                    stack.push((node, true));
                    stack.extend(node.children().rev().map(|child| (child, false)));
                }
            }
            _ => {}
        }
    }
    Ok(builder.finish(decoded.note.into_iter().collect()))
}

/// `<meta name="robots">` whose content includes `noindex` or `none`. The whole tree is searched:
/// html5ever moves a misplaced `<meta>` into the body, and it means the same there.
fn is_marked_noindex(document: &Html) -> bool {
    document.tree.nodes().any(|node| {
        let Node::Element(element) = node.value() else {
            return false;
        };
        element.name() == "meta"
            && element.attr("name").is_some_and(|name| name.trim().eq_ignore_ascii_case("robots"))
            && element.attr("content").is_some_and(|content| {
                content.split(',').any(|directive| {
                    let directive = directive.trim();
                    directive.eq_ignore_ascii_case("noindex") || directive.eq_ignore_ascii_case("none")
                })
            })
    })
}

/// The page's `<main>` (or `role="main"`) when it has a visible one, else `<body>`, else the root.
fn content_root(document: &Html) -> ElementRef<'_> {
    let root = document.root_element();
    let visible_main = root.descendants().find(|node| {
        let Node::Element(element) = node.value() else {
            return false;
        };
        let is_main = element.name() == "main"
            || element.attr("role").is_some_and(|role| role.trim().eq_ignore_ascii_case("main"));
        is_main
            && !is_hidden_html(element)
            && node.ancestors().all(|ancestor| match ancestor.value() {
                Node::Element(ancestor) => !is_hidden_html(ancestor),
                _ => true,
            })
    });
    let body = || root.children().filter_map(ElementRef::wrap).find(|child| child.value().name() == "body");
    visible_main.and_then(ElementRef::wrap).or_else(body).unwrap_or(root)
}

fn is_hidden_html(element: &Element) -> bool {
    let name = element.name();
    DROPPED_HTML_ELEMENTS.contains(&name)
        || (name == "dialog" && element.attr("open").is_none())
        || element.attr("hidden").is_some()
        || element.attr("aria-hidden").is_some_and(|value| value.trim().eq_ignore_ascii_case("true"))
        || element.attr("style").is_some_and(style_hides)
}

/// Only inline styles are read. Stylesheets would need a CSS engine; pages that hide content
/// from view usually also mark it `hidden` or `aria-hidden`, which are honoured above.
fn style_hides(style: &str) -> bool {
    let compact: String =
        style.chars().filter(|character| !character.is_whitespace()).map(|c| c.to_ascii_lowercase()).collect();
    compact.contains("display:none") || compact.contains("visibility:hidden")
}

fn html_heading_level(name: &str) -> Option<u8> {
    match name {
        "h1" => Some(1),
        "h2" => Some(2),
        "h3" => Some(3),
        "h4" => Some(4),
        "h5" => Some(5),
        "h6" => Some(6),
        _ => None,
    }
}

/// What separates the next word from the text before it, strongest last. Decided lazily when the
/// next word arrives, so that trailing whitespace and empty elements never leave stray separators.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
enum PendingBreak {
    #[default]
    Nothing,
    Space,
    TableCell,
    Line,
}

#[derive(Default)]
struct HtmlBlockBuilder {
    out: BlockWriter,
    /// Text of the block being read; reused across blocks.
    current: String,
    pending: PendingBreak,
    heading_level: Option<u8>,
    preformatted_depth: usize,
}

impl HtmlBlockBuilder {
    fn in_preformatted(&self) -> bool {
        self.preformatted_depth > 0 && self.heading_level.is_none()
    }

    fn kind(&self) -> BlockKind {
        match self.heading_level {
            Some(level) => BlockKind::Heading { level },
            None if self.preformatted_depth > 0 => BlockKind::Code,
            None => BlockKind::Paragraph,
        }
    }

    fn request(&mut self, separator: PendingBreak) {
        if !self.current.is_empty() {
            self.pending = self.pending.max(separator);
        }
    }

    /// Appends text with whitespace collapsed as a browser would, except inside `<pre>`.
    fn push_text(&mut self, text: &str) {
        if self.in_preformatted() {
            self.pending = PendingBreak::Nothing;
            self.current.push_str(text);
            return;
        }
        // `char::is_whitespace` includes the no-break space, so `&nbsp;` becomes a plain space,
        // which is what both search and snippets want.
        let mut rest = text;
        loop {
            let trimmed = rest.trim_start();
            if trimmed.len() < rest.len() {
                self.request(PendingBreak::Space);
            }
            if trimmed.is_empty() {
                break;
            }
            let word_len = trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
            let (word, after) = trimmed.split_at(word_len);
            self.push_word(word);
            rest = after;
        }
    }

    fn push_word(&mut self, word: &str) {
        if !self.current.is_empty() {
            match self.pending {
                PendingBreak::Nothing => {}
                PendingBreak::Space => self.current.push(' '),
                PendingBreak::TableCell => self.current.push_str(" | "),
                PendingBreak::Line => self.current.push('\n'),
            }
        }
        self.pending = PendingBreak::Nothing;
        self.current.push_str(word);
    }

    fn flush(&mut self) {
        let kind = self.kind();
        self.out.push_block(&self.current, kind);
        self.current.clear();
        self.pending = PendingBreak::Nothing;
    }

    fn open(&mut self, name: &str) {
        if let Some(level) = html_heading_level(name) {
            self.flush();
            self.heading_level = Some(level);
            return;
        }
        match name {
            "br" if self.in_preformatted() => self.current.push('\n'),
            "br" if self.heading_level.is_some() => self.request(PendingBreak::Space),
            "br" => self.request(PendingBreak::Line),
            // A table row stays one paragraph: it reads as a record ("a.txt | 3 KB") and is
            // searched as one.
            "td" | "th" => self.request(PendingBreak::TableCell),
            "pre" | "listing" | "xmp" => {
                self.flush();
                self.preformatted_depth += 1;
            }
            _ if BLOCK_HTML_ELEMENTS.contains(&name) => self.flush(),
            _ => {}
        }
    }

    fn close(&mut self, name: &str) {
        if html_heading_level(name).is_some() {
            self.flush();
            self.heading_level = None;
            return;
        }
        match name {
            "pre" | "listing" | "xmp" => {
                self.flush();
                self.preformatted_depth = self.preformatted_depth.saturating_sub(1);
            }
            _ if BLOCK_HTML_ELEMENTS.contains(&name) => self.flush(),
            _ => {}
        }
    }

    /// A dropped element still ends the paragraph around it when it is laid out as a block, as
    /// text on either side of a sidebar would not run together on screen.
    fn skip(&mut self, name: &str) {
        if BLOCK_HTML_ELEMENTS.contains(&name) || matches!(name, "nav" | "iframe" | "canvas" | "video" | "audio") {
            self.flush();
        }
    }

    fn finish(mut self, notes: Vec<String>) -> Extracted {
        self.flush();
        self.out.finish(notes)
    }
}

/// The encoding an HTML page declares in its first kilobyte (`<meta charset>` or
/// `http-equiv` content), as browsers look for it.
fn declared_html_charset(bytes: &[u8]) -> Option<&'static Encoding> {
    const KEY: &[u8] = b"charset";
    let head = bytes[..bytes.len().min(1024)].to_ascii_lowercase();
    let mut from = 0;
    while let Some(found) = head.get(from..)?.windows(KEY.len()).position(|window| window == KEY) {
        let mut index = from + found + KEY.len();
        from = index;
        let skip_spaces = |mut index: usize| {
            while head.get(index).is_some_and(u8::is_ascii_whitespace) {
                index += 1;
            }
            index
        };
        index = skip_spaces(index);
        if head.get(index) != Some(&b'=') {
            continue;
        }
        index = skip_spaces(index + 1);
        if matches!(head.get(index), Some(b'"' | b'\'')) {
            index += 1;
        }
        let label_start = index;
        while head.get(index).is_some_and(|byte| byte.is_ascii_alphanumeric() || b"-_.:".contains(byte)) {
            index += 1;
        }
        if let Some(encoding) = head.get(label_start..index).and_then(Encoding::for_label) {
            return Some(encoding);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::path::Path;

    use anyhow::{Context, ensure};

    use super::*;
    use crate::extract::tests::{assert_well_formed, extract_ok, heading, outline};
    use crate::extract::{Format, extract};
    use BlockKind::{Code, Paragraph};

    #[test]
    fn html_keeps_visible_main_content_only() {
        let page = r##"<!doctype html><html><head><title>Title text</title><style>p{}</style></head>
<body>
  <nav><a href="/">Home</a> Sidebar entry</nav>
  <header>Site banner</header>
  <main>
    <h1>  Getting   <em>started</em> </h1>
    <p>Click <a href="#">the <b>big</b> button</a>, then   wait&nbsp;a&amp;bit.<script>var hidden = 1;</script></p>
    <p hidden>Hidden paragraph</p>
    <div aria-hidden="true">Aria hidden</div>
    <div style="color: red; DISPLAY : none">Styled hidden</div>
    <div>Loose div text<p>Nested paragraph</p>tail text</div>
    <ul><li>First item</li><li>Second <code>item</code></li></ul>
    <table><tr><th>Name</th><th>Size</th></tr><tr><td>a.txt</td><td></td><td>3 KB</td></tr></table>
    <form><label>Label</label><input value="typed"><button>Press</button><select><option>Choice</option></select></form>
    <h2>Code</h2>
    <pre><code>fn main() {
    println!("hi");
}</code></pre>
    <p>Line one<br>line two</p>
    <template><p>Template text</p></template>
    <noscript>Enable JS</noscript>
  </main>
  <footer>Footer text</footer>
</body></html>"##;
        let extracted = extract_ok("page.html", page.as_bytes());
        assert_eq!(
            outline(&extracted),
            [
                (heading(1), "Getting started"),
                (Paragraph, "Click the big button, then wait a&bit."),
                (Paragraph, "Loose div text"),
                (Paragraph, "Nested paragraph"),
                (Paragraph, "tail text"),
                (Paragraph, "First item"),
                (Paragraph, "Second item"),
                (Paragraph, "Name | Size"),
                (Paragraph, "a.txt | 3 KB"),
                (Paragraph, "Label"),
                (heading(2), "Code"),
                (Code, "fn main() {\n    println!(\"hi\");\n}"),
                (Paragraph, "Line one\nline two"),
            ]
        );
        for absent in ["Sidebar", "banner", "Footer", "Hidden", "hidden", "Template", "JS", "Press", "Choice", "typed"]
        {
            assert!(!extracted.text.contains(absent), "{absent:?} leaked into {:?}", extracted.text);
        }
        assert!(extracted.text.contains("\n\n"), "blocks are separated by blank lines");
    }

    #[test]
    fn html_without_main_uses_body_and_empty_pages_have_no_text() {
        let extracted = extract_ok("a.html", b"<html><body><h3>Only</h3>text</body></html>");
        assert_eq!(outline(&extracted), [(heading(3), "Only"), (Paragraph, "text")]);
        let extracted = extract_ok("b.html", b"<html><head><title>T</title></head><body> <script>x()</script> </body>");
        assert_eq!(extracted, Extracted::default());
        let extracted = extract_ok("c.html", b"<div role=main><p>In role main</p></div><p>Outside</p>");
        assert_eq!(outline(&extracted), [(Paragraph, "In role main")]);
    }

    #[test]
    fn html_noindex_is_refused() {
        for meta in [
            r#"<meta name="robots" content="noindex">"#,
            r#"<META NAME="Robots" CONTENT="follow, NOINDEX">"#,
            r#"<meta name="robots" content="none">"#,
        ] {
            let page = format!("<html><head>{meta}</head><body><p>Text</p></body></html>");
            let path = Path::new("p.html");
            assert_eq!(extract(path, page.as_bytes(), Format::Html), Err(ExtractError::NoIndex), "{meta}");
        }
        let indexable = r#"<meta name="robots" content="nofollow"><p>Text</p>"#;
        assert_eq!(extract_ok("p.html", indexable.as_bytes()).text, "Text");
        assert_eq!(ExtractError::NoIndex.to_string(), "page is marked noindex");
    }

    #[test]
    fn html_declared_charset_is_used_for_non_utf8_pages() {
        let mut page = b"<html><head><meta charset=\"iso-8859-15\"></head><body><p>Prix: 5 ".to_vec();
        page.push(0xA4); // the euro sign in ISO-8859-15, a generic currency sign in Windows-1252
        page.extend(b"</p></body></html>");
        let extracted = extract_ok("price.html", &page);
        assert_eq!(extracted.text, "Prix: 5 €");
        assert_eq!(extracted.notes, ["decoded as ISO-8859-15 (declared in the file)"]);
    }

    fn mdbook_dir() -> anyhow::Result<std::path::PathBuf> {
        let output = std::process::Command::new("rustc").args(["--print", "sysroot"]).output()?;
        let sysroot = String::from_utf8(output.stdout)?;
        Ok(Path::new(sysroot.trim()).join("share/doc/rust/html/book"))
    }

    fn read_mdbook_page(name: &str) -> anyhow::Result<Vec<u8>> {
        let path = mdbook_dir()?.join(name);
        std::fs::read(&path).with_context(|| {
            format!("{} is missing; install the local Rust docs with `rustup component add rust-docs`", path.display())
        })
    }

    #[test]
    fn real_mdbook_page_gives_headings_without_sidebar_or_scripts() -> anyhow::Result<()> {
        let bytes = read_mdbook_page("ch04-01-what-is-ownership.html")?;
        let extracted = extract(Path::new("ch04-01-what-is-ownership.html"), &bytes, Format::Html)?;
        assert_well_formed(&extracted);
        let headings: Vec<&str> = extracted
            .blocks
            .iter()
            .filter(|block| matches!(block.kind, BlockKind::Heading { .. }))
            .map(|block| block.title(&extracted.text))
            .collect();
        for expected in ["What Is Ownership?", "Ownership Rules", "The Stack and the Heap"] {
            ensure!(headings.contains(&expected), "heading {expected:?} missing from {headings:?}");
        }
        for absent in ["Foreword", "Introduction", "mdbook", "function(", "Keyboard shortcuts"] {
            ensure!(!extracted.text.contains(absent), "{absent:?} should not be in the page text");
        }
        ensure!(extracted.blocks.iter().any(|block| block.kind == Code), "code listings should be Code blocks");
        ensure!(extracted.text.contains("let s = \"hello\";"), "code keeps its text");
        Ok(())
    }

    #[test]
    fn real_mdbook_print_page_is_noindex() -> anyhow::Result<()> {
        let bytes = read_mdbook_page("print.html")?;
        let outcome = extract(Path::new("print.html"), &bytes, Format::Html);
        ensure!(outcome == Err(ExtractError::NoIndex), "print.html should be noindex");
        Ok(())
    }
}
