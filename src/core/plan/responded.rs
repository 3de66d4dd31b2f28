//! "Responded", seen from the shared mailbox: a message from our own address to the requester,
//! with the case reference, means the response went out. Pure.
//!
//! The Sent-folder watcher reads our own Sent folder, which only we write to: it is trusted
//! ([`plan_responded`]). A message arriving in the inbox `From` our address could be written by
//! anyone, so it counts only when the trusted gateway vouches for it ([`plan_responded_by_mail`]);
//! otherwise the case is not touched beyond an audit line, and chasers keep running.

use crate::core::actions::{self, Action};
use crate::core::auth::Authenticity;
use crate::core::triage::Context;
use crate::model::case::{AuditEvent, Case, SYSTEM_ACTOR};
use crate::model::change::{AuditAppend, CaseTarget, Change};
use chrono::{DateTime, Utc};
use serde_json::json;

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

/// A message in the inbox `From` our own address with the case's reference: recorded as the
/// response only when `auth` says the gateway vouches for it; otherwise an audit line saying it
/// was not believed (`None` when there is nothing to write: the case is answered or closed).
pub fn plan_responded_by_mail(
    ctx: &Context,
    case: &Case,
    auth: &Authenticity,
    message_id: Option<&str>,
    now: DateTime<Utc>,
) -> Option<Change> {
    if auth.is_authenticated() {
        return plan_responded(ctx, case, now);
    }
    // Nothing to say about a case the response is already recorded on.
    plan_responded(ctx, case, now)?;
    let event = AuditEvent::system(
        now,
        "response_not_recorded",
        json!({"message_id": message_id, "auth": auth}),
        format!(
            "a message from our own address quoted this case, but it is {}; the case was not \
             marked responded (the Sent-folder watcher or an officer records real responses)",
            auth.describe()
        ),
    );
    Some(Change {
        audit: AuditAppend::all(&CaseTarget::Existing(case.reference.clone()), vec![event]),
        ..Change::default()
    })
}

#[cfg(test)]
mod tests;
