//! Signed reply addresses, so that a forged `From:` header alone cannot act on a case.
//!
//! A staff email about a case carries a `Reply-To` of
//! `foi+FOI-2026-000123.3fa.<tag>@council.example`: `3fa` names the key that signed it and the tag
//! is a truncated HMAC-SHA256, under that key, of the key id, the case reference and the staff
//! address the email went to. So a reply address is good for one case, from one member of staff:
//! anyone can forge a `From:`, but nobody without the key can make a tag, a tag for one case is
//! useless for another, and a colleague who is forwarded the email cannot use it as their own.
//!
//! **Keys.** [`ReplyKeys`] holds several keys, newest first. New addresses are signed with the
//! newest; an address verifies under whichever listed key its id names. To rotate, add a new key
//! at the top: addresses already mailed out keep working. Removing a key revokes every address it
//! signed (they are then refused as signed by an unknown key). Key ids are derived from the key
//! (the first [`KEY_ID_HEX_LEN`] hex digits of a SHA-256 of it), so nobody has to name a key.
//!
//! **Addresses.** The address a tag binds is compared as [`bound_address`] gives it: trimmed,
//! without angle brackets, lower-cased. A `+tag` is NOT removed: `alice+foi@` is another address
//! than `alice@` (the routing file names plain addresses, and staff reply from their own mailbox,
//! whose From is the plain address), so the check stays as strict as the staff list.
//!
//! **Old addresses.** Before key ids, the address was `foi+FOI-2026-000123.<24 hex>@…`: an HMAC
//! of the reference alone. Those still parse ([`ReplyTag::key_id`] is `None`) and verify under
//! any listed key; binding them to a person is the caller's business (the command planner accepts
//! them only from the case's current assignee).
//!
//! Mail systems are free to lower-case local parts, so everything here is case-insensitive: the
//! reference parses in any case and tags and key ids are lower-case hex.
//!
//! **Machine mail.** The same keys sign the addresses that open a machine-mail record as a case
//! (`foi+M-2026-000042.3fa.<tag>@…`, [`MachineTag`]), under their own MAC context, so a tag made
//! for a case can never open machine mail and the reverse: bound to one record and one person
//! (the manager the daily list went to), like a case's.
//!
//! What this module does not do: check that the sender is a member of staff, read the key file,
//! or expire addresses (expiry depends on the case: see `core::plan::command`).

use crate::model::case::CaseRef;
use crate::model::machine::MachineMailId;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::fmt;

/// Length of a tag in lower-case hex characters: 20 characters are 80 bits of the HMAC. An
/// attacker gets one guess per email, so 2^80 is far beyond reach, and the whole local part
/// (`foi+FOI-2026-000123.3fa.` + tag) is exactly as long as the old unbound form, which keeps it
/// under the 64 characters RFC 5321 §4.5.3.1.1 allows for every shared address that worked before.
pub const TAG_HEX_LEN: usize = 20;

/// Length of a key id in lower-case hex characters: 12 bits, so two keys of a file rarely share
/// one (about 1 in 4,000 for two keys); when they do, [`ReplyKeys::new`] says so and another key
/// must be generated.
pub const KEY_ID_HEX_LEN: usize = 3;

/// Length of an old-style (unbound, key-less) tag in hex characters.
pub const LEGACY_TAG_HEX_LEN: usize = 24;

/// Shortest key accepted, in bytes: 16 bytes (128 bits) so the key is not the weak point of an
/// 80-bit tag. Configure a random string of at least 32 characters.
pub const MIN_SECRET_BYTES: usize = 16;

/// Most keys one file may hold: an old-style address is tried under every key, and more than a
/// handful of live keys means old ones were never removed.
pub const MAX_KEYS: usize = 16;

/// Longest address [`parse_reply_address`] looks at, in bytes: RFC 5321's 64-byte local part plus
/// `@` plus a 255-byte domain. Anything longer is not one of ours.
const MAX_ADDRESS_BYTES: usize = 320;

