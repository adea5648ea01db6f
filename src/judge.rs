//! Judging one run: the oracles' verdict, with the serial runs of the
//! system's reference implementation that sequentially-explained needs,
//! run by the engine on the same database until one explains the history
//! (the order the operations finished in first, so a clean run usually
//! pays for one).
//!
//! Owns: the meeting of engine and oracles. Must not know: how the run was
//! scheduled.

use crate::case::Case;
use crate::engine::{Engine, EngineError};
use crate::history::History;
use crate::oracle::{self, SerialRun, Verdict, serial};

/// Every invariant checked against one run of `case`.
pub async fn judge(
    engine: &mut Engine,
    case: &Case,
    history: &History,
) -> Result<Verdict, EngineError> {
    if history.is_indeterminate() {
        return Ok(Verdict::default());
    }
    let (mut orders, _) = serial::orders_to_try(case, history);
    if !serial::server_errors(case, history).is_empty() {
        // Violated whatever the order: one run shows what a correct server does.
        orders.truncate(1);
    }
    let mut runs = Vec::new();
    for order in orders {
        let (results, live) = engine.run_serial(case, &order).await?;
        let run = SerialRun {
            order,
            results,
            live,
        };
        let explained = serial::explains(case, history, &run);
        runs.push(run);
        if explained {
            break;
        }
    }
    Ok(oracle::judge(case, history, &runs))
}
