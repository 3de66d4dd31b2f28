//! Working-day regimes (FOIA, EIR, FOISA, EIR(S), local policy): day 0 is the date of receipt and
//! the due date is the Nth working day after it (§1.3, §6.4). Clarifications restart the count
//! and fee periods are disregarded (§8), so the events are replayed before anything is counted.

use super::calendar::Counted;
use super::{
    Calendar, ClockEvent, ClockInput, ClockState, DeadlineError, DeadlineOptions, DeadlineOutcome,
    EXTENDED_WORKING_DAYS, Extension, FEE_PAY_MONTHS, Notice, NoticeKind, Regime,
    STATUTORY_WORKING_DAYS, StopReason, TARGET_MARGIN_WORKING_DAYS, WorkDays, WorkingCalendar, day,
    days_off_between, local_date, period_end_beginning_with, receipt_line, skip_lines,
    split_events, years_used,
};
use chrono::{DateTime, NaiveDate, Utc};

pub(super) fn compute_working(
    input: &ClockInput,
    cal: &Calendar,
    opts: &DeadlineOptions,
) -> Result<DeadlineOutcome, DeadlineError> {
    let rules = Rules::new(input, cal, opts);
    let regime = rules.regime;
    let mut ex = rules.preamble();
    let received = local_date(input.received_at)?;
    ex.push(receipt_line("Received", input.received_at)?);
    let day0 = rules.day0_from(received, "date of receipt", &mut ex)?;
    ex.push(format!(
        "Day 0: {}, the date of receipt (it counts whatever kind of day it is; day 1 is the next working day).",
        day(day0)
    ));

    let (extension, timeline) = split_events(&input.events);
    let mut state = Replay {
        day0,
        awaiting_clar: None,
        fee_pending: None,
        windows: Vec::new(),
        latest_seen: day0,
    };
    for (t, ev) in timeline {
        rules.replay(&mut state, t, ev, &mut ex)?;
    }

    if let Some((clock, lines)) = rules.stopped(&state) {
        let (uses, year_lines) = years_used(cal, rules.days, state.day0, state.latest_seen);
        ex.extend(year_lines);
        ex.extend(lines);
        return Ok(DeadlineOutcome {
            regime,
            received,
            clock,
            explanation: ex,
            calendar_years: uses,
        });
    }

    let day0 = state.day0;
    let n = if extension.is_some() {
        EXTENDED_WORKING_DAYS
    } else {
        rules.base
    };
    if extension.is_some() {
        ex.push(extension_line(regime));
    }
    let (due, counted) = rules.count(day0, n, &state.windows, &mut ex)?;
    let milestones = milestones(regime, n, extension.is_some());
    ex.extend(dated_lines(&counted, &milestones, n, rules.fee_rule));
    let internal_target = internal_target(regime, n, &counted);
    let notice = match extension {
        // A review's extra time needs no statutory notice (s.45 Code: tell the requester).
        Some(_) if matches!(regime, Regime::Review { .. }) => None,
        Some(e) => Some(extension_notice(regime, e, &counted, day0, &mut ex)?),
        None => None,
    };

    let (uses, year_lines) = years_used(cal, rules.days, day0, due.max(state.latest_seen));
    ex.extend(year_lines);
    ex.push(format!(
        "Due: {}, working day {n} after day 0 (respond by midnight UK time at the end of that day).",
        day(due)
    ));
    Ok(DeadlineOutcome {
        regime,
        received,
        clock: ClockState::Running {
            day0,
            due,
            internal_target,
            notice,
            extended: extension.is_some(),
        },
        explanation: ex,
        calendar_years: uses,
    })
}

/// What stays fixed while one case's events are replayed, so the per-event steps need not take a
/// dozen arguments each.
struct Rules<'a> {
    regime: Regime,
    days: WorkDays,
    wc: WorkingCalendar<'a>,
    opts: &'a DeadlineOptions,
    /// The unextended period, in working days.
    base: u32,
    clar_words: &'static str,
    restart_rule: &'static str,
    fee_words: &'static str,
    fee_rule: &'static str,
}

/// The clock as the events replayed so far leave it.
struct Replay {
    day0: NaiveDate,
    /// Local date a clarification was asked for and has not arrived.
    awaiting_clar: Option<NaiveDate>,
    /// An unpaid fee: notice date and last day to pay.
    fee_pending: Option<(NaiveDate, NaiveDate)>,
    /// Paid fee periods (notice to payment, inclusive), whose working days do not count.
    windows: Vec<(NaiveDate, NaiveDate)>,
    /// The latest date the explanation mentions, so its bank-holiday years are listed.
    latest_seen: NaiveDate,
}

