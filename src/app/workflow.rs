//! The case workflow around the pure planners ([`crate::core::plan`]): routing and assignment
//! mail, staff commands by email, "responded" seen from the shared mailbox, and the scheduler's
//! timed work (chasers, digests, routing any case a crash left unrouted).
//!
//! Every function here reads the facts from the store, calls a planner, renders its letters into
//! `OutboxJob::Mail` rows of the same [`Change`] and returns the change to apply: the mail it
//! queues and the marks that make it happen once are written in the same transaction. Nothing
//! here sends.
//!
//! Choices (see the README and the planners):
//! - Routing happens right after a new case is committed, in its own change; the scheduler routes
//!   any open case without a team, so a crash in between only delays the assignment mail.
//! - A staff command acts only when the sender is on the routing file's staff list AND the message
//!   was sent to a reply address signed for that case and that sender, not expired, AND the mail
//!   gateway vouches for it ([`command`]). Results and errors are mailed back to the sender. A
//!   refused message is audited, the assignee is told (at most once a day per case), and the
//!   message is handed back to triage ([`StaffMail::Refused`]) so nothing sent to a reply address
//!   is lost.

use crate::config::{Config, MachineMailSettings, WorkflowConfig};
use crate::core::actions::{self, ReplyKeys};
use crate::core::chase::ChaserKey;
use crate::core::digest::{FAILED_MAIL_LOOKBACK_DAYS, FailedMail, failed_mail};
use crate::core::extract::SkipDocuments;
use crate::core::plan::assign::{self, AssignFacts, COUNTER_MARKS};
use crate::core::plan::command::{self, CommandFacts};
use crate::core::plan::letter::{Letter, LetterBody};
use crate::core::plan::machine::by_mail::{
    self, MachineMailReply, OpenByMail, OpenFacts, OpenLine,
};
use crate::core::plan::machine::{self as machine_plan, LISTED_MARK, ListFacts, Listed};
use crate::core::plan::office::Office;
use crate::core::plan::responded;
use crate::core::plan::tick::{self, CHASER_MARKS, DIGEST_MARKS, TickFacts};
use crate::core::routing::Routing;
use crate::core::triage::{Context, Outcome};
use crate::io::ids::{Ids, RandomIds};
use crate::io::store::{CaseTarget, Change, NewOutboxRow, Store, StoreError};
use crate::letters::staff::Letterhead;
use crate::letters::{Letters, RenderError, RenderedParts};
use crate::model::case::{Case, CaseRef};
use crate::model::kind::Kind;
use crate::model::letter::{OutboxJob, PreparedMail};
use crate::model::machine::MachineMailId;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Everything the workflow needs, loaded from the config.
pub struct Workflow {
    /// Teams, members and routes.
    pub routing: Routing,
    keys: ReplyKeys,
    templates: Letters,
    settings: WorkflowConfig,
    machine_mail: MachineMailSettings,
    organisation: String,
    shared_address: String,
    id_domain: String,
    ids: Arc<dyn Ids>,
}

impl std::fmt::Debug for Workflow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workflow").finish_non_exhaustive()
    }
}

/// What mail to a case's reply address is.
#[derive(Debug)]
pub enum StaffMail {
    /// A command that passed every check: record it and file the message with its case.
    Command(CommandRecord),
    /// Refused: the refusal's audit, mark and notice to the assignee, to apply in the same
    /// transaction as whatever triage makes of the message.
    Refused(Change),
    /// `#open` to a machine-mail record's signed address, every check passed: open the record,
    /// then answer with [`Workflow::open_reply`].
    Open(OpenOrder),
    /// Mail to a machine-mail record's signed address with nothing to open (already opened, no
    /// longer kept, not understood): the answer and the message's `seen` records.
    Answered(Change),
    /// Mail to a machine-mail record's signed address that failed a check (not staff, a tag
    /// for someone else, not vouched for): not a command, and not a request either (nobody but
    /// the list's recipient has the address), so it is kept as machine mail with this reason,
    /// where the next list shows it to a person.
    NotOpened(String),
}

/// An emailed `#open` to carry out.
#[derive(Debug, Clone)]
pub struct OpenOrder {
    /// The record.
    pub id: MachineMailId,
    /// The kind asked for (`None`: the record's suggestion).
    pub kind: Option<Kind>,
    /// The line that asked.
    pub line: OpenLine,
    /// Who asked (the staff address the record's address was signed for).
    pub sender: String,
    /// Their message's Message-ID (the answer threads onto it).
    pub message_id: Option<String>,
}

