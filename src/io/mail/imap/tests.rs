//! Tests of the IMAP edge: pure helpers table-driven; everything else against the real mail stack
//! (Dovecot from `scripts/mailstack.sh`), started once per test process on port base 21000 under
//! /var/tmp/foi-imap-test and left running for the next run (it restarts in ~0.07 s when up).
//! Stop it with `bash scripts/mailstack.sh stop /var/tmp/foi-imap-test`.
//!
//! Each test logs in as its own user (any name works with password "secret"), suffixed with the
//! process id so leftovers from earlier runs never meet a new run.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use futures::TryStreamExt as _;

use super::*;

/// Where the test stack lives: reachable by user dovecot, short (socket path limit).
const STACK_DIR: &str = "/var/tmp/foi-imap-test";
/// Port base reserved for these tests (IMAP 21143, IMAPS 21993), away from the default 10000.
const STACK_PORT_BASE: &str = "21000";

/// The running stack's coordinates, read from `DIR/env`.
struct Stack {
    imap_port: u16,
    imaps_port: u16,
    ca: PathBuf,
}

static STACK: OnceLock<Result<Stack, String>> = OnceLock::new();

fn start_stack() -> Result<Stack, String> {
    let env = crate::io::mail::test_stack::start(STACK_DIR, STACK_PORT_BASE)?;
    Ok(Stack {
        imap_port: env.port("MAILSTACK_IMAP_PORT"),
        imaps_port: env.port("MAILSTACK_IMAPS_PORT"),
        ca: PathBuf::from(env.var("MAILSTACK_CA")),
    })
}

/// The stack, started on first use; a test FAILS (never skips) when it cannot start.
fn stack() -> &'static Stack {
    match STACK.get_or_init(start_stack) {
        Ok(stack) => stack,
        Err(hint) => panic!("{hint}"),
    }
}

/// The variant of the stack with Dovecot's personal namespace under `INBOX.` (the layout of
/// Cyrus, Courier and many hosted servers), on its own directory and port base.
const NS_STACK_DIR: &str = "/var/tmp/foi-ns-test";
/// Port base of [`NS_STACK_DIR`] (IMAPS 28993); the daemon tests use the same stack.
const NS_STACK_PORT_BASE: &str = "28000";

static NS_STACK: OnceLock<Result<crate::io::mail::test_stack::Stack, String>> = OnceLock::new();

/// IMAPS settings for `user` on the `INBOX.` stack.
fn ns_settings(user: &str) -> ImapSettings {
    let stack = crate::io::mail::test_stack::get_with_prefix(
        &NS_STACK,
        NS_STACK_DIR,
        NS_STACK_PORT_BASE,
        "INBOX.",
    );
    ImapSettings {
        host: "localhost".to_owned(),
        port: stack.port("MAILSTACK_IMAPS_PORT"),
        security: Security::Tls,
        ca_file: Some(PathBuf::from(stack.var("MAILSTACK_CA"))),
        auth: ImapAuth::Login {
            username: user.to_owned(),
            password: "secret".to_owned(),
        },
        timeouts: test_timeouts(),
    }
}

/// A user of its own for one test and one run.
fn user(test: &str) -> String {
    format!("{test}_{}", std::process::id())
}

/// Short limits so a hang fails the test quickly.
fn test_timeouts() -> ImapTimeouts {
    ImapTimeouts {
        connect: Duration::from_secs(10),
        command: Duration::from_secs(10),
        fetch: Duration::from_secs(10),
        poll_interval: Duration::from_millis(200),
    }
}

fn settings(user: &str, security: Security) -> ImapSettings {
    let stack = stack();
    let port = match security {
        Security::Tls => stack.imaps_port,
        Security::StartTls | Security::Plain => stack.imap_port,
    };
    ImapSettings {
        host: "localhost".to_owned(),
        port,
        security,
        ca_file: Some(stack.ca.clone()),
        auth: ImapAuth::Login {
            username: user.to_owned(),
            password: "secret".to_owned(),
        },
        timeouts: test_timeouts(),
    }
}

async fn connect(user: &str) -> ImapClient {
    match ImapClient::connect(&settings(user, Security::Tls)).await {
        Ok(client) => client,
        Err(e) => panic!("connect as {user}: {e}"),
    }
}

/// A small message with CRLF line ends (what IMAP hands back) and a unique subject.
fn message(subject: &str) -> Vec<u8> {
    format!(
        "From: Requester <requester@example.org>\r\nTo: foi@example.org\r\n\
         Subject: {subject}\r\nMessage-ID: <{subject}@example.org>\r\n\
         Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\n\
         Under the Freedom of Information Act 2000 please send me ...\r\n"
    )
    .into_bytes()
}

