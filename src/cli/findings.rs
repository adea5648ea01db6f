//! The findings table: implementation × anomaly, with counts and the saved
//! counterexample of each kind.

use tombstone_harness::oracle::Anomaly;
use tombstone_harness::report::Report;
use tombstone_harness::table::{text_table, to_text};

pub fn print_findings(report: &Report) {
    let columns: Vec<String> = Anomaly::ALL
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
