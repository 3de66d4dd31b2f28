//! Staff actions on a case: what an officer may do after acknowledgement, as plain data, and the
//! pure function that applies one.
//!
//! [`apply`] takes a case and an [`Action`] and returns the new case value and the audit events
//! that record it (who, when, what, why, with old and new values in `detail`), or an
//! [`ActionError`] whose message a member of staff understands ("FOI-2026-000123 is closed;
//! reopen it first"). The due date is never edited: after every action it is recomputed from
//! `received_at` and `clock_events` with [`deadline::compute`], so it can always be explained.
//!
//! The law on the clock (deadlines.md §1.5–1.7, §2, §3.3, §4):
//! - clarification restarts a FOIA/FOISA/EIR clock from the day the answer arrives (EIR and
//!   EIR(S) call it "further particulars", reg 9); for subject access it is a pause (Art 12A);
//! - proof of identity exists only for subject access (UK GDPR Art 12(6)) and restarts its month;
//! - a fees notice stops the clock until payment (FOIA s.10(2); SAR: restart, Art 12A);
//! - extensions: FOIA public interest (s.10(3)), EIR/EIR(S) reg 7, SAR two further months; none
//!   under FOISA or for local-policy timescales, and those get a clear error;
//! - local-policy kinds (complaints, member enquiries, media, general) have no clock stops.
//!
//! Submodules: [`command`] turns `#close refused s.40(2)` (email or CLI) into an [`Action`];
//! [`token`] signs reply addresses (per case, per staff address, per key) so a forged `From:`
//! alone cannot act on a case.
//!
//! What this module does not do: store anything, send mail, check who may act (the daemon checks
//! the sender against the staff list and the reply token first), or know the teams (`staff` is
//! a resolver the routing module provides).

pub mod command;
pub mod token;

pub use command::{
    CommandError, MAX_COMMANDS_PER_MESSAGE, MAX_LINE_CHARS, ParsedLine, StaffCommand, help_text,
    parse_cli, parse_command, parse_commands,
};
pub use token::{
    KEY_ID_HEX_LEN, MIN_SECRET_BYTES, MachineTag, ReplyAddressError, ReplyKeys, ReplyTag,
    SecretError, TAG_HEX_LEN, Verdict, bound_address, check_machine, machine_reply_address,
    parse_machine_reply_address, parse_reply_address, reply_address, sign, sign_machine,
};

use crate::core::deadline::{
    self, ClockEvent, ClockInput, ClockState, DeadlineError, Extension, ExtensionKind, Regime,
    StopReason,
};
use crate::core::triage::Context;
use crate::model::case::{
    AuditEvent, Case, CaseRef, CaseState, CloseOutcome, Closure, Correction, Flag,
};
use crate::model::kind::Kind;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Longest note, reason or request text kept, in characters: the same bound as a command line, so
/// the CLI cannot store what email could not.
pub const MAX_TEXT_CHARS: usize = MAX_LINE_CHARS;

/// Something a member of staff does to a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Give the case to a member of staff, by handle (`alice`) or address.
    Assign {
        /// Handle or address; resolved with the [`StaffDirectory`].
        to: String,
    },
    /// Change the kind. The reference stays; the clock is recomputed under the new regime.
    Reclassify {
        /// The new kind.
        kind: Kind,
    },
    /// We asked the requester to clarify (EIR: for further particulars). The clock stops.
    RequestClarification {
        /// What was asked, for the file.
        text: Option<String>,
    },
    /// We asked for proof of identity (subject access only). The clock stops.
    RequestId {
        /// What was asked for, for the file.
        text: Option<String>,
    },
    /// We gave a fees notice. The clock stops until payment.
    RequestFee {
        /// Amount or note, for the file.
        text: Option<String>,
    },
    /// What the case waits for (clarification, ID or fee) arrived. The clock restarts or resumes.
    RecordAnswer {
        /// UK date it arrived, when not today (taken as midday UTC that day, which is the same
        /// date in Europe/London all year).
        on: Option<NaiveDate>,
    },
    /// Extend the period, where the law allows; the reason is required.
    Extend {
        /// Why (public interest test on s.43, complex and voluminous…).
        reason: String,
    },
    /// The response was sent to the requester.
    Responded {
        /// UK date it was sent, when not today.
        on: Option<NaiveDate>,
    },
    /// Close the case with an outcome.
    Close {
        /// The outcome, as the ICO's statistics count it.
        outcome: CloseOutcome,
        /// Exemptions or exceptions relied on (required when refused).
        exemptions: Vec<String>,
    },
    /// Reopen a closed or responded case.
    Reopen,
    /// Add a note to the file.
    Note {
        /// The note.
        text: String,
    },
    /// Flag as a possible repeat of an earlier case (FOIA s.14(2)), for a human to judge.
    FlagRepeat {
        /// The earlier case.
        of: CaseRef,
        /// Why it looks like one.
        why: Option<String>,
    },
    /// Flag as possibly vexatious (FOIA s.14(1)), for a human decision.
    FlagVexatious {
        /// The officer's reason.
        why: String,
    },
}

