//! The Welsh letters to requesters: the shipped set, the choice of set, and the load-time check.

use super::*;
use crate::letters::{TemplateErrors, WELSH_FAMILIES};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn shipped_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("templates")
}

/// The shipped templates, Welsh included.
fn bilingual_set() -> &'static Letters {
    static T: OnceLock<Letters> = OnceLock::new();
    T.get_or_init(|| match Letters::load_with_welsh(&shipped_dir(), true) {
        Ok(t) => t,
        Err(e) => panic!("the shipped templates, Welsh included, must load: {e}"),
    })
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
}

/// A letter for Jane Smith, received Monday 23 November 2026, due Monday 21 December 2026.
fn data(template: &str, kind: Kind, regime: Option<Regime>, language: LetterLanguage) -> AckData {
    AckData {
        template: template.into(),
        organisation: "Cyngor Sir Enghraifft".into(),
        shared_address: "gwybodaeth@cyngor.example.cymru".into(),
        reference: "FOI-2026-000123".into(),
        kind,
        regime,
        region: Region::EnglandAndWales,
        received: ymd(2026, 11, 23),
        due: Some(ymd(2026, 12, 21)),
        requester_name: Some("Jane Smith".into()),
        requester_email: "jane@example.org".into(),
        their_subject: "Tyllau yn y ffordd".into(),
        missing: if template == NEED_MORE_INFO {
            vec![MissingItem {
                name: "clarification".into(),
                explain: String::new(),
            }]
        } else {
            Vec::new()
        },
        identity: (kind == Kind::Sar).then_some(IdentityState::Verifiable),
        language,
    }
}

/// Every requester letter, with a kind and regime it is sent for, and a phrase only its Welsh
/// version has.
fn every_letter() -> Vec<(&'static str, Kind, Option<Regime>, &'static str)> {
    vec![
        (
            "ack_foi",
            Kind::Foi,
            Some(Regime::Foia),
            "Deddf Rhyddid Gwybodaeth 2000",
        ),
        (
            "ack_eir",
            Kind::Eir,
            Some(Regime::Eir),
            "Rheoliadau Gwybodaeth Amgylcheddol 2004",
        ),
        (
            "ack_sar",
            Kind::Sar,
            Some(Regime::Sar),
            "Erthygl 15 o Reoliad Cyffredinol Diogelu Data y DU",
        ),
        (
            "ack_media",
            Kind::Media,
            Some(Regime::Policy { working_days: 1 }),
            "Diolch am eich ymholiad",
        ),
        (
            "ack_member_enquiry",
            Kind::MemberEnquiry,
            Some(Regime::Policy { working_days: 5 }),
            "ar ran etholwr",
        ),
        (
            "ack_complaint",
            Kind::Complaint,
            Some(Regime::Policy { working_days: 10 }),
            "Diolch am eich cwyn",
        ),
        ("ack_general", Kind::General, None, "Diolch am eich e-bost"),
        (
            NEED_MORE_INFO,
            Kind::Foi,
            Some(Regime::Foia),
            "Diolch am eich cais Rhyddid Gwybodaeth",
        ),
        (
            "followup_receipt",
            Kind::Foi,
            Some(Regime::Foia),
            "Rydym wedi ei ychwanegu at eich achos FOI-2026-000123",
        ),
    ]
}

#[test]
fn every_requester_letter_has_a_welsh_family() {
    let names: Vec<&str> = WELSH_FAMILIES.iter().map(|f| f.name).collect();
    let want: Vec<String> = TEMPLATE_NAMES
        .iter()
        .map(|t| folder(t, LetterLanguage::Welsh))
        .collect();
    assert_eq!(names, want);
    for file in crate::letters::welsh_template_files() {
        assert!(shipped_dir().join(&file).is_file(), "{file} is not shipped");
    }
}

