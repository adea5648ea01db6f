//! `stress`: the nightly job. Budget by duration and/or cases, a printed
//! seed, shards, parallel workers, scheduled and free-running modes, a
//! progress display, JSON and JUnit reports, exit 0/1/2 (130 on Ctrl-C).

use super::findings::print_findings;
use super::progress::{self, View};
use super::{
    EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, EXIT_INTERRUPTED, PgArgs, TargetArgs, error_line,
    start_server,
};
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::Notify;
use tombstone_harness::db::{Server, redact};
use tombstone_harness::engine::Limits;
use tombstone_harness::generate::Bounds;
use tombstone_harness::implementation::Implementation;
use tombstone_harness::report::{
    Report, ReportImplementation, RunFacts, hostname, now_rfc3339, rss_kb,
};
use tombstone_harness::stress::{self, Mode, Progress, Shard, StressConfig, Tally};
use tombstone_harness::system::System;
use tombstone_harness::text::quoted;

#[derive(Args, Clone)]
pub struct StressArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// How long to run (e.g. 90s, 10m, 1h).
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// How many cases to draw (each runs under every implementation).
    #[arg(long)]
    pub cases: Option<u64>,
    /// The seed; printed at the start so any run can be repeated. Default: random.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Run the K-th of N disjoint parts of the case numbers (a CI matrix).
    #[arg(long, value_parser = Shard::parse, default_value = "1/1")]
    pub shard: Shard,
    /// Parallel workers, each with its own database.
    #[arg(long, default_value_t = 2)]
    pub jobs: u32,
    /// How each case runs: under the harness's schedules (replayable), at
    /// real concurrency, or both.
    #[arg(long, value_enum, default_value = "mixed")]
    pub mode: ModeArg,
    /// Write the JSON report here.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Write a JUnit XML report here.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// How long to keep reconnecting after losing the server before stopping.
    #[arg(long, value_parser = parse_duration, default_value = "30s")]
    pub reconnect_max: Duration,
    /// Where shrunk counterexamples are saved.
    #[arg(long, default_value = "out/counterexamples")]
    pub save_dir: PathBuf,
    /// Between progress lines when stderr is not a terminal (tests shorten it).
    #[arg(
        long,
        hide = true,
        env = "TOMBSTONE_PROGRESS_INTERVAL",
        value_parser = parse_duration,
        default_value = "10s"
    )]
    pub progress_interval: Duration,
}

/// `90s`, `10m`, `1h 30m`, `1.5h` (humantime's units); a bare number is
/// seconds, as it always was here.
/// `--mode`, as the command line spells it (the library's `Mode` knows no clap).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeArg {
    /// The engine's controlled schedules: deterministic, replayable.
    Scheduled,
    /// Every session at real concurrency with no gating.
    Free,
    /// Three scheduled cases for every free-running one.
    Mixed,
}

impl From<ModeArg> for Mode {
    fn from(mode: ModeArg) -> Mode {
        match mode {
            ModeArg::Scheduled => Mode::Scheduled,
            ModeArg::Free => Mode::Free,
            ModeArg::Mixed => Mode::Mixed,
        }
    }
}

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let seconds;
    let spelled = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        seconds = format!("{text}s");
        &seconds
    } else {
        text
    };
    humantime::parse_duration(spelled).map_err(|e| match e {
        humantime::DurationError::NumberOverflow => {
            format!("{} is too long a duration to represent", quoted(text))
        }
        other => format!(
            "{} is not a duration (e.g. 90s, 10m, 1h): {other}",
            quoted(text)
        ),
    })
}

pub async fn run(pg: &PgArgs, system: &Arc<System>, args: &StressArgs) -> anyhow::Result<i32> {
    if args.duration.is_none() && args.cases.is_none() {
        anyhow::bail!("stress needs a budget: --duration and/or --cases");
    }
    if args.jobs == 0 {
        anyhow::bail!("--jobs must be at least 1");
    }
    let implementations = args.target.load(system)?;
    let args = &args.seeded();
    let server = start_server(pg)
        .await
        .map_err(|e| report_failure(system, args, e))?;
    super::check::preflight(&server, system, &implementations)
        .await
        .map_err(|e| report_failure(system, args, e))?;
    execute(&server, system, args, "stress").await
}

impl StressArgs {
    /// With the seed chosen now, so a report of a run that failed to start
    /// names the seed the run would have used.
    pub fn seeded(&self) -> StressArgs {
        let mut seeded = self.clone();
        seeded.seed.get_or_insert_with(rand::random);
        seeded
    }
}

/// A run that could not start (e.g. no server) still leaves `--report` and
/// `--junit` behind, saying why, so CI goes red instead of finding no file.
/// Returns the error, for the one-line message and exit 2.
pub fn report_failure(system: &System, args: &StressArgs, error: anyhow::Error) -> anyhow::Error {
    let facts = RunFacts {
        postgres: None,
        elapsed_s: 0.0,
        interrupted: false,
        error: Some(error_line(&error)),
        rss_start_kb: rss_kb(),
        ..facts(system, args, args.seed.unwrap_or_default(), &[])
    };
    let report = Report::new(facts, &Tally::default());
    match write_reports(&report, args) {
        Ok(()) => error,
        Err(writing) => error.context(writing),
    }
}

