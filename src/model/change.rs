//! [`Change`]: everything one ingest (or one staff action) writes, as plain data.
//!
//! The daemon plans a change purely (no I/O), then hands it to `io::store::Store::apply`, which
//! writes all of it in one sled transaction or none of it. Nothing here touches the store.

use crate::model::case::{AuditEvent, Case, CaseDraft, CaseRef};
use crate::model::machine::{MachineMailDraft, MachineMailId};
use crate::model::records::{Cursor, OutboxStatus, SeenRecord};
use chrono::{DateTime, Utc};

/// A whole unit of work, applied atomically.
///
/// Apply order inside the transaction: new case, case updates, audit appends, `seen` records
/// forgotten, `seen` records written, machine mail kept, opened and purged,
/// new outbox rows, outbox updates, marks cleared, marks set, cursor. Indexes are derived from the cases written, never
/// given separately, so they cannot disagree with the cases.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Change {
    /// A case to create; the store allocates its reference.
    pub new_case: Option<NewCase>,
    /// Existing cases to replace (every index is kept consistent with the new value).
    pub case_updates: Vec<CaseUpdate>,
    /// Audit events to append, in order.
    pub audit: Vec<AuditAppend>,
    /// Messages that created nothing, remembered for dedupe. The first record for a key wins.
    pub seen: Vec<SeenRecord>,
    /// Content hashes whose `seen` records are forgotten (with the Message-ID key the record
    /// holds), applied before `seen`: a person released a quarantined message, so when it is put
    /// back in the inbox it is triaged afresh instead of filed as already seen.
    pub seen_forgotten: Vec<String>,
    /// Outbox rows to enqueue (as `Pending`), in order.
    pub outbox_new: Vec<NewOutboxRow>,
    /// Outbox rows to move on (sent, failed, retry later).
    pub outbox_updates: Vec<OutboxUpdate>,
    /// IMAP cursor to advance.
    pub cursor: Option<CursorUpdate>,
    /// Small named facts to set (overwrite): chasers sent, digest times, round-robin counters.
    pub marks: Vec<Mark>,
    /// Marks to delete, applied before `marks` (so a key both cleared and set ends up set). A
    /// missing key is not an error: clearing is how a finished piece of work forgets its
    /// bookkeeping (an intake attempt, for one), and it may never have been written.
    pub marks_cleared: Vec<String>,
    /// A message filed without a case, kept for people with its raw bytes; the store allocates
    /// its id ([`Applied::machine_mail`]).
    pub machine_mail: Option<NewMachineMail>,
    /// Machine-mail records turned into a case: each must exist and not be opened yet, else the
    /// whole change fails (`StoreError::MachineMailOpened`), so a record makes one case at most.
    pub machine_mail_opened: Vec<MachineMailOpened>,
    /// Machine-mail records to delete with their raw bytes (retention); a missing one is not an
    /// error.
    pub machine_mail_purged: Vec<MachineMailId>,
}

/// A named fact the scheduler or the router keeps: `chaser/FOI-2026-000123/2026-12-21/before:5`
/// → when it was queued; `digest/team-x` → last sent; `rr/team-x` → next member. Written in the
/// same transaction as the mail it accounts for, so "sent exactly once" survives restarts.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    /// The key: `/`-separated, prefix first (scanned with [`crate::io::store::Store::marks`]).
    pub key: String,
    /// The value.
    pub value: serde_json::Value,
}

impl Change {
    /// Adds everything `other` writes to this change, to apply in the same transaction: its lists
    /// after this change's own, its new case and cursor where this change has none (a change
    /// creates one case and moves one cursor at most, so the caller never merges two of either).
    pub fn absorb(&mut self, other: Change) {
        if self.new_case.is_none() {
            self.new_case = other.new_case;
        }
        if self.cursor.is_none() {
            self.cursor = other.cursor;
        }
        self.case_updates.extend(other.case_updates);
        self.audit.extend(other.audit);
        self.seen.extend(other.seen);
        self.outbox_new.extend(other.outbox_new);
        self.outbox_updates.extend(other.outbox_updates);
        self.marks.extend(other.marks);
        self.marks_cleared.extend(other.marks_cleared);
        if self.machine_mail.is_none() {
            self.machine_mail = other.machine_mail;
        }
        self.machine_mail_opened.extend(other.machine_mail_opened);
        self.machine_mail_purged.extend(other.machine_mail_purged);
    }

    /// Whether the change writes nothing at all.
    pub fn is_empty(&self) -> bool {
        self.new_case.is_none()
            && self.case_updates.is_empty()
            && self.audit.is_empty()
            && self.seen.is_empty()
            && self.seen_forgotten.is_empty()
            && self.outbox_new.is_empty()
            && self.outbox_updates.is_empty()
            && self.cursor.is_none()
            && self.marks.is_empty()
            && self.marks_cleared.is_empty()
            && self.machine_mail.is_none()
            && self.machine_mail_opened.is_empty()
            && self.machine_mail_purged.is_empty()
    }
}

