//! Chasers: which reminder emails about which cases are due at an instant, and when to look again.
//!
//! What it does:
//! - [`ChaserSettings`]: the schedule in working days relative to a case's due date (by default 5
//!   and 1 working days before, on the day, then every 2 working days while overdue), who is copied
//!   when a case is late (the team manager; the head of service after
//!   [`DEFAULT_HEAD_OF_SERVICE_AFTER`] working days, seed 002: "chase all overdue responses, and
//!   where necessary copy in the Service Manager and Service Head"), per-kind overrides, and the
//!   sending window (08:00–18:00 Europe/London on the authority's working days).
//! - [`plan_chasers`]: the chasers to send now for a set of cases, given the set of [`ChaserKey`]s
//!   already sent. A key names the case, its due date and the slot, so it is stable across
//!   restarts (the store keeps the set) and a changed due date (extension, clarification restart)
//!   makes fresh chasers.
//! - [`next_window_opening`] and [`next_wake`]: when the scheduler should look again.
//!
//! Decisions where the issue was silent (each one is tested below):
//! - **Working days** are those of the authority's own region ([`WorkDays::Policy`]: no weekends,
//!   no bank holidays of that region, no closure days since none are configured here). Chasers are
//!   for staff, who work on their own region's days, not the FOIA union of all UK bank holidays.
//! - **Position.** A case's position on a day is the signed number of working days from its due
//!   date: `-n` when `n` working days remain after the day up to and including the due date, `0`
//!   on the due date (or the last working day before a due date that falls on a day off), `+k`
//!   when `k` working days have passed since it. Slot `before:n` is reached at `-n`, `on_day` at
//!   `0`, `overdue:k` at `+k`.
//! - **No bursts after an outage.** Only the *latest* reached slot of a case is ever planned; if it
//!   was already sent, nothing is. Slots skipped while the daemon was down are never sent late. The
//!   chaser carries the working days left or overdue *now*, so its wording is true when it is sent.
//! - **Escalation** is decided from the working days overdue at the time of sending, not from the
//!   slot: [`Escalation::Manager`] when overdue (if configured), [`Escalation::HeadOfService`] from
//!   `head_of_service_after` working days overdue (it means: copy the manager too).
//! - **A case with no assignee** is chased all the same, with escalation at least
//!   [`Escalation::Manager`]: nobody owns it, so the team manager (who allocates) must see it. The
//!   caller sends it to the manager and, if configured, the team inbox.
//! - **Which cases:** only cases whose clock runs (`received` or `open`) and that have a due date.
//!   Never finished cases (`responded`, `closed`), never paused ones (awaiting clarification, ID or
//!   fee: no due date runs), never `auto` mail (it has no due date).
//! - **Window:** `[window_start, window_end)` in Europe/London local time on a working day; a
//!   window cannot span midnight. A start time inside the spring-forward gap opens at the first
//!   instant after the gap; in the repeated autumn hour the earlier instant counts.
//!
//! What it does not do: no I/O, no clock (every function takes `now`), no email composition (see
//! [`crate::letters::staff`]) and no recipient lookup (the routing module knows teams and managers).
//! It does not record what was sent: the caller stores each key after the send is committed.

pub use crate::config::{
    ChaserSettings, DEFAULT_BEFORE, DEFAULT_HEAD_OF_SERVICE_AFTER, DEFAULT_OVERDUE_EVERY,
    KindSchedule, LocalTime, MAX_SCHEDULE_WORKING_DAYS,
};
use crate::core::deadline::{Calendar, Region, WorkDays, WorkingCalendar};
use crate::core::london;
use crate::model::case::{Case, CaseRef, CaseState};
use crate::model::kind::Kind;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Europe::London;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// Largest gap between a due date and "now" this module counts, in calendar days (20 years). A
/// wider gap is a corrupt record; counting it day by day would waste time, so it is skipped.
pub const MAX_SPAN_DAYS: i64 = 366 * 20;
/// How far [`next_window_opening`] looks for a working day, in calendar days (two years). No real
/// calendar has that many days off in a row; a broken holiday file could.
const WINDOW_SEARCH_DAYS: u64 = 366 * 2;
// ---- local times and the London clock ----------------------------------------------------------

