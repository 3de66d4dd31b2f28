//! Ingest: from a message in the shared mailbox to a durable case, exactly once.
//!
//! # The exactly-once protocol
//! For each message, in UID order: fetch (`BODY.PEEK[]`, `\Seen` untouched) → dedupe by content
//! hash → triage (pure) → [`plan::plan`] (pure) → **one store transaction** holding the case or
//! follow-up, its audit events, the acknowledgement in the outbox, the dedupe records and the
//! mailbox cursor → flush → only then file the message on the server (MOVE to the kind's folder).
//!
//! - A crash before the commit: nothing was written; the message is still in the mailbox, after
//!   the cursor, and is processed again.
//! - A crash after the commit, before filing: the message is still in the mailbox. At every
//!   (re)connection, every message not yet filed is fetched again; its content hash is known, so
//!   it is only filed, never processed twice.
//! - UIDVALIDITY changed (the mailbox was recreated): every unfiled message is rescanned and the
//!   same hash lookup prevents any duplicate case.
//! - A message that cannot be recorded is quarantined (folder, `seen` record with the reason,
//!   a "needs human triage" record, error log) and the loop goes on.
//! - A message that kills the process (abort, stack overflow, kill: nothing `catch_unwind` sees)
//!   would come first again after every restart. An attempt record, flushed before triage and
//!   cleared with the outcome, counts those deaths; after two the message is quarantined instead
//!   of triaged ([`poison`]). A panic in triage or planning quarantines it at once.
//!
//! - A message that cannot be fetched on its own, or filed, is left where it is and tried again
//!   later with a doubling delay ([`pass`], `core::plan::stuck`), not on every reconnect; after
//!   three failures it is quarantined (fetch) or listed for people (filing). A message larger
//!   than `imap.max_message_bytes` is read in part and its case says so.
//!
//! The content hash ignores the trace headers the delivery path adds at the top (`Received:`,
//! `Return-Path:`, `Delivered-To:`…), so the same message delivered twice (to two of our aliases)
//! is one case. A copy whose path wrote elsewhere is caught after triage by its delivery identity
//! (same Message-ID, From and Date: [`crate::core::dedupe::identity_key`]). Message-IDs are not
//! trusted for dedupe on their own: senders reuse them.
//!
//! What is not here: IMAP protocol details (`mail::imap`), sending (`outbox`), signals and task
//! wiring (`daemon`).

use crate::app::env::Env;
use crate::app::workflow::{CommandRecord, StaffMail, Workflow};
use crate::config::Config;
use crate::config::RetryPolicy;
use crate::core::dedupe::{dedupe_hash, identity_key};
use crate::core::extract::{AttachmentReader, SkipDocuments};
use crate::core::followup::Threads;
use crate::core::plan::ingest as plan;
use crate::core::plan::poison::{self, Gate};
use crate::core::triage::{self, Context};
use crate::io::clock::Clock;
use crate::io::ids::Ids;
use crate::io::mail::imap::{Fetched, IdleOutcome, ImapClient, ImapError, ImapSettings};
use crate::io::store::{SeenKey, Store, StoreError};
use crate::model::case::CaseRef;
use crate::model::kind::Kind;
use crate::model::records::IntakeAttempt;
use chrono::{DateTime, Utc};
use plan::{Facts, Handled, IngestSettings, Mode, Position};
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

mod open;
mod pass;
pub use open::{OpenError, OpenFrom, OpenedCase};
pub use pass::Pass;

/// Messages fetched per round trip while catching up: enough to hide latency (a batch is also
/// bounded by bytes, see [`pass`]).
const FETCH_BATCH: usize = 20;

/// Import fetches larger batches: it has no latency to protect, only throughput.
const IMPORT_FETCH_BATCH: usize = 100;

/// Import mode flushes the store once per this many messages (and at the end): a crash loses at
/// most this many, which the next run re-creates; one fsync per message would cap imports at the
/// disk's fsync rate.
const IMPORT_FLUSH_EVERY: usize = 500;

/// Longest wait in IDLE before re-checking the mailbox anyway: 10 minutes (a cheap safety net
/// against a lost notification; the IDLE itself is re-issued inside `ImapClient::idle`).
const IDLE_RECHECK: Duration = Duration::from_secs(600);

/// Reconnect backoff, the outbox's doubling arithmetic with other numbers: first pause 1 s, cap
/// 5 minutes (a dead server is retried for ever, but not hammered; `give_up_after` is unused).
const RECONNECT: RetryPolicy = RetryPolicy {
    first: Duration::from_secs(1),
    max: Duration::from_secs(300),
    give_up_after: Duration::MAX,
};

/// What the pipeline needs that an operator may reload (SIGHUP): rules and the context around
/// them.
pub type SharedContext = Arc<RwLock<Arc<Context>>>;

/// The ingest side of the daemon: one mailbox into the store.
pub struct Ingest {
    store: Store,
    ctx: SharedContext,
    settings: IngestSettings,
    folders: BTreeMap<Kind, String>,
    quarantine: String,
    outbox_wake: Arc<Notify>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn Ids>,
    /// Reads attached documents: decoder children in production (see `io::sandbox`).
    reader: Arc<dyn AttachmentReader>,
    workflow: Option<Arc<Workflow>>,
    /// A message larger than this is read in part (`imap.max_message_bytes`).
    max_message_bytes: u64,
    /// The corrections directory, where a re-classification by email keeps its test sample
    /// (`None`: not kept; see [`Ingest::keeping_corrections`]).
    corrections: Option<std::path::PathBuf>,
    /// (UIDVALIDITY, UID) of messages in a batch whose fetch failed and closed the session:
    /// the next session fetches them one at a time. In memory: after a restart the batch is
    /// simply tried once more.
    singles: Mutex<HashSet<(u32, u32)>>,
}

