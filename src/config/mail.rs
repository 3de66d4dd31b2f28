//! How to reach the mail servers: the `[imap]` and `[smtp]` sections as plain values. The
//! connections themselves are `io::mail`'s.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Default for [`ImapTimeouts::connect`]: 30 s for TCP connect, TLS handshake and greeting
/// together; a healthy server answers in well under a second, a black-holed one never.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default for [`ImapTimeouts::command`]: 60 s per command. SELECT or SEARCH on a folder of
/// 100,000 messages takes seconds on a loaded server; a minute without an answer means the
/// connection is dead.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Default for [`ImapTimeouts::fetch`]: 300 s for one message. Messages may be 50 MB (scanned
/// letters); at 2 Mbit/s that is 200 s.
pub const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(300);
/// Default for [`ImapTimeouts::poll_interval`]: 60 s between NOOPs when the server has no IDLE;
/// new requests are then seen within a minute, far inside any statutory deadline.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(60);
/// Default for `[imap] max_message_bytes`: 50 MiB. Larger than what most providers deliver by
/// default (Exchange Online 36 MB, Gmail 50 MB with encoding) so a real request is read in full;
/// small enough that the few copies intake holds (the fetch buffer, the bytes, the parse) stay far
/// inside the service's 1 GB `MemoryMax`.
pub const DEFAULT_MAX_MESSAGE_BYTES: u64 = 50 * 1024 * 1024;
/// Accepted values of `[imap] max_message_bytes`, in bytes: 1 MiB (below that ordinary requests
/// with a scanned letter would be cut) to 64 MiB, the parser's own limit
/// (`core::parse::MAX_PARSE_BYTES`): a larger message read whole would get only its header block
/// read, without even its sender, where its first MiB gives a proper case.
pub const MESSAGE_BYTES_RANGE: std::ops::RangeInclusive<i64> = 1024 * 1024..=64 * 1024 * 1024;
/// How a connection to a mail server is protected (IMAP and SMTP alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Implicit TLS from the first byte (IMAPS on 993, submission on 465, RFC 8314). The default
    /// for a reason: nothing, not even the greeting, travels in clear.
    Tls,
    /// Plain connection upgraded with STARTTLS, which is then required (IMAP 143, SMTP 587,
    /// RFC 3207).
    StartTls,
    /// No TLS at all. Only for a server on the same host or in tests: credentials travel in
    /// clear (SMTP refuses credentials on it).
    Plain,
}

/// Where an OAuth2 access token comes from. It is read again on every connection because access
/// tokens expire after about an hour and are refreshed by something outside this daemon.
#[derive(Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// A file holding the token (whitespace around it is ignored), kept fresh by another process.
    File(PathBuf),
    /// A command run with `sh -c`; its standard output (trimmed) is the token.
    Command(String),
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => f.debug_tuple("File").field(path).finish(),
            // The command line may carry a client secret: never print it.
            Self::Command(_) => f.write_str("Command(<redacted>)"),
        }
    }
}

/// How to authenticate.
#[derive(Clone, PartialEq, Eq)]
pub enum ImapAuth {
    /// IMAP LOGIN with a password.
    Login {
        /// The login name.
        username: String,
        /// The password; never logged or printed.
        password: String,
    },
    /// SASL XOAUTH2 (Microsoft 365, Google), with a bearer token fetched on every connection.
    XOAuth2 {
        /// The mailbox's user name (usually its address).
        username: String,
        /// Where the access token comes from.
        token_source: TokenSource,
    },
}

impl ImapAuth {
    /// The user name, for messages and logs (the secret is never exposed this way).
    pub fn username(&self) -> &str {
        match self {
            Self::Login { username, .. } | Self::XOAuth2 { username, .. } => username,
        }
    }
}

impl fmt::Debug for ImapAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Login { username, .. } => f
                .debug_struct("Login")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Self::XOAuth2 {
                username,
                token_source,
            } => f
                .debug_struct("XOAuth2")
                .field("username", username)
                .field("token_source", token_source)
                .finish(),
        }
    }
}

/// Time limits for the IMAP conversation; every network wait is bounded by one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImapTimeouts {
    /// TCP connect + TLS handshake + greeting (+ STARTTLS).
    pub connect: Duration,
    /// Any single command other than a message fetch (LOGIN, SELECT, SEARCH, MOVE, ...).
    pub command: Duration,
    /// Fetching one message (within a batch, counted from the message before it).
    pub fetch: Duration,
    /// Interval between NOOPs in `ImapClient::idle` when the server has no IDLE.
    pub poll_interval: Duration,
}

impl Default for ImapTimeouts {
    fn default() -> Self {
        Self {
            connect: DEFAULT_CONNECT_TIMEOUT,
            command: DEFAULT_COMMAND_TIMEOUT,
            fetch: DEFAULT_FETCH_TIMEOUT,
            poll_interval: DEFAULT_POLL_INTERVAL,
        }
    }
}

/// Everything needed to open a connection; a plain value built from the configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImapSettings {
    /// Host name or IP address; also the name the certificate must carry.
    pub host: String,
    /// TCP port (993 for IMAPS, 143 for STARTTLS, as a rule).
    pub port: u16,
    /// TLS mode.
    pub security: Security,
    /// A PEM file of CA certificates to trust INSTEAD of the public web roots, for a server with
    /// a private CA. `None` = the Mozilla roots bundled by `webpki-roots`.
    pub ca_file: Option<PathBuf>,
    /// Credentials.
    pub auth: ImapAuth,
    /// Time limits.
    pub timeouts: ImapTimeouts,
}

/// Default time for one whole send (connect, TLS, AUTH, MAIL/RCPT/DATA), in seconds. Generous for
/// a slow relay, short enough that a wedged server cannot stall the outbox for long.
pub const SMTP_DEFAULT_TIMEOUT_SECS: u64 = 60;

/// A username and password for SMTP AUTH (PLAIN or LOGIN). `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpCredentials {
    /// Login name.
    pub username: String,
    /// Password (or app password).
    pub password: String,
}

impl fmt::Debug for SmtpCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpCredentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Where and how to submit mail. Plain data: built by `config` from the `[smtp]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    /// Server host name (also the TLS server name; an IP address works when the certificate
    /// names it).
    pub host: String,
    /// TCP port (25, 465, 587…).
    pub port: u16,
    /// Plain, STARTTLS or implicit TLS.
    pub security: Security,
    /// A PEM file of extra trusted root certificates (a private CA), added to the built-in
    /// Mozilla roots (webpki-roots).
    pub ca_file: Option<PathBuf>,
    /// AUTH credentials, if the server needs them.
    pub credentials: Option<SmtpCredentials>,
    /// Limit for one whole send; see [`SMTP_DEFAULT_TIMEOUT_SECS`].
    pub timeout: Duration,
}
