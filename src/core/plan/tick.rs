//! The scheduler's timed work at `now`, pure: which cases a crash left unrouted, the chasers and
//! digests due, the daily machine-mail list, and when to look again.
//!
//! Each chaser and digest is its own unit (a change with its letters), applied in its own
//! transaction so one failure does not block the rest. The mark that makes it happen once is in
//! the same change as its mail: `chaser/<key>` (when queued), `digest/<team>` (last sent),
//! `machine-mail/listed` (what the machine-mail list covered: in the digest of the team that owns
//! the mailbox, or a unit of its own, see [`machine`]).

use crate::core::chase::{self, Chaser, ChaserKey, Escalation};
use crate::core::digest::{self, Digest, DigestInput, TeamFilter};
use crate::core::plan::letter::{Letter, LetterBody};
use crate::core::plan::machine::{self, ListFacts, ListPlan};
use crate::core::plan::office::Office;
use crate::core::triage::Context;
use crate::model::case::{AuditEvent, Case, CaseRef, Flag};
use crate::model::change::{AuditAppend, CaseTarget, Change, Mark};
use crate::model::kind::Kind;
use crate::model::records::NeedsTriage;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

/// Longest sleep of the scheduler: it re-plans at least this often (15 minutes), so a changed
/// case or a clock jump is noticed without a wake-up.
pub const MAX_SLEEP: std::time::Duration = std::time::Duration::from_secs(900);

/// Mark prefix of the chasers queued.
pub const CHASER_MARKS: &str = "chaser/";
/// Mark prefix of the last digest per team.
pub const DIGEST_MARKS: &str = "digest/";

/// What the app read from the store for one tick.
#[derive(Debug, Clone, Copy)]
pub struct TickFacts<'a> {
    /// The cases the scheduler watches (see [`watched`]).
    pub cases: &'a [Case],
    /// Chasers already queued (the `chaser/` marks).
    pub chasers_sent: &'a BTreeSet<ChaserKey>,
    /// When each team's last digest went out (the `digest/` marks), by team id.
    pub last_digests: &'a BTreeMap<String, DateTime<Utc>>,
    /// Messages intake quarantined for human triage (`core::plan::poison`), oldest first: each
    /// digest lists those since its last one.
    pub needs_triage: &'a [NeedsTriage],
    /// Outbox rows given up on lately ([`digest::failed_mail`]), for the digests.
    pub failed_mail: &'a [digest::FailedMail],
    /// Machine mail written since the last list, and how far the list has gone.
    pub machine_mail: ListFacts<'a>,
}

/// The chasers and digests due at `now`, and when to run next.
#[derive(Debug, Clone, PartialEq)]
pub struct TickPlan {
    /// One unit per chaser and per digest: the change (marks, audit) and its letters.
    pub units: Vec<(Change, Vec<Letter>)>,
    /// When to run next (at least a second from `now`, at most [`MAX_SLEEP`]).
    pub next: DateTime<Utc>,
}

/// The cases the scheduler looks at: every case but machine mail.
pub fn watched(cases: Vec<Case>) -> Vec<Case> {
    cases.into_iter().filter(|c| c.kind != Kind::Auto).collect()
}

/// Open cases without a team (a crash between the case's commit and its routing), imported
/// cases excepted: they are routed by hand.
pub fn unrouted(cases: &[Case]) -> impl Iterator<Item = &Case> {
    cases
        .iter()
        .filter(|c| c.team.is_none() && !c.state.is_finished() && !c.workflow.imported)
}

/// Plans the chasers and digests due at `now`.
pub fn plan_tick(
    office: &Office<'_>,
    ctx: &Context,
    facts: &TickFacts<'_>,
    now: DateTime<Utc>,
    ids: &mut dyn FnMut() -> String,
) -> TickPlan {
    let s = office.settings;
    let (cal, region) = (&ctx.calendar, ctx.region);
    let (cases, sent) = (facts.cases, facts.chasers_sent);
    let chasers = chase::plan_chasers(cases, sent, now, cal, region, &s.chasers);
    let mut units: Vec<(Change, Vec<Letter>)> = chasers
        .iter()
        .map(|ch| chaser_unit(office, ch, now, ids))
        .collect();
    let mut next = now + Duration::from_std(MAX_SLEEP).unwrap_or(Duration::minutes(15));
    let list_team = machine::list_team(office.routing, office.machine_mail);
    let plan_list = |team, digest_now| {
        machine::plan_list(office, team, &facts.machine_mail, digest_now, ctx, now)
    };
    let mut listed = false;
    for team in office.routing.teams() {
        let last = facts.last_digests.get(&team.id).copied();
        if digest::digest_due(now, last, cal, region, &s.digests) {
            let mut d = team_digest(office, ctx, cases, facts.failed_mail, &team.id, last, now);
            d.needs_human_triage = digest::needs_triage_since(facts.needs_triage, d.since);
            let mut marks = vec![Mark {
                key: format!("{DIGEST_MARKS}{}", team.id),
                value: json!(now),
            }];
            if list_team.is_some_and(|t| t.id == team.id) {
                listed = true;
                if let ListPlan::InDigest(lines, mark) = plan_list(team, true) {
                    d.machine_mail = lines;
                    marks.push(mark);
                }
            }
            let letter = Letter {
                case: None,
                to: vec![team.manager.clone()],
                cc: Vec::new(),
                reply_to: None,
                message_id: ids(),
                in_reply_to: None,
                attach_original: None,
                body: LetterBody::Digest(Box::new(d)),
            };
            let change = Change {
                marks,
                ..Change::default()
            };
            units.push((change, vec![letter]));
        } else if let Some(at) = digest::next_digest_at(now, last, cal, region, &s.digests) {
            next = next.min(at);
        }
    }
    if let Some(team) = list_team.filter(|_| !listed) {
        match plan_list(team, false) {
            ListPlan::Wait { next: Some(at) } => next = next.min(at),
            ListPlan::Wait { next: None } | ListPlan::InDigest(..) => {}
            ListPlan::Skip(mark) => units.push((mark_only(mark), Vec::new())),
            ListPlan::OnItsOwn(list, mark) => {
                let letter = Letter {
                    case: None,
                    to: vec![team.manager.clone()],
                    cc: Vec::new(),
                    reply_to: None,
                    message_id: ids(),
                    in_reply_to: None,
                    attach_original: None,
                    body: LetterBody::MachineMail(list),
                };
                units.push((mark_only(mark), vec![letter]));
            }
        }
    }
    if let Some(at) = chase::next_wake(cases, sent, now, cal, region, &s.chasers) {
        next = next.min(at);
    }
    TickPlan {
        units,
        next: next.max(now + Duration::seconds(1)),
    }
}