impl Action {
    /// The audit verb recorded for this action (`assigned`, `closed`…).
    pub fn verb(&self) -> &'static str {
        match self {
            Action::Assign { .. } => "assigned",
            Action::Reclassify { .. } => "reclassified",
            Action::RequestClarification { .. } => "clarification_requested",
            Action::RequestId { .. } => "id_requested",
            Action::RequestFee { .. } => "fee_requested",
            Action::RecordAnswer { .. } => "answer_recorded",
            Action::Extend { .. } => "extended",
            Action::Responded { .. } => "responded",
            Action::Close { .. } => "closed",
            Action::Reopen => "reopened",
            Action::Note { .. } => "note",
            Action::FlagRepeat { .. } => "flagged_repeat",
            Action::FlagVexatious { .. } => "flagged_vexatious",
        }
    }

    /// What the action does, in words for error messages ("ask for clarification").
    fn words(&self) -> &'static str {
        match self {
            Action::Assign { .. } => "assign it",
            Action::Reclassify { .. } => "re-classify it",
            Action::RequestClarification { .. } => "ask for clarification",
            Action::RequestId { .. } => "ask for proof of identity",
            Action::RequestFee { .. } => "ask for a fee",
            Action::RecordAnswer { .. } => "record an answer",
            Action::Extend { .. } => "extend it",
            Action::Responded { .. } => "record a response",
            Action::Close { .. } => "close it",
            Action::Reopen => "reopen it",
            Action::Note { .. } => "add a note",
            Action::FlagRepeat { .. } => "flag it as a repeat",
            Action::FlagVexatious { .. } => "flag it as vexatious",
        }
    }

    /// Whether the action changes the clock, so a due date that cannot be computed is an error
    /// rather than something to audit and carry on from.
    fn moves_clock(&self) -> bool {
        matches!(
            self,
            Action::Reclassify { .. }
                | Action::RequestClarification { .. }
                | Action::RequestId { .. }
                | Action::RequestFee { .. }
                | Action::RecordAnswer { .. }
                | Action::Extend { .. }
                | Action::Reopen
        )
    }
}

/// Resolves a staff handle (`alice`) to an address. The routing module's team list provides
/// one; tests and the CLI can pass a closure.
pub trait StaffDirectory {
    /// The address for `handle` (or for an address given as is), `None` when it is nobody we
    /// know: cases are never assigned to strangers.
    fn resolve(&self, handle: &str) -> Option<String>;
}

impl<F: Fn(&str) -> Option<String>> StaffDirectory for F {
    fn resolve(&self, handle: &str) -> Option<String> {
        self(handle)
    }
}

/// The result of a successful action: the new case value and what to append to its audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct Done {
    /// The case after the action (`updated_at` = `now`).
    pub case: Case,
    /// The events to append, in order: the action, then `due_recomputed` or `clock_error` when
    /// the clock moved or could not be computed.
    pub audit: Vec<AuditEvent>,
}

impl Done {
    /// The store change recording this action on `original` (the copy it was applied to, which
    /// the store checks is still current).
    pub fn into_change(self, original: &Case) -> crate::model::change::Change {
        let target = crate::model::change::CaseTarget::Existing(original.reference.clone());
        crate::model::change::Change {
            case_updates: vec![crate::model::change::CaseUpdate {
                case: self.case,
                expected: Some(original.clone()),
            }],
            audit: crate::model::change::AuditAppend::all(&target, self.audit),
            ..crate::model::change::Change::default()
        }
    }
}

