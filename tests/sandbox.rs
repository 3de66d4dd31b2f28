//! Hostile attachments through the real pipeline with the real decoder child
//! (`foi-triage decode-worker`, `io::sandbox`): the samples in `tests/data/hostile/` whose
//! planner is `attachment`, each limit of the child, and `classify` over them as a process.

use crate::support::{self, run, stderr, stdout};
use foi_triage::core::extract::{AttachmentReader, DocFormat};
use foi_triage::core::followup::NoThreads;
use foi_triage::core::rules::RuleSet;
use foi_triage::core::triage::{Context, triage};
use foi_triage::io::sandbox::{Limits, SandboxError, WALL_LIMIT};
use foi_triage::model::kind::Kind;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One `attachment` entry of `tests/data/hostile/expected.toml`.
struct Sample {
    file: String,
    warning: String,
}

/// The hostile attachment samples, from `expected.toml`.
fn samples() -> Vec<Sample> {
    let text = std::fs::read_to_string(support::repo("tests/data/hostile/expected.toml"))
        .expect("read expected.toml");
    let table: BTreeMap<String, toml::Table> = toml::from_str(&text).expect("parse expected.toml");
    let samples: Vec<Sample> = table
        .into_iter()
        .filter(|(_, t)| t.get("planner").and_then(|p| p.as_str()) == Some("attachment"))
        .map(|(file, t)| Sample {
            warning: t["warning"].as_str().expect("warning").to_owned(),
            file,
        })
        .collect();
    let names: Vec<&str> = samples.iter().map(|s| s.file.as_str()).collect();
    for want in [
        "self-drawing-pdf.eml",
        "flate-bomb-pdf.eml",
        "docx-zip-bomb.eml",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    samples
}

fn hostile(file: &str) -> PathBuf {
    support::repo("tests/data/hostile").join(file)
}

/// A benign request with a one-page PDF letter attached.
const BENIGN: &str = "tests/data/samples/foi-011-letter-pdf-attached.eml";

fn context() -> Context {
    Context::standalone(RuleSet::load(&support::repo("rules")).expect("default rules load"))
}

/// The first attachment's bytes, as the parser decodes them.
fn attachment_bytes(file: &str) -> Vec<u8> {
    let raw = std::fs::read(hostile(file)).expect("read sample");
    let message = mail_parser::MessageParser::default()
        .parse(&raw)
        .expect("a MIME message");
    message
        .attachment(0)
        .expect("an attachment")
        .contents()
        .to_vec()
}

#[test]
fn hostile_attachments_are_not_readable_and_the_next_message_is_read() {
    let ctx = context();
    let reader = support::sandbox();
    let benign = std::fs::read(support::repo(BENIGN)).expect("benign sample");
    for sample in samples() {
        let raw = std::fs::read(hostile(&sample.file)).expect("read sample");
        let start = Instant::now();
        let o = triage(&ctx, &raw, None, &NoThreads, &reader);
        let took = start.elapsed();
        let name = &sample.file;
        // The message itself is read and triaged as the request it is.
        assert_eq!(o.message.subject, "Request", "{name}");
        assert!(
            o.message
                .body_text
                .contains("Freedom of Information Act 2000"),
            "{name}"
        );
        assert_eq!(o.kind(), Kind::Foi, "{name}: {}", o.decision.why);
        assert!(o.validity.as_ref().is_some_and(|v| v.valid), "{name}");
        // The attachment is listed, without text, with the note.
        assert_eq!(o.message.attachments.len(), 1, "{name}");
        assert_eq!(o.message.attachments[0].text, None, "{name}");
        assert!(
            o.message
                .warnings
                .iter()
                .any(|w| w.starts_with(&sample.warning)),
            "{name}: want {:?} in {:?}",
            sample.warning,
            o.message.warnings
        );
        assert!(
            took < WALL_LIMIT + Duration::from_secs(5),
            "{name} took {took:?}"
        );
        eprintln!("{name}: {took:?}: {:?}", o.message.warnings);
        // The next message is read normally by the same reader.
        let o = triage(&ctx, &benign, None, &NoThreads, &reader);
        assert!(o.message.warnings.is_empty(), "{:?}", o.message.warnings);
        let letter = o.message.attachments[0].text.as_deref().unwrap_or_default();
        assert!(letter.contains("Dear Sir or Madam"), "{letter:?}");
        assert_eq!(o.kind(), Kind::Foi);
    }
}

#[test]
fn each_limit_of_the_child_holds() {
    let bomb = attachment_bytes("flate-bomb-pdf.eml");
    let limits = |memory_mib: usize, cpu_ms: u64, wall_ms: u64| Limits {
        memory_bytes: memory_mib * 1024 * 1024,
        cpu: Duration::from_millis(cpu_ms),
        wall: Duration::from_millis(wall_ms),
    };
    let child = |l| support::sandbox().with_limits(l);
    // Memory: a small cap is reached long before the CPU or wall-clock limits.
    let got = child(limits(32, 60_000, 60_000)).decode(DocFormat::Pdf, &bomb);
    assert_eq!(got, Err(SandboxError::Memory { limit_mib: 32 }));
    // CPU: inflating hundreds of MiB takes far more than 200 ms.
    let got = child(limits(512, 200, 60_000)).decode(DocFormat::Pdf, &bomb);
    assert_eq!(
        got,
        Err(SandboxError::Cpu {
            limit: Duration::from_millis(200)
        })
    );
    // Wall clock: killed by the parent, on time.
    let start = Instant::now();
    let got = child(limits(512, 60_000, 300)).decode(DocFormat::Pdf, &bomb);
    assert_eq!(
        got,
        Err(SandboxError::Late {
            limit: Duration::from_millis(300)
        })
    );
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    // Recursion without end: the stack overflows and the child aborts.
    let got = support::sandbox().decode(DocFormat::Pdf, &attachment_bytes("self-drawing-pdf.eml"));
    assert!(
        matches!(&got, Err(SandboxError::Crashed { signal }) if signal.starts_with("signal 6:")),
        "{got:?}"
    );
    // A zip bomb: the decoder itself refuses it, with its reason.
    let got = support::sandbox().decode(DocFormat::Docx, &attachment_bytes("docx-zip-bomb.eml"));
    assert!(
        matches!(&got, Err(SandboxError::Refused { reason }) if reason.starts_with("DOCX ")),
        "{got:?}"
    );
    // A benign letter under the default limits, and through the reader seam.
    let letter = std::fs::read(support::repo("tests/data/parse/letter.pdf")).expect("letter");
    let text = AttachmentReader::read(&support::sandbox(), DocFormat::Pdf, &letter).expect("reads");
    assert!(text.contains("Jane Smith"), "{text:?}");
}

/// Peak resident memory (VmHWM, KiB) of a running process, if it can still be read.
fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn classify_reads_every_hostile_sample_and_stays_small() {
    let mut files: Vec<String> = samples()
        .iter()
        .map(|s| hostile(&s.file).display().to_string())
        .collect();
    files.push(BENIGN.to_owned());
    let mut child = Command::new(env!("CARGO_BIN_EXE_foi-triage"))
        .args(["classify", "--format", "json"])
        .args(&files)
        .current_dir(support::root())
        .env_remove("FOI_TRIAGE_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start classify");
    // Its own peak memory, watched while it runs (a decoder child's memory is its own).
    let mut peak = 0;
    while child.try_wait().expect("wait").is_none() {
        peak = peak.max(peak_kib(child.id()).unwrap_or(0));
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().expect("classify output");
    assert!(out.status.success(), "{:?}: {}", out.status, stderr(&out));
    eprintln!("classify: peak resident memory {} MiB", peak / 1024);
    assert!(peak > 0, "peak memory never read");
    // The flate bomb alone would take gigabytes in process; the decoder child stops at 512 MiB.
    assert!(peak < 160 * 1024, "classify peaked at {peak} KiB");
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), files.len());
    for (line, sample) in lines.iter().zip(samples()) {
        assert_eq!(line["kind"], "foi", "{line}");
        let warnings = line["warnings"].as_array().expect("warnings");
        assert!(
            warnings
                .iter()
                .any(|w| w.as_str().is_some_and(|w| w.starts_with(&sample.warning))),
            "{line}"
        );
    }
    let benign = &lines[files.len() - 1];
    assert_eq!(benign["kind"], "foi");
    assert_eq!(benign["warnings"], serde_json::json!([]));
}

