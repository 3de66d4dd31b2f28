//! UK bank-holiday calendars and the four working-day calendars the statutes use.
//!
//! [`Calendar`] holds the bank holidays actually taken in each GOV.UK division, loaded from data
//! (the shipped `data/uk-bank-holidays.toml`, a TOML file of the same shape, or a copy of
//! `https://www.gov.uk/bank-holidays.json`). For any year the data covers, the data alone decides;
//! for other years the generative rules of deadlines.md §6.2–6.3 ([`super::holidays`]) are used,
//! and [`Calendar::year_source`] says which, so explanations can say so too.
//!
//! [`WorkingCalendar`] answers "is this a working day, and if not why?" for one of the calendars of
//! deadlines.md §6.4 ([`WorkDays`]): FOIA/EIR (any part of the UK), FOISA/EIR(S) (Scotland), SAR
//! roll-forward and local policy (the authority's own region).
//!
//! What this module does not do: read files (the caller hands in text), look at the clock, or decide
//! which regime applies (see [`super::Regime`]).

use super::holidays::{self, RuleHoliday};
use super::{DeadlineError, MAX_WORKING_DAYS};
pub use crate::model::regime::{Region, UnknownRegion};
use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::RangeInclusive;
use std::sync::LazyLock;

/// The shipped bank-holiday table (deadlines.md §6.5), compiled into the binary.
const BUILTIN_TOML: &str = include_str!("../../../data/uk-bank-holidays.toml");

/// Origin label of the shipped table, shown in explanations.
const BUILTIN_ORIGIN: &str = "built-in data (data/uk-bank-holidays.toml)";

/// Years a data file may cover. GOV.UK's feed starts in 2012; the bound stops a typo such as
/// `last_year = 20277` from allocating thousands of empty years.
const DATA_YEARS: RangeInclusive<i32> = 1900..=2200;

/// Why a bank-holiday file could not be loaded. Every variant names the format and, where it
/// applies, the division and event index, so an operator can find the line to fix.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// The text is not valid TOML of the expected shape.
    #[error("bank-holiday TOML: {0}")]
    Toml(#[from] toml::de::Error),
    /// The text is not valid JSON of the GOV.UK shape.
    #[error("bank-holiday JSON (GOV.UK format): {0}")]
    Json(#[from] serde_json::Error),
    /// A division is missing.
    #[error("bank-holiday {format}: division {region} is missing")]
    MissingDivision {
        /// "TOML" or "GOV.UK JSON".
        format: &'static str,
        /// The missing division.
        region: Region,
    },
    /// A top-level key is not a division name.
    #[error("bank-holiday {format}: unknown division {key:?}")]
    UnknownDivision {
        /// "TOML" or "GOV.UK JSON".
        format: &'static str,
        /// The key as written.
        key: String,
    },
    /// A section's `division` field names another division than its key.
    #[error("bank-holiday {format}: section {region} says division = {found:?}")]
    DivisionMismatch {
        /// "TOML" or "GOV.UK JSON".
        format: &'static str,
        /// The section key.
        region: Region,
        /// The `division` value as written.
        found: String,
    },
    /// An event date is not `YYYY-MM-DD`.
    #[error("bank-holiday {format}: {region} event #{index}: date {value:?} is not YYYY-MM-DD")]
    BadDate {
        /// "TOML" or "GOV.UK JSON".
        format: &'static str,
        /// The division.
        region: Region,
        /// Position of the event in its list, from 1.
        index: usize,
        /// The date as written.
        value: String,
    },
    /// An event has an empty title (explanations need it).
    #[error("bank-holiday {format}: {region} event #{index} ({date}) has an empty title")]
    EmptyTitle {
        /// "TOML" or "GOV.UK JSON".
        format: &'static str,
        /// The division.
        region: Region,
        /// Position of the event in its list, from 1.
        index: usize,
        /// The event date.
        date: NaiveDate,
    },
    /// The same date is listed twice in one division.
    #[error("bank-holiday {format}: {region} lists {date} twice")]
    Duplicate {
        /// "TOML" or "GOV.UK JSON".
        format: &'static str,
        /// The division.
        region: Region,
        /// The repeated date.
        date: NaiveDate,
    },
    /// `meta.first_year..=meta.last_year` is empty or outside 1900..=2200.
    #[error(
        "bank-holiday TOML: [meta] first_year = {first}, last_year = {last} is not a range of years within 1900..=2200"
    )]
    BadYears {
        /// `meta.first_year`.
        first: i32,
        /// `meta.last_year`.
        last: i32,
    },
    /// An event lies outside the years the file says it covers (TOML), or outside 1900..=2200.
    #[error(
        "bank-holiday {format}: {region} event {date} is outside the covered years {first}..={last}"
    )]
    OutsideYears {
        /// "TOML" or "GOV.UK JSON".
        format: &'static str,
        /// The division.
        region: Region,
        /// The event date.
        date: NaiveDate,
        /// First covered year.
        first: i32,
        /// Last covered year.
        last: i32,
    },
}

/// A holiday as stored from data (GOV.UK fields; the date is the map key).
#[derive(Debug, Clone, PartialEq, Eq)]
struct DataHoliday {
    title: String,
    notes: String,
    bunting: Option<bool>,
}

/// One covered year of one division: where it came from and its holidays.
#[derive(Debug, Clone, PartialEq, Eq)]
struct YearData {
    origin: String,
    days: BTreeMap<NaiveDate, DataHoliday>,
}

/// Where the bank holidays of one division and year come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YearSource<'a> {
    /// Loaded data covers the year; `origin` names it (e.g. "built-in data (…)").
    Data {
        /// Human label of the data set, for explanations.
        origin: &'a str,
    },
    /// No data for the year: generated by the rules of deadlines.md §6.2–6.3, which cannot know
    /// proclamations made after they were written.
    Rules,
}

