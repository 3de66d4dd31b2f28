//! Details in a subject access request that the organisation can check against its own records,
//! so that the requester need not send an identity document (ICO, "Right of access": ask for ID
//! only when in reasonable doubt).
//!
//! Counted, each only with a value that has digits (a bare "I am a council tenant" is not a
//! reference):
//! - a date of birth ("date of birth: 12/03/1984", "DOB 12.03.84", "born on 12th March 1984")
//!   **with** an address (a UK postcode, an "address:" line, "I live at …", or a house number and
//!   a street);
//! - a labelled council tax, tenancy or rent, housing benefit, NHS or hospital, employee, staff,
//!   payroll or personnel, student or pupil, National Insurance, crime, police or incident
//!   reference;
//! - the sender's address on one of the organisation's own staff domains.
//!
//! Nothing here says the details are right: the officer checks them, and the note says what.

use std::sync::LazyLock;

use regex::Regex;

use super::text::quote;
use crate::model::message::Message;

/// A date written the UK way: 12/03/1984, 12.03.84, 12-3-1984, 12th March 1984, 12 Mar 1984,
/// March 12th 1984, or ISO 1984-03-12.
const DATE: &str = r"(?:\d{1,2}[/.\-]\d{1,2}[/.\-](?:19|20)?\d{2}\b|\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?,?\s+(?:19|20)\d{2}\b|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+(?:19|20)\d{2}\b|(?:19|20)\d{2}-\d{2}-\d{2}\b)";

/// "Date of birth", "DOB", "D.O.B.", "born (on)", then a date within a few characters; in Welsh
/// "dyddiad geni" with its mutations after "fy"/"ei" ("fy nyddiad geni yw …", "ei ddyddiad geni").
static DATE_OF_BIRTH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)(?:\bdate\s+of\s+birth|\bd\.?\s?o\.?\s?b\b\.?|\bborn(?:\s+on)?|\bbirth\s*date|\b(?:dd?|n)yddiad\s+geni|\bganwyd(?:\s+ar)?)[\s:\-–=]*(?:is\s+|was\s+|yw\s+|oedd\s+)?(?:the\s+)?{DATE}"
    ))
    .expect("built-in DATE_OF_BIRTH pattern compiles")
});

/// An address: a UK postcode, an "Address:" label with text, "I live at" / "my address is",
/// or a house number followed by a street.
static ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[ABD-HJLNP-UW-Z]{2}\b|(?m:^[ \t>*•\-]*(?:home\s+|postal\s+|current\s+)?address[ \t]*:[ \t]*\S)|\b(?:i\s+live\s+at|my\s+(?:home\s+|current\s+|postal\s+)?address\s+is)\b|\b\d{1,4}[a-z]?,?\s+(?:[A-Z][a-z'’\-]+\s+){1,3}(?:road|street|avenue|lane|close|drive|way|crescent|court|place|gardens|terrace|grove|rise|hill|walk|row|square|mews|park|view)\b",
    )
    .expect("built-in ADDRESS pattern compiles")
});

/// A labelled account or reference number: the label (group 1) and the value (group 2). The
/// value is a token with digits, then up to three more tokens that start with a digit
/// ("485 777 3456"), so the following words are not taken in; or a
/// National Insurance number ("QQ 12 34 56 C").
static REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(council\s*tax|tenancy|tenant|rent|housing\s+benefit|nhs|hospital|employee|staff|payroll|personnel|student|pupil|unique\s+pupil|national\s+insurance|ni|crime|police|incident)(?:\s+(?:account|reference|ref|claim|payroll|record))?\s*(?:number|no\b\.?|num\b|ref(?:erence)?\b\.?|id\b|account\b)[\s:#=\-–]*(?:is\s+|was\s+)?([A-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b|[A-Z]{0,3}[/\-]?\d[A-Z0-9/\-]*(?:\s\d[A-Z0-9/\-]*){0,3})",
    )
    .expect("built-in REFERENCE pattern compiles")
});

