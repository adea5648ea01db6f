//! The engine against PostgreSQL's isolation tester on the same server: the
//! #1466 scenario (six orders of the token statements, no blocking) and a
//! blocking one (two delete-user of one user under `atomic`).

use super::{Bench, env_u64, median, repo_path};
use serde_json::{Value, json};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Instant;
use tombstone_harness::case::Case;
use tombstone_harness::chooser::Scripted;
use tombstone_harness::explore::{ExploreLimits, Reduction, explore};
use tombstone_harness::history::EventKind;
use tombstone_harness::judge::judge;
use tombstone_harness::schedule::Schedule;
use tombstone_harness::world::parse_label;

/// The tester's permutation and the engine's schedule for the same order
/// (s1 = sign-out r1 d1; s2 = admin change h2 r2 d2).
const ORDERS: [(&str, &str); 6] = [
    ("h2 r1 d1 r2 d2", "v1: 2 1 1 2 2"),
    ("h2 r1 r2 d1 d2", "v1: 2 1 2 1 2"),
    ("h2 r1 r2 d2 d1", "v1: 2 1 2 2 1"),
    ("h2 r2 r1 d1 d2", "v1: 2 2 1 1 2"),
    ("h2 r2 r1 d2 d1", "v1: 2 2 1 2 1"),
    ("h2 r2 d2 r1 d1", "v1: 2 2 2 1 1"),
];

/// The spec without its permutation lines, checked against our UUIDs.
fn spec_base(bench: &Bench, file: &str) -> String {
    let text = std::fs::read_to_string(repo_path(file)).expect("reading the spec");
    let system = &bench.system;
    let tenancy = system.constants["tenancy"].value.clone();
    let identity = |label: &str| {
        let row = parse_label(system, label).expect("label");
        system.identity(&row).expect("an identity").as_text()
    };
    for uuid in [tenancy, identity("u1"), identity("t1")] {
        assert!(text.contains(&uuid), "{file} must use {uuid}");
    }
    text.lines()
        .filter(|l| !l.starts_with("permutation"))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Runs the tester on `spec`; returns seconds and the teardown counts.
fn isolationtester(bench: &Bench, database: &str, spec: &str) -> (f64, Vec<u64>) {
    let (seconds, trace) = run_tester(bench, database, spec);
    let counts = values_under(&trace, "tombstones")
        .iter()
        .filter_map(|v| v.parse().ok())
        .collect();
    (seconds, counts)
}

/// Runs the tester on `spec` (fed on stdin); returns seconds and its trace.
pub fn run_tester(bench: &Bench, database: &str, spec: &str) -> (f64, String) {
    let binary = bench
        .bin_dir
        .join("../lib/pgxs/src/test/isolation/isolationtester");
    let started = Instant::now();
    let mut child = Command::new(&binary)
        .arg(bench.conninfo(database))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {}: {e}", binary.display()));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(spec.as_bytes())
        .unwrap();
    let output = child.wait_with_output().expect("isolationtester");
    let seconds = started.elapsed().as_secs_f64();
    let trace = String::from_utf8_lossy(&output.stdout).into_owned();
    if std::env::var("BENCH_TRACE").is_ok() {
        eprintln!("{trace}");
    }
    assert!(
        output.status.success(),
        "isolationtester failed: {}\n{trace}",
        String::from_utf8_lossy(&output.stderr)
    );
    (seconds, trace)
}

/// The value printed under each one-column result headed `header` (the
/// teardown's output, once per permutation).
pub fn values_under(trace: &str, header: &str) -> Vec<String> {
    let lines: Vec<&str> = trace.lines().collect();
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.trim() == header)
        .filter_map(|(i, _)| Some(lines.get(i + 2)?.trim().to_string()))
        .collect()
}