/// A staff command found in a message, planned: what to record and where to file the message.
#[derive(Debug)]
pub struct CommandRecord {
    /// The case the command's reply address names.
    pub reference: CaseRef,
    /// Its kind (the message is filed with the case).
    pub kind: Kind,
    /// The command's change, with the message's `seen` record (the caller adds the cursor).
    pub change: Change,
}

fn mail_row(case: Option<&CaseRef>, mail: PreparedMail, now: DateTime<Utc>) -> NewOutboxRow {
    let recipient = mail.to.first().cloned();
    NewOutboxRow {
        case: case.map(|r| CaseTarget::Existing(r.clone())),
        created_at: now,
        payload: OutboxJob::Mail(mail).to_payload().unwrap_or_default(),
        next_attempt_at: now,
        recipient,
    }
}

impl Workflow {
    /// Loads routing, the reply-address keys and the workflow templates; `Ok(None)` when the
    /// config has no `[workflow]` section.
    ///
    /// # Errors
    /// Every problem, one per line.
    pub fn load(config: &Config) -> Result<Option<Workflow>, String> {
        let Some(w) = &config.workflow else {
            return Ok(None);
        };
        let mut problems = Vec::new();
        let routing = Routing::load(&w.routing_file)
            .map_err(|e| problems.push(e.to_string()))
            .ok();
        let keys = ReplyKeys::new(&w.reply_keys)
            .map_err(|e| problems.push(format!("workflow.reply_secret_file: {e}")))
            .ok();
        // For the staff letters: the requesters' (and their Welsh versions) are rendered by the
        // outbox, with the set the daemon loads.
        let templates = Letters::load_configured(config.templates_dir.as_deref(), false)
            .map_err(|e| problems.extend(e.0.iter().map(ToString::to_string)))
            .ok();
        if let Some(keys) = &keys {
            // A seven-digit sequence is the longest reference a year will see; the recipient is
            // bound inside the tag, so its length does not matter.
            let probe = CaseRef::new("MEMBER", 2026, 9_999_999).map_err(|e| e.to_string())?;
            if let Err(e) = actions::reply_address(&config.address, &probe, "probe", keys) {
                problems.push(format!("mailbox.address: {e}"));
            }
        }
        if let (Some(routing), Some(team)) = (&routing, &config.machine_mail.team)
            && routing.team(team).is_none()
        {
            problems.push(format!(
                "machine_mail.team: {team:?} is not a team of the routing file {}",
                routing.origin()
            ));
        }
        match (routing, keys, templates) {
            (Some(routing), Some(keys), Some(templates)) if problems.is_empty() => {
                Ok(Some(Workflow {
                    routing,
                    keys,
                    templates,
                    settings: w.clone(),
                    machine_mail: config.machine_mail.clone(),
                    organisation: config.organisation.clone(),
                    shared_address: config.address.clone(),
                    id_domain: config
                        .address
                        .rsplit_once('@')
                        .map(|(_, d)| d.to_string())
                        .unwrap_or_default(),
                    ids: Arc::new(RandomIds),
                }))
            }
            _ => Err(problems.join("\n")),
        }
    }

    fn letterhead(&self) -> Letterhead {
        Letterhead {
            organisation: self.organisation.clone(),
            shared_address: self.shared_address.clone(),
        }
    }

