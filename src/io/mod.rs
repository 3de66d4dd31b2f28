//! The edges: the only code that touches the disk, the network or the system clock. [`store`]
//! (sled), [`mail`] (IMAP mailbox, SMTP submission), [`outbox`] (the durable send queue and its
//! worker), [`clock`] (where "now" comes from), [`sandbox`] (attachment decoders in a child
//! process with limits), [`corrections`] (officers' corrections kept as test samples beside the
//! store).

pub mod clock;
pub mod corrections;
pub mod ids;
pub mod mail;
pub mod outbox;
pub mod sandbox;
pub mod store;
