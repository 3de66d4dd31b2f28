//! Rendering tests: the shipped templates load and render; errors name file and line; HTML is
//! escaped in HTML only.

use super::*;
use crate::core::chase::ChaserKey;
use crate::core::digest::DigestCounts;
use crate::letters::TemplateError;
use crate::model::case::CaseRef;
use crate::model::case::CaseState;
use chrono::{TimeZone, Utc};
use std::path::{Path, PathBuf};

/// The staff templates' files, relative to the template directory.
const DIGEST_SUBJECT: &str = "digest/subject.txt.j2";
const DIGEST_TEXT: &str = "digest/body.txt.j2";
const DIGEST_HTML: &str = "digest/body.html.j2";
const CHASER_TEXT: &str = "chaser/body.txt.j2";
const CHASER_HTML: &str = "chaser/body.html.j2";

fn shipped_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("templates")
}

fn head() -> Letterhead {
    Letterhead {
        organisation: "Example Borough Council".into(),
        shared_address: "foi@council.example.gov.uk".into(),
    }
}

fn r(seq: u32) -> CaseRef {
    CaseRef::new("FOI", 2026, seq).expect("valid")
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid")
}

fn entry(seq: u32, overdue: Option<u32>, left: Option<u32>, assignee: Option<&str>) -> DigestEntry {
    DigestEntry {
        reference: r(seq),
        kind: Kind::Foi,
        state: CaseState::Open,
        received: day(2026, 2, 16),
        due: Some(day(2026, 3, 16)),
        working_days_overdue: overdue,
        working_days_left: left,
        assignee: assignee.map(str::to_string),
        team: Some("planning".into()),
        repeat_of: vec![],
    }
}

fn digest() -> Digest {
    let now = Utc
        .with_ymd_and_hms(2026, 3, 25, 8, 0, 0)
        .single()
        .expect("valid");
    Digest {
        generated_at: now,
        today: day(2026, 3, 25),
        scope: TeamFilter::Team("planning & <roads>".into()),
        since: Utc
            .with_ymd_and_hms(2026, 3, 24, 8, 0, 0)
            .single()
            .expect("valid"),
        due_soon_working_days: 5,
        overdue: vec![
            entry(2, Some(6), None, Some("<b>evil</b>&co@example.gov.uk")),
            entry(1, Some(3), None, None),
        ],
        due_soon: vec![entry(3, None, Some(0), Some("a@example.gov.uk"))],
        waiting_on_requester: vec![],
        new_since_last: vec![],
        possible_repeats: vec![DigestEntry {
            repeat_of: vec![r(40), r(41)],
            ..entry(4, None, Some(5), Some("a@example.gov.uk"))
        }],
        unverified_answers: vec![],
        counts: DigestCounts {
            open: 4,
            overdue: 2,
            due_soon: 1,
            waiting_on_requester: 0,
            new_since_last: 0,
            possible_repeats: 1,
            unverified_answers: 0,
            open_by_kind: [(Kind::Foi, 4)].into(),
        },
        timeliness: Timeliness {
            from: day(2025, 12, 26),
            to: day(2026, 3, 25),
            in_time: 7,
            late: 1,
            overdue_unanswered: 0,
            pending: 2,
        },
        needs_human_triage: Vec::new(),
        failed_mail: vec![],
        machine_mail: vec![],
    }
}

fn chaser(
    slot: Slot,
    escalation: Escalation,
    assignee: Option<&str>,
    left: u32,
    over: u32,
) -> Chaser {
    let due = day(2026, 3, 20);
    Chaser {
        key: ChaserKey {
            case: r(1),
            due,
            slot,
        },
        case: r(1),
        kind: Kind::Foi,
        slot,
        escalation,
        overdue_working_days: over,
        working_days_left: left,
        due,
        assignee: assignee.map(str::to_string),
        team: Some("planning".into()),
    }
}

