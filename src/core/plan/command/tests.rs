//! Staff commands without a store: authorisation, each line applied, the answer and the letters
//! to the requester.

use super::*;
use crate::core::actions::reply_token;
use crate::core::plan::testkit::{ALICE, Desk, SHARED, at, case, counting, ctx};
use crate::model::case::CaseState;
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

#[test]
fn only_staff_with_the_case_token_may_act() {
    let desk = Desk::new();
    let c = case(5, Kind::Foi, "Parking fines", RECEIVED);
    let good = reply_token(&desk.secret, &c.reference);
    let other = case(6, Kind::Foi, "Parking fines", RECEIVED);
    let wrong = reply_token(&desk.secret, &other.reference);
    // (sender, token, refusal)
    let table: &[(&str, &str, Option<&str>)] = &[
        (ALICE, &good, None),
        ("ALICE@council.example", &good, None),
        (
            "mallory@example.org",
            &good,
            Some("the sender is not on the staff list"),
        ),
        (
            ALICE,
            &wrong,
            Some("the reply address does not carry this case's valid token"),
        ),
        (
            ALICE,
            "00",
            Some("the reply address does not carry this case's valid token"),
        ),
        (
            "mallory@example.org",
            "00",
            Some("the sender is not on the staff list"),
        ),
    ];
    let msg = staff_reply("#close provided");
    for (sender, token, refused) in table {
        let facts = CommandFacts {
            case: &c,
            token,
            msg: &msg,
            sender,
            auth: &authed(),
        };
        assert_eq!(
            refusal(&desk.office(), &facts),
            *refused,
            "{sender} {token}"
        );
        let plan = plan_command(&desk.office(), ctx(), &facts, at(NOW), &mut counting());
        assert_eq!(plan.refused, *refused, "{sender} {token}");
        if refused.is_some() {
            assert!(plan.letters.is_empty());
            assert!(plan.change.case_updates.is_empty(), "nothing changed");
            assert!(plan.change.outbox_new.is_empty());
            let events: Vec<_> = plan.change.audit.iter().map(|a| &a.event).collect();
            assert_eq!(events.len(), 1);
            assert_eq!(events[0].action, "command_refused");
            assert_eq!(events[0].actor, *sender);
            assert_eq!(
                events[0].detail,
                json!({"message_id": "staff-1@council.example", "from": sender})
            );
            assert!(events[0].why.starts_with("emailed command refused: "));
            assert!(events[0].why.ends_with("; nothing changed"));
        } else {
            assert_eq!(plan.letters.len(), 1);
        }
    }
}

#[test]
fn each_line_is_applied_and_answered() {
    use CommandOutcome::{Done, Help, NotDone, NotUnderstood};
    let desk = Desk::new();
    let c = case(5, Kind::Foi, "Parking fines", RECEIVED);
    let token = reply_token(&desk.secret, &c.reference);
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
            token: &token,
            msg: &msg,
            sender: ALICE,
            auth: &authed(),
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
        assert_eq!(reply.reply_to, desk.office().command_address(&c.reference));
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
fn the_requester_is_asked_in_the_officers_words_or_ours() {
    let cases: &[(Action, &str)] = &[
        (
            Action::RequestClarification {
                text: Some("Which years?".into()),
            },
            "Which years?",
        ),
        (
            Action::RequestClarification { text: None },
            "please tell us more precisely what information you are asking for",
        ),
        (Action::RequestId { text: None }, "proof of your identity"),
        (Action::RequestFee { text: None }, "payment of the fee"),
    ];
    for (action, start) in cases {
        let text = asks_requester(action).expect("asks");
        assert!(text.starts_with(start), "{text}");
    }
    assert_eq!(asks_requester(&Action::Note { text: "x".into() }), None);
}

#[test]
fn the_command_target_is_found_in_to_cc_or_the_delivery_headers() {
    let desk = Desk::new();
    let c = case(5, Kind::Foi, "Parking fines", RECEIVED);
    let address = desk
        .office()
        .command_address(&c.reference)
        .expect("address");
    let token = reply_token(&desk.secret, &c.reference);
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
        if let Some((r, t)) = got {
            assert_eq!(r, c.reference);
            assert_eq!(t, token);
        }
    }
}

#[test]
fn a_colleague_the_gateway_does_not_vouch_for_is_refused_and_told() {
    let desk = Desk::new();
    let c = case(5, Kind::Foi, "Parking fines", RECEIVED);
    let good = reply_token(&desk.secret, &c.reference);
    let msg = staff_reply("#close provided");
    // (what the gateway says, sender, refusal contains, letters)
    let table: &[(Authenticity, &str, &str, usize)] = &[
        (
            Authenticity::NoGateway,
            ALICE,
            "no trusted mail gateway is configured",
            1,
        ),
        (
            Authenticity::NotAuthenticated {
                why: "dmarc=fail".into(),
            },
            ALICE,
            "could not confirm the message came from your domain",
            1,
        ),
        // A stranger is refused for that first, and silently, whatever the gateway says.
        (
            Authenticity::NoGateway,
            "mallory@example.org",
            "not on the staff list",
            0,
        ),
    ];
    for (auth, sender, why, letters) in table {
        let facts = CommandFacts {
            case: &c,
            token: &good,
            msg: &msg,
            sender,
            auth,
        };
        let plan = plan_command(&desk.office(), ctx(), &facts, at(NOW), &mut counting());
        let refused = plan.refused.unwrap_or_default();
        assert!(refused.contains(why), "{auth:?}: {refused}");
        assert!(plan.change.case_updates.is_empty(), "nothing changed");
        assert!(plan.change.outbox_new.is_empty());
        assert_eq!(plan.change.audit[0].event.action, "command_refused");
        assert!(plan.change.audit[0].event.why.contains(refused));
        assert_eq!(plan.letters.len(), *letters, "{auth:?}");
        if let Some(l) = plan.letters.first() {
            assert_eq!(l.to, vec![ALICE.to_string()]);
            let LetterBody::CommandReply(r) = &l.body else {
                panic!("a command reply")
            };
            assert_eq!(r.state, c.state);
            assert!(matches!(&r.lines[0].outcome, CommandOutcome::NotDone(w) if w == refused));
        }
    }
}
