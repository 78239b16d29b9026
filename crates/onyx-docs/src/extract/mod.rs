//! Text extraction, the second stage of the document indexer.
//!
//! What flows in: a file's bytes and the [`Format`] that [`format_for`] picked from its name.
//! What flows out: an [`Extracted`] (the text to chunk, its [`Block`]s in order, and notes for the
//! user), or an [`ExtractError`] that says plainly why the file has no usable text.
//!
//! Why it is built this way:
//! - Plain text, Markdown, reStructuredText and source code keep `text` equal to the decoded file,
//!   so for UTF-8 files a chunk's byte and line positions are positions in the file itself. Their
//!   structure comes from a line scanner, not a full parser: the chunker needs only block bounds
//!   and a heading path, and a scanner is linear, cannot fail, and falls back to paragraphs on odd
//!   input.
//! - HTML, PDF and DOCX text is rebuilt: blocks joined by blank lines, so snippets read well. HTML
//!   keeps only what a reader sees (no navigation, scripts or hidden elements, and only `<main>`
//!   when a page has one); otherwise thousands of pages of one doc site would all match on their
//!   shared sidebar.
//! - PDF pages are separated by a form feed (`'\x0c'`, as `pdftotext` does): the page of any offset
//!   is one plus the number of form feeds before it, and no block spans two pages.
//! - The PDF parser (pdf-extract over lopdf) panics on some broken files. Those panics are caught,
//!   kept off stderr, and reported as a corrupt file, so one bad PDF never stops a run.
//!
//! Where things are: this file holds the public types and picks a format; `decode` turns bytes
//! into text, `text` and `markdown` scan the lines of text-like formats, `html`, `pdf` and `docx`
//! rebuild their text through `writer`.

use std::ops::Range;
use std::path::Path;

mod decode;
mod docx;
mod html;
mod markdown;
mod pdf;
mod text;
mod writer;

use decode::decode_text;
use docx::extract_docx;
use html::extract_html;
use markdown::{is_adornment_line, scan_markdown, scan_rst, strip_atx_markers};
use pdf::extract_pdf;
use text::{LineDocument, check_not_generated, is_blank};

/// What kind of document a file is, which decides how its text and structure are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// Plain text: paragraphs at blank lines.
    Text,
    /// Markdown: ATX and setext headings, fenced code, paragraphs.
    Markdown,
    /// reStructuredText: adorned section titles, code directives and literal blocks, paragraphs.
    Rst,
    /// HTML: the visible text of the page's main content.
    Html,
    /// PDF with a text layer.
    Pdf,
    /// Word's Office Open XML document.
    Docx,
    /// Source code or configuration: no headings, a code block per run of non-blank lines.
    Code {
        /// Lower-case language name, e.g. `"rust"`, for display and future language-aware splitting.
        language: &'static str,
    },
}

/// The format of `path` by its extension (case-insensitive), or by its whole name for files such as
/// `Makefile` and `README`. `None` means not a supported document.
pub fn format_for(path: &Path) -> Option<Format> {
    let Some(extension) = path.extension().and_then(|extension| extension.to_str()) else {
        return format_for_bare_name(path.file_name()?.to_str()?);
    };
    let format = match extension.to_ascii_lowercase().as_str() {
        "txt" | "text" => Format::Text,
        "md" | "markdown" | "mdown" | "mkd" | "mkdn" => Format::Markdown,
        "rst" | "rest" => Format::Rst,
        "html" | "htm" | "xhtml" => Format::Html,
        "pdf" => Format::Pdf,
        "docx" => Format::Docx,
        other => return code_language(other).map(|language| Format::Code { language }),
    };
    Some(format)
}

fn format_for_bare_name(file_name: &str) -> Option<Format> {
    match file_name.to_ascii_lowercase().as_str() {
        "readme" | "license" | "licence" | "copying" | "changelog" | "authors" | "notice" => Some(Format::Text),
        "makefile" | "gnumakefile" => Some(Format::Code { language: "make" }),
        "dockerfile" | "containerfile" => Some(Format::Code { language: "dockerfile" }),
        _ => None,
    }
}

