//! Does the message describe the information sought (FOIA s.8(1)(c))?
//!
//! The ICO calls this "not a hard test to satisfy": a request is valid if it describes the
//! information well enough to be identified, however broad; breadth is dealt with under s.12 (cost)
//! and s.16 (advice and assistance), not by calling the request invalid. So this check errs towards
//! *described*, and only says "no description" for:
//! - an empty or near-empty message (including "please see attached" when the attachment could not
//!   be read);
//! - a greeting or a remark with no request in it;
//! - the classic catch-all with no subject at all: "send me everything you hold",
//!   "all information you have", "everything about everything".
//!
//! # Signals (all named in the notes)
//! - `catch_all`: one of [`CATCH_ALL`]'s phrases.
//! - `request`: request wording ("please provide", "I would like", "how many", "copies of") or a
//!   question mark.
//! - `subject`: a concrete subject word from [`SUBJECT_WORDS`] (spend, contracts, policy, potholes…)
//!   or a sum of money.
//! - `topic`: "about/regarding/concerning/relating to/on X" where X is a real word, not "everything"
//!   or "me".
//! - `period`: a year, a month, "financial year", "last 3 years", "since 2019".
//! - `personal_data` (SAR): "my data", "my records", "personal data", "subject access"…
//! - `content_words`: words left after removing function words, greetings, sign-offs and FOI
//!   boilerplate ("Freedom of Information Act 2000" does not count as a subject or a year).
//!
//! # Rules
//! - FOI/EIR: a `catch_all` with no `subject`, `topic` or `period` outside the catch-all phrase is
//!   not a description. Otherwise it is described when it has
//!   - a `subject` or `topic`, with `request` wording, a `period` or at least
//!     [`MIN_CONCRETE_WORDS`] content words ("Potholes repaired in 2024" in the subject line over
//!     "please see attached"; "I would also like the 2022 figures"), or
//!   - `request` wording and at least [`MIN_REQUEST_WORDS`] content words ("I would like to know
//!     the reasons for the closure of Westfield swimming pool"), or
//!   - whatever the signals, at least [`LONG_TEXT_WORDS`] content words (a long message that was
//!     classified as a request is given the benefit of the doubt).
//!
//!   A period alone is not a subject ("hope you had a good 2024").
//! - SAR: asking for "all my personal data" is a full description (UK GDPR Art 15 needs no more), so
//!   any of `request`, `personal_data`, `catch_all`, `subject`, `topic`, or [`LONG_TEXT_WORDS`]
//!   content words is enough; only a message with no request at all lacks a description.

use std::sync::LazyLock;

use regex::Regex;

use super::text::{Texts, quoted_list, words};
use crate::model::kind::Kind;

/// Fewest content words a request with a concrete subject or topic has, in words: "Potholes
/// repaired" has two. A sign-off name alone also has two, but brings no subject signal.
pub(super) const MIN_CONCRETE_WORDS: usize = 2;

/// Fewest content words a request has when it has request wording but no listed subject word, in
/// words: enough for a short sentence naming something ("the reasons for the closure of Westfield
/// swimming pool" has five, plus the sign-off name); "Can you call me back? Jane Smith" has four.
pub(super) const MIN_REQUEST_WORDS: usize = 6;

/// Content words above which a message counts as described whatever the other signals say, in
/// words: about two sentences of real content. Refusing a real request is worse than asking a human
/// to look at a rambling one.
pub(super) const LONG_TEXT_WORDS: usize = 15;

