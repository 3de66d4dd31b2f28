//! Subject access: a calendar month (three if extended) from the relevant time, by the ICO
//! method or the strict reading (§3.2, §3.4). ID and fee restart the month; a clarification only
//! pauses it (Art 12A), so the events are replayed before the month is counted.

use super::{
    Calendar, ClockEvent, ClockInput, ClockState, DeadlineError, DeadlineOptions, DeadlineOutcome,
    Extension, Notice, NoticeKind, Regime, SAR_TARGET_DAYS, SarMonthRule, StopReason, WorkDays,
    WorkingCalendar, add_days, day, days_off_between, local_date, period_end_beginning_with,
    receipt_line, skip_lines, split_events, years_used,
};
use chrono::{Datelike, Months, NaiveDate};

pub(super) fn compute_sar(
    input: &ClockInput,
    cal: &Calendar,
    opts: &DeadlineOptions,
) -> Result<DeadlineOutcome, DeadlineError> {
    let regime = Regime::Sar;
    let days = regime.work_days(input.region);
    let wc = WorkingCalendar::without_closures(cal, days);
    let strict = opts.sar_month_rule == SarMonthRule::StrictBeginningWith;
    let mut ex = preamble(days, opts, strict);
    let received = local_date(input.received_at)?;
    ex.push(receipt_line("Received", input.received_at)?);
    ex.push(format!(
        "Start: {} (the day of receipt counts as the first day, even if it is not a working day).",
        day(received)
    ));

    let (extension, timeline) = split_events(&input.events);
    let mut state = Replay::new(received);
    for (_, ev) in timeline {
        state.replay(ev, &mut ex)?;
    }
    if let Some(clock) = state.stopped(&mut ex) {
        return Ok(DeadlineOutcome {
            regime,
            received,
            clock,
            explanation: ex,
            calendar_years: Vec::new(),
        });
    }

    let start = state.start;
    let pause = state.paused_days(&mut ex);
    let months = if extension.is_some() { 3 } else { 1 };
    if extension.is_some() {
        ex.push("Extension (UK GDPR Art 12(3)/12A; DPA 2018 s.54(3A)) for complexity or number of requests: three months from the start, not from the original due date.".to_string());
    }
    let due = if strict {
        strict_due(&wc, start, months, pause, &mut ex)?
    } else {
        ico_due(&wc, start, months, pause, &mut ex)?
    };
    let internal_target = internal_target(&wc, start, months, pause, extension.is_some(), &mut ex)?;
    let notice_due = extension_notice_due(start, strict, pause)?;
    let notice = extension_notice(extension, notice_due, &mut ex)?;

    let (uses, year_lines) = years_used(cal, days, start, due.max(notice_due));
    ex.extend(year_lines);
    ex.push(format!(
        "Due: {} (respond by midnight UK time at the end of that day).",
        day(due)
    ));
    Ok(DeadlineOutcome {
        regime,
        received,
        clock: ClockState::Running {
            day0: start,
            due,
            internal_target: Some(internal_target),
            notice,
            extended: extension.is_some(),
        },
        explanation: ex,
        calendar_years: uses,
    })
}

/// The regime and month-rule lines that open the explanation, saying which reading is used
/// because the two can give different dates.
fn preamble(days: WorkDays, opts: &DeadlineOptions, strict: bool) -> Vec<String> {
    let mut ex = vec![Regime::Sar.summary()];
    if strict {
        ex.push("Month rule: strict reading of \"one month beginning with\" (configured option): the period ends the day before the corresponding date next month, or on the last day of that month if it has no corresponding date; no roll-forward. The ICO's published method would give a later date.".to_string());
    } else {
        ex.push("Month rule: ICO method: the corresponding date in the next month; if that month has no such date, its last day; then the next working day if it is a weekend or bank holiday.".to_string());
        ex.push(format!("Roll-forward calendar: {}.", days.describe()));
    }
    if opts.nonworking_receipt_rolls_forward {
        ex.push("The option nonworking_receipt_rolls_forward does not apply to subject access: the ICO counts the day of receipt whatever kind of day it is.".to_string());
    }
    ex
}

