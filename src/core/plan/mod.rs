//! Planners: every decision the daemon makes, as pure functions from facts, `now` and an id
//! source to a store [`crate::model::change::Change`] and the [`letter::Letter`]s to send. No
//! store reads, no clock, no id generation, no I/O: the app reads the facts, calls a planner,
//! renders the letters into the same change and applies it.
//!
//! - [`ingest`]: a message in the shared mailbox → a new case, a follow-up, or nothing (kept as
//!   machine mail); a machine-mail record a person opens → a new case.
//! - [`machine`]: machine mail → the daily list for people, the purge after its retention.
//! - [`assign`]: a new (or unrouted) case → its team, assignee and the assignment email.
//! - [`command`]: a staff reply with commands → the case changes and the answer.
//! - [`poison`]: before triage, a message's durable attempt count → triage it, or quarantine it
//!   for people.
//! - [`responded`]: our own response seen in the shared mailbox → the case is answered.
//! - [`stuck`]: a message that cannot be fetched or filed → when to try again, when to quarantine
//!   it or tell people.
//! - [`tick`]: the scheduler at `now` → chasers, digests (with the machine-mail list), routing
//!   repairs, the next wake.

pub mod assign;
pub mod command;
pub mod ingest;
pub mod letter;
pub mod machine;
pub mod office;
pub mod poison;
pub mod responded;
pub mod stuck;
pub mod tick;

#[cfg(test)]
mod hostile_tests;
#[cfg(test)]
pub(crate) mod testkit;
