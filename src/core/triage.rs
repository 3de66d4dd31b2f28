//! The whole pure pipeline for one message: parse → unwrap relays → classify (and detect its
//! language) → follow-up or internal review → validate → deadline.
//!
//! [`triage`] takes raw bytes, the server's receipt time and a view of stored threads, and
//! returns an [`Outcome`]: plain data saying what the message is and what the clock says. It does
//! not write anything or send anything; the daemon turns an `Outcome` into a store change and
//! outbox rows, and `foi-triage classify` prints it.

use crate::config::Config;
use crate::core::auth::{self, Authenticity};
use crate::core::deadline::{self, Calendar, ClockInput, DeadlineOptions, Regime, Region};
use crate::core::extract::AttachmentReader;
use crate::core::followup::{self, FollowUp, Threads};
use crate::core::intake::{self, Relay};
use crate::core::language::{self, LanguageFinding};
use crate::core::review;
use crate::core::rules::{Decision, RuleSet};
use crate::core::validate::{self, Validity};
use crate::model::case::{CaseRef, InternalReview};
use crate::model::kind::Kind;
use crate::model::message::Message;
use crate::model::regime::ReviewOf;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// Everything the pipeline needs besides the message: rules, reference prefixes, the calendar.
pub struct Context {
    /// Compiled classification rules.
    pub rules: RuleSet,
    /// Reference prefixes that mark a follow-up (`FOI`, `SAR`…).
    pub prefixes: Vec<String>,
    /// The authority's own region.
    pub region: Region,
    /// Bank holidays.
    pub calendar: Calendar,
    /// Deadline options (SAR month rule, closure days…).
    pub options: DeadlineOptions,
    /// Local-policy working days per non-statutory kind.
    pub policy_days: BTreeMap<Kind, u32>,
    /// The trusted gateway's authserv-ids (`[trust]`): whose `Authentication-Results` count.
    pub trusted_authserv_ids: Vec<String>,
    /// The SAR identity policy and the staff domains (`[validity]`, `[intake]`).
    pub validity: validate::Policy,
    /// The organisation's web-form addresses, lower-cased (`[intake] forms_addresses`).
    pub forms_addresses: Vec<String>,
    /// The kind each reference prefix names, so a review request quoting `FOI-2026-000123` is
    /// known to review an FOI response.
    pub prefix_kinds: Vec<(String, Kind)>,
    /// Local-policy working days to review a SAR response (`[reviews] sar_working_days`).
    pub sar_review_days: u32,
    /// The body answers correspondence received in Welsh in Welsh (`[organisation] welsh`): the
    /// planners then write to a Welsh or bilingual requester with the Welsh templates.
    pub welsh: bool,
}

impl Context {
    /// A context from a validated config, its rules and its calendar.
    pub fn new(config: &Config, rules: RuleSet, calendar: Calendar) -> Context {
        Context {
            rules,
            prefixes: config.prefixes().into_iter().map(|(p, _)| p).collect(),
            region: config.region,
            calendar,
            options: config.deadline_options(),
            policy_days: config
                .kinds
                .iter()
                .map(|(k, c)| (*k, c.working_days))
                .collect(),
            trusted_authserv_ids: config.trust.authserv_ids.clone(),
            validity: validate::Policy {
                sar_identity: config.validity.sar_identity,
                staff_domains: config.own_domains(),
            },
            forms_addresses: config.intake.forms(),
            prefix_kinds: config.prefixes(),
            sar_review_days: config.reviews.sar_working_days,
            welsh: config.welsh,
        }
    }

    /// A context for tools run without a config file: default prefixes and timescales, England and
    /// Wales, the built-in calendar.
    pub fn standalone(rules: RuleSet) -> Context {
        let config = Config::defaults();
        Context::new(&config, rules, Calendar::builtin())
    }

