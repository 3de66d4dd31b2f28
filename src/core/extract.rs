//! Text out of attached letters: PDF, DOCX, ODT, RTF, plain text and HTML attachments.
//!
//! Requests often arrive as a letter attached under a one-line body ("please see attached"), so
//! the rules and the validity check need the letter's words. This module turns the bytes of one
//! attachment into bounded plain text.
//!
//! What it does:
//! - decides the format from the declared MIME type, the file name's extension and the leading
//!   ("magic") bytes, so `application/octet-stream` named `letter.pdf` or starting `%PDF-` is read;
//! - reads plain text as UTF-8 (or Windows-1252 when it is not UTF-8) and HTML through
//!   [`html_to_text`], in the caller's process: both are our own small, bounded code;
//! - hands every other format (PDF, DOCX, ODT, RTF, and any later one) to an
//!   [`AttachmentReader`] the caller chooses, then tidies and caps what comes back;
//! - holds the decoders themselves, in [`InProcess`]: PDF with `pdf-extract`, DOCX
//!   (`word/document.xml`) and ODT (`content.xml`) with `zip` + `quick-xml` (the decompressed XML
//!   capped against zip bombs), RTF with a small control-word stripper.
//!
//! Why a reader is injected: a third-party decoder fed hostile bytes can recurse until its stack
//! overflows (a PDF form that draws itself), allocate gigabytes (a flate bomb) or spin; none of
//! that can be stopped inside one process, and an abort takes the whole daemon with it (issue 9).
//! So the daemon and the command line read these formats in a child process with memory, CPU and
//! wall-clock limits (`io::sandbox`), and that child runs [`InProcess`]. Pure tests on benign
//! fixtures use [`InProcess`] directly. This module itself starts no thread or process.
//!
//! What it does not: OCR of scanned letters (a PDF without a text layer yields empty text), old
//! binary `.doc`/`.xls`, spreadsheets, TNEF (`winmail.dat`), encrypted documents, archives. Those
//! return `Ok(None)` ("not a type we read") or an error naming the reason; the caller records a
//! warning and a human reads the attachment.

use crate::core::text::prefix;
use std::fmt;
use std::io::{Cursor, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::str::FromStr;

use quick_xml::events::Event;
use quick_xml::reader::Reader;

/// Largest attachment (bytes, decoded) we try to read. A letter is rarely over 2 MiB; bigger files
/// are scans or bundles that would cost seconds of CPU and hundreds of MiB of parser memory.
pub const MAX_INPUT_BYTES: usize = 10 * 1024 * 1024;

/// Most bytes (uncompressed) read from the one XML entry of a DOCX/ODT. Real letters are well under
/// 1 MiB of XML; the cap stops a zip bomb (a tiny entry that inflates to gigabytes).
pub const MAX_XML_BYTES: u64 = 20 * 1024 * 1024;

/// Most bytes of text returned for one attachment (UTF-8, cut on a character boundary). 100 KiB
/// is about 40 pages of prose: more than any request letter, and bounded for rule matching.
pub const MAX_TEXT_BYTES: usize = 100 * 1024;

/// Most bytes of text an [`AttachmentReader`] needs to hand back: [`MAX_TEXT_BYTES`] and one more
/// character (at most 4 bytes of UTF-8), so that [`read`] can still tell a text that was cut from
/// one that fits exactly. A reader that runs elsewhere sends no more than this.
pub const MAX_READER_TEXT_BYTES: usize = MAX_TEXT_BYTES + 4;

/// A document format we can read text from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocFormat {
    /// Portable Document Format (ISO 32000), text layer only.
    Pdf,
    /// Office Open XML word-processing document (`.docx`, ECMA-376).
    Docx,
    /// OpenDocument text (`.odt`, ISO/IEC 26300).
    Odt,
    /// Rich Text Format.
    Rtf,
    /// Plain text.
    Text,
    /// HTML page.
    Html,
}

impl DocFormat {
    /// Every format, in declaration order.
    pub const ALL: [DocFormat; 6] = [
        DocFormat::Pdf,
        DocFormat::Docx,
        DocFormat::Odt,
        DocFormat::Rtf,
        DocFormat::Text,
        DocFormat::Html,
    ];

    /// Short upper-case name used in messages (`PDF`, `DOCX`…).
    pub fn as_str(self) -> &'static str {
        match self {
            DocFormat::Pdf => "PDF",
            DocFormat::Docx => "DOCX",
            DocFormat::Odt => "ODT",
            DocFormat::Rtf => "RTF",
            DocFormat::Text => "text",
            DocFormat::Html => "HTML",
        }
    }

    /// Lower-case name for command lines (`pdf`, `docx`…); [`FromStr`] reads it back.
    pub fn id(self) -> &'static str {
        match self {
            DocFormat::Pdf => "pdf",
            DocFormat::Docx => "docx",
            DocFormat::Odt => "odt",
            DocFormat::Rtf => "rtf",
            DocFormat::Text => "text",
            DocFormat::Html => "html",
        }
    }

    /// Whether [`read`] hands this format to the [`AttachmentReader`]. Plain text and HTML are
    /// read by our own bounded code in the caller's process; every other format goes to the
    /// reader (out of process in the daemon).
    pub fn needs_reader(self) -> bool {
        !matches!(self, DocFormat::Text | DocFormat::Html)
    }
}

impl fmt::Display for DocFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DocFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<DocFormat, String> {
        DocFormat::ALL
            .into_iter()
            .find(|f| f.id() == s)
            .ok_or_else(|| {
                let ids: Vec<&str> = DocFormat::ALL.iter().map(|f| f.id()).collect();
                format!("unknown format {s:?} (one of {})", ids.join(", "))
            })
    }
}

/// Why the text of an attachment could not be read. Each variant names the reason so the
/// message's warning tells an officer what to look at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    /// The attachment is bigger than [`MAX_INPUT_BYTES`].
    #[error(
        "{format} attachment of {size} bytes is over the {limit}-byte limit for text extraction"
    )]
    TooLarge {
        /// Detected format.
        format: DocFormat,
        /// Attachment size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The ZIP container of a DOCX/ODT could not be opened or read.
    #[error("{format} container unreadable: {reason}")]
    Archive {
        /// Detected format.
        format: DocFormat,
        /// The ZIP library's explanation.
        reason: String,
    },
    /// The ZIP container lacks the entry that holds the text.
    #[error("{format} container has no {entry}")]
    MissingEntry {
        /// Detected format.
        format: DocFormat,
        /// The entry looked for (`word/document.xml`, `content.xml`).
        entry: &'static str,
    },
    /// The text entry inflates past [`MAX_XML_BYTES`]: a zip bomb or a document we will not read.
    #[error("{format} entry {entry} inflates past {limit} bytes (possible zip bomb)")]
    Decompression {
        /// Detected format.
        format: DocFormat,
        /// The entry being read.
        entry: &'static str,
        /// The limit in bytes.
        limit: u64,
    },
    /// The XML inside a DOCX/ODT is malformed.
    #[error("{format} XML malformed near byte {position}: {reason}")]
    Xml {
        /// Detected format.
        format: DocFormat,
        /// Byte offset in the XML where reading stopped.
        position: u64,
        /// The XML library's explanation.
        reason: String,
    },
    /// The PDF library rejected the document (corrupt, encrypted, unsupported).
    #[error("PDF unreadable: {reason}")]
    Pdf {
        /// The PDF library's explanation.
        reason: String,
    },
    /// The extraction library panicked; the panic was caught.
    #[error("{format} extractor panicked: {message}")]
    Panicked {
        /// Detected format.
        format: DocFormat,
        /// The panic payload, when it was a string.
        message: String,
    },
    /// A reader that runs elsewhere (a child process) gave no text: the decoder refused the
    /// document, crashed, was stopped at a limit, or answered with something that is not text.
    #[error("{reason}")]
    NotReadable {
        /// Detected format.
        format: DocFormat,
        /// What happened, in words for an officer (the reader's own error when it gave one).
        reason: String,
    },
}

