//! Table-driven tests of the chaser planner: schedules, keys, windows, DST, bank holidays.

use super::*;
use crate::config::Section;
use crate::model::case::CaseDraft;
use crate::model::message::Address;
use chrono::{Datelike, Duration, TimeZone, Timelike, Weekday};
use proptest::prelude::*;

fn utc(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, mi, 0)
        .single()
        .expect("valid test instant")
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
}

fn cref(seq: u32) -> CaseRef {
    CaseRef::new("FOI", 2026, seq).expect("valid test reference")
}

fn case(seq: u32, state: CaseState, due: Option<NaiveDate>) -> Case {
    let t = utc(2026, 2, 20, 10, 0);
    CaseDraft {
        reference: (),
        kind: Kind::Foi,
        state,
        received_at: t,
        requester: Address {
            name: None,
            email: "someone@example.org".into(),
        },
        subject: "s".into(),
        message_ids: vec![],
        content_hashes: vec![],
        rules: vec![],
        valid: Some(true),
        missing: vec![],
        due,
        clock_events: Vec::new(),
        workflow: Default::default(),
        assignee: Some("officer@council.example.gov.uk".into()),
        team: Some("planning".into()),
        created_at: t,
        updated_at: t,
    }
    .into_case(cref(seq))
}

fn key(seq: u32, due: NaiveDate, slot: Slot) -> ChaserKey {
    ChaserKey {
        case: cref(seq),
        due,
        slot,
    }
}

#[test]
fn slot_text_round_trips_and_orders_by_position() {
    let table = [
        ("before:5", Slot::Before(5), -5),
        ("before:1", Slot::Before(1), -1),
        ("on_day", Slot::OnDay, 0),
        ("overdue:2", Slot::Overdue(2), 2),
        ("overdue:60", Slot::Overdue(60), 60),
    ];
    for (text, slot, pos) in table {
        assert_eq!(text.parse::<Slot>(), Ok(slot), "{text}");
        assert_eq!(slot.to_string(), text);
        assert_eq!(slot.position(), pos, "{text}");
        assert_eq!(slot.is_overdue(), pos > 0, "{text}");
    }
    for bad in [
        "",
        "before:",
        "before:0",
        "before:-1",
        "before:+1",
        "before:x",
        "overdue:0",
        "on-day",
        "ON_DAY",
        "before: 5",
        "overdue:99999999999",
        "after:3",
    ] {
        assert_eq!(
            bad.parse::<Slot>(),
            Err(KeyError::Slot(bad.to_string())),
            "{bad:?}"
        );
    }
}

#[test]
fn chaser_key_round_trips_as_text_and_json() {
    let k = key(123, date(2026, 12, 21), Slot::Before(5));
    assert_eq!(k.to_string(), "FOI-2026-000123/2026-12-21/before:5");
    assert_eq!(k.to_string().parse::<ChaserKey>(), Ok(k.clone()));
    let json = serde_json::to_string(&k).expect("serialises");
    assert_eq!(json, "\"FOI-2026-000123/2026-12-21/before:5\"");
    assert_eq!(serde_json::from_str::<ChaserKey>(&json).expect("parses"), k);
    type Check = fn(&KeyError) -> bool;
    let table: Vec<(&str, Check)> = vec![
        ("", |e| matches!(e, KeyError::Shape(_))),
        ("FOI-2026-000123", |e| matches!(e, KeyError::Shape(_))),
        ("FOI-2026-000123/2026-12-21", |e| {
            matches!(e, KeyError::Shape(_))
        }),
        ("FOI-26-1/2026-12-21/on_day", |e| {
            matches!(e, KeyError::Reference { .. })
        }),
        ("FOI-2026-000123/2026-13-01/on_day", |e| {
            matches!(e, KeyError::Date(_))
        }),
        ("FOI-2026-000123/2026-1-01/on_day", |e| {
            matches!(e, KeyError::Date(_))
        }),
        ("FOI-2026-000123/2026-12-21/on_day/x", |e| {
            matches!(e, KeyError::Slot(_))
        }),
        ("FOI-2026-000123/2026-12-21/overdue:0", |e| {
            matches!(e, KeyError::Slot(_))
        }),
    ];
    for (text, want) in table {
        let got = text.parse::<ChaserKey>();
        assert!(got.as_ref().is_err_and(want), "{text:?}: {got:?}");
    }
    // Keys differing only by due date are different chasers.
    assert_ne!(k, key(123, date(2026, 12, 22), Slot::Before(5)));
}

#[test]
fn local_time_parses_hh_mm_only() {
    let ok = [
        ("08:00", (8, 0)),
        ("8:30", (8, 30)),
        ("23:59", (23, 59)),
        (" 00:00 ", (0, 0)),
    ];
    for (text, (h, m)) in ok {
        let t: LocalTime = text.parse().expect(text);
        assert_eq!((t.time().hour(), t.time().minute()), (h, m), "{text}");
    }
    for bad in [
        "",
        "8",
        "24:00",
        "08:60",
        "08:0",
        "008:00",
        "08:00:00",
        "-1:00",
        "8h00",
        "٠٨:٠٠",
    ] {
        assert!(bad.parse::<LocalTime>().is_err(), "{bad:?}");
    }
    assert_eq!(
        LocalTime::hm(8, 5).map(|t| t.to_string()),
        Some("08:05".into())
    );
}

