//! Reading a routing file: TOML text → a checked [`Routing`], with every problem collected.
//!
//! The file is walked by hand over `toml`'s spanned document (not through `serde`), with the one
//! reader in `config::toml` (as the rule files are), so that one pass reports every unknown key,
//! bad type, bad regex, duplicate id and unknown reference with its line, instead of stopping at
//! the first. The format is documented for officers in `rules/README.md` ("Routing").

use super::{
    Assignment, Defaults, Member, Pattern, Place, Route, Routing, RoutingError, RoutingErrors,
    RoutingSection, Syntax, Team,
};
use crate::config::toml::{
    DeTable, DeValue, Problem, Reader, Value, has_key, integer, key_str, one_line_regex_error,
    suggest,
};
use crate::model::kind::Kind;
use regex::{Regex, RegexBuilder};
use std::collections::BTreeMap;

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

type Table<'a> = DeTable<'a>;

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
    let stamp = |p: Problem<RoutingSection>| RoutingError {
        origin: origin.to_string(),
        line: p.line,
        section: p.section,
        key: p.key,
        message: p.message,
    };
    let (mut r, doc) = Reader::parse(text).map_err(|errors| RoutingErrors {
        errors: errors.into_iter().map(stamp).collect(),
    })?;
    let read = read_doc(&doc, &mut r);
    let (teams, routes, defaults) = cross_check(read, &mut r);
    if !r.errors.is_empty() {
        r.errors.sort_by_key(|e| e.line.unwrap_or(0));
        return Err(RoutingErrors {
            errors: r.errors.into_iter().map(stamp).collect(),
        });
    }
    Ok(Routing {
        origin: origin.to_string(),
        teams,
        routes,
        defaults,
        warnings: r.warnings.into_iter().map(stamp).collect(),
    })
}

/// Everything a routing file holds, as read, before the checks across it.
#[derive(Default)]
struct RawDoc {
    teams: Vec<RawTeam>,
    routes: Vec<RawRoute>,
    /// `[defaults]`: kind, team id, line.
    defaults: Vec<(Kind, String, usize)>,
    /// Line of the `[defaults]` table, when there is one.
    defaults_line: Option<usize>,
}

