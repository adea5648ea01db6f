//! What happened in one run of a case: every statement sent, every block and
//! completion (with the server's reply), each operation's outcome, and the
//! final tables with their tombstones: the bottom-level record every other
//! part reads.
//!
//! Owns: the record the oracles judge and the story prints. Must not know:
//! SQL connections or how the run was scheduled.

use crate::implementation::Footprint;
use crate::operation::OperationId;
use crate::schedule::{Schedule, SessionId};
use crate::text::quoted;
use crate::world::RowKey;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

const UNMAPPED: &str = "unmapped database error";

/// What a client sees when an operation ends, HTTP-like: a status and a reason.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Outcome {
    pub status: u16,
    pub reason: String,
}

impl Outcome {
    pub fn ok() -> Outcome {
        Outcome {
            status: 200,
            reason: String::new(),
        }
    }

    /// Every 5xx is what Stack Auth's clients see as an internal error.
    pub fn is_server_error(&self) -> bool {
        self.status >= 500
    }

    pub fn unmapped(sqlstate: &str, message: &str) -> Outcome {
        Outcome {
            status: 500,
            reason: format!("{UNMAPPED} {sqlstate}: {message}"),
        }
    }

    /// Whether this is the 500 of a database error no rule maps.
    pub fn is_unmapped(&self) -> bool {
        self.status == 500 && self.reason.starts_with(UNMAPPED)
    }

    /// Parses "STATUS REASON", e.g. `401 REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED`.
    pub fn parse(text: &str) -> Result<Outcome, String> {
        let (status, reason) = text.trim().split_once(' ').unwrap_or((text.trim(), ""));
        match status.parse::<u16>() {
            Ok(status) if (100..600).contains(&status) => Ok(Outcome {
                status,
                reason: reason.trim().to_string(),
            }),
            _ => Err(format!(
                "{} is not an outcome: write 'continue' or 'STATUS REASON' (e.g. '401 REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED')",
                quoted(text)
            )),
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.reason.is_empty() {
            write!(f, "{}", self.status)
        } else {
            write!(f, "{} {}", self.status, self.reason)
        }
    }
}

/// How an operation ended. An indeterminate one (lost connection, a step
/// that hit its time limit) is never judged, as in Jepsen's `info`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OperationResult {
    Finished(Outcome),
    Indeterminate(String),
}

impl fmt::Display for OperationResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OperationResult::Finished(o) => write!(f, "{o}"),
            OperationResult::Indeterminate(why) => write!(f, "indeterminate ({why})"),
        }
    }
}

/// What a session sent: a step of its script, or a transaction boundary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Statement {
    /// A step of the script, with what its SQL does to which tables.
    Step {
        index: usize,
        name: String,
        footprint: Footprint,
    },
    Begin(String),
    Commit,
    Rollback,
}

impl fmt::Display for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Statement::Step { name, .. } => f.write_str(name),
            Statement::Begin(isolation) => write!(f, "BEGIN ISOLATION LEVEL {isolation}"),
            Statement::Commit => f.write_str("COMMIT"),
            Statement::Rollback => f.write_str("ROLLBACK"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventKind {
    Sent(Statement),
    Blocked {
        by: Vec<SessionId>,
    },
    Completed {
        statement: Statement,
        reply: StepReply,
    },
    /// The engine found a lock cycle among our sessions and cancelled this
    /// session's statement, which PostgreSQL then reports as 40P01.
    DeadlockVictim {
        cycle: Vec<SessionId>,
    },
    Finished(OperationResult),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The schedule position whose choice led to this event (1-based).
    pub choice: usize,
    pub session: SessionId,
    pub kind: EventKind,
}

impl Event {
    /// A statement refused for a duplicate key (23505): a unique index
    /// decided between rows, which no footprint names.
    pub fn refused_for_unique_key(&self) -> bool {
        matches!(&self.kind, EventKind::Completed { reply: StepReply::Error { sqlstate, .. }, .. } if sqlstate == "23505")
    }
}

/// How a statement ended, as the server said it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepReply {
    /// Rows affected (INSERT/UPDATE/DELETE) or returned (SELECT).
    Rows(u64),
    /// The server refused the statement with this SQLSTATE.
    Error { sqlstate: String, message: String },
    /// The connection broke: an infrastructure fault, never a finding.
    Lost(String),
}

/// One tombstone, named by the row it records, with the operation whose
/// session wrote it and the fields it holds as written (the
/// replayable-tombstone oracle compares them with what the row was).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TombstoneRow {
    pub row: RowKey,
    pub writer: Option<OperationId>,
    /// The source table it names (shared layout); `None` when its own
    /// table says which (per-table layout).
    pub table: Option<String>,
    pub primary_key: serde_json::Value,
    pub data: Option<serde_json::Value>,
    /// The declared required columns, as written (`{"shouldUpdateSequenceId": true}`).
    pub required: serde_json::Value,
}

/// A tombstone that names no row of the world: an unknown table, a key that
/// is not an object, or a key no row (or more than one) fits. A sync could
/// not replay it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OrphanTombstone {
    pub writer: Option<OperationId>,
    pub table: String,
    pub key: serde_json::Value,
    /// Why no row fits, as a phrase: "names table 'X', which is not tracked".
    pub reason: String,
}

/// The final tables: the live rows and the tombstones, in the order written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub live: BTreeSet<RowKey>,
    /// Live rows no row of the case can be: `ProjectUser {"id": …}`. A
    /// serial run of the reference never makes them, so they are compared.
    pub strangers: BTreeSet<String>,
    pub tombstones: Vec<TombstoneRow>,
    pub orphans: Vec<OrphanTombstone>,
    /// What each deleted row held when it was deleted (its last deleted
    /// version), read where the layout stores the row in its tombstone.
    pub deleted: BTreeMap<RowKey, serde_json::Value>,
}

#[derive(Clone, Debug)]
pub struct History {
    pub schedule: Schedule,
    pub events: Vec<Event>,
    /// Indexed by session: session `s1`'s operation is `op1`.
    pub results: Vec<OperationResult>,
    pub snapshot: Snapshot,
}

impl History {
    pub fn is_indeterminate(&self) -> bool {
        self.results
            .iter()
            .any(|r| matches!(r, OperationResult::Indeterminate(_)))
    }

    /// Rows each completed step of `session` affected, with the choice that
    /// sent it: which step wrote (or failed to write) a tombstone.
    pub fn completed_steps(&self, session: SessionId) -> Vec<(usize, &Statement, &StepReply)> {
        self.events
            .iter()
            .filter(|e| e.session == session)
            .filter_map(|e| match &e.kind {
                EventKind::Completed { statement, reply } => Some((e.choice, statement, reply)),
                _ => None,
            })
            .collect()
    }

    /// A stable text form of everything observable, for determinism checks:
    /// no pids, timings or XIDs.
    pub fn fingerprint(&self) -> String {
        let mut text = format!("{}\n", self.schedule);
        for event in &self.events {
            text.push_str(&format!(
                "{} {} {:?}\n",
                event.choice, event.session, event.kind
            ));
        }
        for (i, result) in self.results.iter().enumerate() {
            text.push_str(&format!("{} {result}\n", SessionId::from_index(i)));
        }
        text.push_str(&format!(
            "{:?} {:?}\n",
            self.snapshot.live, self.snapshot.strangers
        ));
        for t in &self.snapshot.tombstones {
            text.push_str(&format!("{} {:?}\n", t.row, t.writer));
        }
        for o in &self.snapshot.orphans {
            text.push_str(&format!("orphan {:?} {}\n", o.writer, o.reason));
        }
        text
    }
}
