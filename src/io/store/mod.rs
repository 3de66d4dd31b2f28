//! The durable store: cases, their audit trails, dedupe indexes, the outbox and IMAP cursors, in
//! sled 0.34.7.
//!
//! # Design
//! - **One write path.** [`Store::apply`] takes a [`Change`] (plain data planned by the pure
//!   pipeline) and writes all of it in one multi-tree sled transaction: the new case with its
//!   freshly allocated reference, case updates, audit events, `seen` markers, outbox rows and the
//!   IMAP cursor. Either everything is written or nothing is. It then flushes (fsync) before
//!   returning, so once `apply` returns `Ok` a crash cannot lose the change, and the caller may
//!   move or flag the IMAP message. A crash before that means the message is processed again and
//!   found by the dedupe lookups.
//! - **Indexes are derived, never given.** Message-ID, content hash, requester and due-date index
//!   entries are computed from the case being written (old value versus new), so they cannot
//!   drift from the cases.
//! - **Audit is append-only.** Events are keyed by case and a per-case counter; there is no API
//!   to edit or delete one.
//! - **Versioned.** A schema version is stamped in a new store. A store of an older version is
//!   brought up to date by the migrations in `migrate` when it opens; a newer, unknown or
//!   unreadable version is refused with [`StoreError::UnknownSchema`], never guessed at.
//! - **Backed up whole.** [`Store::export`] writes every tree, in a portable format, while
//!   writers wait ([`backup`]); [`backup::restore`] rebuilds a store from it; [`Store::verify`]
//!   checks every index and invariant ([`verify`]). Every tree is listed once in `trees`, and
//!   all three refuse a store holding a tree that table does not know.
//! - **No panics on bytes.** Every record is decoded with an error that names the tree and key.
//!
//! # Trees
//! | tree | key | value |
//! |---|---|---|
//! | `cases` | case key `FOI-2026-0000000123` | [`Case`] JSON |
//! | `audit` | case key + event number (u64 BE) | [`AuditEvent`] JSON |
//! | `sequences` | `case\0PREFIX\0YEAR`, `audit\0`case key, `outbox` | last number (u64 BE) |
//! | `idx_msgid` | Message-ID | case key |
//! | `idx_hash` | content hash | case key |
//! | `idx_requester` | lower-cased e-mail `\0` case key | empty |
//! | `idx_due` | `YYYY-MM-DD\0` case key (unfinished cases only) | empty |
//! | `outbox` | row id (u64 BE) | [`OutboxRow`] JSON |
//! | `idx_outbox_due` | attempt time (µs) + row id (pending and sending rows only) | empty |
//! | `idx_outbox_to` | recipient's mailbox key (lower-cased, `+tag` dropped) `\0` enqueue time (µs) + row id | empty |
//! | `cursors` | mailbox name | [`Cursor`] JSON |
//! | `seen` | `m\0`Message-ID or `h\0`hash | [`SeenRecord`] JSON |
//! | `marks` | `/`-separated name | JSON value ([`Mark`]) |
//! | `raw` | content hash | the request's raw bytes (outside transactions; see [`Store::put_raw`]) |
//! | `machine` | `m` + number (u64 BE) / `r` + number | [`MachineMail`] JSON / its raw bytes |
//!
//! Case keys pad the sequence to ten digits so that byte order is reference order; the
//! reference as people see it (`FOI-2026-000123`) is [`CaseRef`]'s `Display`.
//!
//! # Not here
//! No clock (callers pass `now`), no time zones (callers pass the reference year), no workflow
//! decisions, no mail. sled's caveats (beta status, recovery after abrupt kills) are why the store
//! offers [`Store::export`] for backups.

mod apply;
pub mod backup;
mod error;
#[cfg(test)]
mod fixture;
mod gate;
mod keys;
mod migrate;
#[cfg(test)]
mod tests;
mod trees;
pub mod verify;

pub use crate::model::change::{
    Applied, AuditAppend, CaseTarget, CaseUpdate, Change, CursorUpdate, MachineMailOpened, Mark,
    MessageIdConflict, NewCase, NewMachineMail, NewOutboxRow, OutboxUpdate,
};
pub use crate::model::records::{CaseOrder, Cursor, OutboxRow, OutboxStatus, SeenKey, SeenRecord};
pub use error::StoreError;

use crate::model::case::{AuditEvent, Case, CaseRef, YEAR_MAX, YEAR_MIN};
use crate::model::machine::{MachineMail, MachineMailId};
use crate::model::message::mailbox_key;
use apply::{Tx, decode, index_ref};
use chrono::{DateTime, NaiveDate, Utc};
use error::show_key;
use sled::Tree;
use sled::transaction::{TransactionError, Transactional};
use std::fmt;
use std::ops::RangeBounds;
use std::path::Path;
use std::sync::Arc;