/// The working-day calendar staff work to: the authority's region, weekends and its bank holidays
/// off (see the module doc for why not the FOIA calendar).
pub fn staff_calendar(cal: &Calendar, region: Region) -> WorkingCalendar<'_> {
    WorkingCalendar::without_closures(cal, WorkDays::Policy(region))
}

/// Signed working days from `due` to `day`: `+k` when `k` working days of `wc` lie in
/// `(due, day]`, `-n` when `n` lie in `(day, due]`, `0` otherwise.
///
/// This is the position of a case on `day` (module doc). `None` when the two dates are more than
/// [`MAX_SPAN_DAYS`] apart (a corrupt record, not worth counting day by day).
pub fn signed_working_days(
    wc: &WorkingCalendar<'_>,
    due: NaiveDate,
    day: NaiveDate,
) -> Option<i64> {
    let span = (day - due).num_days();
    if span.abs() > MAX_SPAN_DAYS {
        return None;
    }
    let (from, to, sign) = if day >= due {
        (due, day, 1)
    } else {
        (day, due, -1)
    };
    let mut count: i64 = 0;
    let mut d = from;
    while d < to {
        d = d.succ_opt()?;
        if wc.is_working_day(d) {
            count += 1;
        }
    }
    Some(sign * count)
}

// ---- slots and keys ----------------------------------------------------------------------------

/// One point of the chaser schedule of a case, relative to its due date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Slot {
    /// `n` working days before the due date (`before:5`).
    Before(u32),
    /// On the due date (`on_day`).
    OnDay,
    /// `k` working days after the due date (`overdue:2`).
    Overdue(u32),
}

impl Slot {
    /// Where the slot sits on the signed working-day axis of the module doc: `before:n` is `-n`,
    /// `on_day` is `0`, `overdue:k` is `+k`. A slot is reached when the case's position is at least
    /// this; later slots have larger positions.
    pub fn position(self) -> i64 {
        match self {
            Slot::Before(n) => -i64::from(n),
            Slot::OnDay => 0,
            Slot::Overdue(k) => i64::from(k),
        }
    }

    /// Whether the slot is after the due date.
    pub fn is_overdue(self) -> bool {
        matches!(self, Slot::Overdue(_))
    }
}

impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Slot::Before(n) => write!(f, "before:{n}"),
            Slot::OnDay => f.write_str("on_day"),
            Slot::Overdue(k) => write!(f, "overdue:{k}"),
        }
    }
}

/// Why a string is not a [`Slot`] or a [`ChaserKey`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not `before:N`, `on_day` or `overdue:N` with `N >= 1`.
    #[error("chaser slot {0:?} is not before:N, on_day or overdue:N (N at least 1)")]
    Slot(String),
    /// Not `REFERENCE/YYYY-MM-DD/SLOT`.
    #[error("chaser key {0:?} is not REFERENCE/YYYY-MM-DD/SLOT")]
    Shape(String),
    /// The reference part is not a case reference.
    #[error("chaser key {key:?}: {source}")]
    Reference {
        /// The whole key.
        key: String,
        /// Why the reference is not valid.
        source: crate::model::case::CaseRefError,
    },
    /// The date part is not a date.
    #[error("chaser key {0:?}: the due date is not YYYY-MM-DD")]
    Date(String),
}

impl FromStr for Slot {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || KeyError::Slot(s.to_string());
        let number = |n: &str| -> Result<u32, KeyError> {
            if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            match n.parse::<u32>() {
                Ok(0) | Err(_) => Err(bad()),
                Ok(v) => Ok(v),
            }
        };
        if s == "on_day" {
            Ok(Slot::OnDay)
        } else if let Some(n) = s.strip_prefix("before:") {
            number(n).map(Slot::Before)
        } else if let Some(k) = s.strip_prefix("overdue:") {
            number(k).map(Slot::Overdue)
        } else {
            Err(bad())
        }
    }
}

