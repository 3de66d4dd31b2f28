//! The `[machine_mail]` settings: how long mail filed without a case is kept for people, and which
//! team gets the daily list of it. Read and checked here; applied by `core::plan::machine`.

use crate::config::ConfigError;
use crate::config::toml::{Section, key_path};
use serde::{Deserialize, Serialize};

/// Default retention of machine mail, in days: a month gives an officer back from a fortnight's
/// leave time to find a request an auto-responder rule swallowed, without keeping raw mail (which
/// may quote a requester's personal data) indefinitely. Retention proper is the store's wider
/// policy; this only bounds what this feature adds.
pub const DEFAULT_MACHINE_MAIL_KEEP_DAYS: u32 = 30;
/// Shortest retention accepted, in days: the list goes out on working days only, so a week
/// covers the longest run of days off (Christmas) before a record could be deleted unlisted.
pub const MIN_MACHINE_MAIL_KEEP_DAYS: u32 = 7;
/// Longest retention accepted, in days (a year): longer is keeping raw mail for ever in effect.
pub const MAX_MACHINE_MAIL_KEEP_DAYS: u32 = 366;

/// The `[machine_mail]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MachineMailSettings {
    /// Days a record (and its raw bytes) is kept after it was filed (default 30).
    pub keep_days: u32,
    /// The routing file's team that gets the daily list (its manager): the team that owns the
    /// shared mailbox. Default: the `[defaults]` team for `foi`, the information-rights team.
    pub team: Option<String>,
}

impl Default for MachineMailSettings {
    fn default() -> Self {
        MachineMailSettings {
            keep_days: DEFAULT_MACHINE_MAIL_KEEP_DAYS,
            team: None,
        }
    }
}

impl Section for MachineMailSettings {
    fn validate(&self, at: &str) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        if !(MIN_MACHINE_MAIL_KEEP_DAYS..=MAX_MACHINE_MAIL_KEEP_DAYS).contains(&self.keep_days) {
            errors.push(ConfigError {
                key: key_path(at, "keep_days"),
                message: format!(
                    "{} days is out of range; use {MIN_MACHINE_MAIL_KEEP_DAYS} to \
                     {MAX_MACHINE_MAIL_KEEP_DAYS} (default {DEFAULT_MACHINE_MAIL_KEEP_DAYS})",
                    self.keep_days
                ),
            });
        }
        if self.team.as_deref().is_some_and(|t| t.trim().is_empty()) {
            errors.push(ConfigError {
                key: key_path(at, "team"),
                message: "empty: name a team of the routing file, or leave the key out".into(),
            });
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_section_reads_and_checks() {
        let d = MachineMailSettings::default();
        assert_eq!((d.keep_days, d.team), (30, None));
        let s = MachineMailSettings::from_toml("keep_days = 14\nteam = \"ig\"", "machine_mail")
            .expect("valid");
        assert_eq!((s.keep_days, s.team.as_deref()), (14, Some("ig")));
        for bad in [
            "keep_days = 0",
            "keep_days = 6",
            "keep_days = 400",
            "team = \" \"",
        ] {
            let e = MachineMailSettings::from_toml(bad, "machine_mail").unwrap_err();
            assert!(e[0].key.starts_with("machine_mail."), "{bad}: {e:?}");
        }
        assert!(MachineMailSettings::from_toml("days = 3", "machine_mail").is_err());
    }
}
