//! The reduced exploration (one schedule per class of schedules that only
//! reorder statements on rows that do not conflict) is sound: on every
//! shipped scenario of every shipped system, and on small generated cases,
//! it finds exactly the outcomes (statuses, final rows, tombstones,
//! violations) the full enumeration finds, with fewer or as many runs.

mod common;

use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::collections::BTreeSet;
use std::sync::Arc;
use tombstone_harness::case::Case;
use tombstone_harness::engine::Engine;
use tombstone_harness::explore::{
    ExploreError, ExploreLimits, ExploreStats, Reduction, explore_counted, outcome,
};
use tombstone_harness::generate::{Bounds, case_seed};
use tombstone_harness::implementation::{Implementation, Isolation};
use tombstone_harness::scenario::Scenario;
use tombstone_harness::system::System;

/// The outcomes an exploration found, and how many schedules it ran.
fn outcomes(
    engine: &mut Engine,
    case: &Case,
    implementation: &Implementation,
    reduction: Reduction,
    schedules_max: u64,
) -> Result<(BTreeSet<String>, usize, ExploreStats), ExploreError> {
    let limits = ExploreLimits {
        schedules_max,
        reduction,
    };
    let (explored, stats) = common::runtime().block_on(explore_counted(
        engine,
        case,
        implementation,
        limits,
        |_| {},
    ))?;
    let found = explored.iter().map(outcome).collect();
    Ok((found, explored.len(), stats))
}

/// The levels worth comparing: read committed, and serializable where the
/// implementation opens transactions (the reduction then falls back to
/// ordering every statement of a transaction).
fn levels(implementation: &Implementation) -> Vec<(Isolation, Implementation)> {
    let mut levels = vec![Isolation::ReadCommitted];
    if implementation.uses_transactions() {
        levels.push(Isolation::Serializable);
    }
    levels
        .into_iter()
        .map(|level| (level, implementation.with_isolation(level)))
        .collect()
}

#[test]
fn reduced_exploration_finds_every_outcome_of_every_shipped_scenario() {
    let (mut full_runs, mut reduced_runs) = (0, 0);
    for name in System::shipped_names() {
        let system = System::load(name).unwrap_or_else(|e| panic!("{e}"));
        let (_database, mut engine) = common::runtime().block_on(common::engine_for(&system));
        for implementation in Implementation::shipped(&system).unwrap_or_else(|e| panic!("{e}")) {
            for (level, implementation) in levels(&implementation) {
                for scenario in Scenario::names(&system) {
                    let case = Scenario::load(&system, &scenario)
                        .unwrap_or_else(|e| panic!("{e}"))
                        .case;
                    let what = format!("{name} {scenario} {} at {level}", implementation.name);
                    let (full, ran_full, _) =
                        outcomes(&mut engine, &case, &implementation, Reduction::None, 5_000)
                            .unwrap_or_else(|e| panic!("{what}: {e}"));
                    let (reduced, ran_reduced, _) =
                        outcomes(&mut engine, &case, &implementation, Reduction::Rows, 5_000)
                            .unwrap_or_else(|e| panic!("{what}: {e}"));
                    assert_eq!(
                        full, reduced,
                        "{what}: the reduced exploration must find every outcome"
                    );
                    assert!(
                        ran_reduced <= ran_full,
                        "{what}: {ran_reduced} > {ran_full}"
                    );
                    if level == Isolation::ReadCommitted {
                        full_runs += ran_full;
                        reduced_runs += ran_reduced;
                    }
                }
            }
        }
    }
    // Above read committed a transaction's statements are ordered against
    // everything, so the saving is counted where rows decide. (Two deletes
    // of one user conflict on nearly every row: most of their 66 schedules
    // are distinct classes, so this is no half.)
    assert!(
        reduced_runs * 3 < full_runs * 2,
        "at read committed the reduction should save a third of the shipped scenarios' schedules: {reduced_runs} of {full_runs}"
    );
}

