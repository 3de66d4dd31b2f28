//! Turning a machine-mail record into a case on a person's word (`foi-triage case open-from`).
//!
//! The record's raw bytes are triaged again as the kind the person chose (or the record's
//! suggestion), with the record's receipt time as the server's, and the case is planned by the
//! same planner as any new request ([`plan::plan_opened`] → `plan_new_case`): validity, the clock
//! counted from the original receipt, the acknowledgement and its caps. The record is marked
//! opened in the same transaction (the store refuses a second opening), then the case is routed
//! and its assignment mail queued, as intake does after a new case.
//!
//! Two ways in: `foi-triage case open-from` (the control socket, or the store opened by the
//! command line), and `#open` mailed to the record's signed address, which intake reads like a
//! staff command ([`Ingest::record_open`]).

use super::{Ingest, MAX_RAW_KEPT, StoreThreads};
use crate::app::env::with_os_uid;
use crate::core::plan::ingest::{self as plan, OPENED_ACTION, OpenRequest, PlanError};
use crate::core::triage;
use crate::io::store::StoreError;
use crate::model::case::CaseRef;
use crate::model::kind::Kind;
use crate::model::machine::{MachineMail, MachineMailId};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use tracing::{error, info};

/// What a person asks for.
#[derive(Debug, Clone, Copy)]
pub struct OpenFrom<'a> {
    /// The record.
    pub id: MachineMailId,
    /// The kind of case to open; `None`: the record's suggestion.
    pub kind: Option<Kind>,
    /// Who asks (audited, and kept on the record).
    pub by: &'a str,
    /// Why (audited).
    pub why: &'a str,
    /// The operating-system uid of whoever asked, when known (audited beside `by`).
    pub os_uid: Option<u32>,
}

/// The case made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedCase {
    /// Its reference.
    pub reference: CaseRef,
    /// Its kind.
    pub kind: Kind,
    /// Its due date, when the clock runs.
    pub due: Option<chrono::NaiveDate>,
}

/// Why a record was not turned into a case. Every message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// `--by` was empty.
    #[error("--by YOUR-ADDRESS is required: opening a case is audited with who did it")]
    NoActor,
    /// No such record is kept.
    #[error(
        "no machine mail {0} is kept (it never existed, or was deleted after its retention \
         period); if the message is still in the mailbox, log the request by hand"
    )]
    NotFound(MachineMailId),
    /// The record is kept without its raw bytes.
    #[error("machine mail {0} is kept without its original message; log the request by hand")]
    NoOriginal(MachineMailId),
    /// The planner refused (already opened, `auto`, a receipt time out of range…).
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// Triage panicked on the message: a bug, reported rather than taking the daemon down.
    #[error("the pipeline failed on machine mail {0}; log the request by hand")]
    Triage(MachineMailId),
    /// The store.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Ingest {
    /// Turns machine-mail record `req.id` into a case at `now` (see the module doc). Triage runs
    /// off the async workers (attached documents are decoded in child processes).
    ///
    /// # Errors
    /// [`OpenError`]: nothing was written.
    pub async fn open_from(
        &self,
        req: &OpenFrom<'_>,
        now: DateTime<Utc>,
    ) -> Result<OpenedCase, OpenError> {
        if req.by.trim().is_empty() {
            return Err(OpenError::NoActor);
        }
        let id = req.id;
        let record = self
            .store
            .machine_mail(&id)?
            .ok_or(OpenError::NotFound(id))?;
        if let Some(o) = &record.opened {
            return Err(PlanError::AlreadyOpened {
                id,
                case: o.case.clone(),
                by: o.by.clone(),
            }
            .into());
        }
        let kind = req.kind.unwrap_or(record.suggested);
        if kind == Kind::Auto {
            return Err(PlanError::OpenAsAuto(id).into());
        }
        let raw = self
            .store
            .machine_mail_raw(&id)?
            .ok_or(OpenError::NoOriginal(id))?;
        let ctx = self.context();
        let outcome = self.triage_record(&ctx, &record, raw.clone(), kind).await?;
        let facts = self.facts(&outcome, now)?;
        let open = OpenRequest {
            record: &record,
            by: req.by.trim(),
            why: req.why,
        };
        let mut p = plan::plan_opened(&ctx, &self.settings, &outcome, &facts, &open, now)?;
        for a in &mut p.change.audit {
            if a.event.action == OPENED_ACTION {
                a.event.detail = with_os_uid(std::mem::take(&mut a.event.detail), req.os_uid);
            }
        }
        // The original goes with the assignment mail, as for any new request.
        if self.workflow.is_some() && !record.partial && raw.len() <= MAX_RAW_KEPT {
            self.store.put_raw(&record.content_hash, &raw)?;
        }
        let queues_mail = p.queues_mail;
        let applied = self.store.apply_async(p.change).await?;
        let reference = applied.new_case.ok_or_else(|| StoreError::InvalidChange {
            reason: "the plan to open a case created none".into(),
        })?;
        info!(id = %id, case = %reference, kind = kind.as_str(), "machine mail opened as a case");
        if queues_mail {
            self.outbox_wake.notify_one();
        }
        let case = self.store.get_case(&reference)?;
        if let (Some(wf), Some(case)) = (&self.workflow, &case) {
            // As intake does after a new case; a failure is logged and the scheduler routes it.
            match wf.assign(&self.store, &ctx, case, &outcome.message.body_text, now) {
                Ok(change) => self.follow_on(change, "routing").await,
                Err(e) => {
                    error!(case = %reference, error = %e, "routing failed; the scheduler retries")
                }
            }
        }
        Ok(OpenedCase {
            reference,
            kind,
            due: case.and_then(|c| c.due),
        })
    }

    /// The record's raw bytes triaged as `kind`, with its receipt time as the server's, on a
    /// blocking thread; a panic there is [`OpenError::Triage`].
    async fn triage_record(
        &self,
        ctx: &Arc<triage::Context>,
        record: &MachineMail,
        raw: Vec<u8>,
        kind: Kind,
    ) -> Result<triage::Outcome, OpenError> {
        let (ctx, store, reader) = (
            Arc::clone(ctx),
            self.store.clone(),
            Arc::clone(&self.reader),
        );
        let (received_at, hash, partial) = (
            record.received_at,
            record.content_hash.clone(),
            record.partial,
        );
        tokio::task::spawn_blocking(move || {
            let threads = StoreThreads(&store);
            let mut o = triage::triage_as(
                &ctx,
                &raw,
                Some(received_at),
                &threads,
                reader.as_ref(),
                kind,
            );
            o.message.content_hash = hash;
            if partial {
                triage::read_in_part(&ctx, &mut o);
            }
            o
        })
        .await
        .map_err(|_| OpenError::Triage(record.id))
    }
}
