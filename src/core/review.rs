//! Is a message a request for an internal review of an earlier response, and of which one?
//!
//! The kind (`complaint`, which includes internal reviews) is the rules' decision; this module
//! only answers, for a message the rules call a complaint, whether it asks for a review, which
//! earlier request it quotes and under which law that request was answered, so that triage can
//! mark the case `internal_review` and give it the review's clock (deadlines.md §5.0):
//! FOIA 20 working days (up to 40 in exceptional cases, s.45 Code of Practice), EIR 40 (reg
//! 11(4)), FOISA and EIR(S) 20 (s.21(1), reg 16(4)), SAR local policy.
//!
//! [`detect`] is the one entry point, pure and bounded.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::core::followup::references_in;
use crate::model::kind::Kind;
use crate::model::message::Message;

/// Most bytes of the body read: a review request says what it is in its first paragraphs.
const MAX_SCAN_BYTES: usize = 32 * 1024;

/// Wording that asks for a review: "internal review", FOISA's "requirement for review", EIR
/// "representations" under regulation 11 (or 16 in Scotland), "review your decision",
/// "reconsider your response", the Welsh "adolygiad mewnol".
static REVIEW: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\binternal\s+review\b|\brequirement\s+for\s+(?:a\s+)?review\b|\brepresentations?\s+under\s+(?:regulation|reg\.?)\s*(?:11|16)\b|\b(?:review|reconsider|look\s+again\s+at)\s+(?:of\s+)?(?:your|the|this|its|my)\s+(?:(?:subject\s+access|freedom\s+of\s+information|foi|eir|environmental\s+information|information)\s+)?(?:decision|response|refusal|reply|answer|handling|request)\b|\badolygiad\s+mewnol\b",
    )
    .expect("built-in REVIEW pattern compiles")
});

/// Words naming the law of the reviewed request when no reference is quoted; EIR and SAR are
/// checked before FOI because their requests often mention "information" too.
static EIR_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\benvironmental\s+information\b|\beirs?\b|\b(?:regulation|reg\.?)\s*(?:11|16)\b|\brheoliadau\s+gwybodaeth\s+amgylcheddol\b")
        .expect("built-in EIR_WORDS pattern compiles")
});

/// See [`EIR_WORDS`].
static SAR_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bsubject\s+access\b|\bsars?\b|\bdata\s+protection\b|\bmy\s+personal\s+(?:data|information)\b|\bgdpr\b")
        .expect("built-in SAR_WORDS pattern compiles")
});

/// See [`EIR_WORDS`].
static FOI_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bfreedom\s+of\s+information\b|\bfoi(?:sa)?\b|\brhyddid\s+gwybodaeth\b")
        .expect("built-in FOI_WORDS pattern compiles")
});

/// A request for an internal review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewRequest {
    /// The wording that showed it ("internal review").
    pub matched: String,
    /// The first reference to a statutory request quoted in the subject or text
    /// (`FOI-2026-000123`), upper-cased.
    pub quoted: Option<String>,
    /// The kind of the reviewed request: from the quoted reference's prefix, else from the
    /// words; `None` when nothing says.
    pub of: Option<Kind>,
}

/// Whether `msg` asks for an internal review. `prefix_kinds` maps each configured reference
/// prefix to its kind, so a quoted `EIR-2026-000042` says the review is of an EIR response.
pub fn detect(msg: &Message, prefix_kinds: &[(String, Kind)]) -> Option<ReviewRequest> {
    let body = crate::core::text::prefix(&msg.body_text, MAX_SCAN_BYTES);
    let matched = REVIEW
        .find(&msg.subject)
        .or_else(|| REVIEW.find(body))?
        .as_str()
        .to_string();
    let statutory: Vec<String> = prefix_kinds
        .iter()
        .filter(|(_, k)| k.is_statutory())
        .map(|(p, _)| p.clone())
        .collect();
    let quoted = references_in(&msg.subject, &statutory)
        .into_iter()
        .chain(references_in(body, &statutory))
        .next();
    let of = quoted
        .as_deref()
        .and_then(|r| kind_of_reference(r, prefix_kinds))
        .or_else(|| kind_from_words(&msg.subject).or_else(|| kind_from_words(body)));
    Some(ReviewRequest {
        matched,
        quoted,
        of,
    })
}

