//! `store verify` on a store filled as the daemon fills it, then broken on purpose one way at a
//! time, behind the store's back.

use super::*;
use crate::io::store::fixture::{fill, raw, t};
use crate::io::store::{CaseRef, Change, Mark};
use crate::model::records::Cursor;

fn filled() -> (Store, Vec<CaseRef>) {
    let store = Store::open_temporary().expect("store");
    let refs = fill(&store);
    (store, refs)
}

fn key(r: &CaseRef) -> Vec<u8> {
    keys::case_key(r)
}

fn lines(report: &Report) -> Vec<String> {
    report.problems.iter().map(|p| p.to_string()).collect()
}

#[test]
fn a_store_written_by_the_store_is_clean() {
    let (store, _) = filled();
    let report = store.verify().expect("verifies");
    assert!(report.is_clean(), "{}", report.text());
    assert!(
        report.text().starts_with("store verify: OK: "),
        "{}",
        report.text()
    );
    assert_eq!(report.counts["cases"], 3);
    assert!(
        Store::open_temporary()
            .expect("empty")
            .verify()
            .expect("verifies")
            .is_clean()
    );
}

/// One way to break the store, and the problem (tree, key, words) it must show.
struct Break {
    what: &'static str,
    tree: &'static str,
    key: String,
    says: &'static str,
    apply: fn(&Store, &[CaseRef]),
}

fn breaks() -> Vec<Break> {
    vec![
        Break {
            what: "a Message-ID index entry deleted",
            tree: "idx_msgid",
            key: "m2@example.org".into(),
            says: "a case lists it but the index does not",
            apply: |s, _| {
                s.idx_msgid.remove("m2@example.org").expect("remove");
            },
        },
        Break {
            what: "a dangling due-index entry added",
            tree: "idx_due",
            key: "2026-04-01\\x00FOI-2026-0000000099".into(),
            says: "dangling index entry",
            apply: |s, _| {
                s.idx_due
                    .insert("2026-04-01\0FOI-2026-0000000099", &[] as &[u8])
                    .expect("insert");
            },
        },
        Break {
            what: "a closed case left in the due index",
            tree: "idx_due",
            key: "2026-03-30\\x00FOI-2026-0000000002".into(),
            says: "dangling index entry",
            apply: |s, r| {
                s.idx_due
                    .insert(
                        keys::due_key(
                            chrono::NaiveDate::from_ymd_opt(2026, 3, 30).expect("date"),
                            &r[1],
                        ),
                        &[] as &[u8],
                    )
                    .expect("insert");
            },
        },
        Break {
            what: "an open case's due entry deleted",
            tree: "idx_due",
            key: "2026-03-30\\x00SAR-2026-0000000001".into(),
            says: "due date is missing from the index",
            apply: |s, r| {
                s.idx_due
                    .remove(keys::due_key(
                        chrono::NaiveDate::from_ymd_opt(2026, 3, 30).expect("date"),
                        &r[2],
                    ))
                    .expect("remove");
            },
        },
        Break {
            what: "a requester entry deleted",
            tree: "idx_requester",
            key: "r1@example.org\\x00FOI-2026-0000000001".into(),
            says: "requester is missing",
            apply: |s, r| {
                s.idx_requester
                    .remove(keys::requester_key("r1@example.org", &r[0]))
                    .expect("remove");
            },
        },
        Break {
            what: "a content hash pointed at another case",
            tree: "idx_hash",
            key: crate::core::dedupe::dedupe_hash(&raw(1)),
            says: "one message in two cases",
            apply: |s, r| {
                let h = crate::core::dedupe::dedupe_hash(&raw(1));
                s.idx_hash.insert(h, key(&r[1])).expect("insert");
            },
        },
        Break {
            what: "an audit event lost in the middle",
            tree: "audit",
            key: "FOI-2026-0000000001\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02".into(),
            says: "a gap",
            apply: |s, r| {
                s.audit.remove(keys::audit_key(&r[0], 1)).expect("remove");
                s.audit
                    .insert(
                        keys::audit_key(&r[0], 2),
                        s.audit
                            .get(keys::audit_key(&r[0], 0))
                            .expect("read")
                            .expect("event"),
                    )
                    .expect("insert");
            },
        },
        Break {
            what: "a case with no audit trail",
            tree: "cases",
            key: "SAR-2026-0000000001".into(),
            says: "no audit event",
            apply: |s, r| {
                for n in 0..2 {
                    s.audit.remove(keys::audit_key(&r[2], n)).expect("remove");
                }
            },
        },
        Break {
            what: "an audit counter behind its events",
            tree: "sequences",
            key: "audit\\x00FOI-2026-0000000002".into(),
            says: "the counter is 1 but the case has 2 events",
            apply: |s, r| {
                s.sequences
                    .insert(keys::seq_audit_key(&r[1]), &1u64.to_be_bytes())
                    .expect("insert");
            },
        },
        Break {
            what: "a reference counter behind its cases",
            tree: "sequences",
            key: "case\\x00FOI\\x002026".into(),
            says: "behind the case numbered 2",
            apply: |s, _| {
                s.sequences
                    .insert(keys::seq_case_key("FOI", 2026), &1u64.to_be_bytes())
                    .expect("insert");
            },
        },
        Break {
            what: "an outbox row about a case that is gone",
            tree: "outbox",
            key: "\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x03".into(),
            says: "which does not exist",
            apply: |s, r| {
                let mut row: OutboxRow = serde_json::from_slice(
                    &s.outbox
                        .get(keys::outbox_key(3))
                        .expect("read")
                        .expect("row"),
                )
                .expect("decodes");
                row.case = Some(CaseRef::new(r[2].prefix(), 2026, 77).expect("ref"));
                s.outbox
                    .insert(
                        keys::outbox_key(3),
                        serde_json::to_vec(&row).expect("encode"),
                    )
                    .expect("insert");
            },
        },
        Break {
            what: "a queued row missing from the due index",
            tree: "idx_outbox_due",
            key: show_key(&keys::outbox_due_key(t(2, 10), 3)),
            says: "queued outbox row is missing",
            apply: |s, _| {
                s.idx_outbox_due
                    .remove(keys::outbox_due_key(t(2, 10), 3))
                    .expect("remove");
            },
        },
        Break {
            what: "a recipient entry for a row that does not exist",
            tree: "idx_outbox_to",
            key: show_key(&keys::outbox_to_key("x@example.org", t(2, 10), 9)),
            says: "not an outbox row that exists",
            apply: |s, _| {
                s.idx_outbox_to
                    .insert(
                        keys::outbox_to_key("x@example.org", t(2, 10), 9),
                        &[] as &[u8],
                    )
                    .expect("insert");
            },
        },
        Break {
            what: "a seen record under another message's key",
            tree: "seen",
            key: "m\\x00other@example.org".into(),
            says: "not filed under its own",
            apply: |s, _| {
                let v = s.seen.iter().next().expect("a record").expect("read").1;
                s.seen.insert("m\0other@example.org", v).expect("insert");
            },
        },
        Break {
            what: "a damaged raw message",
            tree: "raw",
            key: crate::core::dedupe::dedupe_hash(&raw(3)),
            says: "do not hash to their key",
            apply: |s, _| {
                let h = crate::core::dedupe::dedupe_hash(&raw(3));
                s.raw.insert(h, &b"truncated"[..]).expect("insert");
            },
        },
        Break {
            what: "a cursor that does not decode",
            tree: "cursors",
            key: "INBOX".into(),
            says: "value: ",
            apply: |s, _| {
                s.cursors
                    .insert("INBOX", &b"{\"uidvalidity\":7}"[..])
                    .expect("insert");
            },
        },
        Break {
            what: "a case stored under another reference",
            tree: "cases",
            key: "FOI-2026-0000000003".into(),
            says: "record is for case FOI-2026-000001",
            apply: |s, r| {
                let v = s.cases.get(key(&r[0])).expect("read").expect("case");
                s.cases.insert("FOI-2026-0000000003", v).expect("insert");
            },
        },
        Break {
            what: "a tree backups do not cover",
            tree: "db",
            key: "-".into(),
            says: "tree corrections is not covered by backups",
            apply: |s, _| {
                s.db.open_tree("corrections").expect("tree");
            },
        },
    ]
}

