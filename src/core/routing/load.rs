//! Reading a routing file: TOML text → a checked [`Routing`], with every problem collected.
//!
//! The file is walked by hand over `toml`'s spanned document (not through `serde`), so that one
//! pass reports every unknown key, bad type, bad regex, duplicate id and unknown reference with its
//! line, instead of stopping at the first (the same approach as `rules/file.rs`). The format is
//! documented for officers in `rules/README.md` ("Routing").

use super::{
    Assignment, Defaults, Member, Pattern, Place, Route, Routing, RoutingError, RoutingErrors,
    Section, Syntax, Team,
};
use crate::model::kind::Kind;
use regex::{Regex, RegexBuilder};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Largest absolute `priority` a route may carry: a typo guard (`priority = 50000`), and far more
/// levels than any routing file needs.
pub const MAX_ABS_PRIORITY: i64 = 1000;

/// Longest id or handle, in characters: ids appear in audit lines and `#assign` commands, so
/// they stay short enough to type.
const MAX_ID_LEN: usize = 60;

/// Compiled size limit for one regular expression, in bytes: an officer's pattern that explodes
/// when compiled (e.g. `\w{1000}`) is reported instead of eating memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Words a handle cannot be, because `assign = "..."` gives them a meaning of their own.
const RESERVED_HANDLES: &[&str] = &["round_robin", "inbox", "manager"];

/// The kinds that must have a default team, in the order officers read them (the README's).
pub(super) const ROUTED_KINDS: [Kind; 7] = [
    Kind::Foi,
    Kind::Eir,
    Kind::Sar,
    Kind::Media,
    Kind::MemberEnquiry,
    Kind::Complaint,
    Kind::General,
];

const TOP_KEYS: &[&str] = &["team", "route", "defaults"];
const TEAM_KEYS: &[&str] = &[
    "id",
    "name",
    "description",
    "members",
    "manager",
    "head_of_service",
    "inbox",
    "assign",
    "assign_for",
];
const ROUTE_KEYS: &[&str] = &[
    "id",
    "team",
    "kinds",
    "priority",
    "description",
    "enabled",
    "anywhere",
    "anywhere_regex",
    "subject",
    "subject_regex",
    "body",
    "body_regex",
    "unless",
    "unless_regex",
];

/// Maps byte offsets to 1-based line numbers.
struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines { starts }
    }

    fn of(&self, span: Range<usize>) -> usize {
        match self.starts.binary_search(&span.start) {
            Ok(i) => i + 1,
            Err(i) => i.max(1),
        }
    }
}

/// Collects problems, stamping each with the origin.
struct Sink<'a> {
    origin: &'a str,
    errors: Vec<RoutingError>,
    warnings: Vec<RoutingError>,
}

impl Sink<'_> {
    fn error(&mut self, line: usize, section: Option<Section>, key: Option<&str>, msg: String) {
        self.errors.push(RoutingError {
            origin: self.origin.to_string(),
            line: Some(line),
            section,
            key: key.map(str::to_string),
            message: msg,
        });
    }

    fn warn(&mut self, line: usize, section: Option<Section>, key: Option<&str>, msg: String) {
        self.warnings.push(RoutingError {
            origin: self.origin.to_string(),
            line: Some(line),
            section,
            key: key.map(str::to_string),
            message: msg,
        });
    }
}

type Table<'a> = DeTable<'a>;
type Value<'a> = Spanned<DeValue<'a>>;

fn key_str<'k>(k: &'k Spanned<Cow<'_, str>>) -> &'k str {
    k.get_ref().as_ref()
}

/// A team as read, before cross-checks.
struct RawTeam {
    team: Team,
    line: usize,
    /// `assign = "alice"` (and in `assign_for`): the handle, its line and key, checked once
    /// members are known.
    fixed: Vec<(String, usize, String)>,
    /// Line of each member, for cross-team handle checks.
    member_lines: Vec<usize>,
    /// Every well-formed handle written, even one whose address is wrong, so `assign` pointing
    /// at it is not reported a second time.
    handles_written: Vec<String>,
}

/// A route as read, before its team is checked.
struct RawRoute {
    route: Route,
    line: usize,
    team_line: usize,
    /// `enabled = false`: checked like any route, then left out.
    enabled: bool,
}

