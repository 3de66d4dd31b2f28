//! The `[workflow.chasers]` settings: when staff are reminded of a due date, who is copied, and
//! the daily sending window. Read and checked here; planned by `core::chase`.

use crate::config::ConfigError;
use crate::config::toml::{Section, key_path};
use crate::model::kind::Kind;
use crate::model::regime::MAX_WORKING_DAYS;
use chrono::{NaiveTime, Timelike};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

/// Default reminders before the due date, in working days (issue 4: "5 and 1 working days before").
pub const DEFAULT_BEFORE: [u32; 2] = [5, 1];
/// Default interval between overdue chasers, in working days (issue 4: "every 2 working days while
/// overdue").
pub const DEFAULT_OVERDUE_EVERY: u32 = 2;
/// Default working days overdue from which the head of service is copied (issue 4, "after N
/// working days"; seed 002 names the Service Head as the last person copied).
pub const DEFAULT_HEAD_OF_SERVICE_AFTER: u32 = 5;
/// Largest schedule offset or interval, in working days (about three months): a reminder further
/// out than that is a typo, and the bound keeps every search in this module short.
pub const MAX_SCHEDULE_WORKING_DAYS: u32 = 60;
/// A wall-clock time of day (`"08:00"`), as written in the configuration.
///
/// Its own type so the TOML says `"08:00"` rather than chrono's `"08:00:00"`, and a bad value is
/// reported with the text that was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LocalTime(NaiveTime);

impl LocalTime {
    /// A time of day from hours and minutes; `None` when out of range.
    pub fn hm(hour: u32, minute: u32) -> Option<LocalTime> {
        NaiveTime::from_hms_opt(hour, minute, 0).map(LocalTime)
    }

    /// The chrono time.
    pub fn time(self) -> NaiveTime {
        self.0
    }
}

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0.hour(), self.0.minute())
    }
}

impl FromStr for LocalTime {
    type Err = String;
    /// Accepts `H:MM` or `HH:MM`, 24-hour clock.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{s:?} is not a time of day HH:MM (24-hour clock)");
        let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
        if h.is_empty() || h.len() > 2 || m.len() != 2 {
            return Err(bad());
        }
        if !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let hour: u32 = h.parse().map_err(|_| bad())?;
        let minute: u32 = m.parse().map_err(|_| bad())?;
        LocalTime::hm(hour, minute).ok_or_else(bad)
    }
}

crate::model::string_form!(LocalTime);

/// A per-kind change to the schedule; unset fields keep the global value.
///
/// Seed 002 is the example: complaint staff "will only chase if complaints are overdue", i.e.
/// `[chasers.kinds.complaint] before = [] on_day = false`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KindSchedule {
    /// `false` turns chasers off for this kind.
    pub enabled: Option<bool>,
    /// Replaces [`ChaserSettings::before`].
    pub before: Option<Vec<u32>>,
    /// Replaces [`ChaserSettings::on_day`].
    pub on_day: Option<bool>,
    /// Replaces [`ChaserSettings::overdue_every`].
    pub overdue_every: Option<u32>,
}

/// The `[chasers]` settings: schedule, escalation and sending window.
///
/// Every field has a default, so an empty section (or none) gives the schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChaserSettings {
    /// `false` turns every chaser off (e.g. while a team trials the system).
    pub enabled: bool,
    /// Reminders this many working days before the due date (default 5 and 1).
    pub before: Vec<u32>,
    /// A reminder on the due date itself (default true).
    pub on_day: bool,
    /// While overdue, a chaser every this many working days (default 2; 0 for none).
    pub overdue_every: u32,
    /// Copy the team manager on overdue chasers (default true).
    pub copy_manager_when_overdue: bool,
    /// Copy the head of service (and the manager) from this many working days overdue (default 5;
    /// 0 never copies the head of service).
    pub head_of_service_after: u32,
    /// When the sending window opens each working day, Europe/London (default `"08:00"`).
    pub window_start: LocalTime,
    /// When it closes (exclusive), Europe/London (default `"18:00"`). Must be after the start.
    pub window_end: LocalTime,
    /// Per-kind changes to the schedule, keyed by kind name (`complaint`, `foi`…).
    pub kinds: BTreeMap<Kind, KindSchedule>,
}

