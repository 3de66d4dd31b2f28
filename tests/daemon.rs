//! The daemon (`foi-triage run`, `foi-triage import`) as a real process against the real mail
//! stack (Dovecot + Postfix on loopback, `scripts/mailstack.sh`): requests go into the shared
//! mailbox over IMAP, acknowledgements are read back from the requesters' mailboxes.
//!
//! Each test has its own shared-mailbox user, requester addresses and data directory, so the tests
//! run side by side on one stack. The outage test stops servers, so it has a stack of its own.
//!
//! Timed work (chasers, digests) is tested in-process: the same daemon (`run_with`) on a clock
//! standing at the instant under test, stopped by a cancellation token instead of a signal.

use foi_triage::app::env::Env;
use foi_triage::io::clock::ManualClock;
use foi_triage::io::ids::SequentialIds;
use foi_triage::io::mail::imap::ImapClient;
use foi_triage::io::store::{CaseOrder, Store};
use foi_triage::letters::compose::date_in_words;
use foi_triage::letters::welsh;
use foi_triage::model::case::Case;
use foi_triage::model::kind::Kind;
use foi_triage::model::language::Language;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

use crate::support;
use crate::support::mail::{foi_request, imap_settings, run_tag, write_daemon_config};
use crate::support::stack::{self, Stack};

mod durability;
mod machine;

static STACK: OnceLock<Result<Stack, String>> = OnceLock::new();
static OUTAGE_STACK: OnceLock<Result<Stack, String>> = OnceLock::new();

fn stack() -> &'static Stack {
    stack::get(&STACK, "/var/tmp/foi-daemon-test", "25000")
}

fn outage_stack() -> &'static Stack {
    stack::get(&OUTAGE_STACK, "/var/tmp/foi-outage-test", "26000")
}

static NS_STACK: OnceLock<Result<Stack, String>> = OnceLock::new();

/// The stack with Dovecot's personal namespace under `INBOX.` (the layout of Cyrus, Courier and
/// many hosted servers), shared with the IMAP unit tests.
fn ns_stack() -> &'static Stack {
    stack::get_with_prefix(&NS_STACK, "/var/tmp/foi-ns-test", "28000", "INBOX.")
}

/// One test's world: a shared mailbox user, a data directory and a config file.
struct World {
    stack: &'static Stack,
    /// The shared mailbox's IMAP user (also the local part of its address).
    user: String,
    dir: tempfile::TempDir,
    /// The in-process daemon's clock, set by each [`World::start_at`].
    clock: Arc<ManualClock>,
    /// The in-process daemon's ids, shared by its runs so no id comes twice.
    ids: Arc<SequentialIds>,
}

impl World {
    fn new(stack: &'static Stack, base: &str, extra: &str) -> World {
        let user = format!("{base}-{}", run_tag());
        let user = user.as_str();
        let dir = tempfile::tempdir().expect("tempdir");
        write_daemon_config(dir.path(), stack, user, extra);
        World {
            stack,
            user: user.to_string(),
            dir,
            clock: Arc::new(ManualClock::new(chrono::Utc::now())),
            ids: Arc::new(SequentialIds::new()),
        }
    }

    /// A requester's local part (their IMAP user on the stack), unique to this run.
    fn who(&self, name: &str) -> String {
        format!("{}-{name}", self.user)
    }

    /// A requester's address.
    fn addr(&self, name: &str) -> String {
        format!("{}@example.org", self.who(name))
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("foi-triage.toml")
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("daemon.log")
    }

    fn open_log(&self) -> std::fs::File {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log())
            .expect("open log")
    }

    /// Starts the daemon as a process (`foi-triage run`) on the real clock.
    fn start(&self) -> Daemon {
        self.start_with(&self.config())
    }

    /// [`World::start`] with another config file (another data directory, say).
    fn start_with(&self, config: &Path) -> Daemon {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_foi-triage"));
        cmd.args(["--log-format", "json", "run", "--config"])
            .arg(config)
            .env("RUST_LOG", log_filter())
            .stdout(Stdio::null())
            .stderr(self.open_log());
        Daemon(Some(cmd.spawn().expect("start daemon")))
    }

    /// Starts the daemon in this process on the world's clock, set to `now` (RFC 3339), and its
    /// deterministic ids; its logs go to the same file as a process's.
    fn start_at(&self, now: &str) -> InProcess {
        let start = chrono::DateTime::parse_from_rfc3339(now)
            .unwrap_or_else(|e| panic!("{now:?} is not RFC 3339: {e}"))
            .with_timezone(&chrono::Utc);
        self.clock.set(start);
        let env = Env::new(
            self.clock.clone(),
            self.ids.clone(),
            Arc::new(support::sandbox()),
        );
        let (config, log) = (self.config(), self.open_log());
        let stop = CancellationToken::new();
        let token = stop.clone();
        let thread = std::thread::spawn(move || {
            let subscriber = tracing_subscriber::fmt()
                .json()
                .with_env_filter(tracing_subscriber::EnvFilter::new(log_filter()))
                .with_writer(Mutex::new(log))
                .finish();
            // One thread runs every task, so every task logs through this subscriber.
            tracing::subscriber::with_default(subscriber, || {
                rt().block_on(foi_triage::app::daemon::run_with(&env, &config, token))
                    .map_err(|e| format!("{e:#}"))
            })
        });
        InProcess {
            stop,
            thread: Some(thread),
        }
    }

    /// The store, read after the daemon stopped (it holds sled's lock while running).
    fn cases(&self) -> (Store, Vec<Case>) {
        let store = Store::open(&self.dir.path().join("data")).expect("open store");
        let cases = store.list_cases(CaseOrder::Received).expect("list cases");
        (store, cases)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(self.log()).unwrap_or_default()
    }

    /// Messages delivered to `user`'s INBOX (new and cur), straight from the Maildir.
    fn delivered(&self, user: &str) -> Vec<PathBuf> {
        self.stack.delivered(user)
    }
}

/// The daemon's log level: `FOI_TEST_RUST_LOG`, or info.
fn log_filter() -> String {
    std::env::var("FOI_TEST_RUST_LOG").unwrap_or_else(|_| "info".into())
}

/// A daemon running in this process ([`World::start_at`]); stopped if the test ends without
/// stopping it.
struct InProcess {
    stop: CancellationToken,
    thread: Option<std::thread::JoinHandle<Result<(), String>>>,
}

