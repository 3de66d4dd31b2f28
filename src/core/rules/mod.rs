//! Officer-editable classification rules, compiled once, and an explainable classifier.
//!
//! Information-rights officers keep the rules in plain TOML files (`rules/*.toml`, format in
//! `rules/README.md`). [`RuleSet::load`] reads every file, checks everything and reports *all*
//! problems at once ([`RuleErrors`]); a loaded set is valid by construction and compiled once:
//! per message field, one Aho-Corasick automaton for all its phrases, one `RegexSet` for all its
//! regular expressions and hash tables for exact names (see `compile.rs`), so each field's text is
//! read once whatever the number of rules. [`RuleSet::classify`] is then a pure function from a
//! [`Message`] to a [`Decision`] that names every rule that fired and why the kind won.
//!
//! # How a message is classified
//! 1. Every enabled rule is checked: it *fires* when all its conditions match and none of its
//!    `unless_` conditions does.
//! 2. **auto first.** The weights of the fired `auto` rules are added up. At or above
//!    `auto_threshold` the message is machine mail (`auto`) whatever else fired: an acknowledgement
//!    to a bounce or an out-of-office starts a mail loop. Below it, auto plays no further part; a
//!    single weak hint (a human who writes "out of office" in the body) cannot make a person's
//!    mail go unanswered.
//! 3. The weights of the other kinds are added up per kind (negative weights vote against). The
//!    highest total wins if it reaches `min_score`; ties go to the first in the priority order
//!    sar > eir > foi > complaint > member_enquiry > media > general (statutory kinds first, so a
//!    tie never loses a legal deadline).
//! 4. Otherwise the message is `general` ("no rule fired", or "no kind reached the minimum").
//!
//! # What is scanned
//! Subject, From address and display name, domain, Reply-To address, To/Cc addresses, header
//! values and names, attachment names and types, and the body: at most [`BODY_SCAN_BYTES`] of
//! body text plus the first [`ATTACHMENT_SCAN_BYTES`] of each attachment's extracted text (up to
//! [`TOTAL_ATTACHMENT_SCAN_BYTES`] in all), read part by part and bounded so one huge message
//! cannot stall the pipeline.
//!
//! Body conditions read **the text the sender wrote** ([`crate::core::quote::sender_text`]): quoted
//! history and the signature are old text (the request being answered, our own
//! acknowledgement) and do not vote. Three exceptions:
//! - a delivery or disposition report (`report` flag) and mail from the null sender
//!   (`null-return-path`) are read whole: a machine's report, whose quoted original is evidence
//!   for the auto rules;
//! - a forward (subject `Fwd:`/`FW:`) is read whole: the quoted block is the request passed on;
//! - when the sender's own text decides nothing (no kind reaches `min_score`, auto stays below
//!   its threshold: "please include contractors too" under the request it answers), the whole
//!   body is read as well, for every kind **but auto**: auto rules keep the verdict of the
//!   sender's text, so a quoted out-of-office, bounce or acknowledgement never makes a person's
//!   reply machine mail. The explanation says when this happened.
//!
//! The body is not read at all when the other fields already make the message machine mail for
//! certain: the fired auto rules that do not read the body, plus the negative weight of every
//! auto rule that does, reach `auto_threshold` (a newsletter with `List-Id` and
//! `Precedence: bulk`, a bounce with `Auto-Submitted`). No body could change that decision; the
//! explanation says the body was not read, and body rules are not listed as fired.
//!
//! # Speed
//! Measured on the shared 2-core build machine (loaded by other jobs) with the default rules
//! (76 rules, ~550 body patterns), release build, best of 60 rounds per message. Classify alone:
//! 7 µs for a 35 KB media enquiry (short text, the rest an image), 4 µs for an HTML newsletter
//! (auto from its headers; 46 µs before the body was skipped), 8 µs and 11 µs for Gmail and
//! Outlook replies with 10–40 KB of history (39 and 56 µs when the history was scanned), 57 µs
//! for a 7 KB pasted list of 45 questions. A body costs about 6.5 ns per byte of the sender's
//! text: Aho-Corasick over the normalised text ~2.6 ns, the body `RegexSet` ~1.9 ns, normalising
//! ~0.7 ns, finding the sender's text ~0.3 ns. Parsing (mail-parser's quoted-printable and
//! base64 decoders, SHA-256) now costs far more than classifying for 5–50 KB mail: see
//! `benches/triage.rs`. With the issue 10 rules (141 rules; best round, same machine) parse +
//! classify went from 19.5 to 24 µs per message over the 318 samples without attachments and
//! from 100 to 103 µs over the typical 5–50 KB mix. Bounded gaps such as `[^.\n]{0,80}` in body
//! regexes are expensive (each bound is that many lazy-DFA states, multiplied across the set):
//! replacing them with `[^.\n]*` (up to the end of the sentence) halved classify time over the
//! samples in one measurement. Prefer the unbounded gap or a fixed phrase.
//!
//! # What this module does not do
//! It does not read mail, decide validity, or route: it only says which kind a message is and why.

mod compile;
mod error;
mod expect;
mod file;

#[cfg(test)]
mod acceptance;
#[cfg(test)]
mod tests;

pub use error::{RuleError, RuleErrors};
pub use expect::{Expectation, ExpectationError, load_expectations};
pub use file::{FLAGS, MAX_ABS_WEIGHT, MAX_SETTING};

use crate::core::quote;
use crate::core::text::prefix;
use crate::model::kind::Kind;
use crate::model::message::Message;
use compile::{Builder, Origin, Pattern, Scratch, Targets, field_index};
use file::{Field, RawCondition, RawList, RawPattern, RawRule, RawSetting};
use serde::Serialize;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

/// Default `auto_threshold`: the auto score at which a message is machine mail. One strong signal
/// (an `Auto-Submitted` header, a delivery report) carries 100 in the default rules; weak hints
/// carry 30 to 60, so it takes two of them.
pub const DEFAULT_AUTO_THRESHOLD: i32 = 100;

/// Default `min_score`: the total a kind needs to win. Below it a message is `general`, so a lone
/// weak hint ("please" and nothing else) does not open a statutory case.
pub const DEFAULT_MIN_SCORE: i32 = 30;

