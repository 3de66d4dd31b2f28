//! Case commands (`case list`, `case show`, `case ACTION`) that work whether or not the daemon runs.
//!
//! sled lets one process open the store. When the daemon runs, the command line sends its request
//! over a Unix socket in the data directory (`control.sock`, mode 0600: only the service user and
//! root can use it) and the daemon answers from its open store; otherwise the command line opens
//! the store itself. Both paths run the same [`handle`], so the answers are identical.
//!
//! Protocol: one JSON [`Request`] line in, one JSON [`Response`] line out, then the connection
//! closes. Requests are bounded (64 KiB) and handled one at a time per connection.

use crate::app::workflow::Workflow;
use crate::core::actions;
use crate::core::plan::poison;
use crate::core::triage::Context;
use crate::io::clock::Clock;
use crate::io::store::{CaseOrder, Store};
use crate::model::case::{Case, CaseRef};
use crate::model::kind::Kind;
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

/// The socket's path for a data directory.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join("control.sock")
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
        "\nneeds human triage: {} message(s) in the quarantine folder, not yet a case\n\
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

/// Clears the "needs human triage" record whose content hash is `hash` or starts with it (one
/// match only). There is no case to audit on, so the clearing is logged with who and why.
fn triaged(store: &Store, hash: &str, by: &str, why: &str) -> Result<String, String> {
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
    let change = crate::model::change::Change {
        marks_cleared: vec![key.clone()],
        ..Default::default()
    };
    store.apply(change).map_err(|e| e.to_string())?;
    let hash = key.trim_start_matches(poison::NEEDS_TRIAGE_PREFIX);
    tracing::info!(hash, by, why, "needs-human-triage entry cleared");
    Ok(format!("cleared: {hash} (by {by})\n"))
}

/// Runs a request against an open store; an action is dated `now`.
///
/// # Errors
/// A message for the person at the command line (no such case, an action refused…).
pub fn handle(
    store: &Store,
    ctx: &Context,
    workflow: Option<&Workflow>,
    req: &Request,
    now: DateTime<Utc>,
) -> Result<String, String> {
    let e = |e: crate::io::store::StoreError| e.to_string();
    match req {
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
        Request::Triaged { hash, by, why } => triaged(store, hash, by, why),
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
            let done = actions::apply(&case, &action, by, why, now, ctx, &resolve)
                .map_err(|x| x.to_string())?;
            let line = case_line(&done.case);
            store.apply(done.into_change(&case)).map_err(e)?;
            Ok(format!("{line}\n"))
        }
    }
}

/// Serves the control socket until `cancel`, dating actions by `clock`. A stale socket file (left
/// by a crash) is replaced.
///
/// # Errors
/// The socket cannot be created.
pub async fn serve(
    path: PathBuf,
    store: Store,
    ctx: crate::app::ingest::SharedContext,
    workflow: Option<Arc<Workflow>>,
    clock: Arc<dyn Clock>,
    cancel: CancellationToken,
) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let _ = std::fs::remove_file(&path);
    let listener = tokio::net::UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
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
        let (store, ctx, workflow) = (store.clone(), Arc::clone(&ctx), workflow.clone());
        let clock = Arc::clone(&clock);
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut line = String::new();
            let mut reader = BufReader::new(read.take(MAX_REQUEST_BYTES));
            let response = match reader.read_line(&mut line).await {
                Ok(_) => match serde_json::from_str::<Request>(&line) {
                    Ok(req) => {
                        let joined = tokio::task::spawn_blocking(move || {
                            let ctx = Arc::clone(&ctx.read().unwrap_or_else(|p| p.into_inner()));
                            handle(&store, &ctx, workflow.as_deref(), &req, clock.now())
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
                    Err(err) => Response {
                        ok: false,
                        text: format!("bad request: {err}"),
                    },
                },
                Err(err) => Response {
                    ok: false,
                    text: format!("cannot read the request: {err}"),
                },
            };
            let mut out = serde_json::to_string(&response).unwrap_or_default();
            out.push('\n');
            let _ = write.write_all(out.as_bytes()).await;
        });
    }
    let _ = std::fs::remove_file(&path);
    Ok(())
}

