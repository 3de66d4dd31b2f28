//! One pass over a list of UIDs: sizes first, then fetches in batches bounded by bytes, each
//! message recorded and filed; and what happens when a message cannot be fetched or filed.
//!
//! - Sizes (`RFC822.SIZE`) come first, so a batch holds at most [`FETCH_BATCH_BYTES`] and a
//!   message over `imap.max_message_bytes` is fetched alone and only in part.
//! - A batch that fails is fetched again one message at a time (at once when the session
//!   survived, in the next session when it did not), so one bad message fails alone.
//! - A message that fails on its own, or cannot be filed, gets a [`StuckMessage`] record
//!   (`core::plan::stuck`): it is left alone until its next try is due (not fetched or filed on
//!   every reconnect), and after three failures it is quarantined (fetch) or shown to people
//!   (filing). The messages after it go on.

use super::{
    Disposition, FETCH_BATCH, IMPORT_FETCH_BATCH, IMPORT_FLUSH_EVERY, Ingest, IngestError,
    log_disposition,
};
use crate::core::plan::ingest::{Mode, Position};
use crate::core::plan::stuck::{self, Failure};
use crate::io::mail::imap::{
    Batch, FetchLimits, Fetched, ImapClient, ImapError, MailboxState, plan_batches,
};
use crate::model::records::{StuckMessage, StuckStage};
use std::collections::BTreeMap;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, error, info_span, warn};

#[cfg(test)]
mod tests;

/// Bytes one fetch batch may hold: 16 MiB, a handful of messages with large attachments or
/// twenty ordinary ones, so memory stays bounded whatever the mailbox holds.
pub(super) const FETCH_BATCH_BYTES: u64 = 16 * 1024 * 1024;

/// How much of a message over the size cap is read: 1 MiB, the header and the start of the
/// body (where the request's own words are), never the large attachments after them.
pub(super) const PARTIAL_FETCH_BYTES: u32 = 1024 * 1024;

// A message under the configured cap is read whole and must be parsed whole: the cap may not
// exceed what the parser reads (over it only the header block is read, without a sender).
const _: () = assert!(
    *crate::config::mail::MESSAGE_BYTES_RANGE.end() as usize <= crate::core::parse::MAX_PARSE_BYTES
);

/// UIDs asked for sizes per command: 500 keeps the command (ranges where UIDs run on) and the
/// answer small on a mailbox that holds thousands of unfiled messages.
const SIZE_QUERY_CHUNK: usize = 500;

/// What a pass did.
#[derive(Debug, Default)]
pub struct Pass {
    /// Each message handled, in order, with what happened to it.
    pub done: Vec<(u32, Disposition)>,
    /// Whether anything moved on: a message recorded (not merely found recorded before), or
    /// one filed. What the reconnect backoff resets on.
    pub progressed: bool,
}

/// Where a pass works and what it may do.
pub(super) struct Scope<'a> {
    /// The mailbox, as configured (also the cursor's and the stuck records' name).
    pub(super) mailbox: &'a str,
    /// Its state at SELECT.
    pub(super) state: MailboxState,
    /// File messages after recording them (the daemon), or leave them (import).
    pub(super) file: bool,
    /// Stops the pass between messages.
    pub(super) cancel: &'a CancellationToken,
}

/// A message to file: where, and what is known about it.
struct Filing<'a> {
    uid: u32,
    /// The folder, as configured.
    folder: &'a str,
    /// Its content hash, when it was recorded in this pass or before.
    hash: Option<&'a str>,
    /// Its stuck record, if it has one.
    stuck: Option<&'a StuckMessage>,
}

impl Scope<'_> {
    fn position(&self, uid: u32) -> Position {
        Position {
            mailbox: self.mailbox.to_owned(),
            uidvalidity: self.state.uidvalidity,
            uid,
        }
    }
}

impl Ingest {
    /// Fetches, records and files the given UIDs in order, in batches sized by bytes. Stops
    /// between messages when `cancel` fires (the message in hand is finished first). A message
    /// with a [`StuckMessage`] record is skipped until its next try is due.
    ///
    /// # Errors
    /// Store trouble, or IMAP trouble that closed the session (reconnect); everything recorded
    /// before it stays recorded, and a message that failed on its own is recorded as stuck.
    pub async fn process_uids(
        &self,
        client: &mut ImapClient,
        mailbox: &str,
        state: MailboxState,
        uids: &[u32],
        file: bool,
        cancel: &CancellationToken,
    ) -> Result<Pass, IngestError> {
        let scope = Scope {
            mailbox,
            state,
            file,
            cancel,
        };
        let mut pass = Pass::default();
        self.process_into(client, &scope, uids, &mut pass).await?;
        Ok(pass)
    }

