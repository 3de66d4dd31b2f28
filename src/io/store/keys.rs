//! Byte layout of every key the store writes, and its inverse.
//!
//! Keys are designed so that sled's byte order is the order we scan in:
//! - a case key is `PREFIX-YYYY-NNNNNNNNNN` (sequence zero-padded to 10 digits, the width of
//!   `u32::MAX`), so byte order equals [`CaseRef`]'s `Ord` even past `999999`;
//! - an audit key is the case key plus a big-endian `u64` event number, so one `scan_prefix`
//!   returns a case's events in the order they were appended;
//! - the due index key starts with `YYYY-MM-DD`, so a date range is a key range;
//! - the outbox due index key starts with the attempt time in big-endian, sign-flipped
//!   microseconds, so "due at or before now" is a key range.
//!
//! No I/O here; every decoder returns `None` on bytes it does not recognise.

use crate::model::case::{CaseRef, YEAR_MAX, YEAR_MIN};
use chrono::{DateTime, Datelike, NaiveDate, Utc};

/// Digits of the sequence in a case key: `u32::MAX` has 10, so every sequence fits at one width.
const KEY_SEQ_DIGITS: usize = 10;
/// Separator between the parts of composite keys. Never part of a normalised e-mail, a date or a
/// case key.
const SEP: u8 = 0;

/// The `cases` key of a reference (also the value stored in the indexes).
pub(crate) fn case_key(r: &CaseRef) -> Vec<u8> {
    format!(
        "{}-{:04}-{:0width$}",
        r.prefix(),
        r.year(),
        r.seq(),
        width = KEY_SEQ_DIGITS
    )
    .into_bytes()
}

/// The reference a case key (or index value) encodes; `None` for anything else.
pub(crate) fn case_ref_from_key(key: &[u8]) -> Option<CaseRef> {
    let s = std::str::from_utf8(key).ok()?;
    let mut parts = s.split('-');
    let (prefix, year, seq) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || !prefix.bytes().all(|b| b.is_ascii_uppercase())
        || year.len() != 4
        || !year.bytes().all(|b| b.is_ascii_digit())
        || seq.len() != KEY_SEQ_DIGITS
        || !seq.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    CaseRef::new(prefix, year.parse().ok()?, seq.parse().ok()?).ok()
}

/// The `audit` key of event number `n` of a case.
pub(crate) fn audit_key(r: &CaseRef, n: u64) -> Vec<u8> {
    let mut k = case_key(r);
    k.extend_from_slice(&n.to_be_bytes());
    k
}

/// `sequences` key of the last reference number allocated for (prefix, year).
pub(crate) fn seq_case_key(prefix: &str, year: i32) -> Vec<u8> {
    format!("case\0{prefix}\0{year:04}").into_bytes()
}

/// `sequences` key of the number of audit events a case has.
pub(crate) fn seq_audit_key(r: &CaseRef) -> Vec<u8> {
    let mut k = b"audit\0".to_vec();
    k.extend_from_slice(&case_key(r));
    k
}

/// `sequences` key of the last outbox row id allocated.
pub(crate) const SEQ_OUTBOX_KEY: &[u8] = b"outbox";

