//! tombstone-harness: finds races in tombstone recorders on a real PostgreSQL.
//!
//! A case flows through the modules in this order (see ARCHITECTURE.md):
//! - [`world`]: users, tokens, teams and invitations as plain data.
//! - [`operation`]: the actions clients take, with operation ids.
//! - [`case`]: a world plus the operations that run concurrently on it.
//! - [`implementation`]: an application's statements per operation, from a file.
//! - [`schedule`]: the printable list of choices "which session moves next".
//! - [`chooser`]: picks among runnable sessions (serial, scripted, preference, exhaustive).
//! - [`db`]: PostgreSQL servers, databases, sessions, the blocked probe.
//! - [`engine`]: runs a case under a chooser and records a [`history`].
//! - [`history`]: what happened, who wrote each tombstone, the final tables.
//! - [`table`]: the sequential outcome table of `make run`.

pub mod case;
pub mod chooser;
pub mod db;
pub mod engine;
pub mod history;
pub mod implementation;
#[cfg(feature = "loom-model")]
pub mod loom_model;
pub mod operation;
pub mod schedule;
pub mod table;
pub mod world;
