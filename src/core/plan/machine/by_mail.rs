//! `#open` by email: a member of staff opens a machine-mail record as a case by writing `#open`
//! (or `#open foi`) to the record's signed address, which the daily list gives each line
//! (`foi+M-2026-000042.3fa.<tag>@…`, as a mailto link in the HTML part). Pure.
//!
//! The checks are those of a staff command on a case ([`crate::core::plan::command`]), in the
//! same order: the sender is on the staff list; the address carries a tag a listed key made for
//! this record and the sender's own address (the list goes to the team's manager, so only they
//! can use its addresses; a colleague it is forwarded to cannot); and the trusted gateway vouches
//! for the sender's domain. A message that fails a check is not a command: the caller triages it
//! like any other mail (nothing sent to a signed address is lost). An address works while its
//! record is kept and not yet opened.
//!
//! The case itself is made by the caller through the intake planner
//! ([`crate::core::plan::ingest::plan_opened`]); this module decides whether and as what, and
//! words the answer to the sender ([`reply_letter`]).

use crate::core::actions::{self, MachineTag, Verdict};
use crate::core::auth::Authenticity;
use crate::core::plan::command::Refusal;
use crate::core::plan::letter::{Letter, LetterBody};
use crate::core::plan::office::Office;
use crate::model::case::CaseRef;
use crate::model::kind::Kind;
use crate::model::machine::{MachineMail, MachineMailId};
use crate::model::message::Message;
use chrono::NaiveDate;

/// The machine-mail record a message is addressed to through a signed address, if any.
pub fn command_target(msg: &Message) -> Option<MachineTag> {
    crate::core::plan::command::addressed_to(msg)
        .find_map(|a| actions::parse_machine_reply_address(&a))
}

/// What the app read for a message to a machine-mail address.
#[derive(Debug, Clone, Copy)]
pub struct OpenFacts<'a> {
    /// The address's token.
    pub tag: &'a MachineTag,
    /// The message.
    pub msg: &'a Message,
    /// Its `From` address.
    pub sender: &'a str,
    /// What the trusted gateway says about the sender's domain.
    pub auth: &'a Authenticity,
    /// The record, when it is still kept.
    pub record: Option<&'a MachineMail>,
}

/// The `#open` line acted on, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenLine {
    /// 1-based line number in the message.
    pub line: usize,
    /// The line (trimmed).
    pub text: String,
}

/// What came of an emailed `#open`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenOutcome {
    /// The case was made.
    Opened {
        /// Its reference.
        case: CaseRef,
        /// Its kind.
        kind: Kind,
        /// Its due date, when the clock runs.
        due: Option<NaiveDate>,
    },
    /// The record was opened before.
    AlreadyOpened {
        /// The case it made.
        case: CaseRef,
        /// Who opened it.
        by: String,
    },
    /// The record is no longer kept (its retention period passed).
    NotKept,
    /// No `#open` line, or one that does not read.
    NotUnderstood(String),
    /// Understood, but not done (the reason, for the member of staff).
    NotDone(String),
}

/// The answer to an emailed `#open`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineMailReply {
    /// The record the address names.
    pub id: MachineMailId,
    /// The `#open` line, when there was one.
    pub line: Option<OpenLine>,
    /// What came of it.
    pub outcome: OpenOutcome,
}

/// What to do with a message to a machine-mail address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenByMail {
    /// Not a command (a check failed): triage it like any other mail.
    Refused(Refusal),
    /// Open the record as `kind` (`None`: its suggestion), as `line` asked.
    Open {
        /// The record.
        id: MachineMailId,
        /// The kind asked for.
        kind: Option<Kind>,
        /// The line.
        line: OpenLine,
    },
    /// Nothing to open: answer the sender why.
    Answer(MachineMailReply),
}

