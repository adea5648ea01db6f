//! The counterexample kept for each kind of finding: shrunk towards that very
//! kind, and kept only if it still shows it, so every finding's file replays
//! to a violation of its own kind.

use super::StressConfig;
use crate::case::Case;
use crate::chooser::Exhaustive;
use crate::counterexample::Counterexample;
use crate::engine::{Engine, EngineError};
use crate::generate::{CaseSeed, Target, draw, drawn, judge_for, shrink_tree, simplify};
use crate::history::History;
use crate::implementation::{Implementation, Isolation};
use crate::oracle::Verdict;

/// How many schedules of a case found free-running are tried before its
/// finding is reported as not reproducible under a schedule.
pub const REHUNT_SCHEDULES_MAX: u64 = 2_000;

/// A finding's example, if one still shows it.
pub struct Example {
    pub counterexample: Option<Counterexample>,
    pub explanation: Option<String>,
}

/// Shrinks case number `n` towards `target`. A free-running finding may not
/// show under the engine's schedules at all; then the unshrunk case's
/// schedules are searched for one that shows it, and that one is shrunk.
pub async fn find(
    engine: &mut Engine,
    implementation: &Implementation,
    isolation: Option<Isolation>,
    config: &StressConfig,
    target: Target,
    n: u64,
) -> Result<Example, EngineError> {
    let kinds: Vec<String> = implementation.operations.keys().cloned().collect();
    // A fresh tree per kind: shrinking towards one kind moves the tree.
    let mut tree = draw(config.seed, n, config.bounds, &config.system, &kinds);
    let iterations = config.shrink_iterations_max;
    let mut shrunk =
        shrink_tree(engine, implementation, tree.as_mut(), &target, iterations).await?;
    if target.matches(&shrunk.2).is_none() {
        let seed = drawn(config.seed, n, config.bounds, &config.system, &kinds);
        match rehunt(engine, implementation, &seed, &target).await? {
            Some(schedule) => {
                shrunk = simplify(engine, implementation, seed, schedule, &target).await?;
            }
            None => {
                return Ok(Example {
                    counterexample: None,
                    explanation: None,
                });
            }
        }
    }
    Ok(example(implementation, isolation, &target, shrunk))
}

fn example(
    implementation: &Implementation,
    isolation: Option<Isolation>,
    target: &Target,
    (case, history, verdict): (Case, History, Verdict),
) -> Example {
    let Some(Target::Only(invariant, anomaly)) = target.matches(&verdict) else {
        return Example {
            counterexample: None,
            explanation: None,
        };
    };
    let explanation = verdict
        .of(invariant)
        .find(|v| v.anomaly == anomaly)
        .map(|v| v.explanation.clone());
    let counterexample = Counterexample::of(
        implementation,
        isolation,
        &case,
        &history.schedule,
        &verdict,
    );
    Example {
        counterexample: Some(counterexample),
        explanation,
    }
}

/// The first schedule of the drawn case (depth first, commuting reorderings
/// skipped) whose verdict `target` accepts, among the first
/// `REHUNT_SCHEDULES_MAX`.
async fn rehunt(
    engine: &mut Engine,
    implementation: &Implementation,
    seed: &CaseSeed,
    target: &Target,
) -> Result<Option<crate::schedule::Schedule>, EngineError> {
    let (case, _) = seed.resolve();
    let mut chooser = Exhaustive::pruned();
    loop {
        let history = engine.run(&case, implementation, &mut chooser).await?;
        if target
            .matches(&judge_for(engine, &case, &history, target).await?)
            .is_some()
        {
            return Ok(Some(history.schedule));
        }
        if !chooser.advance() || chooser.runs() >= REHUNT_SCHEDULES_MAX {
            return Ok(None);
        }
    }
}
