//! Shared by the integration-test binaries: one PostgreSQL server per test
//! process (chosen by `TOMBSTONE_PG` / `DATABASE_URL` as the CLI chooses), and
//! a fresh database for every test, so tests in parallel threads or nextest
//! processes never see each other's rows.
#![allow(dead_code)]

pub mod reports;

use std::sync::{Arc, OnceLock};
use tombstone_harness::case::Case;
use tombstone_harness::chooser::Serial;
use tombstone_harness::db::{Database, PgOptions, Server};
use tombstone_harness::engine::{Engine, Limits};
use tombstone_harness::history::TombstoneRow;
use tombstone_harness::implementation::Implementation;
use tombstone_harness::operation::OperationId;
use tombstone_harness::oracle::Violation;
use tombstone_harness::system::System;
use tombstone_harness::world::{RowKey, World};

/// The shipped Stack Auth system, which most tests are about.
pub fn stack() -> Arc<System> {
    System::load("stack-auth").unwrap_or_else(|e| panic!("{e}"))
}

/// One of Stack Auth's implementations.
pub fn implementation(name: &str) -> Implementation {
    Implementation::load(&stack(), name).unwrap_or_else(|e| panic!("{e}"))
}

/// A Stack Auth world from its text form (`u1 t1(u1)`).
pub fn world(text: &str) -> World {
    World::parse(&stack(), text).unwrap_or_else(|e| panic!("{e}"))
}

/// A Stack Auth case: a world and one action per line (`sign-out token=t1 user=u1`).
pub fn case(world: &str, actions: &[&str]) -> Case {
    Case::parse(&stack(), world, actions).unwrap_or_else(|e| panic!("{e}"))
}

/// One user with `tokens` refresh tokens: the world of the #1466 story.
pub fn one_user(tokens: u16) -> String {
    let tokens: Vec<String> = (1..=tokens).map(|t| format!("t{t}(u1)")).collect();
    format!("u1 {}", tokens.join(" "))
}

/// The tombstone a correct recorder writes for `row` (a row of `case`):
/// the row's exact key and every required column's value; for synthetic
/// histories, which the replayable-tombstone oracle judges too.
pub fn recorded(case: &Case, row: RowKey, writer: u16) -> TombstoneRow {
    let world_row = case
        .all_rows()
        .into_iter()
        .find(|r| r.key == row)
        .unwrap_or_else(|| panic!("{row} is not a row of the case"));
    let required = case
        .system
        .tombstones
        .required
        .clone()
        .into_iter()
        .collect();
    TombstoneRow {
        row,
        writer: Some(OperationId(writer)),
        table: None,
        primary_key: case.system.key_json(&world_row),
        data: None,
        required: serde_json::Value::Object(required),
    }
}

/// The anomaly a violation names, as text (`Some("B")`).
pub fn anomaly(violation: &Violation) -> Option<String> {
    violation.anomaly.as_ref().map(|a| a.to_string())
}

static SERVER: OnceLock<Arc<Server>> = OnceLock::new();

/// The process's server, started on first use. It lives in a static, so it is
/// never dropped: its watchdog stops it when the test process exits.
pub fn server() -> Arc<Server> {
    SERVER
        .get_or_init(|| {
            // Started on its own thread and runtime: tests call this from
            // inside their own runtimes, which may not block.
            std::thread::spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                let options = PgOptions::from_env().unwrap_or_else(|e| panic!("{e}"));
                let server = runtime
                    .block_on(Server::start(&options))
                    .unwrap_or_else(|e| panic!("{e}"));
                eprintln!(
                    "tombstone-harness tests: PostgreSQL is {}",
                    server.description()
                );
                Arc::new(server)
            })
            .join()
            .expect("starting the test server")
        })
        .clone()
}

/// A fresh database of Stack Auth (dropped with the value) and an engine on it.
pub async fn engine() -> (Database, Engine) {
    engine_for(&stack()).await
}

/// A fresh database of `system` and an engine on it.
pub async fn engine_for(system: &System) -> (Database, Engine) {
    let database = server()
        .create_database(system)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let engine = Engine::open(database.connector(), Limits::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (database, engine)
}

static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();

/// One runtime for the synchronous proptest properties of a test binary
/// (proptest has no async runner; each property blocks on this one).
pub fn runtime() -> &'static tokio::runtime::Runtime {
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
}

/// `engine()` for synchronous tests.
pub fn blocking_engine() -> (Database, Engine) {
    runtime().block_on(engine())
}

/// Whether `path` disappears within `limit` (cleanup happens in another
/// process, after the one being watched has exited).
pub fn gone_within(path: &std::path::Path, limit: std::time::Duration) -> bool {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if !path.exists() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    false
}

/// The container image, if Docker has it. Where `TOMBSTONE_REQUIRE_CONTAINER=1`
/// (CI), a missing image fails the test instead of skipping it.
pub fn container_image() -> Option<String> {
    let image = std::env::var("TOMBSTONE_PG_IMAGE").unwrap_or_else(|_| "postgres:15".into());
    let present = std::process::Command::new("docker")
        .args(["image", "inspect", &image])
        .output()
        .is_ok_and(|o| o.status.success());
    if present {
        return Some(image);
    }
    let required = std::env::var("TOMBSTONE_REQUIRE_CONTAINER").as_deref() == Ok("1");
    assert!(
        !required,
        "the container backend is required here, but image {image} is missing"
    );
    eprintln!("SKIPPED: no Docker image {image}");
    None
}

/// A sign-out on a fresh database of `server` writes its one tombstone.
pub async fn sign_out_works_on(server: &Server) {
    let database = server.create_database(&stack()).await.unwrap();
    let mut engine = Engine::open(database.connector(), Limits::default())
        .await
        .unwrap();
    let case = case("u1 t1(u1)", &["sign-out token=t1 user=u1"]);
    let implementation = implementation("stack-auth-post-1466");
    let history = engine
        .run(&case, &implementation, &mut Serial::default())
        .await
        .unwrap();
    assert_eq!(history.results[0].to_string(), "200");
    assert_eq!(history.snapshot.tombstones.len(), 1);
    drop(engine);
    database.drop_database().await.unwrap();
}
