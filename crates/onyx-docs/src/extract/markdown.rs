//! Markdown and reStructuredText structure from a line scan, not a full parser: headings, fences,
//! code directives and literal blocks; anything else is a paragraph.

use super::BlockKind;
use super::text::{LineDocument, indent_width, is_blank};

/// A line made of one repeated ASCII punctuation character, like `=====` or `-----`.
pub(super) fn is_adornment_line(line: &str) -> bool {
    let line = line.trim();
    let mut bytes = line.bytes();
    bytes.next().is_some_and(|first| first.is_ascii_punctuation() && bytes.all(|byte| byte == first))
}

// --- Markdown ---

pub(super) fn scan_markdown(document: &mut LineDocument<'_>) {
    let line_count = document.lines.len();
    let mut index = 0;
    if let Some(last) = front_matter_end(document) {
        document.push(0, last, BlockKind::Paragraph);
        index = last + 1;
    }
    // (first, last) line of the paragraph being read; a setext underline turns it into a heading.
    let mut paragraph: Option<(usize, usize)> = None;
    let close_paragraph = |document: &mut LineDocument<'_>, paragraph: &mut Option<(usize, usize)>| {
        if let Some((first, last)) = paragraph.take() {
            document.push(first, last, BlockKind::Paragraph);
        }
    };

    while index < line_count {
        let line = document.line(index);
        if is_blank(line) {
            close_paragraph(document, &mut paragraph);
            index += 1;
            continue;
        }
        let indent = indent_width(line);

        // An indented line cannot interrupt a paragraph, so a deeply indented fence counts only
        // after a blank line (in a nested list item, or inside an indented code block).
        if let Some(fence) = Fence::open(line).filter(|_| indent <= 3 || paragraph.is_none()) {
            close_paragraph(document, &mut paragraph);
            let last = fenced_block_end(document, index, &fence, indent);
            document.push(index, last, BlockKind::Code);
            index = last + 1;
            continue;
        }

        if indent <= 3 {
            if let Some(level) = atx_heading_level(line) {
                close_paragraph(document, &mut paragraph);
                document.push(index, index, BlockKind::Heading { level });
                index += 1;
                continue;
            }
            if let Some((first, _)) = paragraph
                && let Some(level) = setext_underline_level(line)
                && !starts_list_or_quote(document.line(first))
            {
                document.push(first, index, BlockKind::Heading { level });
                paragraph = None;
                index += 1;
                continue;
            }
            // A rule must stand alone: as the start of a paragraph, a `---` below it would turn
            // that paragraph into a setext heading.
            if is_thematic_break(line) {
                close_paragraph(document, &mut paragraph);
                document.push(index, index, BlockKind::Paragraph);
                index += 1;
                continue;
            }
        }

        // Anything else (list items, tables, raw HTML) continues the paragraph: the chunker keeps
        // blocks whole where it can, and list structure does not change what a chunk is about.
        paragraph = Some(paragraph.map_or((index, index), |(first, _)| (first, index)));
        index += 1;
    }
    close_paragraph(document, &mut paragraph);
}

/// The closing line of YAML front matter (`---` on the first line), which must not be read as a
/// setext heading.
fn front_matter_end(document: &LineDocument<'_>) -> Option<usize> {
    if document.line(0).trim_end() != "---" {
        return None;
    }
    (1..document.lines.len()).find(|&index| matches!(document.line(index).trim_end(), "---" | "..."))
}

/// The last line of the fenced block opened at line `opening`: its closing fence, or, when none
/// comes, the last non-blank line before the block's container ends. A fence indented four or
/// more sits in a list item (or an indented code block), which ends at the first line dedented
/// below it; a fence at the margin runs to the end of the document, as CommonMark says. Either
/// way the search stops where the block does, so scanning stays linear.
fn fenced_block_end(document: &LineDocument<'_>, opening: usize, fence: &Fence, indent: usize) -> usize {
    let container_indent = if indent >= 4 { indent - 3 } else { 0 };
    let mut last = opening;
    for candidate in opening + 1..document.lines.len() {
        #[cfg(test)]
        LINES_SCANNED.with(|scanned| scanned.set(scanned.get() + 1));
        let line = document.line(candidate);
        if fence.is_closed_by(line) {
            return candidate;
        }
        if is_blank(line) {
            continue;
        }
        if indent_width(line) < container_indent {
            break;
        }
        last = candidate;
    }
    last
}

