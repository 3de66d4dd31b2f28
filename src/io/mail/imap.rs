//! The IMAP edge: one authenticated connection to the shared mailbox.
//!
//! What it does: connects (IMAPS, STARTTLS, or plain only when configured), verifies the server
//! certificate with rustls (ring provider, chosen explicitly), logs in with LOGIN or SASL XOAUTH2,
//! learns the server's personal namespace (RFC 2342; [`namespace`]) so configured folder names
//! are sent as that server spells them, selects a mailbox, lists UIDs and message sizes, fetches
//! raw messages (whole, the first bytes of one too large to hold, or headers only) without setting
//! `\Seen`, with a time limit per message rather than per batch, files messages into folders
//! (MOVE, else COPY + delete, else COPY + keyword), appends, and waits for new mail with IDLE (or
//! NOOP polling when the server has no IDLE).
//!
//! What it does not do: parse or classify mail, keep the cursor (UIDVALIDITY + last UID, owned by
//! the store), reconnect or retry (the caller decides, using [`ImapError::is_transient`]), or
//! rely on unsolicited `EXISTS`/`EXPUNGE` notices for correctness: they only wake the caller, who
//! re-syncs by UID.
//!
//! Every command runs under `tokio::time::timeout` (async-imap #63: a connection silently dropped
//! by a NAT otherwise hangs forever). After a timeout or a network error the session is in an
//! unknown state, so it is dropped: every later call fails with [`ImapError::Closed`] (transient)
//! and the caller connects again.
//!
//! An error on a folder ([`ImapError::Folder`]) names the folder both as configured and as sent,
//! so a server that refuses a name is diagnosed from the log alone.
//!
//! Nothing here logs message bodies, passwords or OAuth2 tokens.

pub use crate::config::mail::{
    DEFAULT_COMMAND_TIMEOUT, DEFAULT_CONNECT_TIMEOUT, DEFAULT_FETCH_TIMEOUT, DEFAULT_POLL_INTERVAL,
    ImapAuth, ImapSettings, ImapTimeouts, Security, TokenSource,
};
use std::collections::HashSet;
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::imap_proto::{MailboxDatum, Response, Status};
use async_imap::types::{Capability, UnsolicitedResponse};
use async_imap::{Client, Session};
use chrono::{DateTime, Utc};
use futures::TryStreamExt as _;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls;
use tokio_util::sync::CancellationToken;

pub mod namespace;
#[cfg(test)]
mod tests;

#[cfg(test)]
use namespace::validate_folder;
pub use namespace::{Namespace, server_name};

/// How long one IDLE command runs before it is ended and re-issued: 25 min. RFC 2177 §3 lets a
/// server log out a client idle for 30 min, and advises re-issuing at least every 29 min.
const IDLE_REISSUE_INTERVAL: Duration = Duration::from_secs(25 * 60);
/// Silence during IDLE after which the connection is probed by ending the IDLE: 5 min. Dovecot
/// sends `* OK Still here` every 2 min (chatmail/core uses the same 5 min), so 5 min of silence
/// means a dead connection or a server that sends no keepalives; DONE tells the two apart.
const IDLE_INACTIVITY_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// Time allowed for an OAuth2 token command: 30 s, enough for a helper that asks an identity
/// provider over HTTPS for a fresh token.
const TOKEN_COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest OAuth2 token accepted, in bytes: 64 KiB. Real access tokens (JWTs) are 1-4 KB; the cap
/// stops a misconfigured source (a log file, a chatty command) from filling memory.
const MAX_TOKEN_BYTES: u64 = 64 * 1024;
/// The keyword set on a filed message when the server can neither MOVE nor UID EXPUNGE: plain
/// EXPUNGE would also remove messages other people marked `\Deleted` in the shared mailbox.
pub const TRIAGED_KEYWORD: &str = "$FoiTriaged";

/// Why reading an OAuth2 token failed. The token itself never appears in these messages.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The token file could not be read.
    #[error("cannot read OAuth2 token file {path}: {source}")]
    Read {
        /// The configured file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The token command could not be started (e.g. `sh` missing).
    #[error("cannot start the OAuth2 token command: {source}")]
    Spawn {
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The token command exited unsuccessfully.
    #[error("the OAuth2 token command failed ({status})")]
    CommandFailed {
        /// Exit status as printed by the OS.
        status: String,
    },
    /// The token command did not finish in time (it is killed).
    #[error("the OAuth2 token command did not finish within {after:?}")]
    CommandTimeout {
        /// The limit.
        after: Duration,
    },
    /// The file or the command's output held no token.
    #[error("the OAuth2 token from {origin} is empty")]
    Empty {
        /// `file <path>` or `command`.
        origin: String,
    },
    /// The file or the command's output is larger than any real token (64 KiB).
    #[error("the OAuth2 token from {origin} is larger than {MAX_TOKEN_BYTES} bytes")]
    TooLarge {
        /// `file <path>` or `command`.
        origin: String,
    },
    /// The token holds characters a bearer token cannot hold (RFC 6750 §2.1).
    #[error("the OAuth2 token from {origin} is not a bearer token: {reason}")]
    Invalid {
        /// `file <path>` or `command`.
        origin: String,
        /// What is wrong (never the token itself).
        reason: &'static str,
    },
}

impl TokenError {
    /// Whether trying again later may help: a failing or slow token helper may be waiting for the
    /// identity provider; a missing file or malformed token needs an operator.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::CommandFailed { .. } | Self::CommandTimeout { .. }
        )
    }
}

