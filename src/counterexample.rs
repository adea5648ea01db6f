//! A counterexample: the case, the schedule and what it violated, saved as a
//! readable, versioned file (the shrunk case itself, not a seed, so a changed
//! generator cannot silently change what an old failure tests), and the story
//! a person reads.

use crate::case::Case;
use crate::db::StepReply;
use crate::history::{Event, EventKind, History};
use crate::implementation::{
    Implementation, ImplementationError, ImplementationFile, Isolation, sha256_hex,
};
use crate::oracle::Verdict;
use crate::schedule::{Schedule, SessionId};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const FORMAT: &str = "tombstone-harness counterexample v2";

/// What a violation named when the file was saved; replay checks it again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expected {
    pub invariant: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anomaly: Option<String>,
    pub operations: Vec<String>,
    pub rows: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Counterexample {
    pub format: String,
    /// A shipped implementation's name, an implementation's `name` field, or
    /// (in files saved before `implementation_file` existed) a file's path.
    pub implementation: String,
    /// Where an implementation of no system's own set was read from, and the
    /// hash of its bytes then.
    pub implementation_file: Option<ImplementationFile>,
    pub isolation: Option<Isolation>,
    /// The case, in its system (named by `system` in the file).
    pub case: Case,
    pub schedule: Schedule,
    pub expected: Vec<Expected>,
}

/// The file as JSON: the case stays JSON until its system is known.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCounterexample {
    format: String,
    /// A shipped system's name or a system directory's path.
    system: String,
    implementation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    implementation_file: Option<ImplementationFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    isolation: Option<Isolation>,
    case: serde_json::Value,
    schedule: Schedule,
    expected: Vec<Expected>,
}

#[derive(Debug, thiserror::Error)]
pub enum CounterexampleError {
    #[error("{file}: cannot read: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}: not a counterexample: {message}")]
    Invalid { file: String, message: String },
    #[error("{file}: format '{found}' is not supported (this harness reads '{FORMAT}')")]
    Version { file: String, found: String },
    #[error("{file}: {source}")]
    System {
        file: String,
        source: crate::system::SystemError,
    },
    #[error(
        "{file}: the implementation file of '{name}' is gone (neither {} nor {path} exists); pass --implementation NAME|FILE", absolute.display()
    )]
    ImplementationMissing {
        file: String,
        name: String,
        path: String,
        absolute: PathBuf,
    },
    #[error(
        "{file}: implementation file {} changed since this counterexample was saved (sha256 {found:.12}…, saved {saved:.12}…); pass --implementation {path} to replay against it as it is now", absolute.display()
    )]
    ImplementationChanged {
        file: String,
        path: String,
        absolute: PathBuf,
        saved: String,
        found: String,
    },
    #[error(transparent)]
    Implementation(#[from] ImplementationError),
}

impl Counterexample {
    pub fn new(
        implementation: &str,
        isolation: Option<Isolation>,
        case: &Case,
        schedule: &Schedule,
        verdict: &Verdict,
    ) -> Counterexample {
        let expected = verdict
            .violations
            .iter()
            .map(|v| Expected {
                invariant: v.invariant.to_string(),
                anomaly: v.anomaly.as_ref().map(|a| a.to_string()),
                operations: v.operations.iter().map(ToString::to_string).collect(),
                rows: v.rows.iter().map(ToString::to_string).collect(),
            })
            .collect();
        Counterexample {
            format: FORMAT.into(),
            implementation: implementation.into(),
            implementation_file: None,
            isolation,
            case: case.clone(),
            schedule: schedule.clone(),
            expected,
        }
    }

    /// A counterexample of `implementation`, remembering its file (if it was
    /// read from one) so that the file replays from anywhere.
    pub fn of(
        implementation: &Implementation,
        isolation: Option<Isolation>,
        case: &Case,
        schedule: &Schedule,
        verdict: &Verdict,
    ) -> Counterexample {
        let mut counterexample =
            Counterexample::new(&implementation.name, isolation, case, schedule, verdict);
        counterexample.implementation_file = implementation.file.clone();
        counterexample
    }