crate::model::string_form!(Slot);

/// Identifies one chaser of one case, stably across restarts: `FOI-2026-000123/2026-12-21/before:5`.
///
/// The due date is part of the key, so when a due date moves (extension, clarification restart)
/// the new schedule's chasers are new keys and are sent; the old keys simply stop matching. In
/// JSON (and in the store) a key is its display string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ChaserKey {
    /// The case.
    pub case: CaseRef,
    /// The due date the schedule was computed from.
    pub due: NaiveDate,
    /// The point of the schedule.
    pub slot: Slot,
}

impl fmt::Display for ChaserKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}",
            self.case,
            self.due.format("%Y-%m-%d"),
            self.slot
        )
    }
}

impl FromStr for ChaserKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.splitn(3, '/');
        let (Some(r), Some(d), Some(slot)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(KeyError::Shape(s.to_string()));
        };
        let case = r.parse::<CaseRef>().map_err(|source| KeyError::Reference {
            key: s.to_string(),
            source,
        })?;
        if d.len() != 10 {
            return Err(KeyError::Date(s.to_string()));
        }
        let due =
            NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| KeyError::Date(s.to_string()))?;
        Ok(ChaserKey {
            case,
            due,
            slot: slot.parse()?,
        })
    }
}

crate::model::string_form!(ChaserKey);

// ---- settings ----------------------------------------------------------------------------------

/// Who besides the addressee gets a chaser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Escalation {
    /// Nobody: a reminder to the assignee only.
    None,
    /// Copy the team manager (overdue, or no assignee).
    Manager,
    /// Copy the team manager and the head of service (long overdue).
    HeadOfService,
}

impl Escalation {
    /// The snake_case name used in JSON and templates.
    pub fn as_str(self) -> &'static str {
        match self {
            Escalation::None => "none",
            Escalation::Manager => "manager",
            Escalation::HeadOfService => "head_of_service",
        }
    }
}

/// The schedule that applies to one case, after per-kind overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Whether this kind is chased at all.
    pub enabled: bool,
    /// Working days before the due date, any order.
    pub before: Vec<u32>,
    /// Whether to chase on the due date.
    pub on_day: bool,
    /// Interval of overdue chasers in working days; 0 for none.
    pub overdue_every: u32,
}

impl Schedule {
    /// The latest slot reached at `position` (module doc), if any.
    pub fn latest_reached(&self, position: i64) -> Option<Slot> {
        if !self.enabled {
            return None;
        }
        if self.overdue_every > 0 && position >= i64::from(self.overdue_every) {
            let every = i64::from(self.overdue_every);
            let k = u32::try_from(position / every * every).ok()?;
            return Some(Slot::Overdue(k));
        }
        if self.on_day && position >= 0 {
            return Some(Slot::OnDay);
        }
        self.before
            .iter()
            .copied()
            .filter(|&n| n > 0 && -i64::from(n) <= position)
            .min()
            .map(Slot::Before)
    }

    /// The first slot strictly after `position`, if any.
    pub fn next_after(&self, position: i64) -> Option<Slot> {
        if !self.enabled {
            return None;
        }
        let before = self
            .before
            .iter()
            .copied()
            .filter(|&n| n > 0 && -i64::from(n) > position)
            .max()
            .map(Slot::Before);
        let on_day = (self.on_day && position < 0).then_some(Slot::OnDay);
        let overdue = if self.overdue_every > 0 {
            let every = i64::from(self.overdue_every);
            let k = if position < every {
                every
            } else {
                (position / every + 1) * every
            };
            u32::try_from(k).ok().map(Slot::Overdue)
        } else {
            None
        };
        [before, on_day, overdue]
            .into_iter()
            .flatten()
            .min_by_key(|s| s.position())
    }
}