/// Domain separation: every MAC input starts with a prefix naming the scheme and its version, so
/// the same key can never produce a tag valid for another purpose or another version.
const MAC_CONTEXT: &[u8] = b"foi-triage reply-token v2\n";
/// The prefix of the MAC of a machine-mail address: another purpose, so another context.
const MACHINE_MAC_CONTEXT: &[u8] = b"foi-triage machine-mail reply-token v1\n";
/// The old scheme's prefix (HMAC of the reference alone), kept to verify old addresses.
const LEGACY_MAC_CONTEXT: &[u8] = b"foi-triage reply-token v1\n";
/// Prefix of the hash a key id is taken from (so the id reveals nothing usable about the key).
const KEY_ID_CONTEXT: &[u8] = b"foi-triage reply-key id v1\n";

/// One key, keyed once, with its id.
#[derive(Clone)]
struct ReplyKey {
    id: String,
    keyed: Hmac<Sha256>,
}

/// The daemon's reply-address keys, newest first (never empty). `Debug` shows the ids only.
#[derive(Clone)]
pub struct ReplyKeys {
    keys: Vec<ReplyKey>,
}

impl fmt::Debug for ReplyKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplyKeys")
            .field("ids", &self.ids().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Why a set of keys cannot be used. Keys are numbered from 1, newest (the first line) first.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// No key at all.
    #[error(
        "there is no reply-address key (put one random string of 32 or more characters in the file)"
    )]
    NoKeys,
    /// Too short to be a key.
    #[error(
        "reply-address key {key} is {len} bytes long; it must be at least {min} (use a random string of 32 or more characters)"
    )]
    TooShort {
        /// Which key (1 = newest).
        key: usize,
        /// Bytes given.
        len: usize,
        /// [`MIN_SECRET_BYTES`].
        min: usize,
    },
    /// More keys than [`MAX_KEYS`].
    #[error(
        "{count} reply-address keys; at most {max} are kept (remove the oldest, at the bottom)"
    )]
    TooMany {
        /// Keys given.
        count: usize,
        /// [`MAX_KEYS`].
        max: usize,
    },
    /// Two keys have the same id (or are the same key).
    #[error(
        "reply-address keys {first} and {second} have the same key id {id:?}; replace key {first} with another random string"
    )]
    SameId {
        /// The newer key.
        first: usize,
        /// The older key.
        second: usize,
        /// The shared id.
        id: String,
    },
}

impl ReplyKeys {
    /// Keys HMACs with `keys`, newest first (for example the lines of the key file).
    ///
    /// # Errors
    /// [`SecretError`] for no key, a key shorter than [`MIN_SECRET_BYTES`] (a short key would make
    /// every reply address guessable offline from one email), more than [`MAX_KEYS`], or two keys
    /// sharing an id.
    pub fn new<K: AsRef<[u8]>>(keys: &[K]) -> Result<ReplyKeys, SecretError> {
        if keys.is_empty() {
            return Err(SecretError::NoKeys);
        }
        if keys.len() > MAX_KEYS {
            return Err(SecretError::TooMany {
                count: keys.len(),
                max: MAX_KEYS,
            });
        }
        let mut out: Vec<ReplyKey> = Vec::with_capacity(keys.len());
        for (i, key) in keys.iter().enumerate() {
            let bytes = key.as_ref();
            let too_short = SecretError::TooShort {
                key: i + 1,
                len: bytes.len(),
                min: MIN_SECRET_BYTES,
            };
            if bytes.len() < MIN_SECRET_BYTES {
                return Err(too_short);
            }
            let id = key_id(bytes);
            if let Some(first) = out.iter().position(|k| k.id == id) {
                return Err(SecretError::SameId {
                    first: first + 1,
                    second: i + 1,
                    id,
                });
            }
            // HMAC takes keys of any length, so this cannot fail; mapped all the same.
            let keyed = <Hmac<Sha256> as Mac>::new_from_slice(bytes).map_err(|_| too_short)?;
            out.push(ReplyKey { id, keyed });
        }
        Ok(ReplyKeys { keys: out })
    }

    /// The key ids, newest (the signing key) first: for logs and `config check`.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.id.as_str())
    }

    /// The key that signs new addresses.
    fn newest(&self) -> &ReplyKey {
        // `new` refuses an empty list; the first key is the newest.
        &self.keys[0]
    }

    fn by_id(&self, id: &str) -> Option<&ReplyKey> {
        self.keys.iter().find(|k| k.id == id)
    }
}

/// The id of a key: the first [`KEY_ID_HEX_LEN`] hex digits of SHA-256(context ‖ key).
fn key_id(key: &[u8]) -> String {
    let hash = Sha256::new()
        .chain_update(KEY_ID_CONTEXT)
        .chain_update(key)
        .finalize();
    hex(&hash, KEY_ID_HEX_LEN)
}

