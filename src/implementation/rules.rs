//! The small rule language of implementation files: how rows-affected counts
//! and SQLSTATEs become the outcome a client sees.

pub use crate::history::Outcome;
use crate::text::quoted;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a matching rule does: go on to the next step, or end the operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Then {
    Continue,
    Finish(Outcome),
}

impl Then {
    pub fn parse(text: &str) -> Result<Then, String> {
        if text.trim() == "continue" {
            Ok(Then::Continue)
        } else {
            Outcome::parse(text).map(Then::Finish)
        }
    }
}

/// A condition on the number of rows a statement affected or returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowsMatcher {
    Exactly(u64),
    MoreThan(u64),
    Not(u64),
}

impl RowsMatcher {
    pub fn parse(text: &str) -> Result<RowsMatcher, String> {
        let text = text.trim();
        let number = |s: &str| {
            s.trim().parse::<u64>().map_err(|_| {
                format!("{} is not a row count condition: write N, >N or !=N (e.g. \"0\", \">1\", \"!=1\")", quoted(text))
            })
        };
        if let Some(rest) = text.strip_prefix("!=") {
            Ok(RowsMatcher::Not(number(rest)?))
        } else if let Some(rest) = text.strip_prefix('>') {
            Ok(RowsMatcher::MoreThan(number(rest)?))
        } else {
            Ok(RowsMatcher::Exactly(number(text)?))
        }
    }

    pub fn matches(self, rows: u64) -> bool {
        match self {
            RowsMatcher::Exactly(n) => rows == n,
            RowsMatcher::MoreThan(n) => rows > n,
            RowsMatcher::Not(n) => rows != n,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Isolation {
    ReadCommitted,
    RepeatableRead,
    Serializable,
}

impl Isolation {
    pub const ALL: [Isolation; 3] = [
        Isolation::ReadCommitted,
        Isolation::RepeatableRead,
        Isolation::Serializable,
    ];

    pub fn sql(self) -> &'static str {
        match self {
            Isolation::ReadCommitted => "READ COMMITTED",
            Isolation::RepeatableRead => "REPEATABLE READ",
            Isolation::Serializable => "SERIALIZABLE",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Isolation::ReadCommitted => "read-committed",
            Isolation::RepeatableRead => "repeatable-read",
            Isolation::Serializable => "serializable",
        }
    }

    /// Accepts `read-committed`, `read committed` and `READ COMMITTED`.
    pub fn parse(text: &str) -> Result<Isolation, String> {
        let normal = text.trim().to_ascii_lowercase().replace([' ', '_'], "-");
        Isolation::ALL
            .into_iter()
            .find(|i| i.name() == normal)
            .ok_or_else(|| {
                format!(
                    "{} is not an isolation level: read-committed, repeatable-read or serializable",
                    quoted(text)
                )
            })
    }
}

impl fmt::Display for Isolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_matchers() {
        assert!(RowsMatcher::parse("0").unwrap().matches(0));
        assert!(RowsMatcher::parse(">1").unwrap().matches(2));
        assert!(!RowsMatcher::parse(">1").unwrap().matches(1));
        assert!(RowsMatcher::parse("!=1").unwrap().matches(0));
        assert!(RowsMatcher::parse("one").is_err());
    }

    #[test]
    fn outcomes() {
        let o = Outcome::parse("401 REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED").unwrap();
        assert_eq!(
            (o.status, o.reason.as_str()),
            (401, "REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED")
        );
        assert_eq!(Then::parse("continue").unwrap(), Then::Continue);
        assert!(Then::parse("maybe").is_err());
        assert!(Outcome::parse("999 nope").is_err());
    }

    #[test]
    fn isolation_spellings() {
        assert_eq!(
            Isolation::parse("READ COMMITTED").unwrap(),
            Isolation::ReadCommitted
        );
        assert_eq!(
            Isolation::parse("serializable").unwrap(),
            Isolation::Serializable
        );
        assert!(Isolation::parse("snapshot").is_err());
    }
}
