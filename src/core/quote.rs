//! The text the sender wrote: a message body without quoted history and signature.
//!
//! Replies carry the whole thread below (or between) the sender's words: our own
//! acknowledgement ("this is an automatically generated acknowledgement, please do not reply"),
//! the original request, earlier replies. Classifying on all of it lets old text vote: a
//! requester's "thank you" scores as the FOI request it quotes, and a person quoting our
//! acknowledgement scores as an auto-responder. [`sender_text`] keeps what the sender wrote and
//! drops:
//! - `>`-quoted lines (RFC 3676 §4.5: Gmail, Apple Mail, Thunderbird, mutt, Outlook in plain text),
//!   and the attribution line that introduces them ("On Mon, 12 Jan 2026 at 10:02, Jane
//!   <jane@example.org> wrote:", also wrapped over two lines as Gmail does);
//! - everything from an Outlook history block on: "-----Original Message-----", or a
//!   "From:" line followed within a few lines by "Sent:"/"Date:" and "To:"/"Subject:" (with or
//!   without the "____" rule Outlook draws above it), since Outlook does not mark quoted lines;
//! - everything after an attribution line that is *not* followed by `>` lines (an HTML reply
//!   turned into text loses its quote marks, so what follows is unmarked history);
//! - the signature, from the RFC 3676 §4.3 separator line "-- " on.
//!
//! Forwarded messages are kept: a colleague forwarding a request ("---------- Forwarded message
//! ---------", "Begin forwarded message:", "-------- Forwarded Message --------") sends the
//! request itself, so from such a marker on everything is the sender's text. A subject that says
//! "Fwd:"/"FW:" is checked by the caller with [`is_forward_subject`] (Outlook forwards look like
//! replies in the body).
//!
//! When nothing is left (every line quoted), the whole body is returned: a message must always
//! have something to classify.
//!
//! This module only cuts text. It does not decide which rules read which text (see
//! `rules::RuleSet::classify`), and it never looks at headers.

use std::borrow::Cow;

/// Lines looked ahead of an Outlook "From:" line for its "Sent:"/"To:"/"Subject:" lines: Outlook
/// writes From, Sent, To, Cc, Subject (5 lines); 6 allows one wrapped To or Cc line.
const OUTLOOK_BLOCK_LINES: usize = 6;

/// Longest attribution line we recognise, in bytes: real ones are under 200 ("On <date> at
/// <time>, <name> <address> wrote:"); a longer line ending in "wrote:" is prose.
const MAX_ATTRIBUTION_BYTES: usize = 300;

/// Shortest run of `_` that counts as Outlook's separator rule (Outlook draws 32).
const MIN_RULE_UNDERSCORES: usize = 20;

/// The text of `body` the sender wrote: without quoted history and signature (see the module
/// doc for exactly what is dropped).
///
/// Borrowed when the result is one piece of `body` (no quotes at all, or a top-posted reply whose
/// history follows the sender's text), so the common case costs one pass over the lines and no
/// copy. Never panics; returns `body` whole when nothing of the sender's own would be left.
pub fn sender_text(body: &str) -> Cow<'_, str> {
    let lines = Lines::new(body);
    // Kept byte ranges of `body`, merged when adjacent.
    let mut kept: Vec<(usize, usize)> = Vec::new();
    let mut keep = |start: usize, end: usize| match kept.last_mut() {
        Some(last) if last.1 == start => last.1 = end,
        _ => kept.push((start, end)),
    };
    let mut in_signature = false;
    let mut i = 0usize;
    while let Some(line) = lines.get(i) {
        let text = line.text;
        // Most lines are prose: the first visible byte rules out every marker but one or two,
        // so a line costs a byte test, not a dozen string searches.
        let lead = text
            .bytes()
            .find(|b| !b.is_ascii_whitespace())
            .map(|b| b.to_ascii_lowercase());
        if matches!(lead, Some(b'-' | b'b')) && is_forward_marker(text) {
            // The forwarded message is what the sender sends us: keep it all.
            keep(line.start, body.len());
            break;
        }
        if in_signature {
            i += 1;
            continue;
        }
        match lead {
            Some(b'-') if is_signature_separator(text) => {
                // The rest is signature, unless a forwarded message follows it (checked above).
                in_signature = true;
                i += 1;
                continue;
            }
            Some(b'-') if is_original_message_marker(text) => break,
            Some(b'f' | b'*') if is_outlook_block(&lines, i) => break,
            Some(b'_')
                if is_underscore_rule(text)
                    && next_non_blank(&lines, i + 1)
                        .is_some_and(|j| is_outlook_block(&lines, j)) =>
            {
                break;
            }
            Some(b'o') => {
                if let Some(len) = attribution_len(&lines, i) {
                    // Gmail, Apple Mail, Thunderbird: quoted lines follow. Without them (HTML
                    // turned into text), the rest is unmarked history.
                    match next_non_blank(&lines, i + len) {
                        Some(j) if lines.get(j).is_some_and(|l| is_quoted(l.text)) => {
                            i = j;
                            continue;
                        }
                        _ => break,
                    }
                }
            }
            _ => {}
        }
        if !is_quoted(text) {
            keep(line.start, line.end);
        }
        i += 1;
    }
    let own = |(s, e): (usize, usize)| body.get(s..e).unwrap_or("");
    if kept.iter().all(|r| own(*r).trim().is_empty()) {
        return Cow::Borrowed(body);
    }
    match kept.as_slice() {
        [one] => Cow::Borrowed(own(*one)),
        many => Cow::Owned(many.iter().map(|r| own(*r)).collect()),
    }
}