#[test]
fn classify_on_the_self_drawing_pdf_exits_zero() {
    let file = hostile("self-drawing-pdf.eml").display().to_string();
    let o = run(&["classify", &file]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("foi valid"), "{}", stdout(&o));
    // The failure is logged for the operator, without the file's name or content.
    assert!(
        stderr(&o).contains("attachment decoder failed"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_worker_is_hidden_from_people() {
    let o = run(&["--help"]);
    assert!(o.status.success());
    assert!(!stdout(&o).contains("decode-worker"), "{}", stdout(&o));
    // Run by hand it still works: a document on stdin, its text on stdout.
    let mut child = Command::new(env!("CARGO_BIN_EXE_foi-triage"))
        .args(["decode-worker", "--format", "rtf"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start worker");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(br"{\rtf1 Dear Sir,\par Yours faithfully}")
        .expect("write");
    let out = child.wait_with_output().expect("worker output");
    assert!(out.status.success());
    assert_eq!(stdout(&out), "Dear Sir,\nYours faithfully");
}

/// Every syscall a group (or a single name) of `systemd-analyze syscall-filter` stands for.
fn expand(name: &str, groups: &BTreeMap<String, Vec<String>>, out: &mut BTreeSet<String>) {
    match groups.get(name) {
        Some(members) => {
            for m in members {
                expand(m, groups, out);
            }
        }
        None => {
            out.insert(name.to_owned());
        }
    }
}

/// The syscalls the shipped unit's `SystemCallFilter=` lines allow: the union of the allow lists
/// minus the union of the `~` deny lists, groups expanded by this machine's systemd.
fn allowed_by_the_unit() -> BTreeSet<String> {
    let o = Command::new("systemd-analyze")
        .arg("syscall-filter")
        .output()
        .expect("systemd-analyze (package systemd; scripts/install-deps.sh installs it)");
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = None;
    for line in String::from_utf8_lossy(&o.stdout).lines() {
        let entry = line.trim();
        if line.starts_with('@') {
            current = Some(entry.to_owned());
        } else if entry.is_empty() || entry.starts_with('#') || !line.starts_with(' ') {
            continue;
        } else if let Some(g) = &current {
            groups.entry(g.clone()).or_default().push(entry.to_owned());
        }
    }
    assert!(groups.contains_key("@system-service"), "no groups read");
    let unit = std::fs::read_to_string(support::repo("systemd/foi-triage.service")).expect("unit");
    let (mut allow, mut deny) = (BTreeSet::new(), BTreeSet::new());
    for value in unit
        .lines()
        .filter_map(|l| l.strip_prefix("SystemCallFilter="))
    {
        let (set, names) = match value.strip_prefix('~') {
            Some(rest) => (&mut deny, rest),
            None => (&mut allow, value),
        };
        for name in names.split_whitespace() {
            expand(name, &groups, set);
        }
    }
    assert!(
        !allow.is_empty() && !deny.is_empty(),
        "filter lines not found"
    );
    allow.difference(&deny).cloned().collect()
}

/// The unit's seccomp filter kills a process on any syscall it does not allow, so everything the
/// daemon's side and the decoder child call must be allowed: traced over `classify` on every
/// hostile sample and a benign letter (the child's crash, memory and refusal paths and the
/// parent's spawn, pipes and reaping). The parent's late path adds `kill` (`killpg`) to what
/// the trace shows.
#[test]
fn the_decoder_and_its_parent_call_only_what_the_units_filter_allows() {
    let allowed = allowed_by_the_unit();
    let dir = tempfile::tempdir().expect("tempdir");
    let trace = dir.path().join("trace");
    let mut files: Vec<String> = samples()
        .iter()
        .map(|s| hostile(&s.file).display().to_string())
        .collect();
    files.push(BENIGN.to_owned());
    let o = Command::new("strace")
        .args(["-f", "-qq", "-o"])
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_foi-triage"))
        .args(["classify", "--format", "json"])
        .args(&files)
        .current_dir(support::root())
        .output()
        .expect("strace (scripts/install-deps.sh installs it)");
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&trace).expect("trace");
    let mut used = BTreeSet::new();
    for line in text.lines() {
        let call = line
            .split_once(' ')
            .map_or("", |(_, rest)| rest.trim_start());
        let call = call.strip_prefix("<... ").unwrap_or(call);
        let name: String = call
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() && !name.starts_with("exited") && !name.starts_with("killed") {
            used.insert(name);
        }
    }
    used.insert("kill".to_owned());
    for needed in [
        "setitimer",
        "setpgid",
        "wait4",
        "execve",
        "pipe2",
        "chdir",
        "rt_sigaction",
    ] {
        assert!(used.contains(needed), "{needed} not traced: {used:?}");
    }
    let forbidden: Vec<&String> = used.difference(&allowed).collect();
    assert!(
        forbidden.is_empty(),
        "the unit's filter would kill the process on {forbidden:?}"
    );
}
