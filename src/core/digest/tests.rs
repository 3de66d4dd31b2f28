//! Table-driven tests of the digest schedule, planning and timeliness figure.

use super::*;
use crate::config::Section;
use crate::model::case::CaseDraft;
use crate::model::message::Address;
use chrono::TimeZone;

fn utc(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, mi, 0)
        .single()
        .expect("valid test instant")
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
}

fn cref(prefix: &str, seq: u32) -> CaseRef {
    CaseRef::new(prefix, 2026, seq).expect("valid test reference")
}

/// A case received (and logged) at `received`, with the given state and due date.
fn case(
    seq: u32,
    kind: Kind,
    state: CaseState,
    received: DateTime<Utc>,
    due: Option<NaiveDate>,
) -> Case {
    CaseDraft {
        reference: (),
        kind,
        state,
        received_at: received,
        requester: Address {
            name: Some("Jane Smith".into()),
            email: "jane@example.org".into(),
        },
        subject: "SECRET child name in the subject".into(),
        message_ids: vec![],
        content_hashes: vec![],
        rules: vec![],
        valid: Some(true),
        missing: vec![],
        due,
        clock_events: Vec::new(),
        workflow: Default::default(),
        assignee: Some(format!("officer{seq}@council.example.gov.uk")),
        team: Some("planning".into()),
        created_at: received,
        updated_at: received,
    }
    .into_case(cref("FOI", seq))
}

fn no_repeats(_: &CaseRef) -> Vec<CaseRef> {
    Vec::new()
}

#[test]
fn settings_toml_defaults_and_validation() {
    let d = DigestSettings::from_toml("", "digests").expect("empty is valid");
    assert_eq!(d, DigestSettings::default());
    assert_eq!(
        (d.daily, d.weekly, d.hour, d.weekday),
        (true, false, 8, Weekday::Mon)
    );
    assert_eq!((d.due_soon_working_days, d.timeliness_days), (5, 90));
    let w = DigestSettings::from_toml(
        "daily = false\nweekly = true\nweekday = \"friday\"\nhour = 7\ndue_soon_working_days = 10\ntimeliness_days = 365",
        "digests",
    )
    .expect("valid");
    assert_eq!(
        (w.daily, w.weekly, w.weekday, w.hour),
        (false, true, Weekday::Fri, 7)
    );
    let table: Vec<(&str, Vec<&str>)> = vec![
        ("hour = 24", vec!["digests.hour"]),
        (
            "due_soon_working_days = 61",
            vec!["digests.due_soon_working_days"],
        ),
        ("timeliness_days = 0", vec!["digests.timeliness_days"]),
        ("timeliness_days = 800", vec!["digests.timeliness_days"]),
        (
            "hour = 99\ntimeliness_days = 0",
            vec!["digests.hour", "digests.timeliness_days"],
        ),
    ];
    for (text, keys) in table {
        let errs = DigestSettings::from_toml(text, "digests").expect_err(text);
        let got: Vec<&str> = errs.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(got, keys, "{text}");
    }
    for text in [
        "bogus = true",
        "weekday = \"someday\"",
        "hour = \"eight\"",
        "hour = -1",
    ] {
        let errs = DigestSettings::from_toml(text, "digests").expect_err(text);
        assert_eq!((errs.len(), errs[0].key.as_str()), (1, "digests"), "{text}");
    }
}

