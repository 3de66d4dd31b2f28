//! The single write path: check a [`Change`], then write all of it in one sled transaction.
//!
//! Everything inside the transaction closure goes through `TransactionalTree`s only: sled runs
//! the closure under a process-wide write lock, so a plain `Tree` call in here would deadlock,
//! and the closure may be re-run after a conflict, so it has no side effects outside the
//! transaction.

use super::error::{StoreError, show_key};
use super::keys;
use super::{
    TREE_CASES, TREE_CURSORS, TREE_IDX_HASH, TREE_IDX_MSGID, TREE_MACHINE, TREE_OUTBOX, TREE_SEEN,
    TREE_SEQUENCES,
};
use crate::model::case::{Case, CaseRef, check_year, normalise_prefix};
use crate::model::change::{
    Applied, CaseTarget, Change, CursorUpdate, MachineMailOpened, MessageIdConflict,
    NewMachineMail, NewOutboxRow, OutboxUpdate,
};
use crate::model::machine::{MachineMail, MachineMailId, Opened};
use crate::model::message::mailbox_key;
use crate::model::records::{Cursor, OutboxRow, OutboxStatus, SeenRecord};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::transaction::{ConflictableTransactionError, TransactionalTree};
use std::collections::BTreeSet;

/// Result type inside the transaction closure.
pub(super) type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

/// Abort the transaction with a store error (nothing is written).
fn abort<T>(e: StoreError) -> TxResult<T> {
    Err(ConflictableTransactionError::Abort(e))
}

/// The transactional views of every tree a change may touch.
pub(super) struct Tx<'a> {
    pub(super) cases: &'a TransactionalTree,
    pub(super) audit: &'a TransactionalTree,
    pub(super) sequences: &'a TransactionalTree,
    pub(super) idx_msgid: &'a TransactionalTree,
    pub(super) idx_hash: &'a TransactionalTree,
    pub(super) idx_requester: &'a TransactionalTree,
    pub(super) idx_due: &'a TransactionalTree,
    pub(super) outbox: &'a TransactionalTree,
    pub(super) idx_outbox_due: &'a TransactionalTree,
    pub(super) idx_outbox_to: &'a TransactionalTree,
    pub(super) cursors: &'a TransactionalTree,
    pub(super) seen: &'a TransactionalTree,
    pub(super) marks: &'a TransactionalTree,
    pub(super) machine: &'a TransactionalTree,
}