/// Why an action was refused. Every message names the case and says what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// The case is closed: only a note, a flag or reopening is possible.
    #[error("{reference} is closed; reopen it first")]
    Closed {
        /// The case.
        reference: CaseRef,
    },
    /// The response was sent: the clock no longer matters.
    #[error("{reference} has already been responded to, so you cannot {what}; reopen it first")]
    AlreadyResponded {
        /// The case.
        reference: CaseRef,
        /// The refused action, in words.
        what: &'static str,
    },
    /// A clock stop was asked while another is pending.
    #[error(
        "{reference} is already waiting for {waiting}; record the answer with #answer before you {what}"
    )]
    AlreadyWaiting {
        /// The case.
        reference: CaseRef,
        /// What it waits for.
        waiting: &'static str,
        /// The refused action, in words.
        what: &'static str,
    },
    /// `#answer` on a case that waits for nothing.
    #[error(
        "{reference} is not waiting for anything from the requester (it is {state}); there is no answer to record"
    )]
    NotWaiting {
        /// The case.
        reference: CaseRef,
        /// Its state.
        state: CaseState,
    },
    /// The kind has no clock stops (local policy) or no clock at all.
    #[error(
        "{reference} ({kind}) runs on a local-policy timescale, which the law gives no clock stops, so you cannot {what}; add a #note instead"
    )]
    NoClockStops {
        /// The case.
        reference: CaseRef,
        /// Its kind.
        kind: Kind,
        /// The refused action, in words.
        what: &'static str,
    },
    /// Proof of identity outside subject access.
    #[error(
        "{reference} ({kind}) is not a subject access request: proof of identity can only be asked for those (UK GDPR Art 12(6)); FOI and EIR requests are applicant-blind"
    )]
    IdOnlyForSar {
        /// The case.
        reference: CaseRef,
        /// Its kind.
        kind: Kind,
    },
    /// The law allows no extension here.
    #[error("{reference} cannot be extended: {reason}")]
    ExtensionNotAllowed {
        /// The case.
        reference: CaseRef,
        /// The regime.
        regime: Regime,
        /// Why, with the legal source.
        reason: String,
    },
    /// Already extended once.
    #[error("{reference} has already been extended ({kind}); the law allows one extension")]
    AlreadyExtended {
        /// The case.
        reference: CaseRef,
        /// The extension on record.
        kind: ExtensionKind,
    },
    /// A reason or text is required and was empty.
    #[error("{reference}: {what} needs a reason or text")]
    MissingText {
        /// The case.
        reference: CaseRef,
        /// The action, in words.
        what: &'static str,
    },
    /// A note or reason longer than [`MAX_TEXT_CHARS`].
    #[error(
        "{reference}: the text is {chars} characters long, at most {max} are kept; put long text in the case file"
    )]
    TextTooLong {
        /// The case.
        reference: CaseRef,
        /// Characters given.
        chars: usize,
        /// [`MAX_TEXT_CHARS`].
        max: usize,
    },
    /// The handle is nobody on the staff list.
    #[error(
        "{reference}: no member of staff is known as {handle:?}; use a handle or address from the team list"
    )]
    UnknownStaff {
        /// The case.
        reference: CaseRef,
        /// The handle given.
        handle: String,
    },
    /// The action would change nothing.
    #[error("{reference}: nothing to do, {what}")]
    Unchanged {
        /// The case.
        reference: CaseRef,
        /// Why nothing changes.
        what: String,
    },
    /// The exemptions do not fit the outcome.
    #[error("{reference}: {problem}")]
    Exemptions {
        /// The case.
        reference: CaseRef,
        /// What is wrong and how to write it.
        problem: &'static str,
    },
    /// `lapsed` on a case that was not waiting for the requester.
    #[error(
        "{reference} can only lapse while it waits for clarification, proof of identity or a fee; it is {state}"
    )]
    CannotLapse {
        /// The case.
        reference: CaseRef,
        /// Its state.
        state: CaseState,
    },
    /// `#reopen` on a live case.
    #[error("{reference} is {state}, not closed or responded; there is nothing to reopen")]
    NotClosed {
        /// The case.
        reference: CaseRef,
        /// Its state.
        state: CaseState,
    },
    /// Re-classification as `auto`.
    #[error(
        "{reference} cannot be re-classified as auto: machine mail is not a case; close it as withdrawn instead"
    )]
    NotACaseKind {
        /// The case.
        reference: CaseRef,
    },
    /// A case flagged as a repeat of itself.
    #[error("{reference} cannot be a repeat of itself")]
    SelfRepeat {
        /// The case.
        reference: CaseRef,
    },
    /// A date outside what can be true.
    #[error("{reference}: {date} is {problem}")]
    BadDate {
        /// The case.
        reference: CaseRef,
        /// The date given.
        date: NaiveDate,
        /// Why it cannot be right.
        problem: String,
    },
    /// The new due date cannot be computed.
    #[error("{reference}: the due date cannot be computed after this change: {source}")]
    Clock {
        /// The case.
        reference: CaseRef,
        /// The deadline engine's reason.
        source: DeadlineError,
    },
}

/// Applies one staff action to a case.
///
/// `actor` is the staff member's address (the audit's "who"), `why` their reason in words (may be
/// empty: a description of the action is recorded instead), `now` the time of the action, `ctx`
/// the regime, calendar and deadline options, `staff` resolves handles for [`Action::Assign`].
///
/// # Errors
/// [`ActionError`] when the action is not possible in the case's state or under its law; the case
/// is then unchanged and nothing is to be audited by this function (the caller audits refused
/// commands received by email).
pub fn apply(
    case: &Case,
    action: &Action,
    actor: &str,
    why: &str,
    now: DateTime<Utc>,
    ctx: &Context,
    staff: &dyn StaffDirectory,
) -> Result<Done, ActionError> {
    check_state(case, action)?;
    let mut next = case.clone();
    next.updated_at = now;
    let Changed {
        detail,
        default_why,
        settle,
    } = change(case, action, actor, now, ctx, staff, &mut next)?;

    let mut audit = vec![AuditEvent {
        at: now,
        actor: actor.to_string(),
        action: action.verb().to_string(),
        detail: with_state(detail, case.state),
        why: if why.trim().is_empty() {
            default_why
        } else {
            why.trim().to_string()
        },
    }];
    let moves_clock = action.moves_clock();
    audit.extend(recompute_due(
        case,
        &mut next,
        moves_clock,
        settle,
        actor,
        now,
        ctx,
    )?);
    if next.state != case.state {
        // Record the state change on the action's own event.
        if let Some(first) = audit.first_mut()
            && let Some(obj) = first.detail.as_object_mut()
        {
            obj.insert("new_state".to_string(), json!(next.state));
        }
    }
    Ok(Done { case: next, audit })
}