#[test]
fn daily_digest_due_table() {
    let cal = Calendar::builtin();
    let s = DigestSettings::default();
    let ew = Region::EnglandAndWales;
    let fri = utc(2026, 3, 20, 8, 0);
    let table = [
        // (now, last sent, due?)
        (utc(2026, 3, 23, 7, 59), Some(fri), false), // Monday before 08:00
        (utc(2026, 3, 23, 8, 0), Some(fri), true),
        (utc(2026, 3, 23, 8, 0), Some(utc(2026, 3, 23, 8, 0)), false), // already sent
        (utc(2026, 3, 23, 17, 0), Some(utc(2026, 3, 23, 8, 5)), false),
        (utc(2026, 3, 21, 10, 0), Some(fri), false), // Saturday
        (utc(2026, 3, 21, 10, 0), None, false),      // first run on a Saturday waits
        (utc(2026, 3, 20, 12, 0), None, true),       // first run on a working day
        (utc(2026, 3, 20, 7, 0), None, false),       // ...but not before the hour
        // After the clocks go forward, 08:00 BST is 07:00 UTC.
        (utc(2026, 3, 30, 6, 59), Some(utc(2026, 3, 27, 8, 0)), false),
        (utc(2026, 3, 30, 7, 0), Some(utc(2026, 3, 27, 8, 0)), true),
        // After they go back, 08:00 GMT is 08:00 UTC.
        (
            utc(2026, 10, 26, 7, 30),
            Some(utc(2026, 10, 23, 7, 0)),
            false,
        ),
        (utc(2026, 10, 26, 8, 0), Some(utc(2026, 10, 23, 7, 0)), true),
        // Bank holidays: none on Easter Monday or Good Friday (England).
        (utc(2026, 4, 3, 9, 0), Some(utc(2026, 4, 2, 7, 0)), false),
        (utc(2026, 4, 6, 9, 0), Some(utc(2026, 4, 2, 7, 0)), false),
        (utc(2026, 4, 7, 7, 0), Some(utc(2026, 4, 2, 7, 0)), true),
        // After a week-long outage: due (once).
        (utc(2026, 3, 27, 11, 0), Some(utc(2026, 3, 19, 8, 0)), true),
    ];
    for (now, last, want) in table {
        assert_eq!(
            digest_due(now, last, &cal, ew, &s),
            want,
            "{now} last {last:?}"
        );
    }
    // Scotland: Easter Monday is a working day.
    assert!(digest_due(
        utc(2026, 4, 6, 9, 0),
        Some(utc(2026, 4, 2, 7, 0)),
        &cal,
        Region::Scotland,
        &s
    ));
    let off = DigestSettings {
        daily: false,
        weekly: false,
        ..DigestSettings::default()
    };
    assert!(!digest_due(utc(2026, 3, 23, 9, 0), None, &cal, ew, &off));
    assert_eq!(
        next_digest_at(utc(2026, 3, 23, 9, 0), None, &cal, ew, &off),
        None
    );
}

#[test]
fn weekly_digest_moves_off_bank_holidays() {
    let cal = Calendar::builtin();
    let weekly = DigestSettings {
        daily: false,
        weekly: true,
        ..DigestSettings::default()
    };
    let ew = Region::EnglandAndWales;
    let table = [
        // (region, now, last sent, due?)
        // An ordinary Monday.
        (
            ew,
            utc(2026, 3, 23, 8, 0),
            Some(utc(2026, 3, 16, 8, 0)),
            true,
        ),
        (
            ew,
            utc(2026, 3, 24, 8, 0),
            Some(utc(2026, 3, 23, 8, 0)),
            false,
        ),
        // Easter Monday 6 April is off in England: Tuesday instead.
        (
            ew,
            utc(2026, 4, 6, 9, 0),
            Some(utc(2026, 3, 30, 7, 0)),
            false,
        ),
        (
            ew,
            utc(2026, 4, 7, 7, 0),
            Some(utc(2026, 3, 30, 7, 0)),
            true,
        ),
        (
            ew,
            utc(2026, 4, 8, 7, 0),
            Some(utc(2026, 4, 7, 7, 0)),
            false,
        ),
        // ...but a working day in Scotland.
        (
            Region::Scotland,
            utc(2026, 4, 6, 7, 0),
            Some(utc(2026, 3, 30, 7, 0)),
            true,
        ),
        // Spring bank holiday Monday 25 May: Tuesday 26 May.
        (
            ew,
            utc(2026, 5, 26, 7, 0),
            Some(utc(2026, 5, 18, 7, 0)),
            true,
        ),
        // Missed on Monday (outage): goes on Wednesday morning once.
        (
            ew,
            utc(2026, 3, 25, 10, 0),
            Some(utc(2026, 3, 16, 8, 0)),
            true,
        ),
        (
            ew,
            utc(2026, 3, 26, 10, 0),
            Some(utc(2026, 3, 25, 10, 0)),
            false,
        ),
        // Christmas: Monday 28 December 2026 is the Boxing Day substitute; Tuesday 29.
        (
            ew,
            utc(2026, 12, 28, 9, 0),
            Some(utc(2026, 12, 21, 8, 0)),
            false,
        ),
        (
            ew,
            utc(2026, 12, 29, 8, 0),
            Some(utc(2026, 12, 21, 8, 0)),
            true,
        ),
    ];
    for (region, now, last, want) in table {
        assert_eq!(
            digest_due(now, last, &cal, region, &weekly),
            want,
            "{region} {now}"
        );
    }
}

