//! Previews of a search result: the lines a result covers, with some context, as the user's file
//! has them when it is unchanged since it was indexed, or stitched from the index otherwise.

use std::path::{Path, PathBuf};

use onyx_docs::store::{Store, StoredChunk};
use serde::Serialize;
use ts_rs::TS;

/// Lines shown around a result in a preview, above and below.
pub const PREVIEW_CONTEXT_LINES: usize = 3;
/// Longest line range a preview may ask for.
pub const MAX_PREVIEW_LINES: usize = 2000;

/// A preview of lines of an indexed file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Preview {
    /// The file.
    pub path: PathBuf,
    /// Its indexed text over the lines asked for, with context.
    pub text: String,
    /// The line number of the first line of `text`.
    pub first_line: usize,
}

/// Why there is no preview.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    /// The line range asked for is not one.
    #[error("lines [{0}, {1}] are not a range of at most {MAX_PREVIEW_LINES} lines starting at 1 or later")]
    BadRange(usize, usize),
    /// The file is not in the index.
    #[error("{} is not in the index", .0.display())]
    NotIndexed(PathBuf),
    /// The index could not be read.
    #[error("{0}")]
    Store(String),
}

/// Lines `first..=last` of `path` with [`PREVIEW_CONTEXT_LINES`] around them. Files larger than
/// `max_file_bytes` (the indexing limit) are never read again: they are not what was indexed.
pub fn preview(
    store: &Store,
    path: &Path,
    (first, last): (usize, usize),
    max_file_bytes: u64,
) -> Result<Preview, PreviewError> {
    if first == 0 || last < first || last - first > MAX_PREVIEW_LINES {
        return Err(PreviewError::BadRange(first, last));
    }
    let from = first.saturating_sub(PREVIEW_CONTEXT_LINES).max(1);
    let to = last.saturating_add(PREVIEW_CONTEXT_LINES);
    let chunks = store
        .document_chunks(path, (from, to))
        .map_err(|e| PreviewError::Store(e.to_string()))?
        .ok_or_else(|| PreviewError::NotIndexed(path.to_path_buf()))?;
    let (text, first_line) =
        lines_from_file(path, &chunks, (from, to), max_file_bytes).unwrap_or_else(|| stitch(&chunks, from, to));
    Ok(Preview { path: path.to_path_buf(), text, first_line })
}

/// Lines `from..=to` of the file itself, when that is what was indexed: a text format indexed
/// verbatim (text, Markdown, reST, code), UTF-8, and still holding every chunk at its place. The
/// file shows what the chunks leave out (headings, blank lines), so the context reads as the
/// file does. Anything else (a changed file, HTML or PDF, whose lines are in extracted text) is
/// `None`, and the preview is stitched from the index.
fn lines_from_file(
    path: &Path,
    chunks: &[StoredChunk],
    (from, to): (usize, usize),
    max_bytes: u64,
) -> Option<(String, usize)> {
    use onyx_docs::extract::{Format, format_for};
    if !matches!(format_for(path)?, Format::Text | Format::Markdown | Format::Rst | Format::Code { .. }) {
        return None;
    }
    // The size limit of indexing applies here too; a file grown past it is not what was indexed.
    if std::fs::metadata(path).ok()?.len() > max_bytes {
        return None;
    }
    let text = String::from_utf8(std::fs::read(path).ok()?).ok()?;
    let unchanged = chunks.iter().all(|chunk| text.get(chunk.byte_range.clone()) == Some(chunk.text.as_str()));
    if chunks.is_empty() || !unchanged {
        return None;
    }
    let lines: Vec<&str> = text.lines().skip(from - 1).take(to + 1 - from).collect();
    Some((lines.join("\n"), from))
}