/// The clock as the events replayed so far leave it.
struct Replay {
    /// The relevant time: receipt, or the later arrival of ID or fee.
    start: NaiveDate,
    awaiting_id: Option<NaiveDate>,
    awaiting_fee: Option<NaiveDate>,
    awaiting_clar: Option<NaiveDate>,
    /// Clarifications asked and received: the days between them do not count.
    pauses: Vec<(NaiveDate, NaiveDate)>,
}

impl Replay {
    fn new(received: NaiveDate) -> Replay {
        Replay {
            start: received,
            awaiting_id: None,
            awaiting_fee: None,
            awaiting_clar: None,
            pauses: Vec::new(),
        }
    }

    fn replay(&mut self, ev: ClockEvent, ex: &mut Vec<String>) -> Result<(), DeadlineError> {
        let (clar_words, _) = Regime::Sar.clarification_words();
        let (fee_words, _) = Regime::Sar.fee_words();
        let d = match ev.at() {
            Some(t) => local_date(t)?,
            None => self.start,
        };
        match ev {
            ClockEvent::IdRequested(_) => wait(&mut self.awaiting_id, d, ex, || {
                format!(
                    "Proof of identity requested on {} (Art 12(6)): the clock waits for it; the month will run from the day it arrives.",
                    day(d)
                )
            }),
            ClockEvent::IdReceived(_) => {
                self.awaiting_id = None;
                self.restart("Proof of identity", d, ex);
            }
            ClockEvent::FeeNotice(_) => wait(&mut self.awaiting_fee, d, ex, || {
                format!(
                    "{fee_words} requested on {}: the clock waits for it; the month will run from the day it is paid.",
                    day(d)
                )
            }),
            ClockEvent::FeeReceived(_) => {
                self.awaiting_fee = None;
                self.restart("Fee", d, ex);
            }
            ClockEvent::ClarificationRequested(_) | ClockEvent::ParticularsRequested(_) => {
                wait(&mut self.awaiting_clar, d, ex, || {
                    format!(
                        "{clar_words} requested on {}: the clock is paused until it arrives.",
                        day(d)
                    )
                })
            }
            ClockEvent::ClarificationReceived(_) | ClockEvent::ParticularsReceived(_) => {
                match self.awaiting_clar.take() {
                    Some(asked) => self.pauses.push((asked, d)),
                    None => ex.push(format!(
                        "Clarification received on {} with no request for it recorded: no pause applied (record when it was asked to pause the clock).",
                        day(d)
                    )),
                }
            }
            ClockEvent::Extension(_) => {}
        }
        Ok(())
    }

    /// ID or fee arriving after the start becomes the new relevant time (a restart, not a pause).
    fn restart(&mut self, what: &str, d: NaiveDate, ex: &mut Vec<String>) {
        if d > self.start {
            self.start = d;
            ex.push(format!(
                "{what} received on {}: this is now the relevant time, so the month runs from {} (a restart, not a pause; Art 12A, DPA 2018 s.54(3)).",
                day(d),
                day(d)
            ));
        } else {
            ex.push(format!(
                "{what} received on {}, no later than the start: the start stays {}.",
                day(d),
                day(self.start)
            ));
        }
    }

    /// The stopped clock if something is still awaited, naming the first of ID, fee and
    /// clarification: each one alone leaves no due date.
    fn stopped(&self, ex: &mut Vec<String>) -> Option<ClockState> {
        let (since, reason, what) = [
            (
                self.awaiting_id,
                StopReason::AwaitingId,
                "proof of identity",
            ),
            (self.awaiting_fee, StopReason::AwaitingFee, "the fee"),
            (
                self.awaiting_clar,
                StopReason::AwaitingClarification,
                "the clarification",
            ),
        ]
        .into_iter()
        .find_map(|(since, reason, what)| since.map(|s| (s, reason, what)))?;
        ex.push(format!(
            "Clock stopped since {}: awaiting {what}. There is no due date until it arrives.",
            day(since)
        ));
        Some(ClockState::Stopped {
            reason,
            since,
            lapses_after: None,
        })
    }

