//! Staff commands without a store: authorisation, each line applied, the answer and the letters
//! to the requester.

use super::*;
use crate::core::actions::token::legacy_tag;
use crate::core::actions::{ReplyKeys, sign};
use crate::core::plan::testkit::{
    ALICE, BOB, BOSS, Desk, PRESS_INBOX, SHARED, at, audit_actions, case, counting, ctx,
};
use crate::model::case::{CaseState, CloseOutcome, Closure};
use crate::model::kind::Kind;
use crate::model::message::Address;

const RECEIVED: &str = "2026-03-02T09:30:00Z";
const NOW: &str = "2026-03-04T11:00:00Z";

fn staff_reply(body: &str) -> Message {
    Message {
        message_id: Some("staff-1@council.example".into()),
        body_text: body.into(),
        ..Message::default()
    }
}

/// The trusted gateway vouches for the staff domain.
fn authed() -> Authenticity {
    Authenticity::Authenticated {
        method: "dmarc".into(),
        domain: "council.example".into(),
    }
}

/// (body, a test per answered line, state after, letters to the requester)
type LineRow<'a> = (&'a str, &'a [fn(&CommandOutcome) -> bool], CaseState, usize);

/// (to, cc, headers, found)
type TargetRow = (Vec<Address>, Vec<Address>, Vec<(String, String)>, bool);

/// Case 5, assigned to Alice in team `ig`.
fn assigned() -> Case {
    let mut c = case(5, Kind::Foi, "Parking fines", RECEIVED);
    c.assignee = Some(ALICE.into());
    c.team = Some("ig".into());
    c
}

/// `c` closed at `at`.
fn closed(mut c: Case, at_: &str) -> Case {
    c.state = CaseState::Closed;
    c.workflow.closure = Some(Closure {
        outcome: CloseOutcome::ProvidedInFull,
        exemptions: Vec::new(),
        at: at(at_),
    });
    c
}

/// `tag` with its last hex digit changed.
fn damaged(tag: &ReplyTag) -> ReplyTag {
    let mut t = tag.tag.clone();
    let last = if t.ends_with('0') { "1" } else { "0" };
    t.pop();
    t.push_str(last);
    ReplyTag {
        tag: t,
        ..tag.clone()
    }
}