/// Small generated cases (2–3 operations) of every shipped system under
/// each of its implementations: the same outcomes, full or reduced.
#[test]
fn reduced_exploration_finds_every_outcome_of_generated_cases() {
    let bounds = Bounds {
        operations_min: 2,
        operations_max: 3,
        preferences_max: 0,
    };
    for name in System::shipped_names() {
        let system: Arc<System> = System::load(name).unwrap_or_else(|e| panic!("{e}"));
        let (_database, engine) = common::runtime().block_on(common::engine_for(&system));
        let engine = std::cell::RefCell::new(engine);
        for implementation in Implementation::shipped(&system).unwrap_or_else(|e| panic!("{e}")) {
            let kinds: Vec<String> = system
                .operations
                .keys()
                .filter(|k| implementation.script(k).is_some())
                .cloned()
                .collect();
            let strategy = case_seed(bounds, system.clone(), &kinds).expect("bounds");
            let mut runner = TestRunner::new_with_rng(
                Config {
                    cases: 10,
                    failure_persistence: None,
                    ..Config::default()
                },
                proptest::test_runner::TestRng::deterministic_rng(
                    proptest::test_runner::RngAlgorithm::ChaCha,
                ),
            );
            // Cases too big to enumerate are skipped; most must not be.
            let compared = std::cell::Cell::new(0);
            let result = runner.run(&strategy, |seed| {
                let (case, _) = seed.resolve();
                let engine = &mut engine.borrow_mut();
                // Cases past a few hundred schedules cost more than they
                // teach here; the shipped scenarios hold the larger ones.
                let full = match outcomes(engine, &case, &implementation, Reduction::None, 400) {
                    Err(ExploreError::SchedulesMax(_)) => return Ok(()),
                    other => other.map_err(|e| TestCaseError::fail(e.to_string()))?,
                };
                compared.set(compared.get() + 1);
                let reduced = outcomes(engine, &case, &implementation, Reduction::Rows, 400)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                if full.0 != reduced.0 || reduced.1 > full.1 {
                    return Err(TestCaseError::fail(format!(
                        "{}: full {} schedules {:#?}, reduced {} schedules {:#?}",
                        case.to_json(),
                        full.1,
                        full.0,
                        reduced.1,
                        reduced.0
                    )));
                }
                Ok(())
            });
            if let Err(e) = result {
                panic!("{name} {}: {e}", implementation.name);
            }
            assert!(
                compared.get() >= 5,
                "{name} {}: only {} of 10 cases were small enough to compare",
                implementation.name,
                compared.get()
            );
        }
    }
}

/// Sessions that sign out different tokens never touch each other's rows:
/// however many statements each has, there is one class, run once, with no
/// run ended early.
#[test]
fn independent_sessions_are_one_class_run_once() {
    let system = common::stack();
    let implementation = common::implementation("stack-auth-post-1466");
    let case = common::case(
        &common::one_user(3),
        &[
            "sign-out token=t1 user=u1",
            "sign-out token=t2 user=u1",
            "sign-out token=t3 user=u1",
        ],
    );
    let (_database, mut engine) = common::runtime().block_on(common::engine_for(&system));
    let (full, ran_full, _) =
        outcomes(&mut engine, &case, &implementation, Reduction::None, 5_000).expect("full");
    let (reduced, ran_reduced, stats) =
        outcomes(&mut engine, &case, &implementation, Reduction::Rows, 5_000).expect("reduced");
    assert_eq!(full, reduced);
    assert!(ran_full > 1, "{ran_full}");
    assert_eq!((ran_reduced, stats.abandoned), (1, 0));
}

/// Two sign-outs of the same token conflict: every order of their
/// conflicting statements is still run.
#[test]
fn sessions_on_the_same_row_keep_every_order_of_their_conflicts() {
    let system = common::stack();
    let implementation = common::implementation("stack-auth-post-1466");
    let case = common::case(
        &common::one_user(1),
        &["sign-out token=t1 user=u1", "sign-out token=t1 user=u1"],
    );
    let (_database, mut engine) = common::runtime().block_on(common::engine_for(&system));
    let (full, ran_full, _) =
        outcomes(&mut engine, &case, &implementation, Reduction::None, 5_000).expect("full");
    let (reduced, ran_reduced, _) =
        outcomes(&mut engine, &case, &implementation, Reduction::Rows, 5_000).expect("reduced");
    assert_eq!(full, reduced);
    assert!(full.len() > 1, "{full:#?}");
    assert!(ran_reduced >= full.len() && ran_reduced <= ran_full);
}

