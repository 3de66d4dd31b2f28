//! What each fuzz target does with its input, shared by the libFuzzer targets (`fuzz_targets/`,
//! nightly) and the replay of saved crashes in the ordinary test suite
//! (`tests/fuzz_regressions.rs`, stable), so a regression file is replayed through exactly the
//! code that found it.
//!
//! Only the crate's public API is used, and the message pipeline enters through the public
//! `core::triage::triage` (which calls `core::parse::parse`). Attachments are read by the
//! decoders themselves in this process ([`InProcessButPdf`]), not by the limited child the daemon
//! uses: the fuzzer is after bugs in the decoders and in our code around them, and a child per
//! input would cost most of its speed. A panic or a failed assertion here is a finding.

use std::path::Path;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use foi_triage::config::{AckPolicy, Config};
use foi_triage::core::deadline::Calendar;
use foi_triage::core::dedupe::{dedupe_hash, identity_key};
use foi_triage::core::extract::{self, AttachmentReader, DocFormat, ExtractError, InProcess};
use foi_triage::core::followup::NoThreads;
use foi_triage::core::parse;
use foi_triage::core::plan::ingest::{
    self, Facts, IngestSettings, Mode, Plan, PlanError, Position,
};
use foi_triage::core::routing::Routing;
use foi_triage::core::rules::RuleSet;
use foi_triage::core::triage::{self, Context, Outcome};
use foi_triage::model::case::{Case, CaseRef, CaseState};

/// The processing time every run uses: fixed, so a regression file replays the same way.
const NOW: &str = "2026-03-10T11:05:00Z";

/// The repository's own rules and the default configuration, built once.
struct Fixture {
    ctx: Context,
    settings: IngestSettings,
    now: DateTime<Utc>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        // The fuzz crate's manifest dir is `fuzz/`; the repository's rules are one level up.
        let rules = if rules.is_dir() {
            rules
        } else {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules")
        };
        let set = RuleSet::load(&rules).expect("the repository's rules load");
        let mut ctx = Context::standalone(set);
        ctx.trusted_authserv_ids = vec!["mx.council.example.gov.uk".into()];
        let config = Config::defaults();
        let settings = IngestSettings {
            mode: Mode::Live,
            acks: AckPolicy::default(),
            own_addresses: vec!["foi@council.example.gov.uk".into()],
            prefixes: config.prefixes().into_iter().map(|(p, k)| (k, p)).collect(),
            id_domain: "council.example.gov.uk".into(),
        };
        Fixture {
            ctx,
            settings,
            now: NOW.parse().expect("a fixed instant"),
        }
    })
}

/// Bytes → parse → triage (the repository's rules, follow-up detection, validity, the clock,
/// authentication) → the ingest planner, as the daemon runs them, with the bounds every
/// `Message` must keep checked on the way.
pub fn pipeline(data: &[u8]) {
    let (_, planned) = run_pipeline(data);
    // An `Err` is a clear outcome (the daemon quarantines the message); only a panic is a bug.
    if let Ok(plan) = planned {
        assert!(
            plan.change.cursor.is_some(),
            "every plan advances the cursor"
        );
    }
}

/// The pipeline's outcome and plan for one message received at the fixed time, as the daemon
/// would plan it with nothing recorded yet (a follow-up finds its case, in a state the input
/// picks).
pub fn run_pipeline(data: &[u8]) -> (Outcome, Result<Plan, PlanError>) {
    let f = fixture();
    let outcome = triage::triage(&f.ctx, data, Some(f.now), &NoThreads, &InProcessButPdf);
    check_message_bounds(&outcome, data);
    let hash = dedupe_hash(data);
    assert_eq!(hash.len(), 64, "dedupe hash is SHA-256 hex");
    if let Some(key) = identity_key(&outcome.message) {
        assert_eq!(key.len(), 64, "identity key is SHA-256 hex");
    }
    // `foi-triage classify` prints the outcome as JSON.
    serde_json::to_string(&outcome).expect("an outcome always serialises");
    let facts = Facts {
        followup_case: outcome
            .followup
            .as_ref()
            .and_then(|fu| stored_case(&fu.reference, data)),
        letter_id: "letter-1@council.example.gov.uk".into(),
        ..Facts::default()
    };
    let position = Position {
        mailbox: "INBOX".into(),
        uidvalidity: 1,
        uid: 1,
    };
    let planned = ingest::plan(&f.ctx, &f.settings, &outcome, &facts, &position, f.now);
    (outcome, planned)
}

