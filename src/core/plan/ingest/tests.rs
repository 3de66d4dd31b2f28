//! Planning, without a store or a server: real rules, real triage, facts given by hand.

use super::*;
use crate::core::followup::Threads;
use crate::core::plan::testkit::{audit_actions as actions, ctx, trusted_ctx, vouched};
use crate::io::outbox::OutboxJob;
use crate::io::store::{CaseTarget, Cursor};
use crate::model::case::CaseRef;
use chrono::TimeZone;
use std::collections::{BTreeMap, BTreeSet};

mod welsh;

const SHARED: &str = "foi@council.example.gov.uk";

fn settings(mode: Mode) -> IngestSettings {
    let config = crate::config::Config::defaults();
    IngestSettings {
        mode,
        acks: crate::config::AckPolicy::default(),
        own_addresses: vec![SHARED.into(), "noreply@council.example.gov.uk".into()],
        prefixes: config.prefixes().into_iter().map(|(p, k)| (k, p)).collect(),
        id_domain: "council.example.gov.uk".into(),
    }
}

/// Monday 23 November 2026, 10:00 UTC (GMT).
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0)
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

/// Threads known to the test: Message-IDs of stored mail and existing references.
#[derive(Default)]
struct Known {
    ids: BTreeMap<String, String>,
    refs: BTreeSet<String>,
}

impl Threads for Known {
    fn case_for_message_id(&self, id: &str) -> Option<String> {
        self.ids.get(id).cloned()
    }
    fn case_exists(&self, r: &str) -> bool {
        self.refs.contains(r)
    }
}

fn mail(from: &str, subject: &str, body: &str, extra_headers: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {SHARED}\r\nSubject: {subject}\r\nMessage-ID: <m-{}@example.org>\r\n\
         Date: Mon, 23 Nov 2026 09:59:00 +0000\r\n{extra_headers}MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
        subject.len() + body.len()
    )
    .into_bytes()
}

const FOI_BODY: &str = "Dear Sir or Madam,\r\n\r\nUnder the Freedom of Information Act 2000 please \
provide the number of parking fines issued on Mill Lane in each of the last three financial years.\r\n\r\n\
Yours faithfully,\r\nPatricia Requester\r\n12 High Street, Exampletown EX1 2AB";

fn outcome(raw: &[u8], threads: &dyn Threads) -> Outcome {
    crate::core::triage::triage(
        ctx(),
        raw,
        Some(t0()),
        threads,
        &crate::core::extract::InProcess,
    )
}

/// The id the caller draws for the letter a message may cause.
const LETTER_ID: &str = "ack-1@council.example.gov.uk";

fn facts() -> Facts {
    Facts {
        letter_id: LETTER_ID.into(),
        ..Facts::default()
    }
}

fn jobs(change: &Change) -> Vec<crate::model::letter::AckJob> {
    change
        .outbox_new
        .iter()
        .filter_map(
            |r| match OutboxJob::from_payload(&r.payload).expect("payload") {
                OutboxJob::Ack(a) => Some(a),
                OutboxJob::Mail(_) => None,
            },
        )
        .collect()
}

#[test]
fn a_valid_foi_request_becomes_an_open_case_with_an_acknowledgement() {
    let raw = mail(
        "Patricia Requester <pat@example.org>",
        "FOI request: parking fines",
        FOI_BODY,
        "",
    );
    let o = outcome(&raw, &Known::default());
    let p = plan(ctx(), &settings(Mode::Live), &o, &facts(), &pos(42), t0()).expect("plan");
    assert_eq!(p.action, Handled::NewCase(Kind::Foi));
    assert_eq!(p.file_as, Kind::Foi);
    assert!(p.queues_mail);
    let new = p.change.new_case.as_ref().expect("new case");
    assert_eq!((new.prefix.as_str(), new.year), ("FOI", 2026));
    assert_eq!(new.draft.state, CaseState::Open);
    assert_eq!(new.draft.requester.email, "pat@example.org");
    // FOIA: 20 working days from Monday 23 November 2026, over the Christmas bank holidays.
    assert_eq!(new.draft.due, chrono::NaiveDate::from_ymd_opt(2026, 12, 22));
    assert!(new.draft.clock_events.is_empty());
    // The content hash first (the raw message is stored under it), then the delivery identity.
    assert_eq!(
        new.draft.content_hashes,
        vec![
            o.message.content_hash.clone(),
            identity_key(&o.message).expect("Message-ID, From and Date")
        ]
    );
    assert_eq!(
        actions(&p.change),
        [
            "received",
            "classified",
            "validated",
            "due_computed",
            "acknowledgement_queued"
        ]
    );
    assert!(p.change.audit.iter().all(|a| a.case == CaseTarget::New));
    let j = jobs(&p.change);
    assert_eq!(j.len(), 1);
    assert_eq!(j[0].template, "ack_foi");
    assert_eq!(j[0].to, "pat@example.org");
    assert_eq!(j[0].due, new.draft.due);
    assert_eq!(
        j[0].message_id, LETTER_ID,
        "the letter carries the id the caller drew"
    );
    assert_eq!(
        p.change.outbox_new[0].recipient.as_deref(),
        Some("pat@example.org")
    );
    assert_eq!(
        p.change.cursor,
        Some(CursorUpdate {
            mailbox: "INBOX".into(),
            cursor: Cursor {
                uidvalidity: 7,
                last_uid: 42
            }
        })
    );
}

#[test]
fn a_message_read_in_part_says_so_where_people_look() {
    let partial = Partial {
        size: 70 * 1024 * 1024,
        read: 1024 * 1024,
        limit: 50 * 1024 * 1024,
    };
    let raw = mail(
        "Patricia Requester <pat@example.org>",
        "FOI request: parking fines",
        FOI_BODY,
        "",
    );
    let o = outcome(&raw, &Known::default());
    let mut p = plan(ctx(), &settings(Mode::Live), &o, &facts(), &pos(42), t0()).expect("plan");
    note_partial(&mut p, &partial, t0());
    assert_eq!(p.action, Handled::NewCase(Kind::Foi));
    let notes: Vec<&AuditAppend> = p
        .change
        .audit
        .iter()
        .filter(|a| a.event.action == "note")
        .collect();
    assert_eq!(notes.len(), 1, "{:?}", actions(&p.change));
    assert_eq!(notes[0].case, CaseTarget::New);
    let why = &notes[0].event.why;
    assert!(
        why.starts_with("message too large to read in full (70.0 MB, over the 50 MB limit)"),
        "{why}"
    );
    assert!(why.contains("first 1.0 MB were read"), "{why}");
    assert!(
        why.contains("see the whole message in the mailbox"),
        "{why}"
    );
    assert_eq!(notes[0].event.detail["partial"]["size"], 73_400_320);
    // Otherwise it is an ordinary request: acknowledged, cursor moved.
    assert_eq!(jobs(&p.change).len(), 1);
    assert!(p.change.cursor.is_some());
    // Machine mail read in part: the note is in the record of what it was.
    let bounce = mail(
        "Mail Delivery System <MAILER-DAEMON@mx.example.org>",
        "Undelivered Mail Returned to Sender",
        "This is the mail system at host mx.example.org.",
        "Auto-Submitted: auto-replied\r\nReturn-Path: <>\r\n",
    );
    let o = outcome(&bounce, &Known::default());
    let mut p = plan(ctx(), &settings(Mode::Live), &o, &facts(), &pos(43), t0()).expect("plan");
    note_partial(&mut p, &partial, t0());
    assert!(
        matches!(p.action, Handled::Ignored { .. }),
        "{:?}",
        p.action
    );
    // Both of its records (content hash, delivery identity) carry the note.
    assert_eq!(p.change.seen.len(), 2);
    assert!(
        p.change
            .seen
            .iter()
            .all(|s| s.why.contains("too large to read in full")),
        "{:?}",
        p.change.seen
    );
    assert!(
        p.change.seen[0].why.contains("too large to read in full"),
        "{}",
        p.change.seen[0].why
    );
    assert!(p.change.audit.is_empty());
}

