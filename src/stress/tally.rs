//! Counting findings by implementation, invariant and anomaly, keeping the
//! first (shrunk) example of each.

use crate::counterexample::Counterexample;
use crate::history::History;
use crate::oracle::{Anomaly, Invariant, Verdict};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct FindingKey {
    pub implementation: String,
    pub invariant: Invariant,
    pub anomaly: Option<Anomaly>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Finding {
    /// Cases (not violations) that showed it.
    pub count: u64,
    pub first_case_number: Option<u64>,
    /// Wall time from the start of the run to the first case that showed it.
    pub first_found_after: Option<std::time::Duration>,
    pub found_free_running: bool,
    pub example: Option<Counterexample>,
    pub explanation: Option<String>,
    pub saved: Option<PathBuf>,
    /// Whether a schedule was found that shows it: then `example` is a
    /// counterexample of this very kind; else there is none.
    pub reproduced: bool,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Tally {
    /// Cases drawn; each runs once under every implementation.
    pub cases: u64,
    pub scheduled_runs: u64,
    pub free_runs: u64,
    pub statements: u64,
    pub indeterminate: u64,
    /// Times the run lost the server and got it back.
    pub reconnects: u64,
    #[serde(skip)]
    pub findings: BTreeMap<FindingKey, Finding>,
}

impl Tally {
    /// Counts one run; returns the kinds of finding seen for the first time.
    pub fn record(
        &mut self,
        implementation: &str,
        free: bool,
        history: &History,
        verdict: &Verdict,
        elapsed: std::time::Duration,
    ) -> Vec<FindingKey> {
        self.count_run(free);
        self.statements += history.schedule.choices.len() as u64;
        if history.is_indeterminate() {
            self.indeterminate += 1;
            return Vec::new();
        }
        let mut new = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for violation in &verdict.violations {
            let key = FindingKey {
                implementation: implementation.into(),
                invariant: violation.invariant,
                anomaly: violation.anomaly.clone(),
            };
            if !seen.insert(key.clone()) {
                continue;
            }
            let finding = self.findings.entry(key.clone()).or_default();
            finding.count += 1;
            if finding.count == 1 {
                finding.found_free_running = free;
                finding.first_found_after = Some(elapsed);
                finding.explanation = Some(violation.explanation.clone());
                new.push(key);
            }
        }
        new
    }

    /// A run cut off by a lost server or Ctrl-C: it proves nothing either
    /// way, so it is indeterminate (never silently uncounted).
    pub fn record_cut_off(&mut self, free: bool) {
        self.count_run(free);
        self.indeterminate += 1;
    }

    fn count_run(&mut self, free: bool) {
        if free {
            self.free_runs += 1;
        } else {
            self.scheduled_runs += 1;
        }
    }

    /// Records the example of a kind; `None` when no schedule reproduced it.
    pub fn set_example(
        &mut self,
        key: &FindingKey,
        case_number: u64,
        example: Option<Counterexample>,
        saved: Option<PathBuf>,
        explanation: Option<String>,
    ) {
        let finding = self.findings.entry(key.clone()).or_default();
        finding.first_case_number = Some(case_number);
        finding.reproduced = example.is_some();
        finding.example = example;
        finding.saved = saved;
        if let Some(explanation) = explanation {
            finding.explanation = Some(explanation);
        }
    }

    /// Findings per (implementation, anomaly letter or invariant name).
    pub fn count_by_anomaly(&self) -> BTreeMap<(String, String), u64> {
        let mut counts = BTreeMap::new();
        for (key, finding) in &self.findings {
            let column = key
                .anomaly
                .as_ref()
                .map(|a| a.to_string())
                .unwrap_or_else(|| key.invariant.to_string());
            *counts
                .entry((key.implementation.clone(), column))
                .or_insert(0) += finding.count;
        }
        counts
    }

    pub fn finding_count(&self) -> u64 {
        self.findings.values().map(|f| f.count).sum()
    }
}