    /// [`Ingest::process_uids`] into `pass`, which keeps what was done (and whether anything
    /// moved on) even when the pass ends in an error.
    pub(super) async fn process_into(
        &self,
        client: &mut ImapClient,
        scope: &Scope<'_>,
        uids: &[u32],
        pass: &mut Pass,
    ) -> Result<(), IngestError> {
        let stuck = self
            .stuck_records(scope.mailbox, scope.state.uidvalidity)
            .await?;
        let now = self.clock.now();
        let mut fetch = Vec::with_capacity(uids.len());
        for &uid in uids {
            match stuck.get(&uid) {
                None => fetch.push(uid),
                Some(r) if !stuck::is_due(r, now) => {}
                Some(r) if r.stage == StuckStage::Fetch => fetch.push(uid),
                Some(r) if scope.file => {
                    let folder = self.refile_folder(r)?;
                    let filing = Filing {
                        uid,
                        folder: &folder,
                        hash: r.content_hash.as_deref(),
                        stuck: Some(r),
                    };
                    self.file_message(client, scope, filing, pass).await?;
                }
                Some(_) => {}
            }
            if scope.cancel.is_cancelled() {
                return Ok(());
            }
        }
        let mut unflushed = 0;
        for chunk in fetch.chunks(SIZE_QUERY_CHUNK) {
            let (sizes, failed) = self.sizes(client, scope, chunk, &stuck, pass).await?;
            self.forget_gone(scope, chunk, &sizes, &failed, &stuck)
                .await?;
            let alone = |uid: u32| stuck.contains_key(&uid) || self.is_single(scope, uid);
            for batch in plan_batches(&sizes, &self.fetch_limits(), alone) {
                if scope.cancel.is_cancelled() {
                    return Ok(());
                }
                self.fetch_batch(client, scope, &batch, &stuck, pass)
                    .await?;
                if self.settings.mode == Mode::Import {
                    unflushed += batch.uids.len();
                    if unflushed >= IMPORT_FLUSH_EVERY {
                        self.store.flush()?;
                        unflushed = 0;
                    }
                }
            }
        }
        if self.settings.mode == Mode::Import {
            self.store.flush()?;
        }
        Ok(())
    }

    /// The stuck records of this mailbox and UIDVALIDITY, by UID; records left from an earlier
    /// UIDVALIDITY (the mailbox was recreated: their UIDs mean nothing now) are cleared.
    pub(super) async fn stuck_records(
        &self,
        mailbox: &str,
        uidvalidity: u32,
    ) -> Result<BTreeMap<u32, StuckMessage>, IngestError> {
        let marks = self.store.marks(stuck::STUCK_PREFIX)?;
        let (current, stale) = stuck::for_mailbox(&marks, mailbox, uidvalidity);
        if !stale.is_empty() {
            self.commit(crate::io::store::Change {
                marks_cleared: stale,
                ..Default::default()
            })
            .await?;
        }
        Ok(current)
    }

    /// Where a stuck message goes now: the quarantine folder as configured now, or the folder
    /// its case belongs in now (a corrected setting is followed), else where it failed to go.
    fn refile_folder(&self, r: &StuckMessage) -> Result<String, IngestError> {
        if r.stage == StuckStage::Quarantine {
            return Ok(self.quarantine.clone());
        }
        if let Some(hash) = &r.content_hash
            && let Some(folder) = self.recorded_folder(hash)?
        {
            return Ok(folder);
        }
        Ok(r.folder.clone().unwrap_or_else(|| self.quarantine.clone()))
    }

    /// Limits for one fetch: the configured cap; batches as large as the mode wants.
    fn fetch_limits(&self) -> FetchLimits {
        FetchLimits {
            max_message_bytes: self.max_message_bytes,
            batch_bytes: FETCH_BATCH_BYTES,
            batch_messages: if self.settings.mode == Mode::Import {
                IMPORT_FETCH_BATCH
            } else {
                FETCH_BATCH
            },
            head_bytes: PARTIAL_FETCH_BYTES,
        }
    }

