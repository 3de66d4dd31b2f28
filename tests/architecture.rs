//! The layer rule, checked on the source: every module imports only from its own layer or the
//! layers to its left, and no two modules import each other, directly or round a circle.
//!
//! ```text
//! model ← config ← core ← letters ← io ← app ← cli
//! ```
//!
//! It reads the `use crate::…` lines and inline `crate::…` paths of every file under `src/`
//! (comments, string literals and test-only code left out), so it needs no crate of its own. A
//! violation names the file and line, the two modules, and the rule broken.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, left to right. A module may import from its own layer and those before it.
const LAYERS: [&str; 7] = ["model", "config", "core", "letters", "io", "app", "cli"];

#[test]
fn every_import_points_left_and_no_modules_import_each_other() {
    let src = crate::support::repo("src");
    let imports = crate::architecture::scan(&src);
    assert!(
        imports.len() > 200,
        "only {} imports found under {}: the scanner is broken",
        imports.len(),
        src.display()
    );
    let problems = check(&imports);
    assert!(
        problems.is_empty(),
        "the layer rule is broken:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_checker_catches_a_back_import_and_a_circle() {
    let imp = |from: &str, to: &str| Import {
        file: PathBuf::from(format!("src/{}.rs", from.replace("::", "/"))),
        line: 1,
        from: from.to_string(),
        to: to.to_string(),
    };
    assert!(
        check(&[
            imp("core::rules", "model::kind"),
            imp("app::daemon", "io::store")
        ])
        .is_empty()
    );
    let back = check(&[imp("core::plan", "io::outbox")]);
    assert_eq!(back.len(), 1, "{back:?}");
    assert!(
        back[0].contains("core::plan imports io::outbox"),
        "{back:?}"
    );
    let circle = check(&[
        imp("core::chase", "core::digest"),
        imp("core::digest", "core::routing"),
        imp("core::routing", "core::chase"),
    ]);
    assert_eq!(circle.len(), 1, "{circle:?}");
    assert!(
        circle[0].contains("core::chase → core::digest → core::routing → core::chase"),
        "{circle:?}"
    );
    let unknown = check(&[imp("misc", "model::kind")]);
    assert!(unknown[0].contains("not in any layer"), "{unknown:?}");
}

#[test]
fn the_scanner_reads_nested_use_trees_and_skips_comments_strings_and_tests() {
    let text = r##"
//! See [`crate::app::daemon`] for the loop.
use crate::{
    core::{deadline::{self, Regime}, rules},
    model::kind::Kind,
};
use crate::config::Config as Cfg;
fn f() -> crate::io::store::Store { let s = "crate::cli::run"; let c = '"'; todo!() }
/* crate::app::control */
#[cfg(test)]
mod tests {
    use crate::cli::Cli;
}
#[cfg(test)]
use crate::app::ingest;
"##;
    let found: BTreeSet<(String, usize)> = imports_in(text)
        .into_iter()
        .map(|(line, p)| (p, line))
        .collect();
    let paths: BTreeSet<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        BTreeSet::from([
            "config::Config",
            "core::deadline::Regime",
            "core::rules",
            "io::store::Store",
            "model::kind::Kind"
        ]),
        "{found:?}"
    );
    assert!(
        found.contains(&("io::store::Store".to_string(), 8)),
        "{found:?}"
    );
    let modules = BTreeSet::from(["config".to_string(), "core::deadline".to_string()]);
    assert_eq!(
        resolve(&modules, "core::deadline::Regime"),
        "core::deadline"
    );
    assert_eq!(resolve(&modules, "config::Config"), "config");
}

/// One import of one module by another.
#[derive(Debug, Clone)]
pub struct Import {
    /// The importing file.
    pub file: PathBuf,
    /// Its line.
    pub line: usize,
    /// The importing module, two levels deep (`core::chase`).
    pub from: String,
    /// The imported module, two levels deep.
    pub to: String,
}

/// Every import between different modules of the crate under `src`.
pub fn scan(src: &Path) -> Vec<Import> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let test_only = test_only_files(&files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(src, f)).collect();
    let mut out = Vec::new();
    for file in files
        .iter()
        .filter(|f| !test_only.iter().any(|t| f.starts_with(t)))
    {
        let Ok(text) = std::fs::read_to_string(file) else {
            panic!("cannot read {}", file.display());
        };
        let from = module_of(src, file);
        for (line, path) in imports_in(&text) {
            let to = resolve(&modules, &path);
            if !from.starts_with(&to) && !to.starts_with(&from) {
                out.push(Import {
                    file: file.clone(),
                    line,
                    from: from.clone(),
                    to,
                });
            }
        }
    }
    out
}

