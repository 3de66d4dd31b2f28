//! Engine tests with inline rule sources: matching semantics, scoring, explanations, loading and
//! error reporting. The default rule set and real mail are tested in `acceptance.rs`.

use super::*;
use crate::model::message::{Address, Attachment, MachineHeaders};
use proptest::prelude::*;

/// The smallest auto rule set that passes the "machine mail must be detectable" check.
const AUTO: &str = r#"
[[rule]]
id = "auto.base"
kind = "auto"
weight = 100
description = "Auto-Submitted says a machine sent it"
headers = { "auto-submitted" = '^\s*auto-' }
"#;

fn set(rules: &str) -> RuleSet {
    match RuleSet::from_sources(&[("auto.toml", AUTO), ("t.toml", rules)]) {
        Ok(s) => s,
        Err(e) => panic!("rules did not load:\n{e}"),
    }
}

fn errs(sources: &[(&str, &str)]) -> Vec<RuleError> {
    match RuleSet::from_sources(sources) {
        Ok(_) => panic!("expected errors"),
        Err(e) => e.errors,
    }
}

fn addr(email: &str) -> Address {
    Address {
        name: None,
        email: email.into(),
    }
}

fn named(name: &str, email: &str) -> Address {
    Address {
        name: Some(name.into()),
        email: email.into(),
    }
}

fn pat(text: &str) -> PatternInfo {
    PatternInfo {
        text: text.into(),
        list: None,
    }
}

fn mail(subject: &str, body: &str) -> Message {
    Message {
        from: Some(addr("jane@example.org")),
        subject: subject.into(),
        body_text: body.into(),
        ..Message::default()
    }
}

fn rule(id: &str, kind: &str, weight: i32, conditions: &str) -> String {
    format!(
        "[[rule]]\nid = \"{id}\"\nkind = \"{kind}\"\nweight = {weight}\ndescription = \"{id} desc\"\n{conditions}\n\n"
    )
}

#[test]
fn and_across_fields_or_within_a_field() {
    let s = set(&rule(
        "foi.x",
        "foi",
        50,
        "subject = [\"request\", \"enquiry\"]\nbody = \"please provide\"",
    ));
    let cases = [
        ("Information request", "Please provide the figures", true),
        ("An enquiry", "please   provide\nthe figures", true),
        ("Information request", "Send me the figures", false),
        ("Hello", "Please provide the figures", false),
        ("requests", "please provide", false), // whole words only
    ];
    for (subject, body, fires) in cases {
        let d = s.classify(&mail(subject, body));
        assert_eq!(d.fired("foi.x"), fires, "{subject:?} / {body:?}: {}", d.why);
        assert_eq!(d.kind == Kind::Foi, fires, "{subject:?} / {body:?}");
    }
}

#[test]
fn regex_and_phrase_keys_on_one_field_are_separate_conditions() {
    let s = set(&rule(
        "foi.x",
        "foi",
        50,
        "subject = \"request\"\nsubject_regex = '^foi\\b'",
    ));
    assert!(s.classify(&mail("FOI request", "")).fired("foi.x"));
    assert!(!s.classify(&mail("My request", "")).fired("foi.x"));
    assert!(!s.classify(&mail("FOI", "")).fired("foi.x"));
}

#[test]
fn unless_blocks_when_any_unless_condition_matches() {
    let s = set(&rule(
        "auto.oof",
        "auto",
        100,
        "subject = \"out of office\"\nunless_subject_regex = '^re:\\s*complaint'\nunless_body = \"formal complaint\"",
    ));
    let cases = [
        ("Out of office", "back monday", true),
        ("RE: complaint - out of office staff", "back monday", false),
        ("Out of office", "this is a formal complaint", false),
        ("Out of office", "a formally complaint", true),
    ];
    for (subject, body, fires) in cases {
        let d = s.classify(&mail(subject, body));
        assert_eq!(d.fired("auto.oof"), fires, "{subject:?} / {body:?}");
        assert_eq!(d.kind == Kind::Auto, fires);
    }
}

#[test]
fn negative_weights_vote_against() {
    let rules = rule("foi.act", "foi", 50, "body = \"freedom of information\"")
        + &rule("foi.not-env", "foi", -40, "body = \"planning\"")
        + &rule("eir.planning", "eir", 45, "body = \"planning\"");
    let s = set(&rules);
    let d = s.classify(&mail("", "Under freedom of information, planning files"));
    assert_eq!(d.kind, Kind::Eir, "{}", d.why);
    assert_eq!(d.score(Kind::Foi), 10);
    assert_eq!(d.score(Kind::Eir), 45);
    assert_eq!(d.scores, vec![(Kind::Eir, 45), (Kind::Foi, 10)]);
    let d = s.classify(&mail("", "Under freedom of information, bin collection"));
    assert_eq!(d.kind, Kind::Foi);
    assert_eq!(d.score(Kind::Foi), 50);
}

#[test]
fn auto_threshold_is_a_sum_and_wins_over_everything() {
    let rules = rule("auto.weak-a", "auto", 60, "subject = \"out of office\"")
        + &rule("auto.weak-b", "auto", 60, "body = \"automatic reply\"")
        + &rule("foi.act", "foi", 500, "body = \"freedom of information\"");
    let s = set(&rules);
    let cases = [
        (
            "Out of office",
            "automatic reply. freedom of information",
            Kind::Auto,
        ),
        ("Out of office", "freedom of information", Kind::Foi),
        ("Hi", "automatic reply; freedom of information", Kind::Foi),
        ("Hi", "automatic reply", Kind::General),
    ];
    for (subject, body, want) in cases {
        let d = s.classify(&mail(subject, body));
        assert_eq!(d.kind, want, "{subject:?} / {body:?}: {}", d.why);
    }
    let d = s.classify(&mail("Out of office", "automatic reply"));
    assert_eq!(d.score(Kind::Auto), 120);
    assert_eq!(
        d.why,
        "auto scored 120, at or above the threshold 100 (auto.weak-a 60, auto.weak-b 60): \
         machine mail, never acknowledged."
    );
}

