//! The one TOML configuration file, read into a validated [`Config`].
//!
//! Reading never stops at the first problem: every error (wrong type, unknown key, bad value) is
//! collected with its key path, so an operator fixes the file in one pass and `foi-triage config
//! check` (systemd `ExecStartPre`) can refuse to start the daemon with the whole list. Relative
//! paths are resolved against the directory of the config file, not the working directory, so the
//! daemon behaves the same whoever starts it.
//!
//! The file is walked with [`toml::Reader`], the one TOML reader that the rule files
//! (`core::rules`) and the routing file (`core::routing`) are read with too; sub-sections whose
//! settings type is a serde struct are read through [`toml::Section`].
//!
//! `[imap]` and `[smtp]` are optional here (the offline tools do not need them); the daemon
//! refuses to start without them. Secrets are read from files named in the config
//! (`password_file`, `token_file`) so the config itself can be world-readable.

pub mod builtin;
mod chase;
mod deadline;
mod digest;
mod intake;
mod machine;
pub mod mail;
mod repeat;
mod retry;
mod routing;
pub mod toml;
mod trust;

use crate::model::kind::Kind;
use crate::model::regime::{Region, SarMonthRule};
pub use chase::{
    ChaserSettings, DEFAULT_BEFORE, DEFAULT_HEAD_OF_SERVICE_AFTER, DEFAULT_OVERDUE_EVERY,
    KindSchedule, LocalTime, MAX_SCHEDULE_WORKING_DAYS,
};
use chrono::NaiveDate;
pub use deadline::DeadlineOptions;
pub use digest::{
    DEFAULT_DUE_SOON_WORKING_DAYS, DEFAULT_HOUR, DEFAULT_TIMELINESS_DAYS, DigestSettings,
    MAX_TIMELINESS_DAYS,
};
pub use intake::{
    DEFAULT_SAR_REVIEW_WORKING_DAYS, IntakeSettings, ReviewSettings, SarIdentityPolicy,
    ValiditySettings,
};
pub use machine::{
    DEFAULT_MACHINE_MAIL_KEEP_DAYS, MAX_MACHINE_MAIL_KEEP_DAYS, MIN_MACHINE_MAIL_KEEP_DAYS,
    MachineMailSettings,
};
pub use repeat::{
    DEFAULT_THRESHOLD, DEFAULT_WINDOW_MONTHS, MAX_WINDOW_MONTHS, MIN_THRESHOLD, RepeatSettings,
};
pub use retry::RetryPolicy;
pub use routing::RoutingSettings;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
pub use toml::Section;
use toml::{DeTable, Reader, has_key, section};
pub use trust::TrustSettings;

/// Settings for one kind of mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindConfig {
    /// Reference prefix, e.g. `FOI` in `FOI-2026-000123`.
    pub prefix: String,
    /// Working days allowed by local policy (non-statutory kinds only; statutory kinds follow the
    /// law in `deadline`).
    pub working_days: u32,
}

/// A validated configuration. Build it with [`Config::load`] or [`Config::from_toml`].
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Organisation name, used in acknowledgements.
    pub organisation: String,
    /// The authority's own region: picks FOISA/EIR(S) for Scotland and the SAR and local-policy
    /// calendars.
    pub region: Region,
    /// The body operates under the Welsh Language Standards (`[organisation] welsh`, default
    /// false): correspondence received in Welsh is answered in Welsh, so a Welsh or bilingual
    /// request gets its letters from the Welsh templates (`templates/<name>/cy/`), which must
    /// then exist. Only for a body in England and Wales.
    pub welsh: bool,
    /// The shared mailbox address requests arrive at and acknowledgements come from.
    pub address: String,
    /// Addresses of our own that must never be acknowledged (loop guard), lower-cased; always
    /// includes `address`.
    pub own_addresses: Vec<String>,
    /// Where the sled store lives.
    pub data_dir: PathBuf,
    /// Directory of classification rule files; `None` (no `rules_dir` in `[paths]`): the rules
    /// built into the binary ([`builtin`]).
    pub rules_dir: Option<PathBuf>,
    /// Directory of email templates; `None` (no `templates_dir`): the built-in templates.
    pub templates_dir: Option<PathBuf>,
    /// Optional bank-holiday data (GOV.UK JSON or our TOML) that overrides the built-in table.
    pub bank_holidays: Option<PathBuf>,
    /// Per-kind settings; every kind except `auto` has an entry.
    pub kinds: BTreeMap<Kind, KindConfig>,
    /// SAR month counting: the ICO method (default) or the strict "beginning with" reading.
    pub sar_month_rule: SarMonthRule,
    /// Treat a request received on a non-working day as received on the next working day
    /// (the 2018 s.45 Code reading). Default false: the statute and ICO reading (deadlines.md §1.4).
    pub nonworking_receipt_rolls_forward: bool,
    /// Organisational closure days, skipped by local-policy timescales only (never by FOIA/EIR/SAR:
    /// ICO LTT47 says privilege days are working days).
    pub closure_days: Vec<NaiveDate>,
    /// The shared mailbox (`None` when the file has no `[imap]` section).
    pub imap: Option<MailboxConfig>,
    /// Outgoing mail (`None` when the file has no `[smtp]` section).
    pub smtp: Option<mail::SmtpSettings>,
    /// Acknowledgement policy.
    pub acknowledgements: AckPolicy,
    /// How the outbox retries mail after transient SMTP failures (`[outbox]`).
    pub outbox_retry: RetryPolicy,
    /// Case workflow after acknowledgement (`[workflow]`): routing, assignment mail, emailed staff
    /// commands, chasers, digests, repeat detection. `None`: cases are made and acknowledged only.
    pub workflow: Option<WorkflowConfig>,
    /// Which mail gateway's `Authentication-Results` are believed (`[trust]`); empty: none, and
    /// no mail may change a case's state.
    pub trust: TrustSettings,
    /// Mail from inside the organisation: staff domains and web-form addresses (`[intake]`).
    pub intake: IntakeSettings,
    /// What a valid request must show: the SAR identity policy (`[validity]`).
    pub validity: ValiditySettings,
    /// Internal reviews whose timescale is local policy (`[reviews]`).
    pub reviews: ReviewSettings,
    /// Mail filed without a case: how long it is kept, who gets the daily list (`[machine_mail]`).
    pub machine_mail: MachineMailSettings,
}

/// The `[workflow]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowConfig {
    /// The routing file (teams, members, routes), resolved against the config file's folder.
    pub routing_file: PathBuf,
    /// Keys of the HMAC that signs the reply addresses staff send commands to, newest first (each
    /// at least 16 bytes; from a file, one key a line: a secret never lives in this file).
    pub reply_keys: Vec<String>,
    /// How many days after its case closes a reply address stops working
    /// ([`DEFAULT_REPLY_DAYS_AFTER_CLOSE`] unless set).
    pub reply_days_after_close: u32,
    /// When chasers go out.
    pub chasers: ChaserSettings,
    /// When digests go out.
    pub digests: DigestSettings,
    /// Repeat detection.
    pub repeats: RepeatSettings,
}

