//! `store verify`: every record decodes, every index agrees with the records both ways, every
//! counter is ahead of what it numbered. Read-only; it reports, it never repairs.
//!
//! What is checked, tree by tree:
//! - every tree and key is covered by backups (`trees`), and every record has its tree's forms;
//! - `cases`: stored under their own reference; each has at least one audit event;
//! - `audit`: belongs to an existing case; event numbers run 0, 1, 2… without a gap;
//! - `sequences`: each (prefix, year) counter is at or past the highest reference of its cases;
//!   each case's audit counter is its number of events; the outbox counter is at or past the
//!   highest row id; no other counter;
//! - `idx_msgid`, `idx_hash`, `idx_requester`, `idx_due`: each entry names an existing case that
//!   has that Message-ID, content hash, requester or (unfinished) due date, and each case has its
//!   entries (a Message-ID two cases list is kept by the first: either owner is right; a content
//!   hash must be its case's own);
//! - `outbox`: stored under its own id; the case it names exists; `idx_outbox_due` holds exactly
//!   the queued (pending or sending) rows at their attempt times; every `idx_outbox_to` entry is
//!   an existing row at its enqueue time (the recipient is not in the row, so a missing entry
//!   cannot be seen);
//! - `cursors`, `marks`: decode; `seen`: each record is filed under its own Message-ID or hash;
//! - `raw`: the bytes hash to their key (the dedupe hash of `core::dedupe`).
//!
//! A raw message no case names is not a problem: it is written before its case's transaction,
//! which may then fail (see `Store::put_raw`).

use super::error::{StoreError, show_key};
use super::trees::TREES;
use super::{
    Store, TREE_AUDIT, TREE_CASES, TREE_IDX_DUE, TREE_IDX_HASH, TREE_IDX_MSGID,
    TREE_IDX_OUTBOX_DUE, TREE_IDX_OUTBOX_TO, TREE_IDX_REQUESTER, TREE_OUTBOX, TREE_RAW, TREE_SEEN,
    TREE_SEQUENCES, decode_case, keys, scan_error,
};
use crate::model::case::AuditEvent;
use crate::model::records::{OutboxRow, SeenRecord};
use chrono::{DateTime, Utc};
use sled::{IVec, Tree};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Problems kept in a report; past this only their number is (a store broken everywhere needs a
/// restore, not a million lines).
pub const MAX_PROBLEMS: usize = 1000;

/// One thing wrong in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The tree it is in.
    pub tree: String,
    /// The key, printable (other bytes as `\xNN`), or `-` for the tree as a whole.
    pub key: String,
    /// What is wrong, in words.
    pub what: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\t{}\t{}", self.tree, self.key, self.what)
    }
}

/// What a verification found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Records per tree.
    pub counts: BTreeMap<String, u64>,
    /// The first [`MAX_PROBLEMS`] problems, tree by tree.
    pub problems: Vec<Problem>,
    /// Problems found in all (more than `problems` holds when over the cap).
    pub found: usize,
}

impl Report {
    /// Whether nothing is wrong.
    pub fn is_clean(&self) -> bool {
        self.found == 0
    }

    /// The report as people read it: one `tree<TAB>key<TAB>problem` line per problem, then a
    /// summary line.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for p in &self.problems {
            out.push_str(&format!("{p}\n"));
        }
        if self.found > self.problems.len() {
            out.push_str(&format!(
                "… and {} more problems\n",
                self.found - self.problems.len()
            ));
        }
        let records: u64 = self.counts.values().sum();
        let trees = self.counts.len();
        if self.is_clean() {
            out.push_str(&format!(
                "store verify: OK: {records} records in {trees} trees\n"
            ));
        } else {
            out.push_str(&format!(
                "store verify: {} problem(s) in {records} records in {trees} trees\n",
                self.found
            ));
        }
        out
    }

    fn add(&mut self, tree: &str, key: &[u8], what: impl Into<String>) {
        let key = if key.is_empty() {
            "-".into()
        } else {
            show_key(key)
        };
        self.found += 1;
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(Problem {
                tree: tree.into(),
                key,
                what: what.into(),
            });
        }
    }
}

impl Store {
    /// Checks every tree and invariant (see the module documentation) while writers wait, so the
    /// trees are seen at one instant.
    ///
    /// # Errors
    /// [`StoreError::Sled`] when sled cannot be read; everything wrong with the data is in the
    /// report instead.
    pub fn verify(&self) -> Result<Report, StoreError> {
        let _writers_wait = self.gate.exclusive();
        let mut v = Verifier {
            store: self,
            report: Report::default(),
            cases: BTreeMap::new(),
        };
        v.coverage()?;
        v.forms()?;
        v.cases()?;
        v.audit()?;
        v.outbox()?;
        v.sequences()?;
        v.case_indexes()?;
        v.seen()?;
        v.raw()?;
        Ok(v.report)
    }
}

