//! Cases, their references and their audit trail, as plain data.
//!
//! A [`Case`] is one request (or enquiry, complaint…) and every mail that belongs to it. Its
//! [`CaseRef`] (`FOI-2026-000123`) is what staff and requesters quote; the store allocates it, this
//! module only formats, parses and orders it. An [`AuditEvent`] records one step of the case's life
//! with who, when and why: the audit trail is a legal record, so this module deliberately offers no
//! way to edit or delete an event, and the store only ever appends.
//!
//! What this module does not do: no I/O, no clock, no time zones (the store is given the reference
//! year by its caller), no workflow rules. State changes and due dates are decided elsewhere and
//! arrive here as new values.

use crate::model::kind::Kind;
use crate::model::language::Language;
use crate::model::message::Address;
use crate::model::regime::{ClockEvent, Regime, ReviewOf};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Shortest allowed reference prefix, in letters (`SR`), so references stay distinguishable.
pub const PREFIX_MIN_LEN: usize = 2;
/// Longest allowed reference prefix, in letters (`MEMBER`), so references stay short enough to
/// quote on the phone and fit a subject tag.
pub const PREFIX_MAX_LEN: usize = 6;
/// Smallest year a reference may carry: the format has exactly four year digits.
pub const YEAR_MIN: i32 = 1000;
/// Largest year a reference may carry: the format has exactly four year digits.
pub const YEAR_MAX: i32 = 9999;
/// Minimum number of digits of the sequence part: `000123` is the house format; larger numbers
/// simply grow more digits.
pub const SEQ_MIN_DIGITS: usize = 6;

/// A case reference such as `FOI-2026-000123`: prefix, year of receipt, sequence within that year.
///
/// Valid by construction: the prefix is 2..=6 letters A-Z, the year has four digits and the
/// sequence is at least 1. References sort by prefix, then year, then sequence (numerically, so
/// `FOI-2026-1000000` comes after `FOI-2026-999999`). In JSON a reference is its display string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CaseRef {
    // Field order matters: the derived `Ord` compares prefix, then year, then seq.
    prefix: String,
    year: i32,
    seq: u32,
}

/// Why a string or parts are not a valid [`CaseRef`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseRefError {
    /// Not three parts separated by `-`.
    #[error("case reference {input:?} is not of the form PREFIX-YYYY-NNNNNN")]
    Shape {
        /// The text that was given.
        input: String,
    },
    /// The prefix is not 2 to 6 letters A-Z.
    #[error("case reference prefix {prefix:?} must be 2 to 6 letters A-Z")]
    Prefix {
        /// The prefix that was given.
        prefix: String,
    },
    /// The year is not four digits in 1000..=9999.
    #[error("case reference year {year:?} must be four digits (1000 to 9999)")]
    Year {
        /// The year that was given, as text.
        year: String,
    },
    /// The sequence is not a canonical number in 1..=4294967295 of at least six digits.
    #[error(
        "case reference number {seq:?} must be 1 to 4294967295 written with at least six digits \
         and no extra leading zeros"
    )]
    Seq {
        /// The sequence that was given, as text.
        seq: String,
    },
}

impl CaseRef {
    /// Build a reference from its parts; the prefix is upper-cased (ASCII).
    ///
    /// # Errors
    /// [`CaseRefError`] naming the part that is out of range.
    pub fn new(prefix: &str, year: i32, seq: u32) -> Result<CaseRef, CaseRefError> {
        let prefix = normalise_prefix(prefix)?;
        check_year(year)?;
        if seq == 0 {
            return Err(CaseRefError::Seq {
                seq: seq.to_string(),
            });
        }
        Ok(CaseRef { prefix, year, seq })
    }

    /// The letters before the first dash (`FOI`), always upper case.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The year of receipt (Europe/London) the reference was allocated in.
    pub fn year(&self) -> i32 {
        self.year
    }

    /// The sequence number within (prefix, year), starting at 1.
    pub fn seq(&self) -> u32 {
        self.seq
    }
}

