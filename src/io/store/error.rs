//! The one error type of the store, with enough context (tree, key, reference) to act on.
//!
//! Callers branch on the variant: `Conflict` and `Locked` are worth retrying, `UnknownSchema` and
//! `Corrupt` need a person, `CaseNotFound`/`InvalidChange` are bugs in the caller's plan.

use crate::model::case::CaseRef;
use crate::model::machine::MachineMailId;
use std::path::PathBuf;

/// Everything that can go wrong reading or writing the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// sled could not open the database directory (permissions, disk, damaged files).
    #[error("cannot open the store at {path}: {source}")]
    Open {
        /// The directory given to [`super::Store::open`].
        path: PathBuf,
        /// What sled reported.
        #[source]
        source: sled::Error,
    },
    /// The store's directory or files could not be made private (0700/0600): the store is not
    /// opened rather than left readable by other local users.
    #[error("cannot make {path} private to the service user: {source}")]
    Permissions {
        /// The directory or file.
        path: PathBuf,
        /// What the system reported.
        #[source]
        source: std::io::Error,
    },
    /// Another process (usually a running daemon) holds sled's exclusive lock on the directory.
    #[error("the store at {path} is in use by another process: {source}")]
    Locked {
        /// The directory given to [`super::Store::open`].
        path: PathBuf,
        /// What sled reported.
        #[source]
        source: sled::Error,
    },
    /// The store was written by a newer (or unknown) version of foi-triage, or its version marker
    /// is unreadable. We refuse to open it rather than misread personal data.
    #[error(
        "the store has schema version {found}, but this build supports only version {supported}; \
         refusing to open it (restore a backup or upgrade foi-triage)"
    )]
    UnknownSchema {
        /// What the version marker holds, as printable text (or a note that it is missing).
        found: String,
        /// The version this build reads and writes.
        supported: u32,
    },
    /// A sled operation failed (I/O, internal error) on a named tree.
    #[error("sled failed to {op} in tree {tree}: {source}")]
    Sled {
        /// What we were doing (`get`, `scan`, `commit`, `flush`…).
        op: &'static str,
        /// Which tree (or `transaction` for a multi-tree commit).
        tree: &'static str,
        /// What sled reported.
        #[source]
        source: sled::Error,
    },
    /// Bytes in the store do not decode: a damaged record, never a panic.
    #[error("corrupt record in tree {tree} at key {key}: {reason}")]
    Corrupt {
        /// Which tree.
        tree: &'static str,
        /// The key, printable ASCII kept and other bytes escaped.
        key: String,
        /// What did not decode.
        reason: String,
    },
    /// A value could not be turned into JSON (should not happen for our own types).
    #[error("cannot encode {what} as JSON: {source}")]
    Encode {
        /// Which record.
        what: String,
        /// What serde_json reported.
        #[source]
        source: serde_json::Error,
    },
    /// The change is malformed before it touches the store (bad prefix, empty action, audit for
    /// a new case that the change does not create…). Nothing was written.
    #[error("invalid change: {reason}")]
    InvalidChange {
        /// What is wrong, in words.
        reason: String,
    },
    /// The change names a case that does not exist. Nothing was written.
    #[error("case {reference} does not exist")]
    CaseNotFound {
        /// The missing reference.
        reference: CaseRef,
    },
    /// The change updates an outbox row that does not exist. Nothing was written.
    #[error("outbox row {id} does not exist")]
    OutboxNotFound {
        /// The missing row id.
        id: u64,
    },
    /// Optimistic check failed: the case changed since the caller read it. Nothing was written;
    /// re-read the case, re-plan and retry.
    #[error("case {reference} changed since it was read; nothing was written")]
    Conflict {
        /// The case that changed.
        reference: CaseRef,
    },
    /// The same raw message (content hash) would belong to two cases. Nothing was written: the
    /// caller should have found the existing case with `find_by_hash`.
    #[error(
        "content hash {hash} already belongs to case {existing}, not {wanted}; nothing was written"
    )]
    DuplicateHash {
        /// The content hash (SHA-256 hex).
        hash: String,
        /// The case that already holds it.
        existing: CaseRef,
        /// The case the change tried to give it to.
        wanted: CaseRef,
    },
    /// The (prefix, year) sequence has reached the largest reference number.
    #[error("no reference numbers left for {prefix}-{year}")]
    SequenceExhausted {
        /// The prefix.
        prefix: String,
        /// The year.
        year: i32,
    },
    /// The change opens a machine-mail record that is not kept (never was, or purged after its
    /// retention period). Nothing was written.
    #[error(
        "machine mail {id} is not kept (it never existed, or was deleted after its retention period)"
    )]
    MachineMailNotFound {
        /// The id asked for.
        id: MachineMailId,
    },
    /// The change opens a machine-mail record that is already a case: one record makes one case
    /// at most. Nothing was written.
    #[error("machine mail {id} was already opened as {case} (by {by}); nothing was written")]
    MachineMailOpened {
        /// The record.
        id: MachineMailId,
        /// The case it already made.
        case: CaseRef,
        /// Who opened it.
        by: String,
    },
    /// The store holds trees (or keys of sled's default tree) that the backup table
    /// (`io::store::trees`) does not list: a backup would leave them out, so none is taken.
    #[error(
        "the store holds {} that backups do not cover; refusing rather than leave it out \
         (add it to the table in src/io/store/trees.rs)",
        what.join(", ")
    )]
    NotBackedUp {
        /// What is not covered, in words (`tree foo`).
        what: Vec<String>,
    },
    /// Writing the export failed.
    #[error("cannot write the export: {source}")]
    Export {
        /// The writer's error.
        #[source]
        source: std::io::Error,
    },
}