#[test]
fn settings_change_thresholds() {
    let rules = "[settings]\nauto_threshold = 50\nmin_score = 70\n\n".to_string()
        + &rule("auto.weak", "auto", 60, "subject = \"out of office\"")
        + &rule("foi.act", "foi", 60, "body = \"freedom of information\"");
    let s = set(&rules);
    assert_eq!(
        s.settings(),
        RuleSettings {
            auto_threshold: 50,
            min_score: 70
        }
    );
    assert_eq!(s.classify(&mail("Out of office", "")).kind, Kind::Auto);
    let d = s.classify(&mail("", "freedom of information"));
    assert_eq!(d.kind, Kind::General);
    assert_eq!(
        d.why,
        "general: no kind reached the minimum score 70 (best: foi 60: foi.act 60); auto scored 0 \
         below threshold 50."
    );
}

#[test]
fn ties_are_broken_by_priority() {
    // Every pair of kinds with equal scores: the one earlier in the priority order wins.
    let order = [
        "sar",
        "eir",
        "foi",
        "complaint",
        "member_enquiry",
        "media",
        "general",
    ];
    for (i, a) in order.iter().enumerate() {
        for b in &order[i + 1..] {
            let rules =
                rule("r.a", a, 40, "body = \"alpha\"") + &rule("r.b", b, 40, "body = \"beta\"");
            let s = set(&rules);
            let d = s.classify(&mail("", "beta alpha"));
            assert_eq!(d.kind.as_str(), *a, "{a} vs {b}: {}", d.why);
            assert!(d.why.contains("a tie broken by priority"), "{}", d.why);
            assert_eq!(d.scores[0].0.as_str(), *a);
            assert_eq!(d.scores[1].0.as_str(), *b);
        }
    }
}

#[test]
fn explanations() {
    let rules = rule(
        "foi.act-named",
        "foi",
        50,
        "body = \"freedom of information\"",
    ) + &rule("foi.please-provide", "foi", 30, "body = \"please provide\"")
        + &rule("complaint.unhappy", "complaint", 20, "body = \"unhappy\"")
        + &rule("auto.weak", "auto", 40, "body = \"do not reply\"");
    let s = set(&rules);
    let cases = [
        ("hello", "general: no rule fired."),
        (
            "unhappy",
            "general: no kind reached the minimum score 30 (best: complaint 20: complaint.unhappy 20); \
             auto scored 0 below threshold 100.",
        ),
        (
            "do not reply",
            "general: no rule for a kind of request fired; auto scored 40 below threshold 100 \
             (auto.weak 40).",
        ),
        (
            "freedom of information, please provide; unhappy",
            "foi won with 80 (foi.act-named 50, foi.please-provide 30) over complaint 20; auto \
             scored 0 below threshold 100.",
        ),
        (
            "please provide, do not reply",
            "foi won with 30 (foi.please-provide 30); auto scored 40 below threshold 100 (auto.weak 40).",
        ),
    ];
    for (body, why) in cases {
        let d = s.classify(&mail("", body));
        assert_eq!(d.why, why, "{body:?}");
    }
}

#[test]
fn fired_rules_carry_metadata_and_matched_patterns_in_order() {
    let rules = rule(
        "foi.two",
        "foi",
        30,
        "body = [\"zzz\", \"please provide\", \"disclose\"]\nsubject_regex = '^info'",
    ) + &rule("foi.one", "foi", 50, "body = \"disclose\"")
        + &rule("sar.x", "sar", 40, "body = \"my data\"")
        + &rule("auto.weak", "auto", 10, "body = \"disclose\"");
    let s = set(&rules);
    let d = s.classify(&mail(
        "Information",
        "Please disclose my data; please provide",
    ));
    let ids: Vec<&str> = d.fired.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, ["auto.weak", "sar.x", "foi.one", "foi.two"]);
    let two = d.fired.iter().find(|f| f.id == "foi.two").unwrap();
    assert_eq!(two.kind, Kind::Foi);
    assert_eq!(two.weight, 30);
    assert_eq!(two.description, "foi.two desc");
    assert_eq!(
        two.matched,
        vec![
            MatchedCondition {
                field: "body".into(),
                pattern: "please provide".into(),
                list: None,
            },
            MatchedCondition {
                field: "subject_regex".into(),
                pattern: "^info".into(),
                list: None,
            },
        ]
    );
    assert_eq!(d.kind, Kind::Foi);
    assert_eq!(
        d.scores,
        vec![(Kind::Foi, 80), (Kind::Sar, 40), (Kind::Auto, 10)]
    );
}

