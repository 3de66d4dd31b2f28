//! The durable send queue worker: turns pending outbox rows into mail, and records what happened.
//!
//! What it does:
//! - [`OutboxJob`] is what an outbox row's `payload` holds (today: an acknowledgement), planned by
//!   the ingest code and written in the same store transaction as its case.
//! - [`Outbox::run_once`] takes the rows due at `now` ([`Store::outbox_pending`]), renders each
//!   with the stored case and the [`Letters`], hands it to a [`SendMail`] (the SMTP [`Mailer`]
//!   in production), and records the result with ONE [`Store::apply_async`] per row: the row's
//!   new status and an audit event on its case (`acknowledgement_sent` with the server's reply,
//!   `acknowledgement_retry` with the error, `acknowledgement_failed`).
//! - [`after_attempt`] is the pure decision behind that record: sent → `Sent`; transient →
//!   `Pending` again after a capped exponential backoff ([`RetryPolicy`]: 1, 2, 4… minutes, at
//!   most 1 hour between tries) until the row is older than the give-up horizon (48 hours) →
//!   `Failed`; permanent (5xx, unusable address, a template that does not render, a job we cannot
//!   read) → `Failed` at once. A failed row needs a person: it is in the case's audit trail and
//!   logged at `warn`.
//! - [`Outbox::run`] loops: a batch, then sleep until the earliest pending row is due, a wake-up
//!   (a new row was committed), or cancellation. Cancellation is checked between rows, never in
//!   the middle of a send.
//!
//! What it does not do: decide *whether* to acknowledge (ingest's job: never `auto` mail, never
//! our own addresses, rate limits), talk SMTP itself (`mail::smtp`), or run twice at once: there
//! must be ONE worker per store, or a row could be sent by both.
//!
//! # Delivery guarantee: at least once
//! The row is marked `Sent` only after the server accepted the message (SMTP 250 after DATA),
//! in a store write that is flushed before the next row. If the process dies between the
//! server's 250 and that write (or the write fails), the row is still `Pending` and is sent again
//! on restart. So each crash can cause at most one duplicate of the one message in flight (rows
//! are sent one at a time), and the duplicate carries the same Message-ID (generated when the
//! job was planned and stored in it), so mail clients can fold the two. Nothing is ever lost:
//! a row leaves `Pending` only by being recorded `Sent` or `Failed`.
//!
//! # Logs
//! The case reference and row id are fields; addresses, subjects, bodies and the server's error
//! text (which often quotes an address) never appear above `debug`. The full error is kept in the
//! row's `last_error` and the case's audit trail, which hold personal data anyway.

use std::collections::BTreeMap;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub use crate::config::RetryPolicy;
use crate::core::deadline::{Regime, Region};
use crate::io::mail::smtp::{Mailer, SendOutcome};
use crate::io::store::{
    AuditAppend, CaseTarget, Change, OutboxRow, OutboxStatus, OutboxUpdate, Store, StoreError,
};
use crate::letters::Letters;
use crate::letters::compose::{AckData, RenderError};
use crate::model::case::{AuditEvent, Case, CaseRef, SYSTEM_ACTOR};
use crate::model::kind::Kind;
pub use crate::model::letter::{AckJob, MissingItem, OutboxJob, PayloadError};

/// Consecutive transient failures after which a batch stops early: 3. When the relay is down
/// every row would fail the same way, each possibly only after the send timeout (60 s); stopping
/// keeps a backlog of hundreds of rows from holding the worker (and shutdown) for hours. The
/// rows left over keep their `attempts` untouched and are tried in the next batch.
const TRANSIENT_STREAK_LIMIT: u32 = 3;

/// Longest sleep between batches when nothing is due: 5 minutes. A safety net: every committed
/// row should come with a wake-up, but a missed one then costs at most this delay.
const MAX_IDLE: Duration = Duration::from_secs(5 * 60);

/// Local-policy timescale for a kind the configuration does not list, in working days (the
/// same default as `triage::Context::regime`).
const DEFAULT_POLICY_DAYS: u32 = 10;

/// Domain used in generated Message-IDs when the configured one cannot be used (RFC 6761
/// reserves `.invalid`).
const FALLBACK_ID_DOMAIN: &str = "foi-triage.invalid";

/// Longest text kept from an SMTP error or reply in `last_error` and the audit, in characters:
/// enough for any real reply, bounded against a hostile server.
const MAX_ERROR_CHARS: usize = 1000;

/// The noun of a payload's audit actions (`acknowledgement_sent`…); `outbox` when the payload is
/// not a job we know.
fn audit_noun(payload: &serde_json::Value) -> &'static str {
    match OutboxJob::from_payload(payload) {
        Ok(OutboxJob::Ack(_)) => "acknowledgement",
        Ok(OutboxJob::Mail(_)) => "staff_mail",
        Err(_) => "outbox",
    }
}

/// A fresh Message-ID for mail we send, without angle brackets: `<time>.<pid>.<n>.<random>@domain`.
///
/// Unique on this host (time in microseconds, process id and a process-wide counter) and hard to
/// guess (a randomly keyed SipHash of those, from std's `RandomState`), with no extra crate. An
/// empty or unusable `domain` (not visible ASCII, or containing `@<>`) is replaced by
/// `foi-triage.invalid` so the id is always valid.
pub fn new_message_id(domain: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let micros = Utc::now().timestamp_micros();
    let pid = std::process::id();
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_i64(micros);
    h.write_u32(pid);
    h.write_u64(n);
    let random = h.finish();
    let domain = usable_id_domain(domain);
    format!("{micros:x}.{pid:x}.{n:x}.{random:016x}@{domain}")
}

/// `domain` trimmed, or `foi-triage.invalid` when it is empty or unusable in a Message-ID (not
/// visible ASCII, longer than 255 bytes, or containing `@<>`).
pub fn usable_id_domain(domain: &str) -> &str {
    let d = domain.trim();
    let usable = !d.is_empty()
        && d.len() <= 255
        && d.bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'@' | b'<' | b'>'));
    if usable { d } else { FALLBACK_ID_DOMAIN }
}

/// `d` as a chrono delta, saturating (durations here are minutes to days).
fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

/// What [`after_attempt`] decided for one try.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRecord {
    /// The row's new state, for `Change::outbox_updates`.
    pub update: OutboxUpdate,
    /// The audit event for the row's case (written in the same change when the case exists).
    pub event: AuditEvent,
}

