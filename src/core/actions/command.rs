//! Staff commands in words: `#close refused s.40(2)`, `#assign alice`, `#extend public interest`.
//!
//! Staff act on a case by replying to its assignment email with command lines, or from the
//! command line (`foi-triage case <action> REF ...`); both go through [`parse_command`], so the
//! two stay the same language. [`parse_commands`] finds the command lines in a reply: only lines
//! starting with `#` in what the sender wrote, above the quoted history (the assignment email we
//! sent contains example commands, which must never be acted on).
//!
//! Every error is a [`CommandError`] whose message can be mailed back as it is: it names the
//! command, says what was wrong and gives an example.
//!
//! What this module does not do: check the sender or the reply token ([`super::token`]), decide
//! whether the command is allowed for the case ([`super::apply`]), or read mail.

use super::Action;
use crate::model::case::{CaseRef, CloseOutcome};
use crate::model::kind::Kind;
use chrono::NaiveDate;
use regex::Regex;
use std::sync::LazyLock;

/// Most command lines read from one email: a reply with more is almost certainly not a deliberate
/// list of commands (a pasted document), and each one changes a legal record.
pub const MAX_COMMANDS_PER_MESSAGE: usize = 20;

/// Longest command line read, in characters: a note is a sentence or two, not a document; longer
/// text belongs in the case file.
pub const MAX_LINE_CHARS: usize = 1000;

/// One parsed command: an action on the case, or a request for the list of commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffCommand {
    /// Do this to the case.
    Act(Action),
    /// Reply with [`help_text`]; nothing changes.
    Help,
}

/// Why a command line could not be understood. The message is written for the member of staff
/// who sent it and is mailed back as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// The line does not start with `#` and a word.
    #[error(
        "{line:?} is not a command: a command is a line starting with #, such as #note or #help"
    )]
    NotACommand {
        /// The line.
        line: String,
    },
    /// No such command.
    #[error("#{word} is not a command I know; send #help for the list of commands")]
    Unknown {
        /// The word after `#`, as written.
        word: String,
    },
    /// A required argument is missing.
    #[error("#{command} needs {what}, for example: {example}")]
    Missing {
        /// Canonical command name.
        command: &'static str,
        /// What is missing, in words.
        what: &'static str,
        /// A correct line.
        example: &'static str,
    },
    /// An argument is not understood.
    #[error("#{command}: {problem}; for example: {example}")]
    Bad {
        /// Canonical command name.
        command: &'static str,
        /// What is wrong, quoting the argument.
        problem: String,
        /// A correct line.
        example: &'static str,
    },
    /// The line is too long to be a command.
    #[error(
        "a command line of {chars} characters is too long (at most {max}); put long text in the case file"
    )]
    TooLong {
        /// Characters in the line.
        chars: usize,
        /// [`MAX_LINE_CHARS`].
        max: usize,
    },
    /// Too many command lines in one email.
    #[error(
        "more than {max} command lines in one email; nothing after the first {max} was read, send the rest separately"
    )]
    TooMany {
        /// [`MAX_COMMANDS_PER_MESSAGE`].
        max: usize,
    },
}

/// A command line found in an email, with where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedLine {
    /// 1-based line number in the body, for the reply ("line 3: ...").
    pub line: usize,
    /// The line as written (trimmed).
    pub text: String,
    /// The command, or why it was not understood.
    pub result: Result<StaffCommand, CommandError>,
}

/// The command list as shipped (`templates/help/body.txt.j2`, embedded when compiled), without
/// trailing blank lines: for callers that have no template registry. The wording lives in the
/// template, not here; the daemon sends the officer-edited copy from `letters::Letters::help_text`,
/// which renders the same file (the shipped one has no template syntax, so both read the same).
pub fn help_text() -> &'static str {
    SHIPPED_HELP.trim_end()
}

const SHIPPED_HELP: &str = include_str!("../../../templates/help/body.txt.j2");

