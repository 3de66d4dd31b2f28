//! Case commands (`case list`, `case show`, `case ACTION`, `case machine-mail`, `case open-from`),
//! backups (`export`) and `store verify`, which work whether or not the daemon runs.
//!
//! sled lets one process open the store. When the daemon runs, the command line sends its request
//! over a Unix socket (`DATA_DIR/control/control.sock`) and the daemon answers from its open
//! store; otherwise the command line opens the store itself. Both paths run the same [`handle`],
//! so the answers are identical.
//!
//! Who may use it: the socket is 0600 inside a 0700 directory of its own, so only the service
//! user and root can connect, whatever the umask. `--by` is what the caller says; the kernel's
//! word (the peer's uid from `SO_PEERCRED`) is recorded beside it in the audit (`os_uid`), and the
//! command line opening the store itself records its own uid the same way.
//!
//! Protocol: one JSON [`Request`] line in, one JSON [`Response`] line out, then the connection
//! closes. [`Request::Export`] alone answers with a stream instead: a `{"ok":true}` response line
//! and then the backup itself (`io::store::backup`), ended by its trailer, or by an `{"abort":…}`
//! line when the export fails part way; the client checks the trailer, so a cut stream is never
//! taken for a backup. Requests are bounded (64 KiB) and must arrive within [`READ_TIMEOUT`]; at most
//! [`MAX_CONNECTIONS`] are served at once, further ones are told the daemon is busy, so a stuck
//! or flooding local client cannot tie up the daemon's threads or memory.

pub use crate::app::env::{OS_UID_KEY, with_os_uid};
use crate::app::ingest::{Ingest, OpenFrom};
use crate::app::workflow::Workflow;
use crate::core::actions;
use crate::core::plan::poison;
use crate::core::triage::Context;
use crate::io::clock::Clock;
use crate::io::store::{CaseOrder, Store};
use crate::model::case::{Case, CaseRef};
use crate::model::kind::Kind;
use crate::model::machine::{MachineMail, MachineMailId};
use crate::model::records::NeedsTriage;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Longest request line accepted, in bytes.
const MAX_REQUEST_BYTES: u64 = 64 * 1024;

/// How long a client waits for the daemon's answer.
const CLIENT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// How long the daemon waits for a client's request line: the command line writes it at once, so
/// 10 s is generous; a client that connects and says nothing is dropped.
pub const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Connections served at once. People type `case` commands one at a time; eight covers a script
/// or two, and bounds what a runaway local client can hold.
pub const MAX_CONNECTIONS: usize = 8;

/// How long to wait for a request and how many connections to serve at once: [`READ_TIMEOUT`]
/// and [`MAX_CONNECTIONS`] in the daemon; tests pass small values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest wait for the request line.
    pub read_timeout: std::time::Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            read_timeout: READ_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
        }
    }
}

/// The socket's own directory for a data directory: 0700, so the socket is reachable by the
/// service user only, even where the data directory itself is shared.
pub fn socket_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("control")
}

/// The socket's path for a data directory.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    socket_dir(data_dir).join("control.sock")
}

/// The uid this process runs as, from the owner of `/proc/self` (no libc call needed): what the
/// command line records when it opens the store itself. `None` off Linux.
pub fn own_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

