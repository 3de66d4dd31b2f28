//! The hostile mail samples in `tests/data/hostile/`, each run through the pure planner it
//! targets and checked against `expected.toml` (what must and must not be audited).
//!
//! Samples whose planner is `attachment` (hostile documents) are not run here: reading them in
//! this process is exactly what they attack (the self-drawing PDF would abort this test
//! program), so `tests/sandbox.rs` runs them through the pipeline with the real decoder child.

use crate::core::actions::{self, ReplyKeys};
use crate::core::deadline::ClockEvent;
use crate::core::followup::Threads;
use crate::core::plan::command::{self, CommandFacts};
use crate::core::plan::ingest::{self, Facts, IngestSettings, Mode, Position};
use crate::core::plan::responded;
use crate::core::plan::testkit::{ALICE, Desk, SHARED, at, case, counting, trusted_ctx};
use crate::core::triage::Outcome;
use crate::model::case::{Case, CaseState, CloseOutcome, Closure};
use crate::model::change::Change;
use crate::model::kind::Kind;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One sample's expectation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    outcome: String,
    planner: String,
    /// Required by every planner run here.
    state: Option<CaseState>,
    #[serde(default)]
    audit: Vec<String>,
    #[serde(default)]
    never: Vec<String>,
    /// For `attachment` samples: the warning the message must carry (`tests/sandbox.rs`).
    warning: Option<String>,
    /// For "command": the refusal's code.
    #[serde(default)]
    refusal: Option<String>,
}

/// The planner of samples checked with the real decoder child, not here.
const ATTACHMENT: &str = "attachment";

/// When every sample is processed.
const NOW: &str = "2026-03-10T11:05:00Z";

/// A key that signed addresses once and has since been removed from the key file.
const REMOVED_KEY: &str = "an old key, since removed from the file";

struct OneCase;

impl Threads for OneCase {
    fn case_for_message_id(&self, _: &str) -> Option<String> {
        None
    }
    fn case_exists(&self, r: &str) -> bool {
        r == "FOI-2026-000007"
    }
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/hostile")
}

/// The stored case every sample aims at, assigned to Alice, in `state` (closed on 5 January).
fn stored(state: CaseState) -> Case {
    let mut c = case(7, Kind::Foi, "Parking fines", "2026-03-02T09:30:00Z");
    c.assignee = Some(ALICE.into());
    c.team = Some("ig".into());
    c.state = state;
    if state == CaseState::Closed {
        c.workflow.closure = Some(Closure {
            outcome: CloseOutcome::ProvidedInFull,
            exemptions: Vec::new(),
            at: at("2026-01-05T10:00:00Z"),
        });
    }
    if state == CaseState::AwaitingClarification {
        c.clock_events = vec![ClockEvent::ClarificationRequested(at(
            "2026-03-03T10:00:00Z",
        ))];
        c.due = None;
    }
    c
}

fn settings() -> IngestSettings {
    let config = crate::config::Config::defaults();
    IngestSettings {
        mode: Mode::Live,
        acks: crate::config::AckPolicy::default(),
        own_addresses: vec![SHARED.into()],
        prefixes: config.prefixes().into_iter().map(|(p, k)| (k, p)).collect(),
        id_domain: "council.example".into(),
    }
}

fn actions(change: &Change) -> Vec<String> {
    change
        .audit
        .iter()
        .map(|a| a.event.action.clone())
        .collect()
}

/// The ingest plan of a triaged sample that continues `case`: the change. The clock must not
/// have moved.
fn ingest_plan(name: &str, o: &Outcome, case: &Case, want: &Expect) -> Change {
    let now = at(NOW);
    let facts = Facts {
        followup_case: Some(case.clone()),
        recent_mail_to_sender: 0,
        letter_id: "letter-1@council.example".into(),
        acks_last_hour: 0,
        same_delivery: None,
    };
    let position = Position {
        mailbox: "INBOX".into(),
        uidvalidity: 1,
        uid: 1,
    };
    let p = ingest::plan(trusted_ctx(), &settings(), o, &facts, &position, now).expect("plan");
    let u = &p.change.case_updates[0].case;
    assert_eq!(Some(u.state), want.state, "{name}: the clock stays stopped");
    assert_eq!(u.clock_events, case.clock_events, "{name}");
    p.change
}

