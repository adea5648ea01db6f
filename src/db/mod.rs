//! Everything that talks to PostgreSQL: the three ways to get a server, one
//! database per test or worker cloned from a schema template, session
//! connections, the blocked probe, seeding and snapshots.
//!
//! Owns: sqlx and testcontainers (no other module uses them), infrastructure
//! errors. Must not know: oracles, schedules, how outcomes are judged.

mod catalog;
mod container;
mod database;
mod local;
mod owner;
mod probe;
mod redact;
mod seed;
mod server;
mod session;
mod snapshot;
mod watchdog;

pub use catalog::UniqueKey;
pub use database::{Connector, Database};
pub use probe::Probe;
pub use redact::redact;
pub use seed::{Control, VACUUM_EVERY, harness_sql, quote_identifier, world_sql};
pub use server::{PgChoice, PgOptions, Server};
pub use session::{Session, SessionLimits, StepReply};
pub use snapshot::{RawRow, RawSnapshot, RawTombstone};

/// Every database, container and cluster directory of ours starts with this,
/// and nothing else is ever dropped or reaped.
pub const NAME_PREFIX: &str = "tombstone_harness_";

/// A problem with the infrastructure, never a finding about the system under
/// test: the run stops (exit 2) or the case is indeterminate.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{0}")]
    Unavailable(String),
    #[error("database connection: {0}")]
    Connection(String),
    #[error("database: {context}: {message}")]
    Query { context: String, message: String },
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    /// The system's files do not fit the schema they load (a usage error).
    #[error("{0}")]
    System(String),
}

impl DbError {
    pub(crate) fn query(context: impl Into<String>, error: sqlx::Error) -> DbError {
        match error {
            sqlx::Error::Database(e) => DbError::Query {
                context: context.into(),
                message: format!("{} ({})", e.message(), e.code().unwrap_or_default()),
            },
            other => DbError::Connection(format!(
                "{}: {}",
                context.into(),
                redact(&other.to_string())
            )),
        }
    }

    /// Whether the server or the connection went away (worth reconnecting),
    /// as opposed to the server refusing one of the harness's own queries,
    /// which reconnecting cannot fix: a run that reconnected on every case
    /// would report nothing and exit 0.
    pub fn is_lost(&self) -> bool {
        match self {
            DbError::Connection(_) | DbError::Io { .. } | DbError::Unavailable(_) => true,
            // Class 08 (connection exception) and 57 (operator intervention:
            // the server shutting down) come back as database errors.
            DbError::Query { message, .. } => {
                let code = message.rsplit_once('(').map_or("", |(_, code)| code);
                code.starts_with("08") || code.starts_with("57")
            }
            DbError::System(_) => false,
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> DbError {
        DbError::Io {
            context: context.into(),
            source,
        }
    }
}

#[cfg(test)]
mod loss_tests {
    use super::DbError;

    #[test]
    fn only_a_connection_gone_is_worth_reconnecting() {
        let query = |code: &str| DbError::Query {
            context: "reading the final tables".into(),
            message: format!("something ({code})"),
        };
        assert!(DbError::Connection("reset by peer".into()).is_lost());
        assert!(query("57P01").is_lost(), "terminated by an administrator");
        assert!(query("08006").is_lost(), "connection failure");
        assert!(
            !query("42P01").is_lost(),
            "a query the server refuses stays refused"
        );
        assert!(!DbError::System("no column".into()).is_lost());
    }
}