impl ChaserSettings {
    /// The schedule for cases of `kind`: the global one with that kind's overrides applied.
    pub fn schedule_for(&self, kind: Kind) -> Schedule {
        let o = self.kinds.get(&kind);
        Schedule {
            enabled: self.enabled && o.and_then(|o| o.enabled).unwrap_or(true),
            before: o
                .and_then(|o| o.before.clone())
                .unwrap_or_else(|| self.before.clone()),
            on_day: o.and_then(|o| o.on_day).unwrap_or(self.on_day),
            overdue_every: o
                .and_then(|o| o.overdue_every)
                .unwrap_or(self.overdue_every),
        }
    }

    /// Who is copied on a chaser for a case `overdue` working days late (0 when not late).
    pub fn escalation(&self, overdue: u32, assigned: bool) -> Escalation {
        let by_lateness = if overdue == 0 {
            Escalation::None
        } else if self.head_of_service_after > 0 && overdue >= self.head_of_service_after {
            Escalation::HeadOfService
        } else if self.copy_manager_when_overdue {
            Escalation::Manager
        } else {
            Escalation::None
        };
        if assigned {
            by_lateness
        } else {
            by_lateness.max(Escalation::Manager)
        }
    }

    /// Whether `now` is inside the sending window: a working day of `wc`, between
    /// `window_start` (inclusive) and `window_end` (exclusive) London time.
    pub fn in_window(&self, now: DateTime<Utc>, wc: &WorkingCalendar<'_>) -> bool {
        let local = now.with_timezone(&London);
        let t = local.time();
        wc.is_working_day(local.date_naive())
            && self.window_start.time() <= t
            && t < self.window_end.time()
    }
}

// ---- planning ----------------------------------------------------------------------------------

/// One chaser to send: which case, which point of its schedule, and who to copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chaser {
    /// Record this once the send is committed; the planner never plans it again.
    pub key: ChaserKey,
    /// The case.
    pub case: CaseRef,
    /// Its kind (for the wording).
    pub kind: Kind,
    /// The point of the schedule.
    pub slot: Slot,
    /// Who to copy.
    pub escalation: Escalation,
    /// Working days the case is late today (0 when not late).
    pub overdue_working_days: u32,
    /// Working days left today up to and including the due date (0 on the day or when late).
    pub working_days_left: u32,
    /// The due date.
    pub due: NaiveDate,
    /// The assignee's address; `None` sends the chaser to the team manager instead.
    pub assignee: Option<String>,
    /// The case's team, to find the manager and head of service.
    pub team: Option<String>,
}

/// The due date of a case whose clock runs and which may be chased: `None` for finished, paused and
/// undated cases.
pub fn running_due(case: &Case) -> Option<NaiveDate> {
    match case.state {
        CaseState::Received | CaseState::Open => case.due,
        CaseState::AwaitingClarification
        | CaseState::AwaitingId
        | CaseState::AwaitingFee
        | CaseState::Responded
        | CaseState::Closed => None,
    }
}

/// The chaser for `case` if it were sent on `today` (window and already-sent set aside), with its
/// position that day.
fn chaser_on(
    case: &Case,
    today: NaiveDate,
    wc: &WorkingCalendar<'_>,
    settings: &ChaserSettings,
) -> Option<(Chaser, i64)> {
    if case.kind == Kind::Auto {
        return None;
    }
    let due = running_due(case)?;
    let position = signed_working_days(wc, due, today)?;
    let slot = settings.schedule_for(case.kind).latest_reached(position)?;
    let overdue = u32::try_from(position.max(0)).unwrap_or(u32::MAX);
    let left = u32::try_from((-position).max(0)).unwrap_or(u32::MAX);
    let assignee = case.assignee.clone().filter(|a| !a.trim().is_empty());
    let chaser = Chaser {
        key: ChaserKey {
            case: case.reference.clone(),
            due,
            slot,
        },
        case: case.reference.clone(),
        kind: case.kind,
        slot,
        escalation: settings.escalation(overdue, assignee.is_some()),
        overdue_working_days: overdue,
        working_days_left: left,
        due,
        assignee,
        team: case.team.clone(),
    };
    Some((chaser, position))
}