/// Catch-all phrases: requests for everything an authority holds, with no subject. Regex fragments,
/// joined case-insensitively.
pub(super) const CATCH_ALL: &[&str] = &[
    r"\beverything\s+about\s+everything\b",
    r"\b(?:everything|anything)\s+(?:that\s+|which\s+)?(?:you|u|the\s+council|your\s+(?:organisation|organization|authority|council|department|office))\s*(?:'ve|\s+have|\s+has)?\s*(?:hold|holds|have|has|keep|keeps|store|stores|possess|got)\b",
    r"\b(?:all|any\s+and\s+all)\s+(?:of\s+)?(?:the\s+)?(?:environmental\s+|recorded\s+|relevant\s+)?(?:information|info|data|records|documents|files|material|details)\s+(?:that\s+|which\s+)?(?:you|u|the\s+council|your\s+(?:organisation|organization|authority|council|department|office))\s*(?:'ve|\s+have|\s+has)?\s*(?:hold|holds|have|has|keep|keeps|store|stores|possess|got)\b",
    r"\b(?:all|any\s+and\s+all)\s+(?:of\s+)?(?:the\s+)?(?:environmental\s+|recorded\s+|relevant\s+)?(?:information|info|data|records|documents|files)\s+(?:held|on\s+file|there\s+is|available)\b",
    r"\beverything\s+(?:held|on\s+file|there\s+is|available)\b",
    r"\bany\s+and\s+all\s+(?:environmental\s+|recorded\s+|relevant\s+)?(?:information|info|data|records|documents|files)\b",
    // Information described somewhere else, not in the message: "the information we discussed
    // on the phone", "the documents I mentioned".
    r"\b(?:the\s+)?(?:information|info|data|records|documents|details|material)\s+(?:that\s+|which\s+)?(?:we|i|you|your\s+colleague)\s+(?:discussed|talked\s+about|spoke\s+about|mentioned|agreed)\b",
];

/// Words naming a concrete subject of a request. Matched as whole words, with an optional plural
/// `s`/`es`. Kept broad: any one of them is enough for a subject.
#[rustfmt::skip]
pub(super) const SUBJECT_WORDS: &[&str] = &[
    // Money and contracts.
    "spend", "spending", "spent", "expenditure", "cost", "budget", "payment", "invoice", "salary",
    "salaries", "pay", "bonus", "pension", "grant", "funding", "fee", "fines", "penalty",
    "penalties", "contract", "contractor", "tender", "procurement", "supplier", "lease", "rent",
    "income", "revenue", "debt", "allowance", "expense",
    // Documents and records of decisions.
    "policy", "policies", "procedure", "guidance", "strategy", "report", "minutes", "agenda",
    "correspondence", "email", "letter", "memo", "briefing", "decision", "meeting", "audit",
    "assessment", "survey", "review", "investigation", "inspection", "evaluation", "business case",
    "risk register", "register", "log", "plan", "framework", "agreement", "consultation",
    // Counts.
    "statistic", "figure", "number", "total", "amount", "breakdown", "list", "count", "percentage",
    "rate",
    // People and services.
    "staff", "employee", "officer", "councillor", "agency", "consultant", "complaint", "incident",
    "accident", "claim", "school", "pupil", "exclusion", "teacher", "housing", "tenancy",
    "homeless", "council tax", "business rates", "benefit", "care home", "social care", "adoption",
    "foster", "library", "libraries", "leisure", "park", "parking", "ticket", "road", "pothole",
    "repair", "traffic", "speed", "camera", "cctv", "bus", "transport", "vehicle", "fleet", "crime",
    "arrest", "police", "fire", "ambulance", "hospital", "waiting", "covid", "vaccination",
    // Environment (EIR).
    "planning", "application", "licence", "license", "permit", "development", "building",
    "property", "land", "tree", "flood", "flooding", "drainage", "waste", "recycling", "bin",
    "collection", "fly-tipping", "pollution", "air quality", "emission", "noise", "contamination",
    "asbestos", "energy", "sewage", "water", "river", "habitat", "pesticide", "highway",
];

