//! Generative rules for UK bank holidays, used only for years the loaded data does not cover.
//!
//! Implements deadlines.md §6.2 (the recurring pattern GOV.UK follows, substitute days included)
//! and §6.3 (the one-off proclamations known when this was written). Each holiday is produced on
//! the day it is actually *taken*, exactly as GOV.UK lists it: a weekend date is never produced,
//! only its substitute.
//!
//! What this does not do: know about proclamations made after it was written (a future jubilee,
//! a state funeral, another "World Cup bank holiday"). That is why data always wins for the years
//! it covers, and why the caller warns when rules are used for a year that is still to come.
//! The pattern is the modern one: years before 1978 (when the Early May holiday started) are not
//! modelled faithfully, and nothing is produced before the Gregorian Easter tables (1583).

use super::calendar::Region;
use chrono::{Datelike, Days, NaiveDate, Weekday};

/// First year the Easter algorithm and the rules are applied to (Gregorian calendar reform).
const FIRST_RULE_YEAR: i32 = 1583;
/// Last year the rules are applied to: a four-digit year, far beyond any request's lifetime.
const LAST_RULE_YEAR: i32 = 9999;
/// First year St Andrew's Day is a Scottish bank holiday (St Andrew's Day Bank Holiday (Scotland)
/// Act 2007).
const ST_ANDREW_FROM: i32 = 2007;

/// The GOV.UK `notes` value for a day taken in place of one that fell at a weekend.
pub const SUBSTITUTE_DAY: &str = "Substitute day";

/// A bank holiday produced by the rules rather than read from data.
///
/// Titles are GOV.UK's, with the U+2019 apostrophe, so that generated years look exactly like
/// data years in explanations (a test compares them for 2015–2027).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleHoliday {
    /// The day the holiday is taken.
    pub date: NaiveDate,
    /// GOV.UK title, e.g. "St Andrew’s Day".
    pub title: &'static str,
    /// True when the day replaces a holiday that fell at a weekend (GOV.UK notes "Substitute day").
    pub substitute: bool,
}

impl RuleHoliday {
    /// The GOV.UK `notes` field for this day: "Substitute day" or "".
    pub fn notes(&self) -> &'static str {
        if self.substitute { SUBSTITUTE_DAY } else { "" }
    }
}

/// Which regions a one-off proclamation covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    AllUk,
    ScotlandOnly,
}

/// One-off proclaimed bank holidays (deadlines.md §6.3). Moved recurring holidays (1995, 2002,
/// 2012, 2020, 2022) are handled where the recurring rule is, not here.
const ONE_OFFS: &[(i32, u32, u32, &str, Scope)] = &[
    // Titles before 2012 are approximate (the GOV.UK feed does not reach back that far).
    (1999, 12, 31, "Millennium celebrations", Scope::AllUk),
    (2002, 6, 3, "Golden Jubilee bank holiday", Scope::AllUk),
    (2011, 4, 29, "Royal wedding", Scope::AllUk),
    (2012, 6, 5, "Queen’s Diamond Jubilee", Scope::AllUk),
    (2022, 6, 3, "Platinum Jubilee bank holiday", Scope::AllUk),
    (
        2022,
        9,
        19,
        "Bank Holiday for the State Funeral of Queen Elizabeth II",
        Scope::AllUk,
    ),
    (
        2023,
        5,
        8,
        "Bank holiday for the coronation of King Charles III",
        Scope::AllUk,
    ),
    (2026, 6, 15, "World Cup bank holiday", Scope::ScotlandOnly),
];

