//! The one TOML reader: the configuration file, the rule files and the routing file are all read
//! with it.
//!
//! Files are walked over `toml`'s spanned document ([`DeTable`]) rather than deserialised in one
//! go, so that one pass reports **every** problem (unknown key, wrong type, bad value) with its
//! line and key path, instead of stopping at the first. The pieces:
//! - [`Reader`]: the line map of the text plus the collected errors and warnings ([`Problem`]s,
//!   each with its line, the section it is in and its key path); the caller turns them into its
//!   own error type (`ConfigError`, `RuleError`, `RoutingError`) with the file name.
//! - typed getters for the configuration file ([`Reader::string`], [`Reader::integer`]…), which
//!   report wrong types and unknown keys ([`Reader::known`]) under a dotted key path;
//! - [`section`]: one serde struct read from a table and checked by its own `validate`, for the
//!   sub-sections whose settings type is a serde struct;
//! - [`suggest`] ("did you mean"), [`edit_distance`] and [`one_line_regex_error`].

use super::ConfigError;
use serde::de::{DeserializeOwned, IntoDeserializer};
use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
pub use toml::Spanned;
pub use toml::de::{DeTable, DeValue};

/// A value with its span in the text.
pub type Value<'a> = Spanned<DeValue<'a>>;
/// A table key with its span in the text.
pub type Key<'a> = Spanned<Cow<'a, str>>;

/// One problem, located as precisely as the reader can: line, section (a rule, a team…) and key
/// path. The caller adds the file name when it turns this into its own error type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem<S> {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// The section the problem is in, when known (a rule id, a team…).
    pub section: Option<S>,
    /// The key path (and pattern number), e.g. `kinds.foi.prefix`, `subject pattern 2`.
    pub key: Option<String>,
    /// What is wrong, in plain English.
    pub message: String,
}

impl From<Problem<()>> for ConfigError {
    fn from(p: Problem<()>) -> ConfigError {
        ConfigError {
            key: p.key.unwrap_or_default(),
            message: p.message,
        }
    }
}

/// Walks one TOML text collecting problems instead of stopping at the first (Stalwart's style).
/// `S` names the sections a problem can be in (`()` for the configuration file).
#[derive(Debug)]
pub struct Reader<S = ()> {
    /// Byte offset of the start of each line.
    starts: Vec<usize>,
    /// Problems that stop the file from loading, in the order found.
    pub errors: Vec<Problem<S>>,
    /// Problems an officer should look at that do not stop the file from loading.
    pub warnings: Vec<Problem<S>>,
}

