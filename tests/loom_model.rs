#![cfg(feature = "loom-model")]
//! The loom model of the tombstone recorder's locking protocol (issue 5).
//!
//! Operations race over one user's two refresh tokens: `T` (the session signing out) and `U`
//! (another session). A sign-out is a single delete of one token, `change-password-admin` a bulk
//! delete of every token. Each test explores every interleaving loom's preemption bound allows and
//! asserts the set of outcomes seen: the tombstones left (with their writers) and the findings.
//!
//! Run: `make loom`, or deeper: `LOOM_MAX_PREEMPTIONS=4 make loom`.

use std::collections::BTreeSet;

use tombstone_harness::loom_model::{
    Finding, History, Operation, OperationId, Outcome, RowKey, Scenario, Shape, Step, StepResult,
    Tombstone, explore,
};

const ROWS: &[&str] = &["T", "U"];

fn sign_out(id: u16, shape: Shape) -> Operation {
    Operation::single_delete(id, "T", shape)
}

fn password_change(id: u16, shape: Shape) -> Operation {
    Operation::bulk_delete(id, shape)
}

fn outcome(tombstones: &[(&'static str, u16)], findings: &[Finding]) -> Outcome {
    let mut tombstones: Vec<Tombstone> = tombstones
        .iter()
        .map(|&(row, operation)| Tombstone {
            row: RowKey(row),
            operation: OperationId(operation),
        })
        .collect();
    tombstones.sort();
    let mut findings = findings.to_vec();
    findings.sort();
    Outcome {
        tombstones,
        findings,
    }
}

fn duplicate(row: &'static str, operations: &[u16]) -> Finding {
    Finding::DuplicateTombstone {
        row: RowKey(row),
        operations: operations.iter().map(|&id| OperationId(id)).collect(),
    }
}

fn the_1466_500(operation: u16, row: &'static str) -> Finding {
    Finding::SingleRecordFoundNoRow {
        operation: OperationId(operation),
        row: RowKey(row),
    }
}

/// The invariant, checked inside loom on every interleaving: a violation panics there, and loom
/// stops on the interleaving that broke it.
fn exactly_one_tombstone_per_deleted_row(outcome: &Outcome) {
    assert!(
        outcome.is_clean(),
        "the atomic shape broke the invariant: {outcome}"
    );
}

/// Explores `scenario` and asserts that the outcomes seen are exactly `expected`, each at least
/// once: a missing one means the exploration never reached it, an extra one a new behaviour.
fn check(scenario: Scenario, check_each: fn(&Outcome), expected: &[Outcome]) {
    let exploration = explore(&scenario, check_each);
    println!("{exploration}");
    let seen: BTreeSet<&Outcome> = exploration.outcomes.keys().collect();
    let expected: BTreeSet<&Outcome> = expected.iter().collect();
    // A preemption bound of 0 runs each operation to its end before the next starts: no race.
    assert_eq!(
        seen, expected,
        "unexpected set of outcomes (is LOOM_MAX_PREEMPTIONS at least 1?); the exploration:\n{exploration}"
    );
    assert!(
        exploration.interleavings > exploration.outcomes.len(),
        "too few interleavings to have raced anything:\n{exploration}"
    );
}

/// Stack Auth's `dev` paths: anomaly A (the #1466 500) and anomaly B (a duplicate), and the one
/// clean order, in which the sign-out finishes before the password change looks at `T`.
#[test]
fn autocommit_sign_out_racing_a_password_change_can_500_and_can_duplicate() {
    let scenario = Scenario::new(
        ROWS,
        &[
            sign_out(1, Shape::Autocommit),
            password_change(2, Shape::Autocommit),
        ],
    );
    check(
        scenario,
        |_| {},
        &[
            outcome(&[("T", 1), ("U", 2)], &[]),
            outcome(&[("T", 1), ("T", 2), ("U", 2)], &[duplicate("T", &[1, 2])]),
            outcome(&[("T", 2), ("U", 2)], &[the_1466_500(1, "T")]),
        ],
    );
}

/// A bulk record never checks its count, so two racing password changes duplicate silently:
/// both tokens at once (each statement holds all its locks to its end), never one alone.
#[test]
fn autocommit_two_password_changes_can_duplicate_every_row() {
    let scenario = Scenario::new(
        ROWS,
        &[
            password_change(1, Shape::Autocommit),
            password_change(2, Shape::Autocommit),
        ],
    );
    check(
        scenario,
        |_| {},
        &[
            outcome(&[("T", 1), ("U", 1)], &[]),
            outcome(&[("T", 2), ("U", 2)], &[]),
            outcome(
                &[("T", 1), ("T", 2), ("U", 1), ("U", 2)],
                &[duplicate("T", &[1, 2]), duplicate("U", &[1, 2])],
            ),
        ],
    );
}

/// The atomic shape: whichever operation deletes `T` records it, once. Both winners must be seen,
/// or the race was never explored.
#[test]
fn atomic_sign_out_racing_a_password_change_records_each_deleted_row_once() {
    let scenario = Scenario::new(
        ROWS,
        &[
            sign_out(1, Shape::Atomic),
            password_change(2, Shape::Atomic),
        ],
    );
    check(
        scenario,
        exactly_one_tombstone_per_deleted_row,
        &[
            outcome(&[("T", 1), ("U", 2)], &[]),
            outcome(&[("T", 2), ("U", 2)], &[]),
        ],
    );
}

#[test]
fn atomic_two_password_changes_record_each_deleted_row_once() {
    let scenario = Scenario::new(
        ROWS,
        &[
            password_change(1, Shape::Atomic),
            password_change(2, Shape::Atomic),
        ],
    );
    check(
        scenario,
        exactly_one_tombstone_per_deleted_row,
        &[
            outcome(&[("T", 1), ("U", 1)], &[]),
            outcome(&[("T", 2), ("U", 2)], &[]),
        ],
    );
}

/// A retried sign-out: in the autocommit shape no order is clean (the loser's record step finds
/// no row, pre-#1466 a 500, or both record), in the atomic shape every order is.
#[test]
fn double_sign_out_is_never_clean_in_autocommit_and_always_clean_when_atomic() {
    let autocommit = Scenario::new(
        ROWS,
        &[
            sign_out(1, Shape::Autocommit),
            sign_out(2, Shape::Autocommit),
        ],
    );
    check(
        autocommit,
        |_| {},
        &[
            outcome(&[("T", 1)], &[the_1466_500(2, "T")]),
            outcome(&[("T", 2)], &[the_1466_500(1, "T")]),
            outcome(&[("T", 1), ("T", 2)], &[duplicate("T", &[1, 2])]),
        ],
    );
    let atomic = Scenario::new(
        ROWS,
        &[sign_out(1, Shape::Atomic), sign_out(2, Shape::Atomic)],
    );
    check(
        atomic,
        exactly_one_tombstone_per_deleted_row,
        &[outcome(&[("T", 1)], &[]), outcome(&[("T", 2)], &[])],
    );
}

/// Three operations at once: both sessions sign out while an admin changes the password. Every
/// pairing of winners must be seen. The costliest test: it sets how deep CI can afford to go.
#[test]
fn atomic_two_sign_outs_racing_a_password_change_record_each_deleted_row_once() {
    let scenario = Scenario::new(
        ROWS,
        &[
            sign_out(1, Shape::Atomic),
            Operation::single_delete(2, "U", Shape::Atomic),
            password_change(3, Shape::Atomic),
        ],
    );
    check(
        scenario,
        exactly_one_tombstone_per_deleted_row,
        &[
            outcome(&[("T", 1), ("U", 2)], &[]),
            outcome(&[("T", 1), ("U", 3)], &[]),
            outcome(&[("T", 3), ("U", 2)], &[]),
            outcome(&[("T", 3), ("U", 3)], &[]),
        ],
    );
}

/// The oracle alone, on hand-built histories: each finding names its rows and operations.
#[test]
fn oracle_names_each_finding_with_its_rows_and_operations() {
    let operations = [
        sign_out(1, Shape::Autocommit),
        password_change(2, Shape::Autocommit),
    ];
    let step = |operation: u16, step: Step, recorded: &[&'static str], deleted: &[&'static str]| {
        StepResult {
            operation: OperationId(operation),
            step,
            recorded: recorded.iter().map(|&row| RowKey(row)).collect(),
            deleted: deleted.iter().map(|&row| RowKey(row)).collect(),
        }
    };
    // The sign-out found T gone; the password change recorded T twice (a bug the model cannot
    // make, written by hand), deleted T but never U, and left no tombstone for a row V it deleted.
    let history = History {
        rows: vec![RowKey("T"), RowKey("U"), RowKey("V")],
        step_results: vec![
            step(1, Step::Record, &[], &[]),
            step(1, Step::Delete, &[], &[]),
            step(2, Step::Record, &["T", "T", "U"], &[]),
            step(2, Step::Delete, &[], &["T", "V"]),
        ],
        tombstones: [("T", 2), ("U", 2), ("T", 2)]
            .iter()
            .map(|&(row, operation)| Tombstone {
                row: RowKey(row),
                operation: OperationId(operation),
            })
            .collect(),
        live_rows: BTreeSet::from([RowKey("U")]),
    };
    let outcome = Outcome::of(&operations, &history);
    let stories: Vec<String> = outcome.findings.iter().map(Finding::to_string).collect();
    assert_eq!(
        stories,
        [
            "A (0 rows recorded → 500, #1466): op1's step \"record token\" recorded 0 rows for token T",
            "B (duplicate tombstone): token T has 2 tombstones, written by op2 and op2",
            "C (missing tombstone): token V was deleted with no tombstone",
            "D (tombstone for a live row): token U is live but has tombstones written by op2",
        ]
    );
}
