//! Planners.

pub mod ingest;
pub mod letter;
