//! Correction samples with a temporary store and a temporary corrections directory: written once
//! the store has the re-classification (by email and from the command line), removed when the
//! officer goes back to the rules' kind, and put right at start after a crash or a lost write.

use super::*;
use crate::app::control::{self, Request};
use crate::app::env::Env;
use crate::app::ingest::{Disposition, Ingest, SharedContext};
use crate::app::workflow::tests::{store_with, workflow};
use crate::config::Config;
use crate::core::plan::ingest::Mode;
use crate::core::plan::testkit::{self, ALICE, at};
use crate::io::clock::ManualClock;
use crate::io::ids::SequentialIds;
use crate::io::mail::imap::Fetched;
use crate::model::kind::Kind;
use std::sync::{Arc, RwLock};

/// The request as received: what a sample keeps.
const REQUEST: &[u8] = b"From: Pat Requester <pat@example.org>\r\nSubject: Trees on Mill Lane\r\n\
    Message-ID: <req-1@example.org>\r\n\r\nPlease send the tree survey for Mill Lane.\r\n";

/// An FOI case assigned to Alice, stored with its first message (as intake keeps it with the
/// case workflow on).
fn stored_case() -> (Case, Store) {
    let mut case = testkit::case(1, Kind::Foi, "Trees on Mill Lane", "2026-03-02T09:30:00Z");
    case.assignee = Some(ALICE.into());
    case.team = Some("ig".into());
    case.rules = vec!["foi.please-provide".into()];
    let store = store_with(&case);
    store
        .put_raw(&case.content_hashes[0], REQUEST)
        .expect("raw kept");
    (case, store)
}

