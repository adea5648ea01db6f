//! The findings table: implementation × anomaly, with counts and the saved
//! counterexample of each kind.

use tombstone_harness::oracle::Anomaly;
use tombstone_harness::report::{Report, ReportFinding};
use tombstone_harness::stress::REHUNT_SCHEDULES_MAX;
use tombstone_harness::system::System;
use tombstone_harness::table::{text_table, to_text};

/// One column per anomaly the system can report (its labels first, then the
/// harness's under the system's names), then `serial`.
pub fn print_findings(report: &Report, system: &System) {
    let columns: Vec<String> = Anomaly::all(system)
        .iter()
        .map(|a| a.to_string())
        .chain(["serial".to_string()])
        .collect();
    println!(
        "\nfindings (cases per implementation and anomaly; serial = no serial order explains it):"
    );
    let header: Vec<&str> = ["implementation"]
        .into_iter()
        .chain(columns.iter().map(String::as_str))
        .collect();
    let rows = report.implementation_names().map(|implementation| {
        let counts = columns.iter().map(|column| {
            let count: u64 = report
                .findings
                .iter()
                .filter(|f| &f.implementation == implementation)
                .filter(|f| {
                    f.anomaly.as_deref() == Some(column)
                        || (f.anomaly.is_none() && column == "serial")
                })
                .map(|f| f.count)
                .sum();
            if count == 0 {
                "-".to_string()
            } else {
                count.to_string()
            }
        });
        std::iter::once(implementation.clone())
            .chain(counts)
            .collect::<Vec<_>>()
    });
    let mut table = text_table(&header, rows);
    for column in table.column_iter_mut().skip(1) {
        column.set_cell_alignment(comfy_table::CellAlignment::Right);
    }
    print!("{}", to_text(&table));
    for f in &report.findings {
        let anomaly = f.anomaly.as_deref().unwrap_or("serial");
        println!("  {} {anomaly}: {}", f.implementation, example_line(f));
    }
}

/// A finding's replay command, or why it has none: each row links only to a
/// counterexample that replays to a violation of its own kind.
fn example_line(finding: &ReportFinding) -> String {
    let case = finding
        .first_case
        .map(|c| format!("case {} of seed {}", c.case_number, c.seed))
        .unwrap_or_else(|| "its first case".into());
    match (&finding.replay, finding.reproduced) {
        (Some(replay), true) => replay.clone(),
        (None, true) => format!(
            "reproduced by {case}, but the counterexample could not be saved (check --save-dir)"
        ),
        (_, false) if finding.found_free_running => format!(
            "none reproduced: found free-running (real timing) in {case}; neither its shrunk case nor the first {REHUNT_SCHEDULES_MAX} schedules of it show it under the harness's schedules"
        ),
        (_, false) => format!(
            "none reproduced: the shrunk {case} no longer shows it (report this as a harness bug)"
        ),
    }
}