    /// Paused calendar days, inclusive, counting only days on or after the final start: a pause
    /// before a restart is already swallowed by the restart.
    fn paused_days(&self, ex: &mut Vec<String>) -> u64 {
        let (clar_words, _) = Regime::Sar.clarification_words();
        let mut pause: u64 = 0;
        for &(asked, got) in &self.pauses {
            let from = asked.max(self.start);
            let n = if got >= from {
                u64::try_from((got - from).num_days() + 1).unwrap_or(0)
            } else {
                0
            };
            pause += n;
            ex.push(format!(
                "{clar_words} asked on {} and received on {}: {n} calendar day(s) from {} to {}, both included, do not count (Art 12A stop-the-clock, in force from 5 Feb 2026; ICO practice before then).",
                day(asked),
                day(got),
                day(from),
                day(got)
            ));
        }
        pause
    }
}

fn months_text(months: u32) -> &'static str {
    if months == 1 {
        "one month"
    } else {
        "three months"
    }
}

/// The corresponding date `months` after `start`, clamped to the month's end by chrono.
fn corresponding_date(start: NaiveDate, months: u32) -> Result<NaiveDate, DeadlineError> {
    start
        .checked_add_months(Months::new(months))
        .ok_or(DeadlineError::OutOfRange { date: start })
}

/// Due date under the strict reading of "beginning with" (§3.4): never rolled forward, so the
/// explanation points out when it falls on a non-working day.
fn strict_due(
    wc: &WorkingCalendar<'_>,
    start: NaiveDate,
    months: u32,
    pause: u64,
    ex: &mut Vec<String>,
) -> Result<NaiveDate, DeadlineError> {
    let corresponding = corresponding_date(start, months)?;
    let end = period_end_beginning_with(start, months)?;
    if corresponding.day() == start.day() {
        ex.push(format!(
            "The period of {} beginning with {} ends the day before the corresponding date {}: {}.",
            months_text(months),
            day(start),
            day(corresponding),
            day(end)
        ));
    } else {
        ex.push(format!(
            "There is no corresponding date for day {} in {}: the period ends on the last day of that month, {}.",
            start.day(),
            corresponding.format("%B %Y"),
            day(end)
        ));
    }
    let due = add_days(end, pause)?;
    if pause > 0 {
        ex.push(format!("Plus {pause} paused day(s): {}.", day(due)));
    }
    ex.push("No roll-forward under the strict reading.".to_string());
    if let Some(off) = wc.day_off(due) {
        let mut d = due;
        while !wc.is_working_day(d) && d > start {
            d = d.pred_opt().ok_or(DeadlineError::OutOfRange { date: d })?;
        }
        ex.push(format!(
            "Note: {} is not a working day ({off}); send the response by {} at the latest.",
            day(due),
            day(d)
        ));
    }
    Ok(due)
}

