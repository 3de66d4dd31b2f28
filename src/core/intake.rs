//! Mail that arrives through someone else, and mail from inside the organisation that is not a
//! request at all. Pure: the message in, the message as the requester wrote it out.
//!
//! - **The organisation's own web form** ([`IntakeSettings::forms_addresses`]): sent from a
//!   no-reply or forms address, so its `From` is not the requester. The requester is in
//!   `Reply-To`, or in the form's labelled fields ("Full name:", "Email address:"); the message
//!   is given that requester as its `Reply-To`, so the acknowledgement goes to them and the name
//!   check reads their name. A form with no requester address keeps the forms address, which the
//!   caller treats as one of ours: nothing is sent to it.
//! - **A request forwarded by a member of staff** (a staff domain sender, a `Fwd:`/`FW:` subject
//!   or a "Forwarded message" marker, and a quoted `From:` header block naming someone outside the
//!   organisation): the original sender's request, with the original subject and text. The time
//!   of receipt stays the forward's (the mailbox received it then; deadlines.md §0).
//! - **Internal housekeeping** ([`housekeeping`]): Outlook recalls and meeting answers from a
//!   staff domain are never requests.
//!
//! Anyone can write a staff address in `From`; a forged forward can only make us acknowledge the
//! address written in its body, as a forged `Reply-To` already could, and the audit records the
//! relay and whether the gateway vouched for it.
//!
//! [`IntakeSettings::forms_addresses`]: crate::config::IntakeSettings::forms_addresses

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::model::message::{Address, Message};

/// How a message reached us through someone else; kept in the audit of the case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "via", rename_all = "snake_case")]
pub enum Relay {
    /// The organisation's web form.
    WebForm {
        /// The forms address it came from.
        forms_address: String,
        /// Where the requester was found: `reply_to`, `form_fields`, or `none`.
        requester_from: &'static str,
    },
    /// Forwarded by a member of staff.
    Forwarded {
        /// The colleague who forwarded it.
        by: String,
    },
}

impl Relay {
    /// One sentence for the audit trail.
    pub fn describe(&self) -> String {
        match self {
            Relay::WebForm {
                forms_address,
                requester_from: "none",
            } => format!(
                "sent by our web form ({forms_address}) with no requester address in Reply-To or \
                 the form fields: nothing can be sent to the requester"
            ),
            Relay::WebForm {
                forms_address,
                requester_from,
            } => format!(
                "sent by our web form ({forms_address}); the requester was taken from {}",
                if *requester_from == "reply_to" {
                    "Reply-To"
                } else {
                    "the form's labelled fields"
                }
            ),
            Relay::Forwarded { by } => format!(
                "forwarded by a colleague ({by}): treated as the original sender's request, \
                 received when the forward arrived"
            ),
        }
    }
}

/// Most bytes of a body searched for form fields or a forwarded header block: forms and forward
/// headers sit at the top, and the bound keeps hostile bodies cheap.
const MAX_SCAN_BYTES: usize = 64 * 1024;

/// "Email address: jane@example.org", "E-mail: …", "Your email: …" on a line of its own.
static FORM_EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?im)^[ \t*•>\-]*(?:your[ \t]+|contact[ \t]+|applicant'?s?[ \t]+|requester'?s?[ \t]+)?e-?mail(?:[ \t]+address)?[ \t]*[:=][ \t]*<?([^\s<>@]+@[^\s<>@]+\.[^\s<>]+?)>?[ \t.,;]*$",
    )
    .expect("built-in FORM_EMAIL pattern compiles")
});

/// "Full name: Jane Smith", "Name: …", "Your name: …", "Applicant's name: …".
static FORM_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?im)^[ \t*•>\-]*(?:full[ \t]+|your[ \t]+|applicant'?s?[ \t]+|requester'?s?[ \t]+|contact[ \t]+)?name[ \t]*[:=][ \t]*([^\n]{1,100}?)[ \t]*$",
    )
    .expect("built-in FORM_NAME pattern compiles")
});

/// A forwarding marker in the body (Gmail, Apple Mail, Outlook on the web, Thunderbird).
static FORWARD_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?im)^[ \t>]*(?:-{2,}[ \t]*forwarded message[ \t]*-{2,}|begin forwarded message:|-{2,}[ \t]*original message[ \t]*-{2,}|-{2,}[ \t]*weitergeleitete nachricht[ \t]*-{2,})",
    )
    .expect("built-in FORWARD_MARKER pattern compiles")
});