/// Bytes of body text scanned, from the start (16 KiB, about four pages of prose). Requests are
/// 0.5–5 KiB and state what they want at the top; what follows in a long message is quoted
/// history and disclaimers. Scanning costs about 8 ns a byte with the default rules (measured on
/// the shared build machine), so this bounds the body's share near 0.13 ms.
pub const BODY_SCAN_BYTES: usize = 16 * 1024;

/// Bytes of the body read when looking for the sender's own text among quoted history (64 KiB):
/// in an inline reply the sender's answers sit between quotes, so they can start well past
/// [`BODY_SCAN_BYTES`]. Splitting lines costs well under 1 ns a byte, so this bounds that work
/// near 0.05 ms; what is kept is then cut to [`BODY_SCAN_BYTES`].
pub const QUOTE_SCAN_BYTES: usize = 64 * 1024;

/// Bytes of each attachment's extracted text scanned (8 KiB): the first two pages of a letter,
/// where the request is.
pub const ATTACHMENT_SCAN_BYTES: usize = 8 * 1024;

/// Bytes of attachment text scanned over all attachments (16 KiB), so fifty attachments cost no
/// more than two.
pub const TOTAL_ATTACHMENT_SCAN_BYTES: usize = 16 * 1024;

/// Marks a condition slot that did not match.
const NO_HIT: u32 = u32::MAX;

/// The numbers officers can set in a `[settings]` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RuleSettings {
    /// Auto score at or above which a message is `auto` ([`DEFAULT_AUTO_THRESHOLD`]).
    pub auto_threshold: i32,
    /// Total a kind needs to win ([`DEFAULT_MIN_SCORE`]).
    pub min_score: i32,
}

impl Default for RuleSettings {
    fn default() -> Self {
        RuleSettings {
            auto_threshold: DEFAULT_AUTO_THRESHOLD,
            min_score: DEFAULT_MIN_SCORE,
        }
    }
}

/// One condition of a rule, as written, for `rules check` and explanations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConditionInfo {
    /// The key as written: `subject`, `unless_body_regex`, `headers.auto-submitted`.
    pub field: String,
    /// An `unless_` condition (blocks the rule when it matches).
    pub unless: bool,
    /// The officer's strings, in file order, with `{ list = "name" }` references expanded.
    pub patterns: Vec<PatternInfo>,
}

/// One string of a condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PatternInfo {
    /// The phrase, regex, domain, header name or flag as written.
    pub text: String,
    /// The `[lists]` list it comes from, when the condition used `{ list = "name" }`.
    pub list: Option<String>,
}

/// What a rule is, where it is written, and its conditions: the metadata `rules check` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleInfo {
    /// Unique id across all files.
    pub id: String,
    /// The kind the rule votes for (or against, with a negative weight).
    pub kind: Kind,
    /// Points added to the kind's total when the rule fires.
    pub weight: i32,
    /// Plain-English description, shown in explanations.
    pub description: String,
    /// The file it is in.
    pub file: String,
    /// 1-based line of its `[[rule]]` header.
    pub line: usize,
    /// `false` when the officer switched it off with `enabled = false`.
    pub enabled: bool,
    /// Its conditions, in file order.
    pub conditions: Vec<ConditionInfo>,
}

/// One condition that matched, for the explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MatchedCondition {
    /// The key: `subject`, `headers.auto-submitted`…
    pub field: String,
    /// The officer's string that matched (the first in the list when several did). This is rule
    /// text, not message text, so explanations never copy personal data out of a message.
    pub pattern: String,
    /// The `[lists]` list the string comes from, if any.
    pub list: Option<String>,
}

/// A rule that fired on a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FiredRule {
    /// The rule's id.
    pub id: String,
    /// The kind it votes for.
    pub kind: Kind,
    /// Its weight.
    pub weight: i32,
    /// Its description.
    pub description: String,
    /// Which of its conditions matched, and on what.
    pub matched: Vec<MatchedCondition>,
}

/// The outcome of classifying one message, with everything needed to explain it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// The kind decided.
    pub kind: Kind,
    /// Every rule that fired: auto first, then by kind priority, then by weight (highest first).
    pub fired: Vec<FiredRule>,
    /// Total per kind that had a rule fire, highest first (ties in priority order).
    pub scores: Vec<(Kind, i32)>,
    /// One or two sentences saying why, e.g. "foi won with 80 (foi.act-named 50,
    /// foi.please-provide 30) over complaint 20; auto scored 0 below threshold 100."
    pub why: String,
}

impl Decision {
    /// The total for `kind` (0 when none of its rules fired).
    pub fn score(&self, kind: Kind) -> i32 {
        self.scores
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(0, |(_, s)| *s)
    }

    /// Whether the rule with this id fired.
    pub fn fired(&self, id: &str) -> bool {
        self.fired.iter().any(|f| f.id == id)
    }
}

/// An enabled rule, ready to evaluate.
#[derive(Debug, Clone)]
struct CompiledRule {
    /// Index into `RuleSet::rules`.
    info: usize,
    kind: Kind,
    weight: i32,
    /// First condition slot; the rule has `info.conditions.len()` consecutive slots.
    first_slot: usize,
    /// Some condition reads the body (or attachment text), so the rule is undecided until the
    /// body is scanned (see [`RuleSet::auto_certain`]).
    reads_body: bool,
}

/// A loaded, checked and compiled rule set. Cheap to share (`Arc`) and immutable.
#[derive(Debug, Clone)]
pub struct RuleSet {
    settings: RuleSettings,
    files: Vec<String>,
    rules: Vec<RuleInfo>,
    compiled: Vec<CompiledRule>,
    slot_count: usize,
    targets: Targets,
    warnings: Vec<RuleError>,
}

/// Priority of a kind for tie-breaks: its position in [`Kind::ALL`] (auto, sar, eir, foi,
/// complaint, member_enquiry, media, general).
fn priority(kind: Kind) -> usize {
    Kind::ALL
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(Kind::ALL.len())
}

/// The list of the organisation's own mail domains in the rule files, which the config's own
/// domains join ([`RuleSet::load_for`]).
pub const OWN_DOMAINS_LIST: &str = "own_domains";

/// The list of patterns for the organisation's own name in the rule files, which the config's
/// organisation name joins ([`RuleSet::load_for`]).
pub const OWN_NAMES_LIST: &str = "own_name_patterns";