/// Reject a change that is malformed on its face, before any transaction starts.
///
/// # Errors
/// [`StoreError::InvalidChange`] naming the offending part.
pub(super) fn validate(change: &Change) -> Result<(), StoreError> {
    let invalid = |reason: String| Err(StoreError::InvalidChange { reason });
    if let Some(new) = &change.new_case {
        if let Err(e) = normalise_prefix(&new.prefix) {
            return invalid(format!("new case: {e}"));
        }
        if let Err(e) = check_year(new.year) {
            return invalid(format!("new case: {e}"));
        }
        if let Some(due) = new.draft.due
            && !keys::due_in_range(due)
        {
            return invalid(format!("new case: due date {due} is not a four-digit year"));
        }
    }
    let mut updated = BTreeSet::new();
    for (i, u) in change.case_updates.iter().enumerate() {
        if let Some(due) = u.case.due
            && !keys::due_in_range(due)
        {
            return invalid(format!(
                "case_updates[{i}] ({}): due date {due} is not a four-digit year",
                u.case.reference
            ));
        }
        if let Some(exp) = &u.expected
            && exp.reference != u.case.reference
        {
            return invalid(format!(
                "case_updates[{i}]: expected case is {} but the update is for {}",
                exp.reference, u.case.reference
            ));
        }
        if !updated.insert(&u.case.reference) {
            return invalid(format!(
                "case_updates[{i}]: case {} is updated twice in one change",
                u.case.reference
            ));
        }
    }
    for (i, m) in change.marks.iter().enumerate() {
        if m.key.trim().is_empty() {
            return invalid(format!("marks[{i}]: the key is empty"));
        }
    }
    for (i, k) in change.marks_cleared.iter().enumerate() {
        if k.trim().is_empty() {
            return invalid(format!("marks_cleared[{i}]: the key is empty"));
        }
    }
    let needs_new = |t: &CaseTarget| matches!(t, CaseTarget::New) && change.new_case.is_none();
    for (i, a) in change.audit.iter().enumerate() {
        if needs_new(&a.case) {
            return invalid(format!(
                "audit[{i}] targets the new case but the change creates none"
            ));
        }
        if a.event.actor.trim().is_empty() || a.event.action.trim().is_empty() {
            return invalid(format!("audit[{i}]: actor and action must not be empty"));
        }
    }
    for (i, s) in change.seen.iter().enumerate() {
        let has_msgid = s.message_id.as_deref().and_then(keys::msgid_norm).is_some();
        let has_hash = s
            .content_hash
            .as_deref()
            .and_then(keys::hash_norm)
            .is_some();
        if !has_msgid && !has_hash {
            return invalid(format!(
                "seen[{i}] has neither a Message-ID nor a content hash"
            ));
        }
    }
    for (i, o) in change.outbox_new.iter().enumerate() {
        if o.case.as_ref().is_some_and(needs_new) {
            return invalid(format!(
                "outbox_new[{i}] targets the new case but the change creates none"
            ));
        }
    }
    if let Some(c) = &change.cursor
        && c.mailbox.is_empty()
    {
        return invalid("cursor: mailbox name is empty".to_string());
    }
    if let Some(m) = &change.machine_mail
        && check_year(m.year).is_err()
    {
        return invalid(format!(
            "machine_mail: year {} is not a four-digit year",
            m.year
        ));
    }
    for (i, o) in change.machine_mail_opened.iter().enumerate() {
        if needs_new(&o.case) {
            return invalid(format!(
                "machine_mail_opened[{i}] targets the new case but the change creates none"
            ));
        }
        if o.by.trim().is_empty() {
            return invalid(format!("machine_mail_opened[{i}]: who opened it is empty"));
        }
    }
    Ok(())
}

/// Write a whole change. Runs inside the transaction; may be re-run after a conflict.
pub(super) fn run(tx: &Tx<'_>, change: &Change) -> TxResult<Applied> {
    let mut applied = Applied::default();

    if let Some(new) = &change.new_case {
        let reference = allocate_reference(tx, &new.prefix, new.year)?;
        if tx.cases.get(keys::case_key(&reference))?.is_some() {
            return abort(StoreError::Corrupt {
                tree: TREE_SEQUENCES,
                key: show_key(&keys::seq_case_key(reference.prefix(), reference.year())),
                reason: format!("counter is behind: case {reference} already exists"),
            });
        }
        let case = new.draft.clone().into_case(reference.clone());
        put_case(tx, None, &case, &mut applied)?;
        applied.new_case = Some(reference);
    }

    for u in &change.case_updates {
        let old = read_case(tx, &u.case.reference)?;
        if let Some(expected) = &u.expected
            && *expected != old
        {
            return abort(StoreError::Conflict {
                reference: u.case.reference.clone(),
            });
        }
        put_case(tx, Some(&old), &u.case, &mut applied)?;
    }

    for a in &change.audit {
        let reference = resolve(tx, &a.case, &applied)?;
        let counter = keys::seq_audit_key(&reference);
        let n = read_counter(tx.sequences, TREE_SEQUENCES, &counter)?;
        let bytes = encode(&a.event, || format!("audit event for {reference}"))?;
        tx.audit.insert(keys::audit_key(&reference, n), bytes)?;
        write_counter(tx.sequences, &counter, n.saturating_add(1))?;
    }

    for hash in &change.seen_forgotten {
        forget_seen(tx, hash)?;
    }

    for s in &change.seen {
        put_seen(tx, s)?;
    }

    if let Some(m) = &change.machine_mail {
        applied.machine_mail = Some(keep_machine_mail(tx, m)?);
    }

    for o in &change.machine_mail_opened {
        open_machine_mail(tx, o, &applied)?;
    }

    for id in &change.machine_mail_purged {
        tx.machine.remove(&keys::machine_record_key(id.seq()))?;
        tx.machine.remove(&keys::machine_raw_key(id.seq()))?;
    }

    for o in &change.outbox_new {
        let id = enqueue(tx, o, &applied)?;
        applied.outbox_ids.push(id);
    }

    for u in &change.outbox_updates {
        update_outbox(tx, u)?;
    }

    for key in &change.marks_cleared {
        tx.marks.remove(key.as_bytes())?;
    }

    for m in &change.marks {
        let bytes = encode(&m.value, || format!("mark {}", m.key))?;
        tx.marks.insert(m.key.as_bytes(), bytes)?;
    }

    if let Some(c) = &change.cursor {
        applied.cursor = Some(set_cursor(tx, c)?);
    }

    Ok(applied)
}

