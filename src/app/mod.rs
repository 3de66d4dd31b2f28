//! Owner tasks.

pub mod control;
pub mod daemon;
pub mod ingest;
pub mod scheduler;
pub mod workflow;