/// The organisation as the config describes it, for the rules' own lists.
#[derive(Debug, Clone, Default)]
pub struct Own {
    /// Its mail domains (`[intake] staff_domains`, or the shared mailbox's domain).
    pub domains: Vec<String>,
    /// Its names as written (`[organisation] name`).
    pub names: Vec<String>,
}

impl Own {
    /// The organisation a validated config describes.
    pub fn of(config: &crate::config::Config) -> Own {
        Own {
            domains: config.own_domains(),
            names: vec![config.organisation.clone()],
        }
    }
}

/// A case-insensitive pattern for an organisation's name as a display name writes it: its words
/// in order, whatever the spacing. `None` for a blank name.
fn name_pattern(name: &str) -> Option<String> {
    let name = name.trim();
    let edge = |c: Option<char>| {
        if c.is_some_and(char::is_alphanumeric) {
            r"\b"
        } else {
            ""
        }
    };
    let words: Vec<String> = name.split_whitespace().map(regex::escape).collect();
    (!words.is_empty()).then(|| {
        let (start, end) = (edge(name.chars().next()), edge(name.chars().last()));
        format!("{start}{}{end}", words.join(r"\s+"))
    })
}

impl RuleSet {
    /// Load every `*.toml` file in `dir` (sorted by name; other files such as `README.md`, names
    /// starting with `.` and subdirectories are ignored), check and compile them.
    ///
    /// # Errors
    /// Every problem found, in all files at once: unreadable directory or files, no rule files,
    /// TOML syntax, unknown keys, unknown kinds, bad weights, duplicate ids, rules without
    /// conditions, bad patterns, and a rule set that could never detect machine mail.
    pub fn load(dir: &Path) -> Result<RuleSet, RuleErrors> {
        Self::load_for(dir, &Own::default())
    }

