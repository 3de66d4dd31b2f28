//! Plain data every layer shares: the kinds of mail, a parsed message, a case and its audit
//! events, the legal frame of its clock, the store change a planner returns, the letters it
//! queues. No logic beyond constructors and invariants; no I/O.

pub mod case;
pub mod change;
pub mod fingerprint;
pub mod kind;
pub mod letter;
pub mod message;
pub mod records;
pub mod regime;
