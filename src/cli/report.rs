//! `report merge`: combine the JSON reports of N shards into one.

use super::{EXIT_CLEAN, EXIT_FINDINGS};
use anyhow::Context;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use tombstone_harness::report::Report;

#[derive(Args)]
pub struct ReportArgs {
    #[command(subcommand)]
    command: ReportCommand,
}

#[derive(Subcommand)]
enum ReportCommand {
    /// Merge shard reports: counts add up, the first example of each finding is kept.
    Merge {
        /// The shard reports (JSON written by `stress --report`).
        #[arg(required = true)]
        reports: Vec<PathBuf>,
        /// Where to write the merged JSON.
        #[arg(long)]
        out: PathBuf,
        /// Also write a merged JUnit XML report here.
        #[arg(long)]
        junit: Option<PathBuf>,
    },
}

pub fn run(args: &ReportArgs) -> anyhow::Result<i32> {
    let ReportCommand::Merge {
        reports,
        out,
        junit,
    } = &args.command;
    let loaded = reports
        .iter()
        .map(|p| Report::load(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    let merged = Report::merge(&loaded).map_err(anyhow::Error::msg)?;
    std::fs::write(out, serde_json::to_string_pretty(&merged)? + "\n")
        .with_context(|| format!("writing {}", out.display()))?;
    if let Some(path) = junit {
        std::fs::write(path, merged.junit())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let system = tombstone_harness::system::System::load(&merged.system)?;
    super::findings::print_findings(&merged, &system);
    Ok(if merged.finding_count() > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    })
}
