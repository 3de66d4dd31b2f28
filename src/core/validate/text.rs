//! Text preparation shared by the validity checks: size bounds, quoted-history removal, words.
//!
//! The checks read what the requester wrote in *this* message: the body above any quoted history
//! plus the text extracted from attachments. This module does not judge anything; it only gives the
//! other checks the same, bounded view of the message.

use std::sync::LazyLock;

use regex::Regex;

use crate::model::message::Message;

/// Most bytes of one text part (body or one attachment) that the checks read, in bytes.
///
/// A request, its sign-off and any enclosure note fit well inside 128 KiB (about 20,000 words);
/// reading more only costs time on pasted logs or huge PDFs. The cut is made on a character
/// boundary.
pub(super) const MAX_SCAN_BYTES: usize = 128 * 1024;

/// Most bytes of all text parts together that the checks read, in bytes: two full-size parts, far
/// more than any letter of request.
///
/// Attachments past this budget are still named (for the identity check) but their text is not read;
/// the notes say so.
pub(super) const MAX_TOTAL_SCAN_BYTES: usize = 2 * MAX_SCAN_BYTES;

/// Most attachments whose name and text the checks read, in attachments.
///
/// A request with more than 50 attachments is read by a person anyway; the bound keeps the work per
/// message small whatever the sender does.
pub(super) const MAX_ATTACHMENTS: usize = 50;

/// Where quoted history starts: Outlook's "Original Message" and underscore rules, Gmail's
/// "On … wrote:" (which may wrap onto a second line) and an Outlook header block
/// (`From:` followed by `Sent:` or `Date:`).
static HISTORY_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?im)^[ \t]*(?:-{2,}[ \t]*original message[ \t]*-{2,}|_{10,}[ \t]*$|on[ \t][^\n]{1,200}(?:\n[^\n]{0,120})?wrote:[ \t]*$|from:[ \t][^\n]*\n[ \t]*(?:sent|date):)",
    )
    .expect("built-in HISTORY_MARKER pattern compiles")
});

/// Where a platform's footer starts: a rule of dashes, then WhatDoTheyKnow's "Please use this
/// email address for all replies to this request" or a disclaimer. Its words ("privacy and
/// copyright policies", "published on the internet") are not the requester's.
static FOOTER_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?im)^[ \t]*-{20,}[ \t]*\n(?:[ \t]*\n){0,2}[ \t]*(?:please use this email address for all replies|disclaimer:|is [^\n]{1,120} the wrong address)",
    )
    .expect("built-in FOOTER_MARKER pattern compiles")
});

