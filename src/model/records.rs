//! Records the store keeps besides cases: outbox rows, IMAP cursors, `seen` markers, marks.
//!
//! Plain serde data; how they are keyed and indexed lives in `keys` and `apply`.

use crate::model::case::CaseRef;
use crate::model::kind::Kind;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where the daemon is in one IMAP mailbox: UIDs are only meaningful within one UIDVALIDITY
/// (RFC 9051 §2.3.1.1), so both are stored together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The mailbox's UIDVALIDITY when `last_uid` was processed.
    pub uidvalidity: u32,
    /// Highest UID fully processed (its case, audit and outbox rows committed).
    pub last_uid: u32,
}

/// Where an outbox row is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    /// Waiting to be sent at `next_attempt_at` (first try or a retry after a transient failure).
    Pending,
    /// Handed to the mail server at `next_attempt_at` and not yet recorded: written and flushed
    /// before the SMTP transaction, so a row found in this state when the worker starts was in
    /// flight when the process died (it may or may not have gone). Still in the due index, so a
    /// restarted worker finds it; sent at most once more (see `OutboxRow::interrupted`).
    Sending,
    /// Sent; kept as the record of what went out.
    Sent,
    /// Given up (permanent failure or too many attempts); needs a person.
    Failed,
}

/// One piece of mail (or other side effect) to perform after a commit: the durable send queue.
///
/// The row is written in the same transaction as the case it belongs to, so a crash can never
/// lose an acknowledgement or send one for a case that was not stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxRow {
    /// Allocated by the store, increasing, never reused.
    pub id: u64,
    /// The case it is about, if any. For a row created with a new case this is the reference the
    /// store allocated, so a renderer can read the case at send time.
    #[serde(default)]
    pub case: Option<CaseRef>,
    /// When it was enqueued.
    pub created_at: DateTime<Utc>,
    /// What to do, opaque to the store (template name, recipients, message-id…).
    pub payload: serde_json::Value,
    /// Where the row is in its life.
    pub status: OutboxStatus,
    /// How many sends were tried.
    #[serde(default)]
    pub attempts: u32,
    /// The last failure, for the operator.
    #[serde(default)]
    pub last_error: Option<String>,
    /// Earliest time to try (again) while `Pending`; when the send began while `Sending`.
    pub next_attempt_at: DateTime<Utc>,
    /// How many times the row was found `Sending` by a (re)started worker: sends cut off by a
    /// crash, each of which may have been delivered. The first is sent once more; the second
    /// fails the row for a person, so a crash loop can never become a mail loop.
    #[serde(default)]
    pub interrupted: u32,
}

impl OutboxStatus {
    /// Whether a row in this state is still the worker's to finish (`Pending` or `Sending`):
    /// such rows, and only such rows, are in the outbox due index.
    pub fn is_queued(self) -> bool {
        matches!(self, OutboxStatus::Pending | OutboxStatus::Sending)
    }
}

/// A message that created no case (machine mail, duplicates…), remembered so that a re-delivery
/// is recognised as well as one that did create a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeenRecord {
    /// When it was processed.
    pub at: DateTime<Utc>,
    /// Its Message-ID (no angle brackets), if it had one.
    #[serde(default)]
    pub message_id: Option<String>,
    /// SHA-256 of its raw bytes (lower-case hex), if known.
    #[serde(default)]
    pub content_hash: Option<String>,
    /// What it was classified as, if it was classified.
    #[serde(default)]
    pub kind: Option<Kind>,
    /// Why it created nothing, in words.
    #[serde(default)]
    pub why: String,
}

/// How to look up a [`SeenRecord`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeenKey<'a> {
    /// By Message-ID (angle brackets optional).
    MessageId(&'a str),
    /// By content hash.
    ContentHash(&'a str),
}

/// Order of [`crate::io::store::Store::list_cases`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CaseOrder {
    /// By reference: prefix, year, sequence (the store's key order).
    #[default]
    Reference,
    /// By time of receipt, then reference.
    Received,
}

