//! Backups of a store written as the daemon writes it: whole, deterministic, checked on the way
//! back, and refused rather than partial.

use super::*;
use crate::io::store::fixture::{fill, t};
use crate::io::store::{CaseOrder, Change, Mark};
use std::os::unix::fs::PermissionsExt;

fn export_bytes(store: &Store) -> Vec<u8> {
    let mut out = Vec::new();
    store.export(&mut out, t(4, 2)).expect("exports");
    out
}

fn lines(bytes: &[u8]) -> Vec<Value> {
    std::str::from_utf8(bytes)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

fn filled(dir: &Path) -> Store {
    let store = Store::open(dir).expect("opens");
    fill(&store);
    store
}

#[test]
fn export_restore_export_is_identical_and_covers_every_tree() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = {
        let store = filled(&dir.path().join("a"));
        export_bytes(&store)
    };
    let summary = check(first.as_slice()).expect("the backup checks");
    for spec in TREES {
        assert!(
            summary.trailer.counts[spec.name] > 0,
            "the fixture fills {}: {:?}",
            spec.name,
            summary.trailer.counts
        );
    }
    assert_eq!(summary.bytes, first.len() as u64);
    assert_eq!(summary.header.schema, SCHEMA_VERSION);
    assert_eq!(summary.header.created, t(4, 2));

    let file = dir.path().join("backup.jsonl");
    std::fs::write(&file, &first).expect("write");
    let restored = dir.path().join("b");
    let again = restore(&file, &restored).expect("restores");
    assert_eq!(again, summary);
    let store = Store::open(&restored).expect("the restored store opens");
    assert!(store.verify().expect("verifies").is_clean());
    let second = export_bytes(&store);
    assert_eq!(
        String::from_utf8_lossy(&second),
        String::from_utf8_lossy(&first),
        "export → restore → export is byte for byte the same"
    );
    assert_eq!(second, first);
    // What people use, not only bytes: the restored store answers as the first did.
    assert_eq!(
        store.list_cases(CaseOrder::Reference).expect("list").len(),
        3
    );
    let ack_to = store
        .outbox_count_to("r1@example.org", t(1, 0))
        .expect("rate-limit index");
    assert_eq!(ack_to, 1, "the recipient index came back");
}

#[test]
fn lines_are_header_records_in_table_and_key_order_then_trailer() {
    let store = Store::open_temporary().expect("store");
    let refs = fill(&store);
    let all = lines(&export_bytes(&store));
    let header = &all[0];
    assert_eq!(header["format"], "foi-triage-export");
    assert_eq!(header["version"], 1);
    assert_eq!(header["schema"], SCHEMA_VERSION);
    assert_eq!(header["app_version"], env!("CARGO_PKG_VERSION"));
    let trailer = all.last().expect("trailer");
    assert_eq!(trailer["end"], "foi-triage-export");
    let records = &all[1..all.len() - 1];
    assert_eq!(trailer["records"], records.len());
    let order: Vec<usize> = records
        .iter()
        .map(|r| {
            TREES
                .iter()
                .position(|t| t.name == r["tree"])
                .expect("a known tree")
        })
        .collect();
    assert!(order.windows(2).all(|w| w[0] <= w[1]), "table order");
    let cases: Vec<&Value> = records.iter().filter(|r| r["tree"] == "cases").collect();
    assert_eq!(cases[0]["key"], "FOI-2026-0000000001");
    assert_eq!(cases[0]["value"]["reference"], refs[0].to_string());
    assert_eq!(
        cases[2]["key"], "SAR-2026-0000000001",
        "FOI sorts before SAR"
    );
    let audit = records
        .iter()
        .find(|r| r["tree"] == "audit")
        .expect("audit");
    assert_eq!(audit["key"], serde_json::json!(["FOI-2026-0000000001", 0]));
    assert_eq!(audit["value"]["action"], "received");
    let raw = records.iter().find(|r| r["tree"] == "raw").expect("raw");
    let bytes = trees::spec("raw")
        .expect("raw tree")
        .value
        .store_bytes(raw["value"].clone(), true)
        .expect("base64");
    assert_eq!(crate::core::dedupe::dedupe_hash(&bytes), raw["key"]);
    let outbox = records
        .iter()
        .find(|r| r["tree"] == "outbox")
        .expect("outbox");
    assert_eq!(outbox["key"], 1);
}

