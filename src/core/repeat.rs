//! Repeat-request detection: is a new request like an earlier one, from the same person?
//!
//! Each case gets a small, stable [`Fingerprint`] of its text when it is created: the words are
//! normalised (lower case, letters and digits only, stop words and FOI boilerplate dropped, a
//! plural `s` trimmed), then summarised twice with MinHash: once over 3-word shingles (the same
//! wording, re-ordered or lightly edited) and once over the set of words (the same topic in other
//! words). Comparing two fingerprints estimates the Jaccard similarity of those sets without
//! keeping the text. The hash seeds are fixed constants, so a fingerprint computed today on one
//! machine compares correctly with one computed next year on another.
//!
//! [`find_repeats`] compares a new request with the earlier ones of the last N months and flags,
//! best first, those that look like the same request from the same person (same address or same
//! name), including the same issue raised through another route (a complaint, then an FOI).
//!
//! What this module does **not** do: it never refuses, closes or pauses anything. FOIA s.14(2)
//! (and EIR reg 12(4)(b) for manifestly unreasonable requests) lets a public authority decline a
//! repeated request, but that is an officer's judgement; this module only records "possible
//! repeat of REF" for a human to look at. It does no I/O and reads no clock (`now` is an
//! argument).
//!
//! # Different people, same text
//!
//! A round-robin question (a journalist or campaign sending the same wording to every council,
//! or many residents using one template) gives similar text from different people. That is *not*
//! a repeated request in law: s.14(2) is about a request "from the same person". It is still
//! worth a look, because the answers can be shared, and the Freedom of Information and Data
//! Protection (Appropriate Limit and Fees) Regulations 2004, reg 5, let requests from people
//! "acting in concert or in pursuance of a campaign" be aggregated for the cost limit. So such a
//! pair *is* reported, with only [`Reason::SimilarText`] and a `why` that says it is a different
//! requester, after every same-person match. [`PossibleRepeat::same_person`] tells them apart.

pub use crate::config::{
    DEFAULT_THRESHOLD, DEFAULT_WINDOW_MONTHS, MAX_WINDOW_MONTHS, MIN_THRESHOLD, RepeatSettings,
};
use crate::core::text::prefix;
use crate::model::case::CaseRef;
pub use crate::model::fingerprint::Fingerprint;
use crate::model::kind::Kind;
use chrono::{DateTime, Months, Utc};
use serde::{Deserialize, Serialize};

/// Number of MinHash values over 3-word shingles. With 64 values the Jaccard estimate has a
/// standard error of at most 0.0625 (sqrt(0.25/64)): enough to tell a re-worded repeat (0.4 and
/// up) from an unrelated request (near 0), at 256 bytes per case.
pub const SHINGLE_HASHES: usize = 64;

/// Number of MinHash values over the word set (topic): as many as for shingles, because the
/// same issue raised through two routes is told in different words and only the topic overlap
/// (often 0.2 to 0.3) shows it; a coarser estimate would drown that in noise.
pub const WORD_HASHES: usize = 64;

/// Words per shingle. Three words keep phrasing ("number of potholes") without being so long
/// that a light re-wording breaks every shingle.
pub const SHINGLE_WORDS: usize = 3;

/// Fewest distinct content words a text needs before its similarity means anything. Two
/// "please see attached" emails share all their words and say nothing about their requests.
pub const MIN_WORDS: u16 = 4;

/// For the same person through another route (kind), the word overlap needed, as a fraction of
/// the threshold (0.175 at the default). A complaint and an FOI about the same potholes share
/// about a quarter of their words; two unrelated requests from one person, under a tenth.
pub const SAME_ISSUE_FACTOR: f64 = 0.5;

/// Most matches returned for one new request, best first. A campaign with hundreds of identical
/// requests should not put hundreds of references on every case; the officer sees the best few.
pub const MAX_REPEATS: usize = 10;

/// How much of a request's text is fingerprinted, in bytes. What a request asks is at its top;
/// the cap bounds the work (each word is hashed once per MinHash value) on a pasted 5 MB log.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;

/// Version of the normalisation and hashing; fingerprints of different versions never compare
/// (similarity 0), so changing the algorithm cannot produce false matches with stored cases.
pub const FINGERPRINT_VERSION: u8 = 1;

/// Seeds for the MinHash permutations: fixed, derived by splitmix64 from a constant, so they are
/// the same on every machine and every run (no `RandomState`).
const SEEDS: [u64; SHINGLE_HASHES + WORD_HASHES] = seeds();

const fn seeds() -> [u64; SHINGLE_HASHES + WORD_HASHES] {
    let mut out = [0u64; SHINGLE_HASHES + WORD_HASHES];
    let mut state: u64 = 0x666f_692d_7472_6961; // "foi-tria"
    let mut i = 0;
    while i < out.len() {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        out[i] = mix(state);
        i += 1;
    }
    out
}