/// The schema version this build reads and writes. Bump it (and add a migration) whenever a key
/// layout or a record changes incompatibly; additive `#[serde(default)]` fields do not need it.
pub const SCHEMA_VERSION: u32 = 1;

/// sled page cache size, in bytes: 64 MiB. sled's default is 1 GiB, far more than a team's few
/// thousand cases a year need, on a machine shared with other services.
pub const CACHE_CAPACITY_BYTES: u64 = 64 * 1024 * 1024;

/// Pause between attempts to take sled's file lock: 20 ms.
const LOCK_RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(20);
/// Attempts to take sled's file lock before reporting [`StoreError::Locked`]: 50 × 20 ms ≈ 1 s,
/// long enough for sled's I/O threads to let go after a drop, short enough to fail fast when a
/// daemon really holds the store.
const LOCK_ATTEMPTS: u32 = 50;

/// Key of the schema version in sled's default tree; the value is the version in ASCII decimal.
const SCHEMA_KEY: &[u8] = b"schema_version";

/// Longest version marker we quote back in [`StoreError::UnknownSchema`], in bytes.
const SCHEMA_QUOTE_MAX: usize = 32;

pub(crate) const TREE_CASES: &str = "cases";
pub(crate) const TREE_AUDIT: &str = "audit";
pub(crate) const TREE_SEQUENCES: &str = "sequences";
pub(crate) const TREE_IDX_MSGID: &str = "idx_msgid";
pub(crate) const TREE_IDX_HASH: &str = "idx_hash";
pub(crate) const TREE_IDX_REQUESTER: &str = "idx_requester";
pub(crate) const TREE_IDX_DUE: &str = "idx_due";
pub(crate) const TREE_OUTBOX: &str = "outbox";
pub(crate) const TREE_IDX_OUTBOX_DUE: &str = "idx_outbox_due";
pub(crate) const TREE_IDX_OUTBOX_TO: &str = "idx_outbox_to";
pub(crate) const TREE_CURSORS: &str = "cursors";
pub(crate) const TREE_SEEN: &str = "seen";
pub(crate) const TREE_MARKS: &str = "marks";
pub(crate) const TREE_RAW: &str = "raw";
pub(crate) const TREE_MACHINE: &str = "machine";
/// Name used in errors for sled's default tree (the schema marker) and whole-db operations.
const TREE_DB: &str = "db";

/// Handle on the store. Cheap to clone (sled handles are reference-counted) and `Send + Sync`,
/// so the daemon's tasks can share one.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    cases: Tree,
    audit: Tree,
    sequences: Tree,
    idx_msgid: Tree,
    idx_hash: Tree,
    idx_requester: Tree,
    idx_due: Tree,
    outbox: Tree,
    idx_outbox_due: Tree,
    idx_outbox_to: Tree,
    cursors: Tree,
    seen: Tree,
    marks: Tree,
    raw: Tree,
    machine: Tree,
    /// Shared by every handle of this open store: see [`Store::write_failed`].
    write_failure: Arc<WriteFailure>,
    /// Shared by every handle of this open store: holds writers back while a backup or a check
    /// reads every tree (see `gate`).
    gate: Arc<gate::Gate>,
}

