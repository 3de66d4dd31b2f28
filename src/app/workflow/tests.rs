//! The workflow around the planners with a temporary store (no mail server): the facts it reads
//! and the mail it renders into the change, as the end-to-end tests see them.

use super::*;
use crate::core::followup::Threads;
use crate::core::plan::testkit::{self, ALICE, Desk, at, ctx};
use crate::model::case::{CaseDraft, CaseState};
use crate::model::change::NewCase;
use crate::model::letter::AckJob;

struct NoThreads;

impl Threads for NoThreads {
    fn case_for_message_id(&self, _: &str) -> Option<String> {
        None
    }
    fn case_exists(&self, _: &str) -> bool {
        false
    }
}

pub(crate) fn workflow() -> Workflow {
    let Desk {
        routing,
        keys,
        settings,
        machine_mail,
    } = Desk::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    Workflow {
        routing,
        keys,
        templates: Letters::load(&dir).expect("the shipped templates load"),
        settings,
        machine_mail,
        organisation: "Exampletown Council".into(),
        shared_address: testkit::SHARED.into(),
        id_domain: "council.example".into(),
        ids: std::sync::Arc::new(crate::io::ids::SequentialIds::new()),
    }
}

/// A temporary store holding `case` (its reference allocated as the first of its prefix).
pub(crate) fn store_with(case: &Case) -> Store {
    let store = Store::open_temporary().expect("temporary store");
    let mut record = serde_json::to_value(case).expect("a case record");
    // A draft is the same record with no reference.
    record["reference"] = serde_json::Value::Null;
    let draft: CaseDraft = serde_json::from_value(record).expect("a draft");
    let applied = store
        .apply(Change {
            new_case: Some(NewCase {
                prefix: case.reference.prefix().to_string(),
                year: case.reference.year(),
                draft,
            }),
            ..Change::default()
        })
        .expect("the case is stored");
    assert_eq!(applied.new_case.as_ref(), Some(&case.reference));
    store
}

fn mails(change: &Change) -> Vec<PreparedMail> {
    change
        .outbox_new
        .iter()
        .filter_map(|r| match OutboxJob::from_payload(&r.payload) {
            Ok(OutboxJob::Mail(m)) => Some(m),
            _ => None,
        })
        .collect()
}

fn acks(change: &Change) -> Vec<AckJob> {
    change
        .outbox_new
        .iter()
        .filter_map(|r| match OutboxJob::from_payload(&r.payload) {
            Ok(OutboxJob::Ack(a)) => Some(a),
            _ => None,
        })
        .collect()
}

#[test]
fn the_tick_routes_an_unrouted_case_and_mails_the_assignment_and_the_digests() {
    let wf = workflow();
    let case = testkit::case(1, Kind::Foi, "Parking fines", "2026-03-02T09:30:00Z");
    let store = store_with(&case);
    let now = at("2026-03-02T09:31:00Z");
    let (changes, next) = wf.tick(&store, ctx(), now).expect("tick");
    assert!(next > now);
    assert_eq!(changes.len(), 4, "the assignment and one digest per team");
    let assignment = &changes[0];
    let routed = &assignment.case_updates[0].case;
    assert_eq!(routed.team.as_deref(), Some("ig"));
    assert_eq!(routed.assignee.as_deref(), Some(ALICE));
    assert_eq!(assignment.marks[0].key, "rr/ig");
    let [mail] = mails(assignment).try_into().expect("one assignment mail");
    assert_eq!(mail.to, [ALICE]);
    let r = &case.reference;
    assert!(
        mail.subject
            .starts_with(&format!("[{r}] Assigned: foi request, due ")),
        "{}",
        mail.subject
    );
    for want in [
        "Due: ",
        "Internal target: ",
        "Validity: valid",
        "#close",
        "Triage folders",
    ] {
        assert!(mail.text.contains(want), "{want} missing:\n{}", mail.text);
    }
    assert!(!mail.text.contains("Mill Lane"));
    assert!(
        mail.reply_to
            .as_deref()
            .is_some_and(|a| a.contains(&format!("+{r}.")))
    );
    assert!(
        mail.message_id.contains("council.example"),
        "{}",
        mail.message_id
    );
    assert_eq!(mail.attach_original, None, "the raw request is not stored");
    assert_eq!(
        assignment.outbox_new[0].case,
        Some(CaseTarget::Existing(r.clone()))
    );
    for (change, team) in changes[1..].iter().zip(["ig", "press", "roads"]) {
        assert_eq!(change.marks[0].key, format!("digest/{team}"));
        let [digest] = mails(change).try_into().expect("one digest");
        let manager = &wf.routing.team(team).expect("team").manager;
        assert_eq!(&digest.to, std::slice::from_ref(manager));
        assert!(digest.html.is_some() && !digest.subject.is_empty());
        assert_eq!(change.outbox_new[0].case, None);
    }
}

