//! Running one mutant until something kills it: first each operation alone
//! (a statement that cannot run, or a verdict no race is needed for), then
//! the hunt over drawn cases for a time budget (three scheduled cases for
//! every free-running one, as `stress --mode mixed`), then, for a survivor,
//! every schedule of every shipped scenario that runs the mutated
//! operation. A survivor whose scenarios give exactly the original's
//! outcomes is *equivalent* on them (the proof is that list of scenarios
//! and schedules); one that differs, or that no scenario exercises, has
//! survived: the harness cannot tell it from a correct recorder.
//!
//! Owns: a mutant's fate. Must not know: printing, exit codes.

use super::Mutant;
use crate::case::Case;
use crate::chooser::Preference;
use crate::engine::{Engine, EngineError};
use crate::explore::{ExploreError, ExploreLimits, explore};
use crate::generate::{Bounds, Target, drawn};
use crate::history::{History, OperationResult};
use crate::implementation::Implementation;
use crate::judge::judge;
use crate::oracle::{Invariant, Verdict, Violation};
use crate::preflight::{self, Mistake};
use crate::scenario::Scenario;
use crate::system::System;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How hard to try, per mutant.
#[derive(Clone, Copy, Debug)]
pub struct MutateConfig {
    pub seed: u64,
    /// Wall time of the hunt over drawn cases.
    pub budget: Duration,
    pub bounds: Bounds,
    /// Past this many schedules a scenario proves nothing (not equivalent).
    pub schedules_max: u64,
}

/// Where a mutant was caught.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Its operations run one at a time.
    Alone,
    /// Drawn case number `case` of the seed.
    Hunt { case: u64 },
    /// A schedule of a shipped scenario.
    Scenario { name: String },
}