impl InProcess {
    fn is_running(&mut self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Cancels, then waits for `run_with` to return (it waits for its tasks, bounded by its
    /// shutdown grace, and flushes the store): its result.
    fn stop(mut self) -> Result<(), String> {
        self.stop.cancel();
        let thread = self.thread.take().expect("running");
        thread
            .join()
            .unwrap_or_else(|_| Err("the daemon thread panicked".into()))
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        self.stop.cancel();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A running daemon process; killed if the test ends without stopping it.
struct Daemon(Option<Child>);

impl Daemon {
    fn pid(&self) -> u32 {
        self.0.as_ref().expect("running").id()
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill");
        assert!(ok.success(), "kill -{sig} failed");
    }

    /// SIGTERM, then wait (bounded) for the exit status.
    fn stop(mut self) -> (ExitStatus, Duration) {
        self.signal("TERM");
        let started = Instant::now();
        let mut child = self.0.take().expect("running");
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return (status, started.elapsed());
            }
            if started.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                panic!("daemon did not stop within 30 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill9(mut self) {
        let mut child = self.0.take().expect("running");
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
    }

    fn is_running(&mut self) -> bool {
        self.0
            .as_mut()
            .is_some_and(|c| c.try_wait().expect("try_wait").is_none())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// APPENDs every message to `folder` of `user`, in order, over one connection.
fn append_all(stack: &Stack, user: &str, folder: &str, messages: &[Vec<u8>]) {
    rt().block_on(async {
        let mut c = ImapClient::connect(&imap_settings(stack, user))
            .await
            .expect("connect for append");
        for m in messages {
            c.append(folder, m, &[]).await.expect("append");
        }
        let _ = c.logout().await;
    });
}

/// Waits until `done()` holds, failing with `what` after `limit`.
fn wait_for(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The sample's bytes with replies going to `reply_to`: any Reply-To is replaced, From is kept
/// (the rules look at the sender, so changing it would change the kind).
fn with_reply_to(raw: &[u8], reply_to: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(raw).replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let mut out = String::new();
    let mut skip = false;
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if !skip {
                out.push_str(line);
                out.push('\n');
            }
            continue;
        }
        let name = line.split(':').next().unwrap_or("").to_ascii_lowercase();
        skip = name == "reply-to";
        if !skip {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str(&format!("Reply-To: <{reply_to}>\n\n"));
    out.push_str(body);
    out.replace('\n', "\r\n").into_bytes()
}

/// Sample files by expected kind, from `tests/data/samples/expected.toml`: new requests only (no
/// follow-ups, which need their case first).
fn samples() -> Vec<(String, Kind, Vec<u8>)> {
    let dir = support::repo("tests/data/samples");
    let expected: toml::Table = std::fs::read_to_string(dir.join("expected.toml"))
        .expect("read expected.toml")
        .parse()
        .expect("parse expected.toml");
    let mut out = Vec::new();
    for (file, v) in &expected {
        let Some(t) = v.as_table() else { continue };
        if t.get("followup").and_then(|f| f.as_bool()) == Some(true) || t.contains_key("ref") {
            continue;
        }
        let Some(kind) = t
            .get("kind")
            .and_then(|k| k.as_str())
            .and_then(|k| k.parse::<Kind>().ok())
        else {
            continue;
        };
        let raw = std::fs::read(dir.join(file)).expect("read sample");
        out.push((file.clone(), kind, raw));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn acks_to(world: &World, user: &str) -> Vec<foi_triage::model::message::Message> {
    world
        .delivered(user)
        .iter()
        .map(|p| {
            foi_triage::core::parse::parse(
                &std::fs::read(p).expect("read delivered mail"),
                &support::sandbox(),
            )
        })
        .collect()
}

#[test]
fn batch_makes_the_right_cases_and_one_acknowledgement_each() {
    let world = World::new(stack(), "batch-foi", "");
    let picked: Vec<_> = {
        let all = samples();
        let mut by_kind: BTreeMap<Kind, usize> = BTreeMap::new();
        all.into_iter()
            .filter(|(_, k, _)| {
                let n = by_kind.entry(*k).or_default();
                *n += 1;
                *n <= 3
            })
            .collect()
    };
    assert!(picked.len() >= 20, "too few samples: {}", picked.len());
    let mut batch = Vec::new();
    let mut expect: BTreeMap<String, Kind> = BTreeMap::new();
    for (i, (file, kind, raw)) in picked.iter().enumerate() {
        if *kind == Kind::Auto {
            // Machine mail keeps its own sender: that is what makes it machine mail.
            batch.push(raw.clone());
        } else {
            let addr = world.addr(&format!("r{i:02}"));
            batch.push(with_reply_to(raw, &addr));
            expect.insert(addr, *kind);
        }
        let _ = file;
    }
    let autos = picked.iter().filter(|(_, k, _)| *k == Kind::Auto).count();
    assert!(autos >= 3, "the batch must hold machine mail");
    append_all(world.stack, &world.user, "INBOX", &batch);

    let daemon = world.start();
    wait_for(
        Duration::from_secs(60),
        "one acknowledgement per requester",
        || {
            expect.keys().all(|a| {
                !world
                    .delivered(a.split('@').next().unwrap_or(""))
                    .is_empty()
            })
        },
    );
    // Give a duplicate (or an ack for machine mail) the time to show up before counting.
    std::thread::sleep(Duration::from_secs(2));
    let (status, took) = daemon.stop();
    assert!(
        status.success(),
        "daemon exit: {status:?}\n{}",
        world.log_text()
    );
    assert!(took < Duration::from_secs(10), "SIGTERM took {took:?}");

    let (store, cases) = world.cases();
    assert_eq!(cases.len(), expect.len(), "one case per human request");
    for case in &cases {
        let want = expect
            .get(&case.requester.email)
            .unwrap_or_else(|| panic!("unexpected case for {}", case.requester.email));
        assert_eq!(case.kind, *want, "kind of {}", case.requester.email);
        let user = case.requester.email.split('@').next().unwrap_or("");
        let acks = acks_to(&world, user);
        assert_eq!(acks.len(), 1, "acknowledgements to {user}");
        let ack = &acks[0];
        let reference = case.reference.to_string();
        assert!(
            ack.subject.contains(&reference),
            "{reference} not in subject {:?}",
            ack.subject
        );
        assert_eq!(
            ack.from.as_ref().map(|a| a.email.clone()),
            Some(format!("{}@council.example", world.user))
        );
        let auto_submitted = ack
            .headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("auto-submitted") && v.contains("auto-replied"));
        assert!(auto_submitted, "ack to {user} lacks Auto-Submitted");
        if let Some(due) = case.due {
            assert!(
                ack.body_text.contains(&date_in_words(due)),
                "due date {due} in words missing from the ack to {user}"
            );
        }
        let audit = store.audit(&case.reference).expect("audit");
        let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
        for a in [
            "received",
            "classified",
            "acknowledgement_queued",
            "acknowledgement_sent",
        ] {
            assert!(
                actions.contains(&a),
                "{reference}: {a} missing from {actions:?}"
            );
        }
    }
    // The shared mailbox's INBOX is empty: everything was filed.
    assert!(
        world.delivered(&world.user).is_empty(),
        "messages left in the shared INBOX"
    );
    let log = world.log_text();
    assert!(
        !log.contains("Dear Sir or Madam") && !log.contains("secret"),
        "message bodies or credentials in the log"
    );
}

#[test]
fn restart_mid_batch_creates_no_duplicates() {
    let world = World::new(stack(), "restart-foi", "");
    let n = 40;
    let batch: Vec<Vec<u8>> = (0..n)
        .map(|i| foi_request(&world.addr(&format!("r{i:02}")), i))
        .collect();
    append_all(world.stack, &world.user, "INBOX", &batch);
    let daemon = world.start();
    let acked = |w: &World| {
        (0..n)
            .filter(|i| !w.delivered(&world.who(&format!("r{i:02}"))).is_empty())
            .count()
    };
    wait_for(Duration::from_secs(60), "some progress", || {
        acked(&world) >= 5
    });
    let (status, _) = daemon.stop();
    assert!(status.success(), "{}", world.log_text());
    let daemon = world.start();
    wait_for(Duration::from_secs(60), "all acknowledgements", || {
        acked(&world) == n
    });
    std::thread::sleep(Duration::from_secs(2));
    let (status, _) = daemon.stop();
    assert!(status.success());
    let (_, cases) = world.cases();
    assert_eq!(cases.len(), n, "cases");
    for i in 0..n {
        let user = world.who(&format!("r{i:02}"));
        assert_eq!(world.delivered(&user).len(), 1, "acks to {user}");
    }
}

#[test]
fn uidvalidity_change_rescans_without_duplicates() {
    let world = World::new(stack(), "uidv-foi", "");
    let n = 6;
    let batch: Vec<Vec<u8>> = (0..n)
        .map(|i| foi_request(&world.addr(&format!("r{i}")), i))
        .collect();
    append_all(world.stack, &world.user, "INBOX", &batch);
    let daemon = world.start();
    wait_for(Duration::from_secs(60), "acknowledgements", || {
        (0..n).all(|i| !world.delivered(&world.who(&format!("r{i}"))).is_empty())
    });
    let (status, _) = daemon.stop();
    assert!(status.success());

    // The mailbox is "restored from backup": the same messages, a new UIDVALIDITY. Dovecot
    // gives a new UIDVALIDITY when its uidlist is gone.
    let maildir = Path::new(&world.stack.var("MAILSTACK_MAILDIR")).join(&world.user);
    let uidvalidity_before = uidvalidity(world.stack, &world.user);
    for entry in std::fs::read_dir(&maildir).expect("maildir").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("dovecot-uidlist") || name.starts_with("dovecot.index") {
            std::fs::remove_file(entry.path()).expect("remove uidlist");
        }
    }
    append_all(world.stack, &world.user, "INBOX", &batch);
    let uidvalidity_after = uidvalidity(world.stack, &world.user);
    assert_ne!(
        uidvalidity_before, uidvalidity_after,
        "UIDVALIDITY did not change"
    );

    let daemon = world.start();
    wait_for(
        Duration::from_secs(60),
        "the rescan to file everything",
        || world.delivered(&world.user).is_empty(),
    );
    std::thread::sleep(Duration::from_secs(1));
    let (status, _) = daemon.stop();
    assert!(status.success());
    let log = world.log_text();
    assert!(log.contains("UIDVALIDITY changed"), "no resync logged");
    let (_, cases) = world.cases();
    assert_eq!(cases.len(), n, "no duplicate cases");
    for i in 0..n {
        assert_eq!(world.delivered(&world.who(&format!("r{i}"))).len(), 1);
    }
}

fn uidvalidity(stack: &Stack, user: &str) -> u32 {
    rt().block_on(async {
        let mut c = ImapClient::connect(&imap_settings(stack, user))
            .await
            .expect("connect");
        let s = c.select("INBOX").await.expect("select");
        let _ = c.logout().await;
        s.uidvalidity
    })
}

#[test]
fn malformed_huge_and_binary_mail_never_stop_the_daemon() {
    let world = World::new(stack(), "bad-foi", "");
    let mut huge = format!(
        "From: Big Sender <{}>\r\nTo: foi@council.example\r\n",
        world.addr("big")
    )
    .into_bytes();
    huge.extend_from_slice(b"Subject: Freedom of Information request with a large attachment\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n\
Under the Freedom of Information Act please provide the attached list of contracts.\r\n\
Yours faithfully, Big Sender, 1 Long Road, Exampletown EX1 1AA\r\n--b\r\n\
Content-Type: application/octet-stream; name=\"data.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    while huge.len() < 25 * 1024 * 1024 {
        huge.extend_from_slice(
            b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx\r\n",
        );
    }
    huge.extend_from_slice(b"--b--\r\n");
    let binary: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let malformed = b"From: <<<>>>\r\nContent-Type: multipart/mixed; boundary=\r\nSubject: =?utf-8?B?////?=\r\n\r\n--\r\n--\r\n\xff\xfe\x00"
        .to_vec();
    let good = foi_request(&world.addr("after"), 1);
    append_all(
        world.stack,
        &world.user,
        "INBOX",
        &[huge, binary, malformed, good],
    );
    let mut daemon = world.start();
    wait_for(
        Duration::from_secs(120),
        "the good request after the bad ones",
        || !world.delivered(&world.who("after")).is_empty(),
    );
    wait_for(Duration::from_secs(30), "the INBOX to be emptied", || {
        world.delivered(&world.user).is_empty()
    });
    assert!(daemon.is_running(), "daemon died:\n{}", world.log_text());
    let (status, _) = daemon.stop();
    assert!(status.success());
    let (_, cases) = world.cases();
    let emails: Vec<&str> = cases.iter().map(|c| c.requester.email.as_str()).collect();
    assert!(emails.contains(&world.addr("after").as_str()), "{emails:?}");
    assert!(
        emails.contains(&world.addr("big").as_str()),
        "25 MB request: {emails:?}"
    );
    assert!(!world.log_text().contains("panicked"), "a panic was logged");
}

#[test]
fn a_mail_loop_is_bounded_by_the_rate_limit() {
    let world = World::new(
        stack(),
        "loop-foi",
        "[acknowledgements]\nper_address_per_day = 3\n",
    );
    let robot = world.who("robot");
    let robot = robot.as_str();
    append_all(
        world.stack,
        &world.user,
        "INBOX",
        &[foi_request(&format!("{robot}@example.org"), 1)],
    );
    let daemon = world.start();
    // The robot answers every mail it gets, quoting the subject, with no Auto-Submitted header:
    // the worst kind of auto-responder.
    let mut answered = 0;
    let mut quiet_since = Instant::now();
    while quiet_since.elapsed() < Duration::from_secs(6) {
        let got = world.delivered(robot);
        if got.len() > answered {
            for p in &got[answered..] {
                let m = foi_triage::core::parse::parse(
                    &std::fs::read(p).expect("read"),
                    &support::sandbox(),
                );
                let reply = format!(
                    "From: Robot <{robot}@example.org>\r\nTo: {}@council.example\r\nSubject: Re: {}\r\n\
                     Message-ID: <robot-{answered}@example.org>\r\nIn-Reply-To: <{}>\r\n\r\n\
                     Thank you for your message. We will reply shortly.\r\n",
                    world.user,
                    m.subject,
                    m.message_id.unwrap_or_default()
                );
                append_all(world.stack, &world.user, "INBOX", &[reply.into_bytes()]);
                answered += 1;
            }
            quiet_since = Instant::now();
        }
        assert!(answered < 20, "the loop was not broken");
        std::thread::sleep(Duration::from_millis(200));
    }
    let (status, _) = daemon.stop();
    assert!(status.success());
    assert_eq!(world.delivered(robot).len(), 3, "mail to the robot");
    let (store, cases) = world.cases();
    assert_eq!(cases.len(), 1, "the robot's replies join the one case");
    let audit = store.audit(&cases[0].reference).expect("audit");
    assert!(
        audit
            .iter()
            .any(|e| e.action == "acknowledgement_suppressed" && e.why.contains("rate limit")),
        "the suppression is audited"
    );
}

#[test]
fn sighup_reload_keeps_the_old_rules_when_the_new_ones_are_broken() {
    let rules = tempfile::tempdir().expect("rules dir");
    for e in std::fs::read_dir(support::repo("rules"))
        .expect("rules")
        .flatten()
    {
        std::fs::copy(e.path(), rules.path().join(e.file_name())).expect("copy rule");
    }
    let world = World::new(stack(), "hup-foi", "");
    let cfg = std::fs::read_to_string(world.config())
        .expect("config")
        .replace(
            &format!("rules_dir = \"{}\"", support::repo("rules").display()),
            &format!("rules_dir = \"{}\"", rules.path().display()),
        );
    std::fs::write(world.config(), cfg).expect("write config");
    let daemon = world.start();
    wait_for(Duration::from_secs(20), "startup", || {
        world.log_text().contains("connected")
    });
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(rules.path().join("foi.toml"))
        .expect("open foi.toml");
    writeln!(
        f,
        "\n[[rule]]\nid = \"foi.broken\"\nkind = \"foi\"\nweight = 10\ndescription = \"x\"\nsubject_regex = [\"(unclosed\"]"
    )
    .expect("break");
    daemon.signal("HUP");
    wait_for(Duration::from_secs(10), "the refused reload", || {
        world.log_text().contains("reload refused")
    });
    append_all(
        world.stack,
        &world.user,
        "INBOX",
        &[foi_request(&world.addr("r1"), 1)],
    );
    wait_for(Duration::from_secs(30), "the acknowledgement", || {
        !world.delivered(&world.who("r1")).is_empty()
    });
    let (status, _) = daemon.stop();
    assert!(status.success());
    assert!(
        world.log_text().contains("foi.broken"),
        "the error names the rule"
    );
    let (_, cases) = world.cases();
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].kind, Kind::Foi);
}

#[test]
fn import_creates_cases_without_sending_anything_and_twice_is_once() {
    let world = World::new(stack(), "import-foi", "");
    let batch: Vec<Vec<u8>> = (0..25)
        .map(|i| foi_request(&world.addr(&format!("r{i:02}")), i))
        .collect();
    append_all(world.stack, &world.user, "Archive", &batch);
    for round in 0..2 {
        let out = Command::new(env!("CARGO_BIN_EXE_foi-triage"))
            .args([
                "import",
                "--mailbox",
                "Archive",
                "--since",
                "2020-01-01",
                "--config",
            ])
            .arg(world.config())
            .output()
            .expect("run import");
        let text = support::stdout(&out);
        assert!(out.status.success(), "{text}\n{}", support::stderr(&out));
        let want = if round == 0 {
            "imported 25 messages: 25 new cases"
        } else {
            "imported 25 messages: 0 new cases, 0 follow-ups, 0 without a case, 25 already recorded"
        };
        assert!(text.contains(want), "round {round}: {text}");
    }
    std::thread::sleep(Duration::from_secs(1));
    for i in 0..25 {
        assert!(
            world.delivered(&world.who(&format!("r{i:02}"))).is_empty(),
            "mail sent on import"
        );
    }
    let (store, cases) = world.cases();
    assert_eq!(cases.len(), 25);
    assert!(
        cases.iter().all(|c| c.workflow.imported),
        "marked as imported"
    );
    let audit = store.audit(&cases[0].reference).expect("audit");
    assert!(
        audit
            .iter()
            .any(|e| e.action == "acknowledgement_suppressed" && e.why.contains("import")),
        "{audit:?}"
    );
    // The messages stay where they were.
    let left = rt().block_on(async {
        let mut c = ImapClient::connect(&imap_settings(world.stack, &world.user))
            .await
            .expect("connect");
        let s = c.select("Archive").await.expect("select");
        s.exists
    });
    assert_eq!(left, 25);
}

#[test]
fn outages_of_imap_and_smtp_are_ridden_out() {
    let stack = outage_stack();
    let world = World::new(stack, "outage-foi", "");
    let script = |cmd: &str| {
        let st = Command::new("bash")
            .arg(support::repo("scripts/mailstack.sh"))
            .arg(cmd)
            .arg("/var/tmp/foi-outage-test")
            .status()
            .expect("mailstack.sh");
        assert!(st.success(), "mailstack.sh {cmd}");
    };
    let mut daemon = world.start();
    wait_for(Duration::from_secs(20), "startup", || {
        world.log_text().contains("connected")
    });

    // IMAP down: mail still arrives (SMTP delivery), the daemon keeps retrying.
    script("stop-imap");
    let send = |from: &str, n: usize| {
        let smtp = std::net::TcpStream::connect(("127.0.0.1", stack.port("MAILSTACK_SMTP_PORT")))
            .expect("smtp connect");
        smtp_send(
            smtp,
            from,
            &format!("{}@council.example", world.user),
            &foi_request(from, n),
        );
    };
    for i in 0..3 {
        send(&world.addr(&format!("i{i}")), i);
    }
    std::thread::sleep(Duration::from_secs(3));
    assert!(daemon.is_running(), "daemon died with IMAP down");
    script("start-imap");
    wait_for(
        Duration::from_secs(90),
        "catch-up after the IMAP outage",
        || (0..3).all(|i| !world.delivered(&world.who(&format!("i{i}"))).is_empty()),
    );

    // SMTP down: cases are made, acknowledgements wait in the outbox.
    script("stop-smtp");
    let batch: Vec<Vec<u8>> = (0..3)
        .map(|i| foi_request(&world.addr(&format!("s{i}")), 10 + i))
        .collect();
    append_all(stack, &world.user, "INBOX", &batch);
    wait_for(Duration::from_secs(30), "the new cases", || {
        world.log_text().matches("\"new case\"").count() >= 6
    });
    std::thread::sleep(Duration::from_secs(2));
    assert!((0..3).all(|i| world.delivered(&world.who(&format!("s{i}"))).is_empty()));
    script("start-smtp");
    wait_for(
        Duration::from_secs(60),
        "the queued acknowledgements",
        || (0..3).all(|i| !world.delivered(&world.who(&format!("s{i}"))).is_empty()),
    );
    let (status, _) = daemon.stop();
    assert!(status.success());
    for i in 0..3 {
        assert_eq!(world.delivered(&world.who(&format!("i{i}"))).len(), 1);
        assert_eq!(world.delivered(&world.who(&format!("s{i}"))).len(), 1);
    }
    let (_, cases) = world.cases();
    assert_eq!(cases.len(), 6);
}

/// A minimal SMTP client for injecting mail while IMAP is down.
fn smtp_send(stream: std::net::TcpStream, from: &str, to: &str, raw: &[u8]) {
    use std::io::{BufRead, BufReader};
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut w = stream;
    let mut expect = |code: &str| loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("smtp read");
        assert!(
            line.starts_with(code),
            "SMTP: expected {code}, got {line:?}"
        );
        if line.as_bytes().get(3) == Some(&b' ') {
            break;
        }
    };
    expect("220");
    write!(w, "EHLO test\r\n").expect("w");
    expect("250");
    write!(w, "MAIL FROM:<{from}>\r\n").expect("w");
    expect("250");
    write!(w, "RCPT TO:<{to}>\r\n").expect("w");
    expect("250");
    write!(w, "DATA\r\n").expect("w");
    expect("354");
    w.write_all(raw).expect("w");
    write!(w, "\r\n.\r\n").expect("w");
    expect("250");
    write!(w, "QUIT\r\n").expect("w");
}

/// The test gateway's authserv-id, trusted by [`TRUST`] configs.
const GATEWAY: &str = "mx.test.example";

/// A `[trust]` section naming [`GATEWAY`].
const TRUST: &str = "[trust]\nauthserv_ids = [\"mx.test.example\"]\n";

/// `raw` as the trusted gateway delivers it when the From domain `domain` passes DMARC: its
/// `Authentication-Results` on top of the headers.
fn stamped(domain: &str, raw: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "Authentication-Results: {GATEWAY}; spf=pass smtp.mailfrom={domain}; \
         dmarc=pass header.from={domain}\r\n"
    )
    .into_bytes();
    out.extend_from_slice(raw);
    out
}

#[test]
fn a_requesters_answer_restarts_the_clock_and_brings_the_due_date() {
    let world = World::new(stack(), "clarify-foi", TRUST);
    let who = world.who("r1");
    let request = format!(
        "From: <{}>\r\nTo: foi@council.example\r\nSubject: FOI request\r\nMessage-ID: <ask-{who}@example.org>\r\n\r\n\
         Under the Freedom of Information Act please provide the number of parking fines issued on \
         Mill Lane in 2025.\r\n\r\nThanks\r\n",
        world.addr("r1")
    );
    append_all(world.stack, &world.user, "INBOX", &[request.into_bytes()]);
    let daemon = world.start();
    wait_for(
        Duration::from_secs(30),
        "the request for more information",
        || world.delivered(&who).len() == 1,
    );
    let first = acks_to(&world, &who).remove(0);
    assert!(
        first.body_text.to_lowercase().contains("name"),
        "the letter says what is missing:\n{}",
        first.body_text
    );
    let answer = format!(
        "From: Patricia Requester <{}>\r\nTo: foi@council.example\r\nSubject: Re: {}\r\n\
         Message-ID: <answer-{who}@example.org>\r\nIn-Reply-To: <{}>\r\n\r\n\
         My name is Patricia Requester, 12 High Street, Exampletown EX1 2AB.\r\n",
        world.addr("r1"),
        first.subject,
        first.message_id.clone().unwrap_or_default()
    );
    let answer = stamped("example.org", answer.as_bytes());
    append_all(world.stack, &world.user, "INBOX", &[answer]);
    wait_for(Duration::from_secs(30), "the new acknowledgement", || {
        world.delivered(&who).len() == 2
    });
    let (status, _) = daemon.stop();
    assert!(status.success());
    let (store, cases) = world.cases();
    assert_eq!(cases.len(), 1, "the answer joined the case");
    let case = &cases[0];
    assert_eq!(case.state, foi_triage::model::case::CaseState::Open);
    let due = case.due.expect("the clock runs after the answer");
    let second = acks_to(&world, &who)
        .into_iter()
        .find(|m| m.message_id != first.message_id)
        .expect("second acknowledgement");
    assert!(second.subject.contains(&case.reference.to_string()));
    assert!(
        second.body_text.contains(&date_in_words(due)),
        "new due date {due} in words missing:\n{}",
        second.body_text
    );
    let names: Vec<&str> = case.clock_events.iter().map(|e| e.name()).collect();
    assert_eq!(names, ["clarification_requested", "clarification_received"]);
    let audit = store.audit(&case.reference).expect("audit");
    assert!(audit.iter().any(|e| e.action == "clock_restarted"));
}

/// A body under the Welsh Language Standards (`[organisation] welsh = true`): a Welsh request is
/// acknowledged in Welsh, its due date in Welsh words; an English one in English; the case
/// records the language.
#[test]
fn a_welsh_request_is_acknowledged_in_welsh_and_an_english_one_in_english() {
    let world = World::new(stack(), "welsh-ack", "");
    let config = std::fs::read_to_string(world.config()).expect("read config");
    let welsh_on = config.replacen(
        "region = \"england-and-wales\"",
        "region = \"wales\"\nwelsh = true",
        1,
    );
    assert_ne!(config, welsh_on, "the test config names its region");
    std::fs::write(world.config(), welsh_on).expect("write config");
    let (cy, en) = (world.who("cy"), world.who("en"));
    let welsh = format!(
        "From: Rhys ap Gwilym <{}>\r\nTo: foi@council.example\r\nSubject: Cais am wybodaeth\r\n\
         Message-ID: <cais-{cy}@example.org>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n\
         Annwyl Swyddog Rhyddid Gwybodaeth,\r\n\r\nHoffwn wneud cais am wybodaeth o dan Ddeddf \
         Rhyddid Gwybodaeth 2000. A fyddech cystal \u{e2} darparu nifer y tyllau yn y ffordd a \
         gafodd eu trwsio ar Heol y Felin ym mhob un o'r tair blynedd ariannol diwethaf.\r\n\r\n\
         Diolch yn fawr,\r\nRhys ap Gwilym\r\n3 Heol y Bryn, Caernarfon LL55 1AA\r\n",
        world.addr("cy")
    );
    append_all(
        world.stack,
        &world.user,
        "INBOX",
        &[welsh.into_bytes(), foi_request(&world.addr("en"), 1)],
    );
    let daemon = world.start();
    wait_for(Duration::from_secs(30), "both acknowledgements", || {
        world.delivered(&cy).len() == 1 && world.delivered(&en).len() == 1
    });
    let (status, _) = daemon.stop();
    assert!(status.success());
    let (_, cases) = world.cases();
    assert_eq!(cases.len(), 2);
    for (who, language) in [(&cy, Language::Welsh), (&en, Language::English)] {
        let case = cases
            .iter()
            .find(|c| c.requester.email.starts_with(who.as_str()))
            .expect("a case for each");
        assert_eq!(case.workflow.language, language, "{who}");
        let due = case.due.expect("a valid request's clock runs");
        let ack = acks_to(&world, who).remove(0);
        assert!(ack.subject.contains(&case.reference.to_string()));
        let text = &ack.body_text;
        if language == Language::Welsh {
            assert!(text.starts_with("Annwyl Rhys ap Gwilym,"), "{text}");
            assert!(
                text.contains(&format!("erbyn {}", welsh::date_in_words(due))),
                "the due date {due} in Welsh:\n{text}"
            );
            assert!(text.contains("Deddf Rhyddid Gwybodaeth 2000"), "{text}");
        } else {
            assert!(text.contains(&date_in_words(due)), "{text}");
            assert!(!text.contains("Annwyl"), "{text}");
        }
    }
}

#[test]
fn without_a_trusted_gateway_an_answer_is_flagged_not_applied() {
    let world = World::new(stack(), "clarify-ngw", "");
    let who = world.who("r1");
    let request = format!(
        "From: <{}>\r\nTo: foi@council.example\r\nSubject: FOI request\r\nMessage-ID: <ask-{who}@example.org>\r\n\r\n\
         Under the Freedom of Information Act please provide the number of parking fines issued on \
         Mill Lane in 2025.\r\n\r\nThanks\r\n",
        world.addr("r1")
    );
    append_all(world.stack, &world.user, "INBOX", &[request.into_bytes()]);
    let daemon = world.start();
    wait_for(
        Duration::from_secs(30),
        "the request for more information",
        || world.delivered(&who).len() == 1,
    );
    let first = acks_to(&world, &who).remove(0);
    // Even a gateway-looking stamp counts for nothing when no gateway is named.
    let answer = format!(
        "From: Patricia Requester <{}>\r\nTo: foi@council.example\r\nSubject: Re: {}\r\n\
         Message-ID: <answer-{who}@example.org>\r\nIn-Reply-To: <{}>\r\n\r\n\
         My name is Patricia Requester, 12 High Street, Exampletown EX1 2AB.\r\n",
        world.addr("r1"),
        first.subject,
        first.message_id.clone().unwrap_or_default()
    );
    let answer = stamped("example.org", answer.as_bytes());
    append_all(world.stack, &world.user, "INBOX", &[answer]);
    wait_for(Duration::from_secs(30), "the receipt", || {
        world.delivered(&who).len() == 2
    });
    let (status, _) = daemon.stop();
    assert!(status.success());
    let (store, cases) = world.cases();
    assert_eq!(cases.len(), 1, "the answer joined the case");
    let case = &cases[0];
    assert_eq!(
        case.state,
        foi_triage::model::case::CaseState::AwaitingClarification
    );
    assert!(case.due.is_none(), "the clock stays stopped");
    assert!(
        case.workflow
            .flags
            .iter()
            .any(|f| matches!(f, foi_triage::model::case::Flag::UnverifiedAnswer { .. })),
        "{:?}",
        case.workflow.flags
    );
    let audit = store.audit(&case.reference).expect("audit");
    assert!(audit.iter().any(|e| e.action == "clock_restart_withheld"));
    assert!(!audit.iter().any(|e| e.action == "clock_restarted"));
}

/// A world with the case workflow on: one team whose members are users on the stack.
fn workflow_world(base: &str, digests: bool) -> World {
    workflow_world_on(stack(), base, digests)
}

/// [`workflow_world`] on another stack.
fn workflow_world_on(stack: &'static Stack, base: &str, digests: bool) -> World {
    let w = World::new(
        stack,
        base,
        &format!(
            "{TRUST}[workflow]\nrouting_file = \"routing.toml\"\nreply_secret_file = \"reply-secret\"\n\
             [workflow.digests]\ndaily = {digests}\nweekly = false\n"
        ),
    );
    let (alice, manager) = (w.addr("alice"), w.addr("manager"));
    let routing = format!(
        "[defaults]\nfoi = \"ig\"\neir = \"ig\"\nsar = \"ig\"\nmedia = \"ig\"\nmember_enquiry = \"ig\"\n\
         complaint = \"ig\"\ngeneral = \"ig\"\n\n[[team]]\nid = \"ig\"\nname = \"Information Governance\"\n\
         manager = \"{manager}\"\nassign = \"alice\"\nmembers = {{ alice = \"{alice}\" }}\n"
    );
    std::fs::write(w.dir.path().join("routing.toml"), routing).expect("routing");
    std::fs::write(
        w.dir.path().join("reply-secret"),
        "0123456789abcdef-test-secret-0123456789",
    )
    .expect("secret");
    w
}

fn find_mail(
    world: &World,
    user: &str,
    subject_has: &str,
) -> Vec<(Vec<u8>, foi_triage::model::message::Message)> {
    world
        .delivered(user)
        .iter()
        .map(|p| std::fs::read(p).expect("read"))
        .map(|raw| {
            let m = foi_triage::core::parse::parse(&raw, &support::sandbox());
            (raw, m)
        })
        .filter(|(_, m)| m.subject.contains(subject_has))
        .collect()
}

fn header<'a>(m: &'a foi_triage::model::message::Message, name: &str) -> Option<&'a str> {
    m.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

#[test]
fn a_case_life_by_email_assignment_commands_answer_and_close() {
    let world = workflow_world("wfl", false);
    let (req, alice, manager) = (world.who("req"), world.who("alice"), world.who("manager"));
    append_all(
        world.stack,
        &world.user,
        "INBOX",
        &[foi_request(&world.addr("req"), 1)],
    );
    let daemon = world.start();
    wait_for(
        Duration::from_secs(30),
        "acknowledgement and assignment",
        || world.delivered(&req).len() == 1 && world.delivered(&alice).len() == 1,
    );
    let (raw, assignment) = find_mail(&world, &alice, "Assigned").remove(0);
    let reference = assignment
        .subject
        .split(['[', ']'])
        .nth(1)
        .expect("reference in subject")
        .to_string();
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains("message/rfc822"), "original attached");
    assert!(
        !assignment.body_text.contains("Mill Lane"),
        "no request text in the body"
    );
    for want in ["Due: ", "Internal target: ", "Validity: valid", "#close"] {
        assert!(
            assignment.body_text.contains(want),
            "{want} missing:\n{}",
            assignment.body_text
        );
    }
    let command_to = header(&assignment, "reply-to")
        .expect("Reply-To")
        .trim_matches(['<', '>'])
        .to_string();
    assert!(
        command_to.contains(&format!("+{reference}.")),
        "{command_to}"
    );

    let staff_mail = |from: &str, to: &str, n: usize, body: &str| {
        let raw = format!(
            "From: <{from}>\r\nTo: <{to}>\r\nSubject: Re: [{reference}] Assigned\r\n\
             Message-ID: <staff-{n}-{}@example.org>\r\n\r\n{body}\r\n",
            world.user
        );
        stamped("example.org", raw.as_bytes())
    };
    // Forged: right sender, wrong token; right token, a stranger.
    let forged_to = format!(
        "{}+{}.{}@council.example",
        world.user,
        reference.to_lowercase(),
        "0".repeat(24)
    );
    append_all(
        world.stack,
        &world.user,
        "INBOX",
        &[
            staff_mail(&world.addr("alice"), &forged_to, 1, "#close provided"),
            staff_mail(&world.addr("mallory"), &command_to, 2, "#close provided"),
            staff_mail(
                &world.addr("alice"),
                &command_to,
                3,
                "#clarify Which financial years do you mean?\r\n\r\nAlice",
            ),
        ],
    );
    wait_for(
        Duration::from_secs(30),
        "the request for clarification",
        || find_mail(&world, &req, "").len() == 2,
    );
    wait_for(Duration::from_secs(30), "the confirmation to alice", || {
        !find_mail(&world, &alice, "Your command").is_empty()
    });
    let asked = find_mail(&world, &req, "")
        .into_iter()
        .map(|(_, m)| m)
        .find(|m| m.body_text.contains("Which financial years"))
        .expect("the officer's question reached the requester");
    // The requester answers; the clock restarts with a new acknowledgement.
    let answer = format!(
        "From: Pat Requester <{}>\r\nTo: {}@council.example\r\nSubject: Re: {}\r\nMessage-ID: <answer-{req}@example.org>\r\n\r\n\
         The last three financial years, 2023/24 to 2025/26.\r\n",
        world.addr("req"),
        world.user,
        asked.subject
    );
    let answer = stamped("example.org", answer.as_bytes());
    append_all(world.stack, &world.user, "INBOX", &[answer]);
    wait_for(Duration::from_secs(30), "the new acknowledgement", || {
        world.delivered(&req).len() == 3
    });
    append_all(
        world.stack,
        &world.user,
        "INBOX",
        &[staff_mail(
            &world.addr("alice"),
            &command_to,
            4,
            "#close provided",
        )],
    );
    wait_for(Duration::from_secs(30), "the close confirmation", || {
        find_mail(&world, &alice, "Your command").len() == 2
    });
    // While the daemon holds the store, the command line works through its control socket.
    let cfg = world.config();
    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_foi-triage"))
            .args(args)
            .arg("--config")
            .arg(&cfg)
            .output()
            .expect("cli")
    };
    let o = cli(&["case", "list"]);
    assert!(o.status.success(), "{}", support::stderr(&o));
    assert!(
        support::stdout(&o).contains(&format!("{reference}\tfoi\tclosed")),
        "{}",
        support::stdout(&o)
    );
    let alice_addr = world.addr("alice");
    let o = cli(&[
        "case",
        "note",
        &reference,
        "checked",
        "by",
        "phone",
        "--by",
        &alice_addr,
    ]);
    assert!(o.status.success(), "{}", support::stderr(&o));
    let o = cli(&["case", "extend", &reference, "pit", "--by", &alice_addr]);
    assert_eq!(o.status.code(), Some(2), "a closed case cannot be extended");
    assert!(
        support::stderr(&o).contains("closed"),
        "{}",
        support::stderr(&o)
    );
    // Alice decides it was a subject access request after all: the daemon keeps the request as
    // a private test sample beside the store, which the rules test replays while it runs.
    for words in [
        &["case", "reopen", &reference][..],
        &["case", "reclassify", &reference, "sar"],
    ] {
        let o = cli(&[words, &["--by", &alice_addr]].concat());
        assert!(o.status.success(), "{words:?}: {}", support::stderr(&o));
        if words[1] == "reclassify" {
            assert!(
                support::stdout(&o).contains("correction kept"),
                "{}",
                support::stdout(&o)
            );
        }
    }
    let samples = world.dir.path().join("data").join("corrections");
    assert!(samples.join(format!("{reference}.eml")).is_file());
    let o = cli(&["rules", "test", "--corrections"]);
    let replay = support::stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{replay}{}", support::stderr(&o));
    assert!(
        replay.contains(&format!(
            "FAIL {reference} still wrong (the rules said foi;"
        )),
        "{replay}"
    );
    let o = cli(&["case", "close", &reference, "provided", "--by", &alice_addr]);
    assert!(o.status.success(), "{}", support::stderr(&o));
    let (status, _) = daemon.stop();
    assert!(status.success());
    assert!(
        world.delivered(&manager).is_empty(),
        "nothing overdue, no copy to the manager"
    );

