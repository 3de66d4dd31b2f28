//! The systemd units' sandbox as `systemd-analyze security` scores it (the repository's unit and
//! the Debian package's). Issue 9 gives the unit
//! memory, task and file limits and the daemon a sandboxed decoder child; neither may cost the
//! unit its hardening, so the suite checks the score of the unit as shipped, and of the nightly
//! backup's unit beside it (issue 12), with the timer that starts it.
//!
//! `systemd-analyze` comes with Debian's `systemd` package (`scripts/install-deps.sh` installs
//! it). `--offline=yes` reads the unit file alone, so no running systemd is needed: it works in
//! a container. A missing tool fails the test with that hint; it never skips.

use crate::support;
use std::process::Command;

/// Highest accepted "Overall exposure level" (0 = fully locked down, 10 = fully exposed): 1.4,
/// the unit's score when issue 9 began.
const MAX_EXPOSURE: f64 = 1.4;

/// The number after "Overall exposure level for UNIT:" in a `systemd-analyze security` report.
fn overall_exposure(report: &str) -> Option<f64> {
    report.lines().find_map(|line| {
        let (_, rest) = line.split_once("Overall exposure level for ")?;
        let (_, score) = rest.split_once(": ")?;
        score.split_whitespace().next()?.parse().ok()
    })
}

/// The exposure `systemd-analyze security` gives `unit` (a unit file, relative to the repository),
/// checked to be at most [`MAX_EXPOSURE`].
fn exposure_of(unit: &str) -> f64 {
    let unit = support::repo(unit);
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(&unit)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run systemd-analyze ({e}): run scripts/install-deps.sh \
                 (it installs Debian's systemd package)"
            )
        });
    let report = support::stdout(&out);
    assert!(
        out.status.success(),
        "systemd-analyze security failed ({}):\n{report}\n{}",
        out.status,
        support::stderr(&out)
    );
    let exposure = overall_exposure(&report)
        .unwrap_or_else(|| panic!("no \"Overall exposure level\" line in:\n{report}"));
    assert!(
        exposure <= MAX_EXPOSURE,
        "{}'s exposure rose to {exposure} (at most {MAX_EXPOSURE}); the report:\n{report}",
        unit.display()
    );
    exposure
}

#[test]
fn the_units_security_exposure_is_at_most_1_4() {
    exposure_of("systemd/foi-triage.service");
}

#[test]
fn the_backup_unit_is_as_locked_down_as_the_daemon() {
    assert!(
        exposure_of("systemd/foi-triage-backup.service")
            <= exposure_of("systemd/foi-triage.service")
    );
}

/// `key=value` settings of a unit file, in order (comments and section headers left out).
fn settings(unit: &str) -> Vec<(String, String)> {
    std::fs::read_to_string(support::repo(&format!("systemd/{unit}")))
        .unwrap_or_else(|e| panic!("{unit}: {e}"))
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with('['))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn setting(unit: &str, key: &str) -> String {
    settings(unit)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("{unit} has no {key}="))
}

#[test]
fn the_timer_takes_a_backup_every_night_and_the_service_keeps_two_weeks() {
    let timer = "foi-triage-backup.timer";
    let service = "foi-triage-backup.service";
    assert_eq!(setting(timer, "OnCalendar"), "*-*-* 02:30:00");
    assert_eq!(
        setting(timer, "Persistent"),
        "true",
        "a missed night is made up"
    );
    assert_eq!(setting(timer, "Unit"), service);
    let start = setting(service, "ExecStart");
    assert!(
        start.contains(" export ") && start.ends_with(" /var/lib/foi-triage-backups"),
        "{start}"
    );
    assert!(
        setting(service, "StateDirectory")
            .split_whitespace()
            .eq(["foi-triage", "foi-triage-backups"]),
        "the store's directory (for the store and the control socket) and the backups' own"
    );
    assert_eq!(setting(service, "Environment"), "FOI_TRIAGE_BACKUP_KEEP=14");
    // The daemon's user, so the control socket (0600 in a 0700 directory) answers it.
    for key in ["User", "DynamicUser", "ConfigurationDirectory"] {
        assert_eq!(
            setting(service, key),
            setting("foi-triage.service", key),
            "{key}"
        );
    }
    assert_eq!(
        setting(service, "UMask"),
        "0077",
        "backups hold personal data"
    );
}

/// Issue 12: the Debian package's unit (`debian/foi-triage.service`) is as hardened as the
/// repository's.
#[test]
fn the_packaged_units_security_exposure_is_at_most_1_4() {
    exposure_of("debian/foi-triage.service");
}

/// The packaged unit is the repository's unit with the package's binary path and its static
/// system user, and nothing else: a hardening line added to one and not the other fails here.
#[test]
fn the_packaged_unit_is_the_repository_unit_with_the_packages_paths_and_user() {
    let read = |unit: &str| {
        let text = std::fs::read_to_string(support::repo(unit)).expect("read the unit");
        // The comment block above [Unit] says how each is installed; the rest must match.
        let start = text.find("[Unit]").expect("a [Unit] section");
        text[start..].to_string()
    };
    let expected = read("systemd/foi-triage.service")
        .replace("/usr/local/bin/foi-triage", "/usr/bin/foi-triage")
        .replace(
            "# A dedicated, unprivileged user created on the fly; state lives in /var/lib/foi-triage.\n\
             DynamicUser=yes\n\
             User=foi-triage\n",
            "# The package's unprivileged system user (adduser --system); state lives in /var/lib/foi-triage.\n\
             # What DynamicUser= would imply is set below (RemoveIPC=, PrivateTmp=, ProtectSystem=strict...).\n\
             User=foi-triage\n\
             Group=foi-triage\n\
             RemoveIPC=yes\n",
        );
    let packaged = read("debian/foi-triage.service");
    assert!(
        !packaged.lines().any(|l| l.starts_with("DynamicUser=")),
        "{packaged}"
    );
    assert_eq!(packaged, expected);
}

#[test]
fn the_exposure_line_is_read_and_anything_else_is_not_a_score() {
    let report = "✓ UMask=    Files created by service are accessible only by service's own user\n\n\
                  → Overall exposure level for foi-triage.service: 1.4 OK 🙂\n";
    assert_eq!(overall_exposure(report), Some(1.4));
    assert_eq!(
        overall_exposure("→ Overall exposure level for x.service: 9.6 UNSAFE 😨"),
        Some(9.6)
    );
    for no_score in [
        "",
        "Overall exposure level for x.service:",
        "→ Overall exposure level for x.service: high",
        "exposure: 1.0",
    ] {
        assert_eq!(overall_exposure(no_score), None, "{no_score:?}");
    }
}