    /// The legal regime a kind runs under here (`None` for `auto`).
    pub fn regime(&self, kind: Kind) -> Option<Regime> {
        Regime::for_kind(kind, self.region, |k| {
            self.policy_days.get(&k).copied().unwrap_or(10)
        })
    }

    /// The regime a stored case's clock runs under: its internal review's when it is one,
    /// else its kind's.
    pub fn case_regime(&self, case: &crate::model::case::Case) -> Option<Regime> {
        match &case.workflow.internal_review {
            Some(r) => Some(r.regime()),
            None => self.regime(case.kind),
        }
    }
}

/// Where the time of receipt came from; the sender's `Date:` is a last resort, flagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceivedFrom {
    /// IMAP INTERNALDATE: the server's own time.
    InternalDate,
    /// The newest `Received:` header: our MTA's time.
    ReceivedHeader,
    /// The sender's `Date:` header: only when nothing better exists.
    DateHeader,
}

/// The statutory or policy clock for a new request.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Deadline {
    /// The clock runs (or is stopped by an event); see the deadline outcome.
    Computed {
        /// The due date, if the clock runs.
        due: Option<chrono::NaiveDate>,
        /// The engine's full result, with its explanation.
        #[serde(skip)]
        outcome: Box<deadline::DeadlineOutcome>,
    },
    /// An invalid request: the clock starts when the missing items arrive (FOIA s.1(3), Art 12(6)).
    NotStarted,
    /// No time of receipt could be found at all.
    NoReceiptTime,
    /// The engine refused (e.g. a date outside its range).
    Error {
        /// What went wrong.
        message: String,
    },
}

/// What the pipeline found out about one message.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The parsed message.
    #[serde(skip)]
    pub message: Message,
    /// When we received it, and from where that came.
    pub received_at: Option<(DateTime<Utc>, ReceivedFrom)>,
    /// The classification, with the rules that fired and why.
    pub decision: Decision,
    /// The language the sender wrote in, with why.
    pub language: LanguageFinding,
    /// The case it continues, if any (never for `auto`).
    pub followup: Option<FollowUp>,
    /// How it reached us through someone else (our web form, a colleague's forward), if it did;
    /// `message` is then the requester's message as unwrapped.
    pub relay: Option<Relay>,
    /// Set when the message asks for an internal review of an earlier response (a complaint):
    /// the new case is marked with it and runs on the review's clock.
    pub review: Option<InternalReview>,
    /// Validity of a new FOI/EIR/SAR request.
    pub validity: Option<Validity>,
    /// The clock of a new request (`None` for follow-ups and `auto`).
    pub deadline: Option<Deadline>,
    /// Whether the trusted gateway vouches for the From domain: only then may the message
    /// change a case's state (restart a clock, mark a response, run a staff command).
    pub auth: Authenticity,
}

impl Outcome {
    /// The kind decided by the rules.
    pub fn kind(&self) -> Kind {
        self.decision.kind
    }

    /// The due date of a new request whose clock runs.
    pub fn due(&self) -> Option<chrono::NaiveDate> {
        match &self.deadline {
            Some(Deadline::Computed { due, .. }) => *due,
            _ => None,
        }
    }
}

/// Runs the pure pipeline over one raw message.
///
/// `internal_date` is the IMAP INTERNALDATE when the message came from a mailbox; files on disk
/// have none and fall back to the newest `Received:` header. `reader` reads attached documents
/// (see [`crate::core::parse::parse`]).
pub fn triage(
    ctx: &Context,
    raw: &[u8],
    internal_date: Option<DateTime<Utc>>,
    threads: &dyn Threads,
    reader: &dyn AttachmentReader,
) -> Outcome {
    let message = crate::core::parse::parse(raw, reader);
    triage_message(ctx, message, internal_date, threads)
}

/// The pipeline after parsing (for callers that already hold a `Message`).
pub fn triage_message(
    ctx: &Context,
    message: Message,
    internal_date: Option<DateTime<Utc>>,
    threads: &dyn Threads,
) -> Outcome {
    triage_inner(ctx, message, internal_date, threads, None)
}

