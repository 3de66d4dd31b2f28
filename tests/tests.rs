//! Integration tests: one binary (see Cargo.toml `autotests = false`), running the real
//! `foi-triage` executable and the library against real files.

mod architecture;
mod backup;
mod cli;
mod corpus;
mod daemon;
mod fuzz_regressions;
mod hostile_generated;
mod sandbox;
mod support;
mod systemd;

/// What each fuzz target runs; shared with the fuzz crate (`fuzz/`).
#[allow(dead_code)]
#[path = "../fuzz/harness.rs"]
mod fuzz_harness;
