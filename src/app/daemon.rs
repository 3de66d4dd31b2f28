//! `foi-triage run` and `foi-triage import`: the long-running service and the one-off import.
//!
//! Wiring only: load everything (every error reported before anything starts), open the store,
//! start the ingest loop and the outbox worker as tasks under one [`TaskTracker`], and handle
//! signals:
//! - SIGTERM / SIGINT: stop taking new work, let the message in hand finish (its commit and
//!   flush), wait at most [`SHUTDOWN_GRACE`], flush the store, exit 0.
//! - SIGHUP: reload rules and templates. A broken set is refused with every error logged, and the
//!   old set stays in use.

use crate::app::ingest::{Disposition, Ingest, SharedContext};
use crate::app::scheduler::scheduler;
use crate::config::Config;
use crate::core::deadline::Calendar;
use crate::core::plan::ingest::Mode;
use crate::core::rules::RuleSet;
use crate::core::triage::Context;
use crate::io::clock::{Clock, SystemClock};
use crate::io::mail::imap::ImapClient;
use crate::io::mail::smtp::Mailer;
use crate::io::outbox::{Outbox, OutboxSettings, SendMail};
use crate::io::store::Store;
use crate::letters::compose::Templates;
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
    /// The acknowledgement templates.
    pub templates: Templates,
}

