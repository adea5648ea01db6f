//! `explore --jobs`: the same exhaustive exploration on one engine and on
//! two (the tree split by its first choice), side by side. The case is the
//! scaling grid's 3 sessions × 3 statements (1,680 schedules, no blocking),
//! so the parts are equal and the ratio shows what a second core gives.

use super::{Bench, env_u64};
use serde_json::{Value, json};
use std::time::Instant;
use tombstone_harness::engine::{Engine, Limits};
use tombstone_harness::explore::{ExploreLimits, Reduction, explore, explore_parallel};

pub fn explore_scaling(bench: &Bench) -> (Value, Vec<[String; 4]>) {
    let jobs = env_u64("BENCH_JOBS", 2) as usize;
    let implementation = super::scaling::sign_out_of(bench, 3);
    let case = bench.case(
        "u1 t1(u1) t2(u1) t3(u1)",
        &[
            "sign-out token=t1 user=u1",
            "sign-out token=t2 user=u1",
            "sign-out token=t3 user=u1",
        ],
    );
    // The whole tree: what is measured is splitting it, not reducing it.
    let limits = ExploreLimits {
        reduction: Reduction::None,
        ..ExploreLimits::default()
    };
    let (one_db, mut one) = bench.engine();
    let started = Instant::now();
    let sequential = bench
        .runtime
        .block_on(explore(&mut one, &case, &implementation, limits, |_| {}))
        .expect("explore");
    let one_s = started.elapsed().as_secs_f64();
    drop(one);
    let _ = bench.runtime.block_on(one_db.drop_database());

    let (databases, mut engines): (Vec<_>, Vec<Engine>) = bench.runtime.block_on(async {
        let mut databases = Vec::new();
        let mut engines = Vec::new();
        for _ in 0..jobs {
            let database = bench
                .server
                .create_database(&bench.system)
                .await
                .expect("db");
            engines.push(
                Engine::open(database.connector(), Limits::default())
                    .await
                    .expect("engine"),
            );
            databases.push(database);
        }
        (databases, engines)
    });
    let started = Instant::now();
    let parallel = bench
        .runtime
        .block_on(explore_parallel(
            &mut engines,
            &case,
            &implementation,
            limits,
        ))
        .expect("explore --jobs")
        .0;
    let many_s = started.elapsed().as_secs_f64();
    drop(engines);
    for database in databases {
        let _ = bench.runtime.block_on(database.drop_database());
    }
    let same = sequential.len() == parallel.len()
        && sequential
            .iter()
            .zip(&parallel)
            .all(|(a, b)| a.history.fingerprint() == b.history.fingerprint());
    let speedup = one_s / many_s;
    let value = json!({
        "case": "3 sessions × 3 statements", "schedules": sequential.len(), "jobs": jobs,
        "one_job_s": one_s, "jobs_s": many_s, "speedup": speedup, "same_histories": same,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
    });
    let rows = vec![[
        format!(
            "explore --jobs {jobs} vs 1, 3×3 grid ({} schedules): wall time",
            sequential.len()
        ),
        format!("{many_s:.1} s ({speedup:.2}× faster)"),
        format!("1 job {one_s:.1} s"),
        format!("same histories: {}", if same { "yes" } else { "NO" }),
    ]];
    (value, rows)
}
