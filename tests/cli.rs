//! The command line's exit codes and one-line errors for bad input.

use std::process::{Command, Output};

fn harness(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tombstone-harness"));
    command
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("TOMBSTONE_PG");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

/// Exit 2 and exactly one line on stderr that contains `needle`.
fn assert_one_line_error(output: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "not one line: {stderr}"
    );
    assert!(stderr.contains(needle), "{needle:?} not in: {stderr}");
}

#[test]
fn a_malformed_implementation_file_names_file_operation_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mine.toml");
    std::fs::write(
        &file,
        "name = \"mine\"\n[operations.sign-out]\nsteps = [{ name = \"record\", sql = \"SELECT :team\" }]\n",
    )
    .unwrap();
    let output = harness(&["run", "--implementation", file.to_str().unwrap()], &[]);
    assert_one_line_error(
        &output,
        "mine.toml: operation 'sign-out', step 1 ('record'), field 'sql'",
    );
}

#[test]
fn a_toml_syntax_error_gives_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.toml");
    std::fs::write(&file, "name = \"x\"\n[operations.sign-out\n").unwrap();
    let output = harness(&["run", "-i", file.to_str().unwrap()], &[]);
    assert_one_line_error(&output, "broken.toml: line 2");
}

#[test]
fn an_unknown_implementation_name() {
    let output = harness(&["run", "-i", "no-such-thing"], &[]);
    assert_one_line_error(&output, "unknown implementation 'no-such-thing'");
}

#[test]
fn an_unknown_pg_value() {
    let output = harness(&["--pg", "nonsense", "run"], &[]);
    assert_one_line_error(&output, "nonsense");
}

#[test]
fn an_unreachable_url() {
    let output = harness(
        &[
            "--pg",
            "url",
            "--pg-url",
            "postgres://me:pw@127.0.0.1:1/x",
            "run",
        ],
        &[],
    );
    assert_one_line_error(&output, "did not accept a query");
    assert!(!String::from_utf8_lossy(&output.stderr).contains(":pw@"));
}

#[test]
fn url_mode_without_a_url() {
    let output = harness(&["--pg", "url", "run"], &[]);
    assert_one_line_error(&output, "--pg url needs --pg-url or DATABASE_URL");
}

#[test]
fn no_docker_with_pg_container() {
    let output = harness(
        &["--pg", "container", "run"],
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    assert_one_line_error(&output, "no Docker daemon answers");
}

#[test]
fn run_prints_the_table_and_exits_zero() {
    let output = harness(&["--pg", "local", "run", "-i", "atomic"], &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let sign_out = stdout
        .lines()
        .find(|l| l.starts_with("atomic") && l.contains("sign-out u1 from t1"));
    let cells: Vec<&str> = sign_out
        .expect("a sign-out row")
        .split('|')
        .map(str::trim)
        .collect();
    assert_eq!(cells[2..], ["200", "token t1", "token t1"], "{stdout}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.matches("PostgreSQL: local cluster").count(),
        1,
        "{stderr}"
    );
}