#[test]
fn each_deliberate_break_is_found_with_its_tree_and_key() {
    for b in breaks() {
        let (store, refs) = filled();
        (b.apply)(&store, &refs);
        let report = store.verify().expect("verifies");
        let found = report
            .problems
            .iter()
            .any(|p| p.tree == b.tree && p.key == b.key && p.what.contains(b.says));
        assert!(
            found,
            "{}: expected {}\t{}\t…{}…, got:\n{}",
            b.what,
            b.tree,
            b.key,
            b.says,
            lines(&report).join("\n")
        );
        assert!(!report.is_clean(), "{}", b.what);
        assert!(report.text().contains("problem(s)"), "{}", b.what);
    }
}

#[test]
fn problems_past_the_cap_are_counted_not_listed() {
    let (store, _) = filled();
    for n in 0..(MAX_PROBLEMS + 5) {
        store
            .idx_due
            .insert(format!("2026-04-01\0FOI-2026-{n:010}"), &[] as &[u8])
            .expect("insert");
    }
    let report = store.verify().expect("verifies");
    assert_eq!(report.problems.len(), MAX_PROBLEMS);
    assert!(report.found >= MAX_PROBLEMS + 5);
    assert!(report.text().contains("more problems"), "{}", report.text());
}

#[test]
fn what_the_store_writes_later_stays_clean() {
    // Updates through the store (a cursor moved, a mark cleared, a row sent) keep every index in
    // line: the checks follow the write path, not a snapshot of the fixture.
    let (store, _) = filled();
    store
        .apply(Change {
            marks_cleared: vec!["digest/ig".into()],
            marks: vec![Mark {
                key: "x/y".into(),
                value: serde_json::json!({"b": 1}),
            }],
            cursor: Some(crate::model::change::CursorUpdate {
                mailbox: "INBOX".into(),
                cursor: Cursor {
                    uidvalidity: 8,
                    last_uid: 1,
                },
            }),
            ..Change::default()
        })
        .expect("applies");
    let report = store.verify().expect("verifies");
    assert!(report.is_clean(), "{}", report.text());
}