/// Pure: what one try of `row` at `now` means for the row and the case's audit trail.
///
/// - `Sent` → `Sent`, attempts + 1; the server's reply is the audit evidence (`last_error` keeps
///   the previous failure, if any, as history).
/// - `Transient` → `Pending` again at `now + policy.backoff(attempts + 1)`, unless `now` is at or
///   past `created_at + give_up_after`, then `Failed`.
/// - `Permanent` → `Failed` at once.
///
/// Actions are `<noun>_sent`, `<noun>_retry`, `<noun>_failed`, where the noun is
/// `acknowledgement` for [`OutboxJob::Ack`] (and `outbox` for a payload we cannot read).
pub fn after_attempt(
    row: &OutboxRow,
    outcome: &SendOutcome,
    now: DateTime<Utc>,
    policy: &RetryPolicy,
) -> AttemptRecord {
    let attempts = row.attempts.saturating_add(1);
    let noun = audit_noun(&row.payload);
    let message_id = match OutboxJob::from_payload(&row.payload) {
        Ok(OutboxJob::Ack(job)) => serde_json::Value::String(job.message_id),
        Ok(OutboxJob::Mail(mail)) => serde_json::Value::String(mail.message_id),
        Err(_) => serde_json::Value::Null,
    };
    let mut detail = serde_json::json!({
        "outbox_row": row.id,
        "attempt": attempts,
        "message_id": message_id,
    });
    let (status, last_error, next_attempt_at, action, why) = match outcome {
        SendOutcome::Sent { response } => {
            detail["response"] = clip(response).into();
            (
                OutboxStatus::Sent,
                row.last_error.clone(),
                row.next_attempt_at,
                "sent",
                format!("the mail server accepted it on attempt {attempts}"),
            )
        }
        SendOutcome::Transient { error } => {
            detail["error"] = clip(error).into();
            let horizon = row.created_at + delta(policy.give_up_after);
            if now >= horizon {
                (
                    OutboxStatus::Failed,
                    Some(clip(error)),
                    row.next_attempt_at,
                    "failed",
                    format!(
                        "still failing after {attempts} attempts over {} hours; a person must \
                         send it or find out why",
                        policy.give_up_after.as_secs() / 3600
                    ),
                )
            } else {
                let next = now + delta(policy.backoff(attempts));
                detail["next_attempt_at"] = next.to_rfc3339().into();
                (
                    OutboxStatus::Pending,
                    Some(clip(error)),
                    next,
                    "retry",
                    format!(
                        "temporary failure on attempt {attempts}; trying again at {}",
                        next.format("%Y-%m-%d %H:%M UTC")
                    ),
                )
            }
        }
        SendOutcome::Permanent { error } => {
            detail["error"] = clip(error).into();
            (
                OutboxStatus::Failed,
                Some(clip(error)),
                row.next_attempt_at,
                "failed",
                "it cannot be sent as it is; a person must send it or fix the cause".to_string(),
            )
        }
    };
    AttemptRecord {
        update: OutboxUpdate {
            id: row.id,
            status,
            attempts,
            last_error,
            next_attempt_at,
        },
        event: AuditEvent {
            at: now,
            actor: SYSTEM_ACTOR.to_string(),
            action: format!("{noun}_{action}"),
            detail,
            why,
        },
    }
}

/// At most [`MAX_ERROR_CHARS`] characters of a server's text.
fn clip(s: &str) -> String {
    if s.chars().count() <= MAX_ERROR_CHARS {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(MAX_ERROR_CHARS).collect();
        t.push('…');
        t
    }
}

/// Something that submits a finished message. The SMTP [`Mailer`] in production; tests use a
/// fake. Dyn-compatible (boxed future) so the worker holds an `Arc<dyn SendMail>`.
pub trait SendMail: Send + Sync {
    /// Submits `raw` with envelope sender `from` to `to`. Never fails: every problem is a
    /// [`SendOutcome`].
    fn send<'a>(
        &'a self,
        from: &'a str,
        to: &'a [String],
        raw: &'a [u8],
    ) -> Pin<Box<dyn Future<Output = SendOutcome> + Send + 'a>>;
}

impl SendMail for Mailer {
    fn send<'a>(
        &'a self,
        from: &'a str,
        to: &'a [String],
        raw: &'a [u8],
    ) -> Pin<Box<dyn Future<Output = SendOutcome> + Send + 'a>> {
        Box::pin(Mailer::send(self, from, to, raw))
    }
}

/// What the worker needs to know about the organisation (from the configuration).
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxSettings {
    /// The public body's name (sender display name, letter text).
    pub organisation: String,
    /// The shared mailbox address: the acknowledgement's `From:`.
    pub shared_address: String,
    /// SMTP envelope sender (`MAIL FROM`), where bounces go; usually the shared address.
    pub envelope_from: String,
    /// The authority's region: picks the regime (FOISA in Scotland) for the rights text.
    pub region: Region,
    /// Local-policy working days per non-statutory kind (as in the config's `[kinds]`).
    pub policy_days: BTreeMap<Kind, u32>,
    /// Backoff and give-up horizon.
    pub retry: RetryPolicy,
}

/// Why a batch stopped. Only store trouble stops it: a row that cannot be rendered or sent is
/// recorded on the row, never an error here.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// Reading or writing the store failed; the row in hand stays `Pending` (and may be sent
    /// again: at-least-once).
    #[error("outbox store access failed (row {row:?}): {source}")]
    Store {
        /// The row being handled, if any.
        row: Option<u64>,
        /// What the store said.
        #[source]
        source: StoreError,
    },
}

/// The send queue worker. One per store (see the module docs).
pub struct Outbox {
    store: Store,
    templates: RwLock<Arc<Letters>>,
    mailer: Arc<dyn SendMail>,
    settings: OutboxSettings,
    clock: Arc<dyn crate::io::clock::Clock>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("store", &self.store)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// How a batch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Batch {
    handled: usize,
    /// Stopped after [`TRANSIENT_STREAK_LIMIT`] transient failures in a row.
    stalled: bool,
}

/// Why one row was not even tried.
enum NotSendable {
    /// Permanent: record the row as failed with this reason.
    Fail(String),
}

impl Outbox {
    /// A worker over `store`, rendering with `templates` and sending with `mailer`.
    pub fn new(
        store: Store,
        templates: Arc<Letters>,
        mailer: Arc<dyn SendMail>,
        settings: OutboxSettings,
    ) -> Outbox {
        Outbox {
            store,
            templates: RwLock::new(templates),
            mailer,
            settings,
            clock: Arc::new(crate::io::clock::SystemClock),
        }
    }

    /// The worker reads "now" from `clock` (the scheduler's), so rows planned on a moved test
    /// clock are due on that same clock.
    pub fn with_clock(mut self, clock: Arc<dyn crate::io::clock::Clock>) -> Outbox {
        self.clock = clock;
        self
    }

    /// Swaps in reloaded templates (SIGHUP); rows after this render with the new set.
    pub fn replace_templates(&self, templates: Arc<Letters>) {
        let mut guard = self.templates.write().unwrap_or_else(|e| e.into_inner());
        *guard = templates;
    }