    /// The implementation to replay against, at the recorded isolation:
    /// `asked` (a name or file) if given, else the recorded file (found by
    /// its absolute path, then as given; refused if its bytes changed), else
    /// the recorded name. `file` is this counterexample's own path, for errors.
    pub fn implementation(
        &self,
        file: &Path,
        asked: Option<&str>,
    ) -> Result<Implementation, CounterexampleError> {
        let system = &self.case.system;
        let implementation = match (asked, &self.implementation_file) {
            (Some(asked), _) => Implementation::load(system, asked)?,
            (None, Some(recorded)) => load_recorded(
                system,
                &file.display().to_string(),
                &self.implementation,
                recorded,
            )?,
            (None, None) => Implementation::load(system, &self.implementation)?,
        };
        Ok(match self.isolation {
            Some(isolation) => implementation.with_isolation(isolation),
            None => implementation,
        })
    }

    pub fn load(path: &Path) -> Result<Counterexample, CounterexampleError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| CounterexampleError::Read {
            file: file.clone(),
            source,
        })?;
        Counterexample::parse(&file, &text)
    }

    pub fn parse(file: &str, text: &str) -> Result<Counterexample, CounterexampleError> {
        let invalid = |message: String| CounterexampleError::Invalid {
            file: file.into(),
            message: crate::text::one_line(&message),
        };
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        match value.get("format").and_then(|f| f.as_str()) {
            Some(FORMAT) => {}
            Some(other) => {
                return Err(CounterexampleError::Version {
                    file: file.into(),
                    found: crate::text::one_line(other),
                });
            }
            None => return Err(invalid("no \"format\" field".into())),
        }
        let raw: RawCounterexample =
            serde_json::from_value(value).map_err(|e| invalid(e.to_string()))?;
        let system = crate::system::System::load(&raw.system).map_err(|source| {
            CounterexampleError::System {
                file: file.into(),
                source,
            }
        })?;
        let case = Case::from_json(&system, &raw.case).map_err(invalid)?;
        Ok(Counterexample {
            format: raw.format,
            implementation: raw.implementation,
            implementation_file: raw.implementation_file,
            isolation: raw.isolation,
            case,
            schedule: raw.schedule,
            expected: raw.expected,
        })
    }

    /// The file's JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.raw()).expect("a counterexample always serializes")
            + "\n"
    }

    fn raw(&self) -> RawCounterexample {
        RawCounterexample {
            format: self.format.clone(),
            system: self.case.system.reference_name(),
            implementation: self.implementation.clone(),
            implementation_file: self.implementation_file.clone(),
            isolation: self.isolation,
            case: self.case.to_json(),
            schedule: self.schedule.clone(),
            expected: self.expected.clone(),
        }
    }

    /// `<implementation>-<anomalies>-<operations>-<hash>.json`: stable for
    /// one counterexample, distinct for different ones.
    pub fn file_name(&self) -> String {
        let anomalies: Vec<String> = self
            .expected
            .iter()
            .filter_map(|e| e.anomaly.clone())
            .collect();
        let kinds: Vec<String> = self
            .case
            .operations
            .iter()
            .map(|o| o.action.kind.clone())
            .collect();
        let body = format!(
            "{}|{}|{}",
            self.case.to_json(),
            self.schedule,
            self.implementation
        );
        let hash = body.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        });
        let stem = Path::new(&self.implementation)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("implementation");
        // Letters read well run together (`BE`); words need a separator.
        let anomalies = if anomalies.is_empty() {
            "X".into()
        } else if anomalies.iter().all(|a| a.chars().count() == 1) {
            anomalies.join("")
        } else {
            anomalies.join("+")
        };
        format!(
            "{stem}-{anomalies}-{}-{:08x}.json",
            kinds.join("+"),
            hash as u32
        )
    }

    pub fn save(&self, dir: &Path) -> Result<PathBuf, CounterexampleError> {
        let path = dir.join(self.file_name());
        let file = path.display().to_string();
        let text = self.to_json();
        std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(&path, text))
            .map_err(|source| CounterexampleError::Read { file, source })?;
        Ok(path)
    }
}

impl Serialize for Counterexample {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.raw().serialize(serializer)
    }
}

