//! Routing a case to a team (and maybe a person) and the assignment email: pure.
//!
//! The app reads the facts ([`AssignFacts`]: the round-robin counters, the requester's other
//! cases, whether the raw request is stored) and applies the [`Change`] with the rendered
//! [`Letter`]s in one transaction, so the counter moves exactly when the assignment is recorded.
//!
//! Decisions (each audited on the case):
//! - The first routing pass (counter 0) names the team; the team's round-robin counter then picks
//!   the member, and is incremented only when round robin was used.
//! - Earlier requests from the same address that look like this one are flagged for a person to
//!   judge (`possible_repeat`); nothing is refused.
//! - The assignment email goes to the assignee and the team inbox, or else the team manager; with
//!   nobody to write to, the case is routed and no mail is planned.

use crate::core::deadline;
use crate::core::plan::letter::{AssignmentLetter, Letter, LetterBody};
use crate::core::plan::office::Office;
use crate::core::repeat::{Candidate, Fingerprint, PossibleRepeat, find_repeats};
use crate::core::routing::RouteDecision;
use crate::core::triage::Context;
use crate::model::case::{AuditEvent, Case, Flag};
use crate::model::change::{AuditAppend, CaseTarget, CaseUpdate, Change, Mark};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use std::collections::BTreeMap;

/// What the app read from the store for one assignment.
#[derive(Debug, Clone, Copy)]
pub struct AssignFacts<'a> {
    /// The case to route, as stored.
    pub case: &'a Case,
    /// The request's text (routes match the subject and the body).
    pub body: &'a str,
    /// Round-robin counters by team id (the `rr/<team>` marks); a missing team counts from 0.
    pub counters: &'a BTreeMap<String, u64>,
    /// The requester's other cases (looked up by address, not a scan of every case).
    pub earlier: &'a [Case],
    /// Whether the raw request is in the store, to attach to the assignment email.
    pub original_stored: bool,
}

/// Mark prefix of the round-robin counters (`rr/<team>`: the next member's index).
pub const COUNTER_MARKS: &str = "rr/";

/// The mark key of a team's round-robin counter.
pub fn counter_key(team: &str) -> String {
    format!("{COUNTER_MARKS}{team}")
}

/// Routes a case (new, or left unrouted by a crash) and plans the assignment email. An empty
/// change when routing has no decision (`auto` mail).
pub fn plan_assign(
    office: &Office<'_>,
    ctx: &Context,
    facts: &AssignFacts<'_>,
    now: DateTime<Utc>,
    ids: &mut dyn FnMut() -> String,
) -> (Change, Vec<Letter>) {
    let case = facts.case;
    let routing = office.routing;
    let Some(first) = routing.route(case.kind, &case.subject, facts.body, 0) else {
        return (Change::default(), Vec::new());
    };
    let counter = facts.counters.get(&first.team).copied().unwrap_or(0);
    let d = routing
        .route(case.kind, &case.subject, facts.body, counter)
        .unwrap_or(first);
    let mut updated = case.clone();
    updated.team = Some(d.team.clone());
    updated.assignee = d.assignee.clone();
    updated.updated_at = now;
    let repeats = flag_repeats(office, &mut updated, facts, now);
    let mut change = Change {
        case_updates: vec![CaseUpdate {
            case: updated.clone(),
            expected: Some(case.clone()),
        }],
        ..Change::default()
    };
    if d.used_round_robin {
        change.marks.push(Mark {
            key: counter_key(&d.team),
            value: json!(counter + 1),
        });
    }
    let target = CaseTarget::Existing(case.reference.clone());
    let mut audit: Vec<AuditEvent> = repeats.iter().map(|r| repeat_event(r, now)).collect();
    audit.push(AuditEvent::system(
        now,
        "routed",
        json!({"team": d.team, "assignee": d.assignee, "rule": d.rule, "also_matched": d.also_matched}),
        d.why.clone(),
    ));
    let mut letters = Vec::new();
    let to = recipients(office, &d);
    if !to.is_empty() {
        letters.push(assignment_letter(office, ctx, &updated, &d, to, facts, ids));
        audit.push(AuditEvent::system(
            now,
            "assignment_mail_queued",
            json!({"team": d.team, "assignee": d.assignee}),
            "assignment email queued".into(),
        ));
    }
    change.audit = AuditAppend::all(&target, audit);
    (change, letters)
}

