//! Signed reply addresses, so that a forged `From:` header alone cannot act on a case.
//!
//! The assignment email's `Reply-To` is `foi+FOI-2026-000123.<token>@council.example`, where the
//! token is a truncated HMAC-SHA256 of the case reference under a secret only the daemon knows. A
//! command is acted on only when it arrives from a configured staff address **and** at a reply
//! address whose token [`verify`]s for the case it names: anyone can forge a `From:`, but nobody
//! without the secret can make a token for a case, and a token for one case is useless for another.
//!
//! Mail systems are free to lower-case local parts, so everything here is case-insensitive: the
//! reference parses in any case and tokens are lower-case hex.
//!
//! What this module does not do: check that the sender is a member of staff, read the secret from
//! the configuration, or expire tokens (a token lives as long as its case and its secret; rotate the
//! secret to revoke every outstanding reply address at once).

use crate::model::case::CaseRef;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

/// Length of a token in lower-case hex characters: 24 characters are 96 bits of the HMAC, far
/// beyond guessing by mail (an attacker gets one try per message), while the whole local part
/// (`foi+FOI-2026-000123.` + token) stays well under the 64 characters RFC 5321 §4.5.3.1.1 allows.
pub const TOKEN_HEX_LEN: usize = 24;

/// Shortest secret accepted, in bytes: 16 bytes (128 bits) so the key is not the weak point of
/// a 96-bit tag. Configure a random string of at least 32 characters.
pub const MIN_SECRET_BYTES: usize = 16;

/// Longest address [`parse_reply_address`] looks at, in bytes: RFC 5321's 64-byte local part plus
/// `@` plus a 255-byte domain. Anything longer is not one of ours.
const MAX_ADDRESS_BYTES: usize = 320;

/// Domain separation: the MAC input is this prefix and the reference, so the same secret could
/// never produce a token valid for another purpose (or another version of this scheme).
const MAC_CONTEXT: &[u8] = b"foi-triage reply-token v1\n";

/// The daemon's reply-token secret, keyed once. `Debug` never shows the key.
#[derive(Clone)]
pub struct ReplySecret {
    keyed: Hmac<Sha256>,
}

impl fmt::Debug for ReplySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReplySecret(<redacted>)")
    }
}

/// Why a secret cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// Too short to be a secret.
    #[error(
        "the reply-token secret is {len} bytes long; it must be at least {min} (use a random string of 32 or more characters)"
    )]
    TooShort {
        /// Bytes given.
        len: usize,
        /// [`MIN_SECRET_BYTES`].
        min: usize,
    },
}

impl ReplySecret {
    /// Key the HMAC with `secret` (for example the bytes of a configured random string).
    ///
    /// # Errors
    /// [`SecretError::TooShort`] below [`MIN_SECRET_BYTES`]: a short secret would make every
    /// reply address guessable offline from one assignment email.
    pub fn new(secret: impl AsRef<[u8]>) -> Result<ReplySecret, SecretError> {
        let bytes = secret.as_ref();
        let too_short = SecretError::TooShort {
            len: bytes.len(),
            min: MIN_SECRET_BYTES,
        };
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(too_short);
        }
        // HMAC takes keys of any length, so this cannot fail; mapped all the same, never unwrapped.
        let keyed = <Hmac<Sha256> as Mac>::new_from_slice(bytes).map_err(|_| too_short)?;
        Ok(ReplySecret { keyed })
    }

    /// The MAC over one reference, ready to finalise or verify.
    fn mac(&self, reference: &CaseRef) -> Hmac<Sha256> {
        let mut mac = self.keyed.clone();
        mac.update(MAC_CONTEXT);
        // The canonical display form (upper-case prefix), so the token does not depend on how the
        // reference was typed or lower-cased in transit.
        mac.update(reference.to_string().as_bytes());
        mac
    }
}

/// The token for one case: the first [`TOKEN_HEX_LEN`] lower-case hex characters of
/// HMAC-SHA256(secret, context ‖ reference).
pub fn reply_token(secret: &ReplySecret, reference: &CaseRef) -> String {
    let tag = secret.mac(reference).finalize().into_bytes();
    let mut out = String::with_capacity(TOKEN_HEX_LEN);
    for b in tag.iter().take(TOKEN_HEX_LEN / 2) {
        out.push(hex_digit(b >> 4));
        out.push(hex_digit(b & 0x0f));
    }
    out
}

fn hex_digit(n: u8) -> char {
    char::from(b"0123456789abcdef"[usize::from(n & 0x0f)])
}

/// Whether `token` is the token for `reference` under `secret`, compared in constant time.
///
/// Case-insensitive (mail systems may upper- or lower-case local parts). Anything that is not
/// exactly [`TOKEN_HEX_LEN`] hex digits is simply not valid.
pub fn verify(secret: &ReplySecret, reference: &CaseRef, token: &str) -> bool {
    let Some(bytes) = decode_token(token) else {
        return false;
    };
    // `verify_truncated_left` compares the leading bytes of the tag in constant time (subtle).
    secret.mac(reference).verify_truncated_left(&bytes).is_ok()
}

