//! Owner tasks.

pub mod control;
pub mod daemon;
pub mod env;
pub mod ingest;
pub mod workflow;
