//! The single executor: `Engine::run(case, implementation, chooser)` gives a
//! `History`. Generated, exhaustive, replayed and stress runs all go through
//! it, so a replay runs exactly the code that found the failure.
//!
//! At every choice point each in-flight session is either finished or
//! confirmed blocked by one of ours ("settled"), so which sessions are
//! runnable depends only on the schedule, never on timing. Must not know:
//! oracles, proptest, how choices are made.

mod footprint;
mod free;
mod program;
mod serial;
mod settle;
mod step;
mod transition;

use crate::case::Case;
use crate::chooser::{Chooser, ChooserError, Hint, RowHint};
use crate::db::{Connector, Control, DbError, Probe, Session, SessionLimits, StepReply};
use crate::history::{Event, EventKind, History};
use crate::implementation::{Footprint, Implementation};
use crate::reach::{Physics, Reach};
use crate::schedule::{Schedule, SessionId};
use program::Program;
pub use serial::KeptRuns;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Every limit the engine works under, unit last.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// A step not blocked by our sessions that runs longer than this is
    /// cancelled and its case reported indeterminate (a lock held outside
    /// the harness, a hung server).
    pub step_wait_ms_max: u64,
    /// How long to wait between asking the server who is blocked.
    pub probe_interval_us: u64,
    /// A schedule longer than this is a harness bug or a livelock.
    pub choices_max: usize,
    /// PostgreSQL's own backstop for any statement.
    pub statement_timeout_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            step_wait_ms_max: 10_000,
            probe_interval_us: 500,
            choices_max: 400,
            statement_timeout_ms: 60_000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Chooser(#[from] ChooserError),
    #[error("implementation '{implementation}' has no script for {operation}")]
    MissingOperation {
        implementation: String,
        operation: String,
    },
    #[error("system {system}: its reference implementation: {message}")]
    Reference { system: String, message: String },
    #[error("the schedule reached choices_max = {0} choices without finishing (state: {1})")]
    ChoicesMax(usize, String),
    #[error("interrupted")]
    Interrupted,
}

/// A reply: the session, the run it belongs to, and the value a
/// `RETURNING` step bound.
type Completion = (usize, u64, StepReply, Option<crate::operation::Value>);

/// PostgreSQL's deadlock detector under scheduled runs: out of the way, so
/// the engine breaks every cycle itself, always cancelling the statement that
/// closed it (PostgreSQL would pick its victim by timing).
const SCHEDULED_DEADLOCK_TIMEOUT_MS: u64 = 600_000;

/// Under free-running runs nothing else breaks a cycle: the detector must
/// act within a few lock waits of the statements it stops, not minutes later.
const FREE_DEADLOCK_TIMEOUT_MS: u64 = 20;

/// Sessions, probe and seeding connection for one database, reused across
/// cases (a reset is one round trip; a database per case would cost 30+ ms).
pub struct Engine {
    connector: Connector,
    control: Control,
    sessions: Vec<Option<Session>>,
    probe: Probe,
    limits: Limits,
    generation: u64,
    completions_tx: mpsc::UnboundedSender<Completion>,
    completions: mpsc::UnboundedReceiver<Completion>,
    /// Set by Ctrl-C: the run stops at the next choice, as indeterminate.
    stop: Option<Arc<AtomicBool>>,
    /// Serial runs of each system's reference implementation, kept per
    /// case and order (see `serial`).
    serial: serial::SerialRuns,
    /// When the budget ends: like `stop`, from that instant on.
    deadline: Option<Instant>,
}

/// The per-run state `run` threads through its helpers.
pub(crate) struct Run<'a> {
    programs: Vec<Program<'a>>,
    events: Vec<Event>,
    choice: usize,
    /// Sessions the engine cancelled to break a lock cycle.
    victims: Vec<usize>,
    /// The session chosen last and the tables its statement touched.
    last_sent: Option<(SessionId, Footprint)>,
}

impl Engine {
    pub async fn open(connector: Connector, limits: Limits) -> Result<Engine, DbError> {
        let probe = Probe::open(&connector).await?;
        let control = Control::open(&connector).await?;
        let (completions_tx, completions) = mpsc::unbounded_channel();
        Ok(Engine {
            connector,
            control,
            sessions: Vec::new(),
            probe,
            limits,
            generation: 0,
            completions_tx,
            completions,
            stop: None,
            serial: serial::SerialRuns::default(),
            deadline: None,
        })
    }

    /// Opens fresh connections after the server dropped ours (a restart):
    /// the same database, new sessions, probe and control connection.
    pub async fn reopen(&mut self) -> Result<(), DbError> {
        let fresh = Engine::open(self.connector.clone(), self.limits).await?;
        let (stop, deadline) = (self.stop.take(), self.deadline);
        let serial = std::mem::take(&mut self.serial);
        *self = fresh;
        self.stop = stop;
        self.deadline = deadline;
        self.serial = serial;
        Ok(())
    }

