//! Shared fixtures of the workflow planners' tests: the default rules, a small routing file, a
//! reply-address key, cases built by hand and a counting id source.

use crate::config::{MachineMailSettings, WorkflowConfig};
use crate::core::actions::ReplyKeys;
use crate::core::deadline::{self, ClockInput};
use crate::core::plan::office::Office;
use crate::core::routing::Routing;
use crate::core::rules::RuleSet;
use crate::core::triage::Context;
use crate::model::case::{Case, CaseRef, CaseState};
use crate::model::change::Change;
use crate::model::kind::Kind;
use chrono::{DateTime, Utc};
use serde_json::json;
use std::sync::OnceLock;

/// The shared mailbox.
pub const SHARED: &str = "foi@council.example";
/// Members of `ig` (round robin, in this order).
pub const ALICE: &str = "alice@council.example";
pub const BOB: &str = "bob@council.example";
/// Manager and head of service of `ig`.
pub const BOSS: &str = "boss@council.example";
pub const HEAD: &str = "head@council.example";
/// The press office's shared inbox (its cases go there, to nobody by name).
pub const PRESS_INBOX: &str = "press@council.example";
/// Manager of `roads` (its cases are assigned to the manager).
pub const ROADS_BOSS: &str = "roads.boss@council.example";

const TEAMS: &str = r#"
[[team]]
id = "ig"
name = "Information Governance"
manager = "boss@council.example"
head_of_service = "head@council.example"
members = { alice = "alice@council.example", bob = "bob@council.example" }

[[team]]
id = "press"
name = "Press Office"
manager = "press.boss@council.example"
inbox = "press@council.example"
assign = "inbox"
members = {}

[[team]]
id = "roads"
name = "Roads"
manager = "roads.boss@council.example"
assign = "manager"
members = { dan = "dan@council.example" }

[[route]]
id = "potholes"
team = "roads"
anywhere = ["pothole"]
"#;

/// The default rules, England and Wales.
pub fn ctx() -> &'static Context {
    static CTX: OnceLock<Context> = OnceLock::new();
    CTX.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        Context::standalone(RuleSet::load(&dir).expect("default rules load"))
    })
}

/// The authserv-id of the trusted gateway in [`trusted_ctx`].
pub const GATEWAY: &str = "mx.council.example.gov.uk";

/// The default rules with [`GATEWAY`] trusted: mail stamped by it can change a case's state.
pub fn trusted_ctx() -> &'static Context {
    static CTX: OnceLock<Context> = OnceLock::new();
    CTX.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        let mut c = Context::standalone(RuleSet::load(&dir).expect("default rules load"));
        c.trusted_authserv_ids = vec![GATEWAY.to_string()];
        c
    })
}

/// [`trusted_ctx`] for a body that answers Welsh in Welsh (`[organisation] welsh = true`).
pub fn welsh_ctx() -> &'static Context {
    static CTX: OnceLock<Context> = OnceLock::new();
    CTX.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        let mut c = Context::standalone(RuleSet::load(&dir).expect("default rules load"));
        c.trusted_authserv_ids = vec![GATEWAY.to_string()];
        c.welsh = true;
        c
    })
}

/// `raw` as the trusted gateway delivers it when `domain` passes DMARC: its
/// `Authentication-Results` on top.
pub fn vouched(raw: &[u8], domain: &str) -> Vec<u8> {
    let mut out = format!(
        "Authentication-Results: {GATEWAY}; spf=pass smtp.mailfrom={domain}; \
         dmarc=pass header.from={domain}\r\n"
    )
    .into_bytes();
    out.extend_from_slice(raw);
    out
}

/// The reply-address key of [`Desk`].
pub const KEY: &str = "correct horse battery staple 2026";

/// What an [`Office`] borrows.
pub struct Desk {
    pub routing: Routing,
    pub keys: ReplyKeys,
    pub settings: WorkflowConfig,
    pub machine_mail: MachineMailSettings,
}

/// The routing file: every kind to `ig` by default, media to the press office.
fn routing() -> Routing {
    let defaults: String = Kind::ALL
        .iter()
        .filter(|k| **k != Kind::Auto)
        .map(|k| {
            let team = if *k == Kind::Media { "press" } else { "ig" };
            format!("{} = \"{team}\"\n", k.as_str())
        })
        .collect();
    let text = format!("[defaults]\n{defaults}{TEAMS}");
    Routing::from_toml(&text, "test.toml").expect("test routing loads")
}

impl Desk {
    pub fn new() -> Desk {
        Desk {
            routing: routing(),
            keys: ReplyKeys::new(&[KEY]).expect("keys"),
            settings: WorkflowConfig {
                routing_file: "test.toml".into(),
                reply_keys: vec![KEY.into()],
                reply_days_after_close: crate::config::DEFAULT_REPLY_DAYS_AFTER_CLOSE,
                chasers: Default::default(),
                digests: Default::default(),
                repeats: Default::default(),
            },
            machine_mail: MachineMailSettings::default(),
        }
    }

    pub fn office(&self) -> Office<'_> {
        Office {
            routing: &self.routing,
            keys: &self.keys,
            shared_address: SHARED,
            settings: &self.settings,
            machine_mail: &self.machine_mail,
        }
    }
}

pub fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("test instant")
}

fn prefix(kind: Kind) -> &'static str {
    match kind {
        Kind::Foi => "FOI",
        Kind::Eir => "EIR",
        Kind::Sar => "SAR",
        Kind::Media => "MED",
        _ => "ENQ",
    }
}

/// A case of `kind` received at `received`, due as the engine computes it.
pub fn case(seq: u32, kind: Kind, subject: &str, received: &str) -> Case {
    let received_at = at(received);
    let reference = CaseRef::new(prefix(kind), 2026, seq).expect("valid reference");
    // As the store keeps it: the fields a new case has, the rest by their defaults.
    let mut c: Case = serde_json::from_value(json!({
        "reference": reference,
        "kind": kind,
        "state": CaseState::Open,
        "received_at": received_at,
        "requester": {"name": "Jane Smith", "email": "jane@example.org"},
        "subject": subject,
        "message_ids": [format!("req-{seq}@example.org")],
        "content_hashes": [format!("hash-{seq}")],
        "valid": true,
        "created_at": received_at,
        "updated_at": received_at,
    }))
    .expect("a case record");
    let ctx = ctx();
    c.due = ctx.regime(kind).and_then(|regime| {
        deadline::compute(
            &ClockInput {
                regime,
                region: ctx.region,
                received_at,
                events: vec![],
            },
            &ctx.calendar,
            &ctx.options,
        )
        .ok()
        .and_then(|o| o.due())
    });
    c
}

/// The actions of a change's audit events, in order.
pub fn audit_actions(change: &Change) -> Vec<&str> {
    change
        .audit
        .iter()
        .map(|a| a.event.action.as_str())
        .collect()
}

/// Message-IDs `id-1`, `id-2`…
pub fn counting() -> impl FnMut() -> String {
    let mut n = 0;
    move || {
        n += 1;
        format!("id-{n}")
    }
}