#[test]
fn builtin_calendar_has_the_holidays_these_tests_rely_on() {
    let cal = Calendar::builtin();
    let table = [
        (Region::EnglandAndWales, date(2026, 4, 3), true),
        (Region::EnglandAndWales, date(2026, 4, 6), true),
        (Region::Scotland, date(2026, 4, 6), false),
        (Region::Scotland, date(2026, 11, 30), true),
        (Region::EnglandAndWales, date(2026, 11, 30), false),
        (Region::EnglandAndWales, date(2026, 5, 25), true),
        (Region::EnglandAndWales, date(2026, 12, 28), true),
        (Region::Scotland, date(2026, 8, 3), true),
        (Region::EnglandAndWales, date(2026, 8, 3), false),
    ];
    for (region, d, holiday) in table {
        assert_eq!(
            cal.is_bank_holiday(region, d).is_some(),
            holiday,
            "{region} {d}"
        );
    }
}

#[test]
fn signed_working_days_counts_region_days() {
    let cal = Calendar::builtin();
    let ew = staff_calendar(&cal, Region::EnglandAndWales);
    let sc = staff_calendar(&cal, Region::Scotland);
    let table = [
        // (calendar, due, day, expected)
        (&ew, date(2026, 3, 20), date(2026, 3, 20), 0),
        (&ew, date(2026, 3, 20), date(2026, 3, 13), -5),
        (&ew, date(2026, 3, 20), date(2026, 3, 14), -5), // Saturday: as Friday
        (&ew, date(2026, 3, 20), date(2026, 3, 16), -4),
        (&ew, date(2026, 3, 20), date(2026, 3, 23), 1),
        (&ew, date(2026, 3, 20), date(2026, 3, 22), 0), // Sunday after a Friday due date
        (&ew, date(2026, 3, 20), date(2026, 3, 30), 6),
        // Easter: Good Friday and Easter Monday off in England and Wales, only Good Friday in Scotland.
        (&ew, date(2026, 4, 7), date(2026, 4, 2), -1),
        (&sc, date(2026, 4, 7), date(2026, 4, 2), -2),
        (&ew, date(2026, 3, 20), date(2026, 4, 7), 10),
        (&sc, date(2026, 3, 20), date(2026, 4, 7), 11),
        // St Andrew's Day (Monday 30 November 2026) is off in Scotland only.
        (&sc, date(2026, 11, 27), date(2026, 12, 1), 1),
        (&ew, date(2026, 11, 27), date(2026, 12, 1), 2),
        // Christmas: 25 Dec (Fri) and the Boxing Day substitute (Mon 28) are off.
        (&ew, date(2026, 12, 24), date(2026, 12, 29), 1),
        // A due date on a day off: the last working day before it is position 0.
        (&ew, date(2026, 3, 21), date(2026, 3, 20), 0),
        (&ew, date(2026, 3, 21), date(2026, 3, 19), -1),
    ];
    for (wc, due, day, want) in table {
        assert_eq!(
            signed_working_days(wc, due, day),
            Some(want),
            "{:?} due {due} on {day}",
            wc.work_days()
        );
    }
    // Corrupt records far apart are not counted.
    assert_eq!(
        signed_working_days(&ew, date(1990, 1, 1), date(2026, 1, 1)),
        None
    );
    assert_eq!(
        signed_working_days(&ew, date(2300, 1, 1), date(2026, 1, 1)),
        None
    );
}

#[test]
fn schedule_latest_and_next_slots() {
    let s = ChaserSettings::default().schedule_for(Kind::Foi);
    let table = [
        // (position, latest reached, next after)
        (-9, None, Some(Slot::Before(5))),
        (-6, None, Some(Slot::Before(5))),
        (-5, Some(Slot::Before(5)), Some(Slot::Before(1))),
        (-2, Some(Slot::Before(5)), Some(Slot::Before(1))),
        (-1, Some(Slot::Before(1)), Some(Slot::OnDay)),
        (0, Some(Slot::OnDay), Some(Slot::Overdue(2))),
        (1, Some(Slot::OnDay), Some(Slot::Overdue(2))),
        (2, Some(Slot::Overdue(2)), Some(Slot::Overdue(4))),
        (3, Some(Slot::Overdue(2)), Some(Slot::Overdue(4))),
        (7, Some(Slot::Overdue(6)), Some(Slot::Overdue(8))),
        (100, Some(Slot::Overdue(100)), Some(Slot::Overdue(102))),
    ];
    for (pos, latest, next) in table {
        assert_eq!(s.latest_reached(pos), latest, "latest at {pos}");
        assert_eq!(s.next_after(pos), next, "next after {pos}");
    }
    // Overdue-only (seed 002's complaints) and nothing-at-all schedules.
    let overdue_only = Schedule {
        enabled: true,
        before: vec![],
        on_day: false,
        overdue_every: 3,
    };
    assert_eq!(overdue_only.latest_reached(0), None);
    assert_eq!(overdue_only.latest_reached(2), None);
    assert_eq!(overdue_only.latest_reached(3), Some(Slot::Overdue(3)));
    assert_eq!(overdue_only.next_after(-20), Some(Slot::Overdue(3)));
    assert_eq!(overdue_only.next_after(6), Some(Slot::Overdue(9)));
    let before_only = Schedule {
        enabled: true,
        before: vec![3],
        on_day: false,
        overdue_every: 0,
    };
    assert_eq!(before_only.latest_reached(10), Some(Slot::Before(3)));
    assert_eq!(before_only.next_after(-3), None);
    let off = Schedule {
        enabled: false,
        ..s.clone()
    };
    assert_eq!((off.latest_reached(0), off.next_after(-9)), (None, None));
}