/// What one action changed, before the clock is recomputed.
struct Changed {
    /// The audit detail: old and new values.
    detail: serde_json::Value,
    /// The audit "why" when the officer gave none.
    default_why: String,
    /// Whether the state follows the recomputed clock (stopped or running) afterwards.
    settle: bool,
}

impl Changed {
    fn new(detail: serde_json::Value, default_why: String) -> Changed {
        Changed {
            detail,
            default_why,
            settle: false,
        }
    }

    fn settling(mut self, settle: bool) -> Changed {
        self.settle = settle;
        self
    }
}

/// Applies the action itself to `next`, by family: what moves the clock, what changes the
/// state, and what only adds to the file.
fn change(
    case: &Case,
    action: &Action,
    actor: &str,
    now: DateTime<Utc>,
    ctx: &Context,
    staff: &dyn StaffDirectory,
    next: &mut Case,
) -> Result<Changed, ActionError> {
    let regime = ctx.case_regime(case);
    match action {
        Action::Reclassify { kind } => reclassify(case, *kind, regime, ctx, actor, now, next),
        Action::RequestClarification { text }
        | Action::RequestId { text }
        | Action::RequestFee { text } => {
            request_from_requester(case, action, text.as_deref(), regime, now, next)
        }
        Action::RecordAnswer { on } => record_answer(case, *on, regime, now, next),
        Action::Extend { reason } => extend(case, action, reason, regime, now, next),
        Action::Responded { on } => responded(case, *on, now, next),
        Action::Close {
            outcome,
            exemptions,
        } => close(case, *outcome, exemptions, now, next),
        Action::Reopen => Ok(reopen(case, next)),
        Action::Assign { to } => assign(case, to, staff, next),
        Action::Note { text } => {
            let text = required_text(&case.reference, text, "a note")?;
            Ok(Changed::new(json!({"text": text}), text))
        }
        Action::FlagRepeat { of, why } => flag_repeat(case, of, why.as_deref(), next),
        Action::FlagVexatious { why } => flag_vexatious(case, why, next),
    }
}

// ---- actions that move the clock ---------------------------------------------------------------

