//! The durable send queue worker: turns pending outbox rows into mail, and records what happened.
//!
//! What it does:
//! - [`OutboxJob`] is what an outbox row's `payload` holds (today: an acknowledgement), planned by
//!   the ingest code and written in the same store transaction as its case.
//! - [`Outbox::run_once`] takes the rows due at `now` ([`Store::outbox_pending`]), renders each
//!   with the stored case and the [`Templates`], hands it to a [`SendMail`] (the SMTP [`Mailer`]
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

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::case::{AuditEvent, Case, CaseRef, SYSTEM_ACTOR};
use crate::compose::{AckData, MissingItem, RenderError, Templates};
use crate::deadline::{Regime, Region};
use crate::kind::Kind;
use crate::mail::smtp::{Mailer, SendOutcome};
use crate::store::{
    AuditAppend, CaseTarget, Change, NewOutboxRow, OutboxRow, OutboxStatus, OutboxUpdate, Store,
    StoreError,
};

/// First retry delay after a transient failure: 1 minute. Long enough for a relay that is
/// restarting, short enough that a blip delays an acknowledgement by about a minute.
pub const DEFAULT_FIRST_RETRY: Duration = Duration::from_secs(60);

/// Longest delay between two tries: 1 hour. The delay doubles per failure (1, 2, 4… minutes) and
/// stops growing here, so a relay that comes back is noticed within the hour.
pub const DEFAULT_MAX_RETRY: Duration = Duration::from_secs(60 * 60);

/// Give up on a row this long after it was enqueued: 48 hours. Covers an outage over a night and
/// the next working day; by then the acknowledgement is late enough that a person must look
/// (the row becomes `Failed`, which is audited on the case).
pub const DEFAULT_GIVE_UP_AFTER: Duration = Duration::from_secs(48 * 60 * 60);

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

/// One thing missing from a request, as stored in an [`AckJob`]. A serde twin of
/// [`compose::MissingItem`](crate::compose::MissingItem), which is plain (not serde) data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobMissing {
    /// Short name ("name", "description", "identity").
    pub name: String,
    /// One plain-English sentence for the requester.
    pub explain: String,
}

impl From<MissingItem> for JobMissing {
    fn from(m: MissingItem) -> Self {
        JobMissing {
            name: m.name,
            explain: m.explain,
        }
    }
}

impl From<JobMissing> for MissingItem {
    fn from(m: JobMissing) -> Self {
        MissingItem {
            name: m.name,
            explain: m.explain,
        }
    }
}

/// An acknowledgement to send (or a "we need more information", or a follow-up receipt: the
/// template says which). Everything the case record does not hold, fixed when the job is planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckJob {
    /// Template name, one of [`crate::compose::TEMPLATE_NAMES`].
    pub template: String,
    /// The recipient (their Reply-To or From), also the SMTP envelope recipient.
    pub to: String,
    /// OUR Message-ID (no angle brackets), generated once with [`new_message_id`] when the job
    /// was planned, so every retry and every post-crash resend carries the same one.
    pub message_id: String,
    /// The requester's Message-ID we answer, for `In-Reply-To`.
    #[serde(default)]
    pub in_reply_to: Option<String>,
    /// Their `References:` ids, for threading.
    #[serde(default)]
    pub references: Vec<String>,
    /// Their subject as decoded (template DATA).
    #[serde(default)]
    pub their_subject: String,
    /// Their display name, if any (template DATA).
    #[serde(default)]
    pub requester_name: Option<String>,
    /// What is missing (for `need_more_info`).
    #[serde(default)]
    pub missing: Vec<JobMissing>,
    /// The day we received the request (Europe/London).
    pub received: NaiveDate,
    /// The due date when the clock runs. Stored rather than read from the case so the letter
    /// states the date that was computed with it, even if the case moved on since.
    #[serde(default)]
    pub due: Option<NaiveDate>,
}

/// What an outbox row asks the worker to do; stored as the row's `payload` (JSON, tagged by
/// `"job"`). An enum so later jobs (assignment emails, chasers) fit without a schema change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum OutboxJob {
    /// Send an acknowledgement-type email to the requester of `row.case`.
    Ack(AckJob),
}

