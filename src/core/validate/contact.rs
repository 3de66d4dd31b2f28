//! The address for correspondence (FOIA s.8(1)(b)): somewhere we can send the answer.
//!
//! The ICO accepts either an email or a postal address. We take, in order: the `Reply-To` and `From`
//! addresses when they can receive mail, an email address labelled as such in the text (web forms
//! often send from a no-reply address and put the requester's address in the body), then a UK
//! postcode or an "Address:" field in the text.
//!
//! This module does not check that an address exists or is the requester's; it only rejects the
//! addresses that certainly cannot take a reply (no-reply and mail-system addresses, malformed ones).

use std::sync::LazyLock;

use regex::Regex;

use super::text::{Texts, quote};
use crate::model::message::{Address, Message};

/// Local-part prefixes of addresses that do not take replies, compared after lower-casing and
/// removing `.`, `-` and `_` (so `no-reply`, `no_reply`, `do.not.reply+x` all match). Mail sent to
/// them is dropped or bounced, so they are no address for correspondence.
pub(super) const NO_REPLY_PREFIXES: &[&str] = &[
    "noreply",
    "donotreply",
    "dontreply",
    "mailerdaemon",
    "postmaster",
    "bounce",
    "bounces",
    "notreply",
];

/// An email address labelled in the text: "Email: jane@example.org", "Contact email - …",
/// "my email address is …".
static LABELLED_EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:\be-?mail(?:[ \t]+address)?|\bcontact(?:[ \t]+e-?mail)?|\breply[ \t]+to|\bmy[ \t]+e-?mail(?:[ \t]+address)?[ \t]+is)[ \t]*[:=\-]?[ \t]*<?(?:mailto:)?([^\s<>@,;:()\[\]]{1,64}@[^\s<>@,;:()\[\]]{1,253})",
    )
    .expect("built-in LABELLED_EMAIL pattern compiles")
});

/// A UK postcode (the format of the Royal Mail Postcode Address File, including GIR 0AA).
static UK_POSTCODE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:GIR[ \t]?0AA|[A-PR-UWYZ](?:[0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPSTUW]|[A-HK-Y][0-9][ABEHMNPRV-Y])[ \t]?[0-9][ABD-HJLNP-UW-Z]{2})\b",
    )
    .expect("built-in UK_POSTCODE pattern compiles")
});

/// A postal address field in a form: "Address: 12 Elm Road, Leeds".
static ADDRESS_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?im)^[ \t>*•\-]*(?:postal[ \t]+|home[ \t]+|correspondence[ \t]+)?address[ \t]*[:=][ \t]*([^\n]{5,200})$",
    )
    .expect("built-in ADDRESS_FIELD pattern compiles")
});

/// Whether `email` is a syntactically usable address: `local@domain.tld`, no spaces.
fn well_formed(email: &str) -> bool {
    let e = email.trim();
    if e.is_empty() || e.chars().any(char::is_whitespace) {
        return false;
    }
    let Some((local, domain)) = e.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
}

/// Whether the local part of `email` marks an address that does not take replies.
pub(super) fn is_no_reply(email: &str) -> bool {
    let local = email.rsplit_once('@').map(|(l, _)| l).unwrap_or(email);
    let squashed: String = local
        .chars()
        .filter(|c| !matches!(c, '.' | '-' | '_'))
        .flat_map(char::to_lowercase)
        .collect();
    NO_REPLY_PREFIXES.iter().any(|p| squashed.starts_with(p))
}

/// What [`find`] concluded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct ContactFinding {
    /// Whether there is an address for correspondence.
    pub found: bool,
    /// Notes for the audit trail.
    pub notes: Vec<String>,
}

/// Look for an address for correspondence in `msg`.
pub(super) fn find(msg: &Message, texts: &Texts) -> ContactFinding {
    let mut out = ContactFinding::default();
    let headers: [(&str, Option<&Address>); 2] = [
        ("Reply-To", msg.reply_to.as_ref()),
        ("From", msg.from.as_ref()),
    ];
    for (label, addr) in headers {
        let Some(email) = addr.map(|a| a.email.trim()).filter(|e| !e.is_empty()) else {
            continue;
        };
        if !well_formed(email) {
            out.notes.push(format!(
                "contact address: {label} address '{}' is not a usable email address",
                quote(email, 80)
            ));
        } else if is_no_reply(email) {
            out.notes.push(format!(
                "contact address: {label} address {} does not take replies",
                quote(email, 80)
            ));
        } else {
            out.notes
                .push(format!("contact address: {} ({label})", quote(email, 80)));
            out.found = true;
            return out;
        }
    }
    for part in &texts.parts {
        for c in LABELLED_EMAIL.captures_iter(&part.text).take(5) {
            let Some(email) = c.get(1).map(|m| m.as_str().trim_end_matches(['.', '>'])) else {
                continue;
            };
            if well_formed(email) && !is_no_reply(email) {
                out.notes.push(format!(
                    "contact address: {} (given in {})",
                    quote(email, 80),
                    part.label
                ));
                out.found = true;
                return out;
            }
        }
    }
    for part in &texts.parts {
        if let Some(m) = UK_POSTCODE.find(&part.text) {
            out.notes.push(format!(
                "contact address: postal address with postcode {} (in {})",
                m.as_str().to_uppercase(),
                part.label
            ));
            out.found = true;
            return out;
        }
        if let Some(m) = ADDRESS_FIELD.captures(&part.text).and_then(|c| c.get(1)) {
            let value = m.as_str().trim();
            if value.chars().any(|c| c.is_ascii_digit()) || value.split_whitespace().count() >= 3 {
                out.notes.push(format!(
                    "contact address: postal address field (in {})",
                    part.label
                ));
                out.found = true;
                return out;
            }
        }
    }
    out.notes.push(
        "contact address: none found (no reply-capable email, no postal address)".to_string(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_reply_table() {
        let cases: &[(&str, bool)] = &[
            ("noreply@example.org", true),
            ("no-reply@example.org", true),
            ("No_Reply+abc@example.org", true),
            ("do-not-reply@example.org", true),
            ("donotreply@example.org", true),
            ("MAILER-DAEMON@example.org", true),
            ("postmaster@example.org", true),
            ("bounces+123@example.org", true),
            ("jane@example.org", false),
            ("noreen@example.org", false),
            ("reply@example.org", false),
        ];
        for (email, want) in cases {
            assert_eq!(is_no_reply(email), *want, "{email}");
        }
    }

    #[test]
    fn well_formed_table() {
        let cases: &[(&str, bool)] = &[
            ("jane@example.org", true),
            ("jane@localhost", false),
            ("@example.org", false),
            ("jane example@example.org", false),
            ("jane@.org", false),
            ("", false),
            ("not an address", false),
        ];
        for (email, want) in cases {
            assert_eq!(well_formed(email), *want, "{email:?}");
        }
    }

    #[test]
    fn postcodes() {
        let cases: &[(&str, bool)] = &[
            ("Leeds LS1 4AB", true),
            ("London SW1A 1AA", true),
            ("m1 1ae", true),
            ("EC1A1BB", true),
            ("GIR 0AA", true),
            ("in 2024 we", false),
            ("the A1 road", false),
        ];
        for (text, want) in cases {
            assert_eq!(UK_POSTCODE.is_match(text), *want, "{text:?}");
        }
    }
}
