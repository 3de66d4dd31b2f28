//! From a triage [`Outcome`] to the store [`Change`] that records it: pure, no I/O, no clock.
//!
//! The caller reads what the plan needs from the store first ([`Facts`]: the case a follow-up
//! joins, how many acknowledgements went to the sender lately), calls [`plan`], applies the
//! change in one transaction, and only then files the message on the server. Everything the
//! daemon decides about a message is decided here, so it is tested without a server.
//!
//! Decisions (each one audited on the case, or kept in the `seen` record when there is no case):
//! - Another delivery of a message already recorded (same Message-ID, From and Date, whatever
//!   headers its path added) creates nothing and is filed with the first.
//! - `auto` mail never becomes a case and is never answered.
//! - Mail from one of our own addresses is never answered; unless it continues a case, it creates
//!   nothing (it is our own traffic, not a request).
//! - A new FOI/EIR/SAR request that is not valid is stored as waiting (clarification, or proof of
//!   identity for SAR), with the clock event that stops it, and answered with "we need more
//!   information". The clock starts when the requester replies ([`deadline`] restart rules).
//! - A reply from the requester to a case that waits for clarification or identity is taken as
//!   the answer: the clock restarts from the reply and a new acknowledgement gives the new date.
//!   An officer who disagrees re-opens the question by hand; the audit says what was assumed.
//! - Only the requester's own `From` restarts the clock (never a `Reply-To`), and only when the
//!   trusted gateway vouches for it ([`crate::core::auth`]); an answer it does not vouch for is
//!   recorded, flagged on the case and left for an officer. A receipt shows the due date only
//!   when it goes to the requester.
//! - Acknowledgements to one mailbox (`+tag` variants included) are limited per 24 hours, and all
//!   acknowledgements together per hour (the flood cap); a suppressed one is audited.
//! - Historical import ([`Mode::Import`]) creates the same cases but never queues mail.
//! - Nothing is silently dropped: live, every message filed without a case (machine mail, our own
//!   mail) is kept as a machine-mail record (sender, subject, why, the raw bytes) in the same
//!   transaction as its `seen` records, listed once for a person (`core::plan::machine`) and
//!   turned into a case on request by [`plan_opened`], which makes the case exactly as a new
//!   request is made here, its clock counted from the original receipt.

use crate::config::AckPolicy;
use crate::core::deadline::{self, ClockEvent, ClockInput};
use crate::core::dedupe::identity_key;
use crate::core::followup::FollowUp;
use crate::core::language::letter_language;
use crate::core::triage::{Context, Deadline, Outcome};
use crate::core::validate::{Missing, Validity};
use crate::model::case::{AuditEvent, Case, CaseDraft, CaseRef, CaseState, Flag};
use crate::model::change::{
    AuditAppend, CaseTarget, CaseUpdate, Change, CursorUpdate, MachineMailOpened, NewCase,
    NewMachineMail,
};
use crate::model::kind::Kind;
use crate::model::language::{Language, LetterLanguage};
use crate::model::letter::ack_template_for;
use crate::model::letter::{AckJob, MissingItem, OutboxJob};
use crate::model::machine::{MachineMail, MachineMailDraft, MachineMailId};
use crate::model::message::Message;
use crate::model::records::SeenRecord;
use chrono::{DateTime, Datelike, Utc};
use serde_json::json;
use std::collections::BTreeMap;

/// Live processing or a historical import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The daemon: acknowledgements are queued.
    Live,
    /// `foi-triage import`: cases only, no mail to anyone (people move from another system).
    Import,
}

/// What the plan needs to know besides the message: from the configuration.
#[derive(Debug, Clone)]
pub struct IngestSettings {
    /// Live or import.
    pub mode: Mode,
    /// Acknowledgement switch and rate limit.
    pub acks: AckPolicy,
    /// Our own addresses, lower-cased (never answered).
    pub own_addresses: Vec<String>,
    /// Reference prefix per kind (`FOI`…); every kind but `auto`.
    pub prefixes: BTreeMap<Kind, String>,
    /// Domain for the Message-IDs of the mail we send (from the shared address).
    pub id_domain: String,
}

impl IngestSettings {
    /// Whether `email` is one of our own addresses (any letter case).
    pub fn is_own(&self, email: &str) -> bool {
        let e = email.trim().to_ascii_lowercase();
        self.own_addresses.contains(&e)
    }
}

/// What the caller read from the store for this message.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The stored case the message continues (when triage found a follow-up).
    pub followup_case: Option<Case>,
    /// Mail queued to the message's reply address (its mailbox: any letter case, any `+tag`) in
    /// the 24 hours before `now`.
    pub recent_mail_to_sender: usize,
    /// Acknowledgement-type mail queued to anyone in the hour before `now` (the global cap).
    pub acks_last_hour: usize,
    /// Our Message-ID for the one letter this message may cause (acknowledgement, request for
    /// more information or receipt). The caller draws it from its id source: the plan has none.
    pub letter_id: String,
    /// The kind of the message already recorded under this message's delivery identity (same
    /// Message-ID, From and Date: [`crate::core::dedupe::identity_key`]), when there is one:
    /// this is another delivery of it, whose path wrote headers the content hash does not skip.
    pub same_delivery: Option<Kind>,
}