/// Canonical command names with their aliases (compared after lower-casing and dropping `-`/`_`).
const ALIASES: &[(&str, &[&str])] = &[
    ("assign", &["assign", "reassign", "allocate", "give", "to"]),
    (
        "reclassify",
        &[
            "reclassify",
            "reclass",
            "classify",
            "kind",
            "recategorise",
            "recategorize",
        ],
    ),
    (
        "clarify",
        &[
            "clarify",
            "clarification",
            "particulars",
            "askclarification",
        ],
    ),
    ("id", &["id", "proofofid", "identity", "askid", "proof"]),
    ("fee", &["fee", "fees", "feenotice", "charge"]),
    (
        "answer",
        &[
            "answer",
            "answered",
            "clarified",
            "paid",
            "idreceived",
            "feereceived",
            "received",
        ],
    ),
    ("extend", &["extend", "extension", "extended"]),
    ("responded", &["responded", "response", "sent", "replied"]),
    ("close", &["close", "closed"]),
    ("reopen", &["reopen", "reopened", "open"]),
    ("note", &["note", "comment"]),
    ("repeat", &["repeat", "duplicate", "dup", "possiblerepeat"]),
    ("vexatious", &["vexatious", "vex"]),
    ("help", &["help", "commands", "usage"]),
];

fn canonical(word: &str) -> Option<&'static str> {
    let w: String = word
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect();
    ALIASES
        .iter()
        .find(|(_, names)| names.contains(&w.as_str()))
        .map(|(c, _)| *c)
}

/// Parses one command line such as `#close refused s.40(2)`.
///
/// The command word is case-insensitive and has friendly aliases (`#allocate`, `#extension`,
/// `#not_held`…); see [`help_text`].
///
/// # Errors
/// [`CommandError`] saying what is wrong, with an example of a correct line.
pub fn parse_command(line: &str) -> Result<StaffCommand, CommandError> {
    let t = line.trim();
    let chars = t.chars().count();
    if chars > MAX_LINE_CHARS {
        return Err(CommandError::TooLong {
            chars,
            max: MAX_LINE_CHARS,
        });
    }
    let Some(rest) = t.strip_prefix('#') else {
        return Err(CommandError::NotACommand {
            line: t.to_string(),
        });
    };
    let (word, args) = match rest.find(char::is_whitespace) {
        Some(i) => (&rest[..i], rest[i..].trim()),
        None => (rest, ""),
    };
    if word.is_empty() {
        return Err(CommandError::NotACommand {
            line: t.to_string(),
        });
    }
    let Some(command) = canonical(word) else {
        return Err(CommandError::Unknown {
            word: word.to_string(),
        });
    };
    let text = || (!args.is_empty()).then(|| args.to_string());
    let act = |a: Action| Ok(StaffCommand::Act(a));
    match command {
        "assign" => act(Action::Assign {
            to: parse_handle(args)?,
        }),
        "reclassify" => act(Action::Reclassify {
            kind: parse_kind(args)?,
        }),
        "clarify" => act(Action::RequestClarification { text: text() }),
        "id" => act(Action::RequestId { text: text() }),
        "fee" => act(Action::RequestFee { text: text() }),
        "answer" => act(Action::RecordAnswer {
            on: parse_date("answer", args, "#answer 2026-03-10")?,
        }),
        "extend" => {
            if args.is_empty() {
                return Err(CommandError::Missing {
                    command: "extend",
                    what: "a reason (the law asks for one)",
                    example: "#extend public interest test for s.43",
                });
            }
            act(Action::Extend {
                reason: args.to_string(),
            })
        }
        "responded" => act(Action::Responded {
            on: parse_date("responded", args, "#responded 2026-03-27")?,
        }),
        "close" => parse_close(args),
        "reopen" => no_args("reopen", args).and(act(Action::Reopen)),
        "note" => match text() {
            Some(text) => act(Action::Note { text }),
            None => Err(CommandError::Missing {
                command: "note",
                what: "the text of the note",
                example: "#note phoned the requester, they will narrow the request",
            }),
        },
        "repeat" => parse_repeat(args),
        "vexatious" => match text() {
            Some(why) => act(Action::FlagVexatious { why }),
            None => Err(CommandError::Missing {
                command: "vexatious",
                what: "a reason",
                example: "#vexatious fifth request this month on the same closed complaint",
            }),
        },
        // "help": anything after it is ignored, `#help close` still helps.
        _ => Ok(StaffCommand::Help),
    }
}

