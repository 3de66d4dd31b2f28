//! Letters.

pub mod compose;
pub mod staff;
