//! A pass against the real mail stack (Dovecot from `scripts/mailstack.sh`, the IMAP tests'
//! stack: /var/tmp/foi-imap-test, port base 21000), on a clock the test moves: a message the
//! server cannot deliver and a folder the server refuses. And the reconnect backoff against a
//! scripted server that fails every session the same way.

use super::*;
use crate::app::env::Env;
use crate::app::ingest::SharedContext;
use crate::config::Config;
use crate::core::plan::poison::{NEEDS_TRIAGE_PREFIX, needs_triage};
use crate::core::triage::Context;
use crate::io::clock::ManualClock;
use crate::io::ids::SequentialIds;
use crate::io::mail::imap::{ImapAuth, ImapSettings, ImapTimeouts, Security};
use crate::io::store::Store;
use crate::model::kind::Kind;
use crate::model::records::CaseOrder;
use chrono::{DateTime, TimeZone, Utc};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;
use tokio::sync::Notify;

const STACK_DIR: &str = "/var/tmp/foi-imap-test";
const STACK_PORT_BASE: &str = "21000";

static STACK: OnceLock<Result<crate::io::mail::test_stack::Stack, String>> = OnceLock::new();

fn stack() -> &'static crate::io::mail::test_stack::Stack {
    crate::io::mail::test_stack::get(&STACK, STACK_DIR, STACK_PORT_BASE)
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0)
        .single()
        .expect("valid")
}

/// A user of its own for one test and one run.
fn user(test: &str) -> String {
    format!("{test}_{}", std::process::id())
}

fn settings(user: &str) -> ImapSettings {
    let stack = stack();
    ImapSettings {
        host: "localhost".into(),
        port: stack.port("MAILSTACK_IMAPS_PORT"),
        security: Security::Tls,
        ca_file: Some(stack.var("MAILSTACK_CA").into()),
        auth: ImapAuth::Login {
            username: user.into(),
            password: "secret".into(),
        },
        timeouts: ImapTimeouts {
            connect: Duration::from_secs(10),
            command: Duration::from_secs(10),
            fetch: Duration::from_secs(10),
            poll_interval: Duration::from_millis(200),
        },
    }
}

/// Ingest into `store` on `clock`, filing by kind under `Triage/` and quarantining into
/// `Triage/Quarantine`.
fn ingest(store: &Store, clock: &Arc<ManualClock>) -> Ingest {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let rules = crate::core::rules::RuleSet::load(&dir).expect("default rules load");
    let ctx: SharedContext = Arc::new(RwLock::new(Arc::new(Context::standalone(rules))));
    let env = Env::new(
        clock.clone(),
        Arc::new(SequentialIds::new()),
        Arc::new(crate::core::extract::InProcess),
    );
    let mut ingest = Ingest::new(
        &Config::defaults(),
        Mode::Live,
        store.clone(),
        ctx,
        Arc::new(Notify::new()),
        &env,
    );
    ingest.folders = Kind::ALL
        .into_iter()
        .map(|k| (k, format!("Triage/{}", k.as_str())))
        .collect();
    ingest.quarantine = "Triage/Quarantine".into();
    ingest
}

/// A valid FOI request from `who`.
fn request(who: &str) -> Vec<u8> {
    format!(
        "From: Pat Requester <{who}@example.org>\r\nTo: foi@council.example.gov.uk\r\n\
         Subject: Freedom of Information request from {who}\r\nMessage-ID: <{who}@example.org>\r\n\
         Date: Mon, 23 Nov 2026 09:59:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Dear Sir or Madam,\r\n\r\nUnder the Freedom of Information Act 2000 please provide the \
         number of parking fines issued on Mill Lane in each of the last three financial years.\
         \r\n\r\nYours faithfully,\r\nPat Requester\r\n"
    )
    .into_bytes()
}

/// The stuck record of `uid` in the test's INBOX, if any.
fn stuck_record(store: &Store, uidvalidity: u32, uid: u32) -> Option<StuckMessage> {
    let marks = store.marks(stuck::STUCK_PREFIX).expect("scan");
    stuck::for_mailbox(&marks, "INBOX", uidvalidity)
        .0
        .remove(&uid)
}

/// One pass over everything unfiled in INBOX, as a session starts with, reconnecting as the
/// daemon does when the server drops the session (Dovecot says BYE when it cannot read a
/// message): what was done in all, and how many reconnects it took.
async fn pass(ingest: &Ingest, client: &mut ImapClient, user: &str) -> (Pass, usize) {
    let mut all = Pass::default();
    let cancel = CancellationToken::new();
    for reconnects in 0..5 {
        if !client.is_open() {
            *client = ImapClient::connect(&settings(user))
                .await
                .expect("reconnect");
        }
        let state = client.select("INBOX").await.expect("select");
        let uids = client.uids_unfiled().await.expect("search");
        let scope = Scope {
            mailbox: "INBOX",
            state,
            file: true,
            cancel: &cancel,
        };
        match ingest.process_into(client, &scope, &uids, &mut all).await {
            Ok(()) => return (all, reconnects),
            Err(e) => assert!(!client.is_open(), "an error with the session open: {e}"),
        }
    }
    panic!("the pass still fails after 5 reconnects");
}