#[test]
fn next_digest_at_table() {
    let cal = Calendar::builtin();
    let ew = Region::EnglandAndWales;
    let daily = DigestSettings::default();
    let weekly = DigestSettings {
        daily: false,
        weekly: true,
        weekday: Weekday::Fri,
        ..DigestSettings::default()
    };
    let table = [
        // (settings, now, last, expected)
        (
            &daily,
            utc(2026, 3, 20, 9, 0),
            Some(utc(2026, 3, 20, 8, 0)),
            utc(2026, 3, 23, 8, 0),
        ),
        (
            &daily,
            utc(2026, 3, 27, 9, 0),
            Some(utc(2026, 3, 27, 8, 0)),
            utc(2026, 3, 30, 7, 0),
        ),
        (
            &daily,
            utc(2026, 3, 20, 9, 0),
            Some(utc(2026, 3, 19, 8, 0)),
            utc(2026, 3, 20, 9, 0),
        ),
        (
            &daily,
            utc(2026, 3, 21, 9, 0),
            Some(utc(2026, 3, 19, 8, 0)),
            utc(2026, 3, 23, 8, 0),
        ),
        (
            &daily,
            utc(2026, 4, 2, 9, 0),
            Some(utc(2026, 4, 2, 7, 0)),
            utc(2026, 4, 7, 7, 0),
        ),
        (
            &weekly,
            utc(2026, 3, 20, 9, 0),
            Some(utc(2026, 3, 20, 8, 0)),
            utc(2026, 3, 27, 8, 0),
        ),
        // Good Friday 3 April: the weekly digest goes on Tuesday 7 April (Monday is off too).
        (
            &weekly,
            utc(2026, 3, 27, 9, 0),
            Some(utc(2026, 3, 27, 8, 0)),
            utc(2026, 4, 7, 7, 0),
        ),
    ];
    for (s, now, last, want) in table {
        assert_eq!(next_digest_at(now, last, &cal, ew, s), Some(want), "{now}");
        // Consistent with digest_due: due at the predicted instant, not a minute before.
        assert!(digest_due(want, last, &cal, ew, s), "due at {want}");
        if want > now {
            assert!(
                !digest_due(want - Duration::minutes(1), last, &cal, ew, s),
                "{want}"
            );
        }
    }
}

/// Wednesday 25 March 2026, 10:00 (GMT).
fn now() -> DateTime<Utc> {
    utc(2026, 3, 25, 10, 0)
}

fn sample_cases() -> Vec<Case> {
    let old = utc(2026, 2, 16, 9, 0);
    let mut cases = vec![
        case(1, Kind::Foi, CaseState::Open, old, Some(date(2026, 3, 20))),
        case(
            2,
            Kind::Foi,
            CaseState::Open,
            utc(2026, 2, 13, 9, 0),
            Some(date(2026, 3, 17)),
        ),
        case(
            3,
            Kind::Eir,
            CaseState::Received,
            old,
            Some(date(2026, 3, 25)),
        ),
        case(4, Kind::Sar, CaseState::Open, old, Some(date(2026, 4, 1))),
        case(5, Kind::Foi, CaseState::Open, old, Some(date(2026, 4, 2))),
        case(
            6,
            Kind::Foi,
            CaseState::AwaitingClarification,
            utc(2026, 2, 10, 9, 0),
            Some(date(2026, 3, 10)),
        ),
        case(
            7,
            Kind::Foi,
            CaseState::Responded,
            old,
            Some(date(2026, 3, 16)),
        ),
        case(
            8,
            Kind::Complaint,
            CaseState::Closed,
            utc(2026, 3, 24, 15, 0),
            None,
        ),
        case(
            9,
            Kind::Auto,
            CaseState::Received,
            utc(2026, 3, 24, 16, 0),
            None,
        ),
        case(10, Kind::Foi, CaseState::Open, old, Some(date(2026, 3, 10))),
        case(
            11,
            Kind::Foi,
            CaseState::Received,
            utc(2026, 3, 25, 9, 0),
            Some(date(2026, 4, 23)),
        ),
        case(
            12,
            Kind::Sar,
            CaseState::AwaitingId,
            utc(2026, 3, 1, 9, 0),
            None,
        ),
    ];
    cases[9].team = Some("housing".into());
    cases[10].assignee = None;
    cases
}

