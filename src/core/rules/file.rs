//! Reading one rule file: TOML text → plain rule records, with every problem collected.
//!
//! This module checks the *shape* of a file (known keys, right types, ids, kinds, weights) and
//! remembers the line of every key so problems can be pointed at. It does not compile patterns
//! (that is `compile.rs`) and does not look across files (duplicate ids and settings are checked in
//! `mod.rs`). The file format itself is documented for officers in `rules/README.md`.

use super::error::RuleError;
use crate::config::toml::{
    DeTable, DeValue, Problem, Reader, Spanned, has_key, integer, key_str, suggest_after,
};
use crate::model::kind::Kind;

/// Smallest and largest weight a rule may carry. Wide enough for any sensible scheme; narrow
/// enough that no sum of rules can overflow an `i32` and that a typo like `weight = 50000` is caught.
pub const MAX_ABS_WEIGHT: i32 = 1000;

/// Largest value `auto_threshold` and `min_score` may take (a typo guard, like [`MAX_ABS_WEIGHT`]).
pub const MAX_SETTING: i64 = 100_000;

/// What part of a message a condition looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Field {
    Subject,
    Body,
    Sender,
    SenderName,
    SenderDomain,
    ReplyTo,
    Recipient,
    AttachmentName,
    AttachmentType,
    /// The value of one named header (`headers = { name = [...] }`).
    Header,
    /// The names of the headers present (`has_headers`).
    HeaderNames,
    /// Facts about the message (`flags`).
    Flags,
}

/// How the strings of a condition are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Syntax {
    /// Plain words, case-insensitive, whole words, any whitespace between words.
    Phrase,
    /// A regular expression (case-insensitive).
    Regex,
    /// A mail domain: matches itself and every subdomain.
    Domain,
    /// A header name, present or not.
    HeaderName,
    /// One of [`FLAGS`].
    Flag,
}

/// Every condition key (without the `unless_` prefix): the field it reads and its syntax.
pub(crate) const CONDITION_KEYS: &[(&str, Field, Syntax)] = &[
    ("subject", Field::Subject, Syntax::Phrase),
    ("subject_regex", Field::Subject, Syntax::Regex),
    ("body", Field::Body, Syntax::Phrase),
    ("body_regex", Field::Body, Syntax::Regex),
    ("sender", Field::Sender, Syntax::Phrase),
    ("sender_regex", Field::Sender, Syntax::Regex),
    ("sender_name", Field::SenderName, Syntax::Phrase),
    ("sender_name_regex", Field::SenderName, Syntax::Regex),
    ("sender_domain", Field::SenderDomain, Syntax::Domain),
    ("reply_to", Field::ReplyTo, Syntax::Phrase),
    ("reply_to_regex", Field::ReplyTo, Syntax::Regex),
    ("recipient", Field::Recipient, Syntax::Phrase),
    ("recipient_regex", Field::Recipient, Syntax::Regex),
    ("attachment_name", Field::AttachmentName, Syntax::Phrase),
    (
        "attachment_name_regex",
        Field::AttachmentName,
        Syntax::Regex,
    ),
    ("attachment_type", Field::AttachmentType, Syntax::Phrase),
    (
        "attachment_type_regex",
        Field::AttachmentType,
        Syntax::Regex,
    ),
    ("headers", Field::Header, Syntax::Regex),
    ("has_headers", Field::HeaderNames, Syntax::HeaderName),
    ("flags", Field::Flags, Syntax::Flag),
];

/// The facts a `flags` condition can test, with what each means (shown in error messages).
pub const FLAGS: &[(&str, &str)] = &[
    (
        "report",
        "the message is a delivery or read report (Content-Type multipart/report, RFC 6522)",
    ),
    (
        "null-return-path",
        "the Return-Path is empty <>, as on bounces and RFC 3834 auto-replies",
    ),
    (
        "reply-to-differs",
        "a Reply-To address is present and differs from the From address",
    ),
    ("has-attachments", "the message has at least one attachment"),
    (
        "reply",
        "the message has In-Reply-To or References (it answers an earlier message)",
    ),
    ("no-sender", "the message has no usable From address"),
    (
        "dmarc-fail",
        "the organisation's trusted mail gateway reports DMARC fail for the From domain \
         ([trust] authserv_ids; never set without one)",
    ),
];

/// Keys of a rule that are not conditions.
const RULE_META_KEYS: &[&str] = &["id", "kind", "weight", "description", "enabled"];

