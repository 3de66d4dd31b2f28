//! Teams and routing: which team, and which person in it, a new case goes to, and why.
//!
//! Information-rights officers keep the teams and the routing rules in one TOML file
//! (`routing.toml`; format and examples in `rules/README.md`, section "Routing"):
//!
//! - `[[team]]`: id, display name, members (short handle → staff address, the handle being what
//!   staff type in `#assign alice`), manager, optional head of service and team inbox, and how a
//!   new case is assigned (`round_robin`, a fixed handle, the `manager` or the team `inbox`),
//!   with `assign_for` giving some kinds another rule (complaints to the manager).
//! - `[[route]]`: phrases or regular expressions looked for in the subject and/or body of a case
//!   of the given kinds, a priority, and the team the case goes to.
//! - `[defaults]`: the team for each kind when no route matches. Every kind except `auto` must
//!   have one, so every case is routed somewhere.
//!
//! [`Routing::route`] is pure: it takes the kind, subject, body and a round-robin counter, and
//! returns a [`RouteDecision`] with a plain-English `why` for the audit trail. It does not keep
//! the counter (the caller stores one per team and passes it in), does not send mail and does not
//! touch the store. [`Routing::reroute`] checks a hand re-routing target (`#assign alice`,
//! `foi-triage case assign REF planning`) against the file; recording it as an audit event is the
//! caller's job.
//!
//! Loading reports every problem at once ([`RoutingErrors`]), each with file, line, team or
//! route id, key and message, so an officer can fix the file in one pass.

mod load;
#[cfg(test)]
mod tests;

pub use crate::config::RoutingSettings;
use crate::config::toml::{closest, write_list, write_located};
use crate::core::text::prefix;
use crate::model::kind::Kind;
use regex::Regex;
use serde::Serialize;
use std::fmt;
use std::path::Path;

pub use load::MAX_ABS_PRIORITY;

/// How much of the body routing reads, in bytes: the same 16 KiB the classification rules read.
/// What a request is about is at its top; further down is quoted history and disclaimers, whose
/// words ("planning", "parking" in a signature) would only mis-route.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Longest piece of matched text quoted in a `why`, in characters: enough to recognise the
/// phrase, short enough that a regex cannot copy a paragraph of personal data into the audit.
const MAX_QUOTE_CHARS: usize = 60;

/// One member of a team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    /// Short name staff type in `#assign alice`; unique across the file (one handle, one person).
    pub handle: String,
    /// The staff address, lower-cased; assignment emails go here.
    pub address: String,
}

/// How a team's new cases get a named assignee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Assignment {
    /// Always this member (by handle): small teams with one FOI lead.
    Fixed(String),
    /// Members in turn, in the order the file lists them: `members[counter % n]`.
    RoundRobin,
    /// Nobody by name: the case goes to the team inbox and the team picks it up.
    Inbox,
    /// The team manager: complaints are "allocated to a team manager within 2 days" (seed 002).
    Manager,
}

/// One team, as checked at load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Team {
    /// Short id used in routes, defaults, commands and audit lines (`childrens-services`).
    pub id: String,
    /// The name staff and managers read (`Children's Services`).
    pub name: String,
    /// Free text for officers; not used by the program.
    pub description: String,
    /// Members in file order (the round-robin order).
    pub members: Vec<Member>,
    /// The manager's address, lower-cased: overdue chasers and digests go to them.
    pub manager: String,
    /// The head of service, copied once a case is long overdue (issue 4, seed 002).
    pub head_of_service: Option<String>,
    /// A shared team mailbox, copied on assignment emails when set.
    pub inbox: Option<String>,
    /// How new cases get an assignee.
    pub assignment: Assignment,
    /// Another rule for some kinds (`assign_for = { complaint = "manager" }`).
    pub assign_for: Vec<(Kind, Assignment)>,
}

