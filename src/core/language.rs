//! Which language a message is written in: Welsh, English, both, or too little to tell.
//!
//! A body under the Welsh Language Standards answers correspondence received in Welsh in Welsh
//! (standard 1), so the language is a fact of triage, recorded on the case and audited with the
//! classification; the planners choose the letter's language from it ([`letter_language`]).
//!
//! How: the subject and the text the sender wrote ([`crate::core::quote::sender_text`]: quoted
//! history and signatures are someone else's words, often our own English acknowledgement) are
//! cut into words, and the words that mark each language are counted: function words ("yn",
//! "y", "mae", "gan" against "the", "of", "is", "with") and the everyday words of a request
//! ("gwybodaeth", "cais", "diolch", "annwyl" against "information", "request", "thank",
//! "dear"), with the mutated forms Welsh grammar gives them ("wybodaeth", "gais", "ddeddf").
//! Words both languages use are in neither list: "a" and "i" (English article and pronoun,
//! Welsh "and" and "to"), "am", "at", "dan" (a name), "os" (Ordnance Survey), "faint", "beth"
//! and "pam" (names), "data" and "staff". Each word counts at most [`MAX_PER_WORD`] times.
//! The verdict:
//!
//! - fewer than [`MIN_MARKERS`] marker words in all: [`Language::Unknown`] (a "Diolch" or
//!   "Thanks" proves little);
//! - at least [`SINGLE_LANGUAGE_PERCENT`] of them Welsh, among them at least
//!   [`MIN_WELSH_DISTINCT`] different words: [`Language::Welsh`];
//! - a Welsh part of its own, at least [`BILINGUAL_WELSH_WORDS`] words (as varied) and
//!   [`BILINGUAL_WELSH_PERCENT`], beside more English: [`Language::Bilingual`] (a Welsh sentence
//!   and its English version, or a Welsh opening to an English letter);
//! - at least [`SINGLE_LANGUAGE_PERCENT`] English: [`Language::English`];
//! - anything else (a thin mix, a few words of a third language): unknown.
//!
//! The rule leans to Welsh on purpose. Correspondence partly in Welsh is correspondence in
//! Welsh for the Standards, and the costs are not even: an English reader of a Welsh letter
//! finds a line in English at its end saying why and how to have English, while an English
//! answer to a Welsh writer breaches standard 1.
//!
//! The notices Welsh public bodies put under their mail in both languages (the language policy,
//! "We welcome correspondence in Welsh" / "Rydym yn croesawu gohebiaeth yn Gymraeg", and the
//! confidentiality notice) are skipped: they are in every message from such a body, whatever
//! language its sender wrote in.
//!
//! When the message's own text is too short to tell and documents are attached (a letter
//! scanned or written in a word processor, "please see attached"), their text is read as well.
//!
//! Why a word count and not a language-identification crate: two languages only, the words that
//! tell them apart are few and well known, and the verdict must be explained to an officer in a
//! sentence ("31 Welsh marker words (yn 6, y 5, o 3) and 2 English"); a statistical model gives
//! a score nobody can check.

use crate::core::quote;
use crate::core::text::prefix;
use crate::model::language::{Language, LetterLanguage};
use crate::model::message::Message;
use serde::Serialize;
use std::fmt::Write as _;

/// Fewest marker words (both languages together) for a verdict, and fewest English ones beside
/// a Welsh part for `bilingual`. Three is a short sentence ("Thank you for"): fewer is a
/// greeting or a signature, which says nothing about the language of the request.
pub const MIN_MARKERS: u32 = 3;

/// Share of the marker words, in percent, that makes a message one language. 70%: a Welsh
/// request quoting an English title or the English subject of our letter stays Welsh, and an
/// English one with a Welsh greeting or sign-off stays English; a message with a paragraph in
/// each language falls between (about 50%) and is bilingual.
pub const SINGLE_LANGUAGE_PERCENT: u32 = 70;

/// Most times one word is counted: a word repeated many times ("y" and "o" are also Spanish and
/// Portuguese words) must not carry a verdict alone.
pub const MAX_PER_WORD: u32 = 5;

