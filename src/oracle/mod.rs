//! The oracles: each invariant stated once, in its own module, and checked
//! for every case by [`judge`].
//!
//! Owns: what counts as a violation and how it is explained. A verdict names
//! rows, operations and the steps (with their choice numbers) that caused it,
//! never a bare bool. Must not know: SQL, connections, how a schedule was
//! chosen, or which implementation ran; it reads only the case and its
//! history. An indeterminate history is never judged (Jepsen's `info`).
//!
//! - [`tombstones`]: exactly one tombstone per deleted row, none per live row.
//! - [`replayable`]: every tombstone names a tracked row and carries its
//!   exact key, its content and the declared columns the sync needs.
//! - [`server_errors`]: no operation ends in a 5xx.
//! - [`serial`]: some serial order of the operations, run by the system's
//!   reference implementation, explains every status and the final rows.

mod evidence;

pub use evidence::{Verb, blamed};
pub use serial::SerialRun;
mod replayable;
pub mod serial;
mod server_errors;
mod tombstones;

use crate::case::Case;
use crate::history::History;
use crate::operation::OperationId;
use crate::system::System;
use crate::world::RowKey;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A property every history of every implementation must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Invariant {
    ExactlyOneTombstone,
    ReplayableTombstone,
    NoServerError,
    SequentiallyExplained,
}

impl Invariant {
    pub const ALL: [Invariant; 4] = [
        Invariant::ExactlyOneTombstone,
        Invariant::ReplayableTombstone,
        Invariant::NoServerError,
        Invariant::SequentiallyExplained,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Invariant::ExactlyOneTombstone => "exactly-one-tombstone",
            Invariant::ReplayableTombstone => "replayable-tombstone",
            Invariant::NoServerError => "no-server-error",
            Invariant::SequentiallyExplained => "sequentially-explained",
        }
    }

    /// Whether checking it takes serial runs of the reference, on the
    /// database; the others read only the run.
    pub fn needs_serial_runs(self) -> bool {
        self == Invariant::SequentiallyExplained
    }

    /// The violations of this one invariant in `history`.
    pub fn check(self, case: &Case, history: &History, serial: &[SerialRun]) -> Vec<Violation> {
        match self {
            Invariant::ExactlyOneTombstone => tombstones::exactly_one_tombstone(case, history),
            Invariant::ReplayableTombstone => replayable::replayable_tombstone(case, history),
            Invariant::NoServerError => server_errors::no_server_error(case, history),
            Invariant::SequentiallyExplained => {
                serial::sequentially_explained(case, history, serial)
            }
        }
    }
}

impl fmt::Display for Invariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A kind of finding: one of the harness's (duplicate, missing, live,
/// server-error, …) or a label the system adds, under the name the system's
/// people use for it (Stack Auth calls a duplicate "B").
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Anomaly {
    pub name: String,
    pub title: String,
}

/// The harness's own anomalies and what each means.
pub const KINDS: [(&str, &str); 6] = [
    ("duplicate", "duplicate tombstone"),
    ("missing", "missing tombstone"),
    ("live", "tombstone for a live row"),
    ("wrong", "wrong tombstone"),
    ("orphan", "orphan tombstone"),
    ("server-error", "server error"),
];

impl Anomaly {
    /// One of the harness's kinds, named as the system names it.
    pub fn of(system: &System, kind: &str) -> Anomaly {
        let meaning = KINDS
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, m)| *m)
            .unwrap_or_else(|| panic!("harness bug: {kind} is not an anomaly kind"));
        let name = system.name_of(kind);
        let title = if name == kind {
            meaning.to_string()
        } else {
            format!("{name}: {meaning}")
        };
        Anomaly { name, title }
    }

    /// A label of the system's.
    pub fn label(label: &crate::system::Label) -> Anomaly {
        Anomaly {
            name: label.name.clone(),
            title: format!("{}: {}", label.name, label.title),
        }
    }

    /// Every anomaly a system can report, its labels first, in the order
    /// tables show them.
    pub fn all(system: &System) -> Vec<Anomaly> {
        let labels = system.labels.iter().map(Anomaly::label);
        labels
            .chain(KINDS.iter().map(|(k, _)| Anomaly::of(system, k)))
            .collect()
    }

    pub fn title(&self) -> &str {
        &self.title
    }
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// One broken invariant, with the rows and operations involved, a sentence
/// that names the steps (and their choices) behind it, and those steps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub invariant: Invariant,
    /// Serialized by name (`"A"`), as reports and counterexample files name it.
    #[serde(serialize_with = "anomaly_name")]
    pub anomaly: Option<Anomaly>,
    pub rows: Vec<RowKey>,
    pub operations: Vec<OperationId>,
    pub explanation: String,
    /// The completed steps it blames, found once by the oracle (the
    /// timeline marks them).
    pub blamed: Vec<Blame>,
}

fn anomaly_name<S: serde::Serializer>(
    anomaly: &Option<Anomaly>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match anomaly {
        Some(anomaly) => serializer.serialize_str(&anomaly.name),
        None => serializer.serialize_none(),
    }
}

/// A completed step a violation blames: its index in the history's events
/// and why, in a few words ("tombstone for token t1").
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Blame {
    pub event: usize,
    pub caption: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.anomaly {
            Some(anomaly) => write!(f, "{} ({}): ", self.invariant, anomaly.title())?,
            None => write!(f, "{}: ", self.invariant)?,
        }
        f.write_str(&self.explanation)
    }
}

/// Everything the oracles found in one history; empty when it is clean.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub violations: Vec<Violation>,
}

impl Verdict {
    pub fn is_clean(&self) -> bool {
        self.violations.is_empty()
    }

    /// The violations of one invariant.
    pub fn of(&self, invariant: Invariant) -> impl Iterator<Item = &Violation> {
        self.violations
            .iter()
            .filter(move |v| v.invariant == invariant)
    }

    /// The anomalies named, each once, in order.
    pub fn anomalies(&self) -> Vec<Anomaly> {
        let named: std::collections::BTreeSet<Anomaly> = self
            .violations
            .iter()
            .filter_map(|v| v.anomaly.clone())
            .collect();
        named.into_iter().collect()
    }
}

/// One violation per line; a clean verdict prints `clean`.
impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_clean() {
            return f.write_str("clean");
        }
        let lines: Vec<String> = self.violations.iter().map(ToString::to_string).collect();
        f.write_str(&lines.join("\n"))
    }
}

/// Checks every invariant against one run of `case`. An indeterminate
/// history (a lost connection, a step past its time limit) proves nothing
/// either way, so it gets a clean verdict and is never a finding.
/// `serial` holds the serial runs of the reference implementation tried so
/// far ([`serial::orders_to_try`], until one [`serial::explains`] the
/// history); `engine::Engine::judge` gathers them.
pub fn judge(case: &Case, history: &History, serial: &[SerialRun]) -> Verdict {
    if history.is_indeterminate() {
        return Verdict::default();
    }
    assert_eq!(
        history.results.len(),
        case.operations.len(),
        "harness bug: a history must have one result per operation of its case"
    );
    let violations = Invariant::ALL
        .into_iter()
        .flat_map(|invariant| invariant.check(case, history, serial))
        .collect();
    Verdict { violations }
}
