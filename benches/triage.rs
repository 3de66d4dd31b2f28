//! Throughput of the pure pipeline: the officers' sample set (tests/data/samples) and a mix of
//! typical 5–50 KB mail (tests/data/bench).
//!
//! Target (issue 2): parse + classify at least 20,000 messages per second on one core for
//! typical 5–50 KB mail. Run with `cargo bench --bench triage`; criterion prints time per
//! message and elements (messages) per second.
//!
//! The typical mix is what a council mailbox receives besides short requests: a request with a
//! long pasted list of questions, replies carrying long quoted history (Gmail, Outlook, an inline
//! Thunderbird reply), an HTML-only newsletter, a letter in a 30 KB text attachment, a long SAR
//! in windows-1252, and a media enquiry with an inline logo. Each is measured alone
//! (`typical/<file>`, so a regression shows which shape of mail it hits) and all together
//! (`typical_mix`).
//!
//! `attachment/*` prices one attached PDF letter read in process and in a decoder child (the
//! daemon's way, `io::sandbox`).

#[path = "../tests/support/mod.rs"]
mod support;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use foi_triage::core::extract::{AttachmentReader, DocFormat, InProcess};
use foi_triage::core::followup::NoThreads;
use foi_triage::core::rules::RuleSet;
use foi_triage::core::triage::{Context, triage};
use std::hint::black_box;
use std::path::Path;

/// Every `.eml` file in `dir` (relative to the crate), sorted by path, with its file stem.
fn emls(dir: &str) -> Vec<(String, Vec<u8>)> {
    support::eml_files(&support::repo(dir))
        .iter()
        .map(|p| {
            let stem = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            (stem, std::fs::read(p).expect("bench input"))
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let rules = RuleSet::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")).expect("rules");
    let ctx = Context::standalone(rules);
    // Decoder children of the binary, as the daemon reads attachments.
    let reader = support::sandbox();
    let all: Vec<Vec<u8>> = emls("tests/data/samples")
        .into_iter()
        .map(|(_, b)| b)
        .collect();
    let mut g = c.benchmark_group("triage");

    g.throughput(Throughput::Elements(all.len() as u64));
    g.bench_function("sample_set_parse_classify_validate_deadline", |b| {
        b.iter(|| {
            for raw in &all {
                black_box(triage(&ctx, black_box(raw), None, &NoThreads, &reader));
            }
        })
    });

    let plain: Vec<Vec<u8>> = all
        .iter()
        .filter(|s| {
            foi_triage::core::parse::parse(s, &reader)
                .attachments
                .is_empty()
        })
        .cloned()
        .collect();
    g.throughput(Throughput::Elements(plain.len() as u64));
    g.bench_function("samples_without_attachments_parse_classify", |b| {
        b.iter(|| {
            for raw in &plain {
                let m = foi_triage::core::parse::parse(black_box(raw), &reader);
                black_box(ctx.rules.classify(&m));
            }
        })
    });

    let typical = emls("tests/data/bench");
    g.throughput(Throughput::Elements(typical.len() as u64));
    g.bench_function("typical_mix_parse_classify", |b| {
        b.iter(|| {
            for (_, raw) in &typical {
                let m = foi_triage::core::parse::parse(black_box(raw), &reader);
                black_box(ctx.rules.classify(&m));
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("typical");
    g.throughput(Throughput::Elements(1));
    for (name, raw) in &typical {
        let id = format!("{name}_{}kb", raw.len().div_ceil(1024));
        g.bench_function(id, |b| {
            b.iter(|| {
                let m = foi_triage::core::parse::parse(black_box(raw), &reader);
                black_box(ctx.rules.classify(&m));
            })
        });
        let m = foi_triage::core::parse::parse(raw, &reader);
        g.bench_function(format!("{name}_classify_only"), |b| {
            b.iter(|| black_box(ctx.rules.classify(black_box(&m))))
        });
    }
    g.finish();
}

/// What reading one attached letter costs: the same benign one-page PDF read in this process and
/// in a decoder child (spawn, limits, pipes, reap). The difference is the per-attachment price of
/// running decoders out of process.
fn attachment(c: &mut Criterion) {
    let pdf = std::fs::read(support::repo("tests/data/parse/letter.pdf")).expect("letter.pdf");
    let child = support::sandbox();
    let mut g = c.benchmark_group("attachment");
    g.throughput(Throughput::Elements(1));
    g.bench_function("letter_pdf_in_process", |b| {
        b.iter(|| {
            black_box(
                InProcess
                    .read(DocFormat::Pdf, black_box(&pdf))
                    .expect("reads"),
            )
        })
    });
    g.bench_function("letter_pdf_in_child", |b| {
        b.iter(|| {
            black_box(
                child
                    .decode(DocFormat::Pdf, black_box(&pdf))
                    .expect("reads"),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench, attachment);
criterion_main!(benches);
