//! Turning checked rules into matchers, built once at load: per message field, one Aho-Corasick
//! automaton for all phrases, one `RegexSet` for all regular expressions, and hash tables for exact
//! names (header names, flags, domains).
//!
//! Every condition of every rule is a *slot*; every string of a condition becomes one pattern of
//! the matcher of the field it reads, tagged with its slot. Classifying a message runs each field's
//! text through its matchers once, whatever the number of rules, and marks the slots whose patterns
//! matched. This module decides nothing: scoring is in `mod.rs`.
//!
//! # Why phrases are not regexes
//! Hundreds of overlapping phrases in one `RegexSet` make its lazy DFA build states on almost every
//! byte of English text (measured: ~200 MB/s, most of the time spent determinizing). Phrases are
//! literals, so they are matched instead with Aho-Corasick over a *normalised* copy of the text
//! (lower-cased, each run of whitespace turned into one space, curly quotes made straight), with
//! the word-boundary check done on each candidate match. The semantics are the documented ones:
//! case-insensitive, whole words, any whitespace between words.

use super::error::RuleError;
use super::file::{FLAGS, Field, Syntax, check_header_name};
use crate::config::toml::one_line_regex_error;
use aho_corasick::{AhoCorasick, MatchKind};
use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use std::collections::{BTreeMap, HashMap};

/// Limit on the compiled size of one field's `RegexSet`, in bytes (the regex crate's default is
/// 10 MiB per regex; a few hundred case-insensitive patterns stay far below this).
const SET_SIZE_LIMIT: usize = 64 << 20;

/// Lazy-DFA cache per `RegexSet` and thread, in bytes (default 2 MiB): room for the states a few
/// dozen body regexes need on real mail without clearing the cache mid-message.
const SET_DFA_LIMIT: usize = 8 << 20;

/// One pattern of a matcher: which condition slot it belongs to and its position in that
/// condition's list (for the explanation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Owner {
    pub slot: u32,
    pub pattern: u32,
}

/// Record that `owners` matched, keeping the lowest pattern number per slot (so an explanation
/// quotes the first matching string in the officer's list).
fn mark(owners: &[Owner], hits: &mut [u32]) {
    for o in owners {
        if let Some(h) = hits.get_mut(o.slot as usize) {
            *h = (*h).min(o.pattern);
        }
    }
}

/// All phrases of one field.
#[derive(Debug, Clone)]
struct Phrases {
    ac: AhoCorasick,
    /// Per automaton pattern: boundary requirements and the slots it serves (phrases are
    /// de-duplicated, so one phrase used by several rules is searched once).
    meta: Vec<PhraseMeta>,
}

#[derive(Debug, Clone)]
struct PhraseMeta {
    start_boundary: bool,
    end_boundary: bool,
    owners: Vec<Owner>,
}

/// ASCII word character, for phrase boundaries: `[0-9A-Za-z_]`, as the regex `(?-u:\b)`.
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl Phrases {
    fn scan(&self, normalised: &[u8], hits: &mut [u32]) {
        let bytes = normalised;
        // Cannot fail: the automaton is built with MatchKind::Standard and unanchored starts,
        // which is what overlapping search needs.
        let Ok(matches) = self.ac.try_find_overlapping_iter(normalised) else {
            return;
        };
        for m in matches {
            let Some(meta) = self.meta.get(m.pattern().as_usize()) else {
                continue;
            };
            let before = m.start().checked_sub(1).and_then(|i| bytes.get(i)).copied();
            let after = bytes.get(m.end()).copied();
            if meta.start_boundary && before.is_some_and(is_word_byte) {
                continue;
            }
            if meta.end_boundary && after.is_some_and(is_word_byte) {
                continue;
            }
            mark(&meta.owners, hits);
        }
    }
}

/// All regular expressions of one field.
#[derive(Debug, Clone)]
struct Regexes {
    set: RegexSet,
    owners: Vec<Vec<Owner>>,
}

