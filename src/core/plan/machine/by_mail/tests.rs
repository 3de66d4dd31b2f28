//! `#open` by email without a store: who may, what each line asks, and the answer.

use super::*;
use crate::core::actions::{ReplyKeys, sign_machine};
use crate::core::plan::testkit::{ALICE, BOSS, Desk, SHARED, at};
use crate::model::case::CaseRef;
use crate::model::machine::Opened;
use crate::model::message::Address;

fn id() -> MachineMailId {
    MachineMailId::new(2026, 42).expect("id")
}

/// Record 42, kept and not opened.
fn record() -> MachineMail {
    MachineMail {
        id: id(),
        filed_at: at("2026-09-01T09:00:00Z"),
        received_at: at("2026-09-01T09:00:00Z"),
        from: "pat@example.org".into(),
        subject: "Automatic reply".into(),
        kind: Kind::Auto,
        why: "auto won".into(),
        rules: Vec::new(),
        suggested: Kind::Foi,
        content_hash: "hash-42".into(),
        message_id: None,
        size: 10,
        partial: false,
        opened: None,
    }
}

/// A message from `from` to the record's address signed for `signed_for`, with `body`.
fn mail(desk: &Desk, from: &str, signed_for: &str, body: &str) -> (MachineTag, Message) {
    let address =
        crate::core::actions::machine_reply_address(SHARED, &id(), signed_for, &desk.keys)
            .expect("an address");
    let msg = Message {
        from: Some(Address {
            name: None,
            email: from.into(),
        }),
        to: vec![Address {
            name: None,
            email: address,
        }],
        message_id: Some("open-1@council.example".into()),
        body_text: body.into(),
        ..Message::default()
    };
    (command_target(&msg).expect("a machine-mail target"), msg)
}

fn authed() -> Authenticity {
    Authenticity::Authenticated {
        method: "dmarc".into(),
        domain: "council.example".into(),
    }
}

#[test]
fn only_staff_from_the_address_it_was_signed_for_and_vouched_for_may_open() {
    let desk = Desk::new();
    let not_vouched = Authenticity::NotAuthenticated {
        why: "dmarc=fail".into(),
    };
    // (from, signed for, gateway, refused as)
    let table = [
        (BOSS, BOSS, authed(), None),
        ("stranger@example.org", BOSS, authed(), Some("not_staff")),
        (ALICE, BOSS, authed(), Some("other_recipient")),
        (BOSS, BOSS, Authenticity::NoGateway, Some("no_gateway")),
        (BOSS, BOSS, not_vouched, Some("not_authenticated")),
    ];
    for (from, signed_for, auth, want) in table {
        let (tag, msg) = mail(&desk, from, signed_for, "#open");
        let r = record();
        let facts = OpenFacts {
            tag: &tag,
            msg: &msg,
            sender: from,
            auth: &auth,
            record: Some(&r),
        };
        let got = match plan_open(&desk.office(), &facts) {
            OpenByMail::Refused(r) => Some(r.code()),
            _ => None,
        };
        assert_eq!(got, want, "{from} for {signed_for}");
    }
    // A damaged tag, and one signed by a key since removed.
    let (mut tag, msg) = mail(&desk, BOSS, BOSS, "#open");
    let r = record();
    let facts = |tag| OpenFacts {
        tag,
        msg: &msg,
        sender: BOSS,
        auth: &AUTHED,
        record: Some(&r),
    };
    static AUTHED: std::sync::LazyLock<Authenticity> = std::sync::LazyLock::new(authed);
    tag.tag = "0".repeat(20);
    let refused = |p| matches!(p, OpenByMail::Refused(_)).then(|| format!("{p:?}"));
    assert!(
        refused(plan_open(&desk.office(), &facts(&tag))).is_some_and(|p| p.contains("BadToken"))
    );
    let other_keys = ReplyKeys::new(&["another key, long enough to use"]).expect("keys");
    let unknown = sign_machine(&other_keys, &id(), BOSS);
    assert!(
        refused(plan_open(&desk.office(), &facts(&unknown)))
            .is_some_and(|p| p.contains("UnknownKey"))
    );
}