#[test]
fn escalation_by_lateness_and_assignment() {
    let s = ChaserSettings::default();
    let table = [
        (0, true, Escalation::None),
        (1, true, Escalation::Manager),
        (4, true, Escalation::Manager),
        (5, true, Escalation::HeadOfService),
        (40, true, Escalation::HeadOfService),
        (0, false, Escalation::Manager),
        (3, false, Escalation::Manager),
        (6, false, Escalation::HeadOfService),
    ];
    for (overdue, assigned, want) in table {
        assert_eq!(
            s.escalation(overdue, assigned),
            want,
            "{overdue} {assigned}"
        );
    }
    let quiet = ChaserSettings {
        copy_manager_when_overdue: false,
        head_of_service_after: 0,
        ..ChaserSettings::default()
    };
    assert_eq!(quiet.escalation(30, true), Escalation::None);
    assert_eq!(quiet.escalation(30, false), Escalation::Manager);
}

/// What a simulated daemon sent: London wall time, slot, escalation, days left/overdue.
type Sent = (String, Slot, Escalation, u32, u32);

/// Runs the planner every 15 minutes from `from` to `to`, recording every chaser "sent", and
/// checks on the way that `next_wake` predicted each send exactly.
fn simulate(
    cases: &[Case],
    region: Region,
    settings: &ChaserSettings,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<Sent> {
    let cal = Calendar::builtin();
    let mut sent_keys = BTreeSet::new();
    let mut sent = Vec::new();
    let mut now = from;
    let mut wake = next_wake(cases, &sent_keys, now, &cal, region, settings);
    while now < to {
        let planned = plan_chasers(cases, &sent_keys, now, &cal, region, settings);
        if !planned.is_empty() {
            assert_eq!(wake, Some(now), "next_wake predicted the send at {now}");
        } else if let Some(w) = wake {
            assert!(w > now, "next_wake {w} passed at {now} without a chaser");
        }
        for ch in planned {
            let local = now.with_timezone(&London).format("%a %Y-%m-%d %H:%M %Z");
            sent.push((
                local.to_string(),
                ch.slot,
                ch.escalation,
                ch.working_days_left,
                ch.overdue_working_days,
            ));
            assert!(sent_keys.insert(ch.key), "a key was planned twice");
        }
        // Idempotent: planning again at the same instant gives nothing.
        assert!(plan_chasers(cases, &sent_keys, now, &cal, region, settings).is_empty());
        wake = next_wake(cases, &sent_keys, now, &cal, region, settings);
        now += Duration::minutes(15);
    }
    sent
}

fn s(t: &str, slot: Slot, e: Escalation, left: u32, over: u32) -> Sent {
    (t.to_string(), slot, e, left, over)
}

#[test]
fn a_case_life_across_dst_and_easter_in_england() {
    use Escalation::{HeadOfService as H, Manager as M, None as N};
    let cases = [case(1, CaseState::Open, Some(date(2026, 3, 20)))];
    let got = simulate(
        &cases,
        Region::EnglandAndWales,
        &ChaserSettings::default(),
        utc(2026, 3, 9, 0, 0),
        utc(2026, 4, 10, 0, 0),
    );
    let want = vec![
        s("Fri 2026-03-13 08:00 GMT", Slot::Before(5), N, 5, 0),
        s("Thu 2026-03-19 08:00 GMT", Slot::Before(1), N, 1, 0),
        s("Fri 2026-03-20 08:00 GMT", Slot::OnDay, N, 0, 0),
        s("Tue 2026-03-24 08:00 GMT", Slot::Overdue(2), M, 0, 2),
        s("Thu 2026-03-26 08:00 GMT", Slot::Overdue(4), M, 0, 4),
        // Clocks went forward on Sunday 29 March: still 08:00 on the wall (07:00 UTC).
        s("Mon 2026-03-30 08:00 BST", Slot::Overdue(6), H, 0, 6),
        s("Wed 2026-04-01 08:00 BST", Slot::Overdue(8), H, 0, 8),
        // Good Friday (3 April) and Easter Monday (6 April) are not working days.
        s("Tue 2026-04-07 08:00 BST", Slot::Overdue(10), H, 0, 10),
        s("Thu 2026-04-09 08:00 BST", Slot::Overdue(12), H, 0, 12),
    ];
    assert_eq!(got, want);
}

#[test]
fn scottish_calendar_keeps_easter_monday_and_stops_for_st_andrew() {
    use Escalation::{HeadOfService as H, Manager as M, None as N};
    let easter = [case(1, CaseState::Open, Some(date(2026, 3, 20)))];
    let got = simulate(
        &easter,
        Region::Scotland,
        &ChaserSettings::default(),
        utc(2026, 4, 1, 12, 0),
        utc(2026, 4, 10, 0, 0),
    );
    // Starting with nothing sent, the latest reached slot goes at once; then Easter Monday is a
    // working day in Scotland, so overdue:10 falls on it.
    assert_eq!(
        got,
        vec![
            s("Wed 2026-04-01 13:00 BST", Slot::Overdue(8), H, 0, 8),
            s("Mon 2026-04-06 08:00 BST", Slot::Overdue(10), H, 0, 10),
            s("Wed 2026-04-08 08:00 BST", Slot::Overdue(12), H, 0, 12),
        ]
    );
    // Due Tuesday 1 December 2026; St Andrew's Day substitute on Monday 30 November.
    let andrew = [case(2, CaseState::Open, Some(date(2026, 12, 1)))];
    let sc = simulate(
        &andrew,
        Region::Scotland,
        &ChaserSettings::default(),
        utc(2026, 11, 20, 0, 0),
        utc(2026, 12, 4, 0, 0),
    );
    assert_eq!(
        sc,
        vec![
            s("Mon 2026-11-23 08:00 GMT", Slot::Before(5), N, 5, 0),
            s("Fri 2026-11-27 08:00 GMT", Slot::Before(1), N, 1, 0),
            s("Tue 2026-12-01 08:00 GMT", Slot::OnDay, N, 0, 0),
            s("Thu 2026-12-03 08:00 GMT", Slot::Overdue(2), M, 0, 2),
        ]
    );
    let ew = simulate(
        &andrew,
        Region::EnglandAndWales,
        &ChaserSettings::default(),
        utc(2026, 11, 20, 0, 0),
        utc(2026, 12, 4, 0, 0),
    );
    assert_eq!(
        ew,
        vec![
            s("Tue 2026-11-24 08:00 GMT", Slot::Before(5), N, 5, 0),
            s("Mon 2026-11-30 08:00 GMT", Slot::Before(1), N, 1, 0),
            s("Tue 2026-12-01 08:00 GMT", Slot::OnDay, N, 0, 0),
            s("Thu 2026-12-03 08:00 GMT", Slot::Overdue(2), M, 0, 2),
        ]
    );
}

#[test]
fn christmas_and_autumn_clock_change() {
    use Escalation::{Manager as M, None as N};
    // Due Tuesday 29 December 2026: 25 Dec (Fri) and 28 Dec (Boxing Day substitute) are off.
    let xmas = [case(3, CaseState::Open, Some(date(2026, 12, 29)))];
    let got = simulate(
        &xmas,
        Region::EnglandAndWales,
        &ChaserSettings::default(),
        utc(2026, 12, 18, 0, 0),
        utc(2027, 1, 2, 0, 0),
    );
    assert_eq!(
        got,
        vec![
            // 21, 22, 23, 24 and 29 December are the five working days left.
            s("Fri 2026-12-18 08:00 GMT", Slot::Before(5), N, 5, 0),
            s("Thu 2026-12-24 08:00 GMT", Slot::Before(1), N, 1, 0),
            s("Tue 2026-12-29 08:00 GMT", Slot::OnDay, N, 0, 0),
            s("Thu 2026-12-31 08:00 GMT", Slot::Overdue(2), M, 0, 2),
        ]
    );
    // Clocks go back on Sunday 25 October 2026: Friday is 07:00 UTC, Monday 08:00 UTC.
    let autumn = [case(4, CaseState::Open, Some(date(2026, 10, 26)))];
    let got = simulate(
        &autumn,
        Region::EnglandAndWales,
        &ChaserSettings::default(),
        utc(2026, 10, 22, 0, 0),
        utc(2026, 10, 27, 0, 0),
    );
    assert_eq!(
        got,
        vec![
            // Starting with two working days left: before:5 is the latest reached slot, and its
            // wording says two days.
            s("Thu 2026-10-22 08:00 BST", Slot::Before(5), N, 2, 0),
            s("Fri 2026-10-23 08:00 BST", Slot::Before(1), N, 1, 0),
            s("Mon 2026-10-26 08:00 GMT", Slot::OnDay, N, 0, 0),
        ]
    );
}

#[test]
fn after_an_outage_only_the_latest_slot_is_sent() {
    let cal = Calendar::builtin();
    let region = Region::EnglandAndWales;
    let settings = ChaserSettings::default();
    let due = date(2026, 3, 20);
    let cases = [case(1, CaseState::Open, Some(due))];
    let mut sent: BTreeSet<ChaserKey> = [key(1, due, Slot::Before(5))].into();
    // Down from Thursday 19 to Wednesday 25 March: before:1, on_day and overdue:2 were due.
    let now = utc(2026, 3, 25, 10, 0);
    let planned = plan_chasers(&cases, &sent, now, &cal, region, &settings);
    assert_eq!(planned.len(), 1);
    let ch = &planned[0];
    assert_eq!(ch.key, key(1, due, Slot::Overdue(2)));
    // The wording is true on the day it is sent: three working days late.
    assert_eq!((ch.overdue_working_days, ch.working_days_left), (3, 0));
    assert_eq!(ch.escalation, Escalation::Manager);
    sent.insert(ch.key.clone());
    // Later that day (a restart): nothing again; the skipped slots are never sent.
    for t in [utc(2026, 3, 25, 10, 1), utc(2026, 3, 25, 17, 59)] {
        assert!(
            plan_chasers(&cases, &sent, t, &cal, region, &settings).is_empty(),
            "{t}"
        );
    }
    // Next day, the next slot.
    let next = plan_chasers(
        &cases,
        &sent,
        utc(2026, 3, 26, 8, 0),
        &cal,
        region,
        &settings,
    );
    assert_eq!(
        next.iter().map(|c| c.slot).collect::<Vec<_>>(),
        [Slot::Overdue(4)]
    );
}

#[test]
fn only_running_cases_with_a_due_date_are_chased() {
    let cal = Calendar::builtin();
    let now = utc(2026, 3, 20, 9, 0); // on the due date, in the window
    let due = Some(date(2026, 3, 20));
    let table = [
        (CaseState::Received, due, true),
        (CaseState::Open, due, true),
        (CaseState::AwaitingClarification, due, false),
        (CaseState::AwaitingId, due, false),
        (CaseState::AwaitingFee, due, false),
        (CaseState::Responded, due, false),
        (CaseState::Closed, due, false),
        (CaseState::Open, None, false),
        (CaseState::Received, None, false),
    ];
    for (state, due, chased) in table {
        let cases = [case(9, state, due)];
        let got = plan_chasers(
            &cases,
            &BTreeSet::new(),
            now,
            &cal,
            Region::EnglandAndWales,
            &ChaserSettings::default(),
        );
        assert_eq!(got.len(), usize::from(chased), "{state} {due:?}");
        let wake = next_wake(
            &cases,
            &BTreeSet::new(),
            now,
            &cal,
            Region::EnglandAndWales,
            &ChaserSettings::default(),
        );
        assert_eq!(wake.is_some(), chased, "{state} {due:?}");
    }
    let mut auto = case(10, CaseState::Open, due);
    auto.kind = Kind::Auto;
    assert!(
        plan_chasers(
            &[auto],
            &BTreeSet::new(),
            now,
            &cal,
            Region::EnglandAndWales,
            &ChaserSettings::default()
        )
        .is_empty()
    );
}

#[test]
fn unassigned_cases_go_to_the_manager_and_a_new_due_date_makes_new_chasers() {
    let cal = Calendar::builtin();
    let region = Region::EnglandAndWales;
    let settings = ChaserSettings::default();
    let mut c = case(5, CaseState::Open, Some(date(2026, 3, 20)));
    c.assignee = Some("  ".into());
    let got = plan_chasers(
        std::slice::from_ref(&c),
        &BTreeSet::new(),
        utc(2026, 3, 13, 8, 0),
        &cal,
        region,
        &settings,
    );
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].assignee.clone(), got[0].escalation),
        (None, Escalation::Manager)
    );
    assert_eq!(got[0].team.as_deref(), Some("planning"));

    // The before:5 chaser for the old due date was sent; an extension moves the due date to
    // Friday 27 March, so on Friday 20 March before:5 is due again, for the new date.
    let sent: BTreeSet<ChaserKey> = [
        key(5, date(2026, 3, 20), Slot::Before(5)),
        key(5, date(2026, 3, 20), Slot::Before(1)),
    ]
    .into();
    c.due = Some(date(2026, 3, 27));
    let got = plan_chasers(
        &[c],
        &sent,
        utc(2026, 3, 20, 12, 0),
        &cal,
        region,
        &settings,
    );
    assert_eq!(
        got.iter().map(|c| c.key.clone()).collect::<Vec<_>>(),
        [key(5, date(2026, 3, 27), Slot::Before(5))]
    );
}

