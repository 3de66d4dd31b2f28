//! Table-driven tests for routing files and routing decisions.

use super::*;
use proptest::prelude::*;

/// The default file shipped at the repo root.
const DEFAULT_FILE: &str = include_str!("../../../routing.toml");

/// Loaded once: compiling a few hundred patterns per proptest case would take minutes.
static DEFAULT: std::sync::LazyLock<Routing> =
    std::sync::LazyLock::new(|| match Routing::from_toml(DEFAULT_FILE, "routing.toml") {
        Ok(r) => r,
        Err(e) => panic!("the shipped routing.toml must load:\n{e}"),
    });

fn default_routing() -> &'static Routing {
    &DEFAULT
}

/// A small valid file that error tests extend: one team and every default.
const MINI: &str = r#"
[defaults]
foi = "ig"
eir = "ig"
sar = "ig"
media = "ig"
member_enquiry = "ig"
complaint = "ig"
general = "ig"

[[team]]
id = "ig"
name = "Information Governance"
manager = "boss@example.org"
members = { alice = "alice@example.org", bob = "bob@example.org", carol = "carol@example.org" }

"#;

fn load(text: &str) -> Result<Routing, RoutingErrors> {
    Routing::from_toml(text, "test.toml")
}

fn errors_of(text: &str) -> Vec<RoutingError> {
    match load(text) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(e) => e.errors,
    }
}

#[test]
fn shipped_file_loads_without_warnings() {
    let r = default_routing();
    assert!(r.warnings().is_empty(), "warnings: {:?}", r.warnings());
    assert_eq!(r.teams().len(), 13);
    for kind in Kind::ALL {
        assert_eq!(r.default_team(kind).is_some(), kind != Kind::Auto, "{kind}");
    }
    assert_eq!(r.default_team(Kind::Foi), Some("information-governance"));
    assert_eq!(r.default_team(Kind::Media), Some("press-office"));
    assert_eq!(r.default_team(Kind::MemberEnquiry), Some("member-services"));
    assert_eq!(r.default_team(Kind::Complaint), Some("customer-feedback"));
}

#[test]
fn shipped_file_routes_council_requests() {
    let r = default_routing();
    // (kind, subject, body, team, rule that fired; None = the kind's default)
    let cases: &[(Kind, &str, &str, &str, Option<&str>)] = &[
        (
            Kind::Foi,
            "FOI request: looked after children placements",
            "Please tell me how many looked after children were placed out of area in 2025.",
            "childrens-services",
            Some("childrens-services"),
        ),
        (
            Kind::Foi,
            "Freedom of information request",
            "How many dogs were microchipped by the dog warden in 2025?",
            "information-governance",
            None,
        ),
        (
            Kind::Foi,
            "FOI",
            "Please provide the number of EHCPs issued in 2025.",
            "childrens-services",
            Some("childrens-services"),
        ),
        (
            Kind::Sar,
            "Subject access request",
            "I want a copy of all records held about me by Children’s Services since 2010.",
            "childrens-services",
            Some("childrens-services"),
        ),
        (
            Kind::Foi,
            "Care home fees",
            "What are the weekly fees paid to each care home in the borough?",
            "adult-social-care",
            Some("adult-social-care"),
        ),
        (
            Kind::Foi,
            "Request",
            "Under FOI: how many planning applications were decided within 8 weeks?",
            "planning",
            Some("planning"),
        ),
        (
            Kind::Eir,
            "Objection documents for 24/01234/FUL",
            "Please send the consultation responses.",
            "planning",
            Some("planning"),
        ),
        (
            Kind::Foi,
            "Parking fines",
            "How many penalty charge notices were issued on the High Street?",
            "highways-parking",
            Some("highways-parking"),
        ),
        (
            Kind::Complaint,
            "Pothole damaged my car",
            "The potholes on Mill Lane have still not been repaired.",
            "highways-parking",
            Some("highways-parking"),
        ),
        (
            Kind::Complaint,
            "Missed bin again",
            "My recycling was not collected for the third week.",
            "waste",
            Some("waste"),
        ),
        (
            Kind::Eir,
            "Fly-tipping reports",
            "Number of fly-tipping reports per ward in 2024/25.",
            "waste",
            Some("waste"),
        ),
        (
            Kind::Foi,
            "Temporary accommodation",
            "How many households are in temporary accommodation?",
            "housing",
            Some("housing"),
        ),
        (
            Kind::Foi,
            "Agency staff",
            "Please provide agency staff spend for 2025.",
            "hr",
            Some("hr"),
        ),
        (
            Kind::Foi,
            "Council tax arrears",
            "How much council tax is owed?",
            "finance",
            Some("finance"),
        ),
        (
            // The highways route (20) beats the finance route (10) on "budget".
            Kind::Foi,
            "Pothole budget",
            "What is the budget for potholes?",
            "highways-parking",
            Some("highways-parking"),
        ),
        (
            Kind::Complaint,
            "Internal review",
            "I request an internal review of your answer to FOI-2026-000123.",
            "information-governance",
            Some("internal-review"),
        ),
        (
            // An internal review about parking still goes to IG: priority 50 beats 20.
            Kind::Complaint,
            "Internal review of parking FOI",
            "Please carry out an internal review; the parking figures were incomplete.",
            "information-governance",
            Some("internal-review"),
        ),
        (
            Kind::Complaint,
            "Rude staff at the library",
            "I was treated badly at the library.",
            "customer-feedback",
            None,
        ),
        (
            // Media never goes to a service team: no route lists media.
            Kind::Media,
            "Parking fines story",
            "We are running a story on parking fines; any comment?",
            "press-office",
            None,
        ),
        (
            Kind::MemberEnquiry,
            "Constituent: housing repairs",
            "My constituent has damp and mould in her flat.",
            "housing",
            Some("housing"),
        ),
        (
            Kind::MemberEnquiry,
            "Constituent enquiry",
            "Please could you look into my constituent's library card.",
            "member-services",
            None,
        ),
        (
            Kind::General,
            "Opening hours",
            "When is the town hall open?",
            "customer-services",
            None,
        ),
        (
            // "adult social care" is an unless on the children's route.
            Kind::Foi,
            "Adult social care and children's services staffing",
            "Numbers of social workers in adult social care and children's services.",
            "adult-social-care",
            Some("adult-social-care"),
        ),
        (
            // "send" is an ordinary word: it must not route to children's services.
            Kind::Foi,
            "FOI",
            "Please send me the number of FOI requests you received in 2025.",
            "information-governance",
            Some("ig-data-protection"),
        ),
        (
            // Whole words: "parkingson" and "repark" are not "parking".
            Kind::Foi,
            "Reparking",
            "Something about reparking and parkings.",
            "information-governance",
            None,
        ),
    ];
    for (kind, subject, body, team, rule) in cases {
        let d = r
            .route(*kind, subject, body, 0)
            .unwrap_or_else(|| panic!("{kind} must be routed"));
        assert_eq!(d.team, *team, "{subject:?}: {}", d.why);
        assert_eq!(d.rule.as_deref(), *rule, "{subject:?}: {}", d.why);
        match rule {
            Some(id) => assert!(d.why.starts_with(&format!("route {id} ")), "{}", d.why),
            None => assert!(d.why.starts_with("no route matched"), "{}", d.why),
        }
    }
}