impl fmt::Display for YearSource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            YearSource::Data { origin } => f.write_str(origin),
            YearSource::Rules => f.write_str(
                "generated by the rules of deadlines.md §6.2–6.3 (no data for this year; proclamations not in those rules are unknown)",
            ),
        }
    }
}

/// A bank holiday in one division, whichever source it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holiday<'a> {
    /// The day the holiday is taken.
    pub date: NaiveDate,
    /// GOV.UK title, e.g. "Boxing Day".
    pub title: &'a str,
    /// GOV.UK notes: "", "Substitute day" or "Extra bank holiday".
    pub notes: &'a str,
    /// Data or rules.
    pub source: YearSource<'a>,
}

impl Holiday<'_> {
    /// "Boxing Day" or "Boxing Day, substitute day".
    pub fn label(&self) -> String {
        if self.notes.is_empty() {
            self.title.to_string()
        } else {
            format!("{}, {}", self.title, self.notes.to_lowercase())
        }
    }
}

/// Bank holidays per GOV.UK division: data for the years it covers, rules for the others.
///
/// Cheap to clone (a few hundred entries). Build it once at start-up, e.g.
/// `Calendar::builtin().with_overrides(Calendar::from_govuk_json(&text)?)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    regions: BTreeMap<Region, BTreeMap<i32, YearData>>,
}

static BUILTIN: LazyLock<Calendar> = LazyLock::new(|| {
    // The shipped file is a compile-time constant, not input; `builtin_data_loads` tests it.
    Calendar::from_toml(BUILTIN_TOML)
        .expect("data/uk-bank-holidays.toml is valid (tested by builtin_data_loads)")
        .named(BUILTIN_ORIGIN)
});

// ---- file shapes -------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlFile {
    meta: TomlMeta,
    #[serde(rename = "england-and-wales")]
    england_and_wales: Option<Division>,
    scotland: Option<Division>,
    #[serde(rename = "northern-ireland")]
    northern_ireland: Option<Division>,
}

#[derive(Deserialize)]
struct TomlMeta {
    first_year: i32,
    last_year: i32,
}

#[derive(Deserialize, Serialize)]
struct Division {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    division: Option<String>,
    events: Vec<Event>,
}

#[derive(Deserialize, Serialize)]
struct Event {
    title: String,
    date: String,
    #[serde(default)]
    notes: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bunting: Option<bool>,
}

const TOML_FORMAT: &str = "TOML";
const JSON_FORMAT: &str = "GOV.UK JSON";

impl Calendar {
    /// The shipped table (2015–2027, all three divisions, deadlines.md §6.5); rules elsewhere.
    pub fn builtin() -> Calendar {
        BUILTIN.clone()
    }

    /// Parses the `uk-bank-holidays.toml` format: `[meta] first_year, last_year` and one section
    /// per division with `events = [{ date, title, notes? }]`.
    ///
    /// Every year in `first_year..=last_year` counts as covered by the data, for all three
    /// divisions.
    ///
    /// # Errors
    /// [`CalendarError`] naming the division and event for bad TOML, missing or mislabelled
    /// divisions, bad dates, empty titles, duplicate dates and events outside the covered years.
    pub fn from_toml(text: &str) -> Result<Calendar, CalendarError> {
        let file: TomlFile = toml::from_str(text)?;
        let (first, last) = (file.meta.first_year, file.meta.last_year);
        if first > last || !DATA_YEARS.contains(&first) || !DATA_YEARS.contains(&last) {
            return Err(CalendarError::BadYears { first, last });
        }
        let sections = [
            (Region::EnglandAndWales, file.england_and_wales),
            (Region::Scotland, file.scotland),
            (Region::NorthernIreland, file.northern_ireland),
        ];
        let mut regions = BTreeMap::new();
        for (region, section) in sections {
            let section = section.ok_or(CalendarError::MissingDivision {
                format: TOML_FORMAT,
                region,
            })?;
            let days = parse_division(TOML_FORMAT, region, section)?;
            let mut years: BTreeMap<i32, YearData> = (first..=last)
                .map(|y| (y, YearData::new("TOML data")))
                .collect();
            for (date, h) in days {
                let year = years
                    .get_mut(&date.year())
                    .ok_or(CalendarError::OutsideYears {
                        format: TOML_FORMAT,
                        region,
                        date,
                        first,
                        last,
                    })?;
                year.days.insert(date, h);
            }
            regions.insert(region, years);
        }
        Ok(Calendar { regions })
    }