/// An IMAP failure, classified so the caller can decide between "retry later" and "tell an
/// operator" ([`ImapError::is_transient`]).
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    /// TCP connect failed (refused, unreachable, DNS).
    #[error("cannot connect to {host}:{port}: {source}")]
    Connect {
        /// Configured host.
        host: String,
        /// Configured port.
        port: u16,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// An operation did not finish in time; the session is dropped.
    #[error("IMAP {op} timed out after {after:?}")]
    Timeout {
        /// The operation (connect, SELECT, IDLE, ...).
        op: &'static str,
        /// The limit that was hit.
        after: Duration,
    },
    /// The connection broke or the server said BYE; the session is dropped.
    #[error("IMAP connection lost during {op}: {detail}")]
    Connection {
        /// The operation.
        op: &'static str,
        /// What happened.
        detail: String,
    },
    /// An earlier failure dropped the session; connect again.
    #[error("IMAP session is closed after an earlier error; reconnect")]
    Closed,
    /// The server's certificate was rejected (unknown CA, wrong name, expired).
    #[error("certificate of {host} rejected: {detail}")]
    Certificate {
        /// The name checked.
        host: String,
        /// rustls's reason.
        detail: String,
    },
    /// The TLS handshake failed for another protocol reason (e.g. TLS to a plain-text port).
    #[error("TLS handshake with {host} failed: {detail}")]
    Tls {
        /// The name checked.
        host: String,
        /// rustls's reason.
        detail: String,
    },
    /// The CA file could not be used.
    #[error("CA file {path}: {detail}")]
    CaFile {
        /// The configured file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// The configured host is not a valid DNS name or IP address.
    #[error("invalid IMAP server name {host:?}")]
    ServerName {
        /// The configured host.
        host: String,
    },
    /// The server refused the credentials (`transient` when it said the auth service is down).
    #[error("IMAP authentication as {username} failed: {detail}")]
    Auth {
        /// The user name (never the secret).
        username: String,
        /// The server's answer.
        detail: String,
        /// `[UNAVAILABLE]`: the server's auth backend is down, not the credentials wrong.
        transient: bool,
    },
    /// The OAuth2 token could not be obtained.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The server answered NO (e.g. no such mailbox, permission denied).
    #[error("IMAP server refused {op}: {detail}")]
    No {
        /// The operation.
        op: &'static str,
        /// The server's answer.
        detail: String,
    },
    /// The server answered BAD (it did not understand the command).
    #[error("IMAP server rejected {op} as bad: {detail}")]
    Bad {
        /// The operation.
        op: &'static str,
        /// The server's answer.
        detail: String,
    },
    /// The server's answer could not be understood or lacked something required.
    #[error("unexpected IMAP response to {op}: {detail}")]
    Protocol {
        /// The operation.
        op: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// An argument cannot be sent (CR/LF in a name, a wildcard in a folder name, a bad flag).
    #[error("invalid {what}: {detail}")]
    Invalid {
        /// Which argument.
        what: &'static str,
        /// Why.
        detail: String,
    },
    /// The server refused a command on a folder (SELECT, CREATE, MOVE, COPY, APPEND…): its
    /// answer, with the folder's name exactly as sent to the server and as configured, since the
    /// two differ by the server's namespace prefix and delimiter.
    #[error("{cause} (folder {server:?} as sent to the server, {configured:?} as configured)")]
    Folder {
        /// The name in the configuration (`Triage/FOI`).
        configured: String,
        /// The name sent (`INBOX.Triage.FOI`).
        server: String,
        /// What went wrong.
        cause: Box<ImapError>,
    },
}

impl ImapError {
    /// Whether the same call may succeed later without anyone changing the configuration:
    /// network trouble, timeouts and lost connections are transient; certificate, credential,
    /// configuration and protocol errors are not (retrying them only hides the problem).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Connect { .. }
            | Self::Timeout { .. }
            | Self::Connection { .. }
            | Self::Closed => true,
            Self::Auth { transient, .. } => *transient,
            Self::Token(e) => e.is_transient(),
            Self::Folder { cause, .. } => cause.is_transient(),
            Self::Certificate { .. }
            | Self::Tls { .. }
            | Self::CaFile { .. }
            | Self::ServerName { .. }
            | Self::No { .. }
            | Self::Bad { .. }
            | Self::Protocol { .. }
            | Self::Invalid { .. } => false,
        }
    }

    /// Whether the session can no longer be used after this error (its state is unknown).
    fn breaks_session(&self) -> bool {
        match self {
            Self::Folder { cause, .. } => cause.breaks_session(),
            other => matches!(
                other,
                Self::Timeout { .. }
                    | Self::Connection { .. }
                    | Self::Closed
                    | Self::Protocol { .. }
            ),
        }
    }

    /// This error, with the folder it concerned (see [`ImapError::Folder`]), when the server
    /// refused the command; a lost connection or a timeout is about the connection, and an
    /// invalid name already names what was configured: those stay as they are.
    fn on_folder(self, configured: &str, server: &str) -> Self {
        match self {
            cause @ (Self::No { .. } | Self::Bad { .. }) => Self::Folder {
                configured: configured.to_owned(),
                server: server.to_owned(),
                cause: Box::new(cause),
            },
            other => other,
        }
    }

    /// Classifies an async-imap error raised by `op`.
    fn from_imap(op: &'static str, err: async_imap::error::Error) -> Self {
        use async_imap::error::Error as E;
        match err {
            E::Io(e) => Self::Connection {
                op,
                detail: e.to_string(),
            },
            E::ConnectionLost => Self::Connection {
                op,
                detail: "connection closed by the server".to_owned(),
            },
            E::No(detail) => Self::No { op, detail },
            E::Bad(detail) => Self::Bad { op, detail },
            E::Validate(e) => Self::Invalid {
                what: "IMAP argument",
                detail: e.to_string(),
            },
            E::Append => Self::No {
                op,
                detail: "the server did not accept the message".to_owned(),
            },
            other => Self::Protocol {
                op,
                detail: other.to_string(),
            },
        }
    }

    /// Classifies a failed LOGIN/AUTHENTICATE: NO/BAD mean the credentials or mechanism.
    fn from_auth(username: &str, err: async_imap::error::Error) -> Self {
        use async_imap::error::Error as E;
        match err {
            E::No(detail) | E::Bad(detail) => Self::Auth {
                username: username.to_owned(),
                // RFC 5530: [UNAVAILABLE] = the authentication backend is down right now.
                transient: detail.contains("UNAVAILABLE") || detail.contains("Unavailable"),
                detail,
            },
            other => Self::from_imap("authentication", other),
        }
    }
}

/// The state of a selected mailbox: what the cursor (UIDVALIDITY + last UID) is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailboxState {
    /// When this changes, every stored UID for the mailbox is void (RFC 3501 §2.3.1.1).
    pub uidvalidity: u32,
    /// The UID the next message will get (at least).
    pub uid_next: u32,
    /// Number of messages in the mailbox.
    pub exists: u32,
}

/// One fetched message.
#[derive(Clone, PartialEq, Eq)]
pub struct Fetched {
    /// Its UID in the selected mailbox.
    pub uid: u32,
    /// When the server received it (IMAP INTERNALDATE): the statutory "date of receipt" when the
    /// mail came straight to the shared mailbox.
    pub internal_date: DateTime<Utc>,
    /// The exact RFC 5322 bytes: the whole message, or only its first bytes when `partial`.
    pub raw: Vec<u8>,
    /// The whole message's size in bytes, as the server reports it (RFC822.SIZE).
    pub size: u64,
    /// Only the first bytes were fetched ([`Extent::Head`]): the message is larger than anyone
    /// should hold in memory, and the rest is in the mailbox.
    pub partial: bool,
}

impl fmt::Debug for Fetched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Personal data: never print the bytes, only their size.
        f.debug_struct("Fetched")
            .field("uid", &self.uid)
            .field("internal_date", &self.internal_date)
            .field("raw_len", &self.raw.len())
            .field("size", &self.size)
            .field("partial", &self.partial)
            .finish()
    }
}

/// How much of each message a fetch asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extent {
    /// The whole message (`BODY.PEEK[]`).
    Whole,
    /// Its first `n` bytes (`BODY.PEEK[]<0.n>`): the header and the start of the body of a
    /// message too large to hold.
    Head(u32),
}

/// One UID FETCH of [`ImapClient::fetch_batch`]: UIDs ascending, all of one extent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// The messages.
    pub uids: Vec<u32>,
    /// How much of each.
    pub extent: Extent,
}

/// What one fetch may bring in, so that neither memory nor one slow message decides for the
/// messages around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchLimits {
    /// A message larger than this is fetched only as its first [`FetchLimits::head_bytes`].
    pub max_message_bytes: u64,
    /// Bytes one batch may hold in all (a message larger than this goes alone).
    pub batch_bytes: u64,
    /// Messages one batch may hold.
    pub batch_messages: usize,
    /// How much of a message over the cap is read.
    pub head_bytes: u32,
}

/// Splits `sizes` (UID, RFC822.SIZE; ascending) into fetches: messages up to the cap in batches
/// bounded by [`FetchLimits::batch_bytes`] and [`FetchLimits::batch_messages`], UID order kept;
/// a message over [`FetchLimits::max_message_bytes`] alone, as [`Extent::Head`]; a message for
/// which `alone` holds (one that failed in a batch before) alone, whole.
pub fn plan_batches(
    sizes: &[(u32, u64)],
    limits: &FetchLimits,
    alone: impl Fn(u32) -> bool,
) -> Vec<Batch> {
    let mut out: Vec<Batch> = Vec::new();
    let mut open: Option<(Batch, u64)> = None;
    for &(uid, size) in sizes {
        let single = if size > limits.max_message_bytes {
            Some(Extent::Head(limits.head_bytes))
        } else if alone(uid) {
            Some(Extent::Whole)
        } else {
            None
        };
        if let Some(extent) = single {
            out.extend(open.take().map(|(b, _)| b));
            out.push(Batch {
                uids: vec![uid],
                extent,
            });
            continue;
        }
        if let Some((batch, bytes)) = &mut open
            && batch.uids.len() < limits.batch_messages.max(1)
            && bytes.saturating_add(size) <= limits.batch_bytes
        {
            batch.uids.push(uid);
            *bytes += size;
            continue;
        }
        out.extend(open.take().map(|(b, _)| b));
        open = Some((
            Batch {
                uids: vec![uid],
                extent: Extent::Whole,
            },
            size,
        ));
    }
    out.extend(open.map(|(b, _)| b));
    out
}

