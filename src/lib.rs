//! foi-triage: the front door of a UK information-rights team.
//!
//! # Pipeline
//!
//! ```text
//!  raw bytes ──parse──▶ Message ──rules::classify──▶ Decision ──followup──▶ new case | follow-up
//!                                                     │
//!                                      validate (foi/eir/sar) ──▶ deadline ──▶ triage::Outcome
//! ```
//!
//! Every stage above is a pure function over plain data: no clock, no network, no disk. I/O lives at
//! the edges: `store` (sled), and in later layers IMAP, SMTP and the scheduler.
//!
//! # Modules
//! - [`kind`]: the eight kinds of mail.
//! - [`message`]: the owned, plain email every stage reads.
//! - [`parse`], [`extract`]: raw bytes → `Message`, attachment text (PDF, DOCX, ODT).
//! - [`quote`]: the text the sender wrote (no quoted history, no signature), which rules read.
//! - [`rules`]: officer-editable rule files → explainable `Decision`.
//! - [`followup`]: does a message belong to an existing case?
//! - [`validate`]: is an FOI/EIR/SAR request valid, and what is missing?
//! - [`deadline`]: the statutory clock (UK working days, bank holidays, clock stops).
//! - [`case`], [`store`]: cases, references, the audit trail, and their sled store.
//! - [`config`]: the one TOML configuration file.
//! - [`compose`]: acknowledgement templates rendered into RFC 5322 messages (pure).
//! - [`mail`]: the mail edges (IMAP mailbox, SMTP sending): the only code that talks to servers.
//! - [`outbox`]: the durable send queue worker (render, send, retry with backoff, record; at least once).
//! - [`triage`]: the whole pure pipeline for one message.
//! - [`ingest`], [`daemon`]: exactly-once mailbox ingest, and the service wiring (signals, tasks).
//! - [`clock`]: where "now" comes from (a trait, so tests can drive time).
//! - [`routing`], [`repeat`], [`chase`], [`digest`]: case workflow after acknowledgement (teams,
//!   repeat requests, chasers, manager digests), pure planning.
//! - [`actions`]: staff actions on a case (pure `apply`), email commands and signed reply addresses.
//! - [`cli`]: the command line.
//!
//! # Invariants
//! - Parsing never panics and never fails: a message we cannot read still yields a `Message` with
//!   warnings.
//! - A due date is derived from events, never edited by hand, and can always be explained.
//! - The audit trail is append-only.

pub mod app;
pub mod cli;
pub mod config;
pub mod core;
pub mod io;
pub mod letters;
pub mod model;
