//! Backup and restore as an operator runs them (`foi-triage export`, `restore`, `store verify`),
//! on a store the intake pipeline filled (cases, audit, acknowledgement and assignment mail,
//! cursors, `seen` records, marks, raw requests), and the frozen backup of every past schema.

use crate::support::{self, run, stderr, stdout};
use chrono::{DateTime, TimeZone, Utc};
use foi_triage::app::env::Env;
use foi_triage::app::ingest::{Disposition, Ingest, SharedContext};
use foi_triage::app::workflow::Workflow;
use foi_triage::core::plan::ingest::Mode;
use foi_triage::io::clock::ManualClock;
use foi_triage::io::ids::SequentialIds;
use foi_triage::io::mail::imap::Fetched;
use foi_triage::io::store::{CaseOrder, SCHEMA_VERSION, Store, backup};
use foi_triage::model::kind::Kind;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap()
}

/// A config with the case workflow on (so requests are kept raw and assigned), its store in
/// `dir/data_dir`.
fn write_config(dir: &Path, name: &str, data_dir: &str) -> PathBuf {
    std::fs::write(
        dir.join("secret"),
        "0123456789abcdef-test-secret-0123456789",
    )
    .unwrap();
    std::fs::write(
        dir.join("routing.toml"),
        "[defaults]\nfoi = \"ig\"\neir = \"ig\"\nsar = \"ig\"\nmedia = \"ig\"\nmember_enquiry = \"ig\"\n\
         complaint = \"ig\"\ngeneral = \"ig\"\n[[team]]\nid = \"ig\"\nname = \"IG\"\n\
         manager = \"boss@council.example.gov.uk\"\nmembers = { alice = \"alice@council.example.gov.uk\", \
         bob = \"bob@council.example.gov.uk\" }\n",
    )
    .unwrap();
    let path = dir.join(name);
    let text = format!(
        "[organisation]\nname = \"Test Council\"\nregion = \"england-and-wales\"\n[mailbox]\n\
         address = \"foi@council.example.gov.uk\"\n[paths]\ndata_dir = \"{data_dir}\"\nrules_dir = \"{}\"\n\
         templates_dir = \"{}\"\n[workflow]\nrouting_file = \"routing.toml\"\nreply_secret_file = \"secret\"\n",
        support::repo("rules").display(),
        support::repo("templates").display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(support::repo(&format!("tests/data/samples/{name}"))).unwrap()
}

/// A reply to the parking request, threaded by In-Reply-To.
fn follow_up() -> Vec<u8> {
    b"From: Eleanor Marsh <eleanor.marsh@example.org>\r\nTo: foi@council.example.gov.uk\r\n\
      Subject: Re: Freedom of Information request - parking enforcement spend\r\n\
      In-Reply-To: <20260112091403.4471.emarsh@mail-out.example.org>\r\n\
      Message-ID: <followup-1@mail-out.example.org>\r\nDate: Mon, 23 Nov 2026 09:00:00 +0000\r\n\r\n\
      To be clear, I mean the last three financial years only.\r\n"
        .to_vec()
}

/// Runs intake (`Ingest::record`, as the daemon does for each message) over a new request, machine
/// mail, a follow-up and a press enquiry into the store of `config`.
fn fill_through_intake(config: &Path) {
    let loaded = foi_triage::app::daemon::load(config).unwrap();
    let store = Store::open(&loaded.config.data_dir).unwrap();
    let ctx: SharedContext = Arc::new(RwLock::new(Arc::new(loaded.context)));
    let ids = Arc::new(SequentialIds::new());
    let env = Env::new(
        Arc::new(ManualClock::new(t0())),
        ids.clone(),
        Arc::new(support::sandbox()),
    );
    let workflow = Workflow::load(&loaded.config)
        .unwrap()
        .unwrap()
        .with_ids(ids);
    let ingest = Ingest::new(
        &loaded.config,
        Mode::Live,
        store.clone(),
        ctx,
        Arc::new(tokio::sync::Notify::new()),
        &env,
    )
    .with_workflow(Some(Arc::new(workflow)));
    let messages = [
        sample("foi-001-parking-spend.eml"),
        sample("auto-001-bounce-postfix-rfc3464.eml"),
        follow_up(),
        sample("media-001-school-closure-statement.eml"),
    ];
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for (i, raw) in messages.into_iter().enumerate() {
        let fetched = Fetched {
            uid: 101 + i as u32,
            internal_date: t0(),
            size: raw.len() as u64,
            partial: false,
            raw,
        };
        let (d, _) = rt
            .block_on(ingest.record("INBOX", 9, &fetched, t0()))
            .unwrap();
        assert!(
            matches!(d, Disposition::Recorded { .. }),
            "message {i}: {d:?}"
        );
    }
}

/// The record lines of a backup (between the header and the trailer), and its trailer without
/// the checksum: what two exports of one store share whenever they were taken (the header holds
/// the time of the export, and the checksum covers the header).
fn body(file: &Path) -> (Vec<String>, serde_json::Value) {
    let text = std::fs::read_to_string(file).unwrap();
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut trailer: serde_json::Value = serde_json::from_str(&lines[lines.len() - 1]).unwrap();
    trailer["sha256"] = serde_json::Value::Null;
    (lines[1..lines.len() - 1].to_vec(), trailer)
}

fn records(file: &Path) -> Vec<serde_json::Value> {
    body(file)
        .0
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn export_restore_verify_round_trip_on_a_store_intake_filled() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "foi-triage.toml", "data");
    fill_through_intake(&config);
    let cfg = config.to_str().unwrap();

    let o = run(&["store", "verify", "--config", cfg]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("store verify: OK"), "{}", stdout(&o));

    let first = dir.path().join("first.jsonl");
    let o = run(&["export", "--config", cfg, first.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("(2 cases)"), "{}", stdout(&o));
    let mode = std::fs::metadata(&first).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let trees: std::collections::BTreeSet<String> = records(&first)
        .iter()
        .map(|r| r["tree"].as_str().unwrap().to_string())
        .collect();
    for tree in [
        "cases",
        "audit",
        "outbox",
        "cursors",
        "seen",
        "marks",
        "raw",
        "idx_msgid",
    ] {
        assert!(trees.contains(tree), "{tree} is in the backup: {trees:?}");
    }

    let restored = dir.path().join("restored");
    let o = run(&[
        "restore",
        first.to_str().unwrap(),
        "--data-dir",
        restored.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("restored") && stdout(&o).contains("store verify: OK"),
        "{}",
        stdout(&o)
    );
    let o = run(&[
        "restore",
        first.to_str().unwrap(),
        "--data-dir",
        restored.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "a non-empty directory is refused");
    assert!(stderr(&o).contains("is not empty"), "{}", stderr(&o));

    let config2 = write_config(dir.path(), "restored.toml", "restored");
    let second = dir.path().join("second.jsonl");
    let o = run(&[
        "export",
        "--config",
        config2.to_str().unwrap(),
        second.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        body(&second),
        body(&first),
        "export → restore → export: the same records and counts (byte identity at one export time \
         is io::store::backup's test)"
    );

    // The follow-up joined its case, and the restored store answers as the first does.
    let o = run(&[
        "case",
        "show",
        "--config",
        config2.to_str().unwrap(),
        "FOI-2026-000001",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("followup-1@mail-out.example.org"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn a_damaged_backup_is_refused_and_a_broken_index_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "foi-triage.toml", "data");
    fill_through_intake(&config);
    let file = dir.path().join("b.jsonl");
    let o = run(&[
        "export",
        "--config",
        config.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));

    let text = std::fs::read_to_string(&file).unwrap();
    let damaged = dir.path().join("damaged.jsonl");
    std::fs::write(&damaged, text.replacen("Eleanor", "Elinor", 1)).unwrap();
    let target = dir.path().join("never");
    let o = run(&[
        "restore",
        damaged.to_str().unwrap(),
        "--data-dir",
        target.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("damaged"), "{}", stderr(&o));
    assert!(!target.exists(), "nothing written from a damaged backup");

    // Break an index behind the store's back: verify names it and fails.
    let data = dir.path().join("data");
    {
        let db = sled::open(&data).unwrap();
        let idx = db.open_tree("idx_msgid").unwrap();
        let removed = idx
            .remove("20260112091403.4471.emarsh@mail-out.example.org")
            .unwrap();
        assert!(removed.is_some(), "the request's Message-ID was indexed");
        db.flush().unwrap();
    }
    let o = run(&["store", "verify", "--data-dir", data.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains(
            "idx_msgid\t20260112091403.4471.emarsh@mail-out.example.org\ta case lists it but the index does not"
        ),
        "{}",
        stdout(&o)
    );
    let o = run(&["store", "verify", "--data-dir", "no/such/store"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        !Path::new("no/such/store").exists(),
        "verify creates nothing"
    );
}

#[test]
fn export_into_a_directory_names_and_rotates_backups() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "foi-triage.toml", "data");
    fill_through_intake(&config);
    let cfg = config.to_str().unwrap();
    let backups = dir.path().join("backups");
    std::fs::create_dir(&backups).unwrap();
    // Two older backups and a file of someone else's.
    for name in [
        "foi-triage-20200101T000000Z.jsonl",
        "foi-triage-20200102T000000Z.jsonl",
        "README",
    ] {
        std::fs::write(backups.join(name), "old").unwrap();
    }
    let o = run(&[
        "export",
        "--config",
        cfg,
        backups.to_str().unwrap(),
        "--keep",
        "2",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut left: Vec<String> = std::fs::read_dir(&backups)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left.len(), 3, "{left:?}");
    assert_eq!(left[0], "README");
    assert_eq!(left[1], "foi-triage-20200102T000000Z.jsonl");
    assert!(left[2].starts_with("foi-triage-20") && left[2] > left[1]);
    assert!(stdout(&o).contains("deleted"), "{}", stdout(&o));
    let o = run(&[
        "export",
        "--config",
        cfg,
        dir.path().join("x.jsonl").to_str().unwrap(),
        "--keep",
        "2",
    ]);
    assert_eq!(o.status.code(), Some(2), "--keep needs a directory");
    let o = run(&[
        "export",
        "--config",
        cfg,
        backups.to_str().unwrap(),
        "--keep",
        "0",
    ]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "keeping none would delete the new one"
    );
}

/// The backup of a store of every schema this project has had, frozen when that schema was
/// current: each must restore and open with this build (migrated if older). Bumping
/// `SCHEMA_VERSION` adds a migration and `tests/data/store-vN.jsonl` (made by
/// `write_the_fixture_of_this_schema`); the old ones stay.
#[test]
fn the_backup_of_every_past_schema_restores_and_opens() {
    for schema in 1..=SCHEMA_VERSION {
        let file = support::repo(&format!("tests/data/store-v{schema}.jsonl"));
        assert!(file.exists(), "{} is missing", file.display());
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let summary =
            backup::restore(&file, &data).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(summary.header.schema, schema);
        let store = Store::open(&data).unwrap();
        assert_eq!(store.schema_version(), SCHEMA_VERSION);
        let report = store.verify().unwrap();
        assert!(report.is_clean(), "{}", report.text());
        let cases = store.list_cases(CaseOrder::Reference).unwrap();
        let kinds: Vec<(String, Kind)> = cases
            .iter()
            .map(|c| (c.reference.to_string(), c.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                ("FOI-2026-000001".to_string(), Kind::Foi),
                ("MED-2026-000001".to_string(), Kind::Media)
            ]
        );
        assert!(
            cases[0]
                .message_ids
                .iter()
                .any(|m| m.starts_with("followup-1@"))
        );
        assert!(store.audit(&cases[0].reference).unwrap().len() > 2);
        let cursor = store.cursor("INBOX").unwrap().unwrap();
        assert_eq!((cursor.uidvalidity, cursor.last_uid), (9, 104));
    }
}

/// Writes `tests/data/store-v{SCHEMA_VERSION}.jsonl` when it does not exist yet: run it once
/// after a schema bump (`cargo test --test tests write_the_fixture -- --ignored`) and commit the
/// file. It never overwrites the frozen backup of a schema.
#[test]
#[ignore = "run by hand after a schema bump"]
fn write_the_fixture_of_this_schema() {
    let file = support::repo(&format!("tests/data/store-v{SCHEMA_VERSION}.jsonl"));
    assert!(!file.exists(), "{} is frozen", file.display());
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "foi-triage.toml", "data");
    fill_through_intake(&config);
    let store = Store::open(&dir.path().join("data")).unwrap();
    backup::write_file(&file, |out| {
        store.export(out, t0()).map(drop).map_err(|e| e.to_string())
    })
    .unwrap();
}
