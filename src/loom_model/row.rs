//! Rows of one user's table, as slots. Each slot has a row lock, which stands for PostgreSQL's
//! row lock (taken by `SELECT … FOR UPDATE` and by `DELETE`, held to the end of the transaction),
//! and a committed liveness flag, which statements read without the lock as their snapshot.
//!
//! Knows nothing of tombstones, operations or steps.

use std::collections::BTreeSet;
use std::fmt;

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::{Mutex, MutexGuard};

/// The primary key of a row: a refresh token of the model's one user. Short names (`T`, `U`) keep
/// stories readable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RowKey(pub &'static str);

impl fmt::Display for RowKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "token {}", self.0)
    }
}

struct Row {
    key: RowKey,
    lock: Mutex<()>,
    // SeqCst everywhere: the model is about PostgreSQL's visibility rules, not about the memory
    // model, so no weaker ordering may add interleavings PostgreSQL does not have.
    live: AtomicBool,
}

/// One user's rows, kept in key order: every statement locks in that order, as a single index
/// scan would, so the model has no deadlocks of its own making.
pub struct Table {
    rows: Vec<Row>,
}

impl Table {
    /// A table whose rows are all live. Panics on a duplicate key (a harness bug).
    pub fn new(keys: &[RowKey]) -> Table {
        let mut keys = keys.to_vec();
        keys.sort();
        let count = keys.len();
        keys.dedup();
        assert_eq!(count, keys.len(), "duplicate row key in the scenario");
        let rows = keys
            .into_iter()
            .map(|key| Row {
                key,
                lock: Mutex::new(()),
                live: AtomicBool::new(true),
            })
            .collect();
        Table { rows }
    }

    /// The keys among `wanted` that are live at statement start, in key order, read without
    /// locks: READ COMMITTED's statement snapshot.
    ///
    /// The rows are read one by one, not at one instant as a real snapshot is. That cannot change
    /// an outcome: rows only ever go from live to gone, and every statement re-checks each
    /// candidate under its lock, so a row read "too late" as gone would have been skipped anyway.
    pub fn snapshot(&self, wanted: impl Fn(RowKey) -> bool) -> Vec<RowKey> {
        self.rows
            .iter()
            .filter(|row| wanted(row.key) && row.live.load(Ordering::SeqCst))
            .map(|row| row.key)
            .collect()
    }

    /// Waits for the row lock of `key`, as a `FOR UPDATE` or a `DELETE` does.
    pub fn lock(&self, key: RowKey) -> RowLock<'_> {
        let row = self
            .rows
            .iter()
            .find(|row| row.key == key)
            .unwrap_or_else(|| panic!("{key} is not in the table"));
        let guard = row.lock.lock().expect("a model thread panicked");
        RowLock { row, _guard: guard }
    }

    /// The rows still live: the final snapshot an oracle reads once every operation is done.
    pub fn live_rows(&self) -> BTreeSet<RowKey> {
        self.rows
            .iter()
            .filter(|row| row.live.load(Ordering::SeqCst))
            .map(|row| row.key)
            .collect()
    }
}

/// A held row lock. Dropping it releases the lock (the end of the statement's transaction).
pub struct RowLock<'table> {
    row: &'table Row,
    _guard: MutexGuard<'table, ()>,
}

impl RowLock<'_> {
    /// READ COMMITTED's re-check after the wait (EvalPlanQual): is the latest version still live?
    pub fn is_live(&self) -> bool {
        self.row.live.load(Ordering::SeqCst)
    }

    /// Makes this statement's delete of the row visible. Only a lock holder may, and only at
    /// commit, so a snapshot never sees an uncommitted delete.
    pub fn commit_delete(&self) {
        let was_live = self.row.live.swap(false, Ordering::SeqCst);
        assert!(
            was_live,
            "{} deleted after it was gone: a step skipped its re-check",
            self.row.key
        );
    }
}
