//! The nightly job's loop: draw cases from a seed, run each under every
//! implementation (scheduled by the engine, or free-running at real
//! concurrency), tally findings by implementation and anomaly, and shrink and
//! save the first case of each kind.
//!
//! Owns: case numbering and sharding of the seed space, the tally. Must not
//! know: printing, progress bars, report formats (the CLI's).

mod example;
mod tally;

pub use example::REHUNT_SCHEDULES_MAX;
pub use tally::{Finding, FindingKey, Tally};

use crate::chooser::Preference;
use crate::db::Connector;
use crate::engine::{Engine, EngineError, KeptRuns, Limits};
use crate::generate::{Bounds, Target, drawn};
use crate::implementation::{Implementation, Isolation};
use crate::judge::judge;
use crate::oracle::Invariant;
use crate::system::System;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Which engine mode a case runs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// The engine's controlled schedules: deterministic, replayable.
    Scheduled,
    /// Every session at real concurrency with no gating.
    Free,
    /// Three scheduled cases for every free-running one.
    Mixed,
}

/// `--shard K/N`: this run takes case numbers ≡ K-1 (mod N).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };

    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || {
            format!(
                "{} is not a shard: write K/N with 1 ≤ K ≤ N (e.g. 2/4)",
                crate::text::quoted(text)
            )
        };
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            k.trim().parse::<u64>().map_err(|_| bad())?,
            n.trim().parse::<u64>().map_err(|_| bad())?,
        );
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

#[derive(Clone, Debug)]
pub struct StressConfig {
    /// The system every case is drawn from.
    pub system: Arc<System>,
    pub seed: u64,
    pub shard: Shard,
    pub duration: Option<Duration>,
    pub cases_max: Option<u64>,
    pub mode: Mode,
    /// Must pass `Bounds::validate`; the CLI always uses the default.
    pub bounds: Bounds,
    pub save_dir: Option<PathBuf>,
    pub shrink_iterations_max: u32,
    /// After losing the server, how long to keep trying to reconnect
    /// (with backoff) before the run stops as an infrastructure error.
    pub reconnect_max: Duration,
}

/// Shared between a run's workers and whoever shows progress.
pub struct Progress {
    pub tally: Mutex<Tally>,
    pub stop: Arc<AtomicBool>,
    pub started: Instant,
    next_case: std::sync::atomic::AtomicU64,
}

impl Progress {
    pub fn new(stop: Arc<AtomicBool>) -> Progress {
        Progress {
            tally: Mutex::new(Tally::default()),
            stop,
            started: Instant::now(),
            next_case: 0.into(),
        }
    }

    pub fn snapshot(&self) -> Tally {
        self.tally.lock().expect("tally lock").clone()
    }

    /// The next case number of this shard, or None when the budget is spent.
    fn take_case(&self, config: &StressConfig) -> Option<u64> {
        if self.stop.load(Ordering::Relaxed)
            || config.duration.is_some_and(|d| self.started.elapsed() >= d)
        {
            return None;
        }
        let k = self.next_case.fetch_add(1, Ordering::Relaxed);
        if config.cases_max.is_some_and(|max| k >= max) {
            return None;
        }
        Some(k * config.shard.count + (config.shard.index - 1))
    }
}

/// One worker: its own engine (and database), drawing case numbers until the
/// budget is spent. Infrastructure errors end the worker and the run.
pub async fn worker(
    engine: &mut Engine,
    implementations: &[Implementation],
    isolation: Option<Isolation>,
    config: &StressConfig,
    progress: &Progress,
) -> Result<(), EngineError> {
    engine.set_stop(progress.stop.clone());
    engine.set_deadline(
        config
            .duration
            .and_then(|d| progress.started.checked_add(d)),
    );
    while let Some(n) = progress.take_case(config) {
        progress.tally.lock().expect("tally lock").cases += 1;
        for implementation in implementations {
            match run_case(engine, implementation, isolation, config, progress, n).await {
                Ok(()) => {}
                Err(EngineError::Interrupted) => return Ok(()),
                // The case that was cut off was counted indeterminate; the
                // run goes on if the server comes back.
                Err(EngineError::Db(lost)) if lost.is_lost() => {
                    reconnect(engine, config, progress, lost).await?
                }
                Err(other) => return Err(other),
            }
        }
    }
    Ok(())
}

