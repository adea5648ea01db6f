//! `mutate`: how strong the harness is for one implementation. Derives its
//! mutants, runs each until something kills it, and prints the table:
//! mutant, the SQL change, what killed it (or the proof it is equivalent,
//! or SURVIVED) and how long it took. Exit 0 when every mutant is killed or
//! equivalent, 1 when one survived.

use super::stress::parse_duration;
use super::{EXIT_CLEAN, EXIT_FINDINGS, PgArgs, start_server};
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tombstone_harness::db::Server;
use tombstone_harness::engine::{Engine, Limits};
use tombstone_harness::generate::Bounds;
use tombstone_harness::implementation::Implementation;
use tombstone_harness::mutate::{
    Baseline, Fate, KilledBy, Mutant, MutateConfig, Stage, mutants, run_mutant,
};
use tombstone_harness::preflight;
use tombstone_harness::system::System;
use tombstone_harness::table::text_table;

#[derive(Args)]
pub struct MutateArgs {
    /// The implementation to mutate: one of the system's or a file.
    #[arg(long = "implementation", short = 'i')]
    implementation: String,
    /// Wall time of the hunt over generated cases, per mutant.
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    budget: Duration,
    /// The seed of the generated cases (printed; default: random).
    #[arg(long)]
    seed: Option<u64>,
    /// Only the mutants whose id contains this text.
    #[arg(long)]
    only: Option<String>,
    /// List the mutants and their changes without running them.
    #[arg(long)]
    list: bool,
    /// Write each mutant's implementation file into this directory (to run
    /// one with `stress -i`).
    #[arg(long)]
    save: Option<PathBuf>,
    /// Mutants run at once, each worker on a database of its own.
    #[arg(long, default_value_t = 1)]
    jobs: usize,
}

pub async fn run(pg: &PgArgs, system: &Arc<System>, args: &MutateArgs) -> anyhow::Result<i32> {
    if args.jobs == 0 {
        anyhow::bail!("--jobs must be at least 1");
    }
    let original = Implementation::load(system, &args.implementation)?;
    let chosen: Vec<Mutant> = mutants(system, &original)
        .into_iter()
        .filter(|m| args.only.as_ref().is_none_or(|o| m.id.contains(o.as_str())))
        .collect();
    if let Some(dir) = &args.save {
        save(dir, &chosen)?;
    }
    if args.list {
        for mutant in &chosen {
            println!("{}\n  - {}\n  + {}", mutant.id, mutant.before, mutant.after);
        }
        return Ok(EXIT_CLEAN);
    }
    if chosen.is_empty() {
        anyhow::bail!("no mutant of {} matches", original.name);
    }
    let seed = args.seed.unwrap_or_else(rand::random);
    println!(
        "mutate {}: {} mutants, budget {} each, seed {seed}",
        original.name,
        chosen.len(),
        humantime::format_duration(args.budget)
    );
    let server = start_server(pg).await?;
    let config = MutateConfig {
        seed,
        budget: args.budget,
        bounds: Bounds::default(),
        schedules_max: 5_000,
    };
    let fates = run_all(&server, system, &original, &chosen, &config, args.jobs).await?;
    println!("\n{}", table(&chosen, &fates));
    let killed = fates
        .iter()
        .filter(|f| matches!(f, Fate::Killed { .. }))
        .count();
    let equivalent = fates
        .iter()
        .filter(|f| matches!(f, Fate::Equivalent { .. }))
        .count();
    let survived: Vec<&Mutant> = chosen
        .iter()
        .zip(&fates)
        .filter(|(_, f)| !f.is_settled())
        .map(|(m, _)| m)
        .collect();
    println!(
        "{} mutants: {killed} killed, {equivalent} equivalent, {} survived; mutation score {killed}/{}",
        chosen.len(),
        survived.len(),
        chosen.len() - equivalent
    );
    for mutant in &survived {
        println!(
            "  survived {}: tombstone-harness --system {} mutate -i {} --only '{}' --seed {seed} --budget {}",
            mutant.id,
            system.reference_name(),
            original.reference(),
            mutant.id,
            humantime::format_duration(args.budget)
        );
    }
    Ok(if survived.is_empty() {
        EXIT_CLEAN
    } else {
        EXIT_FINDINGS
    })
}