#[test]
fn shipped_templates_load_and_render_a_digest() {
    let t = Letters::load(&shipped_dir()).expect("shipped templates load");
    let out = t.render_digest(&digest(), &head()).expect("renders");
    assert!(!out.subject.contains('\n'));
    assert_eq!(
        out.subject,
        "Example Borough Council information requests for planning & <roads>, Wednesday 25 March 2026: 2 overdue, 1 due soon, 0 new"
    );
    // Most late first, as planned; references only.
    let p2 = out.text.find("FOI-2026-000002").expect("case 2 listed");
    let p1 = out.text.find("FOI-2026-000001").expect("case 1 listed");
    assert!(p2 < p1, "{}", out.text);
    for want in [
        "6 working days late",
        "NOT ALLOCATED",
        "0 working days left",
        "possible repeat of FOI-2026-000040, FOI-2026-000041",
        "87.5% answered within the time limit (7 of 8;",
        "Due within 5 working days: 1",
        "<b>evil</b>&co@example.gov.uk", // the text part is not escaped
    ] {
        assert!(
            out.text.contains(want),
            "text lacks {want:?}:\n{}",
            out.text
        );
    }
    for want in [
        "&lt;b&gt;evil&lt;&#x2f;b&gt;&amp;co@example.gov.uk",
        "planning &amp; &lt;roads&gt;",
        "<strong>87.5%</strong>",
        "<td>FOI-2026-000040, FOI-2026-000041</td>",
    ] {
        assert!(
            out.html.contains(want),
            "html lacks {want:?}:\n{}",
            out.html
        );
    }
    assert!(!out.html.contains("<b>evil"), "{}", out.html);
    // Nothing renders as a literal "none".
    assert!(!out.text.contains("none"), "{}", out.text);
}

#[test]
fn an_empty_digest_says_so() {
    let t = Letters::load(&shipped_dir()).expect("loads");
    let empty = Digest {
        scope: TeamFilter::All,
        overdue: vec![],
        due_soon: vec![],
        possible_repeats: vec![],
        counts: DigestCounts::default(),
        failed_mail: vec![],
        timeliness: Timeliness {
            in_time: 0,
            late: 0,
            pending: 0,
            ..digest().timeliness
        },
        ..digest()
    };
    let out = t.render_digest(&empty, &head()).expect("renders");
    assert!(
        out.text.contains("Nothing is open, waiting or new."),
        "{}",
        out.text
    );
    assert!(out.text.contains("nothing to measure yet"), "{}", out.text);
    assert!(!out.text.contains("OVERDUE"), "{}", out.text);
    assert_eq!(
        out.subject,
        "Example Borough Council information requests, Wednesday 25 March 2026: 0 overdue, 0 due soon, 0 new"
    );
}

#[test]
fn chaser_wording_table() {
    let t = Letters::load(&shipped_dir()).expect("loads");
    let a = Some("officer@example.gov.uk");
    let table = [
        (
            chaser(Slot::Before(5), Escalation::None, a, 5, 0),
            "[FOI-2026-000001] Reminder: Freedom of Information request due Friday 20 March 2026 (5 working days left)",
            vec!["5 working days left, including the due date."],
            vec!["copied", "no officer"],
        ),
        (
            chaser(Slot::Before(1), Escalation::Manager, None, 1, 0),
            "[FOI-2026-000001] Reminder: Freedom of Information request due Friday 20 March 2026 (1 working day left)",
            vec![
                "no officer allocated",
                "because nobody has the case",
                "1 working day left",
            ],
            vec!["late."],
        ),
        (
            chaser(Slot::OnDay, Escalation::None, a, 0, 0),
            "[FOI-2026-000001] Due today: Freedom of Information request",
            vec!["The response is due today."],
            vec!["copied"],
        ),
        (
            chaser(Slot::Overdue(2), Escalation::Manager, a, 0, 3),
            "[FOI-2026-000001] OVERDUE by 3 working days: Freedom of Information request was due Friday 20 March 2026",
            vec!["3 working days late", "because the case is late"],
            vec!["head of service"],
        ),
        (
            chaser(Slot::Overdue(6), Escalation::HeadOfService, a, 0, 6),
            "[FOI-2026-000001] OVERDUE by 6 working days: Freedom of Information request was due Friday 20 March 2026",
            vec!["the head of service are copied because the case is 6 working days late"],
            vec!["no officer"],
        ),
    ];
    for (c, subject, has, lacks) in table {
        let out = t.render_chaser(&c, &head()).expect("renders");
        assert_eq!(out.subject, subject);
        for h in has {
            assert!(
                out.text.contains(h),
                "{subject}: text lacks {h:?}:\n{}",
                out.text
            );
        }
        for l in lacks {
            assert!(
                !out.text.contains(l),
                "{subject}: text has {l:?}:\n{}",
                out.text
            );
        }
        assert!(out.html.contains("FOI-2026-000001"));
        assert!(
            out.text.ends_with("foi@council.example.gov.uk\n"),
            "{:?}",
            out.text
        );
    }
}

fn copy_shipped(to: &Path) {
    for file in crate::letters::template_files() {
        let dest = to.join(&file);
        std::fs::create_dir_all(dest.parent().expect("in a folder")).expect("mkdir");
        std::fs::copy(shipped_dir().join(&file), dest).expect("copy");
    }
}