#[test]
fn what_is_never_acknowledged() {
    let bounce = mail(
        "Mail Delivery System <MAILER-DAEMON@mx.example.org>",
        "Undelivered Mail Returned to Sender",
        "This is the mail system at host mx.example.org. I'm sorry to have to inform you that your message could not be delivered.",
        "Auto-Submitted: auto-replied\r\nReturn-Path: <>\r\n",
    );
    let own = mail(
        &format!("FOI Team <{SHARED}>"),
        "FOI request: parking fines",
        FOI_BODY,
        "",
    );
    let table: [(&str, &[u8], Kind, &str); 2] = [
        ("bounce", &bounce, Kind::Auto, "auto"),
        ("own address", &own, Kind::Foi, "own addresses"),
    ];
    for (name, raw, kind, why_has) in table {
        let o = outcome(raw, &Known::default());
        let p = plan(
            ctx(),
            &settings(Mode::Live),
            &o,
            &Facts::default(),
            &pos(1),
            t0(),
        )
        .expect("plan");
        match &p.action {
            Handled::Ignored { kind: k, why } => {
                assert_eq!(*k, kind, "{name}");
                assert!(why.contains(why_has), "{name}: {why}");
            }
            other => panic!("{name}: {other:?}"),
        }
        assert!(p.change.new_case.is_none(), "{name}");
        assert!(p.change.outbox_new.is_empty(), "{name}");
        assert!(!p.queues_mail, "{name}");
        // One record per dedupe key: the content hash (with the Message-ID), the identity.
        let keys: Vec<_> = p
            .change
            .seen
            .iter()
            .map(|s| s.content_hash.clone())
            .collect();
        assert_eq!(
            keys,
            [
                Some(o.message.content_hash.clone()),
                identity_key(&o.message)
            ],
            "{name}"
        );
        assert_eq!(p.change.seen[0].message_id, o.message.message_id, "{name}");
        assert_eq!(p.change.seen[1].message_id, None, "{name}");
        assert!(p.change.seen.iter().all(|s| s.kind == Some(kind)), "{name}");
        assert!(p.change.cursor.is_some(), "{name}");
    }
}

#[test]
fn the_global_hourly_cap_holds_acknowledgements_back_after_the_per_address_limit() {
    let raw = mail(
        "Patricia Requester <pat+foi@example.org>",
        "FOI request: parking fines",
        FOI_BODY,
        "",
    );
    let o = outcome(&raw, &Known::default());
    let mut low = settings(Mode::Live);
    low.acks.global_per_hour = 3;
    let f = |recent, hour| Facts {
        recent_mail_to_sender: recent,
        acks_last_hour: hour,
        ..Facts::default()
    };
    let default_cap = crate::config::DEFAULT_ACKS_PER_HOUR as usize;
    let table = [
        ("empty hour", settings(Mode::Live), f(0, 0), None),
        (
            "one under the default cap",
            settings(Mode::Live),
            f(0, default_cap - 1),
            None,
        ),
        (
            "at the default cap",
            settings(Mode::Live),
            f(0, default_cap),
            Some("global cap: 200"),
        ),
        (
            "over the default cap",
            settings(Mode::Live),
            f(0, default_cap + 7),
            Some("global cap: 207"),
        ),
        ("under a low cap", low.clone(), f(0, 2), None),
        ("at a low cap", low.clone(), f(0, 3), Some("(limit 3)")),
        (
            "both: the address limit is named",
            low,
            f(5, 3),
            Some("rate limit: 5"),
        ),
    ];
    for (name, s, facts, why) in table {
        let p = plan(ctx(), &s, &o, &facts, &pos(1), t0()).expect("plan");
        assert!(
            p.change.new_case.is_some(),
            "{name}: the case is made anyway"
        );
        let suppressed = p
            .change
            .audit
            .iter()
            .find(|a| a.event.action == "acknowledgement_suppressed");
        match why {
            Some(w) => {
                assert!(p.change.outbox_new.is_empty(), "{name}");
                assert!(!p.queues_mail, "{name}");
                let e = suppressed.unwrap_or_else(|| panic!("{name}: not audited"));
                assert!(e.event.why.contains(w), "{name}: {}", e.event.why);
            }
            None => {
                assert_eq!(p.change.outbox_new.len(), 1, "{name}");
                assert!(suppressed.is_none(), "{name}");
            }
        }
    }
}

#[test]
fn suppressed_acknowledgements_are_audited_with_the_reason() {
    let raw = mail(
        "Patricia Requester <pat@example.org>",
        "FOI request: parking fines",
        FOI_BODY,
        "",
    );
    let o = outcome(&raw, &Known::default());
    let mut off = settings(Mode::Live);
    off.acks.enabled = false;
    let limited = Facts {
        recent_mail_to_sender: 5,
        ..Facts::default()
    };
    let under = Facts {
        recent_mail_to_sender: 4,
        ..Facts::default()
    };
    let table = [
        (
            "import",
            settings(Mode::Import),
            Facts::default(),
            Some("historical import"),
        ),
        ("switched off", off, Facts::default(), Some("switched off")),
        (
            "rate limit",
            settings(Mode::Live),
            limited,
            Some("rate limit: 5"),
        ),
        ("under the limit", settings(Mode::Live), under, None),
    ];
    for (name, s, facts, why) in table {
        let p = plan(ctx(), &s, &o, &facts, &pos(1), t0()).expect("plan");
        assert!(
            p.change.new_case.is_some(),
            "{name}: the case is made anyway"
        );
        let suppressed = p
            .change
            .audit
            .iter()
            .find(|a| a.event.action == "acknowledgement_suppressed");
        match why {
            Some(w) => {
                assert!(p.change.outbox_new.is_empty(), "{name}");
                assert!(!p.queues_mail, "{name}");
                let e = suppressed.unwrap_or_else(|| panic!("{name}: not audited"));
                assert!(e.event.why.contains(w), "{name}: {}", e.event.why);
            }
            None => {
                assert_eq!(p.change.outbox_new.len(), 1, "{name}");
                assert!(suppressed.is_none(), "{name}");
            }
        }
    }
}