#[test]
fn shipped_file_assigns_as_the_processes_say() {
    let r = default_routing();
    // (kind, subject, counter, assignee): service complaints go to the team manager (seed 002),
    // other complaints to the complaints team in turn, media to the press office inbox.
    let cases: &[(Kind, &str, u64, Option<&str>)] = &[
        (
            Kind::Complaint,
            "Pothole damaged my car",
            0,
            Some("highways.manager@example.org"),
        ),
        (
            Kind::Complaint,
            "Pothole damaged my car",
            1,
            Some("highways.manager@example.org"),
        ),
        (
            Kind::Foi,
            "Pothole repairs",
            1,
            Some("kate.brown@example.org"),
        ),
        (
            Kind::Complaint,
            "Rude staff",
            1,
            Some("will.robinson@example.org"),
        ),
        (
            Kind::Complaint,
            "Internal review please",
            0,
            Some("alice.smith@example.org"),
        ),
        (Kind::Media, "Comment on parking", 0, None),
        (Kind::General, "Opening hours", 0, None),
        (
            Kind::Foi,
            "Planning applications",
            5,
            Some("harriet.cole@example.org"),
        ),
    ];
    for (kind, subject, counter, assignee) in cases {
        let d = r.route(*kind, subject, "", *counter).unwrap();
        assert_eq!(d.assignee.as_deref(), *assignee, "{subject}: {}", d.why);
    }
}

#[test]
fn auto_is_never_routed() {
    let r = default_routing();
    assert_eq!(r.route(Kind::Auto, "parking", "parking", 0), None);
}

