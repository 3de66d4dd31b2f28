//! Turning checked rules into matchers: one `RegexSet` per message field, built once at load.
//!
//! Every condition of every rule becomes a *slot*; every string of a condition becomes one pattern
//! in the `RegexSet` of the field it reads, tagged with its slot. Classifying a message then runs
//! each field's text through its one set (a single pass over the text, whatever the number of
//! rules) and marks the slots whose patterns matched. This module does not decide anything: the
//! scoring is in `mod.rs`.
//!
//! Phrases, domains, header names and flags are all translated into regular expressions here, so
//! one engine serves every kind of condition.

use super::error::{RuleError, one_line_regex_error};
use super::file::{FLAGS, Field, RawCondition, Syntax, check_header_name};
use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use std::collections::HashMap;

/// Limit on the compiled size of one field's `RegexSet`, in bytes (the regex crate's default is
/// 10 MiB per regex; a set of a few hundred case-insensitive phrases stays far below this).
const SET_SIZE_LIMIT: usize = 64 << 20;

/// Lazy-DFA cache per set and thread, in bytes: large enough that a body scan with a few hundred
/// phrases does not keep flushing its cache (which would fall back to a much slower engine).
const SET_DFA_LIMIT: usize = 8 << 20;

/// One pattern of a set: which condition slot it belongs to and its position in that condition.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Owner {
    pub slot: u32,
    pub pattern: u32,
}

/// The compiled matcher for one field.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub set: RegexSet,
    pub owners: Vec<Owner>,
}

impl Target {
    /// Mark, in `hits`, the slots whose patterns match `text`, keeping the lowest pattern number
    /// per slot (so an explanation quotes the first matching string in the officer's list).
    pub fn scan(&self, text: &str, hits: &mut [u32]) {
        for i in self.set.matches(text).iter() {
            if let Some(o) = self.owners.get(i)
                && let Some(h) = hits.get_mut(o.slot as usize)
            {
                *h = (*h).min(o.pattern);
            }
        }
    }
}

/// All matchers of a rule set, by field.
#[derive(Debug, Clone, Default)]
pub(crate) struct Targets {
    /// Fields other than `Header`, indexed by [`field_index`].
    pub fields: [Option<Target>; FIELD_COUNT],
    /// One set per header name (lower-cased).
    pub headers: HashMap<String, Target>,
}

/// Number of non-header fields.
pub(crate) const FIELD_COUNT: usize = 10;

/// Position of a field in [`Targets::fields`]; `None` for [`Field::Header`].
pub(crate) fn field_index(f: Field) -> Option<usize> {
    Some(match f {
        Field::Subject => 0,
        Field::Body => 1,
        Field::Sender => 2,
        Field::SenderName => 3,
        Field::SenderDomain => 4,
        Field::Recipient => 5,
        Field::AttachmentName => 6,
        Field::AttachmentType => 7,
        Field::HeaderNames => 8,
        Field::Flags => 9,
        Field::Header => return None,
    })
}

/// Where a condition comes from, for error messages.
pub(crate) struct Origin<'a> {
    pub file: &'a str,
    pub rule_id: &'a str,
}

/// Collects patterns per field, then builds the sets.
#[derive(Default)]
pub(crate) struct Builder {
    fields: [Vec<(String, Owner)>; FIELD_COUNT],
    headers: HashMap<String, Vec<(String, Owner)>>,
}

impl Builder {
    /// Add one condition, occupying `slot`. Bad patterns are reported to `errors`.
    pub fn add(
        &mut self,
        origin: &Origin<'_>,
        cond: &RawCondition,
        slot: u32,
        errors: &mut Vec<RuleError>,
    ) {
        let n = cond.patterns.len();
        for (i, (text, line)) in cond.patterns.iter().enumerate() {
            let field_name = if n > 1 {
                format!("{} pattern {}", cond.key, i + 1)
            } else {
                cond.key.clone()
            };
            let regex = match translate(cond.syntax, text) {
                Ok(r) => r,
                Err(message) => {
                    errors.push(RuleError {
                        file: origin.file.to_string(),
                        line: Some(*line),
                        rule_id: Some(origin.rule_id.to_string()),
                        field: Some(field_name),
                        message,
                    });
                    continue;
                }
            };
            let owner = Owner {
                slot,
                pattern: u32::try_from(i).unwrap_or(u32::MAX),
            };
            match &cond.header {
                Some(h) => self
                    .headers
                    .entry(h.clone())
                    .or_default()
                    .push((regex, owner)),
                None => {
                    if let Some(idx) = field_index(cond.field) {
                        self.fields[idx].push((regex, owner));
                    }
                }
            }
        }
    }

