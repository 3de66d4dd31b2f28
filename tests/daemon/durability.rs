//! The daemon's promises about crashes and a failing disk, on the real stack (issue 9, "How it
//! is tested"):
//! - **kill -9 torture**: requests keep arriving while the daemon is SIGKILLed at random moments
//!   and restarted; in the end every request has exactly one case, each kill cost at most one
//!   extra acknowledgement, nothing is left in the INBOX and the outbox is empty. The suite runs
//!   a small schedule; `scripts/torture.sh` runs this same test at full size (the sizes come from
//!   the environment, see [`Torture`]).
//! - **full disk**: the data directory (a small tmpfs) fills up while the outbox sends; the
//!   daemon exits non-zero (also when restarted on the still-full disk, as systemd would) without
//!   a resend loop, and once space returns nothing is lost.

use super::*;
use std::collections::BTreeSet;
use std::process::ExitStatus;

/// Size and schedule of a kill -9 torture run, read from the environment so the suite and
/// `scripts/torture.sh` run the same code: `FOI_TORTURE_REQUESTS` (default 100),
/// `FOI_TORTURE_KILLS` (default 5), `FOI_TORTURE_SEED` (default: from the clock; printed with
/// the figures, so a failing schedule can be run again; the daemon's own timing still varies).
struct Torture {
    requests: usize,
    kills: usize,
    seed: u64,
}

impl Torture {
    fn from_env() -> Torture {
        fn var<T: std::str::FromStr>(key: &str, default: T) -> T
        where
            T::Err: std::fmt::Display,
        {
            match std::env::var(key) {
                Ok(v) => v
                    .parse()
                    .unwrap_or_else(|e| panic!("{key}={v:?} is not a number: {e}")),
                Err(_) => default,
            }
        }
        let clock_seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        Torture {
            requests: var("FOI_TORTURE_REQUESTS", 100),
            kills: var("FOI_TORTURE_KILLS", 5),
            seed: var("FOI_TORTURE_SEED", clock_seed),
        }
    }
}

/// xorshift64*: a kill schedule that is random yet replayable from its seed, without a crate
/// (the schedule needs reproducibility, not statistical quality).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        // Zero is xorshift's one fixed point.
        Rng(seed.max(1))
    }

    /// A number in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}

/// Requests the feeder appends to the INBOX per IMAP connection.
const FEED_CHUNK: usize = 20;

/// What a torture run (or the full-disk test) ends with; printed whole before any assertion so
/// a failure shows every figure.
#[derive(Debug, Default)]
struct Figures {
    /// Requests without a case.
    lost: usize,
    /// Cases beyond one per requester, or for someone who sent no request.
    duplicate_cases: usize,
    /// Acknowledgements beyond the first to each requester.
    extra_acks: usize,
    /// Requesters who got no acknowledgement at all.
    unacknowledged: usize,
    /// Messages still in the shared INBOX.
    unfiled: usize,
    /// Outbox rows still queued (pending or sending).
    outbox_queued: usize,
    /// Outbox rows given up on (`Failed`), for a person.
    outbox_failed: usize,
    /// Cases whose audit trail lacks `received` or an acknowledgement outcome.
    incomplete_audits: usize,
}

