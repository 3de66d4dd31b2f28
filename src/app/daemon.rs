//! `foi-triage run` and `foi-triage import`: the long-running service and the one-off import.
//!
//! Wiring only: check and load everything with [`prepare`] (every error reported before anything
//! starts; `config check` runs the same function), open the store, start the ingest loop, the
//! Sent watcher, the scheduler, the control socket and the outbox worker as tasks under one
//! [`TaskTracker`], each reading time and ids from one [`Env`] ([`run`]: the system's;
//! [`run_with`]: the caller's, for in-process tests), and handle signals:
//! - SIGTERM / SIGINT: stop taking new work, let the message in hand finish (its commit and
//!   flush), wait at most [`SHUTDOWN_GRACE`], flush the store, exit 0.
//! - SIGHUP: reload rules and templates. A broken set is refused with every error logged, and the
//!   old set stays in use.
//! - A store write that fails (a full or failing disk; see `Store::write_failed`): stop as for
//!   SIGTERM, then exit non-zero so systemd restarts the daemon on a freshly opened store.

use crate::app::env::Env;
use crate::app::ingest::{Disposition, Ingest, SharedContext};
use crate::app::scheduler::scheduler;
use crate::config::Config;
use crate::core::deadline::Calendar;
use crate::core::plan::ingest::Mode;
use crate::core::rules::RuleSet;
use crate::core::triage::Context;
use crate::io::mail::imap::ImapClient;
use crate::io::mail::smtp::Mailer;
use crate::io::outbox::{Outbox, OutboxSettings, SendMail};
use crate::io::store::Store;
use crate::letters::Letters;
use anyhow::{Context as _, Result, anyhow, bail};
use chrono::NaiveDate;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};

/// Longest wait for tasks to finish after SIGTERM: 20 s, well inside systemd's default 90 s
/// `TimeoutStopSec`. The work in hand is one message (a commit and a flush) or one SMTP send
/// (bounded by the SMTP timeout).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// Everything loaded from the configuration, checked before anything starts.
pub struct Loaded {
    /// The configuration.
    pub config: Config,
    /// The pipeline context (rules, calendar, prefixes).
    pub context: Context,
    /// The template registry (every email).
    pub templates: Letters,
}

/// Loads the config, its rules, holiday data and templates, reporting every problem at once.
///
/// # Errors
/// Every problem found, one per line.
pub fn load(config_path: &Path) -> Result<Loaded> {
    let config = Config::load(config_path).map_err(|e| anyhow!("{e}"))?;
    load_with(config, Vec::new())
}

/// [`load`] on a loaded config, after the `earlier` problems found in it (reported first).
fn load_with(config: Config, earlier: Vec<String>) -> Result<Loaded> {
    let mut problems = earlier;
    let rules = RuleSet::load_configured(
        config.rules_dir.as_deref(),
        &crate::core::rules::Own::of(&config),
    )
    .map_err(|e| problems.push(e.to_string()))
    .ok();
    let calendar = load_calendar(&config)
        .map_err(|e| problems.push(format!("{e:#}")))
        .ok();
    // The Welsh letters too when the body answers Welsh in Welsh: every one missing is listed.
    let templates = Letters::load_configured(config.templates_dir.as_deref(), config.welsh)
        .map_err(|e| problems.extend(e.0.iter().map(ToString::to_string)))
        .ok();
    match (rules, calendar, templates) {
        (Some(rules), Some(calendar), Some(templates)) if problems.is_empty() => {
            let context = Context::new(&config, rules, calendar);
            Ok(Loaded {
                config,
                context,
                templates,
            })
        }
        _ => bail!("{}", problems.join("\n")),
    }
}

/// What the checks are for: [`prepare`] checks more for the daemon than for the offline tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// `run` (and `config check`, the unit's `ExecStartPre`): `[imap]` is required, and `[smtp]`
    /// when acknowledgements are on.
    Daemon,
    /// The offline tools (`classify`, `case`, `digest --dry-run`; `config check --offline`):
    /// neither section is required, but each present one is checked as the daemon would.
    Offline,
}

/// The daemon's complaint about a config without `[imap]`.
fn no_imap(config_path: &Path) -> String {
    format!(
        "{}: the daemon needs an [imap] section (the shared mailbox to watch)",
        config_path.display()
    )
}

/// Everything `run` starts from, checked: what [`prepare`] returns.
pub struct Prepared {
    /// The config, context and templates.
    pub loaded: Loaded,
    /// The mailer built from `[smtp]`, if there is one.
    pub mailer: Option<Arc<dyn SendMail>>,
    /// The case workflow, if `[workflow]` is configured.
    pub workflow: Option<crate::app::workflow::Workflow>,
}

