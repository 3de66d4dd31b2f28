use super::*;
use crate::model::message::Attachment;

const WELSH_FOI: &str = "Annwyl Swyddog Rhyddid Gwybodaeth,\n\nHoffwn wneud cais am wybodaeth o dan \
Ddeddf Rhyddid Gwybodaeth 2000.\n\nA fyddech cystal â darparu'r wybodaeth ganlynol ar gyfer y \
blynyddoedd ariannol 2023/24 a 2024/25:\n\n1. Cyfanswm y gwariant ar wasanaethau cyfieithu \
allanol.\n2. Nifer y dogfennau a gyfieithwyd gan staff mewnol.\n\nDiolch yn fawr,\nRhys ap Gwilym";

const WELSH_SAR: &str = "Annwyl Gyngor,\n\nRwy'n gwneud cais gwrthrych am wybodaeth dan Erthygl 15 o \
Reoliad Cyffredinol Diogelu Data y DU. Anfonwch gopi o'r holl ddata personol sydd gennych \
amdanaf, gan gynnwys cofnodion y gwasanaethau cymdeithasol rhwng 2019 a 2024.\n\nYn gywir,\n\
Siân Roberts\n3 Heol y Bryn, Caernarfon";

const WELSH_EIR: &str = "Cais dan Reoliadau Gwybodaeth Amgylcheddol 2004: faint o dunelli o wastraff \
a aeth i safle tirlenwi'r sir yn 2024, ac a oes cynlluniau i gau'r safle? Diolch.";

const WELSH_COMPLAINT: &str = "Hoffwn gwyno am y ffordd y deliwyd â'm cais. Nid wyf wedi cael ateb ers \
deufis ac nid oes neb wedi ateb fy e-byst.";

const ENGLISH_FOI: &str = "Dear Sir or Madam,\n\nUnder the Freedom of Information Act 2000 please \
provide the number of parking fines issued on Mill Lane in each of the last three financial \
years.\n\nYours faithfully,\nPatricia Requester\n12 High Street, Exampletown EX1 2AB";

/// An English request from a Welsh public body's mailbox: its footer says, in both languages,
/// that Welsh is welcome. The message is still English.
const ENGLISH_WITH_WELSH_FOOTER: &str = "Dear FOI team,\n\nPlease could you tell me how many \
potholes were repaired on the A470 between Merthyr and Brecon in each of the last three years, \
and the total cost of those repairs.\n\nKind regards,\nGareth Jones\nCyngor Bwrdeistref Sirol \
Merthyr Tudful\n\nRydym yn croesawu gohebiaeth yn Gymraeg a byddwn yn ymateb yn Gymraeg heb \
oedi.\nWe welcome correspondence in Welsh and will respond in Welsh without delay.";

const ENGLISH_WITH_PLACE_NAMES: &str = "Please send me the minutes of the Pwyllgor Cynllunio meeting \
held at Ysgol y Cwm, Llanfair Caereinion, on 4 March, and the list of those who attended.";

const BILINGUAL: &str = "Annwyl Syr/Fadam,\n\nHoffwn gael gwybod faint a wariwyd ar oleuadau stryd yn \
y sir yn ystod 2024, a faint o oleuadau sydd wedi eu diffodd yn y nos.\n\nDiolch,\n\n\
Dear Sir/Madam,\n\nI would like to know how much was spent on street lights in the county in \
2024, and how many lights are switched off at night.\n\nThank you,\nElin Hughes";

