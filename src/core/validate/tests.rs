//! Table-driven tests of [`validate`]: each row is a small message and the exact outcome.

use super::*;
use crate::model::message::{Address, Attachment};
use proptest::prelude::*;

/// Expected name in [`Validity::name`].
#[derive(Debug, Clone, Copy)]
enum Name {
    /// Exactly this name.
    Is(&'static str),
    /// No name.
    Absent,
}

/// One attachment: file name, MIME type, extracted text.
type Att = (&'static str, &'static str, Option<&'static str>);

/// One row of the table.
struct Case {
    id: &'static str,
    kind: Kind,
    /// (display name, email); an empty display name means none.
    from: (&'static str, &'static str),
    reply_to: Option<&'static str>,
    subject: &'static str,
    body: &'static str,
    attachments: &'static [Att],
    missing: &'static [Missing],
    name: Name,
    /// Substrings that must appear in the notes (case-sensitive).
    notes: &'static [&'static str],
}

/// A plain FOI request body with a clear description and no sign-off.
const FOI: &str = "Dear FOI team,\n\nPlease provide the number of potholes repaired on Elm Road in \
                   2024, broken down by month.\n\n";

/// A plain SAR body.
const SAR: &str = "Dear Data Protection Officer,\n\nUnder Article 15 of the UK GDPR please send me \
                   a copy of all the personal data you hold about me.\n\n";

/// Defaults for a row; each row overrides what it tests.
const BASE: Case = Case {
    id: "",
    kind: Kind::Foi,
    from: ("Jane Smith", "jane.smith@example.org"),
    reply_to: None,
    subject: "Freedom of Information request",
    body: FOI,
    attachments: &[],
    missing: &[],
    name: Name::Is("Jane Smith"),
    notes: &[],
};

fn address(name: &str, email: &str) -> Address {
    Address {
        name: (!name.is_empty()).then(|| name.to_string()),
        email: email.to_string(),
    }
}

/// Build a message from the parts a validity check reads.
fn message(
    from: (&str, &str),
    reply_to: Option<&str>,
    subject: &str,
    body: &str,
    attachments: &[Att],
) -> Message {
    Message {
        from: (!from.0.is_empty() || !from.1.is_empty()).then(|| address(from.0, from.1)),
        reply_to: reply_to.map(|r| address("", r)),
        subject: subject.to_string(),
        body_text: body.to_string(),
        attachments: attachments
            .iter()
            .map(|(n, m, t)| Attachment {
                name: (!n.is_empty()).then(|| n.to_string()),
                mime_type: m.to_string(),
                size: t.map_or(1000, str::len),
                text: t.map(str::to_string),
            })
            .collect(),
        ..Message::default()
    }
}

use Missing::{Authority, ContactAddress, Description, Identity, Name as MName};

const CASES: &[Case] = &[
    // ---- Names: FOI ----
    Case {
        id: "real name in From",
        ..BASE
    },
    Case {
        id: "name only in 'Yours sincerely' sign-off",
        from: ("", "js1@example.org"),
        body: "Please provide the number of potholes repaired on Elm Road in 2024.\n\nYours sincerely,\n\nJane Smith\n",
        notes: &["name: 'Jane Smith' (sign-off in the body)"],
        ..BASE
    },
    Case {
        id: "'Regards, Jane Smith' on one line",
        from: ("", "js1@example.org"),
        body: "Please send me the 2024 parking fine totals.\n\nRegards, Jane Smith",
        ..BASE
    },
    Case {
        id: "'Kind regards' then initial and surname",
        from: ("", "js1@example.org"),
        body: "Please send me the 2024 parking fine totals.\n\nKind regards\nJ. Smith\n07700 900123",
        name: Name::Is("J. Smith"),
        ..BASE
    },
    Case {
        id: "'Thanks, Jane': first name only",
        from: ("", "jane@example.org"),
        body: "Please send me the 2024 parking fine totals.\n\nThanks, Jane",
        missing: &[MName],
        name: Name::Absent,
        notes: &[
            "'Jane' (sign-off in the body) is not a full name",
            "name: no real name found",
        ],
        ..BASE
    },
    Case {
        id: "first name in From and in sign-off",
        from: ("Jane", "jane@example.org"),
        body: "Please send me the 2024 parking fine totals.\n\nThanks,\nJane",
        missing: &[MName],
        name: Name::Absent,
        notes: &["'Jane' (From display name) is not a full name"],
        ..BASE
    },
    Case {
        id: "first name in From, full name in sign-off",
        from: ("Jane", "jane@example.org"),
        body: "Please send me the 2024 parking fine totals.\n\nBest wishes,\nJane Smith",
        ..BASE
    },
    Case {
        id: "initials with dots in From",
        from: ("J.S.", "js@example.org"),
        missing: &[MName],
        name: Name::Absent,
        notes: &["gives initials only"],
        ..BASE
    },
    Case {
        id: "initials in sign-off",
        from: ("", "js@example.org"),
        body: "Please send me the 2024 parking fine totals.\n\nRegards\nJS",
        missing: &[MName],
        name: Name::Absent,
        ..BASE
    },
    Case {
        id: "pseudonym: Concerned Resident",
        from: ("Concerned Resident", "resident44@example.org"),
        missing: &[MName],
        name: Name::Absent,
        notes: &["obvious pseudonym ('concerned')"],
        ..BASE
    },
    Case {
        id: "pseudonym: Mickey Mouse",
        from: ("Mickey Mouse", "mm@example.org"),
        missing: &[MName],
        name: Name::Absent,
        notes: &["obvious pseudonym ('mickey mouse')"],
        ..BASE
    },
    Case {
        id: "pseudonym: Mr Mickey Mouse",
        from: ("Mr Mickey Mouse", "mm@example.org"),
        missing: &[MName],
        name: Name::Absent,
        ..BASE
    },
    Case {
        id: "pseudonym: Batman",
        from: ("Batman", "bruce@example.org"),
        missing: &[MName],
        name: Name::Absent,
        ..BASE
    },
    Case {
        id: "pseudonym: Anon",
        from: ("Anon", "anon@example.org"),
        missing: &[MName],
        name: Name::Absent,
        ..BASE
    },
    Case {
        id: "pseudonym: A Taxpayer",
        from: ("A Taxpayer", "tp@example.org"),
        missing: &[MName],
        name: Name::Absent,
        ..BASE
    },
    Case {
        id: "pseudonym: Local Parent",
        from: ("Local Parent", "lp@example.org"),
        missing: &[MName],
        name: Name::Absent,
        notes: &["obvious pseudonym ('local')"],
        ..BASE
    },
    Case {
        id: "pseudonym: Citizen Smith",
        from: ("Citizen Smith", "wolfie@example.org"),
        missing: &[MName],
        name: Name::Absent,
        ..BASE
    },
    Case {
        id: "handle: x_gamer99",
        from: ("x_gamer99", "x_gamer99@example.org"),
        missing: &[MName],
        name: Name::Absent,
        notes: &["looks like a user name or handle"],
        ..BASE
    },
    Case {
        id: "display name equals local part: jsmith1987",
        from: ("jsmith1987", "jsmith1987@example.com"),
        missing: &[MName],
        name: Name::Absent,
        ..BASE
    },
    Case {
        id: "display name equals local part without digits: jsmith",
        from: ("jsmith", "jsmith@example.com"),
        missing: &[MName],
        name: Name::Absent,
        ..BASE
    },
    Case {
        id: "pseudonym in From, real name in sign-off",
        from: ("Concerned Resident", "resident44@example.org"),
        body: "Please send me the 2024 parking fine totals.\n\nYours faithfully,\nJane Smith",
        notes: &[
            "obvious pseudonym ('concerned')",
            "name: 'Jane Smith' (sign-off in the body)",
        ],
        ..BASE
    },
    Case {
        id: "title and surname: Mr Smith",
        from: ("Mr Smith", "smith@example.org"),
        name: Name::Is("Mr Smith"),
        ..BASE
    },
    Case {
        id: "title and surname: Mrs Patel",
        from: ("Mrs Patel", "patel@example.org"),
        name: Name::Is("Mrs Patel"),
        ..BASE
    },
    Case {
        id: "title, initial, surname: Dr A. Khan",
        from: ("Dr A. Khan", "akhan@example.org"),
        name: Name::Is("Dr A. Khan"),
        ..BASE
    },
    Case {
        id: "apostrophe and accent: Siobhán O'Neill",
        from: ("Siobhán O'Neill", "son@example.ie"),
        name: Name::Is("Siobhán O'Neill"),
        ..BASE
    },
    Case {
        id: "hyphenated surname: Mary Smith-Jones",
        from: ("Mary Smith-Jones", "msj@example.org"),
        name: Name::Is("Mary Smith-Jones"),
        ..BASE
    },
    Case {
        id: "diaereses: Zoë Brontë",
        from: ("Zoë Brontë", "zb@example.org"),
        name: Name::Is("Zoë Brontë"),
        ..BASE
    },
    Case {
        id: "Outlook 'Surname, First'",
        from: ("Smith, Jane", "jane.smith@example.org"),
        name: Name::Is("Jane Smith"),
        ..BASE
    },
    Case {
        id: "quoted display name with bracketed title",
        from: ("\"Jane Smith (Mrs)\"", "jane.smith@example.org"),
        name: Name::Is("Jane Smith"),
        ..BASE
    },
    Case {
        id: "web form from no-reply: Name and Email fields",
        from: ("Website", "no-reply@forms.example.gov.uk"),
        subject: "Online FOI form submission",
        body: "Name: Jane Smith\nEmail: jane.smith@example.org\nRequest: Please provide the \
               council's spend on agency staff in 2023/24.\n",
        notes: &[
            "name: 'Jane Smith' (form field in the body)",
            "does not take replies",
            "given in the body",
        ],
        ..BASE
    },
    Case {
        id: "split form fields: First name / Surname",
        from: ("", "forms@example.gov.uk"),
        body: "First name: Jane\nSurname: Smith\nDetails: copies of the 2023 tree survey reports.\n",
        ..BASE
    },
    Case {
        id: "'My name is' in the text",
        from: ("", "js1@example.org"),
        body: "Hello, my name is Jane Smith and I live near Elm Road. Please provide the 2024 \
               flooding reports for the road.",
        ..BASE
    },
    Case {
        id: "name in a letter attachment's signature",
        from: ("", "js1@example.org"),
        body: "Please see attached letter.",
        attachments: &[(
            "letter.pdf",
            "application/pdf",
            Some(
                "Dear Sir\n\nPlease provide the contracts for waste collection since 2020.\n\nYours faithfully\n\nJane Smith",
            ),
        )],
        notes: &["sign-off in attachment 'letter.pdf'"],
        ..BASE
    },
    Case {
        id: "FOI by a company: XYZ Ltd",
        from: ("XYZ Ltd", "foi@xyz.co.uk"),
        name: Name::Is("XYZ Ltd"),
        notes: &["a legal person may request"],
        ..BASE
    },
    Case {
        id: "newsroom in From, journalist in sign-off",
        from: ("Daily Echo News", "newsdesk@echo.example"),
        body: "Please provide the number of school exclusions in 2024.\n\nRegards,\nJane Smith\nReporter",
        ..BASE
    },
    Case {
        id: "journalist display with organisation after a bar",
        from: ("Jane Smith | Daily Echo", "jane.smith@echo.example"),
        ..BASE
    },
    Case {
        id: "WhatDoTheyKnow 'via' display name",
        from: (
            "Jane Smith via WhatDoTheyKnow",
            "request-1234-abcd@whatdotheyknow.com",
        ),
        ..BASE
    },
    Case {
        id: "'Sent from my iPhone' is not a name",
        from: ("", "js1@example.org"),
        body: "Please send me the 2024 parking fine totals.\n\nThanks\n\nSent from my iPhone",
        missing: &[MName],
        name: Name::Absent,
        ..BASE
    },
    Case {
        id: "quoted history is not the requester's sign-off",
        from: ("", "tom@example.org"),
        body: "Please also send the 2024 pothole figures.\n\nThanks, Tom\n\nOn Mon, 1 Jan 2024 at 10:00, FOI Team wrote:\n> Yours sincerely,\n> Peter Jones\n",
        missing: &[MName],
        name: Name::Absent,
        ..BASE
    },
    Case {
        id: "prose starting with 'Best' is not a sign-off",
        from: ("", "js1@example.org"),
        body: "Best value review documents for 2024 please.\n\nThanks",
        missing: &[MName],
        name: Name::Absent,
        ..BASE
    },
    Case {
        id: "name standing alone at the end, no closing phrase",
        from: ("", "js1@example.org"),
        body: "Please send me the 2024 parking fine totals.\n\nJane Smith\n",
        notes: &["(closing line in the body)"],
        ..BASE
    },
    Case {
        id: "a last line that continues a sentence is not a name",
        from: ("", "js1@example.org"),
        body: "Please send me the visitor numbers for 2024 for\nElm Road Library",
        missing: &[MName],
        name: Name::Absent,
        ..BASE
    },
    Case {
        id: "'Cheers' then a first name",
        from: ("", "dave@example.org"),
        body: "Hi,\n\nCan I have a copy of the report into the Elm Road fire?\n\nCheers\nDave",
        missing: &[MName],
        name: Name::Absent,
        ..BASE
    },
    Case {
        id: "Outlook 'SURNAME, First (Title)'",
        from: ("SMITH, Jane (Mrs)", "jane.smith@example.org"),
        name: Name::Is("Jane SMITH"),
        ..BASE
    },
    Case {
        id: "lower-case 'first.last' display name equal to the local part is still a name",
        from: ("jane.smith", "jane.smith@example.org"),
        name: Name::Is("jane.smith"),
        ..BASE
    },
    Case {
        id: "name written without spaces in CJK script",
        from: ("王小明", "wang@example.cn"),
        name: Name::Is("王小明"),
        ..BASE
    },
    Case {
        id: "WhatDoTheyKnow request with its footer",
        from: ("Jane Smith", "request-1234-abcd@whatdotheyknow.com"),
        subject: "Freedom of Information request - Agency staff spend",
        body: "Dear Leeds City Council,\n\nPlease provide the total spent on agency social workers in each of the last three financial years.\n\nYours faithfully,\n\nJane Smith\n\n-------------------------------------------------------------------\n\nPlease use this email address for all replies to this request:\nrequest-1234-abcd@whatdotheyknow.com\n\nDisclaimer: This message and any reply that you make will be published on the internet.\n",
        ..BASE
    },
    Case {
        id: "WhatDoTheyKnow request with no description: the footer's words do not describe",
        from: (
            "Peter Kinsella",
            "request-12544-6d0b03ee@whatdotheyknow.com",
        ),
        subject: "Freedom of Information request - Information",
        body: "Dear Northbridge Borough Council,\n\nI would like to request information.\n\nYours faithfully,\n\nPeter Kinsella\n\n-------------------------------------------------------------------\n\nPlease use this email address for all replies to this request:\nrequest-12544-6d0b03ee@whatdotheyknow.com\n\nIs foi@northbridge.gov.uk the wrong address for Freedom of Information requests to Northbridge Borough Council? If so, please contact us using this form:\nhttps://www.whatdotheyknow.com/change_request/new\n\nDisclaimer: This message and any reply that you make will be published on the internet. Our privacy and copyright policies:\nhttps://www.whatdotheyknow.com/help/officers\n",
        name: Name::Is("Peter Kinsella"),
        missing: &[Description],
        ..BASE
    },
    Case {
        id: "team then organisation in the sign-off (FOI)",
        from: ("Research Team", "research@oakbridge.example.com"),
        body: "Please provide a list of business rates accounts in credit, with the amount of each credit.\n\nYours faithfully,\n\nResearch Team\nOakbridge Analytics Ltd\nUnit 4, Wharf Street, Leeds LS2 7EX",
        name: Name::Is("Oakbridge Analytics Ltd"),
        ..BASE
    },
    Case {
        id: "organisation only in the sign-off (FOI)",
        from: ("", "foi@acme.example"),
        body: "Please provide the tender documents for the 2024 waste contract.\n\nRegards,\nAcme Waste Services Ltd",
        name: Name::Is("Acme Waste Services Ltd"),
        ..BASE
    },
    // ---- Contact address ----
    Case {
        id: "no-reply From, no Reply-To",
        from: ("Jane Smith", "noreply@forms.example.gov.uk"),
        missing: &[ContactAddress],
        notes: &["does not take replies", "contact address: none found"],
        ..BASE
    },
    Case {
        id: "no-reply From with a Reply-To",
        from: ("Jane Smith", "noreply@forms.example.gov.uk"),
        reply_to: Some("jane.smith@example.org"),
        notes: &["contact address: jane.smith@example.org (Reply-To)"],
        ..BASE
    },
    Case {
        id: "do-not-reply From, postal address in the text",
        from: ("Jane Smith", "do-not-reply@forms.example.gov.uk"),
        body: "Please provide the 2024 pothole repair figures for Elm Road.\n\nJane Smith\n12 Elm Road\nLeeds\nLS1 4AB\n",
        notes: &["postcode LS1 4AB"],
        ..BASE
    },
    Case {
        id: "mailer-daemon From",
        from: ("", "MAILER-DAEMON@mx.example.org"),
        body: "Please provide the 2024 pothole repair figures.\n\nRegards,\nJane Smith",
        missing: &[ContactAddress],
        ..BASE
    },
    Case {
        id: "no From at all",
        from: ("", ""),
        body: "Please provide the 2024 pothole repair figures.\n\nRegards,\nJane Smith",
        missing: &[ContactAddress],
        ..BASE
    },
    Case {
        id: "no-reply Reply-To, good From",
        from: ("Jane Smith", "jane.smith@example.org"),
        reply_to: Some("no-reply@example.org"),
        notes: &["(From)"],
        ..BASE
    },
    Case {
        id: "malformed From address",
        from: ("Jane Smith", "jane"),
        missing: &[ContactAddress],
        notes: &["not a usable email address"],
        ..BASE
    },
    Case {
        id: "no-reply From and a no-reply address in the text",
        from: ("Jane Smith", "noreply@forms.example.gov.uk"),
        body: "Request: the 2024 pothole repair figures.\nEmail: do-not-reply@example.org\n",
        missing: &[ContactAddress],
        ..BASE
    },
    // ---- Description ----
    Case {
        id: "everything you hold",
        body: "Please send me everything you hold.\n\nJane Smith",
        missing: &[Description],
        notes: &["asks for everything held with no subject"],
        ..BASE
    },
    Case {
        id: "all environmental information held (EIR catch-all)",
        kind: Kind::Eir,
        body: "Under the Environmental Information Regulations 2004, please send me all\nenvironmental information held by Example Borough Council.\n\nRegards,\nNadia Haddad",
        missing: &[Description],
        ..BASE
    },
    Case {
        id: "all information you have",
        body: "I want all information you have.\n\nJane Smith",
        missing: &[Description],
        ..BASE
    },
    Case {
        id: "everything about everything",
        subject: "FOI",
        body: "Everything about everything please.",
        missing: &[Description],
        ..BASE
    },
    Case {
        id: "everything you hold about a named subject",
        body: "Please send me all information you hold about the closure of Westfield library.",
        ..BASE
    },
    Case {
        id: "please see attached, nothing attached",
        body: "Please see attached.\n\nJane Smith",
        missing: &[Description],
        notes: &["refers to an attachment, but none came"],
        ..BASE
    },
    Case {
        id: "please see attached, attachment unreadable",
        body: "Please see attached.\n\nJane Smith",
        attachments: &[("scan0001.tif", "image/tiff", None)],
        missing: &[Description],
        notes: &["could not read attachment(s) 'scan0001.tif'"],
        ..BASE
    },
    Case {
        id: "please see attached, attachment text extracted",
        body: "Please see attached.\n\nJane Smith",
        attachments: &[(
            "request.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Some(
                "I would like copies of all contracts with Acme Ltd for grounds maintenance since 2019.",
            ),
        )],
        ..BASE
    },
    Case {
        id: "greeting with no request",
        body: "Hello, hope you are well.\n\nRegards,\nJane Smith",
        missing: &[Description],
        notes: &["no request for identifiable information"],
        ..BASE
    },
    Case {
        id: "empty body and subject",
        subject: "",
        body: "",
        missing: &[Description],
        notes: &["no content of its own"],
        ..BASE
    },
    Case {
        id: "description only in the subject line",
        subject: "Number of potholes repaired in 2024",
        body: "",
        ..BASE
    },
    Case {
        id: "a question with a subject",
        body: "How many parking fines were issued in 2023?\n\nJane Smith",
        ..BASE
    },
    Case {
        id: "long message with no listed signal is given the benefit of the doubt",
        body: "I am researching the history of the Westfield swimming baths, their architects, \
               the original builders, the heating arrangements, opening ceremony photographs \
               and anything describing visitor numbers in the early years.\n\nJane Smith",
        ..BASE
    },
    Case {
        id: "FOI asking for everything about me is not an FOI description",
        body: "Please send me all the information you hold about me.\n\nJane Smith",
        missing: &[Description],
        ..BASE
    },
    Case {
        id: "'send everything' with no subject",
        body: "Please send me everything.\n\nJane Smith",
        missing: &[Description],
        ..BASE
    },
    Case {
        id: "emails between named parties in a month",
        body: "Please provide all emails between the Council Leader and Acme Ltd in March 2024.\n\nJane Smith",
        ..BASE
    },
    Case {
        id: "everything missing at once",
        from: ("Anon", "noreply@example.org"),
        subject: "",
        body: "",
        missing: &[MName, ContactAddress, Description],
        name: Name::Absent,
        ..BASE
    },
    // ---- EIR ----
    Case {
        id: "EIR valid",
        kind: Kind::Eir,
        subject: "Air quality",
        body: "Please provide the nitrogen dioxide readings from the Elm Road monitor for 2024.\n\nJane Smith",
        notes: &["description: found"],
        ..BASE
    },
    Case {
        id: "EIR with a pseudonym: treated like FOI, with the reg 5 note",
        kind: Kind::Eir,
        from: ("Concerned Resident", "cr@example.org"),
        body: "Please provide the flooding reports for Elm Road since 2020.",
        missing: &[MName],
        name: Name::Absent,
        notes: &["EIR 2004 reg 5"],
        ..BASE
    },
    // ---- SAR ----
    Case {
        id: "SAR with passport attached",
        kind: Kind::Sar,
        subject: "Subject access request",
        body: SAR,
        attachments: &[("passport.jpg", "image/jpeg", None)],
        notes: &["attachment 'passport.jpg' looks like proof of identity (by its name)"],
        ..BASE
    },
    Case {
        id: "SAR: 'I attach my driving licence' in the text",
        kind: Kind::Sar,
        body: "Please send me a copy of my personal data. I attach a copy of my driving licence.\n\nJane Smith",
        attachments: &[("scan.pdf", "application/pdf", None)],
        notes: &["the text says proof of identity is enclosed"],
        ..BASE
    },
    Case {
        id: "SAR: 'Please find attached my passport' with a generic image",
        kind: Kind::Sar,
        body: "I would like all my records. Please find attached my passport and a council tax bill.\n\nJane Smith",
        attachments: &[("IMG_1234.jpg", "image/jpeg", None)],
        ..BASE
    },
    Case {
        id: "SAR without ID",
        kind: Kind::Sar,
        body: SAR,
        missing: &[Identity],
        notes: &["no document and no details we can check"],
        ..BASE
    },
    Case {
        id: "SAR offering ID later",
        kind: Kind::Sar,
        body: "Please send me my personal data. If you need my passport I can send it.\n\nJane Smith",
        missing: &[Identity],
        ..BASE
    },
    Case {
        id: "SAR saying the passport is not attached",
        kind: Kind::Sar,
        body: "Please send me my personal data. My passport is not attached as I have lost it.\n\nJane Smith",
        missing: &[Identity],
        ..BASE
    },
    Case {
        id: "SAR with a generic image only",
        kind: Kind::Sar,
        body: SAR,
        attachments: &[("IMG_1234.jpg", "image/jpeg", None)],
        missing: &[Identity],
        notes: &["'IMG_1234.jpg' may be a photo of ID"],
        ..BASE
    },
    Case {
        id: "SAR with a passport scan recognised by its text",
        kind: Kind::Sar,
        body: SAR,
        attachments: &[(
            "scan1.pdf",
            "application/pdf",
            Some("P<GBRSMITH<<JANE<<<<<<<<<<<<<<"),
        )],
        notes: &["(by its text)"],
        ..BASE
    },
    Case {
        id: "parent SAR for a child with own ID but no proof of parental responsibility",
        kind: Kind::Sar,
        body: "I am requesting my son's records held by children's services. I attach a copy of my passport.\n\nJane Smith",
        missing: &[Authority],
        notes: &["made for a child", "no proof of authority"],
        ..BASE
    },
    Case {
        id: "parent SAR for a child with passport and birth certificate attached",
        kind: Kind::Sar,
        body: "On behalf of my daughter, please send all the personal data you hold about her.\n\nJane Smith",
        attachments: &[
            ("passport.pdf", "application/pdf", None),
            ("birth-certificate.pdf", "application/pdf", None),
        ],
        notes: &[
            "made for a child",
            "proof of authority appears to be enclosed",
        ],
        ..BASE
    },
    Case {
        id: "parent SAR stating passport and birth certificate are enclosed",
        kind: Kind::Sar,
        body: "I have parental responsibility for Tom and ask for his records. I enclose my passport and his birth certificate.\n\nJane Smith",
        ..BASE
    },
    Case {
        id: "SAR by a solicitors' firm alone",
        kind: Kind::Sar,
        from: ("Acme Solicitors LLP", "sar@acme-law.example"),
        body: "We act on behalf of our client and request all personal data you hold about them. We enclose a signed letter of authority and a copy of our client's passport.\n\nYours faithfully\n\nAcme Solicitors LLP",
        missing: &[MName],
        name: Name::Absent,
        notes: &[
            "subject access is an individual's right",
            "made for someone else",
        ],
        ..BASE
    },
    Case {
        id: "SAR for a client with ID but no authority",
        kind: Kind::Sar,
        body: "I am writing on behalf of my mother, who has asked me to obtain her care records. I attach a copy of my passport.\n\nJane Smith",
        missing: &[Authority],
        notes: &["made for someone else", "no proof of authority"],
        ..BASE
    },
    Case {
        id: "SAR: 'everything you hold about me' is a full description",
        kind: Kind::Sar,
        body: "Send me everything you hold about me. I attach my passport.\n\nJane Smith",
        ..BASE
    },
    Case {
        id: "SAR with an empty body and a passport",
        kind: Kind::Sar,
        subject: "",
        body: "",
        attachments: &[("passport.jpg", "image/jpeg", None)],
        missing: &[Description],
        ..BASE
    },
    Case {
        id: "SAR by first name only",
        kind: Kind::Sar,
        from: ("Jane", "jane@example.org"),
        body: SAR,
        attachments: &[("passport.jpg", "image/jpeg", None)],
        missing: &[MName],
        name: Name::Absent,
        ..BASE
    },
    Case {
        id: "SAR missing name, address and ID",
        kind: Kind::Sar,
        from: ("Batman", "no-reply@example.org"),
        body: SAR,
        missing: &[MName, ContactAddress, Identity],
        name: Name::Absent,
        ..BASE
    },
];

