//! replayable-tombstone: every tombstone lets the external sync replay
//! exactly the delete it records. It names a table the system tracks and a
//! row of the world (else it is an *orphan*), carries exactly that row's key
//! (every key field, no other, same values and JSON types), the row as it
//! was when deleted where the layout stores it (column by column), and
//! every column the system declares with its declared value (a tombstone
//! the sync skips is as good as none). Anything else is a *wrong* tombstone.
//!
//! Owns: comparing what a tombstone holds with what the row was. Must not
//! know: how many tombstones a row should have (`tombstones`), SQL.

use super::evidence::{self, Verb, operation_with_steps};
use super::{Anomaly, Blame, Invariant, Violation};
use crate::case::Case;
use crate::history::{History, OrphanTombstone, TombstoneRow};
use crate::operation::OperationId;
use crate::text::quoted;
use serde_json::Value;

/// Past this many differing fields a sentence lists no more.
const DIFFERENCES_SHOWN: usize = 4;

/// The invariant, stated once.
pub fn replayable_tombstone(case: &Case, history: &History) -> Vec<Violation> {
    let wrong = history.snapshot.tombstones.iter().filter_map(|tombstone| {
        let differences = differences(case, history, tombstone);
        (!differences.is_empty()).then(|| wrong(case, history, tombstone, &differences))
    });
    let orphans = history
        .snapshot
        .orphans
        .iter()
        .map(|o| orphan(case, history, o));
    wrong.chain(orphans).collect()
}

/// Each way `tombstone` differs from what its row needs, as a phrase.
fn differences(case: &Case, history: &History, tombstone: &TombstoneRow) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(row) = case.all_rows().into_iter().find(|r| r.key == tombstone.row) {
        let expected = case.system.key_json(&row);
        found.extend(
            object_differences(&tombstone.primary_key, &expected)
                .into_iter()
                .map(|d| format!("key {d}")),
        );
    }
    if let (Some(deleted), true) = (
        history.snapshot.deleted.get(&tombstone.row),
        case.system.tombstones_store_rows(),
    ) {
        let data = tombstone.data.as_ref().unwrap_or(&Value::Null);
        found.extend(
            object_differences(data, deleted)
                .into_iter()
                .map(|d| format!("data {d}")),
        );
    }
    for (column, value) in &case.system.tombstones.required {
        let written = tombstone.required.get(column).unwrap_or(&Value::Null);
        if written != value {
            found.push(format!(
                "{} is {written}, the sync needs {value}",
                quoted(column)
            ));
        }
    }
    found
}

/// How `got` differs from `expected`, field by field: a missing field, one
/// that should not be there, a different value or JSON type.
fn object_differences(got: &Value, expected: &Value) -> Vec<String> {
    let (Value::Object(got_map), Value::Object(expected_map)) = (got, expected) else {
        return if got == expected {
            Vec::new()
        } else {
            vec![format!("is {}, not an object like {expected}", short(got))]
        };
    };
    let mut found = Vec::new();
    for (field, value) in expected_map {
        match got_map.get(field) {
            None => found.push(format!("lacks field {}", quoted(field))),
            Some(written) if written != value => found.push(format!(
                "field {} is {}, the row's is {}",
                quoted(field),
                short(written),
                short(value)
            )),
            Some(_) => {}
        }
    }
    for field in got_map.keys().filter(|f| !expected_map.contains_key(*f)) {
        found.push(format!(
            "has field {}, which the row has not",
            quoted(field)
        ));
    }
    found
}

/// A value as JSON, cut short: a whole row would drown the sentence.
fn short(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// `op2 'record token' (choice 3)` and the steps blamed, or the words for a
/// tombstone whose writer is not one of the case's sessions.
fn writer<'h>(
    writer: Option<OperationId>,
    steps_of: impl Fn(OperationId) -> Vec<evidence::StepEvidence<'h>>,
    caption: &str,
) -> (String, Vec<Blame>) {
    match writer {
        Some(op) => {
            let steps = steps_of(op);
            let blamed = evidence::blame(&steps, caption);
            (operation_with_steps(op, &steps), blamed)
        }
        None => ("a session outside the case".into(), Vec::new()),
    }
}

fn wrong(
    case: &Case,
    history: &History,
    tombstone: &TombstoneRow,
    differences: &[String],
) -> Violation {
    let row = &tombstone.row;
    let (by, blamed) = writer(
        tombstone.writer,
        |op| evidence::steps_that(&case.system, history, op, Verb::Record, row),
        &format!("wrong tombstone for {row}"),
    );
    let mut shown: Vec<String> = differences
        .iter()
        .take(DIFFERENCES_SHOWN)
        .cloned()
        .collect();
    if differences.len() > DIFFERENCES_SHOWN {
        shown.push(format!("{} more", differences.len() - DIFFERENCES_SHOWN));
    }
    Violation {
        invariant: Invariant::ReplayableTombstone,
        anomaly: Some(Anomaly::of(&case.system, "wrong")),
        rows: vec![row.clone()],
        operations: tombstone.writer.into_iter().collect(),
        explanation: format!(
            "the tombstone for {row} written by {by} cannot replay its delete: {}",
            shown.join("; ")
        ),
        blamed,
    }
}

fn orphan(case: &Case, history: &History, orphan: &OrphanTombstone) -> Violation {
    let (by, blamed) = writer(
        orphan.writer,
        |op| evidence::recording_steps(history, op),
        "orphan tombstone",
    );
    Violation {
        invariant: Invariant::ReplayableTombstone,
        anomaly: Some(Anomaly::of(&case.system, "orphan")),
        rows: Vec::new(),
        operations: orphan.writer.into_iter().collect(),
        explanation: format!(
            "a tombstone in {} written by {by} names no row the sync could delete: {} (key {})",
            quoted(&orphan.table),
            orphan.reason,
            short(&orphan.key)
        ),
        blamed,
    }
}
