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

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::rc::Rc;
use std::sync::Once;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};
use pdf_extract::OutputDev;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;
use scraper::node::Element;
use scraper::{ElementRef, Html, Node};

/// How far into a file NUL bytes are looked for. Text never contains NUL; binary formats almost
/// always do near the start, so a prefix is enough and keeps the check cheap on large files.
const BINARY_SNIFF_LEN: usize = 8 * 1024;

/// Largest uncompressed size accepted for one part of a DOCX. A few kilobytes of zip can declare
/// gigabytes; real documents' text parts stay far below this.
const DOCX_PART_LIMIT: u64 = 256 * 1024 * 1024;

/// Most memory reserved before unpacking a part; larger parts grow the buffer as they unpack.
const PART_PREALLOCATION_LIMIT: u64 = 8 * 1024 * 1024;

/// Start of an OLE compound file: what Word writes for password-protected documents and old `.doc`.
const OLE_MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

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

fn corrupt_pdf(reason: impl Into<String>) -> ExtractError {
    ExtractError::Corrupt { format: "PDF", reason: reason.into() }
}

fn corrupt_docx(reason: impl Into<String>) -> ExtractError {
    ExtractError::Corrupt { format: "DOCX", reason: reason.into() }
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

/// Longest line accepted in source code. Hand-written code stays far below it; minifiers and
/// generators write whole files on one line.
const MAX_CODE_LINE: usize = 2000;

fn check_not_generated(text: &str) -> Result<(), ExtractError> {
    let longest = text.lines().map(|line| line.chars().count()).max().unwrap_or(0);
    if longest > MAX_CODE_LINE { Err(ExtractError::Generated { longest }) } else { Ok(()) }
}

// ---------------------------------------------------------------------------------------------
// Decoding

struct DecodedText {
    text: String,
    note: Option<String>,
}

/// Decodes a text file. A UTF-16 byte order mark wins; then UTF-8; then the encoding the file
/// declares (HTML only); then Windows-1252, which accepts every byte and is the most likely
/// encoding of an old non-UTF-8 text file on a desktop.
fn decode_text(bytes: &[u8], declared: Option<&'static Encoding>) -> Result<DecodedText, ExtractError> {
    let utf16 = if bytes.starts_with(&[0xFF, 0xFE]) {
        Some(UTF_16LE)
    } else if bytes.starts_with(&[0xFE, 0xFF]) {
        Some(UTF_16BE)
    } else {
        None
    };
    if let Some(encoding) = utf16 {
        let (text, had_errors) = encoding.decode_with_bom_removal(bytes);
        let mut note = format!("decoded as {} (byte order mark)", encoding.name());
        if had_errors {
            note.push_str("; invalid sequences replaced with U+FFFD");
        }
        return Ok(DecodedText { text: text.into_owned(), note: Some(note) });
    }
    if bytes[..bytes.len().min(BINARY_SNIFF_LEN)].contains(&0) {
        return Err(ExtractError::Binary);
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(DecodedText { text: text.to_owned(), note: None });
    }
    // HTML says UTF-16 without a BOM is really UTF-8; `output_encoding` applies that rule.
    let (encoding, note) = match declared.map(Encoding::output_encoding) {
        Some(encoding) if encoding == UTF_8 => (UTF_8, "invalid UTF-8 bytes replaced with U+FFFD".to_owned()),
        Some(encoding) => (encoding, format!("decoded as {} (declared in the file)", encoding.name())),
        None => (WINDOWS_1252, "decoded as Windows-1252 (not valid UTF-8)".to_owned()),
    };
    let text = encoding.decode_without_bom_handling(bytes).0.into_owned();
    Ok(DecodedText { text, note: Some(note) })
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

/// One line of a text file: `start..end` excludes the line ending (`\n` or `\r\n`).
#[derive(Clone, Copy)]
struct Line {
    start: usize,
    end: usize,
}

struct LineDocument<'t> {
    text: &'t str,
    lines: Vec<Line>,
    blocks: Vec<Block>,
}

impl<'t> LineDocument<'t> {
    fn new(text: &'t str) -> Self {
        let mut lines = Vec::new();
        // A UTF-8 BOM stays in the text (it is the file) but belongs to no block.
        let mut start = if text.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 };
        while start < text.len() {
            let rest = &text[start..];
            let (content_len, next) = match rest.find('\n') {
                Some(newline) => (newline, start + newline + 1),
                None => (rest.len(), text.len()),
            };
            let content = &rest[..content_len];
            // Without the `\r` of CRLF files, so a block never ends in a stray carriage return.
            let end = start + content.strip_suffix('\r').unwrap_or(content).len();
            lines.push(Line { start, end });
            start = next;
        }
        LineDocument { text, lines, blocks: Vec::new() }
    }

    fn line(&self, index: usize) -> &'t str {
        self.lines.get(index).and_then(|line| self.text.get(line.start..line.end)).unwrap_or("")
    }

    fn is_blank_line(&self, index: usize) -> bool {
        is_blank(self.line(index))
    }

    /// Records lines `first..=last` as one block.
    fn push(&mut self, first: usize, last: usize, kind: BlockKind) {
        if let (Some(first), Some(last)) = (self.lines.get(first), self.lines.get(last)) {
            self.blocks.push(Block { range: first.start..last.end, kind });
        }
    }

    fn split_at_blank_lines(&mut self, kind: BlockKind) {
        let mut run_start = None;
        for index in 0..self.lines.len() {
            if self.is_blank_line(index) {
                if let Some(first) = run_start.take() {
                    self.push(first, index - 1, kind.clone());
                }
            } else if run_start.is_none() {
                run_start = Some(index);
            }
        }
        if let Some(first) = run_start {
            self.push(first, self.lines.len() - 1, kind);
        }
    }

    /// The last non-blank line after `from` (inclusive) indented deeper than `base_indent`, before
    /// the first line that is not: the extent of an indented body in reStructuredText.
    fn indented_body_end(&self, from: usize, base_indent: usize) -> Option<usize> {
        let mut last = None;
        for index in from..self.lines.len() {
            if self.is_blank_line(index) {
                continue;
            }
            if indent_width(self.line(index)) <= base_indent {
                break;
            }
            last = Some(index);
        }
        last
    }
}

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// Leading indentation in columns, a tab advancing to the next multiple of four as in CommonMark.
fn indent_width(line: &str) -> usize {
    let mut width = 0;
    for character in line.chars() {
        match character {
            ' ' => width += 1,
            '\t' => width += 4 - width % 4,
            _ => break,
        }
    }
    width
}

