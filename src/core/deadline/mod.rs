//! The statutory clock: due dates for FOI, EIR, FOISA, EIR(S), subject access and local-policy
//! cases, with an explanation an officer can check line by line.
//!
//! The rules are those of `deadlines.md` (the project's legal research), cited inline:
//! - working-day regimes count day 0 = the UK local date of receipt, then the Nth working day of
//!   the regime's calendar (§1.3, §6.4);
//! - subject access counts a calendar month from the relevant time, clamped to the month's end and
//!   rolled to the controller's next working day (ICO method, §3.2), or the strict reading (§3.4);
//! - clock events restart, pause or stop the clock exactly as §8 says.
//!
//! [`compute`] is pure: it takes the receipt instant and events as `DateTime<Utc>`, converts them
//! to Europe/London dates itself, and never reads the clock or a file. The caller loads holiday
//! data ([`Calendar::from_toml`], [`Calendar::from_govuk_json`]); [`DeadlineOutcome::calendar_years`]
//! says which years' bank holidays came from the generative rules (§6.3).
//!
//! What this module does not do: decide the kind of a message, store due dates, schedule chasers,
//! or model school-day calendars (§1.8) and media same-day rules (§5.3).
//!
//! ```
//! use chrono::{DateTime, Utc};
//! use foi_triage::core::deadline::{compute, Calendar, ClockEvent, ClockInput, DeadlineOptions, Region, Regime};
//! use foi_triage::model::kind::Kind;
//!
//! // What `foi-triage due --kind foi --received 2025-05-01T09:00:00+01:00 --extended --explain` does.
//! let received: DateTime<Utc> = "2025-05-01T09:00:00+01:00".parse::<DateTime<Utc>>().unwrap();
//! let region = Region::EnglandAndWales;
//! let regime = Regime::for_kind(Kind::Foi, region, |_| 10).unwrap();
//! let input = ClockInput::new(regime, region, received)
//!     .with(ClockEvent::extension_for(regime).unwrap());
//! let out = compute(&input, &Calendar::builtin(), &DeadlineOptions::default()).unwrap();
//! for line in &out.explanation { println!("{line}"); }
//! assert_eq!(out.due().unwrap().to_string(), "2025-06-30");
//! ```

pub mod calendar;
mod events;
pub mod holidays;
mod sar;
mod working;

pub use calendar::{
    Calendar, CalendarError, DayOff, Holiday, Region, RegionHoliday, UnknownRegion, WorkDays,
    WorkingCalendar, YearSource,
};

pub use crate::config::DeadlineOptions;
pub use crate::model::regime::{
    ClockEvent, Extension, ExtensionKind, MAX_WORKING_DAYS, Regime, ReviewOf, SarMonthRule,
};
use calendar::{Skip, join_and};
use chrono::{DateTime, Datelike, Days, Months, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::{Europe::London, OffsetName};
use events::{check_events, split_events};
use sar::compute_sar;
use serde::{Deserialize, Serialize};
use working::compute_working;

/// Statutory period under FOIA s.10(1), EIR reg 5(2), FOISA s.10(1), EIR(S) reg 5(2)(a), in
/// working days.
const STATUTORY_WORKING_DAYS: u32 = 20;
/// Extended period: FOIA public interest (ICO: normally no more than 20 further working days,
/// §1.7), EIR reg 7(1) and EIR(S) reg 7, in working days.
const EXTENDED_WORKING_DAYS: u32 = 40;
/// Internal "promptly" target: this many working days before the statutory due date (§1.9: WD15).
const TARGET_MARGIN_WORKING_DAYS: u32 = 5;
/// SAR internal target: start + 27 days (+ pause), the ICO's 28-day period counting the start as
/// day 1; safe under both month readings (§3.4).
const SAR_TARGET_DAYS: u64 = 27;
/// Months to pay a FOIA/FOISA fees notice: "three months beginning with the day on which the
/// fees notice is given" (FOIA s.9(2), §1.6).
const FEE_PAY_MONTHS: u32 = 3;

impl Regime {
    /// The working-day calendar of the regime (§6.4). For subject access this is the
    /// roll-forward calendar.
    pub fn work_days(self, region: Region) -> WorkDays {
        match self {
            Regime::Foia | Regime::Eir => WorkDays::Foia,
            Regime::Foisa | Regime::EirScotland => WorkDays::Foisa,
            Regime::Sar => WorkDays::Sar(region),
            Regime::Policy { .. } => WorkDays::Policy(region),
            // A review counts on the calendar of the law it reviews under (§5.0); a SAR review
            // is local policy, so it counts the authority's own working days.
            Regime::Review { of, .. } => match of {
                ReviewOf::Foia | ReviewOf::Eir => WorkDays::Foia,
                ReviewOf::Foisa | ReviewOf::EirScotland => WorkDays::Foisa,
                ReviewOf::Sar => WorkDays::Policy(region),
            },
        }
    }

    fn is_statutory_working_days(self) -> bool {
        matches!(
            self,
            Regime::Foia | Regime::Eir | Regime::Foisa | Regime::EirScotland
        )
    }

    fn is_environmental(self) -> bool {
        matches!(self, Regime::Eir | Regime::EirScotland)
    }

    /// "Regime: …" line of the explanation.
    fn summary(self) -> String {
        match self {
            Regime::Foia => "Regime: FOIA 2000 s.10(1): comply promptly and in any event not later than the 20th working day following the date of receipt.".to_string(),
            Regime::Eir => "Regime: EIR 2004 reg 5(2): as soon as possible and no later than 20 working days after the date of receipt.".to_string(),
            Regime::Foisa => "Regime: FOISA 2002 s.10(1): promptly and in any event by the 20th working day after receipt.".to_string(),
            Regime::EirScotland => "Regime: EIR (Scotland) 2004 reg 5(2)(a): 20 working days after the date of receipt.".to_string(),
            Regime::Sar => "Regime: subject access, UK GDPR Art 12(3)/12A (DPA 2018 s.54 is computed the same way): one month beginning with the relevant time (receipt of the request, or later receipt of ID or fee).".to_string(),
            Regime::Policy { working_days } => format!("Regime: local policy, not statute: {working_days} working days after receipt."),
            Regime::Review { of, working_days } => review_summary(of, working_days),
        }
    }

    /// The words used for a clarification, and the provision that makes it restart the clock.
    fn clarification_words(self) -> (&'static str, &'static str) {
        match self {
            Regime::Foia => ("Clarification (FOIA s.1(3))", "s.10(6)(b)"),
            Regime::Eir => ("Further particulars (EIR reg 9(2))", "reg 9(4)"),
            Regime::Foisa => ("Clarification (FOISA s.1(3))", "s.10(1)(b)"),
            Regime::EirScotland => ("Further particulars (EIR(S) reg 9(2))", "reg 9(4)"),
            Regime::Sar => (
                "Clarification (UK GDPR Art 12A; DPA 2018 s.54(3C))",
                "Art 12A",
            ),
            Regime::Policy { .. } | Regime::Review { .. } => ("Clarification", "local policy"),
        }
    }

    /// The words used for a fee, and the provision that disregards the fee period.
    fn fee_words(self) -> (&'static str, &'static str) {
        match self {
            Regime::Foia => ("Fees notice (FOIA s.9)", "s.10(2)"),
            Regime::Foisa => ("Fees notice (FOISA s.9)", "FOISA s.10(2)"),
            Regime::Eir => ("Advance payment notice (EIR reg 8)", "EIR reg 8"),
            Regime::EirScotland => ("Advance payment notice (EIR(S) reg 8)", "EIR(S) reg 8"),
            Regime::Sar => ("Fee (UK GDPR Art 12A; DPA 2018 s.54(3)(c))", "Art 12A"),
            Regime::Policy { .. } | Regime::Review { .. } => ("Fee", "local policy"),
        }
    }
}

impl ExtensionKind {
    /// The one extension `regime` allows: what `foi-triage due --extended` means.
    ///
    /// # Errors
    /// [`DeadlineError::ExtensionNotAllowed`] for FOISA (no extension of any kind) and for
    /// local-policy timescales.
    pub fn for_regime(regime: Regime) -> Result<ExtensionKind, DeadlineError> {
        match regime {
            Regime::Foia => Ok(ExtensionKind::PublicInterest),
            Regime::Eir | Regime::EirScotland => Ok(ExtensionKind::ComplexVoluminous),
            Regime::Sar => Ok(ExtensionKind::TwoFurtherMonths),
            Regime::Foisa => Err(DeadlineError::ExtensionNotAllowed {
                regime,
                kind: ExtensionKind::PublicInterest,
                reason: NO_FOISA_EXTENSION,
            }),
            Regime::Policy { .. } => Err(DeadlineError::ExtensionNotAllowed {
                regime,
                kind: ExtensionKind::ComplexVoluminous,
                reason: NO_POLICY_EXTENSION,
            }),
            Regime::Review {
                of: ReviewOf::Foia, ..
            } => Ok(ExtensionKind::ComplexVoluminous),
            Regime::Review { .. } => Err(DeadlineError::ExtensionNotAllowed {
                regime,
                kind: ExtensionKind::ComplexVoluminous,
                reason: NO_REVIEW_EXTENSION,
            }),
        }
    }
}

/// The "Regime: …" line of an internal review, citing the provision that sets its time (§5.0).
fn review_summary(of: ReviewOf, working_days: u32) -> String {
    match of {
        ReviewOf::Foia => format!(
            "Regime: internal review of a FOIA response. No statutory limit: the s.45 Code of Practice (2018), part 5, expects the review to be completed within {working_days} working days of receiving the request for it, and no more than 40 working days in total in exceptional (complex or voluminous) cases."
        ),
        ReviewOf::Eir => format!(
            "Regime: internal review of an EIR response (representations under EIR 2004 reg 11): the decision must be notified as soon as possible and no later than {working_days} working days after receipt of the representations (reg 11(4))."
        ),
        ReviewOf::Foisa => format!(
            "Regime: requirement for review under FOISA 2002 s.20: comply promptly and in any event by the {working_days}th working day after receipt of the requirement (s.21(1))."
        ),
        ReviewOf::EirScotland => format!(
            "Regime: review of an EIR (Scotland) response (representations under reg 16): as soon as possible and no later than {working_days} working days after receipt (EIR(S) 2004 reg 16(4))."
        ),
        ReviewOf::Sar => format!(
            "Regime: review of a subject access response. There is no statutory review (the requester may complain to the ICO at any time, UK GDPR Art 77); local policy: {working_days} working days after receipt."
        ),
    }
}

const NO_REVIEW_EXTENSION: &str = "only a FOIA internal review may run past its time (s.45 Code of Practice: up to 40 working days in total in exceptional cases); EIR reg 11(4), FOISA s.21(1) and EIR(S) reg 16(4) set fixed limits, and a SAR review is local policy";
const NO_FOISA_EXTENSION: &str = "FOISA allows no extension: there is no equivalent of FOIA s.10(3) for the public interest test, nor a complexity extension (deadlines.md §4)";
const NO_POLICY_EXTENSION: &str =
    "local-policy timescales are not statutory and have no extension in the deadline engine";
const NO_EIR_PIT: &str = "the EIR have no public interest extension (no equivalent of FOIA s.10(3)); the only extension is reg 7, to 40 working days for complex and voluminous requests, notified within 20 working days";
const NO_FOIA_COMPLEXITY: &str = "FOIA has no complexity extension; the only extra time is for the public interest test (s.10(3)), with the s.17(1) notice still due by working day 20";
const SAR_ONLY_MONTHS: &str = "subject access can be extended only by two further months for complexity or number of requests (UK GDPR Art 12(3)/12A)";
const MONTHS_ONLY_SAR: &str =
    "a two-further-months extension exists only for subject access (UK GDPR Art 12(3)/12A)";

impl ClockEvent {
    /// The regime's own extension, with no notice time recorded (what `--extended` means).
    ///
    /// # Errors
    /// As [`ExtensionKind::for_regime`].
    pub fn extension_for(regime: Regime) -> Result<ClockEvent, DeadlineError> {
        Ok(ClockEvent::Extension(Extension {
            kind: ExtensionKind::for_regime(regime)?,
            notified_at: None,
        }))
    }
}

/// Everything the clock of one case depends on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockInput {
    /// The law or policy.
    pub regime: Regime,
    /// The authority's (or controller's) GOV.UK division.
    pub region: Region,
    /// When the request reached the authority's mail system (MTA `Received:` or IMAP
    /// INTERNALDATE, never the sender's `Date:`; §0).
    pub received_at: DateTime<Utc>,
    /// Clock events, in any order.
    pub events: Vec<ClockEvent>,
}

