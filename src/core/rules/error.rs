//! Errors and warnings found while loading rule files.
//!
//! Loading never stops at the first problem: every file is read, every rule checked and every
//! pattern compiled, and all problems come back together in [`RuleErrors`], so an officer can fix a
//! rule set in one pass (the way Stalwart reports all configuration errors at boot).

use crate::config::toml::{write_list, write_located};
use serde::Serialize;
use std::fmt;

/// One problem in a rule file, located as precisely as we can: file, line, rule, field.
///
/// The same type carries warnings (see [`super::RuleSet::warnings`]): problems that do not stop the
/// rules from loading but that an officer should look at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleError {
    /// The rule file, as given to [`super::RuleSet::load`] (`rules/foi.toml`) or to
    /// [`super::RuleSet::from_sources`].
    pub file: String,
    /// 1-based line in the file where the problem is, when known.
    pub line: Option<usize>,
    /// The `id` of the rule the problem is in, when it is inside a rule that has an id.
    pub rule_id: Option<String>,
    /// The key (and pattern number) the problem is in, e.g. `subject_regex pattern 2`.
    pub field: Option<String>,
    /// What is wrong, in plain English, with the fix where there is an obvious one.
    pub message: String,
}

impl RuleError {
    /// A problem with a whole file (cannot read it, bad TOML, no rules).
    pub(crate) fn file(file: &str, line: Option<usize>, message: impl Into<String>) -> Self {
        RuleError {
            file: file.to_string(),
            line,
            rule_id: None,
            field: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for RuleError {
    /// `rules/foi.toml:12: rule "foi.act": subject_regex pattern 2: regex parse error: ...`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rule = self.rule_id.as_ref().map(|id| format!("rule {id:?}"));
        let rule = rule.as_ref().map(|r| r as &dyn fmt::Display);
        let field = self.field.as_deref();
        write_located(f, &self.file, self.line, rule, field, &self.message)
    }
}

/// Every problem that stopped a rule set from loading, in file and line order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct RuleErrors {
    /// The problems, never empty when returned as an error.
    pub errors: Vec<RuleError>,
}

impl fmt::Display for RuleErrors {
    /// One problem per line, then a count, so the whole list can be printed as is.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_list(f, &self.errors, "in the rule files; no rules were loaded")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_has_every_part_in_order() {
        let cases = [
            (
                RuleError {
                    file: "rules/foi.toml".into(),
                    line: Some(12),
                    rule_id: Some("foi.act".into()),
                    field: Some("subject_regex pattern 2".into()),
                    message: "regex parse error: unclosed group".into(),
                },
                "rules/foi.toml:12: rule \"foi.act\": subject_regex pattern 2: regex parse error: unclosed group",
            ),
            (
                RuleError::file("rules/x.toml", None, "cannot read"),
                "rules/x.toml: cannot read",
            ),
            (
                RuleError {
                    file: "a.toml".into(),
                    line: None,
                    rule_id: Some("r".into()),
                    field: None,
                    message: "m".into(),
                },
                "a.toml: rule \"r\": m",
            ),
        ];
        for (err, want) in cases {
            assert_eq!(err.to_string(), want);
        }
    }

    #[test]
    fn errors_display_lists_all_and_counts() {
        let errs = RuleErrors {
            errors: vec![
                RuleError::file("a.toml", Some(1), "one"),
                RuleError::file("b.toml", Some(2), "two"),
            ],
        };
        assert_eq!(
            errs.to_string(),
            "a.toml:1: one\nb.toml:2: two\n2 errors in the rule files; no rules were loaded"
        );
    }
}