impl StoreError {
    /// Whether trying the same thing again later may succeed without anyone fixing anything:
    /// another process releasing the lock, a concurrent update (re-read first), or an
    /// interrupted/timed-out I/O call.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Locked { .. } | StoreError::Conflict { .. } => true,
            StoreError::Open { source, .. } | StoreError::Sled { source, .. } => {
                sled_is_transient(source)
            }
            StoreError::Export { source } | StoreError::Permissions { source, .. } => {
                io_kind_is_transient(source.kind())
            }
            StoreError::UnknownSchema { .. }
            | StoreError::Corrupt { .. }
            | StoreError::Encode { .. }
            | StoreError::InvalidChange { .. }
            | StoreError::CaseNotFound { .. }
            | StoreError::OutboxNotFound { .. }
            | StoreError::DuplicateHash { .. }
            | StoreError::MachineMailNotFound { .. }
            | StoreError::MachineMailOpened { .. }
            | StoreError::SequenceExhausted { .. }
            | StoreError::NotBackedUp { .. } => false,
        }
    }
}

fn sled_is_transient(e: &sled::Error) -> bool {
    match e {
        sled::Error::Io(io) => io_kind_is_transient(io.kind()),
        _ => false,
    }
}

fn io_kind_is_transient(kind: std::io::ErrorKind) -> bool {
    use std::io::ErrorKind as K;
    matches!(kind, K::Interrupted | K::WouldBlock | K::TimedOut)
}

/// Render a key for an error message: printable ASCII as is, every other byte as `\xNN`.
pub(crate) fn show_key(key: &[u8]) -> String {
    let mut s = String::with_capacity(key.len());
    for &b in key {
        if b.is_ascii_graphic() || b == b' ' {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_key_escapes_non_printable() {
        let table: [(&[u8], &str); 4] = [
            (b"FOI-2026-0000000001", "FOI-2026-0000000001"),
            (b"a@b.c\0FOI", "a@b.c\\x00FOI"),
            (&[0xff, 0x01, b'x'], "\\xff\\x01x"),
            (b"", ""),
        ];
        for (key, want) in table {
            assert_eq!(show_key(key), want);
        }
    }

    #[test]
    fn transient_classification() {
        let io = |k| sled::Error::Io(std::io::Error::new(k, "x"));
        let reference = CaseRef::new("FOI", 2026, 1).expect("valid");
        let table: Vec<(StoreError, bool)> = vec![
            (
                StoreError::Locked {
                    path: "/x".into(),
                    source: io(std::io::ErrorKind::Other),
                },
                true,
            ),
            (
                StoreError::Conflict {
                    reference: reference.clone(),
                },
                true,
            ),
            (
                StoreError::Sled {
                    op: "get",
                    tree: "cases",
                    source: io(std::io::ErrorKind::Interrupted),
                },
                true,
            ),
            (
                StoreError::Sled {
                    op: "get",
                    tree: "cases",
                    source: io(std::io::ErrorKind::PermissionDenied),
                },
                false,
            ),
            (
                StoreError::UnknownSchema {
                    found: "2".into(),
                    supported: 1,
                },
                false,
            ),
            (
                StoreError::Corrupt {
                    tree: "cases",
                    key: "k".into(),
                    reason: "r".into(),
                },
                false,
            ),
            (StoreError::CaseNotFound { reference }, false),
        ];
        for (err, want) in table {
            assert_eq!(err.is_transient(), want, "{err}");
        }
    }
}