/// The first write an open store could not make.
///
/// After an I/O error (a full disk) sled refuses every later write of the process, also once
/// space returns, while reads still show the change that failed. Going on would be pointless
/// and misleading, so the owner of the process stops when this is set; opening the store again
/// (a restart) recovers everything that was flushed.
#[derive(Default)]
struct WriteFailure {
    first: std::sync::OnceLock<String>,
    set: tokio::sync::Notify,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No counts: sled's `len` is a full scan.
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Open (or create) the store in `dir`.
    ///
    /// # Errors
    /// - [`StoreError::Locked`] when another process has it open (sled takes an exclusive lock);
    ///   reported after waiting about a second, see `LOCK_ATTEMPTS`.
    /// - [`StoreError::UnknownSchema`] when it was written by another schema version.
    /// - [`StoreError::Open`] / [`StoreError::Sled`] when sled cannot read it.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        make_private_dir(dir)?;
        let config = sled::Config::new()
            .path(dir)
            .cache_capacity(CACHE_CAPACITY_BYTES);
        let mut attempt = 1;
        let db = loop {
            match config.open() {
                Ok(db) => break db,
                // NOTE: sled 0.34.7 releases its file lock asynchronously: after the last handle
                // of a Db drops, its I/O threads may hold the file a little longer. So a process
                // reopening its own store (tests, an in-process restart) waits briefly instead of
                // failing; a store held by another live process still fails after LOCK_WAIT.
                Err(e) if is_lock_error(&e) && attempt < LOCK_ATTEMPTS => {
                    attempt += 1;
                    std::thread::sleep(LOCK_RETRY_PAUSE);
                }
                Err(source) if is_lock_error(&source) => {
                    return Err(StoreError::Locked {
                        path: dir.to_path_buf(),
                        source,
                    });
                }
                Err(source) => {
                    return Err(StoreError::Open {
                        path: dir.to_path_buf(),
                        source,
                    });
                }
            }
        };
        make_private_tree(dir)?;
        Store::from_db(db)
    }

    /// A fresh store in a temporary location, deleted when the last handle drops. For tests.
    ///
    /// # Errors
    /// [`StoreError::Open`] when sled cannot create it.
    pub fn open_temporary() -> Result<Store, StoreError> {
        let db = sled::Config::new()
            .temporary(true)
            .cache_capacity(CACHE_CAPACITY_BYTES)
            .open()
            .map_err(|source| StoreError::Open {
                path: "<temporary>".into(),
                source,
            })?;
        Store::from_db(db)
    }

    fn from_db(db: sled::Db) -> Result<Store, StoreError> {
        check_schema(&db)?;
        let tree = |name: &'static str| {
            db.open_tree(name).map_err(|source| StoreError::Sled {
                op: "open tree",
                tree: name,
                source,
            })
        };
        let store = Store {
            cases: tree(TREE_CASES)?,
            audit: tree(TREE_AUDIT)?,
            sequences: tree(TREE_SEQUENCES)?,
            idx_msgid: tree(TREE_IDX_MSGID)?,
            idx_hash: tree(TREE_IDX_HASH)?,
            idx_requester: tree(TREE_IDX_REQUESTER)?,
            idx_due: tree(TREE_IDX_DUE)?,
            outbox: tree(TREE_OUTBOX)?,
            idx_outbox_due: tree(TREE_IDX_OUTBOX_DUE)?,
            idx_outbox_to: tree(TREE_IDX_OUTBOX_TO)?,
            cursors: tree(TREE_CURSORS)?,
            seen: tree(TREE_SEEN)?,
            marks: tree(TREE_MARKS)?,
            raw: tree(TREE_RAW)?,
            machine: tree(TREE_MACHINE)?,
            db,
            write_failure: Arc::default(),
            gate: Arc::default(),
        };
        Ok(store)
    }

    /// The schema version of this store (always [`SCHEMA_VERSION`] once open).
    pub fn schema_version(&self) -> u32 {
        SCHEMA_VERSION
    }

    /// Write a whole [`Change`] atomically, then flush it to disk before returning.
    ///
    /// The new case's reference is allocated inside the same transaction, so concurrent callers
    /// get distinct, gapless references. Blocking: it fsyncs. From async code use
    /// [`Store::apply_async`].
    ///
    /// # Errors
    /// Nothing is written on any error. [`StoreError::InvalidChange`] (malformed change),
    /// [`StoreError::CaseNotFound`] / [`StoreError::OutboxNotFound`] (a named record is missing),
    /// [`StoreError::Conflict`] (optimistic check failed), [`StoreError::DuplicateHash`],
    /// [`StoreError::Corrupt`], [`StoreError::Sled`]. A failed flush is reported as
    /// [`StoreError::Sled`]: the change may or may not survive a crash, so treat it as not done
    /// (processing again is safe thanks to the dedupe lookups).
    pub fn apply(&self, change: Change) -> Result<Applied, StoreError> {
        let applied = self.commit(&change)?;
        self.flush()?;
        Ok(applied)
    }

    /// [`Store::apply`] for async callers: the transaction itself is short and CPU-bound; the
    /// fsync runs on sled's own threads (`flush_async`), so the runtime is not blocked on disk.
    ///
    /// # Errors
    /// As [`Store::apply`].
    pub async fn apply_async(&self, change: Change) -> Result<Applied, StoreError> {
        let applied = {
            // Waits without blocking the runtime while a backup reads (see `gate`).
            let _pass = self.gate.shared_async().await;
            self.write(&change)?
        };
        self.db.flush_async().await.map_err(|source| {
            self.failed(StoreError::Sled {
                op: "flush",
                tree: TREE_DB,
                source,
            })
        })?;
        Ok(applied)
    }

    /// [`Store::apply`] without the flush: for bulk work (historical import) that flushes once
    /// per batch with [`Store::flush`]. A crash may lose changes committed since the last flush,
    /// never half of one.
    ///
    /// # Errors
    /// As [`Store::apply`], except that nothing is flushed.
    pub fn apply_unflushed(&self, change: Change) -> Result<Applied, StoreError> {
        self.commit(&change)
    }

    /// Validate and commit a change without flushing, once no backup is reading.
    fn commit(&self, change: &Change) -> Result<Applied, StoreError> {
        let _pass = self.gate.shared();
        self.write(change)
    }

    /// Validate and commit a change without flushing; the caller holds the gate's shared pass.
    fn write(&self, change: &Change) -> Result<Applied, StoreError> {
        apply::validate(change)?;
        if change.is_empty() {
            return Ok(Applied::default());
        }
        let trees = (
            &self.cases,
            &self.audit,
            &self.sequences,
            &self.idx_msgid,
            &self.idx_hash,
            &self.idx_requester,
            &self.idx_due,
            &self.outbox,
            &self.idx_outbox_due,
            &self.idx_outbox_to,
            &self.cursors,
            &self.seen,
            &self.marks,
            &self.machine,
        );
        trees
            .transaction(
                |(
                    cases,
                    audit,
                    sequences,
                    idx_msgid,
                    idx_hash,
                    idx_requester,
                    idx_due,
                    outbox,
                    idx_outbox_due,
                    idx_outbox_to,
                    cursors,
                    seen,
                    marks,
                    machine,
                )| {
                    let tx = Tx {
                        cases,
                        audit,
                        sequences,
                        idx_msgid,
                        idx_hash,
                        idx_requester,
                        idx_due,
                        outbox,
                        idx_outbox_due,
                        idx_outbox_to,
                        cursors,
                        seen,
                        marks,
                        machine,
                    };
                    apply::run(&tx, change)
                },
            )
            .map_err(|e| match e {
                TransactionError::Abort(e) => e,
                TransactionError::Storage(source) => self.failed(StoreError::Sled {
                    op: "commit",
                    tree: "transaction",
                    source,
                }),
            })
    }

    /// Flush every pending write to disk. `apply` already does this; useful at shutdown.
    ///
    /// # Errors
    /// [`StoreError::Sled`] when the fsync fails.
    pub fn flush(&self) -> Result<usize, StoreError> {
        self.db.flush().map_err(|source| {
            self.failed(StoreError::Sled {
                op: "flush",
                tree: TREE_DB,
                source,
            })
        })
    }

    /// Resolves, with the error's text, once a write of this open store has failed in sled
    /// (I/O: a full or failing disk). From then on sled refuses every write of this process
    /// while reads still show the failed change, so the daemon stops (non-zero, to be
    /// restarted) rather than run on a store that cannot record anything. A refused change
    /// (conflict, invalid, missing case: nothing written, the store is fine) does not count.
    pub async fn write_failed(&self) -> String {
        let failure = &self.write_failure;
        loop {
            let set = failure.set.notified();
            tokio::pin!(set);
            set.as_mut().enable();
            if let Some(e) = failure.first.get() {
                return e.clone();
            }
            set.await;
        }
    }

    /// Records `e`, a write sled failed, as this store's write failure (the first one is kept)
    /// and wakes [`Store::write_failed`]; returns `e`.
    fn failed(&self, e: StoreError) -> StoreError {
        if self.write_failure.first.set(e.to_string()).is_ok() {
            self.write_failure.set.notify_waiters();
        }
        e
    }

    /// Test hook: sled itself, to plant what the store would never write (a tree backups do not
    /// know).
    #[cfg(test)]
    pub(crate) fn db_for_test(&self) -> &sled::Db {
        &self.db
    }

    /// Test hook: removes a case record behind the store's back (no index, no audit). A later
    /// change that appends to its audit then fails while reads still work: how the outbox tests
    /// get a store that refuses a write after a send (sled has no fault injection, and a full
    /// disk cannot be made in a unit test).
    #[cfg(test)]
    pub(crate) fn remove_case_for_test(&self, reference: &CaseRef) {
        self.cases
            .remove(keys::case_key(reference))
            .expect("test hook: remove the case record");
    }

    /// The case with this reference, if it exists.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when the record does not decode (or names another reference).
    pub fn get_case(&self, reference: &CaseRef) -> Result<Option<Case>, StoreError> {
        let key = keys::case_key(reference);
        match get(&self.cases, TREE_CASES, &key)? {
            Some(bytes) => decode_case(&key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Every audit event of a case, oldest first. Empty when the case has none (or does not exist).
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] naming the first event that does not decode.
    pub fn audit(&self, reference: &CaseRef) -> Result<Vec<AuditEvent>, StoreError> {
        let prefix = keys::case_key(reference);
        let mut events = Vec::new();
        for item in self.audit.scan_prefix(&prefix) {
            let (k, v) = item.map_err(|source| scan_error(TREE_AUDIT, source))?;
            events.push(decode(TREE_AUDIT, &k, &v)?);
        }
        Ok(events)
    }

    /// The case a Message-ID belongs to (angle brackets optional).
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when the index entry is damaged.
    pub fn find_by_message_id(&self, message_id: &str) -> Result<Option<CaseRef>, StoreError> {
        let Some(id) = keys::msgid_norm(message_id) else {
            return Ok(None);
        };
        lookup_ref(&self.idx_msgid, TREE_IDX_MSGID, id.as_bytes())
    }

    /// The case a raw message (by SHA-256 hex content hash) belongs to.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when the index entry is damaged.
    pub fn find_by_hash(&self, content_hash: &str) -> Result<Option<CaseRef>, StoreError> {
        let Some(h) = keys::hash_norm(content_hash) else {
            return Ok(None);
        };
        lookup_ref(&self.idx_hash, TREE_IDX_HASH, h.as_bytes())
    }

    /// The record of a message that created nothing, if we saw it.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when the record does not decode.
    pub fn find_seen(&self, key: SeenKey<'_>) -> Result<Option<SeenRecord>, StoreError> {
        let k = match key {
            SeenKey::MessageId(id) => keys::msgid_norm(id).map(|id| keys::seen_msgid_key(&id)),
            SeenKey::ContentHash(h) => keys::hash_norm(h).map(|h| keys::seen_hash_key(&h)),
        };
        let Some(k) = k else {
            return Ok(None);
        };
        match get(&self.seen, TREE_SEEN, &k)? {
            Some(v) => decode(TREE_SEEN, &k, &v).map(Some),
            None => Ok(None),
        }
    }

    /// Every case whose requester has this address (compared case-insensitively), by reference.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when an index key is damaged.
    pub fn cases_by_requester(&self, email: &str) -> Result<Vec<CaseRef>, StoreError> {
        let Some(e) = keys::email_norm(email) else {
            return Ok(Vec::new());
        };
        let prefix = keys::requester_prefix(&e);
        let mut refs = Vec::new();
        for item in self.idx_requester.scan_prefix(&prefix) {
            let (k, _) = item.map_err(|source| scan_error(TREE_IDX_REQUESTER, source))?;
            let r =
                keys::requester_ref_from_key(&k, &prefix).ok_or_else(|| StoreError::Corrupt {
                    tree: TREE_IDX_REQUESTER,
                    key: show_key(&k),
                    reason: "key does not end in a case reference".into(),
                })?;
            refs.push(r);
        }
        Ok(refs)
    }

    /// Unfinished cases due on a date in `from..=to`, by date then reference. A range scan of the
    /// due index: its cost grows with the answer, not with the number of cases.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when an index key is damaged.
    pub fn due_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<(NaiveDate, CaseRef)>, StoreError> {
        // Only four-digit years are ever indexed, so clamping the bounds loses nothing.
        let from = from.max(first_indexable_date());
        let to = to.min(last_indexable_date());
        if from > to {
            return Ok(Vec::new());
        }
        self.due_scan(keys::due_lower(from)..keys::due_upper(to))
    }

    /// Unfinished cases due on or before `date` (overdue or due today), by date then reference.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when an index key is damaged.
    pub fn due_on_or_before(
        &self,
        date: NaiveDate,
    ) -> Result<Vec<(NaiveDate, CaseRef)>, StoreError> {
        if date < first_indexable_date() {
            return Ok(Vec::new());
        }
        let date = date.min(last_indexable_date());
        self.due_scan(..keys::due_upper(date))
    }

    fn due_scan<R: RangeBounds<Vec<u8>>>(
        &self,
        range: R,
    ) -> Result<Vec<(NaiveDate, CaseRef)>, StoreError> {
        let mut out = Vec::new();
        for item in self.idx_due.range(range) {
            let (k, _) = item.map_err(|source| scan_error(TREE_IDX_DUE, source))?;
            let entry = keys::due_from_key(&k).ok_or_else(|| StoreError::Corrupt {
                tree: TREE_IDX_DUE,
                key: show_key(&k),
                reason: "not a date and case reference".into(),
            })?;
            out.push(entry);
        }
        Ok(out)
    }

    /// Every case, in the order asked for. A full scan: for listings and reports, not hot paths.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] naming the first case that does not decode.
    pub fn list_cases(&self, order: CaseOrder) -> Result<Vec<Case>, StoreError> {
        let mut cases = Vec::new();
        for item in self.cases.iter() {
            let (k, v) = item.map_err(|source| scan_error(TREE_CASES, source))?;
            cases.push(decode_case(&k, &v)?);
        }
        if order == CaseOrder::Received {
            cases.sort_by(|a, b| (a.received_at, &a.reference).cmp(&(b.received_at, &b.reference)));
        }
        Ok(cases)
    }

    /// The stored cursor of a mailbox.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when the record does not decode.
    pub fn cursor(&self, mailbox: &str) -> Result<Option<Cursor>, StoreError> {
        match get(&self.cursors, TREE_CURSORS, mailbox.as_bytes())? {
            Some(v) => decode(TREE_CURSORS, mailbox.as_bytes(), &v).map(Some),
            None => Ok(None),
        }
    }

    /// Keeps a request's raw bytes under its content hash, so an assignment email can attach the
    /// original. Written outside the case transaction and before it: an orphan (the transaction
    /// then failed) is harmless, and the next `apply` flushes it with the case.
    ///
    /// # Errors
    /// [`StoreError::Sled`] when the write fails.
    pub fn put_raw(&self, content_hash: &str, raw: &[u8]) -> Result<(), StoreError> {
        self.raw
            .insert(content_hash.as_bytes(), raw)
            .map_err(|source| {
                self.failed(StoreError::Sled {
                    op: "insert",
                    tree: TREE_RAW,
                    source,
                })
            })?;
        Ok(())
    }

    /// A request's raw bytes, if kept.
    ///
    /// # Errors
    /// [`StoreError::Sled`] when the read fails.
    pub fn raw(&self, content_hash: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(get(&self.raw, TREE_RAW, content_hash.as_bytes())?.map(|v| v.to_vec()))
    }

    /// The machine-mail record with this id, if kept.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when the record does not decode.
    pub fn machine_mail(&self, id: &MachineMailId) -> Result<Option<MachineMail>, StoreError> {
        let key = keys::machine_record_key(id.seq());
        match get(&self.machine, TREE_MACHINE, &key)? {
            Some(v) => {
                let record: MachineMail = decode(TREE_MACHINE, &key, &v)?;
                // The number is the key; a year that does not match is another record's id.
                Ok((record.id == *id).then_some(record))
            }
            None => Ok(None),
        }
    }

    /// The raw bytes kept with a machine-mail record.
    ///
    /// # Errors
    /// [`StoreError::Sled`] when the read fails.
    pub fn machine_mail_raw(&self, id: &MachineMailId) -> Result<Option<Vec<u8>>, StoreError> {
        let key = keys::machine_raw_key(id.seq());
        Ok(get(&self.machine, TREE_MACHINE, &key)?.map(|v| v.to_vec()))
    }

    /// Every machine-mail record kept whose number is above `after` (0: all), in the order they
    /// were written. A range scan: the list reads what is new, the purge what is kept (a bounded
    /// number of days).
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] naming a damaged record; [`StoreError::Sled`] when the scan fails.
    pub fn machine_mail_after(&self, after: u64) -> Result<Vec<MachineMail>, StoreError> {
        let from = keys::machine_record_key(after.saturating_add(1));
        let to = keys::machine_raw_key(0);
        let mut out = Vec::new();
        for item in self.machine.range(from..to) {
            let (k, v) = item.map_err(|source| scan_error(TREE_MACHINE, source))?;
            out.push(decode(TREE_MACHINE, &k, &v)?);
        }
        Ok(out)
    }

    /// A mark's value, if set.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when the value does not decode.
    pub fn mark(&self, key: &str) -> Result<Option<serde_json::Value>, StoreError> {
        match get(&self.marks, TREE_MARKS, key.as_bytes())? {
            Some(v) => decode(TREE_MARKS, key.as_bytes(), &v).map(Some),
            None => Ok(None),
        }
    }

    /// Every mark whose key starts with `prefix`, in key order.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] naming a damaged record; [`StoreError::Sled`] when the scan fails.
    pub fn marks(&self, prefix: &str) -> Result<Vec<(String, serde_json::Value)>, StoreError> {
        let mut out = Vec::new();
        for item in self.marks.scan_prefix(prefix.as_bytes()) {
            let (k, v) = item.map_err(|source| scan_error(TREE_MARKS, source))?;
            let value = decode(TREE_MARKS, &k, &v)?;
            out.push((String::from_utf8_lossy(&k).into_owned(), value));
        }
        Ok(out)
    }

    /// One outbox row by id.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when the record does not decode.
    pub fn outbox_row(&self, id: u64) -> Result<Option<OutboxRow>, StoreError> {
        let key = keys::outbox_key(id);
        match get(&self.outbox, TREE_OUTBOX, &key)? {
            Some(v) => decode(TREE_OUTBOX, &key, &v).map(Some),
            None => Ok(None),
        }
    }

    /// Queued outbox rows (`Pending`, or `Sending` when a send was cut off by a crash) whose
    /// `next_attempt_at` is at or before `now`, earliest first (then by id). A range scan of the pending-rows index, so sent history does not slow it down.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when the index names a row that is missing or damaged.
    pub fn outbox_pending(&self, now: DateTime<Utc>) -> Result<Vec<OutboxRow>, StoreError> {
        let mut rows = Vec::new();
        for item in self.idx_outbox_due.range(..keys::outbox_due_upper(now)) {
            let (k, _) = item.map_err(|source| scan_error(TREE_IDX_OUTBOX_DUE, source))?;
            let corrupt = |reason: String| StoreError::Corrupt {
                tree: TREE_IDX_OUTBOX_DUE,
                key: show_key(&k),
                reason,
            };
            let id =
                keys::outbox_due_id(&k).ok_or_else(|| corrupt("not a time and row id".into()))?;
            let row = self
                .outbox_row(id)?
                .ok_or_else(|| corrupt(format!("row {id} does not exist")))?;
            if row.status.is_queued() && row.next_attempt_at <= now {
                rows.push(row);
            }
        }
        Ok(rows)
    }

    /// Outbox rows given up on (`Failed`) that were queued at or after `since`, in id order: what
    /// the manager digest lists. A scan of the whole outbox (sent history included), as the
    /// scheduler's tick already scans every case; failed rows have no index of their own.
    ///
    /// # Errors
    /// [`StoreError::Sled`] when the scan fails, [`StoreError::Corrupt`] for a damaged row.
    pub fn outbox_failed(&self, since: DateTime<Utc>) -> Result<Vec<OutboxRow>, StoreError> {
        let mut rows = Vec::new();
        for item in self.outbox.iter() {
            let (k, v) = item.map_err(|source| scan_error(TREE_OUTBOX, source))?;
            let row: OutboxRow = decode(TREE_OUTBOX, &k, &v)?;
            if row.status == OutboxStatus::Failed && row.created_at >= since {
                rows.push(row);
            }
        }
        Ok(rows)
    }

    /// How many outbox rows to `email`'s mailbox were enqueued at or after `since`, in any
    /// status: what the acknowledgement rate limit counts. Letter case and a `+tag` do not make
    /// another mailbox ([`mailbox_key`]). A range scan of one address's recent rows.
    ///
    /// Rows indexed before `+tag` folding keep their tagged key and are no longer counted under
    /// the base address; the window is 24 hours, so that gap closes a day after an upgrade.
    ///
    /// # Errors
    /// [`StoreError::Sled`] when the scan fails.
    pub fn outbox_count_to(&self, email: &str, since: DateTime<Utc>) -> Result<usize, StoreError> {
        let Some(norm) = mailbox_key(email) else {
            return Ok(0);
        };
        let prefix = keys::outbox_to_prefix(&norm);
        let mut upper = prefix.clone();
        upper.extend_from_slice(&[0xff; 17]);
        let mut n = 0;
        for item in self
            .idx_outbox_to
            .range(keys::outbox_to_lower(&norm, since)..upper)
        {
            item.map_err(|source| scan_error(TREE_IDX_OUTBOX_TO, source))?;
            n += 1;
        }
        Ok(n)
    }

    /// How many outbox rows enqueued at or after `since` satisfy `counts` (any status): what the
    /// global acknowledgement cap counts. Walks the outbox from the newest row back and stops at
    /// the first row enqueued before `since`, so it reads one window's rows, never the history.
    ///
    /// Row ids grow with enqueue time; should the clock step back, a few rows of the window may
    /// hide behind an older one. That is acceptable for a flood cap, which needs an order of
    /// magnitude, not an exact count.
    ///
    /// # Errors
    /// [`StoreError::Sled`] when the scan fails; [`StoreError::Corrupt`] naming a damaged row.
    pub fn outbox_count_since(
        &self,
        since: DateTime<Utc>,
        counts: impl Fn(&OutboxRow) -> bool,
    ) -> Result<usize, StoreError> {
        let mut n = 0;
        for item in self.outbox.iter().rev() {
            let (k, v) = item.map_err(|source| scan_error(TREE_OUTBOX, source))?;
            let row: OutboxRow = decode(TREE_OUTBOX, &k, &v)?;
            if row.created_at < since {
                break;
            }
            if counts(&row) {
                n += 1;
            }
        }
        Ok(n)
    }
}