/// Keys of the `[settings]` table.
pub(crate) const SETTING_KEYS: &[&str] = &["auto_threshold", "min_score"];

/// One condition as written: a key and its strings.
#[derive(Debug, Clone)]
pub(crate) struct RawCondition {
    /// The key as an officer reads it: `subject`, `unless_body_regex`, `headers.auto-submitted`.
    pub key: String,
    pub field: Field,
    pub syntax: Syntax,
    /// Lower-cased header name for [`Field::Header`].
    pub header: Option<String>,
    /// An `unless_` condition: when it matches, the rule does not fire.
    pub unless: bool,
    /// The strings (or list references), each with its line.
    pub patterns: Vec<RawPattern>,
}

/// One item of a condition: a string, or a reference to a named list (`{ list = "name" }`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawPattern {
    Text { text: String, line: usize },
    List { name: String, line: usize },
}

/// A named list of strings from a `[lists]` table, usable in any condition.
#[derive(Debug, Clone)]
pub(crate) struct RawList {
    pub name: String,
    pub line: usize,
    pub items: Vec<(String, usize)>,
}

/// One rule whose shape is valid (patterns not compiled yet).
#[derive(Debug, Clone)]
pub(crate) struct RawRule {
    pub id: String,
    pub kind: Kind,
    pub weight: i32,
    pub description: String,
    pub enabled: bool,
    pub line: usize,
    pub conditions: Vec<RawCondition>,
}

/// One `[settings]` value.
#[derive(Debug, Clone)]
pub(crate) struct RawSetting {
    pub key: &'static str,
    pub value: i32,
    pub line: usize,
}

/// What one file holds once its shape has been checked.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawFile {
    pub settings: Vec<RawSetting>,
    pub lists: Vec<RawList>,
    pub rules: Vec<RawRule>,
}

/// Read one rule file. Problems go to `errors`/`warnings`; what is valid comes back.
///
/// A rule with any problem is left out of the result (its problems are reported), so the caller
/// can still check the other rules, e.g. for duplicate ids, and report everything at once.
pub(crate) fn parse_file(
    file: &str,
    text: &str,
    errors: &mut Vec<RuleError>,
    warnings: &mut Vec<RuleError>,
) -> RawFile {
    let stamp = |p: Problem<String>| RuleError {
        file: file.to_string(),
        line: p.line,
        rule_id: p.section,
        field: p.key,
        message: p.message,
    };
    let (mut r, doc) = match Reader::parse(text) {
        Ok(parsed) => parsed,
        Err(syntax_errors) => {
            errors.extend(syntax_errors.into_iter().map(stamp));
            return RawFile::default();
        }
    };
    let out = parse_doc(&doc, &mut r);
    errors.extend(r.errors.into_iter().map(stamp));
    warnings.extend(r.warnings.into_iter().map(stamp));
    if out.rules.is_empty() && out.settings.is_empty() && out.lists.is_empty() && errors.is_empty()
    {
        warnings.push(RuleError::file(
            file,
            Some(1),
            "the file has no [[rule]], no [settings] and no [lists]",
        ));
    }
    out
}

/// The top level of a rule file: `[settings]`, `[lists]` and `[[rule]]`.
fn parse_doc(doc: &DeTable<'_>, r: &mut Reader<String>) -> RawFile {
    let mut out = RawFile::default();
    for (key, value) in doc.iter() {
        let line = r.line(key.span());
        match key_str(key) {
            "settings" => parse_settings(value, r, &mut out),
            "lists" => parse_lists(value, r, &mut out),
            "rule" => match value.get_ref() {
                DeValue::Array(items) => {
                    for item in items.iter() {
                        if let Some(rule) = parse_rule(item, r) {
                            out.rules.push(rule);
                        }
                    }
                }
                other => r.error(
                    line,
                    None,
                    None,
                    format!(
                        "`rule` must be written as [[rule]] tables, found {}",
                        other.type_str()
                    ),
                ),
            },
            other => r.error(
                line,
                None,
                None,
                format!(
                    "unknown top-level key {other:?}{}; a rule file holds [[rule]] tables, and \
                     optionally a [settings] and a [lists] table",
                    suggest(other, &["rule", "settings", "lists"])
                ),
            ),
        }
    }
    out
}

