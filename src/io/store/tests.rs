//! Store tests: every one runs against its own temporary sled database.

use super::*;
use crate::model::case::{CaseDraft, CaseState, SYSTEM_ACTOR};
use crate::model::kind::Kind;
use crate::model::message::Address;
use chrono::TimeZone;
use serde_json::json;
use std::collections::BTreeSet;

fn t(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0)
        .single()
        .expect("valid test time")
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
}

fn r(s: &str) -> CaseRef {
    s.parse().expect("valid test reference")
}

fn temp() -> Store {
    Store::open_temporary().expect("temporary store opens")
}

fn draft(email: &str, msgid: &str, hash: &str, due: Option<NaiveDate>) -> CaseDraft {
    CaseDraft {
        reference: (),
        kind: Kind::Foi,
        state: CaseState::Open,
        received_at: t(2026, 3, 2, 9),
        requester: Address {
            name: Some("Requester".into()),
            email: email.into(),
        },
        subject: "Request for information".into(),
        message_ids: if msgid.is_empty() {
            vec![]
        } else {
            vec![msgid.into()]
        },
        content_hashes: if hash.is_empty() {
            vec![]
        } else {
            vec![hash.into()]
        },
        rules: vec!["foi.keyword".into()],
        valid: Some(true),
        missing: vec![],
        due,
        clock_events: Vec::new(),
        workflow: Default::default(),
        assignee: None,
        team: None,
        created_at: t(2026, 3, 2, 9),
        updated_at: t(2026, 3, 2, 9),
    }
}

fn new_case(prefix: &str, year: i32, d: CaseDraft) -> Change {
    Change {
        new_case: Some(NewCase {
            prefix: prefix.into(),
            year,
            draft: d,
        }),
        ..Change::default()
    }
}

fn ev(action: &str, n: u64) -> AuditEvent {
    AuditEvent {
        at: t(2026, 3, 2, 10),
        actor: SYSTEM_ACTOR.into(),
        action: action.into(),
        detail: json!({ "n": n }),
        why: format!("step {n}"),
    }
}

/// Create a case and return its reference.
fn create(store: &Store, prefix: &str, year: i32, d: CaseDraft) -> CaseRef {
    store
        .apply(new_case(prefix, year, d))
        .expect("create succeeds")
        .new_case
        .expect("a reference was allocated")
}

fn update(store: &Store, case: Case) -> Applied {
    store
        .apply(Change {
            case_updates: vec![CaseUpdate {
                case,
                expected: None,
            }],
            ..Change::default()
        })
        .expect("update succeeds")
}

fn case(store: &Store, reference: &CaseRef) -> Case {
    store
        .get_case(reference)
        .expect("read succeeds")
        .expect("case exists")
}

#[test]
fn sequences_are_per_prefix_and_year() {
    let store = temp();
    let d = || draft("a@x.org", "", "", None);
    let table = [
        ("FOI", 2026, "FOI-2026-000001"),
        ("FOI", 2026, "FOI-2026-000002"),
        ("SAR", 2026, "SAR-2026-000001"),
        ("FOI", 2027, "FOI-2027-000001"),
        ("foi", 2026, "FOI-2026-000003"),
        ("SAR", 2026, "SAR-2026-000002"),
        ("FOI", 2027, "FOI-2027-000002"),
    ];
    for (prefix, year, want) in table {
        let got = create(&store, prefix, year, d());
        assert_eq!(got.to_string(), want);
        assert_eq!(case(&store, &got).reference, got);
    }
}

#[test]
fn sequence_past_six_digits_keeps_order() {
    let store = temp();
    // Start the counter just below a million to check the reference grows a digit and the
    // store still lists in numeric order.
    store
        .sequences
        .insert(keys::seq_case_key("FOI", 2026), &999_998u64.to_be_bytes())
        .expect("seed counter");
    let a = create(&store, "FOI", 2026, draft("a@x", "", "", None));
    let b = create(&store, "FOI", 2026, draft("a@x", "", "", None));
    assert_eq!(a.to_string(), "FOI-2026-999999");
    assert_eq!(b.to_string(), "FOI-2026-1000000");
    let listed: Vec<CaseRef> = store
        .list_cases(CaseOrder::Reference)
        .expect("lists")
        .into_iter()
        .map(|c| c.reference)
        .collect();
    assert_eq!(listed, [a, b]);
}

#[test]
fn sequence_exhaustion_is_an_error_not_a_wrap() {
    let store = temp();
    store
        .sequences
        .insert(
            keys::seq_case_key("FOI", 2026),
            &u64::from(u32::MAX).to_be_bytes(),
        )
        .expect("seed counter");
    let err = store
        .apply(new_case("FOI", 2026, draft("a@x", "", "", None)))
        .expect_err("no numbers left");
    assert!(
        matches!(&err, StoreError::SequenceExhausted { prefix, year: 2026 } if prefix == "FOI"),
        "{err}"
    );
    assert!(
        store
            .list_cases(CaseOrder::Reference)
            .expect("lists")
            .is_empty()
    );
}