fn mark_only(mark: Mark) -> Change {
    Change {
        marks: vec![mark],
        ..Change::default()
    }
}

/// The assignee, copying the manager when escalated (or writing to them when nobody is
/// assigned), and the head of service when long overdue.
fn chaser_recipients(office: &Office<'_>, ch: &Chaser) -> (Vec<String>, Vec<String>) {
    let team = ch.team.as_deref();
    let manager = team.and_then(|t| office.routing.manager_of(t));
    let head = team.and_then(|t| office.routing.head_of_service_of(t));
    let mut to: Vec<String> = ch.assignee.iter().cloned().collect();
    let mut cc = Vec::new();
    if (ch.escalation != Escalation::None || to.is_empty())
        && let Some(m) = manager
    {
        if to.is_empty() {
            to.push(m.to_string());
        } else {
            cc.push(m.to_string());
        }
    }
    if ch.escalation == Escalation::HeadOfService
        && let Some(h) = head
    {
        cc.push(h.to_string());
    }
    (to, cc)
}

fn chaser_unit(
    office: &Office<'_>,
    ch: &Chaser,
    now: DateTime<Utc>,
    ids: &mut dyn FnMut() -> String,
) -> (Change, Vec<Letter>) {
    let (to, cc) = chaser_recipients(office, ch);
    let target = CaseTarget::Existing(ch.case.clone());
    let mut change = Change {
        marks: vec![Mark {
            key: format!("{CHASER_MARKS}{}", ch.key),
            value: json!(now),
        }],
        ..Change::default()
    };
    if to.is_empty() {
        change.audit.push(AuditAppend {
            case: target,
            event: AuditEvent::system(
                now,
                "chaser_skipped",
                json!({"slot": ch.slot.to_string()}),
                "no assignee and no team manager to chase".into(),
            ),
        });
        return (change, Vec::new());
    }
    change.audit.push(AuditAppend {
        case: target,
        event: AuditEvent::system(
            now,
            "chaser_queued",
            json!({"slot": ch.slot.to_string(), "due": ch.due, "to": to, "cc": cc, "overdue_working_days": ch.overdue_working_days}),
            format!("chaser {} for the due date {}", ch.slot, ch.due),
        ),
    });
    let reply_to = office.letter_reply_to(&ch.case, &to);
    let letter = Letter {
        case: Some(ch.case.clone()),
        to,
        cc,
        reply_to,
        message_id: ids(),
        in_reply_to: None,
        attach_original: None,
        body: LetterBody::Chaser(ch.clone()),
    };
    (change, vec![letter])
}

/// The digest for one team at `now` (what the scheduler mails to the manager and
/// `foi-triage digest --dry-run` prints).
pub fn team_digest(
    office: &Office<'_>,
    ctx: &Context,
    cases: &[Case],
    failed_mail: &[digest::FailedMail],
    team: &str,
    last: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Digest {
    let responded: BTreeMap<CaseRef, DateTime<Utc>> = cases
        .iter()
        .filter_map(|c| Some((c.reference.clone(), c.workflow.responded_at?)))
        .collect();
    let repeats = |r: &CaseRef| -> Vec<CaseRef> {
        cases
            .iter()
            .find(|c| &c.reference == r)
            .map(|c| {
                c.workflow
                    .flags
                    .iter()
                    .filter_map(|f| match f {
                        Flag::PossibleRepeat { of, .. } => Some(of.clone()),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let scope = TeamFilter::Team(team.to_string());
    digest::plan_digest(
        &DigestInput {
            cases,
            scope: &scope,
            now,
            last_digest_at: last,
            cal: &ctx.calendar,
            region: ctx.region,
            possible_repeats: &repeats,
            responded_at: &responded,
            failed_mail,
        },
        &office.settings.digests,
    )
}

#[cfg(test)]
mod tests;
