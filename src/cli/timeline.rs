//! `timeline FILE --svg OUT`: a swimlane picture of a saved counterexample.

use super::{EXIT_CLEAN, PgArgs, start_server};
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use tombstone_harness::chooser::Scripted;
use tombstone_harness::engine::{Engine, Limits};
use tombstone_harness::implementation::Isolation;
use tombstone_harness::judge::judge;
use tombstone_harness::timeline;

#[derive(Args)]
pub struct TimelineArgs {
    /// A counterexample file.
    file: PathBuf,
    /// Where to write the SVG picture.
    #[arg(long)]
    svg: PathBuf,
    /// Draw it against this implementation (a shipped name or a file) instead
    /// of the one the counterexample recorded.
    #[arg(long, short = 'i', value_name = "NAME|FILE")]
    implementation: Option<String>,
}

pub async fn run(pg: &PgArgs, args: &TimelineArgs) -> anyhow::Result<i32> {
    let (counterexample, implementation) =
        super::replay::load(&args.file, args.implementation.as_deref())?;
    let system = counterexample.case.system.clone();
    let server = start_server(pg).await?;
    let database = server.create_database(&system).await?;
    let mut engine = Engine::open(database.connector(), Limits::default()).await?;
    let chooser = &mut Scripted::new(counterexample.schedule.clone());
    let history = engine
        .run(&counterexample.case, &implementation, chooser)
        .await?;
    let verdict = judge(&mut engine, &counterexample.case, &history).await?;
    let isolation = counterexample.isolation.unwrap_or(Isolation::ReadCommitted);
    let title = format!(
        "{} at {isolation} — {}",
        implementation.name,
        args.file.display()
    );
    let picture = timeline::svg(&title, &counterexample.case, &history, &verdict);
    std::fs::write(&args.svg, picture)
        .with_context(|| format!("writing {}", args.svg.display()))?;
    println!("wrote {}", args.svg.display());
    drop(engine);
    database.drop_database().await?;
    Ok(EXIT_CLEAN)
}