/// Default of [`WorkflowConfig::reply_days_after_close`]: 30 days leaves time for a late `#note`
/// or a `#reopen` by email soon after a case closes, while an address left in an old mailbox
/// stops working within a month of the case ending (the command line works whatever the age).
pub const DEFAULT_REPLY_DAYS_AFTER_CLOSE: u32 = 30;

/// Longest [`WorkflowConfig::reply_days_after_close`] accepted, in days (ten years): beyond that
/// the setting is a typo.
pub const MAX_REPLY_DAYS_AFTER_CLOSE: u32 = 3650;

/// The shared mailbox: how to reach it, what to watch and where to file processed mail.
#[derive(Debug, Clone, PartialEq)]
pub struct MailboxConfig {
    /// Server, TLS and credentials.
    pub server: mail::ImapSettings,
    /// The folder new requests arrive in (`INBOX`).
    pub mailbox: String,
    /// Use IMAP IDLE when the server offers it (else poll every `poll_interval`).
    pub idle: bool,
    /// Folder per kind for processed mail (`Triage/FOI`…), `/`-separated.
    pub folders: BTreeMap<Kind, String>,
    /// Folder for mail that could not be processed.
    pub quarantine: String,
    /// The shared mailbox's Sent folder, watched (read only) for responses to requesters: a
    /// message with a case reference in its subject marks the case responded. `None`: not watched.
    pub sent_folder: Option<String>,
    /// A message larger than this (bytes) is read only in part: its header and first part make
    /// the case, which notes that the rest is in the mailbox (`imap.max_message_bytes`).
    pub max_message_bytes: u64,
}

/// When acknowledgements go out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckPolicy {
    /// Send acknowledgements at all (false: cases are still created; useful while piloting).
    pub enabled: bool,
    /// At most this many acknowledgements to one address per 24 hours: the loop breaker when
    /// two auto-responders that our `auto` rules miss answer each other.
    pub per_address_per_day: u32,
    /// At most this many acknowledgements in all per rolling hour: the flood cap. The per-address
    /// limit cannot stop a flood from many addresses (forged senders turn acknowledgements into
    /// backscatter, and a burst can get the shared mailbox throttled or blocklisted by its
    /// provider); cases are still made, only the mail is held back, and each suppression is
    /// audited on its case.
    pub global_per_hour: u32,
}

/// Default of [`AckPolicy::global_per_hour`]: 200 an hour is several times a busy team's peak
/// (a few hundred requests a month), so only a flood reaches it.
pub const DEFAULT_ACKS_PER_HOUR: u32 = 200;

impl Default for AckPolicy {
    fn default() -> Self {
        AckPolicy {
            enabled: true,
            per_address_per_day: 5,
            global_per_hour: DEFAULT_ACKS_PER_HOUR,
        }
    }
}

/// Default filing folders: one per kind under `Triage/`, so officers can see what was done.
fn default_folder(kind: Kind) -> String {
    let name = match kind {
        Kind::Foi => "FOI",
        Kind::Eir => "EIR",
        Kind::Sar => "SAR",
        Kind::Media => "Media",
        Kind::MemberEnquiry => "Members",
        Kind::Complaint => "Complaints",
        Kind::General => "General",
        Kind::Auto => "Auto",
    };
    format!("Triage/{name}")
}

/// One problem in the configuration file, with the key path it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Dotted key path, e.g. `kinds.complaint.working_days`; empty for whole-file errors.
    pub key: String,
    /// What is wrong, in words an operator can act on.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.key, self.message)
        }
    }
}

/// Every problem found in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors {
    /// The file that was read (or `<string>`).
    pub file: String,
    /// All errors, in file order as far as it can be told.
    pub errors: Vec<ConfigError>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        write!(
            f,
            "{}: {n} configuration error{}",
            self.file,
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.errors {
            write!(f, "\n  {}: {e}", self.file)?;
        }
        Ok(())
    }
}

/// Default reference prefixes and local-policy working days (deadlines.md §5; seed 002).
///
/// Complaints: 10 working days (LGSCO Complaint Handling Code stage 1, vector S9). Member enquiries:
/// 5 working days (seed 002 "draft within 5 days", vector S10). Media: 1 working day (press offices
/// answer the same or next day; no statute). General: 10 working days (a common council service
/// standard). Statutory kinds carry 20 for display only; their clock comes from the law.
const KIND_DEFAULTS: [(Kind, &str, u32); 7] = [
    (Kind::Foi, "FOI", 20),
    (Kind::Eir, "EIR", 20),
    (Kind::Sar, "SAR", 20),
    (Kind::Media, "MED", 1),
    (Kind::MemberEnquiry, "MEM", 5),
    (Kind::Complaint, "CMP", 10),
    (Kind::General, "GEN", 10),
];

impl Config {
    /// The organisation's own mail domains: `[intake] staff_domains`, or the shared mailbox's
    /// domain when none are configured. One answer for validity (staff requesters), intake
    /// (colleagues' forwards) and the rules' `own_domains` list.
    pub fn own_domains(&self) -> Vec<String> {
        self.intake.staff_domains_or(&self.address)
    }