#[test]
fn every_check_refuses_in_order() {
    let desk = Desk::new();
    let office = desk.office();
    let c = assigned();
    let r = &c.reference;
    let keys = &desk.keys;
    let for_alice = sign(keys, r, ALICE);
    let for_bob = sign(keys, r, BOB);
    let for_inbox = sign(keys, r, PRESS_INBOX);
    let other_case = ReplyTag {
        reference: r.clone(),
        ..sign(keys, &case(6, Kind::Foi, "x", RECEIVED).reference, ALICE)
    };
    let removed_key = ReplyKeys::new(&["a key that is no longer in the file"]).expect("key");
    let revoked = sign(&removed_key, r, ALICE);
    let legacy = legacy_tag(keys, r);
    let mut former_assignee = c.clone();
    former_assignee.assignee = Some("carol@council.example".into());
    let for_former = sign(keys, r, "carol@council.example");
    let no_gateway = Authenticity::NoGateway;
    let ok = authed();
    let failed = Authenticity::NotAuthenticated {
        why: "dmarc=fail".into(),
    };
    let expired_on = |day: &str| Refusal::Expired {
        closed_on: day.parse().expect("date"),
        days: 30,
    };
    // (sender, tag, case, what the gateway says, refusal, what)
    type Row<'a> = (
        &'a str,
        ReplyTag,
        Case,
        &'a Authenticity,
        Option<Refusal>,
        &'a str,
    );
    let table: Vec<Row> = vec![
        (
            ALICE,
            for_alice.clone(),
            c.clone(),
            &ok,
            None,
            "the assignee, her own address",
        ),
        (
            "ALICE@Council.example",
            for_alice.clone(),
            c.clone(),
            &ok,
            None,
            "letter case",
        ),
        (
            BOB,
            for_bob.clone(),
            c.clone(),
            &ok,
            None,
            "a colleague with his own address",
        ),
        (
            "mallory@example.org",
            for_alice.clone(),
            c.clone(),
            &ok,
            Some(Refusal::NotStaff),
            "a stranger with a good address",
        ),
        (
            "mallory@example.org",
            damaged(&for_alice),
            c.clone(),
            &no_gateway,
            Some(Refusal::NotStaff),
            "a stranger first",
        ),
        (
            BOB,
            for_alice.clone(),
            c.clone(),
            &ok,
            Some(Refusal::OtherRecipient {
                bound_to: ALICE.into(),
            }),
            "Alice's address forwarded to Bob",
        ),
        (
            ALICE,
            for_bob.clone(),
            c.clone(),
            &ok,
            Some(Refusal::OtherRecipient {
                bound_to: BOB.into(),
            }),
            "Bob's address used by Alice",
        ),
        (
            BOB,
            for_inbox.clone(),
            c.clone(),
            &ok,
            Some(Refusal::OtherRecipient {
                bound_to: PRESS_INBOX.into(),
            }),
            "a team inbox's copy",
        ),
        (
            BOB,
            for_former.clone(),
            former_assignee.clone(),
            &ok,
            Some(Refusal::OtherRecipient {
                bound_to: "carol@council.example".into(),
            }),
            "the assignee has left the staff list",
        ),
        (
            "alice+foi@council.example",
            for_alice.clone(),
            c.clone(),
            &ok,
            Some(Refusal::NotStaff),
            "+tag is another address",
        ),
        (
            ALICE,
            other_case.clone(),
            c.clone(),
            &ok,
            Some(Refusal::BadToken),
            "another case's tag",
        ),
        (
            ALICE,
            damaged(&for_alice),
            c.clone(),
            &ok,
            Some(Refusal::BadToken),
            "damaged",
        ),
        (
            ALICE,
            revoked.clone(),
            c.clone(),
            &ok,
            Some(Refusal::UnknownKey),
            "its key was removed",
        ),
        (
            ALICE,
            revoked.clone(),
            c.clone(),
            &no_gateway,
            Some(Refusal::UnknownKey),
            "the token before the gateway",
        ),
        (
            ALICE,
            legacy.clone(),
            c.clone(),
            &ok,
            None,
            "old-style, from the assignee",
        ),
        (
            BOB,
            legacy.clone(),
            c.clone(),
            &ok,
            Some(Refusal::OldAddressNotAssignee),
            "old-style, from a colleague",
        ),
        (
            ALICE,
            damaged(&legacy),
            c.clone(),
            &ok,
            Some(Refusal::BadToken),
            "old-style, damaged",
        ),
        (
            ALICE,
            for_alice.clone(),
            closed(c.clone(), "2026-02-02T11:00:01Z"),
            &ok,
            None,
            "closed 29 days and 23:59:59 ago",
        ),
        (
            ALICE,
            for_alice.clone(),
            closed(c.clone(), "2026-02-02T11:00:00Z"),
            &ok,
            Some(expired_on("2026-02-02")),
            "closed exactly 30 days ago",
        ),
        (
            ALICE,
            legacy.clone(),
            closed(c.clone(), "2025-12-01T09:00:00Z"),
            &ok,
            Some(expired_on("2025-12-01")),
            "old-style and long closed",
        ),
        (
            BOB,
            for_alice.clone(),
            closed(c.clone(), "2025-12-01T09:00:00Z"),
            &ok,
            Some(Refusal::OtherRecipient {
                bound_to: ALICE.into(),
            }),
            "the token before expiry",
        ),
        (
            ALICE,
            for_alice.clone(),
            {
                let mut responded = c.clone();
                responded.state = CaseState::Responded;
                responded.updated_at = at("2025-01-01T00:00:00Z");
                responded
            },
            &ok,
            None,
            "responded long ago but not closed",
        ),
        (
            ALICE,
            for_alice.clone(),
            c.clone(),
            &no_gateway,
            Some(Refusal::NoGateway),
            "no gateway configured",
        ),
        (
            ALICE,
            for_alice.clone(),
            c.clone(),
            &failed,
            Some(Refusal::NotAuthenticated),
            "the gateway did not vouch",
        ),
    ];
    let msg = staff_reply("#close provided");
    for (sender, tag, case, auth, want, what) in table {
        let facts = CommandFacts {
            case: &case,
            tag: &tag,
            msg: &msg,
            sender,
            auth,
            last_notice: None,
        };
        assert_eq!(refusal(&office, &facts, at(NOW)), want, "{what}");
        let plan = plan_command(&office, ctx(), &facts, at(NOW), &mut counting());
        assert_eq!(plan.refused, want, "{what}");
        if plan.refused.is_some() {
            assert!(
                plan.change.case_updates.is_empty(),
                "{what}: nothing changed"
            );
            assert!(plan.change.outbox_new.is_empty(), "{what}");
        } else {
            assert_eq!(plan.letters[0].to, [sender], "{what}: the answer");
        }
    }
}