/// Every mutant's fate, in the mutants' order, from `jobs` workers that
/// each take the next mutant as they finish one; a line per mutant as it
/// settles is the progress of a long run.
async fn run_all(
    server: &Server,
    system: &Arc<System>,
    original: &Implementation,
    chosen: &[Mutant],
    config: &MutateConfig,
    jobs: usize,
) -> anyhow::Result<Vec<Fate>> {
    let mut databases = Vec::new();
    let mut engines = Vec::new();
    for _ in 0..jobs.min(chosen.len()) {
        let database = server.create_database(system).await?;
        let mut engine = Engine::open(database.connector(), Limits::default()).await?;
        if engines.is_empty() {
            // The original must run alone, or every mutant dies of its mistake.
            let alone = preflight::check(&mut engine, system, std::slice::from_ref(original)).await;
            if let Err(mistake) = alone {
                drop(engine);
                database.drop_database().await?;
                return Err(mistake.into());
            }
        }
        engines.push(engine);
        databases.push(database);
    }
    let next = AtomicUsize::new(0);
    let settled = AtomicUsize::new(0);
    let fates: Mutex<Vec<Option<Fate>>> = Mutex::new(vec![None; chosen.len()]);
    let workers = engines.iter_mut().map(|engine| async {
        // Each worker explores the original's scenarios once for itself.
        let mut baseline = Baseline::default();
        loop {
            let n = next.fetch_add(1, Ordering::Relaxed);
            let Some(mutant) = chosen.get(n) else {
                return Ok(());
            };
            let fate = run_mutant(engine, system, original, mutant, config, &mut baseline)
                .await
                .with_context(|| format!("mutant {}", mutant.id))?;
            let done = settled.fetch_add(1, Ordering::Relaxed) + 1;
            eprintln!(
                "[{done}/{}] {}: {}",
                chosen.len(),
                mutant.id,
                verdict(&fate)
            );
            fates.lock().expect("fates lock")[n] = Some(fate);
        }
    });
    let results: Vec<anyhow::Result<()>> = futures::future::join_all(workers).await;
    drop(engines);
    for database in databases {
        database.drop_database().await?;
    }
    results.into_iter().collect::<anyhow::Result<Vec<()>>>()?;
    let fates = fates.into_inner().expect("fates lock");
    Ok(fates
        .into_iter()
        .map(|fate| fate.expect("every mutant ran"))
        .collect())
}

fn save(dir: &std::path::Path, chosen: &[Mutant]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for mutant in chosen {
        let name = mutant.id.replace(['/', ' '], "_");
        let path = dir.join(format!("{name}.toml"));
        std::fs::write(&path, &mutant.source)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// "killed by replayable-tombstone (wrong), alone", "equivalent on 1466
/// (9 schedules)", "SURVIVED: …".
fn verdict(fate: &Fate) -> String {
    match fate {
        Fate::Killed { by, stage, .. } => {
            let by = match by {
                KilledBy::Check(mistake) => format!("check ({})", mistake.sqlstate),
                KilledBy::Invariant(violation) => match &violation.anomaly {
                    Some(anomaly) => format!("{} ({})", violation.invariant, anomaly.name),
                    None => violation.invariant.to_string(),
                },
            };
            let stage = match stage {
                Stage::Alone => "alone".to_string(),
                Stage::Hunt { case } => format!("case {case}"),
                Stage::Scenario { name } => format!("scenario {name}"),
            };
            format!("killed by {by}, {stage}")
        }
        Fate::Equivalent {
            scenarios,
            schedules,
        } => format!(
            "equivalent on {} ({schedules} schedules, same outcomes as the original)",
            scenarios.join(", ")
        ),
        Fate::Survived { cases, why } => format!("SURVIVED {cases} cases: {why}"),
    }
}

fn table(chosen: &[Mutant], fates: &[Fate]) -> comfy_table::Table {
    let rows = chosen.iter().zip(fates).map(|(mutant, fate)| {
        let time = match fate {
            Fate::Killed { after, .. } => format!("{:.2} s", after.as_secs_f64()),
            _ => "-".into(),
        };
        let after = if mutant.after.is_empty() {
            "(removed)".to_string()
        } else {
            mutant.after.clone()
        };
        vec![
            mutant.id.clone(),
            format!("- {}\n+ {after}", mutant.before),
            verdict(fate),
            time,
        ]
    });
    text_table(&["mutant", "change", "verdict", "time to kill"], rows)
}
