//! `stress`: the nightly job. Budget by duration and/or cases, a printed
//! seed, shards, parallel workers, scheduled and free-running modes, a
//! progress display, JSON and JUnit reports, exit 0/1/2 (130 on Ctrl-C).

use super::findings::print_findings;
use super::{
    EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, EXIT_INTERRUPTED, PgArgs, TargetArgs, start_server,
};
use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tombstone_harness::db::{Server, redact};
use tombstone_harness::engine::{Engine, Limits};
use tombstone_harness::generate::Bounds;
use tombstone_harness::implementation::Implementation;
use tombstone_harness::report::{Report, RunFacts, rss_kb};
use tombstone_harness::stress::{Mode, Progress, Shard, StressConfig, worker};
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
    pub mode: Mode,
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
}

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(text.len()),
    );
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{} is not a duration (e.g. 90s, 10m, 1h)", quoted(text)))?;
    let seconds = match unit {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        _ => {
            return Err(format!(
                "{} is not a duration (e.g. 90s, 10m, 1h)",
                quoted(text)
            ));
        }
    };
    Ok(Duration::from_secs_f64(seconds))
}

pub async fn run(pg: &PgArgs, args: &StressArgs) -> anyhow::Result<i32> {
    if args.duration.is_none() && args.cases.is_none() {
        anyhow::bail!("stress needs a budget: --duration and/or --cases");
    }
    if args.jobs == 0 {
        anyhow::bail!("--jobs must be at least 1");
    }
    args.target.load()?;
    let server = start_server(pg).await?;
    execute(&server, args, "stress").await
}

/// The shared body of `stress` and `run`, on a server already started.
pub async fn execute(server: &Server, args: &StressArgs, command: &str) -> anyhow::Result<i32> {
    let implementations = args.target.load()?;
    let seed = args.seed.unwrap_or_else(rand::random);
    let config = StressConfig {
        seed,
        shard: args.shard,
        duration: args.duration,
        cases_max: args.cases,
        mode: args.mode,
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
    let rss_start_kb = rss_kb();
    let interrupted = Arc::new(AtomicBool::new(false));
    let progress = Progress::new(Arc::new(AtomicBool::new(false)));
    let watcher = watch_ctrl_c(progress.stop.clone(), interrupted.clone());
    let error = run_workers(server, &implementations, &config, &progress, args).await?;
    watcher.abort();
    let facts = RunFacts {
        isolation: args
            .target
            .isolation
            .map(|i| i.to_string())
            .unwrap_or_else(|| "as each file says".into()),
        command: redact(&std::env::args().collect::<Vec<_>>().join(" ")),
        seed,
        shard: format!("{}/{}", args.shard.index, args.shard.count),
        mode: format!("{:?}", args.mode).to_lowercase(),
        jobs: args.jobs,
        implementations: names,
        postgres: server.description().to_string(),
        elapsed_s: progress.started.elapsed().as_secs_f64(),
        interrupted: interrupted.load(Ordering::SeqCst),
        error,
        rss_start_kb,
        rss_end_kb: rss_kb(),
    };
    let report = Report::new(facts, &progress.snapshot());
    write_reports(&report, args)?;
    print_findings(&report);
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
    implementations: &[Implementation],
    config: &StressConfig,
    progress: &Progress,
    args: &StressArgs,
) -> anyhow::Result<Option<String>> {
    let mut databases = Vec::new();
    let mut engines = Vec::new();
    for _ in 0..args.jobs {
        let database = server.create_database().await?;
        engines.push(Engine::open(database.connector(), Limits::default()).await?);
        databases.push(database);
    }
    let display = show_progress(progress, args);
    let workers = engines.iter_mut().map(|engine| {
        worker(
            engine,
            implementations,
            args.target.isolation,
            config,
            progress,
        )
    });
    let results = futures::future::join_all(workers).await;
    progress.stop.store(true, Ordering::SeqCst);
    display.await;
    drop(engines);
    for database in databases {
        let _ = database.drop_database().await;
    }
    Ok(results
        .into_iter()
        .find_map(|r| r.err())
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

/// A bar on a terminal; a plain line every ten seconds otherwise (CI logs).
fn show_progress<'p>(
    progress: &'p Progress,
    args: &StressArgs,
) -> impl std::future::Future<Output = ()> + 'p {
    let terminal = std::io::stderr().is_terminal();
    let budget = args.duration;
    async move {
        let bar = terminal.then(|| {
            let bar = ProgressBar::new(budget.map(|d| d.as_secs()).unwrap_or(0));
            let style =
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {msg}")
                    .expect("a valid template");
            bar.set_style(style);
            bar
        });
        let tick = if terminal {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(10)
        };
        while !progress.stop.load(Ordering::Relaxed) {
            tokio::time::sleep(tick).await;
            let tally = progress.snapshot();
            let elapsed = progress.started.elapsed();
            let rate =
                (tally.scheduled_runs + tally.free_runs) as f64 / elapsed.as_secs_f64().max(0.001);
            let counts: Vec<String> = tally
                .count_by_anomaly()
                .iter()
                .map(|((i, a), n)| format!("{i}:{a}={n}"))
                .collect();
            let remaining = budget
                .map(|b| b.saturating_sub(elapsed).as_secs())
                .map(|s| format!(", {s}s left"))
                .unwrap_or_default();
            let message = format!(
                "{} cases, {rate:.0} runs/s, findings {}{remaining}",
                tally.cases,
                counts.join(" ")
            );
            match &bar {
                Some(bar) => {
                    bar.set_position(elapsed.as_secs());
                    bar.set_message(message);
                }
                None => eprintln!("[{:>5.0}s] {message}", elapsed.as_secs_f64()),
            }
        }
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
    }
}
