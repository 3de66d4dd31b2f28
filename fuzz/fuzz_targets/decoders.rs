//! Arbitrary bytes as an attachment for the in-process decoders (DOCX, ODT, RTF, HTML, text;
//! not PDF).
//! See `../harness.rs`.
#![no_main]

#[allow(dead_code)] // each target uses one entry point of the shared harness
#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::decoders(data));
