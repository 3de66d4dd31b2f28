//! Every input the fuzzers (`scripts/fuzz.sh`) ever stopped on, kept in
//! `tests/data/fuzz-regressions/TARGET/` and replayed on stable through the same harness
//! (`fuzz/harness.rs`) that found it: a bug once fixed stays fixed without nightly.

use crate::fuzz_harness;
use crate::support;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// A harness entry point: one input, a panic when it finds something.
type Target = fn(&[u8]);

/// The targets and the harness entry point each one runs.
const TARGETS: [(&str, Target); 3] = [
    ("pipeline", fuzz_harness::pipeline),
    ("decoders", fuzz_harness::decoders),
    ("toml_readers", fuzz_harness::toml_readers),
];

#[test]
fn every_saved_fuzz_input_replays_without_a_panic() {
    let mut replayed = 0;
    let mut failed = Vec::new();
    for (target, run) in TARGETS {
        let dir = support::repo("tests/data/fuzz-regressions").join(target);
        // A target that never stopped on anything has no folder (git keeps no empty ones).
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<_> = entries
            .map(|e| e.expect("a directory entry").path())
            .collect();
        files.sort();
        for f in files {
            let data = std::fs::read(&f).expect("a saved input");
            if catch_unwind(AssertUnwindSafe(|| run(&data))).is_err() {
                failed.push(f.display().to_string());
            }
            replayed += 1;
        }
    }
    assert!(failed.is_empty(), "panicked on {failed:?}");
    assert!(replayed > 0, "no saved inputs found");
    eprintln!("fuzz regressions: {replayed} inputs replayed");
}