/// Every check `run` makes before it starts anything: [`load`] (config, rules, holiday data,
/// templates), `[imap]` present and `[smtp]` present when acknowledgements are on (for
/// [`Needs::Daemon`]), the mailer built from `[smtp]`, and the workflow loaded. `run` and
/// `config check` both call this, so the check passes exactly when the start gets past it.
///
/// # Errors
/// Every problem found, one per line (only the config's own errors when it cannot be read).
pub fn prepare(config_path: &Path, needs: Needs) -> Result<Prepared> {
    let config = Config::load(config_path).map_err(|e| anyhow!("{e}"))?;
    let daemon = needs == Needs::Daemon;
    let mut problems = Vec::new();
    if daemon && config.imap.is_none() {
        problems.push(no_imap(config_path));
    }
    let mailer: Option<Arc<dyn SendMail>> = match &config.smtp {
        Some(s) => match Mailer::new(s) {
            Ok(m) => Some(Arc::new(m)),
            Err(e) => {
                problems.push(format!("[smtp]: {e}"));
                None
            }
        },
        None if daemon && config.acknowledgements.enabled => {
            problems.push(format!(
                "{}: acknowledgements are on but there is no [smtp] section to send them",
                config_path.display()
            ));
            None
        }
        None => None,
    };
    let workflow = crate::app::workflow::Workflow::load(&config)
        .map_err(|e| problems.push(e.to_string()))
        .ok()
        .flatten();
    // The config's own files first, then what only the daemon needs.
    let mut all = Vec::new();
    let loaded = load_with(config, Vec::new()).map_err(|e| all.push(e.to_string()));
    all.extend(problems);
    // The workflow loads the same template registry as the config's own files: say each
    // problem once.
    let mut seen = std::collections::BTreeSet::new();
    let all: Vec<String> = all
        .iter()
        .flat_map(|p| p.lines())
        .filter(|l| seen.insert(l.to_string()))
        .map(str::to_string)
        .collect();
    match loaded {
        Ok(loaded) if all.is_empty() => Ok(Prepared {
            loaded,
            mailer,
            workflow,
        }),
        _ => bail!("{}", all.join("\n")),
    }
}

/// The calendar a config asks for: built-in data, overridden by the operator's file if any.
///
/// # Errors
/// The file cannot be read or parsed.
pub fn load_calendar(config: &Config) -> Result<Calendar> {
    let builtin = Calendar::builtin();
    let Some(path) = &config.bank_holidays else {
        return Ok(builtin);
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("bank holidays {}: cannot read", path.display()))?;
    let loaded = if path.extension().is_some_and(|e| e == "json") {
        Calendar::from_govuk_json(&text)
    } else {
        Calendar::from_toml(&text)
    }
    .with_context(|| format!("bank holidays {}", path.display()))?;
    Ok(builtin.with_overrides(loaded))
}

fn open_store(config: &Config) -> Result<Store> {
    // Private (0700) whatever the umask: the store and the control socket live here.
    crate::io::store::make_private_dir(&config.data_dir)
        .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
    Store::open(&config.data_dir).with_context(|| {
        format!(
            "cannot open the case store in {}",
            config.data_dir.display()
        )
    })
}

/// Brings the corrections directory in line with the store before any task writes (see
/// `app::corrections`). Not fatal: the corrections are in the store, and a sample that cannot be
/// written now is written at the next start.
fn reconcile_corrections(store: &Store, dir: &Path) {
    match crate::app::corrections::reconcile(store, dir) {
        Ok(r) if r == Default::default() => {}
        Ok(r) => info!(
            written = r.written,
            current = r.current,
            no_message = r.no_message,
            removed = r.removed,
            temporaries = r.temporaries,
            dir = %dir.display(),
            "corrections directory brought in line with the store"
        ),
        Err(e) => {
            error!(error = %e, dir = %dir.display(), "corrections directory not brought in line with the store; `rules test --corrections` may miss or show stale samples until the next start")
        }
    }
}

fn outbox_settings(config: &Config) -> OutboxSettings {
    OutboxSettings {
        organisation: config.organisation.clone(),
        shared_address: config.address.clone(),
        envelope_from: config.address.clone(),
        region: config.region,
        policy_days: config
            .kinds
            .iter()
            .map(|(k, c)| (*k, c.working_days))
            .collect(),
        retry: config.outbox_retry,
    }
}

