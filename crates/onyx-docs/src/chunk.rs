//! Splits extracted text into chunks sized in the embedding model's own tokens.
//!
//! What flows in: an [`Extracted`] document (text plus heading/paragraph/code blocks) and the
//! embedding model's tokenizer. What flows out: [`Chunk`]s of at most about 256 tokens, each with
//! its byte and line range in the text and the path of headings it sits under.
//!
//! Why this shape:
//! - **Measured in model tokens**, not characters: a chunk the model truncates is a chunk whose
//!   end is never searchable. The budget leaves room for the model's special tokens and for the
//!   heading path, which is embedded in front of the text ("Ownership > The Stack and the Heap")
//!   because a passage alone often does not say what it is about.
//! - **Headings start a new chunk**, and paragraphs are packed whole where they fit, so a chunk
//!   rarely mixes two topics.
//! - **Overlap** of about 32 tokens between consecutive chunks of one section keeps a sentence
//!   that straddles a boundary findable from either side. A chunk is always one contiguous range
//!   of the text, so a result can be shown in place.

use std::ops::Range;

use tokenizers::{PostProcessor, Tokenizer};

use crate::extract::{BlockKind, Extracted};

/// Chunk size in tokens when the model allows it: the size sentence-transformers models such as
/// all-MiniLM-L6-v2 were trained to embed.
pub const TARGET_TOKENS: usize = 256;
/// Tokens repeated from the end of one chunk at the start of the next within a section.
pub const OVERLAP_TOKENS: usize = 32;
/// Blocks longer than this are tokenized in pieces: a tokenizer's encoding costs about 100 bytes
/// per token, so a megabyte-long paragraph must never be encoded at once.
const MAX_PIECE_BYTES: usize = 16 * 1024;
/// Heading paths longer than this many tokens are cut, so the body keeps most of the budget.
const MAX_HEADING_TOKENS: usize = 48;

/// A piece of a document, ready to embed and store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// Byte range in the extracted text.
    pub byte_range: Range<usize>,
    /// First and last line (1-based) of the range.
    pub lines: (usize, usize),
    /// Headings above the chunk, outermost first, joined by " > ".
    pub heading: String,
    /// The chunk's text: exactly `text[byte_range]` of the document.
    pub text: String,
}

impl Chunk {
    /// What is embedded: the heading path, then the text.
    pub fn embedding_text(&self) -> String {
        if self.heading.is_empty() { self.text.clone() } else { format!("{}\n\n{}", self.heading, self.text) }
    }
}

/// Chunking failures: only the tokenizer can fail.
#[derive(Debug, thiserror::Error)]
pub enum ChunkError {
    /// The tokenizer rejected the text or its configuration.
    #[error("tokenizer failed: {0}")]
    Tokenizer(String),
    /// The model's token limit leaves no room for text.
    #[error("the embedding model reads at most {0} tokens, too few to chunk documents")]
    TooFewTokens(usize),
}

/// Splits documents for one embedding model.
pub struct Chunker {
    tokenizer: Tokenizer,
    budget: usize,
    overlap: usize,
}

/// The chunk being filled: a byte range and the start offset of each of its tokens.
struct Open {
    start: usize,
    end: usize,
    token_starts: Vec<usize>,
}

impl Chunker {
    /// A chunker whose chunks, with special tokens added, fit in `model_max_tokens`.
    pub fn new(tokenizer: &Tokenizer, model_max_tokens: usize) -> Result<Self, ChunkError> {
        let mut tokenizer = tokenizer.clone();
        // Counting needs every token: the model's own truncation and padding would hide them.
        tokenizer.with_truncation(None).map_err(|e| ChunkError::Tokenizer(e.to_string()))?;
        tokenizer.with_padding(None);
        let special = tokenizer.get_post_processor().map_or(0, |p| p.added_tokens(false));
        let budget = TARGET_TOKENS.min(model_max_tokens).saturating_sub(special);
        if budget < 2 * OVERLAP_TOKENS + MAX_HEADING_TOKENS {
            return Err(ChunkError::TooFewTokens(model_max_tokens));
        }
        Ok(Chunker { tokenizer, budget, overlap: OVERLAP_TOKENS })
    }

