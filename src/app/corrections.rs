//! Keeps the corrections directory (`io::corrections`) in step with the store: the store is the
//! record, the directory a copy of it that `foi-triage rules test --corrections` can read while
//! the daemon holds the store.
//!
//! A re-classification records its correction on the case, in the change the store commits (see
//! `core::actions`); only then is the sample written, from the case as stored ([`refresh`],
//! after every command by email or from the command line that touched one). A crash or a failed
//! write in between loses nothing: at every start the daemon compares the directory with the
//! store and writes what is missing or stale and removes what no case stands behind
//! ([`reconcile`]), so a case that is gone, or whose officer went back to the rules' kind, leaves
//! no message behind.
//!
//! Writers in one process take turns and each writes the case as the store holds it at that
//! moment, so the last write is always the latest word.

use crate::core::corrections;
use crate::io::corrections::{self as files, CorrectionsError};
use crate::io::store::{CaseOrder, Store, StoreError};
use crate::model::case::{Case, CaseRef};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tracing::{error, info, warn};

/// One writer at a time in this process (the ingest loop and the control socket may both
/// re-classify), each reading the case inside its turn.
static WRITER: Mutex<()> = Mutex::new(());

/// Why a sample could not be brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum CorrectionError {
    /// The case or its message could not be read.
    #[error("case store: {0}")]
    Store(#[from] StoreError),
    /// The directory could not be read or written.
    #[error("corrections directory: {0}")]
    Files(#[from] CorrectionsError),
}

/// What [`refresh`] did for one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refreshed {
    /// The sample was written (new or replaced): its `.toml` file.
    Kept(PathBuf),
    /// The sample was already as the case says: its `.toml` file.
    Current(PathBuf),
    /// The case has a correction, but the store did not keep its first message (too large, read
    /// in part, or taken in without the case workflow): there is nothing to replay.
    NoMessage,
    /// The case's sample was removed: no correction stands.
    Removed,
    /// No correction and no sample: nothing to do.
    Nothing,
}

/// Brings one case's sample in line with the case as stored.
///
/// # Errors
/// The store cannot be read or the directory cannot be written.
pub fn refresh(
    store: &Store,
    dir: &Path,
    reference: &CaseRef,
) -> Result<Refreshed, CorrectionError> {
    let _turn = WRITER.lock().unwrap_or_else(|p| p.into_inner());
    let case = store.get_case(reference)?;
    sync_one(store, dir, reference, case.as_ref())
}

/// Writes or removes the sample of `reference` to match `case` (`None`: no such case).
fn sync_one(
    store: &Store,
    dir: &Path,
    reference: &CaseRef,
    case: Option<&Case>,
) -> Result<Refreshed, CorrectionError> {
    let Some((case, sample)) = case.and_then(|c| Some((c, corrections::sample(c)?))) else {
        return Ok(if files::remove(dir, reference)? {
            Refreshed::Removed
        } else {
            Refreshed::Nothing
        });
    };
    if files::is_current(dir, &sample) {
        return Ok(Refreshed::Current(dir.join(format!("{reference}.toml"))));
    }
    let message = match case.content_hashes.first() {
        Some(hash) => store.raw(hash)?,
        None => None,
    };
    match message {
        Some(message) => Ok(Refreshed::Kept(files::keep(dir, &sample, &message)?)),
        None => Ok(Refreshed::NoMessage),
    }
}

/// After a commit: refreshes the samples of the cases it touched (`core::corrections::touched`,
/// taken from the change before it was applied) and says what happened, one line per case, for
/// the person who acted. A failure is logged and said, never returned: the change is committed,
/// and the daemon's next start writes the sample.
pub fn after_commit(store: &Store, dir: Option<&Path>, touched: &[CaseRef]) -> Vec<String> {
    let Some(dir) = dir else {
        return Vec::new();
    };
    touched
        .iter()
        .filter_map(|reference| match refresh(store, dir, reference) {
            Ok(done) => said(reference, &done),
            Err(e) => {
                error!(case = %reference, error = %e, "correction sample not written; the next start writes it");
                Some(format!(
                    "warning: the correction's test sample could not be written ({e}); the \
                     daemon writes it at its next start"
                ))
            }
        })
        .collect()
}

/// The line for the person who acted, and the log entry (references only: no personal data).
fn said(reference: &CaseRef, done: &Refreshed) -> Option<String> {
    match done {
        Refreshed::Kept(path) | Refreshed::Current(path) => {
            info!(case = %reference, "correction kept as a rules test sample");
            Some(format!(
                "correction kept as a private rules test sample: {} (replay it with `foi-triage \
                 rules test --corrections`)",
                path.display()
            ))
        }
        Refreshed::NoMessage => {
            warn!(case = %reference, "correction recorded, but the first message was not kept: nothing to replay");
            Some(
                "correction recorded, but the store did not keep the case's first message (too \
                 large, read in part, or taken in without the case workflow), so `foi-triage \
                 rules test --corrections` cannot replay it"
                    .to_string(),
            )
        }
        Refreshed::Removed => {
            info!(case = %reference, "correction withdrawn; its test sample removed");
            Some(format!(
                "{reference} has the kind the rules gave again: its correction sample is removed"
            ))
        }
        Refreshed::Nothing => None,
    }
}

/// What [`reconcile`] changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Samples written (missing or stale).
    pub written: usize,
    /// Samples already current.
    pub current: usize,
    /// Corrections whose message the store does not hold.
    pub no_message: usize,
    /// Samples (and stray messages) removed: no correction stands behind them.
    pub removed: usize,
    /// Half-written files removed.
    pub temporaries: usize,
}

/// Makes the directory match the store: a sample for every case with a correction, nothing
/// else of ours. Run by the daemon at start, before any task writes.
///
/// # Errors
/// The store or the directory cannot be read, or a file cannot be written or removed.
pub fn reconcile(store: &Store, dir: &Path) -> Result<Reconciled, CorrectionError> {
    let _turn = WRITER.lock().unwrap_or_else(|p| p.into_inner());
    let listing = files::list(dir)?;
    let mut done = Reconciled::default();
    for path in &listing.temporaries {
        files::remove_temporary(path)?;
        done.temporaries += 1;
    }
    let corrected: Vec<Case> = store
        .list_cases(CaseOrder::Reference)?
        .into_iter()
        .filter(|c| c.workflow.correction.is_some())
        .collect();
    for case in &corrected {
        match sync_one(store, dir, &case.reference, Some(case))? {
            Refreshed::Current(_) => done.current += 1,
            Refreshed::Kept(_) => done.written += 1,
            Refreshed::NoMessage => done.no_message += 1,
            Refreshed::Removed | Refreshed::Nothing => {}
        }
    }
    for reference in &listing.cases {
        if !corrected.iter().any(|c| c.reference == *reference) && files::remove(dir, reference)? {
            done.removed += 1;
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests;
