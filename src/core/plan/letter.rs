//! Letters to staff as the planners decide them: who gets what, and the facts it states. No
//! wording lives here; `letters` renders each body from an officer-editable template, and the
//! app layer puts the rendered mail in the same store change as the decision.
//!
//! Acknowledgement-type letters to requesters are [`crate::model::letter::AckJob`]s instead:
//! they are rendered when they are sent, from the case.

use crate::core::chase::Chaser;
use crate::core::digest::Digest;
use crate::core::plan::machine::MachineMailList;
use crate::core::plan::machine::by_mail::MachineMailReply;
use crate::model::case::{CaseRef, CaseState, IdentityState};
use crate::model::kind::Kind;
use crate::model::language::Language;
use chrono::{DateTime, NaiveDate, Utc};

/// One letter to staff, addressed and identified; the body says which template renders it.
#[derive(Debug, Clone, PartialEq)]
pub struct Letter {
    /// The case it is about (`None` for a team digest or the machine-mail list).
    pub case: Option<CaseRef>,
    /// Recipients (at least one).
    pub to: Vec<String>,
    /// Copies (the manager on an overdue chaser).
    pub cc: Vec<String>,
    /// Where replies go: the case's signed command address, when staff may answer with commands.
    pub reply_to: Option<String>,
    /// OUR Message-ID (no angle brackets), drawn by the caller's id source when planned.
    pub message_id: String,
    /// The message this answers (a staff command), for threading.
    pub in_reply_to: Option<String>,
    /// Content hash of a stored raw request to attach as `message/rfc822`.
    pub attach_original: Option<String>,
    /// What the letter says.
    pub body: LetterBody,
}

/// The facts a staff letter states, one variant per template.
#[derive(Debug, Clone, PartialEq)]
pub enum LetterBody {
    /// A case was routed to a team or person.
    Assignment(AssignmentLetter),
    /// The results of the commands in a staff member's reply.
    CommandReply(CommandReply),
    /// A reminder before, on or after a due date.
    Chaser(Chaser),
    /// A manager's digest of one team's cases (boxed: by far the largest body).
    Digest(Box<Digest>),
    /// A command by email to one of the case's reply addresses was refused (to the assignee).
    CommandRefused(RefusalNotice),
    /// The daily list of mail filed without a case, when the team's digest does not carry it.
    MachineMail(MachineMailList),
    /// The answer to an emailed `#open` of a machine-mail record.
    MachineMailReply(MachineMailReply),
}

/// What the assignee is told when mail to a case's reply address is refused as a command. Only
/// what they already know or may know: the case, when, why, and who sent it when that is the
/// requester or a colleague. Never a stranger's address, and nothing the sender wrote (the
/// sender may be hostile: their text is no business of a letter we send).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalNotice {
    /// The case.
    pub reference: CaseRef,
    /// When the message was refused.
    pub at: DateTime<Utc>,
    /// The refusal, as a short code (`bad_token`, `expired`…) for templates to branch on.
    pub code: &'static str,
    /// The refusal in words, for a member of staff.
    pub why: String,
    /// Who sent it, as far as the assignee may know.
    pub sender: RefusedSender,
}

/// Who sent a refused command, as the assignee may be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefusedSender {
    /// The case's requester (the assignee has their address already).
    Requester,
    /// A member of staff on the routing file, by address.
    Staff(String),
    /// Anyone else: not named.
    Other,
}

/// What an assignment email tells the assignee. Never the request text or the requester's name:
/// the original is attached (or in the shared mailbox) for those allowed to read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentLetter {
    /// The case.
    pub reference: CaseRef,
    /// Its kind.
    pub kind: Kind,
    /// The team's display name.
    pub team_name: String,
    /// The day the request arrived (Europe/London), when known.
    pub received: Option<NaiveDate>,
    /// The statutory (or policy) due date when the clock runs.
    pub due: Option<NaiveDate>,
    /// The internal "promptly" target, when the clock runs.
    pub internal_target: Option<NaiveDate>,
    /// The case state (why there is no due date, when there is none).
    pub state: CaseState,
    /// `Some(true)` valid, `Some(false)` not yet valid, `None` no statutory validity test.
    pub valid: Option<bool>,
    /// What is missing when not yet valid.
    pub missing: Vec<String>,
    /// Why routing chose this team.
    pub why: String,
    /// Whether the original message is attached.
    pub original_attached: bool,
    /// SAR only: how the requester's identity stood at validation. `Verifiable` tells the
    /// officer to check the details given against our records before disclosing anything.
    pub identity: Option<IdentityState>,
    /// The language the requester writes in: a Welsh writer's response is due in Welsh where
    /// the Welsh Language Standards apply, and the officer must know before writing it.
    pub language: Language,
}

/// What happened to each command line of a staff reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandReply {
    /// The case.
    pub reference: CaseRef,
    /// One entry per command line, in order; empty when no command was found.
    pub lines: Vec<CommandLineResult>,
    /// The case state after the commands.
    pub state: CaseState,
    /// The due date after the commands, when the clock runs.
    pub due: Option<NaiveDate>,
}

/// The result of one command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandLineResult {
    /// Line number in the reply (1-based).
    pub line: usize,
    /// The line as written.
    pub text: String,
    /// What came of it.
    pub outcome: CommandOutcome,
}

/// What came of one command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandOutcome {
    /// Done.
    Done,
    /// Understood but refused, with the reason (for the member of staff).
    NotDone(String),
    /// Not understood, with the reason.
    NotUnderstood(String),
    /// `#help`: the reply includes the command list.
    Help,
}