impl Team {
    /// How this team assigns cases of this kind: its `assign_for` entry, else `assign`.
    pub fn assignment_for(&self, kind: Kind) -> &Assignment {
        self.assign_for
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, a)| a)
            .unwrap_or(&self.assignment)
    }

    /// The address a new case of this kind goes to for this `counter`, and a phrase saying why.
    ///
    /// Round robin picks `members[counter % n]`: the caller keeps one counter per team and
    /// increments it after each assignment, so the choice survives restarts and is reproducible.
    fn pick(&self, kind: Kind, counter: u64) -> Pick {
        let (assignee, why) = match self.assignment_for(kind) {
            Assignment::Fixed(handle) => {
                let m = self.members.iter().find(|m| m.handle == *handle);
                (
                    m.map(|m| m.address.clone()),
                    format!("team {} assigns {kind} cases to {handle}", self.id),
                )
            }
            Assignment::RoundRobin => {
                let n = self.members.len() as u64;
                if n == 0 {
                    // Refused at load; stay panic-free anyway.
                    (None, format!("team {} has no members", self.id))
                } else {
                    let i = usize::try_from(counter % n).unwrap_or(0);
                    let m = self.members.get(i);
                    let who = m.map(|m| m.handle.as_str()).unwrap_or("?");
                    (
                        m.map(|m| m.address.clone()),
                        format!(
                            "round robin in team {}: {who} (member {} of {n}, counter {counter})",
                            self.id,
                            i + 1
                        ),
                    )
                }
            }
            Assignment::Inbox => (
                None,
                format!(
                    "team {} works {kind} cases from its inbox; no named assignee",
                    self.id
                ),
            ),
            Assignment::Manager => (
                Some(self.manager.clone()),
                format!("team {} assigns {kind} cases to its manager", self.id),
            ),
        };
        Pick {
            assignee,
            why,
            used_round_robin: *self.assignment_for(kind) == Assignment::RoundRobin
                && !self.members.is_empty(),
        }
    }

    /// Whether `handle` is a member of this team.
    pub fn has_member(&self, handle: &str) -> bool {
        self.members.iter().any(|m| m.handle == handle)
    }
}

/// A team's choice for one case.
struct Pick {
    assignee: Option<String>,
    why: String,
    used_round_robin: bool,
}

/// Where a pattern looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Subject,
    Body,
    Anywhere,
}

/// How a pattern was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Syntax {
    Phrase,
    Regex,
}

/// One compiled phrase or regex of a route.
#[derive(Debug, Clone)]
struct Pattern {
    /// As the officer wrote it, for explanations.
    text: String,
    place: Place,
    syntax: Syntax,
    regex: Regex,
}

impl Pattern {
    /// The first match in the subject, then the body, with where it was found.
    fn find<'t>(&self, subject: &'t str, body: &'t str) -> Option<(&'static str, &'t str)> {
        let in_subject = matches!(self.place, Place::Subject | Place::Anywhere);
        let in_body = matches!(self.place, Place::Body | Place::Anywhere);
        if in_subject && let Some(m) = self.regex.find(subject) {
            return Some(("subject", m.as_str()));
        }
        if in_body && let Some(m) = self.regex.find(body) {
            return Some(("body", m.as_str()));
        }
        None
    }
}

/// One routing rule, as checked at load.
#[derive(Debug, Clone)]
pub struct Route {
    /// Unique id, named in every decision it makes.
    pub id: String,
    /// The team it sends cases to (checked to exist).
    pub team: String,
    /// The kinds it applies to; every kind except `auto` when the file leaves `kinds` out.
    pub kinds: Vec<Kind>,
    /// Higher wins when several routes match; equal priorities go to the route written first.
    pub priority: i32,
    /// Free text for officers.
    pub description: String,
    patterns: Vec<Pattern>,
    unless: Vec<Pattern>,
}

/// The default team per kind (`[defaults]`), complete for every kind but `auto` once loaded.
#[derive(Debug, Clone, Default)]
struct Defaults {
    by_kind: Vec<(Kind, String)>,
}

impl Defaults {
    fn set(&mut self, kind: Kind, team: String) {
        self.by_kind.retain(|(k, _)| *k != kind);
        self.by_kind.push((kind, team));
    }
    fn has(&self, kind: Kind) -> bool {
        self.by_kind.iter().any(|(k, _)| *k == kind)
    }
    fn get(&self, kind: Kind) -> Option<&str> {
        self.by_kind
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, t)| t.as_str())
    }
    fn teams(&self) -> impl Iterator<Item = &str> {
        self.by_kind.iter().map(|(_, t)| t.as_str())
    }
}

/// Where in the file a problem is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "in", content = "id")]
pub enum RoutingSection {
    /// Inside the `[[team]]` with this id.
    Team(String),
    /// Inside the `[[route]]` with this id.
    Route(String),
    /// Inside `[defaults]`.
    Defaults,
}

impl fmt::Display for RoutingSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RoutingSection::Team(id) => write!(f, "team {id:?}"),
            RoutingSection::Route(id) => write!(f, "route {id:?}"),
            RoutingSection::Defaults => f.write_str("[defaults]"),
        }
    }
}

