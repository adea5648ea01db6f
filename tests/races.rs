//! The races the harness must find, asserted on the finding itself: which
//! invariant, which anomaly, which operations and rows, and how small the
//! shrunk case is.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use tombstone_harness::case::Case;
use tombstone_harness::chooser::Serial;
use tombstone_harness::counterexample::{Counterexample, story};
use tombstone_harness::engine::Engine;
use tombstone_harness::explore::{ExploreLimits, Reduction, explore, statement_order};
use tombstone_harness::generate::{Found, Hunt, Target, judge_for};
use tombstone_harness::judge::judge;
use tombstone_harness::oracle::{Anomaly, Invariant, Verdict, Violation};
use tombstone_harness::world::World;

fn sign_out_vs_admin_password_change() -> Case {
    common::case(
        &common::one_user(1),
        &["sign-out token=t1 user=u1", "change-password-admin user=u1"],
    )
}

/// Stack Auth's name for an anomaly: its label A or the letters it gives the
/// harness's kinds (B duplicate, C missing, D live, E server error).
fn letter(name: &str) -> Anomaly {
    Anomaly::all(&common::stack())
        .into_iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("stack-auth names no anomaly {name}"))
}

fn is(violation: &Violation, name: &str) -> bool {
    common::anomaly(violation).as_deref() == Some(name)
}

/// What one schedule did, in the words of the issue.
fn category(verdict: &Verdict, statuses: &[String], tombstones: usize) -> &'static str {
    if verdict.of(Invariant::NoServerError).any(|v| is(v, "A")) {
        "500 from 0 recorded rows (A)"
    } else if verdict
        .of(Invariant::ExactlyOneTombstone)
        .any(|v| is(v, "B"))
    {
        assert_eq!(tombstones, 2);
        "duplicate tombstone (B)"
    } else if statuses[0].starts_with("401") {
        assert!(verdict.is_clean(), "{verdict}");
        "0 rows recorded, client gets 401"
    } else {
        assert!(verdict.is_clean(), "{verdict}");
        "clean"
    }
}

/// Every schedule of sign-out × admin password change, grouped by the order
/// of the four token statements (the password-hash update touches no token).
fn exhaustive_1466(name: &str) -> BTreeMap<&'static str, usize> {
    let (_database, mut engine) = common::blocking_engine();
    let implementation = common::implementation(name);
    let case = sign_out_vs_admin_password_change();
    let every = ExploreLimits {
        reduction: Reduction::None,
        ..ExploreLimits::default()
    };
    let explored = common::runtime()
        .block_on(explore(&mut engine, &case, &implementation, every, |_| {}))
        .unwrap();
    // 2 sign-out statements, 3 password-change statements: C(5,2) schedules.
    assert_eq!(explored.len(), 10, "{name}");
    let mut groups: BTreeMap<String, &'static str> = BTreeMap::new();
    for one in &explored {
        let order = statement_order(&one.history, |step| step.contains("token"));
        let statuses: Vec<String> = one
            .history
            .results
            .iter()
            .map(ToString::to_string)
            .collect();
        let got = category(
            &one.verdict,
            &statuses,
            one.history.snapshot.tombstones.len(),
        );
        // Schedules that differ only in where the hash update went agree.
        if let Some(before) = groups.insert(order.clone(), got) {
            assert_eq!(before, got, "{name}: {order}");
        }
    }
    assert_eq!(
        groups.len(),
        6,
        "{name}: the 6 orders of the token statements"
    );
    let mut counts = BTreeMap::new();
    for got in groups.values() {
        *counts.entry(*got).or_insert(0) += 1;
    }
    counts
}

#[test]
fn exhaustively_post_1466_leaves_4_duplicates_1_zero_record_and_1_clean() {
    let counts = exhaustive_1466("stack-auth-post-1466");
    let expected = BTreeMap::from([
        ("duplicate tombstone (B)", 4),
        ("0 rows recorded, client gets 401", 1),
        ("clean", 1),
    ]);
    assert_eq!(counts, expected);
}

