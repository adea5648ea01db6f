//! Free-running throughput against pgbench running the same statements, and
//! the resident memory of a longer stress run.

use super::{Bench, env_u64, repo_path};
use serde_json::{Value, json};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tombstone_harness::engine::{Engine, Limits};
use tombstone_harness::generate::Bounds;
use tombstone_harness::judge::judge;
use tombstone_harness::report::rss_kb;
use tombstone_harness::stress::{Mode, Progress, Shard, StressConfig, run_workers};

/// Whether the databases keep what each deleted row held (the trigger the
/// replayable oracle's column-by-column check reads, added by #11 after
/// the baseline this row is compared with).
#[derive(Clone, Copy, PartialEq)]
enum Capture {
    On,
    Off,
}

/// `jobs` engines each run the #1466 case free-running (both operations at
/// once on their own sessions), judging every run, for `seconds`.
fn harness_free(bench: &Bench, jobs: u64, seconds: f64, capture: Capture) -> (f64, u64) {
    let implementation = bench.implementation("stack-auth-post-1466");
    let case = bench.case(
        "u1 t1(u1)",
        &["sign-out token=t1 user=u1", "change-password-admin user=u1"],
    );
    let databases: Vec<_> = (0..jobs)
        .map(|_| {
            let create = bench.server.create_database(&bench.system);
            bench.runtime.block_on(create).expect("create database")
        })
        .collect();
    if capture == Capture::Off {
        for database in &databases {
            bench.runtime.block_on(async {
                let mut conn = database.connect("bench").await.expect("connect");
                // The function seed.rs installs; CASCADE takes its triggers.
                sqlx::raw_sql("DROP FUNCTION \"harnessKeepDeleted\"() CASCADE")
                    .execute(&mut conn)
                    .await
                    .expect("dropping the deleted-row capture");
            });
        }
    }
    let runs = AtomicU64::new(0);
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    // As `stress --jobs` runs its workers: each on a thread, runtime and
    // engine of its own.
    std::thread::scope(|scope| {
        for database in &databases {
            let (case, implementation, runs) = (&case, &implementation, &runs);
            scope.spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a worker's runtime");
                runtime.block_on(async {
                    let mut engine = Engine::open(database.connector(), Limits::default())
                        .await
                        .expect("engine");
                    while Instant::now() < deadline {
                        let history = engine
                            .run_free(case, implementation)
                            .await
                            .expect("free run");
                        let _ = judge(&mut engine, case, &history).await.expect("judge");
                        runs.fetch_add(1, Ordering::Relaxed);
                    }
                })
            });
        }
    });
    let elapsed = started.elapsed().as_secs_f64();
    for database in databases {
        let _ = bench.runtime.block_on(database.drop_database());
    }
    let runs = runs.load(Ordering::Relaxed);
    (2.0 * runs as f64 / elapsed, runs)
}

/// pgbench with `clients` clients, each running whole #1466 cases.
fn pgbench(bench: &Bench, clients: u64, seconds: u64) -> f64 {
    let (database, engine) = bench.engine();
    drop(engine);
    let script = repo_path("scripts/bench/pgbench_1466.sql");
    let output = Command::new(bench.bin_dir.join("pgbench"))
        .args(["-n", "-f"])
        .arg(&script)
        .args([
            "-c",
            &clients.to_string(),
            "-j",
            &clients.to_string(),
            "-T",
            &seconds.to_string(),
        ])
        .arg("-h")
        .arg(&bench.socket_dir)
        .args(["-p", "5432", "-U", "postgres", &database.name])
        .output()
        .expect("running pgbench");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "pgbench failed: {}{}",
        text,
        String::from_utf8_lossy(&output.stderr)
    );
    let _ = bench.runtime.block_on(database.drop_database());
    let tps: f64 = text
        .lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| {
            l.trim_start_matches("tps = ")
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .expect("pgbench's tps line");
    2.0 * tps
}