/// The pipeline for a message a person has judged (a machine-mail record turned into a case):
/// `kind` replaces the rules' decision, whose explanation is kept, and the message is never a
/// follow-up (a person asked for a case of its own). Validity and the clock are those of `kind`.
pub fn triage_as(
    ctx: &Context,
    raw: &[u8],
    internal_date: Option<DateTime<Utc>>,
    threads: &dyn Threads,
    reader: &dyn AttachmentReader,
    kind: Kind,
) -> Outcome {
    let message = crate::core::parse::parse(raw, reader);
    triage_inner(ctx, message, internal_date, threads, Some(kind))
}

fn triage_inner(
    ctx: &Context,
    message: Message,
    internal_date: Option<DateTime<Utc>>,
    threads: &dyn Threads,
    forced: Option<Kind>,
) -> Outcome {
    let received_at = internal_date
        .map(|t| (t, ReceivedFrom::InternalDate))
        .or(message
            .received_header_at
            .map(|t| (t, ReceivedFrom::ReceivedHeader)))
        .or(message.date.map(|t| (t, ReceivedFrom::DateHeader)));
    let housekeeping = intake::housekeeping(&message, &ctx.validity.staff_domains);
    let (message, relay) =
        intake::unwrap(message, &ctx.forms_addresses, &ctx.validity.staff_domains);
    // Judged on the From after unwrapping: a forward's original sender is not vouched for by
    // the gateway's verdict on the colleague who forwarded it, so their "answer" inside a
    // forward never restarts a clock by itself.
    let auth = auth::authenticate(
        &message.headers,
        message.from.as_ref().map(|a| a.email.as_str()),
        &ctx.trusted_authserv_ids,
    );
    let mut decision = ctx.rules.classify_with(&message, auth.rule_flags());
    let language = language::detect_message(&message);
    if let Some(what) = housekeeping {
        decision.kind = Kind::Auto;
        decision.why = format!(
            "{what}: internal housekeeping from our own domain, never a case. (Rules: {})",
            decision.why
        );
    }
    if let Some(k) = forced {
        decision.why = format!(
            "{k} chosen by a person; the rules had said {}: {}",
            decision.kind, decision.why
        );
        decision.kind = k;
    }
    let kind = decision.kind;
    // Auto-replies inside a thread stay `auto`: joining them to the case would let a machine
    // restart a clock or trigger a receipt, the first step of a mail loop.
    let mut followup = if kind == Kind::Auto || forced.is_some() {
        None
    } else {
        followup::detect(&message, &ctx.prefixes, threads)
    };
    let review = internal_review(ctx, kind, &message, &mut followup, threads);
    let validity = if followup.is_some() {
        None
    } else {
        validate::validate(kind, &message, &ctx.validity)
    };
    let regime = regime_for(ctx, kind, review.as_ref());
    let deadline = match (&followup, regime) {
        (None, Some(regime)) => Some(clock(ctx, regime, &validity, received_at)),
        _ => None,
    };
    Outcome {
        message,
        received_at,
        decision,
        language,
        followup,
        relay,
        review,
        validity,
        deadline,
        auth,
    }
}

