//! What a user of `mutate` and of the stricter oracles sees, through the
//! real binary: the mutation table and its exit code, a survivor's re-run
//! command, tombstones the sync cannot replay found as findings (never as
//! infrastructure errors, never indeterminate), and a SQL typo as a
//! one-line usage error before any concurrency.

#[path = "common/cli.rs"]
mod cli;

use cli::{expect_exit, expect_one_line_error, harness_in, stderr, stdout};
use std::path::Path;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The table row of mutant `id`: its id cell, then the rest of the line.
fn row<'a>(table: &'a str, id: &str) -> &'a str {
    table
        .lines()
        .find(|l| l.split('|').next().is_some_and(|cell| cell.trim() == id))
        .unwrap_or_else(|| panic!("no row for {id} in:\n{table}"))
}

#[test]
fn mutate_kills_blog_fixed_mutants_and_proves_the_equivalent_one() {
    // Two workers: the table is in the mutants' order whatever finishes first.
    let args = "--system blog mutate -i blog-fixed --budget 10s --seed 1 --jobs 2";
    let args: Vec<&str> = args.split(' ').collect();
    let out = expect_exit(repo(), &args, 0);
    assert!(
        row(&out, "delete-post/2-3/swap-steps")
            .contains("killed by exactly-one-tombstone (missing), alone"),
        "{out}"
    );
    assert!(
        row(&out, "delete-comment/1/drop-key-field/id").contains("killed by check (23502), alone"),
        "{out}"
    );
    assert!(
        row(&out, "delete-post/3/split-record-delete")
            .contains("equivalent on comment-delete-vs-post-delete, comment-during-post-delete"),
        "{out}"
    );
    assert!(
        out.contains("13 mutants: 12 killed, 1 equivalent, 0 survived; mutation score 12/12"),
        "{out}"
    );
}

#[test]
fn a_mutant_no_scenario_can_prove_equivalent_survives_with_exit_1_and_a_rerun_command() {
    // A user's copy of blog without scenarios: nothing can prove the
    // equivalent mutant equivalent, so it survives.
    let dir = tempfile::tempdir().unwrap();
    let system = dir.path().join("my-blog");
    copy_dir(&repo().join("fixtures/systems/blog"), &system);
    std::fs::remove_dir_all(system.join("scenarios")).unwrap();
    let system = system.display().to_string();
    let args = [
        "--system",
        system.as_str(),
        "mutate",
        "-i",
        "blog-fixed",
        "--only",
        "delete-post/3/split-record-delete",
        "--budget",
        "2s",
        "--seed",
        "3",
    ];
    let out = expect_exit(dir.path(), &args, 1);
    assert!(
        row(&out, "delete-post/3/split-record-delete").contains("SURVIVED")
            && out.contains("no shipped scenario runs delete-post"),
        "{out}"
    );
    let rerun = format!(
        "survived delete-post/3/split-record-delete: tombstone-harness --system {system} mutate -i blog-fixed --only 'delete-post/3/split-record-delete' --seed 3 --budget 2s"
    );
    assert!(out.contains(&rerun), "{rerun} not in:\n{out}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn a_misnamed_key_field_is_a_finding_from_stress_never_indeterminate() {
    let dir = tempfile::tempdir().unwrap();
    let mutant = repo().join("fixtures/mutants/stack-auth/sign-out-key-names-token-id.toml");
    let report = dir.path().join("report.json");
    let args = [
        "stress",
        "-i",
        mutant.to_str().unwrap(),
        "--cases",
        "20",
        "--seed",
        "1",
        "--report",
        report.to_str().unwrap(),
        "--save-dir",
        dir.path().to_str().unwrap(),
    ];
    let out = expect_exit(dir.path(), &args, 1);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["indeterminate"], 0, "{json}");
    assert_eq!(json["reconnects"], 0, "{json}");
    let findings = json["findings"].as_array().unwrap();
    let wrong = findings
        .iter()
        .find(|f| f["invariant"] == "replayable-tombstone")
        .unwrap_or_else(|| panic!("no replayable-tombstone finding: {out}"));
    assert_eq!(wrong["anomaly"], "wrong", "{wrong}");
    let explanation = wrong["explanation"].as_str().unwrap();
    assert!(
        explanation.contains("key lacks field 'id'") && explanation.contains("'tokenId'"),
        "{explanation}"
    );
    // The saved counterexample replays to the same finding.
    let replay = wrong["replay"].as_str().unwrap();
    let file = replay.rsplit(' ').next().unwrap();
    let story = expect_exit(dir.path(), &["replay", file], 1);
    assert!(
        story.contains("replayable-tombstone (wrong tombstone)"),
        "{story}"
    );
}

