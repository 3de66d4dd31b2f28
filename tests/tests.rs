//! Integration tests: one binary (see Cargo.toml `autotests = false`), running the real
//! `foi-triage` executable and the library against real files.

mod architecture;
mod cli;
mod corpus;
mod daemon;
mod sandbox;
mod support;
mod systemd;
