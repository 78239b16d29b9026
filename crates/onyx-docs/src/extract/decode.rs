//! Bytes to text for the text-like formats and HTML: a byte order mark, then UTF-8, then a
//! declared encoding, then Windows-1252; NUL bytes mean the file is binary.

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};

use super::ExtractError;

/// How far into a file NUL bytes are looked for. Text never contains NUL; binary formats almost
/// always do near the start, so a prefix is enough and keeps the check cheap on large files.
const BINARY_SNIFF_LEN: usize = 8 * 1024;

pub(super) struct DecodedText {
    pub(super) text: String,
    pub(super) note: Option<String>,
}

/// Decodes a text file. A UTF-16 byte order mark wins; then UTF-8; then the encoding the file
/// declares (HTML only); then Windows-1252, which accepts every byte and is the most likely
/// encoding of an old non-UTF-8 text file on a desktop.
pub(super) fn decode_text(bytes: &[u8], declared: Option<&'static Encoding>) -> Result<DecodedText, ExtractError> {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::path::Path;

    use super::*;
    use crate::extract::tests::{extract_ok, heading, outline};
    use crate::extract::{BlockKind, extract, format_for};
    use BlockKind::Paragraph;

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
}