    /// Build one `RegexSet` per field. Every pattern was compiled alone already, so a failure here
    /// can only be the combined size; it is reported against the field.
    pub fn build(self, errors: &mut Vec<RuleError>) -> Targets {
        let mut targets = Targets::default();
        for (i, pats) in self.fields.into_iter().enumerate() {
            if pats.is_empty() {
                continue;
            }
            if let Some(t) = build_set(&format!("field #{i}"), pats, errors) {
                targets.fields[i] = Some(t);
            }
        }
        for (name, pats) in self.headers {
            if let Some(t) = build_set(&format!("headers.{name}"), pats, errors) {
                targets.headers.insert(name, t);
            }
        }
        targets
    }
}

fn build_set(
    what: &str,
    pats: Vec<(String, Owner)>,
    errors: &mut Vec<RuleError>,
) -> Option<Target> {
    let (patterns, owners): (Vec<String>, Vec<Owner>) = pats.into_iter().unzip();
    match RegexSetBuilder::new(&patterns)
        .case_insensitive(true)
        .multi_line(true)
        .crlf(true)
        .size_limit(SET_SIZE_LIMIT)
        .dfa_size_limit(SET_DFA_LIMIT)
        .build()
    {
        Ok(set) => Some(Target { set, owners }),
        Err(e) => {
            errors.push(RuleError::file(
                "(all rule files)",
                None,
                format!(
                    "the patterns on {what} together are too large: {}",
                    one_line_regex_error(&e)
                ),
            ));
            None
        }
    }
}

/// Compile one pattern alone with the options every set uses: the authoritative syntax check.
fn check(regex: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(regex)
        .case_insensitive(true)
        .multi_line(true)
        .crlf(true)
        .build()
}

/// Translate an officer's string into the regex that goes into a set, checking it compiles.
pub(crate) fn translate(syntax: Syntax, text: &str) -> Result<String, String> {
    match syntax {
        Syntax::Phrase => {
            let r = phrase_regex(text)?;
            check(&r).map_err(|e| one_line_regex_error(&e))?;
            Ok(r)
        }
        Syntax::Regex => {
            let fast = ascii_word_boundaries(text);
            match check(&fast) {
                Ok(_) => Ok(fast),
                Err(e) => match check(text) {
                    // The rewrite broke something exotic: keep the author's pattern as written.
                    Ok(_) => Ok(text.to_string()),
                    Err(_) => Err(one_line_regex_error(&e)),
                },
            }
        }
        Syntax::Domain => domain_regex(text),
        Syntax::HeaderName => {
            let name = text.trim();
            check_header_name(name)?;
            Ok(format!("^{}$", regex::escape(&name.to_ascii_lowercase())))
        }
        Syntax::Flag => {
            let name = text.trim().to_ascii_lowercase();
            if FLAGS.iter().any(|(f, _)| *f == name) {
                Ok(format!("^{}$", regex::escape(&name)))
            } else {
                Err(format!(
                    "unknown flag {name:?}; known flags: {}",
                    FLAGS.iter().map(|(f, _)| *f).collect::<Vec<_>>().join(", ")
                ))
            }
        }
    }
}

/// ASCII word boundary. Unicode `\b` makes the regex crate's fast engine give up on any non-ASCII
/// byte (a curly apostrophe, a £ sign) and fall back to a far slower one, so every boundary we
/// generate, and every `\b` an officer writes, is the ASCII kind: between `[0-9A-Za-z_]` and
/// anything else.
const WB: &str = r"(?-u:\b)";