fn refs(entries: &[DigestEntry]) -> Vec<u32> {
    entries
        .iter()
        .map(|e| {
            e.reference
                .to_string()
                .rsplit('-')
                .next()
                .and_then(|n| n.parse().ok())
                .expect("numeric seq")
        })
        .collect()
}

#[test]
fn plan_digest_sections_counts_and_order() {
    let cal = Calendar::builtin();
    let cases = sample_cases();
    let repeats = |r: &CaseRef| -> Vec<CaseRef> {
        match r.to_string().as_str() {
            // Self-references and duplicates are dropped.
            "FOI-2026-000004" => vec![
                cref("FOI", 4),
                cref("SAR", 40),
                cref("SAR", 40),
                cref("FOI", 39),
            ],
            // A finished case is never listed as a repeat.
            "FOI-2026-000007" => vec![cref("FOI", 70)],
            "FOI-2026-000011" => vec![cref("FOI", 2)],
            _ => vec![],
        }
    };
    let responded = BTreeMap::new();
    let scope = TeamFilter::Team("planning".into());
    let input = DigestInput {
        cases: &cases,
        scope: &scope,
        now: now(),
        last_digest_at: Some(utc(2026, 3, 24, 8, 0)),
        cal: &cal,
        region: Region::EnglandAndWales,
        possible_repeats: &repeats,
        responded_at: &responded,
        failed_mail: &[],
    };
    let d = plan_digest(&input, &DigestSettings::default());
    assert_eq!(d.today, date(2026, 3, 25));
    // Most late first: case 2 (due 17 March, 6 working days) then case 1 (due 20 March, 3).
    // Case 10 is housing's; case 6 is paused; case 7 responded.
    assert_eq!(refs(&d.overdue), [2, 1]);
    let late: Vec<Option<u32>> = d.overdue.iter().map(|e| e.working_days_overdue).collect();
    assert_eq!(late, [Some(6), Some(3)]);
    // Due today (0 left) and in 5 working days (26, 27, 30, 31 March, 1 April); not 6.
    assert_eq!(refs(&d.due_soon), [3, 4]);
    let left: Vec<Option<u32>> = d.due_soon.iter().map(|e| e.working_days_left).collect();
    assert_eq!(left, [Some(0), Some(5)]);
    assert_eq!(refs(&d.waiting_on_requester), [6, 12]);
    // Logged after the last digest: the closed complaint and the new FOI; never auto mail.
    assert_eq!(refs(&d.new_since_last), [8, 11]);
    assert_eq!(refs(&d.possible_repeats), [4, 11]);
    let rep: Vec<String> = d.possible_repeats[0]
        .repeat_of
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(rep, ["FOI-2026-000039", "SAR-2026-000040"]);
    assert!(d.overdue.iter().all(|e| e.repeat_of.is_empty()));
    assert_eq!(d.new_since_last[1].assignee, None);
    let c = &d.counts;
    assert_eq!(
        (
            c.open,
            c.overdue,
            c.due_soon,
            c.waiting_on_requester,
            c.new_since_last,
            c.possible_repeats
        ),
        (6, 2, 2, 2, 2, 2)
    );
    // Running cases in planning: FOI 1, 2, 5, 11; EIR 3; SAR 4.
    assert_eq!(
        c.open_by_kind,
        BTreeMap::from([(Kind::Foi, 4), (Kind::Eir, 1), (Kind::Sar, 1)])
    );
    assert!(!d.is_empty());
    // No subject (nor anything else the requester wrote) in the digest.
    let json = serde_json::to_string(&d).expect("serialises");
    assert!(!json.contains("SECRET"), "{json}");
    assert!(!json.contains("Jane"), "{json}");
    assert!(!json.contains("jane@example.org"), "{json}");
}

