//! Backups: a consistent snapshot of every tree in one portable, versioned, checksummed file, and
//! the restore that rebuilds a store from it.
//!
//! # Format (version 1)
//! JSON Lines (UTF-8, one JSON object per `\n`-terminated line):
//! 1. a header: `{"format":"foi-triage-export","version":1,"schema":1,"created":"2026-…Z","app_version":"0.1.0"}`
//!    (`version` is this container format's, `schema` the store's [`super::SCHEMA_VERSION`]);
//! 2. one line per record, every tree of [`TREES`] in table order, each tree in key order:
//!    `{"tree":"cases","key":…,"value":…}`, the key and value in the forms the table gives the
//!    tree (typed records as themselves, raw bytes base64: see [`super::trees`]);
//! 3. a trailer: `{"end":"foi-triage-export","records":N,"counts":{"audit":…,…},"sha256":"…"}`,
//!    the number of records of every tree, and the lower-case hex SHA-256 of every byte before
//!    the trailer line.
//!
//! The same store exported at the same `created` time gives the same bytes, so export → restore
//! → export is identical (tests compare whole files). A line `{"abort":"…"}` in place of the
//! rest means the daemon failed part way (see `app::control`).
//!
//! # Consistency
//! sled's iterators are not snapshots: a transaction committed during a scan may show in one
//! tree and not yet in another. So an export holds the store's writers back (see `Gate` in the
//! store) while it reads; changes wait and then go through, none is lost. Raw messages are written
//! outside transactions and never changed or removed, so one written during the export is at
//! worst an extra, harmless blob.
//!
//! # Not here
//! Where files go, their rotation and permissions: the command line's business.

use super::error::{StoreError, show_key};
use super::trees::{self, TREES, TreeSpec};
use super::{SCHEMA_KEY, SCHEMA_VERSION, Store, scan_error};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

/// The `format` field of every backup's header and trailer.
pub const FORMAT_NAME: &str = "foi-triage-export";
/// The container format's version. Bump it when the layout of lines changes; a change of the
/// records inside is a schema change instead ([`super::SCHEMA_VERSION`]).
pub const FORMAT_VERSION: u32 = 1;

/// The first line of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Always [`FORMAT_NAME`].
    pub format: String,
    /// [`FORMAT_VERSION`] of the writer.
    pub version: u32,
    /// The schema version of the store it was taken from.
    pub schema: u32,
    /// When it was taken (the only field that differs between two exports of one store).
    pub created: DateTime<Utc>,
    /// The foi-triage version that wrote it.
    pub app_version: String,
}

/// The last line of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trailer {
    /// Always [`FORMAT_NAME`].
    pub end: String,
    /// Record lines in the file.
    pub records: u64,
    /// Record lines per tree, every tree of the writer's table listed (0 when empty).
    pub counts: BTreeMap<String, u64>,
    /// Lower-case hex SHA-256 of every byte before this line.
    pub sha256: String,
}

/// What a backup holds, once written or checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    /// Its header.
    pub header: Header,
    /// Its trailer.
    pub trailer: Trailer,
    /// Its size in bytes, trailer included.
    pub bytes: u64,
}