impl Figures {
    /// Counts what `world`, with its store in `data`, holds for the requesters `who` (the
    /// daemon must be stopped: the store is read directly).
    fn of(world: &World, data: &Path, who: &[String]) -> Figures {
        let store = Store::open(data).expect("open store");
        let cases = store.list_cases(CaseOrder::Received).expect("list cases");
        let asked: BTreeSet<String> = who.iter().map(|w| format!("{w}@example.org")).collect();
        let with_case: BTreeSet<&str> = cases.iter().map(|c| c.requester.email.as_str()).collect();
        let acks: Vec<usize> = who.iter().map(|w| world.delivered(w).len()).collect();
        let incomplete_audits = cases
            .iter()
            .filter(|c| {
                let audit = store.audit(&c.reference).expect("audit");
                let has = |a: &str| audit.iter().any(|e| e.action == a);
                !(has("received") && (has("acknowledgement_sent") || has("acknowledgement_failed")))
            })
            .count();
        Figures {
            lost: asked
                .iter()
                .filter(|a| !with_case.contains(a.as_str()))
                .count(),
            duplicate_cases: cases.len() - with_case.iter().filter(|e| asked.contains(**e)).count(),
            extra_acks: acks.iter().map(|n| n.saturating_sub(1)).sum(),
            unacknowledged: acks.iter().filter(|n| **n == 0).count(),
            unfiled: world.delivered(&world.user).len(),
            outbox_queued: store
                .outbox_pending(chrono::DateTime::<chrono::Utc>::MAX_UTC)
                .expect("queued rows")
                .len(),
            outbox_failed: store
                .outbox_failed(chrono::DateTime::<chrono::Utc>::MIN_UTC)
                .expect("failed rows")
                .len(),
            incomplete_audits,
        }
    }
}

/// The requesters' local parts: `r0000`, `r0001`… of this world.
fn requesters(world: &World, n: usize) -> Vec<String> {
    (0..n).map(|i| world.who(&format!("r{i:04}"))).collect()
}

/// Polls `done` every 250 ms for at most `limit`; whether it came true. For the final waits,
/// whose failure should end in the figures rather than a bare timeout.
fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while !done() {
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    true
}

/// Whether every re-send in `log` (the log since this start) has its result logged. The outbox
/// sends a row cut off by an earlier kill once more ("found a send cut off"); killing again
/// before that is recorded would cut the same row twice, which the outbox by design fails for a
/// person rather than send a third time: a crash loop, not a random kill. The result is logged
/// after it is written, so a logged result is on disk.
fn resends_settled(log: &str) -> bool {
    let mut open = BTreeSet::new();
    for line in log.lines().filter(|l| l.contains("outbox: ")) {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let fields = &v["fields"];
        let (Some(message), Some(row)) = (fields["message"].as_str(), fields["row"].as_u64())
        else {
            continue;
        };
        if message.starts_with("outbox: found a send cut off") {
            open.insert(row);
        } else if ["outbox: sent", "outbox: FAILED", "outbox: temporary"]
            .iter()
            .any(|p| message.starts_with(p))
        {
            open.remove(&row);
        }
    }
    open.is_empty()
}

impl World {
    fn log_len(&self) -> usize {
        std::fs::metadata(self.log()).map_or(0, |m| m.len() as usize)
    }
}

impl Daemon {
    /// SIGSTOP, then waits until every thread is stopped (`kill` returns before the signal has
    /// reached threads running on another CPU).
    fn freeze(&self) {
        self.signal("STOP");
        let tasks = PathBuf::from(format!("/proc/{}/task", self.pid()));
        wait_for(Duration::from_secs(10), "SIGSTOP to take hold", || {
            std::fs::read_dir(&tasks)
                .expect("the daemon's threads")
                .flatten()
                .all(|t| {
                    let stat = std::fs::read_to_string(t.path().join("stat")).unwrap_or_default();
                    // The state follows the parenthesised command name: "pid (comm) T ...".
                    matches!(
                        stat.rsplit_once(") ")
                            .and_then(|(_, rest)| rest.bytes().next()),
                        Some(b'T' | b't')
                    )
                })
        });
    }

    /// Waits (bounded) for the process to exit on its own: its status, or `None` after `limit`
    /// (the process is then killed when dropped).
    fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        let child = self.0.as_mut().expect("running");
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                self.0 = None;
                return Some(status);
            }
            if start.elapsed() > limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Appends the requests of `who` to the shared INBOX in chunks, with random pauses, so some
/// arrive while the daemon runs (IDLE) and some while it is dead (the backlog at start).
fn feed(world: &World, who: &[String], seed: u64) -> std::thread::JoinHandle<()> {
    let (stack, user) = (world.stack, world.user.clone());
    let mail: Vec<Vec<u8>> = who
        .iter()
        .enumerate()
        .map(|(i, w)| foi_request(&format!("{w}@example.org"), i))
        .collect();
    std::thread::spawn(move || {
        let mut rng = Rng::new(seed);
        for chunk in mail.chunks(FEED_CHUNK) {
            append_all(stack, &user, "INBOX", chunk);
            std::thread::sleep(Duration::from_millis(rng.below(1000)));
        }
    })
}

