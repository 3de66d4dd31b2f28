//! The guard's decision, table-driven: attempts left by earlier deaths → triage or quarantine.

use super::*;
use crate::model::records::SeenRecord;
use chrono::TimeZone;

fn t(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, hour, 0, 0)
        .single()
        .expect("valid")
}

fn pos(uid: u32) -> Position {
    Position {
        mailbox: "INBOX".into(),
        uidvalidity: 7,
        uid,
    }
}

fn attempt(count: u32) -> IntakeAttempt {
    IntakeAttempt {
        count,
        first_at: t(8),
        last_at: t(9),
        mailbox: "INBOX".into(),
        uidvalidity: 7,
        uid: 40,
    }
}

#[test]
fn attempts_left_behind_decide_between_triage_and_quarantine() {
    // (attempt record left by earlier attempts, Some(attempt number) to triage / None to give up)
    let table: [(Option<IntakeAttempt>, Option<u32>); 5] = [
        (None, Some(1)),
        (Some(attempt(0)), Some(1)),
        (Some(attempt(1)), Some(2)),
        (Some(attempt(2)), None),
        (Some(attempt(9)), None),
    ];
    for (previous, expected) in table {
        let gate = gate(previous.as_ref(), "abc", &pos(41), t(10));
        match (gate, expected) {
            (Gate::Triage { record, attempt }, Some(n)) => {
                assert_eq!(attempt, n, "{previous:?}");
                assert_eq!(record.marks.len(), 1);
                assert_eq!(record.marks[0].key, "intake/attempt/abc");
                let written: IntakeAttempt =
                    serde_json::from_value(record.marks[0].value.clone()).expect("decodes");
                let first_at = previous.as_ref().map_or(t(10), |a| a.first_at);
                assert_eq!(
                    written,
                    IntakeAttempt {
                        count: n,
                        first_at,
                        last_at: t(10),
                        mailbox: "INBOX".into(),
                        uidvalidity: 7,
                        uid: 41,
                    }
                );
                assert!(record.cursor.is_none(), "the cursor moves only on success");
                assert!(record.seen.is_empty() && record.marks_cleared.is_empty());
            }
            (Gate::GiveUp { change, why }, None) => {
                let deaths = previous.as_ref().map_or(0, |a| a.count);
                assert!(why.contains(&format!("died {deaths} times")), "{why}");
                assert_eq!(
                    change,
                    plan_needs_triage(None, "abc", &why, &pos(41), t(10))
                );
            }
            (other, expected) => panic!("{previous:?}: got {other:?}, wanted {expected:?}"),
        }
    }
}

#[test]
fn giving_up_quarantines_moves_the_cursor_and_leaves_a_record_for_people() {
    let change = plan_needs_triage(Some("m@x".into()), "abc", "it died", &pos(41), t(10));
    let cursor = change.cursor.as_ref().expect("cursor moves on");
    assert_eq!(
        (
            cursor.mailbox.as_str(),
            cursor.cursor.uidvalidity,
            cursor.cursor.last_uid
        ),
        ("INBOX", 7, 41)
    );
    assert_eq!(
        change.seen,
        vec![SeenRecord {
            at: t(10),
            message_id: Some("m@x".into()),
            content_hash: Some("abc".into()),
            kind: None,
            why: "quarantined: it died".into(),
        }]
    );
    assert_eq!(change.marks_cleared, vec!["intake/attempt/abc".to_string()]);
    assert_eq!(change.marks.len(), 1);
    assert_eq!(change.marks[0].key, "intake/needs-triage/abc");
    let listed = needs_triage(&[(change.marks[0].key.clone(), change.marks[0].value.clone())]);
    assert_eq!(
        listed,
        vec![NeedsTriage {
            at: t(10),
            mailbox: "INBOX".into(),
            uidvalidity: 7,
            uid: 41,
            content_hash: "abc".into(),
            why: "it died".into(),
        }]
    );
}

#[test]
fn settle_clears_the_attempt_in_the_recording_change() {
    let mut change = Change::default();
    settle(&mut change, "abc");
    assert_eq!(change.marks_cleared, vec!["intake/attempt/abc".to_string()]);
    assert!(change.marks.is_empty());
}

#[test]
fn needs_triage_lists_oldest_first_and_skips_other_and_damaged_marks() {
    let rec = |h: &str, hour: u32| {
        serde_json::to_value(NeedsTriage {
            at: t(hour),
            mailbox: "INBOX".into(),
            uidvalidity: 7,
            uid: hour,
            content_hash: h.into(),
            why: "w".into(),
        })
        .expect("encodes")
    };
    let marks = vec![
        (needs_triage_key("b"), rec("b", 11)),
        (needs_triage_key("a"), rec("a", 12)),
        (needs_triage_key("c"), serde_json::json!("damaged")),
        (attempt_key("d"), rec("d", 9)),
        (needs_triage_key("e"), rec("e", 10)),
    ];
    let hashes: Vec<String> = needs_triage(&marks)
        .into_iter()
        .map(|n| n.content_hash)
        .collect();
    assert_eq!(hashes, ["e", "b", "a"]);
}

#[test]
fn undo_restores_the_previous_attempt_or_clears_a_first_one() {
    let first = undo(None, "abc");
    assert_eq!(first.marks_cleared, vec!["intake/attempt/abc".to_string()]);
    assert!(first.marks.is_empty());
    let again = undo(Some(&attempt(1)), "abc");
    assert!(again.marks_cleared.is_empty());
    assert_eq!(again.marks[0].key, "intake/attempt/abc");
    let restored: IntakeAttempt =
        serde_json::from_value(again.marks[0].value.clone()).expect("decodes");
    assert_eq!(restored, attempt(1));
}
