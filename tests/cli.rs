//! The command line's exit codes and one-line errors for bad input.

use std::process::{Command, Output};

fn harness(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tombstone-harness"));
    command
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("TOMBSTONE_PG");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

/// Exit 2 and exactly one line on stderr that contains `needle`.
fn assert_one_line_error(output: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "not one line: {stderr}"
    );
    assert!(stderr.contains(needle), "{needle:?} not in: {stderr}");
}

#[test]
fn a_malformed_implementation_file_names_file_operation_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mine.toml");
    std::fs::write(
        &file,
        "name = \"mine\"\n[operations.sign-out]\nsteps = [{ name = \"record\", sql = \"SELECT :team\" }]\n",
    )
    .unwrap();
    let output = harness(&["run", "--implementation", file.to_str().unwrap()], &[]);
    assert_one_line_error(
        &output,
        "mine.toml: operation 'sign-out', step 1 ('record'), field 'sql'",
    );
}

#[test]
fn a_toml_syntax_error_gives_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.toml");
    std::fs::write(&file, "name = \"x\"\n[operations.sign-out\n").unwrap();
    let output = harness(&["run", "-i", file.to_str().unwrap()], &[]);
    assert_one_line_error(&output, "broken.toml: line 2");
}

#[test]
fn an_unknown_implementation_name() {
    let output = harness(&["run", "-i", "no-such-thing"], &[]);
    assert_one_line_error(&output, "unknown implementation 'no-such-thing'");
}

#[test]
fn an_unknown_pg_value() {
    let output = harness(&["--pg", "nonsense", "run"], &[]);
    assert_one_line_error(&output, "nonsense");
}

#[test]
fn an_unreachable_url() {
    let output = harness(
        &[
            "--pg",
            "url",
            "--pg-url",
            "postgres://me:pw@127.0.0.1:1/x",
            "run",
        ],
        &[],
    );
    assert_one_line_error(&output, "did not accept a query");
    assert!(!String::from_utf8_lossy(&output.stderr).contains(":pw@"));
}

#[test]
fn url_mode_without_a_url() {
    let output = harness(&["--pg", "url", "run"], &[]);
    assert_one_line_error(&output, "--pg url needs --pg-url or DATABASE_URL");
}

#[test]
fn no_docker_with_pg_container() {
    let output = harness(
        &["--pg", "container", "run"],
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    assert_one_line_error(&output, "no Docker daemon answers");
}

#[test]
fn run_prints_the_table_and_exits_zero() {
    let output = harness(
        &[
            "--pg", "local", "run", "-i", "atomic", "--cases", "10", "--seed", "3",
        ],
        &[],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let sign_out = stdout
        .lines()
        .find(|l| l.starts_with("atomic") && l.contains("sign-out u1 from t1"));
    let cells: Vec<&str> = sign_out
        .expect("a sign-out row")
        .split('|')
        .map(str::trim)
        .collect();
    assert_eq!(cells[2..], ["200", "token t1", "token t1"], "{stdout}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.matches("PostgreSQL: local cluster").count(),
        1,
        "{stderr}"
    );
}

fn saved_counterexample(prefix: &str) -> String {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/systems/stack-auth/counterexamples"
    );
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    let path = names
        .into_iter()
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix));
    path.expect(prefix).display().to_string()
}

