//! The mail edges: the only code that talks to mail servers.
//!
//! - [`imap`]: the shared mailbox (read, file, wait for new mail).
//!
//! Nothing here classifies, stores or composes mail; the pure pipeline and the store do that.

pub mod imap;