/// Every shipped statement that locks (`FOR UPDATE`) is read as locking the
/// rows of every table it reads: a lock taken for a plain read would let
/// the reduction swap it with a write to the same row.
#[test]
fn every_shipped_locking_statement_is_read_as_a_lock() {
    use tombstone_harness::implementation::touch::{Action, Space};
    let mut locking = 0;
    for name in System::shipped_names() {
        let system = System::load(name).unwrap_or_else(|e| panic!("{e}"));
        for implementation in Implementation::shipped(&system).unwrap_or_else(|e| panic!("{e}")) {
            let scripts = system
                .operations
                .keys()
                .filter_map(|k| implementation.script(k));
            for step in scripts.flat_map(|s| s.steps.iter()) {
                if !step.sql.to_ascii_uppercase().contains("FOR UPDATE") {
                    continue;
                }
                locking += 1;
                let reads = step
                    .touches
                    .iter()
                    .filter(|t| matches!(t.space, Space::Entity(_)) && t.action == Action::Read);
                assert_eq!(
                    reads.count(),
                    0,
                    "{name} {} step {}: {:?}",
                    implementation.name,
                    step.name,
                    step.touches
                );
            }
        }
    }
    assert!(locking > 5, "{locking}");
}

/// The blog's buggy recorder on the comment-delete-vs-post-delete scenario,
/// on a database of its own that a test then changes behind the harness.
struct Blog {
    implementation: Implementation,
    case: Case,
    database: tombstone_harness::db::Database,
    engine: Engine,
}

impl Blog {
    fn new() -> Blog {
        let system = System::load("blog").unwrap_or_else(|e| panic!("{e}"));
        let implementation =
            Implementation::load(&system, "blog-buggy").unwrap_or_else(|e| panic!("{e}"));
        let case = Scenario::load(&system, "comment-delete-vs-post-delete")
            .unwrap_or_else(|e| panic!("{e}"))
            .case;
        let (database, engine) = common::runtime().block_on(common::engine_for(&system));
        Blog {
            implementation,
            case,
            database,
            engine,
        }
    }

    fn explore(&mut self, reduction: Reduction) -> (BTreeSet<String>, usize, ExploreStats) {
        outcomes(
            &mut self.engine,
            &self.case,
            &self.implementation,
            reduction,
            5_000,
        )
        .unwrap_or_else(|e| panic!("{reduction:?}: {e}"))
    }

    /// A trigger of the schema's own: each deleted comment writes a row
    /// into a table no statement of the recorder names.
    fn add_audit_trigger(&self) {
        self.alter(
            "CREATE TABLE audit (what text);
             CREATE FUNCTION audit_delete() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN INSERT INTO audit VALUES ('deleted'); RETURN OLD; END $$;
             CREATE TRIGGER audit_comments AFTER DELETE ON comments
               FOR EACH ROW EXECUTE FUNCTION audit_delete();",
        );
    }

    /// An engine that has asked the database nothing yet.
    fn fresh_engine(&self) -> Engine {
        common::runtime()
            .block_on(Engine::open(
                self.database.connector(),
                tombstone_harness::engine::Limits::default(),
            ))
            .unwrap()
    }

    /// Runs `sql` as a DBA would, on a connection of its own.
    fn alter(&self, sql: &'static str) {
        use sqlx::Connection;
        common::runtime().block_on(async {
            let mut outsider = self.database.connect("outsider").await.unwrap();
            sqlx::raw_sql(sql).execute(&mut outsider).await.unwrap();
            outsider.close().await.unwrap();
        });
    }
}

/// A trigger of the schema's own may write rows no statement names: the
/// reduction cannot see that, so it is turned off and says why.
#[test]
fn a_schema_with_its_own_trigger_is_explored_in_full() {
    let mut blog = Blog::new();
    let (_, reduced, stats) = blog.explore(Reduction::Rows);
    assert!(stats.unreduced_for.is_empty(), "{stats:?}");
    blog.add_audit_trigger();
    let (_, full, _) = blog.explore(Reduction::None);
    let (_, ran, stats) = blog.explore(Reduction::Rows);
    assert_eq!(stats.unreduced_for, ["comments.audit_comments"]);
    assert!(reduced < full, "{reduced} < {full}");
    assert_eq!(ran, full);
}