/// A message read only in part because it is larger than the configured cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partial {
    /// Its whole size in bytes (as the server reports it).
    pub size: u64,
    /// Bytes read (its header and the start of its body).
    pub read: u64,
    /// The cap it is over (`imap.max_message_bytes`).
    pub limit: u64,
}

impl Partial {
    /// The note people see, in words.
    pub fn note(&self) -> String {
        let mb = |n: u64| n as f64 / (1024.0 * 1024.0);
        format!(
            "message too large to read in full ({:.1} MB, over the {:.0} MB limit): only its \
             header and first {:.1} MB were read, so attachments and the end of the text may be \
             missing here and validity was not judged; see the whole message in the mailbox, \
             where it is filed",
            mb(self.size),
            mb(self.limit),
            mb(self.read)
        )
    }
}

/// Where the message is, for the cursor: mailbox, UIDVALIDITY and UID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// Mailbox name.
    pub mailbox: String,
    /// Its UIDVALIDITY.
    pub uidvalidity: u32,
    /// The message's UID.
    pub uid: u32,
}

/// What happened to the message, for the log line and the filing folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// A new case of this kind (the store allocates the reference).
    NewCase(Kind),
    /// Joined an existing case.
    FollowUp(CaseRef),
    /// Created nothing (machine mail, our own mail).
    Ignored {
        /// The kind it was classified as.
        kind: Kind,
        /// Why nothing was created.
        why: String,
    },
}

/// The change to apply and what it means.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Everything to write, in one transaction.
    pub change: Change,
    /// What happened.
    pub action: Handled,
    /// The kind whose folder the message is filed into.
    pub file_as: Kind,
    /// Whether the change queues mail (wake the outbox worker after applying).
    pub queues_mail: bool,
}

/// Why a message cannot be planned: it is quarantined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// No prefix is configured for the kind (the config check prevents this).
    #[error("no reference prefix is configured for kind {0}")]
    NoPrefix(Kind),
    /// The follow-up's case was not read from the store.
    #[error("the message continues case {0}, which could not be read")]
    CaseMissing(String),
    /// The time of receipt gives no usable reference year.
    #[error("time of receipt {0} is outside the range this service handles")]
    BadReceiptTime(DateTime<Utc>),
    /// An outbox job could not be encoded.
    #[error("acknowledgement could not be queued: {0}")]
    Payload(String),
    /// A machine-mail record is already a case.
    #[error("machine mail {id} was already opened as {case} (by {by})")]
    AlreadyOpened {
        /// The record.
        id: MachineMailId,
        /// The case it made.
        case: CaseRef,
        /// Who opened it.
        by: String,
    },
    /// A case was asked of the `auto` kind, which has none.
    #[error("machine mail {0} cannot be opened as auto: give the kind of case to open (--kind)")]
    OpenAsAuto(MachineMailId),
}

/// Plans the store change for one triaged message.
///
/// `now` is the processing time (audit times, rate-limit window, fallback receipt time). The
/// cursor is advanced in the same change, so a crash after the commit never processes the
/// message twice, and a crash before it processes it again from scratch.
///
/// # Errors
/// [`PlanError`] when the message cannot be recorded (the caller quarantines it).
pub fn plan(
    ctx: &Context,
    settings: &IngestSettings,
    outcome: &Outcome,
    facts: &Facts,
    position: &Position,
    now: DateTime<Utc>,
) -> Result<Plan, PlanError> {
    let mut p = if let Some(kind) = facts.same_delivery {
        same_delivery(outcome, kind, now)
    } else if let Some(f) = &outcome.followup {
        let case = facts
            .followup_case
            .as_ref()
            .filter(|c| c.reference.to_string() == f.reference)
            .ok_or_else(|| PlanError::CaseMissing(f.reference.clone()))?;
        plan_followup(ctx, settings, outcome, f, facts, case, now)?
    } else if outcome.kind() == Kind::Auto {
        ignore(
            settings,
            outcome,
            Kind::Auto,
            outcome.decision.why.clone(),
            now,
        )
    } else if outcome.relay.is_none() && sender(outcome).is_some_and(|e| settings.is_own(e)) {
        ignore(
            settings,
            outcome,
            outcome.kind(),
            "sent from one of our own addresses: not a request, never acknowledged".into(),
            now,
        )
    } else {
        plan_new_case(ctx, settings, outcome, facts, now)?
    };
    p.change.cursor = plan_duplicate(position).cursor;
    Ok(p)
}

/// Puts the "read only in part" note of a message over the size cap into its plan, where people
/// look: on the case the message made or joined (its audit trail), or in the `seen` record of a
/// message that made nothing.
pub fn note_partial(p: &mut Plan, partial: &Partial, now: DateTime<Utc>) {
    let target = match &p.action {
        Handled::NewCase(_) => CaseTarget::New,
        Handled::FollowUp(r) => CaseTarget::Existing(r.clone()),
        Handled::Ignored { .. } => {
            for seen in &mut p.change.seen {
                seen.why = format!("{}; {}", seen.why, partial.note());
            }
            return;
        }
    };
    p.change.audit.push(AuditAppend {
        case: target,
        event: AuditEvent::system(
            now,
            "note",
            json!({"partial": {"size": partial.size, "read": partial.read, "limit": partial.limit}}),
            partial.note(),
        ),
    });
}