#[test]
fn exhaustively_pre_1466_turns_the_zero_record_order_into_the_500() {
    let counts = exhaustive_1466("stack-auth-pre-1466");
    let expected = BTreeMap::from([
        ("duplicate tombstone (B)", 4),
        ("500 from 0 recorded rows (A)", 1),
        ("clean", 1),
    ]);
    assert_eq!(counts, expected);
}

/// Under READ COMMITTED the atomic design is clean in every schedule. Under
/// REPEATABLE READ and SERIALIZABLE its transactions may also fail with 40001
/// (the application must retry, and this one does not): a 500, but never a
/// wrong tombstone.
#[test]
fn exhaustively_atomic_is_clean_on_the_1466_scenario_under_every_isolation_level() {
    let (_database, mut engine) = common::blocking_engine();
    for isolation in tombstone_harness::implementation::Isolation::ALL {
        let implementation = common::implementation("atomic").with_isolation(isolation);
        let case = sign_out_vs_admin_password_change();
        let explored = common::runtime()
            .block_on(explore(
                &mut engine,
                &case,
                &implementation,
                ExploreLimits::default(),
                |_| {},
            ))
            .unwrap();
        // 1 sign-out statement against update, delete-and-record, COMMIT;
        // fewer where the sign-out waits on the open transaction.
        assert!(
            (3..=4).contains(&explored.len()),
            "{isolation}: {}",
            explored.len()
        );
        for one in &explored {
            let schedule = &one.history.schedule;
            if isolation == tombstone_harness::implementation::Isolation::ReadCommitted {
                assert!(
                    one.verdict.is_clean(),
                    "{isolation}: {schedule}\n{}",
                    one.verdict
                );
                continue;
            }
            assert_eq!(
                one.verdict.of(Invariant::ExactlyOneTombstone).count(),
                0,
                "{isolation}: {schedule}\n{}",
                one.verdict
            );
            for v in one.verdict.of(Invariant::NoServerError) {
                assert!(
                    v.explanation.contains("40001"),
                    "{isolation}: {schedule}: {v}"
                );
            }
        }
    }
}

fn hunt(name: &str, target: Target, cases: u32, seed: u64) -> Option<Found> {
    let (_database, mut engine) = common::blocking_engine();
    hunt_on(&mut engine, name, target, cases, seed)
}

/// `hunt` on an engine the caller keeps, to ask it what the hunt cost.
fn hunt_on(
    engine: &mut Engine,
    name: &str,
    target: Target,
    cases: u32,
    seed: u64,
) -> Option<Found> {
    let implementation = common::implementation(name);
    let found = Hunt::from_env(cases, seed)
        .run(
            common::runtime(),
            engine,
            &common::stack(),
            &implementation,
            target,
        )
        .unwrap();
    if let Some(found) = &found {
        // Saved where Cargo keeps test scratch files, so a failing assertion
        // below comes with the exact command that replays the case.
        let example = Counterexample::new(
            name,
            None,
            &found.case,
            &found.history.schedule,
            &found.verdict,
        );
        let path = example
            .save(Path::new(env!("CARGO_TARGET_TMPDIR")))
            .unwrap();
        let replay = format!("tombstone-harness replay {}", path.display());
        eprintln!(
            "{}",
            story(name, &found.case, &found.history, &found.verdict, &replay)
        );
    }
    found
}

/// Hunts `name` for `anomaly` of `invariant` and returns the shrunk case
/// with that violation.
fn hunt_for(
    name: &str,
    invariant: Invariant,
    anomaly: &str,
    cases: u32,
    seed: u64,
) -> (Found, Violation) {
    let target = Target::Only(invariant, Some(letter(anomaly)));
    let found = hunt(name, target, cases, seed)
        .unwrap_or_else(|| panic!("{name}: anomaly {anomaly} is found"));
    let violation = found
        .verdict
        .of(invariant)
        .find(|v| is(v, anomaly))
        .cloned()
        .unwrap();
    (found, violation)
}

fn kinds(found: &Found) -> Vec<String> {
    found
        .case
        .operations
        .iter()
        .map(|o| o.action.kind.clone())
        .collect()
}

fn count(world: &World, entity: &str) -> usize {
    world.counts().get(entity).copied().unwrap_or(0)
}

