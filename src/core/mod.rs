//! The pure core.

pub mod actions;
pub mod chase;
pub mod deadline;
pub mod digest;
pub mod extract;
pub mod followup;
pub mod london;
pub mod parse;
pub mod plan;
pub mod quote;
pub mod repeat;
pub mod routing;
pub mod rules;
pub mod text;
pub mod triage;
pub mod validate;