#[test]
fn plan_is_sorted_one_per_case_and_empty_when_disabled() {
    let cal = Calendar::builtin();
    let region = Region::EnglandAndWales;
    let cases = [
        case(7, CaseState::Open, Some(date(2026, 3, 20))),
        case(2, CaseState::Open, Some(date(2026, 3, 13))),
        case(4, CaseState::Open, Some(date(2026, 5, 1))),
        case(3, CaseState::Received, Some(date(2026, 3, 26))),
    ];
    let now = utc(2026, 3, 19, 14, 0);
    let got = plan_chasers(
        &cases,
        &BTreeSet::new(),
        now,
        &cal,
        region,
        &ChaserSettings::default(),
    );
    let shown: Vec<String> = got.iter().map(|c| c.key.to_string()).collect();
    assert_eq!(
        shown,
        [
            "FOI-2026-000002/2026-03-13/overdue:4",
            "FOI-2026-000003/2026-03-26/before:5",
            "FOI-2026-000007/2026-03-20/before:1",
        ]
    );
    let off = ChaserSettings {
        enabled: false,
        ..ChaserSettings::default()
    };
    assert!(plan_chasers(&cases, &BTreeSet::new(), now, &cal, region, &off).is_empty());
    assert_eq!(
        next_wake(&cases, &BTreeSet::new(), now, &cal, region, &off),
        None
    );
}