    let (store, cases) = world.cases();
    assert_eq!(cases.len(), 1, "{cases:?}");
    let case = &cases[0];
    assert_eq!(case.reference.to_string(), reference);
    assert_eq!(case.state, foi_triage::model::case::CaseState::Closed);
    assert_eq!(case.assignee.as_deref(), Some(world.addr("alice").as_str()));
    assert_eq!(case.team.as_deref(), Some("ig"));
    assert_eq!(
        case.workflow.closure.as_ref().map(|c| c.outcome),
        Some(foi_triage::model::case::CloseOutcome::ProvidedInFull)
    );
    let events: Vec<&str> = case.clock_events.iter().map(|e| e.name()).collect();
    assert_eq!(
        events,
        ["clarification_requested", "clarification_received"]
    );
    let audit = store.audit(&case.reference).expect("audit");
    let refused = audit
        .iter()
        .filter(|e| e.action == "command_refused")
        .count();
    assert_eq!(refused, 2, "both forged commands refused and audited");
    for a in [
        "routed",
        "assignment_mail_queued",
        "clock_restarted",
        "note",
    ] {
        assert!(audit.iter().any(|e| e.action == a), "{a} missing");
    }
}

/// The key id a signed reply address carries (`None` for an old-style or unsigned address).
fn key_id(address: &str) -> Option<String> {
    foi_triage::core::actions::parse_reply_address(address)?.key_id
}