/// A load error's file, relative to the template directory.
fn relative(e: &TemplateError, dir: &Path) -> String {
    e.file
        .strip_prefix(dir)
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[test]
fn load_reports_every_error_with_file_and_line() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    copy_shipped(dir);
    // A misspelt variable on line 2, a syntax error, a missing file and bad UTF-8.
    std::fs::write(dir.join(CHASER_TEXT), "Hello,\n{{ refrence }}\n").expect("write");
    std::fs::write(dir.join(DIGEST_HTML), "<p>{% if %}</p>\n").expect("write");
    std::fs::remove_file(dir.join(DIGEST_SUBJECT)).expect("rm");
    std::fs::write(dir.join(CHASER_HTML), [0xff, 0xfe]).expect("write");
    let errs = Letters::load(dir).expect_err("broken").0;
    let files: Vec<String> = errs.iter().map(|e| relative(e, dir)).collect();
    // Read errors and syntax errors are reported together, before any sample render.
    assert_eq!(
        files,
        [DIGEST_SUBJECT, DIGEST_HTML, CHASER_HTML],
        "{errs:?}"
    );
    assert_eq!(errs[1].line, Some(1), "{errs:?}");
    assert!(errs[2].message.contains("UTF-8"), "{errs:?}");

    // With the files fixed, the misspelt variable is found by the sample render, with its line.
    copy_shipped(dir);
    std::fs::write(dir.join(CHASER_TEXT), "Hello,\n{{ refrence }}\n").expect("write");
    std::fs::write(
        dir.join(DIGEST_TEXT),
        "{% for e in overdue %}{{ e.referance }}{% endfor %}\n",
    )
    .expect("write");
    let errs = Letters::load(dir).expect_err("typos").0;
    let found: Vec<(String, Option<usize>)> =
        errs.iter().map(|e| (relative(e, dir), e.line)).collect();
    assert_eq!(
        found,
        [
            (DIGEST_TEXT.to_string(), Some(1)),
            (CHASER_TEXT.to_string(), Some(2))
        ],
        "{errs:?}"
    );
    assert!(
        errs.iter().all(|e| e.message.contains("undefined")),
        "{errs:?}"
    );
}

#[test]
fn oversized_template_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    copy_shipped(tmp.path());
    let big = "x".repeat(usize::try_from(MAX_TEMPLATE_BYTES).expect("fits") + 1);
    std::fs::write(tmp.path().join(DIGEST_TEXT), big).expect("write");
    let errs = Letters::load(tmp.path()).expect_err("too big").0;
    assert_eq!(errs.len(), 1);
    assert!(errs[0].message.contains("at most"), "{errs:?}");
}

#[test]
fn one_loader_needs_every_family() {
    // The shipped set loads as one registry, acknowledgements and staff letters together.
    Letters::load(&shipped_dir()).expect("the shipped templates load");
    // Without the staff letters' folders, the acknowledgements alone do not make a registry.
    let tmp = tempfile::tempdir().expect("tempdir");
    copy_shipped(tmp.path());
    std::fs::remove_dir_all(tmp.path().join(ASSIGNMENT)).expect("rm");
    let errs = Letters::load(tmp.path()).expect_err("assignment missing").0;
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].message.contains("missing"), "{errs:?}");
}

#[test]
fn requester_text_cannot_reach_a_template_and_dates_read_in_words() {
    let table = [
        (day(2026, 12, 21), "Monday 21 December 2026"),
        (day(2026, 3, 1), "Sunday 1 March 2026"),
    ];
    for (d, want) in table {
        assert_eq!(date_in_words(d), want);
    }
    // A template-looking assignee is printed, not run.
    let t = Letters::load(&shipped_dir()).expect("loads");
    let c = chaser(Slot::OnDay, Escalation::None, Some("{{ 7*7 }}@x"), 0, 0);
    let ctx = chaser_context(&c, &head());
    assert_eq!(
        ctx.get_attr("assignee").ok().map(|v| v.to_string()),
        Some("{{ 7*7 }}@x".to_string())
    );
    let out = t.render_chaser(&c, &head()).expect("renders");
    assert!(!out.text.contains("49"), "{}", out.text);
}

// ---- Pinned wording: the assignment email, the command reply and `#help`, exactly as sent
// before they became templates. A change to the shipped templates shows up here.

/// `#help` as shipped, word for word.
const SHIPPED_HELP: &str = "\
Reply to the assignment email with one command per line, above the quoted text:

#assign alice                    give the case to a member of staff (handle or address)
#reclassify eir                  change the kind (foi, eir, sar, media, member, complaint, general); the due date is recomputed
#clarify [what you asked]        you asked the requester to clarify (EIR: further particulars); the clock stops
#id [note]                       you asked for proof of identity (subject access only); the clock stops
#fee [note]                      you sent a fees notice; the clock stops until payment
#answer [YYYY-MM-DD]             the clarification, ID or fee arrived (today unless dated); the clock restarts
#extend reason                   extend where the law allows (FOIA public interest, EIR reg 7, SAR two months)
#responded [YYYY-MM-DD]          the response was sent (today unless dated)
#close provided|part|refused|not-held|withdrawn|lapsed [exemptions]
                                 close with an outcome, e.g. #close refused s.40(2) s.43