/// Largest request kept in the store to attach to the assignment email: 10 MB. Larger ones are
/// in the mailbox's Triage folder; the mail says so.
const MAX_RAW_KEPT: usize = 10 * 1024 * 1024;

/// What happened to one message (for logs, tests and the import summary).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Recorded by this call.
    Recorded {
        /// What the plan did.
        action: Handled,
        /// The case it created or joined.
        case: Option<CaseRef>,
    },
    /// Already recorded earlier (same content hash).
    Duplicate,
    /// Could not be recorded; quarantined.
    Quarantined(String),
}

/// Why ingest stopped or a message could not be handled.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The mail server.
    #[error(transparent)]
    Imap(#[from] ImapError),
    /// The store: nothing is filed and the cursor does not move; the message is tried again.
    #[error("case store: {0}")]
    Store(#[from] StoreError),
}

/// The store as follow-up detection sees it.
struct StoreThreads<'a>(&'a Store);

impl Threads for StoreThreads<'_> {
    fn case_for_message_id(&self, message_id: &str) -> Option<String> {
        match self.0.find_by_message_id(message_id) {
            Ok(r) => r.map(|r| r.to_string()),
            Err(e) => {
                warn!(error = %e, "threading lookup failed; treating the message as new");
                None
            }
        }
    }
    fn case_exists(&self, reference: &str) -> bool {
        reference
            .parse::<CaseRef>()
            .ok()
            .and_then(|r| self.0.get_case(&r).ok().flatten())
            .is_some()
    }
}

impl Ingest {
    /// Ingest for the mailbox in `config`, into `store`. `outbox_wake` is notified whenever a
    /// commit queued mail; time and Message-IDs come from `env`.
    pub fn new(
        config: &Config,
        mode: Mode,
        store: Store,
        ctx: SharedContext,
        outbox_wake: Arc<Notify>,
        env: &Env,
    ) -> Ingest {
        let (folders, quarantine, max_message_bytes) = match &config.imap {
            Some(m) => (m.folders.clone(), m.quarantine.clone(), m.max_message_bytes),
            None => (
                BTreeMap::new(),
                "Quarantine".to_string(),
                crate::config::mail::DEFAULT_MAX_MESSAGE_BYTES,
            ),
        };
        let id_domain = config
            .address
            .rsplit_once('@')
            .map(|(_, d)| d.to_string())
            .unwrap_or_default();
        Ingest {
            store,
            ctx,
            settings: IngestSettings {
                mode,
                acks: config.acknowledgements.clone(),
                // Our web forms' addresses are ours too: nothing is ever sent to them.
                own_addresses: config
                    .own_addresses
                    .iter()
                    .cloned()
                    .chain(config.intake.forms())
                    .collect(),
                prefixes: config.prefixes().into_iter().map(|(p, k)| (k, p)).collect(),
                id_domain,
            },
            folders,
            quarantine,
            outbox_wake,
            clock: Arc::clone(&env.clock),
            ids: Arc::clone(&env.ids),
            reader: Arc::clone(&env.reader),
            workflow: None,
            corrections: None,
            max_message_bytes,
            singles: Mutex::new(HashSet::new()),
        }
    }

    /// Adds the case workflow (routing, staff commands, responses seen): live mode only.
    pub fn with_workflow(mut self, workflow: Option<Arc<Workflow>>) -> Ingest {
        if self.settings.mode == Mode::Live {
            self.workflow = workflow;
        }
        self
    }

    /// Keeps the test sample of a case re-classified by email in `dir` (the corrections
    /// directory beside the store).
    pub fn keeping_corrections(mut self, dir: std::path::PathBuf) -> Ingest {
        self.corrections = Some(dir);
        self
    }

    /// Applies a follow-on change (routing, response) after the message's own commit. A failure
    /// is logged, not fatal: the scheduler routes unrouted cases, and the message is recorded.
    async fn follow_on(&self, change: crate::io::store::Change, what: &str) {
        if change.is_empty() {
            return;
        }
        let mails = !change.outbox_new.is_empty();
        match self.store.apply_async(change).await {
            Ok(_) if mails => self.outbox_wake.notify_one(),
            Ok(_) => {}
            Err(e) => error!(error = %e, what, "follow-on change failed; the scheduler retries"),
        }
    }

