//! no-server-error: no operation ends in a 5xx. A client cannot tell an
//! internal error from a lost request, so every 5xx is a finding.
//!
//! Owns: telling #1466's 500 (anomaly A: a single-row record of the token
//! found no row and asserted) from every other 5xx (E). Must not know: the
//! model, tombstone counts, or any implementation's rules.

use super::evidence::{self, StepEvidence};
use super::{Anomaly, Invariant, Violation};
use crate::case::Case;
use crate::db::StepReply;
use crate::history::{History, OperationResult};
use crate::implementation::Outcome;
use crate::operation::{Action, Operation};
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

/// Whether a bulk delete (a password change or a user delete) is what took
/// the token away: its tombstone was written by one. A second sign-out of
/// the same token also finds no row, but that is not #1466's story (E).
fn taken_by_bulk_delete(case: &Case, history: &History, row: RowKey) -> bool {
    history
        .snapshot
        .tombstones
        .iter()
        .filter(|t| t.row == row)
        .any(|t| {
            let writer = t
                .writer
                .and_then(|w| case.operations.iter().find(|o| o.id == w));
            writer.is_some_and(|o| {
                matches!(
                    o.action,
                    Action::ChangePassword { .. }
                        | Action::ChangePasswordAdmin { .. }
                        | Action::DeleteUser { .. }
                )
            })
        })
}

fn server_error(
    case: &Case,
    history: &History,
    operation: &Operation,
    outcome: &Outcome,
) -> Violation {
    let last = evidence::last_step(history, operation.id);
    let is_a = last.is_some_and(|step| is_issue_1466(&operation.action, &step))
        && taken_by_bulk_delete(case, history, target(&operation.action));
    let anomaly = if is_a { Anomaly::A } else { Anomaly::E };
    let cause = match &last {
        Some(step) => format!("after {step} {}", step.reply_text()),
        None => "before sending any statement".to_string(),
    };
    let mut explanation = format!(
        "{} ({}) got {outcome} {cause}",
        operation.id, operation.action
    );
    if anomaly == Anomaly::A {
        let row = target(&operation.action);
        explanation.push_str(&format!(
            ": a bulk delete had already recorded and removed {row}, and the single-row record asserted (#1466)"
        ));
    }
    Violation {
        invariant: Invariant::NoServerError,
        anomaly: Some(anomaly),
        rows: vec![target(&operation.action)],
        operations: vec![operation.id],
        explanation,
    }
}

/// #1466: a sign-out or session delete whose single-row record of the token
/// found nothing (a concurrent delete got there first), and which then
/// failed the "exactly one recorded" assertion.
fn is_issue_1466(action: &Action, step: &StepEvidence<'_>) -> bool {
    let single_token_delete = matches!(
        action,
        Action::SignOut { .. } | Action::DeleteSession { .. }
    );
    let recorded_nothing = *step.reply == StepReply::Rows(0);
    single_token_delete && recorded_nothing && step.name().is_some_and(|n| n.contains("record"))
}

/// The row an action is about, which a 5xx leaves in doubt.
fn target(action: &Action) -> RowKey {
    match *action {
        Action::SignIn { token, .. }
        | Action::SignOut { token, .. }
        | Action::DeleteSession { token, .. } => RowKey::Token(token),
        Action::ChangePassword { user, .. }
        | Action::ChangePasswordAdmin { user }
        | Action::DeleteUser { user } => RowKey::User(user),
        Action::RevokeInvitation { invitation, .. } => RowKey::Invitation(invitation),
        Action::DeleteTeam { team } => RowKey::Team(team),
    }
}