#[test]
fn expiry_is_counted_from_the_closure_and_set_in_the_config() {
    let c = assigned();
    let closed_at = "2026-03-01T12:00:00Z";
    // (case, days, now, expired on)
    let table = [
        (c.clone(), 30, "2030-01-01T00:00:00Z", None),
        (
            closed(c.clone(), closed_at),
            30,
            "2026-03-31T11:59:59Z",
            None,
        ),
        (
            closed(c.clone(), closed_at),
            30,
            "2026-03-31T12:00:00Z",
            Some("2026-03-01"),
        ),
        (
            closed(c.clone(), closed_at),
            0,
            "2026-03-01T12:00:00Z",
            Some("2026-03-01"),
        ),
        (
            closed(c.clone(), closed_at),
            0,
            "2026-03-01T11:59:59Z",
            None,
        ),
        (
            closed(c.clone(), closed_at),
            3650,
            "2036-02-26T12:00:00Z",
            None,
        ),
        // Closed late in the evening in summer: the London date is the next day's.
        (
            closed(c.clone(), "2026-07-01T23:30:00Z"),
            1,
            "2026-07-03T00:00:00Z",
            Some("2026-07-02"),
        ),
    ];
    for (case, days, now, want) in table {
        let want = want.map(|d| d.parse().expect("date"));
        assert_eq!(expired(&case, days, at(now)), want, "{days} {now}");
    }
    // A closed record without its closure counts from its last change.
    let mut bare = closed(c, closed_at);
    bare.workflow.closure = None;
    bare.updated_at = at("2026-03-10T09:00:00Z");
    assert_eq!(expired(&bare, 30, at("2026-04-09T08:59:59Z")), None);
    assert!(expired(&bare, 30, at("2026-04-09T09:00:00Z")).is_some());
}