    /// Reads and validates a config file.
    ///
    /// # Errors
    /// Every problem in the file (or the file being unreadable), with key paths.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigErrors {
            file: file.clone(),
            errors: vec![ConfigError {
                key: String::new(),
                message: format!("cannot read the file: {e}"),
            }],
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::from_toml(&text, base).map_err(|mut e| {
            e.file = file;
            e
        })
    }

    /// Parses config text; relative paths are resolved against `base`.
    ///
    /// # Errors
    /// Every problem found, with key paths.
    pub fn from_toml(text: &str, base: &Path) -> Result<Config, ConfigErrors> {
        let fail = |errors| ConfigErrors {
            file: "<string>".into(),
            errors,
        };
        let not_toml = |e: ::toml::de::Error| {
            fail(vec![ConfigError {
                key: String::new(),
                message: format!("not valid TOML: {}", e.to_string().trim()),
            }])
        };
        // A file `toml` cannot load as a whole (bad syntax, or a value its data model cannot hold,
        // such as an integer over 64 bits) is one error, with `toml`'s line and caret.
        ::toml::from_str::<::toml::Table>(text).map_err(not_toml)?;
        let table = DeTable::parse(text).map_err(not_toml)?;
        let mut r = Reader::new(text);
        let cfg = read(&mut r, table.get_ref(), base);
        if r.errors.is_empty() {
            Ok(cfg)
        } else {
            Err(fail(r.errors.into_iter().map(ConfigError::from).collect()))
        }
    }

    /// Defaults for tools run without a config file (`foi-triage classify`, `due`): England and
    /// Wales, the default prefixes and local-policy timescales, no mailbox and no paths.
    pub fn defaults() -> Config {
        Config {
            organisation: String::new(),
            region: Region::EnglandAndWales,
            welsh: false,
            address: String::new(),
            own_addresses: Vec::new(),
            data_dir: PathBuf::new(),
            rules_dir: Some(PathBuf::from("rules")),
            templates_dir: Some(PathBuf::from("templates")),
            bank_holidays: None,
            kinds: KIND_DEFAULTS
                .iter()
                .map(|&(k, prefix, working_days)| {
                    let prefix = prefix.to_string();
                    (
                        k,
                        KindConfig {
                            prefix,
                            working_days,
                        },
                    )
                })
                .collect(),
            sar_month_rule: SarMonthRule::Ico,
            nonworking_receipt_rolls_forward: false,
            closure_days: Vec::new(),
            imap: None,
            smtp: None,
            acknowledgements: AckPolicy::default(),
            outbox_retry: RetryPolicy::default(),
            workflow: None,
            trust: TrustSettings::default(),
            intake: IntakeSettings::default(),
            validity: ValiditySettings::default(),
            reviews: ReviewSettings::default(),
            machine_mail: MachineMailSettings::default(),
        }
    }

    /// The deadline engine's options as this config sets them.
    pub fn deadline_options(&self) -> DeadlineOptions {
        DeadlineOptions {
            sar_month_rule: self.sar_month_rule,
            nonworking_receipt_rolls_forward: self.nonworking_receipt_rolls_forward,
            closure_days: self.closure_days.iter().copied().collect(),
            ..DeadlineOptions::default()
        }
    }

    /// Settings for a kind; `None` for `auto`, which never becomes a case.
    pub fn kind(&self, kind: Kind) -> Option<&KindConfig> {
        self.kinds.get(&kind)
    }

    /// Every configured reference prefix with its kind: what follow-up detection looks for.
    pub fn prefixes(&self) -> Vec<(String, Kind)> {
        self.kinds
            .iter()
            .map(|(k, c)| (c.prefix.clone(), *k))
            .collect()
    }

    /// Whether an address is one of ours (never acknowledged: that would start a mail loop).
    pub fn is_own_address(&self, email: &str) -> bool {
        let e = email.trim().to_ascii_lowercase();
        self.own_addresses.contains(&e)
    }
}

/// Top-level keys of the configuration file.
const TOP_KEYS: &[&str] = &[
    "organisation",
    "mailbox",
    "paths",
    "kinds",
    "deadlines",
    "imap",
    "smtp",
    "acknowledgements",
    "outbox",
    "workflow",
    "trust",
    "intake",
    "validity",
    "reviews",
    "machine_mail",
];

fn read(r: &mut Reader, t: &DeTable<'_>, base: &Path) -> Config {
    r.known(t, "", TOP_KEYS);
    let Organisation {
        name: organisation,
        region,
        welsh,
    } = read_organisation(r, t);
    let (address, own_addresses) = read_mailbox(r, t);
    let paths = r.table(t, "", "paths");
    r.known(
        &paths,
        "paths",
        &["data_dir", "rules_dir", "templates_dir", "bank_holidays"],
    );
    let mut path = |key: &str, required: bool| {
        r.string(&paths, "paths", key, required)
            .map(|p| base.join(p))
    };
    let data_dir = path("data_dir", true).unwrap_or_default();
    // Optional: without them the binary's own rules and templates are used (`builtin`).
    let rules_dir = path("rules_dir", false);
    let templates_dir = path("templates_dir", false);
    let bank_holidays = path("bank_holidays", false);
    let kinds = read_kinds(r, t);
    let (sar_month_rule, nonworking_receipt_rolls_forward, closure_days) = read_deadlines(r, t);
    Config {
        organisation,
        region,
        welsh,
        address,
        own_addresses,
        data_dir,
        rules_dir,
        templates_dir,
        bank_holidays,
        kinds,
        sar_month_rule,
        nonworking_receipt_rolls_forward,
        closure_days,
        imap: has_key(t, "imap").then(|| read_imap(r, t, base)),
        smtp: has_key(t, "smtp").then(|| read_smtp(r, t, base)),
        acknowledgements: read_acks(r, t),
        outbox_retry: read_outbox(r, t),
        workflow: has_key(t, "workflow").then(|| read_workflow(r, t, base)),
        trust: section(r, t, "", "trust"),
        intake: section(r, t, "", "intake"),
        validity: section(r, t, "", "validity"),
        reviews: section(r, t, "", "reviews"),
        machine_mail: section(r, t, "", "machine_mail"),
    }
}

/// The `[organisation]` section.
struct Organisation {
    name: String,
    region: Region,
    welsh: bool,
}

/// `[organisation]`: the name, the region and whether letters go in Welsh to Welsh writers.
///
/// `welsh = true` outside England and Wales is refused: the Welsh Language Standards bind
/// Welsh bodies, and the Welsh templates carry the FOIA, EIR and ICO wording only (not FOISA or
/// the Scottish Information Commissioner's).
fn read_organisation(r: &mut Reader, t: &DeTable<'_>) -> Organisation {
    let org = r.table(t, "", "organisation");
    r.known(&org, "organisation", &["name", "region", "welsh"]);
    let organisation = r
        .string(&org, "organisation", "name", true)
        .unwrap_or_default();
    let region = match r.string(&org, "organisation", "region", true) {
        Some(s) => s.parse::<Region>().unwrap_or_else(|e| {
            r.err("organisation.region", e.to_string());
            Region::EnglandAndWales
        }),
        None => Region::EnglandAndWales,
    };
    let welsh = r.boolean(&org, "organisation", "welsh").unwrap_or(false);
    if welsh && region != Region::EnglandAndWales {
        r.err(
            "organisation.welsh",
            format!(
                "Welsh letters are for a body in Wales (region \"england-and-wales\"), not \
                 {region}: the Welsh Language Standards apply there, and the Welsh templates give \
                 the FOIA, EIR and ICO wording only"
            ),
        );
    }
    Organisation {
        name: organisation,
        region,
        welsh: welsh && region == Region::EnglandAndWales,
    }
}

/// `[mailbox]`: the shared address and every address of ours (lower-cased, sorted, deduplicated).
fn read_mailbox(r: &mut Reader, t: &DeTable<'_>) -> (String, Vec<String>) {
    let mb = r.table(t, "", "mailbox");
    r.known(&mb, "mailbox", &["address", "own_addresses"]);
    let address = r
        .string(&mb, "mailbox", "address", true)
        .unwrap_or_default();
    if !address.is_empty() && !looks_like_email(&address) {
        r.err(
            "mailbox.address",
            format!("{address:?} is not an email address"),
        );
    }
    let mut own_addresses = vec![address.to_ascii_lowercase()];
    for (i, a) in r.strings(&mb, "mailbox", "own_addresses") {
        if looks_like_email(&a) {
            own_addresses.push(a.to_ascii_lowercase());
        } else {
            r.err(
                &format!("mailbox.own_addresses[{i}]"),
                format!("{a:?} is not an email address"),
            );
        }
    }
    own_addresses.retain(|a| !a.is_empty());
    own_addresses.sort();
    own_addresses.dedup();
    (address, own_addresses)
}

