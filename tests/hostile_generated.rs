//! The hostile messages too big or too odd to keep as files, made at test time and run through
//! the pure pipeline (parse → triage → the ingest planner, as in `fuzz/harness.rs`): a 70 MB
//! message (and a 60 MB one, under the parse limit), 10,000 nested multiparts, a 1 MB header, NUL
//! bytes and invalid UTF-8 everywhere. Each must end as a case, a follow-up, machine mail or a
//! quarantine with a note that says what was not read, never a panic, in bounded time and memory
//! (the peak heap of the thread that runs it, counted by the allocator below).

use crate::fuzz_harness::run_pipeline;
use foi_triage::core::parse::MAX_PARSE_BYTES;
use foi_triage::core::plan::ingest::{Handled, Plan};
use foi_triage::model::kind::Kind;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::{Duration, Instant};

/// The system allocator, counting the live and peak heap bytes of each thread (so tests running
/// beside one another do not mix their figures).
struct PerThreadPeak;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    // `try_with`: the allocator is also called while a thread's locals are torn down.
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every call is passed to `System` unchanged; only counters are added.
unsafe impl GlobalAlloc for PerThreadPeak {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        // SAFETY: the caller upholds `alloc`'s contract, which `System` shares.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize));
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size as isize - layout.size() as isize);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: PerThreadPeak = PerThreadPeak;

/// Runs `f`, returning its result, the time it took and the most heap it held at once beyond
/// what the thread held before (bytes).
fn measured<T>(f: impl FnOnce() -> T) -> (T, Duration, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let started = Instant::now();
    let out = f();
    let took = started.elapsed();
    let peak = PEAK.with(Cell::get) - base;
    (out, took, peak.max(0) as usize)
}

const MIB: usize = 1024 * 1024;

/// The headers every generated message shares: a member of the public writing to the shared
/// mailbox (our gateway's trace on top).
fn head(subject: &str) -> String {
    format!(
        "Received: from mail.example.org by mx.council.example.gov.uk; Tue, 10 Mar 2026 11:00:00 +0000\r\n\
         From: Jane Smith <jane@example.org>\r\n\
         To: foi@council.example.gov.uk\r\n\
         Subject: {subject}\r\n\
         Date: Tue, 10 Mar 2026 10:59:00 +0000\r\n\
         Message-ID: <hostile-{}@example.org>\r\n\
         MIME-Version: 1.0\r\n",
        subject.len()
    )
}

/// A request in words, so that every message is one a person would want a case for.
const REQUEST: &str = "Dear FOI team,\r\n\r\nUnder the Freedom of Information Act 2000 please \
    send me the number of parking fines issued in 2025.\r\n\r\nJane Smith\r\n1 High Street, Anytown\r\n";

/// A request with a 70 MB base64 attachment: over the parse limit.
fn huge_message() -> Vec<u8> {
    message_of(70 * MIB)
}

/// A request with a base64 attachment, `size` bytes in all.
fn message_of(size: usize) -> Vec<u8> {
    let mut raw = head("FOI request: parking fines (scans attached)").into_bytes();
    raw.extend_from_slice(
        b"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n",
    );
    raw.extend_from_slice(REQUEST.as_bytes());
    raw.extend_from_slice(
        b"--b\r\nContent-Type: application/octet-stream; name=\"scan.bin\"\r\n\
          Content-Transfer-Encoding: base64\r\n\r\n",
    );
    let line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n";
    while raw.len() < size {
        raw.extend_from_slice(line);
    }
    raw.extend_from_slice(b"--b--\r\n");
    raw
}

/// A request at the bottom of `depth` multiparts, each inside the one before.
fn nested_multiparts(depth: usize) -> Vec<u8> {
    let mut raw = head("FOI request: parking fines").into_bytes();
    raw.extend_from_slice(b"Content-Type: multipart/mixed; boundary=\"n0\"\r\n\r\n");
    for i in 0..depth {
        raw.extend_from_slice(
            format!(
                "--n{i}\r\nContent-Type: multipart/mixed; boundary=\"n{}\"\r\n\r\n",
                i + 1
            )
            .as_bytes(),
        );
    }
    raw.extend_from_slice(format!("--n{depth}\r\nContent-Type: text/plain\r\n\r\n").as_bytes());
    raw.extend_from_slice(REQUEST.as_bytes());
    for i in (0..=depth).rev() {
        raw.extend_from_slice(format!("--n{i}--\r\n").as_bytes());
    }
    raw
}

