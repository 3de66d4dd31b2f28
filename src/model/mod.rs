//! Plain data every layer shares.

pub mod case;
pub mod fingerprint;
pub mod kind;
pub mod message;
pub mod regime;