#[test]
fn sender_recipient_and_attachment_fields() {
    let rules = rule(
        "auto.daemon",
        "auto",
        100,
        "sender = [\"mailer-daemon\", \"postmaster\"]",
    ) + &rule("auto.noreply", "auto", 100, "sender_regex = '^no-?reply@'")
        + &rule(
            "member.parl",
            "member_enquiry",
            60,
            "sender_domain = \"parliament.uk\"",
        )
        + &rule(
            "member.cllr",
            "member_enquiry",
            60,
            "sender_name = \"cllr\"",
        )
        + &rule(
            "sar.box",
            "sar",
            60,
            "recipient = \"subject.access@council.example.gov.uk\"",
        )
        + &rule("media.rt", "media", 60, "reply_to_regex = '@newsdesk\\.'")
        + &rule("auto.ics", "auto", 100, "attachment_name_regex = '\\.ics$'")
        + &rule(
            "auto.dsn",
            "auto",
            100,
            "attachment_type = \"message/delivery-status\"",
        );
    let s = set(&rules);
    let with_from = |from: Address| Message {
        from: Some(from),
        ..Message::default()
    };
    let cases: Vec<(Message, Kind, &str)> = vec![
        (
            Message {
                reply_to: Some(addr("desk@newsdesk.example")),
                ..with_from(addr("a@b.c"))
            },
            Kind::Media,
            "media.rt",
        ),
        (
            with_from(addr("MAILER-DAEMON@mx.example.com")),
            Kind::Auto,
            "auto.daemon",
        ),
        (
            with_from(addr("postmaster@example.com")),
            Kind::Auto,
            "auto.daemon",
        ),
        (
            with_from(addr("noreply@example.com")),
            Kind::Auto,
            "auto.noreply",
        ),
        (
            with_from(addr("no-reply@example.com")),
            Kind::Auto,
            "auto.noreply",
        ),
        (
            with_from(addr("jane.smith.mp@parliament.uk")),
            Kind::MemberEnquiry,
            "member.parl",
        ),
        (
            with_from(addr("x@members.parliament.uk")),
            Kind::MemberEnquiry,
            "member.parl",
        ),
        (
            with_from(named("Cllr Jane Smith", "js@gmail.com")),
            Kind::MemberEnquiry,
            "member.cllr",
        ),
        (
            Message {
                to: vec![addr("foi@council.example.gov.uk")],
                cc: vec![addr("Subject.Access@council.example.gov.uk")],
                ..Message::default()
            },
            Kind::Sar,
            "sar.box",
        ),
        (
            Message {
                attachments: vec![Attachment {
                    name: Some("invite.ICS".into()),
                    mime_type: "application/octet-stream".into(),
                    ..Attachment::default()
                }],
                ..Message::default()
            },
            Kind::Auto,
            "auto.ics",
        ),
        (
            Message {
                attachments: vec![Attachment {
                    name: None,
                    mime_type: "message/delivery-status".into(),
                    ..Attachment::default()
                }],
                ..Message::default()
            },
            Kind::Auto,
            "auto.dsn",
        ),
    ];
    for (m, kind, id) in cases {
        let d = s.classify(&m);
        assert_eq!(d.kind, kind, "{m:?}: {}", d.why);
        assert!(d.fired(id), "{id} did not fire on {m:?}");
    }
    // Near misses.
    for m in [
        with_from(addr("notparliament.uk@gmail.com")),
        with_from(addr("jane@parliament.uk.example.com")),
        with_from(addr("reply@example.com")),
        with_from(named("Jane Cllrs", "x@y.z")),
    ] {
        assert_eq!(s.classify(&m).kind, Kind::General, "{m:?}");
    }
}

#[test]
fn headers_values_names_and_machine_fallbacks() {
    let rules = rule(
        "auto.prec",
        "auto",
        60,
        "headers = { precedence = ['^(bulk|junk|list)$'] }",
    ) + &rule("auto.list", "auto", 50, "has_headers = [\"list-id\"]")
        + &rule(
            "auto.xar",
            "auto",
            100,
            "has_headers = [\"x-autoreply\", \"x-autorespond\"]",
        )
        + &rule(
            "auto.both",
            "auto",
            1,
            "headers = { precedence = 'bulk', \"x-mailer\" = 'robot' }",
        );
    let s = set(&rules);
    let with_headers = |h: &[(&str, &str)]| Message {
        headers: h
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        ..Message::default()
    };
    let d = s.classify(&with_headers(&[
        ("precedence", "bulk"),
        ("list-id", "<x.y>"),
    ]));
    assert_eq!(d.kind, Kind::Auto);
    assert_eq!(d.score(Kind::Auto), 110);
    assert!(!d.fired("auto.both"), "needs both headers");
    let d = s.classify(&with_headers(&[
        ("precedence", "bulk"),
        ("x-mailer", "Robot 1.0"),
    ]));
    assert!(d.fired("auto.both"));
    assert_eq!(d.kind, Kind::General, "61 is below 100");
    // Any value of a repeated header may match.
    let d = s.classify(&with_headers(&[
        ("precedence", "normal"),
        ("precedence", "junk"),
    ]));
    assert!(d.fired("auto.prec"));
    // Upper-case names from a careless builder still match.
    let d = s.classify(&with_headers(&[("X-Autorespond", "yes")]));
    assert_eq!(d.kind, Kind::Auto);
    // "auto.base" reads Auto-Submitted: from the header list, or from MachineHeaders when the
    // list lacks it.
    let d = s.classify(&with_headers(&[("auto-submitted", "auto-replied")]));
    assert_eq!(d.kind, Kind::Auto);
    let d = s.classify(&with_headers(&[("auto-submitted", "no")]));
    assert_eq!(d.kind, Kind::General);
    let m = Message {
        machine: MachineHeaders {
            auto_submitted: Some("auto-generated".into()),
            precedence: Some("list".into()),
            list_id: Some("<l.example>".into()),
            ..MachineHeaders::default()
        },
        ..Message::default()
    };
    let d = s.classify(&m);
    assert!(
        d.fired("auto.base") && d.fired("auto.prec") && d.fired("auto.list"),
        "{}",
        d.why
    );
    // The header list wins over the summary when both exist.
    let m = Message {
        headers: vec![("auto-submitted".into(), "no".into())],
        machine: MachineHeaders {
            auto_submitted: Some("auto-generated".into()),
            ..MachineHeaders::default()
        },
        ..Message::default()
    };
    assert!(!s.classify(&m).fired("auto.base"));
}