fn repeat_event(r: &PossibleRepeat, now: DateTime<Utc>) -> AuditEvent {
    AuditEvent::system(
        now,
        "possible_repeat",
        json!({"of": r.reference, "score": r.score, "reasons": r.reasons}),
        format!("{} (for a person to judge; nothing was refused)", r.why),
    )
}

/// The assignee and the team inbox; else the team manager.
fn recipients(office: &Office<'_>, d: &RouteDecision) -> Vec<String> {
    let mut to: Vec<String> = d.assignee.iter().cloned().collect();
    if let Some(inbox) = office.routing.team(&d.team).and_then(|t| t.inbox.clone()) {
        to.push(inbox);
    }
    if to.is_empty()
        && let Some(m) = office.routing.manager_of(&d.team)
    {
        to.push(m.to_string());
    }
    to
}

fn candidate(case: &Case, fingerprint: Fingerprint) -> Candidate {
    Candidate {
        reference: case.reference.clone(),
        kind: case.kind,
        received_at: case.received_at,
        address: case.requester.email.clone(),
        name: case.requester.name.clone(),
        fingerprint,
    }
}

/// Fingerprints the request and flags earlier requests from the same address that look like it
/// (or the same issue by another route).
fn flag_repeats(
    office: &Office<'_>,
    case: &mut Case,
    facts: &AssignFacts<'_>,
    now: DateTime<Utc>,
) -> Vec<PossibleRepeat> {
    let fp = Fingerprint::of(&format!("{}\n{}", case.subject, facts.body));
    case.workflow.fingerprint = Some(fp.clone());
    let earlier: Vec<Candidate> = facts
        .earlier
        .iter()
        .filter(|c| c.reference != case.reference)
        .filter_map(|c| Some(candidate(c, c.workflow.fingerprint.clone()?)))
        .collect();
    let s = &office.settings.repeats;
    let found: Vec<_> = find_repeats(
        &candidate(case, fp),
        &earlier,
        now,
        s.window_months,
        s.threshold,
    )
    .into_iter()
    .filter(|r| r.same_person())
    .collect();
    for r in &found {
        case.workflow.flags.push(Flag::PossibleRepeat {
            of: r.reference.clone(),
            why: r.why.clone(),
        });
    }
    found
}

/// The internal "promptly" target of a case whose clock runs.
fn internal_target(ctx: &Context, case: &Case) -> Option<NaiveDate> {
    let regime = ctx.regime(case.kind)?;
    let input = deadline::ClockInput {
        regime,
        region: ctx.region,
        received_at: case.received_at,
        events: case.clock_events.clone(),
    };
    match deadline::compute(&input, &ctx.calendar, &ctx.options)
        .ok()?
        .clock
    {
        deadline::ClockState::Running {
            internal_target, ..
        } => internal_target,
        deadline::ClockState::Stopped { .. } => None,
    }
}

fn assignment_letter(
    office: &Office<'_>,
    ctx: &Context,
    case: &Case,
    d: &RouteDecision,
    to: Vec<String>,
    facts: &AssignFacts<'_>,
    ids: &mut dyn FnMut() -> String,
) -> Letter {
    let attach = case
        .content_hashes
        .first()
        .filter(|_| facts.original_stored)
        .cloned();
    let team = office.routing.team(&d.team);
    let reply_to = office.letter_reply_to(&case.reference, &to);
    Letter {
        case: Some(case.reference.clone()),
        to,
        cc: Vec::new(),
        reply_to,
        message_id: ids(),
        in_reply_to: None,
        attach_original: attach.clone(),
        body: LetterBody::Assignment(AssignmentLetter {
            reference: case.reference.clone(),
            kind: case.kind,
            team_name: team.map_or_else(|| d.team.clone(), |t| t.name.clone()),
            received: deadline::local_date(case.received_at).ok(),
            due: case.due,
            internal_target: internal_target(ctx, case),
            state: case.state,
            valid: case.valid,
            missing: case.missing.clone(),
            why: d.why.clone(),
            original_attached: attach.is_some(),
            identity: case.workflow.identity,
            language: case.workflow.language,
        }),
    }
}

#[cfg(test)]
mod tests;
