//! The real-world corpus in `../shared/corpus` (bounces, auto-replies, broken MIME from public
//! projects): every message goes through the whole pure pipeline without a panic. (That the
//! bounces come out `auto` is checked beside the rules, in `rules::acceptance`.)

use crate::support;
use foi_triage::core::followup::NoThreads;
use foi_triage::core::rules::RuleSet;
use foi_triage::core::triage::{Context, triage};
use foi_triage::model::kind::Kind;
use std::collections::BTreeMap;

fn context() -> Context {
    Context::standalone(RuleSet::load(&support::repo("rules")).expect("default rules load"))
}

#[test]
fn every_corpus_message_goes_through_the_pipeline() {
    let Some(dir) = support::corpus_dir() else {
        // The corpus ships in ../shared beside the repository (present in CI). Say so loudly
        // rather than pass silently.
        eprintln!("corpus not found (../shared/corpus or FOI_CORPUS_DIR): nothing to run");
        return;
    };
    let ctx = context();
    let reader = support::sandbox();
    let files = support::eml_files(&dir);
    assert!(
        files.len() >= 400,
        "expected the ~416-message corpus, found {}",
        files.len()
    );
    let mut kinds: BTreeMap<Kind, usize> = BTreeMap::new();
    let mut with_warnings = 0;
    for f in &files {
        let raw = std::fs::read(f).expect("read corpus file");
        let o = std::panic::catch_unwind(|| triage(&ctx, &raw, None, &NoThreads, &reader))
            .unwrap_or_else(|_| panic!("pipeline panicked on {}", f.display()));
        assert_eq!(o.message.raw_size, raw.len(), "{}", f.display());
        assert_eq!(o.message.content_hash.len(), 64, "{}", f.display());
        assert!(
            !o.decision.why.is_empty(),
            "no explanation for {}",
            f.display()
        );
        *kinds.entry(o.kind()).or_default() += 1;
        with_warnings += usize::from(!o.message.warnings.is_empty());
    }
    eprintln!(
        "corpus: {} messages, {with_warnings} with parse warnings, kinds {kinds:?}",
        files.len()
    );
}