/// Plans only the cursor (and a `seen` record) for a message already recorded: a re-delivery,
/// a rescan after a UIDVALIDITY change, or a crash between commit and filing.
pub fn plan_duplicate(position: &Position) -> Change {
    Change {
        cursor: Some(CursorUpdate {
            mailbox: position.mailbox.clone(),
            cursor: crate::model::records::Cursor {
                uidvalidity: position.uidvalidity,
                last_uid: position.uid,
            },
        }),
        ..Change::default()
    }
}

/// Plans the record of a message that could not be processed: a `seen` marker with the reason
/// (so the rescan after a UIDVALIDITY change does not try it again) and the cursor.
pub fn plan_quarantine(
    message_id: Option<String>,
    content_hash: &str,
    why: &str,
    position: &Position,
    now: DateTime<Utc>,
) -> Change {
    let mut change = plan_duplicate(position);
    change.seen.push(SeenRecord {
        at: now,
        message_id,
        content_hash: Some(content_hash.to_string()),
        kind: None,
        why: format!("quarantined: {why}"),
    });
    change
}

/// Their subject, for the letter to quote, only when our gateway authenticated the sender.
///
/// Anyone can send us mail with a forged `From` or any `Reply-To`, and the acknowledgement goes
/// there: echoing an unauthenticated subject would let an outsider make the council's mailbox
/// deliver their text (spam, a phishing link) to a third party. The letter still threads
/// (`In-Reply-To`) and names the reference.
fn echoed_subject(outcome: &Outcome) -> String {
    if outcome.auth.is_authenticated() {
        outcome.message.subject.clone()
    } else {
        String::new()
    }
}

/// Longest name used in a salutation, in characters: longer is a sentence, not a name.
const MAX_SALUTATION_CHARS: usize = 60;

/// Most words in a name used in a salutation.
const MAX_SALUTATION_WORDS: usize = 5;

/// The name to greet them by, when it reads as a person's name: letters, spaces, hyphens,
/// apostrophes, full stops and commas only, at most [`MAX_SALUTATION_WORDS`] words and
/// [`MAX_SALUTATION_CHARS`] characters. A display name is attacker text like the subject, and one
/// holding a link, an address or digits ("WIN £500 at example.biz") would be relayed by the
/// greeting; such a letter begins "Hello," instead.
///
/// A plausible name is then put in the form UK letters greet by
/// ([`crate::core::validate::greeting_name`]): "Adeyemi, Tom" → "Tom Adeyemi", "DR A. KHAN" →
/// "Dr Khan"; a name that is not a person's (a mailbox, an organisation, initials) is not used.
pub fn salutation_name(name: Option<String>) -> Option<String> {
    let name = name?;
    let name = name.trim();
    let plausible = !name.is_empty()
        && name.chars().count() <= MAX_SALUTATION_CHARS
        && name.split_whitespace().count() <= MAX_SALUTATION_WORDS
        && name.chars().any(char::is_alphabetic)
        && name
            .chars()
            .all(|c| c.is_alphabetic() || matches!(c, ' ' | '-' | '\'' | '’' | '.' | ','));
    if !plausible {
        return None;
    }
    crate::core::validate::greeting_name(name)
}

/// Another delivery of a message recorded before under its delivery identity: nothing new, only
/// a `seen` record of this copy's content hash (so a further copy like it is known before
/// triage), filed with the first.
fn same_delivery(outcome: &Outcome, kind: Kind, now: DateTime<Utc>) -> Plan {
    let why = "another delivery of a message already recorded (same Message-ID, From and Date)";
    let change = Change {
        seen: vec![SeenRecord {
            at: now,
            message_id: None,
            content_hash: Some(outcome.message.content_hash.clone()),
            kind: Some(kind),
            why: why.into(),
        }],
        ..Change::default()
    };
    Plan {
        change,
        action: Handled::Ignored {
            kind,
            why: why.into(),
        },
        file_as: kind,
        queues_mail: false,
    }
}

/// The message's dedupe keys, as recorded with it: its content hash and, when it has one, its
/// delivery identity.
fn dedupe_keys(m: &Message) -> Vec<String> {
    std::iter::once(m.content_hash.clone())
        .chain(identity_key(m))
        .collect()
}

/// The `seen` records of a message that created no case (or ran a command), one per dedupe
/// key, so that another delivery is recognised by either; only the first carries the Message-ID
/// (it has an index of its own).
pub fn seen_records(m: &Message, kind: Kind, why: &str, now: DateTime<Utc>) -> Vec<SeenRecord> {
    dedupe_keys(m)
        .into_iter()
        .enumerate()
        .map(|(n, key)| SeenRecord {
            at: now,
            message_id: m.message_id.clone().filter(|_| n == 0),
            content_hash: Some(key),
            kind: Some(kind),
            why: why.to_string(),
        })
        .collect()
}

fn sender(outcome: &Outcome) -> Option<&str> {
    outcome
        .message
        .reply_address()
        .map(|a| a.email.as_str())
        .filter(|e| !e.trim().is_empty())
}