#[test]
fn a_rotated_key_keeps_sent_addresses_working_and_a_refused_command_reaches_triage_and_the_assignee()
 {
    let world = workflow_world("wfk", false);
    let (req, alice) = (world.who("req"), world.who("alice"));
    let secret = world.dir.path().join("reply-secret");
    let first_key = std::fs::read_to_string(&secret).expect("the first key");
    append_all(
        world.stack,
        &world.user,
        "INBOX",
        &[foi_request(&world.addr("req"), 1)],
    );
    let daemon = world.start();
    wait_for(Duration::from_secs(30), "the assignment", || {
        !find_mail(&world, &alice, "Assigned").is_empty()
    });
    let (status, _) = daemon.stop();
    assert!(status.success());
    let (_, assignment) = find_mail(&world, &alice, "Assigned").remove(0);
    let reference = assignment
        .subject
        .split(['[', ']'])
        .nth(1)
        .expect("reference in subject")
        .to_string();
    let old_address = header(&assignment, "reply-to")
        .expect("Reply-To")
        .trim_matches(['<', '>'])
        .to_string();
    let old_id = key_id(&old_address).expect("signed with a key id");
    let mail = |from: &str, to: &str, n: usize, body: &str| {
        let raw = format!(
            "From: <{from}>\r\nTo: <{to}>\r\nCc: <{}@council.example>\r\n\
             Subject: Re: [{reference}] Assigned\r\nMessage-ID: <keys-{n}-{}@example.org>\r\n\r\n{body}\r\n",
            world.user, world.user
        );
        stamped("example.org", raw.as_bytes())
    };

    // Rotation: a new key goes on top; the address signed with the old one still works.
    std::fs::write(
        &secret,
        format!("0123456789abcdef-the-new-key-0123\n{first_key}\n"),
    )
    .expect("rotate");
    append_all(
        world.stack,
        &world.user,
        "INBOX",
        &[mail(
            &world.addr("alice"),
            &old_address,
            1,
            "#note key rotated",
        )],
    );
    let daemon = world.start();
    wait_for(Duration::from_secs(30), "the answer to the command", || {
        !find_mail(&world, &alice, "Your command").is_empty()
    });
    let (_, answer) = find_mail(&world, &alice, "Your command").remove(0);
    assert!(
        answer.body_text.contains("line 1: done: #note key rotated"),
        "{}",
        answer.body_text
    );
    let new_address = header(&answer, "reply-to")
        .expect("Reply-To")
        .trim_matches(['<', '>'])
        .to_string();
    let new_id = key_id(&new_address).expect("signed with a key id");
    assert_ne!(new_id, old_id, "new addresses are signed with the new key");

    // The requester's reply-all to the forwarded assignment: not a command, but not lost.
    append_all(
        world.stack,
        &world.user,
        "INBOX",
        &[mail(
            &world.addr("req"),
            &old_address,
            2,
            "#close provided\r\n\r\nThank you, that is all I need.",
        )],
    );
    wait_for(
        Duration::from_secs(30),
        "the receipt and the notice",
        || {
            !find_mail(&world, &req, "We have received your message").is_empty()
                && !find_mail(&world, &alice, "A command by email was refused").is_empty()
        },
    );
    let (status, _) = daemon.stop();
    assert!(status.success());
    let (_, notice) = find_mail(&world, &alice, "A command by email was refused").remove(0);
    assert!(
        notice
            .body_text
            .contains("Why: the sender is not on the staff list."),
        "{}",
        notice.body_text
    );
    assert!(
        notice
            .body_text
            .contains("It came from the case's requester."),
        "{}",
        notice.body_text
    );
    let (_, receipt) = find_mail(&world, &req, "We have received your message").remove(0);
    assert!(
        !receipt.body_text.contains("refused"),
        "the sender learns nothing of the command: {}",
        receipt.body_text
    );

    // Removing the old key revokes what it signed: refused, triaged, the notice held (one a day).
    std::fs::write(&secret, "0123456789abcdef-the-new-key-0123\n").expect("remove the old key");
    append_all(
        world.stack,
        &world.user,
        "INBOX",
        &[
            mail(&world.addr("alice"), &old_address, 3, "#close provided"),
            mail(
                &world.addr("alice"),
                &new_address,
                4,
                "#note the new address works",
            ),
        ],
    );
    let daemon = world.start();
    wait_for(
        Duration::from_secs(30),
        "the answer to the second command",
        || find_mail(&world, &alice, "Your command").len() == 2,
    );
    let (status, _) = daemon.stop();
    assert!(status.success());
    assert_eq!(
        find_mail(&world, &alice, "A command by email was refused").len(),
        1,
        "one notice per case per day"
    );

    let (store, cases) = world.cases();
    assert_eq!(
        cases.len(),
        1,
        "the refused mail joined the case: {cases:?}"
    );
    let case = &cases[0];
    assert_eq!(
        case.state,
        foi_triage::model::case::CaseState::Open,
        "never closed"
    );
    let audit = store.audit(&case.reference).expect("audit");
    let reasons: Vec<&str> = audit
        .iter()
        .filter(|e| e.action == "command_refused")
        .filter_map(|e| e.detail["reason"].as_str())
        .collect();
    assert_eq!(reasons, ["not_staff", "unknown_key"]);
    let count = |action: &str| audit.iter().filter(|e| e.action == action).count();
    assert_eq!(
        count("note"),
        2,
        "both notes, by the old and the new address"
    );
    assert_eq!(count("refusal_notice_queued"), 1);
    assert_eq!(count("refusal_notice_suppressed"), 1);
    assert_eq!(
        count("followup"),
        2,
        "both refused messages joined the case"
    );
    assert_eq!(count("closed"), 0);
}

