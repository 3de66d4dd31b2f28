//! Acknowledgement emails to requesters: their template context, and the complete RFC 5322
//! messages built from them.
//!
//! What it does:
//! - [`Letters::render_parts`] renders `templates/<name>/{subject.txt.j2, body.txt.j2,
//!   body.html.j2}` for one of [`TEMPLATE_NAMES`] from plain [`AckData`]; the registry
//!   ([`crate::letters::Letters::load`]) checks every one with this module's sample cases at load.
//! - [`Letters::render`] turns [`AckData`] into the bytes of a `multipart/alternative`
//!   message (text + HTML) built with lettre: our Message-ID (passed in, so a retry reuses it),
//!   threading headers to the requester's message, `Auto-Submitted: auto-replied` (RFC 3834) and
//!   `X-Auto-Response-Suppress: All` so other robots do not answer us.
//! - [`build_prepared`] does the same for a staff letter already rendered into a [`PreparedMail`].
//!
//! What it does not do: no I/O, no clock (the `Date:` is an argument), no sending (see
//! `mail::smtp`), and no decision about *whether* to acknowledge (the caller's job: never
//! acknowledge `auto` mail).
//!
//! Requester text (their subject, their name) is only ever template DATA, never template source,
//! so `{{ 7*7 }}` in a subject is printed as written, and it is HTML-escaped in the HTML part.

use std::collections::BTreeMap;
use std::time::SystemTime;

use chrono::{DateTime, NaiveDate, Utc};
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use minijinja::Value;

use crate::core::deadline::{Regime, Region, ReviewOf};
use crate::core::validate::Missing;
use crate::letters::registry::Letters;
use crate::letters::registry::{HTML, SUBJECT, TEXT};
use crate::letters::registry::{RenderError, RenderedParts};
use crate::letters::welsh;
use crate::model::case::IdentityState;
use crate::model::kind::Kind;
use crate::model::language::LetterLanguage;
use crate::model::letter::{MissingItem, PreparedMail};

/// Every template an installation must provide, one directory each under the template dir.
pub const TEMPLATE_NAMES: [&str; 9] = [
    "ack_foi",
    "ack_eir",
    "ack_sar",
    "ack_media",
    "ack_member_enquiry",
    "ack_complaint",
    "ack_general",
    "need_more_info",
    "followup_receipt",
];

/// The template that asks for what a request lacks; it must list at least one item.
pub const NEED_MORE_INFO: &str = "need_more_info";

/// The three files of each template directory: subject line, plain-text body, HTML body.
pub const TEMPLATE_PARTS: [&str; 3] = [SUBJECT, TEXT, HTML];

/// Largest acknowledgement template file we read, in bytes (64 KiB): an acknowledgement is a page
/// of text, and a bigger file is almost certainly the wrong file.
pub(super) const MAX_TEMPLATE_BYTES: u64 = 64 * 1024;

/// Most message ids we put in `References:`. RFC 5322 §3.6.4 lets a replier trim the list; we keep
/// the first (the thread root) and the newest ones, as common mail clients do, so a long thread
/// cannot make a huge header.
const MAX_REFERENCES: usize = 20;

/// Longest subject line we produce, in characters. RFC 5322 §2.1.1 recommends lines of at most 78
/// characters (lettre folds); this cap only stops a hostile 100 KB subject from being echoed.
const MAX_SUBJECT_CHARS: usize = 250;

/// Most reply/forward prefixes stripped from their subject for `topic` ("Re: Fwd: Re: …"): a
/// bound on the loop, far above what real mail carries.
const MAX_PREFIXES: usize = 20;

/// A date the way a UK letter writes it: "Friday 23 January 2027".
///
/// Officers and requesters read dates in words; numeric dates are ambiguous (US vs UK order).
pub fn date_in_words(date: NaiveDate) -> String {
    date.format("%A %-d %B %Y").to_string()
}

/// Everything a template may show, as plain data. Built by the caller from the case and config.
///
/// The legal wording (which Act, who reviews, which Commissioner) is derived from `regime` and
/// `region` here, not passed as free text, so the rights paragraph cannot disagree with the clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckData {
    /// Which template to use: one of [`TEMPLATE_NAMES`] (see [`ack_template_for`]).
    pub template: String,
    /// The public body's name, shown as the sender's display name and in the text.
    pub organisation: String,
    /// The shared mailbox address the acknowledgement comes from (and replies go to).
    pub shared_address: String,
    /// The case reference, e.g. `FOI-2026-000123`; put in the subject so replies join the case.
    pub reference: String,
    /// The kind of request, for wording.
    pub kind: Kind,
    /// The regime that sets the clock; `None` when there is none (then no rights text is shown).
    pub regime: Option<Regime>,
    /// The authority's UK region: Scottish bodies get FOISA wording and the Scottish Commissioner.
    pub region: Region,
    /// The day we received the request (Europe/London date).
    pub received: NaiveDate,
    /// The due date, when the clock is running (`None` e.g. while waiting for clarification).
    pub due: Option<NaiveDate>,
    /// The requester's display name as they wrote it, if any. DATA, never template source.
    pub requester_name: Option<String>,
    /// Where the acknowledgement goes (their Reply-To or From).
    pub requester_email: String,
    /// The subject of their message, as decoded. DATA, never template source.
    pub their_subject: String,
    /// What is missing (for `need_more_info`); empty otherwise.
    pub missing: Vec<MissingItem>,
    /// Subject access only: where the requester's proof of identity stands.
    pub identity: Option<IdentityState>,
    /// The language to write in: Welsh uses `templates/<name>/cy/` when the Welsh templates
    /// are loaded, and falls back to English when they are not (`[organisation] welsh` was
    /// switched off after the letter was queued).
    pub language: LetterLanguage,
}

impl Letters {
    /// Renders the subject line, text body and HTML body for `data`, without building a message.
    ///
    /// # Errors
    /// [`RenderError::UnknownTemplate`] or [`RenderError::Template`].
    pub fn render_parts(&self, data: &AckData) -> Result<RenderedParts, RenderError> {
        if !TEMPLATE_NAMES.contains(&data.template.as_str()) {
            return Err(RenderError::UnknownTemplate(data.template.clone()));
        }
        if data.template == NEED_MORE_INFO && data.missing.is_empty() {
            return Err(RenderError::NothingMissing);
        }
        let language = match data.language {
            LetterLanguage::Welsh if self.welsh() => LetterLanguage::Welsh,
            _ => LetterLanguage::English,
        };
        let folder = folder(&data.template, language);
        let ctx = context_for(data, language);
        let subject = self.render_part(&folder, SUBJECT, &ctx)?;
        let text = self.render_part(&folder, TEXT, &ctx)?;
        let html = self.render_part(&folder, HTML, &ctx)?;
        Ok(RenderedParts {
            subject: clean_header_text(&subject, MAX_SUBJECT_CHARS),
            text: ensure_trailing_newline(text),
            html: ensure_trailing_newline(html),
        })
    }