/// Source and configuration languages worth searching. Data formats (JSON, CSV, XML) are left out
/// on purpose: lock files and dumps would flood the index with text nobody searches for.
fn code_language(extension: &str) -> Option<&'static str> {
    let language = match extension {
        "rs" => "rust",
        "py" | "pyi" | "pyw" => "python",
        "js" | "mjs" | "cjs" | "jsx" => "javascript",
        "ts" | "mts" | "cts" | "tsx" => "typescript",
        "go" => "go",
        "java" => "java",
        "kt" | "kts" => "kotlin",
        "scala" | "sc" => "scala",
        "groovy" | "gradle" => "groovy",
        "c" | "h" => "c",
        "cc" | "cpp" | "cxx" | "c++" | "hpp" | "hh" | "hxx" | "h++" | "ipp" => "cpp",
        "cs" => "csharp",
        "fs" | "fsi" | "fsx" => "fsharp",
        "swift" => "swift",
        "mm" => "objective-c",
        "rb" => "ruby",
        "php" => "php",
        "pl" | "pm" => "perl",
        "lua" => "lua",
        "r" => "r",
        "jl" => "julia",
        "hs" | "lhs" => "haskell",
        "ml" | "mli" => "ocaml",
        "ex" | "exs" => "elixir",
        "erl" | "hrl" => "erlang",
        "clj" | "cljs" | "cljc" | "edn" => "clojure",
        "el" => "emacs-lisp",
        "lisp" | "cl" => "lisp",
        "scm" | "ss" => "scheme",
        "rkt" => "racket",
        "dart" => "dart",
        "zig" => "zig",
        "nim" => "nim",
        "d" => "d",
        "f" | "f90" | "f95" | "f03" => "fortran",
        "pas" => "pascal",
        "sh" | "bash" | "zsh" | "ksh" => "shell",
        "fish" => "fish",
        "ps1" | "psm1" => "powershell",
        "bat" | "cmd" => "batch",
        "sql" => "sql",
        "css" => "css",
        "scss" | "sass" => "scss",
        "less" => "less",
        "vue" => "vue",
        "svelte" => "svelte",
        "toml" => "toml",
        "yaml" | "yml" => "yaml",
        "ini" | "cfg" | "conf" => "ini",
        "cmake" => "cmake",
        "mk" => "make",
        "dockerfile" => "dockerfile",
        "proto" => "protobuf",
        "graphql" | "gql" => "graphql",
        "tex" | "sty" => "latex",
        "nix" => "nix",
        "tf" | "hcl" => "hcl",
        "sv" | "svh" => "systemverilog",
        "vhd" | "vhdl" => "vhdl",
        "asm" | "s" => "assembly",
        _ => return None,
    };
    Some(language)
}

/// A file's text and its structure, ready for chunking.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Extracted {
    /// The text to chunk and to show in snippets. For text-like formats it is the decoded file
    /// verbatim; for HTML, PDF and DOCX it is rebuilt with blank lines between blocks.
    pub text: String,
    /// The meaningful parts of `text`, in order and without overlap; only whitespace lies between.
    pub blocks: Vec<Block>,
    /// Non-fatal facts worth showing the user, such as a fallback encoding or an unreadable page.
    pub notes: Vec<String>,
}

/// One structural unit of [`Extracted::text`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// Byte range into [`Extracted::text`], on char boundaries.
    pub range: Range<usize>,
    /// What the block is.
    pub kind: BlockKind,
}

/// The kind of a [`Block`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum BlockKind {
    /// A section title; 1 is the outermost level.
    Heading {
        /// Nesting level, from 1.
        level: u8,
    },
    /// Prose: a paragraph, list item, table row or similar.
    Paragraph,
    /// Source code or preformatted text, whose line breaks and indentation matter.
    Code,
}

impl Block {
    /// The block's text, trimmed. A heading's title comes without its markup: Markdown `#` markers
    /// and setext or reStructuredText underlines and overlines live inside the block (the text is
    /// the file verbatim), but a heading path should show only the title.
    pub fn title<'t>(&self, text: &'t str) -> &'t str {
        let whole = text.get(self.range.clone()).unwrap_or("");
        if !matches!(self.kind, BlockKind::Heading { .. }) {
            return whole.trim();
        }
        // The span from the first to the last line that is not an adornment.
        let mut kept: Option<Range<usize>> = None;
        let mut line_start = 0;
        for line in whole.split('\n') {
            let line_end = line_start + line.len();
            if !is_blank(line) && !is_adornment_line(line) {
                kept = Some(kept.map_or(line_start..line_end, |span| span.start..line_end));
            }
            line_start = line_end + 1;
        }
        let Some(title) = kept.and_then(|span| whole.get(span)) else {
            return whole.trim();
        };
        strip_atx_markers(title.trim())
    }
}

