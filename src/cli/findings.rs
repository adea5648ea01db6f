//! The findings table: implementation × anomaly, with counts and the saved
//! counterexample of each kind.

use tombstone_harness::oracle::Anomaly;
use tombstone_harness::report::Report;
use tombstone_harness::system::System;

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
    let width = report
        .implementations
        .iter()
        .map(String::len)
        .max()
        .unwrap_or(14)
        .max(14);
    let header: Vec<String> = columns.iter().map(|c| format!("{c:>7}")).collect();
    println!("{:<width$} {}", "implementation", header.join(""));
    for implementation in &report.implementations {
        let cells: Vec<String> = columns
            .iter()
            .map(|column| {
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
                format!(
                    "{:>7}",
                    if count == 0 {
                        "-".to_string()
                    } else {
                        count.to_string()
                    }
                )
            })
            .collect();
        println!("{implementation:<width$} {}", cells.join(""));
    }
    for f in report
        .findings
        .iter()
        .filter(|f| f.counterexample.is_some())
    {
        let anomaly = f.anomaly.as_deref().unwrap_or("serial");
        let note = if f.reproduced {
            ""
        } else {
            " (shrunk example did not reproduce under a schedule)"
        };
        println!(
            "  {} {anomaly}: {}{note}",
            f.implementation,
            f.replay.as_deref().unwrap_or("")
        );
    }
}