#[test]
fn invalid_requests_wait_with_the_right_clock_event() {
    let no_name = "Under the Freedom of Information Act please provide the number of parking \
fines issued on Mill Lane in 2025.\r\n\r\nThanks";
    let eir_no_name = "Under the Environmental Information Regulations please provide the air \
quality monitoring results for Mill Lane for 2025.\r\n\r\nThanks";
    let sar_no_id = "Dear Data Protection Officer,\r\n\r\nUnder Article 15 of the UK GDPR I am making \
a subject access request for all personal data you hold about me, including my housing file.\r\n\r\n\
Yours faithfully,\r\nPatricia Requester\r\n12 High Street, Exampletown EX1 2AB";
    let table = [
        (
            "foi",
            "x1@example.org",
            "FOI request",
            no_name,
            Kind::Foi,
            CaseState::AwaitingClarification,
            "clarification_requested",
        ),
        (
            "eir",
            "x2@example.org",
            "EIR request: air quality",
            eir_no_name,
            Kind::Eir,
            CaseState::AwaitingClarification,
            "particulars_requested",
        ),
        (
            "sar",
            "Patricia Requester <x3@example.org>",
            "Subject access request",
            sar_no_id,
            Kind::Sar,
            CaseState::AwaitingId,
            "id_requested",
        ),
    ];
    for (name, from, subject, body, kind, state, event) in table {
        let o = outcome(&mail(from, subject, body, ""), &Known::default());
        assert_eq!(o.kind(), kind, "{name}: {}", o.decision.why);
        let p = plan(
            ctx(),
            &settings(Mode::Live),
            &o,
            &Facts::default(),
            &pos(1),
            t0(),
        )
        .expect("plan");
        let new = p.change.new_case.as_ref().expect("case");
        assert_eq!(
            new.draft.state, state,
            "{name}: missing {:?}",
            new.draft.missing
        );
        assert_eq!(new.draft.valid, Some(false), "{name}");
        assert_eq!(new.draft.due, None, "{name}: no clock yet");
        assert_eq!(
            new.draft
                .clock_events
                .iter()
                .map(|e| e.name())
                .collect::<Vec<_>>(),
            [event],
            "{name}"
        );
        assert!(actions(&p.change).contains(&"clock_not_started"), "{name}");
        let j = jobs(&p.change);
        assert_eq!(j.len(), 1, "{name}");
        assert_eq!(j[0].template, "need_more_info", "{name}");
        assert!(!j[0].missing.is_empty(), "{name}");
        assert_eq!(
            j[0].missing
                .iter()
                .map(|m| m.name.clone())
                .collect::<Vec<_>>(),
            new.draft.missing,
            "{name}"
        );
    }
}

fn stored_case(state: CaseState, kind: Kind, events: Vec<ClockEvent>) -> Case {
    let received = t0() - chrono::Duration::days(3);
    CaseDraft {
        reference: (),
        kind,
        state,
        received_at: received,
        requester: crate::model::message::Address {
            name: Some("Patricia Requester".into()),
            email: "pat@example.org".into(),
        },
        subject: "FOI request".into(),
        message_ids: vec!["orig@example.org".into()],
        content_hashes: vec!["abc".into()],
        rules: vec![],
        valid: Some(state == CaseState::Open),
        missing: vec![],
        due: None,
        clock_events: events,
        workflow: Default::default(),
        assignee: None,
        team: None,
        created_at: received,
        updated_at: received,
    }
    .into_case(CaseRef::new("FOI", 2026, 7).expect("ref"))
}

#[test]
fn followups_join_their_case_and_a_requesters_answer_restarts_the_clock() {
    let waiting = stored_case(
        CaseState::AwaitingClarification,
        Kind::Foi,
        vec![ClockEvent::ClarificationRequested(
            t0() - chrono::Duration::days(3),
        )],
    );
    let open = stored_case(CaseState::Open, Kind::Foi, vec![]);
    let known = Known {
        ids: BTreeMap::new(),
        refs: ["FOI-2026-000007".to_string()].into(),
    };
    let reply = |from: &str| {
        mail(
            from,
            "Re: [FOI-2026-000007] We need more information",
            "My name is Patricia Requester; I want the figures for Mill Lane only.",
            "In-Reply-To: <ack@council.example.gov.uk>\r\n",
        )
    };
    // (name, case, from, template, state after, due set, restarted)
    let table = [
        (
            "answer",
            &waiting,
            "Patricia Requester <pat@example.org>",
            "ack_foi",
            CaseState::Open,
            true,
            true,
        ),
        (
            "answer, other letter case",
            &waiting,
            "PAT@Example.org",
            "ack_foi",
            CaseState::Open,
            true,
            true,
        ),
        (
            "someone else",
            &waiting,
            "Other Person <other@example.org>",
            "followup_receipt",
            CaseState::AwaitingClarification,
            false,
            false,
        ),
        (
            "open case",
            &open,
            "Patricia Requester <pat@example.org>",
            "followup_receipt",
            CaseState::Open,
            false,
            false,
        ),
    ];
    for (name, case, from, template, state, due_set, restarted) in table {
        // Delivered through the trusted gateway, which vouches for the sender's domain.
        let domain = from.rsplit('@').next().unwrap_or("").trim_end_matches('>');
        let raw = vouched(&reply(from), domain);
        let o = crate::core::triage::triage(
            trusted_ctx(),
            &raw,
            Some(t0()),
            &known,
            &crate::core::extract::InProcess,
        );
        assert!(o.auth.is_authenticated(), "{name}: {:?}", o.auth);
        assert!(o.followup.is_some(), "{name}: not a follow-up");
        let facts = Facts {
            followup_case: Some(case.clone()),
            recent_mail_to_sender: 0,
            acks_last_hour: 0,
            letter_id: LETTER_ID.into(),
            same_delivery: None,
        };
        let p = plan(
            trusted_ctx(),
            &settings(Mode::Live),
            &o,
            &facts,
            &pos(9),
            t0(),
        )
        .expect("plan");
        assert_eq!(
            p.action,
            Handled::FollowUp(case.reference.clone()),
            "{name}"
        );
        assert!(p.change.new_case.is_none(), "{name}");
        let u = &p.change.case_updates[0];
        assert_eq!(u.expected.as_ref(), Some(case), "{name}: optimistic check");
        assert_eq!(u.case.state, state, "{name}");
        assert_eq!(u.case.due.is_some(), due_set, "{name}");
        assert!(
            u.case.content_hashes.contains(&o.message.content_hash),
            "{name}"
        );
        assert!(u.case.message_ids.len() == 2, "{name}");
        assert_eq!(
            actions(&p.change).contains(&"clock_restarted"),
            restarted,
            "{name}: {:?}",
            actions(&p.change)
        );
        if restarted {
            assert_eq!(
                u.case.clock_events.last().map(|e| e.name()),
                Some("clarification_received")
            );
        }
        let j = jobs(&p.change);
        assert_eq!(j.len(), 1, "{name}");
        assert_eq!(j[0].template, template, "{name}");
        assert_eq!(j[0].due, u.case.due, "{name}");
        assert!(
            p.change
                .audit
                .iter()
                .all(|a| a.case == CaseTarget::Existing(case.reference.clone())),
            "{name}"
        );
    }
}

