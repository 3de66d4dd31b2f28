//! Welsh for the letters: dates in words, and the labels of kinds and laws that the Welsh
//! templates (`templates/<name>/cy/`) get in their `received`, `due`, `kind_label` and
//! `regime_label` variables.
//!
//! Also the template filter `date_cy`, registered for every template: `{{ due_iso|date_cy }}`
//! gives "dydd Llun 21 Rhagfyr 2026", and `{{ received_iso|date_cy("on") }}` the soft-mutated
//! form Welsh uses for "on Monday …" as an adverb of time ("a gawsom ddydd Llun 23 Tachwedd
//! 2026"). An empty date gives empty text, like `due` when no clock runs.
//!
//! The wording follows the Welsh titles of the legislation as legislation.gov.uk and the ICO
//! give them ("Deddf Rhyddid Gwybodaeth 2000", "Rheoliadau Gwybodaeth Amgylcheddol 2004",
//! "Rheoliad Cyffredinol Diogelu Data y DU"); a Welsh speaker on staff should still read the
//! shipped templates once before they go live.

use chrono::{Datelike, NaiveDate, Weekday};
use minijinja::{Error, ErrorKind, Value};

use crate::core::deadline::{Regime, ReviewOf};
use crate::model::kind::Kind;

/// Month names, January first.
const MONTHS: [&str; 12] = [
    "Ionawr",
    "Chwefror",
    "Mawrth",
    "Ebrill",
    "Mai",
    "Mehefin",
    "Gorffennaf",
    "Awst",
    "Medi",
    "Hydref",
    "Tachwedd",
    "Rhagfyr",
];

/// The name of a day of the week, with "dydd" ("dydd Llun").
fn weekday(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "dydd Llun",
        Weekday::Tue => "dydd Mawrth",
        Weekday::Wed => "dydd Mercher",
        Weekday::Thu => "dydd Iau",
        Weekday::Fri => "dydd Gwener",
        Weekday::Sat => "dydd Sadwrn",
        Weekday::Sun => "dydd Sul",
    }
}

/// A date in Welsh words, as a Welsh letter writes it: "dydd Gwener 22 Ionawr 2027" (lower-case
/// "dydd" mid-sentence, no comma, as the Welsh Government style guide does).
pub fn date_in_words(date: NaiveDate) -> String {
    let month = MONTHS
        .get(date.month0() as usize)
        .copied()
        .unwrap_or_default();
    format!(
        "{} {} {month} {}",
        weekday(date.weekday()),
        date.day(),
        date.year()
    )
}

/// The same date as an adverb of time, "on …": soft mutation of "dydd" to "ddydd" ("Daeth eich
/// cais i law ddydd Llun 23 Tachwedd 2026").
pub fn date_in_words_on(date: NaiveDate) -> String {
    format!("d{}", date_in_words(date))
}

/// The template filter `date_cy`: an ISO date (`2026-12-21`, as `due_iso`) in Welsh words;
/// `form` `"on"` gives the adverbial form. Empty or none gives empty text.
///
/// # Errors
/// A value that is not a date, or an unknown form: a template mistake, reported with its file
/// and line by the load-time check.
pub fn date_filter(value: &Value, form: Option<&str>) -> Result<String, Error> {
    if value.is_none() || value.is_undefined() {
        return Ok(String::new());
    }
    let text = value.to_string();
    if text.is_empty() {
        return Ok(String::new());
    }
    let date = NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|_| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("date_cy needs a date like 2026-12-21 (a *_iso variable), not {text:?}"),
        )
    })?;
    match form {
        None => Ok(date_in_words(date)),
        Some("on") => Ok(date_in_words_on(date)),
        Some(other) => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("date_cy knows the form \"on\" only, not {other:?}"),
        )),
    }
}

/// `kind_label` in Welsh: what they sent, after "eich" ("Diolch am eich cais Rhyddid
/// Gwybodaeth"), which mutates none of these.
pub fn kind_label(kind: Kind) -> &'static str {
    match kind {
        Kind::Foi => "cais Rhyddid Gwybodaeth",
        Kind::Eir => "cais am wybodaeth amgylcheddol",
        Kind::Sar => "cais gwrthrych am wybodaeth",
        Kind::Media => "ymholiad gan y cyfryngau",
        Kind::MemberEnquiry => "ymholiad gan aelod etholedig",
        Kind::Complaint => "cwyn",
        Kind::General => "ymholiad",
        Kind::Auto => "neges",
    }
}

