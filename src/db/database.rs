//! One database of ours on a server: how to reach it, and dropping it (only
//! when its owner marker is still ours).

use super::DbError;
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
