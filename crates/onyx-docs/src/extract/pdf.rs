//! PDF: the text layer as pdf-extract reads it, a paragraph per vertical gap and a form feed per
//! page; the parser's panics are caught quietly and reported as a corrupt file.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::Once;

use pdf_extract::OutputDev;

use super::text::is_blank;
use super::writer::BlockWriter;
use super::{BlockKind, ExtractError, Extracted};

fn corrupt_pdf(reason: impl Into<String>) -> ExtractError {
    ExtractError::Corrupt { format: "PDF", reason: reason.into() }
}

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

pub(super) fn extract_pdf(bytes: &[u8]) -> Result<Extracted, ExtractError> {
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

#[cfg(test)]
pub(super) mod tests {
    #![allow(clippy::unwrap_used)]

    use std::path::Path;

    use super::*;
    use crate::extract::tests::{extract_ok, outline};
    use crate::extract::{Format, extract};

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
    pub(in crate::extract) fn pdf_with_pages(contents: &[&str], trailer_extra: &str) -> Vec<u8> {
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
}
