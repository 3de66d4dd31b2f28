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
//! - [`begin_attempt`] is the pure decision before a send: a `Pending` row is marked `Sending`
//!   with the attempt time, written and flushed BEFORE the SMTP transaction; a row found
//!   `Sending` (the process died mid-send) is sent once more, noted in the audit
//!   (`acknowledgement_interrupted`); found `Sending` a second time it is `Failed` for a person.
//! - [`after_attempt`] is the pure decision behind that record: sent → `Sent`; transient →
//!   `Pending` again after a capped exponential backoff ([`RetryPolicy`]: 1, 2, 4… minutes, at
//!   most 1 hour between tries) until the row is older than the give-up horizon (48 hours) →
//!   `Failed`; permanent (5xx to RCPT or DATA, unusable address, a template that does not
//!   render, a job we cannot read) → `Failed` at once; an outage (5xx at connect, EHLO, AUTH
//!   or MAIL FROM: the submission service refuses us, e.g. an expired password) → `Pending` as
//!   it was (`acknowledgement_deferred`), and the worker pauses the whole queue. A failed row
//!   needs a person: it is in the case's audit trail, logged at `warn`, and counted in the
//!   manager digest.
//! - [`Outbox::run`] loops: a batch, then sleep until the earliest pending row is due, a wake-up
//!   (a new row was committed), or cancellation. Cancellation is checked between rows, never in
//!   the middle of a send. A row state that cannot be written ends it with a fatal
//!   [`OutboxError::Record`]: the daemon exits non-zero rather than send anything again.
//!
//! What it does not do: decide *whether* to acknowledge (ingest's job: never `auto` mail, never
//! our own addresses, rate limits), talk SMTP itself (`mail::smtp`), or run twice at once: there
//! must be ONE worker per store, or a row could be sent by both.
//!
//! # Delivery guarantee: at least once, at most twice
//! The row is marked `Sending` (flushed) before the transaction and `Sent` only after the server
//! accepted the message (SMTP 250 after DATA), in a store write that is flushed before the next
//! row. If the process dies in between, the row is found `Sending` on restart and sent once
//! more, with the same Message-ID (generated when the job was planned and stored in it), so mail
//! clients can fold the two; if that happens again the row is `Failed` for a person rather than
//! sent a third time. If the store cannot write the result (a full disk), the worker stops and
//! the daemon exits non-zero: systemd restarts it, and the row, still `Sending`, follows the same
//! rule, so a broken disk can never become a resend loop. Nothing is ever lost: a row leaves the
//! queue only by being recorded `Sent` or `Failed`.
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
use crate::letters::RenderError;
use crate::letters::compose::AckData;
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

