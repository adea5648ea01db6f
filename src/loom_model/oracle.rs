//! The history of one interleaving, and the findings it shows.
//!
//! The invariant (from the Stack Auth facts): every deleted row has exactly one tombstone, every
//! live row none. Plus the #1466 500: a single delete's asserting record step found no row.
//! Each finding names its rows and operations; none is a bare bool.
//!
//! Knows nothing of loom, locks or threads: a history is plain data.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::operation::{Operation, OperationId, SINGLE_RECORD_STEP_NAME, Step};
use super::row::RowKey;
use super::statement::StepResult;
use super::tombstone::Tombstone;

/// What one interleaving did: each step's result, the tombstone log, and the final snapshot.
#[derive(Clone, Debug)]
pub struct History {
    pub rows: Vec<RowKey>,
    /// Grouped by operation, each operation's steps in the order it sent them.
    pub step_results: Vec<StepResult>,
    /// In append order.
    pub tombstones: Vec<Tombstone>,
    pub live_rows: BTreeSet<RowKey>,
}

/// A broken invariant in one interleaving. Variants are in the order of the engine's anomaly
/// letters (A to D), which is also the order findings sort in.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Finding {
    /// A: a single delete's record step inserted 0 rows, the assertion that was an HTTP 500
    /// before #1466 (after it, the sign-out returns 401).
    SingleRecordFoundNoRow { operation: OperationId, row: RowKey },
    /// B: a deleted row with more than one tombstone; `operations` are the writers, one per
    /// tombstone.
    DuplicateTombstone {
        row: RowKey,
        operations: Vec<OperationId>,
    },
    /// C: a deleted row that no tombstone stands for: a ghost row in the customer's database.
    MissingTombstone { row: RowKey },
    /// D: a live row with tombstones: the sync deletes the customer's copy of a live row.
    TombstoneForLiveRow {
        row: RowKey,
        operations: Vec<OperationId>,
    },
}

// The letters and titles are the engine oracle's anomalies (see stack-auth-facts.md), so a story
// from the model reads like one from a PostgreSQL run.
impl fmt::Display for Finding {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::SingleRecordFoundNoRow { operation, row } => write!(
                formatter,
                "A (0 rows recorded → 500, #1466): {operation}'s step \"{SINGLE_RECORD_STEP_NAME}\" \
                 recorded 0 rows for {row}"
            ),
            Finding::DuplicateTombstone { row, operations } => write!(
                formatter,
                "B (duplicate tombstone): {row} has {} tombstones, written by {}",
                operations.len(),
                and_list(operations)
            ),
            Finding::MissingTombstone { row } => {
                write!(
                    formatter,
                    "C (missing tombstone): {row} was deleted with no tombstone"
                )
            }
            Finding::TombstoneForLiveRow { row, operations } => write!(
                formatter,
                "D (tombstone for a live row): {row} is live but has tombstones written by {}",
                and_list(operations)
            ),
        }
    }
}

fn and_list(operations: &[OperationId]) -> String {
    let names: Vec<String> = operations.iter().map(OperationId::to_string).collect();
    names.join(" and ")
}

/// Every finding `history` shows, sorted.
pub fn findings(operations: &[Operation], history: &History) -> Vec<Finding> {
    let mut writers: BTreeMap<RowKey, Vec<OperationId>> = BTreeMap::new();
    for tombstone in &history.tombstones {
        writers
            .entry(tombstone.row)
            .or_default()
            .push(tombstone.operation);
    }
    let mut found = Vec::new();
    for &row in &history.rows {
        let mut operations = writers.remove(&row).unwrap_or_default();
        operations.sort();
        let live = history.live_rows.contains(&row);
        match (live, operations.len()) {
            (false, 0) => found.push(Finding::MissingTombstone { row }),
            (false, 1) | (true, 0) => {}
            (false, _) => found.push(Finding::DuplicateTombstone { row, operations }),
            (true, _) => found.push(Finding::TombstoneForLiveRow { row, operations }),
        }
    }
    assert!(
        writers.is_empty(),
        "tombstones for rows the table never had: {writers:?}"
    );
    for operation in operations {
        let Some(row) = operation.asserted_record_row() else {
            continue;
        };
        let recorded_nothing = history.step_results.iter().any(|result| {
            result.operation == operation.id
                && result.step == Step::Record
                && result.recorded.is_empty()
        });
        if recorded_nothing {
            found.push(Finding::SingleRecordFoundNoRow {
                operation: operation.id,
                row,
            });
        }
    }
    found.sort();
    found
}

/// What an interleaving ended with, independent of the order loom ran it in: the tombstones
/// (sorted) and the findings. Explorations count interleavings per outcome.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Outcome {
    pub tombstones: Vec<Tombstone>,
    pub findings: Vec<Finding>,
}

impl Outcome {
    /// The outcome of `history`. Checks the tombstone log against the steps' own results first:
    /// the same count seen from two sides, and a mismatch is a bug in the model, so it panics.
    pub fn of(operations: &[Operation], history: &History) -> Outcome {
        let mut tombstones = history.tombstones.clone();
        tombstones.sort();
        let mut claimed: Vec<Tombstone> = history
            .step_results
            .iter()
            .flat_map(|result| {
                let operation = result.operation;
                result
                    .recorded
                    .iter()
                    .map(move |&row| Tombstone { row, operation })
            })
            .collect();
        claimed.sort();
        assert_eq!(
            tombstones, claimed,
            "the tombstone log disagrees with the steps' results"
        );
        Outcome {
            tombstones,
            findings: findings(operations, history),
        }
    }

    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tombstones: Vec<String> = self.tombstones.iter().map(Tombstone::to_string).collect();
        write!(formatter, "tombstones: {}", tombstones.join(", "))?;
        if self.findings.is_empty() {
            return write!(formatter, "; no finding");
        }
        let findings: Vec<String> = self.findings.iter().map(Finding::to_string).collect();
        write!(formatter, "; findings: {}", findings.join("; "))
    }
}
