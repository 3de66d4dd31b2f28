//! Planners.

pub mod ingest;
