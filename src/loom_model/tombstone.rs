//! The tombstone and the log tombstones are appended to (a shared tombstone table).
//!
//! Knows nothing of locks, operations' steps or findings.

use std::fmt;

use loom::sync::Mutex;

use super::operation::OperationId;
use super::row::RowKey;

/// One tombstone: the row it stands for and the operation that wrote it, so that a duplicate can
/// be attributed to the operations that made it (kvnemesis's lesson).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tombstone {
    pub row: RowKey,
    pub operation: OperationId,
}

impl fmt::Display for Tombstone {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} by {}", self.row, self.operation)
    }
}

/// The tombstone log, in append order.
///
/// The shared tombstone table has a random primary key and no unique key on the deleted row, so two inserts
/// never wait on each other; the log's lock only makes appends atomic, it never orders operations
/// in a way PostgreSQL would not.
#[derive(Default)]
pub struct TombstoneLog {
    entries: Mutex<Vec<Tombstone>>,
}

impl TombstoneLog {
    pub fn append(&self, tombstone: Tombstone) {
        self.entries
            .lock()
            .expect("a model thread panicked")
            .push(tombstone);
    }

    pub fn entries(&self) -> Vec<Tombstone> {
        self.entries
            .lock()
            .expect("a model thread panicked")
            .clone()
    }
}