/// Check and upper-case a reference prefix.
///
/// Public so the store and config can validate a configured prefix with the same rule the
/// references use.
///
/// # Errors
/// [`CaseRefError::Prefix`] when it is not 2..=6 ASCII letters.
pub fn normalise_prefix(prefix: &str) -> Result<String, CaseRefError> {
    let ok = (PREFIX_MIN_LEN..=PREFIX_MAX_LEN).contains(&prefix.len())
        && prefix.bytes().all(|b| b.is_ascii_alphabetic());
    if ok {
        Ok(prefix.to_ascii_uppercase())
    } else {
        Err(CaseRefError::Prefix {
            prefix: prefix.to_string(),
        })
    }
}

/// Check that a year fits the four-digit reference format.
///
/// # Errors
/// [`CaseRefError::Year`] when it is outside 1000..=9999.
pub fn check_year(year: i32) -> Result<(), CaseRefError> {
    if (YEAR_MIN..=YEAR_MAX).contains(&year) {
        Ok(())
    } else {
        Err(CaseRefError::Year {
            year: year.to_string(),
        })
    }
}

impl fmt::Display for CaseRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:04}-{:06}", self.prefix, self.year, self.seq)
    }
}

impl FromStr for CaseRef {
    type Err = CaseRefError;

    /// Parse `FOI-2026-000123`. Surrounding whitespace is ignored and the prefix may be in any
    /// case (people retype references); everything else must be exact, so that every reference
    /// has exactly one written form.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let mut parts = t.split('-');
        let (Some(prefix), Some(year), Some(seq), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(CaseRefError::Shape {
                input: s.to_string(),
            });
        };
        let prefix = normalise_prefix(prefix)?;
        let year_err = || CaseRefError::Year {
            year: year.to_string(),
        };
        if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
            return Err(year_err());
        }
        let year_n: i32 = year.parse().map_err(|_| year_err())?;
        check_year(year_n).map_err(|_| year_err())?;
        let seq_err = || CaseRefError::Seq {
            seq: seq.to_string(),
        };
        let canonical_width =
            seq.len() == SEQ_MIN_DIGITS || (seq.len() > SEQ_MIN_DIGITS && !seq.starts_with('0'));
        if !canonical_width || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return Err(seq_err());
        }
        let seq_n: u32 = seq.parse().map_err(|_| seq_err())?;
        if seq_n == 0 {
            return Err(seq_err());
        }
        Ok(CaseRef {
            prefix,
            year: year_n,
            seq: seq_n,
        })
    }
}

crate::model::string_form!(CaseRef);

/// Where a case is in its life. Transitions are decided by the workflow, not here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    /// Logged, not yet checked or allocated.
    Received,
    /// We asked the requester what they want; the statutory clock waits for the answer.
    AwaitingClarification,
    /// SAR: we asked for proof of identity; the clock starts when it arrives.
    AwaitingId,
    /// A fee notice was issued; the clock is paused until payment.
    AwaitingFee,
    /// Valid and being worked on; the due date runs.
    Open,
    /// The response was sent.
    Responded,
    /// Nothing more to do (responded, withdrawn, not a request…).
    Closed,
}

impl CaseState {
    /// Every state, in life order.
    pub const ALL: [CaseState; 7] = [
        CaseState::Received,
        CaseState::AwaitingClarification,
        CaseState::AwaitingId,
        CaseState::AwaitingFee,
        CaseState::Open,
        CaseState::Responded,
        CaseState::Closed,
    ];

    /// The snake_case name used in JSON, the CLI and audit details.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseState::Received => "received",
            CaseState::AwaitingClarification => "awaiting_clarification",
            CaseState::AwaitingId => "awaiting_id",
            CaseState::AwaitingFee => "awaiting_fee",
            CaseState::Open => "open",
            CaseState::Responded => "responded",
            CaseState::Closed => "closed",
        }
    }

    /// Whether the case needs no more chasing: responded or closed. The store's due-date index
    /// holds only cases that are not finished, so deadline scans do not grow with history.
    pub fn is_finished(self) -> bool {
        matches!(self, CaseState::Responded | CaseState::Closed)
    }
}

