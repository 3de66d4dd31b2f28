//! The control socket in process: a real Unix socket in a temporary directory, a temporary store.

use super::*;
use crate::core::plan::ingest::Position;
use crate::core::plan::testkit;
use crate::io::clock::ManualClock;
use crate::model::case::CaseDraft;
use crate::model::change::{Change, NewCase};
use chrono::TimeZone;
use std::os::unix::fs::PermissionsExt;
use std::sync::RwLock;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("stat").permissions().mode() & 0o7777
}

/// A store holding one FOI case (with the audit event a case always starts with), and what
/// `serve` needs around it.
fn services() -> (Services, CaseRef) {
    let store = Store::open_temporary().expect("temporary store");
    let case = testkit::case(1, Kind::Foi, "parking fines", "2026-11-23T10:00:00Z");
    let mut draft = serde_json::to_value(&case).expect("case as JSON");
    draft["reference"] = serde_json::Value::Null;
    let draft: CaseDraft = serde_json::from_value(draft).expect("a draft");
    let applied = store
        .apply(Change {
            new_case: Some(NewCase {
                prefix: "FOI".into(),
                year: 2026,
                draft,
            }),
            audit: vec![crate::model::change::AuditAppend {
                case: crate::model::change::CaseTarget::New,
                event: crate::model::case::AuditEvent {
                    at: case.received_at,
                    actor: crate::model::case::SYSTEM_ACTOR.into(),
                    action: "received".into(),
                    detail: serde_json::Value::Null,
                    why: "new message in the shared mailbox".into(),
                },
            }],
            ..Change::default()
        })
        .expect("apply");
    let rules = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let rules = crate::core::rules::RuleSet::load(&rules).expect("default rules load");
    let ctx = Arc::new(RwLock::new(Arc::new(Context::standalone(rules))));
    let clock = Arc::new(ManualClock::new(testkit::at("2026-11-24T09:00:00Z")));
    let services = Services {
        store,
        ctx,
        workflow: None,
        ingest: None,
        clock,
        corrections: None,
    };
    (services, applied.new_case.expect("a reference"))
}