#[test]
fn a_followup_whose_case_was_not_read_is_an_error_not_a_new_case() {
    let known = Known {
        ids: BTreeMap::new(),
        refs: ["FOI-2026-000007".to_string()].into(),
    };
    let raw = mail(
        "pat@example.org",
        "Re: [FOI-2026-000007] Your request",
        "Thank you.",
        "",
    );
    let o = outcome(&raw, &known);
    let err = plan(
        ctx(),
        &settings(Mode::Live),
        &o,
        &Facts::default(),
        &pos(1),
        t0(),
    )
    .expect_err("must not plan without the case");
    assert_eq!(err, PlanError::CaseMissing("FOI-2026-000007".into()));
}

#[test]
fn local_policy_kinds_get_their_working_days_and_their_own_template() {
    let raw = mail(
        "Cllr Jane Smith <cllr.smith@council.example.gov.uk>",
        "Complaint: missed bin collections again",
        "I wish to make a formal complaint: my bins have been missed three weeks running and \
nobody has called me back. Jane Smith, 3 Low Road, Exampletown",
        "",
    );
    let o = outcome(&raw, &Known::default());
    let p = plan(
        ctx(),
        &settings(Mode::Live),
        &o,
        &Facts::default(),
        &pos(1),
        t0(),
    )
    .expect("plan");
    let Handled::NewCase(kind) = p.action else {
        panic!("{:?}", p.action)
    };
    assert!(!kind.is_statutory(), "{kind:?}");
    let new = p.change.new_case.as_ref().expect("case");
    assert_eq!(new.draft.valid, None);
    assert_eq!(new.draft.state, CaseState::Open);
    assert!(new.draft.due.is_some());
    assert_eq!(
        jobs(&p.change)[0].template,
        crate::model::letter::ack_template_for(kind).expect("template")
    );
}

#[test]
fn duplicate_and_quarantine_plans_move_the_cursor() {
    let d = plan_duplicate(&pos(5));
    assert!(d.new_case.is_none() && d.seen.is_empty() && d.outbox_new.is_empty());
    assert_eq!(d.cursor.as_ref().map(|c| c.cursor.last_uid), Some(5));
    let q = plan_quarantine(Some("id@x".into()), "hash", "bad", &pos(6), t0());
    assert_eq!(q.cursor.as_ref().map(|c| c.cursor.last_uid), Some(6));
    assert_eq!(q.seen.len(), 1);
    assert_eq!(q.seen[0].kind, None);
    assert_eq!(q.seen[0].why, "quarantined: bad");
    assert_eq!(q.seen[0].content_hash.as_deref(), Some("hash"));
}

#[test]
fn only_the_vouched_requesters_from_restarts_a_clock() {
    let waiting = stored_case(
        CaseState::AwaitingClarification,
        Kind::Foi,
        vec![ClockEvent::ClarificationRequested(
            t0() - chrono::Duration::days(3),
        )],
    );
    let known = Known {
        refs: ["FOI-2026-000007".to_string()].into(),
        ..Known::default()
    };
    let subject = "Re: [FOI-2026-000007] We need more information";
    let body = "I want the figures for Mill Lane only.";
    let plain = |from: &str, extra: &str| mail(from, subject, body, extra);
    // The gateway stamps what it found (no DMARC pass) on top; the sender wrote a pass below.
    let forged_below = |raw: Vec<u8>| {
        let mut v = b"Authentication-Results: mx.council.example.gov.uk; spf=softfail smtp.mailfrom=example.org; dmarc=none header.from=example.org\r\nReceived: from attacker by mx\r\nAuthentication-Results: mx.council.example.gov.uk; dmarc=pass header.from=example.org\r\n".to_vec();
        v.extend(raw);
        v
    };
    let pat = "Patricia Requester <pat@example.org>";
    // (name, raw message, trusted gateway configured, restarted, flagged)
    let table: Vec<(&str, Vec<u8>, bool, bool, bool)> = vec![
        (
            "vouched",
            vouched(&plain(pat, ""), "example.org"),
            true,
            true,
            false,
        ),
        ("no gateway configured", plain(pat, ""), false, false, true),
        ("gateway, no stamp", plain(pat, ""), true, false, true),
        (
            "gateway says dmarc fail",
            {
                let mut v = b"Authentication-Results: mx.council.example.gov.uk; dmarc=fail header.from=example.org\r\n".to_vec();
                v.extend(plain(pat, ""));
                v
            },
            true,
            false,
            true,
        ),
        (
            "forged stamp below a Received",
            forged_below(plain(pat, "")),
            true,
            false,
            true,
        ),
        (
            "Reply-To is the requester, From is not",
            vouched(
                &plain(
                    "Mallory <mallory@example.org>",
                    "Reply-To: pat@example.org\r\n",
                ),
                "example.org",
            ),
            true,
            false,
            false,
        ),
    ];
    for (name, raw, gateway, restarted, flagged) in table {
        let c = if gateway { trusted_ctx() } else { ctx() };
        let o = crate::core::triage::triage(
            c,
            &raw,
            Some(t0()),
            &known,
            &crate::core::extract::InProcess,
        );
        let facts = Facts {
            followup_case: Some(waiting.clone()),
            recent_mail_to_sender: 0,
            letter_id: LETTER_ID.into(),
            acks_last_hour: 0,
            same_delivery: None,
        };
        let p = plan(c, &settings(Mode::Live), &o, &facts, &pos(9), t0()).expect("plan");
        let u = &p.change.case_updates[0];
        let acts = actions(&p.change);
        assert_eq!(
            acts.contains(&"clock_restarted"),
            restarted,
            "{name}: {acts:?}"
        );
        assert_eq!(
            acts.contains(&"clock_restart_withheld"),
            flagged,
            "{name}: {acts:?}"
        );
        let want_state = if restarted {
            CaseState::Open
        } else {
            CaseState::AwaitingClarification
        };
        assert_eq!(u.case.state, want_state, "{name}");
        assert_eq!(
            u.case.clock_events.len(),
            1 + usize::from(restarted),
            "{name}"
        );
        assert_eq!(
            u.case
                .workflow
                .flags
                .iter()
                .any(|f| matches!(f, Flag::UnverifiedAnswer { .. })),
            flagged,
            "{name}"
        );
        let j = jobs(&p.change);
        assert_eq!(j.len(), 1, "{name}");
        let want = if restarted {
            "ack_foi"
        } else {
            "followup_receipt"
        };
        assert_eq!(j[0].template, want, "{name}");
    }
}

