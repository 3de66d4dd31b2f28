//! A staff command by email: authorise, apply each line, answer the sender. Pure.
//!
//! - A command acts only when every check passes ([`refusal`], in this order): the sender is on
//!   the routing file's staff list; the reply address carries a tag a listed key made for this
//!   case and for the sender's own address (an old-style address, made before tags were bound to
//!   a person, only from the case's current assignee); the address has not expired (it works
//!   while the case is open and for `[workflow] reply_days_after_close` days after it closes:
//!   reopening it makes it work again); and the trusted mail gateway vouches for the sender's
//!   domain ([`crate::core::auth`]; with no gateway configured, commands by email are off).
//! - A refused message is not a command: [`plan_command`] audits the refusal, tells the case's
//!   assignee (or, with none, the team manager) by email why, and the caller then triages the
//!   message like any other mail, so a requester's reply-all becomes a follow-up and nothing is
//!   lost. The sender is told nothing beyond what triage sends anyone. The notice goes at most
//!   once per case per [`NOTICE_INTERVAL_HOURS`] hours (a mark per case), so a flood of refused
//!   commands cannot flood the assignee; every refusal is audited all the same.
//! - Each command line is applied in turn with [`actions::apply`]; results and errors go back to
//!   the sender in one [`CommandReply`] letter.
//! - `#clarify`, `#id` and `#fee` also send the requester a "we need more information" letter
//!   with the officer's text ([`AckJob`]s, rendered when sent).

use crate::core::actions::{self, Action, ParsedLine, ReplyTag, StaffCommand, Verdict};
use crate::core::auth::Authenticity;
use crate::core::deadline;
use crate::core::language::letter_language;
use crate::core::london;
use crate::core::plan::letter::{
    CommandLineResult, CommandOutcome, CommandReply, Letter, LetterBody, RefusalNotice,
    RefusedSender,
};
use crate::core::plan::office::Office;
use crate::core::triage::Context;
use crate::model::case::{AuditEvent, Case, CaseState};
use crate::model::change::{AuditAppend, CaseTarget, CaseUpdate, Change, Mark};
use crate::model::letter::{AckJob, MissingItem, OutboxJob};
use crate::model::message::Message;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde_json::json;

/// Mark prefix of the last refusal notice per case (`refusal-notice/<reference>` → when).
pub const NOTICE_MARKS: &str = "refusal-notice/";

/// At most one refusal notice per case in this many hours: a day keeps a burst of forged or
/// stale commands to one email for the assignee, while a new problem the next day is told again.
pub const NOTICE_INTERVAL_HOURS: i64 = 24;

/// The audit's actor for a refused message with no `From` address.
pub const NO_SENDER: &str = "(no sender address)";

/// The mark key of a case's last refusal notice.
pub fn notice_key(reference: &crate::model::case::CaseRef) -> String {
    format!("{NOTICE_MARKS}{reference}")
}

/// The case a message addresses through a signed reply address, if any (To, Cc, or the
/// delivery headers), with the tag.
pub fn command_target(msg: &Message) -> Option<ReplyTag> {
    addressed_to(msg).find_map(|a| actions::parse_reply_address(&a))
}

/// Every address a message was sent to, where a signed sub-address may be: To, Cc, and the
/// delivery headers (`Delivered-To`, `X-Original-To`: a Bcc leaves its trace only there).
pub fn addressed_to(msg: &Message) -> impl Iterator<Item = String> + '_ {
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
}

/// What the app read for one staff command.
#[derive(Debug, Clone, Copy)]
pub struct CommandFacts<'a> {
    /// The case the reply address names, as stored.
    pub case: &'a Case,
    /// The reply address's tag.
    pub tag: &'a ReplyTag,
    /// The staff reply.
    pub msg: &'a Message,
    /// Its sender's address (`From`).
    pub sender: &'a str,
    /// What the trusted gateway says about the sender's domain.
    pub auth: &'a Authenticity,
    /// When the case's last refusal notice was queued (its [`notice_key`] mark), if ever.
    pub last_notice: Option<DateTime<Utc>>,
}

/// What a staff command does.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandPlan {
    /// The case update, the audit and the requester letters (always at least an audit event).
    /// When refused: the refusal's audit and the notice's mark, to apply with whatever triage
    /// makes of the message.
    pub change: Change,
    /// The reply to the sender; when refused, the notice to the assignee (or nothing).
    pub letters: Vec<Letter>,
    /// Why the command was refused, when it was.
    pub refused: Option<Refusal>,
}

