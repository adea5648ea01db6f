//! Implementations as data: what an application does for each operation.
//!
//! Owns: the file format of `fixtures/implementations/*.toml`, its validation
//! (every error one line naming file, operation, step and field, found before
//! any connection is made) and the compiled per-operation scripts. Must not
//! know: connections, schedules, oracles.

mod file;
mod footprint;
mod rules;

pub use footprint::Footprint;
pub use rules::{Isolation, Outcome, RowsMatcher, Then};

use crate::operation::{OperationKind, Parameter};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The implementations shipped in `fixtures/implementations/`, embedded so
/// the binary works from any directory.
pub const SHIPPED: [(&str, &str); 3] = [
    (
        "stack-auth-pre-1466",
        include_str!("../../fixtures/implementations/stack-auth-pre-1466.toml"),
    ),
    (
        "stack-auth-post-1466",
        include_str!("../../fixtures/implementations/stack-auth-post-1466.toml"),
    ),
    (
        "atomic",
        include_str!("../../fixtures/implementations/atomic.toml"),
    ),
];

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
        "unknown implementation '{0}': name a shipped one (stack-auth-pre-1466, stack-auth-post-1466, atomic) or a .toml file"
    )]
    Unknown(String),
}

/// An application's recorder, compiled from its file.
#[derive(Clone, Debug)]
pub struct Implementation {
    pub name: String,
    pub description: String,
    pub source: String,
    /// Where it was read from, when it came from a file rather than the
    /// shipped set: what a counterexample needs to find it again.
    pub file: Option<ImplementationFile>,
    pub operations: BTreeMap<OperationKind, Script>,
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
    pub parameters: Vec<Parameter>,
    pub on_rows: Vec<(RowsMatcher, Then)>,
    pub on_error: Vec<(String, Then)>,
}

/// Application logic over arguments alone, checked before any statement
/// (e.g. "you cannot delete your current session").
#[derive(Clone, Debug)]
pub struct Refusal {
    pub equal: (Parameter, Parameter),
    pub outcome: Outcome,
}

impl Implementation {
    /// A shipped implementation by name, or a file by path.
    pub fn load(name_or_path: &str) -> Result<Implementation, ImplementationError> {
        if let Some((name, text)) = SHIPPED.iter().find(|(n, _)| *n == name_or_path) {
            return Implementation::parse(&format!("{name} (shipped)"), text);
        }
        let path = PathBuf::from(name_or_path);
        if path.extension().is_some_and(|e| e == "toml") || path.exists() {
            return Implementation::load_file(&path);
        }
        Err(ImplementationError::Unknown(crate::text::one_line(
            name_or_path,
        )))
    }

    pub fn load_file(path: &Path) -> Result<Implementation, ImplementationError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ImplementationError::Read {
            file: file.clone(),
            source,
        })?;
        let mut implementation = Implementation::parse(&file, &text)?;
        implementation.file = Some(ImplementationFile {
            path: file,
            absolute: std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
            sha256: sha256_hex(text.as_bytes()),
        });
        Ok(implementation)
    }

    pub fn shipped() -> Vec<Implementation> {
        SHIPPED
            .iter()
            .map(|(name, _)| Implementation::load(name).expect("shipped implementations are valid"))
            .collect()
    }

    pub fn parse(file: &str, text: &str) -> Result<Implementation, ImplementationError> {
        file::parse(text).map_err(|message| ImplementationError::Invalid {
            file: file.to_string(),
            message,
        })
    }

    /// What `--implementation` takes to load this one again: its file as
    /// given, or its shipped name.
    pub fn reference(&self) -> &str {
        self.file.as_ref().map_or(&self.name, |f| &f.path)
    }

    pub fn script(&self, kind: OperationKind) -> Option<&Script> {
        self.operations.get(&kind)
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