/// Whether a subject marks a forward ("Fwd:", "Fw:", "FW:", also after "Re:" or a list tag), so
/// the body's quoted block is the forwarded message, not history.
pub fn is_forward_subject(subject: &str) -> bool {
    let mut s = subject.trim_start();
    // Skip a few leading "Re:" / "[tag]" prefixes: "RE: FW: ..." is a reply to a forward.
    for _ in 0..4 {
        if starts_with_ignore_case(s, "fwd:") || starts_with_ignore_case(s, "fw:") {
            return true;
        }
        if starts_with_ignore_case(s, "re:") {
            s = s.get(3..).unwrap_or("").trim_start();
        } else if s.starts_with('[') {
            match s.find(']') {
                Some(end) => s = s.get(end + 1..).unwrap_or("").trim_start(),
                None => return false,
            }
        } else {
            return false;
        }
    }
    false
}

/// One line of the body: its text without the line end, and its byte range including the line
/// end (so kept ranges rebuild the text exactly).
#[derive(Debug, Clone, Copy)]
struct Line<'a> {
    text: &'a str,
    start: usize,
    end: usize,
}

/// The lines of a body, split once.
struct Lines<'a> {
    lines: Vec<Line<'a>>,
}

impl<'a> Lines<'a> {
    fn new(body: &'a str) -> Self {
        let mut lines = Vec::with_capacity(body.len() / 48 + 1);
        let mut start = 0usize;
        for piece in body.split_inclusive('\n') {
            let end = start + piece.len();
            let text = piece.strip_suffix('\n').unwrap_or(piece);
            let text = text.strip_suffix('\r').unwrap_or(text);
            lines.push(Line { text, start, end });
            start = end;
        }
        Lines { lines }
    }

    fn get(&self, i: usize) -> Option<Line<'a>> {
        self.lines.get(i).copied()
    }
}

/// Index of the first non-blank line at or after `from`.
fn next_non_blank(lines: &Lines<'_>, from: usize) -> Option<usize> {
    (from..lines.lines.len()).find(|&j| lines.get(j).is_some_and(|l| !l.text.trim().is_empty()))
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

/// A `>`-quoted line (RFC 3676 §4.5). A `>` directly followed by a digit, a currency sign or `=`
/// is a comparison a person typed (">£10,000", ">=3 days", ">50 staff"), not a quote mark: mail
/// clients quote with "> " or ">>".
fn is_quoted(line: &str) -> bool {
    let Some(rest) = line.strip_prefix('>') else {
        return false;
    };
    !rest
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit() || matches!(c, '£' | '$' | '€' | '='))
}

/// The signature separator "-- " (RFC 3676 §4.3), alone on its line.
fn is_signature_separator(line: &str) -> bool {
    line == "-- "
}

/// A line that starts a forwarded message, in the forms Gmail, Apple Mail, Thunderbird and
/// Outlook on the web write.
fn is_forward_marker(line: &str) -> bool {
    let t = line.trim();
    if t.eq_ignore_ascii_case("begin forwarded message:") {
        return true;
    }
    let inner = t.trim_matches('-').trim();
    inner.len() + 4 <= t.len() && inner.eq_ignore_ascii_case("forwarded message")
}