#[test]
fn concurrent_creation_gives_distinct_gapless_references() {
    const THREADS: u32 = 8;
    const PER_THREAD: u32 = 6;
    let store = temp();
    let handles: Vec<_> = (0..THREADS)
        .map(|i| {
            let store = store.clone();
            std::thread::spawn(move || {
                (0..PER_THREAD)
                    .map(|j| {
                        let d = draft(
                            &format!("p{i}@x.org"),
                            &format!("m{i}-{j}@x"),
                            &format!("h{i}-{j}"),
                            None,
                        );
                        let mut change = new_case("FOI", 2026, d);
                        change.audit.push(AuditAppend {
                            case: CaseTarget::New,
                            event: ev("received", 0),
                        });
                        store.apply(change).map(|a| a.new_case)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut seqs = BTreeSet::new();
    for h in handles {
        for res in h.join().expect("thread did not panic") {
            let reference = res.expect("apply succeeds").expect("allocated");
            assert!(seqs.insert(reference.seq()), "duplicate {reference}");
            assert_eq!(store.audit(&reference).expect("audit").len(), 1);
        }
    }
    let want: BTreeSet<u32> = (1..=THREADS * PER_THREAD).collect();
    assert_eq!(seqs, want);
    assert_eq!(store.cases.len(), (THREADS * PER_THREAD) as usize);
}

#[test]
fn indexes_follow_create_and_update() {
    let store = temp();
    let reference = create(
        &store,
        "FOI",
        2026,
        draft(
            "Jane@Example.org",
            "<first@x>",
            "AAAA",
            Some(date(2026, 3, 30)),
        ),
    );

    // After create.
    for id in ["first@x", "<first@x>", " first@x "] {
        assert_eq!(
            store.find_by_message_id(id).expect("lookup"),
            Some(reference.clone())
        );
    }
    assert_eq!(
        store.find_by_hash("aaaa").expect("lookup"),
        Some(reference.clone())
    );
    assert_eq!(
        store.find_by_hash("AAAA").expect("lookup"),
        Some(reference.clone())
    );
    for email in ["jane@example.org", "JANE@EXAMPLE.ORG", " Jane@example.ORG "] {
        assert_eq!(
            store.cases_by_requester(email).expect("lookup"),
            std::slice::from_ref(&reference),
            "{email}"
        );
    }
    assert_eq!(
        store.due_on_or_before(date(2026, 3, 30)).expect("scan"),
        [(date(2026, 3, 30), reference.clone())]
    );

    // Follow-up joins; due moves; requester changes address.
    let mut c = case(&store, &reference);
    c.message_ids.push("second@x".into());
    c.content_hashes.push("bbbb".into());
    c.due = Some(date(2026, 4, 14));
    c.requester.email = "jane.smith@example.org".into();
    update(&store, c.clone());
    assert_eq!(
        store.find_by_message_id("first@x").expect("lookup"),
        Some(reference.clone())
    );
    assert_eq!(
        store.find_by_message_id("second@x").expect("lookup"),
        Some(reference.clone())
    );
    assert_eq!(
        store.find_by_hash("bbbb").expect("lookup"),
        Some(reference.clone())
    );
    assert!(
        store
            .due_between(date(2026, 3, 1), date(2026, 3, 31))
            .expect("scan")
            .is_empty()
    );
    assert_eq!(
        store
            .due_between(date(2026, 4, 14), date(2026, 4, 14))
            .expect("scan"),
        [(date(2026, 4, 14), reference.clone())]
    );
    assert_eq!(store.idx_due.len(), 1, "old due key removed");
    assert!(
        store
            .cases_by_requester("jane@example.org")
            .expect("lookup")
            .is_empty()
    );
    assert_eq!(
        store
            .cases_by_requester("Jane.Smith@example.org")
            .expect("lookup"),
        std::slice::from_ref(&reference)
    );
    assert_eq!(store.idx_requester.len(), 1, "old requester key removed");

    // Dropping an id or hash from the case drops its index entry.
    c.message_ids.retain(|m| m != "<first@x>");
    c.content_hashes.retain(|h| h != "AAAA");
    update(&store, c.clone());
    assert_eq!(store.find_by_message_id("first@x").expect("lookup"), None);
    assert_eq!(store.find_by_hash("aaaa").expect("lookup"), None);
    assert_eq!(
        store.find_by_message_id("second@x").expect("lookup"),
        Some(reference.clone())
    );

    // A finished case leaves the due index but keeps its due date.
    c.state = CaseState::Responded;
    update(&store, c.clone());
    assert_eq!(case(&store, &reference).due, Some(date(2026, 4, 14)));
    assert!(
        store
            .due_on_or_before(date(2030, 1, 1))
            .expect("scan")
            .is_empty()
    );
    // Reopened: back in the index.
    c.state = CaseState::Open;
    update(&store, c.clone());
    assert_eq!(
        store
            .due_on_or_before(date(2030, 1, 1))
            .expect("scan")
            .len(),
        1
    );
    // Due cleared: out again.
    c.due = None;
    update(&store, c);
    assert_eq!(store.idx_due.len(), 0);
}

#[test]
fn due_range_scans() {
    let store = temp();
    let dues = [
        date(2026, 3, 30),
        date(2026, 3, 31),
        date(2026, 3, 31),
        date(2026, 4, 1),
        date(2027, 1, 4),
    ];
    let refs: Vec<CaseRef> = dues
        .iter()
        .map(|&d| create(&store, "FOI", 2026, draft("a@x", "", "", Some(d))))
        .collect();
    let table: Vec<(NaiveDate, NaiveDate, Vec<usize>)> = vec![
        (date(2026, 3, 30), date(2026, 3, 30), vec![0]),
        (date(2026, 3, 31), date(2026, 4, 1), vec![1, 2, 3]),
        (date(2026, 1, 1), date(2026, 12, 31), vec![0, 1, 2, 3]),
        (date(2026, 4, 2), date(2026, 12, 31), vec![]),
        (date(2026, 4, 1), date(2026, 3, 1), vec![]),
        (NaiveDate::MIN, NaiveDate::MAX, vec![0, 1, 2, 3, 4]),
    ];
    for (from, to, want) in table {
        let got = store.due_between(from, to).expect("scan");
        let want: Vec<(NaiveDate, CaseRef)> =
            want.iter().map(|&i| (dues[i], refs[i].clone())).collect();
        assert_eq!(got, want, "{from}..={to}");
    }
    let before = [
        (date(2026, 3, 29), 0),
        (date(2026, 3, 31), 3),
        (date(2026, 12, 31), 4),
        (NaiveDate::MAX, 5),
        (NaiveDate::MIN, 0),
    ];
    for (d, n) in before {
        assert_eq!(store.due_on_or_before(d).expect("scan").len(), n, "{d}");
    }
}

#[test]
fn audit_is_ordered_and_append_only() {
    let store = temp();
    let mut change = new_case("SAR", 2026, draft("a@x", "", "", None));
    // More than 256 events, so big-endian numbering is what keeps them in order.
    for n in 0..300 {
        change.audit.push(AuditAppend {
            case: CaseTarget::New,
            event: ev("note", n),
        });
    }
    let reference = store
        .apply(change)
        .expect("applies")
        .new_case
        .expect("allocated");
    let first = store.audit(&reference).expect("audit");
    assert_eq!(first.len(), 300);
    for (i, e) in first.iter().enumerate() {
        assert_eq!(e.detail, json!({ "n": i }));
    }

    // Appending later (to an existing case) only adds at the end.
    let other = create(&store, "SAR", 2026, draft("b@x", "", "", None));
    store
        .apply(Change {
            audit: vec![
                AuditAppend {
                    case: CaseTarget::Existing(reference.clone()),
                    event: ev("acknowledged", 300),
                },
                AuditAppend {
                    case: CaseTarget::Existing(other.clone()),
                    event: ev("note", 0),
                },
                AuditAppend {
                    case: CaseTarget::Existing(reference.clone()),
                    event: ev("note", 301),
                },
            ],
            ..Change::default()
        })
        .expect("applies");
    let all = store.audit(&reference).expect("audit");
    assert_eq!(all.len(), 302);
    assert_eq!(&all[..300], first.as_slice(), "earlier events unchanged");
    assert_eq!(all[300].action, "acknowledged");
    assert_eq!(all[301].detail, json!({ "n": 301 }));
    assert_eq!(store.audit(&other).expect("audit"), [ev("note", 0)]);
    assert!(
        store
            .audit(&r("EIR-2026-000001"))
            .expect("audit")
            .is_empty()
    );
}

#[test]
fn message_id_reuse_keeps_the_first_case_and_is_reported() {
    let store = temp();
    let first = create(&store, "FOI", 2026, draft("a@x", "same@x", "h1", None));
    let applied = store
        .apply(new_case("FOI", 2026, draft("b@x", "<same@x>", "h2", None)))
        .expect("applies");
    let second = applied.new_case.expect("allocated");
    assert_eq!(
        applied.message_id_conflicts,
        [MessageIdConflict {
            message_id: "same@x".into(),
            existing: first.clone(),
            wanted: second.clone(),
        }]
    );
    assert_eq!(
        store.find_by_message_id("same@x").expect("lookup"),
        Some(first)
    );
    assert_eq!(
        store.find_by_hash("h2").expect("lookup"),
        Some(second.clone())
    );
    // Updating the second case again does not re-report a conflict it already had.
    let again = update(&store, case(&store, &second));
    assert!(again.message_id_conflicts.is_empty());
}

#[test]
fn duplicate_content_hash_aborts_and_consumes_no_reference() {
    let store = temp();
    let first = create(&store, "FOI", 2026, draft("a@x", "m1@x", "hash1", None));
    let mut change = new_case("FOI", 2026, draft("a@x", "m2@x", "HASH1", None));
    change.cursor = Some(CursorUpdate {
        mailbox: "INBOX".into(),
        cursor: Cursor {
            uidvalidity: 1,
            last_uid: 9,
        },
    });
    let err = store.apply(change).expect_err("same raw message twice");
    assert!(
        matches!(&err, StoreError::DuplicateHash { hash, existing, wanted }
            if hash == "hash1" && *existing == first && wanted.seq() == 2),
        "{err}"
    );
    assert_eq!(store.find_by_message_id("m2@x").expect("lookup"), None);
    assert_eq!(store.cursor("INBOX").expect("cursor"), None);
    let next = create(&store, "FOI", 2026, draft("a@x", "m3@x", "hash3", None));
    assert_eq!(
        next.to_string(),
        "FOI-2026-000002",
        "aborted allocation left no gap"
    );
}

#[test]
fn seen_records_dedupe_by_message_id_and_hash() {
    let store = temp();
    let rec = |id: Option<&str>, hash: Option<&str>, why: &str| SeenRecord {
        at: t(2026, 3, 2, 11),
        message_id: id.map(Into::into),
        content_hash: hash.map(Into::into),
        kind: Some(Kind::Auto),
        why: why.into(),
    };
    store
        .apply(Change {
            seen: vec![
                rec(Some("<ooo@x>"), Some("ABC"), "out of office"),
                rec(None, Some("def"), "bounce"),
                rec(Some("ooo@x"), None, "second sighting"),
            ],
            ..Change::default()
        })
        .expect("applies");
    let by_id = store
        .find_seen(SeenKey::MessageId("ooo@x"))
        .expect("lookup");
    assert_eq!(
        by_id.map(|s| s.why).as_deref(),
        Some("out of office"),
        "first wins"
    );
    let by_hash = store
        .find_seen(SeenKey::ContentHash("abc"))
        .expect("lookup");
    assert_eq!(by_hash.map(|s| s.why).as_deref(), Some("out of office"));
    let bounce = store
        .find_seen(SeenKey::ContentHash("DEF"))
        .expect("lookup");
    assert_eq!(bounce.map(|s| s.why).as_deref(), Some("bounce"));
    assert_eq!(
        store
            .find_seen(SeenKey::MessageId("nope@x"))
            .expect("lookup"),
        None
    );
    assert_eq!(
        store.find_seen(SeenKey::MessageId("<>")).expect("lookup"),
        None
    );
    // Seen messages are not cases.
    assert_eq!(store.find_by_message_id("ooo@x").expect("lookup"), None);

    let err = store
        .apply(Change {
            seen: vec![rec(Some(" "), Some(""), "nothing to key on")],
            ..Change::default()
        })
        .expect_err("unkeyable");
    assert!(matches!(err, StoreError::InvalidChange { .. }), "{err}");
}

/// A change that does everything, for atomicity tests.
fn everything_change(update_target: Case) -> Change {
    let mut change = new_case(
        "FOI",
        2026,
        draft("new@x", "new@x", "newhash", Some(date(2026, 4, 1))),
    );
    change.case_updates.push(CaseUpdate {
        case: update_target,
        expected: None,
    });
    change.audit.push(AuditAppend {
        case: CaseTarget::New,
        event: ev("received", 0),
    });
    change.seen.push(SeenRecord {
        at: t(2026, 3, 2, 11),
        message_id: Some("seen@x".into()),
        content_hash: Some("seenhash".into()),
        kind: None,
        why: "test".into(),
    });
    change.outbox_new.push(NewOutboxRow {
        recipient: None,
        case: Some(CaseTarget::New),
        created_at: t(2026, 3, 2, 9),
        payload: json!({ "template": "ack" }),
        next_attempt_at: t(2026, 3, 2, 9),
    });
    change.cursor = Some(CursorUpdate {
        mailbox: "INBOX".into(),
        cursor: Cursor {
            uidvalidity: 7,
            last_uid: 42,
        },
    });
    change
}

/// Assert that nothing from [`everything_change`] reached the store.
fn assert_nothing_written(store: &Store, cases_before: usize) {
    assert_eq!(store.cases.len(), cases_before, "no case");
    assert_eq!(store.find_by_message_id("new@x").expect("lookup"), None);
    assert_eq!(store.find_by_hash("newhash").expect("lookup"), None);
    assert!(
        store
            .cases_by_requester("new@x")
            .expect("lookup")
            .is_empty()
    );
    assert!(
        store
            .due_on_or_before(date(2030, 1, 1))
            .expect("scan")
            .is_empty()
    );
    assert_eq!(
        store
            .find_seen(SeenKey::MessageId("seen@x"))
            .expect("lookup"),
        None
    );
    assert_eq!(
        store
            .find_seen(SeenKey::ContentHash("seenhash"))
            .expect("lookup"),
        None
    );
    assert!(
        store
            .outbox_pending(t(2100, 1, 1, 0))
            .expect("scan")
            .is_empty()
    );
    assert_eq!(store.outbox.len(), 0);
    assert_eq!(store.cursor("INBOX").expect("cursor"), None);
    assert_eq!(store.audit.len(), 0);
}

#[test]
fn failing_change_writes_nothing() {
    let store = temp();
    // The update names a case that does not exist: detected midway, after the new case, its
    // reference and its indexes were staged.
    let ghost = draft("ghost@x", "", "", None).into_case(r("FOI-2026-000099"));
    let err = store
        .apply(everything_change(ghost))
        .expect_err("missing case");
    assert!(
        matches!(&err, StoreError::CaseNotFound { reference } if reference.to_string() == "FOI-2026-000099"),
        "{err}"
    );
    assert_nothing_written(&store, 0);
    assert_eq!(store.sequences.len(), 0, "no counter moved");
    let first = create(&store, "FOI", 2026, draft("x@x", "", "", None));
    assert_eq!(first.to_string(), "FOI-2026-000001");
}

#[test]
fn failing_late_step_writes_nothing() {
    // Each change stages a new case (and more) and then fails at a later step.
    let store = temp();
    let existing = create(&store, "EIR", 2026, draft("e@x", "e@x", "ehash", None));
    let stored = case(&store, &existing);
    let audit_before = store.audit.len();

    let mut stale = stored.clone();
    stale.subject = "not what is stored".into();
    let mut conflict = everything_change(stored.clone());
    conflict.case_updates[0].expected = Some(stale);

    let mut audit_missing = everything_change(stored.clone());
    audit_missing.audit.push(AuditAppend {
        case: CaseTarget::Existing(r("FOI-2030-000001")),
        event: ev("note", 1),
    });

    let mut outbox_missing = everything_change(stored.clone());
    outbox_missing.outbox_updates.push(OutboxUpdate {
        id: 999,
        status: OutboxStatus::Sent,
        attempts: 1,
        last_error: None,
        next_attempt_at: t(2026, 3, 2, 9),
        interrupted: 0,
    });

    let mut outbox_case_missing = everything_change(stored.clone());
    outbox_case_missing.outbox_new.push(NewOutboxRow {
        recipient: None,
        case: Some(CaseTarget::Existing(r("SAR-2026-000404"))),
        created_at: t(2026, 3, 2, 9),
        payload: json!(null),
        next_attempt_at: t(2026, 3, 2, 9),
    });

    let table: Vec<(&str, Change, IsExpected)> = vec![
        ("conflict", conflict, |e| {
            matches!(e, StoreError::Conflict { .. })
        }),
        ("audit", audit_missing, |e| {
            matches!(e, StoreError::CaseNotFound { .. })
        }),
        ("outbox update", outbox_missing, |e| {
            matches!(e, StoreError::OutboxNotFound { id: 999 })
        }),
        ("outbox case", outbox_case_missing, |e| {
            matches!(e, StoreError::CaseNotFound { .. })
        }),
    ];
    for (name, change, is_expected) in table {
        let err = store.apply(change).expect_err(name);
        assert!(is_expected(&err), "{name}: {err}");
        assert!(!err.to_string().is_empty());
        assert_nothing_written_except(&store, &existing, &stored, audit_before);
    }
    assert!(
        StoreError::Conflict {
            reference: existing
        }
        .is_transient()
    );
}

/// Predicate on the error a failing change must return.
type IsExpected = fn(&StoreError) -> bool;

fn assert_nothing_written_except(store: &Store, existing: &CaseRef, stored: &Case, audit: usize) {
    assert_eq!(store.cases.len(), 1);
    assert_eq!(&case(store, existing), stored);
    assert_eq!(store.audit.len(), audit);
    assert_eq!(store.find_by_message_id("new@x").expect("lookup"), None);
    assert_eq!(
        store
            .find_seen(SeenKey::MessageId("seen@x"))
            .expect("lookup"),
        None
    );
    assert_eq!(store.outbox.len(), 0);
    assert_eq!(store.idx_outbox_due.len(), 0);
    assert_eq!(store.cursor("INBOX").expect("cursor"), None);
    assert_eq!(store.idx_due.len(), 0);
    assert_eq!(store.idx_requester.len(), 1);
}

#[test]
fn malformed_changes_are_rejected_before_writing() {
    let store = temp();
    let existing = create(&store, "FOI", 2026, draft("a@x", "", "", None));
    let stored = case(&store, &existing);
    let base = || new_case("FOI", 2026, draft("n@x", "n@x", "nh", None));

    let mut bad_prefix = base();
    if let Some(n) = bad_prefix.new_case.as_mut() {
        n.prefix = "F0I".into();
    }
    let mut bad_year = base();
    if let Some(n) = bad_year.new_case.as_mut() {
        n.year = 26;
    }
    let mut bad_due = base();
    if let Some(n) = bad_due.new_case.as_mut() {
        n.draft.due = Some(date(10_000, 1, 1));
    }
    let audit_without_new = Change {
        audit: vec![AuditAppend {
            case: CaseTarget::New,
            event: ev("note", 0),
        }],
        ..Change::default()
    };
    let mut empty_action = base();
    empty_action.audit.push(AuditAppend {
        case: CaseTarget::New,
        event: AuditEvent {
            action: " ".into(),
            ..ev("x", 0)
        },
    });
    let mut empty_actor = base();
    empty_actor.audit.push(AuditAppend {
        case: CaseTarget::New,
        event: AuditEvent {
            actor: String::new(),
            ..ev("note", 0)
        },
    });
    let twice = Change {
        case_updates: vec![
            CaseUpdate {
                case: stored.clone(),
                expected: None,
            },
            CaseUpdate {
                case: stored.clone(),
                expected: None,
            },
        ],
        ..Change::default()
    };
    let mut other = stored.clone();
    other.reference = r("FOI-2026-000002");
    let mismatched_expected = Change {
        case_updates: vec![CaseUpdate {
            case: stored.clone(),
            expected: Some(other),
        }],
        ..Change::default()
    };
    let outbox_without_new = Change {
        outbox_new: vec![NewOutboxRow {
            recipient: None,
            case: Some(CaseTarget::New),
            created_at: t(2026, 3, 2, 9),
            payload: json!({}),
            next_attempt_at: t(2026, 3, 2, 9),
        }],
        ..Change::default()
    };
    let mut empty_mailbox = base();
    empty_mailbox.cursor = Some(CursorUpdate {
        mailbox: String::new(),
        cursor: Cursor {
            uidvalidity: 1,
            last_uid: 1,
        },
    });

    let table = [
        ("prefix", bad_prefix, "F0I"),
        ("year", bad_year, "year"),
        ("due", bad_due, "due date"),
        ("audit new", audit_without_new, "audit[0]"),
        ("action", empty_action, "audit[0]"),
        ("actor", empty_actor, "audit[0]"),
        ("twice", twice, "updated twice"),
        ("expected", mismatched_expected, "expected case"),
        ("outbox new", outbox_without_new, "outbox_new[0]"),
        ("mailbox", empty_mailbox, "mailbox"),
    ];
    for (name, change, needle) in table {
        let err = store.apply(change).expect_err(name);
        let StoreError::InvalidChange { reason } = &err else {
            panic!("{name}: expected InvalidChange, got {err}");
        };
        assert!(reason.contains(needle), "{name}: {reason}");
        assert!(!err.is_transient());
    }
    assert_eq!(store.cases.len(), 1);
    assert_eq!(store.audit.len(), 0);
    assert_eq!(store.outbox.len(), 0);
    assert_eq!(store.cursors.len(), 0);
}

#[test]
fn optimistic_update_succeeds_when_unchanged() {
    let store = temp();
    let reference = create(&store, "FOI", 2026, draft("a@x", "", "", None));
    let read = case(&store, &reference);
    let mut new = read.clone();
    new.assignee = Some("officer@council.gov.uk".into());
    new.updated_at = t(2026, 3, 3, 9);
    store
        .apply(Change {
            case_updates: vec![CaseUpdate {
                case: new.clone(),
                expected: Some(read.clone()),
            }],
            ..Change::default()
        })
        .expect("unchanged since read");
    assert_eq!(case(&store, &reference), new);
    // The same stale copy now conflicts.
    let err = store
        .apply(Change {
            case_updates: vec![CaseUpdate {
                case: read.clone(),
                expected: Some(read),
            }],
            ..Change::default()
        })
        .expect_err("stale");
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
    assert_eq!(case(&store, &reference), new);
}

#[test]
fn cursor_round_trip_and_never_backwards() {
    let store = temp();
    let set = |mailbox: &str, uidvalidity, last_uid| {
        store
            .apply(Change {
                cursor: Some(CursorUpdate {
                    mailbox: mailbox.into(),
                    cursor: Cursor {
                        uidvalidity,
                        last_uid,
                    },
                }),
                ..Change::default()
            })
            .expect("applies")
            .cursor
    };
    let c = |uidvalidity, last_uid| {
        Some(Cursor {
            uidvalidity,
            last_uid,
        })
    };
    assert_eq!(store.cursor("INBOX").expect("cursor"), None);
    let table = [
        ("INBOX", 100, 5, c(100, 5)),
        ("INBOX", 100, 9, c(100, 9)),
        ("INBOX", 100, 7, c(100, 9)), // out-of-order commit: stays at 9
        ("INBOX", 200, 1, c(200, 1)), // UIDVALIDITY changed: resync from the new value
        ("Archive", 5, u32::MAX, c(5, u32::MAX)),
        ("inbox", 1, 1, c(1, 1)), // names are exact
    ];
    for (mailbox, v, uid, want) in table {
        assert_eq!(set(mailbox, v, uid), want, "{mailbox} {v} {uid}");
        assert_eq!(store.cursor(mailbox).expect("cursor"), want);
    }
    assert_eq!(store.cursor("INBOX").expect("cursor"), c(200, 1));
}

#[test]
fn outbox_enqueue_update_and_pending_at_now() {
    let store = temp();
    let mut change = new_case("FOI", 2026, draft("a@x", "", "", None));
    for (hour, what) in [(10, "ack"), (9, "assign"), (12, "chase")] {
        change.outbox_new.push(NewOutboxRow {
            recipient: None,
            case: Some(CaseTarget::New),
            created_at: t(2026, 3, 2, 9),
            payload: json!({ "template": what }),
            next_attempt_at: t(2026, 3, 2, hour),
        });
    }
    change.outbox_new.push(NewOutboxRow {
        recipient: None,
        case: None,
        created_at: t(2026, 3, 2, 9),
        payload: json!({ "template": "digest" }),
        next_attempt_at: t(2026, 3, 2, 11),
    });
    let applied = store.apply(change).expect("applies");
    let reference = applied.new_case.expect("allocated");
    assert_eq!(applied.outbox_ids, [1, 2, 3, 4]);

    let templates = |now| -> Vec<String> {
        store
            .outbox_pending(now)
            .expect("scan")
            .into_iter()
            .map(|row| row.payload["template"].as_str().unwrap_or("?").to_string())
            .collect()
    };
    assert!(templates(t(2026, 3, 2, 8)).is_empty());
    assert_eq!(
        templates(t(2026, 3, 2, 9)),
        ["assign"],
        "due exactly at now"
    );
    assert_eq!(templates(t(2026, 3, 2, 11)), ["assign", "ack", "digest"]);

    let ack = store.outbox_row(1).expect("read").expect("exists");
    assert_eq!(
        ack.case,
        Some(reference.clone()),
        "new case's reference filled in"
    );
    assert_eq!(
        (ack.status, ack.attempts, ack.last_error.clone()),
        (OutboxStatus::Pending, 0, None)
    );
    assert_eq!(
        store.outbox_row(4).expect("read").and_then(|r| r.case),
        None
    );

    let upd = |id, status, attempts, err: Option<&str>, at| OutboxUpdate {
        id,
        status,
        attempts,
        last_error: err.map(Into::into),
        next_attempt_at: at,
        interrupted: 0,
    };
    store
        .apply(Change {
            outbox_updates: vec![
                upd(2, OutboxStatus::Sent, 1, None, t(2026, 3, 2, 9)),
                upd(
                    1,
                    OutboxStatus::Pending,
                    1,
                    Some("421 try later"),
                    t(2026, 3, 2, 13),
                ),
                upd(
                    4,
                    OutboxStatus::Failed,
                    5,
                    Some("550 no such user"),
                    t(2026, 3, 2, 9),
                ),
            ],
            ..Change::default()
        })
        .expect("applies");
    assert!(templates(t(2026, 3, 2, 11)).is_empty());
    assert_eq!(templates(t(2026, 3, 2, 13)), ["chase", "ack"]);
    assert_eq!(store.idx_outbox_due.len(), 2, "only pending rows indexed");
    let retried = store.outbox_row(1).expect("read").expect("exists");
    assert_eq!(retried.attempts, 1);
    assert_eq!(retried.last_error.as_deref(), Some("421 try later"));
    assert_eq!(
        retried.payload,
        json!({ "template": "ack" }),
        "payload never changes"
    );
    assert_eq!(
        store.outbox_row(4).expect("read").map(|r| r.status),
        Some(OutboxStatus::Failed)
    );
    assert_eq!(store.outbox_row(99).expect("read"), None);

    // Ids keep increasing across changes.
    let later = store
        .apply(Change {
            outbox_new: vec![NewOutboxRow {
                recipient: None,
                case: Some(CaseTarget::Existing(reference)),
                created_at: t(2026, 3, 3, 9),
                payload: json!({ "template": "note" }),
                next_attempt_at: t(2026, 3, 3, 9),
            }],
            ..Change::default()
        })
        .expect("applies");
    assert_eq!(later.outbox_ids, [5]);
}

/// Open a sled database directly (to plant bytes a Store would never write), waiting for the
/// lock a just-dropped Store may still hold (see `LOCK_ATTEMPTS`).
fn raw_open(path: &Path) -> sled::Db {
    for _ in 0..LOCK_ATTEMPTS {
        match sled::open(path) {
            Ok(db) => return db,
            Err(e) if is_lock_error(&e) => std::thread::sleep(LOCK_RETRY_PAUSE),
            Err(e) => panic!("raw open failed: {e}"),
        }
    }
    panic!("raw open: lock still held");
}

#[test]
fn schema_version_is_stamped_checked_and_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    {
        let store = Store::open(&path).expect("new store opens");
        assert_eq!(store.schema_version(), SCHEMA_VERSION);
        let marker = store.db.get(SCHEMA_KEY).expect("read").expect("stamped");
        assert_eq!(marker.as_ref(), SCHEMA_VERSION.to_string().as_bytes());
    }
    drop(Store::open(&path).expect("reopens"));

    let long = [b'7'; 40];
    let cases: [(&[u8], &str); 5] = [
        (b"2", r#""2""#),
        (b"999", r#""999""#),
        (b"\xff\x00junk", r#""\xff\x00junk""#),
        (b"", r#""""#),
        (&long, r#""77777777777777777777777777777777…" (40 bytes)"#),
    ];
    for (marker, shown) in cases {
        {
            let db = raw_open(&path);
            db.insert(SCHEMA_KEY, marker).expect("write marker");
            db.flush().expect("flush");
        }
        let err = Store::open(&path).expect_err("unknown schema refused");
        match &err {
            StoreError::UnknownSchema { found, supported } => {
                assert_eq!(found, shown);
                assert_eq!(*supported, SCHEMA_VERSION);
            }
            other => panic!("expected UnknownSchema, got {other}"),
        }
        assert!(!err.is_transient());
        assert!(err.to_string().contains("refusing"), "{err}");
    }

    // A database with data but no marker is not ours (or predates versioning): refused too.
    let other = dir.path().join("other");
    {
        let db = raw_open(&other);
        db.open_tree("cases")
            .expect("tree")
            .insert("k", "v")
            .expect("write");
        db.flush().expect("flush");
    }
    assert!(matches!(
        Store::open(&other),
        Err(StoreError::UnknownSchema { .. })
    ));
}

#[test]
fn second_open_of_the_same_directory_is_locked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _first = Store::open(dir.path()).expect("opens");
    let err = Store::open(dir.path()).expect_err("exclusive lock");
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    assert!(err.is_transient());
}

#[test]
fn reopen_after_drop_persists_everything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut change = everything_change(draft("x@x", "", "", None).into_case(r("FOI-2026-000001")));
    change.case_updates.clear();
    let reference = {
        let store = Store::open(dir.path()).expect("opens");
        let applied = store.apply(change).expect("applies");
        applied.new_case.expect("allocated")
    };
    let store = Store::open(dir.path()).expect("reopens");
    let c = case(&store, &reference);
    assert_eq!(c.requester.email, "new@x");
    assert_eq!(store.audit(&reference).expect("audit"), [ev("received", 0)]);
    assert_eq!(
        store.find_by_message_id("new@x").expect("lookup"),
        Some(reference.clone())
    );
    assert_eq!(
        store.find_by_hash("newhash").expect("lookup"),
        Some(reference.clone())
    );
    assert_eq!(
        store.cases_by_requester("NEW@x").expect("lookup"),
        std::slice::from_ref(&reference)
    );
    assert_eq!(
        store.due_on_or_before(date(2026, 4, 1)).expect("scan"),
        [(date(2026, 4, 1), reference.clone())]
    );
    assert!(
        store
            .find_seen(SeenKey::ContentHash("seenhash"))
            .expect("lookup")
            .is_some()
    );
    let pending = store.outbox_pending(t(2026, 3, 2, 9)).expect("scan");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].case, Some(reference));
    assert_eq!(
        store.cursor("INBOX").expect("cursor"),
        Some(Cursor {
            uidvalidity: 7,
            last_uid: 42
        })
    );
    let next = create(&store, "FOI", 2026, draft("y@x", "", "", None));
    assert_eq!(
        next.to_string(),
        "FOI-2026-000002",
        "sequence survives restart"
    );
}

#[test]
fn list_cases_by_reference_and_by_received() {
    let store = temp();
    let mut d1 = draft("a@x", "", "", None);
    d1.received_at = t(2026, 3, 5, 9);
    let mut d2 = draft("b@x", "", "", None);
    d2.received_at = t(2026, 3, 1, 9);
    let mut d3 = draft("c@x", "", "", None);
    d3.received_at = t(2026, 3, 3, 9);
    let r1 = create(&store, "SAR", 2026, d1);
    let r2 = create(&store, "FOI", 2026, d2);
    let r3 = create(&store, "FOI", 2026, d3);
    let refs = |order| -> Vec<CaseRef> {
        store
            .list_cases(order)
            .expect("lists")
            .into_iter()
            .map(|c| c.reference)
            .collect()
    };
    assert_eq!(
        refs(CaseOrder::Reference),
        [r2.clone(), r3.clone(), r1.clone()]
    );
    assert_eq!(refs(CaseOrder::Received), [r2, r3, r1]);
}

#[test]
fn corrupt_bytes_are_errors_naming_the_key() {
    let store = temp();
    let good = create(&store, "FOI", 2026, draft("a@x", "m@x", "h", None));
    let bad = r("FOI-2026-000050");
    store
        .cases
        .insert(keys::case_key(&bad), &b"{not json"[..])
        .expect("inject");
    let err = store.get_case(&bad).expect_err("corrupt");
    assert!(
        matches!(&err, StoreError::Corrupt { tree: "cases", key, .. } if key == "FOI-2026-0000000050"),
        "{err}"
    );
    assert!(matches!(
        store.list_cases(CaseOrder::Reference),
        Err(StoreError::Corrupt { .. })
    ));
    assert!(matches!(
        store.export(Vec::new(), t(2026, 3, 4, 2)),
        Err(StoreError::Corrupt { .. })
    ));
    assert!(
        store
            .get_case(&good)
            .expect("good case still reads")
            .is_some()
    );

    // A valid case stored under another case's key.
    let moved = r("FOI-2026-000060");
    let bytes = serde_json::to_vec(&case(&store, &good)).expect("encode");
    store
        .cases
        .insert(keys::case_key(&moved), bytes)
        .expect("inject");
    let err = store.get_case(&moved).expect_err("wrong key");
    assert!(
        err.to_string()
            .contains("record is for case FOI-2026-000001"),
        "{err}"
    );

    // Updating a corrupt case aborts with the key named.
    let err = store
        .apply(Change {
            case_updates: vec![CaseUpdate {
                case: draft("a@x", "", "", None).into_case(bad),
                expected: None,
            }],
            ..Change::default()
        })
        .expect_err("corrupt old value");
    assert!(
        matches!(err, StoreError::Corrupt { tree: "cases", .. }),
        "{err}"
    );

    // Damaged index values, audit events, counters, cursors, outbox rows, seen records.
    store
        .idx_msgid
        .insert("m@x", &b"garbage"[..])
        .expect("inject");
    assert!(matches!(
        store.find_by_message_id("m@x"),
        Err(StoreError::Corrupt {
            tree: "idx_msgid",
            ..
        })
    ));
    store
        .audit
        .insert(keys::audit_key(&good, 0), &b"\xff"[..])
        .expect("inject");
    assert!(matches!(
        store.audit(&good),
        Err(StoreError::Corrupt { tree: "audit", .. })
    ));
    store
        .idx_due
        .insert(&b"2026-01-01\0junk"[..], &b""[..])
        .expect("inject");
    assert!(matches!(
        store.due_on_or_before(date(2026, 12, 31)),
        Err(StoreError::Corrupt { .. })
    ));
    store
        .idx_requester
        .insert(&b"z@x\0junk"[..], &b""[..])
        .expect("inject");
    assert!(matches!(
        store.cases_by_requester("Z@x"),
        Err(StoreError::Corrupt { .. })
    ));
    store.cursors.insert("INBOX", &b"[]"[..]).expect("inject");
    assert!(matches!(
        store.cursor("INBOX"),
        Err(StoreError::Corrupt {
            tree: "cursors",
            ..
        })
    ));
    store
        .outbox
        .insert(keys::outbox_key(3), &b"1"[..])
        .expect("inject");
    assert!(matches!(
        store.outbox_row(3),
        Err(StoreError::Corrupt { .. })
    ));
    store
        .idx_outbox_due
        .insert(keys::outbox_due_key(t(2026, 1, 1, 0), 8), &b""[..])
        .expect("inject");
    let err = store
        .outbox_pending(t(2026, 6, 1, 0))
        .expect_err("dangling index entry");
    assert!(err.to_string().contains("row 8 does not exist"), "{err}");
    store
        .seen
        .insert(keys::seen_hash_key("h1"), &b"nope"[..])
        .expect("inject");
    assert!(matches!(
        store.find_seen(SeenKey::ContentHash("h1")),
        Err(StoreError::Corrupt { .. })
    ));
    store
        .sequences
        .insert(keys::seq_case_key("SAR", 2026), &b"\x01\x02"[..])
        .expect("inject");
    let err = store
        .apply(new_case("SAR", 2026, draft("a@x", "", "", None)))
        .expect_err("bad counter");
    assert!(
        matches!(&err, StoreError::Corrupt { tree: "sequences", key, .. } if key == "case\\x00SAR\\x002026"),
        "{err}"
    );
}

#[test]
fn empty_change_is_a_no_op() {
    let store = temp();
    let applied = store.apply(Change::default()).expect("applies");
    assert_eq!(applied, Applied::default());
    assert_eq!(store.sequences.len() + store.cases.len(), 0);
}

#[test]
fn apply_async_commits_and_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let store = temp();
    let fut = store.apply_async(new_case("FOI", 2026, draft("a@x", "a@x", "", None)));
    assert_send(&fut);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let applied = rt.block_on(fut).expect("applies");
    let reference = applied.new_case.expect("allocated");
    assert_eq!(
        store.find_by_message_id("a@x").expect("lookup"),
        Some(reference)
    );
}

#[test]
fn store_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Store>();
    assert!(format!("{:?}", temp()).starts_with("Store"));
}

#[test]
fn outbox_recipient_index_counts_recent_rows_per_address() {
    let store = Store::open_temporary().expect("temporary store");
    let t0 = Utc
        .with_ymd_and_hms(2026, 11, 23, 9, 0, 0)
        .single()
        .expect("valid");
    let row = |to: Option<&str>, mins: i64| NewOutboxRow {
        recipient: to.map(str::to_string),
        case: None,
        created_at: t0 + chrono::Duration::minutes(mins),
        payload: serde_json::json!({"job": "test"}),
        next_attempt_at: t0,
    };
    let change = Change {
        outbox_new: vec![
            row(Some("Ann@Example.org"), 0),
            row(Some("ann@example.org"), 60),
            row(Some("ann@example.org"), 120),
            row(Some("bob@example.org"), 60),
            row(None, 60),
        ],
        ..Change::default()
    };
    store.apply(change).expect("apply");
    let table = [
        ("ann@example.org", t0, 3),
        ("ANN@EXAMPLE.ORG", t0, 3),
        ("ann@example.org", t0 + chrono::Duration::minutes(1), 2),
        ("ann@example.org", t0 + chrono::Duration::minutes(120), 1),
        ("ann@example.org", t0 + chrono::Duration::minutes(121), 0),
        ("bob@example.org", t0, 1),
        ("an@example.org", t0, 0),
        ("ann@example.or", t0, 0),
        ("", t0, 0),
    ];
    for (addr, since, want) in table {
        assert_eq!(
            store.outbox_count_to(addr, since).expect("count"),
            want,
            "{addr} since {since}"
        );
    }
}

#[test]
fn outbox_recipient_index_folds_sub_addresses_into_one_mailbox() {
    let store = Store::open_temporary().expect("temporary store");
    let t0 = Utc
        .with_ymd_and_hms(2026, 11, 23, 9, 0, 0)
        .single()
        .expect("valid");
    let row = |to: &str| NewOutboxRow {
        recipient: Some(to.to_string()),
        case: None,
        created_at: t0,
        payload: serde_json::json!({"job": "test"}),
        next_attempt_at: t0,
    };
    let change = Change {
        outbox_new: vec![
            row("jo@example.org"),
            row("jo+1@example.org"),
            row("JO+Two@Example.org"),
            row("+x@example.org"),
        ],
        ..Change::default()
    };
    store.apply(change).expect("apply");
    let table = [
        ("jo@example.org", 3),
        ("jo+anything@example.org", 3),
        ("Jo+1@EXAMPLE.org", 3),
        ("+x@example.org", 1),
        ("jo@example.com", 0),
    ];
    for (addr, want) in table {
        assert_eq!(
            store.outbox_count_to(addr, t0).expect("count"),
            want,
            "{addr}"
        );
    }
}

#[test]
fn outbox_count_since_reads_the_window_from_the_newest_row_back() {
    let store = Store::open_temporary().expect("temporary store");
    let t0 = Utc
        .with_ymd_and_hms(2026, 11, 23, 9, 0, 0)
        .single()
        .expect("valid");
    let row = |job: &str, mins: i64| NewOutboxRow {
        recipient: None,
        case: None,
        created_at: t0 + chrono::Duration::minutes(mins),
        payload: serde_json::json!({ "job": job }),
        next_attempt_at: t0,
    };
    let is_ack = |r: &OutboxRow| r.payload["job"] == "ack";
    assert_eq!(store.outbox_count_since(t0, is_ack).expect("empty"), 0);
    let change = Change {
        outbox_new: vec![
            row("ack", 0),
            row("mail", 10),
            row("ack", 30),
            row("ack", 59),
            row("mail", 60),
        ],
        ..Change::default()
    };
    store.apply(change).expect("apply");
    let table = [
        (-60, 3, 5),
        (0, 3, 5),
        (1, 2, 4),
        (31, 1, 2),
        (60, 0, 1),
        (61, 0, 0),
    ];
    for (mins, acks, all) in table {
        let since = t0 + chrono::Duration::minutes(mins);
        assert_eq!(
            store.outbox_count_since(since, is_ack).expect("count"),
            acks,
            "acks since +{mins}"
        );
        assert_eq!(
            store.outbox_count_since(since, |_| true).expect("count"),
            all,
            "all since +{mins}"
        );
    }
}

#[test]
fn marks_are_set_in_the_change_and_scanned_by_prefix() {
    let store = Store::open_temporary().expect("temporary store");
    let mark = |k: &str, v: serde_json::Value| Mark {
        key: k.to_string(),
        value: v,
    };
    store
        .apply(Change {
            marks: vec![
                mark(
                    "chaser/FOI-2026-000001/2026-12-21/before:5",
                    json!("2026-12-14T08:00:00Z"),
                ),
                mark("chaser/FOI-2026-000002/2026-12-22/on_day", json!(true)),
                mark("rr/information-governance", json!(3)),
            ],
            ..Change::default()
        })
        .expect("apply");
    store
        .apply(Change {
            marks: vec![mark("rr/information-governance", json!(4))],
            ..Change::default()
        })
        .expect("overwrite");
    assert_eq!(
        store.mark("rr/information-governance").expect("read"),
        Some(json!(4))
    );
    assert_eq!(store.mark("rr/nobody").expect("read"), None);
    let chasers = store.marks("chaser/").expect("scan");
    assert_eq!(
        chasers.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        [
            "chaser/FOI-2026-000001/2026-12-21/before:5",
            "chaser/FOI-2026-000002/2026-12-22/on_day"
        ]
    );
    assert!(store.marks("digest/").expect("scan").is_empty());
    let err = store
        .apply(Change {
            marks: vec![mark("  ", json!(1))],
            ..Change::default()
        })
        .expect_err("empty key");
    assert!(err.to_string().contains("marks[0]"), "{err}");
}

/// Modes of everything under `dir` (itself included), relative path → permission bits; links and
/// sockets left out.
fn modes(dir: &std::path::Path) -> Vec<(String, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let meta = std::fs::symlink_metadata(&d).expect("stat");
        out.push((
            d.strip_prefix(dir).expect("under").display().to_string(),
            meta.permissions().mode() & 0o7777,
        ));
        if meta.is_dir() {
            for e in std::fs::read_dir(&d).expect("list") {
                let p = e.expect("entry").path();
                let m = std::fs::symlink_metadata(&p).expect("stat");
                if m.is_dir() || m.is_file() {
                    pending.push(p);
                }
            }
        }
    }
    out
}

#[test]
fn a_new_store_is_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().expect("tempdir");
    // Parents that do not exist yet are created 0700 too.
    let path = tmp.path().join("var").join("data");
    drop(Store::open(&path).expect("new store opens"));
    let parent = std::fs::metadata(tmp.path().join("var")).expect("parent");
    assert_eq!(parent.permissions().mode() & 0o7777, 0o700, "parent");
    let all = modes(&path);
    assert!(all.len() > 2, "sled wrote files: {all:?}");
    for (name, mode) in all {
        let is_dir = std::fs::metadata(path.join(&name)).expect("stat").is_dir();
        let want = if is_dir { 0o700 } else { 0o600 };
        assert_eq!(mode, want, "{name:?}: {mode:o}");
    }
}

#[test]
fn opening_tightens_an_existing_store_and_leaves_links_alone() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("data");
    drop(Store::open(&path).expect("new store opens"));
    let outside = tmp.path().join("outside.txt");
    std::fs::write(&outside, "not the store's").expect("write");
    std::fs::set_permissions(&outside, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    std::os::unix::fs::symlink(&outside, path.join("link")).expect("symlink");
    let table = [
        ("", 0o755),
        ("conf", 0o644),
        ("db", 0o666),
        ("blobs", 0o777),
    ];
    for (name, mode) in table {
        let p = path.join(name);
        if p.exists() {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
        }
    }
    drop(Store::open(&path).expect("reopens"));
    for (name, mode) in modes(&path) {
        let is_dir = std::fs::metadata(path.join(&name)).expect("stat").is_dir();
        assert_eq!(
            mode,
            if is_dir { 0o700 } else { 0o600 },
            "{name:?}: {mode:o}"
        );
    }
    let left = std::fs::metadata(&outside)
        .expect("stat")
        .permissions()
        .mode()
        & 0o7777;
    assert_eq!(
        left, 0o644,
        "a link's target outside the store is not touched"
    );
}

#[test]
fn a_store_path_that_cannot_be_a_directory_is_a_permissions_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "x").expect("write");
    for path in [file.clone(), file.join("below")] {
        match Store::open(&path) {
            Err(StoreError::Permissions { path: p, .. }) => assert_eq!(p, path),
            other => panic!("{}: {:?}", path.display(), other.map(|_| "opened")),
        }
    }
}

