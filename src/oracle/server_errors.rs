//! no-server-error: no operation ends in a 5xx. A client cannot tell an
//! internal error from a lost request, so every 5xx is a finding.
//!
//! Owns: telling a system's labelled 5xx (Stack Auth's A: a single-row
//! record found no row because another operation had recorded and deleted
//! it, and asserted) from every other one. Must not know: tombstone counts,
//! or any implementation's rules.

use super::evidence::{self, StepEvidence};
use super::{Anomaly, Blame, Invariant, Violation};
use crate::case::Case;
use crate::db::StepReply;
use crate::history::{History, OperationResult};
use crate::implementation::Outcome;
use crate::operation::{Operation, OperationId};
use crate::system::{Label, LabelRule};
use crate::world::RowKey;

/// The invariant, stated once.
pub fn no_server_error(case: &Case, history: &History) -> Vec<Violation> {
    case.operations
        .iter()
        .zip(&history.results)
        .filter_map(|(operation, result)| match result {
            OperationResult::Finished(outcome) if outcome.is_server_error() => {
                Some(server_error(case, history, operation, outcome))
            }
            _ => None,
        })
        .collect()
}

/// The operation (of one of `kinds`) that wrote `row`'s tombstone, if one did.
fn recorded_by(
    case: &Case,
    history: &History,
    row: &RowKey,
    kinds: &[String],
) -> Option<OperationId> {
    history
        .snapshot
        .tombstones
        .iter()
        .filter(|t| &t.row == row)
        .filter_map(|t| t.writer)
        .find(|w| {
            case.operations
                .iter()
                .any(|o| o.id == *w && kinds.contains(&o.action.kind))
        })
}

/// The label whose rule this 5xx fits, with the operation that took the row.
fn label_of<'s>(
    case: &'s Case,
    history: &History,
    operation: &Operation,
    last: Option<&StepEvidence<'_>>,
) -> Option<(&'s Label, RowKey, OperationId)> {
    case.system
        .labels
        .iter()
        .find_map(|label| match &label.rule {
            LabelRule::ServerErrorAtRecord {
                operations,
                row,
                recorded_by: kinds,
            } => {
                let recorded_nothing = last.is_some_and(|step| {
                    step.footprint().is_some_and(|f| f.records) && *step.reply == StepReply::Rows(0)
                });
                if !operations.contains(&operation.action.kind) || !recorded_nothing {
                    return None;
                }
                let row = operation.action.argument(&case.system, row)?.clone();
                let taker = recorded_by(case, history, &row, kinds)?;
                Some((label, row, taker))
            }
        })
}

fn server_error(
    case: &Case,
    history: &History,
    operation: &Operation,
    outcome: &Outcome,
) -> Violation {
    let last = evidence::last_step(history, operation.id);
    let labelled = label_of(case, history, operation, last.as_ref());
    let cause = match &last {
        Some(step) => format!("after {step} {}", step.reply_text()),
        None => "before sending any statement".to_string(),
    };
    let mut explanation = format!(
        "{} ({}) got {outcome} {cause}",
        operation.id, operation.action
    );
    let (anomaly, row) = match labelled {
        Some((label, row, taker)) => {
            let anomaly = Anomaly::label(label);
            explanation.push_str(&format!(
                ": {taker} had already recorded and removed {row}, and the single-row record found nothing ({})",
                anomaly.title()
            ));
            (anomaly, row)
        }
        None => (
            Anomaly::of(&case.system, "server-error"),
            target(case, operation),
        ),
    };
    let blamed = last
        .iter()
        .map(|step| Blame {
            event: step.event,
            caption: format!("led to {}", outcome.status),
        })
        .collect();
    Violation {
        invariant: Invariant::NoServerError,
        anomaly: Some(anomaly),
        rows: vec![row],
        operations: vec![operation.id],
        explanation,
        blamed,
    }
}

/// The row an operation is about (its declared target), which a 5xx
/// leaves in doubt.
fn target(case: &Case, operation: &Operation) -> RowKey {
    let spec = &case.system.operations[&operation.action.kind];
    operation.action.arguments[spec.target].clone()
}
