//! How the exhaustive mode grows with sessions × statements (2×2 … 3×4).
//! Each session signs out its own token with a sign-out of k statements
//! (k−2 reads of the token, then post-1466's record and delete), so no
//! session blocks another and the schedules are all (s·k)!/(k!)^s
//! interleavings. A size that would take longer than BENCH_SCALING_SECS
//! stops there; its full time is extrapolated from the rate.

use super::{Bench, env_u64};
use serde_json::{Value, json};
use std::time::Instant;
use tombstone_harness::chooser::Exhaustive;
use tombstone_harness::explore::{ExploreLimits, explore_counted};
use tombstone_harness::implementation::Implementation;
use tombstone_harness::judge::judge;

const RECORD: &str = r#"INSERT INTO "DeletedRow" ("id", "tenancyId", "tableName", "primaryKey", "data", "deletedAt", "shouldUpdateSequenceId")
SELECT gen_random_uuid(), t."tenancyId", 'ProjectUserRefreshToken',
       jsonb_build_object('tenancyId', t."tenancyId", 'id', t."id"), to_jsonb(t.*), now(), true
FROM "ProjectUserRefreshToken" t WHERE t."tenancyId" = :tenancy AND t."id" = :token FOR UPDATE"#;
const DELETE: &str =
    r#"DELETE FROM "ProjectUserRefreshToken" WHERE "tenancyId" = :tenancy AND "id" = :token"#;
const READ: &str =
    r#"SELECT 1 FROM "ProjectUserRefreshToken" WHERE "tenancyId" = :tenancy AND "id" = :token"#;

/// A bench-only implementation whose sign-out has `statements` steps.
pub fn sign_out_of(bench: &Bench, statements: usize) -> Implementation {
    let mut steps = String::new();
    for i in 1..=statements - 2 {
        steps.push_str(&format!(
            "  {{ name = \"read token {i}\", sql = '''{READ}''' }},\n"
        ));
    }
    steps.push_str(&format!(
        "  {{ name = \"record token\", sql = '''{RECORD}''' }},\n"
    ));
    steps.push_str(&format!(
        "  {{ name = \"delete token\", sql = '''{DELETE}''' }},\n"
    ));
    let text = format!(
        "name = \"bench-sign-out-{statements}\"\nisolation = \"read committed\"\n\n[operations.sign-out]\nsteps = [\n{steps}]\n"
    );
    Implementation::parse(&bench.system, "bench scaling", &text).unwrap_or_else(|e| panic!("{e}"))
}

fn interleavings(sessions: u64, statements: u64) -> u64 {
    let factorial = |n: u64| (1..=n).product::<u64>();
    factorial(sessions * statements) / factorial(statements).pow(sessions as u32)
}

pub fn exhaustive(bench: &Bench) -> (Value, Vec<[String; 4]>) {
    let cap_s = env_u64("BENCH_SCALING_SECS", 60) as f64;
    let (database, mut engine) = bench.engine();
    let mut sizes = Vec::new();
    let mut rows = Vec::new();
    for sessions in [2u16, 3] {
        for statements in [2usize, 3, 4] {
            let implementation = sign_out_of(bench, statements);
            let world: Vec<String> = (1..=sessions).map(|t| format!("t{t}(u1)")).collect();
            let actions: Vec<String> = (1..=sessions)
                .map(|t| format!("sign-out token=t{t} user=u1"))
                .collect();
            let actions: Vec<&str> = actions.iter().map(String::as_str).collect();
            let case = bench.case(&format!("u1 {}", world.join(" ")), &actions);
            let mut chooser = Exhaustive::new();
            let started = Instant::now();
            let (mut runs, mut complete) = (0u64, false);
            loop {
                let history = bench
                    .runtime
                    .block_on(engine.run(&case, &implementation, &mut chooser))
                    .expect("run");
                let _ = bench
                    .runtime
                    .block_on(judge(&mut engine, &case, &history))
                    .expect("judge");
                runs += 1;
                if !chooser.advance() {
                    complete = true;
                    break;
                }
                if started.elapsed().as_secs_f64() > cap_s {
                    break;
                }
            }
            let seconds = started.elapsed().as_secs_f64();
            let expected = interleavings(sessions as u64, statements as u64);
            let full_s = seconds * expected as f64 / runs as f64;
            // The same case reduced: the sessions never touch each other's
            // rows, so one class.
            let started = Instant::now();
            let (reduced, stats) = bench
                .runtime
                .block_on(explore_counted(
                    &mut engine,
                    &case,
                    &implementation,
                    ExploreLimits::default(),
                    |_| {},
                ))
                .expect("reduced exploration");
            let reduced_s = started.elapsed().as_secs_f64();
            sizes.push(json!({
                "sessions": sessions, "statements": statements, "schedules": expected, "ran": runs,
                "complete": complete, "seconds": seconds, "seconds_for_all": full_s,
                "schedules_per_s": runs as f64 / seconds,
                "reduced_schedules": reduced.len(), "reduced_abandoned": stats.abandoned,
                "reduced_seconds": reduced_s,
            }));
            rows.push([
                format!("reduced {sessions}×{statements}: schedules (+ ended early), wall time"),
                format!(
                    "{} (+{}), {:.3} s",
                    reduced.len(),
                    stats.abandoned,
                    reduced_s
                ),
                format!("full: {expected}, {full_s:.2} s"),
                if sessions == 3 && statements == 4 {
                    format!(
                        "< 0.1 s — {}",
                        if reduced_s < 0.1 { "met" } else { "MISSED" }
                    )
                } else {
                    "—".into()
                },
            ]);
            rows.push([
                format!("exhaustive {sessions}×{statements}: schedules, wall time"),
                format!(
                    "{expected}, {full_s:.2} s{}",
                    if complete {
                        String::new()
                    } else {
                        format!(" (extrapolated from {runs})")
                    }
                ),
                format!("{:.0} schedules/s", runs as f64 / seconds),
                "—".into(),
            ]);
        }
    }
    drop(engine);
    let _ = bench.runtime.block_on(database.drop_database());
    (json!(sizes), rows)
}
