//! Every saved counterexample of every shipped system
//! (`fixtures/systems/*/counterexamples/`) is replayed (Cargo runs this binary
//! before the generating ones, alphabetically): it must still violate exactly
//! what it recorded, and tell the same story 20 times out of 20.

#[path = "common/cli.rs"]
mod cli;
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

/// The saved files of `explore --save`, from its output.
fn saved_by_explore(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("saved "))
        .filter_map(|l| l.split(" (replay: ").next())
        .map(String::from)
        .collect()
}

#[test]
fn a_counterexample_of_an_implementation_file_replays_anywhere_and_refuses_a_changed_file() {
    let work = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let shipped = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/systems/stack-auth/implementations/stack-auth-pre-1466.toml"
    );
    let text = std::fs::read_to_string(shipped).unwrap();
    let mine = text.replacen("name = \"stack-auth-pre-1466\"", "name = \"mine\"", 1);
    assert_ne!(mine, text);
    std::fs::write(work.path().join("mine.toml"), &mine).unwrap();
    let explore = [
        "--pg",
        "local",
        "explore",
        "1466",
        "-i",
        "mine.toml",
        "--save",
        "saved",
    ];
    let out = cli::expect_exit(work.path(), &explore, 1);
    let saved = saved_by_explore(&out);
    let file = saved.first().expect("explore saved a counterexample");
    // The printed command, where it was printed, and again from elsewhere.
    let absolute = work.path().join(file).display().to_string();
    for (dir, file) in [(work.path(), file.as_str()), (elsewhere.path(), &absolute)] {
        let out = cli::expect_exit(dir, &["--pg", "local", "replay", file], 1);
        assert!(out.starts_with("mine at read-committed"), "{out}");
        assert!(!out.contains("does not reproduce"), "{out}");
        let timeline = ["--pg", "local", "timeline", file, "--svg", "t.svg"];
        cli::expect_exit(dir, &timeline, 0);
    }

    std::fs::write(work.path().join("mine.toml"), mine + "\n# edited\n").unwrap();
    let replay = ["--pg", "local", "replay", &absolute];
    let timeline = ["--pg", "local", "timeline", &absolute, "--svg", "t.svg"];
    let changed = "mine.toml changed since this counterexample was saved";
    cli::expect_one_line_error(elsewhere.path(), &replay, changed);
    cli::expect_one_line_error(elsewhere.path(), &timeline, changed);

    for implementation in ["mine.toml", "stack-auth-pre-1466"] {
        let replay = [&replay[..], &["--implementation", implementation]].concat();
        let out = cli::expect_exit(work.path(), &replay, 1);
        let told = format!("--implementation {implementation}");
        assert!(out.contains(&told), "{out}");
    }

    std::fs::remove_file(work.path().join("mine.toml")).unwrap();
    let gone = "the implementation file of 'mine' is gone";
    cli::expect_one_line_error(elsewhere.path(), &replay, gone);
}

/// `(implementation, anomaly or "serial", rest of the line)` of each row
/// under the findings table.
fn finding_lines(stdout: &str) -> Vec<(String, String, String)> {
    let table = stdout.split("findings (cases per").nth(1).unwrap_or("");
    table
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .filter_map(|l| {
            let (who, rest) = l.split_once(": ")?;
            let (implementation, anomaly) = who.split_once(' ')?;
            Some((implementation.into(), anomaly.into(), rest.into()))
        })
        .collect()
}

#[tokio::test]
async fn every_finding_links_a_counterexample_of_its_own_anomaly_or_says_why_not() {
    let dir = tempfile::tempdir().unwrap();
    // Free-running findings come from real timing; their examples have to
    // be found again under schedules, which is where links went wrong.
    let stress = [
        "--pg",
        "local",
        "stress",
        "--mode",
        "free",
        "--cases",
        "60",
        "--seed",
        "5",
        "-i",
        "stack-auth-pre-1466",
        "-i",
        "stack-auth-post-1466",
        "--save-dir",
        "saved",
    ];
    let stdout = cli::expect_exit(dir.path(), &stress, 1);
    let lines = finding_lines(&stdout);
    assert!(lines.len() >= 4, "{stdout}");
    let (_database, mut engine) = common::engine().await;
    for (implementation, anomaly, rest) in lines {
        let Some(file) = rest.strip_prefix("tombstone-harness replay ") else {
            assert!(rest.starts_with("none reproduced: "), "{rest}");
            continue;
        };
        let file = dir.path().join(file);
        let counterexample = Counterexample::load(&file).unwrap();
        assert_eq!(counterexample.implementation, implementation);
        let chosen = counterexample.implementation(&file, None).unwrap();
        let chooser = &mut Scripted::new(counterexample.schedule.clone());
        let history = engine
            .run(&counterexample.case, &chosen, chooser)
            .await
            .unwrap();
        let verdict = judge::judge(&mut engine, &counterexample.case, &history)
            .await
            .unwrap();
        let shown = verdict.violations.iter().any(|v| {
            v.anomaly
                .as_ref()
                .map(|a| a.to_string())
                .unwrap_or_else(|| "serial".into())
                == anomaly
        });
        assert!(
            shown,
            "{implementation} {anomaly}: {} shows\n{verdict}",
            file.display()
        );
    }
}