/// Next reference for (prefix, year), counting from 1, gapless within committed transactions.
fn allocate_reference(tx: &Tx<'_>, prefix: &str, year: i32) -> TxResult<CaseRef> {
    let prefix = match normalise_prefix(prefix) {
        Ok(p) => p,
        Err(e) => {
            return abort(StoreError::InvalidChange {
                reason: e.to_string(),
            });
        }
    };
    let key = keys::seq_case_key(&prefix, year);
    let last = read_counter(tx.sequences, TREE_SEQUENCES, &key)?;
    let next = last.saturating_add(1);
    let Ok(seq) = u32::try_from(next) else {
        return abort(StoreError::SequenceExhausted { prefix, year });
    };
    match CaseRef::new(&prefix, year, seq) {
        Ok(r) => {
            write_counter(tx.sequences, &key, next)?;
            Ok(r)
        }
        Err(e) => abort(StoreError::InvalidChange {
            reason: e.to_string(),
        }),
    }
}

/// The reference a target names, checking that an existing case exists.
fn resolve(tx: &Tx<'_>, target: &CaseTarget, applied: &Applied) -> TxResult<CaseRef> {
    match target {
        CaseTarget::New => match &applied.new_case {
            Some(r) => Ok(r.clone()),
            // validate() rejects this; kept as an error rather than a panic.
            None => abort(StoreError::InvalidChange {
                reason: "a record targets the new case but the change creates none".into(),
            }),
        },
        CaseTarget::Existing(r) => {
            if tx.cases.get(keys::case_key(r))?.is_none() {
                return abort(StoreError::CaseNotFound {
                    reference: r.clone(),
                });
            }
            Ok(r.clone())
        }
    }
}

/// Read and decode an existing case inside the transaction.
fn read_case(tx: &Tx<'_>, reference: &CaseRef) -> TxResult<Case> {
    let key = keys::case_key(reference);
    match tx.cases.get(&key)? {
        Some(bytes) => decode(TREE_CASES, &key, &bytes).or_else(abort),
        None => abort(StoreError::CaseNotFound {
            reference: reference.clone(),
        }),
    }
}

