//! A server shared with a database administrator (`--pg url`): the test owns
//! a real second PostgreSQL as "the DBA's", fills it with databases named like
//! ours, and runs the harness against it through the library and the CLI.
//! Nothing of the DBA's is touched, nothing of a run is left behind, a reap
//! that may not drop says so, and no credential is printed or stored.

mod common;

use common::sign_out_works_on;
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output};
use tombstone_harness::db::{PgChoice, PgOptions, Server};

/// The DBA's server: a local cluster the test starts, used only by url.
struct Dba {
    _cluster: Server,
    socket: String,
}

impl Dba {
    async fn start() -> Dba {
        let options = PgOptions {
            choice: PgChoice::Local,
            url: None,
            image: String::new(),
        };
        let cluster = Server::start(&options).await.unwrap();
        let socket = cluster.local_cluster().unwrap().dir.display().to_string();
        Dba {
            _cluster: cluster,
            socket,
        }
    }

    fn url(&self, user: &str, database: &str) -> String {
        format!(
            "postgres://{user}@localhost:5432/{database}?host={}",
            self.socket
        )
    }

    fn options(&self, user: &str) -> PgOptions {
        PgOptions {
            choice: PgChoice::Url,
            url: Some(self.url(user, "postgres")),
            image: String::new(),
        }
    }

