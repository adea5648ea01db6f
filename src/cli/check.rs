//! `check`: is a system (and each of its implementations) usable? Reads and
//! validates every file, loads the schema into a scratch database, and runs
//! every operation of every implementation alone on the system's solo
//! world. For scripts and editors: exit 0 when all is well, 2 with one line
//! naming the file, operation, step and the server's message otherwise.

use super::{EXIT_CLEAN, EXIT_ERROR, PgArgs, TargetArgs, start_server};
use clap::Args;
use std::sync::Arc;
use tombstone_harness::db::StepReply;
use tombstone_harness::engine::{Engine, Limits};
use tombstone_harness::history::{EventKind, History, Statement};
use tombstone_harness::implementation::Implementation;
use tombstone_harness::system::System;
use tombstone_harness::table::{solo_actions, solo_rows, standard_world};

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
    let world = standard_world(system);
    let actions = solo_actions(system, &world);
    let mut problems = Vec::new();
    for implementation in &implementations {
        let own: Vec<_> = actions
            .iter()
            .filter(|a| implementation.script(&a.kind).is_some())
            .cloned()
            .collect();
        let rows = solo_rows(&mut engine, system, implementation, &world, &own).await?;
        for row in &rows {
            if let Some(problem) = failed_alone(&row.history) {
                problems.push(format!(
                    "{}: operation '{}', {problem}",
                    implementation.label, row.action.kind
                ));
            }
        }
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

/// Why an operation run alone shows a mistake in its implementation: a
/// statement the server refused as malformed (SQLSTATE class 42: syntax,
/// an undefined table, column or function) whatever the rules say, or any
/// error no rule maps. Alone, nothing races: such an error is the file's.
fn failed_alone(history: &History) -> Option<String> {
    let unmapped = history.results.iter().any(|r| {
        matches!(r, tombstone_harness::history::OperationResult::Finished(o) if o.is_unmapped())
    });
    history.events.iter().find_map(|event| match &event.kind {
        EventKind::Completed {
            statement: Statement::Step { name, .. },
            reply: StepReply::Error { sqlstate, message },
        } if sqlstate.starts_with("42") || unmapped => Some(format!(
            "step '{name}': the server answered {sqlstate} {}",
            tombstone_harness::text::one_line(message)
        )),
        _ => None,
    })
}
