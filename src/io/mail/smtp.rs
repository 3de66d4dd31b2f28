//! SMTP edge: hands finished messages to the organisation's mail server and says how it went.
//!
//! What it does: [`Mailer::send`] submits raw RFC 5322 bytes (from [`crate::letters::compose`]) over plain
//! SMTP, STARTTLS or implicit TLS, with optional AUTH (PLAIN/LOGIN), using lettre's async SMTP
//! client on tokio (rustls with ring; an extra root certificate from `ca_file`), and classifies
//! the result as [`SendOutcome::Sent`], [`SendOutcome::Transient`] (retry later),
//! [`SendOutcome::Outage`] (the submission service refuses us, whatever the message) or
//! [`SendOutcome::Permanent`] (this message will never go as it is).
//!
//! Which of the last two a 5xx is depends on the stage that got it, so the transaction is driven
//! step by step here rather than by lettre's `send` (which reports no stage): a 5xx at connect,
//! EHLO, STARTTLS, AUTH or MAIL FROM is about our session (an expired password, `535 5.7.139`; a
//! sender the relay no longer accepts) and would refuse every message alike; only a 5xx at RCPT,
//! DATA or after the message body is about this one message.
//!
//! What it does not do: no retries, no queue, no clock (the outbox owns those), no rendering, and
//! it never logs message bodies or credentials.
//!
//! One connection per message. lettre's pooled `AsyncSmtpTransport` returns a connection to its
//! pool even when the send future was dropped half-way (our timeout), and a reused connection can
//! then hold an unread reply, so the next message would read every reply one step late. With a
//! fresh connection per message, a cut-off send simply closes the socket: the server discards an
//! unterminated DATA, and nothing is ever reused. Acknowledgements are a few a minute, so the
//! extra handshakes cost nothing that matters.
//!
//! Timeouts: lettre's own `timeout` covers only connecting (lettre #1027), so the whole
//! exchange (connect, TLS, AUTH, MAIL/RCPT/DATA) is wrapped in `tokio::time::timeout`. After the
//! server has accepted the message, QUIT gets its own short timeout and its result is ignored:
//! a slow goodbye must never turn a sent message into a "retry" (a duplicate).

pub use crate::config::mail::{
    SMTP_DEFAULT_TIMEOUT_SECS as DEFAULT_TIMEOUT_SECS, Security, SmtpCredentials, SmtpSettings,
};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::transport::smtp::response::Response;

/// Time allowed for QUIT after the message was accepted, in seconds. Its outcome is ignored.
const QUIT_TIMEOUT_SECS: u64 = 5;

/// AUTH mechanisms we offer, in order of preference (the server's list decides). Both send the
/// password as is, which is why credentials require TLS (see [`SmtpError::CredentialsWithoutTls`]).
const AUTH_MECHANISMS: [Mechanism; 2] = [Mechanism::Plain, Mechanism::Login];

/// Why a [`Mailer`] could not be built: always a configuration problem, reported at start.
#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    /// The CA file could not be read.
    #[error("smtp ca_file {path}: {source}")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The CA file is not PEM certificates.
    #[error("smtp ca_file {path}: {reason}")]
    CaFileInvalid {
        /// The file.
        path: PathBuf,
        /// lettre's reason.
        reason: String,
    },
    /// The TLS parameters could not be built (e.g. an invalid server name).
    #[error("smtp TLS setup for {host:?}: {reason}")]
    Tls {
        /// The host.
        host: String,
        /// lettre's reason.
        reason: String,
    },
    /// Credentials were given for a plain connection.
    #[error(
        "smtp credentials need security = \"tls\" or \"starttls\"; refusing to send a password in clear"
    )]
    CredentialsWithoutTls,
    /// The host is empty.
    #[error("smtp host is empty")]
    EmptyHost,
    /// A zero timeout would fail every send.
    #[error("smtp timeout must be more than zero")]
    ZeroTimeout,
}