/// `[lists]`: `name = ["phrase", ...]`, usable in any condition as `{ list = "name" }`.
fn parse_lists(value: &Spanned<DeValue<'_>>, r: &mut Reader<String>, out: &mut RawFile) {
    let expected = "`lists` must be a [lists] table of name = [\"phrase\", ...]";
    let Some(table) = r.expect_table(value, None, None, expected) else {
        return;
    };
    for (key, items) in table.iter() {
        let name = key_str(key);
        let line = r.line(key.span());
        let field = format!("lists.{name}");
        if let Err(msg) = check_list_name(name) {
            r.error(line, None, Some(&field), msg);
            continue;
        }
        let what = "string";
        let expected = "expected a list of strings";
        let Some(arr) = r.one_or_list(items, None, Some(&field), expected) else {
            continue;
        };
        if arr.is_empty() {
            r.error(line, None, Some(&field), "empty list".into());
            continue;
        }
        let mut ok = true;
        let mut out_items = Vec::new();
        for (i, item) in arr.iter().enumerate() {
            let item_line = r.line(item.span());
            match item.get_ref() {
                DeValue::String(s) if !s.trim().is_empty() => {
                    out_items.push((s.to_string(), item_line))
                }
                DeValue::String(_) => {
                    r.error(
                        item_line,
                        None,
                        Some(&format!("{field} item {}", i + 1)),
                        "empty string: it would match every message".into(),
                    );
                    ok = false;
                }
                other => {
                    r.error(
                        item_line,
                        None,
                        Some(&format!("{field} item {}", i + 1)),
                        format!("expected a {what} in quotes, found {}", other.type_str()),
                    );
                    ok = false;
                }
            }
        }
        if ok {
            out.lists.push(RawList {
                name: name.to_string(),
                line,
                items: out_items,
            });
        }
    }
}

/// List names are short identifiers so `{ list = "name" }` is easy to type and to search for.
fn check_list_name(name: &str) -> Result<(), String> {
    if !name.is_empty()
        && name.len() <= 60
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        Ok(())
    } else {
        Err(format!(
            "list name {name:?} is not allowed; use letters, digits, '-' and '_', e.g. \
             \"environmental_topics\""
        ))
    }
}

fn parse_settings(value: &Spanned<DeValue<'_>>, r: &mut Reader<String>, out: &mut RawFile) {
    let expected = "`settings` must be a [settings] table";
    let Some(table) = r.expect_table(value, None, None, expected) else {
        return;
    };
    for (key, value) in table.iter() {
        let line = r.line(key.span());
        let name = key_str(key);
        let Some(&known) = SETTING_KEYS.iter().find(|k| **k == name) else {
            r.error(
                line,
                None,
                Some(&format!("settings.{name}")),
                format!(
                    "unknown setting{}; known settings: {}",
                    suggest(name, SETTING_KEYS),
                    SETTING_KEYS.join(", ")
                ),
            );
            continue;
        };
        match integer(value.get_ref()) {
            Some(v) if (1..=MAX_SETTING).contains(&v) => out.settings.push(RawSetting {
                key: known,
                // In range 1..=MAX_SETTING, so the conversion cannot fail; stay panic-free anyway.
                value: i32::try_from(v).unwrap_or(i32::MAX),
                line,
            }),
            Some(v) => r.error(
                line,
                None,
                Some(&format!("settings.{name}")),
                format!("{v} is out of range; use a whole number from 1 to {MAX_SETTING}"),
            ),
            None => r.error(
                line,
                None,
                Some(&format!("settings.{name}")),
                format!(
                    "expected a whole number, found {}",
                    value.get_ref().type_str()
                ),
            ),
        }
    }
}

/// A rule's keys as read so far (the id is read first, on its own).
struct RuleFields {
    kind: Option<Kind>,
    weight: Option<i32>,
    description: Option<String>,
    enabled: bool,
    conditions: Vec<RawCondition>,
}

