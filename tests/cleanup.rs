//! Nothing of ours is left behind, and nothing of anyone else's is touched:
//! a panicking test process, leftovers of killed runs (reaped at the next
//! start, by name prefix or label plus a dead owner pid), containers; and
//! within a run, the dead rows of the cases before.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};
use tombstone_harness::chooser::Serial;
use tombstone_harness::db::{PgChoice, PgOptions, Server, VACUUM_EVERY};

fn options(choice: PgChoice, url: Option<String>) -> PgOptions {
    let image = std::env::var("TOMBSTONE_PG_IMAGE").unwrap_or_else(|_| "postgres:15".into());
    PgOptions { choice, url, image }
}

/// A pid no process has: the owner of a leftover from a killed run.
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

/// Not a test of its own: the child process of the test below, which starts
/// the shared server and then panics, as a failing test would.
#[test]
#[ignore = "run only as the child of a_panicking_test_process_leaves_no_cluster_behind"]
fn panicking_child() {
    if std::env::var("TOMBSTONE_PANIC_CHILD").is_err() {
        return;
    }
    let server = common::server();
    println!("CLUSTER {}", server.local_cluster().unwrap().dir.display());
    panic!("a test failed while the server was up");
}

#[test]
fn a_panicking_test_process_leaves_no_cluster_behind() {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "panicking_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("TOMBSTONE_PANIC_CHILD", "1")
        .env("TOMBSTONE_PG", "local")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !output.status.success(),
        "the child test must fail: {stdout}"
    );
    let line = stdout
        .lines()
        .find_map(|l| l.split_once("CLUSTER "))
        .expect("the child started a cluster");
    let dir = PathBuf::from(line.1.trim());
    assert!(
        common::gone_within(&dir, Duration::from_secs(10)),
        "{} left behind",
        dir.display()
    );
}

#[tokio::test]
async fn leftover_clusters_of_dead_owners_are_reaped_and_live_ones_kept() {
    let server = Server::start(&options(PgChoice::Local, None))
        .await
        .unwrap();
    let base = server
        .local_cluster()
        .unwrap()
        .dir
        .parent()
        .unwrap()
        .to_path_buf();
    let dead = base.join(format!("cluster-{}-0", dead_pid()));
    let alive = base.join(format!("cluster-{}-999", std::process::id()));
    let foreign = base.join("not-ours");
    for dir in [&dead, &alive, &foreign] {
        std::fs::create_dir_all(dir.join("data")).unwrap();
    }
    let second = Server::start(&options(PgChoice::Local, None))
        .await
        .unwrap();
    assert!(!dead.exists(), "a dead owner's cluster is reaped");
    assert!(
        alive.exists() && foreign.exists(),
        "a live owner's cluster and anything not ours are kept"
    );
    for dir in [&alive, &foreign] {
        std::fs::remove_dir_all(dir).unwrap();
    }
    drop((server, second));
}

/// Signals pending for `pid` but not yet handled, from `/proc/PID/status`.
fn pending_signals(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .filter(|l| l.starts_with("SigPnd:") || l.starts_with("ShdPnd:"))
        .map(|l| u64::from_str_radix(l.split_whitespace().nth(1).unwrap(), 16).unwrap())
        .fold(0, |all, mask| all | mask)
}

/// A crashed cluster's `postmaster.pid` may name a pid the kernel has since
/// given to an unrelated process: reaping must not signal it. The stand-in
/// blocks SIGQUIT, so a signal sent to it stays visible as pending.
#[tokio::test]
async fn a_stale_postmaster_pid_is_never_signalled() {
    use std::os::unix::process::CommandExt;
    let mut unrelated = Command::new("sleep");
    unrelated.arg("60");
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        unrelated.pre_exec(|| {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGQUIT);
            libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            Ok(())
        });
    }
    let mut unrelated = unrelated.spawn().unwrap();
    let server = Server::start(&options(PgChoice::Local, None))
        .await
        .unwrap();
    let live = server.local_cluster().unwrap();
    assert!(
        live.postmaster_pid().is_some(),
        "a live postmaster is recognised"
    );
    let stale = live
        .dir
        .parent()
        .unwrap()
        .join(format!("cluster-{}-0", dead_pid()));
    std::fs::create_dir_all(stale.join("data")).unwrap();
    std::fs::write(
        stale.join("data/postmaster.pid"),
        format!("{}\n", unrelated.id()),
    )
    .unwrap();
    let second = Server::start(&options(PgChoice::Local, None))
        .await
        .unwrap();
    assert!(!stale.exists(), "the dead owner's cluster is reaped");
    let quit = 1u64 << (libc::SIGQUIT - 1);
    assert_eq!(
        pending_signals(unrelated.id()) & quit,
        0,
        "SIGQUIT was sent"
    );
    assert!(unrelated.try_wait().unwrap().is_none());
    unrelated.kill().unwrap();
    unrelated.wait().unwrap();
    drop((server, second));
}