pub fn throughput(bench: &Bench) -> (Value, Vec<[String; 4]>) {
    let (jobs, seconds) = (
        env_u64("BENCH_JOBS", 2),
        env_u64("BENCH_THROUGHPUT_SECS", 15),
    );
    let theirs = pgbench(bench, jobs, seconds);
    // With and without the capture in halves, on-off-off-on, so a machine
    // that slows down during the section weighs on both alike.
    let half = seconds as f64 / 2.0;
    let mut on = (0.0, 0);
    let mut off = (0.0, 0);
    for capture in [Capture::On, Capture::Off, Capture::Off, Capture::On] {
        let (rate, runs) = harness_free(bench, jobs, half, capture);
        let sum = if capture == Capture::On {
            &mut on
        } else {
            &mut off
        };
        sum.0 += rate / 2.0;
        sum.1 += runs;
    }
    let ((ours, runs), (uncaptured, uncaptured_runs)) = (on, off);
    let ratio = ours / theirs;
    let capture_cost = 1.0 - ours / uncaptured;
    let value = json!({
        "jobs": jobs, "seconds": seconds, "harness_operations_per_s": ours, "harness_runs": runs,
        "pgbench_operations_per_s": theirs, "ratio": ratio,
        "without_capture_operations_per_s": uncaptured, "without_capture_runs": uncaptured_runs,
        "capture_cost": capture_cost,
    });
    let rows = vec![
        [
            format!(
                "free-running #1466 case, {jobs} workers vs pgbench -c {jobs}: operations/s, oracles on"
            ),
            format!("{ours:.0}/s"),
            format!("pgbench {theirs:.0}/s ({ratio:.2}×)"),
            format!("≥0.7× — {}", if ratio >= 0.7 { "met" } else { "MISSED" }),
        ],
        [
            "the same, deleted-row capture dropped (no column-by-column data check)".into(),
            format!("{uncaptured:.0}/s"),
            format!("capture costs {:.0} %", 100.0 * capture_cost),
            "measured, no target".into(),
        ],
    ];
    (value, rows)
}

/// A stress run of drawn cases (free-running, as `stress --mode free`) with
/// RSS sampled every second.
pub fn memory(bench: &Bench) -> (Value, Vec<[String; 4]>) {
    let (jobs, seconds) = (env_u64("BENCH_JOBS", 2), env_u64("BENCH_STRESS_SECS", 120));
    let implementations = vec![bench.implementation("stack-auth-post-1466")];
    let config = StressConfig {
        system: bench.system.clone(),
        seed: 1466,
        shard: Shard::WHOLE,
        duration: Some(Duration::from_secs(seconds)),
        cases_max: None,
        mode: Mode::Free,
        bounds: Bounds::default(),
        save_dir: None,
        shrink_iterations_max: 100,
        reconnect_max: Duration::from_secs(10),
    };
    // As `stress --jobs` does: a database, thread and engine per worker,
    // all keeping what operations did in one place.
    let databases: Vec<_> = (0..jobs)
        .map(|_| {
            let create = bench.server.create_database(&bench.system);
            bench.runtime.block_on(create).expect("create database")
        })
        .collect();
    let rss_start = rss_kb().unwrap_or(0);
    let progress = Arc::new(Progress::new(Arc::new(AtomicBool::new(false))));
    let samples = std::sync::Mutex::new(Vec::new());
    let ends = bench.runtime.block_on(async {
        let sampler = async {
            while !progress.stop.load(Ordering::Relaxed) {
                samples.lock().unwrap().push(rss_kb().unwrap_or(0));
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        };
        let connectors = databases.iter().map(|d| d.connector()).collect();
        let workers = run_workers(
            connectors,
            Limits::default(),
            implementations.into(),
            None,
            Arc::new(config),
            progress.clone(),
        );
        let run = async {
            let ends = workers.await;
            progress.stop.store(true, Ordering::Relaxed);
            ends
        };
        tokio::join!(run, sampler).0
    });
    let rss_end = rss_kb().unwrap_or(0);
    let samples = samples.into_inner().unwrap();
    let rss_peak = samples.iter().copied().max().unwrap_or(0).max(rss_end);
    let tally = progress.snapshot();
    let elapsed = progress.started.elapsed().as_secs_f64();
    // Serial runs of the reference: made on the database, or put together
    // from what operations did in other cases (what makes stress cheap).
    let mut serial_made = 0;
    let mut serial_shared = 0;
    for end in ends {
        end.result.expect("stress worker");
        serial_made += end.serial_runs_made;
        serial_shared += end.serial_runs_shared;
    }
    for database in databases {
        let _ = bench.runtime.block_on(database.drop_database());
    }
    let value = json!({
        "serial_runs_made": serial_made, "serial_runs_put_together": serial_shared,
        "seconds": seconds, "jobs": jobs, "cases": tally.cases, "free_runs": tally.free_runs,
        "statements": tally.statements, "runs_per_s": tally.free_runs as f64 / elapsed,
        "rss_start_kb": rss_start, "rss_end_kb": rss_end, "rss_peak_kb": rss_peak,
        "rss_samples_kb": samples, "findings": tally.finding_count(),
    });
    let flat = rss_end <= rss_start + rss_start / 5 + 8 * 1024;
    let rows = vec![[
        format!(
            "stress --mode free, drawn cases, {seconds} s × {jobs} workers: RSS start → end (peak)"
        ),
        format!(
            "{} → {} MB ({} MB)",
            rss_start / 1024,
            rss_end / 1024,
            rss_peak / 1024
        ),
        format!(
            "{} runs, {:.0} runs/s; serial runs {serial_made} made, {serial_shared} put together",
            tally.free_runs,
            tally.free_runs as f64 / elapsed
        ),
        format!("flat — {}", if flat { "met" } else { "MISSED" }),
    ]];
    (value, rows)
}