/// Fewest different Welsh marker words for a Welsh or bilingual verdict: Welsh prose uses many
/// ("Diolch am eich ateb. Mae hynny'n iawn" has six); a few one-letter words of another language
/// do not make Welsh.
pub const MIN_WELSH_DISTINCT: u32 = 4;

/// Fewest Welsh marker words that make a mostly English message bilingual: a sentence ("Gofynnaf
/// i chi ail-ystyried eich ymateb i fy nghais" has five), not a greeting or a "Diolch yn fawr"
/// (three).
pub const BILINGUAL_WELSH_WORDS: u32 = 5;

/// Smallest share of Welsh marker words, in percent, that makes a mostly English message
/// bilingual: below it the Welsh is a quotation or a place's name in a longer English letter.
pub const BILINGUAL_WELSH_PERCENT: u32 = 20;

/// Most bytes of the body and of the attached documents read, each: the language shows in the
/// first paragraphs, and the bound keeps the cost flat whatever the size of the message (the
/// rules read the same amount, `rules::BODY_SCAN_BYTES`).
pub const SCAN_BYTES: usize = 16 * 1024;

/// Phrases of the notices Welsh public bodies put under every mail, in both languages, whatever
/// language their sender wrote in: the language-policy notice the Standards require ("We welcome
/// correspondence in Welsh…" / "Rydym yn croesawu gohebiaeth yn Gymraeg…") and the
/// confidentiality notice ("…intended recipient…" / "…yn gyfrinachol ac wedi'u bwriadu…"). A
/// paragraph holding one is skipped: half of it is Welsh, and none of it is the sender's.
/// Lower case, with the mutated forms ("ohebiaeth").
const BOILERPLATE: &[&str] = &[
    "correspond in welsh",
    "correspondence in welsh",
    "derbynnydd bwriadedig",
    "gohebiaeth yn gymraeg",
    "gohebu yn gymraeg",
    "intended recipient",
    "intended solely for",
    "ohebiaeth yn gymraeg",
    "ohebu yn gymraeg",
    "wedi'u bwriadu ar gyfer",
    "yn gyfrinachol ac",
];

/// Most words named per language in the explanation.
const WORDS_SHOWN: usize = 4;

/// Words that mark Welsh: function words, the words of a request and of a letter, with their
/// mutated forms. Sorted (binary search); none is in [`ENGLISH`] (checked by a test).
const WELSH: &[&str] = &[
    "ac",
    "adolygiad",
    "ag",
    "allech",
    "allwch",
    "amgylcheddol",
    "anfon",
    "annwyl",
    "ar",
    "ati",
    "atoch",
    "ble",
    "blwyddyn",
    "blynedd",
    "blynyddoedd",
    "bod",
    "bydd",
    "byddai",
    "byddwn",
    "cael",
    "cais",
    "canlynol",
    "ceisiadau",
    "chais",
    "chi",
    "chyngor",
    "cofion",
    "copi",
    "cwyn",
    "cwyno",
    "cyfanswm",
    "cyfeiriad",
    "cyfnod",
    "cynghorydd",
    "cyngor",
    "ddarparu",
    "ddeddf",
    "ddim",
    "ddiolch",
    "deddf",
    "dim",
    "diogelu",
    "diolch",
    "dros",
    "drwy",
    "dwi",
    "dy",
    "dyddiad",
    "ei",
    "eich",
    "ein",
    "enw",
    "ers",
    "eu",
    "fanylion",
    "fawr",
    "fe",
    "fel",
    "flwyddyn",
    "fy",
    "fydd",
    "fyddai",
    "fyddech",
    "gael",
    "gais",
    "gallwch",
    "gan",
    "ganlynol",
    "gellir",
    "gennych",
    "gennym",
    "gopi",
    "gwariant",
    "gwasanaeth",
    "gwasanaethau",
    "gwneud",
    "gwybodaeth",
    "gwyno",
    "gyda",
    "gyfer",
    "gyfnod",
    "gyngor",
    "gywir",
    "heb",
    "hefyd",
    "hoffai",
    "hoffem",
    "hoffwn",
    "holl",
    "hon",
    "hwn",
    "hyn",
    "hynny",
    "iawn",
    "iddi",
    "iddo",
    "iddynt",
    "mae",
    "manylion",
    "mawr",
    "mewn",
    "mewnol",
    "mlynedd",
    "na",
    "nad",
    "nghais",
    "nghyngor",
    "ngwybodaeth",
    "ni",
    "nid",
    "nifer",
    "o",
    "oedd",
    "oes",
    "ohonynt",
    "ond",
    "pa",
    "personol",
    "pob",
    "pryd",
    "pwy",
    "reoliadau",
    "rheoliad",
    "rheoliadau",
    "rhif",
    "rhwng",
    "rhyddid",
    "roedd",
    "rwy",
    "rydw",
    "rydym",
    "sawl",
    "sut",
    "swyddog",
    "sy",
    "sydd",
    "tan",
    "trwy",
    "unrhyw",
    "wariant",
    "wasanaethau",
    "wedi",
    "wneud",
    "wrth",
    "wybodaeth",
    "y",
    "ydw",
    "ydy",
    "ydych",
    "yma",
    "yn",
    "ynghylch",
    "ynglyn",
    "ynglŷn",
    "yno",
    "yr",
    "yw",
];

