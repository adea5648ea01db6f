//! Every saved counterexample in `fixtures/counterexamples/` is replayed (Cargo
//! runs this binary before the generating ones, alphabetically): it must
//! still violate exactly what it recorded, and tell the same story 20 times
//! out of 20.

mod common;

use std::path::PathBuf;
use tombstone_harness::chooser::Scripted;
use tombstone_harness::counterexample::{Counterexample, Expected};
use tombstone_harness::implementation::Implementation;
use tombstone_harness::oracle;

fn saved() -> Vec<PathBuf> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/counterexamples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn every_saved_counterexample_reproduces_exactly_and_deterministically() {
    let files = saved();
    assert!(
        files.len() >= 6,
        "the shipped counterexamples are missing: {files:?}"
    );
    let (_database, mut engine) = common::engine().await;
    for file in files {
        let counterexample = Counterexample::load(&file).unwrap();
        let mut implementation = Implementation::load(&counterexample.implementation).unwrap();
        if let Some(isolation) = counterexample.isolation {
            implementation = implementation.with_isolation(isolation);
        }
        let mut first = None;
        for run in 0..20 {
            let chooser = &mut Scripted::new(counterexample.schedule.clone());
            let history = engine
                .run(&counterexample.case, &implementation, chooser)
                .await
                .unwrap();
            assert_eq!(
                history.schedule,
                counterexample.schedule,
                "{}",
                file.display()
            );
            let fingerprint = history.fingerprint();
            match &first {
                None => {
                    let verdict = oracle::judge(&counterexample.case, &history);
                    let again = Counterexample::new(
                        &counterexample.implementation,
                        counterexample.isolation,
                        &counterexample.case,
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

#[test]
fn corrupt_and_old_files_are_one_line_errors() {
    let cases = [
        ("{", "not a counterexample"),
        (
            "{\"format\": \"tombstone-harness counterexample v0\"}",
            "format 'tombstone-harness counterexample v0' is not supported",
        ),
        ("{\"implementation\": \"atomic\"}", "no \"format\" field"),
        (
            "{\"format\": \"tombstone-harness counterexample v1\", \"implementation\": \"atomic\", \"case\": {\"world\": {}, \"operations\": []}, \"schedule\": \"v1: 1\", \"expected\": []}",
            "a case needs at least one operation",
        ),
        (
            "{\"format\": \"tombstone-harness counterexample v1\", \"implementation\": \"atomic\", \"case\": {\"world\": {}, \"operations\": []}, \"schedule\": \"v7: 1\", \"expected\": []}",
            "schedule version 'v7'",
        ),
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
