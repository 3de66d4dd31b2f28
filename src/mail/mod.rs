//! The mail edges: the only code that talks to mail servers.
//!
//! - [`imap`]: the shared mailbox (read, file, wait for new mail).
//! - [`smtp`]: sending (acknowledgements and, later, staff mail).
//!
//! Everything here does network I/O with timeouts. Nothing here classifies, stores or composes
//! mail: the pure pipeline, [`crate::compose`] and the store do that.

pub mod imap;
pub mod smtp;
