//! Arbitrary text as a configuration, rule, routing or calendar file.
//! See `../harness.rs`.
#![no_main]

#[allow(dead_code)] // each target uses one entry point of the shared harness
#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::toml_readers(data));
