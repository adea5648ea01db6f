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
//!
//! A stress run draws a new case every time, so runs are also shared
//! between cases, group of operations by group (`footprint`): a group whose
//! operations, order and reached rows were seen in another case's run is
//! not run again. A case all of whose groups were seen is put together
//! without the database.

use super::footprint::{self, Footprints, KeptPart, Shared};
use super::free::{Log, run_session};
use super::{Engine, EngineError};
use crate::case::Case;
use crate::db::DbError;
use crate::history::OperationResult;
use crate::implementation::Implementation;
use crate::schedule::SessionId;
use crate::world::RowKey;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// Kept serial runs past this many are forgotten: a stress run sees new
/// cases all the time, and its memory must stay flat (about 1 KB each);
/// exploring one case needs at most 720 orders.
const KEPT_MAX: usize = 2_000;

/// Parts shared between cases past this many are forgotten (a few hundred
/// bytes each).
const SHARED_MAX: usize = 10_000;

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
    runs: HashMap<(u128, Vec<usize>), SerialOutcome>,
    /// Parts of runs shared between cases, by what they depend on
    /// (`Shared::key`), with only the live rows they reach.
    shared: HashMap<u128, KeptPart>,
    /// Set by `share_serial_runs(false)`.
    sharing_refused: bool,
    /// A run wrote a row its footprints do not reach (a function the SQL
    /// calls, a statement the touch reading gets wrong): no run is shared
    /// from then on.
    footprints_contradicted: bool,
    /// Which operations conflict, per case.
    conflicts: HashMap<u128, Option<Vec<Vec<bool>>>>,
    /// Whether the schema of the last system seen has triggers or rules of
    /// its own: asked once per engine, as a stress run judges thousands of
    /// cases on one database.
    side_effects: Option<(String, bool)>,
    /// Serial runs made on the database (not found kept).
    made: u64,
    /// Serial runs put together from parts of other cases' runs.
    shared_used: u64,
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
        let parts = self.parts(case, &reference, order).await?;
        let kept: Option<Vec<&KeptPart>> = parts
            .iter()
            .flatten()
            .map(|part| self.serial.shared.get(&part.key))
            .collect();
        let found = match (&parts, kept) {
            (Some(parts), Some(kept)) => {
                self.serial.shared_used += 1;
                footprint::put_together(case, parts, &kept)
            }
            _ => {
                let found = self.run_in_order(case, &reference, order).await?;
                self.serial.made += 1;
                if let Some(parts) = parts {
                    self.share(case, parts, &found);
                }
                found
            }
        };
        if self.serial.runs.len() >= KEPT_MAX {
            self.serial.runs.clear();
            self.serial.conflicts.clear();
        }
        if self.serial.shared.len() >= SHARED_MAX {
            self.serial.shared.clear();
        }
        self.serial.runs.insert(key, found.clone());
        Ok(found)
    }

    /// What a serial run of `case` in `order` depends on, part by part;
    /// `None` where the schema's own triggers or rules may write rows no
    /// statement names, or a statement's rows are not known one by one.
    async fn parts(
        &mut self,
        case: &Case,
        reference: &Implementation,
        order: &[usize],
    ) -> Result<Option<Vec<Shared>>, EngineError> {
        let off = self.serial.sharing_refused || self.serial.footprints_contradicted;
        if off || self.schema_side_effects(case).await? {
            return Ok(None);
        }
        Ok(Footprints::of(case, reference)?.shared(case, &reference.name, order))
    }

    /// Keeps `found` for other cases, unless a unique key decided something
    /// (it may compare with rows no footprint names) or the run wrote a row
    /// its footprints miss.
    fn share(&mut self, case: &Case, parts: Vec<Shared>, found: &SerialOutcome) {
        if found.met_unique_key {
            return;
        }
        match footprint::keep(case, &parts, found) {
            Some(kept) => {
                for (part, kept) in parts.into_iter().zip(kept) {
                    self.serial.shared.insert(part.key, kept);
                }
            }
            None => self.serial.footprints_contradicted = true,
        }
    }

    /// How many serial runs this engine has made on the database so far.
    pub fn serial_runs_made(&self) -> u64 {
        self.serial.made
    }

    /// Whether serial runs may be answered by parts of other cases' runs
    /// (on by default). Off, every case and order is run on the database:
    /// what a comparison of the two needs.
    pub fn share_serial_runs(&mut self, on: bool) {
        self.serial.sharing_refused = !on;
    }

    /// How many serial runs were answered by parts of other cases' runs
    /// with the same operations and the same reached rows.
    pub fn serial_runs_shared(&self) -> u64 {
        self.serial.shared_used
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
        let conflicts = if self.schema_side_effects(case).await? {
            None
        } else {
            let reference = self.reference(case)?;
            Some(Footprints::of(case, &reference)?.conflicts())
        };
        self.serial.conflicts.insert(key, conflicts.clone());
        Ok(conflicts)
    }

    /// Whether the schema has triggers or rules of its own, which may write
    /// rows no statement names: asked of the database once per engine and
    /// system, as a stress run judges thousands of cases on one database.
    async fn schema_side_effects(&mut self, case: &Case) -> Result<bool, EngineError> {
        let system = &case.system.name;
        match &self.serial.side_effects {
            Some((name, any)) if name == system => Ok(*any),
            _ => {
                let any = !self.side_effects().await?.is_empty();
                self.serial.side_effects = Some((system.clone(), any));
                Ok(any)
            }
        }
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
fn case_key(case: &Case) -> u128 {
    footprint::fingerprint(&format!("{}|{}", case.system.name, case.to_json()))
}