/// A forward subject prefix: "Fwd:", "FW:", "Fw:".
static FORWARD_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:(?:re|aw)\s*:\s*)*fwd?\s*:").expect("built-in FORWARD_SUBJECT compiles")
});

/// A `From:` line of a quoted header block, optionally bold (`*From:*`, Outlook on the web).
static QUOTED_FROM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?im)^[ \t>]*\*?from:\*?[ \t]+([^\n]+)$").expect("built-in QUOTED_FROM compiles")
});

/// The other lines of a quoted header block.
static QUOTED_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^[ \t>]*\*?(sent|date|to|cc|subject|importance):\*?[ \t]*(.*)$")
        .expect("built-in QUOTED_HEADER compiles")
});

/// An address in a quoted `From:` value: `<jane@example.org>`, `[mailto:jane@example.org]` or
/// bare.
static QUOTED_ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:<|\[mailto:)?([^\s<>\[\]@]+@[^\s<>\[\]@]+\.[a-z0-9\-]+)(?:>|\])?")
        .expect("built-in QUOTED_ADDRESS compiles")
});

/// Subjects of Outlook and calendar housekeeping: recalls, meeting answers and invitations,
/// read receipts.
static HOUSEKEEPING_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*(recall|accepted|declined|tentative|tentatively accepted|new time proposed|canceled|cancelled|updated invitation|invitation|read|not read)\s*:",
    )
    .expect("built-in HOUSEKEEPING_SUBJECT compiles")
});

/// The body of an Outlook recall: "… would like to recall the message, …".
static RECALL_BODY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bwould like to recall the message\b").expect("built-in RECALL_BODY compiles")
});

/// Whether `email` is on one of `domains` (or a subdomain of one).
pub fn on_domains(email: &str, domains: &[String]) -> bool {
    let Some((_, d)) = email.trim().rsplit_once('@') else {
        return false;
    };
    let d = d.to_ascii_lowercase();
    domains
        .iter()
        .any(|own| d == *own || d.ends_with(&format!(".{own}")))
}

/// Why `msg` is internal housekeeping that must never become a case or get a letter (an Outlook
/// recall, a meeting answer or invitation, a read receipt from a colleague), or `None`.
pub fn housekeeping(msg: &Message, staff_domains: &[String]) -> Option<&'static str> {
    let from = msg.from.as_ref()?;
    if !on_domains(&from.email, staff_domains) {
        return None;
    }
    let body = crate::core::text::prefix(&msg.body_text, MAX_SCAN_BYTES);
    if RECALL_BODY.is_match(body) {
        return Some("an Outlook message recall from a colleague");
    }
    let calendar = msg
        .attachments
        .iter()
        .any(|a| a.mime_type.eq_ignore_ascii_case("text/calendar"));
    let word = HOUSEKEEPING_SUBJECT
        .captures(&msg.subject)?
        .get(1)?
        .as_str()
        .to_ascii_lowercase();
    Some(match word.as_str() {
        "recall" => "an Outlook message recall from a colleague",
        "read" | "not read" => "a read receipt from a colleague",
        _ if calendar || !word.contains("invitation") => {
            "a meeting answer or invitation from a colleague"
        }
        _ => return None,
    })
}

/// The message as its requester wrote it, and how it was relayed (`None`: it came directly).
pub fn unwrap(
    mut msg: Message,
    forms_addresses: &[String],
    staff_domains: &[String],
) -> (Message, Option<Relay>) {
    let Some(from) = msg
        .from
        .as_ref()
        .map(|a| a.email.trim().to_ascii_lowercase())
    else {
        return (msg, None);
    };
    if forms_addresses.contains(&from) {
        let relay = web_form(&mut msg, from, forms_addresses);
        return (msg, Some(relay));
    }
    if on_domains(&from, staff_domains)
        && let Some(original) = forwarded(&msg, staff_domains)
    {
        msg.from = Some(original.from);
        msg.reply_to = None;
        if let Some(s) = original.subject {
            msg.subject = s;
        }
        msg.body_text = original.body;
        return (msg, Some(Relay::Forwarded { by: from }));
    }
    (msg, None)
}

