//! A session: one connection, owned by its own task, that runs one statement
//! at a time. Sending returns at once, so the engine can ask the server who is
//! blocked while a statement waits on a lock.

use super::{Connector, DbError};
use crate::operation::Value;
use sqlx::postgres::PgConnection;
use sqlx::{AssertSqlSafe, Connection, Executor};
use tokio::sync::{mpsc, oneshot};

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

type Reply = Box<dyn FnOnce(StepReply) + Send>;

struct Request {
    sql: String,
    binds: Vec<Value>,
    reply: Reply,
}

pub struct Session {
    pub pid: i32,
    requests: mpsc::UnboundedSender<Request>,
    /// The `deadlock_timeout` last asked for, so switching modes costs one
    /// round trip and staying in one costs none.
    deadlock_timeout_ms: u64,
}

/// Limits every session runs under, so that no statement can hang a case.
#[derive(Clone, Copy, Debug)]
pub struct SessionLimits {
    pub statement_timeout_ms: u64,
    pub lock_timeout_ms: u64,
    /// How long a lock wait lasts before PostgreSQL looks for a deadlock.
    /// Scheduled runs raise it out of the way (the engine breaks cycles
    /// itself, deterministically); free-running ones lower it, since nothing
    /// else would break a cycle there. Only a superuser may change it;
    /// elsewhere the server's default (1 s) stays.
    pub deadlock_timeout_ms: u64,
}

impl Session {
    pub async fn open(
        connector: &Connector,
        name: &str,
        limits: SessionLimits,
    ) -> Result<Session, DbError> {
        let mut conn = connector.connect(name).await?;
        let settings = format!(
            "SET statement_timeout = {}; SET lock_timeout = {}",
            limits.statement_timeout_ms, limits.lock_timeout_ms
        );
        conn.execute(AssertSqlSafe(settings))
            .await
            .map_err(|e| DbError::query("session settings", e))?;
        let _ = conn
            .execute(AssertSqlSafe(deadlock_setting(limits.deadlock_timeout_ms)))
            .await;
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut conn)
            .await
            .map_err(|e| DbError::query("reading the backend pid", e))?;
        let (requests, receiver) = mpsc::unbounded_channel();
        tokio::spawn(serve(conn, receiver));
        Ok(Session {
            pid,
            requests,
            deadlock_timeout_ms: limits.deadlock_timeout_ms,
        })
    }

    /// Changes `deadlock_timeout` between cases (see `SessionLimits`); a
    /// refusal (not a superuser) leaves the server's default, as at open.
    pub async fn set_deadlock_timeout(&mut self, milliseconds: u64) -> Result<(), DbError> {
        if self.deadlock_timeout_ms == milliseconds {
            return Ok(());
        }
        if let StepReply::Lost(why) = self
            .execute(&deadlock_setting(milliseconds), Vec::new())
            .await
        {
            return Err(DbError::Connection(format!(
                "setting deadlock_timeout: {why}"
            )));
        }
        self.deadlock_timeout_ms = milliseconds;
        Ok(())
    }

    /// Sends a statement; `reply` runs when the server answers (or the
    /// connection is found broken).
    pub fn send_with(
        &self,
        sql: &str,
        binds: Vec<Value>,
        reply: impl FnOnce(StepReply) + Send + 'static,
    ) {
        let request = Request {
            sql: sql.to_string(),
            binds,
            reply: Box::new(reply),
        };
        if let Err(mpsc::error::SendError(request)) = self.requests.send(request) {
            (request.reply)(StepReply::Lost("session task ended".into()));
        }
    }

    /// Sends a statement and waits for its reply.
    pub async fn execute(&self, sql: &str, binds: Vec<Value>) -> StepReply {
        let (sender, receiver) = oneshot::channel();
        self.send_with(sql, binds, move |reply| {
            let _ = sender.send(reply);
        });
        receiver
            .await
            .unwrap_or_else(|_| StepReply::Lost("session task ended".into()))
    }
}

fn deadlock_setting(milliseconds: u64) -> String {
    format!("SET deadlock_timeout = '{milliseconds}ms'")
}

/// SQLSTATEs after which the connection is gone (class 08, and the
/// server's "terminating connection" family): a fault, never a finding.
fn connection_ended(sqlstate: &str) -> bool {
    sqlstate.starts_with("08") || matches!(sqlstate, "57P01" | "57P02" | "57P03")
}

async fn serve(mut conn: PgConnection, mut requests: mpsc::UnboundedReceiver<Request>) {
    while let Some(request) = requests.recv().await {
        let mut query = sqlx::query(AssertSqlSafe(request.sql));
        for value in request.binds {
            query = match value {
                Value::Uuid(u) => query.bind(u),
                Value::Text(t) => query.bind(t),
            };
        }
        let reply = match query.execute(&mut conn).await {
            Ok(done) => StepReply::Rows(done.rows_affected()),
            Err(sqlx::Error::Database(e)) => {
                let sqlstate = e.code().map(|c| c.to_string()).unwrap_or_default();
                if connection_ended(&sqlstate) {
                    StepReply::Lost(format!("{} ({sqlstate})", e.message()))
                } else {
                    StepReply::Error {
                        sqlstate,
                        message: e.message().to_string(),
                    }
                }
            }
            Err(other) => StepReply::Lost(super::redact(&other.to_string())),
        };
        let lost = matches!(reply, StepReply::Lost(_));
        (request.reply)(reply);
        if lost {
            break;
        }
    }
    let _ = conn.close().await;
}
