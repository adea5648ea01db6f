//! The harness under faults: lost connections, statements that never return,
//! a server that goes away or drops every connection, Ctrl-C, a killed
//! harness. Each behaviour is provoked here, not assumed.

mod common;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tombstone_harness::case::Case;
use tombstone_harness::chooser::Serial;
use tombstone_harness::engine::{Engine, Limits};
use tombstone_harness::history::OperationResult;
use tombstone_harness::implementation::Implementation;
use tombstone_harness::oracle;

/// post-1466 with sign-out's first step replaced by `first_step`.
fn with_first_sign_out_step(first_step: &str) -> Implementation {
    let text = format!(
        "name = \"faulty\"\n[operations.sign-out]\nsteps = [\n  {{ name = \"fault\", sql = '''{first_step}''' }},\n  {{ name = \"delete token\", sql = '''DELETE FROM \"ProjectUserRefreshToken\" WHERE \"id\" = :token''' }},\n]\n"
    );
    Implementation::parse(&common::stack(), "faulty.toml", &text).unwrap()
}

fn sign_out() -> Case {
    common::case("u1 t1(u1)", &["sign-out token=t1 user=u1"])
}

#[tokio::test]
async fn a_session_whose_connection_is_terminated_is_indeterminate_and_the_next_case_runs() {
    let (_database, mut engine) = common::engine().await;
    let suicidal = with_first_sign_out_step("SELECT pg_terminate_backend(pg_backend_pid())");
    let history = engine
        .run(&sign_out(), &suicidal, &mut Serial::default())
        .await
        .unwrap();
    assert!(
        matches!(&history.results[0], OperationResult::Indeterminate(why) if why.contains("connection lost")),
        "{:?}",
        history.results
    );
    assert!(
        oracle::judge(&sign_out(), &history, &[]).is_clean(),
        "an indeterminate case is never a finding"
    );
    let fine = common::implementation("stack-auth-post-1466");
    let history = engine
        .run(&sign_out(), &fine, &mut Serial::default())
        .await
        .unwrap();
    assert_eq!(history.results[0].to_string(), "200");
}

#[tokio::test]
async fn a_step_waiting_on_a_lock_outside_the_harness_is_cancelled_as_indeterminate() {
    let database = common::server()
        .create_database(&common::stack())
        .await
        .unwrap();
    let limits = Limits {
        step_wait_ms_max: 300,
        ..Limits::default()
    };
    let mut engine = Engine::open(database.connector(), limits).await.unwrap();
    let mut outsider = database.connect("outsider").await.unwrap();
    sqlx::query("SELECT pg_advisory_lock(4242)")
        .execute(&mut outsider)
        .await
        .unwrap();
    let waits = with_first_sign_out_step("SELECT pg_advisory_xact_lock(4242)");
    let history = engine
        .run(&sign_out(), &waits, &mut Serial::default())
        .await
        .unwrap();
    assert!(
        matches!(&history.results[0], OperationResult::Indeterminate(why) if why.contains("time limit")),
        "{:?}",
        history.results
    );
    assert_eq!(
        history.schedule.to_string(),
        "v1: 1",
        "the case is reported with its schedule"
    );
    assert!(oracle::judge(&sign_out(), &history, &[]).is_clean());
    sqlx::query("SELECT pg_advisory_unlock(4242)")
        .execute(&mut outsider)
        .await
        .unwrap();
    let history = engine
        .run(&sign_out(), &waits, &mut Serial::default())
        .await
        .unwrap();
    assert_eq!(history.results[0].to_string(), "200", "the run goes on");
}

