//! Letters to staff: assignment emails, command replies, refused-command notices, `#help`,
//! chasers and digests, rendered
//! from officer-editable templates in the one registry ([`Letters`]).
//!
//! [`Letters::render_staff`] renders a planned [`Letter`] (see [`crate::core::plan::letter`]) into
//! the [`PreparedMail`] the outbox sends; [`Letters::render_digest`] and
//! [`Letters::render_chaser`] give the three texts on their own (for `digest --dry-run`), and
//! [`Letters::help_text`] the command list. The variables of each template are documented on its
//! context function ([`assignment_context`], [`command_reply_context`], [`refusal_context`],
//! [`digest_context`], [`chaser_context`]) and in `templates/README.md`.
//!
//! What it does not do: build RFC 5322 messages (see [`crate::letters::compose::build_prepared`]),
//! choose recipients or send.
//!
//! Like acknowledgements, nothing anyone wrote is ever template source: assignees, team names,
//! command lines and routing reasons are data, HTML-escaped in the HTML part. Digests carry no
//! subject lines or bodies of cases; the machine-mail list (in a digest or on its own) carries the
//! sender and subject of mail filed without a case, cleaned to one bounded line, because a person
//! cannot judge a message without them.

use crate::core::chase::{Chaser, Escalation, Slot};
use crate::core::digest::{Digest, DigestEntry, FailedMail, TeamFilter, Timeliness};
use crate::core::plan::letter::{
    AssignmentLetter, CommandOutcome, CommandReply, Letter, LetterBody, RefusalNotice,
    RefusedSender,
};
use crate::core::plan::machine::MachineMailList;
use crate::core::plan::machine::by_mail::{MachineMailReply, OpenOutcome};
use crate::letters::compose::date_in_words;
use crate::letters::registry::RenderError;
use crate::letters::registry::{HTML, Letters, RenderedParts, SUBJECT, TEXT};
use crate::model::case::IdentityState;
use crate::model::kind::Kind;
use crate::model::language::Language;
use crate::model::letter::PreparedMail;
use crate::model::machine::MachineMailLine;
use chrono::NaiveDate;
use minijinja::{Value, context};

/// The digest to a team's manager: subject, text and HTML.
pub const DIGEST: &str = "digest";
/// A reminder before, on or after a due date: subject, text and HTML.
pub const CHASER: &str = "chaser";
/// "A case is assigned to you": subject and text.
pub const ASSIGNMENT: &str = "assignment";
/// The results of a staff member's commands: subject and text.
pub const COMMAND_REPLY: &str = "command_reply";
/// "A command by email to your case was refused": subject and text, to the assignee.
pub const COMMAND_REFUSED: &str = "command_refused";
/// The command list `#help` sends and the CLI prints: text only, no variables.
pub const HELP: &str = "help";
/// The daily list of mail filed without a case, on its own: subject, text and HTML.
pub const MACHINE_MAIL: &str = "machine_mail";
/// The answer to an emailed `#open` of a machine-mail record: subject and text.
pub const MACHINE_MAIL_REPLY: &str = "machine_mail_reply";

/// Largest staff template file we read, in bytes (256 KiB): a digest template is a page with
/// loops; a bigger file is the wrong file.
pub(super) const MAX_TEMPLATE_BYTES: u64 = 256 * 1024;

/// Context the caller supplies that the planners do not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letterhead {
    /// The organisation's name (config `organisation.name`).
    pub organisation: String,
    /// The shared mailbox address, for "reply to" wording.
    pub shared_address: String,
}

impl Letters {
    /// Renders the subject and text body of a staff family; the subject on one line.
    fn render_subject_text(
        &self,
        family: &str,
        ctx: &Value,
    ) -> Result<(String, String), RenderError> {
        Ok((
            fold_line(&self.render_part(family, SUBJECT, ctx)?),
            self.render_part(family, TEXT, ctx)?,
        ))
    }

