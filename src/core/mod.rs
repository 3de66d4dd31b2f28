//! The pure core: functions over plain data, with no clock, no id source and no I/O. Callers pass
//! `now`, ids and the facts they read; the core returns decisions.
//!
//! - Reading a message: [`parse`] (+ [`extract`] for attached letters), [`dedupe`] (one
//!   message however many times and ways it was delivered), [`quote`] (what the
//!   sender wrote), [`language`] (Welsh, English or both), [`text`] (bounds on untrusted
//!   text).
//! - Who sent it: [`auth`] (the trusted gateway's `Authentication-Results`, never a sender's).
//! - Deciding what it is: [`rules`] (officer rule files → explained kind), [`followup`] (does it
//!   continue a case?), [`intake`] (web forms, staff forwards, internal housekeeping),
//!   [`review`] (internal-review requests), [`validate`] (FOI/EIR/SAR validity), [`deadline`]
//!   (the statutory clock, by regime), [`london`] (wall-clock dates), [`triage`] (all of it for
//!   one message).
//! - Working the case: [`routing`], [`repeat`], [`actions`] (staff actions and email commands),
//!   [`chase`], [`digest`], [`corrections`] (an officer's re-classification as a rules test).
//! - [`plan`]: the planners: facts + `now` + ids → a store change and the letters to send.

pub mod actions;
pub mod auth;
pub mod chase;
pub mod corrections;
pub mod deadline;
pub mod dedupe;
pub mod digest;
pub mod extract;
pub mod followup;
pub mod intake;
pub mod language;
pub mod london;
pub mod parse;
pub mod plan;
pub mod quote;
pub mod repeat;
pub mod review;
pub mod routing;
pub mod rules;
pub mod text;
pub mod triage;
pub mod validate;