    fn templates(&self) -> Arc<Letters> {
        // The lock is held only to clone the Arc, never across an await.
        Arc::clone(&self.templates.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Sends every row due at `now`, one at a time, recording each result before the next.
    /// Returns the number of rows handled (sent, rescheduled or failed).
    ///
    /// `now` is used for the whole batch (the `Date:` header, audit times, backoff). A batch
    /// stops early after a few transient failures in a row (the relay is probably down); the
    /// rows left are still due and are tried by the next call.
    ///
    /// # Errors
    /// [`OutboxError::Store`] when the store cannot be read or written; rows already handled stay
    /// recorded, the row in hand stays `Pending`.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<usize, OutboxError> {
        Ok(self.batch(now, None).await?.handled)
    }

    async fn batch(
        &self,
        now: DateTime<Utc>,
        cancel: Option<&CancellationToken>,
    ) -> Result<Batch, OutboxError> {
        let rows = self
            .store
            .outbox_pending(now)
            .map_err(|source| OutboxError::Store { row: None, source })?;
        let mut handled = 0;
        let mut streak = 0;
        for row in rows {
            if cancel.is_some_and(CancellationToken::is_cancelled) {
                break;
            }
            let transient = self.handle(row, now).await?;
            handled += 1;
            streak = if transient { streak + 1 } else { 0 };
            if streak >= TRANSIENT_STREAK_LIMIT {
                return Ok(Batch {
                    handled,
                    stalled: true,
                });
            }
        }
        Ok(Batch {
            handled,
            stalled: false,
        })
    }

    /// One row: render, send, record. Returns whether the try failed transiently.
    async fn handle(&self, row: OutboxRow, now: DateTime<Utc>) -> Result<bool, OutboxError> {
        let store_err = |source| OutboxError::Store {
            row: Some(row.id),
            source,
        };
        let case = match &row.case {
            Some(r) => self.store.get_case(r).map_err(store_err)?,
            None => None,
        };
        let outcome = match self.prepare(&row, case.as_ref(), now) {
            Ok((to, raw)) => {
                self.mailer
                    .send(&self.settings.envelope_from, &to, &raw)
                    .await
            }
            Err(NotSendable::Fail(error)) => SendOutcome::Permanent { error },
        };
        let record = after_attempt(&row, &outcome, now, &self.settings.retry);
        let reference = row
            .case
            .as_ref()
            .map(CaseRef::to_string)
            .unwrap_or_default();
        match record.update.status {
            OutboxStatus::Sent => tracing::info!(
                case = %reference, row = row.id, attempts = record.update.attempts,
                "outbox: sent"
            ),
            OutboxStatus::Pending => tracing::info!(
                case = %reference, row = row.id, attempts = record.update.attempts,
                next_attempt_at = %record.update.next_attempt_at,
                "outbox: temporary failure, will retry (error in the case audit)"
            ),
            OutboxStatus::Failed => tracing::warn!(
                case = %reference, row = row.id, attempts = record.update.attempts,
                "outbox: FAILED, needs a person (error in the case audit)"
            ),
        }
        if let Some(e) = &record.update.last_error {
            tracing::debug!(case = %reference, row = row.id, error = %e, "outbox: last error");
        }
        let transient = matches!(outcome, SendOutcome::Transient { .. });
        let mut change = Change {
            outbox_updates: vec![record.update],
            ..Change::default()
        };
        // The audit event goes on the case only when it exists (an audit append to a missing case
        // would make the whole change fail, and the row would be retried forever).
        if let Some(case) = &case {
            change.audit.push(AuditAppend {
                case: CaseTarget::Existing(case.reference.clone()),
                event: record.event,
            });
        }
        self.store.apply_async(change).await.map_err(|source| {
            tracing::error!(
                case = %reference, row = row.id, error = %source,
                "outbox: cannot record the result; the row stays pending and may be sent again"
            );
            OutboxError::Store {
                row: Some(row.id),
                source,
            }
        })?;
        Ok(transient)
    }

    /// The recipient and the message bytes for a row, or why it can never be sent.
    fn prepare(
        &self,
        row: &OutboxRow,
        case: Option<&Case>,
        now: DateTime<Utc>,
    ) -> Result<(Vec<String>, Vec<u8>), NotSendable> {
        let job =
            OutboxJob::from_payload(&row.payload).map_err(|e| NotSendable::Fail(e.to_string()))?;
        match job {
            OutboxJob::Ack(job) => {
                let case = match (&row.case, case) {
                    (_, Some(case)) => case,
                    (None, None) => {
                        return Err(NotSendable::Fail(
                            "an acknowledgement row without a case".into(),
                        ));
                    }
                    (Some(r), None) => {
                        return Err(NotSendable::Fail(format!("case {r} does not exist")));
                    }
                };
                if case.kind == Kind::Auto {
                    // Defence in depth: ingest never plans one, and answering robots makes loops.
                    return Err(NotSendable::Fail(
                        "automatic mail is never acknowledged".into(),
                    ));
                }
                let data = self.ack_data(case, &job);
                let raw = self
                    .templates()
                    .render(
                        &data,
                        &job.message_id,
                        job.in_reply_to.as_deref(),
                        &job.references,
                        now,
                    )
                    .map_err(|e: RenderError| NotSendable::Fail(format!("render: {e}")))?;
                Ok((vec![job.to], raw))
            }
            OutboxJob::Mail(mail) => {
                let original = match &mail.attach_original {
                    Some(hash) => self
                        .store
                        .raw(hash)
                        .map_err(|e| NotSendable::Fail(format!("reading the original: {e}")))?,
                    None => None,
                };
                let raw = crate::letters::compose::build_prepared(
                    &mail,
                    &self.settings.organisation,
                    &self.settings.shared_address,
                    original.as_deref(),
                    now,
                )
                .map_err(|e| NotSendable::Fail(format!("render: {e}")))?;
                let mut to = mail.to.clone();
                to.extend(mail.cc.iter().cloned());
                Ok((to, raw))
            }
        }
    }

    fn ack_data(&self, case: &Case, job: &AckJob) -> AckData {
        let s = &self.settings;
        AckData {
            template: job.template.clone(),
            organisation: s.organisation.clone(),
            shared_address: s.shared_address.clone(),
            reference: case.reference.to_string(),
            kind: case.kind,
            regime: Regime::for_kind(case.kind, s.region, |k| {
                s.policy_days
                    .get(&k)
                    .copied()
                    .unwrap_or(DEFAULT_POLICY_DAYS)
            }),
            region: s.region,
            received: job.received,
            due: job.due,
            requester_name: job.requester_name.clone(),
            requester_email: job.to.clone(),
            their_subject: job.their_subject.clone(),
            missing: job.missing.clone(),
        }
    }

    /// When the earliest pending row is due, if any.
    fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        // Every pending row, earliest first: the pending set is small (sent rows leave the index).
        Ok(self
            .store
            .outbox_pending(DateTime::<Utc>::MAX_UTC)?
            .first()
            .map(|r| r.next_attempt_at))
    }

