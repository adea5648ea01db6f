//! Time to full coverage against PostgreSQL's isolation tester: three
//! sessions (two sign-outs of different tokens and an admin password change
//! on their user, `scripts/bench/three_sessions.spec`). The tester runs every
//! permutation of the seven steps; `explore` runs one schedule per class of
//! equivalent schedules on two databases. Both must reach the same set of
//! outcomes (how many tombstones each token got) before a time counts.

use super::isolation::{run_tester, values_under};
use super::{Bench, median, repo_path};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Instant;
use tombstone_harness::explore::{
    ExploreLimits, Explored, Reduction, explore_counted, explore_parallel,
};
use tombstone_harness::world::parse_label;

/// Rounds of each side after a warm-up; the median counts.
const ROUNDS: usize = 7;

/// "t1/t2": tombstones for each token, as the spec's teardown prints them.
fn outcome(explored: &Explored) -> String {
    let count = |label: &str| {
        explored
            .history
            .snapshot
            .tombstones
            .iter()
            .filter(|t| t.row.short() == label)
            .count()
    };
    format!("{}/{}", count("t1"), count("t2"))
}

pub fn three_sessions(bench: &Bench) -> (Value, Vec<[String; 4]>) {
    let spec = std::fs::read_to_string(repo_path("scripts/bench/three_sessions.spec"))
        .expect("reading the spec");
    for label in ["u1", "t1", "t2"] {
        let row = parse_label(&bench.system, label).expect("label");
        let uuid = bench.system.identity(&row).expect("an identity").as_text();
        assert!(spec.contains(&uuid), "the spec must use {label} = {uuid}");
    }
    let implementation = bench.implementation("stack-auth-post-1466");
    let case = bench.case(
        "u1 t1(u1) t2(u1)",
        &[
            "sign-out token=t1 user=u1",
            "sign-out token=t2 user=u1",
            "change-password-admin user=u1",
        ],
    );
    let (database, engine) = bench.engine();
    let (helper_database, helper) = bench.engine();
    let mut engines = vec![engine, helper];

    // Warm both sides first (a fresh database's first runs pay for catalog
    // and plan caches, and the engine's serial runs of the reference are
    // kept per case): what is compared is steady state.
    run_tester(bench, &database.name, &spec);
    for engine in &mut engines {
        bench
            .runtime
            .block_on(explore_counted(
                engine,
                &case,
                &implementation,
                ExploreLimits {
                    reduction: Reduction::None,
                    ..ExploreLimits::default()
                },
                |_| {},
            ))
            .expect("warm-up exploration");
    }
    let mut tester_s = Vec::new();
    let mut theirs = BTreeSet::new();
    let mut permutations = 0;
    for _ in 0..ROUNDS {
        let (seconds, trace) = run_tester(bench, &database.name, &spec);
        let values = values_under(&trace, "outcome");
        permutations = values.len();
        theirs = values.into_iter().collect();
        tester_s.push(seconds);
    }

    let limits = |reduction| ExploreLimits {
        reduction,
        ..ExploreLimits::default()
    };
    let (mut reduced_s, mut full_s, mut one_job_s) = (Vec::new(), Vec::new(), Vec::new());
    let (mut ours, mut full_outcomes) = (BTreeSet::new(), BTreeSet::new());
    let (mut schedules, mut abandoned, mut full_schedules) = (0, 0, 0);
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let (explored, stats) = bench
            .runtime
            .block_on(explore_parallel(
                &mut engines,
                &case,
                &implementation,
                limits(Reduction::Rows),
            ))
            .expect("explore, reduced, two jobs");
        reduced_s.push(started.elapsed().as_secs_f64());
        schedules = explored.len();
        abandoned = stats.abandoned;
        ours = explored.iter().map(outcome).collect();

        let started = Instant::now();
        bench
            .runtime
            .block_on(explore_counted(
                &mut engines[0],
                &case,
                &implementation,
                limits(Reduction::Rows),
                |_| {},
            ))
            .expect("explore, reduced, one job");
        one_job_s.push(started.elapsed().as_secs_f64());

        let started = Instant::now();
        let (explored, _) = bench
            .runtime
            .block_on(explore_counted(
                &mut engines[0],
                &case,
                &implementation,
                limits(Reduction::None),
                |_| {},
            ))
            .expect("explore, full");
        full_s.push(started.elapsed().as_secs_f64());
        full_schedules = explored.len();
        full_outcomes = explored.iter().map(outcome).collect();
    }
    assert_eq!(
        theirs, ours,
        "the tester and the reduced exploration must reach the same outcomes"
    );
    assert_eq!(
        ours, full_outcomes,
        "reduced and full reach the same outcomes"
    );
    drop(engines);
    let _ = bench.runtime.block_on(database.drop_database());
    let _ = bench.runtime.block_on(helper_database.drop_database());

    let (tester, reduced, one_job, full) = (
        median(&mut tester_s),
        median(&mut reduced_s),
        median(&mut one_job_s),
        median(&mut full_s),
    );
    let speedup = tester / reduced;
    let value = json!({
        "scenario": "three_sessions: sign-out t1, sign-out t2, change-password-admin u1 (stack-auth-post-1466, read committed)",
        "outcomes": ours.iter().collect::<Vec<_>>(),
        "isolationtester_permutations": permutations, "isolationtester_s": tester,
        "explore_reduced_jobs2_schedules": schedules, "explore_reduced_abandoned": abandoned,
        "explore_reduced_jobs2_s": reduced, "explore_reduced_jobs1_s": one_job,
        "explore_full_schedules": full_schedules, "explore_full_s": full,
        "speedup": speedup,
    });
    let rows = vec![
        [
            "full coverage, 3 sessions: explore (reduced, --jobs 2) vs isolationtester (all permutations)".to_string(),
            format!("{schedules} schedules, {:.0} ms", reduced * 1e3),
            format!(
                "{permutations} permutations, {:.0} ms ({speedup:.1}×)",
                tester * 1e3
            ),
            format!("≥10× — {}", if speedup >= 10.0 { "met" } else { "MISSED" }),
        ],
        [
            "full coverage, 3 sessions: explore reduced --jobs 1; full --jobs 1".to_string(),
            format!("{:.0} ms", one_job * 1e3),
            format!("full: {full_schedules} schedules, {:.0} ms", full * 1e3),
            "—".into(),
        ],
    ];
    (value, rows)
}