#[test]
fn marks_cleared_are_removed_before_marks_are_set() {
    let store = Store::open_temporary().expect("temporary store");
    let mark = |k: &str, v: serde_json::Value| Mark {
        key: k.to_string(),
        value: v,
    };
    store
        .apply(Change {
            marks: vec![mark("a/1", json!(1)), mark("a/2", json!(2))],
            ..Change::default()
        })
        .expect("apply");
    // (cleared, set, what is left under `a/`)
    let table: [(&[&str], Vec<Mark>, &[&str]); 3] = [
        (&["a/1", "a/never-written"], vec![], &["a/2"]),
        (&["a/2"], vec![mark("a/2", json!(3))], &["a/2"]),
        (&["a/2"], vec![], &[]),
    ];
    for (cleared, set, left) in table {
        store
            .apply(Change {
                marks: set,
                marks_cleared: cleared.iter().map(|k| k.to_string()).collect(),
                ..Change::default()
            })
            .expect("apply");
        let keys = store.marks("a/").expect("scan");
        assert_eq!(
            keys.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            left,
            "{cleared:?}"
        );
    }
    let err = store
        .apply(Change {
            marks_cleared: vec![" ".into()],
            ..Change::default()
        })
        .expect_err("empty key");
    assert!(err.to_string().contains("marks_cleared[0]"), "{err}");
    assert!(
        !Change {
            marks_cleared: vec!["a/1".into()],
            ..Change::default()
        }
        .is_empty()
    );
}