#[test]
fn waiting_cases_with_an_unverified_answer_are_listed_for_an_officer() {
    let cal = Calendar::builtin();
    let flag = || crate::model::case::Flag::UnverifiedAnswer {
        message_id: Some("answer-1@example.org".into()),
        why: "not authenticated: dmarc=fail".into(),
    };
    let repeat = || crate::model::case::Flag::PossibleRepeat {
        of: cref("FOI", 90),
        why: "same text".into(),
    };
    let at = utc(2026, 3, 2, 9, 0);
    // (seq, state, flags, team, listed): only a case still waiting, with the flag, in scope.
    let table = [
        (
            1,
            CaseState::AwaitingClarification,
            vec![flag()],
            "planning",
            true,
        ),
        (
            2,
            CaseState::AwaitingId,
            vec![repeat(), flag()],
            "planning",
            true,
        ),
        (
            3,
            CaseState::AwaitingFee,
            vec![flag(), flag()],
            "planning",
            true,
        ),
        (
            4,
            CaseState::AwaitingClarification,
            vec![repeat()],
            "planning",
            false,
        ),
        (
            5,
            CaseState::AwaitingClarification,
            vec![],
            "planning",
            false,
        ),
        // An officer recorded the answer (#answer): no longer waiting, no longer listed.
        (6, CaseState::Open, vec![flag()], "planning", false),
        (7, CaseState::Closed, vec![flag()], "planning", false),
        (
            8,
            CaseState::AwaitingClarification,
            vec![flag()],
            "housing",
            false,
        ),
    ];
    let mut cases = Vec::new();
    for (seq, state, flags, team, _) in &table {
        let mut c = case(
            *seq,
            Kind::Foi,
            *state,
            at - Duration::days(i64::from(*seq)),
            None,
        );
        c.workflow.flags = flags.clone();
        c.team = Some(team.to_string());
        cases.push(c);
    }
    let responded = BTreeMap::new();
    let scope = TeamFilter::Team("planning".into());
    let d = plan_digest(
        &DigestInput {
            cases: &cases,
            scope: &scope,
            now: now(),
            last_digest_at: Some(utc(2026, 3, 24, 8, 0)),
            cal: &cal,
            region: Region::EnglandAndWales,
            possible_repeats: &no_repeats,
            responded_at: &responded,
            failed_mail: &[],
        },
        &DigestSettings::default(),
    );
    let want: Vec<u32> = table
        .iter()
        .rev() // oldest received first
        .filter(|row| row.4)
        .map(|row| row.0)
        .collect();
    assert_eq!(refs(&d.unverified_answers), want);
    assert_eq!(d.counts.unverified_answers, want.len());
    // Each is also among the cases waiting on the requester.
    for e in &d.unverified_answers {
        assert!(d.waiting_on_requester.contains(e), "{}", e.reference);
    }
    // Nothing of the flag's message (its id or the gateway's words) reaches the digest.
    let json = serde_json::to_string(&d.unverified_answers).expect("serialises");
    assert!(
        !json.contains("answer-1") && !json.contains("dmarc"),
        "{json}"
    );
}

#[test]
fn scopes_filter_every_part() {
    let cal = Calendar::builtin();
    let mut cases = sample_cases();
    cases[0].team = None; // case 1: unrouted
    cases[1].team = Some("  ".into()); // case 2: blank counts as unrouted
    let responded = BTreeMap::new();
    // Overdue most late first: 10 (due 10 March), 2 (17 March), 1 (20 March).
    let table = [
        (TeamFilter::All, vec![10, 2, 1], 7),
        (TeamFilter::Team("planning".into()), vec![], 4),
        (TeamFilter::Team("housing".into()), vec![10], 1),
        (TeamFilter::Unrouted, vec![2, 1], 2),
        (TeamFilter::Team("nobody".into()), vec![], 0),
    ];
    for (scope, overdue, open) in table {
        let input = DigestInput {
            cases: &cases,
            scope: &scope,
            now: now(),
            last_digest_at: None,
            cal: &cal,
            region: Region::EnglandAndWales,
            possible_repeats: &no_repeats,
            responded_at: &responded,
            failed_mail: &[],
        };
        let d = plan_digest(&input, &DigestSettings::default());
        assert_eq!(refs(&d.overdue), overdue, "{scope:?}");
        assert_eq!(d.counts.open, open, "{scope:?}");
        assert_eq!(
            d.is_empty(),
            matches!(&scope, TeamFilter::Team(t) if t == "nobody"),
            "{scope:?}"
        );
        // First digest: new since a week ago.
        assert_eq!(d.since, now() - Duration::days(7));
    }
}