#[test]
fn flags() {
    let mut rules = String::new();
    for (f, _) in FLAGS {
        rules += &rule(
            &format!("general.{f}"),
            "general",
            1,
            &format!("flags = \"{f}\""),
        );
    }
    let s = set(&rules);
    let fired = |m: &Message| -> Vec<String> {
        let mut v: Vec<String> = s
            .classify(m)
            .fired
            .iter()
            .map(|f| f.id.trim_start_matches("general.").to_string())
            .collect();
        v.sort();
        v
    };
    let base = || Message {
        from: Some(addr("jane@example.org")),
        ..Message::default()
    };
    let cases: Vec<(Message, Vec<&str>)> = vec![
        (base(), vec![]),
        (Message::default(), vec!["no-sender"]),
        (
            Message {
                from: Some(addr("undisclosed")),
                ..Message::default()
            },
            vec!["no-sender"],
        ),
        (
            Message {
                machine: MachineHeaders {
                    is_report: true,
                    return_path: Some(String::new()),
                    ..MachineHeaders::default()
                },
                ..base()
            },
            vec!["null-return-path", "report"],
        ),
        (
            Message {
                headers: vec![
                    ("return-path".into(), "<>".into()),
                    (
                        "content-type".into(),
                        "Multipart/Report; report-type=delivery-status".into(),
                    ),
                ],
                ..base()
            },
            vec!["null-return-path", "report"],
        ),
        (
            Message {
                headers: vec![("return-path".into(), "<jane@example.org>".into())],
                machine: MachineHeaders {
                    return_path: Some("jane@example.org".into()),
                    ..MachineHeaders::default()
                },
                ..base()
            },
            vec![],
        ),
        (
            Message {
                reply_to: Some(addr("citizen@example.net")),
                ..base()
            },
            vec!["reply-to-differs"],
        ),
        (
            Message {
                reply_to: Some(addr("JANE@example.org")),
                ..base()
            },
            vec![],
        ),
        (
            Message {
                in_reply_to: vec!["a@b".into()],
                attachments: vec![Attachment::default()],
                ..base()
            },
            vec!["has-attachments", "reply"],
        ),
    ];
    for (m, want) in cases {
        assert_eq!(fired(&m), want, "{m:?}");
    }
}

#[test]
fn body_scan_is_bounded_and_includes_attachment_text() {
    let s = set(&rule(
        "foi.act",
        "foi",
        50,
        "body = \"freedom of information\"",
    ));
    let pad = "x ".repeat(BODY_SCAN_BYTES / 2);
    let late = format!("{pad} freedom of information");
    assert_eq!(s.classify(&mail("", &late)).kind, Kind::General);
    let early = format!("freedom of information {pad}");
    assert_eq!(s.classify(&mail("", &early)).kind, Kind::Foi);
    // A multi-byte character straddling the limit must not panic.
    let straddle = format!(
        "{}é freedom of information",
        "a".repeat(BODY_SCAN_BYTES - 1)
    );
    assert_eq!(s.classify(&mail("", &straddle)).kind, Kind::General);

    let att = |text: &str| Attachment {
        name: Some("letter.pdf".into()),
        mime_type: "application/pdf".into(),
        size: text.len(),
        text: Some(text.into()),
    };
    let mut m = mail("Request", "Please see attached.");
    m.attachments = vec![att(
        "Dear Council, under the Freedom of Information Act ...",
    )];
    assert_eq!(s.classify(&m).kind, Kind::Foi);
    // The total attachment budget: text in a third large attachment is past it.
    let big = "y ".repeat(ATTACHMENT_SCAN_BYTES / 2);
    m.attachments = vec![att(&big), att(&big), att("freedom of information")];
    assert_eq!(s.classify(&m).kind, Kind::General);
    m.attachments.swap(0, 2);
    assert_eq!(s.classify(&m).kind, Kind::Foi);
}

#[test]
fn prefix_respects_char_boundaries() {
    assert_eq!(prefix("abc", 10), "abc");
    assert_eq!(prefix("abc", 2), "ab");
    assert_eq!(prefix("aé", 2), "a");
    assert_eq!(prefix("éé", 3), "é");
    assert_eq!(prefix("é", 0), "");
}

#[test]
fn disabled_rules_do_not_fire_but_are_listed_and_checked() {
    let s = set(&(rule("foi.on", "foi", 50, "body = \"alpha\"")
        + &rule("foi.off", "foi", 50, "body = \"alpha\"\nenabled = false")));
    assert_eq!(s.rule_count(), 3);
    assert_eq!(s.enabled_count(), 2);
    assert!(!s.rule("foi.off").unwrap().enabled);
    let d = s.classify(&mail("", "alpha"));
    assert!(d.fired("foi.on") && !d.fired("foi.off"));
    assert_eq!(d.score(Kind::Foi), 50);

    let e = errs(&[
        ("auto.toml", AUTO),
        (
            "t.toml",
            &rule("foi.off", "foi", 50, "body_regex = '(x'\nenabled = false"),
        ),
    ]);
    assert_eq!(e.len(), 1);
    assert_eq!(
        e[0].to_string(),
        "t.toml:6: rule \"foi.off\": body_regex: regex parse error: unclosed group"
    );
}

