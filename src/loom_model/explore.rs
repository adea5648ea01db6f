//! Scenarios and their exploration: runs every operation of a scenario on its own loom thread,
//! once per interleaving loom chooses, and counts the interleavings per outcome.
//!
//! Limits: at most [`OPERATIONS_MAX`] operations (loom models at most 5 threads, and the test's
//! own thread is one); the preemption bound comes from `LOOM_MAX_PREEMPTIONS`, default
//! [`PREEMPTIONS_MAX_DEFAULT`]. loom's other variables (`LOOM_MAX_BRANCHES`, `LOOM_LOG`,
//! `LOOM_CHECKPOINT_FILE`, …) keep their meaning.
//!
//! Knows nothing of which outcomes a test expects: a scenario's expectations live in its test.

use std::collections::BTreeMap;
use std::fmt;

use loom::sync::Arc;
use loom::thread;

use super::operation::Operation;
use super::oracle::{History, Outcome};
use super::row::{RowKey, Table};
use super::statement::run_operation;
use super::tombstone::TombstoneLog;

/// Bound 1 already reaches every outcome the tests expect; 3 adds margin and keeps `make loom`
/// near a second and a half (4: ~6 s, 5: ~26 s, 6: ~80 s, almost all in the three-operation test).
pub const PREEMPTIONS_MAX_DEFAULT: usize = 3;

/// loom models at most 5 threads (`loom::MAX_THREADS`); the thread that joins is one of them.
pub const OPERATIONS_MAX: usize = 4;

/// One user's rows and the operations that race over them.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub rows: Vec<RowKey>,
    pub operations: Vec<Operation>,
}

impl Scenario {
    pub fn new(rows: &[&'static str], operations: &[Operation]) -> Scenario {
        assert!(
            operations.len() <= OPERATIONS_MAX,
            "{} operations, over OPERATIONS_MAX ({OPERATIONS_MAX})",
            operations.len()
        );
        Scenario {
            rows: rows.iter().map(|&row| RowKey(row)).collect(),
            operations: operations.to_vec(),
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: Vec<String> = self.rows.iter().map(RowKey::to_string).collect();
        write!(formatter, "rows: {}", rows.join(", "))?;
        for operation in &self.operations {
            let steps: Vec<&str> = operation
                .steps()
                .iter()
                .map(|&step| operation.step_name(step))
                .collect();
            write!(formatter, "\n  {operation}: {}", steps.join(", then "))?;
        }
        Ok(())
    }
}

/// A loom builder from loom's environment variables, except that an unset
/// `LOOM_MAX_PREEMPTIONS` means [`PREEMPTIONS_MAX_DEFAULT`] rather than loom's "unbounded".
pub fn builder() -> loom::model::Builder {
    let mut builder = loom::model::Builder::new();
    builder
        .preemption_bound
        .get_or_insert(PREEMPTIONS_MAX_DEFAULT);
    builder
}

/// What an exploration saw: how many interleavings it ran, and how many ended in each outcome.
#[derive(Clone, Debug)]
pub struct Exploration {
    pub scenario: Scenario,
    pub preemptions_max: Option<usize>,
    pub interleavings: usize,
    pub outcomes: BTreeMap<Outcome, usize>,
}

impl fmt::Display for Exploration {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bound = self
            .preemptions_max
            .map_or_else(|| "unbounded".to_string(), |bound| bound.to_string());
        writeln!(formatter, "{}", self.scenario)?;
        writeln!(
            formatter,
            "{} interleavings (preemption bound {bound}), {} distinct outcomes:",
            self.interleavings,
            self.outcomes.len()
        )?;
        for (outcome, count) in &self.outcomes {
            writeln!(formatter, "  {count:>7} × {outcome}")?;
        }
        Ok(())
    }
}

/// Explores `scenario` with [`builder`]. `check_each` sees every interleaving's outcome inside
/// loom, so a panic there makes loom stop at the interleaving that broke it.
pub fn explore<F>(scenario: &Scenario, check_each: F) -> Exploration
where
    F: Fn(&Outcome) + Send + Sync + 'static,
{
    let builder = builder();
    // A std mutex, not loom's: the tally lives outside the modelled concurrency and survives
    // from one interleaving to the next.
    let tally = std::sync::Arc::new(std::sync::Mutex::new(BTreeMap::<Outcome, usize>::new()));
    let sink = tally.clone();
    let model_scenario = scenario.clone();
    builder.check(move || {
        let history = run_once(&model_scenario);
        let outcome = Outcome::of(&model_scenario.operations, &history);
        check_each(&outcome);
        *sink
            .lock()
            .expect("tally poisoned")
            .entry(outcome)
            .or_insert(0) += 1;
    });
    let outcomes = tally.lock().expect("tally poisoned").clone();
    Exploration {
        scenario: scenario.clone(),
        preemptions_max: builder.preemption_bound,
        interleavings: outcomes.values().sum(),
        outcomes,
    }
}

/// One interleaving: every operation on its own thread, from a table whose rows are all live.
fn run_once(scenario: &Scenario) -> History {
    let table = Arc::new(Table::new(&scenario.rows));
    let log = Arc::new(TombstoneLog::default());
    let threads: Vec<_> = scenario
        .operations
        .iter()
        .map(|&operation| {
            let table = table.clone();
            let log = log.clone();
            thread::spawn(move || run_operation(&table, &log, &operation))
        })
        .collect();
    let step_results = threads
        .into_iter()
        .flat_map(|thread| thread.join().expect("an operation's thread panicked"))
        .collect();
    History {
        rows: scenario.rows.clone(),
        step_results,
        tombstones: log.entries(),
        live_rows: table.live_rows(),
    }
}