/// What happened to one message. The outbox records it and decides about retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// The server accepted the message (2xx after DATA).
    Sent {
        /// The server's reply, e.g. `250 2.0.0 Ok: queued as 4ABC`: logged as delivery evidence.
        response: String,
    },
    /// Try again later: a 4xx reply, a network error, a timeout, or a TLS or client-side problem
    /// (a server or configuration fault, not this message's; a fix makes the retry succeed).
    Transient {
        /// What went wrong, without message content or credentials.
        error: String,
    },
    /// This message will not go as it is: a 5xx reply to RCPT, DATA or the message body, or an
    /// envelope address that is not an address.
    Permanent {
        /// What went wrong, without message content or credentials.
        error: String,
    },
    /// The submission service refused the session before any recipient was named: a 5xx at
    /// connect, EHLO, STARTTLS, AUTH (RFC 4954 535, e.g. `535 5.7.139` for an expired password)
    /// or MAIL FROM. Not this message's fault: every message would be refused the same way, so
    /// the outbox pauses the whole queue and keeps the rows for when a person has fixed it.
    Outage {
        /// What went wrong, without message content or credentials.
        error: String,
    },
}

/// How the connection is secured, with the TLS parameters built once at start.
#[derive(Clone)]
enum Transport {
    Plain,
    StartTls(TlsParameters),
    Wrapper(TlsParameters),
}

