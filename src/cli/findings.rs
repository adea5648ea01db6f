//! The findings table: implementation × anomaly, with counts and the saved
//! counterexample of each kind.

use tombstone_harness::oracle::Anomaly;
use tombstone_harness::report::Report;

pub fn print_findings(report: &Report) {
    let columns: Vec<String> = Anomaly::ALL
        .iter()
        .map(|a| a.to_string())
        .chain(["serial".to_string()])
        .collect();
    println!(
        "\nfindings (cases per implementation and anomaly; serial = no serial order explains it):"
    );
    let width = report
        .implementation_names()
        .map(String::len)
        .max()
        .unwrap_or(14)
        .max(14);
    let header: Vec<String> = columns.iter().map(|c| format!("{c:>7}")).collect();
    println!("{:<width$} {}", "implementation", header.join(""));
    for implementation in report.implementation_names() {
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
