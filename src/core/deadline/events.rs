//! Clock events: which ones a regime accepts (§8), and the timeline they are replayed from.

use super::{
    ClockEvent, ClockInput, DeadlineError, Extension, ExtensionKind, MAX_WORKING_DAYS,
    MONTHS_ONLY_SAR, NO_EIR_PIT, NO_FOIA_COMPLEXITY, NO_FOISA_EXTENSION, NO_POLICY_EXTENSION,
    NO_REVIEW_EXTENSION, Regime, ReviewOf, SAR_ONLY_MONTHS,
};
use chrono::{DateTime, Utc};

const ID_NOT_FOI: &str = "identity checks belong to subject access (UK GDPR Art 12(6)); FOI and EIR requests are applicant-blind";
const POLICY_NO_EVENTS: &str = "local-policy timescales (deadlines.md §5) have no stop-the-clock events in the deadline engine";
const REVIEW_NO_EVENTS: &str = "an internal review has no stop-the-clock events: the review request is answered from the original request's record (deadlines.md §5.0)";

/// Why the law does not allow `kind` under `regime`, or `None` if it does.
fn extension_refusal(regime: Regime, kind: ExtensionKind) -> Option<&'static str> {
    use ExtensionKind::{ComplexVoluminous, PublicInterest, TwoFurtherMonths};
    match (regime, kind) {
        (Regime::Foia, PublicInterest)
        | (Regime::Eir | Regime::EirScotland, ComplexVoluminous)
        | (Regime::Sar, TwoFurtherMonths)
        | (
            Regime::Review {
                of: ReviewOf::Foia, ..
            },
            ComplexVoluminous,
        ) => None,
        (Regime::Review { .. }, _) => Some(NO_REVIEW_EXTENSION),
        (Regime::Foisa, _) => Some(NO_FOISA_EXTENSION),
        (Regime::Policy { .. }, _) => Some(NO_POLICY_EXTENSION),
        (Regime::Eir | Regime::EirScotland, PublicInterest) => Some(NO_EIR_PIT),
        (Regime::Foia, ComplexVoluminous) => Some(NO_FOIA_COMPLEXITY),
        (Regime::Sar, _) => Some(SAR_ONLY_MONTHS),
        (_, TwoFurtherMonths) => Some(MONTHS_ONLY_SAR),
    }
}

/// Refuses what the regime's law does not know before any date is computed, so a wrong event
/// is an error the officer sees rather than a line the count silently skips.
pub(super) fn check_events(input: &ClockInput) -> Result<(), DeadlineError> {
    let regime = input.regime;
    if let Regime::Policy { working_days } | Regime::Review { working_days, .. } = regime
        && working_days > MAX_WORKING_DAYS
    {
        return Err(DeadlineError::TooManyWorkingDays {
            days: working_days,
            max: MAX_WORKING_DAYS,
        });
    }
    for ev in &input.events {
        if let ClockEvent::Extension(e) = ev {
            if let Some(reason) = extension_refusal(regime, e.kind) {
                return Err(DeadlineError::ExtensionNotAllowed {
                    regime,
                    kind: e.kind,
                    reason,
                });
            }
            continue;
        }
        let reason = match regime {
            Regime::Policy { .. } => Some(POLICY_NO_EVENTS),
            Regime::Review { .. } => Some(REVIEW_NO_EVENTS),
            Regime::Sar => None,
            _ => match ev {
                ClockEvent::IdRequested(_) | ClockEvent::IdReceived(_) => Some(ID_NOT_FOI),
                _ => None,
            },
        };
        if let Some(reason) = reason {
            return Err(DeadlineError::EventNotAllowed {
                regime,
                event: ev.name(),
                reason,
            });
        }
    }
    Ok(())
}

/// The first extension (extensions are not part of the timeline: they change the period, not the
/// clock), and the other events sorted by time (stable, so same-instant events keep their order).
pub(super) fn split_events(
    events: &[ClockEvent],
) -> (Option<Extension>, Vec<(DateTime<Utc>, ClockEvent)>) {
    let extension = events.iter().find_map(|ev| match ev {
        ClockEvent::Extension(e) => Some(*e),
        _ => None,
    });
    let mut timeline: Vec<(DateTime<Utc>, ClockEvent)> = events
        .iter()
        .filter(|ev| !matches!(ev, ClockEvent::Extension(_)))
        .filter_map(|ev| ev.at().map(|t| (t, *ev)))
        .collect();
    timeline.sort_by_key(|(t, _)| *t);
    (extension, timeline)
}