/// A UID set for a command: ascending runs written as ranges (`1:5,9,12:13`), so a command about
/// thousands of messages stays short (servers cap command lines, Dovecot at 64 KiB).
pub fn uid_set(uids: &[u32]) -> String {
    let mut sorted = uids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out = String::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end.saturating_add(1) {
            i += 1;
            end = sorted[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

/// How [`ImapClient::file`] filed a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filed {
    /// UID MOVE (RFC 6851).
    Moved,
    /// UID COPY, `\Deleted`, UID EXPUNGE of that UID only (RFC 4315 UIDPLUS).
    CopiedAndExpunged,
    /// UID COPY and the keyword [`TRIAGED_KEYWORD`]; the original stays in the source folder.
    CopiedAndMarked,
}

/// Why [`ImapClient::idle`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleOutcome {
    /// The server reported new messages (EXISTS/RECENT); re-sync by UID.
    NewData,
    /// The requested time passed without new messages.
    Timeout,
    /// The cancellation token fired.
    Cancelled,
}

/// The byte stream under the IMAP session: TCP, or TLS over TCP.
#[derive(Debug)]
enum Transport {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// The SASL XOAUTH2 client response (Google's and Microsoft's format):
/// `user=<u>\x01auth=Bearer <token>\x01\x01`.
///
/// # Errors
/// [`ImapError::Invalid`] when the user name holds control characters (they would break the
/// `\x01`-separated format). The token is assumed checked by [`TokenSource::read`].
pub fn xoauth2_sasl(username: &str, token: &str) -> Result<String, ImapError> {
    if username.is_empty() || username.chars().any(char::is_control) {
        return Err(ImapError::Invalid {
            what: "XOAUTH2 user name",
            detail: "empty or holds control characters".to_owned(),
        });
    }
    Ok(format!("user={username}\x01auth=Bearer {token}\x01\x01"))
}

/// Answers the server's XOAUTH2 challenges: the client response first; an empty line after an
/// error challenge (the server then sends the tagged NO), as the mechanism requires.
struct XOAuth2Authenticator {
    response: Option<String>,
}

impl async_imap::Authenticator for XOAuth2Authenticator {
    type Response = String;

    fn process(&mut self, _challenge: &[u8]) -> String {
        self.response.take().unwrap_or_default()
    }
}

impl TokenSource {
    /// Reads the current access token: the file's contents or the command's standard output,
    /// trimmed of surrounding whitespace.
    ///
    /// # Errors
    /// [`TokenError`] when the file cannot be read, the command fails or times out (30 s), or the
    /// result is empty, larger than 64 KiB, or not a bearer token (visible ASCII only).
    pub async fn read(&self) -> Result<String, TokenError> {
        let (bytes, origin) = match self {
            Self::File(path) => {
                let read_err = |source| TokenError::Read {
                    path: path.clone(),
                    source,
                };
                let file = tokio::fs::File::open(path).await.map_err(read_err)?;
                let mut bytes = Vec::new();
                file.take(MAX_TOKEN_BYTES + 1)
                    .read_to_end(&mut bytes)
                    .await
                    .map_err(read_err)?;
                (bytes, format!("file {}", path.display()))
            }
            Self::Command(command) => (run_token_command(command).await?, "command".to_owned()),
        };
        if bytes.len() as u64 > MAX_TOKEN_BYTES {
            return Err(TokenError::TooLarge { origin });
        }
        let text = std::str::from_utf8(&bytes).map_err(|_| TokenError::Invalid {
            origin: origin.clone(),
            reason: "not UTF-8",
        })?;
        let token = text.trim();
        if token.is_empty() {
            return Err(TokenError::Empty { origin });
        }
        // RFC 6750 §2.1 b64token is a subset of visible ASCII; anything else (a space inside,
        // a newline between two tokens, a control byte) would corrupt the SASL string.
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(TokenError::Invalid {
                origin,
                reason: "holds spaces, control or non-ASCII characters",
            });
        }
        Ok(token.to_owned())
    }
}

/// Runs the token command with `sh -c`, killing it when it exceeds [`TOKEN_COMMAND_TIMEOUT`].
/// Its standard error goes to ours (the journal) for diagnosis.
async fn run_token_command(command: &str) -> Result<Vec<u8>, TokenError> {
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| TokenError::Spawn { source })?;
    let Some(stdout) = child.stdout.take() else {
        return Err(TokenError::Spawn {
            source: io::Error::other("no standard output pipe"),
        });
    };
    let run = async {
        let mut out = Vec::new();
        stdout
            .take(MAX_TOKEN_BYTES + 1)
            .read_to_end(&mut out)
            .await?;
        if out.len() as u64 > MAX_TOKEN_BYTES {
            // Do not wait for a command that may block writing the rest: it is killed on drop.
            return Ok((out, None));
        }
        Ok::<_, io::Error>((out, Some(child.wait().await?)))
    };
    let (out, status) = tokio::time::timeout(TOKEN_COMMAND_TIMEOUT, run)
        .await
        .map_err(|_| TokenError::CommandTimeout {
            after: TOKEN_COMMAND_TIMEOUT,
        })?
        .map_err(|source| TokenError::Spawn { source })?;
    match status {
        Some(status) if !status.success() => Err(TokenError::CommandFailed {
            status: status.to_string(),
        }),
        _ => Ok(out),
    }
}

/// Builds the rustls connector: the configured CA file as the only roots, else webpki-roots.
async fn tls_connector(settings: &ImapSettings) -> Result<TlsConnector, ImapError> {
    let mut roots = rustls::RootCertStore::empty();
    match &settings.ca_file {
        Some(path) => {
            let ca_err = |detail: String| ImapError::CaFile {
                path: path.clone(),
                detail,
            };
            let pem = tokio::fs::read(path)
                .await
                .map_err(|e| ca_err(e.to_string()))?;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| ca_err(format!("bad PEM: {e}")))?;
                roots
                    .add(cert)
                    .map_err(|e| ca_err(format!("unusable certificate: {e}")))?;
            }
            if roots.is_empty() {
                return Err(ca_err("no certificate in the file".to_owned()));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    // The provider is named explicitly: with more than one crypto provider in the dependency tree
    // the process-wide default would be ambiguous (and `builder()` would panic).
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| ImapError::Tls {
        host: settings.host.clone(),
        detail: e.to_string(),
    })?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// Runs the TLS handshake on `tcp`, classifying certificate failures apart from network ones.
async fn tls_handshake(
    settings: &ImapSettings,
    tcp: TcpStream,
) -> Result<TlsStream<TcpStream>, ImapError> {
    let connector = tls_connector(settings).await?;
    let name = ServerName::try_from(settings.host.clone()).map_err(|_| ImapError::ServerName {
        host: settings.host.clone(),
    })?;
    connector.connect(name, tcp).await.map_err(|e| {
        let host = settings.host.clone();
        match e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            Some(
                tls @ (rustls::Error::InvalidCertificate(_)
                | rustls::Error::NoCertificatesPresented
                | rustls::Error::InvalidCertRevocationList(_)),
            ) => ImapError::Certificate {
                host,
                detail: tls.to_string(),
            },
            Some(tls) => ImapError::Tls {
                host,
                detail: tls.to_string(),
            },
            None => ImapError::Connection {
                op: "TLS handshake",
                detail: e.to_string(),
            },
        }
    })
}

