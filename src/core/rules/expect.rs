//! Expected outcomes for a directory of sample messages (`foi-triage rules test DIR`).
//!
//! `DIR/expected.toml` has one table per sample file, keyed by the file name:
//!
//! ```toml
//! ["foi-council-spend.eml"]
//! kind = "foi"                  # required
//! rules = ["foi.act-named"]     # optional: rule ids that must fire
//! valid = true                  # optional: is the request valid (checked by the runner)
//! missing = ["real name"]       # optional: what validation should say is missing
//! followup = false              # optional: is it a follow-up to an existing case
//! ref = "FOI-2026-000123"       # optional: the case reference it should join
//! language = "welsh"            # optional: english, welsh, bilingual or unknown
//! ```
//!
//! This module reads and checks that file, and checks the classification half of an expectation
//! ([`Expectation::check_decision`]); validity and follow-up are checked by the runner, which
//! owns those stages.

use super::Decision;
use crate::model::kind::Kind;
use crate::model::language::Language;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What one sample message should come out as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// The kind the rules must decide.
    pub kind: Kind,
    /// Whether validation must find the request valid; `None` = not checked.
    #[serde(default)]
    pub valid: Option<bool>,
    /// What validation must report missing; `None` = not checked, `Some([])` = nothing missing.
    #[serde(default)]
    pub missing: Option<Vec<String>>,
    /// Whether the message must be recognised as a follow-up to an existing case.
    #[serde(default)]
    pub followup: Option<bool>,
    /// The case reference it must be linked to (`FOI-2026-000123`).
    #[serde(default, rename = "ref")]
    pub reference: Option<String>,
    /// Rule ids that must be among the fired rules (others may fire too).
    #[serde(default)]
    pub rules: Vec<String>,
    /// The language the sender must be found to write in (`core::language`); `None` = not
    /// checked.
    #[serde(default)]
    pub language: Option<Language>,
}

impl Expectation {
    /// The classification problems: wrong kind, expected rules that did not fire. Empty = pass.
    pub fn check_decision(&self, decision: &Decision) -> Vec<String> {
        let mut problems = Vec::new();
        if decision.kind != self.kind {
            problems.push(format!(
                "expected kind {}, got {}: {}",
                self.kind, decision.kind, decision.why
            ));
        }
        for id in &self.rules {
            if !decision.fired(id) {
                problems.push(format!("expected rule {id:?} to fire; it did not"));
            }
        }
        problems
    }

    /// The language problem, if any: the language found (`got`, explained by `why`) is not the
    /// one expected.
    pub fn check_language(&self, got: Language, why: &str) -> Option<String> {
        self.language
            .filter(|want| *want != got)
            .map(|want| format!("expected language {want}, got {why}"))
    }
}

/// Why `expected.toml` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ExpectationError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The expected.toml path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or a table has a wrong or unknown field.
    #[error("{path}: {message}")]
    Parse {
        /// The expected.toml path.
        path: PathBuf,
        /// The TOML error, with line and column.
        message: String,
    },
    /// Tables name sample files that are not in the directory.
    #[error("{path}: no such sample file(s) in {dir}: {}", .names.join(", "))]
    MissingSamples {
        /// The expected.toml path.
        path: PathBuf,
        /// The sample directory.
        dir: String,
        /// The missing file names.
        names: Vec<String>,
    },
}

/// Read `dir/expected.toml`: file name → what that sample should come out as.
///
/// # Errors
/// The file cannot be read, is not valid TOML, has unknown fields or a bad kind, or names a
/// sample file that does not exist in `dir` (a typo there would silently test nothing).
pub fn load_expectations(dir: &Path) -> Result<BTreeMap<String, Expectation>, ExpectationError> {
    let path = dir.join("expected.toml");
    let text = std::fs::read_to_string(&path).map_err(|source| ExpectationError::Read {
        path: path.clone(),
        source,
    })?;
    let map = parse_expectations(&text).map_err(|message| ExpectationError::Parse {
        path: path.clone(),
        message,
    })?;
    let missing: Vec<String> = map
        .keys()
        .filter(|name| {
            // A key is a bare file name, never a path: "../x" must not escape the directory.
            name.contains(['/', '\\']) || !dir.join(name.as_str()).is_file()
        })
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(ExpectationError::MissingSamples {
            path,
            dir: dir.display().to_string(),
            names: missing,
        });
    }
    Ok(map)
}