#[test]
fn detector_table() {
    use Language::*;
    let table: &[(&str, &str, &str, Language)] = &[
        // Realistic requests.
        (
            "welsh foi",
            "Cais am wybodaeth - costau cyfieithu",
            WELSH_FOI,
            Welsh,
        ),
        ("welsh sar", "Cais gwrthrych am wybodaeth", WELSH_SAR, Welsh),
        ("welsh eir", "Gwastraff", WELSH_EIR, Welsh),
        ("welsh complaint", "Cwyn", WELSH_COMPLAINT, Welsh),
        (
            "welsh request under an english subject",
            "Re: Your request",
            WELSH_FOI,
            Welsh,
        ),
        (
            "english foi",
            "FOI request: parking fines",
            ENGLISH_FOI,
            English,
        ),
        (
            "english with a bilingual footer",
            "Potholes on the A470",
            ENGLISH_WITH_WELSH_FOOTER,
            English,
        ),
        (
            "a short english note with a bilingual footer",
            "Report",
            "Please send the report. Thanks, Gareth\n\nCroesewir gohebiaeth yn Gymraeg a byddwn \
             yn ymateb yn Gymraeg heb oedi.\nWe welcome correspondence in Welsh and will respond \
             in Welsh without delay.",
            English,
        ),
        (
            "a short english note with a bilingual confidentiality notice",
            "Parking permits",
            "Hello,\n\nPlease could you send me the number of parking permits issued in 2025?\n\n\
             Thanks,\nSian Lloyd\nSwyddog Polisi | Policy Officer\n\n\
             Mae\u{2019}r e-bost hwn ac unrhyw atodiadau yn gyfrinachol ac wedi\u{2019}u bwriadu ar \
             gyfer y derbynnydd bwriadedig yn unig. Os ydych wedi ei gael trwy gamgymeriad, \
             rhowch wybod i\u{2019}r anfonwr a\u{2019}i ddileu.\n\
             This email and any attachments are confidential and intended solely for the \
             intended recipient. If you have received it in error, please tell the sender and \
             delete it.",
            English,
        ),
        (
            "english naming welsh places",
            "Planning committee minutes",
            ENGLISH_WITH_PLACE_NAMES,
            English,
        ),
        (
            "english ending in welsh thanks",
            "Bins",
            "Please could you tell me how many bins were collected late in May and June \
             in each ward? Diolch yn fawr.",
            English,
        ),
        (
            "bilingual",
            "Goleuadau stryd / Street lights",
            BILINGUAL,
            Bilingual,
        ),
        (
            "a Welsh opening to an English letter",
            "Adolygiad / Review",
            "Annwyl Syr / Fadam,\n\nGofynnaf i chi ail-ystyried eich ymateb i fy nghais am \
             wybodaeth am gludiant ysgol.\n\nI am asking you to review your response to my \
             request about school transport costs: you gave a total but not the per-route \
             figures I asked for, and gave no reason for leaving them out.\n\nDiolch / Thank \
             you,\nEmrys Vaughan",
            Bilingual,
        ),
        (
            "an English letter quoting a Welsh sentence",
            "Leaflet",
            "Your leaflet about the recycling centre says \"Mae'r ganolfan ar gau ar y Sul\", \
             but the English version of the leaflet says that it is open on Sundays from ten \
             until four. Could you please tell me which of the two is correct, and when the \
             leaflet was last printed, and how many copies of it were printed in each of the \
             last three years?",
            English,
        ),
        // Short text: too little to tell, or just enough.
        ("empty", "", "", Unknown),
        ("welsh thanks", "", "Diolch", Unknown),
        ("english thanks", "Re: x", "Thanks", Unknown),
        ("a welsh subject alone", "Cais am wybodaeth", "", Unknown),
        // Three words, and too few different ones: a pleasantry, not a letter.
        ("three welsh words", "", "Diolch yn fawr", Unknown),
        (
            "four different welsh words",
            "",
            "Diolch yn fawr iawn",
            Welsh,
        ),
        ("four english words", "", "Thank you for this", English),
        (
            "a welsh subject and a pointer to the attachment",
            "Cais am wybodaeth",
            "Gweler y llythyr sydd ynghlwm.",
            Welsh,
        ),
        // A mix too thin to be bilingual.
        ("thin mix", "", "Diolch yn fawr, thank you", Unknown),
        // Words both languages share count for neither.
        (
            "shared words",
            "",
            "a i am at dan os data staff Beth Pam",
            Unknown,
        ),
        // Apostrophes: Welsh clitics count, a name's does not.
        ("clitics", "", "mae'r cais i'r cyngor", Welsh),
        ("curly apostrophes", "", "mae’r cais i’r cyngor", Welsh),
        ("english clitics", "", "it's what we've got, don't", English),
        ("irish names", "", "O'Brien O'Neill O'Reilly", Unknown),
        // Capitals and the circumflex.
        ("capitals", "", "YNGLŶN Â'R CAIS AM WYBODAETH", Welsh),
        ("numbers only", "2023/24", "1. 2. 3. £4,500", Unknown),
        // Not prose: encoded data, addresses, links give no words.
        (
            "base64",
            "",
            "iVBORw0KGgo+y/o+y/o+y/o AAAANSUh y9o0y9o0y9o0 EUgAAAIAAAAC\nZGUlEQVR4nO2deWAT o2y4o2y4",
            Unknown,
        ),
        (
            "links and addresses",
            "",
            "https://yn.example/y/o/yr gwybodaeth@cyngor.example.cymru FOI-2026-000123",
            Unknown,
        ),
        // Another language's one-letter words repeated: counted five times at most, and too
        // few different Welsh words.
        (
            "spanish",
            "",
            "Lo siento, no puedo asistir y no tengo tiempo o dinero; y tampoco y nunca y o o o.",
            Unknown,
        ),
        (
            "hyphens and slashes",
            "",
            "Diolch/Thank e-bost yn-y-cyngor",
            Welsh,
        ),
    ];
    for (name, subject, body, want) in table {
        let got = detect(&[subject, body], "the test text");
        assert_eq!(got.language, *want, "{name}: {}", got.why);
    }
}