impl<'a> Rules<'a> {
    fn new(input: &ClockInput, cal: &'a Calendar, opts: &'a DeadlineOptions) -> Rules<'a> {
        let regime = input.regime;
        let days = regime.work_days(input.region);
        let (clar_words, restart_rule) = regime.clarification_words();
        let (fee_words, fee_rule) = regime.fee_words();
        Rules {
            regime,
            days,
            wc: WorkingCalendar::new(cal, days, &opts.closure_days),
            opts,
            base: match regime {
                Regime::Policy { working_days } | Regime::Review { working_days, .. } => {
                    working_days
                }
                _ => STATUTORY_WORKING_DAYS,
            },
            clar_words,
            restart_rule,
            fee_words,
            fee_rule,
        }
    }

    /// The regime, calendar and (local policy only) closure-day lines that open the explanation.
    fn preamble(&self) -> Vec<String> {
        let mut ex = vec![
            self.regime.summary(),
            format!("Working days: {}.", self.days.describe()),
        ];
        if let WorkDays::Policy(_) = self.days
            && !self.opts.closure_days.is_empty()
        {
            ex.push(format!(
                "{} organisational closure day(s) are configured; they count as non-working days for this local-policy timescale only.",
                self.opts.closure_days.len()
            ));
        }
        ex
    }

    /// Day 0 for something that arrived on `date`: the date itself, unless the authority opted
    /// for the s.45 Code reading that rolls a non-working day forward (§1.4).
    fn day0_from(
        &self,
        date: NaiveDate,
        what: &str,
        ex: &mut Vec<String>,
    ) -> Result<NaiveDate, DeadlineError> {
        if self.opts.nonworking_receipt_rolls_forward
            && let Some(off) = self.wc.day_off(date)
        {
            let rolled = self.wc.on_or_after(date)?;
            ex.push(format!(
                "{} is not a working day ({off}); by the configured option nonworking_receipt_rolls_forward (the 2018 s.45 Code reading) the {what} is taken as {}. The statute and the ICO would count the actual day, one working day earlier.",
                day(date),
                day(rolled)
            ));
            Ok(rolled)
        } else {
            Ok(date)
        }
    }

    fn replay(
        &self,
        state: &mut Replay,
        t: DateTime<Utc>,
        ev: ClockEvent,
        ex: &mut Vec<String>,
    ) -> Result<(), DeadlineError> {
        let d = local_date(t)?;
        state.latest_seen = state.latest_seen.max(d);
        match ev {
            ClockEvent::ClarificationRequested(_) | ClockEvent::ParticularsRequested(_) => {
                self.clarification_requested(state, d, ex);
            }
            ClockEvent::ClarificationReceived(at) | ClockEvent::ParticularsReceived(at) => {
                self.clarification_received(state, d, at, ex)?;
            }
            ClockEvent::FeeNotice(_) => self.fee_notice(state, d, ex)?,
            ClockEvent::FeeReceived(_) => self.fee_received(state, d, ex),
            // Rejected by check_events; extensions were taken out of the timeline above.
            ClockEvent::IdRequested(_) | ClockEvent::IdReceived(_) | ClockEvent::Extension(_) => {}
        }
        Ok(())
    }

    fn clarification_requested(&self, state: &mut Replay, d: NaiveDate, ex: &mut Vec<String>) {
        let clar_words = self.clar_words;
        if let Some(since) = state.awaiting_clar {
            ex.push(format!(
                "{clar_words} asked again on {}; the clock has been stopped since {}.",
                day(d),
                day(since)
            ));
        } else {
            state.awaiting_clar = Some(d);
            ex.push(format!(
                "{clar_words} requested on {}: the clock stops until it arrives, then the {} working days start again from zero ({}).",
                day(d),
                self.base,
                self.restart_rule
            ));
        }
    }

    fn clarification_received(
        &self,
        state: &mut Replay,
        d: NaiveDate,
        at: DateTime<Utc>,
        ex: &mut Vec<String>,
    ) -> Result<(), DeadlineError> {
        let clar_words = self.clar_words;
        let asked = state.awaiting_clar.take();
        if asked.is_none() {
            ex.push(format!(
                "{clar_words} received on {} with no request for it recorded; treated as a restart all the same.",
                day(d)
            ));
        }
        ex.push(receipt_line(&format!("{clar_words} received"), at)?);
        if d > state.day0 {
            state.day0 = self.day0_from(d, "day the clarification arrived", ex)?;
            ex.push(format!(
                "Restart ({}): not a pause. Day 0 is now {}, the day it arrived; the days before it no longer count.",
                self.restart_rule,
                day(state.day0)
            ));
        } else {
            ex.push(format!(
                "It arrived no later than day 0 ({}), so day 0 does not change.",
                day(state.day0)
            ));
        }
        Ok(())
    }

    fn fee_notice(
        &self,
        state: &mut Replay,
        d: NaiveDate,
        ex: &mut Vec<String>,
    ) -> Result<(), DeadlineError> {
        let (fee_words, fee_rule) = (self.fee_words, self.fee_rule);
        if let Some((since, _)) = state.fee_pending {
            ex.push(format!(
                "Another {fee_words} on {} while the one of {} is unpaid: ignored.",
                day(d),
                day(since)
            ));
            return Ok(());
        }
        let lapse = if self.regime.is_environmental() {
            let n = self.opts.eir_fee_lapse_working_days;
            let l = self.wc.add_working_days(d, n)?;
            ex.push(format!(
                "{fee_words} given on {}: time stops until payment; working days from the notice to payment, both included, will be disregarded ({fee_rule}; this EIR rule and the {n}-working-day payment window are not verified against the regulation text). Last day to pay: {}.",
                day(d),
                day(l)
            ));
            l
        } else {
            let l = period_end_beginning_with(d, FEE_PAY_MONTHS)?;
            ex.push(format!(
                "{fee_words} given on {}: time stops until payment; working days from the notice to payment, both included, will be disregarded ({fee_rule}). The fee must be paid within three months beginning with the notice day: by {}, or the request lapses.",
                day(d),
                day(l)
            ));
            l
        };
        state.latest_seen = state.latest_seen.max(lapse);
        state.fee_pending = Some((d, lapse));
        Ok(())
    }

    fn fee_received(&self, state: &mut Replay, d: NaiveDate, ex: &mut Vec<String>) {
        let fee_rule = self.fee_rule;
        match state.fee_pending.take() {
            Some((notice, lapse)) => {
                let end = d.max(notice);
                state.windows.push((notice, end));
                ex.push(format!(
                    "Fee received on {}: working days {} to {} are disregarded ({fee_rule}).",
                    day(d),
                    day(notice),
                    day(end)
                ));
                if d > lapse {
                    ex.push(format!(
                        "Warning: the fee arrived after the last day to pay ({}); the request had lapsed. This due date assumes the authority accepted the late payment.",
                        day(lapse)
                    ));
                }
            }
            None => ex.push(format!(
                "Fee received on {} with no fees notice recorded: no effect on the clock.",
                day(d)
            )),
        }
    }

    /// The stopped clock, and the lines that close the explanation, when a clarification or a
    /// fee is still awaited. The clarification wins because the count restarts from it whatever
    /// happens to the fee.
    fn stopped(&self, state: &Replay) -> Option<(ClockState, Vec<String>)> {
        let fee_words = self.fee_words;
        let mut lines = Vec::new();
        if let Some(since) = state.awaiting_clar {
            if let Some((notice, lapse)) = state.fee_pending {
                lines.push(format!(
                    "The {fee_words} of {} is also unpaid (last day to pay {}).",
                    day(notice),
                    day(lapse)
                ));
            }
            lines.push(format!(
                "Clock stopped since {}: awaiting the clarification. There is no statutory due date until it arrives; {} working days then run from the day it arrives.",
                day(since),
                self.base
            ));
            let clock = ClockState::Stopped {
                reason: StopReason::AwaitingClarification,
                since,
                lapses_after: state.fee_pending.map(|(_, l)| l),
            };
            return Some((clock, lines));
        }
        let (since, lapse) = state.fee_pending?;
        lines.push(format!(
            "Clock stopped since {}: awaiting the fee. If it is not paid by {}, the request lapses; once it is paid the due date is recomputed.",
            day(since),
            day(lapse)
        ));
        let clock = ClockState::Stopped {
            reason: StopReason::AwaitingFee,
            since,
            lapses_after: Some(lapse),
        };
        Some((clock, lines))
    }

    /// The due date and the working days counted to it. A zero-day policy is due on day 0 itself
    /// when that is a working day, which the general count (day 0 never counts) cannot express.
    fn count(
        &self,
        day0: NaiveDate,
        n: u32,
        windows: &[(NaiveDate, NaiveDate)],
        ex: &mut Vec<String>,
    ) -> Result<(NaiveDate, Counted), DeadlineError> {
        if n == 0 {
            let due = self.wc.on_or_after(day0)?;
            let skipped = days_off_between(&self.wc, day0, due)?;
            ex.push("0 working days: due on day 0 itself if it is a working day, else the next working day.".to_string());
            return Ok((
                due,
                Counted {
                    working: vec![due],
                    skipped,
                },
            ));
        }
        let counted = self.wc.count(day0, n, windows)?;
        let due = counted
            .working
            .last()
            .copied()
            .ok_or(DeadlineError::OutOfRange { date: day0 })?;
        Ok((due, counted))
    }
}

