//! The three ways to get PostgreSQL, each started explicitly and used through
//! the same code the harness runs: local, url and container.

mod common;

use common::sign_out_works_on;
use std::path::Path;
use tombstone_harness::db::{PgChoice, PgOptions, Server};

fn options(choice: PgChoice, url: Option<String>) -> PgOptions {
    let image = std::env::var("TOMBSTONE_PG_IMAGE").unwrap_or_else(|_| "postgres:15".into());
    PgOptions { choice, url, image }
}

async fn database_names(server: &Server) -> Vec<String> {
    let mut admin = server.admin_connection().await.unwrap();
    sqlx::query_scalar("SELECT datname::text FROM pg_database ORDER BY 1")
        .fetch_all(&mut admin)
        .await
        .unwrap()
}

#[tokio::test]
async fn local_cluster_runs_cases_and_is_removed_on_drop() {
    let server = Server::start(&options(PgChoice::Local, None))
        .await
        .unwrap();
    assert!(
        server.description().starts_with("local cluster at "),
        "{}",
        server.description()
    );
    let dir = server.local_cluster().unwrap().dir.clone();
    assert!(dir.join("data/PG_VERSION").exists());
    sign_out_works_on(&server).await;
    drop(server);
    assert!(!Path::new(&dir).exists(), "{} left behind", dir.display());
}

#[tokio::test]
async fn url_mode_creates_and_drops_only_its_own_databases() {
    let host = Server::start(&options(PgChoice::Local, None))
        .await
        .unwrap();
    let socket = host.local_cluster().unwrap().dir.display().to_string();
    let mut admin = host.admin_connection().await.unwrap();
    sqlx::query("CREATE DATABASE someone_elses")
        .execute(&mut admin)
        .await
        .unwrap();
    // Our prefix but not our marker: must survive reaping and dropping too.
    sqlx::query("CREATE DATABASE tombstone_harness_1_0")
        .execute(&mut admin)
        .await
        .unwrap();

    let url = format!("postgres://postgres:secret-password@localhost:5432/postgres?host={socket}");
    let server = Server::start(&options(PgChoice::Url, Some(url.clone())))
        .await
        .unwrap();
    assert!(
        server.description().starts_with("url "),
        "{}",
        server.description()
    );
    assert!(!server.description().contains("secret-password"));
    let ours = server.create_database(&common::stack()).await.unwrap();
    let name = ours.name.clone();
    assert!(database_names(&server).await.contains(&name));
    ours.drop_database().await.unwrap();
    sign_out_works_on(&server).await;

    let names = database_names(&host).await;
    assert!(!names.contains(&name), "{name} was not dropped");
    assert!(names.contains(&"someone_elses".to_string()));
    assert!(names.contains(&"tombstone_harness_1_0".to_string()));
    // Auto picks url when one is given.
    let auto = Server::start(&options(PgChoice::Auto, Some(url)))
        .await
        .unwrap();
    assert!(auto.description().starts_with("url "));
}

#[tokio::test]
async fn an_unreachable_url_is_one_infrastructure_error() {
    let started = std::time::Instant::now();
    let url = "postgres://bob:hunter2@127.0.0.1:1/postgres".to_string();
    let error = Server::start(&options(PgChoice::Url, Some(url)))
        .await
        .err()
        .expect("no server listens on port 1");
    let text = error.to_string();
    assert!(!text.contains('\n') && !text.contains("hunter2"), "{text}");
    assert!(text.contains("did not accept a query"), "{text}");
    assert!(started.elapsed().as_secs() < 20);
}

/// Runs wherever Docker has the image; `TOMBSTONE_REQUIRE_CONTAINER=1` (set
/// by CI) turns a skip into a failure.
#[tokio::test]
async fn container_runs_cases_and_is_removed_on_drop() {
    let required = std::env::var("TOMBSTONE_REQUIRE_CONTAINER").is_ok_and(|v| v == "1");
    let options = options(PgChoice::Container, None);
    let server = match Server::start(&options).await {
        Ok(server) => server,
        Err(e) if !required => {
            eprintln!("SKIPPED container backend test: {e}");
            return;
        }
        Err(e) => panic!("the container backend is required here: {e}"),
    };
    assert!(
        server.description().starts_with("container "),
        "{}",
        server.description()
    );
    let id = server.container_id().unwrap().to_string();
    sign_out_works_on(&server).await;
    drop(server);
    let output = std::process::Command::new("docker")
        .args(["ps", "-aq", "--no-trunc", "--filter"])
        .arg(format!("id={id}"))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&output.stdout).trim().is_empty(),
        "container {id} left behind"
    );
}
