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

pub const FORMAT: &str = "tombstone-harness counterexample v1";

/// What a violation named when the file was saved; replay checks it again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expected {
    pub invariant: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anomaly: Option<String>,
    pub operations: Vec<String>,
    pub rows: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counterexample {
    pub format: String,
    /// A shipped implementation's name, an implementation's `name` field, or
    /// (in files saved before `implementation_file` existed) a file's path.
    pub implementation: String,
    /// Where an implementation that is not shipped was read from, and the
    /// hash of its bytes then. Optional, so older files still read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implementation_file: Option<ImplementationFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolation: Option<Isolation>,
    pub case: Case,
    pub schedule: Schedule,
    pub expected: Vec<Expected>,
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
                anomaly: v.anomaly.map(|a| a.to_string()),
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
        let implementation = match (asked, &self.implementation_file) {
            (Some(asked), _) => Implementation::load(asked)?,
            (None, Some(recorded)) => {
                load_recorded(&file.display().to_string(), &self.implementation, recorded)?
            }
            (None, None) => Implementation::load(&self.implementation)?,
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
        let counterexample: Counterexample =
            serde_json::from_value(value).map_err(|e| invalid(e.to_string()))?;
        counterexample.case.validate().map_err(invalid)?;
        Ok(counterexample)
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
            .map(|o| o.action.kind().to_string())
            .collect();
        let body = serde_json::to_string(&(&self.case, &self.schedule, &self.implementation))
            .unwrap_or_default();
        let hash = body.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        });
        let stem = Path::new(&self.implementation)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("implementation");
        let anomalies = if anomalies.is_empty() {
            "X".into()
        } else {
            anomalies.join("")
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
        let text =
            serde_json::to_string_pretty(self).expect("a counterexample always serializes") + "\n";
        std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(&path, text))
            .map_err(|source| CounterexampleError::Read { file, source })?;
        Ok(path)
    }
}

/// The recorded implementation file, wherever it still is unchanged.
fn load_recorded(
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
            return Ok(Implementation::load_file(candidate)?);
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
    if history.snapshot.tombstones.is_empty() {
        out.push_str(" none");
    }
    for t in &history.snapshot.tombstones {
        let writer = t
            .writer
            .map(|w| w.to_string())
            .unwrap_or_else(|| "unknown".into());
        out.push_str(&format!(" {} (by {writer});", t.row));
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
        format!("{s} {} {}", op.id, op.action.kind())
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
