//! Folder names as the server spells them: the personal namespace (RFC 2342 `NAMESPACE`) and the
//! mapping of configured names onto it.
//!
//! Configured folders are written one way everywhere (`Triage/FOI`: `/` between levels, no
//! prefix). Servers differ: Dovecot's default, Exchange and Gmail keep personal folders at the top
//! with `.` or `/` between levels; Cyrus and Courier (and Dovecot with `prefix = INBOX.`) keep
//! them under `INBOX.` and refuse `CREATE Triage.FOI` outright. [`server_name`] turns the
//! configured name into the one the server expects, so the same configuration files into the
//! right place on every server.
//!
//! Pure: the caller asks the server ([`parse_namespace`] reads its answer) and keeps the result.

use super::ImapError;

/// Where the mailbox's own folders live on the server: the first personal namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    /// What every personal folder but INBOX starts with: `""` (Dovecot's default, Exchange,
    /// Gmail) or `INBOX.` (Cyrus, Courier). Includes the delimiter when there is one.
    pub prefix: String,
    /// The hierarchy delimiter (`.` or `/` as a rule); `None`: a flat namespace, where a
    /// configured `/` is just a character of the name.
    pub delimiter: Option<char>,
}

impl Namespace {
    /// A namespace with no prefix and `delimiter`: what a server without `NAMESPACE` has, as far
    /// as anyone can tell (RFC 2342 §1: without it, clients assume the personal folders are at
    /// the top).
    pub fn top_level(delimiter: Option<char>) -> Namespace {
        Namespace {
            prefix: String::new(),
            delimiter,
        }
    }
}

/// Checks a configured folder name: ASCII (IMAP needs modified UTF-7 otherwise), no CR/LF/NUL
/// or other control characters, no LIST wildcards, no empty `/` segments.
///
/// # Errors
/// [`ImapError::Invalid`] saying what is wrong.
pub fn validate_folder(folder: &str) -> Result<(), ImapError> {
    let invalid = |detail: &str| ImapError::Invalid {
        what: "folder name",
        detail: format!("{folder:?}: {detail}"),
    };
    if folder.is_empty() {
        return Err(invalid("empty"));
    }
    if !folder.is_ascii() {
        return Err(invalid("not ASCII"));
    }
    if folder.chars().any(|c| c.is_ascii_control()) {
        return Err(invalid("holds control characters"));
    }
    if folder.contains(['*', '%']) {
        return Err(invalid("holds a LIST wildcard (* or %)"));
    }
    if folder.split('/').any(str::is_empty) {
        return Err(invalid("has an empty path segment"));
    }
    Ok(())
}

/// The server's name for a configured folder (`/` between levels): `INBOX` (any letter case)
/// stays `INBOX`; otherwise the levels are joined with the server's delimiter and the personal
/// prefix is put in front unless the name already starts with it (`INBOX/Sent` on a server with
/// prefix `INBOX.` is `INBOX.Sent`, not `INBOX.INBOX.Sent`). The prefix's `INBOX` part matches in
/// any letter case and is written as the server spells it.
///
/// # Errors
/// [`ImapError::Invalid`] for a name [`validate_folder`] refuses, or one whose level holds the
/// server's delimiter (`Triage.FOI` on a `.` server would silently become two levels).
pub fn server_name(configured: &str, ns: &Namespace) -> Result<String, ImapError> {
    validate_folder(configured)?;
    if configured.eq_ignore_ascii_case("INBOX") {
        return Ok("INBOX".to_owned());
    }
    let joined = match ns.delimiter {
        Some(d) if d != '/' => {
            if configured.contains(d) {
                return Err(ImapError::Invalid {
                    what: "folder name",
                    detail: format!(
                        "{configured:?} holds the server's hierarchy delimiter {d:?}; \
                         write levels with '/' (e.g. \"Triage/FOI\")"
                    ),
                });
            }
            configured.replace('/', &d.to_string())
        }
        _ => configured.to_owned(),
    };
    let prefix = ns.prefix.as_str();
    if prefix.is_empty() {
        return Ok(joined);
    }
    match joined.get(..prefix.len()) {
        Some(head) if head == prefix => Ok(joined),
        Some(head) if is_inbox_prefix(prefix) && head.eq_ignore_ascii_case(prefix) => {
            Ok(format!("{prefix}{}", &joined[prefix.len()..]))
        }
        _ => Ok(format!("{prefix}{joined}")),
    }
}

/// Whether `prefix` is `INBOX` plus at most a delimiter: the one prefix whose letter case does
/// not matter (RFC 3501 §5.1: INBOX is case-insensitive).
fn is_inbox_prefix(prefix: &str) -> bool {
    prefix.len() <= 6
        && prefix
            .get(..5)
            .is_some_and(|head| head.eq_ignore_ascii_case("INBOX"))
}

