//! The real mail stack (`scripts/mailstack.sh`: Dovecot + Postfix on loopback) for tests and
//! benches that talk to servers: start it (or find it running) under a fixed directory and port
//! base, read its coordinates, look into its Maildirs.
//!
//! One file serves three crates: the integration tests and the benches (as `support::stack`) and
//! the library's own unit tests of the mail edges (`src/io/mail/mod.rs` includes it with
//! `#[cfg(test)] #[path]`). So it uses std only, and each includer uses a part of it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

/// A running stack, as described by its `DIR/env` file.
pub struct Stack {
    dir: &'static str,
    env: HashMap<String, String>,
}

impl Stack {
    /// A value from `DIR/env` (e.g. `MAILSTACK_SMTP_PORT`); a missing key fails the test.
    pub fn var(&self, key: &str) -> String {
        self.env
            .get(key)
            .cloned()
            .unwrap_or_else(|| panic!("{key} missing from {}/env", self.dir))
    }

    /// A port from `DIR/env`.
    pub fn port(&self, key: &str) -> u16 {
        self.var(key)
            .parse()
            .unwrap_or_else(|e| panic!("{key} in {}/env: {e}", self.dir))
    }

    /// The messages delivered to `user`'s INBOX (new and cur), straight from the Maildir,
    /// sorted by path.
    pub fn delivered(&self, user: &str) -> Vec<std::path::PathBuf> {
        self.in_folder(user, "")
    }

    /// The messages in one of `user`'s folders, by its Maildir++ directory (`.Triage.FOI` holds
    /// the folder the server calls `Triage.FOI`, or `INBOX.Triage.FOI` on a stack started with
    /// `MAILSTACK_NS_PREFIX=INBOX.`; `""` is the INBOX), sorted by path.
    pub fn in_folder(&self, user: &str, dir: &str) -> Vec<std::path::PathBuf> {
        let root = Path::new(&self.var("MAILSTACK_MAILDIR"))
            .join(user.to_ascii_lowercase())
            .join(dir);
        let mut out: Vec<_> = ["new", "cur"]
            .iter()
            .filter_map(|d| std::fs::read_dir(root.join(d)).ok())
            .flat_map(|rd| rd.flatten().map(|e| e.path()))
            .collect();
        out.sort();
        out
    }
}

/// Starts (or finds running) a stack under `dir` on `port_base`; each test module uses its own
/// so modules run side by side. The error carries a hint for running it by hand.
pub fn start(dir: &'static str, port_base: &str) -> Result<Stack, String> {
    start_with_prefix(dir, port_base, "")
}

/// [`start`] with Dovecot's personal namespace under `ns_prefix` (`INBOX.`: the Cyrus and
/// Courier layout), or Dovecot's own (`""`).
pub fn start_with_prefix(
    dir: &'static str,
    port_base: &str,
    ns_prefix: &str,
) -> Result<Stack, String> {
    let hint = format!(
        "these tests need the real mail stack; run as root: \
         MAILSTACK_PORT_BASE={port_base} MAILSTACK_NS_PREFIX={ns_prefix} \
         bash scripts/mailstack.sh start {dir} (logs in {dir}/log)"
    );
    let out = Command::new("bash")
        .arg("scripts/mailstack.sh")
        .arg("start")
        .arg(dir)
        .env("MAILSTACK_PORT_BASE", port_base)
        .env("MAILSTACK_NS_PREFIX", ns_prefix)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .map_err(|e| format!("cannot run scripts/mailstack.sh: {e}; {hint}"))?;
    if !out.status.success() {
        return Err(format!(
            "mailstack.sh start failed ({}): {}; {hint}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = std::fs::read_to_string(Path::new(dir).join("env"))
        .map_err(|e| format!("cannot read {dir}/env: {e}; {hint}"))?;
    let env = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Ok(Stack { dir, env })
}

/// The stack kept in `cell`, started on first use. A stack that cannot start FAILS the test
/// with the hint; it never skips.
pub fn get(
    cell: &'static std::sync::OnceLock<Result<Stack, String>>,
    dir: &'static str,
    port_base: &str,
) -> &'static Stack {
    get_with_prefix(cell, dir, port_base, "")
}

/// [`get`] for a stack started by [`start_with_prefix`].
pub fn get_with_prefix(
    cell: &'static std::sync::OnceLock<Result<Stack, String>>,
    dir: &'static str,
    port_base: &str,
    ns_prefix: &str,
) -> &'static Stack {
    match cell.get_or_init(|| start_with_prefix(dir, port_base, ns_prefix)) {
        Ok(stack) => stack,
        Err(e) => panic!("mail stack unavailable: {e}"),
    }
}