/// The internal-review marking of a complaint that asks for a review ([`review::detect`]).
///
/// A review request that continues a statutory request's thread (its reference in the subject,
/// or a reply to our letter) is not a follow-up of that request: it opens its own case, linked
/// to the original, with its own clock (deadlines.md §5.0), so `followup` is cleared. The
/// reviewed law comes from the original's kind, else the words; when nothing says, FOIA is
/// assumed, whose 20 working days are the shortest review time (the officer corrects it).
fn internal_review(
    ctx: &Context,
    kind: Kind,
    message: &Message,
    followup: &mut Option<FollowUp>,
    threads: &dyn Threads,
) -> Option<InternalReview> {
    if kind != Kind::Complaint {
        return None;
    }
    let found = review::detect(message, &ctx.prefix_kinds)?;
    let thread_original = followup.as_ref().map(|f| f.reference.clone()).filter(|r| {
        review::kind_of_reference(r, &ctx.prefix_kinds).is_some_and(Kind::is_statutory)
    });
    if thread_original.is_some() {
        *followup = None;
    }
    let quoted = thread_original.or(found.quoted);
    let of_kind = quoted
        .as_deref()
        .and_then(|r| review::kind_of_reference(r, &ctx.prefix_kinds))
        .or(found.of)
        .unwrap_or(Kind::Foi);
    let of = ReviewOf::for_kind(of_kind, ctx.region)?;
    let original = quoted
        .as_deref()
        .filter(|r| threads.case_exists(r))
        .and_then(|r| r.parse::<CaseRef>().ok());
    let Regime::Review { working_days, .. } = of.regime(ctx.sar_review_days) else {
        return None;
    };
    Some(InternalReview {
        of,
        working_days,
        quoted,
        original,
    })
}

/// Adjusts the outcome of a message read only in part (larger than the configured cap): it is
/// never judged invalid, because what it seems to lack (a name, an address, proof of identity)
/// may be in the part not read. Validity is left to a person (`None`) and the clock runs from
/// receipt: the safe side, since a clock wrongly stopped for clarification would make the
/// statutory reply late, while a running one can still be stopped by an officer.
pub fn read_in_part(ctx: &Context, outcome: &mut Outcome) {
    if outcome.validity.as_ref().is_none_or(|v| v.valid) {
        return;
    }
    outcome.validity = None;
    if outcome.followup.is_none()
        && let Some(regime) = regime_for(ctx, outcome.kind(), outcome.review.as_ref())
    {
        outcome.deadline = Some(clock(ctx, regime, &None, outcome.received_at));
    }
}

/// The timescale a new message's clock runs under: an internal review's own, else its kind's.
fn regime_for(ctx: &Context, kind: Kind, review: Option<&InternalReview>) -> Option<Regime> {
    match review {
        Some(r) => Some(r.regime()),
        None => ctx.regime(kind),
    }
}