/// The kind a reference's prefix names.
pub fn kind_of_reference(reference: &str, prefix_kinds: &[(String, Kind)]) -> Option<Kind> {
    let prefix = reference.split('-').next()?;
    prefix_kinds
        .iter()
        .find(|(p, _)| p.eq_ignore_ascii_case(prefix))
        .map(|(_, k)| *k)
}

fn kind_from_words(text: &str) -> Option<Kind> {
    if EIR_WORDS.is_match(text) {
        Some(Kind::Eir)
    } else if SAR_WORDS.is_match(text) {
        Some(Kind::Sar)
    } else if FOI_WORDS.is_match(text) {
        Some(Kind::Foi)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefixes() -> Vec<(String, Kind)> {
        [
            ("FOI", Kind::Foi),
            ("EIR", Kind::Eir),
            ("SAR", Kind::Sar),
            ("CMP", Kind::Complaint),
            ("GEN", Kind::General),
        ]
        .map(|(p, k)| (p.to_string(), k))
        .to_vec()
    }

    #[test]
    fn detection_table() {
        /// The quoted reference and the reviewed kind.
        type Found = (Option<&'static str>, Option<Kind>);
        let cases: &[(&str, &str, Option<Found>)] = &[
            (
                "FOI-2026-000123",
                "I am not happy with your response and would like an internal review.",
                Some((Some("FOI-2026-000123"), Some(Kind::Foi))),
            ),
            (
                "Re: [EIR-2026-000042] Your request",
                "Please treat this as representations under regulation 11: you have withheld the tree survey.",
                Some((Some("EIR-2026-000042"), Some(Kind::Eir))),
            ),
            (
                "Internal review request",
                "I ask you to review your decision on my subject access request, as pages were missing.",
                Some((None, Some(Kind::Sar))),
            ),
            (
                "Requirement for review",
                "Under section 20 of FOISA this is a requirement for review of your refusal.",
                Some((None, Some(Kind::Foi))),
            ),
            (
                "Complaint",
                "Please reconsider your response to request CMP-2026-000007 and FOI-2025-004411.",
                Some((Some("FOI-2025-004411"), Some(Kind::Foi))),
            ),
            (
                "Cais am adolygiad mewnol",
                "Hoffwn ofyn am adolygiad mewnol o'ch ymateb i'm cais Rhyddid Gwybodaeth.",
                Some((None, Some(Kind::Foi))),
            ),
            (
                "Internal review",
                "You did not answer in time.",
                Some((None, None)),
            ),
            (
                "Review of my subject access request SAR-2026-000157",
                "The bundle is incomplete: no notes from my social worker's visits. Please can you review this.",
                Some((Some("SAR-2026-000157"), Some(Kind::Sar))),
            ),
            ("My bins were not collected", "Please sort it out.", None),
            // A complaint asking to "review this" names no answer to review: not an internal
            // review (its kind would default to FOI and start the wrong clock).
            (
                "Planning application 26/0412",
                "Please can you review this application before the committee meets.",
                None,
            ),
            (
                "Complaint",
                "Your officer was rude to me on the phone.",
                None,
            ),
            (
                "FOI-2026-000123",
                "Thank you for the data, it was very helpful.",
                None,
            ),
        ];
        for (subject, body, want) in cases {
            let msg = Message {
                subject: subject.to_string(),
                body_text: body.to_string(),
                ..Message::default()
            };
            let got = detect(&msg, &prefixes()).map(|r| (r.quoted, r.of));
            let want = want.map(|(q, k)| (q.map(str::to_string), k));
            assert_eq!(got, want, "{subject:?} / {body:?}");
        }
    }
}