/// Why mail to a reply address is not acted on as a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The sender is not a member, manager or head of service of any team.
    NotStaff,
    /// The address's key is not in the key file (removed: revoked).
    UnknownKey,
    /// The tag is not one a listed key made for this case (forged or damaged).
    BadToken,
    /// The tag is good, but for another address: the email was sent to someone else.
    OtherRecipient {
        /// The address it was sent to (on the routing file).
        bound_to: String,
    },
    /// An old-style address (bound to no one), from someone other than the case's assignee.
    OldAddressNotAssignee,
    /// The case closed longer ago than reply addresses last.
    Expired {
        /// When it closed (London).
        closed_on: NaiveDate,
        /// `[workflow] reply_days_after_close`.
        days: u32,
    },
    /// No trusted gateway is configured: no mail is authenticated.
    NoGateway,
    /// The gateway did not vouch for the sender's domain.
    NotAuthenticated,
}

impl Refusal {
    /// The refusal the gateway's verdict calls for: only mail it vouches for may act, for case
    /// commands and for `#open` alike.
    pub fn unless_authenticated(auth: &Authenticity) -> Option<Refusal> {
        match auth {
            Authenticity::Authenticated { .. } => None,
            Authenticity::NoGateway => Some(Refusal::NoGateway),
            Authenticity::NotAuthenticated { .. } | Authenticity::DmarcFail { .. } => {
                Some(Refusal::NotAuthenticated)
            }
        }
    }
}

impl Refusal {
    /// A short code for the audit, the log and templates.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::NotStaff => "not_staff",
            Refusal::UnknownKey => "unknown_key",
            Refusal::BadToken => "bad_token",
            Refusal::OtherRecipient { .. } => "other_recipient",
            Refusal::OldAddressNotAssignee => "old_address_not_assignee",
            Refusal::Expired { .. } => "expired",
            Refusal::NoGateway => "no_gateway",
            Refusal::NotAuthenticated => "not_authenticated",
        }
    }

    /// The refusal in words a member of staff acts on.
    pub fn why(&self) -> String {
        match self {
            Refusal::NotStaff => "the sender is not on the staff list".into(),
            Refusal::UnknownKey => "the reply address was signed with a key that has since been \
                removed, so it no longer works"
                .into(),
            Refusal::BadToken => {
                "the reply address does not carry a valid token for this case".into()
            }
            Refusal::OtherRecipient { bound_to } => {
                format!("the reply address was sent to {bound_to} and works only from that address")
            }
            Refusal::OldAddressNotAssignee => "the reply address is an old-style one (from \
                before reply addresses were bound to a person), accepted only from the case's \
                assignee"
                .into(),
            Refusal::Expired { closed_on, days } => format!(
                "the reply address expired: the case closed on {closed_on} and reply addresses \
                 work for {days} days after closure (use the command line)"
            ),
            Refusal::NoGateway => "no trusted mail gateway is configured ([trust] authserv_ids), \
                so commands by email are off; use the command line"
                .into(),
            Refusal::NotAuthenticated => "our mail gateway could not confirm the message came \
                from the sender's domain (DMARC, DKIM and SPF did not pass)"
                .into(),
        }
    }
}

/// Why a command is refused, from the facts: `None` when the sender may act (module doc).
pub fn refusal(
    office: &Office<'_>,
    facts: &CommandFacts<'_>,
    now: DateTime<Utc>,
) -> Option<Refusal> {
    if !office.routing.is_staff(facts.sender) {
        return Some(Refusal::NotStaff);
    }
    if let Some(r) = token_refusal(office, facts) {
        return Some(r);
    }
    if let Some(closed_on) = expired(facts.case, office.settings.reply_days_after_close, now) {
        return Some(Refusal::Expired {
            closed_on,
            days: office.settings.reply_days_after_close,
        });
    }
    Refusal::unless_authenticated(facts.auth)
}

/// Whether the tag is good for this case and this sender.
fn token_refusal(office: &Office<'_>, facts: &CommandFacts<'_>) -> Option<Refusal> {
    let verdict = actions::token::check(office.keys, facts.tag, facts.sender);
    match (verdict, &facts.tag.key_id) {
        (Verdict::Valid, Some(_)) => None,
        (Verdict::Valid, None) => {
            let assignee = facts.case.assignee.as_deref().map(actions::bound_address);
            (assignee != Some(actions::bound_address(facts.sender)))
                .then_some(Refusal::OldAddressNotAssignee)
        }
        (Verdict::UnknownKey, _) => Some(Refusal::UnknownKey),
        (Verdict::Invalid, Some(_)) => Some(
            other_recipient(office, facts.case, facts.tag).map_or(Refusal::BadToken, |bound_to| {
                Refusal::OtherRecipient { bound_to }
            }),
        ),
        (Verdict::Invalid, None) => Some(Refusal::BadToken),
    }
}