/// Loads the config, its rules, holiday data and templates, reporting every problem at once.
///
/// # Errors
/// Every problem found, one per line.
pub fn load(config_path: &Path) -> Result<Loaded> {
    let config = Config::load(config_path).map_err(|e| anyhow!("{e}"))?;
    let mut problems = Vec::new();
    let rules = RuleSet::load(&config.rules_dir)
        .map_err(|e| problems.push(e.to_string()))
        .ok();
    let calendar = load_calendar(&config)
        .map_err(|e| problems.push(format!("{e:#}")))
        .ok();
    let templates = Templates::load(&config.templates_dir)
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
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
    Store::open(&config.data_dir).with_context(|| {
        format!(
            "cannot open the case store in {}",
            config.data_dir.display()
        )
    })
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

/// Runs the daemon until SIGTERM/SIGINT (or until `stop` is cancelled, for tests).
///
/// # Errors
/// Startup problems (config, rules, templates, store, missing `[imap]`/`[smtp]`), each named.
pub async fn run(config_path: &Path, stop: CancellationToken) -> Result<()> {
    let loaded = load(config_path)?;
    let config = loaded.config;
    let Some(mailbox) = config.imap.clone() else {
        bail!(
            "{}: the daemon needs an [imap] section (the shared mailbox to watch)",
            config_path.display()
        );
    };
    let mailer: Option<Arc<dyn SendMail>> = match &config.smtp {
        Some(s) => Some(Arc::new(
            Mailer::new(s).map_err(|e| anyhow!("[smtp]: {e}"))?,
        )),
        None if config.acknowledgements.enabled => bail!(
            "{}: acknowledgements are on but there is no [smtp] section to send them",
            config_path.display()
        ),
        None => None,
    };
    let workflow = crate::app::workflow::Workflow::load(&config)
        .map_err(|e| anyhow!("{e}"))?
        .map(Arc::new);
    let store = open_store(&config)?;
    let clock: Arc<dyn Clock> = match std::env::var("FOI_TRIAGE_FAKE_NOW") {
        Ok(s) => {
            let start = chrono::DateTime::parse_from_rfc3339(&s)
                .with_context(|| format!("FOI_TRIAGE_FAKE_NOW={s:?} is not RFC 3339"))?;
            warn!(fake_now = %s, "FOI_TRIAGE_FAKE_NOW is set: the scheduler runs on a moved clock (tests only)");
            Arc::new(crate::io::clock::OffsetClock::starting_at(
                start.with_timezone(&chrono::Utc),
            ))
        }
        Err(_) => Arc::new(SystemClock),
    };
    let ctx: SharedContext = Arc::new(RwLock::new(Arc::new(loaded.context)));
    let wake = Arc::new(Notify::new());
    let ingest = Arc::new(
        Ingest::new(
            &config,
            Mode::Live,
            store.clone(),
            Arc::clone(&ctx),
            Arc::clone(&wake),
            Arc::new(SystemClock),
        )
        .with_workflow(workflow.clone()),
    );
    let outbox = mailer.map(|m| {
        Arc::new(
            Outbox::new(
                store.clone(),
                Arc::new(loaded.templates),
                m,
                outbox_settings(&config),
            )
            .with_clock(Arc::clone(&clock)),
        )
    });

    let cancel = stop.child_token();
    let tracker = TaskTracker::new();
    {
        let ingest = Arc::clone(&ingest);
        let cancel = cancel.clone();
        let server = mailbox.server.clone();
        let name = mailbox.mailbox.clone();
        tracker.spawn(async move { ingest.run(server, name, mailbox.idle, cancel).await });
    }
    if let (Some(_), Some(sent)) = (&workflow, mailbox.sent_folder.clone()) {
        let ingest = Arc::clone(&ingest);
        let (server, ctx, cancel) = (mailbox.server.clone(), Arc::clone(&ctx), cancel.clone());
        tracker.spawn(async move { ingest.watch_sent(server, sent, ctx, cancel).await });
    }
    if let Some(wf) = &workflow {
        let wf = Arc::clone(wf);
        let store = store.clone();
        let ctx = Arc::clone(&ctx);
        let cancel = cancel.clone();
        let wake = Arc::clone(&wake);
        let clock = Arc::clone(&clock);
        tracker.spawn(async move { scheduler(wf, store, ctx, clock, wake, cancel).await });
    }
    {
        let path = crate::app::control::socket_path(&config.data_dir);
        let (store, ctx, wf, cancel) = (
            store.clone(),
            Arc::clone(&ctx),
            workflow.clone(),
            cancel.clone(),
        );
        tracker.spawn(async move {
            if let Err(e) = crate::app::control::serve(path.clone(), store, ctx, wf, cancel).await {
                error!(error = %e, socket = %path.display(), "control socket unavailable: `foi-triage case` needs the daemon stopped");
            }
        });
    }
    if let Some(outbox) = &outbox {
        let outbox = Arc::clone(outbox);
        let cancel = cancel.clone();
        let wake = Arc::clone(&wake);
        tracker.spawn(async move { outbox.run(cancel, wake).await });
    }
    tracker.close();
    info!(
        config = %config_path.display(),
        mailbox = %mailbox_label(&config),
        "foi-triage running"
    );

    let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    let mut hup = signal(SignalKind::hangup()).context("cannot listen for SIGHUP")?;
    loop {
        tokio::select! {
            _ = term.recv() => { info!("SIGTERM: shutting down"); break; }
            _ = int.recv() => { info!("SIGINT: shutting down"); break; }
            () = cancel.cancelled() => break,
            _ = hup.recv() => reload(&config, &ctx, outbox.as_deref()),
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
    store.flush().context("final flush of the case store")?;
    info!("stopped");
    Ok(())
}

fn mailbox_label(config: &Config) -> String {
    config.imap.as_ref().map_or_else(String::new, |m| {
        format!("{}:{}/{}", m.server.host, m.server.port, m.mailbox)
    })
}

/// SIGHUP: reload rules and templates; keep the old ones on any error.
fn reload(config: &Config, ctx: &SharedContext, outbox: Option<&Outbox>) {
    let rules = RuleSet::load(&config.rules_dir);
    let templates = Templates::load(&config.templates_dir);
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
        Arc::new(SystemClock),
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
        .await?;
    store.flush()?;
    let _ = client.logout().await;
    let mut s = ImportSummary {
        messages: done.len(),
        ..ImportSummary::default()
    };
    for (_, d) in &done {
        match d {
            Disposition::Recorded { action, .. } => match action {
                crate::core::plan::ingest::Action::NewCase(_) => s.cases += 1,
                crate::core::plan::ingest::Action::FollowUp(_) => s.followups += 1,
                crate::core::plan::ingest::Action::Ignored { .. } => s.ignored += 1,
            },
            Disposition::Duplicate => s.duplicates += 1,
            Disposition::Quarantined(_) => s.quarantined += 1,
        }
    }
    Ok(s)
}