    /// Token count of `text` without special tokens.
    pub fn count_tokens(&self, text: &str) -> Result<usize, ChunkError> {
        Ok(self.encode_starts(text, 0)?.len())
    }

    /// Byte offsets (shifted by `base`) where each token of `text` starts.
    fn encode_starts(&self, text: &str, base: usize) -> Result<Vec<usize>, ChunkError> {
        let encoding = self.tokenizer.encode(text, false).map_err(|e| ChunkError::Tokenizer(e.to_string()))?;
        Ok(encoding.get_offsets().iter().map(|&(start, _)| base + start).collect())
    }

    /// Splits a document into chunks, in order.
    pub fn chunk(&self, doc: &Extracted) -> Result<Vec<Chunk>, ChunkError> {
        let text = doc.text.as_str();
        let lines = LineIndex::new(text);
        let whole;
        let blocks: &[_] = if doc.blocks.is_empty() && !text.trim().is_empty() {
            // An extractor that found no structure: the text is one paragraph.
            whole = [crate::extract::Block { range: 0..text.len(), kind: BlockKind::Paragraph }];
            &whole
        } else {
            &doc.blocks
        };

        let mut chunks = Vec::new();
        let mut headings: Vec<(u8, String)> = Vec::new();
        let mut heading_path = String::new();
        let mut body_budget = self.budget;
        let mut open: Option<Open> = None;
        let emit = |chunks: &mut Vec<Chunk>, range: Range<usize>, heading: &str| {
            let range = trim_range(text, range);
            if range.is_empty() {
                return;
            }
            chunks.push(Chunk {
                lines: (lines.line_of(range.start), lines.line_of(range.end.saturating_sub(1).max(range.start))),
                text: text[range.clone()].to_owned(),
                byte_range: range,
                heading: heading.to_owned(),
            });
        };

        for block in blocks.iter().flat_map(|b| pieces(text, b)) {
            let block = &block;
            let Some(block_text) = text.get(block.range.clone()) else { continue };
            if block_text.trim().is_empty() {
                continue;
            }
            if let BlockKind::Heading { level } = block.kind {
                if let Some(done) = open.take() {
                    emit(&mut chunks, done.start..done.end, &heading_path);
                }
                headings.retain(|(l, _)| *l < level);
                // The title without its markup (`## `, underlines), which the text keeps verbatim.
                headings.push((level, collapse_whitespace(block.title(text))));
                heading_path = self.fit_heading(&headings)?;
                body_budget = self.budget.saturating_sub(self.count_tokens(&heading_path)?).max(2 * self.overlap);
                continue;
            }
            let starts = self.encode_starts(block_text, block.range.start)?;
            match open.as_mut() {
                Some(current) if current.token_starts.len() + starts.len() <= body_budget => {
                    current.end = block.range.end;
                    current.token_starts.extend(starts);
                    continue;
                }
                _ => {}
            }
            // The block does not fit: close the open chunk and carry its tail over.
            let mut carried = Vec::new();
            if let Some(done) = open.take() {
                emit(&mut chunks, done.start..done.end, &heading_path);
                let tail = done.token_starts.len().saturating_sub(self.overlap);
                carried = done.token_starts[tail..].to_vec();
                if let Some(&first) = carried.first() {
                    let word_start = word_boundary_at_or_after(text, first, done.end);
                    carried.retain(|&s| s >= word_start);
                }
            }
            if carried.len() + starts.len() <= body_budget {
                let start = carried.first().copied().unwrap_or(block.range.start);
                carried.extend(starts);
                open = Some(Open { start, end: block.range.end, token_starts: carried });
                continue;
            }
            // A block longer than a chunk on its own: overlapping windows of whole tokens.
            let stride = body_budget - self.overlap;
            let mut first = 0;
            loop {
                let last = (first + body_budget).min(starts.len());
                let start = starts[first];
                let end = starts.get(last).copied().unwrap_or(block.range.end);
                if last == starts.len() {
                    // The final window stays open, so following paragraphs can join it.
                    open = Some(Open { start, end, token_starts: starts[first..].to_vec() });
                    break;
                }
                emit(&mut chunks, start..end, &heading_path);
                first += stride;
            }
        }
        if let Some(done) = open.take() {
            emit(&mut chunks, done.start..done.end, &heading_path);
        }
        Ok(chunks)
    }

