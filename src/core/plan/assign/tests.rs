//! Assignment planning without a store: a small routing file, facts given by hand.

use super::*;
use crate::core::plan::testkit::{
    ALICE, BOB, Desk, PRESS_INBOX, ROADS_BOSS, at, audit_actions, case, counting, ctx,
};
use crate::model::case::CaseRef;
use crate::model::kind::Kind;

const RECEIVED: &str = "2026-03-02T09:30:00Z";
const NOW: &str = "2026-03-02T09:31:00Z";
const BODY: &str = "Please tell me how many parking fines were issued on Mill Lane in 2025.";

/// (kind, subject, round-robin counters, team, assignee, counter mark, mail to)
type Row<'a> = (
    Kind,
    &'a str,
    &'a [(&'a str, u64)],
    &'a str,
    Option<&'a str>,
    Option<u64>,
    &'a [&'a str],
);

#[test]
fn routes_by_rule_and_round_robin_and_writes_to_the_right_people() {
    let desk = Desk::new();
    let table: &[Row] = &[
        (
            Kind::Foi,
            "Parking fines",
            &[],
            "ig",
            Some(ALICE),
            Some(1),
            &[ALICE],
        ),
        (
            Kind::Foi,
            "Parking fines",
            &[("ig", 1)],
            "ig",
            Some(BOB),
            Some(2),
            &[BOB],
        ),
        (
            Kind::Foi,
            "Parking fines",
            &[("ig", 3), ("press", 9)],
            "ig",
            Some(BOB),
            Some(4),
            &[BOB],
        ),
        (
            Kind::Foi,
            "Pothole on Mill Lane",
            &[("ig", 5)],
            "roads",
            Some(ROADS_BOSS),
            None,
            &[ROADS_BOSS],
        ),
        (
            Kind::Media,
            "Press enquiry",
            &[],
            "press",
            None,
            None,
            &[PRESS_INBOX],
        ),
    ];
    for (kind, subject, counters, team, assignee, mark, to) in table {
        let c = case(7, *kind, subject, RECEIVED);
        let counters: BTreeMap<String, u64> =
            counters.iter().map(|(t, n)| (t.to_string(), *n)).collect();
        let facts = AssignFacts {
            case: &c,
            body: BODY,
            counters: &counters,
            earlier: &[],
            original_stored: true,
        };
        let (change, letters) =
            plan_assign(&desk.office(), ctx(), &facts, at(NOW), &mut counting());
        let why = format!("{kind} {subject:?}");
        let updated = &change.case_updates[0].case;
        assert_eq!(change.case_updates[0].expected.as_ref(), Some(&c), "{why}");
        assert_eq!(updated.team.as_deref(), Some(*team), "{why}");
        assert_eq!(updated.assignee.as_deref(), *assignee, "{why}");
        assert_eq!(updated.updated_at, at(NOW), "{why}");
        assert!(updated.workflow.fingerprint.is_some(), "{why}");
        let marks: Vec<(String, serde_json::Value)> = change
            .marks
            .iter()
            .map(|m| (m.key.clone(), m.value.clone()))
            .collect();
        let want: Vec<(String, serde_json::Value)> = mark
            .iter()
            .map(|n| (format!("rr/{team}"), json!(n)))
            .collect();
        assert_eq!(marks, want, "{why}");
        assert_eq!(
            audit_actions(&change),
            ["routed", "assignment_mail_queued"],
            "{why}"
        );
        assert!(
            change.outbox_new.is_empty(),
            "the app renders the letter: {why}"
        );
        assert_eq!(letters.len(), 1, "{why}");
        let l = &letters[0];
        assert_eq!(l.to, *to, "{why}");
        assert_eq!(l.message_id, "id-1", "{why}");
        assert_eq!(l.case.as_ref(), Some(&c.reference), "{why}");
        assert_eq!(
            l.reply_to,
            desk.office().command_address(&c.reference, to[0]),
            "{why}: bound to the first recipient"
        );
        assert!(
            l.reply_to.as_deref().is_some_and(|r| r.contains('+')),
            "{why}"
        );
        assert_eq!(l.attach_original.as_deref(), Some("hash-7"), "{why}");
    }
}