/// Words that carry no content: function words, greetings, sign-offs and FOI boilerplate. Lower
/// case. Anything else with two or more letters is a content word.
#[rustfmt::skip]
const DESC_STOPWORDS: &[&str] = &[
    "a", "about", "above", "after", "again", "all", "also", "am", "an", "and", "any", "anything",
    "are", "as", "at", "be", "been", "before", "being", "below", "best", "but", "by", "can",
    "cheers", "could", "dear", "did", "do", "does", "doing", "done", "each", "either", "else",
    "etc", "ever", "every", "everything", "faithfully", "few", "for", "from", "further", "get",
    "go", "good", "had", "has", "have", "having", "he", "hello", "her", "here", "hers", "hey", "hi",
    "him", "his", "hope", "how", "i", "i'd", "i'll", "i'm", "i've", "if", "in", "into", "is", "it",
    "it's", "its", "just", "kind", "kindly", "let", "like", "many", "may", "me", "might", "mine",
    "more", "morning", "afternoon", "evening", "most", "much", "must", "my", "myself", "no", "nor",
    "not", "now", "of", "off", "ok", "okay", "on", "once", "one", "only", "or", "other", "our",
    "ours", "out", "over", "own", "please", "regards", "same", "see", "sent", "she", "should",
    "sincerely", "so", "some", "such", "than", "thank", "thanks", "that", "the", "their", "theirs",
    "them", "then", "there", "these", "they", "this", "those", "through", "to", "too", "under",
    "until", "up", "us", "very", "want", "was", "we", "well", "were", "what", "when", "where",
    "whether", "which", "while", "who", "whom", "why", "will", "wish", "wishes", "with", "would",
    "yes", "yet", "you", "you're", "your", "yours", "yourself", "sir", "madam", "concern", "team",
    "attached", "attachment", "attachments", "enclosed", "find", "file", "files", "copy", "request",
    "requests", "requesting", "requested", "information", "info", "freedom", "foi", "foia", "eir",
    "sar", "act", "regulations", "environmental", "section", "send", "provide", "help", "iphone",
    "android", "outlook", "mobile", "great", "day", "week", "soon", "possible", "forward", "look",
    "looking", "hear", "hearing", "appreciate", "appreciated", "grateful",
];

/// Words that, after "about"/"regarding"/…, do not make a topic ("about everything", "about me").
#[rustfmt::skip]
const TOPIC_STOPWORDS: &[&str] = &[
    "everything", "anything", "all", "me", "myself", "you", "yourself", "it", "this", "that",
    "them", "us", "stuff", "things", "thing", "matters", "everyone", "everybody", "anyone",
    "anybody", "whatever", "which", "what", "behalf", "file", "record", "records", "hold",
    "information", "data",
];

/// Legal boilerplate removed before looking for subjects and periods: the Act's name and year are
/// not what the requester is asking about, nor is "this email" or "the statutory 20 working days".
static BOILERPLATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:the\s+)?(?:freedom\s+of\s+information(?:\s*\(scotland\))?(?:\s+act)?|environmental\s+information(?:\s*\(scotland\))?\s+regulations|data\s+protection\s+act|general\s+data\s+protection\s+regulation|uk\s+gdpr|gdpr)(?:\s+(?:19|20)\d{2})?\b|\b(?:section|s\.|regulation|reg\.|article|art\.)\s*\d+(?:\(\d+\))*(?:\([a-z]\))?|\b(?:this|my|the)\s+e-?mail\b|\b(?:the\s+)?(?:statutory\s+)?(?:20|twenty|40|forty)\s+working\s+days\b",
    )
    .expect("built-in BOILERPLATE pattern compiles")
});

/// See [`CATCH_ALL`].
static CATCH_ALL_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!("(?i){}", CATCH_ALL.join("|")))
        .expect("built-in CATCH_ALL patterns compile")
});

/// See [`SUBJECT_WORDS`].
static SUBJECT_RE: LazyLock<Regex> = LazyLock::new(|| {
    let alts: Vec<String> = SUBJECT_WORDS
        .iter()
        .map(|w| regex::escape(w).replace(' ', r"\s+"))
        .collect();
    Regex::new(&format!(r"(?i)\b(?:{})(?:s|es)?\b|£\s?\d", alts.join("|")))
        .expect("built-in SUBJECT_WORDS pattern compiles")
});

/// Request wording.
static REQUEST_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\bplease\s+(?:could\s+you\s+|can\s+you\s+|would\s+you\s+)?(?:provide|send|disclose|supply|confirm|tell|advise|let\s+me\s+know|share|release|forward|give|email|e-mail|explain|state|list|detail|publish|make\s+available)\b|\bi\s+(?:would|'d|wish\s+to|want\s+to|am\s+writing\s+to)\s+(?:like\s+to\s+)?(?:request|obtain|see|receive|know|ask|have|like|find\s+out)\b|\bi(?:'d|\s+would)\s+(?:also\s+|further\s+|now\s+|really\s+)?like\b|\bi\s+(?:am\s+|'m\s+)?request(?:ing)?\b|\b(?:could|can|would|will)\s+you\s+(?:please\s+)?(?:provide|send|disclose|supply|confirm|tell|advise|let\s+me\s+know|share|release|forward|give|explain|list)\b|\bask(?:ing)?\s+for\b|\bhow\s+(?:many|much|often|long)\b|\b(?:what|which|who|when|where)\s+(?:is|was|are|were|did|does|do|has|have)\b|\b(?:a\s+)?cop(?:y|ies)\s+of\b|\b(?:details|list|breakdown|number|total|summary)\s+of\b|\?",
    )
    .expect("built-in REQUEST pattern compiles")
});