/// The working day `n` working days after `from` (England and Wales, built-in holidays).
fn working_days_after(from: chrono::NaiveDate, n: u32) -> chrono::NaiveDate {
    use chrono::Datelike;
    let cal = foi_triage::core::deadline::Calendar::builtin();
    let mut d = from;
    let mut left = n;
    while left > 0 {
        d = d.succ_opt().expect("date");
        let weekend = matches!(d.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun);
        let holiday = cal
            .is_bank_holiday(foi_triage::core::deadline::Region::EnglandAndWales, d)
            .is_some();
        if !weekend && !holiday {
            left -= 1;
        }
    }
    d
}

#[test]
fn chasers_go_out_once_at_the_right_working_days_and_copy_the_manager_when_late() {
    let world = workflow_world("wfc", false);
    let (alice, manager) = (world.who("alice"), world.who("manager"));
    append_all(
        world.stack,
        &world.user,
        "INBOX",
        &[foi_request(&world.addr("req"), 1)],
    );
    let daemon = world.start();
    let start = Instant::now();
    while world.delivered(&alice).len() != 1 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no assignment; log:\n{}",
            world.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (status, _) = daemon.stop();
    assert!(status.success());
    let due = {
        let (_, cases) = world.cases();
        cases[0].due.expect("due")
    };
    let at = |d: chrono::NaiveDate| format!("{d}T11:00:00Z");
    // Runs the daemon at `when` until `done` holds (a loaded machine may take seconds to start
    // it), or for 3 s when nothing is expected, then stops it.
    let run_at = |when: String, done: Option<&dyn Fn() -> bool>| {
        let mut d = world.start_at(&when);
        match done {
            Some(done) => wait_for(
                Duration::from_secs(30),
                &format!("the mail at {when}"),
                done,
            ),
            None => std::thread::sleep(Duration::from_secs(3)),
        }
        assert!(
            d.is_running(),
            "daemon at {when} died:\n{}",
            world.log_text()
        );
        let result = d.stop();
        assert!(result.is_ok(), "daemon at {when}: {result:?}");
    };
    // On the due date: one chaser to the assignee, no copy.
    run_at(at(due), Some(&|| world.delivered(&alice).len() >= 2));
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        world.delivered(&alice).len(),
        2,
        "on-the-day chaser; log:\n{}",
        world.log_text()
    );
    assert!(world.delivered(&manager).is_empty());
    // Again the same day: nothing new (idempotent across restarts).
    run_at(at(due), None);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(world.delivered(&alice).len(), 2, "no chaser twice");
    // Three working days late: an overdue chaser, the manager copied.
    run_at(
        at(working_days_after(due, 3)),
        Some(&|| world.delivered(&alice).len() >= 3 && !world.delivered(&manager).is_empty()),
    );
    wait_for(Duration::from_secs(10), "the overdue chaser", || {
        world.delivered(&alice).len() == 3 && world.delivered(&manager).len() == 1
    });
    let (_, late) = find_mail(&world, &manager, "").remove(0);
    assert!(header(&late, "cc").is_some() || late.cc.iter().any(|a| a.email.contains("manager")));
    // At night nothing goes out.
    run_at(format!("{}T23:30:00Z", working_days_after(due, 5)), None);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(world.delivered(&alice).len(), 3, "no chaser at night");
}