/// Write a case and bring every index in line with it (`old` is the stored value, if any).
fn put_case(tx: &Tx<'_>, old: Option<&Case>, new: &Case, applied: &mut Applied) -> TxResult<()> {
    let reference = &new.reference;
    let ref_key = keys::case_key(reference);

    // Message-IDs: the first case to list an id keeps it; later claimants are reported.
    let old_ids = norm_set(old.map(|c| &c.message_ids), keys::msgid_norm);
    let new_ids = norm_set(Some(&new.message_ids), keys::msgid_norm);
    for gone in old_ids.difference(&new_ids) {
        remove_if_points_here(tx.idx_msgid, gone.as_bytes(), &ref_key)?;
    }
    for id in &new_ids {
        match tx.idx_msgid.get(id.as_bytes())? {
            None => {
                tx.idx_msgid.insert(id.as_bytes(), ref_key.as_slice())?;
            }
            Some(v) if v.as_ref() == ref_key.as_slice() => {}
            Some(v) => {
                if !old_ids.contains(id) {
                    let existing = index_ref(TREE_IDX_MSGID, id.as_bytes(), &v).or_else(abort)?;
                    applied.message_id_conflicts.push(MessageIdConflict {
                        message_id: id.clone(),
                        existing,
                        wanted: reference.clone(),
                    });
                }
            }
        }
    }

    // Content hashes: one raw message belongs to at most one case.
    let old_hashes = norm_set(old.map(|c| &c.content_hashes), keys::hash_norm);
    let new_hashes = norm_set(Some(&new.content_hashes), keys::hash_norm);
    for gone in old_hashes.difference(&new_hashes) {
        remove_if_points_here(tx.idx_hash, gone.as_bytes(), &ref_key)?;
    }
    for h in &new_hashes {
        match tx.idx_hash.get(h.as_bytes())? {
            None => {
                tx.idx_hash.insert(h.as_bytes(), ref_key.as_slice())?;
            }
            Some(v) if v.as_ref() == ref_key.as_slice() => {}
            Some(v) => {
                let existing = index_ref(TREE_IDX_HASH, h.as_bytes(), &v).or_else(abort)?;
                return abort(StoreError::DuplicateHash {
                    hash: h.clone(),
                    existing,
                    wanted: reference.clone(),
                });
            }
        }
    }

    // Requester (case-insensitive address).
    let old_req = old
        .and_then(|c| keys::email_norm(&c.requester.email))
        .map(|e| keys::requester_key(&e, reference));
    let new_req =
        keys::email_norm(&new.requester.email).map(|e| keys::requester_key(&e, reference));
    if old_req != new_req {
        if let Some(k) = old_req {
            tx.idx_requester.remove(k)?;
        }
        if let Some(k) = new_req {
            tx.idx_requester.insert(k, &[] as &[u8])?;
        }
    }

    // Due date: indexed only while the case is not finished, so deadline scans stay small.
    let due_key = |c: &Case| {
        c.due
            .filter(|_| !c.state.is_finished())
            .map(|d| keys::due_key(d, reference))
    };
    let old_due = old.and_then(due_key);
    let new_due = due_key(new);
    if old_due != new_due {
        if let Some(k) = old_due {
            tx.idx_due.remove(k)?;
        }
        if let Some(k) = new_due {
            tx.idx_due.insert(k, &[] as &[u8])?;
        }
    }

    let bytes = encode(new, || format!("case {reference}"))?;
    tx.cases.insert(ref_key, bytes)?;
    Ok(())
}

/// Remember a message that created nothing; the first record for a key is kept.
fn put_seen(tx: &Tx<'_>, s: &SeenRecord) -> TxResult<()> {
    let bytes = encode(s, || "seen record".to_string())?;
    let mut seen_keys = Vec::new();
    if let Some(id) = s.message_id.as_deref().and_then(keys::msgid_norm) {
        seen_keys.push(keys::seen_msgid_key(&id));
    }
    if let Some(h) = s.content_hash.as_deref().and_then(keys::hash_norm) {
        seen_keys.push(keys::seen_hash_key(&h));
    }
    for k in seen_keys {
        if tx.seen.get(&k)?.is_none() {
            tx.seen.insert(k, bytes.as_slice())?;
        }
    }
    Ok(())
}

/// Forget the `seen` record of a content hash, and its Message-ID key when that key holds the same
/// record (another message's record under a shared Message-ID stays). A hash never seen is not an
/// error: releasing twice is harmless.
fn forget_seen(tx: &Tx<'_>, hash: &str) -> TxResult<()> {
    let Some(h) = keys::hash_norm(hash) else {
        return Ok(());
    };
    let hash_key = keys::seen_hash_key(&h);
    let Some(bytes) = tx.seen.remove(hash_key.as_slice())? else {
        return Ok(());
    };
    let record: SeenRecord = match decode(TREE_SEEN, &hash_key, &bytes) {
        Ok(r) => r,
        Err(e) => return abort(e),
    };
    if let Some(id) = record.message_id.as_deref().and_then(keys::msgid_norm) {
        let id_key = keys::seen_msgid_key(&id);
        if tx.seen.get(&id_key)?.is_some_and(|b| b == bytes) {
            tx.seen.remove(id_key)?;
        }
    }
    Ok(())
}

