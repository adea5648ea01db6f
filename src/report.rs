//! Reports a CI job can keep and a person can act on: JSON (config, seed,
//! counts, every finding with its replay command, rates), JUnit (one test
//! case per implementation × invariant), and merging the JSON of N shards.

use crate::oracle::Invariant;
use crate::stress::{FindingKey, Tally};
use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub const FORMAT: &str = "tombstone-harness report v1";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ReportFinding {
    pub implementation: String,
    /// The isolation level the implementation's transactions ran at.
    pub isolation: String,
    pub invariant: String,
    #[serde(default)]
    pub anomaly: Option<String>,
    pub count: u64,
    /// `(seed, case number)` of the first case that showed it.
    #[serde(default)]
    pub first_case: Option<(u64, u64)>,
    pub found_free_running: bool,
    pub reproduced: bool,
    #[serde(default)]
    pub explanation: Option<String>,
    #[serde(default)]
    pub counterexample: Option<String>,
    #[serde(default)]
    pub replay: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Report {
    pub format: String,
    /// The system under test, as `--system` names it.
    #[serde(default = "default_system")]
    pub system: String,
    pub command: String,
    pub seeds: Vec<u64>,
    pub shards: Vec<String>,
    pub mode: String,
    pub jobs: u32,
    pub implementations: Vec<String>,
    pub postgres: String,
    pub elapsed_s: f64,
    pub cases: u64,
    pub scheduled_runs: u64,
    pub free_runs: u64,
    pub statements: u64,
    pub indeterminate: u64,
    #[serde(default)]
    pub reconnects: u64,
    pub runs_per_second: f64,
    pub interrupted: bool,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub rss_start_kb: Option<u64>,
    #[serde(default)]
    pub rss_end_kb: Option<u64>,
    pub findings: Vec<ReportFinding>,
}

fn default_system() -> String {
    crate::system::DEFAULT.to_string()
}

/// What the CLI knows about a run besides its tally.
pub struct RunFacts {
    pub system: String,
    pub command: String,
    pub isolation: String,
    pub seed: u64,
    pub shard: String,
    pub mode: String,
    pub jobs: u32,
    pub implementations: Vec<String>,
    pub postgres: String,
    pub elapsed_s: f64,
    pub interrupted: bool,
    pub error: Option<String>,
    pub rss_start_kb: Option<u64>,
    pub rss_end_kb: Option<u64>,
}

fn finding(
    seed: u64,
    isolation: &str,
    key: &FindingKey,
    found: &crate::stress::Finding,
) -> ReportFinding {
    let path = found.saved.as_ref().map(|p| p.display().to_string());
    ReportFinding {
        implementation: key.implementation.clone(),
        isolation: isolation.to_string(),
        invariant: key.invariant.to_string(),
        anomaly: key.anomaly.as_ref().map(|a| a.to_string()),
        count: found.count,
        first_case: found.first_case_number.map(|n| (seed, n)),
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
        let rate = |n: u64| {
            if facts.elapsed_s > 0.0 {
                n as f64 / facts.elapsed_s
            } else {
                0.0
            }
        };
        Report {
            system: facts.system.clone(),
            format: FORMAT.into(),
            command: facts.command,
            seeds: vec![facts.seed],
            shards: vec![facts.shard],
            mode: facts.mode,
            jobs: facts.jobs,
            implementations: facts.implementations,
            postgres: facts.postgres,
            elapsed_s: facts.elapsed_s,
            cases: tally.cases,
            scheduled_runs: tally.scheduled_runs,
            free_runs: tally.free_runs,
            statements: tally.statements,
            indeterminate: tally.indeterminate,
            reconnects: tally.reconnects,
            runs_per_second: rate(tally.scheduled_runs + tally.free_runs),
            interrupted: facts.interrupted,
            error: facts.error,
            rss_start_kb: facts.rss_start_kb,
            rss_end_kb: facts.rss_end_kb,
            findings: tally
                .findings
                .iter()
                .map(|(k, f)| finding(facts.seed, &facts.isolation, k, f))
                .collect(),
        }
    }

    pub fn finding_count(&self) -> u64 {
        self.findings.iter().map(|f| f.count).sum()
    }

    pub fn load(path: &Path) -> Result<Report, String> {
        let file = path.display();
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("{file}: cannot read: {e}"))?;
        let report: Report =
            serde_json::from_str(&text).map_err(|e| format!("{file}: not a report: {e}"))?;
        if report.format != FORMAT {
            return Err(format!(
                "{file}: format '{}' is not '{FORMAT}'",
                report.format
            ));
        }
        Ok(report)
    }

    /// Combines shard reports: counts add up; for each kind of finding the
    /// first example (in the order given) is kept.
    pub fn merge(reports: &[Report]) -> Result<Report, String> {
        let first = reports
            .first()
            .ok_or("report merge needs at least one report")?;
        let mut merged = first.clone();
        merged.findings.clear();
        let mut findings: BTreeMap<(String, String, Option<String>), ReportFinding> =
            BTreeMap::new();
        for (i, report) in reports.iter().enumerate() {
            if i > 0 {
                merged.seeds.extend(&report.seeds);
                merged.shards.extend(report.shards.iter().cloned());
                merged.elapsed_s = merged.elapsed_s.max(report.elapsed_s);
                merged.cases += report.cases;
                merged.scheduled_runs += report.scheduled_runs;
                merged.free_runs += report.free_runs;
                merged.statements += report.statements;
                merged.indeterminate += report.indeterminate;
                merged.reconnects += report.reconnects;
                merged.runs_per_second += report.runs_per_second;
                merged.interrupted |= report.interrupted;
                merged.error = merged.error.clone().or_else(|| report.error.clone());
            }
            for f in &report.findings {
                let key = (
                    f.implementation.clone(),
                    f.invariant.clone(),
                    f.anomaly.clone(),
                );
                match findings.get_mut(&key) {
                    Some(kept) => kept.count += f.count,
                    None => {
                        findings.insert(key, f.clone());
                    }
                }
            }
        }
        merged.findings = findings.into_values().collect();
        Ok(merged)
    }

    /// JUnit XML: one test case per implementation × invariant, failed when
    /// that implementation violated that invariant.
    pub fn junit(&self) -> String {
        let mut suite = TestSuite::new("tombstone-harness");
        for implementation in &self.implementations {
            for invariant in Invariant::ALL {
                let name = invariant.to_string();
                let broken: Vec<&ReportFinding> = self
                    .findings
                    .iter()
                    .filter(|f| &f.implementation == implementation && f.invariant == name)
                    .collect();
                let status = if broken.is_empty() {
                    TestCaseStatus::success()
                } else {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    let count: u64 = broken.iter().map(|f| f.count).sum();
                    status.set_message(format!("{count} cases violated {name}"));
                    let lines: Vec<String> = broken
                        .iter()
                        .map(|f| {
                            let anomaly = f.anomaly.as_deref().unwrap_or("-");
                            let why = f.explanation.as_deref().unwrap_or("");
                            let replay = f.replay.as_deref().unwrap_or("(not saved)");
                            format!("[{anomaly}] {} cases: {why}\nreplay: {replay}", f.count)
                        })
                        .collect();
                    status.set_description(lines.join("\n"));
                    status
                };
                let mut case = TestCase::new(name, status);
                case.set_classname(implementation.clone());
                suite.add_test_case(case);
            }
        }
        let mut report = quick_junit::Report::new("tombstone-harness");
        report.add_test_suite(suite);
        report
            .to_string()
            .expect("a JUnit report always serializes")
    }
}

/// This process's resident memory, from /proc (Linux).
pub fn rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
