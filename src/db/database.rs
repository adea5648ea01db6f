//! One database of ours on a server: how to reach it, dropping it (only
//! when its owner mark is still ours), and reaping those of dead runs.

use super::owner::{Liveness, Owner};
use super::{DbError, NAME_PREFIX};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{AssertSqlSafe, Connection, Executor};

/// How to reach one database; cheap to clone, owns no connection.
#[derive(Clone, Debug)]
pub struct Connector {
    options: PgConnectOptions,
    pub database: String,
}

impl Connector {
    /// A connection whose `application_name` is `name` (for sessions, the
    /// operation id that every tombstone records).
    pub async fn connect(&self, name: &str) -> Result<PgConnection, DbError> {
        PgConnection::connect_with(&self.options.clone().application_name(name))
            .await
            .map_err(|e| DbError::query(format!("connecting to {}", self.database), e))
    }
}

/// One database of ours; dropped when this value is.
pub struct Database {
    pub name: String,
    options: PgConnectOptions,
    admin: PgConnectOptions,
    owner: String,
    dropped: bool,
}

impl Database {
    /// A database `name` on the server `admin` reaches, marked by `owner`.
    pub(super) fn new(name: String, admin: PgConnectOptions, owner: String) -> Database {
        Database {
            options: admin.clone().database(&name),
            admin,
            owner,
            name,
            dropped: false,
        }
    }

    /// What engines and sessions need to open connections to this database.
    pub fn connector(&self) -> Connector {
        Connector {
            options: self.options.clone(),
            database: self.name.clone(),
        }
    }

    pub async fn connect(&self, application_name: &str) -> Result<PgConnection, DbError> {
        self.connector().connect(application_name).await
    }

    /// Leaves the database to whatever removes the whole server (a local
    /// cluster or a container is about to go, databases and all).
    pub(super) fn leave(&mut self) {
        self.dropped = true;
    }

    /// Drops the database if its marker is still ours.
    pub async fn drop_database(mut self) -> Result<(), DbError> {
        self.dropped = true;
        drop_if_ours(&self.admin, &self.name, &self.owner).await
    }
}

async fn drop_if_ours(admin: &PgConnectOptions, name: &str, owner: &str) -> Result<(), DbError> {
    let mut conn = PgConnection::connect_with(admin)
        .await
        .map_err(|e| DbError::query("connecting to drop a database", e))?;
    let comment: Option<String> = sqlx::query_scalar(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
    )
    .bind(name)
    .fetch_optional(&mut conn)
    .await
    .map_err(|e| DbError::query("reading a database marker", e))?
    .flatten();
    if comment.as_deref() == Some(owner) {
        let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
        conn.execute(AssertSqlSafe(drop))
            .await
            .map_err(|e| DbError::query(format!("dropping {name}"), e))?;
    }
    let _ = conn.close().await;
    Ok(())
}

impl Drop for Database {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        self.dropped = true;
        // Drop cannot await; a short-lived runtime on its own thread works
        // whether or not the caller is inside one.
        let (admin, name, owner) = (self.admin.clone(), self.name.clone(), self.owner.clone());
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                let _ = runtime.block_on(drop_if_ours(&admin, &name, &owner));
            }
        })
        .join();
    }
}

/// Drops databases of ours whose owner is dead: the name prefix, a mark we
/// can read naming this host, and a pid that is gone. Unmarked databases,
/// other hosts' and live owners' (EPERM included) are never touched.
/// Returns one line for each thing that could not be reaped.
pub(super) async fn reap(admin: &PgConnectOptions) -> Vec<String> {
    let mut conn = match PgConnection::connect_with(admin).await {
        Ok(conn) => conn,
        Err(e) => {
            return vec![format!(
                "reaping skipped: {}",
                DbError::query("connecting", e)
            )];
        }
    };
    let pattern = format!("{}%", NAME_PREFIX.replace('_', "\\_"));
    let rows: Vec<(String, Option<String>)> = match sqlx::query_as(
        "SELECT datname::text, shobj_description(oid, 'pg_database') FROM pg_database WHERE datname LIKE $1 ORDER BY 1",
    )
    .bind(pattern)
    .fetch_all(&mut conn)
    .await
    {
        Ok(rows) => rows,
        Err(e) => return vec![format!("reaping skipped: {}", DbError::query("listing databases", e))],
    };
    let mut warnings = Vec::new();
    for (name, mark) in rows {
        let Some(owner) = mark.as_deref().and_then(Owner::parse_mark) else {
            continue;
        };
        if owner.liveness() != Liveness::Dead {
            continue;
        }
        let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
        if let Err(e) = conn.execute(AssertSqlSafe(drop)).await {
            warnings.push(format!(
                "could not reap database {name} left by dead run {}:{}: {}",
                owner.host,
                owner.pid,
                DbError::query("drop", e)
            ));
        }
    }
    let _ = conn.close().await;
    warnings
}