impl ClockInput {
    /// A request with no events yet.
    pub fn new(regime: Regime, region: Region, received_at: DateTime<Utc>) -> ClockInput {
        ClockInput {
            regime,
            region,
            received_at,
            events: Vec::new(),
        }
    }

    /// Adds an event (builder style).
    pub fn with(mut self, event: ClockEvent) -> ClockInput {
        self.events.push(event);
        self
    }
}

/// Why the clock is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// Waiting for a clarification or further particulars.
    AwaitingClarification,
    /// Waiting for a fee.
    AwaitingFee,
    /// Waiting for proof of identity (SAR).
    AwaitingId,
}

/// A notice due before the final date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// FOIA s.17(1) refusal notice saying the public interest is still being considered (WD20).
    S17RefusalNotice,
    /// EIR reg 7 / EIR(S) reg 7 extension notice (WD20).
    Reg7ExtensionNotice,
    /// UK GDPR Art 12(3)/12A extension notice with reasons (within the first month).
    SarExtensionNotice,
}

/// A notice that must be given by a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// Which notice.
    pub kind: NoticeKind,
    /// Last day to give it.
    pub due: NaiveDate,
    /// Local date it was given, if recorded.
    pub given: Option<NaiveDate>,
    /// True if it was given after `due`.
    pub late: bool,
}

/// The state of the clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ClockState {
    /// The clock runs: there is a due date.
    Running {
        /// Working-day regimes: day 0 (date of receipt, or of the clarification that restarted
        /// the clock). SAR: the start (relevant time), counted as day 1.
        day0: NaiveDate,
        /// Statutory (or policy) due date: respond by midnight UK time at the end of it.
        due: NaiveDate,
        /// Earlier date to chase against: WD15 (WD35 if extended) for FOI/EIR/FOISA/EIR(S),
        /// start + 27 days + pause for SAR; none for local policy.
        internal_target: Option<NaiveDate>,
        /// A notice due before `due` (s.17 notice, reg 7 notice, SAR extension notice).
        notice: Option<Notice>,
        /// Whether an extension applies.
        extended: bool,
    },
    /// The clock is stopped: no due date until the awaited thing arrives.
    Stopped {
        /// What is awaited.
        reason: StopReason,
        /// Local date the clock stopped (the request for it was sent).
        since: NaiveDate,
        /// Fees: last day to pay; after it the request lapses (FOIA s.9(2)).
        lapses_after: Option<NaiveDate>,
    },
}

/// Where one division's bank holidays for one year came from in a computation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct YearUse {
    /// The division.
    pub region: Region,
    /// The year.
    pub year: i32,
    /// True if generated by the rules (no data for that year).
    pub from_rules: bool,
    /// Data origin label, or "rules".
    pub origin: String,
}

/// The result of [`compute`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineOutcome {
    /// The regime computed.
    pub regime: Regime,
    /// The UK local date the request arrived.
    pub received: NaiveDate,
    /// Running with a due date, or stopped.
    pub clock: ClockState,
    /// Human explanation, one sentence per line, in order; the last line states the result.
    pub explanation: Vec<String>,
    /// The bank-holiday years consulted and their source.
    pub calendar_years: Vec<YearUse>,
}

impl DeadlineOutcome {
    /// The due date, if the clock is running.
    pub fn due(&self) -> Option<NaiveDate> {
        match self.clock {
            ClockState::Running { due, .. } => Some(due),
            ClockState::Stopped { .. } => None,
        }
    }
}

/// Why a due date cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeadlineError {
    /// The law does not allow this extension for this regime.
    #[error("{regime}: a {kind} is not allowed: {reason}")]
    ExtensionNotAllowed {
        /// The case's regime.
        regime: Regime,
        /// The extension asked for.
        kind: ExtensionKind,
        /// Why, with the legal source.
        reason: &'static str,
    },
    /// The event has no meaning under this regime.
    #[error("{regime}: event {event} does not apply: {reason}")]
    EventNotAllowed {
        /// The case's regime.
        regime: Regime,
        /// The event name (snake_case).
        event: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// A working-day count above [`MAX_WORKING_DAYS`].
    #[error(
        "{days} working days is more than the {max} the engine counts (check the policy configuration)"
    )]
    TooManyWorkingDays {
        /// Days asked for.
        days: u32,
        /// The cap.
        max: u32,
    },
    /// The count ran past the last date chrono can represent.
    #[error("date arithmetic out of range near {date}")]
    OutOfRange {
        /// The last date reached.
        date: NaiveDate,
    },
}

/// Computes the clock of one case.
///
/// # Errors
/// - [`DeadlineError::ExtensionNotAllowed`]: a FOISA or local-policy extension, an EIR "public
///   interest" extension, or any extension of the wrong kind for the regime.
/// - [`DeadlineError::EventNotAllowed`]: ID events outside subject access, any event on a
///   local-policy case.
/// - [`DeadlineError::TooManyWorkingDays`], [`DeadlineError::OutOfRange`]: absurd input.
pub fn compute(
    input: &ClockInput,
    cal: &Calendar,
    opts: &DeadlineOptions,
) -> Result<DeadlineOutcome, DeadlineError> {
    check_events(input)?;
    match input.regime {
        Regime::Sar => compute_sar(input, cal, opts),
        _ => compute_working(input, cal, opts),
    }
}

// ---- shared helpers ----------------------------------------------------------------------------

/// The UK local (Europe/London) date of an instant: the "date of receipt" (§0, vector S2).
///
/// # Errors
/// [`DeadlineError::OutOfRange`] for instants at the very ends of chrono's range, whose local
/// time cannot be represented (a forged header could carry one).
pub fn local_date(at: DateTime<Utc>) -> Result<NaiveDate, DeadlineError> {
    Ok(london(at)?.0.date())
}

/// Local Europe/London time and its abbreviation (GMT or BST), without chrono's panicking
/// conversion at the ends of its range.
fn london(at: DateTime<Utc>) -> Result<(NaiveDateTime, String), DeadlineError> {
    let offset = London.offset_from_utc_datetime(&at.naive_utc());
    let local =
        at.naive_utc()
            .checked_add_offset(offset.fix())
            .ok_or(DeadlineError::OutOfRange {
                date: at.date_naive(),
            })?;
    let abbr = offset.abbreviation().unwrap_or("UK time").to_string();
    Ok((local, abbr))
}

/// "Fri 10 Jan 2025".
fn day(d: NaiveDate) -> String {
    d.format("%a %-d %b %Y").to_string()
}

/// The receipt line: local time with GMT/BST, and the UTC instant, pointing out when the dates
/// differ.
fn receipt_line(what: &str, at: DateTime<Utc>) -> Result<String, DeadlineError> {
    let (local, abbr) = london(at)?;
    let utc = at.format("%Y-%m-%dT%H:%M:%SZ");
    let local_txt = format!("{} {} {abbr}", day(local.date()), local.format("%H:%M"));
    Ok(if local.date() == at.date_naive() {
        format!("{what}: {local_txt} (Europe/London; {utc}).")
    } else {
        format!(
            "{what}: {utc} is {local_txt} in Europe/London; the UK local date {} counts, not the UTC date {}.",
            day(local.date()),
            day(at.date_naive())
        )
    })
}

/// Last day of "the period of `months` months beginning with `start`": the day before the
/// corresponding date, or the last day of the target month if it has no corresponding date.
/// Used for the FOIA s.9(2) fee window and the strict SAR reading (§1.6, §3.4).
fn period_end_beginning_with(start: NaiveDate, months: u32) -> Result<NaiveDate, DeadlineError> {
    let clamped = start
        .checked_add_months(Months::new(months))
        .ok_or(DeadlineError::OutOfRange { date: start })?;
    if clamped.day() == start.day() {
        clamped
            .pred_opt()
            .ok_or(DeadlineError::OutOfRange { date: clamped })
    } else {
        Ok(clamped)
    }
}

fn add_days(d: NaiveDate, n: u64) -> Result<NaiveDate, DeadlineError> {
    d.checked_add_days(Days::new(n))
        .ok_or(DeadlineError::OutOfRange { date: d })
}

/// The non-working days from `from` up to but excluding `to`, for explaining a roll forward.
fn days_off_between(
    wc: &WorkingCalendar<'_>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(NaiveDate, Skip)>, DeadlineError> {
    let mut skipped = Vec::new();
    let mut d = from;
    while d < to {
        if let Some(off) = wc.day_off(d) {
            skipped.push((d, Skip::Off(off)));
        }
        d = d.succ_opt().ok_or(DeadlineError::OutOfRange { date: d })?;
    }
    Ok(skipped)
}