fn ignore(
    settings: &IngestSettings,
    outcome: &Outcome,
    kind: Kind,
    why: String,
    now: DateTime<Utc>,
) -> Plan {
    let change = Change {
        seen: seen_records(&outcome.message, kind, &why, now),
        // A historical import lists nothing: its machine mail is old news.
        machine_mail: (settings.mode == Mode::Live)
            .then(|| machine_mail_record(outcome, kind, &why, now)),
        ..Change::default()
    };
    Plan {
        change,
        action: Handled::Ignored { kind, why },
        file_as: kind,
        queues_mail: false,
    }
}

/// Longest sender address kept on a machine-mail record, in bytes (RFC 5321's 320, rounded).
const MAX_SENDER_BYTES: usize = 320;

/// Longest subject kept on a machine-mail record, in bytes: a list line, not the message.
const MAX_SUBJECT_BYTES: usize = 200;

/// The machine-mail record of a message filed without a case (the app adds the raw bytes with
/// [`attach_original`]): received when its clock would say, the reason in words, and the kind a
/// person opening it gets by default ([`suggested_kind`]).
fn machine_mail_record(
    outcome: &Outcome,
    kind: Kind,
    why: &str,
    now: DateTime<Utc>,
) -> NewMachineMail {
    let m = &outcome.message;
    let received_at = outcome.received_at.map_or(now, |(t, _)| t);
    // A receipt time outside four-digit years (a forged Date: header) is dated by processing.
    let year_of = |t| {
        deadline::local_date(t)
            .ok()
            .map(|d| d.year())
            .filter(|y| crate::model::case::check_year(*y).is_ok())
    };
    let (received_at, year) = match year_of(received_at) {
        Some(y) => (received_at, y),
        None => (now, year_of(now).unwrap_or(crate::model::case::YEAR_MIN)),
    };
    let text = crate::core::text::one_line;
    NewMachineMail {
        year,
        draft: MachineMailDraft {
            id: (),
            filed_at: now,
            received_at,
            from: text(sender(outcome).unwrap_or(""), MAX_SENDER_BYTES),
            subject: text(&m.subject, MAX_SUBJECT_BYTES),
            kind,
            why: why.to_string(),
            rules: outcome
                .decision
                .fired
                .iter()
                .map(|r| r.id.clone())
                .collect(),
            suggested: suggested_kind(&outcome.decision, kind),
            content_hash: m.content_hash.clone(),
            message_id: m.message_id.clone(),
            size: m.raw_size as u64,
            partial: false,
            opened: None,
        },
        raw: Vec::new(),
    }
}

/// The kind a machine-mail record is opened as when nobody names one: its own kind when that is
/// not `auto` (mail from our own address), else the rules' best choice after `auto`, else
/// `general` (a person reads it and reclassifies it if need be).
pub fn suggested_kind(decision: &crate::core::rules::Decision, kind: Kind) -> Kind {
    if kind != Kind::Auto {
        return kind;
    }
    decision
        .scores
        .iter()
        .find(|(k, score)| *k != Kind::Auto && *score > 0)
        .map_or(Kind::General, |(k, _)| *k)
}

/// Gives the machine-mail record a plan keeps (if any) the message's raw bytes: the planner has
/// only the parsed message, the app has the bytes. `partial`: only part was read (over the size
/// cap), which the record says.
pub fn attach_original(p: &mut Plan, raw: &[u8], partial: bool) {
    if let Some(m) = &mut p.change.machine_mail {
        m.raw = raw.to_vec();
        m.draft.size = raw.len() as u64;
        m.draft.partial = partial;
    }
}

/// The audit action that starts a case made from machine mail (its detail names the record).
pub const OPENED_ACTION: &str = "opened_from_machine_mail";

/// A person's request to turn a machine-mail record into a case.
#[derive(Debug, Clone, Copy)]
pub struct OpenRequest<'a> {
    /// The record, as stored.
    pub record: &'a MachineMail,
    /// Who asks (audited; the record says who opened it).
    pub by: &'a str,
    /// Why, if they said (audited).
    pub why: &'a str,
}

/// Plans the case a person makes of a machine-mail record: the new case exactly as a new request
/// is made ([`plan`]: validity, clock, acknowledgement and its caps), opened by `open.by`, the
/// record marked opened in the same change (the store refuses a second opening).
///
/// `outcome` is the record's raw bytes triaged again as the kind to open (never `auto`, never a
/// follow-up) with the record's receipt time as the server's, so the clock counts from the
/// original receipt, not from today.
///
/// # Errors
/// [`PlanError::AlreadyOpened`], [`PlanError::OpenAsAuto`], or what [`plan`] refuses.
pub fn plan_opened(
    ctx: &Context,
    settings: &IngestSettings,
    outcome: &Outcome,
    facts: &Facts,
    open: &OpenRequest<'_>,
    now: DateTime<Utc>,
) -> Result<Plan, PlanError> {
    let record = open.record;
    if let Some(o) = &record.opened {
        return Err(PlanError::AlreadyOpened {
            id: record.id,
            case: o.case.clone(),
            by: o.by.clone(),
        });
    }
    if outcome.kind() == Kind::Auto {
        return Err(PlanError::OpenAsAuto(record.id));
    }
    let mut p = plan_new_case(ctx, settings, outcome, facts, now)?;
    let mut audit = vec![AuditEvent::new(
        now,
        open.by,
        OPENED_ACTION,
        json!({
            "machine_mail": record.id,
            "filed_at": record.filed_at,
            "received_at": record.received_at,
            "filed_as": record.kind,
            "filed_why": record.why,
            "kind": outcome.kind(),
        }),
        if open.why.trim().is_empty() {
            format!("opened as a case from machine mail {}", record.id)
        } else {
            open.why.trim().to_string()
        },
    )];
    if record.partial {
        audit.push(AuditEvent::system(
            now,
            "note",
            json!({"partial": {"read": record.size}}),
            "only the start of this message was kept (it was over the size limit): attachments              and the end of the text may be missing here; see the whole message in the mailbox,              where it was filed"
                .into(),
        ));
    }
    let mut appends = AuditAppend::all(&CaseTarget::New, audit);
    appends.append(&mut p.change.audit);
    p.change.audit = appends;
    p.change.machine_mail_opened.push(MachineMailOpened {
        id: record.id,
        case: CaseTarget::New,
        by: open.by.to_string(),
        at: now,
    });
    Ok(p)
}

