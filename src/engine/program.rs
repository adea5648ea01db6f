//! One session's program: the statements of its operation's script, the
//! transaction around them, and the rules that turn replies into an outcome.
//! The state machine is Idle → Sent → Blocked → (Idle | Done); every
//! transition goes through a method here that checks it is legal.

use crate::db::StepReply;
use crate::history::{OperationResult, Statement};
use crate::implementation::{Footprint, Isolation, Outcome, Script, Then};
use crate::operation::Value;
use crate::reach::Reach;
use crate::schedule::SessionId;
use std::collections::BTreeMap;
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    Step(usize),
    Commit,
}

#[derive(Debug)]
pub enum State {
    Idle(Position),
    Sent {
        position: Position,
        since: Instant,
    },
    Blocked {
        position: Position,
        since: Instant,
        by: Vec<SessionId>,
    },
    Done(OperationResult),
}

/// What to do after a reply.
pub enum Next {
    Continue,
    /// The operation is over; roll back first if a transaction is open.
    Finish {
        result: OperationResult,
        rollback: bool,
    },
    /// The script's retry rule matched: roll back if a transaction is open
    /// and start again from the first step, as the application would.
    Retry {
        rollback: bool,
    },
}

pub struct Program<'a> {
    pub script: &'a Script,
    /// Every parameter's value: the system's constants, the operation's
    /// arguments, and what earlier steps bound from their RETURNING rows.
    pub values: BTreeMap<String, Value>,
    pub state: State,
    pub in_transaction: bool,
    /// Attempts made so far beyond the first (the retry rule).
    pub retries: u8,
    /// Each step's rows in this case, where a chooser asked for them (the
    /// reduced exploration); empty otherwise.
    pub reaches: Vec<Reach>,
    /// What the open transaction has written or locked: its end releases
    /// it, and any statement in it may end it by an error.
    pub held: Reach,
}