/// What caught a mutant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KilledBy {
    /// A statement fails even alone (`check` would refuse the file).
    Check(Mistake),
    /// A run violated an invariant.
    Invariant(Box<Violation>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fate {
    Killed {
        by: KilledBy,
        stage: Stage,
        after: Duration,
    },
    /// Nothing found in the budget, and every schedule of these scenarios
    /// gives the original's outcomes.
    Equivalent {
        scenarios: Vec<String>,
        schedules: usize,
    },
    Survived {
        cases: u64,
        why: String,
    },
}

impl Fate {
    /// A mutant the harness told from the original (or proved the same).
    pub fn is_settled(&self) -> bool {
        !matches!(self, Fate::Survived { .. })
    }

    /// The invariant that killed it, if one did.
    pub fn invariant(&self) -> Option<Invariant> {
        match self {
            Fate::Killed {
                by: KilledBy::Invariant(v),
                ..
            } => Some(v.invariant),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MutateError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Explore(#[from] ExploreError),
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    /// A generated mutant that does not load is a harness bug in the
    /// operators, reported rather than panicking mid-run.
    #[error("mutant {id} does not load: {message}")]
    Invalid { id: String, message: String },
}

/// The original implementation's outcomes per scenario, computed once for
/// all its mutants.
#[derive(Default)]
pub struct Baseline {
    outcomes: BTreeMap<String, Option<BTreeSet<String>>>,
}

/// One mutant's fate.
pub async fn run_mutant(
    engine: &mut Engine,
    system: &Arc<System>,
    original: &Implementation,
    mutant: &Mutant,
    config: &MutateConfig,
    baseline: &mut Baseline,
) -> Result<Fate, MutateError> {
    let implementation =
        Implementation::parse(system, &mutant.id, &mutant.source).map_err(|e| {
            MutateError::Invalid {
                id: mutant.id.clone(),
                message: e.to_string(),
            }
        })?;
    let started = Instant::now();
    let focus = Some(mutant.operation.as_str());
    let cases = match kill(engine, system, &implementation, config, &Target::Any, focus).await? {
        Ok(kill) => {
            return Ok(Fate::Killed {
                by: kill.by,
                stage: kill.stage,
                after: kill.after,
            });
        }
        Err(cases) => cases,
    };
    let survivor = Survivor {
        original,
        implementation: &implementation,
        operation: &mutant.operation,
        cases,
        started,
    };
    scenarios(engine, system, config, baseline, survivor).await
}

/// What caught an implementation, where, and how long after the start.
#[derive(Clone, Debug)]
pub struct Kill {
    pub by: KilledBy,
    pub stage: Stage,
    pub after: Duration,
}

/// Runs `implementation` alone, then hunts it for the budget, until a
/// violation `target` accepts: the kill, or how many cases ran without one.
/// A statement failing alone kills only for `Target::Any`. With a `focus`
/// operation the hunt draws only operations that touch a table it touches
/// (the others cannot race it), so the budget goes where the change is.
pub async fn kill(
    engine: &mut Engine,
    system: &Arc<System>,
    implementation: &Implementation,
    config: &MutateConfig,
    target: &Target,
    focus: Option<&str>,
) -> Result<Result<Kill, u64>, EngineError> {
    let started = Instant::now();
    let done = |by: KilledBy, stage: Stage| {
        Ok(Ok(Kill {
            by,
            stage,
            after: started.elapsed(),
        }))
    };
    let (rows, mistakes) = preflight::run_alone(engine, system, implementation).await?;
    if let (Some(mistake), Target::Any) = (mistakes.into_iter().next(), target) {
        return done(KilledBy::Check(mistake), Stage::Alone);
    }
    for row in &rows {
        let case = Case::new(system.clone(), row.world.clone(), vec![row.action.clone()]);
        let verdict = judge(engine, &case, &row.history).await?;
        if let Some(violation) = wanted(target, verdict) {
            return done(violation.into(), Stage::Alone);
        }
    }
    let kinds = match focus {
        Some(operation) => related(implementation, operation),
        None => implementation.operations.keys().cloned().collect(),
    };
    let hunted = hunt(
        engine,
        system,
        implementation,
        &kinds,
        config,
        target,
        started,
    )
    .await?;
    Ok(match hunted {
        Hunted::Killed(violation, case) => done(violation.into(), Stage::Hunt { case })?,
        Hunted::Clean(cases) => Err(cases),
    })
}

/// [`kill`] on a database of its own on `server`, dropped afterwards: one
/// corpus entry, one seed.
pub async fn kill_on(
    server: &crate::db::Server,
    system: &Arc<System>,
    implementation: &Implementation,
    config: &MutateConfig,
    target: &Target,
) -> Result<Result<Kill, u64>, MutateError> {
    let database = server.create_database(system).await?;
    let mut engine = Engine::open(database.connector(), crate::engine::Limits::default()).await?;
    let killed = kill(&mut engine, system, implementation, config, target, None).await;
    drop(engine);
    database.drop_database().await?;
    Ok(killed?)
}

impl From<Violation> for KilledBy {
    fn from(violation: Violation) -> KilledBy {
        KilledBy::Invariant(Box::new(violation))
    }
}

/// The operations of `implementation` whose statements touch a table that
/// `operation`'s touch (itself included), in name order.
fn related(implementation: &Implementation, operation: &str) -> Vec<String> {
    let touches = |kind: &str| {
        implementation.script(kind).map_or(0, |script| {
            script
                .steps
                .iter()
                .fold(0u64, |bits, step| bits | step.footprint.touches)
        })
    };
    let focus = touches(operation);
    implementation
        .operations
        .keys()
        .filter(|kind| kind.as_str() == operation || touches(kind) & focus != 0)
        .cloned()
        .collect()
}

/// The first violation of `verdict` that `target` accepts.
fn wanted(target: &Target, verdict: Verdict) -> Option<Violation> {
    verdict.violations.into_iter().find(|v| {
        let one = Verdict {
            violations: vec![v.clone()],
        };
        target.matches(&one).is_some()
    })
}

enum Hunted {
    Killed(Violation, u64),
    Clean(u64),
}

/// Drawn cases until one has a violation `target` accepts or the budget
/// is spent.
async fn hunt(
    engine: &mut Engine,
    system: &Arc<System>,
    implementation: &Implementation,
    kinds: &[String],
    config: &MutateConfig,
    target: &Target,
    started: Instant,
) -> Result<Hunted, EngineError> {
    let deadline = started + config.budget;
    engine.set_deadline(Some(deadline));
    let mut n = 0;
    let found = loop {
        if Instant::now() >= deadline {
            break Ok(Hunted::Clean(n));
        }
        let (case, preferences) = drawn(config.seed, n, config.bounds, system, kinds).resolve();
        // As `stress --mode mixed`: real concurrency finds some races in
        // fewer cases, controlled schedules the rest.
        let history = if n % 4 == 3 {
            engine.run_free(&case, implementation).await
        } else {
            engine
                .run(&case, implementation, &mut Preference::new(preferences))
                .await
        };
        n += 1;
        let history = match history {
            Ok(history) => history,
            Err(EngineError::Interrupted) => break Ok(Hunted::Clean(n - 1)),
            Err(other) => break Err(other),
        };
        match judge(engine, &case, &history).await {
            Ok(verdict) => {
                if let Some(violation) = wanted(target, verdict) {
                    break Ok(Hunted::Killed(violation, n - 1));
                }
            }
            // The budget ran out during the serial runs: this case proves nothing.
            Err(EngineError::Interrupted) => break Ok(Hunted::Clean(n - 1)),
            Err(error) => break Err(error),
        }
    };
    engine.set_deadline(None);
    found
}

/// A survivor of the hunt, to be tried on the shipped scenarios.
struct Survivor<'a> {
    original: &'a Implementation,
    implementation: &'a Implementation,
    operation: &'a str,
    cases: u64,
    started: Instant,
}

/// Every schedule of every shipped scenario that runs the mutated operation.
async fn scenarios(
    engine: &mut Engine,
    system: &Arc<System>,
    config: &MutateConfig,
    baseline: &mut Baseline,
    survivor: Survivor<'_>,
) -> Result<Fate, MutateError> {
    let Survivor {
        original,
        implementation,
        operation,
        cases,
        started,
    } = survivor;
    let limits = ExploreLimits {
        schedules_max: config.schedules_max,
        reduction: crate::explore::Reduction::None,
    };
    let mut proof = Vec::new();
    let mut schedules = 0;
    for name in Scenario::names(system) {
        let Ok(scenario) = Scenario::load(system, &name) else {
            continue;
        };
        let runs_it = scenario
            .case
            .operations
            .iter()
            .any(|op| op.action.kind == operation);
        if !runs_it {
            continue;
        }
        let explored = explore(engine, &scenario.case, implementation, limits, |_| {}).await?;
        if let Some(violation) = explored
            .iter()
            .find_map(|e| e.verdict.violations.first().cloned())
        {
            return Ok(Fate::Killed {
                by: violation.into(),
                stage: Stage::Scenario { name },
                after: started.elapsed(),
            });
        }
        let full = (explored.len() as u64) < config.schedules_max;
        let theirs = outcomes(&explored.iter().map(|e| &e.history).collect::<Vec<_>>());
        let ours = match baseline.outcomes.get(&name) {
            Some(known) => known.clone(),
            None => {
                let explored = explore(engine, &scenario.case, original, limits, |_| {}).await?;
                let complete = (explored.len() as u64) < config.schedules_max;
                let set = complete
                    .then(|| outcomes(&explored.iter().map(|e| &e.history).collect::<Vec<_>>()));
                baseline.outcomes.insert(name.clone(), set.clone());
                set
            }
        };
        match ours {
            Some(ours) if full && ours == theirs => {
                schedules += explored.len();
                proof.push(name);
            }
            Some(ours) if full => {
                let only: Vec<&String> = theirs.difference(&ours).take(1).collect();
                let missing: Vec<&String> = ours.difference(&theirs).take(1).collect();
                let example = only
                    .first()
                    .or(missing.first())
                    .map_or(String::new(), |o| format!(": e.g. {o}"));
                return Ok(Fate::Survived {
                    cases,
                    why: format!(
                        "clean, but scenario {name} ends differently from the original{example}"
                    ),
                });
            }
            _ => {
                return Ok(Fate::Survived {
                    cases,
                    why: format!(
                        "scenario {name} has more than {} schedules",
                        config.schedules_max
                    ),
                });
            }
        }
    }
    if proof.is_empty() {
        return Ok(Fate::Survived {
            cases,
            why: format!("no shipped scenario runs {operation}"),
        });
    }
    Ok(Fate::Equivalent {
        scenarios: proof,
        schedules,
    })
}

/// What each run showed a client and left in the tables: statuses in
/// operation order, live rows, tombstones by row. Schedules of two
/// implementations differ in their steps, so outcomes are compared as sets.
fn outcomes(histories: &[&History]) -> BTreeSet<String> {
    histories
        .iter()
        .filter(|h| !h.is_indeterminate())
        .map(|h| {
            let statuses: Vec<String> = h
                .results
                .iter()
                .map(|r| match r {
                    OperationResult::Finished(outcome) => outcome.status.to_string(),
                    other => other.to_string(),
                })
                .collect();
            let live: Vec<String> = h.snapshot.live.iter().map(ToString::to_string).collect();
            let mut tombstones: Vec<String> = h
                .snapshot
                .tombstones
                .iter()
                .map(|t| t.row.to_string())
                .collect();
            tombstones.sort();
            format!(
                "statuses {}; live {}; tombstones {}",
                statuses.join(" "),
                live.join(", "),
                tombstones.join(", ")
            )
        })
        .collect()
}
