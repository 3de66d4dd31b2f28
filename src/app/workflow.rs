//! The case workflow around the pure planners: routing and assignment mail, staff commands by
//! email, "responded" seen from the shared mailbox, and the scheduler's timed work (chasers,
//! digests, routing any case a crash left unrouted).
//!
//! Every function here reads the store and returns a [`Change`] to apply: the mail it queues and
//! the marks that make it happen once are written in the same transaction. Nothing here sends.
//!
//! Choices (see the README):
//! - Routing happens right after a new case is committed, in its own change; the scheduler routes
//!   any open case without a team, so a crash in between only delays the assignment mail.
//! - A staff command acts only when the sender is on the routing file's staff list AND the message
//!   was sent to the case's HMAC-signed reply address; anything else is refused and audited, and
//!   changes nothing. Results and errors are mailed back to the sender.
//! - `#clarify`, `#id` and `#fee` also send the requester a "we need more information" letter
//!   with the officer's text.

use crate::config::{Config, WorkflowConfig};
use crate::core::actions::{self, Action, Command, ReplySecret};
use crate::core::chase::{self, ChaserKey, Escalation};
use crate::core::deadline;
use crate::core::digest::{self, DigestInput, TeamFilter};
use crate::core::routing::Routing;
use crate::core::triage::Context;
use crate::io::outbox::new_message_id;
use crate::io::store::{
    AuditAppend, CaseTarget, CaseUpdate, Change, Mark, NewOutboxRow, Store, StoreError,
};
use crate::letters::compose::PreparedMail;
use crate::letters::staff::{self, Letterhead, WorkflowTemplates};
use crate::model::case::{AuditEvent, Case, CaseRef, SYSTEM_ACTOR};
use crate::model::letter::{AckJob, MissingItem, OutboxJob};
use crate::model::message::Message;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

/// Longest sleep of the scheduler: it re-plans at least this often (15 minutes), so a changed
/// case or a clock jump is noticed without a wake-up.
pub const MAX_SLEEP: std::time::Duration = std::time::Duration::from_secs(900);

/// Everything the workflow needs, loaded from the config.
pub struct Workflow {
    /// Teams, members and routes.
    pub routing: Routing,
    secret: ReplySecret,
    templates: WorkflowTemplates,
    settings: WorkflowConfig,
    organisation: String,
    shared_address: String,
    id_domain: String,
}

