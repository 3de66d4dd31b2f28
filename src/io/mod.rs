//! The edges.

pub mod clock;
pub mod mail;
pub mod outbox;
pub mod store;
