//! The command line: argument parsing (clap) and one function per command.
//!
//! Each command's doc comment is its `--help` text. Commands print results on stdout and problems
//! on stderr; a problem with one input (one file, one sample) is reported and only changes the exit
//! code, so every other input is still processed (ripgrep's rule).
//!
//! `classify` and `due` are a fixed contract used by scripts: keep their flags and output stable.

use crate::app::control::Request;
use crate::config::Config;
use crate::core::corrections;
use crate::core::deadline::{self, Calendar, ClockEvent, ClockInput, Regime, Region, ReviewOf};
use crate::core::extract::DocFormat;
use crate::core::followup::{NoThreads, Threads};
use crate::core::rules::{self, RuleSet};
use crate::core::triage::{self, Context, Deadline, Outcome};
use crate::io::sandbox::{self, Sandbox};
use crate::io::store::{CaseOrder, Store};
use crate::model::case::CaseRef;
use crate::model::kind::Kind;
use anyhow::{Context as _, Result, anyhow, bail};
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::json;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Default config path, as installed by the systemd unit.
const DEFAULT_CONFIG: &str = "/etc/foi-triage/foi-triage.toml";

/// foi-triage: the front door of an information-rights team.
///
/// Reads the shared mailbox, classifies each message (foi, eir, sar, media, member_enquiry,
/// complaint, general, auto), checks validity, opens cases with statutory due dates and
/// acknowledges requesters.
#[derive(Debug, Parser)]
#[command(name = "foi-triage", version, propagate_version = true)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "FOI_TRIAGE_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (for log shippers).
    Json,
}