/// Reads the server greeting, which async-imap leaves to the caller. `* OK` is required; `* BYE`
/// (server busy) is transient; `* PREAUTH` is not supported (we must log in as the configured
/// user).
async fn read_greeting<T>(client: &mut Client<T>) -> Result<(), ImapError>
where
    T: AsyncRead + AsyncWrite + Unpin + fmt::Debug + Send,
{
    let Some(greeting) = client
        .read_response()
        .await
        .map_err(|e| ImapError::Connection {
            op: "greeting",
            detail: e.to_string(),
        })?
    else {
        return Err(ImapError::Connection {
            op: "greeting",
            detail: "closed before the greeting".to_owned(),
        });
    };
    match greeting.parsed() {
        Response::Data {
            status: Status::Ok, ..
        } => Ok(()),
        Response::Data {
            status: Status::Bye,
            outcome,
        } => Err(ImapError::Connection {
            op: "greeting",
            detail: format!("server said BYE: {:?}", outcome.information),
        }),
        other => Err(ImapError::Protocol {
            op: "greeting",
            detail: format!("unexpected greeting {other:?}"),
        }),
    }
}

/// Tag of the one command sent around async-imap ([`raw_namespace`]); async-imap's own tags are
/// `A` and a number, so the two never meet.
const NAMESPACE_TAG: &str = "FOINS";

/// Largest NAMESPACE answer read, in bytes: 16 KiB. Real ones are under 200 bytes; the cap stops
/// a broken server from filling memory.
const MAX_NAMESPACE_BYTES: usize = 16 * 1024;

/// Sends `NAMESPACE` on the transport itself and reads the answer up to its tagged completion:
/// the personal namespace, or `None` when the server has none or its answer is unusable (logged).
///
/// NOTE: async-imap 0.12's parser (imap-proto 0.17) knows no NAMESPACE response: `* NAMESPACE`
/// fails to parse and takes the session with it, so `run_command_and_check_ok` cannot be used.
/// This runs right after login, in the authenticated state (no mailbox selected), where the
/// server sends nothing unasked: async-imap's read buffer is empty, and every byte read here
/// belongs to this command.
///
/// # Errors
/// [`ImapError::No`]/[`ImapError::Bad`] when the server refuses the command (the session stays
/// usable); [`ImapError::Connection`]/[`ImapError::Protocol`] when the answer breaks off or is
/// not IMAP (the session is then dropped).
async fn raw_namespace(t: &mut Transport) -> Result<Option<Namespace>, ImapError> {
    const OP: &str = "NAMESPACE";
    let io_err = |e: io::Error| ImapError::Connection {
        op: OP,
        detail: e.to_string(),
    };
    t.write_all(format!("{NAMESPACE_TAG} NAMESPACE\r\n").as_bytes())
        .await
        .map_err(io_err)?;
    t.flush().await.map_err(io_err)?;
    let mut budget = MAX_NAMESPACE_BYTES;
    let mut found = None;
    let tagged = format!("{NAMESPACE_TAG} ");
    loop {
        let line = read_raw_line(t, &mut budget).await?;
        if let Some(rest) = line.strip_prefix(tagged.as_bytes()) {
            let text = String::from_utf8_lossy(rest).into_owned();
            let word = text.split(' ').next().unwrap_or("").to_ascii_uppercase();
            return match word.as_str() {
                "OK" => Ok(found),
                "NO" => Err(ImapError::No {
                    op: OP,
                    detail: text,
                }),
                "BAD" => Err(ImapError::Bad {
                    op: OP,
                    detail: text,
                }),
                _ => Err(ImapError::Protocol {
                    op: OP,
                    detail: format!("unexpected completion {text:?}"),
                }),
            };
        }
        if line.len() >= 11 && line[..11].eq_ignore_ascii_case(b"* NAMESPACE") {
            found = namespace::parse_namespace(&line).unwrap_or_else(|why| {
                tracing::warn!(why, "unusable NAMESPACE answer; asking LIST instead");
                None
            });
        } else if line.len() >= 5 && line[..5].eq_ignore_ascii_case(b"* BYE") {
            return Err(ImapError::Connection {
                op: OP,
                detail: format!("server said {:?}", String::from_utf8_lossy(&line)),
            });
        }
    }
}

/// Reads one response line from the transport, without its CRLF, with any literals (`{n}` at a
/// line end, then n bytes) inline; at most `budget` bytes in all. Byte by byte, so that nothing
/// after the line is taken from the stream.
async fn read_raw_line(t: &mut Transport, budget: &mut usize) -> Result<Vec<u8>, ImapError> {
    const OP: &str = "NAMESPACE";
    let too_long = || ImapError::Protocol {
        op: OP,
        detail: format!("answer longer than {MAX_NAMESPACE_BYTES} bytes"),
    };
    let io_err = |e: io::Error| ImapError::Connection {
        op: OP,
        detail: e.to_string(),
    };
    let mut line = Vec::new();
    loop {
        *budget = budget.checked_sub(1).ok_or_else(too_long)?;
        line.push(t.read_u8().await.map_err(io_err)?);
        if !line.ends_with(b"\r\n") {
            continue;
        }
        let head = &line[..line.len() - 2];
        let literal = head
            .strip_suffix(b"}")
            .and_then(|h| h.iter().rposition(|&c| c == b'{').map(|i| &h[i + 1..]))
            .and_then(|n| std::str::from_utf8(n).ok()?.parse::<usize>().ok());
        match literal {
            Some(n) => {
                *budget = budget.checked_sub(n).ok_or_else(too_long)?;
                let start = line.len();
                line.resize(start + n, 0);
                t.read_exact(&mut line[start..]).await.map_err(io_err)?;
            }
            None => {
                line.truncate(line.len() - 2);
                return Ok(line);
            }
        }
    }
}

/// Wraps a connect-phase future in the connect timeout.
async fn within<T>(
    limit: Duration,
    op: &'static str,
    fut: impl Future<Output = Result<T, ImapError>>,
) -> Result<T, ImapError> {
    tokio::time::timeout(limit, fut)
        .await
        .map_err(|_| ImapError::Timeout { op, after: limit })?
}

/// Opens the TCP/TLS transport and reads the greeting (with STARTTLS in between if asked).
async fn open_transport(settings: &ImapSettings) -> Result<Client<Transport>, ImapError> {
    let tcp = TcpStream::connect((settings.host.as_str(), settings.port))
        .await
        .map_err(|source| ImapError::Connect {
            host: settings.host.clone(),
            port: settings.port,
            source,
        })?;
    // Small commands, answered one by one: Nagle would only add latency.
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!(error = %e, "cannot set TCP_NODELAY");
    }
    match settings.security {
        Security::Tls => {
            let tls = tls_handshake(settings, tcp).await?;
            let mut client = Client::new(Transport::Tls(Box::new(tls)));
            read_greeting(&mut client).await?;
            Ok(client)
        }
        Security::Plain => {
            let mut client = Client::new(Transport::Plain(tcp));
            read_greeting(&mut client).await?;
            Ok(client)
        }
        Security::StartTls => {
            let mut client = Client::new(tcp);
            read_greeting(&mut client).await?;
            client
                .run_command_and_check_ok("STARTTLS", None)
                .await
                .map_err(|e| ImapError::from_imap("STARTTLS", e))?;
            // `into_inner` drops anything the server sent after its OK: such bytes were not
            // protected by TLS (the STARTTLS command-injection class of attacks, RFC 3207 §6).
            let tls = tls_handshake(settings, client.into_inner()).await?;
            // No greeting after STARTTLS (RFC 3501 §6.2.1).
            Ok(Client::new(Transport::Tls(Box::new(tls))))
        }
    }
}