impl<S: Clone> Reader<S> {
    /// A reader for `text` (for its line numbers), with no problems yet.
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Reader {
            starts,
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Parses `text` into its spanned document. On a syntax error, every syntax error comes back
    /// as a problem (`TOML syntax error: ...`) and nothing else is checked: a recovered document
    /// may be partial, and checking it would add confusing follow-on errors.
    ///
    /// # Errors
    /// The syntax errors, with their lines.
    pub fn parse(text: &str) -> Result<(Self, DeTable<'_>), Vec<Problem<S>>> {
        let mut reader = Self::new(text);
        let (doc, syntax_errors) = DeTable::parse_recoverable(text);
        if syntax_errors.is_empty() {
            return Ok((reader, doc.into_inner()));
        }
        for e in syntax_errors {
            let line = e.span().map(|s| reader.line(s));
            reader.push(
                line,
                None,
                None,
                format!("TOML syntax error: {}", e.message().trim()),
            );
        }
        Err(reader.errors)
    }

    /// The 1-based line a span starts on.
    pub fn line(&self, span: Range<usize>) -> usize {
        match self.starts.binary_search(&span.start) {
            Ok(i) => i + 1,
            Err(i) => i.max(1),
        }
    }

    fn push(&mut self, line: Option<usize>, section: Option<&S>, key: Option<&str>, msg: String) {
        self.errors.push(Problem {
            line,
            section: section.cloned(),
            key: key.map(str::to_string),
            message: msg,
        });
    }

    /// An error at a line.
    pub fn error(&mut self, line: usize, section: Option<&S>, key: Option<&str>, msg: String) {
        self.push(Some(line), section, key, msg);
    }

    /// A warning at a line.
    pub fn warn(&mut self, line: usize, section: Option<&S>, key: Option<&str>, msg: String) {
        self.warnings.push(Problem {
            line: Some(line),
            section: section.cloned(),
            key: key.map(str::to_string),
            message: msg,
        });
    }

    /// The table of one `[[what]]` item, with the item's line; `None` (an error under `key`) when
    /// the item is not a table.
    pub fn array_item<'v, 'a>(
        &mut self,
        item: &'v Value<'a>,
        key: Option<&str>,
        what: &str,
    ) -> Option<(usize, &'v DeTable<'a>)> {
        let line = self.line(item.span());
        match item.get_ref() {
            DeValue::Table(table) => Some((line, table)),
            other => {
                let msg = format!(
                    "each {what} must be a [[{what}]] table, found {}",
                    other.type_str()
                );
                self.error(line, None, key, msg);
                None
            }
        }
    }

    /// The table a value holds; when it is not a table, an error `{expected}, found <type>` at
    /// the value's line and `None`.
    pub fn expect_table<'v, 'a>(
        &mut self,
        value: &'v Value<'a>,
        section: Option<&S>,
        key: Option<&str>,
        expected: &str,
    ) -> Option<&'v DeTable<'a>> {
        match value.get_ref() {
            DeValue::Table(table) => Some(table),
            _ => self.mismatch(value, section, key, expected),
        }
    }

    /// The items of a value written as one string or as a list; when it is neither, an error
    /// `{expected}, found <type>` at the value's line and `None`.
    pub fn one_or_list<'v, 'a>(
        &mut self,
        value: &'v Value<'a>,
        section: Option<&S>,
        key: Option<&str>,
        expected: &str,
    ) -> Option<Vec<&'v Value<'a>>> {
        match value.get_ref() {
            DeValue::Array(a) => Some(a.iter().collect()),
            DeValue::String(_) => Some(vec![value]),
            _ => self.mismatch(value, section, key, expected),
        }
    }

    /// An error `{expected}, found <type>` at the value's line.
    fn mismatch<T>(
        &mut self,
        value: &Value<'_>,
        section: Option<&S>,
        key: Option<&str>,
        expected: &str,
    ) -> Option<T> {
        let msg = format!("{expected}, found {}", value.get_ref().type_str());
        self.error(self.line(value.span()), section, key, msg);
        None
    }

    /// An error at a key path, without a line (the configuration file's errors).
    pub fn err(&mut self, key: &str, message: String) {
        self.push(None, None, Some(key), message);
    }

    /// Reports keys that are not in `allowed` (typos must not be silently ignored).
    pub fn known(&mut self, t: &DeTable<'_>, at: &str, allowed: &[&str]) {
        for (k, _) in t.iter() {
            if !allowed.contains(&key_str(k)) {
                self.err(
                    &key_path(at, key_str(k)),
                    format!("unknown key (expected one of: {})", allowed.join(", ")),
                );
            }
        }
    }

    /// The table under `key` (empty when absent or not a table; the latter reported).
    pub fn table<'a>(&mut self, t: &DeTable<'a>, at: &str, key: &str) -> DeTable<'a> {
        match t.get(key).map(Spanned::get_ref) {
            None => DeTable::new(),
            Some(DeValue::Table(t)) => t.clone(),
            Some(v) => {
                self.err(
                    &key_path(at, key),
                    format!("expected a table, found {}", v.type_str()),
                );
                DeTable::new()
            }
        }
    }

    /// A string, trimmed; `required` reports it missing or empty.
    pub fn string(
        &mut self,
        t: &DeTable<'_>,
        at: &str,
        key: &str,
        required: bool,
    ) -> Option<String> {
        match t.get(key).map(Spanned::get_ref) {
            None if required => {
                self.err(&key_path(at, key), "missing (required)".into());
                None
            }
            None => None,
            Some(DeValue::String(s)) if s.trim().is_empty() && required => {
                self.err(&key_path(at, key), "must not be empty".into());
                None
            }
            Some(DeValue::String(s)) => Some(s.trim().to_string()),
            Some(v) => {
                self.err(
                    &key_path(at, key),
                    format!("expected a string, found {}", v.type_str()),
                );
                None
            }
        }
    }

    /// String list items with their index in the file's list (for error key paths).
    pub fn strings(&mut self, t: &DeTable<'_>, at: &str, key: &str) -> Vec<(usize, String)> {
        match t.get(key).map(Spanned::get_ref) {
            None => Vec::new(),
            Some(DeValue::Array(a)) => {
                let mut out = Vec::new();
                for (i, v) in a.iter().enumerate() {
                    match v.get_ref() {
                        DeValue::String(s) => out.push((i, s.trim().to_string())),
                        v => self.err(
                            &format!("{}[{i}]", key_path(at, key)),
                            format!("expected a string, found {}", v.type_str()),
                        ),
                    }
                }
                out
            }
            Some(v) => {
                self.err(
                    &key_path(at, key),
                    format!("expected a list of strings, found {}", v.type_str()),
                );
                Vec::new()
            }
        }
    }

    /// An integer.
    pub fn integer(&mut self, t: &DeTable<'_>, at: &str, key: &str) -> Option<i64> {
        let v = t.get(key)?.get_ref();
        match (v, integer(v)) {
            (_, Some(n)) => Some(n),
            (DeValue::Integer(i), None) => {
                self.err(
                    &key_path(at, key),
                    format!("{} is too large for a whole number", i.as_str()),
                );
                None
            }
            (v, None) => {
                self.err(
                    &key_path(at, key),
                    format!("expected an integer, found {}", v.type_str()),
                );
                None
            }
        }
    }

    /// `true` or `false`.
    pub fn boolean(&mut self, t: &DeTable<'_>, at: &str, key: &str) -> Option<bool> {
        match t.get(key).map(Spanned::get_ref) {
            None => None,
            Some(DeValue::Boolean(b)) => Some(*b),
            Some(v) => {
                self.err(
                    &key_path(at, key),
                    format!("expected true or false, found {}", v.type_str()),
                );
                None
            }
        }
    }
}