/// Reads the personal namespace from one untagged `NAMESPACE` response line (RFC 2342 §5:
/// `* NAMESPACE <personal> <other users> <shared>`, literals inline): the first personal entry's
/// prefix and delimiter; `Ok(None)` when the server has no personal namespace (`NIL`).
///
/// # Errors
/// What is wrong with the line, for the log: not a NAMESPACE response, malformed, or a prefix
/// that cannot be a folder name (not ASCII, control characters, LIST wildcards).
pub fn parse_namespace(line: &[u8]) -> Result<Option<Namespace>, String> {
    let mut p = Parser { rest: line };
    if !p.keyword("* NAMESPACE ") {
        return Err("not a NAMESPACE response".to_owned());
    }
    if p.keyword("NIL") {
        return Ok(None);
    }
    if !(p.byte(b'(') && p.byte(b'(')) {
        return Err("personal namespace is neither NIL nor a list".to_owned());
    }
    let prefix = p.string().ok_or("no prefix string")?;
    if !p.byte(b' ') {
        return Err("no space after the prefix".to_owned());
    }
    let delimiter = if p.keyword("NIL") {
        None
    } else {
        let d = p.string().ok_or("no delimiter")?;
        match d.as_slice() {
            [c] if c.is_ascii_graphic() => Some(char::from(*c)),
            _ => {
                return Err(format!(
                    "delimiter {:?} is not one character",
                    d.escape_ascii().to_string()
                ));
            }
        }
    };
    let prefix = String::from_utf8(prefix).map_err(|_| "prefix is not UTF-8".to_owned())?;
    if !prefix.is_ascii()
        || prefix
            .chars()
            .any(|c| c.is_ascii_control() || c == '*' || c == '%')
    {
        return Err(format!("prefix {prefix:?} cannot be a folder name"));
    }
    Ok(Some(Namespace { prefix, delimiter }))
}

/// A cursor over a response line, for the few IMAP forms a NAMESPACE answer uses.
struct Parser<'a> {
    rest: &'a [u8],
}

