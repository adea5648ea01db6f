//! A hunt: proptest generates cases, the engine runs each under the schedule
//! its preferences describe, the oracles judge, and a failure is shrunk while
//! it keeps violating what was first found (so shrinking cannot wander from a
//! duplicate tombstone to some other anomaly).
//!
//! proptest has no async runner: the property blocks on one tokio runtime,
//! reused for every case.

use super::strategy::{Bounds, CaseSeed, case_seed};
use crate::case::Case;
use crate::chooser::{Preference, Scripted};
use crate::engine::{Engine, EngineError};
use crate::history::History;
use crate::implementation::Implementation;
use crate::judge::{judge, judge_until};
use crate::oracle::{Anomaly, Invariant, Verdict};
use crate::schedule::Schedule;
use crate::system::System;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestError, TestRunner};
use std::cell::RefCell;
use std::sync::Arc;

/// What counts as a failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Any violation; shrinking keeps the first one's invariant and anomaly.
    Any,
    /// Only this invariant (and anomaly, if given).
    Only(Invariant, Option<Anomaly>),
}

impl Target {
    /// The specific (invariant, anomaly) of the first violation this target
    /// accepts, if any.
    pub fn matches(&self, verdict: &Verdict) -> Option<Target> {
        verdict.violations.iter().find_map(|v| {
            let this = Target::Only(v.invariant, v.anomaly.clone());
            match self {
                Target::Any => Some(this),
                Target::Only(invariant, None) if *invariant == v.invariant => Some(this),
                Target::Only(..) if *self == this => Some(this),
                _ => None,
            }
        })
    }

    /// Whether serial runs of the reference could show this target:
    /// sequentially-explained is the one oracle that costs database work
    /// beyond the run itself.
    fn needs_serial_runs(&self) -> bool {
        match self {
            Target::Any => true,
            Target::Only(invariant, _) => invariant.needs_serial_runs(),
        }
    }
}

/// As much of `case`'s verdict as deciding `target` takes: the oracles that
/// read only the run, and the serial runs only where the target could still
/// be met by them. A hunt for a duplicate tombstone then pays one run per
/// case, not two. What a hunt reports is judged whole (`judge`).
pub async fn judge_for(
    engine: &mut Engine,
    case: &Case,
    history: &History,
    target: &Target,
) -> Result<Verdict, EngineError> {
    judge_until(engine, case, history, |run_only| {
        !target.needs_serial_runs() || target.matches(run_only).is_some()
    })
    .await
}

/// A hunt's settings. `Hunt::from_env` honours proptest's usual variables
/// (`PROPTEST_CASES`, `PROPTEST_RNG_SEED`, `PROPTEST_MAX_SHRINK_ITERS`, …).
#[derive(Clone, Debug)]
pub struct Hunt {
    pub cases: u32,
    pub seed: u64,
    pub bounds: Bounds,
    pub max_shrink_iters: u32,
}

impl Hunt {
    /// `cases` and `seed` unless the environment says otherwise.
    pub fn from_env(cases: u32, seed: u64) -> Hunt {
        let config = Config::default();
        let env = |name: &str| std::env::var(name).ok();
        Hunt {
            cases: env("PROPTEST_CASES")
                .and_then(|v| v.parse().ok())
                .unwrap_or(cases),
            seed: match config.rng_seed {
                RngSeed::Fixed(seed) => seed,
                RngSeed::Random => seed,
            },
            bounds: Bounds::default(),
            max_shrink_iters: env("PROPTEST_MAX_SHRINK_ITERS")
                .and_then(|v| v.parse().ok())
                .unwrap_or(2_000),
        }
    }
}

/// A shrunk failure, replayed once more to have its history.
#[derive(Debug)]
pub struct Found {
    /// From the start of the hunt to the first failing case (before shrinking).
    pub first_failure: std::time::Duration,
    pub case: Case,
    pub history: History,
    pub verdict: Verdict,
    pub target: Target,
    pub cases_run: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum HuntError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("proptest aborted: {0}")]
    Aborted(String),
    #[error(transparent)]
    Bounds(#[from] super::strategy::BoundsError),
}

/// Runs a candidate under a (lenient) scripted schedule and judges it:
/// whole, or (`for_target`) as far as deciding that target takes.
pub async fn run_scripted(
    engine: &mut Engine,
    implementation: &Implementation,
    seed: &CaseSeed,
    schedule: &Schedule,
    for_target: Option<&Target>,
) -> Result<(Case, History, Verdict), EngineError> {
    let (case, _) = seed.resolve();
    let mut chooser = Scripted::lenient(schedule.clone());
    let history = engine.run(&case, implementation, &mut chooser).await?;
    let verdict = match for_target {
        Some(target) => judge_for(engine, &case, &history, target).await?,
        None => judge(engine, &case, &history).await?,
    };
    Ok((case, history, verdict))
}