#[test]
fn a_welsh_letter_is_in_welsh_with_its_dates_in_welsh() {
    let t = bilingual_set();
    for (template, kind, regime, phrase) in every_letter() {
        let d = data(template, kind, regime, LetterLanguage::Welsh);
        let parts = t.render_parts(&d).expect("renders");
        let text = &parts.text;
        assert!(
            text.starts_with("Annwyl Jane Smith,\n"),
            "{template}:\n{text}"
        );
        assert!(
            text.contains(phrase),
            "{template}: {phrase:?} missing:\n{text}"
        );
        // A request for more information stops the clock: it gives no date.
        assert_eq!(
            text.contains("erbyn dydd Llun 21 Rhagfyr 2026"),
            template != NEED_MORE_INFO,
            "{template}: the due date in Welsh:\n{text}"
        );
        assert!(
            !text.contains("Dear") && !text.contains("December"),
            "{template}:\n{text}"
        );
        assert!(text.contains("\nYn gywir,\n"), "{template}:\n{text}");
        // The one English sentence: why the letter is in Welsh, and how to have English.
        assert!(
            text.contains("because you wrote to us in Welsh"),
            "{template}:\n{text}"
        );
        assert!(parts.html.contains("<html lang=\"cy\">"), "{template}");
        assert!(parts.html.contains("Annwyl Jane Smith,"), "{template}");
        assert!(parts.html.contains(phrase), "{template}: {phrase:?}");
        assert!(
            parts.subject.starts_with("[FOI-2026-000123] "),
            "{template}: {}",
            parts.subject
        );
        assert!(
            parts.subject.ends_with(": Tyllau yn y ffordd"),
            "{}",
            parts.subject
        );
        if template != "followup_receipt" {
            // "on Monday …" as an adverb: the soft mutation of "dydd".
            assert!(
                text.contains("a gawsom ddydd Llun 23 Tachwedd 2026."),
                "{template}:\n{text}"
            );
        }
    }
}

#[test]
fn an_english_letter_stays_english_when_the_welsh_set_is_loaded() {
    let t = bilingual_set();
    for (template, kind, regime, phrase) in every_letter() {
        let d = data(template, kind, regime, LetterLanguage::English);
        let parts = t.render_parts(&d).expect("renders");
        assert!(parts.text.starts_with("Dear Jane Smith,\n"), "{template}");
        assert!(
            parts.text.contains("Monday 2"),
            "{template}: a date in English"
        );
        assert!(!parts.text.contains(phrase), "{template}");
        assert!(parts.html.contains("lang=\"en-GB\""), "{template}");
    }
}

#[test]
fn without_the_welsh_set_a_welsh_letter_goes_in_english() {
    // `[organisation] welsh` switched off after the letter was queued in Welsh.
    let english_only = Letters::load(&shipped_dir()).expect("loads");
    assert!(!english_only.welsh());
    assert!(bilingual_set().welsh());
    let d = data(
        "ack_foi",
        Kind::Foi,
        Some(Regime::Foia),
        LetterLanguage::Welsh,
    );
    let parts = english_only.render_parts(&d).expect("renders");
    assert!(
        parts.text.starts_with("Dear Jane Smith,\n"),
        "{}",
        parts.text
    );
    assert!(parts.text.contains("the Freedom of Information Act 2000"));
    assert!(parts.text.contains("Monday 21 December 2026"));
}