/// `regime_label` in Welsh: the law, in its radical (unmutated) form, so a template writes it
/// where no mutation falls ("Y gyfraith sy'n berthnasol: Deddf Rhyddid Gwybodaeth 2000").
pub fn regime_label(regime: Option<Regime>) -> &'static str {
    match regime {
        Some(Regime::Foia) => "Deddf Rhyddid Gwybodaeth 2000",
        Some(Regime::Eir) => "Rheoliadau Gwybodaeth Amgylcheddol 2004",
        Some(Regime::Foisa) => "Deddf Rhyddid Gwybodaeth (Yr Alban) 2002",
        Some(Regime::EirScotland) => "Rheoliadau Gwybodaeth Amgylcheddol (Yr Alban) 2004",
        Some(Regime::Sar) => {
            "cyfraith diogelu data (Erthygl 15 o Reoliad Cyffredinol Diogelu Data y DU)"
        }
        Some(Regime::Review { of, .. }) => match of {
            ReviewOf::Foia => "Deddf Rhyddid Gwybodaeth 2000 a'i Chod Ymarfer (adolygiad mewnol)",
            ReviewOf::Eir => "rheoliad 11 o Reoliadau Gwybodaeth Amgylcheddol 2004",
            ReviewOf::Foisa => "adran 20 o Ddeddf Rhyddid Gwybodaeth (Yr Alban) 2002",
            ReviewOf::EirScotland => {
                "rheoliad 16 o Reoliadau Gwybodaeth Amgylcheddol (Yr Alban) 2004"
            }
            ReviewOf::Sar => {
                "ein gweithdrefn gwynion ein hunain ar gyfer ceisiadau gwrthrych am wybodaeth"
            }
        },
        Some(Regime::Policy { .. }) | None => "ein safonau gwasanaeth ein hunain",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    #[test]
    fn every_month_and_day_in_welsh() {
        let table = [
            (ymd(2027, 1, 4), "dydd Llun 4 Ionawr 2027"),
            (ymd(2027, 2, 2), "dydd Mawrth 2 Chwefror 2027"),
            (ymd(2027, 3, 3), "dydd Mercher 3 Mawrth 2027"),
            (ymd(2027, 4, 1), "dydd Iau 1 Ebrill 2027"),
            (ymd(2027, 5, 7), "dydd Gwener 7 Mai 2027"),
            (ymd(2027, 6, 5), "dydd Sadwrn 5 Mehefin 2027"),
            (ymd(2027, 7, 4), "dydd Sul 4 Gorffennaf 2027"),
            (ymd(2027, 8, 2), "dydd Llun 2 Awst 2027"),
            (ymd(2027, 9, 7), "dydd Mawrth 7 Medi 2027"),
            (ymd(2027, 10, 6), "dydd Mercher 6 Hydref 2027"),
            (ymd(2027, 11, 4), "dydd Iau 4 Tachwedd 2027"),
            (ymd(2026, 12, 21), "dydd Llun 21 Rhagfyr 2026"),
        ];
        for (date, want) in table {
            assert_eq!(date_in_words(date), want, "{date}");
        }
        assert_eq!(
            date_in_words_on(ymd(2026, 11, 23)),
            "ddydd Llun 23 Tachwedd 2026"
        );
    }

    #[test]
    fn the_filter_reads_iso_dates_and_says_what_is_wrong() {
        let d = Value::from("2026-12-21");
        assert_eq!(
            date_filter(&d, None).expect("date"),
            "dydd Llun 21 Rhagfyr 2026"
        );
        assert_eq!(
            date_filter(&d, Some("on")).expect("date"),
            "ddydd Llun 21 Rhagfyr 2026"
        );
        for empty in [Value::from(()), Value::UNDEFINED, Value::from("")] {
            assert_eq!(date_filter(&empty, None).expect("empty"), "");
        }
        let words = date_filter(&Value::from("Monday 21 December 2026"), None)
            .expect_err("words are not a date");
        assert!(words.to_string().contains("*_iso variable"), "{words}");
        let form = date_filter(&d, Some("by")).expect_err("unknown form");
        assert!(form.to_string().contains("\"on\" only"), "{form}");
    }
}
