//! Manager digests: what a team's manager should see, and when the digest is due.
//!
//! What it does:
//! - [`DigestSettings`]: daily and/or weekly, at which London hour, on which weekday, how many
//!   working days count as "due soon", and over how many days the timeliness figure is taken.
//! - [`digest_due`] / [`next_digest_at`]: the schedule, in Europe/London wall time (DST-correct),
//!   on the authority's working days only.
//! - [`plan_digest`]: a [`Digest`] of overdue cases, cases due soon, cases waiting on the
//!   requester, cases new since the last digest and possible repeats, with counts, oldest (most
//!   late) first, plus the share of statutory requests answered in time ([`Timeliness`], the figure
//!   the ICO monitors: FOI, EIR and subject access answered within the time limit).
//! - The digest and chaser emails are rendered by `letters::Letters`, from officer-editable
//!   templates.
//!
//! Decisions where the issue was silent:
//! - **No subjects, no bodies.** An entry carries the reference, kind, state, dates, working days
//!   late or left, assignee and team. The requester's subject line often names a child, an address
//!   or an allegation, so it is left out entirely; staff open the case by its reference.
//! - **Working days** are the authority's own region's ([`crate::core::chase::staff_calendar`]), as for
//!   chasers: a digest speaks to staff.
//! - **Overdue** means the clock runs (`received`/`open`) and the due date is before today (London);
//!   **due soon** means it runs and at most `due_soon_working_days` working days remain (today
//!   counts as 0 left on the due date). Paused cases are listed under **waiting on the requester**
//!   whatever their old due date. Finished cases appear only under **new since last** (a case can
//!   arrive and close between two digests) and in the timeliness figure.
//! - **New since last** uses `created_at` (when we logged it) in `(last digest, now]`; with no
//!   previous digest, the last [`FIRST_DIGEST_LOOKBACK_DAYS`] days.
//! - **Answer not verified** lists cases still waiting on the requester that carry an
//!   `unverified_answer` flag: a reply from the requester's address arrived that may be the answer,
//!   but the trusted gateway did not vouch for it, so the clock restart was withheld
//!   (`clock_restart_withheld`). An officer checks it and sends `#answer` if it is genuine, and the
//!   case leaves the list (it no longer waits); until then it is shown in every digest, since the
//!   clock stays stopped on an answer that may be real.
//! - **Possible repeats** lists unfinished cases for which the caller's repeat lookup returns at
//!   least one earlier reference (repeat detection lives in `repeat.rs`; the case record has no
//!   field for it yet, so the lookup is a parameter).
//! - **`auto` cases** (machine mail) never appear.
//! - **Timeliness**: statutory requests (FOI, EIR, SAR) *received* in the last
//!   `timeliness_days` days; answered in time when the response date (London) is on or before the
//!   due date (which includes any lawful extension); late when after it; unanswered past the due
//!   date counts against the figure; not yet due and unanswered is left out; closed without a
//!   response (withdrawn, lapsed) is left out.
//! - **Schedule:** a daily digest goes on each working day; a weekly one on the configured weekday,
//!   or the next working day when that is a bank holiday. Digests go only on working days, at or
//!   after the hour. After an outage one digest is sent (the next working morning at the latest),
//!   not one per missed day.
//!
//! What it does not do: no I/O, no clock, no sending, no
//! choice of recipients (the lead maps teams to managers).

pub use crate::config::{
    DEFAULT_DUE_SOON_WORKING_DAYS, DEFAULT_HOUR, DEFAULT_TIMELINESS_DAYS, DigestSettings,
    MAX_TIMELINESS_DAYS,
};
use crate::core::chase::{running_due, signed_working_days, staff_calendar};
use crate::core::deadline::{Calendar, Region, WorkingCalendar};
use crate::core::london;
use crate::model::case::{Case, CaseRef, CaseState, Flag};
use crate::model::kind::Kind;
use crate::model::letter::OutboxJob;
use crate::model::machine::MachineMailLine;
use crate::model::records::NeedsTriage;
use crate::model::records::{OutboxRow, OutboxStatus};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How far back failed outbox rows are listed, in calendar days (by when the row was queued):
/// a month keeps a failure in front of the manager across a fortnight's leave, and there is no
/// "dealt with" mark for a failed row yet, so a permanent list would only grow.
pub const FAILED_MAIL_LOOKBACK_DAYS: i64 = 30;