/// What is wrong with these imports: back imports, modules outside the layers, circles.
fn check(imports: &[Import]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut graph: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for i in imports {
        match (layer(&i.from), layer(&i.to)) {
            (Some(a), Some(b)) if b > a => problems.push(format!(
                "{}:{}: {} imports {}: layer {} may not import layer {} (to its right)",
                i.file.display(),
                i.line,
                i.from,
                i.to,
                LAYERS[a],
                LAYERS[b]
            )),
            (Some(_), Some(_)) => {}
            _ => problems.push(format!(
                "{}:{}: {} or {} is not in any layer ({})",
                i.file.display(),
                i.line,
                i.from,
                i.to,
                LAYERS.join(", ")
            )),
        }
        graph.entry(&i.from).or_default().insert(&i.to);
    }
    for circle in circles(&graph) {
        problems.push(format!("import circle: {}", circle.join(" → ")));
    }
    problems
}

fn layer(module: &str) -> Option<usize> {
    let top = module.split("::").next()?;
    LAYERS.iter().position(|l| *l == top)
}

/// One circle per strongly connected group of modules (Tarjan), written from its first module.
fn circles<'a>(graph: &BTreeMap<&'a str, BTreeSet<&'a str>>) -> Vec<Vec<&'a str>> {
    struct Walk<'g, 'a> {
        graph: &'g BTreeMap<&'a str, BTreeSet<&'a str>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        groups: Vec<Vec<&'a str>>,
    }
    impl<'a> Walk<'_, 'a> {
        fn visit(&mut self, v: &'a str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            for &w in self.graph.get(v).into_iter().flatten() {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    self.low.entry(v).and_modify(|l| *l = (*l).min(lw));
                } else if self.stack.contains(&w) {
                    let iw = self.index[w];
                    self.low.entry(v).and_modify(|l| *l = (*l).min(iw));
                }
            }
            if self.low[v] == self.index[v] {
                let at = self.stack.iter().rposition(|x| *x == v).unwrap_or(0);
                let group: Vec<&str> = self.stack.split_off(at);
                if group.len() > 1 {
                    self.groups.push(group);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        groups: Vec::new(),
    };
    for &v in graph.keys() {
        if !walk.index.contains_key(v) {
            walk.visit(v);
        }
    }
    walk.groups
        .into_iter()
        .map(|group| circle_through(graph, &group))
        .collect()
}

/// A path round the group: from its first module (alphabetically) back to it, through the group.
fn circle_through<'a>(
    graph: &BTreeMap<&'a str, BTreeSet<&'a str>>,
    group: &[&'a str],
) -> Vec<&'a str> {
    let members: BTreeSet<&str> = group.iter().copied().collect();
    let start = *members.iter().next().unwrap_or(&"");
    // Breadth-first from start's successors back to start, inside the group.
    let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for &w in graph
            .get(v)
            .into_iter()
            .flatten()
            .filter(|w| members.contains(*w))
        {
            if w == start {
                let mut path = vec![start];
                let mut at = v;
                while at != start {
                    path.push(at);
                    at = parent[at];
                }
                path.push(start);
                let n = path.len();
                path[1..n - 1].reverse();
                return path;
            }
            if !parent.contains_key(w) {
                parent.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    group.to_vec()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        panic!("cannot read {}", dir.display());
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// Files (and folders) that are only compiled for tests: `tests.rs`/`tests/`, and whatever a
/// `#[cfg(test)] mod name;` declares.
fn test_only_files(files: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for f in files {
        if f.file_stem().is_some_and(|s| s == "tests") {
            out.push(f.clone());
            out.push(f.with_extension(""));
        }
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        let code = code_only(&text);
        let dir = match f.file_name().and_then(|n| n.to_str()) {
            Some("mod.rs" | "lib.rs" | "main.rs") => f.parent().map(Path::to_path_buf),
            _ => Some(f.with_extension("")),
        };
        let Some(dir) = dir else { continue };
        let mut rest = code.as_str();
        while let Some(at) = rest.find("#[cfg(test)]") {
            rest = &rest[at + "#[cfg(test)]".len()..];
            let decl = rest.trim_start();
            let decl = decl.strip_prefix("pub ").unwrap_or(decl).trim_start();
            if let Some(m) = decl.strip_prefix("mod ") {
                let name: String = m
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if m[name.len()..].trim_start().starts_with(';') {
                    out.push(dir.join(format!("{name}.rs")));
                    out.push(dir.join(&name));
                }
            }
        }
    }
    out
}

/// The module a file is, two levels deep: `src/core/chase/tests.rs` → `core::chase`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .filter(|p| p != "mod")
        .collect();
    two_levels(&parts.join("::"))
}

/// The module a path names, two levels deep where that is a module (`core::chase::Chaser` →
/// `core::chase`), else its layer (`config::Config` → `config`).
fn resolve(modules: &BTreeSet<String>, path: &str) -> String {
    let two = two_levels(path);
    if modules.contains(&two) {
        two
    } else {
        path.split("::").next().unwrap_or_default().to_string()
    }
}

fn two_levels(path: &str) -> String {
    path.split("::").take(2).collect::<Vec<_>>().join("::")
}

/// Every crate path a file's production code names, with its line: `use crate::…` trees
/// (expanded) and inline `crate::a::b` paths.
fn imports_in(text: &str) -> Vec<(usize, String)> {
    let code = without_test_items(&code_only(text));
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(found) = code[at..].find("crate::") {
        let start = at + found;
        at = start + "crate::".len();
        let before = code[..start].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == ':') {
            continue;
        }
        let line = code[..start].matches('\n').count() + 1;
        let (paths, used) = use_tree(&code[at..]);
        at += used;
        out.extend(paths.into_iter().map(|p| (line, p)));
    }
    out
}

