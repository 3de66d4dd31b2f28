//! Proof of identity, and of authority to act for someone else, for a subject access request.
//!
//! UK GDPR Art 12(6) lets a controller ask for the information needed to confirm the requester's
//! identity when it has reasonable doubts, and the one-month clock starts when it arrives (ICO,
//! "Right of access"). The seeds require proof of identity for every SAR, and for a parent or carer
//! asking for a child's data, proof of parental responsibility (seed 001, B8/B9).
//!
//! Counted as proof provided:
//! - an attachment whose **name** suggests an identity document ("passport.jpg",
//!   "Driving_Licence.pdf", "council-tax-bill.pdf", "ID.png");
//! - an attachment whose **text** carries the marks of one (a passport's machine-readable zone,
//!   "HM Passport Office", "DVLA", "Council Tax Bill", a birth-certificate heading);
//! - a sentence saying such a document is enclosed ("I attach a copy of my passport", "Please find
//!   attached my driving licence"), unless negated or conditional ("I have not attached…",
//!   "I will attach…").
//!
//! This module cannot tell whether a document is genuine or whether the requester is already known
//! to the service (in which case ID may not be needed): both are for the officer, and the notes
//! say so. An image with a generic name (`IMG_1234.jpg`) is not counted but is pointed out.

use std::sync::LazyLock;

use regex::Regex;

use super::text::{MAX_ATTACHMENTS, Texts, quote, quoted_list};
use crate::model::message::Message;

/// Identity documents, as written in a sentence or (after `_`, `-`, `.` become spaces) a file name.
static ID_DOCUMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\bpassports?\b|\bdriv(?:ing|er'?s?)\s*licen[cs]es?\b|\bphoto\s*card\b|\butility\s+bills?\b|\b(?:gas|electric(?:ity)?|water|phone|broadband)\s+bills?\b|\bcouncil\s*tax\s+(?:bill|statement|demand)s?\b|\bbank\s+statements?\b|\bbirth\s+cert(?:ificate)?s?\b|\b(?:national\s+)?id(?:entity)?\s+cards?\b|\bbiometric\s+residence\s+(?:permit|card)\b|\bproof\s+of\s+(?:id|identity|address|residence)\b|\bphoto(?:graphic)?\s+id(?:entification)?\b|\bidentification(?:\s+documents?)?\b|\bid\s+documents?\b|\b(?:my|of)\s+id\b",
    )
    .expect("built-in ID_DOCUMENT pattern compiles")
});

/// Short forms that only mean an ID document in a file name ("ID.jpg", "scan_dl.pdf", "BRP.png").
static ID_FILENAME_EXTRA: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:id|ids|dl|brp|licen[cs]e|photo\s*id)\b")
        .expect("built-in ID_FILENAME_EXTRA pattern compiles")
});

/// Marks found in the extracted text of an identity document itself.
static ID_DOCUMENT_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"P<[A-Z]{3}|(?i:\bHM\s+Passport\s+Office\b|\bDVLA\b|\bcouncil\s+tax\s+bill\b|\bcertified\s+copy\s+of\s+an\s+entry\s+of\s+birth\b)",
    )
    .expect("built-in ID_DOCUMENT_TEXT pattern compiles")
});

/// Evidence of authority to act for someone else: parental responsibility, consent, attorney.
static AUTHORITY_DOCUMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\bbirth\s+cert(?:ificate)?s?\b|\badoption\s+(?:certificate|order)s?\b|\bcourt\s+orders?\b|\bchild\s+arrangements?\s+orders?\b|\bresidence\s+orders?\b|\bspecial\s+guardianship\s+orders?\b|\bparental\s+responsibility\s+(?:agreement|order)s?\b|\bletter\s+of\s+(?:authority|consent)\b|\bform\s+of\s+authority\b|\bsigned\s+(?:consent|authority|authorisation|authorization|mandate)\b|\bconsent\s+forms?\b|\b(?:lasting\s+)?power\s+of\s+attorney\b|\bdeputyship\s+orders?\b|\bauthority\s+forms?\b",
    )
    .expect("built-in AUTHORITY_DOCUMENT pattern compiles")
});

/// A request for a child's data by a parent or carer.
static FOR_CHILD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:my|our)\s+(?:(?:\d{1,2}[\s-]*year[\s-]*old|young|little|eldest|youngest)\s+)?(?:son|daughter|child|children|kids?|step-?son|step-?daughter|step-?child|grandson|granddaughter|grandchild|foster\s+(?:child|son|daughter))\b|\bon\s+behalf\s+of\s+(?:my|our)\s+(?:son|daughter|child|children)\b|\bparental\s+responsibility\b|\b(?:i\s+am|i'm|as)\s+(?:his|her|their|the\s+child's)\s+(?:mother|father|mum|dad|parent|guardian|carer|step-?(?:mother|father|parent)|foster\s+(?:carer|parent))\b",
    )
    .expect("built-in FOR_CHILD pattern compiles")
});

