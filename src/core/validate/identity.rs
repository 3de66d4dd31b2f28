//! Proof of identity, and of authority to act for someone else, for a subject access request.
//!
//! UK GDPR Art 12(6) lets a controller ask for the information needed to confirm the requester's
//! identity only when it has *reasonable doubts*, and the ICO ("Right of access") says to ask only
//! for what is necessary: a requester the organisation can recognise from its own records need not
//! send a passport. So identity is in one of three states ([`IdentityState`]):
//! - **provided**: a document is attached or said to be attached, whatever the file is called:
//!   an attachment whose name or text marks an identity document ("passport.jpg", a passport's
//!   machine-readable zone), or a sentence saying one is enclosed ("I've attached a photo of my
//!   driving licence", with `IMG_2231.jpeg`), unless negated or conditional ("I will attach…");
//! - **verifiable**: no document, but details the organisation can check against its own records
//!   (see `details`): a date of birth with an address, a council tax, tenancy, NHS, employee or
//!   payroll, student, National Insurance or crime reference, or a message from the
//!   organisation's own staff domain;
//! - **missing**: neither. Only this makes the request invalid and asks for ID.
//!
//! With the policy `document` (`[validity] sar_identity`), details do not suffice and the state
//! is `missing` unless a document is there; the notes still list the details for the officer.
//!
//! A request for someone else (a child, a client, a relative) also needs evidence of authority
//! (seed 001 B8/B9): [`IdentityFinding::authority_missing`] reports it as a separate item.
//!
//! This module cannot tell whether a document is genuine or whether the details match a record:
//! both are for the officer, and the notes say what to check.

use std::sync::LazyLock;

use regex::Regex;

use super::details::{self, Detail};
use super::text::{MAX_ATTACHMENTS, Texts, quote, quoted_list};
use crate::config::SarIdentityPolicy;
use crate::model::case::IdentityState;
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
        r"(?i)\bbirth\s+cert(?:ificate)?s?\b|\badoption\s+(?:certificate|order)s?\b|\bcourt\s+orders?\b|\bchild\s+arrangements?\s+orders?\b|\bresidence\s+orders?\b|\b(?:special\s+)?guardianship\s+orders?\b|\bparental\s+responsibility\s+(?:agreement|order)s?\b|\bletter\s+of\s+(?:authority|consent)\b|\bform\s+of\s+authority\b|\bsigned\s+(?:consent|authority|authorisation|authorization|mandate)\b|\bconsent\s+forms?\b|\b(?:lasting\s+)?power\s+of\s+attorney\b|\blpa\b|\bdeputyship\s+orders?\b|\bauthority\s+forms?\b",
    )
    .expect("built-in AUTHORITY_DOCUMENT pattern compiles")
});

/// A request for a child's data by a parent or carer: the child's records asked for ("my
/// daughter's A&E notes", "everything you hold on my son"), "on behalf of my son", "parental
/// responsibility", "I am her mother". A child merely mentioned ("since the birth of my daughter",
/// "my children's school") is not a request made for them.
static FOR_CHILD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:my|our)\s+(?:(?:\d{1,2}[\s-]*year[\s-]*old|young|little|eldest|youngest)\s+)?(?:son|daughter|child|children|kids?|step-?son|step-?daughter|step-?child|grandson|granddaughter|grandchild|foster\s+(?:child|son|daughter))(?:'s|’s|s)?\s+(?:[\w&-]+\s+){0,3}?(?:records?|files?|notes|data|information|reports?|assessments?|care\s+plan|plans?|x-?rays|footage)\b|\b(?:records?|files?|notes|data|information|reports?|everything|anything|footage)\b[^.\n]{0,80}?\b(?:about|on|for|concerning|regarding|relating\s+to)\s+(?:my|our)\s+(?:(?:\d{1,2}[\s-]*year[\s-]*old|young|little)\s+)?(?:son|daughter|child|children|kids?|step-?son|step-?daughter|grandson|granddaughter|grandchild)\b|\bon\s+behalf\s+of\s+(?:my|our)\s+(?:son|daughter|child|children)\b|\bparental\s+responsibility\b|\b(?:i\s+am|i'm|as)\s+(?:his|her|their|the\s+child's)\s+(?:mother|father|mum|dad|parent|guardian|carer|step-?(?:mother|father|parent)|foster\s+(?:carer|parent))\b",
    )
    .expect("built-in FOR_CHILD pattern compiles")
});

