//! `report merge`: the union of N shard reports. Counts add up; every
//! implementation and every kind of finding of any shard is kept, with the
//! first example (in the order given).

use super::{Report, ReportFinding, ReportImplementation};
use std::collections::BTreeMap;

type FindingKey = (String, String, Option<String>);

impl Report {
    pub fn merge(reports: &[Report]) -> Result<Report, String> {
        let first = reports
            .first()
            .ok_or("report merge needs at least one report")?;
        let mut merged = first.clone();
        let mut findings: BTreeMap<FindingKey, ReportFinding> = BTreeMap::new();
        for report in reports {
            merge_findings(&mut findings, &report.findings);
        }
        if let Some(other) = reports.iter().find(|r| r.system != first.system) {
            return Err(format!(
                "reports of different systems cannot be merged: {} and {}",
                first.system, other.system
            ));
        }
        for report in &reports[1..] {
            add_counts(&mut merged, report);
            merge_implementations(&mut merged.implementations, &report.implementations)?;
        }
        merged.findings = findings.into_values().collect();
        merged.outcome = merged.judge();
        Ok(merged)
    }
}

fn add_counts(merged: &mut Report, report: &Report) {
    merged.seeds.extend(&report.seeds);
    merged.shards.extend(report.shards.iter().cloned());
    // Shards run side by side: the merged run took as long as the slowest.
    merged.elapsed_s = merged.elapsed_s.max(report.elapsed_s);
    merged.started_at = merged.started_at.clone().min(report.started_at.clone());
    if !merged.hostname.split(", ").any(|h| h == report.hostname) {
        merged.hostname = format!("{}, {}", merged.hostname, report.hostname);
    }
    merged.cases += report.cases;
    merged.scheduled_runs += report.scheduled_runs;
    merged.free_runs += report.free_runs;
    merged.statements += report.statements;
    merged.indeterminate += report.indeterminate;
    merged.reconnects += report.reconnects;
    merged.runs_per_second += report.runs_per_second;
    merged.interrupted |= report.interrupted;
    merged.error = merged.error.clone().or_else(|| report.error.clone());
    merged.postgres = merged.postgres.clone().or_else(|| report.postgres.clone());
    merged.rss_end_kb = merged.rss_end_kb.max(report.rss_end_kb);
}

fn merge_findings(merged: &mut BTreeMap<FindingKey, ReportFinding>, findings: &[ReportFinding]) {
    for f in findings {
        let key = (
            f.implementation.clone(),
            f.invariant.clone(),
            f.anomaly.clone(),
        );
        match merged.get_mut(&key) {
            Some(kept) => {
                kept.count += f.count;
                kept.first_found_after_s = match (kept.first_found_after_s, f.first_found_after_s) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            None => {
                merged.insert(key, f.clone());
            }
        }
    }
}

/// A name that means two different files in two shards would merge counts
/// of different code: refuse rather than mislead.
fn merge_implementations(
    merged: &mut Vec<ReportImplementation>,
    more: &[ReportImplementation],
) -> Result<(), String> {
    for implementation in more {
        match merged.iter().find(|m| m.name == implementation.name) {
            Some(kept) if kept.sha256 != implementation.sha256 => {
                return Err(format!(
                    "implementation '{}' differs between the reports (sha256 {} and {}): merge only shards of one run",
                    implementation.name, kept.sha256, implementation.sha256
                ));
            }
            Some(_) => {}
            None => merged.push(implementation.clone()),
        }
    }
    Ok(())
}