/// The address a tag was made for (a member of staff, a team inbox or the case's assignee), when
/// it is not the sender's: so the refusal can say "sent to bob@" rather than "forged".
fn other_recipient(office: &Office<'_>, case: &Case, tag: &ReplyTag) -> Option<String> {
    let inboxes = office
        .routing
        .teams()
        .iter()
        .filter_map(|t| t.inbox.as_deref());
    // The assignee too: they may have left the staff list since the email went out.
    office
        .routing
        .staff_addresses()
        .chain(inboxes)
        .chain(case.assignee.as_deref())
        .filter(|a| !a.is_empty())
        .find(|a| actions::token::check(office.keys, tag, a) == Verdict::Valid)
        .map(str::to_string)
}

/// The day a closed case closed (London), when its reply addresses have expired at `now`:
/// `days` days after the closure. `None` while the case is not closed or not yet expired.
pub fn expired(case: &Case, days: u32, now: DateTime<Utc>) -> Option<NaiveDate> {
    if case.state != CaseState::Closed {
        return None;
    }
    // A closed case always has its closure; a record without one counts from its last change.
    let closed = case
        .workflow
        .closure
        .as_ref()
        .map_or(case.updated_at, |c| c.at);
    let until = closed.checked_add_signed(TimeDelta::days(i64::from(days)))?;
    (now >= until).then(|| london::date(closed))
}

/// Runs the commands in a staff reply, or refuses them ([`refusal`]).
pub fn plan_command(
    office: &Office<'_>,
    ctx: &Context,
    facts: &CommandFacts<'_>,
    now: DateTime<Utc>,
    ids: &mut dyn FnMut() -> String,
) -> CommandPlan {
    let case = facts.case;
    let target = CaseTarget::Existing(case.reference.clone());
    if let Some(refused) = refusal(office, facts, now) {
        return plan_refusal(office, facts, refused, now, ids);
    }
    let lines = actions::parse_commands(&facts.msg.body_text);
    let run = run_lines(office, ctx, case, &lines, facts.sender, now);
    let mut change = Change::default();
    if run.current != *case {
        change.case_updates.push(CaseUpdate {
            case: run.current.clone(),
            expected: Some(case.clone()),
        });
    }
    change.audit = AuditAppend::all(&target, run.audit);
    for item in run.asks {
        let job = need_more_info(ctx, &run.current, item, ids());
        if let Ok(row) = OutboxJob::Ack(job).new_row(target.clone(), now) {
            change.outbox_new.push(row);
        }
    }
    let to = vec![facts.sender.to_string()];
    let reply = Letter {
        case: Some(case.reference.clone()),
        reply_to: office.letter_reply_to(&case.reference, &to),
        to,
        cc: Vec::new(),
        message_id: ids(),
        in_reply_to: facts.msg.message_id.clone(),
        attach_original: None,
        body: LetterBody::CommandReply(CommandReply {
            reference: case.reference.clone(),
            lines: run.results,
            state: run.current.state,
            due: run.current.due,
        }),
    };
    CommandPlan {
        change,
        letters: vec![reply],
        refused: None,
    }
}

/// A refused command: the audit, and the notice to the assignee unless one went lately.
fn plan_refusal(
    office: &Office<'_>,
    facts: &CommandFacts<'_>,
    refused: Refusal,
    now: DateTime<Utc>,
    ids: &mut dyn FnMut() -> String,
) -> CommandPlan {
    let case = facts.case;
    let target = CaseTarget::Existing(case.reference.clone());
    let why = refused.why();
    // The store refuses an event without an actor; mail without a From is still refused mail.
    let actor = Some(facts.sender)
        .filter(|s| !s.trim().is_empty())
        .unwrap_or(NO_SENDER);
    let mut audit = vec![AuditEvent::new(
        now,
        actor,
        "command_refused",
        json!({"message_id": facts.msg.message_id, "from": facts.sender, "reason": refused.code()}),
        format!("emailed command refused: {why}; nothing changed, the message goes to triage"),
    )];
    let mut change = Change::default();
    let mut letters = Vec::new();
    let recipient = case
        .assignee
        .clone()
        .or_else(|| {
            Some(
                office
                    .routing
                    .manager_of(case.team.as_deref()?)?
                    .to_string(),
            )
        })
        .filter(|a| !a.trim().is_empty());
    let recent = facts
        .last_notice
        .filter(|at| now - *at < TimeDelta::hours(NOTICE_INTERVAL_HOURS));
    match (recipient, recent) {
        (_, Some(last)) => audit.push(AuditEvent::system(
            now,
            "refusal_notice_suppressed",
            json!({"last_notice": last}),
            format!(
                "one refusal notice per case per {NOTICE_INTERVAL_HOURS} hours: the last went at {last}"
            ),
        )),
        (None, None) => audit.push(AuditEvent::system(
            now,
            "refusal_notice_suppressed",
            json!({"last_notice": null}),
            "the case has no assignee and no team manager to tell".into(),
        )),
        (Some(to), None) => {
            audit.push(AuditEvent::system(
                now,
                "refusal_notice_queued",
                json!({"to": to, "reason": refused.code()}),
                "the assignee is told the command was refused".into(),
            ));
            change.marks.push(Mark {
                key: notice_key(&case.reference),
                value: json!(now),
            });
            letters.push(notice_letter(office, facts, &refused, to, now, ids()));
        }
    }
    change.audit = AuditAppend::all(&target, audit);
    CommandPlan {
        change,
        letters,
        refused: Some(refused),
    }
}

