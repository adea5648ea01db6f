//! `explore`: every schedule of a small scenario, as an outcome table; or, with
//! `--schedule`, one schedule told as a story.

use super::{EXIT_CLEAN, EXIT_FINDINGS, PgArgs, TargetArgs, start_server};
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;
use tombstone_harness::case::Case;
use tombstone_harness::chooser::Scripted;
use tombstone_harness::counterexample::{Counterexample, story};
use tombstone_harness::engine::{Engine, Limits};
use tombstone_harness::explore::{
    ExploreLimits, Explored, Reduction, explore_counted, explore_parallel, render_table,
};
use tombstone_harness::implementation::{Implementation, Isolation};
use tombstone_harness::judge::judge;
use tombstone_harness::scenario::Scenario;
use tombstone_harness::schedule::Schedule;
use tombstone_harness::system::System;

#[derive(Args)]
pub struct ExploreArgs {
    /// One of the system's scenarios (stack-auth: 1466,
    /// sign-in-during-password-change, double-revoke, concurrent-user-deletes,
    /// team-delete-vs-revoke, team-delete-leaves-invitations) or a scenario file.
    scenario: String,
    #[command(flatten)]
    target: TargetArgs,
    /// Run only this schedule (e.g. "v1: 1 2 2 1") and print its story.
    #[arg(long, value_parser = Schedule::parse)]
    schedule: Option<Schedule>,
    /// Save the first schedule of each distinct violation as a counterexample here.
    #[arg(long)]
    save: Option<PathBuf>,
    /// Run every schedule: without it, schedules that only reorder
    /// statements on rows that do not conflict are run once per class (the
    /// outcomes found are the same).
    #[arg(long, conflicts_with = "prune")]
    no_reduce: bool,
    /// The older, coarser reduction: skip schedules that only swap
    /// neighbouring statements on disjoint tables.
    #[arg(long)]
    prune: bool,
    /// Stop after this many schedules per implementation and isolation level.
    #[arg(long, default_value_t = 20_000)]
    schedules_max: u64,
    /// Explore on J databases at once (the tree split by its first choice);
    /// the table is the same as with one.
    #[arg(long, default_value_t = 1)]
    jobs: usize,
}

/// The isolation levels to explore: the one asked for, else read committed
/// and, where an operation of the case opens a transaction, the stricter two.
fn isolations(
    implementation: &Implementation,
    case: &Case,
    asked: Option<Isolation>,
) -> Vec<Option<Isolation>> {
    let transactional = case.operations.iter().any(|o| {
        implementation
            .script(&o.action.kind)
            .is_some_and(|s| s.transaction_from.is_some())
    });
    match asked {
        Some(level) => vec![Some(level)],
        None if transactional => Isolation::ALL.into_iter().map(Some).collect(),
        None => vec![None],
    }
}

pub async fn run(pg: &PgArgs, system: &Arc<System>, args: &ExploreArgs) -> anyhow::Result<i32> {
    let scenario = Scenario::load(system, &args.scenario)?;
    let implementations = args.target.load_unmodified(system)?;
    let server = start_server(pg).await?;
    if args.jobs == 0 {
        anyhow::bail!("--jobs must be at least 1");
    }
    let database = server.create_database(system).await?;
    let mut engine = Engine::open(database.connector(), Limits::default()).await?;
    tombstone_harness::preflight::check(&mut engine, system, &implementations).await?;
    // More workers only for the full table; a story is one schedule.
    let mut helpers = Vec::new();
    let mut helper_databases = Vec::new();
    for _ in 1..args.jobs.max(1) {
        if args.schedule.is_some() {
            break;
        }
        let database = server.create_database(system).await?;
        helpers.push(Engine::open(database.connector(), Limits::default()).await?);
        helper_databases.push(database);
    }
    println!(
        "scenario {}: {}\n{}",
        args.scenario, scenario.about, scenario.case
    );
    let mut found = false;
    for implementation in &implementations {
        for isolation in isolations(implementation, &scenario.case, args.target.isolation) {
            let running = isolation
                .map(|i| implementation.with_isolation(i))
                .unwrap_or_else(|| implementation.clone());
            let level = isolation.unwrap_or(Isolation::ReadCommitted);
            let title = format!("{} at {level}", implementation.name);
            if let Some(schedule) = &args.schedule {
                let history = engine
                    .run(
                        &scenario.case,
                        &running,
                        &mut Scripted::new(schedule.clone()),
                    )
                    .await?;
                let verdict = judge(&mut engine, &scenario.case, &history).await?;
                found |= !verdict.is_clean();
                let replay = format!(
                    "tombstone-harness --system {} explore {} -i {} --isolation {level} --schedule '{}'",
                    system.reference_name(),
                    args.scenario,
                    implementation.reference(),
                    history.schedule
                );
                println!(
                    "{}",
                    story(&title, &scenario.case, &history, &verdict, &replay)
                );
                continue;
            }
            let limits = ExploreLimits {
                schedules_max: args.schedules_max,
                reduction: if args.no_reduce {
                    Reduction::None
                } else if args.prune {
                    Reduction::Tables
                } else {
                    Reduction::Rows
                },
            };
            let explored = if helpers.is_empty() {
                explore_counted(&mut engine, &scenario.case, &running, limits, |_| {}).await
            } else {
                helpers.insert(0, engine);
                let explored =
                    explore_parallel(&mut helpers, &scenario.case, &running, limits).await;
                engine = helpers.remove(0);
                explored
            }
            .with_context(|| format!("exploring {title}"))?;
            let (explored, stats) = explored;
            let violating = explored.iter().filter(|e| !e.verdict.is_clean()).count();
            let reduced = match limits.reduction {
                _ if !stats.unreduced_for.is_empty() => format!(
                    " (every schedule: the schema's triggers or rules {} may write rows no statement names)",
                    stats.unreduced_for.join(", ")
                ),
                Reduction::Rows => format!(
                    " (one per class of equivalent schedules{}; {} runs ended early as repeats; --no-reduce runs all)",
                    if stats.strict {
                        ", tombstone inserts for one row in every order: a unique key decided between two"
                    } else {
                        ""
                    },
                    stats.abandoned
                ),
                Reduction::Tables => " (--prune)".to_string(),
                Reduction::None => String::new(),
            };
            println!(
                "\n{title}: {} schedules{reduced}, {violating} violate an invariant",
                explored.len()
            );
            print!("{}", render_table(&explored));
            found |= violating > 0;
            if let Some(dir) = &args.save {
                save_distinct(dir, implementation, isolation, &scenario.case, &explored)?;
            }
        }
    }
    drop(engine);
    drop(helpers);
    database.drop_database().await?;
    for database in helper_databases {
        database.drop_database().await?;
    }
    Ok(if found { EXIT_FINDINGS } else { EXIT_CLEAN })
}

/// Saves the first schedule of each distinct set of violations.
fn save_distinct(
    dir: &std::path::Path,
    implementation: &Implementation,
    isolation: Option<Isolation>,
    case: &Case,
    explored: &[Explored],
) -> anyhow::Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    for one in explored.iter().filter(|e| !e.verdict.is_clean()) {
        let key: Vec<String> = one
            .verdict
            .violations
            .iter()
            .map(|v| format!("{}{:?}", v.invariant, v.anomaly))
            .collect();
        if seen.insert(key) {
            let saved = Counterexample::of(
                implementation,
                isolation,
                case,
                &one.history.schedule,
                &one.verdict,
            );
            let path = saved.save(dir)?;
            println!(
                "saved {} (replay: tombstone-harness replay {})",
                path.display(),
                path.display()
            );
        }
    }
    Ok(())
}