/// 08:00, the default window opening: the start of the office day.
const DEFAULT_WINDOW_START: (u32, u32) = (8, 0);
/// 18:00, the default window close: nobody is chased in the evening or at night.
const DEFAULT_WINDOW_END: (u32, u32) = (18, 0);

impl Default for ChaserSettings {
    fn default() -> Self {
        ChaserSettings {
            enabled: true,
            before: DEFAULT_BEFORE.to_vec(),
            on_day: true,
            overdue_every: DEFAULT_OVERDUE_EVERY,
            copy_manager_when_overdue: true,
            head_of_service_after: DEFAULT_HEAD_OF_SERVICE_AFTER,
            window_start: LocalTime(
                NaiveTime::from_hms_opt(DEFAULT_WINDOW_START.0, DEFAULT_WINDOW_START.1, 0)
                    .unwrap_or(NaiveTime::MIN),
            ),
            window_end: LocalTime(
                NaiveTime::from_hms_opt(DEFAULT_WINDOW_END.0, DEFAULT_WINDOW_END.1, 0)
                    .unwrap_or(NaiveTime::MIN),
            ),
            kinds: BTreeMap::new(),
        }
    }
}

fn check_schedule(
    errors: &mut Vec<ConfigError>,
    key: &dyn Fn(&str) -> String,
    prefix: &str,
    before: Option<&Vec<u32>>,
    overdue_every: Option<u32>,
) {
    if let Some(before) = before {
        let mut seen = BTreeSet::new();
        for (i, &n) in before.iter().enumerate() {
            let k = key(&format!("{prefix}before[{i}]"));
            if n == 0 {
                errors.push(ConfigError {
                    key: k,
                    message: "0 working days before is the due date: use on_day = true".into(),
                });
            } else if n > MAX_SCHEDULE_WORKING_DAYS {
                errors.push(ConfigError {
                    key: k,
                    message: format!(
                        "{n} working days is more than the {MAX_SCHEDULE_WORKING_DAYS} allowed"
                    ),
                });
            } else if !seen.insert(n) {
                errors.push(ConfigError {
                    key: k,
                    message: format!("{n} is listed twice"),
                });
            }
        }
    }
    if let Some(every) = overdue_every
        && every > MAX_SCHEDULE_WORKING_DAYS
    {
        errors.push(ConfigError {
            key: key(&format!("{prefix}overdue_every")),
            message: format!(
                "{every} working days is more than the {MAX_SCHEDULE_WORKING_DAYS} allowed (0 turns overdue chasers off)"
            ),
        });
    }
}

impl Section for ChaserSettings {
    fn validate(&self, at: &str) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        let key = |k: &str| key_path(at, k);
        check_schedule(
            &mut errors,
            &key,
            "",
            Some(&self.before),
            Some(self.overdue_every),
        );
        if self.head_of_service_after > MAX_WORKING_DAYS {
            errors.push(ConfigError {
                key: key("head_of_service_after"),
                message: format!(
                    "{} working days is more than the {} allowed",
                    self.head_of_service_after, MAX_WORKING_DAYS
                ),
            });
        }
        if self.window_start >= self.window_end {
            errors.push(ConfigError {
                key: key("window_end"),
                message: format!(
                    "the sending window must end after it starts (start {}, end {}); it cannot span midnight",
                    self.window_start, self.window_end
                ),
            });
        }
        for (kind, ks) in &self.kinds {
            let prefix = format!("kinds.{}.", kind.as_str());
            if *kind == Kind::Auto {
                errors.push(ConfigError {
                    key: key(&format!("kinds.{}", kind.as_str())),
                    message: "auto mail has no due date and is never chased".to_string(),
                });
            }
            check_schedule(
                &mut errors,
                &key,
                &prefix,
                ks.before.as_ref(),
                ks.overdue_every,
            );
        }
        errors
    }
}
