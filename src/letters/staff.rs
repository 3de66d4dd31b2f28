//! Digest and chaser emails: officer-editable minijinja templates, rendered from plain data.
//!
//! [`WorkflowTemplates::load`] reads the six files of [`TEMPLATE_FILES`] from the template
//! directory (beside the acknowledgement folders that `compose` reads, which it ignores), compiles
//! them with strict undefined variables and HTML autoescape for `*.html.j2` only (as `compose`
//! does), and renders each with sample data so a misspelt variable stops the daemon at start-up
//! with its file and line instead of in the middle of the night.
//!
//! What it does not do: build RFC 5322 messages, choose recipients or send. The caller wraps the
//! [`RenderedEmail`] parts into a message (text + HTML) as it does for acknowledgements. The
//! variables of each template are documented on [`digest_context`] and [`chaser_context`]
//! (`templates/README.md` describes the acknowledgement templates only, so far).
//!
//! Like acknowledgements, nothing anyone wrote is ever template source: assignees and team names
//! are data, HTML-escaped in the HTML part. Digests carry no subject lines or bodies at all.

use crate::core::actions::help_text;
use crate::core::chase::{Chaser, Escalation, Slot};
use crate::core::digest::{Digest, DigestEntry, TeamFilter, Timeliness};
use crate::core::plan::letter::{Assignment, CommandOutcome, CommandReply, Letter, LetterBody};
use crate::letters::compose::date_in_words;
use crate::letters::compose::{TemplateError, TemplateErrors};
use crate::model::kind::Kind;
use crate::model::letter::PreparedMail;
use chrono::NaiveDate;
use minijinja::syntax::SyntaxConfig;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value, context};
use std::path::{Path, PathBuf};

/// Digest subject line template.
pub const DIGEST_SUBJECT: &str = "digest.subject.txt.j2";
/// Digest plain-text body template.
pub const DIGEST_TEXT: &str = "digest.txt.j2";
/// Digest HTML body template.
pub const DIGEST_HTML: &str = "digest.html.j2";
/// Chaser subject line template.
pub const CHASER_SUBJECT: &str = "chaser.subject.txt.j2";
/// Chaser plain-text body template.
pub const CHASER_TEXT: &str = "chaser.txt.j2";
/// Chaser HTML body template.
pub const CHASER_HTML: &str = "chaser.html.j2";
/// Every file [`WorkflowTemplates::load`] needs, at the top of the template directory.
pub const TEMPLATE_FILES: [&str; 6] = [
    DIGEST_SUBJECT,
    DIGEST_TEXT,
    DIGEST_HTML,
    CHASER_SUBJECT,
    CHASER_TEXT,
    CHASER_HTML,
];

/// Largest template file we read, in bytes (256 KiB): a digest template is a page with loops; a
/// bigger file is the wrong file.
const MAX_TEMPLATE_BYTES: u64 = 256 * 1024;
/// minijinja recursion limit: templates cannot hang the daemon.
const RECURSION_LIMIT: usize = 64;

/// The three parts of one rendered email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedEmail {
    /// Subject line, on one line (whitespace folded).
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
}

/// Why a digest or chaser could not be rendered: a template error the load-time check did not
/// reach (a branch no sample took).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template {file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct RenderError {
    /// The template file.
    pub file: &'static str,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// minijinja's description.
    pub message: String,
}

/// Context the caller supplies that the planners do not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letterhead {
    /// The organisation's name (config `organisation.name`).
    pub organisation: String,
    /// The shared mailbox address, for "reply to" wording.
    pub shared_address: String,
}

/// The compiled digest and chaser templates. Load once at start (and on reload).
#[derive(Debug)]
pub struct WorkflowTemplates {
    env: Environment<'static>,
}

fn new_environment() -> Environment<'static> {
    let mut env = Environment::new();
    // A misspelt variable must be an error, never an empty gap in an email to a manager.
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html.j2") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env.set_recursion_limit(RECURSION_LIMIT);
    if let Ok(syntax) = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    env
}