/// Parse and check a whole routing file. See [`Routing::from_toml`].
pub(super) fn parse(text: &str, origin: &str) -> Result<Routing, RoutingErrors> {
    let lines = Lines::new(text);
    let mut sink = Sink {
        origin,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let (doc, syntax_errors) = DeTable::parse_recoverable(text);
    if !syntax_errors.is_empty() {
        // A recovered document may be partial: checking it would add confusing follow-on errors.
        for e in syntax_errors {
            sink.errors.push(RoutingError {
                origin: origin.to_string(),
                line: e.span().map(|s| lines.of(s)),
                section: None,
                key: None,
                message: format!("TOML syntax error: {}", e.message().trim()),
            });
        }
        return Err(RoutingErrors {
            errors: sink.errors,
        });
    }

    let mut teams: Vec<RawTeam> = Vec::new();
    let mut routes: Vec<RawRoute> = Vec::new();
    let mut defaults_raw: Vec<(Kind, String, usize)> = Vec::new();
    let mut defaults_line: Option<usize> = None;
    for (key, value) in doc.get_ref().iter() {
        let line = lines.of(key.span());
        match key_str(key) {
            "team" => match value.get_ref() {
                DeValue::Array(items) => {
                    for item in items.iter() {
                        if let Some(t) = parse_team(item, &lines, &mut sink) {
                            teams.push(t);
                        }
                    }
                }
                other => sink.error(
                    line,
                    None,
                    Some("team"),
                    format!(
                        "teams must be written as [[team]] tables, found {}",
                        other.type_str()
                    ),
                ),
            },
            "route" => match value.get_ref() {
                DeValue::Array(items) => {
                    for item in items.iter() {
                        if let Some(r) = parse_route(item, &lines, &mut sink) {
                            routes.push(r);
                        }
                    }
                }
                other => sink.error(
                    line,
                    None,
                    Some("route"),
                    format!(
                        "routes must be written as [[route]] tables, found {}",
                        other.type_str()
                    ),
                ),
            },
            "defaults" => {
                defaults_line = Some(line);
                parse_defaults(value, &lines, &mut sink, &mut defaults_raw);
            }
            other => sink.error(
                line,
                None,
                Some(other),
                format!(
                    "unknown top-level key{}; a routing file holds [[team]] tables, [[route]] \
                     tables and one [defaults] table",
                    suggest(other, TOP_KEYS)
                ),
            ),
        }
    }

    cross_check(
        teams,
        routes,
        defaults_raw,
        defaults_line,
        &mut sink,
        origin,
    )
}

/// Checks that look across the whole file: duplicate ids, handles, references, defaults.
fn cross_check(
    teams: Vec<RawTeam>,
    routes: Vec<RawRoute>,
    defaults_raw: Vec<(Kind, String, usize)>,
    defaults_line: Option<usize>,
    sink: &mut Sink<'_>,
    origin: &str,
) -> Result<Routing, RoutingErrors> {
    // Duplicate team ids.
    let mut team_ids: BTreeMap<String, usize> = BTreeMap::new();
    let mut kept_teams: Vec<RawTeam> = Vec::new();
    for t in teams {
        if let Some(first) = team_ids.get(&t.team.id) {
            sink.error(
                t.line,
                Some(Section::Team(t.team.id.clone())),
                Some("id"),
                format!("duplicate team id; it is already used at line {first}"),
            );
            continue;
        }
        team_ids.insert(t.team.id.clone(), t.line);
        kept_teams.push(t);
    }

    // Handles: one handle is one person everywhere, and one person has one handle.
    let mut by_handle: BTreeMap<String, (String, String, usize)> = BTreeMap::new();
    let mut by_address: BTreeMap<String, (String, String, usize)> = BTreeMap::new();
    for t in &kept_teams {
        let section = Section::Team(t.team.id.clone());
        for (m, &line) in t.team.members.iter().zip(&t.member_lines) {
            let key = format!("members.{}", m.handle);
            if team_ids.contains_key(&m.handle) {
                sink.error(
                    line,
                    Some(section.clone()),
                    Some(&key),
                    format!(
                        "handle {:?} is also a team id; `#assign {}` would be ambiguous: pick \
                         another handle",
                        m.handle, m.handle
                    ),
                );
            }
            match by_handle.get(&m.handle) {
                Some((addr, team, first)) if *addr != m.address => sink.error(
                    line,
                    Some(section.clone()),
                    Some(&key),
                    format!(
                        "handle {:?} is {addr} in team {team:?} (line {first}) but {} here; one \
                         handle must be one person in every team",
                        m.handle, m.address
                    ),
                ),
                Some(_) => {}
                None => {
                    by_handle.insert(
                        m.handle.clone(),
                        (m.address.clone(), t.team.id.clone(), line),
                    );
                }
            }
            match by_address.get(&m.address) {
                Some((handle, team, first)) if *handle != m.handle => sink.error(
                    line,
                    Some(section.clone()),
                    Some(&key),
                    format!(
                        "{} already has the handle {handle:?} in team {team:?} (line {first}); \
                         give a person the same handle in every team",
                        m.address
                    ),
                ),
                Some(_) => {}
                None => {
                    by_address.insert(
                        m.address.clone(),
                        (m.handle.clone(), t.team.id.clone(), line),
                    );
                }
            }
        }
        for (handle, line, key) in &t.fixed {
            if t.handles_written.contains(handle) {
                continue;
            }
            sink.error(
                *line,
                Some(section.clone()),
                Some(key),
                format!(
                    "unknown member handle {handle:?}; the team's members are: {}",
                    list_or_none(t.team.members.iter().map(|m| m.handle.as_str()))
                ),
            );
        }
    }

    // Routes: duplicate ids and unknown teams.
    let mut route_ids: BTreeMap<String, usize> = BTreeMap::new();
    let mut kept_routes: Vec<Route> = Vec::new();
    let known_teams: Vec<&str> = team_ids.keys().map(String::as_str).collect();
    for r in routes {
        let section = Section::Route(r.route.id.clone());
        if let Some(first) = route_ids.get(&r.route.id) {
            sink.error(
                r.line,
                Some(section),
                Some("id"),
                format!("duplicate route id; it is already used at line {first}"),
            );
            continue;
        }
        route_ids.insert(r.route.id.clone(), r.line);
        if !team_ids.contains_key(&r.route.team) {
            sink.error(
                r.team_line,
                Some(section),
                Some("team"),
                format!(
                    "unknown team {:?}{}",
                    r.route.team,
                    suggest(&r.route.team, &known_teams)
                ),
            );
            continue;
        }
        if r.enabled {
            kept_routes.push(r.route);
        }
    }

    // Defaults: every kind but auto, each to a known team.
    let mut defaults = Defaults::default();
    for (kind, team, line) in defaults_raw {
        if !team_ids.contains_key(&team) {
            sink.error(
                line,
                Some(Section::Defaults),
                Some(kind.as_str()),
                format!("unknown team {team:?}{}", suggest(&team, &known_teams)),
            );
            continue;
        }
        defaults.set(kind, team);
    }
    let missing: Vec<&str> = ROUTED_KINDS
        .into_iter()
        .filter(|k| !defaults.has(*k))
        .map(Kind::as_str)
        .collect();
    // Only say "missing" for kinds not already reported as pointing at an unknown team.
    let reported: Vec<String> = sink
        .errors
        .iter()
        .filter(|e| e.section == Some(Section::Defaults))
        .filter_map(|e| e.key.clone())
        .collect();
    let missing: Vec<&str> = missing
        .into_iter()
        .filter(|k| !reported.iter().any(|r| r == k))
        .collect();
    if !missing.is_empty() {
        sink.error(
            defaults_line.unwrap_or(1),
            Some(Section::Defaults),
            None,
            format!(
                "no default team for {}; every kind except auto must have one, e.g. \
                 `[defaults]` then `{} = \"information-governance\"`",
                missing.join(", "),
                missing.first().copied().unwrap_or("foi")
            ),
        );
    }

    // Warnings: teams nothing routes to (they can still get cases by hand).
    for t in &kept_teams {
        let used = kept_routes.iter().any(|r| r.team == t.team.id)
            || defaults.teams().any(|d| d == t.team.id);
        if !used {
            sink.warn(
                t.line,
                Some(Section::Team(t.team.id.clone())),
                None,
                "no route and no default sends cases to this team; it only gets cases \
                 re-routed by hand"
                    .to_string(),
            );
        }
    }

    if !sink.errors.is_empty() {
        sink.errors.sort_by_key(|e| e.line.unwrap_or(0));
        return Err(RoutingErrors {
            errors: std::mem::take(&mut sink.errors),
        });
    }
    Ok(Routing {
        origin: origin.to_string(),
        teams: kept_teams.into_iter().map(|t| t.team).collect(),
        routes: kept_routes,
        defaults,
        warnings: std::mem::take(&mut sink.warnings),
    })
}

fn parse_defaults(
    value: &Value<'_>,
    lines: &Lines,
    sink: &mut Sink<'_>,
    out: &mut Vec<(Kind, String, usize)>,
) {
    let DeValue::Table(table) = value.get_ref() else {
        sink.error(
            lines.of(value.span()),
            Some(Section::Defaults),
            None,
            format!(
                "`defaults` must be a [defaults] table of kind = \"team-id\", found {}",
                value.get_ref().type_str()
            ),
        );
        return;
    };
    for (key, v) in table.iter() {
        let line = lines.of(key.span());
        let name = key_str(key);
        let kind = match name.parse::<Kind>() {
            Ok(Kind::Auto) => {
                sink.error(
                    line,
                    Some(Section::Defaults),
                    Some(name),
                    "auto mail (bounces, out-of-office) is never routed; remove this line".into(),
                );
                continue;
            }
            Ok(k) if k.as_str() == name => k,
            _ => {
                let kinds: Vec<&str> = ROUTED_KINDS.into_iter().map(Kind::as_str).collect();
                sink.error(
                    line,
                    Some(Section::Defaults),
                    Some(name),
                    format!(
                        "unknown kind{}; the kinds are: {}",
                        suggest(name, &kinds),
                        kinds.join(", ")
                    ),
                );
                continue;
            }
        };
        match v.get_ref() {
            DeValue::String(s) => out.push((kind, s.trim().to_string(), line)),
            other => sink.error(
                line,
                Some(Section::Defaults),
                Some(name),
                format!("expected a team id in quotes, found {}", other.type_str()),
            ),
        }
    }
}

/// Find `id` first so every later problem can name the team or route.
fn read_id(
    table: &Table<'_>,
    lines: &Lines,
    sink: &mut Sink<'_>,
    line: usize,
    what: &str,
) -> Option<String> {
    match table.iter().find(|(k, _)| key_str(k) == "id") {
        Some((k, v)) => match v.get_ref() {
            DeValue::String(s) => match check_id(s) {
                Ok(()) => Some(s.to_string()),
                Err(msg) => {
                    sink.error(lines.of(k.span()), None, Some("id"), msg);
                    None
                }
            },
            other => {
                sink.error(
                    lines.of(k.span()),
                    None,
                    Some("id"),
                    format!("expected a string, found {}", other.type_str()),
                );
                None
            }
        },
        None => {
            sink.error(
                line,
                None,
                Some("id"),
                format!("this {what} has no id; add e.g. id = \"planning\""),
            );
            None
        }
    }
}

/// Read one `[[team]]`; `None` when it has any problem (all of them reported).
fn parse_team(item: &Value<'_>, lines: &Lines, sink: &mut Sink<'_>) -> Option<RawTeam> {
    let line = lines.of(item.span());
    let DeValue::Table(table) = item.get_ref() else {
        sink.error(
            line,
            None,
            Some("team"),
            format!(
                "each team must be a [[team]] table, found {}",
                item.get_ref().type_str()
            ),
        );
        return None;
    };
    let id = read_id(table, lines, sink, line, "team");
    let section = id.clone().map(Section::Team);
    let mut name = None;
    let mut description = String::new();
    let mut members: Vec<(Member, usize, usize)> = Vec::new();
    let mut members_seen = false;
    let mut members_written = 0usize;
    let mut handles_written: Vec<String> = Vec::new();
    let mut manager = None;
    let mut head_of_service = None;
    let mut inbox = None;
    let mut assign: Option<(String, usize)> = None;
    let mut assign_for: Vec<(Kind, String, usize)> = Vec::new();
    for (key, v) in table.iter() {
        let kl = lines.of(key.span());
        let k = key_str(key);
        match k {
            "id" => {}
            "name" => name = string(v, lines, sink, &section, k),
            "description" => description = string(v, lines, sink, &section, k).unwrap_or_default(),
            "manager" => manager = address(v, lines, sink, &section, k),
            "head_of_service" => head_of_service = address(v, lines, sink, &section, k),
            "inbox" => inbox = address(v, lines, sink, &section, k),
            "assign" => {
                assign = string(v, lines, sink, &section, k).map(|s| (s, lines.of(v.span())))
            }
            "assign_for" => parse_assign_for(v, lines, sink, &section, &mut assign_for),
            "members" => {
                members_seen = true;
                let DeValue::Table(mt) = v.get_ref() else {
                    members_written = 1; // written, but wrongly: no follow-on error
                    sink.error(
                        kl,
                        section.clone(),
                        Some(k),
                        format!(
                            "expected a table of handle = \"address\", e.g. members = {{ alice = \
                             \"alice.smith@example.org\" }}, found {}",
                            v.get_ref().type_str()
                        ),
                    );
                    continue;
                };
                members_written = mt.len();
                for (hk, hv) in mt.iter() {
                    let handle = key_str(hk);
                    let hline = lines.of(hk.span());
                    let field = format!("members.{handle}");
                    if let Err(msg) = check_handle(handle) {
                        sink.error(hline, section.clone(), Some(&field), msg);
                        continue;
                    }
                    handles_written.push(handle.to_string());
                    if let Some(addr) = address(hv, lines, sink, &section, &field) {
                        members.push((
                            Member {
                                handle: handle.to_string(),
                                address: addr,
                            },
                            hline,
                            hk.span().start,
                        ));
                    }
                }
            }
            other => sink.error(
                kl,
                section.clone(),
                Some(other),
                format!(
                    "unknown key{}; a team has: {}",
                    suggest(other, TEAM_KEYS),
                    TEAM_KEYS.join(", ")
                ),
            ),
        }
    }
    if name.is_none() && !has_key(table, "name") {
        sink.error(
            line,
            section.clone(),
            Some("name"),
            "missing; add the name staff see, e.g. name = \"Planning\"".into(),
        );
    }
    if manager.is_none() && !has_key(table, "manager") {
        sink.error(
            line,
            section.clone(),
            Some("manager"),
            "missing; every team needs a manager's address (overdue chasers copy them)".into(),
        );
    }
    if !members_seen {
        sink.error(
            line,
            section.clone(),
            Some("members"),
            "missing; list the staff as members = { alice = \"alice.smith@example.org\" } \
             (members = {} will do for a team that assigns to its \"manager\" or \"inbox\")"
                .into(),
        );
    }
    // Round robin goes in file order: sort by where each handle is written.
    members.sort_by_key(|(_, _, offset)| *offset);
    let mut fixed = Vec::new();
    let (assignment, default_line) = match assign {
        None => (Assignment::RoundRobin, line),
        Some((a, l)) => (to_assignment(&a, l, "assign", &mut fixed), l),
    };
    let by_kind: Vec<(Kind, Assignment, usize, String)> = assign_for
        .into_iter()
        .map(|(kind, a, l)| {
            let key = format!("assign_for.{kind}");
            let assignment = to_assignment(&a, l, &key, &mut fixed);
            (kind, assignment, l, key)
        })
        .collect();
    let every = std::iter::once((&assignment, default_line, "assign".to_string()))
        .chain(by_kind.iter().map(|(_, a, l, key)| (a, *l, key.clone())));
    for (a, l, key) in every {
        // Only when the table is empty as written: bad members are reported one by one.
        if *a == Assignment::RoundRobin && members_seen && members_written == 0 {
            sink.error(
                l,
                section.clone(),
                Some(&key),
                "round robin needs at least one member; add members, or assign to the \
                 \"inbox\" (with an inbox address) or the \"manager\""
                    .into(),
            );
        }
        if *a == Assignment::Inbox && inbox.is_none() && !has_key(table, "inbox") {
            sink.error(
                l,
                section.clone(),
                Some(&key),
                "assigning to the \"inbox\" needs the team's inbox = \"...\" address".into(),
            );
        }
    }
    // A team with other problems is still returned (the caller never builds a `Routing` when
    // there are errors), so that routes and defaults naming it, and its members' handles, are
    // checked too, without "unknown team" follow-on errors.
    let id = id?;
    Some(RawTeam {
        team: Team {
            id,
            name: name.unwrap_or_default(),
            description,
            members: members.iter().map(|(m, _, _)| m.clone()).collect(),
            manager: manager.unwrap_or_default(),
            head_of_service,
            inbox,
            assignment,
            assign_for: by_kind.into_iter().map(|(k, a, _, _)| (k, a)).collect(),
        },
        line,
        fixed,
        member_lines: members.iter().map(|(_, l, _)| *l).collect(),
        handles_written,
    })
}

/// `"round_robin"`, `"inbox"`, `"manager"` or a member handle (remembered in `fixed` for the
/// cross-check against the team's members).
fn to_assignment(
    a: &str,
    line: usize,
    key: &str,
    fixed: &mut Vec<(String, usize, String)>,
) -> Assignment {
    match a {
        "round_robin" => Assignment::RoundRobin,
        "inbox" => Assignment::Inbox,
        "manager" => Assignment::Manager,
        handle => {
            fixed.push((handle.to_string(), line, key.to_string()));
            Assignment::Fixed(handle.to_string())
        }
    }
}

/// `assign_for = { complaint = "manager" }`: another assignment rule for some kinds.
fn parse_assign_for(
    v: &Value<'_>,
    lines: &Lines,
    sink: &mut Sink<'_>,
    section: &Option<Section>,
    out: &mut Vec<(Kind, String, usize)>,
) {
    let DeValue::Table(t) = v.get_ref() else {
        sink.error(
            lines.of(v.span()),
            section.clone(),
            Some("assign_for"),
            format!(
                "expected a table of kind = \"round_robin\" / \"manager\" / \"inbox\" / a \
                 handle, e.g. assign_for = {{ complaint = \"manager\" }}, found {}",
                v.get_ref().type_str()
            ),
        );
        return;
    };
    for (k, val) in t.iter() {
        let name = key_str(k);
        let key = format!("assign_for.{name}");
        let line = lines.of(k.span());
        let Some(kind) = ROUTED_KINDS.into_iter().find(|kd| kd.as_str() == name) else {
            let kinds: Vec<&str> = ROUTED_KINDS.into_iter().map(Kind::as_str).collect();
            sink.error(
                line,
                section.clone(),
                Some(&key),
                format!(
                    "unknown kind{}; the kinds are: {}",
                    suggest(name, &kinds),
                    kinds.join(", ")
                ),
            );
            continue;
        };
        if let Some(a) = string(val, lines, sink, section, &key) {
            out.push((kind, a, line));
        }
    }
}

fn has_key(table: &Table<'_>, name: &str) -> bool {
    table.iter().any(|(k, _)| key_str(k) == name)
}

/// Read one `[[route]]`; `None` when it has any problem (all of them reported).
fn parse_route(item: &Value<'_>, lines: &Lines, sink: &mut Sink<'_>) -> Option<RawRoute> {
    let line = lines.of(item.span());
    let DeValue::Table(table) = item.get_ref() else {
        sink.error(
            line,
            None,
            Some("route"),
            format!(
                "each route must be a [[route]] table, found {}",
                item.get_ref().type_str()
            ),
        );
        return None;
    };
    let before = sink.errors.len();
    let id = read_id(table, lines, sink, line, "route");
    let section = id.clone().map(Section::Route);
    let mut team = None;
    let mut team_line = line;
    let mut kinds: Option<Vec<Kind>> = None;
    let mut priority = 0i32;
    let mut description = String::new();
    let mut enabled = true;
    let mut patterns: Vec<Pattern> = Vec::new();
    let mut unless: Vec<Pattern> = Vec::new();
    for (key, v) in table.iter() {
        let kl = lines.of(key.span());
        let k = key_str(key);
        match k {
            "id" => {}
            "team" => {
                team_line = kl;
                team = string(v, lines, sink, &section, k);
            }
            "description" => description = string(v, lines, sink, &section, k).unwrap_or_default(),
            "enabled" => match v.get_ref() {
                DeValue::Boolean(b) => enabled = *b,
                other => sink.error(
                    kl,
                    section.clone(),
                    Some(k),
                    format!("expected true or false, found {}", other.type_str()),
                ),
            },
            "priority" => match v.get_ref() {
                DeValue::Integer(i) => {
                    match i64::from_str_radix(i.as_str(), i.radix())
                        .ok()
                        .filter(|p| p.abs() <= MAX_ABS_PRIORITY)
                        .and_then(|p| i32::try_from(p).ok())
                    {
                        Some(p) => priority = p,
                        None => sink.error(
                            kl,
                            section.clone(),
                            Some(k),
                            format!(
                                "out of range; use a whole number from -{MAX_ABS_PRIORITY} to \
                                 {MAX_ABS_PRIORITY}"
                            ),
                        ),
                    }
                }
                other => sink.error(
                    kl,
                    section.clone(),
                    Some(k),
                    format!("expected a whole number, found {}", other.type_str()),
                ),
            },
            "kinds" => kinds = parse_kinds(v, lines, sink, &section),
            _ => {
                let cond = match k {
                    "anywhere" => Some((Place::Anywhere, Syntax::Phrase, false)),
                    "anywhere_regex" => Some((Place::Anywhere, Syntax::Regex, false)),
                    "subject" => Some((Place::Subject, Syntax::Phrase, false)),
                    "subject_regex" => Some((Place::Subject, Syntax::Regex, false)),
                    "body" => Some((Place::Body, Syntax::Phrase, false)),
                    "body_regex" => Some((Place::Body, Syntax::Regex, false)),
                    "unless" => Some((Place::Anywhere, Syntax::Phrase, true)),
                    "unless_regex" => Some((Place::Anywhere, Syntax::Regex, true)),
                    _ => None,
                };
                let Some((place, syntax, is_unless)) = cond else {
                    sink.error(
                        kl,
                        section.clone(),
                        Some(k),
                        format!(
                            "unknown key{}; a route has: {}",
                            suggest(k, ROUTE_KEYS),
                            ROUTE_KEYS.join(", ")
                        ),
                    );
                    continue;
                };
                let out = if is_unless {
                    &mut unless
                } else {
                    &mut patterns
                };
                parse_patterns(v, lines, sink, &section, k, place, syntax, out);
            }
        }
    }
    if team.is_none() && !has_key(table, "team") {
        sink.error(
            line,
            section.clone(),
            Some("team"),
            "missing; say which team this route sends cases to, e.g. team = \"planning\"".into(),
        );
    }
    if patterns.is_empty() && sink.errors.len() == before {
        sink.error(
            line,
            section.clone(),
            None,
            "a route needs at least one of anywhere, subject, body (or their _regex forms); \
             a route without words would catch every case"
                .into(),
        );
    }
    // Returned even with other problems, so its id and team are cross-checked too.
    let (Some(id), Some(team)) = (id, team) else {
        return None;
    };
    Some(RawRoute {
        route: Route {
            id,
            team,
            kinds: kinds.unwrap_or_else(|| ROUTED_KINDS.to_vec()),
            priority,
            description,
            patterns,
            unless,
        },
        line,
        team_line,
        enabled,
    })
}

fn parse_kinds(
    v: &Value<'_>,
    lines: &Lines,
    sink: &mut Sink<'_>,
    section: &Option<Section>,
) -> Option<Vec<Kind>> {
    let items: Vec<&Value<'_>> = match v.get_ref() {
        DeValue::Array(a) => a.iter().collect(),
        DeValue::String(_) => vec![v],
        other => {
            sink.error(
                lines.of(v.span()),
                section.clone(),
                Some("kinds"),
                format!(
                    "expected a list of kinds, e.g. kinds = [\"foi\", \"eir\"], found {}",
                    other.type_str()
                ),
            );
            return None;
        }
    };
    let mut out = Vec::new();
    let mut ok = true;
    for item in items {
        let l = lines.of(item.span());
        match item.get_ref() {
            DeValue::String(s) => match s.parse::<Kind>() {
                Ok(Kind::Auto) => {
                    sink.error(
                        l,
                        section.clone(),
                        Some("kinds"),
                        "auto mail is never routed; remove \"auto\"".into(),
                    );
                    ok = false;
                }
                Ok(k) => {
                    if !out.contains(&k) {
                        out.push(k);
                    }
                }
                Err(e) => {
                    sink.error(l, section.clone(), Some("kinds"), e.to_string());
                    ok = false;
                }
            },
            other => {
                sink.error(
                    l,
                    section.clone(),
                    Some("kinds"),
                    format!("expected a kind in quotes, found {}", other.type_str()),
                );
                ok = false;
            }
        }
    }
    if ok && out.is_empty() {
        sink.error(
            lines.of(v.span()),
            section.clone(),
            Some("kinds"),
            "empty list: the route could never fire; leave `kinds` out to mean every kind".into(),
        );
        ok = false;
    }
    ok.then_some(out)
}

