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

#[test]
fn mail_from_our_address_counts_only_when_the_gateway_vouches_for_it() {
    use crate::core::auth::Authenticity;
    let now = at("2026-03-10T12:00:00Z");
    let vouched = Authenticity::Authenticated {
        method: "dmarc".into(),
        domain: "council.example".into(),
    };
    let not = Authenticity::NotAuthenticated {
        why: "dmarc=fail".into(),
    };
    // (what the gateway says, state before, recorded as responded, audit action if any)
    let table = [
        (&vouched, CaseState::Open, Some("responded")),
        (&not, CaseState::Open, Some("response_not_recorded")),
        (
            &Authenticity::NoGateway,
            CaseState::Open,
            Some("response_not_recorded"),
        ),
        (&not, CaseState::Closed, None),
        (&vouched, CaseState::Responded, None),
    ];
    for (auth, state, action) in table {
        let mut c = case(2, Kind::Foi, "Parking fines", "2026-03-02T09:30:00Z");
        c.state = state;
        let change = plan_responded_by_mail(ctx(), &c, auth, Some("x@council.example"), now);
        let actions: Vec<&str> = change
            .iter()
            .flat_map(|ch| ch.audit.iter().map(|a| a.event.action.as_str()))
            .collect();
        match action {
            None => assert!(change.is_none(), "{auth:?} {state}"),
            Some("response_not_recorded") => {
                let ch = change.as_ref().expect("an audit");
                assert!(
                    ch.case_updates.is_empty(),
                    "{auth:?}: the case is untouched"
                );
                assert_eq!(actions, ["response_not_recorded"], "{auth:?}");
                assert!(ch.audit[0].event.why.contains("not authenticated"));
            }
            Some(_) => {
                let ch = change.as_ref().expect("a change");
                assert_eq!(ch.case_updates[0].case.state, CaseState::Responded);
            }
        }
    }
}