/// The CLI, with its stderr lines delivered as they come.
struct Harness {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Harness {
    fn start(args: &[&str]) -> Harness {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tombstone-harness"))
            .args(args)
            .env_remove("DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
        Harness {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The first stderr line containing `needle` (60 s at most).
    fn line_with(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                self.seen.push(line.clone());
                if line.contains(needle) {
                    return line;
                }
            }
        }
        panic!("no line with {needle:?} in {:?}", self.seen);
    }

    /// Waits for the run's header, printed once the implementations have
    /// run alone on a scratch database (`preflight`) and the workers start:
    /// a fault before it would hit the preflight, not the run.
    fn workers_starting(&mut self) {
        self.line_with("stress: seed ");
    }

    fn cluster_dir(&mut self) -> PathBuf {
        let line = self.line_with("PostgreSQL: local cluster at ");
        let rest = line.split("local cluster at ").nth(1).unwrap();
        PathBuf::from(rest.split(" (").next().unwrap())
    }

    fn wait(mut self) -> (Option<i32>, String) {
        let status = self.child.wait().unwrap();
        self.seen.extend(self.lines.iter());
        (status.code(), self.seen.join("\n"))
    }
}

/// Waits until the harness's sessions are connected to the cluster at `dir`.
async fn sessions_running(dir: &Path) -> PgConnection {
    let options = PgConnectOptions::new()
        .socket(dir)
        .port(5432)
        .username("postgres")
        .database("postgres");
    sessions_running_at(&options).await
}

/// Waits until the harness's sessions are connected to the server `options` names.
async fn sessions_running_at(options: &PgConnectOptions) -> PgConnection {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(mut conn) = PgConnection::connect_with(options).await {
            let active: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'op1'",
            )
            .fetch_one(&mut conn)
            .await
            .unwrap_or(0);
            if active > 0 {
                return conn;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the harness never connected its sessions to {options:?}");
}

fn report(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("the partial report is written"))
        .unwrap()
}

#[tokio::test]
async fn a_killed_server_stops_the_run_with_exit_2_a_partial_report_and_no_race() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.json");
    let junit = dir.path().join("junit.xml");
    let args = [
        "--pg",
        "local",
        "stress",
        "--duration",
        "60s",
        "--seed",
        "1",
        "-i",
        "atomic",
        "--reconnect-max",
        "1s",
        "--report",
        out.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ];
    let mut harness = Harness::start(&args);
    let cluster = harness.cluster_dir();
    harness.workers_starting();
    drop(sessions_running(&cluster).await);
    let pid = std::fs::read_to_string(cluster.join("data/postmaster.pid")).unwrap();
    let pid: i32 = pid.lines().next().unwrap().trim().parse().unwrap();
    // SAFETY: kill(2) on the postmaster of the cluster this test's harness started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    let (code, stderr) = harness.wait();
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("infrastructure problem, not a race"),
        "{stderr}"
    );
    let report = common::reports::valid_report(&out);
    assert!(
        report["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{report}"
    );
    assert_eq!(report["outcome"], "error");
    assert_eq!(
        report["findings"],
        serde_json::json!([]),
        "atomic has no race; a cut-off case must not look like one"
    );
    // The cases the lost server cut off are counted, as indeterminate.
    assert!(report["indeterminate"].as_u64().unwrap() >= 1, "{report}");
    let junit = common::reports::Junit::read(&junit);
    assert_eq!(junit.error_type(), Some("infrastructure"), "{}", junit.text);
    assert_eq!(junit.failures(), 0, "{}", junit.text);
    junit.assert_described("1");
    assert!(
        common::gone_within(&cluster, Duration::from_secs(10)),
        "{} left behind",
        cluster.display()
    );
}

#[tokio::test]
async fn dropped_connections_are_reconnected_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.json");
    let args = [
        "--pg",
        "local",
        "stress",
        "--cases",
        "400",
        "--seed",
        "2",
        "-i",
        "atomic",
        "--mode",
        "scheduled",
        "--report",
        out.to_str().unwrap(),
    ];
    let mut harness = Harness::start(&args);
    let cluster = harness.cluster_dir();
    harness.workers_starting();
    let mut admin = sessions_running(&cluster).await;
    // What a server restart looks like from the client: every connection of
    // ours dropped at once.
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname LIKE 'tombstone\\_harness\\_%' AND pid <> pg_backend_pid()")
        .execute(&mut admin)
        .await
        .unwrap();
    drop(admin);
    let (code, stderr) = harness.wait();
    assert_eq!(code, Some(0), "{stderr}");
    let report = report(&out);
    assert!(report["reconnects"].as_u64().unwrap() >= 1, "{report}");
    assert_eq!(report["cases"], 400);
    assert_eq!(report["findings"], serde_json::json!([]));
}

#[tokio::test]
async fn ctrl_c_writes_the_partial_report_cleans_up_and_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.json");
    let junit = dir.path().join("junit.xml");
    let args = [
        "--pg",
        "local",
        "stress",
        "--duration",
        "60s",
        "--seed",
        "3",
        "--report",
        out.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ];
    let mut harness = Harness::start(&args);
    let cluster = harness.cluster_dir();
    harness.workers_starting();
    drop(sessions_running(&cluster).await);
    // SAFETY: SIGINT to the child this test started.
    assert_eq!(
        unsafe { libc::kill(harness.child.id() as i32, libc::SIGINT) },
        0
    );
    let (code, stderr) = harness.wait();
    assert_eq!(code, Some(130), "{stderr}");
    let report = common::reports::valid_report(&out);
    assert_eq!(report["interrupted"], true);
    assert_eq!(report["outcome"], "interrupted");
    let junit = common::reports::Junit::read(&junit);
    assert_eq!(junit.error_type(), Some("interrupted"), "{}", junit.text);
    junit.assert_described("3");
    assert!(
        common::gone_within(&cluster, Duration::from_secs(10)),
        "{} left behind",
        cluster.display()
    );
}

#[tokio::test]
async fn a_killed_harness_leaves_no_cluster_behind() {
    let mut harness = Harness::start(&[
        "--pg",
        "local",
        "stress",
        "--duration",
        "60s",
        "-i",
        "atomic",
    ]);
    let cluster = harness.cluster_dir();
    harness.workers_starting();
    drop(sessions_running(&cluster).await);
    harness.child.kill().unwrap();
    let _ = harness.wait();
    assert!(
        common::gone_within(&cluster, Duration::from_secs(10)),
        "{} left behind",
        cluster.display()
    );
}