/// Whether sled failed to take its exclusive file lock (it reports this as a generic I/O error).
fn is_lock_error(e: &sled::Error) -> bool {
    matches!(e, sled::Error::Io(io) if io.to_string().contains("could not acquire lock"))
}

/// Refuse stores of another schema version; stamp a brand-new one.
fn check_schema(db: &sled::Db) -> Result<(), StoreError> {
    let sled_err = |op| {
        move |source| StoreError::Sled {
            op,
            tree: TREE_DB,
            source,
        }
    };
    match db.get(SCHEMA_KEY).map_err(sled_err("get"))? {
        Some(bytes) => {
            let parsed = std::str::from_utf8(&bytes)
                .ok()
                .and_then(|s| s.parse::<u32>().ok());
            match parsed {
                Some(SCHEMA_VERSION) => Ok(()),
                Some(found) if found < SCHEMA_VERSION => {
                    migrate::upgrade(db, found, SCHEMA_VERSION, migrate::MIGRATIONS)
                }
                _ => Err(StoreError::UnknownSchema {
                    found: quote_marker(&bytes),
                    supported: SCHEMA_VERSION,
                }),
            }
        }
        None => {
            if has_data(db)? {
                return Err(StoreError::UnknownSchema {
                    found: "none (the store holds data but no version marker)".into(),
                    supported: SCHEMA_VERSION,
                });
            }
            db.insert(SCHEMA_KEY, SCHEMA_VERSION.to_string().as_bytes())
                .map_err(sled_err("insert"))?;
            db.flush().map_err(sled_err("flush"))?;
            Ok(())
        }
    }
}

