//! The text of the rebuilt formats (HTML, PDF, DOCX): blocks written one after another with blank
//! lines between them, and a form feed between pages.

use super::{Block, BlockKind, Extracted};

/// Builds `text` from blocks, separated by blank lines so the result reads like a plain text file.
#[derive(Default)]
pub(super) struct BlockWriter {
    text: String,
    blocks: Vec<Block>,
    separate_next: bool,
}

impl BlockWriter {
    /// Appends a block, or nothing when `content` is only whitespace, so extractors can push
    /// every paragraph they meet without checking.
    pub(super) fn push_block(&mut self, content: &str, kind: BlockKind) {
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
    pub(super) fn page_break(&mut self) {
        self.text.push_str(if self.text.is_empty() { "\x0c\n" } else { "\n\x0c\n" });
        self.separate_next = false;
    }

    pub(super) fn finish(self, notes: Vec<String>) -> Extracted {
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