    /// The worker loop, until `cancel`: a batch, then sleep until the earliest pending row is
    /// due (at most 5 minutes), `wake` is notified (ingest committed a row), or `cancel`.
    ///
    /// The wake-up is registered BEFORE the store is queried, so a row committed while a batch
    /// runs is never missed. When a batch stalls on transient failures or the store fails, the
    /// pause grows like a row's backoff (1, 2, 4… minutes, at most 1 hour) so a dead relay or
    /// disk is not hammered; a wake-up still cuts it short. Cancellation is honoured between
    /// rows; the row in hand is finished and recorded first.
    pub async fn run(&self, cancel: CancellationToken, wake: Arc<Notify>) {
        let mut trouble: u32 = 0;
        loop {
            let notified = wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if cancel.is_cancelled() {
                break;
            }
            let now = self.clock.now();
            let pause = match self.batch(now, Some(&cancel)).await {
                Ok(batch) if batch.stalled => {
                    trouble = trouble.saturating_add(1);
                    self.settings.retry.backoff(trouble)
                }
                Ok(_) => {
                    trouble = 0;
                    match self.next_due() {
                        Ok(Some(due)) => {
                            (due - self.clock.now()).to_std().unwrap_or(Duration::ZERO)
                        }
                        Ok(None) => MAX_IDLE,
                        Err(e) => {
                            tracing::error!(error = %e, "outbox: cannot read the queue");
                            trouble = 1;
                            self.settings.retry.backoff(trouble)
                        }
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "outbox: batch stopped");
                    trouble = trouble.saturating_add(1);
                    self.settings.retry.backoff(trouble)
                }
            };
            let pause = pause.min(MAX_IDLE);
            tokio::select! {
                () = cancel.cancelled() => break,
                () = &mut notified => {}
                () = tokio::time::sleep(pause) => {}
            }
        }
        tracing::info!("outbox: stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::mail::smtp::{Security, SmtpSettings};
    use crate::io::store::{NewCase, NewOutboxRow};
    use crate::model::case::{CaseDraft, CaseState};
    use crate::model::message::Address;
    use chrono::{NaiveDate, TimeZone};
    use std::collections::{HashSet, VecDeque};
    use std::path::Path;
    use std::sync::{Mutex, OnceLock};

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, h, m, 0)
            .single()
            .expect("valid test time")
    }

    fn mins(n: i64) -> TimeDelta {
        TimeDelta::minutes(n)
    }

