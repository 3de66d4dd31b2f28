//! Test support, out of the library: run the real binary, find the repository's data, the real
//! mail stack ([`stack`]) and the daemon's test mail and config ([`mail`]).
//!
//! The integration tests declare it as `mod support`; the benches include the same folder with
//! `#[path = "../tests/support/mod.rs"]`, so there is one copy of each helper. Each includer uses
//! a part of it.
#![allow(dead_code)]

pub mod mail;
pub mod stack;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A path inside the repository.
pub fn repo(rel: &str) -> PathBuf {
    root().join(rel)
}

/// Runs `foi-triage ARGS` from the repository root.
pub fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_foi-triage"))
        .args(args)
        .current_dir(root())
        .env_remove("FOI_TRIAGE_CONFIG")
        .output()
        .expect("run foi-triage")
}

/// Attachment decoders in children of the binary under test, as the daemon runs them.
pub fn sandbox() -> foi_triage::io::sandbox::Sandbox {
    foi_triage::io::sandbox::Sandbox::new(env!("CARGO_BIN_EXE_foi-triage"))
}

/// Stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The shared real-world corpus, when present (it is in CI: `../shared/corpus`).
pub fn corpus_dir() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("FOI_CORPUS_DIR").map(PathBuf::from),
        Some(root().join("../shared/corpus")),
    ];
    candidates.into_iter().flatten().find(|p| p.is_dir())
}

/// Every `.eml` file under a directory, recursively, sorted.
pub fn eml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "eml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