#[test]
fn the_why_gives_the_counts_the_words_and_the_threshold() {
    let f = detect(&["", WELSH_FOI], "the text");
    assert_eq!(f.language, Language::Welsh);
    assert!(f.welsh_words >= 15, "{f:?}");
    assert!(
        f.why
            .starts_with(&format!("welsh: {} Welsh (", f.welsh_words)),
        "{}",
        f.why
    );
    assert!(f.why.contains("(y 3, ar 2, gwybodaeth 2, "), "{}", f.why);
    assert!(
        f.why.contains("at least the 70% that makes it Welsh"),
        "{}",
        f.why
    );

    let f = detect(&["", "Diolch"], "the text");
    assert_eq!(
        f.why,
        "unknown: 1 Welsh (diolch 1) and no English marker words in the text; too few to tell \
         (at least 3 are needed)."
    );

    let f = detect(&["", BILINGUAL], "the text");
    assert!(f.why.contains("so bilingual"), "{}", f.why);
    assert!(f.why.contains("a Welsh part of its own"), "{}", f.why);
    assert!(f.why.contains("'r") || f.why.contains("yn"), "{}", f.why);

    let f = detect(&["", ENGLISH_FOI], "the text");
    assert_eq!(f.welsh_words, 0);
    assert!(f.why.contains("no Welsh and"), "{}", f.why);
    assert!(f.why.contains("100% English"), "{}", f.why);
}

fn message(subject: &str, body: &str, attachment: Option<&str>) -> Message {
    Message {
        subject: subject.into(),
        body_text: body.into(),
        attachments: attachment
            .map(|t| Attachment {
                name: Some("llythyr.pdf".into()),
                mime_type: "application/pdf".into(),
                size: t.len(),
                text: Some(t.into()),
            })
            .into_iter()
            .collect(),
        ..Message::default()
    }
}

#[test]
fn paragraphs_are_runs_of_lines_between_blank_lines() {
    let text = "\r\n\r\nA\r\nB\r\n  \r\n\r\nC\n\nD\nE\n";
    let got: Vec<String> = paragraphs(text)
        .map(|p| p.trim().replace("\r\n", "|"))
        .collect();
    assert_eq!(got, ["A|B", "C", "D\nE"]);
    assert_eq!(paragraphs("").count(), 0);
    assert_eq!(paragraphs(" \n\n ").count(), 0);
}