fn read_template(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > MAX_TEMPLATE_BYTES {
        return Err(format!(
            "file is {} bytes; a template may be at most {MAX_TEMPLATE_BYTES}",
            meta.len()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    String::from_utf8(bytes).map_err(|e| format!("not valid UTF-8: {e}"))
}

fn load_error(dir: &Path, name: &str, e: &minijinja::Error) -> TemplateError {
    let mut message = e.kind().to_string();
    if let Some(detail) = e.detail() {
        message.push_str(": ");
        message.push_str(detail);
    }
    TemplateError {
        file: dir.join(e.name().unwrap_or(name)),
        line: e.line(),
        message,
    }
}

impl WorkflowTemplates {
    /// Reads, compiles and sample-renders the digest and chaser templates in `dir`.
    ///
    /// # Errors
    /// Every missing or unreadable file, syntax error and sample-render error, all at once, each
    /// with its file and (when known) line.
    pub fn load(dir: &Path) -> Result<WorkflowTemplates, TemplateErrors> {
        let mut env = new_environment();
        let mut errors = Vec::new();
        for name in TEMPLATE_FILES {
            let path: PathBuf = dir.join(name);
            match read_template(&path) {
                Ok(source) => {
                    if let Err(e) = env.add_template_owned(name, source) {
                        errors.push(load_error(dir, name, &e));
                    }
                }
                Err(message) => errors.push(TemplateError {
                    file: path,
                    line: None,
                    message,
                }),
            }
        }
        if !errors.is_empty() {
            return Err(TemplateErrors(errors));
        }
        let templates = WorkflowTemplates { env };
        for ctx in samples::digest_contexts() {
            templates.check(
                dir,
                &[DIGEST_SUBJECT, DIGEST_TEXT, DIGEST_HTML],
                &ctx,
                &mut errors,
            );
        }
        for ctx in samples::chaser_contexts() {
            templates.check(
                dir,
                &[CHASER_SUBJECT, CHASER_TEXT, CHASER_HTML],
                &ctx,
                &mut errors,
            );
        }
        if errors.is_empty() {
            Ok(templates)
        } else {
            Err(TemplateErrors(errors))
        }
    }

    fn check(&self, dir: &Path, names: &[&str], ctx: &Value, errors: &mut Vec<TemplateError>) {
        for &name in names {
            let result = self
                .env
                .get_template(name)
                .and_then(|t| t.render(ctx.clone()));
            if let Err(e) = result {
                let err = load_error(dir, name, &e);
                if !errors.contains(&err) {
                    errors.push(err);
                }
            }
        }
    }

    fn render_one(&self, name: &'static str, ctx: &Value) -> Result<String, RenderError> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(ctx.clone()))
            .map_err(|e| RenderError {
                file: name,
                line: e.line(),
                message: e.to_string(),
            })
    }

    fn render_three(
        &self,
        names: [&'static str; 3],
        ctx: &Value,
    ) -> Result<RenderedEmail, RenderError> {
        Ok(RenderedEmail {
            subject: fold_line(&self.render_one(names[0], ctx)?),
            text: self.render_one(names[1], ctx)?,
            html: self.render_one(names[2], ctx)?,
        })
    }

    /// Renders a manager's digest.
    ///
    /// # Errors
    /// [`RenderError`] when a template fails on this data.
    pub fn render_digest(
        &self,
        digest: &Digest,
        head: &Letterhead,
    ) -> Result<RenderedEmail, RenderError> {
        self.render_three(
            [DIGEST_SUBJECT, DIGEST_TEXT, DIGEST_HTML],
            &digest_context(digest, head),
        )
    }

    /// Renders one chaser.
    ///
    /// # Errors
    /// [`RenderError`] when a template fails on this data.
    pub fn render_chaser(
        &self,
        chaser: &Chaser,
        head: &Letterhead,
    ) -> Result<RenderedEmail, RenderError> {
        self.render_three(
            [CHASER_SUBJECT, CHASER_TEXT, CHASER_HTML],
            &chaser_context(chaser, head),
        )
    }
}

impl WorkflowTemplates {
    /// Renders a planned staff letter into the mail the outbox sends.
    ///
    /// # Errors
    /// [`RenderError`] when a template fails on this data.
    pub fn render_staff(
        &self,
        letter: &Letter,
        head: &Letterhead,
    ) -> Result<PreparedMail, RenderError> {
        let (subject, text, html) = match &letter.body {
            LetterBody::Chaser(c) => {
                let r = self.render_chaser(c, head)?;
                (r.subject, r.text, Some(r.html))
            }
            LetterBody::Digest(d) => {
                let r = self.render_digest(d, head)?;
                (r.subject, r.text, Some(r.html))
            }
            // NOTE: the two bodies below are still written in Rust, moved here as they were from
            // the workflow; they become templates with the one registry.
            LetterBody::Assignment(a) => (assignment_subject(a), assignment_text(a), None),
            LetterBody::CommandReply(r) => (command_reply_subject(r), command_reply_text(r), None),
        };
        Ok(PreparedMail {
            to: letter.to.clone(),
            cc: letter.cc.clone(),
            reply_to: letter.reply_to.clone(),
            subject,
            text,
            html,
            message_id: letter.message_id.clone(),
            in_reply_to: letter.in_reply_to.clone(),
            attach_original: letter.attach_original.clone(),
        })
    }
}

fn assignment_subject(a: &Assignment) -> String {
    format!(
        "[{}] Assigned: {} request{}",
        a.reference,
        a.kind.as_str(),
        a.due
            .map(|d| format!(", due {}", d.format("%a %-d %b %Y")))
            .unwrap_or_default()
    )
}

fn assignment_text(a: &Assignment) -> String {
    let received = a.received.map(date_in_words).unwrap_or_default();
    let due = match a.due {
        Some(d) => format!("Due: {}", date_in_words(d)),
        None => format!("Clock: not running ({})", a.state),
    };
    let due = match a.internal_target {
        Some(t) => format!("{due}\nInternal target: {}", date_in_words(t)),
        None => due,
    };
    let valid = match a.valid {
        Some(true) => "valid".to_string(),
        Some(false) => format!("not yet valid (missing: {})", a.missing.join(", ")),
        None => "no statutory validity test".to_string(),
    };
    format!(
        "Case {r} ({kind}) is assigned to you (team: {team_name}).\n\n\
         Received: {received}\n{due}\nValidity: {valid}\nRouted because: {why}\n\n\
         {original}\n\n\
         To act on the case, REPLY to this email with one command per line at the top of your \
         reply. Only replies from staff addresses to this email's reply address are accepted.\n\n{help}\n",
        r = a.reference,
        kind = a.kind.as_str(),
        team_name = a.team_name,
        why = a.why,
        original = if a.original_attached {
            "The original message is attached."
        } else {
            "The original message is in the shared mailbox's Triage folders."
        },
        help = help_text(),
    )
}

fn command_reply_subject(r: &CommandReply) -> String {
    format!(
        "[{}] Your command{}",
        r.reference,
        if r.lines.len() > 1 { "s" } else { "" }
    )
}

fn command_reply_text(r: &CommandReply) -> String {
    let mut report = Vec::new();
    if r.lines.is_empty() {
        report.push(
            "No command found: commands are lines starting with # at the top of your reply."
                .to_string(),
        );
    }
    for l in &r.lines {
        report.push(match &l.outcome {
            CommandOutcome::Help => help_text().to_string(),
            CommandOutcome::Done => format!("line {}: done: {}", l.line, l.text),
            CommandOutcome::NotDone(e) => format!("line {}: NOT done: {}: {e}", l.line, l.text),
            CommandOutcome::NotUnderstood(e) => {
                format!("line {}: NOT understood: {}: {e}", l.line, l.text)
            }
        });
    }
    let state = match r.due {
        Some(d) => format!("{}; due {}", r.state, date_in_words(d)),
        None => r.state.to_string(),
    };
    format!(
        "{}\n\nCase {} is now: {state}.\n",
        report.join("\n"),
        r.reference
    )
}

/// Folds line breaks and runs of whitespace into single spaces: a subject is one line.
fn fold_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A date in words, as in acknowledgements: "Monday 21 December 2026".
pub fn date_words(d: NaiveDate) -> String {
    d.format("%A %-d %B %Y").to_string()
}

/// The kind in words for a sentence.
pub fn kind_label(kind: Kind) -> &'static str {
    match kind {
        Kind::Foi => "Freedom of Information request",
        Kind::Eir => "Environmental Information request",
        Kind::Sar => "subject access request",
        Kind::Media => "media enquiry",
        Kind::MemberEnquiry => "member enquiry",
        Kind::Complaint => "complaint",
        Kind::General => "general enquiry",
        Kind::Auto => "automatic mail",
    }
}

fn opt_date(d: Option<NaiveDate>) -> (String, String) {
    d.map(|d| (date_words(d), d.format("%Y-%m-%d").to_string()))
        .unwrap_or_default()
}

fn entry_value(e: &DigestEntry) -> Value {
    let (due, due_iso) = opt_date(e.due);
    context! {
        reference => e.reference.to_string(),
        kind => e.kind.as_str(),
        kind_label => kind_label(e.kind),
        state => e.state.as_str(),
        state_label => e.state.as_str().replace('_', " "),
        received => date_words(e.received),
        received_iso => e.received.format("%Y-%m-%d").to_string(),
        due => due,
        due_iso => due_iso,
        working_days_overdue => e.working_days_overdue,
        working_days_left => e.working_days_left,
        assignee => e.assignee.clone().unwrap_or_default(),
        team => e.team.clone().unwrap_or_default(),
        repeat_of => e.repeat_of.iter().map(ToString::to_string).collect::<Vec<_>>(),
    }
}

fn timeliness_value(t: &Timeliness) -> Value {
    context! {
        from => date_words(t.from),
        to => date_words(t.to),
        in_time => t.in_time,
        late => t.late,
        overdue_unanswered => t.overdue_unanswered,
        pending => t.pending,
        counted => t.counted(),
        percent => t.percent_in_time().map(|p| format!("{p:.1}")).unwrap_or_default(),
    }
}

/// The digest templates' variables: `organisation`, `shared_address`, `scope` (`all`, `team`,
/// `unrouted`), `team` (name or empty), `today`/`today_iso`, `since` (date in words), `due_soon_working_days`, the five
/// lists `overdue`, `due_soon`, `waiting_on_requester`, `new_since_last`, `possible_repeats`
/// (entries with `reference`, `kind`, `kind_label`, `state`, `state_label`, `received`,
/// `received_iso`, `due`, `due_iso`, `working_days_overdue`, `working_days_left`, `assignee`,
/// `team`, `repeat_of`), `counts` (`open`, `overdue`, `due_soon`, `waiting_on_requester`,
/// `new_since_last`, `possible_repeats`, `by_kind`: list of `kind`, `kind_label`, `count`),
/// `timeliness` (`from`, `to`, `in_time`, `late`, `overdue_unanswered`, `pending`, `counted`,
/// `percent`: e.g. `"87.5"`, empty when nothing counts) and `empty`.
pub fn digest_context(d: &Digest, head: &Letterhead) -> Value {
    let (scope, team) = match &d.scope {
        TeamFilter::All => ("all", String::new()),
        TeamFilter::Team(t) => ("team", t.clone()),
        TeamFilter::Unrouted => ("unrouted", String::new()),
    };
    let list = |v: &[DigestEntry]| v.iter().map(entry_value).collect::<Vec<_>>();
    let by_kind: Vec<Value> = d
        .counts
        .open_by_kind
        .iter()
        .map(|(k, n)| context! { kind => k.as_str(), kind_label => kind_label(*k), count => *n })
        .collect();
    context! {
        organisation => head.organisation.clone(),
        shared_address => head.shared_address.clone(),
        scope => scope,
        team => team,
        today => date_words(d.today),
        today_iso => d.today.format("%Y-%m-%d").to_string(),
        since => date_words(crate::core::london::date(d.since)),
        due_soon_working_days => d.due_soon_working_days,
        overdue => list(&d.overdue),
        due_soon => list(&d.due_soon),
        waiting_on_requester => list(&d.waiting_on_requester),
        new_since_last => list(&d.new_since_last),
        possible_repeats => list(&d.possible_repeats),
        counts => context! {
            open => d.counts.open,
            overdue => d.counts.overdue,
            due_soon => d.counts.due_soon,
            waiting_on_requester => d.counts.waiting_on_requester,
            new_since_last => d.counts.new_since_last,
            possible_repeats => d.counts.possible_repeats,
            by_kind => by_kind,
        },
        timeliness => timeliness_value(&d.timeliness),
        empty => d.is_empty(),
    }
}

/// The chaser templates' variables: `organisation`, `shared_address`, `reference`, `kind`,
/// `kind_label`, `due`/`due_iso`, `slot` (`before:5`…), `stage` (`before`, `on_day`, `overdue`),
/// `working_days_left`, `overdue_working_days`, `escalation` (`none`, `manager`,
/// `head_of_service`), `assigned` (bool), `assignee` (or empty) and `team` (or empty).
pub fn chaser_context(c: &Chaser, head: &Letterhead) -> Value {
    let stage = match c.slot {
        Slot::Before(_) => "before",
        Slot::OnDay => "on_day",
        Slot::Overdue(_) => "overdue",
    };
    context! {
        organisation => head.organisation.clone(),
        shared_address => head.shared_address.clone(),
        reference => c.case.to_string(),
        kind => c.kind.as_str(),
        kind_label => kind_label(c.kind),
        due => date_words(c.due),
        due_iso => c.due.format("%Y-%m-%d").to_string(),
        slot => c.slot.to_string(),
        stage => stage,
        working_days_left => c.working_days_left,
        overdue_working_days => c.overdue_working_days,
        escalation => c.escalation.as_str(),
        assigned => c.assignee.is_some(),
        assignee => c.assignee.clone().unwrap_or_default(),
        team => c.team.clone().unwrap_or_default(),
    }
}

/// Sample data for the load-time check: every list filled and empty, every stage and escalation.
mod samples {
    use super::*;
    use crate::core::chase::ChaserKey;
    use crate::core::digest::DigestCounts;
    use crate::model::case::{CaseRef, CaseState};
    use chrono::{TimeZone, Utc};

    // CaseRef::new cannot fail for these literals; `Option` keeps the code free of unwrap().
    fn r(seq: u32) -> Option<CaseRef> {
        CaseRef::new("FOI", 2026, seq).ok()
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    fn head() -> Letterhead {
        Letterhead {
            organisation: "Example Borough Council".into(),
            shared_address: "foi@example.gov.uk".into(),
        }
    }

    fn entry(
        seq: u32,
        overdue: Option<u32>,
        left: Option<u32>,
        repeats: bool,
    ) -> Option<DigestEntry> {
        Some(DigestEntry {
            reference: r(seq)?,
            kind: Kind::Foi,
            state: CaseState::Open,
            received: day(2026, 2, 2),
            due: if seq.is_multiple_of(2) {
                Some(day(2026, 3, 2))
            } else {
                None
            },
            working_days_overdue: overdue,
            working_days_left: left,
            assignee: (seq.is_multiple_of(2)).then(|| "officer@example.gov.uk".to_string()),
            team: (seq.is_multiple_of(3)).then(|| "planning".to_string()),
            repeat_of: if repeats {
                r(seq + 100).into_iter().collect()
            } else {
                vec![]
            },
        })
    }

    pub(super) fn digest_contexts() -> Vec<Value> {
        let now = Utc
            .with_ymd_and_hms(2026, 3, 3, 8, 0, 0)
            .single()
            .unwrap_or_default();
        let two = |a: Option<DigestEntry>, b: Option<DigestEntry>| -> Vec<DigestEntry> {
            a.into_iter().chain(b).collect()
        };
        let full = Digest {
            generated_at: now,
            today: day(2026, 3, 3),
            scope: TeamFilter::Team("planning".into()),
            since: now,
            due_soon_working_days: 5,
            overdue: two(
                entry(2, Some(1), None, false),
                entry(3, Some(7), None, false),
            ),
            due_soon: two(
                entry(4, None, Some(0), false),
                entry(5, None, Some(3), false),
            ),
            waiting_on_requester: two(entry(6, None, None, false), entry(7, None, None, false)),
            new_since_last: two(entry(8, None, Some(20), false), entry(9, None, None, false)),
            possible_repeats: two(
                entry(10, None, Some(12), true),
                entry(11, Some(2), None, true),
            ),
            counts: DigestCounts {
                open: 9,
                overdue: 2,
                due_soon: 2,
                waiting_on_requester: 2,
                new_since_last: 2,
                possible_repeats: 2,
                open_by_kind: [(Kind::Foi, 8), (Kind::Sar, 1)].into(),
            },
            timeliness: Timeliness {
                from: day(2025, 12, 4),
                to: day(2026, 3, 3),
                in_time: 7,
                late: 1,
                overdue_unanswered: 0,
                pending: 3,
            },
        };
        let empty = Digest {
            scope: TeamFilter::All,
            overdue: vec![],
            due_soon: vec![],
            waiting_on_requester: vec![],
            new_since_last: vec![],
            possible_repeats: vec![],
            counts: DigestCounts::default(),
            timeliness: Timeliness {
                in_time: 0,
                late: 0,
                overdue_unanswered: 0,
                pending: 0,
                ..full.timeliness.clone()
            },
            ..full.clone()
        };
        let unrouted = Digest {
            scope: TeamFilter::Unrouted,
            ..full.clone()
        };
        [full, empty, unrouted]
            .iter()
            .map(|d| digest_context(d, &head()))
            .collect()
    }

    pub(super) fn chaser_contexts() -> Vec<Value> {
        let due = day(2026, 3, 20);
        let mut out = Vec::new();
        let Some(case) = r(1) else {
            return out;
        };
        let cases = [
            (Slot::Before(5), Escalation::None, true, 5, 0),
            (Slot::Before(1), Escalation::Manager, false, 1, 0),
            (Slot::OnDay, Escalation::None, true, 0, 0),
            (Slot::Overdue(2), Escalation::Manager, true, 0, 2),
            (Slot::Overdue(1), Escalation::Manager, true, 0, 1),
            (Slot::Overdue(6), Escalation::HeadOfService, false, 0, 6),
        ];
        for (slot, escalation, assigned, left, over) in cases {
            let chaser = Chaser {
                key: ChaserKey {
                    case: case.clone(),
                    due,
                    slot,
                },
                case: case.clone(),
                kind: Kind::Sar,
                slot,
                escalation,
                overdue_working_days: over,
                working_days_left: left,
                due,
                assignee: assigned.then(|| "officer@example.gov.uk".to_string()),
                team: assigned.then(|| "planning".to_string()),
            };
            out.push(chaser_context(&chaser, &head()));
        }
        out
    }
}

#[cfg(test)]
mod tests;