/// Runs one sample through its planner: the change it plans.
fn run(name: &str, raw: &[u8], want: &Expect, desk: &Desk) -> Change {
    let now = at(NOW);
    let ctx = trusted_ctx();
    let state = want
        .state
        .unwrap_or_else(|| panic!("{name}: no state in expected.toml"));
    let case = stored(state);
    let o = crate::core::triage::triage(
        ctx,
        raw,
        Some(now),
        &OneCase,
        &crate::core::extract::InProcess,
    );
    match want.planner.as_str() {
        "ingest" => ingest_plan(name, &o, &case, want),
        "responded" => {
            let id = o.message.message_id.as_deref();
            let change =
                responded::plan_responded_by_mail(ctx, &case, &o.auth, id, now).expect("an audit");
            assert!(change.case_updates.is_empty(), "{name}: case untouched");
            change
        }
        "command" => {
            let tag = command::command_target(&o.message).expect("signed");
            assert_eq!(tag.reference, case.reference, "{name}");
            let sender = o.message.from.as_ref().map(|a| a.email.clone());
            let facts = CommandFacts {
                case: &case,
                tag: &tag,
                msg: &o.message,
                sender: sender.as_deref().unwrap_or_default(),
                auth: &o.auth,
                last_notice: None,
            };
            let plan = command::plan_command(&desk.office(), ctx, &facts, now, &mut counting());
            let refused = plan.refused.as_ref().map(command::Refusal::code);
            assert_eq!(refused, want.refusal.as_deref(), "{name}");
            assert!(
                plan.change.case_updates.is_empty(),
                "{name}: nothing changed"
            );
            // No answer to the sender: the one letter is the notice to the assignee.
            let to: Vec<&[String]> = plan.letters.iter().map(|l| l.to.as_slice()).collect();
            assert_eq!(to, [[ALICE.to_string()]], "{name}");
            // Refused, the message falls through to triage, applied in the same change.
            let mut change = plan.change;
            change.absorb(ingest_plan(name, &o, &case, want));
            change
        }
        other => panic!("{name}: unknown planner {other}"),
    }
}

#[test]
fn every_hostile_sample_has_its_expected_outcome() {
    let text = std::fs::read_to_string(dir().join("expected.toml")).expect("expected.toml");
    let table: BTreeMap<String, Expect> = ::toml::from_str(&text).expect("expected.toml parses");
    let desk = Desk::new();
    let reference = stored(CaseState::Open).reference;
    let signed = desk
        .office()
        .command_address(&reference, ALICE)
        .expect("a signed address");
    let removed = ReplyKeys::new(&[REMOVED_KEY]).expect("a key");
    let revoked =
        actions::reply_address(SHARED, &reference, ALICE, &removed).expect("a signed address");
    let mut samples: Vec<String> = std::fs::read_dir(dir())
        .expect("hostile dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".eml"))
        .collect();
    samples.sort();
    assert!(samples.len() >= 7, "{samples:?}");
    for name in samples {
        let want = table
            .get(&name)
            .unwrap_or_else(|| panic!("{name} has no entry in expected.toml"));
        assert!(!want.outcome.is_empty(), "{name}: say what should happen");
        let attachment = want.planner == ATTACHMENT;
        assert_eq!(
            attachment,
            want.warning.is_some(),
            "{name}: `warning` is for attachment samples, and they need one"
        );
        if attachment {
            continue;
        }
        let raw = std::fs::read_to_string(dir().join(&name))
            .expect("sample")
            .replace("{SIGNED_ADDRESS}", &signed)
            .replace("{REMOVED_KEY_ADDRESS}", &revoked);
        let change = run(&name, raw.as_bytes(), want, &desk);
        let got = actions(&change);
        for a in &want.audit {
            assert!(got.contains(a), "{name}: {a} not audited in {got:?}");
        }
        for a in &want.never {
            assert!(!got.contains(a), "{name}: {a} audited in {got:?}");
        }
    }
}