/// atomic with a misspelt table in sign-out.
fn typo(dir: &Path) -> String {
    let atomic = std::fs::read_to_string(
        repo().join("fixtures/systems/stack-auth/implementations/atomic.toml"),
    )
    .unwrap();
    let broken = atomic.replacen(
        "DELETE FROM \"ProjectUserRefreshToken\" WHERE \"tenancyId\" = :tenancy AND \"id\" = :token RETURNING *",
        "DELETE FROM \"ProjectUserRefreshTokens\" WHERE \"tenancyId\" = :tenancy AND \"id\" = :token RETURNING *",
        1,
    );
    assert_ne!(atomic, broken);
    let path = dir.join("typo.toml");
    std::fs::write(&path, broken).unwrap();
    path.display().to_string()
}

#[test]
fn a_sql_typo_is_a_one_line_usage_error_from_check_run_and_stress() {
    let dir = tempfile::tempdir().unwrap();
    let file = typo(dir.path());
    let commands: [&[&str]; 3] = [
        &["check", "-i", &file],
        &["run", "-i", &file, "--cases", "5"],
        &["stress", "-i", &file, "--cases", "5"],
    ];
    for args in commands {
        let output = harness_in(dir.path(), args);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {err}");
        let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{args:?}: {err}");
        assert!(
            errors[0].contains("operation 'sign-out', step 'delete and record token'")
                && errors[0].contains("42P01")
                && errors[0].contains("ProjectUserRefreshTokens"),
            "{args:?}: {err}"
        );
        assert!(
            !stdout(&output).contains("findings"),
            "{args:?} raced a broken file"
        );
    }
}

#[test]
fn an_orphan_tombstone_is_a_finding_of_run_and_its_story_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let mutant = repo().join("fixtures/mutants/stack-auth/sign-out-table-not-a-table.toml");
    let save = dir.path().display().to_string();
    let args = [
        "run",
        "-i",
        mutant.to_str().unwrap(),
        "--cases",
        "8",
        "--seed",
        "2",
        "--save-dir",
        save.as_str(),
    ];
    let out = expect_exit(dir.path(), &args, 1);
    let replay = out
        .lines()
        .find(|l| l.contains(" orphan: tombstone-harness replay "))
        .unwrap_or_else(|| panic!("no orphan finding with a replay command:\n{out}"));
    let file = replay.rsplit(' ').next().unwrap();
    let story = expect_exit(dir.path(), &["replay", file], 1);
    assert!(
        story.contains("an orphan in RefreshToken (by op")
            && story.contains("replayable-tombstone (orphan tombstone)")
            && story.contains("it names table 'RefreshToken', which the system does not track"),
        "{story}"
    );
}

#[test]
fn mutants_can_be_listed_and_saved_as_implementation_files() {
    let dir = tempfile::tempdir().unwrap();
    let save = dir.path().join("mutants");
    let save_arg = save.display().to_string();
    let args = [
        "--system",
        "blog",
        "mutate",
        "-i",
        "blog-fixed",
        "--list",
        "--save",
        &save_arg,
    ];
    let out = expect_exit(dir.path(), &args, 0);
    assert!(
        out.contains("delete-post/1/drop-for-update\n  - FOR UPDATE\n  + \n"),
        "{out}"
    );
    let saved: Vec<_> = std::fs::read_dir(&save).unwrap().collect();
    assert_eq!(saved.len(), 13, "one file per mutant");
    // A saved mutant is an implementation file like any other.
    let file = save.join("delete-post_1_drop-for-update.toml");
    let file = file.display().to_string();
    let checked = expect_exit(dir.path(), &["--system", "blog", "check", "-i", &file], 0);
    assert!(checked.contains("system blog: ok"), "{checked}");
}

#[test]
fn bad_mutate_arguments_are_one_line_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    expect_one_line_error(
        dir.path(),
        &["mutate", "-i", "atomic", "--jobs", "0"],
        "--jobs must be at least 1",
    );
    expect_one_line_error(
        dir.path(),
        &["mutate", "-i", "atomic", "--only", "no-such-mutant"],
        "no mutant of atomic matches",
    );
    expect_one_line_error(dir.path(), &["mutate", "-i", "nope"], "nope");
}
