//! Backup and restore of a large store: export (the time the daemon's writers wait), the file's
//! size, the checked write to disk, restore, and `store verify`.
//!
//! Target (issue 12): measure export and restore time and size for 100,000 cases.
//!
//! `cargo bench --bench backup` builds a store of 100,000 cases the way intake leaves them (four
//! audit events, an acknowledgement and an assignment row in the outbox with the recipient index,
//! a 3 KB raw request, the cursor; a mark every 100 cases) through `Store::apply_unflushed`, then
//! measures. `FOI_BENCH_CASES=N` changes the size. Under `cargo test --all-targets` (no `--bench`)
//! it runs the same code on 200 cases so the bench cannot rot. Figures are printed, not asserted.

use chrono::{DateTime, Duration as Days, TimeZone, Utc};
use foi_triage::core::dedupe::dedupe_hash;
use foi_triage::io::store::{
    AuditAppend, CaseTarget, Change, Cursor, CursorUpdate, Mark, NewCase, NewOutboxRow, Store,
    backup,
};
use foi_triage::model::case::{AuditEvent, CaseDraft, CaseState, SYSTEM_ACTOR};
use foi_triage::model::kind::Kind;
use foi_triage::model::message::Address;
use serde_json::json;
use std::path::Path;
use std::time::Instant;

/// Cases per flush while building: the store's batch size for historical import.
const BATCH: usize = 1000;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap()
}

/// A plain-text request of about 3 KB, unique to `n`.
fn raw(n: usize) -> Vec<u8> {
    let mut body = format!(
        "From: Requester {n} <r{n}@example.org>\r\nTo: foi@council.example.gov.uk\r\n\
         Subject: Freedom of Information request {n}\r\nMessage-ID: <req-{n}@example.org>\r\n\
         Date: Mon, 5 Jan 2026 09:00:00 +0000\r\n\r\nDear Sir or Madam,\r\n\r\n"
    );
    while body.len() < 3000 {
        body.push_str("Under the Freedom of Information Act 2000 please provide the figures. ");
    }
    body.push_str(&format!("\r\nYours faithfully,\r\nRequester {n}\r\n"));
    body.into_bytes()
}

fn event(action: &str, at: DateTime<Utc>) -> AuditAppend {
    AuditAppend {
        case: CaseTarget::New,
        event: AuditEvent {
            at,
            actor: SYSTEM_ACTOR.into(),
            action: action.into(),
            detail: json!({ "rules": ["foi.act-named", "foi.asks-for-figures"], "size": 3000 }),
            why: "foi won with 125 (foi.act-named 25, foi.asks-for-information 25, \
                  foi.subject-names-foi 25, foi.asks-for-figures 20)"
                .into(),
        },
    }
}

fn row(at: DateTime<Utc>, to: &str, template: &str) -> NewOutboxRow {
    NewOutboxRow {
        case: Some(CaseTarget::New),
        created_at: at,
        payload: json!({ "job": "ack", "template": template, "to": to,
            "text": "Thank you for your request. ".repeat(20) }),
        next_attempt_at: at,
        recipient: Some(to.into()),
    }
}

