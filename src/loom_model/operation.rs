//! The operations the model runs, their shapes, and the steps each shape sends.
//!
//! Names follow the engine and the implementation files: a single delete is `sign-out` (the same
//! two statements end `delete-session` and `revoke-invitation`), a bulk delete is
//! `change-password-admin` (every token of the user), and each step's name is the one the
//! implementation files give that statement.
//!
//! Knows nothing of locks, threads or loom: an operation here is a plain value.

use std::fmt;

use super::row::RowKey;

/// The id of an operation, as in the engine: each tombstone carries the id of its writer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OperationId(pub u16);

impl fmt::Display for OperationId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "op{}", self.0)
    }
}

/// How an implementation turns "record, then delete" into statements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Shape {
    /// Stack Auth's `dev` paths: the record and the delete are two statements, each its own
    /// transaction, so the row lock is released between them.
    Autocommit,
    /// The `atomic` implementation: one statement deletes the row and records it under one hold
    /// of the row lock (`WITH d AS (DELETE … RETURNING …) INSERT …`).
    Atomic,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OperationKind {
    /// `sign-out`: record one token, then delete it. In the autocommit shape the record step asserted
    /// exactly one row before Stack Auth's #1466 (0 rows was an HTTP 500).
    SingleDelete { row: RowKey },
    /// `change-password-admin`: record all of the user's tokens, then delete them. Never checks a
    /// count.
    BulkDelete,
}

/// A statement an operation sends. Which ones, and in what order, depends on the shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    /// `INSERT INTO <tombstones> … SELECT … FOR UPDATE`: lock, re-check, append a tombstone.
    Record,
    /// `DELETE`: lock, re-check, remove.
    Delete,
    /// The atomic statement: lock, re-check, remove and append a tombstone under the same lock.
    DeleteAndRecord,
}

impl Step {
    pub fn records(self) -> bool {
        matches!(self, Step::Record | Step::DeleteAndRecord)
    }

    pub fn deletes(self) -> bool {
        matches!(self, Step::Delete | Step::DeleteAndRecord)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Operation {
    pub id: OperationId,
    pub kind: OperationKind,
    pub shape: Shape,
}

impl Operation {
    pub fn single_delete(id: u16, row: &'static str, shape: Shape) -> Operation {
        Operation {
            id: OperationId(id),
            kind: OperationKind::SingleDelete { row: RowKey(row) },
            shape,
        }
    }

    pub fn bulk_delete(id: u16, shape: Shape) -> Operation {
        Operation {
            id: OperationId(id),
            kind: OperationKind::BulkDelete,
            shape,
        }
    }

    /// The steps this operation sends, in order.
    pub fn steps(&self) -> &'static [Step] {
        match self.shape {
            Shape::Autocommit => &[Step::Record, Step::Delete],
            Shape::Atomic => &[Step::DeleteAndRecord],
        }
    }

    /// Whether a statement of this operation selects `key` (the model has one user, who owns
    /// every row, so a bulk delete selects them all).
    pub fn targets(&self, key: RowKey) -> bool {
        match self.kind {
            OperationKind::SingleDelete { row } => row == key,
            OperationKind::BulkDelete => true,
        }
    }

    /// The row whose record step asserted "exactly one row inserted" before #1466, if any: only
    /// the single delete's separate record step. The atomic statement finding its row gone is an
    /// ordinary "not found", and a bulk record never checks its count.
    pub fn asserted_record_row(&self) -> Option<RowKey> {
        match (self.kind, self.shape) {
            (OperationKind::SingleDelete { row }, Shape::Autocommit) => Some(row),
            _ => None,
        }
    }

    /// The step's name in the implementation files, e.g. `record token`.
    pub fn step_name(&self, step: Step) -> &'static str {
        match (self.kind, step) {
            (OperationKind::SingleDelete { .. }, Step::Record) => SINGLE_RECORD_STEP_NAME,
            (OperationKind::SingleDelete { .. }, Step::Delete) => "delete token",
            (OperationKind::SingleDelete { .. }, Step::DeleteAndRecord) => {
                "delete and record token"
            }
            (OperationKind::BulkDelete, Step::Record) => "record all tokens",
            (OperationKind::BulkDelete, Step::Delete) => "delete all tokens",
            (OperationKind::BulkDelete, Step::DeleteAndRecord) => "delete and record all tokens",
        }
    }
}

/// The name of the step that asserted "exactly one row" before #1466.
pub const SINGLE_RECORD_STEP_NAME: &str = "record token";

impl fmt::Display for Operation {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shape = match self.shape {
            Shape::Autocommit => "autocommit",
            Shape::Atomic => "atomic",
        };
        match self.kind {
            OperationKind::SingleDelete { row } => {
                write!(formatter, "{} sign-out of {row} ({shape})", self.id)
            }
            OperationKind::BulkDelete => {
                write!(formatter, "{} change-password-admin ({shape})", self.id)
            }
        }
    }
}