/// Why a file's text could not be extracted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    /// The file looks binary although its name says text.
    #[error("binary content (NUL bytes)")]
    Binary,
    /// The HTML page asks search engines not to index it (often a duplicate, like mdBook's print
    /// page).
    #[error("page is marked noindex")]
    NoIndex,
    /// The PDF has pages but no extractable text.
    #[error("PDF has no text layer (scanned or image-only?)")]
    NoTextLayer,
    /// The PDF cannot be read without a password.
    #[error("encrypted PDF (a password is needed to read it)")]
    EncryptedPdf,
    /// The file is damaged or is not what its name says.
    #[error("corrupt {format}: {reason}")]
    Corrupt {
        /// The format the file claims to be, e.g. `"PDF"`.
        format: &'static str,
        /// What is wrong, in words.
        reason: String,
    },
    /// A compressed part would unpack to more than the limit: a zip bomb or an absurd document.
    #[error("{part} would unpack to {size} bytes, over the {limit}-byte limit (zip bomb?)")]
    TooLarge {
        /// The part inside the archive.
        part: &'static str,
        /// Its declared or observed uncompressed size.
        size: u64,
        /// The limit it exceeds.
        limit: u64,
    },
    /// Source code whose lines are far longer than anyone writes: minified or generated output
    /// (bundled JavaScript, search indexes), which would flood the index with noise.
    #[error("looks minified or generated (a line of {longest} characters)")]
    Generated {
        /// Length of its longest line.
        longest: usize,
    },
}

/// Extracts the text and block structure of one file.
///
/// Extraction depends only on `bytes` and `format`; `path` is accepted so callers pass what they
/// have, and is not read. An empty file is `Ok` with no text in every format: the indexer reports
/// it as "no text", which is truer than "corrupt".
pub fn extract(_path: &Path, bytes: &[u8], format: Format) -> Result<Extracted, ExtractError> {
    if bytes.is_empty() {
        return Ok(Extracted::default());
    }
    match format {
        Format::Text => extract_line_based(bytes, LineSyntax::PlainText),
        Format::Markdown => extract_line_based(bytes, LineSyntax::Markdown),
        Format::Rst => extract_line_based(bytes, LineSyntax::Rst),
        Format::Code { .. } => {
            let extracted = extract_line_based(bytes, LineSyntax::Code)?;
            check_not_generated(&extracted.text)?;
            Ok(extracted)
        }
        Format::Html => extract_html(bytes),
        Format::Pdf => extract_pdf(bytes),
        Format::Docx => extract_docx(bytes),
    }
}

// ---------------------------------------------------------------------------------------------
// Text-like formats: the text is the file; blocks come from scanning lines

#[derive(Clone, Copy)]
enum LineSyntax {
    PlainText,
    Markdown,
    Rst,
    Code,
}