#[test]
fn per_kind_override_follows_seed_002_for_complaints() {
    let settings = ChaserSettings::from_toml(
        "[kinds.complaint]\nbefore = []\non_day = false\n",
        "chasers",
    )
    .expect("valid settings");
    let mut complaint = case(1, CaseState::Open, Some(date(2026, 3, 20)));
    complaint.kind = Kind::Complaint;
    let foi = case(2, CaseState::Open, Some(date(2026, 3, 20)));
    let got = simulate(
        &[complaint, foi],
        Region::EnglandAndWales,
        &settings,
        utc(2026, 3, 9, 0, 0),
        utc(2026, 3, 25, 0, 0),
    );
    let slots: Vec<(String, Slot)> = got.into_iter().map(|s| (s.0, s.1)).collect();
    assert_eq!(
        slots,
        vec![
            ("Fri 2026-03-13 08:00 GMT".to_string(), Slot::Before(5)),
            ("Thu 2026-03-19 08:00 GMT".to_string(), Slot::Before(1)),
            ("Fri 2026-03-20 08:00 GMT".to_string(), Slot::OnDay),
            // Both cases reach overdue:2 at the same moment; the complaint's first chaser.
            ("Tue 2026-03-24 08:00 GMT".to_string(), Slot::Overdue(2)),
            ("Tue 2026-03-24 08:00 GMT".to_string(), Slot::Overdue(2)),
        ]
    );
}