/// splitmix64's finaliser: a fast, well-mixed 64-bit permutation.
const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// FNV-1a over bytes: defined on bytes, so the same on every platform and Rust version.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Words that carry no meaning about *what* is asked: English function words and the set phrases
/// of requests ("under the Freedom of Information Act 2000 please provide"). Without these, any
/// two FOI requests would look alike.
const STOP_WORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "act",
    "after",
    "again",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "council",
    "dear",
    "did",
    "do",
    "does",
    "doing",
    "each",
    "eir",
    "email",
    "few",
    "following",
    "foi",
    "for",
    "freedom",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "he",
    "hello",
    "her",
    "here",
    "hers",
    "him",
    "his",
    "how",
    "i",
    "if",
    "in",
    "information",
    "into",
    "is",
    "it",
    "its",
    "just",
    "kind",
    "kindly",
    "know",
    "like",
    "madam",
    "many",
    "me",
    "more",
    "most",
    "much",
    "my",
    "no",
    "nor",
    "not",
    "of",
    "off",
    "on",
    "once",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "out",
    "over",
    "own",
    "please",
    "provide",
    "re",
    "regards",
    "regulations",
    "request",
    "requesting",
    "same",
    "she",
    "should",
    "sir",
    "sincerely",
    "so",
    "some",
    "such",
    "than",
    "thank",
    "thanks",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "us",
    "very",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
    "yours",
    "2000",
    "2004",
    // Words of asking and counting, shared by requests on any topic.
    "answer",
    "ask",
    "asked",
    "best",
    "breakdown",
    "copy",
    "copies",
    "date",
    "dates",
    "detail",
    "details",
    "figure",
    "figures",
    "get",
    "held",
    "hi",
    "include",
    "including",
    "list",
    "made",
    "make",
    "may",
    "month",
    "months",
    "need",
    "number",
    "numbers",
    "per",
    "period",
    "received",
    "still",
    "tell",
    "total",
    "want",
    "wish",
    "year",
    "years",
];

/// Titles dropped from names before comparing them.
const TITLES: &[&str] = &[
    "mr",
    "mrs",
    "ms",
    "miss",
    "mx",
    "dr",
    "prof",
    "professor",
    "sir",
    "dame",
    "cllr",
    "councillor",
    "rev",
    "revd",
];

/// The part of a message's text that is the requester's own: quoted lines (`>`), everything
/// after a signature delimiter (`-- `) or the start of a forwarded/quoted original is dropped.
fn own_text(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .take_while(|l| {
            let t = l.trim();
            !(l.trim_end() == "--"
                || t.starts_with("-----Original Message")
                || t.starts_with("---------- Forwarded message")
                || (t.starts_with("On ") && t.ends_with("wrote:")))
        })
        .filter(|l| !l.trim_start().starts_with('>'))
}

/// Normalised content words, in order: lower case, letters and digits only (apostrophes joined:
/// `children's` → `childrens`), stop words dropped, a plural `s` trimmed (`potholes` → `pothole`).
pub fn normalise(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in own_text(text) {
        let mut word = String::new();
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            let joins = matches!(c, '\'' | '\u{2019}')
                && !word.is_empty()
                && chars.peek().is_some_and(|n| n.is_alphanumeric());
            if c.is_alphanumeric() {
                word.extend(c.to_lowercase());
            } else if !joins {
                push_word(&mut out, std::mem::take(&mut word));
            }
        }
        push_word(&mut out, word);
    }
    out
}

fn push_word(out: &mut Vec<String>, word: String) {
    if word.is_empty() || STOP_WORDS.contains(&word.as_str()) {
        return;
    }
    out.push(stem(&word));
}

/// A crude, consistent suffix trim so that `repaired`/`repairs`/`repair` and `issued`/`issue`
/// count as one word. It only has to give the same stem on both sides, not a real English root.
fn stem(word: &str) -> String {
    if word.len() <= 3 || word.chars().all(|c| c.is_ascii_digit()) {
        return word.to_string();
    }
    let mut s = word;
    let mut y = false;
    for suffix in ["ies", "ing", "ed", "es", "s"] {
        if let Some(stem) = s.strip_suffix(suffix)
            && stem.chars().count() >= 3
            && !(suffix == "s" && (stem.ends_with('s') || stem.ends_with('u')))
        {
            s = stem;
            y = suffix == "ies";
            break;
        }
    }
    if !y && s.chars().count() > 3 {
        s = s.strip_suffix('e').unwrap_or(s);
    }
    let mut out = s.to_string();
    if y {
        out.push('y');
    }
    out
}

fn minhash(items: impl Iterator<Item = u64> + Clone, seeds: &[u64]) -> Vec<u32> {
    seeds
        .iter()
        .map(|seed| {
            items
                .clone()
                .map(|h| (mix(h ^ seed) >> 32) as u32)
                .min()
                .unwrap_or(u32::MAX)
        })
        .collect()
}

impl Fingerprint {
    /// The fingerprint of a request's text (subject and body, joined by a newline, is the usual
    /// input). Never fails: an empty or wordless text gives a fingerprint that matches nothing.
    pub fn of(text: &str) -> Fingerprint {
        let words = normalise(prefix(text, MAX_TEXT_BYTES));
        let mut set: Vec<u64> = words.iter().map(|w| fnv1a(w.as_bytes())).collect();
        set.sort_unstable();
        set.dedup();
        // Texts shorter than a shingle use the whole text as their one shingle.
        let shingles: Vec<u64> = if words.len() < SHINGLE_WORDS {
            vec![fnv1a(words.join(" ").as_bytes())]
        } else {
            words
                .windows(SHINGLE_WORDS)
                .map(|w| fnv1a(w.join(" ").as_bytes()))
                .collect()
        };
        let (shingle_seeds, word_seeds) = SEEDS.split_at(SHINGLE_HASHES);
        Fingerprint {
            version: FINGERPRINT_VERSION,
            words: u16::try_from(set.len()).unwrap_or(u16::MAX),
            shingle_mins: minhash(shingles.iter().copied(), shingle_seeds),
            word_mins: minhash(set.iter().copied(), word_seeds),
        }
    }