impl fmt::Display for CaseState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One case: the request, everything needed to route and chase it, and the mail that belongs to it.
///
/// Optional and list fields carry `#[serde(default)]`, so a record written by an older version
/// (without a field added later) still reads.
///
/// `R` is the reference: a [`CaseRef`] for a stored case, `()` for a [`CaseDraft`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case<R = CaseRef> {
    /// The case's reference; also its key in the store.
    pub reference: R,
    /// What kind of request it is (decides the regime and the prefix).
    pub kind: Kind,
    /// Where the case is in its life.
    pub state: CaseState,
    /// When we received the request (server time, UTC); day 0 of the statutory clock.
    pub received_at: DateTime<Utc>,
    /// Who asked: where acknowledgements and responses go.
    pub requester: Address,
    /// The request's subject line as received.
    pub subject: String,
    /// Every Message-ID (no angle brackets) of mail in this case: request and follow-ups. The store
    /// indexes them so replies and re-deliveries find the case.
    #[serde(default)]
    pub message_ids: Vec<String>,
    /// The dedupe keys of each message in this case, first the request's: the SHA-256 (lower-case
    /// hex) of the raw message without its delivery-path headers, and its delivery identity
    /// (`core::dedupe`). Message-IDs alone are not trusted: senders reuse them.
    #[serde(default)]
    pub content_hashes: Vec<String>,
    /// Ids of the rules that fired when the request was classified (the "why" of the kind).
    #[serde(default)]
    pub rules: Vec<String>,
    /// Whether the request is valid (FOIA s.8 and friends); `None` when not checked or not statutory.
    #[serde(default)]
    pub valid: Option<bool>,
    /// What a valid request still lacks (name, address for correspondence, description…).
    #[serde(default)]
    pub missing: Vec<String>,
    /// The statutory or policy due date, when the clock is running.
    #[serde(default)]
    pub due: Option<NaiveDate>,
    /// What happened to the clock (clarification asked and answered, ID, fee, extension): the due
    /// date is always recomputed from `received_at` and these, never edited by hand.
    #[serde(default)]
    pub clock_events: Vec<ClockEvent>,
    /// Staff member the case is allocated to (email address).
    #[serde(default)]
    pub assignee: Option<String>,
    /// Team the case is routed to.
    #[serde(default)]
    pub team: Option<String>,
    /// What happened after acknowledgement: response, closure, flags for a human.
    #[serde(default)]
    pub workflow: CaseWorkflow,
    /// When the record was created.
    pub created_at: DateTime<Utc>,
    /// When the record was last changed.
    pub updated_at: DateTime<Utc>,
}

/// A case before the store has given it a reference. The same record with no reference, so a
/// caller cannot invent one: the store allocates it atomically with the write.
pub type CaseDraft = Case<()>;