#[test]
fn sending_window_table() {
    let cal = Calendar::builtin();
    let settings = ChaserSettings::default();
    let ew = staff_calendar(&cal, Region::EnglandAndWales);
    let sc = staff_calendar(&cal, Region::Scotland);
    let table = [
        (&ew, utc(2026, 3, 20, 7, 59), false),
        (&ew, utc(2026, 3, 20, 8, 0), true),
        (&ew, utc(2026, 3, 20, 17, 59), true),
        (&ew, utc(2026, 3, 20, 18, 0), false),
        (&ew, utc(2026, 3, 21, 10, 0), false),  // Saturday
        (&ew, utc(2026, 3, 22, 10, 0), false),  // Sunday
        (&ew, utc(2026, 3, 30, 7, 0), true),    // 08:00 BST
        (&ew, utc(2026, 3, 30, 6, 59), false),  // 07:59 BST
        (&ew, utc(2026, 3, 30, 16, 59), true),  // 17:59 BST
        (&ew, utc(2026, 3, 30, 17, 0), false),  // 18:00 BST
        (&ew, utc(2026, 5, 25, 10, 0), false),  // spring bank holiday
        (&ew, utc(2026, 4, 6, 10, 0), false),   // Easter Monday
        (&sc, utc(2026, 4, 6, 10, 0), true),    // not a holiday in Scotland
        (&sc, utc(2026, 11, 30, 10, 0), false), // St Andrew's Day
        (&ew, utc(2026, 11, 30, 10, 0), true),
        (&ew, utc(2026, 12, 28, 10, 0), false), // Boxing Day substitute
        (&ew, utc(2026, 10, 26, 7, 30), false), // 07:30 GMT after the clocks went back
    ];
    for (wc, now, open) in table {
        assert_eq!(
            settings.in_window(now, wc),
            open,
            "{now} {:?}",
            wc.work_days()
        );
    }
}

