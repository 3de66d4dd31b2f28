//! The eight kinds of mail foi-triage tells apart, and the legal regime each one runs under.
//!
//! The kind decides everything downstream: the reference prefix, whether validity is checked, which
//! deadline rules apply and whether an acknowledgement may be sent at all (`auto` never is).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a message is, as decided by the rules (or corrected by an officer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Freedom of Information request (FOIA 2000, FOISA 2002 in Scotland).
    Foi,
    /// Environmental Information Regulations request (EIR 2004, EIR(S) 2004).
    Eir,
    /// Subject access request (UK GDPR Art 15, DPA 2018 s.45).
    Sar,
    /// A journalist asking for comment or a statement.
    Media,
    /// A councillor, MP or mayor's office, usually for a constituent.
    MemberEnquiry,
    /// A complaint about a service or the handling of a request, including FOI internal reviews.
    Complaint,
    /// Anything else a human sends.
    General,
    /// Machine mail: bounces, out-of-office, bulk, no-reply. Never acknowledged.
    Auto,
}

impl Kind {
    /// Every kind, in the order the rules tie-break on (statutory kinds first).
    pub const ALL: [Kind; 8] = [
        Kind::Auto,
        Kind::Sar,
        Kind::Eir,
        Kind::Foi,
        Kind::Complaint,
        Kind::MemberEnquiry,
        Kind::Media,
        Kind::General,
    ];

    /// The snake_case name used in rule files, config and JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Foi => "foi",
            Kind::Eir => "eir",
            Kind::Sar => "sar",
            Kind::Media => "media",
            Kind::MemberEnquiry => "member_enquiry",
            Kind::Complaint => "complaint",
            Kind::General => "general",
            Kind::Auto => "auto",
        }
    }

    /// Whether the law sets the request's validity conditions (FOIA s.8, EIR, UK GDPR Art 15).
    pub fn is_statutory(self) -> bool {
        matches!(self, Kind::Foi | Kind::Eir | Kind::Sar)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A kind name that is not one of the eight.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown kind {0:?} (expected one of: foi, eir, sar, media, member_enquiry, complaint, general, auto)"
)]
pub struct UnknownKind(pub String);

impl FromStr for Kind {
    type Err = UnknownKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownKind(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in Kind::ALL {
            assert_eq!(k.as_str().parse::<Kind>().unwrap(), k);
            assert_eq!(
                serde_json::to_string(&k).unwrap(),
                format!("\"{}\"", k.as_str())
            );
        }
        assert!("FOI".parse::<Kind>().is_ok());
        assert!("freedom".parse::<Kind>().is_err());
    }
}
