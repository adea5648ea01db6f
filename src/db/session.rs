//! A session: one connection, owned by its own task, that runs one statement
//! at a time. Sending returns at once, so the engine can ask the server who is
//! blocked while a statement waits on a lock.

use super::{Connector, DbError};
use crate::operation::Value;
use sqlx::postgres::PgConnection;
use sqlx::{AssertSqlSafe, Connection, Executor};
use tokio::sync::{mpsc, oneshot};

pub use crate::history::StepReply;

type Reply = Box<dyn FnOnce(StepReply, Option<Value>) + Send>;

struct Request {
    sql: String,
    binds: Vec<Option<Value>>,
    /// Read the rows and hand back the first column of the first one.
    capture: bool,
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
    /// connection is found broken), with the first column of the first row
    /// returned when `capture` asks for it (a `RETURNING` to bind).
    pub fn send_with(
        &self,
        sql: &str,
        binds: Vec<Option<Value>>,
        capture: bool,
        reply: impl FnOnce(StepReply, Option<Value>) + Send + 'static,
    ) {
        let request = Request {
            sql: sql.to_string(),
            binds,
            capture,
            reply: Box::new(reply),
        };
        if let Err(mpsc::error::SendError(request)) = self.requests.send(request) {
            (request.reply)(StepReply::Lost("session task ended".into()), None);
        }
    }

    /// Sends a statement and waits for its reply.
    pub async fn execute(&self, sql: &str, binds: Vec<Option<Value>>) -> StepReply {
        self.execute_capturing(sql, binds, false).await.0
    }

    /// Sends a statement and waits for its reply and, if `capture`, the
    /// first value it returned.
    pub async fn execute_capturing(
        &self,
        sql: &str,
        binds: Vec<Option<Value>>,
        capture: bool,
    ) -> (StepReply, Option<Value>) {
        let (sender, receiver) = oneshot::channel();
        self.send_with(sql, binds, capture, move |reply, value| {
            let _ = sender.send((reply, value));
        });
        receiver
            .await
            .unwrap_or_else(|_| (StepReply::Lost("session task ended".into()), None))
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

/// The first column of a returned row, as whichever type it has.
fn first_value(row: &sqlx::postgres::PgRow) -> Option<Value> {
    use sqlx::Row;
    if let Ok(u) = row.try_get::<uuid::Uuid, _>(0) {
        return Some(Value::Uuid(u));
    }
    if let Ok(t) = row.try_get::<String, _>(0) {
        return Some(Value::Text(t));
    }
    if let Ok(i) = row.try_get::<i64, _>(0) {
        return Some(Value::Int(i));
    }
    row.try_get::<i32, _>(0).ok().map(|i| Value::Int(i.into()))
}

async fn run_one(
    conn: &mut PgConnection,
    sql: String,
    binds: Vec<Option<Value>>,
    capture: bool,
) -> Result<(u64, Option<Value>), sqlx::Error> {
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for value in binds {
        query = match value {
            Some(Value::Uuid(u)) => query.bind(u),
            Some(Value::Text(t)) => query.bind(t),
            Some(Value::Int(i)) => query.bind(i),
            None => query.bind(None::<String>),
        };
    }
    if capture {
        let rows = query.fetch_all(&mut *conn).await?;
        Ok((rows.len() as u64, rows.first().and_then(first_value)))
    } else {
        Ok((query.execute(&mut *conn).await?.rows_affected(), None))
    }
}

async fn serve(mut conn: PgConnection, mut requests: mpsc::UnboundedReceiver<Request>) {
    while let Some(request) = requests.recv().await {
        let mut captured = None;
        let reply = match run_one(&mut conn, request.sql, request.binds, request.capture).await {
            Ok((rows, value)) => {
                captured = value;
                StepReply::Rows(rows)
            }
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
        (request.reply)(reply, captured);
        if lost {
            break;
        }
    }
    let _ = conn.close().await;
}
