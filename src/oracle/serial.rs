//! sequentially-explained: some serial order of the case's operations, run
//! by the system's reference implementation on the real database from the
//! case's world (the engine runs them; see `engine::reference`), gives every
//! finished operation the status it got and leaves exactly the rows the
//! database holds. Orders must respect real time: an operation that finished
//! before another sent its first statement comes first.
//!
//! Owns: enumerating the orders that respect real time and choosing the
//! closest one to explain a failure. Must not know: tombstones (they are not
//! part of the intended behaviour's visible state), SQL or step names.

use super::{Invariant, Violation};
use crate::case::Case;
use crate::history::{EventKind, History, OperationResult};
use crate::implementation::Outcome;
use crate::operation::OperationId;
use crate::world::RowKey;
use std::collections::BTreeSet;

/// Serial runs are real runs on the database: past this many orders the
/// oracle judges the first ones only and says so.
pub const ORDERS_MAX: usize = 720;

/// One serial run of the case by the system's reference implementation:
/// the operations one after the other in `order` (indexes), each one's
/// result, and the live rows at the end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SerialRun {
    pub order: Vec<usize>,
    /// By operation index.
    pub results: Vec<OperationResult>,
    pub live: BTreeSet<RowKey>,
}

/// The orders worth running, most likely first: the order in which the
/// operations finished, then every other order respecting real time, in
/// lexicographic order; and how many orders respect real time in all.
pub fn orders_to_try(case: &Case, history: &History) -> (Vec<Vec<usize>>, usize) {
    let count = case.operations.len();
    let precedes = real_time_order(history, count);
    let all = orders(&precedes);
    let total = all.len();
    let mut finished: Vec<usize> = history
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Finished(_)))
        .map(|e| e.session.index())
        .filter(|i| *i < count)
        .collect();
    finished.dedup();
    let mut tried = Vec::new();
    if all.contains(&finished) {
        tried.push(finished);
    }
    for order in all {
        if tried.len() >= ORDERS_MAX {
            break;
        }
        if !tried.contains(&order) {
            tried.push(order);
        }
    }
    (tried, total)
}

/// The operations that got a 5xx: a correct server never answers one, so
/// when there is any, no serial order can explain the history, and one
/// serial run (to show what a correct server would have done) is enough.
pub fn server_errors(case: &Case, history: &History) -> Vec<OperationId> {
    case.operations
        .iter()
        .zip(&history.results)
        .filter(|(_, r)| matches!(r, OperationResult::Finished(o) if o.is_server_error()))
        .map(|(op, _)| op.id)
        .collect()
}

/// Whether this serial run gives the history's statuses and final rows.
pub fn explains(case: &Case, history: &History, run: &SerialRun) -> bool {
    attempt(case, history, run).cost() == 0
}

/// The orders the serial runs so far rule out without running them:
/// - every order that begins like a run up to the first operation whose
///   status differs from the history's (an operation's status in a serial
///   order depends only on the operations before it);
/// - given which operations conflict (`conflicts[a][b]`, from what the
///   reference's statements reach), every order that only swaps
///   neighbouring operations that do not conflict with a run's order: it
///   gives the same statuses and rows.
#[derive(Debug, Default)]
pub struct RuledOut {
    prefixes: Vec<Vec<usize>>,
    orders: Vec<Vec<usize>>,
}

impl RuledOut {
    /// Learns from a run that did not explain the history.
    pub fn learn(&mut self, history: &History, run: &SerialRun) {
        let differs = |&index: &usize| match history.results.get(index) {
            Some(OperationResult::Finished(got)) => {
                got.is_server_error() || Some(got.status) != status(run, index)
            }
            _ => false,
        };
        if let Some(at) = run.order.iter().position(differs) {
            self.prefixes.push(run.order[..=at].to_vec());
        }
        self.orders.push(run.order.clone());
    }

    /// Starts like a run up to that run's first wrong status.
    pub fn by_prefix(&self, order: &[usize]) -> bool {
        self.prefixes.iter().any(|prefix| order.starts_with(prefix))
    }

    /// Equivalent to a run's order, given which operations conflict.
    pub fn by_footprints(&self, order: &[usize], conflicts: &[Vec<bool>]) -> bool {
        let mine = canonical(order, conflicts);
        self.orders.iter().any(|o| canonical(o, conflicts) == mine)
    }
}

fn status(run: &SerialRun, index: usize) -> Option<u16> {
    match run.results.get(index) {
        Some(OperationResult::Finished(outcome)) => Some(outcome.status),
        _ => None,
    }
}