/// The recorded implementation file, wherever it still is unchanged.
fn load_recorded(
    system: &crate::system::System,
    file: &str,
    name: &str,
    recorded: &ImplementationFile,
) -> Result<Implementation, CounterexampleError> {
    let candidates = [recorded.absolute.clone(), PathBuf::from(&recorded.path)];
    let mut changed = None;
    for candidate in candidates.iter().filter(|c| c.is_file()) {
        let found = std::fs::read(candidate)
            .map(|bytes| sha256_hex(&bytes))
            .unwrap_or_default();
        if found == recorded.sha256 {
            return Ok(Implementation::load_file(system, candidate)?);
        }
        changed.get_or_insert(found);
    }
    Err(match changed {
        Some(found) => CounterexampleError::ImplementationChanged {
            file: file.into(),
            path: recorded.path.clone(),
            absolute: recorded.absolute.clone(),
            saved: recorded.sha256.clone(),
            found,
        },
        None => CounterexampleError::ImplementationMissing {
            file: file.into(),
            name: name.into(),
            path: recorded.path.clone(),
            absolute: recorded.absolute.clone(),
        },
    })
}

fn reply_text(reply: &StepReply) -> String {
    match reply {
        StepReply::Rows(1) => "1 row".into(),
        StepReply::Rows(n) => format!("{n} rows"),
        StepReply::Error { sqlstate, message } => format!("ERROR {sqlstate} {message}"),
        StepReply::Lost(why) => format!("connection lost ({why})"),
    }
}

/// The story: the case, a numbered line per choice and what followed from
/// it, the final tombstones, the verdict, and the command that replays it.
pub fn story(
    title: &str,
    case: &Case,
    history: &History,
    verdict: &Verdict,
    replay_command: &str,
) -> String {
    let mut out = format!("{title}\n{case}");
    let events = &history.events;
    let mut i = 0;
    while i < events.len() {
        let (line, used) = event_line(case, events, i);
        out.push_str(&line);
        out.push('\n');
        i += used;
    }
    out.push_str("final tombstones:");
    if history.snapshot.tombstones.is_empty() && history.snapshot.orphans.is_empty() {
        out.push_str(" none");
    }
    let by = |writer: Option<crate::operation::OperationId>| {
        writer.map_or_else(|| "unknown".to_string(), |w| w.to_string())
    };
    for t in &history.snapshot.tombstones {
        out.push_str(&format!(" {} (by {});", t.row, by(t.writer)));
    }
    for o in &history.snapshot.orphans {
        out.push_str(&format!(" an orphan in {} (by {});", o.table, by(o.writer)));
    }
    out.push('\n');
    if verdict.is_clean() {
        out.push_str("verdict: clean\n");
    } else {
        out.push_str(&format!("violated:\n{verdict}\n"));
    }
    out.push_str(&format!(
        "schedule: {}\nreplay: {replay_command}\n",
        history.schedule
    ));
    out
}

/// The story's line for `events[i]`, and how many events it told: a
/// statement answered at once is one line with its reply.
fn event_line(case: &Case, events: &[Event], i: usize) -> (String, usize) {
    let who = |s: SessionId| {
        let op = &case.operations[s.index()];
        format!("{s} {} {}", op.id, op.action.kind)
    };
    let e = &events[i];
    let line = match &e.kind {
        EventKind::Sent(statement) => match events.get(i + 1) {
            Some(Event {
                session,
                kind:
                    EventKind::Completed {
                        statement: s,
                        reply,
                    },
                ..
            }) if *session == e.session && s == statement => {
                let line = format!(
                    "{:>3}. {}: {statement} → {}",
                    e.choice,
                    who(e.session),
                    reply_text(reply)
                );
                return (line, 2);
            }
            _ => format!("{:>3}. {}: {statement} … sent", e.choice, who(e.session)),
        },
        EventKind::Completed { statement, reply } => {
            format!(
                "     {}: {statement} completes → {}",
                who(e.session),
                reply_text(reply)
            )
        }
        EventKind::Blocked { by } => {
            let by: Vec<String> = by.iter().map(ToString::to_string).collect();
            format!("     {} is blocked by {}", who(e.session), by.join(", "))
        }
        EventKind::DeadlockVictim { cycle } => {
            let cycle: Vec<String> = cycle.iter().map(ToString::to_string).collect();
            format!(
                "     deadlock among {}: {}'s statement is cancelled (PostgreSQL reports 40P01)",
                cycle.join(", "),
                e.session
            )
        }
        EventKind::Finished(result) => format!("     {} finishes: {result}", who(e.session)),
    };
    (line, 1)
}