/// Read one `[[rule]]`; `None` when it has any problem (all of them reported).
fn parse_rule(item: &Spanned<DeValue<'_>>, r: &mut Reader<String>) -> Option<RawRule> {
    let (rule_line, table) = r.array_item(item, None, "rule")?;
    let errors_before = r.errors.len();
    // The id first, so every later problem can name the rule.
    let id = rule_id(table, rule_line, r);
    let rid = id.as_ref();
    let mut f = RuleFields {
        kind: None,
        weight: None,
        description: None,
        enabled: true,
        conditions: Vec::new(),
    };
    for (key, value) in table.iter() {
        let name = key_str(key);
        let line = r.line(key.span());
        match name {
            "id" => {}
            "kind" | "weight" | "description" | "enabled" => {
                parse_meta(name, value.get_ref(), line, rid, r, &mut f);
            }
            _ => parse_condition(name, value, line, rid, r, &mut f.conditions),
        }
    }
    check_complete(table, &f, rule_line, rid, errors_before, r);
    if r.errors.len() != errors_before {
        return None;
    }
    Some(RawRule {
        id: id?,
        kind: f.kind?,
        weight: f.weight?,
        description: f.description?,
        enabled: f.enabled,
        line: rule_line,
        conditions: f.conditions,
    })
}

/// The rule's `id`, checked; `None` (reported) when absent or not allowed.
fn rule_id(table: &DeTable<'_>, rule_line: usize, r: &mut Reader<String>) -> Option<String> {
    let Some((k, v)) = table.get_key_value("id") else {
        r.error(
            rule_line,
            None,
            None,
            "rule has no `id`; give it a unique name such as \"foi.act-named\"".into(),
        );
        return None;
    };
    let line = r.line(k.span());
    match v.get_ref() {
        DeValue::String(s) => match check_id(s) {
            Ok(()) => Some(s.to_string()),
            Err(msg) => {
                r.error(line, None, Some("id"), msg);
                None
            }
        },
        other => {
            r.error(
                line,
                None,
                Some("id"),
                format!("expected a string, found {}", other.type_str()),
            );
            None
        }
    }
}

/// `kind`, `weight`, `description` or `enabled`.
fn parse_meta(
    name: &str,
    value: &DeValue<'_>,
    line: usize,
    rid: Option<&String>,
    r: &mut Reader<String>,
    f: &mut RuleFields,
) {
    let mut error = |msg: String| r.error(line, rid, Some(name), msg);
    match (name, value) {
        ("kind", DeValue::String(s)) => match s.parse::<Kind>() {
            Ok(k) => f.kind = Some(k),
            Err(e) => error(e.to_string()),
        },
        ("weight", _) => match integer(value) {
            Some(0) => {
                error("weight 0 does nothing; to switch a rule off, write `enabled = false`".into())
            }
            Some(w) if (-i64::from(MAX_ABS_WEIGHT)..=i64::from(MAX_ABS_WEIGHT)).contains(&w) => {
                f.weight = i32::try_from(w).ok();
            }
            Some(w) => error(format!(
                "weight {w} is out of range; use a whole number from -{MAX_ABS_WEIGHT} to {MAX_ABS_WEIGHT}"
            )),
            None => error(format!(
                "expected a whole number (negative to vote against the kind), found {}",
                value.type_str()
            )),
        },
        ("description", DeValue::String(s)) if !s.trim().is_empty() => {
            f.description = Some(s.trim().to_string());
        }
        ("description", DeValue::String(_)) => {
            error("description is empty; say in plain English what the rule spots".into());
        }
        ("enabled", DeValue::Boolean(b)) => f.enabled = *b,
        ("enabled", other) => error(format!(
            "expected true or false, found {}",
            other.type_str()
        )),
        (_, other) => error(format!("expected a string, found {}", other.type_str())),
    }
}

/// A condition key (`subject`, `unless_body_regex`, `headers`…) with its patterns.
fn parse_condition(
    name: &str,
    value: &Spanned<DeValue<'_>>,
    line: usize,
    rid: Option<&String>,
    r: &mut Reader<String>,
    conditions: &mut Vec<RawCondition>,
) {
    let (unless, base) = match name.strip_prefix("unless_") {
        Some(base) => (true, base),
        None => (false, name),
    };
    let Some(&(_, field, syntax)) = CONDITION_KEYS.iter().find(|(k, _, _)| *k == base) else {
        r.error(
            line,
            rid,
            Some(name),
            format!("unknown key{}", suggest(name, &all_rule_keys())),
        );
        return;
    };
    if field == Field::Header {
        parse_header_table(name, unless, value, r, rid, conditions);
    } else if let Some(patterns) = string_list(name, syntax, value, r, rid) {
        conditions.push(RawCondition {
            key: name.to_string(),
            field,
            syntax,
            header: None,
            unless,
            patterns,
        });
    }
}

