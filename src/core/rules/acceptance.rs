//! Acceptance tests of the default rule set (`rules/`): the sample messages in
//! `tests/data/samples/` (with `expected.toml`) and the real machine mail in the shared corpus.
//!
//! Messages go through the real parser ([`crate::core::parse::parse`]), as in the daemon.

use super::*;
use crate::model::message::{Address, MachineHeaders};
use std::path::PathBuf;

fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn default_rules() -> RuleSet {
    match RuleSet::load(&repo_path("rules")) {
        Ok(s) => s,
        Err(e) => panic!("the default rules do not load:\n{e}"),
    }
}

/// Raw bytes → `Message` through the real parser, as the daemon does.
pub(crate) fn to_message(raw: &[u8]) -> Message {
    crate::core::parse::parse(raw, &crate::core::extract::InProcess)
}

fn samples_dir() -> PathBuf {
    repo_path("tests/data/samples")
}

/// Every sample in `tests/data/samples/expected.toml` gets its expected kind and language, and
/// every rule the file names fires.
#[test]
fn default_rules_classify_every_sample() {
    let rules = default_rules();
    let dir = samples_dir();
    let expectations = match load_expectations(&dir) {
        Ok(e) => e,
        Err(e) => panic!("{e}"),
    };
    assert!(!expectations.is_empty(), "no samples in {}", dir.display());
    let mut failures = Vec::new();
    for (name, exp) in &expectations {
        let raw = std::fs::read(dir.join(name)).unwrap_or_default();
        let m = to_message(&raw);
        let d = rules.classify(&m);
        for p in exp.check_decision(&d) {
            failures.push(format!("{name}: {p}"));
        }
        let language = crate::core::language::detect_message(&m);
        if let Some(p) = exp.check_language(language.language, &language.why) {
            failures.push(format!("{name}: {p}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} samples wrong:\n{}",
        failures.len(),
        expectations.len(),
        failures.join("\n")
    );
}

/// Every sample file in the folder has an expectation (an unlisted sample tests nothing).
#[test]
fn every_sample_is_listed() {
    let dir = samples_dir();
    let expectations = load_expectations(&dir).unwrap_or_default();
    let unlisted: Vec<String> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".eml") && !expectations.contains_key(n))
                .collect()
        })
        .unwrap_or_default();
    assert!(unlisted.is_empty(), "not in expected.toml: {unlisted:?}");
}

/// The corpus folder: `FOI_CORPUS_DIR`, else `shared/corpus` next to the checkout (`../shared`
/// from the main checkout, `../../shared` from a worktree under `wt/`).
fn corpus_dir() -> Option<PathBuf> {
    let candidates = match std::env::var_os("FOI_CORPUS_DIR") {
        Some(d) => vec![PathBuf::from(d)],
        None => vec![
            repo_path("../shared/corpus"),
            repo_path("../../shared/corpus"),
        ],
    };
    candidates
        .into_iter()
        .find(|d| d.join("MANIFEST.tsv").is_file())
}

/// Files of the corpus manifest under `folder/`, as (name, bytes).
fn corpus_files(dir: &Path, folder: &str) -> Vec<(String, Vec<u8>)> {
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap_or_default();
    manifest
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .filter(|f| f.starts_with(&format!("{folder}/")))
        .map(|f| {
            let bytes = std::fs::read(dir.join(f))
                .unwrap_or_else(|e| panic!("manifest lists {f} but it cannot be read: {e}"));
            (f.to_string(), bytes)
        })
        .collect()
}

/// Corpus messages that are not machine mail: human mail, and degenerate inputs (0–3 bytes) that
/// carry no signal either way.
const SISIMAI_NOT_AUTO: &[&str] = &[
    "sisimai/sisimai__maildir_not_is-not-bounce-01.eml",
    "sisimai/sisimai__maildir_not_is-not-bounce-02.eml",
    "sisimai/sisimai__mailbox_size-0.eml",
    "sisimai/sisimai__mailbox_size-1.eml",
    "sisimai/sisimai__mailbox_size-2.eml",
];