    /// Parses a copy of `https://www.gov.uk/bank-holidays.json`:
    /// `{"england-and-wales": {"division": …, "events": [{"title","date","notes","bunting"}]}, …}`.
    ///
    /// The years covered by the data are derived per division from its events: every year from
    /// the first event's to the last event's.
    ///
    /// # Errors
    /// [`CalendarError`] for bad JSON, unknown or missing divisions, bad dates, empty titles,
    /// duplicate dates and dates outside 1900..=2200.
    pub fn from_govuk_json(text: &str) -> Result<Calendar, CalendarError> {
        let file: BTreeMap<String, Division> = serde_json::from_str(text)?;
        let mut regions = BTreeMap::new();
        for (key, section) in file {
            let region: Region = key.parse().map_err(|_| CalendarError::UnknownDivision {
                format: JSON_FORMAT,
                key: key.clone(),
            })?;
            if region.as_str() != key {
                // Aliases such as "wales" are fine in config, not as GOV.UK division keys.
                return Err(CalendarError::UnknownDivision {
                    format: JSON_FORMAT,
                    key,
                });
            }
            let days = parse_division(JSON_FORMAT, region, section)?;
            let mut years: BTreeMap<i32, YearData> = BTreeMap::new();
            if let (Some(first), Some(last)) = (days.keys().next(), days.keys().next_back()) {
                let (first, last) = (first.year(), last.year());
                for date in [days.keys().next(), days.keys().next_back()]
                    .into_iter()
                    .flatten()
                {
                    if !DATA_YEARS.contains(&date.year()) {
                        return Err(CalendarError::OutsideYears {
                            format: JSON_FORMAT,
                            region,
                            date: *date,
                            first: *DATA_YEARS.start(),
                            last: *DATA_YEARS.end(),
                        });
                    }
                }
                years = (first..=last)
                    .map(|y| (y, YearData::new("GOV.UK JSON data")))
                    .collect();
            }
            for (date, h) in days {
                if let Some(year) = years.get_mut(&date.year()) {
                    year.days.insert(date, h);
                }
            }
            regions.insert(region, years);
        }
        for region in Region::ALL {
            if !regions.contains_key(&region) {
                return Err(CalendarError::MissingDivision {
                    format: JSON_FORMAT,
                    region,
                });
            }
        }
        Ok(Calendar { regions })
    }

    /// Writes the data years back in the GOV.UK JSON shape (rule years are not written).
    ///
    /// # Errors
    /// Only if serialisation fails, which plain strings and booleans cannot make it do.
    pub fn to_govuk_json(&self) -> Result<String, CalendarError> {
        let mut out: BTreeMap<&str, Division> = BTreeMap::new();
        for region in Region::ALL {
            let events = self
                .regions
                .get(&region)
                .into_iter()
                .flat_map(|years| years.values())
                .flat_map(|y| y.days.iter())
                .map(|(date, h)| Event {
                    title: h.title.clone(),
                    date: date.format("%Y-%m-%d").to_string(),
                    notes: h.notes.clone(),
                    bunting: h.bunting,
                })
                .collect();
            out.insert(
                region.as_str(),
                Division {
                    division: Some(region.as_str().to_string()),
                    events,
                },
            );
        }
        Ok(serde_json::to_string_pretty(&out)?)
    }

    /// Sets the origin label shown in explanations for every data year, e.g. the file path the
    /// caller read (`/etc/foi-triage/bank-holidays.json`).
    pub fn named(mut self, origin: impl Into<String>) -> Calendar {
        let origin = origin.into();
        for years in self.regions.values_mut() {
            for y in years.values_mut() {
                y.origin.clone_from(&origin);
            }
        }
        self
    }

    /// Lays `newer` over `self`: for each division, every year `newer` covers replaces that year
    /// of `self` entirely (holidays and origin); other years are kept.
    ///
    /// Use it to load an operator's newer GOV.UK JSON over the built-in table, so a new
    /// proclamation is honoured without a release.
    pub fn with_overrides(mut self, newer: Calendar) -> Calendar {
        for (region, years) in newer.regions {
            self.regions.entry(region).or_default().extend(years);
        }
        self
    }

    /// The first and last year the data covers for `region` (`None` if no data at all). Years in
    /// between that the data does not cover (possible after [`Calendar::with_overrides`]) use the
    /// rules; ask [`Calendar::year_source`] for a definite answer.
    pub fn data_years(&self, region: Region) -> Option<RangeInclusive<i32>> {
        let years = self.regions.get(&region)?;
        let first = *years.keys().next()?;
        let last = *years.keys().next_back()?;
        Some(first..=last)
    }

    /// Whether the data or the rules give `region`'s bank holidays in `year`.
    pub fn year_source(&self, region: Region, year: i32) -> YearSource<'_> {
        match self.regions.get(&region).and_then(|ys| ys.get(&year)) {
            Some(y) => YearSource::Data { origin: &y.origin },
            None => YearSource::Rules,
        }
    }

    /// The title of the bank holiday taken on `date` in `region`, if any.
    pub fn is_bank_holiday(&self, region: Region, date: NaiveDate) -> Option<&str> {
        self.holiday(region, date).map(|h| h.title)
    }

    /// The bank holiday taken on `date` in `region`, with its notes and source.
    pub fn holiday(&self, region: Region, date: NaiveDate) -> Option<Holiday<'_>> {
        match self
            .regions
            .get(&region)
            .and_then(|ys| ys.get(&date.year()))
        {
            Some(y) => y.days.get(&date).map(|h| Holiday {
                date,
                title: &h.title,
                notes: &h.notes,
                source: YearSource::Data { origin: &y.origin },
            }),
            None => holidays::rule_holidays(region, date.year())
                .into_iter()
                .find(|h| h.date == date)
                .map(rule_holiday),
        }
    }

    /// Every bank holiday of `region` in `year`, sorted by date.
    pub fn holidays_in_year(&self, region: Region, year: i32) -> Vec<Holiday<'_>> {
        match self.regions.get(&region).and_then(|ys| ys.get(&year)) {
            Some(y) => y
                .days
                .iter()
                .map(|(date, h)| Holiday {
                    date: *date,
                    title: &h.title,
                    notes: &h.notes,
                    source: YearSource::Data { origin: &y.origin },
                })
                .collect(),
            None => holidays::rule_holidays(region, year)
                .into_iter()
                .map(rule_holiday)
                .collect(),
        }
    }
}

fn rule_holiday(h: RuleHoliday) -> Holiday<'static> {
    Holiday {
        date: h.date,
        title: h.title,
        notes: h.notes(),
        source: YearSource::Rules,
    }
}

impl YearData {
    fn new(origin: &str) -> YearData {
        YearData {
            origin: origin.to_string(),
            days: BTreeMap::new(),
        }
    }
}