#[test]
fn every_error_is_reported_at_once() {
    let a = rule("foi.act", "foi", 50, "subject_regex = ['^ok', '(unclosed']")
        + &rule("foi.dup", "foi", 50, "body = \"x\"")
        + &rule(
            "foi.bad-domain",
            "foi",
            50,
            "sender_domain = \"not a domain\"",
        )
        + &rule("foi.bad-flag", "foi", 50, "flags = \"bounce\"");
    let b = rule("foi.dup", "foi", 50, "body = \"y\"") + &rule("eir.k", "eri", 50, "body = \"z\"");
    let c = "[[rule]\nid = \"broken\"\n";
    let d = "[settings]\nmin_score = 20\n";
    let e2 = "[settings]\nmin_score = 25\n";
    let errors = errs(&[
        ("auto.toml", AUTO),
        ("a.toml", &a),
        ("b.toml", &b),
        ("c.toml", c),
        ("d.toml", d),
        ("e.toml", e2),
    ]);
    let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    let want = [
        "a.toml:6: rule \"foi.act\": subject_regex pattern 2: regex parse error: unclosed group",
        "a.toml:20: rule \"foi.bad-domain\": sender_domain: \"not a domain\" is not a mail domain",
        "a.toml:27: rule \"foi.bad-flag\": flags: unknown flag \"bounce\"",
        "b.toml:1: rule \"foi.dup\": id: duplicate id; it is already used in a.toml:8",
        "b.toml:10: rule \"eir.k\": kind: unknown kind \"eri\"",
        "c.toml:1: TOML syntax error",
        "e.toml:2: settings.min_score: set twice; it is already set in d.toml:2",
    ];
    for w in want {
        assert!(
            text.iter().any(|t| t.starts_with(w)),
            "missing {w:?} in:\n{}",
            text.join("\n")
        );
    }
    assert_eq!(text.len(), want.len(), "{}", text.join("\n"));
    // Structured fields, not only text.
    let re = errors
        .iter()
        .find(|e| e.message.contains("unclosed"))
        .unwrap();
    assert_eq!(re.file, "a.toml");
    assert_eq!(re.rule_id.as_deref(), Some("foi.act"));
    assert_eq!(re.field.as_deref(), Some("subject_regex pattern 2"));
    assert_eq!(re.line, Some(6));
}

#[test]
fn machine_mail_must_be_detectable() {
    let foi = rule("foi.x", "foi", 50, "body = \"x\"");
    let e = errs(&[("t.toml", &foi)]);
    assert_eq!(e.len(), 1);
    assert!(
        e[0].message.contains("auto rules add up to at most 0"),
        "{}",
        e[0]
    );
    let weak = rule("auto.weak", "auto", 60, "body = \"x\"") + &foi;
    let e = errs(&[("t.toml", &weak)]);
    assert!(
        e[0].message
            .contains("at most 60, below auto_threshold 100 (the default)"),
        "{}",
        e[0]
    );
    let off = AUTO.replace("weight = 100", "weight = 100\nenabled = false");
    let e = errs(&[("auto.toml", &off), ("t.toml", &foi)]);
    assert!(e[0].message.contains("at most 0"), "{}", e[0]);
    // Nothing at all.
    let e = errs(&[("t.toml", "# empty\n")]);
    assert!(e[0].message.contains("no rules at all"), "{}", e[0]);
    let none: [(&str, &str); 0] = [];
    assert!(RuleSet::from_sources(&none).is_err());
}

#[test]
fn warnings_for_kinds_no_rule_can_pick() {
    let s =
        set(&(rule("foi.x", "foi", 50, "body = \"x\"")
            + &rule("sar.weak", "sar", 10, "body = \"y\"")));
    let w: Vec<String> = s.warnings().iter().map(|w| w.to_string()).collect();
    assert!(
        w.iter().any(|w| w.contains("no enabled rule has kind eir")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|w| w.contains("enabled sar rules add up to at most 10")),
        "{w:?}"
    );
    assert!(!w.iter().any(|w| w.contains("kind foi")), "{w:?}");
    assert!(!w.iter().any(|w| w.contains("kind general")), "{w:?}");
}

#[test]
fn metadata_for_rules_check() {
    let s = set(&rule(
        "foi.x",
        "foi",
        50,
        "body = [\"a\", \"b\"]\nunless_subject = \"c\"",
    ));
    assert_eq!(s.files(), ["auto.toml", "t.toml"]);
    let r = s.rule("foi.x").unwrap();
    assert_eq!(r.file, "t.toml");
    assert_eq!(r.line, 1, "the [[rule]] line");
    assert_eq!(r.kind, Kind::Foi);
    assert_eq!(
        r.conditions,
        vec![
            ConditionInfo {
                field: "body".into(),
                unless: false,
                patterns: vec![pat("a"), pat("b")]
            },
            ConditionInfo {
                field: "unless_subject".into(),
                unless: true,
                patterns: vec![pat("c")]
            },
        ]
    );
    assert!(s.rule("nope").is_none());
    assert_eq!(s.rules().len(), 2);
}