/// The bounds `core::parse` promises whatever the input (its module documentation).
fn check_message_bounds(outcome: &Outcome, data: &[u8]) {
    let m = &outcome.message;
    assert_eq!(m.raw_size, data.len());
    assert_eq!(m.content_hash, parse::sha256_hex(data));
    assert!(
        m.headers.len() <= parse::MAX_HEADERS,
        "{} headers",
        m.headers.len()
    );
    assert!(m.body_text.len() <= parse::MAX_BODY_TEXT_BYTES);
    assert!(m.attachments.len() <= parse::MAX_ATTACHMENTS);
    assert!(m.to.len() <= parse::MAX_ADDRESSES && m.cc.len() <= parse::MAX_ADDRESSES);
    assert!(m.in_reply_to.len() <= parse::MAX_IDS && m.references.len() <= parse::MAX_IDS);
    // The cap plus the line that counts the rest.
    assert!(m.warnings.len() <= parse::MAX_WARNINGS + 1);
    let attachment_text: usize = m
        .attachments
        .iter()
        .filter_map(|a| a.text.as_ref())
        .map(String::len)
        .sum();
    assert!(attachment_text <= parse::MAX_ATTACHMENT_TEXT_TOTAL_BYTES);
}

/// The case a follow-up continues, as the store would hand it to the planner, in a state chosen
/// by the input (so the clock-restart paths are reached too). `None` when the reference does
/// not parse: the planner then says the case is missing.
fn stored_case(reference: &str, data: &[u8]) -> Option<Case> {
    let r: CaseRef = reference.parse().ok()?;
    let f = fixture();
    let kind = f
        .settings
        .prefixes
        .iter()
        .find(|(_, p)| p.as_str() == r.prefix())
        .map(|(k, _)| *k)?;
    let states = [
        CaseState::Open,
        CaseState::AwaitingClarification,
        CaseState::AwaitingId,
    ];
    let state = states[data.len() % states.len()];
    serde_json::from_value(serde_json::json!({
        "reference": r,
        "kind": kind,
        "state": state,
        "received_at": "2026-03-02T09:30:00Z",
        "requester": {"name": "Jane Smith", "email": "jane@example.org"},
        "subject": "Parking fines",
        "message_ids": ["req-1@example.org"],
        "content_hashes": ["hash-1"],
        "valid": true,
        "created_at": "2026-03-02T09:30:00Z",
        "updated_at": "2026-03-02T09:30:00Z",
    }))
    .ok()
}

/// The attachment decoders of today, in this process, PDFs excepted: `pdf-extract` overflows the
/// stack on a self-drawing form XObject (issue 9) and can allocate gigabytes, which would stop
/// every fuzz run at that known fault instead of finding new ones. The daemon runs all of them
/// in a limited child (`io::sandbox`), whose own tests feed it the hostile PDFs.
struct InProcessButPdf;

impl AttachmentReader for InProcessButPdf {
    fn read(&self, format: DocFormat, data: &[u8]) -> Result<String, ExtractError> {
        if format == DocFormat::Pdf {
            return Err(ExtractError::NotReadable {
                format,
                reason: "PDFs are not decoded in process by the fuzz harness".into(),
            });
        }
        InProcess.read(format, data)
    }
}

/// One attachment decoder on raw bytes: the first byte picks the declared type (so DOCX, ODT,
/// RTF, HTML and text are all reached even without their magic bytes), the rest is the file.
/// PDFs are left out ([`InProcessButPdf`]).
pub fn decoders(data: &[u8]) {
    const TYPES: [(&str, &str); 6] = [
        (
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "a.docx",
        ),
        ("application/vnd.oasis.opendocument.text", "a.odt"),
        ("application/rtf", "a.rtf"),
        ("text/html", "a.html"),
        ("text/plain", "a.txt"),
        ("application/octet-stream", "a.bin"),
    ];
    let Some((&pick, file)) = data.split_first() else {
        return;
    };
    let (mime, name) = TYPES[usize::from(pick) % TYPES.len()];
    if extract::detect(mime, Some(name), file) == Some(DocFormat::Pdf) {
        return;
    }
    if let Ok(Some(e)) = extract::extract(mime, Some(name), file, &InProcessButPdf) {
        assert!(
            e.text.len() <= extract::MAX_TEXT_BYTES,
            "{} bytes",
            e.text.len()
        );
    }
}

/// The TOML readers an officer's files go through: the configuration, rule files, the routing
/// file and the bank-holiday calendar. Each must answer with a value or typed errors.
pub fn toml_readers(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // A base folder that does not exist: relative paths in the input resolve to nothing.
    if let Err(e) = Config::from_toml(text, Path::new("/nonexistent/foi-triage-fuzz")) {
        assert!(!e.errors.is_empty(), "a refusal names at least one problem");
    }
    if let Err(e) = RuleSet::from_sources(&[("fuzz.toml", text)]) {
        assert!(!e.errors.is_empty(), "a refusal names at least one problem");
    }
    if let Err(e) = Routing::from_toml(text, "fuzz.toml") {
        assert!(!e.errors.is_empty(), "a refusal names at least one problem");
    }
    let _ = Calendar::from_toml(text);
}
