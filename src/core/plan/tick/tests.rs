//! The scheduler's plan without a store: chasers, digests and the next wake at chosen instants.

use super::*;
use crate::core::london::instant as london_instant;
use crate::core::plan::testkit::{ALICE, BOSS, Desk, HEAD, at, case, counting, ctx};
use crate::model::case::CaseState;
use chrono::NaiveTime;

const RECEIVED: &str = "2026-09-01T09:30:00Z";

fn ten_am(date: chrono::NaiveDate) -> DateTime<Utc> {
    london_instant(date, NaiveTime::from_hms_opt(10, 0, 0).expect("time")).expect("instant")
}

/// Every team's digest just went out: only chasers are planned.
fn digests_sent(desk: &Desk, now: DateTime<Utc>) -> BTreeMap<String, DateTime<Utc>> {
    desk.routing
        .teams()
        .iter()
        .map(|t| (t.id.clone(), now))
        .collect()
}

/// (assignee, team, now, to, cc, audit action)
type ChaserRow<'a> = (
    Option<&'a str>,
    Option<&'a str>,
    DateTime<Utc>,
    Vec<&'a str>,
    Vec<&'a str>,
    &'a str,
);

/// The last digest per team.
type Marks = BTreeMap<String, DateTime<Utc>>;

#[test]
fn the_scheduler_watches_unrouted_open_cases_and_never_machine_mail() {
    let mut routed = case(1, Kind::Foi, "a", RECEIVED);
    routed.team = Some("ig".into());
    let open = case(2, Kind::Foi, "b", RECEIVED);
    let mut closed = case(3, Kind::Foi, "c", RECEIVED);
    closed.state = CaseState::Closed;
    let mut imported = case(4, Kind::Foi, "d", RECEIVED);
    imported.workflow.imported = true;
    let auto = case(5, Kind::Auto, "e", RECEIVED);
    let waiting = {
        let mut c = case(6, Kind::Sar, "f", RECEIVED);
        c.state = CaseState::AwaitingId;
        c
    };
    let all = vec![
        routed,
        open.clone(),
        closed,
        imported,
        auto,
        waiting.clone(),
    ];
    let cases = watched(all);
    assert_eq!(cases.len(), 5, "machine mail is not watched");
    let got: Vec<&CaseRef> = unrouted(&cases).map(|c| &c.reference).collect();
    assert_eq!(got, [&open.reference, &waiting.reference]);
}