/// Keep a machine-mail record and its raw bytes under the next number; returns its id.
fn keep_machine_mail(tx: &Tx<'_>, m: &NewMachineMail) -> TxResult<MachineMailId> {
    let seq = read_counter(tx.sequences, TREE_SEQUENCES, keys::SEQ_MACHINE_KEY)?.saturating_add(1);
    let Some(id) = MachineMailId::new(m.year, seq) else {
        return abort(StoreError::InvalidChange {
            reason: format!("machine_mail: no id for year {} number {seq}", m.year),
        });
    };
    write_counter(tx.sequences, keys::SEQ_MACHINE_KEY, seq)?;
    let record = m.draft.clone().into_record(id);
    let bytes = encode(&record, || format!("machine mail {id}"))?;
    tx.machine.insert(&keys::machine_record_key(seq), bytes)?;
    tx.machine
        .insert(&keys::machine_raw_key(seq), m.raw.as_slice())?;
    Ok(id)
}

/// Mark a machine-mail record as turned into a case; it must be kept and not opened before.
fn open_machine_mail(tx: &Tx<'_>, o: &MachineMailOpened, applied: &Applied) -> TxResult<()> {
    let key = keys::machine_record_key(o.id.seq());
    let mut record: MachineMail = match tx.machine.get(key)? {
        Some(bytes) => decode(TREE_MACHINE, &key, &bytes).or_else(abort)?,
        None => return abort(StoreError::MachineMailNotFound { id: o.id }),
    };
    if record.id != o.id {
        return abort(StoreError::MachineMailNotFound { id: o.id });
    }
    if let Some(done) = &record.opened {
        return abort(StoreError::MachineMailOpened {
            id: o.id,
            case: done.case.clone(),
            by: done.by.clone(),
        });
    }
    record.opened = Some(Opened {
        case: resolve(tx, &o.case, applied)?,
        by: o.by.clone(),
        at: o.at,
    });
    let bytes = encode(&record, || format!("machine mail {}", o.id))?;
    tx.machine.insert(&key, bytes)?;
    Ok(())
}

/// Enqueue a new outbox row as `Pending`; returns its id.
fn enqueue(tx: &Tx<'_>, o: &NewOutboxRow, applied: &Applied) -> TxResult<u64> {
    let case = match &o.case {
        Some(t) => Some(resolve(tx, t, applied)?),
        None => None,
    };
    let id = read_counter(tx.sequences, TREE_SEQUENCES, keys::SEQ_OUTBOX_KEY)?.saturating_add(1);
    write_counter(tx.sequences, keys::SEQ_OUTBOX_KEY, id)?;
    let row = OutboxRow {
        id,
        case,
        created_at: o.created_at,
        payload: o.payload.clone(),
        status: OutboxStatus::Pending,
        attempts: 0,
        last_error: None,
        next_attempt_at: o.next_attempt_at,
        interrupted: 0,
    };
    let bytes = encode(&row, || format!("outbox row {id}"))?;
    tx.outbox.insert(&keys::outbox_key(id), bytes)?;
    tx.idx_outbox_due
        .insert(&keys::outbox_due_key(row.next_attempt_at, id), &[] as &[u8])?;
    if let Some(to) = o.recipient.as_deref().and_then(mailbox_key) {
        tx.idx_outbox_to
            .insert(keys::outbox_to_key(&to, o.created_at, id), &[] as &[u8])?;
    }
    Ok(id)
}