/// `foi-triage case WORDS… --by alice` on the store directly, keeping samples in `dir`.
fn act(store: &Store, dir: &Path, reference: &CaseRef, words: &[&str]) -> String {
    let req = Request::Act {
        reference: reference.clone(),
        words: words.iter().map(|w| w.to_string()).collect(),
        by: ALICE.into(),
        why: String::new(),
    };
    let now = at("2026-03-05T10:00:00Z");
    let means = control::Means {
        corrections: Some(dir),
        ..control::Means::default()
    };
    control::handle(store, testkit::ctx(), means, &req, now, None).expect("acts")
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_reclassification_from_the_command_line_keeps_its_sample_until_it_is_undone() {
    let (case, store) = stored_case();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = files::dir(tmp.path());
    let r = &case.reference;
    let out = act(&store, &dir, r, &["reclassify", "eir"]);
    assert!(
        out.contains("correction kept as a private rules test sample"),
        "{out}"
    );
    assert_eq!(
        names_in(&dir),
        ["FOI-2026-000001.eml", "FOI-2026-000001.toml"]
    );
    let loaded = files::load(&dir).expect("loads");
    let [(_, Ok(kept))] = loaded.as_slice() else {
        panic!("one sample: {loaded:?}");
    };
    assert_eq!(kept.message, REQUEST);
    assert_eq!(
        (
            kept.sample.kind,
            kept.sample.rules_said,
            kept.sample.by.as_str()
        ),
        (Kind::Eir, Kind::Foi, ALICE)
    );
    assert_eq!(kept.sample.rules, ["foi.please-provide"]);
    // Another action says nothing about samples and leaves it as it is.
    let out = act(&store, &dir, r, &["note", "phoned", "the", "requester"]);
    assert_eq!(out.lines().count(), 1, "{out}");
    // The latest word replaces it; back to the rules' kind removes it.
    // (The same officer at the same instant: only the kind moves.)
    let out = act(&store, &dir, r, &["reclassify", "sar"]);
    assert!(out.contains("correction kept"), "{out}");
    let loaded = files::load(&dir).expect("loads");
    assert_eq!(
        loaded[0].1.as_ref().map(|k| k.sample.kind).ok(),
        Some(Kind::Sar)
    );
    let out = act(&store, &dir, r, &["reclassify", "foi"]);
    assert!(out.contains("its correction sample is removed"), "{out}");
    assert!(names_in(&dir).is_empty(), "{:?}", names_in(&dir));
}

#[test]
fn a_correction_whose_message_was_not_kept_says_it_cannot_be_replayed() {
    let case = testkit::case(1, Kind::Foi, "Trees on Mill Lane", "2026-03-02T09:30:00Z");
    let store = store_with(&case);
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = files::dir(tmp.path());
    let out = act(&store, &dir, &case.reference, &["reclassify", "eir"]);
    assert!(out.contains("cannot replay it"), "{out}");
    assert!(names_in(&dir).is_empty());
    let stored = store
        .get_case(&case.reference)
        .expect("read")
        .expect("case");
    assert!(
        stored.workflow.correction.is_some(),
        "still recorded in the store"
    );
}

/// Ingest for mail through the trusted gateway, with the case workflow and samples in `dir`.
fn ingest(store: &Store, dir: &Path) -> Ingest {
    let rules = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let rules = crate::core::rules::RuleSet::load(&rules).expect("default rules load");
    let mut trusted = crate::core::triage::Context::standalone(rules);
    trusted.trusted_authserv_ids = vec![testkit::GATEWAY.to_string()];
    let ctx: SharedContext = Arc::new(RwLock::new(Arc::new(trusted)));
    let env = Env::new(
        Arc::new(ManualClock::new(at("2026-03-05T10:00:00Z"))),
        Arc::new(SequentialIds::new()),
        Arc::new(crate::core::extract::InProcess),
    );
    Ingest::new(
        &Config::defaults(),
        Mode::Live,
        store.clone(),
        ctx,
        Arc::new(tokio::sync::Notify::new()),
        &env,
    )
    .with_workflow(Some(Arc::new(workflow())))
    .keeping_corrections(dir.to_path_buf())
}

/// Alice's reply to her signed address for the case, vouched for by the gateway.
fn command(to: &str, n: u32, body: &str) -> Fetched {
    let raw = format!(
        "From: <{ALICE}>\r\nTo: <{to}>\r\nSubject: Re: Assigned\r\n\
         Message-ID: <staff-{n}@council.example>\r\n\r\n{body}\r\n"
    );
    let raw = testkit::vouched(raw.as_bytes(), "council.example");
    Fetched {
        uid: n,
        internal_date: at("2026-03-05T10:00:00Z"),
        size: raw.len() as u64,
        partial: false,
        raw,
    }
}

#[tokio::test]
async fn a_reclassification_by_email_keeps_its_sample_once_committed() {
    let (case, store) = stored_case();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = files::dir(tmp.path());
    let ingest = ingest(&store, &dir);
    let to = workflow()
        .command_address(&case.reference, ALICE)
        .expect("reply address");
    let now = at("2026-03-05T10:00:00Z");
    let (done, _) = ingest
        .record("INBOX", 7, &command(&to, 1, "#reclassify eir"), now)
        .await
        .expect("recorded");
    assert!(
        matches!(&done, Disposition::Recorded { case: Some(r), .. } if *r == case.reference),
        "{done:?}"
    );
    let stored = store
        .get_case(&case.reference)
        .expect("read")
        .expect("case");
    assert_eq!(stored.kind, Kind::Eir, "the command ran");
    assert_eq!(
        names_in(&dir),
        ["FOI-2026-000001.eml", "FOI-2026-000001.toml"]
    );
    let loaded = files::load(&dir).expect("loads");
    let [(_, Ok(kept))] = loaded.as_slice() else {
        panic!("one sample: {loaded:?}");
    };
    assert_eq!(kept.message, REQUEST);
    assert_eq!(
        (kept.sample.kind, kept.sample.by.as_str()),
        (Kind::Eir, ALICE)
    );
    // Undone by email: the sample goes.
    ingest
        .record("INBOX", 7, &command(&to, 2, "#reclassify foi"), now)
        .await
        .expect("recorded");
    assert!(names_in(&dir).is_empty(), "{:?}", names_in(&dir));
}

#[test]
fn reconcile_writes_what_a_crash_lost_and_removes_what_no_case_stands_behind() {
    let (case, store) = stored_case();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = files::dir(tmp.path());
    // The store has the correction, the directory never heard of it (a crash after the commit).
    let mut corrected = case.clone();
    corrected.kind = Kind::Eir;
    corrected.workflow.correction = Some(crate::model::case::Correction {
        rules_said: Kind::Foi,
        by: ALICE.into(),
        at: at("2026-03-05T10:00:00Z"),
    });
    store
        .apply(crate::model::change::Change {
            case_updates: vec![crate::model::change::CaseUpdate {
                case: corrected.clone(),
                expected: Some(case.clone()),
            }],
            ..Default::default()
        })
        .expect("applied");
    // Left behind: a sample of a case that has none (undone while its write failed), a message
    // whose sample file was never written, half a write.
    let other = testkit::case(9, Kind::Foi, "x", "2026-03-02T09:30:00Z");
    let mut stale = corrections::sample(&corrected).expect("sample");
    stale.reference = other.reference.clone();
    files::keep(&dir, &stale, b"old").expect("kept");
    std::fs::write(dir.join("FOI-2026-000002.eml"), "half").expect("write");
    std::fs::write(dir.join(".FOI-2026-000001.eml.9-9.tmp"), "half").expect("write");
    let done = reconcile(&store, &dir).expect("reconciled");
    assert_eq!(
        done,
        Reconciled {
            written: 1,
            current: 0,
            no_message: 0,
            removed: 2,
            temporaries: 1,
        }
    );
    assert_eq!(
        names_in(&dir),
        ["FOI-2026-000001.eml", "FOI-2026-000001.toml"]
    );
    assert!(files::is_current(
        &dir,
        &corrections::sample(&corrected).expect("sample")
    ));
    // A second start finds nothing to do.
    let again = reconcile(&store, &dir).expect("reconciled");
    assert_eq!(
        again,
        Reconciled {
            current: 1,
            ..Reconciled::default()
        }
    );
}