#[test]
fn a_third_party_quoting_the_reference_gets_no_due_date() {
    let mut open = stored_case(CaseState::Open, Kind::Foi, vec![]);
    open.due = chrono::NaiveDate::from_ymd_opt(2026, 12, 18);
    let known = Known {
        refs: ["FOI-2026-000007".to_string()].into(),
        ..Known::default()
    };
    let subject = "Re: [FOI-2026-000007] Your request";
    // (name, From, extra headers, receipt shows the due date)
    let table = [
        ("the requester", "pat@example.org", "", true),
        ("a third party", "nosy@example.net", "", false),
        (
            "a third party with Reply-To the requester",
            "nosy@example.net",
            "Reply-To: pat@example.org\r\n",
            true,
        ),
        (
            "the requester with Reply-To a third party",
            "pat@example.org",
            "Reply-To: nosy@example.net\r\n",
            false,
        ),
    ];
    for (name, from, extra, shows_due) in table {
        let raw = mail(from, subject, "Any news?", extra);
        let o = outcome(&raw, &known);
        let facts = Facts {
            followup_case: Some(open.clone()),
            recent_mail_to_sender: 0,
            letter_id: LETTER_ID.into(),
            acks_last_hour: 0,
            same_delivery: None,
        };
        let p = plan(ctx(), &settings(Mode::Live), &o, &facts, &pos(9), t0()).expect("plan");
        let j = jobs(&p.change);
        assert_eq!(j[0].template, "followup_receipt", "{name}");
        assert_eq!(j[0].due.is_some(), shows_due, "{name}: to {}", j[0].to);
        if shows_due {
            assert_eq!(
                j[0].to, "pat@example.org",
                "{name}: only the requester sees it"
            );
        }
    }
}

#[test]
fn an_acknowledgement_quotes_their_subject_only_when_the_gateway_vouched_for_them() {
    let raw = mail(
        "Patricia Requester <pat@example.org>",
        "FOI request: parking fines",
        FOI_BODY,
        "",
    );
    for (label, c, raw, quoted) in [
        ("no gateway named", ctx(), raw.clone(), ""),
        (
            "vouched",
            trusted_ctx(),
            vouched(&raw, "example.org"),
            "FOI request: parking fines",
        ),
        ("gateway named, not vouched", trusted_ctx(), raw.clone(), ""),
    ] {
        let o = crate::core::triage::triage(
            c,
            &raw,
            Some(t0()),
            &Known::default(),
            &crate::core::extract::InProcess,
        );
        let p = plan(c, &settings(Mode::Live), &o, &facts(), &pos(42), t0()).expect("plan");
        let j = jobs(&p.change);
        assert_eq!(j.len(), 1, "{label}");
        assert_eq!(j[0].their_subject, quoted, "{label}");
        assert_eq!(
            j[0].requester_name.as_deref(),
            Some("Patricia Requester"),
            "{label}: a plain name is greeted either way"
        );
    }
}

#[test]
fn only_a_name_that_reads_as_a_name_is_used_in_the_greeting() {
    let table = [
        (Some("Patricia Requester"), Some("Patricia Requester")),
        (Some("  Siân O’Neill-Jones "), Some("Siân O’Neill-Jones")),
        (Some("Adeyemi, Tom"), Some("Tom Adeyemi")),
        (Some("ADEYEMI, TOM"), Some("Tom Adeyemi")),
        (Some("Dr. J. Smith"), Some("Dr Smith")),
        (Some("CLLR PRIYA PATEL"), Some("Cllr Patel")),
        (Some("Council Web Forms"), None),
        (Some("WIN £500 at example.biz"), None),
        (Some("http://phish.example/login"), None),
        (Some("pat@example.org"), None),
        (Some("Agent 47"), None),
        (Some("Click here to claim your parcel now"), None),
        (
            Some("Aaaaaaaaaa Bbbbbbbbbbbbbbbbbbbbbbbb Cccccccccccccccccccccccccccccccc"),
            None,
        ),
        (Some("..."), None),
        (Some(""), None),
        (None, None),
    ];
    for (input, want) in table {
        assert_eq!(
            salutation_name(input.map(str::to_string)).as_deref(),
            want,
            "{input:?}"
        );
    }
}

/// The default rules with our own staff domain and web-form address configured.
fn own_ctx() -> &'static crate::core::triage::Context {
    static CTX: std::sync::OnceLock<crate::core::triage::Context> = std::sync::OnceLock::new();
    CTX.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        let rules = crate::core::rules::RuleSet::load(&dir).expect("default rules load");
        let mut c = crate::core::triage::Context::standalone(rules);
        c.validity.staff_domains = vec!["council.example.gov.uk".into()];
        c.forms_addresses = vec![FORMS.into()];
        c
    })
}

const FORMS: &str = "forms@council.example.gov.uk";

/// As the daemon builds them: our web forms' address is one of ours.
fn own_settings() -> IngestSettings {
    let mut s = settings(Mode::Live);
    s.own_addresses.push(FORMS.into());
    s
}

fn own_plan(raw: &[u8], threads: &dyn Threads) -> (Outcome, Plan) {
    let o = crate::core::triage::triage(
        own_ctx(),
        raw,
        Some(t0()),
        threads,
        &crate::core::extract::InProcess,
    );
    let p = plan(own_ctx(), &own_settings(), &o, &facts(), &pos(77), t0()).expect("plan");
    (o, p)
}

const FORM_BODY: &str = "A new Freedom of Information request was submitted on the council website.\r\n\r\n\
Full name: ADEYEMI, TOM\r\nEmail address: tom.adeyemi@example.org\r\n\
Details of your request: Please provide the number of residents parking permits issued in 2025, by zone, and the income from them.\r\n";

#[test]
fn a_web_form_request_is_the_requesters_and_is_acknowledged_to_them() {
    for (label, extra) in [
        (
            "requester in Reply-To",
            "Reply-To: Tom Adeyemi <tom.adeyemi@example.org>\r\n",
        ),
        ("requester only in the form fields", ""),
    ] {
        let raw = mail(
            "Council Web Forms <forms@council.example.gov.uk>",
            "Freedom of Information request",
            FORM_BODY,
            extra,
        );
        let (o, p) = own_plan(&raw, &Known::default());
        assert_eq!(
            p.action,
            Handled::NewCase(Kind::Foi),
            "{label}: {}",
            o.decision.why
        );
        let new = p.change.new_case.as_ref().expect("new case");
        assert_eq!(
            new.draft.requester.email, "tom.adeyemi@example.org",
            "{label}"
        );
        assert_eq!(
            new.draft.state,
            CaseState::Open,
            "{label}: {:?}",
            o.validity
        );
        let j = jobs(&p.change);
        assert_eq!(j.len(), 1, "{label}");
        assert_eq!(
            j[0].to, "tom.adeyemi@example.org",
            "{label}: never the forms address"
        );
        assert_eq!(
            j[0].requester_name.as_deref(),
            Some("Tom Adeyemi"),
            "{label}"
        );
        assert!(actions(&p.change).contains(&"received"));
    }
}

#[test]
fn a_web_form_without_a_requester_address_is_recorded_and_nothing_is_sent() {
    let raw = mail(
        "Council Web Forms <forms@council.example.gov.uk>",
        "Freedom of Information request",
        "Full name: Tom Adeyemi\r\nDetails of your request: Please provide the number of residents parking permits issued in 2025, by zone.\r\n",
        "",
    );
    let (_, p) = own_plan(&raw, &Known::default());
    assert_eq!(
        p.action,
        Handled::NewCase(Kind::Foi),
        "the request is not lost"
    );
    assert!(
        jobs(&p.change).is_empty(),
        "nothing goes to the forms address"
    );
    assert!(actions(&p.change).contains(&"acknowledgement_suppressed"));
}