    /// Whether this fingerprint can be compared at all: right version and shape, enough words.
    fn comparable(&self) -> bool {
        self.version == FINGERPRINT_VERSION
            && self.words >= MIN_WORDS
            && self.shingle_mins.len() == SHINGLE_HASHES
            && self.word_mins.len() == WORD_HASHES
    }
}

/// The two Jaccard estimates of a pair: same wording, and same words.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    /// Estimated Jaccard similarity of the 3-word shingle sets, 0.0..=1.0.
    pub wording: f64,
    /// Estimated Jaccard similarity of the word sets, 0.0..=1.0.
    pub words: f64,
}

impl Similarity {
    /// The one score reported and compared with the threshold: the mean of wording and words.
    /// Wording alone misses a request re-phrased in the same words; words alone rate any two
    /// requests on one topic (two different parking questions) too high. The mean needs both to
    /// be fairly high, or one to be very high.
    pub fn score(self) -> f64 {
        (self.wording + self.words) / 2.0
    }
}

fn agreement(a: &[u32], b: &[u32]) -> f64 {
    if a.is_empty() || a.len() != b.len() {
        return 0.0;
    }
    let same = a.iter().zip(b).filter(|(x, y)| x == y).count();
    same as f64 / a.len() as f64
}

/// Both Jaccard estimates; zero when either fingerprint is too short, of another version, or
/// malformed (e.g. a damaged stored value).
pub fn similarity_parts(a: &Fingerprint, b: &Fingerprint) -> Similarity {
    if !a.comparable() || !b.comparable() {
        return Similarity {
            wording: 0.0,
            words: 0.0,
        };
    }
    Similarity {
        wording: agreement(&a.shingle_mins, &b.shingle_mins),
        words: agreement(&a.word_mins, &b.word_mins),
    }
}

/// How alike two requests are, 0.0 (nothing in common, or not comparable) to 1.0 (same text):
/// [`Similarity::score`] of [`similarity_parts`].
pub fn similarity(a: &Fingerprint, b: &Fingerprint) -> f64 {
    similarity_parts(a, b).score()
}

/// One request, as repeat detection sees it: no text, only what it needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// The case reference.
    pub reference: CaseRef,
    /// Its kind (a different kind from the same person is [`Reason::DifferentRoute`]).
    pub kind: Kind,
    /// When the request was received.
    pub received_at: DateTime<Utc>,
    /// The requester's address as received (compared case-insensitively, `+tag` ignored).
    pub address: String,
    /// The requester's display name, if any (compared ignoring case, order and titles).
    pub name: Option<String>,
    /// [`Fingerprint::of`] its subject and body.
    pub fingerprint: Fingerprint,
}

/// Why a pair was flagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The same mailbox sent both.
    SameAddress,
    /// The same name (at least two words, ignoring titles, case and order) sent both.
    SameName,
    /// The texts are similar (score at or above the threshold).
    SimilarText,
    /// Same person, similar issue, another kind: e.g. a complaint, then an FOI about it.
    DifferentRoute,
}

impl Reason {
    fn describe(self) -> &'static str {
        match self {
            Reason::SameAddress => "same address",
            Reason::SameName => "same name",
            Reason::SimilarText => "similar text",
            Reason::DifferentRoute => "same issue through another route",
        }
    }
}

/// An earlier request a human should compare with the new one. Never a decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PossibleRepeat {
    /// The earlier case.
    pub reference: CaseRef,
    /// Its kind.
    pub kind: Kind,
    /// [`similarity`] of the two texts, 0.0..=1.0.
    pub score: f64,
    /// Why it was flagged, in a fixed order (address, name, text, route).
    pub reasons: Vec<Reason>,
    /// One line for the audit and the digest, with no personal data: references, kinds, dates,
    /// reasons and the score only.
    pub why: String,
}

impl PossibleRepeat {
    /// Whether the same person (address or name) made both requests: only then can it be a
    /// repeat in the FOIA s.14(2) sense; otherwise it is the same question from someone else.
    pub fn same_person(&self) -> bool {
        self.reasons
            .iter()
            .any(|r| matches!(r, Reason::SameAddress | Reason::SameName))
    }
}

/// `Alice+foi@Example.org ` → `alice@example.org`: one mailbox, however tagged.
fn normalise_address(a: &str) -> Option<String> {
    let a = a.trim().to_lowercase();
    let (local, domain) = a.rsplit_once('@')?;
    let local = local.split('+').next().unwrap_or(local);
    if local.is_empty() || domain.is_empty() {
        return None;
    }
    Some(format!("{local}@{domain}"))
}

/// `Dr Smith, Jane` → `["jane", "smith"]`; `None` for fewer than two words (a first name alone,
/// "Admin", "Info" are not enough to say it is the same person).
fn normalise_name(n: &str) -> Option<Vec<String>> {
    let mut words: Vec<String> = n
        .split(|c: char| !c.is_alphanumeric() && c != '\'' && c != '-')
        .map(|w| w.trim_matches(|c| c == '\'' || c == '-').to_lowercase())
        .filter(|w| !w.is_empty() && !TITLES.contains(&w.as_str()))
        .collect();
    if words.len() < 2 {
        return None;
    }
    words.sort();
    Some(words)
}