/// Why a payload is not an [`OutboxJob`].
#[derive(Debug, thiserror::Error)]
#[error("outbox payload is not a job this version understands: {0}")]
pub struct PayloadError(#[from] serde_json::Error);

impl OutboxJob {
    /// The JSON stored in the row.
    ///
    /// # Errors
    /// Only if serde_json cannot encode it (it always can for these types).
    pub fn to_payload(&self) -> Result<serde_json::Value, PayloadError> {
        Ok(serde_json::to_value(self)?)
    }

    /// Reads a row's payload.
    ///
    /// # Errors
    /// [`PayloadError`] when it is not a job (a damaged row, or written by a newer version).
    pub fn from_payload(payload: &serde_json::Value) -> Result<OutboxJob, PayloadError> {
        Ok(OutboxJob::deserialize(payload)?)
    }

    /// A new row for this job, due at `now`: what ingest puts in `Change::outbox_new` (with
    /// `CaseTarget::New` for the case it creates), followed by a wake-up of the worker.
    ///
    /// # Errors
    /// As [`OutboxJob::to_payload`].
    pub fn new_row(
        &self,
        case: CaseTarget,
        now: DateTime<Utc>,
    ) -> Result<NewOutboxRow, PayloadError> {
        Ok(NewOutboxRow {
            case: Some(case),
            created_at: now,
            payload: self.to_payload()?,
            next_attempt_at: now,
        })
    }
}

/// The noun of a payload's audit actions (`acknowledgement_sent`…); `outbox` when the payload is
/// not a job we know.
fn audit_noun(payload: &serde_json::Value) -> &'static str {
    match OutboxJob::from_payload(payload) {
        Ok(OutboxJob::Ack(_)) => "acknowledgement",
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
    let d = domain.trim();
    let usable = !d.is_empty()
        && d.len() <= 255
        && d.bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'@' | b'<' | b'>'));
    let domain = if usable { d } else { FALLBACK_ID_DOMAIN };
    format!("{micros:x}.{pid:x}.{n:x}.{random:016x}@{domain}")
}

/// How long to wait and when to give up after transient failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay after the first failure; doubled after each further one.
    pub first: Duration,
    /// Longest delay between two tries.
    pub max: Duration,
    /// A row older than this (since `created_at`) is failed instead of retried.
    pub give_up_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            first: DEFAULT_FIRST_RETRY,
            max: DEFAULT_MAX_RETRY,
            give_up_after: DEFAULT_GIVE_UP_AFTER,
        }
    }
}

impl RetryPolicy {
    /// The delay before the next try, after `failures` failed tries (`failures >= 1`; 0 is
    /// treated as 1): `first × 2^(failures-1)`, capped at `max`. Never overflows.
    pub fn backoff(&self, failures: u32) -> Duration {
        let exp = failures.saturating_sub(1).min(30);
        self.first
            .checked_mul(1u32 << exp)
            .unwrap_or(self.max)
            .min(self.max)
    }
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
    templates: RwLock<Arc<Templates>>,
    mailer: Arc<dyn SendMail>,
    settings: OutboxSettings,
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
        templates: Arc<Templates>,
        mailer: Arc<dyn SendMail>,
        settings: OutboxSettings,
    ) -> Outbox {
        Outbox {
            store,
            templates: RwLock::new(templates),
            mailer,
            settings,
        }
    }

    /// Swaps in reloaded templates (SIGHUP); rows after this render with the new set.
    pub fn replace_templates(&self, templates: Arc<Templates>) {
        let mut guard = self.templates.write().unwrap_or_else(|e| e.into_inner());
        *guard = templates;
    }

    fn templates(&self) -> Arc<Templates> {
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
                    .send(
                        &self.settings.envelope_from,
                        std::slice::from_ref(&to),
                        &raw,
                    )
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
    ) -> Result<(String, Vec<u8>), NotSendable> {
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
                Ok((job.to, raw))
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
            missing: job.missing.iter().cloned().map(MissingItem::from).collect(),
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
            let now = Utc::now();
            let pause = match self.batch(now, Some(&cancel)).await {
                Ok(batch) if batch.stalled => {
                    trouble = trouble.saturating_add(1);
                    self.settings.retry.backoff(trouble)
                }
                Ok(_) => {
                    trouble = 0;
                    match self.next_due() {
                        Ok(Some(due)) => (due - Utc::now()).to_std().unwrap_or(Duration::ZERO),
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