#[test]
fn chasers_go_to_the_assignee_and_escalate_to_the_manager_and_head() {
    let desk = Desk::new();
    let base = case(7, Kind::Foi, "Parking fines", RECEIVED);
    let due = base.due.expect("an FOI request has a due date");
    let overdue = ten_am(due + chrono::Duration::days(14));
    let table: Vec<ChaserRow> = vec![
        (
            Some(ALICE),
            Some("ig"),
            ten_am(due),
            vec![ALICE],
            vec![],
            "chaser_queued",
        ),
        (
            None,
            Some("ig"),
            ten_am(due),
            vec![BOSS],
            vec![],
            "chaser_queued",
        ),
        (None, None, ten_am(due), vec![], vec![], "chaser_skipped"),
        (
            Some(ALICE),
            Some("ig"),
            overdue,
            vec![ALICE],
            vec![BOSS, HEAD],
            "chaser_queued",
        ),
        (
            None,
            Some("ig"),
            overdue,
            vec![BOSS],
            vec![HEAD],
            "chaser_queued",
        ),
    ];
    for (assignee, team, now, to, cc, action) in table {
        let mut c = base.clone();
        c.assignee = assignee.map(str::to_string);
        c.team = team.map(str::to_string);
        let cases = [c];
        let sent = BTreeSet::new();
        let last = digests_sent(&desk, now);
        let facts = TickFacts {
            cases: &cases,
            chasers_sent: &sent,
            last_digests: &last,
            needs_triage: &[],
            failed_mail: &[],
            machine_mail: machine::ListFacts {
                pending: &[],
                listed: machine::Listed::default(),
            },
        };
        let plan = plan_tick(&desk.office(), ctx(), &facts, now, &mut counting());
        let why = format!("{assignee:?} {team:?} {now}");
        let [(change, letters)] = plan.units.as_slice() else {
            panic!("one chaser: {why}: {:?}", plan.units);
        };
        let chasers = chase::plan_chasers(
            &cases,
            &sent,
            now,
            &ctx().calendar,
            ctx().region,
            &desk.settings.chasers,
        );
        let key = format!("chaser/{}", chasers[0].key);
        assert_eq!(
            change.marks,
            [Mark {
                key,
                value: json!(now)
            }],
            "{why}"
        );
        assert_eq!(change.audit.len(), 1, "{why}");
        assert_eq!(change.audit[0].event.action, action, "{why}");
        assert_eq!(
            change.audit[0].case,
            CaseTarget::Existing(cases[0].reference.clone())
        );
        if action == "chaser_skipped" {
            assert!(letters.is_empty(), "{why}");
            continue;
        }
        assert_eq!(change.audit[0].event.detail["to"], json!(to), "{why}");
        assert_eq!(change.audit[0].event.detail["cc"], json!(cc), "{why}");
        let [l] = letters.as_slice() else {
            panic!("one letter: {why}");
        };
        assert_eq!(l.to, to, "{why}");
        assert_eq!(l.cc, cc, "{why}");
        assert_eq!(l.message_id, "id-1");
        assert_eq!(
            l.reply_to,
            desk.office().command_address(&cases[0].reference, to[0]),
            "{why}: bound to the one chased"
        );
        assert!(matches!(&l.body, LetterBody::Chaser(ch) if ch.case == cases[0].reference));
    }
}

#[test]
fn a_chaser_already_sent_is_not_planned_again() {
    let desk = Desk::new();
    let mut c = case(8, Kind::Foi, "Parking fines", RECEIVED);
    c.assignee = Some(ALICE.into());
    c.team = Some("ig".into());
    let now = ten_am(c.due.expect("due"));
    let cases = [c];
    let last = digests_sent(&desk, now);
    let all = chase::plan_chasers(
        &cases,
        &BTreeSet::new(),
        now,
        &ctx().calendar,
        ctx().region,
        &desk.settings.chasers,
    );
    let sent: BTreeSet<ChaserKey> = all.into_iter().map(|ch| ch.key).collect();
    let facts = TickFacts {
        cases: &cases,
        chasers_sent: &sent,
        last_digests: &last,
        needs_triage: &[],
        failed_mail: &[],
        machine_mail: machine::ListFacts {
            pending: &[],
            listed: machine::Listed::default(),
        },
    };
    let plan = plan_tick(&desk.office(), ctx(), &facts, now, &mut counting());
    assert!(plan.units.is_empty(), "{:?}", plan.units);
    assert!(plan.next > now && plan.next <= now + Duration::from_std(MAX_SLEEP).expect("d"));
}

