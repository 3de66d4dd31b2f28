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

fn workflow() -> Workflow {
    let Desk {
        routing,
        secret,
        settings,
    } = Desk::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    Workflow {
        routing,
        secret,
        templates: Letters::load(&dir).expect("the shipped templates load"),
        settings,
        organisation: "Exampletown Council".into(),
        shared_address: testkit::SHARED.into(),
        id_domain: "council.example".into(),
        ids: std::sync::Arc::new(crate::io::ids::SequentialIds::new()),
    }
}

/// A temporary store holding `case` (its reference allocated as the first of its prefix).
fn store_with(case: &Case) -> Store {
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

#[test]
fn a_staff_command_the_gateway_does_not_vouch_for_is_refused_and_the_sender_told() {
    let wf = workflow();
    let case = testkit::case(1, Kind::Foi, "Parking fines", "2026-03-02T09:30:00Z");
    let store = store_with(&case);
    let now = at("2026-03-03T10:00:00Z");
    let to = wf.command_address(&case.reference).expect("reply address");
    let raw = staff_mail(ALICE, &to, "#close provided");
    // (context, why in the reply): no gateway configured; a gateway that did not stamp it.
    let table = [
        (ctx(), "no trusted mail gateway is configured"),
        (testkit::trusted_ctx(), "could not confirm"),
    ];
    for (c, why) in table {
        let outcome = crate::core::triage::triage(
            c,
            &raw,
            None,
            &NoThreads,
            &crate::core::extract::InProcess,
        );
        let command = wf
            .staff_command(&store, c, &outcome, now)
            .expect("store reads")
            .expect("recorded as a refused command");
        let change = &command.change;
        assert!(change.case_updates.is_empty(), "{why}: nothing changed");
        assert_eq!(change.audit[0].event.action, "command_refused");
        let answers = mails(change);
        assert_eq!(answers.len(), 1, "{why}");
        assert_eq!(answers[0].to, [ALICE]);
        assert!(answers[0].text.contains("NOT done"), "{}", answers[0].text);
        assert!(answers[0].text.contains(why), "{}", answers[0].text);
        assert!(acks(change).is_empty());
    }
}

#[test]
fn a_staff_command_is_run_answered_and_recorded_as_seen() {
    let wf = workflow();
    let case = testkit::case(1, Kind::Foi, "Parking fines", "2026-03-02T09:30:00Z");
    let store = store_with(&case);
    let now = at("2026-03-03T10:00:00Z");
    let to = wf.command_address(&case.reference).expect("reply address");
    // (from, to, body, recorded, state after, letters to the requester, replies)
    let table = [
        (
            ALICE,
            to.as_str(),
            "#clarify Which years?",
            true,
            CaseState::AwaitingClarification,
            1,
            1,
        ),
        (
            "mallory@example.org",
            to.as_str(),
            "#close provided",
            true,
            CaseState::Open,
            0,
            0,
        ),
        (
            ALICE,
            testkit::SHARED,
            "#close provided",
            false,
            CaseState::Open,
            0,
            0,
        ),
    ];
    for (from, to, body, recorded, state, asked, replies) in table {
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
        assert_eq!(got.is_some(), recorded, "{from} {to}");
        let Some(command) = got else { continue };
        assert_eq!(command.reference, case.reference);
        assert_eq!(command.kind, Kind::Foi);
        let change = &command.change;
        let after = change
            .case_updates
            .first()
            .map_or(CaseState::Open, |u| u.case.state);
        assert_eq!(after, state, "{from}");
        assert_eq!(acks(change).len(), asked, "{from}");
        let answers = mails(change);
        assert_eq!(answers.len(), replies, "{from}");
        if let Some(a) = answers.first() {
            assert_eq!(a.to, [from]);
            assert_eq!(a.subject, format!("[{}] Your command", case.reference));
            assert!(
                a.text.starts_with("line 1: done: #clarify Which years?"),
                "{}",
                a.text
            );
            assert_eq!(a.in_reply_to.as_deref(), Some("staff-1@council.example"));
        }
        assert_eq!(change.seen.len(), 1);
        assert_eq!(
            change.seen[0].why,
            format!("staff command for {}", case.reference)
        );
        assert_eq!(change.cursor, None, "the caller adds the cursor");
    }
}