pub fn issue_1466(bench: &Bench) -> (Value, Vec<[String; 4]>) {
    let repeats = env_u64("BENCH_REPEATS", 40) as usize;
    let implementation = bench.implementation("stack-auth-post-1466");
    let case = bench.case(
        "u1 t1(u1)",
        &["sign-out token=t1 user=u1", "change-password-admin user=u1"],
    );
    let (database, mut engine) = bench.engine();
    let base = spec_base(bench, "scripts/bench/issue1466.spec");
    let mut per_order = Vec::new();
    let (mut ours_total, mut theirs_total, mut agree) = (0.0, 0.0, true);
    for (permutation, schedule) in ORDERS {
        let spec = format!(
            "{base}{}",
            format!("permutation {permutation}\n").repeat(repeats)
        );
        isolationtester(
            bench,
            &database.name,
            &format!("{base}permutation {permutation}\n"),
        );
        let (theirs_s, counts) = isolationtester(bench, &database.name, &spec);
        assert_eq!(
            counts.len(),
            repeats,
            "one tombstone count per permutation run"
        );
        let schedule = Schedule::parse(schedule).expect("schedule");
        let mut warm = Scripted::new(schedule.clone());
        bench
            .runtime
            .block_on(engine.run(&case, &implementation, &mut warm))
            .expect("warm-up run");
        let mut ours_counts = Vec::new();
        let started = Instant::now();
        for _ in 0..repeats {
            let mut chooser = Scripted::new(schedule.clone());
            let history = bench
                .runtime
                .block_on(engine.run(&case, &implementation, &mut chooser))
                .expect("run");
            let _verdict = bench
                .runtime
                .block_on(judge(&mut engine, &case, &history))
                .expect("judge");
            ours_counts.push(history.snapshot.tombstones.len() as u64);
        }
        let ours_s = started.elapsed().as_secs_f64();
        let same = ours_counts == counts;
        agree &= same;
        ours_total += ours_s;
        theirs_total += theirs_s;
        per_order.push(json!({
            "permutation": permutation, "schedule": schedule.to_string(),
            "tombstones_harness": ours_counts[0], "tombstones_isolationtester": counts[0], "same_counts": same,
            "harness_per_s": repeats as f64 / ours_s, "isolationtester_per_s": repeats as f64 / theirs_s,
            "ratio": theirs_s / ours_s,
        }));
    }
    // Every schedule (10: the hash update anywhere), as `explore` runs them.
    let started = Instant::now();
    let mut explored = 0;
    for _ in 0..repeats / 4 {
        let all = bench.runtime.block_on(explore(
            &mut engine,
            &case,
            &implementation,
            ExploreLimits {
                reduction: Reduction::None,
                ..ExploreLimits::default()
            },
            |_| {},
        ));
        explored += all.expect("explore").len();
    }
    let explore_per_s = explored as f64 / started.elapsed().as_secs_f64();
    // The tester as the physics notes measured it: one process per run of
    // the checked-in spec (start, connect, 6 permutations, exit).
    let invocations = repeats.div_ceil(4).max(3);
    let whole = std::fs::read_to_string(repo_path("scripts/bench/issue1466.spec")).expect("spec");
    let started = Instant::now();
    for _ in 0..invocations {
        isolationtester(bench, &database.name, &whole);
    }
    let cold_per_s = (invocations * ORDERS.len()) as f64 / started.elapsed().as_secs_f64();
    let profile = profile(bench, &database, &case);
    drop(engine);
    let _ = bench.runtime.block_on(database.drop_database());
    let runs = (repeats * ORDERS.len()) as f64;
    let (ours, theirs) = (runs / ours_total, runs / theirs_total);
    let value = json!({
        "repeats_per_permutation": repeats, "permutations": per_order,
        "harness_per_s": ours, "isolationtester_per_s": theirs, "ratio": ours / theirs,
        "tombstone_counts_agree": agree, "explore_all_10_per_s": explore_per_s,
        "isolationtester_one_process_per_spec_per_s": cold_per_s, "ratio_to_one_process_per_spec": ours / cold_per_s,
        "profile_ms": profile,
    });
    let mut rows = vec![[
        "#1466, 6 permutations: schedules/s".to_string(),
        format!("{ours:.0}/s"),
        format!("isolationtester {theirs:.0}/s ({:.1}×)", ours / theirs),
        format!(
            "≥10× — {}",
            if ours / theirs >= 10.0 {
                "met"
            } else {
                "MISSED"
            }
        ),
    ]];
    rows.push([
        "#1466, vs the tester started once per 6-permutation spec (the notes' ~59/s)".into(),
        format!("{ours:.0}/s"),
        format!(
            "isolationtester {cold_per_s:.0}/s ({:.1}×)",
            ours / cold_per_s
        ),
        "(for reference)".into(),
    ]);
    rows.push([
        "#1466, tombstone counts per permutation".into(),
        "same as tester".into(),
        if agree {
            "agree".into()
        } else {
            "DIFFER".into()
        },
        "agree".into(),
    ]);
    rows.push([
        "#1466, explore all 10 schedules".into(),
        format!("{explore_per_s:.0}/s"),
        "—".into(),
        "—".into(),
    ]);
    (value, rows)
}