#[allow(clippy::too_many_arguments)]
fn parse_patterns(
    v: &Value<'_>,
    lines: &Lines,
    sink: &mut Sink<'_>,
    section: &Option<Section>,
    key: &str,
    place: Place,
    syntax: Syntax,
    out: &mut Vec<Pattern>,
) {
    let items: Vec<&Value<'_>> = match v.get_ref() {
        DeValue::Array(a) => a.iter().collect(),
        DeValue::String(_) => vec![v],
        other => {
            sink.error(
                lines.of(v.span()),
                section.clone(),
                Some(key),
                format!(
                    "expected a list of strings, e.g. {key} = [\"parking\"], found {}",
                    other.type_str()
                ),
            );
            return;
        }
    };
    if items.is_empty() {
        sink.error(
            lines.of(v.span()),
            section.clone(),
            Some(key),
            "empty list; remove the key or add a phrase".into(),
        );
    }
    for (i, item) in items.iter().enumerate() {
        let l = lines.of(item.span());
        let field = format!("{key} pattern {}", i + 1);
        let DeValue::String(s) = item.get_ref() else {
            sink.error(
                l,
                section.clone(),
                Some(&field),
                format!(
                    "expected a string in quotes, found {}",
                    item.get_ref().type_str()
                ),
            );
            continue;
        };
        if s.trim().is_empty() {
            sink.error(
                l,
                section.clone(),
                Some(&field),
                "empty string: it would match every message".into(),
            );
            continue;
        }
        let source = match syntax {
            Syntax::Phrase => phrase_regex(s),
            Syntax::Regex => s.to_string(),
        };
        match compile(&source) {
            Ok(regex) => out.push(Pattern {
                text: s.to_string(),
                place,
                syntax,
                regex,
            }),
            Err(msg) => sink.error(l, section.clone(), Some(&field), msg),
        }
    }
}