/// Makes the Maildir file of the message holding `marker` unreadable to Dovecot: the server
/// still knows its size (from the file name) but cannot deliver it, as with a damaged file.
fn damage(user: &str, marker: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    let root = std::path::Path::new(&stack().var("MAILSTACK_MAILDIR")).join(user);
    let file = ["new", "cur"]
        .iter()
        .filter_map(|d| std::fs::read_dir(root.join(d)).ok())
        .flat_map(|rd| rd.flatten().map(|e| e.path()))
        .find(|p| std::fs::read(p).is_ok_and(|b| String::from_utf8_lossy(&b).contains(marker)))
        .unwrap_or_else(|| panic!("no Maildir file holds {marker}"));
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o000)).expect("chmod");
}

#[tokio::test]
async fn a_message_the_server_cannot_deliver_waits_its_turn_then_is_quarantined_unread() {
    let u = user("pass_undeliverable");
    let store = Store::open_temporary().expect("store");
    let clock = Arc::new(ManualClock::new(t0()));
    let ingest = ingest(&store, &clock);
    let mut client = ImapClient::connect(&settings(&u)).await.expect("connect");
    for who in ["first", "broken", "last"] {
        let raw = request(&format!("{u}-{who}"));
        client.append("INBOX", &raw, &[]).await.expect("append");
    }
    damage(&u, &format!("{u}-broken@"));
    let state = client.select("INBOX").await.expect("select");
    let uids = client.uids_unfiled().await.expect("search");
    let broken = uids[1];

    // The batch fails (Dovecot drops the session); the next sessions fetch one at a time: the
    // two good ones are recorded and filed, the broken one drops one more session.
    let (first, reconnects) = pass(&ingest, &mut client, &u).await;
    assert_eq!(reconnects, 2);
    assert_eq!(
        first.done.iter().map(|(u, _)| *u).collect::<Vec<_>>(),
        [uids[0], uids[2]]
    );
    assert!(first.progressed);
    assert_eq!(
        store.list_cases(CaseOrder::Received).expect("list").len(),
        2
    );
    assert_eq!(client.uids_unfiled().await.expect("search"), [broken]);
    let record = stuck_record(&store, state.uidvalidity, broken).expect("recorded as stuck");
    assert_eq!((record.stage, record.failures), (StuckStage::Fetch, 1));
    assert!(record.error.contains("UID FETCH"), "{}", record.error);

    // Not due yet: not fetched again (the record is untouched, no session dropped), however
    // often we reconnect.
    for _ in 0..3 {
        let (again, reconnects) = pass(&ingest, &mut client, &u).await;
        assert!(again.done.is_empty() && !again.progressed && reconnects == 0);
    }
    assert_eq!(
        stuck_record(&store, state.uidvalidity, broken),
        Some(record)
    );

    // Due: tried again, failing twice more; the third failure gives up on it and the next
    // session moves it.
    clock.advance(chrono::Duration::seconds(61));
    assert_eq!(pass(&ingest, &mut client, &u).await.1, 1);
    let record = stuck_record(&store, state.uidvalidity, broken).expect("still stuck");
    assert_eq!((record.stage, record.failures), (StuckStage::Fetch, 2));
    clock.advance(chrono::Duration::seconds(121));
    let (last, reconnects) = pass(&ingest, &mut client, &u).await;
    assert!(last.done.is_empty(), "nothing was read");
    assert_eq!(reconnects, 1);

    // People see it, and it is out of the INBOX, unread, in the quarantine folder.
    let listed = needs_triage(&store.marks(NEEDS_TRIAGE_PREFIX).expect("scan"));
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(
        listed[0].content_hash,
        format!("stuck-{}-{broken}", state.uidvalidity)
    );
    assert!(
        listed[0]
            .why
            .contains("could not be fetched from the server 3 times"),
        "{}",
        listed[0].why
    );
    assert_eq!(
        client.uids_unfiled().await.expect("search"),
        Vec::<u32>::new()
    );
    assert_eq!(stuck_record(&store, state.uidvalidity, broken), None);
    let quarantined = client.select("Triage/Quarantine").await.expect("select");
    assert_eq!(quarantined.exists, 1);
}

