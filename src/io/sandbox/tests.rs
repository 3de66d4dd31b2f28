//! The parent's side against stand-in children: small shell scripts that behave like a decoder
//! that answers, refuses, crashes, hangs or floods. The real worker is tested with the real
//! binary in `tests/sandbox.rs`.

use super::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// A stand-in decoder: an executable `/bin/sh` script in `dir`. The environment is cleared, so
/// scripts name their tools by absolute path.
fn script(dir: &Path, name: &str, body: &str) -> Sandbox {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    Sandbox::new(path).with_limits(Limits {
        memory_bytes: 64 * 1024 * 1024,
        cpu: Duration::from_millis(1500),
        wall: Duration::from_millis(700),
    })
}

#[test]
fn an_answer_is_the_text_and_the_child_gets_a_bare_environment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = script(
        dir.path(),
        "echo",
        r#"n=$(/bin/cat | /usr/bin/wc -c)
printf '%s|%s|%s|%s' "$*" "$n" "$(/bin/pwd)" "${HOME-no home}""#,
    );
    let got = s.decode(DocFormat::Docx, &[b'x'; 100_000]).expect("answer");
    assert_eq!(
        got,
        "decode-worker --format docx --memory-mib 64 --cpu-ms 1500|100000|/|no home"
    );
}

#[test]
fn each_way_of_failing_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: &[(&str, &str, SandboxError)] = &[
        (
            "refuses",
            "printf 'PDF unreadable: no trailer\\n'; exit 65",
            SandboxError::Refused {
                reason: "PDF unreadable: no trailer".to_owned(),
            },
        ),
        ("memory", "exit 66", SandboxError::Memory { limit_mib: 64 }),
        (
            "cpu",
            "kill -PROF $$",
            SandboxError::Cpu {
                limit: Duration::from_millis(1500),
            },
        ),
        (
            "aborts",
            "kill -ABRT $$",
            SandboxError::Crashed {
                signal: "signal 6: SIGABRT, e.g. a stack overflow".to_owned(),
            },
        ),
        ("exits", "exit 3", SandboxError::Exited { code: 3 }),
        (
            "not-utf8",
            "printf '\\377'",
            SandboxError::Garbage {
                why: "not UTF-8".to_owned(),
            },
        ),
    ];
    for (name, body, want) in cases {
        let got = script(dir.path(), name, body).decode(DocFormat::Pdf, b"%PDF-1.4");
        assert_eq!(got.as_ref(), Err(want), "{name}");
    }
    let missing = Sandbox::new(dir.path().join("no-such-program")).decode(DocFormat::Pdf, b"x");
    assert!(
        matches!(missing, Err(SandboxError::Spawn { .. })),
        "{missing:?}"
    );
}

#[test]
fn a_late_child_and_everything_it_started_are_killed_at_the_wall_clock_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pids = dir.path().join("pids");
    // A child that hangs, and one that exits at once but leaves a grandchild holding stdout.
    let hangs = script(dir.path(), "hangs", "/bin/sleep 30");
    let body = format!(
        "/bin/sleep 30 &\necho $! > {}\nexit 0",
        pids.to_str().expect("utf-8 temp path")
    );
    let leaves = script(dir.path(), "leaves", &body);
    for s in [hangs, leaves] {
        let start = Instant::now();
        let got = s.decode(DocFormat::Pdf, b"x");
        assert_eq!(
            got,
            Err(SandboxError::Late {
                limit: Duration::from_millis(700)
            })
        );
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
    }
    // The grandchild was in the child's group, so it died with it.
    let grandchild: i32 = std::fs::read_to_string(&pids)
        .expect("pid written")
        .trim()
        .parse()
        .expect("a pid");
    let deadline = Instant::now() + Duration::from_secs(5);
    while Path::new(&format!("/proc/{grandchild}")).exists()
        && std::fs::read_to_string(format!("/proc/{grandchild}/stat"))
            .is_ok_and(|s| !s.contains(") Z "))
    {
        assert!(
            Instant::now() < deadline,
            "grandchild {grandchild} lives on"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_flood_is_cut_off_at_once_and_a_child_that_ignores_its_input_is_fine() {
    let dir = tempfile::tempdir().expect("tempdir");
    let flood = script(
        dir.path(),
        "flood",
        "exec /usr/bin/head -c 5000000 /dev/zero",
    );
    let start = Instant::now();
    let got = flood.decode(DocFormat::Pdf, b"x");
    assert_eq!(
        got,
        Err(SandboxError::Garbage {
            why: format!("more than {MAX_ANSWER_BYTES} bytes")
        })
    );
    // Killed on the spot, not left to reach the wall-clock limit.
    assert!(
        start.elapsed() < Duration::from_millis(600),
        "{:?}",
        start.elapsed()
    );
    // 4 MB sent to a child that never reads it: the write fails quietly, the answer stands.
    let deaf = script(dir.path(), "deaf", "printf 'short answer'");
    let got = deaf.decode(DocFormat::Rtf, &vec![b'{'; 4 * 1024 * 1024]);
    assert_eq!(got, Ok("short answer".to_owned()));
}

#[test]
fn as_a_reader_every_failure_is_not_readable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = script(dir.path(), "aborts", "kill -ABRT $$");
    let got = AttachmentReader::read(&s, DocFormat::Odt, b"PK");
    assert_eq!(
        got,
        Err(ExtractError::NotReadable {
            format: DocFormat::Odt,
            reason: "the decoder crashed (signal 6: SIGABRT, e.g. a stack overflow)".to_owned()
        })
    );
}

#[test]
fn the_allocator_counts_what_is_in_use() {
    // Called directly: this test program's own allocator is the system one, so only this test
    // moves the count.
    let layout = |size| Layout::from_size_align(size, 8).expect("layout");
    let before = CappedAlloc::in_use();
    // SAFETY: valid layouts; each block is passed back with the layout it has at that time.
    unsafe {
        let p = CappedAlloc.alloc(layout(1000));
        assert!(!p.is_null());
        assert_eq!(CappedAlloc::in_use(), before + 1000);
        let p = CappedAlloc.realloc(p, layout(1000), 3000);
        assert!(!p.is_null());
        assert_eq!(CappedAlloc::in_use(), before + 3000);
        let p = CappedAlloc.realloc(p, layout(3000), 10);
        assert!(!p.is_null());
        assert_eq!(CappedAlloc::in_use(), before + 10);
        CappedAlloc.dealloc(p, layout(10));
        let z = CappedAlloc.alloc_zeroed(layout(64));
        assert!(std::slice::from_raw_parts(z, 64).iter().all(|&b| b == 0));
        CappedAlloc.dealloc(z, layout(64));
    }
    assert_eq!(CappedAlloc::in_use(), before);
}

#[test]
fn the_worker_refuses_to_run_without_its_memory_cap() {
    // This test program does not use `CappedAlloc`, so the cap could not hold.
    let limits = WorkerLimits {
        memory_mib: 1,
        cpu_ms: 1,
    };
    assert_eq!(worker(DocFormat::Pdf, limits), EXIT_NO_CAP);
}
