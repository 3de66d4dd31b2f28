//! Turning a machine-mail record into a case on a person's word (`foi-triage case open-from`).
//!
//! The record's raw bytes are triaged again as the kind the person chose (or the record's
//! suggestion), with the record's receipt time as the server's, and the case is planned by the
//! same planner as any new request ([`plan::plan_opened`] → `plan_new_case`): validity, the clock
//! counted from the original receipt, the acknowledgement and its caps. The record is marked
//! opened in the same transaction (the store refuses a second opening), then the case is routed
//! and its assignment mail queued, as intake does after a new case.

use super::{Ingest, MAX_RAW_KEPT, StoreThreads};
use crate::app::env::with_os_uid;
use crate::core::plan::ingest::{self as plan, OPENED_ACTION, OpenRequest, PlanError};
use crate::core::triage;
use crate::io::store::StoreError;
use crate::model::case::CaseRef;
use crate::model::kind::Kind;
use crate::model::machine::MachineMailId;
use chrono::{DateTime, Utc};
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
    /// Turns machine-mail record `req.id` into a case at `now` (see the module doc). Blocking:
    /// it triages (attached documents are decoded in child processes) and commits with an fsync,
    /// so async callers run it on a blocking thread.
    ///
    /// # Errors
    /// [`OpenError`]: nothing was written.
    pub fn open_from(
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
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let threads = StoreThreads(&self.store);
            let mut o = triage::triage_as(
                &ctx,
                &raw,
                Some(record.received_at),
                &threads,
                self.reader.as_ref(),
                kind,
            );
            o.message.content_hash = record.content_hash.clone();
            if record.partial {
                triage::read_in_part(&ctx, &mut o);
            }
            o
        }))
        .map_err(|_| OpenError::Triage(id))?;
        let facts = self.facts(&outcome, now)?;
        let open = OpenRequest {
            record: &record,
            by: req.by.trim(),
            why: req.why,
        };
        let mut p = plan::plan_opened(&self.settings, &outcome, &facts, &open, now)?;
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
        let applied = self.store.apply(p.change)?;
        let reference = applied.new_case.ok_or_else(|| StoreError::InvalidChange {
            reason: "the plan to open a case created none".into(),
        })?;
        info!(id = %id, case = %reference, kind = kind.as_str(), "machine mail opened as a case");
        if queues_mail {
            self.outbox_wake.notify_one();
        }
        self.route_opened(&ctx, &reference, &outcome.message.body_text, now);
        let due = self.store.get_case(&reference)?.and_then(|c| c.due);
        Ok(OpenedCase {
            reference,
            kind,
            due,
        })
    }

    /// Routes a case just opened from machine mail and queues its assignment mail, as intake
    /// does after a new case. A failure is logged, not returned: the case exists, and the
    /// scheduler routes any open case left without a team.
    fn route_opened(
        &self,
        ctx: &triage::Context,
        reference: &CaseRef,
        body: &str,
        now: DateTime<Utc>,
    ) {
        let Some(wf) = &self.workflow else {
            return;
        };
        let routed = self.store.get_case(reference).and_then(|case| {
            let Some(case) = case else {
                return Ok(false);
            };
            let change = wf.assign(&self.store, ctx, &case, body, now)?;
            let mails = !change.outbox_new.is_empty();
            self.store.apply(change)?;
            Ok(mails)
        });
        match routed {
            Ok(true) => self.outbox_wake.notify_one(),
            Ok(false) => {}
            Err(e) => {
                error!(case = %reference, error = %e, "routing failed; the scheduler retries");
            }
        }
    }
}