    fn templates() -> Arc<Letters> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        Arc::new(Letters::load(&dir).expect("the shipped templates load"))
    }

    fn settings() -> OutboxSettings {
        OutboxSettings {
            organisation: "Exampleshire County Council".into(),
            shared_address: "foi@example.org".into(),
            envelope_from: "foi@example.org".into(),
            region: Region::EnglandAndWales,
            policy_days: BTreeMap::new(),
            retry: RetryPolicy::default(),
        }
    }

    /// One submission the fake received: envelope sender, recipients, message bytes.
    type Submission = (String, Vec<String>, Vec<u8>);

    /// One row of the `after_attempt` table: attempts before, created_at, outcome, expected
    /// status, expected next_attempt_at, expected action.
    type AttemptCase = (
        u32,
        DateTime<Utc>,
        SendOutcome,
        OutboxStatus,
        DateTime<Utc>,
        &'static str,
    );

    /// An in-memory sender: replays scripted outcomes (then `Sent`) and keeps what it was given.
    #[derive(Default)]
    struct Fake {
        script: Mutex<VecDeque<SendOutcome>>,
        always: Option<SendOutcome>,
        sent: Mutex<Vec<Submission>>,
    }

    impl Fake {
        fn scripted(outcomes: Vec<SendOutcome>) -> Arc<Fake> {
            Arc::new(Fake {
                script: Mutex::new(outcomes.into()),
                ..Fake::default()
            })
        }
        fn always(outcome: SendOutcome) -> Arc<Fake> {
            Arc::new(Fake {
                always: Some(outcome),
                ..Fake::default()
            })
        }
        fn sent(&self) -> Vec<Submission> {
            self.sent.lock().expect("fake lock").clone()
        }
    }

    impl SendMail for Fake {
        fn send<'a>(
            &'a self,
            from: &'a str,
            to: &'a [String],
            raw: &'a [u8],
        ) -> Pin<Box<dyn Future<Output = SendOutcome> + Send + 'a>> {
            self.sent.lock().expect("fake lock").push((
                from.to_string(),
                to.to_vec(),
                raw.to_vec(),
            ));
            let next = self.script.lock().expect("fake lock").pop_front();
            let out = next
                .or_else(|| self.always.clone())
                .unwrap_or(SendOutcome::Sent {
                    response: "250 2.0.0 Ok: queued as FAKE".into(),
                });
            Box::pin(async move { out })
        }
    }

    fn transient() -> SendOutcome {
        SendOutcome::Transient {
            error: "127.0.0.1:25: connection refused".into(),
        }
    }

    fn permanent() -> SendOutcome {
        SendOutcome::Permanent {
            error: "550 5.1.1 <x@example.org>: Recipient address rejected".into(),
        }
    }

    fn new_case(store: &Store, kind: Kind, at: DateTime<Utc>) -> CaseRef {
        let draft = CaseDraft {
            reference: (),
            kind,
            state: CaseState::Open,
            received_at: at,
            requester: Address {
                name: Some("Zoë Requester".into()),
                email: "zoe@example.net".into(),
            },
            subject: "Potholes".into(),
            message_ids: vec![],
            content_hashes: vec![],
            rules: vec![],
            valid: Some(true),
            missing: vec![],
            due: NaiveDate::from_ymd_opt(2026, 12, 21),
            clock_events: Vec::new(),
            workflow: Default::default(),
            assignee: None,
            team: None,
            created_at: at,
            updated_at: at,
        };
        let prefix = if kind == Kind::Auto { "AUTO" } else { "FOI" };
        store
            .apply(Change {
                new_case: Some(NewCase {
                    prefix: prefix.into(),
                    year: 2026,
                    draft,
                }),
                ..Change::default()
            })
            .expect("case stored")
            .new_case
            .expect("reference allocated")
    }

    fn ack_job(to: &str, template: &str) -> AckJob {
        AckJob {
            template: template.into(),
            to: to.into(),
            message_id: new_message_id("example.org"),
            in_reply_to: Some("their-1@mail.example.net".into()),
            references: vec![],
            their_subject: "Potholes on Mill Lane".into(),
            requester_name: Some("Zoë Requester".into()),
            missing: vec![],
            received: NaiveDate::from_ymd_opt(2026, 11, 23).expect("date"),
            due: NaiveDate::from_ymd_opt(2026, 12, 21),
        }
    }

    fn enqueue(
        store: &Store,
        case: Option<CaseRef>,
        payload: serde_json::Value,
        at: DateTime<Utc>,
    ) -> u64 {
        store
            .apply(Change {
                outbox_new: vec![NewOutboxRow {
                    recipient: None,
                    case: case.map(CaseTarget::Existing),
                    created_at: at,
                    payload,
                    next_attempt_at: at,
                }],
                ..Change::default()
            })
            .expect("row stored")
            .outbox_ids[0]
    }

    fn row(store: &Store, id: u64) -> OutboxRow {
        store.outbox_row(id).expect("read").expect("row exists")
    }

    fn actions(store: &Store, r: &CaseRef) -> Vec<String> {
        store
            .audit(r)
            .expect("audit")
            .into_iter()
            .map(|e| e.action)
            .collect()
    }

    /// A store with one FOI case and one acknowledgement row due at 10:00.
    fn setup(fake: Arc<Fake>) -> (Outbox, Store, CaseRef, u64, AckJob) {
        let store = Store::open_temporary().expect("temp store");
        let r = new_case(&store, Kind::Foi, t(9, 0));
        let job = ack_job("zoe@example.net", "ack_foi");
        let payload = OutboxJob::Ack(job.clone()).to_payload().expect("payload");
        let id = enqueue(&store, Some(r.clone()), payload, t(10, 0));
        let outbox = Outbox::new(store.clone(), templates(), fake, settings());
        (outbox, store, r, id, job)
    }

    #[test]
    fn backoff_doubles_from_one_minute_and_caps_at_an_hour() {
        let p = RetryPolicy::default();
        let table = [
            (0, 1),
            (1, 1),
            (2, 2),
            (3, 4),
            (4, 8),
            (5, 16),
            (6, 32),
            (7, 60),
            (8, 60),
            (31, 60),
            (u32::MAX, 60),
        ];
        for (failures, minutes) in table {
            assert_eq!(
                p.backoff(failures),
                Duration::from_secs(minutes * 60),
                "after {failures} failures"
            );
        }
    }

    fn pending_row(attempts: u32, created_at: DateTime<Utc>) -> OutboxRow {
        OutboxRow {
            id: 7,
            case: None,
            created_at,
            payload: OutboxJob::Ack(ack_job("a@example.org", "ack_foi"))
                .to_payload()
                .expect("payload"),
            status: OutboxStatus::Pending,
            attempts,
            last_error: None,
            next_attempt_at: created_at,
        }
    }

    #[test]
    fn after_attempt_table() {
        let now = t(12, 0);
        let sent = SendOutcome::Sent {
            response: "250 2.0.0 Ok: queued as ABC".into(),
        };
        // (attempts before, created_at, outcome, status, next_attempt_at, action)
        let table: Vec<AttemptCase> = vec![
            (
                0,
                now,
                sent.clone(),
                OutboxStatus::Sent,
                now,
                "acknowledgement_sent",
            ),
            (
                5,
                now - mins(30),
                sent,
                OutboxStatus::Sent,
                now - mins(30),
                "acknowledgement_sent",
            ),
            (
                0,
                now,
                transient(),
                OutboxStatus::Pending,
                now + mins(1),
                "acknowledgement_retry",
            ),
            (
                1,
                now,
                transient(),
                OutboxStatus::Pending,
                now + mins(2),
                "acknowledgement_retry",
            ),
            (
                3,
                now,
                transient(),
                OutboxStatus::Pending,
                now + mins(8),
                "acknowledgement_retry",
            ),
            (
                9,
                now - mins(600),
                transient(),
                OutboxStatus::Pending,
                now + mins(60),
                "acknowledgement_retry",
            ),
            // One minute short of the 48-hour horizon: still retried.
            (
                40,
                now - mins(48 * 60 - 1),
                transient(),
                OutboxStatus::Pending,
                now + mins(60),
                "acknowledgement_retry",
            ),
            // At and past the horizon: given up.
            (
                40,
                now - mins(48 * 60),
                transient(),
                OutboxStatus::Failed,
                now - mins(48 * 60),
                "acknowledgement_failed",
            ),
            (
                40,
                now - mins(72 * 60),
                transient(),
                OutboxStatus::Failed,
                now - mins(72 * 60),
                "acknowledgement_failed",
            ),
            // A clock that went backwards never gives up early.
            (
                0,
                now + mins(5),
                transient(),
                OutboxStatus::Pending,
                now + mins(1),
                "acknowledgement_retry",
            ),
            (
                0,
                now,
                permanent(),
                OutboxStatus::Failed,
                now,
                "acknowledgement_failed",
            ),
            (
                12,
                now - mins(90),
                permanent(),
                OutboxStatus::Failed,
                now - mins(90),
                "acknowledgement_failed",
            ),
        ];
        for (i, (attempts, created, outcome, status, next, action)) in table.into_iter().enumerate()
        {
            let row = pending_row(attempts, created);
            let rec = after_attempt(&row, &outcome, now, &RetryPolicy::default());
            assert_eq!(rec.update.id, 7, "case {i}");
            assert_eq!(rec.update.status, status, "case {i}");
            assert_eq!(rec.update.attempts, attempts + 1, "case {i}");
            assert_eq!(rec.update.next_attempt_at, next, "case {i}");
            assert_eq!(rec.event.action, action, "case {i}");
            assert_eq!(rec.event.actor, SYSTEM_ACTOR, "case {i}");
            assert_eq!(rec.event.at, now, "case {i}");
            assert_eq!(rec.event.detail["outbox_row"], 7, "case {i}");
            assert_eq!(rec.event.detail["attempt"], attempts + 1, "case {i}");
            match &outcome {
                SendOutcome::Sent { response } => {
                    assert_eq!(rec.event.detail["response"], response.as_str(), "case {i}");
                    assert_eq!(rec.update.last_error, None, "case {i}");
                }
                SendOutcome::Transient { error } | SendOutcome::Permanent { error } => {
                    assert_eq!(rec.event.detail["error"], error.as_str(), "case {i}");
                    assert_eq!(
                        rec.update.last_error.as_deref(),
                        Some(error.as_str()),
                        "case {i}"
                    );
                }
            }
        }
    }

    #[test]
    fn after_attempt_names_the_message_and_survives_odd_rows() {
        let now = t(12, 0);
        let mut row = pending_row(0, now);
        let id = match OutboxJob::from_payload(&row.payload).expect("job") {
            OutboxJob::Ack(j) => j.message_id,
            OutboxJob::Mail(m) => panic!("pending_row is an acknowledgement, got {m:?}"),
        };
        let rec = after_attempt(&row, &transient(), now, &RetryPolicy::default());
        assert_eq!(rec.event.detail["message_id"], id.as_str());
        // A payload we cannot read is still recorded, under a neutral noun.
        row.payload = serde_json::json!({"job": "telepathy"});
        row.attempts = u32::MAX;
        row.last_error = Some("earlier".into());
        let rec = after_attempt(
            &row,
            &SendOutcome::Sent {
                response: "250".into(),
            },
            now,
            &RetryPolicy::default(),
        );
        assert_eq!(rec.event.action, "outbox_sent");
        assert_eq!(rec.update.attempts, u32::MAX);
        assert_eq!(rec.update.last_error.as_deref(), Some("earlier"));
        assert!(rec.event.detail["message_id"].is_null());
        // A huge server reply is clipped.
        let rec = after_attempt(
            &row,
            &SendOutcome::Permanent {
                error: "x".repeat(50_000),
            },
            now,
            &RetryPolicy::default(),
        );
        let kept = rec.update.last_error.expect("error kept");
        assert_eq!(kept.chars().count(), MAX_ERROR_CHARS + 1);
    }

    #[test]
    fn message_ids_are_unique_and_valid() {
        let mut seen = HashSet::new();
        for _ in 0..10_000 {
            let id = new_message_id("example.org");
            assert!(id.ends_with("@example.org"), "{id}");
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>'),
                "{id}"
            );
            assert_eq!(id.matches('@').count(), 1, "{id}");
            assert!(seen.insert(id), "duplicate id");
        }
        for bad in ["", "  ", "a b.org", "x@y.org", "<evil>", "ünï.org"] {
            let id = new_message_id(bad);
            assert!(id.ends_with("@foi-triage.invalid"), "{bad:?} gave {id}");
        }
        assert!(new_message_id(" example.org ").ends_with("@example.org"));
    }

    #[test]
    fn payload_round_trip_and_shape() {
        let mut job = ack_job("a@example.org", "need_more_info");
        job.missing = vec![MissingItem {
            name: "name".into(),
            explain: "We need your real name.".into(),
        }];
        let j = OutboxJob::Ack(job);
        let v = j.to_payload().expect("encode");
        assert_eq!(v["job"], "ack");
        assert_eq!(v["template"], "need_more_info");
        assert_eq!(v["missing"][0]["name"], "name");
        assert_eq!(OutboxJob::from_payload(&v).expect("decode"), j);
        // Older/minimal payloads: optional fields default.
        let minimal = serde_json::json!({
            "job": "ack", "template": "ack_foi", "to": "a@example.org",
            "message_id": "1@example.org", "received": "2026-11-23"
        });
        match OutboxJob::from_payload(&minimal).expect("minimal decodes") {
            OutboxJob::Ack(a) => {
                assert!(a.references.is_empty() && a.due.is_none() && a.in_reply_to.is_none());
            }
            OutboxJob::Mail(m) => panic!("decoded as staff mail: {m:?}"),
        }
        for bad in [
            serde_json::json!(null),
            serde_json::json!({"job": "ack"}),
            serde_json::json!({"job": "chase"}),
            serde_json::json!([1, 2]),
        ] {
            assert!(OutboxJob::from_payload(&bad).is_err(), "{bad}");
        }
        let row = j.new_row(CaseTarget::New, t(10, 0)).expect("row");
        assert_eq!(row.case, Some(CaseTarget::New));
        assert_eq!(row.created_at, row.next_attempt_at);
    }

    #[tokio::test]
    async fn sends_renders_and_records_in_one_change() {
        let fake = Fake::scripted(vec![]);
        let (outbox, store, r, id, job) = setup(fake.clone());
        assert_eq!(
            outbox.run_once(t(9, 59)).await.expect("batch"),
            0,
            "not due yet"
        );
        assert_eq!(outbox.run_once(t(10, 0)).await.expect("batch"), 1);
        let sent = fake.sent();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].0, "foi@example.org");
        assert_eq!(sent[0].1, vec!["zoe@example.net".to_string()]);
        let m = crate::core::parse::parse(&sent[0].2);
        assert_eq!(m.message_id.as_deref(), Some(job.message_id.as_str()));
        assert!(m.subject.starts_with(&format!("[{r}]")), "{}", m.subject);
        assert_eq!(m.in_reply_to, vec!["their-1@mail.example.net"]);
        assert!(
            m.body_text.contains("Monday 21 December 2026"),
            "{}",
            m.body_text
        );
        let got = row(&store, id);
        assert_eq!(got.status, OutboxStatus::Sent);
        assert_eq!(got.attempts, 1);
        let audit = store.audit(&r).expect("audit");
        assert_eq!(audit.len(), 1);
        assert_eq!(audit[0].action, "acknowledgement_sent");
        assert_eq!(audit[0].detail["response"], "250 2.0.0 Ok: queued as FAKE");
        assert_eq!(audit[0].detail["message_id"], job.message_id.as_str());
        // Nothing left: a second pass sends nothing.
        assert_eq!(outbox.run_once(t(11, 0)).await.expect("batch"), 0);
        assert_eq!(fake.sent().len(), 1);
    }

    #[tokio::test]
    async fn transient_failures_retry_with_backoff_and_the_same_message_id() {
        let fake = Fake::scripted(vec![transient(), transient()]);
        let (outbox, store, r, id, job) = setup(fake.clone());
        assert_eq!(outbox.run_once(t(10, 0)).await.expect("batch"), 1);
        let got = row(&store, id);
        assert_eq!(got.status, OutboxStatus::Pending);
        assert_eq!(got.attempts, 1);
        assert_eq!(got.next_attempt_at, t(10, 1));
        assert_eq!(
            got.last_error.as_deref(),
            Some("127.0.0.1:25: connection refused")
        );
        assert_eq!(
            outbox
                .run_once(t(10, 0) + TimeDelta::seconds(59))
                .await
                .expect("batch"),
            0
        );
        assert_eq!(outbox.run_once(t(10, 1)).await.expect("batch"), 1);
        assert_eq!(row(&store, id).next_attempt_at, t(10, 3));
        assert_eq!(outbox.run_once(t(10, 2)).await.expect("batch"), 0);
        assert_eq!(outbox.run_once(t(10, 3)).await.expect("batch"), 1);
        let got = row(&store, id);
        assert_eq!(got.status, OutboxStatus::Sent);
        assert_eq!(got.attempts, 3);
        assert_eq!(
            actions(&store, &r),
            [
                "acknowledgement_retry",
                "acknowledgement_retry",
                "acknowledgement_sent"
            ]
        );
        let ids: Vec<Option<String>> = fake
            .sent()
            .iter()
            .map(|s| crate::core::parse::parse(&s.2).message_id)
            .collect();
        assert_eq!(ids, vec![Some(job.message_id.clone()); 3]);
    }

    #[tokio::test]
    async fn permanent_failure_fails_at_once() {
        let fake = Fake::scripted(vec![permanent()]);
        let (outbox, store, r, id, _) = setup(fake.clone());
        assert_eq!(outbox.run_once(t(10, 0)).await.expect("batch"), 1);
        let got = row(&store, id);
        assert_eq!(got.status, OutboxStatus::Failed);
        assert_eq!(got.attempts, 1);
        assert!(
            got.last_error
                .as_deref()
                .is_some_and(|e| e.starts_with("550"))
        );
        assert_eq!(actions(&store, &r), ["acknowledgement_failed"]);
        assert_eq!(
            outbox.run_once(t(23, 0)).await.expect("batch"),
            0,
            "never retried"
        );
        assert_eq!(fake.sent().len(), 1);
    }

    #[tokio::test]
    async fn gives_up_after_the_horizon() {
        let fake = Fake::always(transient());
        let (outbox, store, r, id, _) = setup(fake.clone());
        let two_days = t(10, 0) + TimeDelta::hours(48);
        assert_eq!(outbox.run_once(two_days - mins(1)).await.expect("batch"), 1);
        assert_eq!(row(&store, id).status, OutboxStatus::Pending);
        assert_eq!(outbox.run_once(two_days + mins(1)).await.expect("batch"), 1);
        let got = row(&store, id);
        assert_eq!(got.status, OutboxStatus::Failed);
        assert_eq!(got.attempts, 2);
        assert_eq!(
            actions(&store, &r),
            ["acknowledgement_retry", "acknowledgement_failed"]
        );
    }

    #[tokio::test]
    async fn rows_that_cannot_be_rendered_fail_without_sending() {
        let fake = Fake::scripted(vec![]);
        let store = Store::open_temporary().expect("temp store");
        let r = new_case(&store, Kind::Foi, t(9, 0));
        let auto = new_case(&store, Kind::Auto, t(9, 0));
        let payload = |j: AckJob| OutboxJob::Ack(j).to_payload().expect("payload");
        let bad_to = ack_job("not an address", "ack_foi");
        let rows = [
            // need_more_info with nothing missing: a render error.
            (
                Some(r.clone()),
                payload(ack_job("a@example.org", "need_more_info")),
                "render: need_more_info",
            ),
            (
                Some(r.clone()),
                payload(ack_job("a@example.org", "no_such_template")),
                "render: unknown template",
            ),
            (
                Some(r.clone()),
                payload(bad_to),
                "render: recipient address",
            ),
            (
                Some(r.clone()),
                serde_json::json!({"job": "telepathy"}),
                "not a job",
            ),
            (
                None,
                payload(ack_job("a@example.org", "ack_foi")),
                "without a case",
            ),
            (
                Some(auto.clone()),
                payload(ack_job("a@example.org", "ack_general")),
                "never acknowledged",
            ),
        ];
        let ids: Vec<u64> = rows
            .iter()
            .map(|(case, p, _)| enqueue(&store, case.clone(), p.clone(), t(10, 0)))
            .collect();
        let outbox = Outbox::new(store.clone(), templates(), fake.clone(), settings());
        assert_eq!(outbox.run_once(t(10, 0)).await.expect("batch"), rows.len());
        assert!(fake.sent().is_empty(), "nothing may be sent");
        for (id, (_, _, why)) in ids.iter().zip(rows.iter()) {
            let got = row(&store, *id);
            assert_eq!(got.status, OutboxStatus::Failed, "{why}");
            let e = got.last_error.expect("error recorded");
            assert!(e.contains(why), "{e:?} should contain {why:?}");
        }
        assert_eq!(
            actions(&store, &r),
            vec!["acknowledgement_failed"; 3]
                .into_iter()
                .chain(["outbox_failed"])
                .collect::<Vec<_>>()
        );
        assert_eq!(actions(&store, &auto), ["acknowledgement_failed"]);
    }

    #[tokio::test]
    async fn a_dead_relay_stops_the_batch_early() {
        let fake = Fake::always(transient());
        let store = Store::open_temporary().expect("temp store");
        let r = new_case(&store, Kind::Foi, t(9, 0));
        let ids: Vec<u64> = (0..5)
            .map(|_| {
                let p = OutboxJob::Ack(ack_job("a@example.org", "ack_foi"))
                    .to_payload()
                    .expect("p");
                enqueue(&store, Some(r.clone()), p, t(10, 0))
            })
            .collect();
        let outbox = Outbox::new(store.clone(), templates(), fake.clone(), settings());
        let batch = outbox.batch(t(10, 0), None).await.expect("batch");
        assert_eq!(
            batch,
            Batch {
                handled: 3,
                stalled: true
            }
        );
        let attempts: Vec<u32> = ids.iter().map(|id| row(&store, *id).attempts).collect();
        assert_eq!(attempts, [1, 1, 1, 0, 0]);
        // The untouched rows are still due; the retried ones are not.
        assert_eq!(
            outbox.batch(t(10, 0), None).await.expect("batch").handled,
            2
        );
    }

    #[tokio::test]
    async fn replaced_templates_are_used_for_later_rows() {
        let fake = Fake::scripted(vec![]);
        let (outbox, store, r, id, _) = setup(fake.clone());
        // A copy of the shipped templates with another FOI subject line.
        let tmp = tempfile::tempdir().expect("tempdir");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        for file in crate::letters::template_files() {
            let dest = tmp.path().join(&file);
            std::fs::create_dir_all(dest.parent().expect("in a folder")).expect("mkdir");
            std::fs::copy(src.join(&file), dest).expect("copy");
        }
        std::fs::write(
            tmp.path().join("ack_foi/subject.txt.j2"),
            "[{{ reference }}] Reloaded subject\n",
        )
        .expect("write");
        let reloaded = Letters::load(tmp.path()).expect("copy loads");
        outbox.replace_templates(Arc::new(reloaded));
        assert_eq!(outbox.run_once(t(10, 0)).await.expect("batch"), 1);
        assert_eq!(row(&store, id).status, OutboxStatus::Sent);
        let m = crate::core::parse::parse(&fake.sent()[0].2);
        assert_eq!(m.subject, format!("[{r}] Reloaded subject"));
    }

    /// Accepts the message, then never returns: the process "dies" after the server's 250 but
    /// before the result is recorded.
    struct DiesAfterAccepting(Mutex<Vec<Vec<u8>>>);

    impl SendMail for DiesAfterAccepting {
        fn send<'a>(
            &'a self,
            _from: &'a str,
            _to: &'a [String],
            raw: &'a [u8],
        ) -> Pin<Box<dyn Future<Output = SendOutcome> + Send + 'a>> {
            self.0.lock().expect("lock").push(raw.to_vec());
            Box::pin(std::future::pending())
        }
    }

    #[tokio::test]
    async fn a_crash_after_acceptance_resends_once_with_the_same_message_id() {
        let store = Store::open_temporary().expect("temp store");
        let r = new_case(&store, Kind::Foi, t(9, 0));
        let job = ack_job("a@example.org", "ack_foi");
        let p = OutboxJob::Ack(job.clone()).to_payload().expect("p");
        let id = enqueue(&store, Some(r.clone()), p, t(10, 0));
        let dying = Arc::new(DiesAfterAccepting(Mutex::new(Vec::new())));
        let first = Outbox::new(store.clone(), templates(), dying.clone(), settings());
        let crashed =
            tokio::time::timeout(Duration::from_millis(200), first.run_once(t(10, 0))).await;
        assert!(crashed.is_err(), "the first worker never got to record");
        drop(first);
        let got = row(&store, id);
        assert_eq!(
            (got.status, got.attempts),
            (OutboxStatus::Pending, 0),
            "not known to be sent"
        );
        assert!(store.audit(&r).expect("audit").is_empty());
        // Restart: the row goes again, exactly once, with the same Message-ID.
        let fake = Fake::scripted(vec![]);
        let second = Outbox::new(store.clone(), templates(), fake.clone(), settings());
        assert_eq!(second.run_once(t(10, 5)).await.expect("batch"), 1);
        assert_eq!(second.run_once(t(11, 0)).await.expect("batch"), 0);
        let accepted = dying.0.lock().expect("lock").clone();
        let resent = fake.sent();
        assert_eq!(
            (accepted.len(), resent.len()),
            (1, 1),
            "one original, one duplicate"
        );
        assert_eq!(
            crate::core::parse::parse(&accepted[0])
                .message_id
                .as_deref(),
            Some(job.message_id.as_str())
        );
        assert_eq!(
            crate::core::parse::parse(&resent[0].2)
                .message_id
                .as_deref(),
            Some(job.message_id.as_str())
        );
        assert_eq!(row(&store, id).status, OutboxStatus::Sent);
        assert_eq!(actions(&store, &r), ["acknowledgement_sent"]);
    }

    #[tokio::test]
    async fn run_wakes_on_notify_and_stops_on_cancel() {
        let fake = Fake::scripted(vec![]);
        let store = Store::open_temporary().expect("temp store");
        let outbox = Arc::new(Outbox::new(
            store.clone(),
            templates(),
            fake.clone(),
            settings(),
        ));
        let cancel = CancellationToken::new();
        let wake = Arc::new(Notify::new());
        let task = tokio::spawn({
            let (outbox, cancel, wake) = (outbox.clone(), cancel.clone(), wake.clone());
            async move { outbox.run(cancel, wake).await }
        });
        // Let the worker find an empty queue and go to sleep (for up to 5 minutes).
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = Utc::now();
        let r = new_case(&store, Kind::Foi, now);
        let p = OutboxJob::Ack(ack_job("a@example.org", "ack_foi"))
            .to_payload()
            .expect("p");
        let id = enqueue(&store, Some(r), p, now);
        wake.notify_one();
        let mut status = OutboxStatus::Pending;
        for _ in 0..100 {
            status = row(&store, id).status;
            if status != OutboxStatus::Pending {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(status, OutboxStatus::Sent, "woken worker sends within 5 s");
        assert_eq!(fake.sent().len(), 1);
        cancel.cancel();
        tokio::time::timeout(Duration::from_secs(2), task)
            .await
            .expect("run stops promptly on cancel")
            .expect("run does not panic");
    }

    #[test]
    fn outbox_is_shareable_across_tasks() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<Outbox>();
        assert_send_sync::<Arc<dyn SendMail>>();
    }

    // ---- Through the real mail stack (scripts/mailstack.sh) ----

    /// Where this module's mail stack lives; one stack per test process.
    const STACK_DIR: &str = "/var/tmp/foi-outbox-test";
    /// Port base for this module's stack, apart from the other modules' stacks.
    const PORT_BASE: &str = "23000";

    fn var(key: &str) -> String {
        static STACK: OnceLock<Result<crate::io::mail::test_stack::Stack, String>> =
            OnceLock::new();
        crate::io::mail::test_stack::get(&STACK, STACK_DIR, PORT_BASE).var(key)
    }

    /// End to end: an acknowledgement row goes out through Postfix into the requester's Maildir,
    /// with the case reference in the subject and the job's Message-ID.
    #[tokio::test]
    async fn real_smtp_delivers_the_acknowledgement() {
        let user = "outbox_ack_requester";
        let maildir = Path::new(&var("MAILSTACK_MAILDIR")).join(user);
        for sub in ["new", "cur"] {
            if let Ok(rd) = std::fs::read_dir(maildir.join(sub)) {
                for e in rd.flatten() {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        let mailer = Mailer::new(&SmtpSettings {
            host: var("MAILSTACK_HOST"),
            port: var("MAILSTACK_SMTP_PORT").parse().expect("port"),
            security: Security::Plain,
            ca_file: None,
            credentials: None,
            timeout: Duration::from_secs(20),
        })
        .expect("mailer");
        let store = Store::open_temporary().expect("temp store");
        let r = new_case(&store, Kind::Foi, t(9, 0));
        let job = ack_job(&format!("{user}@example.org"), "ack_foi");
        let p = OutboxJob::Ack(job.clone()).to_payload().expect("p");
        let id = enqueue(&store, Some(r.clone()), p, t(10, 0));
        let outbox = Outbox::new(store.clone(), templates(), Arc::new(mailer), settings());
        assert_eq!(outbox.run_once(t(10, 0)).await.expect("batch"), 1);
        let got = row(&store, id);
        assert_eq!(got.status, OutboxStatus::Sent, "{:?}", got.last_error);
        let audit = store.audit(&r).expect("audit");
        let response = audit[0].detail["response"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(response.starts_with("250"), "{response}");

        let new = maildir.join("new");
        let mut delivered = None;
        for _ in 0..100 {
            if let Ok(rd) = std::fs::read_dir(&new) {
                for e in rd.flatten() {
                    if let Ok(bytes) = std::fs::read(e.path())
                        && String::from_utf8_lossy(&bytes).contains(&job.message_id)
                    {
                        delivered = Some(bytes);
                    }
                }
            }
            if delivered.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let bytes = delivered
            .unwrap_or_else(|| panic!("no acknowledgement in {} after 10 s", new.display()));
        let m = crate::core::parse::parse(&bytes);
        assert_eq!(m.message_id.as_deref(), Some(job.message_id.as_str()));
        assert!(m.subject.starts_with(&format!("[{r}] ")), "{}", m.subject);
        assert_eq!(m.machine.auto_submitted.as_deref(), Some("auto-replied"));
        assert_eq!(
            m.header("delivered-to"),
            Some(format!("{user}@example.org").as_str())
        );
    }
}