/// Gives a web-form message its requester as `From` and `Reply-To`.
///
/// The form system's own address and display name ("Council website <no-reply@…>") are not the
/// requester's: left as `From`, they would be taken for the requester's name (an organisation,
/// so a nameless FOI request looked valid), for a member of staff (our own domain), and for mail
/// our gateway authenticated, when anyone on the internet can fill in the form.
fn web_form(msg: &mut Message, forms_address: String, forms: &[String]) -> Relay {
    let body = crate::core::text::prefix(&msg.body_text, MAX_SCAN_BYTES);
    let field_name = FORM_NAME
        .captures(body)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().trim().to_string())
        .filter(|n| !n.is_empty());
    let reply_to = msg
        .reply_to
        .clone()
        .filter(|a| !a.email.is_empty() && !forms.contains(&a.email.trim().to_ascii_lowercase()));
    let (requester, requester_from) = match reply_to {
        Some(a) => (Some(a), "reply_to"),
        None => match FORM_EMAIL.captures(body).and_then(|c| c.get(1)) {
            Some(m) => (
                Some(Address {
                    name: None,
                    email: m.as_str().to_string(),
                }),
                "form_fields",
            ),
            None => (None, "none"),
        },
    };
    msg.reply_to = requester.map(|mut a| {
        if a.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
            a.name.clone_from(&field_name);
        }
        a
    });
    match &msg.reply_to {
        Some(requester) => msg.from = Some(requester.clone()),
        None => {
            if let Some(from) = &mut msg.from {
                from.name = None;
            }
        }
    }
    Relay::WebForm {
        forms_address,
        requester_from,
    }
}

/// The original message inside a forward.
struct Original {
    from: Address,
    subject: Option<String>,
    body: String,
}

/// Most quoted header blocks looked at in one forward (nested forwards): the first outside
/// sender is the requester.
const MAX_BLOCKS: usize = 5;

/// Most lines of one quoted header block after its `From:` line.
const MAX_HEADER_LINES: usize = 8;

/// The first forwarded message in `msg` whose sender is outside the organisation, when `msg`
/// is a forward (subject prefix or marker).
fn forwarded(msg: &Message, staff_domains: &[String]) -> Option<Original> {
    let body = crate::core::text::prefix(&msg.body_text, MAX_SCAN_BYTES);
    if !FORWARD_SUBJECT.is_match(&msg.subject) && !FORWARD_MARKER.is_match(body) {
        return None;
    }
    QUOTED_FROM
        .captures_iter(body)
        .take(MAX_BLOCKS)
        .find_map(|c| {
            let line = c.get(0)?;
            let from = quoted_address(c.get(1)?.as_str())?;
            if on_domains(&from.email, staff_domains) {
                return None;
            }
            let (subject, body_start) = header_block(body, line.end())?;
            Some(Original {
                from,
                subject,
                body: body
                    .get(body_start..)
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
            })
        })
}

/// The address (and display name) in a quoted `From:` value: "Jane Smith <jane@example.org>",
/// "Smith, Jane [mailto:jane@example.org]", "jane@example.org".
fn quoted_address(value: &str) -> Option<Address> {
    let m = QUOTED_ADDRESS.captures(value)?;
    let email = m
        .get(1)?
        .as_str()
        .trim_end_matches(['.', ',', ';'])
        .to_string();
    let name = value
        .get(..m.get(0)?.start())
        .map(|n| n.trim().trim_matches(['"', '\'', '*']).trim().to_string())
        .filter(|n| !n.is_empty());
    Some(Address { name, email })
}

