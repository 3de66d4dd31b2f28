//! The daemon's environment: the one value that says where "now" and fresh ids come from, and
//! what reads attached documents.
//!
//! Every owner task (ingest, the Sent watcher, the outbox worker, the scheduler, the control
//! socket) reads time from `env.clock` and mints Message-IDs from `env.ids`; ingest reads PDF,
//! DOCX, ODT and RTF attachments through `env.reader`. The command line runs on
//! [`Env::system`]; tests run the daemon in-process on a clock standing where they want it
//! ([`crate::io::clock::ManualClock`]), where ids matter deterministic ids
//! ([`crate::io::ids::SequentialIds`]), and decoder children of the binary under test.

use crate::core::extract::AttachmentReader;
use crate::io::clock::{Clock, SystemClock};
use crate::io::ids::{Ids, RandomIds};
use crate::io::sandbox::Sandbox;
use std::sync::Arc;

/// Where "now" and fresh ids come from, and what reads attached documents.
#[derive(Clone)]
pub struct Env {
    /// The current instant.
    pub clock: Arc<dyn Clock>,
    /// Fresh Message-IDs.
    pub ids: Arc<dyn Ids>,
    /// Reads attached documents (PDF, DOCX, ODT, RTF): a decoder child in production.
    pub reader: Arc<dyn AttachmentReader>,
}

impl Env {
    /// The machine's clock, the real id generator and decoder children of this very program:
    /// production.
    ///
    /// # Errors
    /// The operating system cannot say where the running program is (needed to start decoder
    /// children).
    pub fn system() -> std::io::Result<Env> {
        Ok(Env::new(
            Arc::new(SystemClock),
            Arc::new(RandomIds),
            Arc::new(Sandbox::current_exe()?),
        ))
    }

    /// An environment from its parts.
    pub fn new(clock: Arc<dyn Clock>, ids: Arc<dyn Ids>, reader: Arc<dyn AttachmentReader>) -> Env {
        Env { clock, ids, reader }
    }
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env")
            .field("now", &self.clock.now())
            .finish_non_exhaustive()
    }
}

/// Audit detail key for the operating-system uid of whoever ran a `case` action.
pub const OS_UID_KEY: &str = "os_uid";

/// Records the operating-system uid of the person acting next to what they said (`--by`): adds
/// `os_uid` to an audit detail object, or wraps any other detail as `{"detail": …, "os_uid": …}`.
/// `None` (the uid could not be learnt) leaves the detail as it is.
pub fn with_os_uid(detail: serde_json::Value, uid: Option<u32>) -> serde_json::Value {
    let Some(uid) = uid else {
        return detail;
    };
    match detail {
        serde_json::Value::Object(mut obj) => {
            obj.insert(OS_UID_KEY.into(), uid.into());
            serde_json::Value::Object(obj)
        }
        serde_json::Value::Null => serde_json::json!({ OS_UID_KEY: uid }),
        other => serde_json::json!({ "detail": other, OS_UID_KEY: uid }),
    }
}
