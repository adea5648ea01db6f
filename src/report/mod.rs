//! Reports a CI job can keep and a person can act on: JSON (config, seed,
//! counts, every finding with its replay command, rates), JUnit (one test
//! case per implementation × invariant, plus one that errs when the run did
//! not finish), and merging the JSON of N shards. The JSON format is
//! versioned and published as `docs/report.schema.json`.
//!
//! Owns: the report formats. Must not know: how a run is driven or printed.

mod junit;
mod merge;

use crate::stress::{FindingKey, Tally};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

/// Bumped whenever a field changes meaning or shape; `docs/report.schema.json`
/// describes exactly this version.
pub const FORMAT: &str = "tombstone-harness-report/2";

/// How a run ended, as CI should read it.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Clean,
    Findings,
    /// Stopped by Ctrl-C: the counts are partial.
    Interrupted,
    /// Stopped by an infrastructure problem (see `error`), not by a race.
    Error,
}

/// An implementation as the run loaded it: a shipped one has no path.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReportImplementation {
    pub name: String,
    pub path: Option<String>,
    /// SHA-256 of the file's text, so a report names exactly what ran.
    pub sha256: String,
}

impl ReportImplementation {
    pub fn new(name: &str, path: Option<String>, text: &str) -> ReportImplementation {
        let digest = Sha256::digest(text.as_bytes());
        let sha256 = digest.iter().map(|b| format!("{b:02x}")).collect();
        ReportImplementation {
            name: name.to_string(),
            path,
            sha256,
        }
    }
}

/// Where a finding was first seen: case `case_number` of the run seeded `seed`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct FirstCase {
    pub seed: u64,
    pub case_number: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ReportFinding {
    pub implementation: String,
    pub invariant: String,
    pub anomaly: Option<String>,
    pub count: u64,
    pub first_case: Option<FirstCase>,
    /// Wall time from the start of the run to the first case showing it.
    pub first_found_after_s: Option<f64>,
    pub found_free_running: bool,
    pub reproduced: bool,
    pub explanation: Option<String>,
    pub counterexample: Option<String>,
    pub replay: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Report {
    pub format: String,
    pub outcome: Outcome,
    /// The system under test, as `--system` names it (a shipped name or a
    /// directory).
    pub system: String,
    pub command: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub hostname: String,
    pub seeds: Vec<u64>,
    pub shards: Vec<String>,
    pub mode: String,
    pub jobs: u32,
    /// `--isolation`, or null when each implementation's file decides.
    pub isolation: Option<String>,
    pub implementations: Vec<ReportImplementation>,
    /// Null when no server could be started or reached.
    pub postgres: Option<String>,
    pub elapsed_s: f64,
    pub cases: u64,
    pub scheduled_runs: u64,
    pub free_runs: u64,
    pub statements: u64,
    pub indeterminate: u64,
    pub reconnects: u64,
    pub runs_per_second: f64,
    pub interrupted: bool,
    pub error: Option<String>,
    pub rss_start_kb: Option<u64>,
    pub rss_end_kb: Option<u64>,
    pub findings: Vec<ReportFinding>,
}

/// What the CLI knows about a run besides its tally.
pub struct RunFacts {
    pub system: String,
    pub command: String,
    pub started_at: String,
    pub hostname: String,
    pub isolation: Option<String>,
    pub seed: u64,
    pub shard: String,
    pub mode: String,
    pub jobs: u32,
    pub implementations: Vec<ReportImplementation>,
    pub postgres: Option<String>,
    pub elapsed_s: f64,
    pub interrupted: bool,
    pub error: Option<String>,
    pub rss_start_kb: Option<u64>,
    pub rss_end_kb: Option<u64>,
}

fn finding(seed: u64, key: &FindingKey, found: &crate::stress::Finding) -> ReportFinding {
    let path = found.saved.as_ref().map(|p| p.display().to_string());
    ReportFinding {
        implementation: key.implementation.clone(),
        invariant: key.invariant.to_string(),
        anomaly: key.anomaly.as_ref().map(|a| a.to_string()),
        count: found.count,
        first_case: found
            .first_case_number
            .map(|case_number| FirstCase { seed, case_number }),
        first_found_after_s: found.first_found_after.map(|d| d.as_secs_f64()),
        found_free_running: found.found_free_running,
        reproduced: found.reproduced,
        explanation: found.explanation.clone(),
        replay: path
            .as_ref()
            .map(|p| format!("tombstone-harness replay {p}")),
        counterexample: path,
    }
}

impl Report {
    pub fn new(facts: RunFacts, tally: &Tally) -> Report {
        let runs = tally.scheduled_runs + tally.free_runs;
        let mut report = Report {
            format: FORMAT.into(),
            outcome: Outcome::Clean,
            system: facts.system,
            command: facts.command,
            started_at: facts.started_at,
            hostname: facts.hostname,
            seeds: vec![facts.seed],
            shards: vec![facts.shard],
            mode: facts.mode,
            jobs: facts.jobs,
            isolation: facts.isolation,
            implementations: facts.implementations,
            postgres: facts.postgres,
            elapsed_s: facts.elapsed_s,
            cases: tally.cases,
            scheduled_runs: tally.scheduled_runs,
            free_runs: tally.free_runs,
            statements: tally.statements,
            indeterminate: tally.indeterminate,
            reconnects: tally.reconnects,
            runs_per_second: per_second(runs, facts.elapsed_s),
            interrupted: facts.interrupted,
            error: facts.error,
            rss_start_kb: facts.rss_start_kb,
            rss_end_kb: facts.rss_end_kb,
            findings: tally
                .findings
                .iter()
                .map(|(k, f)| finding(facts.seed, k, f))
                .collect(),
        };
        report.outcome = report.judge();
        report
    }

    /// An infrastructure error outranks an interruption, which outranks
    /// findings: a partial run's findings are real, but the run is not done.
    fn judge(&self) -> Outcome {
        if self.error.is_some() {
            Outcome::Error
        } else if self.interrupted {
            Outcome::Interrupted
        } else if self.finding_count() > 0 {
            Outcome::Findings
        } else {
            Outcome::Clean
        }
    }

    pub fn implementation_names(&self) -> impl Iterator<Item = &String> {
        self.implementations.iter().map(|i| &i.name)
    }

    pub fn finding_count(&self) -> u64 {
        self.findings.iter().map(|f| f.count).sum()
    }

    pub fn load(path: &Path) -> Result<Report, String> {
        let file = path.display();
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("{file}: cannot read: {e}"))?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{file}: not JSON: {e}"))?;
        if value["format"] != FORMAT {
            return Err(format!(
                "{file}: format {} is not '{FORMAT}'",
                value["format"]
            ));
        }
        serde_json::from_value(value).map_err(|e| format!("{file}: not a report: {e}"))
    }
}

fn per_second(n: u64, elapsed_s: f64) -> f64 {
    if elapsed_s > 0.0 {
        n as f64 / elapsed_s
    } else {
        0.0
    }
}

/// This process's resident memory, from /proc (Linux).
pub fn rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The machine's name for reports (Linux); "unknown" where it cannot be read.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// Now, as the report's `started_at` writes it.
pub fn now_rfc3339() -> String {
    let now: chrono::DateTime<chrono::Utc> = std::time::SystemTime::now().into();
    now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