#[test]
fn next_window_opening_table() {
    let cal = Calendar::builtin();
    let settings = ChaserSettings::default();
    let ew = Region::EnglandAndWales;
    let table = [
        // In the window: now.
        (ew, utc(2026, 3, 20, 12, 0), utc(2026, 3, 20, 12, 0)),
        // Before it opens on a working day: today at 08:00.
        (ew, utc(2026, 3, 20, 3, 0), utc(2026, 3, 20, 8, 0)),
        // Friday evening: Monday morning.
        (ew, utc(2026, 3, 20, 18, 30), utc(2026, 3, 23, 8, 0)),
        // Across the spring clock change: Monday 08:00 BST.
        (ew, utc(2026, 3, 27, 19, 0), utc(2026, 3, 30, 7, 0)),
        // Across the autumn change: Monday 08:00 GMT.
        (ew, utc(2026, 10, 23, 19, 0), utc(2026, 10, 26, 8, 0)),
        // Christmas: 25 (Fri), weekend, 28 (substitute) off.
        (ew, utc(2026, 12, 24, 19, 0), utc(2026, 12, 29, 8, 0)),
        // Easter Thursday evening: Tuesday in England, Monday in Scotland.
        (ew, utc(2026, 4, 2, 19, 0), utc(2026, 4, 7, 7, 0)),
        (
            Region::Scotland,
            utc(2026, 4, 2, 19, 0),
            utc(2026, 4, 6, 7, 0),
        ),
    ];
    for (region, now, want) in table {
        assert_eq!(
            next_window_opening(now, &cal, region, &settings),
            Some(want),
            "{region} {now}"
        );
    }
}

#[test]
fn next_wake_after_a_send_is_the_next_slot() {
    let cal = Calendar::builtin();
    let region = Region::EnglandAndWales;
    let settings = ChaserSettings::default();
    let due = date(2026, 3, 20);
    let cases = [case(1, CaseState::Open, Some(due))];
    let none = BTreeSet::new();
    let sent5: BTreeSet<ChaserKey> = [key(1, due, Slot::Before(5))].into();
    let table = [
        // Nothing sent, Monday 9 March: before:5 on Friday 13 March at 08:00.
        (&none, utc(2026, 3, 9, 12, 0), utc(2026, 3, 13, 8, 0)),
        // before:5 reached but not sent, evening: next window opening (Monday).
        (&none, utc(2026, 3, 13, 19, 0), utc(2026, 3, 16, 8, 0)),
        // before:5 reached and not sent in the window: now.
        (&none, utc(2026, 3, 13, 9, 0), utc(2026, 3, 13, 9, 0)),
        // before:5 sent: before:1 on Thursday 19 March.
        (&sent5, utc(2026, 3, 13, 9, 0), utc(2026, 3, 19, 8, 0)),
        (&sent5, utc(2026, 3, 14, 9, 0), utc(2026, 3, 19, 8, 0)),
    ];
    for (sent, now, want) in table {
        assert_eq!(
            next_wake(&cases, sent, now, &cal, region, &settings),
            Some(want),
            "{now}"
        );
    }
    // The earliest across cases.
    let two = [
        case(1, CaseState::Open, Some(due)),
        case(2, CaseState::Open, Some(date(2026, 3, 18))),
    ];
    assert_eq!(
        next_wake(&two, &none, utc(2026, 3, 9, 12, 0), &cal, region, &settings),
        Some(utc(2026, 3, 11, 8, 0))
    );
    // A schedule with nothing after the due date stops waking once on_day is sent.
    let no_overdue = ChaserSettings {
        overdue_every: 0,
        ..ChaserSettings::default()
    };
    let sent_day: BTreeSet<ChaserKey> = [key(1, due, Slot::OnDay)].into();
    assert_eq!(
        next_wake(
            &cases,
            &sent_day,
            utc(2026, 3, 20, 9, 0),
            &cal,
            region,
            &no_overdue
        ),
        None
    );
}