/// Text read from an attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// The format it was read as.
    pub format: DocFormat,
    /// The text, tidied (LF line ends, no trailing spaces, at most one blank line in a row) and
    /// at most [`MAX_TEXT_BYTES`] long. Empty for a PDF with no text layer (a scan).
    pub text: String,
    /// The document held more text than [`MAX_TEXT_BYTES`] and `text` was cut.
    pub truncated: bool,
}

/// Reads the text of a document whose format [`DocFormat::needs_reader`]: the one seam between
/// parsing and the decoders of untrusted formats.
///
/// Parsing takes one so the caller decides where those decoders run: the daemon and the command
/// line use a child process with limits (`io::sandbox`), the child itself and pure tests use
/// [`InProcess`]. `Send + Sync` because the daemon parses on blocking worker threads.
pub trait AttachmentReader: Send + Sync {
    /// The document's text. It need not be tidied or capped ([`read`] does both), but a reader
    /// that runs elsewhere sends at most [`MAX_READER_TEXT_BYTES`].
    ///
    /// # Errors
    /// [`ExtractError`] naming why there is no text; a reader that runs elsewhere reports a
    /// crash, a limit or garbage as [`ExtractError::NotReadable`].
    fn read(&self, format: DocFormat, data: &[u8]) -> Result<String, ExtractError>;
}

/// The decoders run in the calling process, with nothing to stop them but their own checks.
///
/// For the decoder child (which is the sandbox) and for tests on known, benign documents; never
/// for mail from outside in the daemon, since a hostile document can abort or exhaust the process.
#[derive(Debug, Clone, Copy, Default)]
pub struct InProcess;

impl AttachmentReader for InProcess {
    fn read(&self, format: DocFormat, data: &[u8]) -> Result<String, ExtractError> {
        let raw = match format {
            DocFormat::Pdf => pdf_text(data)?,
            DocFormat::Docx | DocFormat::Odt => office_text(format, data)?,
            DocFormat::Rtf => rtf_to_text(data),
            DocFormat::Text => decode_text(data),
            DocFormat::Html => html_to_text(&decode_text(data)),
        };
        Ok(tidy(&raw, MAX_READER_TEXT_BYTES).0)
    }
}

/// Reads no document. For callers that need only a message's headers and body (the Sent-folder
/// watcher, routing a stored request again): attachments then start no decoder and cost
/// nothing, and each document is a "not readable" warning these callers do not show.
#[derive(Debug, Clone, Copy, Default)]
pub struct SkipDocuments;

impl AttachmentReader for SkipDocuments {
    fn read(&self, format: DocFormat, _: &[u8]) -> Result<String, ExtractError> {
        Err(ExtractError::NotReadable {
            format,
            reason: "documents are not read here".to_owned(),
        })
    }
}

/// Reads the text of one attachment: [`detect`], then [`read`]. `Ok(None)` means "not a type we
/// read" (images, spreadsheets, old `.doc`…).
///
/// # Errors
/// As [`read`].
pub fn extract(
    mime_type: &str,
    file_name: Option<&str>,
    data: &[u8],
    reader: &dyn AttachmentReader,
) -> Result<Option<Extracted>, ExtractError> {
    match detect(mime_type, file_name, data) {
        Some(format) => read(format, data, reader).map(Some),
        None => Ok(None),
    }
}

/// Reads the text of an attachment already known to be `format`, bounded in size: plain text
/// and HTML here, every other format through `reader`. The result is tidied and cut to
/// [`MAX_TEXT_BYTES`] whatever the reader returned.
///
/// # Errors
/// [`ExtractError`] names the reason: too large, or whatever the reader reports (unreadable
/// container or XML, zip bomb, corrupt PDF, a caught panic, a crash or limit out of process).
pub fn read(
    format: DocFormat,
    data: &[u8],
    reader: &dyn AttachmentReader,
) -> Result<Extracted, ExtractError> {
    if data.len() > MAX_INPUT_BYTES {
        return Err(ExtractError::TooLarge {
            format,
            size: data.len(),
            limit: MAX_INPUT_BYTES,
        });
    }
    let raw = if format.needs_reader() {
        reader.read(format, data)?
    } else {
        InProcess.read(format, data)?
    };
    let (text, truncated) = tidy(&raw, MAX_TEXT_BYTES);
    Ok(Extracted {
        format,
        text,
        truncated,
    })
}

/// ZIP local-file-header signature: DOCX and ODT are ZIP containers.
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
/// PDF files start with `%PDF-`; readers accept it within the first KiB (PDF 1.7 Annex H.3).
const PDF_MAGIC: &[u8] = b"%PDF-";
/// How far into the file we look for [`PDF_MAGIC`] (bytes).
const PDF_MAGIC_WINDOW: usize = 1024;
/// RTF files start with `{\rtf`.
const RTF_MAGIC: &[u8] = b"{\\rtf";
/// The `mimetype` entry of an ODT, name then content: ODF stores it uncompressed (ODF 1.2 part 3,
/// 3.3), so these bytes appear as they are in the file.
const ODT_MIMETYPE_ENTRY: &[u8] = b"mimetypeapplication/vnd.oasis.opendocument.text";

/// Decides which format (if any) to read an attachment as.
///
/// Content wins over labels: the magic bytes are checked first (`%PDF-`, `{\rtf`, a ZIP holding
/// `word/document.xml` or an ODT `mimetype`), because mail clients often label letters
/// `application/octet-stream` or even the wrong type. Then the declared MIME type, then the file
/// name's extension. A ZIP that is neither DOCX nor ODT (or is broken) is judged by its label,
/// so a truncated `.docx` gives an error rather than silence.
pub fn detect(mime_type: &str, file_name: Option<&str>, data: &[u8]) -> Option<DocFormat> {
    let head = &data[..data.len().min(PDF_MAGIC_WINDOW)];
    if head.windows(PDF_MAGIC.len()).any(|w| w == PDF_MAGIC) {
        return Some(DocFormat::Pdf);
    }
    if data.starts_with(RTF_MAGIC) {
        return Some(DocFormat::Rtf);
    }
    if data.starts_with(ZIP_MAGIC)
        && let Some(kind) = zip_kind(data)
    {
        return Some(kind);
    }
    let mime = mime_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let by_mime = match mime.as_str() {
        "application/pdf" | "application/x-pdf" | "application/acrobat" => Some(DocFormat::Pdf),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => {
            Some(DocFormat::Docx)
        }
        "application/vnd.oasis.opendocument.text" => Some(DocFormat::Odt),
        "application/rtf" | "application/x-rtf" | "text/rtf" | "text/richtext" => {
            Some(DocFormat::Rtf)
        }
        "text/plain" => Some(DocFormat::Text),
        "text/html" => Some(DocFormat::Html),
        _ => None,
    };
    // A PDF/DOCX/ODT label on bytes that lack the magic is a broken or mislabelled file: handing
    // it to the library still gives a useful error, so keep the label's verdict.
    if by_mime.is_some() {
        return by_mime;
    }
    let ext = file_name
        .and_then(|n| n.trim().rsplit_once('.'))
        .map(|(_, e)| e.trim().to_ascii_lowercase())?;
    match ext.as_str() {
        "pdf" => Some(DocFormat::Pdf),
        "docx" => Some(DocFormat::Docx),
        "odt" => Some(DocFormat::Odt),
        "rtf" => Some(DocFormat::Rtf),
        "txt" | "text" => Some(DocFormat::Text),
        "htm" | "html" => Some(DocFormat::Html),
        _ => None,
    }
}