/// One problem in a routing file, located as precisely as we can.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoutingError {
    /// The file path or origin name given to [`Routing::load`] / [`Routing::from_toml`].
    pub origin: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// The team, route or `[defaults]` the problem is in, when known.
    pub section: Option<RoutingSection>,
    /// The key (and pattern number), e.g. `body_regex pattern 2`, `members.alice`.
    pub key: Option<String>,
    /// What is wrong, in plain English, with the fix where there is an obvious one.
    pub message: String,
}

impl fmt::Display for RoutingError {
    /// `routing.toml:12: route "planning": body_regex pattern 2: regex parse error: ...`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let section = self.section.as_ref().map(|s| s as &dyn fmt::Display);
        let key = self.key.as_deref();
        write_located(f, &self.origin, self.line, section, key, &self.message)
    }
}

/// Every problem that stopped a routing file from loading, in line order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct RoutingErrors {
    /// Never empty when returned as an error.
    pub errors: Vec<RoutingError>,
}

impl fmt::Display for RoutingErrors {
    /// One problem per line, then a count, so the whole list can be printed as is.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_list(f, &self.errors, "in the routing file; it was not loaded")
    }
}

/// Where a new case goes, and why: recorded in the case's audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteDecision {
    /// The team id.
    pub team: String,
    /// The assignee's address; `None` when the team works from its inbox.
    pub assignee: Option<String>,
    /// Whether round robin chose the assignee: the caller then moves the team's counter on by
    /// one (and only then, so a complaint given to the manager does not skip anyone's turn).
    pub used_round_robin: bool,
    /// The route that decided; `None` when no route matched and the kind's default applied.
    pub rule: Option<String>,
    /// Other routes that also matched but lost on priority (or file order), for the audit.
    pub also_matched: Vec<String>,
    /// Plain English: which route, what it matched and where, and how the assignee was chosen.
    pub why: String,
}

/// A checked hand re-routing: the caller records it as an audited event with who and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reassignment {
    /// The team the case moves to.
    pub team: String,
    /// The new assignee's address; `None` when the team works from its inbox.
    pub assignee: Option<String>,
    /// Whether round robin chose the assignee (a team named without a person): move the team's
    /// counter on, as for [`RouteDecision::used_round_robin`].
    pub used_round_robin: bool,
    /// Plain English, e.g. `assigned by hand to alice (team planning)`.
    pub why: String,
}

/// Why a hand re-routing target was refused; the message is what the staff member reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RerouteError {
    /// Nothing given after `#assign`.
    #[error("say who or which team, e.g. `#assign alice` or `#assign planning`")]
    Empty,
    /// Not a handle, team id or staff address in the routing file.
    #[error("{target:?} is not a team or a member handle{suggestion}")]
    Unknown {
        /// What was typed.
        target: String,
        /// `; did you mean "alice"?` or empty.
        suggestion: String,
    },
    /// `team/handle` where the handle is not in that team.
    #[error("{handle} is not a member of team {team}; its members are: {members}")]
    NotAMember {
        /// The handle typed.
        handle: String,
        /// The team typed.
        team: String,
        /// The team's handles, comma-separated.
        members: String,
    },
}

/// The loaded, checked routing file.
#[derive(Debug, Clone)]
pub struct Routing {
    origin: String,
    teams: Vec<Team>,
    routes: Vec<Route>,
    defaults: Defaults,
    warnings: Vec<RoutingError>,
}