    /// The heading path, with inner headings dropped first if it is too long to leave room.
    fn fit_heading(&self, headings: &[(u8, String)]) -> Result<String, ChunkError> {
        let mut parts: Vec<&str> = headings.iter().map(|(_, h)| h.as_str()).collect();
        loop {
            let path = parts.join(" > ");
            let starts = self.encode_starts(&path, 0)?;
            if starts.len() <= MAX_HEADING_TOKENS {
                return Ok(path);
            }
            if parts.len() == 1 {
                // One very long heading: keep its first tokens.
                return Ok(path[..starts[MAX_HEADING_TOKENS]].trim_end().to_owned());
            }
            // Keep the outermost (the document's title) and the innermost (the section itself).
            parts.remove(if parts.len() > 2 { 1 } else { 0 });
        }
    }
}

/// A block cut into pieces of at most [`MAX_PIECE_BYTES`], at line breaks or spaces where
/// possible; headings stay whole.
fn pieces(text: &str, block: &crate::extract::Block) -> Vec<crate::extract::Block> {
    let range = block.range.clone();
    if range.len() <= MAX_PIECE_BYTES || matches!(block.kind, BlockKind::Heading { .. }) {
        return vec![block.clone()];
    }
    let mut out = Vec::new();
    let mut start = range.start;
    while start < range.end {
        let mut end = (start + MAX_PIECE_BYTES).min(range.end);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        if end < range.end {
            let window = &text[start..end];
            // Prefer the last line break in the second half of the window, then the last space.
            let cut = window.rfind('\n').filter(|&i| i > window.len() / 2).or_else(|| window.rfind(' '));
            if let Some(cut) = cut.filter(|&i| i > 0) {
                end = start + cut + 1;
            }
        }
        out.push(crate::extract::Block { range: start..end, kind: block.kind.clone() });
        start = end;
    }
    out
}

/// `range` without leading and trailing whitespace.
fn trim_range(text: &str, range: Range<usize>) -> Range<usize> {
    let Some(slice) = text.get(range.clone()) else { return range.start..range.start };
    let start = range.start + (slice.len() - slice.trim_start().len());
    let end = range.start + slice.trim_end().len();
    start..end.max(start)
}

/// The first byte at or after `at` that starts a word, so an overlap never opens mid-word.
fn word_boundary_at_or_after(text: &str, at: usize, limit: usize) -> usize {
    let before = text.get(..at).and_then(|s| s.chars().next_back());
    if before.is_none_or(|c| !c.is_alphanumeric()) {
        return at;
    }
    let rest = text.get(at..limit).unwrap_or("");
    rest.char_indices().find(|(_, c)| c.is_whitespace()).map_or(limit, |(i, _)| at + i)
}

fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Byte offset to 1-based line number, by binary search over newline positions.
struct LineIndex {
    newlines: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        LineIndex { newlines: text.bytes().enumerate().filter(|(_, b)| *b == b'\n').map(|(i, _)| i).collect() }
    }

    fn line_of(&self, offset: usize) -> usize {
        self.newlines.partition_point(|&n| n < offset) + 1
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::extract::Block;
    use crate::testing::word_tokenizer;

    fn doc(parts: &[(BlockKind, &str)]) -> Extracted {
        let mut text = String::new();
        let mut blocks = Vec::new();
        for (kind, part) in parts {
            let start = text.len();
            text.push_str(part);
            blocks.push(Block { range: start..text.len(), kind: kind.clone() });
            text.push_str("\n\n");
        }
        Extracted { text, blocks, notes: Vec::new() }
    }

    fn words(from: usize, n: usize) -> String {
        (from..from + n).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn headings_start_chunks_and_carry_their_path() {
        let chunker = Chunker::new(&word_tokenizer(), 512).unwrap();
        let d = doc(&[
            (BlockKind::Heading { level: 1 }, "Guide"),
            (BlockKind::Paragraph, "intro text"),
            (BlockKind::Heading { level: 2 }, "Install"),
            (BlockKind::Paragraph, "run setup"),
            (BlockKind::Heading { level: 2 }, "Use"),
            (BlockKind::Code, "fn main() {}"),
        ]);
        let chunks = chunker.chunk(&d).unwrap();
        let summary: Vec<_> = chunks.iter().map(|c| (c.heading.as_str(), c.text.as_str(), c.lines)).collect();
        assert_eq!(
            summary,
            [
                ("Guide", "intro text", (3, 3)),
                ("Guide > Install", "run setup", (7, 7)),
                ("Guide > Use", "fn main() {}", (11, 11))
            ]
        );
        for c in &chunks {
            assert_eq!(&d.text[c.byte_range.clone()], c.text);
        }
        assert_eq!(chunks[1].embedding_text(), "Guide > Install\n\nrun setup");
    }

    #[test]
    fn paragraphs_pack_until_the_budget_then_overlap() {
        let chunker = Chunker::new(&word_tokenizer(), 512).unwrap();
        // Budget is 254 tokens: 100 + 100 fit, the third paragraph opens a new chunk that repeats
        // the last 32 words of the previous one.
        let d = doc(&[
            (BlockKind::Paragraph, &words(0, 100)),
            (BlockKind::Paragraph, &words(100, 100)),
            (BlockKind::Paragraph, &words(200, 100)),
        ]);
        let chunks = chunker.chunk(&d).unwrap();
        assert_eq!(chunks.len(), 2);
        assert!(chunks[0].text.starts_with("w0 ") && chunks[0].text.ends_with("w199"));
        assert!(chunks[1].text.starts_with("w168 "), "{}", &chunks[1].text[..20]);
        assert!(chunks[1].text.ends_with("w299"));
        assert_eq!(chunks[1].lines, (3, 5));
        for c in &chunks {
            assert!(chunker.count_tokens(&c.embedding_text()).unwrap() <= 254);
        }
    }

    #[test]
    fn a_long_block_is_cut_into_overlapping_windows() {
        let chunker = Chunker::new(&word_tokenizer(), 128).unwrap();
        // Budget 126, stride 94.
        let d = doc(&[(BlockKind::Paragraph, &words(0, 300))]);
        let chunks = chunker.chunk(&d).unwrap();
        let firsts: Vec<_> = chunks.iter().map(|c| c.text.split(' ').next().unwrap().to_owned()).collect();
        assert_eq!(firsts, ["w0", "w94", "w188"].map(String::from));
        assert!(chunks.iter().all(|c| chunker.count_tokens(&c.text).unwrap() <= 126));
        assert!(chunks.last().unwrap().text.ends_with("w299"));
    }

    #[test]
    fn empty_and_structureless_documents() {
        let chunker = Chunker::new(&word_tokenizer(), 512).unwrap();
        assert!(chunker.chunk(&Extracted { text: String::new(), blocks: vec![], notes: vec![] }).unwrap().is_empty());
        let plain = Extracted { text: "  just words\n".into(), blocks: vec![], notes: vec![] };
        let chunks = chunker.chunk(&plain).unwrap();
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].text, "just words");
        assert_eq!(chunks[0].byte_range, 2..12);
        assert!(matches!(Chunker::new(&word_tokenizer(), 40), Err(ChunkError::TooFewTokens(40))));
    }

    #[test]
    fn a_huge_block_is_tokenized_in_pieces_and_still_covered() {
        let chunker = Chunker::new(&word_tokenizer(), 512).unwrap();
        let text = words(0, 20_000);
        let d = doc(&[(BlockKind::Paragraph, &text)]);
        let chunks = chunker.chunk(&d).unwrap();
        assert!(chunks.iter().all(|c| chunker.count_tokens(&c.text).unwrap() <= 254));
        assert!(chunks.first().unwrap().text.starts_with("w0 "));
        assert!(chunks.last().unwrap().text.ends_with("w19999"));
        // Every word is in some chunk.
        let mut seen = std::collections::HashSet::new();
        for c in &chunks {
            seen.extend(c.text.split(' ').map(str::to_owned));
        }
        assert_eq!(seen.len(), 20_000);
    }
}
