//! Letters in the requester's language: a body under the Welsh Language Standards
//! (`[organisation] welsh = true`) answers Welsh in Welsh, and nobody else's letters change.

use super::*;
use crate::core::plan::testkit::welsh_ctx;
use crate::letters::Letters;
use crate::letters::compose::AckData;
use crate::model::language::{Language, LetterLanguage};
use std::sync::OnceLock;

const WELSH_BODY: &str = "Annwyl Swyddog Rhyddid Gwybodaeth,\r\n\r\nHoffwn wneud cais am wybodaeth \
o dan Ddeddf Rhyddid Gwybodaeth 2000. A fyddech cystal \u{e2} darparu nifer y dirwyon parcio a \
roddwyd ar Heol y Felin ym mhob un o'r tair blynedd ariannol diwethaf.\r\n\r\nDiolch yn fawr,\r\n\
Rhys ap Gwilym\r\n3 Heol y Bryn, Caernarfon LL55 1AA";

fn request(body: &str, subject: &str) -> Outcome {
    let raw = vouched(
        &mail("Rhys ap Gwilym <rhys@example.org>", subject, body, ""),
        "example.org",
    );
    outcome(&raw, &Known::default())
}

/// Plans a new request under `ctx` and returns the case draft's language and the letter.
fn new_case(ctx: &Context, o: &Outcome) -> (Language, crate::model::letter::AckJob, Plan) {
    let p = plan(ctx, &settings(Mode::Live), o, &facts(), &pos(1), t0()).expect("plan");
    let draft = &p.change.new_case.as_ref().expect("a new case").draft;
    let j = jobs(&p.change);
    assert_eq!(j.len(), 1);
    (draft.workflow.language, j[0].clone(), p)
}

fn shipped_letters() -> &'static Letters {
    static T: OnceLock<Letters> = OnceLock::new();
    T.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        Letters::load_with_welsh(&dir, true).expect("the shipped templates, Welsh included, load")
    })
}

/// The text the outbox would send for `job` on the case the plan makes.
fn rendered(p: &Plan, job: &crate::model::letter::AckJob) -> String {
    let draft = &p.change.new_case.as_ref().expect("a new case").draft;
    let data = AckData {
        template: job.template.clone(),
        organisation: "Cyngor Sir Enghraifft".into(),
        shared_address: SHARED.into(),
        reference: "FOI-2026-000001".into(),
        kind: draft.kind,
        regime: welsh_ctx().regime(draft.kind),
        region: welsh_ctx().region,
        received: job.received,
        due: job.due,
        requester_name: job.requester_name.clone(),
        requester_email: job.to.clone(),
        their_subject: job.their_subject.clone(),
        missing: job.missing.clone(),
        identity: draft.workflow.identity,
        language: job.language,
    };
    shipped_letters().render_parts(&data).expect("renders").text
}

#[test]
fn a_welsh_request_gets_the_welsh_acknowledgement_with_the_due_date_in_welsh() {
    let o = request(WELSH_BODY, "Cais am wybodaeth: dirwyon parcio");
    assert_eq!(o.language.language, Language::Welsh, "{}", o.language.why);
    let (language, job, p) = new_case(welsh_ctx(), &o);
    assert_eq!(language, Language::Welsh);
    assert_eq!(job.template, "ack_foi");
    assert_eq!(job.language, LetterLanguage::Welsh);
    // FOIA: 20 working days from Monday 23 November 2026, over the Christmas bank holidays.
    assert_eq!(job.due, chrono::NaiveDate::from_ymd_opt(2026, 12, 22));
    let text = rendered(&p, &job);
    assert!(text.starts_with("Annwyl Rhys ap Gwilym,\n"), "{text}");
    assert!(
        text.contains("Byddwn yn ymateb erbyn dydd Mawrth 22 Rhagfyr 2026 fan bellaf."),
        "{text}"
    );
    assert!(
        text.contains("a gawsom ddydd Llun 23 Tachwedd 2026"),
        "{text}"
    );

    // The language is audited with the classification, and the letter's with the queueing.
    let classified = p
        .change
        .audit
        .iter()
        .find(|a| a.event.action == "classified")
        .expect("classified");
    assert_eq!(classified.event.detail["language"]["detected"], "welsh");
    assert!(
        classified.event.why.contains(" Language: welsh: "),
        "{}",
        classified.event.why
    );
    let queued = p
        .change
        .audit
        .iter()
        .find(|a| a.event.action == "acknowledgement_queued")
        .expect("queued");
    assert_eq!(queued.event.detail["language"], "welsh");
    assert!(
        queued.event.why.contains("in Welsh"),
        "{}",
        queued.event.why
    );
}