    /// [`RuleSet::load`] for an organisation the config describes ([`Own`]): its mail domains
    /// join the rules' list `own_domains` and its name joins `own_name_patterns`, so the rules
    /// that tell a colleague's mail or an impersonation of us apart see the same organisation as
    /// the rest of the daemon, whatever the rule files were shipped with.
    ///
    /// # Errors
    /// As [`RuleSet::load`].
    pub fn load_for(dir: &Path, own: &Own) -> Result<RuleSet, RuleErrors> {
        let shown = dir.display().to_string();
        let entries = std::fs::read_dir(dir).map_err(|e| RuleErrors {
            errors: vec![RuleError::file(
                &shown,
                None,
                format!("cannot read the rules directory: {e}"),
            )],
        })?;
        let mut names = Vec::new();
        let mut errors = Vec::new();
        for entry in entries {
            match entry {
                Ok(entry) => {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    let is_file = entry.file_type().map(|t| !t.is_dir()).unwrap_or(false);
                    if is_file && name.ends_with(".toml") && !name.starts_with('.') {
                        names.push(name);
                    }
                }
                Err(e) => errors.push(RuleError::file(
                    &shown,
                    None,
                    format!("cannot list the rules directory: {e}"),
                )),
            }
        }
        names.sort();
        let mut sources = Vec::new();
        for name in names {
            let path = dir.join(&name);
            let shown = path.display().to_string();
            match std::fs::read(&path) {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(text) => sources.push((shown, text)),
                    Err(_) => errors.push(RuleError::file(
                        &shown,
                        None,
                        "the file is not UTF-8 text; save it as UTF-8",
                    )),
                },
                Err(e) => errors.push(RuleError::file(
                    &shown,
                    None,
                    format!("cannot read the file: {e}"),
                )),
            }
        }
        if sources.is_empty() && errors.is_empty() {
            errors.push(RuleError::file(
                &shown,
                None,
                "no rule files (*.toml) in this directory",
            ));
        }
        match Self::build(&sources, own) {
            Ok(set) if errors.is_empty() => Ok(set),
            Ok(_) => Err(RuleErrors { errors }),
            Err(mut e) => {
                errors.append(&mut e.errors);
                Err(RuleErrors { errors })
            }
        }
    }

    /// The rules built into the binary (`rules/*.toml` as shipped, [`crate::config::builtin`]),
    /// compiled as [`RuleSet::load_for`] compiles a directory, each file named `(built-in)/NAME`.
    ///
    /// # Errors
    /// As [`RuleSet::from_sources`]; the build's own tests make sure there are none.
    pub fn built_in(own: &Own) -> Result<RuleSet, RuleErrors> {
        use crate::config::builtin;
        let sources: Vec<(String, &str)> = builtin::RULES
            .iter()
            .map(|(name, text)| (format!("{}/{name}", builtin::LABEL), *text))
            .collect();
        Self::build(&sources, own)
    }

    /// The rules a config names: its `rules_dir` when it has one ([`RuleSet::load_for`]; a
    /// missing directory is an error, never a fallback), else the built-in set
    /// ([`RuleSet::built_in`]).
    ///
    /// # Errors
    /// As [`RuleSet::load_for`].
    pub fn load_configured(dir: Option<&Path>, own: &Own) -> Result<RuleSet, RuleErrors> {
        match dir {
            Some(dir) => Self::load_for(dir, own),
            None => Self::built_in(own),
        }
    }

    /// Build a rule set from `(file name, TOML text)` pairs, in the order given. For tests and for
    /// `load`.
    ///
    /// # Errors
    /// As [`RuleSet::load`], except for the file system ones.
    pub fn from_sources<N: AsRef<str>, T: AsRef<str>>(
        sources: &[(N, T)],
    ) -> Result<RuleSet, RuleErrors> {
        Self::build(sources, &Own::default())
    }

    /// [`RuleSet::from_sources`] with the organisation's own domains and name added to its
    /// lists (see [`RuleSet::load_for`]).
    fn build<N: AsRef<str>, T: AsRef<str>>(
        sources: &[(N, T)],
        own: &Own,
    ) -> Result<RuleSet, RuleErrors> {
        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        let mut gathered = Gathered::from_sources(sources, &mut errors, &mut warnings);
        let names: Vec<String> = own.names.iter().filter_map(|n| name_pattern(n)).collect();
        for (list_name, extra) in [
            (OWN_DOMAINS_LIST, own.domains.as_slice()),
            (OWN_NAMES_LIST, names.as_slice()),
        ] {
            let Some((_, list)) = gathered.lists.get_mut(list_name) else {
                continue;
            };
            for item in extra {
                if !list.items.iter().any(|(i, _)| i.eq_ignore_ascii_case(item)) {
                    list.items.push((item.clone(), list.line));
                }
            }
        }
        check_unique_ids(&gathered.raw_rules, &mut errors);
        let compiled = Compiled::from_rules(&gathered.raw_rules, &gathered.lists, &mut errors);
        warn_unused_lists(&gathered.lists, &compiled.used_lists, &mut warnings);
        dedupe(&mut errors);

        let Gathered {
            files,
            raw_rules,
            settings,
            setting_origin,
            ..
        } = gathered;
        if errors.is_empty() {
            // Only on an otherwise clean set: a broken auto rule would also show up here as
            // "auto rules add up to 0", a confusing echo of the real problem.
            check_kinds(
                &raw_rules,
                settings,
                &setting_origin,
                &mut errors,
                &mut warnings,
            );
        }

        if !errors.is_empty() {
            sort_problems(&mut errors);
            return Err(RuleErrors { errors });
        }
        let targets = compiled.builder.build(&mut errors);
        if !errors.is_empty() {
            return Err(RuleErrors { errors });
        }
        sort_problems(&mut warnings);
        Ok(RuleSet {
            settings,
            files,
            rules: compiled.rules,
            compiled: compiled.compiled,
            slot_count: compiled.slot_count,
            targets,
            warnings,
        })
    }

    /// Number of rules loaded, enabled or not.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Number of rules that take part in classification (`enabled` is not `false`).
    pub fn enabled_count(&self) -> usize {
        self.compiled.len()
    }

    /// The rule files, in load order.
    pub fn files(&self) -> &[String] {
        &self.files
    }

    /// Every rule's metadata, in load order (file by file, top to bottom).
    pub fn rules(&self) -> &[RuleInfo] {
        &self.rules
    }

    /// The rule with this id, if any (for `rules test` to tell "did not fire" from "no such rule").
    pub fn rule(&self, id: &str) -> Option<&RuleInfo> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// The thresholds in force (from `[settings]`, else the defaults).
    pub fn settings(&self) -> RuleSettings {
        self.settings
    }

    /// Problems that did not stop loading but deserve a look (a kind no rule can pick, an empty
    /// file…). `rules check` prints them.
    pub fn warnings(&self) -> &[RuleError] {
        &self.warnings
    }

    /// Classify one message. Pure, never panics, bounded in time (see the module doc).
    pub fn classify(&self, msg: &Message) -> Decision {
        self.classify_with(msg, &[])
    }

    /// [`RuleSet::classify`] with flags known only to the caller, such as `dmarc-fail` from the
    /// trusted gateway's verdict ([`crate::core::auth::Authenticity::rule_flags`]): the message
    /// alone cannot say which `Authentication-Results` header to believe.
    pub fn classify_with(&self, msg: &Message, extra_flags: &[&'static str]) -> Decision {
        let mut msg_flags = flags(msg);
        msg_flags.extend_from_slice(extra_flags);
        let mut hits = vec![NO_HIT; self.slot_count];
        // Buffers for the normalised text of every field, so a message allocates them once.
        let mut scratch = Scratch::default();
        self.scan_fields(msg, &msg_flags, &mut scratch, &mut hits);
        if self.auto_certain(&hits) {
            // Headers, sender and flags alone put auto at its threshold whatever the body says
            // (even if every body rule against auto fired): machine mail, so the body is not
            // read. A newsletter or a bounce costs a few microseconds instead of a full scan.
            let (fired, scores) = self.tally(&hits, &hits);
            return self.decision(
                fired,
                scores,
                Some(
                    " The body was not read: the other fields make it machine mail whatever \
                     the body says.",
                ),
            );
        }
        let whole = prefix(prefix(&msg.body_text, QUOTE_SCAN_BYTES), BODY_SCAN_BYTES);
        let body = body_to_scan(msg, &msg_flags);
        self.scan_body(msg, &body, &mut scratch, &mut hits);
        let (fired, scores) = self.tally(&hits, &hits);
        if *body == *whole || self.decided(&scores) {
            return self.decision(fired, scores, None);
        }
        // The sender's own words decided nothing ("please include contractors too" under the
        // request it answers): let the quoted history say what the thread is about. Auto rules
        // keep the verdict of the sender's text alone, so a quoted out-of-office, bounce or
        // acknowledgement of ours never makes a person's reply machine mail.
        let mut with_history = hits.clone();
        if let Some(t) = field_index(Field::Body).and_then(|i| self.targets.fields.get(i)?.as_ref())
        {
            t.scan(whole, &mut scratch, &mut with_history);
        }
        let (fired, scores) = self.tally(&hits, &with_history);
        self.decision(
            fired,
            scores,
            Some(
                " The sender's own text decided nothing, so the quoted history was read too \
                 (auto rules excepted).",
            ),
        )
    }

    /// Whether auto reaches its threshold before the body is read, for certain: the rules that
    /// do not read the body and fired, plus every negative weight of an auto rule that reads the
    /// body (it might fire), and nothing from positive ones (they might not).
    fn auto_certain(&self, hits: &[u32]) -> bool {
        let mut worst = 0i32;
        for r in self.compiled.iter().filter(|r| r.kind == Kind::Auto) {
            if r.reads_body {
                worst = worst.saturating_add(r.weight.min(0));
            } else if self.fires(r, hits) {
                worst = worst.saturating_add(r.weight);
            }
        }
        worst >= self.settings.auto_threshold
    }

    /// Whether rule `r` fires given the matched slots `hits`.
    fn fires(&self, r: &CompiledRule, hits: &[u32]) -> bool {
        let Some(info) = self.rules.get(r.info) else {
            return false;
        };
        let slots = hits
            .get(r.first_slot..r.first_slot + info.conditions.len())
            .unwrap_or(&[]);
        slots.len() == info.conditions.len()
            && info
                .conditions
                .iter()
                .zip(slots)
                .all(|(c, h)| (*h == NO_HIT) == c.unless)
    }

    /// Whether `scores` decide a kind on their own: auto at its threshold, or another kind at
    /// the minimum score. Otherwise the message would be `general` by default.
    fn decided(&self, scores: &[(Kind, i32)]) -> bool {
        scores.iter().any(|(k, s)| {
            if *k == Kind::Auto {
                *s >= self.settings.auto_threshold
            } else {
                *s >= self.settings.min_score
            }
        })
    }

    /// The rules that fire given the matched slots (`auto_hits` for auto rules, `hits` for the
    /// others), sorted for the explanation, and the total per kind.
    fn tally(&self, auto_hits: &[u32], hits: &[u32]) -> (Vec<FiredRule>, Vec<(Kind, i32)>) {
        let mut fired = Vec::new();
        let mut totals = [0i32; Kind::ALL.len()];
        let mut any = [false; Kind::ALL.len()];
        for r in &self.compiled {
            let Some(info) = self.rules.get(r.info) else {
                continue;
            };
            let hits = if r.kind == Kind::Auto {
                auto_hits
            } else {
                hits
            };
            let slots = hits
                .get(r.first_slot..r.first_slot + info.conditions.len())
                .unwrap_or(&[]);
            let fires = slots.len() == info.conditions.len()
                && info
                    .conditions
                    .iter()
                    .zip(slots)
                    .all(|(c, h)| (*h == NO_HIT) == c.unless);
            if !fires {
                continue;
            }
            let p = priority(r.kind);
            if let (Some(t), Some(a)) = (totals.get_mut(p), any.get_mut(p)) {
                *t = t.saturating_add(r.weight);
                *a = true;
            }
            let matched = info
                .conditions
                .iter()
                .zip(slots)
                .filter(|(c, _)| !c.unless)
                .map(|(c, h)| {
                    let p = c.patterns.get(*h as usize);
                    MatchedCondition {
                        field: c.field.clone(),
                        pattern: p.map(|p| p.text.clone()).unwrap_or_default(),
                        list: p.and_then(|p| p.list.clone()),
                    }
                })
                .collect();
            fired.push(FiredRule {
                id: info.id.clone(),
                kind: r.kind,
                weight: r.weight,
                description: info.description.clone(),
                matched,
            });
        }
        fired.sort_by(|a, b| {
            priority(a.kind)
                .cmp(&priority(b.kind))
                .then(b.weight.cmp(&a.weight))
                .then(a.id.cmp(&b.id))
        });

        let mut scores: Vec<(Kind, i32)> = Kind::ALL
            .iter()
            .zip(totals.iter().zip(any.iter()))
            .filter(|(_, (_, a))| **a)
            .map(|(k, (t, _))| (*k, *t))
            .collect();
        // Stable sort on the score alone keeps Kind::ALL (priority) order among equals.
        scores.sort_by_key(|s| std::cmp::Reverse(s.1));

        (fired, scores)
    }

    /// The decision for these fired rules and totals, with `note` appended to the explanation.
    fn decision(
        &self,
        fired: Vec<FiredRule>,
        scores: Vec<(Kind, i32)>,
        note: Option<&str>,
    ) -> Decision {
        let (kind, mut why) = self.decide(&fired, &scores);
        if let Some(note) = note {
            why.push_str(note);
        }
        Decision {
            kind,
            fired,
            scores,
            why,
        }
    }

    /// Apply the thresholds and write the explanation.
    fn decide(&self, fired: &[FiredRule], scores: &[(Kind, i32)]) -> (Kind, String) {
        let RuleSettings {
            auto_threshold,
            min_score,
        } = self.settings;
        if fired.is_empty() {
            return (Kind::General, "general: no rule fired.".to_string());
        }
        let auto = scores
            .iter()
            .find(|(k, _)| *k == Kind::Auto)
            .map(|(_, s)| *s);
        if let Some(a) = auto
            && a >= auto_threshold
        {
            return (
                Kind::Auto,
                format!(
                    "auto scored {a}, at or above the threshold {auto_threshold} ({}): machine \
                     mail, never acknowledged.",
                    contributions(fired, Kind::Auto)
                ),
            );
        }
        let auto_part = match auto {
            Some(a) => format!(
                "auto scored {a} below threshold {auto_threshold} ({})",
                contributions(fired, Kind::Auto)
            ),
            None => format!("auto scored 0 below threshold {auto_threshold}"),
        };
        // `scores` is sorted by total, then priority: the first non-auto entry is the best.
        let mut others = scores.iter().filter(|(k, _)| *k != Kind::Auto);
        let Some(&(best, best_score)) = others.next() else {
            return (
                Kind::General,
                format!("general: no rule for a kind of request fired; {auto_part}."),
            );
        };
        if best_score < min_score {
            return (
                Kind::General,
                format!(
                    "general: no kind reached the minimum score {min_score} (best: {best} \
                     {best_score}: {}); {auto_part}.",
                    contributions(fired, best)
                ),
            );
        }
        let mut why = format!(
            "{best} won with {best_score} ({})",
            contributions(fired, best)
        );
        if let Some(&(second, second_score)) = others.next() {
            let _ = write!(why, " over {second} {second_score}");
            if second_score == best_score {
                why.push_str(
                    ", a tie broken by priority (sar > eir > foi > complaint > member_enquiry > \
                     media > general)",
                );
            }
        }
        let _ = write!(why, "; {auto_part}.");
        (best, why)
    }

    /// Run every field of `msg` through its matchers, marking matched slots in `hits`.
    /// Run the body text `body` (see [`body_to_scan`]) and the attachments' text through the
    /// body matchers, marking matched slots in `hits`. The costly part of a classification: it
    /// is skipped when the other fields already make the message machine mail.
    fn scan_body(&self, msg: &Message, body: &str, s: &mut Scratch, hits: &mut [u32]) {
        let Some(t) = field_index(Field::Body).and_then(|i| self.targets.fields.get(i)?.as_ref())
        else {
            return;
        };
        t.scan(body, s, hits);
        let mut budget = TOTAL_ATTACHMENT_SCAN_BYTES;
        for a in &msg.attachments {
            let Some(text) = a.text.as_deref() else {
                continue;
            };
            if budget == 0 {
                break;
            }
            let part = prefix(text, ATTACHMENT_SCAN_BYTES.min(budget));
            budget -= part.len();
            t.scan(part, s, hits);
        }
    }

    /// Run every field of `msg` except the body and attachment text through its matchers,
    /// marking matched slots in `hits`. `msg_flags` are [`flags`] of `msg`.
    fn scan_fields(
        &self,
        msg: &Message,
        msg_flags: &[&'static str],
        s: &mut Scratch,
        hits: &mut [u32],
    ) {
        let field = |f: Field| field_index(f).and_then(|i| self.targets.fields.get(i)?.as_ref());

        if let Some(t) = field(Field::Subject) {
            t.scan(&msg.subject, s, hits);
        }
        let from = msg.from.as_ref().filter(|a| !a.email.is_empty());
        if let Some(from) = from {
            if let Some(t) = field(Field::Sender) {
                t.scan(&from.email, s, hits);
            }
            if let (Some(t), Some((_, domain))) =
                (field(Field::SenderDomain), from.email.rsplit_once('@'))
            {
                t.scan(domain, s, hits);
            }
        }
        if let (Some(t), Some(rt)) = (
            field(Field::ReplyTo),
            msg.reply_to.as_ref().filter(|a| !a.email.is_empty()),
        ) {
            t.scan(&rt.email, s, hits);
        }
        if let (Some(t), Some(name)) = (
            field(Field::SenderName),
            msg.from.as_ref().and_then(|a| a.name.as_deref()),
        ) {
            t.scan(name, s, hits);
        }
        if let Some(t) = field(Field::Recipient) {
            for a in msg.to.iter().chain(&msg.cc) {
                if !a.email.is_empty() {
                    t.scan(&a.email, s, hits);
                }
            }
        }
        if let Some(t) = field(Field::AttachmentName) {
            for name in msg.attachments.iter().filter_map(|a| a.name.as_deref()) {
                t.scan(name, s, hits);
            }
        }
        if let Some(t) = field(Field::AttachmentType) {
            for a in &msg.attachments {
                t.scan(&a.mime_type, s, hits);
            }
        }
        let names = field(Field::HeaderNames);
        if names.is_some() || !self.targets.headers.is_empty() {
            each_header(msg, |name, value| {
                if let Some(t) = names {
                    t.scan(name, s, hits);
                }
                if let Some(t) = self.targets.headers.get(name) {
                    t.scan(value, s, hits);
                }
            });
        }
        if let Some(t) = field(Field::Flags) {
            for flag in msg_flags {
                t.scan(flag, s, hits);
            }
        }
    }
}

/// "foi.act-named 50, foi.env -40" for the fired rules of `kind`.
fn contributions(fired: &[FiredRule], kind: Kind) -> String {
    let mut s = String::new();
    for f in fired.iter().filter(|f| f.kind == kind) {
        if !s.is_empty() {
            s.push_str(", ");
        }
        let _ = write!(s, "{} {}", f.id, f.weight);
    }
    s
}

/// The body text that body conditions read, at most [`BODY_SCAN_BYTES`]:
/// - normally only what the sender wrote ([`quote::sender_text`] over the first
///   [`QUOTE_SCAN_BYTES`]): quoted history and signatures are old text (our own acknowledgement,
///   the request being answered) and must not vote;
/// - the whole body for a delivery or disposition report (`report` flag) and for mail from the
///   null sender (`null-return-path`, bounces and their kin): that text is a machine's report,
///   and the quoted original it carries is part of the evidence the auto rules read;
/// - the whole body for a forward (subject `Fwd:`/`FW:`): the quoted block is the request a
///   colleague passes on, not history.
fn body_to_scan<'m>(msg: &'m Message, msg_flags: &[&str]) -> Cow<'m, str> {
    let body = prefix(&msg.body_text, QUOTE_SCAN_BYTES);
    let whole = msg_flags
        .iter()
        .any(|f| matches!(*f, "report" | "null-return-path"))
        || quote::is_forward_subject(&msg.subject);
    if whole {
        return Cow::Borrowed(prefix(body, BODY_SCAN_BYTES));
    }
    match quote::sender_text(body) {
        Cow::Borrowed(own) => Cow::Borrowed(prefix(own, BODY_SCAN_BYTES)),
        Cow::Owned(mut own) => {
            let keep = prefix(&own, BODY_SCAN_BYTES).len();
            own.truncate(keep);
            Cow::Owned(own)
        }
    }
}

