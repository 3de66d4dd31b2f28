//! The corrections directory beside the store (`DATA_DIR/corrections/`): one private test sample
//! per case an officer re-classified, `REF.eml` (the case's first message as received) and
//! `REF.toml` (a [`Sample`]: the officer's kind, what the rules said, who, when).
//!
//! - **Private.** The directory is 0700 and the files 0600 whatever the umask: the messages are
//!   requesters' personal data, kept only while the correction stands.
//! - **Crash-safe.** Each file is written under a temporary name, synced, and renamed over the
//!   old one; the message goes first, its `.toml` last. A sample exists when its `.toml` does, so
//!   a crash leaves the old sample, the new one, or a message with no `.toml` (ignored by
//!   [`load`], removed by the next reconcile). Removal goes the other way: `.toml` first.
//! - **Read without the store.** [`load`] reads only this directory, so `foi-triage rules test
//!   --corrections` works while the daemon holds the store.
//!
//! Which samples should exist is the store's word; `app::corrections` decides what to write.

use crate::core::corrections::{self, Sample};
use crate::io::store::StoreError;
use crate::model::case::CaseRef;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The directory's name inside the data directory.
pub const DIR_NAME: &str = "corrections";

/// Mode of the sample files: owner read and write only (personal data).
const FILE_MODE: u32 = 0o600;

/// Ending of a file being written; such a file is never a sample, and a leftover is removed.
const TEMP_SUFFIX: &str = ".tmp";

/// The corrections directory of a data directory.
pub fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join(DIR_NAME)
}

/// Why the corrections directory could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CorrectionsError {
    /// A file or the directory could not be read, written, renamed or removed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The directory could not be created or made private.
    #[error(transparent)]
    Private(#[from] StoreError),
    /// A sample file is not one this program wrote.
    #[error("{}: {message}", path.display())]
    Sample {
        /// The `.toml` file.
        path: PathBuf,
        /// What is wrong, one line.
        message: String,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> CorrectionsError {
    let path = path.to_path_buf();
    move |source| CorrectionsError::Io { path, source }
}

fn message_path(dir: &Path, reference: &CaseRef) -> PathBuf {
    dir.join(format!("{reference}.eml"))
}

fn sample_path(dir: &Path, reference: &CaseRef) -> PathBuf {
    dir.join(format!("{reference}.toml"))
}

/// Writes (or replaces) a case's sample: its first message, then the sample file. Returns the
/// sample file's path.
///
/// # Errors
/// The directory cannot be created or made private, or a file cannot be written.
pub fn keep(dir: &Path, sample: &Sample, message: &[u8]) -> Result<PathBuf, CorrectionsError> {
    crate::io::store::make_private_dir(dir)?;
    write_atomic(&message_path(dir, &sample.reference), message)?;
    let path = sample_path(dir, &sample.reference);
    write_atomic(&path, corrections::render(sample).as_bytes())?;
    sync_dir(dir)?;
    Ok(path)
}

/// Removes a case's sample, if there is one: the sample file, then the message. Returns whether
/// anything was removed.
///
/// # Errors
/// A file exists but cannot be removed.
pub fn remove(dir: &Path, reference: &CaseRef) -> Result<bool, CorrectionsError> {
    let mut removed = false;
    for path in [sample_path(dir, reference), message_path(dir, reference)] {
        match std::fs::remove_file(&path) {
            Ok(()) => removed = true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(&path)(e)),
        }
    }
    if removed {
        sync_dir(dir)?;
    }
    Ok(removed)
}

/// Whether the directory holds exactly this sample already: its file as [`corrections::render`]
/// writes it, and a message beside it.
pub fn is_current(dir: &Path, sample: &Sample) -> bool {
    let text = std::fs::read(sample_path(dir, &sample.reference));
    text.is_ok_and(|t| t == corrections::render(sample).as_bytes())
        && message_path(dir, &sample.reference).is_file()
}

/// What the directory holds: the cases with any file of theirs (a sample, or a message whose
/// sample was never written), and leftover temporary files.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Listing {
    /// Cases with a `REF.toml` or `REF.eml`.
    pub cases: BTreeSet<CaseRef>,
    /// Files a crash left half-written.
    pub temporaries: Vec<PathBuf>,
}

/// Lists the directory (empty when it does not exist yet). Files that are not ours are left out
/// and left alone.
///
/// # Errors
/// The directory cannot be read.
pub fn list(dir: &Path) -> Result<Listing, CorrectionsError> {
    let mut listing = Listing::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(listing),
        Err(e) => return Err(io_error(dir)(e)),
    };
    for entry in entries {
        let name = entry.map_err(io_error(dir))?.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.ends_with(TEMP_SUFFIX) {
            listing.temporaries.push(dir.join(name.as_ref()));
        } else if let Some(reference) =
            reference_of(&name, ".toml").or_else(|| reference_of(&name, ".eml"))
        {
            listing.cases.insert(reference);
        }
    }
    Ok(listing)
}

/// The case a file name `REF{ending}` belongs to.
fn reference_of(name: &str, ending: &str) -> Option<CaseRef> {
    name.strip_suffix(ending)?.parse().ok()
}

/// Removes a leftover temporary file.
///
/// # Errors
/// It exists but cannot be removed.
pub fn remove_temporary(path: &Path) -> Result<(), CorrectionsError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error(path)(e)),
        _ => Ok(()),
    }
}

/// One sample as read back: the sample and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// The sample file.
    pub sample: Sample,
    /// The message as received.
    pub message: Vec<u8>,
}