fn extract_line_based(bytes: &[u8], syntax: LineSyntax) -> Result<Extracted, ExtractError> {
    let decoded = decode_text(bytes, None)?;
    let mut document = LineDocument::new(&decoded.text);
    match syntax {
        LineSyntax::PlainText => document.split_at_blank_lines(BlockKind::Paragraph),
        LineSyntax::Code => document.split_at_blank_lines(BlockKind::Code),
        LineSyntax::Markdown => scan_markdown(&mut document),
        LineSyntax::Rst => scan_rst(&mut document),
    }
    let blocks = document.blocks;
    Ok(Extracted { text: decoded.text, blocks, notes: decoded.note.into_iter().collect() })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::docx::tests::{build_docx, styled_paragraph, word_document};
    use super::pdf::tests::pdf_with_pages;
    use super::*;

    /// The invariants the chunker relies on, checked on every result the tests produce.
    pub(super) fn assert_well_formed(extracted: &Extracted) {
        let text = &extracted.text;
        let mut previous_end = 0;
        for block in &extracted.blocks {
            let range = block.range.clone();
            assert!(range.start < range.end, "empty block {block:?}");
            assert!(range.start >= previous_end, "blocks overlap or go backwards: {:?}", extracted.blocks);
            assert!(text.is_char_boundary(range.start) && text.is_char_boundary(range.end), "{block:?}");
            let gap = &text[previous_end..range.start];
            assert!(gap.trim_start_matches('\u{feff}').trim().is_empty(), "non-whitespace between blocks: {gap:?}");
            previous_end = range.end;
        }
        assert!(text[previous_end..].trim().is_empty(), "text after the last block: {:?}", &text[previous_end..]);
    }

    pub(super) fn extract_ok(name: &str, bytes: &[u8]) -> Extracted {
        let path = Path::new(name);
        let format = format_for(path).unwrap();
        let extracted = extract(path, bytes, format).unwrap();
        assert_well_formed(&extracted);
        extracted
    }

    /// (kind, title) of every block, for compact assertions.
    pub(super) fn outline(extracted: &Extracted) -> Vec<(BlockKind, &str)> {
        extracted.blocks.iter().map(|block| (block.kind.clone(), block.title(&extracted.text))).collect()
    }

    pub(super) const fn heading(level: u8) -> BlockKind {
        BlockKind::Heading { level }
    }

    #[test]
    fn formats_by_extension_and_name() {
        assert_eq!(format_for(Path::new("a/Notes.TXT")), Some(Format::Text));
        assert_eq!(format_for(Path::new("README.md")), Some(Format::Markdown));
        assert_eq!(format_for(Path::new("index.rst")), Some(Format::Rst));
        assert_eq!(format_for(Path::new("page.HTM")), Some(Format::Html));
        assert_eq!(format_for(Path::new("paper.Pdf")), Some(Format::Pdf));
        assert_eq!(format_for(Path::new("letter.docx")), Some(Format::Docx));
        assert_eq!(format_for(Path::new("main.rs")), Some(Format::Code { language: "rust" }));
        assert_eq!(format_for(Path::new("Makefile")), Some(Format::Code { language: "make" }));
        assert_eq!(format_for(Path::new("LICENSE")), Some(Format::Text));
        assert_eq!(format_for(Path::new("photo.jpg")), None);
        assert_eq!(format_for(Path::new("data.json")), None);
        assert_eq!(format_for(Path::new(".bashrc")), None);
    }

    #[test]
    fn zero_byte_files_have_no_text_in_every_format() {
        for name in ["a.txt", "a.md", "a.rst", "a.rs", "a.html", "a.pdf", "a.docx"] {
            assert_eq!(extract_ok(name, b""), Extracted::default(), "{name}");
        }
    }

    /// Deterministic pseudo-random mutations of valid files: extraction may fail but never panic,
    /// and whatever it returns keeps the block invariants.
    #[test]
    fn mutated_inputs_never_panic() {
        let docx = build_docx(&[("word/document.xml", &word_document(&styled_paragraph("Heading1", "Head")))]);
        let pdf = pdf_with_pages(&["BT /F1 12 Tf 72 700 Td (Hello there) Tj ET"], "");
        let markdown = b"# T\n\n```\ncode\n```\n\nSetext\n---\n".to_vec();
        let rst = b"====\nT\n====\n\nSub\n---\n\n.. code:: c\n\n   x\n".to_vec();
        let html = b"<main><h1>T</h1><p>a<b>b</b></p><pre>x\n y</pre></main>".to_vec();
        let mut state = 0x2545_f491_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for (name, original) in [("f.docx", docx), ("f.pdf", pdf), ("f.md", markdown), ("f.rst", rst), ("f.html", html)]
        {
            let path = Path::new(name);
            let format = format_for(path).unwrap();
            for _ in 0..150 {
                let mut bytes = original.clone();
                for _ in 0..=(next() % 4) {
                    let position = (next() % bytes.len() as u64) as usize;
                    match next() % 3 {
                        0 => bytes[position] = next() as u8,
                        1 => bytes.truncate(position.max(1)),
                        _ => bytes.insert(position, b"\n#=-`<>\r"[(next() % 8) as usize]),
                    }
                }
                if let Ok(extracted) = extract(path, &bytes, format) {
                    assert_well_formed(&extracted);
                }
            }
        }
    }
}