impl Routing {
    /// Read and check a routing file, reporting every problem at once.
    ///
    /// # Errors
    /// A file that cannot be read, or any problem in it (see [`Routing::from_toml`]).
    pub fn load(path: &Path) -> Result<Routing, RoutingErrors> {
        let origin = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => Routing::from_toml(&text, &origin),
            Err(e) => Err(RoutingErrors {
                errors: vec![RoutingError {
                    origin,
                    line: None,
                    section: None,
                    key: None,
                    message: format!("cannot read the routing file: {e}"),
                }],
            }),
        }
    }

    /// Check routing text; `origin` names it in errors (a path, or `config [routing]`).
    ///
    /// # Errors
    /// Every problem found: TOML syntax, unknown keys, wrong types, bad ids, handles and
    /// addresses, bad regexes, duplicate team/route ids, a handle used for two people (or one
    /// person with two handles), unknown teams or member handles, and kinds with no default team.
    pub fn from_toml(text: &str, origin: &str) -> Result<Routing, RoutingErrors> {
        load::parse(text, origin)
    }

    /// Where this routing came from (path or origin given at load).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Problems that do not stop loading (a team nothing routes to).
    pub fn warnings(&self) -> &[RoutingError] {
        &self.warnings
    }

    /// Every team, in file order.
    pub fn teams(&self) -> &[Team] {
        &self.teams
    }

    /// Every enabled route, in file order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The team with this id.
    pub fn team(&self, id: &str) -> Option<&Team> {
        self.teams.iter().find(|t| t.id == id)
    }

    /// The default team for a kind; `None` only for `auto`.
    pub fn default_team(&self, kind: Kind) -> Option<&str> {
        self.defaults.get(kind)
    }

    /// The member with this handle (case-insensitive, a leading `@` ignored), in any team.
    pub fn member_by_handle(&self, handle: &str) -> Option<&Member> {
        let h = normalise_handle(handle);
        self.teams
            .iter()
            .flat_map(|t| &t.members)
            .find(|m| m.handle == h)
    }

    /// The member with this address (case-insensitive), in any team.
    pub fn member_by_address(&self, address: &str) -> Option<&Member> {
        let a = address.trim().to_lowercase();
        self.teams
            .iter()
            .flat_map(|t| &t.members)
            .find(|m| m.address == a)
    }

    /// Whether mail from this address may act on cases: a member, manager or head of service of
    /// any team. Team inboxes are not staff: a shared mailbox is not a person to hold to account.
    /// This is only half of the email-command check; the per-case token is the other half.
    pub fn is_staff(&self, address: &str) -> bool {
        let a = address.trim().to_lowercase();
        !a.is_empty() && self.staff_addresses().any(|s| s == a)
    }

    /// Every address that may act on cases ([`Routing::is_staff`]), lower-cased, in file order
    /// (an address on several teams comes more than once).
    pub fn staff_addresses(&self) -> impl Iterator<Item = &str> {
        self.teams.iter().flat_map(|t| {
            t.members
                .iter()
                .map(|m| m.address.as_str())
                .chain([t.manager.as_str()])
                .chain(t.head_of_service.as_deref())
        })
    }

    /// The manager's address of a team (overdue chasers copy them).
    pub fn manager_of(&self, team: &str) -> Option<&str> {
        self.team(team).map(|t| t.manager.as_str())
    }

    /// The head of service's address of a team, when the team has one.
    pub fn head_of_service_of(&self, team: &str) -> Option<&str> {
        self.team(team).and_then(|t| t.head_of_service.as_deref())
    }

    /// Route a new case: the highest-priority matching route for its kind (the first written on
    /// a tie), else the kind's default team; then the team's assignment rule.
    ///
    /// Only the first [`MAX_BODY_BYTES`] of the body are read. `counter` is the team's
    /// round-robin counter (the caller stores it per team, and increments it when a decision it
    /// recorded has [`RouteDecision::used_round_robin`]). Returns `None` for `auto` only: machine mail is never routed.
    pub fn route(
        &self,
        kind: Kind,
        subject: &str,
        body: &str,
        counter: u64,
    ) -> Option<RouteDecision> {
        if kind == Kind::Auto {
            return None;
        }
        let body = prefix(body, MAX_BODY_BYTES);
        let mut hits: Vec<(&Route, String)> = Vec::new();
        for r in self.routes.iter().filter(|r| r.kinds.contains(&kind)) {
            if r.unless.iter().any(|p| p.find(subject, body).is_some()) {
                continue;
            }
            if let Some((p, (place, text))) = r
                .patterns
                .iter()
                .find_map(|p| p.find(subject, body).map(|m| (p, m)))
            {
                let what = match p.syntax {
                    Syntax::Phrase => format!("the {place} contains {:?}", p.text),
                    Syntax::Regex => {
                        format!("the {place} matches /{}/ with {:?}", p.text, quote(text))
                    }
                };
                hits.push((r, what));
            }
        }
        // Stable sort: equal priorities keep file order, so the first written wins.
        hits.sort_by_key(|(r, _)| std::cmp::Reverse(r.priority));
        let (team_id, rule, mut why, also) = match hits.split_first() {
            Some(((r, what), rest)) => (
                r.team.as_str(),
                Some(r.id.clone()),
                format!(
                    "route {} (priority {}): {what}; sends {kind} cases to team {}",
                    r.id, r.priority, r.team
                ),
                rest.iter().map(|(r, _)| r.id.clone()).collect::<Vec<_>>(),
            ),
            None => {
                let t = self.defaults.get(kind)?;
                (
                    t,
                    None,
                    format!("no route matched; the default team for {kind} is {t}"),
                    Vec::new(),
                )
            }
        };
        if !also.is_empty() {
            why.push_str(&format!(
                "; also matched (lower priority or written later): {}",
                also.join(", ")
            ));
        }
        let team = self.team(team_id)?;
        let pick = team.pick(kind, counter);
        why.push_str("; ");
        why.push_str(&pick.why);
        Some(RouteDecision {
            team: team.id.clone(),
            assignee: pick.assignee,
            used_round_robin: pick.used_round_robin,
            rule,
            also_matched: also,
            why,
        })
    }

    /// Check a hand re-routing target and resolve it to a team and assignee.
    ///
    /// `target` may be a handle (`alice`, `@alice`), a staff address, a team id (`planning`: the
    /// team's own assignment rule for the case's `kind` picks the person, with `counter`), or
    /// `team/handle`
    /// (`planning/alice`, for someone in several teams). A handle alone keeps `current_team` when
    /// the person is in it, else takes the first team (in file order) they are in.
    ///
    /// # Errors
    /// [`RerouteError`] with a message fit to send back to the staff member.
    pub fn reroute(
        &self,
        target: &str,
        kind: Kind,
        current_team: Option<&str>,
        counter: u64,
    ) -> Result<Reassignment, RerouteError> {
        let t = target.trim();
        if t.is_empty() || t == "@" {
            return Err(RerouteError::Empty);
        }
        if let Some((team_id, handle)) = t.split_once('/') {
            let team_id = team_id.trim().to_lowercase();
            let handle = normalise_handle(handle);
            let team = self.team(&team_id).ok_or_else(|| self.unknown(&team_id))?;
            let m = team
                .members
                .iter()
                .find(|m| m.handle == handle)
                .ok_or_else(|| RerouteError::NotAMember {
                    handle: handle.clone(),
                    team: team.id.clone(),
                    members: team
                        .members
                        .iter()
                        .map(|m| m.handle.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                })?;
            return Ok(by_hand_to(team, m));
        }
        let member = if t.contains('@') && !t.starts_with('@') {
            self.member_by_address(t)
        } else {
            self.member_by_handle(t)
        };
        if let Some(m) = member {
            let in_current = current_team
                .and_then(|c| self.team(c))
                .filter(|team| team.has_member(&m.handle));
            let team = in_current.or_else(|| self.teams.iter().find(|tm| tm.has_member(&m.handle)));
            if let Some(team) = team {
                return Ok(by_hand_to(team, m));
            }
        }
        if let Some(team) = self.team(&t.to_lowercase()) {
            let pick = team.pick(kind, counter);
            return Ok(Reassignment {
                team: team.id.clone(),
                assignee: pick.assignee,
                used_round_robin: pick.used_round_robin,
                why: format!("re-routed by hand to team {}; {}", team.id, pick.why),
            });
        }
        Err(self.unknown(t))
    }

    fn unknown(&self, target: &str) -> RerouteError {
        let mut names: Vec<&str> = self.teams.iter().map(|t| t.id.as_str()).collect();
        names.extend(
            self.teams
                .iter()
                .flat_map(|t| &t.members)
                .map(|m| m.handle.as_str()),
        );
        let lower = target.to_lowercase();
        let suggestion = closest(&lower, &names)
            .map(|n| format!("; did you mean {n:?}?"))
            .unwrap_or_default();
        RerouteError::Unknown {
            target: target.to_string(),
            suggestion,
        }
    }
}

fn by_hand_to(team: &Team, m: &Member) -> Reassignment {
    Reassignment {
        team: team.id.clone(),
        assignee: Some(m.address.clone()),
        used_round_robin: false,
        why: format!("assigned by hand to {} (team {})", m.handle, team.id),
    }
}

/// `@Alice ` → `alice`.
fn normalise_handle(h: &str) -> String {
    h.trim().trim_start_matches('@').to_lowercase()
}

/// Matched text for a `why`: whitespace collapsed, at most [`MAX_QUOTE_CHARS`] characters.
fn quote(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= MAX_QUOTE_CHARS {
        flat
    } else {
        let mut s: String = flat.chars().take(MAX_QUOTE_CHARS).collect();
        s.push('…');
        s
    }
}