/// Compile case-insensitively, multi-line (`^`/`$` at each line), with a size limit.
pub(super) fn compile(source: &str) -> Result<Regex, String> {
    RegexBuilder::new(source)
        .case_insensitive(true)
        .multi_line(true)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| one_line_regex_error(&e))
}

/// A phrase as a regex: words in order, any case, whole words, any whitespace between words,
/// straight and curly apostrophes alike: the same meaning as in the classification rules.
pub(super) fn phrase_regex(phrase: &str) -> String {
    let words: Vec<&str> = phrase.split_whitespace().collect();
    let mut out = String::new();
    let first_is_word = words
        .first()
        .and_then(|w| w.chars().next())
        .is_some_and(is_ascii_word);
    let last_is_word = words
        .last()
        .and_then(|w| w.chars().last())
        .is_some_and(is_ascii_word);
    if first_is_word {
        out.push_str(r"(?-u:\b)");
    }
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            out.push_str(r"\s+");
        }
        for c in w.chars() {
            match c {
                '\'' | '\u{2019}' | '\u{2018}' => out.push_str("['\u{2018}\u{2019}]"),
                '"' | '\u{201c}' | '\u{201d}' => out.push_str("[\"\u{201c}\u{201d}]"),
                _ => out.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
            }
        }
    }
    if last_is_word {
        out.push_str(r"(?-u:\b)");
    }
    out
}