/// The compiled matchers for one field.
#[derive(Debug, Clone, Default)]
pub(crate) struct Target {
    phrases: Option<Phrases>,
    regexes: Option<Regexes>,
    /// Exact, lower-cased values (header names, flags).
    exact: HashMap<String, Vec<Owner>>,
    /// Domains, matched on the value and each of its parent domains.
    domains: HashMap<String, Vec<Owner>>,
}

/// Buffers reused across the fields of one message, so a classification allocates them once.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    normalised: Vec<u8>,
    lower: String,
}

impl Target {
    /// Mark in `hits` the slots whose patterns match `text`.
    pub fn scan(&self, text: &str, scratch: &mut Scratch, hits: &mut [u32]) {
        if let Some(p) = &self.phrases {
            normalise(text, &mut scratch.normalised);
            p.scan(&scratch.normalised, hits);
        }
        if let Some(r) = &self.regexes {
            for i in r.set.matches(text).iter() {
                if let Some(owners) = r.owners.get(i) {
                    mark(owners, hits);
                }
            }
        }
        if !self.exact.is_empty() || !self.domains.is_empty() {
            let lower = &mut scratch.lower;
            lower.clear();
            lower.push_str(text.trim().trim_end_matches('.'));
            lower.make_ascii_lowercase();
            if let Some(owners) = self.exact.get(lower.as_str()) {
                mark(owners, hits);
            }
            let mut d = lower.as_str();
            while !self.domains.is_empty() && !d.is_empty() {
                if let Some(owners) = self.domains.get(d) {
                    mark(owners, hits);
                }
                match d.split_once('.') {
                    Some((_, parent)) => d = parent,
                    None => break,
                }
            }
        }
    }
}

/// All matchers of a rule set, by field.
#[derive(Debug, Clone, Default)]
pub(crate) struct Targets {
    /// Fields other than `Header`, indexed by [`field_index`].
    pub fields: [Option<Target>; FIELD_COUNT],
    /// One target per header name (lower-cased).
    pub headers: HashMap<String, Target>,
}

/// Number of non-header fields.
pub(crate) const FIELD_COUNT: usize = 11;

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
        Field::ReplyTo => 10,
        Field::Header => return None,
    })
}

/// Which rule a condition belongs to and what it reads, for the builder and its errors.
pub(crate) struct Origin<'a> {
    pub rule_id: &'a str,
    pub field: Field,
    pub syntax: Syntax,
    /// Lower-cased header name for [`Field::Header`].
    pub header: Option<&'a str>,
}

/// One string of a condition once `{ list = "name" }` references are expanded.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    pub text: String,
    /// The file and line the string is written on (a list's file for list items).
    pub file: String,
    pub line: usize,
    /// How to name it in an error: `body pattern 2`, `body (list "env" item 5)`.
    pub label: String,
    /// The list it came from, if any.
    pub list: Option<String>,
}

/// A checked pattern, ready for its field's matcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Compiled {
    /// Normalised phrase (see [`normalise`]).
    Phrase(String),
    /// Regex source, with ASCII word boundaries.
    Regex(String),
    /// Exact lower-case value (header name, flag).
    Exact(String),
    /// Lower-case domain.
    Domain(String),
}

/// Patterns of one field, collected before building.
#[derive(Debug, Default)]
struct FieldPatterns {
    phrases: Vec<(String, Owner)>,
    regexes: Vec<(String, Owner)>,
    exact: Vec<(String, Owner)>,
    domains: Vec<(String, Owner)>,
}

/// Collects patterns per field, then builds the matchers.
#[derive(Default)]
pub(crate) struct Builder {
    fields: [FieldPatterns; FIELD_COUNT],
    headers: HashMap<String, FieldPatterns>,
}