/// A `Sending` row stays in the due index (a restarted worker finds it); only `Failed` rows
/// queued at or after `since` are listed for the digest.
#[test]
fn sending_rows_stay_queued_and_failed_rows_are_listed() {
    let store = Store::open_temporary().expect("temporary store");
    let at = |d| t(2026, 3, d, 9);
    let row = |d| NewOutboxRow {
        recipient: None,
        case: None,
        created_at: at(d),
        payload: json!({"job": "test"}),
        next_attempt_at: at(d),
    };
    let ids = store
        .apply(Change {
            outbox_new: vec![row(1), row(2), row(3), row(4)],
            ..Change::default()
        })
        .expect("applies")
        .outbox_ids;
    let upd = |id, status| OutboxUpdate {
        id,
        status,
        attempts: 1,
        last_error: None,
        next_attempt_at: at(5),
        interrupted: 0,
    };
    store
        .apply(Change {
            outbox_updates: vec![
                upd(ids[0], OutboxStatus::Failed),
                upd(ids[1], OutboxStatus::Sending),
                upd(ids[2], OutboxStatus::Failed),
                upd(ids[3], OutboxStatus::Sent),
            ],
            ..Change::default()
        })
        .expect("applies");
    let queued: Vec<u64> = store
        .outbox_pending(at(5))
        .expect("read")
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(queued, [ids[1]], "the in-flight row is still queued");
    assert!(
        store.outbox_pending(at(4)).expect("read").is_empty(),
        "due at its attempt time"
    );
    let failed = |since| -> Vec<u64> {
        store
            .outbox_failed(since)
            .expect("read")
            .iter()
            .map(|r| r.id)
            .collect()
    };
    assert_eq!(failed(at(1)), [ids[0], ids[2]]);
    assert_eq!(failed(at(2)), [ids[2]]);
    assert!(failed(at(4)).is_empty());
    // Failing the in-flight row takes it out of the queue.
    store
        .apply(Change {
            outbox_updates: vec![upd(ids[1], OutboxStatus::Failed)],
            ..Change::default()
        })
        .expect("applies");
    assert!(store.outbox_pending(at(5)).expect("read").is_empty());
    assert_eq!(failed(at(1)), [ids[0], ids[1], ids[2]]);
}

