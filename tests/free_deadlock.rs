//! Free-running mode on a lock-order-inverting implementation: PostgreSQL's
//! own deadlock detector must break the cycles (nothing else does there), the
//! 40P01 is a finding, and `--duration` ends the run, also in mixed mode.

use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/lock-order-inverting.toml"
);

/// Not a speed limit: a hang guard, far above the 10 s budget plus startup
/// and shrinking, and below the minute a statement waited in a deadlock
/// before PostgreSQL's detector was made to act in free mode.
const HANG_GUARD: Duration = Duration::from_secs(50);

/// Runs `stress` on the fixture for 10 s; None if it had to be killed.
fn stress(mode: &str, dir: &std::path::Path) -> Option<Output> {
    let report = dir.join("report.json");
    let child = Command::new(env!("CARGO_BIN_EXE_tombstone-harness"))
        .args(["--pg", "local", "stress", "--mode", mode, "--seed", "1"])
        .args(["--implementation", FIXTURE, "--duration", "10s"])
        .arg("--report")
        .arg(&report)
        .arg("--save-dir")
        .arg(dir.join("counterexamples"))
        .env_remove("DATABASE_URL")
        .env_remove("TOMBSTONE_PG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(child.wait_with_output());
    });
    match receiver.recv_timeout(HANG_GUARD) {
        Ok(output) => Some(output.unwrap()),
        Err(_) => {
            // SAFETY: kill(2) on the harness this test started; its watchdog
            // removes the cluster when the process dies.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            None
        }
    }
}

/// The report's findings of anomaly E whose explanation names the 40P01.
fn deadlock_findings(dir: &std::path::Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("report.json")).unwrap();
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["invariant"] == "no-server-error"
                && f["anomaly"] == "E"
                && f["explanation"].as_str().unwrap_or("").contains("40P01")
        })
        .cloned()
        .collect()
}

fn check_finds_the_deadlock_and_ends(mode: &str) -> Vec<serde_json::Value> {
    let dir = tempfile::tempdir().unwrap();
    let output = stress(mode, dir.path()).unwrap_or_else(|| {
        panic!("stress --mode {mode} --duration 10s still ran after {HANG_GUARD:?}")
    });
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stderr}\n{stdout}");
    let findings = deadlock_findings(dir.path());
    assert!(
        !findings.is_empty(),
        "no 500 from an unmapped 40P01 among the findings: {stdout}"
    );
    findings
}

#[test]
fn free_mode_reports_the_deadlock_postgresql_breaks_and_honours_its_budget() {
    let findings = check_finds_the_deadlock_and_ends("free");
    assert!(
        findings.iter().all(|f| f["found_free_running"] == true),
        "{findings:?}"
    );
}

#[test]
fn mixed_mode_reports_the_deadlock_and_honours_its_budget() {
    check_finds_the_deadlock_and_ends("mixed");
}
