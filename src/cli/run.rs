//! `run`: the main job behind `make run`. First every operation of every
//! implementation alone (a table a person can check by eye), then a bounded
//! exploration (a minute by default) ending in the findings table.

use super::stress::{StressArgs, execute, report_failure};
use super::{PgArgs, start_server};
use anyhow::Context;
use clap::Args;
use std::sync::Arc;
use std::time::Duration;
use tombstone_harness::db::Server;
use tombstone_harness::engine::{Engine, Limits};
use tombstone_harness::implementation::Implementation;
use tombstone_harness::preflight;
use tombstone_harness::system::System;
use tombstone_harness::table::{render, standard_world};

#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    stress: StressArgs,
}

pub async fn run(pg: &PgArgs, system: &Arc<System>, args: &RunArgs) -> anyhow::Result<i32> {
    let implementations = args.stress.target.load(system)?;
    let mut stress = args.stress.seeded();
    if stress.duration.is_none() && stress.cases.is_none() {
        stress.duration = Some(Duration::from_secs(60));
    }
    // Whatever stops `run` before its exploration, CI still gets reports.
    let server = start_server(pg)
        .await
        .map_err(|e| report_failure(system, &stress, e))?;
    solo_table(&server, system, &implementations)
        .await
        .map_err(|e| report_failure(system, &stress, e))?;
    execute(&server, system, &stress, "run").await
}

/// Every operation of every implementation alone, as a table.
async fn solo_table(
    server: &Server,
    system: &Arc<System>,
    implementations: &[Implementation],
) -> anyhow::Result<()> {
    let database = server.create_database(system).await?;
    let mut engine = Engine::open(database.connector(), Limits::default()).await?;
    let world = standard_world(system);
    println!(
        "System {}: each operation alone on the world {world}:\n",
        system.name
    );
    let mut rows = Vec::new();
    let mut mistakes = Vec::new();
    for implementation in implementations {
        let (solo, found) = preflight::run_alone(&mut engine, system, implementation)
            .await
            .with_context(|| format!("running {}", implementation.name))?;
        rows.extend(solo);
        mistakes.extend(found);
    }
    println!("{}", render(&rows));
    drop(engine);
    database.drop_database().await?;
    // A statement that fails even alone is the file's mistake: racing it
    // would only report it as a 500 on every case.
    if let Some(first) = mistakes.first() {
        anyhow::bail!(preflight::PreflightError::Mistakes {
            first: Box::new(first.clone()),
            count: mistakes.len(),
        });
    }
    Ok(())
}
