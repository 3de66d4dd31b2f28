//! foi-triage: the front door of a UK information-rights team.
//!
//! # Layers
//!
//! ```text
//! model ← config ← core ← letters ← io ← app ← cli        (main.rs calls cli::run)
//! ```
//!
//! Each layer imports only from itself and the layers to its left; `tests/architecture.rs` fails
//! the build on a back import or an import circle.
//!
//! - [`model`]: plain data every layer shares (kinds, messages, cases and their audit, the legal
//!   frame of the clock, store changes, letter payloads).
//! - [`config`]: the configuration file, every subsystem's settings, the one TOML reader the
//!   config, rule and routing files share, and the default rules and templates built into the
//!   binary (`config::builtin`, used when no directory is named).
//! - [`core`]: pure functions, no clock, no ids, no I/O: parsing, rules, validity, the deadline
//!   engine, routing, staff actions, and the planners.
//! - [`letters`]: the one registry of officer-editable templates, for every email sent.
//! - [`io`]: the edges: the sled store (and its backups, restore and verification), IMAP and
//!   SMTP, the outbox worker, clock and ids.
//! - [`app`]: the owner tasks: read facts, call a planner, apply its change, wake.
//! - [`cli`]: the command line.
//!
//! # Arrival: a message becomes a case and letters
//!
//! ```text
//!  IMAP (folder names mapped onto the server's NAMESPACE; sizes first, batches bounded by
//!   bytes, a failing batch fetched one by one; a message that cannot be fetched or filed is
//!   tried later by core::plan::stuck, then quarantined or listed for people)
//!   ──app::ingest──▶ raw bytes ──(core::plan::poison: died twice? quarantine, move on)
//!                        │
//!                        └──core::triage──(parse → auth → rules::classify, language →──▶ Outcome
//!                                          followup → validate → deadline)                  │
//!   facts from io::store (the case it continues, mail sent to the sender lately) ──▶     │
//!                                                                                        ▼
//!                    core::plan::ingest::plan(outcome, facts, now, letter id) ─▶ Change + AckJob
//!                        │ a staff reply to a signed address: core::plan::command instead
//!                        │ (refused: audited, the assignee told, then planned as above);
//!                        │ `#open` to a machine-mail address: core::plan::machine::by_mail,
//!                        │ then plan_opened (the same new-case path, clock from the original receipt)
//!                        ▼
//!  io::store::apply (one transaction: case, audit, outbox row, cursor; for mail filed without
//!                    a case its seen records and machine-mail record with the raw bytes)
//!                        │ ─▶ file the message
//!                        │ new case: core::plan::assign ─▶ Change + assignment Letter
//!                        ▼
//!  io::outbox worker ──letters::Letters renders──▶ `sending` flushed ─▶ SMTP ─▶ result flushed
//!                        (retries with backoff; at least once, at most twice; a failed store
//!                        write stops the daemon; failed rows go to the manager digest)
//! ```
//!
//! # Clock tick: chasers, digests, the machine-mail list, routing repairs
//!
//! ```text
//!  app::scheduler wakes when the next thing is due (at most 15 minutes apart)
//!    └─ facts: open cases, chaser, digest and machine-mail marks, machine mail not yet listed
//!         ──▶ core::plan::tick::plan_tick(facts, now, ids)
//!         ├─ route cases a crash left unrouted (core::plan::assign)
//!         ├─ chasers due in the sending window (core::chase), manager copied when overdue
//!         ├─ team digests due (core::digest)
//!         └─ the day's machine-mail list (core::plan::machine): in the owning team's digest,
//!            else a mail of its own; nothing on an empty day
//!    └─ always, with or without a workflow: machine mail past [machine_mail] keep_days deleted
//!    └─ each unit: letters rendered (letters::Letters) into outbox rows, applied with its mark in
//!       one transaction, so a restart never sends it twice ──▶ io::outbox ──▶ SMTP
//! ```
//!
//! Time and ids come from one [`app::env::Env`] (system clock and random ids in production, a
//! manual clock and sequential ids in tests); nothing below `app` reads the clock.
//!
//! # Invariants
//! - Parsing never panics and never fails: a message we cannot read still yields a `Message` with
//!   warnings.
//! - Attached documents from outside (PDF, DOCX, ODT, RTF) are decoded only in a child process
//!   with memory, CPU and wall-clock limits (`io::sandbox`); a crash or a limit there is a
//!   warning on the message.
//! - A due date is derived from events, never edited by hand, and can always be explained.
//! - The audit trail is append-only.
//! - Nothing is silently dropped: live, a message filed without a case leaves a machine-mail
//!   record (with its raw bytes, for a bounded time) that is listed once for a person and can be
//!   opened as a case.
//! - A change and the mail it queues are written in one transaction; mail is sent only from the
//!   outbox, afterwards.
//! - An officer's re-classification is recorded on the case in the same change; the private test
//!   sample it keeps beside the store (`DATA_DIR/corrections/`, replayed by `rules test
//!   --corrections`) is written only after the commit, and the daemon brings that directory in
//!   line with the store at every start (`app::corrections`).

pub mod app;
pub mod cli;
pub mod config;
pub mod core;
pub mod io;
pub mod letters;
pub mod model;
