//! The daemon against the real mail stack: latency, backlog throughput, idle memory.
//!
//! Targets (issue 3):
//! - APPEND → acknowledgement delivered, with IDLE: p50 < 1 s, p99 < 2 s.
//! - Historical import of 10,000 waiting messages into durable cases: ≥ 1,000 messages/s.
//! - Daemon RSS while idle: < 50 MB.
//!
//! `cargo bench --bench daemon` measures (release build; starts its own stack in
//! /var/tmp/foi-bench-stack on port base 27000, as `scripts/mailstack.sh` does for tests). Under
//! `cargo test --all-targets` (no `--bench` argument) it runs a small smoke version of each
//! measurement so the bench cannot rot. Figures are printed, not asserted: targets live here, not
//! in timed tests.

#[path = "../tests/support/mod.rs"]
mod support;

use foi_triage::io::mail::imap::ImapClient;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use support::mail::{foi_request as request, imap_settings as settings, write_daemon_config};
use support::stack::{self, Stack};

static STACK: OnceLock<Result<Stack, String>> = OnceLock::new();

fn stack() -> &'static Stack {
    stack::get(&STACK, "/var/tmp/foi-bench-stack", "27000")
}

/// The tests' daemon config, with a loop breaker loose enough for a backlog from one sender.
fn write_config(dir: &Path, user: &str, stack: &Stack) -> PathBuf {
    write_daemon_config(
        dir,
        stack,
        user,
        "[acknowledgements]\nper_address_per_day = 1000\nglobal_per_hour = 100000\n",
    )
}

fn delivered(stack: &Stack, user: &str) -> usize {
    stack.delivered(user).len()
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .status();
        let _ = self.0.wait();
    }
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// APPEND one request at a time; time until its acknowledgement is in the requester's Maildir.
fn latency(samples: usize) {
    let stack = stack();
    let dir = tempfile::tempdir().expect("tempdir");
    let user = format!("lat-{}", support::mail::run_tag());
    let config = write_config(dir.path(), &user, stack);
    let log = std::fs::File::create(dir.path().join("daemon.log")).expect("log");
    let child = Command::new(env!("CARGO_BIN_EXE_foi-triage"))
        .args(["run", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("daemon");
    let daemon = Daemon(child);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut client = rt
        .block_on(ImapClient::connect(&settings(stack, &user)))
        .expect("connect");
    // Let the daemon connect and enter IDLE.
    std::thread::sleep(Duration::from_secs(2));
    let mut times = Vec::with_capacity(samples);
    for n in 0..samples {
        let requester = format!("{user}-r{n}");
        let raw = request(&format!("{requester}@example.org"), n);
        let start = Instant::now();
        rt.block_on(client.append("INBOX", &raw, &[]))
            .expect("append");
        while delivered(stack, &requester) == 0 {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "no acknowledgement within 30 s"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        times.push(start.elapsed());
    }
    let idle_wait = Duration::from_secs(if samples > 10 { 10 } else { 3 });
    std::thread::sleep(idle_wait);
    let rss = rss_kib(daemon.0.id());
    drop(daemon);
    times.sort();
    println!(
        "latency APPEND -> acknowledgement delivered (IDLE), {} samples: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms (targets: p50 < 1000 ms, p99 < 2000 ms)",
        times.len(),
        percentile(&times, 0.5).as_secs_f64() * 1000.0,
        percentile(&times, 0.99).as_secs_f64() * 1000.0,
        times.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
    );
    match rss {
        Some(kib) => println!(
            "daemon RSS while idle (after {} requests, {idle_wait:?} idle): {:.1} MB (target < 50 MB)",
            times.len(),
            kib as f64 / 1024.0
        ),
        None => println!("daemon RSS: /proc not readable"),
    }
}

/// Drops `n` messages straight into a Maildir folder (Dovecot picks them up), then times
/// `foi-triage import` over it.
fn backlog(n: usize) {
    let stack = stack();
    let dir = tempfile::tempdir().expect("tempdir");
    let user = format!("imp-{}", support::mail::run_tag());
    let config = write_config(dir.path(), &user, stack);
    // Create the user's Maildir and the folder through IMAP, then fill it on disk.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut c = ImapClient::connect(&settings(stack, &user))
            .await
            .expect("connect");
        c.append("Backlog", &request("seed@example.org", 0), &[])
            .await
            .expect("append");
        let _ = c.logout().await;
    });
    let folder = Path::new(&stack.var("MAILSTACK_MAILDIR"))
        .join(&user)
        .join(".Backlog/new");
    let started = Instant::now();
    for i in 1..n {
        let raw = request(&format!("{user}-r{i}@example.org"), i);
        std::fs::write(folder.join(format!("{i}.bench:2,")), raw).expect("write mail");
    }
    let filled = started.elapsed();
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_foi-triage"))
        .args(["import", "--mailbox", "Backlog", "--config"])
        .arg(&config)
        .output()
        .expect("import");
    let took = started.elapsed();
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && summary.contains(&format!("imported {n} messages: {n} new cases")),
        "import failed: {summary}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!(
        "backlog import: {n} messages in {:.2} s = {:.0} messages/s into durable cases (target >= 1,000/s; Maildir filled in {:.2} s)",
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64(),
        filled.as_secs_f64()
    );
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    // FOI_BENCH=latency|import runs one of the two.
    let only = std::env::var("FOI_BENCH").unwrap_or_default();
    if full {
        if only != "import" {
            latency(200);
        }
        if only != "latency" {
            backlog(10_000);
        }
    } else {
        // Smoke run under `cargo test`: the same code paths, small numbers.
        latency(3);
        backlog(50);
    }
}
