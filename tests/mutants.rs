//! The mutant corpus (`fixtures/mutants/`): every hand-written broken
//! implementation is caught by the invariant and anomaly its manifest
//! entry names, within a budget, on a real PostgreSQL. A change to the
//! engine, the oracles or the generator that lets one through has lost a
//! bug class. Times to kill over 20 seeds are `make bench`'s (BENCHMARKS.md).

mod common;

use std::time::Duration;
use tombstone_harness::generate::Bounds;
use tombstone_harness::implementation::Implementation;
use tombstone_harness::mutate::corpus;
use tombstone_harness::mutate::{KilledBy, MutateConfig, kill_on};
use tombstone_harness::system::System;

/// Generous: the corpus is killed in about a second each (BENCHMARKS.md);
/// this only bounds a regression.
const BUDGET: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_corpus_mutant_is_caught_by_its_expected_invariant() {
    let manifest =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/mutants/mutants.toml");
    let entries = corpus::load(&manifest).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        entries.len() >= 10,
        "the corpus has {} mutants",
        entries.len()
    );
    let server = common::server();
    let mut missed = Vec::new();
    for entry in &entries {
        let system = System::load(&entry.system).unwrap_or_else(|e| panic!("{e}"));
        let implementation = Implementation::load(&system, &entry.file.display().to_string())
            .unwrap_or_else(|e| panic!("{e}"));
        let target = entry.target(&system).unwrap_or_else(|e| panic!("{e}"));
        let config = MutateConfig {
            seed: 1,
            budget: BUDGET,
            bounds: Bounds::default(),
            schedules_max: 0,
        };
        let killed = kill_on(&server, &system, &implementation, &config, &target)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", entry.name));
        match killed {
            Ok(kill) => {
                let KilledBy::Invariant(violation) = &kill.by else {
                    panic!("{}: killed by {:?}, not an invariant", entry.name, kill.by);
                };
                assert_eq!(violation.invariant, entry.invariant, "{}", entry.name);
                assert_eq!(
                    violation.anomaly.as_ref().map(|a| a.name.clone()),
                    entry.anomaly,
                    "{}: {violation}",
                    entry.name
                );
                assert!(
                    !violation.operations.is_empty(),
                    "{}: the finding names no operation: {violation}",
                    entry.name
                );
                eprintln!(
                    "{}: {} after {:.2} s ({:?})",
                    entry.name,
                    violation,
                    kill.after.as_secs_f64(),
                    kill.stage
                );
            }
            Err(cases) => missed.push(format!("{} ({cases} cases)", entry.name)),
        }
    }
    assert!(
        missed.is_empty(),
        "not caught within {BUDGET:?}: {missed:?}"
    );
}
