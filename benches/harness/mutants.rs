//! Time to kill each mutant of the corpus (`fixtures/mutants/`) by the
//! invariant its manifest names, over BENCH_SEEDS seeds: from the start
//! (its operations alone first) to the first run showing that finding.

use super::{Bench, env_u64, median, repo_path};
use serde_json::{Value, json};
use std::time::Duration;
use tombstone_harness::generate::Bounds;
use tombstone_harness::implementation::Implementation;
use tombstone_harness::mutate::{MutateConfig, corpus, kill_on};
use tombstone_harness::system::System;

/// Past this a seed counts as not killed.
const BUDGET: Duration = Duration::from_secs(30);
const GOAL_S: f64 = 2.0;

pub fn time_to_kill(bench: &Bench) -> (Value, Vec<[String; 4]>) {
    let seeds = env_u64("BENCH_SEEDS", 20);
    let entries =
        corpus::load(&repo_path("fixtures/mutants/mutants.toml")).expect("the mutant corpus");
    let mut value = serde_json::Map::new();
    let mut rows = Vec::new();
    let mut worst: f64 = 0.0;
    let mut all_killed = true;
    for entry in &entries {
        let system = System::load(&entry.system).expect("system");
        let implementation =
            Implementation::load(&system, &entry.file.display().to_string()).expect("mutant");
        let target = entry.target(&system).expect("target");
        let mut times = Vec::new();
        for seed in 1..=seeds {
            let config = MutateConfig {
                seed,
                budget: BUDGET,
                bounds: Bounds::default(),
                schedules_max: 0,
            };
            let killed = bench
                .runtime
                .block_on(kill_on(
                    &bench.server,
                    &system,
                    &implementation,
                    &config,
                    &target,
                ))
                .expect("kill");
            if let Ok(kill) = killed {
                times.push(kill.after.as_secs_f64());
            }
        }
        let killed = times.len() as u64;
        let max = times.iter().copied().fold(0.0, f64::max);
        let med = median(&mut times);
        worst = worst.max(max);
        all_killed &= killed == seeds;
        value.insert(
            entry.name.clone(),
            json!({
                "system": entry.system, "invariant": entry.invariant.name(),
                "anomaly": entry.anomaly, "seeds": seeds, "killed": killed,
                "time_to_kill_s_median": med, "time_to_kill_s_max": max,
            }),
        );
        rows.push([
            format!(
                "mutant {} ({}): killed, time to kill (median, max)",
                entry.name, entry.invariant
            ),
            format!("{killed}/{seeds}; {med:.2} s ({max:.2} s)"),
            "—".into(),
            format!(
                "< {GOAL_S} s — {}",
                if killed == seeds && max < GOAL_S {
                    "met"
                } else {
                    "MISSED"
                }
            ),
        ]);
    }
    value.insert(
        "summary".into(),
        json!({ "mutants": entries.len(), "all_killed": all_killed, "worst_time_to_kill_s": worst }),
    );
    (Value::Object(value), rows)
}