/// `[kinds.*]`: reference prefixes (distinct, 2 to 6 capitals) and local-policy working days.
fn read_kinds(r: &mut Reader, t: &DeTable<'_>) -> BTreeMap<Kind, KindConfig> {
    let kinds_t = r.table(t, "", "kinds");
    let names: Vec<&str> = KIND_DEFAULTS.iter().map(|(k, _, _)| k.as_str()).collect();
    r.known(&kinds_t, "kinds", &names);
    let mut kinds = BTreeMap::new();
    let mut seen_prefix: BTreeMap<String, Kind> = BTreeMap::new();
    for (kind, prefix, days) in KIND_DEFAULTS {
        let at = format!("kinds.{kind}");
        let kt = r.table(&kinds_t, "kinds", kind.as_str());
        r.known(&kt, &at, &["prefix", "working_days"]);
        let prefix = r
            .string(&kt, &at, "prefix", false)
            .unwrap_or_else(|| prefix.to_string());
        if !(2..=6).contains(&prefix.len()) || !prefix.bytes().all(|b| b.is_ascii_uppercase()) {
            r.err(
                &format!("{at}.prefix"),
                format!("{prefix:?} must be 2 to 6 capital letters A-Z"),
            );
        } else if let Some(other) = seen_prefix.insert(prefix.clone(), kind) {
            r.err(
                &format!("{at}.prefix"),
                format!(
                    "{prefix:?} is already the prefix of {other}; references must say their kind"
                ),
            );
        }
        let working_days = match r.integer(&kt, &at, "working_days") {
            Some(_) if kind.is_statutory() => {
                r.err(
                    &format!("{at}.working_days"),
                    "the time limit for this kind is set by law and cannot be configured".into(),
                );
                days
            }
            Some(n) if (1..=120).contains(&n) => n as u32,
            Some(n) => {
                r.err(
                    &format!("{at}.working_days"),
                    format!("{n} is out of range (1 to 120 working days)"),
                );
                days
            }
            None => days,
        };
        kinds.insert(
            kind,
            KindConfig {
                prefix,
                working_days,
            },
        );
    }
    kinds
}

/// `[deadlines]`: the SAR month rule, the non-working-day receipt reading and closure days.
fn read_deadlines(r: &mut Reader, t: &DeTable<'_>) -> (SarMonthRule, bool, Vec<NaiveDate>) {
    let dl = r.table(t, "", "deadlines");
    r.known(
        &dl,
        "deadlines",
        &[
            "sar_month_rule",
            "nonworking_receipt_rolls_forward",
            "closure_days",
        ],
    );
    let sar_month_rule = match r
        .string(&dl, "deadlines", "sar_month_rule", false)
        .as_deref()
    {
        None | Some("ico") => SarMonthRule::Ico,
        Some("strict_beginning_with") => SarMonthRule::StrictBeginningWith,
        Some(other) => {
            r.err(
                "deadlines.sar_month_rule",
                format!("{other:?} is not one of \"ico\", \"strict_beginning_with\""),
            );
            SarMonthRule::Ico
        }
    };
    let rolls_forward = r
        .boolean(&dl, "deadlines", "nonworking_receipt_rolls_forward")
        .unwrap_or(false);
    let mut closure_days = Vec::new();
    for (i, d) in r.strings(&dl, "deadlines", "closure_days") {
        match NaiveDate::parse_from_str(&d, "%Y-%m-%d") {
            Ok(d) => closure_days.push(d),
            Err(_) => r.err(
                &format!("deadlines.closure_days[{i}]"),
                format!("{d:?} is not a date like 2026-12-29"),
            ),
        }
    }
    (sar_month_rule, rolls_forward, closure_days)
}

/// The keys `[imap]` and `[smtp]` share (read by [`read_endpoint`], and `username`).
const ENDPOINT_KEYS: &[&str] = &["host", "port", "security", "ca_file", "username"];

/// Host, port, security and CA file shared by `[imap]` and `[smtp]`, with the rule that plain
/// connections are only for loopback (credentials would otherwise cross the network in clear).
/// `default_port` is per security: TLS, STARTTLS, plain.
fn read_endpoint(
    r: &mut Reader,
    t: &DeTable<'_>,
    at: &str,
    default_port: [u16; 3],
    base: &Path,
) -> (String, u16, mail::Security, Option<PathBuf>) {
    let host = r.string(t, at, "host", true).unwrap_or_default();
    let security = match r.string(t, at, "security", false).as_deref() {
        None | Some("tls") => 0,
        Some("starttls") => 1,
        Some("plain") => {
            let loopback = host == "localhost"
                || host
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if !loopback && !host.is_empty() {
                r.err(
                    &format!("{at}.security"),
                    format!("\"plain\" sends credentials in clear; it is only allowed for a loopback host, not {host:?}"),
                );
            }
            2
        }
        Some(other) => {
            r.err(
                &format!("{at}.security"),
                format!("{other:?} is not one of \"tls\", \"starttls\", \"plain\""),
            );
            0
        }
    };
    let port = match r.integer(t, at, "port") {
        None => default_port[security],
        Some(p) if (1..=65535).contains(&p) => p as u16,
        Some(p) => {
            r.err(&format!("{at}.port"), format!("{p} is not a TCP port"));
            default_port[security]
        }
    };
    let security = [
        mail::Security::Tls,
        mail::Security::StartTls,
        mail::Security::Plain,
    ][security];
    let ca_file = r.string(t, at, "ca_file", false).map(|p| base.join(p));
    (host, port, security, ca_file)
}