/// A settings sub-section that is a serde struct (`[workflow.chasers]`…): deserialised in one go,
/// then checked by its own [`Section::validate`]. Every field has a default, so an absent
/// section is the default.
pub trait Section: DeserializeOwned + Default {
    /// Every problem with the values, each with its key path under `at` (e.g. `chasers`).
    fn validate(&self, at: &str) -> Vec<ConfigError>;

    /// Parses the section body given as TOML text (without the header).
    ///
    /// # Errors
    /// The TOML error (unknown key, wrong type, bad value) at `at`, or every
    /// [`Section::validate`] error.
    fn from_toml(text: &str, at: &str) -> Result<Self, Vec<ConfigError>> {
        checked(::toml::from_str(text), at)
    }
}

/// The deserialised settings when they are valid, else every problem under `at`.
fn checked<T: Section>(
    parsed: Result<T, ::toml::de::Error>,
    at: &str,
) -> Result<T, Vec<ConfigError>> {
    let settings = parsed.map_err(|e| {
        vec![ConfigError {
            key: at.to_string(),
            message: e.message().to_string(),
        }]
    })?;
    let errors = settings.validate(at);
    if errors.is_empty() {
        Ok(settings)
    } else {
        Err(errors)
    }
}

/// The [`Section`] under `key` of the table at `at` (its default when absent). Problems go to
/// `r`, each under the key path `at.key`; the default comes back when there are any.
pub fn section<T: Section>(r: &mut Reader, t: &DeTable<'_>, at: &str, key: &str) -> T {
    let path = key_path(at, key);
    let Some(v) = t.get(key) else {
        return T::default();
    };
    if !matches!(v.get_ref(), DeValue::Table(_)) {
        r.err(&path, "expected a table".into());
        return T::default();
    }
    match checked(T::deserialize(v.clone().into_deserializer()), &path) {
        Ok(settings) => settings,
        Err(errors) => {
            for e in errors {
                r.err(&e.key, e.message);
            }
            T::default()
        }
    }
}

/// Writes a located problem the way every file's errors are shown,
/// `file:line: section: key: message`, leaving out the parts that are not known.
pub fn write_located(
    f: &mut fmt::Formatter<'_>,
    file: &str,
    line: Option<usize>,
    section: Option<&dyn fmt::Display>,
    key: Option<&str>,
    message: &str,
) -> fmt::Result {
    f.write_str(file)?;
    if let Some(line) = line {
        write!(f, ":{line}")?;
    }
    if let Some(s) = section {
        write!(f, ": {s}")?;
    }
    if let Some(k) = key {
        write!(f, ": {k}")?;
    }
    write!(f, ": {message}")
}

/// Writes problems one per line, then their count: `2 errors {what}`.
pub fn write_list<E: fmt::Display>(
    f: &mut fmt::Formatter<'_>,
    errors: &[E],
    what: &str,
) -> fmt::Result {
    for e in errors {
        writeln!(f, "{e}")?;
    }
    let n = errors.len();
    write!(f, "{n} error{} {what}", if n == 1 { "" } else { "s" })
}

