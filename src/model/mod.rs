//! Plain data every layer shares.

pub mod case;
pub mod kind;
pub mod message;