/// Output format of `classify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON object per line.
    Json,
    /// One human-readable line per file.
    Text,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Classify email files (.eml) and print one line per file.
    ///
    /// With --format json each line is a JSON object with: file, kind, valid (true/false, or null
    /// when not applicable), missing, followup, ref, rules (ids that fired), why, due, warnings,
    /// identity (SAR: provided, verifiable or missing), internal_review (the review marking, or
    /// null), relay (our web form or a colleague's forward, or null), notes (how validity was
    /// judged, one line per check), language (english, welsh, bilingual or unknown) and
    /// language_why.
    /// The text line names the language when it is Welsh or bilingual.
    /// A file that cannot be read gives a line with an "error" field, and the exit status is 1
    /// after every other file was processed.
    Classify {
        /// Directory of rule files [default: ./rules when it exists, else the config's
        /// rules_dir, else the rules built into foi-triage].
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Optional config file (for reference prefixes, region and timescales).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Email files to classify.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Compute a due date. Prints YYYY-MM-DD on the last line.
    ///
    /// --region scotland with foi/eir means FOISA / EIR(Scotland). --extended applies the
    /// extension the law allows: public interest (FOI), reg 7 (EIR), two further months (SAR);
    /// asking for one the law does not allow is an error.
    Due {
        /// Kind of request: foi, eir, sar, media, member_enquiry, complaint, general.
        #[arg(long)]
        kind: Kind,
        /// When the request was received (RFC 3339, e.g. 2026-01-05T09:30:00Z).
        #[arg(long)]
        received: String,
        /// The authority's region.
        #[arg(long, default_value = "england-and-wales")]
        region: Region,
        /// Apply the extension the law allows for this kind (for a FOIA internal review: up to
        /// 40 working days in total in exceptional cases).
        #[arg(long)]
        extended: bool,
        /// The clock of an internal review of a response to a request of this kind (foi, eir or
        /// sar): FOIA 20 working days (s.45 Code), EIR 40 (reg 11(4)), FOISA and EIR(S) 20
        /// (s.21(1), reg 16(4)), SAR local policy (`[reviews] sar_working_days`, default 20).
        #[arg(long, value_name = "KIND")]
        review_of: Option<Kind>,
        /// Print the reasoning (calendar, day 0, skipped days) above the date.
        #[arg(long)]
        explain: bool,
        /// Optional config file (local-policy timescales, closure days, holiday data).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Check or test classification rules.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Check the configuration file.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Look at cases in the store.
    #[command(subcommand)]
    Case(CaseCommand),
    /// Print the manager digests that would be sent at a given time (nothing is sent).
    Digest {
        #[command(flatten)]
        config: ConfigArg,
        /// Only print (the daemon's scheduler sends digests); required.
        #[arg(long, required = true)]
        dry_run: bool,
        /// The day (YYYY-MM-DD, 09:00 Europe/London) or instant (RFC 3339) to plan for.
        #[arg(long = "as")]
        as_of: String,
        /// Only this team.
        #[arg(long)]
        team: Option<String>,
    },
    /// Run the daemon: watch the shared mailbox, open cases, send acknowledgements.
    ///
    /// Stops cleanly on SIGTERM or SIGINT (the message in hand is finished); SIGHUP reloads the
    /// rules and templates (a broken set is refused and the old one kept).
    Run(ConfigArg),
    /// Create cases from an existing mail folder without sending any acknowledgement and
    /// without moving the messages (moving from another system). Safe to run twice.
    Import {
        #[command(flatten)]
        config: ConfigArg,
        /// The folder to import, as the server names it (e.g. "Archive/2026").
        #[arg(long)]
        mailbox: String,
        /// Only messages the server received on or after this date (YYYY-MM-DD).
        #[arg(long)]
        since: Option<NaiveDate>,
    },
    /// Write a backup of the whole store to one file, safely while the daemon runs.
    ///
    /// The backup holds every case with its audit trail, the outbox, the IMAP cursors, the
    /// dedupe records, the marks and the raw requests: personal data. It is written 0600, read
    /// back and checked (checksum, counts, every record) before it replaces anything. When the
    /// daemon runs, it takes the snapshot (writers wait meanwhile) and streams it here. Given a
    /// directory, the file is named foi-triage-YYYYMMDDTHHMMSSZ.jsonl, and --keep N then deletes
    /// all but the newest N such files there.
    Export {
        #[command(flatten)]
        config: ConfigArg,
        /// The backup file to write, or a directory to write a dated backup into.
        path: PathBuf,
        /// With a directory: keep only the newest N backups in it.
        #[arg(long, env = "FOI_TRIAGE_BACKUP_KEEP", value_parser = clap::value_parser!(u32).range(1..))]
        keep: Option<u32>,
    },
    /// Rebuild a store from a backup, into a new or empty directory, and verify it.
    ///
    /// The whole file is checked (format, checksum, counts, every record) before anything is
    /// written; a directory holding anything is refused. A backup of an older schema is migrated
    /// when the restored store opens. Exits 1 when the restored store has problems (listed as
    /// `store verify` lists them), 2 when nothing was restored.
    Restore {
        /// The backup file (`foi-triage export` wrote it).
        file: PathBuf,
        /// Where to build the store: the `data_dir` the daemon will use.
        #[arg(long)]
        data_dir: PathBuf,
    },
    /// Look after the case store.
    #[command(subcommand)]
    Store(StoreCommand),
    /// Internal: read one attached document from stdin and write its text to stdout, under
    /// memory and CPU limits. Started by foi-triage itself for every PDF, DOCX, ODT or RTF
    /// attachment (see `io::sandbox`); not for people.
    #[command(name = "decode-worker", hide = true)]
    DecodeWorker {
        /// Format of the document: pdf, docx, odt or rtf.
        #[arg(long)]
        format: DocFormat,
        /// Heap cap in MiB.
        #[arg(long, default_value_t = sandbox::MEMORY_LIMIT_BYTES / (1024 * 1024))]
        memory_mib: usize,
        /// CPU time limit in milliseconds.
        #[arg(long, default_value_t = sandbox::CPU_LIMIT.as_millis() as u64)]
        cpu_ms: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Compile every rule file and report every error at once (file, rule id, regex message).
    Check {
        /// Directory of rule files [default: ./rules when it exists, else the rules built into
        /// foi-triage].
        dir: Option<PathBuf>,
    },
    /// Run the rules over a folder of sample emails and compare with its expected.toml, or
    /// replay officers' corrections (--corrections).
    ///
    /// expected.toml has one table per file name with: kind (required), and optionally valid,
    /// missing, followup, ref and rules (ids that must fire). Message-IDs of the samples in the
    /// folder count as stored mail, so In-Reply-To follow-ups can be tested.
    ///
    /// With --corrections, the first message of every case an officer re-classified (kept in
    /// DATA_DIR/corrections/, private) is classified again: PASS "now right" when the rules give
    /// the officer's kind, FAIL "still wrong" (expected, got, the rules that fired) when not. The
    /// exit status is 1 when any correction is still wrong. It reads only that directory, so it
    /// works while the daemon runs; run it as root or the service user.
    Test {
        /// Directory of rule files [default: the config's rules_dir with --corrections --config;
        /// else ./rules when it exists, else the config's rules_dir, else the built-in rules].
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Replay the officers' corrections kept beside the store instead of a sample folder.
        #[arg(long, conflicts_with = "dir")]
        corrections: bool,
        /// The data directory whose corrections to replay (instead of the config's data_dir).
        #[arg(long, conflicts_with = "config")]
        data_dir: Option<PathBuf>,
        /// Config file. With DIR: judge the samples as this organisation's daemon would (its own
        /// domains, web-form addresses, trusted gateway, SAR identity policy, prefixes). With
        /// --corrections: its data_dir, rules_dir and intake settings [default:
        /// $FOI_TRIAGE_CONFIG, else /etc/foi-triage/foi-triage.toml].
        #[arg(long)]
        config: Option<PathBuf>,
        /// Folder of sample .eml files with an expected.toml.
        #[arg(required_unless_present = "corrections")]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Check every record, index and counter of the store; read-only (through the daemon when it
    /// runs). Prints one line per problem (tree, key, what is wrong) and a summary; exits 1 when
    /// anything is wrong.
    Verify {
        #[command(flatten)]
        config: ConfigArg,
        /// Check the store in this directory instead of the config's `data_dir`.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the config file, its rules, holiday data, templates, routing and mail settings
    /// exactly as `run` does before starting; list every error with its key path.
    Check(ConfigCheck),
}

#[derive(Debug, Args)]
pub struct ConfigCheck {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Check a config for the offline tools only: `[imap]` and `[smtp]` are not required (those
    /// present are still checked).
    #[arg(long)]
    pub offline: bool,
}

#[derive(Debug, Args)]
pub struct ConfigArg {
    /// Config file.
    #[arg(long, env = "FOI_TRIAGE_CONFIG", default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum CaseCommand {
    /// List cases: reference, kind, state, received, due, valid.
    List {
        #[command(flatten)]
        config: ConfigArg,
        /// Only cases of this kind.
        #[arg(long)]
        kind: Option<Kind>,
        /// Only open cases due on or before this date (YYYY-MM-DD).
        #[arg(long)]
        due_before: Option<NaiveDate>,
    },
    /// Show one case with its full audit trail.
    Show {
        #[command(flatten)]
        config: ConfigArg,
        /// Case reference, e.g. FOI-2026-000123.
        reference: CaseRef,
    },
    /// Clear a "needs human triage" entry once a person has dealt with the quarantined message
    /// (logged it as a case by hand, or found it is not a request).
    Triaged {
        #[command(flatten)]
        config: ConfigArg,
        /// The content hash `case list` shows (the first 12 characters are enough when unique).
        hash: String,
        /// Who dealt with it (logged).
        #[arg(long)]
        by: String,
        /// What was done (logged).
        #[arg(long, default_value = "")]
        why: String,
        /// Also forget the message, so that moved back from the quarantine folder into the inbox
        /// it is triaged afresh (once the fault that stopped it is fixed, or it is judged safe).
        #[arg(long)]
        release: bool,
    },
    /// List the mail filed without a case (machine mail, our own mail) that is kept: id, received,
    /// sender, subject, why, the kind it opens as, and the case it became.
    MachineMail {
        #[command(flatten)]
        config: ConfigArg,
        /// Also the messages already opened as cases.
        #[arg(long)]
        all: bool,
    },
    /// Turn a message filed as machine mail into a case, its clock counted from when we received
    /// it: `foi-triage case open-from M-2026-000042 --kind foi --by YOU`.
    ///
    /// The message is triaged again as KIND (default: the kind the daily list suggests) and
    /// recorded exactly as a new request: validity, due date, acknowledgement to the sender,
    /// routing and assignment email. Audited with --by and --why; a message opens one case only.
    #[command(name = "open-from")]
    OpenFrom {
        #[command(flatten)]
        config: ConfigArg,
        /// The machine-mail id the daily list (or `case machine-mail`) gives, e.g. M-2026-000042.
        id: crate::model::machine::MachineMailId,
        /// The kind of case: foi, eir, sar, media, member_enquiry, complaint, general.
        #[arg(long)]
        kind: Option<Kind>,
        /// Who opens it (audited).
        #[arg(long)]
        by: String,
        /// Why (audited).
        #[arg(long, default_value = "")]
        why: String,
    },
    /// Act on a case: `foi-triage case ACTION REF [ARGS...] --by YOU [--why TEXT] [--config FILE]`.
    ///
    /// ACTION is one of the emailed commands without `#`: assign, reclassify, clarify, id, fee,
    /// answer, extend, responded, close, reopen, note, repeat, vexatious (`foi-triage case help
    /// X` lists them with examples). Every action is audited with --by and --why. The daemon holds
    /// the store while it runs: then act by email (reply to the assignment email).
    #[command(external_subcommand)]
    Act(Vec<String>),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Classify {
            rules,
            config,
            format,
            files,
        } => classify(rules.as_deref(), config.as_deref(), format, &files),
        Command::Due {
            kind,
            received,
            region,
            extended,
            review_of,
            explain,
            config,
        } => due(
            kind,
            &received,
            region,
            extended,
            review_of,
            explain,
            config.as_deref(),
        ),
        Command::Rules(RulesCommand::Check { dir }) => rules_check(dir.as_deref()),
        Command::Rules(RulesCommand::Test {
            rules,
            corrections: true,
            data_dir,
            config,
            ..
        }) => rules_test_corrections(rules.as_deref(), data_dir.as_deref(), config.as_deref()),
        Command::Rules(RulesCommand::Test {
            data_dir: Some(_), ..
        }) => Err(anyhow!("--data-dir goes with --corrections")),
        Command::Rules(RulesCommand::Test {
            rules,
            config,
            dir: Some(dir),
            ..
        }) => rules_test(rules.as_deref(), config.as_deref(), &dir),
        // clap requires DIR without --corrections.
        Command::Rules(RulesCommand::Test { .. }) => Err(anyhow!("give DIR or --corrections")),
        Command::Config(ConfigCommand::Check(c)) => config_check(&c.config.config, c.offline),
        Command::Case(CaseCommand::List {
            config,
            kind,
            due_before,
        }) => case_list(&config.config, kind, due_before),
        Command::Case(CaseCommand::Show { config, reference }) => {
            case_show(&config.config, &reference)
        }
        Command::Case(CaseCommand::Triaged {
            config,
            hash,
            by,
            why,
            release,
        }) => case_request(
            &config.config,
            &Request::Triaged {
                hash,
                by,
                why,
                release,
            },
        ),
        Command::Case(CaseCommand::MachineMail { config, all }) => {
            case_request(&config.config, &Request::MachineMail { all })
        }
        Command::Case(CaseCommand::OpenFrom {
            config,
            id,
            kind,
            by,
            why,
        }) => case_request(&config.config, &Request::OpenFrom { id, kind, by, why }),
        Command::Case(CaseCommand::Act(words)) => case_act(&words),
        Command::Digest {
            config,
            as_of,
            team,
            ..
        } => digest_dry_run(&config.config, &as_of, team.as_deref()),
        Command::Run(c) => run_daemon(&c.config),
        Command::Import {
            config,
            mailbox,
            since,
        } => import(&config.config, &mailbox, since),
        Command::Export { config, path, keep } => export(&config.config, &path, keep),
        Command::Restore { file, data_dir } => restore(&file, &data_dir),
        Command::Store(StoreCommand::Verify { config, data_dir }) => {
            store_verify(&config.config, data_dir)
        }
        Command::DecodeWorker {
            format,
            memory_mib,
            cpu_ms,
        } => {
            let limits = sandbox::WorkerLimits { memory_mib, cpu_ms };
            return ExitCode::from(sandbox::worker(format, limits));
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("foi-triage: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The rules a rule tool (`classify`, `rules check`, `rules test`) uses, and how to name them:
/// the directory given; else `./rules` when it exists (today's default, for a checkout or an
/// officer's working copy); else the config's (its `rules_dir`, or the built-in set when it names
/// none); else the rules built into the binary, said once on stderr. A directory that is given
/// or configured and missing is an error, never a fallback.
fn tool_rules(
    given: Option<&Path>,
    config: Option<&Config>,
) -> (String, Result<RuleSet, rules::RuleErrors>) {
    let own = config.map(rules::Own::of).unwrap_or_default();
    let local = Path::new("rules");
    let dir = given
        .or_else(|| local.exists().then_some(local))
        .or_else(|| config.and_then(|c| c.rules_dir.as_deref()));
    match dir {
        Some(dir) => (dir.display().to_string(), RuleSet::load_for(dir, &own)),
        None => {
            if config.is_none() {
                eprintln!(
                    "note: no --rules and no ./rules here: using the rules built into foi-triage"
                );
            }
            let label = crate::config::builtin::LABEL.to_string();
            (label, RuleSet::built_in(&own))
        }
    }
}

/// [`tool_rules`], its errors as one.
fn load_rules(given: Option<&Path>, config: Option<&Config>) -> Result<RuleSet> {
    tool_rules(given, config).1.map_err(|e| anyhow!("{e}"))
}

fn load_config(path: &Path) -> Result<Config> {
    Config::load(path).map_err(|e| anyhow!("{e}"))
}

fn load_calendar(config: &Config) -> Result<Calendar> {
    crate::app::daemon::load_calendar(config)
}

/// Decoder children of this program, for the commands that read attachments.
fn sandbox() -> Result<Sandbox> {
    Sandbox::current_exe().context("cannot find this program's path to start attachment decoders")
}

fn context(rules: Option<&Path>, config: Option<&Path>) -> Result<Context> {
    match config {
        None => Ok(Context::standalone(load_rules(rules, None)?)),
        Some(path) => {
            let config = load_config(path)?;
            let rules = load_rules(rules, Some(&config))?;
            let calendar = load_calendar(&config)?;
            Ok(Context::new(&config, rules, calendar))
        }
    }
}

fn classify(
    rules: Option<&Path>,
    config: Option<&Path>,
    format: Format,
    files: &[PathBuf],
) -> Result<ExitCode> {
    let ctx = context(rules, config)?;
    let reader = sandbox()?;
    let mut out = std::io::stdout().lock();
    let mut failed = false;
    for file in files {
        let name = file.display().to_string();
        let line = match std::fs::read(file) {
            Ok(raw) => {
                let o = triage::triage(&ctx, &raw, None, &NoThreads, &reader);
                match format {
                    Format::Json => outcome_json(&name, &o).to_string(),
                    Format::Text => outcome_text(&name, &o),
                }
            }
            Err(e) => {
                failed = true;
                match format {
                    Format::Json => {
                        json!({"file": name, "error": format!("cannot read: {e}")}).to_string()
                    }
                    Format::Text => format!("{name}: error: cannot read: {e}"),
                }
            }
        };
        if writeln!(out, "{line}").is_err() {
            // Broken pipe (e.g. `| head`): stop quietly, like any Unix filter.
            return Ok(ExitCode::SUCCESS);
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn missing_list(o: &Outcome) -> Vec<String> {
    o.validity
        .as_ref()
        .map(|v| v.missing.iter().map(|m| m.as_str().to_string()).collect())
        .unwrap_or_default()
}

/// The fixed JSON contract of `classify --format json`.
fn outcome_json(file: &str, o: &Outcome) -> serde_json::Value {
    let due = match &o.deadline {
        Some(Deadline::Computed { due, .. }) => json!(due.map(|d| d.to_string())),
        Some(Deadline::NotStarted) => json!("not_started"),
        _ => serde_json::Value::Null,
    };
    json!({
        "file": file,
        "kind": o.kind(),
        "valid": o.validity.as_ref().map(|v| v.valid),
        "missing": missing_list(o),
        "followup": o.followup.is_some(),
        "ref": o.followup.as_ref().map(|f| f.reference.clone()),
        "rules": o.decision.fired.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
        "why": o.decision.why,
        "due": due,
        "warnings": o.message.warnings,
        "identity": o.validity.as_ref().and_then(|v| v.identity),
        "internal_review": o.review,
        "relay": o.relay,
        "notes": o.validity.as_ref().map(|v| v.notes.clone()).unwrap_or_default(),
        "language": o.language.language,
        "language_why": o.language.why,
    })
}

fn outcome_text(file: &str, o: &Outcome) -> String {
    let mut s = format!("{file}: {}", o.kind());
    if let Some(v) = &o.validity {
        if v.valid {
            s.push_str(" valid");
        } else {
            s.push_str(&format!(
                " invalid (missing: {})",
                missing_list(o).join(", ")
            ));
        }
    }
    if let Some(f) = &o.followup {
        s.push_str(&format!(" follow-up of {}", f.reference));
    }
    if let Some(r) = &o.review {
        s.push_str(&format!(" internal review ({})", r.of.as_str()));
        if let Some(q) = &r.quoted {
            s.push_str(&format!(" of {q}"));
        }
    }
    if let Some(id) = o.validity.as_ref().and_then(|v| v.identity) {
        s.push_str(&format!(" identity {}", id.as_str()));
    }
    if let Some(d) = o.due() {
        s.push_str(&format!(" due {d}"));
    }
    if o.language.language.has_welsh() {
        s.push_str(&format!(" in {}", o.language.language));
    }
    let ids: Vec<&str> = o.decision.fired.iter().map(|r| r.id.as_str()).collect();
    if !ids.is_empty() {
        s.push_str(&format!(" [rules: {}]", ids.join(", ")));
    }
    s
}

fn due(
    kind: Kind,
    received: &str,
    region: Region,
    extended: bool,
    review_of: Option<Kind>,
    explain: bool,
    config: Option<&Path>,
) -> Result<ExitCode> {
    let received: DateTime<Utc> = DateTime::parse_from_rfc3339(received.trim())
        .with_context(|| {
            format!("--received {received:?} is not an RFC 3339 time like 2026-01-05T09:30:00Z")
        })?
        .with_timezone(&Utc);
    let (config, calendar) = match config {
        Some(p) => {
            let c = load_config(p)?;
            let cal = load_calendar(&c)?;
            (c, cal)
        }
        None => (Config::defaults(), Calendar::builtin()),
    };
    let ctx_days = |k: Kind| config.kind(k).map(|c| c.working_days).unwrap_or(10);
    let regime = match review_of {
        Some(of) => ReviewOf::for_kind(of, region)
            .ok_or_else(|| {
                anyhow!("--review-of {of}: only foi, eir and sar responses have an internal review")
            })?
            .regime(config.reviews.sar_working_days),
        None => Regime::for_kind(kind, region, ctx_days).ok_or_else(|| {
            anyhow!("auto mail has no due date: it is never acknowledged or tracked")
        })?,
    };
    let mut input = ClockInput::new(regime, region, received);
    if extended {
        input = input.with(ClockEvent::extension_for(regime)?);
    }
    let out = deadline::compute(&input, &calendar, &config.deadline_options())?;
    let due = out
        .due()
        .ok_or_else(|| anyhow!("the clock is stopped; no due date"))?;
    let mut stdout = std::io::stdout().lock();
    if explain {
        for line in &out.explanation {
            writeln!(stdout, "{line}")?;
        }
    }
    writeln!(stdout, "{due}")?;
    Ok(ExitCode::SUCCESS)
}

fn rules_check(dir: Option<&Path>) -> Result<ExitCode> {
    let (shown, set) = tool_rules(dir, None);
    match set {
        Ok(set) => {
            for w in set.warnings() {
                eprintln!("warning: {w}");
            }
            println!(
                "{shown}: {} rules ({} enabled) in {} files: OK",
                set.rule_count(),
                set.enabled_count(),
                set.files().len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Message-IDs of the samples in a folder stand in for stored mail.
struct SampleThreads(BTreeMap<String, String>);

impl Threads for SampleThreads {
    fn case_for_message_id(&self, id: &str) -> Option<String> {
        self.0.get(id).cloned()
    }
    fn case_exists(&self, _: &str) -> bool {
        true
    }
}

fn rules_test(rules: Option<&Path>, config: Option<&Path>, dir: &Path) -> Result<ExitCode> {
    let ctx = context(rules, config)?;
    let reader = sandbox()?;
    let expectations = rules::load_expectations(dir).map_err(|e| anyhow!("{e}"))?;
    let mut parsed = Vec::new();
    for name in expectations.keys() {
        let raw = std::fs::read(dir.join(name)).with_context(|| format!("{name}: cannot read"))?;
        parsed.push((name.clone(), crate::core::parse::parse(&raw, &reader)));
    }
    let threads = SampleThreads(
        parsed
            .iter()
            .filter_map(|(name, m)| {
                m.message_id
                    .clone()
                    .map(|id| (id, format!("sample {name}")))
            })
            .collect(),
    );
    let (mut passed, mut failed) = (0usize, 0usize);
    for (name, message) in parsed {
        let want = &expectations[&name];
        let o = triage::triage_message(&ctx, message, None, &threads);
        let mut problems = want.check_decision(&o.decision);
        let followup = o.followup.is_some();
        if want.followup.unwrap_or(false) != followup {
            problems.push(format!(
                "expected followup = {}, got {followup}",
                want.followup.unwrap_or(false)
            ));
        }
        if let Some(r) = &want.reference {
            let got = o.followup.as_ref().map(|f| f.reference.as_str());
            if got != Some(r.as_str()) {
                problems.push(format!("expected ref {r}, got {got:?}"));
            }
        }
        let valid = o.validity.as_ref().map(|v| v.valid);
        if want.valid.is_some() && want.valid != valid {
            problems.push(format!("expected valid = {:?}, got {valid:?}", want.valid));
        }
        problems.extend(want.check_language(o.language.language, &o.language.why));
        if let Some(m) = &want.missing {
            let got = missing_list(&o);
            let (mut a, mut b) = (m.clone(), got.clone());
            a.sort();
            b.sort();
            if a != b {
                problems.push(format!("expected missing {m:?}, got {got:?}"));
            }
        }
        if problems.is_empty() {
            passed += 1;
        } else {
            failed += 1;
            println!("FAIL {name}");
            for p in problems {
                println!("  {p}");
            }
        }
    }
    println!("rules test: {passed} passed, {failed} failed");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The config file a command uses when none is given: `$FOI_TRIAGE_CONFIG`, else the installed
/// one.
fn default_config() -> PathBuf {
    std::env::var_os("FOI_TRIAGE_CONFIG")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG))
}

/// `rules test --corrections`: every correction sample kept beside the store, replayed against
/// the current rules (module doc of `core::corrections`). Reads the corrections directory only,
/// never the store, so it runs beside the daemon.
fn rules_test_corrections(
    rules: Option<&Path>,
    data_dir: Option<&Path>,
    config: Option<&Path>,
) -> Result<ExitCode> {
    let (ctx, dir) = match data_dir {
        Some(data_dir) => (
            Context::standalone(load_rules(rules, None)?),
            data_dir.to_path_buf(),
        ),
        None => {
            let path = config.map_or_else(default_config, Path::to_path_buf);
            let config = load_config(&path)?;
            let rules = RuleSet::load_configured(
                rules.or(config.rules_dir.as_deref()),
                &crate::core::rules::Own::of(&config),
            )
            .map_err(|e| anyhow!("{e}"))?;
            let calendar = load_calendar(&config)?;
            let data_dir = config.data_dir.clone();
            (Context::new(&config, rules, calendar), data_dir)
        }
    };
    let dir = crate::io::corrections::dir(&dir);
    let reader = sandbox()?;
    let samples = crate::io::corrections::load(&dir)?;
    let (mut passed, mut failed) = (0usize, 0usize);
    for (reference, kept) in samples {
        let kept = match kept {
            Ok(kept) => kept,
            Err(e) => {
                failed += 1;
                println!("FAIL {reference} cannot be read\n  {e}");
                continue;
            }
        };
        let message = crate::core::parse::parse(&kept.message, &reader);
        // The first message of a case was never a follow-up: no stored mail to join.
        let o = triage::triage_message(&ctx, message, None, &NoThreads);
        let replay = corrections::judge(&kept.sample, &o.decision);
        match replay.verdict {
            corrections::Verdict::NowRight => passed += 1,
            corrections::Verdict::StillWrong => failed += 1,
        }
        println!("{}", corrections::headline(&kept.sample, replay.verdict));
        for p in replay.problems {
            println!("  {p}");
        }
    }
    if passed + failed == 0 {
        println!("no corrections kept in {}", dir.display());
    }
    println!("rules test: {passed} passed, {failed} failed");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn config_check(path: &Path, offline: bool) -> Result<ExitCode> {
    use crate::app::daemon::{Needs, prepare};
    let needs = if offline {
        Needs::Offline
    } else {
        Needs::Daemon
    };
    match prepare(path, needs) {
        Ok(p) => {
            println!("{}: OK", path.display());
            let config = &p.loaded.config;
            for (what, dir) in [
                ("rules", &config.rules_dir),
                ("templates", &config.templates_dir),
            ] {
                if dir.is_none() {
                    println!("{what}: the ones built into foi-triage (no [paths] {what}_dir)");
                }
            }
            // Not an error, but the operator must know what mail can and cannot do.
            println!("{}", p.loaded.config.trust.explain());
            if let Some(w) = &p.workflow {
                // Which keys sign and verify reply addresses: what to compare after a rotation.
                println!(
                    "reply-address keys, newest (signing) first: {}",
                    w.key_ids().join(", ")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{e:#}");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn run_daemon(config: &Path) -> Result<ExitCode> {
    runtime()?.block_on(crate::app::daemon::run(
        config,
        tokio_util::sync::CancellationToken::new(),
    ))?;
    Ok(ExitCode::SUCCESS)
}

fn import(config: &Path, mailbox: &str, since: Option<NaiveDate>) -> Result<ExitCode> {
    let s = runtime()?.block_on(crate::app::daemon::import(config, mailbox, since))?;
    println!(
        "imported {} messages: {} new cases, {} follow-ups, {} without a case, {} already recorded, {} quarantined",
        s.messages, s.cases, s.followups, s.ignored, s.duplicates, s.quarantined
    );
    Ok(if s.quarantined > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The store in `data_dir` opened here, or `None` when the running daemon holds it (then ask it
/// over the control socket). A directory that does not exist is an error, not a new store.
fn open_or_daemon(data_dir: &Path) -> Result<Option<Store>> {
    if !data_dir.is_dir() {
        bail!("there is no store at {}", data_dir.display());
    }
    match Store::open(data_dir) {
        Ok(store) => Ok(Some(store)),
        Err(crate::io::store::StoreError::Locked { .. }) => Ok(None),
        Err(e) => Err(anyhow!(e))
            .with_context(|| format!("cannot open the case store in {}", data_dir.display())),
    }
}

fn export(config_path: &Path, path: &Path, keep: Option<u32>) -> Result<ExitCode> {
    use crate::io::store::backup;
    let config = load_config(config_path)?;
    let now = crate::io::clock::Clock::now(&crate::io::clock::SystemClock);
    let dest = if path.is_dir() {
        path.join(backup::file_name(now))
    } else if keep.is_some() {
        bail!(
            "--keep rotates the backups in a directory; {} is not one",
            path.display()
        );
    } else {
        path.to_path_buf()
    };
    let summary = match open_or_daemon(&config.data_dir)? {
        Some(store) => backup::write_file(&dest, |out| {
            store.export(out, now).map(drop).map_err(|e| e.to_string())
        }),
        None => {
            let socket = crate::app::control::socket_path(&config.data_dir);
            backup::write_file(&dest, |out| {
                crate::app::control::export_from(&socket, out).map(drop)
            })
        }
    }
    .with_context(|| format!("no backup written to {}", dest.display()))?;
    println!(
        "{}: {} records ({} cases), {} bytes, sha256 {}",
        dest.display(),
        summary.trailer.records,
        summary.trailer.counts.get("cases").copied().unwrap_or(0),
        summary.bytes,
        summary.trailer.sha256
    );
    if let Some(keep) = keep {
        let deleted = backup::rotate(path, keep as usize)
            .with_context(|| format!("rotating the backups in {}", path.display()))?;
        for old in deleted {
            println!("deleted {}", old.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn restore(file: &Path, data_dir: &Path) -> Result<ExitCode> {
    use crate::io::store::backup;
    let summary = backup::restore(file, data_dir)
        .map_err(|e| anyhow!(e))
        .with_context(|| format!("nothing restored from {}", file.display()))?;
    let h = &summary.header;
    println!(
        "restored {} records ({} cases) into {}: backup taken {} by foi-triage {}, schema {}",
        summary.trailer.records,
        summary.trailer.counts.get("cases").copied().unwrap_or(0),
        data_dir.display(),
        h.created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        h.app_version,
        h.schema
    );
    let report = Store::open(data_dir)?.verify()?;
    print!("{}", report.text());
    if report.is_clean() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "foi-triage: the store is restored in {} but has the problems above",
            data_dir.display()
        );
        Ok(ExitCode::FAILURE)
    }
}

fn store_verify(config_path: &Path, data_dir: Option<PathBuf>) -> Result<ExitCode> {
    let dir = match data_dir {
        Some(d) => d,
        None => load_config(config_path)?.data_dir,
    };
    let answer = match open_or_daemon(&dir)? {
        Some(store) => crate::app::control::verify(&store),
        None => {
            let socket = crate::app::control::socket_path(&dir);
            let r = crate::app::control::call(&socket, &Request::Verify).map_err(|e| anyhow!(e))?;
            if r.ok { Ok(r.text) } else { Err(r.text) }
        }
    };
    let (text, code) = match answer {
        Ok(text) => (text, ExitCode::SUCCESS),
        Err(text) => (text, ExitCode::FAILURE),
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(code)
}

fn open_store(config_path: &Path) -> Result<Store> {
    let config = load_config(config_path)?;
    Store::open(&config.data_dir).with_context(|| {
        format!(
            "cannot open the case store in {} (is the daemon running? it holds the store's lock)",
            config.data_dir.display()
        )
    })
}

fn case_list(config: &Path, kind: Option<Kind>, due_before: Option<NaiveDate>) -> Result<ExitCode> {
    case_request(config, &Request::List { kind, due_before })
}

fn case_show(config: &Path, reference: &CaseRef) -> Result<ExitCode> {
    case_request(
        config,
        &Request::Show {
            reference: reference.clone(),
        },
    )
}

/// Runs a case request on the store directly, or through the running daemon's control socket
/// when the daemon holds the store.
fn case_request(config_path: &Path, req: &Request) -> Result<ExitCode> {
    let config = load_config(config_path)?;
    let answer = match Store::open(&config.data_dir) {
        Ok(store) => {
            let loaded = crate::app::daemon::load(config_path)?;
            let workflow = crate::app::workflow::Workflow::load(&loaded.config)
                .map_err(|e| anyhow!("{e}"))?
                .map(std::sync::Arc::new);
            let ctx = std::sync::Arc::new(loaded.context);
            // Opening machine mail makes a case as intake does: its settings, ids and decoders.
            let intake = match req {
                Request::OpenFrom { .. } => Some(offline_intake(
                    &loaded.config,
                    &store,
                    &ctx,
                    workflow.clone(),
                )?),
                _ => None,
            };
            crate::app::control::handle(
                &store,
                &ctx,
                crate::app::control::Means {
                    workflow: workflow.as_deref(),
                    corrections: Some(&crate::io::corrections::dir(&config.data_dir)),
                    intake: intake.as_ref(),
                },
                req,
                crate::io::clock::Clock::now(&crate::io::clock::SystemClock),
                crate::app::control::own_uid(),
            )
        }
        Err(crate::io::store::StoreError::Locked { .. }) => {
            let r =
                crate::app::control::call(&crate::app::control::socket_path(&config.data_dir), req)
                    .map_err(|e| anyhow!("{e}"))?;
            if r.ok { Ok(r.text) } else { Err(r.text) }
        }
        Err(e) => {
            return Err(anyhow!(e)).with_context(|| {
                format!(
                    "cannot open the case store in {}",
                    config.data_dir.display()
                )
            });
        }
    };
    match answer {
        Ok(text) => {
            let mut out = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth reporting.
            let _ = out.write_all(text.as_bytes());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => bail!("{e}"),
    }
}

/// Intake on a store the command line opened itself (the daemon is not running): live mode, so a
/// case opened from machine mail is acknowledged and routed; the mail waits in the outbox for the
/// daemon to send.
fn offline_intake(
    config: &Config,
    store: &Store,
    ctx: &std::sync::Arc<Context>,
    workflow: Option<std::sync::Arc<crate::app::workflow::Workflow>>,
) -> Result<crate::app::ingest::Ingest> {
    let env = crate::app::env::Env::system()
        .context("cannot find this program's path to start attachment decoders")?;
    let shared = std::sync::Arc::new(std::sync::RwLock::new(std::sync::Arc::clone(ctx)));
    Ok(crate::app::ingest::Ingest::new(
        config,
        crate::core::plan::ingest::Mode::Live,
        store.clone(),
        shared,
        std::sync::Arc::new(tokio::sync::Notify::new()),
        &env,
    )
    .with_workflow(workflow))
}

/// The command list as `#help` mails it: from the installation's templates, or the shipped list
/// (with a note on stderr) when the config or its templates cannot be loaded.
fn command_list(config: &Path) -> String {
    let installed = Config::load(config)
        .map_err(|e| e.to_string())
        .and_then(|c| {
            crate::letters::Letters::load_configured(c.templates_dir.as_deref(), false)
                .map_err(|e| e.to_string())
        })
        .and_then(|letters| letters.help_text().map_err(|e| e.to_string()));
    installed.unwrap_or_else(|e| {
        eprintln!("note: showing the shipped command list: {e}");
        crate::core::actions::help_text().to_string()
    })
}

fn case_act(words: &[String]) -> Result<ExitCode> {
    let mut config = default_config();
    let (mut by, mut why) = (None, String::new());
    let mut rest = Vec::new();
    let mut it = words.iter();
    while let Some(w) = it.next() {
        match w.as_str() {
            "--config" => config = PathBuf::from(it.next().context("--config needs a file")?),
            "--by" => by = Some(it.next().context("--by needs your address")?.clone()),
            "--why" => why = it.next().context("--why needs a text")?.clone(),
            _ => rest.push(w.clone()),
        }
    }
    let Some(action_word) = rest.first().cloned() else {
        bail!("usage: foi-triage case ACTION REF [ARGS...] --by YOU");
    };
    if action_word == "help" {
        println!("{}", command_list(&config));
        return Ok(ExitCode::SUCCESS);
    }
    let reference: CaseRef = rest
        .get(1)
        .context("usage: foi-triage case ACTION REF [ARGS...] --by YOU")?
        .parse()
        .map_err(|e| anyhow!("{e}"))?;
    let by =
        by.context("--by YOUR-ADDRESS is required: every action is audited with who did it")?;
    let mut command_words = vec![action_word];
    command_words.extend(rest.iter().skip(2).cloned());
    // Check the words here, so a typo is reported before any store is touched.
    crate::core::actions::parse_cli(&command_words).map_err(|e| anyhow!("{e}"))?;
    case_request(
        &config,
        &Request::Act {
            reference,
            words: command_words,
            by,
            why,
        },
    )
}

fn digest_dry_run(config: &Path, as_of: &str, team: Option<&str>) -> Result<ExitCode> {
    let now = match DateTime::parse_from_rfc3339(as_of) {
        Ok(t) => t.with_timezone(&Utc),
        Err(_) => {
            let d: NaiveDate = as_of
                .parse()
                .with_context(|| format!("--as {as_of:?}: expected YYYY-MM-DD or RFC 3339"))?;
            crate::core::london::instant(
                d,
                chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default(),
            )
            .context("no such time in Europe/London")?
        }
    };
    let loaded = crate::app::daemon::load(config)?;
    let Some(workflow) =
        crate::app::workflow::Workflow::load(&loaded.config).map_err(|e| anyhow!("{e}"))?
    else {
        bail!(
            "{}: no [workflow] section, so no teams and no digests",
            config.display()
        );
    };
    let store = open_store(config)?;
    let cases = store.list_cases(CaseOrder::Reference)?;
    let failed_mail = crate::app::workflow::recent_failed_mail(&store, now)?;
    let mut out = std::io::stdout().lock();
    for t in workflow.routing.teams() {
        if team.is_some_and(|only| only != t.id) {
            continue;
        }
        let last = store
            .mark(&format!("digest/{}", t.id))?
            .and_then(|v| serde_json::from_value(v).ok());
        let r = workflow
            .team_digest(&cases, &failed_mail, &t.id, last, now, &loaded.context)
            .map_err(|e| anyhow!("{e}"))?;
        writeln!(
            out,
            "To: {}\nSubject: {}\n\n{}\n",
            t.manager, r.subject, r.text
        )?;
    }
    // The scheduler puts this list in the team's digest when that goes the same day.
    if let Some((to, r)) = workflow
        .machine_mail_preview(&store, now)
        .map_err(|e| anyhow!("{e}"))?
    {
        writeln!(
            out,
            "(machine mail: inside that team's digest when it goes that day, else on its own)\nTo: {to}\nSubject: {}\n\n{}\n",
            r.subject, r.text
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