/// The clock event that stops an invalid request's clock until the requester answers.
fn waiting_for(kind: Kind, missing: &[Missing], at: DateTime<Utc>) -> (CaseState, ClockEvent) {
    if kind == Kind::Sar
        && (missing.contains(&Missing::Identity) || missing.contains(&Missing::Authority))
    {
        (CaseState::AwaitingId, ClockEvent::IdRequested(at))
    } else if kind == Kind::Eir {
        (
            CaseState::AwaitingClarification,
            ClockEvent::ParticularsRequested(at),
        )
    } else {
        (
            CaseState::AwaitingClarification,
            ClockEvent::ClarificationRequested(at),
        )
    }
}

/// The answer that restarts a waiting case's clock.
fn answer_to(state: CaseState, kind: Kind, at: DateTime<Utc>) -> Option<ClockEvent> {
    match state {
        CaseState::AwaitingId => Some(ClockEvent::IdReceived(at)),
        CaseState::AwaitingClarification if kind == Kind::Eir => {
            Some(ClockEvent::ParticularsReceived(at))
        }
        CaseState::AwaitingClarification => Some(ClockEvent::ClarificationReceived(at)),
        _ => None,
    }
}

fn plan_new_case(
    ctx: &Context,
    settings: &IngestSettings,
    outcome: &Outcome,
    facts: &Facts,
    now: DateTime<Utc>,
) -> Result<Plan, PlanError> {
    let m = &outcome.message;
    let kind = outcome.kind();
    let prefix = settings
        .prefixes
        .get(&kind)
        .ok_or(PlanError::NoPrefix(kind))?
        .clone();
    let (received_at, received_from) = match outcome.received_at {
        Some((t, from)) => (t, json!(from)),
        None => (now, json!("processing_time")),
    };
    let year = deadline::local_date(received_at)
        .map_err(|_| PlanError::BadReceiptTime(received_at))?
        .year();
    crate::model::case::check_year(year).map_err(|_| PlanError::BadReceiptTime(received_at))?;
    let requester = m.reply_address().cloned().unwrap_or_default();

    let invalid = outcome.validity.as_ref().filter(|v| !v.valid);
    let (state, clock_events) = match invalid {
        Some(v) => {
            let (state, ev) = waiting_for(kind, &v.missing, received_at);
            (state, vec![ev])
        }
        None => (CaseState::Open, Vec::new()),
    };
    let draft = CaseDraft {
        reference: (),
        kind,
        state,
        received_at,
        requester: requester.clone(),
        subject: m.subject.clone(),
        message_ids: m.message_id.iter().cloned().collect(),
        content_hashes: dedupe_keys(m),
        rules: outcome
            .decision
            .fired
            .iter()
            .map(|r| r.id.clone())
            .collect(),
        valid: outcome.validity.as_ref().map(|v| v.valid),
        missing: outcome
            .validity
            .as_ref()
            .map(|v| v.missing.iter().map(|x| x.as_str().to_string()).collect())
            .unwrap_or_default(),
        due: outcome.due(),
        clock_events,
        workflow: crate::model::case::CaseWorkflow {
            imported: settings.mode == Mode::Import,
            identity: outcome.validity.as_ref().and_then(|v| v.identity),
            internal_review: outcome.review.clone(),
            language: outcome.language.language,
            ..Default::default()
        },
        assignee: None,
        team: None,
        created_at: now,
        updated_at: now,
    };

    let mut audit = new_case_audit(outcome, &draft, &received_from, now);

    let mut change = Change {
        new_case: Some(NewCase {
            prefix,
            year,
            draft,
        }),
        ..Change::default()
    };
    let template = if invalid.is_some() {
        Some("need_more_info")
    } else {
        ack_template_for(kind)
    };
    let queues_mail = match template {
        Some(template) => {
            let job = new_case_ack(ctx, template, outcome, invalid, facts, received_at)?;
            queue_ack(
                settings,
                facts,
                &mut change,
                &mut audit,
                CaseTarget::New,
                job,
                now,
            )?
        }
        None => false,
    };
    change.audit = AuditAppend::all(&CaseTarget::New, audit);
    Ok(Plan {
        change,
        action: Handled::NewCase(kind),
        file_as: kind,
        queues_mail,
    })
}