fn staff_mail(from: &str, to: &str, body: &str) -> Vec<u8> {
    format!(
        "From: <{from}>\r\nTo: <{to}>\r\nSubject: Re: Assigned\r\n\
         Message-ID: <staff-1@council.example>\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// A case assigned to Alice in team `ig`, stored.
fn assigned_case() -> (Case, Store) {
    let mut case = testkit::case(1, Kind::Foi, "Parking fines", "2026-03-02T09:30:00Z");
    case.assignee = Some(ALICE.into());
    case.team = Some("ig".into());
    let store = store_with(&case);
    (case, store)
}

#[test]
fn a_refused_command_goes_back_to_triage_and_the_assignee_is_told_once_a_day() {
    let wf = workflow();
    let (case, store) = assigned_case();
    let now = at("2026-03-03T10:00:00Z");
    // Bob, a colleague, uses his own good address; the gateway does not vouch for the mail.
    let to = wf
        .command_address(&case.reference, testkit::BOB)
        .expect("reply address");
    let raw = staff_mail(testkit::BOB, &to, "#close provided");
    // (context, when, why in the notice, notices): no gateway configured; a gateway that did not
    // stamp it; the same an hour later (held: one notice a day); the next day (told again).
    let table = [
        (ctx(), now, "no trusted mail gateway is configured", 1),
        (
            testkit::trusted_ctx(),
            now + chrono::TimeDelta::hours(1),
            "could not confirm",
            0,
        ),
        (
            testkit::trusted_ctx(),
            now + chrono::TimeDelta::hours(25),
            "could not confirm",
            1,
        ),
    ];
    for (c, when, why, notices) in table {
        let outcome = crate::core::triage::triage(
            c,
            &raw,
            None,
            &NoThreads,
            &crate::core::extract::InProcess,
        );
        let got = wf
            .staff_command(&store, c, &outcome, when)
            .expect("store reads");
        let Some(StaffMail::Refused(change)) = got else {
            panic!("{why}: refused, got {got:?}");
        };
        assert!(change.case_updates.is_empty(), "{why}: nothing changed");
        assert!(change.seen.is_empty(), "{why}: left for triage to record");
        assert_eq!(change.audit[0].event.action, "command_refused");
        assert!(change.audit[0].event.why.contains(why), "{why}");
        assert!(acks(&change).is_empty());
        let sent = mails(&change);
        assert_eq!(sent.len(), notices, "{why}");
        assert!(
            sent.iter().all(|m| m.to == [ALICE]),
            "only the assignee: {sent:?}"
        );
        if let Some(m) = sent.first() {
            assert_eq!(
                m.subject,
                format!("[{}] A command by email was refused", case.reference)
            );
            assert!(m.text.contains(why), "{}", m.text);
            assert!(
                m.text.contains(testkit::BOB),
                "a colleague is named: {}",
                m.text
            );
            assert_eq!(change.marks[0].key, command::notice_key(&case.reference));
            let next = testkit::audit_actions(&change);
            assert_eq!(next, ["command_refused", "refusal_notice_queued"]);
        } else {
            assert!(change.marks.is_empty());
            assert_eq!(
                testkit::audit_actions(&change),
                ["command_refused", "refusal_notice_suppressed"]
            );
        }
        store.apply(change).expect("applied");
    }
}

#[test]
fn a_staff_command_is_run_answered_and_recorded_as_seen() {
    let wf = workflow();
    let (case, store) = assigned_case();
    let now = at("2026-03-03T10:00:00Z");
    let to = wf
        .command_address(&case.reference, ALICE)
        .expect("reply address");
    // (from, to, body, what it is, state after, letters to the requester, mails)
    let table = [
        (
            ALICE,
            to.as_str(),
            "#clarify Which years?",
            Some(true),
            CaseState::AwaitingClarification,
            1,
            1,
        ),
        (
            "mallory@example.org",
            to.as_str(),
            "#close provided",
            Some(false),
            CaseState::Open,
            0,
            1,
        ),
        (
            ALICE,
            testkit::SHARED,
            "#close provided",
            None,
            CaseState::Open,
            0,
            0,
        ),
    ];
    for (from, to, body, command, state, asked, sent) in table {
        // Delivered through the trusted gateway, which vouches for the sender's domain.
        let domain = from.rsplit('@').next().unwrap_or_default();
        let raw = testkit::vouched(&staff_mail(from, to, body), domain);
        let outcome = crate::core::triage::triage(
            testkit::trusted_ctx(),
            &raw,
            None,
            &NoThreads,
            &crate::core::extract::InProcess,
        );
        let got = wf
            .staff_command(&store, testkit::trusted_ctx(), &outcome, now)
            .expect("store reads");
        let change = match (got, command) {
            (None, None) => continue,
            (Some(StaffMail::Command(c)), Some(true)) => {
                assert_eq!(c.reference, case.reference);
                assert_eq!(c.kind, Kind::Foi);
                assert_eq!(c.change.seen.len(), 1);
                assert_eq!(
                    c.change.seen[0].why,
                    format!("staff command for {}", case.reference)
                );
                c.change
            }
            (Some(StaffMail::Refused(change)), Some(false)) => change,
            (got, _) => panic!("{from} {to}: {got:?}"),
        };
        let after = change
            .case_updates
            .first()
            .map_or(CaseState::Open, |u| u.case.state);
        assert_eq!(after, state, "{from}");
        assert_eq!(acks(&change).len(), asked, "{from}");
        let mails = mails(&change);
        assert_eq!(mails.len(), sent, "{from}");
        if let (Some(a), Some(true)) = (mails.first(), command) {
            assert_eq!(a.to, [from]);
            assert_eq!(a.subject, format!("[{}] Your command", case.reference));
            assert!(
                a.text.starts_with("line 1: done: #clarify Which years?"),
                "{}",
                a.text
            );
            assert_eq!(a.in_reply_to.as_deref(), Some("staff-1@council.example"));
            // The answer's reply address is Alice's own.
            assert_eq!(a.reply_to, wf.command_address(&case.reference, ALICE));
        }
        if let (Some(n), Some(false)) = (mails.first(), command) {
            // A stranger gets nothing; the assignee is told, without the stranger's address.
            assert_eq!(n.to, [ALICE]);
            assert!(!n.text.contains("mallory"), "{}", n.text);
        }
        assert_eq!(change.cursor, None, "the caller adds the cursor");
    }
}

/// Keeps a machine-mail record in `store` as intake does; returns its id.
fn keep_machine_mail(store: &Store, seq: u64) -> MachineMailId {
    let draft = crate::model::machine::MachineMailDraft {
        id: (),
        filed_at: at("2026-03-02T12:00:00Z"),
        received_at: at("2026-03-02T12:00:00Z"),
        from: "jo@example.org".into(),
        subject: format!("Automatic reply {seq}"),
        kind: Kind::Auto,
        why: "auto won".into(),
        rules: Vec::new(),
        suggested: Kind::Foi,
        content_hash: format!("{seq:064}"),
        message_id: None,
        size: 3,
        partial: false,
        opened: None,
    };
    let change = Change {
        machine_mail: Some(crate::model::change::NewMachineMail {
            year: 2026,
            draft,
            raw: b"raw".to_vec(),
        }),
        ..Change::default()
    };
    store.apply(change).expect("kept").machine_mail.expect("id")
}

#[test]
fn the_tick_lists_machine_mail_once_with_its_mark_and_deletes_it_after_its_retention() {
    let wf = workflow();
    let store = Store::open_temporary().expect("temporary store");
    let id = keep_machine_mail(&store, 1);
    // Every digest went this morning, so the list goes on its own to ig's manager.
    let now = at("2026-03-03T10:00:00Z");
    for team in ["ig", "press", "roads"] {
        let mark = crate::model::change::Mark {
            key: format!("{DIGEST_MARKS}{team}"),
            value: serde_json::json!(at("2026-03-03T08:00:00Z")),
        };
        store
            .apply(Change {
                marks: vec![mark],
                ..Change::default()
            })
            .expect("mark");
    }
    let (changes, _) = wf.tick(&store, ctx(), now).expect("tick");
    let [list] = changes.as_slice() else {
        panic!("one unit: {changes:?}");
    };
    let [mail] = mails(list).try_into().expect("one list");
    assert_eq!(mail.to, [testkit::BOSS]);
    assert!(mail.text.contains(&id.to_string()), "{}", mail.text);
    assert!(mail.text.contains("Automatic reply 1"), "{}", mail.text);
    assert_eq!(list.marks[0].key, LISTED_MARK);
    store.apply(list.clone()).expect("applied");
    // Listed once: the next tick, and the next day, have nothing to list.
    let (changes, _) = wf.tick(&store, ctx(), now).expect("tick");
    assert!(changes.is_empty(), "{changes:?}");
    let next_day = at("2026-03-04T10:00:00Z");
    let (changes, _) = wf.tick(&store, ctx(), next_day).expect("tick");
    assert!(
        changes
            .iter()
            .all(|c| !c.marks.iter().any(|m| m.key == LISTED_MARK))
    );
    // Deleted 30 days after it was filed, not before.
    let day = |d: &str| at(&format!("{d}T12:00:00Z"));
    assert_eq!(
        machine_mail_purge(&store, &wf.machine_mail, day("2026-04-01")).expect("read"),
        None
    );
    let purge = machine_mail_purge(&store, &wf.machine_mail, day("2026-04-02"))
        .expect("read")
        .expect("due");
    assert_eq!(purge.machine_mail_purged, [id]);
    store.apply(purge).expect("purged");
    assert_eq!(store.machine_mail(&id).expect("read"), None);
}
