//! Choosing and starting a PostgreSQL server, and cutting per-test databases
//! from a template that holds the schema.

use super::container::{self, Container};
use super::database::{self, Database};
use super::local::{self, LocalCluster};
use super::owner::Owner;
use super::{DbError, NAME_PREFIX, redact};
use crate::system::System;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{AssertSqlSafe, Connection, Executor};
use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How to get PostgreSQL (`--pg`, env `TOMBSTONE_PG`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PgChoice {
    /// url if one is given, else container if Docker answers and the image is
    /// present, else a local cluster if PostgreSQL's binaries are found.
    Auto,
    Container,
    Local,
    Url,
}

impl PgChoice {
    pub const ALL: [(&'static str, PgChoice); 4] = [
        ("auto", PgChoice::Auto),
        ("container", PgChoice::Container),
        ("local", PgChoice::Local),
        ("url", PgChoice::Url),
    ];

    /// `auto`, `container`, `local` or `url`, in any case.
    pub fn parse(text: &str) -> Option<PgChoice> {
        let text = text.trim().to_ascii_lowercase();
        PgChoice::ALL
            .iter()
            .find(|(n, _)| *n == text)
            .map(|(_, c)| *c)
    }
}

#[derive(Clone, Debug)]
pub struct PgOptions {
    pub choice: PgChoice,
    /// `--pg-url`, env `DATABASE_URL`.
    pub url: Option<String>,
    /// `--pg-image`, env `TOMBSTONE_PG_IMAGE`; default `postgres:15`.
    pub image: String,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            choice: PgChoice::Auto,
            url: None,
            image: container::DEFAULT_IMAGE.into(),
        }
    }
}

impl PgOptions {
    /// The options the environment asks for, as the CLI and the tests read them.
    pub fn from_env() -> Result<PgOptions, DbError> {
        let choice = match std::env::var("TOMBSTONE_PG") {
            Ok(value) => PgChoice::parse(&value).ok_or_else(|| {
                DbError::Unavailable(format!(
                    "TOMBSTONE_PG='{value}' is not one of auto, container, local, url"
                ))
            })?,
            Err(_) => PgChoice::Auto,
        };
        Ok(PgOptions {
            choice,
            url: std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()),
            image: std::env::var("TOMBSTONE_PG_IMAGE")
                .unwrap_or_else(|_| container::DEFAULT_IMAGE.into()),
        })
    }
}

enum Backend {
    Local(LocalCluster),
    Container(Box<Container>),
    Url,
}

/// One PostgreSQL server per process; every test or worker gets its own
/// database from it.
pub struct Server {
    // Declared before `backend`, so they are dropped while the server still
    // runs: one template per system, made when a system first asks.
    templates: tokio::sync::Mutex<BTreeMap<String, Database>>,
    backend: Backend,
    admin: PgConnectOptions,
    owner: Owner,
    next_database: AtomicU32,
    description: String,
    warnings: Vec<String>,
}

impl Server {
    pub async fn start(options: &PgOptions) -> Result<Server, DbError> {
        let choice = match options.choice {
            PgChoice::Auto => auto_choice(options)?,
            other => other,
        };
        let (backend, admin) = match choice {
            PgChoice::Url => {
                let url = options.url.as_deref().ok_or_else(|| {
                    DbError::Unavailable("--pg url needs --pg-url or DATABASE_URL".into())
                })?;
                let admin = PgConnectOptions::from_str(url).map_err(|e| {
                    DbError::Unavailable(format!(
                        "--pg-url {}: {}",
                        redact(url),
                        redact(&e.to_string())
                    ))
                })?;
                (Backend::Url, admin)
            }
            PgChoice::Container => {
                let (container, admin) = container::start(&options.image).await?;
                (Backend::Container(Box::new(container)), admin)
            }
            PgChoice::Local | PgChoice::Auto => {
                let bin = local::find_bin_dir().ok_or_else(|| {
                    DbError::Unavailable(
                        "--pg local: no PostgreSQL server binaries found (set TOMBSTONE_PG_BIN or install postgresql)".into(),
                    )
                })?;
                let (cluster, admin) = local::start(&bin)?;
                (Backend::Local(cluster), admin)
            }
        };
        let mut server = Server {
            templates: tokio::sync::Mutex::new(BTreeMap::new()),
            backend,
            admin,
            owner: Owner::new_run(),
            next_database: AtomicU32::new(0),
            description: String::new(),
            warnings: Vec::new(),
        };
        // A url names a server that is already up: fail fast. A container
        // runs initdb first; a local cluster only copies a template.
        let patience = match server.backend {
            Backend::Url => Duration::from_secs(3),
            Backend::Local(_) => Duration::from_secs(30),
            Backend::Container(_) => Duration::from_secs(90),
        };
        let version = server.wait_ready(patience).await?;
        server.description = server.describe(&version);
        server.warnings = database::reap(&server.admin).await;
        Ok(server)
    }