fn has(kinds: &[String], any: &[&str]) -> bool {
    kinds.iter().any(|k| any.contains(&k.as_str()))
}

#[test]
fn pre_1466_the_500_shrinks_to_one_user_one_token_sign_out_and_password_change() {
    let found = hunt(
        "stack-auth-pre-1466",
        Target::Only(Invariant::NoServerError, Some(letter("A"))),
        300,
        1466,
    )
    .expect("the #1466 500 is found");
    let violation = found.verdict.of(Invariant::NoServerError).next().unwrap();
    assert!(is(violation, "A"), "{violation}");
    assert_eq!(count(&found.case.world, "user"), 1, "{}", found.case);
    assert_eq!(count(&found.case.world, "token"), 1, "{}", found.case);
    assert_eq!(found.case.operations.len(), 2, "{}", found.case);
    let kinds = kinds(&found);
    assert!(has(&kinds, &["sign-out", "delete-session"]), "{kinds:?}");
    assert!(
        has(
            &kinds,
            &["change-password-admin", "change-password", "delete-user"]
        ),
        "{kinds:?}"
    );
    // The 500 is the single delete's, not the bulk one's.
    let failing = &found.case.operations[violation.operations[0].0 as usize - 1];
    assert!(["sign-out", "delete-session"].contains(&failing.action.kind.as_str()));
}

#[test]
fn post_1466_never_gives_the_1466_500() {
    let found = hunt(
        "stack-auth-post-1466",
        Target::Only(Invariant::NoServerError, Some(letter("A"))),
        150,
        1466,
    );
    assert!(
        found.is_none(),
        "{:?}",
        found.map(|f| f.verdict.to_string())
    );
}

#[test]
fn post_1466_duplicate_tombstone_b() {
    let (found, violation) = hunt_for(
        "stack-auth-post-1466",
        Invariant::ExactlyOneTombstone,
        "B",
        300,
        7,
    );
    assert_eq!(violation.operations.len(), 2, "{violation}");
    assert_eq!(found.case.operations.len(), 2, "{}", found.case);
    assert!(
        matches!(violation.rows.as_slice(), [row] if row.entity_name() == "token"),
        "{violation}"
    );
    let tombstones = found
        .history
        .snapshot
        .tombstones
        .iter()
        .filter(|t| t.row == violation.rows[0])
        .count();
    assert_eq!(tombstones, 2);
}

#[test]
fn post_1466_missing_tombstone_c_when_a_sign_in_lands_between_record_and_delete() {
    let (found, violation) = hunt_for(
        "stack-auth-post-1466",
        Invariant::ExactlyOneTombstone,
        "C",
        400,
        11,
    );
    let kinds = kinds(&found);
    assert!(has(&kinds, &["sign-in"]), "{kinds:?}");
    assert_eq!(found.case.operations.len(), 2, "{}", found.case);
    // The lost row is the token the sign-in created.
    let created = found
        .case
        .operations
        .iter()
        .find(|o| o.action.kind == "sign-in")
        .and_then(|o| o.action.argument(&found.case.system, "token").cloned());
    assert_eq!(violation.rows, vec![created.unwrap()], "{violation}");
    assert!(!found.history.snapshot.live.contains(&violation.rows[0]));
}

#[test]
fn post_1466_tombstone_for_a_live_invitation_d_from_team_delete() {
    let (found, violation) = hunt_for(
        "stack-auth-post-1466",
        Invariant::ExactlyOneTombstone,
        "D",
        300,
        3,
    );
    assert!(
        matches!(violation.rows.as_slice(), [row] if row.entity_name() == "invitation"),
        "{violation}"
    );
    assert!(found.history.snapshot.live.contains(&violation.rows[0]));
    assert!(has(&kinds(&found), &["delete-team"]));
}

#[test]
fn post_1466_remaining_500s_e() {
    let (found, violation) = hunt_for(
        "stack-auth-post-1466",
        Invariant::NoServerError,
        "E",
        400,
        5,
    );
    // Two deletes of the same row: the second finds it gone and a branch
    // that #1466 did not touch (or Prisma's delete) still throws.
    let kinds = kinds(&found);
    assert_eq!(found.case.operations.len(), 2, "{}", found.case);
    assert_eq!(kinds[0], kinds[1], "{kinds:?}: {violation}");
    assert!(
        has(
            &kinds[..1],
            &["revoke-invitation", "delete-user", "delete-team"]
        ),
        "{kinds:?}"
    );
}