// Lines `fenced_block_end` has looked at, so a test can check the scan stays linear by counting
// work, not by timing it.
#[cfg(test)]
thread_local! {
    static LINES_SCANNED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

struct Fence {
    character: char,
    len: usize,
}

impl Fence {
    fn open(line: &str) -> Option<Fence> {
        let trimmed = line.trim_start();
        let character = trimmed.chars().next().filter(|character| matches!(character, '`' | '~'))?;
        let len = trimmed.len() - trimmed.trim_start_matches(character).len();
        let info = &trimmed[len..];
        // Backticks in the info string would make the line inline code, not a fence.
        if len < 3 || (character == '`' && info.contains('`')) {
            return None;
        }
        Some(Fence { character, len })
    }

    /// Closing fences may be indented any amount, so fences inside list items close too.
    fn is_closed_by(&self, line: &str) -> bool {
        let trimmed = line.trim();
        trimmed.len() >= self.len && trimmed.chars().all(|character| character == self.character)
    }
}

fn atx_heading_level(line: &str) -> Option<u8> {
    let trimmed = line.trim_start_matches(' ');
    let hashes = trimmed.len() - trimmed.trim_start_matches('#').len();
    let after = &trimmed[hashes..];
    let is_heading = (1..=6).contains(&hashes) && (after.is_empty() || after.starts_with([' ', '\t']));
    is_heading.then(|| u8::try_from(hashes).unwrap_or(6))
}

fn setext_underline_level(line: &str) -> Option<u8> {
    let trimmed = line.trim();
    if !trimmed.is_empty() && trimmed.bytes().all(|byte| byte == b'=') {
        Some(1)
    } else if trimmed.len() >= 2 && trimmed.bytes().all(|byte| byte == b'-') {
        Some(2)
    } else {
        None
    }
}

fn is_thematic_break(line: &str) -> bool {
    let mut marks = line.chars().filter(|character| !matches!(character, ' ' | '\t'));
    let Some(first) = marks.next().filter(|first| matches!(first, '-' | '*' | '_')) else {
        return false;
    };
    let mut count = 1;
    for mark in marks {
        if mark != first {
            return false;
        }
        count += 1;
    }
    count >= 3
}

/// Under a list item or quote, `---` is a rule, not a setext underline (CommonMark).
fn starts_list_or_quote(line: &str) -> bool {
    let trimmed = line.trim_start();
    let marker_then_space = |rest: &str| rest.is_empty() || rest.starts_with([' ', '\t']);
    if trimmed.starts_with('>') {
        return true;
    }
    if let Some(rest) = trimmed.strip_prefix(['-', '*', '+']) {
        return marker_then_space(rest);
    }
    let digits = trimmed.len() - trimmed.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    (1..=9).contains(&digits) && trimmed[digits..].strip_prefix(['.', ')']).is_some_and(marker_then_space)
}

pub(super) fn strip_atx_markers(title: &str) -> &str {
    let hashes = title.len() - title.trim_start_matches('#').len();
    let after = &title[hashes..];
    if !(1..=6).contains(&hashes) || !(after.is_empty() || after.starts_with(char::is_whitespace)) {
        return title;
    }
    let title = after.trim();
    // A closing run of `#` counts only when separated by a space: "C#" keeps its hash.
    let without_closing = title.trim_end_matches('#');
    if without_closing.is_empty() || without_closing.ends_with(char::is_whitespace) {
        without_closing.trim_end()
    } else {
        title
    }
}

// --- reStructuredText ---

pub(super) fn scan_rst(document: &mut LineDocument<'_>) {
    let line_count = document.lines.len();
    // Title styles in order of first appearance; the position is the level (docutils' rule).
    let mut title_styles: Vec<(u8, bool)> = Vec::new();
    let mut paragraph: Option<(usize, usize)> = None;
    // Indentation of a paragraph that ended with `::`: deeper lines after it are a literal block.
    let mut literal_block_base: Option<usize> = None;
    let mut index = 0;

    while index < line_count {
        let line = document.line(index);
        if is_blank(line) {
            if let Some((first, last)) = paragraph.take() {
                document.push(first, last, BlockKind::Paragraph);
                if document.line(last).trim_end().ends_with("::") {
                    literal_block_base = Some(indent_width(document.line(first)));
                }
            }
            index += 1;
            continue;
        }

        if paragraph.is_none() {
            let indent = indent_width(line);
            if let Some(base) = literal_block_base.take()
                && indent > base
                && let Some(last) = document.indented_body_end(index, base)
            {
                document.push(index, last, BlockKind::Code);
                index = last + 1;
                continue;
            }
            if let Some((style, line_span)) = rst_title(document, index) {
                let position = match title_styles.iter().position(|known| *known == style) {
                    Some(position) => position,
                    None => {
                        title_styles.push(style);
                        title_styles.len() - 1
                    }
                };
                let level = u8::try_from(position + 1).unwrap_or(u8::MAX);
                document.push(index, index + line_span - 1, BlockKind::Heading { level });
                index += line_span;
                continue;
            }
            if is_rst_code_directive(line) {
                let last = document.indented_body_end(index + 1, indent).unwrap_or(index);
                document.push(index, last, BlockKind::Code);
                index = last + 1;
                continue;
            }
        }

        paragraph = Some(paragraph.map_or((index, index), |(first, _)| (first, index)));
        index += 1;
    }
    if let Some((first, last)) = paragraph {
        document.push(first, last, BlockKind::Paragraph);
    }
}

/// A section title starting at line `index`: its style (adornment character, has an overline)
/// and how many lines it spans.
fn rst_title(document: &LineDocument<'_>, index: usize) -> Option<((u8, bool), usize)> {
    let line = document.line(index);
    if let Some((character, overline_len)) = rst_adornment(line) {
        let title = document.line(index + 1);
        let (under_character, underline_len) = rst_adornment(document.line(index + 2))?;
        let matches = under_character == character
            && underline_len == overline_len
            && !is_blank(title)
            && rst_adornment(title).is_none()
            && overline_len >= display_width(title.trim());
        return matches.then_some(((character, true), 3));
    }
    // Without an overline the title may not be indented (that would be a block quote).
    if line.starts_with(char::is_whitespace) {
        return None;
    }
    let (character, underline_len) = rst_adornment(document.line(index + 1))?;
    // docutils accepts a short underline of four or more characters, with a warning.
    let long_enough = underline_len >= display_width(line.trim_end()) || underline_len >= 4;
    long_enough.then_some(((character, false), 2))
}

/// `(character, length)` of a section adornment line: two or more of one punctuation character,
/// starting in the first column. One character is not enough: a lone `-` or `*` under a line is
/// a list bullet.
fn rst_adornment(line: &str) -> Option<(u8, usize)> {
    let trimmed = line.trim_end();
    let first = *trimmed.as_bytes().first()?;
    let is_adornment = trimmed.len() >= 2 && first.is_ascii_punctuation() && trimmed.bytes().all(|byte| byte == first);
    is_adornment.then_some((first, trimmed.len()))
}

/// Columns a title occupies: East Asian wide characters take two, so their underlines are longer.
fn display_width(text: &str) -> usize {
    text.chars()
        .map(|character| {
            let wide = matches!(u32::from(character),
                0x1100..=0x115F | 0x2E80..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F
                | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD);
            if wide { 2 } else { 1 }
        })
        .sum()
}

fn is_rst_code_directive(line: &str) -> bool {
    let Some(rest) = line.trim_start().strip_prefix("..") else {
        return false;
    };
    let Some((name, _)) = rest.trim_start().split_once("::") else {
        return false;
    };
    matches!(
        name.trim(),
        "code" | "code-block" | "sourcecode" | "doctest" | "testcode" | "testoutput" | "parsed-literal"
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use crate::extract::BlockKind::{Code, Paragraph};
    use crate::extract::tests::{extract_ok, heading, outline};

    use super::LINES_SCANNED;

    #[test]
    fn markdown_headings_fences_and_paragraphs() {
        let source = "\
# Guide

Intro text
over two lines.

Setext One
==========

Setext Two
---

## Install ##

```sh
# not a heading
cargo install onyx
```

~~~
Inside tilde fence
===
~~~

- item one
---

### C#
";
        let extracted = extract_ok("guide.md", source.as_bytes());
        assert_eq!(extracted.text, source);
        assert_eq!(
            outline(&extracted),
            [
                (heading(1), "Guide"),
                (Paragraph, "Intro text\nover two lines."),
                (heading(1), "Setext One"),
                (heading(2), "Setext Two"),
                (heading(2), "Install"),
                (Code, "```sh\n# not a heading\ncargo install onyx\n```"),
                (Code, "~~~\nInside tilde fence\n===\n~~~"),
                (Paragraph, "- item one"),
                (Paragraph, "---"),
                (heading(3), "C#"),
            ]
        );
    }

    #[test]
    fn markdown_front_matter_rules_and_unclosed_fences() {
        let source = "---\ntitle: Notes\n---\n\n---\nAfter a rule\n\n```\nunclosed # fence\n# still code";
        let extracted = extract_ok("notes.md", source.as_bytes());
        assert_eq!(
            outline(&extracted),
            [
                (Paragraph, "---\ntitle: Notes\n---"),
                (Paragraph, "---"),
                (Paragraph, "After a rule"),
                (Code, "```\nunclosed # fence\n# still code"),
            ]
        );
        // An indented fence ends with its indented region, not at some later fence.
        let source = "Intro\n\n    ```\n    shown fence\n\n# Real heading\n\n```\ncode\n```\n";
        let extracted = extract_ok("indented.md", source.as_bytes());
        assert_eq!(
            outline(&extracted),
            [
                (Paragraph, "Intro"),
                (Code, "```\n    shown fence"),
                (heading(1), "Real heading"),
                (Code, "```\ncode\n```"),
            ]
        );
        // Hashtags and deeply indented hashes are not headings.
        let extracted = extract_ok("tags.md", b"#hashtag\n\n    # indented\n");
        assert!(extracted.blocks.iter().all(|block| block.kind == Paragraph));
    }

    #[test]
    fn markdown_many_unclosed_indented_fences_stay_linear() {
        let source = "text\n\n".to_owned() + &"    ```x\n".repeat(20_000);
        LINES_SCANNED.with(|scanned| scanned.set(0));
        let extracted = extract_ok("many.md", source.as_bytes());
        // Each fence that scanned on to the end of the text would make this 20,000² / 2.
        let scanned = LINES_SCANNED.with(std::cell::Cell::get);
        assert!(scanned <= 2 * 20_002, "{scanned} lines scanned for a text of 20,002: the fence scan is not linear");
        assert_eq!(extracted.blocks.len(), 2);
    }

    #[test]
    fn rst_titles_take_levels_in_order_of_appearance() {
        let source = "\
=========
Document
=========

Section A
=========

Some text.

Sub section
-----------

Example::

    # inside a literal block
    -------------------------

.. code-block:: python

   def f():
       return 1

Section B
=========

Short
------

Tail.
";
        let extracted = extract_ok("doc.rst", source.as_bytes());
        assert_eq!(extracted.text, source);
        assert_eq!(
            outline(&extracted),
            [
                (heading(1), "Document"),
                (heading(2), "Section A"),
                (Paragraph, "Some text."),
                (heading(3), "Sub section"),
                (Paragraph, "Example::"),
                (Code, "# inside a literal block\n    -------------------------"),
                (Code, ".. code-block:: python\n\n   def f():\n       return 1"),
                (heading(2), "Section B"),
                (heading(3), "Short"),
                (Paragraph, "Tail."),
            ]
        );
    }
}