impl CaseDraft {
    /// The case this draft becomes once it has a reference.
    pub fn into_case(self, reference: CaseRef) -> Case {
        Case {
            reference,
            kind: self.kind,
            state: self.state,
            received_at: self.received_at,
            requester: self.requester,
            subject: self.subject,
            message_ids: self.message_ids,
            content_hashes: self.content_hashes,
            rules: self.rules,
            valid: self.valid,
            missing: self.missing,
            due: self.due,
            clock_events: self.clock_events,
            assignee: self.assignee,
            team: self.team,
            workflow: self.workflow,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// A case's life after acknowledgement. Grouped (and defaulted) so that a record written before
/// these existed still reads, and so later fields do not touch every place a case is built.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CaseWorkflow {
    /// When the response went to the requester (seen from the shared mailbox, or recorded).
    #[serde(default)]
    pub responded_at: Option<DateTime<Utc>>,
    /// How the case was closed; `None` while it is not.
    #[serde(default)]
    pub closure: Option<Closure>,
    /// Things a human should look at: possible repeat, vexatious. Never acted on automatically.
    #[serde(default)]
    pub flags: Vec<Flag>,
    /// Created by `foi-triage import` (historical mail): never routed or mailed about
    /// automatically, so an import does not flood staff with assignment emails.
    #[serde(default)]
    pub imported: bool,
    /// Repeat-detection summary of the request's text (never the text itself).
    #[serde(default)]
    pub fingerprint: Option<crate::model::fingerprint::Fingerprint>,
    /// Set when the case is an internal review of an earlier response: its clock is the
    /// review's ([`InternalReview::regime`]), not the kind's local policy.
    #[serde(default)]
    pub internal_review: Option<InternalReview>,
    /// SAR only: how the requester's identity stood when the request was validated.
    #[serde(default)]
    pub identity: Option<IdentityState>,
    /// Set while an officer's kind differs from the one the rules gave (the case was
    /// re-classified, and not back): its first message is then kept as a private test sample,
    /// so a rule edit that would undo the correction is seen before it is deployed.
    #[serde(default)]
    pub correction: Option<Correction>,
    /// The language the requester writes in: detected on the request, and set to Welsh when
    /// they later write in Welsh. Letters to them go in Welsh when it has Welsh and the body
    /// answers in Welsh (`[organisation] welsh`). `unknown` for a case recorded before
    /// detection.
    #[serde(default)]
    pub language: Language,
}

/// An officer's correction of the kind the rules gave a case. The officer's kind is the case's
/// `kind`; this records what the rules said, and who last said otherwise (the latest word wins).
///
/// `foi-triage rules test --corrections` replays the case's first message against the current
/// rules: the rules are right when they now give the case's kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Correction {
    /// The kind the rules gave when the request arrived.
    pub rules_said: Kind,
    /// Who gave the case its present kind (a staff address).
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// The internal-review marking of a case (a case field rather than a kind: the kind stays
/// `complaint`, as officers file reviews, and the statistics count reviews separately).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InternalReview {
    /// The law the reviewed response was given under.
    pub of: ReviewOf,
    /// The time to answer in working days, fixed when the case was opened (the law's, or the
    /// SAR local policy then configured).
    pub working_days: u32,
    /// The original request's reference as quoted (`FOI-2026-000123`), if any.
    #[serde(default)]
    pub quoted: Option<String>,
    /// The original case, when the quoted reference is one we hold.
    #[serde(default)]
    pub original: Option<CaseRef>,
}

impl InternalReview {
    /// The regime the review's clock runs under.
    pub fn regime(&self) -> Regime {
        Regime::Review {
            of: self.of,
            working_days: self.working_days,
        }
    }
}

/// Where a subject access request's proof of identity stands (ICO, "Right of access": ask for ID
/// only when in reasonable doubt, and only what is needed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityState {
    /// A document is attached, or said to be attached.
    Provided,
    /// No document, but details the organisation can check against its own records.
    Verifiable,
    /// Neither: the request waits for proof of identity.
    Missing,
}

impl IdentityState {
    /// The snake_case name used in JSON, templates and the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityState::Provided => "provided",
            IdentityState::Verifiable => "verifiable",
            IdentityState::Missing => "missing",
        }
    }
}

/// How a case ended, in the categories the ICO's statistics use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseOutcome {
    /// Information provided in full.
    ProvidedInFull,
    /// Provided in part (the rest withheld under an exemption or exception).
    ProvidedInPart,
    /// Refused, with the exemption(s) or exception(s) relied on.
    Refused,
    /// Information not held.
    NotHeld,
    /// The requester withdrew the request.
    Withdrawn,
    /// The requester did not answer a clarification, ID or fee request in time.
    Lapsed,
}

impl CloseOutcome {
    /// Every outcome.
    pub const ALL: [CloseOutcome; 6] = [
        CloseOutcome::ProvidedInFull,
        CloseOutcome::ProvidedInPart,
        CloseOutcome::Refused,
        CloseOutcome::NotHeld,
        CloseOutcome::Withdrawn,
        CloseOutcome::Lapsed,
    ];

    /// The snake_case name used in JSON, commands and audit details.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseOutcome::ProvidedInFull => "provided_in_full",
            CloseOutcome::ProvidedInPart => "provided_in_part",
            CloseOutcome::Refused => "refused",
            CloseOutcome::NotHeld => "not_held",
            CloseOutcome::Withdrawn => "withdrawn",
            CloseOutcome::Lapsed => "lapsed",
        }
    }
}

