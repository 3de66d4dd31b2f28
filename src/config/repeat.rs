//! The `[workflow.repeats]` settings: how far back and how alike a request must be to be flagged
//! as a possible repeat. Read and checked here; computed by `core::repeat`.

use crate::config::ConfigError;
use crate::config::toml::{Section, key_path};
use serde::{Deserialize, Serialize};

/// Default similarity from which a pair is flagged. Chosen on the realistic pairs in the tests: a
/// re-worded repeat scores about 0.6, a forwarded copy 0.8, two different requests from one person
/// or on one topic under 0.1. 0.35 leaves room for the estimate's noise on the side of asking a
/// human (a false flag costs a glance; a missed repeat costs nothing worse than today).
pub const DEFAULT_THRESHOLD: f64 = 0.35;

/// Default look-back, in calendar months. The ICO's s.14(2) guidance treats the interval as a
/// matter of judgement; a year covers most repeats an officer would act on.
pub const DEFAULT_WINDOW_MONTHS: u32 = 12;

/// Longest look-back an operator may set, in months: ten years is past any retention schedule a
/// council keeps FOI cases for, so a larger value is a typo.
pub const MAX_WINDOW_MONTHS: u32 = 120;

/// Lowest threshold an operator may set: below it almost every pair of requests on one topic
/// would be flagged, which trains officers to ignore the flag.
pub const MIN_THRESHOLD: f64 = 0.1;

/// Repeat-detection settings, for a `[repeats]` table in the configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RepeatSettings {
    /// Look back this many calendar months (default [`DEFAULT_WINDOW_MONTHS`]).
    pub window_months: u32,
    /// Flag from this similarity (default [`DEFAULT_THRESHOLD`]), [`MIN_THRESHOLD`]..=1.0.
    pub threshold: f64,
}

impl Default for RepeatSettings {
    fn default() -> Self {
        RepeatSettings {
            window_months: DEFAULT_WINDOW_MONTHS,
            threshold: DEFAULT_THRESHOLD,
        }
    }
}

impl Section for RepeatSettings {
    fn validate(&self, at: &str) -> Vec<ConfigError> {
        let key = |k: &str| key_path(at, k);
        let mut errors = Vec::new();
        if !(1..=MAX_WINDOW_MONTHS).contains(&self.window_months) {
            errors.push(ConfigError {
                key: key("window_months"),
                message: format!(
                    "{} is out of range; use 1 to {MAX_WINDOW_MONTHS} months (default \
                     {DEFAULT_WINDOW_MONTHS})",
                    self.window_months
                ),
            });
        }
        if !(MIN_THRESHOLD..=1.0).contains(&self.threshold) {
            errors.push(ConfigError {
                key: key("threshold"),
                message: format!(
                    "{} is out of range; use a similarity from {MIN_THRESHOLD} to 1.0 (default \
                     {DEFAULT_THRESHOLD})",
                    self.threshold
                ),
            });
        }
        errors
    }
}