/// A request for another adult's data (a client, a relative) by a representative.
static FOR_OTHER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\bon\s+behalf\s+of\s+(?:my\s+|our\s+)?(?:client|mother|father|mum|dad|husband|wife|partner|brother|sister|friend|relative|uncle|aunt|grandmother|grandfather|nan|grandad)\b|\b(?:my|our)\s+client(?:'s)?\b|\b(?:i\s+am|i'm|as)\s+(?:his|her|their)\s+(?:representative|advocate|solicitor|attorney|deputy|appointee)\b",
    )
    .expect("built-in FOR_OTHER pattern compiles")
});

/// Enclosure wording: present-tense "I attach/enclose", "attaching", or a participle
/// ("attached", "enclosed", "herewith", "included", "uploaded").
static ENCLOSED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:i|we)\s+(?:attach|enclose|include|am\s+attaching|am\s+enclosing|am\s+including|am\s+sending|send)\b|\b(?:attaching|enclosing)\b|\b(?:attached|enclosed|herewith|included|uploaded|scanned)\b|\bhere\s+is\b",
    )
    .expect("built-in ENCLOSED pattern compiles")
});

/// Negation or condition just before the enclosure word ("not attached", "I will attach",
/// "if you need my passport I can send it").
static NEGATED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:not|never|no|if|will|shall|can|could|would|cannot|unable|once|when)\b|n't\b|\bhappy\s+to\b|\bdo\s+you\b",
    )
    .expect("built-in NEGATED pattern compiles")
});

/// Sentence boundaries for the enclosure check: end punctuation or a blank line.
static SENTENCE_BREAK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[.!?;]+(?:\s|$)|\n[ \t]*\n").expect("built-in SENTENCE_BREAK pattern compiles")
});

/// How far before an enclosure word a negation still applies, in bytes: "I have not yet attached".
const NEGATION_WINDOW_BYTES: usize = 24;

/// Image types that may be a photo of a document.
const IMAGE_PREFIX: &str = "image/";

/// Whether a sentence says a document matching `doc` is enclosed.
fn enclosed_in_sentence(sentence: &str, doc: &Regex) -> bool {
    if !doc.is_match(sentence) {
        return false;
    }
    ENCLOSED.find_iter(sentence).any(|m| {
        let mut from = m.start().saturating_sub(NEGATION_WINDOW_BYTES);
        while from > 0 && !sentence.is_char_boundary(from) {
            from -= 1;
        }
        let before = sentence.get(from..m.start()).unwrap_or_default();
        !NEGATED.is_match(before)
    })
}

/// Whether any sentence of `text` says a document matching `doc` is enclosed.
fn enclosure_stated(text: &str, doc: &Regex) -> bool {
    SENTENCE_BREAK
        .split(text)
        .any(|s| enclosed_in_sentence(s, doc))
}