/// The headers `MachineHeaders` summarises, with the header name rules use for each.
const MACHINE_HEADER_NAMES: [&str; 8] = [
    "auto-submitted",
    "precedence",
    "list-id",
    "list-unsubscribe",
    "x-autoreply",
    "x-auto-response-suppress",
    "return-path",
    "content-type",
];

/// Call `f(lower-case name, value)` for every header: the message's header list, plus any
/// machine header that `parse` summarised in [`crate::model::message::MachineHeaders`] but that is not in
/// the list (so rules on `auto-submitted` work whichever way the message was built).
fn each_header(msg: &Message, mut f: impl FnMut(&str, &str)) {
    let mut seen = [false; MACHINE_HEADER_NAMES.len()];
    let mut lower = String::new();
    for (name, value) in &msg.headers {
        let name: &str = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            lower.clear();
            lower.push_str(name);
            lower.make_ascii_lowercase();
            &lower
        } else {
            name
        };
        if let Some(i) = MACHINE_HEADER_NAMES.iter().position(|n| *n == name)
            && let Some(s) = seen.get_mut(i)
        {
            *s = true;
        }
        f(name, value);
    }
    let m = &msg.machine;
    let return_path = m.return_path.as_deref().map(|r| format!("<{r}>"));
    let values: [Option<&str>; MACHINE_HEADER_NAMES.len()] = [
        m.auto_submitted.as_deref(),
        m.precedence.as_deref(),
        m.list_id.as_deref(),
        m.list_unsubscribe.as_deref(),
        m.x_autoreply.as_deref(),
        m.x_auto_response_suppress.as_deref(),
        return_path.as_deref(),
        m.is_report.then_some("multipart/report"),
    ];
    for ((name, value), seen) in MACHINE_HEADER_NAMES.iter().zip(values).zip(seen) {
        if let (Some(v), false) = (value, seen) {
            f(name, v);
        }
    }
}