/// A line made of one repeated ASCII punctuation character, like `=====` or `-----`.
fn is_adornment_line(line: &str) -> bool {
    let line = line.trim();
    let mut bytes = line.bytes();
    bytes.next().is_some_and(|first| first.is_ascii_punctuation() && bytes.all(|byte| byte == first))
}

// --- Markdown ---

fn scan_markdown(document: &mut LineDocument<'_>) {
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

fn strip_atx_markers(title: &str) -> &str {
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

fn scan_rst(document: &mut LineDocument<'_>) {
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

// ---------------------------------------------------------------------------------------------
// Rebuilt formats (HTML, PDF, DOCX): blocks written one after another

/// Builds `text` from blocks, separated by blank lines so the result reads like a plain text file.
#[derive(Default)]
struct BlockWriter {
    text: String,
    blocks: Vec<Block>,
    separate_next: bool,
}

impl BlockWriter {
    /// Appends a block, or nothing when `content` is only whitespace, so extractors can push
    /// every paragraph they meet without checking.
    fn push_block(&mut self, content: &str, kind: BlockKind) {
        let content = match kind {
            BlockKind::Code => trim_code(content),
            _ => content.trim(),
        };
        if content.is_empty() {
            return;
        }
        if self.separate_next {
            self.text.push_str("\n\n");
        }
        let start = self.text.len();
        self.text.push_str(content);
        self.blocks.push(Block { range: start..self.text.len(), kind });
        self.separate_next = true;
    }

    /// A form feed on a line of its own. Written for empty pages too, so counting form feeds
    /// always gives the page number.
    fn page_break(&mut self) {
        self.text.push_str(if self.text.is_empty() { "\x0c\n" } else { "\n\x0c\n" });
        self.separate_next = false;
    }

    fn finish(self, notes: Vec<String>) -> Extracted {
        Extracted { text: self.text, blocks: self.blocks, notes }
    }
}

/// Trims code without losing the first line's indentation: leading blank lines and trailing
/// whitespace go.
fn trim_code(code: &str) -> &str {
    let Some(first_visible) = code.find(|character: char| !character.is_whitespace()) else {
        return "";
    };
    let line_start = code[..first_visible].rfind('\n').map_or(0, |newline| newline + 1);
    code[line_start..].trim_end()
}

// --- HTML ---

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

fn extract_html(bytes: &[u8]) -> Result<Extracted, ExtractError> {
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

// --- PDF ---

thread_local! {
    /// Set while this thread runs the PDF parser: its panics are expected and reported as errors,
    /// so the panic hook keeps them off stderr (where they would interleave with a CLI's output).
    static QUIET_PANICS: Cell<bool> = const { Cell::new(false) };
}

static INSTALL_QUIET_PANIC_HOOK: Once = Once::new();

/// Runs `work`, turning a panic into `Err(message)` without printing it. The hook installed here
/// defers to the previous one for every panic outside such a call, on any thread.
fn catch_quietly<T>(work: impl FnOnce() -> T) -> Result<T, String> {
    INSTALL_QUIET_PANIC_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET_PANICS.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let was_quiet = QUIET_PANICS.with(|quiet| quiet.replace(true));
    let outcome = catch_unwind(AssertUnwindSafe(work));
    QUIET_PANICS.with(|quiet| quiet.set(was_quiet));
    outcome.map_err(|payload| panic_message(payload.as_ref()))
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "unknown panic".to_owned()
    }
}

/// A string that pdf-extract's writer and the page recorder share: the recorder needs the length
/// at each page end while the writer still holds its end.
#[derive(Clone, Default)]
struct SharedText(Rc<RefCell<String>>);

impl SharedText {
    fn len(&self) -> usize {
        self.0.borrow().len()
    }

    fn take(&self) -> String {
        std::mem::take(&mut *self.0.borrow_mut())
    }
}

impl std::fmt::Write for SharedText {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        self.0.borrow_mut().push_str(text);
        Ok(())
    }
}

impl pdf_extract::ConvertToFmt for SharedText {
    type Writer = SharedText;

    fn convert(self) -> SharedText {
        self
    }
}

/// pdf-extract's plain-text output, plus where each page ends. pdf-extract 0.12 writes pages back
/// to back without a separator, and its per-page API re-walks the page tree for every page
/// (quadratic in pages), so one pass over the document is recorded instead.
struct PageRecorder {
    plain: pdf_extract::PlainTextOutput<SharedText>,
    text: SharedText,
    page_ends: Vec<usize>,
}

impl OutputDev for PageRecorder {
    fn begin_page(
        &mut self,
        page_num: u32,
        media_box: &pdf_extract::MediaBox,
        art_box: Option<(f64, f64, f64, f64)>,
    ) -> Result<(), pdf_extract::OutputError> {
        self.plain.begin_page(page_num, media_box, art_box)
    }

    fn end_page(&mut self) -> Result<(), pdf_extract::OutputError> {
        self.plain.end_page()?;
        self.page_ends.push(self.text.len());
        Ok(())
    }

    fn output_character(
        &mut self,
        transform: &pdf_extract::Transform,
        width: f64,
        spacing: f64,
        font_size: f64,
        character: &str,
    ) -> Result<(), pdf_extract::OutputError> {
        self.plain.output_character(transform, width, spacing, font_size, character)
    }

    fn begin_word(&mut self) -> Result<(), pdf_extract::OutputError> {
        self.plain.begin_word()
    }

    fn end_word(&mut self) -> Result<(), pdf_extract::OutputError> {
        self.plain.end_word()
    }

    fn end_line(&mut self) -> Result<(), pdf_extract::OutputError> {
        self.plain.end_line()
    }
}

struct PdfPages {
    /// Text per page in page order; an unreadable page is empty.
    pages: Vec<String>,
    /// One reason per unreadable page.
    failures: Vec<String>,
}

fn extract_pdf(bytes: &[u8]) -> Result<Extracted, ExtractError> {
    let read = catch_quietly(|| read_pdf_pages(bytes))
        .map_err(|panic| corrupt_pdf(format!("the PDF parser crashed: {panic}")))??;
    let has_text = read.pages.iter().any(|page| !is_blank(page));
    if !has_text {
        return Err(match read.failures.into_iter().next() {
            Some(reason) => corrupt_pdf(reason),
            None => ExtractError::NoTextLayer,
        });
    }

    let mut out = BlockWriter::default();
    let mut paragraph = String::new();
    for (index, page) in read.pages.iter().enumerate() {
        if index > 0 {
            out.page_break();
        }
        // pdf-extract marks a vertical gap of more than a line and a half with a blank line, which
        // is the nearest thing a PDF has to a paragraph break.
        for line in page.lines() {
            let line = line.trim();
            if line.is_empty() {
                out.push_block(&paragraph, BlockKind::Paragraph);
                paragraph.clear();
                continue;
            }
            if !paragraph.is_empty() {
                paragraph.push('\n');
            }
            // Broken ToUnicode maps can yield control characters; they are noise in a snippet.
            paragraph.extend(line.chars().filter(|character| !character.is_control() || *character == '\t'));
        }
        out.push_block(&paragraph, BlockKind::Paragraph);
        paragraph.clear();
    }
    Ok(out.finish(read.failures))
}

fn read_pdf_pages(bytes: &[u8]) -> Result<PdfPages, ExtractError> {
    let document = match pdf_extract::Document::load_mem(bytes) {
        Ok(document) => document,
        // lopdf fails in many ways on an encrypted file it cannot open; the dictionary says why.
        Err(_) if mentions_encryption(bytes) => return Err(ExtractError::EncryptedPdf),
        Err(error) => return Err(corrupt_pdf(error.to_string())),
    };
    // Loading already tried the empty user password (many PDFs are encrypted only to restrict
    // printing or copying) and dropped the encryption when it worked; still encrypted means the
    // file needs a password.
    if document.is_encrypted() {
        return Err(ExtractError::EncryptedPdf);
    }
    let page_numbers: Vec<u32> = document.get_pages().into_keys().collect();
    if page_numbers.is_empty() {
        return Err(corrupt_pdf("the document has no pages"));
    }

    let text = SharedText::default();
    let mut recorder = PageRecorder {
        plain: pdf_extract::PlainTextOutput::new(text.clone()),
        text: text.clone(),
        page_ends: Vec::new(),
    };
    let outcome = catch_quietly(|| pdf_extract::output_doc(&document, &mut recorder));
    let failure = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(error.to_string()),
        Err(panic) => Some(format!("the PDF parser crashed: {panic}")),
    };

    // Split the one pass's text at the recorded page ends; a page cut short by a failure is dropped
    // rather than kept half-read.
    let all_text = text.take();
    let mut pages = Vec::with_capacity(page_numbers.len());
    let mut page_start = 0;
    for &page_end in &recorder.page_ends {
        pages.push(all_text.get(page_start..page_end).unwrap_or("").to_owned());
        page_start = page_end;
    }
    let mut failures = Vec::new();
    let failed_index = recorder.page_ends.len();
    if let Some(reason) = failure
        && failed_index < page_numbers.len()
    {
        // The whole-document pass stops at the first bad page; read the rest one page at a time.
        failures.push(page_failure(page_numbers.len(), failed_index, &reason));
        pages.push(String::new());
        for (index, &page_number) in page_numbers.iter().enumerate().skip(failed_index + 1) {
            let page_text = SharedText::default();
            let mut output = pdf_extract::PlainTextOutput::new(page_text.clone());
            match catch_quietly(|| pdf_extract::output_doc_page(&document, &mut output, page_number)) {
                Ok(Ok(())) => pages.push(page_text.take()),
                Ok(Err(error)) => {
                    failures.push(page_failure(page_numbers.len(), index, &error.to_string()));
                    pages.push(String::new());
                }
                Err(panic) => {
                    let reason = format!("the PDF parser crashed: {panic}");
                    failures.push(page_failure(page_numbers.len(), index, &reason));
                    pages.push(String::new());
                }
            }
        }
    }
    Ok(PdfPages { pages, failures })
}

fn page_failure(page_count: usize, index: usize, reason: &str) -> String {
    format!("page {} of {page_count} could not be read: {reason}", index + 1)
}

fn mentions_encryption(bytes: &[u8]) -> bool {
    bytes.windows(b"/Encrypt".len()).any(|window| window == b"/Encrypt")
}

// --- DOCX ---

fn extract_docx(bytes: &[u8]) -> Result<Extracted, ExtractError> {
    let mut archive = match zip::ZipArchive::new(Cursor::new(bytes)) {
        Ok(archive) => archive,
        Err(_) if bytes.starts_with(&OLE_MAGIC) => {
            return Err(corrupt_docx(
                "an OLE compound file, not a zip archive (a password-protected document, or an old .doc renamed)",
            ));
        }
        Err(error) => return Err(corrupt_docx(format!("not a zip archive ({error})"))),
    };
    let document_xml = read_zip_part(&mut archive, "word/document.xml")?
        .ok_or_else(|| corrupt_docx("word/document.xml is missing"))?;

    let mut notes = Vec::new();
    // Styles are optional: without them, headings are still found by their style id.
    let styles = match read_zip_part(&mut archive, "word/styles.xml") {
        Ok(Some(xml)) => match parse_paragraph_styles(&UTF_8.decode(&xml).0) {
            Ok(styles) => styles,
            Err(error) => {
                notes.push(format!("word/styles.xml ignored: {error}"));
                HashMap::new()
            }
        },
        Ok(None) => HashMap::new(),
        Err(error) => {
            notes.push(format!("word/styles.xml ignored: {error}"));
            HashMap::new()
        }
    };
    // `decode` honours a BOM, so the rare UTF-16 part reads as well as the usual UTF-8 one.
    read_docx_paragraphs(&UTF_8.decode(&document_xml).0, &styles, notes)
}

/// One part of the archive, refused beyond [`DOCX_PART_LIMIT`] whatever its header claims.
fn read_zip_part(
    archive: &mut zip::ZipArchive<Cursor<&[u8]>>,
    part: &'static str,
) -> Result<Option<Vec<u8>>, ExtractError> {
    let file = match archive.by_name(part) {
        Ok(file) => file,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(error) => return Err(corrupt_docx(format!("cannot open {part}: {error}"))),
    };
    let declared_size = file.size();
    let too_large = |size| ExtractError::TooLarge { part, size, limit: DOCX_PART_LIMIT };
    if declared_size > DOCX_PART_LIMIT {
        return Err(too_large(declared_size));
    }
    // Reserve at most a little up front: a lying header must not make a tiny file allocate 256 MiB.
    let reserve = declared_size.min(PART_PREALLOCATION_LIMIT);
    let mut contents = Vec::with_capacity(usize::try_from(reserve).unwrap_or(0));
    // The header can lie, so the read itself stops one byte past the limit.
    file.take(DOCX_PART_LIMIT + 1)
        .read_to_end(&mut contents)
        .map_err(|error| corrupt_docx(format!("cannot unpack {part}: {error}")))?;
    let unpacked = u64::try_from(contents.len()).unwrap_or(u64::MAX);
    if unpacked > DOCX_PART_LIMIT {
        return Err(too_large(unpacked));
    }
    Ok(Some(contents))
}

/// Follows `basedOn` chains at most this far; a cycle in a broken file must not loop forever.
const MAX_STYLE_CHAIN: usize = 16;

#[derive(Default)]
struct ParagraphStyle {
    name: Option<String>,
    based_on: Option<String>,
    outline_level: Option<u8>,
}

/// Paragraph styles by id. Ids are localized ("berschrift1" in a German Word), but names ("heading
/// 1") and outline levels are not, so headings are recognized through this table.
fn parse_paragraph_styles(xml: &str) -> Result<HashMap<String, ParagraphStyle>, quick_xml::Error> {
    let mut reader = Reader::from_str(xml);
    let mut styles = HashMap::new();
    let mut current: Option<(String, ParagraphStyle)> = None;
    loop {
        match reader.read_event()? {
            Event::Start(element) | Event::Empty(element) => {
                let local_name = element.local_name();
                match local_name.as_ref() {
                    "style" => current = xml_attribute(&element, "styleId").map(|id| (id, ParagraphStyle::default())),
                    "name" => {
                        if let Some((_, style)) = &mut current {
                            style.name = xml_attribute(&element, "val");
                        }
                    }
                    "basedOn" => {
                        if let Some((_, style)) = &mut current {
                            style.based_on = xml_attribute(&element, "val");
                        }
                    }
                    "outlineLvl" => {
                        if let Some((_, style)) = &mut current {
                            style.outline_level = xml_attribute(&element, "val").and_then(|value| value.parse().ok());
                        }
                    }
                    _ => {}
                }
            }
            Event::End(element) if element.local_name().as_ref() == "style" => {
                if let Some((id, style)) = current.take() {
                    styles.insert(id, style);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(styles)
}

/// An attribute by local name, so any namespace prefix works (`w:val` is the usual spelling).
fn xml_attribute(element: &BytesStart<'_>, local_name: &str) -> Option<String> {
    element.attributes().flatten().find(|attribute| attribute.key.local_name().as_ref() == local_name).and_then(
        |attribute| attribute.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok().map(|value| value.into_owned()),
    )
}

/// "heading 3", "Heading3" → 3; "Title" → 1.
fn heading_level_from_style_name(name: &str) -> Option<u8> {
    let compact: String = name.chars().filter(|c| !c.is_whitespace()).map(|c| c.to_ascii_lowercase()).collect();
    if compact == "title" {
        return Some(1);
    }
    let level: u8 = compact.strip_prefix("heading")?.parse().ok()?;
    (1..=9).contains(&level).then_some(level)
}

/// Outline levels count from 0; 9 means body text.
fn heading_level_from_outline(outline_level: u8) -> Option<u8> {
    (outline_level < 9).then_some(outline_level + 1)
}

fn style_heading_level(styles: &HashMap<String, ParagraphStyle>, style_id: &str) -> Option<u8> {
    let mut id = style_id;
    for _ in 0..MAX_STYLE_CHAIN {
        let Some(style) = styles.get(id) else {
            // No styles part, or a style it lacks: the built-in ids are the English names.
            return heading_level_from_style_name(id);
        };
        if let Some(name) = &style.name
            && let Some(level) = heading_level_from_style_name(name)
        {
            return Some(level);
        }
        if let Some(outline_level) = style.outline_level {
            return heading_level_from_outline(outline_level);
        }
        id = style.based_on.as_deref()?;
    }
    None
}

#[derive(Default)]
struct DocxParagraph {
    text: String,
    style_id: Option<String>,
    outline_level: Option<u8>,
}

impl DocxParagraph {
    fn kind(&self, styles: &HashMap<String, ParagraphStyle>) -> BlockKind {
        let level = match self.outline_level {
            Some(outline_level) => heading_level_from_outline(outline_level),
            None => self.style_id.as_deref().and_then(|id| style_heading_level(styles, id)),
        };
        level.map_or(BlockKind::Paragraph, |level| BlockKind::Heading { level })
    }
}

/// Elements whose text is not the document's current text: the fallback copy of text boxes (Word
/// writes each twice), and text that track changes marks as moved away or deleted.
fn is_ignored_docx_element(local_name: &str) -> bool {
    matches!(local_name, "Fallback" | "moveFrom" | "del")
}

fn read_docx_paragraphs(
    xml: &str,
    styles: &HashMap<String, ParagraphStyle>,
    notes: Vec<String>,
) -> Result<Extracted, ExtractError> {
    let mut reader = Reader::from_str(xml);
    let mut out = BlockWriter::default();
    // A stack, because text boxes put whole paragraphs inside a paragraph's run.
    let mut paragraphs: Vec<DocxParagraph> = Vec::new();
    // Where the reader is: tabs and breaks are text only inside a run, styles only inside
    // paragraph properties, and nothing at all inside ignored elements.
    let mut run_depth = 0usize;
    let mut properties_depth = 0usize;
    let mut ignored_depth = 0usize;
    let mut in_text = false;

    loop {
        let event = reader
            .read_event()
            .map_err(|error| corrupt_docx(format!("word/document.xml is not well-formed XML ({error})")))?;
        match event {
            Event::Start(element) => {
                let local_name = element.local_name();
                let local_name = local_name.as_ref();
                if ignored_depth > 0 || is_ignored_docx_element(local_name) {
                    ignored_depth += 1;
                    continue;
                }
                match local_name {
                    "p" => {
                        if let Some(outer) = paragraphs.last_mut() {
                            out.push_block(&outer.text, outer.kind(styles));
                            outer.text.clear();
                        }
                        paragraphs.push(DocxParagraph::default());
                    }
                    "pPr" => properties_depth += 1,
                    "r" => run_depth += 1,
                    "t" => in_text = true,
                    _ => apply_docx_marker(local_name, &element, &mut paragraphs, run_depth, properties_depth),
                }
            }
            Event::Empty(element) if ignored_depth == 0 => {
                let local_name = element.local_name();
                apply_docx_marker(local_name.as_ref(), &element, &mut paragraphs, run_depth, properties_depth);
            }
            Event::End(element) => {
                if ignored_depth > 0 {
                    ignored_depth -= 1;
                    continue;
                }
                match element.local_name().as_ref() {
                    "p" => {
                        if let Some(paragraph) = paragraphs.pop() {
                            out.push_block(&paragraph.text, paragraph.kind(styles));
                        }
                    }
                    "pPr" => properties_depth = properties_depth.saturating_sub(1),
                    "r" => run_depth = run_depth.saturating_sub(1),
                    "t" => in_text = false,
                    _ => {}
                }
            }
            Event::Text(text) if in_text && ignored_depth == 0 => {
                if let Some(paragraph) = paragraphs.last_mut() {
                    paragraph.text.push_str(&text.xml10_content());
                }
            }
            // quick-xml reports `&amp;` and `&#8217;` as separate events between text pieces.
            Event::GeneralRef(reference) if in_text && ignored_depth == 0 => {
                if let Some(paragraph) = paragraphs.last_mut() {
                    if let Ok(Some(character)) = reference.resolve_char_ref() {
                        paragraph.text.push(character);
                    } else if let Some(replacement) = quick_xml::escape::resolve_predefined_entity(&reference) {
                        paragraph.text.push_str(replacement);
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    // A truncated part can end inside paragraphs; what was read of them is still text.
    while let Some(paragraph) = paragraphs.pop() {
        out.push_block(&paragraph.text, paragraph.kind(styles));
    }
    Ok(out.finish(notes))
}

/// Elements that carry meaning by their presence: paragraph style and outline level, and the
/// tab, break and hyphen characters inside runs.
fn apply_docx_marker(
    local_name: &str,
    element: &BytesStart<'_>,
    paragraphs: &mut [DocxParagraph],
    run_depth: usize,
    properties_depth: usize,
) {
    let Some(paragraph) = paragraphs.last_mut() else {
        return;
    };
    // Tab stops inside paragraph properties are also called `tab`; only run content is text.
    let in_run_content = run_depth > 0 && properties_depth == 0;
    match local_name {
        "pStyle" if properties_depth > 0 => paragraph.style_id = xml_attribute(element, "val"),
        "outlineLvl" if properties_depth > 0 => {
            paragraph.outline_level = xml_attribute(element, "val").and_then(|value| value.parse().ok());
        }
        "tab" if in_run_content => paragraph.text.push('\t'),
        "br" | "cr" if in_run_content => paragraph.text.push('\n'),
        "noBreakHyphen" if in_run_content => paragraph.text.push('-'),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::io::Write;

    use anyhow::{Context, bail, ensure};

    use super::*;
    use BlockKind::{Code, Paragraph};

    /// The invariants the chunker relies on, checked on every result the tests produce.
    fn assert_well_formed(extracted: &Extracted) {
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

    fn extract_ok(name: &str, bytes: &[u8]) -> Extracted {
        let path = Path::new(name);
        let format = format_for(path).unwrap();
        let extracted = extract(path, bytes, format).unwrap();
        assert_well_formed(&extracted);
        extracted
    }

    /// (kind, title) of every block, for compact assertions.
    fn outline(extracted: &Extracted) -> Vec<(BlockKind, &str)> {
        extracted.blocks.iter().map(|block| (block.kind.clone(), block.title(&extracted.text))).collect()
    }

    const fn heading(level: u8) -> BlockKind {
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
    fn plain_text_is_verbatim_with_paragraphs_at_blank_lines() {
        let source = "First paragraph\nstill first.\r\n\r\n  \nSecond one.\n";
        let extracted = extract_ok("notes.txt", source.as_bytes());
        assert_eq!(extracted.text, source);
        assert_eq!(outline(&extracted), [(Paragraph, "First paragraph\nstill first."), (Paragraph, "Second one.")]);
        assert!(extracted.notes.is_empty());
    }

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
        let started = std::time::Instant::now();
        let extracted = extract_ok("many.md", source.as_bytes());
        assert!(started.elapsed().as_secs() < 5, "took {:?}", started.elapsed());
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

    #[test]
    fn code_files_have_no_headings() {
        let source = "# comment\n-----------\nimport os\n\n\ndef main():\n    pass\n";
        let extracted = extract_ok("script.py", source.as_bytes());
        assert_eq!(extracted.text, source);
        assert_eq!(outline(&extracted), [(Code, "# comment\n-----------\nimport os"), (Code, "def main():\n    pass")]);
    }

    #[test]
    fn utf8_bom_stays_in_text_but_outside_blocks() {
        let source = "\u{feff}# Title\n\nBody\n";
        let extracted = extract_ok("bom.md", source.as_bytes());
        assert_eq!(extracted.text, source);
        assert_eq!(extracted.blocks[0].range.start, 3);
        assert_eq!(outline(&extracted), [(heading(1), "Title"), (Paragraph, "Body")]);
    }

    #[test]
    fn utf16_with_bom_is_decoded_and_noted() {
        let source = "# Überschrift\n\nText ✓\n";
        let mut little_endian = vec![0xFF, 0xFE];
        little_endian.extend(source.encode_utf16().flat_map(u16::to_le_bytes));
        let mut big_endian = vec![0xFE, 0xFF];
        big_endian.extend(source.encode_utf16().flat_map(u16::to_be_bytes));
        for (bytes, name) in [(little_endian, "UTF-16LE"), (big_endian, "UTF-16BE")] {
            let extracted = extract_ok("wide.md", &bytes);
            assert_eq!(extracted.text, source);
            assert_eq!(outline(&extracted), [(heading(1), "Überschrift"), (Paragraph, "Text ✓")]);
            assert_eq!(extracted.notes, [format!("decoded as {name} (byte order mark)")]);
        }
    }

    #[test]
    fn invalid_utf8_falls_back_to_windows_1252_with_a_note() {
        let extracted = extract_ok("old.txt", b"caf\xe9 \x93quoted\x94\n");
        assert_eq!(extracted.text, "café \u{201c}quoted\u{201d}\n");
        assert_eq!(extracted.notes, ["decoded as Windows-1252 (not valid UTF-8)"]);
    }

    #[test]
    fn nul_bytes_mean_binary() {
        let mut bytes = b"looks like text".to_vec();
        bytes.extend([0, 1, 2, 3]);
        for name in ["a.txt", "a.md", "a.rs", "a.html"] {
            let path = Path::new(name);
            assert_eq!(extract(path, &bytes, format_for(path).unwrap()), Err(ExtractError::Binary), "{name}");
        }
        assert_eq!(ExtractError::Binary.to_string(), "binary content (NUL bytes)");
    }

    #[test]
    fn zero_byte_files_have_no_text_in_every_format() {
        for name in ["a.txt", "a.md", "a.rst", "a.rs", "a.html", "a.pdf", "a.docx"] {
            assert_eq!(extract_ok(name, b""), Extracted::default(), "{name}");
        }
    }

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

    /// A PDF from numbered objects (`1 0 obj` is the catalog), with a correct xref table.
    fn build_pdf(objects: &[String], trailer_extra: &str) -> Vec<u8> {
        let mut pdf = b"%PDF-1.4\n".to_vec();
        let mut offsets = Vec::new();
        for (index, body) in objects.iter().enumerate() {
            offsets.push(pdf.len());
            pdf.extend(format!("{} 0 obj\n{body}\nendobj\n", index + 1).as_bytes());
        }
        let xref_offset = pdf.len();
        pdf.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
        for offset in offsets {
            pdf.extend(format!("{offset:010} 00000 n \n").as_bytes());
        }
        let size = objects.len() + 1;
        pdf.extend(
            format!("trailer\n<< /Size {size} /Root 1 0 R {trailer_extra}>>\nstartxref\n{xref_offset}\n%%EOF\n")
                .as_bytes(),
        );
        pdf
    }

    fn pdf_stream(content: &str) -> String {
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len())
    }

    /// One page per content stream, all using Helvetica as /F1.
    fn pdf_with_pages(contents: &[&str], trailer_extra: &str) -> Vec<u8> {
        let page_count = contents.len();
        let font_id = 3 + 2 * page_count;
        let kids: Vec<String> = (0..page_count).map(|page| format!("{} 0 R", 3 + 2 * page)).collect();
        let mut objects = vec![
            "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
            format!("<< /Type /Pages /Kids [{}] /Count {page_count} >>", kids.join(" ")),
        ];
        for (page, content) in contents.iter().enumerate() {
            objects.push(format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 {font_id} 0 R >> >> \
                 /Contents {} 0 R >>",
                4 + 2 * page
            ));
            objects.push(pdf_stream(content));
        }
        objects.push("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned());
        build_pdf(&objects, trailer_extra)
    }

    #[test]
    fn pdf_text_layer_is_extracted_with_page_breaks() {
        let page_one = "BT /F1 24 Tf 72 700 Td (Quarterly report) Tj ET \
                        BT /F1 12 Tf 72 600 Td (Revenue grew in every region.) Tj ET";
        let page_two = "BT /F1 12 Tf 72 700 Td (Second page text.) Tj ET";
        let extracted = extract_ok("report.pdf", &pdf_with_pages(&[page_one, page_two], ""));
        let titles: Vec<&str> = outline(&extracted).into_iter().map(|(_, title)| title).collect();
        assert_eq!(titles, ["Quarterly report", "Revenue grew in every region.", "Second page text."]);
        assert_eq!(extracted.text.matches('\x0c').count(), 1);
        let page_break = extracted.text.find('\x0c').unwrap();
        assert!(extracted.blocks[1].range.end < page_break && extracted.blocks[2].range.start > page_break);
        assert!(extracted.notes.is_empty(), "{:?}", extracted.notes);
    }

    #[test]
    fn pdf_page_that_crashes_the_parser_is_skipped_with_a_note() {
        // Page 2 has no MediaBox anywhere up its tree, on which pdf-extract panics.
        let page = |content_id: usize, media_box: &str| {
            format!(
                "<< /Type /Page /Parent 2 0 R {media_box} /Resources << /Font << /F1 9 0 R >> >> /Contents {content_id} 0 R >>"
            )
        };
        let media_box = "/MediaBox [0 0 612 792]";
        let objects = vec![
            "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
            "<< /Type /Pages /Kids [3 0 R 5 0 R 7 0 R] /Count 3 >>".to_owned(),
            page(4, media_box),
            pdf_stream("BT /F1 12 Tf 72 700 Td (First page) Tj ET"),
            page(6, ""),
            pdf_stream("BT /F1 12 Tf 72 700 Td (Broken page) Tj ET"),
            page(8, media_box),
            pdf_stream("BT /F1 12 Tf 72 700 Td (Third page) Tj ET"),
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
        ];
        let extracted = extract_ok("partly.pdf", &build_pdf(&objects, ""));
        let titles: Vec<&str> = outline(&extracted).into_iter().map(|(_, title)| title).collect();
        assert_eq!(titles, ["First page", "Third page"]);
        // Page numbers stay countable: the broken page still has its form feed.
        assert_eq!(extracted.text.matches('\x0c').count(), 2);
        assert_eq!(extracted.notes.len(), 1);
        assert!(extracted.notes[0].starts_with("page 2 of 3 could not be read"), "{:?}", extracted.notes);
    }

    #[test]
    fn pdf_with_only_a_rectangle_has_no_text_layer() {
        let pdf = pdf_with_pages(&["0 0 1 rg 100 100 200 200 re f"], "");
        let outcome = extract(Path::new("scan.pdf"), &pdf, Format::Pdf);
        assert_eq!(outcome, Err(ExtractError::NoTextLayer));
        assert_eq!(ExtractError::NoTextLayer.to_string(), "PDF has no text layer (scanned or image-only?)");
    }

    #[test]
    fn corrupt_pdfs_are_errors_not_panics() {
        let garbage: Vec<u8> = (0..4096u32).map(|index| (index.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let valid = pdf_with_pages(&["BT /F1 12 Tf 72 700 Td (Hello) Tj ET"], "");
        let mut header_only = b"%PDF-1.7\n".to_vec();
        header_only.extend(&garbage);
        for bytes in [garbage.clone(), header_only, valid[..valid.len() / 2].to_vec(), b"%PDF-".to_vec()] {
            match extract(Path::new("bad.pdf"), &bytes, Format::Pdf) {
                Err(ExtractError::Corrupt { format: "PDF", reason }) => assert!(!reason.is_empty()),
                other => panic!("expected a corrupt-PDF error, got {other:?}"),
            }
        }
    }

    #[test]
    fn encrypted_pdf_without_the_password_is_reported() {
        let mut objects: Vec<String> = vec![
            "<< /Type /Catalog /Pages 2 0 R >>".into(),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".into(),
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>".into(),
            pdf_stream("BT /F1 12 Tf 72 700 Td (Secret) Tj ET"),
        ];
        let hash = "<".to_owned() + &"7A".repeat(32) + ">";
        objects.push(format!("<< /Filter /Standard /V 1 /R 2 /Length 40 /O {hash} /U {hash} /P -4 >>"));
        let pdf = build_pdf(&objects, &format!("/Encrypt 5 0 R /ID [{hash} {hash}] "));
        let outcome = extract(Path::new("locked.pdf"), &pdf, Format::Pdf);
        assert_eq!(outcome, Err(ExtractError::EncryptedPdf));
    }

    fn build_docx(parts: &[(&str, &str)]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, contents) in parts {
            writer.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
            writer.write_all(contents.as_bytes()).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    fn word_document(body: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"
  xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"><w:body>{body}</w:body></w:document>"#
        )
    }

    fn styled_paragraph(style: &str, text: &str) -> String {
        format!(r#"<w:p><w:pPr><w:pStyle w:val="{style}"/></w:pPr><w:r><w:t>{text}</w:t></w:r></w:p>"#)
    }

    #[test]
    fn docx_headings_and_paragraphs() {
        let body = [
            styled_paragraph("Title", "Annual Plan"),
            styled_paragraph("Heading1", "Goals"),
            r#"<w:p><w:pPr><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr>
                 <w:r><w:t xml:space="preserve">Ship &amp; </w:t></w:r><w:r><w:t>measure</w:t><w:tab/><w:t>now</w:t></w:r>
                 <w:r><w:br/><w:t>&#8220;Quoted&#8221;</w:t></w:r></w:p>"#
                .to_owned(),
            "<w:p/><w:p><w:r><w:t>   </w:t></w:r></w:p>".to_owned(),
            styled_paragraph("berschrift2", "Details"),
            r#"<w:p><w:r><w:t>Body</w:t></w:r><w:r><w:delText>deleted</w:delText></w:r>
                 <w:del><w:r><w:t>also deleted</w:t></w:r></w:del>
                 <mc:AlternateContent><mc:Choice><w:r><w:t> box</w:t></w:r></mc:Choice>
                 <mc:Fallback><w:r><w:t> fallback copy</w:t></w:r></mc:Fallback></mc:AlternateContent></w:p>"#
                .to_owned(),
            r#"<w:p><w:pPr><w:outlineLvl w:val="2"/></w:pPr><w:r><w:t>Direct outline</w:t></w:r></w:p>"#.to_owned(),
        ]
        .concat();
        let styles = r#"<?xml version="1.0"?><w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
            <w:style w:type="paragraph" w:styleId="berschrift2"><w:name w:val="heading 2"/></w:style>
            <w:style w:type="paragraph" w:styleId="Normal"><w:name w:val="Normal"/></w:style></w:styles>"#;
        let docx = build_docx(&[("word/document.xml", &word_document(&body)), ("word/styles.xml", styles)]);
        let extracted = extract_ok("plan.docx", &docx);
        assert_eq!(
            outline(&extracted),
            [
                (heading(1), "Annual Plan"),
                (heading(1), "Goals"),
                (Paragraph, "Ship & measure\tnow\n\u{201c}Quoted\u{201d}"),
                (heading(2), "Details"),
                (Paragraph, "Body box"),
                (heading(3), "Direct outline"),
            ]
        );
        assert_eq!(extracted.text.matches("\n\n").count(), 5);
    }

    #[test]
    fn corrupt_docx_names_the_problem() {
        let path = Path::new("bad.docx");
        let not_zip = extract(path, b"PK\x03\x04 truncated nonsense", Format::Docx);
        assert!(matches!(&not_zip, Err(ExtractError::Corrupt { format: "DOCX", reason }) if reason.contains("zip")));

        let no_document = build_docx(&[("word/other.xml", "<x/>")]);
        assert_eq!(
            extract(path, &no_document, Format::Docx).map_err(|error| error.to_string()),
            Err("corrupt DOCX: word/document.xml is missing".to_owned())
        );

        let malformed = build_docx(&[("word/document.xml", "<w:document><w:body><w:p></w:body>")]);
        let outcome = extract(path, &malformed, Format::Docx);
        assert!(matches!(&outcome, Err(ExtractError::Corrupt { reason, .. }) if reason.contains("XML")), "{outcome:?}");

        let mut ole = OLE_MAGIC.to_vec();
        ole.extend([0; 512]);
        let outcome = extract(path, &ole, Format::Docx);
        assert!(matches!(&outcome, Err(ExtractError::Corrupt { reason, .. }) if reason.contains("password")));
    }

    #[test]
    fn docx_part_over_the_limit_is_refused() -> anyhow::Result<()> {
        // Zeros compress about a thousandfold, so 257 MiB of them is a small archive.
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let fast = zip::write::SimpleFileOptions::default().compression_level(Some(1));
        writer.start_file("word/document.xml", fast)?;
        let zeros = vec![b' '; 1 << 20];
        for _ in 0..257 {
            writer.write_all(&zeros)?;
        }
        let docx = writer.finish()?.into_inner();
        match extract(Path::new("bomb.docx"), &docx, Format::Docx) {
            Err(ExtractError::TooLarge { part: "word/document.xml", .. }) => Ok(()),
            other => bail!("expected TooLarge, got {other:?}"),
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

    #[test]
    fn minified_code_is_refused_and_ordinary_code_is_not() {
        let minified = format!("var a={};", "x".repeat(5000));
        let error = extract(Path::new("bundle.min.js"), minified.as_bytes(), Format::Code { language: "javascript" });
        assert_eq!(error, Err(ExtractError::Generated { longest: 5007 }));
        let code = "fn main() {\n    println!(\"hi\");\n}\n";
        assert!(extract(Path::new("main.rs"), code.as_bytes(), Format::Code { language: "rust" }).is_ok());
        // Prose may have long lines: a paragraph per line is common in text files.
        let prose = "word ".repeat(1000);
        assert!(extract(Path::new("notes.txt"), prose.as_bytes(), Format::Text).is_ok());
    }
}