/// kill -9 torture: `FOI_TORTURE_REQUESTS` requests arrive while the daemon is SIGKILLed
/// `FOI_TORTURE_KILLS` times at random moments and restarted.
///
/// Each kill waits for progress since the last start (a random number of new cases, or an
/// empty INBOX once everything arrived), then comes after a random delay of up to a second:
/// anywhere in fetching, triage, a commit, filing, an SMTP transaction or idling, except during
/// the re-send of a row an earlier kill cut off (checked while the process is frozen). Two kills
/// on the same message or row before it completes are a crash loop, which the poison guard and
/// the outbox turn into a quarantined message or a failed row by design; the first new case
/// after a start settles the message the last kill cut off.
#[test]
fn kill_9_at_random_moments_loses_and_duplicates_nothing() {
    let t = Torture::from_env();
    let started = Instant::now();
    // Hundreds of acknowledgements within minutes: the global hourly flood cap (200 by default)
    // is lifted, since this test counts lost and duplicated mail, not the cap.
    let world = World::new(
        stack(),
        "kill-foi",
        "[acknowledgements]\nglobal_per_hour = 100000\n",
    );
    let who = requesters(&world, t.requests);
    let mut rng = Rng::new(t.seed);
    let feeder = feed(&world, &who, t.seed ^ 0x5eed);
    // Kills are spread over the requests: on average one per `requests / kills` new cases.
    let spread = (t.requests / t.kills.max(1)).max(2) as u64;
    for kill in 1..=t.kills {
        let from = world.log_len();
        let daemon = world.start();
        let target = 1 + rng.below(2 * spread) as usize;
        let since = || world.log_text().get(from..).unwrap_or("").to_string();
        wait_for(
            Duration::from_secs(120),
            &format!("progress before kill {kill}"),
            || {
                let since = since();
                let drained = feeder.is_finished()
                    && since.contains("\"connected\"")
                    && world.delivered(&world.user).is_empty();
                since.matches("\"new case\"").count() >= target || drained
            },
        );
        // A random moment at which no re-send is in flight: the process is frozen (SIGSTOP)
        // while its log is read, so nothing starts between the check and the kill.
        loop {
            std::thread::sleep(Duration::from_millis(rng.below(1000)));
            daemon.freeze();
            if resends_settled(&since()) {
                break;
            }
            daemon.signal("CONT");
            wait_for(
                Duration::from_secs(60),
                "the re-send to be recorded",
                || resends_settled(&since()),
            );
        }
        daemon.kill9();
        let log = world.log_text();
        let since = log.get(from..).unwrap_or("");
        eprintln!(
            "kill {kill}/{}: {:.1} s in, {} new cases and {} sends since its start",
            t.kills,
            started.elapsed().as_secs_f64(),
            since.matches("\"new case\"").count(),
            since.matches("\"outbox: sent\"").count(),
        );
    }
    feeder.join().expect("feeder");
    let daemon = world.start();
    let limit = Duration::from_secs(120) + Duration::from_millis(500) * t.requests as u32;
    let finished = wait_until(limit, || {
        world.delivered(&world.user).is_empty()
            && who.iter().all(|w| !world.delivered(w).is_empty())
    });
    // Give a late duplicate the time to show up before counting.
    std::thread::sleep(Duration::from_secs(2));
    let (status, _) = daemon.stop();
    let took = started.elapsed();
    let f = Figures::of(&world, &world.dir.path().join("data"), &who);
    eprintln!(
        "kill -9 torture: {} requests, {} kills, seed {}, {:.0} s: {f:?}",
        t.requests,
        t.kills,
        t.seed,
        took.as_secs_f64()
    );
    assert!(status.success(), "{}", world.log_text());
    assert!(finished, "not finished within {limit:?}: {f:?}");
    assert_eq!(f.lost, 0, "requests without a case: {f:?}");
    assert_eq!(f.duplicate_cases, 0, "{f:?}");
    assert!(f.extra_acks <= t.kills, "more extra acks than kills: {f:?}");
    assert_eq!(f.unacknowledged, 0, "{f:?}");
    assert_eq!(f.unfiled, 0, "{f:?}");
    assert_eq!(f.outbox_queued, 0, "{f:?}");
    assert_eq!(f.outbox_failed, 0, "{f:?}");
    assert_eq!(f.incomplete_audits, 0, "{f:?}");
}

