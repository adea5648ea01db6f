//! Implementations as data: what an application does for each operation.
//!
//! Owns: the file format of a system's `implementations/*.toml`, its validation
//! (every error one line naming file, operation, step and field, found before
//! any connection is made) and the compiled per-operation scripts. Must not
//! know: connections, schedules, oracles.

mod file;
mod footprint;
mod rules;
pub mod touch;

pub(crate) use file::toml_error;
pub use footprint::Footprint;
pub use rules::{Isolation, Outcome, RowsMatcher, Then};

use crate::system::{SqlType, System};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ImplementationError {
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
    #[error("{file}: cannot read: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error(
        "unknown implementation {name}: name one of system {system}'s ({shipped}) or a .toml file"
    )]
    Unknown {
        name: String,
        system: String,
        shipped: String,
    },
}

/// An application's recorder, compiled from its file.
#[derive(Clone, Debug)]
pub struct Implementation {
    pub name: String,
    pub description: String,
    pub source: String,
    /// Where it was read from, as errors name it.
    pub label: String,
    /// Where it was read from, when it came from a file rather than the
    /// system's own set: what a counterexample needs to find it again.
    pub file: Option<ImplementationFile>,
    /// The system it implements.
    pub system: String,
    pub operations: BTreeMap<String, Script>,
}

/// An implementation file as it was when loaded: the path as given, the
/// same made absolute, and the sha256 of its bytes (so a replay can tell
/// that the file changed since a counterexample was saved).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImplementationFile {
    pub path: String,
    pub absolute: PathBuf,
    pub sha256: String,
}

/// Lowercase hex of the sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What one operation does: its statements in order, where its transaction
/// begins (it always ends after the last step), and its refusals.
#[derive(Clone, Debug)]
pub struct Script {
    pub steps: Vec<Step>,
    /// Index of the first step inside `BEGIN … COMMIT`; `None` = autocommit.
    pub transaction_from: Option<usize>,
    pub isolation: Isolation,
    pub refusals: Vec<Refusal>,
    /// Start the operation again after these errors, as applications do at
    /// SERIALIZABLE.
    pub retry: Option<Retry>,
}

/// `retry = { sqlstates = ["40001", "40P01"], attempts_max = 3 }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retry {
    pub sqlstates: Vec<String>,
    /// Attempts after the first.
    pub attempts_max: u8,
}

/// One statement a session sends, compiled: `:name` placeholders became
/// `$n::type` and `parameters` lists what to bind, in order.
#[derive(Clone, Debug)]
pub struct Step {
    pub name: String,
    pub sql: String,
    /// The tables it touches, for pruning schedules that only reorder
    /// statements that commute.
    pub footprint: Footprint,
    /// The rows it can reach, table by table, for the reduced exploration.
    pub touches: Vec<touch::Touch>,
    pub parameters: Vec<Parameter>,
    /// The value of the first column of the first row it returns is bound
    /// to this parameter for the steps after it.
    pub binds: Option<Parameter>,
    pub on_rows: Vec<(RowsMatcher, Then)>,
    pub on_error: Vec<(String, Then)>,
}

/// Application logic over arguments alone, checked before any statement
/// (e.g. "you cannot delete your current session").
#[derive(Clone, Debug)]
pub struct Refusal {
    pub equal: (String, String),
    pub outcome: Outcome,
}

/// A named value a step binds: `:name` in its SQL, cast to its type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parameter {
    pub name: String,
    pub sql_type: SqlType,
}

impl Implementation {
    /// One of the system's implementations by name, or a file by path.
    pub fn load(
        system: &System,
        name_or_path: &str,
    ) -> Result<Implementation, ImplementationError> {
        if let Some(file) = system.implementation_file(name_or_path) {
            let label = match &system.origin {
                crate::system::Origin::Shipped => {
                    format!("{}/{} (shipped)", system.name, file.path)
                }
                crate::system::Origin::Directory(dir) => dir.join(&file.path).display().to_string(),
            };
            return Implementation::parse(system, &label, &file.text);
        }
        let path = PathBuf::from(name_or_path);
        if path.extension().is_some_and(|e| e == "toml") || path.exists() {
            return Implementation::load_file(system, &path);
        }
        Err(ImplementationError::Unknown {
            name: crate::text::quoted(name_or_path),
            system: system.name.clone(),
            shipped: Implementation::names(system).join(", "),
        })
    }

    pub fn load_file(system: &System, path: &Path) -> Result<Implementation, ImplementationError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ImplementationError::Read {
            file: file.clone(),
            source,
        })?;
        let mut implementation = Implementation::parse(system, &file, &text)?;
        implementation.file = Some(ImplementationFile {
            path: file,
            absolute: std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
            sha256: sha256_hex(text.as_bytes()),
        });
        Ok(implementation)
    }

    /// The names of the system's own implementations.
    pub fn names(system: &System) -> Vec<String> {
        System::stems(&system.implementations)
    }

    /// Every implementation the system ships; they must all be valid.
    pub fn shipped(system: &System) -> Result<Vec<Implementation>, ImplementationError> {
        Implementation::names(system)
            .iter()
            .map(|name| Implementation::load(system, name))
            .collect()
    }

    pub fn parse(
        system: &System,
        file: &str,
        text: &str,
    ) -> Result<Implementation, ImplementationError> {
        let mut implementation =
            file::parse(system, text).map_err(|message| ImplementationError::Invalid {
                file: file.to_string(),
                message,
            })?;
        implementation.label = file.to_string();
        Ok(implementation)
    }

    /// What `--implementation` takes to load this one again: its file as
    /// given, or its name in its system.
    pub fn reference(&self) -> &str {
        self.file.as_ref().map_or(&self.name, |f| &f.path)
    }

    pub fn script(&self, kind: &str) -> Option<&Script> {
        self.operations.get(kind)
    }

    /// The same implementation with every transaction run at `isolation`.
    pub fn with_isolation(&self, isolation: Isolation) -> Implementation {
        let mut copy = self.clone();
        for script in copy.operations.values_mut() {
            script.isolation = isolation;
        }
        copy
    }

    /// Whether any operation runs statements inside a transaction, so other
    /// isolation levels can change its behaviour.
    pub fn uses_transactions(&self) -> bool {
        self.operations
            .values()
            .any(|s| s.transaction_from.is_some())
    }
}
