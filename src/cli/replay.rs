//! `replay`: re-run a saved counterexample and tell its story; with
//! `--check-determinism K`, run it K times and fail loudly on any difference.

use super::{EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, PgArgs, start_server};
use clap::Args;
use std::path::{Path, PathBuf};
use tombstone_harness::chooser::Scripted;
use tombstone_harness::counterexample::{Counterexample, story};
use tombstone_harness::engine::{Engine, Limits};
use tombstone_harness::history::History;
use tombstone_harness::implementation::{Implementation, Isolation};
use tombstone_harness::judge::judge;
use tombstone_harness::oracle::Verdict;

#[derive(Args)]
pub struct ReplayArgs {
    /// A counterexample file (fixtures/systems/stack-auth/counterexamples/*.json or a saved one).
    file: PathBuf,
    /// Replay K times; any difference in the story is an error (exit 2).
    #[arg(long, value_name = "K")]
    check_determinism: Option<u32>,
    /// Replay against this implementation (a shipped name or a file) instead
    /// of the one the counterexample recorded.
    #[arg(long, short = 'i', value_name = "NAME|FILE")]
    implementation: Option<String>,
}

/// A counterexample and the implementation to replay it against, both
/// checked before anything connects.
pub fn load(file: &Path, asked: Option<&str>) -> anyhow::Result<(Counterexample, Implementation)> {
    let counterexample = Counterexample::load(file)?;
    let implementation = counterexample.implementation(file, asked)?;
    Ok((counterexample, implementation))
}

pub async fn run(pg: &PgArgs, args: &ReplayArgs) -> anyhow::Result<i32> {
    let (counterexample, implementation) = load(&args.file, args.implementation.as_deref())?;
    let system = counterexample.case.system.clone();
    if args.check_determinism == Some(0) {
        anyhow::bail!("--check-determinism needs K of at least 1");
    }
    let server = start_server(pg).await?;
    let database = server.create_database(&system).await?;
    let mut engine = Engine::open(database.connector(), Limits::default()).await?;
    let runs = args.check_determinism.unwrap_or(1);
    let mut first: Option<String> = None;
    let mut code = EXIT_CLEAN;
    for run in 1..=runs {
        let chooser = &mut Scripted::new(counterexample.schedule.clone());
        let history = engine
            .run(&counterexample.case, &implementation, chooser)
            .await?;
        let verdict = judge(&mut engine, &counterexample.case, &history).await?;
        let fingerprint = history.fingerprint();
        match &first {
            None => {
                code = tell(&counterexample, &implementation, args, &history, &verdict);
                first = Some(fingerprint);
            }
            Some(first) if *first != fingerprint => {
                let line = first
                    .lines()
                    .zip(fingerprint.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or(0);
                eprintln!(
                    "error: nondeterminism: replay {run} of {runs} differs from replay 1 (first difference at line {}: {:?} vs {:?})",
                    line + 1,
                    first.lines().nth(line).unwrap_or(""),
                    fingerprint.lines().nth(line).unwrap_or("")
                );
                return Ok(EXIT_ERROR);
            }
            Some(_) => {}
        }
    }
    if runs > 1 {
        println!("deterministic: {runs} replays gave the same story");
    }
    drop(engine);
    database.drop_database().await?;
    Ok(code)
}

/// Prints the story of the first replay and whether it reproduces what the
/// file recorded; returns the exit code (1: it reproduces, 0: it does not).
fn tell(
    counterexample: &Counterexample,
    implementation: &Implementation,
    args: &ReplayArgs,
    history: &History,
    verdict: &Verdict,
) -> i32 {
    let isolation = counterexample.isolation.unwrap_or(Isolation::ReadCommitted);
    let title = format!(
        "{} at {isolation} ({})",
        implementation.name,
        args.file.display()
    );
    let mut command = format!("tombstone-harness replay {}", args.file.display());
    if let Some(asked) = &args.implementation {
        command.push_str(&format!(" --implementation {asked}"));
    }
    println!(
        "{}",
        story(&title, &counterexample.case, history, verdict, &command)
    );
    let expected: Vec<(String, Option<String>)> = counterexample
        .expected
        .iter()
        .map(|e| (e.invariant.clone(), e.anomaly.clone()))
        .collect();
    let got: Vec<(String, Option<String>)> = verdict
        .violations
        .iter()
        .map(|v| {
            (
                v.invariant.to_string(),
                v.anomaly.as_ref().map(|a| a.to_string()),
            )
        })
        .collect();
    if verdict.is_clean() {
        println!(
            "does not reproduce: this run violates nothing (the file expected {} violations)",
            expected.len()
        );
        return EXIT_CLEAN;
    }
    if got != expected {
        println!("reproduces differently: expected {expected:?}, got {got:?}");
    }
    EXIT_FINDINGS
}
