//! "Responded", seen from the shared mailbox: a message from our own address to the requester,
//! with the case reference, means the response went out. Pure.

use crate::core::actions::{self, Action};
use crate::core::triage::Context;
use crate::model::case::{Case, SYSTEM_ACTOR};
use crate::model::change::Change;
use chrono::{DateTime, Utc};

/// Records the response on the case (audited), unless the case is already answered or closed
/// (`None`: nothing to write).
pub fn plan_responded(ctx: &Context, case: &Case, now: DateTime<Utc>) -> Option<Change> {
    let none = |_: &str| None;
    let done = actions::apply(
        case,
        &Action::Responded { on: None },
        SYSTEM_ACTOR,
        "a response was sent from the shared mailbox",
        now,
        ctx,
        &none,
    )
    .ok()?;
    Some(done.into_change(case))
}

#[cfg(test)]
mod tests;
