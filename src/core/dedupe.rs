//! The content hash that recognises one message delivered more than once.
//!
//! A message reaches the shared mailbox with headers the delivery path wrote on top of what the
//! sender sent: trace headers (`Received:`, `Delivered-To:`…) and, through a forwarding hop or a
//! cloud gateway, authentication and filtering results (`ARC-*`, `Authentication-Results:`,
//! `X-MS-Exchange-*`…). The same request delivered twice (to two aliases, or once directly and
//! once through a forwarder) differs only in that leading block, so the hash skips it: one
//! message, one case, one acknowledgement.
//!
//! Only the block at the very top is skipped. The first header the path does not write (`From:`,
//! `Subject:`, `Message-ID:`…) ends it, so a `Received:` or `Authentication-Results:` further
//! down was written by the sender's side and counts. Two messages that differ anywhere below the
//! block (another `Message-ID`, `Date`, body) hash differently.
//!
//! # The second record: the delivery identity
//! A gateway does not always write only at the top: some add a header it does not list here, or
//! interleave their own among the sender's. [`identity_key`] recognises those copies too: the
//! same `Message-ID`, `From` address and `Date` is one message, whatever the path wrote. The
//! sender's address is part of the key, so a Message-ID copied (or guessed) by someone else
//! suppresses nothing of the real sender's: only a message that claims the same sender, the same
//! Message-ID and the same second of sending counts as the same message.

use crate::core::parse::sha256_hex;
use crate::model::message::Message;

/// Header names (lower case) that a delivery path writes at the top of a message: trace headers,
/// authentication results and forwarding seals (RFC 5321, RFC 8601, RFC 8617, RFC 7208).
const PATH_HEADERS: [&str; 16] = [
    "received",
    "return-path",
    "delivered-to",
    "x-original-to",
    "x-delivered-to",
    "x-envelope-to",
    "x-rcpt-to",
    "authentication-results",
    "arc-seal",
    "arc-message-signature",
    "arc-authentication-results",
    "received-spf",
    "x-received",
    "x-forefront-antispam-report",
    "x-originatororg",
    "x-eopattributedmessage",
];

/// Name prefixes (lower case) of the gateway headers Microsoft 365 / Exchange Online and its
/// filtering add at the top on delivery (`X-MS-Exchange-Organization-…`,
/// `X-Microsoft-Antispam-…`, `X-MS-Office365-Filtering-…`…): a mail that crossed one more
/// tenant carries another set of them.
const PATH_HEADER_PREFIXES: [&str; 4] = [
    "x-ms-exchange-",
    "x-microsoft-antispam",
    "x-ms-office365-filtering-",
    "x-forefront-antispam-report-",
];

/// Whether a header name (any case, surrounding blanks ignored) is one a delivery path writes.
fn is_path_header(name: &[u8]) -> bool {
    let name = String::from_utf8_lossy(name).trim().to_ascii_lowercase();
    PATH_HEADERS.contains(&name.as_str())
        || PATH_HEADER_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// SHA-256 (lower-case hex) of a raw message without the delivery-path headers at its top (see
/// the module documentation for which, and why only at the top).
///
/// Continuation lines belong to the header they follow. Never fails: bytes that are not headers
/// at all end the block, and an empty message hashes as empty.
pub fn dedupe_hash(raw: &[u8]) -> String {
    let mut pos = 0;
    let mut in_path = false;
    while pos < raw.len() {
        let end = raw[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(raw.len(), |i| pos + i + 1);
        let line = &raw[pos..end];
        let folded = matches!(line.first(), Some(b' ' | b'\t'));
        if folded && in_path {
            pos = end;
            continue;
        }
        let name_end = line.iter().position(|&b| b == b':');
        if !name_end.is_some_and(|n| is_path_header(&line[..n])) {
            break;
        }
        in_path = true;
        pos = end;
    }
    sha256_hex(&raw[pos..])
}

/// The second dedupe key of a message: SHA-256 (lower-case hex) of its `Message-ID`, its `From`
/// address (lower-cased) and its `Date` (to the second, as UTC), or `None` when any of the three
/// is missing, since a partial key would join messages that merely share a Message-ID.
///
/// The three values are hashed as a JSON array, so no choice of characters in one (a NUL, a
/// quote) can make two different triples look alike. Its name space is its own: no raw message
/// hashes to the same string in practice, so the store can index it beside the content hashes.
pub fn identity_key(message: &Message) -> Option<String> {
    let id = message.message_id.as_deref().map(str::trim)?;
    let from = message
        .from
        .as_ref()
        .map(|a| a.email.trim().to_lowercase())?;
    let date = message.date?;
    if id.is_empty() || from.is_empty() {
        return None;
    }
    let triple = serde_json::json!(["delivery-identity-v1", id, from, date.timestamp()]);
    Some(sha256_hex(triple.to_string().as_bytes()))
}

#[cfg(test)]
mod tests;