/// Every schedule of two operations on one world: the (schedule → verdict) list.
fn explore_all(name: &str, case: Case) -> Vec<(String, Verdict)> {
    let (_database, mut engine) = common::blocking_engine();
    let implementation = common::implementation(name);
    let explored = common::runtime()
        .block_on(explore(
            &mut engine,
            &case,
            &implementation,
            ExploreLimits::default(),
            |_| {},
        ))
        .unwrap();
    explored
        .into_iter()
        .map(|e| (e.history.schedule.to_string(), e.verdict))
        .collect()
}

fn second_operation_gets_e(explored: &[(String, Verdict)]) -> bool {
    explored.iter().any(|(_, verdict)| {
        verdict
            .of(Invariant::NoServerError)
            .any(|v| is(v, "E") && v.rows.len() == 1)
    })
}

#[test]
fn post_1466_double_revoke_and_concurrent_user_deletes_are_500s_e_but_not_for_atomic() {
    let world = tombstone_harness::table::standard_world(&common::stack()).text();
    let revoke = "revoke-invitation invitation=inv1 team=team1";
    let delete_user = "delete-user user=u2";
    for (name, expect_e) in [("stack-auth-post-1466", true), ("atomic", false)] {
        let revokes = explore_all(name, common::case(&world, &[revoke, revoke]));
        assert_eq!(
            second_operation_gets_e(&revokes),
            expect_e,
            "{name}: {revokes:?}"
        );
        let deletes = explore_all(name, common::case(&world, &[delete_user, delete_user]));
        assert_eq!(
            second_operation_gets_e(&deletes),
            expect_e,
            "{name}: {deletes:?}"
        );
        if !expect_e {
            assert!(
                revokes.iter().chain(&deletes).all(|(_, v)| v.is_clean()),
                "{name}"
            );
        }
    }
}

#[test]
fn atomic_is_clean_on_hundreds_of_generated_cases() {
    let found = hunt("atomic", Target::Any, 300, 42);
    assert!(
        found.is_none(),
        "{}",
        found.map(|f| f.verdict.to_string()).unwrap_or_default()
    );
}

/// Pruning (disjoint tables) and reduction (rows that do not conflict) skip
/// schedules that only reorder commuting statements: the password-hash
/// UPDATE commutes with the token statements, so pruning runs the 6 orders
/// of the token statements; the reduction also lets the two records of t1
/// commute (in autocommit their locks end with them, and two tombstone
/// inserts give the same rows in either order), so it runs 4. The
/// verdicts found are the same.
#[test]
fn pruned_exploration_keeps_one_schedule_per_order_of_conflicting_statements() {
    let (_database, mut engine) = common::blocking_engine();
    for name in ["stack-auth-pre-1466", "stack-auth-post-1466"] {
        let implementation = common::implementation(name);
        let case = sign_out_vs_admin_password_change();
        let mut kinds = Vec::new();
        for (reduction, schedules, orders) in [
            (Reduction::None, 10, 6),
            (Reduction::Tables, 6, 6),
            (Reduction::Rows, 4, 4),
        ] {
            let limits = ExploreLimits {
                reduction,
                ..ExploreLimits::default()
            };
            let explored = common::runtime()
                .block_on(explore(&mut engine, &case, &implementation, limits, |_| {}))
                .unwrap();
            let seen: std::collections::BTreeSet<String> = explored
                .iter()
                .map(|e| statement_order(&e.history, |step| step.contains("token")))
                .collect();
            assert_eq!(
                (explored.len(), seen.len()),
                (schedules, orders),
                "{name}, {reduction:?}: schedules and orders of the token statements"
            );
            let found: std::collections::BTreeSet<String> = explored
                .iter()
                .flat_map(|e| {
                    e.verdict
                        .violations
                        .iter()
                        .map(|v| format!("{}{:?}", v.invariant, v.anomaly))
                })
                .collect();
            kinds.push(found);
        }
        assert!(
            kinds.iter().all(|k| *k == kinds[0]),
            "{name}: pruning and reduction find the same kinds of violation"
        );
    }
}