/// `write_failed` is the daemon's signal to stop: set by a write sled failed (simulated here:
/// sled has no fault injection; the real full disk is in `tests/daemon/durability.rs`), never by
/// a change the store refused, and it wakes a waiter on any handle of the store.
#[test]
fn only_a_failed_write_wakes_write_failed_on_every_handle() {
    use futures::FutureExt;
    let store = temp();
    let ghost = draft("ghost@x", "", "", None).into_case(r("FOI-2026-000099"));
    store
        .apply(everything_change(ghost))
        .expect_err("missing case");
    assert_eq!(store.write_failed().now_or_never(), None, "a refusal");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let said = rt.block_on(async {
        let other = store.clone();
        let waiter = tokio::spawn(async move { other.write_failed().await });
        tokio::task::yield_now().await;
        let e = store.failed(StoreError::Sled {
            op: "flush",
            tree: TREE_DB,
            source: sled::Error::Io(std::io::Error::from_raw_os_error(28)),
        });
        assert!(matches!(e, StoreError::Sled { op: "flush", .. }), "{e}");
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("woken")
            .expect("waiter")
    });
    assert!(said.contains("flush"), "{said}");
    assert_eq!(
        store.write_failed().now_or_never(),
        Some(said),
        "and stays set"
    );
}

fn machine_draft(hash: &str, filed: DateTime<Utc>) -> crate::model::machine::MachineMailDraft {
    crate::model::machine::MachineMailDraft {
        id: (),
        filed_at: filed,
        received_at: filed,
        from: "jo@example.org".into(),
        subject: "Automatic reply".into(),
        kind: Kind::Auto,
        why: "auto won".into(),
        rules: vec!["auto.auto-submitted".into()],
        suggested: Kind::Foi,
        content_hash: hash.into(),
        message_id: Some("m1@example.org".into()),
        size: 3,
        partial: false,
        opened: None,
    }
}