/// The closure of a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closure {
    /// The outcome.
    pub outcome: CloseOutcome,
    /// Exemptions or exceptions relied on (`s.40(2)`, `reg 12(4)(b)`…), when refused in whole or
    /// part.
    #[serde(default)]
    pub exemptions: Vec<String>,
    /// When it was closed.
    pub at: DateTime<Utc>,
}

/// A flag for a human on a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "flag", rename_all = "snake_case")]
pub enum Flag {
    /// Looks like a repeat of an earlier request (same person, similar text). For a human to
    /// judge (FOIA s.14(2)); nothing is refused automatically.
    PossibleRepeat {
        /// The earlier case.
        of: CaseRef,
        /// Why it looks like one (score, which signals).
        why: String,
    },
    /// Flagged by staff as possibly vexatious (FOIA s.14(1)); for a human decision.
    Vexatious {
        /// The officer's reason.
        why: String,
    },
    /// A reply from the requester's address that may answer what the case waits for, but that
    /// the trusted mail gateway does not vouch for: the clock was not restarted. An officer
    /// checks it and restarts the clock by hand if it is genuine.
    UnverifiedAnswer {
        /// The reply's Message-ID.
        message_id: Option<String>,
        /// Why it was not trusted.
        why: String,
    },
}

/// One step in a case's life, with who, when and why. Append-only: once stored it never changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who did it: `"system"` for the daemon, else the staff member's address.
    pub actor: String,
    /// Short verb: `received`, `classified`, `validated`, `due_computed`, `followup`,
    /// `acknowledged`, `note`…
    pub action: String,
    /// Structured detail (rule ids, old and new values, message ids). `null` when there is none.
    #[serde(default)]
    pub detail: serde_json::Value,
    /// The reason, in words an officer (or the ICO) can read.
    #[serde(default)]
    pub why: String,
}

impl AuditEvent {
    /// An event by `actor` (a staff address, or [`SYSTEM_ACTOR`]).
    pub fn new(
        at: DateTime<Utc>,
        actor: &str,
        action: &str,
        detail: serde_json::Value,
        why: String,
    ) -> AuditEvent {
        AuditEvent {
            at,
            actor: actor.to_string(),
            action: action.to_string(),
            detail,
            why,
        }
    }

    /// An event by the daemon itself.
    pub fn system(
        at: DateTime<Utc>,
        action: &str,
        detail: serde_json::Value,
        why: String,
    ) -> AuditEvent {
        AuditEvent::new(at, SYSTEM_ACTOR, action, detail, why)
    }
}

