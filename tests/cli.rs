//! The command line as a user (or a script) sees it: the fixed `classify` and `due` contracts,
//! rule and config checks that report every error, and case listing over a real store.

use crate::support::{self, run, stderr, stdout};
use chrono::{TimeZone, Utc};
use foi_triage::io::store::{AuditAppend, CaseTarget, Change, NewCase, Store};
use foi_triage::model::case::{AuditEvent, CaseDraft, CaseState};
use foi_triage::model::kind::Kind;
use foi_triage::model::message::Address;
use serde_json::Value;

fn sample(name: &str) -> String {
    format!("tests/data/samples/{name}")
}

fn first_sample_of(kind_prefix: &str) -> String {
    let mut names: Vec<String> = std::fs::read_dir(support::repo("tests/data/samples"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(kind_prefix) && n.ends_with(".eml"))
        .collect();
    names.sort();
    sample(&names[0])
}

#[test]
fn classify_json_has_the_contract_fields_and_reports_unreadable_files_last() {
    let foi = first_sample_of("foi-");
    let auto = first_sample_of("auto-");
    let o = run(&[
        "classify",
        "--format",
        "json",
        &foi,
        "no/such/file.eml",
        &auto,
    ]);
    assert_eq!(o.status.code(), Some(1), "stderr: {}", stderr(&o));
    let lines: Vec<Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 3, "one line per file, even after an error");
    let (a, err, c) = (&lines[0], &lines[1], &lines[2]);
    for line in [a, c] {
        for key in [
            "file", "kind", "valid", "missing", "followup", "ref", "rules",
        ] {
            assert!(line.get(key).is_some(), "missing {key} in {line}");
        }
        assert!(line["missing"].is_array() && line["rules"].is_array());
        assert!(line["followup"].is_boolean());
    }
    assert_eq!(a["file"], foi);
    assert_eq!(a["kind"], "foi");
    assert!(a["valid"].is_boolean());
    assert_eq!(c["kind"], "auto");
    assert_eq!(
        c["valid"],
        Value::Null,
        "validity does not apply to auto mail"
    );
    assert!(
        !c["rules"].as_array().unwrap().is_empty(),
        "an auto decision names its rules"
    );
    assert_eq!(err["file"], "no/such/file.eml");
    assert!(
        err["error"].as_str().unwrap().contains("cannot read"),
        "{err}"
    );
}

#[test]
fn classify_text_is_one_line_per_file() {
    let foi = first_sample_of("foi-");
    let o = run(&["classify", &foi]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1);
    assert!(out.starts_with(&format!("{foi}: foi")), "{out}");
}

