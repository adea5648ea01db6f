//! tombstone-harness: finds races in tombstone recorders on a real PostgreSQL.
//!
//! A case flows through the modules in this order (see ARCHITECTURE.md):
//! - [`system`]: one application as data (`fixtures/systems/NAME/`): schema,
//!   tombstone layout, entities, operations, implementations, scenarios.
//! - [`world`]: the rows a case starts from, as small numbers with parents.
//! - [`operation`]: the actions clients take, with operation ids.
//! - [`case`]: a world plus the operations that run concurrently on it.
//! - [`implementation`]: an application's statements per operation, from a file.
//! - [`scenario`]: small named cases for the exhaustive mode.
//! - [`generate`]: proptest strategies, shrinking and the hunt (the only user
//!   of proptest).
//! - [`schedule`]: the printable list of choices "which session moves next".
//! - [`chooser`]: picks among runnable sessions (serial, scripted, preference,
//!   exhaustive, with or without reduction).
//! - [`reach`]: a statement's rows in one case (its row-level footprint):
//!   which statements commute, for the reduced exploration.
//! - [`db`]: PostgreSQL servers, databases, sessions, the blocked probe,
//!   seeding and the raw snapshot.
//! - [`engine`]: runs a case under a chooser and records a [`history`]; runs
//!   the reference implementation's serial orders.
//! - [`history`]: what happened: statements and replies, outcomes, the final
//!   tables and tombstones.
//! - [`tombstone`]: the final tables named by the case's rows.
//! - [`oracle`]: each invariant stated once; a verdict names rows,
//!   operations and the steps it blames.
//! - [`judge`]: oracles plus the serial runs they need.
//! - [`explore`]: every schedule of a small case, as an outcome table.
//! - [`stress`]: the nightly loop: workers, shards, the tally, examples.
//! - [`counterexample`]: the saved file and the story a person reads.
//! - [`report`]: JSON and JUnit reports, merging shards.
//! - [`preflight`]: every operation alone before any concurrent run; a
//!   statement that cannot run even alone is the file's mistake.
//! - [`table`]: the sequential outcome table of `make run`, text tables.
//! - [`timeline`]: one run drawn as an SVG swimlane picture, for people.
//! - [`harness`]: the library API for a user's own `cargo test`.
//! - [`mutate`]: mutants of an implementation (one plausible mistake each),
//!   to ask whether the hunt notices.
//! - [`text`]: quoting user values so every error stays one line.
//! - `loom_model` (feature `loom-model`): the loom model of the locking
//!   protocol.

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
pub mod mutate;
pub mod operation;
pub mod oracle;
pub mod preflight;
pub mod reach;
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
