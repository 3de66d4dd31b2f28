//! Staff actions without a store: real rules context, real deadline engine, hand-checked dates
//! (deadlines.md §1.2 and vectors). 2026 bank holidays that matter: St Patrick's Day Tue 17 Mar
//! (Northern Ireland: a FOIA/EIR working-day holiday everywhere in the UK, not a SAR one for an
//! England and Wales controller), Good Friday 3 Apr, Easter Monday 6 Apr.

use super::*;
use crate::core::deadline::Region;
use crate::core::rules::RuleSet;
use crate::model::case::{CaseDraft, CaseWorkflow};
use crate::model::message::Address;
use proptest::prelude::*;
use std::sync::OnceLock;

fn load(region: Region) -> Context {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let mut ctx = Context::standalone(RuleSet::load(&dir).expect("default rules load"));
    ctx.region = region;
    ctx
}

/// England and Wales authority.
fn ew() -> &'static Context {
    static CTX: OnceLock<Context> = OnceLock::new();
    CTX.get_or_init(|| load(Region::EnglandAndWales))
}

/// Scottish authority (FOISA, EIR(S)).
fn sc() -> &'static Context {
    static CTX: OnceLock<Context> = OnceLock::new();
    CTX.get_or_init(|| load(Region::Scotland))
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("test instant")
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
}

/// Received Monday 2 March 2026, 09:30 GMT.
const RECEIVED: &str = "2026-03-02T09:30:00Z";
const ALICE: &str = "alice@council.example";
const BOB: &str = "bob@council.example";

fn staff(handle: &str) -> Option<String> {
    match handle.to_ascii_lowercase().as_str() {
        "alice" => Some(ALICE.into()),
        "bob" => Some(BOB.into()),
        h if h.ends_with("@council.example") => Some(h.to_string()),
        _ => None,
    }
}

fn prefix(kind: Kind) -> &'static str {
    match kind {
        Kind::Eir => "EIR",
        Kind::Sar => "SAR",
        Kind::Foi => "FOI",
        _ => "ENQ",
    }
}

/// An open case of `kind`, its due date computed as the daemon would.
fn case_in(ctx: &Context, kind: Kind, state: CaseState) -> Case {
    let received_at = at(RECEIVED);
    let mut c = CaseDraft {
        reference: (),
        kind,
        state,
        received_at,
        requester: Address {
            name: Some("Jane Smith".into()),
            email: "jane@example.org".into(),
        },
        subject: "Request for information".into(),
        message_ids: vec!["req@example.org".into()],
        content_hashes: vec![],
        rules: vec![],
        valid: Some(true),
        missing: vec![],
        due: None,
        clock_events: vec![],
        assignee: None,
        team: None,
        workflow: CaseWorkflow::default(),
        created_at: received_at,
        updated_at: received_at,
    }
    .into_case(CaseRef::new(prefix(kind), 2026, 123).expect("valid"));
    c.due = expected_due(ctx, &c);
    c
}

fn case(kind: Kind, state: CaseState) -> Case {
    case_in(ew(), kind, state)
}

/// What the engine says the due date is for the case's events: the invariant `apply` keeps.
fn expected_due(ctx: &Context, c: &Case) -> Option<NaiveDate> {
    let regime = ctx.regime(c.kind)?;
    deadline::compute(
        &ClockInput {
            regime,
            region: ctx.region,
            received_at: c.received_at,
            events: c.clock_events.clone(),
        },
        &ctx.calendar,
        &ctx.options,
    )
    .ok()
    .and_then(|o| o.due())
}

fn run_in(ctx: &Context, c: &Case, action: Action, when: &str) -> Result<Done, ActionError> {
    apply(c, &action, ALICE, "", at(when), ctx, &staff)
}

fn run(c: &Case, action: Action, when: &str) -> Result<Done, ActionError> {
    run_in(ew(), c, action, when)
}

/// Applies a sequence, panicking with the step on the first refusal (test helper only).
fn steps(ctx: &Context, mut c: Case, list: &[(Action, &str)]) -> Case {
    for (action, when) in list {
        match run_in(ctx, &c, action.clone(), when) {
            Ok(done) => c = done.case,
            Err(e) => panic!("{action:?} at {when}: {e}"),
        }
    }
    c
}

fn clarify() -> Action {
    Action::RequestClarification { text: None }
}
fn answer() -> Action {
    Action::RecordAnswer { on: None }
}
fn extend() -> Action {
    Action::Extend {
        reason: "public interest test on s.43".into(),
    }
}
fn close(outcome: CloseOutcome, ex: &[&str]) -> Action {
    Action::Close {
        outcome,
        exemptions: ex.iter().map(|s| s.to_string()).collect(),
    }
}
fn note(t: &str) -> Action {
    Action::Note { text: t.into() }
}

#[test]
fn starting_due_dates_are_the_statutory_ones() {
    // FOIA/EIR: WD20 from Mon 2 Mar 2026, skipping St Patrick's Day, is Tue 31 Mar; SAR: one
    // month, Thu 2 Apr (ICO method).
    assert_eq!(case(Kind::Foi, CaseState::Open).due, Some(d("2026-03-31")));
    assert_eq!(case(Kind::Eir, CaseState::Open).due, Some(d("2026-03-31")));
    assert_eq!(case(Kind::Sar, CaseState::Open).due, Some(d("2026-04-02")));
}