/// A request whose Subject is 1 MB, folded into 78-byte lines as a mailer would.
fn huge_header() -> Vec<u8> {
    let mut subject = String::from("FOI request");
    while subject.len() < MIB {
        subject
            .push_str("\r\n parking fines parking fines parking fines parking fines parking fine");
    }
    let mut raw = head(&subject).into_bytes();
    raw.extend_from_slice(b"Content-Type: text/plain\r\n\r\n");
    raw.extend_from_slice(REQUEST.as_bytes());
    raw
}

/// NUL bytes and invalid UTF-8 in the sender's name and address, the subject, another header,
/// the body and an attachment's file name.
fn nul_and_invalid_utf8() -> Vec<u8> {
    let mut raw = Vec::new();
    raw.extend_from_slice(
        b"Received: from mail.example.org by mx.council.example.gov.uk; Tue, 10 Mar 2026 11:00:00 +0000\r\n",
    );
    raw.extend_from_slice(b"From: \"Ja\0ne \xff\xfe Smith\" <ja\0ne\xc3\x28@exa\xffmple.org>\r\n");
    raw.extend_from_slice(b"To: foi@council.example.gov.uk, \"\x80\x81\" <\0@\0>\r\n");
    raw.extend_from_slice(b"Subject: FOI request\0 \xc0\xaf parking \xed\xa0\x80 fines\r\n");
    raw.extend_from_slice(b"Reply-To: \xff\xff\xff\r\n");
    raw.extend_from_slice(b"X-Odd: \0\0\0\xf5\xf6\xf7\r\n");
    raw.extend_from_slice(b"Date: Tue, 10 Mar 2026 10:59:00 +0000\r\n");
    raw.extend_from_slice(b"Message-ID: <nul\0\xff@example.org>\r\n");
    raw.extend_from_slice(
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\0x\"\r\n\r\n",
    );
    raw.extend_from_slice(b"--b\0x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
    raw.extend_from_slice(
        b"Dear FOI team,\0\r\n\xff\xfe Under the Freedom of Information Act \xc3\x28 please ",
    );
    raw.extend_from_slice(
        b"send me the number of parking fines issued in 2025.\r\n\0\0\0\r\nJane Smith\r\n",
    );
    raw.extend_from_slice(b"--b\0x\r\nContent-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document;\r\n");
    raw.extend_from_slice(b" name=\"le\0tter\xff\xfe.docx\"\r\nContent-Disposition: attachment; filename=\"le\0tter\xff.docx\"\r\n");
    raw.extend_from_slice(b"Content-Transfer-Encoding: base64\r\n\r\nUEsDBAAAAAA=\r\n--b\0x--\r\n");
    raw
}

/// What one generated message must come to.
struct Expect {
    /// Time budget (generous: a debug build, two cores shared with other work).
    time: Duration,
    /// Peak heap beyond the input itself.
    heap: usize,
    /// A check of the plan and the outcome's notes.
    check: fn(&foi_triage::core::triage::Outcome, &Plan),
}

/// Runs one generated message through the pipeline and checks it, printing its figures.
fn run_one(name: &str, raw: Vec<u8>, want: Expect) {
    let size = raw.len();
    let ((outcome, planned), took, heap) = measured(|| run_pipeline(&raw));
    eprintln!(
        "hostile {name}: {size} bytes, {took:.2?}, peak heap {:.1} MiB beyond the input, \
         kind {:?}, body {} bytes, warnings {:?}",
        heap as f64 / MIB as f64,
        outcome.kind(),
        outcome.message.body_text.len(),
        outcome.message.warnings.iter().take(3).collect::<Vec<_>>()
    );
    let plan = planned.unwrap_or_else(|e| panic!("{name}: not planned: {e}"));
    (want.check)(&outcome, &plan);
    assert!(took <= want.time, "{name}: took {took:?}");
    assert!(heap <= want.heap, "{name}: peak heap {heap} bytes");
}

/// The `received` audit event's notes of a new case.
fn notes(plan: &Plan) -> Vec<String> {
    plan.change
        .audit
        .iter()
        .find(|a| a.event.action == "received")
        .and_then(|a| a.event.detail.get("parse_notes"))
        .and_then(|n| n.as_array())
        .map(|n| {
            n.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_70_mb_message_becomes_a_case_with_its_sender_noted_as_not_read_in_bounded_memory() {
    run_one(
        "70 MB message",
        huge_message(),
        Expect {
            time: Duration::from_secs(60),
            heap: 16 * MIB,
            check: |o, plan| {
                assert!(o.message.raw_size > MAX_PARSE_BYTES);
                // Only the header block is read: the sender and subject are there, the body is
                // not, so the rules judge it on its subject alone.
                assert!(matches!(plan.action, Handled::NewCase(_)), "{plan:?}");
                let requester = &plan
                    .change
                    .new_case
                    .as_ref()
                    .expect("a case")
                    .draft
                    .requester;
                assert_eq!(requester.email, "jane@example.org", "the requester is kept");
                assert!(o.message.body_text.is_empty());
                let notes = notes(plan);
                assert!(
                    notes.iter().any(|n| n.contains("parse limit")),
                    "the case says the message was not read: {notes:?}"
                );
            },
        },
    );
}

#[test]
fn a_60_mb_message_under_the_parse_limit_is_read_in_bounded_memory() {
    run_one(
        "60 MB message",
        message_of(60 * MIB),
        Expect {
            time: Duration::from_secs(90),
            // The attachment decoded (¾ of its base64) and little else.
            heap: 96 * MIB,
            check: |o, plan| {
                assert_eq!(plan.action, Handled::NewCase(Kind::Foi), "{plan:?}");
                assert_eq!(o.message.attachments.len(), 1, "the attachment is listed");
            },
        },
    );
}

#[test]
fn ten_thousand_nested_multiparts_become_a_case() {
    run_one(
        "10,000 nested multiparts",
        nested_multiparts(10_000),
        Expect {
            time: Duration::from_secs(60),
            heap: 256 * MIB,
            check: |o, plan| {
                assert_eq!(plan.action, Handled::NewCase(Kind::Foi), "{plan:?}");
                assert!(
                    o.message.body_text.contains("parking fines issued in 2025"),
                    "the request at the bottom is read: {:?}",
                    o.message.body_text
                );
            },
        },
    );
}

#[test]
fn a_1_mb_header_becomes_a_case_with_its_value_cut() {
    run_one(
        "1 MB header",
        huge_header(),
        Expect {
            time: Duration::from_secs(30),
            heap: 64 * MIB,
            check: |o, plan| {
                assert_eq!(plan.action, Handled::NewCase(Kind::Foi), "{plan:?}");
                assert!(o.message.subject.len() <= foi_triage::core::parse::MAX_HEADER_VALUE_BYTES);
            },
        },
    );
}

#[test]
fn nul_bytes_and_invalid_utf8_everywhere_become_a_case() {
    run_one(
        "NUL bytes and invalid UTF-8",
        nul_and_invalid_utf8(),
        Expect {
            time: Duration::from_secs(10),
            heap: 16 * MIB,
            check: |o, plan| {
                assert_eq!(plan.action, Handled::NewCase(Kind::Foi), "{plan:?}");
                // A sender address with a NUL is no address: the case is made, nobody is
                // written to, and both are said.
                let from = o.message.from.as_ref().expect("a sender");
                assert_eq!(from.email, "", "{from:?}");
                assert!(o.message.reply_address().is_none());
                assert!(
                    notes(plan)
                        .iter()
                        .any(|n| n.contains("no readable address")),
                    "{:?}",
                    notes(plan)
                );
                let suppressed = plan
                    .change
                    .audit
                    .iter()
                    .find(|a| a.event.action == "acknowledgement_suppressed")
                    .expect("the acknowledgement is suppressed, and audited");
                assert!(suppressed.event.why.contains("no usable sender address"));
                assert!(!plan.queues_mail);
            },
        },
    );
}