/// Parse the text of an `expected.toml` (no file checks). The error is one line.
pub(crate) fn parse_expectations(text: &str) -> Result<BTreeMap<String, Expectation>, String> {
    toml::from_str::<BTreeMap<String, Expectation>>(text)
        .map_err(|e| e.to_string().trim().replace('\n', " | "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::rules::FiredRule;

    #[test]
    fn parses_every_field() {
        let m = parse_expectations(
            r#"
["a.eml"]
kind = "foi"
valid = false
missing = ["real name", "address"]
followup = true
ref = "FOI-2026-000001"
rules = ["foi.act-named"]
language = "welsh"

["b.eml"]
kind = "auto"
"#,
        )
        .unwrap();
        let a = &m["a.eml"];
        assert_eq!(a.kind, Kind::Foi);
        assert_eq!(a.valid, Some(false));
        assert_eq!(
            a.missing.as_deref(),
            Some(&["real name".to_string(), "address".to_string()][..])
        );
        assert_eq!(a.followup, Some(true));
        assert_eq!(a.reference.as_deref(), Some("FOI-2026-000001"));
        assert_eq!(a.rules, vec!["foi.act-named".to_string()]);
        assert_eq!(a.language, Some(Language::Welsh));
        assert_eq!(a.check_language(Language::Welsh, "welsh: …"), None);
        assert_eq!(
            a.check_language(Language::English, "english: 12 English marker words")
                .as_deref(),
            Some("expected language welsh, got english: 12 English marker words")
        );
        let b = &m["b.eml"];
        assert_eq!(b.language, None);
        assert_eq!(b.check_language(Language::Unknown, "unknown"), None);
        assert_eq!(b.kind, Kind::Auto);
        assert_eq!(
            (b.valid, &b.missing, b.followup, &b.reference, b.rules.len()),
            (None, &None, None, &None, 0)
        );
    }

    #[test]
    fn rejects_bad_tables() {
        for (text, frag) in [
            ("[\"a.eml\"]\nkind = \"fio\"\n", "unknown variant"),
            ("[\"a.eml\"]\nvalid = true\n", "missing field `kind`"),
            (
                "[\"a.eml\"]\nkind = \"foi\"\nvalidd = true\n",
                "unknown field",
            ),
            ("[\"a.eml\"\nkind = \"foi\"\n", "line 1"),
            (
                "[\"a.eml\"]\nkind = \"foi\"\nlanguage = \"cymraeg\"\n",
                "unknown variant",
            ),
        ] {
            let e = parse_expectations(text).unwrap_err();
            assert!(e.contains(frag), "{text:?}: {e}");
            assert!(!e.contains('\n'));
        }
    }

    #[test]
    fn load_checks_sample_files_exist() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.eml"), "Subject: x\n\nhi\n").unwrap();
        std::fs::write(
            dir.path().join("expected.toml"),
            "[\"a.eml\"]\nkind = \"general\"\n[\"b.eml\"]\nkind = \"foi\"\n[\"../a.eml\"]\nkind = \"foi\"\n",
        )
        .unwrap();
        match load_expectations(dir.path()) {
            Err(ExpectationError::MissingSamples { names, .. }) => {
                assert_eq!(names, vec!["../a.eml".to_string(), "b.eml".to_string()]);
            }
            other => panic!("expected MissingSamples, got {other:?}"),
        }
        std::fs::write(
            dir.path().join("expected.toml"),
            "[\"a.eml\"]\nkind = \"general\"\n",
        )
        .unwrap();
        let m = load_expectations(dir.path()).unwrap();
        assert_eq!(m.len(), 1);
        let none = tempfile::tempdir().unwrap();
        assert!(matches!(
            load_expectations(none.path()),
            Err(ExpectationError::Read { .. })
        ));
    }

    #[test]
    fn check_decision_reports_kind_and_rules() {
        let d = Decision {
            kind: Kind::Foi,
            fired: vec![FiredRule {
                id: "foi.x".into(),
                kind: Kind::Foi,
                weight: 50,
                description: "d".into(),
                matched: vec![],
            }],
            scores: vec![(Kind::Foi, 50)],
            why: "foi won".into(),
        };
        let ok = Expectation {
            kind: Kind::Foi,
            valid: None,
            missing: None,
            followup: None,
            reference: None,
            rules: vec!["foi.x".into()],
            language: None,
        };
        assert!(ok.check_decision(&d).is_empty());
        let bad = Expectation {
            kind: Kind::Eir,
            rules: vec!["foi.x".into(), "eir.y".into()],
            ..ok
        };
        let p = bad.check_decision(&d);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].starts_with("expected kind eir, got foi"));
        assert!(p[1].contains("\"eir.y\""));
    }
}