/// A topic introduced by a preposition; group 1 is its first word.
static TOPIC_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:about|regarding|concerning|relating\s+to|related\s+to|in\s+relation\s+to|in\s+respect\s+of|with\s+regards?\s+to|with\s+respect\s+to|on\s+the\s+(?:subject|topic|matter)\s+of|in\s+connection\s+with|re:|on)\s+(?:the\s+|a\s+|an\s+|your\s+|any\s+|all\s+|our\s+|its\s+)?([\p{L}][\p{L}'’\-]+)",
    )
    .expect("built-in TOPIC pattern compiles")
});

/// A time period.
static PERIOD_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:19|20)\d{2}\b|\b(?:january|february|april|june|july|august|september|october|november|december)\b|\bfinancial\s+years?\b|\b(?:last|past|previous)\s+(?:\d+|two|three|four|five|six|seven|eight|nine|ten|twelve)\s+(?:years?|months?|weeks?)\b|\b(?:since|between)\s+\d|\bper\s+(?:year|month|annum)\b|\beach\s+year\b|\bannually\b",
    )
    .expect("built-in PERIOD pattern compiles")
});

/// A subject asking for their own data (SAR).
static PERSONAL_DATA_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:my|our)\s+(?:own\s+)?(?:personal\s+)?(?:data|information|records?|files?|details|case\s+notes|notes)\b|\bpersonal\s+(?:data|information)\b|\b(?:about|on|of|regarding|concerning)\s+(?:me|myself)\b|\bsubject\s+access\b|\b(?:his|her|their)\s+(?:personal\s+)?(?:data|information|records?|files?|case\s+notes)\b|\b(?:son|daughter|child)'s\s+(?:personal\s+)?(?:data|information|records?|files?)\b|\b(?:d?sar)\b|\b(?:copy|copies)\s+of\s+(?:all\s+)?my\b|\baccess\s+to\s+my\b|\barticle\s+15\b|\bright\s+of\s+access\b",
    )
    .expect("built-in PERSONAL_DATA pattern compiles")
});

/// Words pointing at an attachment ("please see attached", "my request is enclosed").
static REFERS_TO_ATTACHMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\battach(?:ed|ment|ments)?\b|\benclosed\b|\bsee\s+(?:the\s+)?(?:letter|document|pdf|file)\b")
        .expect("built-in REFERS_TO_ATTACHMENT pattern compiles")
});

/// The signals found in a message; see the module docs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Signals {
    /// The catch-all phrase found, if any.
    pub catch_all: Option<String>,
    /// Request wording or a question.
    pub request: bool,
    /// A concrete subject word (outside any catch-all phrase).
    pub subject: Option<String>,
    /// A topic word after "about"/"regarding"/… (outside any catch-all phrase).
    pub topic: Option<String>,
    /// A time period (outside any catch-all phrase).
    pub period: bool,
    /// SAR wording: the requester's own data.
    pub personal_data: bool,
    /// Content words (see module docs).
    pub content_words: usize,
    /// The body points at an attachment.
    pub refers_to_attachment: bool,
}

/// Most content words counted, in words: the rules only compare against small thresholds.
const MAX_COUNTED_WORDS: usize = 1000;