#[test]
fn due_soon_horizon_follows_settings() {
    let cal = Calendar::builtin();
    let cases = sample_cases();
    let responded = BTreeMap::new();
    let scope = TeamFilter::All;
    let table = [
        (0, vec![3]),
        (4, vec![3]),
        (5, vec![3, 4]),
        (6, vec![3, 4, 5]),
        (21, vec![3, 4, 5, 11]),
    ];
    for (n, want) in table {
        let input = DigestInput {
            cases: &cases,
            scope: &scope,
            now: now(),
            last_digest_at: None,
            cal: &cal,
            region: Region::EnglandAndWales,
            possible_repeats: &no_repeats,
            responded_at: &responded,
            failed_mail: &[],
        };
        let s = DigestSettings {
            due_soon_working_days: n,
            ..DigestSettings::default()
        };
        let d = plan_digest(&input, &s);
        assert_eq!(refs(&d.due_soon), want, "horizon {n}");
        assert_eq!(d.due_soon_working_days, n);
    }
}

#[test]
fn timeliness_counts_as_the_ico_does() {
    let cal = Calendar::builtin();
    let r = |d: u32| utc(2026, 2, d, 9, 0);
    let due = Some(date(2026, 3, 10));
    let cases = vec![
        case(1, Kind::Foi, CaseState::Responded, r(9), due), // answered late on the due date
        case(2, Kind::Eir, CaseState::Closed, r(9), due),    // answered early
        case(3, Kind::Sar, CaseState::Responded, r(9), due), // answered a day late
        case(4, Kind::Foi, CaseState::Open, r(9), due),      // unanswered, overdue
        case(5, Kind::Foi, CaseState::Open, r(20), Some(date(2026, 4, 1))), // pending
        case(6, Kind::Foi, CaseState::AwaitingFee, r(9), due), // paused: pending
        case(7, Kind::Foi, CaseState::Closed, r(9), due),    // withdrawn: not counted
        case(8, Kind::Complaint, CaseState::Responded, r(9), due), // not statutory
        case(
            9,
            Kind::Foi,
            CaseState::Responded,
            utc(2025, 11, 1, 9, 0),
            due,
        ), // before the period
        case(10, Kind::Foi, CaseState::Open, r(9), None),    // never got a due date
    ];
    let responded: BTreeMap<CaseRef, DateTime<Utc>> = [
        (cref("FOI", 1), utc(2026, 3, 10, 23, 59)), // 23:59 GMT on the due date
        (cref("FOI", 2), utc(2026, 3, 2, 12, 0)),
        (cref("FOI", 3), utc(2026, 3, 11, 0, 0)),
        (cref("FOI", 8), utc(2026, 3, 20, 12, 0)),
        (cref("FOI", 9), utc(2026, 3, 20, 12, 0)),
    ]
    .into();
    let scope = TeamFilter::All;
    let input = DigestInput {
        cases: &cases,
        scope: &scope,
        now: now(),
        last_digest_at: None,
        cal: &cal,
        region: Region::EnglandAndWales,
        possible_repeats: &no_repeats,
        responded_at: &responded,
        failed_mail: &[],
    };
    let t = plan_digest(&input, &DigestSettings::default()).timeliness;
    assert_eq!((t.from, t.to), (date(2025, 12, 26), date(2026, 3, 25)));
    assert_eq!(
        (t.in_time, t.late, t.overdue_unanswered, t.pending),
        (2, 1, 1, 2)
    );
    assert_eq!(t.counted(), 4);
    assert_eq!(t.percent_in_time(), Some(50.0));
    // A response in the BST evening of the due date is still on the due date in London.
    let bst_cases = vec![case(
        1,
        Kind::Foi,
        CaseState::Responded,
        utc(2026, 5, 1, 9, 0),
        Some(date(2026, 6, 1)),
    )];
    let bst_resp: BTreeMap<CaseRef, DateTime<Utc>> =
        [(cref("FOI", 1), utc(2026, 6, 1, 22, 30))].into(); // 23:30 BST on 1 June
    let late_resp: BTreeMap<CaseRef, DateTime<Utc>> =
        [(cref("FOI", 1), utc(2026, 6, 1, 23, 30))].into(); // 00:30 BST on 2 June
    for (map, in_time) in [(&bst_resp, 1), (&late_resp, 0)] {
        let input = DigestInput {
            cases: &bst_cases,
            scope: &scope,
            now: utc(2026, 6, 10, 9, 0),
            last_digest_at: None,
            cal: &cal,
            region: Region::EnglandAndWales,
            possible_repeats: &no_repeats,
            responded_at: map,
            failed_mail: &[],
        };
        let t = plan_digest(&input, &DigestSettings::default()).timeliness;
        assert_eq!((t.in_time, t.late), (in_time, 1 - in_time));
    }
    let nothing = Timeliness {
        from: date(2026, 1, 1),
        to: date(2026, 1, 1),
        in_time: 0,
        late: 0,
        overdue_unanswered: 0,
        pending: 3,
    };
    assert_eq!(nothing.percent_in_time(), None);
}