#[test]
fn settings_toml_defaults_and_validation() {
    let d = ChaserSettings::from_toml("", "chasers").expect("empty is valid");
    assert_eq!(d, ChaserSettings::default());
    assert_eq!(d.before, [5, 1]);
    assert_eq!(
        (d.on_day, d.overdue_every, d.head_of_service_after),
        (true, 2, 5)
    );
    assert_eq!(
        (d.window_start.to_string(), d.window_end.to_string()),
        ("08:00".into(), "18:00".into())
    );

    let full = ChaserSettings::from_toml(
        r#"
        enabled = true
        before = [10, 3]
        on_day = false
        overdue_every = 5
        copy_manager_when_overdue = false
        head_of_service_after = 10
        window_start = "09:30"
        window_end = "17:00"
        [kinds.member_enquiry]
        overdue_every = 1
        [kinds.media]
        enabled = false
        "#,
        "chasers",
    )
    .expect("valid");
    assert_eq!(full.before, [10, 3]);
    assert_eq!(full.window_start, LocalTime::hm(9, 30).expect("valid"));
    assert_eq!(full.schedule_for(Kind::MemberEnquiry).overdue_every, 1);
    assert_eq!(full.schedule_for(Kind::MemberEnquiry).before, [10, 3]);
    assert!(!full.schedule_for(Kind::Media).enabled);
    assert!(full.schedule_for(Kind::Foi).enabled);

    let table: Vec<(&str, Vec<&str>)> = vec![
        ("before = [0]", vec!["chasers.before[0]"]),
        ("before = [5, 5]", vec!["chasers.before[1]"]),
        ("before = [61]", vec!["chasers.before[0]"]),
        ("overdue_every = 61", vec!["chasers.overdue_every"]),
        (
            "head_of_service_after = 9999",
            vec!["chasers.head_of_service_after"],
        ),
        ("window_start = \"18:00\"", vec!["chasers.window_end"]),
        (
            "window_start = \"19:00\"\nwindow_end = \"07:00\"\nbefore = [0, 70]",
            vec![
                "chasers.before[0]",
                "chasers.before[1]",
                "chasers.window_end",
            ],
        ),
        (
            "[kinds.complaint]\nbefore = [0]\noverdue_every = 100",
            vec![
                "chasers.kinds.complaint.before[0]",
                "chasers.kinds.complaint.overdue_every",
            ],
        ),
        ("[kinds.auto]\nenabled = true", vec!["chasers.kinds.auto"]),
    ];
    for (text, keys) in table {
        let errs = ChaserSettings::from_toml(text, "chasers").expect_err(text);
        let got: Vec<&str> = errs.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(got, keys, "{text}");
        assert!(errs.iter().all(|e| !e.message.is_empty()));
    }
    // Parse errors: unknown keys, bad times, unknown kinds.
    for text in [
        "bogus = 1",
        "window_start = \"8am\"",
        "[kinds.nonsense]\nenabled = true",
        "[kinds.foi]\nbogus = 1",
        "before = 5",
    ] {
        let errs = ChaserSettings::from_toml(text, "chasers").expect_err(text);
        assert_eq!(errs.len(), 1, "{text}");
        assert_eq!(errs[0].key, "chasers", "{text}");
    }
    let bad_time = ChaserSettings::from_toml("window_end = \"25:00\"", "chasers").expect_err("bad");
    assert!(bad_time[0].message.contains("25:00"), "{:?}", bad_time);
}

#[test]
fn weekdays_of_the_simulated_sends_are_working_days() {
    // A belt-and-braces check over a long stretch: every send of a year of cases falls on a
    // working day in the window.
    let cal = Calendar::builtin();
    let wc = staff_calendar(&cal, Region::EnglandAndWales);
    let cases: Vec<Case> = (0..12)
        .map(|i| case(i + 1, CaseState::Open, Some(date(2026, 1 + i, 15))))
        .collect();
    let settings = ChaserSettings::default();
    let mut sent = BTreeSet::new();
    let mut now = utc(2026, 1, 1, 0, 0);
    let mut count = 0;
    while now < utc(2027, 1, 1, 0, 0) {
        for ch in plan_chasers(&cases, &sent, now, &cal, Region::EnglandAndWales, &settings) {
            let local = now.with_timezone(&London);
            assert!(wc.is_working_day(local.date_naive()), "{now}");
            assert!(!matches!(local.weekday(), Weekday::Sat | Weekday::Sun));
            assert!(local.hour() >= 8 && local.hour() < 18, "{now}");
            sent.insert(ch.key);
            count += 1;
        }
        now += Duration::hours(1);
    }
    // 12 cases: 3 chasers before or on the day each, plus overdue every 2 working days after.
    assert!(count > 12 * 3, "{count}");
}

proptest! {
    #[test]
    fn latest_and_next_bracket_the_position(
        before in proptest::collection::vec(1u32..=60, 0..5),
        on_day in any::<bool>(),
        every in 0u32..=10,
        pos in -80i64..200,
    ) {
        let s = Schedule { enabled: true, before, on_day, overdue_every: every };
        if let Some(latest) = s.latest_reached(pos) {
            prop_assert!(latest.position() <= pos);
        }
        if let Some(next) = s.next_after(pos) {
            prop_assert!(next.position() > pos);
            // Nothing lies strictly between the position and the next slot.
            for p in pos + 1..next.position() {
                prop_assert_eq!(s.latest_reached(p), s.latest_reached(pos));
            }
            prop_assert_eq!(s.latest_reached(next.position()), Some(next));
        }
    }

    #[test]
    fn planning_never_panics_and_gives_one_per_case(
        offsets in proptest::collection::vec(-4000i64..4000, 1..6),
        minutes in 0i64..(60 * 24 * 400),
    ) {
        let cal = Calendar::builtin();
        let base = date(2026, 1, 1);
        let cases: Vec<Case> = offsets
            .iter()
            .enumerate()
            .map(|(i, &o)| case(i as u32 + 1, CaseState::Open, base.checked_add_signed(chrono::TimeDelta::days(o))))
            .collect();
        let now = utc(2026, 1, 1, 0, 0) + Duration::minutes(minutes);
        let settings = ChaserSettings::default();
        let got = plan_chasers(&cases, &BTreeSet::new(), now, &cal, Region::EnglandAndWales, &settings);
        prop_assert!(got.len() <= cases.len());
        let wake = next_wake(&cases, &BTreeSet::new(), now, &cal, Region::EnglandAndWales, &settings);
        if !got.is_empty() {
            prop_assert_eq!(wake, Some(now));
        }
    }
}