    /// What could not be cleaned up at start (e.g. a dead run's database we
    /// may not drop), one line each, for the caller to show.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The random id in the names of this server's databases and in their
    /// owner marks.
    pub fn run_id(&self) -> &str {
        &self.owner.run
    }

    /// What was chosen, without credentials: printed once per process.
    pub fn description(&self) -> &str {
        &self.description
    }

    fn describe(&self, version: &str) -> String {
        match &self.backend {
            Backend::Local(c) => format!("local cluster at {} ({version})", c.dir.display()),
            Backend::Container(c) => format!(
                "container {} from image {} ({version})",
                &c.id[..12.min(c.id.len())],
                c.image
            ),
            Backend::Url => format!(
                "url {}:{} ({version})",
                self.admin.get_host(),
                self.admin.get_port()
            ),
        }
    }

    pub fn local_cluster(&self) -> Option<&LocalCluster> {
        match &self.backend {
            Backend::Local(c) => Some(c),
            _ => None,
        }
    }

    /// Kills the server abruptly (fault injection): SIGKILL to a local
    /// postmaster, `docker kill` for a container. A url server is not ours.
    pub fn kill(&self) -> bool {
        match &self.backend {
            Backend::Local(cluster) => cluster.postmaster_pid().is_some_and(|pid| {
                // SAFETY: plain kill(2) of our own cluster's postmaster.
                unsafe { libc::kill(pid, libc::SIGKILL) == 0 }
            }),
            Backend::Container(container) => container.kill(),
            Backend::Url => false,
        }
    }

    pub fn container_id(&self) -> Option<&str> {
        match &self.backend {
            Backend::Container(c) => Some(&c.id),
            _ => None,
        }
    }

    pub async fn admin_connection(&self) -> Result<PgConnection, DbError> {
        PgConnection::connect_with(&self.admin)
            .await
            .map_err(|e| DbError::query("connecting to the server", e))
    }

