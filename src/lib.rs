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
//! - [`oracle`]: each invariant stated once; a verdict names rows, operations, steps.
//! - [`table`]: the sequential outcome table of `make run`.
//! - [`timeline`]: one run drawn as an SVG swimlane picture, for people.

pub mod case;
pub mod chooser;
pub mod counterexample;
pub mod db;
pub mod engine;
pub mod explore;
pub mod generate;
pub mod harness;
pub mod history;
pub mod implementation;
pub mod judge;
#[cfg(feature = "loom-model")]
pub mod loom_model;
pub mod operation;
pub mod oracle;
pub mod report;
pub mod scenario;
pub mod schedule;
pub mod stress;
pub mod system;
pub mod table;
pub mod text;
pub mod timeline;
pub mod tombstone;
pub mod world;