impl std::fmt::Debug for Workflow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workflow").finish_non_exhaustive()
    }
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
    /// Loads routing, the reply secret and the workflow templates; `Ok(None)` when the config has
    /// no `[workflow]` section.
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
        let secret = ReplySecret::new(w.reply_secret.as_bytes())
            .map_err(|e| problems.push(format!("workflow.reply_secret_file: {e}")))
            .ok();
        let templates = WorkflowTemplates::load(&config.templates_dir)
            .map_err(|e| problems.extend(e.0.iter().map(ToString::to_string)))
            .ok();
        if let Some(secret) = &secret {
            // A seven-digit sequence is the longest reference a year will see.
            let probe = CaseRef::new("MEMBER", 2026, 9_999_999).map_err(|e| e.to_string())?;
            if let Err(e) = actions::reply_address(&config.address, &probe, secret) {
                problems.push(format!("mailbox.address: {e}"));
            }
        }
        match (routing, secret, templates) {
            (Some(routing), Some(secret), Some(templates)) if problems.is_empty() => {
                Ok(Some(Workflow {
                    routing,
                    secret,
                    templates,
                    settings: w.clone(),
                    organisation: config.organisation.clone(),
                    shared_address: config.address.clone(),
                    id_domain: config
                        .address
                        .rsplit_once('@')
                        .map(|(_, d)| d.to_string())
                        .unwrap_or_default(),
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

    /// The address staff reply to with commands for this case.
    pub fn command_address(&self, reference: &CaseRef) -> Option<String> {
        actions::reply_address(&self.shared_address, reference, &self.secret).ok()
    }

    /// A staff handle (`alice`, `@alice`) or staff address, resolved to the address on the
    /// routing file; `None` for anyone not on it.
    pub fn resolve(&self, handle: &str) -> Option<String> {
        let h = handle.trim().trim_start_matches('@');
        self.routing
            .member_by_handle(h)
            .map(|m| m.address.clone())
            .or_else(|| self.routing.member_by_address(h).map(|m| m.address.clone()))
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
        let Some(first) = self.routing.route(case.kind, &case.subject, body, 0) else {
            return Ok(Change::default());
        };
        let counter_key = format!("rr/{}", first.team);
        let counter = store
            .mark(&counter_key)?
            .and_then(|v| v.as_u64())
            .unwrap_or(0);
        let d = self
            .routing
            .route(case.kind, &case.subject, body, counter)
            .unwrap_or(first);
        let mut updated = case.clone();
        updated.team = Some(d.team.clone());
        updated.assignee = d.assignee.clone();
        updated.updated_at = now;
        let repeats = self.repeats(store, &mut updated, body, now)?;
        let mut change = Change {
            case_updates: vec![CaseUpdate {
                case: updated.clone(),
                expected: Some(case.clone()),
            }],
            ..Change::default()
        };
        if d.used_round_robin {
            change.marks.push(Mark {
                key: counter_key,
                value: json!(counter + 1),
            });
        }
        let target = CaseTarget::Existing(case.reference.clone());
        for r in repeats {
            change.audit.push(AuditAppend {
                case: target.clone(),
                event: AuditEvent::system(
                    now,
                    "possible_repeat",
                    json!({"of": r.reference, "score": r.score, "reasons": r.reasons}),
                    format!("{} (for a person to judge; nothing was refused)", r.why),
                ),
            });
        }
        change.audit.push(AuditAppend {
            case: target.clone(),
            event: AuditEvent::system(now,
                "routed",
                json!({"team": d.team, "assignee": d.assignee, "rule": d.rule, "also_matched": d.also_matched}),
                d.why.clone(),
            ),
        });
        let team = self.routing.team(&d.team);
        let mut to: Vec<String> = d.assignee.iter().cloned().collect();
        if let Some(inbox) = team.and_then(|t| t.inbox.clone()) {
            to.push(inbox);
        }
        if to.is_empty()
            && let Some(m) = self.routing.manager_of(&d.team)
        {
            to.push(m.to_string());
        }
        if !to.is_empty() {
            let target_date = ctx.regime(case.kind).and_then(|regime| {
                let input = deadline::ClockInput {
                    regime,
                    region: ctx.region,
                    received_at: case.received_at,
                    events: case.clock_events.clone(),
                };
                match deadline::compute(&input, &ctx.calendar, &ctx.options)
                    .ok()?
                    .clock
                {
                    deadline::Clock::Running {
                        internal_target, ..
                    } => internal_target,
                    deadline::Clock::Stopped { .. } => None,
                }
            });
            let mail = self.assignment_mail(
                target_date,
                &updated,
                to,
                team.map(|t| t.name.as_str()).unwrap_or(&d.team),
                &d.why,
                store,
            )?;
            change
                .outbox_new
                .push(mail_row(Some(&case.reference), mail, now));
            change.audit.push(AuditAppend {
                case: target,
                event: AuditEvent::system(
                    now,
                    "assignment_mail_queued",
                    json!({"team": d.team, "assignee": d.assignee}),
                    "assignment email queued".into(),
                ),
            });
        }
        Ok(change)
    }

    /// Fingerprints the request and flags earlier requests from the same address that look like
    /// it (or the same issue by another route). Only the requester's own earlier cases are
    /// compared: a lookup by address, not a scan of every case.
    fn repeats(
        &self,
        store: &Store,
        case: &mut Case,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<crate::core::repeat::PossibleRepeat>, StoreError> {
        use crate::core::repeat::{Candidate, Fingerprint, find_repeats};
        let fp = Fingerprint::of(&format!("{}\n{}", case.subject, body));
        case.workflow.fingerprint = Some(fp.clone());
        let mut earlier = Vec::new();
        for r in store.cases_by_requester(&case.requester.email)? {
            if r == case.reference {
                continue;
            }
            if let Some(c) = store.get_case(&r)?
                && let Some(f) = c.workflow.fingerprint.clone()
            {
                earlier.push(Candidate {
                    reference: c.reference.clone(),
                    kind: c.kind,
                    received_at: c.received_at,
                    address: c.requester.email.clone(),
                    name: c.requester.name.clone(),
                    fingerprint: f,
                });
            }
        }
        let new = Candidate {
            reference: case.reference.clone(),
            kind: case.kind,
            received_at: case.received_at,
            address: case.requester.email.clone(),
            name: case.requester.name.clone(),
            fingerprint: fp,
        };
        let s = &self.settings.repeats;
        let found: Vec<_> = find_repeats(&new, &earlier, now, s.window_months, s.threshold)
            .into_iter()
            .filter(|r| r.same_person())
            .collect();
        for r in &found {
            case.workflow
                .flags
                .push(crate::model::case::Flag::PossibleRepeat {
                    of: r.reference.clone(),
                    why: r.why.clone(),
                });
        }
        Ok(found)
    }

    fn assignment_mail(
        &self,
        target_date: Option<chrono::NaiveDate>,
        case: &Case,
        to: Vec<String>,
        team_name: &str,
        why: &str,
        store: &Store,
    ) -> Result<PreparedMail, StoreError> {
        let received = deadline::local_date(case.received_at)
            .map(crate::letters::compose::date_in_words)
            .unwrap_or_default();
        let due = match case.due {
            Some(d) => format!("Due: {}", crate::letters::compose::date_in_words(d)),
            None => format!("Clock: not running ({})", case.state),
        };
        let due = match target_date {
            Some(t) => format!(
                "{due}\nInternal target: {}",
                crate::letters::compose::date_in_words(t)
            ),
            None => due,
        };
        let valid = match case.valid {
            Some(true) => "valid".to_string(),
            Some(false) => format!("not yet valid (missing: {})", case.missing.join(", ")),
            None => "no statutory validity test".to_string(),
        };
        let hash = case.content_hashes.first().cloned();
        let attach = match &hash {
            Some(h) if store.raw(h)?.is_some() => Some(h.clone()),
            _ => None,
        };
        let text = format!(
            "Case {r} ({kind}) is assigned to you (team: {team_name}).\n\n\
             Received: {received}\n{due}\nValidity: {valid}\nRouted because: {why}\n\n\
             {original}\n\n\
             To act on the case, REPLY to this email with one command per line at the top of your \
             reply. Only replies from staff addresses to this email's reply address are accepted.\n\n{help}\n",
            r = case.reference,
            kind = case.kind.as_str(),
            original = if attach.is_some() {
                "The original message is attached."
            } else {
                "The original message is in the shared mailbox's Triage folders."
            },
            help = actions::help_text(),
        );
        Ok(PreparedMail {
            to,
            cc: Vec::new(),
            reply_to: self.command_address(&case.reference),
            subject: format!(
                "[{}] Assigned: {} request{}",
                case.reference,
                case.kind.as_str(),
                case.due
                    .map(|d| format!(", due {}", d.format("%a %-d %b %Y")))
                    .unwrap_or_default()
            ),
            text,
            html: None,
            message_id: new_message_id(&self.id_domain),
            in_reply_to: None,
            attach_original: attach,
        })
    }

    /// The case a message addresses through a tokened reply address, if any (To, Cc, or the
    /// delivery headers), with the token.
    pub fn command_target(msg: &Message) -> Option<(CaseRef, String)> {
        let header_addrs = msg
            .headers
            .iter()
            .filter(|(k, _)| {
                k.eq_ignore_ascii_case("delivered-to") || k.eq_ignore_ascii_case("x-original-to")
            })
            .map(|(_, v)| v.trim().trim_matches(['<', '>']).to_string());
        msg.to
            .iter()
            .chain(msg.cc.iter())
            .map(|a| a.email.clone())
            .chain(header_addrs)
            .find_map(|a| actions::parse_reply_address(&a))
    }

    /// Runs the commands in a staff reply, or refuses them (forged or unknown sender). Always
    /// returns a change: at least the audit of what happened.
    #[allow(clippy::too_many_arguments)]
    pub fn command(
        &self,
        ctx: &Context,
        case: &Case,
        token: &str,
        msg: &Message,
        sender: &str,
        now: DateTime<Utc>,
    ) -> Change {
        let target = CaseTarget::Existing(case.reference.clone());
        let staff = self.routing.is_staff(sender);
        let token_ok = actions::verify(&self.secret, &case.reference, token);
        let mut change = Change::default();
        if !staff || !token_ok {
            let why = match (staff, token_ok) {
                (false, _) => "the sender is not on the staff list",
                (true, false) => "the reply address does not carry this case's valid token",
                _ => "",
            };
            tracing::warn!(case = %case.reference, why, "staff command refused");
            change.audit.push(AuditAppend {
                case: target,
                event: AuditEvent::new(
                    now,
                    sender,
                    "command_refused",
                    json!({"message_id": msg.message_id, "from": sender}),
                    format!("emailed command refused: {why}; nothing changed"),
                ),
            });
            return change;
        }
        let mut current = case.clone();
        let mut report = Vec::new();
        let mut audit = Vec::new();
        let mut requester_letters = Vec::new();
        let lines = actions::parse_commands(&msg.body_text);
        if lines.is_empty() {
            report.push(
                "No command found: commands are lines starting with # at the top of your reply."
                    .to_string(),
            );
        }
        for l in &lines {
            match &l.result {
                Ok(Command::Help) => report.push(actions::help_text().to_string()),
                Ok(Command::Act(action)) => {
                    let resolve = |h: &str| self.resolve(h);
                    match actions::apply(&current, action, sender, "by email", now, ctx, &resolve) {
                        Ok(done) => {
                            report.push(format!("line {}: done: {}", l.line, l.text));
                            if let Some(text) = asks_requester(action) {
                                requester_letters.push(text);
                            }
                            current = done.case;
                            audit.extend(done.audit);
                        }
                        Err(e) => {
                            report.push(format!("line {}: NOT done: {}: {e}", l.line, l.text))
                        }
                    }
                }
                Err(e) => report.push(format!("line {}: NOT understood: {}: {e}", l.line, l.text)),
            }
        }
        if current != *case {
            change.case_updates.push(CaseUpdate {
                case: current.clone(),
                expected: Some(case.clone()),
            });
        }
        change.audit = AuditAppend::all(&target, audit);
        for text in requester_letters {
            let job = AckJob {
                template: "need_more_info".into(),
                to: current.requester.email.clone(),
                message_id: new_message_id(&self.id_domain),
                in_reply_to: current.message_ids.first().cloned(),
                references: Vec::new(),
                their_subject: current.subject.clone(),
                requester_name: current.requester.name.clone(),
                missing: vec![MissingItem {
                    name: "clarification".into(),
                    explain: text,
                }],
                received: deadline::local_date(current.received_at).unwrap_or_default(),
                due: None,
            };
            if let Ok(row) = OutboxJob::Ack(job).new_row(target.clone(), now) {
                change.outbox_new.push(row);
            }
        }
        let state = match current.due {
            Some(d) => format!(
                "{}; due {}",
                current.state,
                crate::letters::compose::date_in_words(d)
            ),
            None => current.state.to_string(),
        };
        let reply = PreparedMail {
            to: vec![sender.to_string()],
            cc: Vec::new(),
            reply_to: self.command_address(&case.reference),
            subject: format!(
                "[{}] Your command{}",
                case.reference,
                if lines.len() > 1 { "s" } else { "" }
            ),
            text: format!(
                "{}\n\nCase {} is now: {state}.\n",
                report.join("\n"),
                case.reference
            ),
            html: None,
            message_id: new_message_id(&self.id_domain),
            in_reply_to: msg.message_id.clone(),
            attach_original: None,
        };
        change
            .outbox_new
            .push(mail_row(Some(&case.reference), reply, now));
        change
    }

    /// A message from our own shared mailbox to the requester, with the case reference: the
    /// response went out. Records it (audited), unless the case is already answered or closed.
    pub fn responded(&self, ctx: &Context, case: &Case, now: DateTime<Utc>) -> Option<Change> {
        let none = |_: &str| None;
        let done = actions::apply(
            case,
            &Action::Responded { on: None },
            SYSTEM_ACTOR,
            "a response was sent from the shared mailbox",
            now,
            ctx,
            &none,
        )
        .ok()?;
        Some(done.into_change(case))
    }

    /// The digest for one team at `now`, rendered (what the scheduler mails to the manager and
    /// `foi-triage digest --dry-run` prints).
    ///
    /// # Errors
    /// A template error.
    pub fn team_digest(
        &self,
        cases: &[Case],
        team: &str,
        last: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        ctx: &Context,
    ) -> Result<staff::RenderedEmail, staff::RenderError> {
        let responded: BTreeMap<CaseRef, DateTime<Utc>> = cases
            .iter()
            .filter_map(|c| Some((c.reference.clone(), c.workflow.responded_at?)))
            .collect();
        let repeats = |r: &CaseRef| -> Vec<CaseRef> {
            cases
                .iter()
                .find(|c| &c.reference == r)
                .map(|c| {
                    c.workflow
                        .flags
                        .iter()
                        .filter_map(|f| match f {
                            crate::model::case::Flag::PossibleRepeat { of, .. } => Some(of.clone()),
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let scope = TeamFilter::Team(team.to_string());
        let d = digest::plan_digest(
            &DigestInput {
                cases,
                scope: &scope,
                now,
                last_digest_at: last,
                cal: &ctx.calendar,
                region: ctx.region,
                possible_repeats: &repeats,
                responded_at: &responded,
            },
            &self.settings.digests,
        );
        self.templates.render_digest(&d, &self.letterhead())
    }

    /// The scheduler's work at `now`: route unrouted cases, chasers and digests. Returns the
    /// changes to apply (one per unit, so one failure does not block the rest) and when to run
    /// next.
    ///
    /// # Errors
    /// Store reads.
    pub fn tick(
        &self,
        store: &Store,
        ctx: &Context,
        now: DateTime<Utc>,
    ) -> Result<(Vec<Change>, DateTime<Utc>), StoreError> {
        let cases: Vec<Case> = store
            .list_cases(crate::io::store::CaseOrder::Reference)?
            .into_iter()
            .filter(|c| c.kind != crate::model::kind::Kind::Auto)
            .collect();
        let mut changes = Vec::new();
        for c in cases
            .iter()
            .filter(|c| c.team.is_none() && !c.state.is_finished() && !c.workflow.imported)
        {
            let body = c
                .content_hashes
                .first()
                .and_then(|h| store.raw(h).ok().flatten())
                .map(|raw| crate::core::parse::parse(&raw).body_text)
                .unwrap_or_default();
            changes.push(self.assign(store, ctx, c, &body, now)?);
        }
        // Chasers.
        let sent: BTreeSet<ChaserKey> = store
            .marks("chaser/")?
            .into_iter()
            .filter_map(|(k, _)| k.strip_prefix("chaser/")?.parse().ok())
            .collect();
        let region = ctx.region;
        let chasers = chase::plan_chasers(
            &cases,
            &sent,
            now,
            &ctx.calendar,
            region,
            &self.settings.chasers,
        );
        for ch in &chasers {
            let manager = ch
                .team
                .as_deref()
                .and_then(|t| self.routing.manager_of(t))
                .map(str::to_string);
            let head = ch
                .team
                .as_deref()
                .and_then(|t| self.routing.head_of_service_of(t))
                .map(str::to_string);
            let mut to: Vec<String> = ch.assignee.iter().cloned().collect();
            let mut cc = Vec::new();
            if (ch.escalation != Escalation::None || to.is_empty())
                && let Some(m) = &manager
            {
                if to.is_empty() {
                    to.push(m.clone());
                } else {
                    cc.push(m.clone());
                }
            }
            if ch.escalation == Escalation::HeadOfService
                && let Some(h) = head
            {
                cc.push(h);
            }
            let mut change = Change::default();
            change.marks.push(Mark {
                key: format!("chaser/{}", ch.key),
                value: json!(now),
            });
            let target = CaseTarget::Existing(ch.case.clone());
            if to.is_empty() {
                change.audit.push(AuditAppend {
                    case: target,
                    event: AuditEvent::system(
                        now,
                        "chaser_skipped",
                        json!({"slot": ch.slot.to_string()}),
                        "no assignee and no team manager to chase".into(),
                    ),
                });
                changes.push(change);
                continue;
            }
            let rendered = match self.templates.render_chaser(ch, &self.letterhead()) {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(case = %ch.case, error = %e, "chaser cannot be rendered");
                    continue;
                }
            };
            let mail = PreparedMail {
                to: to.clone(),
                cc: cc.clone(),
                reply_to: self.command_address(&ch.case),
                subject: rendered.subject,
                text: rendered.text,
                html: Some(rendered.html),
                message_id: new_message_id(&self.id_domain),
                in_reply_to: None,
                attach_original: None,
            };
            change.outbox_new.push(mail_row(Some(&ch.case), mail, now));
            change.audit.push(AuditAppend {
                case: target,
                event: AuditEvent::system(now, "chaser_queued", json!({"slot": ch.slot.to_string(), "due": ch.due, "to": to, "cc": cc, "overdue_working_days": ch.overdue_working_days}), format!("chaser {} for the due date {}", ch.slot, ch.due)),
            });
            changes.push(change);
        }
        // Digests, one per team with a manager.
        let mut next = now + Duration::from_std(MAX_SLEEP).unwrap_or(Duration::minutes(15));
        for team in self.routing.teams() {
            let key = format!("digest/{}", team.id);
            let last: Option<DateTime<Utc>> = store
                .mark(&key)?
                .and_then(|v| serde_json::from_value(v).ok());
            let s = &self.settings.digests;
            if digest::digest_due(now, last, &ctx.calendar, region, s) {
                let rendered = self.team_digest(&cases, &team.id, last, now, ctx);
                let mut change = Change::default();
                change.marks.push(Mark {
                    key: key.clone(),
                    value: json!(now),
                });
                match rendered {
                    Ok(r) => change.outbox_new.push(mail_row(
                        None,
                        PreparedMail {
                            to: vec![team.manager.clone()],
                            cc: Vec::new(),
                            reply_to: None,
                            subject: r.subject,
                            text: r.text,
                            html: Some(r.html),
                            message_id: new_message_id(&self.id_domain),
                            in_reply_to: None,
                            attach_original: None,
                        },
                        now,
                    )),
                    Err(e) => {
                        tracing::error!(team = %team.id, error = %e, "digest cannot be rendered")
                    }
                }
                changes.push(change);
            } else if let Some(at) = digest::next_digest_at(now, last, &ctx.calendar, region, s) {
                next = next.min(at);
            }
        }
        if let Some(at) = chase::next_wake(
            &cases,
            &sent,
            now,
            &ctx.calendar,
            region,
            &self.settings.chasers,
        ) {
            next = next.min(at);
        }
        Ok((changes, next.max(now + Duration::seconds(1))))
    }
}

/// The text to send the requester when an action asks them for something.
fn asks_requester(action: &Action) -> Option<String> {
    match action {
        Action::RequestClarification { text } => Some(text.clone().unwrap_or_else(|| {
            "please tell us more precisely what information you are asking for, so that we can find it".into()
        })),
        Action::RequestId { text } => Some(text.clone().unwrap_or_else(|| {
            "proof of your identity (for example a copy of a passport or driving licence and a recent utility bill), so that we do not disclose your personal data to someone else".into()
        })),
        Action::RequestFee { text } => Some(text.clone().unwrap_or_else(|| {
            "payment of the fee in the fees notice we will send you; the time for our response is paused until it is paid".into()
        })),
        _ => None,
    }
}