/// A tmpfs mounted for one test and unmounted when dropped, also when the test fails (a lazy
/// unmount if the plain one is refused). Needs root, as the mail stack does.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(at).expect("mount point");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700")])
            .arg("foi-test-disk")
            .arg(at)
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "mount -t tmpfs at {} failed: this test needs root",
            at.display()
        );
        Tmpfs(at.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

/// Mounts a 16 MiB tmpfs at `world`'s `disk/` and moves its data directory there
/// (`disk/data`), leaving room beside it for a filler file.
fn data_on_tmpfs(world: &World) -> Tmpfs {
    let tmpfs = Tmpfs::mount(&world.dir.path().join("disk"), "16m");
    let cfg = std::fs::read_to_string(world.config()).expect("config");
    std::fs::write(
        world.config(),
        cfg.replace("data_dir = \"data\"", "data_dir = \"disk/data\""),
    )
    .expect("config");
    tmpfs
}

/// Writes zeros to `path` until the file system refuses (ENOSPC): in 1 MiB, then 4 KiB, then
/// single bytes, so not even a partial page is left. Returns the bytes written.
fn fill(path: &Path) -> u64 {
    let mut file = std::fs::File::create(path).expect("create filler");
    let mut written = 0u64;
    for size in [1 << 20, 4096, 1] {
        let chunk = vec![0u8; size];
        while let Ok(n @ 1..) = file.write(&chunk) {
            written += n as u64;
        }
    }
    written
}

/// The data directory fills up while the outbox sends. The daemon exits non-zero, and again each
/// time it is restarted on the still-full disk (systemd's `Restart=on-failure`), with no resend
/// loop: each requester gets the acknowledgement at most once more. Once space returns, one
/// more start finishes the work: every request has its case, its audit trail and its
/// acknowledgement, and no outbox row is left queued.
#[test]
fn a_full_disk_while_sending_stops_the_daemon_without_a_resend_loop_and_loses_nothing() {
    let world = World::new(stack(), "disk-foi", "");
    let tmpfs = data_on_tmpfs(&world);
    let disk = tmpfs.0.clone();
    let n = 40;
    let who = requesters(&world, n);
    let mail: Vec<Vec<u8>> = who
        .iter()
        .enumerate()
        .map(|(i, w)| foi_request(&format!("{w}@example.org"), i))
        .collect();
    let (first, later) = mail.split_at(n - 10);
    append_all(world.stack, &world.user, "INBOX", first);
    let acked = |w: &World| who.iter().filter(|r| !w.delivered(r).is_empty()).count();

    let mut daemon = world.start();
    wait_for(Duration::from_secs(60), "the outbox sending", || {
        acked(&world) >= 3
    });
    let filler = disk.join("filler");
    let filled = fill(&filler);
    // More mail arrives on the full disk.
    append_all(world.stack, &world.user, "INBOX", later);
    // The first stop, then systemd's restarts on the still-full disk (two here).
    let stops = 3;
    for start in 1..=stops {
        if start > 1 {
            daemon = world.start();
        }
        let status = daemon
            .wait_exit(Duration::from_secs(60))
            .unwrap_or_else(|| {
                panic!(
                    "start {start} on the full disk did not stop within 60 s:\n{}",
                    world.log_text()
                )
            });
        assert_eq!(status.code(), Some(2), "start {start} on the full disk");
    }
    let log = world.log_text();
    let errors: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("foi-triage: error:"))
        .collect();
    assert_eq!(errors.len(), stops, "{log}");
    assert!(
        errors.iter().all(|e| e.contains("No space left on device")),
        "every stop is the full disk's: {errors:#?}"
    );
    std::thread::sleep(Duration::from_secs(1));
    eprintln!(
        "full disk: filled {filled} bytes; {} of {n} acknowledged before space returned; \
         the stops said: {errors:#?}",
        acked(&world)
    );

    std::fs::remove_file(&filler).expect("space returns");
    let daemon = world.start();
    let finished = wait_until(Duration::from_secs(120), || {
        world.delivered(&world.user).is_empty() && acked(&world) == n
    });
    std::thread::sleep(Duration::from_secs(2));
    let (status, _) = daemon.stop();
    let f = Figures::of(&world, &disk.join("data"), &who);
    eprintln!("full disk, after space returned: {f:?}");
    assert!(status.success(), "{}", world.log_text());
    assert!(finished, "not finished after space returned: {f:?}");
    assert!(
        who.iter().all(|w| world.delivered(w).len() <= 2),
        "a requester got the acknowledgement more than once more: {f:?}"
    );
    assert!(
        f.extra_acks <= stops,
        "at most one send cut off per stop: {f:?}"
    );
    assert_eq!(f.lost, 0, "{f:?}");
    assert_eq!(f.duplicate_cases, 0, "{f:?}");
    assert_eq!(f.unacknowledged, 0, "{f:?}");
    assert_eq!(f.unfiled, 0, "{f:?}");
    assert_eq!(f.outbox_queued, 0, "{f:?}");
    assert_eq!(f.incomplete_audits, 0, "{f:?}");
}