#[test]
fn team_filter_matches_table() {
    let mut c = case(1, Kind::Foi, CaseState::Open, now(), None);
    let table = [
        (Some("planning"), TeamFilter::All, true),
        (Some("planning"), TeamFilter::Team("planning".into()), true),
        (Some("planning"), TeamFilter::Team("Planning".into()), false),
        (Some("planning"), TeamFilter::Unrouted, false),
        (None, TeamFilter::Unrouted, true),
        (Some(""), TeamFilter::Unrouted, true),
        (None, TeamFilter::Team("planning".into()), false),
    ];
    for (team, filter, want) in table {
        c.team = team.map(str::to_string);
        assert_eq!(filter.matches(&c), want, "{team:?} {filter:?}");
    }
}

#[test]
fn needs_triage_since_keeps_what_came_after_the_last_digest() {
    let at = |h: u32| Utc.with_ymd_and_hms(2026, 11, 23, h, 0, 0).unwrap();
    let n = |h: u32| crate::model::records::NeedsTriage {
        at: at(h),
        mailbox: "INBOX".into(),
        uidvalidity: 1,
        uid: h,
        content_hash: format!("h{h}"),
        why: "w".into(),
    };
    let all = [n(8), n(10), n(12)];
    // (since, UIDs kept)
    let table: [(u32, &[u32]); 4] = [(7, &[8, 10, 12]), (8, &[10, 12]), (11, &[12]), (12, &[])];
    for (since, kept) in table {
        let got: Vec<u32> = needs_triage_since(&all, at(since))
            .iter()
            .map(|x| x.uid)
            .collect();
        assert_eq!(got, kept, "since {since}:00");
    }
}

/// An outbox row in `status` about `case`, queued at `queued`, with `payload`.
fn outbox_row(
    id: u64,
    case: Option<CaseRef>,
    status: OutboxStatus,
    queued: DateTime<Utc>,
    payload: serde_json::Value,
) -> OutboxRow {
    OutboxRow {
        id,
        case,
        created_at: queued,
        payload,
        status,
        attempts: 1,
        last_error: Some("550 5.1.1 <jane@example.org>: no such user".into()),
        next_attempt_at: queued,
        interrupted: 0,
    }
}

fn ack_payload() -> serde_json::Value {
    OutboxJob::Ack(crate::model::letter::AckJob {
        template: "ack_foi".into(),
        to: "jane@example.org".into(),
        message_id: "m1@example.gov.uk".into(),
        in_reply_to: None,
        references: vec![],
        their_subject: "SECRET child name".into(),
        requester_name: Some("Jane Smith".into()),
        missing: vec![],
        received: date(2026, 3, 2),
        due: None,
        language: crate::model::language::LetterLanguage::English,
    })
    .to_payload()
    .expect("payload")
}

