//! Europe/London wall-clock time: the dates staff see on their calendars and the instants their
//! clocks show, across the clock changes. Used wherever a planner turns `now` into "today" or a
//! local time into an instant (chasers, digests, the CLI).

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::London;

/// Longest clock change we step over when a local time does not exist, in minutes (UK: 60).
const MAX_GAP_MINUTES: i64 = 180;
/// Step used to find the first instant after a spring-forward gap, in minutes.
const GAP_STEP_MINUTES: i64 = 1;

/// The Europe/London calendar date of an instant: the date staff see on their wall calendars.
pub fn date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&London).date_naive()
}

/// The Europe/London wall-clock time of an instant (what staff clocks showed).
pub fn time(at: DateTime<Utc>) -> NaiveTime {
    at.with_timezone(&London).time()
}

/// The instant when London clocks show `time` on `date`.
///
/// In the repeated autumn hour the earlier instant is taken; a time inside the spring-forward gap
/// (which London clocks never show) becomes the first instant after the gap. `None` only at the
/// ends of chrono's range.
pub fn instant(date: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
    let start = date.and_time(time);
    let mut offset = 0;
    while offset <= MAX_GAP_MINUTES {
        let local = start.checked_add_signed(Duration::minutes(offset))?;
        match London.from_local_datetime(&local) {
            LocalResult::Single(t) => return Some(t.with_timezone(&Utc)),
            LocalResult::Ambiguous(earliest, _) => return Some(earliest.with_timezone(&Utc)),
            LocalResult::None => offset += GAP_STEP_MINUTES,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, mi, 0)
            .single()
            .expect("valid test instant")
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    #[test]
    fn instant_handles_gaps_and_repeats() {
        let table = [
            // Spring forward 2026-03-29: 01:30 never happens; the first instant after the gap.
            (day(2026, 3, 29), (1, 30), utc(2026, 3, 29, 1, 0)),
            (day(2026, 3, 29), (0, 30), utc(2026, 3, 29, 0, 30)),
            (day(2026, 3, 29), (2, 0), utc(2026, 3, 29, 1, 0)),
            // Fall back 2026-10-25: 01:30 happens twice; the earlier (BST) one.
            (day(2026, 10, 25), (1, 30), utc(2026, 10, 25, 0, 30)),
            (day(2026, 7, 1), (8, 0), utc(2026, 7, 1, 7, 0)),
            (day(2026, 1, 5), (8, 0), utc(2026, 1, 5, 8, 0)),
        ];
        for (d, (h, m), want) in table {
            let t = NaiveTime::from_hms_opt(h, m, 0).expect("valid");
            assert_eq!(instant(d, t), Some(want), "{d} {h}:{m}");
        }
        // A window opening inside the gap still yields a chaser on the clock-change day's Monday
        // equivalents: here a Sunday-only check of the conversion is enough.
        assert_eq!(date(utc(2026, 10, 25, 23, 30)), day(2026, 10, 25));
        assert_eq!(date(utc(2026, 6, 30, 23, 30)), day(2026, 7, 1));
    }
}