/// The top level: `[[team]]`, `[[route]]` and `[defaults]`.
fn read_doc(doc: &Table<'_>, r: &mut Reader<RoutingSection>) -> RawDoc {
    let mut out = RawDoc::default();
    for (key, value) in doc.iter() {
        let line = r.line(key.span());
        match key_str(key) {
            "team" => {
                let items = array_of_tables(value, line, "team", "teams", r);
                out.teams
                    .extend(items.iter().filter_map(|i| parse_team(i, r)));
            }
            "route" => {
                let items = array_of_tables(value, line, "route", "routes", r);
                out.routes
                    .extend(items.iter().filter_map(|i| parse_route(i, r)));
            }
            "defaults" => {
                out.defaults_line = Some(line);
                parse_defaults(value, r, &mut out.defaults);
            }
            other => r.error(
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
    out
}

/// The items of `[[key]]` (an error, and none, when `key` is not an array).
fn array_of_tables<'v, 'a>(
    value: &'v Value<'a>,
    line: usize,
    key: &str,
    plural: &str,
    r: &mut Reader<RoutingSection>,
) -> &'v [Value<'a>] {
    match value.get_ref() {
        DeValue::Array(items) => items,
        other => {
            r.error(
                line,
                None,
                Some(key),
                format!(
                    "{plural} must be written as [[{key}]] tables, found {}",
                    other.type_str()
                ),
            );
            &[]
        }
    }
}

/// Checks that look across the whole file: duplicate ids, handles, references, defaults.
fn cross_check(read: RawDoc, r: &mut Reader<RoutingSection>) -> (Vec<Team>, Vec<Route>, Defaults) {
    let (team_ids, teams) = unique_teams(read.teams, r);
    check_handles(&teams, &team_ids, r);
    let known_teams: Vec<&str> = team_ids.keys().map(String::as_str).collect();
    let routes = check_routes(read.routes, &known_teams, r);
    let defaults = check_defaults(read.defaults, read.defaults_line, &known_teams, r);
    // Warnings: teams nothing routes to (they can still get cases by hand).
    for t in &teams {
        let used = routes.iter().any(|route| route.team == t.team.id)
            || defaults.teams().any(|d| d == t.team.id);
        if !used {
            r.warn(
                t.line,
                Some(&RoutingSection::Team(t.team.id.clone())),
                None,
                "no route and no default sends cases to this team; it only gets cases \
                 re-routed by hand"
                    .to_string(),
            );
        }
    }
    (
        teams.into_iter().map(|t| t.team).collect(),
        routes,
        defaults,
    )
}

/// Teams with a duplicate id are reported and left out; the kept ids map to their lines.
fn unique_teams(
    teams: Vec<RawTeam>,
    r: &mut Reader<RoutingSection>,
) -> (BTreeMap<String, usize>, Vec<RawTeam>) {
    let mut team_ids: BTreeMap<String, usize> = BTreeMap::new();
    let mut kept: Vec<RawTeam> = Vec::new();
    for t in teams {
        if let Some(first) = team_ids.get(&t.team.id) {
            r.error(
                t.line,
                Some(&RoutingSection::Team(t.team.id.clone())),
                Some("id"),
                format!("duplicate team id; it is already used at line {first}"),
            );
            continue;
        }
        team_ids.insert(t.team.id.clone(), t.line);
        kept.push(t);
    }
    (team_ids, kept)
}

/// Handles: one handle is one person everywhere, one person has one handle, no handle is also a
/// team id, and `assign` names a member.
fn check_handles(
    teams: &[RawTeam],
    team_ids: &BTreeMap<String, usize>,
    r: &mut Reader<RoutingSection>,
) {
    // Handle → (address, team, line), and address → (handle, team, line), as first written.
    let mut by_handle: BTreeMap<String, (String, String, usize)> = BTreeMap::new();
    let mut by_address: BTreeMap<String, (String, String, usize)> = BTreeMap::new();
    for t in teams {
        let section = RoutingSection::Team(t.team.id.clone());
        for (m, &line) in t.team.members.iter().zip(&t.member_lines) {
            let key = format!("members.{}", m.handle);
            let mut error = |msg: String| r.error(line, Some(&section), Some(&key), msg);
            if team_ids.contains_key(&m.handle) {
                error(format!(
                    "handle {:?} is also a team id; `#assign {}` would be ambiguous: pick \
                     another handle",
                    m.handle, m.handle
                ));
            }
            let first = (t.team.id.clone(), line);
            if let Some((addr, team, first)) =
                first_seen(&mut by_handle, &m.handle, &m.address, &first)
            {
                error(format!(
                    "handle {:?} is {addr} in team {team:?} (line {first}) but {} here; one \
                     handle must be one person in every team",
                    m.handle, m.address
                ));
            }
            if let Some((handle, team, first)) =
                first_seen(&mut by_address, &m.address, &m.handle, &first)
            {
                error(format!(
                    "{} already has the handle {handle:?} in team {team:?} (line {first}); \
                     give a person the same handle in every team",
                    m.address
                ));
            }
        }
        check_fixed(t, r);
    }
}

/// Remembers `key → (value, team, line)` the first time `key` is seen; after that, the first
/// entry when it had another value (a conflict to report), else `None`.
fn first_seen(
    seen: &mut BTreeMap<String, (String, String, usize)>,
    key: &str,
    value: &str,
    (team, line): &(String, usize),
) -> Option<(String, String, usize)> {
    match seen.get(key) {
        Some(first) if first.0 != value => Some(first.clone()),
        Some(_) => None,
        None => {
            seen.insert(key.to_string(), (value.to_string(), team.clone(), *line));
            None
        }
    }
}

/// `assign = "alice"` (and in `assign_for`) must name one of the team's members.
fn check_fixed(t: &RawTeam, r: &mut Reader<RoutingSection>) {
    let section = RoutingSection::Team(t.team.id.clone());
    for (handle, line, key) in &t.fixed {
        if t.handles_written.contains(handle) {
            continue;
        }
        r.error(
            *line,
            Some(&section),
            Some(key),
            format!(
                "unknown member handle {handle:?}; the team's members are: {}",
                list_or_none(t.team.members.iter().map(|m| m.handle.as_str()))
            ),
        );
    }
}

/// Routes: duplicate ids and unknown teams are reported; the enabled, valid routes come back.
fn check_routes(
    routes: Vec<RawRoute>,
    known_teams: &[&str],
    r: &mut Reader<RoutingSection>,
) -> Vec<Route> {
    let mut route_ids: BTreeMap<String, usize> = BTreeMap::new();
    let mut kept: Vec<Route> = Vec::new();
    for raw in routes {
        let section = RoutingSection::Route(raw.route.id.clone());
        if let Some(first) = route_ids.get(&raw.route.id) {
            r.error(
                raw.line,
                Some(&section),
                Some("id"),
                format!("duplicate route id; it is already used at line {first}"),
            );
            continue;
        }
        route_ids.insert(raw.route.id.clone(), raw.line);
        if !known_teams.contains(&raw.route.team.as_str()) {
            r.error(
                raw.team_line,
                Some(&section),
                Some("team"),
                format!(
                    "unknown team {:?}{}",
                    raw.route.team,
                    suggest(&raw.route.team, known_teams)
                ),
            );
            continue;
        }
        if raw.enabled {
            kept.push(raw.route);
        }
    }
    kept
}

/// Defaults: every kind but auto, each to a known team.
fn check_defaults(
    raw: Vec<(Kind, String, usize)>,
    defaults_line: Option<usize>,
    known_teams: &[&str],
    r: &mut Reader<RoutingSection>,
) -> Defaults {
    let mut defaults = Defaults::default();
    for (kind, team, line) in raw {
        if !known_teams.contains(&team.as_str()) {
            r.error(
                line,
                Some(&RoutingSection::Defaults),
                Some(kind.as_str()),
                format!("unknown team {team:?}{}", suggest(&team, known_teams)),
            );
            continue;
        }
        defaults.set(kind, team);
    }
    // Only say "missing" for kinds not already reported as pointing at an unknown team.
    let reported: Vec<String> = r
        .errors
        .iter()
        .filter(|e| e.section == Some(RoutingSection::Defaults))
        .filter_map(|e| e.key.clone())
        .collect();
    let missing: Vec<&str> = ROUTED_KINDS
        .into_iter()
        .filter(|k| !defaults.has(*k))
        .map(Kind::as_str)
        .filter(|k| !reported.iter().any(|r| r == k))
        .collect();
    if !missing.is_empty() {
        r.error(
            defaults_line.unwrap_or(1),
            Some(&RoutingSection::Defaults),
            None,
            format!(
                "no default team for {}; every kind except auto must have one, e.g. \
                 `[defaults]` then `{} = \"information-governance\"`",
                missing.join(", "),
                missing.first().copied().unwrap_or("foi")
            ),
        );
    }
    defaults
}

fn parse_defaults(
    value: &Value<'_>,
    r: &mut Reader<RoutingSection>,
    out: &mut Vec<(Kind, String, usize)>,
) {
    let expected = "`defaults` must be a [defaults] table of kind = \"team-id\"";
    let Some(table) = r.expect_table(value, Some(&RoutingSection::Defaults), None, expected) else {
        return;
    };
    for (key, v) in table.iter() {
        let line = r.line(key.span());
        let name = key_str(key);
        let kind = match name.parse::<Kind>() {
            Ok(Kind::Auto) => {
                r.error(
                    line,
                    Some(&RoutingSection::Defaults),
                    Some(name),
                    "auto mail (bounces, out-of-office) is never routed; remove this line".into(),
                );
                continue;
            }
            Ok(k) if k.as_str() == name => k,
            _ => {
                let kinds: Vec<&str> = ROUTED_KINDS.into_iter().map(Kind::as_str).collect();
                r.error(
                    line,
                    Some(&RoutingSection::Defaults),
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
            other => r.error(
                line,
                Some(&RoutingSection::Defaults),
                Some(name),
                format!("expected a team id in quotes, found {}", other.type_str()),
            ),
        }
    }
}

/// Find `id` first so every later problem can name the team or route.
fn read_id(
    table: &Table<'_>,
    r: &mut Reader<RoutingSection>,
    line: usize,
    what: &str,
) -> Option<String> {
    match table.iter().find(|(k, _)| key_str(k) == "id") {
        Some((k, v)) => match v.get_ref() {
            DeValue::String(s) => match check_id(s) {
                Ok(()) => Some(s.to_string()),
                Err(msg) => {
                    r.error(r.line(k.span()), None, Some("id"), msg);
                    None
                }
            },
            other => {
                r.error(
                    r.line(k.span()),
                    None,
                    Some("id"),
                    format!("expected a string, found {}", other.type_str()),
                );
                None
            }
        },
        None => {
            r.error(
                line,
                None,
                Some("id"),
                format!("this {what} has no id; add e.g. id = \"planning\""),
            );
            None
        }
    }
}

/// A team's keys as read so far (the id is read first, on its own).
#[derive(Default)]
struct TeamFields {
    name: Option<String>,
    description: String,
    /// Each member with the line and byte offset of its handle.
    members: Vec<(Member, usize, usize)>,
    /// `members` is written at all.
    members_seen: bool,
    /// How many members are written (1 for a `members` that is not a table: no follow-on error).
    members_written: usize,
    handles_written: Vec<String>,
    manager: Option<String>,
    head_of_service: Option<String>,
    inbox: Option<String>,
    /// `assign` and its line.
    assign: Option<(String, usize)>,
    assign_for: Vec<(Kind, String, usize)>,
}

/// Read one `[[team]]`; `None` when it has any problem (all of them reported).
fn parse_team(item: &Value<'_>, r: &mut Reader<RoutingSection>) -> Option<RawTeam> {
    let (line, table) = r.array_item(item, Some("team"), "team")?;
    let id = read_id(table, r, line, "team");
    let section = id.clone().map(RoutingSection::Team);
    let mut f = TeamFields::default();
    for (key, v) in table.iter() {
        let k = key_str(key);
        match k {
            "id" => {}
            "name" => f.name = string(v, r, &section, k),
            "description" => f.description = string(v, r, &section, k).unwrap_or_default(),
            "manager" => f.manager = address(v, r, &section, k),
            "head_of_service" => f.head_of_service = address(v, r, &section, k),
            "inbox" => f.inbox = address(v, r, &section, k),
            "assign" => f.assign = string(v, r, &section, k).map(|s| (s, r.line(v.span()))),
            "assign_for" => parse_assign_for(v, r, &section, &mut f.assign_for),
            "members" => parse_members(v, r.line(key.span()), r, &section, &mut f),
            other => r.error(
                r.line(key.span()),
                section.as_ref(),
                Some(other),
                format!(
                    "unknown key{}; a team has: {}",
                    suggest(other, TEAM_KEYS),
                    TEAM_KEYS.join(", ")
                ),
            ),
        }
    }
    team_missing(table, &f, line, section.as_ref(), r);
    // Round robin goes in file order: sort by where each handle is written.
    f.members.sort_by_key(|(_, _, offset)| *offset);
    let mut fixed = Vec::new();
    let (assignment, default_line) = match f.assign.take() {
        None => (Assignment::RoundRobin, line),
        Some((a, l)) => (to_assignment(&a, l, "assign", &mut fixed), l),
    };
    let by_kind: Vec<(Kind, Assignment, usize, String)> = std::mem::take(&mut f.assign_for)
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
        check_assignment(a, l, &key, table, &f, section.as_ref(), r);
    }
    // A team with other problems is still returned (the caller never builds a `Routing` when
    // there are errors), so that routes and defaults naming it, and its members' handles, are
    // checked too, without "unknown team" follow-on errors.
    Some(RawTeam {
        team: Team {
            id: id?,
            name: f.name.unwrap_or_default(),
            description: f.description,
            members: f.members.iter().map(|(m, _, _)| m.clone()).collect(),
            manager: f.manager.unwrap_or_default(),
            head_of_service: f.head_of_service,
            inbox: f.inbox,
            assignment,
            assign_for: by_kind.into_iter().map(|(k, a, _, _)| (k, a)).collect(),
        },
        line,
        fixed,
        member_lines: f.members.iter().map(|(_, l, _)| *l).collect(),
        handles_written: f.handles_written,
    })
}

/// `members = { alice = "alice.smith@example.org" }`.
fn parse_members(
    v: &Value<'_>,
    line: usize,
    r: &mut Reader<RoutingSection>,
    section: &Option<RoutingSection>,
    f: &mut TeamFields,
) {
    f.members_seen = true;
    let DeValue::Table(mt) = v.get_ref() else {
        f.members_written = 1; // written, but wrongly: no follow-on error
        r.error(
            line,
            section.as_ref(),
            Some("members"),
            format!(
                "expected a table of handle = \"address\", e.g. members = {{ alice = \
                 \"alice.smith@example.org\" }}, found {}",
                v.get_ref().type_str()
            ),
        );
        return;
    };
    f.members_written = mt.len();
    for (hk, hv) in mt.iter() {
        let handle = key_str(hk);
        let hline = r.line(hk.span());
        let field = format!("members.{handle}");
        if let Err(msg) = check_handle(handle) {
            r.error(hline, section.as_ref(), Some(&field), msg);
            continue;
        }
        f.handles_written.push(handle.to_string());
        if let Some(addr) = address(hv, r, section, &field) {
            let member = Member {
                handle: handle.to_string(),
                address: addr,
            };
            f.members.push((member, hline, hk.span().start));
        }
    }
}

/// Required keys that are absent (a bad value was reported where it was read).
fn team_missing(
    table: &Table<'_>,
    f: &TeamFields,
    line: usize,
    section: Option<&RoutingSection>,
    r: &mut Reader<RoutingSection>,
) {
    if f.name.is_none() && !has_key(table, "name") {
        r.error(
            line,
            section,
            Some("name"),
            "missing; add the name staff see, e.g. name = \"Planning\"".into(),
        );
    }
    if f.manager.is_none() && !has_key(table, "manager") {
        r.error(
            line,
            section,
            Some("manager"),
            "missing; every team needs a manager's address (overdue chasers copy them)".into(),
        );
    }
    if !f.members_seen {
        r.error(
            line,
            section,
            Some("members"),
            "missing; list the staff as members = { alice = \"alice.smith@example.org\" } \
             (members = {} will do for a team that assigns to its \"manager\" or \"inbox\")"
                .into(),
        );
    }
}

/// An assignment the team can carry out: round robin needs members, the inbox an address.
fn check_assignment(
    a: &Assignment,
    line: usize,
    key: &str,
    table: &Table<'_>,
    f: &TeamFields,
    section: Option<&RoutingSection>,
    r: &mut Reader<RoutingSection>,
) {
    // Only when the table is empty as written: bad members are reported one by one.
    if *a == Assignment::RoundRobin && f.members_seen && f.members_written == 0 {
        r.error(
            line,
            section,
            Some(key),
            "round robin needs at least one member; add members, or assign to the \
             \"inbox\" (with an inbox address) or the \"manager\""
                .into(),
        );
    }
    if *a == Assignment::Inbox && f.inbox.is_none() && !has_key(table, "inbox") {
        r.error(
            line,
            section,
            Some(key),
            "assigning to the \"inbox\" needs the team's inbox = \"...\" address".into(),
        );
    }
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
    r: &mut Reader<RoutingSection>,
    section: &Option<RoutingSection>,
    out: &mut Vec<(Kind, String, usize)>,
) {
    let expected = "expected a table of kind = \"round_robin\" / \"manager\" / \"inbox\" / a \
                    handle, e.g. assign_for = { complaint = \"manager\" }";
    let Some(t) = r.expect_table(v, section.as_ref(), Some("assign_for"), expected) else {
        return;
    };
    for (k, val) in t.iter() {
        let name = key_str(k);
        let key = format!("assign_for.{name}");
        let line = r.line(k.span());
        let Some(kind) = ROUTED_KINDS.into_iter().find(|kd| kd.as_str() == name) else {
            let kinds: Vec<&str> = ROUTED_KINDS.into_iter().map(Kind::as_str).collect();
            r.error(
                line,
                section.as_ref(),
                Some(&key),
                format!(
                    "unknown kind{}; the kinds are: {}",
                    suggest(name, &kinds),
                    kinds.join(", ")
                ),
            );
            continue;
        };
        if let Some(a) = string(val, r, section, &key) {
            out.push((kind, a, line));
        }
    }
}

/// The condition keys of a route: where each looks, how its strings are read, and whether it
/// is an `unless`.
const ROUTE_CONDITIONS: &[(&str, Place, Syntax, bool)] = &[
    ("anywhere", Place::Anywhere, Syntax::Phrase, false),
    ("anywhere_regex", Place::Anywhere, Syntax::Regex, false),
    ("subject", Place::Subject, Syntax::Phrase, false),
    ("subject_regex", Place::Subject, Syntax::Regex, false),
    ("body", Place::Body, Syntax::Phrase, false),
    ("body_regex", Place::Body, Syntax::Regex, false),
    ("unless", Place::Anywhere, Syntax::Phrase, true),
    ("unless_regex", Place::Anywhere, Syntax::Regex, true),
];

/// A route's keys as read so far (the id is read first, on its own).
struct RouteFields {
    team: Option<String>,
    team_line: usize,
    kinds: Option<Vec<Kind>>,
    priority: i32,
    description: String,
    enabled: bool,
    patterns: Vec<Pattern>,
    unless: Vec<Pattern>,
}

/// Read one `[[route]]`; `None` when it has any problem (all of them reported).
fn parse_route(item: &Value<'_>, r: &mut Reader<RoutingSection>) -> Option<RawRoute> {
    let (line, table) = r.array_item(item, Some("route"), "route")?;
    let before = r.errors.len();
    let id = read_id(table, r, line, "route");
    let section = id.clone().map(RoutingSection::Route);
    let mut f = RouteFields {
        team: None,
        team_line: line,
        kinds: None,
        priority: 0,
        description: String::new(),
        enabled: true,
        patterns: Vec::new(),
        unless: Vec::new(),
    };
    for (key, v) in table.iter() {
        route_key(key_str(key), r.line(key.span()), v, r, &section, &mut f);
    }
    if f.team.is_none() && !has_key(table, "team") {
        r.error(
            line,
            section.as_ref(),
            Some("team"),
            "missing; say which team this route sends cases to, e.g. team = \"planning\"".into(),
        );
    }
    if f.patterns.is_empty() && r.errors.len() == before {
        r.error(
            line,
            section.as_ref(),
            None,
            "a route needs at least one of anywhere, subject, body (or their _regex forms); \
             a route without words would catch every case"
                .into(),
        );
    }
    // Returned even with other problems, so its id and team are cross-checked too.
    let (Some(id), Some(team)) = (id, f.team) else {
        return None;
    };
    Some(RawRoute {
        route: Route {
            id,
            team,
            kinds: f.kinds.unwrap_or_else(|| ROUTED_KINDS.to_vec()),
            priority: f.priority,
            description: f.description,
            patterns: f.patterns,
            unless: f.unless,
        },
        line,
        team_line: f.team_line,
        enabled: f.enabled,
    })
}

/// One key of a `[[route]]`, at line `kl`.
fn route_key(
    k: &str,
    kl: usize,
    v: &Value<'_>,
    r: &mut Reader<RoutingSection>,
    section: &Option<RoutingSection>,
    f: &mut RouteFields,
) {
    match k {
        "id" => {}
        "team" => {
            f.team_line = kl;
            f.team = string(v, r, section, k);
        }
        "description" => f.description = string(v, r, section, k).unwrap_or_default(),
        "enabled" => match v.get_ref() {
            DeValue::Boolean(b) => f.enabled = *b,
            other => r.error(
                kl,
                section.as_ref(),
                Some(k),
                format!("expected true or false, found {}", other.type_str()),
            ),
        },
        "priority" => match v.get_ref() {
            DeValue::Integer(_) => match integer(v.get_ref())
                .filter(|p| p.abs() <= MAX_ABS_PRIORITY)
                .and_then(|p| i32::try_from(p).ok())
            {
                Some(p) => f.priority = p,
                None => r.error(
                    kl,
                    section.as_ref(),
                    Some(k),
                    format!(
                        "out of range; use a whole number from -{MAX_ABS_PRIORITY} to \
                         {MAX_ABS_PRIORITY}"
                    ),
                ),
            },
            other => r.error(
                kl,
                section.as_ref(),
                Some(k),
                format!("expected a whole number, found {}", other.type_str()),
            ),
        },
        "kinds" => f.kinds = parse_kinds(v, r, section),
        _ => {
            let Some(&(_, place, syntax, is_unless)) =
                ROUTE_CONDITIONS.iter().find(|(name, ..)| *name == k)
            else {
                r.error(
                    kl,
                    section.as_ref(),
                    Some(k),
                    format!(
                        "unknown key{}; a route has: {}",
                        suggest(k, ROUTE_KEYS),
                        ROUTE_KEYS.join(", ")
                    ),
                );
                return;
            };
            let out = if is_unless {
                &mut f.unless
            } else {
                &mut f.patterns
            };
            parse_patterns(v, r, section, k, place, syntax, out);
        }
    }
}

fn parse_kinds(
    v: &Value<'_>,
    r: &mut Reader<RoutingSection>,
    section: &Option<RoutingSection>,
) -> Option<Vec<Kind>> {
    let expected = "expected a list of kinds, e.g. kinds = [\"foi\", \"eir\"]";
    let items = r.one_or_list(v, section.as_ref(), Some("kinds"), expected)?;
    let mut out = Vec::new();
    let mut ok = true;
    for item in items {
        let l = r.line(item.span());
        match item.get_ref() {
            DeValue::String(s) => match s.parse::<Kind>() {
                Ok(Kind::Auto) => {
                    r.error(
                        l,
                        section.as_ref(),
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
                    r.error(l, section.as_ref(), Some("kinds"), e.to_string());
                    ok = false;
                }
            },
            other => {
                r.error(
                    l,
                    section.as_ref(),
                    Some("kinds"),
                    format!("expected a kind in quotes, found {}", other.type_str()),
                );
                ok = false;
            }
        }
    }
    if ok && out.is_empty() {
        r.error(
            r.line(v.span()),
            section.as_ref(),
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
    r: &mut Reader<RoutingSection>,
    section: &Option<RoutingSection>,
    key: &str,
    place: Place,
    syntax: Syntax,
    out: &mut Vec<Pattern>,
) {
    let expected = format!("expected a list of strings, e.g. {key} = [\"parking\"]");
    let Some(items) = r.one_or_list(v, section.as_ref(), Some(key), &expected) else {
        return;
    };
    if items.is_empty() {
        r.error(
            r.line(v.span()),
            section.as_ref(),
            Some(key),
            "empty list; remove the key or add a phrase".into(),
        );
    }
    for (i, item) in items.iter().enumerate() {
        let l = r.line(item.span());
        let field = format!("{key} pattern {}", i + 1);
        let DeValue::String(s) = item.get_ref() else {
            r.error(
                l,
                section.as_ref(),
                Some(&field),
                format!(
                    "expected a string in quotes, found {}",
                    item.get_ref().type_str()
                ),
            );
            continue;
        };
        if s.trim().is_empty() {
            r.error(
                l,
                section.as_ref(),
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
            Err(msg) => r.error(l, section.as_ref(), Some(&field), msg),
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

fn string(
    v: &Value<'_>,
    r: &mut Reader<RoutingSection>,
    section: &Option<RoutingSection>,
    key: &str,
) -> Option<String> {
    match v.get_ref() {
        DeValue::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        DeValue::String(_) => {
            r.error(
                r.line(v.span()),
                section.as_ref(),
                Some(key),
                "empty string".into(),
            );
            None
        }
        other => {
            r.error(
                r.line(v.span()),
                section.as_ref(),
                Some(key),
                format!("expected a string in quotes, found {}", other.type_str()),
            );
            None
        }
    }
}

fn address(
    v: &Value<'_>,
    r: &mut Reader<RoutingSection>,
    section: &Option<RoutingSection>,
    key: &str,
) -> Option<String> {
    let s = string(v, r, section, key)?;
    match check_address(&s) {
        Ok(a) => Some(a),
        Err(msg) => {
            r.error(r.line(v.span()), section.as_ref(), Some(key), msg);
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