/// Days "new since last" covers when no digest was sent before, in calendar days (one week).
pub const FIRST_DIGEST_LOOKBACK_DAYS: i64 = 7;
/// How far back [`digest_due`] looks for the latest scheduled time, in calendar days: a week plus
/// the longest run of days off (Christmas) a weekly digest may be pushed over.
const LOOKBACK_DAYS: u32 = 21;
/// How far ahead [`next_digest_at`] looks, in calendar days.
const LOOKAHEAD_DAYS: u32 = 366;

impl DigestSettings {
    fn time(&self) -> NaiveTime {
        NaiveTime::from_hms_opt(self.hour.min(23), 0, 0).unwrap_or(NaiveTime::MIN)
    }

    /// Whether a digest is scheduled on `date` (a working day, and daily or the weekly day).
    fn scheduled_on(&self, date: NaiveDate, wc: &WorkingCalendar<'_>) -> bool {
        if !wc.is_working_day(date) {
            return false;
        }
        self.daily || (self.weekly && weekly_on(date, self.weekday, wc))
    }
}

/// Whether `date` (a working day) is the weekly digest's day: the configured weekday, or the first
/// working day after it when it and the days between are days off.
fn weekly_on(date: NaiveDate, weekday: Weekday, wc: &WorkingCalendar<'_>) -> bool {
    let mut d = date;
    for _ in 0..7 {
        if d.weekday() == weekday {
            return true;
        }
        let Some(prev) = d.pred_opt() else {
            return false;
        };
        if wc.is_working_day(prev) {
            return false;
        }
        d = prev;
    }
    false
}

/// The latest scheduled digest time at or before `now`, if any in the last three weeks.
fn latest_scheduled(
    now: DateTime<Utc>,
    wc: &WorkingCalendar<'_>,
    settings: &DigestSettings,
) -> Option<DateTime<Utc>> {
    let mut d = london::date(now);
    for _ in 0..=LOOKBACK_DAYS {
        if settings.scheduled_on(d, wc)
            && let Some(t) = london::instant(d, settings.time())
            && t <= now
        {
            return Some(t);
        }
        d = d.pred_opt()?;
    }
    None
}

/// Whether a digest should be sent at `now`, given when the last one was sent (`None`: never).
///
/// True when a scheduled time has passed since `last_sent` and `now` is on a working day of
/// `region` at or after the configured hour (London wall clock). So after an outage one digest is
/// sent, not one per missed day; a weekly digest missed on its day goes the next working morning;
/// and nothing goes at night, at weekends or on bank holidays. Takes the calendar and region
/// (beyond the issue's `(now, last_sent, settings)`) for exactly that reason.
pub fn digest_due(
    now: DateTime<Utc>,
    last_sent: Option<DateTime<Utc>>,
    cal: &Calendar,
    region: Region,
    settings: &DigestSettings,
) -> bool {
    let wc = staff_calendar(cal, region);
    sending_hour_passed(now, &wc, settings) && pending(now, last_sent, &wc, settings)
}

/// Whether today (London) is a working day and its digest hour has come.
fn sending_hour_passed(
    now: DateTime<Utc>,
    wc: &WorkingCalendar<'_>,
    settings: &DigestSettings,
) -> bool {
    let today = london::date(now);
    wc.is_working_day(today) && london::instant(today, settings.time()).is_some_and(|t| t <= now)
}

/// Whether a scheduled time has passed since the last digest.
fn pending(
    now: DateTime<Utc>,
    last_sent: Option<DateTime<Utc>>,
    wc: &WorkingCalendar<'_>,
    settings: &DigestSettings,
) -> bool {
    latest_scheduled(now, wc, settings).is_some_and(|t| last_sent.is_none_or(|last| last < t))
}

