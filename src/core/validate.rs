//! Is an FOI, EIR or subject access request valid, and if not, what is missing?
//!
//! A request under FOIA s.8(1) must be in writing, state the applicant's (real) name and an address
//! for correspondence, and describe the information requested (seed 003; `domain.md`, "A valid
//! request"). A SAR also needs proof of identity when the requester cannot be verified otherwise,
//! and, when made for a child or another person, proof of authority (UK GDPR Art 12(6); seed 001
//! B8/B9). An invalid request is not ignored: the acknowledgement asks for what is missing
//! ([`Missing::explain`]) and the clock starts when the answer arrives.
//!
//! [`validate`] is a pure function of the kind, the parsed [`Message`] and the [`Policy`] read
//! from the configuration: no clock, no I/O. Every conclusion comes with a note for the audit
//! trail and the officer.
//!
//! What it does **not** do: decide the kind (that is `rules`), check that a name is true or that a
//! document is genuine (no one can from an email, and the ICO says not to routinely try), or refuse
//! anything: it only reports what is missing. An email is "in writing" (FOIA s.8(2)), so that
//! condition always holds here.
//!
//! # Per kind
//! - **FOI**: name (a person, or an organisation as a legal person), contact address, description.
//! - **EIR**: treated like FOI, as `domain.md` asks. EIR 2004 reg 5 sets no written-request or name
//!   test of its own; a note says so whenever something is missing, so the officer asks for it as
//!   clarification (reg 9, advice and assistance) rather than treating the request as invalid.
//! - **SAR**: a person's name (an organisation alone is not a data subject), contact address, a
//!   request (asking for "all my personal data" is enough), identity that is provided or (under
//!   the default policy) verifiable, and, when made for someone else, evidence of authority.
//!
//! # Layout
//! - `name`: candidates (display names, forms, "my name is", sign-offs) and the
//!   real-name test, with the pseudonym word lists.
//! - `contact`: reply-capable email, labelled email in the text, postal address.
//! - `description`: the named description signals and rules.
//! - `identity`: the SAR identity state and authority for SARs.
//! - `details`: the details a SAR gives that the organisation can check (date of birth with an
//!   address, account and reference numbers, a staff address).
//! - `text`: the bounded view of the message all checks read.

mod contact;
mod description;
mod details;
mod identity;
mod name;
mod text;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::config::SarIdentityPolicy;
use crate::model::case::IdentityState;
use crate::model::kind::Kind;
use crate::model::message::Message;

/// What the configuration says about validity: the SAR identity policy and the organisation's
/// own staff domains (a SAR from one of them is verifiable against the staff record).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// `[validity] sar_identity`.
    pub sar_identity: SarIdentityPolicy,
    /// The staff domains, lower-cased (see `IntakeSettings::staff_domains_or`).
    pub staff_domains: Vec<String>,
}

/// What a statutory request lacks, in the order the acknowledgement lists it.
///
/// Serialised and displayed as `name`, `contact_address`, `description`, `identity`,
/// `authority`: these names appear in case records, audit events and templates, so they must not
/// change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Missing {
    /// The requester's real name (FOIA s.8(1)(b)).
    Name,
    /// An address for correspondence: an email that takes replies, or a postal address
    /// (FOIA s.8(1)(b)).
    ContactAddress,
    /// A description of the information sought (FOIA s.8(1)(c)).
    Description,
    /// SAR only: proof of the requester's identity, when neither a document nor details we can
    /// check are given (UK GDPR Art 12(6)).
    Identity,
    /// SAR only: evidence of authority to act for the person whose data is asked for (a child,
    /// a client, a relative; seed 001 B8/B9).
    Authority,
}

impl Missing {
    /// Every variant, in acknowledgement order.
    pub const ALL: [Missing; 5] = [
        Missing::Name,
        Missing::ContactAddress,
        Missing::Description,
        Missing::Identity,
        Missing::Authority,
    ];