fn clock(
    ctx: &Context,
    regime: Regime,
    validity: &Option<Validity>,
    received_at: Option<(DateTime<Utc>, ReceivedFrom)>,
) -> Deadline {
    if validity.as_ref().is_some_and(|v| !v.valid) {
        return Deadline::NotStarted;
    }
    let Some((at, _)) = received_at else {
        return Deadline::NoReceiptTime;
    };
    let input = ClockInput::new(regime, ctx.region, at);
    match deadline::compute(&input, &ctx.calendar, &ctx.options) {
        Ok(outcome) => Deadline::Computed {
            due: outcome.due(),
            outcome: Box::new(outcome),
        },
        Err(e) => Deadline::Error {
            message: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::extract::InProcess;
    use crate::core::followup::NoThreads;
    use proptest::prelude::*;
    use std::path::Path;
    use std::sync::LazyLock;

    static CTX: LazyLock<Context> = LazyLock::new(|| {
        let rules = RuleSet::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"))
            .expect("default rules load");
        Context::standalone(rules)
    });

    const RECEIVED: &str = "Received: from mx.example.org by mx.council.example.gov.uk; Mon, 5 Jan 2026 09:30:00 +0000\r\n";

    fn mail(from: &str, subject: &str, extra: &str, body: &str) -> Vec<u8> {
        format!("{RECEIVED}From: {from}\r\nTo: foi@council.example.gov.uk\r\nSubject: {subject}\r\nMessage-ID: <t1@example.org>\r\nDate: Mon, 5 Jan 2026 09:29:00 +0000\r\n{extra}\r\n{body}").into_bytes()
    }

    #[test]
    fn a_message_read_in_part_is_never_judged_invalid_and_its_clock_runs() {
        // No name anywhere in the part read: invalid when read whole.
        let raw = mail(
            "jane@example.org",
            "Freedom of Information request: pothole repairs",
            "",
            "Under the Freedom of Information Act, please provide the number of pothole repairs \
             the council carried out in 2024/25.\r\n",
        );
        let mut o = triage(&CTX, &raw, None, &NoThreads, &InProcess);
        assert_eq!(o.validity.as_ref().map(|v| v.valid), Some(false));
        assert_eq!(o.due(), None);
        read_in_part(&CTX, &mut o);
        assert_eq!(o.validity, None);
        assert!(o.due().is_some(), "{:?}", o.deadline);
        // A valid one is left alone.
        let valid = mail(
            "Jane Smith <jane@example.org>",
            "Freedom of Information request",
            "",
            "Under the Freedom of Information Act, please provide the number of pothole repairs \
             in 2024/25.\r\n\r\nYours sincerely,\r\nJane Smith\r\n",
        );
        let mut o = triage(&CTX, &valid, None, &NoThreads, &InProcess);
        let due = o.due();
        read_in_part(&CTX, &mut o);
        assert_eq!(o.validity.as_ref().map(|v| v.valid), Some(true));
        assert_eq!(o.due(), due);
    }

    #[test]
    fn valid_foi_gets_a_due_date_from_the_received_header() {
        let raw = mail(
            "Jane Smith <jane@example.org>",
            "Freedom of Information request: pothole repairs",
            "",
            "Under the Freedom of Information Act, please provide the number of pothole repairs \
             the council carried out in 2024/25 and the total cost.\r\n\r\nYours sincerely,\r\nJane Smith\r\n",
        );
        let o = triage(&CTX, &raw, None, &NoThreads, &InProcess);
        assert_eq!(o.kind(), Kind::Foi, "{}", o.decision.why);
        assert_eq!(o.validity.as_ref().map(|v| v.valid), Some(true));
        assert_eq!(
            o.received_at.map(|r| r.1),
            Some(ReceivedFrom::ReceivedHeader)
        );
        // Day 0 = Mon 5 Jan 2026; WD20 = Mon 2 Feb 2026 (no holidays in between).
        assert_eq!(
            o.due().map(|d| d.to_string()).as_deref(),
            Some("2026-02-02")
        );
    }

    #[test]
    fn internal_date_beats_headers() {
        let raw = mail(
            "Jane Smith <jane@example.org>",
            "FOI request",
            "",
            "Please provide the 2024 parking income figures.\r\n\r\nJane Smith\r\n",
        );
        let internal = "2026-01-09T23:30:00Z".parse().unwrap();
        let o = triage(&CTX, &raw, Some(internal), &NoThreads, &InProcess);
        assert_eq!(o.received_at, Some((internal, ReceivedFrom::InternalDate)));
        // Day 0 = Fri 9 Jan 2026 → WD20 = Fri 6 Feb 2026.
        assert_eq!(
            o.due().map(|d| d.to_string()).as_deref(),
            Some("2026-02-06")
        );
    }

    #[test]
    fn invalid_request_has_no_running_clock() {
        let raw = mail(
            "Concerned Resident <cr@example.org>",
            "FOI request",
            "",
            "Please send me everything you hold.\r\n",
        );
        let o = triage(&CTX, &raw, None, &NoThreads, &InProcess);
        assert_eq!(o.kind(), Kind::Foi, "{}", o.decision.why);
        assert_eq!(o.validity.as_ref().map(|v| v.valid), Some(false));
        assert!(matches!(o.deadline, Some(Deadline::NotStarted)));
        assert_eq!(o.due(), None);
    }

    #[test]
    fn follow_up_has_no_new_clock_and_auto_in_a_thread_stays_auto() {
        let raw = mail(
            "Jane Smith <jane@example.org>",
            "Re: [FOI-2026-000123] Your request",
            "In-Reply-To: <ack@council.example.gov.uk>\r\n",
            "Thank you, here is the clarification: I mean 2024/25 only.\r\n\r\nJane Smith\r\n",
        );
        let o = triage(&CTX, &raw, None, &NoThreads, &InProcess);
        assert_eq!(
            o.followup.as_ref().map(|f| f.reference.as_str()),
            Some("FOI-2026-000123")
        );
        assert!(o.deadline.is_none() && o.validity.is_none());

        let raw = mail(
            "Jane Smith <jane@example.org>",
            "Automatic reply: [FOI-2026-000123] Your request",
            "Auto-Submitted: auto-replied\r\nX-Auto-Response-Suppress: All\r\n",
            "I am out of the office until Monday.\r\n",
        );
        let o = triage(&CTX, &raw, None, &NoThreads, &InProcess);
        assert_eq!(o.kind(), Kind::Auto, "{}", o.decision.why);
        assert!(o.followup.is_none() && o.deadline.is_none());
    }

    #[test]
    fn a_kind_chosen_by_a_person_replaces_the_rules_and_is_never_a_follow_up() {
        let raw = mail(
            "Jane Smith <jane@example.org>",
            "Automatic reply: [FOI-2026-000123] Your request",
            "Auto-Submitted: auto-replied\r\n",
            "I am away. Also, under the Freedom of Information Act please provide the 2024 \
             parking income figures.\r\n\r\nJane Smith\r\n",
        );
        let internal = "2026-01-09T23:30:00Z".parse().unwrap();
        let rules = triage(&CTX, &raw, Some(internal), &NoThreads, &InProcess);
        assert_eq!(rules.kind(), Kind::Auto);
        let o = triage_as(
            &CTX,
            &raw,
            Some(internal),
            &NoThreads,
            &InProcess,
            Kind::Foi,
        );
        assert_eq!(o.kind(), Kind::Foi);
        assert!(
            o.decision
                .why
                .starts_with("foi chosen by a person; the rules had said auto")
        );
        assert!(o.followup.is_none(), "{:?}", o.followup);
        assert_eq!(o.validity.as_ref().map(|v| v.valid), Some(true));
        // The clock runs from the time given as the server's: Fri 9 Jan 2026 → Fri 6 Feb 2026.
        assert_eq!(
            o.due().map(|d| d.to_string()).as_deref(),
            Some("2026-02-06")
        );
    }

    #[test]
    fn no_time_of_receipt_at_all_is_said_not_guessed() {
        let raw = b"From: Jane Smith <jane@example.org>\r\nSubject: FOI request\r\n\r\nPlease provide the 2024 parking income figures.\r\n\r\nJane Smith\r\n";
        let o = triage(&CTX, raw, None, &NoThreads, &InProcess);
        assert_eq!(o.kind(), Kind::Foi);
        assert!(
            matches!(o.deadline, Some(Deadline::NoReceiptTime)),
            "{:?}",
            o.deadline
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Arbitrary bytes never panic the pipeline, and a due date is never before receipt.
        #[test]
        fn arbitrary_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..4096), secs in 946_684_800i64..2_208_988_800) {
            let at = DateTime::<Utc>::from_timestamp(secs, 0).unwrap();
            let o = triage(&CTX, &raw, Some(at), &NoThreads, &InProcess);
            prop_assert!(!o.decision.why.is_empty());
            if let Some(due) = o.due() {
                prop_assert!(due >= deadline::local_date(at).unwrap());
            }
        }

        /// Header-shaped input with random request text: same guarantees.
        #[test]
        fn mail_shaped_input_never_panics(subject in "[ -~]{0,80}", body in "[ -~\r\n]{0,600}") {
            let raw = mail("Someone <s@example.org>", &subject, "", &body);
            let o = triage(&CTX, &raw, None, &NoThreads, &InProcess);
            if o.kind() == Kind::Auto {
                prop_assert!(o.followup.is_none() && o.deadline.is_none());
            }
        }
    }
}