#[test]
fn restore_refuses_a_directory_that_holds_anything_and_leaves_it_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("backup.jsonl");
    std::fs::write(&file, export_bytes(&filled(&dir.path().join("a")))).expect("write");
    let target = dir.path().join("busy");
    std::fs::create_dir(&target).expect("mkdir");
    std::fs::write(target.join("notes.txt"), "keep me").expect("write");
    let err = restore(&file, &target).expect_err("not empty");
    assert!(matches!(err, BackupError::NotEmpty(_)), "{err}");
    assert_eq!(
        std::fs::read_to_string(target.join("notes.txt")).expect("still there"),
        "keep me"
    );
    assert_eq!(std::fs::read_dir(&target).expect("read").count(), 1);
    let err = restore(&file, &dir.path().join("a")).expect_err("a live store");
    assert!(matches!(err, BackupError::NotEmpty(_)), "{err}");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    restore(&file, &empty).expect("an empty directory is fine");
}

/// The bytes of `backup` with its first `from` replaced by `to`.
fn tampered(backup: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(backup.to_vec()).expect("utf-8");
    assert!(text.contains(from), "{from:?} is in the backup");
    text.replacen(from, to, 1).into_bytes()
}

#[test]
fn a_changed_cut_or_foreign_backup_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = export_bytes(&filled(&dir.path().join("a")));
    let n = u64::try_from(good.iter().filter(|&&b| b == b'\n').count()).expect("fits");
    let cut = &good[..good.len() - 10];
    let newer = tampered(&good, "\"schema\":1", "\"schema\":99");
    type Expect = fn(&BackupError) -> bool;
    let cases: [(&str, Vec<u8>, Expect); 8] = [
        (
            "a changed record (valid JSON)",
            tampered(&good, "Request 2", "Request 3"),
            |e| matches!(e, BackupError::Damaged(w) if w.contains("SHA-256")),
        ),
        ("a cut file", cut.to_vec(), |e| {
            matches!(e, BackupError::Truncated { .. })
        }),
        (
            "a miscounted trailer",
            tampered(&good, "\"cases\":3", "\"cases\":4"),
            |e| matches!(e, BackupError::Damaged(w) if w.contains("counts")),
        ),
        ("a newer schema", newer, |e| {
            matches!(e, BackupError::TooNew { schema: 99, .. })
        }),
        ("not a backup", b"{\"hello\":1}\n".to_vec(), |e| {
            matches!(e, BackupError::Line { line: 1, .. })
        }),
        (
            "a tree this build does not know",
            tampered(&good, "{\"tree\":\"marks\"", "{\"tree\":\"mystery\""),
            |e| matches!(e, BackupError::Line { reason, .. } if reason.contains("mystery")),
        ),
        (
            "a record that is not its type",
            tampered(&good, "\"subject\":\"Request 2\"", "\"subject\":2"),
            |e| matches!(e, BackupError::Line { reason, .. } if reason.contains("cases value")),
        ),
        (
            "data after the trailer",
            [&good[..], b"{}\n"].concat(),
            |e| matches!(e, BackupError::Line { reason, .. } if reason.contains("after the trailer")),
        ),
    ];
    for (what, bytes, expected) in cases {
        let err = check(bytes.as_slice()).expect_err(what);
        assert!(expected(&err), "{what}: {err}");
        let file = dir.path().join("bad.jsonl");
        std::fs::write(&file, &bytes).expect("write");
        let target = dir.path().join("target");
        let err = restore(&file, &target).expect_err(what);
        assert!(expected(&err), "{what}: {err}");
        assert!(!target.exists(), "{what}: nothing written");
    }
    assert!(check(good.as_slice()).is_ok());
    assert!(n > 3);
}

#[test]
fn a_tree_the_table_does_not_know_stops_export_and_verify() {
    let store = Store::open_temporary().expect("store");
    fill(&store);
    store
        .db
        .open_tree("machine_mail")
        .expect("tree")
        .insert("k", "v")
        .expect("write");
    let err = store
        .export(Vec::new(), t(4, 2))
        .expect_err("refused, not partial");
    assert!(
        matches!(&err, StoreError::NotBackedUp { what } if what == &["tree machine_mail"]),
        "{err}"
    );
    assert!(err.to_string().contains("src/io/store/trees.rs"), "{err}");
    let report = store.verify().expect("verifies");
    assert!(!report.is_clean());
    assert!(
        report
            .text()
            .contains("tree machine_mail is not covered by backups"),
        "{}",
        report.text()
    );
    // An empty new tree counts too: the table must know it before any data arrives.
    let store = Store::open_temporary().expect("store");
    store.db.open_tree("corrections").expect("tree");
    assert!(store.export(Vec::new(), t(4, 2)).is_err());
    // And so does a stray key in sled's default tree.
    let store = Store::open_temporary().expect("store");
    store.db.insert("stray", "x").expect("write");
    let err = store.export(Vec::new(), t(4, 2)).expect_err("refused");
    assert!(err.to_string().contains("stray"), "{err}");
}