#[test]
fn a_refusal_is_audited_and_the_assignee_told_at_most_once_a_day() {
    let desk = Desk::new();
    let office = desk.office();
    let c = assigned();
    let mut unassigned = c.clone();
    unassigned.assignee = None;
    let mut nowhere = unassigned.clone();
    nowhere.team = None;
    let for_alice = sign(&desk.keys, &c.reference, ALICE);
    let msg = staff_reply("#close provided");
    let an_hour_ago = at(NOW) - chrono::TimeDelta::hours(1);
    let a_day_ago = at(NOW) - chrono::TimeDelta::hours(NOTICE_INTERVAL_HOURS);
    // (sender, case, last notice, notice to, the sender as the notice gives it)
    type Row<'a> = (
        &'a str,
        Case,
        Option<DateTime<Utc>>,
        Option<&'a str>,
        RefusedSender,
    );
    let table: Vec<Row> = vec![
        (
            "jane@example.org",
            c.clone(),
            None,
            Some(ALICE),
            RefusedSender::Requester,
        ),
        (
            "JANE@example.org",
            c.clone(),
            None,
            Some(ALICE),
            RefusedSender::Requester,
        ),
        (
            BOB,
            c.clone(),
            None,
            Some(ALICE),
            RefusedSender::Staff(BOB.into()),
        ),
        (
            "mallory@example.org",
            c.clone(),
            None,
            Some(ALICE),
            RefusedSender::Other,
        ),
        ("", c.clone(), None, Some(ALICE), RefusedSender::Other),
        (
            "mallory@example.org",
            c.clone(),
            Some(an_hour_ago),
            None,
            RefusedSender::Other,
        ),
        (
            "mallory@example.org",
            c.clone(),
            Some(a_day_ago),
            Some(ALICE),
            RefusedSender::Other,
        ),
        (
            "mallory@example.org",
            unassigned,
            None,
            Some(BOSS),
            RefusedSender::Other,
        ),
        (
            "mallory@example.org",
            nowhere,
            None,
            None,
            RefusedSender::Other,
        ),
    ];
    for (sender, case, last_notice, notice_to, who) in table {
        let facts = CommandFacts {
            case: &case,
            tag: &for_alice,
            msg: &msg,
            sender,
            auth: &authed(),
            last_notice,
        };
        let plan = plan_command(&office, ctx(), &facts, at(NOW), &mut counting());
        let refused = plan.refused.clone().expect("refused");
        let change = &plan.change;
        assert!(change.case_updates.is_empty() && change.outbox_new.is_empty());
        assert!(
            change.seen.is_empty() && change.cursor.is_none(),
            "triage records it"
        );
        let event = &change.audit[0].event;
        assert_eq!(event.action, "command_refused");
        let actor = if sender.is_empty() { NO_SENDER } else { sender };
        assert_eq!(event.actor, actor, "the store refuses an empty actor");
        assert_eq!(
            event.detail,
            json!({"message_id": "staff-1@council.example", "from": sender, "reason": refused.code()})
        );
        assert!(event.why.starts_with("emailed command refused: "));
        assert!(event.why.contains(&refused.why()));
        let Some(to) = notice_to else {
            assert_eq!(
                audit_actions(change),
                ["command_refused", "refusal_notice_suppressed"],
                "{sender} {last_notice:?}"
            );
            assert!(plan.letters.is_empty() && change.marks.is_empty());
            continue;
        };
        assert_eq!(
            audit_actions(change),
            ["command_refused", "refusal_notice_queued"]
        );
        assert_eq!(
            change.marks[0].key,
            format!("refusal-notice/{}", c.reference)
        );
        assert_eq!(change.marks[0].value, json!(at(NOW)));
        let [notice] = plan.letters.as_slice() else {
            panic!("one notice: {sender}");
        };
        assert_eq!(notice.to, [to], "never the sender: {sender}");
        assert_eq!(notice.reply_to, office.command_address(&c.reference, to));
        assert_eq!(notice.in_reply_to, None);
        let LetterBody::CommandRefused(n) = &notice.body else {
            panic!("a refusal notice");
        };
        assert_eq!(
            *n,
            RefusalNotice {
                reference: c.reference.clone(),
                at: at(NOW),
                code: refused.code(),
                why: refused.why(),
                sender: who,
            }
        );
    }
}