#reopen                          reopen a closed or responded case
#note text                       add a note to the case file
#repeat FOI-2026-000001 [why]    flag as a possible repeat of another case
#vexatious reason                flag as possibly vexatious, for a human decision
#help                            this list

Commands are not case-sensitive. Nothing below the quoted history or a signature is read.";

fn staff_letter(body: LetterBody) -> Letter {
    Letter {
        case: Some(r(7)),
        to: vec!["alice@example.gov.uk".into()],
        cc: vec![],
        reply_to: Some("foi+FOI-2026-000007.tok@council.example.gov.uk".into()),
        message_id: "m1@council.example.gov.uk".into(),
        in_reply_to: Some("cmd@example.gov.uk".into()),
        attach_original: Some("hash".into()),
        body,
    }
}

fn assignment() -> AssignmentLetter {
    AssignmentLetter {
        reference: r(7),
        kind: Kind::Foi,
        team_name: "Planning & <Roads>".into(),
        received: Some(day(2026, 11, 23)),
        due: Some(day(2026, 12, 21)),
        internal_target: Some(day(2026, 12, 14)),
        state: CaseState::Open,
        valid: Some(true),
        missing: vec![],
        why: "subject mentions {{ potholes }}".into(),
        original_attached: true,
        identity: None,
        language: Language::English,
    }
}

#[test]
fn an_assignment_says_when_the_requester_wrote_in_welsh() {
    let letters = Letters::load(&shipped_dir()).expect("templates load");
    let text = |language| {
        let a = AssignmentLetter {
            language,
            ..assignment()
        };
        let letter = staff_letter(LetterBody::Assignment(a));
        letters
            .render_staff(&letter, &head())
            .expect("renders")
            .text
    };
    let welsh = text(Language::Welsh);
    assert!(
        welsh.contains("\nLanguage: the requester wrote in Welsh. Where the Welsh Language Standards apply, the response is due in Welsh.\n"),
        "{welsh}"
    );
    let bilingual = text(Language::Bilingual);
    assert!(
        bilingual.contains("Language: the requester wrote in Welsh and English."),
        "{bilingual}"
    );
    for other in [Language::English, Language::Unknown] {
        assert!(!text(other).contains("Language:"), "{other}");
    }
}

#[test]
fn an_assignment_tells_the_officer_how_a_sars_identity_stands() {
    let letters = Letters::load(&shipped_dir()).expect("templates load");
    let text = |identity| {
        let a = AssignmentLetter {
            kind: Kind::Sar,
            identity,
            ..assignment()
        };
        let letter = staff_letter(LetterBody::Assignment(a));
        letters
            .render_staff(&letter, &head())
            .expect("renders")
            .text
    };
    let verifiable = text(Some(IdentityState::Verifiable));
    assert!(
        verifiable.contains("Identity: no document; the requester gave details we can check"),
        "{verifiable}"
    );
    assert!(verifiable.contains("Ask for ID only if they do not match"));
    let provided = text(Some(IdentityState::Provided));
    assert!(
        provided.contains("Identity: a document is attached"),
        "{provided}"
    );
    for none in [text(None), text(Some(IdentityState::Missing))] {
        assert!(
            !none.contains("Identity:"),
            "the missing item says it already: {none}"
        );
    }
}