/// A word for counting and list look-ups: letters, with inner apostrophes or hyphens.
static WORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[\p{L}][\p{L}'’\-]*").expect("built-in WORD pattern compiles"));

/// `s` cut to at most [`MAX_SCAN_BYTES`], on a character boundary.
pub(super) fn bounded(s: &str) -> &str {
    crate::core::text::prefix(s, MAX_SCAN_BYTES)
}

/// The body as the sender wrote it in this message: bounded, cut at the first quoted-history
/// marker or platform footer, with `>`-quoted lines dropped.
pub(super) fn own_body(body: &str) -> String {
    let body = bounded(body);
    let cut = [HISTORY_MARKER.find(body), FOOTER_MARKER.find(body)]
        .into_iter()
        .flatten()
        .map(|m| m.start())
        .min();
    let own = match cut {
        Some(at) => body.get(..at).unwrap_or(body),
        None => body,
    };
    own.lines()
        .filter(|l| !l.trim_start().starts_with('>'))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One piece of text the checks read, with a label for the audit notes.
#[derive(Debug, Clone)]
pub(super) struct Part {
    /// Where it came from: `"the body"` or `"attachment 'letter.pdf'"`.
    pub label: String,
    /// The text (bounded; for the body, without quoted history).
    pub text: String,
    /// Index in `Message::attachments` when the part is an attachment's text.
    pub attachment: Option<usize>,
}

/// The message reduced to what the checks read, built once per call.
#[derive(Debug, Clone)]
pub(super) struct Texts {
    /// The body first, then each attachment that has extracted text, in order.
    pub parts: Vec<Part>,
    /// Subject, body and attachment texts joined: the same composition as
    /// [`Message::full_text`], minus quoted history, plus the subject.
    pub all: String,
    /// Names of attachments we could not read (no extracted text), for the notes.
    pub unread: Vec<String>,
    /// Names of attachments whose text was skipped because [`MAX_TOTAL_SCAN_BYTES`] was reached.
    pub skipped: Vec<String>,
}

impl Texts {
    /// Prepare the texts of `msg`.
    pub(super) fn new(msg: &Message) -> Texts {
        let mut parts = vec![Part {
            label: "the body".to_string(),
            text: own_body(&msg.body_text),
            attachment: None,
        }];
        let mut unread = Vec::new();
        let mut skipped = Vec::new();
        let mut budget = MAX_TOTAL_SCAN_BYTES.saturating_sub(parts[0].text.len());
        for (i, a) in msg.attachments.iter().take(MAX_ATTACHMENTS).enumerate() {
            let name = a
                .name
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(|n| bounded_name(n).to_string())
                .unwrap_or_else(|| format!("#{}", i + 1));
            match a.text.as_deref().map(bounded) {
                Some(t) if !t.trim().is_empty() && t.len() > budget => skipped.push(name),
                Some(t) if !t.trim().is_empty() => {
                    budget -= t.len();
                    parts.push(Part {
                        label: format!("attachment '{name}'"),
                        text: t.to_string(),
                        attachment: Some(i),
                    });
                }
                _ => unread.push(name),
            }
        }
        let mut all = bounded(&msg.subject).to_string();
        for p in &parts {
            all.push_str("\n\n");
            all.push_str(&p.text);
        }
        Texts {
            parts,
            all,
            unread,
            skipped,
        }
    }
}

impl Texts {
    /// The text of attachment `i` as read (bounded), if it was read.
    pub(super) fn attachment_text(&self, i: usize) -> Option<&str> {
        self.parts
            .iter()
            .find(|p| p.attachment == Some(i))
            .map(|p| p.text.as_str())
    }
}

/// An attachment name cut to 120 bytes (on a character boundary) so notes stay short.
fn bounded_name(n: &str) -> &str {
    const MAX_NAME_BYTES: usize = 120;
    crate::core::text::prefix(n, MAX_NAME_BYTES)
}

/// The words of `s`, lower-cased.
pub(super) fn words(s: &str) -> impl Iterator<Item = String> + '_ {
    WORD.find_iter(s).map(|m| m.as_str().to_lowercase())
}

/// Most items named in one note's list, in items; the rest are counted ("and 3 more").
const MAX_LISTED: usize = 5;

/// Quoted, comma-separated names for a note: at most [`MAX_LISTED`], each shortened.
pub(super) fn quoted_list(items: &[String]) -> String {
    let mut out: Vec<String> = items
        .iter()
        .take(MAX_LISTED)
        .map(|n| format!("'{}'", quote(n, 60)))
        .collect();
    if items.len() > MAX_LISTED {
        out.push(format!("and {} more", items.len() - MAX_LISTED));
    }
    out.join(", ")
}

/// `s` shortened to at most `max` characters with an ellipsis, for quoting in notes.
pub(super) fn quote(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_body_cuts_history_and_quotes() {
        let cases: &[(&str, &str)] = &[
            ("Hello\n\nOn Mon, 1 Jan 2024, Bob wrote:\n> old", "Hello\n"),
            ("Hi\n-----Original Message-----\nFrom: x", "Hi"),
            ("Hi\nFrom: Bob\nSent: Monday\nold", "Hi"),
            ("Line\n> quoted\nmore", "Line\nmore"),
            ("Nothing quoted", "Nothing quoted"),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(
                own_body(input).trim_end(),
                want.trim_end(),
                "input {input:?}"
            );
        }
    }

    #[test]
    fn bounded_respects_char_boundaries() {
        let s = "é".repeat(MAX_SCAN_BYTES);
        let b = bounded(&s);
        assert!(b.len() <= MAX_SCAN_BYTES);
        assert!(b.len() >= MAX_SCAN_BYTES - 1);
        assert_eq!(bounded("short"), "short");
    }

    #[test]
    fn words_and_quote() {
        let w: Vec<String> = words("O'Neill, Smith-Jones & Zoë 42").collect();
        assert_eq!(w, vec!["o'neill", "smith-jones", "zoë"]);
        assert_eq!(quote("abcdef", 3), "abc…");
        assert_eq!(quote("  ab ", 3), "ab");
        let items: Vec<String> = (0..7).map(|i| i.to_string()).collect();
        assert_eq!(quoted_list(&items), "'0', '1', '2', '3', '4', and 2 more");
        assert_eq!(quoted_list(&items[..1]), "'0'");
    }
}