/// Words that mark English: function words and the words of a request and of a letter. Sorted;
/// none is in [`WELSH`].
const ENGLISH: &[&str] = &[
    "about",
    "act",
    "all",
    "also",
    "an",
    "and",
    "any",
    "are",
    "as",
    "be",
    "been",
    "between",
    "but",
    "by",
    "can",
    "copies",
    "copy",
    "could",
    "council",
    "dear",
    "details",
    "did",
    "does",
    "each",
    "faithfully",
    "following",
    "for",
    "freedom",
    "from",
    "had",
    "has",
    "have",
    "he",
    "held",
    "her",
    "his",
    "how",
    "if",
    "in",
    "information",
    "into",
    "is",
    "it",
    "its",
    "last",
    "many",
    "me",
    "more",
    "much",
    "my",
    "no",
    "not",
    "number",
    "of",
    "on",
    "only",
    "or",
    "other",
    "our",
    "please",
    "provide",
    "regarding",
    "regards",
    "request",
    "she",
    "should",
    "since",
    "sincerely",
    "so",
    "some",
    "than",
    "thank",
    "thanks",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "to",
    "total",
    "under",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "who",
    "why",
    "will",
    "with",
    "would",
    "year",
    "years",
    "you",
    "your",
];

/// Welsh clitics written after an apostrophe: "i'r", "mae'n", "a'ch", "i'w" (the article, the
/// predicative "yn", the possessives). Counted as Welsh words.
const WELSH_CLITICS: &[&str] = &["ch", "i", "n", "r", "u", "w"];

/// English clitics: "it's", "don't", "we'll", "we've", "they're", "I'd". ("'m" is both: "I'm",
/// Welsh "i'm".)
const ENGLISH_CLITICS: &[&str] = &["d", "ll", "re", "s", "t", "ve"];

/// The verdict on one message's language, with its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LanguageFinding {
    /// The language decided.
    pub language: Language,
    /// Welsh marker words counted.
    pub welsh_words: u32,
    /// English marker words counted.
    pub english_words: u32,
    /// Why, in a sentence an officer can check: the counts, the commonest words, the threshold.
    pub why: String,
}

/// The language of a message: its subject and the text its sender wrote, and when those are too
/// short to tell, the text of its attached documents too.
pub fn detect_message(m: &Message) -> LanguageFinding {
    let own = quote::sender_text(prefix(&m.body_text, SCAN_BYTES));
    let first = detect(
        &[&m.subject, &own],
        "the subject and the text the sender wrote",
    );
    if first.language != Language::Unknown {
        return first;
    }
    let attached: String = m
        .attachments
        .iter()
        .filter_map(|a| a.text.as_deref())
        .collect::<Vec<_>>()
        .join("\n");
    if attached.trim().is_empty() {
        return first;
    }
    detect(
        &[&m.subject, &own, prefix(&attached, SCAN_BYTES)],
        "the subject, the text the sender wrote and the attached documents (the message alone \
         was too short to tell)",
    )
}