/// The first `len` lower-case hex digits of `bytes`.
fn hex(bytes: &[u8], len: usize) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| [b >> 4, b & 0x0f])
        .take(len)
        .map(|n| char::from(DIGITS[usize::from(n)]))
        .collect()
}

/// The form of a staff address a tag binds and a sender is compared in: trimmed, without angle
/// brackets, lower-cased. A `+tag` is kept (module doc).
pub fn bound_address(address: &str) -> String {
    address
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_lowercase()
}

impl ReplyKey {
    /// The MAC binding one reference and one address under this key.
    fn mac(&self, reference: &CaseRef, address: &str) -> Hmac<Sha256> {
        // The canonical display form (upper-case prefix), so the tag does not depend on how the
        // reference was typed or lower-cased in transit.
        self.mac_for(MAC_CONTEXT, &reference.to_string(), address)
    }

    /// The MAC binding one target (a case reference, a machine-mail id, in its display form)
    /// and one address in `context`. Neither the target nor the id holds a newline, so the
    /// fields cannot run into each other.
    fn mac_for(&self, context: &[u8], target: &str, address: &str) -> Hmac<Sha256> {
        let mut mac = self.keyed.clone();
        mac.update(context);
        mac.update(self.id.as_bytes());
        mac.update(b"\n");
        mac.update(target.as_bytes());
        mac.update(b"\n");
        mac.update(bound_address(address).as_bytes());
        mac
    }

    /// The old scheme's MAC: the reference alone.
    fn legacy_mac(&self, reference: &CaseRef) -> Hmac<Sha256> {
        let mut mac = self.keyed.clone();
        mac.update(LEGACY_MAC_CONTEXT);
        mac.update(reference.to_string().as_bytes());
        mac
    }
}

/// What a reply address carries after the `+`: the case, the key id and the tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyTag {
    /// The case.
    pub reference: CaseRef,
    /// The signing key's id; `None` for an old-style address (no key id, bound to no one).
    pub key_id: Option<String>,
    /// The tag, lower-case hex ([`TAG_HEX_LEN`], or [`LEGACY_TAG_HEX_LEN`] when old-style).
    pub tag: String,
}

impl fmt::Display for ReplyTag {
    /// The sub-address: `FOI-2026-000123.3fa.<tag>` (or `FOI-2026-000123.<tag>` when old-style).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key_id {
            Some(id) => write!(f, "{}.{id}.{}", self.reference, self.tag),
            None => write!(f, "{}.{}", self.reference, self.tag),
        }
    }
}

/// The tag for `reference` sent to `address`, signed with the newest key.
pub fn sign(keys: &ReplyKeys, reference: &CaseRef, address: &str) -> ReplyTag {
    let key = keys.newest();
    let mac = key.mac(reference, address).finalize().into_bytes();
    ReplyTag {
        reference: reference.clone(),
        key_id: Some(key.id.clone()),
        tag: hex(&mac, TAG_HEX_LEN),
    }
}

/// What [`check`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The tag is good: for this case and (unless old-style) this address.
    Valid,
    /// Signed by a key that is not (or no longer) in the key file: revoked.
    UnknownKey,
    /// Not a tag any listed key made for this case and address: forged, damaged, or made for
    /// another address.
    Invalid,
}

/// Whether `tag` was made by one of `keys` for its case and for `address` (an old-style tag: for
/// its case, under any key). Tags are compared in constant time.
pub fn check(keys: &ReplyKeys, tag: &ReplyTag, address: &str) -> Verdict {
    let Some(bytes) = decode_hex(&tag.tag) else {
        return Verdict::Invalid;
    };
    // `verify_truncated_left` compares the leading bytes of the MAC in constant time (subtle).
    match &tag.key_id {
        Some(id) => match keys.by_id(id) {
            None => Verdict::UnknownKey,
            Some(key) if bytes.len() == TAG_HEX_LEN / 2 => {
                let mac = key.mac(&tag.reference, address);
                if mac.verify_truncated_left(&bytes).is_ok() {
                    Verdict::Valid
                } else {
                    Verdict::Invalid
                }
            }
            Some(_) => Verdict::Invalid,
        },
        None if bytes.len() == LEGACY_TAG_HEX_LEN / 2 => {
            let valid = keys.keys.iter().any(|k| {
                k.legacy_mac(&tag.reference)
                    .verify_truncated_left(&bytes)
                    .is_ok()
            });
            if valid {
                Verdict::Valid
            } else {
                Verdict::Invalid
            }
        }
        None => Verdict::Invalid,
    }
}

