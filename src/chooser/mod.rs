//! Choosers decide which runnable session goes next. Runnable means not
//! blocked and not finished, so every choice any chooser makes is valid: no
//! schedule can ask a blocked session to move (the isolation tester's
//! "mutually-blocking steps" cannot happen here).

mod exhaustive;
mod preference;
mod scripted;

pub use exhaustive::Exhaustive;
pub use preference::Preference;
pub use scripted::Scripted;

use crate::implementation::Footprint;
use crate::reach::Reach;
use crate::schedule::SessionId;

pub trait Chooser: Send {
    /// Picks one of `runnable` (never empty, ascending).
    fn choose(&mut self, runnable: &[SessionId]) -> Result<SessionId, ChooserError>;

    /// Whether the engine should compute a `Hint` before each choice.
    fn wants_hint(&self) -> bool {
        false
    }

    /// Whether the hint should carry each statement's rows (`RowHint`).
    fn wants_rows(&self) -> bool {
        false
    }

    /// Whether the rows may assume tombstone inserts commute
    /// (`reach::Physics::appends_commute`).
    fn appends_commute(&self) -> bool {
        false
    }

    /// What the engine knows about the statements around this choice.
    fn hint(&mut self, _hint: Hint) {}
}

/// The tables touched by the statement the last chosen session just ran,
/// and by each runnable session's next statement: enough to see that two
/// statements commute.
#[derive(Clone, Debug, Default)]
pub struct Hint {
    pub last: Option<(SessionId, Footprint)>,
    pub next: Vec<(SessionId, Footprint)>,
    pub rows: Option<RowHint>,
}

/// The rows each runnable session's next statement reaches, which sessions
/// have not finished, and (at a run's first choice) everything each
/// session's statements could ever reach.
#[derive(Clone, Debug, Default)]
pub struct RowHint {
    pub next: Vec<(SessionId, Reach)>,
    pub whole: Option<Vec<Reach>>,
    pub live: Vec<SessionId>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChooserError {
    #[error("schedule choice {position} names {wanted}, but only {runnable} can run then")]
    NotRunnable {
        position: usize,
        wanted: SessionId,
        runnable: String,
    },
    #[error(
        "nondeterminism: at choice {position} a replayed prefix offered {found} runnable sessions where it offered {expected} before"
    )]
    Diverged {
        position: usize,
        expected: usize,
        found: usize,
    },
    /// The reduced exploration: every way on from here only reorders
    /// statements that commute into a schedule already run.
    #[error("every way on from choice {position} repeats a schedule already run")]
    Redundant { position: usize },
}

/// Runs each operation to the end before the next starts, in the order
/// given (default: by session): `make run`'s sequential table, and the
/// reference implementation's serial orders. A session that blocks waits
/// for the one holding its lock, as a serial run never blocks.
#[derive(Default)]
pub struct Serial {
    order: Vec<SessionId>,
}

impl Serial {
    /// Sessions by operation index, first to last.
    pub fn in_order(order: &[usize]) -> Serial {
        Serial {
            order: order.iter().map(|&i| SessionId::from_index(i)).collect(),
        }
    }
}

impl Chooser for Serial {
    fn choose(&mut self, runnable: &[SessionId]) -> Result<SessionId, ChooserError> {
        let first = self.order.iter().find(|s| runnable.contains(s));
        Ok(*first.unwrap_or(&runnable[0]))
    }
}