/// Why a backup file cannot be read or restored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// Reading the file failed.
    #[error("cannot read the backup: {0}")]
    Read(#[source] std::io::Error),
    /// A line is not what the format allows there.
    #[error("backup line {line}: {reason}")]
    Line {
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// The file ends before its trailer (a cut copy, a full disk).
    #[error("the backup ends at line {lines} without its trailer: it is incomplete")]
    Truncated {
        /// Lines read.
        lines: u64,
    },
    /// The exporting daemon gave up part way.
    #[error("the export was abandoned part way: {0}")]
    Aborted(String),
    /// The checksum or the counts do not match the lines: the file was changed or damaged.
    #[error("the backup is damaged: {0}")]
    Damaged(String),
    /// Written by a newer foi-triage.
    #[error(
        "the backup has format version {version} and schema {schema}; this build reads format \
         {FORMAT_VERSION} with schema up to {SCHEMA_VERSION}: restore it with a newer foi-triage"
    )]
    TooNew {
        /// Its format version.
        version: u32,
        /// Its schema version.
        schema: u32,
    },
    /// The target directory already holds something.
    #[error("{0} is not empty: restore only into a new or empty directory")]
    NotEmpty(PathBuf),
    /// The target directory cannot be read or made.
    #[error("cannot use {path} for the restored store: {source}")]
    Target {
        /// The directory.
        path: PathBuf,
        /// What the system reported.
        #[source]
        source: std::io::Error,
    },
    /// The store being written or opened failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Store {
    /// Writes a consistent backup of every tree to `out` (see the module documentation), stamped
    /// `created`. Writers wait while it runs.
    ///
    /// # Errors
    /// [`StoreError::NotBackedUp`] (before writing anything) when the store holds a tree or key
    /// the backup table does not know; [`StoreError::Corrupt`] naming a record that does not
    /// decode; [`StoreError::Export`] when writing fails.
    pub fn export<W: Write>(
        &self,
        out: W,
        created: DateTime<Utc>,
    ) -> Result<BackupSummary, StoreError> {
        let _writers_wait = self.gate.exclusive();
        self.check_backed_up()?;
        let header = Header {
            format: FORMAT_NAME.into(),
            version: FORMAT_VERSION,
            schema: SCHEMA_VERSION,
            created,
            app_version: env!("CARGO_PKG_VERSION").into(),
        };
        let mut out = Hashing::new(out);
        let mut line = encode_line(&header)?;
        out.write_line(&line)?;
        let mut counts = BTreeMap::new();
        for spec in TREES {
            let tree = self
                .db
                .open_tree(spec.name)
                .map_err(|source| StoreError::Sled {
                    op: "open tree",
                    tree: spec.name,
                    source,
                })?;
            let mut n = 0u64;
            for item in tree.iter() {
                let (k, v) = item.map_err(|source| scan_error(spec.name, source))?;
                record_line(spec, &k, &v, &mut line)?;
                out.write_line(&line)?;
                n += 1;
            }
            counts.insert(spec.name.to_string(), n);
        }
        let trailer = Trailer {
            end: FORMAT_NAME.into(),
            records: counts.values().sum(),
            counts,
            sha256: out.hex_digest(),
        };
        out.write_line(&encode_line(&trailer)?)?;
        let bytes = out.finish()?;
        Ok(BackupSummary {
            header,
            trailer,
            bytes,
        })
    }

    /// Trees and keys the backup table would leave out.
    ///
    /// # Errors
    /// [`StoreError::NotBackedUp`] listing them; [`StoreError::Sled`] when sled cannot be read.
    pub(super) fn check_backed_up(&self) -> Result<(), StoreError> {
        let mut what: Vec<String> = trees::unknown_trees(&self.db)
            .into_iter()
            .map(|t| format!("tree {t}"))
            .collect();
        for item in self.db.iter().keys() {
            let k = item.map_err(|source| scan_error(super::TREE_DB, source))?;
            if k.as_ref() != SCHEMA_KEY {
                what.push(format!("key {} of sled's default tree", show_key(&k)));
            }
        }
        if what.is_empty() {
            Ok(())
        } else {
            Err(StoreError::NotBackedUp { what })
        }
    }
}

/// One record as a backup line (without its newline) in `line`.
fn record_line(spec: &TreeSpec, k: &[u8], v: &[u8], line: &mut Vec<u8>) -> Result<(), StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        tree: spec.name,
        key: show_key(k),
        reason,
    };
    line.clear();
    line.extend_from_slice(b"{\"tree\":");
    serde_json::to_writer(&mut *line, spec.name).map_err(|e| corrupt(e.to_string()))?;
    line.extend_from_slice(b",\"key\":");
    let key = spec
        .key
        .to_json(k)
        .map_err(|e| corrupt(format!("key: {e}")))?;
    serde_json::to_writer(&mut *line, &key).map_err(|e| corrupt(e.to_string()))?;
    line.extend_from_slice(b",\"value\":");
    spec.value.write_json(v, line).map_err(corrupt)?;
    line.push(b'}');
    Ok(())
}

fn encode_line<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|source| StoreError::Encode {
        what: "backup header or trailer".into(),
        source,
    })
}

/// A writer that hashes and counts what goes through it.
struct Hashing<W: Write> {
    out: std::io::BufWriter<W>,
    hash: Sha256,
    bytes: u64,
}

/// Buffer between the export and its destination: 256 KiB, so a socket or a file sees few
/// large writes.
const WRITE_BUFFER_BYTES: usize = 256 * 1024;

impl<W: Write> Hashing<W> {
    fn new(out: W) -> Self {
        Hashing {
            out: std::io::BufWriter::with_capacity(WRITE_BUFFER_BYTES, out),
            hash: Sha256::new(),
            bytes: 0,
        }
    }