/// Outlook's "-----Original Message-----" line (any number of dashes, any case).
fn is_original_message_marker(line: &str) -> bool {
    let t = line.trim();
    let inner = t.trim_matches('-').trim();
    inner.len() + 4 <= t.len() && inner.eq_ignore_ascii_case("original message")
}

/// A line of at least [`MIN_RULE_UNDERSCORES`] underscores: Outlook's rule above a history block.
fn is_underscore_rule(line: &str) -> bool {
    let t = line.trim();
    t.len() >= MIN_RULE_UNDERSCORES && t.bytes().all(|b| b == b'_')
}

/// The value of header-like line `line` if it starts with `name` and a colon, optionally in bold
/// as Outlook's plain-text conversion writes it (`*From:*`).
fn header_like(line: &str, name: &str) -> bool {
    let t = line.trim_start();
    let t = t.strip_prefix('*').unwrap_or(t);
    starts_with_ignore_case(t, name)
        && t.get(name.len()..)
            .is_some_and(|rest| rest.starts_with(':') || rest.starts_with(" :"))
}

/// Whether line `i` starts an Outlook history block: "From:" followed within
/// [`OUTLOOK_BLOCK_LINES`] lines by "Sent:" or "Date:", and by "To:" or "Subject:".
fn is_outlook_block(lines: &Lines<'_>, i: usize) -> bool {
    if !lines.get(i).is_some_and(|l| header_like(l.text, "from")) {
        return false;
    }
    let mut sent = false;
    let mut to = false;
    for j in i + 1..=i + OUTLOOK_BLOCK_LINES {
        let Some(l) = lines.get(j) else { break };
        sent |= header_like(l.text, "sent") || header_like(l.text, "date");
        to |= header_like(l.text, "to") || header_like(l.text, "subject");
        if sent && to {
            return true;
        }
    }
    false
}

/// If line `i` (alone, or joined with the next line as Gmail wraps it) is an attribution such as
/// "On Mon, 12 Jan 2026 at 10:02, Jane <jane@example.org> wrote:", the number of lines it takes.
///
/// It must start with "On ", end with "wrote:", and carry a time (`10:02`) or an address (`@`):
/// "On 12 January you wrote:" in a complaint is the sender's own prose, not an attribution.
fn attribution_len(lines: &Lines<'_>, i: usize) -> Option<usize> {
    let first = lines.get(i)?.text.trim();
    if !starts_with_ignore_case(first, "on ") || first.len() > MAX_ATTRIBUTION_BYTES {
        return None;
    }
    let looks_like = |s: &str| s.len() <= MAX_ATTRIBUTION_BYTES && (s.contains('@') || has_time(s));
    if first.ends_with("wrote:") {
        return looks_like(first).then_some(1);
    }
    let second = lines.get(i + 1)?.text.trim();
    if second.ends_with("wrote:") && !second.is_empty() {
        let both_len = first.len() + 1 + second.len();
        let has =
            first.contains('@') || second.contains('@') || has_time(first) || has_time(second);
        return (both_len <= MAX_ATTRIBUTION_BYTES && has).then_some(2);
    }
    None
}