fn reclassify(
    case: &Case,
    kind: Kind,
    regime: Option<Regime>,
    ctx: &Context,
    actor: &str,
    now: DateTime<Utc>,
    next: &mut Case,
) -> Result<Changed, ActionError> {
    let reference = case.reference.clone();
    if kind == Kind::Auto {
        return Err(ActionError::NotACaseKind { reference });
    }
    if kind == case.kind {
        return Err(ActionError::Unchanged {
            reference,
            what: format!("it is already {kind}"),
        });
    }
    let new_regime = ctx.regime(kind);
    let (kept, dropped) = translate_events(&case.clock_events, new_regime);
    next.kind = kind;
    next.clock_events = kept;
    // An internal review is a complaint: a case re-classified away from it is no review.
    next.workflow.internal_review = None;
    next.workflow.correction = correction(case, kind, actor, now);
    let detail = json!({
        "old": case.kind,
        "new": kind,
        "internal_review_dropped": case.workflow.internal_review.is_some(),
        "old_regime": regime.map(|r| r.to_string()),
        "new_regime": new_regime.map(|r| r.to_string()),
        "dropped_clock_events": dropped,
        "correction": correction_word(case, next),
    });
    let default_why = if dropped.is_empty() {
        format!("re-classified from {} to {kind}", case.kind)
    } else {
        format!(
            "re-classified from {} to {kind}; clock events that do not exist under the new law were dropped: {}",
            case.kind,
            dropped
                .iter()
                .map(|e| e.name())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    Ok(Changed::new(detail, default_why).settling(!case.state.is_finished()))
}

/// The correction a case re-classified as `kind` carries: what the rules said (the first
/// correction's record of it, else the case's kind, which is the rules' until an officer changes
/// it), with who and when; none when the officer's kind is the rules' again.
///
/// This is the one place a correction is recorded: every way of re-classifying (email command,
/// command line, later the dashboard) applies [`Action::Reclassify`] here, and the store writes
/// the case with the rest of the change.
fn correction(case: &Case, kind: Kind, by: &str, at: DateTime<Utc>) -> Option<Correction> {
    let rules_said = case
        .workflow
        .correction
        .as_ref()
        .map_or(case.kind, |c| c.rules_said);
    (kind != rules_said).then(|| Correction {
        rules_said,
        by: by.to_string(),
        at,
    })
}

/// What a re-classification did to the case's correction sample, for the audit: the first
/// message is kept (personal data), replaced, or removed.
fn correction_word(case: &Case, next: &Case) -> Option<&'static str> {
    match (&case.workflow.correction, &next.workflow.correction) {
        (None, Some(_)) => Some("kept"),
        (Some(_), Some(_)) => Some("replaced"),
        (Some(_), None) => Some("removed"),
        (None, None) => None,
    }
}

/// A request for clarification, proof of identity or a fee: the clock stops.
fn request_from_requester(
    case: &Case,
    action: &Action,
    text: Option<&str>,
    regime: Option<Regime>,
    now: DateTime<Utc>,
    next: &mut Case,
) -> Result<Changed, ActionError> {
    let text = optional_text(&case.reference, text)?;
    let event = stop_event(case, action, regime, now)?;
    next.clock_events.push(event);
    Ok(Changed::new(
        json!({"event": event.name(), "text": text}),
        format!("{} ({})", action.words(), event.name()),
    )
    .settling(true))
}

fn record_answer(
    case: &Case,
    on: Option<NaiveDate>,
    regime: Option<Regime>,
    now: DateTime<Utc>,
    next: &mut Case,
) -> Result<Changed, ActionError> {
    let (event, asked_at) = answer_event(case, regime, now, on)?;
    next.clock_events.push(event);
    Ok(Changed::new(
        json!({"event": event.name(), "at": event.at(), "asked_at": asked_at}),
        format!("the answer arrived ({})", event.name()),
    )
    .settling(true))
}

fn extend(
    case: &Case,
    action: &Action,
    reason: &str,
    regime: Option<Regime>,
    now: DateTime<Utc>,
    next: &mut Case,
) -> Result<Changed, ActionError> {
    let reference = case.reference.clone();
    let reason = required_text(&reference, reason, "an extension")?;
    if let Some(kind) = case.clock_events.iter().find_map(|e| match e {
        ClockEvent::Extension(x) => Some(x.kind),
        _ => None,
    }) {
        return Err(ActionError::AlreadyExtended { reference, kind });
    }
    let Some(regime) = regime else {
        return Err(no_stops(case, action));
    };
    let kind = ExtensionKind::for_regime(regime).map_err(|e| match e {
        DeadlineError::ExtensionNotAllowed { reason, .. } => ActionError::ExtensionNotAllowed {
            reference: reference.clone(),
            regime,
            reason: reason.to_string(),
        },
        other => ActionError::Clock {
            reference: reference.clone(),
            source: other,
        },
    })?;
    // Recording the extension is taken as the moment the requester was told: the engine then
    // warns if that was after the notice deadline (s.17 notice, reg 7, Art 12(3)).
    next.clock_events.push(ClockEvent::Extension(Extension {
        kind,
        notified_at: Some(now),
    }));
    Ok(Changed::new(
        json!({"extension": kind, "regime": regime.to_string(), "reason": reason}),
        format!("{kind}: {reason}"),
    ))
}

// ---- actions that change the state -------------------------------------------------------------

fn responded(
    case: &Case,
    on: Option<NaiveDate>,
    now: DateTime<Utc>,
    next: &mut Case,
) -> Result<Changed, ActionError> {
    let at = dated(case, on, case.received_at, now)?;
    next.workflow.responded_at = Some(at);
    next.state = CaseState::Responded;
    Ok(Changed::new(
        json!({"old_state": case.state, "responded_at": at, "due": case.due,
               "on_time": case.due.map(|d| deadline::local_date(at).is_ok_and(|l| l <= d))}),
        "the response was sent to the requester".to_string(),
    ))
}

fn close(
    case: &Case,
    outcome: CloseOutcome,
    exemptions: &[String],
    now: DateTime<Utc>,
    next: &mut Case,
) -> Result<Changed, ActionError> {
    let exemptions = check_exemptions(case, outcome, exemptions)?;
    let responds = matches!(
        outcome,
        CloseOutcome::ProvidedInFull
            | CloseOutcome::ProvidedInPart
            | CloseOutcome::Refused
            | CloseOutcome::NotHeld
    );
    let set_responded = responds && case.workflow.responded_at.is_none();
    if set_responded {
        next.workflow.responded_at = Some(now);
    }
    next.workflow.closure = Some(Closure {
        outcome,
        exemptions: exemptions.clone(),
        at: now,
    });
    next.state = CaseState::Closed;
    let default_why = if exemptions.is_empty() {
        format!("closed: {}", outcome.as_str())
    } else {
        format!("closed: {} ({})", outcome.as_str(), exemptions.join(", "))
    };
    Ok(Changed::new(
        json!({"old_state": case.state, "outcome": outcome, "exemptions": exemptions,
               "responded_at_set": set_responded.then_some(now)}),
        default_why,
    ))
}

fn reopen(case: &Case, next: &mut Case) -> Changed {
    next.workflow.closure = None;
    next.workflow.responded_at = None;
    Changed::new(
        json!({"old_state": case.state, "old_closure": case.workflow.closure,
               "old_responded_at": case.workflow.responded_at}),
        format!("reopened (was {})", case.state),
    )
    .settling(true)
}

// ---- actions on the file: assignment and flags -------------------------------------------------

fn assign(
    case: &Case,
    to: &str,
    staff: &dyn StaffDirectory,
    next: &mut Case,
) -> Result<Changed, ActionError> {
    let address = staff
        .resolve(to.trim())
        .ok_or_else(|| ActionError::UnknownStaff {
            reference: case.reference.clone(),
            handle: to.to_string(),
        })?;
    if case
        .assignee
        .as_deref()
        .is_some_and(|a| a.eq_ignore_ascii_case(&address))
    {
        return Err(ActionError::Unchanged {
            reference: case.reference.clone(),
            what: format!("it is already assigned to {address}"),
        });
    }
    next.assignee = Some(address.clone());
    Ok(Changed::new(
        json!({"old": case.assignee, "new": address, "handle": to}),
        format!("assigned to {address}"),
    ))
}

fn flag_repeat(
    case: &Case,
    of: &CaseRef,
    why: Option<&str>,
    next: &mut Case,
) -> Result<Changed, ActionError> {
    let reference = case.reference.clone();
    if *of == reference {
        return Err(ActionError::SelfRepeat { reference });
    }
    let reason = optional_text(&reference, why)?;
    if case
        .workflow
        .flags
        .iter()
        .any(|f| matches!(f, Flag::PossibleRepeat { of: o, .. } if o == of))
    {
        return Err(ActionError::Unchanged {
            reference,
            what: format!("it is already flagged as a possible repeat of {of}"),
        });
    }
    let reason = reason.unwrap_or_else(|| "flagged by staff".to_string());
    next.workflow.flags.push(Flag::PossibleRepeat {
        of: of.clone(),
        why: reason.clone(),
    });
    Ok(Changed::new(
        json!({"of": of, "why": reason}),
        format!("possible repeat of {of} (FOIA s.14(2)), for a human to judge"),
    ))
}

fn flag_vexatious(case: &Case, why: &str, next: &mut Case) -> Result<Changed, ActionError> {
    let reference = case.reference.clone();
    let reason = required_text(&reference, why, "a vexatious flag")?;
    if case
        .workflow
        .flags
        .iter()
        .any(|f| matches!(f, Flag::Vexatious { .. }))
    {
        return Err(ActionError::Unchanged {
            reference,
            what: "it is already flagged as possibly vexatious".to_string(),
        });
    }
    next.workflow.flags.push(Flag::Vexatious {
        why: reason.clone(),
    });
    Ok(Changed::new(
        json!({"why": reason}),
        format!("possibly vexatious (FOIA s.14(1)), for a human decision: {reason}"),
    ))
}

// ---- the clock after any action ----------------------------------------------------------------

/// Recomputes the due date from `received_at` and the clock events (never set by hand) and
/// returns the audit event saying how it moved, if it did. When the clock cannot be computed,
/// an action that moves it is refused, but anything else is kept with a `clock_error` event.
fn recompute_due(
    case: &Case,
    next: &mut Case,
    moves_clock: bool,
    settle: bool,
    actor: &str,
    now: DateTime<Utc>,
    ctx: &Context,
) -> Result<Option<AuditEvent>, ActionError> {
    let computed = ctx.case_regime(next).map(|regime| {
        deadline::compute(
            &ClockInput {
                regime,
                region: ctx.region,
                received_at: next.received_at,
                events: next.clock_events.clone(),
            },
            &ctx.calendar,
            &ctx.options,
        )
    });
    let outcome = match computed {
        None => {
            next.due = None;
            return Ok(None);
        }
        Some(Ok(outcome)) => outcome,
        Some(Err(source)) => {
            if moves_clock {
                return Err(ActionError::Clock {
                    reference: case.reference.clone(),
                    source,
                });
            }
            // A note or a flag must never be blocked by a clock that was already broken: keep the
            // stored date and say so.
            return Ok(Some(AuditEvent {
                at: now,
                actor: actor.to_string(),
                action: "clock_error".to_string(),
                detail: json!({"error": source.to_string(), "due_kept": case.due}),
                why: "the due date could not be recomputed; the stored one is kept and an officer must check it".to_string(),
            }));
        }
    };
    next.due = outcome.due();
    if settle {
        next.state = settled_state(case.state, &outcome.clock);
    }
    if next.due == case.due && next.clock_events == case.clock_events {
        return Ok(None);
    }
    let notice_late = match outcome.clock {
        ClockState::Running {
            notice: Some(n), ..
        } => Some(n.late),
        _ => None,
    };
    Ok(Some(AuditEvent {
        at: now,
        actor: actor.to_string(),
        action: "due_recomputed".to_string(),
        detail: json!({
            "old_due": case.due,
            "due": next.due,
            "regime": outcome.regime.to_string(),
            "clock": outcome.clock,
            "notice_late": notice_late,
        }),
        why: outcome.explanation.join(" "),
    }))
}

/// Adds the state before the action to an event's detail.
fn with_state(mut detail: serde_json::Value, state: CaseState) -> serde_json::Value {
    if let Some(obj) = detail.as_object_mut() {
        obj.entry("old_state").or_insert(json!(state));
    }
    detail
}

/// Which actions each state allows, before anything else is looked at.
fn check_state(case: &Case, action: &Action) -> Result<(), ActionError> {
    let reference = || case.reference.clone();
    let always = matches!(
        action,
        Action::Note { .. } | Action::FlagRepeat { .. } | Action::FlagVexatious { .. }
    );
    match (case.state, action) {
        (_, _) if always => Ok(()),
        (CaseState::Closed | CaseState::Responded, Action::Reopen) => Ok(()),
        (state, Action::Reopen) => Err(ActionError::NotClosed {
            reference: reference(),
            state,
        }),
        (CaseState::Closed, _) => Err(ActionError::Closed {
            reference: reference(),
        }),
        (
            CaseState::Responded,
            Action::RequestClarification { .. }
            | Action::RequestId { .. }
            | Action::RequestFee { .. }
            | Action::RecordAnswer { .. }
            | Action::Extend { .. }
            | Action::Responded { .. },
        ) => Err(ActionError::AlreadyResponded {
            reference: reference(),
            what: action.words(),
        }),
        _ => Ok(()),
    }
}

fn waiting_words(state: CaseState) -> Option<&'static str> {
    match state {
        CaseState::AwaitingClarification => Some("clarification"),
        CaseState::AwaitingId => Some("proof of identity"),
        CaseState::AwaitingFee => Some("a fee"),
        _ => None,
    }
}