/// What the command line asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// `case list`.
    List {
        /// Only this kind.
        kind: Option<Kind>,
        /// Only open cases due on or before this date.
        due_before: Option<NaiveDate>,
    },
    /// `case show REF`.
    Show {
        /// The case.
        reference: CaseRef,
    },
    /// `case triaged HASH --by --why`: a person dealt with a quarantined message.
    Triaged {
        /// Its content hash, or a unique prefix of it.
        hash: String,
        /// Who (logged).
        by: String,
        /// What was done (logged).
        why: String,
        /// Also forget the message (`--release`), so that put back in the inbox it is triaged
        /// afresh. Defaults to false for a command line older than the daemon.
        #[serde(default)]
        release: bool,
    },
    /// `case machine-mail [--all]`: the mail filed without a case that is kept.
    MachineMail {
        /// Also the records already opened as cases.
        #[serde(default)]
        all: bool,
    },
    /// `case open-from ID [--kind K] --by --why`: turn a machine-mail record into a case.
    OpenFrom {
        /// The record.
        id: MachineMailId,
        /// The kind of case; `None`: the record's suggestion.
        kind: Option<Kind>,
        /// Who (audited).
        by: String,
        /// Why (audited).
        why: String,
    },
    /// `case ACTION REF ARGS... --by --why`.
    Act {
        /// The case.
        reference: CaseRef,
        /// The command words (`close`, `provided`…).
        words: Vec<String>,
        /// Who acts (audited).
        by: String,
        /// Why (audited).
        why: String,
    },
    /// `store verify`: check every index and invariant.
    Verify,
    /// `export`: stream a backup of the whole store (see the module documentation).
    Export,
}

/// The answer: text to print, or an error to report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// Whether it worked.
    pub ok: bool,
    /// Output (ok) or the error message.
    pub text: String,
}

/// One line per case, tab-separated (the `case list` format).
fn case_line(c: &Case) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}",
        c.reference,
        c.kind,
        c.state.as_str(),
        c.received_at.format("%Y-%m-%d %H:%M"),
        c.due.map(|d| d.to_string()).unwrap_or_else(|| "-".into()),
        match c.valid {
            Some(true) => "valid",
            Some(false) => "invalid",
            None => "-",
        }
    )
}

/// The messages intake quarantined for people, after the case table (whatever the filters: they
/// have no kind or due date yet, and must not be missed); nothing when there are none.
fn needs_triage_text(waiting: &[NeedsTriage]) -> String {
    if waiting.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "\nneeds human triage: {} message(s) intake could not finish (in the quarantine \
         folder, not yet a case, unless the line says otherwise)\n\
         quarantined\tmailbox\tuidvalidity\tuid\tcontent hash\twhy\n",
        waiting.len()
    );
    for n in waiting {
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\n",
            n.at.format("%Y-%m-%d %H:%M"),
            n.mailbox,
            n.uidvalidity,
            n.uid,
            n.content_hash,
            n.why
        ));
    }
    out
}

/// The machine-mail records kept, one tab-separated line each, oldest first; opened ones only
/// with `all`.
fn machine_mail_text(records: &[MachineMail], all: bool) -> String {
    let mut out = String::from("id\treceived\tfrom\tsubject\twhy\topens as\topened\n");
    for r in records.iter().filter(|r| all || r.opened.is_none()) {
        let opened = r
            .opened
            .as_ref()
            .map_or_else(|| "-".to_string(), |o| format!("{} by {}", o.case, o.by));
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            r.id,
            r.received_at.format("%Y-%m-%d %H:%M"),
            r.from,
            r.subject,
            r.why.replace(['\t', '\n'], " "),
            r.suggested,
            opened
        ));
    }
    out
}

