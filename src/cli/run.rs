//! `run`: the main job behind `make run`. First every operation of every
//! implementation alone (a table a person can check by eye), then a bounded
//! exploration (a minute by default) ending in the findings table.

use super::stress::{StressArgs, execute, report_failure};
use super::{PgArgs, start_server};
use anyhow::Context;
use clap::Args;
use std::time::Duration;
use tombstone_harness::db::Server;
use tombstone_harness::engine::{Engine, Limits};
use tombstone_harness::implementation::Implementation;
use tombstone_harness::table::{render, solo_actions, solo_rows, standard_world};

#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    stress: StressArgs,
}

pub async fn run(pg: &PgArgs, args: &RunArgs) -> anyhow::Result<i32> {
    let implementations = args.stress.target.load()?;
    let mut stress = args.stress.seeded();
    if stress.duration.is_none() && stress.cases.is_none() {
        stress.duration = Some(Duration::from_secs(60));
    }
    // Whatever stops `run` before its exploration, CI still gets reports.
    let server = start_server(pg)
        .await
        .map_err(|e| report_failure(&stress, e))?;
    solo_table(&server, &implementations)
        .await
        .map_err(|e| report_failure(&stress, e))?;
    execute(&server, &stress, "run").await
}

/// Every operation of every implementation alone, as a table.
async fn solo_table(server: &Server, implementations: &[Implementation]) -> anyhow::Result<()> {
    let database = server.create_database().await?;
    let mut engine = Engine::open(database.connector(), Limits::default()).await?;
    let world = standard_world();
    println!("Each operation alone on the world {world}:\n");
    let mut rows = Vec::new();
    for implementation in implementations {
        let solo = solo_rows(&mut engine, implementation, &world, &solo_actions())
            .await
            .with_context(|| format!("running {}", implementation.name))?;
        rows.extend(solo);
    }
    println!("{}", render(&rows));
    drop(engine);
    database.drop_database().await?;
    Ok(())
}
