//! The token rules, table by table: key sets, binding to case, address and key, rotation,
//! revocation, old-style addresses, and the address syntax.

use super::*;
use proptest::prelude::*;

const OLD_KEY: &str = "correct horse battery staple 2026";
const NEW_KEY: &str = "a newer key, also long enough!!";
const ALICE: &str = "alice@council.example";
const BOB: &str = "bob@council.example";

fn keys(list: &[&str]) -> ReplyKeys {
    ReplyKeys::new(list).expect("valid keys")
}

fn r(s: &str) -> CaseRef {
    s.parse().expect("valid test reference")
}

/// `tag` with its last hex digit changed.
fn flip_last(tag: &ReplyTag) -> ReplyTag {
    let mut t = tag.tag.clone().into_bytes();
    let last = t.len() - 1;
    t[last] = if t[last] == b'0' { b'1' } else { b'0' };
    ReplyTag {
        tag: String::from_utf8(t).expect("ascii"),
        ..tag.clone()
    }
}

#[test]
fn key_sets_are_checked_when_loaded() {
    let table: Vec<(Vec<&str>, Result<usize, SecretError>)> = vec![
        (vec![OLD_KEY], Ok(1)),
        (vec![NEW_KEY, OLD_KEY], Ok(2)),
        (vec!["sixteen bytes!!!"], Ok(1)),
        (vec![], Err(SecretError::NoKeys)),
        (
            vec!["fifteen bytes!!"],
            Err(SecretError::TooShort {
                key: 1,
                len: 15,
                min: 16,
            }),
        ),
        (
            vec![NEW_KEY, "short"],
            Err(SecretError::TooShort {
                key: 2,
                len: 5,
                min: 16,
            }),
        ),
        (
            vec![NEW_KEY, OLD_KEY, NEW_KEY],
            Err(SecretError::SameId {
                first: 1,
                second: 3,
                id: key_id(NEW_KEY.as_bytes()),
            }),
        ),
        (
            vec![OLD_KEY; MAX_KEYS + 1],
            Err(SecretError::TooMany {
                count: MAX_KEYS + 1,
                max: MAX_KEYS,
            }),
        ),
    ];
    for (list, want) in table {
        let got = ReplyKeys::new(&list).map(|k| k.ids().count());
        assert_eq!(got, want, "{list:?}");
    }
    // Ids are stable, short, lower-case hex, newest first; Debug shows them and never a key.
    let k = keys(&[NEW_KEY, OLD_KEY]);
    let ids: Vec<&str> = k.ids().collect();
    assert_eq!(
        ids,
        [key_id(NEW_KEY.as_bytes()), key_id(OLD_KEY.as_bytes())]
    );
    for id in &ids {
        assert_eq!(id.len(), KEY_ID_HEX_LEN);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
    }
    let shown = format!("{k:?}");
    assert!(
        shown.contains(ids[0]) && !shown.contains("horse"),
        "{shown}"
    );
}