/// Earlier requests that may be repeats of `new`, best first, at most [`MAX_REPEATS`].
///
/// Looks at `earlier` requests received in the `window_months` calendar months up to `now`
/// (the new request itself, by reference, is skipped). Flags:
/// - same person (address or name) with similar text (score ≥ `threshold`): a possible repeat,
///   plus [`Reason::DifferentRoute`] when the kinds differ;
/// - same person, another kind, and a shared topic (word overlap ≥ `threshold` ×
///   [`SAME_ISSUE_FACTOR`]): the same issue through another route, which is phrased differently
///   (a complaint tells a story, an FOI asks for records), so its wording rarely matches;
/// - a different person with similar text: reported after every same-person match, with
///   [`Reason::SimilarText`] only (see the module doc on round-robin questions).
///
/// A different request from the same person is not flagged: people may ask many things.
/// Same-person matches come first, then by score, then the most recent.
pub fn find_repeats(
    new: &Candidate,
    earlier: &[Candidate],
    now: DateTime<Utc>,
    window_months: u32,
    threshold: f64,
) -> Vec<PossibleRepeat> {
    let threshold = if threshold.is_finite() {
        threshold.clamp(0.01, 1.0)
    } else {
        DEFAULT_THRESHOLD
    };
    let cutoff = now
        .checked_sub_months(Months::new(window_months))
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let new_address = normalise_address(&new.address);
    let new_name = new.name.as_deref().and_then(normalise_name);
    let mut found: Vec<(PossibleRepeat, DateTime<Utc>)> = Vec::new();
    for e in earlier {
        if e.reference == new.reference || e.received_at < cutoff || e.received_at > now {
            continue;
        }
        let parts = similarity_parts(&new.fingerprint, &e.fingerprint);
        let score = parts.score();
        let same_address = new_address.is_some() && new_address == normalise_address(&e.address);
        let same_name =
            new_name.is_some() && new_name == e.name.as_deref().and_then(normalise_name);
        let same_person = same_address || same_name;
        let other_kind = e.kind != new.kind;
        let similar = score >= threshold;
        let same_issue = other_kind && parts.words >= threshold * SAME_ISSUE_FACTOR;
        let mut reasons = Vec::new();
        if same_person && (similar || same_issue) {
            if same_address {
                reasons.push(Reason::SameAddress);
            }
            if same_name {
                reasons.push(Reason::SameName);
            }
            if similar {
                reasons.push(Reason::SimilarText);
            }
            if other_kind {
                reasons.push(Reason::DifferentRoute);
            }
        } else if !same_person && similar {
            reasons.push(Reason::SimilarText);
        } else {
            continue;
        }
        let described: Vec<&str> = reasons.iter().map(|r| r.describe()).collect();
        let mut why = format!(
            "possible repeat of {} ({}, received {}): {} (score {:.2})",
            e.reference,
            e.kind,
            e.received_at.format("%Y-%m-%d"),
            described.join(", "),
            score
        );
        if !same_person {
            why.push_str(
                "; a different requester, so not a repeat request (FOIA s.14(2)), but the same \
                 question may share an answer or be a campaign (Fees Regulations 2004 reg 5)",
            );
        }
        found.push((
            PossibleRepeat {
                reference: e.reference.clone(),
                kind: e.kind,
                score,
                reasons,
                why,
            },
            e.received_at,
        ));
    }
    found.sort_by(|(a, at), (b, bt)| {
        b.same_person()
            .cmp(&a.same_person())
            .then(b.score.total_cmp(&a.score))
            .then(bt.cmp(at))
            .then(a.reference.cmp(&b.reference))
    });
    found.truncate(MAX_REPEATS);
    found.into_iter().map(|(p, _)| p).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Section;

    /// Realistic request texts, by name.
    const PARKING_1: &str = "FOI request: parking fines on the High Street\n\nDear Sir/Madam,\n\nUnder the Freedom of Information Act 2000 please provide the number of penalty charge notices issued on the High Street in each month of 2025, the total income from those fines, and the number cancelled on appeal.\n\nKind regards,\nJane Smith";
    const PARKING_1_REWORDED: &str = "Parking tickets High Street - FOI\n\nHello,\n\nI asked before but had no answer. Could you tell me how many penalty charge notices were issued on the High Street each month in 2025, how much income those fines raised in total, and how many were cancelled after an appeal?\n\nThanks\nJane";
    const PARKING_1_COPY: &str = "Fwd: FOI request: parking fines on the High Street\n\nPlease provide the number of penalty charge notices issued on the High Street in each month of 2025, the total income from those fines, and the number cancelled on appeal.\n\n> earlier message quoted here\n> more quoted";
    const CARE_HOMES: &str = "FOI: care home placements\n\nPlease provide the number of adults placed in care homes outside the borough in 2024 and 2025, and the average weekly fee paid per placement.\n\nRegards, Jane Smith";
    const PARKING_OTHER: &str = "FOI parking permits\n\nPlease tell me how many residents parking permits were issued in zone B in 2025 and the cost of a permit for a second car.";
    const POTHOLE_COMPLAINT: &str = "Complaint about potholes on Mill Lane\n\nI wish to complain. The potholes on Mill Lane near the school have been reported three times since January and still not repaired. Last week one damaged my car tyre. I want the potholes on Mill Lane repaired and my repair costs refunded.";
    const POTHOLE_FOI: &str = "FOI: Mill Lane potholes\n\nPlease provide all reports of potholes on Mill Lane received since January 2025, the inspection dates, and the dates each pothole was repaired or scheduled for repair.";
    const JOURNALIST_A: &str = "Freedom of Information request - temporary accommodation spending\n\nPlease provide: 1. The total amount spent on temporary accommodation for homeless households in 2023/24 and 2024/25. 2. The number of households placed in bed and breakfast accommodation for more than six weeks. 3. The highest nightly rate paid.\n\nMany thanks, Sam Reporter, Daily Example";
    const JOURNALIST_B: &str = "FOI request: temporary accommodation\n\nPlease provide: 1. The total amount spent on temporary accommodation for homeless households in 2023/24 and 2024/25. 2. The number of households placed in bed and breakfast accommodation for more than six weeks. 3. The highest nightly rate paid.\n\nBest, Alex Writer";
    const SEE_ATTACHED_1: &str = "FOI\n\nPlease see attached letter.";
    const SEE_ATTACHED_2: &str = "Request\n\nSee attached.";

    fn fp(t: &str) -> Fingerprint {
        Fingerprint::of(t)
    }

    #[test]
    fn realistic_pairs_score_where_expected() {
        // (what, a, b, lowest score, highest score)
        let cases = [
            (
                "the same FOI re-worded",
                PARKING_1,
                PARKING_1_REWORDED,
                0.45,
                0.8,
            ),
            (
                "the same FOI forwarded, quotes dropped",
                PARKING_1,
                PARKING_1_COPY,
                0.7,
                1.0,
            ),
            (
                "a different FOI, same person",
                PARKING_1,
                CARE_HOMES,
                0.0,
                0.1,
            ),
            (
                "same topic, another question",
                PARKING_1,
                PARKING_OTHER,
                0.0,
                0.15,
            ),
            (
                "complaint then FOI, same issue",
                POTHOLE_COMPLAINT,
                POTHOLE_FOI,
                0.05,
                0.3,
            ),
            (
                "round-robin journalist question",
                JOURNALIST_A,
                JOURNALIST_B,
                0.55,
                0.9,
            ),
            ("unrelated", PARKING_1, POTHOLE_FOI, 0.0, 0.05),
            (
                "two 'see attached' emails",
                SEE_ATTACHED_1,
                SEE_ATTACHED_2,
                0.0,
                0.0,
            ),
            ("identical", CARE_HOMES, CARE_HOMES, 1.0, 1.0),
        ];
        for (what, a, b, lo, hi) in cases {
            let s = similarity(&fp(a), &fp(b));
            assert!((lo..=hi).contains(&s), "{what}: {s:.3} not in {lo}..={hi}");
            assert_eq!(s, similarity(&fp(b), &fp(a)), "{what}: not symmetric");
        }
        // The complaint/FOI pair is told in other words but shares its topic words.
        let p = similarity_parts(&fp(POTHOLE_COMPLAINT), &fp(POTHOLE_FOI));
        assert!(
            p.wording < 0.1 && p.words >= DEFAULT_THRESHOLD * SAME_ISSUE_FACTOR,
            "{p:?}"
        );
    }

    #[test]
    fn fingerprints_are_stable_across_runs_and_machines() {
        // Pinned values: if these change, stored fingerprints no longer compare, so the change
        // must come with a new FINGERPRINT_VERSION.
        assert_eq!(SEEDS[0], 0xf12d_6014_6739_815a);
        assert_eq!(SEEDS[95], 0x8f53_f033_1675_159a);
        let f = fp(PARKING_1);
        assert_eq!(f.version, 1);
        assert_eq!(f.words, 14);
        assert_eq!(
            f.shingle_mins[..4],
            [879_793_491, 42_148_300, 396_882_759, 136_650_267]
        );
        assert_eq!(
            f.word_mins[..4],
            [368_059_374, 145_128_286, 135_230_772, 706_975_497]
        );
        assert_eq!(f.shingle_mins.len(), SHINGLE_HASHES);
        assert_eq!(f.word_mins.len(), WORD_HASHES);
        assert_eq!(f, fp(PARKING_1));
    }

    #[test]
    fn normalise_keeps_content_words_only() {
        let cases: &[(&str, &[&str])] = &[
            ("", &[]),
            ("Dear Sir/Madam, please provide", &[]),
            ("Under the Freedom of Information Act 2000", &[]),
            (
                "Parking FINES, High-Street",
                &["park", "fin", "high", "street"],
            ),
            ("children's services", &["children", "servic"]),
            ("children’s services", &["children", "servic"]),
            ("childrens services", &["children", "servic"]),
            ("'quoted' words", &["quot", "word"]),
            (
                "potholes repaired repairs repair",
                &["pothol", "repair", "repair", "repair"],
            ),
            ("policies policy", &["policy", "policy"]),
            ("issued issue issues", &["issu", "issu", "issu"]),
            (
                "access process bus gas",
                &["access", "process", "bus", "gas"],
            ),
            ("2024/25 in 2025", &["2024", "25", "2025"]),
            ("Café ÉCOLE", &["café", "écol"]), // no accent folding: both sides keep them
            ("real line\n> quoted line\nmore", &["real", "lin"]),
            ("asked\n-- \nJane Smith\n07700 900123", &[]),
            (
                "fees\nOn Mon, 1 Jan 2026, Jane wrote:\n> old text",
                &["fee"],
            ),
            ("pay\n-----Original Message-----\nold", &["pay"]),
        ];
        for (text, want) in cases {
            assert_eq!(normalise(text), *want, "{text:?}");
        }
    }

    #[test]
    fn short_foreign_or_damaged_fingerprints_never_match() {
        let good = fp(CARE_HOMES);
        let mut old = good.clone();
        old.version = 0;
        let mut cut = good.clone();
        cut.shingle_mins.truncate(10);
        let mut no_words = good.clone();
        no_words.word_mins.clear();
        let cases = [
            ("empty", fp("")),
            ("three words", fp("care home fees")),
            ("old version", old),
            ("short shingle list", cut),
            ("no word list", no_words),
        ];
        for (what, f) in cases {
            assert_eq!(similarity(&good, &f), 0.0, "{what}");
            assert_eq!(similarity(&f, &f), 0.0, "{what} with itself");
        }
    }

    #[test]
    fn only_the_top_of_a_long_text_counts() {
        // A request followed by a huge paste: the same fingerprint as the paste cut at the cap.
        let long = format!("{PARKING_1}\n{}", "é word ".repeat(MAX_TEXT_BYTES));
        let f = fp(&long);
        assert_eq!(f, fp(prefix(&long, MAX_TEXT_BYTES)));
        assert!(similarity(&f, &fp(PARKING_1)) > 0.0);
        // Cut in the middle of a 2-byte char: backs off to the boundary, no panic.
        assert_eq!(prefix("", 0), "");
    }

    #[test]
    fn fingerprint_round_trips_through_json_and_stays_small() {
        let f = fp(JOURNALIST_A);
        let json = serde_json::to_string(&f).unwrap();
        let back: Fingerprint = serde_json::from_str(&json).unwrap();
        assert_eq!(back, f);
        assert!(json.len() < 1500, "{} bytes", json.len());
    }

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        use chrono::TimeZone;
        Utc.with_ymd_and_hms(y, m, d, 10, 0, 0).unwrap()
    }

    fn cand(
        seq: u32,
        kind: Kind,
        when: DateTime<Utc>,
        address: &str,
        name: Option<&str>,
        text: &str,
    ) -> Candidate {
        Candidate {
            reference: CaseRef::new(
                match kind {
                    Kind::Complaint => "COM",
                    Kind::Media => "MED",
                    _ => "FOI",
                },
                2026,
                seq,
            )
            .unwrap(),
            kind,
            received_at: when,
            address: address.to_string(),
            name: name.map(str::to_string),
            fingerprint: fp(text),
        }
    }

    #[test]
    fn find_repeats_scenarios() {
        let now = at(2026, 6, 1);
        let jane = "jane.smith@example.net";
        // (what, earlier, new, expected [(seq, reasons)])
        type Case<'a> = (&'a str, Vec<Candidate>, Candidate, Vec<(u32, Vec<Reason>)>);
        let new_parking = cand(
            99,
            Kind::Foi,
            now,
            jane,
            Some("Jane Smith"),
            PARKING_1_REWORDED,
        );
        let cases: Vec<Case> = vec![
            (
                "the same FOI re-worded, same address",
                vec![cand(1, Kind::Foi, at(2026, 3, 2), jane, None, PARKING_1)],
                new_parking.clone(),
                vec![(1, vec![Reason::SameAddress, Reason::SimilarText])],
            ),
            (
                "same wording from a new address, same name (titles and order ignored)",
                vec![cand(
                    1,
                    Kind::Foi,
                    at(2026, 3, 2),
                    "js1980@example.com",
                    Some("Smith, Dr Jane"),
                    PARKING_1,
                )],
                new_parking.clone(),
                vec![(1, vec![Reason::SameName, Reason::SimilarText])],
            ),
            (
                "address case and +tag ignored",
                vec![cand(
                    1,
                    Kind::Foi,
                    at(2026, 3, 2),
                    "Jane.Smith+foi@Example.NET",
                    None,
                    PARKING_1,
                )],
                new_parking.clone(),
                vec![(1, vec![Reason::SameAddress, Reason::SimilarText])],
            ),
            (
                "a different FOI from the same person is not flagged",
                vec![cand(
                    1,
                    Kind::Foi,
                    at(2026, 3, 2),
                    jane,
                    Some("Jane Smith"),
                    CARE_HOMES,
                )],
                new_parking.clone(),
                vec![],
            ),
            (
                "a complaint, then an FOI on the same issue",
                vec![cand(
                    1,
                    Kind::Complaint,
                    at(2026, 2, 1),
                    jane,
                    None,
                    POTHOLE_COMPLAINT,
                )],
                cand(99, Kind::Foi, now, jane, None, POTHOLE_FOI),
                vec![(1, vec![Reason::SameAddress, Reason::DifferentRoute])],
            ),
            (
                "a complaint on the same issue from someone else is not flagged",
                vec![cand(
                    1,
                    Kind::Complaint,
                    at(2026, 2, 1),
                    "neighbour@example.com",
                    None,
                    POTHOLE_COMPLAINT,
                )],
                cand(99, Kind::Foi, now, jane, None, POTHOLE_FOI),
                vec![],
            ),
            (
                "a complaint on another issue from the same person is not flagged",
                vec![cand(
                    1,
                    Kind::Complaint,
                    at(2026, 2, 1),
                    jane,
                    None,
                    POTHOLE_COMPLAINT,
                )],
                cand(99, Kind::Foi, now, jane, None, CARE_HOMES),
                vec![],
            ),
            (
                "the same FOI as a media enquiry: similar text through another route",
                vec![cand(1, Kind::Media, at(2026, 5, 1), jane, None, PARKING_1)],
                new_parking.clone(),
                vec![(
                    1,
                    vec![
                        Reason::SameAddress,
                        Reason::SimilarText,
                        Reason::DifferentRoute,
                    ],
                )],
            ),
            (
                "round-robin journalist question from two people: similar text only",
                vec![cand(
                    1,
                    Kind::Foi,
                    at(2026, 5, 20),
                    "sam@daily.example",
                    Some("Sam Reporter"),
                    JOURNALIST_A,
                )],
                cand(
                    99,
                    Kind::Foi,
                    now,
                    "alex@weekly.example",
                    Some("Alex Writer"),
                    JOURNALIST_B,
                ),
                vec![(1, vec![Reason::SimilarText])],
            ),
            (
                "first names alone are not the same person",
                vec![cand(
                    1,
                    Kind::Foi,
                    at(2026, 3, 2),
                    "j1@example.com",
                    Some("Jane"),
                    PARKING_1,
                )],
                cand(
                    99,
                    Kind::Foi,
                    now,
                    "j2@example.com",
                    Some("Jane"),
                    PARKING_1_REWORDED,
                ),
                vec![(1, vec![Reason::SimilarText])],
            ),
            (
                "outside the 12-month window",
                vec![cand(1, Kind::Foi, at(2025, 5, 31), jane, None, PARKING_1)],
                new_parking.clone(),
                vec![],
            ),
            (
                "exactly 12 months back is inside",
                vec![cand(1, Kind::Foi, at(2025, 6, 1), jane, None, PARKING_1)],
                new_parking.clone(),
                vec![(1, vec![Reason::SameAddress, Reason::SimilarText])],
            ),
            (
                "received after now (clock skew, bad data) is ignored",
                vec![cand(1, Kind::Foi, at(2026, 7, 1), jane, None, PARKING_1)],
                new_parking.clone(),
                vec![],
            ),
            (
                "the new case itself is skipped",
                vec![cand(99, Kind::Foi, now, jane, None, PARKING_1_REWORDED)],
                new_parking.clone(),
                vec![],
            ),
            (
                "'see attached' twice from the same person says nothing",
                vec![cand(
                    1,
                    Kind::Foi,
                    at(2026, 5, 1),
                    jane,
                    None,
                    SEE_ATTACHED_1,
                )],
                cand(99, Kind::Foi, now, jane, None, SEE_ATTACHED_2),
                vec![],
            ),
            (
                "same person first, then other people, each by score",
                vec![
                    cand(
                        1,
                        Kind::Foi,
                        at(2026, 5, 1),
                        "other@example.com",
                        None,
                        PARKING_1_REWORDED,
                    ),
                    cand(2, Kind::Foi, at(2026, 4, 1), jane, None, PARKING_1),
                    cand(3, Kind::Foi, at(2026, 4, 2), jane, None, CARE_HOMES),
                    cand(
                        4,
                        Kind::Foi,
                        at(2026, 5, 2),
                        "third@example.com",
                        None,
                        PARKING_1,
                    ),
                ],
                cand(99, Kind::Foi, now, jane, None, PARKING_1_COPY),
                vec![
                    (2, vec![Reason::SameAddress, Reason::SimilarText]),
                    (4, vec![Reason::SimilarText]),
                    (1, vec![Reason::SimilarText]),
                ],
            ),
        ];
        for (what, earlier, new, want) in cases {
            let got = find_repeats(
                &new,
                &earlier,
                now,
                DEFAULT_WINDOW_MONTHS,
                DEFAULT_THRESHOLD,
            );
            let got_short: Vec<(u32, Vec<Reason>)> = got
                .iter()
                .map(|p| (p.reference.seq(), p.reasons.clone()))
                .collect();
            assert_eq!(got_short, want, "{what}: {got:#?}");
            for p in &got {
                assert!(
                    p.why
                        .starts_with(&format!("possible repeat of {} (", p.reference)),
                    "{}",
                    p.why
                );
                assert_eq!(
                    p.why.contains("different requester"),
                    !p.same_person(),
                    "{}",
                    p.why
                );
                assert!(!p.why.contains('@'), "no addresses in why: {}", p.why);
                assert!((0.0..=1.0).contains(&p.score));
            }
        }
    }

    #[test]
    fn why_reads_well() {
        let now = at(2026, 6, 1);
        let earlier = [cand(
            123,
            Kind::Complaint,
            at(2026, 2, 1),
            "a@example.org",
            None,
            POTHOLE_COMPLAINT,
        )];
        let new = cand(124, Kind::Foi, now, "A@example.org", None, POTHOLE_FOI);
        let got = find_repeats(&new, &earlier, now, 12, DEFAULT_THRESHOLD);
        assert_eq!(got.len(), 1);
        let want = format!(
            "possible repeat of COM-2026-000123 (complaint, received 2026-02-01): same address, \
             same issue through another route (score {:.2})",
            got[0].score
        );
        assert_eq!(got[0].why, want);
    }

    #[test]
    fn results_are_capped_and_thresholds_are_sane() {
        let now = at(2026, 6, 1);
        let earlier: Vec<Candidate> = (1..=25)
            .map(|i| {
                cand(
                    i,
                    Kind::Foi,
                    at(2026, 5, 1),
                    &format!("p{i}@example.com"),
                    None,
                    JOURNALIST_A,
                )
            })
            .collect();
        let new = cand(99, Kind::Foi, now, "x@example.com", None, JOURNALIST_B);
        let got = find_repeats(&new, &earlier, now, 12, DEFAULT_THRESHOLD);
        assert_eq!(got.len(), MAX_REPEATS);
        // Equal scores and dates: lowest reference first, so the output is stable.
        let seqs: Vec<u32> = got.iter().map(|p| p.reference.seq()).collect();
        assert_eq!(seqs, (1..=10).collect::<Vec<_>>());
        // (threshold given, how many flagged)
        let cases = [
            (f64::NAN, MAX_REPEATS),
            (f64::INFINITY, MAX_REPEATS),
            (2.0, 0),
            (0.99, 0),
            (-1.0, MAX_REPEATS),
        ];
        for (t, n) in cases {
            assert_eq!(
                find_repeats(&new, &earlier, now, 12, t).len(),
                n,
                "threshold {t}"
            );
        }
        // A zero-month window keeps only what arrived at `now` exactly; a huge one does not overflow.
        assert!(find_repeats(&new, &earlier, now, 0, DEFAULT_THRESHOLD).is_empty());
        assert_eq!(
            find_repeats(&new, &earlier, now, u32::MAX, DEFAULT_THRESHOLD).len(),
            MAX_REPEATS
        );
    }

    #[test]
    fn names_and_addresses_normalise() {
        let names = [
            ("Jane Smith", Some(vec!["jane", "smith"])),
            ("SMITH, Jane", Some(vec!["jane", "smith"])),
            ("Dr. Jane Smith", Some(vec!["jane", "smith"])),
            ("Cllr Jane O'Neil-Smith", Some(vec!["jane", "o'neil-smith"])),
            ("Jane", None),
            ("Mrs Smith", None),
            ("", None),
            ("  ", None),
        ];
        for (n, want) in names {
            let want = want.map(|v| v.into_iter().map(String::from).collect::<Vec<_>>());
            assert_eq!(normalise_name(n), want, "{n:?}");
        }
        let addrs = [
            ("Jane@Example.org", Some("jane@example.org")),
            (" jane+foi@example.org ", Some("jane@example.org")),
            ("jane", None),
            ("@example.org", None),
            ("+tag@example.org", None),
            ("jane@", None),
            ("", None),
        ];
        for (a, want) in addrs {
            assert_eq!(normalise_address(a).as_deref(), want, "{a:?}");
        }
    }

    #[test]
    fn settings_default_parse_and_validate() {
        let d = RepeatSettings::default();
        assert_eq!(d.window_months, DEFAULT_WINDOW_MONTHS);
        assert_eq!(d.threshold, DEFAULT_THRESHOLD);
        assert!(d.validate("repeats").is_empty());
        // (toml, error keys)
        let cases: &[(&str, &[&str])] = &[
            ("", &[]),
            ("window_months = 6", &[]),
            ("threshold = 0.5", &[]),
            ("threshold = 1.0\nwindow_months = 120", &[]),
            ("window_months = 0", &["repeats.window_months"]),
            ("window_months = 121", &["repeats.window_months"]),
            ("threshold = 0.05", &["repeats.threshold"]),
            ("threshold = 1.5", &["repeats.threshold"]),
            ("threshold = nan", &["repeats.threshold"]),
            (
                "threshold = 0.0\nwindow_months = 0",
                &["repeats.window_months", "repeats.threshold"],
            ),
        ];
        for (text, keys) in cases {
            let s: RepeatSettings = toml::from_str(text).unwrap();
            let got: Vec<String> = s.validate("repeats").into_iter().map(|e| e.key).collect();
            assert_eq!(got, *keys, "{text:?}");
        }
        assert!(toml::from_str::<RepeatSettings>("treshold = 0.5").is_err());
        assert_eq!(
            RepeatSettings {
                window_months: 0,
                ..d
            }
            .validate("")[0]
                .key,
            "window_months"
        );
    }

    proptest::proptest! {
        #[test]
        fn similarity_is_bounded_symmetric_and_reflexive(a in "\\PC{0,300}", b in "\\PC{0,300}") {
            let (fa, fb) = (fp(&a), fp(&b));
            let s = similarity(&fa, &fb);
            proptest::prop_assert!((0.0..=1.0).contains(&s));
            proptest::prop_assert_eq!(s, similarity(&fb, &fa));
            let own = similarity(&fa, &fa);
            proptest::prop_assert!(own == 1.0 || (own == 0.0 && fa.words < MIN_WORDS));
        }

        #[test]
        fn find_repeats_never_panics(text in "\\PC{0,200}", addr in "\\PC{0,30}", months: u32, t in proptest::num::f64::ANY) {
            let now = at(2026, 6, 1);
            let earlier = [cand(1, Kind::Foi, at(2026, 1, 1), &addr, Some(&text), &text)];
            let new = cand(2, Kind::Sar, now, &addr, Some(&addr), &text);
            let got = find_repeats(&new, &earlier, now, months, t);
            proptest::prop_assert!(got.len() <= 1);
        }
    }
}