/// The same in Welsh, where the number comes first: "rhif fy nghyfrif treth gyngor yw 30041877"
/// (my council tax account number is), "fy rhif gweithiwr oedd 20417" (my employee number was),
/// "rhif GIG", "rhif Yswiriant Gwladol", "rhif myfyriwr", "cyfeirnod tenantiaeth". The label
/// (group 1) is mapped to the English one by [`welsh_label`]; mutated forms are matched as
/// written ("nghyfrif" after "fy").
static WELSH_REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:rhif|cyfeirnod)\s+(?:fy\s+|ei\s+|eich\s+)?(?:(?:nghyfrif|gyfrif|cyfrif)\s+)?(treth\s+gyngor|gweithiwr|cyflogres|staff|gig|yswiriant\s+gwladol|myfyriwr|disgybl|tenantiaeth|tenant|rhent|trosedd|digwyddiad|heddlu)\b[\s:#=\-–]*(?:yw\s+|oedd\s+|ydy\s+|:\s*)?([A-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b|[A-Z]{0,3}[/\-]?\d[A-Z0-9/\-]*(?:\s\d[A-Z0-9/\-]*){0,3})",
    )
    .expect("built-in WELSH_REFERENCE pattern compiles")
});

/// The English label [`reference_name`] knows for a Welsh one.
fn welsh_label(label: &str) -> &'static str {
    let l = label.to_lowercase();
    match l.split_whitespace().next().unwrap_or("") {
        "treth" => "council tax",
        "gweithiwr" | "cyflogres" | "staff" => "employee",
        "gig" => "nhs",
        "yswiriant" => "national insurance",
        "myfyriwr" | "disgybl" => "student",
        "tenantiaeth" | "tenant" | "rhent" => "tenancy",
        _ => "crime",
    }
}

/// Fewest digits in a reference value for it to identify anyone.
const MIN_REFERENCE_DIGITS: usize = 4;

/// Most details listed from one message: the officer needs a few to check, not every one.
const MAX_DETAILS: usize = 4;

/// One thing the officer can check against the organisation's records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Detail {
    /// A date of birth together with an address.
    BirthDateAndAddress,
    /// A labelled reference: what it is ("NHS number") and the value as written.
    Reference {
        /// The kind of reference, in words.
        what: String,
        /// The value as written (shortened).
        value: String,
        /// A warning about the value (an NHS number whose check digit fails).
        warning: Option<&'static str>,
    },
    /// The sender writes from one of the organisation's own domains.
    StaffAddress {
        /// The domain.
        domain: String,
    },
}

impl Detail {
    /// What to check, in words for the officer's note.
    pub(super) fn describe(&self) -> String {
        match self {
            Detail::BirthDateAndAddress => {
                "the date of birth and address given (e.g. against council tax or the service's \
                 own file)"
                    .to_string()
            }
            Detail::Reference {
                what,
                value,
                warning,
            } => {
                let warn = warning.map(|w| format!(", {w}")).unwrap_or_default();
                format!("the {what} '{value}'{warn}")
            }
            Detail::StaffAddress { domain } => {
                format!("the staff record for the sender's own-domain address (@{domain})")
            }
        }
    }
}

/// The details in `text` (and the sender's domain) that can be checked against our records.
pub(super) fn find(text: &str, msg: &Message, staff_domains: &[String]) -> Vec<Detail> {
    let mut out = Vec::new();
    if DATE_OF_BIRTH.is_match(text) && ADDRESS.is_match(text) {
        out.push(Detail::BirthDateAndAddress);
    }
    let english = REFERENCE
        .captures_iter(text)
        .filter_map(|c| Some((c.get(1)?.as_str(), c.get(2)?.as_str())));
    let welsh = WELSH_REFERENCE
        .captures_iter(text)
        .filter_map(|c| Some((welsh_label(c.get(1)?.as_str()), c.get(2)?.as_str())));
    for (label, value) in english.chain(welsh) {
        if out.len() >= MAX_DETAILS {
            break;
        }
        let value = value.trim_end_matches(['/', '-']);
        if value.chars().filter(char::is_ascii_digit).count() < MIN_REFERENCE_DIGITS {
            continue;
        }
        let what = reference_name(label);
        let warning = (what == "NHS number" && !nhs_number_checks(value))
            .then_some("whose check digit does not match: check it carefully");
        let detail = Detail::Reference {
            what: what.to_string(),
            value: quote(value, 30),
            warning,
        };
        if !out.contains(&detail) {
            out.push(detail);
        }
    }
    if let Some(domain) = staff_domain(msg, staff_domains) {
        out.push(Detail::StaffAddress { domain });
    }
    out
}

