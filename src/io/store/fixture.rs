//! A store with something in every tree, written through [`Store::apply`] and
//! [`Store::put_raw`] as the daemon writes: what the backup and verification tests start from.

use super::*;
use crate::core::dedupe::dedupe_hash;
use crate::model::case::{AuditEvent, CaseDraft, CaseState, SYSTEM_ACTOR};
use crate::model::kind::Kind;
use crate::model::message::Address;
use chrono::TimeZone;
use serde_json::json;

pub(super) fn t(d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, d, h, 0, 0)
        .single()
        .expect("valid test time")
}

/// A raw request; its dedupe hash is the case's content hash and the raw tree's key.
pub(super) fn raw(n: u32) -> Vec<u8> {
    format!(
        "From: R{n} <r{n}@example.org>\r\nMessage-ID: <m{n}@example.org>\r\nSubject: request \
         {n}\r\n\r\nPlease provide the figures.\r\n\0\u{ff}binary tail"
    )
    .into_bytes()
}

fn draft(n: u32, state: CaseState) -> CaseDraft {
    CaseDraft {
        reference: (),
        kind: Kind::Foi,
        state,
        received_at: t(2, 9),
        requester: Address {
            name: Some(format!("Requester {n}")),
            email: format!("R{n}@Example.org"),
        },
        subject: format!("Request {n}"),
        message_ids: vec![format!("<m{n}@example.org>")],
        content_hashes: vec![dedupe_hash(&raw(n))],
        rules: vec!["foi.keyword".into()],
        valid: Some(true),
        missing: vec![],
        due: NaiveDate::from_ymd_opt(2026, 3, 30),
        clock_events: Vec::new(),
        workflow: Default::default(),
        assignee: None,
        team: None,
        created_at: t(2, 9),
        updated_at: t(2, 9),
    }
}

fn event(action: &str) -> AuditEvent {
    AuditEvent {
        at: t(2, 10),
        actor: SYSTEM_ACTOR.into(),
        action: action.into(),
        detail: json!({ "rules": ["foi.keyword"], "z": 1, "a": [true, null] }),
        why: "new request".into(),
    }
}

/// A new case `n` with its audit, acknowledgement row, raw message and the cursor at `uid`.
fn new_case(store: &Store, prefix: &str, n: u32, state: CaseState, uid: u32) -> CaseRef {
    store
        .put_raw(&dedupe_hash(&raw(n)), &raw(n))
        .expect("raw kept");
    let change = Change {
        new_case: Some(NewCase {
            prefix: prefix.into(),
            year: 2026,
            draft: draft(n, state),
        }),
        audit: vec![
            AuditAppend {
                case: CaseTarget::New,
                event: event("received"),
            },
            AuditAppend {
                case: CaseTarget::New,
                event: event("acknowledged"),
            },
        ],
        outbox_new: vec![NewOutboxRow {
            case: Some(CaseTarget::New),
            created_at: t(2, 10),
            payload: json!({ "template": "ack", "to": [format!("r{n}@example.org")] }),
            next_attempt_at: t(2, 10),
            recipient: Some(format!("r{n}+tag@example.org")),
        }],
        cursor: Some(CursorUpdate {
            mailbox: "INBOX".into(),
            cursor: Cursor {
                uidvalidity: 7,
                last_uid: uid,
            },
        }),
        ..Change::default()
    };
    store
        .apply(change)
        .expect("case stored")
        .new_case
        .expect("a reference")
}

/// Fills `store`: three cases (one closed), their audit, outbox rows (one sent, one failed, a
/// general one), raw messages, a second mailbox's cursor, `seen` records of ignored mail, a
/// machine-mail record and marks. Returns the references.
pub(super) fn fill(store: &Store) -> Vec<CaseRef> {
    let refs = vec![
        new_case(store, "FOI", 1, CaseState::Open, 11),
        new_case(store, "FOI", 2, CaseState::Closed, 12),
        new_case(store, "SAR", 3, CaseState::Open, 13),
    ];
    let update = |id, status| OutboxUpdate {
        id,
        status,
        attempts: 1,
        last_error: None,
        next_attempt_at: t(2, 11),
        interrupted: 0,
    };
    store
        .apply(Change {
            outbox_updates: vec![
                update(1, OutboxStatus::Sent),
                update(2, OutboxStatus::Failed),
            ],
            outbox_new: vec![NewOutboxRow {
                case: None,
                created_at: t(3, 8),
                payload: json!({ "template": "digest" }),
                next_attempt_at: t(3, 9),
                recipient: None,
            }],
            seen: vec![SeenRecord {
                at: t(3, 8),
                message_id: Some("<bounce-1@mx.example>".into()),
                content_hash: Some("ab".repeat(32)),
                kind: Some(Kind::Auto),
                why: "machine mail".into(),
            }],
            // The same bounce kept as machine mail, with its raw bytes.
            machine_mail: Some(crate::model::change::NewMachineMail {
                year: 2026,
                draft: crate::model::machine::MachineMailDraft {
                    id: (),
                    filed_at: t(3, 8),
                    received_at: t(3, 8),
                    from: "mailer-daemon@mx.example".into(),
                    subject: "Undelivered Mail Returned to Sender".into(),
                    kind: Kind::Auto,
                    why: "machine mail".into(),
                    rules: vec!["auto.mailer-daemon".into()],
                    suggested: Kind::General,
                    content_hash: "ab".repeat(32),
                    message_id: Some("bounce-1@mx.example".into()),
                    size: 24,
                    partial: false,
                    opened: None,
                },
                raw: b"From: MAILER-DAEMON\r\n\r\nbounce".to_vec(),
            }),
            marks: vec![
                Mark {
                    key: "digest/ig".into(),
                    value: json!("2026-03-03T09:00:00Z"),
                },
                Mark {
                    key: "assign/ig/next".into(),
                    value: json!(2),
                },
            ],
            cursor: Some(CursorUpdate {
                mailbox: "Sent".into(),
                cursor: Cursor {
                    uidvalidity: 1,
                    last_uid: 40,
                },
            }),
            ..Change::default()
        })
        .expect("applies");
    refs
}
