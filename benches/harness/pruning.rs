//! What reduction saves: every shipped scenario of every shipped system
//! explored in full, with `--prune` (neighbouring statements on disjoint
//! tables) and reduced (the default: one schedule per class of schedules
//! equivalent by the rows each statement reaches), at read committed, under
//! each system's first implementation that is not its reference (the one
//! with findings): schedules run, runs the reduction ended early, seconds,
//! the distinct outcomes each found, and whether they are the same.

use super::Bench;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Instant;
use tombstone_harness::explore::{ExploreLimits, Reduction, explore_counted, outcome};
use tombstone_harness::implementation::{Implementation, Isolation};
use tombstone_harness::scenario::Scenario;
use tombstone_harness::system::System;

struct Measured {
    schedules: usize,
    abandoned: u64,
    seconds: f64,
    outcomes: BTreeSet<String>,
}

pub fn savings(bench: &Bench) -> (Value, Vec<[String; 4]>) {
    let (mut values, mut rows) = (Vec::new(), Vec::new());
    for system_name in System::shipped_names() {
        let system = System::load(system_name).expect("shipped system");
        let database = bench
            .runtime
            .block_on(bench.server.create_database(&system))
            .expect("create database");
        let mut engine = bench
            .runtime
            .block_on(tombstone_harness::engine::Engine::open(
                database.connector(),
                tombstone_harness::engine::Limits::default(),
            ))
            .expect("open engine");
        let implementation = Implementation::shipped(&system)
            .expect("implementations")
            .into_iter()
            .find(|i| i.name != system.reference)
            .expect("a non-reference implementation")
            .with_isolation(Isolation::ReadCommitted);
        for name in Scenario::names(&system) {
            let scenario = Scenario::load(&system, &name).expect("scenario");
            let mut measured = Vec::new();
            for reduction in [Reduction::None, Reduction::Tables, Reduction::Rows] {
                let limits = ExploreLimits {
                    reduction,
                    ..ExploreLimits::default()
                };
                let started = Instant::now();
                let (explored, stats) = bench
                    .runtime
                    .block_on(explore_counted(
                        &mut engine,
                        &scenario.case,
                        &implementation,
                        limits,
                        |_| {},
                    ))
                    .expect("explore");
                measured.push(Measured {
                    schedules: explored.len(),
                    abandoned: stats.abandoned,
                    seconds: started.elapsed().as_secs_f64(),
                    outcomes: explored.iter().map(outcome).collect(),
                });
            }
            let (full, pruned, reduced) = (&measured[0], &measured[1], &measured[2]);
            let same = full.outcomes == reduced.outcomes && full.outcomes == pruned.outcomes;
            values.push(json!({
                "system": system_name, "scenario": name, "implementation": implementation.name,
                "schedules_full": full.schedules, "schedules_pruned": pruned.schedules,
                "schedules_reduced": reduced.schedules, "abandoned_reduced": reduced.abandoned,
                "outcomes": full.outcomes.len(),
                "seconds_full": full.seconds, "seconds_pruned": pruned.seconds,
                "seconds_reduced": reduced.seconds, "same_outcomes": same,
            }));
            rows.push([
                format!(
                    "reduction, {system_name} {name} ({}): schedules (+ ended early), seconds",
                    implementation.name
                ),
                format!(
                    "reduced {} (+{}), {:.2} s; {} outcomes",
                    reduced.schedules,
                    reduced.abandoned,
                    reduced.seconds,
                    reduced.outcomes.len()
                ),
                format!(
                    "full {}, {:.2} s; --prune {}, {:.2} s",
                    full.schedules, full.seconds, pruned.schedules, pruned.seconds
                ),
                format!("same outcomes: {}", if same { "yes" } else { "NO" }),
            ]);
        }
        drop(engine);
        let _ = bench.runtime.block_on(database.drop_database());
    }
    (json!(values), rows)
}