#[test]
fn table() {
    let mut failures = Vec::new();
    for c in CASES {
        let msg = message(c.from, c.reply_to, c.subject, c.body, c.attachments);
        let Some(v) = validate(c.kind, &msg, &Policy::default()) else {
            failures.push(format!("{}: returned None for {}", c.id, c.kind));
            continue;
        };
        if v.missing != c.missing {
            failures.push(format!(
                "{}: missing {:?}, want {:?}\n  notes: {:#?}",
                c.id, v.missing, c.missing, v.notes
            ));
        }
        if v.valid != c.missing.is_empty() {
            failures.push(format!(
                "{}: valid {} disagrees with missing",
                c.id, v.valid
            ));
        }
        match c.name {
            Name::Is(n) if v.name.as_deref() != Some(n) => {
                failures.push(format!(
                    "{}: name {:?}, want {n:?}\n  notes: {:#?}",
                    c.id, v.name, v.notes
                ));
            }
            Name::Absent if v.name.is_some() => {
                failures.push(format!("{}: name {:?}, want none", c.id, v.name));
            }
            _ => {}
        }
        for want in c.notes {
            if !v.notes.iter().any(|n| n.contains(want)) {
                failures.push(format!(
                    "{}: no note contains {want:?}\n  notes: {:#?}",
                    c.id, v.notes
                ));
            }
        }
    }
    assert!(CASES.len() >= 60, "the table keeps at least 60 rows");
    assert!(
        failures.is_empty(),
        "{} failing rows:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn case_ids_are_unique() {
    let mut ids: Vec<&str> = CASES.iter().map(|c| c.id).collect();
    ids.sort_unstable();
    let before = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), before);
}