fn no_stops(case: &Case, action: &Action) -> ActionError {
    ActionError::NoClockStops {
        reference: case.reference.clone(),
        kind: case.kind,
        what: action.words(),
    }
}

/// The clock event for a request to the requester, as the case's law names it.
fn stop_event(
    case: &Case,
    action: &Action,
    regime: Option<Regime>,
    now: DateTime<Utc>,
) -> Result<ClockEvent, ActionError> {
    if let Some(waiting) = waiting_words(case.state) {
        return Err(ActionError::AlreadyWaiting {
            reference: case.reference.clone(),
            waiting,
            what: action.words(),
        });
    }
    let regime = match regime {
        None | Some(Regime::Policy { .. }) => return Err(no_stops(case, action)),
        Some(r) => r,
    };
    Ok(match action {
        Action::RequestId { .. } if regime != Regime::Sar => {
            return Err(ActionError::IdOnlyForSar {
                reference: case.reference.clone(),
                kind: case.kind,
            });
        }
        Action::RequestId { .. } => ClockEvent::IdRequested(now),
        Action::RequestFee { .. } => ClockEvent::FeeNotice(now),
        // EIR reg 9(2) / EIR(S) reg 9(2): "further particulars", same restart as a clarification.
        _ if is_environmental(regime) => ClockEvent::ParticularsRequested(now),
        _ => ClockEvent::ClarificationRequested(now),
    })
}

