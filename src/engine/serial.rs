//! Serial runs of a system's reference implementation: the operations of a
//! case one after the other in a given order, on the same database, for the
//! sequentially-explained oracle. Kept per case and order, so exploring
//! every schedule of one case pays for each order once, and a clean run
//! usually pays for one (the order the operations finished in).
//!
//! One operation at a time cannot wait on another of ours, so a serial run
//! needs no choices and no settling: each operation's statements go back to
//! back on its own session, as in a free run, and the next operation starts
//! when it has finished.

use super::free::{Log, run_session};
use super::{Engine, EngineError};
use crate::case::Case;
use crate::db::DbError;
use crate::history::OperationResult;
use crate::implementation::Implementation;
use crate::reach::{Physics, Reach};
use crate::schedule::SessionId;
use crate::world::RowKey;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// Kept serial runs past this many are forgotten (a stress run sees new
/// cases all the time).
const KEPT_MAX: usize = 20_000;

/// One serial run: its results (by operation index) and final live rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SerialOutcome {
    pub results: Vec<OperationResult>,
    pub live: BTreeSet<RowKey>,
    /// A statement was refused for a duplicate key (23505): a unique index
    /// decided between rows that no footprint names, so two orders of the
    /// case are no longer taken as equivalent by their footprints.
    pub met_unique_key: bool,
}

#[derive(Default)]
pub(super) struct SerialRuns {
    /// The reference implementation of the last system seen.
    reference: Option<Arc<Implementation>>,
    runs: HashMap<(String, Vec<usize>), SerialOutcome>,
    /// Which operations conflict, per case.
    conflicts: HashMap<String, Option<Vec<Vec<bool>>>>,
    /// Whether the schema of the last system seen has triggers or rules of
    /// its own: asked once per engine, as a stress run judges thousands of
    /// cases on one database.
    side_effects: Option<(String, bool)>,
    /// Serial runs made on the database (not found kept).
    made: u64,
}

impl Engine {
    /// The results and final live rows of running `case`'s operations
    /// serially in `order` (operation indexes) with the system's reference
    /// implementation.
    pub async fn run_serial(
        &mut self,
        case: &Case,
        order: &[usize],
    ) -> Result<SerialOutcome, EngineError> {
        let key = (case_key(case), order.to_vec());
        if let Some(found) = self.serial.runs.get(&key) {
            return Ok(found.clone());
        }
        let reference = self.reference(case)?;
        let found = self.run_in_order(case, &reference, order).await?;
        self.serial.made += 1;
        if self.serial.runs.len() >= KEPT_MAX {
            self.serial.runs.clear();
            self.serial.conflicts.clear();
        }
        self.serial.runs.insert(key, found.clone());
        Ok(found)
    }

    /// How many serial runs this engine has made on the database so far.
    pub fn serial_runs_made(&self) -> u64 {
        self.serial.made
    }

    async fn run_in_order(
        &mut self,
        case: &Case,
        reference: &Implementation,
        order: &[usize],
    ) -> Result<SerialOutcome, EngineError> {
        let mut programs: Vec<_> = self
            .programs(case, reference)?
            .into_iter()
            .map(Some)
            .collect();
        self.ensure_sessions(programs.len(), None).await?;
        self.generation += 1;
        self.control.seed(case).await?;
        let log = Log::new();
        let mut results = vec![None; programs.len()];
        for &index in order {
            if self.stopped() {
                return Err(EngineError::Interrupted);
            }
            let program = programs[index]
                .take()
                .expect("harness bug: a serial order names an operation twice");
            let session = self.session(index);
            let result = run_session(session, SessionId::from_index(index), program, &log).await;
            if let OperationResult::Indeterminate(why) = &result {
                // Nothing of ours can hold it up: the server went away, or a
                // lock held outside the harness outlasted the statement
                // timeout. Either way no verdict can rest on this run.
                self.sessions[index] = None;
                let context = format!(
                    "a serial run of the reference implementation, {}",
                    case.operations[index].id
                );
                return Err(if why.starts_with("connection lost") {
                    DbError::Connection(format!("{context}: {why}"))
                } else {
                    DbError::Query {
                        context,
                        message: why.clone(),
                    }
                }
                .into());
            }
            results[index] = Some(result);
        }
        let results = results
            .into_iter()
            .map(|r| r.expect("harness bug: a serial order leaves an operation out"))
            .collect();
        let live = self.snapshot(case).await?.live;
        Ok(SerialOutcome {
            results,
            live,
            met_unique_key: log.met_unique_key(),
        })
    }

    /// Which operations of `case` may give a different result when run in
    /// the other order, by what the reference implementation's statements
    /// reach (`conflicts[a][b]`); `None` where the schema's own triggers or
    /// rules may write rows no statement names (asked of the database once
    /// per engine: a trigger added behind a running stress counts from its
    /// next start). Two serial orders that only swap operations that do not
    /// conflict give the same results and rows.
    pub async fn reference_conflicts(
        &mut self,
        case: &Case,
    ) -> Result<Option<Vec<Vec<bool>>>, EngineError> {
        let key = case_key(case);
        if let Some(known) = self.serial.conflicts.get(&key) {
            return Ok(known.clone());
        }
        let system = &case.system.name;
        let side_effects = match &self.serial.side_effects {
            Some((name, any)) if name == system => *any,
            _ => {
                let any = !self.side_effects().await?.is_empty();
                self.serial.side_effects = Some((system.clone(), any));
                any
            }
        };
        let conflicts = if side_effects {
            None
        } else {
            Some(self.conflicts(case)?)
        };
        self.serial.conflicts.insert(key, conflicts.clone());
        Ok(conflicts)
    }

    fn conflicts(&mut self, case: &Case) -> Result<Vec<Vec<bool>>, EngineError> {
        let reference = self.reference(case)?;
        // One session at a time: a lock orders nothing, and the isolation
        // level changes nothing.
        let physics = Physics {
            appends_commute: false,
            locks_are_reads: true,
        };
        let mut reaches = Vec::new();
        for operation in &case.operations {
            let Some(script) = reference.script(&operation.action.kind) else {
                return Err(EngineError::MissingOperation {
                    implementation: reference.name.clone(),
                    operation: operation.action.kind.clone(),
                });
            };
            let steps = script.steps.iter().map(|s| s.touches.as_slice());
            let mut whole = Reach::default();
            for reach in Reach::of_steps(case, &operation.action, steps, physics) {
                whole.add(&reach);
            }
            reaches.push(whole);
        }
        Ok(reaches
            .iter()
            .enumerate()
            .map(|(a, mine)| {
                reaches
                    .iter()
                    .enumerate()
                    .map(|(b, theirs)| a != b && mine.conflicts(theirs))
                    .collect()
            })
            .collect())
    }

    fn reference(&mut self, case: &Case) -> Result<Arc<Implementation>, EngineError> {
        let system = &case.system;
        let fits = |i: &Implementation| i.system == system.name && i.name == system.reference;
        if let Some(reference) = self.serial.reference.as_ref().filter(|i| fits(i)) {
            return Ok(reference.clone());
        }
        let reference = Implementation::load(system, &system.reference)
            .map(Arc::new)
            .map_err(|e| EngineError::Reference {
                system: system.name.clone(),
                message: e.to_string(),
            })?;
        self.serial.reference = Some(reference.clone());
        Ok(reference)
    }
}

/// A case, as the kept runs know it.
fn case_key(case: &Case) -> String {
    format!("{}|{}", case.system.name, case.to_json())
}