/// The earliest instant at or after `now` at which [`digest_due`] becomes true, given the last
/// send (for the scheduler's wake-up); `None` when neither daily nor weekly digests are on.
pub fn next_digest_at(
    now: DateTime<Utc>,
    last_sent: Option<DateTime<Utc>>,
    cal: &Calendar,
    region: Region,
    settings: &DigestSettings,
) -> Option<DateTime<Utc>> {
    if !settings.daily && !settings.weekly {
        return None;
    }
    let wc = staff_calendar(cal, region);
    let overdue = pending(now, last_sent, &wc, settings);
    if overdue && sending_hour_passed(now, &wc, settings) {
        return Some(now);
    }
    let mut d = london::date(now);
    for _ in 0..=LOOKAHEAD_DAYS {
        // A pending digest goes at the next working day's hour; otherwise at the next scheduled
        // time.
        let candidate = if overdue {
            wc.is_working_day(d)
        } else {
            settings.scheduled_on(d, &wc)
        };
        if candidate
            && let Some(t) = london::instant(d, settings.time())
            && t > now
        {
            return Some(t);
        }
        d = d.succ_opt()?;
    }
    None
}

// ---- the digest --------------------------------------------------------------------------------

/// Which cases a digest covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "scope", content = "team")]
pub enum TeamFilter {
    /// Every case (the information-rights team's overview).
    All,
    /// Cases routed to this team.
    Team(String),
    /// Cases routed to no team yet (for whoever allocates).
    Unrouted,
}

impl TeamFilter {
    /// Whether `case` is in scope.
    pub fn matches(&self, case: &Case) -> bool {
        match self {
            TeamFilter::All => true,
            TeamFilter::Team(t) => case.team.as_deref() == Some(t.as_str()),
            TeamFilter::Unrouted => case.team.as_deref().is_none_or(|t| t.trim().is_empty()),
        }
    }
}

/// One case as a digest shows it: no subject, no body (module doc).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestEntry {
    /// The case reference.
    pub reference: CaseRef,
    /// Its kind.
    pub kind: Kind,
    /// Its state.
    pub state: CaseState,
    /// Date received (London).
    pub received: NaiveDate,
    /// Due date, if one is set.
    pub due: Option<NaiveDate>,
    /// Working days late today, for overdue cases.
    pub working_days_overdue: Option<u32>,
    /// Working days left today (0 on the due date), for running cases not yet late.
    pub working_days_left: Option<u32>,
    /// Who has it.
    pub assignee: Option<String>,
    /// Which team.
    pub team: Option<String>,
    /// Earlier cases this may repeat (possible repeats only; empty elsewhere).
    pub repeat_of: Vec<CaseRef>,
}

/// How many cases are in each part, and open cases by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestCounts {
    /// Cases whose clock runs (`received` or `open`).
    pub open: usize,
    /// Of those, late.
    pub overdue: usize,
    /// Of those, due within the horizon.
    pub due_soon: usize,
    /// Paused cases.
    pub waiting_on_requester: usize,
    /// Logged since the last digest.
    pub new_since_last: usize,
    /// Unfinished possible repeats.
    pub possible_repeats: usize,
    /// Waiting cases with an answer the gateway did not vouch for.
    #[serde(default)]
    pub unverified_answers: usize,
    /// Running cases by kind.
    pub open_by_kind: BTreeMap<Kind, usize>,
}

/// The share of statutory requests answered within the time limit (module doc for the rules).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeliness {
    /// First day of the period (London), inclusive.
    pub from: NaiveDate,
    /// Last day of the period (today), inclusive.
    pub to: NaiveDate,
    /// Answered on or before the due date.
    pub in_time: usize,
    /// Answered after the due date.
    pub late: usize,
    /// Not answered, and the due date has passed: counts against the figure.
    pub overdue_unanswered: usize,
    /// Not answered, not yet due (or paused): not counted.
    pub pending: usize,
}