fn is_environmental(regime: Regime) -> bool {
    matches!(regime, Regime::Eir | Regime::EirScotland)
}

/// Builds a clock event at an instant (`ClockEvent::IdReceived`…).
type MakeEvent = fn(DateTime<Utc>) -> ClockEvent;

/// The answer event for what the case waits for, and when that was asked.
fn answer_event(
    case: &Case,
    regime: Option<Regime>,
    now: DateTime<Utc>,
    on: Option<NaiveDate>,
) -> Result<(ClockEvent, Option<DateTime<Utc>>), ActionError> {
    let not_waiting = || ActionError::NotWaiting {
        reference: case.reference.clone(),
        state: case.state,
    };
    let asked = |want: fn(&ClockEvent) -> bool| {
        case.clock_events
            .iter()
            .rev()
            .find(|e| want(e))
            .and_then(ClockEvent::at)
    };
    let (asked_at, make): (Option<DateTime<Utc>>, MakeEvent) = match case.state {
        CaseState::AwaitingId => (
            asked(|e| matches!(e, ClockEvent::IdRequested(_))),
            ClockEvent::IdReceived,
        ),
        CaseState::AwaitingFee => (
            asked(|e| matches!(e, ClockEvent::FeeNotice(_))),
            ClockEvent::FeeReceived,
        ),
        CaseState::AwaitingClarification => (
            asked(|e| {
                matches!(
                    e,
                    ClockEvent::ClarificationRequested(_) | ClockEvent::ParticularsRequested(_)
                )
            }),
            if regime.is_some_and(is_environmental) {
                ClockEvent::ParticularsReceived
            } else {
                ClockEvent::ClarificationReceived
            },
        ),
        _ => return Err(not_waiting()),
    };
    let from = asked_at.unwrap_or(case.received_at);
    Ok((make(dated(case, on, from, now)?), asked_at))
}