    /// Whether `uid` was in a batch that failed and closed its session: fetched alone now.
    fn is_single(&self, scope: &Scope<'_>, uid: u32) -> bool {
        self.singles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&(scope.state.uidvalidity, uid))
    }

    /// Remembers (`true`) or forgets that `uids` are to be fetched alone.
    fn set_single(&self, scope: &Scope<'_>, uids: &[u32], single: bool) {
        let mut singles = self.singles.lock().unwrap_or_else(|e| e.into_inner());
        for &uid in uids {
            if single {
                singles.insert((scope.state.uidvalidity, uid));
            } else {
                singles.remove(&(scope.state.uidvalidity, uid));
            }
        }
    }

    /// The sizes of `uids`; when the server refuses the question for the lot (one damaged
    /// message can do that), asks message by message, and counts a fetch failure for each one
    /// it refuses (returned second), so the others go on.
    async fn sizes(
        &self,
        client: &mut ImapClient,
        scope: &Scope<'_>,
        uids: &[u32],
        stuck: &BTreeMap<u32, StuckMessage>,
        pass: &mut Pass,
    ) -> Result<(Vec<(u32, u64)>, Vec<u32>), IngestError> {
        let err = match client.sizes(uids).await {
            Ok(sizes) => return Ok((sizes, Vec::new())),
            Err(e) if !client.is_open() => return Err(e.into()),
            Err(e) => e,
        };
        if let [uid] = uids[..] {
            self.fetch_failed(client, scope, uid, err, stuck.get(&uid), pass)
                .await?;
            return Ok((Vec::new(), vec![uid]));
        }
        warn!(error = %err, messages = uids.len(), "asking sizes failed; asking one message at a time");
        let (mut sizes, mut failed) = (Vec::new(), Vec::new());
        for &uid in uids {
            match client.sizes(&[uid]).await {
                Ok(s) => sizes.extend(s),
                Err(e) => {
                    failed.push(uid);
                    self.fetch_failed(client, scope, uid, e, stuck.get(&uid), pass)
                        .await?;
                }
            }
        }
        Ok((sizes, failed))
    }

    /// Clears the records of stuck messages that are no longer in the mailbox (moved or deleted
    /// by a person): asked for by UID, absent from the size answer (and not refused by it).
    async fn forget_gone(
        &self,
        scope: &Scope<'_>,
        asked: &[u32],
        sizes: &[(u32, u64)],
        failed: &[u32],
        stuck: &BTreeMap<u32, StuckMessage>,
    ) -> Result<(), IngestError> {
        for uid in asked {
            if let Some(r) = stuck.get(uid)
                && !failed.contains(uid)
                && !sizes.iter().any(|(u, _)| u == uid)
            {
                self.commit(stuck::plan_cleared(r, &scope.position(*uid)))
                    .await?;
            }
        }
        Ok(())
    }

    /// Fetches one batch and handles its messages; when it fails, fetches them one at a time
    /// (now if the session lives, else in the next session), so only a bad message fails.
    async fn fetch_batch(
        &self,
        client: &mut ImapClient,
        scope: &Scope<'_>,
        batch: &Batch,
        stuck: &BTreeMap<u32, StuckMessage>,
        pass: &mut Pass,
    ) -> Result<(), IngestError> {
        let err = match client.fetch_batch(batch).await {
            Ok(fetched) => return self.handle_all(client, scope, fetched, stuck, pass).await,
            Err(e) => e,
        };
        if let [uid] = batch.uids[..] {
            return self
                .fetch_failed(client, scope, uid, err, stuck.get(&uid), pass)
                .await;
        }
        warn!(error = %err, messages = batch.uids.len(), "a batch fetch failed; fetching its messages one at a time");
        if !client.is_open() {
            self.set_single(scope, &batch.uids, true);
            return Err(err.into());
        }
        for &uid in &batch.uids {
            let single = Batch {
                uids: vec![uid],
                extent: batch.extent,
            };
            match client.fetch_batch(&single).await {
                Ok(fetched) => self.handle_all(client, scope, fetched, stuck, pass).await?,
                Err(e) => {
                    self.fetch_failed(client, scope, uid, e, stuck.get(&uid), pass)
                        .await?
                }
            }
            if scope.cancel.is_cancelled() {
                break;
            }
        }
        Ok(())
    }

    /// Records, then files, each fetched message in order.
    async fn handle_all(
        &self,
        client: &mut ImapClient,
        scope: &Scope<'_>,
        fetched: Vec<Fetched>,
        stuck: &BTreeMap<u32, StuckMessage>,
        pass: &mut Pass,
    ) -> Result<(), IngestError> {
        for f in &fetched {
            self.handle(client, scope, f, stuck.get(&f.uid), pass)
                .await?;
            if scope.cancel.is_cancelled() {
                break;
            }
        }
        Ok(())
    }

    /// Records one fetched message and files it (or, in import, clears its stuck record).
    async fn handle(
        &self,
        client: &mut ImapClient,
        scope: &Scope<'_>,
        f: &Fetched,
        stuck: Option<&StuckMessage>,
        pass: &mut Pass,
    ) -> Result<(), IngestError> {
        let span = info_span!(
            "message",
            mailbox = scope.mailbox,
            uid = f.uid,
            case = tracing::field::Empty
        );
        let (disposition, folder) = self
            .record(scope.mailbox, scope.state.uidvalidity, f, self.clock.now())
            .instrument(span.clone())
            .await?;
        self.set_single(scope, &[f.uid], false);
        if let Disposition::Recorded { case: Some(r), .. } = &disposition {
            span.record("case", tracing::field::display(r));
        }
        span.in_scope(|| log_disposition(&disposition, f));
        pass.progressed |= disposition != Disposition::Duplicate;
        if scope.file {
            let hash = crate::core::dedupe::dedupe_hash(&f.raw);
            let filing = Filing {
                uid: f.uid,
                folder: &folder,
                hash: Some(&hash),
                stuck,
            };
            self.file_message(client, scope, filing, pass)
                .instrument(span)
                .await?;
        } else if let Some(r) = stuck {
            self.commit(stuck::plan_cleared(r, &scope.position(f.uid)))
                .await?;
        }
        pass.done.push((f.uid, disposition));
        Ok(())
    }

    /// Files a recorded message; on success forgets its stuck record, on failure counts one:
    /// the message stays where it is, recorded, and is filed later (after a doubling delay;
    /// people are told at the third failure). A message on its way to quarantine stays on its
    /// way there.
    ///
    /// # Errors
    /// The IMAP error when the session is gone (reconnect); store trouble.
    async fn file_message(
        &self,
        client: &mut ImapClient,
        scope: &Scope<'_>,
        filing: Filing<'_>,
        pass: &mut Pass,
    ) -> Result<(), IngestError> {
        let position = scope.position(filing.uid);
        let e = match client.file(filing.uid, filing.folder).await {
            Ok(_) => {
                pass.progressed = true;
                if let Some(r) = filing.stuck {
                    self.commit(stuck::plan_cleared(r, &position)).await?;
                }
                return Ok(());
            }
            Err(e) => e,
        };
        let stage = match filing.stuck {
            Some(r) if r.stage == StuckStage::Quarantine => StuckStage::Quarantine,
            _ => StuckStage::File,
        };
        let error = e.to_string();
        let failure = Failure {
            stage,
            folder: Some(filing.folder),
            content_hash: filing.hash,
            error: &error,
        };
        let planned = self.plan_stuck(filing.stuck, failure, &position).await?;
        match planned.alert {
            Some(why) => error!(
                uid = filing.uid,
                why, "message cannot be filed; listed for people (case list, digest)"
            ),
            None => error!(
                uid = filing.uid,
                error,
                failures = planned.record.failures,
                next_try = %planned.record.next_attempt_at,
                "cannot file message; it stays recorded and is filed later"
            ),
        }
        if client.is_open() {
            Ok(())
        } else {
            Err(e.into())
        }
    }

    /// Counts a failure to fetch one message on its own; at the third, moves it unread to the
    /// quarantine folder with a "needs human triage" entry, so the messages after it go on.
    ///
    /// # Errors
    /// `e` itself when the session is gone (reconnect); store trouble.
    async fn fetch_failed(
        &self,
        client: &mut ImapClient,
        scope: &Scope<'_>,
        uid: u32,
        e: ImapError,
        stuck: Option<&StuckMessage>,
        pass: &mut Pass,
    ) -> Result<(), IngestError> {
        self.set_single(scope, &[uid], false);
        let error = e.to_string();
        let failure = Failure {
            stage: StuckStage::Fetch,
            folder: None,
            content_hash: None,
            error: &error,
        };
        let planned = self
            .plan_stuck(stuck, failure, &scope.position(uid))
            .await?;
        match &planned.alert {
            Some(why) => error!(
                uid,
                why, "message cannot be fetched; quarantined for human triage"
            ),
            None => warn!(
                uid,
                error,
                failures = planned.record.failures,
                next_try = %planned.record.next_attempt_at,
                "cannot fetch message; the ones after it go on, it is tried again later"
            ),
        }
        if !client.is_open() {
            return Err(e.into());
        }
        if planned.quarantine && scope.file {
            let filing = Filing {
                uid,
                folder: &self.quarantine,
                hash: None,
                stuck: Some(&planned.record),
            };
            self.file_message(client, scope, filing, pass).await?;
        }
        Ok(())
    }

    /// Plans and applies one failure of a message (see `core::plan::stuck`).
    async fn plan_stuck(
        &self,
        stuck: Option<&StuckMessage>,
        failure: Failure<'_>,
        position: &Position,
    ) -> Result<stuck::Planned, IngestError> {
        let planned =
            stuck::plan_failure(stuck, failure, position, &self.quarantine, self.clock.now());
        self.commit(planned.change.clone()).await?;
        Ok(planned)
    }
}