/// A secret read from the file a key names (`password_file`), trimmed.
fn read_secret(
    r: &mut Reader,
    t: &DeTable<'_>,
    at: &str,
    key: &str,
    base: &Path,
) -> Option<String> {
    let path = base.join(r.string(t, at, key, false)?);
    match std::fs::read_to_string(&path) {
        Ok(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Ok(_) => {
            r.err(
                &format!("{at}.{key}"),
                format!("{} is empty", path.display()),
            );
            None
        }
        Err(e) => {
            r.err(
                &format!("{at}.{key}"),
                format!("cannot read {}: {e}", path.display()),
            );
            None
        }
    }
}

fn read_imap(r: &mut Reader, t: &DeTable<'_>, base: &Path) -> MailboxConfig {
    let it = r.table(t, "", "imap");
    r.known(
        &it,
        "imap",
        &[
            ENDPOINT_KEYS,
            &[
                "auth",
                "password_file",
                "token_file",
                "token_command",
                "mailbox",
                "idle",
                "poll_seconds",
                "folders",
                "quarantine_folder",
                "sent_folder",
                "max_message_bytes",
            ],
        ]
        .concat(),
    );
    let (host, port, security, ca_file) = read_endpoint(r, &it, "imap", [993, 143, 143], base);
    let auth = read_imap_auth(r, &it, base);
    let mut timeouts = mail::ImapTimeouts::default();
    match r.integer(&it, "imap", "poll_seconds") {
        Some(n) if (5..=3600).contains(&n) => {
            timeouts.poll_interval = std::time::Duration::from_secs(n as u64)
        }
        Some(n) => r.err(
            "imap.poll_seconds",
            format!("{n} is out of range (5 to 3600 seconds)"),
        ),
        None => {}
    }
    let mailbox = r
        .string(&it, "imap", "mailbox", false)
        .unwrap_or_else(|| "INBOX".into());
    let idle = r.boolean(&it, "imap", "idle").unwrap_or(true);
    let ft = r.table(&it, "imap", "folders");
    let names: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
    r.known(&ft, "imap.folders", &names);
    let folders = Kind::ALL
        .into_iter()
        .map(|k| {
            let f = r
                .string(&ft, "imap.folders", k.as_str(), false)
                .unwrap_or_else(|| default_folder(k));
            (k, f)
        })
        .collect();
    let quarantine = r
        .string(&it, "imap", "quarantine_folder", false)
        .unwrap_or_else(|| "Triage/Quarantine".into());
    let max_message_bytes = match r.integer(&it, "imap", "max_message_bytes") {
        Some(n) if (mail::MESSAGE_BYTES_RANGE).contains(&n) => n as u64,
        Some(n) => {
            r.err(
                "imap.max_message_bytes",
                format!(
                    "{n} is out of range ({} to {} bytes)",
                    mail::MESSAGE_BYTES_RANGE.start(),
                    mail::MESSAGE_BYTES_RANGE.end()
                ),
            );
            mail::DEFAULT_MAX_MESSAGE_BYTES
        }
        None => mail::DEFAULT_MAX_MESSAGE_BYTES,
    };
    MailboxConfig {
        server: mail::ImapSettings {
            host,
            port,
            security,
            ca_file,
            auth,
            timeouts,
        },
        mailbox,
        idle,
        folders,
        quarantine,
        sent_folder: r.string(&it, "imap", "sent_folder", false),
        max_message_bytes,
    }
}

/// `[imap]` authentication: a password from a file, or an OAuth2 token from a file or command.
fn read_imap_auth(r: &mut Reader, it: &DeTable<'_>, base: &Path) -> mail::ImapAuth {
    let username = r.string(it, "imap", "username", true).unwrap_or_default();
    match r.string(it, "imap", "auth", false).as_deref() {
        None | Some("login") => {
            if !it.contains_key("password_file") {
                r.err(
                    "imap.password_file",
                    "missing (required for auth = \"login\")".into(),
                );
            }
            let password = read_secret(r, it, "imap", "password_file", base).unwrap_or_default();
            mail::ImapAuth::Login { username, password }
        }
        Some("xoauth2") => {
            let file = r.string(it, "imap", "token_file", false);
            let command = r.string(it, "imap", "token_command", false);
            let token_source = match (file, command) {
                (Some(f), None) => mail::TokenSource::File(base.join(f)),
                (None, Some(c)) => mail::TokenSource::Command(c),
                _ => {
                    r.err(
                        "imap.auth",
                        "xoauth2 needs exactly one of token_file or token_command".into(),
                    );
                    mail::TokenSource::Command(String::new())
                }
            };
            mail::ImapAuth::XOAuth2 {
                username,
                token_source,
            }
        }
        Some(other) => {
            r.err(
                "imap.auth",
                format!("{other:?} is not one of \"login\", \"xoauth2\""),
            );
            mail::ImapAuth::Login {
                username,
                password: String::new(),
            }
        }
    }
}

fn read_smtp(r: &mut Reader, t: &DeTable<'_>, base: &Path) -> mail::SmtpSettings {
    let st = r.table(t, "", "smtp");
    r.known(
        &st,
        "smtp",
        &[ENDPOINT_KEYS, &["password_file", "timeout_seconds"]].concat(),
    );
    let (host, port, security, ca_file) = read_endpoint(r, &st, "smtp", [465, 587, 25], base);
    let credentials = match r.string(&st, "smtp", "username", false) {
        Some(username) => {
            if !st.contains_key("password_file") {
                r.err(
                    "smtp.password_file",
                    "missing (required with smtp.username)".into(),
                );
            }
            let password = read_secret(r, &st, "smtp", "password_file", base).unwrap_or_default();
            Some(mail::SmtpCredentials { username, password })
        }
        None => None,
    };
    let timeout = match r.integer(&st, "smtp", "timeout_seconds") {
        Some(n) if (1..=600).contains(&n) => std::time::Duration::from_secs(n as u64),
        Some(n) => {
            r.err(
                "smtp.timeout_seconds",
                format!("{n} is out of range (1 to 600 seconds)"),
            );
            std::time::Duration::from_secs(mail::SMTP_DEFAULT_TIMEOUT_SECS)
        }
        None => std::time::Duration::from_secs(mail::SMTP_DEFAULT_TIMEOUT_SECS),
    };
    mail::SmtpSettings {
        host,
        port,
        security,
        ca_file,
        credentials,
        timeout,
    }
}

fn read_workflow(r: &mut Reader, t: &DeTable<'_>, base: &Path) -> WorkflowConfig {
    let wt = r.table(t, "", "workflow");
    r.known(
        &wt,
        "workflow",
        &[
            "routing_file",
            "reply_secret_file",
            "reply_days_after_close",
            "chasers",
            "digests",
            "repeats",
        ],
    );
    let routing_file = base.join(
        r.string(&wt, "workflow", "routing_file", false)
            .unwrap_or_else(|| "routing.toml".into()),
    );
    if !wt.contains_key("reply_secret_file") {
        r.err(
            "workflow.reply_secret_file",
            "missing (required: a file holding at least 16 random bytes, e.g. `head -c 32 /dev/urandom | base64`)".into(),
        );
    }
    let reply_keys = read_secret(r, &wt, "workflow", "reply_secret_file", base)
        .map(|text| reply_keys(r, &text))
        .unwrap_or_default();
    let reply_days_after_close = match r.integer(&wt, "workflow", "reply_days_after_close") {
        None => DEFAULT_REPLY_DAYS_AFTER_CLOSE,
        Some(n) if (0..=i64::from(MAX_REPLY_DAYS_AFTER_CLOSE)).contains(&n) => n as u32,
        Some(n) => {
            r.err(
                "workflow.reply_days_after_close",
                format!("{n} is out of range (0 to {MAX_REPLY_DAYS_AFTER_CLOSE} days)"),
            );
            DEFAULT_REPLY_DAYS_AFTER_CLOSE
        }
    };
    // The sub-sections are serde structs owned by their modules, each checking itself.
    let chasers = section(r, &wt, "workflow", "chasers");
    let digests = section(r, &wt, "workflow", "digests");
    let repeats = section(r, &wt, "workflow", "repeats");
    WorkflowConfig {
        routing_file,
        reply_keys,
        reply_days_after_close,
        chasers,
        digests,
        repeats,
    }
}

/// The keys in a reply-secret file: one a line, newest first; blank lines and lines starting
/// with `#` are skipped, each line is trimmed. A file of one line (what a single secret always
/// was) is one key. A line shorter than 16 bytes is reported with its line number: it is most
/// likely the tail of a secret `base64` wrapped onto two lines, which was one key before keys
/// were listed, so it must be said rather than read as two.
fn reply_keys(r: &mut Reader, text: &str) -> Vec<String> {
    let mut keys = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let key = line.trim();
        if key.is_empty() || key.starts_with('#') {
            continue;
        }
        if key.len() < 16 {
            r.err(
                "workflow.reply_secret_file",
                format!(
                    "line {}: the key is {} bytes long, at least 16 are needed (one key a line, newest first; join a wrapped key onto one line)",
                    i + 1,
                    key.len()
                ),
            );
        }
        keys.push(key.to_string());
    }
    if keys.is_empty() {
        r.err(
            "workflow.reply_secret_file",
            "the file has no key (only blank or # lines)".into(),
        );
    }
    keys
}