/// The language of `parts` (subject, body…), explained as read from `source`.
pub fn detect(parts: &[&str], source: &str) -> LanguageFinding {
    let mut welsh = vec![0u32; WELSH.len() + WELSH_CLITICS.len()];
    let mut english = vec![0u32; ENGLISH.len() + ENGLISH_CLITICS.len()];
    let paragraphs = parts
        .iter()
        .flat_map(|p| paragraphs(p))
        .filter(|p| !is_boilerplate(p));
    for paragraph in paragraphs {
        for word in words(paragraph) {
            count(&word, &mut welsh, &mut english);
        }
    }
    let w: u32 = welsh.iter().sum();
    let e: u32 = english.iter().sum();
    let distinct = welsh.iter().filter(|n| **n > 0).count();
    let language = verdict(w, e, u32::try_from(distinct).unwrap_or(u32::MAX));
    LanguageFinding {
        language,
        welsh_words: w,
        english_words: e,
        why: explain(language, w, e, &welsh, &english, source),
    }
}

/// The language a letter answering `correspondence` is written in: Welsh when the body operates
/// under the Welsh Language Standards (`[organisation] welsh`) and any of it (the message, the
/// case it belongs to) was written in Welsh or bilingually; English otherwise.
///
/// A requester who opened a case in Welsh keeps getting Welsh letters even when a later reply
/// is too short to tell or is in English (standard 2: a person's wish to correspond in Welsh is
/// respected; writing in Welsh is taken as that wish).
pub fn letter_language(welsh: bool, correspondence: &[Language]) -> LetterLanguage {
    if welsh && correspondence.iter().any(|l| l.has_welsh()) {
        LetterLanguage::Welsh
    } else {
        LetterLanguage::English
    }
}

/// The verdict from the counts and the number of different Welsh words (see the module doc).
fn verdict(welsh: u32, english: u32, welsh_distinct: u32) -> Language {
    let total = welsh + english;
    let varied = welsh_distinct >= MIN_WELSH_DISTINCT;
    if total < MIN_MARKERS {
        Language::Unknown
    } else if varied && welsh * 100 >= total * SINGLE_LANGUAGE_PERCENT {
        Language::Welsh
    } else if varied
        && welsh >= BILINGUAL_WELSH_WORDS
        && english >= MIN_MARKERS
        && welsh * 100 >= total * BILINGUAL_WELSH_PERCENT
    {
        Language::Bilingual
    } else if english * 100 >= total * SINGLE_LANGUAGE_PERCENT {
        Language::English
    } else {
        Language::Unknown
    }
}

/// The paragraphs of `text`: runs of lines between blank lines.
fn paragraphs(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        rest = rest.trim_start_matches(['\r', '\n', ' ', '\t']);
        if rest.is_empty() {
            return None;
        }
        let end = blank_line_at(rest).unwrap_or(rest.len());
        let (paragraph, tail) = rest.split_at(end);
        rest = tail;
        Some(paragraph)
    })
}

/// Where the first blank line (a line of whitespace only) of `text` begins, if any.
fn blank_line_at(text: &str) -> Option<usize> {
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        if at > 0 && line.trim().is_empty() {
            return Some(at);
        }
        at += line.len();
    }
    None
}

/// Whether a paragraph is a notice Welsh public bodies put under every mail ([`BOILERPLATE`]).
fn is_boilerplate(paragraph: &str) -> bool {
    let lower = paragraph.replace('’', "'").to_lowercase();
    BOILERPLATE.iter().any(|p| lower.contains(p))
}