/// How one worker of [`run_workers`] ended.
#[derive(Debug)]
pub struct WorkerEnd {
    pub result: Result<(), EngineError>,
    /// Serial runs of the reference its engine made on the database, and
    /// put together from what operations did in other cases.
    pub serial_runs_made: u64,
    pub serial_runs_shared: u64,
}

/// One worker per database at once, each on a thread and runtime of its
/// own with its own engine, all keeping what operations did in one place.
/// Sharing one task, the harness's own work (drawing, judging, shrinking)
/// of every worker took turns on one thread; proptest's value trees, held
/// while shrinking, cannot move between threads, so each worker stays on
/// one. The caller's runtime is free meanwhile (for the progress display).
pub async fn run_workers(
    databases: Vec<Connector>,
    limits: Limits,
    implementations: Arc<[Implementation]>,
    isolation: Option<Isolation>,
    config: Arc<StressConfig>,
    progress: Arc<Progress>,
) -> Vec<WorkerEnd> {
    let kept = KeptRuns::default();
    let mut running = Vec::new();
    for (index, connector) in databases.into_iter().enumerate() {
        let (implementations, config) = (implementations.clone(), config.clone());
        let (progress, kept) = (progress.clone(), kept.clone());
        let (done, ended) = tokio::sync::oneshot::channel();
        let thread = std::thread::Builder::new()
            .name(format!("stress-worker-{}", index + 1))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a worker's runtime");
                let end = runtime.block_on(own_worker(
                    connector,
                    limits,
                    &kept,
                    &implementations,
                    isolation,
                    &config,
                    &progress,
                ));
                let _ = done.send(end);
            })
            .expect("starting a worker thread");
        running.push((thread, ended));
    }
    let mut ends = Vec::new();
    for (thread, ended) in running {
        match ended.await {
            Ok(end) => ends.push(end),
            // It panicked before it could say how it ended.
            Err(_) => match thread.join() {
                Err(panic) => std::panic::resume_unwind(panic),
                Ok(()) => unreachable!("a worker that returns sends how it ended"),
            },
        }
    }
    ends
}

/// One worker of [`run_workers`] on its thread: opens its engine, keeps
/// what operations did in `kept`, and runs.
async fn own_worker(
    connector: Connector,
    limits: Limits,
    kept: &KeptRuns,
    implementations: &[Implementation],
    isolation: Option<Isolation>,
    config: &StressConfig,
    progress: &Progress,
) -> WorkerEnd {
    let mut engine = match open_engine(connector, limits, config, progress).await {
        Ok(engine) => engine,
        Err(stopped) => {
            let result = match stopped {
                EngineError::Interrupted => Ok(()),
                failed => {
                    // Without an engine nothing runs: the others stop too.
                    progress.stop.store(true, Ordering::Relaxed);
                    Err(failed)
                }
            };
            return WorkerEnd {
                result,
                serial_runs_made: 0,
                serial_runs_shared: 0,
            };
        }
    };
    engine.keep_in(kept);
    let result = worker(&mut engine, implementations, isolation, config, progress).await;
    WorkerEnd {
        result,
        serial_runs_made: engine.serial_runs_made(),
        serial_runs_shared: engine.serial_runs_shared(),
    }
}

/// Reopens the engine's connections with backoff, for at most
/// `reconnect_max`; gives up with the error that started it.
async fn reconnect(
    engine: &mut Engine,
    config: &StressConfig,
    progress: &Progress,
    lost: crate::db::DbError,
) -> Result<(), EngineError> {
    while_away(config, progress, lost, async || engine.reopen().await).await
}

/// A worker's engine, opened on its own thread once the run has begun: a
/// server that goes away meanwhile is waited for as one lost mid-case is.
async fn open_engine(
    connector: Connector,
    limits: Limits,
    config: &StressConfig,
    progress: &Progress,
) -> Result<Engine, EngineError> {
    match Engine::open(connector.clone(), limits).await {
        Ok(engine) => Ok(engine),
        Err(lost) if lost.is_lost() => {
            let open = async || Engine::open(connector.clone(), limits).await;
            while_away(config, progress, lost, open).await
        }
        Err(other) => Err(other.into()),
    }
}