/// Decides what a message to a machine-mail address does (module doc).
pub fn plan_open(office: &Office<'_>, facts: &OpenFacts<'_>) -> OpenByMail {
    if let Some(r) = refusal(office, facts) {
        return OpenByMail::Refused(r);
    }
    let id = facts.tag.id;
    let answer = |line, outcome| OpenByMail::Answer(MachineMailReply { id, line, outcome });
    let line = match open_line(facts.msg, id) {
        Ok(line) => line,
        Err(Unreadable(line, why)) => return answer(line, OpenOutcome::NotUnderstood(why)),
    };
    let Some(record) = facts.record else {
        return answer(Some(line.0), OpenOutcome::NotKept);
    };
    if let Some(o) = &record.opened {
        let outcome = OpenOutcome::AlreadyOpened {
            case: o.case.clone(),
            by: o.by.clone(),
        };
        return answer(Some(line.0), outcome);
    }
    OpenByMail::Open {
        id,
        kind: line.1,
        line: line.0,
    }
}

/// Why the message is not a command, from the facts: `None` when the sender may act.
fn refusal(office: &Office<'_>, facts: &OpenFacts<'_>) -> Option<Refusal> {
    if !office.routing.is_staff(facts.sender) {
        return Some(Refusal::NotStaff);
    }
    match actions::check_machine(office.keys, facts.tag, facts.sender) {
        Verdict::Valid => {}
        Verdict::UnknownKey => return Some(Refusal::UnknownKey),
        Verdict::Invalid => {
            // Sent to someone else on the staff list (a manager's list forwarded), or forged.
            let bound_to = office
                .routing
                .staff_addresses()
                .find(|a| actions::check_machine(office.keys, facts.tag, a) == Verdict::Valid);
            return Some(
                bound_to.map_or(Refusal::BadToken, |a| Refusal::OtherRecipient {
                    bound_to: a.to_string(),
                }),
            );
        }
    }
    Refusal::unless_authenticated(facts.auth)
}

/// An `#open` that does not read: the line, when there was one, and why.
struct Unreadable(Option<OpenLine>, String);

/// The first `#open` line of the message's own text (quoted history and signatures are not
/// read, as for case commands) with the kind it asks for: `#open`, `#open foi`, or either with
/// the record's id (`#open M-2026-000042 foi`), which must be the address's.
fn open_line(msg: &Message, id: MachineMailId) -> Result<(OpenLine, Option<Kind>), Unreadable> {
    let found = actions::parse_commands(&msg.body_text)
        .into_iter()
        .find(|l| {
            let word = l.text.split_whitespace().next().unwrap_or("");
            word.eq_ignore_ascii_case("#open")
        });
    let Some(parsed) = found else {
        return Err(Unreadable(
            None,
            format!(
                "no #open line: write \"#open\" (as it was suggested) or \"#open foi\" to open {id} as a case"
            ),
        ));
    };
    let line = OpenLine {
        line: parsed.line,
        text: parsed.text.clone(),
    };
    let mut kind = None;
    for word in parsed.text.split_whitespace().skip(1) {
        if let Ok(named) = word.parse::<MachineMailId>() {
            if named != id {
                let why = format!(
                    "this address opens {id}, not {named}: use the address given for {named}"
                );
                return Err(Unreadable(Some(line), why));
            }
        } else if let Ok(k) = word.parse::<Kind>()
            && k != Kind::Auto
            && kind.is_none()
        {
            kind = Some(k);
        } else {
            let why = format!(
                "{word:?} is not a kind of case (foi, eir, sar, media, member_enquiry, complaint, general)"
            );
            return Err(Unreadable(Some(line), why));
        }
    }
    Ok((line, kind))
}

/// The letter answering an emailed `#open` to `to`: about the new case (its command address as
/// `Reply-To`, so the officer can go on with `#assign`, `#clarify`…), or saying why nothing was
/// opened.
pub fn reply_letter(
    office: &Office<'_>,
    to: &str,
    in_reply_to: Option<String>,
    reply: MachineMailReply,
    message_id: String,
) -> Letter {
    let to = vec![to.to_string()];
    let case = match &reply.outcome {
        OpenOutcome::Opened { case, .. } => Some(case.clone()),
        _ => None,
    };
    Letter {
        reply_to: case.as_ref().and_then(|c| office.letter_reply_to(c, &to)),
        case,
        to,
        cc: Vec::new(),
        message_id,
        in_reply_to,
        attach_original: None,
        body: LetterBody::MachineMailReply(reply),
    }
}

#[cfg(test)]
mod tests;