/// Explanation lines for the days passed over, grouping consecutive days with the same reason
/// ("Skipped Sat 11 Jan 2025 and Sun 12 Jan 2025: weekend.").
fn skip_lines(skipped: &[(NaiveDate, Skip)], fee_rule: &str) -> Vec<(NaiveDate, String)> {
    let text = |s: &Skip| -> (&'static str, String) {
        match s {
            Skip::Off(off) => ("Skipped", off.to_string()),
            Skip::Disregarded => (
                "Disregarded",
                format!(
                    "working day(s) from the fees notice to the fee, both included ({fee_rule})"
                ),
            ),
        }
    };
    let mut groups: Vec<(NaiveDate, NaiveDate, &'static str, String)> = Vec::new();
    for (d, s) in skipped {
        let (verb, why) = text(s);
        if let Some(last) = groups.last_mut()
            && last.1.succ_opt() == Some(*d)
            && last.2 == verb
            && last.3 == why
        {
            last.1 = *d;
            continue;
        }
        groups.push((*d, *d, verb, why));
    }
    groups
        .into_iter()
        .map(|(a, b, verb, why)| {
            let dates = if a == b {
                day(a)
            } else if a.succ_opt() == Some(b) {
                format!("{} and {}", day(a), day(b))
            } else {
                format!("{} to {}", day(a), day(b))
            };
            (a, format!("{verb} {dates}: {why}."))
        })
        .collect()
}

/// Which division-years were consulted between `from` and `to`, and the explanation lines.
fn years_used(
    cal: &Calendar,
    days: WorkDays,
    from: NaiveDate,
    to: NaiveDate,
) -> (Vec<YearUse>, Vec<String>) {
    let mut uses = Vec::new();
    let mut lines = Vec::new();
    let regions = days.regions();
    for year in from.year()..=to.year().max(from.year()) {
        let mut groups: Vec<(String, Vec<&'static str>)> = Vec::new();
        for &region in &regions {
            let source = cal.year_source(region, year);
            uses.push(YearUse {
                region,
                year,
                from_rules: source == YearSource::Rules,
                origin: match source {
                    YearSource::Data { origin } => origin.to_string(),
                    YearSource::Rules => "rules".to_string(),
                },
            });
            let label = source.to_string();
            match groups.iter_mut().find(|(l, _)| *l == label) {
                Some((_, rs)) => rs.push(region.as_str()),
                None => groups.push((label, vec![region.as_str()])),
            }
        }
        for (label, rs) in groups {
            lines.push(format!(
                "Bank holidays for {year} ({}): {label}.",
                join_and(&rs)
            ));
        }
    }
    (uses, lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::kind::Kind;
    use chrono::TimeZone;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    const VECTORS: &str = include_str!("../../../tests/data/deadline-vectors.csv");

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// An RFC 3339 instant, or a bare date meaning 12:00 Europe/London that day.
    fn at(s: &str) -> DateTime<Utc> {
        let s = s.trim();
        if s.len() == 10 {
            London
                .from_local_datetime(&date(s).and_hms_opt(12, 0, 0).unwrap())
                .single()
                .unwrap()
                .with_timezone(&Utc)
        } else {
            DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
        }
    }

    /// Minimal RFC 4180 reader: quoted fields may hold commas; `""` is a literal quote.
    fn csv_rows(text: &str) -> Vec<Vec<String>> {
        let mut rows = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let mut fields = Vec::new();
            let mut cur = String::new();
            let mut quoted = false;
            let mut chars = line.chars().peekable();
            while let Some(c) = chars.next() {
                match (c, quoted) {
                    ('"', true) if chars.peek() == Some(&'"') => {
                        cur.push('"');
                        chars.next();
                    }
                    ('"', _) => quoted = !quoted,
                    (',', false) => fields.push(std::mem::take(&mut cur)),
                    (c, _) => cur.push(c),
                }
            }
            fields.push(cur);
            rows.push(fields);
        }
        rows
    }

    fn policy_days(k: Kind) -> u32 {
        match k {
            Kind::Complaint => 10,
            Kind::MemberEnquiry => 5,
            _ => 2,
        }
    }

    struct Vector {
        id: String,
        input: ClockInput,
        opts: DeadlineOptions,
        due: NaiveDate,
        notice_due: Option<NaiveDate>,
    }

    /// The first YYYY-MM-DD in `s`.
    fn find_date(s: &str) -> Option<NaiveDate> {
        (0..s.len().saturating_sub(9)).find_map(|i| {
            s.get(i..i + 10)
                .filter(|t| t.bytes().all(|b| b.is_ascii_digit() || b == b'-'))
                .and_then(|t| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())
        })
    }

    fn parse_vector(row: &[String]) -> Vector {
        let [kind, region, received, event, expected, note] = row else {
            panic!("bad row {row:?}");
        };
        let id = note
            .split(']')
            .next()
            .unwrap()
            .trim_start_matches('[')
            .to_string();
        let region: Region = region.parse().unwrap();
        let mut opts = DeadlineOptions::default();
        if let Some(v) = review_vector(&id, kind, region, received, event, expected) {
            return v;
        }
        let kind_enum = match kind.as_str() {
            "FOI" | "FOISA" => Kind::Foi,
            "EIR" | "EIRS" => Kind::Eir,
            "SAR" | "SAR_STRICT" => Kind::Sar,
            "COMPLAINT_STAGE1" => Kind::Complaint,
            "MEMBER_ENQUIRY" => Kind::MemberEnquiry,
            other => panic!("{id}: unknown kind {other}"),
        };
        let regime = Regime::for_kind(kind_enum, region, policy_days).unwrap();
        let want_regime = match kind.as_str() {
            "FOI" => Regime::Foia,
            "FOISA" => Regime::Foisa,
            "EIR" => Regime::Eir,
            "EIRS" => Regime::EirScotland,
            "SAR" | "SAR_STRICT" => Regime::Sar,
            "COMPLAINT_STAGE1" => Regime::Policy { working_days: 10 },
            _ => Regime::Policy { working_days: 5 },
        };
        assert_eq!(regime, want_regime, "{id}");
        let mut input = ClockInput::new(regime, region, at(received));
        let mut notice_due = None;
        let ev = event.trim();
        if ev == "none" {
        } else if ev.starts_with("pi_extension") || ev.starts_with("eir_extension") {
            let kind = if ev.starts_with("pi_") {
                ExtensionKind::PublicInterest
            } else {
                ExtensionKind::ComplexVoluminous
            };
            input.events.push(ClockEvent::Extension(Extension {
                kind,
                notified_at: None,
            }));
            notice_due = find_date(ev);
            assert!(notice_due.is_some(), "{id}: notice date in {ev:?}");
        } else if ev.starts_with("sar_extension") {
            input
                .events
                .push(ClockEvent::extension_for(Regime::Sar).unwrap());
        } else if let Some(rest) = ev.strip_prefix("local policy ") {
            let n: u32 = rest.split_whitespace().next().unwrap().parse().unwrap();
            assert_eq!(regime, Regime::Policy { working_days: n }, "{id}");
        } else if ev.starts_with("mode=strict_beginning_with") {
            assert_eq!(kind, "SAR_STRICT", "{id}");
            opts.sar_month_rule = SarMonthRule::StrictBeginningWith;
        } else {
            for part in ev.split(';') {
                let (k, v) = part.split_once('=').unwrap();
                let t = at(v);
                input.events.push(match k.trim() {
                    "clarification_requested" => ClockEvent::ClarificationRequested(t),
                    "clarification_received" => ClockEvent::ClarificationReceived(t),
                    "particulars_requested" => ClockEvent::ParticularsRequested(t),
                    "particulars_received" => ClockEvent::ParticularsReceived(t),
                    "fee_notice" => ClockEvent::FeeNotice(t),
                    "fee_received" => ClockEvent::FeeReceived(t),
                    "id_requested" => ClockEvent::IdRequested(t),
                    "id_received" => ClockEvent::IdReceived(t),
                    other => panic!("{id}: unknown event {other}"),
                });
            }
        }
        Vector {
            id,
            input,
            opts,
            due: date(expected),
            notice_due,
        }
    }

    /// An internal-review vector (kinds `*_REVIEW`, deadlines.md §5.0); `None` for other kinds.
    fn review_vector(
        id: &str,
        kind: &str,
        region: Region,
        received: &str,
        event: &str,
        expected: &str,
    ) -> Option<Vector> {
        let of = match kind {
            "FOI_REVIEW" if region == Region::Scotland => ReviewOf::Foisa,
            "FOI_REVIEW" => ReviewOf::Foia,
            "EIR_REVIEW" => ReviewOf::Eir,
            "FOISA_REVIEW" => ReviewOf::Foisa,
            "EIRS_REVIEW" => ReviewOf::EirScotland,
            "SAR_REVIEW" => ReviewOf::Sar,
            _ => return None,
        };
        let sar_days = event
            .strip_prefix("local policy ")
            .and_then(|r| r.split_whitespace().next())
            .map_or(20, |n| n.parse().unwrap());
        let regime = of.regime(sar_days);
        let mut input = ClockInput::new(regime, region, at(received));
        match event.trim() {
            "review_extension" => input
                .events
                .push(ClockEvent::extension_for(regime).unwrap()),
            e => assert!(e == "none" || e.starts_with("local policy "), "{id}: {e}"),
        }
        Some(Vector {
            id: id.to_string(),
            input,
            opts: DeadlineOptions::default(),
            due: date(expected),
            notice_due: None,
        })
    }

    fn vectors() -> Vec<Vector> {
        let rows = csv_rows(VECTORS);
        assert_eq!(
            rows[0],
            [
                "kind",
                "region",
                "received",
                "event",
                "expected_due",
                "note"
            ]
        );
        rows[1..].iter().map(|r| parse_vector(r)).collect()
    }

    #[test]
    fn every_published_vector_passes() {
        let cal = Calendar::builtin();
        let vs = vectors();
        assert_eq!(vs.len(), 43);
        let mut failures = Vec::new();
        for v in &vs {
            let out = compute(&v.input, &cal, &v.opts).unwrap();
            if out.due() != Some(v.due) {
                failures.push(format!(
                    "{}: got {:?}, want {}\n  {}",
                    v.id,
                    out.due(),
                    v.due,
                    out.explanation.join("\n  ")
                ));
                continue;
            }
            let ClockState::Running { notice, .. } = out.clock else {
                unreachable!()
            };
            if let Some(want) = v.notice_due {
                assert_eq!(notice.map(|n| n.due), Some(want), "{}", v.id);
            }
            let last = out.explanation.last().unwrap();
            assert!(last.starts_with("Due: "), "{}: {last}", v.id);
            assert!(last.contains(&day(v.due)), "{}: {last}", v.id);
            assert!(
                out.explanation.iter().any(|l| l.starts_with("Regime: ")),
                "{}",
                v.id
            );
            assert!(
                out.explanation
                    .iter()
                    .any(|l| l.starts_with("Bank holidays for ")),
                "{}",
                v.id
            );
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn internal_reviews_cite_their_provision_and_allow_only_the_foia_extension() {
        let cal = Calendar::builtin();
        let at = at("2026-06-01T09:00:00+01:00");
        let cases: [(ReviewOf, Region, &str, u32); 5] = [
            (
                ReviewOf::Foia,
                Region::EnglandAndWales,
                "s.45 Code of Practice",
                20,
            ),
            (ReviewOf::Eir, Region::EnglandAndWales, "(reg 11(4))", 40),
            (ReviewOf::Foisa, Region::Scotland, "(s.21(1))", 20),
            (ReviewOf::EirScotland, Region::Scotland, "reg 16(4)", 20),
            (ReviewOf::Sar, Region::NorthernIreland, "UK GDPR Art 77", 15),
        ];
        for (of, region, cite, days) in cases {
            let regime = of.regime(15);
            assert_eq!(
                regime,
                Regime::Review {
                    of,
                    working_days: days
                },
                "{of:?}"
            );
            let input = ClockInput::new(regime, region, at);
            let out = compute(&input, &cal, &DeadlineOptions::default()).unwrap();
            let summary = &out.explanation[0];
            assert!(summary.contains(cite), "{of:?}: {summary}");
            let last = out.explanation.last().unwrap();
            assert!(
                last.contains(&format!("working day {days} after day 0")),
                "{of:?}: {last}"
            );
            let extended = ClockEvent::extension_for(regime);
            assert_eq!(extended.is_ok(), of == ReviewOf::Foia, "{of:?}");
            let stop = input.clone().with(ClockEvent::ClarificationRequested(at));
            assert!(
                matches!(
                    compute(&stop, &cal, &DeadlineOptions::default()),
                    Err(DeadlineError::EventNotAllowed { .. })
                ),
                "{of:?}: a review has no stop-the-clock events"
            );
        }
        let foia = ClockInput::new(ReviewOf::Foia.regime(20), Region::EnglandAndWales, at)
            .with(ClockEvent::extension_for(ReviewOf::Foia.regime(20)).unwrap());
        let out = compute(&foia, &cal, &DeadlineOptions::default()).unwrap();
        assert!(
            out.explanation
                .iter()
                .any(|l| l.starts_with("Exceptional case (s.45 Code")),
            "{:#?}",
            out.explanation
        );
        assert!(matches!(
            out.clock,
            ClockState::Running {
                notice: None,
                extended: true,
                ..
            }
        ));
    }

    // ---- helpers for the project's own vectors -------------------------------------------------

    const EW: Region = Region::EnglandAndWales;
    const SC: Region = Region::Scotland;
    const NI: Region = Region::NorthernIreland;
    const P5: Regime = Regime::Policy { working_days: 5 };
    const P10: Regime = Regime::Policy { working_days: 10 };

    fn run_with(
        regime: Regime,
        region: Region,
        received: &str,
        events: &[ClockEvent],
        opts: &DeadlineOptions,
    ) -> Result<DeadlineOutcome, DeadlineError> {
        let mut input = ClockInput::new(regime, region, at(received));
        input.events.extend_from_slice(events);
        compute(&input, &Calendar::builtin(), opts)
    }

    fn run(
        regime: Regime,
        region: Region,
        received: &str,
        events: &[ClockEvent],
    ) -> DeadlineOutcome {
        run_with(
            regime,
            region,
            received,
            events,
            &DeadlineOptions::default(),
        )
        .unwrap()
    }

    fn has_line(out: &DeadlineOutcome, needle: &str) -> bool {
        out.explanation.iter().any(|l| l.contains(needle))
    }

    fn ext(kind: ExtensionKind, notified: Option<&str>) -> ClockEvent {
        ClockEvent::Extension(Extension {
            kind,
            notified_at: notified.map(at),
        })
    }

    /// Own vectors without events. Every expected date was counted by hand and then checked
    /// with an independent Python implementation over the shipped table.
    #[test]
    fn own_vectors() {
        let cases: &[(&str, Regime, Region, &str, &str)] = &[
            // Time zone: 23:30Z on Sun 6 Jul 2025 is 00:30 BST on Mon 7 Jul: day 0 is Monday.
            (
                "dst-foia",
                Regime::Foia,
                EW,
                "2025-07-06T23:30:00Z",
                "2025-08-06",
            ),
            // Year boundary 2026/27: 25, 28 Dec, 1 Jan and Scotland's Mon 4 Jan 2027 skipped.
            (
                "ny-foia",
                Regime::Foia,
                EW,
                "2026-12-21T10:00:00Z",
                "2027-01-22",
            ),
            (
                "ny-foisa",
                Regime::Foisa,
                SC,
                "2026-12-21T10:00:00Z",
                "2027-01-22",
            ),
            (
                "ny-policy-ew",
                P10,
                EW,
                "2026-12-21T10:00:00Z",
                "2027-01-07",
            ),
            // Into a year the data does not cover (2028, rules).
            (
                "ny-rules",
                Regime::Foia,
                EW,
                "2027-12-20T10:00:00Z",
                "2028-01-21",
            ),
            // SAR across the year end, and clamping plus roll-forward together.
            (
                "sar-ny",
                Regime::Sar,
                EW,
                "2025-12-31T10:00:00Z",
                "2026-02-02",
            ),
            (
                "sar-clamp-roll",
                Regime::Sar,
                EW,
                "2026-01-31T10:00:00Z",
                "2026-03-02",
            ),
            // 2034 (rules): Good Friday 7 Apr, Easter Monday 10 Apr (not Scottish).
            (
                "2034-foia",
                Regime::Foia,
                EW,
                "2034-03-20T10:00:00Z",
                "2034-04-19",
            ),
            (
                "2034-foisa",
                Regime::Foisa,
                SC,
                "2034-03-20T10:00:00Z",
                "2034-04-18",
            ),
            (
                "2034-sar-ew",
                Regime::Sar,
                EW,
                "2034-03-10T10:00:00Z",
                "2034-04-11",
            ),
            (
                "2034-sar-sc",
                Regime::Sar,
                SC,
                "2034-03-10T10:00:00Z",
                "2034-04-10",
            ),
            // Scottish 2nd January pattern (1 Jan 2022 a Saturday: Mon 3 + Tue 4 Jan).
            (
                "2jan-foisa",
                Regime::Foisa,
                SC,
                "2021-12-30T10:00:00Z",
                "2022-01-31",
            ),
            (
                "2jan-policy-ew",
                P5,
                EW,
                "2021-12-30T10:00:00Z",
                "2022-01-07",
            ),
            (
                "2jan-policy-sc",
                P5,
                SC,
                "2021-12-30T10:00:00Z",
                "2022-01-10",
            ),
            // Christmas on each weekday: SAR received 25 Nov, corresponding date 25 Dec.
            (
                "xmas-mon",
                Regime::Sar,
                EW,
                "2023-11-25T10:00:00Z",
                "2023-12-27",
            ),
            (
                "xmas-tue",
                Regime::Sar,
                EW,
                "2018-11-25T10:00:00Z",
                "2018-12-27",
            ),
            (
                "xmas-wed",
                Regime::Sar,
                EW,
                "2024-11-25T10:00:00Z",
                "2024-12-27",
            ),
            (
                "xmas-thu",
                Regime::Sar,
                EW,
                "2025-11-25T10:00:00Z",
                "2025-12-29",
            ),
            (
                "xmas-fri",
                Regime::Sar,
                EW,
                "2026-11-25T10:00:00Z",
                "2026-12-29",
            ),
            (
                "xmas-sat",
                Regime::Sar,
                EW,
                "2027-11-25T10:00:00Z",
                "2027-12-29",
            ),
            (
                "xmas-sun",
                Regime::Sar,
                EW,
                "2022-11-25T10:00:00Z",
                "2022-12-28",
            ),
            (
                "xmas-sun-rules",
                Regime::Sar,
                EW,
                "2033-11-25T10:00:00Z",
                "2033-12-28",
            ),
            // Each region's own holidays for SAR roll-forward and local policy.
            (
                "boyne-ew",
                Regime::Sar,
                EW,
                "2025-06-14T10:00:00+01:00",
                "2025-07-14",
            ),
            (
                "boyne-sc",
                Regime::Sar,
                SC,
                "2025-06-14T10:00:00+01:00",
                "2025-07-14",
            ),
            (
                "boyne-ni",
                Regime::Sar,
                NI,
                "2025-06-14T10:00:00+01:00",
                "2025-07-15",
            ),
            (
                "summer-ew",
                Regime::Sar,
                EW,
                "2025-07-04T10:00:00+01:00",
                "2025-08-04",
            ),
            (
                "summer-sc",
                Regime::Sar,
                SC,
                "2025-07-04T10:00:00+01:00",
                "2025-08-05",
            ),
            (
                "summer-ni",
                Regime::Sar,
                NI,
                "2025-07-04T10:00:00+01:00",
                "2025-08-04",
            ),
            ("stpat-ew", P5, EW, "2025-03-12T10:00:00Z", "2025-03-19"),
            ("stpat-sc", P5, SC, "2025-03-12T10:00:00Z", "2025-03-19"),
            ("stpat-ni", P5, NI, "2025-03-12T10:00:00Z", "2025-03-20"),
            // FOIA ignores the authority's region: same answer for all three.
            (
                "stpat-foia-ew",
                Regime::Foia,
                EW,
                "2025-03-12T10:00:00Z",
                "2025-04-10",
            ),
            (
                "stpat-foia-ni",
                Regime::Foia,
                NI,
                "2025-03-12T10:00:00Z",
                "2025-04-10",
            ),
            (
                "stpat-eir-sc-region",
                Regime::Eir,
                SC,
                "2025-03-12T10:00:00Z",
                "2025-04-10",
            ),
            // Zero-day policy: due on day 0 if it is a working day, else the next working day.
            (
                "p0-sat",
                Regime::Policy { working_days: 0 },
                EW,
                "2025-01-11T10:00:00Z",
                "2025-01-13",
            ),
            (
                "p0-wed",
                Regime::Policy { working_days: 0 },
                EW,
                "2025-01-15T10:00:00Z",
                "2025-01-15",
            ),
        ];
        for (id, regime, region, received, due) in cases {
            let out = run(*regime, *region, received, &[]);
            assert_eq!(
                out.due(),
                Some(date(due)),
                "{id}\n{}",
                out.explanation.join("\n")
            );
            assert!(out.due() >= Some(out.received), "{id}");
        }
    }

    #[test]
    fn dst_changes_use_the_uk_local_date() {
        // (instant, UK local date, SAR due for an E&W controller)
        let cases = [
            ("2025-03-29T23:30:00Z", "2025-03-29", "2025-04-29"), // Sat 23:30 GMT
            ("2025-03-30T00:30:00Z", "2025-03-30", "2025-04-30"), // 00:30 GMT, BST starts 01:00Z
            ("2025-03-30T00:59:59Z", "2025-03-30", "2025-04-30"),
            ("2025-03-30T01:00:00Z", "2025-03-30", "2025-04-30"), // 02:00 BST
            ("2025-03-30T23:30:00Z", "2025-03-31", "2025-04-30"), // Mon 00:30 BST; 31 Apr → 30 Apr
            ("2025-10-25T22:59:00Z", "2025-10-25", "2025-11-25"), // Sat 23:59 BST
            ("2025-10-25T23:00:00Z", "2025-10-26", "2025-11-26"), // Sun 00:00 BST
            ("2025-10-25T23:30:00Z", "2025-10-26", "2025-11-26"),
            ("2025-10-26T00:30:00Z", "2025-10-26", "2025-11-26"), // 01:30 BST, last BST hour
            ("2025-10-26T01:30:00Z", "2025-10-26", "2025-11-26"), // 01:30 GMT
            ("2025-10-26T23:30:00Z", "2025-10-26", "2025-11-26"), // 23:30 GMT
            ("2026-03-28T23:30:00Z", "2026-03-28", "2026-04-28"),
            ("2026-03-29T23:30:00Z", "2026-03-30", "2026-04-30"),
            ("2026-10-24T23:30:00Z", "2026-10-25", "2026-11-25"),
        ];
        for (instant, local, due) in cases {
            let out = run(Regime::Sar, EW, instant, &[]);
            assert_eq!(out.received, date(local), "{instant}");
            assert_eq!(local_date(at(instant)), Ok(date(local)), "{instant}");
            assert_eq!(out.due(), Some(date(due)), "{instant}");
            let differs = at(instant).date_naive() != date(local);
            assert_eq!(
                has_line(&out, "the UK local date"),
                differs,
                "{instant}: {:?}",
                out.explanation
            );
        }
        let out = run(Regime::Foia, EW, "2025-10-25T23:30:00Z", &[]);
        assert!(
            has_line(&out, "Sun 26 Oct 2025 00:30 BST"),
            "{:?}",
            out.explanation
        );
        let out = run(Regime::Foia, EW, "2025-10-26T01:30:00Z", &[]);
        assert!(
            has_line(&out, "Sun 26 Oct 2025 01:30 GMT"),
            "{:?}",
            out.explanation
        );
    }

    /// Years `>= year` whose bank holidays came from the generative rules, sorted and unique.
    fn rule_years_from(o: &DeadlineOutcome, year: i32) -> Vec<i32> {
        let years: BTreeSet<i32> = o
            .calendar_years
            .iter()
            .filter(|u| u.from_rules && u.year >= year)
            .map(|u| u.year)
            .collect();
        years.into_iter().collect()
    }

    #[test]
    fn rule_years_are_reported() {
        let s4 = run(Regime::Foia, EW, "2014-03-16T12:00:00Z", &[]);
        assert!(has_line(
            &s4,
            "Bank holidays for 2014 (england-and-wales, scotland and northern-ireland): generated by the rules"
        ));
        assert_eq!(rule_years_from(&s4, 2000), vec![2014]);
        assert_eq!(rule_years_from(&s4, 2015), Vec::<i32>::new());
        assert_eq!(s4.calendar_years.len(), 3);
        assert!(
            s4.calendar_years
                .iter()
                .all(|u| u.from_rules && u.origin == "rules")
        );

        let across = run(Regime::Foia, EW, "2027-12-20T10:00:00Z", &[]);
        assert_eq!(rule_years_from(&across, 2027), vec![2028]);
        assert!(has_line(
            &across,
            "Bank holidays for 2027 (england-and-wales, scotland and northern-ireland): built-in data"
        ));
        assert!(has_line(
            &across,
            "Bank holidays for 2028 (england-and-wales, scotland and northern-ireland): generated by the rules"
        ));
        assert!(has_line(
            &across,
            "Skipped Tue 4 Jan 2028: 2nd January, substitute day (bank holiday in scotland)."
        ));

        let data = run(Regime::Sar, SC, "2025-12-02T09:00:00Z", &[]);
        assert!(rule_years_from(&data, 1900).is_empty());
        assert_eq!(
            data.calendar_years
                .iter()
                .map(|u| (u.region, u.year))
                .collect::<Vec<_>>(),
            vec![(SC, 2025), (SC, 2026)]
        );

        // An operator override covering 2028 turns the rules off for that year.
        let newer = Calendar::from_govuk_json(
            r#"{"england-and-wales": {"events": [{"title": "New Year’s Day", "date": "2028-01-03"}]},
                "scotland": {"events": [{"title": "New Year’s Day", "date": "2028-01-03"}]},
                "northern-ireland": {"events": [{"title": "New Year’s Day", "date": "2028-01-03"}]}}"#,
        )
        .unwrap()
        .named("ops.json");
        let cal = Calendar::builtin().with_overrides(newer);
        let out = compute(
            &ClockInput::new(Regime::Foia, EW, at("2027-12-20T10:00:00Z")),
            &cal,
            &DeadlineOptions::default(),
        )
        .unwrap();
        assert!(rule_years_from(&out, 2027).is_empty());
        assert!(has_line(
            &out,
            "Bank holidays for 2028 (england-and-wales, scotland and northern-ireland): ops.json."
        ));
        // Without Scotland's 4 Jan in the override data, one day earlier than with rules.
        assert_eq!(out.due(), Some(date("2028-01-20")));
    }

    #[test]
    fn explanations_say_what_happened() {
        let vs = vectors();
        let cal = Calendar::builtin();
        let expl = |id: &str| -> Vec<String> {
            let v = vs.iter().find(|v| v.id == id).unwrap();
            compute(&v.input, &cal, &v.opts).unwrap().explanation
        };
        let cases: &[(&str, &str)] = &[
            ("01", "Day 0: Fri 10 Jan 2025, the date of receipt"),
            ("01", "Working day 1: Mon 13 Jan 2025."),
            ("01", "Working day 15 (internal target): Fri 31 Jan 2025."),
            (
                "01",
                "Skipped Sat 11 Jan 2025 and Sun 12 Jan 2025: weekend.",
            ),
            (
                "04",
                "Skipped Thu 25 Dec 2025: Christmas Day (named in the statutory definition of working day).",
            ),
            (
                "04",
                "Skipped Fri 26 Dec 2025: Boxing Day (bank holiday in england-and-wales, scotland and northern-ireland).",
            ),
            (
                "04",
                "Skipped Fri 2 Jan 2026: 2nd January (bank holiday in scotland).",
            ),
            (
                "05",
                "Skipped Fri 3 Apr 2026: Good Friday (named in FOIA s.10(6)).",
            ),
            ("06", "Working days: FOISA/EIR(S) working days (FOISA s.73)"),
            (
                "08",
                "Skipped Mon 1 Dec 2025: St Andrew’s Day, substitute day (bank holiday in scotland).",
            ),
            (
                "13",
                "Restart (s.10(6)(b)): not a pause. Day 0 is now Wed 15 Jan 2025",
            ),
            (
                "14",
                "Disregarded Mon 10 Mar 2025 to Fri 14 Mar 2025: working day(s) from the fees notice to the fee, both included (s.10(2)).",
            ),
            (
                "14",
                "Skipped Mon 17 Mar 2025: St Patrick’s Day (bank holiday in northern-ireland).",
            ),
            ("14", "by Mon 9 Jun 2025, or the request lapses"),
            ("15", "Working day 20 (s.17(1) notice due): Mon 2 Jun 2025."),
            (
                "17",
                "Working day 20 (reg 7 extension notice due): Tue 29 Jul 2025.",
            ),
            ("18", "Restart (reg 9(4))"),
            (
                "19",
                "There is no corresponding date for day 31 in February 2025: its last day, Fri 28 Feb 2025, is used (ICO).",
            ),
            (
                "22",
                "Skipped Thu 25 Dec 2025: Christmas Day (bank holiday in england-and-wales).",
            ),
            (
                "22",
                "Rolled forward to the next working day (ICO: \"you have until the next working day\"): Mon 29 Dec 2025.",
            ),
            (
                "23",
                "Roll-forward calendar: SAR roll-forward days: not a Saturday, Sunday, or a bank holiday in scotland",
            ),
            (
                "24",
                "The extension notice, with reasons, must be given within the first month: by Tue 18 Feb 2025 (not rolled forward).",
            ),
            (
                "25",
                "7 calendar day(s) from Wed 4 Mar 2026 to Tue 10 Mar 2026, both included, do not count",
            ),
            ("25", "Plus 7 paused day(s): Thu 9 Apr 2026."),
            (
                "S1",
                "this is now the relevant time, so the month runs from Mon 10 Mar 2025",
            ),
            (
                "S2",
                "2025-06-30T23:30:00Z is Tue 1 Jul 2025 00:30 BST in Europe/London; the UK local date Tue 1 Jul 2025 counts, not the UTC date Mon 30 Jun 2025.",
            ),
            (
                "S4",
                "Skipped Mon 17 Mar 2014: St Patrick’s Day (bank holiday in northern-ireland).",
            ),
            (
                "S9",
                "Regime: local policy, not statute: 10 working days after receipt.",
            ),
            (
                "S10",
                "Skipped Mon 15 Jun 2026: World Cup bank holiday (bank holiday in scotland).",
            ),
            (
                "S11",
                "ends the day before the corresponding date Fri 3 Oct 2025: Thu 2 Oct 2025.",
            ),
            ("S11", "No roll-forward under the strict reading."),
        ];
        for (id, needle) in cases {
            let e = expl(id);
            assert!(
                e.iter().any(|l| l.contains(needle)),
                "{id}: {needle:?} not in\n{}",
                e.join("\n")
            );
        }
        // Lines never mention a skipped day twice.
        for v in &vs {
            let e = compute(&v.input, &cal, &v.opts).unwrap().explanation;
            let skipped: Vec<&String> = e.iter().filter(|l| l.starts_with("Skipped")).collect();
            let unique: BTreeSet<&String> = skipped.iter().copied().collect();
            assert_eq!(skipped.len(), unique.len(), "{}", v.id);
        }
    }

    #[test]
    fn options_change_what_they_should() {
        // §1.4 Code reading: Saturday receipt rolls to Monday (vector 02 note: 2025-02-10).
        let roll = DeadlineOptions {
            nonworking_receipt_rolls_forward: true,
            ..DeadlineOptions::default()
        };
        let out = run_with(Regime::Foia, EW, "2025-01-11T10:00:00Z", &[], &roll).unwrap();
        assert_eq!(out.due(), Some(date("2025-02-10")));
        assert!(has_line(&out, "nonworking_receipt_rolls_forward"));
        assert_eq!(out.received, date("2025-01-11"));
        // A working-day receipt is unaffected.
        let out = run_with(Regime::Foia, EW, "2025-01-10T17:45:00Z", &[], &roll).unwrap();
        assert_eq!(out.due(), Some(date("2025-02-07")));
        // Not for SAR: the ICO counts the day of receipt (vector 20 unchanged).
        let out = run_with(Regime::Sar, EW, "2025-11-30T15:00:00Z", &[], &roll).unwrap();
        assert_eq!(out.due(), Some(date("2025-12-30")));
        assert!(has_line(&out, "does not apply to subject access"));

        // Closure days: local policy only (S9 becomes 12 Jan; FOIA vector 04 and SAR unchanged).
        let closures = DeadlineOptions {
            closure_days: ["2025-12-29", "2025-12-30", "2025-12-31"]
                .map(date)
                .into_iter()
                .collect(),
            ..DeadlineOptions::default()
        };
        let out = run_with(P10, EW, "2025-12-19T12:00:00Z", &[], &closures).unwrap();
        assert_eq!(out.due(), Some(date("2026-01-12")));
        assert!(has_line(
            &out,
            "Skipped Mon 29 Dec 2025 to Wed 31 Dec 2025: organisational closure day (local policy)."
        ));
        assert!(has_line(
            &out,
            "3 organisational closure day(s) are configured"
        ));
        let out = run_with(Regime::Foia, EW, "2025-12-24T11:00:00Z", &[], &closures).unwrap();
        assert_eq!(out.due(), Some(date("2026-01-27")));
        let out = run_with(Regime::Sar, EW, "2025-11-29T11:00:00Z", &[], &closures).unwrap();
        assert_eq!(out.due(), Some(date("2025-12-29")));

        // Strict SAR reading: day before the corresponding date, or month end; never rolled.
        let strict = DeadlineOptions {
            sar_month_rule: SarMonthRule::StrictBeginningWith,
            ..DeadlineOptions::default()
        };
        let cases = [
            ("2025-01-31T10:00:00Z", "2025-02-28"),
            ("2025-01-28T10:00:00Z", "2025-02-27"),
            ("2025-01-29T10:00:00Z", "2025-02-28"),
            ("2024-01-30T10:00:00Z", "2024-02-29"),
            ("2025-09-05T10:00:00+01:00", "2025-10-04"), // a Saturday: kept, with a note
        ];
        for (received, due) in cases {
            let out = run_with(Regime::Sar, EW, received, &[], &strict).unwrap();
            assert_eq!(out.due(), Some(date(due)), "{received}");
        }
        let out = run_with(Regime::Sar, EW, "2025-09-05T10:00:00+01:00", &[], &strict).unwrap();
        assert!(has_line(
            &out,
            "Note: Sat 4 Oct 2025 is not a working day (weekend); send the response by Fri 3 Oct 2025 at the latest."
        ));
        let out = run_with(
            Regime::Sar,
            EW,
            "2025-01-18T11:00:00Z",
            &[ClockEvent::extension_for(Regime::Sar).unwrap()],
            &strict,
        )
        .unwrap();
        assert_eq!(out.due(), Some(date("2025-04-17")));
    }

    #[test]
    fn wrong_extensions_and_events_are_refused() {
        use ExtensionKind::*;
        let t = at("2025-03-10");
        let cases: Vec<(Regime, ClockEvent, &str)> = vec![
            (
                Regime::Foisa,
                ext(PublicInterest, None),
                "FOISA allows no extension",
            ),
            (
                Regime::Foisa,
                ext(ComplexVoluminous, None),
                "FOISA allows no extension",
            ),
            (
                Regime::Eir,
                ext(PublicInterest, None),
                "the EIR have no public interest extension",
            ),
            (
                Regime::EirScotland,
                ext(PublicInterest, None),
                "the EIR have no public interest extension",
            ),
            (
                Regime::Foia,
                ext(ComplexVoluminous, None),
                "FOIA has no complexity extension",
            ),
            (
                Regime::Foia,
                ext(TwoFurtherMonths, None),
                "only for subject access",
            ),
            (
                Regime::Eir,
                ext(TwoFurtherMonths, None),
                "only for subject access",
            ),
            (Regime::Sar, ext(PublicInterest, None), "two further months"),
            (
                P10,
                ext(ComplexVoluminous, None),
                "local-policy timescales are not statutory",
            ),
            (
                P5,
                ext(PublicInterest, None),
                "local-policy timescales are not statutory",
            ),
            (Regime::Foia, ClockEvent::IdRequested(t), "applicant-blind"),
            (Regime::Foisa, ClockEvent::IdReceived(t), "applicant-blind"),
            (
                P10,
                ClockEvent::ClarificationRequested(t),
                "no stop-the-clock events",
            ),
            (P5, ClockEvent::FeeNotice(t), "no stop-the-clock events"),
        ];
        for (regime, ev, why) in cases {
            let err = run_with(
                regime,
                EW,
                "2025-03-03T09:00:00Z",
                &[ev],
                &DeadlineOptions::default(),
            )
            .unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains(why), "{regime} {ev:?}: {msg}");
            let is_ext = matches!(ev, ClockEvent::Extension(_));
            assert_eq!(
                matches!(err, DeadlineError::ExtensionNotAllowed { .. }),
                is_ext,
                "{regime} {ev:?}: {err:?}"
            );
            if let DeadlineError::ExtensionNotAllowed {
                regime: r, kind, ..
            } = err
            {
                assert_eq!(r, regime);
                assert_eq!(
                    ClockEvent::Extension(Extension {
                        kind,
                        notified_at: None
                    }),
                    ev
                );
            }
        }
        assert!(ExtensionKind::for_regime(Regime::Foisa).is_err());
        assert!(ClockEvent::extension_for(P10).is_err());
        assert_eq!(ExtensionKind::for_regime(Regime::Foia), Ok(PublicInterest));
        assert_eq!(
            ExtensionKind::for_regime(Regime::EirScotland),
            Ok(ComplexVoluminous)
        );
        assert_eq!(ExtensionKind::for_regime(Regime::Sar), Ok(TwoFurtherMonths));
        // Absurd policy lengths are refused rather than counted.
        let err = run_with(
            Regime::Policy {
                working_days: 100_000,
            },
            EW,
            "2025-03-03T09:00:00Z",
            &[],
            &DeadlineOptions::default(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            DeadlineError::TooManyWorkingDays {
                days: 100_000,
                max: MAX_WORKING_DAYS
            }
        );
    }

    /// (id, regime, events, reason, since, lapse date).
    type StopCase = (
        &'static str,
        Regime,
        Vec<ClockEvent>,
        StopReason,
        &'static str,
        Option<&'static str>,
    );

    #[test]
    fn stopped_clocks() {
        let d = |s: &str| at(s);
        let cases: Vec<StopCase> = vec![
            (
                "foia-clar",
                Regime::Foia,
                vec![ClockEvent::ClarificationRequested(d("2025-01-08"))],
                StopReason::AwaitingClarification,
                "2025-01-08",
                None,
            ),
            (
                "eir-part",
                Regime::Eir,
                vec![ClockEvent::ParticularsRequested(d("2025-01-08"))],
                StopReason::AwaitingClarification,
                "2025-01-08",
                None,
            ),
            (
                "foisa-clar-again",
                Regime::Foisa,
                vec![
                    ClockEvent::ClarificationRequested(d("2025-01-08")),
                    ClockEvent::ClarificationRequested(d("2025-01-20")),
                ],
                StopReason::AwaitingClarification,
                "2025-01-08",
                None,
            ),
            // Received, then asked again: stopped again from the second request.
            (
                "foia-clar-twice",
                Regime::Foia,
                vec![
                    ClockEvent::ClarificationRequested(d("2025-01-08")),
                    ClockEvent::ClarificationReceived(d("2025-01-10")),
                    ClockEvent::ClarificationRequested(d("2025-01-14")),
                ],
                StopReason::AwaitingClarification,
                "2025-01-14",
                None,
            ),
            (
                "foia-fee",
                Regime::Foia,
                vec![ClockEvent::FeeNotice(d("2025-03-10"))],
                StopReason::AwaitingFee,
                "2025-03-10",
                Some("2025-06-09"),
            ),
            (
                "foia-fee-clamp",
                Regime::Foia,
                vec![ClockEvent::FeeNotice(d("2025-11-30"))],
                StopReason::AwaitingFee,
                "2025-11-30",
                Some("2026-02-28"),
            ),
            (
                "foia-fee-29-nonleap",
                Regime::Foia,
                vec![ClockEvent::FeeNotice(d("2024-11-29"))],
                StopReason::AwaitingFee,
                "2024-11-29",
                Some("2025-02-28"),
            ),
            (
                "foia-fee-29-leap",
                Regime::Foia,
                vec![ClockEvent::FeeNotice(d("2023-11-29"))],
                StopReason::AwaitingFee,
                "2023-11-29",
                Some("2024-02-28"),
            ),
            (
                "foisa-fee",
                Regime::Foisa,
                vec![ClockEvent::FeeNotice(d("2025-03-10"))],
                StopReason::AwaitingFee,
                "2025-03-10",
                Some("2025-06-09"),
            ),
            (
                "eir-fee-60wd",
                Regime::Eir,
                vec![ClockEvent::FeeNotice(d("2025-03-10"))],
                StopReason::AwaitingFee,
                "2025-03-10",
                Some("2025-06-09"),
            ),
            (
                "sar-id",
                Regime::Sar,
                vec![ClockEvent::IdRequested(d("2025-03-04"))],
                StopReason::AwaitingId,
                "2025-03-04",
                None,
            ),
            (
                "sar-fee",
                Regime::Sar,
                vec![ClockEvent::FeeNotice(d("2025-03-04"))],
                StopReason::AwaitingFee,
                "2025-03-04",
                None,
            ),
            (
                "sar-clar",
                Regime::Sar,
                vec![ClockEvent::ClarificationRequested(d("2025-03-04"))],
                StopReason::AwaitingClarification,
                "2025-03-04",
                None,
            ),
            (
                "sar-id-first",
                Regime::Sar,
                vec![
                    ClockEvent::ClarificationRequested(d("2025-03-04")),
                    ClockEvent::IdRequested(d("2025-03-05")),
                ],
                StopReason::AwaitingId,
                "2025-03-05",
                None,
            ),
        ];
        for (id, regime, events, reason, since, lapse) in cases {
            let out = run(regime, EW, "2025-03-03T09:00:00Z", &events);
            assert_eq!(
                out.clock,
                ClockState::Stopped {
                    reason,
                    since: date(since),
                    lapses_after: lapse.map(date)
                },
                "{id}\n{}",
                out.explanation.join("\n")
            );
            assert_eq!(out.due(), None, "{id}");
            assert!(
                out.explanation
                    .last()
                    .unwrap()
                    .starts_with("Clock stopped since"),
                "{id}"
            );
        }
        let out = run(
            Regime::Eir,
            EW,
            "2025-03-03T09:00:00Z",
            &[ClockEvent::FeeNotice(d("2025-03-10"))],
        );
        assert!(has_line(&out, "not verified against the regulation text"));
        let short = DeadlineOptions {
            eir_fee_lapse_working_days: 10,
            ..DeadlineOptions::default()
        };
        let out = run_with(
            Regime::Eir,
            EW,
            "2025-03-03T09:00:00Z",
            &[ClockEvent::FeeNotice(d("2025-03-10"))],
            &short,
        )
        .unwrap();
        // 10 FOIA working days after Mon 10 Mar 2025, skipping St Patrick's Day (NI).
        assert!(
            matches!(out.clock, ClockState::Stopped { lapses_after: Some(l), .. } if l == date("2025-03-25"))
        );
    }

    #[test]
    fn fees_clarifications_and_pauses_combine() {
        let d = |s: &str| at(s);
        let cases: Vec<(&str, Regime, &str, Vec<ClockEvent>, &str)> = vec![
            // Two separate fee windows (FOIA s.10(2)).
            (
                "two-fees",
                Regime::Foia,
                "2025-03-03T09:00:00Z",
                vec![
                    ClockEvent::FeeNotice(d("2025-03-05")),
                    ClockEvent::FeeReceived(d("2025-03-06")),
                    ClockEvent::FeeNotice(d("2025-03-24")),
                    ClockEvent::FeeReceived(d("2025-03-25")),
                ],
                "2025-04-07",
            ),
            // Events out of order are sorted by time.
            (
                "unordered",
                Regime::Foia,
                "2025-03-03T09:00:00Z",
                vec![
                    ClockEvent::FeeReceived(d("2025-03-20")),
                    ClockEvent::FeeNotice(d("2025-03-10")),
                ],
                "2025-04-11",
            ),
            // Fee received with no notice: no effect.
            (
                "fee-no-notice",
                Regime::Foia,
                "2025-03-03T09:00:00Z",
                vec![ClockEvent::FeeReceived(d("2025-03-20"))],
                "2025-04-01",
            ),
            // FOISA fee disregard on the Scottish calendar (17 Mar is a working day there).
            (
                "foisa-fee",
                Regime::Foisa,
                "2025-03-03T09:00:00Z",
                vec![
                    ClockEvent::FeeNotice(d("2025-03-10")),
                    ClockEvent::FeeReceived(d("2025-03-20")),
                ],
                "2025-04-11",
            ),
            // PIT extension on top of a fee window: 40 working days with the window disregarded.
            (
                "pit-fee",
                Regime::Foia,
                "2025-03-03T09:00:00Z",
                vec![
                    ClockEvent::FeeNotice(d("2025-03-10")),
                    ClockEvent::FeeReceived(d("2025-03-20")),
                    ext(ExtensionKind::PublicInterest, None),
                ],
                "2025-05-14",
            ),
            // Clarification received with no request recorded: still a restart.
            (
                "clar-unasked",
                Regime::Foia,
                "2025-01-06T09:00:00Z",
                vec![ClockEvent::ClarificationReceived(d("2025-01-15T16:00:00Z"))],
                "2025-02-12",
            ),
            // Clarification on a Saturday: day 0 is that Saturday (as for a request).
            (
                "clar-sat",
                Regime::Foia,
                "2025-01-06T09:00:00Z",
                vec![
                    ClockEvent::ClarificationRequested(d("2025-01-08")),
                    ClockEvent::ClarificationReceived(d("2025-01-11T10:00:00Z")),
                ],
                "2025-02-07",
            ),
            // SAR: a pause before the ID restart does not count; one after it does.
            (
                "sar-pause-before-id",
                Regime::Sar,
                "2025-03-03T09:00:00Z",
                vec![
                    ClockEvent::ClarificationRequested(d("2025-03-04")),
                    ClockEvent::ClarificationReceived(d("2025-03-06")),
                    ClockEvent::IdReceived(d("2025-03-10")),
                ],
                "2025-04-10",
            ),
            (
                "sar-pause-after-id",
                Regime::Sar,
                "2025-03-03T09:00:00Z",
                vec![
                    ClockEvent::IdRequested(d("2025-03-04")),
                    ClockEvent::IdReceived(d("2025-03-10")),
                    ClockEvent::ClarificationRequested(d("2025-03-12")),
                    ClockEvent::ClarificationReceived(d("2025-03-14")),
                ],
                "2025-04-14",
            ),
            // Same-day clarification pauses one day (both end days count): 3 Oct + 1 = Sat → Mon.
            (
                "sar-same-day",
                Regime::Sar,
                "2025-09-03T09:00:00+01:00",
                vec![
                    ClockEvent::ClarificationRequested(d("2025-09-10T09:00:00+01:00")),
                    ClockEvent::ClarificationReceived(d("2025-09-10T15:00:00+01:00")),
                ],
                "2025-10-06",
            ),
            // SAR fee paid later than the request: restart from payment.
            (
                "sar-fee",
                Regime::Sar,
                "2025-03-03T09:00:00Z",
                vec![
                    ClockEvent::FeeNotice(d("2025-03-04")),
                    ClockEvent::FeeReceived(d("2025-03-11")),
                ],
                "2025-04-11",
            ),
            // Particulars on a SAR are treated as a clarification pause.
            (
                "sar-particulars",
                Regime::Sar,
                "2026-03-02T09:00:00Z",
                vec![
                    ClockEvent::ParticularsRequested(d("2026-03-04")),
                    ClockEvent::ParticularsReceived(d("2026-03-10")),
                ],
                "2026-04-09",
            ),
        ];
        for (id, regime, received, events, due) in cases {
            let out = run(regime, EW, received, &events);
            assert_eq!(
                out.due(),
                Some(date(due)),
                "{id}\n{}",
                out.explanation.join("\n")
            );
        }
        let out = run(
            Regime::Foia,
            EW,
            "2025-03-03T09:00:00Z",
            &[
                ClockEvent::FeeNotice(at("2025-03-10")),
                ClockEvent::FeeReceived(at("2025-03-20")),
                ext(ExtensionKind::PublicInterest, None),
            ],
        );
        let ClockState::Running {
            notice: Some(n),
            internal_target,
            extended,
            ..
        } = out.clock
        else {
            panic!()
        };
        assert_eq!(
            (n.kind, n.due),
            (NoticeKind::S17RefusalNotice, date("2025-04-11"))
        );
        assert!(extended);
        assert!(internal_target < out.due());
        let late = run(
            Regime::Foia,
            EW,
            "2025-03-03T09:00:00Z",
            &[
                ClockEvent::FeeNotice(at("2025-03-10")),
                ClockEvent::FeeReceived(at("2025-06-10")),
            ],
        );
        assert!(has_line(
            &late,
            "Warning: the fee arrived after the last day to pay (Mon 9 Jun 2025)"
        ));
        let unasked = run(
            Regime::Foia,
            EW,
            "2025-01-06T09:00:00Z",
            &[ClockEvent::ClarificationReceived(at(
                "2025-01-15T16:00:00Z",
            ))],
        );
        assert!(has_line(&unasked, "with no request for it recorded"));
    }

    #[test]
    fn extension_notices() {
        // EIR reg 7 notice: in time if given by WD20 (Tue 29 Jul 2025) in UK local time.
        let cases = [
            (
                Regime::Eir,
                ExtensionKind::ComplexVoluminous,
                "2025-07-29T22:30:00Z",
                false,
            ), // 23:30 BST
            (
                Regime::Eir,
                ExtensionKind::ComplexVoluminous,
                "2025-07-29T23:30:00Z",
                true,
            ), // 00:30 BST on the 30th
            // Scottish calendar: 14 Jul (NI) is a working day, so WD20 is Mon 28 Jul.
            (
                Regime::EirScotland,
                ExtensionKind::ComplexVoluminous,
                "2025-07-28T20:00:00Z",
                false,
            ),
            (
                Regime::EirScotland,
                ExtensionKind::ComplexVoluminous,
                "2025-07-29T09:00:00Z",
                true,
            ),
            (
                Regime::Foia,
                ExtensionKind::PublicInterest,
                "2025-07-30T09:00:00Z",
                true,
            ),
        ];
        for (regime, kind, notified, late) in cases {
            let out = run(
                regime,
                EW,
                "2025-06-30T12:00:00+01:00",
                &[ext(kind, Some(notified))],
            );
            let ClockState::Running {
                notice: Some(n), ..
            } = out.clock
            else {
                panic!("{regime}")
            };
            assert_eq!(n.late, late, "{regime} {notified}: {:?}", out.explanation);
            assert_eq!(n.given, Some(local_date(at(notified)).unwrap()));
            assert_eq!(has_line(&out, "Warning:"), late, "{regime} {notified}");
        }
        // EIR(S) WD20 from Mon 30 Jun 2025 on the Scottish calendar: 4 Aug skipped, not 14 Jul.
        let out = run(
            Regime::EirScotland,
            SC,
            "2025-06-30T12:00:00+01:00",
            &[ext(ExtensionKind::ComplexVoluminous, None)],
        );
        let ClockState::Running {
            notice: Some(n),
            due,
            ..
        } = out.clock
        else {
            panic!()
        };
        assert_eq!(
            (n.kind, n.due),
            (NoticeKind::Reg7ExtensionNotice, date("2025-07-28"))
        );
        assert_eq!(due, date("2025-08-26"));
        // SAR notice: start + 1 month + pause, not rolled (vector 24: Tue 18 Feb 2025).
        for (notified, late) in [("2025-02-18", false), ("2025-02-19", true)] {
            let out = run(
                Regime::Sar,
                EW,
                "2025-01-18T11:00:00Z",
                &[ext(ExtensionKind::TwoFurtherMonths, Some(notified))],
            );
            let ClockState::Running {
                notice: Some(n), ..
            } = out.clock
            else {
                panic!()
            };
            assert_eq!(
                (n.kind, n.due, n.late),
                (NoticeKind::SarExtensionNotice, date("2025-02-18"), late)
            );
        }
        // With a 7-day pause the notice deadline moves too (2 Apr + 7 = 9 Apr 2026), while the
        // extended due date is 2 Jun + 7 = 9 Jun 2026.
        let out = run(
            Regime::Sar,
            EW,
            "2026-03-02T09:00:00Z",
            &[
                ClockEvent::ClarificationRequested(at("2026-03-04")),
                ClockEvent::ClarificationReceived(at("2026-03-10")),
                ext(ExtensionKind::TwoFurtherMonths, None),
            ],
        );
        let ClockState::Running {
            notice: Some(n),
            due,
            internal_target,
            ..
        } = out.clock
        else {
            panic!()
        };
        assert_eq!(n.due, date("2026-04-09"));
        assert_eq!(due, date("2026-06-09"));
        assert_eq!(internal_target, Some(date("2026-06-08")));
    }

    #[test]
    fn regime_for_kind() {
        let cases = [
            (Kind::Foi, EW, Some(Regime::Foia)),
            (Kind::Foi, NI, Some(Regime::Foia)),
            (Kind::Foi, SC, Some(Regime::Foisa)),
            (Kind::Eir, EW, Some(Regime::Eir)),
            (Kind::Eir, SC, Some(Regime::EirScotland)),
            (Kind::Sar, SC, Some(Regime::Sar)),
            (Kind::Sar, NI, Some(Regime::Sar)),
            (Kind::Auto, EW, None),
            (Kind::Complaint, SC, Some(P10)),
            (Kind::MemberEnquiry, EW, Some(P5)),
            (Kind::Media, EW, Some(Regime::Policy { working_days: 2 })),
            (Kind::General, NI, Some(Regime::Policy { working_days: 2 })),
        ];
        for (kind, region, want) in cases {
            assert_eq!(
                Regime::for_kind(kind, region, policy_days),
                want,
                "{kind} {region}"
            );
        }
        assert_eq!(Regime::Foia.work_days(SC), WorkDays::Foia);
        assert_eq!(Regime::EirScotland.work_days(EW), WorkDays::Foisa);
        assert_eq!(Regime::Sar.work_days(NI), WorkDays::Sar(NI));
        assert_eq!(P5.work_days(SC), WorkDays::Policy(SC));
    }

    #[test]
    fn serde_shapes() {
        let input = ClockInput::new(P5, SC, at("2025-03-03T09:00:00Z"))
            .with(ClockEvent::FeeNotice(at("2025-03-04T09:00:00Z")))
            .with(ext(ExtensionKind::TwoFurtherMonths, None));
        let json = serde_json::to_string(&input).unwrap();
        assert!(
            json.contains(r#""regime":{"policy":{"working_days":5}}"#),
            "{json}"
        );
        assert!(json.contains(r#""region":"scotland""#), "{json}");
        assert!(
            json.contains(r#"{"event":"fee_notice","at":"2025-03-04T09:00:00Z"}"#),
            "{json}"
        );
        let back: ClockInput = serde_json::from_str(&json).unwrap();
        assert_eq!(back, input);
        let opts: DeadlineOptions = toml::from_str(
            "sar_month_rule = \"strict_beginning_with\"\nclosure_days = [\"2025-12-29\"]",
        )
        .unwrap();
        assert_eq!(opts.sar_month_rule, SarMonthRule::StrictBeginningWith);
        assert!(opts.closure_days.contains(&date("2025-12-29")));
        assert_eq!(opts.eir_fee_lapse_working_days, 60);
        assert!(toml::from_str::<DeadlineOptions>("sar_rule = \"ico\"").is_err());
        let out = run(Regime::Foia, EW, "2025-01-10T17:45:00Z", &[]);
        let v = serde_json::to_value(&out).unwrap();
        assert_eq!(v["clock"]["state"], "running");
        assert_eq!(v["clock"]["due"], "2025-02-07");
    }

    #[test]
    fn add_working_days_for_other_modules() {
        let cal = Calendar::builtin();
        let foia = WorkingCalendar::without_closures(&cal, WorkDays::Foia);
        let ew = WorkingCalendar::without_closures(&cal, WorkDays::Policy(EW));
        // (calendar, day0, n, want)
        let cases = [
            (&foia, "2025-12-24", 2, "2025-12-30"),
            (&foia, "2025-12-31", 1, "2026-01-05"),
            (&ew, "2025-12-31", 1, "2026-01-02"),
            (&ew, "2025-12-27", 0, "2025-12-29"),
            (&foia, "2025-01-10", 20, "2025-02-07"),
        ];
        for (wc, d0, n, want) in cases {
            assert_eq!(
                wc.add_working_days(date(d0), n),
                Ok(date(want)),
                "{d0} + {n}"
            );
        }
        assert_eq!(
            foia.add_working_days(date("2025-01-10"), MAX_WORKING_DAYS + 1),
            Err(DeadlineError::TooManyWorkingDays {
                days: MAX_WORKING_DAYS + 1,
                max: MAX_WORKING_DAYS
            })
        );
        assert!(matches!(
            foia.add_working_days(NaiveDate::MAX, 1),
            Err(DeadlineError::OutOfRange { .. })
        ));
    }

    #[test]
    fn extreme_instants_do_not_panic() {
        let cal = Calendar::builtin();
        let max = DateTime::<Utc>::MAX_UTC;
        let min = DateTime::<Utc>::MIN_UTC;
        // London's earliest offset is LMT −0:01:15, so the very first instant has no local time.
        assert!(matches!(
            local_date(min),
            Err(DeadlineError::OutOfRange { .. })
        ));
        assert_eq!(local_date(max), Ok(max.date_naive()));
        for instant in [
            min,
            max,
            max - chrono::Duration::days(3),
            max - chrono::Duration::days(40),
            min + chrono::Duration::days(1),
        ] {
            for regime in [Regime::Foia, Regime::Eir, Regime::Foisa, Regime::Sar, P5] {
                let plain = compute(
                    &ClockInput::new(regime, EW, instant),
                    &cal,
                    &DeadlineOptions::default(),
                );
                let fee = ClockInput::new(regime, EW, instant).with(ClockEvent::FeeNotice(instant));
                let with_fee = compute(&fee, &cal, &DeadlineOptions::default());
                // Near the top of the range the count cannot finish: a typed error, no panic.
                if instant >= max - chrono::Duration::days(3) {
                    assert!(
                        matches!(plain, Err(DeadlineError::OutOfRange { .. })),
                        "{regime} {instant}: {plain:?}"
                    );
                }
                if let (Regime::Policy { .. }, Ok(_)) = (regime, &with_fee) {
                    panic!("policy fee event accepted");
                }
            }
        }
    }

    const ALL_REGIMES: [Regime; 7] = [
        Regime::Foia,
        Regime::Eir,
        Regime::Foisa,
        Regime::EirScotland,
        Regime::Sar,
        Regime::Policy { working_days: 5 },
        Regime::Policy { working_days: 10 },
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// For any receipt 2000–2040, any regime and region: the due date is never before the
        /// UK local receipt date and is a working day of the regime's calendar (SAR: the own
        /// region's); an extension never makes it earlier; the internal target is never later.
        #[test]
        fn due_dates_are_sane(secs in 946_684_800i64..2_240_611_200i64, r in 0usize..3, strict in any::<bool>()) {
            let cal = Calendar::builtin();
            let region = Region::ALL[r];
            let received_at = DateTime::<Utc>::from_timestamp(secs, 0).unwrap();
            let received = local_date(received_at).unwrap();
            let ico = DeadlineOptions::default();
            let strict_opts = DeadlineOptions { sar_month_rule: SarMonthRule::StrictBeginningWith, ..DeadlineOptions::default() };
            for regime in ALL_REGIMES {
                let opts = if strict && regime == Regime::Sar { &strict_opts } else { &ico };
                let base = compute(&ClockInput::new(regime, region, received_at), &cal, opts).unwrap();
                let ClockState::Running { due, internal_target, .. } = base.clock else { panic!("{regime} stopped") };
                prop_assert!(due >= received, "{regime} {region} {received_at}: {due}");
                prop_assert_eq!(base.received, received);
                if let Some(t) = internal_target {
                    prop_assert!(t <= due && t >= received, "{} target {}", regime, t);
                }
                let wc = WorkingCalendar::without_closures(&cal, regime.work_days(region));
                if !(strict && regime == Regime::Sar) {
                    prop_assert!(wc.is_working_day(due), "{regime} {region} {received_at}: {due} is {:?}", wc.day_off(due));
                }
                if let Ok(e) = ClockEvent::extension_for(regime) {
                    let input = ClockInput::new(regime, region, received_at).with(e);
                    let extended = compute(&input, &cal, opts).unwrap();
                    let ClockState::Running { due: ext_due, notice: Some(n), .. } = extended.clock else { panic!("{regime}") };
                    prop_assert!(ext_due >= due, "{regime} {region} {received_at}: {ext_due} < {due}");
                    prop_assert!(n.due <= ext_due && n.due >= received);
                    if !(strict && regime == Regime::Sar) {
                        prop_assert!(wc.is_working_day(ext_due));
                    }
                }
                prop_assert_eq!(base.explanation.last().map(|l| l.starts_with("Due: ")), Some(true));
            }
        }

        /// A restart never moves the due date earlier, wherever the clarification falls.
        #[test]
        fn clarification_never_shortens(secs in 946_684_800i64..2_240_611_200i64, gap_h in 0i64..2_000, r in 0usize..3) {
            let cal = Calendar::builtin();
            let region = Region::ALL[r];
            let received_at = DateTime::<Utc>::from_timestamp(secs, 0).unwrap();
            let got = received_at + chrono::Duration::hours(gap_h);
            for regime in [Regime::Foia, Regime::Eir, Regime::Foisa, Regime::EirScotland, Regime::Sar] {
                let plain = compute(&ClockInput::new(regime, region, received_at), &cal, &DeadlineOptions::default()).unwrap();
                let input = ClockInput::new(regime, region, received_at)
                    .with(ClockEvent::ClarificationRequested(received_at))
                    .with(ClockEvent::ClarificationReceived(got));
                let clar = compute(&input, &cal, &DeadlineOptions::default()).unwrap();
                prop_assert!(clar.due() >= plain.due(), "{regime}: {:?} < {:?}", clar.due(), plain.due());
                prop_assert!(clar.due() >= local_date(got).ok());
            }
        }
    }
}
