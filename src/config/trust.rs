//! The `[trust]` section: which mail gateway's `Authentication-Results` headers we believe.
//! Read and checked here; the headers are judged by `core::auth`.
//!
//! Anyone on the internet can write any header, so a header can only be believed when our own
//! gateway (Microsoft 365, Google, or the organisation's MTA) wrote it. The gateway names itself
//! in each `Authentication-Results` header it adds (the `authserv-id`, RFC 8601 §2.5); naming that
//! id here is what lets mail change a case's state (restart a clock, mark a response, run a staff
//! command). With no id configured no mail is trusted and the daemon takes the safe side.

use crate::config::ConfigError;
use crate::config::toml::{Section, key_path};
use serde::{Deserialize, Serialize};

/// The `[trust]` table.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrustSettings {
    /// The `authserv-id`(s) our own gateway writes into `Authentication-Results` (compared
    /// without regard to letter case). Empty: no gateway is trusted.
    pub authserv_ids: Vec<String>,
}

impl TrustSettings {
    /// Whether a gateway is named, i.e. whether any mail can count as authenticated.
    pub fn has_gateway(&self) -> bool {
        !self.authserv_ids.is_empty()
    }

    /// What the trust setting means for the operator, for `config check` (one paragraph).
    pub fn explain(&self) -> String {
        if self.has_gateway() {
            format!(
                "trusted mail gateway: {} (only mail whose From domain passes DMARC, or SPF/DKIM \
                 aligned with it, in that gateway's Authentication-Results may restart a clock, \
                 mark a case responded or run a staff command)",
                self.authserv_ids.join(", ")
            )
        } else {
            "no trusted mail gateway ([trust] authserv_ids is empty): no mail counts as \
             authenticated. Only the Sent-folder watcher marks cases responded; a requester's \
             answer to a clarification, identity or fee request is recorded and flagged for an \
             officer instead of restarting the clock; staff commands by email are refused (the \
             sender is told why). Name your gateway's authserv-id to enable them."
                .to_string()
        }
    }
}

impl Section for TrustSettings {
    fn validate(&self, at: &str) -> Vec<ConfigError> {
        self.authserv_ids
            .iter()
            .filter(|id| {
                id.trim().is_empty()
                    || id.contains(|c: char| c.is_whitespace() || c == ';' || c == '(')
            })
            .map(|id| ConfigError {
                key: key_path(at, "authserv_ids"),
                message: format!(
                    "{id:?} is not an authserv-id (one token, e.g. `mx.example.gov.uk`, as the \
                     gateway writes it before the first `;` of its Authentication-Results)"
                ),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_table() {
        let cases: &[(&[&str], usize)] = &[
            (&[], 0),
            (&["mx.example.gov.uk"], 0),
            (&["MX.Example.gov.uk", "eur.prod.outlook.com"], 0),
            (&[""], 1),
            (&["mx example"], 1),
            (&["mx;x", "ok", "a(b"], 2),
        ];
        for (ids, errors) in cases {
            let s = TrustSettings {
                authserv_ids: ids.iter().map(|s| s.to_string()).collect(),
            };
            assert_eq!(s.validate("trust").len(), *errors, "{ids:?}");
        }
    }

    #[test]
    fn explain_says_what_no_gateway_means() {
        let none = TrustSettings::default();
        assert!(!none.has_gateway());
        assert!(none.explain().contains("Only the Sent-folder watcher"));
        let gw = TrustSettings {
            authserv_ids: vec!["mx.example.gov.uk".into()],
        };
        assert!(gw.explain().contains("mx.example.gov.uk"));
    }
}