    /// Renders `data` into a complete RFC 5322 message (bytes ready for SMTP DATA).
    ///
    /// `message_id` is ours (with or without angle brackets); the caller generates it once and
    /// stores it, so a retried send carries the same id and clients can fold duplicates.
    /// `in_reply_to` is the requester's Message-ID and `references` their `References:` ids; our
    /// `References:` is theirs plus their Message-ID (RFC 5322 §3.6.4). Ids that are not valid
    /// (they come from the requester's mail) are dropped rather than failing the acknowledgement.
    ///
    /// # Errors
    /// A template error, an unusable address, an invalid `message_id`, or lettre refusing.
    pub fn render(
        &self,
        data: &AckData,
        message_id: &str,
        in_reply_to: Option<&str>,
        references: &[String],
        date: DateTime<Utc>,
    ) -> Result<Vec<u8>, RenderError> {
        let parts = self.render_parts(data)?;
        let our_id = normalize_msg_id(message_id)
            .ok_or_else(|| RenderError::MessageId(message_id.into()))?;

        let from_addr = data
            .shared_address
            .trim()
            .parse::<lettre::Address>()
            .map_err(|e| RenderError::Sender {
                address: data.shared_address.clone(),
                reason: e.to_string(),
            })?;
        let to_addr = data
            .requester_email
            .trim()
            .parse::<lettre::Address>()
            .map_err(|e| RenderError::Recipient {
                address: data.requester_email.clone(),
                reason: e.to_string(),
            })?;
        let from = Mailbox::new(Some(clean_header_text(&data.organisation, 200)), from_addr);
        let to_name = data
            .requester_name
            .as_deref()
            .map(|n| clean_header_text(n, 200))
            .filter(|n| !n.is_empty());
        let to = Mailbox::new(to_name, to_addr);

        let mut builder = lettre::Message::builder()
            .from(from)
            .to(to)
            .subject(parts.subject)
            .message_id(Some(our_id))
            .date(SystemTime::from(date))
            .header(AutoSubmitted::auto_replied())
            .header(XAutoResponseSuppress::all());
        let parent = in_reply_to.and_then(normalize_msg_id);
        if let Some(parent) = &parent {
            builder = builder.in_reply_to(parent.clone());
        }
        let refs = reference_chain(references, parent.as_deref());
        if !refs.is_empty() {
            builder = builder.references(refs.join(" "));
        }
        let body = MultiPart::alternative()
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(parts.text),
            )
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_HTML)
                    .body(parts.html),
            );
        let message = builder
            .multipart(body)
            .map_err(|e| RenderError::Build(e.to_string()))?;
        Ok(message.formatted())
    }
}

/// The folder (family name) of a requester template in a language: `ack_foi`, `ack_foi/cy`.
pub fn folder(template: &str, language: LetterLanguage) -> String {
    match language {
        LetterLanguage::English => template.to_string(),
        LetterLanguage::Welsh => format!("{template}/{WELSH_FOLDER}"),
    }
}

/// The sub-folder of a requester template that holds its Welsh version.
pub const WELSH_FOLDER: &str = "cy";

/// Builds a [`PreparedMail`] into RFC 5322 bytes, From the shared mailbox.
///
/// # Errors
/// An unusable address, an invalid Message-ID, or lettre refusing.
pub fn build_prepared(
    mail: &PreparedMail,
    organisation: &str,
    shared_address: &str,
    original: Option<&[u8]>,
    date: DateTime<Utc>,
) -> Result<Vec<u8>, RenderError> {
    let our_id = normalize_msg_id(&mail.message_id)
        .ok_or_else(|| RenderError::MessageId(mail.message_id.clone()))?;
    let from_addr = shared_address
        .trim()
        .parse::<lettre::Address>()
        .map_err(|e| RenderError::Sender {
            address: shared_address.to_string(),
            reason: e.to_string(),
        })?;
    let mut builder = lettre::Message::builder()
        .from(Mailbox::new(
            Some(clean_header_text(organisation, 200)),
            from_addr,
        ))
        .subject(clean_header_text(&mail.subject, MAX_SUBJECT_CHARS))
        .message_id(Some(our_id))
        .date(SystemTime::from(date))
        .header(AutoSubmitted::auto_generated())
        .header(XAutoResponseSuppress::all());
    let parse = |a: &String| {
        a.trim()
            .parse::<lettre::Address>()
            .map_err(|e| RenderError::Recipient {
                address: a.clone(),
                reason: e.to_string(),
            })
    };
    if mail.to.is_empty() {
        return Err(RenderError::Recipient {
            address: String::new(),
            reason: "no recipient".into(),
        });
    }
    for a in &mail.to {
        builder = builder.to(Mailbox::new(None, parse(a)?));
    }
    for a in &mail.cc {
        builder = builder.cc(Mailbox::new(None, parse(a)?));
    }
    if let Some(r) = &mail.reply_to {
        builder = builder.reply_to(Mailbox::new(None, parse(r)?));
    }
    if let Some(parent) = mail.in_reply_to.as_deref().and_then(normalize_msg_id) {
        builder = builder.in_reply_to(parent.clone()).references(parent);
    }
    let text = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(ensure_trailing_newline(mail.text.clone()));
    let body = match &mail.html {
        Some(html) => MultiPart::alternative().singlepart(text).singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(ensure_trailing_newline(html.clone())),
        ),
        None => MultiPart::alternative().singlepart(text),
    };
    let message = match original {
        Some(raw) => {
            let rfc822 = ContentType::parse("message/rfc822")
                .map_err(|e| RenderError::Build(e.to_string()))?;
            let attachment = lettre::message::Attachment::new("original-request.eml".into())
                .body(raw.to_vec(), rfc822);
            builder.multipart(MultiPart::mixed().multipart(body).singlepart(attachment))
        }
        None => builder.multipart(body),
    }
    .map_err(|e| RenderError::Build(e.to_string()))?;
    Ok(message.formatted())
}

fn ensure_trailing_newline(mut s: String) -> String {
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

/// One header-safe line: control characters (CR, LF, TAB, NUL…) become spaces, runs of
/// whitespace collapse, and the result is capped at `max_chars`. lettre already encodes headers;
/// this is a second guard, and it keeps a multi-line template output on one line.
fn clean_header_text(s: &str, max_chars: usize) -> String {
    let spaced: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let collapsed = spaced.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed.chars().take(max_chars).collect()
}

/// Their subject without reply/forward prefixes and without our own `[reference]` tag, so a
/// reply's acknowledgement reads "[FOI-…] We have received your message: Potholes", not
/// "…: Re: [FOI-…] Your request: Potholes". Bounded: at most [`MAX_PREFIXES`] strips.
fn subject_topic(subject: &str, reference: &str) -> String {
    const PREFIXES: [&str; 6] = ["re:", "fw:", "fwd:", "aw:", "sv:", "wg:"];
    let tag = format!("[{reference}]");
    let mut rest = subject.trim();
    for _ in 0..MAX_PREFIXES {
        let starts = |p: &str| {
            rest.get(..p.len())
                .is_some_and(|h| h.eq_ignore_ascii_case(p))
        };
        let cut = PREFIXES
            .iter()
            .find(|p| starts(p))
            .map(|p| p.len())
            .or_else(|| (!reference.is_empty() && starts(&tag)).then_some(tag.len()));
        match cut {
            Some(n) => rest = rest[n..].trim_start(),
            None => break,
        }
    }
    rest.to_string()
}

/// `<id>` when `raw` (with or without brackets) is a usable msg-id: visible ASCII, no brackets or
/// whitespace inside, one `@` with text on both sides (RFC 5322 §3.6.4, loosely).
fn normalize_msg_id(raw: &str) -> Option<String> {
    let t = raw.trim();
    let inner = t
        .strip_prefix('<')
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(t);
    let ok_chars = !inner.is_empty()
        && inner.len() <= 998
        && inner
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>');
    let (left, right) = inner.rsplit_once('@')?;
    (ok_chars && !left.is_empty() && !right.is_empty()).then(|| format!("<{inner}>"))
}

/// Their References plus their Message-ID, valid ids only, deduplicated, trimmed to
/// [`MAX_REFERENCES`] keeping the root and the newest.
fn reference_chain(references: &[String], parent: Option<&str>) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for id in references
        .iter()
        .filter_map(|r| normalize_msg_id(r))
        .chain(parent.map(str::to_string))
    {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.len() > MAX_REFERENCES {
        let tail = ids.split_off(ids.len() - (MAX_REFERENCES - 1));
        ids.truncate(1);
        ids.extend(tail);
    }
    ids
}

/// A header lettre does not know, holding one fixed value: `text_header!(Name, "Header-Name")`.
macro_rules! text_header {
    ($name:ident, $header:literal) => {
        #[derive(Debug, Clone, PartialEq, Eq)]
        struct $name(String);

        impl Header for $name {
            fn name() -> HeaderName {
                HeaderName::new_from_ascii_str($header)
            }
            fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
                Ok($name(s.trim().to_string()))
            }
            fn display(&self) -> HeaderValue {
                HeaderValue::new(Self::name(), self.0.clone())
            }
        }
    };
}