/// (assignment, subject, text before the help).
fn assignment_table() -> Vec<(AssignmentLetter, &'static str, &'static str)> {
    vec![
        (
            assignment(),
            "[FOI-2026-000007] Assigned: foi request, due Mon 21 Dec 2026",
            "Case FOI-2026-000007 (foi) is assigned to you (team: Planning & <Roads>).\n\n\
             Received: Monday 23 November 2026\nDue: Monday 21 December 2026\n\
             Internal target: Monday 14 December 2026\nValidity: valid\n\
             Routed because: subject mentions {{ potholes }}\n\n\
             The original message is attached.\n\n\
             To act on the case, REPLY to this email with one command per line at the top of your \
             reply. Only replies from staff addresses to this email's reply address are accepted.\n\n",
        ),
        (
            AssignmentLetter {
                kind: Kind::Sar,
                received: None,
                due: None,
                internal_target: None,
                state: CaseState::AwaitingId,
                valid: Some(false),
                missing: vec!["identity".into(), "description".into()],
                original_attached: false,
                ..assignment()
            },
            "[FOI-2026-000007] Assigned: sar request",
            "Case FOI-2026-000007 (sar) is assigned to you (team: Planning & <Roads>).\n\n\
             Received: \nClock: not running (awaiting_id)\n\
             Validity: not yet valid (missing: identity, description)\n\
             Routed because: subject mentions {{ potholes }}\n\n\
             The original message is in the shared mailbox's Triage folders.\n\n\
             To act on the case, REPLY to this email with one command per line at the top of your \
             reply. Only replies from staff addresses to this email's reply address are accepted.\n\n",
        ),
        (
            AssignmentLetter {
                kind: Kind::Complaint,
                internal_target: None,
                valid: None,
                ..assignment()
            },
            "[FOI-2026-000007] Assigned: complaint request, due Mon 21 Dec 2026",
            "Case FOI-2026-000007 (complaint) is assigned to you (team: Planning & <Roads>).\n\n\
             Received: Monday 23 November 2026\nDue: Monday 21 December 2026\n\
             Validity: no statutory validity test\n\
             Routed because: subject mentions {{ potholes }}\n\n\
             The original message is attached.\n\n\
             To act on the case, REPLY to this email with one command per line at the top of your \
             reply. Only replies from staff addresses to this email's reply address are accepted.\n\n",
        ),
        (
            AssignmentLetter {
                internal_target: Some(day(2026, 12, 1)),
                due: None,
                state: CaseState::AwaitingClarification,
                valid: Some(false),
                missing: vec!["description".into()],
                ..assignment()
            },
            "[FOI-2026-000007] Assigned: foi request",
            "Case FOI-2026-000007 (foi) is assigned to you (team: Planning & <Roads>).\n\n\
             Received: Monday 23 November 2026\nClock: not running (awaiting_clarification)\n\
             Internal target: Tuesday 1 December 2026\n\
             Validity: not yet valid (missing: description)\n\
             Routed because: subject mentions {{ potholes }}\n\n\
             The original message is attached.\n\n\
             To act on the case, REPLY to this email with one command per line at the top of your \
             reply. Only replies from staff addresses to this email's reply address are accepted.\n\n",
        ),
    ]
}

#[test]
fn assignment_email_wording_is_pinned() {
    let t = Letters::load(&shipped_dir()).expect("loads");
    for (a, subject, text) in assignment_table() {
        let letter = staff_letter(LetterBody::Assignment(a));
        let mail = t.render_staff(&letter, &head()).expect("renders");
        assert_eq!(mail.subject, subject);
        assert_eq!(mail.text, format!("{text}{SHIPPED_HELP}\n"), "{subject}");
        assert_eq!(mail.html, None, "{subject}");
        assert_eq!(mail.to, letter.to);
        assert_eq!(mail.cc, letter.cc);
        assert_eq!(mail.reply_to, letter.reply_to);
        assert_eq!(mail.message_id, letter.message_id);
        assert_eq!(mail.in_reply_to, letter.in_reply_to);
        assert_eq!(mail.attach_original, letter.attach_original);
    }
}

fn line(
    n: usize,
    text: &str,
    outcome: CommandOutcome,
) -> crate::core::plan::letter::CommandLineResult {
    crate::core::plan::letter::CommandLineResult {
        line: n,
        text: text.into(),
        outcome,
    }
}

#[test]
fn command_reply_wording_is_pinned() {
    let t = Letters::load(&shipped_dir()).expect("loads");
    let reply = |lines, state, due| CommandReply {
        reference: r(7),
        lines,
        state,
        due,
    };
    let table = [
        (
            reply(vec![], CaseState::Open, Some(day(2026, 12, 21))),
            "[FOI-2026-000007] Your command",
            "No command found: commands are lines starting with # at the top of your reply.\n\n\
             Case FOI-2026-000007 is now: open; due Monday 21 December 2026.\n"
                .to_string(),
        ),
        (
            reply(
                vec![line(1, "#note {{ 7*7 }} <b>", CommandOutcome::Done)],
                CaseState::AwaitingClarification,
                None,
            ),
            "[FOI-2026-000007] Your command",
            "line 1: done: #note {{ 7*7 }} <b>\n\n\
             Case FOI-2026-000007 is now: awaiting_clarification.\n"
                .to_string(),
        ),
        (
            reply(
                vec![
                    line(
                        1,
                        "#assign bob",
                        CommandOutcome::NotDone("bob is not staff".into()),
                    ),
                    line(
                        2,
                        "#frobnicate",
                        CommandOutcome::NotUnderstood("unknown command".into()),
                    ),
                    line(3, "#help", CommandOutcome::Help),
                    line(5, "#responded", CommandOutcome::Done),
                ],
                CaseState::Responded,
                Some(day(2026, 12, 21)),
            ),
            "[FOI-2026-000007] Your commands",
            format!(
                "line 1: NOT done: #assign bob: bob is not staff\n\
                 line 2: NOT understood: #frobnicate: unknown command\n\
                 {SHIPPED_HELP}\n\
                 line 5: done: #responded\n\n\
                 Case FOI-2026-000007 is now: responded; due Monday 21 December 2026.\n"
            ),
        ),
    ];
    for (r, subject, text) in table {
        let mail = t
            .render_staff(&staff_letter(LetterBody::CommandReply(r)), &head())
            .expect("renders");
        assert_eq!(mail.subject, subject);
        assert_eq!(mail.text, text, "{subject}");
        assert_eq!(mail.html, None);
    }
}