/// Reports required keys that are absent, and a rule with no condition that could fire.
fn check_complete(
    table: &DeTable<'_>,
    f: &RuleFields,
    rule_line: usize,
    rid: Option<&String>,
    errors_before: usize,
    r: &mut Reader<String>,
) {
    for (present, key, hint) in [
        (
            f.kind.is_some(),
            "kind",
            "one of foi, eir, sar, media, member_enquiry, complaint, general, auto",
        ),
        (
            f.weight.is_some(),
            "weight",
            "a whole number, negative to vote against the kind",
        ),
        (
            f.description.is_some(),
            "description",
            "plain English, shown in every explanation",
        ),
    ] {
        // Only report a missing key when it is really absent (a bad value was reported above).
        if !present && !has_key(table, key) {
            r.error(
                rule_line,
                rid,
                None,
                format!("rule has no `{key}` ({hint})"),
            );
        }
    }
    if !f.conditions.iter().any(|c| !c.unless) && r.errors.len() == errors_before {
        r.error(
            rule_line,
            rid,
            None,
            "rule has no condition, so it could never fire; add at least one of subject, body, \
             sender, sender_domain, headers, … (an `unless_` key alone is not enough)"
                .into(),
        );
    }
}

fn check_id(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= 100
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "id {s:?} is not allowed; use letters, digits, '.', '-' and '_' (up to 100, starting \
             with a letter or digit), e.g. \"foi.act-named\""
        ))
    }
}

/// `headers = { "auto-submitted" = ["^auto-"], precedence = "bulk" }`: one condition per header.
fn parse_header_table(
    key: &str,
    unless: bool,
    value: &Spanned<DeValue<'_>>,
    r: &mut Reader<String>,
    rid: Option<&String>,
    out: &mut Vec<RawCondition>,
) {
    let expected = format!(
        "expected a table of header name = patterns, e.g. {key} = {{ \"auto-submitted\" = \
         [\"^auto-\"] }}"
    );
    let Some(table) = r.expect_table(value, rid, Some(key), &expected) else {
        return;
    };
    if table.is_empty() {
        r.error(
            r.line(value.span()),
            rid,
            Some(key),
            "empty table: name at least one header, or remove the key".into(),
        );
    }
    for (name, patterns) in table.iter() {
        let header = key_str(name);
        let field_name = format!("{key}.{header}");
        if let Err(msg) = check_header_name(header) {
            r.error(r.line(name.span()), rid, Some(&field_name), msg);
            continue;
        }
        if let Some(patterns) = string_list(&field_name, Syntax::Regex, patterns, r, rid) {
            out.push(RawCondition {
                key: field_name,
                field: Field::Header,
                syntax: Syntax::Regex,
                header: Some(header.to_ascii_lowercase()),
                unless,
                patterns,
            });
        }
    }
}

/// RFC 5322 §2.2: a field name is printable ASCII except the colon.
pub(crate) fn check_header_name(name: &str) -> Result<(), String> {
    if !name.is_empty() && name.bytes().all(|b| (33..=126).contains(&b) && b != b':') {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a header name; write it without the colon, e.g. \"auto-submitted\""
        ))
    }
}