#[test]
fn a_tag_binds_the_case_the_address_and_the_key() {
    let k = keys(&[OLD_KEY]);
    let case = r("FOI-2026-000123");
    let good = sign(&k, &case, ALICE);
    assert_eq!(good.key_id.as_deref(), k.ids().next());
    assert_eq!(good.tag.len(), TAG_HEX_LEN);
    // Deterministic, and independent of how the reference or the address was written.
    assert_eq!(
        good,
        sign(&k, &r("foi-2026-000123"), " <Alice@Council.Example> ")
    );
    let other_key = keys(&[NEW_KEY]);
    let both = keys(&[NEW_KEY, OLD_KEY]);
    let with = |reference: &str, tag: &ReplyTag| ReplyTag {
        reference: r(reference),
        ..tag.clone()
    };
    // (tag, keys it is checked under, sender, verdict, what)
    let table: Vec<(ReplyTag, &ReplyKeys, &str, Verdict, &str)> = vec![
        (good.clone(), &k, ALICE, Verdict::Valid, "as signed"),
        (
            good.clone(),
            &k,
            "ALICE@council.example",
            Verdict::Valid,
            "sender upper-cased",
        ),
        (
            good.clone(),
            &k,
            BOB,
            Verdict::Invalid,
            "another member of staff",
        ),
        (
            good.clone(),
            &k,
            "alice+foi@council.example",
            Verdict::Invalid,
            "+tag is another address",
        ),
        (good.clone(), &k, "", Verdict::Invalid, "no sender"),
        (
            with("FOI-2026-000124", &good),
            &k,
            ALICE,
            Verdict::Invalid,
            "another case",
        ),
        (
            with("EIR-2026-000123", &good),
            &k,
            ALICE,
            Verdict::Invalid,
            "same number, other prefix",
        ),
        (
            with("FOI-2025-000123", &good),
            &k,
            ALICE,
            Verdict::Invalid,
            "same number, other year",
        ),
        (
            flip_last(&good),
            &k,
            ALICE,
            Verdict::Invalid,
            "last digit changed",
        ),
        (
            good.clone(),
            &other_key,
            ALICE,
            Verdict::UnknownKey,
            "its key is not listed",
        ),
        (
            ReplyTag {
                key_id: other_key.ids().next().map(str::to_string),
                ..good.clone()
            },
            &both,
            ALICE,
            Verdict::Invalid,
            "key id swapped for another listed key",
        ),
        (
            ReplyTag {
                tag: good.tag[..TAG_HEX_LEN - 2].to_string(),
                ..good.clone()
            },
            &k,
            ALICE,
            Verdict::Invalid,
            "one byte short",
        ),
        (
            ReplyTag {
                tag: "0".repeat(TAG_HEX_LEN),
                ..good.clone()
            },
            &k,
            ALICE,
            Verdict::Invalid,
            "all zeros",
        ),
        (
            ReplyTag {
                tag: "g".repeat(TAG_HEX_LEN),
                ..good.clone()
            },
            &k,
            ALICE,
            Verdict::Invalid,
            "not hex",
        ),
        (
            ReplyTag {
                tag: "é".repeat(TAG_HEX_LEN / 2),
                ..good.clone()
            },
            &k,
            ALICE,
            Verdict::Invalid,
            "multi-byte",
        ),
    ];
    for (tag, under, sender, want, what) in table {
        assert_eq!(check(under, &tag, sender), want, "{what}: {tag}");
    }
}

#[test]
fn rotation_keeps_live_tags_and_removal_revokes_them() {
    let case = r("FOI-2026-000123");
    let before = keys(&[OLD_KEY]);
    let rotated = keys(&[NEW_KEY, OLD_KEY]);
    let after = keys(&[NEW_KEY]);
    let old_tag = sign(&before, &case, ALICE);
    let new_tag = sign(&rotated, &case, ALICE);
    assert_eq!(
        new_tag.key_id,
        after.ids().next().map(str::to_string),
        "newest signs"
    );
    assert_ne!(old_tag.key_id, new_tag.key_id);
    // (tag, keys, verdict, what)
    let table = [
        (&old_tag, &before, Verdict::Valid, "old tag, old key only"),
        (
            &old_tag,
            &rotated,
            Verdict::Valid,
            "old tag after a new key is added",
        ),
        (&new_tag, &rotated, Verdict::Valid, "new tag, both keys"),
        (
            &new_tag,
            &after,
            Verdict::Valid,
            "new tag after the old key is removed",
        ),
        (
            &old_tag,
            &after,
            Verdict::UnknownKey,
            "old tag after its key is removed",
        ),
        (
            &new_tag,
            &before,
            Verdict::UnknownKey,
            "new tag before its key was added",
        ),
    ];
    for (tag, under, want, what) in table {
        assert_eq!(check(under, tag, ALICE), want, "{what}");
    }
}

#[test]
fn old_style_tags_verify_under_any_listed_key_for_any_sender() {
    let case = r("FOI-2026-000123");
    let legacy = legacy_tag(&keys(&[OLD_KEY]), &case);
    assert_eq!(legacy.key_id, None);
    assert_eq!(legacy.tag.len(), LEGACY_TAG_HEX_LEN);
    // (keys, tag, verdict, what): the address is not bound; the caller decides who may use it.
    let table = [
        (keys(&[OLD_KEY]), legacy.clone(), Verdict::Valid, "its key"),
        (
            keys(&[NEW_KEY, OLD_KEY]),
            legacy.clone(),
            Verdict::Valid,
            "its key, not newest",
        ),
        (
            keys(&[NEW_KEY]),
            legacy.clone(),
            Verdict::Invalid,
            "its key removed",
        ),
        (
            keys(&[OLD_KEY]),
            ReplyTag {
                reference: r("FOI-2026-000124"),
                ..legacy.clone()
            },
            Verdict::Invalid,
            "another case",
        ),
        (
            keys(&[OLD_KEY]),
            flip_last(&legacy),
            Verdict::Invalid,
            "damaged",
        ),
        (
            keys(&[OLD_KEY]),
            ReplyTag {
                tag: legacy.tag[..TAG_HEX_LEN].to_string(),
                ..legacy.clone()
            },
            Verdict::Invalid,
            "new-style length without a key id",
        ),
    ];
    for (under, tag, want, what) in table {
        assert_eq!(check(&under, &tag, BOB), want, "{what}");
    }
}

