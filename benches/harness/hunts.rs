//! Time to find anomalies A, B and C over many seeds: the hunt's own
//! `first_failure` (from its start to the first failing case) and the time
//! to the end of shrinking.

use super::{Bench, env_u64, median};
use serde_json::{Value, json};
use std::time::Instant;
use tombstone_harness::generate::{Hunt, Target};
use tombstone_harness::implementation::Implementation;
use tombstone_harness::oracle::{Anomaly, Invariant};

/// Stack Auth's anomaly named `name` (A, B, C …).
fn named(bench: &Bench, name: &str) -> Option<Anomaly> {
    Anomaly::all(&bench.system)
        .into_iter()
        .find(|a| a.name == name)
}

struct Outcome {
    seconds: f64,
    first_failure: f64,
    found: bool,
    operations: usize,
    tokens: usize,
    cases_run: u32,
}

fn hunt(
    bench: &Bench,
    implementation: &Implementation,
    target: Target,
    seed: u64,
    shrink: bool,
) -> Outcome {
    let (database, mut engine) = bench.engine();
    let mut hunt = Hunt::from_env(2_000, seed);
    hunt.seed = seed;
    if !shrink {
        hunt.max_shrink_iters = 0;
    }
    let started = Instant::now();
    let found = hunt
        .run(
            &bench.runtime,
            &mut engine,
            &bench.system,
            implementation,
            target,
        )
        .expect("hunt");
    let seconds = started.elapsed().as_secs_f64();
    drop(engine);
    let _ = bench.runtime.block_on(database.drop_database());
    match found {
        Some(f) => Outcome {
            seconds,
            first_failure: f.first_failure.as_secs_f64(),
            found: true,
            operations: f.case.operations.len(),
            tokens: f.case.world.counts().get("token").copied().unwrap_or(0),
            cases_run: f.cases_run,
        },
        None => Outcome {
            seconds,
            first_failure: seconds,
            found: false,
            operations: 0,
            tokens: 0,
            cases_run: 0,
        },
    }
}

pub fn time_to_find(bench: &Bench) -> (Value, Vec<[String; 4]>) {
    let seeds = env_u64("BENCH_SEEDS", 20);
    let targets = [
        (
            "A",
            "stack-auth-pre-1466",
            Target::Only(Invariant::NoServerError, named(bench, "A")),
            0.5,
        ),
        (
            "B",
            "stack-auth-post-1466",
            Target::Only(Invariant::ExactlyOneTombstone, named(bench, "B")),
            2.0,
        ),
        (
            "C",
            "stack-auth-post-1466",
            Target::Only(Invariant::ExactlyOneTombstone, named(bench, "C")),
            2.0,
        ),
    ];
    let mut value = serde_json::Map::new();
    let mut rows = Vec::new();
    for (label, name, target, goal_s) in targets {
        let implementation = bench.implementation(name);
        let (mut first, mut end, mut sizes, mut cases, mut found) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), 0);
        for seed in 1..=seeds {
            let full = hunt(bench, &implementation, target.clone(), seed, true);
            if full.found {
                found += 1;
                first.push(full.first_failure);
                end.push(full.seconds);
                sizes.push((full.operations, full.tokens));
                cases.push(full.cases_run as f64);
            }
        }
        let max = |v: &[f64]| v.iter().copied().fold(f64::NAN, f64::max);
        let (first_max, end_max) = (max(&first), max(&end));
        let (first_median, end_median, cases_median) =
            (median(&mut first), median(&mut end), median(&mut cases));
        let mut ops: Vec<f64> = sizes.iter().map(|s| s.0 as f64).collect();
        let mut toks: Vec<f64> = sizes.iter().map(|s| s.1 as f64).collect();
        let (ops_median, toks_median) = (median(&mut ops), median(&mut toks));
        let ops_max = sizes.iter().map(|s| s.0).max().unwrap_or(0);
        value.insert(
            label.into(),
            json!({
                "implementation": name, "seeds": seeds, "found": found,
                "first_failure_s_median": first_median, "first_failure_s_max": first_max,
                "end_of_shrinking_s_median": end_median, "end_of_shrinking_s_max": end_max,
                "cases_run_including_shrinking_median": cases_median,
                "shrunk_operations_median": ops_median, "shrunk_operations_max": ops_max,
                "shrunk_tokens_median": toks_median, "shrunk_sizes": sizes,
            }),
        );
        let met = found as u64 == seeds && first_median < goal_s && (label != "A" || ops_max <= 2);
        rows.push([
            format!("anomaly {label} ({name}): found, to first failure / end of shrink (median, max), shrunk size"),
            format!(
                "{found}/{seeds}; {first_median:.2} s ({first_max:.2}) / {end_median:.2} s ({end_max:.2}); {ops_median:.0} ops (max {ops_max}), {toks_median:.0} tokens"
            ),
            "—".into(),
            format!("median < {goal_s} s{}, {seeds}/{seeds} — {}", if label == "A" { ", 2 ops" } else { "" }, if met { "met" } else { "MISSED" }),
        ]);
    }
    (Value::Object(value), rows)
}