/// Most parse warnings copied into a new case's `received` audit event; the count is there too.
/// The first ones say what matters (a message over the parse limit, an attachment not read).
const PARSE_NOTES_IN_AUDIT: usize = 10;

/// The audit of a new request: received, classified, validated (when there is a test) and the
/// clock.
fn new_case_audit(
    outcome: &Outcome,
    draft: &CaseDraft,
    received_from: &serde_json::Value,
    now: DateTime<Utc>,
) -> Vec<AuditEvent> {
    let m = &outcome.message;
    let kind = draft.kind;
    let mut audit = vec![
        AuditEvent::system(
            now,
            "received",
            json!({
                "message_id": m.message_id,
                "content_hash": m.content_hash,
                "size": m.raw_size,
                "received_at": draft.received_at,
                "received_from": received_from,
                "from": draft.requester.email,
                "attachments": m.attachments.len(),
                "parse_warnings": m.warnings.len(),
                // What could not be read (a capped message, an attachment not read…), in words,
                // so an officer sees it on the case.
                "parse_notes": m.warnings.iter().take(PARSE_NOTES_IN_AUDIT).collect::<Vec<_>>(),
                "relay": outcome.relay,
            }),
            match &outcome.relay {
                Some(r) => format!("new message in the shared mailbox, {}", r.describe()),
                None => "new message in the shared mailbox".into(),
            },
        ),
        AuditEvent::system(
            now,
            "classified",
            json!({
                "kind": kind,
                "rules": outcome.decision.fired.iter().map(|r| json!({"id": r.id, "kind": r.kind, "weight": r.weight})).collect::<Vec<_>>(),
                "scores": outcome.decision.scores.iter().map(|(k, s)| json!([k, s])).collect::<Vec<_>>(),
                "language": language_detail(outcome),
            }),
            format!(
                "{} Language: {}",
                outcome.decision.why, outcome.language.why
            ),
        ),
    ];
    if let Some(r) = &outcome.review {
        audit.push(AuditEvent::system(
            now,
            "internal_review",
            json!(r),
            format!(
                "a request for an internal review of a {} response{}; it runs on the review's own clock",
                r.of.as_str(),
                match (&r.original, &r.quoted) {
                    (Some(o), _) => format!(", linked to {o}"),
                    (None, Some(q)) => format!(" quoting {q}, which we do not hold"),
                    (None, None) => String::new(),
                }
            ),
        ));
    }
    if let Some(v) = &outcome.validity {
        audit.push(AuditEvent::system(
            now,
            "validated",
            json!({"valid": v.valid, "missing": draft.missing, "name_found": v.name.is_some(), "identity": v.identity}),
            v.notes.join(" "),
        ));
    }
    audit.push(clock_audit(outcome, now));
    audit
}

/// The language finding, for an audit event's details.
fn language_detail(outcome: &Outcome) -> serde_json::Value {
    let l = &outcome.language;
    json!({"detected": l.language, "welsh_words": l.welsh_words, "english_words": l.english_words})
}