#[test]
fn help_is_the_shipped_text() {
    let t = Letters::load(&shipped_dir()).expect("loads");
    assert_eq!(t.help_text().expect("renders"), SHIPPED_HELP);
    // The copy compiled into core, for callers without a registry, is the same file.
    assert_eq!(crate::core::actions::help_text(), SHIPPED_HELP);
}

#[test]
fn staff_kind_labels_differ_from_the_requesters_only_where_meant() {
    use crate::letters::compose::kind_label as requester_label;
    let table = [
        (
            Kind::Foi,
            "Freedom of Information request",
            "Freedom of Information request",
        ),
        (
            Kind::Eir,
            "Environmental Information request",
            "Environmental Information request",
        ),
        (
            Kind::Sar,
            "subject access request",
            "subject access request",
        ),
        (Kind::Media, "media enquiry", "media enquiry"),
        (Kind::MemberEnquiry, "member enquiry", "member enquiry"),
        (Kind::Complaint, "complaint", "complaint"),
        (Kind::General, "general enquiry", "enquiry"),
        (Kind::Auto, "automatic mail", "message"),
    ];
    for (kind, staff, requester) in table {
        assert_eq!(kind_label(kind), staff, "{kind}");
        assert_eq!(requester_label(kind), requester, "{kind}");
    }
}

#[test]
fn a_digest_lists_messages_that_need_human_triage_without_personal_data() {
    let t = Letters::load(&shipped_dir()).expect("loads");
    let plain = t.render_digest(&digest(), &head()).expect("renders");
    assert!(!plain.text.contains("NEEDS HUMAN TRIAGE"), "{}", plain.text);
    let at = Utc.with_ymd_and_hms(2026, 3, 24, 9, 0, 0).unwrap();
    let d = Digest {
        needs_human_triage: vec![crate::model::records::NeedsTriage {
            at,
            mailbox: "INBOX".into(),
            uidvalidity: 7,
            uid: 41,
            content_hash: "0123456789abcdef0123".into(),
            why: "processing died 2 times on this message".into(),
        }],
        ..digest()
    };
    let out = t.render_digest(&d, &head()).expect("renders");
    for text in [&out.text, &out.html] {
        assert!(
            text.contains("2026-03-24 INBOX UID 41 (0123456789ab): processing died 2"),
            "{text}"
        );
    }
    assert!(out.text.contains("NEEDS HUMAN TRIAGE"), "{}", out.text);
    assert!(out.html.contains("<h2>Needs human triage"), "{}", out.html);
}

/// Failed outbox rows get their own section (count, references, row ids), in both parts; a
/// digest without any has no such section.
#[test]
fn failed_mail_is_listed_in_the_digest() {
    let t = Letters::load(&shipped_dir()).expect("loads");
    let with_failed = Digest {
        failed_mail: vec![
            crate::core::digest::FailedMail {
                row: 17,
                case: Some(r(3)),
                what: "acknowledgement".into(),
                queued: day(2026, 3, 24),
            },
            crate::core::digest::FailedMail {
                row: 18,
                case: None,
                what: "staff_mail".into(),
                queued: day(2026, 3, 25),
            },
        ],
        ..digest()
    };
    let out = t.render_digest(&with_failed, &head()).expect("renders");
    for want in [
        "MAIL NOT SENT (2;",
        "- FOI-2026-000003: acknowledgement queued 2026-03-24 (outbox row 17)",
        "- no case: staff mail queued 2026-03-25 (outbox row 18)",
    ] {
        assert!(
            out.text.contains(want),
            "text lacks {want:?}:\n{}",
            out.text
        );
    }
    for want in [
        "<h2>Mail not sent (2)</h2>",
        "<li>FOI-2026-000003: acknowledgement queued 2026-03-24 (outbox row 17)</li>",
    ] {
        assert!(
            out.html.contains(want),
            "html lacks {want:?}:\n{}",
            out.html
        );
    }
    let without = t.render_digest(&digest(), &head()).expect("renders");
    assert!(!without.text.contains("MAIL NOT SENT"), "{}", without.text);
    assert!(!without.html.contains("Mail not sent"), "{}", without.html);
}

