//! `check`: is a system (and each of its implementations) usable? Reads and
//! validates every file, loads the schema into a scratch database, and runs
//! every operation of every implementation alone on the system's solo
//! world. For scripts and editors: exit 0 when all is well, 2 with one line
//! naming the file, operation, step and the server's message otherwise.

use super::{EXIT_CLEAN, EXIT_ERROR, PgArgs, TargetArgs, start_server};
use clap::Args;
use std::sync::Arc;
use tombstone_harness::engine::{Engine, Limits};
use tombstone_harness::implementation::Implementation;
use tombstone_harness::preflight;
use tombstone_harness::system::System;

#[derive(Args)]
pub struct CheckArgs {
    #[command(flatten)]
    target: TargetArgs,
}

pub async fn run(pg: &PgArgs, system: &Arc<System>, args: &CheckArgs) -> anyhow::Result<i32> {
    let mut implementations = args.target.load(system)?;
    let reference = Implementation::load(system, &system.reference)?;
    if !implementations.iter().any(|i| i.name == reference.name) {
        implementations.push(reference.clone());
    }
    for name in system.operations.keys() {
        if reference.script(name).is_none() {
            anyhow::bail!(
                "system {}: the reference implementation {} has no operation {name}",
                system.name,
                system.reference
            );
        }
    }
    let server = start_server(pg).await?;
    let database = server.create_database(system).await?;
    let mut engine = Engine::open(database.connector(), Limits::default()).await?;
    let mut problems = Vec::new();
    for implementation in &implementations {
        let (rows, mistakes) = preflight::run_alone(&mut engine, system, implementation).await?;
        problems.extend(mistakes);
        println!(
            "{}: {} operations run alone",
            implementation.name,
            rows.len()
        );
    }
    drop(engine);
    database.drop_database().await?;
    if !problems.is_empty() {
        for problem in &problems {
            eprintln!("error: {problem}");
        }
        return Ok(EXIT_ERROR);
    }
    println!("system {}: ok", system.name);
    Ok(EXIT_CLEAN)
}

/// Before a concurrent run: every operation of `implementations` alone on
/// a scratch database of `server`; a statement that fails even alone is a
/// usage error (one line, exit 2), not a race on every case.
pub async fn preflight(
    server: &tombstone_harness::db::Server,
    system: &Arc<System>,
    implementations: &[Implementation],
) -> anyhow::Result<()> {
    let database = server.create_database(system).await?;
    let mut engine = Engine::open(database.connector(), Limits::default()).await?;
    let checked = preflight::check(&mut engine, system, implementations).await;
    drop(engine);
    database.drop_database().await?;
    Ok(checked?)
}
