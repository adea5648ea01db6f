//! The exhaustive mode: every schedule of a small case, blocking ones
//! included, each judged by the oracles, printed as an outcome table.

use crate::case::Case;
use crate::chooser::Exhaustive;
use crate::engine::{Engine, EngineError};
use crate::history::{EventKind, History, Statement};
use crate::implementation::Implementation;
use crate::judge::judge;
use crate::oracle::Verdict;

/// One explored schedule.
pub struct Explored {
    pub history: History,
    pub verdict: Verdict,
}

/// Bounds of one exploration, unit last.
#[derive(Clone, Copy, Debug)]
pub struct ExploreLimits {
    pub schedules_max: u64,
    /// Skip schedules that only reorder statements that commute
    /// (`Exhaustive::pruned`).
    pub pruned: bool,
}

impl Default for ExploreLimits {
    fn default() -> Self {
        ExploreLimits {
            schedules_max: 20_000,
            pruned: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExploreError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("more than schedules_max = {0} schedules; explore a smaller case")]
    SchedulesMax(u64),
}

/// Runs every schedule of `case`; `progress` is called after each one.
pub async fn explore(
    engine: &mut Engine,
    case: &Case,
    implementation: &Implementation,
    limits: ExploreLimits,
    mut progress: impl FnMut(&Explored),
) -> Result<Vec<Explored>, ExploreError> {
    let mut chooser = if limits.pruned {
        Exhaustive::pruned()
    } else {
        Exhaustive::new()
    };
    let mut explored = Vec::new();
    loop {
        let history = engine.run(case, implementation, &mut chooser).await?;
        let verdict = judge(engine, case, &history).await?;
        let one = Explored { history, verdict };
        progress(&one);
        explored.push(one);
        if !chooser.advance() {
            return Ok(explored);
        }
        if chooser.runs() >= limits.schedules_max {
            return Err(ExploreError::SchedulesMax(limits.schedules_max));
        }
    }
}

/// [`explore`] over several engines (a database each): the tree is split
/// by the first choice, each worker takes the next part as it finishes
/// one, and the parts are put back in depth-first order, so the result is
/// the same schedules, histories and verdicts in the same order as with one
/// engine. The first part's first schedule is run once more to learn how
/// many parts there are.
pub async fn explore_parallel(
    engines: &mut [Engine],
    case: &Case,
    implementation: &Implementation,
    limits: ExploreLimits,
) -> Result<Vec<Explored>, ExploreError> {
    let Some(first) = engines.first_mut() else {
        return Ok(Vec::new());
    };
    let fresh = || {
        if limits.pruned {
            Exhaustive::pruned()
        } else {
            Exhaustive::new()
        }
    };
    let mut probe = fresh();
    first.run(case, implementation, &mut probe).await?;
    let Some(parts) = probe.first_options() else {
        // No choice at all: one schedule.
        return explore(first, case, implementation, limits, |_| {}).await;
    };
    let next = std::sync::atomic::AtomicUsize::new(0);
    let runs = std::sync::atomic::AtomicU64::new(0);
    let done: std::sync::Mutex<Vec<Option<Vec<Explored>>>> =
        std::sync::Mutex::new((0..parts).map(|_| None).collect());
    let workers = engines.iter_mut().map(|engine| async {
        use std::sync::atomic::Ordering::Relaxed;
        loop {
            let part = next.fetch_add(1, Relaxed);
            if part >= parts {
                return Ok::<(), ExploreError>(());
            }
            let mut chooser = fresh().subtree(part, parts);
            let mut explored = Vec::new();
            loop {
                let history = engine.run(case, implementation, &mut chooser).await?;
                let verdict = judge(engine, case, &history).await?;
                explored.push(Explored { history, verdict });
                let total = runs.fetch_add(1, Relaxed) + 1;
                if !chooser.advance() {
                    break;
                }
                if total >= limits.schedules_max {
                    return Err(ExploreError::SchedulesMax(limits.schedules_max));
                }
            }
            done.lock().expect("parts lock")[part] = Some(explored);
        }
    });
    for result in futures::future::join_all(workers).await {
        result?;
    }
    let done = done.into_inner().expect("parts lock");
    Ok(done
        .into_iter()
        .flat_map(|part| part.expect("every part explored"))
        .collect())
}

/// The order in which the sessions' statements that match `touches` ran,
/// e.g. `s1:record token s2:record all tokens …`: how schedules that differ
/// only in statements irrelevant to a question are grouped.
pub fn statement_order(history: &History, touches: impl Fn(&str) -> bool) -> String {
    let order: Vec<String> = history
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Sent(Statement::Step { name, .. }) if touches(name) => {
                Some(format!("{}:{name}", e.session))
            }
            _ => None,
        })
        .collect();
    order.join(", ")
}

/// The outcome table: schedule → statuses, tombstones, verdict.
pub fn render_table(explored: &[Explored]) -> String {
    let header = ["schedule", "statuses", "tombstones (writer)", "verdict"];
    let rows = explored.iter().map(|one| {
        [
            one.history.schedule.to_string(),
            statuses(&one.history),
            tombstones(&one.history),
            verdict(&one.verdict),
        ]
    });
    crate::table::to_text(&crate::table::text_table(&header, rows))
}

fn statuses(history: &History) -> String {
    let statuses: Vec<String> = history.results.iter().map(ToString::to_string).collect();
    statuses.join("; ")
}

fn tombstones(history: &History) -> String {
    let tombstones: Vec<String> = history
        .snapshot
        .tombstones
        .iter()
        .map(|t| {
            let writer = t.writer.map(|w| w.to_string()).unwrap_or("?".into());
            format!("{} ({writer})", t.row)
        })
        .collect();
    if tombstones.is_empty() {
        "-".into()
    } else {
        tombstones.join(", ")
    }
}

fn verdict(verdict: &Verdict) -> String {
    if verdict.is_clean() {
        return "clean".to_string();
    }
    let names: Vec<String> = verdict
        .violations
        .iter()
        .map(|v| match &v.anomaly {
            Some(a) => format!("{} [{a}]", v.invariant),
            None => v.invariant.to_string(),
        })
        .collect();
    names.join(", ")
}
