//! The control connection: asks the server which of our sessions wait on a
//! lock held by another of ours (the isolation tester's method). Waits on
//! backends that are not ours (autovacuum, a user's psql) are ignored, so they
//! show as a slow step, not as a blocked one.

use super::{Connector, DbError};
use sqlx::postgres::PgConnection;
use std::collections::BTreeMap;

pub struct Probe {
    conn: PgConnection,
}

impl Probe {
    pub async fn open(connector: &Connector) -> Result<Probe, DbError> {
        // Autocommit: inside a transaction pg_stat_activity would look stale.
        Ok(Probe {
            conn: connector.connect("harness-probe").await?,
        })
    }

    /// For each of `asked`, the sessions among `ours` that block it (empty:
    /// not blocked by us). A second waiter in a lock queue names the waiter
    /// ahead of it, not the holder; both are ours, so it still counts.
    pub async fn blockers(
        &mut self,
        asked: &[i32],
        ours: &[i32],
    ) -> Result<BTreeMap<i32, Vec<i32>>, DbError> {
        let rows: Vec<(i32, Vec<i32>)> =
            sqlx::query_as("SELECT pid, pg_blocking_pids(pid) FROM unnest($1::int[]) AS pid")
                .bind(asked)
                .fetch_all(&mut self.conn)
                .await
                .map_err(|e| DbError::query("probing for blocked sessions", e))?;
        Ok(rows
            .into_iter()
            .map(|(pid, blockers)| {
                (
                    pid,
                    blockers.into_iter().filter(|b| ours.contains(b)).collect(),
                )
            })
            .collect())
    }

    /// Cancels a session's statement: how the engine breaks a deadlock cycle
    /// with a victim it chose, instead of one chosen by timing.
    pub async fn cancel(&mut self, pid: i32) -> Result<(), DbError> {
        sqlx::query("SELECT pg_cancel_backend($1)")
            .bind(pid)
            .execute(&mut self.conn)
            .await
            .map_err(|e| DbError::query("cancelling a session", e))?;
        Ok(())
    }

    /// Ends a session's connection (fault injection).
    pub async fn terminate(&mut self, pid: i32) -> Result<(), DbError> {
        sqlx::query("SELECT pg_terminate_backend($1)")
            .bind(pid)
            .execute(&mut self.conn)
            .await
            .map_err(|e| DbError::query("terminating a session", e))?;
        Ok(())
    }
}
