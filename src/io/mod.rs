//! The edges: the only code that touches the disk, the network or the system clock. [`store`]
//! (sled), [`mail`] (IMAP mailbox, SMTP submission), [`outbox`] (the durable send queue and its
//! worker), [`clock`] (where "now" comes from), [`sandbox`] (attachment decoders in a child
//! process with limits).

pub mod clock;
pub mod ids;
pub mod mail;
pub mod outbox;
pub mod sandbox;
pub mod store;