/// After proptest's shrinking, our own passes (`CaseSeed::simpler`): drop an
/// operation with its choices, move the row it created into the world, use
/// a plainer kind of operation, drop rows, while the case
/// still violates `target`. proptest shrinks each value on its own and
/// cannot make these moves. Returns the final case, run once more.
pub async fn simplify(
    engine: &mut Engine,
    implementation: &Implementation,
    mut seed: CaseSeed,
    mut schedule: Schedule,
    target: &Target,
) -> Result<(Case, History, Verdict), EngineError> {
    'improve: loop {
        for (candidate, candidate_schedule) in seed.simpler(&schedule) {
            let (_, _, verdict) = run_scripted(
                engine,
                implementation,
                &candidate,
                &candidate_schedule,
                Some(target),
            )
            .await?;
            if target.matches(&verdict).is_some() {
                (seed, schedule) = (candidate, candidate_schedule);
                continue 'improve;
            }
        }
        return run_scripted(engine, implementation, &seed, &schedule, None).await;
    }
}

/// Shrinks a failing value tree with proptest's simplify/complicate walk,
/// then `simplify`. For callers that draw cases themselves (stress).
pub async fn shrink_tree(
    engine: &mut Engine,
    implementation: &Implementation,
    tree: &mut dyn ValueTree<Value = CaseSeed>,
    target: &Target,
    iterations_max: u32,
) -> Result<(Case, History, Verdict), EngineError> {
    let mut failing = tree.current();
    let mut iterations = 0;
    let mut more = tree.simplify();
    while more && iterations < iterations_max {
        iterations += 1;
        let candidate = tree.current();
        let (case, preferences) = candidate.resolve();
        let history = engine
            .run(&case, implementation, &mut Preference::new(preferences))
            .await?;
        if target
            .matches(&judge_for(engine, &case, &history, target).await?)
            .is_some()
        {
            failing = candidate;
            more = tree.simplify();
        } else {
            more = tree.complicate();
        }
    }
    let (case, preferences) = failing.resolve();
    let first = engine
        .run(&case, implementation, &mut Preference::new(preferences))
        .await?;
    simplify(engine, implementation, failing, first.schedule, target).await
}

struct Shared<'e> {
    engine: &'e mut Engine,
    first_failure: Option<std::time::Duration>,
    infrastructure: Option<EngineError>,
    target: Target,
    cases_run: u32,
}

impl Hunt {
    pub fn run(
        &self,
        runtime: &tokio::runtime::Runtime,
        engine: &mut Engine,
        system: &Arc<System>,
        implementation: &Implementation,
        target: Target,
    ) -> Result<Option<Found>, HuntError> {
        let kinds: Vec<String> = implementation.operations.keys().cloned().collect();
        let strategy = case_seed(self.bounds, system.clone(), &kinds)?;
        let config = Config {
            cases: self.cases,
            rng_seed: RngSeed::Fixed(self.seed),
            max_shrink_iters: self.max_shrink_iters,
            failure_persistence: None,
            ..Config::default()
        };
        let started = std::time::Instant::now();
        let shared = RefCell::new(Shared {
            engine,
            first_failure: None,
            infrastructure: None,
            target,
            cases_run: 0,
        });
        let result = TestRunner::new(config).run(&strategy, |seed: CaseSeed| {
            let mut shared = shared.borrow_mut();
            let shared = &mut *shared;
            if shared.infrastructure.is_some() {
                return Ok(());
            }
            shared.cases_run += 1;
            let (case, preferences) = seed.resolve();
            let run = runtime.block_on(shared.engine.run(
                &case,
                implementation,
                &mut Preference::new(preferences),
            ));
            let judged = run.and_then(|history| {
                let judged = judge_for(shared.engine, &case, &history, &shared.target);
                runtime.block_on(judged)
            });
            let verdict = match judged {
                Ok(verdict) => verdict,
                Err(e) => {
                    shared.infrastructure = Some(e);
                    return Ok(());
                }
            };
            match shared.target.matches(&verdict) {
                Some(found) => {
                    // From now on shrink towards this same failure.
                    shared.target = found;
                    shared.first_failure.get_or_insert(started.elapsed());
                    Err(TestCaseError::fail(verdict.to_string()))
                }
                None => Ok(()),
            }
        });
        let Shared {
            engine,
            first_failure,
            infrastructure,
            target,
            cases_run,
        } = shared.into_inner();
        if let Some(e) = infrastructure {
            return Err(e.into());
        }
        match result {
            Ok(()) => Ok(None),
            Err(TestError::Fail(_, seed)) => {
                let (case, preferences) = seed.resolve();
                let mut preference = Preference::new(preferences);
                let first = runtime.block_on(engine.run(&case, implementation, &mut preference))?;
                let simplified = simplify(engine, implementation, seed, first.schedule, &target);
                let (case, history, verdict) = runtime.block_on(simplified)?;
                Ok(Some(Found {
                    first_failure: first_failure.unwrap_or_default(),
                    case,
                    history,
                    verdict,
                    target,
                    cases_run,
                }))
            }
            Err(TestError::Abort(why)) => Err(HuntError::Aborted(why.to_string())),
        }
    }
}
