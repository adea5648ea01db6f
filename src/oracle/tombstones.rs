//! exactly-one-tombstone: every row deleted during the case has exactly one
//! tombstone, and every row still live has none.
//!
//! Owns: which rows existed, which were deleted, and the three ways the
//! count can be wrong (duplicate, missing, tombstone for a live row).
//! Must not know: the model (this invariant holds whatever order the
//! operations ran in) or any implementation's step names beyond what
//! [`evidence`](super::evidence) reads.

use super::evidence::{self, Verb, and_list, blame, operation_with_steps, or_list};
use super::{Anomaly, Blame, Invariant, Violation};
use crate::case::Case;
use crate::history::{History, OperationResult};
use crate::operation::OperationId;
use crate::world::RowKey;
use std::collections::{BTreeMap, BTreeSet};

/// The invariant, stated once.
pub fn exactly_one_tombstone(case: &Case, history: &History) -> Vec<Violation> {
    let writers = writers_by_row(history);
    let mut violations = Vec::new();
    for row in rows_that_existed(case, history, &writers) {
        if !case.system.entities[row.entity].tracked {
            continue;
        }
        let row_writers = writers.get(&row).map_or(&[][..], Vec::as_slice);
        let live = history.snapshot.live.contains(&row);
        match (live, row_writers.len()) {
            (true, 0) | (false, 1) => {}
            (true, _) => violations.push(live_row(case, history, row, row_writers)),
            (false, 0) => violations.push(missing(case, history, row)),
            (false, _) => violations.push(duplicate(case, history, row, row_writers)),
        }
    }
    violations
}

/// The writer of each tombstone, per row, in the order they were written.
fn writers_by_row(history: &History) -> BTreeMap<RowKey, Vec<Option<OperationId>>> {
    let mut writers: BTreeMap<RowKey, Vec<Option<OperationId>>> = BTreeMap::new();
    for tombstone in &history.snapshot.tombstones {
        writers
            .entry(tombstone.row.clone())
            .or_default()
            .push(tombstone.writer);
    }
    writers
}

/// The world's rows and the rows created by operations that succeeded; also any row
/// live at the end or named by a tombstone, since a tombstone carries its
/// row's data and so shows the row existed even where no result says so.
fn rows_that_existed(
    case: &Case,
    history: &History,
    writers: &BTreeMap<RowKey, Vec<Option<OperationId>>>,
) -> BTreeSet<RowKey> {
    let mut rows: BTreeSet<RowKey> = case.world.keys().into_iter().collect();
    rows.extend(created(case, history).into_keys());
    rows.extend(history.snapshot.live.iter().cloned());
    rows.extend(writers.keys().cloned());
    rows
}

/// The rows created by operations that got a 2xx, with the operation.
fn created(case: &Case, history: &History) -> BTreeMap<RowKey, OperationId> {
    let succeeded = |i: usize| match history.results.get(i) {
        Some(OperationResult::Finished(outcome)) => (200..300).contains(&outcome.status),
        _ => false,
    };
    case.operations
        .iter()
        .enumerate()
        .filter(|(i, _)| succeeded(*i))
        .flat_map(|(_, op)| {
            op.action
                .created_rows(&case.system)
                .into_iter()
                .map(move |row| (row.key, op.id))
        })
        .collect()
}

/// "op1 'record token' (choice 1)" for each tombstone of `row`, and the
/// recording steps blamed.
fn writer_texts(
    case: &Case,
    history: &History,
    row: &RowKey,
    writers: &[Option<OperationId>],
) -> (Vec<String>, Vec<Blame>) {
    let mut blamed = Vec::new();
    let texts = writers
        .iter()
        .map(|writer| match writer {
            Some(op) => {
                let steps = evidence::steps_that(&case.system, history, *op, Verb::Record, row);
                blamed.extend(blame(&steps, &format!("tombstone for {row}")));
                operation_with_steps(*op, &steps)
            }
            None => "a session outside the case".to_string(),
        })
        .collect();
    (texts, blamed)
}

/// The distinct operations among `writers`, in order.
fn distinct(writers: &[Option<OperationId>]) -> Vec<OperationId> {
    let set: BTreeSet<OperationId> = writers.iter().flatten().copied().collect();
    set.into_iter().collect()
}

fn duplicate(
    case: &Case,
    history: &History,
    row: RowKey,
    writers: &[Option<OperationId>],
) -> Violation {
    let (texts, blamed) = writer_texts(case, history, &row, writers);
    let explanation = format!(
        "{row} has {} tombstones: {}",
        writers.len(),
        and_list(&texts)
    );
    Violation {
        invariant: Invariant::ExactlyOneTombstone,
        anomaly: Some(Anomaly::of(&case.system, "duplicate")),
        rows: vec![row],
        operations: distinct(writers),
        explanation,
        blamed,
    }
}

fn live_row(
    case: &Case,
    history: &History,
    row: RowKey,
    writers: &[Option<OperationId>],
) -> Violation {
    let count = match writers.len() {
        1 => "a tombstone".to_string(),
        n => format!("{n} tombstones"),
    };
    let (texts, blamed) = writer_texts(case, history, &row, writers);
    let explanation = format!("{row} is still live but has {count}: {}", and_list(&texts));
    Violation {
        invariant: Invariant::ExactlyOneTombstone,
        anomaly: Some(Anomaly::of(&case.system, "live")),
        rows: vec![row],
        operations: distinct(writers),
        explanation,
        blamed,
    }
}

/// A deleted row nobody recorded. The history does not say which delete
/// removed it, so every operation with a deleting step that removed rows is
/// named (best effort, narrowed to steps naming the row's table).
fn missing(case: &Case, history: &History, row: RowKey) -> Violation {
    let mut blamed = Vec::new();
    let deleters: Vec<(OperationId, String)> = case
        .operations
        .iter()
        .filter_map(|op| {
            let steps = evidence::steps_that(&case.system, history, op.id, Verb::Delete, &row);
            blamed.extend(blame(&steps, &format!("deleted {row}, no tombstone")));
            (!steps.is_empty()).then(|| (op.id, operation_with_steps(op.id, &steps)))
        })
        .collect();
    let created = match created(case, history).get(&row) {
        Some(op) => format!(" (created by {op})"),
        None => String::new(),
    };
    let by = if deleters.is_empty() {
        "no step reports deleting it".to_string()
    } else {
        let texts: Vec<String> = deleters.iter().map(|(_, text)| text.clone()).collect();
        format!("deleted by {}", or_list(&texts))
    };
    Violation {
        invariant: Invariant::ExactlyOneTombstone,
        anomaly: Some(Anomaly::of(&case.system, "missing")),
        rows: vec![row.clone()],
        operations: deleters.into_iter().map(|(op, _)| op).collect(),
        explanation: format!("{row}{created} was deleted with no tombstone: {by}"),
        blamed,
    }
}
