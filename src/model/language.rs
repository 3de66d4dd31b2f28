//! The language a message is written in, and the language a letter to its sender is written in.
//!
//! A body under the Welsh Language Standards (Welsh Language (Wales) Measure 2011; standards 1
//! to 7 on correspondence) must answer correspondence received in Welsh in Welsh. The detected
//! [`Language`] is a fact of the triage outcome and of the case; the [`LetterLanguage`] is the
//! decision a planner takes from it and the configuration (`[organisation] welsh`;
//! `core::language::letter_language`).

use serde::{Deserialize, Serialize};
use std::fmt;

/// What language a message is written in, as detected from its own text
/// (`core::language::detect`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// English.
    English,
    /// Welsh (Cymraeg).
    Welsh,
    /// Both, each in good measure: a bilingual letter, or a paragraph in each language.
    Bilingual,
    /// Too little text to tell (a one-line reply, an empty body), or neither language. Also what
    /// a case recorded before language detection existed reads as.
    #[default]
    Unknown,
}

impl Language {
    /// The snake_case name used in JSON, audit details and `expected.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::English => "english",
            Language::Welsh => "welsh",
            Language::Bilingual => "bilingual",
            Language::Unknown => "unknown",
        }
    }

    /// Whether correspondence in this language is "received in Welsh": Welsh, or bilingual
    /// (which contains Welsh, and the Standards do not let the Welsh be treated less favourably).
    pub fn has_welsh(self) -> bool {
        matches!(self, Language::Welsh | Language::Bilingual)
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The language a letter to a requester is written in: which template set renders it.
///
/// Stored in each queued letter (default English, so a row written before this existed reads).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LetterLanguage {
    /// The templates in `templates/<name>/`.
    #[default]
    English,
    /// The templates in `templates/<name>/cy/`.
    Welsh,
}

impl LetterLanguage {
    /// The snake_case name used in JSON and audit details.
    pub fn as_str(self) -> &'static str {
        match self {
            LetterLanguage::English => "english",
            LetterLanguage::Welsh => "welsh",
        }
    }

    /// The language tag (BCP 47) for the letter's HTML `lang` attribute: `en` or `cy`.
    pub fn tag(self) -> &'static str {
        match self {
            LetterLanguage::English => "en",
            LetterLanguage::Welsh => "cy",
        }
    }
}

impl fmt::Display for LetterLanguage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_records_read_as_unknown_and_english() {
        #[derive(Deserialize)]
        struct Old {
            #[serde(default)]
            language: Language,
            #[serde(default)]
            letter: LetterLanguage,
        }
        let old: Old = serde_json::from_str("{}").expect("reads");
        assert_eq!(old.language, Language::Unknown);
        assert_eq!(old.letter, LetterLanguage::English);
        assert_eq!(
            serde_json::to_string(&Language::Bilingual).expect("json"),
            "\"bilingual\""
        );
    }
}