#[tokio::test]
async fn leftover_databases_of_dead_owners_are_reaped_in_url_mode_and_nothing_else() {
    let host = Server::start(&options(PgChoice::Local, None))
        .await
        .unwrap();
    let socket = host.local_cluster().unwrap().dir.display().to_string();
    let mut admin = host.admin_connection().await.unwrap();
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let dead = dead_pid();
    let marked = |name: &str, owner: String| {
        vec![
            format!("CREATE DATABASE {name}"),
            format!("COMMENT ON DATABASE {name} IS 'tombstone-harness owner={owner}'"),
        ]
    };
    let mut statements = marked(
        "tombstone_harness_dead_0",
        format!("{}:{dead}", hostname.trim()),
    );
    statements.extend(marked(
        "tombstone_harness_elsewhere_0",
        format!("another-host:{dead}"),
    ));
    statements.push("CREATE DATABASE tombstone_harness_unmarked".into());
    for statement in statements {
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&mut admin)
            .await
            .unwrap();
    }
    let url = format!("postgres://postgres@localhost:5432/postgres?host={socket}");
    let _server = Server::start(&options(PgChoice::Url, Some(url)))
        .await
        .unwrap();
    let names: Vec<String> = sqlx::query_scalar("SELECT datname::text FROM pg_database")
        .fetch_all(&mut admin)
        .await
        .unwrap();
    assert!(
        !names.contains(&"tombstone_harness_dead_0".to_string()),
        "{names:?}"
    );
    assert!(
        names.contains(&"tombstone_harness_elsewhere_0".to_string()),
        "another host's: {names:?}"
    );
    assert!(
        names.contains(&"tombstone_harness_unmarked".to_string()),
        "unmarked: {names:?}"
    );
}

/// Where Docker has the image: a killed harness's container is removed by
/// its watchdog, and a labelled leftover of a dead owner is reaped.
#[test]
fn containers_of_a_killed_harness_are_removed() {
    let Some(image) = common::container_image() else {
        return;
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_tombstone-harness"))
        .args([
            "--pg",
            "container",
            "--pg-image",
            &image,
            "stress",
            "--duration",
            "60s",
            "-i",
            "atomic",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let owner = format!(
        "label=org.tombstone-harness.owner={}:{}",
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .unwrap()
            .trim(),
        child.id()
    );
    let ours = || {
        let out = Command::new("docker")
            .args(["ps", "-aq", "--filter", &owner])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while ours().is_empty() {
        assert!(Instant::now() < deadline, "the container never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ours().is_empty() {
        assert!(
            Instant::now() < deadline,
            "container {} left behind",
            ours()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every case deletes the last one's rows, and that space is reused only
/// once a vacuum has marked it free; until then each case's rows go to
/// fresh pages, and the reset and the snapshot scan a table that grows with
/// the run. The harness vacuums its tables every `VACUUM_EVERY` cases, so
/// after four such periods a tombstone table holds what one period wrote.
#[tokio::test]
async fn a_long_run_vacuums_its_tables_so_they_stop_growing() {
    let (database, mut engine) = common::engine().await;
    let implementation = common::implementation("atomic");
    // Four tombstones and four kept deleted rows per case.
    let case = common::case(
        "u1 t1(u1) t2(u1) t3(u1) t4(u1)",
        &["change-password-admin user=u1"],
    );
    let mut conn = database.connect("test").await.unwrap();
    let pages = async |conn: &mut sqlx::PgConnection| -> i64 {
        sqlx::query_scalar("SELECT pg_relation_size('\"DeletedRow\"') / 8192")
            .fetch_one(conn)
            .await
            .unwrap()
    };
    let period = VACUUM_EVERY as usize;
    // One case short of the first vacuum.
    for _ in 1..period {
        engine
            .run(&case, &implementation, &mut Serial::default())
            .await
            .unwrap();
    }
    let one_period = pages(&mut conn).await;
    for _ in 0..3 * period {
        engine
            .run(&case, &implementation, &mut Serial::default())
            .await
            .unwrap();
    }
    let four_periods = pages(&mut conn).await;
    assert!(
        one_period >= 4,
        "one period's tombstones fill only {one_period} pages: the test would show nothing"
    );
    assert!(
        four_periods <= one_period + 1,
        "DeletedRow grew from {one_period} pages to {four_periods} over three more periods"
    );
}
