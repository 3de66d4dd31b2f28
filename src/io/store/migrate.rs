//! Schema migrations: how a store written by an older build is brought up to this build's
//! [`SCHEMA_VERSION`](super::SCHEMA_VERSION) when it opens.
//!
//! Every bump of `SCHEMA_VERSION` must add one [`Migration`] from the previous version to
//! [`MIGRATIONS`], and a backup of a store of the previous version to `tests/data/` (as
//! `store-v1.jsonl` is for version 1), with a test that restores it and opens it with the new
//! build: backups taken before an upgrade must stay restorable after it. A backup of an older
//! schema is restored as it was written, then opened, which runs these same steps.
//!
//! Each step runs, then the marker moves on to its target version and is flushed, so an
//! interrupted upgrade resumes at the step that did not finish. A step must therefore be safe to
//! run again on a store it already changed in part.

use super::error::StoreError;
use super::{SCHEMA_KEY, TREE_DB};

/// One step of the upgrade: a store at `from` becomes `from + 1`.
pub(super) struct Migration {
    /// The version it upgrades.
    pub(super) from: u32,
    /// What it changes, for the log.
    pub(super) what: &'static str,
    /// The change itself, on the open database.
    pub(super) run: fn(&sled::Db) -> Result<(), StoreError>,
}

/// Every migration, oldest first. Empty while schema 1 is the only one there has been.
pub(super) const MIGRATIONS: &[Migration] = &[];

/// Runs the steps from `found` up to `target` (every one must be in `steps`), moving the marker
/// after each.
///
/// # Errors
/// [`StoreError::UnknownSchema`] when a step is missing (nothing is changed); what a step
/// reports; [`StoreError::Sled`] when the marker cannot be written.
pub(super) fn upgrade(
    db: &sled::Db,
    found: u32,
    target: u32,
    steps: &[Migration],
) -> Result<(), StoreError> {
    let path: Vec<&Migration> = (found..target)
        .map(|v| steps.iter().find(|m| m.from == v))
        .collect::<Option<_>>()
        .ok_or_else(|| StoreError::UnknownSchema {
            found: format!("\"{found}\" (no migration from it)"),
            supported: target,
        })?;
    for step in path {
        tracing::info!(
            from = step.from,
            to = step.from + 1,
            what = step.what,
            "migrating the store"
        );
        (step.run)(db)?;
        let sled_err = |op| {
            move |source| StoreError::Sled {
                op,
                tree: TREE_DB,
                source,
            }
        };
        db.insert(SCHEMA_KEY, (step.from + 1).to_string().as_bytes())
            .map_err(sled_err("insert"))?;
        db.flush().map_err(sled_err("flush"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker(db: &sled::Db) -> String {
        let v = db.get(SCHEMA_KEY).expect("read").expect("stamped");
        String::from_utf8(v.to_vec()).expect("ascii")
    }

    /// A made-up schema 0 whose cases tree was called `case`.
    fn rename_case_tree(db: &sled::Db) -> Result<(), StoreError> {
        let old = db.open_tree("case").expect("old tree");
        let new = db.open_tree("cases").expect("new tree");
        for item in old.iter() {
            let (k, v) = item.expect("read");
            new.insert(k, v).expect("write");
        }
        db.drop_tree("case").expect("drop");
        Ok(())
    }

    const STEPS: &[Migration] = &[Migration {
        from: 0,
        what: "rename tree case to cases",
        run: rename_case_tree,
    }];

    #[test]
    fn steps_run_in_order_and_move_the_marker() {
        let db = sled::Config::new().temporary(true).open().expect("db");
        db.insert(SCHEMA_KEY, b"0").expect("stamp");
        db.open_tree("case")
            .expect("tree")
            .insert("FOI-2026-0000000001", "{}")
            .expect("write");
        upgrade(&db, 0, 1, STEPS).expect("upgrades");
        assert_eq!(marker(&db), "1");
        let cases = db.open_tree("cases").expect("tree");
        assert!(cases.get("FOI-2026-0000000001").expect("read").is_some());
        upgrade(&db, 1, 1, STEPS).expect("nothing to do at the target");
    }

    #[test]
    fn a_missing_step_refuses_the_store_and_changes_nothing() {
        let db = sled::Config::new().temporary(true).open().expect("db");
        db.insert(SCHEMA_KEY, b"0").expect("stamp");
        let err = upgrade(&db, 0, 2, STEPS).expect_err("no step from 1");
        assert!(matches!(err, StoreError::UnknownSchema { .. }), "{err}");
        assert_eq!(marker(&db), "0", "checked before any step runs");
        assert!(upgrade(&db, 0, 1, &[]).is_err());
    }
}
