//! Plain data every layer shares: the kinds of mail, a parsed message and its language, a case
//! and its audit events, the legal frame of its clock, the store change a planner returns, the
//! letters it queues. No logic beyond constructors and invariants; no I/O.

pub mod case;
pub mod change;
pub mod fingerprint;
pub mod kind;
pub mod language;
pub mod letter;
pub mod machine;
pub mod message;
pub mod records;
pub mod regime;

/// Serde through the display form, for types marked `#[serde(try_from = "String", into =
/// "String")]`: `TryFrom<String>` by `FromStr` and `From<T> for String` by `Display`, so the
/// stored form is always exactly what people see and type.
macro_rules! string_form {
    ($t:ty) => {
        impl TryFrom<String> for $t {
            type Error = <$t as std::str::FromStr>::Err;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.to_string()
            }
        }
    };
}
pub(crate) use string_form;