/// Starts `serve` on a socket under a fresh directory; returns the socket path and the stop token.
async fn start(
    dir: &Path,
    services: Services,
    limits: Limits,
) -> (
    PathBuf,
    CancellationToken,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let path = socket_path(dir);
    let cancel = CancellationToken::new();
    let task = tokio::spawn(serve(path.clone(), services, limits, cancel.clone()));
    for _ in 0..200 {
        if path.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(path.exists(), "the socket appears");
    (path, cancel, task)
}

/// Sends `line` (if any) and reads one response line.
async fn ask(path: &Path, line: Option<&str>) -> Response {
    let mut stream = tokio::net::UnixStream::connect(path)
        .await
        .expect("connect");
    if let Some(line) = line {
        stream.write_all(line.as_bytes()).await.expect("write");
    }
    let mut answer = String::new();
    BufReader::new(stream)
        .read_line(&mut answer)
        .await
        .expect("read");
    serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{answer:?}: {e}"))
}

#[test]
fn with_os_uid_sits_beside_any_detail() {
    let table = [
        (
            json(r#"{"old_state":"open"}"#),
            Some(1000),
            json(r#"{"old_state":"open","os_uid":1000}"#),
        ),
        (json(r#"{"os_uid":1}"#), Some(0), json(r#"{"os_uid":0}"#)),
        (json("null"), Some(7), json(r#"{"os_uid":7}"#)),
        (
            json(r#""text""#),
            Some(7),
            json(r#"{"detail":"text","os_uid":7}"#),
        ),
        (
            json("[1,2]"),
            Some(7),
            json(r#"{"detail":[1,2],"os_uid":7}"#),
        ),
        (json(r#"{"a":1}"#), None, json(r#"{"a":1}"#)),
        (json("null"), None, json("null")),
    ];
    for (detail, uid, want) in table {
        assert_eq!(with_os_uid(detail.clone(), uid), want, "{detail} {uid:?}");
    }
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).expect("test JSON")
}

#[test]
fn own_uid_is_the_owner_of_the_processes_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("mine");
    std::fs::write(&file, "x").expect("write");
    use std::os::unix::fs::MetadataExt;
    let owner = std::fs::metadata(&file).expect("stat").uid();
    assert_eq!(own_uid(), Some(owner));
}

#[tokio::test]
async fn socket_is_private_and_an_action_records_the_peer_uid() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // A pre-existing, too open socket directory is tightened.
    let dir = socket_dir(tmp.path());
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let (services, reference) = services();
    let store = services.store.clone();
    let (path, cancel, task) = start(tmp.path(), services, Limits::default()).await;
    assert_eq!(mode(&dir), 0o700, "socket directory");
    assert_eq!(mode(&path), 0o600, "socket");

    let req = Request::Act {
        reference: reference.clone(),
        words: vec!["note".into(), "called".into(), "back".into()],
        by: "officer@council.example.gov.uk".into(),
        why: "phone call".into(),
    };
    let line = format!("{}\n", serde_json::to_string(&req).expect("encode"));
    let r = ask(&path, Some(&line)).await;
    assert!(r.ok, "{}", r.text);
    let audit = store.audit(&reference).expect("audit");
    let note = audit
        .iter()
        .find(|e| e.action == "note")
        .expect("the note is audited");
    assert_eq!(
        note.actor, "officer@council.example.gov.uk",
        "the stated actor stays"
    );
    assert_eq!(
        note.detail[OS_UID_KEY],
        serde_json::json!(own_uid().expect("uid"))
    );

    cancel.cancel();
    task.await.expect("joined").expect("served");
    assert!(!path.exists(), "the socket is removed at stop");
}

#[tokio::test]
async fn a_silent_client_is_dropped_after_the_read_timeout() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let limits = Limits {
        read_timeout: Duration::from_millis(100),
        max_connections: 2,
    };
    let (path, cancel, task) = start(tmp.path(), services().0, limits).await;
    let started = std::time::Instant::now();
    let r = ask(&path, None).await;
    assert!(!r.ok);
    assert!(r.text.contains("no request within 100 ms"), "{}", r.text);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let table = [
        ("not json\n", "bad request"),
        (
            "{\"op\":\"show\",\"reference\":\"FOI-2026-000099\"}\n",
            "no case FOI-2026-000099",
        ),
    ];
    for (line, want) in table {
        let r = ask(&path, Some(line)).await;
        assert!(!r.ok && r.text.contains(want), "{line}: {}", r.text);
    }
    cancel.cancel();
    task.await.expect("joined").expect("served");
}

#[tokio::test]
async fn connections_over_the_limit_are_told_the_daemon_is_busy() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let limits = Limits {
        read_timeout: Duration::from_secs(30),
        max_connections: 1,
    };
    let (path, cancel, task) = start(tmp.path(), services().0, limits).await;
    // The one slot is held by a client that says nothing yet.
    let mut holder = tokio::net::UnixStream::connect(&path)
        .await
        .expect("connect");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let r = ask(
        &path,
        Some("{\"op\":\"list\",\"kind\":null,\"due_before\":null}\n"),
    )
    .await;
    assert!(!r.ok);
    assert!(
        r.text.contains("serving 1 other control connections"),
        "{}",
        r.text
    );
    // The holder is still served, and frees its slot.
    holder
        .write_all(b"{\"op\":\"list\",\"kind\":null,\"due_before\":null}\n")
        .await
        .expect("write");
    let mut answer = String::new();
    BufReader::new(&mut holder)
        .read_line(&mut answer)
        .await
        .expect("read");
    let r: Response = serde_json::from_str(&answer).expect("a response");
    assert!(r.ok && r.text.contains("FOI-2026"), "{}", r.text);
    drop(holder);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let r = ask(
        &path,
        Some("{\"op\":\"list\",\"kind\":null,\"due_before\":null}\n"),
    )
    .await;
    assert!(r.ok, "a freed slot serves the next client: {}", r.text);
    cancel.cancel();
    task.await.expect("joined").expect("served");
}

// ---- messages that need human triage ----

fn list(store: &Store) -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let rules = crate::core::rules::RuleSet::load(&dir).expect("default rules load");
    let ctx = Context::standalone(rules);
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap();
    let req = Request::List {
        kind: None,
        due_before: None,
    };
    handle(store, &ctx, Means::default(), &req, now, None).expect("list")
}

#[test]
fn case_list_shows_messages_that_need_human_triage() {
    let store = Store::open_temporary().expect("temporary store");
    let empty = list(&store);
    assert_eq!(empty, "reference\tkind\tstate\treceived\tdue\tvalid\n");
    let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 30, 0).unwrap();
    for (uid, hash) in [(41, "abc"), (42, "def")] {
        let position = Position {
            mailbox: "INBOX".into(),
            uidvalidity: 7,
            uid,
        };
        let change = poison::plan_needs_triage(None, hash, "it died twice", &position, at);
        store.apply(change).expect("apply");
    }
    let text = list(&store);
    assert!(text.starts_with(&empty), "{text}");
    assert!(text.contains("needs human triage: 2 message(s)"), "{text}");
    assert!(
        text.contains("2026-11-23 09:30\tINBOX\t7\t41\tabc\tit died twice\n"),
        "{text}"
    );
    assert!(text.contains("\t42\tdef\t"), "{text}");
}

#[test]
fn case_triaged_clears_one_entry_by_its_hash_and_says_why_not_otherwise() {
    let store = Store::open_temporary().expect("temporary store");
    let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 30, 0).unwrap();
    for (uid, hash) in [(41, "abcdef0123"), (42, "abcdef0456"), (43, "ffff000011")] {
        let position = Position {
            mailbox: "INBOX".into(),
            uidvalidity: 7,
            uid,
        };
        let change = poison::plan_needs_triage(None, hash, "died", &position, at);
        store.apply(change).expect("apply");
    }
    // (hash, by, Ok(text) / Err(part of the message))
    let table: [(&str, &str, Result<&str, &str>); 6] = [
        ("abcdef0123", "", Err("--by")),
        ("abc", "ann", Err("at least 8")),
        ("abcdef04", "ann", Ok("cleared: abcdef0456 (by ann)\n")),
        ("abcdef04", "ann", Err("no message")),
        ("abcdef01", "ann", Ok("cleared: abcdef0123 (by ann)\n")),
        ("00000000", "ann", Err("no message")),
    ];
    for (hash, by, want) in table {
        let got = triaged(&store, hash, by, "logged by hand as FOI-2026-000009", false);
        match (got, want) {
            (Ok(text), Ok(w)) => assert_eq!(text, w, "{hash}"),
            (Err(e), Err(w)) => assert!(e.contains(w), "{hash}: {e}"),
            (got, want) => panic!("{hash}: got {got:?}, wanted {want:?}"),
        }
    }
    let left = poison::needs_triage(&store.marks(poison::NEEDS_TRIAGE_PREFIX).expect("scan"));
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].content_hash, "ffff000011");
    for (uid, hash) in [(44, "abcdef0999"), (45, "abcdef0988")] {
        let position = Position {
            mailbox: "INBOX".into(),
            uidvalidity: 7,
            uid,
        };
        let change = poison::plan_needs_triage(None, hash, "died", &position, at);
        store.apply(change).expect("apply");
    }
    let e = triaged(&store, "abcdef09", "ann", "", false).expect_err("ambiguous");
    assert!(e.contains("2 messages match"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_and_verify_through_the_socket_answer_as_the_store_itself() {
    use crate::io::store::backup;
    let tmp = tempfile::tempdir().expect("tempdir");
    let (services, _) = services();
    let store = services.store.clone();
    let now = services.clock.now();
    let (path, cancel, task) = start(tmp.path(), services, Limits::default()).await;

    let socket = path.clone();
    let streamed = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        export_from(&socket, &mut out).expect("the daemon streams a backup");
        out
    })
    .await
    .expect("client thread");
    let mut direct = Vec::new();
    store.export(&mut direct, now).expect("exports");
    assert_eq!(
        streamed, direct,
        "the stream is the backup itself, dated by the daemon's clock"
    );
    backup::check(streamed.as_slice()).expect("and it checks");

    let socket = path.clone();
    let verified = tokio::task::spawn_blocking(move || call(&socket, &Request::Verify))
        .await
        .expect("client thread")
        .expect("answers");
    assert!(verified.ok, "{}", verified.text);
    assert!(
        verified.text.contains("store verify: OK"),
        "{}",
        verified.text
    );

    // A store the backup table does not cover: the daemon says why instead of a partial backup.
    store.db_for_test().open_tree("mystery").expect("tree");
    let socket = path.clone();
    let dest = tmp.path().join("b.jsonl");
    let written = tokio::task::spawn_blocking(move || {
        backup::write_file(&dest, |out| export_from(&socket, out).map(drop))
    })
    .await
    .expect("client thread");
    match written {
        Err(backup::BackupError::Aborted(why)) => {
            assert!(why.contains("tree mystery"), "{why}")
        }
        other => panic!("expected the daemon's reason, got {other:?}"),
    }
    assert!(!tmp.path().join("b.jsonl").exists());
    let socket = path.clone();
    let verified = tokio::task::spawn_blocking(move || call(&socket, &Request::Verify))
        .await
        .expect("client thread")
        .expect("answers");
    assert!(!verified.ok);
    assert!(verified.text.contains("tree mystery"), "{}", verified.text);

    cancel.cancel();
    task.await.expect("join").expect("serve ends cleanly");
}