#[test]
fn a_request_forwarded_by_a_colleague_is_the_original_senders() {
    let body = "Hi, this came to our team by mistake - can you log it?\r\n\r\nPaul\r\n\r\n\
________________________________\r\nFrom: Smith, Jane <jane.smith@example.org>\r\n\
Sent: 20 November 2026 16:40\r\nTo: Highways <highways@council.example.gov.uk>\r\n\
Subject: Freedom of Information request: gritting routes\r\n\r\n\
Under the Freedom of Information Act please provide the gritting routes and the number of gritter runs for winter 2025/26.\r\n\r\n\
Kind regards,\r\nJane Smith\r\n";
    let raw = mail(
        "Paul Green <paul.green@council.example.gov.uk>",
        "FW: Freedom of Information request: gritting routes",
        body,
        "",
    );
    let (o, p) = own_plan(&raw, &Known::default());
    assert_eq!(p.action, Handled::NewCase(Kind::Foi), "{}", o.decision.why);
    let new = p.change.new_case.as_ref().expect("new case");
    assert_eq!(new.draft.requester.email, "jane.smith@example.org");
    assert_eq!(
        new.draft.received_at,
        t0(),
        "received when the forward arrived"
    );
    let j = jobs(&p.change);
    assert_eq!(j.len(), 1);
    assert_eq!(j[0].to, "jane.smith@example.org");
    assert_eq!(j[0].requester_name.as_deref(), Some("Jane Smith"));
    let received = &p.change.audit;
    assert!(
        format!("{received:?}")
            .contains("forwarded by a colleague (paul.green@council.example.gov.uk)"),
        "the relay is audited"
    );
}

#[test]
fn an_outlook_recall_or_meeting_answer_from_a_colleague_is_never_a_case() {
    for (subject, body) in [
        (
            "Recall: FOI request - draft response for approval",
            "Ann Lee would like to recall the message, \"FOI request - draft response for approval\".",
        ),
        (
            "Accepted: FOI training for new starters",
            "Under the Freedom of Information Act training.",
        ),
        ("Declined: Information governance board", ""),
    ] {
        let raw = mail(
            "Ann Lee <ann.lee@council.example.gov.uk>",
            subject,
            body,
            "",
        );
        let (o, p) = own_plan(&raw, &Known::default());
        assert_eq!(o.kind(), Kind::Auto, "{subject}: {}", o.decision.why);
        assert!(matches!(p.action, Handled::Ignored { .. }), "{subject}");
        assert!(
            p.change.new_case.is_none() && jobs(&p.change).is_empty(),
            "{subject}"
        );
    }
}

const SAR_DOB: &str = "Dear Data Protection Officer,\r\n\r\nPlease send me a copy of all the personal data \
the council holds about me, including my housing file. My date of birth is 12/03/1984 and I live at \
14 Elm Road, Exampletown EX1 2AB.\r\n\r\nThanks,\r\nJane Smith\r\n";

#[test]
fn a_verifiable_sar_is_valid_and_acknowledged_and_the_case_says_so() {
    let raw = mail(
        "Jane Smith <jane.smith@example.org>",
        "Subject access request",
        SAR_DOB,
        "",
    );
    let (o, p) = own_plan(&raw, &Known::default());
    assert_eq!(p.action, Handled::NewCase(Kind::Sar), "{}", o.decision.why);
    let new = p.change.new_case.as_ref().expect("new case");
    assert_eq!(new.draft.state, CaseState::Open, "{:?}", o.validity);
    assert_eq!(
        new.draft.workflow.identity,
        Some(crate::model::case::IdentityState::Verifiable)
    );
    assert!(new.draft.due.is_some());
    let j = jobs(&p.change);
    assert_eq!(j[0].template, "ack_sar");
    let validated = format!("{:?}", p.change.audit);
    assert!(
        validated.contains("check the date of birth and address"),
        "the officer is told what to check"
    );
}

#[test]
fn a_sar_with_nothing_to_check_waits_for_identity() {
    let raw = mail(
        "Jane Smith <jane.smith@example.org>",
        "Subject access request",
        "Please send me all the personal data you hold about me.\r\n\r\nJane Smith\r\n",
        "",
    );
    let (_, p) = own_plan(&raw, &Known::default());
    let new = p.change.new_case.as_ref().expect("new case");
    assert_eq!(new.draft.state, CaseState::AwaitingId);
    assert_eq!(
        new.draft.workflow.identity,
        Some(crate::model::case::IdentityState::Missing)
    );
    assert_eq!(jobs(&p.change)[0].template, "need_more_info");
}

#[test]
fn an_internal_review_request_opens_its_own_linked_case_on_the_review_clock() {
    let body = "Dear Information Governance team,\r\n\r\nI am dissatisfied with your response to my \
request and ask for an internal review. You applied section 43 without explaining the public \
interest test.\r\n\r\nYours sincerely,\r\nJane Smith\r\n";
    let raw = mail(
        "Jane Smith <jane.smith@example.org>",
        "Re: [FOI-2026-000123] Your Freedom of Information request",
        body,
        "",
    );
    let mut known = Known::default();
    known.refs.insert("FOI-2026-000123".into());
    let (o, p) = own_plan(&raw, &known);
    assert_eq!(o.kind(), Kind::Complaint, "{}", o.decision.why);
    assert!(
        o.followup.is_none(),
        "not a follow-up of the request it reviews"
    );
    assert_eq!(p.action, Handled::NewCase(Kind::Complaint));
    let new = p.change.new_case.as_ref().expect("new case");
    let review = new
        .draft
        .workflow
        .internal_review
        .as_ref()
        .expect("marked internal_review");
    assert_eq!(review.of, crate::model::regime::ReviewOf::Foia);
    assert_eq!(
        review.original,
        Some("FOI-2026-000123".parse::<CaseRef>().unwrap())
    );
    // FOIA review: 20 working days from Mon 23 Nov 2026 = Tue 22 Dec 2026.
    assert_eq!(new.draft.due, chrono::NaiveDate::from_ymd_opt(2026, 12, 22));
    let audit = format!("{:?}", p.change.audit);
    assert!(
        audit.contains("s.45 Code of Practice"),
        "the clock cites its source"
    );
    assert!(audit.contains("linked to FOI-2026-000123"));

    // The same request about an EIR case we do not hold: EIR's 40 working days, not linked.
    let raw = mail(
        "Jane Smith <jane.smith@example.org>",
        "Internal review request",
        "Please conduct an internal review of my request EIR-2026-000042 about the tree survey: I do not accept that the exception applies.\r\n\r\nJane Smith\r\n",
        "",
    );
    let (o, p) = own_plan(&raw, &Known::default());
    assert_eq!(o.kind(), Kind::Complaint, "{}", o.decision.why);
    let new = p.change.new_case.as_ref().expect("new case");
    let review = new.draft.workflow.internal_review.as_ref().expect("marked");
    assert_eq!(review.of, crate::model::regime::ReviewOf::Eir);
    assert_eq!(review.quoted.as_deref(), Some("EIR-2026-000042"));
    assert_eq!(review.original, None);
    assert_eq!(new.draft.due, chrono::NaiveDate::from_ymd_opt(2027, 1, 25));
}