    fn render_three(&self, family: &str, ctx: &Value) -> Result<RenderedParts, RenderError> {
        let (subject, text) = self.render_subject_text(family, ctx)?;
        Ok(RenderedParts {
            subject,
            text,
            html: self.render_part(family, HTML, ctx)?,
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
    ) -> Result<RenderedParts, RenderError> {
        self.render_three(DIGEST, &digest_context(digest, head))
    }

    /// Renders the machine-mail list sent on its own.
    ///
    /// # Errors
    /// [`RenderError`] when a template fails on this data.
    pub fn render_machine_mail(
        &self,
        list: &MachineMailList,
        head: &Letterhead,
    ) -> Result<RenderedParts, RenderError> {
        self.render_three(MACHINE_MAIL, &machine_mail_context(list, head))
    }

    /// Renders one chaser.
    ///
    /// # Errors
    /// [`RenderError`] when a template fails on this data.
    pub fn render_chaser(
        &self,
        chaser: &Chaser,
        head: &Letterhead,
    ) -> Result<RenderedParts, RenderError> {
        self.render_three(CHASER, &chaser_context(chaser, head))
    }

    /// The command list (`templates/help/body.txt.j2`), without trailing blank lines: what
    /// `#help` sends, what the assignment email ends with, and what `foi-triage case help`
    /// prints.
    ///
    /// # Errors
    /// [`RenderError`] when the template fails (it has no variables, so only a caller bug).
    pub fn help_text(&self) -> Result<String, RenderError> {
        Ok(self
            .render_part(HELP, TEXT, &context! {})?
            .trim_end()
            .to_string())
    }

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
            LetterBody::MachineMail(list) => {
                let r = self.render_machine_mail(list, head)?;
                (r.subject, r.text, Some(r.html))
            }
            LetterBody::MachineMailReply(reply) => {
                let ctx = machine_mail_reply_context(reply, head);
                let (subject, text) = self.render_subject_text(MACHINE_MAIL_REPLY, &ctx)?;
                (subject, text, None)
            }
            LetterBody::Assignment(a) => {
                let ctx = assignment_context(a, head, &self.help_text()?);
                let (subject, text) = self.render_subject_text(ASSIGNMENT, &ctx)?;
                (subject, text, None)
            }
            LetterBody::CommandReply(r) => {
                let ctx = command_reply_context(r, head, &self.help_text()?);
                let (subject, text) = self.render_subject_text(COMMAND_REPLY, &ctx)?;
                (subject, text, None)
            }
            LetterBody::CommandRefused(n) => {
                let (subject, text) =
                    self.render_subject_text(COMMAND_REFUSED, &refusal_context(n, head))?;
                (subject, text, None)
            }
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

/// Folds line breaks and runs of whitespace into single spaces: a subject is one line.
fn fold_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A date as `(in words, ISO)`, both empty when there is none.
fn opt_date(d: Option<NaiveDate>) -> (String, String) {
    d.map(|d| (date_in_words(d), d.format("%Y-%m-%d").to_string()))
        .unwrap_or_default()
}

/// The assignment templates' variables: `organisation`, `shared_address`, `reference`, `kind`
/// (`foi`…), `kind_label`, `team_name`, `received`/`received_iso` (empty when unknown),
/// `due`/`due_iso`/`due_short` (`Mon 21 Dec 2026`; all empty when no clock runs),
/// `internal_target`/`internal_target_iso` (or empty), `state` (`open`, `awaiting_id`…),
/// `validity` (`valid`, `not_valid` or `no_test`), `missing` (list of item names, when not
/// valid), `why` (the routing reason), `original_attached` (bool), `identity` (SAR only:
/// `provided`, `verifiable` or `missing`; empty otherwise), `language` (the requester's:
/// `english`, `welsh`, `bilingual` or `unknown`) and `help` (the command list).
pub fn assignment_context(a: &AssignmentLetter, head: &Letterhead, help: &str) -> Value {
    let (received, received_iso) = opt_date(a.received);
    let (due, due_iso) = opt_date(a.due);
    let (internal_target, internal_target_iso) = opt_date(a.internal_target);
    let validity = match a.valid {
        Some(true) => "valid",
        Some(false) => "not_valid",
        None => "no_test",
    };
    context! {
        organisation => head.organisation.clone(),
        shared_address => head.shared_address.clone(),
        reference => a.reference.to_string(),
        kind => a.kind.as_str(),
        kind_label => kind_label(a.kind),
        team_name => a.team_name.clone(),
        received => received,
        received_iso => received_iso,
        due => due,
        due_iso => due_iso,
        due_short => a.due.map(|d| d.format("%a %-d %b %Y").to_string()).unwrap_or_default(),
        internal_target => internal_target,
        internal_target_iso => internal_target_iso,
        state => a.state.as_str(),
        validity => validity,
        missing => a.missing.clone(),
        why => a.why.clone(),
        original_attached => a.original_attached,
        identity => a.identity.map(IdentityState::as_str).unwrap_or_default(),
        language => a.language.as_str(),
        help => help,
    }
}

/// The command-reply templates' variables: `organisation`, `shared_address`, `reference`,
/// `lines` (one per command line, in order, each with `line` (its number in the reply), `text`
/// (as written), `outcome` (`done`, `not_done`, `not_understood` or `help`) and `reason` (why not,
/// or empty)), `state` (after the commands), `due`/`due_iso` (or empty) and `help` (the command
/// list, for `#help`).
pub fn command_reply_context(r: &CommandReply, head: &Letterhead, help: &str) -> Value {
    let lines: Vec<Value> = r
        .lines
        .iter()
        .map(|l| {
            let (outcome, reason) = match &l.outcome {
                CommandOutcome::Done => ("done", ""),
                CommandOutcome::NotDone(e) => ("not_done", e.as_str()),
                CommandOutcome::NotUnderstood(e) => ("not_understood", e.as_str()),
                CommandOutcome::Help => ("help", ""),
            };
            context! { line => l.line, text => l.text.clone(), outcome => outcome, reason => reason }
        })
        .collect();
    let (due, due_iso) = opt_date(r.due);
    context! {
        organisation => head.organisation.clone(),
        shared_address => head.shared_address.clone(),
        reference => r.reference.to_string(),
        lines => lines,
        state => r.state.as_str(),
        due => due,
        due_iso => due_iso,
        help => help,
    }
}

/// The refused-command templates' variables: `organisation`, `shared_address`, `reference`,
/// `date`/`date_iso` and `time` (`14:05`, Europe/London) of the refusal, `code` (`not_staff`,
/// `unknown_key`, `bad_token`, `other_recipient`, `old_address_not_assignee`, `expired`,
/// `no_gateway`, `not_authenticated`), `why` (the refusal in words), `sender` (`requester`,
/// `staff` or `other`), `sender_address` (a colleague's address; empty otherwise: a stranger is
/// never named) and `notice_hours` (at most one notice per case in that many hours).
pub fn refusal_context(n: &RefusalNotice, head: &Letterhead) -> Value {
    let day = crate::core::london::date(n.at);
    let (sender, sender_address) = match &n.sender {
        RefusedSender::Requester => ("requester", String::new()),
        RefusedSender::Staff(a) => ("staff", a.clone()),
        RefusedSender::Other => ("other", String::new()),
    };
    context! {
        organisation => head.organisation.clone(),
        shared_address => head.shared_address.clone(),
        reference => n.reference.to_string(),
        date => date_in_words(day),
        date_iso => day.format("%Y-%m-%d").to_string(),
        time => crate::core::london::time(n.at).format("%H:%M").to_string(),
        code => n.code,
        why => n.why.clone(),
        sender => sender,
        sender_address => sender_address,
        notice_hours => crate::core::plan::command::NOTICE_INTERVAL_HOURS,
    }
}

/// The kind in words for a sentence to staff: as to requesters (see
/// [`crate::letters::compose::kind_label`]), but staff read "general enquiry" and "automatic mail".
pub fn kind_label(kind: Kind) -> &'static str {
    match kind {
        Kind::General => "general enquiry",
        Kind::Auto => "automatic mail",
        other => crate::letters::compose::kind_label(other),
    }
}

fn entry_value(e: &DigestEntry) -> Value {
    let (due, due_iso) = opt_date(e.due);
    context! {
        reference => e.reference.to_string(),
        kind => e.kind.as_str(),
        kind_label => kind_label(e.kind),
        state => e.state.as_str(),
        state_label => e.state.as_str().replace('_', " "),
        received => date_in_words(e.received),
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
        from => date_in_words(t.from),
        to => date_in_words(t.to),
        in_time => t.in_time,
        late => t.late,
        overdue_unanswered => t.overdue_unanswered,
        pending => t.pending,
        counted => t.counted(),
        percent => t.percent_in_time().map(|p| format!("{p:.1}")).unwrap_or_default(),
    }
}

/// The digest templates' variables: `organisation`, `shared_address`, `scope` (`all`, `team`,
/// `unrouted`), `team` (name or empty), `today`/`today_iso`, `since` (date in words),
/// `due_soon_working_days`, the six lists `overdue`, `due_soon`, `waiting_on_requester`,
/// `new_since_last`, `possible_repeats`, `unverified_answers` (waiting cases whose requester's
/// answer was not authenticated, so the clock was not restarted) (entries with `reference`,
/// `kind`, `kind_label`, `state`, `state_label`, `received`, `received_iso`, `due`, `due_iso`,
/// `working_days_overdue`, `working_days_left`, `assignee`, `team`, `repeat_of`), `counts`
/// (`open`, `overdue`, `due_soon`, `waiting_on_requester`, `new_since_last`, `possible_repeats`,
/// `unverified_answers`, `by_kind`: list of `kind`, `kind_label`, `count`),
/// `timeliness` (`from`, `to`, `in_time`, `late`, `overdue_unanswered`, `pending`, `counted`,
/// `percent`: e.g. `"87.5"`, empty when nothing counts), `needs_human_triage` (messages intake
/// quarantined since the last digest: `quarantined_iso`, `mailbox`, `uid`, `content_hash`, `why`),
/// `failed_mail` (mail the outbox gave up on: entries with `row`, `reference` (or empty), `what`:
/// `acknowledgement`, `staff_mail` or `outbox`, `queued`/`queued_iso`) with `failed_mail_count`,
/// `machine_mail` (mail filed without a case since the last list, in the digest of the team that
/// owns the mailbox only: entries as in [`machine_mail_context`]) and `empty`.
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
        today => date_in_words(d.today),
        today_iso => d.today.format("%Y-%m-%d").to_string(),
        since => date_in_words(crate::core::london::date(d.since)),
        due_soon_working_days => d.due_soon_working_days,
        overdue => list(&d.overdue),
        due_soon => list(&d.due_soon),
        waiting_on_requester => list(&d.waiting_on_requester),
        new_since_last => list(&d.new_since_last),
        possible_repeats => list(&d.possible_repeats),
        unverified_answers => list(&d.unverified_answers),
        counts => context! {
            open => d.counts.open,
            overdue => d.counts.overdue,
            due_soon => d.counts.due_soon,
            waiting_on_requester => d.counts.waiting_on_requester,
            new_since_last => d.counts.new_since_last,
            possible_repeats => d.counts.possible_repeats,
            unverified_answers => d.counts.unverified_answers,
            by_kind => by_kind,
        },
        timeliness => timeliness_value(&d.timeliness),
        needs_human_triage => d
            .needs_human_triage
            .iter()
            .map(|n| context! {
                quarantined_iso => crate::core::london::date(n.at).format("%Y-%m-%d").to_string(),
                mailbox => n.mailbox.clone(),
                uid => n.uid,
                content_hash => n.content_hash.clone(),
                why => n.why.clone(),
            })
            .collect::<Vec<_>>(),
        failed_mail => d.failed_mail.iter().map(|f| context! {
            row => f.row,
            reference => f.case.as_ref().map(ToString::to_string).unwrap_or_default(),
            what => f.what.clone(),
            queued => date_in_words(f.queued),
            queued_iso => f.queued.format("%Y-%m-%d").to_string(),
        }).collect::<Vec<_>>(),
        failed_mail_count => d.failed_mail.len(),
        machine_mail => d.machine_mail.iter().map(machine_line_value).collect::<Vec<_>>(),
        empty => d.is_empty(),
    }
}