/// Whether any tree (default or named) holds a key.
fn has_data(db: &sled::Db) -> Result<bool, StoreError> {
    if !db.is_empty() {
        return Ok(true);
    }
    for name in db.tree_names() {
        let tree = db.open_tree(&name).map_err(|source| StoreError::Sled {
            op: "open tree",
            tree: TREE_DB,
            source,
        })?;
        if !tree.is_empty() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A version marker as printable text for an error message.
fn quote_marker(bytes: &[u8]) -> String {
    let shown = show_key(&bytes[..bytes.len().min(SCHEMA_QUOTE_MAX)]);
    if bytes.len() > SCHEMA_QUOTE_MAX {
        format!("\"{shown}…\" ({} bytes)", bytes.len())
    } else {
        format!("\"{shown}\"")
    }
}

fn first_indexable_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(YEAR_MIN, 1, 1).unwrap_or(NaiveDate::MIN)
}

fn last_indexable_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(YEAR_MAX, 12, 31).unwrap_or(NaiveDate::MAX)
}

fn get(tree: &Tree, name: &'static str, key: &[u8]) -> Result<Option<sled::IVec>, StoreError> {
    tree.get(key).map_err(|source| StoreError::Sled {
        op: "get",
        tree: name,
        source,
    })
}

/// Mode of the store's directories: owner only. The store holds requesters' personal data
/// (names, addresses, what they asked); other local users must not read it whatever the umask of
/// whoever started the process.
const PRIVATE_DIR_MODE: u32 = 0o700;
/// Mode of the store's files: owner read and write only, for the same reason.
const PRIVATE_FILE_MODE: u32 = 0o600;