/// Clears the "needs human triage" record whose content hash is `hash` or starts with it (one
/// match only). There is no case to audit on, so the clearing is logged with who and why.
///
/// With `release` the message is also forgotten (its `seen` record and any attempt count), for
/// when a person judged it harmless, or the fault that quarantined it is fixed: moved back into
/// the watched folder it is then triaged like new mail. Without it the message stays known, and
/// put back it would only be filed again.
fn triaged(
    store: &Store,
    hash: &str,
    by: &str,
    why: &str,
    release: bool,
) -> Result<String, String> {
    if by.trim().is_empty() {
        return Err("--by YOUR-ADDRESS is required: the clearing is logged with who did it".into());
    }
    if hash.trim().len() < 8 {
        return Err("give at least 8 characters of the content hash".into());
    }
    let prefix = format!("{}{}", poison::NEEDS_TRIAGE_PREFIX, hash.trim());
    let found = store.marks(&prefix).map_err(|e| e.to_string())?;
    let key = match found.as_slice() {
        [(key, _)] => key.clone(),
        [] => return Err(format!("no message needing human triage has hash {hash}")),
        _ => {
            return Err(format!(
                "{} messages match {hash}: give more of the hash",
                found.len()
            ));
        }
    };
    let hash = key
        .trim_start_matches(poison::NEEDS_TRIAGE_PREFIX)
        .to_string();
    let mut change = crate::model::change::Change {
        marks_cleared: vec![key.clone()],
        ..Default::default()
    };
    if release {
        change.marks_cleared.push(poison::attempt_key(&hash));
        change.seen_forgotten.push(hash.clone());
    }
    store.apply(change).map_err(|e| e.to_string())?;
    tracing::info!(hash, by, why, release, "needs-human-triage entry cleared");
    Ok(if release {
        format!(
            "released: {hash} (by {by}); move the message from the quarantine folder back to \
             the inbox and it is triaged as new mail\n"
        )
    } else {
        format!("cleared: {hash} (by {by})\n")
    })
}

/// How long the daemon waits for a backup client to take the next block of the stream: the
/// store's writers wait while a backup is read, so a client that stops reading must not hold
/// them for long. Generous for a local client writing to disk.
pub const EXPORT_WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// `store verify` on an open store: the report, as the error when it found problems.
///
/// # Errors
/// The report when something is wrong, or why the store could not be read.
pub fn verify(store: &Store) -> Result<String, String> {
    let report = store.verify().map_err(|e| e.to_string())?;
    if report.is_clean() {
        Ok(report.text())
    } else {
        Err(report.text())
    }
}

/// What a request may use besides the store and the rules, each `None` where it is not set up.
#[derive(Clone, Copy, Default)]
pub struct Means<'a> {
    /// The case workflow (letters, routing), when configured.
    pub workflow: Option<&'a Workflow>,
    /// The corrections directory beside the store: a re-classification's test sample is kept
    /// there once the store has committed it, and the answer says so.
    pub corrections: Option<&'a Path>,
    /// Intake, which opens machine mail as cases (the daemon's own, or one built on the store by
    /// the command line).
    pub intake: Option<&'a Ingest>,
}