/// Rebuilds the indexed text of lines `from..=to` from the chunks that cover them, in text
/// order. Chunks may overlap (the overlap is taken once); between two chunks lies only the
/// whitespace the chunker trimmed, which is restored as the line breaks it held. Returns the
/// text and the number of its first line.
pub fn stitch(chunks: &[StoredChunk], from: usize, to: usize) -> (String, usize) {
    let Some(first) = chunks.first() else { return (String::new(), from) };
    let first_line = first.lines.0;
    let mut text = String::new();
    let (mut end_byte, mut end_line) = (first.byte_range.start, first_line);
    for chunk in chunks {
        if chunk.byte_range.end <= end_byte && !text.is_empty() {
            continue;
        }
        if chunk.byte_range.start < end_byte {
            // Both are slices of one text, so `end_byte` is a character boundary in this chunk too.
            text.push_str(chunk.text.get(end_byte - chunk.byte_range.start..).unwrap_or_default());
        } else {
            if !text.is_empty() {
                match chunk.lines.0.saturating_sub(end_line) {
                    0 => text.push(' '),
                    breaks => text.push_str(&"\n".repeat(breaks)),
                }
            }
            text.push_str(&chunk.text);
        }
        (end_byte, end_line) = (chunk.byte_range.end, chunk.lines.1);
    }
    let kept: Vec<&str> = text
        .split('\n')
        .enumerate()
        .filter(|(index, _)| (from..=to).contains(&(first_line + index)))
        .map(|(_, line)| line)
        .collect();
    (kept.join("\n"), first_line.max(from))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(start: usize, lines: (usize, usize), text: &str) -> StoredChunk {
        StoredChunk { byte_range: start..start + text.len(), lines, text: text.into() }
    }

    #[test]
    fn previews_read_an_unchanged_text_file_itself_with_its_headings() {
        const MB: u64 = 1024 * 1024;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("care.md");
        let text = "# Care\n\nKeep it cold.\n\n## Feeding\n\nWorms twice a week.\nNo more.\n";
        std::fs::write(&path, text).expect("write");
        let at = |needle: &str| text.find(needle).expect("in the text");
        let chunks =
            [chunk(at("Keep"), (3, 3), "Keep it cold."), chunk(at("Worms"), (7, 8), "Worms twice a week.\nNo more.")];
        assert_eq!(
            lines_from_file(&path, &chunks, (4, 8), MB),
            Some(("\n## Feeding\n\nWorms twice a week.\nNo more.".to_owned(), 4))
        );
        // Past the end, the file simply ends.
        assert_eq!(lines_from_file(&path, &chunks, (7, 20), MB), Some(("Worms twice a week.\nNo more.".to_owned(), 7)));

        // Changed since it was indexed: the index's own text is shown instead.
        std::fs::write(&path, text.replace("cold", "cool")).expect("write");
        assert_eq!(lines_from_file(&path, &chunks, (1, 8), MB), None);
        // Nor is a file over the size limit.
        std::fs::write(&path, text).expect("write");
        assert!(lines_from_file(&path, &chunks, (1, 8), MB).is_some());
        assert_eq!(lines_from_file(&path, &chunks, (1, 8), 10), None);
        // Formats whose lines are in extracted text, and files gone, are not read.
        assert_eq!(lines_from_file(&dir.path().join("page.html"), &chunks, (1, 8), MB), None);
        assert_eq!(lines_from_file(&dir.path().join("gone.md"), &chunks, (1, 8), MB), None);
    }

    #[test]
    fn previews_restore_overlaps_and_trimmed_line_breaks() {
        // The text: "l1\nl2\nl3\n\nl5 é\nl6\n\n\nl9"; chunks overlap on "l3" and skip the blank lines.
        let chunks = [
            chunk(0, (1, 3), "l1\nl2\nl3"),
            chunk(6, (3, 5), "l3\n\nl5 é"),
            chunk(16, (6, 6), "l6"),
            chunk(21, (9, 9), "l9"),
        ];
        assert_eq!(stitch(&chunks, 1, 100), ("l1\nl2\nl3\n\nl5 é\nl6\n\n\nl9".to_owned(), 1));
        assert_eq!(stitch(&chunks, 2, 5), ("l2\nl3\n\nl5 é".to_owned(), 2));
        assert_eq!(stitch(&chunks[1..], 1, 6), ("l3\n\nl5 é\nl6".to_owned(), 3));
        // Two chunks on one line are joined by a space.
        assert_eq!(stitch(&[chunk(0, (1, 1), "a"), chunk(2, (1, 1), "b")], 1, 1), ("a b".to_owned(), 1));
        assert_eq!(stitch(&[], 4, 9), (String::new(), 4));
    }
}
