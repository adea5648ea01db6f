//! Judging one run: the oracles' verdict, with the serial runs of the
//! system's reference implementation that sequentially-explained needs,
//! run by the engine on the same database until one explains the history
//! (the order the operations finished in first, so a clean run usually
//! pays for one), skipping the orders earlier runs already rule out.
//!
//! Owns: the meeting of engine and oracles. Must not know: how the run was
//! scheduled.

use crate::case::Case;
use crate::engine::{Engine, EngineError};
use crate::history::History;
use crate::oracle::{self, SerialRun, Verdict, serial};
use std::collections::VecDeque;

/// Every invariant checked against one run of `case`.
pub async fn judge(
    engine: &mut Engine,
    case: &Case,
    history: &History,
) -> Result<Verdict, EngineError> {
    if history.is_indeterminate() {
        return Ok(Verdict::default());
    }
    let runs = serial_runs(engine, case, history).await?;
    Ok(oracle::judge(case, history, &runs))
}

/// `judge`, stopping before the serial runs when `decided` finds the
/// verdict of the oracles that read only the run already enough (a hunt
/// whose target no serial run can show, or that verdict already shows).
pub async fn judge_until(
    engine: &mut Engine,
    case: &Case,
    history: &History,
    decided: impl FnOnce(&Verdict) -> bool,
) -> Result<Verdict, EngineError> {
    // With no serial run, sequentially-explained finds nothing (and an
    // indeterminate history is judged clean either way).
    let run_only = oracle::judge(case, history, &[]);
    if decided(&run_only) {
        return Ok(run_only);
    }
    judge(engine, case, history).await
}

/// The serial runs of the reference that sequentially-explained needs.
async fn serial_runs(
    engine: &mut Engine,
    case: &Case,
    history: &History,
) -> Result<Vec<SerialRun>, EngineError> {
    let (mut orders, _) = serial::orders_to_try(case, history);
    if !serial::server_errors(case, history).is_empty() {
        // Violated whatever the order: one run shows what a correct server does.
        orders.truncate(1);
    }
    let mut runs = Vec::new();
    let mut ruled_out = serial::RuledOut::default();
    // Asked for once a first order failed to explain (most runs never ask);
    // `Some(None)`: no two orders are taken as equivalent.
    let mut conflicts: Option<Option<Vec<Vec<bool>>>> = None;
    let mut pending: VecDeque<Vec<usize>> = orders.into();
    let mut equivalent = Vec::new();
    while let Some(order) = pending.pop_front() {
        if !runs.is_empty() {
            if ruled_out.by_prefix(&order) {
                continue;
            }
            let known = match &conflicts {
                Some(known) => known,
                None => conflicts.insert(engine.reference_conflicts(case).await?),
            };
            if let Some(known) = known
                && ruled_out.by_footprints(&order, known)
            {
                equivalent.push(order);
                continue;
            }
        }
        let outcome = engine.run_serial(case, &order).await?;
        if outcome.met_unique_key && conflicts != Some(None) {
            // A unique index decided something no footprint shows: the
            // orders skipped as equivalent must run after all.
            conflicts = Some(None);
            pending.extend(equivalent.drain(..));
        }
        let run = SerialRun {
            order,
            results: outcome.results,
            live: outcome.live,
        };
        if serial::explains(case, history, &run) {
            runs.push(run);
            break;
        }
        ruled_out.learn(history, &run);
        runs.push(run);
    }
    Ok(runs)
}