#[test]
fn replay_tells_the_story_and_exits_one_when_it_reproduces() {
    let file = saved_counterexample("stack-auth-pre-1466-A-");
    let output = harness(
        &["--pg", "local", "replay", &file, "--check-determinism", "5"],
        &[],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for needle in [
        "1. s2 op2 change-password-admin: update password hash → 1 row",
        "4. s1 op1 sign-out: record token → 0 rows",
        "s1 op1 sign-out finishes: 500 expected exactly one recorded refresh token",
        "final tombstones: token t1 (by op2);",
        "no-server-error (A: 0 rows recorded → 500 (#1466))",
        "schedule: v1: 2 2 2 1",
        "deterministic: 5 replays gave the same story",
    ] {
        assert!(stdout.contains(needle), "{needle:?} not in:\n{stdout}");
    }
    assert!(
        stdout.contains(&format!("replay: tombstone-harness replay {file}")),
        "{stdout}"
    );
}

#[test]
fn explore_prints_the_outcome_table_and_exits_one_on_violations() {
    let output = harness(
        &[
            "--pg",
            "local",
            "explore",
            "1466",
            "-i",
            "stack-auth-post-1466",
        ],
        &[],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    // Reduced by default: the hash update commutes with the token
    // statements, and so do the two records of t1 (autocommit, tombstone
    // inserts): four classes.
    assert!(
        stdout.contains("stack-auth-post-1466 at read-committed: 4 schedules (one per class")
            && stdout.contains("2 violate an invariant"),
        "{stdout}"
    );
    let full = harness(
        &[
            "--pg",
            "local",
            "explore",
            "1466",
            "-i",
            "stack-auth-post-1466",
            "--no-reduce",
        ],
        &[],
    );
    let full = String::from_utf8_lossy(&full.stdout);
    assert!(
        full.contains(
            "stack-auth-post-1466 at read-committed: 10 schedules, 6 violate an invariant"
        ),
        "{full}"
    );
    let row: Vec<&str> = stdout
        .lines()
        .find(|l| l.starts_with("v1: 2 2 2 1 1 "))
        .expect("the row of schedule v1: 2 2 2 1 1")
        .split('|')
        .map(str::trim)
        .collect();
    assert_eq!(
        row,
        [
            "v1: 2 2 2 1 1",
            "401 REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED; 200",
            "token t1 (op2)",
            "clean"
        ],
        "{stdout}"
    );
    let atomic = harness(
        &[
            "--pg",
            "local",
            "explore",
            "1466",
            "-i",
            "atomic",
            "--isolation",
            "read-committed",
        ],
        &[],
    );
    assert_eq!(
        atomic.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&atomic.stdout)
    );
}

#[test]
fn stress_writes_json_and_junit_and_shards_merge() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    for shard in ["1/2", "2/2"] {
        let report = path(&format!("shard{}.json", &shard[..1]));
        let args = [
            "--pg",
            "local",
            "stress",
            "--cases",
            "25",
            "--seed",
            "7",
            "--shard",
            shard,
            "--mode",
            "scheduled",
            "-i",
            "stack-auth-post-1466",
            "-i",
            "atomic",
            "--report",
            &report,
            "--junit",
            &path("junit.xml"),
            "--save-dir",
            &path("saved"),
        ];
        let output = harness(&args, &[]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("seed 7, shard"),
            "the seed is printed first: {stderr}"
        );
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path("shard1.json")).unwrap()).unwrap();
    assert_eq!(json["format"], "tombstone-harness-report/2");
    assert_eq!(json["cases"], 25);
    assert_eq!(json["seeds"][0], 7);
    let findings = json["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .all(|f| f["implementation"] == "stack-auth-post-1466"),
        "atomic is clean: {findings:?}"
    );
    let b = findings
        .iter()
        .find(|f| f["anomaly"] == "B")
        .expect("a duplicate tombstone in 25 cases");
    let replay = b["replay"].as_str().unwrap();
    assert!(
        replay.starts_with("tombstone-harness replay ") && b["reproduced"] == true,
        "{b}"
    );

    let junit = std::fs::read_to_string(path("junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&junit).unwrap();
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 8, "2 implementations × 4 invariants");
    let failed = |class: &str, name: &str| {
        let case = cases
            .iter()
            .find(|c| c.attribute("classname") == Some(class) && c.attribute("name") == Some(name))
            .unwrap();
        case.children().any(|n| n.has_tag_name("failure"))
    };
    assert!(failed("stack-auth-post-1466", "exactly-one-tombstone"));
    assert!(!failed("atomic", "exactly-one-tombstone") && !failed("atomic", "no-server-error"));

    let merged = path("merged.json");
    let output = harness(
        &[
            "report",
            "merge",
            &path("shard1.json"),
            &path("shard2.json"),
            "--out",
            &merged,
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(1));
    let merged: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(merged).unwrap()).unwrap();
    assert_eq!(merged["cases"], 50);
    assert_eq!(merged["shards"], serde_json::json!(["1/2", "2/2"]));
}