    fn context(&self) -> Arc<Context> {
        Arc::clone(&self.ctx.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// The folder a disposition files into (`None`: leave the message where it is).
    fn folder_for(&self, kind: Option<Kind>) -> String {
        match kind {
            Some(k) => self
                .folders
                .get(&k)
                .cloned()
                .unwrap_or_else(|| self.quarantine.clone()),
            None => self.quarantine.clone(),
        }
    }

    /// Where an already-recorded message belongs, from its content hash.
    fn recorded_folder(&self, hash: &str) -> Result<Option<String>, StoreError> {
        Ok(self.recorded_kind(hash)?.map(|kind| self.folder_for(kind)))
    }

    /// The kind a message was recorded as, by one of its dedupe keys (content hash or delivery
    /// identity): `Some(None)` when it was recorded without one (quarantined).
    fn recorded_kind(&self, key: &str) -> Result<Option<Option<Kind>>, StoreError> {
        if let Some(r) = self.store.find_by_hash(key)? {
            return Ok(Some(self.store.get_case(&r)?.map(|c| c.kind)));
        }
        Ok(self
            .store
            .find_seen(SeenKey::ContentHash(key))?
            .map(|seen| seen.kind))
    }

    /// Records one fetched message: dedupe, the poison guard, triage, plan, one transaction,
    /// flush. Returns what happened and the folder to file it into. Never files: the caller
    /// does, after this returns.
    ///
    /// The guard ([`poison::gate`]): before triage an attempt is recorded and flushed; the
    /// transaction that records the message clears it. A message that comes up again with
    /// [`poison::MAX_DEATHS`] unfinished attempts killed intake that often (an abort, a stack
    /// overflow, a kill) and is quarantined for people instead of triaged, so it cannot stop the
    /// messages after it.
    ///
    /// # Errors
    /// [`IngestError::Store`] when the store cannot be read or written (nothing was recorded;
    /// try again later; the attempt this call counted is taken back where the store allows).
    /// Every problem with the message itself is a quarantine, not an error.
    pub async fn record(
        &self,
        mailbox: &str,
        uidvalidity: u32,
        fetched: &Fetched,
        now: DateTime<Utc>,
    ) -> Result<(Disposition, String), IngestError> {
        let position = Position {
            mailbox: mailbox.to_string(),
            uidvalidity,
            uid: fetched.uid,
        };
        let hash = dedupe_hash(&fetched.raw);
        if let Some(folder) = self.recorded_folder(&hash)? {
            self.commit(plan::plan_duplicate(&position)).await?;
            return Ok((Disposition::Duplicate, folder));
        }
        let previous = self.attempt(&hash)?;
        match poison::gate(previous.as_ref(), &hash, &position, now) {
            Gate::GiveUp { change, why } => {
                error!(
                    hash = hash.as_str(),
                    deaths = previous.as_ref().map_or(0, |a| a.count),
                    "processing died on this message before; quarantined for human triage"
                );
                self.commit(change).await?;
                return Ok((Disposition::Quarantined(why), self.quarantine.clone()));
            }
            Gate::Triage { record, attempt } => {
                if attempt > 1 {
                    warn!(
                        hash = hash.as_str(),
                        attempt, "processing died on this message before; trying once more"
                    );
                }
                // Durable before triage starts: only a flushed attempt survives an abort. Import
                // does not flush per message (see `commit`); a crash there loses the count.
                self.commit(record).await?;
            }
        }
        let result = self.triage_and_record(fetched, &hash, &position, now).await;
        if let Err(e) = &result {
            // A store or server error is not a death of the message: take the attempt back (or
            // clear it, when the message was recorded before the error).
            let recorded = matches!(self.recorded_folder(&hash), Ok(Some(_)));
            let undo = poison::undo(if recorded { None } else { previous.as_ref() }, &hash);
            if let Err(u) = self.commit(undo).await {
                warn!(error = %u, cause = %e, "cannot take back the intake attempt");
            }
        }
        result
    }

    /// The message's unfinished intake attempt, if any. A record that does not decode counts
    /// as one death: it was written by an attempt that never finished.
    fn attempt(&self, hash: &str) -> Result<Option<IntakeAttempt>, StoreError> {
        let Some(value) = self.store.mark(&poison::attempt_key(hash))? else {
            return Ok(None);
        };
        Ok(Some(serde_json::from_value(value).unwrap_or_else(|e| {
            warn!(error = %e, "unreadable intake attempt record; counted as one");
            IntakeAttempt {
                count: 1,
                first_at: DateTime::<Utc>::MIN_UTC,
                last_at: DateTime::<Utc>::MIN_UTC,
                mailbox: String::new(),
                uidvalidity: 0,
                uid: 0,
            }
        })))
    }

    /// Triage, plan and the one transaction for a message the guard let through. Every change
    /// it commits clears the message's attempt ([`poison::settle`]).
    async fn triage_and_record(
        &self,
        fetched: &Fetched,
        hash: &str,
        position: &Position,
        now: DateTime<Utc>,
    ) -> Result<(Disposition, String), IngestError> {
        let (ctx, mut outcome) = match self.triage(fetched, hash).await {
            Ok(v) => v,
            Err(why) => return self.quarantine(None, hash, why, position, now).await,
        };
        // Another delivery of a message recorded before (its path wrote headers the content
        // hash does not skip): known by its identity, and never run twice as a command.
        let same_delivery = match identity_key(&outcome.message) {
            Some(key) => self.recorded_kind(&key)?.flatten(),
            None => None,
        };
        // Mail to a case's signed reply address: a command, or a refusal that rides along with
        // whatever triage makes of the message (nothing sent to a reply address is lost).
        let mut refused = None;
        if let Some(wf) = self.workflow.as_ref().filter(|_| same_delivery.is_none()) {
            match wf.staff_command(&self.store, &ctx, &outcome, now)? {
                Some(StaffMail::Command(mut command)) => {
                    poison::settle(&mut command.change, hash);
                    return self.record_command(command, position).await;
                }
                Some(StaffMail::Refused(change)) => refused = Some(change),
                Some(StaffMail::Open(order)) => {
                    return self
                        .record_open(wf, &outcome, order, hash, position, now)
                        .await;
                }
                Some(StaffMail::Answered(mut change)) => {
                    poison::settle(&mut change, hash);
                    return self.record_answer(change, Kind::Auto, None, position).await;
                }
                Some(StaffMail::NotOpened(why)) => {
                    // Planned as machine mail: kept and listed for a person, never a case.
                    outcome.decision.kind = Kind::Auto;
                    outcome.decision.why = why;
                    outcome.followup = None;
                }
                None => {}
            }
        }
        let facts = Facts {
            same_delivery,
            ..self.facts(&outcome, now)?
        };
        let planned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            plan::plan(&ctx, &self.settings, &outcome, &facts, position, now)
        }));
        let mut p = match planned {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => {
                let id = outcome.message.message_id.clone();
                return self
                    .quarantine(id, hash, e.to_string(), position, now)
                    .await;
            }
            Err(_) => {
                let why = "the planner panicked on this message".to_string();
                let id = outcome.message.message_id.clone();
                return self.quarantine(id, hash, why, position, now).await;
            }
        };
        if let Some(refusal) = refused {
            p.queues_mail |= !refusal.outbox_new.is_empty();
            p.change.absorb(refusal);
        }
        poison::settle(&mut p.change, hash);
        plan::attach_original(&mut p, &fetched.raw, fetched.partial);
        if fetched.partial {
            let partial = plan::Partial {
                size: fetched.size,
                read: fetched.raw.len() as u64,
                limit: self.max_message_bytes,
            };
            plan::note_partial(&mut p, &partial, now);
        }
        let folder = self.folder_for(Some(p.file_as));
        let (action, queues_mail) = (p.action.clone(), p.queues_mail);
        // Only a whole message is attached to the assignment mail (a cut one would mislead).
        if self.workflow.is_some()
            && matches!(action, Handled::NewCase(_))
            && !fetched.partial
            && fetched.raw.len() <= MAX_RAW_KEPT
        {
            self.store
                .put_raw(&outcome.message.content_hash, &fetched.raw)?;
        }
        match self.commit(p.change).await {
            Ok(applied) => {
                if queues_mail {
                    self.outbox_wake.notify_one();
                }
                if let Some(id) = applied.machine_mail {
                    info!(id = %id, "kept as machine mail for the daily list");
                }
                let case = match &action {
                    Handled::NewCase(_) => applied.new_case,
                    Handled::FollowUp(r) => Some(r.clone()),
                    Handled::Ignored { .. } => None,
                };
                self.after_commit(&ctx, &outcome, &action, case.as_ref(), now)
                    .await?;
                Ok((Disposition::Recorded { action, case }, folder))
            }
            Err(e @ (StoreError::InvalidChange { .. } | StoreError::DuplicateHash { .. })) => {
                let why = format!("the store refused the change: {e}");
                let id = outcome.message.message_id.clone();
                self.quarantine(id, hash, why, position, now).await
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Parses and triages a message off the async workers (parsing is CPU-bound, and each
    /// attached document waits for its decoder child: bounded, but up to seconds). A message
    /// read in part is never judged invalid ([`triage::read_in_part`]). `Err` with the reason to
    /// quarantine when the pipeline panicked: a bug, but this message must not stop the mailbox.
    async fn triage(
        &self,
        fetched: &Fetched,
        hash: &str,
    ) -> Result<(Arc<Context>, triage::Outcome), String> {
        let ctx = self.context();
        let raw = fetched.raw.clone();
        let internal_date = fetched.internal_date;
        let store = self.store.clone();
        let content_hash = hash.to_string();
        let reader = Arc::clone(&self.reader);
        let partial = fetched.partial;
        tokio::task::spawn_blocking(move || {
            let threads = StoreThreads(&store);
            let mut outcome =
                triage::triage(&ctx, &raw, Some(internal_date), &threads, reader.as_ref());
            outcome.message.content_hash = content_hash;
            if partial {
                triage::read_in_part(&ctx, &mut outcome);
            }
            (ctx, outcome)
        })
        .await
        .map_err(|e| format!("the pipeline failed on this message: {e}"))
    }

    /// What the plan needs from the store: the case a follow-up joins, the mail sent lately to
    /// the sender and to everyone (the two acknowledgement caps), and the Message-ID of the letter it may cause.
    fn facts(&self, outcome: &triage::Outcome, now: DateTime<Utc>) -> Result<Facts, StoreError> {
        let mut facts = Facts {
            letter_id: self.ids.message_id(&self.settings.id_domain),
            ..Facts::default()
        };
        if let Some(f) = &outcome.followup
            && let Ok(r) = f.reference.parse::<CaseRef>()
        {
            facts.followup_case = self.store.get_case(&r)?;
        }
        if let Some(to) = outcome.message.reply_address() {
            facts.recent_mail_to_sender = self
                .store
                .outbox_count_to(&to.email, now - chrono::Duration::hours(24))?;
        }
        facts.acks_last_hour = self
            .store
            .outbox_count_since(now - chrono::Duration::hours(1), |row| {
                crate::model::letter::OutboxJob::is_ack_payload(&row.payload)
            })?;
        Ok(facts)
    }

    /// Records a staff command (its change, the message's `seen` record and the cursor) and
    /// files the message with its case.
    async fn record_command(
        &self,
        command: CommandRecord,
        position: &Position,
    ) -> Result<(Disposition, String), IngestError> {
        let mut change = command.change;
        change.cursor = plan::plan_duplicate(position).cursor;
        let mails = !change.outbox_new.is_empty();
        let touched = crate::core::corrections::touched(&change);
        self.commit(change).await?;
        if mails {
            self.outbox_wake.notify_one();
        }
        if !touched.is_empty() {
            let (store, dir) = (self.store.clone(), self.corrections.clone());
            // Files and fsyncs: off the async workers. What happened is logged there.
            let _ = tokio::task::spawn_blocking(move || {
                crate::app::corrections::after_commit(&store, dir.as_deref(), &touched)
            })
            .await;
        }
        let reference = command.reference;
        Ok((
            Disposition::Recorded {
                action: Handled::FollowUp(reference.clone()),
                case: Some(reference),
            },
            self.folder_for(Some(command.kind)),
        ))
    }

    /// Carries out an emailed `#open` ([`Ingest::open_from`]), then records the message (its
    /// `seen` records, the answer to the sender, the cursor) and files it with the case made, or
    /// with machine mail when none was.
    ///
    /// The case and the answer are two transactions: after a crash between them the message is
    /// read again, finds the record opened and is answered "already opened", so nothing is made
    /// twice. A store error is returned (the message is tried again later).
    async fn record_open(
        &self,
        wf: &Workflow,
        outcome: &triage::Outcome,
        order: crate::app::workflow::OpenOrder,
        hash: &str,
        position: &Position,
        now: DateTime<Utc>,
    ) -> Result<(Disposition, String), IngestError> {
        use crate::core::plan::ingest::PlanError;
        use crate::core::plan::machine::by_mail::{MachineMailReply, OpenOutcome};
        let req = OpenFrom {
            id: order.id,
            kind: order.kind,
            by: &order.sender,
            why: &format!("opened by email: {}", order.line.text),
            os_uid: None,
        };
        let (result, case) = match self.open_from(&req, now).await {
            Ok(c) => (
                OpenOutcome::Opened {
                    case: c.reference.clone(),
                    kind: c.kind,
                    due: c.due,
                },
                Some((c.reference, c.kind)),
            ),
            Err(
                OpenError::Plan(PlanError::AlreadyOpened { case, by, .. })
                | OpenError::Store(StoreError::MachineMailOpened { case, by, .. }),
            ) => (OpenOutcome::AlreadyOpened { case, by }, None),
            Err(
                OpenError::NotFound(_) | OpenError::Store(StoreError::MachineMailNotFound { .. }),
            ) => (OpenOutcome::NotKept, None),
            Err(OpenError::Store(e)) => return Err(e.into()),
            Err(e) => (OpenOutcome::NotDone(e.to_string()), None),
        };
        let reply = MachineMailReply {
            id: order.id,
            line: Some(order.line),
            outcome: result,
        };
        let mut change = wf.open_reply(&order.sender, order.message_id, reply, now);
        let filed = case.as_ref().map_or(Kind::Auto, |(_, k)| *k);
        let why = format!("#open for machine mail {}", order.id);
        change
            .seen
            .extend(plan::seen_records(&outcome.message, filed, &why, now));
        poison::settle(&mut change, hash);
        self.record_answer(change, filed, case.map(|(r, _)| r), position)
            .await
    }

    /// Records the message that carried an emailed `#open` (its change and the cursor) and files
    /// it as `kind`: with the case it made, if any.
    async fn record_answer(
        &self,
        mut change: crate::io::store::Change,
        kind: Kind,
        case: Option<CaseRef>,
        position: &Position,
    ) -> Result<(Disposition, String), IngestError> {
        change.cursor = plan::plan_duplicate(position).cursor;
        let mails = !change.outbox_new.is_empty();
        self.commit(change).await?;
        if mails {
            self.outbox_wake.notify_one();
        }
        let action = match &case {
            Some(r) => Handled::FollowUp(r.clone()),
            None => Handled::Ignored {
                kind,
                why: "#open to a machine-mail address".into(),
            },
        };
        Ok((
            Disposition::Recorded { action, case },
            self.folder_for(Some(kind)),
        ))
    }

    /// The workflow's follow-on after a message's own commit: a new case is routed, our own
    /// response to a case marks it responded.
    async fn after_commit(
        &self,
        ctx: &Context,
        outcome: &triage::Outcome,
        action: &Handled,
        case: Option<&CaseRef>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (Some(wf), Some(r)) = (&self.workflow, case) else {
            return Ok(());
        };
        let Some(stored) = self.store.get_case(r)? else {
            return Ok(());
        };
        let from_us = outcome
            .message
            .from
            .as_ref()
            .is_some_and(|a| self.settings.is_own(&a.email));
        match action {
            Handled::NewCase(_) => {
                let change =
                    wf.assign(&self.store, ctx, &stored, &outcome.message.body_text, now)?;
                self.follow_on(change, "routing").await;
            }
            Handled::FollowUp(_) if from_us => {
                if let Some(change) = wf.responded_by_mail(ctx, &stored, outcome, now) {
                    self.follow_on(change, "response seen").await;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Records a message that cannot be processed (its `seen` record, a "needs human triage"
    /// record so people see it, its attempt cleared, the cursor) and names the quarantine folder
    /// to file it into.
    async fn quarantine(
        &self,
        message_id: Option<String>,
        hash: &str,
        why: String,
        position: &Position,
        now: DateTime<Utc>,
    ) -> Result<(Disposition, String), IngestError> {
        self.commit(poison::plan_needs_triage(
            message_id, hash, &why, position, now,
        ))
        .await?;
        Ok((Disposition::Quarantined(why), self.quarantine.clone()))
    }

    async fn commit(
        &self,
        change: crate::io::store::Change,
    ) -> Result<crate::io::store::Applied, StoreError> {
        if self.settings.mode == Mode::Import {
            // Import commits without a flush per message and flushes per batch: a crash loses
            // at most the last batch, which the next import run re-creates (same hashes).
            self.store.apply_unflushed(change)
        } else {
            self.store.apply_async(change).await
        }
    }

    /// One connection's worth of work: connect, select, finish anything unfiled, then follow new
    /// mail (IDLE, or polling) until `cancel` or an error, trying stuck messages again as they
    /// fall due. `progress` is set once the session moved something on ([`Pass::progressed`])
    /// or completed a wait for mail: what the reconnect backoff resets on.
    async fn session(
        &self,
        settings: &ImapSettings,
        mailbox: &str,
        idle: bool,
        cancel: &CancellationToken,
        progress: &mut bool,
    ) -> Result<(), IngestError> {
        let mut client = ImapClient::connect(settings).await?;
        let state = client.select(mailbox).await?;
        if let Some(c) = self.store.cursor(mailbox)?
            && c.uidvalidity != state.uidvalidity
        {
            warn!(
                mailbox,
                old = c.uidvalidity,
                new = state.uidvalidity,
                "UIDVALIDITY changed: rescanning the mailbox (content hashes prevent duplicates)"
            );
        }
        let ns = client.namespace();
        info!(
            mailbox,
            exists = state.exists,
            uidvalidity = state.uidvalidity,
            namespace_prefix = ns.prefix,
            delimiter = ?ns.delimiter,
            "connected"
        );
        let scope = pass::Scope {
            mailbox,
            state,
            file: true,
            cancel,
        };
        // Everything not yet filed: new mail, and mail a crash left between commit and filing.
        let pending = client.uids_unfiled().await?;
        let mut next = pending.last().map_or(1, |u| u.saturating_add(1));
        self.pass(&mut client, &scope, &pending, progress).await?;
        if let Some(c) = self.store.cursor(mailbox)?
            && c.uidvalidity == state.uidvalidity
        {
            next = next.max(c.last_uid.saturating_add(1));
        }
        while !cancel.is_cancelled() {
            let stuck = self.stuck_records(mailbox, state.uidvalidity).await?;
            let wait = until_due(&stuck, self.clock.now()).min(IDLE_RECHECK);
            let woke = if idle {
                client.idle(wait, cancel).await?
            } else {
                // Polling by configuration: the UID SEARCH below is the poll.
                tokio::select! {
                    () = cancel.cancelled() => IdleOutcome::Cancelled,
                    () = tokio::time::sleep(settings.timeouts.poll_interval.min(wait)) => {
                        IdleOutcome::Timeout
                    }
                }
            };
            if woke == IdleOutcome::Cancelled {
                break;
            }
            *progress = true;
            let mut uids = client.uids_from(next).await?;
            if let Some(last) = uids.last() {
                next = last.saturating_add(1);
            }
            // Stuck messages whose next try is due (process_uids skips the others).
            uids.extend(stuck.keys().copied());
            uids.sort_unstable();
            uids.dedup();
            self.pass(&mut client, &scope, &uids, progress).await?;
        }
        if let Err(e) = client.logout().await {
            debug!(error = %e, "logout");
        }
        Ok(())
    }

    /// One pass of a session; `progress` is set when it moved anything on, error or not.
    async fn pass(
        &self,
        client: &mut ImapClient,
        scope: &pass::Scope<'_>,
        uids: &[u32],
        progress: &mut bool,
    ) -> Result<(), IngestError> {
        let mut done = Pass::default();
        let result = self.process_into(client, scope, uids, &mut done).await;
        *progress |= done.progressed;
        result
    }

    /// Follows the mailbox until `cancel`: reconnects after any failure with capped exponential
    /// backoff and jitter, logging why. Returns when cancelled.
    ///
    /// The failure count resets only when a session made progress (a message recorded or
    /// filed, or a completed wait for mail), not on every successful login: a server that lets
    /// us in and then fails the same way each time is tried after 1 s, 2 s, 4 s… up to
    /// 5 minutes, never about once a second.
    pub async fn run(
        &self,
        settings: ImapSettings,
        mailbox: String,
        idle: bool,
        cancel: CancellationToken,
    ) {
        let mut failures: u32 = 0;
        while !cancel.is_cancelled() {
            let mut progress = false;
            let result = self
                .session(&settings, &mailbox, idle, &cancel, &mut progress)
                .await;
            if progress {
                failures = 0;
            }
            if let Err(e) = result {
                failures = failures.saturating_add(1);
                let pause = backoff(failures, jitter_seed());
                error!(error = %e, failures, retry_in_ms = pause.as_millis() as u64, "mailbox session ended");
                tokio::select! {
                    () = cancel.cancelled() => break,
                    () = tokio::time::sleep(pause) => {}
                }
            }
        }
        info!(mailbox, "ingest stopped");
    }
}

/// How long until the first of `stuck` is due (zero when one already is; the longest IDLE
/// when there are none).
fn until_due(
    stuck: &BTreeMap<u32, crate::model::records::StuckMessage>,
    now: DateTime<Utc>,
) -> Duration {
    crate::core::plan::stuck::next_due(stuck.values())
        .map_or(IDLE_RECHECK, |at| (at - now).to_std().unwrap_or_default())
}

impl Ingest {
    /// Watches the Sent folder (read only: nothing is moved or flagged) for responses to
    /// requesters: each new message whose subject carries a case reference marks that case
    /// responded (audited). Its own cursor (`sent:FOLDER`) makes each message count once. Only
    /// headers are fetched (addresses and subject are all it reads), so a response with large
    /// attachments costs no more than any other. Reconnects with the intake's backoff, reset
    /// only after progress.
    pub async fn watch_sent(
        &self,
        settings: ImapSettings,
        folder: String,
        ctx: SharedContext,
        cancel: CancellationToken,
    ) {
        let Some(wf) = self.workflow.clone() else {
            return;
        };
        let mut failures: u32 = 0;
        while !cancel.is_cancelled() {
            let mut progress = false;
            let result = self
                .sent_session(&settings, &folder, &wf, &ctx, &cancel, &mut progress)
                .await;
            if progress {
                failures = 0;
            }
            if let Err(e) = result {
                failures = failures.saturating_add(1);
                let pause = backoff(failures, jitter_seed());
                error!(error = %e, folder, failures, retry_in_ms = pause.as_millis() as u64, "Sent folder watch failed");
                tokio::select! {
                    () = cancel.cancelled() => break,
                    () = tokio::time::sleep(pause) => {}
                }
            }
        }
    }

    /// One connection of [`Ingest::watch_sent`], until `cancel` or an error.
    async fn sent_session(
        &self,
        settings: &ImapSettings,
        folder: &str,
        wf: &Workflow,
        ctx: &SharedContext,
        cancel: &CancellationToken,
        progress: &mut bool,
    ) -> Result<(), IngestError> {
        let key = format!("sent:{folder}");
        let mut client = ImapClient::connect(settings).await?;
        let state = client.select(folder).await?;
        info!(folder, "watching the Sent folder for responses");
        let mut next = match self.store.cursor(&key)? {
            Some(c) if c.uidvalidity == state.uidvalidity => c.last_uid.saturating_add(1),
            // First run (or a renumbered folder): only what is sent from now on counts.
            _ => state.uid_next,
        };
        loop {
            let uids = client.uids_from(next).await?;
            for chunk in uids.chunks(FETCH_BATCH) {
                for (uid, header) in client.fetch_headers(chunk).await? {
                    let cursor = crate::io::store::CursorUpdate {
                        mailbox: key.clone(),
                        cursor: crate::io::store::Cursor {
                            uidvalidity: state.uidvalidity,
                            last_uid: uid,
                        },
                    };
                    self.sent_message(&header, wf, ctx, cursor).await?;
                    next = uid.saturating_add(1);
                    *progress = true;
                }
            }
            if client.idle(IDLE_RECHECK, cancel).await? == IdleOutcome::Cancelled {
                return Ok(());
            }
            *progress = true;
        }
    }

    /// Reads one sent message's header: a case reference in the subject, sent to that case's
    /// requester, marks the case responded. The cursor moves in the same change.
    async fn sent_message(
        &self,
        header: &[u8],
        wf: &Workflow,
        ctx: &SharedContext,
        cursor: crate::io::store::CursorUpdate,
    ) -> Result<(), IngestError> {
        // Subject and recipients are all it needs: no document is decoded.
        let msg = crate::core::parse::parse(header, &SkipDocuments);
        let context = Arc::clone(&ctx.read().unwrap_or_else(|e| e.into_inner()));
        let now = self.clock.now();
        let mut change = crate::io::store::Change::default();
        for r in crate::core::followup::references_in(&msg.subject, &context.prefixes) {
            if let Ok(r) = r.parse::<CaseRef>()
                && let Some(case) = self.store.get_case(&r)?
                && msg
                    .to
                    .iter()
                    .any(|a| a.email.eq_ignore_ascii_case(&case.requester.email))
                && let Some(c) = wf.responded(&context, &case, now)
            {
                info!(case = %r, "response seen in the Sent folder");
                change = c;
                break;
            }
        }
        change.cursor = Some(cursor);
        self.store.apply_async(change).await?;
        Ok(())
    }
}

/// The log line of one message: what happened, its size, and whether only part was read.
fn log_disposition(d: &Disposition, f: &Fetched) {
    let (size, partial) = (f.size, f.partial);
    match d {
        Disposition::Recorded {
            action: Handled::NewCase(kind),
            ..
        } => info!(kind = kind.as_str(), size, partial, "new case"),
        Disposition::Recorded {
            action: Handled::FollowUp(r),
            ..
        } => info!(case = %r, size, partial, "follow-up joined its case"),
        Disposition::Recorded {
            action: Handled::Ignored { kind, why },
            ..
        } => info!(kind = kind.as_str(), why, size, partial, "no case"),
        Disposition::Duplicate => info!(size, "already recorded; filing only"),
        Disposition::Quarantined(why) => error!(why, size, "message quarantined"),
    }
}

/// A jitter source without a crate: the low bits of the current time.
fn jitter_seed() -> u64 {
    u64::from(Utc::now().timestamp_subsec_nanos())
}

/// The reconnect pause after `failures` failed sessions: `RECONNECT`'s capped doubling (1 s,
/// 2 s, 4 s… at most 5 minutes) plus up to 25% jitter from `seed`, so many daemons restarted by
/// one outage do not reconnect in step.
pub fn backoff(failures: u32, seed: u64) -> Duration {
    let base = RECONNECT.backoff(failures);
    let quarter = base.as_millis() as u64 / 4;
    let jitter = if quarter == 0 { 0 } else { seed % quarter };
    base + Duration::from_millis(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::records::CaseOrder;

    /// [`Ingest::record`] on a temporary store, without a server: the poison guard, and the
    /// delivery identity as a second dedupe key.
    mod poison_guard {
        use super::*;
        use crate::core::plan::poison::{NEEDS_TRIAGE_PREFIX, attempt_key, needs_triage};
        use crate::io::clock::ManualClock;
        use crate::io::ids::SequentialIds;
        use chrono::TimeZone;

        const FOI: &str = "From: Pat Requester <pat@example.org>\r\n\
            To: foi@council.example.gov.uk\r\nSubject: Parking fines\r\n\
            Message-ID: <poison-test@example.org>\r\nDate: Mon, 23 Nov 2026 09:59:00 +0000\r\n\
            Content-Type: text/plain; charset=utf-8\r\n\r\nDear Sir or Madam,\r\n\r\n\
            Under the Freedom of Information Act 2000 please provide the number of parking \
            fines issued on Mill Lane in each of the last three financial years.\r\n\r\n\
            Yours faithfully,\r\nPat Requester\r\n";

        fn t0() -> DateTime<Utc> {
            Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0)
                .single()
                .expect("valid")
        }

        fn ingest(store: &Store) -> Ingest {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
            let rules = crate::core::rules::RuleSet::load(&dir).expect("default rules load");
            let ctx: SharedContext = Arc::new(RwLock::new(Arc::new(Context::standalone(rules))));
            // The test messages carry no documents; the decoders in process are enough.
            let env = Env::new(
                Arc::new(ManualClock::new(t0())),
                Arc::new(SequentialIds::new()),
                Arc::new(crate::core::extract::InProcess),
            );
            Ingest::new(
                &Config::defaults(),
                Mode::Live,
                store.clone(),
                ctx,
                Arc::new(Notify::new()),
                &env,
            )
        }

        fn fetched(uid: u32) -> Fetched {
            Fetched {
                uid,
                internal_date: t0(),
                raw: FOI.as_bytes().to_vec(),
                size: FOI.len() as u64,
                partial: false,
            }
        }

        /// Leaves `deaths` unfinished attempts behind, as intake dying mid-triage would.
        fn die(store: &Store, deaths: u32, uid: u32) {
            let hash = dedupe_hash(FOI.as_bytes());
            let position = Position {
                mailbox: "INBOX".into(),
                uidvalidity: 7,
                uid,
            };
            for _ in 0..deaths {
                let previous: Option<IntakeAttempt> = store
                    .mark(&attempt_key(&hash))
                    .expect("read")
                    .map(|v| serde_json::from_value(v).expect("decodes"));
                match poison::gate(previous.as_ref(), &hash, &position, t0()) {
                    Gate::Triage { record, .. } => {
                        store.apply(record).expect("attempt recorded");
                    }
                    Gate::GiveUp { .. } => panic!("gave up before {deaths} deaths"),
                }
            }
        }

        #[tokio::test]
        async fn deaths_before_decide_between_a_case_and_quarantine() {
            // (unfinished attempts left behind, a case is made)
            for (deaths, makes_case) in [(0, true), (1, true), (2, false)] {
                let store = Store::open_temporary().expect("temporary store");
                die(&store, deaths, 41);
                let ingest = ingest(&store);
                let (disposition, folder) = ingest
                    .record("INBOX", 7, &fetched(41), t0())
                    .await
                    .expect("recorded");
                let hash = dedupe_hash(FOI.as_bytes());
                assert_eq!(
                    store.mark(&attempt_key(&hash)).expect("read"),
                    None,
                    "{deaths} deaths: the attempt is cleared with the outcome"
                );
                let cursor = store.cursor("INBOX").expect("read").expect("cursor moved");
                assert_eq!((cursor.uidvalidity, cursor.last_uid), (7, 41));
                let listed = needs_triage(&store.marks(NEEDS_TRIAGE_PREFIX).expect("scan"));
                if makes_case {
                    assert!(
                        matches!(disposition, Disposition::Recorded { case: Some(_), .. }),
                        "{deaths} deaths: {disposition:?}"
                    );
                    assert!(listed.is_empty());
                    continue;
                }
                let Disposition::Quarantined(why) = disposition else {
                    panic!("{deaths} deaths: {disposition:?}");
                };
                assert!(why.contains("died 2 times"), "{why}");
                assert_eq!(folder, "Quarantine");
                assert!(
                    store
                        .list_cases(CaseOrder::Reference)
                        .expect("list")
                        .is_empty()
                );
                assert_eq!(listed.len(), 1);
                assert_eq!(
                    (listed[0].uid, listed[0].content_hash.as_str()),
                    (41, hash.as_str())
                );
                // It comes up again (not filed, a rescan): known, filed to quarantine only.
                let (again, folder) = ingest
                    .record("INBOX", 7, &fetched(41), t0())
                    .await
                    .expect("recorded");
                assert_eq!(
                    (again, folder.as_str()),
                    (Disposition::Duplicate, "Quarantine")
                );
            }
        }

        /// A copy of [`FOI`] after `top` (headers a delivery path wrote) and `from`.
        fn copy(uid: u32, top: &str, from: &str) -> Fetched {
            let raw = format!(
                "{top}{}",
                FOI.replace("Pat Requester <pat@example.org>", from)
            );
            Fetched {
                uid,
                internal_date: t0(),
                size: raw.len() as u64,
                partial: false,
                raw: raw.into_bytes(),
            }
        }

        #[tokio::test]
        async fn another_delivery_is_known_by_its_identity_and_then_by_its_hash() {
            let store = Store::open_temporary().expect("temporary store");
            let ingest = ingest(&store);
            let pat = "Pat Requester <pat@example.org>";
            let gateway = "X-Gateway-Scan: clean\r\nReceived: from relay by mx; Mon, 23 Nov 2026 09:59:09 +0000\r\n";
            let (first, folder) = ingest
                .record("INBOX", 7, &fetched(41), t0())
                .await
                .expect("recorded");
            assert!(
                matches!(first, Disposition::Recorded { case: Some(_), .. }),
                "{first:?}"
            );
            // The gateway's header is not one the content hash skips: known after triage.
            let (second, again) = ingest
                .record("INBOX", 7, &copy(42, gateway, pat), t0())
                .await
                .expect("recorded");
            let Disposition::Recorded {
                action: Handled::Ignored { why, .. },
                case: None,
            } = second
            else {
                panic!("{second:?}");
            };
            assert!(why.contains("another delivery"), "{why}");
            assert_eq!(again, folder, "filed with the first");
            // A third copy like the second: known by its hash before triage.
            let (third, _) = ingest
                .record("INBOX", 7, &copy(43, gateway, pat), t0())
                .await
                .expect("recorded");
            assert_eq!(third, Disposition::Duplicate);
            // The same Message-ID and Date from someone else: a message of its own.
            let (forged, _) = ingest
                .record(
                    "INBOX",
                    7,
                    &copy(44, gateway, "Mallory <mallory@example.net>"),
                    t0(),
                )
                .await
                .expect("recorded");
            assert!(
                matches!(forged, Disposition::Recorded { case: Some(_), .. }),
                "{forged:?}"
            );
            assert_eq!(
                store.list_cases(CaseOrder::Reference).expect("list").len(),
                2
            );
        }

        #[tokio::test]
        async fn the_death_count_follows_the_content_across_uids() {
            let store = Store::open_temporary().expect("temporary store");
            // One death at UID 41, then the mailbox is renumbered: the count follows the bytes.
            die(&store, 1, 41);
            let hash = dedupe_hash(FOI.as_bytes());
            let left: IntakeAttempt = serde_json::from_value(
                store
                    .mark(&attempt_key(&hash))
                    .expect("read")
                    .expect("written"),
            )
            .expect("decodes");
            assert_eq!((left.count, left.uid), (1, 41));
            die(&store, 1, 3);
            let (disposition, _) = ingest(&store)
                .record("INBOX", 8, &fetched(3), t0())
                .await
                .expect("recorded");
            assert!(
                matches!(disposition, Disposition::Quarantined(_)),
                "{disposition:?}"
            );
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let table = [
            (1, 1_000),
            (2, 2_000),
            (3, 4_000),
            (9, 256_000),
            (10, 300_000),
            (1000, 300_000),
        ];
        for (failures, base_ms) in table {
            for seed in [0u64, 1, 999_999_999, u64::MAX] {
                let d = backoff(failures, seed).as_millis() as u64;
                assert!(
                    d >= base_ms && d <= base_ms + base_ms / 4,
                    "failures {failures} seed {seed}: {d} ms"
                );
            }
        }
        assert_eq!(backoff(0, 0), Duration::from_secs(1));
    }
}