impl Builder {
    /// Add one condition's patterns, occupying `slot`. Bad patterns are reported to `errors`.
    pub fn add(
        &mut self,
        origin: &Origin<'_>,
        patterns: &[Pattern],
        slot: u32,
        errors: &mut Vec<RuleError>,
    ) {
        for (i, p) in patterns.iter().enumerate() {
            let compiled = match translate(origin.syntax, &p.text) {
                Ok(c) => c,
                Err(message) => {
                    errors.push(RuleError {
                        file: p.file.clone(),
                        line: Some(p.line),
                        rule_id: Some(origin.rule_id.to_string()),
                        field: Some(p.label.clone()),
                        message,
                    });
                    continue;
                }
            };
            let owner = Owner {
                slot,
                pattern: u32::try_from(i).unwrap_or(u32::MAX),
            };
            let target = match origin.header {
                Some(h) => self.headers.entry(h.to_string()).or_default(),
                None => match field_index(origin.field).and_then(|i| self.fields.get_mut(i)) {
                    Some(t) => t,
                    None => continue,
                },
            };
            match compiled {
                Compiled::Phrase(s) => target.phrases.push((s, owner)),
                Compiled::Regex(s) => target.regexes.push((s, owner)),
                Compiled::Exact(s) => target.exact.push((s, owner)),
                Compiled::Domain(s) => target.domains.push((s, owner)),
            }
        }
    }

    /// Build every field's matchers. Every pattern was checked alone already, so a failure here
    /// can only be the combined size; it is reported against the field.
    pub fn build(self, errors: &mut Vec<RuleError>) -> Targets {
        let mut targets = Targets::default();
        for (i, pats) in self.fields.into_iter().enumerate() {
            if let Some(t) = build_target(&format!("field #{i}"), pats, errors)
                && let Some(slot) = targets.fields.get_mut(i)
            {
                *slot = Some(t);
            }
        }
        for (name, pats) in self.headers {
            if let Some(t) = build_target(&format!("headers.{name}"), pats, errors) {
                targets.headers.insert(name, t);
            }
        }
        targets
    }
}

/// Group owners by identical pattern, in a stable order.
fn dedupe(pats: Vec<(String, Owner)>) -> (Vec<String>, Vec<Vec<Owner>>) {
    let mut grouped: BTreeMap<String, Vec<Owner>> = BTreeMap::new();
    for (p, o) in pats {
        grouped.entry(p).or_default().push(o);
    }
    grouped.into_iter().unzip()
}

fn build_target(what: &str, pats: FieldPatterns, errors: &mut Vec<RuleError>) -> Option<Target> {
    let FieldPatterns {
        phrases,
        regexes,
        exact,
        domains,
    } = pats;
    if phrases.is_empty() && regexes.is_empty() && exact.is_empty() && domains.is_empty() {
        return None;
    }
    let mut target = Target::default();
    let mut too_big = |e: String| {
        errors.push(RuleError::file(
            "(all rule files)",
            None,
            format!("the patterns on {what} together are too large: {e}"),
        ));
    };
    if !phrases.is_empty() {
        let (texts, owners) = dedupe(phrases);
        let meta = texts
            .iter()
            .zip(owners)
            .map(|(t, owners)| PhraseMeta {
                start_boundary: t.bytes().next().is_some_and(is_word_byte),
                end_boundary: t.bytes().last().is_some_and(is_word_byte),
                owners,
            })
            .collect();
        // Standard semantics: overlapping search reports every phrase at every position. The
        // automaton kind is left to the crate (a contiguous NFA for a few hundred phrases: a
        // full DFA measured no faster here and is 15 times larger).
        match AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&texts)
        {
            Ok(ac) => target.phrases = Some(Phrases { ac, meta }),
            Err(e) => too_big(e.to_string()),
        }
    }
    if !regexes.is_empty() {
        let (texts, owners) = dedupe(regexes);
        match RegexSetBuilder::new(&texts)
            .case_insensitive(true)
            .multi_line(true)
            .crlf(true)
            .size_limit(SET_SIZE_LIMIT)
            .dfa_size_limit(SET_DFA_LIMIT)
            .build()
        {
            Ok(set) => target.regexes = Some(Regexes { set, owners }),
            Err(e) => too_big(one_line_regex_error(&e)),
        }
    }
    for (v, o) in exact {
        target.exact.entry(v).or_default().push(o);
    }
    for (v, o) in domains {
        target.domains.entry(v).or_default().push(o);
    }
    Some(target)
}

/// Compile one regex alone with the options every set uses: the authoritative syntax check.
fn check(regex: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(regex)
        .case_insensitive(true)
        .multi_line(true)
        .crlf(true)
        .build()
}