#[test]
fn each_line_is_applied_and_answered() {
    use CommandOutcome::{Done, Help, NotDone, NotUnderstood};
    let desk = Desk::new();
    let c = assigned();
    let tag = sign(&desk.keys, &c.reference, ALICE);
    let table: &[LineRow] = &[
        ("Thanks, will do.", &[], CaseState::Open, 0),
        ("#help", &[|o| *o == Help], CaseState::Open, 0),
        ("#close provided", &[|o| *o == Done], CaseState::Closed, 0),
        (
            "#clarify Which financial years do you mean?",
            &[|o| *o == Done],
            CaseState::AwaitingClarification,
            1,
        ),
        (
            "#frobnicate",
            &[|o| matches!(o, NotUnderstood(_))],
            CaseState::Open,
            0,
        ),
        (
            "#close provided\n#close provided",
            &[|o| *o == Done, |o| matches!(o, NotDone(_))],
            CaseState::Closed,
            0,
        ),
        (
            "#id\n#help",
            &[|o| matches!(o, NotDone(_)), |o| *o == Help],
            CaseState::Open,
            0,
        ),
    ];
    for (body, outcomes, state, asks) in table {
        let msg = staff_reply(body);
        let facts = CommandFacts {
            case: &c,
            tag: &tag,
            msg: &msg,
            sender: ALICE,
            auth: &authed(),
            last_notice: None,
        };
        let plan = plan_command(&desk.office(), ctx(), &facts, at(NOW), &mut counting());
        assert_eq!(plan.refused, None, "{body}");
        let changed = *state != CaseState::Open;
        assert_eq!(
            plan.change.case_updates.len(),
            usize::from(changed),
            "{body}"
        );
        if let Some(u) = plan.change.case_updates.first() {
            assert_eq!(u.case.state, *state, "{body}");
            assert_eq!(u.expected.as_ref(), Some(&c));
        }
        assert_eq!(plan.change.audit.is_empty(), !changed, "{body}");
        assert_eq!(plan.change.outbox_new.len(), *asks, "{body}");
        for (i, row) in plan.change.outbox_new.iter().enumerate() {
            let Ok(OutboxJob::Ack(job)) = OutboxJob::from_payload(&row.payload) else {
                panic!("an acknowledgement job: {body}");
            };
            assert_eq!(job.template, "need_more_info");
            assert_eq!(job.to, "jane@example.org");
            assert_eq!(job.message_id, format!("id-{}", i + 1));
            assert_eq!(job.in_reply_to.as_deref(), Some("req-5@example.org"));
            assert_eq!(job.missing[0].name, "clarification");
            assert_eq!(job.missing[0].explain, "Which financial years do you mean?");
            assert_eq!(row.case, Some(CaseTarget::Existing(c.reference.clone())));
        }
        let [reply] = plan.letters.as_slice() else {
            panic!("one reply: {body}");
        };
        assert_eq!(reply.to, [ALICE]);
        assert_eq!(reply.message_id, format!("id-{}", asks + 1), "{body}");
        assert_eq!(
            reply.in_reply_to.as_deref(),
            Some("staff-1@council.example")
        );
        assert_eq!(
            reply.reply_to,
            desk.office().command_address(&c.reference, ALICE)
        );
        let LetterBody::CommandReply(r) = &reply.body else {
            panic!("a command reply");
        };
        assert_eq!(r.state, *state, "{body}");
        assert_eq!(r.lines.len(), outcomes.len(), "{body}");
        for (l, ok) in r.lines.iter().zip(outcomes.iter()) {
            assert!(ok(&l.outcome), "{body}: {l:?}");
        }
    }
}

#[test]
fn a_reclassification_by_email_records_the_correction_in_the_change() {
    let desk = Desk::new();
    let c = assigned();
    let tag = sign(&desk.keys, &c.reference, ALICE);
    // (body, the correction the case update carries: what the rules said, or none)
    let table: &[(&str, Option<Kind>)] = &[
        ("#reclassify eir", Some(Kind::Foi)),
        // The latest line wins: back to the rules' kind leaves nothing to test.
        (
            "#reclassify eir
#reclassify foi",
            None,
        ),
        (
            "#reclassify sar
#reclassify eir",
            Some(Kind::Foi),
        ),
    ];
    for (body, rules_said) in table {
        let msg = staff_reply(body);
        let facts = CommandFacts {
            case: &c,
            tag: &tag,
            msg: &msg,
            sender: ALICE,
            auth: &authed(),
            last_notice: None,
        };
        let plan = plan_command(&desk.office(), ctx(), &facts, at(NOW), &mut counting());
        let [update] = plan.change.case_updates.as_slice() else {
            panic!(
                "{body}: one case update, got {:?}",
                plan.change.case_updates
            );
        };
        let correction = update.case.workflow.correction.as_ref();
        assert_eq!(correction.map(|k| k.rules_said), *rules_said, "{body}");
        if let Some(k) = correction {
            assert_eq!((k.by.as_str(), k.at), (ALICE, at(NOW)), "{body}");
        }
    }
}

