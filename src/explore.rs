//! The exhaustive mode: every schedule of a small case, blocking ones
//! included, each judged by the oracles, printed as an outcome table.

use crate::case::Case;
use crate::chooser::{ChooserError, Exhaustive};
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

/// Which schedules that only reorder commuting statements are skipped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reduction {
    /// Every schedule (`--no-reduce`).
    None,
    /// Neighbouring statements on disjoint tables (`--prune`,
    /// `Exhaustive::pruned`).
    Tables,
    /// One schedule per class of schedules equivalent by the rows each
    /// statement reaches (`Exhaustive::reduced`): the default.
    #[default]
    Rows,
}

impl Reduction {
    /// `strict`: tombstone inserts for the same row kept in every order.
    fn chooser(self, strict: bool) -> Exhaustive {
        match self {
            Reduction::None => Exhaustive::new(),
            Reduction::Tables => Exhaustive::pruned(),
            Reduction::Rows if strict => Exhaustive::reduced_strict(),
            Reduction::Rows => Exhaustive::reduced(),
        }
    }
}

/// Whether a run met a unique key (23505): the reduction assumed tombstone
/// inserts for the same row commute, which a unique key can decide against.
fn met_unique_key(explored: &[Explored]) -> bool {
    explored.iter().any(|one| {
        one.history
            .events
            .iter()
            .any(crate::history::Event::refused_for_unique_key)
    })
}

/// Bounds of one exploration, unit last.
#[derive(Clone, Copy, Debug)]
pub struct ExploreLimits {
    /// Schedules run, those ended early as redundant included.
    pub schedules_max: u64,
    pub reduction: Reduction,
}

impl Default for ExploreLimits {
    fn default() -> Self {
        ExploreLimits {
            schedules_max: 20_000,
            reduction: Reduction::default(),
        }
    }
}

/// What an exploration cost beside the schedules it judged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExploreStats {
    /// Runs the reduction ended part way, when every way on could only
    /// repeat a class already run: their cost is the excess over one run
    /// per class.
    pub abandoned: u64,
    /// The schema's triggers and rules that turned the reduction off: they
    /// may write rows no statement names, so every schedule was run.
    pub unreduced_for: Vec<String>,
    /// A run met a unique key, so the exploration ran again with tombstone
    /// inserts for the same row kept in every order.
    pub strict: bool,
}

/// The reduction `limits` asks for, unless the schema has triggers or
/// rules of its own (then every schedule, and why).
async fn reduction_for(
    engine: &mut Engine,
    limits: ExploreLimits,
) -> Result<(Reduction, Vec<String>), ExploreError> {
    if limits.reduction == Reduction::None {
        return Ok((Reduction::None, Vec::new()));
    }
    let found = engine.side_effects().await?;
    if found.is_empty() {
        Ok((limits.reduction, found))
    } else {
        Ok((Reduction::None, found))
    }
}

/// One run of the explorer's next schedule: `None` when the reduction
/// ended it early.
async fn run_one(
    engine: &mut Engine,
    case: &Case,
    implementation: &Implementation,
    chooser: &mut Exhaustive,
) -> Result<Option<Explored>, ExploreError> {
    let history = match engine.run(case, implementation, chooser).await {
        Err(EngineError::Chooser(ChooserError::Redundant { .. })) => return Ok(None),
        other => other?,
    };
    let verdict = judge(engine, case, &history).await?;
    Ok(Some(Explored { history, verdict }))
}

#[derive(Debug, thiserror::Error)]
pub enum ExploreError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("more than schedules_max = {0} schedules; explore a smaller case")]
    SchedulesMax(u64),
}

/// Runs every schedule of `case` (one per class under the reduction);
/// `progress` is called after each one.
pub async fn explore(
    engine: &mut Engine,
    case: &Case,
    implementation: &Implementation,
    limits: ExploreLimits,
    progress: impl FnMut(&Explored),
) -> Result<Vec<Explored>, ExploreError> {
    Ok(
        explore_counted(engine, case, implementation, limits, progress)
            .await?
            .0,
    )
}

/// [`explore`], also saying how many runs the reduction ended early. A
/// reduced exploration whose runs met a unique key runs again, stricter
/// (`progress` then sees those schedules again).
pub async fn explore_counted(
    engine: &mut Engine,
    case: &Case,
    implementation: &Implementation,
    limits: ExploreLimits,
    mut progress: impl FnMut(&Explored),
) -> Result<(Vec<Explored>, ExploreStats), ExploreError> {
    let (reduction, unreduced_for) = reduction_for(engine, limits).await?;
    let pass = async |chooser| {
        explore_with(engine, case, implementation, limits, chooser, &mut progress).await
    };
    with_fallback(reduction, unreduced_for, pass).await
}