/// Where Docker has the image: the container killed mid-run is an
/// infrastructure error (exit 2), never a race.
#[tokio::test]
async fn a_killed_container_stops_the_run_with_exit_2_and_no_race() {
    let Some(image) = common::container_image() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.json");
    let args = [
        "--pg",
        "container",
        "--pg-image",
        &image,
        "stress",
        "--duration",
        "60s",
        "-i",
        "atomic",
        "--reconnect-max",
        "1s",
        "--report",
        out.to_str().unwrap(),
    ];
    let mut harness = Harness::start(&args);
    let line = harness.line_with("PostgreSQL: container ");
    let id = line.split_whitespace().nth(2).unwrap().to_string();
    let port = Command::new("docker")
        .args(["port", &id, "5432/tcp"])
        .output()
        .unwrap();
    let port = String::from_utf8_lossy(&port.stdout);
    let port: u16 = port
        .lines()
        .next()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let options = PgConnectOptions::new()
        .host("127.0.0.1")
        .port(port)
        .username("postgres")
        .password("postgres")
        .database("postgres");
    harness.workers_starting();
    drop(sessions_running_at(&options).await);
    assert!(
        Command::new("docker")
            .args(["kill", &id])
            .output()
            .unwrap()
            .status
            .success()
    );
    let (code, stderr) = harness.wait();
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("infrastructure problem, not a race"),
        "{stderr}"
    );
    assert_eq!(report(&out)["findings"], serde_json::json!([]));
}

/// The local cluster really restarted mid-run (fast shutdown, then the same
/// postmaster command line again): the harness reconnects with backoff and
/// finishes its budget.
#[tokio::test]
async fn a_restarted_server_is_reconnected_to_and_the_run_goes_on() {
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.json");
    let args = [
        "--pg",
        "local",
        "stress",
        "--cases",
        "300",
        "--seed",
        "4",
        "-i",
        "atomic",
        "--mode",
        "scheduled",
        "--report",
        out.to_str().unwrap(),
    ];
    let mut harness = Harness::start(&args);
    let cluster = harness.cluster_dir();
    harness.workers_starting();
    drop(sessions_running(&cluster).await);
    let data = cluster.join("data");
    let command_line = std::fs::read_to_string(data.join("postmaster.opts")).unwrap();
    let pid: i32 = std::fs::read_to_string(data.join("postmaster.pid"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // SAFETY: SIGINT (fast shutdown) to the postmaster of the harness's cluster.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let deadline = Instant::now() + Duration::from_secs(30);
    // SAFETY: signal 0 only checks whether the process still exists.
    while unsafe { libc::kill(pid, 0) } == 0 {
        assert!(Instant::now() < deadline, "the postmaster did not stop");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let owner = std::fs::metadata(&data).unwrap();
    let mut restarted = Command::new("sh")
        .arg("-c")
        .arg(format!("exec {} >/dev/null 2>&1", command_line.trim()))
        .uid(owner.uid())
        .gid(owner.gid())
        .process_group(0)
        .spawn()
        .unwrap();
    let (code, stderr) = harness.wait();
    // SAFETY: fast shutdown of the postmaster this test started.
    unsafe { libc::kill(restarted.id() as i32, libc::SIGINT) };
    let _ = restarted.wait();
    assert_eq!(code, Some(0), "{stderr}");
    let report = report(&out);
    assert!(report["reconnects"].as_u64().unwrap() >= 1, "{report}");
    assert_eq!(report["cases"], 300);
    assert_eq!(report["findings"], serde_json::json!([]));
}

/// A session lost while another waits on its lock: the engine keeps probing
/// with the sessions it has left (this once panicked, when a probe came
/// before the waiter's reply), and the waiter goes on
/// once the lost backend's locks are gone.
#[tokio::test]
async fn a_session_lost_while_another_waits_on_it() {
    let (_database, mut engine) = common::engine().await;
    let text = r#"
name = "lost-lock-holder"
[operations.sign-out]
transaction_from = "lock"
steps = [
  { name = "lock", sql = "SELECT pg_advisory_xact_lock(4243)" },
  { name = "fault", sql = "SELECT pg_terminate_backend(pg_backend_pid())" },
]
[operations.sign-in]
steps = [{ name = "wait", sql = "SELECT pg_advisory_xact_lock(4243)" }]
"#;
    let implementation =
        Implementation::parse(&common::stack(), "lost-lock-holder.toml", text).unwrap();
    let case = common::case(
        "u1 t1(u1)",
        &["sign-out token=t1 user=u1", "sign-in user=u1 token=t2"],
    );
    let schedule = tombstone_harness::schedule::Schedule::parse("v1: 1 2 1").unwrap();
    let chooser = &mut tombstone_harness::chooser::Scripted::new(schedule);
    let history = engine.run(&case, &implementation, chooser).await.unwrap();
    let blocked = history.events.iter().any(|e| {
        matches!(
            e.kind,
            tombstone_harness::history::EventKind::Blocked { .. }
        )
    });
    assert!(blocked, "s2 waited on s1: {:?}", history.events);
    assert!(
        matches!(&history.results[0], OperationResult::Indeterminate(_)),
        "{:?}",
        history.results
    );
    assert!(oracle::judge(&case, &history, &[]).is_clean());
}