/// One authenticated IMAP connection. Owned by one task (IMAP is a conversation: commands
/// cannot be interleaved); other tasks talk to that task, not to this value.
pub struct ImapClient {
    /// `None` once an error left the session in an unknown state.
    session: Option<Session<Transport>>,
    /// Capabilities after login, upper-cased ("IDLE", "MOVE", "UIDPLUS", "AUTH=PLAIN", ...).
    capabilities: HashSet<String>,
    timeouts: ImapTimeouts,
    /// The server's personal namespace, learnt at connect: how configured folder names are sent.
    namespace: Namespace,
    /// Folders (server names) known to exist, so `file` asks LIST only once per folder.
    known_folders: HashSet<String>,
}

impl fmt::Debug for ImapClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapClient")
            .field("open", &self.session.is_some())
            .field("capabilities", &self.capabilities)
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl ImapClient {
    /// Connects, verifies TLS, authenticates, reads the capabilities (only after login are they
    /// complete: Dovecot lists MOVE, UIDPLUS etc. only then) and learns the personal namespace
    /// ([`ImapClient::namespace`]).
    ///
    /// # Errors
    /// [`ImapError::Connect`]/[`ImapError::Timeout`]/[`ImapError::Connection`] (transient),
    /// [`ImapError::Certificate`], [`ImapError::Tls`], [`ImapError::CaFile`],
    /// [`ImapError::ServerName`], [`ImapError::Auth`], [`ImapError::Token`].
    pub async fn connect(settings: &ImapSettings) -> Result<Self, ImapError> {
        let timeouts = settings.timeouts;
        let client = within(timeouts.connect, "connect", open_transport(settings)).await?;
        let username = settings.auth.username();
        let session = match &settings.auth {
            ImapAuth::Login { username, password } => {
                tokio::time::timeout(timeouts.command, client.login(username, password))
                    .await
                    .map_err(|_| ImapError::Timeout {
                        op: "LOGIN",
                        after: timeouts.command,
                    })?
                    .map_err(|(e, _client)| ImapError::from_auth(username, e))?
            }
            ImapAuth::XOAuth2 {
                username,
                token_source,
            } => {
                // Read on every connection: tokens expire, the source is kept fresh elsewhere.
                let token = token_source.read().await?;
                let authenticator = XOAuth2Authenticator {
                    response: Some(xoauth2_sasl(username, &token)?),
                };
                tokio::time::timeout(
                    timeouts.command,
                    client.authenticate("XOAUTH2", authenticator),
                )
                .await
                .map_err(|_| ImapError::Timeout {
                    op: "AUTHENTICATE",
                    after: timeouts.command,
                })?
                .map_err(|(e, _client)| ImapError::from_auth(username, e))?
            }
        };
        let mut client = Self {
            session: Some(session),
            capabilities: HashSet::new(),
            timeouts,
            namespace: Namespace::top_level(None),
            known_folders: HashSet::new(),
        };
        let caps = client
            .run("CAPABILITY", timeouts.command, async |s| {
                s.capabilities().await
            })
            .await?;
        client.capabilities = caps
            .iter()
            .map(|c| match c {
                Capability::Imap4rev1 => "IMAP4REV1".to_owned(),
                Capability::Auth(m) => format!("AUTH={}", m.to_ascii_uppercase()),
                Capability::Atom(a) => a.to_ascii_uppercase(),
            })
            .collect();
        client.namespace = client.discover_namespace().await?;
        tracing::debug!(
            host = %settings.host,
            port = settings.port,
            security = ?settings.security,
            username,
            idle = client.has_idle(),
            r#move = client.has_move(),
            prefix = client.namespace.prefix,
            delimiter = ?client.namespace.delimiter,
            "IMAP connected"
        );
        Ok(client)
    }

    /// The server's personal namespace: the prefix and delimiter configured folder names are
    /// mapped onto ([`server_name`]).
    pub fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    /// The name `folder` (as configured, `/` between levels) is sent to this server as.
    ///
    /// # Errors
    /// [`ImapError::Invalid`] for a name that cannot be sent (see [`server_name`]).
    pub fn server_name(&self, folder: &str) -> Result<String, ImapError> {
        server_name(folder, &self.namespace)
    }

    /// Learns the personal namespace: from NAMESPACE (RFC 2342) when the server has it, else
    /// no prefix and the delimiter `LIST "" ""` gives (RFC 3501 §6.3.8). A server that answers
    /// neither usefully is taken as flat, with a warning: the folder errors that follow name
    /// what was sent.
    async fn discover_namespace(&mut self) -> Result<Namespace, ImapError> {
        if self.has_capability("NAMESPACE") {
            match self.ask_namespace().await {
                Ok(Some(ns)) => return Ok(ns),
                Ok(None) => {}
                Err(e) if e.breaks_session() => return Err(e),
                Err(e) => tracing::warn!(error = %e, "NAMESPACE refused; asking LIST instead"),
            }
        }
        let limit = self.timeouts.command;
        let listed = self
            .run("LIST", limit, async |s| {
                s.list(Some(""), Some("\"\""))
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            })
            .await;
        match listed {
            Ok(names) => {
                let delimiter = names
                    .first()
                    .and_then(|n| n.delimiter())
                    .and_then(|d| d.chars().next());
                Ok(Namespace::top_level(delimiter))
            }
            Err(e) if e.breaks_session() => Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "cannot learn the hierarchy delimiter; folder names are sent as configured");
                Ok(Namespace::top_level(None))
            }
        }
    }

    /// Sends NAMESPACE around async-imap and reads the answer (see [`raw_namespace`]).
    async fn ask_namespace(&mut self) -> Result<Option<Namespace>, ImapError> {
        let limit = self.timeouts.command;
        let session = self.session.as_mut().ok_or(ImapError::Closed)?;
        let result = tokio::time::timeout(limit, raw_namespace(session.as_mut()))
            .await
            .unwrap_or(Err(ImapError::Timeout {
                op: "NAMESPACE",
                after: limit,
            }));
        if let Err(e) = &result
            && e.breaks_session()
        {
            self.session = None;
        }
        result
    }

    /// Whether the session can still be used: `false` after an error left it in an unknown
    /// state (a timeout, a lost connection); the caller then connects again.
    pub fn is_open(&self) -> bool {
        self.session.is_some()
    }

    /// Whether the server announced `cap` after login (case-insensitive).
    pub fn has_capability(&self, cap: &str) -> bool {
        self.capabilities.contains(&cap.to_ascii_uppercase())
    }

    /// Whether the server has IDLE (RFC 2177); without it [`ImapClient::idle`] polls with NOOP.
    pub fn has_idle(&self) -> bool {
        self.has_capability("IDLE")
    }

    /// Whether the server has MOVE (RFC 6851); without it [`ImapClient::file`] copies.
    pub fn has_move(&self) -> bool {
        self.has_capability("MOVE")
    }

    /// Runs one command under `limit`; on an error that leaves the session in an unknown state,
    /// drops the session.
    async fn run<T>(
        &mut self,
        op: &'static str,
        limit: Duration,
        command: impl AsyncFnOnce(&mut Session<Transport>) -> async_imap::error::Result<T>,
    ) -> Result<T, ImapError> {
        let session = self.session.as_mut().ok_or(ImapError::Closed)?;
        let err = match tokio::time::timeout(limit, command(session)).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(e)) => ImapError::from_imap(op, e),
            Err(_) => ImapError::Timeout { op, after: limit },
        };
        if err.breaks_session() {
            self.session = None;
        }
        Err(err)
    }

    /// Empties the unsolicited-response channel, telling whether it announced new messages.
    /// The channel is bounded (100) and async-imap drops what does not fit, so this is a hint
    /// to wake up, never a record of what arrived.
    fn drain_new_data(&mut self) -> bool {
        let Some(session) = self.session.as_mut() else {
            return false;
        };
        let mut new_data = false;
        while let Ok(response) = session.unsolicited_responses.try_recv() {
            if matches!(
                response,
                UnsolicitedResponse::Exists(_) | UnsolicitedResponse::Recent(_)
            ) {
                new_data = true;
            }
        }
        new_data
    }

    /// Selects `mailbox` (as configured, mapped onto the server's namespace) read-write and
    /// returns what the cursor is checked against. Falls back to STATUS when the server leaves
    /// UIDNEXT out of the SELECT answer.
    ///
    /// # Errors
    /// [`ImapError::Folder`] around [`ImapError::No`] for a missing mailbox;
    /// [`ImapError::Protocol`] when the server gives no UIDVALIDITY (UIDs would then be
    /// meaningless as a cursor); network errors.
    pub async fn select(&mut self, mailbox: &str) -> Result<MailboxState, ImapError> {
        let name = self.server_name(mailbox)?;
        self.select_server_name(&name)
            .await
            .map_err(|e| e.on_folder(mailbox, &name))
    }

    /// [`ImapClient::select`] of a name already mapped to the server's spelling.
    async fn select_server_name(&mut self, name: &str) -> Result<MailboxState, ImapError> {
        let limit = self.timeouts.command;
        let selected = self
            .run("SELECT", limit, async |s| s.select(name).await)
            .await?;
        // What arrived before or during SELECT is in its answer: stale wake-up hints.
        self.drain_new_data();
        let Some(uidvalidity) = selected.uid_validity else {
            self.session = None;
            return Err(ImapError::Protocol {
                op: "SELECT",
                detail: "no UIDVALIDITY".to_owned(),
            });
        };
        let uid_next = match selected.uid_next {
            Some(n) => n,
            None => {
                let status = self
                    .run("STATUS", limit, async |s| s.status(name, "(UIDNEXT)").await)
                    .await?;
                status.uid_next.ok_or_else(|| ImapError::Protocol {
                    op: "STATUS",
                    detail: "no UIDNEXT".to_owned(),
                })?
            }
        };
        Ok(MailboxState {
            uidvalidity,
            uid_next,
            exists: selected.exists,
        })
    }

    /// All UIDs in the selected mailbox, ascending.
    ///
    /// # Errors
    /// Network errors and server refusals.
    pub async fn uid_search_all(&mut self) -> Result<Vec<u32>, ImapError> {
        let limit = self.timeouts.command;
        let uids = self
            .run("UID SEARCH", limit, async |s| s.uid_search("ALL").await)
            .await?;
        let mut uids: Vec<u32> = uids.into_iter().collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// UIDs `>= first_uid` in the selected mailbox, ascending: the messages after the cursor.
    ///
    /// `UID SEARCH UID n:*` always matches the highest UID even when it is below `n`
    /// (RFC 3501 §6.4.8: `*` is the largest UID in use, and `n:*` means the range between the
    /// two, whichever is larger), so the answer is filtered.
    ///
    /// # Errors
    /// Network errors and server refusals.
    pub async fn uids_from(&mut self, first_uid: u32) -> Result<Vec<u32>, ImapError> {
        let first = first_uid.max(1);
        let limit = self.timeouts.command;
        let query = format!("UID {first}:*");
        let uids = self
            .run("UID SEARCH", limit, async |s| s.uid_search(&query).await)
            .await?;
        Ok(filter_uids_from(uids, first))
    }

    /// UIDs in the selected mailbox not marked [`TRIAGED_KEYWORD`], ascending: everything still
    /// waiting to be processed or filed. Used once per connection to finish what a crash left
    /// between commit and filing, and to rescan after a UIDVALIDITY change.
    ///
    /// # Errors
    /// Network errors and server refusals.
    pub async fn uids_unfiled(&mut self) -> Result<Vec<u32>, ImapError> {
        let limit = self.timeouts.command;
        let query = format!("UNKEYWORD {TRIAGED_KEYWORD}");
        let uids = self
            .run("UID SEARCH", limit, async |s| s.uid_search(&query).await)
            .await?;
        Ok(filter_uids_from(uids, 1))
    }

    /// UIDs of messages the server received on or after `date` (IMAP `SINCE`, which compares
    /// INTERNALDATE dates and ignores the time), ascending: the historical import window.
    ///
    /// # Errors
    /// Network errors and server refusals.
    pub async fn uids_since(&mut self, date: chrono::NaiveDate) -> Result<Vec<u32>, ImapError> {
        let limit = self.timeouts.command;
        let query = format!("SINCE {}", date.format("%-d-%b-%Y"));
        let uids = self
            .run("UID SEARCH", limit, async |s| s.uid_search(&query).await)
            .await?;
        Ok(filter_uids_from(uids, 1))
    }

    /// The size of each message (RFC822.SIZE), without fetching any: `(uid, bytes)`, ascending.
    /// UIDs that no longer exist are simply absent. What [`plan_batches`] sizes fetches by.
    ///
    /// # Errors
    /// [`ImapError::Protocol`] when the server leaves a size out; refusals; network errors.
    pub async fn sizes(&mut self, uids: &[u32]) -> Result<Vec<(u32, u64)>, ImapError> {
        let mut out = Vec::with_capacity(uids.len());
        if uids.is_empty() {
            return Ok(out);
        }
        let set = uid_set(uids);
        let limit = self.timeouts.command;
        let fetches = self
            .run("UID FETCH", limit, async |s| {
                s.uid_fetch(&set, "(UID RFC822.SIZE)")
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            })
            .await?;
        for f in &fetches {
            let Some(uid) = f.uid.filter(|u| uids.contains(u)) else {
                continue;
            };
            let size = f.size.ok_or_else(|| ImapError::Protocol {
                op: "UID FETCH",
                detail: format!("no RFC822.SIZE for UID {uid}"),
            })?;
            out.push((uid, u64::from(size)));
        }
        out.sort_unstable();
        out.dedup_by_key(|(uid, _)| *uid);
        Ok(out)
    }

    /// Fetches one batch (`BODY.PEEK[]`, so `\Seen` is left alone; or its first bytes for
    /// [`Extent::Head`]) in UID order. UIDs that no longer exist are simply absent. Each message
    /// has [`ImapTimeouts::fetch`] to arrive, counted from the one before: a slow or stuck
    /// message fails its batch without a batch-wide limit that twenty large messages could
    /// exceed.
    ///
    /// # Errors
    /// As [`ImapClient::fetch`]; a timeout drops the session.
    pub async fn fetch_batch(&mut self, batch: &Batch) -> Result<Vec<Fetched>, ImapError> {
        let query = match batch.extent {
            Extent::Whole => "(UID INTERNALDATE RFC822.SIZE BODY.PEEK[])".to_owned(),
            Extent::Head(n) => format!("(UID INTERNALDATE RFC822.SIZE BODY.PEEK[]<0.{n}>)"),
        };
        let wanted = &batch.uids;
        let mut out = Vec::with_capacity(wanted.len());
        self.fetch_each(wanted, &query, |fetch| {
            let Some(uid) = fetch.uid.filter(|u| wanted.contains(u)) else {
                return Ok(());
            };
            let raw = fetch.body().ok_or_else(|| ImapError::Protocol {
                op: "UID FETCH",
                detail: format!("no body for UID {uid}"),
            })?;
            let internal_date = fetch.internal_date().ok_or_else(|| ImapError::Protocol {
                op: "UID FETCH",
                detail: format!("no INTERNALDATE for UID {uid}"),
            })?;
            let size = fetch.size.map_or(raw.len() as u64, u64::from);
            out.push(Fetched {
                uid,
                internal_date: internal_date.with_timezone(&Utc),
                raw: raw.to_vec(),
                size,
                partial: matches!(batch.extent, Extent::Head(_)) && (raw.len() as u64) < size,
            });
            Ok(())
        })
        .await?;
        out.sort_by_key(|f| f.uid);
        out.dedup_by_key(|f| f.uid);
        Ok(out)
    }

    /// Fetches several whole messages in one round trip (see [`ImapClient::fetch_batch`]). Keep
    /// batches small enough for memory: every message is held in full.
    ///
    /// # Errors
    /// As [`ImapClient::fetch`].
    pub async fn fetch_many(&mut self, uids: &[u32]) -> Result<Vec<Fetched>, ImapError> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        self.fetch_batch(&Batch {
            uids: uids.to_vec(),
            extent: Extent::Whole,
        })
        .await
    }

    /// Fetches one message's exact bytes and INTERNALDATE with `BODY.PEEK[]`, which (unlike
    /// `BODY[]`) leaves `\Seen` alone, so officers still see the message as unread.
    ///
    /// Returns `Ok(None)` when no message has this UID (expunged meanwhile).
    ///
    /// # Errors
    /// [`ImapError::Protocol`] when the answer lacks the body or the INTERNALDATE; network errors.
    pub async fn fetch(&mut self, uid: u32) -> Result<Option<Fetched>, ImapError> {
        Ok(self.fetch_many(&[uid]).await?.pop())
    }

    /// The header of each message (`BODY.PEEK[HEADER]`, `\Seen` untouched), never its body:
    /// `(uid, header bytes)`, ascending. For readers that need only addresses and subjects (the
    /// Sent folder watch), so a large attachment costs nothing.
    ///
    /// # Errors
    /// As [`ImapClient::fetch`].
    pub async fn fetch_headers(&mut self, uids: &[u32]) -> Result<Vec<(u32, Vec<u8>)>, ImapError> {
        let mut out = Vec::with_capacity(uids.len());
        if uids.is_empty() {
            return Ok(out);
        }
        self.fetch_each(uids, "(UID BODY.PEEK[HEADER])", |fetch| {
            let Some(uid) = fetch.uid.filter(|u| uids.contains(u)) else {
                return Ok(());
            };
            let header = fetch.header().ok_or_else(|| ImapError::Protocol {
                op: "UID FETCH",
                detail: format!("no header for UID {uid}"),
            })?;
            out.push((uid, header.to_vec()));
            Ok(())
        })
        .await?;
        out.sort_by_key(|(uid, _)| *uid);
        out.dedup_by_key(|(uid, _)| *uid);
        Ok(out)
    }

    /// Runs `UID FETCH <uids> <query>` and hands each answer to `each` as it arrives, allowing
    /// [`ImapTimeouts::fetch`] per answer (a per-message limit: the clock restarts with every
    /// message received). An error from `each` ends the fetch and, with the rest of the answer
    /// unread, the session.
    async fn fetch_each(
        &mut self,
        uids: &[u32],
        query: &str,
        mut each: impl FnMut(&async_imap::types::Fetch) -> Result<(), ImapError>,
    ) -> Result<(), ImapError> {
        const OP: &str = "UID FETCH";
        let limit = self.timeouts.fetch;
        let set = uid_set(uids);
        let session = self.session.as_mut().ok_or(ImapError::Closed)?;
        let result = async {
            let timed_out = || ImapError::Timeout {
                op: OP,
                after: limit,
            };
            let mut stream = tokio::time::timeout(limit, session.uid_fetch(&set, query))
                .await
                .map_err(|_| timed_out())?
                .map_err(|e| ImapError::from_imap(OP, e))?;
            loop {
                match tokio::time::timeout(limit, stream.try_next()).await {
                    Err(_) => return Err(timed_out()),
                    Ok(Err(e)) => return Err(ImapError::from_imap(OP, e)),
                    Ok(Ok(None)) => return Ok(()),
                    Ok(Ok(Some(fetch))) => each(&fetch).map_err(|e| match e {
                        // The rest of the answer is unread: the session cannot go on.
                        ImapError::Protocol { .. } => e,
                        other => ImapError::Protocol {
                            op: OP,
                            detail: other.to_string(),
                        },
                    })?,
                }
            }
        }
        .await;
        if let Err(e) = &result
            && e.breaks_session()
        {
            self.session = None;
        }
        result
    }

    /// Files message `uid` of the selected mailbox into `folder` (`/`-separated, e.g.
    /// `Triage/FOI`, mapped onto the server's namespace: `INBOX.Triage.FOI` on a server with
    /// prefix `INBOX.`), creating the folder if missing: UID MOVE when the server has MOVE; else
    /// UID COPY, `\Deleted` and UID EXPUNGE of just that UID (UIDPLUS); else UID COPY and the
    /// keyword [`TRIAGED_KEYWORD`] (never a plain EXPUNGE, which would remove other people's
    /// deleted mail). A UID that no longer exists is not an error: filing is idempotent.
    ///
    /// # Errors
    /// [`ImapError::Invalid`] for a bad folder name; [`ImapError::Folder`] when the server
    /// refuses (permissions, quota, a name outside its namespace); network errors.
    pub async fn file(&mut self, uid: u32, folder: &str) -> Result<Filed, ImapError> {
        let target = self.server_name(folder)?;
        self.file_into(uid, &target)
            .await
            .map_err(|e| e.on_folder(folder, &target))
    }

    /// [`ImapClient::file`] into a folder named as the server spells it.
    async fn file_into(&mut self, uid: u32, target: &str) -> Result<Filed, ImapError> {
        self.ensure_folder(target).await?;
        let limit = self.timeouts.command;
        let set = uid.to_string();
        if self.has_move() {
            self.run("UID MOVE", limit, async |s| s.uid_mv(&set, target).await)
                .await?;
            return Ok(Filed::Moved);
        }
        self.run("UID COPY", limit, async |s| s.uid_copy(&set, target).await)
            .await?;
        if self.has_capability("UIDPLUS") {
            self.run("UID STORE", limit, async |s| {
                s.uid_store(&set, "+FLAGS.SILENT (\\Deleted)")
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            })
            .await?;
            self.run("UID EXPUNGE", limit, async |s| {
                s.uid_expunge(&set).await?.try_collect::<Vec<_>>().await
            })
            .await?;
            Ok(Filed::CopiedAndExpunged)
        } else {
            let flags = format!("+FLAGS.SILENT ({TRIAGED_KEYWORD})");
            self.run("UID STORE", limit, async |s| {
                s.uid_store(&set, &flags)
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            })
            .await?;
            Ok(Filed::CopiedAndMarked)
        }
    }

    /// Appends `raw` to `folder` (created if missing) with `flags` (e.g. `\Seen`), for tests and
    /// for importing mail. The server sets INTERNALDATE to now.
    ///
    /// # Errors
    /// [`ImapError::Invalid`] for a bad folder name or flag; [`ImapError::Folder`] when the
    /// server refuses; network errors.
    pub async fn append(
        &mut self,
        folder: &str,
        raw: &[u8],
        flags: &[&str],
    ) -> Result<(), ImapError> {
        for flag in flags {
            validate_flag(flag)?;
        }
        let target = self.server_name(folder)?;
        let flag_list = (!flags.is_empty()).then(|| format!("({})", flags.join(" ")));
        let limit = self.timeouts.fetch;
        async {
            self.ensure_folder(&target).await?;
            self.run("APPEND", limit, async |s| {
                s.append(&target, flag_list.as_deref(), None, raw).await
            })
            .await
        }
        .await
        .map_err(|e| e.on_folder(folder, &target))
    }

    /// Waits up to `timeout` for new messages in the selected mailbox, or until `cancel` fires.
    ///
    /// Returns at once with `NewData` when a notice of new mail arrived with an earlier command
    /// (so mail that came in while the caller was busy is never slept through). Uses IDLE,
    /// re-issued every 25 min (RFC 2177), and ends it with DONE before returning, so the client
    /// is ready for the next command; without IDLE it sends NOOP every
    /// [`ImapTimeouts::poll_interval`]. Expunges and flag changes by others do not wake it.
    ///
    /// # Errors
    /// Network errors and timeouts (the session is then dropped); [`ImapError::Connection`] when
    /// the server says BYE or closes the connection.
    pub async fn idle(
        &mut self,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> Result<IdleOutcome, ImapError> {
        if cancel.is_cancelled() {
            return Ok(IdleOutcome::Cancelled);
        }
        if self.drain_new_data() {
            return Ok(IdleOutcome::NewData);
        }
        let deadline = Instant::now() + timeout;
        if !self.has_idle() {
            return self.poll(deadline, cancel).await;
        }
        let limit = self.timeouts.command;
        loop {
            let session = self.session.take().ok_or(ImapError::Closed)?;
            let mut handle = session.idle();
            tokio::time::timeout(limit, handle.init())
                .await
                .map_err(|_| ImapError::Timeout {
                    op: "IDLE",
                    after: limit,
                })?
                .map_err(|e| ImapError::from_imap("IDLE", e))?;
            let segment_end = deadline.min(Instant::now() + IDLE_REISSUE_INTERVAL);
            let wake = wait_idle(&mut handle, segment_end, cancel).await?;
            let session = tokio::time::timeout(limit, handle.done())
                .await
                .map_err(|_| ImapError::Timeout {
                    op: "IDLE DONE",
                    after: limit,
                })?
                .map_err(|e| ImapError::from_imap("IDLE DONE", e))?;
            self.session = Some(session);
            match wake {
                Wake::NewData => return Ok(IdleOutcome::NewData),
                Wake::Cancelled => return Ok(IdleOutcome::Cancelled),
                Wake::Elapsed if Instant::now() >= deadline => {
                    // A notice that raced with DONE is in the channel: report it rather than
                    // make the caller wait a whole cycle.
                    return Ok(if self.drain_new_data() {
                        IdleOutcome::NewData
                    } else {
                        IdleOutcome::Timeout
                    });
                }
                Wake::Elapsed => {}
            }
        }
    }

    /// The NOOP-polling form of [`ImapClient::idle`] for servers without IDLE.
    async fn poll(
        &mut self,
        deadline: Instant,
        cancel: &CancellationToken,
    ) -> Result<IdleOutcome, ImapError> {
        let limit = self.timeouts.command;
        loop {
            let next = deadline.min(Instant::now() + self.timeouts.poll_interval);
            tokio::select! {
                biased;
                () = cancel.cancelled() => return Ok(IdleOutcome::Cancelled),
                () = tokio::time::sleep_until(next) => {}
            }
            self.run("NOOP", limit, async |s| s.noop().await).await?;
            if self.drain_new_data() {
                return Ok(IdleOutcome::NewData);
            }
            if Instant::now() >= deadline {
                return Ok(IdleOutcome::Timeout);
            }
        }
    }

    /// Logs out politely; the connection is closed either way.
    ///
    /// # Errors
    /// Network errors or a timeout while saying goodbye (nothing is lost by then).
    pub async fn logout(mut self) -> Result<(), ImapError> {
        let limit = self.timeouts.command;
        self.run("LOGOUT", limit, async |s| s.logout().await).await
    }

    /// Makes sure the folder the server calls `name` exists, creating it if needed.
    async fn ensure_folder(&mut self, name: &str) -> Result<(), ImapError> {
        if self.known_folders.contains(name) {
            return Ok(());
        }
        if !self.folder_exists(name).await? {
            let limit = self.timeouts.command;
            let created = self
                .run("CREATE", limit, async |s| s.create(name).await)
                .await;
            if let Err(err) = created {
                // Someone else (another officer, a second instance) may have created it
                // between our LIST and CREATE: only then is a refusal fine.
                if !matches!(err, ImapError::No { .. }) || !self.folder_exists(name).await? {
                    return Err(err);
                }
            } else {
                tracing::info!(folder = %name, "created IMAP folder");
            }
        }
        self.known_folders.insert(name.to_owned());
        Ok(())
    }

    /// Whether a mailbox with exactly this server name exists.
    async fn folder_exists(&mut self, name: &str) -> Result<bool, ImapError> {
        let limit = self.timeouts.command;
        let pattern = quote(name);
        let names = self
            .run("LIST", limit, async |s| {
                s.list(Some(""), Some(&pattern))
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            })
            .await?;
        Ok(names.iter().any(|n| {
            n.name() == name || (name.eq_ignore_ascii_case("INBOX") && n.name() == "INBOX")
        }))
    }
}