/// A unique key on a tombstone table decides between two inserts for the
/// same row: the first run that meets it (23505) makes the exploration run
/// again with those inserts in every order, and it still finds every
/// outcome of the full enumeration.
#[test]
fn a_unique_key_on_tombstones_makes_the_reduction_stricter() {
    let mut blog = Blog::new();
    let (_, _, loose) = blog.explore(Reduction::Rows);
    assert!(!loose.strict, "{loose:?}");
    blog.alter("CREATE UNIQUE INDEX one_tombstone ON comments_tombstones (id)");
    let (full, _, _) = blog.explore(Reduction::None);
    let (reduced, _, stats) = blog.explore(Reduction::Rows);
    assert!(stats.strict, "{stats:?}");
    assert_eq!(full, reduced);
}

/// The invariants (with anomaly labels) a verdict names, for comparing two
/// judgements of one history whose explanations may differ in wording.
fn kinds(verdict: &tombstone_harness::oracle::Verdict) -> BTreeSet<String> {
    verdict
        .violations
        .iter()
        .map(|v| format!("{} {:?}", v.invariant, v.anomaly.as_ref().map(|a| &a.name)))
        .collect()
}

/// Judging skips the serial orders a failed run already rules out (same
/// prefix up to a wrong status, or the same order up to swapping operations
/// whose footprints do not conflict). On drawn cases of every shipped
/// system and implementation, run free, the verdict is the one every order
/// respecting real time gives, and fewer serial runs are made.
#[test]
fn skipping_ruled_out_serial_orders_never_changes_a_verdict() {
    use tombstone_harness::generate::drawn;
    use tombstone_harness::judge::judge;
    use tombstone_harness::oracle::{self, SerialRun, serial};
    let (mut judged_runs, mut every_order_runs, mut unexplained) = (0, 0, 0);
    for name in System::shipped_names() {
        let system: Arc<System> = System::load(name).unwrap_or_else(|e| panic!("{e}"));
        let (_database, mut engine) = common::runtime().block_on(common::engine_for(&system));
        for implementation in Implementation::shipped(&system).unwrap_or_else(|e| panic!("{e}")) {
            let kinds_of_operation: Vec<String> =
                implementation.operations.keys().cloned().collect();
            for n in 0..30 {
                let (case, _) =
                    drawn(7, n, Bounds::default(), &system, &kinds_of_operation).resolve();
                common::runtime().block_on(async {
                    let history = engine.run_free(&case, &implementation).await.unwrap();
                    let before = engine.serial_runs_made();
                    let verdict = judge(&mut engine, &case, &history).await.unwrap();
                    let made = engine.serial_runs_made() - before;
                    let (orders, _) = serial::orders_to_try(&case, &history);
                    let mut runs = Vec::new();
                    for order in orders {
                        let outcome = engine.run_serial(&case, &order).await.unwrap();
                        runs.push(SerialRun {
                            order,
                            results: outcome.results,
                            live: outcome.live,
                        });
                    }
                    let everything = oracle::judge(&case, &history, &runs);
                    // Where no order explains (and no 5xx cut it short),
                    // judging without skipping would have run every order.
                    if !runs.iter().any(|r| serial::explains(&case, &history, r))
                        && serial::server_errors(&case, &history).is_empty()
                    {
                        unexplained += 1;
                        judged_runs += made;
                        every_order_runs += runs.len() as u64;
                    }
                    assert_eq!(
                        kinds(&verdict),
                        kinds(&everything),
                        "{name} {}: {}\n{verdict}\n{everything}",
                        implementation.name,
                        case.to_json()
                    );
                });
            }
        }
    }
    assert!(
        unexplained >= 10,
        "only {unexplained} unexplained histories to judge"
    );
    assert!(
        judged_runs < every_order_runs,
        "on unexplained histories judging made {judged_runs} serial runs, every order is {every_order_runs}"
    );
}