// `Auto-Submitted: auto-replied` (RFC 3834 §5): tells well-behaved responders not to answer.
text_header!(AutoSubmitted, "Auto-Submitted");

impl AutoSubmitted {
    fn auto_replied() -> Self {
        AutoSubmitted("auto-replied".to_string())
    }

    /// RFC 3834 for mail we start (not a reply to a message): staff mail.
    fn auto_generated() -> Self {
        AutoSubmitted("auto-generated".to_string())
    }
}

// `X-Auto-Response-Suppress: All`: stops Exchange/Outlook out-of-office replies to our ack.
text_header!(XAutoResponseSuppress, "X-Auto-Response-Suppress");

impl XAutoResponseSuppress {
    fn all() -> Self {
        XAutoResponseSuppress("All".to_string())
    }
}

/// Template variable `regime`: a stable snake_case key templates switch on.
fn regime_key(regime: Option<Regime>) -> &'static str {
    match regime {
        Some(Regime::Foia) => "foia",
        Some(Regime::Eir) => "eir",
        Some(Regime::Foisa) => "foisa",
        Some(Regime::EirScotland) => "eir_scotland",
        Some(Regime::Sar) => "sar",
        Some(Regime::Policy { .. }) => "policy",
        Some(Regime::Review { .. }) => "internal_review",
        None => "none",
    }
}

/// Template variable `regime_label`: the law in words, for "we are dealing with your request
/// under …".
fn regime_label(regime: Option<Regime>) -> &'static str {
    match regime {
        Some(Regime::Foia) => "the Freedom of Information Act 2000",
        Some(Regime::Eir) => "the Environmental Information Regulations 2004",
        Some(Regime::Foisa) => "the Freedom of Information (Scotland) Act 2002",
        Some(Regime::EirScotland) => "the Environmental Information (Scotland) Regulations 2004",
        Some(Regime::Sar) => "data protection law (UK GDPR Article 15)",
        Some(Regime::Review { of, .. }) => match of {
            ReviewOf::Foia => {
                "the Freedom of Information Act 2000 and its Code of Practice (internal review)"
            }
            ReviewOf::Eir => "regulation 11 of the Environmental Information Regulations 2004",
            ReviewOf::Foisa => "section 20 of the Freedom of Information (Scotland) Act 2002",
            ReviewOf::EirScotland => {
                "regulation 16 of the Environmental Information (Scotland) Regulations 2004"
            }
            ReviewOf::Sar => "our own complaints procedure for subject access requests",
        },
        Some(Regime::Policy { .. }) | None => "our own service standards",
    }
}

/// Template variable `kind_label`: what they sent, in words.
pub fn kind_label(kind: Kind) -> &'static str {
    match kind {
        Kind::Foi => "Freedom of Information request",
        Kind::Eir => "Environmental Information request",
        Kind::Sar => "subject access request",
        Kind::Media => "media enquiry",
        Kind::MemberEnquiry => "member enquiry",
        Kind::Complaint => "complaint",
        Kind::General => "enquiry",
        Kind::Auto => "message",
    }
}

fn region_key(region: Region) -> &'static str {
    match region {
        Region::EnglandAndWales => "england_and_wales",
        Region::Scotland => "scotland",
        Region::NorthernIreland => "northern_ireland",
    }
}

/// The words of the context that depend on the letter's language: labels and dates.
struct Words {
    kind_label: fn(Kind) -> &'static str,
    regime_label: fn(Option<Regime>) -> &'static str,
    date: fn(NaiveDate) -> String,
}

impl Words {
    fn of(language: LetterLanguage) -> Words {
        match language {
            LetterLanguage::English => Words {
                kind_label,
                regime_label,
                date: date_in_words,
            },
            LetterLanguage::Welsh => Words {
                kind_label: welsh::kind_label,
                regime_label: welsh::regime_label,
                date: welsh::date_in_words,
            },
        }
    }
}

/// The template context, in `language` (the labels and dates in words; `language` itself is
/// `en` or `cy`). Every variable is documented in `templates/README.md`; keep them in step.
fn context_for(data: &AckData, language: LetterLanguage) -> Value {
    let words = Words::of(language);
    let mut m: BTreeMap<&str, Value> = BTreeMap::new();
    m.insert("language", Value::from(language.tag()));
    m.insert("organisation", Value::from(data.organisation.as_str()));
    m.insert("shared_address", Value::from(data.shared_address.as_str()));
    m.insert("reference", Value::from(data.reference.as_str()));
    m.insert("kind", Value::from(data.kind.as_str()));
    m.insert("kind_label", Value::from((words.kind_label)(data.kind)));
    m.insert("regime", Value::from(regime_key(data.regime)));
    m.insert(
        "regime_label",
        Value::from((words.regime_label)(data.regime)),
    );
    m.insert(
        "statutory",
        Value::from(matches!(
            data.regime,
            Some(
                Regime::Foia
                    | Regime::Eir
                    | Regime::Foisa
                    | Regime::EirScotland
                    | Regime::Sar
                    | Regime::Review {
                        of: ReviewOf::Eir | ReviewOf::Foisa | ReviewOf::EirScotland,
                        ..
                    }
            )
        )),
    );
    let review = match data.regime {
        Some(Regime::Review { of, working_days }) => Some((of, working_days)),
        _ => None,
    };
    m.insert("internal_review", Value::from(review.is_some()));
    m.insert(
        "review_of",
        Value::from(review.map(|(of, _)| of.as_str()).unwrap_or_default()),
    );
    m.insert(
        "review_working_days",
        Value::from(review.map(|(_, days)| days)),
    );
    m.insert(
        "identity",
        Value::from(data.identity.map(IdentityState::as_str).unwrap_or_default()),
    );
    let policy_days = match data.regime {
        Some(Regime::Policy { working_days }) => Some(working_days),
        _ => None,
    };
    m.insert("policy_working_days", Value::from(policy_days));
    m.insert("region", Value::from(region_key(data.region)));
    m.insert("scotland", Value::from(data.region == Region::Scotland));
    m.insert("received", Value::from((words.date)(data.received)));
    m.insert("received_iso", Value::from(data.received.to_string()));
    m.insert("due", Value::from(data.due.map(words.date)));
    m.insert("due_iso", Value::from(data.due.map(|d| d.to_string())));
    m.insert(
        "requester_name",
        Value::from(
            data.requester_name
                .as_deref()
                .map(|n| clean_header_text(n, 200))
                .filter(|n| !n.is_empty()),
        ),
    );
    m.insert(
        "requester_email",
        Value::from(data.requester_email.as_str()),
    );
    m.insert(
        "their_subject",
        Value::from(clean_header_text(&data.their_subject, MAX_SUBJECT_CHARS)),
    );
    m.insert(
        "topic",
        Value::from(clean_header_text(
            &subject_topic(&data.their_subject, &data.reference),
            MAX_SUBJECT_CHARS,
        )),
    );
    let missing: Vec<Value> = data
        .missing
        .iter()
        .map(|item| {
            let mut e: BTreeMap<&str, Value> = BTreeMap::new();
            e.insert("name", Value::from(item.name.as_str()));
            let explain = match language {
                // Our own sentence is English: a Welsh template writes its own for the item.
                LetterLanguage::Welsh if is_standard_explanation(item) => "",
                _ => item.explain.as_str(),
            };
            e.insert("explain", Value::from(explain));
            Value::from(e)
        })
        .collect();
    m.insert("missing", Value::from(missing));
    Value::from(m)
}

