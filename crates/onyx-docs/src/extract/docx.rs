//! DOCX: paragraphs and headings from `word/document.xml`, heading levels through the styles
//! part, every zip part unpacked under a size limit.

use std::collections::HashMap;
use std::io::{Cursor, Read};

use encoding_rs::UTF_8;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use super::writer::BlockWriter;
use super::{BlockKind, ExtractError, Extracted};

/// Largest uncompressed size accepted for one part of a DOCX. A few kilobytes of zip can declare
/// gigabytes; real documents' text parts stay far below this.
const DOCX_PART_LIMIT: u64 = 256 * 1024 * 1024;

/// Most memory reserved before unpacking a part; larger parts grow the buffer as they unpack.
const PART_PREALLOCATION_LIMIT: u64 = 8 * 1024 * 1024;

/// Start of an OLE compound file: what Word writes for password-protected documents and old `.doc`.
const OLE_MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

fn corrupt_docx(reason: impl Into<String>) -> ExtractError {
    ExtractError::Corrupt { format: "DOCX", reason: reason.into() }
}

pub(super) fn extract_docx(bytes: &[u8]) -> Result<Extracted, ExtractError> {
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
pub(super) mod tests {
    #![allow(clippy::unwrap_used)]

    use std::io::Write;
    use std::path::Path;

    use anyhow::bail;

    use super::*;
    use crate::extract::tests::{extract_ok, heading, outline};
    use crate::extract::{Format, extract};
    use BlockKind::Paragraph;

    pub(in crate::extract) fn build_docx(parts: &[(&str, &str)]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, contents) in parts {
            writer.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
            writer.write_all(contents.as_bytes()).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    pub(in crate::extract) fn word_document(body: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"
  xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"><w:body>{body}</w:body></w:document>"#
        )
    }

    pub(in crate::extract) fn styled_paragraph(style: &str, text: &str) -> String {
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
}