/// The chasers to send at `now`: at most one per case (its latest reached slot), none already in
/// `already_sent`, and none at all outside the sending window. Sorted by case reference.
///
/// `region` is the authority's own region (its bank holidays are days off). The caller sends each
/// chaser and then records its key; a crash between the two sends it again on restart (at least
/// once, like the outbox), never a different one.
pub fn plan_chasers(
    cases: &[Case],
    already_sent: &BTreeSet<ChaserKey>,
    now: DateTime<Utc>,
    cal: &Calendar,
    region: Region,
    settings: &ChaserSettings,
) -> Vec<Chaser> {
    if !settings.enabled {
        return Vec::new();
    }
    let wc = staff_calendar(cal, region);
    if !settings.in_window(now, &wc) {
        return Vec::new();
    }
    let today = london::date(now);
    let mut out: Vec<Chaser> = cases
        .iter()
        .filter_map(|c| chaser_on(c, today, &wc, settings))
        .map(|(ch, _)| ch)
        .filter(|ch| !already_sent.contains(&ch.key))
        .collect();
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

/// The opening instant of the sending window on `date`.
fn window_opening_on(date: NaiveDate, settings: &ChaserSettings) -> Option<DateTime<Utc>> {
    london::instant(date, settings.window_start.time())
}

/// When the sending window is next open: `now` itself if it is open, else the next opening
/// (today's, if today is a working day and the window has not opened yet).
///
/// `None` only when no working day exists in the next two years (a broken holiday file).
pub fn next_window_opening(
    now: DateTime<Utc>,
    cal: &Calendar,
    region: Region,
    settings: &ChaserSettings,
) -> Option<DateTime<Utc>> {
    let wc = staff_calendar(cal, region);
    if settings.in_window(now, &wc) {
        return Some(now);
    }
    let today = london::date(now);
    if wc.is_working_day(today)
        && let Some(open) = window_opening_on(today, settings)
        && open > now
    {
        return Some(open);
    }
    let mut d = today;
    for _ in 0..WINDOW_SEARCH_DAYS {
        d = d.succ_opt()?;
        if wc.is_working_day(d) {
            return window_opening_on(d, settings);
        }
    }
    None
}

/// The earliest instant at or after `now` at which [`plan_chasers`] could return a chaser not in
/// `already_sent`, assuming the cases do not change (the scheduler must also wake when a case
/// changes). `None` when no case will ever need one.
pub fn next_wake(
    cases: &[Case],
    already_sent: &BTreeSet<ChaserKey>,
    now: DateTime<Utc>,
    cal: &Calendar,
    region: Region,
    settings: &ChaserSettings,
) -> Option<DateTime<Utc>> {
    if !settings.enabled {
        return None;
    }
    let wc = staff_calendar(cal, region);
    let today = london::date(now);
    let mut earliest: Option<DateTime<Utc>> = None;
    let mut consider = |t: Option<DateTime<Utc>>| {
        if let Some(t) = t {
            earliest = Some(earliest.map_or(t, |e| e.min(t)));
        }
    };
    for case in cases {
        if case.kind == Kind::Auto {
            continue;
        }
        let Some(due) = running_due(case) else {
            continue;
        };
        let Some(position) = signed_working_days(&wc, due, today) else {
            continue;
        };
        let schedule = settings.schedule_for(case.kind);
        if let Some((ch, _)) = chaser_on(case, today, &wc, settings)
            && !already_sent.contains(&ch.key)
        {
            consider(next_window_opening(now, cal, region, settings));
            continue;
        }
        let Some(next) = schedule.next_after(position) else {
            continue;
        };
        // The position grows by one on each working day, so the slot is reached on the
        // (next - position)th working day after today.
        let Ok(steps) = u32::try_from(next.position() - position) else {
            continue;
        };
        let Ok(day) = wc.add_working_days(today, steps) else {
            continue;
        };
        consider(window_opening_on(day, settings));
    }
    earliest
}

#[cfg(test)]
mod tests;
