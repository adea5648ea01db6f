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
//! A stress run draws a new case every time, so what each operation did
//! is also kept for other cases (`transition`): a run whose every operation
//! meets a situation seen in another case's run is put together without the
//! database.

use super::footprint::{Footprints, Scope};
use super::free::{Log, run_session};
use super::transition::{self, Learned, Parents, Situation, Transition};
use super::{Engine, EngineError};
use crate::case::Case;
use crate::db::{DbError, UniqueKey};
use crate::history::OperationResult;
use crate::implementation::Implementation;
use crate::schedule::SessionId;
use crate::world::RowKey;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

/// Kept serial runs past this many are forgotten: a stress run sees new
/// cases all the time, and its memory must stay flat (about 1 KB each);
/// exploring one case needs at most 720 orders.
const KEPT_MAX: usize = 2_000;

/// What operations did, kept for other cases, past this many are forgotten
/// (about 100 bytes each; a stress run of Stack Auth meets a few thousand
/// situations).
const TRANSITIONS_MAX: usize = 20_000;

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

/// Where the engines of one stress run keep what operations did
/// (`Engine::keep_in`), so each learns from the others.
#[derive(Clone, Default)]
pub struct KeptRuns(Arc<Mutex<Kept>>);

/// What a schema holds that no statement names, as far as footprints care.
struct Schema {
    /// Triggers or rules of its own, which may write rows no statement
    /// names.
    side_effects: bool,
    /// What a written row is compared with.
    unique_keys: Vec<UniqueKey>,
}

/// What operations did in the situations they met (`Situation::key`).
#[derive(Default)]
struct Kept {
    transitions: HashMap<u128, Transition>,
    /// A run wrote a row its footprints do not reach (a function the SQL
    /// calls, a statement the touch reading gets wrong): nothing is kept or
    /// used from then on.
    footprints_contradicted: bool,
}