/// Lower-cased words of `text`: whitespace-separated tokens without the punctuation around
/// them, cut at hyphens and slashes ("e-bost", "Syr/Fadam"), curly apostrophes folded to `'`.
/// A token holding a digit or any other sign (a URL, an address, a reference, encoded data) is
/// not prose and gives no word: a base64 line would otherwise be a run of one-letter "words"
/// ("y", "o").
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split_whitespace()
        .map(|t| t.trim_matches(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’')))
        .filter(|t| {
            t.chars()
                .all(|c| c.is_alphabetic() || matches!(c, '\'' | '’' | '-' | '/'))
        })
        .flat_map(|t| t.split(['-', '/']))
        .map(|w| w.replace('’', "'").trim_matches('\'').to_lowercase())
        .filter(|w| !w.is_empty())
}

/// Counts one word: the word itself, or for "mae'r" / "it's" its head and its clitic. A tail
/// after an apostrophe that is not a clitic ("o'brien") leaves the word whole, and uncounted.
fn count(word: &str, welsh: &mut [u32], english: &mut [u32]) {
    let (head, tail) = match word.rsplit_once('\'') {
        Some((head, tail)) => (head, Some(tail)),
        None => (word, None),
    };
    let clitic_w = tail.and_then(|t| WELSH_CLITICS.binary_search(&t).ok());
    let clitic_e = tail.and_then(|t| ENGLISH_CLITICS.binary_search(&t).ok());
    if tail.is_some() && clitic_w.is_none() && clitic_e.is_none() {
        return;
    }
    if let Some(i) = clitic_w {
        bump(welsh, WELSH.len() + i);
    }
    if let Some(i) = clitic_e {
        bump(english, ENGLISH.len() + i);
    }
    if let Ok(i) = WELSH.binary_search(&head) {
        bump(welsh, i);
    }
    if let Ok(i) = ENGLISH.binary_search(&head) {
        bump(english, i);
    }
}

/// Counts one more of word `i`, up to [`MAX_PER_WORD`].
fn bump(counts: &mut [u32], i: usize) {
    if let Some(c) = counts.get_mut(i) {
        *c = (*c + 1).min(MAX_PER_WORD);
    }
}

/// "yn 6, y 5, o 3, 'r 2": the commonest words counted, most first.
fn commonest(counts: &[u32], list: &[&str], clitics: &[&str]) -> String {
    let mut seen: Vec<(u32, String)> = counts
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(i, n)| {
            let word = match list.get(i) {
                Some(w) => (*w).to_string(),
                None => format!("'{}", clitics.get(i - list.len()).unwrap_or(&"?")),
            };
            (*n, word)
        })
        .collect();
    seen.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let mut s = String::new();
    for (n, word) in seen.iter().take(WORDS_SHOWN) {
        if !s.is_empty() {
            s.push_str(", ");
        }
        let _ = write!(s, "{word} {n}");
    }
    if seen.len() > WORDS_SHOWN {
        s.push_str(", …");
    }
    s
}

/// The verdict in a sentence: counts, commonest words, and the rule that decided.
fn explain(
    language: Language,
    w: u32,
    e: u32,
    welsh: &[u32],
    english: &[u32],
    source: &str,
) -> String {
    let side = |n: u32, name: &str, counts: &[u32], list: &[&str], clitics: &[&str]| {
        if n == 0 {
            format!("no {name}")
        } else {
            format!("{n} {name} ({})", commonest(counts, list, clitics))
        }
    };
    let evidence = format!(
        "{} and {} marker words in {source}",
        side(w, "Welsh", welsh, WELSH, WELSH_CLITICS),
        side(e, "English", english, ENGLISH, ENGLISH_CLITICS),
    );
    let total = w + e;
    let percent = (w * 100).checked_div(total).unwrap_or(0);
    let rule = match language {
        Language::Unknown if total < MIN_MARKERS => {
            format!("too few to tell (at least {MIN_MARKERS} are needed)")
        }
        Language::Unknown => format!(
            "{percent}% Welsh: neither language clearly, nor a Welsh part of its own (at least \
             {BILINGUAL_WELSH_WORDS} words, {MIN_WELSH_DISTINCT} of them different, and \
             {BILINGUAL_WELSH_PERCENT}%)"
        ),
        Language::Welsh => {
            format!("{percent}% Welsh, at least the {SINGLE_LANGUAGE_PERCENT}% that makes it Welsh")
        }
        Language::English => format!(
            "{}% English, at least the {SINGLE_LANGUAGE_PERCENT}% that makes it English",
            100 - percent
        ),
        Language::Bilingual => format!(
            "{percent}% Welsh: a Welsh part of its own (at least {BILINGUAL_WELSH_WORDS} words \
             and {BILINGUAL_WELSH_PERCENT}%) beside English, so bilingual (Welsh alone needs \
             {SINGLE_LANGUAGE_PERCENT}%)"
        ),
    };
    format!("{language}: {evidence}; {rule}.")
}

#[cfg(test)]
mod tests;
