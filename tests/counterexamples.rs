//! Every saved counterexample of every shipped system
//! (`fixtures/systems/*/counterexamples/`) is replayed (Cargo runs this binary
//! before the generating ones, alphabetically): it must still violate exactly
//! what it recorded, and tell the same story 20 times out of 20.

mod common;

use std::path::PathBuf;
use tombstone_harness::chooser::Scripted;
use tombstone_harness::counterexample::{Counterexample, Expected};
use tombstone_harness::implementation::Implementation;
use tombstone_harness::judge;

const SYSTEMS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/systems");

/// The saved counterexamples of each shipped system, by system directory.
fn saved() -> Vec<(String, Vec<PathBuf>)> {
    let mut systems: Vec<PathBuf> = std::fs::read_dir(SYSTEMS)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    systems.sort();
    systems
        .into_iter()
        .map(|dir| {
            let name = dir.file_name().unwrap().to_string_lossy().to_string();
            let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("counterexamples"))
                .map(|d| d.map(|e| e.unwrap().path()).collect())
                .unwrap_or_default();
            files.retain(|p| p.extension().is_some_and(|e| e == "json"));
            files.sort();
            (name, files)
        })
        .collect()
}

#[tokio::test]
async fn every_saved_counterexample_reproduces_exactly_and_deterministically() {
    let systems = saved();
    let stack_auth = systems
        .iter()
        .find(|(name, _)| name == "stack-auth")
        .map(|(_, files)| files.len())
        .unwrap_or(0);
    assert!(
        stack_auth >= 6,
        "the shipped counterexamples are missing: {systems:?}"
    );
    for (name, files) in systems {
        if files.is_empty() {
            continue;
        }
        let system = tombstone_harness::system::System::load(&name).unwrap();
        let (_database, mut engine) = common::engine_for(&system).await;
        for file in files {
            let counterexample = Counterexample::load(&file).unwrap();
            let case = &counterexample.case;
            assert_eq!(case.system.name, system.name, "{}", file.display());
            let mut implementation =
                Implementation::load(&case.system, &counterexample.implementation).unwrap();
            if let Some(isolation) = counterexample.isolation {
                implementation = implementation.with_isolation(isolation);
            }
            let mut first = None;
            for run in 0..20 {
                let chooser = &mut Scripted::new(counterexample.schedule.clone());
                let history = engine.run(case, &implementation, chooser).await.unwrap();
                assert_eq!(
                    history.schedule,
                    counterexample.schedule,
                    "{}",
                    file.display()
                );
                let fingerprint = history.fingerprint();
                match &first {
                    None => {
                        let verdict = judge::judge(&mut engine, case, &history).await.unwrap();
                        let again = Counterexample::new(
                            &counterexample.implementation,
                            counterexample.isolation,
                            case,
                            &history.schedule,
                            &verdict,
                        );
                        let expected: &[Expected] = &counterexample.expected;
                        assert_eq!(again.expected, expected, "{}: {verdict}", file.display());
                        first = Some(fingerprint);
                    }
                    Some(first) => assert_eq!(
                        first,
                        &fingerprint,
                        "{} differs on replay {}",
                        file.display(),
                        run + 1
                    ),
                }
            }
        }
    }
}

const V2: &str = "\"format\": \"tombstone-harness counterexample v2\", \"system\": \"stack-auth\"";

#[test]
fn corrupt_and_old_files_are_one_line_errors() {
    let empty_case = format!(
        "{{{V2}, \"implementation\": \"atomic\", \"case\": {{\"world\": {{}}, \"operations\": []}}, \"schedule\": \"v1: 1\", \"expected\": []}}"
    );
    let bad_schedule = format!(
        "{{{V2}, \"implementation\": \"atomic\", \"case\": {{\"world\": {{}}, \"operations\": []}}, \"schedule\": \"v7: 1\", \"expected\": []}}"
    );
    let unknown_system = empty_case.replacen("\"stack-auth\"", "\"no-such-system\"", 1);
    let cases = [
        ("{", "not a counterexample"),
        (
            "{\"format\": \"tombstone-harness counterexample v0\"}",
            "format 'tombstone-harness counterexample v0' is not supported",
        ),
        // Files saved before systems were data.
        (
            "{\"format\": \"tombstone-harness counterexample v1\", \"implementation\": \"atomic\"}",
            "format 'tombstone-harness counterexample v1' is not supported",
        ),
        ("{\"implementation\": \"atomic\"}", "no \"format\" field"),
        (&empty_case, "a case needs at least one operation"),
        (&bad_schedule, "schedule version 'v7'"),
        (&unknown_system, "unknown system 'no-such-system'"),
    ];
    for (text, needle) in cases {
        let error = Counterexample::parse("saved.json", text)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("saved.json: ") && error.contains(needle),
            "{error}"
        );
        assert!(!error.contains('\n'), "{error}");
    }
}
