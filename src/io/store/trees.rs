//! The one table of every sled tree the store keeps, and how each one's keys and values are
//! written in a backup ([`super::backup`]) and checked by [`super::verify`].
//!
//! A tree that is not in [`TREES`] cannot be backed up: export, restore and `store verify` all
//! refuse a store holding one (see [`unknown_trees`]), so a new tree is never silently left out of
//! backups. Adding a tree is one line here, with the forms of its keys and values.
//!
//! # Forms in a backup line
//! | key form | JSON | store bytes |
//! |---|---|---|
//! | [`KeyForm::Text`] | string | its UTF-8 bytes (NUL separators as `\u0000`) |
//! | [`KeyForm::Id`] | number | `u64` big-endian |
//! | [`KeyForm::CaseEvent`] | `[case key, number]` | case key then `u64` big-endian |
//! | [`KeyForm::Bytes`] | base64 string (RFC 4648, padded) | the bytes |
//!
//! | value form | JSON | store bytes |
//! |---|---|---|
//! | [`ValueForm::Record`] | the record itself | its JSON, as the store writes it |
//! | [`ValueForm::Text`] | string | its UTF-8 bytes |
//! | [`ValueForm::Empty`] | `null` | nothing |
//! | [`ValueForm::Counter`] | number | `u64` big-endian |
//! | [`ValueForm::Bytes`] | base64 string | the bytes |

use super::{
    TREE_AUDIT, TREE_CASES, TREE_CURSORS, TREE_IDX_DUE, TREE_IDX_HASH, TREE_IDX_MSGID,
    TREE_IDX_OUTBOX_DUE, TREE_IDX_OUTBOX_TO, TREE_IDX_REQUESTER, TREE_MACHINE, TREE_MARKS,
    TREE_OUTBOX, TREE_RAW, TREE_SEEN, TREE_SEQUENCES,
};
use crate::model::case::{AuditEvent, Case};
use crate::model::records::{Cursor, OutboxRow, SeenRecord};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// How a tree's keys are written in a backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyForm {
    /// UTF-8 text.
    Text,
    /// A `u64`, big-endian in the store.
    Id,
    /// A case key followed by a big-endian `u64` event number (the audit tree).
    CaseEvent,
    /// Any bytes, base64 in the backup.
    Bytes,
}

/// How a tree's values are written in a backup.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ValueForm {
    /// A JSON record of a known type: decoded on export (a damaged record fails the export rather
    /// than be backed up unreadable) and on restore (a damaged backup fails before anything is
    /// written).
    Record(Codec),
    /// UTF-8 text (an index's case key).
    Text,
    /// Nothing (an index entry is its key).
    Empty,
    /// A big-endian `u64` counter.
    Counter,
    /// Any bytes, base64 in the backup.
    Bytes,
}

/// Checks a record's JSON against its type, both ways.
#[derive(Clone, Copy)]
pub(crate) struct Codec {
    /// The type's name, for messages.
    pub(crate) type_name: &'static str,
    /// Store bytes → the record's JSON as the backup holds it.
    pub(crate) export: fn(&[u8], &mut Vec<u8>) -> Result<(), String>,
    /// The backup's JSON → store bytes.
    pub(crate) restore: fn(Value) -> Result<Vec<u8>, String>,
}

impl std::fmt::Debug for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.type_name)
    }
}

/// One tree of the store: its name in sled and its forms in a backup.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TreeSpec {
    /// The sled tree name.
    pub(crate) name: &'static str,
    /// How its keys are written.
    pub(crate) key: KeyForm,
    /// How its values are written.
    pub(crate) value: ValueForm,
}

const fn record<T: Serialize + DeserializeOwned>(type_name: &'static str) -> ValueForm {
    ValueForm::Record(Codec {
        type_name,
        export: export_record::<T>,
        restore: restore_record::<T>,
    })
}

const fn tree(name: &'static str, key: KeyForm, value: ValueForm) -> TreeSpec {
    TreeSpec { name, key, value }
}