#[test]
fn quoted_history_does_not_vote() {
    // A short Welsh answer above our own English acknowledgement, quoted.
    let quoted: String = ENGLISH_FOI.lines().map(|l| format!("> {l}\n")).collect();
    let body = format!(
        "Diolch am eich ateb. Mae hynny'n iawn, ac rwy'n fodlon aros.\n\nOn Mon, 23 Nov 2026 at 10:02, FOI \
         <foi@council.example> wrote:\n{quoted}"
    );
    let f = detect_message(&message("Re: [FOI-2026-000123] Your request", &body, None));
    assert_eq!(f.language, Language::Welsh, "{}", f.why);
    // Only the subject's English words ("Your request") count, none of the quoted letter's.
    assert_eq!(f.english_words, 2, "{}", f.why);
}

#[test]
fn attached_documents_are_read_only_when_the_message_is_too_short() {
    let m = message("Cais", "Gweler.", Some(WELSH_FOI));
    let f = detect_message(&m);
    assert_eq!(f.language, Language::Welsh, "{}", f.why);
    assert!(f.why.contains("attached documents"), "{}", f.why);

    // A message that tells on its own is not outvoted by what it attaches.
    let m = message("FOI request", ENGLISH_FOI, Some(WELSH_FOI));
    let f = detect_message(&m);
    assert_eq!(f.language, Language::English, "{}", f.why);
    assert!(!f.why.contains("attached"), "{}", f.why);

    let m = message("", "", None);
    assert_eq!(detect_message(&m).language, Language::Unknown);
}

#[test]
fn the_letter_is_welsh_only_when_the_body_answers_in_welsh_and_someone_wrote_it() {
    use Language::*;
    let table: &[(bool, &[Language], LetterLanguage)] = &[
        (true, &[Welsh], LetterLanguage::Welsh),
        (true, &[Bilingual], LetterLanguage::Welsh),
        (true, &[Unknown, Welsh], LetterLanguage::Welsh),
        (true, &[English, Welsh], LetterLanguage::Welsh),
        (true, &[English], LetterLanguage::English),
        (true, &[Unknown], LetterLanguage::English),
        (true, &[], LetterLanguage::English),
        (false, &[Welsh], LetterLanguage::English),
        (false, &[Bilingual, Welsh], LetterLanguage::English),
    ];
    for (welsh, langs, want) in table {
        assert_eq!(letter_language(*welsh, langs), *want, "{welsh} {langs:?}");
    }
}

#[test]
fn word_lists_are_sorted_lower_case_and_disjoint() {
    for list in [WELSH, ENGLISH, WELSH_CLITICS, ENGLISH_CLITICS] {
        for pair in list.windows(2) {
            assert!(pair[0] < pair[1], "not sorted: {pair:?}");
        }
        for w in list {
            assert_eq!(*w, w.to_lowercase(), "{w}");
        }
    }
    for w in WELSH {
        assert!(ENGLISH.binary_search(w).is_err(), "{w} is in both lists");
    }
    for w in WELSH_CLITICS {
        assert!(ENGLISH_CLITICS.binary_search(w).is_err(), "'{w} is in both");
    }
}

#[test]
fn only_the_start_of_a_huge_body_is_read() {
    let welsh_late = format!("{}{WELSH_FOI}", "x ".repeat(SCAN_BYTES));
    assert_eq!(
        detect_message(&message("", &welsh_late, None)).language,
        Language::Unknown
    );
    let huge = format!("{WELSH_FOI}\n{}", "yn y ".repeat(1_000_000));
    let f = detect_message(&message("", &huge, None));
    assert_eq!(f.language, Language::Welsh, "{}", f.why);
    // Each word counts at most MAX_PER_WORD times.
    assert!(f.why.contains("(y 5, yn 5, "), "{}", f.why);
}