/// Hex digits (either case) to bytes; `None` for anything else or an odd length.
fn decode_hex(s: &str) -> Option<Vec<u8>> {
    let t = s.as_bytes();
    if !t.len().is_multiple_of(2) {
        return None;
    }
    t.chunks_exact(2)
        .map(|pair| {
            let hi = char::from(pair[0]).to_digit(16)?;
            let lo = char::from(pair[1]).to_digit(16)?;
            u8::try_from(hi * 16 + lo).ok()
        })
        .collect()
}

/// Why a reply address cannot be built from the configured shared address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyAddressError {
    /// Not `local@domain`.
    #[error("shared address {address:?} is not of the form name@domain")]
    Shape {
        /// The address given.
        address: String,
    },
    /// The shared address already carries a `+tag`: adding ours would be ambiguous.
    #[error("shared address {address:?} already has a +tag; configure the plain address")]
    AlreadyTagged {
        /// The address given.
        address: String,
    },
    /// The reply address would be longer than the 64 characters a local part may have
    /// (RFC 5321 §4.5.3.1.1); mail systems refuse it.
    #[error(
        "shared address {address:?}: the reply address {local:?} would be longer than 64 characters; use a shorter shared address (local part of at most 19 characters)"
    )]
    TooLong {
        /// The address given.
        address: String,
        /// The local part it would have.
        local: String,
    },
}

/// The signed reply address for a case's email to `recipient`:
/// `foi+FOI-2026-000123.3fa.<tag>@council.example` from the shared address `foi@council.example`.
/// The mail server must deliver `+` sub-addresses to the shared mailbox (Dovecot, Exchange and
/// Google Workspace do by default).
///
/// # Errors
/// [`ReplyAddressError`] when the shared address is not a plain `name@domain`, or too long.
pub fn reply_address(
    shared_address: &str,
    reference: &CaseRef,
    recipient: &str,
    keys: &ReplyKeys,
) -> Result<String, ReplyAddressError> {
    tagged_address(
        shared_address,
        &sign(keys, reference, recipient).to_string(),
    )
}

/// `shared_address` with `+tag` added to its local part, checked as [`reply_address`] says.
fn tagged_address(shared_address: &str, tag: &str) -> Result<String, ReplyAddressError> {
    let address = shared_address.trim();
    let shape = || ReplyAddressError::Shape {
        address: shared_address.to_string(),
    };
    let (local, domain) = address.rsplit_once('@').ok_or_else(shape)?;
    let bad = |s: &str| {
        s.is_empty()
            || s.contains('@')
            || s.chars()
                .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"'))
    };
    if bad(local) || bad(domain) {
        return Err(shape());
    }
    if local.contains('+') {
        return Err(ReplyAddressError::AlreadyTagged {
            address: shared_address.to_string(),
        });
    }
    let tagged = format!("{local}+{tag}");
    if tagged.len() > 64 {
        return Err(ReplyAddressError::TooLong {
            address: shared_address.to_string(),
            local: tagged,
        });
    }
    Ok(format!("{tagged}@{domain}"))
}

/// The case, key id and tag carried by a reply address, if it is one (new or old style).
///
/// Accepts the bare address, `<address>` or `Name <address>`, in any case. Returns the tag and
/// key id lower-cased; they are NOT verified here: call [`check`]. `None` for anything else,
/// including an address of ours without a sub-address.
pub fn parse_reply_address(addr: &str) -> Option<ReplyTag> {
    let (reference, key_id, tag) = split_tagged(addr)?;
    let parsed: CaseRef = reference.parse().ok()?;
    // `parse` trims surrounding space; an address never has any.
    if parsed.to_string().len() != reference.len() {
        return None;
    }
    let want = if key_id.is_some() {
        TAG_HEX_LEN
    } else {
        LEGACY_TAG_HEX_LEN
    };
    is_hex(&tag, want).then_some(ReplyTag {
        reference: parsed,
        key_id,
        tag,
    })
}