/// Runs `pass` with the reduction's chooser; once more, stricter, if a run
/// met a unique key the reduction had assumed away.
async fn with_fallback(
    reduction: Reduction,
    unreduced_for: Vec<String>,
    mut pass: impl AsyncFnMut(Exhaustive) -> Result<(Vec<Explored>, u64), ExploreError>,
) -> Result<(Vec<Explored>, ExploreStats), ExploreError> {
    let (mut explored, mut abandoned) = pass(reduction.chooser(false)).await?;
    let strict = reduction == Reduction::Rows && met_unique_key(&explored);
    if strict {
        (explored, abandoned) = pass(reduction.chooser(true)).await?;
    }
    let stats = ExploreStats {
        abandoned,
        unreduced_for,
        strict,
    };
    Ok((explored, stats))
}

/// Every schedule `chooser` walks; and how many runs it ended early.
async fn explore_with(
    engine: &mut Engine,
    case: &Case,
    implementation: &Implementation,
    limits: ExploreLimits,
    mut chooser: Exhaustive,
    progress: &mut impl FnMut(&Explored),
) -> Result<(Vec<Explored>, u64), ExploreError> {
    let mut explored = Vec::new();
    let mut abandoned = 0;
    loop {
        match run_one(engine, case, implementation, &mut chooser).await? {
            Some(one) => {
                progress(&one);
                explored.push(one);
            }
            None => abandoned += 1,
        }
        if !chooser.advance() {
            return Ok((explored, abandoned));
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
) -> Result<(Vec<Explored>, ExploreStats), ExploreError> {
    let Some(first) = engines.first_mut() else {
        return Ok((Vec::new(), ExploreStats::default()));
    };
    let (reduction, unreduced_for) = reduction_for(first, limits).await?;
    let pass = async |chooser: Exhaustive| {
        parallel_with(engines, case, implementation, limits, || chooser.clone()).await
    };
    with_fallback(reduction, unreduced_for, pass).await
}

/// The parts of the tree `fresh` walks, over `engines`.
async fn parallel_with(
    engines: &mut [Engine],
    case: &Case,
    implementation: &Implementation,
    limits: ExploreLimits,
    fresh: impl Fn() -> Exhaustive,
) -> Result<(Vec<Explored>, u64), ExploreError> {
    let first = engines.first_mut().expect("at least one engine");
    let mut probe = fresh();
    run_one(first, case, implementation, &mut probe).await?;
    let Some(parts) = probe.first_options() else {
        // No choice at all: one schedule.
        return explore_with(first, case, implementation, limits, fresh(), &mut |_| {}).await;
    };
    let next = std::sync::atomic::AtomicUsize::new(0);
    let runs = std::sync::atomic::AtomicU64::new(0);
    let abandoned = std::sync::atomic::AtomicU64::new(0);
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
                match run_one(engine, case, implementation, &mut chooser).await? {
                    Some(one) => explored.push(one),
                    None => {
                        abandoned.fetch_add(1, Relaxed);
                    }
                }
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
    let explored = done
        .into_iter()
        .flat_map(|part| part.expect("every part explored"))
        .collect();
    Ok((explored, abandoned.into_inner()))
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
    let tombstones = tombstone_labels(history);
    if tombstones.is_empty() {
        "-".into()
    } else {
        tombstones.join(", ")
    }
}

/// `token t1 (op2)`: each tombstone by its row and writer, in dump order.
fn tombstone_labels(history: &History) -> Vec<String> {
    history
        .snapshot
        .tombstones
        .iter()
        .map(|t| {
            let writer = t.writer.map(|w| w.to_string()).unwrap_or("?".into());
            format!("{} ({writer})", t.row)
        })
        .collect()
}

fn verdict(verdict: &Verdict) -> String {
    if verdict.is_clean() {
        return "clean".to_string();
    }
    violation_labels(verdict).join(", ")
}

/// `exactly-one-tombstone [B]`: each violation by invariant and anomaly.
fn violation_labels(verdict: &Verdict) -> Vec<String> {
    verdict
        .violations
        .iter()
        .map(|v| match &v.anomaly {
            Some(a) => format!("{} [{a}]", v.invariant),
            None => v.invariant.to_string(),
        })
        .collect()
}

/// What a schedule ended in, as reduced and full explorations are
/// compared: every status, the live rows, the tombstones with their writers
/// (as a set: the order of rows in a dump is not an outcome) and each
/// violation by invariant and anomaly.
pub fn outcome(one: &Explored) -> String {
    let snapshot = &one.history.snapshot;
    let live: Vec<String> = snapshot.live.iter().map(|r| r.short()).collect();
    let strangers: Vec<&str> = snapshot.strangers.iter().map(String::as_str).collect();
    let mut tombstones = tombstone_labels(&one.history);
    tombstones.sort();
    let mut violations = violation_labels(&one.verdict);
    violations.sort();
    format!(
        "{} | live {} {} | tombstones {} | {}",
        statuses(&one.history),
        live.join(" "),
        strangers.join(" "),
        tombstones.join(", "),
        if violations.is_empty() {
            "clean".to_string()
        } else {
            violations.join(", ")
        }
    )
}
