//! The library API for a user's own `cargo test`: hunt one system's
//! implementation for races in a few lines, with PostgreSQL chosen the way
//! the command line chooses it (`TOMBSTONE_PG`, `DATABASE_URL`).
//!
//! ```no_run
//! use tombstone_harness::harness::Harness;
//!
//! #[test]
//! fn my_recorder_leaves_exactly_one_tombstone() {
//!     let outcome = Harness::new("tests/my-system")   // a directory with system.toml
//!         .implementation("mine")                     // implementations/mine.toml
//!         .cases(200)
//!         .seed(1)
//!         .hunt()
//!         .unwrap();                                  // Err: bad files or no PostgreSQL
//!     assert!(outcome.is_clean(), "{outcome}");       // the shrunk story, and how to replay it
//! }
//! ```
//!
//! Owns: a synchronous front for tests (its own async runtime, server and
//! database). Must not know: printing, exit codes.

use crate::counterexample::{Counterexample, story};
use crate::db::{PgOptions, Server};
use crate::engine::{Engine, Limits};
use crate::generate::{Found, Hunt, Target};
use crate::implementation::Implementation;
use crate::system::System;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// Why a hunt could not run: a file the harness cannot use, or PostgreSQL.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error(transparent)]
    System(#[from] crate::system::SystemError),
    #[error(transparent)]
    Implementation(#[from] crate::implementation::ImplementationError),
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    #[error(transparent)]
    Hunt(#[from] crate::generate::HuntError),
    #[error("cannot start an async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("saving the counterexample: {0}")]
    Save(#[from] crate::counterexample::CounterexampleError),
    /// A statement that fails even when its operation runs alone.
    #[error(transparent)]
    Preflight(#[from] crate::preflight::PreflightError),
}

/// What to hunt: a system (shipped name or directory) and one of its
/// implementations (name or file), for a number of generated cases.
#[derive(Clone, Debug)]
pub struct Harness {
    system: String,
    implementation: Option<String>,
    cases: u32,
    seed: u64,
    jobs: usize,
    save_dir: PathBuf,
}

/// The result of a hunt: clean, or the shrunk failure with its story.
pub struct HuntOutcome {
    pub implementation: String,
    pub cases_run: u32,
    pub found: Option<Found>,
    /// The saved counterexample of a failure and the command that replays it.
    pub saved: Option<(PathBuf, String)>,
}

impl Harness {
    pub fn new(system: impl Into<String>) -> Harness {
        Harness {
            system: system.into(),
            implementation: None,
            cases: 100,
            seed: 0,
            jobs: 1,
            save_dir: std::env::temp_dir().join("tombstone-harness"),
        }
    }

    /// The implementation to hunt (default: the system's reference).
    pub fn implementation(mut self, name_or_path: impl Into<String>) -> Harness {
        self.implementation = Some(name_or_path.into());
        self
    }

    /// Generated cases to run (`PROPTEST_CASES` overrides it).
    pub fn cases(mut self, cases: u32) -> Harness {
        self.cases = cases;
        self
    }

    /// The seed (`PROPTEST_RNG_SEED` overrides it); the same seed draws the
    /// same cases.
    pub fn seed(mut self, seed: u64) -> Harness {
        self.seed = seed;
        self
    }

    /// Hunt on this many databases at once (default 1). With more than one,
    /// case number n is drawn from (seed, n) alone and the lowest failing
    /// number is the one reported, so the result is the same for any number
    /// of jobs (but not the cases a one-job hunt draws from proptest's
    /// single stream).
    pub fn jobs(mut self, jobs: usize) -> Harness {
        self.jobs = jobs.max(1);
        self
    }

    /// Where a failure's counterexample is saved (default: the system's
    /// temporary directory).
    pub fn save_dir(mut self, dir: impl Into<PathBuf>) -> Harness {
        self.save_dir = dir.into();
        self
    }

    /// Reads the files, starts PostgreSQL, and hunts; a failure is shrunk
    /// and saved.
    pub fn hunt(&self) -> Result<HuntOutcome, HarnessError> {
        let system = System::load(&self.system)?;
        let name = self
            .implementation
            .clone()
            .unwrap_or_else(|| system.reference.clone());
        let implementation = Implementation::load(&system, &name)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(HarnessError::Runtime)?;
        let server = runtime.block_on(Server::start(&PgOptions::from_env()?))?;
        let database = runtime.block_on(server.create_database(&system))?;
        let mut engine = runtime.block_on(Engine::open(database.connector(), Limits::default()))?;
        let alone =
            crate::preflight::check(&mut engine, &system, std::slice::from_ref(&implementation));
        if let Err(error) = runtime.block_on(alone) {
            drop(engine);
            let _ = runtime.block_on(database.drop_database());
            return Err(error.into());
        }
        let hunt = Hunt::from_env(self.cases, self.seed);
        let found = if self.jobs > 1 {
            let mut databases = Vec::new();
            let mut engines = vec![engine];
            let opened = runtime.block_on(async {
                for _ in 1..self.jobs {
                    let database = server.create_database(&system).await?;
                    engines.push(Engine::open(database.connector(), Limits::default()).await?);
                    databases.push(database);
                }
                Ok::<(), crate::engine::EngineError>(())
            });
            let found = match opened {
                Ok(()) => runtime
                    .block_on(hunt.run_parallel(
                        &mut engines,
                        &system,
                        &implementation,
                        Target::Any,
                    ))
                    .map_err(HarnessError::from),
                Err(e) => Err(HarnessError::Hunt(e.into())),
            };
            engine = engines.swap_remove(0);
            drop(engines);
            for database in databases {
                let _ = runtime.block_on(database.drop_database());
            }
            found
        } else {
            hunt.run(&runtime, &mut engine, &system, &implementation, Target::Any)
                .map_err(HarnessError::from)
        };
        drop(engine);
        let _ = runtime.block_on(database.drop_database());
        let found = found?;
        let saved = match &found {
            Some(found) => Some(self.save(&system, &name, found)?),
            None => None,
        };
        Ok(HuntOutcome {
            implementation: implementation.name,
            cases_run: found.as_ref().map_or(hunt.cases, |f| f.cases_run),
            found,
            saved,
        })
    }

    fn save(
        &self,
        system: &Arc<System>,
        implementation: &str,
        found: &Found,
    ) -> Result<(PathBuf, String), HarnessError> {
        let example = Counterexample::new(
            implementation,
            None,
            &found.case,
            &found.history.schedule,
            &found.verdict,
        );
        let path = example.save(&self.save_dir)?;
        let command = format!(
            "tombstone-harness --system {} replay {}",
            system.reference_name(),
            path.display()
        );
        Ok((path, command))
    }
}

impl HuntOutcome {
    pub fn is_clean(&self) -> bool {
        self.found.is_none()
    }
}

/// Clean: one line. A failure: the shrunk story and the replay command.
impl fmt::Display for HuntOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.found, &self.saved) {
            (None, _) => write!(
                f,
                "{}: clean in {} cases",
                self.implementation, self.cases_run
            ),
            (Some(found), saved) => {
                let command = saved.as_ref().map(|(_, c)| c.as_str()).unwrap_or("");
                let title = format!(
                    "{}: found after {} cases",
                    self.implementation, found.cases_run
                );
                f.write_str(&story(
                    &title,
                    &found.case,
                    &found.history,
                    &found.verdict,
                    command,
                ))
            }
        }
    }
}