#[tokio::test]
async fn a_folder_the_server_refuses_is_retried_with_backoff_listed_then_followed_when_fixed() {
    let u = user("pass_refused_folder");
    let store = Store::open_temporary().expect("store");
    let clock = Arc::new(ManualClock::new(t0()));
    let mut ingest = ingest(&store, &clock);
    // A level longer than any file name: Dovecot cannot create it (its Maildir++ directory).
    let refused = format!("Triage/{}", "F".repeat(300));
    ingest.folders.insert(Kind::Foi, refused.clone());
    let mut client = ImapClient::connect(&settings(&u)).await.expect("connect");
    client
        .append("INBOX", &request(&format!("{u}-req")), &[])
        .await
        .expect("append");
    let state = client.select("INBOX").await.expect("select");
    let uid = client.uids_unfiled().await.expect("search")[0];

    let (first, _) = pass(&ingest, &mut client, &u).await;
    assert_eq!(first.done.len(), 1, "recorded");
    let record = stuck_record(&store, state.uidvalidity, uid).expect("stuck");
    assert_eq!((record.stage, record.failures), (StuckStage::File, 1));
    // The error names the folder as configured and as sent.
    let sent = refused.replace('/', ".");
    assert!(
        record
            .error
            .contains(&format!("{sent:?} as sent to the server")),
        "{}",
        record.error
    );
    assert!(
        record.error.contains(&format!("{refused:?} as configured")),
        "{}",
        record.error
    );

    // Until due, nothing is fetched or filed again.
    let (again, _) = pass(&ingest, &mut client, &u).await;
    assert!(again.done.is_empty());
    assert_eq!(stuck_record(&store, state.uidvalidity, uid), Some(record));

    // Due twice more: filing only (no fetch: nothing in `done`), then people are told.
    for (wait, failures) in [(61, 2), (121, 3)] {
        clock.advance(chrono::Duration::seconds(wait));
        let (retry, _) = pass(&ingest, &mut client, &u).await;
        assert!(retry.done.is_empty(), "filed without fetching");
        let record = stuck_record(&store, state.uidvalidity, uid).expect("stuck");
        assert_eq!(record.failures, failures);
    }
    let listed = needs_triage(&store.marks(NEEDS_TRIAGE_PREFIX).expect("scan"));
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert!(
        listed[0].why.contains("filing failed 3 times"),
        "{}",
        listed[0].why
    );
    assert_eq!(
        store.list_cases(CaseOrder::Received).expect("list").len(),
        1
    );

    // The setting is corrected: the next try files it where its case now belongs, and the
    // entry people saw goes away with the problem.
    ingest.folders.insert(Kind::Foi, "Triage/FOI".into());
    clock.advance(chrono::Duration::seconds(241));
    let (fixed, _) = pass(&ingest, &mut client, &u).await;
    assert!(fixed.progressed && fixed.done.is_empty());
    assert_eq!(stuck_record(&store, state.uidvalidity, uid), None);
    assert!(needs_triage(&store.marks(NEEDS_TRIAGE_PREFIX).expect("scan")).is_empty());
    assert_eq!(
        client.uids_unfiled().await.expect("search"),
        Vec::<u32>::new()
    );
    assert_eq!(client.select("Triage/FOI").await.expect("select").exists, 1);
}

/// A server that lets every session log in and select, then drops the connection at the first
/// search: the same failure every time. Counts the sessions.
async fn failing_server(sessions: Arc<AtomicUsize>) -> u16 {
    use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            sessions.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"* OK fake ready\r\n").await;
                while let Ok(Some(line)) = lines.next_line().await {
                    let (tag, command) = line.split_once(' ').unwrap_or((line.as_str(), ""));
                    let verb = command.split(' ').next().unwrap_or("").to_ascii_uppercase();
                    let reply = match verb.as_str() {
                        "LOGIN" => format!("{tag} OK logged in\r\n"),
                        "CAPABILITY" => format!("* CAPABILITY IMAP4rev1 IDLE\r\n{tag} OK done\r\n"),
                        "LIST" => format!("* LIST () \".\" \"\"\r\n{tag} OK done\r\n"),
                        "SELECT" => format!(
                            "* 1 EXISTS\r\n* OK [UIDVALIDITY 7] v\r\n* OK [UIDNEXT 5] n\r\n\
                             {tag} OK [READ-WRITE] done\r\n"
                        ),
                        _ => return,
                    };
                    if write.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

#[tokio::test]
async fn a_session_that_fails_the_same_way_every_time_backs_off() {
    let sessions = Arc::new(AtomicUsize::new(0));
    let port = failing_server(Arc::clone(&sessions)).await;
    let store = Store::open_temporary().expect("store");
    let ingest = ingest(&store, &Arc::new(ManualClock::new(t0())));
    let settings = ImapSettings {
        host: "127.0.0.1".into(),
        port,
        security: Security::Plain,
        ca_file: None,
        auth: ImapAuth::Login {
            username: "fake".into(),
            password: "secret".into(),
        },
        timeouts: ImapTimeouts {
            connect: Duration::from_secs(2),
            command: Duration::from_secs(2),
            fetch: Duration::from_secs(2),
            poll_interval: Duration::from_millis(100),
        },
    };
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(6)).await;
        stop.cancel();
    });
    // Every login succeeds, so a count reset at login would retry about once a second (six or
    // seven sessions in 6 s). Reset only on progress: pauses of 1, 2, 4 s (+ up to 25%), so the
    // sessions start at about 0, 1, 3 (and 7) s.
    ingest.run(settings, "INBOX".into(), true, cancel).await;
    let n = sessions.load(Ordering::SeqCst);
    assert!((2..=3).contains(&n), "{n} sessions in 6 s");
}