#[test]
fn refusal_notice_wording_is_pinned_and_never_names_a_stranger() {
    let t = Letters::load(&shipped_dir()).expect("loads");
    let at = Utc
        .with_ymd_and_hms(2026, 7, 10, 13, 5, 0)
        .single()
        .expect("instant");
    let notice = |code, sender| RefusalNotice {
        reference: r(7),
        at,
        code,
        why: "the reply address was sent to alice@council.example and works only from that address"
            .into(),
        sender,
    };
    let letter = |n| Letter {
        case: Some(r(7)),
        to: vec!["alice@council.example".into()],
        cc: Vec::new(),
        reply_to: Some("foi+FOI-2026-000007.abc.0123@council.example".into()),
        message_id: "notice-1@council.example".into(),
        in_reply_to: None,
        attach_original: None,
        body: LetterBody::CommandRefused(n),
    };
    // (notice, a line the text must have)
    let table = [
        (
            notice(
                "other_recipient",
                RefusedSender::Staff("bob@council.example".into()),
            ),
            "It came from bob@council.example (on the staff list).",
        ),
        (
            notice("not_staff", RefusedSender::Requester),
            "It came from the case's requester.",
        ),
        (
            notice("bad_token", RefusedSender::Other),
            "It came from an address that is not on the staff list and not the requester's.",
        ),
    ];
    for (n, line) in table {
        let mail = t
            .render_staff(&letter(n.clone()), &head())
            .expect("renders");
        assert_eq!(
            mail.subject,
            "[FOI-2026-000007] A command by email was refused"
        );
        assert_eq!(mail.to, ["alice@council.example"]);
        assert_eq!(mail.html, None, "text only, like every command letter");
        assert!(
            mail.text.starts_with(
                "A message sent to a reply address of case FOI-2026-000007 on Friday 10 July 2026 \
                 at 14:05 was not accepted as a command.\n\nWhy: the reply address was sent to \
                 alice@council.example and works only from that address.\n\n"
            ),
            "{}",
            mail.text
        );
        assert!(mail.text.contains(line), "{}", mail.text);
        assert!(
            mail.text.ends_with(
                "At most one such notice goes out per case every 24 hours; every refusal is in \
                 the case's history (command_refused).\n"
            ),
            "{}",
            mail.text
        );
    }
}

#[test]
fn unverified_answers_are_listed_in_the_digest() {
    let t = Letters::load(&shipped_dir()).expect("loads");
    let waiting = DigestEntry {
        state: CaseState::AwaitingClarification,
        ..entry(9, None, None, Some("a@example.gov.uk"))
    };
    let mut d = digest();
    d.waiting_on_requester = vec![waiting.clone()];
    d.unverified_answers = vec![waiting];
    d.counts.waiting_on_requester = 1;
    d.counts.unverified_answers = 1;
    let out = t.render_digest(&d, &head()).expect("renders");
    for want in [
        "Answers not verified: 1.",
        "ANSWER NOT VERIFIED (the requester's address replied while the case waited",
        "send #answer if it is genuine)\n- FOI-2026-000009 (foi, awaiting clarification)",
    ] {
        assert!(
            out.text.contains(want),
            "text lacks {want:?}:\n{}",
            out.text
        );
    }
    for want in [
        "Answers not verified: 1.",
        "<h2>Answer not verified (",
        "<tr><td>FOI-2026-000009</td><td>foi</td><td>awaiting clarification</td>",
    ] {
        assert!(
            out.html.contains(want),
            "html lacks {want:?}:\n{}",
            out.html
        );
    }
    // None: no section, no count.
    let out = t.render_digest(&digest(), &head()).expect("renders");
    assert!(!out.text.contains("NOT VERIFIED"), "{}", out.text);
    assert!(!out.text.contains("not verified"), "{}", out.text);
    assert!(!out.html.contains("not verified"), "{}", out.html);
}