/// The smallest order (lexicographically) among those equivalent to
/// `order`: at each place, the smallest operation that no earlier one it
/// conflicts with still has to precede.
fn canonical(order: &[usize], conflicts: &[Vec<bool>]) -> Vec<usize> {
    let mut left = order.to_vec();
    let mut out = Vec::with_capacity(order.len());
    while !left.is_empty() {
        let free = (0..left.len()).filter(|&i| (0..i).all(|j| !conflicts[left[j]][left[i]]));
        let pick = free
            .min_by_key(|&i| left[i])
            .expect("the first operation left is always free");
        out.push(left.remove(pick));
    }
    out
}

/// The invariant, stated once, over the serial runs tried (the caller runs
/// [`orders_to_try`] until one explains the history, skipping only the
/// orders its [`RuledOut`] covers). No runs: not judged.
pub fn sequentially_explained(
    case: &Case,
    history: &History,
    runs: &[SerialRun],
) -> Vec<Violation> {
    if runs.is_empty() {
        return Vec::new();
    }
    let mut closest: Option<Attempt<'_>> = None;
    for run in runs {
        let attempt = attempt(case, history, run);
        if attempt.cost() == 0 {
            return Vec::new();
        }
        if closest.as_ref().is_none_or(|c| attempt.cost() < c.cost()) {
            closest = Some(attempt);
        }
    }
    let (considered, total) = orders_to_try(case, history);
    let ran = if runs.len() < considered.len() {
        format!(
            ": {} run, the others ruled out by a run's statuses or footprints",
            runs.len()
        )
    } else {
        String::new()
    };
    let tried = |orders: String| {
        format!(
            "no serial order explains the history ({orders} respecting real time tried{ran}); closest"
        )
    };
    let headline = match server_errors(case, history).as_slice() {
        [] if considered.len() < total => {
            tried(format!("the first {} of {total} orders", considered.len()))
        }
        [] if total == 1 => tried("the 1 order".to_string()),
        [] => tried(format!("all {total} orders")),
        failed => format!(
            "no serial order explains the history: {} got a 5xx, which a correct server never answers; as the operations finished",
            names(failed)
        ),
    };
    vec![violation(case, &headline, closest)]
}

/// `precedes[x][y]`: operation x finished at a choice before operation y
/// sent its first statement, so any explaining order puts x first. Equal
/// choices impose nothing: the engine records a finish at the choice whose
/// settling revealed it, which may be the very choice that sent y.
fn real_time_order(history: &History, count: usize) -> Vec<Vec<bool>> {
    let mut finished = vec![None; count];
    let mut first_sent = vec![None; count];
    for event in &history.events {
        let index = event.session.index();
        assert!(
            index < count,
            "harness bug: an event of {} in a case of {count} operations",
            event.session
        );
        match event.kind {
            EventKind::Sent(_) => {
                first_sent[index].get_or_insert(event.choice);
            }
            EventKind::Finished(_) => finished[index] = Some(event.choice),
            _ => {}
        }
    }
    (0..count)
        .map(|x| {
            (0..count)
                .map(|y| matches!((finished[x], first_sent[y]), (Some(f), Some(s)) if x != y && f < s))
                .collect()
        })
        .collect()
}

/// Every order of the operations (as indexes) that respects `precedes`, in
/// lexicographic order so the closest order reported is deterministic.
fn orders(precedes: &[Vec<bool>]) -> Vec<Vec<usize>> {
    fn extend(precedes: &[Vec<bool>], prefix: &mut Vec<usize>, all: &mut Vec<Vec<usize>>) {
        let count = precedes.len();
        if prefix.len() == count {
            all.push(prefix.clone());
            return;
        }
        for next in 0..count {
            let placed = |x: usize| prefix.contains(&x);
            let ready = !placed(next) && (0..count).all(|x| placed(x) || !precedes[x][next]);
            if ready {
                prefix.push(next);
                extend(precedes, prefix, all);
                prefix.pop();
            }
        }
    }
    let mut all = Vec::new();
    extend(precedes, &mut Vec::new(), &mut all);
    all
}

/// An operation whose status the serial run does not reproduce.
struct Mismatch<'h> {
    operation: OperationId,
    expected: String,
    got: &'h Outcome,
}