/// Every tree of the store, in backup order (the order of the lines of an export). Records first,
/// their indexes after, the raw messages (the bulk) last.
pub(crate) const TREES: &[TreeSpec] = &[
    tree(TREE_CASES, KeyForm::Text, record::<Case>("Case")),
    tree(
        TREE_AUDIT,
        KeyForm::CaseEvent,
        record::<AuditEvent>("AuditEvent"),
    ),
    tree(TREE_SEQUENCES, KeyForm::Text, ValueForm::Counter),
    tree(TREE_OUTBOX, KeyForm::Id, record::<OutboxRow>("OutboxRow")),
    tree(TREE_CURSORS, KeyForm::Text, record::<Cursor>("Cursor")),
    tree(TREE_SEEN, KeyForm::Text, record::<SeenRecord>("SeenRecord")),
    tree(TREE_MARKS, KeyForm::Text, record::<Value>("JSON value")),
    tree(TREE_IDX_MSGID, KeyForm::Text, ValueForm::Text),
    tree(TREE_IDX_HASH, KeyForm::Text, ValueForm::Text),
    tree(TREE_IDX_REQUESTER, KeyForm::Text, ValueForm::Empty),
    tree(TREE_IDX_DUE, KeyForm::Text, ValueForm::Empty),
    tree(TREE_IDX_OUTBOX_DUE, KeyForm::Bytes, ValueForm::Empty),
    tree(TREE_IDX_OUTBOX_TO, KeyForm::Bytes, ValueForm::Empty),
    tree(TREE_RAW, KeyForm::Text, ValueForm::Bytes),
    // Machine-mail records and their raw bytes share one tree under a one-byte key prefix (sled
    // caps a transaction at 14 trees): kept byte for byte, as both kinds of value are.
    tree(TREE_MACHINE, KeyForm::Bytes, ValueForm::Bytes),
];

/// sled's own default tree: it holds only the schema marker, which a backup's header carries.
pub(crate) const SLED_DEFAULT_TREE: &[u8] = b"__sled__default";

/// The table entry of a tree name.
pub(crate) fn spec(name: &str) -> Option<&'static TreeSpec> {
    TREES.iter().find(|t| t.name == name)
}

/// Trees in the database that [`TREES`] does not list (sled's default tree aside), as printable
/// names: what a backup would leave out.
pub(crate) fn unknown_trees(db: &sled::Db) -> Vec<String> {
    db.tree_names()
        .iter()
        .filter(|n| n.as_ref() != SLED_DEFAULT_TREE)
        .filter(|n| std::str::from_utf8(n).ok().and_then(spec).is_none())
        .map(|n| super::error::show_key(n))
        .collect()
}

fn export_record<T: Serialize + DeserializeOwned>(
    bytes: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let record: T = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    serde_json::to_writer(out, &record).map_err(|e| e.to_string())
}

fn restore_record<T: Serialize + DeserializeOwned>(value: Value) -> Result<Vec<u8>, String> {
    let record: T = serde_json::from_value(value).map_err(|e| e.to_string())?;
    serde_json::to_vec(&record).map_err(|e| e.to_string())
}

/// Bytes of `u64` counters and ids.
const U64_BYTES: usize = 8;

impl KeyForm {
    /// The key's JSON in a backup.
    ///
    /// # Errors
    /// What is wrong with the bytes (text that is not UTF-8, an id of the wrong length).
    pub(crate) fn to_json(self, key: &[u8]) -> Result<Value, String> {
        match self {
            KeyForm::Text => text(key).map(Value::from),
            KeyForm::Id => u64_of(key).map(Value::from),
            KeyForm::CaseEvent => {
                let split = key
                    .len()
                    .checked_sub(U64_BYTES)
                    .filter(|&n| n > 0)
                    .ok_or("shorter than a case key and an event number")?;
                let (case, n) = key.split_at(split);
                Ok(Value::from(vec![
                    Value::from(text(case)?),
                    Value::from(u64_of(n)?),
                ]))
            }
            KeyForm::Bytes => Ok(Value::from(BASE64.encode(key))),
        }
    }

    /// The store bytes of a key read from a backup.
    ///
    /// # Errors
    /// What is wrong with the JSON.
    pub(crate) fn store_bytes(self, key: &Value) -> Result<Vec<u8>, String> {
        match (self, key) {
            (KeyForm::Text, Value::String(s)) => Ok(s.as_bytes().to_vec()),
            (KeyForm::Id, Value::Number(_)) => Ok(number(key)?.to_be_bytes().to_vec()),
            (KeyForm::CaseEvent, Value::Array(parts)) => match parts.as_slice() {
                [Value::String(case), n] if !case.is_empty() => {
                    let mut k = case.as_bytes().to_vec();
                    k.extend_from_slice(&number(n)?.to_be_bytes());
                    Ok(k)
                }
                _ => Err("expected [case key, event number]".into()),
            },
            (KeyForm::Bytes, Value::String(s)) => BASE64.decode(s).map_err(|e| e.to_string()),
            (form, _) => Err(format!("a key of form {form:?} cannot be {key}")),
        }
    }
}

