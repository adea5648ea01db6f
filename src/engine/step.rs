//! One step: sending a session's next statement (a BEGIN first where its
//! transaction starts) and taking its reply through the script's rules.

use super::program::{Next, Position};
use super::{Engine, EngineError, Run};
use crate::db::{DbError, StepReply};
use crate::history::{Event, EventKind, Statement};
use crate::operation::Value;
use crate::schedule::SessionId;
use std::time::Instant;

impl Engine {
    /// Sends the session's next statement (after a BEGIN, which never blocks).
    pub(super) async fn send(
        &mut self,
        run: &mut Run<'_>,
        index: usize,
    ) -> Result<(), EngineError> {
        let session_id = SessionId::from_index(index);
        run.last_sent = Some((session_id, run.programs[index].next_footprint()));
        run.programs[index].note_sent();
        let (statement, sql, binds, begin) = run.programs[index].next_statement();
        if let Some(begin) = begin {
            let sql = begin.to_string();
            run.events.push(Event {
                choice: run.choice,
                session: session_id,
                kind: EventKind::Sent(begin.clone()),
            });
            let reply = self.session(index).execute(&sql, Vec::new()).await;
            if let StepReply::Lost(why) = &reply {
                return Err(DbError::Connection(format!("BEGIN on {session_id}: {why}")).into());
            }
            run.events.push(Event {
                choice: run.choice,
                session: session_id,
                kind: EventKind::Completed {
                    statement: begin,
                    reply,
                },
            });
            run.programs[index].in_transaction = true;
        }
        tracing::debug!(session = %session_id, choice = run.choice, statement = %statement, "sent");
        run.events.push(Event {
            choice: run.choice,
            session: session_id,
            kind: EventKind::Sent(statement),
        });
        let (tx, generation) = (self.completions_tx.clone(), self.generation);
        let capture = run.programs[index].captures();
        self.session(index)
            .send_with(&sql, binds, capture, move |reply, value| {
                let _ = tx.send((index, generation, reply, value));
            });
        run.programs[index].mark_sent(Instant::now());
        Ok(())
    }

    /// Records a reply and applies the script's rules; rolls back at once
    /// when the operation ends inside a transaction, as the application would.
    pub(super) async fn complete(
        &mut self,
        run: &mut Run<'_>,
        index: usize,
        mut reply: StepReply,
        value: Option<Value>,
    ) -> Result<(), EngineError> {
        let session_id = SessionId::from_index(index);
        let statement = match run.programs[index].position() {
            Position::Commit => Statement::Commit,
            Position::Step(i) => {
                let step = &run.programs[index].script.steps[i];
                Statement::Step {
                    index: i,
                    name: step.name.clone(),
                    footprint: step.footprint,
                }
            }
        };
        let was_victim = run.victims.contains(&index);
        if was_victim {
            run.victims.retain(|v| *v != index);
            // What PostgreSQL itself would have said to one member of the cycle.
            reply = StepReply::Error {
                sqlstate: "40P01".into(),
                message: "deadlock detected".into(),
            };
        }
        let harness_timeout = matches!(&reply, StepReply::Error { sqlstate, .. } if sqlstate == "57014" || sqlstate == "55P03");
        tracing::debug!(session = %session_id, choice = run.choice, statement = %statement, reply = ?reply, "completed");
        run.events.push(Event {
            choice: run.choice,
            session: session_id,
            kind: EventKind::Completed {
                statement,
                reply: reply.clone(),
            },
        });
        if let StepReply::Lost(_) = reply {
            self.sessions[index] = None;
        }
        if matches!(reply, StepReply::Rows(_)) {
            run.programs[index].bind(value);
        }
        match run.programs[index].on_reply(&reply, harness_timeout) {
            Next::Continue => Ok(()),
            Next::Retry { rollback } => {
                if rollback {
                    self.roll_back(run, index).await;
                }
                Ok(())
            }
            Next::Finish { result, rollback } => {
                if rollback {
                    self.roll_back(run, index).await;
                }
                run.events.push(Event {
                    choice: run.choice,
                    session: session_id,
                    kind: EventKind::Finished(result),
                });
                Ok(())
            }
        }
    }

    /// Ends a session's open transaction, as the application does when an
    /// operation fails or retries.
    async fn roll_back(&mut self, run: &mut Run<'_>, index: usize) {
        let session_id = SessionId::from_index(index);
        run.events.push(Event {
            choice: run.choice,
            session: session_id,
            kind: EventKind::Sent(Statement::Rollback),
        });
        let reply = self.session(index).execute("ROLLBACK", Vec::new()).await;
        run.events.push(Event {
            choice: run.choice,
            session: session_id,
            kind: EventKind::Completed {
                statement: Statement::Rollback,
                reply,
            },
        });
    }
}