/// A phrase: words matched literally, case-insensitively, with any run of whitespace between them,
/// whole words at both ends (when the phrase starts/ends with a letter, digit or `_`). Straight and
/// curly quotes match each other, because mail clients turn one into the other.
pub(crate) fn phrase_regex(phrase: &str) -> Result<String, String> {
    let words: Vec<&str> = phrase.split_whitespace().collect();
    let (Some(first), Some(last)) = (words.first(), words.last()) else {
        return Err("empty phrase: it would match every message".into());
    };
    let is_word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let mut out = String::with_capacity(phrase.len() * 2 + 20);
    if is_word(first.chars().next()) {
        out.push_str(WB);
    }
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            out.push_str(r"\s+");
        }
        for c in w.chars() {
            match c {
                '\'' | '\u{2018}' | '\u{2019}' => out.push_str("['\u{2018}\u{2019}]"),
                '"' | '\u{201C}' | '\u{201D}' => out.push_str("[\"\u{201C}\u{201D}]"),
                c => out.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
            }
        }
    }
    if is_word(last.chars().last()) {
        out.push_str(WB);
    }
    Ok(out)
}

/// A domain matches itself and any subdomain: `gov.uk` matches `gov.uk` and `council.gov.uk`.
///
/// A leading `@` or `*.` is accepted and ignored, since officers copy domains from addresses and
/// from other tools' wildcard lists.
pub(crate) fn domain_regex(domain: &str) -> Result<String, String> {
    let d = domain.trim();
    let d = d.strip_prefix('@').unwrap_or(d);
    let d = d.strip_prefix("*.").unwrap_or(d);
    let d = d.trim_end_matches('.').to_ascii_lowercase();
    let label_ok = |l: &str| {
        !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if d.is_empty() || !d.split('.').all(label_ok) {
        return Err(format!(
            "{domain:?} is not a mail domain; write it like \"parliament.uk\" (it also matches \
             every subdomain such as \"members.parliament.uk\")"
        ));
    }
    Ok(format!(r"(?:^|\.){}$", regex::escape(&d)))
}

/// Rewrite `\b` and `\B` outside character classes to their ASCII forms (see [`WB`]).
///
/// `\b{start}`-style assertions, escaped backslashes and anything inside `[...]` are left alone.
/// The caller keeps the original pattern if the rewrite does not compile, so this never turns a
/// valid pattern into an invalid one.
pub(crate) fn ascii_word_boundaries(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars().peekable();
    let mut class_depth = 0usize;
    // True right after `[` or `[^`, where a `]` is a literal, not the end of the class.
    let mut class_start = false;
    while let Some(c) = chars.next() {
        let at_class_start = std::mem::replace(&mut class_start, false);
        match c {
            '\\' => {
                let Some(n) = chars.next() else {
                    out.push(c);
                    break;
                };
                if class_depth == 0 && (n == 'b' || n == 'B') && chars.peek() != Some(&'{') {
                    out.push_str(if n == 'b' { r"(?-u:\b)" } else { r"(?-u:\B)" });
                } else {
                    out.push(c);
                    out.push(n);
                }
            }
            '[' => {
                class_depth += 1;
                out.push(c);
                class_start = true;
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
            }
            ']' if class_depth > 0 && !at_class_start => {
                class_depth -= 1;
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(syntax: Syntax, pattern: &str, text: &str) -> bool {
        let r = translate(syntax, pattern).unwrap();
        check(&r).unwrap().is_match(text)
    }

    #[test]
    fn phrases_match_whole_words_any_case_any_space() {
        let cases: &[(&str, &str, bool)] = &[
            (
                "freedom of information",
                "Under the Freedom of Information Act",
                true,
            ),
            ("freedom of information", "FREEDOM\n  OF\tINFORMATION", true),
            (
                "freedom of information",
                "freedom  of  informationally",
                false,
            ),
            ("FOI", "my foi request", true),
            ("FOI", "foil wrapper", false),
            ("FOI", "FOIA", false),
            ("foi", "(FOI)", true),
            ("out of office", "I am out of the office", false),
            ("I'm away", "I\u{2019}m away", true),
            ("I\u{2019}m away", "I'm away", true),
            ("\"quoted\"", "a \u{201C}quoted\u{201D} word", true),
            ("re:", "Re: your letter", true),
            ("re:", "ore: mine", false), // starts with a word char, so a boundary is needed before it
            ("a.b", "axb", false),       // dots are literal
            ("(c)", "(c) 2024", true),
            ("£5", "costs £5 each", true),
            ("caf", "café", true), // ASCII boundary: é is not an ASCII word char (documented)
            ("C++", "we use c++ here", true),
        ];
        for (phrase, text, want) in cases {
            assert_eq!(
                m(Syntax::Phrase, phrase, text),
                *want,
                "phrase {phrase:?} on {text:?}"
            );
        }
    }

    #[test]
    fn empty_phrase_is_an_error() {
        assert!(phrase_regex("   ").is_err());
        assert!(phrase_regex("").is_err());
    }

    #[test]
    fn regex_is_case_insensitive_multiline_and_ascii_bounded() {
        let cases: &[(&str, &str, bool)] = &[
            (r"^auto-", "Auto-Replied", true),
            (r"^auto-", "no", false),
            (
                r"^out of office",
                "first line\nOut of office until Monday",
                true,
            ),
            (r"monday$", "back monday\r\nthanks", true),
            (r"\bfoi\b", "an FOI request", true),
            (r"\bfoi\b", "foil", false),
            (r"\Bfoi", "xfoi", true),
            (r"\\b", r"a\b", true),
        ];
        for (pat, text, want) in cases {
            assert_eq!(m(Syntax::Regex, pat, text), *want, "{pat:?} on {text:?}");
        }
    }

    #[test]
    fn word_boundary_rewrite() {
        let cases = [
            (r"\bfoi\b", r"(?-u:\b)foi(?-u:\b)"),
            (r"\Bx", r"(?-u:\B)x"),
            (r"\\b", r"\\b"),
            (r"[\b]\b", r"[\b](?-u:\b)"),
            (r"[]\b]\b", r"[]\b](?-u:\b)"),
            (r"[^]\b]\b", r"[^]\b](?-u:\b)"),
            (r"\b{start}x", r"\b{start}x"),
            (r"a\", r"a\"),
            ("plain", "plain"),
        ];
        for (input, want) in cases {
            assert_eq!(ascii_word_boundaries(input), want, "{input}");
        }
    }

    #[test]
    fn bad_regex_reports_the_reason() {
        let e = translate(Syntax::Regex, "(unclosed").unwrap_err();
        assert_eq!(e, "regex parse error: unclosed group");
        let e = translate(Syntax::Regex, r"\p{NotAClass}").unwrap_err();
        assert!(e.starts_with("regex parse error:"), "{e}");
    }

    #[test]
    fn domains_match_themselves_and_subdomains() {
        let cases: &[(&str, &str, bool)] = &[
            ("parliament.uk", "parliament.uk", true),
            ("parliament.uk", "members.parliament.uk", true),
            ("parliament.uk", "notparliament.uk", false),
            ("parliament.uk", "parliament.uk.evil.com", false),
            ("@gov.uk", "council.gov.uk", true),
            ("*.gov.uk", "council.gov.uk", true),
            ("Gov.UK.", "x.gov.uk", true),
        ];
        for (d, dom, want) in cases {
            assert_eq!(m(Syntax::Domain, d, dom), *want, "{d} vs {dom}");
        }
        for bad in ["", "a b.com", "x..y", "*", "foo@bar.com", "exa_mple.com"] {
            assert!(domain_regex(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn flags_and_header_names_are_exact() {
        assert!(m(Syntax::Flag, "report", "report"));
        assert!(!m(Syntax::Flag, "report", "reports"));
        assert!(
            translate(Syntax::Flag, "bounce")
                .unwrap_err()
                .contains("unknown flag")
        );
        assert!(m(Syntax::HeaderName, "X-Autoreply", "x-autoreply"));
        assert!(!m(
            Syntax::HeaderName,
            "X-Autoreply",
            "x-autoreply-suppress"
        ));
        assert!(translate(Syntax::HeaderName, "bad name").is_err());
    }
}