/// A Message-ID as the indexes hold it: trimmed, one pair of angle brackets removed. `None` when
/// nothing is left.
pub(crate) fn msgid_norm(id: &str) -> Option<String> {
    let t = id.trim();
    let t = t.strip_prefix('<').unwrap_or(t);
    let t = t.strip_suffix('>').unwrap_or(t).trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// A content hash as the indexes hold it: trimmed, ASCII lower-case. `None` when empty.
pub(crate) fn hash_norm(hash: &str) -> Option<String> {
    let t = hash.trim();
    (!t.is_empty()).then(|| t.to_ascii_lowercase())
}

/// An e-mail address as the requester index holds it: trimmed, lower-cased (people retype
/// addresses in any case), NUL removed (it is our separator). `None` when empty.
pub(crate) fn email_norm(email: &str) -> Option<String> {
    let t: String = email.trim().chars().filter(|&c| c != '\0').collect();
    let t = t.to_lowercase();
    (!t.is_empty()).then_some(t)
}

/// Scan prefix of the requester index for one normalised address.
pub(crate) fn requester_prefix(email_norm: &str) -> Vec<u8> {
    let mut k = email_norm.as_bytes().to_vec();
    k.push(SEP);
    k
}

/// Requester index key: `email \0 case-key`.
pub(crate) fn requester_key(email_norm: &str, r: &CaseRef) -> Vec<u8> {
    let mut k = requester_prefix(email_norm);
    k.extend_from_slice(&case_key(r));
    k
}

/// Whether a due date can be written in the `YYYY-MM-DD` key form (four-digit year).
pub(crate) fn due_in_range(date: NaiveDate) -> bool {
    (YEAR_MIN..=YEAR_MAX).contains(&date.year())
}

/// The `YYYY-MM-DD` text of a date; callers check [`due_in_range`] first.
fn date_text(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// Due index key: `YYYY-MM-DD \0 case-key`.
pub(crate) fn due_key(date: NaiveDate, r: &CaseRef) -> Vec<u8> {
    let mut k = date_text(date).into_bytes();
    k.push(SEP);
    k.extend_from_slice(&case_key(r));
    k
}

/// First due-index key on `date` (inclusive lower bound of a range scan).
pub(crate) fn due_lower(date: NaiveDate) -> Vec<u8> {
    let mut k = date_text(date).into_bytes();
    k.push(SEP);
    k
}

/// Key just past every due-index key on `date` (exclusive upper bound of a range scan).
pub(crate) fn due_upper(date: NaiveDate) -> Vec<u8> {
    let mut k = date_text(date).into_bytes();
    k.push(SEP + 1);
    k
}

/// The (date, reference) a due-index key encodes.
pub(crate) fn due_from_key(key: &[u8]) -> Option<(NaiveDate, CaseRef)> {
    let pos = key.iter().position(|&b| b == SEP)?;
    let date = std::str::from_utf8(&key[..pos]).ok()?;
    let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    let r = case_ref_from_key(&key[pos + 1..])?;
    Some((date, r))
}

/// The (requester, reference) split of a requester index key, given its scan prefix.
pub(crate) fn requester_ref_from_key(key: &[u8], prefix: &[u8]) -> Option<CaseRef> {
    case_ref_from_key(key.strip_prefix(prefix)?)
}

/// `sequences` key of the last machine-mail number allocated (one sequence for all years).
pub(crate) const SEQ_MACHINE_KEY: &[u8] = b"machine";

/// Prefix of the record keys in the `machine` tree.
pub(crate) const MACHINE_RECORD: u8 = b'm';
/// Prefix of the raw-bytes keys in the `machine` tree.
pub(crate) const MACHINE_RAW: u8 = b'r';

/// `machine` tree key of a record (`m` + number, big-endian, so records list in the order they
/// were written; the id's year is in the record).
pub(crate) fn machine_record_key(seq: u64) -> [u8; 9] {
    machine_key(MACHINE_RECORD, seq)
}

/// `machine` tree key of a record's raw bytes (`r` + number).
pub(crate) fn machine_raw_key(seq: u64) -> [u8; 9] {
    machine_key(MACHINE_RAW, seq)
}

fn machine_key(prefix: u8, seq: u64) -> [u8; 9] {
    let mut k = [prefix; 9];
    k[1..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// Outbox row key: the id, big-endian, so rows list in creation order.
pub(crate) fn outbox_key(id: u64) -> [u8; 8] {
    id.to_be_bytes()
}

/// The id an outbox key encodes.
pub(crate) fn outbox_id_from_key(key: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(key.try_into().ok()?))
}

/// Microseconds since the epoch, sign bit flipped so that big-endian bytes sort like the numbers.
fn sortable_micros(at: DateTime<Utc>) -> [u8; 8] {
    // Two's complement with the top bit flipped is an order-preserving map i64 → u64.
    ((at.timestamp_micros() as u64) ^ (1 << 63)).to_be_bytes()
}

/// Outbox due-index key: attempt time, then row id.
pub(crate) fn outbox_due_key(at: DateTime<Utc>, id: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&sortable_micros(at));
    k[8..].copy_from_slice(&id.to_be_bytes());
    k
}

/// Exclusive upper bound of the outbox due index for rows due at or before `now`: every key with
/// a time up to `now`'s microsecond sorts below it. Rows later within that microsecond are
/// filtered out by the caller on the exact timestamp.
pub(crate) fn outbox_due_upper(now: DateTime<Utc>) -> Vec<u8> {
    let mut k = sortable_micros(now).to_vec();
    k.extend_from_slice(&[0xff; 9]);
    k
}

/// The row id in an outbox due-index key.
pub(crate) fn outbox_due_id(key: &[u8]) -> Option<u64> {
    if key.len() != 16 {
        return None;
    }
    outbox_id_from_key(&key[8..])
}

/// Scan prefix of the outbox recipient index for one normalised address.
pub(crate) fn outbox_to_prefix(email_norm: &str) -> Vec<u8> {
    let mut k = email_norm.as_bytes().to_vec();
    k.push(SEP);
    k
}

/// Outbox recipient-index key: address, NUL, enqueue time, row id.
pub(crate) fn outbox_to_key(email_norm: &str, at: DateTime<Utc>, id: u64) -> Vec<u8> {
    let mut k = outbox_to_prefix(email_norm);
    k.extend_from_slice(&sortable_micros(at));
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// The (normalised address, row id) of an outbox recipient-index key.
pub(crate) fn outbox_to_split(key: &[u8]) -> Option<(&str, u64)> {
    // address, NUL, 8 bytes of time, 8 bytes of id
    let split = key.len().checked_sub(17)?;
    if key[split] != SEP {
        return None;
    }
    let email = std::str::from_utf8(&key[..split]).ok()?;
    Some((email, decode_u64(&key[split + 9..])?))
}

/// Inclusive lower bound of the recipient index for rows to `email_norm` enqueued at or after
/// `since`.
pub(crate) fn outbox_to_lower(email_norm: &str, since: DateTime<Utc>) -> Vec<u8> {
    let mut k = outbox_to_prefix(email_norm);
    k.extend_from_slice(&sortable_micros(since));
    k
}

/// `seen` key for a Message-ID (already normalised).
pub(crate) fn seen_msgid_key(id_norm: &str) -> Vec<u8> {
    let mut k = b"m\0".to_vec();
    k.extend_from_slice(id_norm.as_bytes());
    k
}

/// `seen` key for a content hash (already normalised).
pub(crate) fn seen_hash_key(hash_norm: &str) -> Vec<u8> {
    let mut k = b"h\0".to_vec();
    k.extend_from_slice(hash_norm.as_bytes());
    k
}

/// Decode a big-endian `u64` counter.
pub(crate) fn decode_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn r(p: &str, y: i32, s: u32) -> CaseRef {
        CaseRef::new(p, y, s).expect("valid test reference")
    }

    #[test]
    fn case_key_round_trips_and_sorts_like_ord() {
        let mut refs = vec![
            r("FOI", 2026, 1_000_000),
            r("FOI", 2026, 999_999),
            r("FOIX", 2020, 1),
            r("AB", 2030, 1),
            r("FOI", 2025, u32::MAX),
            r("SAR", 2026, 1),
        ];
        for x in &refs {
            assert_eq!(case_ref_from_key(&case_key(x)).as_ref(), Some(x));
        }
        let mut by_key = refs.clone();
        by_key.sort_by_key(case_key);
        refs.sort();
        assert_eq!(by_key, refs);
        assert_eq!(case_key(&r("FOI", 2026, 123)), b"FOI-2026-0000000123");
    }

    #[test]
    fn case_key_decoder_rejects_garbage() {
        let bad: [&[u8]; 8] = [
            b"",
            b"FOI-2026-000123",
            b"foi-2026-0000000123",
            b"FOI-2026-0000000000",
            b"FOI-2026-9999999999",
            b"FOI-26-0000000123",
            b"FOI-2026-0000000123-1",
            &[0xff, 0xfe],
        ];
        for k in bad {
            assert_eq!(case_ref_from_key(k), None, "{k:?}");
        }
    }

    #[test]
    fn audit_keys_of_one_case_are_a_prefix_scan_in_order() {
        let a = r("FOI", 2026, 1);
        let other = r("FOIX", 2026, 1);
        let prefix = case_key(&a);
        let mut keys = vec![audit_key(&a, 256), audit_key(&a, 2), audit_key(&a, 0)];
        keys.sort();
        assert_eq!(
            keys,
            [audit_key(&a, 0), audit_key(&a, 2), audit_key(&a, 256)]
        );
        assert!(keys.iter().all(|k| k.starts_with(&prefix)));
        assert!(!audit_key(&other, 0).starts_with(&prefix));
        assert!(!audit_key(&r("FOI", 2026, 10), 0).starts_with(&prefix));
    }

    #[test]
    fn normalisers() {
        let msgids = [
            ("<abc@x>", Some("abc@x")),
            ("  abc@x ", Some("abc@x")),
            ("<>", None),
            ("  ", None),
            ("< a@b >", Some("a@b")),
        ];
        for (input, want) in msgids {
            assert_eq!(msgid_norm(input).as_deref(), want, "{input:?}");
        }
        assert_eq!(hash_norm(" ABCdef ").as_deref(), Some("abcdef"));
        assert_eq!(hash_norm(""), None);
        let emails = [
            ("Jane@Example.ORG", Some("jane@example.org")),
            (" jane@example.org\t", Some("jane@example.org")),
            ("a\0b@x", Some("ab@x")),
            ("ÉLODIE@x.fr", Some("élodie@x.fr")),
            ("", None),
            ("\0", None),
        ];
        for (input, want) in emails {
            assert_eq!(email_norm(input).as_deref(), want, "{input:?}");
        }
    }

    #[test]
    fn due_keys_order_by_date_and_decode() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).expect("valid date");
        let x = r("FOI", 2026, 5);
        let k = due_key(d(2026, 4, 1), &x);
        assert_eq!(due_from_key(&k), Some((d(2026, 4, 1), x.clone())));
        assert!(due_lower(d(2026, 4, 1)) <= k && k < due_upper(d(2026, 4, 1)));
        assert!(due_upper(d(2026, 3, 31)) <= due_lower(d(2026, 4, 1)));
        assert!(due_key(d(2026, 12, 31), &x) < due_key(d(2027, 1, 1), &x));
        assert!(due_in_range(d(9999, 12, 31)) && !due_in_range(d(10_000, 1, 1)));
        assert!(!due_in_range(d(999, 1, 1)));
        assert_eq!(due_from_key(b"2026-04-01"), None);
        assert_eq!(due_from_key(b"2026-13-01\0FOI-2026-0000000001"), None);
    }

    #[test]
    fn requester_keys_split_back() {
        let x = r("SAR", 2026, 9);
        let p = requester_prefix("a@b.c");
        let k = requester_key("a@b.c", &x);
        assert_eq!(requester_ref_from_key(&k, &p), Some(x));
        assert_eq!(requester_ref_from_key(&k, b"zz\0"), None);
    }

    #[test]
    fn outbox_keys() {
        assert_eq!(outbox_id_from_key(&outbox_key(42)), Some(42));
        assert_eq!(outbox_id_from_key(b"short"), None);
        let t = |s| Utc.timestamp_opt(s, 0).single().expect("valid");
        let k = outbox_due_key(t(1_700_000_000), 7);
        assert_eq!(outbox_due_id(&k), Some(7));
        assert!(outbox_due_key(t(-5), 99) < outbox_due_key(t(0), 1));
        assert!(outbox_due_key(t(0), 1) < outbox_due_key(t(0), 2));
        assert!(k.as_slice() < outbox_due_upper(t(1_700_000_000)).as_slice());
        assert!(outbox_due_upper(t(1_699_999_999)).as_slice() < k.as_slice());
        assert_eq!(decode_u64(&5u64.to_be_bytes()), Some(5));
        let to = outbox_to_key("a@b.c", t(1_700_000_000), 9);
        assert_eq!(outbox_to_split(&to), Some(("a@b.c", 9)));
        assert_eq!(outbox_to_split(&to[1..]), Some(("@b.c", 9)));
        assert_eq!(outbox_to_split(&to[..to.len() - 1]), None);
        assert_eq!(decode_u64(b"12"), None);
    }

    proptest! {
        #[test]
        fn sortable_micros_preserves_order(a in any::<i64>(), b in any::<i64>()) {
            let t = |m: i64| DateTime::<Utc>::from_timestamp_micros(m);
            if let (Some(ta), Some(tb)) = (t(a), t(b)) {
                prop_assert_eq!(a.cmp(&b), sortable_micros(ta).cmp(&sortable_micros(tb)));
            }
        }
    }
}
