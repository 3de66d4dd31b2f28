//! The edges.

pub mod clock;
pub mod ids;
pub mod mail;
pub mod outbox;
pub mod store;