/// Read the signals from the texts.
pub(super) fn signals(texts: &Texts) -> Signals {
    let text = BOILERPLATE.replace_all(&texts.all, " ");
    let catch_all = CATCH_ALL_RE.find(&text).map(|m| {
        m.as_str()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    });
    let rest = CATCH_ALL_RE.replace_all(&text, " ");
    let subject = SUBJECT_RE.find(&rest).map(|m| {
        m.as_str()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    });
    let topic = TOPIC_RE
        .captures_iter(&rest)
        .filter_map(|c| c.get(1))
        .map(|m| m.as_str().to_lowercase())
        .find(|w| !TOPIC_STOPWORDS.contains(&w.as_str()) && !DESC_STOPWORDS.contains(&w.as_str()));
    let content_words = words(&text)
        .filter(|w| w.chars().count() >= 2 && !DESC_STOPWORDS.contains(&w.as_str()))
        .take(MAX_COUNTED_WORDS)
        .count();
    Signals {
        catch_all,
        request: REQUEST_RE.is_match(&text),
        subject,
        topic,
        period: PERIOD_RE.is_match(&rest),
        personal_data: PERSONAL_DATA_RE.is_match(&texts.all),
        content_words,
        refers_to_attachment: texts
            .parts
            .first()
            .is_some_and(|p| REFERS_TO_ATTACHMENT.is_match(&p.text)),
    }
}

impl Signals {
    /// The signals that fired, named, for the notes: `request, subject 'spend', period, 12 words`.
    fn summary(&self) -> String {
        let mut s: Vec<String> = Vec::new();
        if let Some(c) = &self.catch_all {
            s.push(format!("catch_all '{c}'"));
        }
        if self.request {
            s.push("request".to_string());
        }
        if let Some(w) = &self.subject {
            s.push(format!("subject '{w}'"));
        }
        if let Some(w) = &self.topic {
            s.push(format!("topic '{w}'"));
        }
        if self.period {
            s.push("period".to_string());
        }
        if self.personal_data {
            s.push("personal_data".to_string());
        }
        s.push(format!("{} content words", self.content_words));
        s.join(", ")
    }
}

/// What [`check`] concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DescriptionFinding {
    /// Whether the information sought is described.
    pub described: bool,
    /// Notes for the audit trail.
    pub notes: Vec<String>,
}