impl Parser<'_> {
    /// Consumes `word` (ASCII letters in any case) if the line continues with it.
    fn keyword(&mut self, word: &str) -> bool {
        match self.rest.get(..word.len()) {
            Some(head) if head.eq_ignore_ascii_case(word.as_bytes()) => {
                self.rest = &self.rest[word.len()..];
                true
            }
            _ => false,
        }
    }

    /// Consumes one byte if it is `b`.
    fn byte(&mut self, b: u8) -> bool {
        match self.rest.split_first() {
            Some((&first, rest)) if first == b => {
                self.rest = rest;
                true
            }
            _ => false,
        }
    }

    /// An IMAP string: quoted (`"INBOX."`, backslash escapes) or a literal (`{6}\r\nINBOX.`).
    fn string(&mut self) -> Option<Vec<u8>> {
        if self.byte(b'"') {
            let mut out = Vec::new();
            loop {
                let (&c, rest) = self.rest.split_first()?;
                self.rest = rest;
                match c {
                    b'"' => return Some(out),
                    b'\\' => {
                        let (&escaped, rest) = self.rest.split_first()?;
                        self.rest = rest;
                        out.push(escaped);
                    }
                    b'\r' | b'\n' => return None,
                    _ => out.push(c),
                }
            }
        }
        if self.byte(b'{') {
            let close = self.rest.iter().position(|&c| c == b'}')?;
            let n: usize = std::str::from_utf8(&self.rest[..close])
                .ok()?
                .parse()
                .ok()?;
            let body = self.rest.get(close + 1..)?.strip_prefix(b"\r\n")?;
            let value = body.get(..n)?.to_vec();
            self.rest = &body[n..];
            return Some(value);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(prefix: &str, delimiter: Option<char>) -> Namespace {
        Namespace {
            prefix: prefix.to_owned(),
            delimiter,
        }
    }

    #[test]
    fn configured_names_map_onto_the_personal_namespace() {
        let dovecot = ns("", Some('.'));
        let exchange = ns("", Some('/'));
        let cyrus = ns("INBOX.", Some('.'));
        let courier_slash = ns("INBOX/", Some('/'));
        let flat = ns("", None);
        let flat_prefixed = ns("Mail-", None);
        // (configured, namespace, server name)
        let table = [
            ("INBOX", &dovecot, "INBOX"),
            ("inbox", &cyrus, "INBOX"),
            ("Inbox", &exchange, "INBOX"),
            ("Triage/FOI", &dovecot, "Triage.FOI"),
            ("Triage/FOI", &exchange, "Triage/FOI"),
            ("Triage/FOI", &cyrus, "INBOX.Triage.FOI"),
            ("Triage/FOI", &courier_slash, "INBOX/Triage/FOI"),
            ("Triage/Quarantine", &cyrus, "INBOX.Triage.Quarantine"),
            ("Sent", &cyrus, "INBOX.Sent"),
            ("Sent", &dovecot, "Sent"),
            // The prefix is already there: not added twice, whatever the letter case of INBOX.
            ("INBOX/Sent", &cyrus, "INBOX.Sent"),
            ("inbox/Triage/FOI", &cyrus, "INBOX.Triage.FOI"),
            ("INBOX/Sent", &courier_slash, "INBOX/Sent"),
            // Below INBOX on a server without a prefix: a real child of INBOX.
            ("INBOX/Sent", &dovecot, "INBOX.Sent"),
            // A name that merely starts like the prefix is not taken for it.
            ("INBOXES", &cyrus, "INBOX.INBOXES"),
            ("Triage/FOI", &flat, "Triage/FOI"),
            ("Archive", &flat_prefixed, "Mail-Archive"),
            ("mail-Archive", &flat_prefixed, "Mail-mail-Archive"),
        ];
        for (configured, namespace, expected) in table {
            assert_eq!(
                server_name(configured, namespace).as_deref().ok(),
                Some(expected),
                "{configured:?} in {namespace:?}"
            );
        }
    }

    #[test]
    fn names_the_server_would_misread_are_refused() {
        let cyrus = ns("INBOX.", Some('.'));
        for bad in [
            "Triage.FOI",
            "INBOX.Sent",
            "",
            "Triage//FOI",
            "/Triage",
            "Triage/",
            "Réponses",
            "Tri*age",
            "Tri%age",
            "Tri\r\nage",
        ] {
            let err = server_name(bad, &cyrus).expect_err(bad);
            assert!(matches!(err, ImapError::Invalid { .. }), "{bad:?}: {err:?}");
        }
        // On a '/' server a '.' is an ordinary character.
        assert_eq!(
            server_name("Triage.FOI", &ns("", Some('/'))).expect("ok"),
            "Triage.FOI"
        );
    }

    #[test]
    fn namespace_responses_of_real_servers_are_read() {
        /// The personal namespace expected: prefix and delimiter.
        type Expected = Option<(&'static str, Option<char>)>;
        // (response line, the personal namespace)
        let table: [(&[u8], Expected); 9] = [
            // Dovecot default (Maildir++)
            (b"* NAMESPACE ((\"\" \".\")) NIL NIL", Some(("", Some('.')))),
            // Cyrus stock layout
            (
                b"* NAMESPACE ((\"INBOX.\" \".\")) NIL ((\"\" \".\"))",
                Some(("INBOX.", Some('.'))),
            ),
            // Courier
            (
                b"* NAMESPACE ((\"INBOX.\" \".\")) NIL ((\"#shared.\" \".\")(\"shared.\" \".\"))",
                Some(("INBOX.", Some('.'))),
            ),
            // Exchange Online / Gmail
            (b"* NAMESPACE ((\"\" \"/\")) NIL NIL", Some(("", Some('/')))),
            // Several personal namespaces and an extension: the first counts.
            (
                b"* Namespace ((\"\" \"/\" \"X-PARAM\" (\"A\" \"B\"))(\"#mh/\" \"/\")) NIL NIL",
                Some(("", Some('/'))),
            ),
            // A flat namespace.
            (b"* NAMESPACE ((\"\" NIL)) NIL NIL", Some(("", None))),
            // Escapes and a literal.
            (
                b"* NAMESPACE ((\"My \\\"Mail\\\".\" \"\\\\\")) NIL NIL",
                Some(("My \"Mail\".", Some('\\'))),
            ),
            (
                b"* NAMESPACE (({6}\r\nINBOX. \".\")) NIL NIL",
                Some(("INBOX.", Some('.'))),
            ),
            // No personal namespace at all.
            (b"* NAMESPACE NIL NIL ((\"\" \"/\"))", None),
        ];
        for (line, expected) in table {
            let got = parse_namespace(line).unwrap_or_else(|e| {
                panic!("{}: {e}", String::from_utf8_lossy(line));
            });
            let expected = expected.map(|(p, d)| ns(p, d));
            assert_eq!(got, expected, "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn malformed_namespace_responses_are_errors_not_guesses() {
        for line in [
            &b"* LIST () \".\" INBOX"[..],
            b"* NAMESPACE",
            b"* NAMESPACE ((\"INBOX.\"",
            b"* NAMESPACE ((\"INBOX.\" \"..\")) NIL NIL",
            b"* NAMESPACE ((\"IN*\" \".\")) NIL NIL",
            b"* NAMESPACE ((\"IN\rBOX\" \".\")) NIL NIL",
            b"* NAMESPACE (({99}\r\nINBOX. \".\")) NIL NIL",
            b"* NAMESPACE (INBOX)",
        ] {
            assert!(
                parse_namespace(line).is_err(),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }
}