#[test]
fn non_statutory_kinds_are_not_validated() {
    let msg = message(("Jane Smith", "jane@example.org"), None, "Hello", FOI, &[]);
    for kind in Kind::ALL {
        assert_eq!(
            validate(kind, &msg, &Policy::default()).is_some(),
            matches!(kind, Kind::Foi | Kind::Eir | Kind::Sar),
            "{kind}"
        );
    }
}

#[test]
fn missing_names_and_explanations() {
    let want = ["name", "contact_address", "description", "identity"];
    for (m, w) in Missing::ALL.into_iter().zip(want) {
        assert_eq!(m.as_str(), w);
        assert_eq!(m.to_string(), w);
        assert_eq!(serde_json::to_string(&m).unwrap(), format!("\"{w}\""));
        assert_eq!(
            serde_json::from_str::<Missing>(&format!("\"{w}\"")).unwrap(),
            m
        );
        let e = m.explain();
        assert!(e.ends_with(')'), "{w}: explanation cites its source: {e}");
        assert!(
            e.starts_with(|c: char| c.is_lowercase()),
            "{w}: reads after a bullet: {e}"
        );
    }
    assert!(Missing::Name.explain().contains("real name"));
    assert!(Missing::Name.explain().contains("FOIA s.8(1)(b)"));
    assert!(Missing::Description.explain().contains("FOIA s.8(1)(c)"));
    assert!(Missing::Identity.explain().contains("Art 12(6)"));
    let mut sorted = Missing::ALL;
    sorted.sort();
    assert_eq!(
        sorted,
        Missing::ALL,
        "derived order is acknowledgement order"
    );
}