/// Parses the words of `foi-triage case <action> ...` (after the reference): the same language as
/// the email commands, with or without the leading `#`.
///
/// # Errors
/// As [`parse_command`]; an empty list is [`CommandError::NotACommand`].
pub fn parse_cli<S: AsRef<str>>(words: &[S]) -> Result<StaffCommand, CommandError> {
    let joined = words
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(" ");
    let joined = joined.trim();
    if joined.is_empty() {
        return Err(CommandError::NotACommand {
            line: String::new(),
        });
    }
    if joined.starts_with('#') {
        parse_command(joined)
    } else {
        parse_command(&format!("#{joined}"))
    }
}

/// The command lines of an email body, in order, each parsed.
///
/// Reads only what the sender wrote: it stops at the first quoted line (`>`), an attribution
/// ("On … wrote:", also wrapped over two lines), an Outlook header block or separator
/// (`-----Original Message-----`, `From:`, a line of underscores) or a signature delimiter (`-- `).
/// Of the lines above, only those starting with `#` and a letter are commands: `#1 priority` is
/// prose. At most [`MAX_COMMANDS_PER_MESSAGE`] are read; if there are more, a
/// [`CommandError::TooMany`] entry ends the list.
pub fn parse_commands(body: &str) -> Vec<ParsedLine> {
    let lines: Vec<&str> = body.lines().collect();
    let mut out = Vec::new();
    for (i, raw) in lines.iter().enumerate() {
        let t = raw.trim();
        if ends_own_text(t, lines.get(i + 1).map(|l| l.trim())) || raw.trim_end() == "--" {
            break;
        }
        let Some(rest) = t.strip_prefix('#') else {
            continue;
        };
        if !rest.starts_with(|c: char| c.is_alphabetic()) {
            continue;
        }
        if out.len() == MAX_COMMANDS_PER_MESSAGE {
            out.push(ParsedLine {
                line: i + 1,
                text: t.to_string(),
                result: Err(CommandError::TooMany {
                    max: MAX_COMMANDS_PER_MESSAGE,
                }),
            });
            break;
        }
        out.push(ParsedLine {
            line: i + 1,
            text: t.to_string(),
            result: parse_command(t),
        });
    }
    out
}

/// Whether `line` (trimmed) starts the quoted history or a signature.
fn ends_own_text(line: &str, next: Option<&str>) -> bool {
    let lower = line.to_lowercase();
    let is_attribution = |s: &str| {
        let s = s.trim_end();
        s.ends_with("wrote:") || s.ends_with("a écrit :") || s.ends_with("schrieb:")
    };
    line.starts_with('>')
        || lower.starts_with("-----original message")
        || lower.starts_with("----- original message")
        || lower.starts_with("from:")
        || (line.len() >= 8 && line.chars().all(|c| c == '_'))
        || is_attribution(&lower)
        || (lower.starts_with("on ") && next.is_some_and(|n| is_attribution(&n.to_lowercase())))
}

fn no_args(command: &'static str, args: &str) -> Result<(), CommandError> {
    if args.is_empty() {
        Ok(())
    } else {
        Err(CommandError::Bad {
            command,
            problem: format!("it takes nothing after it, but got {args:?}"),
            example: "#reopen",
        })
    }
}

fn parse_handle(args: &str) -> Result<String, CommandError> {
    const EXAMPLE: &str = "#assign alice";
    let mut words = args.split_whitespace();
    let (Some(handle), None) = (words.next(), words.next()) else {
        return if args.is_empty() {
            Err(CommandError::Missing {
                command: "assign",
                what: "who to assign to (a handle or an address)",
                example: EXAMPLE,
            })
        } else {
            Err(CommandError::Bad {
                command: "assign",
                problem: format!("give one handle or address, not {args:?}"),
                example: EXAMPLE,
            })
        };
    };
    let handle = handle.trim_matches(|c| c == '<' || c == '>');
    let ok = !handle.is_empty()
        && handle.len() <= 254
        && handle
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._%+-@'".contains(c));
    if ok {
        Ok(handle.to_string())
    } else {
        Err(CommandError::Bad {
            command: "assign",
            problem: format!("{handle:?} is not a staff handle or address"),
            example: EXAMPLE,
        })
    }
}