#[test]
fn each_team_manager_gets_a_digest_once_it_is_due() {
    let desk = Desk::new();
    let now = at("2026-09-02T09:00:00Z"); // Wednesday, 10:00 London
    let cases = [case(9, Kind::Foi, "Parking fines", RECEIVED)];
    let sent = BTreeSet::new();
    // (last digests, teams mailed)
    let table: Vec<(Marks, Vec<&str>)> = vec![
        (BTreeMap::new(), vec!["ig", "press", "roads"]),
        (
            [("ig".to_string(), now)].into_iter().collect(),
            vec!["press", "roads"],
        ),
        (digests_sent(&desk, now), vec![]),
    ];
    for (last, teams) in table {
        let facts = TickFacts {
            cases: &cases,
            chasers_sent: &sent,
            last_digests: &last,
            needs_triage: &[],
            failed_mail: &[],
            machine_mail: machine::ListFacts {
                pending: &[],
                listed: machine::Listed::default(),
            },
        };
        let plan = plan_tick(&desk.office(), ctx(), &facts, now, &mut counting());
        let digests: Vec<_> = plan
            .units
            .iter()
            .filter(|(_, l)| l.iter().any(|l| matches!(l.body, LetterBody::Digest(_))))
            .collect();
        assert_eq!(digests.len(), teams.len(), "{last:?}");
        for ((change, letters), team) in digests.iter().zip(&teams) {
            let manager = &desk.routing.team(team).expect("team").manager;
            assert_eq!(
                change.marks,
                [Mark {
                    key: format!("digest/{team}"),
                    value: json!(now)
                }]
            );
            assert!(change.audit.is_empty());
            assert_eq!(letters[0].to, std::slice::from_ref(manager));
            assert_eq!(letters[0].case, None);
            assert_eq!(letters[0].reply_to, None);
            let LetterBody::Digest(d) = &letters[0].body else {
                panic!("a digest");
            };
            assert_eq!(d.scope, TeamFilter::Team(team.to_string()));
        }
        assert!(plan.next >= now + Duration::seconds(1));
        assert!(plan.next <= now + Duration::from_std(MAX_SLEEP).expect("d"));
    }
}

#[test]
fn the_team_digest_counts_the_teams_cases() {
    let desk = Desk::new();
    let now = at("2026-09-02T09:00:00Z");
    let mut ours = case(10, Kind::Foi, "Parking fines", RECEIVED);
    ours.team = Some("ig".into());
    let mut theirs = case(11, Kind::Foi, "Potholes", RECEIVED);
    theirs.team = Some("roads".into());
    let cases = [ours.clone(), theirs];
    let d = team_digest(&desk.office(), ctx(), &cases, &[], "ig", None, now);
    assert_eq!(d.generated_at, now);
    assert_eq!(d.scope, TeamFilter::Team("ig".into()));
    let listed: Vec<&CaseRef> = d.new_since_last.iter().map(|e| &e.reference).collect();
    assert_eq!(listed, [&ours.reference]);
}

#[test]
fn every_digest_lists_the_messages_quarantined_since_its_last_one() {
    let desk = Desk::new();
    let now = at("2026-09-02T09:00:00Z"); // Wednesday, 10:00 London
    let cases = [case(9, Kind::Foi, "Parking fines", RECEIVED)];
    let sent = BTreeSet::new();
    let quarantined = |hash: &str, when: &str| crate::model::records::NeedsTriage {
        at: at(when),
        mailbox: "INBOX".into(),
        uidvalidity: 7,
        uid: 1,
        content_hash: hash.into(),
        why: "died twice".into(),
    };
    let waiting = [
        quarantined("old", "2026-08-31T12:00:00Z"),
        quarantined("new", "2026-09-01T12:00:00Z"),
    ];
    // ig's last digest was on Tuesday morning; press and roads have none (a week back).
    let last: Marks = [("ig".to_string(), at("2026-09-01T08:00:00Z"))]
        .into_iter()
        .collect();
    let facts = TickFacts {
        cases: &cases,
        chasers_sent: &sent,
        last_digests: &last,
        needs_triage: &waiting,
        failed_mail: &[],
        machine_mail: machine::ListFacts {
            pending: &[],
            listed: machine::Listed::default(),
        },
    };
    let plan = plan_tick(&desk.office(), ctx(), &facts, now, &mut counting());
    let mut listed = BTreeMap::new();
    for (_, letters) in &plan.units {
        for l in letters {
            if let LetterBody::Digest(d) = &l.body {
                let hashes: Vec<&str> = d
                    .needs_human_triage
                    .iter()
                    .map(|n| n.content_hash.as_str())
                    .collect();
                listed.insert(l.to[0].clone(), hashes.join(","));
            }
        }
    }
    let manager = |team: &str| desk.routing.team(team).expect("team").manager.clone();
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert_eq!(listed[&manager("ig")], "new");
    assert_eq!(listed[&manager("press")], "old,new");
}