/// Tries `attempt` with backoff until the server is back (counted as a
/// reconnect), for at most `reconnect_max`; gives up with `lost`, the
/// error that started it.
async fn while_away<T>(
    config: &StressConfig,
    progress: &Progress,
    lost: crate::db::DbError,
    mut attempt: impl AsyncFnMut() -> Result<T, crate::db::DbError>,
) -> Result<T, EngineError> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(50);
    loop {
        if progress.stop.load(Ordering::Relaxed) {
            return Err(EngineError::Interrupted);
        }
        if let Ok(back) = attempt().await {
            progress.tally.lock().expect("tally lock").reconnects += 1;
            return Ok(back);
        }
        if started.elapsed() + pause > config.reconnect_max {
            return Err(EngineError::Db(lost));
        }
        // Backoff between reconnection attempts to a server that is down.
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(2));
    }
}

/// Runs case number `n` once; shrinks and saves each kind of finding it is
/// the first to show.
async fn run_case(
    engine: &mut Engine,
    implementation: &Implementation,
    isolation: Option<Isolation>,
    config: &StressConfig,
    progress: &Progress,
    n: u64,
) -> Result<(), EngineError> {
    let kinds: Vec<String> = implementation.operations.keys().cloned().collect();
    let free = match config.mode {
        Mode::Scheduled => false,
        Mode::Free => true,
        Mode::Mixed => n % 4 == 3,
    };
    let (case, preferences) =
        drawn(config.seed, n, config.bounds, &config.system, &kinds).resolve();
    let history = if free {
        engine.run_free(&case, implementation).await
    } else {
        engine
            .run(&case, implementation, &mut Preference::new(preferences))
            .await
    };
    // A case cut off while it runs, or while its serial runs are made for
    // judging it, proves nothing either way: it is counted indeterminate.
    let cut_off = |error: &EngineError| {
        let lost = match error {
            EngineError::Db(db) => db.is_lost(),
            EngineError::Interrupted => true,
            _ => false,
        };
        if lost {
            progress
                .tally
                .lock()
                .expect("tally lock")
                .record_cut_off(free);
        }
    };
    let history = history.inspect_err(cut_off)?;
    let verdict = judge(engine, &case, &history).await.inspect_err(cut_off)?;
    let new_kinds = {
        let elapsed = progress.started.elapsed();
        let mut tally = progress.tally.lock().expect("tally lock");
        tally.record(&implementation.name, free, &history, &verdict, elapsed)
    };
    for key in new_kinds {
        let target = Target::Only(key.invariant, key.anomaly.clone());
        let found = example::find(engine, implementation, isolation, config, target, n).await?;
        let saved = found.counterexample.as_ref().and_then(|example| {
            let dir = config.save_dir.as_ref()?;
            example.save(dir).ok()
        });
        let mut tally = progress.tally.lock().expect("tally lock");
        tally.set_example(&key, n, found.counterexample, saved, found.explanation);
    }
    Ok(())
}

/// The invariants every implementation is checked against, for reports.
pub fn invariants() -> [Invariant; 4] {
    Invariant::ALL
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_partition_case_numbers() {
        assert_eq!(Shard::parse("2/4").unwrap(), Shard { index: 2, count: 4 });
        assert!(
            Shard::parse("0/4").is_err()
                && Shard::parse("5/4").is_err()
                && Shard::parse("x").is_err()
        );
        let numbers = |index| {
            let config = StressConfig {
                system: System::load("stack-auth").unwrap(),
                seed: 1,
                shard: Shard { index, count: 3 },
                duration: None,
                cases_max: Some(4),
                mode: Mode::Scheduled,
                bounds: Bounds::default(),
                save_dir: None,
                shrink_iterations_max: 0,
                reconnect_max: Duration::ZERO,
            };
            let progress = Progress::new(Arc::new(AtomicBool::new(false)));
            std::iter::from_fn(|| progress.take_case(&config)).collect::<Vec<_>>()
        };
        assert_eq!(numbers(1), vec![0, 3, 6, 9]);
        assert_eq!(numbers(3), vec![2, 5, 8, 11]);
    }

    #[test]
    fn a_case_number_draws_the_same_case_every_time() {
        let system = System::load("stack-auth").unwrap();
        let kinds: Vec<String> = system.operations.keys().cloned().collect();
        let a = drawn(7, 3, Bounds::default(), &system, &kinds).resolve();
        let b = drawn(7, 3, Bounds::default(), &system, &kinds).resolve();
        assert_eq!(a.0, b.0);
        assert_eq!(a.1, b.1);
        assert_ne!(
            drawn(7, 4, Bounds::default(), &system, &kinds).resolve().0,
            a.0
        );
    }
}
