//! Plain text and source code, and the line scanner every text-like format builds on: the text
//! is the decoded file, and blocks are runs of its lines.

use super::{Block, BlockKind, ExtractError};

/// Longest line accepted in source code. Hand-written code stays far below it; minifiers and
/// generators write whole files on one line.
const MAX_CODE_LINE: usize = 2000;

pub(super) fn check_not_generated(text: &str) -> Result<(), ExtractError> {
    let longest = text.lines().map(|line| line.chars().count()).max().unwrap_or(0);
    if longest > MAX_CODE_LINE { Err(ExtractError::Generated { longest }) } else { Ok(()) }
}

/// One line of a text file: `start..end` excludes the line ending (`\n` or `\r\n`).
#[derive(Clone, Copy)]
pub(super) struct Line {
    start: usize,
    end: usize,
}

pub(super) struct LineDocument<'t> {
    text: &'t str,
    pub(super) lines: Vec<Line>,
    pub(super) blocks: Vec<Block>,
}

impl<'t> LineDocument<'t> {
    pub(super) fn new(text: &'t str) -> Self {
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

    pub(super) fn line(&self, index: usize) -> &'t str {
        self.lines.get(index).and_then(|line| self.text.get(line.start..line.end)).unwrap_or("")
    }

    pub(super) fn is_blank_line(&self, index: usize) -> bool {
        is_blank(self.line(index))
    }

    /// Records lines `first..=last` as one block.
    pub(super) fn push(&mut self, first: usize, last: usize, kind: BlockKind) {
        if let (Some(first), Some(last)) = (self.lines.get(first), self.lines.get(last)) {
            self.blocks.push(Block { range: first.start..last.end, kind });
        }
    }

    pub(super) fn split_at_blank_lines(&mut self, kind: BlockKind) {
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
    pub(super) fn indented_body_end(&self, from: usize, base_indent: usize) -> Option<usize> {
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

pub(super) fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// Leading indentation in columns, a tab advancing to the next multiple of four as in CommonMark.
pub(super) fn indent_width(line: &str) -> usize {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::path::Path;

    use super::*;
    use crate::extract::tests::{extract_ok, heading, outline};
    use crate::extract::{Format, extract};
    use BlockKind::{Code, Paragraph};

    #[test]
    fn plain_text_is_verbatim_with_paragraphs_at_blank_lines() {
        let source = "First paragraph\nstill first.\r\n\r\n  \nSecond one.\n";
        let extracted = extract_ok("notes.txt", source.as_bytes());
        assert_eq!(extracted.text, source);
        assert_eq!(outline(&extracted), [(Paragraph, "First paragraph\nstill first."), (Paragraph, "Second one.")]);
        assert!(extracted.notes.is_empty());
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