#[test]
fn a_repeated_request_is_flagged_for_a_person_never_refused() {
    let world = workflow_world("wfr", false);
    let (req, alice) = (world.who("req"), world.who("alice"));
    let daemon = world.start();
    append_all(
        world.stack,
        &world.user,
        "INBOX",
        &[foi_request(&world.addr("req"), 1)],
    );
    wait_for(Duration::from_secs(30), "the first case", || {
        world.delivered(&alice).len() == 1
    });
    append_all(
        world.stack,
        &world.user,
        "INBOX",
        &[foi_request(&world.addr("req"), 2)],
    );
    wait_for(Duration::from_secs(30), "the second case", || {
        world.delivered(&alice).len() == 2 && world.delivered(&req).len() == 2
    });
    let (status, _) = daemon.stop();
    assert!(status.success());
    let (store, cases) = world.cases();
    assert_eq!(cases.len(), 2, "both are cases: nothing is refused");
    let (first, second) = (&cases[0], &cases[1]);
    assert!(first.workflow.flags.is_empty());
    assert!(
        matches!(&second.workflow.flags[..], [foi_triage::model::case::Flag::PossibleRepeat { of, .. }] if *of == first.reference),
        "{:?}",
        second.workflow.flags
    );
    let audit = store.audit(&second.reference).expect("audit");
    assert!(audit.iter().any(|e| e.action == "possible_repeat"));
    assert!(second.workflow.fingerprint.is_some());
}

#[test]
fn a_response_from_the_shared_mailbox_marks_the_case_responded() {
    let world = workflow_world("wfs", false);
    let (req, alice) = (world.who("req"), world.who("alice"));
    let daemon = world.start();
    append_all(
        world.stack,
        &world.user,
        "INBOX",
        &[foi_request(&world.addr("req"), 1)],
    );
    wait_for(Duration::from_secs(30), "the case", || {
        world.delivered(&alice).len() == 1 && world.delivered(&req).len() == 1
    });
    let ack = acks_to(&world, &req).remove(0);
    // The officer answers from the shared mailbox and keeps a copy in the inbox (Bcc).
    let response = format!(
        "From: Example Borough Council <{}@council.example>\r\nTo: <{}>\r\nSubject: Re: {}\r\n\
         Message-ID: <response-{req}@council.example>\r\n\r\nPlease find the figures attached.\r\n",
        world.user,
        world.addr("req"),
        ack.subject
    );
    let response = stamped("council.example", response.as_bytes());
    append_all(world.stack, &world.user, "INBOX", &[response]);
    wait_for(Duration::from_secs(30), "the copy to be filed", || {
        world.delivered(&world.user).is_empty()
    });
    std::thread::sleep(Duration::from_secs(1));
    let (status, _) = daemon.stop();
    assert!(status.success());
    let (_, cases) = world.cases();
    assert_eq!(cases.len(), 1);
    assert_eq!(
        cases[0].state,
        foi_triage::model::case::CaseState::Responded
    );
    assert!(cases[0].workflow.responded_at.is_some());
    assert_eq!(
        world.delivered(&req).len(),
        1,
        "our own response gets no receipt"
    );
}

#[test]
fn a_spoofed_response_from_our_address_does_not_mark_the_case_responded() {
    let world = workflow_world("wfp", false);
    let (req, alice) = (world.who("req"), world.who("alice"));
    let daemon = world.start();
    append_all(
        world.stack,
        &world.user,
        "INBOX",
        &[foi_request(&world.addr("req"), 1)],
    );
    wait_for(Duration::from_secs(30), "the case", || {
        world.delivered(&alice).len() == 1 && world.delivered(&req).len() == 1
    });
    let ack = acks_to(&world, &req).remove(0);
    // An outsider writes our address in From; the gateway says DMARC failed, and a forged
    // "pass" sits below it.
    let spoof = format!(
        "Authentication-Results: {GATEWAY}; dmarc=fail header.from=council.example\r\n\
         Received: from attacker.example by mx.test.example\r\n\
         Authentication-Results: {GATEWAY}; dmarc=pass header.from=council.example\r\n\
         From: Example Borough Council <{}@council.example>\r\nTo: <{}>\r\nSubject: Re: {}\r\n\
         Message-ID: <spoof-{req}@attacker.example>\r\n\r\nAll done, case closed.\r\n",
        world.user,
        world.addr("req"),
        ack.subject
    );
    append_all(world.stack, &world.user, "INBOX", &[spoof.into_bytes()]);
    wait_for(Duration::from_secs(30), "the spoof to be filed", || {
        world.delivered(&world.user).is_empty()
    });
    std::thread::sleep(Duration::from_secs(1));
    let (status, _) = daemon.stop();
    assert!(status.success());
    let (store, cases) = world.cases();
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].state, foi_triage::model::case::CaseState::Open);
    assert!(cases[0].workflow.responded_at.is_none());
    let audit = store.audit(&cases[0].reference).expect("audit");
    assert!(
        audit.iter().any(|e| e.action == "response_not_recorded"),
        "{audit:?}"
    );
}