/// The [`FLAGS`] that hold for `msg`.
fn flags(msg: &Message) -> Vec<&'static str> {
    let mut out = Vec::new();
    let header_starts = |name: &str, prefix: &str| {
        msg.header(name).is_some_and(|v| {
            v.trim_start()
                .get(..prefix.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
        })
    };
    if msg.machine.is_report || header_starts("content-type", "multipart/report") {
        out.push("report");
    }
    let null_rp = match msg.machine.return_path.as_deref() {
        Some(rp) => rp.trim().is_empty() || rp.trim() == "<>",
        None => msg
            .header("return-path")
            .is_some_and(|v| matches!(v.trim(), "" | "<>" | "< >")),
    };
    if null_rp {
        out.push("null-return-path");
    }
    let from = msg.from.as_ref().map(|a| a.email.trim()).unwrap_or("");
    if let Some(rt) = msg.reply_to.as_ref().map(|a| a.email.trim())
        && !rt.is_empty()
        && !rt.eq_ignore_ascii_case(from)
    {
        out.push("reply-to-differs");
    }
    if !msg.attachments.is_empty() {
        out.push("has-attachments");
    }
    if !msg.in_reply_to.is_empty() || !msg.references.is_empty() {
        out.push("reply");
    }
    if !from.contains('@') {
        out.push("no-sender");
    }
    out
}