#[test]
fn an_english_request_gets_the_english_acknowledgement() {
    let o = request(FOI_BODY, "FOI request: parking fines");
    let (language, job, p) = new_case(welsh_ctx(), &o);
    assert_eq!(language, Language::English);
    assert_eq!(job.language, LetterLanguage::English);
    let text = rendered(&p, &job);
    assert!(
        text.contains("We will respond by Tuesday 22 December 2026"),
        "{text}"
    );
}

#[test]
fn without_welsh_every_letter_is_english_and_the_language_is_still_recorded() {
    for body in [WELSH_BODY, FOI_BODY] {
        let o = request(body, "Cais am wybodaeth");
        let (language, job, p) = new_case(trusted_ctx(), &o);
        assert_eq!(language, o.language.language);
        assert_eq!(job.language, LetterLanguage::English, "{body}");
        let text = rendered(&p, &job);
        assert!(text.contains("Tuesday 22 December 2026"), "{text}");
    }
}

#[test]
fn a_welsh_request_missing_its_name_is_asked_in_welsh() {
    let body = "Hoffwn wneud cais am wybodaeth dan Ddeddf Rhyddid Gwybodaeth 2000: faint a \
                wariwyd ar oleuadau stryd yn y sir yn 2024? Diolch.";
    let raw = vouched(
        &mail("rg1987@example.org", "Cais am wybodaeth", body, ""),
        "example.org",
    );
    let o = outcome(&raw, &Known::default());
    let (_, job, p) = new_case(welsh_ctx(), &o);
    assert_eq!(job.template, "need_more_info");
    assert_eq!(job.language, LetterLanguage::Welsh);
    let text = rendered(&p, &job);
    assert!(text.contains("\n- eich enw iawn: "), "{text}");
    assert!(!text.contains("your real name"), "{text}");
}

/// A follow-up: the letter follows the requester's language, kept on the case.
#[test]
fn a_receipt_follows_the_language_of_the_requester_and_the_case() {
    let known = Known {
        refs: ["FOI-2026-000007".to_string()].into(),
        ..Known::default()
    };
    let subject = "Re: [FOI-2026-000007] Eich cais";
    let welsh_reply =
        "Diolch am eich ateb. Mae hynny'n iawn, ac rwy'n fodlon aros am yr wybodaeth.";
    let english_reply = "Thank you for your letter. I am happy to wait for the information.";
    // (name, case language, From, body, letter, case language after)
    let table = [
        (
            "a short reply on a Welsh case",
            Language::Welsh,
            "pat@example.org",
            "Diolch",
            LetterLanguage::Welsh,
            Language::Welsh,
        ),
        (
            "an English reply on a Welsh case",
            Language::Welsh,
            "pat@example.org",
            english_reply,
            LetterLanguage::Welsh,
            Language::Welsh,
        ),
        (
            "a Welsh reply on an English case",
            Language::English,
            "pat@example.org",
            welsh_reply,
            LetterLanguage::Welsh,
            Language::Welsh,
        ),
        (
            "an English reply on an English case",
            Language::English,
            "pat@example.org",
            english_reply,
            LetterLanguage::English,
            Language::English,
        ),
        (
            "a third party in English on a Welsh case",
            Language::Welsh,
            "nosy@example.net",
            english_reply,
            LetterLanguage::English,
            Language::Welsh,
        ),
        (
            "a third party in Welsh on an English case",
            Language::English,
            "nosy@example.net",
            welsh_reply,
            LetterLanguage::Welsh,
            Language::English,
        ),
    ];
    for (name, case_language, from, body, letter, after) in table {
        let mut case = stored_case(CaseState::Open, Kind::Foi, vec![]);
        case.workflow.language = case_language;
        let o = outcome(&mail(from, subject, body, ""), &known);
        let facts = Facts {
            followup_case: Some(case.clone()),
            letter_id: LETTER_ID.into(),
            ..Facts::default()
        };
        let p = plan(
            welsh_ctx(),
            &settings(Mode::Live),
            &o,
            &facts,
            &pos(9),
            t0(),
        )
        .expect("plan");
        let j = jobs(&p.change);
        assert_eq!(j[0].template, "followup_receipt", "{name}");
        assert_eq!(j[0].language, letter, "{name}: {}", o.language.why);
        let updated = &p.change.case_updates[0].case;
        assert_eq!(updated.workflow.language, after, "{name}");
        let noted = p.change.audit.iter().any(|a| a.event.action == "language");
        assert_eq!(noted, after != case_language, "{name}");

        // Without `welsh`, the same receipts are all in English.
        let p = plan(
            trusted_ctx(),
            &settings(Mode::Live),
            &o,
            &facts,
            &pos(9),
            t0(),
        )
        .expect("plan");
        assert_eq!(
            jobs(&p.change)[0].language,
            LetterLanguage::English,
            "{name}"
        );
    }
}
