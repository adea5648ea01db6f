//! JUnit XML: one test case per implementation × invariant, failed when that
//! implementation violated that invariant, and a `run` test case with an
//! `<error>` when the run did not finish (CI must go red, never green on a
//! run that proved nothing).

use super::{Outcome, Report, ReportFinding};
use crate::oracle::Invariant;
use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};
use std::time::Duration;

impl Report {
    pub fn junit(&self) -> String {
        let mut suite = TestSuite::new("tombstone-harness");
        self.describe_suite(&mut suite);
        for implementation in &self.implementations {
            for invariant in Invariant::ALL {
                let mut case = self.junit_case(&implementation.name, invariant);
                case.set_classname(implementation.name.clone());
                suite.add_test_case(case);
            }
        }
        if let Some(case) = self.unfinished_case() {
            suite.add_test_case(case);
        }
        let mut report = quick_junit::Report::new("tombstone-harness");
        report.add_test_suite(suite);
        report
            .to_string()
            .expect("a JUnit report always serializes")
    }

    fn describe_suite(&self, suite: &mut TestSuite) {
        if let Ok(started) = chrono::DateTime::parse_from_rfc3339(&self.started_at) {
            suite.set_timestamp(started);
        }
        if self.elapsed_s.is_finite() && self.elapsed_s >= 0.0 {
            suite.set_time(Duration::from_secs_f64(self.elapsed_s));
        }
        suite
            .extra
            .insert("hostname".into(), self.hostname.clone().into());
        let seeds: Vec<String> = self.seeds.iter().map(u64::to_string).collect();
        let properties = [
            ("format", self.format.clone()),
            ("outcome", format!("{:?}", self.outcome).to_lowercase()),
            ("seed", seeds.join(",")),
            ("shard", self.shards.join(",")),
            ("command", self.command.clone()),
            ("mode", self.mode.clone()),
            ("isolation", self.isolation.clone().unwrap_or_default()),
            ("postgres", self.postgres.clone().unwrap_or_default()),
        ];
        for (name, value) in properties {
            suite.add_property(Property::new(name, value));
        }
    }

    fn junit_case(&self, implementation: &str, invariant: Invariant) -> TestCase {
        let name = invariant.to_string();
        let broken: Vec<&ReportFinding> = self
            .findings
            .iter()
            .filter(|f| f.implementation == implementation && f.invariant == name)
            .collect();
        if broken.is_empty() {
            return TestCase::new(name, TestCaseStatus::success());
        }
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        let count: u64 = broken.iter().map(|f| f.count).sum();
        status.set_message(format!("{count} cases violated {name}"));
        let kinds: Vec<&str> = broken
            .iter()
            .map(|f| f.anomaly.as_deref().unwrap_or(&name))
            .collect();
        status.set_type(kinds.join(","));
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
        TestCase::new(name, status)
    }

    fn unfinished_case(&self) -> Option<TestCase> {
        let (kind, message) = match self.outcome {
            Outcome::Error => (
                "infrastructure",
                format!(
                    "the run stopped on an infrastructure problem, not a race: {}",
                    self.error.as_deref().unwrap_or("unknown")
                ),
            ),
            Outcome::Interrupted => (
                "interrupted",
                "the run was interrupted; its counts are partial".to_string(),
            ),
            Outcome::Clean | Outcome::Findings => return None,
        };
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status.set_type(kind).set_message(message);
        let mut case = TestCase::new("run", status);
        case.set_classname("tombstone-harness");
        Some(case)
    }
}