    /// Runs stop at their next choice once `stop` is set (Ctrl-C).
    pub fn set_stop(&mut self, stop: Arc<AtomicBool>) {
        self.stop = Some(stop);
    }

    /// Runs stop (scheduled: at their next choice; free: their statements
    /// are cancelled) once `deadline` has passed: a budget is honoured even
    /// by a case in flight.
    pub fn set_deadline(&mut self, deadline: Option<Instant>) {
        self.deadline = deadline;
    }

    /// Whether the run in progress must end as interrupted.
    fn stopped(&self) -> bool {
        stopped(self.stop.as_deref(), self.deadline)
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Opens the first `count` sessions if needed, with PostgreSQL's deadlock
    /// detector set for the mode about to run (`None`: a serial run, where
    /// no two of ours can wait on each other, leaves it as it is).
    async fn ensure_sessions(
        &mut self,
        count: usize,
        deadlock_timeout_ms: Option<u64>,
    ) -> Result<(), DbError> {
        let limits = SessionLimits {
            statement_timeout_ms: self.limits.statement_timeout_ms,
            lock_timeout_ms: 0,
            deadlock_timeout_ms: deadlock_timeout_ms.unwrap_or(SCHEDULED_DEADLOCK_TIMEOUT_MS),
        };
        if self.sessions.len() < count {
            self.sessions.resize_with(count, || None);
        }
        let missing: Vec<usize> = (0..count).filter(|&i| self.sessions[i].is_none()).collect();
        // Side by side: each is a backend start and a few round trips, and
        // a hunt's first case opens them all.
        let connector = &self.connector;
        let opened = futures::future::try_join_all(missing.iter().map(|&i| async move {
            // The name is the operation id: every tombstone table's harness column stores it.
            Session::open(connector, &format!("op{}", i + 1), limits).await
        }))
        .await?;
        for (i, session) in missing.into_iter().zip(opened) {
            self.sessions[i] = Some(session);
        }
        if let Some(timeout) = deadlock_timeout_ms {
            for session in self.sessions.iter_mut().take(count).flatten() {
                session.set_deadlock_timeout(timeout).await?;
            }
        }
        Ok(())
    }

    fn session(&self, index: usize) -> &Session {
        self.sessions[index]
            .as_ref()
            .expect("sessions are opened before a run")
    }

    /// Each operation's program, failing if the implementation lacks one.
    fn programs<'c>(
        &self,
        case: &'c Case,
        implementation: &'c Implementation,
    ) -> Result<Vec<Program<'c>>, EngineError> {
        case.operations
            .iter()
            .map(|op| {
                let script = implementation.script(&op.action.kind).ok_or_else(|| {
                    EngineError::MissingOperation {
                        implementation: implementation.name.clone(),
                        operation: op.action.kind.clone(),
                    }
                })?;
                Ok(Program::new(script, op.action.values(&case.system)))
            })
            .collect()
    }

    pub async fn run(
        &mut self,
        case: &Case,
        implementation: &Implementation,
        chooser: &mut dyn Chooser,
    ) -> Result<History, EngineError> {
        let mut programs = self.programs(case, implementation)?;
        if chooser.wants_rows() {
            let physics = Physics {
                appends_commute: chooser.appends_commute(),
                locks_are_reads: programs.iter().all(|p| p.script.transaction_from.is_none()),
            };
            for (program, op) in programs.iter_mut().zip(&case.operations) {
                let steps = program.script.steps.iter().map(|s| s.touches.as_slice());
                program.reaches = Reach::of_steps(case, &op.action, steps, physics);
            }
        }
        self.ensure_sessions(programs.len(), Some(SCHEDULED_DEADLOCK_TIMEOUT_MS))
            .await?;
        self.generation += 1;
        self.control.seed(case).await?;
        let mut run = Run {
            programs,
            events: Vec::new(),
            choice: 0,
            victims: Vec::new(),
            last_sent: None,
        };
        for (i, program) in run.programs.iter().enumerate() {
            if let program::State::Done(result) = &program.state {
                run.events.push(Event {
                    choice: 0,
                    session: SessionId::from_index(i),
                    kind: EventKind::Finished(result.clone()),
                });
            }
        }
        let mut schedule = Vec::new();
        let span = tracing::debug_span!("case", implementation = %implementation.name, operations = case.operations.len());
        let outcome =
            tracing::Instrument::instrument(self.drive(&mut run, chooser, &mut schedule), span)
                .await;
        if outcome.is_err() {
            self.abandon(&mut run).await;
        }
        outcome?;
        let results = run
            .programs
            .iter()
            .map(|p| match &p.state {
                program::State::Done(result) => result.clone(),
                other => panic!("harness bug: a session ended the run in {other:?}"),
            })
            .collect();
        let snapshot = self.snapshot(case).await?;
        Ok(History {
            schedule: Schedule::new(schedule),
            events: run.events,
            results,
            snapshot,
        })
    }

    /// The choice loop: settle, then let the chooser pick a runnable session.
    async fn drive(
        &mut self,
        run: &mut Run<'_>,
        chooser: &mut dyn Chooser,
        schedule: &mut Vec<SessionId>,
    ) -> Result<(), EngineError> {
        let mut mark = run.events.len();
        loop {
            self.settle(run).await?;
            canonical_order(&mut run.events[mark..], schedule.last().copied());
            mark = run.events.len();
            let runnable: Vec<SessionId> = (0..run.programs.len())
                .filter(|i| run.programs[*i].is_runnable())
                .map(SessionId::from_index)
                .collect();
            if runnable.is_empty() {
                if run.programs.iter().any(Program::is_in_flight) {
                    // Settled with nobody runnable: every in-flight session
                    // waits on another; settle breaks cycles, so this is a
                    // wait on something outside the harness that timed out.
                    continue;
                }
                return Ok(());
            }
            if self.stopped() {
                return Err(EngineError::Interrupted);
            }
            if schedule.len() >= self.limits.choices_max {
                return Err(EngineError::ChoicesMax(
                    self.limits.choices_max,
                    describe(run),
                ));
            }
            if chooser.wants_hint() {
                let next = runnable
                    .iter()
                    .map(|s| (*s, run.programs[s.index()].next_footprint()))
                    .collect();
                let rows = chooser.wants_rows().then(|| RowHint {
                    next: runnable
                        .iter()
                        .map(|s| (*s, run.programs[s.index()].next_reach()))
                        .collect(),
                    whole: schedule
                        .is_empty()
                        .then(|| run.programs.iter().map(Program::whole_reach).collect()),
                    live: (0..run.programs.len())
                        .filter(|i| !matches!(run.programs[*i].state, program::State::Done(_)))
                        .map(SessionId::from_index)
                        .collect(),
                });
                chooser.hint(Hint {
                    last: run.last_sent,
                    next,
                    rows,
                });
            }
            let chosen = chooser.choose(&runnable)?;
            schedule.push(chosen);
            run.choice = schedule.len();
            self.send(run, chosen.index()).await?;
        }
    }

    /// After an error mid-run: cancel what is in flight and roll back, so the
    /// next case starts from idle sessions.
    async fn abandon(&mut self, run: &mut Run<'_>) {
        for index in 0..run.programs.len() {
            let Some(session) = self.sessions.get(index).and_then(Option::as_ref) else {
                continue;
            };
            if run.programs[index].is_in_flight() {
                let _ = self.probe.cancel(session.pid).await;
            }
        }
        for index in 0..run.programs.len() {
            if let Some(session) = self.sessions.get(index).and_then(Option::as_ref)
                && let StepReply::Lost(_) = session.execute("ROLLBACK", Vec::new()).await
            {
                self.sessions[index] = None;
            }
        }
        self.generation += 1;
    }

    /// The schema's own triggers and rules: writes the reduced exploration
    /// cannot see in any statement's SQL.
    pub async fn side_effects(&mut self) -> Result<Vec<String>, EngineError> {
        Ok(self.control.side_effects().await?)
    }

    /// The final tables, named by the case's rows.
    async fn snapshot(&mut self, case: &Case) -> Result<crate::history::Snapshot, EngineError> {
        let raw = self.control.snapshot(&case.system).await?;
        Ok(crate::tombstone::name_snapshot(case, &raw))
    }

    fn step_wait_max(&self) -> Duration {
        Duration::from_millis(self.limits.step_wait_ms_max)
    }
}

/// Ctrl-C was pressed or the budget's deadline has passed. A free function
/// so the free-running loop can ask while it holds the sessions.
fn stopped(stop: Option<&AtomicBool>, deadline: Option<Instant>) -> bool {
    stop.is_some_and(|s| s.load(Ordering::Relaxed)) || deadline.is_some_and(|d| Instant::now() >= d)
}

/// Replies that one choice set free (a COMMIT's, and those of the sessions
/// it unblocked) reach us in whatever order the network gives. Within one
/// choice, list the chosen session's events first, then the others by
/// session, each session's own events in order: the story is then a
/// function of the schedule alone.
fn canonical_order(events: &mut [Event], chosen: Option<SessionId>) {
    events.sort_by_key(|e| (Some(e.session) != chosen, e.session));
}

fn describe(run: &Run<'_>) -> String {
    let states: Vec<String> = run
        .programs
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{} {:?}", SessionId::from_index(i), p.state))
        .collect();
    states.join("; ")
}