fn parse_kind(args: &str) -> Result<Kind, CommandError> {
    const EXAMPLE: &str = "#reclassify eir";
    if args.is_empty() {
        return Err(CommandError::Missing {
            command: "reclassify",
            what: "the new kind (foi, eir, sar, media, member, complaint, general)",
            example: EXAMPLE,
        });
    }
    let w: String = args
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect();
    let kind = match w.as_str() {
        "foi" | "foia" | "foisa" | "freedomofinformation" => Kind::Foi,
        "eir" | "eirs" | "environmental" => Kind::Eir,
        "sar" | "dsar" | "subjectaccess" => Kind::Sar,
        "media" | "press" => Kind::Media,
        "member" | "memberenquiry" | "councillor" | "mp" => Kind::MemberEnquiry,
        "complaint" | "internalreview" => Kind::Complaint,
        "general" | "enquiry" => Kind::General,
        "auto" => Kind::Auto,
        _ => {
            return Err(CommandError::Bad {
                command: "reclassify",
                problem: format!(
                    "{args:?} is not a kind (foi, eir, sar, media, member, complaint, general)"
                ),
                example: EXAMPLE,
            });
        }
    };
    Ok(kind)
}

fn parse_date(
    command: &'static str,
    args: &str,
    example: &'static str,
) -> Result<Option<NaiveDate>, CommandError> {
    if args.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(args, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| CommandError::Bad {
            command,
            problem: format!("{args:?} is not a date as YYYY-MM-DD (leave it out to mean today)"),
            example,
        })
}

fn parse_outcome(word: &str) -> Option<CloseOutcome> {
    let w: String = word
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect();
    Some(match w.as_str() {
        "provided" | "full" | "providedinfull" | "granted" | "released" | "disclosed" => {
            CloseOutcome::ProvidedInFull
        }
        "part" | "partial" | "partly" | "providedinpart" | "partlyprovided" => {
            CloseOutcome::ProvidedInPart
        }
        "refused" | "refuse" | "refusal" | "withheld" => CloseOutcome::Refused,
        "notheld" | "nothing" | "nothingheld" | "nih" => CloseOutcome::NotHeld,
        "withdrawn" | "withdraw" => CloseOutcome::Withdrawn,
        "lapsed" | "lapse" | "noreply" => CloseOutcome::Lapsed,
        _ => return None,
    })
}

const CLOSE_EXAMPLE: &str = "#close refused s.40(2) s.43";

fn parse_close(args: &str) -> Result<StaffCommand, CommandError> {
    let mut split = args.splitn(2, char::is_whitespace);
    let word = split.next().unwrap_or("");
    let rest = split.next().unwrap_or("").trim();
    if word.is_empty() {
        return Err(CommandError::Missing {
            command: "close",
            what: "an outcome: provided, part, refused, not-held, withdrawn or lapsed",
            example: CLOSE_EXAMPLE,
        });
    }
    // "not held" written as two words.
    let (outcome, rest) = match (parse_outcome(word), rest.split_once(char::is_whitespace)) {
        (Some(o), _) => (o, rest),
        (None, _) if word.eq_ignore_ascii_case("not") && rest.eq_ignore_ascii_case("held") => {
            (CloseOutcome::NotHeld, "")
        }
        (None, Some((held, more)))
            if word.eq_ignore_ascii_case("not") && held.eq_ignore_ascii_case("held") =>
        {
            (CloseOutcome::NotHeld, more.trim())
        }
        _ => {
            return Err(CommandError::Bad {
                command: "close",
                problem: format!(
                    "{word:?} is not an outcome (provided, part, refused, not-held, withdrawn, lapsed)"
                ),
                example: CLOSE_EXAMPLE,
            });
        }
    };
    let exemptions = parse_exemptions(rest)?;
    Ok(StaffCommand::Act(Action::Close {
        outcome,
        exemptions,
    }))
}