/// Check an officer's string and turn it into what its field's matcher needs.
pub(crate) fn translate(syntax: Syntax, text: &str) -> Result<Compiled, String> {
    match syntax {
        Syntax::Phrase => {
            let mut bytes = Vec::new();
            normalise(text, &mut bytes);
            let norm = String::from_utf8_lossy(&bytes);
            let norm = norm.trim();
            if norm.is_empty() {
                return Err("empty phrase: it would match every message".into());
            }
            Ok(Compiled::Phrase(norm.to_string()))
        }
        Syntax::Regex => {
            let fast = ascii_word_boundaries(text);
            match check(&fast) {
                Ok(_) => Ok(Compiled::Regex(fast)),
                Err(e) => match check(text) {
                    // The rewrite broke something exotic: keep the author's pattern as written.
                    Ok(_) => Ok(Compiled::Regex(text.to_string())),
                    Err(_) => Err(one_line_regex_error(&e)),
                },
            }
        }
        Syntax::Domain => domain(text).map(Compiled::Domain),
        Syntax::HeaderName => {
            let name = text.trim();
            check_header_name(name)?;
            Ok(Compiled::Exact(name.to_ascii_lowercase()))
        }
        Syntax::Flag => {
            let name = text.trim().to_ascii_lowercase();
            if FLAGS.iter().any(|(f, _)| *f == name) {
                Ok(Compiled::Exact(name))
            } else {
                Err(format!(
                    "unknown flag {name:?}; known flags: {}",
                    FLAGS.iter().map(|(f, _)| *f).collect::<Vec<_>>().join(", ")
                ))
            }
        }
    }
}

/// How [`normalise`] treats each byte: copied as is, an ASCII capital, ASCII whitespace, or the
/// first byte of a non-ASCII character.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ByteClass {
    Copy,
    Upper,
    Space,
    NonAscii,
}

const BYTE_CLASSES: [ByteClass; 256] = {
    let mut t = [ByteClass::Copy; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = match i as u8 {
            b'A'..=b'Z' => ByteClass::Upper,
            b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => ByteClass::Space,
            0x80..=0xff => ByteClass::NonAscii,
            _ => ByteClass::Copy,
        };
        i += 1;
    }
    t
};

fn class(b: u8) -> ByteClass {
    BYTE_CLASSES[usize::from(b)]
}

/// The text phrases are matched against, written into `out` (UTF-8): lower case (Unicode), every
/// run of whitespace (including non-breaking spaces and line breaks) as one space, curly quotes
/// and the modifier apostrophe as straight quotes (mail clients turn one into the other).
///
/// Runs of bytes that need no change (lower-case ASCII, digits, punctuation, single spaces) are
/// copied in one go: this runs once per field of every message, so it must be cheap.
pub(crate) fn normalise(text: &str, out: &mut Vec<u8>) {
    out.clear();
    out.reserve(text.len() + 1);
    let bytes = text.as_bytes();
    let mut pending_space = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match class(b) {
            ByteClass::Copy => {
                let start = i;
                loop {
                    while bytes.get(i).is_some_and(|&x| class(x) == ByteClass::Copy) {
                        i += 1;
                    }
                    // A single space between two copyable bytes is already normal.
                    if bytes.get(i) == Some(&b' ')
                        && bytes
                            .get(i + 1)
                            .is_some_and(|&x| class(x) == ByteClass::Copy)
                    {
                        i += 2;
                        continue;
                    }
                    break;
                }
                if pending_space {
                    out.push(b' ');
                    pending_space = false;
                }
                out.extend_from_slice(bytes.get(start..i).unwrap_or_default());
            }
            ByteClass::Upper => {
                if pending_space {
                    out.push(b' ');
                    pending_space = false;
                }
                out.push(b.to_ascii_lowercase());
                i += 1;
            }
            ByteClass::Space => {
                pending_space = true;
                i += 1;
            }
            ByteClass::NonAscii => {
                let Some(c) = text.get(i..).and_then(|s| s.chars().next()) else {
                    break; // not on a char boundary: cannot happen for a &str
                };
                i += c.len_utf8();
                if c.is_whitespace() {
                    pending_space = true;
                    continue;
                }
                if pending_space {
                    out.push(b' ');
                    pending_space = false;
                }
                let mut buf = [0u8; 4];
                match c {
                    '\u{2018}' | '\u{2019}' | '\u{02BC}' => out.push(b'\''),
                    '\u{201C}' | '\u{201D}' => out.push(b'"'),
                    // CJK, Hangul and most symbols have no case: skip the table lookup.
                    c if ('\u{2E80}'..'\u{FF00}').contains(&c) => {
                        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    }
                    c => {
                        for l in c.to_lowercase() {
                            out.extend_from_slice(l.encode_utf8(&mut buf).as_bytes());
                        }
                    }
                }
            }
        }
    }
    if pending_space {
        out.push(b' ');
    }
}