#[test]
fn classify_names_the_language_the_sender_wrote_in() {
    let welsh = sample("foi-042-welsh-cais-am-wybodaeth-gmail.eml");
    let bilingual = sample("foi-100-bilingual-welsh-first-street-lights.eml");
    let english = first_sample_of("foi-");
    let o = run(&["classify", "--format", "json", &welsh, &bilingual, &english]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let got: Vec<&str> = lines
        .iter()
        .map(|l| l["language"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(got, ["welsh", "bilingual", "english"]);
    let why = lines[0]["language_why"].as_str().unwrap_or("");
    assert!(why.starts_with("welsh: "), "{why}");
    // The text line says so when there is Welsh in it, and only then.
    let o = run(&["classify", &welsh, &english]);
    let out = stdout(&o);
    let text: Vec<&str> = out.lines().collect();
    assert!(text[0].contains(" in welsh"), "{out}");
    assert!(!text[1].contains(" in "), "{out}");
}

#[test]
fn classify_with_a_broken_rules_dir_fails_with_every_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "[[rule]]\nid = \"a\"\nkind = \"nonsense\"\nweight = 10\nsubject = [\"x\"]\n\n[[rule]]\nid = \"b\"\nkind = \"foi\"\nweight = 10\nsubject_regex = [\"(unclosed\"]\n",
    )
    .unwrap();
    let o = run(&[
        "classify",
        "--rules",
        dir.path().to_str().unwrap(),
        &first_sample_of("foi-"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("bad.toml"), "{err}");
    assert!(
        stdout(&o).is_empty(),
        "nothing classified with a broken rule set"
    );
}

#[test]
fn due_prints_the_date_on_the_last_line() {
    let cases = [
        // (kind, received, region, extended, expected) — from deadline-vectors.csv
        (
            "foi",
            "2025-12-24T11:00:00+00:00",
            "england-and-wales",
            false,
            "2026-01-27",
        ),
        (
            "foi",
            "2026-04-02T14:00:00+01:00",
            "scotland",
            false,
            "2026-05-01",
        ),
        (
            "foi",
            "2025-05-01T09:00:00+01:00",
            "england-and-wales",
            true,
            "2025-06-30",
        ),
        (
            "eir",
            "2025-06-30T12:00:00+01:00",
            "england-and-wales",
            true,
            "2025-08-28",
        ),
        (
            "sar",
            "2025-06-30T23:30:00+00:00",
            "england-and-wales",
            false,
            "2025-08-01",
        ),
        (
            "sar",
            "2025-01-18T11:00:00+00:00",
            "england-and-wales",
            true,
            "2025-04-22",
        ),
        (
            "sar",
            "2025-12-02T09:00:00+00:00",
            "scotland",
            false,
            "2026-01-05",
        ),
        (
            "complaint",
            "2025-12-19T12:00:00+00:00",
            "england-and-wales",
            false,
            "2026-01-07",
        ),
        (
            "member_enquiry",
            "2026-06-10T12:00:00+01:00",
            "scotland",
            false,
            "2026-06-18",
        ),
    ];
    for (kind, received, region, extended, want) in cases {
        let mut args = vec![
            "due",
            "--kind",
            kind,
            "--received",
            received,
            "--region",
            region,
        ];
        if extended {
            args.push("--extended");
        }
        let o = run(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        assert_eq!(stdout(&o), format!("{want}\n"), "{args:?}");
        args.push("--explain");
        let o = run(&args);
        let out = stdout(&o);
        assert!(out.lines().count() > 3, "explanation lines expected: {out}");
        assert_eq!(out.lines().last(), Some(want), "{args:?}");
    }
}

#[test]
fn due_review_of_gives_the_internal_review_clock_and_cites_it() {
    // (reviewed kind, received, region, extended, expected, cited) — vectors R1 to R6.
    let cases = [
        (
            "foi",
            "2025-12-22T10:00:00+00:00",
            "england-and-wales",
            false,
            "2026-01-23",
            "s.45 Code of Practice",
        ),
        (
            "foi",
            "2025-12-22T10:00:00+00:00",
            "england-and-wales",
            true,
            "2026-02-20",
            "s.45 Code of Practice",
        ),
        (
            "eir",
            "2026-03-20T15:00:00+00:00",
            "england-and-wales",
            false,
            "2026-05-20",
            "reg 11(4)",
        ),
        (
            "foi",
            "2026-06-01T09:00:00+01:00",
            "scotland",
            false,
            "2026-06-30",
            "s.21(1)",
        ),
        (
            "eir",
            "2026-11-16T09:00:00+00:00",
            "scotland",
            false,
            "2026-12-15",
            "reg 16(4)",
        ),
        (
            "sar",
            "2026-08-20T09:00:00+01:00",
            "england-and-wales",
            false,
            "2026-09-18",
            "Art 77",
        ),
    ];
    for (of, received, region, extended, want, cited) in cases {
        let mut args = vec![
            "due",
            "--kind",
            "complaint",
            "--review-of",
            of,
            "--received",
            received,
            "--region",
            region,
            "--explain",
        ];
        if extended {
            args.push("--extended");
        }
        let o = run(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        let out = stdout(&o);
        assert_eq!(out.lines().last(), Some(want), "{args:?}\n{out}");
        assert!(out.contains(cited), "{args:?}: {out}");
    }
    let o = run(&[
        "due",
        "--kind",
        "complaint",
        "--review-of",
        "media",
        "--received",
        "2026-01-05T09:00:00Z",
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("only foi, eir and sar"),
        "{}",
        stderr(&o)
    );
    let o = run(&[
        "due",
        "--kind",
        "complaint",
        "--review-of",
        "eir",
        "--extended",
        "--received",
        "2026-01-05T09:00:00Z",
    ]);
    assert!(!o.status.success(), "an EIR review has a fixed limit");
}

#[test]
fn due_refuses_what_the_law_does_not_allow_and_bad_input() {
    let bad = [
        (
            vec![
                "due",
                "--kind",
                "foi",
                "--region",
                "scotland",
                "--received",
                "2026-01-05T09:00:00Z",
                "--extended",
            ],
            "FOISA",
        ),
        (
            vec![
                "due",
                "--kind",
                "complaint",
                "--received",
                "2026-01-05T09:00:00Z",
                "--extended",
            ],
            "extension",
        ),
        (
            vec![
                "due",
                "--kind",
                "auto",
                "--received",
                "2026-01-05T09:00:00Z",
            ],
            "auto",
        ),
        (
            vec!["due", "--kind", "foi", "--received", "yesterday"],
            "RFC 3339",
        ),
        (
            vec![
                "due",
                "--kind",
                "petition",
                "--received",
                "2026-01-05T09:00:00Z",
            ],
            "unknown kind",
        ),
        (
            vec![
                "due",
                "--kind",
                "foi",
                "--region",
                "wessex",
                "--received",
                "2026-01-05T09:00:00Z",
            ],
            "wessex",
        ),
    ];
    for (args, needle) in bad {
        let o = run(&args);
        assert!(!o.status.success(), "{args:?} should fail");
        assert!(stdout(&o).is_empty(), "{args:?} printed a date");
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn rules_check_accepts_the_shipped_rules_and_lists_every_error_of_broken_ones() {
    let o = run(&["rules", "check", "rules"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("OK"));

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("one.toml"),
        "[[rule]]\nid = \"x.one\"\nkind = \"foi\"\nweight = 5\nsubject_regex = [\"(\"]\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("two.toml"), "this is not toml =\n").unwrap();
    let o = run(&["rules", "check", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("one.toml") && err.contains("x.one"), "{err}");
    assert!(err.contains("two.toml"), "{err}");
}

#[test]
fn rules_test_passes_on_the_sample_set() {
    let o = run(&["rules", "test", "tests/data/samples"]);
    let out = stdout(&o);
    assert!(o.status.success(), "{out}\n{}", stderr(&o));
    assert!(out.contains(" 0 failed"), "{out}");
}

#[test]
fn rules_test_reports_a_wrong_expectation() {
    let dir = tempfile::tempdir().unwrap();
    let foi = first_sample_of("foi-");
    let name = std::path::Path::new(&foi)
        .file_name()
        .unwrap()
        .to_str()
        .unwrap();
    std::fs::copy(support::repo(&foi), dir.path().join(name)).unwrap();
    std::fs::write(
        dir.path().join("expected.toml"),
        format!("[\"{name}\"]\nkind = \"media\"\n"),
    )
    .unwrap();
    let o = run(&["rules", "test", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains(&format!("FAIL {name}")) && out.contains("expected kind media"),
        "{out}"
    );
    assert!(out.contains("0 passed, 1 failed"), "{out}");
}

fn write_config(dir: &std::path::Path, extra: &str) -> std::path::PathBuf {
    let path = dir.join("foi-triage.toml");
    let text = format!(
        "[organisation]\nname = \"Test Council\"\nregion = \"england-and-wales\"\n[mailbox]\naddress = \"foi@council.example.gov.uk\"\n[paths]\ndata_dir = \"data\"\nrules_dir = \"{}\"\ntemplates_dir = \"{}\"\n{extra}",
        support::repo("rules").display(),
        support::repo("templates").display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// `[organisation] welsh = true`: every Welsh template must exist (all missing ones listed);
/// the shipped set has them all.
#[test]
fn config_check_needs_every_welsh_template_when_welsh_is_on() {
    let dir = tempfile::tempdir().unwrap();
    let english_only = dir.path().join("templates");
    for file in foi_triage::letters::template_files() {
        let to = english_only.join(&file);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(support::repo("templates").join(&file), to).unwrap();
    }
    let config = |templates: &std::path::Path, welsh: bool| {
        let path = dir.path().join("foi-triage.toml");
        let text = format!(
            "[organisation]\nname = \"Cyngor Sir Enghraifft\"\nregion = \"wales\"\nwelsh = {welsh}\n\
             [mailbox]\naddress = \"gwybodaeth@cyngor.example.cymru\"\n[paths]\ndata_dir = \"data\"\n\
             rules_dir = \"{}\"\ntemplates_dir = \"{}\"\n",
            support::repo("rules").display(),
            templates.display()
        );
        std::fs::write(&path, text).unwrap();
        path
    };
    let check = |path: &std::path::Path| {
        run(&[
            "config",
            "check",
            "--offline",
            "--config",
            path.to_str().unwrap(),
        ])
    };
    let o = check(&config(&english_only, false));
    assert!(
        o.status.success(),
        "not needed without welsh: {}",
        stderr(&o)
    );
    let o = check(&config(&english_only, true));
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    for family in foi_triage::letters::WELSH_FAMILIES {
        assert!(
            err.contains(family.name),
            "{} not reported: {err}",
            family.name
        );
    }
    assert!(
        err.contains("required by [organisation] welsh = true"),
        "{err}"
    );
    assert_eq!(
        err.matches("template directory missing").count(),
        foi_triage::letters::WELSH_FAMILIES.len(),
        "{err}"
    );
    let o = check(&config(&support::repo("templates"), true));
    assert!(o.status.success(), "the shipped set: {}", stderr(&o));
}

#[test]
fn config_check_names_the_trusted_gateway_or_rejects_a_bad_id() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        dir.path(),
        "[trust]\nauthserv_ids = [\"mx.example.gov.uk\"]\n",
    );
    let o = run(&[
        "config",
        "check",
        "--offline",
        "--config",
        path.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = support::stdout(&o);
    assert!(
        out.contains("trusted mail gateway: mx.example.gov.uk"),
        "{out}"
    );

    let path = write_config(dir.path(), "[trust]\nauthserv_ids = [\"mx example\"]\n");
    let o = run(&[
        "config",
        "check",
        "--offline",
        "--config",
        path.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("trust.authserv_ids"), "{}", stderr(&o));
}

#[test]
fn config_check_accepts_the_example_and_lists_every_error() {
    // The example configures the offline tools; the daemon also needs [imap] and [smtp].
    let o = run(&[
        "config",
        "check",
        "--offline",
        "--config",
        "foi-triage.example.toml",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // No gateway named: said on stdout, not an error.
    assert!(
        support::stdout(&o).contains("no trusted mail gateway"),
        "{}",
        support::stdout(&o)
    );
    let o = run(&["config", "check", "--config", "foi-triage.example.toml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("[imap]"), "{}", stderr(&o));

    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        dir.path(),
        "[kinds.complaint]\nworking_days = 0\n[deadlines]\nsar_month_rule = \"lunar\"\ncolour = 1\n",
    );
    let o = run(&["config", "check", "--config", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    for key in [
        "kinds.complaint.working_days",
        "deadlines.sar_month_rule",
        "deadlines.colour",
    ] {
        assert!(err.contains(key), "{key} not reported: {err}");
    }
    assert!(err.contains("3 configuration errors"), "{err}");

    let o = run(&["config", "check", "--config", "/no/such/config.toml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("cannot read"), "{}", stderr(&o));
}

/// An `[imap]` section for `write_config` (its password in `dir/pw`).
fn imap_section(dir: &std::path::Path) -> &'static str {
    std::fs::write(dir.join("pw"), "secret").unwrap();
    "[imap]\nhost = \"localhost\"\nport = 9993\nusername = \"foi\"\nauth = \"login\"\npassword_file = \"pw\"\n"
}

/// `config check` and `run` on the same config: both fail, and both name `problem`.
fn check_and_run_fail_alike(config: &std::path::Path, problem: &str) {
    let cfg = config.to_str().unwrap();
    let check = run(&["config", "check", "--config", cfg]);
    assert_eq!(check.status.code(), Some(1), "{}", stderr(&check));
    assert!(
        stderr(&check).contains(problem),
        "check: {}",
        stderr(&check)
    );
    let start = run(&["run", "--config", cfg]);
    assert!(!start.status.success(), "run started: {}", stderr(&start));
    assert!(stderr(&start).contains(problem), "run: {}", stderr(&start));
}

#[test]
fn config_check_fails_without_imap_as_run_does() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    check_and_run_fail_alike(&config, "needs an [imap] section");
    let o = run(&[
        "config",
        "check",
        "--offline",
        "--config",
        config.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn config_check_fails_without_smtp_when_acknowledgements_are_on_as_run_does() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), imap_section(dir.path()));
    check_and_run_fail_alike(&config, "no [smtp] section");
    // Without acknowledgements the daemon needs no [smtp].
    let extra = format!(
        "{}[acknowledgements]\nenabled = false\n",
        imap_section(dir.path())
    );
    let config = write_config(dir.path(), &extra);
    let o = run(&["config", "check", "--config", config.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn config_check_builds_the_mailer_as_run_does() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("smtp.pw"), "secret").unwrap();
    // Credentials over a plain connection: the config reads, the mailer refuses them.
    let extra = format!(
        "{}[smtp]\nhost = \"127.0.0.1\"\nsecurity = \"plain\"\nport = 10025\nusername = \"foi\"\npassword_file = \"smtp.pw\"\n",
        imap_section(dir.path())
    );
    let config = write_config(dir.path(), &extra);
    check_and_run_fail_alike(&config, "[smtp]:");
    // The offline check builds a present mailer too.
    let o = run(&[
        "config",
        "check",
        "--offline",
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}

#[test]
fn config_check_loads_the_workflow_as_run_does() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret"), "0123456789abcdef0123456789").unwrap();
    let extra = format!(
        "{}[acknowledgements]\nenabled = false\n[workflow]\nrouting_file = \"no-such-routing.toml\"\nreply_secret_file = \"secret\"\n",
        imap_section(dir.path())
    );
    let config = write_config(dir.path(), &extra);
    check_and_run_fail_alike(&config, "no-such-routing.toml");
}

#[test]
fn case_list_and_show_read_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let received = Utc.with_ymd_and_hms(2026, 1, 5, 9, 30, 0).unwrap();
    {
        let store = Store::open(&dir.path().join("data")).unwrap();
        let draft = CaseDraft {
            reference: (),
            kind: Kind::Foi,
            state: CaseState::Open,
            received_at: received,
            requester: Address {
                name: Some("Jane Smith".into()),
                email: "jane@example.org".into(),
            },
            subject: "Parking fines".into(),
            message_ids: vec!["m1@example.org".into()],
            content_hashes: vec!["ab".repeat(32)],
            rules: vec!["foi.please-provide".into()],
            valid: Some(true),
            missing: vec![],
            due: Some(chrono::NaiveDate::from_ymd_opt(2026, 2, 2).unwrap()),
            clock_events: Vec::new(),
            workflow: Default::default(),
            assignee: None,
            team: None,
            created_at: received,
            updated_at: received,
        };
        store
            .apply(Change {
                new_case: Some(NewCase {
                    prefix: "FOI".into(),
                    year: 2026,
                    draft,
                }),
                audit: vec![AuditAppend {
                    case: CaseTarget::New,
                    event: AuditEvent {
                        at: received,
                        actor: "system".into(),
                        action: "received".into(),
                        detail: serde_json::json!({"message_id": "m1@example.org"}),
                        why: "new request".into(),
                    },
                }],
                ..Change::default()
            })
            .unwrap();
    }
    let cfg = config.to_str().unwrap();
    let o = run(&["case", "list", "--config", cfg]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("FOI-2026-000001\tfoi\topen\t2026-01-05 09:30\t2026-02-02\tvalid"),
        "{out}"
    );

    let o = run(&[
        "case",
        "list",
        "--config",
        cfg,
        "--due-before",
        "2026-01-31",
    ]);
    assert_eq!(
        stdout(&o).lines().count(),
        1,
        "only the header: nothing due by then"
    );
    let o = run(&[
        "case",
        "list",
        "--config",
        cfg,
        "--due-before",
        "2026-02-02",
        "--kind",
        "foi",
    ]);
    assert_eq!(stdout(&o).lines().count(), 2);

    let o = run(&["case", "show", "--config", cfg, "FOI-2026-000001"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("\"reference\": \"FOI-2026-000001\"") && out.contains("received"),
        "{out}"
    );
    assert!(out.contains("new request"), "audit trail shown: {out}");

    let o = run(&["case", "show", "--config", cfg, "FOI-2026-000002"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no case FOI-2026-000002"));
    let o = run(&["case", "show", "--config", cfg, "not-a-ref"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "clap rejects a malformed reference"
    );

    // Staff actions from the command line: audited with --by, refused with a clear reason.
    let o = run(&[
        "case",
        "close",
        "FOI-2026-000001",
        "provided",
        "--config",
        cfg,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--by"), "{}", stderr(&o));
    let o = run(&[
        "case",
        "extend",
        "FOI-2026-000001",
        "--by",
        "alice@council.example.gov.uk",
        "--config",
        cfg,
    ]);
    assert_eq!(o.status.code(), Some(2), "extend needs a reason");
    let o = run(&[
        "case",
        "close",
        "FOI-2026-000001",
        "provided",
        "--by",
        "alice@council.example.gov.uk",
        "--why",
        "sent the figures",
        "--config",
        cfg,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("FOI-2026-000001\tfoi\tclosed"),
        "{}",
        stdout(&o)
    );
    let o = run(&["case", "show", "--config", cfg, "FOI-2026-000001"]);
    let out = stdout(&o);
    assert!(
        out.contains("provided_in_full") && out.contains("sent the figures"),
        "{out}"
    );
    assert!(
        out.contains("alice@council.example.gov.uk"),
        "the actor is audited: {out}"
    );
    let o = run(&[
        "case",
        "close",
        "FOI-2026-000001",
        "provided",
        "--by",
        "alice@council.example.gov.uk",
        "--config",
        cfg,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("closed"), "{}", stderr(&o));
}

#[test]
fn digest_dry_run_prints_each_teams_digest_without_request_text() {
    let dir = tempfile::tempdir().unwrap();
    // Two keys, newest first, as after a rotation.
    let keys = ["new-key-0123456789abcdef", "0123456789abcdef0123456789"];
    std::fs::write(
        dir.path().join("secret"),
        format!("# rotated\n{}\n{}\n", keys[0], keys[1]),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("routing.toml"),
        "[defaults]\nfoi = \"ig\"\neir = \"ig\"\nsar = \"ig\"\nmedia = \"ig\"\nmember_enquiry = \"ig\"\n\
         complaint = \"ig\"\ngeneral = \"ig\"\n[[team]]\nid = \"ig\"\nname = \"IG\"\nmanager = \"boss@council.example.gov.uk\"\n\
         assign = \"alice\"\nmembers = { alice = \"alice@council.example.gov.uk\" }\n",
    )
    .unwrap();
    let config = write_config(
        dir.path(),
        "[workflow]\nrouting_file = \"routing.toml\"\nreply_secret_file = \"secret\"\n",
    );
    let cfg = config.to_str().unwrap();
    let o = run(&["config", "check", "--offline", "--config", cfg]);
    assert!(o.status.success(), "{}", stderr(&o));
    let ids: Vec<String> = foi_triage::core::actions::ReplyKeys::new(&keys)
        .unwrap()
        .ids()
        .map(str::to_string)
        .collect();
    assert!(
        stdout(&o).contains(&format!(
            "reply-address keys, newest (signing) first: {}, {}",
            ids[0], ids[1]
        )),
        "{}",
        stdout(&o)
    );
    let o = run(&["digest", "--dry-run", "--as", "2026-12-01", "--config", cfg]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("To: boss@council.example.gov.uk"), "{out}");
    let o = run(&["digest", "--as", "2026-12-01", "--config", cfg]);
    assert_eq!(o.status.code(), Some(2), "--dry-run is required");
}

#[test]
fn help_is_available_on_every_command() {
    for args in [
        vec!["--help"],
        vec!["classify", "--help"],
        vec!["due", "--help"],
        vec!["rules", "check", "--help"],
        vec!["rules", "test", "--help"],
        vec!["config", "check", "--help"],
        vec!["case", "list", "--help"],
        vec!["case", "show", "--help"],
        vec!["case", "triaged", "--help"],
        vec!["run", "--help"],
        vec!["import", "--help"],
        vec!["digest", "--help"],
        vec!["export", "--help"],
        vec!["restore", "--help"],
        vec!["store", "verify", "--help"],
    ] {
        let o = run(&args);
        assert!(o.status.success(), "{args:?}");
        assert!(stdout(&o).contains("Usage:"), "{args:?}");
    }
}

#[test]
fn case_list_shows_quarantined_mail_until_case_triaged_clears_it() {
    use foi_triage::core::plan::{ingest::Position, poison};
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let hash = "0123456789abcdef".repeat(4);
    {
        let store = Store::open(&dir.path().join("data")).unwrap();
        let position = Position {
            mailbox: "INBOX".into(),
            uidvalidity: 3,
            uid: 17,
        };
        let at = Utc.with_ymd_and_hms(2026, 1, 5, 9, 30, 0).unwrap();
        let change = poison::plan_needs_triage(None, &hash, "died twice", &position, at);
        store.apply(change).unwrap();
    }
    let cfg = config.to_str().unwrap();
    let o = run(&["case", "list", "--config", cfg]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("needs human triage: 1 message(s)"), "{out}");
    assert!(
        out.contains(&format!("INBOX\t3\t17\t{hash}\tdied twice")),
        "{out}"
    );
    let o = run(&["case", "triaged", "--config", cfg, "0123456789ab"]);
    assert!(!o.status.success(), "--by is required");
    let o = run(&[
        "case",
        "triaged",
        "--config",
        cfg,
        "0123456789ab",
        "--by",
        "ann@council.example",
        "--why",
        "logged by hand",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!("cleared: {hash}")),
        "{}",
        stdout(&o)
    );
    let o = run(&["case", "list", "--config", cfg]);
    assert!(!stdout(&o).contains("needs human triage"), "{}", stdout(&o));
}

#[test]
fn case_triaged_release_forgets_the_message_so_it_is_triaged_afresh() {
    use foi_triage::core::plan::{ingest::Position, poison};
    use foi_triage::model::records::SeenKey;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let kept = "aaaa0000bbbb1111".repeat(4);
    let released = "cccc2222dddd3333".repeat(4);
    let data = dir.path().join("data");
    {
        let store = Store::open(&data).unwrap();
        let at = Utc.with_ymd_and_hms(2026, 1, 5, 9, 30, 0).unwrap();
        for (uid, hash) in [(17, &kept), (18, &released)] {
            let position = Position {
                mailbox: "INBOX".into(),
                uidvalidity: 3,
                uid,
            };
            let id = Some(format!("m{uid}@example.org"));
            let change = poison::plan_needs_triage(id, hash, "died twice", &position, at);
            store.apply(change).unwrap();
        }
    }
    let cfg = config.to_str().unwrap();
    let by = ["--by", "ann@council.example", "--why", "checked"];
    let o = run(&[&["case", "triaged", "--config", cfg, &kept[..12]][..], &by].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&[
        &[
            "case",
            "triaged",
            "--config",
            cfg,
            &released[..12],
            "--release",
        ][..],
        &by,
    ]
    .concat());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!("released: {released}")),
        "{}",
        stdout(&o)
    );
    let store = Store::open(&data).unwrap();
    let seen = |key| store.find_seen(key).unwrap();
    assert!(
        seen(SeenKey::ContentHash(&kept)).is_some(),
        "cleared without --release: still known, so put back it is only filed"
    );
    assert!(seen(SeenKey::MessageId("m17@example.org")).is_some());
    assert!(
        seen(SeenKey::ContentHash(&released)).is_none(),
        "released: forgotten by hash"
    );
    assert!(
        seen(SeenKey::MessageId("m18@example.org")).is_none(),
        "released: forgotten by Message-ID too"
    );
    assert!(store.marks(poison::NEEDS_TRIAGE_PREFIX).unwrap().is_empty());
}

/// A request the shipped rules call FOI, from a journalist who wanted it treated as a media
/// enquiry: what an officer corrects.
const PARKING_REQUEST: &str = "From: Pat Reporter <pat@news.example>\r\n\
    To: foi@council.example.gov.uk\r\nSubject: Parking fines on Mill Lane\r\n\
    Message-ID: <correction-test@news.example>\r\nDate: Mon, 02 Mar 2026 09:30:00 +0000\r\n\
    Content-Type: text/plain; charset=utf-8\r\n\r\nDear Sir or Madam,\r\n\r\n\
    Under the Freedom of Information Act 2000 please provide the number of parking fines issued \
    on Mill Lane in each of the last three financial years.\r\n\r\nYours faithfully,\r\nPat\r\n";

/// Takes `raw` in as intake does with the case workflow on: classified by the shipped rules,
/// stored as a new case with its first message kept. Returns the case's reference and kind.
fn ingest(store: &Store, raw: &[u8]) -> (String, Kind) {
    use foi_triage::core::triage;
    let rules = foi_triage::core::rules::RuleSet::load(&support::repo("rules")).unwrap();
    let ctx = triage::Context::standalone(rules);
    let o = triage::triage(
        &ctx,
        raw,
        None,
        &foi_triage::core::followup::NoThreads,
        &support::sandbox(),
    );
    let received = o.message.date.unwrap();
    let draft = CaseDraft {
        reference: (),
        kind: o.kind(),
        state: CaseState::Open,
        received_at: received,
        requester: o.message.from.clone().unwrap(),
        subject: o.message.subject.clone(),
        message_ids: o.message.message_id.iter().cloned().collect(),
        content_hashes: vec![o.message.content_hash.clone()],
        rules: o.decision.fired.iter().map(|r| r.id.clone()).collect(),
        valid: Some(true),
        missing: vec![],
        due: o.due(),
        clock_events: Vec::new(),
        workflow: Default::default(),
        assignee: None,
        team: None,
        created_at: received,
        updated_at: received,
    };
    store.put_raw(&o.message.content_hash, raw).unwrap();
    let applied = store
        .apply(Change {
            new_case: Some(NewCase {
                prefix: "FOI".into(),
                year: 2026,
                draft,
            }),
            ..Change::default()
        })
        .unwrap();
    (applied.new_case.unwrap().to_string(), o.kind())
}

#[test]
fn rules_test_corrections_replays_what_officers_corrected() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let cfg = config.to_str().unwrap();
    let data = dir.path().join("data");
    let (reference, kind) = ingest(&Store::open(&data).unwrap(), PARKING_REQUEST.as_bytes());
    assert_eq!(kind, Kind::Foi, "the rules call it FOI");

    // No correction yet: nothing to replay, nothing wrong.
    let o = run(&["rules", "test", "--corrections", "--config", cfg]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("no corrections kept"), "{}", stdout(&o));

    // The officer says media, from the command line.
    let alice = "alice@council.example.gov.uk";
    let o = run(&[
        "case",
        "reclassify",
        &reference,
        "media",
        "--by",
        alice,
        "--config",
        cfg,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("correction kept as a private rules test sample"),
        "{}",
        stdout(&o)
    );
    let samples = data.join("corrections");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode(&samples), 0o700);
    for ext in ["eml", "toml"] {
        assert_eq!(
            mode(&samples.join(format!("{reference}.{ext}"))),
            0o600,
            "{ext}"
        );
    }
    assert_eq!(
        std::fs::read(samples.join(format!("{reference}.eml"))).unwrap(),
        PARKING_REQUEST.as_bytes(),
        "the message as received"
    );

    // The shipped rules still say FOI: listed as still wrong, with what fired, exit 1. It reads
    // only the corrections directory, so it runs while someone (here: this test, as the daemon
    // would) holds the store.
    let held = Store::open(&data).unwrap();
    let o = run(&["rules", "test", "--corrections", "--config", cfg]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}\n{}", stderr(&o));
    assert!(
        out.contains(&format!(
            "FAIL {reference} still wrong (the rules said foi; {alice} corrected it to media on 2026-"
        )),
        "{out}"
    );
    assert!(out.contains("  expected kind media, got foi: "), "{out}");
    assert!(out.contains("  rules fired: foi."), "{out}");
    assert!(out.contains("rules test: 0 passed, 1 failed"), "{out}");

    // An edited copy of the rules that gets it right: the correction now passes.
    let edited = dir.path().join("rules");
    std::fs::create_dir(&edited).unwrap();
    for entry in std::fs::read_dir(support::repo("rules")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, edited.join(path.file_name().unwrap())).unwrap();
    }
    let mut media = std::fs::read_to_string(edited.join("media.toml")).unwrap();
    media.push_str(
        "\n[[rule]]\nid = \"media.mill-lane-fines\"\nkind = \"media\"\nweight = 500\n\
         description = \"Pat's parking story\"\nsubject = [\"parking fines on mill lane\"]\n",
    );
    std::fs::write(edited.join("media.toml"), media).unwrap();
    let o = run(&[
        "rules",
        "test",
        "--corrections",
        "--config",
        cfg,
        "--rules",
        edited.to_str().unwrap(),
    ]);
    let out = stdout(&o);
    assert!(o.status.success(), "{out}\n{}", stderr(&o));
    assert!(
        out.contains(&format!("PASS {reference} now right")),
        "{out}"
    );
    assert!(out.contains("rules test: 1 passed, 0 failed"), "{out}");
    // The same from the data directory alone.
    let o = run(&[
        "rules",
        "test",
        "--corrections",
        "--data-dir",
        data.to_str().unwrap(),
        "--rules",
        edited.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stdout(&o));
    drop(held);

    // Back to what the rules said: the sample, and the personal data in it, are gone.
    let o = run(&[
        "case",
        "reclassify",
        &reference,
        "foi",
        "--by",
        alice,
        "--config",
        cfg,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read_dir(&samples).unwrap().count(), 0);
}

/// An out-of-office reply that also carries a request: filed as machine mail by its headers.
const OUT_OF_OFFICE_WITH_A_REQUEST: &str = "From: Jane Smith <jane.smith@example.org>\r\n\
To: foi@council.example.gov.uk\r\n\
Subject: Automatic reply: Freedom of Information request - parking fines\r\n\
Date: Mon, 9 Nov 2026 10:00:00 +0000\r\nMessage-ID: <ooo-1@example.org>\r\n\
Auto-Submitted: auto-replied\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
I am out of the office until Monday.\r\n\r\nBefore I went: under the Freedom of Information Act \
2000 please provide the number of parking fines issued on Mill Lane in each of the last three \
financial years.\r\n\r\nYours faithfully,\r\nJane Smith\r\n12 High Street, Exampletown EX1 2AB\r\n";

/// Intake records `raw` (received at `received`) in the store under `config`, as the daemon does
/// with a message fetched from the mailbox.
fn ingest_one(config: &std::path::Path, raw: &str, received: chrono::DateTime<Utc>) {
    use foi_triage::app::ingest::{Disposition, Ingest};
    use std::sync::{Arc, RwLock};
    let loaded = foi_triage::app::daemon::load(config).unwrap();
    let store = Store::open(&loaded.config.data_dir).unwrap();
    let workflow = foi_triage::app::workflow::Workflow::load(&loaded.config)
        .unwrap()
        .map(Arc::new);
    let env = foi_triage::app::env::Env::new(
        Arc::new(foi_triage::io::clock::ManualClock::new(received)),
        Arc::new(foi_triage::io::ids::SequentialIds::new()),
        Arc::new(foi_triage::core::extract::InProcess),
    );
    let ingest = Ingest::new(
        &loaded.config,
        foi_triage::core::plan::ingest::Mode::Live,
        store.clone(),
        Arc::new(RwLock::new(Arc::new(loaded.context))),
        Arc::new(tokio::sync::Notify::new()),
        &env,
    )
    .with_workflow(workflow);
    let fetched = foi_triage::io::mail::imap::Fetched {
        uid: 1,
        internal_date: received,
        raw: raw.as_bytes().to_vec(),
        size: raw.len() as u64,
        partial: false,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (disposition, _) = runtime
        .block_on(ingest.record("INBOX", 7, &fetched, received))
        .unwrap();
    assert!(
        matches!(disposition, Disposition::Recorded { case: None, .. }),
        "{disposition:?}"
    );
}

/// A workflow config in `dir` (one team, `ig`, managed by boss@, Alice its member) with `extra`.
fn write_workflow_config(dir: &std::path::Path, extra: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("secret"), "0123456789abcdef0123456789\n").unwrap();
    std::fs::write(
        dir.join("routing.toml"),
        "[defaults]\nfoi = \"ig\"\neir = \"ig\"\nsar = \"ig\"\nmedia = \"ig\"\nmember_enquiry = \"ig\"\n\
         complaint = \"ig\"\ngeneral = \"ig\"\n[[team]]\nid = \"ig\"\nname = \"IG\"\nmanager = \"boss@council.example.gov.uk\"\n\
         assign = \"alice\"\nmembers = { alice = \"alice@council.example.gov.uk\" }\n",
    )
    .unwrap();
    write_config(
        dir,
        &format!(
            "[workflow]\nrouting_file = \"routing.toml\"\nreply_secret_file = \"secret\"\n{extra}"
        ),
    )
}

#[test]
fn config_check_refuses_a_machine_mail_team_not_in_the_routing_file_or_a_short_retention() {
    let dir = tempfile::tempdir().unwrap();
    // (the section, the problem named)
    let table = [
        (
            "[machine_mail]\nteam = \"nobody\"\n",
            "machine_mail.team: \"nobody\" is not a team of the routing file",
        ),
        (
            "[machine_mail]\nkeep_days = 3\n",
            "machine_mail.keep_days: 3 days is out of range",
        ),
    ];
    for (section, problem) in table {
        let config = write_workflow_config(dir.path(), section);
        let o = run(&[
            "config",
            "check",
            "--offline",
            "--config",
            config.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(1), "{section}: {}", stderr(&o));
        assert!(stderr(&o).contains(problem), "{section}: {}", stderr(&o));
    }
    let config = write_workflow_config(dir.path(), "[machine_mail]\nteam = \"ig\"\n");
    let o = run(&[
        "config",
        "check",
        "--offline",
        "--config",
        config.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn machine_mail_is_listed_and_opened_as_a_case_counted_from_its_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_workflow_config(dir.path(), "[machine_mail]\nkeep_days = 60\n");
    let cfg = config.to_str().unwrap();
    // Received Monday 9 November 2026; nobody opens it until long after.
    let received = Utc.with_ymd_and_hms(2026, 11, 9, 10, 0, 0).unwrap();
    ingest_one(&config, OUT_OF_OFFICE_WITH_A_REQUEST, received);

    // Listed: for the shell, and as the daily list would mail it.
    let o = run(&["case", "machine-mail", "--config", cfg]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains(
            "M-2026-000001\t2026-11-09 10:00\tjane.smith@example.org\t\
             Automatic reply: Freedom of Information request - parking fines\tauto scored"
        ),
        "{out}"
    );
    assert!(out.contains("\tfoi\t-\n"), "opens as foi by default: {out}");
    let o = run(&["digest", "--dry-run", "--as", "2026-11-10", "--config", cfg]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains(
            "foi-triage case open-from M-2026-000001 --kind foi --by boss@council.example.gov.uk"
        ),
        "{out}"
    );

    // Opened as FOI: due 20 working days after 9 November (St Andrew's Day skipped), not after
    // today.
    let by = "alice@council.example.gov.uk";
    let open = [
        "case",
        "open-from",
        "M-2026-000001",
        "--kind",
        "foi",
        "--by",
        by,
        "--why",
        "a request in an out-of-office reply",
        "--config",
        cfg,
    ];
    let o = run(&open);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with("FOI-2026-000001\tfoi\topen\t2026-11-09 10:00\t2026-12-08\tvalid\n"),
        "{out}"
    );
    assert!(
        out.contains("opened FOI-2026-000001 from machine mail M-2026-000001"),
        "{out}"
    );

    // Once only: a second open names the case.
    let o = run(&open);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("machine mail M-2026-000001 was already opened as FOI-2026-000001"),
        "{}",
        stderr(&o)
    );
    let o = run(&["case", "machine-mail", "--config", cfg]);
    assert!(!stdout(&o).contains("M-2026-000001"), "{}", stdout(&o));
    let o = run(&["case", "machine-mail", "--all", "--config", cfg]);
    assert!(
        stdout(&o).contains(&format!("\tFOI-2026-000001 by {by}\n")),
        "{}",
        stdout(&o)
    );

    // The case says who opened it and from what, and went the way of any new request.
    let o = run(&["case", "show", "FOI-2026-000001", "--config", cfg]);
    let out = stdout(&o);
    for want in [
        &format!("{by} opened_from_machine_mail"),
        "\"machine_mail\":\"M-2026-000001\"",
        "\"os_uid\":",
        "received",
        "acknowledgement_queued",
        "routed",
    ] {
        assert!(out.contains(want), "{want}: {out}");
    }
    let store = Store::open(&dir.path().join("data")).unwrap();
    let case = store
        .get_case(&"FOI-2026-000001".parse().unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(case.received_at, received);
    assert_eq!(case.assignee.as_deref(), Some(by));
    // The original goes with the assignment email.
    assert!(store.raw(&case.content_hashes[0]).unwrap().is_some());
}

/// Runs `foi-triage ARGS` from `dir` (not the repository): no `./rules` there.
fn run_in(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_foi-triage"))
        .args(args)
        .current_dir(dir)
        .env_remove("FOI_TRIAGE_CONFIG")
        .output()
        .expect("run foi-triage")
}

/// Issue 12: the shipped rules are built in, so `classify FILE` works from any directory, gives
/// what the repository's rules give, and says once on stderr which rules it used.
#[test]
fn classify_outside_a_checkout_uses_the_built_in_rules_and_says_so_once() {
    let elsewhere = tempfile::tempdir().unwrap();
    let foi = support::repo(&first_sample_of("foi-"));
    let auto = support::repo(&first_sample_of("auto-"));
    let files = [foi.to_str().unwrap(), auto.to_str().unwrap()];
    let built_in = run_in(elsewhere.path(), &[&["classify"], &files[..]].concat());
    assert!(built_in.status.success(), "{}", stderr(&built_in));
    let note = stderr(&built_in);
    assert_eq!(
        note.matches("rules built into foi-triage").count(),
        1,
        "{note}"
    );
    let in_repo = run(&[&["classify", "--rules", "rules"], &files[..]].concat());
    assert_eq!(stdout(&built_in), stdout(&in_repo));
    assert!(
        stdout(&built_in).contains(": foi "),
        "{}",
        stdout(&built_in)
    );
    assert!(
        stderr(&in_repo).is_empty(),
        "no note with --rules: {}",
        stderr(&in_repo)
    );
    // `rules check` names the built-in set as it would a directory.
    let o = run_in(elsewhere.path(), &["rules", "check"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("(built-in): "), "{}", stdout(&o));
}

/// A config without `rules_dir` and `templates_dir` runs on the built-in ones (and `config check`
/// says so); a directory it names that is missing is an error, never the built-in set.
#[test]
fn config_without_rule_and_template_dirs_uses_the_built_in_ones_and_a_missing_named_dir_fails() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("foi-triage.toml");
    let base = "[organisation]\nname = \"Test Council\"\nregion = \"england-and-wales\"\n\
                [mailbox]\naddress = \"foi@council.example.gov.uk\"\n[paths]\ndata_dir = \"data\"\n";
    std::fs::write(&path, base).unwrap();
    let cfg = path.to_str().unwrap();
    let o = run_in(
        dir.path(),
        &["config", "check", "--offline", "--config", cfg],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("rules: the ones built into foi-triage"),
        "{out}"
    );
    assert!(
        out.contains("templates: the ones built into foi-triage"),
        "{out}"
    );
    let foi = support::repo(&first_sample_of("foi-"));
    let o = run_in(
        dir.path(),
        &["classify", "--config", cfg, foi.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains(": foi "), "{}", stdout(&o));

    std::fs::write(
        &path,
        format!("{base}rules_dir = \"no-such-rules\"\ntemplates_dir = \"no-such-templates\"\n"),
    )
    .unwrap();
    let o = run_in(
        dir.path(),
        &["config", "check", "--offline", "--config", cfg],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(
        err.contains("no-such-rules") && err.contains("cannot read the rules directory"),
        "{err}"
    );
    assert!(err.contains("no-such-templates"), "{err}");
    let o = run_in(
        dir.path(),
        &["classify", "--config", cfg, foi.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no-such-rules"), "{}", stderr(&o));
}

/// Logs to a pipe (the journal, a file, a log shipper) carry no colour codes: the daemon is run
/// with stderr piped, against a mailbox that refuses connections, until it has logged its start
/// and an error, then stopped with SIGTERM.
#[test]
fn logs_to_a_pipe_have_no_colour_codes() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("foi-triage.toml");
    // Port 1 on loopback: nothing listens, so the mailbox session fails and logs at once.
    let config = "[organisation]\nname = \"Test Council\"\nregion = \"england-and-wales\"\n\
                  [mailbox]\naddress = \"foi@council.example.gov.uk\"\n[paths]\ndata_dir = \"data\"\n\
                  [imap]\nhost = \"127.0.0.1\"\nport = 1\nsecurity = \"plain\"\nusername = \"foi\"\n\
                  auth = \"login\"\npassword_file = \"pw\"\n\
                  [smtp]\nhost = \"127.0.0.1\"\nport = 1\nsecurity = \"plain\"\n";
    std::fs::write(&path, config).unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "secret\n").unwrap();
    std::fs::set_permissions(&pw, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_foi-triage"))
        .args(["run", "--config", path.to_str().unwrap()])
        .current_dir(dir.path())
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the daemon");
    let mut log = String::new();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !log.contains("mailbox session ended") && std::time::Instant::now() < deadline {
        match lines.next() {
            Some(Ok(line)) => log.push_str(&line),
            _ => break,
        }
        log.push('\n');
    }
    // SAFETY: kill(2) on the child we started and still own.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    for line in lines.map_while(Result::ok) {
        log.push_str(&line);
        log.push('\n');
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}\n{log}");
    assert!(
        log.contains("foi-triage running") && log.contains(" INFO "),
        "{log}"
    );
    assert!(log.contains("mailbox session ended"), "{log}");
    assert!(
        !log.contains("\x1b["),
        "colour codes in a piped log:\n{log:?}"
    );
}