/// Whether `s` holds a clock time like `9:05` or `10:02`.
fn has_time(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(3).enumerate().any(|(k, w)| {
        w[0].is_ascii_digit()
            && w[1] == b':'
            && w[2].is_ascii_digit()
            && b.get(k + 3).is_some_and(u8::is_ascii_digit)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (case, body, what `sender_text` must return, whether it may borrow).
    const CASES: &[(&str, &str, &str, bool)] = &[
        (
            "no quotes at all",
            "Please send me the figures.\nThanks\n",
            "Please send me the figures.\nThanks\n",
            true,
        ),
        ("empty body", "", "", true),
        (
            "gmail top-posting",
            "Thanks, that is clear.\n\nOn Mon, 12 Jan 2026 at 10:02, FOI Team <foi@council.example.gov.uk> wrote:\n\n> Dear Mr Patel,\n> This is an automatically generated acknowledgement.\n>\n>> Under the FOI Act please provide\n",
            "Thanks, that is clear.\n\n",
            true,
        ),
        (
            "gmail attribution wrapped over two lines",
            "Could you add 2024/25?\n\nOn Mon, 12 Jan 2026 at 10:02, Information Governance <foi@council.example.gov.uk>\nwrote:\n\n> Dear Mr Patel,\n> please do not reply to this email\n",
            "Could you add 2024/25?\n\n",
            true,
        ),
        (
            "apple mail",
            "Yes, the whole council.\r\n\r\nSent from my iPhone\r\n\r\nOn 3 Feb 2026, at 09:12, Information Governance <foi@council.example.gov.uk> wrote:\r\n\r\n> Do you mean the whole council?\r\n",
            "Yes, the whole council.\r\n\r\nSent from my iPhone\r\n\r\n",
            true,
        ),
        (
            "thunderbird",
            "Fine by me.\n\nOn 03/02/2026 09:12, Information Governance wrote:\n> We need to clarify your request.\n>\n> Kind regards\n",
            "Fine by me.\n\n",
            true,
        ),
        (
            "inline reply: the sender writes between quotes",
            "Hello,\n\nOn 03/02/2026 09:12, Information Governance wrote:\n> Which years do you want?\n\n2022/23 and 2023/24.\n\n> Whole council or one service?\n\nThe whole council.\n\nBest wishes,\nOlwen\n",
            "Hello,\n\n\n2022/23 and 2023/24.\n\n\nThe whole council.\n\nBest wishes,\nOlwen\n",
            false,
        ),
        (
            "outlook with rule and From/Sent/To/Subject block",
            "Please escalate this to stage 2.\r\n\r\nSam\r\n\r\n________________________________\r\nFrom: Information Governance <foi@council.example.gov.uk>\r\nSent: 20 January 2026 10:20\r\nTo: Sam Whitfield <s@example.co.uk>\r\nSubject: RE: repair\r\n\r\nDear Sam, please do not reply to this email.\r\n",
            "Please escalate this to stage 2.\r\n\r\nSam\r\n\r\n",
            true,
        ),
        (
            "outlook block without the rule, bold labels",
            "See below.\n\n*From:* Jane <jane@example.org>\n*Sent:* Monday, 12 January 2026 09:00\n*To:* FOI\n*Subject:* request\n\nOld text\n",
            "See below.\n\n",
            true,
        ),
        (
            "outlook original message marker",
            "My answer is yes.\n\n-----Original Message-----\nFrom: FOI team\nSent: Monday\nTo: me\nSubject: question\n\nDo you agree?\n",
            "My answer is yes.\n\n",
            true,
        ),
        (
            "signature is dropped",
            "Please provide the budget for 2024/25.\n\nJane Smith\n-- \nJane Smith | Example Ltd\nThis email is confidential.\n",
            "Please provide the budget for 2024/25.\n\nJane Smith\n",
            true,
        ),
        (
            "signature before quoted history",
            "Thanks.\n-- \nJane\n\nOn Mon, 12 Jan 2026 at 10:02, FOI <foi@x.example> wrote:\n> old\n",
            "Thanks.\n",
            true,
        ),
        (
            "a request that contains > as comparisons",
            "Please list contracts worth >£10,000\n>£50,000 contracts separately\n>=3 years long, and\n>50 staff teams.\nAlso where cost > budget.\n",
            "Please list contracts worth >£10,000\n>£50,000 contracts separately\n>=3 years long, and\n>50 staff teams.\nAlso where cost > budget.\n",
            true,
        ),
        (
            "prose that mentions writing is not an attribution",
            "On 12 January you wrote: we will fix it within a week.\nNobody came.\n",
            "On 12 January you wrote: we will fix it within a week.\nNobody came.\n",
            true,
        ),
        (
            "prose attribution-like line without quotes is kept",
            "I complained twice.\nOn 12 January your officer wrote:\nThe repair is booked.\nIt was not.\n",
            "I complained twice.\nOn 12 January your officer wrote:\nThe repair is booked.\nIt was not.\n",
            true,
        ),
        (
            "html reply turned to text: attribution without quote marks ends the sender's text",
            "Thank you for the spreadsheet.\n\nOn Tue, 3 Feb 2026 at 11:00, FOI Team <foi@council.example.gov.uk> wrote:\n\nDear Ms Price, please find attached the figures.\n",
            "Thank you for the spreadsheet.\n\n",
            true,
        ),
        (
            "gmail forward is kept whole",
            "FYI, this came to me by mistake.\n\n---------- Forwarded message ---------\nFrom: Jane <jane@example.org>\nDate: Mon, 12 Jan 2026 at 09:00\nSubject: FOI request\nTo: <cllr@council.example.gov.uk>\n\nUnder the FOI Act please provide\n",
            "FYI, this came to me by mistake.\n\n---------- Forwarded message ---------\nFrom: Jane <jane@example.org>\nDate: Mon, 12 Jan 2026 at 09:00\nSubject: FOI request\nTo: <cllr@council.example.gov.uk>\n\nUnder the FOI Act please provide\n",
            true,
        ),
        (
            "apple forward after a signature is kept",
            "See below.\n-- \nCllr Ann Lee\n\nBegin forwarded message:\n\nFrom: Jane <jane@example.org>\nSubject: request\n\nHow much did you spend?\n",
            "See below.\nBegin forwarded message:\n\nFrom: Jane <jane@example.org>\nSubject: request\n\nHow much did you spend?\n",
            false,
        ),
        (
            "thunderbird forward marker",
            "-------- Forwarded Message --------\nSubject: request\n\nPlease provide\n",
            "-------- Forwarded Message --------\nSubject: request\n\nPlease provide\n",
            true,
        ),
        (
            "everything quoted: the whole body is kept",
            "> Under the FOI Act please provide\n> the budget\n",
            "> Under the FOI Act please provide\n> the budget\n",
            true,
        ),
        (
            "only an attribution and quotes: the whole body is kept",
            "On Mon, 12 Jan 2026 at 10:02, Jane <jane@example.org> wrote:\n> please provide\n",
            "On Mon, 12 Jan 2026 at 10:02, Jane <jane@example.org> wrote:\n> please provide\n",
            true,
        ),
        (
            "a From: line alone is not an outlook block",
            "From: the tenant of flat 3\nI want my records.\n",
            "From: the tenant of flat 3\nI want my records.\n",
            true,
        ),
        (
            "nested quote levels are all dropped",
            "New question.\n>> very old\n> > old\n> newer\nAnd another.\n",
            "New question.\nAnd another.\n",
            false,
        ),
        (
            "no trailing newline",
            "Yes please.\n> quoted",
            "Yes please.\n",
            true,
        ),
    ];

    #[test]
    fn sender_text_cases() {
        for (case, body, want, borrows) in CASES {
            let got = sender_text(body);
            assert_eq!(got, *want, "{case}");
            assert_eq!(
                matches!(got, Cow::Borrowed(_)),
                *borrows,
                "{case}: borrowed?"
            );
        }
    }

    #[test]
    fn forward_subjects() {
        let cases = [
            ("Fwd: FOI request", true),
            ("FW: Complaint", true),
            ("fw:x", true),
            ("RE: FW: Complaint", true),
            ("[EXTERNAL] Fwd: request", true),
            ("Re: your request", false),
            ("Forward planning consultation", false),
            ("FOI request", false),
            ("", false),
            ("[unclosed Fwd: x", false),
            ("Re: Re: Re: Re: Re: Fwd: deep", false),
        ];
        for (subject, want) in cases {
            assert_eq!(is_forward_subject(subject), want, "{subject:?}");
        }
    }

    #[test]
    fn building_blocks() {
        for (line, want) in [
            ("> quoted", true),
            (">quoted", true),
            (">", true),
            (">> deeper", true),
            (">10 staff", false),
            (">£5", false),
            (">=3", false),
            ("a > b", false),
            (" > indented", false),
        ] {
            assert_eq!(is_quoted(line), want, "is_quoted({line:?})");
        }
        for (line, want) in [
            ("-- ", true),
            ("--", false),
            ("-- x", false),
            ("---", false),
        ] {
            assert_eq!(is_signature_separator(line), want, "{line:?}");
        }
        for (s, want) in [
            ("at 10:02,", true),
            ("9:05", true),
            ("ratio 3:1", false),
            ("10:", false),
            ("", false),
        ] {
            assert_eq!(has_time(s), want, "has_time({s:?})");
        }
    }

    proptest::proptest! {
        /// Any text: no panic, and the result is the body or made of the body's own lines.
        #[test]
        fn never_panics_and_only_keeps_body_text(body in "(([>\\-_ ]|On |wrote:|From: |Sent: |To: |-- |é|\r|\n|[a-z0-9:@£])){0,200}") {
            let got = sender_text(&body);
            proptest::prop_assert!(got.len() <= body.len());
            for line in got.lines() {
                proptest::prop_assert!(body.contains(line));
            }
        }
    }
}