/// `s.40(2)`, `s40(2)`, `section 43`, `reg 12(4)(b)`, `regulation 12(5)(e)`, `Sch 2 para 5(3)`.
static EXEMPTION: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)
        \b(?:
            (?:section|sec|s)\.?\s*(?P<s>\d+[a-z]?(?:\(\w+\))*)
          | (?:regulation|reg|r)\.?\s*(?P<r>\d+[a-z]?(?:\(\w+\))*)
          | (?:schedule|sch)\.?\s*(?P<sch>\d+[a-z]?)\s*,?\s*(?:paragraph|para|p)\.?\s*(?P<p>\d+[a-z]?(?:\(\w+\))*)
        )",
    )
    .ok()
});

/// Exemptions or exceptions after the outcome, normalised (`s.40(2)`, `reg 12(4)(b)`,
/// `Sch 2 para 5(3)`), separated by spaces, commas, `;`, `&` or `and`.
fn parse_exemptions(text: &str) -> Result<Vec<String>, CommandError> {
    let bad = |piece: &str| CommandError::Bad {
        command: "close",
        problem: format!(
            "{:?} is not an exemption; write them like s.40(2), s.43 or reg 12(4)(b)",
            piece.trim()
        ),
        example: CLOSE_EXAMPLE,
    };
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let Some(re) = EXEMPTION.as_ref() else {
        return Err(bad(text));
    };
    let separator = |gap: &str| {
        gap.split(|c: char| c.is_whitespace() || ",;&".contains(c))
            .all(|w| w.is_empty() || w.eq_ignore_ascii_case("and"))
    };
    let mut out: Vec<String> = Vec::new();
    let mut last = 0;
    for caps in re.captures_iter(text) {
        let Some(m) = caps.get(0) else { continue };
        let gap = &text[last..m.start()];
        if !separator(gap) {
            return Err(bad(gap));
        }
        last = m.end();
        let name = if let Some(s) = caps.name("s") {
            format!("s.{}", s.as_str().to_lowercase())
        } else if let Some(r) = caps.name("r") {
            format!("reg {}", r.as_str().to_lowercase())
        } else {
            let sch = caps.name("sch").map_or("", |m| m.as_str());
            let p = caps.name("p").map_or("", |m| m.as_str());
            format!("Sch {} para {}", sch.to_lowercase(), p.to_lowercase())
        };
        if !out.contains(&name) {
            out.push(name);
        }
    }
    let tail = &text[last..];
    if !separator(tail) {
        return Err(bad(tail));
    }
    Ok(out)
}

