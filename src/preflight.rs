//! Mistakes in an implementation file, found before any concurrent run:
//! every operation runs alone on the system's solo world, and a statement
//! that fails there with SQLSTATE class 42 (syntax, an undefined table,
//! column or function), whatever the rules say, or with an error no rule
//! maps, is the file's mistake. Alone, nothing races, so it would otherwise
//! be reported as a race on every case (a 500) and hide what is wrong.
//!
//! Owns: what failing alone means. Must not know: printing, exit codes.

use crate::engine::{Engine, EngineError};
use crate::history::{EventKind, OperationResult, StepReply};
use crate::history::{History, Statement};
use crate::implementation::Implementation;
use crate::system::System;
use crate::table::{SoloRow, solo_actions, solo_rows, standard_world};
use crate::text::{one_line, quoted};
use std::fmt;
use std::sync::Arc;

/// One statement an operation's script cannot run even alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mistake {
    /// The implementation's label (its name, or the file it came from).
    pub implementation: String,
    pub operation: String,
    pub step: String,
    pub sqlstate: String,
    pub message: String,
}

/// One line: `FILE: operation 'sign-out', step 'record': the server answered 42P01 …`.
impl fmt::Display for Mistake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: operation {}, step {}: the server answered {} {}",
            self.implementation,
            quoted(&self.operation),
            quoted(&self.step),
            self.sqlstate,
            one_line(&self.message)
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    /// The first mistake, and how many there are in all.
    #[error("{first}{}", if *.count > 1 { format!(" (and {} more: `check` lists them)", .count - 1) } else { String::new() })]
    Mistakes { first: Box<Mistake>, count: usize },
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// The mistake a solo run shows, if it shows one.
pub fn mistake_of(implementation: &Implementation, row: &SoloRow) -> Option<Mistake> {
    failed_alone(&row.history).map(|(step, sqlstate, message)| Mistake {
        implementation: label(implementation),
        operation: row.action.kind.clone(),
        step,
        sqlstate,
        message,
    })
}

fn label(implementation: &Implementation) -> String {
    if implementation.label.is_empty() {
        implementation.name.clone()
    } else {
        implementation.label.clone()
    }
}

fn failed_alone(history: &History) -> Option<(String, String, String)> {
    let unmapped = history
        .results
        .iter()
        .any(|r| matches!(r, OperationResult::Finished(o) if o.is_unmapped()));
    history.events.iter().find_map(|event| match &event.kind {
        EventKind::Completed {
            statement: Statement::Step { name, .. },
            reply: StepReply::Error { sqlstate, message },
        } if sqlstate.starts_with("42") || unmapped => {
            Some((name.clone(), sqlstate.clone(), message.clone()))
        }
        _ => None,
    })
}

/// Runs every operation of `implementation` alone and returns the solo
/// runs with the mistakes they show.
pub async fn run_alone(
    engine: &mut Engine,
    system: &Arc<System>,
    implementation: &Implementation,
) -> Result<(Vec<SoloRow>, Vec<Mistake>), EngineError> {
    let world = standard_world(system);
    let actions: Vec<_> = solo_actions(system, &world)
        .into_iter()
        .filter(|a| implementation.script(&a.kind).is_some())
        .collect();
    let rows = solo_rows(engine, system, implementation, &world, &actions).await?;
    let mistakes = rows
        .iter()
        .filter_map(|row| mistake_of(implementation, row))
        .collect();
    Ok((rows, mistakes))
}

/// Every implementation's operations alone: `Err` with the first mistake
/// when any statement cannot run even alone.
pub async fn check(
    engine: &mut Engine,
    system: &Arc<System>,
    implementations: &[Implementation],
) -> Result<(), PreflightError> {
    let mut mistakes = Vec::new();
    for implementation in implementations {
        mistakes.extend(run_alone(engine, system, implementation).await?.1);
    }
    match mistakes.first() {
        None => Ok(()),
        Some(first) => Err(PreflightError::Mistakes {
            first: Box::new(first.clone()),
            count: mistakes.len(),
        }),
    }
}