fn is_ascii_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Turn the regex crate's multi-line syntax error (with a caret diagram) into one line.
fn one_line_regex_error(err: &regex::Error) -> String {
    match err {
        regex::Error::Syntax(text) => {
            let reason = text
                .lines()
                .rev()
                .find_map(|l| l.trim().strip_prefix("error:"))
                .map(str::trim)
                .unwrap_or_else(|| text.lines().last().unwrap_or("").trim());
            format!("regex parse error: {reason}")
        }
        regex::Error::CompiledTooBig(limit) => {
            format!("pattern too large once compiled (over {limit} bytes); simplify it")
        }
        other => format!("regex error: {}", other.to_string().replace('\n', " ")),
    }
}

fn string(
    v: &Value<'_>,
    lines: &Lines,
    sink: &mut Sink<'_>,
    section: &Option<Section>,
    key: &str,
) -> Option<String> {
    match v.get_ref() {
        DeValue::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        DeValue::String(_) => {
            sink.error(
                lines.of(v.span()),
                section.clone(),
                Some(key),
                "empty string".into(),
            );
            None
        }
        other => {
            sink.error(
                lines.of(v.span()),
                section.clone(),
                Some(key),
                format!("expected a string in quotes, found {}", other.type_str()),
            );
            None
        }
    }
}