/// Due date by the ICO method (§3.2): the corresponding date, plus any pause, rolled forward to
/// the controller's next working day.
fn ico_due(
    wc: &WorkingCalendar<'_>,
    start: NaiveDate,
    months: u32,
    pause: u64,
    ex: &mut Vec<String>,
) -> Result<NaiveDate, DeadlineError> {
    let corresponding = corresponding_date(start, months)?;
    if corresponding.day() == start.day() {
        ex.push(format!(
            "Corresponding date {} after the start: {}.",
            months_text(months),
            day(corresponding)
        ));
    } else {
        ex.push(format!(
            "There is no corresponding date for day {} in {}: its last day, {}, is used (ICO).",
            start.day(),
            corresponding.format("%B %Y"),
            day(corresponding)
        ));
    }
    let raw = add_days(corresponding, pause)?;
    if pause > 0 {
        ex.push(format!("Plus {pause} paused day(s): {}.", day(raw)));
    }
    let due = wc.on_or_after(raw)?;
    if due != raw {
        let skipped = days_off_between(wc, raw, due)?;
        ex.extend(skip_lines(&skipped, "").into_iter().map(|(_, l)| l));
        ex.push(format!(
            "Rolled forward to the next working day (ICO: \"you have until the next working day\"): {}.",
            day(due)
        ));
    }
    Ok(due)
}

/// A target safe under both month readings, so chasing never depends on which one is right.
fn internal_target(
    wc: &WorkingCalendar<'_>,
    start: NaiveDate,
    months: u32,
    pause: u64,
    extended: bool,
    ex: &mut Vec<String>,
) -> Result<NaiveDate, DeadlineError> {
    let target = if extended {
        let t = add_days(period_end_beginning_with(start, months)?, pause)?;
        ex.push(format!(
            "Internal target: {}, the end of the extended period under the strict reading (safe under both readings).",
            day(t)
        ));
        t
    } else {
        let t = add_days(start, SAR_TARGET_DAYS + pause)?;
        ex.push(format!(
            "Internal target: {}, start + 27 days{} (the ICO's 28-day period; safe under both month readings).",
            day(t),
            if pause > 0 {
                format!(" + {pause} paused day(s)")
            } else {
                String::new()
            }
        ));
        t
    };
    if let Some(off) = wc.day_off(target) {
        ex.push(format!(
            "The internal target is not a working day ({off}): aim for the working day before it."
        ));
    }
    Ok(target)
}

/// Last day to give an extension notice: the end of the first month under the configured
/// reading, plus any pause, never rolled forward.
fn extension_notice_due(
    start: NaiveDate,
    strict: bool,
    pause: u64,
) -> Result<NaiveDate, DeadlineError> {
    let one_month = if strict {
        period_end_beginning_with(start, 1)?
    } else {
        corresponding_date(start, 1)?
    };
    add_days(one_month, pause)
}

/// The extension notice, or (with no extension) a reminder of when one would be due, because
/// the decision to extend must be made within the first month.
fn extension_notice(
    extension: Option<Extension>,
    notice_due: NaiveDate,
    ex: &mut Vec<String>,
) -> Result<Option<Notice>, DeadlineError> {
    let Some(e) = extension else {
        ex.push(format!(
            "If an extension is needed (complexity or number of requests), notice with reasons must be given by {}.",
            day(notice_due)
        ));
        return Ok(None);
    };
    let given = e.notified_at.map(local_date).transpose()?;
    let late = given.is_some_and(|g| g > notice_due);
    ex.push(format!(
        "The extension notice, with reasons, must be given within the first month: by {} (not rolled forward).",
        day(notice_due)
    ));
    if let Some(g) = given {
        if late {
            ex.push(format!(
                "Warning: the extension notice was given on {}, after {}; the extension may not be valid.",
                day(g),
                day(notice_due)
            ));
        } else {
            ex.push(format!(
                "The extension notice was given on {}, in time.",
                day(g)
            ));
        }
    }
    Ok(Some(Notice {
        kind: NoticeKind::SarExtensionNotice,
        due: notice_due,
        given,
        late,
    }))
}

/// Starts waiting for something asked of the requester on `d`, with its explanation line; a
/// repeated request while already waiting changes nothing (the first request counts).
fn wait(
    awaiting: &mut Option<NaiveDate>,
    d: NaiveDate,
    ex: &mut Vec<String>,
    line: impl FnOnce() -> String,
) {
    if awaiting.is_none() {
        *awaiting = Some(d);
        ex.push(line());
    }
}