// ---- building a rule set from its files --------------------------------------------------------

/// What the files hold, merged across files before anything is compiled, so that duplicates can
/// be reported against the first place they appear.
struct Gathered {
    files: Vec<String>,
    raw_rules: Vec<(String, RawRule)>,
    /// By name: the file that defines the list, and the list.
    lists: HashMap<String, (String, RawList)>,
    settings: RuleSettings,
    /// Where each setting was set (file, line), for "set twice" and for `check_kinds`.
    setting_origin: HashMap<&'static str, (String, usize)>,
}

impl Gathered {
    fn from_sources<N: AsRef<str>, T: AsRef<str>>(
        sources: &[(N, T)],
        errors: &mut Vec<RuleError>,
        warnings: &mut Vec<RuleError>,
    ) -> Gathered {
        let mut g = Gathered {
            files: Vec::new(),
            raw_rules: Vec::new(),
            lists: HashMap::new(),
            settings: RuleSettings::default(),
            setting_origin: HashMap::new(),
        };
        for (name, text) in sources {
            let name = name.as_ref();
            g.files.push(name.to_string());
            let parsed = file::parse_file(name, text.as_ref(), errors, warnings);
            for s in parsed.settings {
                g.add_setting(name, s, errors);
            }
            for l in parsed.lists {
                g.add_list(name, l, errors);
            }
            g.raw_rules
                .extend(parsed.rules.into_iter().map(|r| (name.to_string(), r)));
        }
        if sources.is_empty() {
            errors.push(RuleError::file("(no files)", None, "no rule files given"));
        }
        g
    }

    fn add_setting(&mut self, file: &str, s: RawSetting, errors: &mut Vec<RuleError>) {
        if let Some((f, l)) = self.setting_origin.get(s.key) {
            errors.push(RuleError {
                file: file.to_string(),
                line: Some(s.line),
                rule_id: None,
                field: Some(format!("settings.{}", s.key)),
                message: format!(
                    "set twice; it is already set in {f}:{l} (keep one, so there is one \
                     place to look)"
                ),
            });
            return;
        }
        self.setting_origin
            .insert(s.key, (file.to_string(), s.line));
        match s.key {
            "auto_threshold" => self.settings.auto_threshold = s.value,
            _ => self.settings.min_score = s.value,
        }
    }

    fn add_list(&mut self, file: &str, l: RawList, errors: &mut Vec<RuleError>) {
        if let Some((f, first)) = self.lists.get(&l.name) {
            errors.push(RuleError {
                file: file.to_string(),
                line: Some(l.line),
                rule_id: None,
                field: Some(format!("lists.{}", l.name)),
                message: format!(
                    "a list with this name is already defined in {f}:{}",
                    first.line
                ),
            });
            return;
        }
        self.lists.insert(l.name.clone(), (file.to_string(), l));
    }
}

/// Ids are unique across all files, disabled rules included (an id names one rule forever in the
/// audit trail).
fn check_unique_ids(raw_rules: &[(String, RawRule)], errors: &mut Vec<RuleError>) {
    let mut seen: HashMap<String, (String, usize)> = HashMap::new();
    for (f, r) in raw_rules {
        if let Some((f0, l0)) = seen.get(&r.id) {
            errors.push(RuleError {
                file: f.clone(),
                line: Some(r.line),
                rule_id: Some(r.id.clone()),
                field: Some("id".into()),
                message: format!("duplicate id; it is already used in {f0}:{l0}"),
            });
        } else {
            seen.insert(r.id.clone(), (f.clone(), r.line));
        }
    }
}

/// Every rule with its list references expanded: the description of each for explanations, and
/// the enabled ones' conditions as matcher slots.
struct Compiled {
    rules: Vec<RuleInfo>,
    compiled: Vec<CompiledRule>,
    builder: Builder,
    /// Slots handed out so far: one per condition of an enabled rule.
    slot_count: usize,
    /// Names of the lists some rule refers to.
    used_lists: std::collections::HashSet<String>,
}

impl Compiled {
    fn from_rules(
        raw_rules: &[(String, RawRule)],
        lists: &HashMap<String, (String, RawList)>,
        errors: &mut Vec<RuleError>,
    ) -> Compiled {
        let mut c = Compiled {
            rules: Vec::with_capacity(raw_rules.len()),
            compiled: Vec::new(),
            builder: Builder::default(),
            slot_count: 0,
            used_lists: std::collections::HashSet::new(),
        };
        for (f, r) in raw_rules {
            c.add_rule(f, r, lists, errors);
        }
        c
    }

    fn add_rule(
        &mut self,
        f: &str,
        r: &RawRule,
        lists: &HashMap<String, (String, RawList)>,
        errors: &mut Vec<RuleError>,
    ) {
        if r.enabled {
            self.compiled.push(CompiledRule {
                info: self.rules.len(),
                kind: r.kind,
                weight: r.weight,
                first_slot: self.slot_count,
                reads_body: r.conditions.iter().any(|c| c.field == Field::Body),
            });
        }
        let conditions = r
            .conditions
            .iter()
            .map(|c| self.add_condition(f, r, c, lists, errors))
            .collect();
        self.rules.push(RuleInfo {
            id: r.id.clone(),
            kind: r.kind,
            weight: r.weight,
            description: r.description.clone(),
            file: f.to_string(),
            line: r.line,
            enabled: r.enabled,
            conditions,
        });
    }