/// The acknowledgement (or "we need more information") letter to a new request's sender, in
/// the language they wrote in when the body answers Welsh in Welsh.
fn new_case_ack(
    ctx: &Context,
    template: &str,
    outcome: &Outcome,
    invalid: Option<&Validity>,
    facts: &Facts,
    received_at: DateTime<Utc>,
) -> Result<AckJob, PlanError> {
    let m = &outcome.message;
    let requester = m.reply_address().cloned().unwrap_or_default();
    Ok(AckJob {
        template: template.to_string(),
        to: requester.email.clone(),
        message_id: facts.letter_id.clone(),
        in_reply_to: m.message_id.clone(),
        references: m.references.clone(),
        their_subject: echoed_subject(outcome),
        requester_name: salutation_name(requester.name.clone())
            .or_else(|| salutation_name(outcome.validity.as_ref().and_then(|v| v.name.clone()))),
        missing: invalid
            .map(|v| {
                v.missing
                    .iter()
                    .map(|x| MissingItem {
                        name: x.as_str().to_string(),
                        explain: x.explain().to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        received: deadline::local_date(received_at)
            .map_err(|_| PlanError::BadReceiptTime(received_at))?,
        due: outcome.due(),
        language: letter_language(ctx.welsh, &[outcome.language.language]),
    })
}

/// The audit event for the clock of a new request.
fn clock_audit(outcome: &Outcome, now: DateTime<Utc>) -> AuditEvent {
    match &outcome.deadline {
        Some(Deadline::Computed { due, outcome: o }) => AuditEvent::system(
            now,
            "due_computed",
            json!({"due": due, "regime": o.regime.to_string(), "received": o.received}),
            o.explanation.join(" "),
        ),
        Some(Deadline::NotStarted) => AuditEvent::system(
            now,
            "clock_not_started",
            serde_json::Value::Null,
            "the request is not yet valid: the clock starts when the missing items arrive".into(),
        ),
        Some(Deadline::NoReceiptTime) => AuditEvent::system(
            now,
            "clock_not_started",
            serde_json::Value::Null,
            "no time of receipt could be read from the message; an officer must set it".into(),
        ),
        Some(Deadline::Error { message }) => AuditEvent::system(
            now,
            "clock_error",
            json!({"error": message}),
            "the due date could not be computed; an officer must set it".into(),
        ),
        None => AuditEvent::system(
            now,
            "no_clock",
            serde_json::Value::Null,
            "this kind has no timescale".into(),
        ),
    }
}

/// Queues `job` unless acknowledgements are off, this is an import, the recipient is one of ours
/// or has had too many lately, or the hour's global cap is reached; every suppression is audited. Returns whether mail was queued.
fn queue_ack(
    settings: &IngestSettings,
    facts: &Facts,
    change: &mut Change,
    audit: &mut Vec<AuditEvent>,
    target: CaseTarget,
    job: AckJob,
    now: DateTime<Utc>,
) -> Result<bool, PlanError> {
    let suppressed = if settings.mode == Mode::Import {
        Some("historical import: no mail is sent".to_string())
    } else if !settings.acks.enabled {
        Some("acknowledgements are switched off in the configuration".to_string())
    } else if job.to.trim().is_empty() || !job.to.contains('@') {
        Some("the message has no usable sender address".to_string())
    } else if settings.is_own(&job.to) {
        Some("the sender is one of our own addresses (mail loop guard)".to_string())
    } else if facts.recent_mail_to_sender >= settings.acks.per_address_per_day as usize {
        Some(format!(
            "rate limit: {} acknowledgements to this address in the last 24 hours (limit {})",
            facts.recent_mail_to_sender, settings.acks.per_address_per_day
        ))
    } else if facts.acks_last_hour >= settings.acks.global_per_hour as usize {
        Some(format!(
            "global cap: {} acknowledgements to all addresses in the last hour (limit {})",
            facts.acks_last_hour, settings.acks.global_per_hour
        ))
    } else {
        None
    };
    if let Some(why) = suppressed {
        audit.push(AuditEvent::system(
            now,
            "acknowledgement_suppressed",
            json!({"template": job.template, "to": job.to}),
            why,
        ));
        return Ok(false);
    }
    let row = OutboxJob::Ack(job.clone())
        .new_row(target, now)
        .map_err(|e| PlanError::Payload(e.to_string()))?;
    change.outbox_new.push(row);
    audit.push(AuditEvent::system(now,
        "acknowledgement_queued",
        json!({"template": job.template, "to": job.to, "message_id": job.message_id, "due": job.due, "language": job.language}),
        match job.language {
            LetterLanguage::English => "queued for sending".into(),
            LetterLanguage::Welsh => "queued for sending, in Welsh: the correspondence is in Welsh and we answer Welsh in Welsh ([organisation] welsh)".into(),
        },
    ));
    Ok(true)
}

fn plan_followup(
    ctx: &Context,
    settings: &IngestSettings,
    outcome: &Outcome,
    f: &FollowUp,
    facts: &Facts,
    case: &Case,
    now: DateTime<Utc>,
) -> Result<Plan, PlanError> {
    let m = &outcome.message;
    let at = outcome.received_at.map_or(now, |(t, _)| t);
    let from = sender(outcome).unwrap_or("").to_string();
    let from_requester = is_requester(case, &from);
    // Only the From address can be vouched for by the gateway; a Reply-To is anyone's to write.
    let from_header = m.from.as_ref().map_or("", |a| a.email.as_str());
    let requester_wrote = is_requester(case, from_header);
    let mut updated = case.clone();
    if let Some(id) = &m.message_id
        && !updated.message_ids.contains(id)
    {
        updated.message_ids.push(id.clone());
    }
    for key in dedupe_keys(m) {
        if !updated.content_hashes.contains(&key) {
            updated.content_hashes.push(key);
        }
    }
    updated.updated_at = now;
    let target = CaseTarget::Existing(case.reference.clone());
    let mut audit = vec![followup_audit(
        outcome,
        f,
        case,
        &from,
        from_requester,
        at,
        now,
    )];

    note_language(
        ctx,
        outcome,
        case,
        from_requester,
        &mut updated,
        &mut audit,
        now,
    );

    let mut template = "followup_receipt";
    let restart = if requester_wrote {
        answer_to(case.state, case.kind, at)
    } else {
        None
    };
    if let Some(answer) = restart {
        if !outcome.auth.is_authenticated() {
            withhold_restart(outcome, &mut updated, answer, now, &mut audit);
        } else if restart_clock(ctx, case, &mut updated, answer, now, &mut audit)
            && let Some(t) = ack_template_for(case.kind)
        {
            template = t;
        }
    }

    let mut change = Change {
        case_updates: vec![CaseUpdate {
            case: updated.clone(),
            expected: Some(case.clone()),
        }],
        ..Change::default()
    };
    let queues_mail = if outcome.kind() == Kind::Auto {
        false
    } else {
        let job = AckJob {
            template: template.to_string(),
            to: from.clone(),
            message_id: facts.letter_id.clone(),
            in_reply_to: m.message_id.clone(),
            references: m.references.clone(),
            their_subject: echoed_subject(outcome),
            requester_name: salutation_name(m.reply_address().and_then(|a| a.name.clone())),
            missing: Vec::new(),
            received: deadline::local_date(case.received_at)
                .map_err(|_| PlanError::BadReceiptTime(case.received_at))?,
            // The due date is the requester's business only: a third party quoting the
            // reference is told the message was filed, not when the case is due.
            due: updated.due.filter(|_| from_requester),
            // The requester's own language carries over to a short reply; a third party's
            // letter follows only what they wrote.
            language: if from_requester {
                letter_language(
                    ctx.welsh,
                    &[outcome.language.language, case.workflow.language],
                )
            } else {
                letter_language(ctx.welsh, &[outcome.language.language])
            },
        };
        queue_ack(
            settings,
            facts,
            &mut change,
            &mut audit,
            target.clone(),
            job,
            now,
        )?
    };
    change.audit = AuditAppend::all(&target, audit);
    Ok(Plan {
        change,
        action: Handled::FollowUp(case.reference.clone()),
        file_as: case.kind,
        queues_mail,
    })
}

/// A requester who writes in Welsh on a case not yet known to be in Welsh: the case records it
/// (audited), so every later letter to them, an officer's request for clarification included,
/// goes in Welsh when the body answers in Welsh.
fn note_language(
    ctx: &Context,
    outcome: &Outcome,
    case: &Case,
    from_requester: bool,
    updated: &mut Case,
    audit: &mut Vec<AuditEvent>,
    now: DateTime<Utc>,
) {
    let wrote = outcome.language.language;
    if !from_requester || !wrote.has_welsh() || case.workflow.language.has_welsh() {
        return;
    }
    updated.workflow.language = wrote;
    audit.push(AuditEvent::system(
        now,
        "language",
        json!({"from": case.workflow.language, "to": wrote, "finding": language_detail(outcome)}),
        format!(
            "the requester wrote in {}{}. {}",
            if wrote == Language::Bilingual {
                "Welsh and English"
            } else {
                "Welsh"
            },
            if ctx.welsh {
                ": letters to them now go in Welsh"
            } else {
                ""
            },
            outcome.language.why
        ),
    ));
}

/// Whether `email` is the case's requester (letter case ignored; empty never is).
fn is_requester(case: &Case, email: &str) -> bool {
    !email.trim().is_empty() && email.trim().eq_ignore_ascii_case(&case.requester.email)
}

/// The `followup` audit event: how the message joined the case and who it came from.
fn followup_audit(
    outcome: &Outcome,
    f: &FollowUp,
    case: &Case,
    from: &str,
    from_requester: bool,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> AuditEvent {
    let m = &outcome.message;
    AuditEvent::system(
        now,
        "followup",
        json!({
            "via": f.via,
            "matched": f.matched,
            "message_id": m.message_id,
            "content_hash": m.content_hash,
            "from": from,
            "from_requester": from_requester,
            "received_at": at,
            "kind_of_message": outcome.kind(),
            "authenticated": outcome.auth.is_authenticated(),
            "language": language_detail(outcome),
        }),
        format!(
            "joined to {} ({})",
            case.reference,
            if from_requester {
                "from the requester"
            } else {
                "not from the requester's address"
            }
        ),
    )
}

/// An answer the gateway does not vouch for: the clock stays stopped, the case is flagged for an
/// officer, who restarts it by hand if the answer is genuine (anyone can write the requester's
/// address in `From`, and a restarted clock cannot be taken back quietly).
fn withhold_restart(
    outcome: &Outcome,
    updated: &mut Case,
    answer: ClockEvent,
    now: DateTime<Utc>,
    audit: &mut Vec<AuditEvent>,
) {
    let why = outcome.auth.describe();
    updated.workflow.flags.push(Flag::UnverifiedAnswer {
        message_id: outcome.message.message_id.clone(),
        why: why.clone(),
    });
    audit.push(AuditEvent::system(
        now,
        "clock_restart_withheld",
        json!({"event": answer.name(), "message_id": outcome.message.message_id, "auth": outcome.auth}),
        format!(
            "a reply from the requester's address may be the answer the case waits for, but it is \
             {why}; the clock was not restarted and the case is flagged for an officer"
        ),
    ));
}

/// Restarts a waiting case's clock with the requester's answer (audited). Returns whether the
/// new due date was computed (the acknowledgement then gives it).
fn restart_clock(
    ctx: &Context,
    case: &Case,
    updated: &mut Case,
    answer: ClockEvent,
    now: DateTime<Utc>,
    audit: &mut Vec<AuditEvent>,
) -> bool {
    updated.clock_events.push(answer);
    updated.state = CaseState::Open;
    let regime = ctx.case_regime(case);
    let result = regime.map(|regime| {
        deadline::compute(
            &ClockInput {
                regime,
                region: ctx.region,
                received_at: case.received_at,
                events: updated.clock_events.clone(),
            },
            &ctx.calendar,
            &ctx.options,
        )
    });
    let old_due = case.due;
    match result {
        Some(Ok(o)) => {
            updated.due = o.due();
            audit.push(AuditEvent::system(now,
                "clock_restarted",
                json!({"event": answer.name(), "old_due": old_due, "due": updated.due, "regime": regime.map(|r| r.to_string())}),
                format!(
                    "the requester replied while the case waited ({}); taken as the answer. {}",
                    case.state,
                    o.explanation.join(" ")
                ),
            ));
            true
        }
        Some(Err(e)) => {
            audit.push(AuditEvent::system(now,
                "clock_error",
                json!({"event": answer.name(), "error": e.to_string()}),
                "the requester replied but the new due date could not be computed; an officer must set it".into(),
            ));
            false
        }
        None => false,
    }
}

#[cfg(test)]
mod tests;