/// Why [`wait_idle`] stopped waiting.
enum Wake {
    NewData,
    Elapsed,
    Cancelled,
}

/// Waits inside one IDLE command until new mail, `until`, or cancellation. Keepalives, flag
/// changes and expunges are skipped. After 5 min of silence it returns `Elapsed` so the caller
/// ends the IDLE: a successful DONE proves the connection alive, a failed one reports it dead.
async fn wait_idle(
    handle: &mut async_imap::extensions::idle::Handle<Transport>,
    until: Instant,
    cancel: &CancellationToken,
) -> Result<Wake, ImapError> {
    use async_imap::extensions::idle::IdleResponse;
    loop {
        // `_stop` must live while `wait` is polled: dropping it interrupts the wait at once.
        let (wait, _stop) = handle.wait_with_timeout(IDLE_INACTIVITY_TIMEOUT);
        // The wait reads through async-imap's buffered stream, so dropping it when another branch
        // wins loses no bytes; anything half-read is parsed by DONE's reader.
        let response = tokio::select! {
            biased;
            () = cancel.cancelled() => return Ok(Wake::Cancelled),
            () = tokio::time::sleep_until(until) => return Ok(Wake::Elapsed),
            r = wait => r.map_err(|e| ImapError::from_imap("IDLE", e))?,
        };
        match response {
            IdleResponse::NewData(data) => match data.parsed() {
                Response::MailboxData(MailboxDatum::Exists(_) | MailboxDatum::Recent(_)) => {
                    return Ok(Wake::NewData);
                }
                Response::Data {
                    status: Status::Bye,
                    outcome,
                } => {
                    return Err(ImapError::Connection {
                        op: "IDLE",
                        detail: format!("server said BYE: {:?}", outcome.information),
                    });
                }
                _ => {}
            },
            IdleResponse::Timeout => return Ok(Wake::Elapsed),
            // We never drop `_stop` while waiting, so this is async-imap's report of the stream
            // ending: the server closed the connection.
            IdleResponse::ManualInterrupt => {
                return Err(ImapError::Connection {
                    op: "IDLE",
                    detail: "connection closed by the server".to_owned(),
                });
            }
        }
    }
}

/// Keeps the UIDs `>= first`, ascending (see [`ImapClient::uids_from`] for why).
fn filter_uids_from(uids: impl IntoIterator<Item = u32>, first: u32) -> Vec<u32> {
    let mut kept: Vec<u32> = uids.into_iter().filter(|&u| u >= first).collect();
    kept.sort_unstable();
    kept.dedup();
    kept
}

/// Checks a flag for APPEND: a system flag (`\Seen`) or a keyword atom (`$Label`).
fn validate_flag(flag: &str) -> Result<(), ImapError> {
    let atom = flag.strip_prefix('\\').unwrap_or(flag);
    let ok = !atom.is_empty()
        && atom
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"(){%*\"\\]".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ImapError::Invalid {
            what: "flag",
            detail: format!("{flag:?} is not a flag or keyword atom"),
        })
    }
}

/// An IMAP quoted string (RFC 3501 §4.3); the caller has excluded CR, LF and NUL.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}
