//! Machine mail kept for people: every message intake files without a case (machine mail, mail
//! from our own addresses) leaves a [`MachineMail`] record with its raw bytes, so that nothing is
//! silently dropped: it is listed once for a person and can be turned into a case.
//!
//! Plain data; the store keys and keeps the records (`io::store`), the planners decide when they
//! are made, listed, opened and purged (`core::plan::ingest`, `core::plan::machine`).

use crate::model::case::{CaseRef, YEAR_MAX, YEAR_MIN};
use crate::model::kind::Kind;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Fewest digits of the number in an id (`M-2026-000042`): the width of case references, so
/// the two read alike; larger numbers simply grow.
const ID_MIN_DIGITS: usize = 6;

/// A machine-mail record's id, `M-2026-000042`: the year the message was received (Europe/London)
/// and a number the store allocates in the transaction that writes the record.
///
/// The number is one sequence for all years (it is not reset in January), so it is also the
/// order in which records were written: what the daily list uses to list each record once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MachineMailId {
    year: i32,
    seq: u64,
}

crate::model::string_form!(MachineMailId);

/// Why text is not a machine-mail id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a machine-mail id like M-2026-000042")]
pub struct MachineMailIdError {
    /// What was given.
    pub input: String,
}

impl MachineMailId {
    /// The id of record number `seq` (from 1) received in `year`; `None` outside four-digit years
    /// or for 0.
    pub fn new(year: i32, seq: u64) -> Option<MachineMailId> {
        ((YEAR_MIN..=YEAR_MAX).contains(&year) && seq > 0).then_some(MachineMailId { year, seq })
    }

    /// The year of receipt.
    pub fn year(&self) -> i32 {
        self.year
    }

    /// The store's number: one sequence for all years, in the order records were written.
    pub fn seq(&self) -> u64 {
        self.seq
    }
}

impl fmt::Display for MachineMailId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "M-{:04}-{:0width$}",
            self.year,
            self.seq,
            width = ID_MIN_DIGITS
        )
    }
}

impl FromStr for MachineMailId {
    type Err = MachineMailIdError;

    /// Parses `M-2026-000042` (surrounding whitespace ignored, `m` in either case): exactly one
    /// written form per id, as for case references.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || MachineMailIdError {
            input: s.to_string(),
        };
        let mut parts = s.trim().split('-');
        let (Some(m), Some(year), Some(seq), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(err());
        };
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        let canonical =
            seq.len() == ID_MIN_DIGITS || (seq.len() > ID_MIN_DIGITS && !seq.starts_with('0'));
        if !m.eq_ignore_ascii_case("m")
            || year.len() != 4
            || !digits(year)
            || !digits(seq)
            || !canonical
        {
            return Err(err());
        }
        let year = year.parse().map_err(|_| err())?;
        let seq = seq.parse().map_err(|_| err())?;
        MachineMailId::new(year, seq).ok_or_else(err)
    }
}

/// A message intake filed without a case, as kept for people (no body: the raw bytes are kept
/// beside it, see `io::store`).
///
/// `I` is the id: a [`MachineMailId`] for a stored record, `()` for a [`MachineMailDraft`] (the
/// store allocates the id in the transaction, as it does case references).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineMail<I = MachineMailId> {
    /// Its id.
    pub id: I,
    /// When intake filed it.
    pub filed_at: DateTime<Utc>,
    /// When we received it, as a case's clock would count it (the server's INTERNALDATE, else
    /// the newest `Received:` header, else the processing time): a case opened from it runs
    /// from here.
    pub received_at: DateTime<Utc>,
    /// The sender's address (its `Reply-To`, else `From`), as written; may be empty.
    pub from: String,
    /// The subject, on one line, without control characters, bounded.
    pub subject: String,
    /// What the rules made of it (`auto`, or the kind of a message from our own address).
    pub kind: Kind,
    /// Why no case was made: the rules that fired, the gateway's verdict, our own address.
    pub why: String,
    /// Ids of the rules that fired.
    #[serde(default)]
    pub rules: Vec<String>,
    /// The kind it would be opened as when no kind is given: the rules' best choice that is not
    /// `auto`, else `general`.
    pub suggested: Kind,
    /// Its content hash (as in `seen` records).
    pub content_hash: String,
    /// Its Message-ID, if it had one.
    #[serde(default)]
    pub message_id: Option<String>,
    /// Bytes kept (at most the configured largest message: a bigger one is kept in part).
    pub size: u64,
    /// Whether only part of it was read (over `imap.max_message_bytes`).
    #[serde(default)]
    pub partial: bool,
    /// Set once a person turned it into a case.
    #[serde(default)]
    pub opened: Option<Opened>,
}

/// A machine-mail record before the store has given it an id.
pub type MachineMailDraft = MachineMail<()>;

impl MachineMailDraft {
    /// The record this draft becomes once it has an id.
    pub fn into_record(self, id: MachineMailId) -> MachineMail {
        MachineMail {
            id,
            filed_at: self.filed_at,
            received_at: self.received_at,
            from: self.from,
            subject: self.subject,
            kind: self.kind,
            why: self.why,
            rules: self.rules,
            suggested: self.suggested,
            content_hash: self.content_hash,
            message_id: self.message_id,
            size: self.size,
            partial: self.partial,
            opened: self.opened,
        }
    }
}

/// Who turned a machine-mail record into a case, and which.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Opened {
    /// The case made from it.
    pub case: CaseRef,
    /// Who asked (as they gave it: `--by`, or the staff address of an emailed `#open`).
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// One line of the daily machine-mail list (in a team's digest or its own short mail): what a
/// person needs to judge the message and open it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineMailLine {
    /// The record's id.
    pub id: MachineMailId,
    /// When we received it.
    pub received_at: DateTime<Utc>,
    /// The sender's address.
    pub from: String,
    /// The subject (one line, bounded).
    pub subject: String,
    /// Why no case was made.
    pub why: String,
    /// The kind it opens as by default.
    pub suggested: Kind,
    /// The exact command that opens it, for the person the list goes to.
    pub command: String,
    /// The address that person sends `#open` to, to open it by email (signed for them).
    #[serde(default)]
    pub open_address: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_one_written_form() {
        let id = MachineMailId::new(2026, 42).expect("id");
        assert_eq!(id.to_string(), "M-2026-000042");
        assert_eq!(" m-2026-000042 ".parse::<MachineMailId>(), Ok(id));
        let big = MachineMailId::new(2027, 1_234_567).expect("id");
        assert_eq!(big.to_string().parse::<MachineMailId>(), Ok(big));
        for bad in [
            "M-2026-42",
            "M-2026-0000042",
            "M-26-000042",
            "X-2026-000042",
            "M-2026-000000",
            "M-2026-000042-1",
            "FOI-2026-000042",
            "M-2026-00004a",
            "",
        ] {
            assert!(bad.parse::<MachineMailId>().is_err(), "{bad}");
        }
        let json = serde_json::to_string(&id).expect("json");
        assert_eq!(json, "\"M-2026-000042\"");
    }
}