#[derive(Default)]
pub(super) struct SerialRuns {
    /// The reference implementation of the last system seen.
    reference: Option<Arc<Implementation>>,
    runs: HashMap<(u128, Vec<usize>), SerialOutcome>,
    /// What operations did in the situations they met, for other cases;
    /// one for all the engines of a stress run (`keep_in`).
    kept: KeptRuns,
    /// Set by `share_serial_runs(false)`.
    sharing_refused: bool,
    /// Which operations conflict, per case.
    conflicts: HashMap<u128, Option<Vec<Vec<bool>>>>,
    /// What the last system seen's schema holds beyond its statements:
    /// asked once per engine, as a stress run judges thousands of cases on
    /// one database.
    schema: Option<(String, Arc<Schema>)>,
    /// Serial runs made on the database (not found kept).
    made: u64,
    /// Serial runs put together from what other cases' operations did.
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
        let scopes = self.scopes(case, &reference).await?;
        let sharing = scopes.map(|scopes| (scopes, transition::parents(case)));
        let put_together = sharing.as_ref().and_then(|(scopes, parents)| {
            self.put_together(case, &reference.name, order, scopes, parents)
        });
        let found = match put_together {
            Some(found) => {
                self.serial.shared_used += 1;
                found
            }
            None => {
                let found = self
                    .run_in_order(case, &reference, order, sharing.as_ref())
                    .await?;
                self.serial.made += 1;
                found
            }
        };
        if self.serial.runs.len() >= KEPT_MAX {
            self.serial.runs.clear();
            self.serial.conflicts.clear();
        }
        self.serial.runs.insert(key, found.clone());
        Ok(found)
    }

    /// Each operation's scope, for putting runs together and keeping what
    /// operations did; `None` where nothing may be shared (the schema's own
    /// triggers or rules may write rows no statement names, or a run
    /// contradicted its footprints).
    async fn scopes(
        &mut self,
        case: &Case,
        reference: &Implementation,
    ) -> Result<Option<Vec<Option<Scope>>>, EngineError> {
        let contradicted = self.kept().footprints_contradicted;
        let off = self.serial.sharing_refused || contradicted;
        let schema = self.schema(case).await?;
        if off || schema.side_effects {
            return Ok(None);
        }
        let footprints = Footprints::of(case, reference, &schema.unique_keys)?;
        Ok(Some(
            (0..case.operations.len())
                .map(|operation| footprints.scope(operation))
                .collect(),
        ))
    }

    /// The serial run of `case` in `order` from what operations did in
    /// other runs, if every operation meets a situation seen before.
    fn put_together(
        &self,
        case: &Case,
        reference: &str,
        order: &[usize],
        scopes: &[Option<Scope>],
        parents: &Parents,
    ) -> Option<SerialOutcome> {
        let kept = self.kept();
        let mut live: BTreeSet<RowKey> = case.world.keys().into_iter().collect();
        let mut results = vec![None; case.operations.len()];
        for &index in order {
            let scope = scopes[index].as_ref()?;
            let situation = Situation::of(case, reference, index, scope, &live, parents);
            let transition = kept.transitions.get(&situation.key)?;
            results[index] = Some(situation.apply(case, transition, &mut live));
        }
        Some(SerialOutcome {
            results: results.into_iter().collect::<Option<_>>()?,
            live,
            met_unique_key: false,
        })
    }

    /// Keeps what a run's operations did for other cases, unless a unique
    /// key decided something (it may compare with rows no footprint names);
    /// a run that changed a row outside an operation's scope stops all
    /// keeping.
    fn keep(&mut self, learned: Vec<(u128, Learned)>, met_unique_key: bool) {
        let mut kept = self.kept();
        if learned
            .iter()
            .any(|(_, l)| matches!(l, Learned::Contradicts))
        {
            kept.footprints_contradicted = true;
            kept.transitions.clear();
            return;
        }
        if met_unique_key {
            return;
        }
        if kept.transitions.len() >= TRANSITIONS_MAX {
            kept.transitions.clear();
        }
        for (key, learned) in learned {
            if let Learned::Kept(transition) = learned {
                kept.transitions.insert(key, transition);
            }
        }
    }

    fn kept(&self) -> MutexGuard<'_, Kept> {
        self.serial.kept.0.lock().expect("no panics while keeping")
    }

    /// Where this engine keeps what operations did.
    pub fn kept_runs(&self) -> KeptRuns {
        self.serial.kept.clone()
    }

    /// This engine keeps what operations did in `place`, with every other
    /// engine kept there, and uses what they kept: the engines of one
    /// stress run, each on its own database of the same system, then learn
    /// from one another.
    pub fn keep_in(&mut self, place: &KeptRuns) {
        self.serial.kept = place.clone();
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

    /// Runs `case`'s operations in `order` on the database. `learning`:
    /// each operation's scope, to read the live rows after every operation
    /// and keep what each did for other cases.
    async fn run_in_order(
        &mut self,
        case: &Case,
        reference: &Implementation,
        order: &[usize],
        learning: Option<&(Vec<Option<Scope>>, Parents)>,
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
        let mut live: Option<BTreeSet<RowKey>> = None;
        let mut learned = Vec::new();
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
            if let Some((scopes, parents)) = learning {
                let before = live
                    .take()
                    .unwrap_or_else(|| case.world.keys().into_iter().collect());
                let after = self.snapshot(case).await?.live;
                if let Some(scope) = &scopes[index] {
                    let situation =
                        Situation::of(case, &reference.name, index, scope, &before, parents);
                    learned.push((situation.key, situation.learn(&before, &after, &result)));
                }
                live = Some(after);
            }
            results[index] = Some(result);
        }
        let results = results
            .into_iter()
            .map(|r| r.expect("harness bug: a serial order leaves an operation out"))
            .collect();
        let live = match live {
            Some(live) => live,
            None => self.snapshot(case).await?.live,
        };
        let met_unique_key = log.met_unique_key();
        if learning.is_some() {
            self.keep(learned, met_unique_key);
        }
        Ok(SerialOutcome {
            results,
            live,
            met_unique_key,
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
        let schema = self.schema(case).await?;
        let conflicts = if schema.side_effects {
            None
        } else {
            let reference = self.reference(case)?;
            Some(Footprints::of(case, &reference, &schema.unique_keys)?.conflicts())
        };
        self.serial.conflicts.insert(key, conflicts.clone());
        Ok(conflicts)
    }

    /// The schema's own triggers and rules and its unique keys: asked of
    /// the database once per engine and system.
    async fn schema(&mut self, case: &Case) -> Result<Arc<Schema>, EngineError> {
        let system = &case.system.name;
        if let Some((name, schema)) = &self.serial.schema
            && name == system
        {
            return Ok(schema.clone());
        }
        let schema = Arc::new(Schema {
            side_effects: !self.side_effects().await?.is_empty(),
            unique_keys: self.control.unique_keys().await?,
        });
        self.serial.schema = Some((system.clone(), schema.clone()));
        Ok(schema)
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
    transition::fingerprint(&format!("{}|{}", case.system.name, case.to_json()))
}