/// A request for another adult's data (a client, a relative) by a representative: "on behalf of
/// my mother", "my father's records", "My mother, Edith Rawlings, …", "I am her daughter and
/// main carer".
static FOR_OTHER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\bon\s+behalf\s+of\s+(?:my\s+|our\s+)?(?:client|mother|father|mum|dad|husband|wife|partner|brother|sister|friend|relative|uncle|aunt|grandmother|grandfather|nan|grandad)\b|\b(?:my|our)\s+client(?:'s)?\b|\b(?:i\s+am|i'm|as)\s+(?:his|her|their)\s+(?:representative|advocate|solicitor|attorney|deputy|appointee|son|daughter|wife|husband|partner|brother|sister|niece|nephew|grandson|granddaughter|(?:main\s+|primary\s+|unpaid\s+)?carer|next\s+of\s+kin)\b|\bmy\s+(?:late\s+)?(?:mother|father|mum|dad|husband|wife|partner|brother|sister|grandmother|grandfather|nan|grandad|aunt|uncle)(?:(?:'s|’s)\s+(?:[a-z-]+\s+){0,2}(?:records?|files?|notes|data|information|care\s+plan|assessments?)\b|,\s+(?-i:[A-Z][a-z]+\s+[A-Z]))",
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct IdentityFinding {
    /// Where the requester's proof of identity stands, under the configured policy.
    pub state: IdentityState,
    /// The request is for someone else (a child or another adult).
    pub for_someone_else: bool,
    /// Proof of authority to act for them was found.
    pub authority: bool,
    /// Notes for the audit trail and the officer.
    pub notes: Vec<String>,
}

impl IdentityFinding {
    /// Whether the request is for someone else and no evidence of authority was found.
    pub fn authority_missing(&self) -> bool {
        self.for_someone_else && !self.authority
    }
}

/// Check a SAR for proof of identity and, when made for someone else, proof of authority.
///
/// `staff_domains` are the organisation's own mail domains: a request from one of them comes
/// from a member of staff, whom the staff record identifies.
pub(super) fn check(
    msg: &Message,
    texts: &Texts,
    policy: SarIdentityPolicy,
    staff_domains: &[String],
) -> IdentityFinding {
    let mut notes = Vec::new();
    let document = document(msg, texts, &mut notes);
    let found = details::find(&texts.all, msg, staff_domains);
    let state = match (document, found.is_empty(), policy) {
        (true, _, _) => IdentityState::Provided,
        (false, false, SarIdentityPolicy::DocumentOrDetails) => IdentityState::Verifiable,
        (false, _, _) => IdentityState::Missing,
    };
    notes.push(state_note(state, &found, policy));
    let (for_someone_else, authority) = authority(msg, texts, &mut notes);
    IdentityFinding {
        state,
        for_someone_else,
        authority,
        notes,
    }
}

/// The note that states the identity outcome and what the officer should do about it.
fn state_note(state: IdentityState, found: &[Detail], policy: SarIdentityPolicy) -> String {
    let listed = found
        .iter()
        .map(Detail::describe)
        .collect::<Vec<_>>()
        .join("; ");
    match state {
        IdentityState::Provided => {
            "identity: provided (a document is attached or said to be attached); check it before \
             disclosure"
                .to_string()
        }
        IdentityState::Verifiable => format!(
            "identity: verifiable, no document needed unless doubt remains (ICO, right of access): \
             check {listed} against our records before disclosure"
        ),
        IdentityState::Missing if found.is_empty() => {
            "identity: missing: no document and no details we can check against our records; \
             ask for proof of identity"
                .to_string()
        }
        IdentityState::Missing => format!(
            "identity: missing under the configured policy ({}): details given ({listed}) do not \
             replace a document",
            policy_name(policy)
        ),
    }
}

fn policy_name(policy: SarIdentityPolicy) -> &'static str {
    match policy {
        SarIdentityPolicy::DocumentOrDetails => "document_or_details",
        SarIdentityPolicy::Document => "document",
    }
}

/// Whether an identity document is attached or said to be attached; notes say which, and point
/// out generic images when none is.
fn document(msg: &Message, texts: &Texts, notes: &mut Vec<String>) -> bool {
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
            notes.push(format!(
                "identity: attachment '{}' looks like proof of identity ({})",
                quote(name, 80),
                if id_by_name {
                    "by its name"
                } else {
                    "by its text"
                }
            ));
            return true;
        }
        if a.mime_type.starts_with(IMAGE_PREFIX) && !name.is_empty() {
            generic_images.push(name.to_string());
        }
    }
    if enclosure_stated(&texts.all, &ID_DOCUMENT) {
        let with = if generic_images.is_empty() {
            String::new()
        } else {
            format!(" (with {})", quoted_list(&generic_images))
        };
        notes.push(format!(
            "identity: the text says proof of identity is enclosed{with}"
        ));
        return true;
    }
    if !generic_images.is_empty() {
        notes.push(format!(
            "identity: image attachment(s) {} may be a photo of ID; check by hand",
            quoted_list(&generic_images)
        ));
    }
    false
}