    fn add_condition(
        &mut self,
        f: &str,
        r: &RawRule,
        c: &RawCondition,
        lists: &HashMap<String, (String, RawList)>,
        errors: &mut Vec<RuleError>,
    ) -> ConditionInfo {
        let patterns = expand(f, r, c, lists, &mut self.used_lists, errors);
        let origin = Origin {
            rule_id: &r.id,
            field: c.field,
            syntax: c.syntax,
            header: c.header.as_deref(),
        };
        if r.enabled {
            let s = u32::try_from(self.slot_count).unwrap_or(u32::MAX);
            self.builder.add(&origin, &patterns, s, errors);
            self.slot_count += 1;
        } else {
            // Still check a disabled rule's patterns, so switching it back on cannot break the
            // rule set.
            Builder::default().add(&origin, &patterns, 0, errors);
        }
        ConditionInfo {
            field: c.key.clone(),
            unless: c.unless,
            patterns: patterns
                .into_iter()
                .map(|p| PatternInfo {
                    text: p.text,
                    list: p.list,
                })
                .collect(),
        }
    }
}

/// A list no rule refers to is dead weight, or the sign of a mistyped reference.
fn warn_unused_lists(
    lists: &HashMap<String, (String, RawList)>,
    used: &std::collections::HashSet<String>,
    warnings: &mut Vec<RuleError>,
) {
    let mut unused: Vec<&(String, RawList)> = lists
        .iter()
        .filter(|(name, _)| !used.contains(name.as_str()))
        .map(|(_, v)| v)
        .collect();
    unused.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.line.cmp(&b.1.line)));
    for (f, l) in unused {
        warnings.push(RuleError {
            file: f.clone(),
            line: Some(l.line),
            rule_id: None,
            field: Some(format!("lists.{}", l.name)),
            message: "no rule uses this list".into(),
        });
    }
}

/// Cross-rule checks on kinds: machine mail must be detectable; warn about kinds no rule can pick.
fn check_kinds(
    raw: &[(String, RawRule)],
    settings: RuleSettings,
    setting_origin: &HashMap<&'static str, (String, usize)>,
    errors: &mut Vec<RuleError>,
    warnings: &mut Vec<RuleError>,
) {
    if raw.is_empty() {
        if errors.is_empty() {
            errors.push(RuleError::file(
                "(all rule files)",
                None,
                "no rules at all; every message would be `general` and bounces would be \
                 acknowledged",
            ));
        }
        return;
    }
    let where_set = |key: &str| {
        setting_origin
            .get(key)
            .map(|(f, l)| format!(" (set in {f}:{l})"))
            .unwrap_or_else(|| " (the default)".to_string())
    };
    for kind in Kind::ALL {
        let enabled: Vec<&RawRule> = raw
            .iter()
            .map(|(_, r)| r)
            .filter(|r| r.enabled && r.kind == kind)
            .collect();
        let reachable: i64 = enabled.iter().map(|r| i64::from(r.weight.max(0))).sum();
        if kind == Kind::Auto {
            // Loud, not a warning: without auto detection every bounce and out-of-office is
            // acknowledged, and two auto-responders acknowledging each other never stop.
            if reachable < i64::from(settings.auto_threshold) {
                errors.push(RuleError::file(
                    "(all rule files)",
                    None,
                    format!(
                        "the enabled auto rules add up to at most {reachable}, below \
                         auto_threshold {}{}: machine mail could never be recognised and \
                         bounces would be acknowledged (mail loops); keep the auto rules",
                        settings.auto_threshold,
                        where_set("auto_threshold")
                    ),
                ));
            }
            continue;
        }
        if kind == Kind::General {
            continue; // general is also the fallback; rules for it are optional.
        }
        if enabled.is_empty() {
            warnings.push(RuleError::file(
                "(all rule files)",
                None,
                format!("no enabled rule has kind {kind}: no message can be classified {kind}"),
            ));
        } else if reachable < i64::from(settings.min_score) {
            warnings.push(RuleError::file(
                "(all rule files)",
                None,
                format!(
                    "the enabled {kind} rules add up to at most {reachable}, below min_score {}{}: \
                     no message can be classified {kind}",
                    settings.min_score,
                    where_set("min_score")
                ),
            ));
        }
    }
}

/// The patterns of condition `c` of rule `r` (in file `file`), with list references expanded.
fn expand(
    file: &str,
    r: &RawRule,
    c: &RawCondition,
    lists: &HashMap<String, (String, RawList)>,
    used: &mut std::collections::HashSet<String>,
    errors: &mut Vec<RuleError>,
) -> Vec<Pattern> {
    let several = c.patterns.len() > 1;
    let mut out = Vec::new();
    for (i, p) in c.patterns.iter().enumerate() {
        match p {
            RawPattern::Text { text, line } => out.push(Pattern {
                text: text.clone(),
                file: file.to_string(),
                line: *line,
                label: if several {
                    format!("{} pattern {}", c.key, i + 1)
                } else {
                    c.key.clone()
                },
                list: None,
            }),
            RawPattern::List { name, line } => match lists.get(name) {
                Some((list_file, list)) => {
                    used.insert(name.clone());
                    for (k, (text, item_line)) in list.items.iter().enumerate() {
                        out.push(Pattern {
                            text: text.clone(),
                            file: list_file.clone(),
                            line: *item_line,
                            label: format!("{} (list {name:?} item {})", c.key, k + 1),
                            list: Some(name.clone()),
                        });
                    }
                }
                None => {
                    let mut known: Vec<&str> = lists.keys().map(String::as_str).collect();
                    known.sort_unstable();
                    errors.push(RuleError {
                        file: file.to_string(),
                        line: Some(*line),
                        rule_id: Some(r.id.clone()),
                        field: Some(c.key.clone()),
                        message: format!(
                            "no list named {name:?}{}; lists are defined in a [lists] table{}",
                            file::suggest(name, &known),
                            if known.is_empty() {
                                String::new()
                            } else {
                                format!(" (known: {})", known.join(", "))
                            }
                        ),
                    });
                }
            },
        }
    }
    out
}

/// Drop repeated problems (a bad item in a list used by several rules is reported once).
fn dedupe(errors: &mut Vec<RuleError>) {
    let mut seen = std::collections::HashSet::new();
    errors.retain(|e| seen.insert((e.file.clone(), e.line, e.field.clone(), e.message.clone())));
}

/// File, then line order, so the list reads top to bottom like the files.
fn sort_problems(v: &mut [RuleError]) {
    v.sort_by(|a, b| a.file.cmp(&b.file).then(a.line.cmp(&b.line)));
}