/// DOCX or ODT, judged from the bytes; `None` for any other ZIP.
///
/// No ZIP parsing here: file names are stored uncompressed in every local header and again in
/// the central directory, and ODF stores its `mimetype` entry uncompressed right after its name
/// (ODF 1.2 part 3, 3.3), so a byte search tells the kinds apart. Unpacking a hostile container
/// is the decoder's job, behind the [`AttachmentReader`].
fn zip_kind(data: &[u8]) -> Option<DocFormat> {
    let names = aho_corasick::AhoCorasick::new([ODT_MIMETYPE_ENTRY, DOCX_ENTRY.as_bytes()]).ok()?;
    let mut docx = false;
    for m in names.find_iter(data) {
        if m.pattern().as_usize() == 0 {
            return Some(DocFormat::Odt);
        }
        docx = true;
    }
    docx.then_some(DocFormat::Docx)
}

/// Where a DOCX keeps the main text (ECMA-376 part 1, 11.3.10).
const DOCX_ENTRY: &str = "word/document.xml";
/// Where an ODT keeps the text (ODF 1.2 part 3, 3.1).
const ODT_ENTRY: &str = "content.xml";

/// Text of a DOCX or ODT: opens the ZIP, reads the one XML entry (capped), walks its elements.
fn office_text(format: DocFormat, data: &[u8]) -> Result<String, ExtractError> {
    let entry = if format == DocFormat::Docx {
        DOCX_ENTRY
    } else {
        ODT_ENTRY
    };
    let mut archive =
        zip::ZipArchive::new(Cursor::new(data)).map_err(|e| ExtractError::Archive {
            format,
            reason: e.to_string(),
        })?;
    let file = archive.by_name(entry).map_err(|e| match e {
        zip::result::ZipError::FileNotFound => ExtractError::MissingEntry { format, entry },
        other => ExtractError::Archive {
            format,
            reason: other.to_string(),
        },
    })?;
    let bomb = ExtractError::Decompression {
        format,
        entry,
        limit: MAX_XML_BYTES,
    };
    // The declared size can lie, so it is only an early exit; `take` is the real guard.
    if file.size() > MAX_XML_BYTES {
        return Err(bomb);
    }
    let mut xml = Vec::new();
    file.take(MAX_XML_BYTES + 1)
        .read_to_end(&mut xml)
        .map_err(|e| ExtractError::Archive {
            format,
            reason: e.to_string(),
        })?;
    if xml.len() as u64 > MAX_XML_BYTES {
        return Err(bomb);
    }
    let xml = String::from_utf8(xml)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    xml_text(format, &xml)
}