#[test]
fn reply_address_round_trip() {
    let k = keys(&[NEW_KEY, OLD_KEY]);
    let case = r("FOI-2026-000123");
    let addr = reply_address("foi@council.example", &case, ALICE, &k).expect("builds");
    let tag = sign(&k, &case, ALICE);
    assert_eq!(addr, format!("foi+{tag}@council.example"));
    assert!(addr.starts_with("foi+FOI-2026-000123."), "{addr}");
    for seen in [
        addr.clone(),
        addr.to_ascii_lowercase(),
        addr.to_ascii_uppercase(),
        format!("<{addr}>"),
        format!("FOI team <{addr}>"),
        format!("  \"Team, FOI\" <{}>  ", addr.to_ascii_lowercase()),
    ] {
        let parsed = parse_reply_address(&seen).expect("parses");
        assert_eq!(parsed, tag, "{seen}");
        assert_eq!(check(&k, &parsed, ALICE), Verdict::Valid, "{seen}");
    }
    // Old-style addresses still parse.
    let legacy = legacy_tag(&k, &case);
    let old = format!("foi+{legacy}@council.example");
    assert_eq!(parse_reply_address(&old), Some(legacy));
    // The longest reference still fits a 64-character local part, as long as the old form did.
    let long = r("MEMBER-9999-4294967295");
    let addr = reply_address("enquiries@x.example", &long, ALICE, &k).expect("builds");
    let local = addr.split('@').next().map_or(0, str::len);
    assert!(local <= 64, "{addr}");
    assert_eq!(local, format!("enquiries+{}", legacy_tag(&k, &long)).len());
}

#[test]
fn reply_address_rejects_bad_shared_addresses() {
    let k = keys(&[OLD_KEY]);
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
                reply_address(bad, &case, ALICE, &k),
                Err(ReplyAddressError::Shape { .. })
            ),
            "{bad:?}"
        );
    }
    assert_eq!(
        reply_address("foi+x@council.example", &case, ALICE, &k),
        Err(ReplyAddressError::AlreadyTagged {
            address: "foi+x@council.example".into()
        })
    );
    assert!(matches!(
        reply_address(&format!("{}@x.example", "f".repeat(30)), &case, ALICE, &k),
        Err(ReplyAddressError::TooLong { .. })
    ));
    assert_eq!(
        reply_address(" foi@council.example ", &case, ALICE, &k).map(|a| a.starts_with("foi+")),
        Ok(true)
    );
}

#[test]
fn parse_reply_address_rejects_garbage() {
    let k = keys(&[OLD_KEY]);
    let t = sign(&k, &r("FOI-2026-000123"), ALICE);
    let (id, tag) = (t.key_id.clone().expect("key id"), t.tag.clone());
    let table = [
        String::new(),
        "foi@council.example".into(),
        "foi+@council.example".into(),
        format!("foi+FOI-2026-000123{id}{tag}@council.example"),
        format!("foi+FOI-2026-000123.{id}{tag}@council.example"),
        format!("foi+FOI-2026-000123.{id}.{tag}"),
        format!("foi+FOI-2026-000123.{id}.{tag}@"),
        format!("foi+FOI-2026-123.{id}.{tag}@council.example"),
        format!("foi+FOI-26-000123.{id}.{tag}@council.example"),
        format!("foi+ FOI-2026-000123.{id}.{tag}@council.example"),
        format!("foi+FOI-2026-000123.{id}.{}@council.example", &tag[2..]),
        format!("foi+FOI-2026-000123.{id}.{tag}00@council.example"),
        format!("foi+FOI-2026-000123.{id}0.{tag}@council.example"),
        format!("foi+FOI-2026-000123.zzz.{tag}@council.example"),
        format!("foi+FOI-2026-000123..{tag}@council.example"),
        format!("foi+FOI-2026-000123.x.{id}.{tag}@council.example"),
        format!(
            "foi+FOI-2026-000123.{id}.{}@council.example",
            "z".repeat(TAG_HEX_LEN)
        ),
        format!("<foi+FOI-2026-000123.{id}.{tag}@council.example"),
        format!("foi+FOI-2026-000123.{id}.{tag}@council .example"),
        "a".repeat(5000),
        format!("foi+{}.{id}.{tag}@x", "A".repeat(400)),
    ];
    for addr in table {
        assert_eq!(parse_reply_address(&addr), None, "{addr:?}");
    }
}