fn read_outbox(r: &mut Reader, t: &DeTable<'_>) -> RetryPolicy {
    let ot = r.table(t, "", "outbox");
    r.known(
        &ot,
        "outbox",
        &["retry_first_seconds", "retry_max_seconds", "give_up_hours"],
    );
    let d = RetryPolicy::default();
    let mut secs = |key: &str, range: std::ops::RangeInclusive<i64>, unit: u64, default| match r
        .integer(&ot, "outbox", key)
    {
        Some(n) if range.contains(&n) => std::time::Duration::from_secs(n as u64 * unit),
        Some(n) => {
            r.err(
                &format!("outbox.{key}"),
                format!("{n} is out of range ({} to {})", range.start(), range.end()),
            );
            default
        }
        None => default,
    };
    let first = secs("retry_first_seconds", 1..=3600, 1, d.first);
    let max = secs("retry_max_seconds", 1..=86_400, 1, d.max);
    let give_up_after = secs("give_up_hours", 1..=720, 3600, d.give_up_after);
    if max < first {
        r.err(
            "outbox.retry_max_seconds",
            "must not be less than outbox.retry_first_seconds".into(),
        );
    }
    RetryPolicy {
        first,
        max,
        give_up_after,
    }
}

fn read_acks(r: &mut Reader, t: &DeTable<'_>) -> AckPolicy {
    let at = r.table(t, "", "acknowledgements");
    r.known(
        &at,
        "acknowledgements",
        &["enabled", "per_address_per_day", "global_per_hour"],
    );
    let d = AckPolicy::default();
    let mut bounded =
        |key: &str, max: i64, default: u32| match r.integer(&at, "acknowledgements", key) {
            Some(n) if (1..=max).contains(&n) => n as u32,
            Some(n) => {
                r.err(
                    &format!("acknowledgements.{key}"),
                    format!("{n} is out of range (1 to {max})"),
                );
                default
            }
            None => default,
        };
    let per_address_per_day = bounded("per_address_per_day", 1000, d.per_address_per_day);
    let global_per_hour = bounded("global_per_hour", 100_000, d.global_per_hour);
    AckPolicy {
        enabled: r
            .boolean(&at, "acknowledgements", "enabled")
            .unwrap_or(d.enabled),
        per_address_per_day,
        global_per_hour,
    }
}

