//! "Responded" without a store.

use super::*;
use crate::core::plan::testkit::{at, case, ctx};
use crate::model::case::CaseState;
use crate::model::kind::Kind;

#[test]
fn a_response_is_recorded_once_on_an_unfinished_case() {
    let now = at("2026-03-10T12:00:00Z");
    // (state before, recorded)
    let table = [
        (CaseState::Open, true),
        (CaseState::AwaitingClarification, true),
        (CaseState::Responded, false),
        (CaseState::Closed, false),
    ];
    for (state, recorded) in table {
        let mut c = case(2, Kind::Foi, "Parking fines", "2026-03-02T09:30:00Z");
        c.state = state;
        let change = plan_responded(ctx(), &c, now);
        assert_eq!(change.is_some(), recorded, "{state}");
        let Some(change) = change else { continue };
        let u = &change.case_updates[0];
        assert_eq!(u.expected.as_ref(), Some(&c));
        assert_eq!(u.case.state, CaseState::Responded, "{state}");
        assert_eq!(u.case.workflow.responded_at, Some(now), "{state}");
        assert!(change.audit.iter().all(|a| a.event.actor == SYSTEM_ACTOR));
        assert!(
            change
                .audit
                .iter()
                .any(|a| a.event.why == "a response was sent from the shared mailbox"),
            "{:?}",
            change.audit
        );
        assert!(change.outbox_new.is_empty() && change.marks.is_empty());
    }
}