/// A domain matches itself and any subdomain: `gov.uk` matches `gov.uk` and `council.gov.uk`.
///
/// A leading `@` or `*.` is accepted and ignored, since officers copy domains from addresses and
/// from other tools' wildcard lists.
pub(crate) fn domain(text: &str) -> Result<String, String> {
    let d = text.trim();
    let d = d.strip_prefix('@').unwrap_or(d);
    let d = d.strip_prefix("*.").unwrap_or(d);
    let d = d.trim_end_matches('.').to_ascii_lowercase();
    let label_ok = |l: &str| {
        !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if d.is_empty() || !d.split('.').all(label_ok) {
        return Err(format!(
            "{text:?} is not a mail domain; write it like \"parliament.uk\" (it also matches \
             every subdomain such as \"members.parliament.uk\")"
        ));
    }
    Ok(d)
}

/// Rewrite `\b` and `\B` outside character classes to their ASCII forms `(?-u:\b)`, `(?-u:\B)`.
///
/// A Unicode `\b` makes the regex crate's fast engine give up on any non-ASCII byte (a curly
/// apostrophe, a £ sign) and fall back to a far slower one; the ASCII boundary (between
/// `[0-9A-Za-z_]` and anything else) keeps it fast, and is what phrases use too.
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

    /// Does a field holding just `pattern` (of `syntax`) match `text`?
    fn m(syntax: Syntax, pattern: &str, text: &str) -> bool {
        let mut b = Builder::default();
        let origin = Origin {
            rule_id: "t",
            field: Field::Body,
            syntax,
            header: None,
        };
        let p = Pattern {
            text: pattern.into(),
            file: "t.toml".into(),
            line: 1,
            label: "body".into(),
            list: None,
        };
        let mut errors = Vec::new();
        b.add(&origin, &[p], 0, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        let targets = b.build(&mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        let mut hits = [u32::MAX];
        let mut scratch = Scratch::default();
        if let Some(t) = targets.fields[1].as_ref() {
            t.scan(text, &mut scratch, &mut hits);
        }
        hits[0] == 0
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
                "freedom\u{a0}of\r\ninformation",
                true,
            ),
            ("freedom  of information", "freedom of information", true),
            (
                "freedom of information",
                "freedom  of  informationally",
                false,
            ),
            ("freedom of information", "freedomof information", false),
            ("FOI", "my foi request", true),
            ("FOI", "foil wrapper", false),
            ("FOI", "FOIA", false),
            ("foi", "(FOI)", true),
            ("foi", "[FOI-2026-000123]", true),
            ("foi", "x_foi", false), // '_' is a word character
            ("out of office", "I am out of the office", false),
            ("I'm away", "I\u{2019}m away", true),
            ("I\u{2019}m away", "I'm away", true),
            ("\"quoted\"", "a \u{201C}quoted\u{201D} word", true),
            ("re:", "Re: your letter", true),
            ("re:", "ore: mine", false), // starts with a word char: needs a boundary before it
            ("a.b", "axb", false),       // dots are literal
            ("(c)", "(c) 2024", true),
            ("£5", "costs £5 each", true),
            ("caf", "café", true), // ASCII boundary: é is not an ASCII word char (documented)
            ("Chloë", "CHLOË FERREIRA", true),
            ("C++", "we use c++ here", true),
            ("tree", "street", false),
            ("tree", "a tree. another", true),
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
    fn normalise_folds_case_space_and_quotes() {
        let mut out = Vec::new();
        for (input, want) in [
            ("  Hello\r\n\tWORLD  ", " hello world "),
            ("I\u{2019}m \u{201C}x\u{201D}", "i'm \"x\""),
            ("ÉCOLE", "école"),
            ("a  b c\td  e", "a b c d e"),
            ("日本語のテキスト ＡＢ", "日本語のテキスト ａｂ"),
            ("ΣΑΣ Straße", "σασ straße"),
            ("a\u{a0}\u{2003}b\u{2019}", "a b'"),
            ("\u{a0}x", " x"),
            ("", ""),
        ] {
            normalise(input, &mut out);
            assert_eq!(String::from_utf8(out.clone()).unwrap(), want, "{input:?}");
        }
    }

    #[test]
    fn empty_phrase_is_an_error() {
        assert!(translate(Syntax::Phrase, "   ").is_err());
        assert!(translate(Syntax::Phrase, "").is_err());
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
            ("parliament.uk", "Members.Parliament.UK.", true),
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
            assert!(domain(bad).is_err(), "{bad:?} should be rejected");
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
        assert!(m(Syntax::HeaderName, "x-autoreply", "X-AutoReply"));
        assert!(!m(
            Syntax::HeaderName,
            "X-Autoreply",
            "x-autoreply-suppress"
        ));
        assert!(translate(Syntax::HeaderName, "bad name").is_err());
    }

    #[test]
    fn shared_patterns_serve_every_owner() {
        // The same phrase in two conditions is searched once and marks both slots.
        let mut b = Builder::default();
        let origin = Origin {
            rule_id: "t",
            field: Field::Subject,
            syntax: Syntax::Phrase,
            header: None,
        };
        let p = |t: &str| Pattern {
            text: t.into(),
            file: "t.toml".into(),
            line: 1,
            label: "subject".into(),
            list: None,
        };
        let mut errors = Vec::new();
        b.add(&origin, &[p("zzz"), p("FOI")], 0, &mut errors);
        b.add(&origin, &[p("foi")], 1, &mut errors);
        let t = b.build(&mut errors);
        let mut hits = [u32::MAX; 2];
        t.fields[0]
            .as_ref()
            .unwrap()
            .scan("An FOI request", &mut Scratch::default(), &mut hits);
        assert_eq!(hits, [1, 0]);
    }

    /// The documented phrase semantics written as a regex, to check the fast path against.
    fn reference_regex(phrase: &str) -> Regex {
        let words: Vec<&str> = phrase.split_whitespace().collect();
        let is_word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        let mut r = String::new();
        if is_word(words.first().and_then(|w| w.chars().next())) {
            r.push_str(r"(?-u:\b)");
        }
        let body: Vec<String> = words
            .iter()
            .map(|w| {
                w.chars()
                    .map(|c| match c {
                        '\'' | '\u{2019}' => "['\u{2019}]".to_string(),
                        c => regex::escape(c.encode_utf8(&mut [0; 4])),
                    })
                    .collect()
            })
            .collect();
        r.push_str(&body.join(r"\s+"));
        if is_word(words.last().and_then(|w| w.chars().last())) {
            r.push_str(r"(?-u:\b)");
        }
        RegexBuilder::new(&r)
            .case_insensitive(true)
            .build()
            .unwrap()
    }

    proptest::proptest! {
        /// Aho-Corasick over normalised text agrees with the phrase semantics written as a regex.
        #[test]
        fn phrase_fast_path_matches_reference(
            phrase in "[a-cA-C'’é]{1,3}( [a-cA-C'’é]{1,3}){0,2}",
            text in "[a-cA-C'’éÉ_ \n\t\u{a0}.]{0,40}",
        ) {
            proptest::prop_assert_eq!(
                m(Syntax::Phrase, &phrase, &text),
                reference_regex(&phrase).is_match(&text),
                "phrase {:?} text {:?}", phrase, text
            );
        }
    }
}