/// Only failed rows become digest lines, named by what they were and the London day they were
/// queued, oldest first; nothing of the address, subject or error is carried.
#[test]
fn failed_mail_lines_table() {
    let late_evening_bst = utc(2026, 5, 1, 23, 30); // 2 May in London
    let rows = vec![
        outbox_row(
            5,
            Some(cref("FOI", 1)),
            OutboxStatus::Failed,
            utc(2026, 3, 3, 9, 0),
            ack_payload(),
        ),
        outbox_row(
            1,
            Some(cref("FOI", 2)),
            OutboxStatus::Sent,
            utc(2026, 3, 1, 9, 0),
            ack_payload(),
        ),
        outbox_row(
            2,
            None,
            OutboxStatus::Pending,
            utc(2026, 3, 1, 9, 0),
            ack_payload(),
        ),
        outbox_row(
            3,
            None,
            OutboxStatus::Sending,
            utc(2026, 3, 1, 9, 0),
            ack_payload(),
        ),
        outbox_row(
            4,
            None,
            OutboxStatus::Failed,
            utc(2026, 3, 2, 9, 0),
            serde_json::json!({"job": "telepathy"}),
        ),
        outbox_row(
            6,
            Some(cref("FOI", 3)),
            OutboxStatus::Failed,
            late_evening_bst,
            ack_payload(),
        ),
    ];
    let got = failed_mail(&rows);
    let want = vec![
        (4, None, "outbox", date(2026, 3, 2)),
        (5, Some(cref("FOI", 1)), "acknowledgement", date(2026, 3, 3)),
        (6, Some(cref("FOI", 3)), "acknowledgement", date(2026, 5, 2)),
    ];
    let got_tuples: Vec<(u64, Option<CaseRef>, &str, NaiveDate)> = got
        .iter()
        .map(|f| (f.row, f.case.clone(), f.what.as_str(), f.queued))
        .collect();
    assert_eq!(got_tuples, want);
    let json = serde_json::to_string(&got).expect("json");
    for secret in ["jane", "SECRET", "550"] {
        assert!(!json.contains(secret), "{secret} leaked: {json}");
    }
}

/// A failed row shows in the digest whose scope holds its case; one without a case, or whose
/// case is not among the cases given, shows in every digest. Failed mail alone makes a digest
/// not empty.
#[test]
fn failed_mail_follows_the_scope() {
    let cal = Calendar::builtin();
    let mut cases = vec![
        case(
            1,
            Kind::Foi,
            CaseState::Open,
            utc(2026, 3, 2, 9, 0),
            Some(date(2026, 3, 30)),
        ),
        case(
            2,
            Kind::Foi,
            CaseState::Open,
            utc(2026, 3, 2, 9, 0),
            Some(date(2026, 3, 30)),
        ),
    ];
    cases[1].team = Some("housing".into());
    let line = |row: u64, case: Option<CaseRef>| FailedMail {
        row,
        case,
        what: "acknowledgement".into(),
        queued: date(2026, 3, 2),
    };
    let failed = vec![
        line(1, Some(cref("FOI", 1))),
        line(2, Some(cref("FOI", 2))),
        line(3, None),
        line(4, Some(cref("FOI", 99))),
    ];
    let responded = BTreeMap::new();
    let table = [
        (TeamFilter::All, vec![1, 2, 3, 4], false),
        (TeamFilter::Team("planning".into()), vec![1, 3, 4], false),
        (TeamFilter::Team("housing".into()), vec![2, 3, 4], false),
        (TeamFilter::Unrouted, vec![3, 4], false),
        (TeamFilter::Team("nobody".into()), vec![3, 4], false),
    ];
    for (scope, rows, empty) in table {
        let input = DigestInput {
            cases: &cases,
            scope: &scope,
            now: now(),
            last_digest_at: Some(now()),
            cal: &cal,
            region: Region::EnglandAndWales,
            possible_repeats: &no_repeats,
            responded_at: &responded,
            failed_mail: &failed,
        };
        let d = plan_digest(&input, &DigestSettings::default());
        let got: Vec<u64> = d.failed_mail.iter().map(|f| f.row).collect();
        assert_eq!(got, rows, "{scope:?}");
        assert_eq!(d.is_empty(), empty, "{scope:?}");
    }
}