/// Easter Sunday in the Gregorian calendar (anonymous Meeus/Jones/Butcher algorithm, §6.2).
///
/// Returns `None` for years outside 1583..=9999, where no holiday rules are applied.
pub fn easter_sunday(year: i32) -> Option<NaiveDate> {
    if !(FIRST_RULE_YEAR..=LAST_RULE_YEAR).contains(&year) {
        return None;
    }
    let y = year;
    let a = y % 19;
    let b = y / 100;
    let c = y % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(y, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

/// Good Friday (Easter Sunday − 2 days): named in FOIA s.10(6) as a non-working day.
pub fn good_friday(year: i32) -> Option<NaiveDate> {
    easter_sunday(year)?.checked_sub_days(Days::new(2))
}

/// The bank holidays the rules produce for `region` in `year`, sorted by date.
///
/// Empty for years outside 1583..=9999.
pub fn rule_holidays(region: Region, year: i32) -> Vec<RuleHoliday> {
    generate(region, year).unwrap_or_default()
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The first `n` weekdays on or after `from`.
fn weekdays_from(from: NaiveDate, n: usize) -> Option<Vec<NaiveDate>> {
    let mut out = Vec::with_capacity(n);
    let mut d = from;
    while out.len() < n {
        if !is_weekend(d) {
            out.push(d);
        }
        d = d.succ_opt()?;
    }
    Some(out)
}

/// A fixed-date holiday taken on the next Monday when it falls at a weekend.
fn fixed_or_next_monday(
    year: i32,
    month: u32,
    day: u32,
    title: &'static str,
) -> Option<RuleHoliday> {
    let d = NaiveDate::from_ymd_opt(year, month, day)?;
    let date = match d.weekday() {
        Weekday::Sat => d.checked_add_days(Days::new(2))?,
        Weekday::Sun => d.checked_add_days(Days::new(1))?,
        _ => d,
    };
    Some(RuleHoliday {
        date,
        title,
        substitute: date != d,
    })
}

fn plain(date: NaiveDate, title: &'static str) -> RuleHoliday {
    RuleHoliday {
        date,
        title,
        substitute: false,
    }
}

fn first_monday(year: i32, month: u32) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(year, month, Weekday::Mon, 1)
}

fn last_monday(year: i32, month: u32) -> Option<NaiveDate> {
    // The 5th Monday exists in some months only; the 4th always does.
    NaiveDate::from_weekday_of_month_opt(year, month, Weekday::Mon, 5)
        .or_else(|| NaiveDate::from_weekday_of_month_opt(year, month, Weekday::Mon, 4))
}

fn generate(region: Region, year: i32) -> Option<Vec<RuleHoliday>> {
    if !(FIRST_RULE_YEAR..=LAST_RULE_YEAR).contains(&year) {
        return None;
    }
    let mut out = Vec::with_capacity(12);
    let ymd = |m: u32, d: u32| NaiveDate::from_ymd_opt(year, m, d);

    // New Year. Scotland: the first two weekdays on or after 1 Jan are New Year's Day and
    // 2nd January; elsewhere 1 Jan or the next Monday.
    let jan1 = ymd(1, 1)?;
    if region == Region::Scotland {
        let days = weekdays_from(jan1, 2)?;
        let (first, second) = (days[0], days[1]);
        out.push(RuleHoliday {
            date: first,
            title: "New Year’s Day",
            substitute: first != jan1,
        });
        out.push(RuleHoliday {
            date: second,
            title: "2nd January",
            substitute: second != ymd(1, 2)?,
        });
    } else {
        out.push(fixed_or_next_monday(year, 1, 1, "New Year’s Day")?);
    }

    if region == Region::NorthernIreland {
        out.push(fixed_or_next_monday(year, 3, 17, "St Patrick’s Day")?);
    }

    // Easter. Easter Monday is not a bank holiday in Scotland.
    let easter = easter_sunday(year)?;
    out.push(plain(easter.checked_sub_days(Days::new(2))?, "Good Friday"));
    if region != Region::Scotland {
        out.push(plain(
            easter.checked_add_days(Days::new(1))?,
            "Easter Monday",
        ));
    }

    // Early May: first Monday, moved to 8 May for the VE Day anniversaries of 1995 and 2020.
    match year {
        1995 | 2020 => out.push(plain(ymd(5, 8)?, "Early May bank holiday (VE day)")),
        _ => out.push(plain(first_monday(year, 5)?, "Early May bank holiday")),
    }

    // Spring: last Monday in May, moved for the jubilees of 2002, 2012 and 2022.
    let spring = match year {
        2002 | 2012 => ymd(6, 4)?,
        2022 => ymd(6, 2)?,
        _ => last_monday(year, 5)?,
    };
    out.push(plain(spring, "Spring bank holiday"));

    if region == Region::NorthernIreland {
        out.push(fixed_or_next_monday(
            year,
            7,
            12,
            "Battle of the Boyne (Orangemen’s Day)",
        )?);
    }

    // Summer: first Monday of August in Scotland, last Monday elsewhere.
    let summer = if region == Region::Scotland {
        first_monday(year, 8)?
    } else {
        last_monday(year, 8)?
    };
    out.push(plain(summer, "Summer bank holiday"));

    if region == Region::Scotland && year >= ST_ANDREW_FROM {
        out.push(fixed_or_next_monday(year, 11, 30, "St Andrew’s Day")?);
    }

    // Christmas and Boxing Day: the first two weekdays on or after 25 Dec, labelled as GOV.UK does.
    let dec25 = ymd(12, 25)?;
    let dec26 = ymd(12, 26)?;
    let days = weekdays_from(dec25, 2)?;
    let (first, second) = (days[0], days[1]);
    if dec25.weekday() == Weekday::Sun {
        // Boxing Day is taken on its own date (Mon 26); Christmas moves to Tue 27.
        out.push(plain(first, "Boxing Day"));
        out.push(RuleHoliday {
            date: second,
            title: "Christmas Day",
            substitute: true,
        });
    } else {
        out.push(RuleHoliday {
            date: first,
            title: "Christmas Day",
            substitute: first != dec25,
        });
        out.push(RuleHoliday {
            date: second,
            title: "Boxing Day",
            substitute: second != dec26,
        });
    }

    for &(y, m, d, title, scope) in ONE_OFFS {
        if y == year && (scope == Scope::AllUk || region == Region::Scotland) {
            out.push(plain(ymd(m, d)?, title));
        }
    }

    out.sort_by_key(|h| h.date);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn easter_known_years() {
        // Sources: the §6.5 table (Good Friday + 2) and published Easter tables.
        let cases = [
            (2000, "2000-04-23"),
            (2008, "2008-03-23"),
            (2011, "2011-04-24"),
            (2014, "2014-04-20"),
            (2019, "2019-04-21"),
            (2024, "2024-03-31"),
            (2025, "2025-04-20"),
            (2026, "2026-04-05"),
            (2034, "2034-04-09"),
            (2038, "2038-04-25"),
        ];
        for (y, e) in cases {
            assert_eq!(easter_sunday(y), Some(date(e)), "Easter {y}");
        }
        assert_eq!(good_friday(2025), Some(date("2025-04-18")));
        assert_eq!(easter_sunday(1500), None);
        assert_eq!(easter_sunday(10_000), None);
        assert!(rule_holidays(Region::Scotland, 1200).is_empty());
    }

    #[test]
    fn never_a_weekend_and_sorted_and_unique() {
        for region in Region::ALL {
            for year in 1990..=2100 {
                let hs = rule_holidays(region, year);
                assert!(hs.len() >= 8, "{region} {year}: {hs:?}");
                for w in hs.windows(2) {
                    assert!(w[0].date < w[1].date, "{region} {year}: {w:?}");
                }
                for h in &hs {
                    assert!(!is_weekend(h.date), "{region} {year}: {h:?}");
                    assert_eq!(h.date.year(), year, "{region}: {h:?}");
                }
            }
        }
    }

    #[test]
    fn scottish_new_year_patterns() {
        // (1 Jan weekday, year, NYD, 2nd January, NYD substitute?, 2nd Jan substitute?)
        let cases = [
            (2021, "2021-01-01", "2021-01-04", false, true), // Fri → Fri 1 + Mon 4
            (2022, "2022-01-03", "2022-01-04", true, true),  // Sat → Mon 3 + Tue 4
            (2023, "2023-01-02", "2023-01-03", true, true),  // Sun → Mon 2 + Tue 3
            (2024, "2024-01-01", "2024-01-02", false, false), // Mon
            (2025, "2025-01-01", "2025-01-02", false, false), // Wed
            (2026, "2026-01-01", "2026-01-02", false, false), // Thu → Thu 1 + Fri 2
            (2032, "2032-01-01", "2032-01-02", false, false), // Thu
            (2033, "2033-01-03", "2033-01-04", true, true),  // Sat
            (2034, "2034-01-02", "2034-01-03", true, true),  // Sun
        ];
        for (year, nyd, second, nyd_sub, second_sub) in cases {
            let hs = rule_holidays(Region::Scotland, year);
            assert_eq!(hs[0].date, date(nyd), "{year}");
            assert_eq!(hs[0].title, "New Year’s Day");
            assert_eq!(hs[0].substitute, nyd_sub, "{year}");
            assert_eq!(hs[1].date, date(second), "{year}");
            assert_eq!(hs[1].title, "2nd January");
            assert_eq!(hs[1].substitute, second_sub, "{year}");
            // England and Wales: only one New Year holiday, on the first of those days.
            let ew = rule_holidays(Region::EnglandAndWales, year);
            assert_eq!(ew[0].date, date(nyd), "{year}");
            assert_ne!(ew[1].title, "2nd January");
        }
    }

    #[test]
    fn christmas_on_each_weekday() {
        // (year, weekday of 25 Dec, Christmas taken, Boxing taken, Christmas sub?, Boxing sub?)
        let cases = [
            (2023, Weekday::Mon, "2023-12-25", "2023-12-26", false, false),
            (2018, Weekday::Tue, "2018-12-25", "2018-12-26", false, false),
            (2024, Weekday::Wed, "2024-12-25", "2024-12-26", false, false),
            (2025, Weekday::Thu, "2025-12-25", "2025-12-26", false, false),
            (2026, Weekday::Fri, "2026-12-25", "2026-12-28", false, true),
            (2027, Weekday::Sat, "2027-12-27", "2027-12-28", true, true),
            (2022, Weekday::Sun, "2022-12-27", "2022-12-26", true, false),
        ];
        for (year, wd, xmas, boxing, xs, bs) in cases {
            assert_eq!(date(&format!("{year}-12-25")).weekday(), wd, "{year}");
            for region in Region::ALL {
                let hs = rule_holidays(region, year);
                let x = hs.iter().find(|h| h.title == "Christmas Day").unwrap();
                let b = hs.iter().find(|h| h.title == "Boxing Day").unwrap();
                assert_eq!((x.date, x.substitute), (date(xmas), xs), "{region} {year}");
                assert_eq!(
                    (b.date, b.substitute),
                    (date(boxing), bs),
                    "{region} {year}"
                );
            }
        }
    }

    #[test]
    fn regional_differences() {
        let titles = |r: Region, y: i32| -> Vec<&'static str> {
            rule_holidays(r, y).iter().map(|h| h.title).collect()
        };
        for y in [2014, 2030, 2034] {
            assert!(!titles(Region::Scotland, y).contains(&"Easter Monday"));
            assert!(titles(Region::EnglandAndWales, y).contains(&"Easter Monday"));
            assert!(titles(Region::NorthernIreland, y).contains(&"St Patrick’s Day"));
            assert!(!titles(Region::EnglandAndWales, y).contains(&"St Patrick’s Day"));
            assert!(titles(Region::Scotland, y).contains(&"St Andrew’s Day"));
            assert!(
                titles(Region::NorthernIreland, y)
                    .contains(&"Battle of the Boyne (Orangemen’s Day)")
            );
        }
        // St Andrew's Day only from 2007.
        assert!(!titles(Region::Scotland, 2006).contains(&"St Andrew’s Day"));
        // Summer: first Monday of August in Scotland, last elsewhere (2034: 7 Aug vs 28 Aug).
        let summer = |r: Region| {
            rule_holidays(r, 2034)
                .into_iter()
                .find(|h| h.title == "Summer bank holiday")
                .map(|h| h.date)
        };
        assert_eq!(summer(Region::Scotland), Some(date("2034-08-07")));
        assert_eq!(summer(Region::EnglandAndWales), Some(date("2034-08-28")));
        assert_eq!(summer(Region::NorthernIreland), Some(date("2034-08-28")));
    }

    #[test]
    fn one_offs_and_moves() {
        let has = |r: Region, d: &str| {
            rule_holidays(r, date(d).year())
                .iter()
                .any(|h| h.date == date(d))
        };
        assert!(has(Region::EnglandAndWales, "1999-12-31"));
        assert!(has(Region::NorthernIreland, "2011-04-29"));
        assert!(has(Region::Scotland, "2012-06-05"));
        assert!(has(Region::EnglandAndWales, "2012-06-04"));
        assert!(!has(Region::EnglandAndWales, "2012-05-28"));
        assert!(has(Region::EnglandAndWales, "2002-06-04"));
        assert!(has(Region::EnglandAndWales, "1995-05-08"));
        assert!(!has(Region::EnglandAndWales, "1995-05-01"));
        assert!(has(Region::Scotland, "2026-06-15"));
        assert!(!has(Region::EnglandAndWales, "2026-06-15"));
        assert!(!has(Region::NorthernIreland, "2026-06-15"));
        // 2014 (needed by vector S4): St Patrick's Day on Mon 17 Mar, Easter Monday 21 Apr.
        assert!(has(Region::NorthernIreland, "2014-03-17"));
        assert!(has(Region::EnglandAndWales, "2014-04-21"));
        assert!(has(Region::Scotland, "2014-04-18"));
    }
}