/// The subject of the header block that starts after `from_end`, and where its body starts:
/// after the header lines, at the first blank or non-header line. `None` when no other header
/// line follows the `From:` (then it is prose, not a forwarded header block).
fn header_block(body: &str, from_end: usize) -> Option<(Option<String>, usize)> {
    let rest = body.get(from_end..)?;
    let mut subject = None;
    let mut headers = 0;
    let mut offset = from_end;
    for line in rest.split_inclusive('\n').skip(1).take(MAX_HEADER_LINES) {
        let Some(c) = QUOTED_HEADER.captures(line.trim_end()) else {
            break;
        };
        headers += 1;
        if c[1].eq_ignore_ascii_case("subject") {
            subject = Some(c[2].trim().to_string()).filter(|s| !s.is_empty());
        }
        offset += line.len();
    }
    // Skip the rest of the `From:` line itself.
    let first_line = rest.find('\n').map_or(rest.len(), |i| i + 1);
    (headers > 0).then_some((subject, offset + first_line))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAFF: &str = "council.example.gov.uk";

    fn msg(from: &str, reply_to: Option<&str>, subject: &str, body: &str) -> Message {
        let addr = |s: &str| match s.split_once(" <") {
            Some((n, e)) => Address {
                name: Some(n.to_string()),
                email: e.trim_end_matches('>').to_string(),
            },
            None => Address {
                name: None,
                email: s.to_string(),
            },
        };
        Message {
            from: Some(addr(from)),
            reply_to: reply_to.map(addr),
            subject: subject.into(),
            body_text: body.into(),
            ..Message::default()
        }
    }

    fn own() -> (Vec<String>, Vec<String>) {
        (
            vec!["forms@council.example.gov.uk".to_string()],
            vec![STAFF.to_string()],
        )
    }

    #[test]
    fn web_forms_take_the_requester_from_reply_to_or_the_fields() {
        /// The requester's address and display name.
        type Requester = (&'static str, Option<&'static str>);
        let (forms, staff) = own();
        let form = "Form: Make a Freedom of Information request\n\nFull name: Tom Adeyemi\nEmail address: tom.adeyemi@example.org\nDetails of your request: Please provide the number of fixed penalty notices issued for fly-tipping in 2025.\n";
        let cases: &[(Option<&str>, &str, Option<Requester>, &str)] = &[
            (
                Some("Tom Adeyemi <tom.adeyemi@example.org>"),
                form,
                Some(("tom.adeyemi@example.org", Some("Tom Adeyemi"))),
                "reply_to",
            ),
            (
                None,
                form,
                Some(("tom.adeyemi@example.org", Some("Tom Adeyemi"))),
                "form_fields",
            ),
            (
                Some("tom.adeyemi@example.org"),
                form,
                Some(("tom.adeyemi@example.org", Some("Tom Adeyemi"))),
                "reply_to",
            ),
            (
                Some("forms@council.example.gov.uk"),
                "Name: Jane Smith\nE-mail: <jane@example.org>\n",
                Some(("jane@example.org", Some("Jane Smith"))),
                "form_fields",
            ),
            (None, "Details of your request: bins\n", None, "none"),
        ];
        for (reply_to, body, want, from) in cases {
            let m = msg(
                "Council Web Forms <Forms@Council.Example.gov.uk>",
                *reply_to,
                "Freedom of Information request",
                body,
            );
            let (m, relay) = unwrap(m, &forms, &staff);
            let got = m
                .reply_to
                .as_ref()
                .map(|a| (a.email.as_str(), a.name.as_deref()));
            assert_eq!(got, *want, "{reply_to:?} {body:?}");
            assert!(
                matches!(&relay, Some(Relay::WebForm { requester_from, .. }) if requester_from == from),
                "{relay:?}"
            );
            // The requester is who the message is from; with none found, the form's address
            // stays but never its display name (not a requester's name).
            let want_from = want.map_or(("Forms@Council.Example.gov.uk", None), |w| w);
            assert_eq!(
                m.from
                    .as_ref()
                    .map(|a| (a.email.as_str(), a.name.as_deref())),
                Some(want_from),
                "{reply_to:?} {body:?}"
            );
        }
    }

    #[test]
    fn staff_forwards_become_the_original_senders_request() {
        let (forms, staff) = own();
        let gmail = "Hi team, this came to me by mistake.\n\n---------- Forwarded message ---------\nFrom: Jane Smith <jane.smith@example.org>\nDate: Mon, 5 Jan 2026 at 09:12\nSubject: FOI request: gritting routes\nTo: <highways@council.example.gov.uk>\n\nPlease provide the gritting routes for 2025/26.\n\nJane Smith\n";
        let outlook = "Please deal with this.\n\nPaul\n\n________________________________\nFrom: Smith, Jane <jane.smith@example.org>\nSent: 05 January 2026 09:12\nTo: Highways <highways@council.example.gov.uk>\nSubject: FOI request: gritting routes\n\nPlease provide the gritting routes for 2025/26.\n\nJane Smith\n";
        let outlook_mailto = "FYI\n\n-----Original Message-----\nFrom: Jane Smith [mailto:jane.smith@example.org] \nSent: Monday, January 5, 2026 9:12 AM\nTo: Highways\nSubject: FOI request: gritting routes\n\nPlease provide the gritting routes for 2025/26.\n\nJane Smith\n";
        let apple = "Begin forwarded message:\n\nFrom: Jane Smith <jane.smith@example.org>\nSubject: FOI request: gritting routes\nDate: 5 January 2026 at 09:12:00 GMT\nTo: highways@council.example.gov.uk\n\nPlease provide the gritting routes for 2025/26.\n\nJane Smith\n";
        for (label, subject, body) in [
            ("gmail", "Fwd: FOI request: gritting routes", gmail),
            ("outlook", "FW: FOI request: gritting routes", outlook),
            (
                "outlook mailto",
                "FW: FOI request: gritting routes",
                outlook_mailto,
            ),
            ("apple", "Fwd: FOI request: gritting routes", apple),
        ] {
            let m = msg(
                "Paul Green <paul.green@council.example.gov.uk>",
                None,
                subject,
                body,
            );
            let (m, relay) = unwrap(m, &forms, &staff);
            assert_eq!(
                relay,
                Some(Relay::Forwarded {
                    by: "paul.green@council.example.gov.uk".into()
                }),
                "{label}"
            );
            let from = m.from.as_ref().expect("from");
            assert_eq!(from.email, "jane.smith@example.org", "{label}");
            assert!(
                from.name.as_deref().is_some_and(|n| n.contains("Jane")),
                "{label}: {from:?}"
            );
            assert_eq!(m.subject, "FOI request: gritting routes", "{label}");
            assert!(
                m.body_text
                    .starts_with("Please provide the gritting routes"),
                "{label}: {:?}",
                m.body_text
            );
            assert!(!m.body_text.contains("Paul"), "{label}");
        }
    }

    #[test]
    fn what_is_not_unwrapped() {
        let (forms, staff) = own();
        let fwd = "---------- Forwarded message ---------\nFrom: Jane Smith <jane.smith@example.org>\nSubject: FOI\n\nPlease provide X.\n";
        let internal = "---------- Forwarded message ---------\nFrom: Ann Lee <ann.lee@council.example.gov.uk>\nSubject: training\n\nWhen is the FOI training?\n";
        let reply = "Thanks.\n\nFrom: Jane Smith <jane.smith@example.org>\nSent: 05 January 2026\nSubject: FOI\n\nPlease provide X.\n";
        for (label, from, subject, body) in [
            ("an outsider's forward", "bob@example.net", "Fwd: FOI", fwd),
            (
                "a colleague forwarding a colleague",
                "paul@council.example.gov.uk",
                "Fwd: training",
                internal,
            ),
            (
                "a colleague's reply quoting history",
                "paul@council.example.gov.uk",
                "Re: FOI",
                reply,
            ),
            (
                "a colleague's own message",
                "paul@council.example.gov.uk",
                "FW: FOI",
                "From: the requests team, with love",
            ),
        ] {
            let (m, relay) = unwrap(msg(from, None, subject, body), &forms, &staff);
            assert_eq!(relay, None, "{label}");
            assert_eq!(
                m.from.as_ref().map(|a| a.email.as_str()),
                Some(from),
                "{label}"
            );
        }
    }

    #[test]
    fn housekeeping_from_our_own_domain_only() {
        let staff = vec![STAFF.to_string()];
        let cases: &[(&str, &str, &str, Option<&str>)] = &[
            (
                "ann.lee@council.example.gov.uk",
                "Recall: FOI-2026-000123 draft response",
                "Ann Lee would like to recall the message, \"FOI-2026-000123 draft response\".",
                Some("recall"),
            ),
            (
                "ann.lee@council.example.gov.uk",
                "Please see below",
                "Ann Lee would like to recall the message, \"Please see below\".",
                Some("recall"),
            ),
            (
                "ann.lee@council.example.gov.uk",
                "Accepted: FOI training",
                "",
                Some("meeting"),
            ),
            (
                "ann.lee@schools.council.example.gov.uk",
                "Declined: IG board",
                "",
                Some("meeting"),
            ),
            (
                "ann.lee@council.example.gov.uk",
                "Tentative: FOI catch-up",
                "",
                Some("meeting"),
            ),
            (
                "ann.lee@council.example.gov.uk",
                "Read: FOI-2026-000123",
                "",
                Some("read receipt"),
            ),
            (
                "ann.lee@council.example.gov.uk",
                "Invitation: what is an FOI request?",
                "Can I invite you to speak at our team meeting?",
                None,
            ),
            (
                "jane@example.org",
                "Recall: my request",
                "Jane would like to recall the message",
                None,
            ),
            (
                "ann.lee@council.example.gov.uk",
                "FOI training",
                "When is the next session?",
                None,
            ),
        ];
        for (from, subject, body, want) in cases {
            let mut m = msg(from, None, subject, body);
            m.body_text = body.to_string();
            let got = housekeeping(&m, &staff);
            match want {
                Some(w) => assert!(got.is_some_and(|g| g.contains(w)), "{subject}: {got:?}"),
                None => assert_eq!(got, None, "{subject}"),
            }
        }
    }
}