#[test]
fn validity_serialises_with_snake_case_missing() {
    let msg = message(("Anon", "anon@example.org"), None, "", "", &[]);
    let v = validate(Kind::Foi, &msg, &Policy::default()).unwrap();
    let json = serde_json::to_value(&v).unwrap();
    assert_eq!(json["valid"], false);
    assert_eq!(json["missing"], serde_json::json!(["name", "description"]));
    assert!(json["name"].is_null());
    let back: Validity = serde_json::from_value(json).unwrap();
    assert_eq!(back, v);
}

#[test]
fn huge_input_is_bounded_and_does_not_panic() {
    let body = "Regards,\nJane\nThanks, J\nPlease send everything you hold. ".repeat(200_000);
    let name = "Jane ".repeat(100_000);
    let att_text = "P<GBR".repeat(300_000);
    let mut msg = message(
        ("", "jane@example.org"),
        None,
        &"FOI ".repeat(100_000),
        &body,
        &[],
    );
    msg.from = Some(address(&name, "jane@example.org"));
    msg.attachments = (0..500)
        .map(|i| Attachment {
            name: Some(format!("{}{i}.jpg", "x".repeat(1000))),
            mime_type: "image/jpeg".into(),
            size: 1,
            text: (i % 2 == 0).then(|| att_text.clone()),
        })
        .collect();
    let start = std::time::Instant::now();
    for kind in [Kind::Foi, Kind::Eir, Kind::Sar] {
        let v = validate(kind, &msg, &Policy::default()).unwrap();
        assert_eq!(v.valid, v.missing.is_empty());
        assert!(v.notes.iter().all(|n| n.len() < 2_000), "notes stay short");
    }
    // Generous: this is about complexity, not speed on a loaded CI box.
    assert!(
        start.elapsed() < std::time::Duration::from_secs(60),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn empty_message_does_not_panic() {
    for kind in [Kind::Foi, Kind::Eir, Kind::Sar] {
        let v = validate(kind, &Message::default(), &Policy::default()).unwrap();
        assert!(v.missing.contains(&Missing::Name));
        assert!(v.missing.contains(&Missing::ContactAddress));
        assert!(v.missing.contains(&Missing::Description));
        assert_eq!(v.missing.contains(&Missing::Identity), kind == Kind::Sar);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary text anywhere never panics, and the outcome is always consistent.
    #[test]
    fn never_panics_and_stays_consistent(
        display in any::<String>(),
        email in any::<String>(),
        subject in any::<String>(),
        body in any::<String>(),
        att_name in any::<String>(),
        att_text in proptest::option::of(any::<String>()),
        kind_idx in 0usize..3,
    ) {
        let kind = [Kind::Foi, Kind::Eir, Kind::Sar][kind_idx];
        let mut msg = message(("", ""), None, &subject, &body, &[]);
        msg.from = Some(address(&display, &email));
        msg.reply_to = Some(address(&display, &email));
        msg.attachments.push(Attachment {
            name: Some(att_name),
            mime_type: "image/png".into(),
            size: 0,
            text: att_text,
        });
        let v = validate(kind, &msg, &Policy::default()).unwrap();
        prop_assert_eq!(v.valid, v.missing.is_empty());
        let mut sorted = v.missing.clone();
        sorted.sort();
        sorted.dedup();
        prop_assert_eq!(&sorted, &v.missing);
        prop_assert!(kind == Kind::Sar || !v.missing.contains(&Missing::Identity));
        prop_assert!(!v.notes.is_empty());
        prop_assert_eq!(v.name.is_none(), v.missing.contains(&Missing::Name));
    }

    /// Text shaped like real mail (sign-offs, names, addresses, request words) never panics.
    #[test]
    fn mail_shaped_text_never_panics(
        lines in proptest::collection::vec(
            prop_oneof![
                Just("Yours sincerely,".to_string()),
                Just("Regards, ".to_string()),
                Just("Name: ".to_string()),
                Just("My name is ".to_string()),
                Just("I attach my passport".to_string()),
                Just("everything you hold".to_string()),
                Just("LS1 4AB".to_string()),
                Just("> quoted".to_string()),
                Just("On Mon wrote:".to_string()),
                "[A-Za-zÀ-ÿ'’ .,\\-]{0,40}",
                any::<String>(),
            ],
            0..30,
        ),
    ) {
        let body = lines.join("\n");
        let msg = message(("", "x@example.org"), None, "", &body, &[]);
        for kind in [Kind::Foi, Kind::Sar] {
            let v = validate(kind, &msg, &Policy::default()).unwrap();
            prop_assert_eq!(v.valid, v.missing.is_empty());
        }
    }
}

/// One row of the SAR identity table: what the requester wrote and attached, the policy, and
/// the identity state and missing items expected.
struct IdRow {
    id: &'static str,
    from: &'static str,
    body: &'static str,
    attachments: &'static [Att],
    policy: SarIdentityPolicy,
    state: IdentityState,
    missing: &'static [Missing],
    /// Substrings that must appear in the notes.
    notes: &'static [&'static str],
}

const ID_BASE: IdRow = IdRow {
    id: "",
    from: "jane.smith@example.org",
    body: SAR,
    attachments: &[],
    policy: SarIdentityPolicy::DocumentOrDetails,
    state: IdentityState::Missing,
    missing: &[Identity],
    notes: &[],
};

/// Realistic wording, UK formats. The first rows are the eight kinds of request the held-out set
/// wrongly asked for ID (issue 10).
const ID_ROWS: &[IdRow] = &[
    IdRow {
        id: "date of birth (dd/mm/yyyy) with a postcode",
        body: "Hello,\n\nI would like a copy of all the information the council holds about me, including my housing file. My date of birth is 12/03/1984 and I live at 14 Elm Road, Leeds LS6 2AB.\n\nThanks,\nJane Smith",
        state: IdentityState::Verifiable,
        missing: &[],
        notes: &["verifiable", "date of birth and address"],
        ..ID_BASE
    },
    IdRow {
        id: "date of birth in words with an address line",
        body: "Dear Sir or Madam,\n\nPlease treat this as a subject access request for my social care records.\n\nName: Jane Smith\nDOB: 12th March 1984\nAddress: Flat 2, 7 Mill Lane, Bristol\n\nYours faithfully,\nJane Smith",
        state: IdentityState::Verifiable,
        missing: &[],
        ..ID_BASE
    },
    IdRow {
        id: "tenancy reference",
        body: "Hi, I am a council tenant and I want copies of all repair reports and letters about my home. My tenancy ref is TEN/004512.\n\nJane Smith",
        state: IdentityState::Verifiable,
        missing: &[],
        notes: &["tenancy or rent account reference 'TEN/004512'"],
        ..ID_BASE
    },
    IdRow {
        id: "council tax account number",
        body: "Under data protection law please send me all the personal data you hold on me relating to council tax and benefits. My council tax account number is 60012345.\n\nRegards\nJane Smith",
        state: IdentityState::Verifiable,
        missing: &[],
        notes: &["council tax account number '60012345'"],
        ..ID_BASE
    },
    IdRow {
        id: "NHS number written 3-3-4 (its check digit fails: the officer is warned)",
        body: "I am requesting a copy of my records from the community health team (subject access request). My NHS number is 485 777 3456.\n\nJane Smith",
        state: IdentityState::Verifiable,
        missing: &[],
        notes: &["NHS number '485 777 3456', whose check digit does not match"],
        ..ID_BASE
    },
    IdRow {
        id: "former employee with a payroll number",
        body: "I worked in Highways from 2015 to 2021. Please send me my personnel file and any emails about my grievance under a subject access request. My payroll no was 00451287.\n\nJane Smith",
        state: IdentityState::Verifiable,
        missing: &[],
        notes: &["employee or payroll number '00451287'"],
        ..ID_BASE
    },
    IdRow {
        id: "member of staff writing from the council's own domain",
        from: "jane.smith@council.example.gov.uk",
        body: "Hi IG team, I'd like to make a subject access request for my HR file and my sickness absence records please.\n\nJane Smith\nHighways",
        state: IdentityState::Verifiable,
        missing: &[],
        notes: &["staff record", "@council.example.gov.uk"],
        ..ID_BASE
    },
    IdRow {
        id: "photo of a driving licence with a generic image name",
        body: "Please send me a copy of all personal data you hold about me. I've attached a photo of my driving licence.\n\nJane Smith",
        attachments: &[("IMG_2231.jpeg", "image/jpeg", None)],
        state: IdentityState::Provided,
        missing: &[],
        notes: &["proof of identity is enclosed (with 'IMG_2231.jpeg')"],
        ..ID_BASE
    },
    IdRow {
        id: "crime reference",
        body: "I was the victim of a burglary last year and would like all the personal data you hold about me in connection with it. The crime reference number is 43/12345/24.\n\nJane Smith",
        state: IdentityState::Verifiable,
        missing: &[],
        ..ID_BASE
    },
    IdRow {
        id: "student number",
        body: "I was a pupil at Oakfield Academy. Please send me my school records under the GDPR. Student ID: S1234567.\n\nJane Smith",
        state: IdentityState::Verifiable,
        missing: &[],
        ..ID_BASE
    },
    IdRow {
        id: "nothing to check: identity is missing",
        body: "Please send me everything you hold about me.\n\nJane Smith",
        notes: &["no document and no details"],
        ..ID_BASE
    },
    IdRow {
        id: "a date of birth alone is not enough",
        body: "Please send me everything you hold about me. My date of birth is 12/03/1984.\n\nJane Smith",
        ..ID_BASE
    },
    IdRow {
        id: "a reference label without a number is not enough",
        body: "I am a council tenant. Please send me all my personal data.\n\nJane Smith",
        ..ID_BASE
    },
    IdRow {
        id: "document policy: details do not replace a document",
        body: "Please send me all my personal data. My council tax account number is 60012345.\n\nJane Smith",
        policy: SarIdentityPolicy::Document,
        notes: &["configured policy (document)", "council tax account number"],
        ..ID_BASE
    },
    IdRow {
        id: "document policy: a passport is still enough",
        body: "Please send me all my personal data.\n\nJane Smith",
        attachments: &[("Passport scan.pdf", "application/pdf", None)],
        policy: SarIdentityPolicy::Document,
        state: IdentityState::Provided,
        missing: &[],
        ..ID_BASE
    },
    IdRow {
        id: "solicitor for a client: verifiable client, no authority",
        from: "a.khan@khanlaw.example",
        body: "Dear Data Protection Officer,\n\nWe act for our client, Mr Peter Jones (date of birth 3 September 1971) of 22 Castle Street, Cardiff CF10 1AA, and request all personal data you hold about him.\n\nYours faithfully\n\nAmir Khan\nKhan & Co Solicitors",
        state: IdentityState::Verifiable,
        missing: &[Authority],
        notes: &["made for someone else", "no proof of authority"],
        ..ID_BASE
    },
    IdRow {
        id: "solicitor with a signed letter of authority",
        from: "a.khan@khanlaw.example",
        body: "We act for our client, Mr Peter Jones (DOB 03/09/1971, 22 Castle Street, Cardiff CF10 1AA). Please find enclosed our client's signed letter of authority.\n\nAmir Khan",
        attachments: &[("Jones - form of authority.pdf", "application/pdf", None)],
        state: IdentityState::Verifiable,
        missing: &[],
        notes: &["proof of authority appears to be enclosed"],
        ..ID_BASE
    },
    IdRow {
        id: "parent for a child with own details but no parental responsibility evidence",
        body: "I would like copies of my daughter's records from children's services. My council tax account number is 60012345.\n\nJane Smith",
        state: IdentityState::Verifiable,
        missing: &[Authority],
        notes: &["made for a child"],
        ..ID_BASE
    },
    IdRow {
        id: "relative with nothing at all",
        body: "I am writing on behalf of my father, who has dementia, to ask for his social care records.\n\nJane Smith",
        missing: &[Identity, Authority],
        ..ID_BASE
    },
];

#[test]
fn sar_identity_states() {
    let mut failures = Vec::new();
    let staff = vec!["council.example.gov.uk".to_string()];
    for r in ID_ROWS {
        let msg = message(
            ("Jane Smith", r.from),
            None,
            "Subject access request",
            r.body,
            r.attachments,
        );
        let policy = Policy {
            sar_identity: r.policy,
            staff_domains: staff.clone(),
        };
        let v = validate(Kind::Sar, &msg, &policy).expect("a SAR is validated");
        if v.identity != Some(r.state) || v.missing != r.missing {
            failures.push(format!(
                "{}: identity {:?} missing {:?}, want {:?} {:?}\n  notes: {:#?}",
                r.id, v.identity, v.missing, r.state, r.missing, v.notes
            ));
        }
        for want in r.notes {
            if !v.notes.iter().any(|n| n.contains(want)) {
                failures.push(format!(
                    "{}: no note contains {want:?}\n  notes: {:#?}",
                    r.id, v.notes
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing rows:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn only_sars_have_an_identity_state() {
    let msg = message(("Jane Smith", "jane@example.org"), None, "FOI", FOI, &[]);
    for kind in [Kind::Foi, Kind::Eir] {
        let v = validate(kind, &msg, &Policy::default()).unwrap();
        assert_eq!(v.identity, None, "{kind}");
    }
}