fn address(
    v: &Value<'_>,
    lines: &Lines,
    sink: &mut Sink<'_>,
    section: &Option<Section>,
    key: &str,
) -> Option<String> {
    let s = string(v, lines, sink, section, key)?;
    match check_address(&s) {
        Ok(a) => Some(a),
        Err(msg) => {
            sink.error(lines.of(v.span()), section.clone(), Some(key), msg);
            None
        }
    }
}

/// A plain `local@domain` address, lower-cased. Display names (`Alice <a@x>`) are refused: the
/// file lists mailboxes, and a name here would end up compared against From headers.
pub(super) fn check_address(s: &str) -> Result<String, String> {
    let s = s.trim();
    let bad = || {
        format!(
            "{s:?} is not an e-mail address; write it as name@example.org, without a name or <>"
        )
    };
    let (local, domain) = s.rsplit_once('@').ok_or_else(bad)?;
    let ok = !local.is_empty()
        && !domain.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';'))
        && !local.contains('@');
    if ok { Ok(s.to_lowercase()) } else { Err(bad()) }
}

/// Team and route ids: short, typed in commands and read in audit lines.
fn check_id(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.chars().count() <= MAX_ID_LEN
        && s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "id {s:?} is not allowed; use lower-case letters, digits, '-', '_' and '.', starting \
             with a letter, at most {MAX_ID_LEN} characters, e.g. \"childrens-services\""
        ))
    }
}

/// Handles are what staff type after `#assign`, so the same rules as ids, minus reserved words.
fn check_handle(s: &str) -> Result<(), String> {
    if RESERVED_HANDLES.contains(&s) {
        return Err(format!(
            "{s:?} cannot be a handle: assign = {s:?} has its own meaning"
        ));
    }
    check_id(s).map_err(|_| {
        format!(
            "handle {s:?} is not allowed; use lower-case letters, digits, '-', '_' and '.', \
             starting with a letter, e.g. alice or a.khan"
        )
    })
}

fn list_or_none<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<&str> = items.collect();
    if v.is_empty() {
        "(none)".to_string()
    } else {
        v.join(", ")
    }
}

/// `; did you mean "x"?` when a known name is within two edits.
fn suggest(name: &str, known: &[&str]) -> String {
    known
        .iter()
        .map(|k| (edit_distance(name, k), k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| format!("; did you mean \"{k}\"?"))
        .unwrap_or_default()
}

/// Levenshtein distance over chars (short names only, so the quadratic cost is irrelevant).
pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