#[test]
fn the_managers_digest_lists_the_case_without_the_request_text() {
    let world = workflow_world("wfd", true);
    let (alice, manager) = (world.who("alice"), world.who("manager"));
    append_all(
        world.stack,
        &world.user,
        "INBOX",
        &[foi_request(&world.addr("req"), 1)],
    );
    // On the real clock a digest may or may not be due now; the one that counts is the next
    // working morning's.
    let daemon = world.start();
    wait_for(Duration::from_secs(30), "the assignment", || {
        world.delivered(&alice).len() == 1
    });
    let (status, _) = daemon.stop();
    assert!(status.success());
    let (reference, received) = {
        let (_, cases) = world.cases();
        (
            cases[0].reference.to_string(),
            cases[0].received_at.date_naive(),
        )
    };
    let morning = working_days_after(received, 1);
    let daemon = world.start_at(&format!("{morning}T09:30:00Z"));
    let start = Instant::now();
    let listed = |w: &World| {
        find_mail(w, &manager, "")
            .into_iter()
            .find(|(_, m)| m.body_text.contains(&reference))
    };
    while listed(&world).is_none() && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let result = daemon.stop();
    assert!(result.is_ok(), "{result:?}");
    let (_, d) = listed(&world).expect("a digest listing the case reached the manager");
    assert!(
        !d.body_text.contains("Mill Lane"),
        "request text in the digest"
    );
    assert!(
        !d.body_text.contains("Pat Requester"),
        "requester's name in the digest"
    );
}

#[test]
fn a_response_in_the_sent_folder_marks_the_case_responded() {
    let world = workflow_world("wft", false);
    let cfg = std::fs::read_to_string(world.config()).expect("config");
    std::fs::write(
        world.config(),
        cfg.replace(
            "mailbox = \"INBOX\"",
            "mailbox = \"INBOX\"\nsent_folder = \"Sent\"",
        ),
    )
    .expect("config");
    let req = world.who("req");
    // The Sent folder exists before the daemon looks at it.
    append_all(
        world.stack,
        &world.user,
        "Sent",
        &[b"Subject: older\r\n\r\nx\r\n".to_vec()],
    );
    let daemon = world.start();
    append_all(
        world.stack,
        &world.user,
        "INBOX",
        &[foi_request(&world.addr("req"), 1)],
    );
    wait_for(
        Duration::from_secs(30),
        "the case and the Sent watch",
        || {
            world.delivered(&req).len() == 1
                && world.log_text().contains("watching the Sent folder")
        },
    );
    let ack = acks_to(&world, &req).remove(0);
    let response = format!(
        "From: <{}@council.example>\r\nTo: <{}>\r\nSubject: Re: {}\r\n\
         Message-ID: <sent-{req}@council.example>\r\n\r\nThe figures are attached.\r\n",
        world.user,
        world.addr("req"),
        ack.subject
    );
    append_all(world.stack, &world.user, "Sent", &[response.into_bytes()]);
    wait_for(Duration::from_secs(30), "the response to be seen", || {
        world
            .log_text()
            .contains("response seen in the Sent folder")
    });
    let (status, _) = daemon.stop();
    assert!(status.success());
    let (_, cases) = world.cases();
    assert_eq!(
        cases[0].state,
        foi_triage::model::case::CaseState::Responded
    );
}

#[test]
fn imported_cases_are_not_routed_or_mailed_when_the_daemon_starts() {
    let world = workflow_world("wfi", false);
    let batch: Vec<Vec<u8>> = (0..3)
        .map(|i| foi_request(&world.addr(&format!("r{i}")), i))
        .collect();
    append_all(world.stack, &world.user, "Archive", &batch);
    let out = Command::new(env!("CARGO_BIN_EXE_foi-triage"))
        .args(["import", "--mailbox", "Archive", "--config"])
        .arg(world.config())
        .output()
        .expect("import");
    assert!(out.status.success(), "{}", support::stderr(&out));
    let daemon = world.start();
    wait_for(Duration::from_secs(20), "startup", || {
        world.log_text().contains("connected")
    });
    std::thread::sleep(Duration::from_secs(3));
    let (status, _) = daemon.stop();
    assert!(status.success());
    assert!(
        world.delivered(&world.who("alice")).is_empty(),
        "no assignment mail for imported cases"
    );
    let (_, cases) = world.cases();
    assert_eq!(cases.len(), 3);
    assert!(
        cases
            .iter()
            .all(|c| c.team.is_none() && c.workflow.imported)
    );
}

/// A message that killed intake twice before (its attempt record left at 2, as two aborts in a
/// decoder would leave it) is quarantined without triage, the message after it is processed, and
/// people see it in `case list`. Not run by the author of the guard (the stack is shared): the
/// decision itself is covered by `core::plan::poison` and `app::ingest` unit tests.
#[test]
fn a_message_that_killed_intake_twice_is_quarantined_and_the_next_one_goes_through() {
    use foi_triage::core::plan::ingest::Position;
    use foi_triage::core::plan::poison::{self, Gate};
    let world = World::new(stack(), "poison-foi", "");
    let poison_mail = foi_request(&world.addr("poison"), 1);
    let good = foi_request(&world.addr("after"), 2);
    {
        let store = Store::open(&world.dir.path().join("data")).expect("open store");
        let hash = foi_triage::core::dedupe::dedupe_hash(&poison_mail);
        let position = Position {
            mailbox: "INBOX".into(),
            uidvalidity: 1,
            uid: 1,
        };
        let mut previous = None;
        for _ in 0..2 {
            let Gate::Triage { record, .. } =
                poison::gate(previous.as_ref(), &hash, &position, chrono::Utc::now())
            else {
                panic!("gave up too early");
            };
            previous = serde_json::from_value(record.marks[0].value.clone()).ok();
            store.apply(record).expect("attempt recorded");
        }
        store.flush().expect("flush");
    }
    append_all(world.stack, &world.user, "INBOX", &[poison_mail, good]);
    let daemon = world.start();
    wait_for(
        Duration::from_secs(60),
        "the request after the poison message",
        || !world.delivered(&world.who("after")).is_empty(),
    );
    wait_for(Duration::from_secs(30), "the INBOX to be emptied", || {
        world.delivered(&world.user).is_empty()
    });
    let (status, _) = daemon.stop();
    assert!(status.success(), "{}", world.log_text());
    assert!(
        world.delivered(&world.who("poison")).is_empty(),
        "no acknowledgement for a message nobody triaged"
    );
    let (store, cases) = world.cases();
    let emails: Vec<&str> = cases.iter().map(|c| c.requester.email.as_str()).collect();
    assert_eq!(emails, [world.addr("after").as_str()]);
    drop(store);
    let o = support::run(&[
        "case",
        "list",
        "--config",
        world.config().to_str().expect("utf-8"),
    ]);
    assert!(o.status.success(), "{}", support::stderr(&o));
    let listed = support::stdout(&o);
    assert!(
        listed.contains("needs human triage: 1 message(s)"),
        "{listed}"
    );
    assert!(listed.contains("died 2 times"), "{listed}");
    let log = world.log_text();
    assert!(log.contains("quarantined for human triage"), "{log}");
    assert!(
        !log.contains(&world.addr("poison")),
        "personal data in the log"
    );
}