#[test]
fn why_names_the_phrase_the_place_and_the_losers() {
    let text = format!(
        "{MINI}
[[team]]
id = \"roads\"
name = \"Roads\"
manager = \"roads.boss@example.org\"
members = {{ dave = \"dave@example.org\" }}

[[route]]
id = \"roads\"
team = \"roads\"
priority = 20
subject = [\"pothole\"]

[[route]]
id = \"money\"
team = \"ig\"
priority = 10
body = [\"budget\"]

[[route]]
id = \"codes\"
team = \"ig\"
priority = 5
body_regex = ['\\bREF\\d{{3}}\\b']
"
    );
    let r = load(&text).unwrap();
    let d = r
        .route(Kind::Foi, "Pothole", "The budget, see ref123", 0)
        .unwrap();
    assert_eq!(d.team, "roads");
    assert_eq!(d.rule.as_deref(), Some("roads"));
    assert_eq!(
        d.also_matched,
        vec!["money".to_string(), "codes".to_string()]
    );
    assert_eq!(d.assignee.as_deref(), Some("dave@example.org"));
    assert_eq!(
        d.why,
        "route roads (priority 20): the subject contains \"pothole\"; sends foi cases to team \
         roads; also matched (lower priority or written later): money, codes; round robin in team \
         roads: dave (member 1 of 1, counter 0)"
    );
    let d = r.route(Kind::Foi, "x", "see REF123 please", 4).unwrap();
    assert_eq!(d.rule.as_deref(), Some("codes"));
    assert!(
        d.why
            .contains(r#"the body matches /\bREF\d{3}\b/ with "REF123""#),
        "{}",
        d.why
    );
    assert!(
        d.why.contains("bob (member 2 of 3, counter 4)"),
        "{}",
        d.why
    );
}

#[test]
fn equal_priority_goes_to_the_route_written_first() {
    let text = format!(
        "{MINI}
[[route]]
id = \"first\"
team = \"ig\"
anywhere = [\"parking\"]

[[route]]
id = \"second\"
team = \"ig\"
anywhere = [\"parking\"]
"
    );
    let r = load(&text).unwrap();
    let d = r.route(Kind::Foi, "parking", "", 0).unwrap();
    assert_eq!(d.rule.as_deref(), Some("first"));
    assert_eq!(d.also_matched, vec!["second".to_string()]);
}

#[test]
fn kinds_limit_a_route() {
    let text = format!(
        "{MINI}
[[route]]
id = \"foi-only\"
team = \"ig\"
kinds = [\"foi\"]
anywhere = [\"parking\"]
"
    );
    let r = load(&text).unwrap();
    let cases = [
        (Kind::Foi, Some("foi-only")),
        (Kind::Eir, None),
        (Kind::Complaint, None),
        (Kind::Media, None),
    ];
    for (kind, rule) in cases {
        let d = r.route(kind, "parking", "", 0).unwrap();
        assert_eq!(d.rule.as_deref(), rule, "{kind}");
    }
}

#[test]
fn round_robin_fixed_and_inbox_assignment() {
    let text = format!(
        "{MINI}
[[team]]
id = \"solo\"
name = \"Solo\"
manager = \"solo.boss@example.org\"
assign = \"erin\"
members = {{ dave = \"dave@example.org\", erin = \"erin@example.org\" }}

[[team]]
id = \"shared\"
name = \"Shared\"
manager = \"shared.boss@example.org\"
inbox = \"shared@example.org\"
assign = \"inbox\"
members = {{}}

[[route]]
id = \"solo\"
team = \"solo\"
anywhere = [\"solo\"]

[[route]]
id = \"shared\"
team = \"shared\"
anywhere = [\"shared\"]
"
    );
    let r = load(&text).unwrap();
    // Round robin in file order (alice, bob, carol), not alphabetical by chance: see below.
    let cases: &[(&str, u64, Option<&str>)] = &[
        ("x", 0, Some("alice@example.org")),
        ("x", 1, Some("bob@example.org")),
        ("x", 2, Some("carol@example.org")),
        ("x", 3, Some("alice@example.org")),
        ("x", u64::MAX, Some("alice@example.org")), // u64::MAX % 3 == 0
        ("solo", 0, Some("erin@example.org")),
        ("solo", 7, Some("erin@example.org")),
        ("shared", 0, None),
        ("shared", 9, None),
    ];
    for (subject, counter, assignee) in cases {
        let d = r.route(Kind::Foi, subject, "", *counter).unwrap();
        assert_eq!(
            d.assignee.as_deref(),
            *assignee,
            "{subject} {counter}: {}",
            d.why
        );
    }
    assert!(
        r.route(Kind::Foi, "shared", "", 0)
            .unwrap()
            .why
            .contains("works foi cases from its inbox")
    );
}

#[test]
fn assign_for_gives_some_kinds_another_rule() {
    let text = format!(
        "{MINI}
[[team]]
id = \"roads\"
name = \"Roads\"
manager = \"roads.boss@example.org\"
inbox = \"roads@example.org\"
members = {{ dave = \"dave@example.org\", erin = \"erin@example.org\" }}
assign_for = {{ complaint = \"manager\", member_enquiry = \"erin\", media = \"inbox\" }}

[[route]]
id = \"roads\"
team = \"roads\"
anywhere = [\"pothole\"]
"
    );
    let r = load(&text).unwrap();
    // (kind, counter, assignee, piece of why)
    let cases: &[(Kind, u64, Option<&str>, &str)] = &[
        (
            Kind::Foi,
            0,
            Some("dave@example.org"),
            "round robin in team roads: dave",
        ),
        (
            Kind::Foi,
            1,
            Some("erin@example.org"),
            "round robin in team roads: erin",
        ),
        (
            Kind::Complaint,
            0,
            Some("roads.boss@example.org"),
            "assigns complaint cases to its manager",
        ),
        (
            Kind::Complaint,
            1,
            Some("roads.boss@example.org"),
            "to its manager",
        ),
        (
            Kind::MemberEnquiry,
            0,
            Some("erin@example.org"),
            "assigns member_enquiry cases to erin",
        ),
        (Kind::Media, 0, None, "works media cases from its inbox"),
    ];
    for (kind, counter, assignee, why) in cases {
        let d = r.route(*kind, "pothole", "", *counter).unwrap();
        assert_eq!(d.team, "roads");
        assert_eq!(d.assignee.as_deref(), *assignee, "{kind}: {}", d.why);
        assert!(d.why.contains(why), "{kind}: {}", d.why);
    }
    // A hand re-routing to the team follows the same rule for the case's kind.
    let re = r.reroute("roads", Kind::Complaint, None, 0).unwrap();
    assert_eq!(re.assignee.as_deref(), Some("roads.boss@example.org"));
    assert!(!re.used_round_robin);
    let re = r.reroute("roads", Kind::Foi, None, 1).unwrap();
    assert_eq!(re.assignee.as_deref(), Some("erin@example.org"));
    assert!(re.used_round_robin);
    assert!(
        !r.reroute("erin", Kind::Foi, None, 1)
            .unwrap()
            .used_round_robin
    );
    let team = r.team("roads").unwrap();
    assert_eq!(team.assignment_for(Kind::Complaint), &Assignment::Manager);
    assert_eq!(team.assignment_for(Kind::Eir), &Assignment::RoundRobin);
}

#[test]
fn assign_for_problems_are_reported() {
    let team = |extra: &str| {
        format!(
            "{MINI}[[team]]\nid = \"t\"\nname = \"T\"\nmanager = \"m@example.org\"\nmembers = {{}}\nassign = \"manager\"\n{extra}\n"
        )
    };
    // (extra line 23, key, piece of the one error)
    let cases: &[(&str, &str, &str)] = &[
        (
            "assign_for = { complain = \"manager\" }",
            "assign_for.complain",
            "did you mean \"complaint\"?",
        ),
        (
            "assign_for = { auto = \"manager\" }",
            "assign_for.auto",
            "unknown kind",
        ),
        (
            "assign_for = { foi = \"zed\" }",
            "assign_for.foi",
            "unknown member handle \"zed\"",
        ),
        (
            "assign_for = { foi = \"round_robin\" }",
            "assign_for.foi",
            "round robin needs at least one member",
        ),
        (
            "assign_for = { foi = \"inbox\" }",
            "assign_for.foi",
            "needs the team's inbox",
        ),
        (
            "assign_for = { foi = 3 }",
            "assign_for.foi",
            "expected a string",
        ),
        (
            "assign_for = \"manager\"",
            "assign_for",
            "expected a table of kind",
        ),
    ];
    for (extra, key, want) in cases {
        let errs = errors_of(&team(extra));
        assert_eq!(errs.len(), 1, "{extra}: {errs:#?}");
        assert_eq!(errs[0].line, Some(23), "{}", errs[0]);
        assert_eq!(errs[0].key.as_deref(), Some(*key), "{}", errs[0]);
        assert!(errs[0].message.contains(want), "{}", errs[0]);
    }
    // A team of nobody but its manager is fine.
    assert!(load(&team("")).is_ok());
}

#[test]
fn round_robin_follows_file_order_not_alphabet() {
    let text = MINI.replace(
        "members = { alice = \"alice@example.org\", bob = \"bob@example.org\", carol = \"carol@example.org\" }",
        "members = { zoe = \"zoe@example.org\", adam = \"adam@example.org\" }",
    );
    let r = load(&text).unwrap();
    let got: Vec<String> = (0..4)
        .map(|c| r.route(Kind::Foi, "", "", c).unwrap().assignee.unwrap())
        .collect();
    assert_eq!(
        got,
        [
            "zoe@example.org",
            "adam@example.org",
            "zoe@example.org",
            "adam@example.org"
        ]
    );
}

#[test]
fn phrases_are_whole_words_any_case_any_spacing_any_apostrophe() {
    // (phrase, text, matches)
    let cases: &[(&str, &str, bool)] = &[
        ("parking", "PARKING fines", true),
        ("parking", "Parking", true),
        ("parking", "reparking", false),
        ("parking", "parkings", false),
        ("planning application", "planning\n  application", true),
        ("planning application", "planning-application", false),
        ("children's services", "Children’s Services", true),
        ("children's services", "children‘s services", true),
        ("children's services", "childrens services", false),
        ("s106", "an S106 agreement", true),
        ("s106", "s1067", false),
        ("fly-tipping", "Fly-Tipping", true),
        ("PCN", "pcn number", true),
        ("a.b", "axb", false),
        ("a.b", "a.b", true),
        ("(draft)", "the (DRAFT) plan", true),
        ("£5", "over £5 each", true),
        ("café", "CAFÉ licence", true),
    ];
    for (phrase, text, want) in cases {
        let re = load::compile(&load::phrase_regex(phrase)).unwrap();
        assert_eq!(re.is_match(text), *want, "{phrase:?} in {text:?}");
    }
}

#[test]
fn only_the_top_of_the_body_is_read() {
    let text = format!(
        "{MINI}
[[route]]
id = \"parking\"
team = \"ig\"
body = [\"parking\"]
"
    );
    let r = load(&text).unwrap();
    let near = format!("{} parking", "x ".repeat(100));
    let far = format!("{} parking", "é".repeat(MAX_BODY_BYTES)); // 2 bytes each: cut mid-char
    assert_eq!(
        r.route(Kind::Foi, "", &near, 0).unwrap().rule.as_deref(),
        Some("parking")
    );
    assert_eq!(r.route(Kind::Foi, "", &far, 0).unwrap().rule, None);
}

#[test]
fn long_regex_matches_are_quoted_short() {
    let text = format!(
        "{MINI}
[[route]]
id = \"long\"
team = \"ig\"
body_regex = ['x+']
"
    );
    let r = load(&text).unwrap();
    let d = r.route(Kind::Foi, "", &"x".repeat(500), 0).unwrap();
    assert!(
        d.why.contains(&format!("\"{}…\"", "x".repeat(60))),
        "{}",
        d.why
    );
    assert!(d.why.len() < 300, "{}", d.why);
}

/// One problem expected from a file: line, section, key and a piece of the message.
struct Expect {
    line: usize,
    section: Option<RoutingSection>,
    key: Option<&'static str>,
    contains: &'static str,
}

fn team(id: &str) -> Option<RoutingSection> {
    Some(RoutingSection::Team(id.into()))
}
fn route(id: &str) -> Option<RoutingSection> {
    Some(RoutingSection::Route(id.into()))
}

#[test]
fn every_problem_is_reported_with_where_it_is() {
    // MINI has 16 lines (it starts with a newline); snippets start at line 17.
    assert_eq!(MINI.lines().count(), 16);
    let cases: Vec<(&str, Vec<Expect>)> = vec![
        (
            "[[route]]\nid = \"r\"\nteam = \"nope\"\nanywhere = [\"x\"]\n",
            vec![Expect {
                line: 19,
                section: route("r"),
                key: Some("team"),
                contains: "unknown team \"nope\"",
            }],
        ),
        (
            "[[route]]\nid = \"r\"\nteam = \"ig\"\nbody_regex = ['(unclosed']\n",
            vec![Expect {
                line: 20,
                section: route("r"),
                key: Some("body_regex pattern 1"),
                contains: "regex parse error: unclosed group",
            }],
        ),
        (
            "[[route]]\nid = \"r\"\nteam = \"ig\"\nanywhere = [\"x\"]\nsubjet = [\"y\"]\n",
            vec![Expect {
                line: 21,
                section: route("r"),
                key: Some("subjet"),
                contains: "did you mean \"subject\"",
            }],
        ),
        (
            "[[route]]\nid = \"r\"\nteam = \"ig\"\n",
            vec![Expect {
                line: 17,
                section: route("r"),
                key: None,
                contains: "at least one of anywhere",
            }],
        ),
        (
            "[[route]]\nid = \"r\"\nteam = \"ig\"\nkinds = [\"auto\"]\nanywhere = [\"x\"]\n",
            vec![Expect {
                line: 20,
                section: route("r"),
                key: Some("kinds"),
                contains: "never routed",
            }],
        ),
        (
            "[[route]]\nid = \"r\"\nteam = \"ig\"\nkinds = [\"fio\"]\nanywhere = [\"x\"]\n",
            vec![Expect {
                line: 20,
                section: route("r"),
                key: Some("kinds"),
                contains: "unknown kind \"fio\"",
            }],
        ),
        (
            "[[route]]\nid = \"r\"\nteam = \"ig\"\npriority = 5000\nanywhere = [\"x\"]\n",
            vec![Expect {
                line: 20,
                section: route("r"),
                key: Some("priority"),
                contains: "out of range",
            }],
        ),
        (
            "[[route]]\nid = \"r\"\nteam = \"ig\"\nanywhere = [\"  \"]\n",
            vec![Expect {
                line: 20,
                section: route("r"),
                key: Some("anywhere pattern 1"),
                contains: "empty string",
            }],
        ),
        (
            "[[route]]\nteam = \"ig\"\nanywhere = [\"x\"]\n",
            vec![Expect {
                line: 17,
                section: None,
                key: Some("id"),
                contains: "has no id",
            }],
        ),
        (
            "[[route]]\nid = \"Bad Id\"\nteam = \"ig\"\nanywhere = [\"x\"]\n",
            vec![Expect {
                line: 18,
                section: None,
                key: Some("id"),
                contains: "not allowed",
            }],
        ),
        (
            "[[route]]\nid = \"r\"\nteam = \"ig\"\nanywhere = [\"x\"]\n\
             [[route]]\nid = \"r\"\nteam = \"ig\"\nanywhere = [\"y\"]\n",
            vec![Expect {
                line: 21,
                section: route("r"),
                key: Some("id"),
                contains: "duplicate route id; it is already used at line 17",
            }],
        ),
        (
            "[[team]]\nid = \"ig\"\nname = \"Again\"\nmanager = \"m@example.org\"\nmembers = {}\n\
             assign = \"inbox\"\ninbox = \"i@example.org\"\n",
            vec![Expect {
                line: 17,
                section: team("ig"),
                key: Some("id"),
                contains: "duplicate team id; it is already used at line 11",
            }],
        ),
        (
            "[[team]]\nid = \"t\"\nname = \"T\"\nmanager = \"m@example.org\"\n\
             members = { dave = \"dave@example.org\" }\nassign = \"zed\"\n",
            vec![Expect {
                line: 22,
                section: team("t"),
                key: Some("assign"),
                contains: "unknown member handle \"zed\"; the team's members are: dave",
            }],
        ),
        (
            "[[team]]\nid = \"t\"\nname = \"T\"\nmanager = \"m@example.org\"\n\
             members = { alice = \"other.alice@example.org\" }\n",
            vec![Expect {
                line: 21,
                section: team("t"),
                key: Some("members.alice"),
                contains: "one handle must be one person",
            }],
        ),
        (
            "[[team]]\nid = \"t\"\nname = \"T\"\nmanager = \"m@example.org\"\n\
             members = { al = \"alice@example.org\" }\n",
            vec![Expect {
                line: 21,
                section: team("t"),
                key: Some("members.al"),
                contains: "already has the handle \"alice\"",
            }],
        ),
        (
            "[[team]]\nid = \"t\"\nname = \"T\"\nmanager = \"m@example.org\"\n\
             members = { ig = \"someone@example.org\" }\n",
            vec![Expect {
                line: 21,
                section: team("t"),
                key: Some("members.ig"),
                contains: "also a team id",
            }],
        ),
        (
            "[[team]]\nid = \"t\"\nname = \"T\"\nmanager = \"m@example.org\"\n\
             members = { round_robin = \"rr@example.org\" }\n",
            vec![Expect {
                line: 21,
                section: team("t"),
                key: Some("members.round_robin"),
                contains: "cannot be a handle",
            }],
        ),
        (
            "[[team]]\nid = \"t\"\nname = \"T\"\nmanager = \"Boss <m@example.org>\"\nmembers = { dave = \"dave\" }\n",
            vec![
                Expect {
                    line: 20,
                    section: team("t"),
                    key: Some("manager"),
                    contains: "is not an e-mail address",
                },
                Expect {
                    line: 21,
                    section: team("t"),
                    key: Some("members.dave"),
                    contains: "is not an e-mail address",
                },
            ],
        ),
        (
            "[[team]]\nid = \"t\"\n",
            vec![
                Expect {
                    line: 17,
                    section: team("t"),
                    key: Some("name"),
                    contains: "missing",
                },
                Expect {
                    line: 17,
                    section: team("t"),
                    key: Some("manager"),
                    contains: "missing",
                },
                Expect {
                    line: 17,
                    section: team("t"),
                    key: Some("members"),
                    contains: "missing",
                },
            ],
        ),
        (
            "[[team]]\nid = \"t\"\nname = \"T\"\nmanager = \"m@example.org\"\nmembers = {}\n",
            vec![Expect {
                line: 17,
                section: team("t"),
                key: Some("assign"),
                contains: "round robin needs at least one member",
            }],
        ),
        (
            "[[team]]\nid = \"t\"\nname = \"T\"\nmanager = \"m@example.org\"\nmembers = {}\nassign = \"inbox\"\n",
            vec![Expect {
                line: 22, // the assign line
                section: team("t"),
                key: Some("assign"),
                contains: "needs the team's inbox",
            }],
        ),
        (
            "[[team]]\nid = \"t\"\nname = \"T\"\nmanager = \"m@example.org\"\nmembers = [\"dave\"]\n",
            vec![Expect {
                line: 21,
                section: team("t"),
                key: Some("members"),
                contains: "expected a table of handle",
            }],
        ),
        (
            "[[team]]\nid = \"t\"\nname = \"T\"\nmanagr = \"m@example.org\"\nmembers = {}\n",
            vec![
                Expect {
                    line: 17,
                    section: team("t"),
                    key: Some("manager"),
                    contains: "missing",
                },
                Expect {
                    line: 17,
                    section: team("t"),
                    key: Some("assign"),
                    contains: "round robin",
                },
                Expect {
                    line: 20,
                    section: team("t"),
                    key: Some("managr"),
                    contains: "did you mean \"manager\"",
                },
            ],
        ),
        (
            "[rout]\nx = 1\n",
            vec![Expect {
                line: 17,
                section: None,
                key: Some("rout"),
                contains: "did you mean \"route\"",
            }],
        ),
    ];
    for (snippet, expected) in cases {
        let text = format!("{MINI}{snippet}");
        let got = errors_of(&text);
        assert_eq!(
            got.len(),
            expected.len(),
            "{snippet}\ngot: {}",
            got.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        );
        // Errors come in line order; equal lines keep the order they were found in.
        let mut got_sorted = got.clone();
        got_sorted.sort_by_key(|e| (e.line, e.key.clone()));
        let mut want: Vec<&Expect> = expected.iter().collect();
        want.sort_by_key(|e| (e.line, e.key));
        for (g, w) in got_sorted.iter().zip(want) {
            assert_eq!(g.origin, "test.toml");
            assert_eq!(g.line, Some(w.line), "{g}");
            assert_eq!(g.section, w.section, "{g}");
            assert_eq!(g.key.as_deref(), w.key, "{g}");
            assert!(
                g.message.contains(w.contains),
                "{g}\nwanted: {}",
                w.contains
            );
        }
    }
}

#[test]
fn defaults_must_cover_every_kind_but_auto() {
    let cases: &[(&str, &str)] = &[
        // (the [defaults] body, a piece of the one expected error)
        (
            "foi = \"ig\"\neir = \"ig\"\nsar = \"ig\"\nmedia = \"ig\"\nmember_enquiry = \"ig\"\ncomplaint = \"ig\"\n",
            "no default team for general",
        ),
        (
            "foi = \"ig\"\n",
            "no default team for eir, sar, media, member_enquiry, complaint, general",
        ),
        (
            "foi = \"ig\"\neir = \"ig\"\nsar = \"ig\"\nmedia = \"ig\"\nmember_enquiry = \"ig\"\ncomplaint = \"ig\"\ngeneral = \"nobody\"\n",
            "unknown team \"nobody\"",
        ),
        (
            "foi = \"ig\"\neir = \"ig\"\nsar = \"ig\"\nmedia = \"ig\"\nmember_enquiry = \"ig\"\ncomplaint = \"ig\"\ngeneral = \"ig\"\nauto = \"ig\"\n",
            "never routed",
        ),
        (
            "foi = \"ig\"\neir = \"ig\"\nsar = \"ig\"\nmedia = \"ig\"\nmember_enquiry = \"ig\"\ncomplaint = \"ig\"\ngeneral = \"ig\"\nfoia = \"ig\"\n",
            "unknown kind; did you mean \"foi\"?",
        ),
        (
            "foi = \"ig\"\neir = \"ig\"\nsar = \"ig\"\nmedia = \"ig\"\nmember_enquiry = \"ig\"\ncomplaint = \"ig\"\ngeneral = 3\n",
            "expected a team id in quotes",
        ),
    ];
    let team = "[[team]]\nid = \"ig\"\nname = \"IG\"\nmanager = \"m@example.org\"\nmembers = { a = \"a@example.org\" }\n";
    for (defaults, want) in cases {
        let text = format!("[defaults]\n{defaults}\n{team}");
        let errs = errors_of(&text);
        assert_eq!(errs.len(), 1, "{defaults}: {errs:?}");
        assert_eq!(errs[0].section, Some(RoutingSection::Defaults));
        assert!(errs[0].message.contains(want), "{}", errs[0]);
    }
    let no_defaults = errors_of(team);
    assert_eq!(no_defaults.len(), 1);
    assert!(
        no_defaults[0]
            .message
            .contains("no default team for foi, eir, sar")
    );
}

#[test]
fn all_problems_come_back_at_once_in_line_order() {
    let text = format!(
        "{MINI}
[[team]]
id = \"t\"
name = \"T\"
manager = \"nope\"
members = {{ dave = \"dave@example.org\" }}

[[route]]
id = \"a\"
team = \"ghost\"
anywhere = [\"x\"]

[[route]]
id = \"b\"
team = \"ig\"
subject_regex = ['[']
body = [\"ok\", 5]
"
    );
    let errs = errors_of(&text);
    let shown: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    assert_eq!(shown.len(), 4, "{shown:#?}");
    assert!(shown[0].starts_with("test.toml:21: team \"t\": manager: \"nope\" is not"));
    assert!(shown[1].starts_with("test.toml:26: route \"a\": team: unknown team \"ghost\""));
    assert!(
        shown[2]
            .starts_with("test.toml:32: route \"b\": subject_regex pattern 1: regex parse error")
    );
    assert!(shown[3].starts_with("test.toml:33: route \"b\": body pattern 2: expected a string"));
    let lines: Vec<_> = errs.iter().map(|e| e.line).collect();
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted);
    let all = RoutingErrors { errors: errs }.to_string();
    assert!(
        all.ends_with("4 errors in the routing file; it was not loaded"),
        "{all}"
    );
}

#[test]
fn toml_syntax_errors_stop_with_a_line() {
    let errs = errors_of("[defaults]\nfoi = \"ig\n");
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].line, Some(2));
    assert!(
        errs[0].message.starts_with("TOML syntax error"),
        "{}",
        errs[0]
    );
}

#[test]
fn disabled_routes_are_checked_but_never_fire() {
    let ok = format!(
        "{MINI}[[route]]\nid = \"off\"\nteam = \"ig\"\nenabled = false\nanywhere = [\"x\"]\n"
    );
    let r = load(&ok).unwrap();
    assert!(r.routes().is_empty());
    assert_eq!(r.route(Kind::Foi, "x", "x", 0).unwrap().rule, None);
    let bad = format!(
        "{MINI}[[route]]\nid = \"off\"\nteam = \"ig\"\nenabled = false\nanywhere = ['x']\nbody_regex = ['(']\n"
    );
    assert_eq!(errors_of(&bad).len(), 1);
}

#[test]
fn unused_team_is_a_warning_not_an_error() {
    let text = format!(
        "{MINI}[[team]]\nid = \"spare\"\nname = \"Spare\"\nmanager = \"s@example.org\"\nmembers = {{ zed = \"zed@example.org\" }}\n"
    );
    let r = load(&text).unwrap();
    assert_eq!(r.warnings().len(), 1);
    assert_eq!(
        r.warnings()[0].section,
        Some(RoutingSection::Team("spare".into()))
    );
    assert_eq!(r.warnings()[0].line, Some(17));
}

#[test]
fn load_reads_a_file_and_reports_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("routing.toml");
    std::fs::write(&path, MINI).unwrap();
    let r = Routing::load(&path).unwrap();
    assert_eq!(r.origin(), path.display().to_string());
    let missing = dir.path().join("nope.toml");
    let err = Routing::load(&missing).unwrap_err();
    assert_eq!(err.errors.len(), 1);
    assert!(
        err.errors[0]
            .message
            .starts_with("cannot read the routing file")
    );
    assert_eq!(err.errors[0].origin, missing.display().to_string());
}

#[test]
fn staff_lookups() {
    let r = default_routing();
    // (address, is staff)
    let cases = [
        ("alice.smith@example.org", true),
        ("  Alice.Smith@Example.ORG ", true),
        ("ig.manager@example.org", true),
        ("director.childrens@example.org", true),
        ("foi@example.org", false), // a team inbox is not a person
        ("press@example.org", false),
        ("alice.smith@example.com", false),
        ("", false),
        ("requester@gmail.com", false),
    ];
    for (addr, want) in cases {
        assert_eq!(r.is_staff(addr), want, "{addr:?}");
    }
    assert_eq!(
        r.manager_of("planning"),
        Some("planning.manager@example.org")
    );
    assert_eq!(
        r.head_of_service_of("planning"),
        Some("head.planning@example.org")
    );
    assert_eq!(r.head_of_service_of("press-office"), None);
    assert_eq!(r.manager_of("nope"), None);
    assert_eq!(r.head_of_service_of("nope"), None);
    let alice = r.member_by_handle("@Alice").unwrap();
    assert_eq!(alice.address, "alice.smith@example.org");
    assert!(r.member_by_handle("zz").is_none());
    assert_eq!(
        r.member_by_address("KATE.BROWN@example.org")
            .map(|m| m.handle.as_str()),
        Some("kate")
    );
    assert_eq!(
        r.team("waste").map(|t| t.name.as_str()),
        Some("Waste and Recycling")
    );
}

#[test]
fn hand_rerouting_targets() {
    let text = format!(
        "{MINI}
[[team]]
id = \"roads\"
name = \"Roads\"
manager = \"roads.boss@example.org\"
members = {{ dave = \"dave@example.org\", bob = \"bob@example.org\" }}
"
    );
    let r = load(&text).unwrap();
    // (target, current team, counter, Ok((team, assignee)) or Err(piece of message))
    type Want = Result<(&'static str, Option<&'static str>), &'static str>;
    let cases: &[(&str, Option<&str>, u64, Want)] = &[
        ("alice", None, 0, Ok(("ig", Some("alice@example.org")))),
        (
            "@Alice",
            Some("roads"),
            0,
            Ok(("ig", Some("alice@example.org"))),
        ),
        (
            "dave",
            Some("ig"),
            0,
            Ok(("roads", Some("dave@example.org"))),
        ),
        // bob is in both teams: keep the current one when he is in it...
        (
            "bob",
            Some("roads"),
            0,
            Ok(("roads", Some("bob@example.org"))),
        ),
        ("bob", Some("ig"), 0, Ok(("ig", Some("bob@example.org")))),
        // ...else the first team in the file.
        ("bob", None, 0, Ok(("ig", Some("bob@example.org")))),
        (
            "roads/bob",
            Some("ig"),
            0,
            Ok(("roads", Some("bob@example.org"))),
        ),
        (
            "DAVE@example.org",
            None,
            0,
            Ok(("roads", Some("dave@example.org"))),
        ),
        (
            "roads",
            Some("ig"),
            0,
            Ok(("roads", Some("dave@example.org"))),
        ),
        (
            "roads",
            Some("ig"),
            1,
            Ok(("roads", Some("bob@example.org"))),
        ),
        ("ig", None, 2, Ok(("ig", Some("carol@example.org")))),
        ("", None, 0, Err("say who or which team")),
        ("  ", None, 0, Err("say who or which team")),
        (
            "alcie",
            None,
            0,
            Err("\"alcie\" is not a team or a member handle; did you mean \"alice\"?"),
        ),
        ("rodas", None, 0, Err("did you mean \"roads\"?")),
        ("zzzzzz", None, 0, Err("is not a team or a member handle")),
        (
            "ig/dave",
            None,
            0,
            Err("dave is not a member of team ig; its members are: alice, bob, carol"),
        ),
        ("nowhere/dave", None, 0, Err("\"nowhere\" is not a team")),
        (
            "stranger@example.org",
            None,
            0,
            Err("is not a team or a member handle"),
        ),
    ];
    for (target, current, counter, want) in cases {
        let got = r.reroute(target, Kind::Foi, *current, *counter);
        match (got, want) {
            (Ok(g), Ok((team, assignee))) => {
                assert_eq!(g.team, *team, "{target:?}: {}", g.why);
                assert_eq!(g.assignee.as_deref(), *assignee, "{target:?}: {}", g.why);
                assert!(g.why.contains("by hand"), "{}", g.why);
            }
            (Err(e), Err(piece)) => assert!(e.to_string().contains(piece), "{target:?}: {e}"),
            (got, want) => panic!("{target:?}: got {got:?}, wanted {want:?}"),
        }
    }
}

#[test]
fn error_display_has_every_part() {
    let e = RoutingError {
        origin: "routing.toml".into(),
        line: Some(12),
        section: Some(RoutingSection::Route("planning".into())),
        key: Some("body_regex pattern 2".into()),
        message: "regex parse error: unclosed group".into(),
    };
    assert_eq!(
        e.to_string(),
        "routing.toml:12: route \"planning\": body_regex pattern 2: regex parse error: unclosed group"
    );
    let e = RoutingError {
        origin: "routing.toml".into(),
        line: None,
        section: Some(RoutingSection::Defaults),
        key: None,
        message: "m".into(),
    };
    assert_eq!(e.to_string(), "routing.toml: [defaults]: m");
}

#[test]
fn settings_default_parse_and_validate() {
    let d = RoutingSettings::default();
    assert_eq!(d.file, std::path::PathBuf::from("routing.toml"));
    assert!(d.validate("routing").is_empty());
    // (toml, error keys)
    let cases: &[(&str, &[&str])] = &[
        ("", &[]),
        ("file = \"/etc/foi-triage/routing.toml\"", &[]),
        ("file = \"\"", &["routing.file"]),
    ];
    for (text, keys) in cases {
        let s: RoutingSettings = toml::from_str(text).unwrap();
        let got: Vec<String> = s.validate("routing").into_iter().map(|e| e.key).collect();
        assert_eq!(got, *keys, "{text:?}");
    }
    assert!(toml::from_str::<RoutingSettings>("path = \"x\"").is_err());
}

proptest! {
    #[test]
    fn routing_never_panics(subject in "\\PC{0,200}", body in "\\PC{0,2000}", counter: u64, k in 0usize..8) {
        let r = default_routing();
        let kind = Kind::ALL[k];
        let d = r.route(kind, &subject, &body, counter);
        prop_assert_eq!(d.is_some(), kind != Kind::Auto);
        if let Some(d) = d {
            prop_assert!(r.team(&d.team).is_some());
            prop_assert!(!d.why.is_empty());
        }
    }

    #[test]
    fn loading_never_panics(text in "\\PC{0,400}") {
        let _ = load(&text);
        let _ = load(&format!("{MINI}{text}"));
    }

    #[test]
    fn any_values_in_a_well_formed_file_never_panic(
        team_id in "\\PC{0,12}",
        handle in "\\PC{0,8}",
        address in "\\PC{0,20}",
        assign in "\\PC{0,8}",
        kind in "\\PC{0,8}",
        phrase in "\\PC{0,12}",
        regex in "\\PC{0,12}",
        priority in -2000i64..2000,
        subject in "\\PC{0,40}",
    ) {
        use toml::{Table, Value};
        let mut team = Table::new();
        team.insert("id".into(), Value::String(team_id.clone()));
        team.insert("name".into(), Value::String("T".into()));
        team.insert("manager".into(), Value::String(address.clone()));
        team.insert("assign".into(), Value::String(assign));
        let mut members = Table::new();
        members.insert(handle, Value::String(address));
        team.insert("members".into(), Value::Table(members));
        let mut route = Table::new();
        route.insert("id".into(), Value::String("r".into()));
        route.insert("team".into(), Value::String(team_id.clone()));
        route.insert("kinds".into(), Value::Array(vec![Value::String(kind)]));
        route.insert("priority".into(), Value::Integer(priority));
        route.insert("anywhere".into(), Value::Array(vec![Value::String(phrase)]));
        route.insert("body_regex".into(), Value::Array(vec![Value::String(regex)]));
        let mut defaults = Table::new();
        for k in load::ROUTED_KINDS {
            defaults.insert(k.as_str().into(), Value::String(team_id.clone()));
        }
        let mut doc = Table::new();
        doc.insert("defaults".into(), Value::Table(defaults));
        doc.insert("team".into(), Value::Array(vec![Value::Table(team)]));
        doc.insert("route".into(), Value::Array(vec![Value::Table(route)]));
        let text = toml::to_string(&doc).unwrap();
        match load(&text) {
            Ok(r) => {
                for k in Kind::ALL {
                    let d = r.route(k, &subject, &subject, priority.unsigned_abs());
                    prop_assert_eq!(d.is_some(), k != Kind::Auto);
                }
            }
            Err(e) => {
                prop_assert!(!e.errors.is_empty());
                // Every error points at a line of the file.
                let n = text.lines().count();
                for err in &e.errors {
                    prop_assert!(err.line.is_some_and(|l| l >= 1 && l <= n.max(1)), "{}", err);
                }
            }
        }
    }

    #[test]
    fn reroute_never_panics(target in "\\PC{0,40}", counter: u64) {
        let r = default_routing();
        let _ = r.reroute(&target, Kind::Foi, Some("planning"), counter);
    }
}

/// The example of the README's "Checking a change": problems inside a team or route that has
/// other problems are still found (a broken team still counts as known, its handles are still
/// compared).
const README_BAD: &str = r#"[defaults]
foi = "information-governance"
eir = "information-governance"
sar = "information-governance"
media = "press-office"
member_enquiry = "member-services"
complaint = "customer-feedback"

[[team]]
id = "information-governance"
name = "Information Governance"
manager = "ig.manager@example.org"
assign = "alcie"
members = { alice = "alice.smith@example.org", bilal = "bilal.ahmed@example.org" }

[[team]]
id = "planning"
name = "Planning"
managr = "planning.manager@example.org"
members = { alice = "alice.jones@example.org" }

[[route]]
id = "planning"
team = "planing"
anywhere = ["planning application"]
body_regex = ['\d{2}/\d{4,5}/(FUL']
"#;

#[test]
fn problems_inside_broken_teams_and_routes_are_still_found() {
    let errs = errors_of(README_BAD);
    // (line, piece of the displayed error)
    let want: &[(usize, &str)] = &[
        (1, "[defaults]: no default team for general"),
        (5, "[defaults]: media: unknown team \"press-office\""),
        (
            6,
            "[defaults]: member_enquiry: unknown team \"member-services\"",
        ),
        (
            7,
            "[defaults]: complaint: unknown team \"customer-feedback\"",
        ),
        (
            13,
            "team \"information-governance\": assign: unknown member handle \"alcie\"",
        ),
        (16, "team \"planning\": manager: missing"),
        (
            19,
            "team \"planning\": managr: unknown key; did you mean \"manager\"?",
        ),
        (
            20,
            "team \"planning\": members.alice: handle \"alice\" is alice.smith@example.org in team \"information-governance\" (line 14) but alice.jones@example.org here",
        ),
        (
            24,
            "route \"planning\": team: unknown team \"planing\"; did you mean \"planning\"?",
        ),
        (
            26,
            "route \"planning\": body_regex pattern 1: regex parse error: unclosed group",
        ),
    ];
    assert_eq!(errs.len(), want.len(), "{errs:#?}");
    for (e, (line, piece)) in errs.iter().zip(want) {
        assert_eq!(e.line, Some(*line), "{e}");
        assert!(e.to_string().contains(piece), "{e}\nwanted: {piece}");
    }
}