/// A serial run put together from what other cases' operations did (each
/// operation meeting the same situation: the same action and the same live
/// rows in its scope, up to row numbers) is the run the case gets of its
/// own: the same results and the same live rows, on drawn cases of every
/// shipped system, in two orders each. A third of the runs or more are put
/// together: the situations repeat although the cases do not.
#[test]
fn serial_runs_shared_between_cases_equal_runs_of_their_own() {
    use tombstone_harness::generate::drawn;
    for name in System::shipped_names() {
        let system: Arc<System> = System::load(name).unwrap_or_else(|e| panic!("{e}"));
        let (_shared_database, mut shared) =
            common::runtime().block_on(common::engine_for(&system));
        let (_own_database, mut own) = common::runtime().block_on(common::engine_for(&system));
        own.share_serial_runs(false);
        let kinds_of_operation: Vec<String> = system.operations.keys().cloned().collect();
        for n in 0..120 {
            let (case, _) = drawn(11, n, Bounds::default(), &system, &kinds_of_operation).resolve();
            let forward: Vec<usize> = (0..case.operations.len()).collect();
            let backward: Vec<usize> = forward.iter().rev().copied().collect();
            for order in [forward, backward] {
                common::runtime().block_on(async {
                    let put_together = shared.run_serial(&case, &order).await.unwrap();
                    let run = own.run_serial(&case, &order).await.unwrap();
                    assert_eq!(
                        (&put_together.results, &put_together.live),
                        (&run.results, &run.live),
                        "{name}, order {order:?}: {}",
                        case.to_json()
                    );
                });
            }
        }
        assert_eq!(own.serial_runs_shared(), 0);
        assert!(
            shared.serial_runs_shared() >= 80,
            "{name}: only {} of 240 serial runs were put together from other cases",
            shared.serial_runs_shared()
        );
    }
}

/// What a serial run's operation did is shared with a later case whose
/// operation meets the same situation (a comment's delete on a live
/// comment), but not where the schema has a trigger of its own, which may
/// write rows no footprint names.
#[test]
fn serial_runs_are_shared_only_where_no_trigger_writes() {
    let blog = Blog::new();
    let system = blog.case.system.clone();
    let first = Case::parse(
        &system,
        "p1 p2 c1(p1) c2(p2)",
        &[
            "delete-comment comment=c1 post=p1",
            "delete-comment comment=c2 post=p2",
        ],
    )
    .unwrap();
    let later = Case::parse(&system, "p1 c1(p1)", &["delete-comment comment=c1 post=p1"]).unwrap();
    let shared_with_later = |engine: &mut Engine| {
        common::runtime().block_on(async {
            engine.run_serial(&first, &[0, 1]).await.unwrap();
            let before = engine.serial_runs_shared();
            let outcome = engine.run_serial(&later, &[0]).await.unwrap();
            assert_eq!(outcome.live.len(), 1, "only p1 is left: {:?}", outcome.live);
            engine.serial_runs_shared() - before
        })
    };
    let mut engine = blog.fresh_engine();
    assert_eq!(shared_with_later(&mut engine), 1);
    blog.add_audit_trigger();
    let mut next = blog.fresh_engine();
    assert_eq!(shared_with_later(&mut next), 0);
}

/// An insert's unique keys compare the new row with rows no statement
/// names: a comment added under the schema's key on its id alone meets the
/// same situation whatever other comments live, and the later case is put
/// together; with a unique key on the body too, every comment is in reach
/// and the later case runs.
#[test]
fn serial_runs_are_shared_only_as_far_as_the_unique_keys_allow() {
    let blog = Blog::new();
    let system = blog.case.system.clone();
    let first = Case::parse(&system, "p1 c1(p1)", &["add-comment comment=c2 post=p1"]).unwrap();
    let later = Case::parse(
        &system,
        "p1 p2 c1(p1) c3(p2)",
        &["add-comment comment=c2 post=p1"],
    )
    .unwrap();
    let shared_with_later = |engine: &mut Engine| {
        common::runtime().block_on(async {
            engine.run_serial(&first, &[0]).await.unwrap();
            let before = engine.serial_runs_shared();
            let outcome = engine.run_serial(&later, &[0]).await.unwrap();
            let left: Vec<String> = outcome.live.iter().map(|k| k.short()).collect();
            assert_eq!(left, ["p1", "p2", "c1", "c2", "c3"]);
            engine.serial_runs_shared() - before
        })
    };
    let mut engine = blog.fresh_engine();
    assert_eq!(shared_with_later(&mut engine), 1);
    blog.alter("CREATE UNIQUE INDEX comments_body_key ON comments (body)");
    let mut next = blog.fresh_engine();
    assert_eq!(shared_with_later(&mut next), 0);
}