fn machine_line_value(l: &MachineMailLine) -> Value {
    let at = l.received_at;
    let open_line = format!("#open {}", l.suggested);
    // A mailto link with the command already written: one click and Send. The address is ours
    // (letters, digits, `+-.@`), the rest is escaped here; the template escapes it for HTML.
    let mailto = l.open_address.as_ref().map_or_else(String::new, |a| {
        format!(
            "mailto:{a}?subject=Open%20{}&body=%23open%20{}",
            l.id, l.suggested
        )
    });
    context! {
        open_address => l.open_address.clone().unwrap_or_default(),
        open_line => open_line,
        mailto => mailto,
        id => l.id.to_string(),
        received => date_in_words(crate::core::london::date(at)),
        received_iso => crate::core::london::date(at).format("%Y-%m-%d").to_string(),
        received_time => crate::core::london::time(at).format("%H:%M").to_string(),
        from => l.from.clone(),
        subject => l.subject.clone(),
        why => l.why.clone(),
        kind => l.suggested.as_str(),
        kind_label => kind_label(l.suggested),
        command => l.command.clone(),
    }
}

/// The `machine_mail` templates' variables: `organisation`, `shared_address`, `team` (the team's
/// name), `today`/`today_iso`, `since` (date of the previous list in words, empty for the first),
/// `keep_days` (how long a message is kept before it is deleted), `count`, and `lines`, one per
/// message, oldest first: `id` (`M-2026-000042`), `received`/`received_iso`/`received_time`
/// (London), `from`, `subject` (one line, cleaned and bounded: data, never run), `why` (why no
/// case was made), `kind`/`kind_label` (what it opens as by default), `command` (the exact
/// command that opens it), `open_address` (the address the recipient sends `open_line`, e.g.
/// `#open foi`, to, to open it by email; empty when none could be made) and `mailto` (the same
/// as a link with the command written in; empty likewise).
pub fn machine_mail_context(list: &MachineMailList, head: &Letterhead) -> Value {
    context! {
        organisation => head.organisation.clone(),
        shared_address => head.shared_address.clone(),
        team => list.team_name.clone(),
        today => date_in_words(list.today),
        today_iso => list.today.format("%Y-%m-%d").to_string(),
        since => list
            .since
            .map(|t| date_in_words(crate::core::london::date(t)))
            .unwrap_or_default(),
        keep_days => list.keep_days,
        count => list.lines.len(),
        lines => list.lines.iter().map(machine_line_value).collect::<Vec<_>>(),
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
        due => date_in_words(c.due),
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

/// The `machine_mail_reply` templates' variables: `organisation`, `shared_address`, `id` (the
/// record), `line` (its number) and `text` (the `#open` line as written; both empty when there
/// was none), `outcome` (`opened`, `already_opened`, `not_kept`, `not_understood`, `not_done`),
/// `reason` (why, for the last two), `reference` (the case made or made before; else empty),
/// `kind`/`kind_label` and `due`/`due_iso` (for `opened`; due empty when no clock runs) and `by`
/// (who opened it before, for `already_opened`).
pub fn machine_mail_reply_context(r: &MachineMailReply, head: &Letterhead) -> Value {
    let (outcome, reason, reference, kind, due, by) = match &r.outcome {
        OpenOutcome::Opened { case, kind, due } => (
            "opened",
            String::new(),
            Some(case),
            Some(*kind),
            *due,
            String::new(),
        ),
        OpenOutcome::AlreadyOpened { case, by } => (
            "already_opened",
            String::new(),
            Some(case),
            None,
            None,
            by.clone(),
        ),
        OpenOutcome::NotKept => ("not_kept", String::new(), None, None, None, String::new()),
        OpenOutcome::NotUnderstood(why) => (
            "not_understood",
            why.clone(),
            None,
            None,
            None,
            String::new(),
        ),
        OpenOutcome::NotDone(why) => ("not_done", why.clone(), None, None, None, String::new()),
    };
    let (due, due_iso) = opt_date(due);
    context! {
        organisation => head.organisation.clone(),
        shared_address => head.shared_address.clone(),
        id => r.id.to_string(),
        line => r.line.as_ref().map(|l| l.line.to_string()).unwrap_or_default(),
        text => r.line.as_ref().map(|l| l.text.clone()).unwrap_or_default(),
        outcome => outcome,
        reason => reason,
        reference => reference.map(ToString::to_string).unwrap_or_default(),
        kind => kind.map(|k| k.as_str()).unwrap_or_default(),
        kind_label => kind.map(kind_label).unwrap_or_default(),
        due => due,
        due_iso => due_iso,
        by => by,
    }
}

/// Sample data for the load-time check: every list filled and empty, every stage, escalation,
/// validity and command outcome. Each function takes the family name (unused), as the registry's
/// table wants.
pub(super) mod samples {
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

    pub(in crate::letters) fn digest(_: &str) -> Vec<Value> {
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
            unverified_answers: two(entry(6, None, None, false), None),
            counts: DigestCounts {
                open: 9,
                overdue: 2,
                due_soon: 2,
                waiting_on_requester: 2,
                new_since_last: 2,
                possible_repeats: 2,
                unverified_answers: 1,
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
            needs_human_triage: Vec::new(),
            machine_mail: machine_lines(),
            failed_mail: vec![
                FailedMail {
                    row: 41,
                    case: r(2),
                    what: "acknowledgement".into(),
                    queued: day(2026, 3, 2),
                },
                FailedMail {
                    row: 42,
                    case: None,
                    what: "staff_mail".into(),
                    queued: day(2026, 3, 2),
                },
            ],
        };
        let empty = Digest {
            scope: TeamFilter::All,
            overdue: vec![],
            due_soon: vec![],
            waiting_on_requester: vec![],
            new_since_last: vec![],
            possible_repeats: vec![],
            unverified_answers: vec![],
            counts: DigestCounts::default(),
            failed_mail: vec![],
            machine_mail: vec![],
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

    pub(in crate::letters) fn chaser(_: &str) -> Vec<Value> {
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

    pub(in crate::letters) fn assignment(_: &str) -> Vec<Value> {
        let Some(reference) = r(1) else {
            return Vec::new();
        };
        let full = AssignmentLetter {
            reference,
            kind: Kind::Foi,
            team_name: "Planning".into(),
            received: Some(day(2026, 3, 2)),
            due: Some(day(2026, 3, 30)),
            internal_target: Some(day(2026, 3, 20)),
            state: CaseState::Open,
            valid: Some(true),
            missing: vec![],
            why: "subject mentions planning".into(),
            original_attached: true,
            identity: None,
            language: Language::English,
        };
        let waiting = AssignmentLetter {
            received: None,
            due: None,
            internal_target: None,
            state: CaseState::AwaitingClarification,
            valid: Some(false),
            missing: vec!["description".into()],
            original_attached: false,
            ..full.clone()
        };
        let untested = AssignmentLetter {
            kind: Kind::Complaint,
            valid: None,
            ..full.clone()
        };
        let sar = AssignmentLetter {
            kind: Kind::Sar,
            identity: Some(IdentityState::Verifiable),
            language: Language::Welsh,
            ..full.clone()
        };
        let bilingual = AssignmentLetter {
            language: Language::Bilingual,
            ..full.clone()
        };
        [full, waiting, untested, sar, bilingual]
            .iter()
            .map(|a| assignment_context(a, &head(), "(the command list)"))
            .collect()
    }

    pub(in crate::letters) fn command_reply(_: &str) -> Vec<Value> {
        use crate::core::plan::letter::CommandLineResult;
        let Some(reference) = r(1) else {
            return Vec::new();
        };
        let line = |line: usize, outcome: CommandOutcome| CommandLineResult {
            line,
            text: "#note sample".into(),
            outcome,
        };
        let all = CommandReply {
            reference,
            lines: vec![
                line(1, CommandOutcome::Done),
                line(2, CommandOutcome::NotDone("not allowed".into())),
                line(3, CommandOutcome::NotUnderstood("unknown command".into())),
                line(4, CommandOutcome::Help),
            ],
            state: CaseState::Open,
            due: Some(day(2026, 3, 30)),
        };
        let none = CommandReply {
            lines: vec![],
            state: CaseState::AwaitingFee,
            due: None,
            ..all.clone()
        };
        let one = CommandReply {
            lines: vec![line(1, CommandOutcome::Done)],
            ..all.clone()
        };
        [all, none, one]
            .iter()
            .map(|c| command_reply_context(c, &head(), "(the command list)"))
            .collect()
    }

    pub(in crate::letters) fn command_refused(_: &str) -> Vec<Value> {
        let Some(reference) = r(1) else {
            return Vec::new();
        };
        let at = Utc
            .with_ymd_and_hms(2026, 3, 10, 11, 5, 0)
            .single()
            .unwrap_or_default();
        let senders = [
            ("bad_token", RefusedSender::Requester),
            (
                "other_recipient",
                RefusedSender::Staff("bob@example.gov.uk".into()),
            ),
            ("not_staff", RefusedSender::Other),
        ];
        senders
            .into_iter()
            .map(|(code, sender)| RefusalNotice {
                reference: reference.clone(),
                at,
                code,
                why: "the reply address does not carry a valid token for this case".into(),
                sender,
            })
            .map(|n| refusal_context(&n, &head()))
            .collect()
    }

    /// The command list has no variables.
    pub(in crate::letters) fn help(_: &str) -> Vec<Value> {
        vec![context! {}]
    }

    /// Two lines: an out-of-office reply and a message from one of our own addresses, with
    /// characters that must stay data (`<`, `{{`).
    pub(super) fn machine_lines() -> Vec<MachineMailLine> {
        use crate::model::machine::MachineMailId;
        let at = Utc
            .with_ymd_and_hms(2026, 3, 2, 14, 5, 0)
            .single()
            .unwrap_or_default();
        [
            (41, Kind::General, "Automatic reply: {{ 7*7 }} <b>away</b>"),
            (42, Kind::Foi, "FW: request"),
        ]
        .into_iter()
        .filter_map(|(seq, kind, subject)| {
            let id = MachineMailId::new(2026, seq)?;
            Some(MachineMailLine {
                id,
                received_at: at,
                from: "jo@example.org".into(),
                subject: subject.into(),
                why: "auto won: auto.auto-submitted 100".into(),
                suggested: kind,
                command: crate::core::plan::machine::open_command(&id, kind, "boss@example.gov.uk"),
                open_address: (seq == 41)
                    .then(|| format!("foi+{id}.3fa.0123456789abcdef0123@example.gov.uk")),
            })
        })
        .collect()
    }

    /// Every outcome of an emailed `#open`, with and without its line.
    pub(in crate::letters) fn machine_mail_reply(_: &str) -> Vec<Value> {
        use crate::core::plan::machine::by_mail::OpenLine;
        use crate::model::machine::MachineMailId;
        let (Some(id), Some(case)) = (MachineMailId::new(2026, 42), r(9)) else {
            return Vec::new();
        };
        let line = Some(OpenLine {
            line: 1,
            text: "#open foi".into(),
        });
        let outcomes = [
            (
                line.clone(),
                OpenOutcome::Opened {
                    case: case.clone(),
                    kind: Kind::Foi,
                    due: Some(day(2026, 4, 1)),
                },
            ),
            (
                line.clone(),
                OpenOutcome::Opened {
                    case: case.clone(),
                    kind: Kind::Sar,
                    due: None,
                },
            ),
            (
                line.clone(),
                OpenOutcome::AlreadyOpened {
                    case,
                    by: "alice@example.gov.uk".into(),
                },
            ),
            (line.clone(), OpenOutcome::NotKept),
            (None, OpenOutcome::NotUnderstood("no #open line".into())),
            (line, OpenOutcome::NotDone("the store refused it".into())),
        ];
        outcomes
            .into_iter()
            .map(|(line, outcome)| MachineMailReply { id, line, outcome })
            .map(|r| machine_mail_reply_context(&r, &head()))
            .collect()
    }

    /// A list with lines, a first list (no previous one) and an empty one.
    pub(in crate::letters) fn machine_mail(_: &str) -> Vec<Value> {
        let list = MachineMailList {
            team_name: "Information Governance".into(),
            today: day(2026, 3, 3),
            since: Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).single(),
            lines: machine_lines(),
            keep_days: 30,
        };
        let first = MachineMailList {
            since: None,
            ..list.clone()
        };
        let empty = MachineMailList {
            lines: Vec::new(),
            ..list.clone()
        };
        [list, first, empty]
            .iter()
            .map(|l| machine_mail_context(l, &head()))
            .collect()
    }
}

#[cfg(test)]
mod tests;