/// A string, a `{ list = "name" }` reference, or an array of those; none empty. `None` when
/// there was a problem (reported).
fn string_list(
    key: &str,
    syntax: Syntax,
    value: &Spanned<DeValue<'_>>,
    r: &mut Reader<String>,
    rid: Option<&String>,
) -> Option<Vec<RawPattern>> {
    let what = match syntax {
        Syntax::Phrase => "phrase",
        Syntax::Regex => "regular expression",
        Syntax::Domain => "domain",
        Syntax::HeaderName => "header name",
        Syntax::Flag => "flag",
    };
    let line = r.line(value.span());
    let (items, is_array): (Vec<&Spanned<DeValue<'_>>>, bool) = match value.get_ref() {
        DeValue::String(_) | DeValue::Table(_) => (vec![value], false),
        DeValue::Array(a) => (a.iter().collect(), true),
        other => {
            r.error(
                line,
                rid,
                Some(key),
                format!(
                    "expected a {what} or a list of them, found {}",
                    other.type_str()
                ),
            );
            return None;
        }
    };
    if items.is_empty() {
        r.error(
            line,
            rid,
            Some(key),
            format!("empty list: give at least one {what}, or remove the key"),
        );
        return None;
    }
    let mut ok = true;
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let item_line = r.line(item.span());
        let field = if is_array {
            format!("{key} pattern {}", i + 1)
        } else {
            key.to_string()
        };
        match item.get_ref() {
            DeValue::String(s) if s.trim().is_empty() => {
                r.error(
                    item_line,
                    rid,
                    Some(&field),
                    format!("empty {what}: it would match every message"),
                );
                ok = false;
            }
            DeValue::String(s) => out.push(RawPattern::Text {
                text: s.to_string(),
                line: item_line,
            }),
            DeValue::Table(t) => match list_reference(t) {
                Ok(name) => out.push(RawPattern::List {
                    name,
                    line: item_line,
                }),
                Err(msg) => {
                    r.error(item_line, rid, Some(&field), msg);
                    ok = false;
                }
            },
            other => {
                r.error(
                    item_line,
                    rid,
                    Some(&field),
                    format!("expected a {what} in quotes, found {}", other.type_str()),
                );
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

/// `{ list = "name" }` → `name`.
fn list_reference(t: &DeTable<'_>) -> Result<String, String> {
    let mut name = None;
    for (k, v) in t.iter() {
        match (key_str(k), v.get_ref()) {
            ("list", DeValue::String(s)) => name = Some(s.to_string()),
            ("list", other) => {
                return Err(format!(
                    "`list` must name a list in quotes, found {}",
                    other.type_str()
                ));
            }
            (other, _) => {
                return Err(format!(
                    "unknown key {other:?} in a list reference; write {{ list = \"name\" }}"
                ));
            }
        }
    }
    name.ok_or_else(|| "a table here must be a list reference: { list = \"name\" }".to_string())
}

/// Every key a rule may have, for "did you mean" hints.
fn all_rule_keys() -> Vec<&'static str> {
    let mut keys: Vec<&'static str> = RULE_META_KEYS.to_vec();
    keys.extend(CONDITION_KEYS.iter().map(|(k, _, _)| *k));
    keys
}

/// `; did you mean "subject"?` when a known key is close, else `""`. Rule keys are matched past
/// their `unless_` prefix, so `unless_subjet` suggests `unless_subject`.
pub(crate) fn suggest(name: &str, known: &[&str]) -> String {
    suggest_after(name, "unless_", known)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (RawFile, Vec<RuleError>, Vec<RuleError>) {
        let mut e = Vec::new();
        let mut w = Vec::new();
        let f = parse_file("t.toml", text, &mut e, &mut w);
        (f, e, w)
    }

    #[test]
    fn reads_a_full_rule() {
        let (f, e, w) = parse(
            r#"
[settings]
auto_threshold = 120
min_score = 25

[[rule]]
id = "foi.act"
kind = "foi"
weight = 50
description = "Names the Act"
subject = "freedom of information"
body = ["freedom of information act", "FOIA"]
unless_subject_regex = ['^re:\s*complaint']
headers = { "X-Thing" = "yes", precedence = ["bulk", "junk"] }
flags = ["reply"]
"#,
        );
        assert!(e.is_empty(), "{e:?}");
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(f.settings.len(), 2);
        assert_eq!(f.settings[0].key, "auto_threshold");
        assert_eq!(f.settings[0].value, 120);
        assert_eq!(f.settings[0].line, 3);
        let r = &f.rules[0];
        assert_eq!(r.id, "foi.act");
        assert_eq!(r.kind, Kind::Foi);
        assert_eq!(r.weight, 50);
        assert!(r.enabled);
        let keys: Vec<&str> = r.conditions.iter().map(|c| c.key.as_str()).collect();
        for k in [
            "subject",
            "body",
            "unless_subject_regex",
            "headers.X-Thing",
            "headers.precedence",
            "flags",
        ] {
            assert!(keys.contains(&k), "{k} missing from {keys:?}");
        }
        let h = r
            .conditions
            .iter()
            .find(|c| c.key == "headers.X-Thing")
            .unwrap();
        assert_eq!(h.header.as_deref(), Some("x-thing"));
        assert!(!h.unless);
        let u = r
            .conditions
            .iter()
            .find(|c| c.key == "unless_subject_regex")
            .unwrap();
        assert!(u.unless);
        assert_eq!(u.syntax, Syntax::Regex);
        let b = r.conditions.iter().find(|c| c.key == "body").unwrap();
        assert_eq!(b.patterns.len(), 2);
        assert_eq!(
            b.patterns[1],
            RawPattern::Text {
                text: "FOIA".into(),
                line: 12
            }
        );
    }

    /// Each bad input yields errors containing every listed fragment, with the right line.
    #[test]
    fn shape_errors_are_all_reported_with_lines() {
        let cases: &[(&str, &[(usize, &str)])] = &[
            (
                "[[rule]]\nid = \"a\"\nkind = \"fio\"\nweight = 5\ndescription = \"d\"\nsubject = \"x\"\n",
                &[(3, "unknown kind \"fio\"")],
            ),
            (
                "[[rule]]\nid = \"a\"\nkind = \"foi\"\nweight = 0\ndescription = \"d\"\nsubject = \"x\"\n",
                &[(4, "weight 0 does nothing")],
            ),
            (
                "[[rule]]\nid = \"a\"\nkind = \"foi\"\nweight = 5000\ndescription = \"d\"\nsubject = \"x\"\n",
                &[(4, "out of range")],
            ),
            (
                "[[rule]]\nid = \"a\"\nkind = \"foi\"\nweight = 5\ndescription = \"d\"\nsubjet = \"x\"\n",
                &[(6, "did you mean \"subject\"")],
            ),
            (
                "[[rule]]\nid = \"a\"\nkind = \"foi\"\nweight = 5\ndescription = \"d\"\nunless_bdy = \"x\"\nbody = \"y\"\n",
                &[(6, "did you mean \"unless_body\"")],
            ),
            (
                "[[rule]]\nid = \"a\"\nkind = \"foi\"\nweight = 5\ndescription = \"d\"\n",
                &[(1, "no condition")],
            ),
            (
                "[[rule]]\nid = \"a\"\nkind = \"foi\"\nweight = 5\ndescription = \"d\"\nunless_subject = \"x\"\n",
                &[(1, "no condition")],
            ),
            (
                "[[rule]]\nkind = \"foi\"\nweight = 5\ndescription = \"d\"\nsubject = \"x\"\n",
                &[(1, "no `id`")],
            ),
            (
                "[[rule]]\nid = \"has space\"\nkind = \"foi\"\nweight = 5\ndescription = \"d\"\nsubject = \"x\"\n",
                &[(2, "is not allowed")],
            ),
            (
                "[[rule]]\nid = \"a\"\nweight = 5\nsubject = \"x\"\n",
                &[(1, "no `kind`"), (1, "no `description`")],
            ),
            (
                "[[rule]]\nid = \"a\"\nkind = \"foi\"\nweight = 5\ndescription = \"d\"\nsubject = []\n",
                &[(6, "empty list")],
            ),
            (
                "[[rule]]\nid = \"a\"\nkind = \"foi\"\nweight = 5\ndescription = \"d\"\nsubject = [\"ok\", \" \", 3]\n",
                &[
                    (6, "subject pattern 2: empty phrase"),
                    (
                        6,
                        "subject pattern 3: expected a phrase in quotes, found integer",
                    ),
                ],
            ),
            (
                "[[rule]]\nid = \"a\"\nkind = \"foi\"\nweight = \"high\"\ndescription = \"d\"\nsubject = \"x\"\n",
                &[(4, "expected a whole number")],
            ),
            (
                "[[rule]]\nid = \"a\"\nkind = \"foi\"\nweight = 5\ndescription = \"d\"\nheaders = [\"x\"]\n",
                &[(6, "expected a table of header name")],
            ),
            (
                "[[rule]]\nid = \"a\"\nkind = \"foi\"\nweight = 5\ndescription = \"d\"\nheaders = { \"x-a:\" = \"y\" }\n",
                &[(6, "is not a header name")],
            ),
            (
                "[[rule]]\nid = \"a\"\nkind = \"foi\"\nweight = 5\ndescription = \"\"\nenabled = 1\nsubject = \"x\"\n",
                &[(5, "description is empty"), (6, "expected true or false")],
            ),
            (
                "[settings]\nauto_threshold = 0\nmin_scor = 3\n",
                &[(2, "out of range"), (3, "did you mean \"min_score\"")],
            ),
            ("[rules]\nid = 1\n", &[(1, "did you mean \"rule\"")]),
            ("[[rule]\nid = 1\n", &[(1, "TOML syntax error")]),
            ("a = \"x\nb = 2\n", &[(1, "TOML syntax error")]),
        ];
        for (text, wants) in cases {
            let (f, e, _) = parse(text);
            assert!(f.rules.is_empty(), "{text}: {:?}", f.rules);
            for (line, frag) in *wants {
                assert!(
                    e.iter()
                        .any(|x| x.to_string().contains(frag) && x.line == Some(*line)),
                    "{text:?}: no error on line {line} containing {frag:?}; got:\n{}",
                    e.iter()
                        .map(|x| x.to_string())
                        .collect::<Vec<_>>()
                        .join("\n")
                );
            }
        }
    }

    #[test]
    fn lists_and_list_references() {
        let (f, e, w) = parse(
            "[lists]\nenv = [\"air quality\", \"noise\"]\nsingle = \"x\"\n\n\
             [[rule]]\nid = \"a\"\nkind = \"eir\"\nweight = 5\ndescription = \"d\"\n\
             body = [{ list = \"env\" }, \"flood\"]\nsubject = { list = \"single\" }\n",
        );
        assert!(e.is_empty() && w.is_empty(), "{e:?} {w:?}");
        assert_eq!(f.lists.len(), 2);
        let env = f.lists.iter().find(|l| l.name == "env").unwrap();
        assert_eq!(env.line, 2);
        assert_eq!(
            env.items,
            vec![("air quality".to_string(), 2), ("noise".to_string(), 2)]
        );
        let body = f.rules[0]
            .conditions
            .iter()
            .find(|c| c.key == "body")
            .unwrap();
        assert_eq!(
            body.patterns,
            vec![
                RawPattern::List {
                    name: "env".into(),
                    line: 10
                },
                RawPattern::Text {
                    text: "flood".into(),
                    line: 10
                },
            ]
        );
        let subject = f.rules[0]
            .conditions
            .iter()
            .find(|c| c.key == "subject")
            .unwrap();
        assert_eq!(
            subject.patterns,
            vec![RawPattern::List {
                name: "single".into(),
                line: 11
            }]
        );
    }

    #[test]
    fn list_shape_errors() {
        let rule = "[[rule]]\nid = \"a\"\nkind = \"eir\"\nweight = 5\ndescription = \"d\"\n";
        let cases: &[(&str, &str)] = &[
            (
                "[lists]\n\"bad name\" = [\"x\"]\n",
                "list name \"bad name\" is not allowed",
            ),
            ("[lists]\nx = []\n", "lists.x: empty list"),
            (
                "[lists]\nx = [\"a\", \" \"]\n",
                "lists.x item 2: empty string",
            ),
            (
                "[lists]\nx = [1]\n",
                "lists.x item 1: expected a string in quotes",
            ),
            ("[lists]\nx = 3\n", "expected a list of strings"),
            ("lists = 3\n", "`lists` must be a [lists] table"),
        ];
        for (text, frag) in cases {
            let (_, e, _) = parse(text);
            assert!(
                e.iter().any(|x| x.to_string().contains(frag)),
                "{text:?}: no error containing {frag:?}: {e:?}"
            );
        }
        for (cond, frag) in [
            (
                "body = { lst = \"x\" }",
                "unknown key \"lst\" in a list reference",
            ),
            ("body = { list = 3 }", "`list` must name a list in quotes"),
            ("body = [{}]", "must be a list reference"),
        ] {
            let (f, e, _) = parse(&format!("{rule}{cond}\n"));
            assert!(f.rules.is_empty());
            assert!(
                e.iter()
                    .any(|x| x.to_string().contains(frag) && x.line == Some(6)),
                "{cond}: {e:?}"
            );
        }
    }

    #[test]
    fn one_bad_rule_does_not_hide_a_good_one() {
        let (f, e, _) = parse(
            "[[rule]]\nid = \"good\"\nkind = \"foi\"\nweight = 5\ndescription = \"d\"\nsubject = \"x\"\n\n\
             [[rule]]\nid = \"bad\"\nkind = \"nope\"\nweight = 5\ndescription = \"d\"\nsubject = \"x\"\n",
        );
        assert_eq!(f.rules.len(), 1);
        assert_eq!(f.rules[0].id, "good");
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].rule_id.as_deref(), Some("bad"));
        assert_eq!(e[0].line, Some(10));
    }

    #[test]
    fn empty_file_warns() {
        let (f, e, w) = parse("# nothing here\n");
        assert!(f.rules.is_empty() && e.is_empty());
        assert_eq!(w.len(), 1);
        assert!(w[0].message.contains("no [[rule]]"));
    }
}