    async fn execute(&self, database: &str, statements: &[String]) {
        let mut conn = PgConnection::connect(&self.url("postgres", database))
            .await
            .unwrap();
        for statement in statements {
            sqlx::query(AssertSqlSafe(statement.clone()))
                .execute(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
    }

    /// A database of the DBA's with a canary table, marked as `mark` says.
    async fn canary(&self, name: &str, mark: Option<&str>) {
        let mut statements = vec![format!("CREATE DATABASE \"{name}\"")];
        if let Some(mark) = mark {
            statements.push(format!("COMMENT ON DATABASE \"{name}\" IS '{mark}'"));
        }
        self.execute("postgres", &statements).await;
        let table = "CREATE TABLE canary AS SELECT 'tweet' AS song".to_string();
        self.execute(name, &[table]).await;
    }

    async fn canary_sings(&self, name: &str) -> bool {
        let Ok(mut conn) = PgConnection::connect(&self.url("postgres", name)).await else {
            return false;
        };
        sqlx::query_scalar::<_, String>("SELECT song FROM canary")
            .fetch_one(&mut conn)
            .await
            .is_ok_and(|song| song == "tweet")
    }

    async fn harness_databases(&self) -> BTreeSet<String> {
        let mut conn = PgConnection::connect(&self.url("postgres", "postgres"))
            .await
            .unwrap();
        sqlx::query_scalar(
            "SELECT datname::text FROM pg_database WHERE datname LIKE 'tombstone\\_harness\\_%'",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .collect()
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string()
}

/// An owner mark as the harness writes it; without a run id as older
/// versions wrote it (and as today's still honour).
fn mark(host: &str, pid: u32, run: &str) -> String {
    match run {
        "" => format!("tombstone-harness owner={host}:{pid}"),
        run => format!("tombstone-harness owner={host}:{pid} run={run}"),
    }
}

/// A pid no process has: the owner of a leftover from a killed run.
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

/// Databases named as ours used to be (by pid), unmarked or marked by a run
/// on another host with the same pid: none may be touched.
async fn lookalikes(dba: &Dba, pid: u32) -> Vec<String> {
    let names = [
        (format!("tombstone_harness_{pid}_template"), None),
        (format!("tombstone_harness_{pid}_0"), None),
        (
            format!("tombstone_harness_{pid}_1"),
            Some(mark("ci-container-2", pid, "")),
        ),
        (
            "tombstone_harness_elsewhere_template".to_string(),
            Some(mark("ci-container-2", dead_pid(), "feedbeef0000")),
        ),
    ];
    for (name, mark) in &names {
        dba.canary(name, mark.as_deref()).await;
    }
    names.into_iter().map(|(name, _)| name).collect()
}

#[tokio::test]
async fn a_run_keeps_every_database_it_did_not_mark_and_leaves_none_of_its_own() {
    let dba = Dba::start().await;
    let canaries = lookalikes(&dba, std::process::id()).await;
    let before = dba.harness_databases().await;
    let server = Server::start(&dba.options("postgres")).await.unwrap();
    sign_out_works_on(&server).await;
    assert!(server.warnings().is_empty(), "{:?}", server.warnings());
    drop(server);
    for name in &canaries {
        assert!(dba.canary_sings(name).await, "{name} was touched");
    }
    assert_eq!(dba.harness_databases().await, before, "left behind or lost");
}

#[tokio::test]
async fn two_runs_with_one_pid_on_one_server_keep_to_their_own_databases() {
    let dba = Dba::start().await;
    let first = Server::start(&dba.options("postgres")).await.unwrap();
    let kept = first.create_database(&common::stack()).await.unwrap();
    // Same host and pid, as two CI containers with pid 7 would look by pid.
    let second = Server::start(&dba.options("postgres")).await.unwrap();
    let other = second.create_database(&common::stack()).await.unwrap();
    assert_ne!(kept.name, other.name);
    other.drop_database().await.unwrap();
    drop(second);
    sign_out_works_on(&first).await;
    assert!(dba.harness_databases().await.contains(&kept.name));
    kept.drop_database().await.unwrap();
}

#[tokio::test]
async fn a_reap_that_may_not_drop_says_so_and_drops_nothing() {
    let dba = Dba::start().await;
    dba.execute(
        "postgres",
        &["CREATE ROLE harness LOGIN CREATEDB".to_string()],
    )
    .await;
    // A dead run's leftover, but owned by the DBA: `harness` may not drop it.
    let name = "tombstone_harness_0123456789ab_template";
    let dead = mark(&hostname(), dead_pid(), "0123456789ab");
    dba.canary(name, Some(&dead)).await;
    let server = Server::start(&dba.options("harness")).await.unwrap();
    let warnings = server.warnings().join("\n");
    assert!(
        warnings.contains(name) && warnings.contains("must be owner"),
        "{warnings:?}"
    );
    sign_out_works_on(&server).await;
    drop(server);
    assert!(dba.canary_sings(name).await);

    let output = harness(&dba.url("harness", "postgres"), &[])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let line = stderr.lines().find(|l| l.starts_with("warning: "));
    assert!(
        line.is_some_and(|l| l.contains(name) && l.contains("must be owner")),
        "{stderr}"
    );
}

/// `stress` on the url, a few cases of one implementation.
fn harness(url: &str, extra: &[&str]) -> Command {
    harness_from(
        Path::new(env!("CARGO_BIN_EXE_tombstone-harness")),
        url,
        extra,
    )
}

fn harness_from(binary: &Path, url: &str, extra: &[&str]) -> Command {
    let mut command = Command::new(binary);
    command
        .args(["--pg", "url", "--pg-url", url, "stress", "--cases", "3"])
        .args(["-i", "atomic", "--jobs", "1"])
        .args(extra)
        .env_remove("DATABASE_URL")
        .env_remove("TOMBSTONE_PG");
    command
}

/// Run as an unprivileged user, the CLI cannot signal a root process (EPERM):
/// that owner is alive, and its database stays.
#[tokio::test]
async fn the_cli_keeps_the_dbas_databases_and_live_runs_of_other_users() {
    let dba = Dba::start().await;
    let mut canaries = lookalikes(&dba, std::process::id()).await;
    let live = "tombstone_harness_a11ve0000000_template".to_string();
    let root_owned = mark(&hostname(), std::process::id(), "");
    dba.canary(&live, Some(&root_owned)).await;
    canaries.push(live);
    let before = dba.harness_databases().await;

    let workdir = tempfile::tempdir().unwrap();
    let (uid, gid) = postgres_user();
    std::os::unix::fs::chown(workdir.path(), Some(uid), Some(gid)).unwrap();
    // A checkout may sit in a directory only root can enter (`mktemp -d`):
    // the other user runs a copy of the binary from its own directory.
    let binary = workdir.path().join("tombstone-harness");
    std::fs::copy(env!("CARGO_BIN_EXE_tombstone-harness"), &binary).unwrap();
    std::os::unix::fs::chown(&binary, Some(uid), Some(gid)).unwrap();
    let output = harness_from(&binary, &dba.url("postgres", "postgres"), &[])
        .current_dir(workdir.path())
        .uid(uid)
        .gid(gid)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    for name in &canaries {
        assert!(dba.canary_sings(name).await, "{name} was touched: {stderr}");
    }
    assert_eq!(dba.harness_databases().await, before, "left behind or lost");
}

fn postgres_user() -> (u32, u32) {
    let id = |flag: &str| {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    (id("-u"), id("-g"))
}

/// Exactly one line on stderr, exit 2, and no trace of the secret.
fn assert_secret_kept(output: &Output, secret: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(!stderr.contains(secret), "{stderr}");
}

#[test]
fn a_bad_url_error_never_shows_the_password() {
    // Unencoded, each of these ends the authority early: the URL is invalid.
    for password in ["pw/XYZZY", "pw?XYZZY", "pw#XYZZY"] {
        let url = format!("postgres://bob:{password}@127.0.0.1:1/postgres");
        let output = harness(&url, &[]).output().unwrap();
        assert_secret_kept(&output, "XYZZY");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("--pg-url postgres://bob:***@"), "{stderr}");
    }
    // Valid URLs whose server is unreachable: the error quotes sqlx's text.
    for password in ["pw@XYZZY", "pw%XYZZY", "pw%2FXYZZY"] {
        let url = format!("postgres://bob:{password}@127.0.0.1:1/postgres");
        assert_secret_kept(&harness(&url, &[]).output().unwrap(), "XYZZY");
    }
}

#[tokio::test]
async fn a_password_in_the_query_stays_out_of_the_report_command() {
    let dba = Dba::start().await;
    // Trust authentication ignores the password, so the run succeeds.
    let url = format!(
        "{}&password=pw/XY?Z@ZY%23x&sslpassword=pw%25XYZZY",
        dba.url("postgres", "postgres")
    );
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let save = dir.path().join("saved");
    let output = harness(
        &url,
        &[
            "--report",
            report.to_str().unwrap(),
            "--save-dir",
            save.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let command = json["command"].as_str().unwrap();
    assert!(command.contains("password=***"), "{command}");
    // The temporary directory's random name may hold "XY" itself.
    let dir_name = dir.path().to_string_lossy().to_string();
    for text in [command, &stderr, &String::from_utf8_lossy(&output.stdout)] {
        let text = text.replace(&dir_name, "<dir>");
        assert!(!text.contains("XY") && !text.contains("ZY"), "{text}");
    }
}