/// The flags of `uid` in the selected mailbox, read with a plain UID FETCH FLAGS.
async fn flags(client: &mut ImapClient, uid: u32) -> Vec<String> {
    let set = uid.to_string();
    let fetches = client
        .run("UID FETCH", Duration::from_secs(10), async |s| {
            s.uid_fetch(&set, "(UID FLAGS)")
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await
        .expect("UID FETCH FLAGS");
    fetches
        .iter()
        .filter(|f| f.uid == Some(uid))
        .flat_map(|f| f.flags().map(|flag| format!("{flag:?}")))
        .collect()
}

// ---------------------------------------------------------------- pure helpers

#[test]
fn filter_uids_from_drops_the_star_answer_below_n() {
    let cases: &[(&[u32], u32, &[u32])] = &[
        // `UID 10:*` on a mailbox whose highest UID is 7 answers 7: nothing is new.
        (&[7], 10, &[]),
        (&[], 10, &[]),
        (&[10], 10, &[10]),
        (&[12, 10, 11], 10, &[10, 11, 12]),
        (&[3, 9, 15], 9, &[9, 15]),
        (&[1, 1, 2], 1, &[1, 2]),
        (&[u32::MAX], u32::MAX, &[u32::MAX]),
    ];
    for (input, first, expected) in cases {
        assert_eq!(
            filter_uids_from(input.iter().copied(), *first),
            expected.to_vec(),
            "uids {input:?} from {first}"
        );
    }
}

#[test]
fn folder_names_are_validated() {
    let cases: &[(&str, bool)] = &[
        ("INBOX", true),
        ("Triage/FOI", true),
        ("Triage/Quarantine 2026", true),
        ("Archive", true),
        ("", false),
        ("/Triage", false),
        ("Triage/", false),
        ("Triage//FOI", false),
        ("Triage/*", false),
        ("Tri%age", false),
        ("Triage\r\nA1 LOGOUT", false),
        ("Triage\0", false),
        ("Triage/Réponses", false),
    ];
    for (name, ok) in cases {
        let result = validate_folder(name);
        assert_eq!(result.is_ok(), *ok, "{name:?}: {result:?}");
        if let Err(e) = result {
            assert!(matches!(e, ImapError::Invalid { .. }), "{name:?}: {e:?}");
            assert!(!e.is_transient());
        }
    }
}

#[test]
fn flags_are_validated() {
    let cases: &[(&str, bool)] = &[
        ("\\Seen", true),
        ("\\Deleted", true),
        ("$FoiTriaged", true),
        ("Junk", true),
        ("", false),
        ("\\", false),
        ("two words", false),
        ("a)b", false),
        ("(\\Seen", false),
        ("x\r\ny", false),
        ("\"q\"", false),
        ("a*", false),
        ("a]", false),
    ];
    for (flag, ok) in cases {
        assert_eq!(validate_flag(flag).is_ok(), *ok, "{flag:?}");
    }
}

#[test]
fn quote_escapes_backslash_and_double_quote() {
    let cases = [
        ("INBOX", "\"INBOX\""),
        ("Triage.FOI", "\"Triage.FOI\""),
        ("a\"b", "\"a\\\"b\""),
        ("a\\b", "\"a\\\\b\""),
        ("", "\"\""),
    ];
    for (input, expected) in cases {
        assert_eq!(quote(input), expected, "{input:?}");
    }
}

#[test]
fn xoauth2_sasl_string_has_the_documented_shape() {
    let cases = [
        (
            "foi@council.example",
            "ya29.a0AfH6",
            "user=foi@council.example\x01auth=Bearer ya29.a0AfH6\x01\x01",
        ),
        ("u", "t", "user=u\x01auth=Bearer t\x01\x01"),
    ];
    for (user, token, expected) in cases {
        assert_eq!(xoauth2_sasl(user, token).expect(user), expected);
    }
    for bad_user in ["", "a\x01b", "a\nb", "a\tb"] {
        let err = xoauth2_sasl(bad_user, "t").expect_err(bad_user);
        assert!(
            matches!(err, ImapError::Invalid { .. }),
            "{bad_user:?}: {err:?}"
        );
    }
}

#[test]
fn xoauth2_authenticator_answers_once_then_acknowledges_the_error_challenge() {
    use async_imap::Authenticator as _;
    let mut auth = XOAuth2Authenticator {
        response: Some("user=u\x01auth=Bearer t\x01\x01".to_owned()),
    };
    assert_eq!(auth.process(b""), "user=u\x01auth=Bearer t\x01\x01");
    // The error challenge (base64 JSON) must be answered with an empty line, not the secret again.
    assert_eq!(auth.process(br#"{"status":"401"}"#), "");
    assert_eq!(auth.process(b""), "");
}

#[tokio::test]
async fn token_source_reads_and_trims_file_and_command_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write token file");
        path
    };
    let ok_cases = [
        (
            TokenSource::File(write("plain", b"abc.DEF-123")),
            "abc.DEF-123",
        ),
        (
            TokenSource::File(write("nl", b"  tok/en+=\n\n")),
            "tok/en+=",
        ),
        (TokenSource::File(write("crlf", b"\ttok\r\n")), "tok"),
        (
            TokenSource::Command("printf ' from-cmd \\n'".to_owned()),
            "from-cmd",
        ),
        (TokenSource::Command("echo a; true".to_owned()), "a"),
        (
            TokenSource::File(write("max", &[b'b'; 64 * 1024])),
            &"b".repeat(64 * 1024),
        ),
    ];
    for (source, expected) in ok_cases {
        let token = source.read().await;
        assert_eq!(
            token.as_deref().ok(),
            Some(expected),
            "{source:?}: {token:?}"
        );
    }
    let missing = dir.path().join("missing");
    /// Recognises the expected error variant.
    type IsExpected = fn(&TokenError) -> bool;
    let err_cases: Vec<(TokenSource, IsExpected, bool)> = vec![
        (
            TokenSource::File(missing),
            |e| matches!(e, TokenError::Read { .. }),
            false,
        ),
        (
            TokenSource::File(write("empty", b"")),
            |e| matches!(e, TokenError::Empty { .. }),
            false,
        ),
        (
            TokenSource::File(write("blank", b" \n\t\n")),
            |e| matches!(e, TokenError::Empty { .. }),
            false,
        ),
        (
            TokenSource::File(write("two", b"tok1\ntok2\n")),
            |e| matches!(e, TokenError::Invalid { .. }),
            false,
        ),
        (
            TokenSource::File(write("ctl", b"to\x01ken")),
            |e| matches!(e, TokenError::Invalid { .. }),
            false,
        ),
        (
            TokenSource::File(write("latin1", b"tok\xe9")),
            |e| matches!(e, TokenError::Invalid { .. }),
            false,
        ),
        (
            TokenSource::File(write("huge", &[b'a'; 64 * 1024 + 1])),
            |e| matches!(e, TokenError::TooLarge { .. }),
            false,
        ),
        (
            TokenSource::Command("yes".to_owned()),
            |e| matches!(e, TokenError::TooLarge { .. }),
            false,
        ),
        (
            TokenSource::Command("true".to_owned()),
            |e| matches!(e, TokenError::Empty { .. }),
            false,
        ),
        (
            TokenSource::Command("echo secret-token; exit 3".to_owned()),
            |e| matches!(e, TokenError::CommandFailed { .. }),
            true,
        ),
    ];
    for (source, is_expected, transient) in err_cases {
        let err = source.read().await.expect_err("must fail");
        assert!(is_expected(&err), "{source:?}: {err:?}");
        assert_eq!(err.is_transient(), transient, "{source:?}: {err:?}");
        let shown = err.to_string();
        assert!(
            !shown.contains("secret-token") && !shown.contains("tok1"),
            "{shown}"
        );
        // Wrapped in ImapError the classification is kept.
        assert_eq!(ImapError::from(err).is_transient(), transient);
    }
}

#[test]
fn secrets_and_bodies_never_appear_in_debug_output() {
    let settings = ImapSettings {
        host: "imap.example.org".to_owned(),
        port: 993,
        security: Security::Tls,
        ca_file: None,
        auth: ImapAuth::Login {
            username: "foi".to_owned(),
            password: "hunter2-password".to_owned(),
        },
        timeouts: ImapTimeouts::default(),
    };
    let shown = format!("{settings:?}");
    assert!(
        shown.contains("foi") && !shown.contains("hunter2"),
        "{shown}"
    );
    let oauth = ImapAuth::XOAuth2 {
        username: "foi".to_owned(),
        token_source: TokenSource::Command("get-token --client-secret s3cr3t".to_owned()),
    };
    let shown = format!("{oauth:?}");
    assert!(!shown.contains("s3cr3t"), "{shown}");
    let fetched = Fetched {
        uid: 7,
        internal_date: DateTime::<Utc>::UNIX_EPOCH,
        raw: b"Subject: my child's care plan".to_vec(),
        size: 29,
        partial: false,
    };
    let shown = format!("{fetched:?}");
    assert!(
        shown.contains("raw_len: 29") && !shown.contains("care plan"),
        "{shown}"
    );
}

#[test]
fn transient_classification() {
    let io = || io::Error::new(io::ErrorKind::ConnectionRefused, "refused");
    let cases: Vec<(ImapError, bool)> = vec![
        (
            ImapError::Connect {
                host: "h".into(),
                port: 1,
                source: io(),
            },
            true,
        ),
        (
            ImapError::Timeout {
                op: "SELECT",
                after: Duration::from_secs(1),
            },
            true,
        ),
        (
            ImapError::Connection {
                op: "IDLE",
                detail: "BYE".into(),
            },
            true,
        ),
        (ImapError::Closed, true),
        (
            ImapError::Certificate {
                host: "h".into(),
                detail: "unknown issuer".into(),
            },
            false,
        ),
        (
            ImapError::Tls {
                host: "h".into(),
                detail: "corrupt message".into(),
            },
            false,
        ),
        (
            ImapError::Auth {
                username: "u".into(),
                detail: "AUTHENTICATIONFAILED".into(),
                transient: false,
            },
            false,
        ),
        (
            ImapError::from_auth(
                "u",
                async_imap::error::Error::No("[UNAVAILABLE] down".into()),
            ),
            true,
        ),
        (
            ImapError::from_auth(
                "u",
                async_imap::error::Error::No("Authentication failed".into()),
            ),
            false,
        ),
        (
            ImapError::from_auth("u", async_imap::error::Error::ConnectionLost),
            true,
        ),
        (
            ImapError::from_imap("SELECT", async_imap::error::Error::No("no mailbox".into())),
            false,
        ),
        (
            ImapError::from_imap("FETCH", async_imap::error::Error::Io(io())),
            true,
        ),
        (
            ImapError::Protocol {
                op: "SELECT",
                detail: "no UIDVALIDITY".into(),
            },
            false,
        ),
    ];
    for (err, transient) in cases {
        assert_eq!(err.is_transient(), transient, "{err:?}");
    }
}

// ---------------------------------------------------------------- against Dovecot

#[tokio::test]
async fn imaps_connects_with_the_test_ca_and_reads_capabilities_after_login() {
    let u = user("imaps_connect");
    for host in ["localhost", "127.0.0.1"] {
        let mut s = settings(&u, Security::Tls);
        s.host = host.to_owned();
        let mut client = ImapClient::connect(&s).await.expect(host);
        // Dovecot lists these only after login: proves they were read then.
        assert!(client.has_idle(), "{client:?}");
        assert!(client.has_move(), "{client:?}");
        assert!(client.has_capability("uidplus"), "{client:?}");
        let state = client.select("INBOX").await.expect("select");
        assert!(state.uidvalidity > 0);
        assert_eq!(state.exists, 0);
        client.logout().await.expect("logout");
    }
}

#[tokio::test]
async fn starttls_and_plain_connect_on_the_plain_port() {
    let u = user("starttls_connect");
    for security in [Security::StartTls, Security::Plain] {
        let mut client = ImapClient::connect(&settings(&u, security))
            .await
            .unwrap_or_else(|e| panic!("{security:?}: {e}"));
        assert!(client.has_move(), "{security:?}");
        let state = client.select("INBOX").await.expect("select");
        assert!(state.uid_next >= 1);
        client.logout().await.expect("logout");
    }
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_certificate_error_not_transient() {
    let u = user("wrong_ca");
    let dir = tempfile::tempdir().expect("tempdir");
    let other_ca = dir.path().join("other-ca.pem");
    let key = dir.path().join("other-ca.key");
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .arg("ec_paramgen_curve:prime256v1")
        .args(["-nodes", "-days", "1", "-subj", "/CN=other-ca", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&other_ca)
        .output()
        .expect("run openssl");
    assert!(made.status.success(), "openssl: {made:?}");
    // Another private CA, and the public web roots: neither signed the stack's certificate.
    for (security, ca_file) in [
        (Security::Tls, Some(other_ca.clone())),
        (Security::Tls, None),
        (Security::StartTls, Some(other_ca.clone())),
    ] {
        let mut s = settings(&u, security);
        s.ca_file = ca_file.clone();
        let err = ImapClient::connect(&s).await.expect_err("must not connect");
        assert!(
            matches!(err, ImapError::Certificate { .. }),
            "{security:?} {ca_file:?}: {err:?}"
        );
        assert!(!err.is_transient(), "{err:?}");
    }
}

#[tokio::test]
async fn ca_file_and_tls_port_mistakes_are_configuration_errors() {
    let u = user("tls_config");
    let dir = tempfile::tempdir().expect("tempdir");
    let not_pem = dir.path().join("not.pem");
    std::fs::write(&not_pem, "hello").expect("write");
    for ca in [not_pem, dir.path().join("missing.pem")] {
        let mut s = settings(&u, Security::Tls);
        s.ca_file = Some(ca.clone());
        let err = ImapClient::connect(&s).await.expect_err("bad CA file");
        assert!(matches!(err, ImapError::CaFile { .. }), "{ca:?}: {err:?}");
        assert!(!err.is_transient());
    }
    // Implicit TLS against the plain-text port: the server's greeting is not a TLS record.
    let mut s = settings(&u, Security::Tls);
    s.port = stack().imap_port;
    let err = ImapClient::connect(&s)
        .await
        .expect_err("TLS to plain port");
    assert!(matches!(err, ImapError::Tls { .. }), "{err:?}");
    assert!(!err.is_transient());
}

#[tokio::test]
async fn a_wrong_password_is_an_auth_error_not_transient() {
    let u = user("wrong_password");
    let mut s = settings(&u, Security::Tls);
    s.auth = ImapAuth::Login {
        username: u.clone(),
        password: "not-the-password".to_owned(),
    };
    let err = ImapClient::connect(&s).await.expect_err("wrong password");
    assert!(matches!(err, ImapError::Auth { .. }), "{err:?}");
    assert!(!err.is_transient(), "{err:?}");
    assert!(!err.to_string().contains("not-the-password"), "{err}");
}

#[tokio::test]
async fn xoauth2_is_sent_and_a_refusal_is_an_auth_error() {
    // Dovecot here has no oauth2 passdb, so it refuses the mechanism: this checks the SASL
    // exchange runs and its failure is classified, not that a token is accepted.
    let u = user("xoauth2");
    let dir = tempfile::tempdir().expect("tempdir");
    let token = dir.path().join("token");
    std::fs::write(&token, "ya29.test-token\n").expect("write");
    let mut s = settings(&u, Security::Tls);
    s.auth = ImapAuth::XOAuth2 {
        username: u.clone(),
        token_source: TokenSource::File(token),
    };
    let err = ImapClient::connect(&s).await.expect_err("no XOAUTH2 here");
    assert!(matches!(err, ImapError::Auth { .. }), "{err:?}");
    assert!(!err.is_transient(), "{err:?}");
    assert!(!err.to_string().contains("ya29"), "{err}");
    // A missing token file fails before anything is sent.
    s.auth = ImapAuth::XOAuth2 {
        username: u.clone(),
        token_source: TokenSource::File(dir.path().join("missing")),
    };
    let err = ImapClient::connect(&s).await.expect_err("missing token");
    assert!(
        matches!(err, ImapError::Token(TokenError::Read { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn connection_refused_is_transient() {
    // A port that was just free: bind, note the port, release it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    for security in [Security::Tls, Security::StartTls, Security::Plain] {
        let mut s = settings("refused", security);
        s.host = "127.0.0.1".to_owned();
        s.port = port;
        let err = ImapClient::connect(&s).await.expect_err("refused");
        assert!(matches!(err, ImapError::Connect { .. }), "{err:?}");
        assert!(err.is_transient(), "{err:?}");
    }
}

#[tokio::test]
async fn select_reports_uidvalidity_and_uid_next() {
    let u = user("select_state");
    let mut client = connect(&u).await;
    let before = client.select("INBOX").await.expect("select");
    client
        .append("INBOX", &message("select-1"), &[])
        .await
        .expect("append");
    let after = client.select("INBOX").await.expect("select again");
    assert_eq!(after.uidvalidity, before.uidvalidity);
    assert_eq!(after.uid_next, before.uid_next + 1);
    assert_eq!(after.exists, before.exists + 1);
    let err = client.select("No/Such/Folder").await.expect_err("missing");
    // The refusal, with the name as sent (Dovecot's '.' delimiter) and as configured.
    let ImapError::Folder {
        configured,
        server,
        cause,
    } = &err
    else {
        panic!("{err:?}");
    };
    assert!(matches!(**cause, ImapError::No { .. }), "{err:?}");
    assert_eq!(
        (configured.as_str(), server.as_str()),
        ("No/Such/Folder", "No.Such.Folder")
    );
    assert!(
        err.to_string().contains(
            "(folder \"No.Such.Folder\" as sent to the server, \"No/Such/Folder\" as configured)"
        ),
        "{err}"
    );
    assert!(!err.is_transient());
    // A refusal leaves the session usable.
    client.select("INBOX").await.expect("still usable");
}

#[tokio::test]
async fn append_then_fetch_returns_the_exact_bytes_and_internaldate_without_seen() {
    let u = user("fetch_exact");
    let mut client = connect(&u).await;
    let raw = message("fetch-exact");
    let before = Utc::now();
    client.append("INBOX", &raw, &[]).await.expect("append");
    let state = client.select("INBOX").await.expect("select");
    let uids = client.uids_from(1).await.expect("uids");
    assert_eq!(uids, vec![state.uid_next - 1]);
    assert_eq!(client.uid_search_all().await.expect("all"), uids);
    let fetched = client
        .fetch(uids[0])
        .await
        .expect("fetch")
        .expect("present");
    assert_eq!(fetched.uid, uids[0]);
    assert_eq!(fetched.raw, raw);
    // INTERNALDATE has whole seconds: allow one second either side of the APPEND.
    let slack = chrono::Duration::seconds(1);
    assert!(
        fetched.internal_date >= before - slack && fetched.internal_date <= Utc::now() + slack,
        "{} not around {before}",
        fetched.internal_date
    );
    // BODY.PEEK[]: the officers still see the message as unread.
    let after = flags(&mut client, uids[0]).await;
    assert!(!after.iter().any(|f| f.contains("Seen")), "{after:?}");
    // A flag given to APPEND is kept (the import path).
    client
        .append("INBOX", &message("fetch-seen"), &["\\Seen"])
        .await
        .expect("append seen");
    let uids = client.uids_from(uids[0] + 1).await.expect("uids");
    assert_eq!(uids.len(), 1);
    let seen = flags(&mut client, uids[0]).await;
    assert!(seen.iter().any(|f| f.contains("Seen")), "{seen:?}");
    // A UID that does not exist: None, not an error.
    assert_eq!(client.fetch(uids[0] + 100).await.expect("fetch"), None);
}

#[tokio::test]
async fn uids_from_past_the_end_is_empty_although_the_server_answers_the_highest_uid() {
    let u = user("uid_star");
    let mut client = connect(&u).await;
    for i in 0..3 {
        client
            .append("INBOX", &message(&format!("star-{i}")), &[])
            .await
            .expect("append");
    }
    let state = client.select("INBOX").await.expect("select");
    let highest = state.uid_next - 1;
    // Check the server really has the quirk, so the test below means something.
    let query = format!("UID {}:*", state.uid_next);
    let raw = client
        .run("UID SEARCH", Duration::from_secs(10), async |s| {
            s.uid_search(&query).await
        })
        .await
        .expect("raw search");
    assert_eq!(raw.into_iter().collect::<Vec<_>>(), vec![highest]);
    assert_eq!(
        client.uids_from(state.uid_next).await.expect("uids"),
        Vec::<u32>::new()
    );
    assert_eq!(
        client.uids_from(highest).await.expect("uids"),
        vec![highest]
    );
    assert_eq!(
        client.uids_from(0).await.expect("uids"),
        vec![highest - 2, highest - 1, highest]
    );
    assert_eq!(
        client.uids_from(u32::MAX).await.expect("uids"),
        Vec::<u32>::new()
    );
}

#[tokio::test]
async fn file_moves_into_a_created_folder_and_the_uid_leaves_inbox() {
    let u = user("file_move");
    let mut client = connect(&u).await;
    let raw = message("file-move");
    client.append("INBOX", &raw, &[]).await.expect("append");
    client.select("INBOX").await.expect("select");
    let uid = client.uids_from(1).await.expect("uids")[0];
    assert_eq!(
        client.file(uid, "Triage/FOI").await.expect("file"),
        Filed::Moved
    );
    assert_eq!(client.uids_from(1).await.expect("uids"), Vec::<u32>::new());
    // Filing again (a retry after a crash) is harmless.
    assert_eq!(
        client.file(uid, "Triage/FOI").await.expect("refile"),
        Filed::Moved
    );
    let state = client.select("Triage/FOI").await.expect("select folder");
    assert_eq!(state.exists, 1);
    let moved = client.uids_from(1).await.expect("uids");
    let fetched = client
        .fetch(moved[0])
        .await
        .expect("fetch")
        .expect("present");
    assert_eq!(fetched.raw, raw);
    // Folder names with a character the server would need modified UTF-7 for are refused.
    let err = client
        .file(1, "Triage/Réponses")
        .await
        .expect_err("non-ASCII");
    assert!(matches!(err, ImapError::Invalid { .. }), "{err:?}");
}

#[tokio::test]
async fn file_without_move_copies_then_expunges_or_marks() {
    let u = user("file_copy");
    let mut client = connect(&u).await;
    for i in 0..2 {
        client
            .append("INBOX", &message(&format!("copy-{i}")), &[])
            .await
            .expect("append");
    }
    client.select("INBOX").await.expect("select");
    let uids = client.uids_from(1).await.expect("uids");
    assert_eq!(uids.len(), 2);
    // Pretend the server has no MOVE: COPY + \Deleted + UID EXPUNGE of that UID only.
    client.capabilities.remove("MOVE");
    assert_eq!(
        client.file(uids[0], "Triage/Copied").await.expect("file"),
        Filed::CopiedAndExpunged
    );
    assert_eq!(client.uids_from(1).await.expect("uids"), vec![uids[1]]);
    // And no UIDPLUS either: COPY + keyword, the original stays.
    client.capabilities.remove("UIDPLUS");
    assert_eq!(
        client.file(uids[1], "Triage/Copied").await.expect("file"),
        Filed::CopiedAndMarked
    );
    assert_eq!(client.uids_from(1).await.expect("uids"), vec![uids[1]]);
    let kept = flags(&mut client, uids[1]).await;
    assert!(kept.iter().any(|f| f.contains(TRIAGED_KEYWORD)), "{kept:?}");
    assert!(!kept.iter().any(|f| f.contains("Deleted")), "{kept:?}");
    let state = client.select("Triage/Copied").await.expect("select");
    assert_eq!(state.exists, 2);
}

#[tokio::test]
async fn dovecots_own_namespace_is_learnt_and_folders_use_its_delimiter() {
    let client = connect(&user("ns_default")).await;
    assert_eq!(client.namespace(), &Namespace::top_level(Some('.')));
    assert_eq!(
        client.server_name("Triage/FOI").expect("maps"),
        "Triage.FOI"
    );
}

#[tokio::test]
async fn with_the_inbox_prefix_folders_are_made_and_found_under_it() {
    let u = user("ns_prefix");
    let mut client = ImapClient::connect(&ns_settings(&u))
        .await
        .expect("connect");
    assert_eq!(
        client.namespace(),
        &Namespace {
            prefix: "INBOX.".into(),
            delimiter: Some('.')
        }
    );
    let raw = message("ns-prefix");
    client.append("INBOX", &raw, &[]).await.expect("append");
    client.select("INBOX").await.expect("select INBOX");
    let uid = client.uids_from(1).await.expect("uids")[0];
    assert_eq!(
        client.file(uid, "Triage/FOI").await.expect("file"),
        Filed::Moved
    );
    assert!(client.known_folders.contains("INBOX.Triage.FOI"));
    // The same configured names find it again: SELECT Triage/FOI is INBOX.Triage.FOI.
    let state = client.select("Triage/FOI").await.expect("select folder");
    assert_eq!(state.exists, 1);
    let moved = client.uids_from(1).await.expect("uids");
    let fetched = client
        .fetch(moved[0])
        .await
        .expect("fetch")
        .expect("present");
    assert_eq!(fetched.raw, raw);
    // Sent is INBOX.Sent here, and a name written with the prefix is not prefixed twice.
    client
        .append("Sent", &message("ns-sent"), &["\\Seen"])
        .await
        .expect("append to Sent");
    assert_eq!(client.select("INBOX/Sent").await.expect("select").exists, 1);
    assert_eq!(client.server_name("Sent").expect("maps"), "INBOX.Sent");
}

#[tokio::test]
async fn an_unmapped_name_is_refused_there_and_the_error_names_both_spellings() {
    // What the daemon did before it read the namespace: CREATE Triage.FOI at the top, which
    // this server (like Cyrus and Courier) refuses.
    let u = user("ns_refused");
    let mut client = ImapClient::connect(&ns_settings(&u))
        .await
        .expect("connect");
    client
        .append("INBOX", &message("ns-refused"), &[])
        .await
        .expect("append");
    client.select("INBOX").await.expect("select");
    let uid = client.uids_from(1).await.expect("uids")[0];
    client.namespace = Namespace::top_level(Some('.'));
    let err = client.file(uid, "Triage/FOI").await.expect_err("refused");
    let ImapError::Folder {
        configured,
        server,
        cause,
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(
        (configured.as_str(), server.as_str()),
        ("Triage/FOI", "Triage.FOI")
    );
    assert!(
        matches!(**cause, ImapError::No { op: "CREATE", .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(
            "(folder \"Triage.FOI\" as sent to the server, \"Triage/FOI\" as configured)"
        ),
        "{err}"
    );
    assert!(!err.is_transient());
    // The session is still usable, and the message is where it was.
    assert_eq!(client.uids_from(1).await.expect("uids"), [uid]);
}

#[tokio::test]
async fn sizes_partial_fetches_and_headers_only() {
    let u = user("fetch_sizes");
    let mut client = connect(&u).await;
    let mut raw = message("sizes-big");
    raw.extend(
        std::iter::repeat_n(b"0123456789abcdef0123456789abcdef\r\n".as_slice(), 10_000).flatten(),
    );
    let small = message("sizes-small");
    client.append("INBOX", &raw, &[]).await.expect("append");
    client.append("INBOX", &small, &[]).await.expect("append");
    client.select("INBOX").await.expect("select");
    let uids = client.uids_from(1).await.expect("uids");
    let sizes = client.sizes(&uids).await.expect("sizes");
    assert_eq!(
        sizes,
        [(uids[0], raw.len() as u64), (uids[1], small.len() as u64)]
    );
    // The first bytes only: marked partial, with the whole size.
    let head = client
        .fetch_batch(&Batch {
            uids: vec![uids[0]],
            extent: Extent::Head(4096),
        })
        .await
        .expect("partial fetch");
    assert_eq!(head.len(), 1);
    assert_eq!(head[0].raw, raw[..4096]);
    assert!(head[0].partial);
    assert_eq!(head[0].size, raw.len() as u64);
    // A message smaller than the part asked for is whole.
    let whole = client
        .fetch_batch(&Batch {
            uids: vec![uids[1]],
            extent: Extent::Head(4096),
        })
        .await
        .expect("fetch");
    assert_eq!(whole[0].raw, small);
    assert!(!whole[0].partial);
    // Headers only: up to and with the blank line, nothing of the body.
    let headers = client.fetch_headers(&uids).await.expect("headers");
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("blank line")
        + 4;
    assert_eq!(headers.len(), 2);
    assert_eq!(headers[0], (uids[0], raw[..end].to_vec()));
    // None of it set \Seen.
    assert!(
        !flags(&mut client, uids[0])
            .await
            .iter()
            .any(|f| f.contains("Seen"))
    );
}

/// Appends one message to `user`'s INBOX over a second connection after `delay`.
fn append_later(user: String, delay: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let mut other = connect(&user).await;
        other
            .append("INBOX", &message("idle-wake"), &[])
            .await
            .expect("append from the other connection");
        other.logout().await.expect("logout");
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_wakes_with_new_data_when_another_connection_appends() {
    let u = user("idle_wake");
    let mut client = connect(&u).await;
    client.select("INBOX").await.expect("select");
    let cancel = CancellationToken::new();
    let writer = append_later(u.clone(), Duration::from_millis(300));
    let started = Instant::now();
    let outcome = client
        .idle(Duration::from_secs(20), &cancel)
        .await
        .expect("idle");
    let waited = started.elapsed();
    writer.await.expect("writer");
    assert_eq!(outcome, IdleOutcome::NewData);
    assert!(waited < Duration::from_secs(3), "woke after {waited:?}");
    // DONE was sent: the session takes commands again and sees the message.
    assert_eq!(client.uids_from(1).await.expect("uids").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_without_the_idle_capability_polls_with_noop() {
    let u = user("idle_poll");
    let mut client = connect(&u).await;
    client.select("INBOX").await.expect("select");
    client.capabilities.remove("IDLE");
    let cancel = CancellationToken::new();
    let writer = append_later(u.clone(), Duration::from_millis(300));
    let started = Instant::now();
    let outcome = client
        .idle(Duration::from_secs(20), &cancel)
        .await
        .expect("poll");
    writer.await.expect("writer");
    assert_eq!(outcome, IdleOutcome::NewData);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // And a quiet mailbox times out.
    let started = Instant::now();
    let outcome = client
        .idle(Duration::from_millis(500), &cancel)
        .await
        .expect("poll");
    assert_eq!(outcome, IdleOutcome::Timeout);
    assert!(started.elapsed() >= Duration::from_millis(500));
}

#[tokio::test]
async fn idle_times_out_on_a_quiet_mailbox_and_the_session_stays_usable() {
    let u = user("idle_timeout");
    let mut client = connect(&u).await;
    client.select("INBOX").await.expect("select");
    let cancel = CancellationToken::new();
    for _ in 0..2 {
        let started = Instant::now();
        let outcome = client
            .idle(Duration::from_millis(700), &cancel)
            .await
            .expect("idle");
        let waited = started.elapsed();
        assert_eq!(outcome, IdleOutcome::Timeout);
        assert!(
            waited >= Duration::from_millis(700) && waited < Duration::from_secs(3),
            "{waited:?}"
        );
    }
    assert_eq!(client.uids_from(1).await.expect("uids"), Vec::<u32>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_returns_cancelled_promptly() {
    let u = user("idle_cancel");
    let mut client = connect(&u).await;
    client.select("INBOX").await.expect("select");
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        trigger.cancel();
    });
    let started = Instant::now();
    let outcome = client
        .idle(Duration::from_secs(60), &cancel)
        .await
        .expect("idle");
    assert_eq!(outcome, IdleOutcome::Cancelled);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // Already cancelled: returns at once, session still fine.
    let outcome = client
        .idle(Duration::from_secs(60), &cancel)
        .await
        .expect("idle");
    assert_eq!(outcome, IdleOutcome::Cancelled);
    client.select("INBOX").await.expect("usable after cancel");
}

#[tokio::test]
async fn idle_reports_mail_noticed_during_an_earlier_command_at_once() {
    let u = user("idle_pending");
    let mut client = connect(&u).await;
    client.select("INBOX").await.expect("select");
    // Our own APPEND to the selected mailbox makes the server send `* 1 EXISTS` with the
    // answer: idle must not sleep through it.
    client
        .append("INBOX", &message("pending"), &[])
        .await
        .expect("append");
    let started = Instant::now();
    let outcome = client
        .idle(Duration::from_secs(20), &CancellationToken::new())
        .await
        .expect("idle");
    assert_eq!(outcome, IdleOutcome::NewData);
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn the_client_futures_are_send() {
    fn assert_send<T: Send>(_: T) {}
    // Never run: only type-checked, so the daemon can spawn tasks that own a client.
    let _check = |client: &mut ImapClient, cancel: &CancellationToken| {
        assert_send(client.fetch(1));
        assert_send(client.idle(Duration::from_secs(1), cancel));
        assert_send(client.file(1, "Triage"));
        assert_send(client.select("INBOX"));
    };
    assert_send(ImapClient::connect(&settings("send", Security::Tls)));
}

// ---------------------------------------------------------------- against a scripted fake server
// For what Dovecot will not do on demand: hang, say BYE during IDLE, leave UIDNEXT out.

/// How the fake server misbehaves.
#[derive(Clone, Copy, PartialEq)]
enum Fake {
    /// Accepts the TCP connection and never says anything.
    NoGreeting,
    /// Greets with `* BYE` (server overloaded).
    ByeGreeting,
    /// Never answers SELECT.
    HangOnSelect,
    /// Accepts IDLE, then says BYE and closes.
    ByeInIdle,
    /// Leaves UIDNEXT out of SELECT; answers STATUS.
    NoUidNextInSelect,
    /// Announces NAMESPACE and answers it with these lines (the tagged completion added when
    /// the text does not end with one: `OK`).
    Namespace(&'static str),
    /// Answers UID FETCH of bodies with three small messages, `gap_ms` apart.
    SlowFetch { gap_ms: u64 },
}

/// Serves one connection on 127.0.0.1 the way `fake` says; returns the port.
async fn fake_server(fake: Fake) -> u16 {
    use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind fake server");
    let port = listener.local_addr().expect("local addr").port();
    tokio::spawn(async move {
        let Ok((socket, _)) = listener.accept().await else {
            return;
        };
        let (read, mut write) = socket.into_split();
        let mut lines = BufReader::new(read).lines();
        match fake {
            Fake::NoGreeting => {
                tokio::time::sleep(Duration::from_secs(30)).await;
                return;
            }
            Fake::ByeGreeting => {
                let _ = write.write_all(b"* BYE too many connections\r\n").await;
                return;
            }
            _ => {
                let _ = write.write_all(b"* OK fake ready\r\n").await;
            }
        }
        while let Ok(Some(line)) = lines.next_line().await {
            let (tag, command) = line.split_once(' ').unwrap_or((line.as_str(), ""));
            let verb = command.split(' ').next().unwrap_or("").to_ascii_uppercase();
            let reply = match verb.as_str() {
                "LOGIN" => format!("{tag} OK logged in\r\n"),
                "CAPABILITY" if matches!(fake, Fake::Namespace(_)) => {
                    format!("* CAPABILITY IMAP4rev1 IDLE NAMESPACE\r\n{tag} OK done\r\n")
                }
                "CAPABILITY" => format!("* CAPABILITY IMAP4rev1 IDLE\r\n{tag} OK done\r\n"),
                "NAMESPACE" => match fake {
                    Fake::Namespace(answer) if answer.contains(&format!("{tag} ")) => {
                        answer.to_owned()
                    }
                    Fake::Namespace(answer) => format!("{answer}{tag} OK done\r\n"),
                    _ => format!("{tag} BAD not in this script\r\n"),
                },
                "LIST" if matches!(fake, Fake::Namespace(_)) => {
                    format!("* LIST (\\Noselect) \"/\" \"\"\r\n{tag} OK done\r\n")
                }
                "UID" if command.to_ascii_uppercase().contains("BODY.PEEK[]") => {
                    let Fake::SlowFetch { gap_ms } = fake else {
                        return;
                    };
                    for uid in 1..=3 {
                        tokio::time::sleep(Duration::from_millis(gap_ms)).await;
                        let body = format!("Subject: {uid}\r\n\r\nbody {uid}\r\n");
                        let item = format!(
                            "* {uid} FETCH (UID {uid} INTERNALDATE \"23-Nov-2026 10:00:00 +0000\" \
                             RFC822.SIZE {} BODY[] {{{}}}\r\n{body})\r\n",
                            body.len(),
                            body.len()
                        );
                        if write.write_all(item.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                    format!("{tag} OK done\r\n")
                }
                "SELECT" if fake == Fake::HangOnSelect => {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    return;
                }
                "SELECT" if fake == Fake::NoUidNextInSelect => format!(
                    "* 3 EXISTS\r\n* OK [UIDVALIDITY 7] v\r\n{tag} OK [READ-WRITE] done\r\n"
                ),
                "SELECT" => format!(
                    "* 0 EXISTS\r\n* OK [UIDVALIDITY 7] v\r\n* OK [UIDNEXT 5] n\r\n\
                     {tag} OK [READ-WRITE] done\r\n"
                ),
                "STATUS" => format!("* STATUS INBOX (UIDNEXT 42)\r\n{tag} OK done\r\n"),
                "IDLE" if fake == Fake::ByeInIdle => {
                    let _ = write.write_all(b"+ idling\r\n").await;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    let _ = write.write_all(b"* BYE server shutting down\r\n").await;
                    return;
                }
                _ => format!("{tag} BAD not in this script\r\n"),
            };
            if write.write_all(reply.as_bytes()).await.is_err() {
                return;
            }
        }
    });
    port
}

fn fake_settings(port: u16) -> ImapSettings {
    ImapSettings {
        host: "127.0.0.1".to_owned(),
        port,
        security: Security::Plain,
        ca_file: None,
        auth: ImapAuth::Login {
            username: "fake".to_owned(),
            password: "secret".to_owned(),
        },
        timeouts: ImapTimeouts {
            connect: Duration::from_millis(500),
            command: Duration::from_millis(500),
            fetch: Duration::from_millis(500),
            poll_interval: Duration::from_millis(100),
        },
    }
}

#[tokio::test]
async fn a_silent_or_refusing_server_fails_connect_transiently() {
    let started = Instant::now();
    let err = ImapClient::connect(&fake_settings(fake_server(Fake::NoGreeting).await))
        .await
        .expect_err("no greeting");
    assert!(
        matches!(err, ImapError::Timeout { op: "connect", .. }),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let err = ImapClient::connect(&fake_settings(fake_server(Fake::ByeGreeting).await))
        .await
        .expect_err("BYE greeting");
    assert!(matches!(err, ImapError::Connection { .. }), "{err:?}");
    assert!(err.is_transient());
}

#[tokio::test]
async fn a_hung_command_times_out_and_closes_the_session() {
    let mut client = ImapClient::connect(&fake_settings(fake_server(Fake::HangOnSelect).await))
        .await
        .expect("connect to fake");
    let started = Instant::now();
    let err = client.select("INBOX").await.expect_err("hangs");
    assert!(
        matches!(err, ImapError::Timeout { op: "SELECT", .. }),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // The session's state is unknown now: refuse to use it.
    let err = client.uids_from(1).await.expect_err("closed");
    assert!(matches!(err, ImapError::Closed), "{err:?}");
    assert!(err.is_transient());
}

#[tokio::test]
async fn bye_during_idle_is_a_transient_connection_error() {
    let mut client = ImapClient::connect(&fake_settings(fake_server(Fake::ByeInIdle).await))
        .await
        .expect("connect to fake");
    let state = client.select("INBOX").await.expect("select");
    assert_eq!(
        state,
        MailboxState {
            uidvalidity: 7,
            uid_next: 5,
            exists: 0
        }
    );
    let err = client
        .idle(Duration::from_secs(10), &CancellationToken::new())
        .await
        .expect_err("BYE");
    assert!(
        matches!(err, ImapError::Connection { op: "IDLE", .. }),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert!(matches!(
        client.select("INBOX").await,
        Err(ImapError::Closed)
    ));
}

#[tokio::test]
async fn a_select_without_uidnext_falls_back_to_status() {
    let mut client =
        ImapClient::connect(&fake_settings(fake_server(Fake::NoUidNextInSelect).await))
            .await
            .expect("connect to fake");
    let state = client.select("INBOX").await.expect("select");
    assert_eq!(
        state,
        MailboxState {
            uidvalidity: 7,
            uid_next: 42,
            exists: 3
        }
    );
}

#[tokio::test]
async fn the_namespace_is_asked_around_async_imap_and_the_session_goes_on() {
    // (NAMESPACE answer, the namespace learnt)
    let cyrus = "* NAMESPACE ((\"INBOX.\" \".\")) NIL ((\"\" \".\"))\r\n";
    let literal = "* NAMESPACE (({6}\r\nINBOX. \".\")) NIL NIL\r\n";
    let unsolicited_first = "* OK still here\r\n* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n";
    let table: [(&'static str, Namespace); 6] = [
        (
            cyrus,
            Namespace {
                prefix: "INBOX.".into(),
                delimiter: Some('.'),
            },
        ),
        (
            literal,
            Namespace {
                prefix: "INBOX.".into(),
                delimiter: Some('.'),
            },
        ),
        (unsolicited_first, Namespace::top_level(Some('/'))),
        // Refused, unusable, or no personal namespace: LIST's delimiter, no prefix.
        ("FOINS NO not today\r\n", Namespace::top_level(Some('/'))),
        (
            "* NAMESPACE ((\"IN*\" \".\")) NIL NIL\r\n",
            Namespace::top_level(Some('/')),
        ),
        (
            "* NAMESPACE NIL NIL NIL\r\n",
            Namespace::top_level(Some('/')),
        ),
    ];
    for (answer, expected) in table {
        let port = fake_server(Fake::Namespace(answer)).await;
        let mut client = ImapClient::connect(&fake_settings(port))
            .await
            .unwrap_or_else(|e| panic!("{answer:?}: {e}"));
        assert_eq!(client.namespace(), &expected, "{answer:?}");
        // async-imap's stream was not disturbed: the next command is read as usual.
        let state = client
            .select("INBOX")
            .await
            .expect("select after NAMESPACE");
        assert_eq!(state.uidvalidity, 7, "{answer:?}");
    }
}

#[tokio::test]
async fn a_batch_has_a_time_limit_per_message_not_for_the_whole_batch() {
    // Three messages 300 ms apart: 900 ms in all, over the 500 ms limit, but each in time.
    let port = fake_server(Fake::SlowFetch { gap_ms: 300 }).await;
    let mut client = ImapClient::connect(&fake_settings(port))
        .await
        .expect("connect to fake");
    let batch = Batch {
        uids: vec![1, 2, 3],
        extent: Extent::Whole,
    };
    let fetched = client.fetch_batch(&batch).await.expect("each in time");
    assert_eq!(fetched.iter().map(|f| f.uid).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(fetched[2].raw, b"Subject: 3\r\n\r\nbody 3\r\n");
    assert!(!fetched[2].partial);
    // One message 700 ms late: that message's limit is hit, the session is dropped.
    let port = fake_server(Fake::SlowFetch { gap_ms: 700 }).await;
    let mut client = ImapClient::connect(&fake_settings(port))
        .await
        .expect("connect to fake");
    let started = Instant::now();
    let err = client.fetch_batch(&batch).await.expect_err("too slow");
    assert!(
        matches!(
            err,
            ImapError::Timeout {
                op: "UID FETCH",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert!(!client.is_open());
}

#[test]
fn batches_are_bounded_by_bytes_and_count_and_big_or_failed_messages_go_alone() {
    const MB: u64 = 1024 * 1024;
    let limits = FetchLimits {
        max_message_bytes: 50 * MB,
        batch_bytes: 16 * MB,
        batch_messages: 3,
        head_bytes: 1024,
    };
    let whole = |uids: &[u32]| Batch {
        uids: uids.to_vec(),
        extent: Extent::Whole,
    };
    let sizes = [
        (1, 10_000),
        (2, 20_000),
        (3, 30_000),
        (4, 40_000),
        (5, 10 * MB),
        (6, 10 * MB),
        (7, 70 * MB),
        (8, 20 * MB),
        (9, 1_000),
        (10, 1_000),
    ];
    let planned = plan_batches(&sizes, &limits, |uid| uid == 10);
    assert_eq!(
        planned,
        [
            whole(&[1, 2, 3]),
            whole(&[4, 5]),
            whole(&[6]),
            Batch {
                uids: vec![7],
                extent: Extent::Head(1024)
            },
            whole(&[8]),
            whole(&[9]),
            whole(&[10]),
        ]
    );
    assert!(plan_batches(&[], &limits, |_| false).is_empty());
}

#[test]
fn uid_sets_are_written_as_ranges() {
    for (uids, set) in [
        (&[][..], ""),
        (&[7][..], "7"),
        (&[1, 2, 3, 5, 9, 10][..], "1:3,5,9:10"),
        (&[10, 9, 1, 1, 2][..], "1:2,9:10"),
        (&[u32::MAX - 1, u32::MAX][..], "4294967294:4294967295"),
    ] {
        assert_eq!(uid_set(uids), set, "{uids:?}");
    }
}