fn parse_repeat(args: &str) -> Result<StaffCommand, CommandError> {
    const EXAMPLE: &str = "#repeat FOI-2026-000001 same questions about the depot";
    let mut split = args.splitn(2, char::is_whitespace);
    let first = split.next().unwrap_or("");
    if first.is_empty() {
        return Err(CommandError::Missing {
            command: "repeat",
            what: "the reference of the earlier case",
            example: EXAMPLE,
        });
    }
    let of: CaseRef = first.parse().map_err(|e| CommandError::Bad {
        command: "repeat",
        problem: format!("{e}"),
        example: EXAMPLE,
    })?;
    let why = split.next().map(str::trim).filter(|s| !s.is_empty());
    Ok(StaffCommand::Act(Action::FlagRepeat {
        of,
        why: why.map(str::to_string),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn act(a: Action) -> Result<StaffCommand, CommandError> {
        Ok(StaffCommand::Act(a))
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
    }

    fn close(outcome: CloseOutcome, ex: &[&str]) -> Result<StaffCommand, CommandError> {
        act(Action::Close {
            outcome,
            exemptions: ex.iter().map(|s| s.to_string()).collect(),
        })
    }

    #[test]
    fn every_command_and_alias() {
        use CloseOutcome as O;
        let reference: CaseRef = "FOI-2026-000001".parse().expect("valid");
        let table: Vec<(&str, Result<StaffCommand, CommandError>)> = vec![
            ("#assign alice", act(Action::Assign { to: "alice".into() })),
            ("#ASSIGN Alice", act(Action::Assign { to: "Alice".into() })),
            (
                "  #allocate bob@council.example ",
                act(Action::Assign {
                    to: "bob@council.example".into(),
                }),
            ),
            (
                "#re-assign <carol.jones@council.example>",
                act(Action::Assign {
                    to: "carol.jones@council.example".into(),
                }),
            ),
            (
                "#reclassify eir",
                act(Action::Reclassify { kind: Kind::Eir }),
            ),
            (
                "#Reclassify EIR",
                act(Action::Reclassify { kind: Kind::Eir }),
            ),
            (
                "#kind subject-access",
                act(Action::Reclassify { kind: Kind::Sar }),
            ),
            (
                "#reclassify member enquiry",
                act(Action::Reclassify {
                    kind: Kind::MemberEnquiry,
                }),
            ),
            (
                "#reclassify member_enquiry",
                act(Action::Reclassify {
                    kind: Kind::MemberEnquiry,
                }),
            ),
            (
                "#reclassify auto",
                act(Action::Reclassify { kind: Kind::Auto }),
            ),
            ("#clarify", act(Action::RequestClarification { text: None })),
            (
                "#clarify which years do you mean?",
                act(Action::RequestClarification {
                    text: Some("which years do you mean?".into()),
                }),
            ),
            (
                "#particulars",
                act(Action::RequestClarification { text: None }),
            ),
            ("#id", act(Action::RequestId { text: None })),
            (
                "#proof-of-id passport or licence",
                act(Action::RequestId {
                    text: Some("passport or licence".into()),
                }),
            ),
            (
                "#fee £45 for copies",
                act(Action::RequestFee {
                    text: Some("£45 for copies".into()),
                }),
            ),
            ("#FEES", act(Action::RequestFee { text: None })),
            ("#answer", act(Action::RecordAnswer { on: None })),
            (
                "#answer 2026-03-10",
                act(Action::RecordAnswer {
                    on: Some(date("2026-03-10")),
                }),
            ),
            ("#paid", act(Action::RecordAnswer { on: None })),
            (
                "#extend public interest test s.43",
                act(Action::Extend {
                    reason: "public interest test s.43".into(),
                }),
            ),
            (
                "#Extension complex and voluminous",
                act(Action::Extend {
                    reason: "complex and voluminous".into(),
                }),
            ),
            ("#responded", act(Action::Responded { on: None })),
            (
                "#sent 2026-03-27",
                act(Action::Responded {
                    on: Some(date("2026-03-27")),
                }),
            ),
            ("#close provided", close(O::ProvidedInFull, &[])),
            ("#close Provided-In-Full", close(O::ProvidedInFull, &[])),
            (
                "#close part s.43(2)",
                close(O::ProvidedInPart, &["s.43(2)"]),
            ),
            (
                "#close refused s.40(2) s.43",
                close(O::Refused, &["s.40(2)", "s.43"]),
            ),
            (
                "#close refused S40(2), section 43 and s.40(2)",
                close(O::Refused, &["s.40(2)", "s.43"]),
            ),
            (
                "#close refused reg 12(4)(b); regulation 12(5)(e)",
                close(O::Refused, &["reg 12(4)(b)", "reg 12(5)(e)"]),
            ),
            (
                "#close refused Sch 2 para 5(3)",
                close(O::Refused, &["Sch 2 para 5(3)"]),
            ),
            ("#close not-held", close(O::NotHeld, &[])),
            ("#close not held", close(O::NotHeld, &[])),
            ("#close NOT_HELD", close(O::NotHeld, &[])),
            ("#close withdrawn", close(O::Withdrawn, &[])),
            ("#closed lapsed", close(O::Lapsed, &[])),
            ("#reopen", act(Action::Reopen)),
            ("#Re-Open", act(Action::Reopen)),
            (
                "#note phoned the requester",
                act(Action::Note {
                    text: "phoned the requester".into(),
                }),
            ),
            (
                "#repeat FOI-2026-000001",
                act(Action::FlagRepeat {
                    of: reference.clone(),
                    why: None,
                }),
            ),
            (
                "#repeat foi-2026-000001 same depot questions",
                act(Action::FlagRepeat {
                    of: reference.clone(),
                    why: Some("same depot questions".into()),
                }),
            ),
            (
                "#vexatious fifth identical request",
                act(Action::FlagVexatious {
                    why: "fifth identical request".into(),
                }),
            ),
            (
                "#vex abusive",
                act(Action::FlagVexatious {
                    why: "abusive".into(),
                }),
            ),
            ("#help", Ok(StaffCommand::Help)),
            ("#HELP close", Ok(StaffCommand::Help)),
            ("#commands", Ok(StaffCommand::Help)),
        ];
        for (line, want) in table {
            assert_eq!(parse_command(line), want, "{line:?}");
        }
    }

    #[test]
    fn errors_say_what_is_wrong() {
        // (line, substring the mailed-back message must contain)
        let table = [
            ("assign alice", "is not a command"),
            ("#", "is not a command"),
            ("# assign alice", "is not a command"),
            (
                "#frobnicate",
                "#frobnicate is not a command I know; send #help",
            ),
            ("#assign", "#assign needs who to assign to"),
            ("#assign alice bob", "give one handle or address"),
            ("#assign al!ce", "\"al!ce\" is not a staff handle"),
            ("#reclassify", "#reclassify needs the new kind"),
            ("#reclassify planning", "\"planning\" is not a kind"),
            (
                "#answer yesterday",
                "\"yesterday\" is not a date as YYYY-MM-DD",
            ),
            ("#answer 2026-02-30", "is not a date"),
            ("#responded 27/03/2026", "is not a date"),
            ("#extend", "#extend needs a reason"),
            ("#close", "#close needs an outcome"),
            ("#close granted-ish", "\"granted-ish\" is not an outcome"),
            (
                "#close refused because I said so",
                "\"because I said so\" is not an exemption",
            ),
            (
                "#close refused s.40(2) maybe",
                "\"maybe\" is not an exemption",
            ),
            ("#close not", "\"not\" is not an outcome"),
            ("#reopen now", "takes nothing after it"),
            ("#note", "#note needs the text of the note"),
            ("#repeat", "#repeat needs the reference"),
            ("#repeat FOI-26-1", "case reference year"),
            ("#repeat last-week", "is not of the form"),
            ("#vexatious", "#vexatious needs a reason"),
        ];
        for (line, want) in table {
            let err = parse_command(line).expect_err(line);
            let msg = err.to_string();
            assert!(msg.contains(want), "{line:?}: {msg}");
        }
        let long = format!("#note {}", "x".repeat(MAX_LINE_CHARS));
        assert_eq!(
            parse_command(&long),
            Err(CommandError::TooLong {
                chars: MAX_LINE_CHARS + 6,
                max: MAX_LINE_CHARS
            })
        );
    }

    #[test]
    fn cli_words_use_the_same_parser() {
        let table: Vec<(Vec<&str>, Result<StaffCommand, CommandError>)> = vec![
            (
                vec!["close", "refused", "s.40(2)"],
                close(CloseOutcome::Refused, &["s.40(2)"]),
            ),
            (
                vec!["#assign", "alice"],
                act(Action::Assign { to: "alice".into() }),
            ),
            (
                vec!["note", "called back"],
                act(Action::Note {
                    text: "called back".into(),
                }),
            ),
            (vec!["help"], Ok(StaffCommand::Help)),
        ];
        for (words, want) in table {
            assert_eq!(parse_cli(&words), want, "{words:?}");
        }
        assert!(matches!(
            parse_cli::<&str>(&[]),
            Err(CommandError::NotACommand { .. })
        ));
        assert!(matches!(
            parse_cli(&["bogus"]),
            Err(CommandError::Unknown { .. })
        ));
    }

    type Found = Vec<(usize, Result<StaffCommand, CommandError>)>;

    fn found(body: &str) -> Found {
        parse_commands(body)
            .into_iter()
            .map(|p| (p.line, p.result))
            .collect()
    }

    #[test]
    fn only_own_text_above_the_quote_is_read() {
        let reopen = || act(Action::Reopen);
        let note = |t: &str| act(Action::Note { text: t.into() });
        let table: Vec<(&str, Found)> = vec![
            ("#reopen", vec![(1, reopen())]),
            (
                "Hi,\r\n\r\n#reopen\r\n#note done\r\n",
                vec![(3, reopen()), (4, note("done"))],
            ),
            ("#reopen\n> #close provided\n", vec![(1, reopen())]),
            (
                "#reopen\nOn Mon, 2 Mar 2026 at 10:00, FOI <foi@council.example> wrote:\n#close provided",
                vec![(1, reopen())],
            ),
            (
                "#reopen\nOn Mon, 2 Mar 2026 at 10:00, FOI Team\n<foi@council.example> wrote:\n#close provided",
                vec![(1, reopen())],
            ),
            (
                "#reopen\n-----Original Message-----\n#close provided",
                vec![(1, reopen())],
            ),
            (
                "#reopen\n________________________________\nFrom: FOI\n#close provided",
                vec![(1, reopen())],
            ),
            (
                "#reopen\nFrom: FOI <foi@council.example>\nSent: Monday\n#close provided",
                vec![(1, reopen())],
            ),
            (
                "#reopen\n-- \nAlice Smith\n#close provided",
                vec![(1, reopen())],
            ),
            ("#reopen\n--\n#close provided", vec![(1, reopen())]),
            ("Le lun. 2 mars 2026, FOI a écrit :\n#reopen", vec![]),
            (
                "#1 priority, please\n   #reopen  \n#\n# comment",
                vec![(2, reopen())],
            ),
            ("> quoted first\n#reopen", vec![]),
            ("Thanks, no commands here.\n", vec![]),
            ("", vec![]),
        ];
        for (body, want) in table {
            assert_eq!(found(body), want, "{body:?}");
        }
    }

    #[test]
    fn bad_lines_are_reported_with_their_line_numbers() {
        let got = parse_commands("Hello\n#close sideways\n#note ok\n#bogus");
        let lines: Vec<usize> = got.iter().map(|p| p.line).collect();
        assert_eq!(lines, [2, 3, 4]);
        assert!(matches!(
            got[0].result,
            Err(CommandError::Bad {
                command: "close",
                ..
            })
        ));
        assert_eq!(got[0].text, "#close sideways");
        assert!(got[1].result.is_ok());
        assert_eq!(
            got[2].result,
            Err(CommandError::Unknown {
                word: "bogus".into()
            })
        );
    }

    #[test]
    fn too_many_commands_stop_the_list() {
        let body = "#note x\n".repeat(MAX_COMMANDS_PER_MESSAGE + 5);
        let got = parse_commands(&body);
        assert_eq!(got.len(), MAX_COMMANDS_PER_MESSAGE + 1);
        assert!(
            got[..MAX_COMMANDS_PER_MESSAGE]
                .iter()
                .all(|p| p.result.is_ok())
        );
        assert_eq!(
            got[MAX_COMMANDS_PER_MESSAGE].result,
            Err(CommandError::TooMany {
                max: MAX_COMMANDS_PER_MESSAGE
            })
        );
    }

    #[test]
    fn help_lists_every_command() {
        for (name, _) in ALIASES {
            assert!(help_text().contains(&format!("#{name}")), "{name}");
        }
        // Every example in the help parses.
        for line in help_text().lines().filter(|l| l.starts_with('#')) {
            let example = line.split("  ").next().unwrap_or("").trim();
            let example = example.replace("[", "").replace("]", "");
            if example.contains('|') {
                continue;
            }
            let example = example
                .replace("reason", "because")
                .replace("text", "words")
                .replace("YYYY-MM-DD", "");
            assert!(parse_command(&example).is_ok(), "{example:?}");
        }
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC{0,200}") {
            let _ = parse_command(&s);
            let _ = parse_commands(&s);
            let _ = parse_command(&format!("#close refused {s}"));
            let _ = parse_command(&format!("#repeat {s}"));
        }

        #[test]
        fn commands_are_case_insensitive(i in 0usize..ALIASES.len(), upper in any::<bool>()) {
            let (_, names) = ALIASES[i];
            for name in names.iter() {
                let word = if upper { name.to_uppercase() } else { name.to_string() };
                let r = parse_command(&format!("#{word}"));
                prop_assert!(!matches!(r, Err(CommandError::Unknown { .. })), "{word}");
            }
        }
    }
}
