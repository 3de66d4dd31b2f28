//! How requests reach the mailbox and what a valid subject access request must show: the
//! `[intake]`, `[validity]` and `[reviews]` sections. Read and checked here; applied by
//! `core::intake` (relayed and internal mail), `core::validate` (SAR identity) and
//! `core::review` (internal-review clocks).

use crate::config::ConfigError;
use crate::config::toml::{Section, key_path};
use serde::{Deserialize, Serialize};

/// The `[intake]` table: which mail comes from inside the organisation.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntakeSettings {
    /// The organisation's own mail domains (staff addresses), lower-cased; subdomains count.
    /// Empty: the domain of `[mailbox] address` (see [`IntakeSettings::staff_domains_or`]).
    /// Mail from them is a colleague's: a forward is unwrapped to its original sender, Outlook
    /// housekeeping (recalls, meeting answers) is never a case, and a SAR written from them is
    /// verifiable against the staff record.
    pub staff_domains: Vec<String>,
    /// Addresses the organisation's own web forms send from (often a no-reply address). Mail
    /// from them is the form's requester's: the requester is taken from `Reply-To` or the
    /// form's labelled fields, never the forms address.
    pub forms_addresses: Vec<String>,
}

impl IntakeSettings {
    /// The configured staff domains, or the domain of `shared_address` when none is configured:
    /// a shared mailbox almost always sits on the organisation's own domain.
    pub fn staff_domains_or(&self, shared_address: &str) -> Vec<String> {
        if !self.staff_domains.is_empty() {
            return self
                .staff_domains
                .iter()
                .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
                .collect();
        }
        shared_address
            .rsplit_once('@')
            .map(|(_, d)| vec![d.trim().to_ascii_lowercase()])
            .filter(|d| d.iter().all(|d| !d.is_empty()))
            .unwrap_or_default()
    }

    /// The forms addresses, lower-cased.
    pub fn forms(&self) -> Vec<String> {
        self.forms_addresses
            .iter()
            .map(|a| a.trim().to_ascii_lowercase())
            .collect()
    }
}

impl Section for IntakeSettings {
    fn validate(&self, at: &str) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        for d in &self.staff_domains {
            let d = d.trim().trim_start_matches('@');
            if d.is_empty()
                || !d.contains('.')
                || d.contains(|c: char| c.is_whitespace() || c == '@')
            {
                errors.push(ConfigError {
                    key: key_path(at, "staff_domains"),
                    message: format!("{d:?} is not a mail domain like \"council.example.gov.uk\""),
                });
            }
        }
        for a in &self.forms_addresses {
            let ok = a
                .trim()
                .split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !a.trim().contains(' '));
            if !ok {
                errors.push(ConfigError {
                    key: key_path(at, "forms_addresses"),
                    message: format!("{a:?} is not an email address"),
                });
            }
        }
        errors
    }
}

/// What a subject access request must show about the requester's identity to be valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SarIdentityPolicy {
    /// A document, or details the organisation can check against its own records (date of birth
    /// with an address, a council tax, tenancy, NHS, employee, student or crime reference, or a
    /// staff address). The ICO's reading of Art 12(6): ask for ID only when in reasonable doubt.
    #[default]
    DocumentOrDetails,
    /// A document (attached, or said to be attached) in every case, for bodies whose policy
    /// requires one.
    Document,
}

/// The `[validity]` table.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ValiditySettings {
    /// The SAR identity policy (default `document_or_details`).
    pub sar_identity: SarIdentityPolicy,
}

impl Section for ValiditySettings {
    fn validate(&self, _: &str) -> Vec<ConfigError> {
        Vec::new()
    }
}

/// Default local-policy time for reviewing a subject access response, in working days: there is
/// no statutory review (UK GDPR Art 77 goes to the ICO), and 20 working days matches the
/// complaints investigation time of seed 001 B14 and the FOIA review target.
pub const DEFAULT_SAR_REVIEW_WORKING_DAYS: u32 = 20;

/// Longest SAR review time an operator may set, in working days: past three months a "review"
/// outlasts the ICO's own expectations for the request itself.
pub const MAX_SAR_REVIEW_WORKING_DAYS: u32 = 60;

/// The `[reviews]` table: internal reviews whose timescale is not set by law.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReviewSettings {
    /// Working days (own region) to review a subject access response.
    pub sar_working_days: u32,
}

impl Default for ReviewSettings {
    fn default() -> Self {
        ReviewSettings {
            sar_working_days: DEFAULT_SAR_REVIEW_WORKING_DAYS,
        }
    }
}

impl Section for ReviewSettings {
    fn validate(&self, at: &str) -> Vec<ConfigError> {
        if (1..=MAX_SAR_REVIEW_WORKING_DAYS).contains(&self.sar_working_days) {
            return Vec::new();
        }
        vec![ConfigError {
            key: key_path(at, "sar_working_days"),
            message: format!(
                "{} is out of range; use 1 to {MAX_SAR_REVIEW_WORKING_DAYS} working days (default \
                 {DEFAULT_SAR_REVIEW_WORKING_DAYS})",
                self.sar_working_days
            ),
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_read_and_check() {
        let i = IntakeSettings::from_toml(
            "staff_domains = [\"Council.Example.gov.uk\"]\nforms_addresses = [\"forms@council.example.gov.uk\"]",
            "intake",
        )
        .unwrap();
        assert_eq!(
            i.staff_domains_or("foi@x.gov.uk"),
            ["council.example.gov.uk"]
        );
        assert_eq!(i.forms(), ["forms@council.example.gov.uk"]);
        let d = IntakeSettings::default();
        assert_eq!(d.staff_domains_or("FOI@Council.gov.uk"), ["council.gov.uk"]);
        assert!(d.staff_domains_or("").is_empty());
        let e = IntakeSettings::from_toml(
            "staff_domains = [\"no dots\"]\nforms_addresses = [\"x\"]",
            "intake",
        )
        .unwrap_err();
        assert_eq!(e.len(), 2, "{e:?}");
        assert_eq!(e[0].key, "intake.staff_domains");

        let v = ValiditySettings::from_toml("sar_identity = \"document\"", "validity").unwrap();
        assert_eq!(v.sar_identity, SarIdentityPolicy::Document);
        assert_eq!(
            ValiditySettings::default().sar_identity,
            SarIdentityPolicy::DocumentOrDetails
        );
        assert!(ValiditySettings::from_toml("sar_identity = \"passport\"", "validity").is_err());

        assert_eq!(ReviewSettings::default().sar_working_days, 20);
        let e = ReviewSettings::from_toml("sar_working_days = 0", "reviews").unwrap_err();
        assert_eq!(e[0].key, "reviews.sar_working_days");
    }
}