/// Creates `dir` (and missing parents) as 0700, or tightens an existing one to 0700.
///
/// # Errors
/// [`StoreError::Permissions`] naming the directory.
pub fn make_private_dir(dir: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let fail = |source| StoreError::Permissions {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(PRIVATE_DIR_MODE)
        .create(dir)
        .map_err(fail)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(PRIVATE_DIR_MODE)).map_err(fail)
}

/// Tightens what sled created in `dir` (it creates files with the process umask): directories to
/// 0700, regular files to 0600. Symbolic links and sockets are left alone (a link is not
/// followed out of the store; the control socket has its own directory). Snapshot files sled
/// writes later get the umask's mode but sit inside a 0700 directory, and are tightened at the
/// next open.
///
/// # Errors
/// [`StoreError::Permissions`] naming the entry that could not be read or changed.
fn make_private_tree(dir: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    let fail = |path: &Path| {
        let path = path.to_path_buf();
        move |source| StoreError::Permissions { path, source }
    };
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).map_err(fail(&d))? {
            let path = entry.map_err(fail(&d))?.path();
            let meta = std::fs::symlink_metadata(&path).map_err(fail(&path))?;
            let mode = if meta.is_dir() {
                pending.push(path.clone());
                PRIVATE_DIR_MODE
            } else if meta.is_file() {
                PRIVATE_FILE_MODE
            } else {
                continue;
            };
            if meta.permissions().mode() & 0o7777 != mode {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
                    .map_err(fail(&path))?;
            }
        }
    }
    Ok(())
}

fn scan_error(tree: &'static str, source: sled::Error) -> StoreError {
    StoreError::Sled {
        op: "scan",
        tree,
        source,
    }
}

fn lookup_ref(tree: &Tree, name: &'static str, key: &[u8]) -> Result<Option<CaseRef>, StoreError> {
    match get(tree, name, key)? {
        Some(v) => index_ref(name, key, &v).map(Some),
        None => Ok(None),
    }
}

/// Decode a case and check it is stored under its own reference.
fn decode_case(key: &[u8], bytes: &[u8]) -> Result<Case, StoreError> {
    let case: Case = decode(TREE_CASES, key, bytes)?;
    if keys::case_key(&case.reference) != key {
        return Err(StoreError::Corrupt {
            tree: TREE_CASES,
            key: show_key(key),
            reason: format!("record is for case {}", case.reference),
        });
    }
    Ok(case)
}