/// Decide whether the message describes the information sought, for `kind` (FOI, EIR or SAR).
pub(super) fn check(kind: Kind, texts: &Texts) -> DescriptionFinding {
    let s = signals(texts);
    let mut notes = Vec::new();
    let concrete = s.subject.is_some() || s.topic.is_some();
    let described = if kind == Kind::Sar {
        s.request
            || s.personal_data
            || s.catch_all.is_some()
            || s.subject.is_some()
            || s.topic.is_some()
            || s.content_words >= LONG_TEXT_WORDS
    } else if s.catch_all.is_some() && !concrete && !s.period {
        notes.push(
            "description: asks for everything held with no subject; FOIA s.8(1)(c) needs the \
             information to be described (offer advice and assistance under s.16)"
                .to_string(),
        );
        false
    } else {
        (concrete && (s.content_words >= MIN_CONCRETE_WORDS || s.request || s.period))
            || (s.request && s.content_words >= MIN_REQUEST_WORDS)
            || s.content_words >= LONG_TEXT_WORDS
    };
    if described {
        notes.push(format!("description: found ({})", s.summary()));
    } else {
        if s.content_words == 0 && s.catch_all.is_none() {
            notes.push("description: the message has no content of its own".to_string());
        } else if s.catch_all.is_none() {
            notes.push(format!(
                "description: no request for identifiable information found ({})",
                s.summary()
            ));
        }
        if !texts.unread.is_empty() {
            notes.push(format!(
                "description: could not read attachment(s) {}; a person should read them before \
                 asking the requester",
                quoted_list(&texts.unread)
            ));
        } else if s.refers_to_attachment {
            notes.push(
                "description: the body refers to an attachment, but none came with the message"
                    .to_string(),
            );
        }
    }
    DescriptionFinding { described, notes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::message::Message;

    fn texts(subject: &str, body: &str) -> Texts {
        Texts::new(&Message {
            subject: subject.to_string(),
            body_text: body.to_string(),
            ..Message::default()
        })
    }

    #[test]
    fn signals_table() {
        /// (subject line, body, catch_all, request, subject word, topic, period)
        type Row<'a> = (
            &'a str,
            &'a str,
            bool,
            bool,
            Option<&'a str>,
            Option<&'a str>,
            bool,
        );
        let cases: &[Row] = &[
            (
                "",
                "Please send me everything you hold.",
                true,
                true,
                None,
                None,
                false,
            ),
            (
                "",
                "All information you have about everything",
                true,
                false,
                None,
                None,
                false,
            ),
            (
                "",
                "everything about everything",
                true,
                false,
                None,
                None,
                false,
            ),
            (
                "",
                "Please provide all information you hold about the Elm Road closure.",
                true,
                true,
                Some("road"),
                Some("elm"),
                false,
            ),
            (
                "",
                "How many potholes were repaired in 2024?",
                false,
                true,
                Some("potholes"),
                None,
                true,
            ),
            (
                "FOI request",
                "Under the Freedom of Information Act 2000",
                false,
                false,
                None,
                None,
                false,
            ),
            (
                "",
                "Spend on agency staff per year",
                false,
                false,
                Some("spend"),
                Some("agency"),
                true,
            ),
            (
                "",
                "Information regarding me",
                false,
                false,
                None,
                None,
                false,
            ),
            (
                "",
                "I would like a breakdown of £ spent",
                false,
                true,
                Some("breakdown"),
                None,
                false,
            ),
        ];
        for (subj, body, catch_all, request, subject, topic, period) in cases {
            let s = signals(&texts(subj, body));
            assert_eq!(s.catch_all.is_some(), *catch_all, "catch_all for {body:?}");
            assert_eq!(s.request, *request, "request for {body:?}");
            assert_eq!(s.subject.as_deref(), *subject, "subject for {body:?}");
            assert_eq!(s.topic.as_deref(), *topic, "topic for {body:?}");
            assert_eq!(s.period, *period, "period for {body:?}");
        }
    }

    #[test]
    fn check_table() {
        let cases: &[(Kind, &str, &str, bool)] = &[
            (Kind::Foi, "", "", false),
            (Kind::Foi, "", "Please see attached.", false),
            (Kind::Foi, "", "Hello, hope you are well.", false),
            (Kind::Foi, "", "Can you help?", false),
            (Kind::Foi, "", "Send me everything you hold.", false),
            (
                Kind::Foi,
                "",
                "Hi, can you call me back?\n\nJane Smith",
                false,
            ),
            (
                Kind::Foi,
                "",
                "Hi, I hope you had a good 2024.\n\nJane Smith",
                false,
            ),
            (Kind::Foi, "", "Hope you are fine.\n\nJane Smith", false),
            (
                Kind::Foi,
                "FOI Request",
                "Further to my phone call with your colleague this morning, please treat this email \
                 as my formal request under the Freedom of Information Act for the information we \
                 discussed. I look forward to hearing from you within the statutory 20 working \
                 days.\n\nRegards,\nMartin Lyle",
                false,
            ),
            (
                Kind::Foi,
                "",
                "Please send me the minutes we discussed on the phone, from the March 2026 cabinet.",
                true,
            ),
            (Kind::Foi, "", "I would also like the 2022 figures.", true),
            (Kind::Foi, "", "Can you send the report?", true),
            (
                Kind::Foi,
                "",
                "I would like to know the reasons for the closure of Westfield swimming pool.",
                true,
            ),
            (
                Kind::Foi,
                "",
                "Everything you hold on planning enforcement, please.",
                true,
            ),
            (
                Kind::Foi,
                "",
                "Please disclose the contracts with Acme Ltd since 2019.",
                true,
            ),
            (
                Kind::Foi,
                "Potholes repaired in 2024",
                "Please see attached.",
                true,
            ),
            (
                Kind::Eir,
                "",
                "Please provide air quality readings for Elm Road.",
                true,
            ),
            (
                Kind::Sar,
                "",
                "Please send me all the personal data you hold about me.",
                true,
            ),
            (Kind::Sar, "", "Send me everything you hold.", true),
            (Kind::Sar, "", "Hello", false),
            (Kind::Sar, "", "", false),
        ];
        for (kind, subj, body, want) in cases {
            let f = check(*kind, &texts(subj, body));
            assert_eq!(
                f.described, *want,
                "{kind} {subj:?} {body:?}: {:?}",
                f.notes
            );
            assert!(!f.notes.is_empty(), "every outcome is explained");
        }
    }
}