    /// The configuration the planners read.
    fn office(&self) -> Office<'_> {
        Office {
            routing: &self.routing,
            keys: &self.keys,
            shared_address: &self.shared_address,
            settings: &self.settings,
            machine_mail: &self.machine_mail,
        }
    }

    /// Our Message-IDs, drawn for the planners.
    fn ids(&self) -> impl FnMut() -> String + '_ {
        move || self.ids.message_id(&self.id_domain)
    }

    /// Draws Message-IDs from `ids` (the daemon's environment) instead of the system source.
    pub fn with_ids(mut self, ids: Arc<dyn Ids>) -> Workflow {
        self.ids = ids;
        self
    }

    /// The address `recipient` replies to with commands for this case (from that address only).
    pub fn command_address(&self, reference: &CaseRef, recipient: &str) -> Option<String> {
        self.office().command_address(reference, recipient)
    }

    /// The ids of the reply-address keys, newest (the signing key) first.
    pub fn key_ids(&self) -> Vec<String> {
        self.keys.ids().map(str::to_string).collect()
    }

    /// A staff handle (`alice`, `@alice`) or staff address, resolved to the address on the
    /// routing file; `None` for anyone not on it.
    pub fn resolve(&self, handle: &str) -> Option<String> {
        self.office().resolve(handle)
    }

    /// Renders the planned letters into outbox rows of `change`. A letter that cannot be rendered
    /// (a template error the load-time check did not reach) is logged and left out; returns
    /// whether every letter was rendered.
    fn with_mail(&self, change: &mut Change, letters: Vec<Letter>, now: DateTime<Utc>) -> bool {
        let head = self.letterhead();
        let mut all = true;
        for letter in letters {
            match self.templates.render_staff(&letter, &head) {
                Ok(mail) => change
                    .outbox_new
                    .push(mail_row(letter.case.as_ref(), mail, now)),
                Err(e) => {
                    let what = match &letter.body {
                        LetterBody::Assignment(_) => "assignment",
                        LetterBody::CommandReply(_) => "command reply",
                        LetterBody::CommandRefused(_) => "refused-command notice",
                        LetterBody::Chaser(_) => "chaser",
                        LetterBody::Digest(_) => "digest",
                        LetterBody::MachineMail(_) => "machine-mail list",
                        LetterBody::MachineMailReply(_) => "answer to #open",
                    };
                    tracing::error!(case = ?letter.case, to = ?letter.to, error = %e, "{what} cannot be rendered");
                    all = false;
                }
            }
        }
        all
    }

    /// Routes a case (new, or left unrouted by a crash) and queues the assignment mail.
    ///
    /// # Errors
    /// Store reads.
    pub fn assign(
        &self,
        store: &Store,
        ctx: &Context,
        case: &Case,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<Change, StoreError> {
        let counters: BTreeMap<String, u64> = store
            .marks(COUNTER_MARKS)?
            .into_iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(COUNTER_MARKS)?.to_string(), v.as_u64()?)))
            .collect();
        let mut earlier = Vec::new();
        for r in store.cases_by_requester(&case.requester.email)? {
            if r != case.reference
                && let Some(c) = store.get_case(&r)?
            {
                earlier.push(c);
            }
        }
        let original_stored = match case.content_hashes.first() {
            Some(h) => store.raw(h)?.is_some(),
            None => false,
        };
        let facts = AssignFacts {
            case,
            body,
            counters: &counters,
            earlier: &earlier,
            original_stored,
        };
        let (mut change, letters) =
            assign::plan_assign(&self.office(), ctx, &facts, now, &mut self.ids());
        self.with_mail(&mut change, letters, now);
        Ok(change)
    }

    /// Mail sent to a case's signed reply address: a command that runs (recorded with the
    /// message's `seen` record), or one refused ([`StaffMail::Refused`]: the caller triages the
    /// message and applies the refusal with it). `None` when the message is not for a reply
    /// address (or is machine mail, or names no case we have).
    ///
    /// # Errors
    /// Store reads.
    pub fn staff_command(
        &self,
        store: &Store,
        ctx: &Context,
        outcome: &Outcome,
        now: DateTime<Utc>,
    ) -> Result<Option<StaffMail>, StoreError> {
        let msg = &outcome.message;
        if outcome.kind() == Kind::Auto {
            return Ok(None);
        }
        if let Some(tag) = by_mail::command_target(msg) {
            return self.open_command(store, outcome, &tag, now);
        }
        let Some(tag) = command::command_target(msg) else {
            return Ok(None);
        };
        let Some(case) = store.get_case(&tag.reference)? else {
            return Ok(None);
        };
        let sender = msg
            .from
            .as_ref()
            .map(|a| a.email.clone())
            .unwrap_or_default();
        let last_notice = store
            .mark(&command::notice_key(&case.reference))?
            .and_then(|v| serde_json::from_value(v).ok());
        let facts = CommandFacts {
            case: &case,
            tag: &tag,
            msg,
            sender: &sender,
            auth: &outcome.auth,
            last_notice,
        };
        let plan = command::plan_command(&self.office(), ctx, &facts, now, &mut self.ids());
        let mut change = plan.change;
        self.with_mail(&mut change, plan.letters, now);
        if let Some(refused) = plan.refused {
            tracing::warn!(case = %case.reference, why = refused.code(), "staff command refused; the message goes to triage");
            return Ok(Some(StaffMail::Refused(change)));
        }
        let why = format!("staff command for {}", case.reference);
        change.seen.extend(crate::core::plan::ingest::seen_records(
            msg, case.kind, &why, now,
        ));
        Ok(Some(StaffMail::Command(CommandRecord {
            reference: case.reference.clone(),
            kind: case.kind,
            change,
        })))
    }

    /// Mail to a machine-mail record's signed address ([`by_mail`]): an `#open` to carry out, an
    /// answer when there is nothing to open, or a refusal (a check failed: logged, and the
    /// message is kept as machine mail, see [`StaffMail::NotOpened`]).
    fn open_command(
        &self,
        store: &Store,
        outcome: &Outcome,
        tag: &crate::core::actions::MachineTag,
        now: DateTime<Utc>,
    ) -> Result<Option<StaffMail>, StoreError> {
        let msg = &outcome.message;
        let sender = msg
            .from
            .as_ref()
            .map(|a| a.email.clone())
            .unwrap_or_default();
        let record = store.machine_mail(&tag.id)?;
        let facts = OpenFacts {
            tag,
            msg,
            sender: &sender,
            auth: &outcome.auth,
            record: record.as_ref(),
        };
        match by_mail::plan_open(&self.office(), &facts) {
            OpenByMail::Refused(r) => {
                tracing::warn!(id = %tag.id, why = r.code(), "#open to a machine-mail address refused; kept as machine mail");
                Ok(Some(StaffMail::NotOpened(format!(
                    "mail to the address that opens {} was refused as a command: {}",
                    tag.id,
                    r.why()
                ))))
            }
            OpenByMail::Open { id, kind, line } => Ok(Some(StaffMail::Open(OpenOrder {
                id,
                kind,
                line,
                sender,
                message_id: msg.message_id.clone(),
            }))),
            OpenByMail::Answer(reply) => {
                let filed = record.as_ref().map_or(Kind::Auto, |r| r.kind);
                let mut change = self.open_reply(&sender, msg.message_id.clone(), reply, now);
                let why = format!("#open for machine mail {}", tag.id);
                change.seen.extend(crate::core::plan::ingest::seen_records(
                    msg, filed, &why, now,
                ));
                Ok(Some(StaffMail::Answered(change)))
            }
        }
    }

    /// The answer to an emailed `#open`, rendered into a change (its outbox row).
    pub fn open_reply(
        &self,
        to: &str,
        in_reply_to: Option<String>,
        reply: MachineMailReply,
        now: DateTime<Utc>,
    ) -> Change {
        let letter = by_mail::reply_letter(&self.office(), to, in_reply_to, reply, (self.ids())());
        let mut change = Change::default();
        self.with_mail(&mut change, vec![letter], now);
        change
    }

    /// A message from our own shared mailbox to the requester, with the case reference: the
    /// response went out. Records it (audited), unless the case is already answered or closed.
    pub fn responded(&self, ctx: &Context, case: &Case, now: DateTime<Utc>) -> Option<Change> {
        responded::plan_responded(ctx, case, now)
    }

    /// A message in the inbox `From` our own address quoting the case: recorded as the response
    /// only when the trusted gateway vouches for it, else audited as not believed.
    pub fn responded_by_mail(
        &self,
        ctx: &Context,
        case: &Case,
        outcome: &Outcome,
        now: DateTime<Utc>,
    ) -> Option<Change> {
        let id = outcome.message.message_id.as_deref();
        responded::plan_responded_by_mail(ctx, case, &outcome.auth, id, now)
    }

    /// The digest for one team at `now`, rendered (what the scheduler mails to the manager and
    /// `foi-triage digest --dry-run` prints).
    ///
    /// # Errors
    /// A template error.
    pub fn team_digest(
        &self,
        cases: &[Case],
        failed_mail: &[FailedMail],
        team: &str,
        last: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        ctx: &Context,
    ) -> Result<RenderedParts, RenderError> {
        let d = tick::team_digest(&self.office(), ctx, cases, failed_mail, team, last, now);
        self.templates.render_digest(&d, &self.letterhead())
    }

    /// The scheduler's work at `now`: route unrouted cases, chasers and digests. Returns the
    /// changes to apply (one per unit, so one failure does not block the rest) and when to run
    /// next. A chaser that cannot be rendered is left out with its mark (planned again next
    /// time); a digest that cannot be rendered still sets its mark.
    ///
    /// # Errors
    /// Store reads.
    pub fn tick(
        &self,
        store: &Store,
        ctx: &Context,
        now: DateTime<Utc>,
    ) -> Result<(Vec<Change>, DateTime<Utc>), StoreError> {
        let cases = tick::watched(store.list_cases(crate::io::store::CaseOrder::Reference)?);
        let mut changes = Vec::new();
        for c in tick::unrouted(&cases) {
            let body = c
                .content_hashes
                .first()
                .and_then(|h| store.raw(h).ok().flatten())
                // Routing reads the body only: no document is decoded.
                .map(|raw| crate::core::parse::parse(&raw, &SkipDocuments).body_text)
                .unwrap_or_default();
            changes.push(self.assign(store, ctx, c, &body, now)?);
        }
        let chasers_sent: BTreeSet<ChaserKey> = store
            .marks(CHASER_MARKS)?
            .into_iter()
            .filter_map(|(k, _)| k.strip_prefix(CHASER_MARKS)?.parse().ok())
            .collect();
        let last_digests: BTreeMap<String, DateTime<Utc>> = store
            .marks(DIGEST_MARKS)?
            .into_iter()
            .filter_map(|(k, v)| {
                let team = k.strip_prefix(DIGEST_MARKS)?.to_string();
                Some((team, serde_json::from_value(v).ok()?))
            })
            .collect();
        let failed_mail = recent_failed_mail(store, now)?;
        let listed = Listed::from_mark(store.mark(LISTED_MARK)?);
        let pending = store.machine_mail_after(listed.last)?;
        let facts = TickFacts {
            cases: &cases,
            chasers_sent: &chasers_sent,
            last_digests: &last_digests,
            needs_triage: &crate::core::plan::poison::needs_triage(
                &store.marks(crate::core::plan::poison::NEEDS_TRIAGE_PREFIX)?,
            ),
            failed_mail: &failed_mail,
            machine_mail: ListFacts {
                pending: &pending,
                listed,
            },
        };
        let plan = tick::plan_tick(&self.office(), ctx, &facts, now, &mut self.ids());
        for (mut change, letters) in plan.units {
            let chaser = letters
                .iter()
                .any(|l| matches!(l.body, LetterBody::Chaser(_)));
            if !self.with_mail(&mut change, letters, now) {
                if chaser {
                    continue;
                }
                // The machine mail it would have listed waits for the next list: never marked
                // listed unsent.
                change.marks.retain(|m| m.key != LISTED_MARK);
            }
            if !change.is_empty() {
                changes.push(change);
            }
        }
        Ok((changes, plan.next))
    }

    /// The machine-mail list the scheduler would send at `now` if the team's digest did not carry
    /// it, rendered (for `foi-triage digest --dry-run`); `None` when nothing waits or no team
    /// gets it.
    ///
    /// # Errors
    /// A store read or a template error, in words.
    pub fn machine_mail_preview(
        &self,
        store: &Store,
        now: DateTime<Utc>,
    ) -> Result<Option<(String, RenderedParts)>, String> {
        let Some(team) = machine_plan::list_team(&self.routing, &self.machine_mail) else {
            return Ok(None);
        };
        let listed = Listed::from_mark(store.mark(LISTED_MARK).map_err(|e| e.to_string())?);
        let pending = store
            .machine_mail_after(listed.last)
            .map_err(|e| e.to_string())?;
        let lines = machine_plan::lines(&self.office(), &pending, &team.manager);
        if lines.is_empty() {
            return Ok(None);
        }
        let list = machine_plan::MachineMailList {
            team_name: team.name.clone(),
            today: crate::core::london::date(now),
            since: listed.at,
            lines,
            keep_days: self.machine_mail.keep_days,
        };
        let parts = self
            .templates
            .render_machine_mail(&list, &self.letterhead())
            .map_err(|e| e.to_string())?;
        Ok(Some((team.manager.clone(), parts)))
    }
}

/// The change that deletes the machine-mail records past their retention period (with their raw
/// bytes), if any: the scheduler applies it and logs how many (there is no case to audit on).
/// Runs whether or not the workflow is configured.
///
/// # Errors
/// A store read.
pub fn machine_mail_purge(
    store: &Store,
    settings: &MachineMailSettings,
    now: DateTime<Utc>,
) -> Result<Option<Change>, StoreError> {
    let kept = store.machine_mail_after(0)?;
    Ok(machine_plan::plan_purge(&kept, settings.keep_days, now))
}

/// The outbox rows given up on in the last [`FAILED_MAIL_LOOKBACK_DAYS`] days, for the digests
/// (what the scheduler sends and `foi-triage digest --dry-run` prints).
///
/// # Errors
/// A store read error.
pub fn recent_failed_mail(
    store: &Store,
    now: DateTime<Utc>,
) -> Result<Vec<FailedMail>, StoreError> {
    let since = now - chrono::TimeDelta::days(FAILED_MAIL_LOOKBACK_DAYS);
    Ok(failed_mail(&store.outbox_failed(since)?))
}

#[cfg(test)]
pub(crate) mod tests;