    fn write_line(&mut self, line: &[u8]) -> Result<(), StoreError> {
        let fail = |source| StoreError::Export { source };
        self.out.write_all(line).map_err(fail)?;
        self.out.write_all(b"\n").map_err(fail)?;
        self.hash.update(line);
        self.hash.update(b"\n");
        self.bytes += line.len() as u64 + 1;
        Ok(())
    }

    fn hex_digest(&self) -> String {
        hex(&self.hash.clone().finalize())
    }

    fn finish(mut self) -> Result<u64, StoreError> {
        self.out
            .flush()
            .map_err(|source| StoreError::Export { source })?;
        Ok(self.bytes)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The fields any line of a backup may have; which ones are set tells what the line is.
#[derive(Deserialize)]
struct Line {
    tree: Option<String>,
    #[serde(default)]
    key: Value,
    #[serde(default)]
    value: Value,
    end: Option<String>,
    abort: Option<String>,
}

/// Reads a backup, hands every record to `each` as store bytes (tree, key, value), and checks the
/// trailer's checksum and counts once the file is read. `each` sees records before the file is
/// known to be whole: check a file first ([`check`]) before writing anything from it.
fn read<R: BufRead>(
    mut input: R,
    mut each: impl FnMut(&'static TreeSpec, Vec<u8>, Vec<u8>) -> Result<(), BackupError>,
) -> Result<BackupSummary, BackupError> {
    let mut hash = Sha256::new();
    let mut buf = Vec::new();
    let mut lines = Lines {
        input: &mut input,
        n: 0,
        bytes: 0,
    };
    if !lines.next(&mut buf)? {
        return Err(BackupError::Truncated { lines: 0 });
    }
    let header = parse_header(&buf)?;
    hash.update(&buf);
    let typed = header.schema == SCHEMA_VERSION;
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let trailer = loop {
        if !lines.next(&mut buf)? {
            return Err(BackupError::Truncated { lines: lines.n - 1 });
        }
        let n = lines.n;
        let at = |reason: String| BackupError::Line { line: n, reason };
        let line: Line = serde_json::from_slice(&buf).map_err(|e| at(e.to_string()))?;
        if let Some(name) = line.tree {
            let spec = trees::spec(&name)
                .ok_or_else(|| at(format!("tree {name:?} is not one this build knows")))?;
            let key = spec
                .key
                .store_bytes(&line.key)
                .map_err(|e| at(format!("key: {e}")))?;
            let value = spec
                .value
                .store_bytes(line.value, typed)
                .map_err(|e| at(format!("{} value: {e}", spec.name)))?;
            hash.update(&buf);
            *counts.entry(name).or_default() += 1;
            each(spec, key, value)?;
        } else if line.end.is_some() {
            break serde_json::from_slice::<Trailer>(&buf).map_err(|e| at(e.to_string()))?;
        } else if let Some(why) = line.abort {
            return Err(BackupError::Aborted(why));
        } else {
            return Err(at("neither a record nor the trailer".into()));
        }
    };
    if lines.next(&mut buf)? || !buf.is_empty() {
        return Err(BackupError::Line {
            line: lines.n,
            reason: "data after the trailer".into(),
        });
    }
    check_trailer(&trailer, &hex(&hash.finalize()), &counts)?;
    Ok(BackupSummary {
        header,
        trailer,
        bytes: lines.bytes,
    })
}

/// Lines of a backup, counted.
struct Lines<'a, R: BufRead> {
    input: &'a mut R,
    /// Lines read so far (the 1-based number of the last one).
    n: u64,
    /// Bytes read so far.
    bytes: u64,
}

impl<R: BufRead> Lines<'_, R> {
    /// Reads the next line into `buf`; false at the end of the file or when the last line has no
    /// newline (a cut file: `buf` then holds what there was).
    fn next(&mut self, buf: &mut Vec<u8>) -> Result<bool, BackupError> {
        buf.clear();
        let got = self
            .input
            .read_until(b'\n', buf)
            .map_err(BackupError::Read)?;
        self.bytes += got as u64;
        self.n += 1;
        Ok(got > 0 && buf.ends_with(b"\n"))
    }
}

fn parse_header(line: &[u8]) -> Result<Header, BackupError> {
    let header: Header = serde_json::from_slice(line).map_err(|e| BackupError::Line {
        line: 1,
        reason: format!("not a foi-triage backup header: {e}"),
    })?;
    if header.format != FORMAT_NAME {
        return Err(BackupError::Line {
            line: 1,
            reason: format!("format is {:?}, not {FORMAT_NAME:?}", header.format),
        });
    }
    if header.version != FORMAT_VERSION || header.schema > SCHEMA_VERSION {
        return Err(BackupError::TooNew {
            version: header.version,
            schema: header.schema,
        });
    }
    Ok(header)
}

fn check_trailer(
    trailer: &Trailer,
    sha256: &str,
    counts: &BTreeMap<String, u64>,
) -> Result<(), BackupError> {
    if trailer.end != FORMAT_NAME {
        return Err(BackupError::Damaged(format!(
            "the trailer names {:?}",
            trailer.end
        )));
    }
    if trailer.sha256 != sha256 {
        return Err(BackupError::Damaged(format!(
            "its SHA-256 is {sha256}, the trailer says {}",
            trailer.sha256
        )));
    }
    let listed: BTreeMap<&String, &u64> = trailer.counts.iter().filter(|(_, n)| **n > 0).collect();
    let found: BTreeMap<&String, &u64> = counts.iter().collect();
    if listed != found || trailer.records != counts.values().sum::<u64>() {
        return Err(BackupError::Damaged(format!(
            "the trailer counts {:?} ({} records) but the file holds {found:?}",
            trailer.counts, trailer.records
        )));
    }
    Ok(())
}

/// Reads a whole backup and checks it: header, every record against its tree's forms (and
/// types, for this build's schema), the counts and the checksum. Nothing is written.
///
/// # Errors
/// [`BackupError`] naming the first problem.
pub fn check<R: BufRead>(input: R) -> Result<BackupSummary, BackupError> {
    read(input, |_, _, _| Ok(()))
}

/// Rebuilds a store in `dir` from the backup `file`: checks the whole file first, refuses a `dir`
/// that holds anything, writes every record, then opens the store (which runs the migrations of
/// an older schema). On a failure after writing began, what was written is removed again.
///
/// # Errors
/// [`BackupError`]; the store is left only when everything was written.
pub fn restore(file: &Path, dir: &Path) -> Result<BackupSummary, BackupError> {
    let open = || {
        std::fs::File::open(file)
            .map(|f| std::io::BufReader::with_capacity(WRITE_BUFFER_BYTES, f))
            .map_err(BackupError::Read)
    };
    let checked = check(open()?)?;
    ensure_empty(dir)?;
    let written = write_store(open()?, dir, checked.header.schema).and_then(|summary| {
        Store::open(dir)?;
        Ok(summary)
    });
    if written.is_err() {
        remove_contents(dir);
    }
    let written = written?;
    if written != checked {
        remove_contents(dir);
        return Err(BackupError::Damaged(
            "the file changed while it was restored".into(),
        ));
    }
    Ok(written)
}

/// Writes every record of a checked backup into a new sled database in `dir`, stamped with the
/// backup's schema version.
fn write_store<R: BufRead>(
    input: R,
    dir: &Path,
    schema: u32,
) -> Result<BackupSummary, BackupError> {
    super::make_private_dir(dir)?;
    let db = sled::Config::new()
        .path(dir)
        .cache_capacity(super::CACHE_CAPACITY_BYTES)
        .open()
        .map_err(|source| StoreError::Open {
            path: dir.to_path_buf(),
            source,
        })?;
    let sled_err = |op, tree| move |source| StoreError::Sled { op, tree, source };
    db.insert(SCHEMA_KEY, schema.to_string().as_bytes())
        .map_err(sled_err("insert", super::TREE_DB))?;
    let mut open: BTreeMap<&'static str, sled::Tree> = BTreeMap::new();
    let summary = read(input, |spec, key, value| {
        if !open.contains_key(spec.name) {
            let tree = db
                .open_tree(spec.name)
                .map_err(sled_err("open tree", spec.name))?;
            open.insert(spec.name, tree);
        }
        if let Some(tree) = open.get(spec.name) {
            tree.insert(key, value)
                .map_err(sled_err("insert", spec.name))?;
        }
        Ok(())
    })?;
    db.flush().map_err(sled_err("flush", super::TREE_DB))?;
    Ok(summary)
}

/// Refuses a target that is a file or a directory with anything in it.
fn ensure_empty(dir: &Path) -> Result<(), BackupError> {
    let fail = |source| BackupError::Target {
        path: dir.to_path_buf(),
        source,
    };
    match std::fs::read_dir(dir) {
        Ok(mut entries) => match entries.next() {
            None => Ok(()),
            Some(_) => Err(BackupError::NotEmpty(dir.to_path_buf())),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(fail(e)),
    }
}

/// Best effort: empties `dir` after a failed restore (it was empty before).
fn remove_contents(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let _ = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
    }
}

/// File mode of a backup: owner read and write only. A backup holds every requester's personal
/// data and the raw requests.
const BACKUP_FILE_MODE: u32 = 0o600;

/// Largest tail of a failed backup read back to find the daemon's `{"abort":…}` line, in bytes.
const ABORT_TAIL_BYTES: u64 = 64 * 1024;

/// Writes a backup to `dest` safely: `fill` writes it into `dest.tmp` (created 0600), which is
/// flushed to disk, read back and checked whole ([`check`]), and only then renamed over `dest`
/// (and the directory flushed), so `dest` is never a partial backup.
///
/// # Errors
/// What `fill` reports (as [`BackupError::Aborted`]), an I/O error ([`BackupError::Target`]), or
/// what the check finds; the temporary file is removed.
pub fn write_file(
    dest: &Path,
    fill: impl FnOnce(&mut dyn Write) -> Result<(), String>,
) -> Result<BackupSummary, BackupError> {
    let mut tmp_name = dest.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    let result = write_tmp(&tmp, fill).and_then(|()| {
        let file = std::fs::File::open(&tmp).map_err(BackupError::Read)?;
        let summary = match check(std::io::BufReader::with_capacity(WRITE_BUFFER_BYTES, file)) {
            Ok(s) => s,
            Err(e) => return Err(abort_line(&tmp).map_or(e, BackupError::Aborted)),
        };
        let target = |source| BackupError::Target {
            path: dest.to_path_buf(),
            source,
        };
        std::fs::rename(&tmp, dest).map_err(target)?;
        sync_parent(dest).map_err(target)?;
        Ok(summary)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn write_tmp(
    tmp: &Path,
    fill: impl FnOnce(&mut dyn Write) -> Result<(), String>,
) -> Result<(), BackupError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let target = |source| BackupError::Target {
        path: tmp.to_path_buf(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(BACKUP_FILE_MODE)
        .custom_flags(libc::O_NOFOLLOW)
        .open(tmp)
        .map_err(target)?;
    // A file left by an earlier run keeps its mode through `create`: tighten it.
    file.set_permissions(std::fs::Permissions::from_mode(BACKUP_FILE_MODE))
        .map_err(target)?;
    fill(&mut file).map_err(BackupError::Aborted)?;
    file.sync_all().map_err(target)
}

/// The daemon's reason, when the last line of a failed backup is its `{"abort":…}` line.
fn abort_line(path: &Path) -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(ABORT_TAIL_BYTES)))
        .ok()?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail).ok()?;
    let last = tail.trim_ascii_end().rsplit(|&b| b == b'\n').next()?;
    #[derive(Deserialize)]
    struct Abort {
        abort: String,
    }
    serde_json::from_slice::<Abort>(last).ok().map(|a| a.abort)
}

/// Flushes the directory entry of `path` (a rename is durable only once its directory is).
fn sync_parent(path: &Path) -> std::io::Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::File::open(parent)?.sync_all()
}