/// `--jobs 2` runs two workers at once, each on a thread and database of
/// its own; the cases are drawn by number from the seed, so two workers
/// judge the same cases as one and find the same things as often.
#[test]
fn stress_with_two_workers_finds_what_one_finds() {
    let dir = tempfile::tempdir().unwrap();
    let run = |jobs: &str| {
        let report = dir.path().join(format!("jobs{jobs}.json"));
        let report = report.display().to_string();
        let save = dir
            .path()
            .join(format!("saved{jobs}"))
            .display()
            .to_string();
        let args = [
            "--pg",
            "local",
            "stress",
            "--cases",
            "20",
            "--seed",
            "7",
            "--mode",
            "scheduled",
            "-i",
            "stack-auth-post-1466",
            "--jobs",
            jobs,
            "--report",
            &report,
            "--save-dir",
            &save,
        ];
        let output = harness(&args, &[]);
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        assert_eq!(json["jobs"], jobs.parse::<u64>().unwrap(), "{json}");
        let mut found: Vec<String> = json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| format!("{} {} {}", f["invariant"], f["anomaly"], f["count"]))
            .collect();
        found.sort();
        (json["cases"].clone(), json["scheduled_runs"].clone(), found)
    };
    let one = run("1");
    let two = run("2");
    assert_eq!(one.0, 20);
    assert!(
        one.2.iter().any(|f| f.contains("\"B\"")),
        "a duplicate tombstone in 20 cases: {:?}",
        one.2
    );
    assert_eq!(one, two);
}

#[test]
fn stress_without_a_budget_or_with_a_bad_shard_is_a_usage_error() {
    assert_one_line_error(&harness(&["stress"], &[]), "stress needs a budget");
    assert_one_line_error(
        &harness(&["stress", "--cases", "1", "--shard", "3/2"], &[]),
        "is not a shard",
    );
    assert_one_line_error(
        &harness(&["stress", "--duration", "soon"], &[]),
        "is not a duration",
    );
}

#[test]
fn timeline_writes_an_svg() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("t.svg");
    let file = saved_counterexample("stack-auth-post-1466-B-");
    let output = harness(
        &[
            "--pg",
            "local",
            "timeline",
            &file,
            "--svg",
            svg.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(svg).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    assert!(
        doc.descendants().any(|n| n
            .attribute("class")
            .is_some_and(|c| c.contains("violating"))),
        "no marked write"
    );
}

#[test]
fn url_credentials_never_appear_in_output_or_reports() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let options = tombstone_harness::db::PgOptions {
        choice: tombstone_harness::db::PgChoice::Local,
        url: None,
        image: "postgres:15".into(),
    };
    let host = runtime
        .block_on(tombstone_harness::db::Server::start(&options))
        .unwrap();
    let socket = host.local_cluster().unwrap().dir.display().to_string();
    // Trust authentication accepts any password, so the secret is only ever ours.
    let url = format!("postgres://postgres:s3cret-pw@localhost:5432/postgres?host={socket}");
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.json");
    let args = [
        "--pg",
        "url",
        "--pg-url",
        &url,
        "stress",
        "--cases",
        "5",
        "-i",
        "atomic",
        "--report",
        report.to_str().unwrap(),
    ];
    let output = harness(&args, &[]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let everything = format!(
        "{}{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        std::fs::read_to_string(&report).unwrap()
    );
    assert!(
        everything.contains("PostgreSQL: url localhost:5432"),
        "{everything}"
    );
    assert!(!everything.contains("s3cret-pw"), "{everything}");
}

/// `explore --jobs 2` splits the schedule tree over two databases and puts
/// it back together: the same table, schedule for schedule, as one worker.
#[test]
fn explore_with_two_jobs_prints_the_same_table_as_one() {
    let run = |jobs: &str| {
        let args = [
            "explore",
            "concurrent-user-deletes",
            "-i",
            "stack-auth-post-1466",
            "-i",
            "atomic",
            "--isolation",
            "read-committed",
            "--jobs",
            jobs,
        ];
        let output = harness(&args, &[]);
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert_eq!(output.status.code(), Some(1), "{stdout}");
        stdout
    };
    let one = run("1");
    let two = run("2");
    assert!(
        one.contains("stack-auth-post-1466 at read-committed: ")
            && one.contains("atomic at read-committed: "),
        "{one}"
    );
    assert_eq!(one, two);
}