/// One serial run, and how it differs from the history.
struct Attempt<'h> {
    order: Vec<OperationId>,
    mismatches: Vec<Mismatch<'h>>,
    /// Live in the database although the serial run deleted them.
    live_only_in_database: Vec<RowKey>,
    /// Live after the serial run although the database lost them.
    live_only_serially: Vec<RowKey>,
    /// Live rows no row of the case can be: the reference only ever makes
    /// the case's rows, so no serial order explains them.
    strangers: Vec<&'h str>,
}

impl Attempt<'_> {
    /// How far the order is from explaining the history: one per status
    /// that differs, one more if the live rows differ at all.
    fn cost(&self) -> usize {
        let rows_differ = !self.live_only_in_database.is_empty()
            || !self.live_only_serially.is_empty()
            || !self.strangers.is_empty();
        self.mismatches.len() + usize::from(rows_differ)
    }
}

fn attempt<'h>(case: &Case, history: &'h History, run: &SerialRun) -> Attempt<'h> {
    let mut mismatches = Vec::new();
    for &index in &run.order {
        let operation = &case.operations[index];
        let expected = status(run, index);
        // An indeterminate operation is not compared; `judge` never gets here
        // with one, but the invariant stays meaningful on its own.
        if let Some(OperationResult::Finished(got)) = history.results.get(index) {
            // A correct server never answers 5xx, whatever its status number.
            if got.is_server_error() || Some(got.status) != expected {
                mismatches.push(Mismatch {
                    operation: operation.id,
                    expected: match run.results.get(index) {
                        Some(OperationResult::Finished(outcome)) => outcome.status.to_string(),
                        Some(other) => other.to_string(),
                        None => "nothing".into(),
                    },
                    got,
                });
            }
        }
    }
    let database = &history.snapshot.live;
    Attempt {
        order: run.order.iter().map(|&i| case.operations[i].id).collect(),
        mismatches,
        live_only_in_database: database.difference(&run.live).cloned().collect(),
        live_only_serially: run.live.difference(database).cloned().collect(),
        strangers: history
            .snapshot
            .strangers
            .iter()
            .map(String::as_str)
            .collect(),
    }
}

fn names<T: ToString>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// "op1 would get 401 but got 500 …; live rows differ: …".
fn differences(attempt: &Attempt<'_>) -> String {
    let mut differences: Vec<String> = attempt
        .mismatches
        .iter()
        .map(|m| format!("{} would get {} but got {}", m.operation, m.expected, m.got))
        .collect();
    let mut rows_differ = Vec::new();
    if !attempt.live_only_in_database.is_empty() {
        rows_differ.push(format!(
            "live in the database but not serially: {}",
            names(&attempt.live_only_in_database)
        ));
    }
    if !attempt.live_only_serially.is_empty() {
        rows_differ.push(format!(
            "live serially but not in the database: {}",
            names(&attempt.live_only_serially)
        ));
    }
    if !attempt.strangers.is_empty() {
        rows_differ.push(format!(
            "live in the database and no row of the case: {}",
            attempt.strangers.join(", ")
        ));
    }
    if !rows_differ.is_empty() {
        differences.push(format!("live rows differ: {}", rows_differ.join("; ")));
    }
    differences.join("; ")
}

fn violation(case: &Case, headline: &str, closest: Option<Attempt<'_>>) -> Violation {
    let Some(closest) = closest else {
        // Real time orders operations acyclically in any recorded run; an
        // empty set of orders means the history contradicts itself.
        return Violation {
            invariant: Invariant::SequentiallyExplained,
            anomaly: None,
            rows: Vec::new(),
            operations: case.operations.iter().map(|op| op.id).collect(),
            explanation: "no order of the operations respects the history's real-time order".into(),
            blamed: Vec::new(),
        };
    };
    let explanation = format!(
        "{headline}, in order {}: {}",
        names(&closest.order),
        differences(&closest)
    );
    let mismatched: BTreeSet<OperationId> =
        closest.mismatches.iter().map(|m| m.operation).collect();
    let rows: BTreeSet<RowKey> = closest
        .live_only_in_database
        .iter()
        .chain(&closest.live_only_serially)
        .cloned()
        .collect();
    Violation {
        invariant: Invariant::SequentiallyExplained,
        anomaly: None,
        rows: rows.into_iter().collect(),
        // Only the rows differ: no single operation is to blame, so name all.
        operations: if mismatched.is_empty() {
            closest.order
        } else {
            mismatched.into_iter().collect()
        },
        explanation,
        // No single step is to blame for an unexplained history.
        blamed: Vec::new(),
    }
}
