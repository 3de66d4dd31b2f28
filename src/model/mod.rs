//! Plain data every layer shares.

pub mod case;
pub mod change;
pub mod fingerprint;
pub mod kind;
pub mod letter;
pub mod message;
pub mod records;
pub mod regime;