/// The machine-mail list, in a digest and on its own: sender, subject and why as data (escaped
/// in HTML, never run), the exact command, and no section when there is nothing.
#[test]
fn machine_mail_is_listed_with_its_command_in_the_digest_and_on_its_own() {
    let t = Letters::load(&shipped_dir()).expect("loads");
    let plain = t.render_digest(&digest(), &head()).expect("renders");
    assert!(!plain.text.contains("MACHINE MAIL"), "{}", plain.text);
    let lines = samples::machine_lines();
    let d = Digest {
        machine_mail: lines.clone(),
        ..digest()
    };
    let in_digest = t.render_digest(&d, &head()).expect("renders");
    let list = MachineMailList {
        team_name: "Information Governance".into(),
        today: day(2026, 3, 3),
        since: None,
        lines,
        keep_days: 30,
    };
    let own = t.render_machine_mail(&list, &head()).expect("renders");
    assert_eq!(
        own.subject,
        "Example Borough Council: 2 messages filed as machine mail, not cases (2026-03-03)"
    );
    let command = "foi-triage case open-from M-2026-000041 --kind general --by boss@example.gov.uk";
    for out in [&in_digest, &own] {
        for text in [&out.text, &out.html] {
            assert!(text.contains("M-2026-000041"), "{text}");
            assert!(text.contains("jo@example.org"), "{text}");
            assert!(text.contains("auto won: auto.auto-submitted 100"), "{text}");
            assert!(text.contains(command), "{text}");
            assert!(text.contains("2026-03-02 14:05"), "{text}");
        }
        assert!(
            out.text.contains("Automatic reply: {{ 7*7 }} <b>away</b>"),
            "{}",
            out.text
        );
        assert!(
            out.html.contains("{{ 7*7 }} &lt;b&gt;away&lt;&#x2f;b&gt;"),
            "{}",
            out.html
        );
        assert!(!out.html.contains("<b>away"), "{}", out.html);
    }
    assert!(
        in_digest
            .text
            .contains("FILED AS MACHINE MAIL, NOT CASES (2;"),
        "{}",
        in_digest.text
    );
    assert!(
        own.text.contains("for Information Governance"),
        "{}",
        own.text
    );
    assert!(own.text.contains("kept here for 30 days"), "{}", own.text);
    // Rendered through the registry as the scheduler sends it: to the manager, no case.
    let letter = Letter {
        case: None,
        to: vec!["boss@example.gov.uk".into()],
        cc: vec![],
        reply_to: None,
        message_id: "m2@council.example.gov.uk".into(),
        in_reply_to: None,
        attach_original: None,
        body: LetterBody::MachineMail(list),
    };
    let mail = t.render_staff(&letter, &head()).expect("renders");
    assert_eq!(mail.subject, own.subject);
    assert_eq!(mail.html.as_deref(), Some(own.html.as_str()));
}

/// The answer to an emailed `#open`, for each outcome: the case made (its reference in the
/// subject, so replies thread onto it), or why nothing was.
#[test]
fn the_answer_to_an_emailed_open_says_what_came_of_it() {
    use crate::core::plan::machine::by_mail::{MachineMailReply, OpenLine, OpenOutcome};
    let t = Letters::load(&shipped_dir()).expect("loads");
    let id = crate::model::machine::MachineMailId::new(2026, 42).expect("id");
    let line = Some(OpenLine {
        line: 2,
        text: "#open foi".into(),
    });
    let table = [
        (
            OpenOutcome::Opened {
                case: r(9),
                kind: Kind::Foi,
                due: Some(day(2026, 4, 1)),
            },
            "[FOI-2026-000009] opened from M-2026-000042",
            "Done: M-2026-000042 is now case FOI-2026-000009 (Freedom of Information request). Its clock counts from the day we received the message: due Wednesday 1 April 2026 (2026-04-01).",
        ),
        (
            OpenOutcome::AlreadyOpened {
                case: r(9),
                by: "alice@example.gov.uk".into(),
            },
            "[FOI-2026-000009] M-2026-000042 was already opened",
            "Not done: M-2026-000042 was already opened as FOI-2026-000009 by alice@example.gov.uk.",
        ),
        (
            OpenOutcome::NotKept,
            "M-2026-000042 not opened",
            "Not done: M-2026-000042 is no longer kept",
        ),
        (
            OpenOutcome::NotUnderstood("\"fio\" is not a kind of case".into()),
            "M-2026-000042 not opened",
            "Not understood: \"fio\" is not a kind of case.",
        ),
    ];
    for (outcome, subject, says) in table {
        let letter = Letter {
            case: None,
            to: vec!["boss@example.gov.uk".into()],
            cc: vec![],
            reply_to: None,
            message_id: "m3@council.example.gov.uk".into(),
            in_reply_to: Some("open@example.gov.uk".into()),
            attach_original: None,
            body: LetterBody::MachineMailReply(MachineMailReply {
                id,
                line: line.clone(),
                outcome,
            }),
        };
        let mail = t.render_staff(&letter, &head()).expect("renders");
        assert_eq!(mail.subject, subject);
        assert!(
            mail.text.starts_with("Line 2: #open foi\n"),
            "{}",
            mail.text
        );
        assert!(mail.text.contains(says), "{}", mail.text);
        assert_eq!(mail.html, None);
    }
}