fn case_change(n: usize) -> (Change, Vec<u8>) {
    let at = t0() + Days::minutes(n as i64);
    let raw = raw(n);
    let hash = dedupe_hash(&raw);
    let draft = CaseDraft {
        reference: (),
        kind: Kind::Foi,
        state: if n.is_multiple_of(3) {
            CaseState::Closed
        } else {
            CaseState::Open
        },
        received_at: at,
        requester: Address {
            name: Some(format!("Requester {n}")),
            email: format!("r{n}@example.org"),
        },
        subject: format!("Freedom of Information request {n}"),
        message_ids: vec![format!("req-{n}@example.org")],
        content_hashes: vec![hash],
        rules: vec!["foi.act-named".into(), "foi.asks-for-figures".into()],
        valid: Some(true),
        missing: vec![],
        due: Some((at + Days::days(28)).date_naive()),
        clock_events: Vec::new(),
        workflow: Default::default(),
        assignee: Some("alice@council.example.gov.uk".into()),
        team: Some("ig".into()),
        created_at: at,
        updated_at: at,
    };
    let mut change = Change {
        new_case: Some(NewCase {
            prefix: "FOI".into(),
            year: 2026,
            draft,
        }),
        audit: ["received", "classified", "validated", "due_computed"]
            .into_iter()
            .map(|a| event(a, at))
            .collect(),
        outbox_new: vec![
            row(at, &format!("r{n}@example.org"), "ack_foi"),
            row(at, "alice@council.example.gov.uk", "assignment"),
        ],
        cursor: Some(CursorUpdate {
            mailbox: "INBOX".into(),
            cursor: Cursor {
                uidvalidity: 1,
                last_uid: n as u32 + 1,
            },
        }),
        ..Change::default()
    };
    if n.is_multiple_of(100) {
        change.marks.push(Mark {
            key: format!("digest/team{n}"),
            value: json!(at),
        });
    }
    (change, raw)
}

fn build(dir: &Path, cases: usize) -> Store {
    let store = Store::open(dir).expect("open");
    for n in 0..cases {
        let (change, raw) = case_change(n);
        let hash = dedupe_hash(&raw);
        store.put_raw(&hash, &raw).expect("raw");
        store.apply_unflushed(change).expect("apply");
        if n % BATCH == BATCH - 1 {
            store.flush().expect("flush");
        }
    }
    store.flush().expect("flush");
    store
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    for e in std::fs::read_dir(dir).expect("read dir").flatten() {
        let meta = e.metadata().expect("stat");
        total += if meta.is_dir() {
            dir_bytes(&e.path())
        } else {
            meta.len()
        };
    }
    total
}

fn measure(cases: usize) {
    let tmp = tempfile::tempdir_in("/var/tmp").expect("tempdir");
    let data = tmp.path().join("data");
    let started = Instant::now();
    let store = build(&data, cases);
    println!(
        "backup bench: built {cases} cases in {:.1} s; store on disk {:.0} MB",
        started.elapsed().as_secs_f64(),
        mb(dir_bytes(&data))
    );

    let started = Instant::now();
    let summary = store
        .export(std::io::sink(), t0())
        .expect("export to nothing");
    let held = started.elapsed();
    println!(
        "export (writers wait this long in the daemon): {:.2} s for {} records = {:.0} MB",
        held.as_secs_f64(),
        summary.trailer.records,
        mb(summary.bytes)
    );

    let file = tmp.path().join("backup.jsonl");
    let started = Instant::now();
    backup::write_file(&file, |out| {
        store.export(out, t0()).map(drop).map_err(|e| e.to_string())
    })
    .expect("write");
    println!(
        "export to a file, fsynced, read back and checked: {:.2} s, {:.0} MB ({:.0} bytes per case)",
        started.elapsed().as_secs_f64(),
        mb(summary.bytes),
        summary.bytes as f64 / cases as f64
    );

    let started = Instant::now();
    let report = store.verify().expect("verify");
    assert!(report.is_clean(), "{}", report.text());
    println!(
        "store verify: {:.2} s (writers wait this long in the daemon too)",
        started.elapsed().as_secs_f64()
    );
    drop(store);

    let restored = tmp.path().join("restored");
    let started = Instant::now();
    backup::restore(&file, &restored).expect("restore");
    println!(
        "restore (check the file, write, flush, open): {:.2} s; restored store on disk {:.0} MB",
        started.elapsed().as_secs_f64(),
        mb(dir_bytes(&restored))
    );
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let cases = match std::env::var("FOI_BENCH_CASES") {
        Ok(n) => n.parse().expect("FOI_BENCH_CASES is a number"),
        Err(_) if full => 100_000,
        Err(_) => 200,
    };
    measure(cases);
}