/// The instant for something that happened `on` a UK date (today when `None`): midday UTC, which
/// is the same date in Europe/London all year, kept between `from` and `now` so that it sorts
/// after what it answers and is never in the future.
fn dated(
    case: &Case,
    on: Option<NaiveDate>,
    from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, ActionError> {
    let Some(on) = on else {
        return Ok(now.max(from));
    };
    let bad = |problem: String| ActionError::BadDate {
        reference: case.reference.clone(),
        date: on,
        problem,
    };
    let today = deadline::local_date(now).map_err(|e| bad(e.to_string()))?;
    let first = deadline::local_date(from).map_err(|e| bad(e.to_string()))?;
    if on > today {
        return Err(bad(format!("in the future (today is {today})")));
    }
    if on < first {
        return Err(bad(format!(
            "before {first}, when the request or the question was sent"
        )));
    }
    let midday = on.and_time(NaiveTime::MIN) + chrono::Duration::hours(12);
    Ok(midday.and_utc().clamp(from, now.max(from)))
}

fn settled_state(old: CaseState, clock: &ClockState) -> CaseState {
    match clock {
        ClockState::Stopped { reason, .. } => match reason {
            StopReason::AwaitingClarification => CaseState::AwaitingClarification,
            StopReason::AwaitingFee => CaseState::AwaitingFee,
            StopReason::AwaitingId => CaseState::AwaitingId,
        },
        // A case not yet checked stays so until someone works on it.
        ClockState::Running { .. } if old == CaseState::Received => CaseState::Received,
        ClockState::Running { .. } => CaseState::Open,
    }
}

/// The clock events that still mean something under `to`, renamed where the law only names them
/// differently (clarification ↔ further particulars), and those that do not.
fn translate_events(
    events: &[ClockEvent],
    to: Option<Regime>,
) -> (Vec<ClockEvent>, Vec<ClockEvent>) {
    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    for &e in events {
        let mapped = match (to, e) {
            (None | Some(Regime::Policy { .. }), _) => None,
            (Some(r), ClockEvent::ClarificationRequested(t)) if is_environmental(r) => {
                Some(ClockEvent::ParticularsRequested(t))
            }
            (Some(r), ClockEvent::ClarificationReceived(t)) if is_environmental(r) => {
                Some(ClockEvent::ParticularsReceived(t))
            }
            (Some(r), ClockEvent::ParticularsRequested(t)) if !is_environmental(r) => {
                Some(ClockEvent::ClarificationRequested(t))
            }
            (Some(r), ClockEvent::ParticularsReceived(t)) if !is_environmental(r) => {
                Some(ClockEvent::ClarificationReceived(t))
            }
            (Some(r), ClockEvent::IdRequested(_) | ClockEvent::IdReceived(_))
                if r != Regime::Sar =>
            {
                None
            }
            // An extension is granted under one law; another law's is a new decision.
            (Some(r), ClockEvent::Extension(x)) => {
                (ExtensionKind::for_regime(r).ok() == Some(x.kind)).then_some(e)
            }
            (Some(_), e) => Some(e),
        };
        match mapped {
            Some(m) => kept.push(m),
            None => dropped.push(e),
        }
    }
    (kept, dropped)
}

fn check_text(reference: &CaseRef, text: &str) -> Result<String, ActionError> {
    let t = text.trim();
    let chars = t.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(ActionError::TextTooLong {
            reference: reference.clone(),
            chars,
            max: MAX_TEXT_CHARS,
        });
    }
    Ok(t.to_string())
}

fn optional_text(reference: &CaseRef, text: Option<&str>) -> Result<Option<String>, ActionError> {
    match text {
        None => Ok(None),
        Some(t) => Ok(Some(check_text(reference, t)?).filter(|t| !t.is_empty())),
    }
}

fn required_text(
    reference: &CaseRef,
    text: &str,
    what: &'static str,
) -> Result<String, ActionError> {
    let t = check_text(reference, text)?;
    if t.is_empty() {
        return Err(ActionError::MissingText {
            reference: reference.clone(),
            what,
        });
    }
    Ok(t)
}

fn check_exemptions(
    case: &Case,
    outcome: CloseOutcome,
    exemptions: &[String],
) -> Result<Vec<String>, ActionError> {
    let problem = |problem| ActionError::Exemptions {
        reference: case.reference.clone(),
        problem,
    };
    let mut list: Vec<String> = Vec::new();
    for e in exemptions {
        let e = check_text(&case.reference, e)?;
        if !e.is_empty() && !list.contains(&e) {
            list.push(e);
        }
    }
    match outcome {
        CloseOutcome::Refused if list.is_empty() => Err(problem(
            "a refusal must name the exemption(s) or exception(s) relied on (FOIA s.17, EIR reg 14), e.g. #close refused s.40(2) s.43",
        )),
        CloseOutcome::Refused | CloseOutcome::ProvidedInPart => Ok(list),
        _ if !list.is_empty() => Err(problem(
            "exemptions only go with a refusal or a part release (#close refused … or #close part …)",
        )),
        CloseOutcome::Lapsed if waiting_words(case.state).is_none() => {
            Err(ActionError::CannotLapse {
                reference: case.reference.clone(),
                state: case.state,
            })
        }
        _ => Ok(list),
    }
}

#[cfg(test)]
mod tests;