/// A hunt for a tombstone anomaly decides each case from the run alone;
/// only the failure it reports is judged whole, with serial runs of the
/// reference (one per order of its operations at most).
#[test]
fn a_hunt_for_a_tombstone_anomaly_runs_the_reference_only_for_what_it_reports() {
    let (_database, mut engine) = common::blocking_engine();
    let target = Target::Only(Invariant::ExactlyOneTombstone, Some(letter("B")));
    let found =
        hunt_on(&mut engine, "stack-auth-post-1466", target, 300, 7).expect("anomaly B is found");
    let serial = engine.serial_runs_made() + engine.serial_runs_shared();
    let orders: u64 = (1..=found.case.operations.len() as u64).product();
    assert!(
        found.cases_run as u64 > 2 * orders,
        "{} cases",
        found.cases_run
    );
    assert!(
        serial <= orders,
        "{serial} serial runs for {} cases",
        found.cases_run
    );
    let whole = common::runtime()
        .block_on(judge(&mut engine, &found.case, &found.history))
        .unwrap();
    assert_eq!(found.verdict, whole);
}

/// Judged for a target, a run pays for serial runs of the reference only
/// where sequentially-explained could still meet the target.
#[test]
fn judging_for_a_target_runs_the_reference_only_where_the_target_needs_it() {
    let implementation = common::implementation("stack-auth-post-1466");
    let case = sign_out_vs_admin_password_change();
    let runtime = common::runtime();
    for (target, needs) in [
        (Target::Only(Invariant::ExactlyOneTombstone, None), false),
        (Target::Only(Invariant::NoServerError, None), false),
        (Target::Only(Invariant::SequentiallyExplained, None), true),
        (Target::Any, true),
    ] {
        // A fresh engine each: one remembers the serial runs it made.
        let (_database, mut engine) = common::blocking_engine();
        let history = runtime
            .block_on(engine.run(&case, &implementation, &mut Serial::default()))
            .unwrap();
        let verdict = runtime
            .block_on(judge_for(&mut engine, &case, &history, &target))
            .unwrap();
        assert!(verdict.is_clean(), "{target:?}: {verdict}");
        let serial = engine.serial_runs_made() + engine.serial_runs_shared();
        assert_eq!(serial > 0, needs, "{target:?}: {serial} serial runs");
    }
}

/// A hunt split over databases reports the same shrunk failure whatever
/// the number of them: the lowest failing case number wins, and it is
/// shrunk on one engine. Here anomaly B (a duplicate tombstone) of
/// pre-1466, shrunk to two operations.
#[test]
fn a_parallel_hunt_reports_the_same_failure_for_one_or_two_databases() {
    let system = common::stack();
    let implementation = common::implementation("stack-auth-pre-1466");
    let target = Target::Only(Invariant::ExactlyOneTombstone, Some(letter("B")));
    let mut reports = Vec::new();
    for jobs in [1, 2] {
        let databases_and_engines: Vec<_> = (0..jobs)
            .map(|_| common::runtime().block_on(common::engine()))
            .collect();
        let (databases, mut engines): (Vec<_>, Vec<_>) = databases_and_engines.into_iter().unzip();
        let found = common::runtime()
            .block_on(Hunt::from_env(200, 11).run_parallel(
                &mut engines,
                &system,
                &implementation,
                target.clone(),
            ))
            .unwrap()
            .unwrap_or_else(|| panic!("{jobs} jobs: anomaly B is found"));
        let b = found
            .verdict
            .of(Invariant::ExactlyOneTombstone)
            .find(|v| is(v, "B"));
        assert!(b.is_some(), "{jobs} jobs: {}", found.verdict);
        assert_eq!(found.case.operations.len(), 2, "{jobs} jobs: shrunk");
        reports.push((
            found.case.to_json(),
            found.history.schedule.to_string(),
            found.cases_run,
        ));
        drop(engines);
        drop(databases);
    }
    assert_eq!(reports[0], reports[1]);
}