/// The notice of a refused command, to `to`.
fn notice_letter(
    office: &Office<'_>,
    facts: &CommandFacts<'_>,
    refused: &Refusal,
    to: String,
    now: DateTime<Utc>,
    message_id: String,
) -> Letter {
    let case = facts.case;
    let sender = if !facts.sender.trim().is_empty()
        && facts
            .sender
            .trim()
            .eq_ignore_ascii_case(&case.requester.email)
    {
        RefusedSender::Requester
    } else if office.routing.is_staff(facts.sender) {
        RefusedSender::Staff(actions::bound_address(facts.sender))
    } else {
        RefusedSender::Other
    };
    let to = vec![to];
    Letter {
        case: Some(case.reference.clone()),
        reply_to: office.letter_reply_to(&case.reference, &to),
        to,
        cc: Vec::new(),
        message_id,
        in_reply_to: None,
        attach_original: None,
        body: LetterBody::CommandRefused(RefusalNotice {
            reference: case.reference.clone(),
            at: now,
            code: refused.code(),
            why: refused.why(),
            sender,
        }),
    }
}

/// The commands of one reply, applied in order.
struct Run {
    current: Case,
    results: Vec<CommandLineResult>,
    audit: Vec<AuditEvent>,
    asks: Vec<MissingItem>,
}

fn run_lines(
    office: &Office<'_>,
    ctx: &Context,
    case: &Case,
    lines: &[ParsedLine],
    sender: &str,
    now: DateTime<Utc>,
) -> Run {
    let mut run = Run {
        current: case.clone(),
        results: Vec::new(),
        audit: Vec::new(),
        asks: Vec::new(),
    };
    for l in lines {
        let outcome = match &l.result {
            Ok(StaffCommand::Help) => CommandOutcome::Help,
            Ok(StaffCommand::Act(action)) => {
                match actions::apply(&run.current, action, sender, "by email", now, ctx, office) {
                    Ok(done) => {
                        if let Some(item) = asks_requester(action) {
                            run.asks.push(item);
                        }
                        run.current = done.case;
                        run.audit.extend(done.audit);
                        CommandOutcome::Done
                    }
                    Err(e) => CommandOutcome::NotDone(e.to_string()),
                }
            }
            Err(e) => CommandOutcome::NotUnderstood(e.to_string()),
        };
        run.results.push(CommandLineResult {
            line: l.line,
            text: l.text.clone(),
            outcome,
        });
    }
    run
}

/// The "we need more information" letter to the requester, asking for `item`, in the language
/// the requester writes in (when the body answers Welsh in Welsh).
fn need_more_info(ctx: &Context, case: &Case, item: MissingItem, message_id: String) -> AckJob {
    AckJob {
        template: "need_more_info".into(),
        to: case.requester.email.clone(),
        message_id,
        in_reply_to: case.message_ids.first().cloned(),
        references: Vec::new(),
        their_subject: case.subject.clone(),
        requester_name: case.requester.name.clone(),
        missing: vec![item],
        received: deadline::local_date(case.received_at).unwrap_or_default(),
        due: None,
        language: letter_language(ctx.welsh, &[case.workflow.language]),
    }
}

/// What an action asks the requester for: `clarification`, `identity` or `fee`, in the
/// officer's words when they wrote some, else with an empty explanation, for which the
/// `need_more_info` templates write their own sentence (in the letter's language: no wording
/// of a letter lives here).
fn asks_requester(action: &Action) -> Option<MissingItem> {
    let (name, text) = match action {
        Action::RequestClarification { text } => ("clarification", text),
        Action::RequestId { text } => ("identity", text),
        Action::RequestFee { text } => ("fee", text),
        _ => return None,
    };
    Some(MissingItem {
        name: name.into(),
        explain: text.clone().unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests;