/// Start of the name of every backup [`file_name`] makes.
const ROTATED_PREFIX: &str = "foi-triage-";
/// End of the name of every backup [`file_name`] makes.
const ROTATED_SUFFIX: &str = ".jsonl";
/// The time in a backup's name: sorts by name as by time.
const ROTATED_TIME: &str = "%Y%m%dT%H%M%SZ";

/// The name of a backup taken at `created` in a backup directory:
/// `foi-triage-20261123T020000Z.jsonl`.
pub fn file_name(created: DateTime<Utc>) -> String {
    format!(
        "{ROTATED_PREFIX}{}{ROTATED_SUFFIX}",
        created.format(ROTATED_TIME)
    )
}

/// Whether `name` is one [`file_name`] makes (and so one [`rotate`] may delete).
fn is_rotated(name: &str) -> bool {
    name.strip_prefix(ROTATED_PREFIX)
        .and_then(|rest| rest.strip_suffix(ROTATED_SUFFIX))
        .is_some_and(|t| chrono::NaiveDateTime::parse_from_str(t, ROTATED_TIME).is_ok())
}

/// Deletes all but the newest `keep` backups named by [`file_name`] in `dir`; other files are
/// never touched. Returns what was deleted.
///
/// # Errors
/// The directory cannot be read, or a file cannot be deleted.
pub fn rotate(dir: &Path, keep: usize) -> std::io::Result<Vec<PathBuf>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| is_rotated(n))
        .collect();
    names.sort_unstable_by(|a, b| b.cmp(a));
    let mut deleted = Vec::new();
    for name in names.into_iter().skip(keep) {
        let path = dir.join(name);
        std::fs::remove_file(&path)?;
        deleted.push(path);
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests;
