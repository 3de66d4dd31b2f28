//! The stored fingerprint of a request's text, for spotting repeated requests. Computed and
//! compared by `core::repeat`; kept with the case so later requests can be compared with it.

use serde::{Deserialize, Serialize};

/// A compact, stable summary of a request's text, stored with each case (128 numbers: 512 bytes, about 1.3 KB as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// `core::repeat::FINGERPRINT_VERSION` when computed.
    pub version: u8,
    /// Distinct content words (capped at `u16::MAX`); below `MIN_WORDS` nothing is compared.
    pub words: u16,
    /// MinHash over 3-word shingles (`SHINGLE_HASHES` values).
    pub shingle_mins: Vec<u32>,
    /// MinHash over the word set (`WORD_HASHES` values).
    pub word_mins: Vec<u32>,
}