/// What the index checks need of one case.
#[derive(Debug, Default)]
struct CaseFacts {
    msgids: BTreeSet<String>,
    hashes: BTreeSet<String>,
    requester: Option<Vec<u8>>,
    due: Option<Vec<u8>>,
    events: u64,
}

struct Verifier<'a> {
    store: &'a Store,
    report: Report,
    /// By case key.
    cases: BTreeMap<Vec<u8>, CaseFacts>,
}

fn scan(tree: &Tree, name: &'static str) -> impl Iterator<Item = Result<(IVec, IVec), StoreError>> {
    tree.iter()
        .map(move |item| item.map_err(|source| scan_error(name, source)))
}

impl Verifier<'_> {
    /// Trees and keys no backup would hold.
    fn coverage(&mut self) -> Result<(), StoreError> {
        match self.store.check_backed_up() {
            Err(StoreError::NotBackedUp { what }) => {
                for w in what {
                    self.report
                        .add("db", b"", format!("{w} is not covered by backups"));
                }
                Ok(())
            }
            other => other,
        }
    }

    /// Every record in its tree's key and value forms (what a backup needs to write it).
    fn forms(&mut self) -> Result<(), StoreError> {
        let mut scratch = Vec::new();
        for spec in TREES {
            let tree = self
                .store
                .db
                .open_tree(spec.name)
                .map_err(|source| StoreError::Sled {
                    op: "open tree",
                    tree: spec.name,
                    source,
                })?;
            let mut n = 0;
            for item in scan(&tree, spec.name) {
                let (k, v) = item?;
                n += 1;
                if let Err(e) = spec.key.to_json(&k) {
                    self.report.add(spec.name, &k, format!("key: {e}"));
                }
                scratch.clear();
                if let Err(e) = spec.value.write_json(&v, &mut scratch) {
                    self.report.add(spec.name, &k, format!("value: {e}"));
                }
            }
            self.report.counts.insert(spec.name.to_string(), n);
        }
        Ok(())
    }

    fn cases(&mut self) -> Result<(), StoreError> {
        for item in scan(&self.store.cases, TREE_CASES) {
            let (k, v) = item?;
            let case = match decode_case(&k, &v) {
                Ok(c) => c,
                // A record that does not decode is reported by `forms`; one under another
                // case's key is reported here.
                Err(StoreError::Corrupt { reason, .. }) if reason.starts_with("record is for") => {
                    self.report.add(TREE_CASES, &k, reason);
                    continue;
                }
                Err(_) => continue,
            };
            let r = &case.reference;
            let norm = |list: &[String], f: fn(&str) -> Option<String>| -> BTreeSet<String> {
                list.iter().filter_map(|x| f(x)).collect()
            };
            let facts = CaseFacts {
                msgids: norm(&case.message_ids, keys::msgid_norm),
                hashes: norm(&case.content_hashes, keys::hash_norm),
                requester: keys::email_norm(&case.requester.email)
                    .map(|e| keys::requester_key(&e, r)),
                due: case
                    .due
                    .filter(|d| !case.state.is_finished() && keys::due_in_range(*d))
                    .map(|d| keys::due_key(d, r)),
                events: 0,
            };
            self.cases.insert(k.to_vec(), facts);
        }
        Ok(())
    }

    fn audit(&mut self) -> Result<(), StoreError> {
        let mut last: Option<(Vec<u8>, u64)> = None;
        for item in scan(&self.store.audit, TREE_AUDIT) {
            let (k, v) = item?;
            let Some(split) = k.len().checked_sub(8).filter(|&n| n > 0) else {
                continue; // reported by `forms`
            };
            let (case_key, n) = (k[..split].to_vec(), keys::decode_u64(&k[split..]));
            if serde_json::from_slice::<AuditEvent>(&v).is_err() {
                continue; // reported by `forms`
            }
            let expected = match &last {
                Some((c, next)) if *c == case_key => *next,
                _ => 0,
            };
            if n != Some(expected) {
                self.report.add(
                    TREE_AUDIT,
                    &k,
                    format!("event number {n:?} where {expected} was expected (a gap)"),
                );
            }
            last = Some((case_key.clone(), n.unwrap_or(expected) + 1));
            match self.cases.get_mut(&case_key) {
                Some(facts) => facts.events += 1,
                None => {
                    self.report
                        .add(TREE_AUDIT, &k, "audit event of a case that does not exist")
                }
            }
        }
        let silent: Vec<Vec<u8>> = self
            .cases
            .iter()
            .filter(|(_, f)| f.events == 0)
            .map(|(k, _)| k.clone())
            .collect();
        for k in silent {
            self.report
                .add(TREE_CASES, &k, "the case has no audit event");
        }
        Ok(())
    }

    fn outbox(&mut self) -> Result<(), StoreError> {
        let mut due = BTreeSet::new();
        // Only what the recipient index is checked against: rows can be large (a letter each).
        let mut enqueued: BTreeMap<u64, DateTime<Utc>> = BTreeMap::new();
        for item in scan(&self.store.outbox, TREE_OUTBOX) {
            let (k, v) = item?;
            let (Some(id), Ok(row)) = (
                keys::outbox_id_from_key(&k),
                serde_json::from_slice::<OutboxRow>(&v),
            ) else {
                continue; // reported by `forms`
            };
            if row.id != id {
                self.report.add(
                    TREE_OUTBOX,
                    &k,
                    format!("the row says it is row {}", row.id),
                );
            }
            if let Some(r) = &row.case
                && !self.cases.contains_key(&keys::case_key(r))
            {
                self.report.add(
                    TREE_OUTBOX,
                    &k,
                    format!("the row is about case {r}, which does not exist"),
                );
            }
            if row.status.is_queued() {
                due.insert(keys::outbox_due_key(row.next_attempt_at, id).to_vec());
            }
            enqueued.insert(id, row.created_at);
        }
        self.compare(&self.store.idx_outbox_due, TREE_IDX_OUTBOX_DUE, due, |_| {
            "a queued outbox row is missing from the due index".into()
        })?;
        for item in scan(&self.store.idx_outbox_to, TREE_IDX_OUTBOX_TO) {
            let (k, _) = item?;
            let fine = keys::outbox_to_split(&k).is_some_and(|(email, id)| {
                enqueued
                    .get(&id)
                    .is_some_and(|at| keys::outbox_to_key(email, *at, id) == k.as_ref())
            });
            if !fine {
                self.report.add(
                    TREE_IDX_OUTBOX_TO,
                    &k,
                    "not an outbox row that exists, at its enqueue time",
                );
            }
        }
        let highest = enqueued.keys().next_back().copied().unwrap_or(0);
        self.outbox_counter(highest)
    }

    fn outbox_counter(&mut self, highest: u64) -> Result<(), StoreError> {
        let counter = super::get(&self.store.sequences, TREE_SEQUENCES, keys::SEQ_OUTBOX_KEY)?
            .and_then(|v| keys::decode_u64(&v))
            .unwrap_or(0);
        if counter < highest {
            self.report.add(
                TREE_SEQUENCES,
                keys::SEQ_OUTBOX_KEY,
                format!("the counter is {counter}, behind outbox row {highest}"),
            );
        }
        Ok(())
    }

    fn sequences(&mut self) -> Result<(), StoreError> {
        // Highest sequence per (prefix, year) among the cases.
        let mut highest: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
        for k in self.cases.keys() {
            if let Some(r) = keys::case_ref_from_key(k) {
                let e = highest
                    .entry(keys::seq_case_key(r.prefix(), r.year()))
                    .or_default();
                *e = (*e).max(u64::from(r.seq()));
            }
        }
        let mut audit_counters = BTreeSet::new();
        for item in scan(&self.store.sequences, TREE_SEQUENCES) {
            let (k, v) = item?;
            let Some(n) = keys::decode_u64(&v) else {
                continue; // reported by `forms`
            };
            if k.starts_with(b"case\0") {
                match highest.remove(k.as_ref()) {
                    Some(h) if n < h => self.report.add(
                        TREE_SEQUENCES,
                        &k,
                        format!("the counter is {n}, behind the case numbered {h}"),
                    ),
                    _ => {}
                }
            } else if let Some(case_key) = k.strip_prefix(b"audit\0") {
                audit_counters.insert(case_key.to_vec());
                match self.cases.get(case_key) {
                    None => self.report.add(
                        TREE_SEQUENCES,
                        &k,
                        "audit counter of a case that does not exist",
                    ),
                    Some(f) if f.events != n => self.report.add(
                        TREE_SEQUENCES,
                        &k,
                        format!("the counter is {n} but the case has {} events", f.events),
                    ),
                    Some(_) => {}
                }
            } else if k.as_ref() != keys::SEQ_OUTBOX_KEY && k.as_ref() != keys::SEQ_MACHINE_KEY {
                self.report
                    .add(TREE_SEQUENCES, &k, "not a counter the store keeps");
            }
        }
        for (k, h) in highest {
            self.report.add(
                TREE_SEQUENCES,
                &k,
                format!("no counter, but cases up to number {h} exist"),
            );
        }
        let uncounted: Vec<Vec<u8>> = self
            .cases
            .iter()
            .filter(|(k, f)| f.events > 0 && !audit_counters.contains(*k))
            .map(|(k, _)| k.clone())
            .collect();
        for k in uncounted {
            let mut key = b"audit\0".to_vec();
            key.extend_from_slice(&k);
            self.report.add(
                TREE_SEQUENCES,
                &key,
                "the case has audit events but no audit counter",
            );
        }
        Ok(())
    }

    fn case_indexes(&mut self) -> Result<(), StoreError> {
        let collect = |f: fn(&CaseFacts) -> Option<&Vec<u8>>| -> BTreeSet<Vec<u8>> {
            self.cases.values().filter_map(|c| f(c).cloned()).collect()
        };
        let requesters = collect(|c| c.requester.as_ref());
        let dues = collect(|c| c.due.as_ref());
        self.compare(
            &self.store.idx_requester,
            TREE_IDX_REQUESTER,
            requesters,
            |_| "a case's requester is missing from the index".into(),
        )?;
        self.compare(&self.store.idx_due, TREE_IDX_DUE, dues, |_| {
            "an unfinished case's due date is missing from the index".into()
        })?;
        self.owners(TREE_IDX_MSGID, |c| &c.msgids)?;
        self.owners(TREE_IDX_HASH, |c| &c.hashes)
    }

    /// An index whose keys must be exactly `expected`: entries nobody expects, and expected
    /// entries that are missing (`missing` says why it matters), are both reported.
    fn compare(
        &mut self,
        tree: &Tree,
        name: &'static str,
        mut expected: BTreeSet<Vec<u8>>,
        missing: fn(&[u8]) -> String,
    ) -> Result<(), StoreError> {
        for item in scan(tree, name) {
            let (k, _) = item?;
            if !expected.remove(k.as_ref()) {
                self.report.add(
                    name,
                    &k,
                    "no record has this entry (a dangling index entry)",
                );
            }
        }
        for k in expected {
            self.report.add(name, &k, missing(&k));
        }
        Ok(())
    }

    /// A value → case index (Message-ID, content hash): each entry's case lists the value, and
    /// each value a case lists has an entry (its own; for a Message-ID, possibly an earlier
    /// case's that lists it too).
    fn owners(
        &mut self,
        name: &'static str,
        values: fn(&CaseFacts) -> &BTreeSet<String>,
    ) -> Result<(), StoreError> {
        let tree = if name == TREE_IDX_MSGID {
            &self.store.idx_msgid
        } else {
            &self.store.idx_hash
        };
        let mut owner: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        for item in scan(tree, name) {
            let (k, v) = item?;
            let lists = self
                .cases
                .get(v.as_ref())
                .is_some_and(|c| std::str::from_utf8(&k).is_ok_and(|s| values(c).contains(s)));
            if !lists {
                self.report.add(
                    name,
                    &k,
                    format!("points at {}, which does not list it", show_key(&v)),
                );
            }
            owner.insert(k.to_vec(), v.to_vec());
        }
        let mut problems = Vec::new();
        for (case_key, facts) in &self.cases {
            for value in values(facts) {
                match owner.get(value.as_bytes()) {
                    None => problems.push((
                        value.clone(),
                        "a case lists it but the index does not".to_string(),
                    )),
                    Some(o) if o != case_key && name == TREE_IDX_HASH => problems.push((
                        value.clone(),
                        format!(
                            "listed by {} but indexed to {}: one message in two cases",
                            show_key(case_key),
                            show_key(o)
                        ),
                    )),
                    Some(_) => {}
                }
            }
        }
        for (k, what) in problems {
            self.report.add(name, k.as_bytes(), what);
        }
        Ok(())
    }

    /// Each `seen` record is filed under its own Message-ID (`m\0…`) or content hash (`h\0…`).
    fn seen(&mut self) -> Result<(), StoreError> {
        for item in scan(&self.store.seen, TREE_SEEN) {
            let (k, v) = item?;
            let Ok(record) = serde_json::from_slice::<SeenRecord>(&v) else {
                continue; // reported by `forms`
            };
            let own = match (k.strip_prefix(b"m\0"), k.strip_prefix(b"h\0")) {
                (Some(id), _) => record
                    .message_id
                    .as_deref()
                    .and_then(keys::msgid_norm)
                    .is_some_and(|m| m.as_bytes() == id),
                (_, Some(h)) => record
                    .content_hash
                    .as_deref()
                    .and_then(keys::hash_norm)
                    .is_some_and(|x| x.as_bytes() == h),
                _ => false,
            };
            if !own {
                self.report.add(
                    TREE_SEEN,
                    &k,
                    "not filed under its own Message-ID (m\\0…) or content hash (h\\0…)",
                );
            }
        }
        Ok(())
    }

    /// Each raw message hashes to its key.
    fn raw(&mut self) -> Result<(), StoreError> {
        for item in scan(&self.store.raw, TREE_RAW) {
            let (k, v) = item?;
            if crate::core::dedupe::dedupe_hash(&v).as_bytes() != k.as_ref() {
                self.report
                    .add(TREE_RAW, &k, "the bytes do not hash to their key: damaged");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