/// `at.key`, or `key` at the top level.
pub fn key_path(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_string()
    } else {
        format!("{at}.{key}")
    }
}

/// A key's text.
pub fn key_str<'k>(k: &'k Key<'_>) -> &'k str {
    k.get_ref().as_ref()
}

/// Whether a table has a key, whatever its value.
pub fn has_key(t: &DeTable<'_>, name: &str) -> bool {
    t.get(name).is_some()
}

/// The key and value named `name`.
pub fn entry<'t, 'a>(t: &'t DeTable<'a>, name: &str) -> Option<(&'t Key<'a>, &'t Value<'a>)> {
    t.get_key_value(name)
}

/// An integer value that fits in an `i64`.
pub fn integer(v: &DeValue<'_>) -> Option<i64> {
    match v {
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok(),
        _ => None,
    }
}

/// The known name closest to `name`, when within two edits.
pub fn closest<'k>(name: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .map(|k| (edit_distance(name, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// `; did you mean "subject"?` when a known name is close (edit distance ≤ 2), else `""`.
pub fn suggest(name: &str, known: &[&str]) -> String {
    suggest_after(name, "", known)
}

/// [`suggest`] on what follows `prefix` (kept in the suggestion), so that with the prefix
/// `unless_`, `unless_subjet` suggests `unless_subject`.
pub fn suggest_after(name: &str, prefix: &str, known: &[&str]) -> String {
    let (prefix, base) = match name.strip_prefix(prefix) {
        Some(b) => (prefix, b),
        None => ("", name),
    };
    closest(base, known)
        .map(|k| format!("; did you mean \"{prefix}{k}\"?"))
        .unwrap_or_default()
}

/// Levenshtein distance over chars (short names only, so the quadratic cost is irrelevant).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Turn the regex crate's multi-line syntax error (with a caret diagram) into one line.
///
/// The crate's text looks like `regex parse error:\n    (foo\n    ^\nerror: unclosed group`; an
/// officer reading a list of problems wants `regex parse error: unclosed group`.
pub fn one_line_regex_error(err: &regex::Error) -> String {
    match err {
        regex::Error::Syntax(text) => {
            let reason = text
                .lines()
                .rev()
                .find_map(|l| l.trim().strip_prefix("error:"))
                .map(str::trim)
                .unwrap_or_else(|| text.lines().last().unwrap_or("").trim());
            format!("regex parse error: {reason}")
        }
        regex::Error::CompiledTooBig(limit) => {
            format!("pattern too large once compiled (over {limit} bytes); simplify it")
        }
        other => format!("regex error: {}", other.to_string().replace('\n', " ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_error_is_one_line() {
        // Built at run time so the (deliberately) bad patterns are not linted as constants.
        let bad = |p: &str| regex::Regex::new(p).unwrap_err();
        let err = bad("(foo");
        let s = one_line_regex_error(&err);
        assert_eq!(s, "regex parse error: unclosed group");
        let err = bad("a{2,1}");
        let s = one_line_regex_error(&err);
        assert!(s.starts_with("regex parse error: "), "{s}");
        assert!(!s.contains('\n'), "{s}");
    }

    #[test]
    fn edit_distance_and_suggestions() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("subjet", "subject"), 1);
        assert_eq!(edit_distance("same", "same"), 0);
        assert_eq!(
            suggest("sendr", &["sender", "body"]),
            "; did you mean \"sender\"?"
        );
        assert_eq!(suggest("zzzzzzzz", &["sender", "body"]), "");
        assert_eq!(
            suggest_after("unless_bdy", "unless_", &["body"]),
            "; did you mean \"unless_body\"?"
        );
    }

    #[test]
    fn lines_count_from_one() {
        let r: Reader = Reader::new("a = 1\nb = 2\n\nc = 3");
        assert_eq!(r.line(0..1), 1);
        assert_eq!(r.line(6..7), 2);
        assert_eq!(r.line(13..14), 4);
    }

    #[test]
    fn syntax_errors_have_lines() {
        let errs = Reader::<()>::parse("a = 1\nb = \"x\n").unwrap_err();
        assert!(!errs.is_empty());
        assert_eq!(errs[0].line, Some(2));
        assert!(errs[0].message.starts_with("TOML syntax error: "));
    }
}
