//! The mail edges: the only code that talks to mail servers.
//!
//! - [`imap`]: the shared mailbox (read, file, wait for new mail).
//! - [`smtp`]: sending (acknowledgements and, later, staff mail).
//!
//! Everything here does network I/O with timeouts. Nothing here classifies, stores or composes
//! mail: the pure pipeline, [`crate::letters::compose`] and the store do that.

pub mod imap;
pub mod smtp;

/// Test support: the real mail stack, shared with the integration tests and benches
/// (`tests/support/stack.rs`); compiled into the library's unit tests only.
#[cfg(test)]
#[path = "../../../tests/support/stack.rs"]
pub(crate) mod test_stack;