/// Whether `s` is `len` hex digits.
fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The parts of a sub-address `local+TARGET[.KEYID].TAG@domain` (display name and angle brackets
/// allowed): the target as written, the key id (checked, lower-cased) and the tag (lower-cased,
/// not checked: its length depends on the scheme).
fn split_tagged(addr: &str) -> Option<(&str, Option<String>, String)> {
    if addr.len() > MAX_ADDRESS_BYTES * 2 {
        return None;
    }
    let mut a = addr.trim();
    if let Some(open) = a.rfind('<') {
        let inner = &a[open + 1..];
        a = inner.strip_suffix('>')?.trim();
    }
    if a.len() > MAX_ADDRESS_BYTES {
        return None;
    }
    let (local, domain) = a.rsplit_once('@')?;
    if domain.is_empty() || domain.chars().any(char::is_whitespace) {
        return None;
    }
    let (_, sub) = local.split_once('+')?;
    let (rest, tag) = sub.rsplit_once('.')?;
    let tag = tag.to_ascii_lowercase();
    let (target, key_id) = match rest.rsplit_once('.') {
        Some((target, id)) => (target, Some(id.to_ascii_lowercase())),
        None => (rest, None),
    };
    if key_id
        .as_deref()
        .is_some_and(|id| !is_hex(id, KEY_ID_HEX_LEN))
    {
        return None;
    }
    Some((target, key_id, tag))
}

/// The token in an address that opens a machine-mail record as a case: the record, the key id
/// and the MAC of both (under their own context) and the address it was sent to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineTag {
    /// The record.
    pub id: MachineMailId,
    /// Which key signed it.
    pub key_id: String,
    /// The truncated MAC, lower-case hex.
    pub tag: String,
}

impl fmt::Display for MachineTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.id, self.key_id, self.tag)
    }
}

/// Signs machine-mail record `id` for `address` with the newest key.
pub fn sign_machine(keys: &ReplyKeys, id: &MachineMailId, address: &str) -> MachineTag {
    let key = keys.newest();
    let mac = key.mac_for(MACHINE_MAC_CONTEXT, &id.to_string(), address);
    MachineTag {
        id: *id,
        key_id: key.id.clone(),
        tag: hex(&mac.finalize().into_bytes(), TAG_HEX_LEN),
    }
}

/// Whether `tag` was made by one of `keys` for its record and `address`.
pub fn check_machine(keys: &ReplyKeys, tag: &MachineTag, address: &str) -> Verdict {
    let Some(key) = keys.by_id(&tag.key_id) else {
        return Verdict::UnknownKey;
    };
    let Some(bytes) = decode_hex(&tag.tag).filter(|b| b.len() == TAG_HEX_LEN / 2) else {
        return Verdict::Invalid;
    };
    let mac = key.mac_for(MACHINE_MAC_CONTEXT, &tag.id.to_string(), address);
    if mac.verify_truncated_left(&bytes).is_ok() {
        Verdict::Valid
    } else {
        Verdict::Invalid
    }
}

/// The address that opens machine-mail record `id` as a case, from `recipient` only.
///
/// # Errors
/// As [`reply_address`].
pub fn machine_reply_address(
    shared_address: &str,
    id: &MachineMailId,
    recipient: &str,
    keys: &ReplyKeys,
) -> Result<String, ReplyAddressError> {
    tagged_address(
        shared_address,
        &sign_machine(keys, id, recipient).to_string(),
    )
}

/// The machine-mail token in an address, if it is one of that shape (not yet checked).
pub fn parse_machine_reply_address(addr: &str) -> Option<MachineTag> {
    let (target, key_id, tag) = split_tagged(addr)?;
    let id: MachineMailId = target.parse().ok()?;
    if id.to_string().len() != target.len() || !is_hex(&tag, TAG_HEX_LEN) {
        return None;
    }
    Some(MachineTag {
        id,
        key_id: key_id?,
        tag,
    })
}

/// An old-style tag (HMAC of the reference alone, under the newest key), as addresses mailed
/// before key ids carry: for tests of their handling only.
#[cfg(test)]
pub(crate) fn legacy_tag(keys: &ReplyKeys, reference: &CaseRef) -> ReplyTag {
    let mac = keys.newest().legacy_mac(reference).finalize().into_bytes();
    ReplyTag {
        reference: reference.clone(),
        key_id: None,
        tag: hex(&mac, LEGACY_TAG_HEX_LEN),
    }
}

#[cfg(test)]
mod tests;