#[test]
fn every_hostile_sample_ends_somewhere_visible_and_the_next_request_is_answered() {
    let world = World::new(stack(), "hostile-foi", "");
    // Every sample in the folder, so samples added later are delivered too.
    let dir = support::repo("tests/data/hostile");
    let mut samples: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("tests/data/hostile")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .map(|p| {
            let name = p
                .file_name()
                .expect("a name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(&p).expect("read sample"))
        })
        .collect();
    samples.sort();
    assert!(samples.len() >= 4, "{samples:?}");
    let good = foi_request(&world.addr("after"), 1);
    let mut mail: Vec<Vec<u8>> = samples.iter().map(|(_, raw)| raw.clone()).collect();
    mail.push(good);
    append_all(world.stack, &world.user, "INBOX", &mail);
    let mut daemon = world.start();
    wait_for(
        Duration::from_secs(180),
        "the acknowledgement of the request after the hostile samples",
        || !world.delivered(&world.who("after")).is_empty(),
    );
    // Filed out of the INBOX: each is in a kind's folder or in quarantine, where people look.
    wait_for(Duration::from_secs(60), "the INBOX to be emptied", || {
        world.delivered(&world.user).is_empty()
    });
    assert!(daemon.is_running(), "daemon died:\n{}", world.log_text());
    let (status, _) = daemon.stop();
    assert!(status.success(), "{}", world.log_text());

    let (store, cases) = world.cases();
    let after: Vec<&Case> = cases
        .iter()
        .filter(|c| c.requester.email == world.addr("after"))
        .collect();
    assert_eq!(after.len(), 1, "one case for the request after them");
    // Each sample is on record: a case (new or joined) or a `seen` record (machine mail, our
    // own traffic, a refused command, a quarantine) that says why.
    for (name, raw) in &samples {
        let hash = foi_triage::core::dedupe::dedupe_hash(raw);
        let case = store.find_by_hash(&hash).expect("read index");
        let seen = store
            .find_seen(foi_triage::io::store::SeenKey::ContentHash(&hash))
            .expect("read seen");
        eprintln!(
            "hostile {name}: case {:?}, seen {:?}",
            case.as_ref().map(ToString::to_string),
            seen.as_ref().map(|s| s.why.as_str())
        );
        assert!(
            case.is_some() || seen.is_some_and(|s| !s.why.is_empty()),
            "{name} left no trace"
        );
    }
    assert!(!world.log_text().contains("panicked"), "a panic was logged");
}

#[test]
fn on_a_server_whose_folders_live_under_inbox_mail_is_filed_there() {
    let world = workflow_world_on(ns_stack(), "nsd", false);
    let cfg = std::fs::read_to_string(world.config()).expect("config");
    std::fs::write(
        world.config(),
        cfg.replace(
            "mailbox = \"INBOX\"",
            "mailbox = \"INBOX\"\nsent_folder = \"Sent\"",
        ),
    )
    .expect("config");
    // The Sent folder exists (as INBOX.Sent) before the daemon looks at it.
    append_all(
        world.stack,
        &world.user,
        "Sent",
        &[b"Subject: older\r\n\r\nx\r\n".to_vec()],
    );
    let robot = format!(
        "From: <{}>\r\nTo: {}@council.example\r\nSubject: Automatic reply: away\r\n\
         Auto-Submitted: auto-replied\r\nMessage-ID: <away-{}@example.org>\r\n\r\nI am away.\r\n",
        world.addr("robot"),
        world.user,
        world.user
    );
    append_all(
        world.stack,
        &world.user,
        "INBOX",
        &[foi_request(&world.addr("req"), 1), robot.into_bytes()],
    );
    let daemon = world.start();
    wait_for(Duration::from_secs(60), "the INBOX to be filed", || {
        world.delivered(&world.user).is_empty()
            && world.log_text().contains("watching the Sent folder")
    });
    let (status, _) = daemon.stop();
    assert!(status.success(), "{}", world.log_text());
    // Filed where this server keeps personal folders: INBOX.Triage.FOI (Maildir .Triage.FOI).
    assert_eq!(world.stack.in_folder(&world.user, ".Triage.FOI").len(), 1);
    assert_eq!(world.stack.in_folder(&world.user, ".Triage.Auto").len(), 1);
    assert_eq!(world.delivered(&world.who("req")).len(), 1, "acknowledged");
    let log = world.log_text();
    assert!(log.contains("\"namespace_prefix\":\"INBOX.\""), "{log}");
    assert!(!log.contains("cannot file message"), "{log}");
    assert!(!log.contains("Sent folder watch failed"), "{log}");
}

/// A valid FOI request from `from` to `to` with an attachment that makes it `bytes` long (random
/// base64, CRLF lines, no line starting with a dot: ready for SMTP DATA as it is).
fn big_request(from: &str, to: &str, bytes: usize) -> Vec<u8> {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = format!(
        "From: Big Sender <{from}>\r\nTo: {to}\r\nSubject: Freedom of Information request with scans\r\n\
         Message-ID: <big-{from}>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nDear Sir or Madam,\r\n\r\nUnder the Freedom \
         of Information Act 2000 please provide the contracts scanned in the attachment.\r\n\r\n\
         Yours faithfully,\r\nBig Sender\r\n1 Long Road, Exampletown EX1 1AA\r\n--b\r\n\
         Content-Type: application/pdf; name=\"scans.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    )
    .into_bytes();
    out.reserve(bytes + 100);
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    while out.len() < bytes {
        for _ in 0..76 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            out.push(B64[(state % 64) as usize]);
        }
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"--b--\r\n");
    out
}

/// Peak resident memory of a process (VmHWM), in MiB.
fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

#[test]
fn a_70_mb_request_makes_a_case_from_its_first_part_is_filed_and_the_next_one_goes_through() {
    let world = World::new(ns_stack(), "big", "");
    let smtp = || {
        std::net::TcpStream::connect(("127.0.0.1", world.stack.port("MAILSTACK_SMTP_PORT")))
            .expect("connect SMTP")
    };
    let shared = format!("{}@council.example", world.user);
    let big = big_request(&world.addr("big"), &shared, 70 * 1024 * 1024);
    smtp_send(smtp(), &world.addr("big"), &shared, &big);
    // Delivered before the next one, so it comes first.
    wait_for(Duration::from_secs(60), "the 70 MB delivery", || {
        world.delivered(&world.user).len() == 1
    });
    smtp_send(
        smtp(),
        &world.addr("after"),
        &shared,
        &foi_request(&world.addr("after"), 1),
    );
    let started = Instant::now();
    let daemon = world.start();
    wait_for(
        Duration::from_secs(180),
        "the request after the 70 MB one",
        || !world.delivered(&world.who("after")).is_empty(),
    );
    let took = started.elapsed();
    wait_for(Duration::from_secs(30), "the INBOX to be filed", || {
        world.delivered(&world.user).is_empty()
    });
    let peak = peak_rss_mib(daemon.pid());
    let (status, _) = daemon.stop();
    assert!(status.success(), "{}", world.log_text());
    eprintln!(
        "70 MB request: next request acknowledged {took:?} after start; daemon peak RSS {peak} MiB"
    );
    // Filed whole, with its case.
    let filed = world.stack.in_folder(&world.user, ".Triage.FOI");
    let sizes: Vec<u64> = filed
        .iter()
        .map(|p| std::fs::metadata(p).expect("stat").len())
        .collect();
    assert_eq!(sizes.len(), 2, "{sizes:?}");
    // Dovecot keeps Maildir files with LF line ends: 70 MiB of CRLF lines is 69.1 MiB on disk.
    assert!(sizes.iter().any(|&n| n >= 69 * 1024 * 1024), "{sizes:?}");
    let (store, cases) = world.cases();
    let big_case = cases
        .iter()
        .find(|c| c.requester.email == world.addr("big"))
        .expect("a case for the 70 MB request");
    let audit = store.audit(&big_case.reference).expect("audit");
    let note = audit
        .iter()
        .find(|e| e.action == "note")
        .expect("the case says it was read in part");
    assert!(
        note.why
            .contains("too large to read in full (70.0 MB, over the 50 MB limit)"),
        "{}",
        note.why
    );
    assert!(
        cases
            .iter()
            .any(|c| c.requester.email == world.addr("after"))
    );
    assert_eq!(world.delivered(&world.who("big")).len(), 1, "acknowledged");
    let log = world.log_text();
    assert!(log.contains("\"partial\":true"), "{log}");
    assert!(!log.contains("panicked"), "{log}");
    // Read whole (the cap raised for a measurement) the same message took the daemon to 203 MiB;
    // read in part, 65 MiB.
    assert!(peak < 150, "peak RSS {peak} MiB");
    // Give the 70 MB back: this stack lives on between runs.
    for p in filed {
        std::fs::remove_file(p).expect("remove filed copy");
    }
}

/// Issue 12: a backup taken while the daemon runs (through its control socket) is restored onto a
/// new data directory; a daemon on that directory carries on from the restored cursor (nothing
/// is processed twice) and a reply joins the restored case.
#[test]
fn a_backup_taken_while_running_restores_onto_a_new_data_dir_where_a_reply_joins_its_case() {
    let world = workflow_world("bak", false);
    let pat = world.who("pat");
    let daemon = world.start();
    append_all(
        world.stack,
        &world.user,
        "INBOX",
        &[foi_request(&world.addr("pat"), 1)],
    );
    // Both letters (acknowledgement, assignment) recorded as sent: a backup taken while a row
    // is still `sending` would, restored, send it once more (at least once, at most twice).
    wait_for(
        Duration::from_secs(30),
        "the letters recorded as sent",
        || {
            world.delivered(&pat).len() == 1
                && world.log_text().matches("outbox: sent").count() == 2
        },
    );
    let backup = world.dir.path().join("backup.jsonl");
    let o = support::run(&[
        "export",
        "--config",
        world.config().to_str().expect("utf-8 path"),
        backup.to_str().expect("utf-8 path"),
    ]);
    assert!(o.status.success(), "{}", support::stderr(&o));
    assert!(
        support::stdout(&o).contains("(1 cases)"),
        "{}",
        support::stdout(&o)
    );
    assert!(
        world
            .log_text()
            .contains("backup exported through the control socket"),
        "the running daemon took the snapshot"
    );
    let (status, _) = daemon.stop();
    assert!(status.success());
    // Read from the old store, which no daemon opens again: a store this process had just
    // closed could still hold sled's lock when the next daemon starts on it.
    let reference = Store::open(&world.dir.path().join("data"))
        .expect("the old store")
        .list_cases(CaseOrder::Received)
        .expect("list")[0]
        .reference
        .to_string();

    let restored = world.dir.path().join("restored");
    let o = support::run(&[
        "restore",
        backup.to_str().expect("utf-8 path"),
        "--data-dir",
        restored.to_str().expect("utf-8 path"),
    ]);
    assert!(
        o.status.success(),
        "{}{}",
        support::stdout(&o),
        support::stderr(&o)
    );
    let config = std::fs::read_to_string(world.config())
        .expect("read config")
        .replace("data_dir = \"data\"", "data_dir = \"restored\"");
    let moved = world.dir.path().join("restored.toml");
    std::fs::write(&moved, config).expect("write config");

    let mut daemon = world.start_with(&moved);
    // The daemon holds the store once its control socket is up; a `case show` before that would
    // open the store itself and could keep the starting daemon out of it.
    let socket = restored.join("control/control.sock");
    wait_for(
        Duration::from_secs(30),
        "the daemon's control socket",
        || socket.exists(),
    );
    let reply = format!(
        "From: Pat Requester <{addr}>\r\nTo: {user}@council.example\r\n\
         Subject: Re: Freedom of Information request 1\r\nIn-Reply-To: <req-1-{addr}>\r\n\
         Message-ID: <reply-1-{addr}>\r\nDate: Mon, 23 Nov 2026 11:00:00 +0000\r\n\r\n\
         Please include 2019 as well.\r\n",
        addr = world.addr("pat"),
        user = world.user
    );
    append_all(world.stack, &world.user, "INBOX", &[reply.into_bytes()]);
    let moved_cfg = moved.to_str().expect("utf-8 path").to_string();
    let started = Instant::now();
    let joined = loop {
        let o = support::run(&["case", "show", "--config", &moved_cfg, &reference]);
        if support::stdout(&o).contains("reply-1-") {
            break true;
        }
        if started.elapsed() > Duration::from_secs(30) || !daemon.is_running() {
            break false;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        joined,
        "the reply did not join {reference}; the log:\n{}",
        world.log_text()
    );
    let (status, _) = daemon.stop();
    assert!(status.success());
    let store = Store::open(&restored).expect("the restored store");
    let after = store.list_cases(CaseOrder::Received).expect("list");
    assert_eq!(
        after.len(),
        1,
        "the reply joined; the request was not taken again"
    );
    assert!(
        after[0]
            .message_ids
            .iter()
            .any(|m| m.starts_with("reply-1-"))
    );
    assert!(store.verify().expect("verifies").is_clean());
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        world.delivered(&pat).len(),
        2,
        "one acknowledgement and one receipt: the restored cursor and outbox sent nothing twice"
    );
}
