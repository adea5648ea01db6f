//! Free-running load: every session runs its operation's statements back to
//! back, at real concurrency, with no gating, as a production server would.
//! The history's `choice` numbers are the global order in which statements
//! were sent, so the oracles can still order operations in real time. Not
//! replayable step for step; findings are re-hunted under schedules.

use super::program::{Next, Program, State};
use super::{Engine, EngineError};
use crate::case::Case;
use crate::db::{Session, StepReply};
use crate::history::{Event, EventKind, History, OperationResult, Statement};
use crate::implementation::Implementation;
use crate::schedule::{Schedule, SessionId};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What the sessions of a run did, in the order statements went out.
pub(super) struct Log {
    events: Mutex<Vec<Event>>,
    sent: AtomicUsize,
}

impl Log {
    pub(super) fn new() -> Log {
        Log {
            events: Mutex::new(Vec::new()),
            sent: AtomicUsize::new(0),
        }
    }

    /// Whether any statement was refused for a duplicate key (23505).
    pub(super) fn met_unique_key(&self) -> bool {
        self.events
            .lock()
            .expect("no panics while logging")
            .iter()
            .any(Event::refused_for_unique_key)
    }

    fn push(&self, choice: usize, session: SessionId, kind: EventKind) {
        self.events
            .lock()
            .expect("no panics while logging")
            .push(Event {
                choice,
                session,
                kind,
            });
    }
}

/// How often a free run looks at its stop flag and deadline: the most a
/// budget is overrun by a free-running case, plus one cancelled statement.
const STOP_POLL_MS: u64 = 50;

impl Engine {
    /// Runs `case` with every session free; judged like any other history.
    /// Stopped (Ctrl-C or the deadline) mid-run, it cancels what is in flight
    /// and returns `Interrupted`.
    pub async fn run_free(
        &mut self,
        case: &Case,
        implementation: &Implementation,
    ) -> Result<History, EngineError> {
        let programs = self.programs(case, implementation)?;
        self.ensure_sessions(programs.len(), Some(super::FREE_DEADLOCK_TIMEOUT_MS))
            .await?;
        self.generation += 1;
        self.control.seed(case).await?;
        let log = Log::new();
        let (results, interrupted) = self.run_all(programs, &log).await?;
        for (index, result) in results.iter().enumerate() {
            if let OperationResult::Indeterminate(_) = result {
                self.sessions[index] = None;
            }
        }
        if interrupted {
            return Err(EngineError::Interrupted);
        }
        let mut events = log.events.into_inner().expect("no panics while logging");
        events.sort_by_key(|e| e.choice);
        let schedule = Schedule::new(
            events
                .iter()
                .filter(|e| {
                    matches!(
                        e.kind,
                        EventKind::Sent(Statement::Step { .. } | Statement::Commit)
                    )
                })
                .map(|e| e.session)
                .collect(),
        );
        let snapshot = self.snapshot(case).await?;
        Ok(History {
            schedule,
            events,
            results,
            snapshot,
        })
    }

    /// Every program run to its end, and whether the run was stopped on the
    /// way. Once stopped, whatever is in flight is cancelled, again at every
    /// poll: a session may send its next statement just after a cancel.
    async fn run_all(
        &mut self,
        programs: Vec<Program<'_>>,
        log: &Log,
    ) -> Result<(Vec<OperationResult>, bool), EngineError> {
        let sessions: Vec<&Session> = self.sessions[..programs.len()]
            .iter()
            .map(|s| s.as_ref().expect("sessions are opened before a run"))
            .collect();
        let pids: Vec<i32> = sessions.iter().map(|s| s.pid).collect();
        let runs = programs.into_iter().enumerate().map(|(index, program)| {
            run_session(sessions[index], SessionId::from_index(index), program, log)
        });
        let runs = futures::future::join_all(runs);
        tokio::pin!(runs);
        let mut interrupted = false;
        loop {
            tokio::select! {
                results = &mut runs => return Ok((results, interrupted)),
                () = tokio::time::sleep(Duration::from_millis(STOP_POLL_MS)) => {
                    interrupted |= super::stopped(self.stop.as_deref(), self.deadline);
                    if interrupted {
                        for pid in &pids {
                            self.probe.cancel(*pid).await?;
                        }
                    }
                }
            }
        }
    }
}

/// One operation's statements back to back on its session, to its end.
pub(super) async fn run_session(
    session: &Session,
    id: SessionId,
    mut program: Program<'_>,
    log: &Log,
) -> OperationResult {
    loop {
        if let State::Done(result) = &program.state {
            let result = result.clone();
            log.push(
                log.sent.fetch_add(1, Ordering::SeqCst) + 1,
                id,
                EventKind::Finished(result.clone()),
            );
            return result;
        }
        let (statement, sql, binds, begin) = program.next_statement();
        if let Some(begin) = begin {
            let reply = session.execute(&begin.to_string(), Vec::new()).await;
            if let StepReply::Lost(why) = reply {
                return OperationResult::Indeterminate(format!("connection lost: {why}"));
            }
            program.in_transaction = true;
        }
        let choice = log.sent.fetch_add(1, Ordering::SeqCst) + 1;
        log.push(choice, id, EventKind::Sent(statement.clone()));
        let capture = program.captures();
        program.mark_sent(Instant::now());
        let (reply, value) = session.execute_capturing(&sql, binds, capture).await;
        let harness_timeout = matches!(&reply, StepReply::Error { sqlstate, .. } if sqlstate == "57014" || sqlstate == "55P03");
        log.push(
            choice,
            id,
            EventKind::Completed {
                statement,
                reply: reply.clone(),
            },
        );
        if matches!(reply, StepReply::Rows(_)) {
            program.bind(value);
        }
        match program.on_reply(&reply, harness_timeout) {
            Next::Finish { rollback: true, .. } | Next::Retry { rollback: true } => {
                let _ = session.execute("ROLLBACK", Vec::new()).await;
            }
            _ => {}
        }
    }
}