/// Whether a missing item carries the program's own English sentence for it (what validation
/// found missing), rather than an officer's words.
fn is_standard_explanation(item: &MissingItem) -> bool {
    Missing::ALL
        .iter()
        .any(|m| m.as_str() == item.name && m.explain() == item.explain)
}

/// The load-time check's contexts for one acknowledgement template: [`sample_data`], rendered.
pub(super) fn samples(template: &str) -> Vec<Value> {
    sample_data(template)
        .iter()
        .map(|d| context_for(d, LetterLanguage::English))
        .collect()
}

/// The same for a Welsh template (`ack_foi/cy`): the sample cases in Welsh, with the
/// program's own missing items among them (whose explanation a Welsh letter does not get).
pub(super) fn samples_cy(family: &str) -> Vec<Value> {
    let template = family
        .strip_suffix(WELSH_FOLDER)
        .and_then(|t| t.strip_suffix('/'))
        .unwrap_or(family);
    let mut data = sample_data(template);
    let mut standard = data[0].clone();
    standard.missing = Missing::ALL
        .iter()
        .map(|m| MissingItem {
            name: m.as_str().into(),
            explain: m.explain().into(),
        })
        .collect();
    data.push(standard);
    data.iter()
        .map(|d| context_for(d, LetterLanguage::Welsh))
        .collect()
}

/// Sample cases for the load-time check: enough variety to walk every branch a sensible template
/// has (each regime and region, name or not, due date or not, missing items or not).
fn sample_data(template: &str) -> Vec<AckData> {
    let received = NaiveDate::from_ymd_opt(2026, 12, 21).unwrap_or_default();
    let due = NaiveDate::from_ymd_opt(2027, 1, 22);
    let base = AckData {
        template: template.to_string(),
        organisation: "Sample Borough Council".into(),
        shared_address: "foi@sample.gov.uk".into(),
        reference: "FOI-2026-000123".into(),
        kind: Kind::Foi,
        regime: Some(Regime::Foia),
        region: Region::EnglandAndWales,
        received,
        due,
        requester_name: Some("Sam Sample".into()),
        requester_email: "sam@example.org".into(),
        their_subject: "Sample request".into(),
        missing: vec![MissingItem {
            name: "name".into(),
            explain: "your real name".into(),
        }],
        identity: None,
        language: LetterLanguage::English,
    };
    let cases: [(Kind, Option<Regime>, Region); 14] = [
        (Kind::Foi, Some(Regime::Foia), Region::EnglandAndWales),
        (Kind::Foi, Some(Regime::Foisa), Region::Scotland),
        (Kind::Eir, Some(Regime::Eir), Region::NorthernIreland),
        (Kind::Eir, Some(Regime::EirScotland), Region::Scotland),
        (Kind::Sar, Some(Regime::Sar), Region::EnglandAndWales),
        (Kind::Sar, Some(Regime::Sar), Region::Scotland),
        (
            Kind::Complaint,
            Some(Regime::Policy { working_days: 10 }),
            Region::EnglandAndWales,
        ),
        (
            Kind::Media,
            Some(Regime::Policy { working_days: 2 }),
            Region::Scotland,
        ),
        (Kind::General, None, Region::EnglandAndWales),
        (
            Kind::MemberEnquiry,
            Some(Regime::Policy { working_days: 10 }),
            Region::NorthernIreland,
        ),
        (
            Kind::Complaint,
            Some(ReviewOf::Foia.regime(20)),
            Region::EnglandAndWales,
        ),
        (
            Kind::Complaint,
            Some(ReviewOf::Eir.regime(20)),
            Region::Scotland,
        ),
        (
            Kind::Complaint,
            Some(ReviewOf::Foisa.regime(20)),
            Region::Scotland,
        ),
        (
            Kind::Complaint,
            Some(ReviewOf::Sar.regime(15)),
            Region::NorthernIreland,
        ),
    ];
    let mut out = Vec::new();
    for (i, (kind, regime, region)) in cases.into_iter().enumerate() {
        let mut d = base.clone();
        d.kind = kind;
        d.regime = regime;
        d.region = region;
        if kind == Kind::Sar {
            d.identity = Some(if i % 2 == 0 {
                IdentityState::Verifiable
            } else {
                IdentityState::Provided
            });
        }
        out.push(d.clone());
        // The same case with the optional parts absent, alternating which are absent.
        d.requester_name = None;
        if i % 2 == 0 {
            d.due = None;
        }
        if i % 3 == 0 && template != NEED_MORE_INFO {
            d.missing.clear();
        }
        out.push(d);
    }
    // Staff commands (#clarify, #id, #fee) without a text: the template's default sentences.
    let mut d = base;
    d.missing = ["clarification", "identity", "fee"]
        .into_iter()
        .map(|name| MissingItem {
            name: name.into(),
            explain: String::new(),
        })
        .collect();
    out.push(d);
    out
}