/// Keeps a machine-mail record (with a `seen` record, as intake writes them) and returns its id.
fn keep(store: &Store, year: i32, hash: &str, raw: &[u8]) -> MachineMailId {
    let applied = store
        .apply(Change {
            seen: vec![SeenRecord {
                at: t(2026, 3, 2, 9),
                message_id: None,
                content_hash: Some(hash.into()),
                kind: Some(Kind::Auto),
                why: "auto won".into(),
            }],
            machine_mail: Some(NewMachineMail {
                year,
                draft: machine_draft(hash, t(2026, 3, 2, 9)),
                raw: raw.to_vec(),
            }),
            ..Change::default()
        })
        .expect("kept");
    applied.machine_mail.expect("an id")
}

fn open_change(id: MachineMailId, by: &str, hash: &str) -> Change {
    Change {
        machine_mail_opened: vec![MachineMailOpened {
            id,
            case: CaseTarget::New,
            by: by.into(),
            at: t(2026, 3, 3, 9),
        }],
        ..new_case("FOI", 2026, draft("jo@example.org", "", hash, None))
    }
}

#[test]
fn machine_mail_is_kept_with_its_seen_record_numbered_in_order_and_read_back() {
    let store = temp();
    let first = keep(&store, 2026, "aa01", b"one");
    let second = keep(&store, 2027, "aa02", b"two");
    assert_eq!(
        (first.to_string(), second.to_string()),
        ("M-2026-000001".to_string(), "M-2027-000002".to_string())
    );
    assert!(
        store
            .find_seen(SeenKey::ContentHash("aa01"))
            .expect("read")
            .is_some()
    );
    let record = store.machine_mail(&first).expect("read").expect("kept");
    assert_eq!(
        record,
        machine_draft("aa01", t(2026, 3, 2, 9)).into_record(first)
    );
    assert_eq!(
        store.machine_mail_raw(&first).expect("read"),
        Some(b"one".to_vec())
    );
    // The number is the key; the year must match too.
    let other_year = MachineMailId::new(2025, 1).expect("id");
    assert_eq!(store.machine_mail(&other_year).expect("read"), None);
    let ids = |after| -> Vec<MachineMailId> {
        store
            .machine_mail_after(after)
            .expect("scan")
            .into_iter()
            .map(|r| r.id)
            .collect()
    };
    assert_eq!(ids(0), [first, second]);
    assert_eq!(ids(1), [second]);
    assert!(ids(2).is_empty());
    // A bad year is refused before the transaction.
    let bad = Change {
        machine_mail: Some(NewMachineMail {
            year: 99,
            draft: machine_draft("aa03", t(2026, 3, 2, 9)),
            raw: Vec::new(),
        }),
        ..Change::default()
    };
    assert!(matches!(
        store.apply(bad),
        Err(StoreError::InvalidChange { .. })
    ));
}

