//! Does a message belong to a case we already have?
//!
//! Two signals, in this order:
//! 1. a case reference in the subject (`[FOI-2026-000123]`, `Re: FOI-2026-000123`, any configured
//!    prefix, any letter case): what requesters keep when they reply to an acknowledgement;
//! 2. an `In-Reply-To` or `References` id that matches a message already stored in a case: what
//!    mail clients keep even when the subject is rewritten.
//!
//! Looking things up is the caller's business, through [`Threads`], so this stays pure. Whether an
//! `auto` message in a thread is a follow-up is decided by `triage` (it is not: auto-replies never
//! reopen or join a case).

use regex::Regex;
use serde::Serialize;
use std::sync::LazyLock;

/// Which signal tied the message to its case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// The subject carried the case reference.
    Subject,
    /// `In-Reply-To` named a message of the case.
    InReplyTo,
    /// `References` named a message of the case.
    References,
}

/// A message found to continue an existing case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FollowUp {
    /// The case reference, normalised to upper case (`FOI-2026-000123`).
    pub reference: String,
    /// How it was found.
    pub via: Via,
    /// What matched: the reference text or the Message-ID.
    pub matched: String,
}

/// What follow-up detection needs to know about stored mail.
pub trait Threads {
    /// The case reference a stored Message-ID (without angle brackets) belongs to.
    fn case_for_message_id(&self, message_id: &str) -> Option<String>;
    /// Whether a case with this reference exists. Stores answer truthfully; tools without a store
    /// (`foi-triage classify`) trust the subject.
    fn case_exists(&self, reference: &str) -> bool;
}

/// No store at hand: trust references in subjects, know no Message-IDs.
pub struct NoThreads;

impl Threads for NoThreads {
    fn case_for_message_id(&self, _: &str) -> Option<String> {
        None
    }
    fn case_exists(&self, _: &str) -> bool {
        true
    }
}

/// A reference-shaped token: 2-6 letters, a 4-digit year, a sequence of at least 6 digits.
static REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b([a-z]{2,6})-((?:19|20)\d{2})-(\d{6,9})\b").expect("static regex")
});

/// Every known case reference in a subject, normalised to upper case, in order of appearance.
pub fn references_in(subject: &str, prefixes: &[String]) -> Vec<String> {
    REFERENCE
        .captures_iter(subject)
        .filter(|c| prefixes.iter().any(|p| p.eq_ignore_ascii_case(&c[1])))
        .map(|c| format!("{}-{}-{}", c[1].to_ascii_uppercase(), &c[2], &c[3]))
        .collect()
}