proptest! {
    #[test]
    fn parse_never_panics_and_random_tags_never_verify(s in "\\PC{0,80}", h in "[0-9a-f]{20}") {
        let _ = parse_reply_address(&s);
        let k = keys(&[OLD_KEY]);
        let guess = ReplyTag {
            reference: r("FOI-2026-000123"),
            key_id: k.ids().next().map(str::to_string),
            tag: h,
        };
        prop_assert_ne!(check(&k, &guess, ALICE), Verdict::Valid);
        prop_assert_ne!(check(&k, &ReplyTag { tag: s, ..guess.clone() }, ALICE), Verdict::Valid);
    }

    #[test]
    fn every_case_and_address_has_its_own_tag(a in 1u32..1_000_000, b in 1u32..1_000_000) {
        prop_assume!(a != b);
        let k = keys(&[OLD_KEY]);
        let ra = CaseRef::new("FOI", 2026, a).expect("valid");
        let rb = CaseRef::new("FOI", 2026, b).expect("valid");
        let ta = sign(&k, &ra, ALICE);
        prop_assert_eq!(check(&k, &ta, ALICE), Verdict::Valid);
        prop_assert_eq!(check(&k, &ReplyTag { reference: rb, ..ta.clone() }, ALICE), Verdict::Invalid);
        prop_assert_eq!(check(&k, &ta, &format!("user{b}@council.example")), Verdict::Invalid);
        let addr = reply_address("foi@council.example", &ra, ALICE, &k).expect("builds");
        prop_assert_eq!(parse_reply_address(&addr), Some(ta));
    }
}

#[test]
fn machine_mail_addresses_are_bound_to_one_record_one_person_and_their_own_purpose() {
    let ks = keys(&[NEW_KEY, OLD_KEY]);
    let id = |seq| MachineMailId::new(2026, seq).expect("id");
    let address = machine_reply_address("foi@council.example", &id(42), ALICE, &ks).expect("fits");
    assert!(address.starts_with("foi+M-2026-000042."), "{address}");
    assert!(address.split('@').next().is_some_and(|l| l.len() <= 64));
    let tag = parse_machine_reply_address(&format!("Open <{}>", address.to_uppercase()))
        .expect("parses in any case");
    assert_eq!(tag.id, id(42));
    // (who sends it, with which keys, verdict)
    let table = [
        (ALICE, keys(&[NEW_KEY, OLD_KEY]), Verdict::Valid),
        (" Alice@Council.Example ", keys(&[NEW_KEY]), Verdict::Valid),
        (BOB, keys(&[NEW_KEY, OLD_KEY]), Verdict::Invalid),
        (ALICE, keys(&[OLD_KEY]), Verdict::UnknownKey),
    ];
    for (sender, ks, want) in table {
        assert_eq!(check_machine(&ks, &tag, sender), want, "{sender}");
    }
    // Another record's id with this tag does not verify.
    let other = MachineTag {
        id: id(43),
        ..tag.clone()
    };
    assert_eq!(check_machine(&ks, &other, ALICE), Verdict::Invalid);
    // The two kinds of address never pass for each other.
    let case_address =
        reply_address("foi@council.example", &r("FOI-2026-000042"), ALICE, &ks).expect("fits");
    assert_eq!(parse_machine_reply_address(&case_address), None);
    assert_eq!(parse_reply_address(&address), None);
    // A case tag's MAC, put on a machine-mail id, is not a machine-mail tag.
    let case_tag = sign(&ks, &r("FOI-2026-000042"), ALICE);
    let forged = MachineTag {
        id: id(42),
        key_id: case_tag.key_id.clone().expect("key id"),
        tag: case_tag.tag,
    };
    assert_eq!(check_machine(&ks, &forged, ALICE), Verdict::Invalid);
    for bad in [
        "foi+M-2026-000042.abc@council.example",
        "foi+M-2026-42.abc.0123456789abcdef0123@council.example",
        "foi+M-2026-000042.zzz.0123456789abcdef0123@council.example",
        "foi+M-2026-000042.abc.0123@council.example",
    ] {
        assert_eq!(parse_machine_reply_address(bad), None, "{bad}");
    }
}
