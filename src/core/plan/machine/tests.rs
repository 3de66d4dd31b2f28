//! The machine-mail list and purge at chosen instants, without a store.

use super::*;
use crate::core::plan::testkit::{BOSS, Desk, at, ctx};
use crate::model::case::CaseRef;
use crate::model::machine::Opened;

/// Record number `seq`, filed (and received) at `filed`, opened or not.
fn record(seq: u64, filed: &str, opened: bool) -> MachineMail {
    MachineMail {
        id: MachineMailId::new(2026, seq).expect("id"),
        filed_at: at(filed),
        received_at: at(filed),
        from: format!("sender{seq}@example.org"),
        subject: format!("Automatic reply {seq}"),
        kind: Kind::Auto,
        why: "auto won: auto.auto-submitted 100".into(),
        rules: vec!["auto.auto-submitted".into()],
        suggested: Kind::Foi,
        content_hash: format!("hash-{seq}"),
        message_id: None,
        size: 100,
        partial: false,
        opened: opened.then(|| Opened {
            case: CaseRef::new("FOI", 2026, 1).expect("ref"),
            by: "alice@council.example".into(),
            at: at(filed),
        }),
    }
}

/// What a [`ListPlan`] amounts to, for a table: the variant, the ids listed, the mark's `last`.
#[derive(Debug, PartialEq)]
enum Got {
    Wait(Option<DateTime<Utc>>),
    Skip(u64),
    InDigest(Vec<String>, u64),
    OnItsOwn(Vec<String>, u64, Option<DateTime<Utc>>),
}

fn got(plan: ListPlan) -> Got {
    let last = |m: &Mark| Listed::from_mark(Some(m.value.clone())).last;
    let ids = |l: &[MachineMailLine]| l.iter().map(|l| l.id.to_string()).collect();
    match plan {
        ListPlan::Wait { next } => Got::Wait(next),
        ListPlan::Skip(m) => Got::Skip(last(&m)),
        ListPlan::InDigest(lines, m) => Got::InDigest(ids(&lines), last(&m)),
        ListPlan::OnItsOwn(list, m) => Got::OnItsOwn(ids(&list.lines), last(&m), list.since),
    }
}

#[test]
fn the_list_goes_in_the_digest_or_on_its_own_once_a_working_day() {
    let desk = Desk::new();
    let office = desk.office();
    let team = list_team(office.routing, office.machine_mail).expect("the foi default team");
    assert_eq!(team.id, "ig");
    let fresh = record(1, "2026-08-28T15:00:00Z", false);
    let opened = record(2, "2026-08-28T16:00:00Z", true);
    let both = [fresh.clone(), opened.clone()];
    let only_opened = [opened];
    // The digest hour is 08:00 London: 07:00 UTC in September (BST).
    let friday_list = Some(at("2026-08-28T07:00:00Z"));
    let m1 = "M-2026-000001".to_string();
    // (name, pending, last list, team digest now, now, expected)
    type Row<'a> = (
        &'a str,
        &'a [MachineMail],
        Option<DateTime<Utc>>,
        bool,
        &'a str,
        Got,
    );
    let table: Vec<Row> = vec![
        (
            "nothing waits",
            &[],
            friday_list,
            false,
            "2026-09-01T07:30:00Z",
            Got::Wait(None),
        ),
        (
            "the team's digest goes now: in it, opened ones left out",
            &both,
            friday_list,
            true,
            "2026-09-01T07:30:00Z",
            Got::InDigest(vec![m1.clone()], 2),
        ),
        (
            "before the hour (Monday 31 August is a bank holiday)",
            &both,
            friday_list,
            false,
            "2026-09-01T06:30:00Z",
            Got::Wait(Some(at("2026-09-01T07:00:00Z"))),
        ),
        (
            "the hour on a working day: on its own",
            &both,
            friday_list,
            false,
            "2026-09-01T07:30:00Z",
            Got::OnItsOwn(vec![m1.clone()], 2, friday_list),
        ),
        (
            "the first list ever",
            &both,
            None,
            false,
            "2026-09-01T07:30:00Z",
            Got::OnItsOwn(vec![m1.clone()], 2, None),
        ),
        (
            "already listed today: tomorrow",
            &both,
            Some(at("2026-09-01T07:00:00Z")),
            false,
            "2026-09-01T12:00:00Z",
            Got::Wait(Some(at("2026-09-02T07:00:00Z"))),
        ),
        (
            "the weekend: Monday",
            &both,
            Some(at("2026-09-04T07:00:00Z")),
            false,
            "2026-09-05T10:00:00Z",
            Got::Wait(Some(at("2026-09-07T07:00:00Z"))),
        ),
        (
            "every record opened meanwhile: the mark moves, nothing is sent",
            &only_opened,
            friday_list,
            false,
            "2026-09-01T07:30:00Z",
            Got::Skip(2),
        ),
    ];
    for (name, pending, last_list, digest_now, now, want) in table {
        let facts = ListFacts {
            pending,
            listed: Listed {
                last: 0,
                at: last_list,
            },
        };
        let plan = plan_list(&office, team, &facts, digest_now, ctx(), at(now));
        assert_eq!(got(plan), want, "{name}");
    }
}

#[test]
fn a_line_gives_sender_subject_why_and_the_exact_command() {
    let desk = Desk::new();
    let lines = lines(
        &desk.office(),
        &[record(42, "2026-09-01T09:00:00Z", false)],
        BOSS,
    );
    let [line] = lines.as_slice() else {
        panic!("{lines:?}");
    };
    assert_eq!(line.id.to_string(), "M-2026-000042");
    assert_eq!(
        (line.from.as_str(), line.subject.as_str()),
        ("sender42@example.org", "Automatic reply 42")
    );
    assert_eq!(line.why, "auto won: auto.auto-submitted 100");
    assert_eq!(
        line.command,
        "foi-triage case open-from M-2026-000042 --kind foi --by boss@council.example"
    );
    // The address that opens it by email, signed for the person the list goes to.
    let address = line.open_address.as_deref().expect("an address");
    assert!(address.starts_with("foi+M-2026-000042."), "{address}");
    let tag = crate::core::actions::parse_machine_reply_address(address).expect("parses");
    let verdict = crate::core::actions::check_machine(&desk.keys, &tag, BOSS);
    assert_eq!(verdict, crate::core::actions::Verdict::Valid);
}

#[test]
fn the_list_team_is_the_configured_one_else_the_foi_default_team() {
    let mut desk = Desk::new();
    let table = [
        (None, Some("ig")),
        (Some("roads"), Some("roads")),
        (Some("nobody"), None),
    ];
    for (configured, want) in table {
        desk.machine_mail.team = configured.map(str::to_string);
        let got = list_team(&desk.routing, &desk.machine_mail).map(|t| t.id.as_str());
        assert_eq!(got, want, "{configured:?}");
    }
}

#[test]
fn records_past_their_retention_period_are_purged_and_only_those() {
    let now = at("2026-09-30T12:00:00Z");
    let kept = [
        record(1, "2026-08-31T11:59:00Z", false),
        record(2, "2026-08-31T12:00:00Z", true),
        record(3, "2026-09-29T12:00:00Z", false),
    ];
    let table: [(u32, Vec<u64>); 3] = [(30, vec![1]), (31, vec![]), (7, vec![1, 2])];
    for (keep_days, want) in table {
        let purged: Vec<u64> = plan_purge(&kept, keep_days, now)
            .map(|c| {
                c.machine_mail_purged
                    .iter()
                    .map(MachineMailId::seq)
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(purged, want, "{keep_days} days");
    }
}
