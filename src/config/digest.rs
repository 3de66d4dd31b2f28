//! The `[workflow.digests]` settings: when managers get their digest and what it counts. Read
//! and checked here; planned by `core::digest`.

use crate::config::toml::{Section, key_path};
use crate::config::{ConfigError, MAX_SCHEDULE_WORKING_DAYS};
use chrono::Weekday;
use serde::{Deserialize, Serialize};

/// Default "due soon" horizon, in working days: a working week, so the manager sees everything
/// that falls due before the next weekly digest.
pub const DEFAULT_DUE_SOON_WORKING_DAYS: u32 = 5;
/// Default hour the digest goes, Europe/London: before the office day starts.
pub const DEFAULT_HOUR: u32 = 8;
/// Default period of the timeliness figure, in calendar days (about a quarter, the period public
/// authorities commonly publish statistics for).
pub const DEFAULT_TIMELINESS_DAYS: u32 = 90;
/// Longest timeliness period, in calendar days (two years): longer figures mean nothing to a
/// manager and cost a scan of every case.
pub const MAX_TIMELINESS_DAYS: u32 = 731;
/// The `[digests]` settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DigestSettings {
    /// A digest every working day (default true).
    pub daily: bool,
    /// A digest every week on `weekday` (default false). With `daily` also on, that day simply has
    /// one digest.
    pub weekly: bool,
    /// Hour of the day, Europe/London, 0–23 (default 8).
    pub hour: u32,
    /// Day of the weekly digest (default Monday; `"monday"`, `"mon"`…).
    pub weekday: Weekday,
    /// Cases with at most this many working days left are "due soon" (default 5).
    pub due_soon_working_days: u32,
    /// Period of the timeliness figure, in calendar days back from today (default 90).
    pub timeliness_days: u32,
}

impl Default for DigestSettings {
    fn default() -> Self {
        DigestSettings {
            daily: true,
            weekly: false,
            hour: DEFAULT_HOUR,
            weekday: Weekday::Mon,
            due_soon_working_days: DEFAULT_DUE_SOON_WORKING_DAYS,
            timeliness_days: DEFAULT_TIMELINESS_DAYS,
        }
    }
}

impl Section for DigestSettings {
    fn validate(&self, at: &str) -> Vec<ConfigError> {
        let key = |k: &str| key_path(at, k);
        let mut errors = Vec::new();
        if self.hour > 23 {
            errors.push(ConfigError {
                key: key("hour"),
                message: format!("{} is not an hour of the day (0 to 23)", self.hour),
            });
        }
        if self.due_soon_working_days > MAX_SCHEDULE_WORKING_DAYS {
            errors.push(ConfigError {
                key: key("due_soon_working_days"),
                message: format!(
                    "{} working days is more than the {} allowed",
                    self.due_soon_working_days, MAX_SCHEDULE_WORKING_DAYS
                ),
            });
        }
        if self.timeliness_days == 0 || self.timeliness_days > MAX_TIMELINESS_DAYS {
            errors.push(ConfigError {
                key: key("timeliness_days"),
                message: format!(
                    "{} days: the period must be 1 to {MAX_TIMELINESS_DAYS} days",
                    self.timeliness_days
                ),
            });
        }
        errors
    }
}