#[test]
fn a_machine_mail_record_opens_one_case_only() {
    let store = temp();
    let id = keep(&store, 2026, "bb01", b"raw");
    let applied = store
        .apply(open_change(id, "alice@council.example", "case-1"))
        .expect("opened");
    let case = applied.new_case.expect("a case");
    let opened = store
        .machine_mail(&id)
        .expect("read")
        .and_then(|r| r.opened)
        .expect("marked opened");
    assert_eq!(
        (opened.case, opened.by.as_str(), opened.at),
        (case.clone(), "alice@council.example", t(2026, 3, 3, 9))
    );
    // A second opening is refused with the case it made, and writes nothing (no second case).
    let err = store
        .apply(open_change(id, "bob@council.example", "case-2"))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "machine mail {id} was already opened as {case} (by alice@council.example); nothing was written"
        )
    );
    assert_eq!(
        store.list_cases(CaseOrder::Reference).expect("list").len(),
        1
    );
    // A record not kept cannot be opened.
    let missing = MachineMailId::new(2026, 9).expect("id");
    let err = store
        .apply(open_change(missing, "alice@council.example", "case-3"))
        .unwrap_err();
    assert!(
        matches!(err, StoreError::MachineMailNotFound { .. }),
        "{err}"
    );
    assert_eq!(
        store.list_cases(CaseOrder::Reference).expect("list").len(),
        1
    );
}

#[test]
fn purged_machine_mail_is_gone_with_its_raw_bytes_and_the_rest_stays() {
    let store = temp();
    let old = keep(&store, 2026, "cc01", b"old");
    let new = keep(&store, 2026, "cc02", b"new");
    let ghost = MachineMailId::new(2026, 40).expect("id");
    store
        .apply(Change {
            machine_mail_purged: vec![old, ghost],
            ..Change::default()
        })
        .expect("purged (a missing record is not an error)");
    assert_eq!(store.machine_mail(&old).expect("read"), None);
    assert_eq!(store.machine_mail_raw(&old).expect("read"), None);
    assert!(store.machine_mail(&new).expect("read").is_some());
    assert_eq!(
        store.machine_mail_raw(&new).expect("read"),
        Some(b"new".to_vec())
    );
    // Numbers are never reused.
    assert_eq!(keep(&store, 2026, "cc03", b"x").seq(), 3);
}