/// Runs a request against an open store; an action is dated `now` and its audit records `uid`
/// (the operating-system user who asked, see [`with_os_uid`]) beside the stated actor.
///
/// # Errors
/// A message for the person at the command line (no such case, an action refused…).
pub fn handle(
    store: &Store,
    ctx: &Context,
    means: Means<'_>,
    req: &Request,
    now: DateTime<Utc>,
    uid: Option<u32>,
) -> Result<String, String> {
    let Means {
        workflow,
        corrections,
        intake,
    } = means;
    let e = |e: crate::io::store::StoreError| e.to_string();
    match req {
        Request::MachineMail { all } => {
            let kept = store.machine_mail_after(0).map_err(e)?;
            Ok(machine_mail_text(&kept, *all))
        }
        Request::OpenFrom { id, kind, by, why } => {
            let intake =
                intake.ok_or("machine mail can only be opened with the mailbox configured")?;
            let req = OpenFrom {
                id: *id,
                kind: *kind,
                by,
                why,
                os_uid: uid,
            };
            let opened = block_on(intake.open_from(&req, now))?.map_err(|x| x.to_string())?;
            let case = store
                .get_case(&opened.reference)
                .map_err(e)?
                .ok_or_else(|| format!("no case {}", opened.reference))?;
            Ok(format!(
                "{}\nopened {} from machine mail {id} (by {by}); its clock counts from {}\n",
                case_line(&case),
                opened.reference,
                case.received_at.format("%Y-%m-%d %H:%M UTC"),
            ))
        }
        Request::List { kind, due_before } => {
            let cases: Vec<Case> = match due_before {
                Some(d) => store
                    .due_on_or_before(*d)
                    .map_err(e)?
                    .into_iter()
                    .filter_map(|(_, r)| store.get_case(&r).transpose())
                    .collect::<Result<_, _>>()
                    .map_err(e)?,
                None => store.list_cases(CaseOrder::Reference).map_err(e)?,
            };
            let mut out = String::from("reference\tkind\tstate\treceived\tdue\tvalid\n");
            for c in cases.iter().filter(|c| kind.is_none_or(|k| c.kind == k)) {
                out.push_str(&case_line(c));
                out.push('\n');
            }
            let waiting =
                poison::needs_triage(&store.marks(poison::NEEDS_TRIAGE_PREFIX).map_err(e)?);
            out.push_str(&needs_triage_text(&waiting));
            Ok(out)
        }
        Request::Triaged {
            hash,
            by,
            why,
            release,
        } => triaged(store, hash, by, why, *release),
        Request::Show { reference } => {
            let case = store
                .get_case(reference)
                .map_err(e)?
                .ok_or_else(|| format!("no case {reference}"))?;
            let mut out = serde_json::to_string_pretty(&case).map_err(|x| x.to_string())?;
            out.push_str("\naudit trail:\n");
            for ev in store.audit(reference).map_err(e)? {
                out.push_str(&format!(
                    "  {} {} {} {} ({})\n",
                    ev.at.format("%Y-%m-%d %H:%M:%S"),
                    ev.actor,
                    ev.action,
                    ev.detail,
                    ev.why
                ));
            }
            Ok(out)
        }
        Request::Verify => verify(store),
        Request::Export => Err("an export streams its answer: see `export_to`".into()),
        Request::Act {
            reference,
            words,
            by,
            why,
        } => {
            let action = match actions::parse_cli(words).map_err(|x| x.to_string())? {
                actions::StaffCommand::Act(a) => a,
                actions::StaffCommand::Help => return Ok(actions::help_text().to_string()),
            };
            let case = store
                .get_case(reference)
                .map_err(e)?
                .ok_or_else(|| format!("no case {reference}"))?;
            // Without a routing file, only full addresses can be assigned.
            let resolve = |h: &str| match workflow {
                Some(w) => w.resolve(h),
                None => h.contains('@').then(|| h.to_string()),
            };
            let mut done = actions::apply(&case, &action, by, why, now, ctx, &resolve)
                .map_err(|x| x.to_string())?;
            // The first event is the action itself (the rest are its consequences).
            if let Some(first) = done.audit.first_mut() {
                first.detail = with_os_uid(std::mem::take(&mut first.detail), uid);
            }
            let mut out = format!("{}\n", case_line(&done.case));
            let change = done.into_change(&case);
            let touched = crate::core::corrections::touched(&change);
            store.apply(change).map_err(e)?;
            for line in crate::app::corrections::after_commit(store, corrections, &touched) {
                out.push_str(&line);
                out.push('\n');
            }
            Ok(out)
        }
    }
}

/// Runs `f` to completion from synchronous code: on the daemon's runtime when called from one
/// of its blocking threads (where [`handle`] runs), else on a runtime of its own (the command
/// line, which opened the store itself).
///
/// # Errors
/// No runtime could be made.
fn block_on<F: std::future::Future>(f: F) -> Result<F::Output, String> {
    match tokio::runtime::Handle::try_current() {
        Ok(h) => Ok(h.block_on(f)),
        Err(_) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map(|rt| rt.block_on(f))
            .map_err(|e| format!("cannot start a runtime: {e}")),
    }
}

/// What each connection needs to answer: the daemon's open store, rules, workflow and clock.
#[derive(Clone)]
pub struct Services {
    /// The open store.
    pub store: Store,
    /// Rules and context (reloadable).
    pub ctx: crate::app::ingest::SharedContext,
    /// The case workflow, when configured.
    pub workflow: Option<Arc<Workflow>>,
    /// Intake, which opens machine mail as cases.
    pub ingest: Option<Arc<Ingest>>,
    /// Dates actions.
    pub clock: Arc<dyn Clock>,
    /// Where re-classifications keep their test samples (`None`: not kept).
    pub corrections: Option<PathBuf>,
}