/// Move an outbox row on, keeping the due index to exactly the queued (`Pending` or `Sending`)
/// rows.
fn update_outbox(tx: &Tx<'_>, u: &OutboxUpdate) -> TxResult<()> {
    let key = keys::outbox_key(u.id);
    let Some(bytes) = tx.outbox.get(key)? else {
        return abort(StoreError::OutboxNotFound { id: u.id });
    };
    let mut row: OutboxRow = decode(TREE_OUTBOX, &key, &bytes).or_else(abort)?;
    if row.status.is_queued() {
        tx.idx_outbox_due
            .remove(&keys::outbox_due_key(row.next_attempt_at, row.id))?;
    }
    row.status = u.status;
    row.attempts = u.attempts;
    row.last_error = u.last_error.clone();
    row.next_attempt_at = u.next_attempt_at;
    row.interrupted = u.interrupted;
    if row.status.is_queued() {
        tx.idx_outbox_due.insert(
            &keys::outbox_due_key(row.next_attempt_at, row.id),
            &[] as &[u8],
        )?;
    }
    let bytes = encode(&row, || format!("outbox row {}", row.id))?;
    tx.outbox.insert(&key, bytes)?;
    Ok(())
}

/// Advance a mailbox cursor (never backwards within one UIDVALIDITY); returns what is stored.
fn set_cursor(tx: &Tx<'_>, c: &CursorUpdate) -> TxResult<Cursor> {
    let key = c.mailbox.as_bytes();
    let old: Option<Cursor> = match tx.cursors.get(key)? {
        Some(bytes) => Some(decode(TREE_CURSORS, key, &bytes).or_else(abort)?),
        None => None,
    };
    let mut new = c.cursor;
    if let Some(old) = old
        && old.uidvalidity == new.uidvalidity
    {
        new.last_uid = new.last_uid.max(old.last_uid);
    }
    let bytes = encode(&new, || format!("cursor of {}", c.mailbox))?;
    tx.cursors.insert(key, bytes)?;
    Ok(new)
}

/// The distinct normalised values of a list (empty ones dropped).
fn norm_set(values: Option<&Vec<String>>, norm: fn(&str) -> Option<String>) -> BTreeSet<String> {
    values
        .into_iter()
        .flatten()
        .filter_map(|v| norm(v))
        .collect()
}

/// Remove an index entry only if it points at this case (another case may own it).
fn remove_if_points_here(tree: &TransactionalTree, key: &[u8], ref_key: &[u8]) -> TxResult<()> {
    if tree.get(key)?.is_some_and(|v| v.as_ref() == ref_key) {
        tree.remove(key)?;
    }
    Ok(())
}

/// Decode an index value as a reference, naming the key when it is damaged.
pub(super) fn index_ref(
    tree: &'static str,
    key: &[u8],
    value: &[u8],
) -> Result<CaseRef, StoreError> {
    keys::case_ref_from_key(value).ok_or_else(|| StoreError::Corrupt {
        tree,
        key: show_key(key),
        reason: format!("value {:?} is not a case reference", show_key(value)),
    })
}

/// Read a `u64` counter (0 when absent).
fn read_counter(tree: &TransactionalTree, name: &'static str, key: &[u8]) -> TxResult<u64> {
    match tree.get(key)? {
        None => Ok(0),
        Some(v) => match keys::decode_u64(&v) {
            Some(n) => Ok(n),
            None => abort(StoreError::Corrupt {
                tree: name,
                key: show_key(key),
                reason: format!("counter is {} bytes, expected 8", v.len()),
            }),
        },
    }
}

/// Write a `u64` counter.
fn write_counter(tree: &TransactionalTree, key: &[u8], n: u64) -> TxResult<()> {
    tree.insert(key, &n.to_be_bytes())?;
    Ok(())
}

/// Serialise a record to JSON bytes, aborting the transaction on failure.
fn encode<T: Serialize>(value: &T, what: impl FnOnce() -> String) -> TxResult<Vec<u8>> {
    serde_json::to_vec(value).or_else(|source| {
        abort(StoreError::Encode {
            what: what(),
            source,
        })
    })
}

/// Decode JSON bytes from a tree, naming the tree and key when they do not decode.
pub(super) fn decode<T: DeserializeOwned>(
    tree: &'static str,
    key: &[u8],
    bytes: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        tree,
        key: show_key(key),
        reason: e.to_string(),
    })
}
