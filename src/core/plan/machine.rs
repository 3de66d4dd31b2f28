//! Machine mail for people, pure: the daily list of what intake filed without a case, and the
//! purge of records past their retention period.
//!
//! Intake keeps a record of every message it files without a case (`core::plan::ingest`). Once a
//! day the scheduler lists the records written since the last list for the team that owns the
//! mailbox (`[machine_mail] team`, default the `foi` default team): inside that team's digest when
//! the digest goes in the same tick, else in a short mail of its own to the team's manager, at
//! the digest hour on working days. Each line gives the sender, subject, why, the id and the exact
//! command that turns it into a case. An empty day sends nothing.
//!
//! Listing once: records are numbered by the store in the order they are written, and the
//! `machine-mail/listed` mark (set in the same change as the mail that lists them) holds the
//! highest number listed, so a restart never lists a record twice and a record written while a
//! list was being planned is in the next one. A record already opened when the list goes is left
//! out (a person has dealt with it).
//!
//! Opening by email: each line also carries the record's signed address, bound to the person the
//! list goes to; `#open` sent there opens it ([`by_mail`]).
//!
//! Retention: a record and its raw bytes are deleted `keep_days` after they were filed (logged by
//! the app: there is no case to audit on). Retention proper (cases, the originals kept for
//! assignment mail) is another matter; this only stops raw machine mail being kept for ever.

use crate::config::MachineMailSettings;
use crate::core::digest;
use crate::core::plan::office::Office;
use crate::core::routing::{Routing, Team};
use crate::core::triage::Context;
use crate::model::change::{Change, Mark};
use crate::model::kind::Kind;
use crate::model::machine::{MachineMail, MachineMailId, MachineMailLine};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The mark that says how far the list has gone: [`Listed`] as JSON.
pub const LISTED_MARK: &str = "machine-mail/listed";

/// How far the daily list has gone (the [`LISTED_MARK`] mark).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listed {
    /// The highest record number listed (or found opened before it was listed).
    pub last: u64,
    /// When the last list went (in a digest or on its own).
    pub at: Option<DateTime<Utc>>,
}

impl Listed {
    /// The state a mark holds; a missing or unreadable mark is "nothing listed yet" (a record is
    /// then listed once more rather than never).
    pub fn from_mark(value: Option<serde_json::Value>) -> Listed {
        value
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default()
    }

    /// The mark recording that everything up to `last` was listed at `now`.
    fn mark(last: u64, now: DateTime<Utc>) -> Mark {
        Mark {
            key: LISTED_MARK.to_string(),
            value: json!(Listed {
                last,
                at: Some(now)
            }),
        }
    }
}

/// The daily list on its own (when the team's digest does not go that day).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineMailList {
    /// The team's display name.
    pub team_name: String,
    /// Today (Europe/London).
    pub today: NaiveDate,
    /// When the previous list went, if ever.
    pub since: Option<DateTime<Utc>>,
    /// One line per record, oldest first.
    pub lines: Vec<MachineMailLine>,
    /// Days a record is kept.
    pub keep_days: u32,
}

/// The team that gets the list: the configured one, else the `foi` default team (the team that
/// owns an information-rights mailbox). `None` when the routing file has neither.
pub fn list_team<'a>(routing: &'a Routing, settings: &MachineMailSettings) -> Option<&'a Team> {
    settings
        .team
        .as_deref()
        .or_else(|| routing.default_team(Kind::Foi))
        .and_then(|t| routing.team(t))
}

/// The command that opens record `id` as `kind`, as `by` would type it.
pub fn open_command(id: &MachineMailId, kind: Kind, by: &str) -> String {
    format!("foi-triage case open-from {id} --kind {kind} --by {by}")
}

/// The list lines of the records not yet opened, oldest first, each with the command `by` (the
/// person the list goes to) types to open it, and the address they send `#open` to.
pub fn lines(office: &Office<'_>, records: &[MachineMail], by: &str) -> Vec<MachineMailLine> {
    records
        .iter()
        .filter(|r| r.opened.is_none())
        .map(|r| MachineMailLine {
            id: r.id,
            received_at: r.received_at,
            from: r.from.clone(),
            subject: r.subject.clone(),
            why: r.why.clone(),
            suggested: r.suggested,
            command: open_command(&r.id, r.suggested, by),
            open_address: office.machine_address(&r.id, by),
        })
        .collect()
}

/// What the tick needs to list machine mail.
#[derive(Debug, Clone, Copy)]
pub struct ListFacts<'a> {
    /// Records written since the last list (numbers above `listed.last`), oldest first.
    pub pending: &'a [MachineMail],
    /// How far the list has gone.
    pub listed: Listed,
}

/// What the tick does with machine mail at `now`.
#[derive(Debug, Clone, PartialEq)]
pub enum ListPlan {
    /// Nothing to do now; look again at `next` (if anything waits).
    Wait {
        /// When the list is next due, when records wait.
        next: Option<DateTime<Utc>>,
    },
    /// Records wait but every one was opened meanwhile: move the mark, send nothing.
    Skip(Mark),
    /// Put these lines in the team's digest going now, with the mark.
    InDigest(Vec<MachineMailLine>, Mark),
    /// Send the list on its own to the team's manager, with the mark.
    OnItsOwn(MachineMailList, Mark),
}

/// Plans the machine-mail list at `now`: inside the team's digest when `digest_now` (the team's
/// digest goes in this tick), else on its own once the daily list is due (the digest hour on a
/// working day, a day after the last list). Nothing when no record waits.
pub fn plan_list(
    office: &Office<'_>,
    team: &Team,
    facts: &ListFacts<'_>,
    digest_now: bool,
    ctx: &Context,
    now: DateTime<Utc>,
) -> ListPlan {
    let Some(last) = facts.pending.iter().map(|r| r.id.seq()).max() else {
        return ListPlan::Wait { next: None };
    };
    let lines = lines(office, facts.pending, &team.manager);
    // The daily schedule at the digest hour, whatever the team's own digest days are.
    let daily = digest::DigestSettings {
        daily: true,
        ..office.settings.digests.clone()
    };
    let (cal, region) = (&ctx.calendar, ctx.region);
    let mark = Listed::mark(last, now);
    if digest_now {
        return ListPlan::InDigest(lines, mark);
    }
    if !digest::digest_due(now, facts.listed.at, cal, region, &daily) {
        let next = digest::next_digest_at(now, facts.listed.at, cal, region, &daily);
        return ListPlan::Wait { next };
    }
    if lines.is_empty() {
        return ListPlan::Skip(mark);
    }
    ListPlan::OnItsOwn(
        MachineMailList {
            team_name: team.name.clone(),
            today: crate::core::london::date(now),
            since: facts.listed.at,
            lines,
            keep_days: office.machine_mail.keep_days,
        },
        mark,
    )
}

/// The records past their retention period at `now` (filed more than `keep_days` days ago), to
/// delete with their raw bytes; `None` when there are none.
pub fn plan_purge(records: &[MachineMail], keep_days: u32, now: DateTime<Utc>) -> Option<Change> {
    let cutoff = now - Duration::days(i64::from(keep_days));
    let old: Vec<MachineMailId> = records
        .iter()
        .filter(|r| r.filed_at < cutoff)
        .map(|r| r.id)
        .collect();
    (!old.is_empty()).then(|| Change {
        machine_mail_purged: old,
        ..Change::default()
    })
}

pub mod by_mail;

#[cfg(test)]
mod tests;
