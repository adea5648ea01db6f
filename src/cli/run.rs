//! `run`: the main job behind `make run`.

use super::{EXIT_CLEAN, PgArgs, TargetArgs, start_server};
use anyhow::Context;
use clap::Args;
use tombstone_harness::engine::{Engine, Limits};
use tombstone_harness::table::{render, solo_actions, solo_rows, standard_world};

#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    target: TargetArgs,
}

pub async fn run(pg: &PgArgs, args: &RunArgs) -> anyhow::Result<i32> {
    let implementations = args.target.load()?;
    let server = start_server(pg).await?;
    let database = server.create_database().await?;
    let mut engine = Engine::open(database.connector(), Limits::default()).await?;
    let world = standard_world();
    println!("Each operation alone on the world {world}:\n");
    let mut rows = Vec::new();
    for implementation in &implementations {
        let solo = solo_rows(&mut engine, implementation, &world, &solo_actions())
            .await
            .with_context(|| format!("running {}", implementation.name))?;
        rows.extend(solo);
    }
    println!("{}", render(&rows));
    drop(engine);
    database.drop_database().await?;
    Ok(EXIT_CLEAN)
}