/// What the catalog says about unique keys: the key columns only (not the
/// `INCLUDE`d ones), which of them an insert that leaves them out fills
/// with NULL, and no columns where a key compares on something else.
#[test]
fn the_catalog_gives_each_unique_key_its_columns() {
    use tombstone_harness::db::{Control, UniqueKey};
    let blog = Blog::new();
    blog.alter(
        "ALTER TABLE comments ADD COLUMN edited int, ADD COLUMN slot int DEFAULT 0,
           ADD COLUMN seq int GENERATED ALWAYS AS IDENTITY;
         CREATE UNIQUE INDEX comments_edited_key ON comments (edited) INCLUDE (body);
         CREATE UNIQUE INDEX comments_slot_key ON comments (post_id, slot, seq);
         CREATE UNIQUE INDEX comments_edited_same_key ON comments (body, edited) NULLS NOT DISTINCT;
         CREATE UNIQUE INDEX comments_lower_key ON comments (lower(body));
         ALTER TABLE posts ADD COLUMN area box,
           ADD CONSTRAINT posts_area_excl EXCLUDE USING gist (area WITH &&);",
    );
    let keys = common::runtime().block_on(async {
        let mut control = Control::open(&blog.database.connector()).await.unwrap();
        control.unique_keys().await.unwrap()
    });
    let key = |table: &str, columns: Option<&[&str]>, null: &[&str]| UniqueKey {
        table: table.into(),
        columns: columns.map(|c| c.iter().map(|c| c.to_string()).collect()),
        null_when_left_out: null.iter().map(|c| c.to_string()).collect(),
    };
    let mut expected = vec![
        key("comments", Some(&["id"]), &["id"]),
        key("comments", Some(&["edited"]), &["edited"]),
        key("comments", Some(&["post_id", "slot", "seq"]), &["post_id"]),
        key("comments", Some(&["body", "edited"]), &[]),
        key("comments", None, &[]),
        key("posts", Some(&["id"]), &["id"]),
        key("posts", None, &["area"]),
    ];
    let sorted = |keys: &mut Vec<UniqueKey>| {
        keys.sort_by_key(|k| format!("{k:?}"));
    };
    let mut keys = keys;
    sorted(&mut keys);
    sorted(&mut expected);
    assert_eq!(keys, expected);
}

/// The workers of one stress run (`--jobs`), each with its own database,
/// keep what operations did in one place: a situation one met (a comment
/// added to a post with one comment), the other meets with other row
/// numbers and does not run, and gets its own rows back; an engine of its
/// own would run it.
#[test]
fn stress_workers_share_what_operations_did_under_other_row_numbers() {
    let system: Arc<System> = System::load("blog").unwrap();
    let first = Case::parse(&system, "p1 c1(p1)", &["add-comment comment=c2 post=p1"]).unwrap();
    let later = Case::parse(&system, "p5 c4(p5)", &["add-comment comment=c9 post=p5"]).unwrap();
    let rt = common::runtime();
    let (_a, mut one) = rt.block_on(common::engine_for(&system));
    let (_b, mut other) = rt.block_on(common::engine_for(&system));
    let (_c, mut alone) = rt.block_on(common::engine_for(&system));
    other.keep_in(&one.kept_runs());
    rt.block_on(one.run_serial(&first, &[0])).unwrap();
    let put_together = rt.block_on(other.run_serial(&later, &[0])).unwrap();
    let own = rt.block_on(alone.run_serial(&later, &[0])).unwrap();
    assert_eq!(
        (other.serial_runs_shared(), other.serial_runs_made()),
        (1, 0)
    );
    assert_eq!(
        (alone.serial_runs_shared(), alone.serial_runs_made()),
        (0, 1)
    );
    assert_eq!(
        (&put_together.results, &put_together.live),
        (&own.results, &own.live)
    );
    let left: Vec<String> = own.live.iter().map(|k| k.short()).collect();
    assert_eq!(left, ["p5", "c4", "c9"]);
}

/// The footprints that make two serial orders equivalent cannot see what a
/// trigger of the schema's own writes: with one, no two orders are (from
/// the next engine on: one engine asks once).
#[test]
fn serial_orders_are_equivalent_only_where_no_trigger_writes() {
    let mut blog = Blog::new();
    let conflicts = common::runtime()
        .block_on(blog.engine.reference_conflicts(&blog.case))
        .unwrap();
    let conflicts = conflicts.expect("the blog has no trigger of its own");
    assert!(
        conflicts.iter().flatten().any(|c| *c),
        "both operations reach the post's comments: {conflicts:?}"
    );
    blog.add_audit_trigger();
    let mut next = blog.fresh_engine();
    let conflicts = common::runtime()
        .block_on(next.reference_conflicts(&blog.case))
        .unwrap();
    assert_eq!(conflicts, None);
}