/// The kind of reference a label names, in words.
fn reference_name(label: &str) -> &'static str {
    let l = label.to_ascii_lowercase();
    let l = l.split_whitespace().collect::<Vec<_>>().join(" ");
    match l.as_str() {
        "council tax" | "counciltax" => "council tax account number",
        "tenancy" | "tenant" | "rent" => "tenancy or rent account reference",
        "housing benefit" => "housing benefit reference",
        "nhs" | "hospital" => "NHS number",
        "employee" | "staff" | "payroll" | "personnel" => "employee or payroll number",
        "student" | "pupil" | "unique pupil" => "student or pupil number",
        "national insurance" | "ni" => "National Insurance number",
        _ => "crime or incident reference",
    }
}

/// Whether a ten-digit NHS number passes its modulus 11 check (NHS Data Dictionary): the first
/// nine digits weighted 10 down to 2, and 11 minus the remainder (11 → 0, 10 → invalid) must be
/// the tenth digit. A value that is not ten digits does not pass.
fn nhs_number_checks(value: &str) -> bool {
    let digits: Vec<u32> = value.chars().filter_map(|c| c.to_digit(10)).collect();
    let [body @ .., check] = digits.as_slice() else {
        return false;
    };
    if digits.len() != 10 {
        return false;
    }
    let sum: u32 = body.iter().zip((2..=10).rev()).map(|(d, w)| d * w).sum();
    match 11 - sum % 11 {
        11 => *check == 0,
        10 => false,
        c => *check == c,
    }
}