/// Finds the case this message continues, if any.
///
/// A subject reference wins when the case exists (the requester told us which case); otherwise
/// the newest thread id that belongs to a stored case. A reference to a case we do not have is
/// ignored here (the caller may note it) rather than creating a phantom follow-up.
pub fn detect(
    msg: &crate::model::message::Message,
    prefixes: &[String],
    threads: &dyn Threads,
) -> Option<FollowUp> {
    if let Some(r) = references_in(&msg.subject, prefixes)
        .into_iter()
        .find(|r| threads.case_exists(r))
    {
        return Some(FollowUp {
            matched: r.clone(),
            reference: r,
            via: Via::Subject,
        });
    }
    let by_id = |via: Via, ids: Vec<&String>| {
        ids.into_iter().find_map(|id| {
            threads.case_for_message_id(id).map(|r| FollowUp {
                reference: r.to_ascii_uppercase(),
                via,
                matched: id.clone(),
            })
        })
    };
    by_id(Via::InReplyTo, msg.in_reply_to.iter().collect())
        .or_else(|| by_id(Via::References, msg.references.iter().rev().collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::message::Message;
    use std::collections::BTreeMap;

    fn prefixes() -> Vec<String> {
        ["FOI", "EIR", "SAR", "CMP", "MEM", "MED", "GEN"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn references_in_subjects() {
        let cases: &[(&str, &[&str])] = &[
            ("[FOI-2026-000123] Your request", &["FOI-2026-000123"]),
            ("Re: FOI-2026-000124", &["FOI-2026-000124"]),
            ("RE: re: [sar-2026-000010] my data", &["SAR-2026-000010"]),
            ("Fwd: EIR-2025-000999 trees", &["EIR-2025-000999"]),
            ("FOI-2026-1234567 long sequence", &["FOI-2026-1234567"]),
            (
                "two: FOI-2026-000001 and CMP-2026-000002",
                &["FOI-2026-000001", "CMP-2026-000002"],
            ),
            ("(FOI-2026-000123)", &["FOI-2026-000123"]),
            // Not references: unknown prefix, short sequence, glued to a word, no year.
            ("ABC-2026-000123", &[]),
            ("FOI-2026-123", &[]),
            ("XFOI-2026-000123", &[]),
            ("FOI-000123", &[]),
            ("FOI request about 2026-000123 budgets", &[]),
            ("", &[]),
        ];
        for (subject, want) in cases {
            assert_eq!(
                references_in(subject, &prefixes()),
                *want,
                "subject {subject:?}"
            );
        }
    }

    struct Known {
        ids: BTreeMap<String, String>,
        cases: Vec<String>,
    }

    impl Threads for Known {
        fn case_for_message_id(&self, id: &str) -> Option<String> {
            self.ids.get(id).cloned()
        }
        fn case_exists(&self, r: &str) -> bool {
            self.cases.iter().any(|c| c == r)
        }
    }

    fn known() -> Known {
        Known {
            ids: BTreeMap::from([
                (
                    "ack-1@council.example".to_string(),
                    "FOI-2026-000001".to_string(),
                ),
                (
                    "req-2@example.org".to_string(),
                    "SAR-2026-000002".to_string(),
                ),
            ]),
            cases: vec!["FOI-2026-000001".into(), "SAR-2026-000002".into()],
        }
    }

    fn msg(subject: &str, in_reply_to: &[&str], references: &[&str]) -> Message {
        Message {
            subject: subject.into(),
            in_reply_to: in_reply_to.iter().map(|s| s.to_string()).collect(),
            references: references.iter().map(|s| s.to_string()).collect(),
            ..Message::default()
        }
    }

    #[test]
    fn detection_order_and_signals() {
        let k = known();
        let cases: &[(Message, Option<(&str, Via)>)] = &[
            (
                msg("Re: [FOI-2026-000001]", &[], &[]),
                Some(("FOI-2026-000001", Via::Subject)),
            ),
            // Subject reference to a case we do not have: fall through to thread ids.
            (
                msg("Re: FOI-2026-999999", &["req-2@example.org"], &[]),
                Some(("SAR-2026-000002", Via::InReplyTo)),
            ),
            (msg("Re: FOI-2026-999999", &[], &[]), None),
            (
                msg("Re: your letter", &["ack-1@council.example"], &[]),
                Some(("FOI-2026-000001", Via::InReplyTo)),
            ),
            // References: the newest known id wins.
            (
                msg(
                    "Re: x",
                    &["unknown@x"],
                    &["ack-1@council.example", "req-2@example.org", "other@x"],
                ),
                Some(("SAR-2026-000002", Via::References)),
            ),
            (
                msg("New request", &["unknown@x"], &["also-unknown@x"]),
                None,
            ),
            (msg("", &[], &[]), None),
        ];
        for (m, want) in cases {
            let got = detect(m, &prefixes(), &k).map(|f| (f.reference, f.via));
            assert_eq!(
                got,
                want.map(|(r, v)| (r.to_string(), v)),
                "subject {:?}",
                m.subject
            );
        }
    }

    #[test]
    fn without_a_store_subject_references_are_trusted() {
        let f = detect(
            &msg("Re: [foi-2026-000123] thanks", &[], &[]),
            &prefixes(),
            &NoThreads,
        )
        .unwrap();
        assert_eq!(f.reference, "FOI-2026-000123");
        assert_eq!(f.matched, "FOI-2026-000123");
        assert!(detect(&msg("Re: thanks", &["a@b"], &[]), &prefixes(), &NoThreads).is_none());
    }
}
