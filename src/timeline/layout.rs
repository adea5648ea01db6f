//! From events to columns: every statement a session sends gets its own
//! column, in the order the history records it, so x is a position in the
//! schedule and never a time. A statement that waited (blocked, or completed
//! during a later choice) gets a second column where its reply arrived, and a
//! [`Wait`] between the two.

use crate::db::StepReply;
use crate::history::{EventKind, History, OperationResult, Statement};
use crate::schedule::SessionId;

/// What one column's box shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CellKind {
    /// Sent and answered during the same choice, without waiting.
    Whole,
    /// Sent; its reply came later (see the matching [`Wait`]).
    Waiting,
    /// The reply to a statement that waited.
    Done,
}

/// One box: a statement of one session, in its own column.
#[derive(Clone, Debug)]
pub(super) struct Cell {
    pub session: SessionId,
    /// The choice during which this was sent (or, for `Done`, answered).
    pub choice: usize,
    pub kind: CellKind,
    /// `record token`, `COMMIT`, `BEGIN`.
    pub label: String,
    /// The whole statement, for the tooltip (`BEGIN ISOLATION LEVEL …`).
    pub statement: String,
    /// `1 row`, `ERROR 40P01 deadlock detected`; `None` while unanswered.
    pub reply: Option<String>,
    pub failed: bool,
    /// BEGIN and ROLLBACK are drawn small.
    pub small: bool,
    /// The index of the `Completed` event this box shows, if it shows one.
    pub completed_event: Option<usize>,
}

/// A statement that waited, from the column it was sent in to the column
/// its reply arrived in (`None`: no reply before the history ended).
#[derive(Clone, Debug)]
pub(super) struct Wait {
    pub session: SessionId,
    pub from: usize,
    pub to: Option<usize>,
    pub by: Vec<SessionId>,
    /// The lock cycle the engine broke by cancelling this statement.
    pub deadlock: Option<Vec<SessionId>>,
}

/// How and where a session's operation ended.
#[derive(Clone, Debug, Default)]
pub(super) struct Ending {
    /// Whether the history records the operation finishing.
    pub finished: bool,
    /// The session's last column when it finished; `None` if it finished
    /// before sending anything (a refused request) or never finished.
    pub column: Option<usize>,
    /// The history's result for the session (what the oracles judge), or
    /// else the one its `Finished` event carries.
    pub result: Option<OperationResult>,
}

#[derive(Debug, Default)]
pub(super) struct Layout {
    /// One cell per column, left to right.
    pub cells: Vec<Cell>,
    pub waits: Vec<Wait>,
    /// Indexed by session.
    pub endings: Vec<Ending>,
}

impl Layout {
    /// The column of the blocker's last statement before `wait` ended: the
    /// one whose completion (a COMMIT, a ROLLBACK, an autocommit step)
    /// released the lock.
    pub fn releaser(&self, wait: &Wait) -> Option<usize> {
        let to = wait.to?;
        (wait.from..to)
            .rev()
            .find(|&c| wait.by.contains(&self.cells[c].session))
    }
}

/// A statement sent and not yet answered.
struct Open {
    column: usize,
    choice: usize,
    by: Vec<SessionId>,
    deadlock: Option<Vec<SessionId>>,
}

/// `1 row`, `0 rows`, `ERROR 40P01 deadlock detected`; `ok` for the
/// transaction statements, whose row count means nothing.
pub(super) fn reply_text(statement: &Statement, reply: &StepReply) -> String {
    match reply {
        StepReply::Rows(_) if !matches!(statement, Statement::Step { .. }) => "ok".into(),
        StepReply::Rows(1) => "1 row".into(),
        StepReply::Rows(n) => format!("{n} rows"),
        StepReply::Error { sqlstate, message } => format!("ERROR {sqlstate} {message}"),
        StepReply::Lost(why) => format!("connection lost ({why})"),
    }
}

fn new_cell(session: SessionId, choice: usize, kind: CellKind, statement: &Statement) -> Cell {
    let label = match statement {
        Statement::Begin(_) => "BEGIN".to_string(),
        other => other.to_string(),
    };
    Cell {
        session,
        choice,
        kind,
        label,
        statement: statement.to_string(),
        reply: None,
        failed: false,
        small: matches!(statement, Statement::Begin(_) | Statement::Rollback),
        completed_event: None,
    }
}

/// Lays out `history` for `sessions` lanes (events of sessions beyond them
/// are a harness bug and are left out rather than panicking a picture).
pub(super) fn layout(history: &History, sessions: usize) -> Layout {
    let mut out = Layout {
        endings: vec![Ending::default(); sessions],
        ..Layout::default()
    };
    let mut open: Vec<Option<Open>> = (0..sessions).map(|_| None).collect();
    for (index, event) in history.events.iter().enumerate() {
        let s = event.session.index();
        if s >= sessions {
            continue;
        }
        match &event.kind {
            EventKind::Sent(statement) => {
                let cell = new_cell(event.session, event.choice, CellKind::Whole, statement);
                open[s] = Some(Open {
                    column: out.cells.len(),
                    choice: event.choice,
                    by: Vec::new(),
                    deadlock: None,
                });
                out.cells.push(cell);
            }
            EventKind::Blocked { by } => {
                if let Some(o) = open[s].as_mut() {
                    for blocker in by {
                        if !o.by.contains(blocker) {
                            o.by.push(*blocker);
                        }
                    }
                }
            }
            EventKind::DeadlockVictim { cycle } => {
                if let Some(o) = open[s].as_mut() {
                    o.deadlock = Some(cycle.clone());
                }
            }
            EventKind::Completed { statement, reply } => {
                let column = match open[s].take() {
                    Some(o)
                        if o.by.is_empty() && o.deadlock.is_none() && o.choice == event.choice =>
                    {
                        o.column
                    }
                    waited => {
                        complete_later(&mut out, event.session, event.choice, statement, waited)
                    }
                };
                let cell = &mut out.cells[column];
                cell.reply = Some(reply_text(statement, reply));
                cell.failed = !matches!(reply, StepReply::Rows(_));
                cell.completed_event = Some(index);
            }
            EventKind::Finished(result) => {
                out.endings[s] = Ending {
                    finished: true,
                    column: out.cells.iter().rposition(|c| c.session == event.session),
                    result: Some(result.clone()),
                };
            }
        }
    }
    for (ending, result) in out.endings.iter_mut().zip(&history.results) {
        ending.result = Some(result.clone());
    }
    for (s, o) in open.into_iter().enumerate() {
        if let Some(o) = o {
            out.cells[o.column].kind = CellKind::Waiting;
            out.waits.push(Wait {
                session: SessionId::from_index(s),
                from: o.column,
                to: None,
                by: o.by,
                deadlock: o.deadlock,
            });
        }
    }
    out
}

/// A reply that arrived after its session waited: a `Done` column, and the
/// wait that led to it (none if the send was never seen, a harness bug).
fn complete_later(
    out: &mut Layout,
    session: SessionId,
    choice: usize,
    statement: &Statement,
    waited: Option<Open>,
) -> usize {
    let column = out.cells.len();
    out.cells
        .push(new_cell(session, choice, CellKind::Done, statement));
    if let Some(o) = waited {
        out.cells[o.column].kind = CellKind::Waiting;
        out.waits.push(Wait {
            session,
            from: o.column,
            to: Some(column),
            by: o.by,
            deadlock: o.deadlock,
        });
    }
    column
}
