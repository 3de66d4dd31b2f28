//! The mail edges: the only modules that talk to mail servers.
//!
//! Everything here does network I/O with timeouts; the pure composition of messages lives in
//! [`crate::compose`].

pub mod smtp;