/// Serves the control socket at `path` until `cancel`. The socket's directory is created (or
/// tightened to) 0700 and a stale socket file (left by a crash) is replaced.
///
/// # Errors
/// The directory or the socket cannot be created.
pub async fn serve(
    path: PathBuf,
    services: Services,
    limits: Limits,
    cancel: CancellationToken,
) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(dir) = path.parent() {
        crate::io::store::make_private_dir(dir).map_err(std::io::Error::other)?;
    }
    let _ = std::fs::remove_file(&path);
    let listener = tokio::net::UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    loop {
        let (stream, _) = tokio::select! {
            () = cancel.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(s) => s,
                Err(err) => {
                    tracing::warn!(error = %err, "control socket: accept failed");
                    continue;
                }
            },
        };
        let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
            tracing::warn!(
                limit = limits.max_connections,
                "control socket: too many connections, one refused"
            );
            // Best effort, never waits: the refused client learns why instead of hanging.
            let _ = stream.try_write(&answer_line(&busy(limits.max_connections)));
            continue;
        };
        let services = services.clone();
        tokio::spawn(async move {
            serve_one(stream, services, limits.read_timeout).await;
            drop(permit);
        });
    }
    let _ = std::fs::remove_file(&path);
    Ok(())
}

/// The answer to a connection over [`MAX_CONNECTIONS`].
fn busy(max_connections: usize) -> Response {
    Response {
        ok: false,
        text: format!(
            "the daemon is serving {max_connections} other control connections; try again"
        ),
    }
}

/// A response as one JSON line.
fn answer_line(response: &Response) -> Vec<u8> {
    let mut out = serde_json::to_vec(response).unwrap_or_default();
    out.push(b'\n');
    out
}

/// Answers one connection: reads one request line (bounded in size and time), runs it with the
/// peer's uid, writes one response line.
async fn serve_one(
    stream: tokio::net::UnixStream,
    services: Services,
    read_timeout: std::time::Duration,
) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let uid = match stream.peer_cred() {
        Ok(cred) => Some(cred.uid()),
        Err(err) => {
            tracing::warn!(error = %err, "control socket: peer credentials unavailable");
            None
        }
    };
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let mut reader = BufReader::new(read.take(MAX_REQUEST_BYTES));
    let read = tokio::time::timeout(read_timeout, reader.read_line(&mut line)).await;
    let response = match read {
        Err(_) => Response {
            ok: false,
            text: format!("no request within {} ms", read_timeout.as_millis()),
        },
        Ok(Err(err)) => Response {
            ok: false,
            text: format!("cannot read the request: {err}"),
        },
        Ok(Ok(_)) => match serde_json::from_str::<Request>(&line) {
            Ok(Request::Export) => {
                let read = reader.into_inner().into_inner();
                match read.reunite(write) {
                    Ok(stream) => return export_to(stream, services).await,
                    Err(_) => return, // the halves of one stream always reunite
                }
            }
            Ok(req) => run(services, req, uid).await,
            Err(err) => Response {
                ok: false,
                text: format!("bad request: {err}"),
            },
        },
    };
    let _ = write.write_all(&answer_line(&response)).await;
}