fn decode_token(token: &str) -> Option<Vec<u8>> {
    let t = token.as_bytes();
    if t.len() != TOKEN_HEX_LEN {
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
        "shared address {address:?}: the reply address {local:?} would be longer than 64 characters; use a shorter shared address (local part of at most 20 characters)"
    )]
    TooLong {
        /// The address given.
        address: String,
        /// The local part it would have.
        local: String,
    },
}

/// The signed reply address for a case: `foi+FOI-2026-000123.<token>@council.example` from the
/// shared address `foi@council.example`. The mail server must deliver `+` sub-addresses to the
/// shared mailbox (Dovecot, Exchange and Google Workspace do by default).
///
/// # Errors
/// [`ReplyAddressError`] when the shared address is not a plain `name@domain`.
pub fn reply_address(
    shared_address: &str,
    reference: &CaseRef,
    secret: &ReplySecret,
) -> Result<String, ReplyAddressError> {
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
    let tagged = format!("{local}+{reference}.{}", reply_token(secret, reference));
    if tagged.len() > 64 {
        return Err(ReplyAddressError::TooLong {
            address: shared_address.to_string(),
            local: tagged,
        });
    }
    Ok(format!("{tagged}@{domain}"))
}

/// The case reference and token carried by a reply address, if it is one.
///
/// Accepts the bare address, `<address>` or `Name <address>`, in any case. Returns the token
/// lower-cased; it is NOT verified here: call [`verify`]. `None` for anything else, including an
/// address of ours without a tag.
pub fn parse_reply_address(addr: &str) -> Option<(CaseRef, String)> {
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
    let (_, tag) = local.split_once('+')?;
    let (reference, token) = tag.rsplit_once('.')?;
    let reference: CaseRef = reference.parse().ok()?;
    // `parse` trims surrounding space; an address never has any.
    if reference.to_string().len() != tag.len() - token.len() - 1 {
        return None;
    }
    let token = token.to_ascii_lowercase();
    (token.len() == TOKEN_HEX_LEN && token.bytes().all(|b| b.is_ascii_hexdigit()))
        .then_some((reference, token))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SECRET: &str = "correct horse battery staple 2026";

    fn secret() -> ReplySecret {
        ReplySecret::new(SECRET).expect("long enough")
    }

    fn r(s: &str) -> CaseRef {
        s.parse().expect("valid test reference")
    }

    #[test]
    fn token_shape_and_stability() {
        let s = secret();
        let a = reply_token(&s, &r("FOI-2026-000123"));
        assert_eq!(a.len(), TOKEN_HEX_LEN);
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        // Deterministic, and independent of how the reference was typed.
        assert_eq!(a, reply_token(&s, &r("foi-2026-000123")));
        assert_eq!(a, reply_token(&secret(), &r(" FOI-2026-000123 ")));
        assert!(verify(&s, &r("FOI-2026-000123"), &a));
    }

    #[test]
    fn secrets_shorter_than_the_minimum_are_refused() {
        for (input, ok) in [
            ("", false),
            ("short", false),
            ("fifteen bytes!!", false),
            ("sixteen bytes!!!", true),
            (SECRET, true),
        ] {
            assert_eq!(ReplySecret::new(input).is_ok(), ok, "{input:?}");
        }
        assert_eq!(
            ReplySecret::new("abc").err(),
            Some(SecretError::TooShort { len: 3, min: 16 })
        );
        assert_eq!(format!("{:?}", secret()), "ReplySecret(<redacted>)");
    }

    #[test]
    fn verify_rejects_forged_and_foreign_tokens() {
        let s = secret();
        let case = r("FOI-2026-000123");
        let good = reply_token(&s, &case);
        let other_case = reply_token(&s, &r("FOI-2026-000124"));
        let other_kind = reply_token(&s, &r("EIR-2026-000123"));
        let other_year = reply_token(&s, &r("FOI-2025-000123"));
        let other_secret = reply_token(
            &ReplySecret::new("another secret of enough length").expect("ok"),
            &case,
        );
        let mut flipped = good.clone().into_bytes();
        flipped[TOKEN_HEX_LEN - 1] = if flipped[TOKEN_HEX_LEN - 1] == b'0' {
            b'1'
        } else {
            b'0'
        };
        let flipped = String::from_utf8(flipped).expect("ascii");
        let table: Vec<(String, bool, &str)> = vec![
            (good.clone(), true, "the real token"),
            (good.to_ascii_uppercase(), true, "upper-cased in transit"),
            (other_case, false, "another case's token"),
            (other_kind, false, "same number, other prefix"),
            (other_year, false, "same number, other year"),
            (other_secret, false, "made with another secret"),
            (flipped, false, "last digit changed"),
            (good[..TOKEN_HEX_LEN - 1].to_string(), false, "one short"),
            (format!("{good}0"), false, "one long"),
            (String::new(), false, "empty"),
            ("0".repeat(TOKEN_HEX_LEN), false, "all zeros"),
            ("g".repeat(TOKEN_HEX_LEN), false, "not hex"),
            (format!(" {}", &good[1..]), false, "space inside"),
            ("é".repeat(TOKEN_HEX_LEN / 2), false, "multi-byte"),
        ];
        for (token, want, what) in table {
            assert_eq!(verify(&s, &case, &token), want, "{what}: {token:?}");
        }
        // The right token under the wrong secret.
        let wrong = ReplySecret::new("wrong secret, same length!").expect("ok");
        assert!(!verify(&wrong, &case, &good));
    }

    #[test]
    fn reply_address_round_trip() {
        let s = secret();
        let case = r("FOI-2026-000123");
        let addr = reply_address("foi@council.example", &case, &s).expect("builds");
        let token = reply_token(&s, &case);
        assert_eq!(addr, format!("foi+FOI-2026-000123.{token}@council.example"));
        assert!(addr.split('@').next().map(str::len) <= Some(64));
        for seen in [
            addr.clone(),
            addr.to_ascii_lowercase(),
            addr.to_ascii_uppercase(),
            format!("<{addr}>"),
            format!("FOI team <{addr}>"),
            format!("  \"Team, FOI\" <{}>  ", addr.to_ascii_lowercase()),
        ] {
            let (reference, t) = parse_reply_address(&seen).expect("parses");
            assert_eq!(reference, case, "{seen}");
            assert_eq!(t, token, "{seen}");
            assert!(verify(&s, &reference, &t), "{seen}");
        }
        // Longest reference still fits a 64-character local part.
        let long = r("MEMBER-9999-4294967295");
        let addr = reply_address("enquiries@x.example", &long, &s).expect("builds");
        assert!(addr.split('@').next().map(str::len) <= Some(64), "{addr}");
    }

    #[test]
    fn reply_address_rejects_bad_shared_addresses() {
        let s = secret();
        let case = r("FOI-2026-000001");
        for bad in [
            "",
            "foi",
            "@council.example",
            "foi@",
            "f oi@council.example",
            "<foi@council.example>",
            "foi@@council.example",
        ] {
            assert!(
                matches!(
                    reply_address(bad, &case, &s),
                    Err(ReplyAddressError::Shape { .. })
                ),
                "{bad:?}"
            );
        }
        assert_eq!(
            reply_address("foi+x@council.example", &case, &s),
            Err(ReplyAddressError::AlreadyTagged {
                address: "foi+x@council.example".into()
            })
        );
        assert_eq!(
            reply_address(" foi@council.example ", &case, &s).map(|a| a.starts_with("foi+")),
            Ok(true)
        );
    }

    #[test]
    fn parse_reply_address_rejects_garbage() {
        let token = reply_token(&secret(), &r("FOI-2026-000123"));
        let table = [
            String::new(),
            "foi@council.example".into(),
            "foi+@council.example".into(),
            format!("foi+FOI-2026-000123{token}@council.example"),
            format!("foi+FOI-2026-000123.{token}"),
            format!("foi+FOI-2026-000123.{token}@"),
            format!("foi+FOI-2026-123.{token}@council.example"),
            format!("foi+FOI-26-000123.{token}@council.example"),
            format!("foi+F-2026-000123.{token}@council.example"),
            format!("foi+ FOI-2026-000123.{token}@council.example"),
            format!("foi+FOI-2026-000123.{}@council.example", &token[2..]),
            format!("foi+FOI-2026-000123.{token}00@council.example"),
            "foi+FOI-2026-000123.zzzzzzzzzzzzzzzzzzzzzzzz@council.example".into(),
            format!("<foi+FOI-2026-000123.{token}@council.example"),
            format!("foi+FOI-2026-000123.{token}@council .example"),
            "a".repeat(5000),
            format!("foi+{}.{token}@x", "A".repeat(400)),
        ];
        for addr in table {
            assert_eq!(parse_reply_address(&addr), None, "{addr:?}");
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_verify_rejects_random_tokens(s in "\\PC{0,80}") {
            let _ = parse_reply_address(&s);
            prop_assert!(!verify(&secret(), &r("FOI-2026-000123"), &s));
        }

        #[test]
        fn every_case_has_its_own_token(a in 1u32..1_000_000, b in 1u32..1_000_000) {
            prop_assume!(a != b);
            let s = secret();
            let ra = CaseRef::new("FOI", 2026, a).expect("valid");
            let rb = CaseRef::new("FOI", 2026, b).expect("valid");
            let ta = reply_token(&s, &ra);
            prop_assert!(verify(&s, &ra, &ta));
            prop_assert!(!verify(&s, &rb, &ta));
            let addr = reply_address("foi@council.example", &ra, &s).expect("builds");
            prop_assert_eq!(parse_reply_address(&addr), Some((ra, ta)));
        }
    }
}