impl Timeliness {
    /// The cases the figure is taken over: answered, plus unanswered past their due date.
    pub fn counted(&self) -> usize {
        self.in_time + self.late + self.overdue_unanswered
    }

    /// Percent answered in time, or `None` when nothing counts yet.
    pub fn percent_in_time(&self) -> Option<f64> {
        let n = self.counted();
        (n > 0).then(|| self.in_time as f64 * 100.0 / n as f64)
    }
}

/// Everything a manager's digest shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Digest {
    /// When it was planned.
    pub generated_at: DateTime<Utc>,
    /// Today, London.
    pub today: NaiveDate,
    /// Which cases it covers.
    pub scope: TeamFilter,
    /// Start of the "new since last" window.
    pub since: DateTime<Utc>,
    /// The "due soon" horizon used, in working days (for the wording).
    pub due_soon_working_days: u32,
    /// Late cases, most late first.
    pub overdue: Vec<DigestEntry>,
    /// Cases due within the horizon, soonest first.
    pub due_soon: Vec<DigestEntry>,
    /// Paused cases, oldest first.
    pub waiting_on_requester: Vec<DigestEntry>,
    /// Cases logged since the last digest, oldest first.
    pub new_since_last: Vec<DigestEntry>,
    /// Unfinished possible repeats, oldest first.
    pub possible_repeats: Vec<DigestEntry>,
    /// Cases waiting on the requester with an answer whose clock restart was withheld (it was not
    /// authenticated), oldest first: for an officer to check.
    #[serde(default)]
    pub unverified_answers: Vec<DigestEntry>,
    /// Counts.
    pub counts: DigestCounts,
    /// Timeliness over the configured period.
    pub timeliness: Timeliness,
    /// Messages intake quarantined for people since `since` (not cases: no team, no kind), set
    /// by the scheduler from the store ([`needs_triage_since`]); the same in every team's digest.
    #[serde(default)]
    pub needs_human_triage: Vec<NeedsTriage>,
    /// Mail the outbox gave up on (a person must send it or find out why), oldest first.
    #[serde(default)]
    pub failed_mail: Vec<FailedMail>,
    /// Mail filed without a case since the last list (`core::plan::machine`), oldest first: set
    /// by the scheduler in the digest of the team that owns the mailbox only.
    #[serde(default)]
    pub machine_mail: Vec<MachineMailLine>,
}

/// An outbox row given up (`failed`), as a digest shows it: the row, its case's reference, what
/// kind of mail it was and the day it was queued. No address, subject or server error (which
/// often quotes an address): those are in the case's audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedMail {
    /// The outbox row id.
    pub row: u64,
    /// The case it is about, if any.
    pub case: Option<CaseRef>,
    /// `acknowledgement`, `staff_mail`, or `outbox` for a payload that is not a known job.
    pub what: String,
    /// When it was queued (London date).
    pub queued: NaiveDate,
}

/// The failed rows among `rows` (any status may be given), as digest lines, oldest first.
pub fn failed_mail(rows: &[OutboxRow]) -> Vec<FailedMail> {
    let mut out: Vec<FailedMail> = rows
        .iter()
        .filter(|r| r.status == OutboxStatus::Failed)
        .map(|r| FailedMail {
            row: r.id,
            case: r.case.clone(),
            what: match OutboxJob::from_payload(&r.payload) {
                Ok(OutboxJob::Ack(_)) => "acknowledgement",
                Ok(OutboxJob::Mail(_)) => "staff_mail",
                Err(_) => "outbox",
            }
            .to_string(),
            queued: london::date(r.created_at),
        })
        .collect();
    out.sort_by_key(|f| (f.queued, f.row));
    out
}