/// The extension line, naming the provision and the notice it requires.
fn extension_line(regime: Regime) -> String {
    match regime {
        Regime::Foia => "Public interest extension (FOIA s.10(3)): the decision is due by working day 40 (the ICO expects no more than 20 further working days, normally); the s.17(1) refusal notice is still due by working day 20.".to_string(),
        Regime::Eir => "Extension (EIR reg 7(1), complex and voluminous): 40 working days; the requester must be told by working day 20.".to_string(),
        Regime::Review { .. } => "Exceptional case (s.45 Code of Practice, part 5): the review may take up to 40 working days in total; tell the requester why and when to expect it.".to_string(),
        _ => "Extension (EIR(S) reg 7, volume and complexity): 40 working days; the requester must be told by working day 20.".to_string(),
    }
}

/// The working days worth naming in the explanation (day 1, the internal target, the notice
/// day), so an officer can check the count against a calendar.
fn milestones(regime: Regime, n: u32, extended: bool) -> Vec<(u32, &'static str)> {
    if n == 0 {
        return Vec::new();
    }
    let mut ms: Vec<(u32, &'static str)> = vec![(1, "")];
    if regime.is_statutory_working_days() {
        ms.push((
            n.saturating_sub(TARGET_MARGIN_WORKING_DAYS),
            " (internal target)",
        ));
    }
    if extended && !matches!(regime, Regime::Review { .. }) {
        ms.push((
            STATUTORY_WORKING_DAYS,
            if regime == Regime::Foia {
                " (s.17(1) notice due)"
            } else {
                " (reg 7 extension notice due)"
            },
        ));
    }
    ms
}

/// Skipped days and milestones interleaved in date order, so the explanation reads as a walk
/// through the calendar.
fn dated_lines(
    counted: &Counted,
    milestones: &[(u32, &'static str)],
    n: u32,
    fee_rule: &str,
) -> Vec<String> {
    let mut dated: Vec<(NaiveDate, String)> = skip_lines(&counted.skipped, fee_rule);
    for (k, note) in milestones {
        if let Some(d) = counted.working.get((*k as usize).saturating_sub(1))
            && *k < n
        {
            dated.push((*d, format!("Working day {k}{note}: {}.", day(*d))));
        }
    }
    dated.sort_by_key(|(d, _)| *d);
    dated.into_iter().map(|(_, l)| l).collect()
}

/// The "promptly" target (§1.9); local policy has none because its period is already internal.
fn internal_target(regime: Regime, n: u32, counted: &Counted) -> Option<NaiveDate> {
    if regime.is_statutory_working_days() {
        n.checked_sub(TARGET_MARGIN_WORKING_DAYS + 1)
            .and_then(|i| counted.working.get(i as usize))
            .copied()
    } else {
        None
    }
}

/// The notice an extension requires by working day 20, warning when it was given late because
/// a late notice may invalidate the extension.
fn extension_notice(
    regime: Regime,
    e: Extension,
    counted: &Counted,
    day0: NaiveDate,
    ex: &mut Vec<String>,
) -> Result<Notice, DeadlineError> {
    let due_by = counted
        .working
        .get(STATUTORY_WORKING_DAYS as usize - 1)
        .copied()
        .ok_or(DeadlineError::OutOfRange { date: day0 })?;
    let given = e.notified_at.map(local_date).transpose()?;
    let late = given.is_some_and(|g| g > due_by);
    let kind = if regime == Regime::Foia {
        NoticeKind::S17RefusalNotice
    } else {
        NoticeKind::Reg7ExtensionNotice
    };
    if let Some(g) = given {
        if late {
            ex.push(format!(
                "Warning: the {} was given on {}, after working day 20 ({}); the extension may not be valid.",
                notice_name(kind),
                day(g),
                day(due_by)
            ));
        } else {
            ex.push(format!(
                "The {} was given on {}, in time.",
                notice_name(kind),
                day(g)
            ));
        }
    }
    Ok(Notice {
        kind,
        due: due_by,
        given,
        late,
    })
}

fn notice_name(kind: NoticeKind) -> &'static str {
    match kind {
        NoticeKind::S17RefusalNotice => "s.17(1) notice",
        NoticeKind::Reg7ExtensionNotice => "reg 7 extension notice",
        NoticeKind::SarExtensionNotice => "extension notice (Art 12(3)/12A)",
    }
}
