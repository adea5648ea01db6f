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
//! - [`server_errors`]: no operation ends in a 5xx.
//! - [`serial`]: some serial order of the operations, run through the
//!   [`model`](crate::model), explains every status and the final rows.

mod evidence;

pub use evidence::blamed;
mod serial;
mod server_errors;
mod tombstones;

use crate::case::Case;
use crate::history::History;
use crate::operation::OperationId;
use crate::world::RowKey;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A property every history of every implementation must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Invariant {
    ExactlyOneTombstone,
    NoServerError,
    SequentiallyExplained,
}

impl Invariant {
    pub const ALL: [Invariant; 3] = [
        Invariant::ExactlyOneTombstone,
        Invariant::NoServerError,
        Invariant::SequentiallyExplained,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Invariant::ExactlyOneTombstone => "exactly-one-tombstone",
            Invariant::NoServerError => "no-server-error",
            Invariant::SequentiallyExplained => "sequentially-explained",
        }
    }

    /// The violations of this one invariant in `history`.
    pub fn check(self, case: &Case, history: &History) -> Vec<Violation> {
        match self {
            Invariant::ExactlyOneTombstone => tombstones::exactly_one_tombstone(case, history),
            Invariant::NoServerError => server_errors::no_server_error(case, history),
            Invariant::SequentiallyExplained => serial::sequentially_explained(case, history),
        }
    }
}

impl fmt::Display for Invariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The known anomalies of Stack Auth's recorder (see stack-auth-facts.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Anomaly {
    /// A single-row record found no row and asserted: the 500 of #1466.
    A,
    /// A deleted row with more than one tombstone.
    B,
    /// A deleted row with no tombstone: a ghost row downstream.
    C,
    /// A live row with a tombstone: downstream deletes a live row.
    D,
    /// Any other 5xx.
    E,
}

impl Anomaly {
    pub const ALL: [Anomaly; 5] = [Anomaly::A, Anomaly::B, Anomaly::C, Anomaly::D, Anomaly::E];

    pub fn title(&self) -> &'static str {
        match self {
            Anomaly::A => "A: 0 rows recorded → 500 (#1466)",
            Anomaly::B => "B: duplicate tombstone",
            Anomaly::C => "C: missing tombstone",
            Anomaly::D => "D: tombstone for a live row",
            Anomaly::E => "E: other 500",
        }
    }
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let letter = match self {
            Anomaly::A => "A",
            Anomaly::B => "B",
            Anomaly::C => "C",
            Anomaly::D => "D",
            Anomaly::E => "E",
        };
        f.write_str(letter)
    }
}

/// One broken invariant, with the rows and operations involved and a
/// sentence that names the steps (and their choices) behind it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    pub invariant: Invariant,
    pub anomaly: Option<Anomaly>,
    pub rows: Vec<RowKey>,
    pub operations: Vec<OperationId>,
    pub explanation: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.anomaly {
            Some(anomaly) => write!(f, "{} ({}): ", self.invariant, anomaly.title())?,
            None => write!(f, "{}: ", self.invariant)?,
        }
        f.write_str(&self.explanation)
    }
}

/// Everything the oracles found in one history; empty when it is clean.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
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
        let named: std::collections::BTreeSet<Anomaly> =
            self.violations.iter().filter_map(|v| v.anomaly).collect();
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
pub fn judge(case: &Case, history: &History) -> Verdict {
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
        .flat_map(|invariant| invariant.check(case, history))
        .collect();
    Verdict { violations }
}