/// A machine-mail record filed (and received) at `filed`.
fn machine_mail(seq: u64, filed: &str) -> crate::model::machine::MachineMail {
    crate::model::machine::MachineMail {
        id: crate::model::machine::MachineMailId::new(2026, seq).expect("id"),
        filed_at: at(filed),
        received_at: at(filed),
        from: "jo@example.org".into(),
        subject: "Automatic reply: away".into(),
        kind: Kind::Auto,
        why: "auto won".into(),
        rules: Vec::new(),
        suggested: Kind::General,
        content_hash: format!("hash-{seq}"),
        message_id: None,
        size: 10,
        partial: false,
        opened: None,
    }
}

#[test]
fn machine_mail_is_listed_in_the_owning_teams_digest_or_on_its_own() {
    let desk = Desk::new();
    let now = at("2026-09-02T09:00:00Z"); // Wednesday, 10:00 London
    let cases = [case(9, Kind::Foi, "Parking fines", RECEIVED)];
    let sent = BTreeSet::new();
    let pending = [
        machine_mail(3, "2026-09-01T12:00:00Z"),
        machine_mail(4, "2026-09-01T13:00:00Z"),
    ];
    let listed = machine::Listed {
        last: 2,
        at: Some(at("2026-09-01T07:00:00Z")),
    };
    let listed_mark = Mark {
        key: machine::LISTED_MARK.into(),
        value: json!(machine::Listed {
            last: 4,
            at: Some(now)
        }),
    };
    let ig_only: Marks = digests_sent(&desk, now)
        .into_iter()
        .filter(|(t, _)| t != "ig")
        .collect();
    // (name, last digests, records waiting, expected: where the list went)
    let table: Vec<(&str, Marks, &[_], Option<&str>)> = vec![
        (
            "ig's digest goes now: in it",
            ig_only,
            &pending,
            Some("digest"),
        ),
        (
            "no digest today: on its own",
            digests_sent(&desk, now),
            &pending,
            Some("own"),
        ),
        (
            "nothing waits: nothing",
            digests_sent(&desk, now),
            &[],
            None,
        ),
    ];
    for (name, last, pending, want) in table {
        let facts = TickFacts {
            cases: &cases,
            chasers_sent: &sent,
            last_digests: &last,
            needs_triage: &[],
            failed_mail: &[],
            machine_mail: machine::ListFacts { pending, listed },
        };
        let plan = plan_tick(&desk.office(), ctx(), &facts, now, &mut counting());
        let with_list: Vec<_> = plan
            .units
            .iter()
            .filter(|(change, _)| change.marks.contains(&listed_mark))
            .collect();
        let Some(want) = want else {
            assert!(with_list.is_empty(), "{name}: {:?}", plan.units);
            continue;
        };
        let [(_, letters)] = with_list.as_slice() else {
            panic!("{name}: one unit lists the machine mail: {:?}", plan.units);
        };
        let [letter] = letters.as_slice() else {
            panic!("{name}: one letter: {letters:?}");
        };
        assert_eq!(letter.to, [BOSS], "{name}");
        let ids: Vec<String> = match (&letter.body, want) {
            (LetterBody::Digest(d), "digest") => {
                assert_eq!(d.scope, TeamFilter::Team("ig".into()), "{name}");
                d.machine_mail.iter().map(|l| l.id.to_string()).collect()
            }
            (LetterBody::MachineMail(list), "own") => {
                assert_eq!(list.team_name, "Information Governance", "{name}");
                assert_eq!(list.since, listed.at, "{name}");
                list.lines.iter().map(|l| l.id.to_string()).collect()
            }
            (other, _) => panic!("{name}: {other:?}"),
        };
        assert_eq!(ids, ["M-2026-000003", "M-2026-000004"], "{name}");
        // No other team's digest carries it.
        for (_, letters) in &plan.units {
            for l in letters {
                if let LetterBody::Digest(d) = &l.body
                    && d.scope != TeamFilter::Team("ig".into())
                {
                    assert!(d.machine_mail.is_empty(), "{name}: {:?}", d.scope);
                }
            }
        }
    }
}
