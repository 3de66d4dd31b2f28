//! A staff command by email: authorise, apply each line, answer the sender. Pure.
//!
//! - A command acts only when the sender is on the routing file's staff list AND the message was
//!   sent to the case's HMAC-signed reply address AND the trusted mail gateway vouches for the
//!   sender's domain ([`crate::core::auth`]); anything else is refused and audited, and changes
//!   nothing. A refusal for want of authentication is also told to the staff address (the
//!   sender looks like a colleague with a good token, so either a colleague needs to know their
//!   mail is not authenticated, or someone forged them); with no trusted gateway configured,
//!   commands by email are off and the staff member is told so.
//! - Each command line is applied in turn with [`actions::apply`]; results and errors go back to
//!   the sender in one [`CommandReply`] letter.
//! - `#clarify`, `#id` and `#fee` also send the requester a "we need more information" letter
//!   with the officer's text ([`AckJob`]s, rendered when sent).

use crate::core::actions::{self, Action, ParsedLine, StaffCommand};
use crate::core::auth::Authenticity;
use crate::core::deadline;
use crate::core::plan::letter::{
    CommandLineResult, CommandOutcome, CommandReply, Letter, LetterBody,
};
use crate::core::plan::office::Office;
use crate::core::triage::Context;
use crate::model::case::{AuditEvent, Case, CaseRef};
use crate::model::change::{AuditAppend, CaseTarget, CaseUpdate, Change};
use crate::model::letter::{AckJob, MissingItem, OutboxJob};
use crate::model::message::Message;
use chrono::{DateTime, Utc};
use serde_json::json;

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

/// What the app read for one staff command.
#[derive(Debug, Clone, Copy)]
pub struct CommandFacts<'a> {
    /// The case the reply address names, as stored.
    pub case: &'a Case,
    /// The token of the reply address the message was sent to.
    pub token: &'a str,
    /// The staff reply.
    pub msg: &'a Message,
    /// Its sender's address.
    pub sender: &'a str,
    /// What the trusted gateway says about the sender's domain.
    pub auth: &'a Authenticity,
}

/// What a staff command does.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandPlan {
    /// The case update, the audit and the requester letters (always at least an audit event).
    pub change: Change,
    /// The reply to the sender (none when refused).
    pub letters: Vec<Letter>,
    /// Why the command was refused, when it was (for the log).
    pub refused: Option<&'static str>,
}

/// Why a command is refused, from the facts: `None` when the sender may act.
pub fn refusal(office: &Office<'_>, facts: &CommandFacts<'_>) -> Option<&'static str> {
    if !office.routing.is_staff(facts.sender) {
        Some("the sender is not on the staff list")
    } else if !actions::verify(office.secret, &facts.case.reference, facts.token) {
        Some("the reply address does not carry this case's valid token")
    } else {
        unauthenticated(facts.auth)
    }
}

/// The refusal for a message the gateway does not vouch for (`None` when it does).
fn unauthenticated(auth: &Authenticity) -> Option<&'static str> {
    match auth {
        Authenticity::Authenticated { .. } => None,
        Authenticity::NoGateway => Some(
            "no trusted mail gateway is configured ([trust] authserv_ids), so commands by email \
             are off; use the command line",
        ),
        Authenticity::NotAuthenticated { .. } => Some(
            "our mail gateway could not confirm the message came from your domain (DMARC, DKIM \
             and SPF did not pass); send it again from your work mailbox",
        ),
    }
}

/// Runs the commands in a staff reply, or refuses them (forged or unknown sender).
pub fn plan_command(
    office: &Office<'_>,
    ctx: &Context,
    facts: &CommandFacts<'_>,
    now: DateTime<Utc>,
    ids: &mut dyn FnMut() -> String,
) -> CommandPlan {
    let case = facts.case;
    let target = CaseTarget::Existing(case.reference.clone());
    if let Some(why) = refusal(office, facts) {
        let event = AuditEvent::new(
            now,
            facts.sender,
            "command_refused",
            json!({"message_id": facts.msg.message_id, "from": facts.sender}),
            format!("emailed command refused: {why}; nothing changed"),
        );
        // Only an authentication refusal is answered: the sender passed the staff list and the
        // token, so the address is a colleague's (a stranger's refusal stays silent).
        let letters = if unauthenticated(facts.auth) == Some(why) {
            vec![refusal_letter(office, facts, why, ids())]
        } else {
            Vec::new()
        };
        return CommandPlan {
            change: Change {
                audit: AuditAppend::all(&target, vec![event]),
                ..Change::default()
            },
            letters,
            refused: Some(why),
        };
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
    for text in run.asks {
        let job = need_more_info(&run.current, text, ids());
        if let Ok(row) = OutboxJob::Ack(job).new_row(target.clone(), now) {
            change.outbox_new.push(row);
        }
    }
    let reply = Letter {
        case: Some(case.reference.clone()),
        to: vec![facts.sender.to_string()],
        cc: Vec::new(),
        reply_to: office.command_address(&case.reference),
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

/// The answer to a colleague's command that was refused for want of authentication: one line,
/// not done, with the reason; the case as it stands.
fn refusal_letter(
    office: &Office<'_>,
    facts: &CommandFacts<'_>,
    why: &str,
    message_id: String,
) -> Letter {
    let case = facts.case;
    Letter {
        case: Some(case.reference.clone()),
        to: vec![facts.sender.to_string()],
        cc: Vec::new(),
        reply_to: office.command_address(&case.reference),
        message_id,
        in_reply_to: facts.msg.message_id.clone(),
        attach_original: None,
        body: LetterBody::CommandReply(CommandReply {
            reference: case.reference.clone(),
            lines: vec![CommandLineResult {
                line: 1,
                text: "(every command in your email)".into(),
                outcome: CommandOutcome::NotDone(why.to_string()),
            }],
            state: case.state,
            due: case.due,
        }),
    }
}

/// The commands of one reply, applied in order.
struct Run {
    current: Case,
    results: Vec<CommandLineResult>,
    audit: Vec<AuditEvent>,
    asks: Vec<String>,
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
                        if let Some(text) = asks_requester(action) {
                            run.asks.push(text);
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

/// The "we need more information" letter to the requester, with the officer's text.
fn need_more_info(case: &Case, text: String, message_id: String) -> AckJob {
    AckJob {
        template: "need_more_info".into(),
        to: case.requester.email.clone(),
        message_id,
        in_reply_to: case.message_ids.first().cloned(),
        references: Vec::new(),
        their_subject: case.subject.clone(),
        requester_name: case.requester.name.clone(),
        missing: vec![MissingItem {
            name: "clarification".into(),
            explain: text,
        }],
        received: deadline::local_date(case.received_at).unwrap_or_default(),
        due: None,
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

#[cfg(test)]
mod tests;