/// The officer's words when they wrote some; else an empty explanation, for which the
/// `need_more_info` template writes its own sentence in the letter's language (the English one
/// is word for word what this planner used to write: see `letters::compose`'s
/// `need_more_info_defaults_match_the_workflow_wording`).
#[test]
fn the_requester_is_asked_in_the_officers_words_or_the_templates() {
    let cases: &[(Action, &str, &str)] = &[
        (
            Action::RequestClarification {
                text: Some("Which years?".into()),
            },
            "clarification",
            "Which years?",
        ),
        (
            Action::RequestClarification { text: None },
            "clarification",
            "",
        ),
        (Action::RequestId { text: None }, "identity", ""),
        (
            Action::RequestId {
                text: Some("Your council tax account number, please.".into()),
            },
            "identity",
            "Your council tax account number, please.",
        ),
        (Action::RequestFee { text: None }, "fee", ""),
    ];
    for (action, name, explain) in cases {
        let item = asks_requester(action).expect("asks");
        assert_eq!(
            (item.name.as_str(), item.explain.as_str()),
            (*name, *explain)
        );
    }
    assert_eq!(asks_requester(&Action::Note { text: "x".into() }), None);
}

/// An officer's `#clarify` on a case the requester opened in Welsh: the letter goes in Welsh
/// when the body answers Welsh in Welsh, else in English.
#[test]
fn a_request_for_more_goes_in_the_language_of_the_case() {
    use crate::model::language::{Language, LetterLanguage};
    let desk = Desk::new();
    let mut c = assigned();
    let tag = sign(&desk.keys, &c.reference, ALICE);
    let msg = staff_reply("#id");
    let table = [
        (Language::Welsh, true, LetterLanguage::Welsh),
        (Language::Bilingual, true, LetterLanguage::Welsh),
        (Language::English, true, LetterLanguage::English),
        (Language::Unknown, true, LetterLanguage::English),
        (Language::Welsh, false, LetterLanguage::English),
    ];
    for (language, welsh, want) in table {
        c.kind = Kind::Sar;
        c.workflow.language = language;
        let facts = CommandFacts {
            case: &c,
            tag: &tag,
            msg: &msg,
            sender: ALICE,
            auth: &authed(),
            last_notice: None,
        };
        let mut context = crate::core::triage::Context::standalone(ctx().rules.clone());
        context.welsh = welsh;
        let plan = plan_command(&desk.office(), &context, &facts, at(NOW), &mut counting());
        let [row] = plan.change.outbox_new.as_slice() else {
            panic!("one letter to the requester: {language} {welsh}");
        };
        let Ok(OutboxJob::Ack(job)) = OutboxJob::from_payload(&row.payload) else {
            panic!("an acknowledgement job");
        };
        assert_eq!(job.template, "need_more_info");
        assert_eq!(job.language, want, "{language} {welsh}");
        // The item is named, and the template words it in the letter's language.
        assert_eq!(job.missing[0].name, "identity");
        assert_eq!(job.missing[0].explain, "");
    }
}

#[test]
fn the_command_target_is_found_in_to_cc_or_the_delivery_headers() {
    let desk = Desk::new();
    let c = case(5, Kind::Foi, "Parking fines", RECEIVED);
    let address = desk
        .office()
        .command_address(&c.reference, ALICE)
        .expect("address");
    let tag = sign(&desk.keys, &c.reference, ALICE);
    let to = |email: &str| Address {
        name: None,
        email: email.into(),
    };
    let table: Vec<TargetRow> = vec![
        (vec![to(&address)], vec![], vec![], true),
        (vec![to(SHARED)], vec![to(&address)], vec![], true),
        (
            vec![to(SHARED)],
            vec![],
            vec![("Delivered-To".into(), format!("<{address}>"))],
            true,
        ),
        (
            vec![to(SHARED)],
            vec![],
            vec![("X-Original-To".into(), address.clone())],
            true,
        ),
        (
            vec![to(SHARED)],
            vec![],
            vec![("Reply-To".into(), address.clone())],
            false,
        ),
        (vec![to(SHARED)], vec![], vec![], false),
    ];
    for (to, cc, headers, found) in table {
        let msg = Message {
            to,
            cc,
            headers,
            ..Message::default()
        };
        let got = command_target(&msg);
        assert_eq!(got.is_some(), found, "{msg:?}");
        if let Some(t) = got {
            assert_eq!(t, tag);
        }
    }
}