#[test]
fn export_reports_write_errors_and_damaged_records() {
    struct Broken;
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let store = Store::open_temporary().expect("store");
    fill(&store);
    let err = store.export(Broken, t(4, 2)).expect_err("write fails");
    assert!(matches!(err, StoreError::Export { .. }), "{err}");
    store
        .cases
        .insert("FOI-2026-0000000009", &b"{not json"[..])
        .expect("inject");
    let err = store.export(Vec::new(), t(4, 2)).expect_err("corrupt");
    assert!(
        matches!(&err, StoreError::Corrupt { tree: "cases", key, .. } if key == "FOI-2026-0000000009"),
        "{err}"
    );
}

#[test]
fn writers_wait_while_an_export_reads_and_then_go_through() {
    use std::sync::mpsc;
    /// A destination that stalls after the header until told to go on.
    struct Stalled(mpsc::Receiver<()>, Vec<u8>, bool);
    impl Write for Stalled {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            if !self.2 {
                self.2 = true;
                let _ = self.0.recv();
            }
            self.1.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let store = Store::open_temporary().expect("store");
    fill(&store);
    let before = export_bytes(&store);
    let (go, wait) = mpsc::channel();
    let exporting = {
        let store = store.clone();
        std::thread::spawn(move || {
            let mut out = Stalled(wait, Vec::new(), false);
            store.export(&mut out, t(4, 2)).expect("exports");
            out.1
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(50));
    let writing = {
        let store = store.clone();
        std::thread::spawn(move || {
            let mark = Mark {
                key: "late/mark".into(),
                value: serde_json::json!(1),
            };
            store.apply(Change {
                marks: vec![mark],
                ..Change::default()
            })
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(!writing.is_finished(), "the change waits for the export");
    go.send(()).expect("release");
    let during = exporting.join().expect("export thread");
    writing
        .join()
        .expect("writer")
        .expect("the change went through");
    assert_eq!(during, before, "the export saw the store as it was");
    assert!(store.mark("late/mark").expect("read").is_some());
}

#[test]
fn write_file_replaces_only_with_a_checked_private_backup() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = filled(&dir.path().join("a"));
    let dest = dir.path().join("out.jsonl");
    std::fs::write(&dest, "the previous backup").expect("write");
    let summary = write_file(&dest, |out| {
        store
            .export(out, t(4, 2))
            .map(drop)
            .map_err(|e| e.to_string())
    })
    .expect("written");
    assert_eq!(std::fs::read(&dest).expect("read"), export_bytes(&store));
    assert_eq!(summary.bytes, std::fs::metadata(&dest).expect("stat").len());
    let mode = std::fs::metadata(&dest).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "personal data: owner only");
    let tmp = dir.path().join("out.jsonl.tmp");
    assert!(!tmp.exists());

    // A stream the daemon abandoned: its reason is reported, the old backup is kept.
    let err = write_file(&dest, |out| {
        out.write_all(b"{\"format\":\"foi-triage-export\",\"vers")
            .map_err(|e| e.to_string())?;
        out.write_all(b"\n{\"abort\":\"corrupt record in tree cases\"}\n")
            .map_err(|e| e.to_string())
    })
    .expect_err("abandoned");
    assert!(
        matches!(&err, BackupError::Aborted(why) if why.contains("corrupt record")),
        "{err}"
    );
    assert_eq!(std::fs::read(&dest).expect("read"), export_bytes(&store));
    assert!(!tmp.exists(), "the partial file is removed");
    let err = write_file(&dest, |_| Err("the daemon is busy".into())).expect_err("refused");
    assert!(matches!(&err, BackupError::Aborted(why) if why == "the daemon is busy"));
}

#[test]
fn rotation_keeps_the_newest_and_touches_nothing_else() {
    let dir = tempfile::tempdir().expect("tempdir");
    let names = [
        file_name(t(1, 2)),
        file_name(t(2, 2)),
        file_name(t(3, 2)),
        file_name(t(4, 2)),
    ];
    assert_eq!(names[0], "foi-triage-20260301T020000Z.jsonl");
    let others = [
        "notes.txt",
        "foi-triage-20260101T000000Z.jsonl.tmp",
        "foi-triage-latest.jsonl",
    ];
    for n in names.iter().map(String::as_str).chain(others) {
        std::fs::write(dir.path().join(n), "x").expect("write");
    }
    let deleted = rotate(dir.path(), 2).expect("rotates");
    assert_eq!(
        deleted,
        vec![dir.path().join(&names[1]), dir.path().join(&names[0])]
    );
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .expect("read")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    left.sort();
    let mut want: Vec<String> = names[2..]
        .iter()
        .cloned()
        .chain(others.iter().map(|s| s.to_string()))
        .collect();
    want.sort();
    assert_eq!(left, want);
    assert!(rotate(dir.path(), 5).expect("nothing to do").is_empty());
}