/// Walks DOCX (`w:`) or ODT (`text:`) XML and returns its text with paragraphs on their own lines.
///
/// DOCX: text lives in `w:t` runs; `w:p` ends a paragraph; `w:tab`, `w:br`/`w:cr` are a tab and a
/// line break. ODT: text lives inside `text:p`/`text:h`; `text:s` is `text:c` spaces, `text:tab`
/// a tab, `text:line-break` a break. Stops reading once the output passes [`MAX_TEXT_BYTES`].
fn xml_text(format: DocFormat, xml: &str) -> Result<String, ExtractError> {
    let mut reader = Reader::from_str(xml);
    let mut w = XmlText {
        docx: format == DocFormat::Docx,
        out: String::new(),
        in_run: false,
        in_r: false,
        para_depth: 0,
    };
    while w.out.len() <= MAX_TEXT_BYTES {
        let event = reader.read_event().map_err(|e| ExtractError::Xml {
            format,
            position: reader.error_position(),
            reason: e.to_string(),
        })?;
        let collecting = w.collecting();
        match event {
            Event::Start(e) => w.tag(Tag::Start, e.name().as_ref(), 0),
            Event::Empty(e) => {
                // ODT `text:s` stands for `text:c` spaces (1 when absent; bounded).
                let spaces = e
                    .try_get_attribute("text:c")
                    .ok()
                    .flatten()
                    .and_then(|a| a.value.trim().parse::<usize>().ok())
                    .unwrap_or(1)
                    .clamp(1, 64);
                w.tag(Tag::Empty, e.name().as_ref(), spaces);
            }
            Event::End(e) => w.tag(Tag::End, e.name().as_ref(), 0),
            Event::Text(t) if collecting => w.out.push_str(&t.xml10_content()),
            Event::CData(t) if collecting => w.out.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if collecting => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    w.out.push(c);
                } else {
                    let c = match &*r.into_inner() {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        _ => '\u{FFFD}',
                    };
                    w.out.push(c);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(w.out)
}

/// Which side of an element an XML event is.
#[derive(Clone, Copy)]
enum Tag {
    Start,
    Empty,
    End,
}

/// The text gathered from DOCX or ODT XML, and where in the document the walk is.
struct XmlText {
    docx: bool,
    out: String,
    /// DOCX: inside a `w:t` run.
    in_run: bool,
    /// DOCX: inside a `w:r` run container (where `w:tab`/`w:br` are characters).
    in_r: bool,
    /// ODT: depth of `text:p`/`text:h` we are in.
    para_depth: usize,
}

impl XmlText {
    fn collecting(&self) -> bool {
        if self.docx {
            self.in_run
        } else {
            self.para_depth > 0
        }
    }

    /// What an element means for the text; `spaces` is an ODT `text:s` count.
    fn tag(&mut self, tag: Tag, name: &str, spaces: usize) {
        let collecting = self.collecting();
        let opens = matches!(tag, Tag::Start | Tag::Empty);
        match (self.docx, tag, name) {
            (true, Tag::Start, "w:r") => self.in_r = true,
            (true, Tag::Start, "w:t") => self.in_run = true,
            (true, Tag::End, "w:r") => self.in_r = false,
            (true, Tag::End, "w:t") => self.in_run = false,
            // Outside a run `w:tab` is a tab-stop definition, not a tab.
            (true, _, "w:tab") if opens && self.in_r => self.out.push('\t'),
            (true, _, "w:br" | "w:cr") if opens && self.in_r => self.out.push('\n'),
            (true, Tag::Empty | Tag::End, "w:p") => self.out.push('\n'),
            (false, Tag::Start, "text:p" | "text:h") => self.para_depth += 1,
            (false, Tag::End, "text:p" | "text:h") => {
                self.para_depth = self.para_depth.saturating_sub(1);
                self.out.push('\n');
            }
            (false, Tag::Empty, "text:p" | "text:h") => self.out.push('\n'),
            (false, Tag::Empty, "text:s") if collecting => {
                self.out.extend(std::iter::repeat_n(' ', spaces));
            }
            (false, _, "text:tab") if opens && collecting => self.out.push('\t'),
            (false, _, "text:line-break") if opens && collecting => self.out.push('\n'),
            _ => {}
        }
    }
}

/// PDF text via `pdf-extract`. Nothing here stops a document that makes the library recurse or
/// allocate without end: that is why the daemon runs this in a child process with limits (see
/// the module docs).
fn pdf_text(data: &[u8]) -> Result<String, ExtractError> {
    caught(DocFormat::Pdf, || {
        pdf_extract::extract_text_from_mem(data).map_err(|e| ExtractError::Pdf {
            reason: e.to_string(),
        })
    })
}

/// Runs a decoder, turning a panic into [`ExtractError::Panicked`] so a library's bug costs one
/// attachment, not the caller.
fn caught(
    format: DocFormat,
    decode: impl FnOnce() -> Result<String, ExtractError>,
) -> Result<String, ExtractError> {
    catch_unwind(AssertUnwindSafe(decode)).unwrap_or_else(|payload| {
        Err(ExtractError::Panicked {
            format,
            message: panic_message(payload.as_ref()),
        })
    })
}

/// The text of a panic payload (`panic!("…")` gives `&str` or `String`).
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

/// Windows-1252 code points for bytes 0x80–0x9F (the rest of the range is ISO-8859-1). Bytes
/// Windows leaves undefined map to the C1 control of the same value.
const CP1252_HIGH: [char; 32] = [
    '\u{20AC}', '\u{81}', '\u{201A}', '\u{192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{2C6}', '\u{2030}', '\u{160}', '\u{2039}', '\u{152}', '\u{8D}', '\u{17D}', '\u{8F}',
    '\u{90}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{2DC}', '\u{2122}', '\u{161}', '\u{203A}', '\u{153}', '\u{9D}', '\u{17E}', '\u{178}',
];

/// One Windows-1252 byte as a char.
pub(crate) fn cp1252_char(b: u8) -> char {
    match b {
        0x80..=0x9F => CP1252_HIGH[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

/// Bytes of a text attachment as a string: UTF-8 (BOM dropped), UTF-16 with a BOM, else
/// Windows-1252 — the usual charset of an unlabelled text file written on Windows in the UK.
fn decode_text(data: &[u8]) -> String {
    if let Some(rest) = data.strip_prefix(b"\xEF\xBB\xBF") {
        return String::from_utf8_lossy(rest).into_owned();
    }
    if let Some(rest) = data.strip_prefix(b"\xFF\xFE") {
        return utf16(rest, u16::from_le_bytes);
    }
    if let Some(rest) = data.strip_prefix(b"\xFE\xFF") {
        return utf16(rest, u16::from_be_bytes);
    }
    match std::str::from_utf8(data) {
        Ok(s) => s.to_owned(),
        Err(_) => data.iter().map(|&b| cp1252_char(b)).collect(),
    }
}

/// UTF-16 bytes (odd trailing byte ignored) as a string, bad surrogates replaced.
fn utf16(data: &[u8], word: fn([u8; 2]) -> u16) -> String {
    let units = data.chunks_exact(2).map(|c| word([c[0], c[1]]));
    char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

/// RTF destinations whose content is not document text (fonts, styles, metadata, pictures…).
const RTF_SKIP_DESTINATIONS: &[&str] = &[
    "fonttbl",
    "colortbl",
    "stylesheet",
    "info",
    "pict",
    "object",
    "header",
    "headerl",
    "headerr",
    "headerf",
    "footer",
    "footerl",
    "footerr",
    "footerf",
    "themedata",
    "colorschememapping",
    "datastore",
    "latentstyles",
    "listtable",
    "listoverridetable",
    "rsidtbl",
    "generator",
    "xmlnstbl",
    "mmathPr",
    "filetbl",
    "revtbl",
    "fldinst",
];

/// Deepest RTF group nesting we track; deeper groups are treated as skipped (bounds memory).
const RTF_MAX_DEPTH: usize = 256;

/// Plain text of an RTF document: drops control words and non-text destinations, turns `\par`
/// and `\line` into line breaks, decodes `\'hh` (Windows-1252) and `\uN` escapes.
///
/// Not a full RTF reader (no tables layout, no code pages other than 1252), but enough for a
/// letter typed in WordPad or saved as RTF by Word.
pub(crate) fn rtf_to_text(data: &[u8]) -> String {
    let mut r = RtfReader {
        data,
        i: 0,
        stack: Vec::new(),
        cur: RtfGroup { skip: false, uc: 1 },
        out: String::new(),
        pending: 0,
    };
    while r.i < data.len() {
        if r.out.len() > MAX_TEXT_BYTES {
            break;
        }
        match data[r.i] {
            b'{' => r.open_group(),
            b'}' => r.close_group(),
            b'\\' => r.control(),
            b'\r' | b'\n' => r.i += 1,
            _ => r.text_run(),
        }
    }
    r.out
}

/// The state of an RTF group that its nested groups inherit and `}` restores.
#[derive(Clone, Copy)]
struct RtfGroup {
    /// Inside a destination that is not document text.
    skip: bool,
    /// Fallback characters that follow each `\uN` (`\ucN`).
    uc: usize,
}

/// A single pass over the RTF bytes.
struct RtfReader<'a> {
    data: &'a [u8],
    i: usize,
    stack: Vec<RtfGroup>,
    cur: RtfGroup,
    out: String,
    /// Fallback characters still to drop after a `\uN` escape.
    pending: usize,
}

impl<'a> RtfReader<'a> {
    fn open_group(&mut self) {
        self.stack.push(self.cur);
        if self.stack.len() > RTF_MAX_DEPTH {
            // Swallow the over-deep group's text rather than grow without bound.
            self.cur.skip = true;
        }
        self.pending = 0;
        self.i += 1;
    }

    fn close_group(&mut self) {
        self.cur = self.stack.pop().unwrap_or(RtfGroup { skip: false, uc: 1 });
        self.pending = 0;
        self.i += 1;
    }

    /// A backslash: a control word (`\par`, `\u8364`) or a control symbol (`\'e9`, `\~`).
    fn control(&mut self) {
        self.i += 1;
        let Some(&c) = self.data.get(self.i) else {
            return;
        };
        if c.is_ascii_alphabetic() {
            let (word, param) = self.control_word();
            if RTF_SKIP_DESTINATIONS.contains(&word) {
                self.cur.skip = true;
            } else if !self.cur.skip {
                self.apply_word(word, param);
            }
        } else {
            self.i += 1;
            self.control_symbol(c);
        }
    }

    /// Reads a control word, its optional numeric parameter and the space that ends it. The
    /// lengths are capped so a hostile file cannot make one word arbitrarily long.
    fn control_word(&mut self) -> (&'a str, Option<i64>) {
        let data: &'a [u8] = self.data;
        let start = self.i;
        while self.i < data.len() && data[self.i].is_ascii_alphabetic() && self.i - start < 32 {
            self.i += 1;
        }
        let word = std::str::from_utf8(&data[start..self.i]).unwrap_or_default();
        let num_start = self.i;
        if data.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        while self.i < data.len() && data[self.i].is_ascii_digit() && self.i - num_start < 12 {
            self.i += 1;
        }
        let param = std::str::from_utf8(&data[num_start..self.i])
            .ok()
            .and_then(|s| s.parse::<i64>().ok());
        if data.get(self.i) == Some(&b' ') {
            self.i += 1;
        }
        (word, param)
    }

    fn apply_word(&mut self, word: &str, param: Option<i64>) {
        let out = &mut self.out;
        match word {
            "par" | "line" | "sect" | "page" | "row" => out.push('\n'),
            "tab" | "cell" => out.push('\t'),
            "emdash" => out.push('\u{2014}'),
            "endash" => out.push('\u{2013}'),
            "bullet" => out.push('\u{2022}'),
            "lquote" => out.push('\u{2018}'),
            "rquote" => out.push('\u{2019}'),
            "ldblquote" => out.push('\u{201C}'),
            "rdblquote" => out.push('\u{201D}'),
            "uc" => self.cur.uc = param.unwrap_or(1).clamp(0, 8) as usize,
            "u" => {
                if let Some(n) = param {
                    // RTF writes code points above 32767 as negative 16-bit numbers.
                    let n = if n < 0 { n + 65536 } else { n };
                    let c = u32::try_from(n)
                        .ok()
                        .and_then(char::from_u32)
                        .unwrap_or(char::REPLACEMENT_CHARACTER);
                    out.push(c);
                    self.pending = self.cur.uc;
                }
            }
            _ => {}
        }
    }

    fn control_symbol(&mut self, c: u8) {
        let skip = self.cur.skip;
        match c {
            b'*' => self.cur.skip = true,
            b'\'' => {
                let data = self.data;
                let hex = data
                    .get(self.i..self.i + 2)
                    .and_then(|h| std::str::from_utf8(h).ok());
                let byte = hex.and_then(|h| u8::from_str_radix(h, 16).ok());
                self.i += 2;
                if let Some(byte) = byte
                    && !skip
                {
                    if self.pending > 0 {
                        self.pending -= 1;
                    } else {
                        self.out.push(cp1252_char(byte));
                    }
                }
            }
            b'\r' | b'\n' if !skip => self.out.push('\n'),
            b'~' if !skip => self.out.push(' '),
            b'_' if !skip => self.out.push('-'),
            b'\\' | b'{' | b'}' if !skip => self.out.push(char::from(c)),
            _ => {}
        }
    }

    /// Plain text: the whole run up to the next special byte, less any `\uN` fallback.
    fn text_run(&mut self) {
        let data = self.data;
        let start = self.i;
        while self.i < data.len() && !matches!(data[self.i], b'{' | b'}' | b'\\' | b'\r' | b'\n') {
            self.i += 1;
        }
        if self.cur.skip {
            return;
        }
        let mut run = &data[start..self.i];
        while self.pending > 0 && !run.is_empty() {
            run = &run[1..];
            self.pending -= 1;
        }
        match std::str::from_utf8(run) {
            Ok(s) => self.out.push_str(s),
            Err(_) => self.out.extend(run.iter().map(|&b| cp1252_char(b))),
        }
    }
}

/// Elements whose start or end begins a new line in readable text.
const HTML_BLOCK_TAGS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "dd",
    "div",
    "dl",
    "dt",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "tr",
    "ul",
];

/// Block elements that separate paragraphs: a blank line around them, not just a line break.
const HTML_PARAGRAPH_TAGS: &[&str] = &[
    "blockquote",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "ol",
    "p",
    "pre",
    "table",
    "ul",
];

/// Readable text from HTML: scripts, styles and the head dropped, entities decoded, block
/// elements (`div`, `p`, `li`, `tr`, headings…) on their own lines, table cells separated.
///
/// Built on mail-parser's `html_to_text`, which only breaks lines at `<br>` and `</p>`: Gmail and
/// Outlook write one `<div>` per line, so without the block rewrite below
/// `Dear Sir,</div><div>I would like` would run together as "Dear Sir,I would like".
pub fn html_to_text(html: &str) -> String {
    let prepared = break_blocks(html);
    let text = mail_parser::decoders::html::html_to_text(&prepared);
    tidy(&text, usize::MAX).0
}

/// Elements whose content is never shown: dropped with everything inside them.
const HTML_HIDDEN_TAGS: &[&str] = &["head", "script", "style", "template", "title", "xml"];

/// Prepares HTML for mail-parser's converter, which only knows bare `<br>`, `</p>` and
/// attribute-less `<script>`/`<style>`/`<head>` (so `<style type="text/css">`, as Outlook writes
/// it, would leak CSS into the text):
/// - hidden elements ([`HTML_HIDDEN_TAGS`]) are removed with their content, whatever their
///   attributes;
/// - `<br …>` becomes `<br>`;
/// - block-level tags become one `<br>` (two after a paragraph) before the next visible text, so
///   nested or adjacent blocks give one line break, not a stack of blank lines;
/// - table cells become a space.
///
/// Everything else (comments, inline tags, entities) is left for the converter.
fn break_blocks(html: &str) -> String {
    let bytes = html.as_bytes();
    let mut out = String::with_capacity(html.len() + html.len() / 16);
    let mut copied = 0usize;
    // Line breaks owed before the next visible text: 1 after a block, 2 after a paragraph.
    let mut pending_breaks = 0u8;
    let mut i = 0usize;
    while let Some(off) = bytes[i..].iter().position(|&b| b == b'<') {
        let lt = i + off;
        // Comments are copied verbatim: the converter skips them.
        if bytes[lt..].starts_with(b"<!--") {
            match html[lt + 4..].find("-->") {
                Some(end) => {
                    i = lt + 4 + end + 3;
                    continue;
                }
                None => break,
            }
        }
        let Some(gt_off) = bytes[lt..].iter().position(|&b| b == b'>') else {
            break;
        };
        let gt = lt + gt_off;
        let raw_inner = &html[lt + 1..gt];
        let closing = raw_inner.starts_with('/');
        let inner = raw_inner.trim_start_matches('/');
        let name_len = inner
            .bytes()
            .position(|b| !b.is_ascii_alphanumeric())
            .unwrap_or(inner.len());
        let name = &inner[..name_len];
        let is = |list: &[&str]| list.iter().any(|t| t.eq_ignore_ascii_case(name));
        if is(HTML_HIDDEN_TAGS) {
            push_segment(&mut out, &html[copied..lt], &mut pending_breaks);
            // Skip to the end of the matching close tag; a stray close tag is just dropped.
            let after = if closing {
                gt + 1
            } else {
                let close = format!("</{name}");
                match find_ignore_case(&bytes[gt + 1..], close.as_bytes()) {
                    Some(pos) => {
                        let close_start = gt + 1 + pos;
                        bytes[close_start..]
                            .iter()
                            .position(|&b| b == b'>')
                            .map_or(bytes.len(), |p| close_start + p + 1)
                    }
                    None => bytes.len(),
                }
            };
            copied = after;
            i = after;
            continue;
        }
        let is_br = name.eq_ignore_ascii_case("br");
        let is_block = is(HTML_BLOCK_TAGS);
        let is_cell = name.eq_ignore_ascii_case("td") || name.eq_ignore_ascii_case("th");
        if is_br || is_block || is_cell {
            push_segment(&mut out, &html[copied..lt], &mut pending_breaks);
            if is_br {
                out.push_str("<br>");
            } else if is_block {
                let strength = if is(HTML_PARAGRAPH_TAGS) { 2 } else { 1 };
                pending_breaks = pending_breaks.max(strength);
            } else {
                out.push(' ');
            }
            copied = gt + 1;
        }
        i = gt + 1;
    }
    push_segment(&mut out, &html[copied..], &mut pending_breaks);
    out
}

/// Appends an HTML segment, first paying the line breaks owed if it has visible text.
fn push_segment(out: &mut String, segment: &str, pending_breaks: &mut u8) {
    if *pending_breaks > 0 && has_visible_text(segment) {
        for _ in 0..*pending_breaks {
            out.push_str("<br>");
        }
        *pending_breaks = 0;
    }
    out.push_str(segment);
}

/// Position of `needle` in `hay`, ASCII case-insensitive.
fn find_ignore_case(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// Whether an HTML fragment has any non-space character outside tags.
fn has_visible_text(fragment: &str) -> bool {
    let mut in_tag = false;
    for b in fragment.bytes() {
        match b {
            b'<' => in_tag = true,
            b'>' => in_tag = false,
            _ if !in_tag && !b.is_ascii_whitespace() => return true,
            _ => {}
        }
    }
    false
}

/// Normalises extracted text and cuts it to `max_bytes` on a character boundary.
///
/// CRLF/CR become LF, non-breaking spaces plain spaces, control characters other than tab and
/// newline are dropped, trailing spaces are trimmed from each line, runs of blank lines become one
/// and leading/trailing blank lines go. Returns the text and whether it was cut.
pub(crate) fn tidy(raw: &str, max_bytes: usize) -> (String, bool) {
    let mut out = String::with_capacity(raw.len().min(max_bytes.saturating_add(4)));
    let mut blank_run = 0usize;
    let mut truncated = false;
    let normalised = raw.replace("\r\n", "\n");
    for line in normalised.split(['\n', '\r']) {
        let clean: String = line
            .chars()
            .map(|c| if c == '\u{A0}' { ' ' } else { c })
            .filter(|&c| c == '\t' || !c.is_control())
            .collect();
        let clean = clean.trim_end();
        if clean.is_empty() {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
            if blank_run > 0 {
                out.push('\n');
            }
        }
        blank_run = 0;
        if out.len() + clean.len() > max_bytes {
            let room = max_bytes.saturating_sub(out.len());
            out.push_str(prefix(clean, room));
            truncated = true;
            break;
        }
        out.push_str(clean);
    }
    (out, truncated)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn fixture(name: &str) -> Vec<u8> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/parse")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
    }

    /// [`super::extract`] with the decoders in this process: the fixtures are known documents.
    fn extract(
        mime_type: &str,
        file_name: Option<&str>,
        data: &[u8],
    ) -> Result<Option<Extracted>, ExtractError> {
        super::extract(mime_type, file_name, data, &InProcess)
    }

    /// The text alone, for tests that do not care whether it was cut.
    fn attachment_text(
        mime_type: &str,
        file_name: Option<&str>,
        data: &[u8],
    ) -> Result<Option<String>, ExtractError> {
        extract(mime_type, file_name, data).map(|o| o.map(|e| e.text))
    }

    #[test]
    fn detect_by_mime_extension_and_magic() {
        let pdf = fixture("letter.pdf");
        let docx = fixture("letter.docx");
        let odt = fixture("letter.odt");
        /// (declared MIME type, file name, bytes, expected format)
        type Case<'a> = (&'a str, Option<&'a str>, &'a [u8], Option<DocFormat>);
        let cases: &[Case<'_>] = &[
            ("application/pdf", None, b"", Some(DocFormat::Pdf)),
            ("Application/PDF; name=x", None, b"", Some(DocFormat::Pdf)),
            (
                "application/octet-stream",
                Some("Letter.PDF"),
                b"junk",
                Some(DocFormat::Pdf),
            ),
            ("application/octet-stream", None, &pdf, Some(DocFormat::Pdf)),
            ("image/jpeg", Some("scan.jpg"), &pdf, Some(DocFormat::Pdf)),
            (
                "application/octet-stream",
                Some("x.bin"),
                &docx,
                Some(DocFormat::Docx),
            ),
            ("application/zip", None, &docx, Some(DocFormat::Docx)),
            ("application/octet-stream", None, &odt, Some(DocFormat::Odt)),
            (
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                None,
                b"",
                Some(DocFormat::Docx),
            ),
            (
                "application/vnd.oasis.opendocument.text",
                None,
                b"",
                Some(DocFormat::Odt),
            ),
            (
                "application/octet-stream",
                Some("a.odt"),
                b"",
                Some(DocFormat::Odt),
            ),
            (
                "application/octet-stream",
                Some("a.docx "),
                b"",
                Some(DocFormat::Docx),
            ),
            ("text/rtf", None, b"", Some(DocFormat::Rtf)),
            (
                "application/msword",
                Some("x.doc"),
                b"{\\rtf1 hi}",
                Some(DocFormat::Rtf),
            ),
            ("text/plain", None, b"hello", Some(DocFormat::Text)),
            (
                "application/octet-stream",
                Some("notes.txt"),
                b"hello",
                Some(DocFormat::Text),
            ),
            ("text/html", None, b"<p>x</p>", Some(DocFormat::Html)),
            ("image/png", Some("logo.png"), b"\x89PNG", None),
            (
                "application/msword",
                Some("old.doc"),
                b"\xD0\xCF\x11\xE0",
                None,
            ),
            ("application/octet-stream", None, b"", None),
            ("application/octet-stream", Some("noext"), b"", None),
            ("application/zip", Some("a.zip"), b"PK\x03\x04garbage", None),
            // Told apart by the names inside, without unpacking: a DOCX anywhere in the file, an
            // ODT whose `mimetype` entry is not first, an ODF spreadsheet (not read).
            (
                "application/octet-stream",
                None,
                b"PK\x03\x04\x14\x00 [Content_Types].xml PK\x03\x04 word/document.xml",
                Some(DocFormat::Docx),
            ),
            (
                "application/zip",
                None,
                b"PK\x03\x04 content.xml PK\x03\x04 mimetypeapplication/vnd.oasis.opendocument.text",
                Some(DocFormat::Odt),
            ),
            (
                "application/octet-stream",
                Some("sheet"),
                b"PK\x03\x04mimetypeapplication/vnd.oasis.opendocument.spreadsheet",
                None,
            ),
            (
                "application/octet-stream",
                Some("cut.docx"),
                b"PK\x03\x04",
                Some(DocFormat::Docx),
            ),
            ("", None, b"", None),
        ];
        for (i, (mime, name, data, want)) in cases.iter().enumerate() {
            assert_eq!(
                detect(mime, *name, data),
                *want,
                "case {i}: {mime} {name:?}"
            );
        }
    }

    #[test]
    fn pdf_letter_text() {
        let text = attachment_text(
            "application/pdf",
            Some("letter.pdf"),
            &fixture("letter.pdf"),
        )
        .expect("pdf reads")
        .expect("pdf is a type we read");
        for want in [
            "Dear Sir or Madam,",
            "Freedom of Information Act 2000",
            "potholes repaired in Riverside Ward",
            "Jane Smith",
        ] {
            assert!(text.contains(want), "missing {want:?} in {text:?}");
        }
        assert!(!text.contains("\n\n\n"), "blank lines collapsed: {text:?}");
    }

    #[test]
    fn pdf_as_octet_stream_by_magic() {
        let got = extract("application/octet-stream", None, &fixture("letter.pdf"))
            .expect("reads")
            .expect("detected by magic");
        assert_eq!(got.format, DocFormat::Pdf);
        assert!(got.text.contains("Jane Smith"));
        assert!(!got.truncated);
    }

    #[test]
    fn docx_letter_text() {
        let text = attachment_text(
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Some("letter.docx"),
            &fixture("letter.docx"),
        )
        .expect("docx reads")
        .expect("docx is a type we read");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "Information Governance Team");
        assert_eq!(lines[1], "Dear Sir or Madam,");
        assert_eq!(
            lines[2],
            "Under the Freedom of Information Act 2000 please provide the number of potholes \
             repaired in Riverside Ward during 2025 & 2024 <all wards>."
        );
        assert_eq!(lines[3], "Ref:\tFOI-1");
        assert_eq!(lines[4..], ["Yours faithfully,", "Jane Smith"]);
    }

    #[test]
    fn odt_letter_text() {
        let text = attachment_text(
            "application/octet-stream",
            Some("x"),
            &fixture("letter.odt"),
        )
        .expect("odt reads")
        .expect("odt detected");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "Subject access request",
                "Dear Data Protection Officer,",
                "Please send me a copy of all personal data you hold about me & my son.",
                "Ref:\tSAR   end",
                "Yours sincerely,",
                "John Doe",
            ]
        );
    }

    #[test]
    fn rtf_letter_text() {
        let text = attachment_text("application/rtf", None, &fixture("letter.rtf"))
            .expect("rtf reads")
            .expect("rtf detected");
        assert_eq!(
            text,
            "Dear Sir,\nPlease provide the budget for 2025\u{2019}s parks \u{2014} caf\u{e9} \
             costs.\nYours faithfully,\nAnne Example"
        );
        assert!(!text.contains("Times New Roman"), "font table dropped");
        assert!(!text.contains("Riched20"), "ignorable destination dropped");
    }

    #[test]
    fn rtf_edge_cases() {
        let cases: &[(&[u8], &str)] = &[
            (b"{\\rtf1 a\\{b\\}c\\\\d}", "a{b}c\\d"),
            (b"{\\rtf1 \\uc2\\u26085 XXok}", "\u{65E5}ok"),
            (b"{\\rtf1 \\u-4064?x}", "\u{F020}x"),
            (b"{\\rtf1 {\\info {\\title secret}}visible}", "visible"),
            (b"{\\rtf1 unterminated \\", "unterminated"),
            (b"{\\rtf1 bad hex \\'zz end}", "bad hex  end"),
            (b"}}}{\\rtf1 x}", "x"),
            (b"{\\rtf1 \\pict 0123}after", "after"),
        ];
        for (input, want) in cases {
            let (got, _) = tidy(&rtf_to_text(input), MAX_TEXT_BYTES);
            assert_eq!(got, *want, "input {:?}", String::from_utf8_lossy(input));
        }
        // Deep nesting is bounded and does not panic.
        let deep: Vec<u8> = std::iter::repeat_n(b'{', 100_000).chain(*b"x").collect();
        assert!(rtf_to_text(&deep).len() <= 1);
    }

    #[test]
    fn text_charsets() {
        let cases: &[(&[u8], &str)] = &[
            (b"plain ascii", "plain ascii"),
            (
                "caf\u{e9} \u{2013} UTF-8".as_bytes(),
                "caf\u{e9} \u{2013} UTF-8",
            ),
            (b"\xEF\xBB\xBFwith BOM", "with BOM"),
            (
                b"caf\xe9 \x96 \x80 cp1252",
                "caf\u{e9} \u{2013} \u{20AC} cp1252",
            ),
            (b"\xFF\xFEh\x00i\x00", "hi"),
            (b"\xFE\xFF\x00h\x00i", "hi"),
            (
                b"line1\r\nline2\r\n\r\n\r\n\r\nline3   \n",
                "line1\nline2\n\nline3",
            ),
        ];
        for (input, want) in cases {
            let got = attachment_text("text/plain", None, input)
                .expect("ok")
                .expect("text");
            assert_eq!(got, *want);
        }
    }

    #[test]
    fn html_to_text_cases() {
        let cases: &[(&str, &str)] = &[
            (
                "<div>Dear Sir,</div><div>I would like</div>",
                "Dear Sir,\nI would like",
            ),
            ("<p>One</p><p>Two</p>", "One\n\nTwo"),
            (
                "<div><div><p>Deep</p></div></div><div>Next</div>",
                "Deep\n\nNext",
            ),
            ("<div>a</div>\n\n<div>\n</div><div>b</div>", "a\nb"),
            ("a<br>b<br/>c", "a\nb\nc"),
            (
                "<html><head><title>T</title><style>p{color:red}</style></head>\
                 <body><script>var x = '<div>';alert(1)</script>Hello</body></html>",
                "Hello",
            ),
            (
                "Fish &amp; chips &lt;3 &#163;5 &#x20AC;2 &nbsp;x",
                "Fish & chips <3 \u{a3}5 \u{20ac}2  x",
            ),
            ("<!-- <div>hidden</div> -->shown", "shown"),
            (
                "<style type=\"text/css\">p.MsoNormal { margin: 0 }</style>\
                 <SCRIPT language=js>bad()</SCRIPT><p class=MsoNormal>Outlook</p>",
                "Outlook",
            ),
            (
                "<head profile=x><meta charset=utf-8><title>T</title></head>Body",
                "Body",
            ),
            ("a<br class=x>b<BR/>c", "a\nb\nc"),
            ("<div>a</div><br><div>b</div>", "a\n\nb"),
            ("x</style>y", "xy"),
            ("<script>never closed <div>x</div>", ""),
            ("<xml><o:OfficeDocumentSettings/></xml>Hi", "Hi"),
            (
                "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>",
                "a b\nc",
            ),
            ("<ul><li>one</li><li>two</li></ul>", "one\ntwo"),
            ("x<ul><li>one</li></ul>y", "x\n\none\n\ny"),
            ("unclosed <b", "unclosed"),
            ("<", ""),
            ("", ""),
        ];
        for (html, want) in cases {
            assert_eq!(html_to_text(html), *want, "html {html:?}");
        }
        let got = attachment_text("text/html", None, b"<p>caf\xe9</p>").expect("ok");
        assert_eq!(got.as_deref(), Some("caf\u{e9}"));
    }

    #[test]
    fn output_is_capped() {
        let big = "word ".repeat(MAX_TEXT_BYTES / 2);
        let got = extract("text/plain", None, big.as_bytes())
            .expect("ok")
            .expect("text");
        assert!(got.truncated);
        assert!(got.text.len() <= MAX_TEXT_BYTES);
        // Multi-byte characters are cut on a boundary, never split.
        let euros = "\u{20AC}".repeat(MAX_TEXT_BYTES);
        let got = extract("text/plain", None, euros.as_bytes())
            .expect("ok")
            .expect("text");
        assert!(got.truncated && got.text.len() <= MAX_TEXT_BYTES);
        assert!(got.text.chars().all(|c| c == '\u{20AC}'));
    }

    #[test]
    fn oversize_input_is_refused_for_readable_types_only() {
        let big = vec![b'a'; MAX_INPUT_BYTES + 1];
        assert_eq!(
            extract("text/plain", None, &big),
            Err(ExtractError::TooLarge {
                format: DocFormat::Text,
                size: MAX_INPUT_BYTES + 1,
                limit: MAX_INPUT_BYTES
            })
        );
        assert!(matches!(
            extract("application/pdf", None, &big),
            Err(ExtractError::TooLarge {
                format: DocFormat::Pdf,
                ..
            })
        ));
        // An image of the same size is simply not a type we read.
        assert_eq!(extract("image/png", Some("a.png"), &big), Ok(None));
    }

    #[test]
    fn zip_bombs_are_refused() {
        let got = extract("application/octet-stream", None, &fixture("bomb.docx"));
        assert_eq!(
            got,
            Err(ExtractError::Decompression {
                format: DocFormat::Docx,
                entry: "word/document.xml",
                limit: MAX_XML_BYTES
            })
        );
        // Sizes patched to claim 1 KiB: either our `take` cap or the zip crate's own check that
        // an entry does not outgrow its declared size stops it; no text comes out.
        let got = extract(
            "application/octet-stream",
            None,
            &fixture("bomb-lying-size.docx"),
        );
        match got {
            Err(ExtractError::Decompression { .. }) => {}
            Err(ExtractError::Archive {
                format: DocFormat::Docx,
                reason,
            }) => {
                assert!(reason.contains("declared"), "{reason}");
            }
            other => panic!("lying bomb not refused: {other:?}"),
        }
    }

    #[test]
    fn broken_containers_give_errors() {
        let docx_mime = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
        assert!(matches!(
            extract(docx_mime, None, b"not a zip at all"),
            Err(ExtractError::Archive {
                format: DocFormat::Docx,
                ..
            })
        ));
        // A valid ODT given a DOCX label: the magic says ODT and it reads as ODT.
        let odt = fixture("letter.odt");
        assert_eq!(
            extract(docx_mime, None, &odt)
                .expect("ok")
                .map(|e| e.format),
            Some(DocFormat::Odt)
        );
        // Truncated DOCX: the ZIP directory at the end is gone.
        let docx = fixture("letter.docx");
        let cut = &docx[..docx.len() / 2];
        assert!(matches!(
            extract(docx_mime, None, cut),
            Err(ExtractError::Archive {
                format: DocFormat::Docx,
                ..
            })
        ));
        // ODT labelled file that is a ZIP without content.xml.
        let bomb = fixture("bomb.docx");
        assert!(matches!(
            extract("application/vnd.oasis.opendocument.text", None, &bomb),
            Ok(Some(Extracted {
                format: DocFormat::Docx,
                ..
            })) | Err(ExtractError::Decompression { .. })
        ));
    }

    #[test]
    fn malformed_xml_is_an_error() {
        let got = xml_text(
            DocFormat::Docx,
            "<w:document><w:p><w:t>hi</w:p></w:document>",
        );
        assert!(
            matches!(
                got,
                Err(ExtractError::Xml {
                    format: DocFormat::Docx,
                    ..
                })
            ),
            "{got:?}"
        );
        let got = xml_text(
            DocFormat::Odt,
            "<office:text><text:p>a &bogus; b</text:p></office:text>",
        );
        assert_eq!(
            got.map(|t| t.trim().to_owned()),
            Ok("a \u{FFFD} b".to_owned())
        );
    }

    #[test]
    fn corrupt_pdfs_give_errors_not_panics() {
        let pdf = fixture("letter.pdf");
        let inputs: Vec<Vec<u8>> = vec![
            b"%PDF-1.4\n".to_vec(),
            b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF"
                .to_vec(),
            pdf[..pdf.len() / 2].to_vec(),
            pdf.iter().map(|b| if *b == b'0' { b'9' } else { *b }).collect(),
            b"garbage labelled as pdf".to_vec(),
        ];
        for (i, input) in inputs.iter().enumerate() {
            let got = extract("application/pdf", Some("x.pdf"), input);
            match got {
                Err(ExtractError::Pdf { .. } | ExtractError::Panicked { .. }) => {}
                // A damaged PDF that still yields no letter text is acceptable; text from
                // nowhere is not.
                Ok(Some(e)) => assert!(!e.text.contains("Jane Smith") || i >= 2, "case {i}"),
                other => panic!("case {i}: unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn decoder_panics_are_caught_and_named() {
        let got = caught(DocFormat::Pdf, || panic!("lopdf exploded"));
        assert_eq!(
            got,
            Err(ExtractError::Panicked {
                format: DocFormat::Pdf,
                message: "lopdf exploded".to_owned()
            })
        );
        assert_eq!(
            caught(DocFormat::Rtf, || Ok("fine".to_owned())),
            Ok("fine".to_owned())
        );
    }

    /// A reader standing in for one out of process: records what it was asked, answers `reply`.
    struct Recording {
        asked: std::sync::Mutex<Vec<DocFormat>>,
        reply: Result<String, ExtractError>,
    }

    impl Recording {
        fn new(reply: Result<String, ExtractError>) -> Recording {
            Recording {
                asked: std::sync::Mutex::new(Vec::new()),
                reply,
            }
        }

        fn asked(&self) -> Vec<DocFormat> {
            self.asked.lock().expect("not poisoned").clone()
        }
    }

    impl AttachmentReader for Recording {
        fn read(&self, format: DocFormat, _: &[u8]) -> Result<String, ExtractError> {
            self.asked.lock().expect("not poisoned").push(format);
            self.reply.clone()
        }
    }

    #[test]
    fn only_untrusted_formats_reach_the_reader() {
        let reader = Recording::new(Ok("from the reader".to_owned()));
        for format in DocFormat::ALL {
            let got = read(format, b"<p>hello</p>", &reader).expect("reads");
            let want = match format {
                DocFormat::Text => "<p>hello</p>",
                DocFormat::Html => "hello",
                _ => "from the reader",
            };
            assert_eq!(got.text, want, "{format}");
        }
        assert_eq!(
            reader.asked(),
            [
                DocFormat::Pdf,
                DocFormat::Docx,
                DocFormat::Odt,
                DocFormat::Rtf
            ]
        );
        // Oversized input is refused before any reader sees it.
        let big = vec![b'a'; MAX_INPUT_BYTES + 1];
        assert!(matches!(
            read(DocFormat::Pdf, &big, &reader),
            Err(ExtractError::TooLarge { .. })
        ));
        assert_eq!(reader.asked().len(), 4);
    }

    #[test]
    fn what_a_reader_returns_is_tidied_capped_and_its_errors_pass_through() {
        // A reader that sends the cap and one character more: cut, and said so.
        let long = "a".repeat(MAX_READER_TEXT_BYTES);
        let got = read(DocFormat::Pdf, b"", &Recording::new(Ok(long))).expect("reads");
        assert!(got.truncated);
        assert_eq!(got.text.len(), MAX_TEXT_BYTES);
        // Exactly the cap: not cut.
        let exact = "b".repeat(MAX_TEXT_BYTES);
        let got = read(DocFormat::Pdf, b"", &Recording::new(Ok(exact))).expect("reads");
        assert!(!got.truncated);
        // Control characters and CRLF from a reader are cleaned like any text.
        let got = read(
            DocFormat::Docx,
            b"",
            &Recording::new(Ok("a\r\n\u{0}b\r\n\r\n\r\nc".to_owned())),
        )
        .expect("reads");
        assert_eq!(got.text, "a\nb\n\nc");
        let refused = ExtractError::NotReadable {
            format: DocFormat::Pdf,
            reason: "the decoder crashed".to_owned(),
        };
        let got = read(DocFormat::Pdf, b"", &Recording::new(Err(refused.clone())));
        assert_eq!(got, Err(refused));
    }

    #[test]
    fn in_process_output_fits_what_a_reader_may_send() {
        // 300 KiB of RTF text: the reader's answer is at most the cap plus one character, and
        // `read` then reports the cut.
        let rtf = format!("{{\\rtf1 {}}}", "\u{20AC}word ".repeat(40 * 1024));
        let raw = InProcess
            .read(DocFormat::Rtf, rtf.as_bytes())
            .expect("reads");
        assert!(raw.len() <= MAX_READER_TEXT_BYTES, "{}", raw.len());
        assert!(raw.len() > MAX_TEXT_BYTES);
        let got = read(DocFormat::Rtf, rtf.as_bytes(), &InProcess).expect("reads");
        assert!(got.truncated && got.text.len() <= MAX_TEXT_BYTES);
        // Many PDFs in a row, all read: nothing is left behind between calls.
        let pdf = fixture("letter.pdf");
        for _ in 0..12 {
            let got = extract("application/pdf", None, &pdf);
            assert!(matches!(got, Ok(Some(_))), "{got:?}");
        }
    }

    #[test]
    fn format_ids_round_trip() {
        for format in DocFormat::ALL {
            assert_eq!(format.id().parse::<DocFormat>(), Ok(format));
        }
        let err = "exe".parse::<DocFormat>().expect_err("unknown");
        assert!(err.contains("pdf, docx"), "{err}");
    }

    #[test]
    fn tidy_and_cut() {
        assert_eq!(
            tidy("\n\n a \r\n\r\n\r\nb\u{a0}c\u{0}\n\n", 100),
            (" a\n\nb c".to_owned(), false)
        );
        assert_eq!(tidy("abcdef", 3), ("abc".to_owned(), true));
    }
}
