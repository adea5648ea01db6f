//! What pruning saves: every shipped scenario explored in full and with
//! `--prune` (skip schedules that only reorder statements on disjoint tables),
//! at read committed: schedules, seconds, and whether the same kinds of
//! violation are found.

use super::Bench;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Instant;
use tombstone_harness::explore::{ExploreLimits, explore};
use tombstone_harness::scenario::Scenario;

pub fn savings(bench: &Bench) -> (Value, Vec<[String; 4]>) {
    let (database, mut engine) = bench.engine();
    let implementation = bench.implementation("stack-auth-post-1466");
    let (mut values, mut rows) = (Vec::new(), Vec::new());
    for name in Scenario::names(&bench.system) {
        let scenario = Scenario::load(&bench.system, &name).expect("scenario");
        let mut measured = Vec::new();
        for pruned in [false, true] {
            let limits = ExploreLimits {
                pruned,
                ..ExploreLimits::default()
            };
            let started = Instant::now();
            let explored = bench
                .runtime
                .block_on(explore(
                    &mut engine,
                    &scenario.case,
                    &implementation,
                    limits,
                    |_| {},
                ))
                .expect("explore");
            let seconds = started.elapsed().as_secs_f64();
            let kinds: BTreeSet<String> = explored
                .iter()
                .flat_map(|e| {
                    e.verdict
                        .violations
                        .iter()
                        .map(|v| format!("{} {:?}", v.invariant, v.anomaly))
                })
                .collect();
            measured.push((explored.len(), seconds, kinds));
        }
        let (full, pruned) = (&measured[0], &measured[1]);
        let same = full.2 == pruned.2;
        values.push(json!({
            "scenario": name, "schedules_full": full.0, "schedules_pruned": pruned.0,
            "seconds_full": full.1, "seconds_pruned": pruned.1, "same_violation_kinds": same,
        }));
        rows.push([
            format!("pruning, scenario {name} (post-1466): schedules, seconds"),
            format!("{} schedules, {:.2} s", pruned.0, pruned.1),
            format!("full: {} schedules, {:.2} s", full.0, full.1),
            format!("same violation kinds: {}", if same { "yes" } else { "NO" }),
        ]);
    }
    drop(engine);
    let _ = bench.runtime.block_on(database.drop_database());
    (json!(values), rows)
}