#[test]
fn load_reads_toml_files_only_and_reports_io_problems() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    assert!(
        RuleSet::load(p).unwrap_err().errors[0]
            .message
            .contains("no rule files")
    );
    std::fs::write(p.join("b.toml"), rule("foi.x", "foi", 50, "body = \"x\"")).unwrap();
    std::fs::write(p.join("a.toml"), AUTO).unwrap();
    std::fs::write(p.join("README.md"), "not toml [[").unwrap();
    std::fs::write(p.join(".#a.toml"), "garbage [[").unwrap();
    std::fs::create_dir(p.join("old.toml")).unwrap();
    let s = RuleSet::load(p).unwrap();
    let names: Vec<String> = s
        .files()
        .iter()
        .map(|f| {
            Path::new(f)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(names, ["a.toml", "b.toml"]);
    assert_eq!(s.rule_count(), 2);

    std::fs::write(p.join("c.toml"), [0xff, 0xfe, b'x']).unwrap();
    std::fs::write(p.join("d.toml"), "[[rule]]\nid = 3\n").unwrap();
    let e = RuleSet::load(p).unwrap_err();
    assert!(
        e.errors
            .iter()
            .any(|e| e.file.ends_with("c.toml") && e.message.contains("not UTF-8"))
    );
    assert!(
        e.errors
            .iter()
            .any(|e| e.file.ends_with("d.toml") && e.message.contains("expected a string"))
    );

    assert!(
        RuleSet::load(&p.join("missing")).unwrap_err().errors[0]
            .message
            .contains("cannot read the rules directory")
    );
}

#[test]
fn decision_serializes_for_the_audit_trail() {
    let s = set(&rule("foi.x", "foi", 50, "body = \"alpha\""));
    let d = s.classify(&mail("", "alpha"));
    let v = serde_json::to_value(&d).unwrap();
    assert_eq!(v["kind"], "foi");
    assert_eq!(v["scores"], serde_json::json!([["foi", 50]]));
    assert_eq!(v["fired"][0]["id"], "foi.x");
    assert_eq!(v["fired"][0]["matched"][0]["field"], "body");
    assert_eq!(v["fired"][0]["matched"][0]["pattern"], "alpha");
    assert!(v["why"].as_str().unwrap().starts_with("foi won with 50"));
}

fn arb_message() -> impl Strategy<Value = Message> {
    (
        ".{0,40}",
        ".{0,400}",
        proptest::option::of(".{0,30}"),
        proptest::collection::vec(("[a-zA-Z-]{1,20}", ".{0,40}"), 0..6),
        proptest::option::of(".{0,200}"),
        any::<bool>(),
    )
        .prop_map(|(subject, body, from, headers, att, report)| Message {
            from: from.map(|e| addr(&e)),
            subject,
            body_text: body,
            headers,
            attachments: att
                .map(|t| {
                    vec![Attachment {
                        name: Some(t.chars().take(10).collect()),
                        mime_type: "text/plain".into(),
                        size: t.len(),
                        text: Some(t),
                    }]
                })
                .unwrap_or_default(),
            machine: MachineHeaders {
                is_report: report,
                ..MachineHeaders::default()
            },
            ..Message::default()
        })
}

proptest! {
    /// Any message classifies without panicking, into a kind the scores justify.
    #[test]
    fn classify_is_total_and_consistent(m in arb_message()) {
        let s = set(&(rule("foi.x", "foi", 50, "body = \"a\"")
            + &rule("sar.x", "sar", 50, "subject_regex = '\\bb'")
            + &rule("general.x", "general", -40, "body = \"c\"")
            + &rule("auto.r", "auto", 100, "flags = \"report\"")));
        let d = s.classify(&m);
        prop_assert!(!d.why.is_empty());
        if m.machine.is_report {
            prop_assert_eq!(d.kind, Kind::Auto);
        }
        if d.kind != Kind::Auto && d.kind != Kind::General {
            prop_assert!(d.score(d.kind) >= s.settings().min_score);
        }
        let sum: i32 = d.fired.iter().filter(|f| f.kind == Kind::Foi).map(|f| f.weight).sum();
        prop_assert_eq!(sum, d.score(Kind::Foi));
    }
}

#[test]
fn named_lists_are_shared_across_rules_and_files() {
    let lists = "[lists]\nenv = [\"air quality\", \"fly tipping\"]\nasks = ['\\bplease\\s+provide\\b', '\\bhow many\\b']\n";
    let rules = rule(
        "eir.env-request",
        "eir",
        60,
        "body = { list = \"env\" }\nbody_regex = [{ list = \"asks\" }, 'send me']",
    ) + &rule(
        "foi.env",
        "foi",
        -40,
        "body = [\"planning\", { list = \"env\" }]",
    ) + &rule("foi.asks", "foi", 30, "body_regex = { list = \"asks\" }");
    let s = match RuleSet::from_sources(&[
        ("auto.toml", AUTO),
        ("lists.toml", lists),
        ("t.toml", &rules),
    ]) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    assert!(
        s.warnings()
            .iter()
            .all(|w| !w.message.contains("no rule uses")),
        "{:?}",
        s.warnings()
    );
    let d = s.classify(&mail("", "Please provide the fly   tipping figures"));
    assert_eq!(d.kind, Kind::Eir, "{}", d.why);
    let env = d.fired.iter().find(|f| f.id == "eir.env-request").unwrap();
    assert_eq!(
        env.matched,
        vec![
            MatchedCondition {
                field: "body".into(),
                pattern: "fly tipping".into(),
                list: Some("env".into())
            },
            MatchedCondition {
                field: "body_regex".into(),
                pattern: "\\bplease\\s+provide\\b".into(),
                list: Some("asks".into())
            },
        ]
    );
    assert_eq!(d.score(Kind::Foi), -10);
    // The same list, items in order, in the metadata.
    let info = s.rule("foi.env").unwrap();
    let texts: Vec<(&str, Option<&str>)> = info.conditions[0]
        .patterns
        .iter()
        .map(|p| (p.text.as_str(), p.list.as_deref()))
        .collect();
    assert_eq!(
        texts,
        [
            ("planning", None),
            ("air quality", Some("env")),
            ("fly tipping", Some("env"))
        ]
    );
    let d = s.classify(&mail("", "How many planning applications?"));
    assert_eq!(d.kind, Kind::General, "{}", d.why);
    assert_eq!(d.score(Kind::Foi), -10);
}

#[test]
fn list_problems_are_reported() {
    let lists = "[lists]\nasks = ['(bad', 'ok']\nunused = [\"x\"]\n";
    let rules = rule("foi.a", "foi", 30, "body_regex = { list = \"asks\" }")
        + &rule("foi.b", "foi", 30, "body_regex = [{ list = \"asks\" }]")
        + &rule("foi.c", "foi", 30, "body = { list = \"aks\" }")
        + &rule("foi.d", "foi", 30, "body = { lst = \"asks\" }");
    let e = errs(&[
        ("auto.toml", AUTO),
        ("lists.toml", lists),
        ("t.toml", &rules),
        ("dup.toml", "[lists]\nasks = [\"y\"]\n"),
    ]);
    let text: Vec<String> = e.iter().map(|e| e.to_string()).collect();
    let want = [
        "dup.toml:2: lists.asks: a list with this name is already defined in lists.toml:2",
        "lists.toml:2: rule \"foi.a\": body_regex (list \"asks\" item 1): regex parse error: unclosed group",
        "t.toml:20: rule \"foi.c\": body: no list named \"aks\"; did you mean \"asks\"?",
        "t.toml:27: rule \"foi.d\": body: unknown key \"lst\" in a list reference",
    ];
    for w in want {
        assert!(
            text.iter().any(|t| t.starts_with(w)),
            "missing {w:?} in:\n{}",
            text.join("\n")
        );
    }
    // The bad list item is reported once, although two rules use it.
    assert_eq!(
        text.iter().filter(|t| t.contains("unclosed group")).count(),
        1,
        "{}",
        text.join("\n")
    );
    assert_eq!(text.len(), want.len(), "{}", text.join("\n"));

    let s =
        set(&("[lists]\nunused = [\"x\"]\n".to_string()
            + &rule("foi.a", "foi", 30, "body = \"y\"")));
    assert!(
        s.warnings()
            .iter()
            .any(|w| w.to_string() == "t.toml:2: lists.unused: no rule uses this list"),
        "{:?}",
        s.warnings()
    );
}

#[test]
fn rule_set_is_shareable_across_tasks() {
    // The daemon keeps one RuleSet in an Arc and classifies from several tasks.
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<RuleSet>();
    assert_send_sync::<Decision>();
    assert_send_sync::<RuleErrors>();
}

/// Rules for the quoted-history tests: an FOI phrase, an auto body hint, a general thank-you.
const QUOTE_RULES: &str = r#"
[[rule]]
id = "foi.act"
kind = "foi"
weight = 50
description = "FOI Act named"
body = "freedom of information"

[[rule]]
id = "auto.ooo-body"
kind = "auto"
weight = 60
description = "out-of-office wording"
body = ["do not reply to this email", "out of the office until"]

[[rule]]
id = "auto.ooo-subject"
kind = "auto"
weight = 60
description = "out-of-office subject"
subject_regex = '^automatic reply'

[[rule]]
id = "general.thanks"
kind = "general"
weight = 40
description = "thanks"
body = "thank you for your reply"
"#;

#[test]
fn body_rules_read_what_the_sender_wrote() {
    let s = set(QUOTE_RULES);
    let quoted_request = "\n\nOn Mon, 12 Jan 2026 at 09:14, Jane <jane@example.org> wrote:\n\
        > Under the Freedom of Information Act please send the figures.\n";
    let quoted_ack = "\n\nOn Mon, 12 Jan 2026 at 10:02, FOI <foi@council.example.gov.uk> wrote:\n\
        > Do not reply to this email. Freedom of information team.\n";
    /// (case, subject, body, kind, rule ids that must fire, rule ids that must not)
    type Case<'a> = (&'a str, &'a str, String, Kind, &'a [&'a str], &'a [&'a str]);
    let cases: &[Case] = &[
        (
            "a thank-you under a quoted request is general, not the request again",
            "Re: figures",
            format!("Thank you for your reply, that is all.{quoted_request}"),
            Kind::General,
            &["general.thanks"],
            &["foi.act"],
        ),
        (
            "own words decide nothing: the quoted request says what the thread is about",
            "Re: figures",
            format!("Please add 2024 too.{quoted_request}"),
            Kind::Foi,
            &["foi.act"],
            &[],
        ),
        (
            "a quoted acknowledgement never votes auto, even when history is read",
            "Automatic reply: figures",
            format!("Please add 2024 too.{quoted_ack}"),
            Kind::Foi,
            &["auto.ooo-subject", "foi.act"],
            &["auto.ooo-body"],
        ),
        (
            "the sender's own out-of-office wording still votes",
            "Automatic reply: figures",
            format!("I am out of the office until Monday.{quoted_request}"),
            Kind::Auto,
            &["auto.ooo-subject", "auto.ooo-body"],
            &["foi.act"],
        ),
        (
            "a signature does not vote",
            "Hello",
            "Thank you for your reply.\n-- \nJane\nFreedom of Information officer, Example Ltd\n"
                .to_string(),
            Kind::General,
            &["general.thanks"],
            &["foi.act"],
        ),
        (
            "a forward is read whole: the quoted block is the request passed on",
            "Fwd: request",
            format!("Thank you for your reply, see below.{quoted_request}"),
            Kind::Foi,
            &["foi.act", "general.thanks"],
            &[],
        ),
    ];
    for (case, subject, body, kind, fire, silent) in cases {
        let d = s.classify(&mail(subject, body));
        assert_eq!(d.kind, *kind, "{case}: {}", d.why);
        for id in *fire {
            assert!(d.fired(id), "{case}: {id} should fire: {}", d.why);
        }
        for id in *silent {
            assert!(!d.fired(id), "{case}: {id} should not fire: {}", d.why);
        }
    }
}

#[test]
fn reports_and_null_sender_mail_are_read_whole() {
    let s = set(QUOTE_RULES);
    let body = "Delivery failed.\n\nOn Mon, 12 Jan 2026 at 10:02, FOI <foi@x.example> wrote:\n\
        > do not reply to this email\n";
    let mut m = mail("Undeliverable", body);
    assert!(!s.classify(&m).fired("auto.ooo-body"), "a person's reply");
    m.machine.is_report = true;
    assert!(s.classify(&m).fired("auto.ooo-body"), "a delivery report");
    m.machine.is_report = false;
    m.machine.return_path = Some(String::new());
    assert!(
        s.classify(&m).fired("auto.ooo-body"),
        "from the null sender"
    );
}

#[test]
fn body_is_skipped_only_when_auto_is_certain() {
    let rules = r#"
[[rule]]
id = "auto.list"
kind = "auto"
weight = 60
description = "list header"
has_headers = "list-id"

[[rule]]
id = "auto.relay-body"
kind = "auto"
weight = -50
description = "a person's words relayed"
body = "submitted via the online form"

[[rule]]
id = "auto.bounce-body"
kind = "auto"
weight = 50
description = "bounce wording"
body = "could not be delivered"

[[rule]]
id = "foi.act"
kind = "foi"
weight = 50
description = "FOI Act named"
body = "freedom of information"
"#;
    let s = set(rules);
    let with = |auto_submitted: bool, list: bool, body: &str| {
        let mut m = mail("x", body);
        if auto_submitted {
            m.headers
                .push(("auto-submitted".into(), "auto-generated".into()));
        }
        if list {
            m.headers.push(("list-id".into(), "<l.example>".into()));
        }
        s.classify(&m)
    };
    // Auto-Submitted (100) + List-Id (60) = 160; even with the relay rule (-50) that is 110.
    let d = with(
        true,
        true,
        "freedom of information, submitted via the online form",
    );
    assert_eq!(d.kind, Kind::Auto, "{}", d.why);
    assert!(d.why.contains("body was not read"), "{}", d.why);
    assert!(
        !d.fired("foi.act") && !d.fired("auto.relay-body"),
        "{}",
        d.why
    );
    // Auto-Submitted alone (100) could be pulled under by the relay rule: the body is read.
    let d = with(
        true,
        false,
        "freedom of information, submitted via the online form",
    );
    assert_eq!(d.kind, Kind::Foi, "{}", d.why);
    assert!(d.fired("auto.relay-body"), "{}", d.why);
    // List-Id (60) needs the body's bounce wording (50) to reach 100: the body is read.
    let d = with(false, true, "your message could not be delivered");
    assert_eq!(d.kind, Kind::Auto, "{}", d.why);
    assert!(
        d.fired("auto.bounce-body") && !d.why.contains("not read"),
        "{}",
        d.why
    );
}

#[test]
fn the_configs_own_domains_and_name_join_the_own_lists() {
    let lists = "[lists]\nown_domains = [\"council.example.gov.uk\"]\nown_name_patterns = ['\\bexample\\s+borough\\s+council\\b']\n";
    let rules = rule(
        "general.colleague",
        "general",
        50,
        "sender_domain = { list = \"own_domains\" }",
    ) + &rule(
        "auto.claims-us",
        "auto",
        50,
        "sender_name_regex = { list = \"own_name_patterns\" }",
    );
    let own = Own {
        domains: vec!["northbridge.gov.uk".into()],
        names: vec!["Northbridge  Borough Council (Planning)".into()],
    };
    let sources = [
        ("auto.toml", AUTO),
        ("t.toml", rules.as_str()),
        ("lists.toml", lists),
    ];
    let plain = RuleSet::from_sources(&sources).expect("loads");
    let for_us = RuleSet::build(&sources, &own).expect("loads");
    let fired = |s: &RuleSet, from: Address| -> Vec<String> {
        let m = Message {
            from: Some(from),
            subject: "Hello".into(),
            body_text: "Can we talk about FOI training?".into(),
            ..Message::default()
        };
        s.classify(&m).fired.iter().map(|r| r.id.clone()).collect()
    };
    let colleague = addr("amir.rahman@northbridge.gov.uk");
    assert!(fired(&plain, colleague.clone()).is_empty());
    assert_eq!(fired(&for_us, colleague), ["general.colleague"]);
    // The shipped example domain still counts: the config adds, it does not replace.
    assert_eq!(
        fired(&for_us, addr("jo@council.example.gov.uk")),
        ["general.colleague"]
    );
    // Our name on an outside address, in any spacing and case; regex characters in the name
    // ("(Planning)") are taken literally.
    let claims = named(
        "Ian Marshall - NORTHBRIDGE BOROUGH COUNCIL (planning)",
        "x@gmail.com",
    );
    assert_eq!(fired(&for_us, claims.clone()), ["auto.claims-us"]);
    assert!(fired(&plain, claims).is_empty());
}

/// The built-in rules are the shipped directory, compiled the same way and named `(built-in)/…`.
#[test]
fn the_built_in_rules_are_the_shipped_rules_directory() {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let on_disk = RuleSet::load(&shipped).expect("shipped rules load");
    let built_in = RuleSet::built_in(&Own::default()).expect("built-in rules load");
    assert_eq!(built_in.rule_count(), on_disk.rule_count());
    assert_eq!(built_in.enabled_count(), on_disk.enabled_count());
    assert_eq!(built_in.files().len(), on_disk.files().len());
    assert!(
        built_in
            .files()
            .iter()
            .all(|f| f.starts_with("(built-in)/")),
        "{:?}",
        built_in.files()
    );
    let none = RuleSet::load_configured(Some(Path::new("/no/such/rules")), &Own::default());
    assert!(
        none.is_err(),
        "a named directory that is missing is an error"
    );
}
