//! Arbitrary bytes as a message in the shared mailbox: parse, triage with the repository's
//! rules, validate, plan.
//! See `../harness.rs`.
#![no_main]

#[allow(dead_code)] // each target uses one entry point of the shared harness
#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::pipeline(data));