fn parse_division(
    format: &'static str,
    region: Region,
    section: Division,
) -> Result<BTreeMap<NaiveDate, DataHoliday>, CalendarError> {
    if let Some(found) = section.division
        && found != region.as_str()
    {
        return Err(CalendarError::DivisionMismatch {
            format,
            region,
            found,
        });
    }
    let mut days = BTreeMap::new();
    for (i, ev) in section.events.into_iter().enumerate() {
        let index = i + 1;
        let date = NaiveDate::parse_from_str(ev.date.trim(), "%Y-%m-%d").map_err(|_| {
            CalendarError::BadDate {
                format,
                region,
                index,
                value: ev.date.clone(),
            }
        })?;
        let title = ev.title.trim().to_string();
        if title.is_empty() {
            return Err(CalendarError::EmptyTitle {
                format,
                region,
                index,
                date,
            });
        }
        let h = DataHoliday {
            title,
            notes: ev.notes.trim().to_string(),
            bunting: ev.bunting,
        };
        if days.insert(date, h).is_some() {
            return Err(CalendarError::Duplicate {
                format,
                region,
                date,
            });
        }
    }
    Ok(days)
}

// ---- working-day calendars ---------------------------------------------------------------------

/// The four working-day calendars of deadlines.md §6.4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkDays {
    /// FOIA s.10(6) (also EIR): not Sat, Sun, 25 Dec, Good Friday, nor a bank holiday in *any*
    /// part of the UK (union of the three divisions), whatever the authority's own region.
    Foia,
    /// FOISA s.73 (also EIR(S)): not Sat, Sun, 25 Dec, nor a bank holiday in Scotland.
    Foisa,
    /// SAR roll-forward (ICO "weekend or a public holiday"): not Sat, Sun, nor a bank holiday in
    /// the controller's own division (deadlines.md §9.5).
    Sar(Region),
    /// Local policy: not Sat, Sun, a bank holiday in the authority's own division, nor one of the
    /// organisation's configured closure days.
    Policy(Region),
}

impl WorkDays {
    /// The divisions whose bank holidays count.
    pub fn regions(self) -> Vec<Region> {
        match self {
            WorkDays::Foia => Region::ALL.to_vec(),
            WorkDays::Foisa => vec![Region::Scotland],
            WorkDays::Sar(r) | WorkDays::Policy(r) => vec![r],
        }
    }

    /// One sentence for explanations: which days are not working days, and the source.
    pub fn describe(self) -> String {
        match self {
            WorkDays::Foia => "FOIA/EIR working days (FOIA s.10(6)): not a Saturday, Sunday, Christmas Day, Good Friday, or a bank holiday in any part of the UK (england-and-wales, scotland or northern-ireland), whatever the authority's own region".to_string(),
            WorkDays::Foisa => "FOISA/EIR(S) working days (FOISA s.73): not a Saturday, Sunday, Christmas Day, or a bank holiday in Scotland".to_string(),
            WorkDays::Sar(r) => format!("SAR roll-forward days: not a Saturday, Sunday, or a bank holiday in {r} (the controller's own region)"),
            WorkDays::Policy(r) => format!("local-policy working days: not a Saturday, Sunday, a bank holiday in {r} (the authority's own region), or a configured closure day"),
        }
    }
}

/// A bank holiday in one division, owned, for [`DayOff`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionHoliday {
    /// The division.
    pub region: Region,
    /// GOV.UK title with notes, e.g. "St Andrew’s Day, substitute day".
    pub label: String,
}

/// Why a day is not a working day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DayOff {
    /// Saturday or Sunday.
    Weekend(Weekday),
    /// 25 December, named in FOIA s.10(6) and FOISA s.73 whatever day of the week it is.
    ChristmasDay,
    /// Good Friday, named in FOIA s.10(6) (a common-law holiday in England and Wales).
    GoodFriday,
    /// A bank holiday in one or more of the divisions that count.
    BankHoliday(Vec<RegionHoliday>),
    /// One of the organisation's closure days (local policy only; never for statutory regimes).
    Closure,
}

impl fmt::Display for DayOff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DayOff::Weekend(_) => f.write_str("weekend"),
            DayOff::ChristmasDay => {
                f.write_str("Christmas Day (named in the statutory definition of working day)")
            }
            DayOff::GoodFriday => f.write_str("Good Friday (named in FOIA s.10(6))"),
            DayOff::Closure => f.write_str("organisational closure day (local policy)"),
            DayOff::BankHoliday(hits) => {
                // Group regions by label: "Easter Monday (bank holiday in england-and-wales and
                // northern-ireland)".
                let mut groups: Vec<(&str, Vec<Region>)> = Vec::new();
                for h in hits {
                    match groups.iter_mut().find(|(l, _)| *l == h.label) {
                        Some((_, rs)) => rs.push(h.region),
                        None => groups.push((&h.label, vec![h.region])),
                    }
                }
                let parts: Vec<String> = groups
                    .into_iter()
                    .map(|(label, rs)| {
                        let names: Vec<&str> = rs.iter().map(|r| r.as_str()).collect();
                        format!("{label} (bank holiday in {})", join_and(&names))
                    })
                    .collect();
                f.write_str(&parts.join("; "))
            }
        }
    }
}

