//! The poison-message guard: one message that kills intake must never stop the messages after it.
//!
//! Some failures cannot be caught inside the process: a stack overflow in a decoder aborts it, an
//! allocation failure kills it, an operator or systemd kills a hung daemon. Nothing is committed,
//! so after the restart the same message comes first again and, without a guard, kills intake
//! again, for ever. The guard counts deaths durably:
//!
//! 1. Before triage, [`gate`] reads the message's [`IntakeAttempt`] (by content hash) and either
//!    plans the attempt (count + 1, to be applied **and flushed** before triage starts), or gives
//!    up when the count already shows [`MAX_DEATHS`] deaths.
//! 2. The transaction that records the message clears the attempt ([`settle`]): a message that
//!    was processed leaves nothing behind.
//! 3. Giving up ([`plan_needs_triage`]) quarantines the message (its `seen` record and the cursor,
//!    as for any message that cannot be recorded), clears the attempt and writes a
//!    [`NeedsTriage`] record so that people see it (`case list`, the manager digest).
//!
//! Keyed by content hash, not UID: the same bytes kill the same code wherever they are delivered,
//! and a rescan after a UIDVALIDITY change must not reset the count.
//!
//! Pure: no clock, no store; the caller reads the attempt and applies the changes.

use crate::core::plan::ingest::{Position, plan_quarantine};
use crate::model::change::{Change, Mark};
use crate::model::records::{IntakeAttempt, NeedsTriage};
use chrono::{DateTime, Utc};

/// Deaths after which a message is quarantined instead of triaged: the second death rules out a
/// coincidence (a restart, a power cut during the first attempt), a third would only prolong the
/// outage.
pub const MAX_DEATHS: u32 = 2;

/// Mark prefix of [`IntakeAttempt`] records.
pub const ATTEMPT_PREFIX: &str = "intake/attempt/";

/// Mark prefix of [`NeedsTriage`] records.
pub const NEEDS_TRIAGE_PREFIX: &str = "intake/needs-triage/";

/// The mark key of a message's attempt record.
pub fn attempt_key(content_hash: &str) -> String {
    format!("{ATTEMPT_PREFIX}{content_hash}")
}

/// The mark key of a message's "needs human triage" record.
pub fn needs_triage_key(content_hash: &str) -> String {
    format!("{NEEDS_TRIAGE_PREFIX}{content_hash}")
}

/// What to do with a message before triage.
#[derive(Debug, Clone, PartialEq)]
pub enum Gate {
    /// Triage it, after applying and flushing `record` (the attempt, counted).
    Triage {
        /// Writes the attempt record.
        record: Change,
        /// Which attempt this is (1 for the first).
        attempt: u32,
    },
    /// Do not triage: it killed intake [`MAX_DEATHS`] times. Apply `change` and file the message
    /// into the quarantine folder.
    GiveUp {
        /// Quarantine record, "needs human triage" record, attempt cleared, cursor.
        change: Change,
        /// Why, in words (for the `seen` record, the log and people).
        why: String,
    },
}

/// Decides whether a message is triaged (and plans its attempt record) or given up on, from the
/// attempt record left by earlier attempts (`None`: never tried, or finished).
pub fn gate(
    previous: Option<&IntakeAttempt>,
    content_hash: &str,
    position: &Position,
    now: DateTime<Utc>,
) -> Gate {
    let deaths = previous.map_or(0, |a| a.count);
    if deaths >= MAX_DEATHS {
        let why = format!(
            "processing died {deaths} times on this message (crash, abort or kill); \
             not triaged again"
        );
        let change = plan_needs_triage(None, content_hash, &why, position, now);
        return Gate::GiveUp { change, why };
    }
    let attempt = IntakeAttempt {
        count: deaths + 1,
        first_at: previous.map_or(now, |a| a.first_at),
        last_at: now,
        mailbox: position.mailbox.clone(),
        uidvalidity: position.uidvalidity,
        uid: position.uid,
    };
    let record = Change {
        marks: vec![Mark {
            key: attempt_key(content_hash),
            value: serde_json::to_value(&attempt).unwrap_or_default(),
        }],
        ..Change::default()
    };
    Gate::Triage {
        record,
        attempt: attempt.count,
    }
}

/// Adds the clearing of the message's attempt record to the change that records it, so that the
/// record and the message's outcome are one transaction.
pub fn settle(change: &mut Change, content_hash: &str) {
    change.marks_cleared.push(attempt_key(content_hash));
}

/// Plans the quarantine of a message people must triage by hand: its `seen` record and the
/// cursor (as [`plan_quarantine`]), a [`NeedsTriage`] record, and its attempt record cleared.
pub fn plan_needs_triage(
    message_id: Option<String>,
    content_hash: &str,
    why: &str,
    position: &Position,
    now: DateTime<Utc>,
) -> Change {
    let mut change = plan_quarantine(message_id, content_hash, why, position, now);
    let record = NeedsTriage {
        at: now,
        mailbox: position.mailbox.clone(),
        uidvalidity: position.uidvalidity,
        uid: position.uid,
        content_hash: content_hash.to_string(),
        why: why.to_string(),
    };
    change.marks.push(Mark {
        key: needs_triage_key(content_hash),
        value: serde_json::to_value(&record).unwrap_or_default(),
    });
    settle(&mut change, content_hash);
    change
}

/// Takes back the attempt [`gate`] recorded, when processing failed for a reason that is not the
/// message's fault (the store or the server): the record `previous` is written again, or the
/// record cleared when there was none. A persistent store error must not quarantine good mail.
pub fn undo(previous: Option<&IntakeAttempt>, content_hash: &str) -> Change {
    match previous {
        Some(a) => Change {
            marks: vec![Mark {
                key: attempt_key(content_hash),
                value: serde_json::to_value(a).unwrap_or_default(),
            }],
            ..Change::default()
        },
        None => Change {
            marks_cleared: vec![attempt_key(content_hash)],
            ..Change::default()
        },
    }
}

/// The "needs human triage" records among `marks` (as read by prefix from the store), oldest
/// first; a record that does not decode is skipped (the caller logs the count it got against the
/// marks it read).
pub fn needs_triage(marks: &[(String, serde_json::Value)]) -> Vec<NeedsTriage> {
    let mut out: Vec<NeedsTriage> = marks
        .iter()
        .filter(|(k, _)| k.starts_with(NEEDS_TRIAGE_PREFIX))
        .filter_map(|(_, v)| serde_json::from_value(v.clone()).ok())
        .collect();
    out.sort_by(|a, b| (a.at, &a.content_hash).cmp(&(b.at, &b.content_hash)));
    out
}

#[cfg(test)]
mod tests;