/// The facts every report of this invocation shares; the rest is filled in
/// when the run ends.
fn facts(
    system: &System,
    args: &StressArgs,
    seed: u64,
    implementations: &[Implementation],
) -> RunFacts {
    RunFacts {
        system: system.reference_name(),
        command: redact(&std::env::args().collect::<Vec<_>>().join(" ")),
        started_at: now_rfc3339(),
        hostname: hostname(),
        isolation: args.target.isolation.map(|i| i.name().to_string()),
        seed,
        shard: format!("{}/{}", args.shard.index, args.shard.count),
        mode: format!("{:?}", args.mode).to_lowercase(),
        jobs: args.jobs,
        implementations: described(system, &args.target, implementations),
        postgres: None,
        elapsed_s: 0.0,
        interrupted: false,
        error: None,
        rss_start_kb: None,
        rss_end_kb: None,
    }
}

/// Each implementation by name, path (none for a shipped one) and hash.
fn described(
    system: &System,
    target: &TargetArgs,
    loaded: &[Implementation],
) -> Vec<ReportImplementation> {
    let shipped = Implementation::names(system);
    loaded
        .iter()
        .enumerate()
        .map(|(n, implementation)| {
            let path = target
                .implementations
                .get(n)
                .filter(|given| !shipped.contains(given))
                .cloned();
            ReportImplementation::new(&implementation.name, path, &implementation.source)
        })
        .collect()
}

/// The shared body of `stress` and `run`, on a server already started.
pub async fn execute(
    server: &Server,
    system: &Arc<System>,
    args: &StressArgs,
    command: &str,
) -> anyhow::Result<i32> {
    let implementations = args.target.load(system)?;
    let seed = args.seed.unwrap_or_else(rand::random);
    let config = StressConfig {
        system: system.clone(),
        seed,
        shard: args.shard,
        duration: args.duration,
        cases_max: args.cases,
        mode: args.mode.into(),
        bounds: Bounds::default(),
        save_dir: Some(args.save_dir.clone()),
        shrink_iterations_max: 500,
        reconnect_max: args.reconnect_max,
    };
    let names: Vec<String> = implementations.iter().map(|i| i.name.clone()).collect();
    eprintln!(
        "{command}: seed {seed}, shard {}/{}, mode {:?}, jobs {}, implementations {}",
        args.shard.index,
        args.shard.count,
        args.mode,
        args.jobs,
        names.join(", ")
    );
    let mut facts = facts(system, args, seed, &implementations);
    facts.rss_start_kb = rss_kb();
    let interrupted = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(Progress::new(Arc::new(AtomicBool::new(false))));
    let watcher = watch_ctrl_c(progress.stop.clone(), interrupted.clone());
    // Whatever stops the run, the reports are written: a database that
    // cannot be created is an error like a server lost midway.
    facts.error = run_workers(server, implementations.into(), config, &progress, args)
        .await
        .unwrap_or_else(|e| Some(error_line(&e)));
    watcher.abort();
    facts.postgres = Some(server.description().to_string());
    facts.elapsed_s = progress.started.elapsed().as_secs_f64();
    facts.interrupted = interrupted.load(Ordering::SeqCst);
    facts.rss_end_kb = rss_kb();
    let report = Report::new(facts, &progress.snapshot());
    write_reports(&report, args)?;
    print_findings(&report, system);
    Ok(exit_code(&report, seed))
}

/// Ctrl-C stops the workers at their next choice; the run then reports.
fn watch_ctrl_c(
    stop: Arc<AtomicBool>,
    interrupted: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            interrupted.store(true, Ordering::SeqCst);
            stop.store(true, Ordering::SeqCst);
        }
    })
}

/// One database and engine per job, all workers at once, progress shown
/// meanwhile; returns the infrastructure error that stopped a worker, if any.
async fn run_workers(
    server: &Server,
    implementations: Arc<[Implementation]>,
    config: StressConfig,
    progress: &Arc<Progress>,
    args: &StressArgs,
) -> anyhow::Result<Option<String>> {
    let mut databases = Vec::new();
    for _ in 0..args.jobs {
        databases.push(server.create_database(&config.system).await?);
    }
    let view = View {
        shard: args.shard,
        duration: args.duration,
        cases_max: args.cases,
        interval: args.progress_interval,
    };
    let finished = Notify::new();
    let workers = async {
        let connectors = databases.iter().map(|d| d.connector()).collect();
        let (isolation, config) = (args.target.isolation, Arc::new(config));
        let ends = stress::run_workers(
            connectors,
            Limits::default(),
            implementations,
            isolation,
            config,
            progress.clone(),
        );
        let ends = ends.await;
        finished.notify_one();
        ends
    };
    let (ends, ()) = tokio::join!(workers, progress::show(progress, &finished, view));
    for database in databases {
        let _ = database.drop_database().await;
    }
    Ok(ends
        .into_iter()
        .find_map(|end| end.result.err())
        .map(|e| e.to_string()))
}

/// The summary line and the exit code: 2 for an infrastructure error, 130
/// when interrupted, 1 for findings, else 0.
fn exit_code(report: &Report, seed: u64) -> i32 {
    eprintln!(
        "{} cases, {} runs ({:.0}/s), {} indeterminate, {} reconnects, seed {seed}",
        report.cases,
        report.scheduled_runs + report.free_runs,
        report.runs_per_second,
        report.indeterminate,
        report.reconnects
    );
    if let Some(error) = &report.error {
        eprintln!("error: the run stopped on an infrastructure problem, not a race: {error}");
        return EXIT_ERROR;
    }
    if report.interrupted {
        eprintln!("interrupted: partial results above");
        return EXIT_INTERRUPTED;
    }
    if report.finding_count() > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    }
}

fn write_reports(report: &Report, args: &StressArgs) -> anyhow::Result<()> {
    if let Some(path) = &args.report {
        let text = serde_json::to_string_pretty(report)?;
        std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.junit {
        std::fs::write(path, report.junit())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