    /// Polls with a real query: a server that printed "ready" may still be
    /// about to restart, and a local cluster may still be copying its files.
    async fn wait_ready(&mut self, limit: Duration) -> Result<String, DbError> {
        let started = Instant::now();
        loop {
            let error = match PgConnection::connect_with(&self.admin).await {
                Ok(mut conn) => match sqlx::query_scalar::<_, String>("SELECT version()")
                    .fetch_one(&mut conn)
                    .await
                {
                    Ok(v) => return Ok(v.split(" on ").next().unwrap_or(&v).to_string()),
                    Err(e) => e.to_string(),
                },
                Err(e) => e.to_string(),
            };
            let gave_up = started.elapsed() > limit;
            if let Backend::Local(cluster) = &mut self.backend
                && (gave_up || !cluster.may_come_up())
            {
                return Err(DbError::Unavailable(format!(
                    "--pg local: the cluster did not start: {}",
                    cluster.log_tail()
                )));
            }
            if gave_up {
                return Err(DbError::Unavailable(format!(
                    "PostgreSQL did not accept a query within {}s: {}",
                    limit.as_secs(),
                    redact(&error)
                )));
            }
            // Readiness polling, not synchronisation: nothing else can be
            // waited on until the server listens.
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The system's schema and the harness's additions, loaded once per
    /// system; every database is cloned from it. The name holds the random
    /// run id, so it never collides with anyone's, and nothing that already
    /// exists is dropped to make room.
    async fn create_template(&self, system: &System, index: usize) -> Result<Database, DbError> {
        let name = format!("{NAME_PREFIX}{}_template{index}", self.owner.run);
        let mut admin = self.admin_connection().await?;
        self.create_marked(&mut admin, &name, None).await?;
        let _ = admin.close().await;
        let template = Database::new(name, self.admin.clone(), self.owner.mark());
        let mut conn = template.connect("tombstone-harness template").await?;
        conn.execute(sqlx::raw_sql(AssertSqlSafe(system.schema_sql.clone())))
            .await
            .map_err(|e| {
                let why = DbError::query("", e).to_string();
                DbError::System(format!(
                    "{}: the schema does not load: {}",
                    system.label(),
                    why.trim_start_matches("database: : ")
                ))
            })?;
        let columns: Vec<(String, String)> = sqlx::query_as(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = ANY (current_schemas(false))",
        )
        .fetch_all(&mut conn)
        .await
        .map_err(|e| DbError::query("reading the schema's columns", e))?;
        system
            .check_schema(&columns)
            .map_err(|e| DbError::System(format!("{}/system.toml: {e}", system.label())))?;
        conn.execute(sqlx::raw_sql(AssertSqlSafe(crate::db::harness_sql(system))))
            .await
            .map_err(|e| {
                DbError::query(
                    format!(
                        "adding the harness's columns to system {}'s tombstone tables",
                        system.name
                    ),
                    e,
                )
            })?;
        // A template must have no connections while it is cloned.
        conn.close()
            .await
            .map_err(|e| DbError::query("closing the template", e))?;
        Ok(template)
    }

    /// The name of `system`'s template, made the first time it is asked for.
    async fn template_of(&self, system: &System) -> Result<String, DbError> {
        let mut templates = self.templates.lock().await;
        let key = system.reference_name();
        if let Some(template) = templates.get(&key) {
            return Ok(template.name.clone());
        }
        let template = self.create_template(system, templates.len()).await?;
        let name = template.name.clone();
        templates.insert(key, template);
        Ok(name)
    }

    async fn create_marked(
        &self,
        admin: &mut PgConnection,
        name: &str,
        template: Option<&str>,
    ) -> Result<(), DbError> {
        let from = template
            .map(|t| format!(" TEMPLATE \"{t}\""))
            .unwrap_or_default();
        let create = format!("CREATE DATABASE \"{name}\"{from}");
        admin
            .execute(AssertSqlSafe(create))
            .await
            .map_err(|e| DbError::query(format!("creating database {name}"), e))?;
        let comment = format!(
            "COMMENT ON DATABASE \"{name}\" IS '{}'",
            self.owner.mark().replace('\'', "''")
        );
        admin
            .execute(AssertSqlSafe(comment))
            .await
            .map_err(|e| DbError::query("marking a database", e))?;
        Ok(())
    }

    /// A fresh database holding the system's schema and nothing else.
    pub async fn create_database(&self, system: &System) -> Result<Database, DbError> {
        let template = self.template_of(system).await?;
        let n = self.next_database.fetch_add(1, Ordering::Relaxed);
        let name = format!("{NAME_PREFIX}{}_{n}", self.owner.run);
        let mut admin = self.admin_connection().await?;
        self.create_marked(&mut admin, &name, Some(&template))
            .await?;
        let _ = admin.close().await;
        Ok(Database::new(name, self.admin.clone(), self.owner.mark()))
    }
}

impl Drop for Server {
    /// On a url server the template is dropped with us (if its mark is still
    /// ours); a cluster or container takes it along when it goes.
    fn drop(&mut self) {
        if !matches!(self.backend, Backend::Url) {
            for template in self.templates.get_mut().values_mut() {
                template.leave();
            }
        }
    }
}

fn auto_choice(options: &PgOptions) -> Result<PgChoice, DbError> {
    if options.url.is_some() {
        return Ok(PgChoice::Url);
    }
    if container::docker_answers() && container::image_present(&options.image) {
        return Ok(PgChoice::Container);
    }
    if local::find_bin_dir().is_some() {
        return Ok(PgChoice::Local);
    }
    Err(DbError::Unavailable(format!(
        "no PostgreSQL to use: give --pg-url/DATABASE_URL (url), start Docker with image {} present (container; `make pg-image` builds one), or install PostgreSQL's server binaries (local)",
        options.image
    )))
}