#[test]
fn clock_actions_follow_the_law_per_regime() {
    use CaseState as S;
    // (name, ctx, kind, steps, final state, final due, clock events by name)
    type Row = (
        &'static str,
        &'static Context,
        Kind,
        Vec<(Action, &'static str)>,
        CaseState,
        Option<&'static str>,
        Vec<&'static str>,
    );
    let table: Vec<Row> = vec![
        (
            "FOIA clarification restarts from the answer (s.10(6)(b)): WD20 from Tue 10 Mar, past 17 Mar and Easter",
            ew(),
            Kind::Foi,
            vec![
                (clarify(), "2026-03-04T10:00:00Z"),
                (answer(), "2026-03-10T11:00:00Z"),
            ],
            S::Open,
            Some("2026-04-10"),
            vec!["clarification_requested", "clarification_received"],
        ),
        (
            "FOIA clarification pending: no due date",
            ew(),
            Kind::Foi,
            vec![(clarify(), "2026-03-04T10:00:00Z")],
            S::AwaitingClarification,
            None,
            vec!["clarification_requested"],
        ),
        (
            "EIR uses further particulars (reg 9(4)), same restart",
            ew(),
            Kind::Eir,
            vec![
                (clarify(), "2026-03-04T10:00:00Z"),
                (answer(), "2026-03-10T11:00:00Z"),
            ],
            S::Open,
            Some("2026-04-10"),
            vec!["particulars_requested", "particulars_received"],
        ),
        (
            "SAR clarification is a pause (Art 12A): 7 days added, vector 25",
            ew(),
            Kind::Sar,
            vec![
                (clarify(), "2026-03-04T10:00:00Z"),
                (answer(), "2026-03-10T11:00:00Z"),
            ],
            S::Open,
            Some("2026-04-09"),
            vec!["clarification_requested", "clarification_received"],
        ),
        (
            "SAR proof of identity restarts the month from its arrival",
            ew(),
            Kind::Sar,
            vec![
                (Action::RequestId { text: None }, "2026-03-04T10:00:00Z"),
                (answer(), "2026-03-10T11:00:00Z"),
            ],
            S::Open,
            Some("2026-04-10"),
            vec!["id_requested", "id_received"],
        ),
        (
            "SAR waiting for ID",
            ew(),
            Kind::Sar,
            vec![(Action::RequestId { text: None }, "2026-03-04T10:00:00Z")],
            S::AwaitingId,
            None,
            vec!["id_requested"],
        ),
        (
            "FOIA fee: working days 9 to 19 Mar disregarded (s.10(2))",
            ew(),
            Kind::Foi,
            vec![
                (
                    Action::RequestFee {
                        text: Some("£40".into()),
                    },
                    "2026-03-09T10:00:00Z",
                ),
                (answer(), "2026-03-19T15:00:00Z"),
            ],
            S::Open,
            Some("2026-04-14"),
            vec!["fee_notice", "fee_received"],
        ),
        (
            "FOIA fee unpaid: stopped",
            ew(),
            Kind::Foi,
            vec![(Action::RequestFee { text: None }, "2026-03-09T10:00:00Z")],
            S::AwaitingFee,
            None,
            vec!["fee_notice"],
        ),
        (
            "FOIA public interest extension: WD40, Thu 30 Apr",
            ew(),
            Kind::Foi,
            vec![(extend(), "2026-03-20T10:00:00Z")],
            S::Open,
            Some("2026-04-30"),
            vec!["extension"],
        ),
        (
            "EIR reg 7 extension: WD40",
            ew(),
            Kind::Eir,
            vec![(extend(), "2026-03-20T10:00:00Z")],
            S::Open,
            Some("2026-04-30"),
            vec!["extension"],
        ),
        (
            "SAR two further months: 2 Jun",
            ew(),
            Kind::Sar,
            vec![(extend(), "2026-03-20T10:00:00Z")],
            S::Open,
            Some("2026-06-02"),
            vec!["extension"],
        ),
        (
            "EIR(S) in Scotland: particulars, reg 7 extension allowed",
            sc(),
            Kind::Eir,
            vec![
                (clarify(), "2026-03-04T10:00:00Z"),
                (answer(), "2026-03-10T11:00:00Z"),
                (extend(), "2026-03-11T10:00:00Z"),
            ],
            S::Open,
            // Scottish calendar: 17 Mar and Easter Monday are working days, 4 May is not; WD40.
            Some("2026-05-07"),
            vec!["particulars_requested", "particulars_received", "extension"],
        ),
        (
            "FOISA clarification (s.10(1)(b)): Scottish calendar, Easter Monday counts, Wed 8 Apr",
            sc(),
            Kind::Foi,
            vec![
                (clarify(), "2026-03-04T10:00:00Z"),
                (answer(), "2026-03-10T11:00:00Z"),
            ],
            S::Open,
            Some("2026-04-08"),
            vec!["clarification_requested", "clarification_received"],
        ),
        (
            "SAR fee restarts the month from payment (Art 12A)",
            ew(),
            Kind::Sar,
            vec![
                (Action::RequestFee { text: None }, "2026-03-04T10:00:00Z"),
                (answer(), "2026-03-10T11:00:00Z"),
            ],
            S::Open,
            Some("2026-04-10"),
            vec!["fee_notice", "fee_received"],
        ),
        (
            "answer dated in the past: day 0 is that date, not today",
            ew(),
            Kind::Foi,
            vec![
                (clarify(), "2026-03-04T10:00:00Z"),
                (
                    Action::RecordAnswer {
                        on: Some(d("2026-03-10")),
                    },
                    "2026-03-16T09:00:00Z",
                ),
            ],
            S::Open,
            Some("2026-04-10"),
            vec!["clarification_requested", "clarification_received"],
        ),
    ];
    for (name, ctx, kind, list, state, due, events) in table {
        let start = case_in(ctx, kind, CaseState::Open);
        let end = steps(ctx, start, &list);
        assert_eq!(end.state, state, "{name}");
        assert_eq!(end.due, due.map(d), "{name}");
        assert_eq!(
            end.due,
            expected_due(ctx, &end),
            "{name}: due must be the engine's"
        );
        let names: Vec<&str> = end.clock_events.iter().map(ClockEvent::name).collect();
        assert_eq!(names, events, "{name}");
        assert_eq!(
            end.reference,
            CaseRef::new(prefix(kind), 2026, 123).expect("valid")
        );
    }
}

#[test]
fn refusals_name_the_case_and_the_way_out() {
    use CaseState as S;
    let refused = close(CloseOutcome::Refused, &[]);
    // (kind, ctx, state, action, substring of the error message)
    let table: Vec<(Kind, &'static Context, CaseState, Action, &str)> = vec![
        (
            Kind::Foi,
            ew(),
            S::Closed,
            clarify(),
            "FOI-2026-000123 is closed; reopen it first",
        ),
        (
            Kind::Foi,
            ew(),
            S::Closed,
            Action::Assign { to: "bob".into() },
            "is closed; reopen it first",
        ),
        (
            Kind::Foi,
            ew(),
            S::Closed,
            close(CloseOutcome::Withdrawn, &[]),
            "is closed; reopen it first",
        ),
        (
            Kind::Foi,
            ew(),
            S::Closed,
            Action::Responded { on: None },
            "is closed",
        ),
        (
            Kind::Foi,
            ew(),
            S::Responded,
            clarify(),
            "already been responded to, so you cannot ask for clarification; reopen it first",
        ),
        (
            Kind::Foi,
            ew(),
            S::Responded,
            extend(),
            "so you cannot extend it",
        ),
        (
            Kind::Foi,
            ew(),
            S::Responded,
            Action::Responded { on: None },
            "already been responded to",
        ),
        (
            Kind::Foi,
            ew(),
            S::Open,
            Action::Reopen,
            "FOI-2026-000123 is open, not closed or responded; there is nothing to reopen",
        ),
        (
            Kind::Foi,
            ew(),
            S::AwaitingClarification,
            Action::RequestFee { text: None },
            "already waiting for clarification; record the answer with #answer before you ask for a fee",
        ),
        (
            Kind::Sar,
            ew(),
            S::AwaitingId,
            clarify(),
            "already waiting for proof of identity",
        ),
        (
            Kind::Foi,
            ew(),
            S::Open,
            answer(),
            "not waiting for anything from the requester (it is open)",
        ),
        (Kind::Foi, ew(), S::Received, answer(), "(it is received)"),
        (
            Kind::Foi,
            ew(),
            S::Open,
            Action::RequestId { text: None },
            "FOI-2026-000123 (foi) is not a subject access request: proof of identity can only be asked for those (UK GDPR Art 12(6))",
        ),
        (
            Kind::Eir,
            ew(),
            S::Open,
            Action::RequestId { text: None },
            "EIR-2026-000123 (eir) is not a subject access request",
        ),
        (
            Kind::Complaint,
            ew(),
            S::Open,
            clarify(),
            "ENQ-2026-000123 (complaint) runs on a local-policy timescale, which the law gives no clock stops, so you cannot ask for clarification; add a #note instead",
        ),
        (
            Kind::MemberEnquiry,
            ew(),
            S::Open,
            Action::RequestFee { text: None },
            "local-policy timescale",
        ),
        (
            Kind::Foi,
            sc(),
            S::Open,
            extend(),
            "FOI-2026-000123 cannot be extended: FOISA allows no extension",
        ),
        (
            Kind::Complaint,
            ew(),
            S::Open,
            extend(),
            "cannot be extended: local-policy timescales are not statutory",
        ),
        (
            Kind::Foi,
            ew(),
            S::Open,
            Action::Extend {
                reason: "  ".into(),
            },
            "an extension needs a reason",
        ),
        (
            Kind::Foi,
            ew(),
            S::Open,
            Action::Assign {
                to: "mallory".into(),
            },
            "no member of staff is known as \"mallory\"",
        ),
        (
            Kind::Foi,
            ew(),
            S::Open,
            Action::Assign {
                to: "eve@evil.example".into(),
            },
            "no member of staff is known",
        ),
        (
            Kind::Foi,
            ew(),
            S::Open,
            Action::Reclassify { kind: Kind::Foi },
            "nothing to do, it is already foi",
        ),
        (
            Kind::Foi,
            ew(),
            S::Open,
            Action::Reclassify { kind: Kind::Auto },
            "cannot be re-classified as auto",
        ),
        (
            Kind::Foi,
            ew(),
            S::Open,
            refused,
            "a refusal must name the exemption(s)",
        ),
        (
            Kind::Foi,
            ew(),
            S::Open,
            close(CloseOutcome::ProvidedInFull, &["s.40(2)"]),
            "exemptions only go with a refusal or a part release",
        ),
        (
            Kind::Foi,
            ew(),
            S::Open,
            close(CloseOutcome::Lapsed, &[]),
            "can only lapse while it waits for clarification, proof of identity or a fee; it is open",
        ),
        (
            Kind::Foi,
            ew(),
            S::Open,
            note(""),
            "a note needs a reason or text",
        ),
        (
            Kind::Foi,
            ew(),
            S::Open,
            Action::FlagVexatious { why: "".into() },
            "a vexatious flag needs a reason",
        ),
        (
            Kind::Foi,
            ew(),
            S::Open,
            Action::FlagRepeat {
                of: CaseRef::new("FOI", 2026, 123).expect("valid"),
                why: None,
            },
            "cannot be a repeat of itself",
        ),
        (
            Kind::Foi,
            ew(),
            S::Open,
            note(&"x".repeat(MAX_TEXT_CHARS + 1)),
            "at most 1000 are kept",
        ),
    ];
    for (kind, ctx, state, action, want) in table {
        let c = case_in(ctx, kind, state);
        let got = run_in(ctx, &c, action.clone(), "2026-03-20T10:00:00Z");
        match got {
            Ok(done) => panic!(
                "{kind} {state} {action:?}: accepted, state {}",
                done.case.state
            ),
            Err(e) => assert!(
                e.to_string().contains(want),
                "{kind} {state} {action:?}: {e}"
            ),
        }
    }
}

#[test]
fn what_each_state_allows() {
    use CaseState as S;
    let all_kinds_actions = |c: &Case| -> Vec<(Action, bool)> {
        vec![
            (note("called the requester"), true),
            (
                Action::FlagVexatious {
                    why: "abusive".into(),
                },
                true,
            ),
            (
                Action::FlagRepeat {
                    of: CaseRef::new("FOI", 2025, 9).expect("valid"),
                    why: None,
                },
                true,
            ),
            (Action::Reopen, c.state.is_finished()),
            (Action::Assign { to: "bob".into() }, c.state != S::Closed),
            (Action::Reclassify { kind: Kind::Eir }, c.state != S::Closed),
            (close(CloseOutcome::Withdrawn, &[]), c.state != S::Closed),
            (clarify(), matches!(c.state, S::Received | S::Open)),
            (Action::Responded { on: None }, !c.state.is_finished()),
            (
                answer(),
                matches!(c.state, S::AwaitingClarification | S::AwaitingFee),
            ),
        ]
    };
    for state in CaseState::ALL {
        if state == S::AwaitingId {
            continue; // FOI cases never wait for ID; SAR is covered above.
        }
        let mut c = case(Kind::Foi, state);
        // A waiting case has the clock event that makes it wait.
        match state {
            S::AwaitingClarification => c.clock_events.push(ClockEvent::ClarificationRequested(
                at("2026-03-04T10:00:00Z"),
            )),
            S::AwaitingFee => c
                .clock_events
                .push(ClockEvent::FeeNotice(at("2026-03-04T10:00:00Z"))),
            _ => {}
        }
        c.due = expected_due(ew(), &c);
        for (action, ok) in all_kinds_actions(&c) {
            let got = run(&c, action.clone(), "2026-03-20T10:00:00Z");
            assert_eq!(got.is_ok(), ok, "{state} {action:?}: {got:?}");
        }
    }
}

#[test]
fn the_audit_says_who_when_what_and_why() {
    let c = case(Kind::Foi, CaseState::Open);
    let now = at("2026-03-04T10:00:00Z");
    let done = apply(
        &c,
        &Action::Assign { to: "Alice".into() },
        BOB,
        "",
        now,
        ew(),
        &staff,
    )
    .expect("assigns");
    assert_eq!(done.case.assignee.as_deref(), Some(ALICE));
    assert_eq!(done.case.updated_at, now);
    assert_eq!(
        done.audit.len(),
        1,
        "no clock change, no due event: {:?}",
        done.audit
    );
    let e = &done.audit[0];
    assert_eq!(
        (e.at, e.actor.as_str(), e.action.as_str()),
        (now, BOB, "assigned")
    );
    assert_eq!(e.detail["old"], serde_json::Value::Null);
    assert_eq!(e.detail["new"], ALICE);
    assert_eq!(e.detail["handle"], "Alice");
    assert_eq!(e.detail["old_state"], "open");
    assert_eq!(e.why, format!("assigned to {ALICE}"));

    // Re-assignment keeps the old value; the officer's own reason wins over the default.
    let again = apply(
        &done.case,
        &Action::Assign { to: "bob".into() },
        ALICE,
        "  leave cover ",
        now,
        ew(),
        &staff,
    )
    .expect("reassigns");
    assert_eq!(again.audit[0].detail["old"], ALICE);
    assert_eq!(again.audit[0].detail["new"], BOB);
    assert_eq!(again.audit[0].why, "leave cover");
    // Same person, any case: nothing to do.
    let same = apply(
        &again.case,
        &Action::Assign {
            to: "BOB@council.example".into(),
        },
        ALICE,
        "",
        now,
        ew(),
        &staff,
    );
    assert!(
        matches!(same, Err(ActionError::Unchanged { .. })),
        "{same:?}"
    );

    // A clock action adds due_recomputed with old and new dates and the explanation.
    let asked = run(&c, clarify(), "2026-03-04T10:00:00Z").expect("asks");
    let verbs: Vec<&str> = asked.audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(verbs, ["clarification_requested", "due_recomputed"]);
    assert_eq!(asked.audit[0].detail["new_state"], "awaiting_clarification");
    assert_eq!(asked.audit[0].detail["event"], "clarification_requested");
    assert_eq!(asked.audit[1].detail["old_due"], "2026-03-31");
    assert_eq!(asked.audit[1].detail["due"], serde_json::Value::Null);
    assert!(
        asked.audit[1].why.contains("Clock stopped since"),
        "{}",
        asked.audit[1].why
    );
    let answered = run(&asked.case, answer(), "2026-03-10T11:00:00Z").expect("answers");
    assert_eq!(answered.audit[1].detail["due"], "2026-04-10");
    assert_eq!(answered.audit[0].detail["asked_at"], "2026-03-04T10:00:00Z");
}

#[test]
fn the_due_date_is_always_recomputed_never_taken_from_the_record() {
    // A due date edited by hand in the record is put right by the next action, and audited.
    let mut c = case(Kind::Foi, CaseState::Open);
    c.due = Some(d("2026-12-25"));
    let done = run(&c, note("checked"), "2026-03-04T10:00:00Z").expect("notes");
    assert_eq!(done.case.due, Some(d("2026-03-31")));
    assert_eq!(done.audit[1].action, "due_recomputed");
    assert_eq!(done.audit[1].detail["old_due"], "2026-12-25");

    // A clock the engine cannot compute blocks clock actions, but never a note.
    let mut broken = case(Kind::Complaint, CaseState::AwaitingClarification);
    broken
        .clock_events
        .push(ClockEvent::ClarificationRequested(at(
            "2026-03-04T10:00:00Z",
        )));
    broken.due = Some(d("2026-03-16"));
    let noted =
        run(&broken, note("see file"), "2026-03-05T10:00:00Z").expect("a note always works");
    assert_eq!(noted.case.due, Some(d("2026-03-16")));
    assert_eq!(noted.audit[1].action, "clock_error");
    let answered = run(&broken, answer(), "2026-03-05T10:00:00Z");
    assert!(
        matches!(answered, Err(ActionError::Clock { .. })),
        "{answered:?}"
    );
    // Re-classifying it to another policy kind drops the meaningless events and mends it.
    let mended = run(
        &broken,
        Action::Reclassify {
            kind: Kind::General,
        },
        "2026-03-05T10:00:00Z",
    )
    .expect("mends");
    assert!(mended.case.clock_events.is_empty());
    assert_eq!(mended.case.state, CaseState::Open);
    assert_eq!(mended.case.due, expected_due(ew(), &mended.case));
    assert!(mended.case.due.is_some());
}

#[test]
fn reclassify_recomputes_under_the_new_law() {
    use CaseState as S;
    let t = "2026-03-05T10:00:00Z";
    // FOI waiting for clarification → EIR: the same question, named as the EIR name it.
    let foi = steps(
        ew(),
        case(Kind::Foi, S::Open),
        &[(clarify(), "2026-03-04T10:00:00Z")],
    );
    let eir = run(&foi, Action::Reclassify { kind: Kind::Eir }, t).expect("reclassifies");
    assert_eq!(eir.case.kind, Kind::Eir);
    assert_eq!(eir.case.reference, foi.reference, "the reference stays");
    assert_eq!(eir.case.state, S::AwaitingClarification);
    assert_eq!(
        eir.case.clock_events,
        vec![ClockEvent::ParticularsRequested(at("2026-03-04T10:00:00Z"))]
    );
    assert_eq!(eir.audit[0].detail["old"], "foi");
    assert_eq!(eir.audit[0].detail["new"], "eir");
    assert_eq!(eir.audit[0].detail["new_regime"], "EIR");
    // And back: clarification again.
    let back = run(&eir.case, Action::Reclassify { kind: Kind::Foi }, t).expect("back");
    assert_eq!(back.case.clock_events, foi.clock_events);

    // FOI waiting → complaint: no clock stops under local policy, so the clock runs again.
    let complaint = run(
        &foi,
        Action::Reclassify {
            kind: Kind::Complaint,
        },
        t,
    )
    .expect("reclassifies");
    assert_eq!(complaint.case.state, S::Open);
    assert!(complaint.case.clock_events.is_empty());
    assert_eq!(
        complaint.audit[0].detail["dropped_clock_events"][0]["event"],
        "clarification_requested"
    );
    assert!(
        complaint.audit[0]
            .why
            .contains("were dropped: clarification_requested")
    );
    assert_eq!(complaint.case.due, expected_due(ew(), &complaint.case));

    // SAR waiting for ID → FOI: FOI is applicant-blind, the ID request goes, the clock runs.
    let sar = steps(
        ew(),
        case(Kind::Sar, S::Open),
        &[(Action::RequestId { text: None }, "2026-03-04T10:00:00Z")],
    );
    let as_foi = run(&sar, Action::Reclassify { kind: Kind::Foi }, t).expect("reclassifies");
    assert_eq!(
        (as_foi.case.state, as_foi.case.due),
        (S::Open, Some(d("2026-03-31")))
    );

    // FOI with a public interest extension → EIR: that extension does not exist there.
    let extended = steps(
        ew(),
        case(Kind::Foi, S::Open),
        &[(extend(), "2026-03-04T10:00:00Z")],
    );
    assert_eq!(extended.due, Some(d("2026-04-30")));
    let as_eir = run(&extended, Action::Reclassify { kind: Kind::Eir }, t).expect("reclassifies");
    assert_eq!(as_eir.case.due, Some(d("2026-03-31")));
    assert!(as_eir.case.clock_events.is_empty());

    // FOI → SAR: one month instead of 20 working days.
    let as_sar = run(
        &case(Kind::Foi, S::Open),
        Action::Reclassify { kind: Kind::Sar },
        t,
    )
    .expect("ok");
    assert_eq!(as_sar.case.due, Some(d("2026-04-02")));
    // A received (unchecked) case stays received.
    let received = run(
        &case(Kind::Foi, S::Received),
        Action::Reclassify { kind: Kind::Eir },
        t,
    )
    .expect("ok");
    assert_eq!(received.case.state, S::Received);
    // A responded case may be re-classified for the statistics; it stays responded.
    let responded = run(
        &case(Kind::Foi, S::Responded),
        Action::Reclassify { kind: Kind::Eir },
        t,
    )
    .expect("ok");
    assert_eq!(responded.case.state, S::Responded);
}

#[test]
fn reclassify_records_the_correction_and_the_latest_word_wins() {
    let t = at("2026-03-05T10:00:00Z");
    let later = at("2026-03-06T11:00:00Z");
    let foi = case(Kind::Foi, CaseState::Open);
    assert_eq!(foi.workflow.correction, None, "as the rules gave it");
    let reclassify = |c: &Case, kind: Kind, by: &str, when: DateTime<Utc>| {
        apply(c, &Action::Reclassify { kind }, by, "", when, ew(), &staff).expect("reclassifies")
    };
    let eir = reclassify(&foi, Kind::Eir, ALICE, t);
    let first = Correction {
        rules_said: Kind::Foi,
        by: ALICE.into(),
        at: t,
    };
    assert_eq!(eir.case.workflow.correction.as_ref(), Some(&first));
    assert_eq!(eir.audit[0].detail["correction"], "kept");
    // Another officer changes their mind: what the rules said stays, who and when are theirs.
    let sar = reclassify(&eir.case, Kind::Sar, BOB, later);
    assert_eq!(
        sar.case.workflow.correction,
        Some(Correction {
            rules_said: Kind::Foi,
            by: BOB.into(),
            at: later,
        })
    );
    assert_eq!(sar.audit[0].detail["correction"], "replaced");
    // Back to what the rules said: no correction left to test.
    let back = reclassify(&sar.case, Kind::Foi, ALICE, later);
    assert_eq!(back.case.workflow.correction, None);
    assert_eq!(back.audit[0].detail["correction"], "removed");
    // The Change the store applies carries it with the case, in the same transaction.
    let change = eir.clone().into_change(&foi);
    assert_eq!(change.case_updates[0].case.workflow.correction, Some(first));
    // Any other action leaves a correction as it is.
    let noted = run(
        &eir.case,
        note("phoned the requester"),
        "2026-03-06T10:00:00Z",
    )
    .expect("notes");
    assert_eq!(noted.case.workflow.correction, eir.case.workflow.correction);
    assert_eq!(noted.audit[0].detail.get("correction"), None);
}

#[test]
fn extensions_are_once_only_and_record_the_notice() {
    let c = case(Kind::Eir, CaseState::Open);
    let once = run(&c, extend(), "2026-03-20T10:00:00Z").expect("extends");
    assert_eq!(once.audit[0].detail["extension"], "complex_voluminous");
    assert_eq!(
        once.audit[0].why,
        "complex-and-voluminous extension: public interest test on s.43"
    );
    assert_eq!(once.audit[1].detail["notice_late"], false);
    let twice = run(&once.case, extend(), "2026-03-21T10:00:00Z");
    assert_eq!(
        twice.map_err(|e| e.to_string()),
        Err("EIR-2026-000123 has already been extended (complex-and-voluminous extension); the law allows one extension".to_string())
    );
    // Notified after WD20 (Tue 31 Mar): recorded, with the engine's warning flag.
    let late = run(&c, extend(), "2026-04-01T10:00:00Z").expect("recorded");
    assert_eq!(late.audit[1].detail["notice_late"], true);
    assert!(
        late.audit[1].why.contains("Warning"),
        "{}",
        late.audit[1].why
    );
}

#[test]
fn respond_close_and_reopen() {
    use CaseState as S;
    let c = case(Kind::Foi, S::Open);
    // Responded with a date: on time against the due date.
    let sent = run(
        &c,
        Action::Responded {
            on: Some(d("2026-03-27")),
        },
        "2026-04-01T09:00:00Z",
    )
    .expect("responds");
    assert_eq!(sent.case.state, S::Responded);
    assert_eq!(
        sent.case.workflow.responded_at,
        Some(at("2026-03-27T12:00:00Z"))
    );
    assert_eq!(sent.audit[0].detail["on_time"], true);
    assert_eq!(sent.audit[0].detail["old_state"], "open");
    assert_eq!(sent.audit[0].detail["new_state"], "responded");
    let late = run(&c, Action::Responded { on: None }, "2026-04-01T09:00:00Z").expect("responds");
    assert_eq!(late.audit[0].detail["on_time"], false);

    // Closing keeps the response time already recorded.
    let closed = run(
        &sent.case,
        close(CloseOutcome::ProvidedInPart, &["s.43(2)"]),
        "2026-04-01T09:00:00Z",
    )
    .expect("closes");
    assert_eq!(closed.case.state, S::Closed);
    assert_eq!(
        closed.case.workflow.responded_at,
        Some(at("2026-03-27T12:00:00Z"))
    );
    let closure = closed.case.workflow.closure.clone().expect("closure");
    assert_eq!(
        (closure.outcome, closure.exemptions.clone(), closure.at),
        (
            CloseOutcome::ProvidedInPart,
            vec!["s.43(2)".to_string()],
            at("2026-04-01T09:00:00Z")
        )
    );
    assert_eq!(closed.audit[0].why, "closed: provided_in_part (s.43(2))");

    // Closing a response outcome without a recorded response records it now.
    let direct = run(
        &c,
        close(CloseOutcome::Refused, &["s.40(2)", "s.40(2)", " s.43 "]),
        "2026-03-20T10:00:00Z",
    )
    .expect("closes");
    assert_eq!(
        direct.case.workflow.responded_at,
        Some(at("2026-03-20T10:00:00Z"))
    );
    assert_eq!(
        direct
            .case
            .workflow
            .closure
            .as_ref()
            .map(|c| c.exemptions.clone()),
        Some(vec!["s.40(2)".to_string(), "s.43".to_string()])
    );
    // Withdrawn is not a response.
    let withdrawn = run(
        &c,
        close(CloseOutcome::Withdrawn, &[]),
        "2026-03-20T10:00:00Z",
    )
    .expect("closes");
    assert_eq!(withdrawn.case.workflow.responded_at, None);
    // Lapsed while waiting for a fee.
    let waiting = steps(
        ew(),
        c.clone(),
        &[(Action::RequestFee { text: None }, "2026-03-04T10:00:00Z")],
    );
    let lapsed = run(
        &waiting,
        close(CloseOutcome::Lapsed, &[]),
        "2026-06-10T10:00:00Z",
    )
    .expect("lapses");
    assert_eq!(
        lapsed.case.workflow.closure.as_ref().map(|c| c.outcome),
        Some(CloseOutcome::Lapsed)
    );
    assert_eq!(lapsed.case.workflow.responded_at, None);

    // Reopen: closure and response cleared (kept in the audit), state from the clock.
    let reopened = run(&closed.case, Action::Reopen, "2026-04-02T09:00:00Z").expect("reopens");
    assert_eq!(reopened.case.state, S::Open);
    assert_eq!(reopened.case.workflow.closure, None);
    assert_eq!(reopened.case.workflow.responded_at, None);
    assert_eq!(
        reopened.audit[0].detail["old_closure"]["outcome"],
        "provided_in_part"
    );
    assert_eq!(
        reopened.audit[0].detail["old_responded_at"],
        "2026-03-27T12:00:00Z"
    );
    let reopened_waiting =
        run(&lapsed.case, Action::Reopen, "2026-06-11T10:00:00Z").expect("reopens");
    assert_eq!(reopened_waiting.case.state, S::AwaitingFee);
}

#[test]
fn dated_answers_and_responses_must_be_possible() {
    let asked = steps(
        ew(),
        case(Kind::Foi, CaseState::Open),
        &[(clarify(), "2026-03-04T15:00:00Z")],
    );
    let table: Vec<(Action, Result<&str, &str>)> = vec![
        (
            Action::RecordAnswer {
                on: Some(d("2026-03-11")),
            },
            Err("2026-03-11 is in the future (today is 2026-03-10)"),
        ),
        (
            Action::RecordAnswer {
                on: Some(d("2026-03-03")),
            },
            Err("2026-03-03 is before 2026-03-04, when the request or the question was sent"),
        ),
        // Same day as the question (asked 15:00): kept after it, so the clock restarts.
        (
            Action::RecordAnswer {
                on: Some(d("2026-03-04")),
            },
            Ok("2026-03-04T15:00:00Z"),
        ),
        (
            Action::RecordAnswer {
                on: Some(d("2026-03-06")),
            },
            Ok("2026-03-06T12:00:00Z"),
        ),
        // Today, before midday: now, not a future instant.
        (
            Action::RecordAnswer {
                on: Some(d("2026-03-10")),
            },
            Ok("2026-03-10T09:00:00Z"),
        ),
        (
            Action::RecordAnswer { on: None },
            Ok("2026-03-10T09:00:00Z"),
        ),
    ];
    for (action, want) in table {
        let got = run(&asked, action.clone(), "2026-03-10T09:00:00Z");
        match (got, want) {
            (Ok(done), Ok(instant)) => {
                assert_eq!(
                    done.case.clock_events.last().and_then(ClockEvent::at),
                    Some(at(instant)),
                    "{action:?}"
                );
                assert_eq!(done.case.state, CaseState::Open, "{action:?}");
                assert!(done.case.due.is_some());
            }
            (Err(e), Err(msg)) => assert!(e.to_string().contains(msg), "{action:?}: {e}"),
            (got, want) => panic!("{action:?}: {got:?} want {want:?}"),
        }
    }
    let c = case(Kind::Foi, CaseState::Open);
    let early = run(
        &c,
        Action::Responded {
            on: Some(d("2026-03-01")),
        },
        "2026-03-10T09:00:00Z",
    );
    assert!(
        matches!(early, Err(ActionError::BadDate { .. })),
        "{early:?}"
    );
}

#[test]
fn actions_serialise_as_tagged_json() {
    let table = [
        (Action::Reopen, r#"{"action":"reopen"}"#),
        (
            Action::Assign { to: "alice".into() },
            r#"{"action":"assign","to":"alice"}"#,
        ),
        (
            close(CloseOutcome::Refused, &["s.40(2)"]),
            r#"{"action":"close","outcome":"refused","exemptions":["s.40(2)"]}"#,
        ),
        (
            Action::RecordAnswer {
                on: Some(d("2026-03-10")),
            },
            r#"{"action":"record_answer","on":"2026-03-10"}"#,
        ),
        (
            Action::FlagRepeat {
                of: CaseRef::new("FOI", 2026, 1).expect("valid"),
                why: None,
            },
            r#"{"action":"flag_repeat","of":"FOI-2026-000001","why":null}"#,
        ),
    ];
    for (action, json) in table {
        assert_eq!(serde_json::to_string(&action).ok().as_deref(), Some(json));
        let back: Action = serde_json::from_str(json).expect("parses");
        assert_eq!(back, action);
    }
    assert!(serde_json::from_str::<Action>(r#"{"action":"delete"}"#).is_err());
}

#[test]
fn flags_are_for_humans_and_not_repeated() {
    let c = case(Kind::Foi, CaseState::Closed);
    let earlier = CaseRef::new("FOI", 2025, 77).expect("valid");
    let flagged = run(
        &c,
        Action::FlagRepeat {
            of: earlier.clone(),
            why: Some("same depot questions".into()),
        },
        "2026-03-04T10:00:00Z",
    )
    .expect("flags a closed case too");
    assert_eq!(
        flagged.case.workflow.flags,
        vec![Flag::PossibleRepeat {
            of: earlier.clone(),
            why: "same depot questions".into()
        }]
    );
    assert_eq!(
        flagged.case.state,
        CaseState::Closed,
        "a flag changes nothing else"
    );
    let again = run(
        &flagged.case,
        Action::FlagRepeat {
            of: earlier,
            why: None,
        },
        "2026-03-04T10:00:00Z",
    );
    assert!(matches!(again, Err(ActionError::Unchanged { .. })));
    let other = run(
        &flagged.case,
        Action::FlagRepeat {
            of: CaseRef::new("EIR", 2025, 3).expect("valid"),
            why: None,
        },
        "2026-03-04T10:00:00Z",
    )
    .expect("another one");
    assert_eq!(other.case.workflow.flags.len(), 2);
    let vex = run(
        &c,
        Action::FlagVexatious {
            why: "abusive".into(),
        },
        "2026-03-04T10:00:00Z",
    )
    .expect("flags");
    assert_eq!(vex.audit[0].detail["why"], "abusive");
    assert!(matches!(
        run(
            &vex.case,
            Action::FlagVexatious {
                why: "again".into()
            },
            "2026-03-04T10:00:00Z"
        ),
        Err(ActionError::Unchanged { .. })
    ));
}

#[test]
fn an_email_reply_drives_the_case() {
    // What the daemon does with a verified reply: parse the lines, apply them in order.
    let body = "Thanks, taking this one.\r\n#assign alice\r\n#clarify which depot?\r\n\r\nAlice\r\n\r\nOn Mon, 2 Mar 2026, FOI <foi@council.example> wrote:\r\n> #close provided\r\n";
    let mut c = case(Kind::Foi, CaseState::Open);
    let mut verbs = Vec::new();
    for line in parse_commands(body) {
        let Ok(StaffCommand::Act(action)) = line.result else {
            panic!("line {}: {:?}", line.line, line.result)
        };
        let done = apply(
            &c,
            &action,
            BOB,
            "by email",
            at("2026-03-04T10:00:00Z"),
            ew(),
            &staff,
        )
        .expect("applies");
        verbs.extend(done.audit.iter().map(|e| e.action.clone()));
        c = done.case;
    }
    assert_eq!(
        verbs,
        ["assigned", "clarification_requested", "due_recomputed"]
    );
    assert_eq!(c.assignee.as_deref(), Some(ALICE));
    assert_eq!(c.state, CaseState::AwaitingClarification);
}

fn any_action() -> impl Strategy<Value = Action> {
    prop_oneof![
        Just(Action::Assign { to: "alice".into() }),
        Just(Action::Assign { to: "bob".into() }),
        prop::sample::select(vec![
            Kind::Foi,
            Kind::Eir,
            Kind::Sar,
            Kind::Complaint,
            Kind::Media,
            Kind::Auto
        ])
        .prop_map(|kind| Action::Reclassify { kind }),
        Just(clarify()),
        Just(Action::RequestId { text: None }),
        Just(Action::RequestFee { text: None }),
        Just(answer()),
        Just(extend()),
        Just(Action::Responded { on: None }),
        prop::sample::select(CloseOutcome::ALL.to_vec()).prop_map(|o| close(o, &["s.40(2)"])),
        prop::sample::select(CloseOutcome::ALL.to_vec()).prop_map(|o| close(o, &[])),
        Just(Action::Reopen),
        Just(note("n")),
        Just(Action::FlagVexatious { why: "v".into() }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any sequence of actions, a day apart: never a panic; after every accepted action the due
    /// date is exactly the engine's for the events, the state matches the clock, and a closed
    /// case accepts nothing but notes, flags and reopening.
    #[test]
    fn any_sequence_keeps_the_invariants(
        kind in prop::sample::select(vec![Kind::Foi, Kind::Eir, Kind::Sar, Kind::Complaint]),
        actions in prop::collection::vec(any_action(), 1..25),
    ) {
        let mut c = case(kind, CaseState::Open);
        let mut now = at(RECEIVED);
        for action in actions {
            now += chrono::Duration::hours(26);
            let before = c.clone();
            match apply(&c, &action, ALICE, "", now, ew(), &staff) {
                Ok(done) => {
                    prop_assert!(!done.audit.is_empty());
                    prop_assert_eq!(&done.audit[0].action, action.verb());
                    prop_assert_eq!(done.case.due, expected_due(ew(), &done.case));
                    prop_assert_eq!(&done.case.reference, &before.reference);
                    let reclassified = matches!(action, Action::Reclassify { .. });
                    prop_assert!(done.case.clock_events.len() >= before.clock_events.len() || reclassified, "events lost by {:?}", action);
                    if before.state == CaseState::Closed {
                        prop_assert!(matches!(action, Action::Note { .. } | Action::FlagVexatious { .. } | Action::FlagRepeat { .. } | Action::Reopen), "{:?}", action);
                    }
                    let waiting = matches!(done.case.state, CaseState::AwaitingClarification | CaseState::AwaitingFee | CaseState::AwaitingId);
                    if waiting { prop_assert_eq!(done.case.due, None); }
                    prop_assert_eq!(done.case.workflow.closure.is_some(), done.case.state == CaseState::Closed);
                    c = done.case;
                }
                Err(e) => {
                    let msg = e.to_string();
                    prop_assert!(msg.contains(&c.reference.to_string()), "{}", msg);
                }
            }
        }
    }
}