#[test]
fn a_welsh_need_more_info_writes_its_own_sentences_and_keeps_an_officers_words() {
    let t = bilingual_set();
    let mut d = data(
        NEED_MORE_INFO,
        Kind::Sar,
        Some(Regime::Sar),
        LetterLanguage::Welsh,
    );
    d.missing = vec![
        MissingItem {
            name: Missing::Name.as_str().into(),
            explain: Missing::Name.explain().into(),
        },
        MissingItem {
            name: Missing::Identity.as_str().into(),
            explain: Missing::Identity.explain().into(),
        },
        MissingItem {
            name: "clarification".into(),
            explain: "Pa flynyddoedd sydd gennych mewn golwg?".into(),
        },
        MissingItem {
            name: "fee".into(),
            explain: String::new(),
        },
    ];
    let text = t.render_parts(&d).expect("renders").text;
    for want in [
        "\n- eich enw iawn: ",
        "\n- prawf o bwy ydych chi: ",
        "\n- Pa flynyddoedd sydd gennych mewn golwg?\n",
        "\n- taliad y ffi ",
        "Rydym yn gofyn am hyn oherwydd bod cyfraith diogelu data",
    ] {
        assert!(text.contains(want), "{want:?} missing:\n{text}");
    }
    // The program's own English sentences are not in the Welsh letter.
    assert!(!text.contains("your real name"), "{text}");
    assert!(!text.contains("proof of your identity"), "{text}");
    // In English the same items keep the program's sentences.
    d.language = LetterLanguage::English;
    let text = t.render_parts(&d).expect("renders").text;
    assert!(text.contains(Missing::Name.explain()), "{text}");
}

/// A copy of the shipped templates to break.
fn copy_shipped(to: &Path) {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("mkdir");
        for entry in std::fs::read_dir(from).expect("read dir") {
            let entry = entry.expect("entry");
            let path = entry.path();
            if path.is_dir() {
                copy(&path, &to.join(entry.file_name()));
            } else {
                std::fs::copy(&path, to.join(entry.file_name())).expect("copy");
            }
        }
    }
    copy(&shipped_dir(), to);
}

#[test]
fn missing_welsh_templates_stop_the_start_only_when_welsh_is_on() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    copy_shipped(dir);
    for family in &WELSH_FAMILIES {
        std::fs::remove_dir_all(dir.join(family.name)).expect("rm");
    }
    assert!(Letters::load_with_welsh(dir, false).is_ok(), "not needed");
    let errs: TemplateErrors = match Letters::load_with_welsh(dir, true) {
        Ok(_) => panic!("the Welsh templates are required with welsh = true"),
        Err(e) => e,
    };
    // Every one is listed, each with its folder and why it is needed.
    assert_eq!(errs.0.len(), WELSH_FAMILIES.len(), "{errs}");
    for (e, family) in errs.0.iter().zip(&WELSH_FAMILIES) {
        assert!(e.file.ends_with(family.name), "{e}");
        assert!(
            e.message
                .contains("required by [organisation] welsh = true"),
            "{e}"
        );
    }

    // One file missing, and a typo in another: both reported, with file and line.
    copy_shipped(dir);
    std::fs::remove_file(dir.join("ack_sar/cy/body.html.j2")).expect("rm");
    let errs = Letters::load_with_welsh(dir, true).expect_err("a file is missing");
    assert_eq!(errs.0.len(), 1, "{errs}");
    assert!(
        errs.0[0].file.ends_with("ack_sar/cy/body.html.j2"),
        "{errs}"
    );
    copy_shipped(dir);
    std::fs::write(
        dir.join("ack_foi/cy/body.txt.j2"),
        "Annwyl {{ requester_name }},\n{{ refrence }}\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("ack_eir/cy/body.txt.j2"),
        "Erbyn {{ due|date_cy }}\n",
    )
    .expect("write");
    let errs = Letters::load_with_welsh(dir, true).expect_err("typos");
    let typo = errs
        .0
        .iter()
        .find(|e| e.file.ends_with("ack_foi/cy/body.txt.j2"))
        .unwrap_or_else(|| panic!("{errs}"));
    assert_eq!(typo.line, Some(2), "{typo}");
    // `date_cy` wants the ISO date, not the date in words: said at load, with the line.
    let filter = errs
        .0
        .iter()
        .find(|e| e.file.ends_with("ack_eir/cy/body.txt.j2"))
        .unwrap_or_else(|| panic!("{errs}"));
    assert!(filter.message.contains("*_iso variable"), "{filter}");
    assert_eq!(filter.line, Some(1), "{filter}");
    // Without Welsh, the broken Welsh files are not read at all.
    assert!(Letters::load_with_welsh(dir, false).is_ok());
}