/// Sends messages over one SMTP configuration. Cheap to share (`&self`) and to clone.
#[derive(Clone)]
pub struct Mailer {
    host: String,
    port: u16,
    transport: Transport,
    credentials: Option<Credentials>,
    hello: ClientId,
    timeout: Duration,
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let security = match self.transport {
            Transport::Plain => "plain",
            Transport::StartTls(_) => "starttls",
            Transport::Wrapper(_) => "tls",
        };
        f.debug_struct("Mailer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &security)
            .field("auth", &self.credentials.is_some())
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Mailer {
    /// Checks the settings and prepares TLS; connects only when sending.
    ///
    /// # Errors
    /// An empty host, a zero timeout, credentials on a plain connection, an unreadable or invalid
    /// `ca_file`, or TLS parameters lettre refuses.
    pub fn new(settings: &SmtpSettings) -> Result<Mailer, SmtpError> {
        let host = settings.host.trim();
        if host.is_empty() {
            return Err(SmtpError::EmptyHost);
        }
        if settings.timeout.is_zero() {
            return Err(SmtpError::ZeroTimeout);
        }
        if settings.credentials.is_some() && settings.security == Security::Plain {
            return Err(SmtpError::CredentialsWithoutTls);
        }
        let transport = match settings.security {
            Security::Plain => Transport::Plain,
            Security::StartTls => Transport::StartTls(tls_parameters(host, settings)?),
            Security::Tls => Transport::Wrapper(tls_parameters(host, settings)?),
        };
        Ok(Mailer {
            host: host.to_string(),
            port: settings.port,
            transport,
            credentials: settings
                .credentials
                .as_ref()
                .map(|c| Credentials::new(c.username.clone(), c.password.clone())),
            hello: ClientId::default(),
            timeout: settings.timeout,
        })
    }

    /// Submits `raw` (a complete message) with envelope sender `from` and recipients `to`.
    ///
    /// Never fails and never panics: every problem is a [`SendOutcome`]. The whole exchange is
    /// bounded by the configured timeout; running out of time is `Transient`.
    pub async fn send(&self, from: &str, to: &[String], raw: &[u8]) -> SendOutcome {
        let envelope = match envelope(from, to) {
            Ok(e) => e,
            Err(error) => return SendOutcome::Permanent { error },
        };
        let endpoint = format!("{}:{}", self.host, self.port);
        match tokio::time::timeout(self.timeout, self.deliver(&envelope, raw)).await {
            Err(_) => SendOutcome::Transient {
                error: format!(
                    "{endpoint}: no answer within {} s",
                    self.timeout.as_secs_f64()
                ),
            },
            Ok(Ok((response, mut conn))) => {
                // Sent. The goodbye is a courtesy: bounded, and its outcome ignored.
                let _ =
                    tokio::time::timeout(Duration::from_secs(QUIT_TIMEOUT_SECS), conn.quit()).await;
                SendOutcome::Sent {
                    response: response_text(&response),
                }
            }
            Ok(Err(e)) => classify(&endpoint, &e),
        }
    }

    /// One fresh connection: greeting and EHLO, STARTTLS or TLS, AUTH, then the transaction.
    /// Returns the connection too, so the caller can say QUIT outside the send timeout. A failure
    /// says at which [`Stage`] it happened.
    async fn deliver(
        &self,
        envelope: &Envelope,
        raw: &[u8],
    ) -> Result<(Response, AsyncSmtpConnection), Refusal> {
        let session = |e| Refusal::Smtp(Stage::Session, e);
        let wrapper = match &self.transport {
            Transport::Wrapper(p) => Some(p.clone()),
            Transport::Plain | Transport::StartTls(_) => None,
        };
        let mut conn = AsyncSmtpConnection::connect_tokio1(
            (self.host.as_str(), self.port),
            Some(self.timeout),
            &self.hello,
            wrapper,
            None,
        )
        .await
        .map_err(session)?;
        if let Transport::StartTls(p) = &self.transport {
            // Fails when the server does not offer STARTTLS: we never fall back to clear text.
            conn.starttls(p.clone(), &self.hello)
                .await
                .map_err(session)?;
        }
        if let Some(c) = &self.credentials {
            conn.auth(&AUTH_MECHANISMS, c).await.map_err(session)?;
        }
        match transaction(&mut conn, envelope, raw).await {
            Ok(response) => Ok((response, conn)),
            Err(refusal) => {
                // As lettre's own `send` does: say QUIT if the connection still talks, then close.
                conn.abort().await;
                Err(refusal)
            }
        }
    }
}

/// Where in the SMTP exchange a failure happened: decides whether a 5xx is an outage of the
/// submission service or this message's fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Connect, greeting, EHLO, STARTTLS, AUTH, MAIL FROM: nothing about this message yet.
    Session,
    /// RCPT TO, DATA, the message body: this message.
    Message,
}

/// Why [`Mailer::deliver`] did not get the message accepted.
#[derive(Debug)]
enum Refusal {
    /// The server or the connection failed at this stage.
    Smtp(Stage, lettre::transport::smtp::Error),
    /// We did not even ask: the server lacks an extension this message needs (SMTPUTF8,
    /// 8BITMIME). A server configuration matter, so retried like lettre's own client error.
    Client(String),
}

/// MAIL FROM, RCPT TO for each recipient, DATA and the message: lettre's `send`, step by step so
/// a failure names its stage. The MAIL parameters are chosen as lettre chooses them.
async fn transaction(
    conn: &mut AsyncSmtpConnection,
    envelope: &Envelope,
    raw: &[u8],
) -> Result<Response, Refusal> {
    let mut params = Vec::new();
    let non_ascii = envelope
        .from()
        .into_iter()
        .chain(envelope.to())
        .any(|a| !AsRef::<str>::as_ref(a).is_ascii());
    if non_ascii {
        if !conn.server_info().supports_feature(Extension::SmtpUtfEight) {
            return Err(Refusal::Client(
                "the envelope has non-ASCII addresses but the server lacks SMTPUTF8".into(),
            ));
        }
        params.push(MailParameter::SmtpUtfEight);
    }
    if !raw.is_ascii() {
        if !conn.server_info().supports_feature(Extension::EightBitMime) {
            return Err(Refusal::Client(
                "the message is not ASCII but the server lacks 8BITMIME".into(),
            ));
        }
        params.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    conn.command(Mail::new(envelope.from().cloned(), params))
        .await
        .map_err(|e| Refusal::Smtp(Stage::Session, e))?;
    let message = |e| Refusal::Smtp(Stage::Message, e);
    for to in envelope.to() {
        conn.command(Rcpt::new(to.clone(), vec![]))
            .await
            .map_err(message)?;
    }
    conn.command(Data).await.map_err(message)?;
    conn.message(raw).await.map_err(message)
}

fn tls_parameters(host: &str, settings: &SmtpSettings) -> Result<TlsParameters, SmtpError> {
    let mut builder = TlsParameters::builder(host.to_string());
    if let Some(path) = &settings.ca_file {
        let pem = std::fs::read(path).map_err(|source| SmtpError::CaFile {
            path: path.clone(),
            source,
        })?;
        let cert = Certificate::from_pem(&pem).map_err(|e| SmtpError::CaFileInvalid {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        // NOTE: lettre's from_pem accepts a file with no certificate at all; that would silently
        // trust nothing extra, so refuse it.
        if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
            return Err(SmtpError::CaFileInvalid {
                path: path.clone(),
                reason: "no PEM certificate in the file".into(),
            });
        }
        builder = builder.add_root_certificate(cert);
    }
    builder.build_rustls().map_err(|e| SmtpError::Tls {
        host: host.to_string(),
        reason: e.to_string(),
    })
}

/// The SMTP envelope; an unusable address is the message's fault, hence `Err` → Permanent.
fn envelope(from: &str, to: &[String]) -> Result<Envelope, String> {
    let from_addr = from
        .trim()
        .parse::<lettre::Address>()
        .map_err(|e| format!("envelope sender {from:?} is not an address: {e}"))?;
    let mut rcpts = Vec::with_capacity(to.len());
    for t in to {
        rcpts.push(
            t.trim()
                .parse::<lettre::Address>()
                .map_err(|e| format!("recipient {t:?} is not an address: {e}"))?,
        );
    }
    Envelope::new(Some(from_addr), rcpts).map_err(|e| format!("envelope: {e}"))
}

fn response_text(r: &Response) -> String {
    let lines: Vec<&str> = r.message().collect();
    format!("{} {}", r.code(), lines.join(" "))
        .trim()
        .to_string()
}

/// 5xx at the session stage → Outage, 5xx at the message stage → Permanent; everything else
/// (4xx, network, timeout, TLS, client) → Transient.
fn classify(endpoint: &str, refusal: &Refusal) -> SendOutcome {
    match refusal {
        Refusal::Client(reason) => SendOutcome::Transient {
            error: format!("{endpoint}: {reason}"),
        },
        Refusal::Smtp(stage, e) => {
            let error = format!("{endpoint}: {e}");
            match (e.is_permanent(), stage) {
                (true, Stage::Session) => SendOutcome::Outage { error },
                (true, Stage::Message) => SendOutcome::Permanent { error },
                (false, _) => SendOutcome::Transient { error },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::sync::OnceLock;

    /// Where this test process's mail stack lives; one stack per test process.
    const STACK_DIR: &str = "/var/tmp/foi-smtp-test";
    /// Port base for this module's stack, apart from the other helpers' stacks.
    const PORT_BASE: &str = "22000";

    fn stack() -> &'static crate::io::mail::test_stack::Stack {
        static STACK: OnceLock<Result<crate::io::mail::test_stack::Stack, String>> =
            OnceLock::new();
        crate::io::mail::test_stack::get(&STACK, STACK_DIR, PORT_BASE)
    }

    fn var(key: &str) -> String {
        stack().var(key)
    }

    fn port(key: &str) -> u16 {
        stack().port(key)
    }

    fn plain_settings() -> SmtpSettings {
        SmtpSettings {
            host: var("MAILSTACK_HOST"),
            port: port("MAILSTACK_SMTP_PORT"),
            security: Security::Plain,
            ca_file: None,
            credentials: None,
            timeout: Duration::from_secs(20),
        }
    }

    fn submission_settings(password: &str) -> SmtpSettings {
        SmtpSettings {
            host: var("MAILSTACK_HOST"),
            port: port("MAILSTACK_SUBMISSION_PORT"),
            security: Security::StartTls,
            ca_file: Some(PathBuf::from(var("MAILSTACK_CA"))),
            credentials: Some(SmtpCredentials {
                username: "foi".into(),
                password: password.into(),
            }),
            timeout: Duration::from_secs(20),
        }
    }

    /// Removes any earlier run's mail for `user`, so a test only sees its own.
    fn clear_maildir(user: &str) {
        let base = Path::new(&var("MAILSTACK_MAILDIR")).join(user);
        for sub in ["new", "cur"] {
            if let Ok(rd) = std::fs::read_dir(base.join(sub)) {
                for e in rd.flatten() {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }

    /// Polls `user`'s Maildir `new/` for a message containing `marker`; up to 10 s (delivery is
    /// asynchronous after the 250, usually tens of ms).
    async fn wait_for_mail(user: &str, marker: &str) -> Vec<u8> {
        let dir = Path::new(&var("MAILSTACK_MAILDIR")).join(user).join("new");
        for _ in 0..100 {
            if let Ok(rd) = std::fs::read_dir(&dir) {
                for e in rd.flatten() {
                    if let Ok(bytes) = std::fs::read(e.path())
                        && String::from_utf8_lossy(&bytes).contains(marker)
                    {
                        return bytes;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "no mail containing {marker:?} in {} after 10 s",
            dir.display()
        );
    }

    fn simple_message(from: &str, to: &str, marker: &str) -> Vec<u8> {
        format!(
            "From: <{from}>\r\nTo: <{to}>\r\nSubject: {marker}\r\nMessage-ID: <{marker}@test>\r\n\
             Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\nbody {marker}\r\n"
        )
        .into_bytes()
    }

    #[tokio::test]
    async fn plain_smtp_delivers_to_the_maildir() {
        let user = "smtp_plain";
        clear_maildir(user);
        let mailer = Mailer::new(&plain_settings()).expect("mailer");
        let to = format!("{user}@example.org");
        let raw = simple_message("foi@example.org", &to, "plain-marker-1");
        let out = mailer.send("foi@example.org", &[to], &raw).await;
        match &out {
            SendOutcome::Sent { response } => assert!(response.starts_with("250"), "{response}"),
            other => panic!("expected Sent, got {other:?}"),
        }
        let got = wait_for_mail(user, "plain-marker-1").await;
        let m = crate::core::parse::parse(&got, &crate::core::extract::InProcess);
        assert_eq!(m.subject, "plain-marker-1");
        assert_eq!(m.message_id.as_deref(), Some("plain-marker-1@test"));
        assert!(m.body_text.contains("body plain-marker-1"));
    }

    #[tokio::test]
    async fn submission_with_starttls_and_auth_delivers() {
        let user = "smtp_submission";
        clear_maildir(user);
        let mailer = Mailer::new(&submission_settings("secret")).expect("mailer");
        let to = format!("{user}@example.org");
        let raw = simple_message("foi@example.org", &to, "submission-marker-1");
        let out = mailer
            .send("foi@example.org", std::slice::from_ref(&to), &raw)
            .await;
        assert!(matches!(out, SendOutcome::Sent { .. }), "{out:?}");
        let got = wait_for_mail(user, "submission-marker-1").await;
        assert_eq!(
            crate::core::parse::parse(&got, &crate::core::extract::InProcess).subject,
            "submission-marker-1"
        );
        // A second message on the same Mailer (a fresh connection).
        let raw2 = simple_message("foi@example.org", &to, "submission-marker-2");
        let out2 = mailer.send("foi@example.org", &[to], &raw2).await;
        assert!(matches!(out2, SendOutcome::Sent { .. }), "{out2:?}");
        wait_for_mail(user, "submission-marker-2").await;
    }

    #[tokio::test]
    async fn wrong_password_is_an_outage() {
        let mailer = Mailer::new(&submission_settings("not-the-password")).expect("mailer");
        let to = vec!["smtp_wrongpw@example.org".to_string()];
        let raw = simple_message("foi@example.org", &to[0], "wrongpw");
        match mailer.send("foi@example.org", &to, &raw).await {
            SendOutcome::Outage { error } => {
                assert!(
                    error.contains("535") || error.to_lowercase().contains("auth"),
                    "{error}"
                );
                assert!(
                    !error.contains("not-the-password"),
                    "password leaked: {error}"
                );
            }
            other => panic!("expected Outage, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn untrusted_certificate_is_transient_not_sent() {
        // Without the test CA the server's certificate is not trusted: a configuration problem,
        // retried (and visible) rather than sent in clear.
        let mut s = submission_settings("secret");
        s.ca_file = None;
        let mailer = Mailer::new(&s).expect("mailer");
        let to = vec!["smtp_untrusted@example.org".to_string()];
        let raw = simple_message("foi@example.org", &to[0], "untrusted");
        match mailer.send("foi@example.org", &to, &raw).await {
            SendOutcome::Transient { error } => {
                assert!(
                    error.to_lowercase().contains("certificate") || error.contains("tls"),
                    "{error}"
                )
            }
            other => panic!("expected Transient, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn closed_port_is_transient() {
        // Bind then drop a listener: the port is free, so nothing listens there.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let s = SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            security: Security::Plain,
            ca_file: None,
            credentials: None,
            timeout: Duration::from_secs(5),
        };
        let mailer = Mailer::new(&s).expect("mailer");
        let to = vec!["x@example.org".to_string()];
        match mailer
            .send("foi@example.org", &to, b"Subject: x\r\n\r\nx\r\n")
            .await
        {
            SendOutcome::Transient { error } => {
                assert!(error.contains(&port.to_string()), "{error}")
            }
            other => panic!("expected Transient, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn silent_server_times_out_as_transient() {
        // A listener that accepts and never says anything: only our outer timeout ends it.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let hold = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((sock, _)) = listener.accept().await {
                held.push(sock);
            }
        });
        let s = SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            security: Security::Plain,
            ca_file: None,
            credentials: None,
            timeout: Duration::from_millis(700),
        };
        let mailer = Mailer::new(&s).expect("mailer");
        let started = std::time::Instant::now();
        let out = mailer
            .send(
                "foi@example.org",
                &["x@example.org".into()],
                b"Subject: x\r\n\r\nx\r\n",
            )
            .await;
        let took = started.elapsed();
        assert!(matches!(out, SendOutcome::Transient { .. }), "{out:?}");
        assert!(took < Duration::from_secs(5), "took {took:?}");
        hold.abort();
    }

    #[tokio::test]
    async fn bad_envelope_addresses_are_permanent() {
        let mailer = Mailer::new(&plain_settings()).expect("mailer");
        let cases: [(&str, Vec<String>); 3] = [
            ("not an address", vec!["a@example.org".into()]),
            ("foi@example.org", vec!["bad address".into()]),
            ("foi@example.org", vec![]),
        ];
        for (from, to) in cases {
            let out = mailer.send(from, &to, b"Subject: x\r\n\r\nx\r\n").await;
            assert!(
                matches!(out, SendOutcome::Permanent { .. }),
                "{from} {to:?}: {out:?}"
            );
        }
    }

    #[tokio::test]
    async fn settings_errors_are_typed() {
        let mut s = plain_settings();
        s.credentials = Some(SmtpCredentials {
            username: "foi".into(),
            password: "secret".into(),
        });
        assert!(matches!(
            Mailer::new(&s),
            Err(SmtpError::CredentialsWithoutTls)
        ));
        let mut s = plain_settings();
        s.host = "  ".into();
        assert!(matches!(Mailer::new(&s), Err(SmtpError::EmptyHost)));
        let mut s = plain_settings();
        s.timeout = Duration::ZERO;
        assert!(matches!(Mailer::new(&s), Err(SmtpError::ZeroTimeout)));
        let mut s = submission_settings("secret");
        s.ca_file = Some(PathBuf::from("/nonexistent/ca.pem"));
        assert!(matches!(Mailer::new(&s), Err(SmtpError::CaFile { .. })));
        let tmp = tempfile::NamedTempFile::new().expect("tmp");
        std::fs::write(tmp.path(), "not a certificate\n").expect("write");
        s.ca_file = Some(tmp.path().to_path_buf());
        assert!(matches!(
            Mailer::new(&s),
            Err(SmtpError::CaFileInvalid { .. })
        ));
        let creds = SmtpCredentials {
            username: "foi".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{creds:?}").contains("hunter2"));
    }

    #[test]
    fn mailer_is_built_without_a_runtime_and_debug_hides_secrets() {
        let s = SmtpSettings {
            host: " smtp.example.org ".into(),
            port: 587,
            security: Security::StartTls,
            ca_file: None,
            credentials: Some(SmtpCredentials {
                username: "foi".into(),
                password: "hunter2".into(),
            }),
            timeout: Duration::from_secs(1),
        };
        let m = Mailer::new(&s).expect("builds outside tokio");
        let shown = format!("{m:?} {s:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("starttls") && shown.contains("smtp.example.org"),
            "{shown}"
        );
        assert_eq!(m.host, "smtp.example.org");
    }

    /// Shared by the daemon's tasks: must be `Send + Sync` (a compile-time check).
    #[test]
    fn shareable_across_tasks() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<Mailer>();
    }

    #[test]
    fn response_text_and_classification() {
        use lettre::transport::smtp::response::{Category, Code, Detail, Severity};
        let r = Response::new(
            Code::new(
                Severity::PositiveCompletion,
                Category::MailSystem,
                Detail::Zero,
            ),
            vec!["2.0.0 Ok: queued as ABC".into()],
        );
        assert_eq!(response_text(&r), "250 2.0.0 Ok: queued as ABC");
    }

    /// A scripted SMTP server: greets, accepts EHLO, then answers MAIL FROM with `mail_reply`.
    async fn scripted_server(mail_reply: &'static str) -> u16 {
        scripted_server_at("MAIL FROM", mail_reply).await
    }

    /// A scripted SMTP server: greets, accepts EHLO and every command, except that the command
    /// starting with `at` (`EHLO`, `MAIL FROM`, `RCPT TO`, `DATA`, or `.` for the end of the
    /// message) is answered with `reply_at`.
    async fn scripted_server_at(at: &'static str, reply_at: &'static str) -> u16 {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let (r, mut w) = sock.into_split();
            let mut lines = BufReader::new(r).lines();
            let _ = w.write_all(b"220 scripted ESMTP\r\n").await;
            let mut in_data = false;
            while let Ok(Some(line)) = lines.next_line().await {
                let up = line.to_ascii_uppercase();
                if in_data {
                    if line != "." {
                        continue;
                    }
                    in_data = false;
                }
                let reply: &[u8] = if up.starts_with(at) {
                    reply_at.as_bytes()
                } else if up.starts_with("EHLO") {
                    b"250-scripted\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"
                } else if up.starts_with("QUIT") {
                    b"221 bye\r\n"
                } else if up == "DATA" {
                    in_data = true;
                    b"354 go ahead\r\n"
                } else if up.starts_with("AUTH") {
                    b"235 2.7.0 ok\r\n"
                } else {
                    b"250 ok\r\n"
                };
                if w.write_all(reply).await.is_err() {
                    return;
                }
            }
        });
        port
    }

    /// The expected class of a scripted reply.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Class {
        Transient,
        Outage,
        Permanent,
    }

    /// The reply code and the stage decide: 4xx → Transient anywhere; 5xx at EHLO or MAIL FROM
    /// → Outage (the service refuses us); 5xx at RCPT, DATA or after the body → Permanent (this
    /// message). The server's text is kept either way. (AUTH needs TLS, so a refused login is
    /// checked against the mail stack: `wrong_password_is_an_outage`.)
    #[tokio::test]
    async fn reply_codes_are_classified() {
        let cases: [(&'static str, &'static str, Class, &str); 10] = [
            (
                "MAIL FROM",
                "451 4.3.0 try again later\r\n",
                Class::Transient,
                "try again later",
            ),
            (
                "MAIL FROM",
                "421 4.7.0 too busy\r\n",
                Class::Transient,
                "too busy",
            ),
            (
                "MAIL FROM",
                "550 5.7.1 sender rejected\r\n",
                Class::Outage,
                "sender rejected",
            ),
            ("MAIL FROM", "554 5.7.1 policy\r\n", Class::Outage, "policy"),
            (
                "EHLO",
                "554 5.7.1 not welcome\r\n",
                Class::Outage,
                "not welcome",
            ),
            (
                "EHLO",
                "421 4.3.2 shutting down\r\n",
                Class::Transient,
                "shutting down",
            ),
            (
                "RCPT TO",
                "550 5.1.1 no such user\r\n",
                Class::Permanent,
                "no such user",
            ),
            (
                "RCPT TO",
                "450 4.2.1 mailbox busy\r\n",
                Class::Transient,
                "mailbox busy",
            ),
            (
                "DATA",
                "554 5.5.1 no valid recipients\r\n",
                Class::Permanent,
                "no valid",
            ),
            (
                ".",
                "552 5.3.4 message too big\r\n",
                Class::Permanent,
                "too big",
            ),
        ];
        for (at, reply, class, text) in cases {
            let port = scripted_server_at(at, reply).await;
            let s = SmtpSettings {
                host: "127.0.0.1".into(),
                port,
                security: Security::Plain,
                ca_file: None,
                credentials: None,
                timeout: Duration::from_secs(5),
            };
            let mailer = Mailer::new(&s).expect("mailer");
            let out = mailer
                .send(
                    "foi@example.org",
                    &["x@example.org".into()],
                    b"Subject: x\r\n\r\nx\r\n",
                )
                .await;
            let (got, error) = match &out {
                SendOutcome::Transient { error } => (Class::Transient, error),
                SendOutcome::Outage { error } => (Class::Outage, error),
                SendOutcome::Permanent { error } => (Class::Permanent, error),
                SendOutcome::Sent { .. } => panic!("{at} {reply}: sent?"),
            };
            assert_eq!(got, class, "{at} {reply}: {out:?}");
            assert!(error.contains(text), "{at} {reply}: {error}");
        }
    }

    /// STARTTLS required but not offered: never falls back to clear text.
    #[tokio::test]
    async fn missing_starttls_is_not_sent_in_clear() {
        let port = scripted_server("250 ok\r\n").await;
        let s = SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            security: Security::StartTls,
            ca_file: None,
            credentials: None,
            timeout: Duration::from_secs(5),
        };
        let mailer = Mailer::new(&s).expect("mailer");
        let out = mailer
            .send(
                "foi@example.org",
                &["x@example.org".into()],
                b"Subject: x\r\n\r\nx\r\n",
            )
            .await;
        match out {
            SendOutcome::Transient { error } => assert!(error.contains("STARTTLS"), "{error}"),
            other => panic!("expected Transient, got {other:?}"),
        }
    }

    /// End to end: compose an acknowledgement, submit it with STARTTLS + AUTH, read it back from
    /// the requester's Maildir and parse it.
    #[tokio::test]
    async fn rendered_acknowledgement_round_trip() {
        use crate::core::deadline::{Regime, Region};
        use crate::letters::Letters;
        use crate::letters::compose::AckData;
        use crate::model::kind::Kind;
        use chrono::NaiveDate;

        let user = "smtp_ack_requester";
        clear_maildir(user);
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let templates = Letters::load(&dir).expect("templates load");
        let data = AckData {
            template: "ack_foi".into(),
            organisation: "Exampleshire County Council".into(),
            shared_address: "foi@example.org".into(),
            reference: "FOI-2026-000777".into(),
            kind: Kind::Foi,
            regime: Some(Regime::Foia),
            region: Region::EnglandAndWales,
            received: NaiveDate::from_ymd_opt(2026, 11, 23).expect("date"),
            due: NaiveDate::from_ymd_opt(2026, 12, 21),
            requester_name: Some("Zoë Requester".into()),
            requester_email: format!("{user}@example.org"),
            their_subject: "Café licences <2025>".into(),
            missing: vec![],
            identity: None,
            language: crate::model::language::LetterLanguage::English,
        };
        let date = chrono::DateTime::parse_from_rfc3339("2026-11-23T10:15:00Z")
            .expect("date")
            .with_timezone(&chrono::Utc);
        let raw = templates
            .render(
                &data,
                "<ack-777@example.org>",
                Some("<their-777@mail.example.net>"),
                &[],
                date,
            )
            .expect("renders");
        let mailer = Mailer::new(&submission_settings("secret")).expect("mailer");
        let out = mailer
            .send(
                "foi@example.org",
                std::slice::from_ref(&data.requester_email),
                &raw,
            )
            .await;
        assert!(matches!(out, SendOutcome::Sent { .. }), "{out:?}");
        let got = wait_for_mail(user, "ack-777@example.org").await;
        let m = crate::core::parse::parse(&got, &crate::core::extract::InProcess);
        assert_eq!(
            m.subject,
            "[FOI-2026-000777] Your request: Café licences <2025>"
        );
        assert_eq!(m.message_id.as_deref(), Some("ack-777@example.org"));
        assert_eq!(m.in_reply_to, vec!["their-777@mail.example.net"]);
        assert_eq!(m.machine.auto_submitted.as_deref(), Some("auto-replied"));
        assert_eq!(m.to[0].name.as_deref(), Some("Zoë Requester"));
        assert!(
            m.body_text.contains("Dear Zoë Requester,"),
            "{}",
            m.body_text
        );
        assert!(m.body_text.contains("Monday 21 December 2026"));
        assert!(m.body_text.contains("Information Commissioner's Office"));
        assert_eq!(
            m.header("delivered-to"),
            Some(format!("{user}@example.org").as_str())
        );
    }
}