impl<'a> Program<'a> {
    /// A refusal over the arguments ends the operation before any statement.
    pub fn new(script: &'a Script, values: BTreeMap<String, Value>) -> Program<'a> {
        let refused = script
            .refusals
            .iter()
            .find(|r| values.get(&r.equal.0) == values.get(&r.equal.1));
        let state = match refused {
            Some(refusal) => State::Done(OperationResult::Finished(refusal.outcome.clone())),
            None => State::Idle(Position::Step(0)),
        };
        Program {
            script,
            values,
            state,
            in_transaction: false,
            retries: 0,
            reaches: Vec::new(),
            held: Reach::default(),
        }
    }

    pub fn is_runnable(&self) -> bool {
        matches!(self.state, State::Idle(_))
    }

    pub fn is_in_flight(&self) -> bool {
        matches!(self.state, State::Sent { .. } | State::Blocked { .. })
    }

    /// The statement to send next, its SQL and binds, and whether a BEGIN
    /// must go first.
    pub fn next_statement(&self) -> (Statement, String, Vec<Option<Value>>, Option<Statement>) {
        let State::Idle(position) = self.state else {
            panic!(
                "harness bug: next_statement on a session that is not idle: {:?}",
                self.state
            )
        };
        match position {
            Position::Commit => (Statement::Commit, "COMMIT".into(), Vec::new(), None),
            Position::Step(index) => {
                let step = &self.script.steps[index];
                // A value an earlier step should have bound but did not (it
                // returned no row) is NULL, as in the application.
                let binds = step
                    .parameters
                    .iter()
                    .map(|p| self.values.get(&p.name).cloned())
                    .collect();
                let begin = (self.script.transaction_from == Some(index))
                    .then(|| Statement::Begin(self.script.isolation.sql().to_string()));
                (
                    Statement::Step {
                        index,
                        name: step.name.clone(),
                        footprint: step.footprint,
                    },
                    step.sql.clone(),
                    binds,
                    begin,
                )
            }
        }
    }

    /// The tables the next statement touches; everything for a COMMIT, and
    /// for any statement of a transaction above READ COMMITTED (its snapshot
    /// makes order matter even across tables).
    pub fn next_footprint(&self) -> Footprint {
        match self.position() {
            Position::Commit => Footprint::ALL,
            Position::Step(index) => {
                let transactional =
                    self.in_transaction || self.script.transaction_from == Some(index);
                if transactional && self.script.isolation != Isolation::ReadCommitted {
                    Footprint::ALL
                } else {
                    self.script.steps[index].footprint
                }
            }
        }
    }

    /// The rows the next statement reaches: a COMMIT what its transaction
    /// holds; a statement in a transaction its own rows and those (an error
    /// may roll it back). Above READ COMMITTED a transaction's snapshot
    /// makes order matter everywhere.
    pub fn next_reach(&self) -> Reach {
        let Position::Step(index) = self.position() else {
            return self.held.clone();
        };
        let starts = self.script.transaction_from == Some(index);
        if (self.in_transaction || starts) && self.script.isolation != Isolation::ReadCommitted {
            return Reach::everything();
        }
        let Some(own) = self.reaches.get(index) else {
            return Reach::everything();
        };
        let mut reach = own.clone();
        if self.in_transaction && !starts {
            reach.add(&self.held);
        }
        reach
    }

    /// Everything any of its statements could reach, whatever happens.
    pub fn whole_reach(&self) -> Reach {
        if self.script.transaction_from.is_some()
            && self.script.isolation != Isolation::ReadCommitted
            || self.reaches.len() < self.script.steps.len()
        {
            return Reach::everything();
        }
        let mut whole = Reach::default();
        for reach in &self.reaches {
            whole.add(reach);
        }
        whole
    }

    /// Before the next statement goes out: what it will hold until its
    /// transaction ends.
    pub fn note_sent(&mut self) {
        let Position::Step(index) = self.position() else {
            return;
        };
        let Some(from) = self.script.transaction_from else {
            return;
        };
        if from == index {
            self.held = Reach::default();
        }
        if index >= from
            && let Some(own) = self.reaches.get(index)
        {
            self.held.add(&own.writes());
        }
    }

    pub fn mark_sent(&mut self, now: Instant) {
        match self.state {
            State::Idle(position) => {
                self.state = State::Sent {
                    position,
                    since: now,
                }
            }
            ref other => panic!("harness bug: send from {other:?}"),
        }
    }

    pub fn mark_blocked(&mut self, by: Vec<SessionId>) {
        match &self.state {
            State::Sent { position, since }
            | State::Blocked {
                position, since, ..
            } => {
                self.state = State::Blocked {
                    position: *position,
                    since: *since,
                    by,
                }
            }
            other => panic!("harness bug: blocked from {other:?}"),
        }
    }

    /// After cancelling an overdue step: wait for its reply without
    /// cancelling it again at once.
    pub fn restart_clock(&mut self, now: Instant) {
        if let State::Sent { since, .. } = &mut self.state {
            *since = now;
        }
    }

    pub fn mark_running(&mut self) {
        // The wait on us is over: the step's own time limit starts now.
        if let State::Blocked { position, .. } = self.state {
            self.state = State::Sent {
                position,
                since: Instant::now(),
            };
        }
    }

    pub fn position(&self) -> Position {
        match self.state {
            State::Idle(p)
            | State::Sent { position: p, .. }
            | State::Blocked { position: p, .. } => p,
            State::Done(_) => panic!("harness bug: a finished session has no position"),
        }
    }

    /// Whether the next statement's first returned value is to be bound.
    pub fn captures(&self) -> bool {
        match self.state {
            State::Idle(Position::Step(i)) => self.script.steps[i].binds.is_some(),
            _ => false,
        }
    }

    /// Keeps what a step returned for the steps after it.
    pub fn bind(&mut self, value: Option<Value>) {
        if let Position::Step(i) = self.position()
            && let Some(parameter) = &self.script.steps[i].binds
        {
            match value {
                Some(value) => self.values.insert(parameter.name.clone(), value),
                None => self.values.remove(&parameter.name),
            };
        }
    }

    /// Whether the script's retry rule takes this error, and an attempt is left.
    fn retries_on(&self, reply: &StepReply) -> bool {
        match (&self.script.retry, reply) {
            (Some(retry), StepReply::Error { sqlstate, .. }) => {
                retry.sqlstates.contains(sqlstate) && self.retries < retry.attempts_max
            }
            _ => false,
        }
    }

    /// Applies the script's rules to a reply and moves the state on.
    pub fn on_reply(&mut self, reply: &StepReply, harness_timeout: bool) -> Next {
        let position = self.position();
        if !harness_timeout && self.retries_on(reply) {
            self.retries += 1;
            let rollback = self.in_transaction && position != Position::Commit;
            self.in_transaction = false;
            self.state = State::Idle(Position::Step(0));
            return Next::Retry { rollback };
        }
        let next = match (reply, position) {
            (StepReply::Lost(why), _) => {
                return self.finish(
                    OperationResult::Indeterminate(format!("connection lost: {why}")),
                    false,
                );
            }
            (StepReply::Error { .. }, _) if harness_timeout => {
                let rollback = self.in_transaction;
                return self.finish(
                    OperationResult::Indeterminate("a step hit the harness's time limit".into()),
                    rollback,
                );
            }
            (StepReply::Rows(_), Position::Commit) => Then::Finish(Outcome::ok()),
            (StepReply::Error { sqlstate, message }, Position::Commit) => {
                Then::Finish(Outcome::unmapped(sqlstate, message))
            }
            (StepReply::Rows(rows), Position::Step(i)) => {
                let step = &self.script.steps[i];
                step.on_rows
                    .iter()
                    .find(|(m, _)| m.matches(*rows))
                    .map(|(_, t)| t.clone())
                    .unwrap_or(Then::Continue)
            }
            (StepReply::Error { sqlstate, message }, Position::Step(i)) => {
                let step = &self.script.steps[i];
                step.on_error
                    .iter()
                    .find(|(code, _)| code == sqlstate)
                    .map(|(_, t)| t.clone())
                    .unwrap_or_else(|| Then::Finish(Outcome::unmapped(sqlstate, message)))
            }
        };
        match (next, position) {
            (Then::Finish(outcome), _) => {
                let rollback = self.in_transaction && position != Position::Commit;
                self.finish(OperationResult::Finished(outcome), rollback)
            }
            (Then::Continue, Position::Step(i)) if i + 1 < self.script.steps.len() => {
                self.state = State::Idle(Position::Step(i + 1));
                Next::Continue
            }
            (Then::Continue, Position::Step(_)) if self.in_transaction => {
                self.state = State::Idle(Position::Commit);
                Next::Continue
            }
            (Then::Continue, _) => self.finish(OperationResult::Finished(Outcome::ok()), false),
        }
    }

    fn finish(&mut self, result: OperationResult, rollback: bool) -> Next {
        self.state = State::Done(result.clone());
        self.in_transaction = false;
        Next::Finish { result, rollback }
    }
}