    /// The snake_case name used in JSON, templates and the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            Missing::Name => "name",
            Missing::ContactAddress => "contact_address",
            Missing::Description => "description",
            Missing::Identity => "identity",
            Missing::Authority => "authority",
        }
    }

    /// One plain-English sentence for the "we need more information" email: what to send and the
    /// legal reason it is needed. Written to the requester ("your …").
    pub fn explain(self) -> &'static str {
        match self {
            Missing::Name => {
                "your real name: requests must be made in the requester's real name, not \
                 initials or a pseudonym, and for your own personal data we also need it to find \
                 your records (FOIA s.8(1)(b))"
            }
            Missing::ContactAddress => {
                "an address for our reply: an email or postal address we can write to, as the \
                 address your message came from does not accept replies (FOIA s.8(1)(b))"
            }
            Missing::Description => {
                "a description of the information you want: please tell us what it is about, \
                 what kind of records you mean and, if you can, the time period, so that we can \
                 identify and find it (FOIA s.8(1)(c))"
            }
            Missing::Identity => {
                "proof of your identity: a copy of one document such as your passport or driving \
                 licence, or details we can check against our own records, such as your date of \
                 birth and address or your council tax or tenancy reference; we must make sure \
                 personal data goes only to the person entitled to it (UK GDPR Art 12(6))"
            }
            Missing::Authority => {
                "proof that you may act for the person whose information you are asking for: for \
                 a child, evidence of parental responsibility (such as a birth certificate); for \
                 an adult, their signed consent or a power of attorney (UK GDPR Art 12(6))"
            }
        }
    }
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The validity of one FOI, EIR or SAR request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validity {
    /// True when nothing is missing: the statutory clock can start now.
    pub valid: bool,
    /// What is missing, in [`Missing::ALL`] order, each at most once. Empty when `valid`.
    pub missing: Vec<Missing>,
    /// Why, one finding per line, for the audit trail and the officer (never the whole body).
    pub notes: Vec<String>,
    /// The requester's real name as found (a person, or for FOI/EIR an organisation), if any.
    pub name: Option<String>,
    /// SAR only: where the requester's identity stands (`provided`, `verifiable`, `missing`).
    #[serde(default)]
    pub identity: Option<IdentityState>,
}

/// How to greet the person a display name, form field or sign-off names ("Adeyemi, Tom" →
/// "Tom Adeyemi", "DR A. KHAN" → "Dr Khan"), or `None` when it is not a person's name. The
/// convention is stated on `name::greeting`.
pub fn greeting_name(raw: &str) -> Option<String> {
    name::greeting(raw)
}

/// Check a request of `kind` for validity; `None` when `kind` is not FOI, EIR or SAR (local-policy
/// kinds have no statutory validity test).
///
/// Never panics, whatever the message holds; the work is bounded (see `text::MAX_SCAN_BYTES`).
pub fn validate(kind: Kind, msg: &Message, policy: &Policy) -> Option<Validity> {
    if !matches!(kind, Kind::Foi | Kind::Eir | Kind::Sar) {
        return None;
    }
    let texts = text::Texts::new(msg);
    let mut missing = Vec::new();
    let mut notes = Vec::new();
    if !texts.skipped.is_empty() {
        notes.push(format!(
            "text: attachment(s) {} not read (over the size budget); a person should read them",
            text::quoted_list(&texts.skipped)
        ));
    }

    let names = name::find(msg, &texts);
    notes.extend(names.notes);
    let chosen = match (names.person, names.organisation) {
        (Some(p), _) => Some(p),
        (None, Some(org)) if kind != Kind::Sar => {
            notes.push(format!(
                "name: '{}' is an organisation: a legal person may request information in its own \
                 name (ICO, valid request guidance)",
                text::quote(&org, 60)
            ));
            Some(org)
        }
        (None, Some(org)) => {
            notes.push(format!(
                "name: '{}' is an organisation; subject access is an individual's right, so the \
                 data subject's name (and authority to act for them) is needed",
                text::quote(&org, 60)
            ));
            None
        }
        (None, None) => None,
    };
    if chosen.is_none() {
        notes.push("name: no real name found".to_string());
        missing.push(Missing::Name);
    }

    let contact = contact::find(msg, &texts);
    notes.extend(contact.notes);
    if !contact.found {
        missing.push(Missing::ContactAddress);
    }

    let description = description::check(kind, &texts);
    notes.extend(description.notes);
    if !description.described {
        missing.push(Missing::Description);
    }

    let mut identity = None;
    if kind == Kind::Sar {
        let id = identity::check(msg, &texts, policy.sar_identity, &policy.staff_domains);
        if id.state == IdentityState::Missing {
            missing.push(Missing::Identity);
        }
        if id.authority_missing() {
            missing.push(Missing::Authority);
        }
        identity = Some(id.state);
        notes.extend(id.notes);
    }

    if kind == Kind::Eir && !missing.is_empty() {
        notes.push(
            "eir: EIR 2004 reg 5 sets no formal validity test like FOIA s.8; ask for the missing \
             items as clarification (reg 9) and deal with what can be understood"
                .to_string(),
        );
    }

    missing.sort();
    missing.dedup();
    Some(Validity {
        valid: missing.is_empty(),
        missing,
        notes,
        name: chosen,
        identity,
    })
}

#[cfg(test)]
mod tests;