/// The sender's domain when it is one of the organisation's own (or a subdomain of one).
fn staff_domain(msg: &Message, staff_domains: &[String]) -> Option<String> {
    let from = msg.from.as_ref()?;
    let domain = from.email.rsplit_once('@')?.1.trim().to_ascii_lowercase();
    staff_domains
        .iter()
        .any(|d| domain == *d || domain.ends_with(&format!(".{d}")))
        .then_some(domain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::message::Address;

    fn kinds(text: &str) -> Vec<String> {
        find(text, &Message::default(), &[])
            .iter()
            .map(|d| match d {
                Detail::BirthDateAndAddress => "dob+address".to_string(),
                Detail::Reference { what, value, .. } => format!("{what}={value}"),
                Detail::StaffAddress { domain } => format!("staff={domain}"),
            })
            .collect()
    }

    #[test]
    fn details_table() {
        let cases: &[(&str, &[&str])] = &[
            (
                "My date of birth is 12/03/1984 and I live at 14 Elm Road, Leeds LS6 2AB.",
                &["dob+address"],
            ),
            (
                "DOB: 12th March 1984\nAddress: Flat 2, 7 Mill Lane, Bristol",
                &["dob+address"],
            ),
            (
                "I was born on 3 Sept 1971. My address is 22 Castle Street.",
                &["dob+address"],
            ),
            ("D.O.B. 01.02.99, postcode CF10 1AA", &["dob+address"]),
            // Welsh, with the nasal mutation after "fy" ("my") and "yw" ("is").
            (
                "Fy nyddiad geni yw 14/03/1979 a fy nghyfeiriad yw 7 Heol y Bryn, Caerdydd CF14 2RT.",
                &["dob+address"],
            ),
            (
                "Date of birth: 1984-03-12. Post code: M1 1AE",
                &["dob+address"],
            ),
            // A date of birth alone, or an address alone, is not enough.
            ("My date of birth is 12/03/1984.", &[]),
            ("I live at 14 Elm Road, Leeds LS6 2AB.", &[]),
            (
                "My council tax account number is 60012345.",
                &["council tax account number=60012345"],
            ),
            (
                "Council Tax Ref: 4012 3456 78",
                &["council tax account number=4012 3456 78"],
            ),
            (
                "Tenancy reference TEN/004512 for 3 Oak Court",
                &["tenancy or rent account reference=TEN/004512"],
            ),
            (
                "my rent account no. 55012-3",
                &["tenancy or rent account reference=55012-3"],
            ),
            ("NHS number 485 777 3456", &["NHS number=485 777 3456"]),
            ("NHS No: 9434765919.", &["NHS number=9434765919"]),
            (
                "My employee number is E10293 and I worked in Highways.",
                &["employee or payroll number=E10293"],
            ),
            (
                "Payroll no 00451287",
                &["employee or payroll number=00451287"],
            ),
            (
                "student ID: S1234567",
                &["student or pupil number=S1234567"],
            ),
            (
                "crime reference number 43/12345/24",
                &["crime or incident reference=43/12345/24"],
            ),
            (
                "the police incident number is 0412 of 12/03/2025",
                &["crime or incident reference=0412"],
            ),
            (
                "National Insurance number: QQ 12 34 56 C",
                &["National Insurance number=QQ 12 34 56 C"],
            ),
            ("council tax account for 2019", &[]),
            // Labels without a number, or with too few digits, are not references.
            ("I am a council tenant and an NHS patient.", &[]),
            ("my tenancy ref is 12", &[]),
            (
                "Rhif fy nghyfrif treth gyngor yw 30041877, a fy nghyfeiriad yw 12 Stryd y Capel",
                &["council tax account number=30041877"],
            ),
            (
                "Roeddwn yn gweithio yn yr adran priffyrdd. Fy rhif gweithiwr oedd 20417.",
                &["employee or payroll number=20417"],
            ),
            ("Rhif GIG: 943 476 5919", &["NHS number=943 476 5919"]),
            ("Dyddiad geni: 04/07/1979, LL77 8QT", &["dob+address"]),
            ("Fy rhif gweithiwr oedd 12.", &[]),
            ("Please send my payroll records for 2019 to 2021.", &[]),
        ];
        for (text, want) in cases {
            assert_eq!(kinds(text), *want, "{text:?}");
        }
    }

    #[test]
    fn nhs_check_digit() {
        assert!(nhs_number_checks("943 476 5919"));
        assert!(!nhs_number_checks("943 476 5918"));
        assert!(
            !nhs_number_checks("485 777 3456"),
            "modulus 11 gives 7, not 6"
        );
        assert!(!nhs_number_checks("12345"));
        let d = find("NHS number 485 777 3456", &Message::default(), &[]);
        assert!(d[0].describe().contains("check digit"), "{d:?}");
        let d = find("NHS number 943 476 5919", &Message::default(), &[]);
        assert!(!d[0].describe().contains("check digit"), "{d:?}");
    }

    #[test]
    fn staff_domains_and_subdomains() {
        let msg = |email: &str| Message {
            from: Some(Address {
                name: None,
                email: email.into(),
            }),
            ..Message::default()
        };
        let own = ["council.example.gov.uk".to_string()];
        for (email, want) in [
            ("t.adeyemi@council.example.gov.uk", true),
            ("t.adeyemi@Schools.Council.Example.gov.uk", true),
            ("t.adeyemi@evilcouncil.example.gov.uk", false),
            ("t.adeyemi@example.org", false),
        ] {
            let found = find("", &msg(email), &own);
            assert_eq!(!found.is_empty(), want, "{email}");
        }
    }
}
