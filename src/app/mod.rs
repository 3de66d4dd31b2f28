//! The owner tasks that run the daemon: each reads facts from the store, calls a planner, applies
//! the change it returns and wakes whoever must act ([`daemon`] wires them, with signals and
//! shutdown; [`ingest`] owns the mailbox; [`control`] answers the CLI while the daemon runs;
//! [`corrections`] keeps officers' corrections as test samples beside the store).

pub mod control;
pub mod corrections;
pub mod daemon;
pub mod env;
pub mod ingest;
pub mod scheduler;
pub mod workflow;