/// "a", "a and b", "a, b and c".
pub(crate) fn join_and(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Why a day was passed over while counting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Skip {
    /// Not a working day of the calendar.
    Off(DayOff),
    /// A working day inside a fee window (FOIA s.10(2), FOISA s.10(2), EIR reg 8).
    Disregarded,
}

/// The result of counting working days: working days 1..=n, and the days passed over.
#[derive(Debug, Clone)]
pub(crate) struct Counted {
    pub(crate) working: Vec<NaiveDate>,
    pub(crate) skipped: Vec<(NaiveDate, Skip)>,
}

/// Closure days used when none are configured.
static NO_CLOSURES: BTreeSet<NaiveDate> = BTreeSet::new();

/// One working-day calendar of deadlines.md §6.4 over a [`Calendar`].
#[derive(Debug, Clone, Copy)]
pub struct WorkingCalendar<'a> {
    cal: &'a Calendar,
    days: WorkDays,
    closures: &'a BTreeSet<NaiveDate>,
}

impl<'a> WorkingCalendar<'a> {
    /// A working-day calendar. `closures` are honoured only for [`WorkDays::Policy`]: LTT47 says
    /// office closure ("privilege") days are working days under FOIA, and the same holds for the
    /// other statutes.
    pub fn new(
        cal: &'a Calendar,
        days: WorkDays,
        closures: &'a BTreeSet<NaiveDate>,
    ) -> WorkingCalendar<'a> {
        WorkingCalendar {
            cal,
            days,
            closures,
        }
    }

    /// A working-day calendar with no closure days.
    pub fn without_closures(cal: &'a Calendar, days: WorkDays) -> WorkingCalendar<'a> {
        WorkingCalendar::new(cal, days, &NO_CLOSURES)
    }

    /// Which calendar this is.
    pub fn work_days(&self) -> WorkDays {
        self.days
    }

    /// The underlying bank-holiday calendar.
    pub fn calendar(&self) -> &'a Calendar {
        self.cal
    }

    /// `None` for a working day, otherwise why the day is not one.
    pub fn day_off(&self, date: NaiveDate) -> Option<DayOff> {
        let wd = date.weekday();
        if matches!(wd, Weekday::Sat | Weekday::Sun) {
            return Some(DayOff::Weekend(wd));
        }
        let statutory_christmas = matches!(self.days, WorkDays::Foia | WorkDays::Foisa);
        if statutory_christmas && date.month() == 12 && date.day() == 25 {
            return Some(DayOff::ChristmasDay);
        }
        if self.days == WorkDays::Foia && holidays::good_friday(date.year()) == Some(date) {
            return Some(DayOff::GoodFriday);
        }
        let hits: Vec<RegionHoliday> = self
            .days
            .regions()
            .into_iter()
            .filter_map(|region| {
                self.cal.holiday(region, date).map(|h| RegionHoliday {
                    region,
                    label: h.label(),
                })
            })
            .collect();
        if !hits.is_empty() {
            return Some(DayOff::BankHoliday(hits));
        }
        if matches!(self.days, WorkDays::Policy(_)) && self.closures.contains(&date) {
            return Some(DayOff::Closure);
        }
        None
    }

    /// Whether `date` is a working day of this calendar.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        self.day_off(date).is_none()
    }

    /// The `n`th working day after `day0` (day 0 itself is never counted; deadlines.md §1.3). For
    /// `n == 0`, `day0` if it is a working day, else the next working day.
    ///
    /// Other modules use this for acknowledgement and chaser dates (e.g. "acknowledge within 2
    /// working days").
    ///
    /// # Errors
    /// [`DeadlineError::TooManyWorkingDays`] if `n` exceeds [`MAX_WORKING_DAYS`];
    /// [`DeadlineError::OutOfRange`] if the count runs past the last date chrono can represent.
    pub fn add_working_days(&self, day0: NaiveDate, n: u32) -> Result<NaiveDate, DeadlineError> {
        if n == 0 {
            return self.on_or_after(day0);
        }
        let counted = self.count(day0, n, &[])?;
        counted
            .working
            .last()
            .copied()
            .ok_or(DeadlineError::OutOfRange { date: day0 })
    }

    /// The first working day on or after `date`.
    ///
    /// # Errors
    /// [`DeadlineError::OutOfRange`] at the end of chrono's date range.
    pub fn on_or_after(&self, date: NaiveDate) -> Result<NaiveDate, DeadlineError> {
        let mut d = date;
        while !self.is_working_day(d) {
            d = d.succ_opt().ok_or(DeadlineError::OutOfRange { date: d })?;
        }
        Ok(d)
    }

    /// Counts `n` working days after `day0`, also skipping working days inside any of the
    /// inclusive `disregard` windows (FOIA s.10(2) fee periods), and records every day skipped.
    pub(crate) fn count(
        &self,
        day0: NaiveDate,
        n: u32,
        disregard: &[(NaiveDate, NaiveDate)],
    ) -> Result<Counted, DeadlineError> {
        if n > MAX_WORKING_DAYS {
            return Err(DeadlineError::TooManyWorkingDays {
                days: n,
                max: MAX_WORKING_DAYS,
            });
        }
        let mut working = Vec::with_capacity(n as usize);
        let mut skipped = Vec::new();
        let mut d = day0;
        while working.len() < n as usize {
            d = d.succ_opt().ok_or(DeadlineError::OutOfRange { date: d })?;
            if let Some(off) = self.day_off(d) {
                skipped.push((d, Skip::Off(off)));
            } else if disregard.iter().any(|&(a, b)| a <= d && d <= b) {
                skipped.push((d, Skip::Disregarded));
            } else {
                working.push(d);
            }
        }
        Ok(Counted { working, skipped })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn region_names() {
        let cases = [
            ("england-and-wales", Region::EnglandAndWales),
            ("England_and_Wales", Region::EnglandAndWales),
            ("wales", Region::EnglandAndWales),
            (" Wales ", Region::EnglandAndWales),
            ("england", Region::EnglandAndWales),
            ("scotland", Region::Scotland),
            ("SCOTLAND", Region::Scotland),
            ("northern-ireland", Region::NorthernIreland),
            ("Northern Ireland", Region::NorthernIreland),
        ];
        for (s, r) in cases {
            assert_eq!(s.parse::<Region>(), Ok(r), "{s}");
        }
        for bad in ["", "uk", "ireland", "scot", "northern"] {
            assert!(bad.parse::<Region>().is_err(), "{bad}");
        }
        for r in Region::ALL {
            assert_eq!(r.to_string().parse::<Region>(), Ok(r));
            assert_eq!(
                serde_json::to_string(&r).unwrap(),
                format!("\"{}\"", r.as_str())
            );
            let back: Region = serde_json::from_str(&format!("\"{r}\"")).unwrap();
            assert_eq!(back, r);
        }
        let w: Region = serde_json::from_str("\"wales\"").unwrap();
        assert_eq!(w, Region::EnglandAndWales);
    }

    #[test]
    fn builtin_data_loads() {
        let cal = Calendar::from_toml(BUILTIN_TOML).unwrap();
        for r in Region::ALL {
            assert_eq!(cal.data_years(r), Some(2015..=2027), "{r}");
        }
        let b = Calendar::builtin();
        assert_eq!(
            b.year_source(Region::Scotland, 2026),
            YearSource::Data {
                origin: BUILTIN_ORIGIN
            }
        );
        assert_eq!(b.year_source(Region::Scotland, 2014), YearSource::Rules);
        assert_eq!(
            b.year_source(Region::NorthernIreland, 2028),
            YearSource::Rules
        );
        // Counts per division per the §6.5 table: E&W 8/yr (+ one-offs), Scotland 9, NI 10.
        assert_eq!(b.holidays_in_year(Region::EnglandAndWales, 2025).len(), 8);
        assert_eq!(b.holidays_in_year(Region::Scotland, 2025).len(), 9);
        assert_eq!(b.holidays_in_year(Region::NorthernIreland, 2025).len(), 10);
        assert_eq!(b.holidays_in_year(Region::Scotland, 2026).len(), 10);
        assert_eq!(b.holidays_in_year(Region::EnglandAndWales, 2022).len(), 10);
    }

    #[test]
    fn is_bank_holiday_lookups() {
        let b = Calendar::builtin();
        let cases = [
            (
                Region::Scotland,
                "2026-06-15",
                Some("World Cup bank holiday"),
            ),
            (Region::EnglandAndWales, "2026-06-15", None),
            (Region::Scotland, "2025-12-01", Some("St Andrew’s Day")),
            (
                Region::NorthernIreland,
                "2025-07-14",
                Some("Battle of the Boyne (Orangemen’s Day)"),
            ),
            (Region::EnglandAndWales, "2025-07-14", None),
            (Region::Scotland, "2026-01-02", Some("2nd January")),
            (Region::EnglandAndWales, "2026-01-02", None),
            (Region::Scotland, "2025-04-21", None), // Easter Monday: not Scottish
            (Region::EnglandAndWales, "2022-05-30", None), // moved to 2 Jun 2022
            (
                Region::EnglandAndWales,
                "2022-06-02",
                Some("Spring bank holiday"),
            ),
            // Outside the data: rules.
            (
                Region::NorthernIreland,
                "2014-03-17",
                Some("St Patrick’s Day"),
            ),
            (Region::EnglandAndWales, "2034-12-25", Some("Christmas Day")),
            (Region::Scotland, "2034-01-03", Some("2nd January")),
            (Region::EnglandAndWales, "2034-01-03", None),
        ];
        for (r, d, want) in cases {
            assert_eq!(b.is_bank_holiday(r, date(d)), want, "{r} {d}");
        }
        let h = b.holiday(Region::Scotland, date("2025-12-01")).unwrap();
        assert_eq!(h.label(), "St Andrew’s Day, substitute day");
        assert_eq!(
            b.holiday(Region::Scotland, date("2034-01-03"))
                .unwrap()
                .source,
            YearSource::Rules
        );
    }

    /// The strongest check of the generator: for every division and every year of the shipped
    /// table, the rules produce exactly the same dates, titles and notes.
    #[test]
    fn rules_reproduce_shipped_data_2015_2027() {
        let data = Calendar::builtin();
        // A calendar with no data: every year comes from the generative rules.
        let rules = Calendar {
            regions: BTreeMap::new(),
        };
        for r in Region::ALL {
            for y in 2015..=2027 {
                let d: Vec<(NaiveDate, &str, &str)> = data
                    .holidays_in_year(r, y)
                    .iter()
                    .map(|h| (h.date, h.title, h.notes))
                    .collect();
                let g: Vec<(NaiveDate, &str, &str)> = rules
                    .holidays_in_year(r, y)
                    .iter()
                    .map(|h| (h.date, h.title, h.notes))
                    .collect();
                assert_eq!(g, d, "{r} {y}");
                assert!(
                    data.holidays_in_year(r, y)
                        .iter()
                        .all(|h| matches!(h.source, YearSource::Data { .. }))
                );
            }
        }
    }

    #[test]
    fn data_beats_rules_even_when_it_lacks_a_day() {
        // A data year without St Andrew's Day: the data decides, no rule fills it in.
        let toml = r#"
[meta]
first_year = 2030
last_year = 2030
[england-and-wales]
events = [{ date = "2030-01-01", title = "New Year’s Day" }]
[scotland]
events = []
[northern-ireland]
division = "northern-ireland"
events = []
"#;
        let c = Calendar::from_toml(toml).unwrap();
        assert_eq!(
            c.is_bank_holiday(Region::Scotland, date("2030-12-02")),
            None
        );
        assert_eq!(
            c.is_bank_holiday(Region::EnglandAndWales, date("2030-12-25")),
            None
        );
        assert_eq!(
            c.year_source(Region::Scotland, 2030),
            YearSource::Data {
                origin: "TOML data"
            }
        );
        // 2031 is not covered: rules.
        assert_eq!(
            c.is_bank_holiday(Region::Scotland, date("2031-12-01")),
            Some("St Andrew’s Day")
        );
        let named = c.named("/etc/foi/bh.toml");
        assert_eq!(
            named.year_source(Region::EnglandAndWales, 2030),
            YearSource::Data {
                origin: "/etc/foi/bh.toml"
            }
        );
    }

    #[test]
    fn toml_errors_carry_context() {
        let base = |ew: &str, meta: &str| {
            format!(
                "[meta]\n{meta}\n[england-and-wales]\nevents = [{ew}]\n[scotland]\nevents = []\n[northern-ireland]\nevents = []\n"
            )
        };
        let ok_meta = "first_year = 2030\nlast_year = 2030";
        let cases: Vec<(String, &str)> = vec![
            (base(r#"{ date = "2030-13-01", title = "X" }"#, ok_meta), "england-and-wales event #1: date \"2030-13-01\""),
            (base(r#"{ date = "2030-01-01", title = " " }"#, ok_meta), "empty title"),
            (base(r#"{ date = "2030-01-01", title = "A" }, { date = "2030-01-01", title = "B" }"#, ok_meta), "lists 2030-01-01 twice"),
            (base(r#"{ date = "2031-01-01", title = "A" }"#, ok_meta), "outside the covered years 2030..=2030"),
            (base("", "first_year = 2031\nlast_year = 2030"), "first_year = 2031"),
            (base("", "first_year = 2030\nlast_year = 20300"), "last_year = 20300"),
            (base("", "first_year = 2030"), "last_year"),
            ("[meta]\nfirst_year = 2030\nlast_year = 2030\n[scotland]\nevents = []\n[northern-ireland]\nevents = []\n".to_string(), "division england-and-wales is missing"),
            (format!("{}[wales]\nevents = []\n", base("", ok_meta)), "wales"),
            ("[meta]\nfirst_year = 2030\nlast_year = 2030\n[england-and-wales]\ndivision = \"scotland\"\nevents = []\n[scotland]\nevents = []\n[northern-ireland]\nevents = []\n".to_string(), "section england-and-wales says division = \"scotland\""),
            ("not toml at all [".to_string(), "bank-holiday TOML"),
        ];
        for (text, want) in cases {
            let err = Calendar::from_toml(&text).unwrap_err().to_string();
            assert!(err.contains(want), "{err:?} should contain {want:?}");
        }
    }

    const SAMPLE_JSON: &str = r#"{
  "england-and-wales": {"division": "england-and-wales", "events": [
    {"title": "New Year’s Day", "date": "2028-01-03", "notes": "Substitute day", "bunting": true},
    {"title": "Good Friday", "date": "2028-04-14", "notes": "", "bunting": false},
    {"title": "Coronation rehearsal holiday", "date": "2029-06-08", "notes": "Extra bank holiday", "bunting": true}
  ]},
  "scotland": {"division": "scotland", "events": [
    {"title": "2nd January", "date": "2028-01-04", "notes": "Substitute day", "bunting": true}
  ]},
  "northern-ireland": {"division": "northern-ireland", "events": []}
}"#;

    #[test]
    fn govuk_json_round_trip() {
        let c = Calendar::from_govuk_json(SAMPLE_JSON).unwrap();
        assert_eq!(c.data_years(Region::EnglandAndWales), Some(2028..=2029));
        assert_eq!(c.data_years(Region::Scotland), Some(2028..=2028));
        assert_eq!(c.data_years(Region::NorthernIreland), None);
        assert_eq!(
            c.is_bank_holiday(Region::EnglandAndWales, date("2029-06-08")),
            Some("Coronation rehearsal holiday")
        );
        // 2029 is data for E&W, so its (unlisted) Christmas is not a bank holiday there.
        assert_eq!(
            c.is_bank_holiday(Region::EnglandAndWales, date("2029-12-25")),
            None
        );
        // NI has no events: rules for every year.
        assert_eq!(
            c.year_source(Region::NorthernIreland, 2028),
            YearSource::Rules
        );
        let h = c
            .holiday(Region::EnglandAndWales, date("2028-01-03"))
            .unwrap();
        assert_eq!(h.notes, "Substitute day");
        assert_eq!(
            h.source,
            YearSource::Data {
                origin: "GOV.UK JSON data"
            }
        );

        let text = c.to_govuk_json().unwrap();
        let back = Calendar::from_govuk_json(&text).unwrap();
        assert_eq!(back, c);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["england-and-wales"]["events"][1]["bunting"], false);
        assert_eq!(v["scotland"]["division"], "scotland");
        // The built-in table survives a JSON round trip as well (every year has events).
        let b = Calendar::builtin();
        let b2 = Calendar::from_govuk_json(&b.to_govuk_json().unwrap())
            .unwrap()
            .named(BUILTIN_ORIGIN);
        assert_eq!(b2, b);
    }

    #[test]
    fn json_errors_carry_context() {
        let cases = [
            (
                r#"{"england-and-wales": {"events": []}, "scotland": {"events": []}}"#,
                "division northern-ireland is missing",
            ),
            (r#"{"wales": {"events": []}}"#, "unknown division \"wales\""),
            (r#"{"mars": {"events": []}}"#, "unknown division \"mars\""),
            (
                r#"{"scotland": {"events": [{"title": "X", "date": "1/1/2028"}]}}"#,
                "scotland event #1: date \"1/1/2028\"",
            ),
            (
                r#"{"scotland": {"events": [{"title": "X", "date": "1800-01-01"}]}}"#,
                "outside the covered years",
            ),
            (
                r#"{"scotland": {"events": [{"date": "2028-01-01"}]}}"#,
                "title",
            ),
            ("[]", "GOV.UK format"),
        ];
        for (text, want) in cases {
            let err = Calendar::from_govuk_json(text).unwrap_err().to_string();
            assert!(err.contains(want), "{err:?} should contain {want:?}");
        }
    }

    #[test]
    fn overrides_replace_whole_years() {
        let newer = Calendar::from_govuk_json(SAMPLE_JSON)
            .unwrap()
            .named("ops.json");
        let merged = Calendar::builtin().with_overrides(newer);
        // 2015–2027 still built-in; 2028–2029 E&W and 2028 Scotland from the override.
        assert_eq!(
            merged.data_years(Region::EnglandAndWales),
            Some(2015..=2029)
        );
        assert_eq!(
            merged.year_source(Region::EnglandAndWales, 2029),
            YearSource::Data { origin: "ops.json" }
        );
        assert_eq!(
            merged.year_source(Region::EnglandAndWales, 2025),
            YearSource::Data {
                origin: BUILTIN_ORIGIN
            }
        );
        assert_eq!(
            merged.year_source(Region::NorthernIreland, 2028),
            YearSource::Rules
        );
        assert_eq!(
            merged.is_bank_holiday(Region::Scotland, date("2028-01-04")),
            Some("2nd January")
        );
        // Override of an existing year replaces it completely.
        let patch = Calendar::from_govuk_json(
            r#"{"england-and-wales": {"events": [{"title": "Only day", "date": "2025-03-03"}]},
                "scotland": {"events": []}, "northern-ireland": {"events": []}}"#,
        )
        .unwrap();
        let m2 = Calendar::builtin().with_overrides(patch);
        assert_eq!(m2.holidays_in_year(Region::EnglandAndWales, 2025).len(), 1);
        assert_eq!(m2.holidays_in_year(Region::Scotland, 2025).len(), 9);
    }

    #[test]
    fn working_calendars_differ_as_the_statutes_say() {
        let cal = Calendar::builtin();
        let closures: BTreeSet<NaiveDate> = [date("2025-12-29")].into_iter().collect();
        let foia = WorkingCalendar::new(&cal, WorkDays::Foia, &closures);
        let foisa = WorkingCalendar::new(&cal, WorkDays::Foisa, &closures);
        let sar_ew = WorkingCalendar::new(&cal, WorkDays::Sar(Region::EnglandAndWales), &closures);
        let pol_ew =
            WorkingCalendar::new(&cal, WorkDays::Policy(Region::EnglandAndWales), &closures);
        let pol_sc = WorkingCalendar::new(&cal, WorkDays::Policy(Region::Scotland), &closures);
        // (date, foia, foisa, sar_ew, policy_ew, policy_sc) working?
        let cases = [
            ("2025-12-01", false, false, true, true, false), // St Andrew's substitute
            ("2025-04-21", false, true, false, false, true), // Easter Monday
            ("2025-07-14", false, true, true, true, true),   // Boyne (NI)
            ("2025-03-17", false, true, true, true, true),   // St Patrick (NI)
            ("2025-08-04", false, false, true, true, false), // Scottish summer
            ("2025-08-25", false, true, false, false, true), // E&W/NI summer
            ("2026-01-02", false, false, true, true, false), // 2nd January
            ("2026-06-15", false, false, true, true, false), // World Cup (Scotland)
            ("2025-12-29", true, true, true, false, false),  // closure day: policy only
            ("2025-12-27", false, false, false, false, false), // Saturday
            ("2025-12-30", true, true, true, true, true),
        ];
        for (d, a, b, c, e, f) in cases {
            let d = date(d);
            assert_eq!(foia.is_working_day(d), a, "foia {d}");
            assert_eq!(foisa.is_working_day(d), b, "foisa {d}");
            assert_eq!(sar_ew.is_working_day(d), c, "sar {d}");
            assert_eq!(pol_ew.is_working_day(d), e, "policy ew {d}");
            assert_eq!(pol_sc.is_working_day(d), f, "policy sc {d}");
        }
        assert_eq!(foia.day_off(date("2025-12-25")), Some(DayOff::ChristmasDay));
        assert_eq!(foia.day_off(date("2025-04-18")), Some(DayOff::GoodFriday));
        assert_eq!(
            foisa.day_off(date("2025-04-18")).map(|d| d.to_string()),
            Some("Good Friday (bank holiday in scotland)".to_string())
        );
        assert_eq!(
            foia.day_off(date("2025-04-21")).map(|d| d.to_string()),
            Some(
                "Easter Monday (bank holiday in england-and-wales and northern-ireland)"
                    .to_string()
            )
        );
        assert_eq!(
            foia.day_off(date("2025-12-01")).map(|d| d.to_string()),
            Some("St Andrew’s Day, substitute day (bank holiday in scotland)".to_string())
        );
        assert_eq!(pol_ew.day_off(date("2025-12-29")), Some(DayOff::Closure));
        assert_eq!(
            foia.day_off(date("2025-12-28")),
            Some(DayOff::Weekend(Weekday::Sun))
        );
    }

    #[test]
    fn join_and_forms() {
        assert_eq!(join_and(&[]), "");
        assert_eq!(join_and(&["a"]), "a");
        assert_eq!(join_and(&["a", "b"]), "a and b");
        assert_eq!(join_and(&["a", "b", "c"]), "a, b and c");
    }
}