pub fn blocking(bench: &Bench) -> (Value, Vec<[String; 4]>) {
    let repeats = env_u64("BENCH_REPEATS", 40) as usize;
    let implementation = bench.implementation("atomic");
    let case = bench.case("u1 t1(u1)", &["delete-user user=u1", "delete-user user=u1"]);
    let (database, mut engine) = bench.engine();
    // Ours: every schedule, timed one by one, split by blocked steps.
    let (mut unblocked, mut blocked, mut blocks) = (Vec::new(), Vec::new(), 0usize);
    let mut schedules = 0;
    let mut tombstones = std::collections::BTreeSet::new();
    for _ in 0..repeats.div_ceil(4) {
        let mut last = Instant::now();
        let all = bench.runtime.block_on(explore(
            &mut engine,
            &case,
            &implementation,
            ExploreLimits {
                reduction: Reduction::None,
                ..ExploreLimits::default()
            },
            |one| {
                let seconds = last.elapsed().as_secs_f64();
                last = Instant::now();
                let n = one
                    .history
                    .events
                    .iter()
                    .filter(|e| matches!(e.kind, EventKind::Blocked { .. }))
                    .count();
                tombstones.insert(one.history.snapshot.tombstones.len());
                if n == 0 {
                    unblocked.push(seconds)
                } else {
                    blocked.push(seconds);
                    blocks += n
                }
            },
        ));
        schedules = all.expect("explore").len();
    }
    let blocks_per_schedule = blocks as f64 / blocked.len().max(1) as f64;
    let (ours_free, ours_blocked) = (median(&mut unblocked), median(&mut blocked));
    let ours_per_block_ms = (ours_blocked - ours_free) * 1000.0 / blocks_per_schedule;
    // Theirs: the serial permutation and the one with one wait.
    let base = spec_base(bench, "scripts/bench/delete_user_blocking.spec");
    let mut theirs = Vec::new();
    for permutation in ["f1 l1 t1 m1 u1 c1 f2 l2 c2", "f1 f2 l1 l2 t1 m1 u1 c1 c2"] {
        let spec = format!(
            "{base}{}",
            format!("permutation {permutation}\n").repeat(repeats)
        );
        let (seconds, counts) = isolationtester(bench, &database.name, &spec);
        theirs.push((seconds / repeats as f64, counts.first().copied()));
    }
    let theirs_per_block_ms = (theirs[1].0 - theirs[0].0) * 1000.0;
    drop(engine);
    let _ = bench.runtime.block_on(database.drop_database());
    let value = json!({
        "schedules": schedules, "harness_unblocked_schedule_ms": ours_free * 1000.0,
        "harness_blocked_schedule_ms": ours_blocked * 1000.0, "blocked_steps_per_blocked_schedule": blocks_per_schedule,
        "harness_per_blocked_step_ms": ours_per_block_ms,
        "isolationtester_serial_ms": theirs[0].0 * 1000.0, "isolationtester_one_wait_ms": theirs[1].0 * 1000.0,
        "isolationtester_per_blocked_step_ms": theirs_per_block_ms,
        "tombstones_harness": tombstones.into_iter().collect::<Vec<_>>(),
        "tombstones_isolationtester": [theirs[0].1, theirs[1].1],
    });
    let rows = vec![
        [
            "blocking (atomic, 2× delete-user): cost of one blocked step".to_string(),
            format!("{ours_per_block_ms:.2} ms"),
            format!("isolationtester {theirs_per_block_ms:.1} ms"),
            format!(
                "≪ 10 ms — {}",
                if ours_per_block_ms < 5.0 {
                    "met"
                } else {
                    "MISSED"
                }
            ),
        ],
        [
            "blocking: ms per schedule, unblocked / blocked".to_string(),
            format!(
                "{:.2} / {:.2} ms",
                ours_free * 1000.0,
                ours_blocked * 1000.0
            ),
            format!(
                "{:.2} / {:.2} ms",
                theirs[0].0 * 1000.0,
                theirs[1].0 * 1000.0
            ),
            "—".into(),
        ],
    ];
    (value, rows)
}

/// Where a #1466 schedule's time goes: the parts the engine does on its
/// control connection, timed alone, and one round trip for scale.
fn profile(bench: &Bench, database: &tombstone_harness::db::Database, case: &Case) -> Value {
    use tombstone_harness::db::Control;
    let n = 300;
    bench.runtime.block_on(async {
        let mut control = Control::open(&database.connector()).await.expect("control");
        let mut conn = database.connect("bench-profile").await.expect("connect");
        let time = |started: Instant| started.elapsed().as_secs_f64() * 1000.0 / n as f64;
        let started = Instant::now();
        for _ in 0..n {
            control.seed(case).await.expect("seed");
        }
        let seed_ms = time(started);
        let started = Instant::now();
        for _ in 0..n {
            control.snapshot(&case.system).await.expect("snapshot");
        }
        let snapshot_ms = time(started);
        let started = Instant::now();
        for _ in 0..n {
            sqlx::query("SELECT 1").execute(&mut conn).await.expect("select 1");
        }
        let select_ms = time(started);
        json!({ "reset_and_seed": seed_ms, "snapshot": snapshot_ms, "select_1_round_trip": select_ms })
    })
}