impl ValueForm {
    /// Appends the value's JSON in a backup to `out`.
    ///
    /// # Errors
    /// What is wrong with the bytes (a record that does not decode, a counter of the wrong
    /// length, an index entry with a value).
    pub(crate) fn write_json(self, value: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        let json = match self {
            ValueForm::Record(codec) => return (codec.export)(value, out),
            ValueForm::Text => Value::from(text(value)?),
            ValueForm::Empty if value.is_empty() => Value::Null,
            ValueForm::Empty => return Err(format!("an index entry holds {} bytes", value.len())),
            ValueForm::Counter => Value::from(u64_of(value)?),
            ValueForm::Bytes => Value::from(BASE64.encode(value)),
        };
        serde_json::to_writer(out, &json).map_err(|e| e.to_string())
    }

    /// The store bytes of a value read from a backup. `typed` checks records against the types of
    /// this build; a backup of an older schema is written as it is, for its migration to convert.
    ///
    /// # Errors
    /// What is wrong with the JSON.
    pub(crate) fn store_bytes(self, value: Value, typed: bool) -> Result<Vec<u8>, String> {
        match (self, value) {
            (ValueForm::Record(codec), v) if typed => (codec.restore)(v),
            (ValueForm::Record(_), v) => serde_json::to_vec(&v).map_err(|e| e.to_string()),
            (ValueForm::Text, Value::String(s)) => Ok(s.into_bytes()),
            (ValueForm::Empty, Value::Null) => Ok(Vec::new()),
            (ValueForm::Counter, v @ Value::Number(_)) => Ok(number(&v)?.to_be_bytes().to_vec()),
            (ValueForm::Bytes, Value::String(s)) => BASE64.decode(s).map_err(|e| e.to_string()),
            (form, v) => Err(format!("a value of form {form:?} cannot be {v}")),
        }
    }
}

fn text(bytes: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8 text: {e}"))
}

fn u64_of(bytes: &[u8]) -> Result<u64, String> {
    super::keys::decode_u64(bytes)
        .ok_or_else(|| format!("{} bytes, expected an 8-byte number", bytes.len()))
}

fn number(v: &Value) -> Result<u64, String> {
    v.as_u64()
        .ok_or_else(|| format!("{v} is not a whole number from 0 to 2^64-1"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tree_constant_is_in_the_table_once() {
        let names: Vec<&str> = TREES.iter().map(|t| t.name).collect();
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "a tree listed twice: {names:?}");
        let store = super::super::Store::open_temporary().expect("temporary store");
        assert_eq!(
            unknown_trees(&store.db),
            Vec::<String>::new(),
            "every tree the store opens is in the table"
        );
        assert_eq!(store.db.tree_names().len(), TREES.len() + 1);
    }

    #[test]
    fn keys_round_trip_through_their_json() {
        let table: [(KeyForm, &[u8], Value); 5] = [
            (
                KeyForm::Text,
                b"case\0FOI\x002026",
                Value::from("case\0FOI\x002026"),
            ),
            (KeyForm::Id, &7u64.to_be_bytes(), Value::from(7)),
            (
                KeyForm::CaseEvent,
                b"FOI-2026-0000000001\0\0\0\0\0\0\0\x03",
                serde_json::json!(["FOI-2026-0000000001", 3]),
            ),
            (KeyForm::Bytes, &[0, 255, 1], Value::from("AP8B")),
            (KeyForm::Bytes, b"", Value::from("")),
        ];
        for (form, bytes, json) in table {
            assert_eq!(form.to_json(bytes).as_ref(), Ok(&json), "{form:?}");
            assert_eq!(form.store_bytes(&json).as_deref(), Ok(bytes), "{form:?}");
        }
    }

    #[test]
    fn malformed_keys_and_values_are_errors_not_guesses() {
        assert!(KeyForm::Text.to_json(&[0xff]).is_err());
        assert!(KeyForm::Id.to_json(b"123").is_err());
        assert!(KeyForm::CaseEvent.to_json(&[0; 8]).is_err(), "no case key");
        assert!(KeyForm::Id.store_bytes(&Value::from(-1)).is_err());
        assert!(KeyForm::Id.store_bytes(&Value::from("7")).is_err());
        assert!(
            KeyForm::Bytes
                .store_bytes(&Value::from("not base64!"))
                .is_err()
        );
        assert!(
            KeyForm::CaseEvent
                .store_bytes(&serde_json::json!(["", 1]))
                .is_err()
        );
        let mut out = Vec::new();
        assert!(ValueForm::Empty.write_json(b"x", &mut out).is_err());
        assert!(ValueForm::Counter.write_json(b"x", &mut out).is_err());
        let case = spec(TREE_CASES).expect("cases").value;
        assert!(case.write_json(b"{not json", &mut out).is_err());
        assert!(case.store_bytes(serde_json::json!({"x": 1}), true).is_err());
        assert!(
            case.store_bytes(serde_json::json!({"x": 1}), false).is_ok(),
            "an older schema's record is written for its migration to read"
        );
        assert!(ValueForm::Empty.store_bytes(Value::from(0), true).is_err());
    }
}