/// Whether the request is for someone else, and whether evidence of authority is there.
fn authority(msg: &Message, texts: &Texts, notes: &mut Vec<String>) -> (bool, bool) {
    let by_name = msg.attachments.iter().take(MAX_ATTACHMENTS).any(|a| {
        a.name
            .as_deref()
            .is_some_and(|n| !n.is_empty() && AUTHORITY_DOCUMENT.is_match(&spaced_name(n)))
    });
    let authority = by_name || enclosure_stated(&texts.all, &AUTHORITY_DOCUMENT);
    let for_child = FOR_CHILD.find(&texts.all);
    let for_other = FOR_OTHER.find(&texts.all);
    if let Some(m) = for_child {
        notes.push(format!(
            "identity: made for a child ('{}'): proof of parental responsibility is needed, and \
             the child's own view where they have sufficient understanding (seed 001 B9)",
            quote(m.as_str(), 40)
        ));
    } else if let Some(m) = for_other {
        notes.push(format!(
            "identity: made for someone else ('{}'): their signed authority (or a power of \
             attorney) is needed",
            quote(m.as_str(), 40)
        ));
    }
    let for_someone_else = for_child.is_some() || for_other.is_some();
    if for_someone_else {
        notes.push(if authority {
            "identity: proof of authority appears to be enclosed; check it".to_string()
        } else {
            "identity: no proof of authority to act for them found".to_string()
        });
    }
    (for_someone_else, authority)
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
    fn authority_documents_by_name() {
        let cases: &[(&str, bool)] = &[
            ("LPA certified copy.pdf", true),
            ("Guardianship order - C Drummond.pdf", true),
            ("DA-PI-3319 Form of Authority.pdf", true),
            ("signed_consent.pdf", true),
            ("birth-certificate.pdf", true),
            ("holiday.jpg", false),
            ("request.pdf", false),
        ];
        for (n, want) in cases {
            assert_eq!(AUTHORITY_DOCUMENT.is_match(&spaced_name(n)), *want, "{n}");
        }
    }

    #[test]
    fn representative_detection() {
        let cases: &[(&str, bool, bool)] = &[
            ("I want my son's records", true, false),
            ("on behalf of my daughter", true, false),
            ("I have parental responsibility for Tom", true, false),
            ("I am her mother", true, false),
            ("records for my 12-year-old daughter", true, false),
            ("a copy of my daughters notes from A&E", true, false),
            (
                "copies of everything the council holds on my daughter",
                true,
                false,
            ),
            // A child mentioned in the writer's own request.
            (
                "my maternity records from the birth of my daughter in 2019",
                false,
                false,
            ),
            (
                "my records, and my children's school placement letters are not needed",
                false,
                false,
            ),
            ("on behalf of my client Mr Jones", false, true),
            (
                "My mother, Edith Rawlings (born 04/04/1938), lives at Beech House",
                false,
                true,
            ),
            ("I am her daughter and main carer.", false, true),
            ("copies of my father's social care records", false, true),
            ("as his next of kin", false, true),
            // The writer's own records that mention a relative are not a request for theirs.
            ("I lived at my mother's house in 2019", false, false),
            ("my mother, who lives with me, ", false, false),
            ("I want my own records", false, false),
        ];
        for (s, child, other) in cases {
            assert_eq!(FOR_CHILD.is_match(s), *child, "child: {s:?}");
            assert_eq!(FOR_OTHER.is_match(s), *other, "other: {s:?}");
        }
    }
}
