//! Throughput of the pure pipeline on the officers' sample set (tests/data/samples).
//!
//! Target (issue 2): parse + classify at least 20,000 messages per second on one core for
//! typical 5–50 KB mail. Run with `cargo bench --bench triage`; criterion prints time per
//! message and elements (messages) per second.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use foi_triage::followup::NoThreads;
use foi_triage::rules::RuleSet;
use foi_triage::triage::{Context, triage};
use std::hint::black_box;
use std::path::Path;

fn samples() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/samples");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/data/samples")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| std::fs::read(p).expect("sample"))
        .collect()
}

/// Typical mail: the samples without attachments, padded with quoted history to about 20 KB.
fn typical(samples: &[Vec<u8>]) -> Vec<Vec<u8>> {
    samples
        .iter()
        // Letters attached as PDF/DOCX/ODT cost an extraction each; they are measured by the
        // whole-set benchmark above, not here.
        .filter(|s| foi_triage::parse::parse(s).attachments.is_empty())
        .map(|s| {
            let mut m = s.clone();
            while m.len() < 20_000 {
                m.extend_from_slice(
                    b"\r\n> Earlier correspondence quoted below, as mail clients do.",
                );
            }
            m
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let rules = RuleSet::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")).expect("rules");
    let ctx = Context::standalone(rules);
    let all = samples();
    let mut g = c.benchmark_group("triage");

    g.throughput(Throughput::Elements(all.len() as u64));
    g.bench_function("sample_set_parse_classify_validate_deadline", |b| {
        b.iter(|| {
            for raw in &all {
                black_box(triage(&ctx, black_box(raw), None, &NoThreads));
            }
        })
    });

    let plain: Vec<Vec<u8>> = all
        .iter()
        .filter(|s| foi_triage::parse::parse(s).attachments.is_empty())
        .cloned()
        .collect();
    g.throughput(Throughput::Elements(plain.len() as u64));
    g.bench_function("samples_without_attachments_parse_classify", |b| {
        b.iter(|| {
            for raw in &plain {
                let m = foi_triage::parse::parse(black_box(raw));
                black_box(ctx.rules.classify(&m));
            }
        })
    });

    let typical = typical(&all);
    g.throughput(Throughput::Elements(typical.len() as u64));
    g.bench_function("typical_20kb_parse_classify", |b| {
        b.iter(|| {
            for raw in &typical {
                let m = foi_triage::parse::parse(black_box(raw));
                black_box(ctx.rules.classify(&m));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
