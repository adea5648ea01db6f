//! Evidence for explanations: which completed steps of an operation wrote,
//! deleted or failed, found in the history's events and worded for a
//! sentence ("op2 'record all tokens' (choice 3)").
//!
//! Owns: reading steps back out of a history by what their SQL did (each
//! step's footprint: the tables it names, deletes from and whether it
//! inserts tombstones), never by the words in their names. Must not know:
//! what any invariant demands.

use crate::db::StepReply;
use crate::history::{History, Statement};
use crate::implementation::Footprint;
use crate::operation::OperationId;
use crate::schedule::SessionId;
use crate::system::System;
use crate::world::RowKey;
use std::fmt;

/// What a blamed step did to a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    Record,
    Delete,
}

/// One completed statement of an operation, with the choice that sent it.
#[derive(Clone, Copy, Debug)]
pub struct StepEvidence<'h> {
    /// Its completion's index in the history's events.
    pub event: usize,
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

    /// What the step's SQL does, or `None` for BEGIN, COMMIT and ROLLBACK.
    pub fn footprint(&self) -> Option<Footprint> {
        match self.statement {
            Statement::Step { footprint, .. } => Some(*footprint),
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
            StepReply::Rows(rows) if self.footprint().is_some_and(|f| f.records) => {
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
    let session = session_of(operation);
    history
        .events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.session == session)
        .filter_map(|(event, e)| match &e.kind {
            crate::history::EventKind::Completed { statement, reply } => Some(StepEvidence {
                event,
                choice: e.choice,
                statement,
                reply,
            }),
            _ => None,
        })
        .collect()
}

/// Each step blamed, with why in a few words: what a verdict carries for
/// the timeline's marks.
pub fn blame(steps: &[StepEvidence<'_>], caption: &str) -> Vec<super::Blame> {
    steps
        .iter()
        .map(|s| super::Blame {
            event: s.event,
            caption: caption.to_string(),
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

/// The blame rule, stated once for the oracles and the timeline: among
/// `steps` (each with its footprint and rows affected), those that affected
/// rows and whose SQL does `verb` to `row`'s entity (records a tombstone;
/// deletes from its table or, through a cascade, a parent's), narrowed to
/// those whose SQL names the row's table itself when any do (delete-user has
/// several recording steps; only the one reading tokens wrote a token's
/// tombstone). A cascade deletes a row under another table's name, hence the
/// fallback to every acting step.
pub fn blamed<T: Clone>(
    system: &System,
    steps: &[(T, Option<Footprint>, u64)],
    verb: Verb,
    row: &RowKey,
) -> Vec<T> {
    let does = |f: &Footprint| match verb {
        Verb::Record => f.records,
        Verb::Delete => f.deletes_rows_of(system, row.entity),
    };
    let acting: Vec<&(T, Option<Footprint>, u64)> = steps
        .iter()
        .filter(|(_, footprint, rows)| *rows > 0 && footprint.as_ref().is_some_and(does))
        .collect();
    let naming: Vec<T> = acting
        .iter()
        .filter(|(_, footprint, _)| footprint.is_some_and(|f| f.names(row.entity)))
        .map(|(t, _, _)| t.clone())
        .collect();
    if naming.is_empty() {
        acting.iter().map(|(t, _, _)| t.clone()).collect()
    } else {
        naming
    }
}

/// The steps of `operation` that `blamed` picks for `verb` and `row`.
pub fn steps_that<'h>(
    system: &System,
    history: &'h History,
    operation: OperationId,
    verb: Verb,
    row: &RowKey,
) -> Vec<StepEvidence<'h>> {
    let steps: Vec<(StepEvidence<'h>, Option<Footprint>, u64)> = kept(history, operation)
        .into_iter()
        .map(|step| (step, step.footprint(), step.rows()))
        .collect();
    blamed(system, &steps, verb, row)
}

/// The completed statements of `operation` whose effects stayed: a
/// transaction that ended in ROLLBACK (a rule that stopped the operation,
/// an error, a retried attempt) undid every step since its BEGIN, so none
/// of them deleted or recorded anything.
pub fn kept(history: &History, operation: OperationId) -> Vec<StepEvidence<'_>> {
    let mut kept = Vec::new();
    let mut open: Vec<StepEvidence<'_>> = Vec::new();
    let mut in_transaction = false;
    for step in completed(history, operation) {
        match step.statement {
            Statement::Begin(_) => in_transaction = true,
            // A COMMIT the server refused (a serialization failure) rolled back.
            Statement::Commit if matches!(step.reply, StepReply::Error { .. }) => {
                open.clear();
                in_transaction = false;
            }
            Statement::Commit => {
                kept.append(&mut open);
                in_transaction = false;
            }
            Statement::Rollback => {
                open.clear();
                in_transaction = false;
            }
            Statement::Step { .. } if in_transaction => open.push(step),
            Statement::Step { .. } => kept.push(step),
        }
    }
    // A transaction still open at the end of the history committed nothing.
    kept
}

/// The steps of `operation` that recorded tombstones at all: for a
/// tombstone that names no row, the rule of [`blamed`] has no row to narrow by.
pub fn recording_steps(history: &History, operation: OperationId) -> Vec<StepEvidence<'_>> {
    kept(history, operation)
        .into_iter()
        .filter(|step| step.rows() > 0 && step.footprint().is_some_and(|f| f.records))
        .collect()
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