/// Runs the daemon on the machine's clock and ids, with decoder children of this program
/// ([`Env::system`]), until SIGTERM/SIGINT (or until `stop` is cancelled); SIGHUP reloads rules
/// and templates.
///
/// # Errors
/// Startup problems (config, rules, templates, store, missing `[imap]`/`[smtp]`, the program's
/// own path unknown), each named.
pub async fn run(config_path: &Path, stop: CancellationToken) -> Result<()> {
    serve(&system_env()?, config_path, stop, Signals::Os).await
}

/// [`Env::system`], its error named.
fn system_env() -> Result<Env> {
    Env::system().context("cannot find this program's path to start attachment decoders")
}

/// Runs the daemon in-process on `env`'s clock and ids until `stop` is cancelled: the same
/// daemon as [`run`], without the process's signal handlers (tests drive time through `env`).
///
/// # Errors
/// As [`run`].
pub async fn run_with(env: &Env, config_path: &Path, stop: CancellationToken) -> Result<()> {
    serve(env, config_path, stop, Signals::Ignored).await
}

/// Whether the daemon listens to the process's signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signals {
    /// SIGTERM/SIGINT stop it, SIGHUP reloads: the service.
    Os,
    /// Only the cancellation token stops it: in-process runs.
    Ignored,
}

/// What the signal listener saw.
enum SignalEvent {
    Stop(&'static str),
    Reload,
}

/// The process's SIGTERM, SIGINT and SIGHUP.
struct OsSignals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl OsSignals {
    fn listen() -> Result<OsSignals> {
        Ok(OsSignals {
            term: signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?,
            int: signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?,
            hup: signal(SignalKind::hangup()).context("cannot listen for SIGHUP")?,
        })
    }

    async fn next(&mut self) -> SignalEvent {
        tokio::select! {
            _ = self.term.recv() => SignalEvent::Stop("SIGTERM"),
            _ = self.int.recv() => SignalEvent::Stop("SIGINT"),
            _ = self.hup.recv() => SignalEvent::Reload,
        }
    }
}

/// The next signal, or never when signals are not listened to.
async fn next_signal(signals: Option<&mut OsSignals>) -> SignalEvent {
    match signals {
        Some(s) => s.next().await,
        None => std::future::pending().await,
    }
}

async fn serve(
    env: &Env,
    config_path: &Path,
    stop: CancellationToken,
    signals: Signals,
) -> Result<()> {
    let services = Services::build(env, config_path)?;
    // Listen before any task starts: a SIGTERM from the first log line on (systemd stopping a
    // service that is still starting) must shut down cleanly, not kill the process mid-write.
    let mut os = match signals {
        Signals::Os => Some(OsSignals::listen()?),
        Signals::Ignored => None,
    };
    let cancel = stop.child_token();
    let tracker = TaskTracker::new();
    services.spawn(env, &tracker, &cancel);
    tracker.close();
    info!(
        config = %config_path.display(),
        mailbox = %mailbox_label(&services.config),
        "foi-triage running"
    );
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            why = services.store.write_failed() => {
                error!(error = %why, "fatal: the case store cannot write (a full or failing disk?); stopping the daemon");
                let _ = services.fatal.set(format!("the case store cannot write: {why}"));
                break;
            }
            event = next_signal(os.as_mut()) => match event {
                SignalEvent::Stop(name) => { info!("{name}: shutting down"); break; }
                SignalEvent::Reload => reload(&services.config, &services.ctx, services.outbox.as_deref()),
            },
        }
    }
    cancel.cancel();
    if tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait())
        .await
        .is_err()
    {
        warn!(
            grace_s = SHUTDOWN_GRACE.as_secs(),
            "tasks did not stop in time; exiting anyway (nothing committed is lost)"
        );
    }
    if let Some(e) = services.fatal.get() {
        // The store is failing writes; a flush is worth a try, its result is not.
        let _ = services.store.flush();
        bail!("stopped on a fatal error (exiting non-zero to be restarted): {e}");
    }
    services
        .store
        .flush()
        .context("final flush of the case store")?;
    info!("stopped");
    Ok(())
}

/// What the daemon's tasks share, built once from a checked configuration.
struct Services {
    config: Config,
    mailbox: crate::config::MailboxConfig,
    store: Store,
    ctx: SharedContext,
    wake: Arc<Notify>,
    ingest: Arc<Ingest>,
    outbox: Option<Arc<Outbox>>,
    workflow: Option<Arc<crate::app::workflow::Workflow>>,
    /// Set by a task that must end the process (the outbox, when the store cannot record what
    /// it sent), or by `serve` when any store write fails: `serve` then returns this as its
    /// error, so the daemon exits non-zero and systemd restarts it.
    fatal: Arc<std::sync::OnceLock<String>>,
}