fn looks_like_email(s: &str) -> bool {
    matches!(s.split_once('@'), Some((l, d)) if !l.is_empty() && d.contains('.') && !s.contains(char::is_whitespace))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[organisation]
name = "Example Borough Council"
region = "england-and-wales"
[mailbox]
address = "foi@council.example.gov.uk"
[paths]
data_dir = "data"
rules_dir = "rules"
templates_dir = "templates"
"#;

    fn errors(text: &str) -> Vec<String> {
        match Config::from_toml(text, Path::new("/etc/foi")) {
            Ok(_) => Vec::new(),
            Err(e) => e.errors.iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let c = Config::from_toml(MINIMAL, Path::new("/etc/foi")).unwrap();
        assert_eq!(c.organisation, "Example Borough Council");
        assert_eq!(c.region, Region::EnglandAndWales);
        assert_eq!(c.data_dir, PathBuf::from("/etc/foi/data"));
        assert_eq!(c.kind(Kind::Foi).unwrap().prefix, "FOI");
        assert_eq!(c.kind(Kind::Complaint).unwrap().working_days, 10);
        assert_eq!(c.kind(Kind::MemberEnquiry).unwrap().working_days, 5);
        assert!(c.kind(Kind::Auto).is_none());
        assert_eq!(c.sar_month_rule, SarMonthRule::Ico);
        assert!(!c.nonworking_receipt_rolls_forward);
        assert!(c.is_own_address("FOI@Council.Example.gov.uk"));
        assert!(!c.is_own_address("someone@example.org"));
        assert_eq!(c.prefixes().len(), 7);
    }

    #[test]
    fn outbox_retry_reads_defaults_and_checks_ranges() {
        let c = Config::from_toml(MINIMAL, Path::new("/etc/foi")).unwrap();
        assert_eq!(c.outbox_retry, RetryPolicy::default());
        let ok = format!(
            "{MINIMAL}[outbox]\nretry_first_seconds = 2\nretry_max_seconds = 10\ngive_up_hours = 1\n"
        );
        let c = Config::from_toml(&ok, Path::new("/etc/foi")).unwrap();
        assert_eq!(c.outbox_retry.first, std::time::Duration::from_secs(2));
        assert_eq!(c.outbox_retry.max, std::time::Duration::from_secs(10));
        assert_eq!(
            c.outbox_retry.give_up_after,
            std::time::Duration::from_secs(3600)
        );
        let table = [
            (
                "retry_first_seconds = 0",
                "outbox.retry_first_seconds: 0 is out of range",
            ),
            (
                "give_up_hours = 10000",
                "outbox.give_up_hours: 10000 is out of range",
            ),
            (
                "retry_first_seconds = 100\nretry_max_seconds = 10",
                "outbox.retry_max_seconds: must not be less than",
            ),
            ("colour = 1", "outbox.colour: unknown key"),
        ];
        for (body, want) in table {
            let errs = errors(&format!("{MINIMAL}[outbox]\n{body}\n"));
            assert!(errs.iter().any(|e| e.starts_with(want)), "{body}: {errs:?}");
        }
    }

    #[test]
    fn welsh_letters_are_off_by_default_and_only_for_a_body_in_wales() {
        assert!(
            !Config::from_toml(MINIMAL, Path::new("/etc/foi"))
                .unwrap()
                .welsh
        );
        let on = MINIMAL.replace(
            "region = \"england-and-wales\"",
            "region = \"wales\"\nwelsh = true",
        );
        assert!(Config::from_toml(&on, Path::new("/etc/foi")).unwrap().welsh);
        let table = [
            (
                "region = \"scotland\"\nwelsh = true",
                "organisation.welsh: Welsh letters are for a body in Wales (region \
                 \"england-and-wales\"), not scotland",
            ),
            (
                "region = \"northern-ireland\"\nwelsh = true",
                "organisation.welsh: Welsh letters are for a body in Wales",
            ),
            (
                "region = \"wales\"\nwelsh = \"yes\"",
                "organisation.welsh: expected true or false, found string",
            ),
        ];
        for (org, want) in table {
            let errs = errors(&MINIMAL.replace("region = \"england-and-wales\"", org));
            assert!(errs.iter().any(|e| e.starts_with(want)), "{org}: {errs:?}");
        }
        let scotland = MINIMAL.replace(
            "region = \"england-and-wales\"",
            "region = \"scotland\"\nwelsh = false",
        );
        assert!(
            !Config::from_toml(&scotland, Path::new("/etc/foi"))
                .unwrap()
                .welsh
        );
    }

    #[test]
    fn absolute_paths_stay_absolute() {
        let text = MINIMAL.replace("data_dir = \"data\"", "data_dir = \"/var/lib/foi-triage\"");
        let c = Config::from_toml(&text, Path::new("/etc/foi")).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/var/lib/foi-triage"));
    }

    #[test]
    fn rules_and_templates_dirs_are_optional_and_named_ones_resolve_against_the_config() {
        let c = Config::from_toml(MINIMAL, Path::new("/etc/foi")).unwrap();
        assert_eq!(c.rules_dir, Some(PathBuf::from("/etc/foi/rules")));
        assert_eq!(c.templates_dir, Some(PathBuf::from("/etc/foi/templates")));
        let text = MINIMAL
            .replace("rules_dir = \"rules\"\n", "")
            .replace("templates_dir = \"templates\"\n", "");
        let c = Config::from_toml(&text, Path::new("/etc/foi")).unwrap();
        assert_eq!((c.rules_dir, c.templates_dir), (None, None));
    }

    #[test]
    fn every_error_is_reported_at_once_with_its_key() {
        let text = r#"
[organisation]
name = 7
region = "wessex"
colour = "blue"
[mailbox]
address = "not-an-address"
own_addresses = ["ok@example.org", 3, "bad"]
[paths]
rules_dir = "rules"
[kinds.foi]
working_days = 30
[kinds.complaint]
prefix = "FOI"
working_days = 0
[kinds.media]
prefix = "press"
[deadlines]
sar_month_rule = "lunar"
closure_days = ["2026-13-01"]
nonworking_receipt_rolls_forward = "yes"
"#;
        let errs = errors(text);
        let expect = [
            "organisation.name: expected a string, found integer",
            "organisation.region: ",
            "organisation.colour: unknown key",
            "mailbox.address: \"not-an-address\" is not an email address",
            "mailbox.own_addresses[1]: expected a string, found integer",
            "mailbox.own_addresses[2]: \"bad\" is not an email address",
            "paths.data_dir: missing (required)",
            "kinds.foi.working_days: the time limit for this kind is set by law",
            "kinds.complaint.prefix: \"FOI\" is already the prefix of foi",
            "kinds.complaint.working_days: 0 is out of range",
            "kinds.media.prefix: \"press\" must be 2 to 6 capital letters",
            "deadlines.sar_month_rule: \"lunar\" is not one of",
            "deadlines.closure_days[0]: \"2026-13-01\" is not a date",
            "deadlines.nonworking_receipt_rolls_forward: expected true or false, found string",
        ];
        for e in expect {
            assert!(
                errs.iter().any(|x| x.starts_with(e)),
                "missing error {e:?} in {errs:#?}"
            );
        }
        assert_eq!(errs.len(), expect.len(), "{errs:#?}");
    }

    #[test]
    fn syntax_error_is_one_clear_error() {
        let errs = errors("[organisation\nname = ");
        assert_eq!(errs.len(), 1);
        assert!(errs[0].starts_with("not valid TOML"), "{errs:?}");
    }

    #[test]
    fn integer_too_large_for_toml_is_one_clear_error() {
        let errs = errors(&format!(
            "{MINIMAL}[kinds.complaint]\nworking_days = 99999999999999999999\n"
        ));
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(errs[0].starts_with("not valid TOML"), "{errs:?}");
    }

    #[test]
    fn unknown_kind_section_is_reported() {
        let text = format!("{MINIMAL}\n[kinds.petition]\nprefix = \"PET\"\n");
        let errs = errors(&text);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(errs[0].starts_with("kinds.petition: unknown key"));
    }

    #[test]
    fn load_reports_unreadable_file_and_names_it() {
        let e = Config::load(Path::new("/nonexistent/foi-triage.toml")).unwrap_err();
        assert_eq!(e.file, "/nonexistent/foi-triage.toml");
        assert!(e.to_string().contains("cannot read the file"), "{e}");
    }

    #[test]
    fn mail_sections_read_secrets_from_files_and_default_sensibly() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("imap.pw"), "s3cret\n").unwrap();
        std::fs::write(dir.path().join("smtp.pw"), "other").unwrap();
        let text = format!(
            "{MINIMAL}\n[imap]\nhost = \"imap.example.org\"\nusername = \"foi\"\npassword_file = \"imap.pw\"\n[imap.folders]\nfoi = \"Requests/FOI\"\n[smtp]\nhost = \"127.0.0.1\"\nsecurity = \"plain\"\nport = 10025\nusername = \"foi\"\npassword_file = \"smtp.pw\"\n[acknowledgements]\nper_address_per_day = 3\n"
        );
        let c = Config::from_toml(&text, dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let m = c.imap.unwrap();
        assert_eq!(
            (m.server.port, m.server.security),
            (993, mail::Security::Tls)
        );
        assert_eq!(
            m.server.auth,
            mail::ImapAuth::Login {
                username: "foi".into(),
                password: "s3cret".into()
            }
        );
        assert_eq!(m.mailbox, "INBOX");
        assert!(m.idle);
        assert_eq!(m.folders[&Kind::Foi], "Requests/FOI");
        assert_eq!(m.folders[&Kind::Sar], "Triage/SAR");
        assert_eq!(m.quarantine, "Triage/Quarantine");
        assert_eq!(m.max_message_bytes, mail::DEFAULT_MAX_MESSAGE_BYTES);
        let s = c.smtp.unwrap();
        assert_eq!((s.port, s.security), (10025, mail::Security::Plain));
        assert_eq!(s.credentials.unwrap().password, "other");
        assert_eq!(
            c.acknowledgements,
            AckPolicy {
                enabled: true,
                per_address_per_day: 3,
                global_per_hour: DEFAULT_ACKS_PER_HOUR,
            }
        );
    }

    #[test]
    fn acknowledgement_caps_read_defaults_and_check_ranges() {
        let acks = |body: &str| {
            let text = format!("{MINIMAL}\n[acknowledgements]\n{body}");
            Config::from_toml(&text, Path::new("/etc/foi"))
                .map(|c| {
                    (
                        c.acknowledgements.per_address_per_day,
                        c.acknowledgements.global_per_hour,
                    )
                })
                .map_err(|e| e.errors.iter().map(|e| e.to_string()).collect::<Vec<_>>())
        };
        /// Expected (per address, global) or the start of the one error.
        type Want = Result<(u32, u32), &'static str>;
        let table: [(&str, Want); 8] = [
            ("", Ok((5, DEFAULT_ACKS_PER_HOUR))),
            ("global_per_hour = 50\n", Ok((5, 50))),
            ("global_per_hour = 1\nper_address_per_day = 2\n", Ok((2, 1))),
            ("global_per_hour = 100000\n", Ok((5, 100_000))),
            (
                "global_per_hour = 0\n",
                Err("acknowledgements.global_per_hour: 0 is out of range (1 to 100000)"),
            ),
            (
                "global_per_hour = 100001\n",
                Err("acknowledgements.global_per_hour: 100001 is out of range"),
            ),
            (
                "global_per_hour = -3\n",
                Err("acknowledgements.global_per_hour: -3 is out of range"),
            ),
            (
                "global_per_hour = \"many\"\n",
                Err("acknowledgements.global_per_hour"),
            ),
        ];
        for (body, want) in table {
            match (acks(body), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{body}"),
                (Err(errs), Err(want)) => {
                    assert_eq!(errs.len(), 1, "{body}: {errs:#?}");
                    assert!(errs[0].starts_with(want), "{body}: {errs:#?}");
                }
                (got, want) => panic!("{body}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn mail_section_errors_are_all_reported() {
        let text = format!(
            "{MINIMAL}\n[imap]\nhost = \"imap.example.org\"\nsecurity = \"plain\"\nport = 70000\nusername = \"foi\"\nauth = \"xoauth2\"\ntoken_file = \"t\"\ntoken_command = \"get-token\"\nmax_message_bytes = 1000\n[imap.folders]\npetition = \"X\"\n[smtp]\nhost = \"smtp.example.org\"\nusername = \"foi\"\npassword_file = \"/no/such/file\"\nsecurity = \"ssl\"\n[acknowledgements]\nper_address_per_day = 0\n"
        );
        let errs = errors(&text);
        let expect = [
            "imap.security: \"plain\" sends credentials in clear",
            "imap.port: 70000 is not a TCP port",
            "imap.auth: xoauth2 needs exactly one of token_file or token_command",
            "imap.folders.petition: unknown key",
            "imap.max_message_bytes: 1000 is out of range (1048576 to 67108864 bytes)",
            "smtp.security: \"ssl\" is not one of",
            "smtp.password_file: cannot read /no/such/file",
            "acknowledgements.per_address_per_day: 0 is out of range",
        ];
        for e in expect {
            assert!(
                errs.iter().any(|x| x.starts_with(e)),
                "missing {e:?} in {errs:#?}"
            );
        }
        assert_eq!(errs.len(), expect.len(), "{errs:#?}");
    }

    #[test]
    fn the_reply_key_file_holds_one_key_a_line_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let one = "abcdefghijklmnopqrstuvwxyz";
        // (file text, keys read, errors, days setting line, days read)
        type Row<'a> = (String, Vec<&'a str>, Vec<&'a str>, &'a str, u32);
        let table: Vec<Row> = vec![
            // Today's file: one secret, maybe with a newline: one key.
            (format!("{one}\n"), vec![one], vec![], "", 30),
            (format!("  {one}  "), vec![one], vec![], "", 30),
            (
                format!("# rotated 2026-05-01\n{one}-new\n\n  {one}  \n"),
                vec!["abcdefghijklmnopqrstuvwxyz-new", one],
                vec![],
                "reply_days_after_close = 0\n",
                0,
            ),
            (
                format!("{one}\nshort\n"),
                vec![one, "short"],
                vec!["workflow.reply_secret_file: line 2: the key is 5 bytes long"],
                "reply_days_after_close = 3650\n",
                3650,
            ),
            (
                "# nothing but a comment\n".into(),
                vec![],
                vec!["workflow.reply_secret_file: the file has no key"],
                "",
                30,
            ),
            (
                one.into(),
                vec![one],
                vec!["workflow.reply_days_after_close: 3651 is out of range"],
                "reply_days_after_close = 3651\n",
                30,
            ),
            (
                one.into(),
                vec![one],
                vec!["workflow.reply_days_after_close: -1 is out of range"],
                "reply_days_after_close = -1\n",
                30,
            ),
        ];
        for (file, keys, want_errs, days_line, days) in table {
            std::fs::write(dir.path().join("secret"), &file).unwrap();
            let text = format!("{MINIMAL}[workflow]\nreply_secret_file = \"secret\"\n{days_line}");
            match Config::from_toml(&text, dir.path()) {
                Ok(c) => {
                    assert!(
                        want_errs.is_empty(),
                        "{file:?}: no error, {want_errs:?} wanted"
                    );
                    let w = c.workflow.expect("a workflow");
                    assert_eq!(w.reply_keys, keys, "{file:?}");
                    assert_eq!(w.reply_days_after_close, days, "{days_line:?}");
                }
                Err(e) => {
                    let errs: Vec<String> = e.errors.iter().map(ToString::to_string).collect();
                    assert_eq!(errs.len(), want_errs.len(), "{file:?}: {errs:#?}");
                    for want in want_errs {
                        assert!(
                            errs.iter().any(|e| e.starts_with(want)),
                            "{want:?} in {errs:#?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn workflow_sections_are_read_and_checked_under_their_key_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secret"), "abcdefghijklmnopqrstuvwxyz").unwrap();
        let ok = format!(
            "{MINIMAL}[workflow]\nreply_secret_file = \"secret\"\n[workflow.chasers]\n\
             window_start = \"07:30\"\nkinds = {{ complaint = {{ before = [] }} }}\n\
             [workflow.digests]\nweekly = true\nweekday = \"fri\"\n\
             [workflow.repeats]\nthreshold = 0.5\n"
        );
        let c = Config::from_toml(&ok, dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let w = c.workflow.unwrap();
        assert_eq!(w.chasers.window_start, LocalTime::hm(7, 30).unwrap());
        assert_eq!(w.chasers.kinds[&Kind::Complaint].before, Some(Vec::new()));
        assert!(w.digests.weekly);
        assert_eq!(w.digests.weekday, chrono::Weekday::Fri);
        assert_eq!(w.repeats.threshold, 0.5);
        assert_eq!(w.routing_file, dir.path().join("routing.toml"));

        let bad = format!(
            "{MINIMAL}[workflow]\nreply_secret_file = \"secret\"\nchasers = 3\n\
             [workflow.digests]\nhour = \"eight\"\n[workflow.repeats]\nwindow_months = 0\n"
        );
        let errs = match Config::from_toml(&bad, dir.path()) {
            Ok(_) => Vec::new(),
            Err(e) => e.errors.iter().map(|e| e.to_string()).collect(),
        };
        let expect = [
            "workflow.chasers: expected a table",
            "workflow.digests: invalid type: string \"eight\", expected u32",
            "workflow.repeats.window_months: 0 is out of range",
        ];
        for e in expect {
            assert!(
                errs.iter().any(|x| x.starts_with(e)),
                "missing {e:?} in {errs:#?}"
            );
        }
        assert_eq!(errs.len(), expect.len(), "{errs:#?}");
    }

    #[test]
    fn shipped_example_config_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("foi-triage.example.toml");
        let c = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.kinds.len(), 7);
    }
}