/// The same request as the requester's client sent it (the part every delivery shares).
fn sent_by(from: &str) -> String {
    format!(
        "From: {from}\r\nTo: {SHARED}\r\nSubject: FOI request: parking fines\r\n\
         Date: Mon, 23 Nov 2026 09:59:00 +0000\r\nMessage-ID: <CAF=abc123@mail.example.org>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{FOI_BODY}\r\n"
    )
}

#[test]
fn another_delivery_with_the_same_message_id_from_and_date_is_one_message() {
    let pat = "Patricia Requester <pat@example.org>";
    // Our MTA's trace on top, then a copy through a gateway that writes a header of its own
    // above the trace (not one the content hash skips) and stamps the sender's block as well.
    let first = format!(
        "Received: from mail.example.org by mx1.council.example.gov.uk; Mon, 23 Nov 2026 09:59:02 +0000\r\n{}",
        sent_by(pat)
    );
    let second = format!(
        "X-Gateway-Scan: clean; engine=7\r\nReceived: from relay.example.net by mx1.council.example.gov.uk; \
         Mon, 23 Nov 2026 09:59:09 +0000\r\n{}",
        sent_by(pat).replace(
            "MIME-Version",
            "X-Relayed-By: relay.example.net\r\nMIME-Version"
        )
    );
    let o1 = outcome(first.as_bytes(), &Known::default());
    let o2 = outcome(second.as_bytes(), &Known::default());
    assert_ne!(
        crate::core::dedupe::dedupe_hash(first.as_bytes()),
        crate::core::dedupe::dedupe_hash(second.as_bytes()),
        "the content hash alone would make two cases"
    );
    let p1 = plan(ctx(), &settings(Mode::Live), &o1, &facts(), &pos(1), t0()).expect("plan");
    let recorded = p1
        .change
        .new_case
        .as_ref()
        .expect("a case")
        .draft
        .content_hashes
        .clone();

    // What the store answers for the second copy: its identity is among the first's keys.
    let key = identity_key(&o2.message).expect("an identity");
    assert!(recorded.contains(&key), "{recorded:?}");
    let again = Facts {
        same_delivery: Some(Kind::Foi),
        ..facts()
    };
    let p2 = plan(ctx(), &settings(Mode::Live), &o2, &again, &pos(2), t0()).expect("plan");
    match &p2.action {
        Handled::Ignored { kind, why } => {
            assert_eq!(*kind, Kind::Foi);
            assert!(why.contains("another delivery"), "{why}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(p2.file_as, Kind::Foi, "filed with the first");
    assert!(p2.change.new_case.is_none() && p2.change.outbox_new.is_empty());
    assert!(p2.change.audit.is_empty() && !p2.queues_mail);
    // This copy's own hash is remembered, so a third copy like it is known before triage.
    let seen: Vec<_> = p2
        .change
        .seen
        .iter()
        .map(|s| s.content_hash.clone())
        .collect();
    assert_eq!(seen, [Some(o2.message.content_hash.clone())]);
    assert_eq!(p2.change.cursor, plan_duplicate(&pos(2)).cursor);
}

#[test]
fn a_copied_message_id_from_another_sender_suppresses_nothing() {
    let real = outcome(
        sent_by("Patricia Requester <pat@example.org>").as_bytes(),
        &Known::default(),
    );
    let p = plan(ctx(), &settings(Mode::Live), &real, &facts(), &pos(1), t0()).expect("plan");
    let recorded = p.change.new_case.expect("a case").draft.content_hashes;
    // Same Message-ID and Date (copied or guessed), another From: another message.
    for from in [
        "Mallory <mallory@example.net>",
        "Pat <pat@example.org.evil.example>",
    ] {
        let forged = outcome(sent_by(from).as_bytes(), &Known::default());
        assert_eq!(forged.message.message_id, real.message.message_id, "{from}");
        let key = identity_key(&forged.message).expect("an identity");
        assert!(
            !recorded.contains(&key),
            "{from}: would be taken for the real one"
        );
        let p = plan(
            ctx(),
            &settings(Mode::Live),
            &forged,
            &facts(),
            &pos(2),
            t0(),
        )
        .expect("plan");
        assert_eq!(p.action, Handled::NewCase(Kind::Foi), "{from}");
    }
}

#[test]
fn a_follow_up_records_its_delivery_identity_on_the_case() {
    let open =
        crate::core::plan::testkit::case(7, Kind::Foi, "Parking fines", "2026-11-02T09:30:00Z");
    let known = Known {
        refs: [open.reference.to_string()].into(),
        ..Known::default()
    };
    let raw = mail(
        "Jane Smith <jane@example.org>",
        &format!("Re: {} parking fines", open.reference),
        "Any news?",
        "",
    );
    let o = outcome(&raw, &known);
    let f = Facts {
        followup_case: Some(open.clone()),
        ..facts()
    };
    let p = plan(ctx(), &settings(Mode::Live), &o, &f, &pos(3), t0()).expect("plan");
    let updated = &p.change.case_updates[0].case.content_hashes;
    assert_eq!(
        updated[1..],
        [
            o.message.content_hash.clone(),
            identity_key(&o.message).expect("an identity")
        ]
    );
}

/// An out-of-office reply that carries a request: `auto` by its headers, FOI by its words.
fn out_of_office_with_a_request() -> Vec<u8> {
    mail(
        "Patricia Requester <pat@example.org>",
        "Automatic reply:\tparking fines",
        FOI_BODY,
        "Auto-Submitted: auto-replied\r\n",
    )
}

#[test]
fn mail_filed_without_a_case_is_kept_for_people_with_why_and_a_suggested_kind() {
    let bounce = mail(
        "Mail Delivery System <MAILER-DAEMON@mx.example.org>",
        "Undelivered Mail Returned to Sender",
        "This is the mail system at host mx.example.org. I'm sorry to have to inform you that your message could not be delivered.",
        "Auto-Submitted: auto-replied\r\nReturn-Path: <>\r\n",
    );
    let own = mail(
        &format!("FOI Team <{SHARED}>"),
        "FOI request: parking fines",
        FOI_BODY,
        "",
    );
    let ooo = out_of_office_with_a_request();
    // (name, message, mode, kept as (kind, suggested, from, subject))
    type Row<'a> = (
        &'a str,
        &'a [u8],
        Mode,
        Option<(Kind, Kind, &'a str, &'a str)>,
    );
    let table: [Row; 4] = [
        (
            "bounce",
            &bounce,
            Mode::Live,
            Some((
                Kind::Auto,
                Kind::General,
                "MAILER-DAEMON@mx.example.org",
                "Undelivered Mail Returned to Sender",
            )),
        ),
        (
            "out of office with a request",
            &ooo,
            Mode::Live,
            Some((
                Kind::Auto,
                Kind::Foi,
                "pat@example.org",
                "Automatic reply: parking fines",
            )),
        ),
        (
            "our own address",
            &own,
            Mode::Live,
            Some((Kind::Foi, Kind::Foi, SHARED, "FOI request: parking fines")),
        ),
        (
            "a historical import lists nothing",
            &bounce,
            Mode::Import,
            None,
        ),
    ];
    let now = t0() + chrono::Duration::minutes(5);
    for (name, raw, mode, want) in table {
        let o = outcome(raw, &Known::default());
        let mut p = plan(ctx(), &settings(mode), &o, &facts(), &pos(1), now).expect("plan");
        let Some((kind, suggested, from, subject)) = want else {
            assert_eq!(p.change.machine_mail, None, "{name}");
            continue;
        };
        let Handled::Ignored { why, .. } = p.action.clone() else {
            panic!("{name}: {:?}", p.action);
        };
        let kept = p.change.machine_mail.clone().expect(name);
        let d = &kept.draft;
        assert_eq!(kept.year, 2026, "{name}");
        assert_eq!(
            (d.kind, d.suggested),
            (kind, suggested),
            "{name}: {}",
            d.why
        );
        assert_eq!(
            (d.from.as_str(), d.subject.as_str()),
            (from, subject),
            "{name}"
        );
        assert_eq!(d.why, why, "{name}");
        assert_eq!((d.received_at, d.filed_at), (t0(), now), "{name}");
        assert_eq!(d.content_hash, o.message.content_hash, "{name}");
        assert_eq!(d.message_id, o.message.message_id, "{name}");
        let fired: Vec<String> = o.decision.fired.iter().map(|r| r.id.clone()).collect();
        assert_eq!(d.rules, fired, "{name}");
        assert!(d.opened.is_none() && kept.raw.is_empty(), "{name}");
        // The app hands over the bytes it fetched.
        attach_original(&mut p, raw, true);
        let kept = p.change.machine_mail.as_ref().expect(name);
        assert_eq!(kept.raw, raw, "{name}");
        assert_eq!(
            (kept.draft.size, kept.draft.partial),
            (raw.len() as u64, true)
        );
    }
}

#[test]
fn another_delivery_of_machine_mail_keeps_no_second_record() {
    let o = outcome(&out_of_office_with_a_request(), &Known::default());
    let seen_before = Facts {
        same_delivery: Some(Kind::Auto),
        ..facts()
    };
    let p = plan(
        ctx(),
        &settings(Mode::Live),
        &o,
        &seen_before,
        &pos(2),
        t0(),
    )
    .expect("plan");
    assert_eq!(p.change.machine_mail, None);
}

/// The record intake would keep of `raw` (received at `received`), as stored with number 7.
fn kept(raw: &[u8], received: DateTime<Utc>) -> crate::model::machine::MachineMail {
    let o = crate::core::triage::triage(
        ctx(),
        raw,
        Some(received),
        &Known::default(),
        &crate::core::extract::InProcess,
    );
    let p = plan(
        ctx(),
        &settings(Mode::Live),
        &o,
        &facts(),
        &pos(1),
        received,
    )
    .expect("plan");
    let id = MachineMailId::new(2026, 7).expect("id");
    p.change.machine_mail.expect("kept").draft.into_record(id)
}

#[test]
fn an_opened_record_becomes_a_case_whose_clock_runs_from_the_original_receipt() {
    let raw = out_of_office_with_a_request();
    // Received Monday 9 November 2026; opened a fortnight later.
    let received = Utc
        .with_ymd_and_hms(2026, 11, 9, 10, 0, 0)
        .single()
        .expect("t");
    let record = kept(&raw, received);
    let opening = |kind: Kind| {
        crate::core::triage::triage_as(
            ctx(),
            &raw,
            Some(record.received_at),
            &Known::default(),
            &crate::core::extract::InProcess,
            kind,
        )
    };
    let o = opening(record.suggested);
    let open = OpenRequest {
        record: &record,
        by: "alice@council.example.gov.uk",
        why: "a request inside an out-of-office reply",
    };
    let p = plan_opened(ctx(), &settings(Mode::Live), &o, &facts(), &open, t0()).expect("plan");
    assert_eq!(p.action, Handled::NewCase(Kind::Foi));
    let new = p.change.new_case.as_ref().expect("a case");
    assert_eq!(new.draft.received_at, received);
    // FOIA: day 0 Monday 9 November 2026, 20 working days (St Andrew's Day, a UK bank holiday,
    // skipped) → Tuesday 8 December 2026, not the date counted from the day it was opened.
    assert_eq!(
        new.draft.due.map(|d| d.to_string()).as_deref(),
        Some("2026-12-08")
    );
    assert_eq!(new.draft.created_at, t0());
    // Who opened it comes first, then the usual audit of a new request.
    let first = &p.change.audit[0].event;
    assert_eq!(
        (first.actor.as_str(), first.action.as_str()),
        ("alice@council.example.gov.uk", OPENED_ACTION)
    );
    assert_eq!(first.detail["machine_mail"], json!("M-2026-000007"));
    assert_eq!(first.why, "a request inside an out-of-office reply");
    assert!(
        actions(&p.change).contains(&"received"),
        "{:?}",
        actions(&p.change)
    );
    assert!(actions(&p.change).contains(&"acknowledgement_queued"));
    let acks = jobs(&p.change);
    assert_eq!(acks.len(), 1);
    assert_eq!(
        (acks[0].template.as_str(), acks[0].to.as_str()),
        ("ack_foi", "pat@example.org")
    );
    assert_eq!(
        p.change.machine_mail_opened,
        [MachineMailOpened {
            id: record.id,
            case: CaseTarget::New,
            by: "alice@council.example.gov.uk".into(),
            at: t0(),
        }]
    );
    assert!(p.change.cursor.is_none() && p.change.machine_mail.is_none());

    // Refusals: a record already opened, and the `auto` kind.
    let mut done = record.clone();
    done.opened = Some(crate::model::machine::Opened {
        case: CaseRef::new("FOI", 2026, 5).expect("ref"),
        by: "bob@council.example.gov.uk".into(),
        at: t0(),
    });
    let again = OpenRequest {
        record: &done,
        ..open
    };
    let err = plan_opened(ctx(), &settings(Mode::Live), &o, &facts(), &again, t0()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "machine mail M-2026-000007 was already opened as FOI-2026-000005 (by bob@council.example.gov.uk)"
    );
    let auto = opening(Kind::Auto);
    let err = plan_opened(ctx(), &settings(Mode::Live), &auto, &facts(), &open, t0()).unwrap_err();
    assert_eq!(err, PlanError::OpenAsAuto(record.id));
}

#[test]
fn the_suggested_kind_is_the_rules_best_after_auto_else_general() {
    let ooo = outcome(&out_of_office_with_a_request(), &Known::default());
    let table = [
        (Kind::Auto, &ooo.decision, Kind::Foi),
        (Kind::Media, &ooo.decision, Kind::Media),
    ];
    for (kind, decision, want) in table {
        assert_eq!(suggested_kind(decision, kind), want, "{kind}");
    }
    let mut nothing = ooo.decision.clone();
    nothing.scores.retain(|(k, _)| *k == Kind::Auto);
    assert_eq!(suggested_kind(&nothing, Kind::Auto), Kind::General);
}
