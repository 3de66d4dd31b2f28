//! The daemon's test world on the real mail stack: its config, the requests it is sent, IMAP
//! settings for the stack's users, a tag that keeps runs apart.

use super::stack::Stack;
use foi_triage::io::mail::imap::{ImapAuth, ImapSettings, ImapTimeouts, Security};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A tag unique to this run, so mailboxes left by earlier runs on the same stack never count:
/// every user and requester name carries it.
pub fn run_tag() -> &'static str {
    static TAG: OnceLock<String> = OnceLock::new();
    TAG.get_or_init(|| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        format!("{:x}", (t as u64) ^ u64::from(std::process::id()) << 40)
    })
}

/// Writes `dir/foi-triage.toml` (and its IMAP password, `dir/pw`) for a daemon whose shared
/// mailbox is `user` on `stack` (IMAPS with the stack's CA, SMTP on loopback, fast outbox
/// retries), followed by `extra` TOML; returns its path.
pub fn write_daemon_config(dir: &Path, stack: &Stack, user: &str, extra: &str) -> PathBuf {
    std::fs::write(dir.join("pw"), "secret").expect("write password");
    let config = format!(
        r#"
[organisation]
name = "Example Borough Council"
region = "england-and-wales"
[mailbox]
address = "{user}@council.example"
[paths]
data_dir = "data"
rules_dir = "{rules}"
templates_dir = "{templates}"
[imap]
host = "localhost"
port = {imaps}
security = "tls"
ca_file = "{ca}"
username = "{user}"
auth = "login"
password_file = "pw"
mailbox = "INBOX"
[smtp]
host = "127.0.0.1"
port = {smtp}
security = "plain"
timeout_seconds = 10
[outbox]
retry_first_seconds = 1
retry_max_seconds = 2
{extra}
"#,
        rules = super::repo("rules").display(),
        templates = super::repo("templates").display(),
        imaps = stack.var("MAILSTACK_IMAPS_PORT"),
        ca = stack.var("MAILSTACK_CA"),
        smtp = stack.var("MAILSTACK_SMTP_PORT"),
    );
    let path = dir.join("foi-triage.toml");
    std::fs::write(&path, config).expect("write config");
    path
}

/// IMAPS as `user` (password "secret"), trusting only the stack's test CA.
pub fn imap_settings(stack: &Stack, user: &str) -> ImapSettings {
    ImapSettings {
        host: "localhost".into(),
        port: stack.port("MAILSTACK_IMAPS_PORT"),
        security: Security::Tls,
        ca_file: Some(stack.var("MAILSTACK_CA").into()),
        auth: ImapAuth::Login {
            username: user.into(),
            password: "secret".into(),
        },
        timeouts: ImapTimeouts::default(),
    }
}

/// A simple, valid FOI request from `from`, number `n` (in its subject and Message-ID).
pub fn foi_request(from: &str, n: usize) -> Vec<u8> {
    format!(
        "From: Pat Requester <{from}>\r\nTo: foi@council.example\r\nSubject: Freedom of Information request {n}\r\n\
         Message-ID: <req-{n}-{from}>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n\
         Dear Sir or Madam,\r\n\r\nUnder the Freedom of Information Act 2000, please provide the number of \
         potholes repaired on Mill Lane in each of the last three financial years (request {n}).\r\n\r\n\
         Yours faithfully,\r\nPat Requester\r\n12 High Street, Exampletown EX1 2AB\r\n"
    )
    .into_bytes()
}