impl Services {
    /// Checks the configuration as `config check` does, opens the store and builds the owners.
    fn build(env: &Env, config_path: &Path) -> Result<Services> {
        let Prepared {
            loaded,
            mailer,
            workflow,
        } = prepare(config_path, Needs::Daemon)?;
        let workflow = workflow.map(|w| Arc::new(w.with_ids(Arc::clone(&env.ids))));
        let config = loaded.config;
        // `prepare` refused a config without it; this only unwraps.
        let Some(mailbox) = config.imap.clone() else {
            bail!("{}", no_imap(config_path));
        };
        let store = open_store(&config)?;
        let corrections = crate::io::corrections::dir(&config.data_dir);
        reconcile_corrections(&store, &corrections);
        let ctx: SharedContext = Arc::new(RwLock::new(Arc::new(loaded.context)));
        let wake = Arc::new(Notify::new());
        let ingest = Ingest::new(
            &config,
            Mode::Live,
            store.clone(),
            Arc::clone(&ctx),
            Arc::clone(&wake),
            env,
        )
        .with_workflow(workflow.clone())
        .keeping_corrections(corrections);
        let outbox = mailer.map(|m| {
            let templates = Arc::new(loaded.templates);
            let outbox = Outbox::new(store.clone(), templates, m, outbox_settings(&config));
            Arc::new(outbox.with_clock(Arc::clone(&env.clock)))
        });
        Ok(Services {
            config,
            mailbox,
            store,
            ctx,
            wake,
            ingest: Arc::new(ingest),
            outbox,
            workflow,
            fatal: Arc::default(),
        })
    }

    /// Starts every owner task on `tracker`: the mailbox, the Sent watcher (with a workflow), the
    /// scheduler, the control socket, and the outbox (with a mailer).
    fn spawn(&self, env: &Env, tracker: &TaskTracker, cancel: &CancellationToken) {
        let mb = &self.mailbox;
        let (ingest, server, name, idle) = (
            Arc::clone(&self.ingest),
            mb.server.clone(),
            mb.mailbox.clone(),
            mb.idle,
        );
        let c = cancel.clone();
        tracker.spawn(async move { ingest.run(server, name, idle, c).await });
        if let (Some(_), Some(sent)) = (&self.workflow, mb.sent_folder.clone()) {
            let (ingest, server, ctx) = (
                Arc::clone(&self.ingest),
                mb.server.clone(),
                Arc::clone(&self.ctx),
            );
            let c = cancel.clone();
            tracker.spawn(async move { ingest.watch_sent(server, sent, ctx, c).await });
        }
        {
            // Always: without a workflow it still deletes machine mail past its retention.
            let (wf, store, ctx) = (
                self.workflow.clone(),
                self.store.clone(),
                Arc::clone(&self.ctx),
            );
            let machine = self.config.machine_mail.clone();
            let (clock, wake, c) = (
                Arc::clone(&env.clock),
                Arc::clone(&self.wake),
                cancel.clone(),
            );
            tracker.spawn(async move {
                scheduler(wf, machine, store, ctx, clock, wake, c).await;
            });
        }
        self.spawn_control(env, tracker, cancel);
        if let Some(outbox) = &self.outbox {
            let (outbox, wake, c) = (Arc::clone(outbox), Arc::clone(&self.wake), cancel.clone());
            let fatal = Arc::clone(&self.fatal);
            tracker.spawn(async move {
                if let Err(e) = outbox.run(c.clone(), wake).await {
                    error!(error = %e, "fatal: the outbox cannot record its rows; stopping the daemon");
                    let _ = fatal.set(e.to_string());
                    c.cancel();
                }
            });
        }
    }

    /// The control socket, through which `foi-triage case` works while the daemon runs.
    fn spawn_control(&self, env: &Env, tracker: &TaskTracker, cancel: &CancellationToken) {
        let path = crate::app::control::socket_path(&self.config.data_dir);
        let services = crate::app::control::Services {
            store: self.store.clone(),
            ctx: Arc::clone(&self.ctx),
            workflow: self.workflow.clone(),
            ingest: Some(Arc::clone(&self.ingest)),
            clock: Arc::clone(&env.clock),
            corrections: Some(crate::io::corrections::dir(&self.config.data_dir)),
        };
        let cancel = cancel.clone();
        tracker.spawn(async move {
            if let Err(e) = crate::app::control::serve(path.clone(), services, Default::default(), cancel).await
            {
                error!(error = %e, socket = %path.display(), "control socket unavailable: `foi-triage case` needs the daemon stopped");
            }
        });
    }
}

