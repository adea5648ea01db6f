//! Running the real binary, as a user or a CI job does. Included with
//! `#[path]` by the binaries that need it (not every test binary does).
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// The binary with `args` in `dir`, without the caller's PostgreSQL choice
/// leaking in (`--pg` is passed explicitly where one is needed).
pub fn harness_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tombstone-harness"))
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("TOMBSTONE_PG")
        .output()
        .unwrap()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs the binary and checks its exit code; returns its stdout.
pub fn expect_exit(dir: &Path, args: &[&str], code: i32) -> String {
    let output = harness_in(dir, args);
    let out = stdout(&output);
    assert_eq!(
        output.status.code(),
        Some(code),
        "{args:?}:\n{out}{}",
        stderr(&output)
    );
    out
}

/// Runs the binary and checks it fails as a usage error: exit 2 and one
/// line on stderr that contains `needle`.
pub fn expect_one_line_error(dir: &Path, args: &[&str], needle: &str) {
    let output = harness_in(dir, args);
    let stderr = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "not one line: {stderr}"
    );
    assert!(stderr.contains(needle), "{needle:?} not in: {stderr}");
}
