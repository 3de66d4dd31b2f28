//! The daemon's environment: the one value that says where "now" and fresh ids come from.
//!
//! Every owner task (ingest, the Sent watcher, the outbox worker, the scheduler, the control
//! socket) reads time from `env.clock` and mints Message-IDs from `env.ids`. The command line runs
//! on [`Env::system`]; tests run the daemon in-process on a clock standing where they want it
//! ([`crate::io::clock::ManualClock`]) and, where ids matter, deterministic ids
//! ([`crate::io::ids::SequentialIds`]).

use crate::io::clock::{Clock, SystemClock};
use crate::io::ids::{Ids, RandomIds};
use std::sync::Arc;

/// Where "now" and fresh ids come from.
#[derive(Clone)]
pub struct Env {
    /// The current instant.
    pub clock: Arc<dyn Clock>,
    /// Fresh Message-IDs.
    pub ids: Arc<dyn Ids>,
}

impl Env {
    /// The machine's clock and the real id generator: production.
    pub fn system() -> Env {
        Env::new(Arc::new(SystemClock), Arc::new(RandomIds))
    }

    /// An environment from its parts.
    pub fn new(clock: Arc<dyn Clock>, ids: Arc<dyn Ids>) -> Env {
        Env { clock, ids }
    }
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env")
            .field("now", &self.clock.now())
            .finish_non_exhaustive()
    }
}
