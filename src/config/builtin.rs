//! The default rules and templates, built into the binary (`build.rs` lists `rules/*.toml` and
//! `templates/**/*.j2` as `include_str!`s).
//!
//! They are what the repository ships, read when nothing names a directory: `classify` and the
//! other rule tools run outside a checkout, and a config whose `[paths]` leaves out `rules_dir`
//! or `templates_dir` uses them. A directory that is named replaces them entirely (never merged,
//! never a silent fallback when it is missing). The texts go through the same loaders as files
//! on disk: `RuleSet::built_in` and `Letters::built_in`.

include!(concat!(env!("OUT_DIR"), "/builtin.rs"));

/// How the built-in set is named in messages and errors, in place of a directory.
pub const LABEL: &str = "(built-in)";

/// The text of the built-in template at `name` (relative to the template directory, with `/`:
/// `ack_foi/subject.txt.j2`).
pub fn template(name: &str) -> Option<&'static str> {
    TEMPLATES.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// Whether the built-in templates have a folder `family` (`ack_foi`, `ack_foi/cy`).
pub fn has_template_family(family: &str) -> bool {
    TEMPLATES.iter().any(|(n, _)| {
        n.strip_prefix(family)
            .and_then(|rest| rest.strip_prefix('/'))
            .is_some_and(|rest| !rest.contains('/'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_rule_file_and_template_is_built_in() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for (name, text) in RULES.iter().chain(TEMPLATES) {
            let dir = if name.ends_with(".toml") {
                "rules"
            } else {
                "templates"
            };
            let on_disk = std::fs::read_to_string(root.join(dir).join(name)).unwrap();
            assert_eq!(*text, on_disk, "{name}");
        }
        assert!(RULES.iter().any(|(n, _)| *n == "auto.toml"));
        assert!(!RULES.iter().any(|(n, _)| n.ends_with(".md")));
        assert!(template("ack_foi/cy/body.html.j2").is_some());
        assert!(has_template_family("ack_foi"));
        assert!(has_template_family("ack_foi/cy"));
        assert!(!has_template_family("ack_fo"));
    }
}