/// A message whose triage has started and not yet finished: written and flushed before triage,
/// cleared in the transaction that records the message. One still present when the message comes
/// up again means processing died on it (a crash, an abort, a kill, a stack overflow that no
/// `catch_unwind` sees), so the count is how many times this message has killed intake.
///
/// Kept as a mark under `intake/attempt/<content hash>` (see `core::plan::poison`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntakeAttempt {
    /// Attempts started and never finished, this one included once it is written.
    pub count: u32,
    /// When the first attempt started.
    pub first_at: DateTime<Utc>,
    /// When the latest attempt started.
    pub last_at: DateTime<Utc>,
    /// Mailbox of the latest attempt (as the server spells it).
    pub mailbox: String,
    /// Its UIDVALIDITY.
    pub uidvalidity: u32,
    /// Its UID.
    pub uid: u32,
}

/// A message intake gave up on and put in the quarantine folder: a person must read it and, if it
/// is a request, log it by hand. Listed by `foi-triage case list` until a person clears it
/// (`foi-triage case triaged`), and in the first manager digest after it. Holds no personal data (no sender, no subject): staff find the message in
/// the quarantine folder by its UID or content hash.
///
/// Kept as a mark under `intake/needs-triage/<content hash>` (see `core::plan::poison`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeedsTriage {
    /// When it was quarantined.
    pub at: DateTime<Utc>,
    /// The mailbox it was in.
    pub mailbox: String,
    /// That mailbox's UIDVALIDITY.
    pub uidvalidity: u32,
    /// Its UID there (before the move to the quarantine folder).
    pub uid: u32,
    /// Content hash (as in `seen` records).
    pub content_hash: String,
    /// Why intake gave up, in words (no message content).
    pub why: String,
}

/// What intake could not do to a message still in the mailbox ([`StuckMessage::stage`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StuckStage {
    /// Fetching it failed (the server refused it, or it did not arrive in time) when it was
    /// fetched on its own.
    Fetch,
    /// It is recorded, but filing it into its folder failed.
    File,
    /// Fetching it failed too often: it is to be moved to the quarantine folder unread, and
    /// moving it failed (or has not been tried yet).
    Quarantine,
}

/// A message intake could not finish with: left in the mailbox, tried again later (a doubling
/// delay), not fetched or filed again on every reconnect in between. Its failures are counted so
/// that a message that keeps failing is quarantined or shown to people instead of retried in
/// silence.
///
/// Kept as a mark under `intake/stuck/<mailbox>/<uidvalidity>/<uid>` (see `core::plan::stuck`);
/// no personal data (server errors name folders, not senders).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StuckMessage {
    /// What failed.
    pub stage: StuckStage,
    /// Failures at this stage so far.
    pub failures: u32,
    /// When the first failure happened.
    pub first_at: DateTime<Utc>,
    /// When the latest failure happened.
    pub last_at: DateTime<Utc>,
    /// Not to be tried again before this.
    pub next_attempt_at: DateTime<Utc>,
    /// The mailbox it is in (as configured).
    pub mailbox: String,
    /// That mailbox's UIDVALIDITY.
    pub uidvalidity: u32,
    /// Its UID there.
    pub uid: u32,
    /// Where it is to be filed (as configured when it failed): [`StuckStage::File`] and
    /// [`StuckStage::Quarantine`].
    #[serde(default)]
    pub folder: Option<String>,
    /// Its content hash, once it was recorded ([`StuckStage::File`]): the next try files it
    /// where its case now belongs, so a corrected folder setting is followed.
    #[serde(default)]
    pub content_hash: Option<String>,
    /// The latest error, as the server or the client gave it.
    pub error: String,
    /// People were told (a "needs human triage" entry was written).
    #[serde(default)]
    pub alerted: bool,
}