#[test]
fn each_open_line_opens_as_asked_or_is_answered() {
    let desk = Desk::new();
    let mut opened = record();
    opened.opened = Some(Opened {
        case: CaseRef::new("FOI", 2026, 7).expect("ref"),
        by: ALICE.into(),
        at: at("2026-09-02T09:00:00Z"),
    });
    let kept = record();
    // (body, record kept, expected)
    let open = |kind, line: usize, text: &str| OpenByMail::Open {
        id: id(),
        kind,
        line: OpenLine {
            line,
            text: text.into(),
        },
    };
    let answer = |line: Option<(usize, &str)>, outcome| {
        OpenByMail::Answer(MachineMailReply {
            id: id(),
            line: line.map(|(line, text)| OpenLine {
                line,
                text: text.into(),
            }),
            outcome,
        })
    };
    let not_understood = |s: &str| OpenOutcome::NotUnderstood(s.into());
    let table: Vec<(&str, Option<&MachineMail>, OpenByMail)> = vec![
        ("#open", Some(&kept), open(None, 1, "#open")),
        (
            "Thanks\n#OPEN sar\n",
            Some(&kept),
            open(Some(Kind::Sar), 2, "#OPEN sar"),
        ),
        (
            "#open M-2026-000042 foi",
            Some(&kept),
            open(Some(Kind::Foi), 1, "#open M-2026-000042 foi"),
        ),
        (
            "#open M-2026-000043",
            Some(&kept),
            answer(
                Some((1, "#open M-2026-000043")),
                not_understood(
                    "this address opens M-2026-000042, not M-2026-000043: use the address given for M-2026-000043",
                ),
            ),
        ),
        (
            "#open auto",
            Some(&kept),
            answer(
                Some((1, "#open auto")),
                not_understood(
                    "\"auto\" is not a kind of case (foi, eir, sar, media, member_enquiry, complaint, general)",
                ),
            ),
        ),
        (
            "open it please\n> #open",
            Some(&kept),
            answer(
                None,
                not_understood(
                    "no #open line: write \"#open\" (as it was suggested) or \"#open foi\" to open M-2026-000042 as a case",
                ),
            ),
        ),
        (
            "#open",
            None,
            answer(Some((1, "#open")), OpenOutcome::NotKept),
        ),
        (
            "#open foi",
            Some(&opened),
            answer(
                Some((1, "#open foi")),
                OpenOutcome::AlreadyOpened {
                    case: CaseRef::new("FOI", 2026, 7).expect("ref"),
                    by: ALICE.into(),
                },
            ),
        ),
    ];
    for (body, record, want) in table {
        let (tag, msg) = mail(&desk, BOSS, BOSS, body);
        let auth = authed();
        let facts = OpenFacts {
            tag: &tag,
            msg: &msg,
            sender: BOSS,
            auth: &auth,
            record,
        };
        assert_eq!(plan_open(&desk.office(), &facts), want, "{body:?}");
    }
}

#[test]
fn the_answer_goes_to_the_sender_and_a_new_case_can_be_commanded_by_reply() {
    let desk = Desk::new();
    let case = CaseRef::new("FOI", 2026, 9).expect("ref");
    let reply = |outcome| MachineMailReply {
        id: id(),
        line: None,
        outcome,
    };
    let opened = OpenOutcome::Opened {
        case: case.clone(),
        kind: Kind::Foi,
        due: None,
    };
    let letter = reply_letter(
        &desk.office(),
        BOSS,
        Some("open-1@council.example".into()),
        reply(opened),
        "id-1".into(),
    );
    assert_eq!(
        (letter.to.as_slice(), letter.case.as_ref()),
        ([BOSS.to_string()].as_slice(), Some(&case))
    );
    assert_eq!(
        letter.in_reply_to.as_deref(),
        Some("open-1@council.example")
    );
    let reply_to = letter.reply_to.expect("the case's command address");
    assert!(reply_to.starts_with("foi+FOI-2026-000009."), "{reply_to}");
    let letter = reply_letter(
        &desk.office(),
        BOSS,
        None,
        reply(OpenOutcome::NotKept),
        "id-2".into(),
    );
    assert_eq!((letter.case, letter.reply_to), (None, None));
}
