//! Evidence for explanations: which completed steps of an operation wrote,
//! deleted or failed, found in the history's events and worded for a
//! sentence ("op2 'record all tokens' (choice 3)").
//!
//! Owns: reading steps back out of a history by their names. Must not know:
//! what any invariant demands. Step names come from implementation files,
//! whose convention is that a recording step's name contains "record" and a
//! deleting step's name contains "delete" ("delete and record …" is both);
//! a file that names its steps otherwise gets vaguer explanations, never a
//! different verdict.

use crate::db::StepReply;
use crate::history::{History, Statement};
use crate::operation::OperationId;
use crate::schedule::SessionId;
use crate::world::RowKey;
use std::fmt;

/// One completed statement of an operation, with the choice that sent it.
#[derive(Clone, Copy, Debug)]
pub struct StepEvidence<'h> {
    pub choice: usize,
    pub statement: &'h Statement,
    pub reply: &'h StepReply,
}

impl<'h> StepEvidence<'h> {
    /// The step's name, or `None` for BEGIN, COMMIT and ROLLBACK.
    pub fn name(&self) -> Option<&'h str> {
        match self.statement {
            Statement::Step { name, .. } => Some(name),
            _ => None,
        }
    }

    pub fn rows(&self) -> u64 {
        match self.reply {
            StepReply::Rows(rows) => *rows,
            _ => 0,
        }
    }

    /// What the reply was, as a phrase: "recorded 0 rows", "failed with 40P01 …".
    pub fn reply_text(&self) -> String {
        match self.reply {
            StepReply::Rows(rows) if self.name().is_some_and(|n| n.contains("record")) => {
                format!("recorded {rows} rows")
            }
            StepReply::Rows(rows) => format!("affected {rows} rows"),
            StepReply::Error { sqlstate, message } => format!("failed with {sqlstate} {message}"),
            StepReply::Lost(why) => format!("lost its connection ({why})"),
        }
    }
}

/// `'record token' (choice 1)`, or `COMMIT (choice 7)`.
impl fmt::Display for StepEvidence<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "'{name}' (choice {})", self.choice),
            None => write!(f, "{} (choice {})", self.statement, self.choice),
        }
    }
}

/// The session that runs `operation`: `s1` runs `op1`.
pub fn session_of(operation: OperationId) -> SessionId {
    SessionId(operation.0)
}

/// Every completed statement of `operation`, in the order they completed.
pub fn completed(history: &History, operation: OperationId) -> Vec<StepEvidence<'_>> {
    history
        .completed_steps(session_of(operation))
        .into_iter()
        .map(|(choice, statement, reply)| StepEvidence {
            choice,
            statement,
            reply,
        })
        .collect()
}

/// The statement whose reply ended `operation`: its last completed one,
/// not counting the ROLLBACK sent after the outcome was already decided.
pub fn last_step(history: &History, operation: OperationId) -> Option<StepEvidence<'_>> {
    completed(history, operation)
        .into_iter()
        .rev()
        .find(|step| *step.statement != Statement::Rollback)
}

/// The word a step name uses for `row`'s table ("record all tokens").
fn noun(row: RowKey) -> &'static str {
    match row {
        RowKey::User(_) => "user",
        RowKey::Token(_) => "token",
        RowKey::Team(_) => "team",
        RowKey::Member(..) => "member",
        RowKey::Invitation(_) => "invitation",
    }
}

/// The blame rule, stated once for the oracles and the timeline: among
/// `steps` (each with its name and rows affected), those that affected rows
/// and whose name contains `verb`, narrowed to those naming `row`'s table
/// when any do (delete-user has several recording steps; only "record
/// tokens" wrote a token's tombstone). A cascade deletes a row under another
/// table's name ("delete user" takes the memberships), hence the fallback
/// to every such step.
pub fn blamed<T: Copy>(steps: &[(T, Option<&str>, u64)], verb: &str, row: RowKey) -> Vec<T> {
    let acting: Vec<&(T, Option<&str>, u64)> = steps
        .iter()
        .filter(|(_, name, rows)| *rows > 0 && name.is_some_and(|n| n.contains(verb)))
        .collect();
    let naming: Vec<T> = acting
        .iter()
        .filter(|(_, name, _)| name.is_some_and(|n| n.contains(noun(row))))
        .map(|(t, _, _)| *t)
        .collect();
    if naming.is_empty() {
        acting.iter().map(|(t, _, _)| *t).collect()
    } else {
        naming
    }
}

/// The steps of `operation` that `blamed` picks for `verb` and `row`.
pub fn steps_that<'h>(
    history: &'h History,
    operation: OperationId,
    verb: &str,
    row: RowKey,
) -> Vec<StepEvidence<'h>> {
    let steps: Vec<(StepEvidence<'h>, Option<&str>, u64)> = completed(history, operation)
        .into_iter()
        .map(|step| (step, step.name(), step.rows()))
        .collect();
    blamed(&steps, verb, row)
}

/// `op2 'record all tokens' (choice 3)`: an operation and the steps of it
/// that could have done what is described.
pub fn operation_with_steps(operation: OperationId, steps: &[StepEvidence<'_>]) -> String {
    if steps.is_empty() {
        return format!("{operation} (no step of it reports affecting rows)");
    }
    let steps: Vec<String> = steps.iter().map(ToString::to_string).collect();
    format!("{operation} {}", steps.join(" or "))
}

/// "a", "a and b", "a, b and c".
pub fn and_list(items: &[String]) -> String {
    list(items, "and")
}

/// "a", "a or b", "a, b or c".
pub fn or_list(items: &[String]) -> String {
    list(items, "or")
}

fn list(items: &[String], conjunction: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [first @ .., last] => format!("{} {conjunction} {last}", first.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_read_as_sentences() {
        let words = |w: &[&str]| w.iter().map(ToString::to_string).collect::<Vec<_>>();
        assert_eq!(and_list(&words(&[])), "");
        assert_eq!(and_list(&words(&["a"])), "a");
        assert_eq!(and_list(&words(&["a", "b"])), "a and b");
        assert_eq!(and_list(&words(&["a", "b", "c"])), "a, b and c");
        assert_eq!(or_list(&words(&["a", "b"])), "a or b");
    }
}