/// Streams a backup to the client (see the module documentation), off the async workers: the
/// export holds the store's writers back while it reads, and blocks on the socket.
async fn export_to(stream: tokio::net::UnixStream, services: Services) {
    use std::io::Write;
    let stream = match stream.into_std().and_then(|s| {
        s.set_nonblocking(false)?;
        s.set_write_timeout(Some(EXPORT_WRITE_TIMEOUT))?;
        Ok(s)
    }) {
        Ok(s) => s,
        Err(err) => {
            tracing::warn!(error = %err, "control socket: cannot stream the export");
            return;
        }
    };
    let Services { store, clock, .. } = services;
    let done = tokio::task::spawn_blocking(move || {
        let mut out = std::io::BufWriter::new(stream);
        let started = std::time::Instant::now();
        let response = Response {
            ok: true,
            text: String::new(),
        };
        if out.write_all(&answer_line(&response)).is_err() {
            return;
        }
        match store.export(&mut out, clock.now()) {
            Ok(summary) => tracing::info!(
                records = summary.trailer.records,
                bytes = summary.bytes,
                writers_held_ms = started.elapsed().as_millis() as u64,
                "backup exported through the control socket"
            ),
            Err(err) => {
                tracing::error!(error = %err, "backup export failed");
                let abort = serde_json::json!({ "abort": err.to_string() });
                let _ = writeln!(out, "\n{abort}");
            }
        }
        let _ = out.flush();
    })
    .await;
    if let Err(err) = done {
        tracing::error!(error = %err, "backup export task failed");
    }
}

/// Asks the running daemon for a backup and copies the stream into `out` (not checked here: the
/// caller reads it back, trailer and checksum included).
///
/// # Errors
/// The socket does not answer, the daemon refuses, or the copy fails.
pub fn export_from(path: &Path, out: &mut dyn std::io::Write) -> Result<u64, String> {
    use std::io::{BufRead, BufReader};
    let stream = send(path, &Request::Export)?;
    let mut reader = BufReader::new(stream);
    let mut first = String::new();
    reader
        .read_line(&mut first)
        .map_err(|e| format!("control socket: {e}"))?;
    let response: Response = serde_json::from_str(&first)
        .map_err(|e| format!("control socket answered nonsense: {e}"))?;
    if !response.ok {
        return Err(response.text);
    }
    std::io::copy(&mut reader, out).map_err(|e| format!("receiving the export: {e}"))
}

/// Runs a parsed request off the async workers (the store fsyncs).
async fn run(services: Services, req: Request, uid: Option<u32>) -> Response {
    let Services {
        store,
        ctx,
        workflow,
        ingest,
        clock,
        corrections,
    } = services;
    let joined = tokio::task::spawn_blocking(move || {
        let ctx = Arc::clone(&ctx.read().unwrap_or_else(|p| p.into_inner()));
        let means = Means {
            workflow: workflow.as_deref(),
            corrections: corrections.as_deref(),
            intake: ingest.as_deref(),
        };
        handle(&store, &ctx, means, &req, clock.now(), uid)
    })
    .await;
    match joined {
        Ok(Ok(text)) => Response { ok: true, text },
        Ok(Err(text)) => Response { ok: false, text },
        Err(err) => Response {
            ok: false,
            text: format!("internal error: {err}"),
        },
    }
}

/// Sends a request to the running daemon.
///
/// # Errors
/// The socket is missing or does not answer.
pub fn call(path: &Path, req: &Request) -> Result<Response, String> {
    use std::io::{BufRead, BufReader};
    let stream = send(path, req)?;
    let mut answer = String::new();
    BufReader::new(stream)
        .read_line(&mut answer)
        .map_err(|e| format!("control socket: {e}"))?;
    serde_json::from_str(&answer).map_err(|e| format!("control socket answered nonsense: {e}"))
}

/// Connects to the daemon and sends one request line; the stream is left to read the answer.
fn send(path: &Path, req: &Request) -> Result<std::os::unix::net::UnixStream, String> {
    use std::io::Write;
    let mut stream = std::os::unix::net::UnixStream::connect(path).map_err(|e| {
        format!(
            "the store is in use but the daemon's control socket {} does not answer: {e}",
            path.display()
        )
    })?;
    let _ = stream.set_read_timeout(Some(CLIENT_TIMEOUT));
    let mut line = serde_json::to_string(req).map_err(|e| e.to_string())?;
    line.push('\n');
    stream
        .write_all(line.as_bytes())
        .map_err(|e| format!("control socket: {e}"))?;
    Ok(stream)
}

#[cfg(test)]
mod tests;