impl Digest {
    /// Whether there is nothing to report (no running, waiting, new or repeat case); the caller may
    /// skip sending an empty digest.
    pub fn is_empty(&self) -> bool {
        self.counts.open == 0
            && self.counts.waiting_on_requester == 0
            && self.counts.new_since_last == 0
            && self.counts.possible_repeats == 0
            && self.failed_mail.is_empty()
    }
}

/// The messages quarantined for human triage after `since` (a digest reports each once, in the
/// first digest after it), oldest first as given.
pub fn needs_triage_since(all: &[NeedsTriage], since: DateTime<Utc>) -> Vec<NeedsTriage> {
    all.iter().filter(|n| n.at > since).cloned().collect()
}

/// What [`plan_digest`] needs besides the settings. A struct because the parameters plus
/// the two lookups the case record does not have yet would make nine arguments.
pub struct DigestInput<'a> {
    /// Every case (the filter picks the team's).
    pub cases: &'a [Case],
    /// Which cases this digest covers.
    pub scope: &'a TeamFilter,
    /// The instant the digest is planned for.
    pub now: DateTime<Utc>,
    /// When the previous digest for this scope was sent, if ever.
    pub last_digest_at: Option<DateTime<Utc>>,
    /// Bank holidays.
    pub cal: &'a Calendar,
    /// The authority's region.
    pub region: Region,
    /// Earlier cases a case may repeat (from repeat detection); empty when none.
    pub possible_repeats: &'a dyn Fn(&CaseRef) -> Vec<CaseRef>,
    /// When each answered case's response was sent.
    pub responded_at: &'a BTreeMap<CaseRef, DateTime<Utc>>,
    /// Failed outbox rows (see [`failed_mail`]). A row is shown when its case is in scope, and in
    /// every digest when it has no case or its case is not among `cases`: better seen twice than
    /// never.
    pub failed_mail: &'a [FailedMail],
}

fn is_paused(state: CaseState) -> bool {
    matches!(
        state,
        CaseState::AwaitingClarification | CaseState::AwaitingId | CaseState::AwaitingFee
    )
}

fn entry(case: &Case, today: NaiveDate, wc: &WorkingCalendar<'_>) -> DigestEntry {
    let due = running_due(case);
    let position = due.and_then(|d| signed_working_days(wc, d, today));
    let (overdue, left) = match (due, position) {
        (Some(d), p) if d < today => (Some(p.map_or(u32::MAX, clamp_u32)), None),
        (Some(_), Some(p)) => (None, Some(clamp_u32(-p))),
        _ => (None, None),
    };
    DigestEntry {
        reference: case.reference.clone(),
        kind: case.kind,
        state: case.state,
        received: london::date(case.received_at),
        due: case.due,
        working_days_overdue: overdue,
        working_days_left: left,
        assignee: case.assignee.clone().filter(|a| !a.trim().is_empty()),
        team: case.team.clone(),
        repeat_of: Vec::new(),
    }
}

fn clamp_u32(v: i64) -> u32 {
    u32::try_from(v.max(0)).unwrap_or(u32::MAX)
}