/// The disk fills while the outbox has nothing to send, so intake is the first to write: its
/// failure stops the daemon too. sled refuses every later write of the process, so a daemon
/// that ran on would never record or file another message, even once space returned.
#[test]
fn a_full_disk_stops_the_daemon_also_when_intake_is_the_first_to_write() {
    let world = World::new(stack(), "disk-in", "");
    let tmpfs = data_on_tmpfs(&world);
    let who = requesters(&world, 2);
    let mail = |i: usize| foi_request(&format!("{}@example.org", who[i]), i);
    append_all(world.stack, &world.user, "INBOX", &[mail(0)]);
    let mut daemon = world.start();
    wait_for(Duration::from_secs(30), "the first acknowledgement", || {
        !world.delivered(&who[0]).is_empty()
    });
    // The outbox has recorded the send and gone idle.
    std::thread::sleep(Duration::from_secs(1));
    let filler = tmpfs.0.join("filler");
    fill(&filler);
    append_all(world.stack, &world.user, "INBOX", &[mail(1)]);
    let status = daemon
        .wait_exit(Duration::from_secs(60))
        .unwrap_or_else(|| panic!("still running on the full disk:\n{}", world.log_text()));
    assert_eq!(status.code(), Some(2));
    let log = world.log_text();
    assert!(
        log.contains("the case store cannot write") && log.contains("No space left on device"),
        "{log}"
    );
    assert!(
        world.delivered(&who[1]).is_empty(),
        "nothing recorded, nothing sent"
    );

    std::fs::remove_file(&filler).expect("space returns");
    let daemon = world.start();
    let finished = wait_until(Duration::from_secs(60), || {
        world.delivered(&world.user).is_empty() && !world.delivered(&who[1]).is_empty()
    });
    std::thread::sleep(Duration::from_secs(1));
    let (status, _) = daemon.stop();
    let f = Figures::of(&world, &tmpfs.0.join("data"), &who);
    assert!(status.success(), "{}", world.log_text());
    assert!(finished, "not finished after space returned: {f:?}");
    assert_eq!(f.lost, 0, "{f:?}");
    assert_eq!(f.duplicate_cases, 0, "{f:?}");
    assert_eq!(f.extra_acks, 0, "{f:?}");
    assert_eq!(f.unacknowledged, 0, "{f:?}");
    assert_eq!(f.unfiled, 0, "{f:?}");
    assert_eq!(f.outbox_queued, 0, "{f:?}");
    assert_eq!(f.incomplete_audits, 0, "{f:?}");
}
