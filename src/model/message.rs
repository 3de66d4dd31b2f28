//! The plain, owned form of an email that every pure stage works on.
//!
//! `parse` builds it from raw bytes; `rules`, `followup` and `validate` only read it. Nothing here
//! borrows from the raw buffer, so a `Message` can be stored, sent across tasks and tested as data.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A mailbox: display name (decoded) and address (lower-cased domain, as written local part).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// Decoded display name, if any (`"Jane Smith"` in `Jane Smith <jane@example.org>`).
    pub name: Option<String>,
    /// The address itself; empty when the header held only a group or garbage.
    pub email: String,
}

impl Address {
    /// The part after `@`, lower-cased; empty when there is none.
    pub fn domain(&self) -> String {
        self.email
            .rsplit_once('@')
            .map(|(_, d)| d.to_ascii_lowercase())
            .unwrap_or_default()
    }
}

/// One key per mailbox for counting mail sent to it: trimmed, NULs dropped, lower-cased, and a
/// `+tag` sub-address removed from the local part (`Jo+x@Example.org` → `jo@example.org`).
///
/// Why: the acknowledgement rate limit is per mailbox, and sub-addressing lets anyone write from
/// endless variants of one address (`jo+1@…`, `jo+2@…`) that all land in the same inbox. A local
/// part that starts with `+` or is quoted is kept whole (no base address to fold it into, or the
/// `+` is literal). `None` for an empty address.
pub fn mailbox_key(email: &str) -> Option<String> {
    let t: String = email.trim().chars().filter(|&c| c != '\0').collect();
    let t = t.to_lowercase();
    if t.is_empty() {
        return None;
    }
    let folded = match t.rsplit_once('@') {
        Some((local, domain)) => match local.split_once('+') {
            Some((base, _tag)) if !base.is_empty() && !local.starts_with('"') => {
                format!("{base}@{domain}")
            }
            _ => t.clone(),
        },
        None => t.clone(),
    };
    Some(folded)
}

/// One attachment, with the text extracted from it when it is a letter (PDF, DOCX, ODT, text).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// File name as sent (decoded), if any.
    pub name: Option<String>,
    /// MIME type as declared, lower-cased (`application/pdf`).
    pub mime_type: String,
    /// Decoded size in bytes.
    pub size: usize,
    /// Extracted text (bounded), when the type is one we read and extraction succeeded.
    pub text: Option<String>,
}

/// The headers that mark machine-generated mail (RFC 3834, RFC 2369, RFC 3464 and vendor headers).
///
/// Kept apart from `headers` so the `auto` rules and the acknowledgement guard read named fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineHeaders {
    /// `Auto-Submitted` value, lower-cased (`auto-replied`, `auto-generated`, `no`).
    pub auto_submitted: Option<String>,
    /// `Precedence` value, lower-cased (`bulk`, `junk`, `list`).
    pub precedence: Option<String>,
    /// `List-Id` value.
    pub list_id: Option<String>,
    /// `List-Unsubscribe` value.
    pub list_unsubscribe: Option<String>,
    /// `X-Autoreply` / `X-Autorespond` value.
    pub x_autoreply: Option<String>,
    /// `X-Auto-Response-Suppress` value.
    pub x_auto_response_suppress: Option<String>,
    /// `Return-Path` address; `Some("")` for the null sender `<>` that bounces use.
    pub return_path: Option<String>,
    /// Top-level `Content-Type` is `multipart/report` (delivery or disposition notification).
    pub is_report: bool,
}

/// An email reduced to what triage needs. Built by `parse::parse`, never fails to exist.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// First `From` mailbox.
    pub from: Option<Address>,
    /// First `Reply-To` mailbox: where answers go when present.
    pub reply_to: Option<Address>,
    /// `To` mailboxes.
    pub to: Vec<Address>,
    /// `Cc` mailboxes.
    pub cc: Vec<Address>,
    /// Decoded subject, empty when missing.
    pub subject: String,
    /// `Message-ID` without angle brackets.
    pub message_id: Option<String>,
    /// `In-Reply-To` ids without angle brackets.
    pub in_reply_to: Vec<String>,
    /// `References` ids without angle brackets, oldest first.
    pub references: Vec<String>,
    /// The sender's `Date:` (sender-controlled: never used alone as the time of receipt).
    pub date: Option<DateTime<Utc>>,
    /// Newest `Received:` header's timestamp: the time our mail system got it.
    pub received_header_at: Option<DateTime<Utc>>,
    /// Best text body: text/plain, else HTML turned into readable text. Bounded in size.
    pub body_text: String,
    /// Attachments (not inline text bodies).
    pub attachments: Vec<Attachment>,
    /// Headers that mark machine mail.
    pub machine: MachineHeaders,
    /// Every header as (lower-cased name, decoded value), for rule conditions on headers.
    pub headers: Vec<(String, String)>,
    /// Size of the raw message in bytes.
    pub raw_size: usize,
    /// SHA-256 of the raw bytes, lower-case hex: dedupe key alongside Message-ID.
    pub content_hash: String,
    /// What could not be read (bad MIME, bad charset, truncated part…). Empty for clean mail.
    pub warnings: Vec<String>,
}

impl Message {
    /// The address answers go to: `Reply-To` if present, else `From`.
    pub fn reply_address(&self) -> Option<&Address> {
        self.reply_to
            .as_ref()
            .filter(|a| !a.email.is_empty())
            .or(self.from.as_ref().filter(|a| !a.email.is_empty()))
    }

    /// Body plus the text of every attachment we could read: what rules and validity look at.
    pub fn full_text(&self) -> String {
        let mut s = self.body_text.clone();
        for a in &self.attachments {
            if let Some(t) = &a.text {
                s.push_str("\n\n");
                s.push_str(t);
            }
        }
        s
    }

    /// The value of the first header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// When we received it: the server's time (IMAP INTERNALDATE) if known, else the newest
    /// `Received:` header, else — only as a last resort, flagged by the caller — the sender's `Date:`.
    pub fn received_at(&self, internal_date: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
        internal_date.or(self.received_header_at).or(self.date)
    }
}

#[cfg(test)]
mod tests {
    use super::mailbox_key;

    #[test]
    fn mailbox_key_folds_case_and_sub_addresses() {
        let table = [
            ("jo@example.org", Some("jo@example.org")),
            ("Jo@Example.ORG", Some("jo@example.org")),
            ("  jo@example.org \t", Some("jo@example.org")),
            ("jo+x@example.org", Some("jo@example.org")),
            ("JO+Tag+more@example.org", Some("jo@example.org")),
            ("jo+@example.org", Some("jo@example.org")),
            ("+x@example.org", Some("+x@example.org")),
            ("jo\0@example.org", Some("jo@example.org")),
            ("no-at-sign+x", Some("no-at-sign+x")),
            ("\"a+b\"@example.org", Some("\"a+b\"@example.org")),
            ("", None),
            ("   ", None),
            ("\0", None),
        ];
        for (input, want) in table {
            assert_eq!(mailbox_key(input).as_deref(), want, "{input:?}");
        }
    }
}