/// Plans one digest: every part and count for the cases in `input.scope` at `input.now`.
pub fn plan_digest(input: &DigestInput<'_>, settings: &DigestSettings) -> Digest {
    let wc = staff_calendar(input.cal, input.region);
    let today = london::date(input.now);
    let since = input
        .last_digest_at
        .unwrap_or(input.now - Duration::days(FIRST_DIGEST_LOOKBACK_DAYS));
    let mut d = Digest {
        generated_at: input.now,
        today,
        scope: input.scope.clone(),
        since,
        due_soon_working_days: settings.due_soon_working_days,
        overdue: Vec::new(),
        due_soon: Vec::new(),
        waiting_on_requester: Vec::new(),
        new_since_last: Vec::new(),
        possible_repeats: Vec::new(),
        unverified_answers: Vec::new(),
        counts: DigestCounts::default(),
        timeliness: timeliness(input, settings, today),
        needs_human_triage: Vec::new(),
        machine_mail: Vec::new(),
        failed_mail: input
            .failed_mail
            .iter()
            .filter(|f| {
                let case = f
                    .case
                    .as_ref()
                    .and_then(|r| input.cases.iter().find(|c| &c.reference == r));
                case.is_none_or(|c| input.scope.matches(c))
            })
            .cloned()
            .collect(),
    };
    for case in input
        .cases
        .iter()
        .filter(|c| c.kind != Kind::Auto && input.scope.matches(c))
    {
        let e = entry(case, today, &wc);
        if matches!(case.state, CaseState::Received | CaseState::Open) {
            d.counts.open += 1;
            *d.counts.open_by_kind.entry(case.kind).or_insert(0) += 1;
        }
        if e.working_days_overdue.is_some() {
            d.overdue.push(e.clone());
        } else if e
            .working_days_left
            .is_some_and(|left| left <= settings.due_soon_working_days)
        {
            d.due_soon.push(e.clone());
        }
        if is_paused(case.state) {
            d.waiting_on_requester.push(e.clone());
            if has_unverified_answer(case) {
                d.unverified_answers.push(e.clone());
            }
        }
        if case.created_at > since && case.created_at <= input.now {
            d.new_since_last.push(e.clone());
        }
        if !case.state.is_finished() {
            let mut repeats = (input.possible_repeats)(&case.reference);
            repeats.retain(|r| *r != case.reference);
            repeats.sort();
            repeats.dedup();
            if !repeats.is_empty() {
                d.possible_repeats.push(DigestEntry {
                    repeat_of: repeats,
                    ..e
                });
            }
        }
    }
    let by_due = |a: &DigestEntry, b: &DigestEntry| {
        (a.due, a.received, &a.reference).cmp(&(b.due, b.received, &b.reference))
    };
    let by_received = |a: &DigestEntry, b: &DigestEntry| {
        (a.received, &a.reference).cmp(&(b.received, &b.reference))
    };
    d.overdue.sort_by(by_due);
    d.due_soon.sort_by(by_due);
    d.waiting_on_requester.sort_by(by_received);
    d.new_since_last.sort_by(by_received);
    d.possible_repeats.sort_by(by_received);
    d.unverified_answers.sort_by(by_received);
    d.counts.overdue = d.overdue.len();
    d.counts.due_soon = d.due_soon.len();
    d.counts.waiting_on_requester = d.waiting_on_requester.len();
    d.counts.new_since_last = d.new_since_last.len();
    d.counts.possible_repeats = d.possible_repeats.len();
    d.counts.unverified_answers = d.unverified_answers.len();
    d
}

/// Whether a reply from the requester's address was flagged because the gateway did not vouch
/// for it (`core::plan::ingest` withholds the clock restart and sets the flag).
fn has_unverified_answer(case: &Case) -> bool {
    case.workflow
        .flags
        .iter()
        .any(|f| matches!(f, Flag::UnverifiedAnswer { .. }))
}

fn timeliness(input: &DigestInput<'_>, settings: &DigestSettings, today: NaiveDate) -> Timeliness {
    let days = settings.timeliness_days.clamp(1, MAX_TIMELINESS_DAYS);
    let from = today
        .checked_sub_signed(Duration::days(i64::from(days) - 1))
        .unwrap_or(today);
    let mut t = Timeliness {
        from,
        to: today,
        in_time: 0,
        late: 0,
        overdue_unanswered: 0,
        pending: 0,
    };
    for case in input.cases.iter().filter(|c| {
        c.kind.is_statutory() && input.scope.matches(c) && {
            let r = london::date(c.received_at);
            from <= r && r <= today
        }
    }) {
        let Some(due) = case.due else {
            continue;
        };
        match input.responded_at.get(&case.reference) {
            Some(at) if london::date(*at) <= due => t.in_time += 1,
            Some(_) => t.late += 1,
            None if case.state.is_finished() => {}
            None if is_paused(case.state) || due >= today => t.pending += 1,
            None => t.overdue_unanswered += 1,
        }
    }
    t
}

#[cfg(test)]
mod tests;