/// An attachment file name with separators turned into spaces, for word matching.
fn spaced_name(n: &str) -> String {
    n.chars()
        .map(|c| {
            if matches!(c, '_' | '-' | '.' | '+' | '(' | ')') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// What [`check`] concluded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct IdentityFinding {
    /// Whether the requester's own proof of identity was found.
    pub own_id: bool,
    /// The request is for someone else (a child or another adult).
    pub for_someone_else: bool,
    /// Proof of authority to act for them was found.
    pub authority: bool,
    /// Notes for the audit trail.
    pub notes: Vec<String>,
}

impl IdentityFinding {
    /// Whether identity (and authority where needed) is satisfied.
    pub fn satisfied(&self) -> bool {
        self.own_id && (!self.for_someone_else || self.authority)
    }
}

/// Check a SAR for proof of identity and, when made for someone else, proof of authority.
pub(super) fn check(msg: &Message, texts: &Texts) -> IdentityFinding {
    let mut f = IdentityFinding::default();
    let mut generic_images = Vec::new();
    for (i, a) in msg.attachments.iter().take(MAX_ATTACHMENTS).enumerate() {
        let name = a.name.as_deref().unwrap_or_default();
        let spaced = spaced_name(name);
        let id_by_name = !name.is_empty()
            && (ID_DOCUMENT.is_match(&spaced) || ID_FILENAME_EXTRA.is_match(&spaced));
        let id_by_text = texts
            .attachment_text(i)
            .is_some_and(|t| ID_DOCUMENT_TEXT.is_match(t));
        if id_by_name || id_by_text {
            if !f.own_id {
                f.notes.push(format!(
                    "identity: attachment '{}' looks like proof of identity ({})",
                    quote(name, 80),
                    if id_by_name {
                        "by its name"
                    } else {
                        "by its text"
                    }
                ));
            }
            f.own_id = true;
        } else if a.mime_type.starts_with(IMAGE_PREFIX) && !name.is_empty() {
            generic_images.push(name.to_string());
        }
        if !name.is_empty() && AUTHORITY_DOCUMENT.is_match(&spaced) {
            f.authority = true;
        }
    }
    if !f.own_id && enclosure_stated(&texts.all, &ID_DOCUMENT) {
        f.own_id = true;
        f.notes
            .push("identity: the text says proof of identity is enclosed".to_string());
    }
    if !f.authority && enclosure_stated(&texts.all, &AUTHORITY_DOCUMENT) {
        f.authority = true;
    }
    let for_child = FOR_CHILD.find(&texts.all);
    let for_other = FOR_OTHER.find(&texts.all);
    f.for_someone_else = for_child.is_some() || for_other.is_some();
    if let Some(m) = for_child {
        f.notes.push(format!(
            "identity: made for a child ('{}'): proof of parental responsibility is needed, and \
             the child's own view where they have sufficient understanding (seed 001 B9)",
            quote(m.as_str(), 40)
        ));
    } else if let Some(m) = for_other {
        f.notes.push(format!(
            "identity: made for someone else ('{}'): their signed authority (or a power of \
             attorney) and proof of their identity are needed",
            quote(m.as_str(), 40)
        ));
    }
    if f.for_someone_else {
        f.notes.push(if f.authority {
            "identity: proof of authority appears to be enclosed; check it".to_string()
        } else {
            "identity: no proof of authority to act for them found".to_string()
        });
    }
    if !f.own_id {
        f.notes.push(
            "identity: no proof of identity found; ask for it unless the requester can be \
             verified otherwise (e.g. a known service user writing from the address on file)"
                .to_string(),
        );
        if !generic_images.is_empty() {
            f.notes.push(format!(
                "identity: image attachment(s) {} may be a photo of ID; check by hand",
                quoted_list(&generic_images)
            ));
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enclosure_sentences() {
        let cases: &[(&str, bool)] = &[
            ("I attach a copy of my passport.", true),
            (
                "Please find attached my driving licence and a utility bill.",
                true,
            ),
            ("A copy of my passport is attached.", true),
            ("I have enclosed proof of address", true),
            ("I've attached my ID", true),
            ("Attaching my photo ID now", true),
            (
                "I have attached my passport as I understand you will need it.",
                true,
            ),
            ("My passport is not attached as I have lost it.", false),
            ("I haven't attached my passport.", false),
            ("I will attach my passport later.", false),
            ("If you need my passport I can send it.", false),
            ("Do you need my driving licence?", false),
            ("I do not have a passport.", false),
            ("Please find attached my request.", false),
        ];
        for (s, want) in cases {
            assert_eq!(enclosure_stated(s, &ID_DOCUMENT), *want, "{s:?}");
        }
    }

    #[test]
    fn filename_detection() {
        let cases: &[(&str, bool)] = &[
            ("passport.jpg", true),
            ("Driving_Licence_front.pdf", true),
            ("council-tax-bill-2025.pdf", true),
            ("proof_of_address.png", true),
            ("ID.jpg", true),
            ("scan_dl.pdf", true),
            ("birth-certificate.pdf", true),
            ("IMG_1234.jpg", false),
            ("request.pdf", false),
            ("video.mp4", false),
        ];
        for (n, want) in cases {
            let s = spaced_name(n);
            assert_eq!(
                ID_DOCUMENT.is_match(&s) || ID_FILENAME_EXTRA.is_match(&s),
                *want,
                "{n}"
            );
        }
    }

    #[test]
    fn representative_detection() {
        let cases: &[(&str, bool, bool)] = &[
            ("I want my son's records", true, false),
            ("on behalf of my daughter", true, false),
            ("I have parental responsibility for Tom", true, false),
            ("I am her mother", true, false),
            ("my 12-year-old daughter", true, false),
            ("on behalf of my client Mr Jones", false, true),
            ("I want my own records", false, false),
        ];
        for (s, child, other) in cases {
            assert_eq!(FOR_CHILD.is_match(s), *child, "child: {s:?}");
            assert_eq!(FOR_OTHER.is_match(s), *other, "other: {s:?}");
        }
    }
}
