//! How one step (statement) runs against the table: the locking protocol itself.
//!
//! Every step follows READ COMMITTED with row locks: take the statement snapshot, then lock the
//! candidate rows in key order, waiting where another statement holds a lock; after the wait
//! re-check the row (a waiter that finds the row gone skips it: records and deletes nothing);
//! act on the rows still live; commit, which makes the deletes visible; release every lock.
//!
//! Knows nothing of threads, loom's exploration or findings.

use super::operation::{Operation, OperationId, Step};
use super::row::{RowKey, Table};
use super::tombstone::{Tombstone, TombstoneLog};

/// What one step did: the rows it recorded and the rows it deleted, in key order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepResult {
    pub operation: OperationId,
    pub step: Step,
    pub recorded: Vec<RowKey>,
    pub deleted: Vec<RowKey>,
}

/// Runs `step` of `operation` as one statement in its own transaction.
pub fn run_step(
    table: &Table,
    log: &TombstoneLog,
    operation: &Operation,
    step: Step,
) -> StepResult {
    let mut result = StepResult {
        operation: operation.id,
        step,
        recorded: Vec::new(),
        deleted: Vec::new(),
    };
    let candidates = table.snapshot(|key| operation.targets(key));
    let mut held = Vec::with_capacity(candidates.len());
    for key in candidates {
        let lock = table.lock(key);
        if !lock.is_live() {
            // Gone while we waited: PostgreSQL drops the row from the statement, and its lock
            // with it (there is no row left to lock).
            continue;
        }
        if step.records() {
            log.append(Tombstone {
                row: key,
                operation: operation.id,
            });
            result.recorded.push(key);
        }
        if step.deletes() {
            result.deleted.push(key);
        }
        held.push(lock);
    }
    // Commit: the deletes become visible before any lock is released, so a waiter's re-check
    // always sees them.
    if step.deletes() {
        for lock in &held {
            lock.commit_delete();
        }
    }
    drop(held);
    result
}

/// Runs every step of `operation` in order, each as its own statement.
pub fn run_operation(table: &Table, log: &TombstoneLog, operation: &Operation) -> Vec<StepResult> {
    operation
        .steps()
        .iter()
        .map(|&step| run_step(table, log, operation, step))
        .collect()
}
