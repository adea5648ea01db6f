//! Which boxes the verdict blames: the steps that wrote the tombstones a
//! violation names, and the step after which an operation got its 5xx.
//!
//! Reads steps by name as the oracles' evidence does: a recording step's
//! name contains "record", a deleting step's "delete", narrowed to steps that
//! name the row's table when any do. A file that names its steps otherwise
//! gets fewer marks, never different footer text.

use crate::db::StepReply;
use crate::history::{EventKind, History, OperationResult, Statement};
use crate::operation::OperationId;
use crate::oracle::{Anomaly, Invariant, Verdict, Violation};
use crate::schedule::SessionId;
use crate::world::RowKey;
use std::collections::BTreeMap;

/// A completed statement: its event index, its step name (`None` for
/// BEGIN, COMMIT and ROLLBACK) and the rows it affected.
struct Completed<'h> {
    event: usize,
    name: Option<&'h str>,
    rows: u64,
    rollback: bool,
}

fn completed(history: &History, session: SessionId) -> Vec<Completed<'_>> {
    let steps = history.events.iter().enumerate();
    steps
        .filter(|(_, e)| e.session == session)
        .filter_map(|(event, e)| match &e.kind {
            EventKind::Completed { statement, reply } => Some(Completed {
                event,
                name: match statement {
                    Statement::Step { name, .. } => Some(name.as_str()),
                    _ => None,
                },
                rows: match reply {
                    StepReply::Rows(rows) => *rows,
                    _ => 0,
                },
                rollback: *statement == Statement::Rollback,
            }),
            _ => None,
        })
        .collect()
}

/// The events of `session`'s steps that the oracles' blame rule picks.
fn steps_that(history: &History, session: SessionId, verb: &str, row: RowKey) -> Vec<usize> {
    let steps: Vec<(usize, Option<&str>, u64)> = completed(history, session)
        .into_iter()
        .map(|c| (c.event, c.name, c.rows))
        .collect();
    crate::oracle::blamed(&steps, verb, row)
}

/// What a violation blames a step for, in a few words under its box.
fn caption(history: &History, violation: &Violation, op: OperationId, row: RowKey) -> String {
    match (violation.invariant, violation.anomaly) {
        (Invariant::ExactlyOneTombstone, Some(Anomaly::C)) => {
            format!("deleted {row}, no tombstone")
        }
        (Invariant::ExactlyOneTombstone, _) => format!("tombstone for {row}"),
        _ => match history.results.get(SessionId(op.0).index()) {
            Some(OperationResult::Finished(outcome)) => format!("led to {}", outcome.status),
            _ => "led to the failure".to_string(),
        },
    }
}

/// The completed events one violation blames, each with its caption.
fn blamed_by(history: &History, violation: &Violation) -> Vec<(usize, String)> {
    let session = |op: OperationId| SessionId(op.0);
    let mut events = Vec::new();
    match violation.invariant {
        Invariant::ExactlyOneTombstone if violation.anomaly == Some(Anomaly::C) => {
            // A missing tombstone has no writer: blame the deletes instead.
            for &op in &violation.operations {
                for &row in &violation.rows {
                    let text = caption(history, violation, op, row);
                    let steps = steps_that(history, session(op), "delete", row);
                    events.extend(steps.into_iter().map(|e| (e, text.clone())));
                }
            }
        }
        Invariant::ExactlyOneTombstone => {
            for &row in &violation.rows {
                let tombstones = history.snapshot.tombstones.iter();
                for op in tombstones.filter(|t| t.row == row).filter_map(|t| t.writer) {
                    let text = caption(history, violation, op, row);
                    let steps = steps_that(history, session(op), "record", row);
                    events.extend(steps.into_iter().map(|e| (e, text.clone())));
                }
            }
        }
        Invariant::NoServerError => {
            for &op in &violation.operations {
                let last = completed(history, session(op))
                    .into_iter()
                    .rev()
                    .find(|c| !c.rollback);
                let text = |row| caption(history, violation, op, row);
                let row = violation.rows.first().copied();
                events.extend(last.map(|c| (c.event, row.map_or_else(String::new, text))));
            }
        }
        // No single step is to blame for an unexplained history; the
        // footer names its rows and operations.
        Invariant::SequentiallyExplained => {}
    }
    events
}

/// The letter a marker shows: the anomaly, or `!` for a violation without one.
pub(super) fn letter(violation: &Violation) -> String {
    violation
        .anomaly
        .map_or_else(|| "!".to_string(), |a| a.to_string())
}

/// How a blamed step is marked: the letters of the violations that blame
/// it (`B`, or `AB` when two do) and why, in a few words.
#[derive(Clone, Debug, Default)]
pub(super) struct Mark {
    pub letters: String,
    pub captions: Vec<String>,
}

/// Completed event index → its mark, each letter and caption once, in
/// verdict order.
pub(super) fn blamed(history: &History, verdict: &Verdict) -> BTreeMap<usize, Mark> {
    let mut marks: BTreeMap<usize, Mark> = BTreeMap::new();
    for violation in &verdict.violations {
        let letter = letter(violation);
        for (event, caption) in blamed_by(history, violation) {
            let mark = marks.entry(event).or_default();
            if !mark.letters.contains(&letter) {
                mark.letters.push_str(&letter);
            }
            if !caption.is_empty() && !mark.captions.contains(&caption) {
                mark.captions.push(caption);
            }
        }
    }
    marks
}