/// The actor name used for everything the daemon does on its own.
pub const SYSTEM_ACTOR: &str = "system";

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn r(p: &str, y: i32, s: u32) -> CaseRef {
        CaseRef::new(p, y, s).expect("valid test reference")
    }

    #[test]
    fn display_formats() {
        let table = [
            (r("FOI", 2026, 123), "FOI-2026-000123"),
            (r("foi", 2026, 1), "FOI-2026-000001"),
            (r("SAR", 2027, 999_999), "SAR-2027-999999"),
            (r("EIR", 2026, 1_000_000), "EIR-2026-1000000"),
            (r("MEMBER", 1000, u32::MAX), "MEMBER-1000-4294967295"),
            (r("Ab", 9999, 42), "AB-9999-000042"),
        ];
        for (reference, want) in table {
            assert_eq!(reference.to_string(), want);
            assert_eq!(want.parse::<CaseRef>().as_ref(), Ok(&reference), "{want}");
        }
    }

    #[test]
    fn parse_accepts_lenient_case_and_space() {
        let table = [
            ("  FOI-2026-000123\n", r("FOI", 2026, 123)),
            ("foi-2026-000123", r("FOI", 2026, 123)),
            ("Sar-2026-1234567", r("SAR", 2026, 1_234_567)),
        ];
        for (input, want) in table {
            assert_eq!(input.parse::<CaseRef>(), Ok(want), "{input:?}");
        }
    }

    #[test]
    fn parse_rejects_with_typed_errors() {
        use CaseRefError as E;
        let shape = |s: &str| E::Shape {
            input: s.to_string(),
        };
        let prefix = |s: &str| E::Prefix {
            prefix: s.to_string(),
        };
        let year = |s: &str| E::Year {
            year: s.to_string(),
        };
        let seq = |s: &str| E::Seq { seq: s.to_string() };
        let table: Vec<(&str, CaseRefError)> = vec![
            ("", shape("")),
            ("FOI", shape("FOI")),
            ("FOI-2026", shape("FOI-2026")),
            ("FOI-2026-000123-1", shape("FOI-2026-000123-1")),
            ("FOI 2026 000123", shape("FOI 2026 000123")),
            ("F-2026-000123", prefix("F")),
            ("FOIFOIF-2026-000123", prefix("FOIFOIF")),
            ("F0I-2026-000123", prefix("F0I")),
            ("ÉIR-2026-000123", prefix("ÉIR")),
            ("-2026-000123", prefix("")),
            ("FOI-26-000123", year("26")),
            ("FOI-02026-000123", year("02026")),
            ("FOI-0999-000123", year("0999")),
            ("FOI-+202-000123", year("+202")),
            ("FOI-２０２６-000123", year("２０２６")),
            ("FOI-2026-123", seq("123")),
            ("FOI-2026-00123", seq("00123")),
            ("FOI-2026-000000", seq("000000")),
            ("FOI-2026-0000123", seq("0000123")),
            ("FOI-2026-+00123", seq("+00123")),
            ("FOI-2026-4294967296", seq("4294967296")),
            ("FOI-2026-99999999999999999999", seq("99999999999999999999")),
            ("FOI-2026-00012a", seq("00012a")),
            ("FOI-2026-", seq("")),
        ];
        for (input, want) in table {
            assert_eq!(input.parse::<CaseRef>(), Err(want), "{input:?}");
        }
    }

    #[test]
    fn new_rejects_out_of_range_parts() {
        assert!(matches!(
            CaseRef::new("F", 2026, 1),
            Err(CaseRefError::Prefix { .. })
        ));
        assert!(matches!(
            CaseRef::new("FOI", 999, 1),
            Err(CaseRefError::Year { .. })
        ));
        assert!(matches!(
            CaseRef::new("FOI", 10_000, 1),
            Err(CaseRefError::Year { .. })
        ));
        assert!(matches!(
            CaseRef::new("FOI", 2026, 0),
            Err(CaseRefError::Seq { .. })
        ));
        assert_eq!(normalise_prefix("eir"), Ok("EIR".to_string()));
    }

    #[test]
    fn order_is_prefix_year_then_numeric_seq() {
        let mut refs = [
            r("FOI", 2026, 1_000_000),
            r("SAR", 2025, 1),
            r("FOI", 2026, 999_999),
            r("FOI", 2025, 5),
            r("AB", 2030, 1),
            r("FOIX", 2020, 1),
            r("FOI", 2026, 2),
        ];
        refs.sort();
        let shown: Vec<String> = refs.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "AB-2030-000001",
                "FOI-2025-000005",
                "FOI-2026-000002",
                "FOI-2026-999999",
                "FOI-2026-1000000",
                "FOIX-2020-000001",
                "SAR-2025-000001",
            ]
        );
    }

    #[test]
    fn serde_is_the_display_string() {
        let reference = r("FOI", 2026, 123);
        assert_eq!(
            serde_json::to_string(&reference).ok().as_deref(),
            Some("\"FOI-2026-000123\"")
        );
        let back: CaseRef = serde_json::from_str("\"FOI-2026-000123\"").expect("parses");
        assert_eq!(back, reference);
        let bad = serde_json::from_str::<CaseRef>("\"FOI-26-1\"");
        assert!(bad.is_err());
        assert!(serde_json::from_str::<CaseRef>("{\"prefix\":\"FOI\"}").is_err());
    }

    #[test]
    fn state_names_round_trip() {
        for s in CaseState::ALL {
            let json = serde_json::to_string(&s).expect("serialises");
            assert_eq!(json, format!("\"{}\"", s.as_str()));
            let back: CaseState = serde_json::from_str(&json).expect("parses");
            assert_eq!(back, s);
        }
        assert_eq!(
            CaseState::AwaitingClarification.as_str(),
            "awaiting_clarification"
        );
        let finished: Vec<CaseState> = CaseState::ALL
            .into_iter()
            .filter(|s| s.is_finished())
            .collect();
        assert_eq!(finished, [CaseState::Responded, CaseState::Closed]);
    }

    fn sample_case() -> Case {
        let t = Utc
            .with_ymd_and_hms(2026, 3, 2, 9, 30, 0)
            .single()
            .expect("valid");
        CaseDraft {
            reference: (),
            kind: Kind::Foi,
            state: CaseState::Open,
            received_at: t,
            requester: Address {
                name: Some("Jane Smith".into()),
                email: "Jane@Example.org".into(),
            },
            subject: "Request for information".into(),
            message_ids: vec!["abc@example.org".into()],
            content_hashes: vec!["00ff".into()],
            rules: vec!["foi.keyword".into()],
            valid: Some(true),
            missing: vec![],
            due: NaiveDate::from_ymd_opt(2026, 3, 30),
            clock_events: Vec::new(),
            workflow: CaseWorkflow::default(),
            assignee: Some("officer@council.gov.uk".into()),
            team: Some("planning".into()),
            created_at: t,
            updated_at: t,
        }
        .into_case(r("FOI", 2026, 7))
    }

    #[test]
    fn case_json_round_trip_and_old_records_read() {
        let case = sample_case();
        let json = serde_json::to_string(&case).expect("serialises");
        assert!(json.contains("\"reference\":\"FOI-2026-000007\""), "{json}");
        assert!(json.contains("\"state\":\"open\""), "{json}");
        let back: Case = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, case);

        // A minimal record, as an older version might have written it.
        let old = r#"{"reference":"FOI-2026-000007","kind":"foi","state":"received",
            "received_at":"2026-03-02T09:30:00Z","requester":{"name":null,"email":"a@b.c"},
            "subject":"s","created_at":"2026-03-02T09:30:00Z","updated_at":"2026-03-02T09:30:00Z"}"#;
        let old: Case = serde_json::from_str(old).expect("old record reads");
        assert_eq!(old.state, CaseState::Received);
        assert!(old.message_ids.is_empty() && old.rules.is_empty());
        assert_eq!((old.valid, old.due, old.assignee), (None, None, None));
    }

    #[test]
    fn audit_event_json_round_trip() {
        let e = AuditEvent {
            at: Utc
                .with_ymd_and_hms(2026, 3, 2, 9, 30, 0)
                .single()
                .expect("valid"),
            actor: SYSTEM_ACTOR.into(),
            action: "classified".into(),
            detail: serde_json::json!({"kind": "foi", "rule": "foi.keyword"}),
            why: "subject mentions Freedom of Information".into(),
        };
        let json = serde_json::to_string(&e).expect("serialises");
        let back: AuditEvent = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, e);
        let minimal: AuditEvent = serde_json::from_str(
            r#"{"at":"2026-03-02T09:30:00Z","actor":"system","action":"note"}"#,
        )
        .expect("parses");
        assert_eq!(minimal.detail, serde_json::Value::Null);
        assert_eq!(minimal.why, "");
    }

    proptest! {
        #[test]
        fn display_from_str_round_trip(
            prefix in "[A-Z]{2,6}",
            year in YEAR_MIN..=YEAR_MAX,
            seq in 1u32..=u32::MAX,
        ) {
            let reference = CaseRef::new(&prefix, year, seq).expect("valid parts");
            let shown = reference.to_string();
            prop_assert_eq!(shown.parse::<CaseRef>(), Ok(reference.clone()));
            let json = serde_json::to_string(&reference).expect("serialises");
            prop_assert_eq!(serde_json::from_str::<CaseRef>(&json).ok(), Some(reference));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            if let Ok(reference) = s.parse::<CaseRef>() {
                // Anything accepted prints back to the same text, modulo trim and prefix case.
                let shown = reference.to_string();
                prop_assert!(shown.eq_ignore_ascii_case(s.trim()));
            }
        }
    }
}