/// Sends a request to the running daemon.
///
/// # Errors
/// The socket is missing or does not answer.
pub fn call(path: &Path, req: &Request) -> Result<Response, String> {
    use std::io::{BufRead, BufReader, Write};
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
    let mut answer = String::new();
    BufReader::new(stream)
        .read_line(&mut answer)
        .map_err(|e| format!("control socket: {e}"))?;
    serde_json::from_str(&answer).map_err(|e| format!("control socket answered nonsense: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::plan::ingest::Position;
    use chrono::TimeZone;

    fn list(store: &Store) -> String {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        let rules = crate::core::rules::RuleSet::load(&dir).expect("default rules load");
        let ctx = Context::standalone(rules);
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap();
        let req = Request::List {
            kind: None,
            due_before: None,
        };
        handle(store, &ctx, None, &req, now).expect("list")
    }

    #[test]
    fn case_list_shows_messages_that_need_human_triage() {
        let store = Store::open_temporary().expect("temporary store");
        let empty = list(&store);
        assert_eq!(empty, "reference\tkind\tstate\treceived\tdue\tvalid\n");
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 30, 0).unwrap();
        for (uid, hash) in [(41, "abc"), (42, "def")] {
            let position = Position {
                mailbox: "INBOX".into(),
                uidvalidity: 7,
                uid,
            };
            let change = poison::plan_needs_triage(None, hash, "it died twice", &position, at);
            store.apply(change).expect("apply");
        }
        let text = list(&store);
        assert!(text.starts_with(&empty), "{text}");
        assert!(text.contains("needs human triage: 2 message(s)"), "{text}");
        assert!(
            text.contains("2026-11-23 09:30\tINBOX\t7\t41\tabc\tit died twice\n"),
            "{text}"
        );
        assert!(text.contains("\t42\tdef\t"), "{text}");
    }

    #[test]
    fn case_triaged_clears_one_entry_by_its_hash_and_says_why_not_otherwise() {
        let store = Store::open_temporary().expect("temporary store");
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 30, 0).unwrap();
        for (uid, hash) in [(41, "abcdef0123"), (42, "abcdef0456"), (43, "ffff000011")] {
            let position = Position {
                mailbox: "INBOX".into(),
                uidvalidity: 7,
                uid,
            };
            let change = poison::plan_needs_triage(None, hash, "died", &position, at);
            store.apply(change).expect("apply");
        }
        // (hash, by, Ok(text) / Err(part of the message))
        let table: [(&str, &str, Result<&str, &str>); 6] = [
            ("abcdef0123", "", Err("--by")),
            ("abc", "ann", Err("at least 8")),
            ("abcdef04", "ann", Ok("cleared: abcdef0456 (by ann)\n")),
            ("abcdef04", "ann", Err("no message")),
            ("abcdef01", "ann", Ok("cleared: abcdef0123 (by ann)\n")),
            ("00000000", "ann", Err("no message")),
        ];
        for (hash, by, want) in table {
            let got = triaged(&store, hash, by, "logged by hand as FOI-2026-000009");
            match (got, want) {
                (Ok(text), Ok(w)) => assert_eq!(text, w, "{hash}"),
                (Err(e), Err(w)) => assert!(e.contains(w), "{hash}: {e}"),
                (got, want) => panic!("{hash}: got {got:?}, wanted {want:?}"),
            }
        }
        let left = poison::needs_triage(&store.marks(poison::NEEDS_TRIAGE_PREFIX).expect("scan"));
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].content_hash, "ffff000011");
        for (uid, hash) in [(44, "abcdef0999"), (45, "abcdef0988")] {
            let position = Position {
                mailbox: "INBOX".into(),
                uidvalidity: 7,
                uid,
            };
            let change = poison::plan_needs_triage(None, hash, "died", &position, at);
            store.apply(change).expect("apply");
        }
        let e = triaged(&store, "abcdef09", "ann", "").expect_err("ambiguous");
        assert!(e.contains("2 messages match"), "{e}");
    }
}