#[cfg(test)]
mod welsh_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::letters::{TemplateError, TemplateErrors};
    use crate::model::letter::ack_template_for;
    use crate::model::message::Message;
    use proptest::prelude::*;
    use std::path::Path;
    use std::sync::OnceLock;

    fn repo_templates() -> &'static Letters {
        static T: OnceLock<Letters> = OnceLock::new();
        T.get_or_init(|| {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
            match Letters::load(&dir) {
                Ok(t) => t,
                Err(e) => panic!("shipped templates must load: {e}"),
            }
        })
    }

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    fn data(template: &str, kind: Kind, regime: Option<Regime>, region: Region) -> AckData {
        AckData {
            template: template.into(),
            organisation: "Exampleshire County Council".into(),
            shared_address: "foi@exampleshire.gov.uk".into(),
            reference: "FOI-2026-000123".into(),
            kind,
            regime,
            region,
            received: ymd(2026, 11, 23),
            due: Some(ymd(2026, 12, 21)),
            requester_name: Some("Jane Smith".into()),
            requester_email: "jane@example.org".into(),
            their_subject: "Pothole repairs 2025".into(),
            missing: if template == NEED_MORE_INFO {
                vec![("name".to_string(), "your real name".to_string()).into()]
            } else {
                Vec::new()
            },
            identity: None,
            language: LetterLanguage::English,
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-23T10:15:00Z")
            .expect("valid test time")
            .with_timezone(&Utc)
    }

    fn render(d: &AckData) -> Vec<u8> {
        let refs = vec!["root@mail.example.org".to_string()];
        match repo_templates().render(
            d,
            "ack-1@exampleshire.gov.uk",
            Some("<their-2@mail.example.org>"),
            &refs,
            now(),
        ) {
            Ok(raw) => raw,
            Err(e) => panic!("render {}: {e}", d.template),
        }
    }

    fn html_part(raw: &[u8]) -> String {
        let m = mail_parser::MessageParser::default()
            .parse(raw)
            .expect("rendered message parses");
        m.body_html(0).expect("has an HTML part").into_owned()
    }

    fn header<'a>(m: &'a Message, name: &str) -> &'a str {
        m.header(name)
            .unwrap_or_else(|| panic!("header {name} missing"))
    }

    /// Shared by the daemon's tasks: must be `Send + Sync` (a compile-time check).
    #[test]
    fn shareable_across_tasks() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<Letters>();
    }

    #[test]
    fn date_in_words_table() {
        let cases = [
            (ymd(2027, 1, 22), "Friday 22 January 2027"),
            (ymd(2027, 1, 1), "Friday 1 January 2027"),
            (ymd(2026, 11, 23), "Monday 23 November 2026"),
            (ymd(2024, 2, 29), "Thursday 29 February 2024"),
            (ymd(2026, 12, 25), "Friday 25 December 2026"),
            (ymd(2030, 9, 9), "Monday 9 September 2030"),
        ];
        for (d, want) in cases {
            assert_eq!(date_in_words(d), want, "{d}");
        }
    }

    #[test]
    fn shipped_templates_load_and_cover_every_kind() {
        let t = repo_templates();
        for name in TEMPLATE_NAMES {
            for part in TEMPLATE_PARTS {
                assert!(
                    t.env.get_template(&format!("{name}/{part}")).is_ok(),
                    "{name}/{part}"
                );
            }
        }
        for kind in Kind::ALL {
            match ack_template_for(kind) {
                Some(name) => assert!(TEMPLATE_NAMES.contains(&name), "{kind}"),
                None => assert_eq!(kind, Kind::Auto),
            }
        }
    }

    /// (template, kind, regime, region, subject after the reference, must contain, must not).
    type AckCase = (
        &'static str,
        Kind,
        Option<Regime>,
        Region,
        &'static str,
        Vec<&'static str>,
        Vec<&'static str>,
    );

    /// Each acknowledgement, parsed back: threading and robot headers, subject, due date in
    /// words, rights text for the regime and region.
    #[test]
    fn rendered_acknowledgements_parse_back() {
        let ico = "Information Commissioner's Office";
        let sic = "Scottish Information Commissioner";
        // (template, kind, regime, region, subject prefix, must contain, must not contain)
        let policy = Some(Regime::Policy { working_days: 10 });
        let cases: Vec<AckCase> = vec![
            (
                "ack_foi",
                Kind::Foi,
                Some(Regime::Foia),
                Region::EnglandAndWales,
                "Your request: Pothole repairs 2025",
                vec![
                    "Freedom of Information Act 2000",
                    "internal review",
                    "40 working days",
                    ico,
                    "20 working days",
                    "Monday 23 November 2026",
                ],
                vec![sic],
            ),
            (
                "ack_foi",
                Kind::Foi,
                Some(Regime::Foisa),
                Region::Scotland,
                "Your request: Pothole repairs 2025",
                vec![
                    "Freedom of Information (Scotland) Act 2002",
                    "review",
                    "40 working days",
                    sic,
                ],
                vec![ico],
            ),
            (
                "ack_eir",
                Kind::Eir,
                Some(Regime::Eir),
                Region::NorthernIreland,
                "Your request: Pothole repairs 2025",
                vec![
                    "Environmental Information Regulations 2004",
                    "internal review",
                    ico,
                ],
                vec![sic],
            ),
            (
                "ack_eir",
                Kind::Eir,
                Some(Regime::EirScotland),
                Region::Scotland,
                "Your request: Pothole repairs 2025",
                vec!["Environmental Information (Scotland) Regulations 2004", sic],
                vec![ico],
            ),
            (
                "ack_sar",
                Kind::Sar,
                Some(Regime::Sar),
                Region::Scotland,
                "Your request for your personal information: Pothole repairs 2025",
                vec!["one calendar month", ico, "UK GDPR"],
                vec![sic, "internal review"],
            ),
            (
                "ack_media",
                Kind::Media,
                Some(Regime::Policy { working_days: 2 }),
                Region::EnglandAndWales,
                "Your media enquiry: Pothole repairs 2025",
                vec!["2 working days", "deadline"],
                vec![ico],
            ),
            (
                "ack_member_enquiry",
                Kind::MemberEnquiry,
                policy,
                Region::EnglandAndWales,
                "Your enquiry: Pothole repairs 2025",
                vec!["10 working days", "constituent"],
                vec![ico],
            ),
            (
                "ack_complaint",
                Kind::Complaint,
                policy,
                Region::EnglandAndWales,
                "Your complaint: Pothole repairs 2025",
                vec!["internal review", ico],
                vec![sic],
            ),
            (
                "ack_complaint",
                Kind::Complaint,
                policy,
                Region::Scotland,
                "Your complaint: Pothole repairs 2025",
                vec![sic],
                vec![ico],
            ),
            (
                "ack_general",
                Kind::General,
                policy,
                Region::EnglandAndWales,
                "Your enquiry: Pothole repairs 2025",
                vec!["10 working days"],
                vec![ico],
            ),
            (
                "followup_receipt",
                Kind::Foi,
                Some(Regime::Foia),
                Region::EnglandAndWales,
                "We have received your message: Pothole repairs 2025",
                vec!["added it to your case FOI-2026-000123"],
                vec![],
            ),
        ];
        for (template, kind, regime, region, subject, must, must_not) in cases {
            let d = data(template, kind, regime, region);
            let raw = render(&d);
            let m = crate::core::parse::parse(&raw, &crate::core::extract::InProcess);
            let ctx = format!("{template} {regime:?} {region:?}");
            assert!(m.warnings.is_empty(), "{ctx}: {:?}", m.warnings);
            assert_eq!(m.subject, format!("[FOI-2026-000123] {subject}"), "{ctx}");
            let from = m.from.as_ref().expect("From");
            assert_eq!(from.email, "foi@exampleshire.gov.uk", "{ctx}");
            assert_eq!(
                from.name.as_deref(),
                Some("Exampleshire County Council"),
                "{ctx}"
            );
            assert_eq!(m.to.len(), 1, "{ctx}");
            assert_eq!(m.to[0].email, "jane@example.org", "{ctx}");
            assert_eq!(m.to[0].name.as_deref(), Some("Jane Smith"), "{ctx}");
            assert_eq!(
                m.message_id.as_deref(),
                Some("ack-1@exampleshire.gov.uk"),
                "{ctx}"
            );
            assert_eq!(m.in_reply_to, vec!["their-2@mail.example.org"], "{ctx}");
            assert_eq!(
                m.references,
                vec!["root@mail.example.org", "their-2@mail.example.org"],
                "{ctx}"
            );
            assert_eq!(
                m.machine.auto_submitted.as_deref(),
                Some("auto-replied"),
                "{ctx}"
            );
            assert_eq!(
                m.machine.x_auto_response_suppress.as_deref(),
                Some("All"),
                "{ctx}"
            );
            assert_eq!(m.date, Some(now()), "{ctx}");
            let html = html_part(&raw);
            for body in [&m.body_text, &html] {
                assert!(body.contains("Dear Jane Smith,"), "{ctx}: {body}");
                assert!(body.contains("FOI-2026-000123"), "{ctx}");
                assert!(body.contains("Exampleshire County Council"), "{ctx}");
                assert!(
                    body.contains("Monday 21 December 2026"),
                    "{ctx}: due in words"
                );
                for s in &must {
                    assert!(body.contains(s), "{ctx}: missing {s:?} in\n{body}");
                }
                if must.contains(&ico) {
                    assert!(body.contains("ico.org.uk"), "{ctx}: ICO address");
                }
                if must.contains(&sic) {
                    assert!(body.contains("www.foi.scot"), "{ctx}: SIC address");
                }
                for s in &must_not {
                    assert!(!body.contains(s), "{ctx}: unexpected {s:?} in\n{body}");
                }
                assert!(!body.contains("{{") && !body.contains("{%"), "{ctx}");
            }
            let raw_text = String::from_utf8_lossy(&raw);
            assert!(raw_text.contains("multipart/alternative"), "{ctx}");
        }
    }

    #[test]
    fn no_name_and_no_due_date() {
        let mut d = data(
            "ack_foi",
            Kind::Foi,
            Some(Regime::Foia),
            Region::EnglandAndWales,
        );
        d.requester_name = None;
        d.due = None;
        let raw = render(&d);
        let m = crate::core::parse::parse(&raw, &crate::core::extract::InProcess);
        assert!(m.body_text.starts_with("Hello,"), "{}", m.body_text);
        assert!(m.body_text.contains("as soon as we can"));
        assert!(!m.body_text.contains("December"));
        assert_eq!(m.to[0].name, None);
        assert_eq!(m.to[0].email, "jane@example.org");
    }

    #[test]
    fn sar_acknowledgements_say_how_identity_will_be_confirmed() {
        let base = data(
            "ack_sar",
            Kind::Sar,
            Some(Regime::Sar),
            Region::EnglandAndWales,
        );
        for (identity, says) in [
            (
                Some(IdentityState::Verifiable),
                "You do not need to send us an identity document",
            ),
            (
                Some(IdentityState::Provided),
                "Thank you for the proof of identity you sent",
            ),
            (None, "If we need proof of your identity, we will ask you."),
        ] {
            let mut d = base.clone();
            d.identity = identity;
            let parts = repo_templates().render_parts(&d).expect("renders");
            assert!(parts.text.contains(says), "{identity:?}: {}", parts.text);
            assert!(parts.html.contains(says), "{identity:?}");
        }
    }

    #[test]
    fn review_acknowledgements_give_the_review_law_and_time() {
        let cases = [
            (
                ReviewOf::Foia,
                Region::EnglandAndWales,
                "Code of Practice",
                "no more than 40 working days",
                "ico.org.uk",
            ),
            (
                ReviewOf::Eir,
                Region::EnglandAndWales,
                "regulation 11",
                "40 working days after",
                "ico.org.uk",
            ),
            (
                ReviewOf::Foisa,
                Region::Scotland,
                "section 20",
                "20 working days after",
                "www.foi.scot",
            ),
            (
                ReviewOf::Sar,
                Region::EnglandAndWales,
                "complaints procedure",
                "no statutory review",
                "ico.org.uk",
            ),
        ];
        for (of, region, law, time, regulator) in cases {
            let d = data(
                "ack_complaint",
                Kind::Complaint,
                Some(of.regime(20)),
                region,
            );
            let parts = repo_templates().render_parts(&d).expect("renders");
            assert!(
                parts
                    .subject
                    .contains("Your request for an internal review"),
                "{of:?}: {}",
                parts.subject
            );
            for want in [law, time, regulator, "Monday 21 December 2026"] {
                assert!(
                    parts.text.contains(want),
                    "{of:?}: {want:?} in {}",
                    parts.text
                );
            }
            if of != ReviewOf::Foia {
                assert!(!parts.text.contains("no more than 40"), "{of:?}");
            }
        }
        let plain = data(
            "ack_complaint",
            Kind::Complaint,
            Some(Regime::Policy { working_days: 10 }),
            Region::EnglandAndWales,
        );
        let parts = repo_templates().render_parts(&plain).expect("renders");
        assert!(parts.subject.contains("Your complaint"));
        assert!(parts.text.contains("10 working days after we received it"));
    }

    #[test]
    fn need_more_info_lists_each_item_and_says_clock_not_started() {
        let mut d = data(
            "need_more_info",
            Kind::Foi,
            Some(Regime::Foia),
            Region::EnglandAndWales,
        );
        d.due = None;
        d.missing = vec![
            (
                "name".to_string(),
                "your real name, not initials".to_string(),
            )
                .into(),
            MissingItem {
                name: "description".into(),
                explain: "a description of the information you want & why <now>".into(),
            },
        ];
        let raw = render(&d);
        let m = crate::core::parse::parse(&raw, &crate::core::extract::InProcess);
        assert_eq!(
            m.subject,
            "[FOI-2026-000123] We need more information: Pothole repairs 2025"
        );
        let text = &m.body_text;
        assert!(text.contains("- your real name, not initials\n"), "{text}");
        assert!(text.contains("- a description of the information you want & why <now>\n"));
        assert!(text.contains("has not started yet"));
        assert!(text.contains("Freedom of Information Act 2000"));
        let html = html_part(&raw);
        assert!(
            html.contains("<li>your real name, not initials</li>"),
            "{html}"
        );
        assert!(html.contains("want &amp; why &lt;now&gt;</li>"), "{html}");
        assert!(html.contains("has not started yet"));
    }

    /// `#clarify`, `#id` and `#fee` without a text send the item's name and an empty explanation;
    /// the template says the default sentence the workflow used to write in Rust, word for word.
    #[test]
    fn need_more_info_defaults_match_the_workflow_wording() {
        let table = [
            (
                "clarification",
                "please tell us more precisely what information you are asking for, so that we can find it",
            ),
            (
                "identity",
                "proof of your identity (for example a copy of a passport or driving licence and a recent utility bill), so that we do not disclose your personal data to someone else",
            ),
            (
                "fee",
                "payment of the fee in the fees notice we will send you; the time for our response is paused until it is paid",
            ),
        ];
        let base = data(
            NEED_MORE_INFO,
            Kind::Sar,
            Some(Regime::Sar),
            Region::EnglandAndWales,
        );
        for (name, sentence) in table {
            let mut by_name = base.clone();
            by_name.missing = vec![(name.to_string(), String::new()).into()];
            // What the workflow sends today: always "clarification", with the sentence.
            let mut today = base.clone();
            today.missing = vec![("clarification".to_string(), sentence.to_string()).into()];
            let t = repo_templates();
            let got = t.render_parts(&by_name).expect("renders");
            assert_eq!(got, t.render_parts(&today).expect("renders"), "{name}");
            assert!(got.text.contains(&format!("- {sentence}\n")), "{name}");
            // An officer's own text wins over the default.
            by_name.missing = vec![(name.to_string(), "a copy of your bill".to_string()).into()];
            let own = t.render_parts(&by_name).expect("renders");
            assert!(own.text.contains("- a copy of your bill\n"), "{}", own.text);
            assert!(!own.text.contains(sentence), "{name}");
        }
        // An unknown item with no explanation still prints its (empty) bullet, as before.
        let mut other = base.clone();
        other.missing = vec![("name".to_string(), String::new()).into()];
        let text = repo_templates().render_parts(&other).expect("renders").text;
        assert!(text.contains("\n- \n"), "{text}");
    }

    /// Requester text is data: template syntax in it is printed, HTML in it is escaped in the
    /// HTML part only.
    #[test]
    fn requester_text_is_data_not_template_source() {
        let hostile = "{{ 7*7 }} {% if true %}x{% endif %} <script>alert(1)</script>";
        for template in ["ack_foi", "followup_receipt", "need_more_info"] {
            let mut d = data(
                template,
                Kind::Foi,
                Some(Regime::Foia),
                Region::EnglandAndWales,
            );
            d.their_subject = hostile.into();
            d.requester_name = Some("{{ organisation }} <b>Bob</b>".into());
            let raw = render(&d);
            let m = crate::core::parse::parse(&raw, &crate::core::extract::InProcess);
            assert!(m.subject.ends_with(hostile), "{template}: {}", m.subject);
            assert!(!m.subject.contains("49"), "{template}");
            assert!(
                m.body_text.contains("Dear {{ organisation }} <b>Bob</b>,"),
                "{template}: {}",
                m.body_text
            );
            let html = html_part(&raw);
            assert!(!html.contains("<script>"), "{template}: {html}");
            assert!(!html.contains("<b>Bob"), "{template}");
            assert!(
                html.contains("&lt;b&gt;Bob&lt;&#x2f;b&gt;")
                    || html.contains("&lt;b&gt;Bob&lt;/b&gt;"),
                "{template}: {html}"
            );
            if template == "followup_receipt" {
                assert!(m.body_text.contains(hostile), "{template}");
                assert!(html.contains("{{ 7*7 }}"), "{template}");
                assert!(html.contains("&lt;script&gt;"), "{template}: {html}");
            }
        }
    }

    /// CR/LF in their subject or name cannot add headers (lettre encodes; we also flatten).
    #[test]
    fn header_injection_is_impossible() {
        let cases = [
            ("Hello\r\nBcc: victim@evil.example", "Eve"),
            (
                "Hello\nBcc: victim@evil.example",
                "Eve\r\nBcc: other@evil.example",
            ),
            ("Hi\r\n\r\n<html>body", "Eve\rX-Injected: yes"),
            (
                "=?utf-8?q?a?=\r\nX-Injected: yes",
                "\"Eve\"\r\nX-Injected: yes",
            ),
        ];
        for (subject, name) in cases {
            let mut d = data(
                "ack_foi",
                Kind::Foi,
                Some(Regime::Foia),
                Region::EnglandAndWales,
            );
            d.their_subject = subject.into();
            d.requester_name = Some(name.into());
            let raw = render(&d);
            let text = String::from_utf8_lossy(&raw);
            for line in text.split("\r\n") {
                let l = line.to_ascii_lowercase();
                assert!(!l.starts_with("bcc:"), "{subject:?}: {line}");
                assert!(!l.starts_with("x-injected:"), "{subject:?}: {line}");
            }
            let m = crate::core::parse::parse(&raw, &crate::core::extract::InProcess);
            assert!(m.header("bcc").is_none(), "{subject:?}");
            assert!(m.header("x-injected").is_none(), "{subject:?}");
            assert_eq!(m.to.len(), 1, "{subject:?}");
            assert_eq!(m.to[0].email, "jane@example.org", "{subject:?}");
            assert!(m.subject.starts_with("[FOI-2026-000123] Your request: "));
            assert!(!m.subject.contains('\r') && !m.subject.contains('\n'));
            assert_eq!(header(&m, "auto-submitted"), "auto-replied");
        }
    }

    #[test]
    fn render_errors_are_typed() {
        let t = repo_templates();
        let good = data(
            "ack_foi",
            Kind::Foi,
            Some(Regime::Foia),
            Region::EnglandAndWales,
        );
        let mut unknown = good.clone();
        unknown.template = "ack_fio".into();
        assert!(matches!(
            t.render(&unknown, "a@b", None, &[], now()),
            Err(RenderError::UnknownTemplate(n)) if n == "ack_fio"
        ));
        let mut nothing = good.clone();
        nothing.template = NEED_MORE_INFO.into();
        assert!(matches!(
            t.render(&nothing, "a@b", None, &[], now()),
            Err(RenderError::NothingMissing)
        ));
        let mut bad_to = good.clone();
        bad_to.requester_email = "not an address".into();
        assert!(matches!(
            t.render(&bad_to, "a@b", None, &[], now()),
            Err(RenderError::Recipient { .. })
        ));
        let mut bad_from = good.clone();
        bad_from.shared_address = "foi at council".into();
        assert!(matches!(
            t.render(&bad_from, "a@b", None, &[], now()),
            Err(RenderError::Sender { .. })
        ));
        for id in ["", "no-at-sign", "<a b@c>", "a@b\r\nX: y", "@b", "a@"] {
            assert!(
                matches!(
                    t.render(&good, id, None, &[], now()),
                    Err(RenderError::MessageId(_))
                ),
                "{id:?}"
            );
        }
        // A bad id from the requester is dropped, not fatal.
        let raw = t
            .render(&good, "<a@b>", Some("garbage id"), &["x y".into()], now())
            .expect("renders");
        let m = crate::core::parse::parse(&raw, &crate::core::extract::InProcess);
        assert!(m.in_reply_to.is_empty());
        assert!(m.references.is_empty());
        assert_eq!(m.message_id.as_deref(), Some("a@b"));
    }

    #[test]
    fn msg_id_normalisation_table() {
        let cases = [
            ("a@b", Some("<a@b>")),
            ("<a@b>", Some("<a@b>")),
            ("  <x.y+z@host.example>  ", Some("<x.y+z@host.example>")),
            ("a@b@c", Some("<a@b@c>")),
            ("", None),
            ("<>", None),
            ("ab", None),
            ("a @b", None),
            ("a@b\n", Some("<a@b>")),
            ("a\n@b", None),
            ("<a@b", None),
            ("é@b", None),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize_msg_id(raw).as_deref(), want, "{raw:?}");
        }
    }

    #[test]
    fn references_are_deduplicated_and_trimmed() {
        let refs: Vec<String> = (0..30).map(|i| format!("r{i}@x")).collect();
        let chain = reference_chain(&refs, Some("<p@x>"));
        assert_eq!(chain.len(), MAX_REFERENCES);
        assert_eq!(chain[0], "<r0@x>");
        assert_eq!(chain[MAX_REFERENCES - 1], "<p@x>");
        assert_eq!(chain[MAX_REFERENCES - 2], "<r29@x>");
        let dup = vec!["a@x".to_string(), "<a@x>".to_string(), "p@x".to_string()];
        assert_eq!(reference_chain(&dup, Some("<p@x>")), vec!["<a@x>", "<p@x>"]);
        assert!(reference_chain(&[], None).is_empty());
    }

    #[test]
    fn subject_topic_table() {
        let r = "FOI-2026-000123";
        let cases = [
            ("Potholes", "Potholes"),
            ("Re: Potholes", "Potholes"),
            ("RE: Fwd: re:Potholes", "Potholes"),
            (
                "Re: [FOI-2026-000123] Your request: Potholes",
                "Your request: Potholes",
            ),
            ("[foi-2026-000123] Re: x", "x"),
            ("[FOI-2026-000999] x", "[FOI-2026-000999] x"),
            ("Regarding potholes", "Regarding potholes"),
            ("  ", ""),
            ("Ré: x", "Ré: x"),
            ("İİİ", "İİİ"),
        ];
        for (raw, want) in cases {
            assert_eq!(subject_topic(raw, r), want, "{raw:?}");
        }
        let many = "Re: ".repeat(50) + "x";
        assert!(subject_topic(&many, r).ends_with("Re: x"));
    }

    #[test]
    fn reply_subject_is_not_doubled() {
        let mut d = data(
            "followup_receipt",
            Kind::Foi,
            Some(Regime::Foia),
            Region::EnglandAndWales,
        );
        d.their_subject = "RE: [FOI-2026-000123] Your request: Pothole repairs 2025".into();
        let m = crate::core::parse::parse(&render(&d), &crate::core::extract::InProcess);
        assert_eq!(
            m.subject,
            "[FOI-2026-000123] We have received your message: Your request: Pothole repairs 2025"
        );
    }

    #[test]
    fn clean_header_text_table() {
        let cases = [
            ("a\r\nb", 100, "a b"),
            ("  a \t\t b  ", 100, "a b"),
            ("a\0b", 100, "a b"),
            ("abcdef", 3, "abc"),
            ("", 10, ""),
            ("ünïcödé ok", 100, "ünïcödé ok"),
        ];
        for (raw, max, want) in cases {
            assert_eq!(clean_header_text(raw, max), want, "{raw:?}");
        }
    }

    fn write_set(dir: &Path, skip: &[&str]) {
        for name in TEMPLATE_NAMES {
            if skip.contains(&name) {
                continue;
            }
            std::fs::create_dir_all(dir.join(name)).expect("mkdir");
            std::fs::write(
                dir.join(name).join("subject.txt.j2"),
                "[{{ reference }}] hi\n",
            )
            .expect("write");
            std::fs::write(
                dir.join(name).join("body.txt.j2"),
                "Dear {{ requester_name }}\n",
            )
            .expect("write");
            std::fs::write(
                dir.join(name).join("body.html.j2"),
                "<p>{{ their_subject }}</p>\n",
            )
            .expect("write");
        }
        // The staff letters, as plain text: these tests are about the acknowledgements.
        for family in crate::letters::FAMILIES {
            if TEMPLATE_NAMES.contains(&family.name) || skip.contains(&family.name) {
                continue;
            }
            std::fs::create_dir_all(dir.join(family.name)).expect("mkdir");
            for file in family.files() {
                std::fs::write(dir.join(file), "x\n").expect("write");
            }
        }
    }

    #[test]
    fn minimal_set_loads_and_html_is_escaped_text_is_not() {
        let tmp = tempfile::tempdir().expect("tempdir");
        write_set(tmp.path(), &[]);
        let t = Letters::load(tmp.path()).expect("minimal set loads");
        let mut d = data("ack_general", Kind::General, None, Region::EnglandAndWales);
        d.their_subject = "Tom & Jerry <x>".into();
        d.requester_name = Some("Tom & Jerry".into());
        let parts = t.render_parts(&d).expect("renders");
        assert_eq!(parts.subject, "[FOI-2026-000123] hi");
        assert_eq!(parts.text, "Dear Tom & Jerry\n");
        assert_eq!(parts.html, "<p>Tom &amp; Jerry &lt;x&gt;</p>\n");
    }

    /// Every error is reported at once, each with its file and, where it has one, its line.
    #[test]
    fn load_reports_every_error_with_file_and_line() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        write_set(dir, &["ack_media", "ack_sar"]);
        // Syntax error on line 3.
        std::fs::write(
            dir.join("ack_foi/body.txt.j2"),
            "Dear {{ requester_name }}\n\n{% if due %}no end\n",
        )
        .expect("write");
        // A typo in a variable, found by the sample render, on line 2.
        std::fs::write(
            dir.join("ack_eir/body.html.j2"),
            "<p>ok</p>\n<p>{{ refrence }}</p>\n",
        )
        .expect("write");
        // Missing part.
        std::fs::remove_file(dir.join("ack_general/subject.txt.j2")).expect("rm");
        // Not UTF-8.
        std::fs::write(dir.join("ack_complaint/body.txt.j2"), [0xff, 0xfe, 0x00]).expect("write");
        let errs = match Letters::load(dir) {
            Ok(_) => panic!("broken set must not load"),
            Err(e) => e,
        };
        let find = |suffix: &str| {
            errs.0
                .iter()
                .find(|e| e.file.ends_with(suffix))
                .unwrap_or_else(|| panic!("no error for {suffix} in {errs}"))
                .clone()
        };
        let missing_media = find("ack_media");
        assert!(missing_media.message.contains("missing"), "{missing_media}");
        find("ack_sar");
        let syntax = find("ack_foi/body.txt.j2");
        assert_eq!(syntax.line, Some(3), "{syntax}");
        let missing_part = find("ack_general/subject.txt.j2");
        assert!(
            missing_part.message.contains("cannot read"),
            "{missing_part}"
        );
        let utf8 = find("ack_complaint/body.txt.j2");
        assert!(utf8.message.contains("UTF-8"), "{utf8}");
        // The undefined variable is a render-time error, reported once the files all compile.
        assert!(
            !errs
                .0
                .iter()
                .any(|e| e.file.ends_with("ack_eir/body.html.j2"))
        );
        assert_eq!(errs.0.len(), 5, "{errs}");
        let shown = errs.to_string();
        assert!(shown.starts_with("5 template error(s):"), "{shown}");

        // Fix the compile errors: now the sample render finds the typo, with its line.
        write_set(dir, &[]);
        std::fs::write(
            dir.join("ack_eir/body.html.j2"),
            "<p>ok</p>\n<p>{{ refrence }}</p>\n",
        )
        .expect("write");
        std::fs::write(
            dir.join("ack_sar/subject.txt.j2"),
            "{% if due %}{{ due.nope }}{% endif %}\n",
        )
        .expect("write");
        let errs = match Letters::load(dir) {
            Ok(_) => panic!("undefined variables must fail at load"),
            Err(e) => e,
        };
        assert_eq!(errs.0.len(), 2, "{errs}");
        let typo = find_in(&errs, "ack_eir/body.html.j2");
        assert_eq!(typo.line, Some(2), "{typo}");
        assert!(typo.message.contains("undefined"), "{typo}");
        let attr = find_in(&errs, "ack_sar/subject.txt.j2");
        assert_eq!(attr.line, Some(1), "{attr}");
    }

    fn find_in(errs: &TemplateErrors, suffix: &str) -> TemplateError {
        errs.0
            .iter()
            .find(|e| e.file.ends_with(suffix))
            .unwrap_or_else(|| panic!("no error for {suffix} in {errs}"))
            .clone()
    }

    #[test]
    fn oversized_template_is_refused() {
        let tmp = tempfile::tempdir().expect("tempdir");
        write_set(tmp.path(), &[]);
        let big = "x".repeat(usize::try_from(MAX_TEMPLATE_BYTES).unwrap_or(65536) + 1);
        std::fs::write(tmp.path().join("ack_foi/body.txt.j2"), big).expect("write");
        let errs = Letters::load(tmp.path()).expect_err("too big");
        assert_eq!(errs.0.len(), 1);
        assert!(errs.0[0].message.contains("at most"), "{}", errs);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Any subject and name: renders, one To, no extra headers, subject keeps the reference.
        #[test]
        fn any_requester_text_renders_safely(subject in "\\PC{0,120}|[\\r\\n:a-zA-Z{}%<>]{0,60}",
                                             name in "\\PC{0,40}|[\\r\\n:a-zA-Z\"<>@]{0,30}") {
            let mut d = data("ack_foi", Kind::Foi, Some(Regime::Foia), Region::EnglandAndWales);
            d.their_subject = subject;
            d.requester_name = Some(name);
            let raw = repo_templates()
                .render(&d, "<p@x>", None, &[], now())
                .expect("any text renders");
            let m = crate::core::parse::parse(&raw, &crate::core::extract::InProcess);
            prop_assert_eq!(m.to.len(), 1);
            prop_assert_eq!(&m.to[0].email, "jane@example.org");
            prop_assert!(m.subject.starts_with("[FOI-2026-000123] Your request"));
            prop_assert!(m.header("bcc").is_none());
            let names: Vec<&str> = m.headers.iter().map(|(n, _)| n.as_str()).collect();
            for n in &names {
                prop_assert!([
                    "from", "to", "subject", "message-id", "date", "auto-submitted",
                    "x-auto-response-suppress", "mime-version", "content-type",
                    "content-transfer-encoding"
                ].contains(n), "unexpected header {}", n);
            }
        }
    }

    #[test]
    fn prepared_staff_mail_carries_copies_reply_address_and_the_original() {
        let date = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 23, 9, 0, 0)
            .single()
            .expect("valid");
        let original =
            b"From: pat@example.org\r\nSubject: FOI request\r\n\r\nPlease provide X.\r\n";
        let mail = PreparedMail {
            to: vec!["alice@council.example".into()],
            cc: vec!["manager@council.example".into()],
            reply_to: Some("foi+FOI-2026-000001.abc@council.example".into()),
            subject: "[FOI-2026-000001] Assigned to you".into(),
            text: "Please deal with this case.".into(),
            html: Some("<p>Please deal with this case.</p>".into()),
            message_id: "x1@council.example".into(),
            in_reply_to: Some("staff-cmd@council.example".into()),
            attach_original: Some("hash".into()),
        };
        let raw = build_prepared(
            &mail,
            "Example Council",
            "foi@council.example",
            Some(original),
            date,
        )
        .expect("build");
        let text = String::from_utf8_lossy(&raw);
        for want in [
            "Auto-Submitted: auto-generated",
            "Cc: manager@council.example",
            "Reply-To: foi+FOI-2026-000001.abc@council.example",
            "In-Reply-To: <staff-cmd@council.example>",
            "Content-Type: message/rfc822",
            "Subject: FOI request",
        ] {
            assert!(text.contains(want), "{want} missing in:\n{text}");
        }
        let parsed = crate::core::parse::parse(&raw, &crate::core::extract::InProcess);
        assert_eq!(parsed.subject, "[FOI-2026-000001] Assigned to you");
        assert_eq!(parsed.message_id.as_deref(), Some("x1@council.example"));
        assert!(parsed.body_text.contains("Please deal with this case."));

        let no_original =
            build_prepared(&mail, "Example Council", "foi@council.example", None, date)
                .expect("build");
        assert!(!String::from_utf8_lossy(&no_original).contains("message/rfc822"));
        let bad = [
            PreparedMail {
                to: vec![],
                ..mail.clone()
            },
            PreparedMail {
                to: vec!["not an address".into()],
                ..mail.clone()
            },
            PreparedMail {
                message_id: "no at sign".into(),
                ..mail.clone()
            },
        ];
        for m in bad {
            assert!(
                build_prepared(&m, "Example Council", "foi@council.example", None, date).is_err(),
                "{m:?}"
            );
        }
    }
}