#[test]
fn the_assignment_letter_states_the_case_facts() {
    let desk = Desk::new();
    // (kind, original stored, attached, internal target expected)
    let table = [
        (Kind::Foi, true, true, true),
        (Kind::Foi, false, false, true),
        (Kind::General, true, true, false),
    ];
    for (kind, stored, attached, target) in table {
        let c = case(8, kind, "Parking fines", RECEIVED);
        let facts = AssignFacts {
            case: &c,
            body: BODY,
            counters: &BTreeMap::new(),
            earlier: &[],
            original_stored: stored,
        };
        let (_, letters) = plan_assign(&desk.office(), ctx(), &facts, at(NOW), &mut counting());
        let LetterBody::Assignment(a) = &letters[0].body else {
            panic!("an assignment letter");
        };
        assert_eq!(a.reference, c.reference);
        assert_eq!(a.kind, kind);
        assert_eq!(a.team_name, "Information Governance");
        assert_eq!(a.received, chrono::NaiveDate::from_ymd_opt(2026, 3, 2));
        assert_eq!(a.due, c.due);
        assert_eq!(a.internal_target.is_some(), target, "{kind}");
        assert_eq!(a.state, c.state);
        assert_eq!(a.valid, Some(true));
        assert_eq!(a.original_attached, attached, "{kind} {stored}");
        assert_eq!(letters[0].attach_original.is_some(), attached);
        assert!(a.why.contains("round robin"), "{}", a.why);
    }
}

#[test]
fn machine_mail_is_never_routed() {
    let desk = Desk::new();
    let c = case(9, Kind::Auto, "Out of office", RECEIVED);
    let facts = AssignFacts {
        case: &c,
        body: BODY,
        counters: &BTreeMap::new(),
        earlier: &[],
        original_stored: true,
    };
    let (change, letters) = plan_assign(&desk.office(), ctx(), &facts, at(NOW), &mut counting());
    assert!(change.is_empty());
    assert!(letters.is_empty());
}

#[test]
fn earlier_look_alike_requests_from_the_same_person_are_flagged_not_refused() {
    let desk = Desk::new();
    let c = case(10, Kind::Foi, "Parking fines", RECEIVED);
    let fingerprint = Fingerprint::of(&format!("{}\n{}", c.subject, BODY));
    let mut same = case(3, Kind::Foi, "Parking fines", "2026-01-05T10:00:00Z");
    same.workflow.fingerprint = Some(fingerprint.clone());
    let no_fingerprint = case(4, Kind::Foi, "Parking fines", "2026-01-06T10:00:00Z");
    let mut itself = c.clone();
    itself.workflow.fingerprint = Some(fingerprint);
    // (earlier cases, flagged references)
    let table: Vec<(Vec<Case>, Vec<CaseRef>)> = vec![
        (vec![], vec![]),
        (vec![no_fingerprint.clone(), itself], vec![]),
        (
            vec![same.clone(), no_fingerprint],
            vec![same.reference.clone()],
        ),
    ];
    for (earlier, flagged) in table {
        let facts = AssignFacts {
            case: &c,
            body: BODY,
            counters: &BTreeMap::new(),
            earlier: &earlier,
            original_stored: true,
        };
        let (change, letters) =
            plan_assign(&desk.office(), ctx(), &facts, at(NOW), &mut counting());
        let flags: Vec<CaseRef> = change.case_updates[0]
            .case
            .workflow
            .flags
            .iter()
            .filter_map(|f| match f {
                Flag::PossibleRepeat { of, .. } => Some(of.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(flags, flagged);
        let mut want = vec!["possible_repeat"; flagged.len()];
        want.extend(["routed", "assignment_mail_queued"]);
        assert_eq!(audit_actions(&change), want);
        if let Some(a) = change.audit.first().filter(|_| !flagged.is_empty()) {
            assert_eq!(a.event.detail["of"], json!(flagged[0]));
            assert!(
                a.event
                    .why
                    .ends_with("(for a person to judge; nothing was refused)")
            );
        }
        assert_eq!(letters.len(), 1, "a repeat is still assigned");
    }
}