/// Every bounce, auto-reply and feedback report in the sisimai corpus is `auto`; its two human
/// messages are not. (`maildir_not_rb-issue-368-bug` sits in sisimai's "not" folder but is a real
/// postmaster bounce with `Auto-Submitted`; the ARF files are machine abuse reports, also auto.)
#[test]
fn corpus_bounces_are_auto() {
    let Some(dir) = corpus_dir() else {
        eprintln!("SKIPPED corpus_bounces_are_auto: no corpus (set FOI_CORPUS_DIR)");
        return;
    };
    let rules = default_rules();
    let files = corpus_files(&dir, "sisimai");
    assert!(files.len() > 200, "only {} sisimai files", files.len());
    let mut wrong = Vec::new();
    for (name, raw) in &files {
        let m = to_message(raw);
        let d = rules.classify(&m);
        let want_auto = !SISIMAI_NOT_AUTO.contains(&name.as_str());
        if (d.kind == Kind::Auto) != want_auto {
            wrong.push(format!(
                "{name}: {} (subject {:?}, from {:?}): {}",
                d.kind,
                m.subject,
                m.from.as_ref().map(|a| a.email.as_str()),
                d.why
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// Alaveteli's out-of-office and bounce fixtures are `auto`; its real incoming FOI replies are not.
#[test]
fn corpus_alaveteli_auto_replies() {
    let Some(dir) = corpus_dir() else {
        eprintln!("SKIPPED corpus_alaveteli_auto_replies: no corpus (set FOI_CORPUS_DIR)");
        return;
    };
    let rules = default_rules();
    let machine = |n: &str| {
        n.contains("track-response")
            || n.contains("autoresponse-header")
            || n.contains("empty-return-path")
    };
    let mut wrong = Vec::new();
    for (name, raw) in corpus_files(&dir, "alaveteli") {
        let m = to_message(&raw);
        let d = rules.classify(&m);
        if machine(&name) && d.kind != Kind::Auto {
            wrong.push(format!("{name}: expected auto: {}", d.why));
        }
        if name.contains("incoming-request-plain") && d.kind == Kind::Auto {
            wrong.push(format!(
                "{name}: a human FOI reply taken for auto: {}",
                d.why
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Print what every sample looks like once converted, and its decision (for rule writing).
#[test]
#[ignore = "diagnostic: cargo test --lib rules::acceptance::dump_samples -- --ignored --nocapture"]
fn dump_samples() {
    let rules = default_rules();
    let dir = samples_dir();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".eml"))
        .collect();
    names.sort();
    for n in names {
        let m = to_message(&std::fs::read(dir.join(&n)).unwrap());
        let d = rules.classify(&m);
        println!(
            "=== {n}\nfrom: {:?}\nsubject: {}\n{}\nattachments: {:?}\n--> {}: {}",
            m.from,
            m.subject,
            m.body_text.chars().take(1500).collect::<String>(),
            m.attachments
                .iter()
                .map(|a| (
                    a.name.clone(),
                    a.mime_type.clone(),
                    a.text
                        .as_ref()
                        .map(|t| t.chars().take(600).collect::<String>())
                ))
                .collect::<Vec<_>>(),
            d.kind,
            d.why
        );
    }
}

/// Print every corpus message's decision (to review what the default rules call machine mail).
#[test]
#[ignore = "diagnostic: cargo test --lib rules::acceptance::dump_corpus -- --ignored --nocapture"]
fn dump_corpus() {
    let Some(dir) = corpus_dir() else {
        return;
    };
    let rules = default_rules();
    for folder in ["alaveteli", "mail-parser", "cpython", "sisimai"] {
        for (name, raw) in corpus_files(&dir, folder) {
            let m = to_message(&raw);
            let d = rules.classify(&m);
            println!(
                "{name}\t{}\t{:?}\t{}",
                d.kind,
                m.subject.chars().take(60).collect::<String>(),
                d.why
            );
        }
    }
}

/// The shipped rules load cleanly: no warnings, every kind has rules, thresholds as documented.
#[test]
fn default_rules_load_without_warnings() {
    let rules = default_rules();
    let warnings: Vec<String> = rules.warnings().iter().map(|w| w.to_string()).collect();
    assert!(warnings.is_empty(), "{}", warnings.join("\n"));
    assert_eq!(
        rules.settings(),
        RuleSettings {
            auto_threshold: 100,
            min_score: 30
        }
    );
    for kind in Kind::ALL {
        assert!(
            rules.rules().iter().any(|r| r.kind == kind && r.enabled),
            "no rule for {kind}"
        );
    }
    // Every rule id starts with its kind's short name, so an explanation reads naturally.
    for r in rules.rules() {
        let prefix = match r.kind {
            Kind::MemberEnquiry => "member",
            k => k.as_str(),
        };
        assert!(
            r.id.starts_with(&format!("{prefix}.")),
            "{} is kind {}",
            r.id,
            r.kind
        );
    }
}

/// Hand-made edge cases beyond the samples: people who look a little like machines, machines with
/// one clear signal, and the kind boundaries domain.md names.
#[test]
fn default_rules_edge_cases() {
    let rules = default_rules();
    struct Case {
        name: &'static str,
        from: &'static str,
        reply_to: Option<&'static str>,
        subject: &'static str,
        body: &'static str,
        headers: &'static [(&'static str, &'static str)],
        report: bool,
        want: Kind,
    }
    let c = |name, from, subject, body, want| Case {
        name,
        from,
        reply_to: None,
        subject,
        body,
        headers: &[],
        report: false,
        want,
    };
    let cases = [
        // People who must get an answer.
        c(
            "human replies to an auto-reply",
            "jane.smith@example.org",
            "RE: Automatic reply: [FOI-2026-000123] We have received your request",
            "Sorry, that automatic reply was sent in error. Please go ahead with my request.",
            Kind::Foi,
        ),
        c(
            "human forwards a bounce",
            "jane.smith@example.org",
            "FW: Undeliverable: bus lane cameras",
            "I got this back: Your message could not be delivered to one or more recipients. \
             Delivery has failed to these recipients or groups. Is the address right?",
            Kind::General,
        ),
        c(
            "subject starts 'Out of office' but is about hours",
            "jane.smith@example.org",
            "Out of office hours noise from the Crown",
            "Please provide the number of noise complaints about the Crown since 2023.",
            Kind::Eir,
        ),
        c(
            "human says out of office in the body",
            "jane.smith@example.org",
            "Request",
            "I am currently out of the office but wanted to send this now. Under the Freedom \
             of Information Act please provide the council's spend on consultants in 2024/25.",
            Kind::Foi,
        ),
        Case {
            reply_to: Some("jane.smith@example.org"),
            ..c(
                "web form from no-reply with the person's Reply-To",
                "noreply@forms.example.gov.uk",
                "Contact us: information request",
                "Please provide the number of school exclusions in each year since 2020.",
                Kind::Foi,
            )
        },
        // Machines with one clear signal.
        Case {
            headers: &[("auto-submitted", "auto-replied")],
            ..c(
                "Auto-Submitted alone",
                "jane.smith@example.org",
                "Re: your request",
                "Under the Freedom of Information Act please provide the figures.",
                Kind::Auto,
            )
        },
        c(
            "Automatic reply subject alone",
            "jane.smith@example.org",
            "Automatic reply: Parking permits",
            "Thank you for your email.",
            Kind::Auto,
        ),
        c(
            "Welsh Outlook automatic reply",
            "sian@example.cymru",
            "Ateb awtomatig: Eich cais",
            "Diolch am eich neges.",
            Kind::Auto,
        ),
        Case {
            headers: &[("precedence", "bulk"), ("list-id", "<news.example.org>")],
            ..c(
                "bulk newsletter",
                "news@example.org",
                "Our March newsletter",
                "Freedom of Information news and subject access tips.",
                Kind::Auto,
            )
        },
        Case {
            headers: &[("x-autoreply", "yes")],
            ..c(
                "X-Autoreply",
                "a@example.org",
                "Thanks",
                "Received.",
                Kind::Auto,
            )
        },
        Case {
            report: true,
            ..c(
                "multipart/report",
                "a@example.org",
                "Message status",
                "",
                Kind::Auto,
            )
        },
        Case {
            headers: &[("return-path", "<>")],
            ..c(
                "null Return-Path and a bounce subject",
                "mail@relay.example.net",
                "Undeliverable: Your request",
                "",
                Kind::Auto,
            )
        },
        c(
            "no-reply sender",
            "no-reply@portal.example.com",
            "Your password was changed",
            "If this was not you, contact us.",
            Kind::Auto,
        ),
        // Kind boundaries.
        c(
            "FOI words, environmental matter",
            "a.resident@example.org",
            "FOI request",
            "Under the FOI Act please send me the air quality monitoring results for 2025.",
            Kind::Eir,
        ),
        c(
            "FOI without environmental matter",
            "a.resident@example.org",
            "FOI request",
            "Under the FOI Act please send me the number of parking tickets issued in 2024/25.",
            Kind::Foi,
        ),
        c(
            "journalist's formal FOI request",
            "reporter@dailyexample.co.uk",
            "Freedom of Information request",
            "Under the Freedom of Information Act 2000 please provide the number of agency staff \
             employed in each year since 2021.\n\nSam Lee\nReporter, The Daily Example",
            Kind::Foi,
        ),
        c(
            "journalist asking for comment",
            "reporter@dailyexample.co.uk",
            "Library closures",
            "I'm a reporter at the Daily Example. Could the council provide a statement on the \
             library closures by 5pm today?",
            Kind::Media,
        ),
        c(
            "internal review",
            "a.resident@example.org",
            "FOI-2026-000001",
            "I am writing to request an internal review of your response to my FOI request.",
            Kind::Complaint,
        ),
        c(
            "own personal data",
            "a.resident@example.org",
            "Request",
            "Please send me all the personal data you hold about me.",
            Kind::Sar,
        ),
        c(
            "councillor for a constituent",
            "Cllr Jo Bloggs <jo.bloggs@example.org>",
            "Pothole on Mill Lane",
            "My constituent tells me the pothole on Mill Lane is still there.",
            Kind::MemberEnquiry,
        ),
        c(
            "everyday question",
            "a.resident@example.org",
            "Tip opening times",
            "What time does the tip open on Sunday?",
            Kind::General,
        ),
    ];
    let mut wrong = Vec::new();
    for case in &cases {
        let (name, email) = match case.from.split_once(" <") {
            Some((n, e)) => (Some(n.to_string()), e.trim_end_matches('>').to_string()),
            None => (None, case.from.to_string()),
        };
        let m = Message {
            from: Some(Address { name, email }),
            reply_to: case.reply_to.map(|e| Address {
                name: None,
                email: e.into(),
            }),
            subject: case.subject.into(),
            body_text: case.body.into(),
            headers: case
                .headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            machine: MachineHeaders {
                is_report: case.report,
                ..MachineHeaders::default()
            },
            ..Message::default()
        };
        let d = rules.classify(&m);
        if d.kind != case.want {
            wrong.push(format!(
                "{}: expected {}, got {}: {}",
                case.name, case.want, d.kind, d.why
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
