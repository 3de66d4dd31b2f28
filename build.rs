//! Builds the default rules and templates into the binary (`config::builtin`): one generated
//! list of `include_str!`s over `rules/*.toml` and every `templates/**/*.j2`, so
//! `foi-triage classify FILE` works from any directory and a packaged install has a fallback.
//! A directory named in the config (or `--rules`) still replaces them entirely.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    // A directory here makes cargo rescan everything under it for changes.
    println!("cargo:rerun-if-changed=rules");
    println!("cargo:rerun-if-changed=templates");
    let mut rules = files(&root.join("rules"), false, ".toml");
    let mut templates = files(&root.join("templates"), true, ".j2");
    rules.sort();
    templates.sort();
    let mut out = String::new();
    list(&mut out, "RULES", &root.join("rules"), &rules);
    list(&mut out, "TEMPLATES", &root.join("templates"), &templates);
    let dest = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo")).join("builtin.rs");
    std::fs::write(dest, out).expect("write builtin.rs");
}

/// Files under `dir` ending in `ext` (recursively when `deep`), skipping dot files.
fn files(dir: &Path, deep: bool, ext: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read a shipped directory") {
        let path = entry.expect("list a shipped directory").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or(".");
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            if deep {
                found.extend(files(&path, deep, ext));
            }
        } else if name.ends_with(ext) {
            found.push(path);
        }
    }
    found
}

/// `pub const NAME: &[(&str, &str)] = &[("relative/name", include_str!("/abs/path")), …];`
fn list(out: &mut String, name: &str, base: &Path, paths: &[PathBuf]) {
    let _ = writeln!(out, "pub const {name}: &[(&str, &str)] = &[");
    for path in paths {
        let rel = path.strip_prefix(base).expect("under its base");
        let rel = rel.to_str().expect("UTF-8 file name").replace('\\', "/");
        let _ = writeln!(
            out,
            "    ({rel:?}, include_str!({:?})),",
            path.display().to_string()
        );
    }
    let _ = writeln!(out, "];");
}