/// A case to create. The reference is `prefix-year-next`, allocated inside the transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCase {
    /// Reference prefix (`FOI`), 2..=6 letters; chosen by the caller from the kind and config.
    pub prefix: String,
    /// Reference year: the year of `received_at` in Europe/London. The caller converts, so the
    /// store stays free of time zones.
    pub year: i32,
    /// The case without its reference.
    pub draft: CaseDraft,
}

/// A machine-mail record to keep, with the message's raw bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMachineMail {
    /// The id's year: the year of `draft.received_at` in Europe/London (the caller converts, so
    /// the store stays free of time zones).
    pub year: i32,
    /// The record without its id.
    pub draft: MachineMailDraft,
    /// The message as fetched (bounded by `imap.max_message_bytes`: a larger one in part).
    pub raw: Vec<u8>,
}

/// A machine-mail record turned into a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineMailOpened {
    /// The record.
    pub id: MachineMailId,
    /// The case made from it (usually the change's new case).
    pub case: CaseTarget,
    /// Who asked.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// Replace an existing case.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseUpdate {
    /// The new value; `case.reference` names the case, which must exist.
    pub case: Case,
    /// Optimistic check: when `Some`, the stored case must equal this (the copy the caller read),
    /// else the whole change fails with `StoreError::Conflict`. `None` overwrites.
    pub expected: Option<Case>,
}

/// Which case a record in the change belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseTarget {
    /// The case this change creates (`Change::new_case`, which must be set).
    New,
    /// An existing case, which must exist.
    Existing(CaseRef),
}

/// One audit event to append to a case.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditAppend {
    /// The case.
    pub case: CaseTarget,
    /// The event; `actor` and `action` must not be empty.
    pub event: AuditEvent,
}

impl AuditAppend {
    /// Every event in `events`, in order, on the same case.
    pub fn all(case: &CaseTarget, events: Vec<AuditEvent>) -> Vec<AuditAppend> {
        events
            .into_iter()
            .map(|event| AuditAppend {
                case: case.clone(),
                event,
            })
            .collect()
    }
}

/// An outbox row to enqueue; the store gives it an id and `Pending` status.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOutboxRow {
    /// The case it is about, if any.
    pub case: Option<CaseTarget>,
    /// When it was enqueued.
    pub created_at: DateTime<Utc>,
    /// What to do, opaque to the store.
    pub payload: serde_json::Value,
    /// Earliest time to send (usually `created_at`; later to delay or batch).
    pub next_attempt_at: DateTime<Utc>,
    /// Who the mail goes to, when it is mail to one address: indexed with `created_at` so the
    /// acknowledgement rate limit ([`crate::io::store::Store::outbox_count_to`]) never scans the outbox.
    pub recipient: Option<String>,
}

/// New values for the mutable fields of an outbox row (its id, case, creation time and payload
/// never change).
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxUpdate {
    /// The row, which must exist.
    pub id: u64,
    /// New status.
    pub status: OutboxStatus,
    /// New attempt count.
    pub attempts: u32,
    /// New last error.
    pub last_error: Option<String>,
    /// New earliest attempt time (used while `Pending`; the attempt's start while `Sending`).
    pub next_attempt_at: DateTime<Utc>,
    /// New count of sends cut off by a crash (see `OutboxRow::interrupted`).
    pub interrupted: u32,
}

/// Advance the cursor of one mailbox.
///
/// Within one UIDVALIDITY the cursor never moves back: the stored `last_uid` becomes the larger of
/// the old and new values, so out-of-order commits cannot make the daemon skip or lose mail. A
/// different UIDVALIDITY replaces the cursor (the server renumbered the mailbox; resync).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorUpdate {
    /// Mailbox name as the server spells it (`INBOX`).
    pub mailbox: String,
    /// The new position.
    pub cursor: Cursor,
}

/// What `io::store::Store::apply` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// The reference allocated to `Change::new_case`.
    pub new_case: Option<CaseRef>,
    /// Ids of `Change::outbox_new` rows, in the same order.
    pub outbox_ids: Vec<u64>,
    /// Message-IDs that already pointed at another case and were left there (senders reuse
    /// Message-IDs; the first case keeps it).
    pub message_id_conflicts: Vec<MessageIdConflict>,
    /// The cursor as stored after the change, when the change set one.
    pub cursor: Option<Cursor>,
    /// The id allocated to `Change::machine_mail`.
    pub machine_mail: Option<MachineMailId>,
}

/// A Message-ID that a case lists but the index keeps pointing at an earlier case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageIdConflict {
    /// The Message-ID (normalised).
    pub message_id: String,
    /// The case the index points at.
    pub existing: CaseRef,
    /// The case that also lists it.
    pub wanted: CaseRef,
}