/// Sends of one row cut off by a crash after which it is sent once more: 1. The next cut-off
/// fails the row for a person: a message that kills the process mid-send (or a crash loop) must
/// not turn into a stream of duplicates.
const MAX_INTERRUPTED_SENDS: u32 = 1;

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
/// - `Outage` → `Pending` as it was, attempts unchanged, never given up: the submission service
///   refused us before this message was named (an expired password), so the row is not at fault
///   and a person fixes the service; the worker pauses the whole queue.
///
/// Whatever the outcome, `interrupted` is kept: a row counts its crash-cut sends over its life.
///
/// Actions are `<noun>_sent`, `<noun>_retry`, `<noun>_failed`, `<noun>_deferred`, where the noun is
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
        SendOutcome::Outage { error } => {
            // Not this message's try: the service refused our session before any recipient.
            detail["attempt"] = row.attempts.into();
            detail["error"] = clip(error).into();
            (
                OutboxStatus::Pending,
                Some(clip(error)),
                row.next_attempt_at,
                "deferred",
                "the mail server refused our session (login or sender), not this message; the \
                 whole queue is paused and every row kept until it accepts us again"
                    .to_string(),
            )
        }
    };
    let attempts = match outcome {
        SendOutcome::Outage { .. } => row.attempts,
        _ => attempts,
    };
    AttemptRecord {
        update: OutboxUpdate {
            id: row.id,
            status,
            attempts,
            last_error,
            next_attempt_at,
            interrupted: row.interrupted,
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

/// What [`begin_attempt`] decided before a send.
#[derive(Debug, Clone, PartialEq)]
pub enum Begin {
    /// Write `update` (the row as `Sending`, with the attempt time) and flush it, then send.
    /// `event` is set when the row was found `Sending`: the audit note that a send was cut off
    /// and is being made once more.
    Send {
        /// The row's `Sending` state.
        update: OutboxUpdate,
        /// The audit note for a resend after a crash.
        event: Option<AuditEvent>,
    },
    /// Do not send: the row was already cut off mid-send once before; record it `Failed`.
    Fail(AttemptRecord),
}

/// Pure: whether (and how) to send `row` at `now`, before the SMTP transaction.
///
/// - `Pending` → send, after writing `Sending` with `now` as the attempt time.
/// - `Sending` (the worker died mid-send: the server may have accepted it) with no earlier cut-off
///   → send once more (same Message-ID, so clients can fold a duplicate), `interrupted` + 1,
///   audited as `<noun>_interrupted`.
/// - `Sending` again after that → `Failed`, audited: it may have gone once, twice or not at all,
///   and only a person can find out; sending again could make a crash loop a mail loop.
/// - Any other status is treated as `Pending` (the worker is only given queued rows).
pub fn begin_attempt(row: &OutboxRow, now: DateTime<Utc>) -> Begin {
    let noun = audit_noun(&row.payload);
    let sending = |interrupted| OutboxUpdate {
        id: row.id,
        status: OutboxStatus::Sending,
        attempts: row.attempts,
        last_error: row.last_error.clone(),
        next_attempt_at: now,
        interrupted,
    };
    if row.status != OutboxStatus::Sending {
        return Begin::Send {
            update: sending(row.interrupted),
            event: None,
        };
    }
    let interrupted = row.interrupted.saturating_add(1);
    let detail = serde_json::json!({
        "outbox_row": row.id,
        "attempt": row.attempts,
        "interrupted": interrupted,
        "sending_since": row.next_attempt_at.to_rfc3339(),
    });
    let since = row.next_attempt_at.format("%Y-%m-%d %H:%M UTC");
    if interrupted <= MAX_INTERRUPTED_SENDS {
        return Begin::Send {
            update: sending(interrupted),
            event: Some(AuditEvent {
                at: now,
                actor: SYSTEM_ACTOR.to_string(),
                action: format!("{noun}_interrupted"),
                detail,
                why: format!(
                    "the daemon stopped while sending it (since {since}); it may have gone, and \
                     is sent once more with the same Message-ID"
                ),
            }),
        };
    }
    let error = format!(
        "sending was cut off {interrupted} times (last since {since}); it may have been \
         delivered, more than once, or not at all"
    );
    Begin::Fail(AttemptRecord {
        update: OutboxUpdate {
            id: row.id,
            status: OutboxStatus::Failed,
            attempts: row.attempts,
            last_error: Some(error.clone()),
            next_attempt_at: row.next_attempt_at,
            interrupted,
        },
        event: AuditEvent {
            at: now,
            actor: SYSTEM_ACTOR.to_string(),
            action: format!("{noun}_failed"),
            detail,
            why: format!("{error}; a person must check with the recipient before sending it again"),
        },
    })
}

/// One log line for a row's recorded result (`deferred`: the submission service refused our
/// session). The server's error text (it often quotes an address) only at debug.
fn log_result(reference: &str, u: &OutboxUpdate, deferred: bool) {
    match (u.status, deferred) {
        (OutboxStatus::Sent, _) => tracing::info!(
            case = %reference, row = u.id, attempts = u.attempts, "outbox: sent"
        ),
        (OutboxStatus::Pending | OutboxStatus::Sending, true) => tracing::error!(
            case = %reference, row = u.id,
            "outbox: the mail server refuses our session (login or sender; an expired \
             password?): queue paused, every row kept (error in the case audit)"
        ),
        (OutboxStatus::Pending | OutboxStatus::Sending, false) => tracing::info!(
            case = %reference, row = u.id, attempts = u.attempts,
            next_attempt_at = %u.next_attempt_at,
            "outbox: temporary failure, will retry (error in the case audit)"
        ),
        (OutboxStatus::Failed, _) => tracing::warn!(
            case = %reference, row = u.id, attempts = u.attempts,
            "outbox: FAILED, needs a person (error in the case audit)"
        ),
    }
    if let Some(e) = &u.last_error {
        tracing::debug!(case = %reference, row = u.id, error = %e, "outbox: last error");
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

/// Adds `events` to `change` on `case`'s audit trail, only when the case exists: an audit append
/// to a missing case would make the whole change fail, and the row would never be recorded.
fn push_audit(change: &mut Change, case: Option<&Case>, events: Vec<AuditEvent>) {
    if let Some(case) = case {
        change
            .audit
            .extend(events.into_iter().map(|event| AuditAppend {
                case: CaseTarget::Existing(case.reference.clone()),
                event,
            }));
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
    /// Reading the store failed; nothing was sent for the row in hand. The worker pauses and
    /// tries again.
    #[error("outbox store access failed (row {row:?}): {source}")]
    Store {
        /// The row being handled, if any.
        row: Option<u64>,
        /// What the store said.
        #[source]
        source: StoreError,
    },
    /// Writing a row's state failed (its `Sending` mark before a send, or the result after it).
    /// Fatal: [`Outbox::run`] returns it and the daemon exits non-zero. A store that cannot
    /// write (a full disk; sled keeps failing writes after an I/O error while reads still show
    /// the row queued) would otherwise make the worker send the same row again and again.
    #[error("outbox cannot record row {row} ({stage}): {source}; stopping so nothing is resent")]
    Record {
        /// The row whose state could not be written.
        row: u64,
        /// Which write: `sending` (before the send) or `result` (after it).
        stage: &'static str,
        /// What the store said.
        #[source]
        source: StoreError,
    },
}

impl OutboxError {
    /// Whether the worker must stop (and the daemon exit) rather than pause and retry.
    pub fn is_fatal(&self) -> bool {
        matches!(self, OutboxError::Record { .. })
    }
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
    /// Stopped after [`TRANSIENT_STREAK_LIMIT`] transient failures in a row, or at an outage.
    stalled: bool,
    /// Stopped because the submission service refused our session ([`SendOutcome::Outage`]):
    /// the whole queue pauses, and new rows do not cut the pause short.
    outage: bool,
}

/// What one row's handling came to, for the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tried {
    /// Sent, failed for good, or not tried: the relay is not known to be in trouble.
    Done,
    /// A transient failure: counts towards the streak.
    Transient,
    /// The submission service refused the session: stop the batch, pause the queue.
    Outage,
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
            let tried = self.handle(row, now).await?;
            handled += 1;
            streak = if tried == Tried::Transient {
                streak + 1
            } else {
                0
            };
            if tried == Tried::Outage || streak >= TRANSIENT_STREAK_LIMIT {
                return Ok(Batch {
                    handled,
                    stalled: true,
                    outage: tried == Tried::Outage,
                });
            }
        }
        Ok(Batch {
            handled,
            stalled: false,
            outage: false,
        })
    }

    /// One row: decide ([`begin_attempt`]), render, mark `Sending` (flushed), send, record.
    ///
    /// # Errors
    /// [`OutboxError::Store`] when the case cannot be read (nothing sent);
    /// [`OutboxError::Record`] when a state cannot be written (fatal, see there).
    async fn handle(&self, mut row: OutboxRow, now: DateTime<Utc>) -> Result<Tried, OutboxError> {
        let case = match &row.case {
            Some(r) => self
                .store
                .get_case(r)
                .map_err(|source| OutboxError::Store {
                    row: Some(row.id),
                    source,
                })?,
            None => None,
        };
        let reference = row
            .case
            .as_ref()
            .map(CaseRef::to_string)
            .unwrap_or_default();
        let (sending, note) = match begin_attempt(&row, now) {
            Begin::Fail(record) => {
                self.record(&reference, case.as_ref(), record, Vec::new())
                    .await?;
                return Ok(Tried::Done);
            }
            Begin::Send { update, event } => (update, event),
        };
        if let Some(note) = &note {
            tracing::warn!(
                case = %reference, row = row.id, interrupted = sending.interrupted,
                "outbox: found a send cut off by a stop; sending it once more"
            );
            tracing::debug!(case = %reference, row = row.id, why = %note.why, "outbox: resend");
        }
        let outcome = match self.prepare(&row, case.as_ref(), now) {
            Ok((to, raw)) => {
                // The `Sending` mark (and any resend note) is on disk before the server sees a
                // byte: a crash from here on is recognised at the next start.
                let mut change = Change {
                    outbox_updates: vec![sending.clone()],
                    ..Change::default()
                };
                push_audit(&mut change, case.as_ref(), note.into_iter().collect());
                self.write(change, row.id, "sending", &reference).await?;
                row.status = sending.status;
                row.next_attempt_at = sending.next_attempt_at;
                row.interrupted = sending.interrupted;
                self.mailer
                    .send(&self.settings.envelope_from, &to, &raw)
                    .await
            }
            Err(NotSendable::Fail(error)) => {
                // Never handed to the server: no `Sending` mark; a resend note goes with the
                // result.
                row.interrupted = sending.interrupted;
                let record = after_attempt(
                    &row,
                    &SendOutcome::Permanent { error },
                    now,
                    &self.settings.retry,
                );
                self.record(
                    &reference,
                    case.as_ref(),
                    record,
                    note.into_iter().collect(),
                )
                .await?;
                return Ok(Tried::Done);
            }
        };
        let record = after_attempt(&row, &outcome, now, &self.settings.retry);
        self.record(&reference, case.as_ref(), record, Vec::new())
            .await?;
        Ok(match outcome {
            SendOutcome::Transient { .. } => Tried::Transient,
            SendOutcome::Outage { .. } => Tried::Outage,
            SendOutcome::Sent { .. } | SendOutcome::Permanent { .. } => Tried::Done,
        })
    }

    /// Writes one [`AttemptRecord`] (after `earlier` audit events, if any), then logs it.
    ///
    /// The log line comes after the write: a process killed during the write leaves no
    /// "outbox: sent" for a row the store still holds as `Sending` (the kill -9 torture reads
    /// the log to know when a row is settled). A failed write is logged by [`Outbox::write`]
    /// first, then the result the store could not record.
    ///
    /// # Errors
    /// [`OutboxError::Record`] (fatal) when the store refuses the write.
    async fn record(
        &self,
        reference: &str,
        case: Option<&Case>,
        record: AttemptRecord,
        mut earlier: Vec<AuditEvent>,
    ) -> Result<(), OutboxError> {
        let update = record.update.clone();
        let deferred = record.event.action.ends_with("_deferred");
        let mut change = Change {
            outbox_updates: vec![record.update],
            ..Change::default()
        };
        earlier.push(record.event);
        push_audit(&mut change, case, earlier);
        let written = self.write(change, update.id, "result", reference).await;
        log_result(reference, &update, deferred);
        written
    }

    /// One flushed store write of a row's state; any failure is [`OutboxError::Record`].
    async fn write(
        &self,
        change: Change,
        row: u64,
        stage: &'static str,
        reference: &str,
    ) -> Result<(), OutboxError> {
        self.store.apply_async(change).await.map(drop).map_err(|source| {
            tracing::error!(
                case = %reference, row, stage, error = %source,
                "outbox: cannot record the row's state; stopping the worker so nothing is resent"
            );
            OutboxError::Record { row, stage, source }
        })
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
            // A review case's letter states the review's law and time, not the kind's policy.
            regime: case
                .workflow
                .internal_review
                .as_ref()
                .map(|r| r.regime())
                .or_else(|| {
                    Regime::for_kind(case.kind, s.region, |k| {
                        s.policy_days
                            .get(&k)
                            .copied()
                            .unwrap_or(DEFAULT_POLICY_DAYS)
                    })
                }),
            region: s.region,
            received: job.received,
            due: job.due,
            requester_name: job.requester_name.clone(),
            requester_email: job.to.clone(),
            their_subject: job.their_subject.clone(),
            missing: job.missing.clone(),
            identity: case.workflow.identity,
            language: job.language,
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
    /// runs is never missed. When a batch stalls on transient failures or the store cannot be
    /// read, the pause grows like a row's backoff (1, 2, 4… minutes, at most 1 hour) so a dead
    /// relay or disk is not hammered; a wake-up still cuts it short. When the submission service
    /// refuses our session (an outage: an expired password), the whole queue pauses for the
    /// backoff, up to the policy's longest, and wake-ups do NOT cut it short: every new row would
    /// otherwise be one more failed login (accounts get locked for that). Cancellation is
    /// honoured between rows; the row in hand is finished and recorded first.
    ///
    /// # Errors
    /// A fatal [`OutboxError::Record`]: a row's state could not be written. The worker stops at
    /// once (the caller must stop the process) rather than risk sending that row again.
    pub async fn run(
        &self,
        cancel: CancellationToken,
        wake: Arc<Notify>,
    ) -> Result<(), OutboxError> {
        let mut trouble: u32 = 0;
        loop {
            let notified = wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if cancel.is_cancelled() {
                break;
            }
            let now = self.clock.now();
            let (pause, deaf) = match self.batch(now, Some(&cancel)).await {
                Ok(batch) if batch.outage => {
                    trouble = trouble.saturating_add(1);
                    let pause = self.settings.retry.backoff(trouble);
                    tracing::error!(
                        pause_s = pause.as_secs(),
                        "outbox: the submission service refuses our session; sending paused, \
                         every row kept. Check the SMTP account (password, licence, sender)"
                    );
                    (pause, true)
                }
                Ok(batch) if batch.stalled => {
                    trouble = trouble.saturating_add(1);
                    (self.settings.retry.backoff(trouble).min(MAX_IDLE), false)
                }
                Ok(_) => {
                    trouble = 0;
                    (self.idle_pause(&mut trouble), false)
                }
                Err(e) if e.is_fatal() => {
                    tracing::error!(error = %e, "outbox: stopping: the store cannot record");
                    return Err(e);
                }
                Err(e) => {
                    tracing::error!(error = %e, "outbox: batch stopped");
                    trouble = trouble.saturating_add(1);
                    (self.settings.retry.backoff(trouble).min(MAX_IDLE), false)
                }
            };
            if deaf {
                tokio::select! {
                    () = cancel.cancelled() => break,
                    () = tokio::time::sleep(pause) => {}
                }
            } else {
                tokio::select! {
                    () = cancel.cancelled() => break,
                    () = &mut notified => {}
                    () = tokio::time::sleep(pause) => {}
                }
            }
        }
        tracing::info!("outbox: stopped");
        Ok(())
    }

    /// After a clean batch: until the earliest queued row is due, at most [`MAX_IDLE`]; a short
    /// backoff (and `trouble` = 1) when the queue cannot be read.
    fn idle_pause(&self, trouble: &mut u32) -> Duration {
        let pause = match self.next_due() {
            Ok(Some(due)) => (due - self.clock.now()).to_std().unwrap_or(Duration::ZERO),
            Ok(None) => MAX_IDLE,
            Err(e) => {
                tracing::error!(error = %e, "outbox: cannot read the queue");
                *trouble = 1;
                self.settings.retry.backoff(*trouble)
            }
        };
        pause.min(MAX_IDLE)
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
            language: crate::model::language::LetterLanguage::English,
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
            interrupted: 0,
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
                SendOutcome::Transient { error }
                | SendOutcome::Permanent { error }
                | SendOutcome::Outage { error } => {
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
        let m = crate::core::parse::parse(&sent[0].2, &crate::core::extract::InProcess);
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
            .map(|s| crate::core::parse::parse(&s.2, &crate::core::extract::InProcess).message_id)
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
                stalled: true,
                outage: false,
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
        let m = crate::core::parse::parse(&fake.sent()[0].2, &crate::core::extract::InProcess);
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
            (got.status, got.attempts, got.interrupted),
            (OutboxStatus::Sending, 0, 0),
            "not known to be sent: marked as in flight"
        );
        assert_eq!(got.next_attempt_at, t(10, 0), "the attempt time is kept");
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
            crate::core::parse::parse(&accepted[0], &crate::core::extract::InProcess)
                .message_id
                .as_deref(),
            Some(job.message_id.as_str())
        );
        assert_eq!(
            crate::core::parse::parse(&resent[0].2, &crate::core::extract::InProcess)
                .message_id
                .as_deref(),
            Some(job.message_id.as_str())
        );
        assert_eq!(row(&store, id).status, OutboxStatus::Sent);
        assert_eq!(row(&store, id).interrupted, 1);
        assert_eq!(
            actions(&store, &r),
            ["acknowledgement_interrupted", "acknowledgement_sent"]
        );
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
            .expect("run does not panic")
            .expect("a cancelled run is not an error");
    }

    fn outage() -> SendOutcome {
        SendOutcome::Outage {
            error: "smtp.example.org:587: permanent error (535): 5.7.139 Authentication \
                    unsuccessful, the user credentials were incorrect"
                .into(),
        }
    }

    /// An outage never fails a row, never counts as an attempt and never gives up, whatever
    /// the row's age: (attempts before, created_at).
    #[test]
    fn after_attempt_outage_keeps_the_row() {
        let now = t(12, 0);
        let table: [(u32, DateTime<Utc>); 4] = [
            (0, now),
            (3, now - mins(30)),
            (40, now - mins(48 * 60)),
            (7, now - mins(30 * 24 * 60)),
        ];
        for (i, (attempts, created)) in table.into_iter().enumerate() {
            let mut row = pending_row(attempts, created);
            row.interrupted = 1;
            let rec = after_attempt(&row, &outage(), now, &RetryPolicy::default());
            assert_eq!(rec.update.status, OutboxStatus::Pending, "case {i}");
            assert_eq!(rec.update.attempts, attempts, "case {i}: not an attempt");
            assert_eq!(rec.update.next_attempt_at, created, "case {i}: as it was");
            assert_eq!(rec.update.interrupted, 1, "case {i}: kept");
            assert!(
                rec.update
                    .last_error
                    .as_deref()
                    .is_some_and(|e| e.contains("535")),
                "case {i}"
            );
            assert_eq!(rec.event.action, "acknowledgement_deferred", "case {i}");
            assert_eq!(rec.event.detail["attempt"], attempts, "case {i}");
        }
    }

    /// Every outcome keeps the row's count of cut-off sends.
    #[test]
    fn after_attempt_keeps_interrupted() {
        let now = t(12, 0);
        for outcome in [
            SendOutcome::Sent {
                response: "250 ok".into(),
            },
            transient(),
            permanent(),
            outage(),
        ] {
            let mut row = pending_row(1, now);
            row.status = OutboxStatus::Sending;
            row.interrupted = 1;
            let rec = after_attempt(&row, &outcome, now, &RetryPolicy::default());
            assert_eq!(rec.update.interrupted, 1, "{outcome:?}");
        }
    }

    /// (status found, interrupted before) → sent?, interrupted after, new status, audit action.
    #[test]
    fn begin_attempt_table() {
        let now = t(12, 0);
        let since = t(11, 58);
        type Row = (
            OutboxStatus,
            u32,
            bool,
            u32,
            OutboxStatus,
            Option<&'static str>,
        );
        let table: [Row; 6] = [
            (
                OutboxStatus::Pending,
                0,
                true,
                0,
                OutboxStatus::Sending,
                None,
            ),
            // A pending row that was cut off once before (then retried after a 4xx) keeps it.
            (
                OutboxStatus::Pending,
                1,
                true,
                1,
                OutboxStatus::Sending,
                None,
            ),
            // Found in flight: sent once more, noted.
            (
                OutboxStatus::Sending,
                0,
                true,
                1,
                OutboxStatus::Sending,
                Some("acknowledgement_interrupted"),
            ),
            // Found in flight a second time: failed for a person, never sent again.
            (
                OutboxStatus::Sending,
                1,
                false,
                2,
                OutboxStatus::Failed,
                Some("acknowledgement_failed"),
            ),
            (
                OutboxStatus::Sending,
                5,
                false,
                6,
                OutboxStatus::Failed,
                Some("acknowledgement_failed"),
            ),
            (
                OutboxStatus::Sending,
                u32::MAX,
                false,
                u32::MAX,
                OutboxStatus::Failed,
                Some("acknowledgement_failed"),
            ),
        ];
        for (i, (found, before, send, after, status, action)) in table.into_iter().enumerate() {
            let mut row = pending_row(2, t(9, 0));
            row.status = found;
            row.interrupted = before;
            row.next_attempt_at = since;
            row.last_error = Some("451 earlier".into());
            let (update, event) = match begin_attempt(&row, now) {
                Begin::Send { update, event } => {
                    assert!(send, "case {i}: sent");
                    assert_eq!(update.next_attempt_at, now, "case {i}: attempt time");
                    assert_eq!(
                        update.last_error.as_deref(),
                        Some("451 earlier"),
                        "case {i}"
                    );
                    (update, event)
                }
                Begin::Fail(rec) => {
                    assert!(!send, "case {i}: failed");
                    assert_eq!(rec.update.next_attempt_at, since, "case {i}");
                    assert!(
                        rec.update
                            .last_error
                            .as_deref()
                            .is_some_and(|e| e.contains("cut off")),
                        "case {i}"
                    );
                    (rec.update, Some(rec.event))
                }
            };
            assert_eq!(update.id, 7, "case {i}");
            assert_eq!(update.status, status, "case {i}");
            assert_eq!(
                update.attempts, 2,
                "case {i}: attempts counted after the send"
            );
            assert_eq!(update.interrupted, after, "case {i}");
            assert_eq!(
                event.as_ref().map(|e| e.action.as_str()),
                action,
                "case {i}"
            );
            if let Some(e) = event {
                assert_eq!(e.at, now, "case {i}");
                assert_eq!(e.actor, SYSTEM_ACTOR, "case {i}");
                assert_eq!(e.detail["sending_since"], since.to_rfc3339(), "case {i}");
            }
        }
    }

    /// Two crashes mid-send: one resend, then the row fails for a person and is never sent a
    /// third time.
    #[tokio::test]
    async fn a_second_crash_mid_send_fails_the_row() {
        let store = Store::open_temporary().expect("temp store");
        let r = new_case(&store, Kind::Foi, t(9, 0));
        let p = OutboxJob::Ack(ack_job("a@example.org", "ack_foi"))
            .to_payload()
            .expect("p");
        let id = enqueue(&store, Some(r.clone()), p, t(10, 0));
        let dying = Arc::new(DiesAfterAccepting(Mutex::new(Vec::new())));
        for at in [t(10, 0), t(10, 5)] {
            let worker = Outbox::new(store.clone(), templates(), dying.clone(), settings());
            let crashed =
                tokio::time::timeout(Duration::from_millis(200), worker.run_once(at)).await;
            assert!(crashed.is_err(), "dies mid-send at {at}");
        }
        let got = row(&store, id);
        assert_eq!(
            (got.status, got.interrupted, got.next_attempt_at),
            (OutboxStatus::Sending, 1, t(10, 5))
        );
        let fake = Fake::scripted(vec![]);
        let third = Outbox::new(store.clone(), templates(), fake.clone(), settings());
        assert_eq!(third.run_once(t(10, 10)).await.expect("batch"), 1);
        assert!(fake.sent().is_empty(), "never sent a third time");
        assert_eq!(
            dying.0.lock().expect("lock").len(),
            2,
            "original and one resend"
        );
        let got = row(&store, id);
        assert_eq!((got.status, got.interrupted), (OutboxStatus::Failed, 2));
        assert_eq!(
            actions(&store, &r),
            ["acknowledgement_interrupted", "acknowledgement_failed"]
        );
        assert_eq!(third.run_once(t(23, 0)).await.expect("batch"), 0);
    }

    /// A refused session (535 at AUTH) stops the batch at the first row and keeps every row
    /// pending, unattempted; once the service is fixed they all go.
    #[tokio::test]
    async fn an_outage_pauses_the_queue_and_keeps_every_row() {
        let fake = Fake::always(outage());
        let store = Store::open_temporary().expect("temp store");
        let r = new_case(&store, Kind::Foi, t(9, 0));
        let ids: Vec<u64> = (0..4)
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
                handled: 1,
                stalled: true,
                outage: true,
            }
        );
        assert_eq!(fake.sent().len(), 1, "one refused session, not one per row");
        for id in &ids {
            let got = row(&store, *id);
            assert_eq!(
                (got.status, got.attempts),
                (OutboxStatus::Pending, 0),
                "row {id}"
            );
        }
        assert_eq!(actions(&store, &r), ["acknowledgement_deferred"]);
        // Days later, still kept (an outage never gives up); fixed, everything goes.
        let fixed = Fake::scripted(vec![]);
        let outbox = Outbox::new(store.clone(), templates(), fixed.clone(), settings());
        assert_eq!(
            outbox
                .run_once(t(10, 0) + TimeDelta::days(3))
                .await
                .expect("batch"),
            4
        );
        assert_eq!(fixed.sent().len(), 4);
        for id in &ids {
            assert_eq!(row(&store, *id).status, OutboxStatus::Sent, "row {id}");
        }
    }

    /// During an outage pause, new rows (wake-ups) do not start another session: one refused
    /// login per pause, not one per new row (repeated failed logins get accounts locked).
    /// Cancellation still ends the pause at once.
    #[tokio::test]
    async fn an_outage_pause_is_deaf_to_wake_ups() {
        let fake = Fake::always(outage());
        let store = Store::open_temporary().expect("temp store");
        let now = Utc::now();
        let r = new_case(&store, Kind::Foi, now - TimeDelta::minutes(5));
        let job = || {
            OutboxJob::Ack(ack_job("a@example.org", "ack_foi"))
                .to_payload()
                .expect("p")
        };
        enqueue(&store, Some(r.clone()), job(), now - TimeDelta::minutes(1));
        let outbox = Arc::new(Outbox::new(
            store.clone(),
            templates(),
            fake.clone(),
            settings(),
        ));
        let (cancel, wake) = (CancellationToken::new(), Arc::new(Notify::new()));
        let task = tokio::spawn({
            let (outbox, cancel, wake) = (outbox.clone(), cancel.clone(), wake.clone());
            async move { outbox.run(cancel, wake).await }
        });
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_millis(60)).await;
            enqueue(&store, Some(r.clone()), job(), Utc::now());
            wake.notify_one();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(fake.sent().len(), 1, "one refused session during the pause");
        assert_eq!(
            store.outbox_pending(Utc::now()).expect("read").len(),
            6,
            "all kept"
        );
        cancel.cancel();
        tokio::time::timeout(Duration::from_secs(2), task)
            .await
            .expect("cancel ends the pause")
            .expect("no panic")
            .expect("not an error");
    }

    /// Accepts every message, and breaks the store while "sending": the case record disappears
    /// behind the store's back, so recording the result (an audit append to that case) fails
    /// while reads still show the row queued — the shape of a full disk, where sled refuses
    /// writes but still reads.
    struct AcceptsThenBreaksStore {
        store: Store,
        case: CaseRef,
        sent: Mutex<usize>,
    }

    impl SendMail for AcceptsThenBreaksStore {
        fn send<'a>(
            &'a self,
            _from: &'a str,
            _to: &'a [String],
            _raw: &'a [u8],
        ) -> Pin<Box<dyn Future<Output = SendOutcome> + Send + 'a>> {
            *self.sent.lock().expect("lock") += 1;
            self.store.remove_case_for_test(&self.case);
            Box::pin(async {
                SendOutcome::Sent {
                    response: "250 2.0.0 Ok: queued".into(),
                }
            })
        }
    }

    /// A store write failure after the server accepted the message is fatal: `run` returns the
    /// error at once (the daemon then exits non-zero) and the message is not sent again.
    #[tokio::test]
    async fn a_store_write_failure_after_sending_stops_the_worker() {
        let store = Store::open_temporary().expect("temp store");
        let r = new_case(&store, Kind::Foi, Utc::now() - TimeDelta::minutes(5));
        let p = OutboxJob::Ack(ack_job("a@example.org", "ack_foi"))
            .to_payload()
            .expect("p");
        let id = enqueue(
            &store,
            Some(r.clone()),
            p,
            Utc::now() - TimeDelta::minutes(1),
        );
        let mailer = Arc::new(AcceptsThenBreaksStore {
            store: store.clone(),
            case: r,
            sent: Mutex::new(0),
        });
        let outbox = Outbox::new(store.clone(), templates(), mailer.clone(), settings());
        let ran = tokio::time::timeout(
            Duration::from_secs(5),
            outbox.run(CancellationToken::new(), Arc::new(Notify::new())),
        )
        .await
        .expect("the worker stops by itself, promptly");
        match ran {
            Err(
                e @ OutboxError::Record {
                    stage: "result", ..
                },
            ) => {
                assert!(e.is_fatal());
                assert!(
                    std::error::Error::source(&e).is_some(),
                    "the store's error is kept"
                );
                assert!(e.to_string().contains(&format!("row {id}")), "{e}");
            }
            other => panic!("expected a fatal Record error, got {other:?}"),
        }
        assert_eq!(
            *mailer.sent.lock().expect("lock"),
            1,
            "sent once, no resend loop"
        );
        let got = row(&store, id);
        assert_eq!(
            got.status,
            OutboxStatus::Sending,
            "left in flight: a restart sends it at most once more"
        );
    }

    /// Only a failed write is fatal; a read failure pauses the worker as before.
    #[test]
    fn only_record_errors_are_fatal() {
        let sled_like = || StoreError::OutboxNotFound { id: 3 };
        let table = [
            (
                OutboxError::Store {
                    row: None,
                    source: sled_like(),
                },
                false,
            ),
            (
                OutboxError::Store {
                    row: Some(3),
                    source: sled_like(),
                },
                false,
            ),
            (
                OutboxError::Record {
                    row: 3,
                    stage: "sending",
                    source: sled_like(),
                },
                true,
            ),
            (
                OutboxError::Record {
                    row: 3,
                    stage: "result",
                    source: sled_like(),
                },
                true,
            ),
        ];
        for (e, fatal) in table {
            assert_eq!(e.is_fatal(), fatal, "{e}");
            assert!(e.to_string().contains("row"), "{e}");
        }
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
        let m = crate::core::parse::parse(&bytes, &crate::core::extract::InProcess);
        assert_eq!(m.message_id.as_deref(), Some(job.message_id.as_str()));
        assert!(m.subject.starts_with(&format!("[{r}] ")), "{}", m.subject);
        assert_eq!(m.machine.auto_submitted.as_deref(), Some("auto-replied"));
        assert_eq!(
            m.header("delivered-to"),
            Some(format!("{user}@example.org").as_str())
        );
    }
}
