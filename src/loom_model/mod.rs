//! A loom model of the tombstone recorder's locking protocol (issue 5).
//!
//! Owns: rows as slots behind per-row locks (a `FOR UPDATE` row lock), a tombstone log, the two
//! delete operations in their two shapes (autocommit and atomic), and the exploration of every
//! interleaving of their steps that loom's preemption bound allows. It uses the engine's
//! vocabulary: an *operation* sends *steps* (statements), and a *tombstone* names the row it stands
//! for and the operation that wrote it.
//!
//! Must not know: SQL, tokio, sqlx, the engine's schedules or the PostgreSQL backends. It depends
//! on loom alone, through a cargo feature (`loom-model`) rather than `--cfg loom`, because
//! `--cfg loom` breaks tokio's net module, which the database side of this crate needs.
//!
//! Modules, in flow order (each depends only on those above it):
//! - [`row`]: row keys, the table of one user's rows, row locks and statement snapshots.
//! - [`tombstone`]: the tombstone and the log they are appended to.
//! - [`operation`]: operations, their shapes and the steps each shape sends.
//! - [`statement`]: how one step runs: snapshot, lock in key order, re-check, act, commit.
//! - [`oracle`]: the history of one interleaving and the findings it shows.
//! - [`explore`]: scenarios, the env-aware loom builder, and the summary of an exploration.

pub mod explore;
pub mod operation;
pub mod oracle;
pub mod row;
pub mod statement;
pub mod tombstone;

pub use explore::{Exploration, PREEMPTIONS_MAX_DEFAULT, Scenario, builder, explore};
pub use operation::{Operation, OperationId, OperationKind, Shape, Step};
pub use oracle::{Finding, History, Outcome, findings};
pub use row::RowKey;
pub use statement::StepResult;
pub use tombstone::Tombstone;