fn mailbox_label(config: &Config) -> String {
    config.imap.as_ref().map_or_else(String::new, |m| {
        format!("{}:{}/{}", m.server.host, m.server.port, m.mailbox)
    })
}

/// SIGHUP: reload rules and templates; keep the old ones on any error.
fn reload(config: &Config, ctx: &SharedContext, outbox: Option<&Outbox>) {
    let rules = RuleSet::load_configured(
        config.rules_dir.as_deref(),
        &crate::core::rules::Own::of(config),
    );
    let templates = Letters::load_configured(config.templates_dir.as_deref(), config.welsh);
    match (rules, templates) {
        (Ok(rules), Ok(templates)) => {
            let calendar = {
                let current = ctx.read().unwrap_or_else(|e| e.into_inner());
                current.calendar.clone()
            };
            let fresh = Arc::new(Context::new(config, rules, calendar));
            *ctx.write().unwrap_or_else(|e| e.into_inner()) = fresh;
            if let Some(o) = outbox {
                o.replace_templates(Arc::new(templates));
            }
            info!("SIGHUP: rules and templates reloaded");
        }
        (rules, templates) => {
            if let Err(e) = rules {
                for line in e.to_string().lines() {
                    error!(problem = line, "SIGHUP: rules not reloaded");
                }
            }
            if let Err(e) = templates {
                for t in &e.0 {
                    error!(problem = %t, "SIGHUP: templates not reloaded");
                }
            }
            warn!("SIGHUP: reload refused; the previous rules and templates stay in use");
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Messages looked at.
    pub messages: usize,
    /// New cases created.
    pub cases: usize,
    /// Follow-ups joined to cases.
    pub followups: usize,
    /// Messages that created nothing (machine mail, our own).
    pub ignored: usize,
    /// Already recorded before.
    pub duplicates: usize,
    /// Could not be recorded.
    pub quarantined: usize,
}

/// `foi-triage import`: creates cases from an existing folder, without sending anything and
/// without moving the messages. Running it twice creates nothing new (content hashes).
///
/// # Errors
/// Startup problems, IMAP or store failures (everything recorded before stays recorded).
pub async fn import(
    config_path: &Path,
    folder: &str,
    since: Option<NaiveDate>,
) -> Result<ImportSummary> {
    let loaded = load(config_path)?;
    let config = loaded.config;
    let Some(mailbox) = config.imap.clone() else {
        bail!(
            "{}: import needs an [imap] section (where the folder is)",
            config_path.display()
        );
    };
    let store = open_store(&config)?;
    let ctx: SharedContext = Arc::new(RwLock::new(Arc::new(loaded.context)));
    let ingest = Ingest::new(
        &config,
        Mode::Import,
        store.clone(),
        ctx,
        Arc::new(Notify::new()),
        &system_env()?,
    );
    let mut client = ImapClient::connect(&mailbox.server)
        .await
        .with_context(|| format!("connecting to {}", mailbox_label(&config)))?;
    let state = client
        .select(folder)
        .await
        .with_context(|| format!("selecting folder {folder:?}"))?;
    let uids = match since {
        Some(d) => client.uids_since(d).await?,
        None => client.uid_search_all().await?,
    };
    info!(folder, messages = uids.len(), since = ?since, "importing");
    let cancel = CancellationToken::new();
    // Import's cursor lives under its own name, so it never moves the daemon's cursor.
    let done = ingest
        .process_uids(
            &mut client,
            &format!("import:{folder}"),
            state,
            &uids,
            false,
            &cancel,
        )
        .await?
        .done;
    store.flush()?;
    let _ = client.logout().await;
    let mut s = ImportSummary {
        messages: done.len(),
        ..ImportSummary::default()
    };
    for (_, d) in &done {
        match d {
            Disposition::Recorded { action, .. } => match action {
                crate::core::plan::ingest::Handled::NewCase(_) => s.cases += 1,
                crate::core::plan::ingest::Handled::FollowUp(_) => s.followups += 1,
                crate::core::plan::ingest::Handled::Ignored { .. } => s.ignored += 1,
            },
            Disposition::Duplicate => s.duplicates += 1,
            Disposition::Quarantined(_) => s.quarantined += 1,
        }
    }
    Ok(s)
}