/// The paths a use tree (or a plain path) names, and how many bytes it took: `a::{b, c::d}` →
/// `a::b`, `a::c::d`.
fn use_tree(s: &str) -> (Vec<String>, usize) {
    let mut prefix = String::new();
    let mut i = 0;
    let bytes = s.as_bytes();
    loop {
        let ident: String = s[i..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        i += ident.len();
        if !ident.is_empty() {
            if !prefix.is_empty() {
                prefix.push_str("::");
            }
            prefix.push_str(&ident);
        }
        if s[i..].starts_with("::") {
            i += 2;
            if bytes.get(i) == Some(&b'{') {
                let (inner, used) = group(&s[i + 1..]);
                let paths = inner
                    .into_iter()
                    .map(|p| {
                        if prefix.is_empty() {
                            p
                        } else {
                            format!("{prefix}::{p}")
                        }
                    })
                    .collect();
                return (paths, i + 1 + used);
            }
            continue;
        }
        if bytes.get(i) == Some(&b'{') && prefix.is_empty() {
            let (inner, used) = group(&s[i + 1..]);
            return (inner, i + 1 + used);
        }
        let p = prefix.trim_end_matches("::self").to_string();
        return (if p.is_empty() { vec![] } else { vec![p] }, i);
    }
}

/// The paths of a `{…}` group whose opening brace is already consumed, and the bytes used
/// (through the closing brace).
fn group(s: &str) -> (Vec<String>, usize) {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let c = s.as_bytes()[i];
        if c == b'}' {
            return (out, i + 1);
        }
        if c.is_ascii_alphanumeric() || c == b'_' || c == b'{' {
            let (paths, used) = use_tree(&s[i..]);
            out.extend(paths.into_iter().filter(|p| p != "self"));
            i += used.max(1);
        } else {
            i += 1;
        }
    }
    (out, i)
}

/// The text with comments, string literals and char literals blanked (line breaks kept, so
/// line numbers stay right).
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !ident_before(&chars, i) {
            let hashes = chars[i + 1..].iter().take_while(|c| **c == '#').count();
            if chars.get(i + 1 + hashes) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            i += 2 + hashes;
            while i < chars.len() {
                if chars[i] == '"'
                    && chars[i + 1..]
                        .iter()
                        .take(hashes)
                        .filter(|c| **c == '#')
                        .count()
                        == hashes
                {
                    i += 1 + hashes;
                    break;
                }
                blank(&mut out, chars[i]);
                i += 1;
            }
            out.push_str("\"\"");
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                if let Some(&ch) = chars.get(i) {
                    blank(&mut out, ch);
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && (chars.get(i + 2) == Some(&'\'') || next == Some('\\')) {
            // A char literal ('"', '\n', '\''); a lifetime has no closing quote.
            i += 1;
            if chars.get(i) == Some(&'\\') {
                i += 2;
            } else {
                i += 1;
            }
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident_before(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

/// The code with every `#[cfg(test)]` item blanked (a `mod tests { … }`, a `use`, a `fn`).
fn without_test_items(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let item = &rest[at..];
        let end = item_end(item);
        out.extend(
            item[..end]
                .chars()
                .map(|c| if c == '\n' { '\n' } else { ' ' }),
        );
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

/// Where the item starting at `s` ends: after its `;`, or after its matching `}`.
fn item_end(s: &str) -> usize {
    let mut depth = 0usize;
    for (i, c) in s.char_indices().skip("#[cfg(test)]".len()) {
        match c {
            ';' if depth == 0 => return i + 1,
            '{' => depth += 1,
            '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    s.len()
}