/// One case's sample as [`load`] read it, or why it could not be.
pub type Loaded = (CaseRef, Result<Kept, CorrectionsError>);

/// Reads every sample, in reference order: each one's own result, so one damaged sample is
/// reported without hiding the others. A message with no sample file beside it is not a sample.
///
/// # Errors
/// The directory cannot be read (one that does not exist yet holds no samples).
pub fn load(dir: &Path) -> Result<Vec<Loaded>, CorrectionsError> {
    let listing = list(dir)?;
    Ok(listing
        .cases
        .into_iter()
        .filter(|r| sample_path(dir, r).exists())
        .map(|r| {
            let kept = read_one(dir, &r);
            (r, kept)
        })
        .collect())
}

fn read_one(dir: &Path, reference: &CaseRef) -> Result<Kept, CorrectionsError> {
    let path = sample_path(dir, reference);
    let text = std::fs::read_to_string(&path).map_err(io_error(&path))?;
    let bad = |message: String| CorrectionsError::Sample {
        path: path.clone(),
        message,
    };
    let sample = corrections::parse(&text).map_err(bad)?;
    if sample.reference != *reference {
        return Err(bad(format!("it is the sample of {}", sample.reference)));
    }
    let message_path = message_path(dir, reference);
    let message = std::fs::read(&message_path).map_err(io_error(&message_path))?;
    Ok(Kept { sample, message })
}

/// A distinct temporary name per write in this process, so two writers never share one.
fn temporary_for(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}-{n}{TEMP_SUFFIX}", std::process::id()))
}

/// Writes `bytes` to `path` all or nothing: a private temporary file, synced, renamed over it.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CorrectionsError> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = temporary_for(path);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(&tmp)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        })
        .map_err(io_error(&tmp))
        .and_then(|()| std::fs::rename(&tmp, path).map_err(io_error(path)));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Makes the directory's entries (new names, renames, removals) durable.
fn sync_dir(dir: &Path) -> Result<(), CorrectionsError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::kind::Kind;
    use std::os::unix::fs::PermissionsExt;

    fn sample(seq: u32, kind: Kind) -> Sample {
        Sample {
            reference: CaseRef::new("FOI", 2026, seq).expect("reference"),
            kind,
            rules_said: Kind::Foi,
            rules: vec!["foi.act-named".into()],
            by: "alice@council.example".into(),
            at: "2026-03-05T10:00:00Z".parse().expect("instant"),
        }
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).expect("stat").permissions().mode() & 0o7777
    }

    #[test]
    fn a_sample_is_kept_private_replaced_and_removed() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = dir(tmp.path());
        assert_eq!(load(&dir).expect("no directory yet").len(), 0);
        let eir = sample(1, Kind::Eir);
        let path = keep(&dir, &eir, b"Subject: trees\r\n\r\nhi\r\n").expect("kept");
        assert_eq!(path, dir.join("FOI-2026-000001.toml"));
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.join("FOI-2026-000001.eml")), 0o600);
        assert!(is_current(&dir, &eir));
        // The latest word replaces it.
        let sar = sample(1, Kind::Sar);
        assert!(!is_current(&dir, &sar));
        keep(&dir, &sar, b"Subject: trees\r\n\r\nhi\r\n").expect("replaced");
        let loaded = load(&dir).expect("loads");
        let [(reference, Ok(kept))] = loaded.as_slice() else {
            panic!("one sample: {loaded:?}");
        };
        assert_eq!((reference, &kept.sample), (&sar.reference, &sar));
        assert_eq!(kept.message, b"Subject: trees\r\n\r\nhi\r\n");
        assert_eq!(list(&dir).expect("list").temporaries, Vec::<PathBuf>::new());
        assert!(remove(&dir, &sar.reference).expect("removed"));
        assert!(!remove(&dir, &sar.reference).expect("nothing left"));
        assert_eq!(list(&dir).expect("list"), Listing::default());
    }

    #[test]
    fn a_half_written_sample_is_no_sample_and_a_damaged_one_is_reported_alone() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = dir(tmp.path());
        keep(&dir, &sample(1, Kind::Eir), b"one").expect("kept");
        keep(&dir, &sample(3, Kind::Sar), b"three").expect("kept");
        // A crash between the message and its sample file, and in the middle of a write.
        std::fs::write(dir.join("FOI-2026-000002.eml"), "two").expect("write");
        std::fs::write(dir.join(".FOI-2026-000002.toml.1-0.tmp"), "ref").expect("write");
        // Someone's notes: not ours, left alone.
        std::fs::write(dir.join("README.txt"), "notes").expect("write");
        // Damaged by hand.
        std::fs::write(dir.join("FOI-2026-000003.toml"), "kind = \"sar\"\n").expect("write");
        let listing = list(&dir).expect("list");
        assert_eq!(listing.cases.len(), 3);
        assert_eq!(listing.temporaries.len(), 1);
        let loaded = load(&dir).expect("loads");
        assert_eq!(
            loaded.len(),
            2,
            "the message without a sample file is left out"
        );
        assert!(loaded[0].1.is_ok());
        let Err(e) = &loaded[1].1 else {
            panic!("damaged: {loaded:?}");
        };
        assert!(e.to_string().contains("FOI-2026-000003.toml"), "{e}");
        remove_temporary(&listing.temporaries[0]).expect("removed");
        assert!(list(&dir).expect("list").temporaries.is_empty());
        assert!(dir.join("README.txt").exists());
    }
}
