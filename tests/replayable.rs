//! The replayable-tombstone oracle and the naming of what the database
//! holds, on raw snapshots written by hand as the snapshot query reads
//! them: every way a tombstone can fail to replay its delete is a finding
//! that names the field, and nothing an implementation can write makes
//! naming fail. No database.

mod common;

use serde_json::{Value, json};
use tombstone_harness::case::Case;
use tombstone_harness::db::{RawRow, RawSnapshot, RawTombstone};
use tombstone_harness::history::{History, OperationResult};
use tombstone_harness::implementation::Outcome;
use tombstone_harness::oracle::{Invariant, SerialRun, Violation, judge};
use tombstone_harness::schedule::Schedule;
use tombstone_harness::tombstone::name_snapshot;
use tombstone_harness::world::parse_label;

const TENANCY: &str = "7e4a0000-0000-4000-8000-000000000001";

/// u1 with tokens t1 and t2; op1 signs out of t1 and got 200.
fn sign_out() -> Case {
    common::case("u1 t1(u1) t2(u1)", &["sign-out token=t1 user=u1"])
}

/// The key a correct recorder writes for `label` of `case`.
fn key(case: &Case, label: &str) -> Value {
    let row = parse_label(&case.system, label).unwrap();
    let world_row = case.all_rows().into_iter().find(|r| r.key == row).unwrap();
    case.system.key_json(&world_row)
}

fn id_of(case: &Case, label: &str) -> String {
    key(case, label)["id"].as_str().unwrap().to_string()
}

/// A DeletedRow row as op1 wrote it.
fn tombstone(table: &str, key: Value, data: Value, sync: bool) -> RawTombstone {
    RawTombstone {
        table: Some(table.into()),
        entity: None,
        key,
        data: Some(data),
        required: json!({ "shouldUpdateSequenceId": sync }),
        writer: Some("op1".into()),
    }
}

/// What token t1 held when it was deleted (the harness's trigger keeps it).
fn t1_content(case: &Case) -> Value {
    json!({ "tenancyId": TENANCY, "id": id_of(case, "t1"), "refreshToken": "x" })
}

/// The final tables: u1 and t2 live, t1 deleted (its content kept), and
/// `tombstones`.
fn raw(case: &Case, tombstones: Vec<RawTombstone>) -> RawSnapshot {
    let token = case.system.entity("token").unwrap();
    let user = case.system.entity("user").unwrap();
    RawSnapshot {
        live: vec![
            RawRow {
                entity: user,
                key: key(case, "u1"),
            },
            RawRow {
                entity: token,
                key: key(case, "t2"),
            },
        ],
        tombstones,
        deleted: vec![RawRow {
            entity: token,
            key: t1_content(case),
        }],
    }
}

fn history(case: &Case, raw: &RawSnapshot) -> History {
    History {
        schedule: Schedule::new(Vec::new()),
        events: Vec::new(),
        results: vec![OperationResult::Finished(Outcome::parse("200").unwrap())],
        snapshot: name_snapshot(case, raw),
    }
}

/// The replayable-tombstone violations of op1's run with `tombstones`.
fn replayable(tombstones: Vec<RawTombstone>) -> Vec<Violation> {
    let case = sign_out();
    let history = history(&case, &raw(&case, tombstones));
    Invariant::ReplayableTombstone.check(&case, &history, &[])
}

/// The one violation, which must be of `anomaly` and blame op1.
fn only(violations: Vec<Violation>, anomaly: &str) -> String {
    assert_eq!(violations.len(), 1, "{violations:?}");
    let violation = &violations[0];
    assert_eq!(violation.invariant, Invariant::ReplayableTombstone);
    assert_eq!(common::anomaly(violation).as_deref(), Some(anomaly));
    assert_eq!(violation.operations.len(), 1);
    assert_eq!(violation.operations[0].to_string(), "op1");
    violation.explanation.clone()
}

/// The one finding of a run whose only tombstone is this DeletedRow row.
fn finding(table: &str, key: Value, data: Value, sync: bool, anomaly: &str) -> String {
    only(replayable(vec![tombstone(table, key, data, sync)]), anomaly)
}

const TOKENS: &str = "ProjectUserRefreshToken";

#[test]
fn a_tombstone_with_the_exact_key_row_and_sync_flag_is_replayable() {
    let case = sign_out();
    let good = tombstone(TOKENS, key(&case, "t1"), t1_content(&case), true);
    assert!(replayable(vec![good]).is_empty());
}

#[test]
fn a_key_without_the_tenancy_is_wrong_and_names_the_field() {
    let case = sign_out();
    let partial = json!({ "id": id_of(&case, "t1") });
    let why = finding(TOKENS, partial, t1_content(&case), true, "wrong");
    assert!(why.contains("token t1"), "{why}");
    assert!(why.contains("key lacks field 'tenancyId'"), "{why}");
}

#[test]
fn a_misnamed_key_field_is_wrong_not_an_error() {
    let case = sign_out();
    let misnamed = json!({ "tenancyId": TENANCY, "tokenId": id_of(&case, "t1") });
    let why = finding(TOKENS, misnamed, t1_content(&case), true, "wrong");
    assert!(why.contains("key lacks field 'id'"), "{why}");
    assert!(why.contains("key has field 'tokenId'"), "{why}");
}

#[test]
fn a_key_value_of_another_json_type_is_wrong() {
    let case = sign_out();
    let mut typed = key(&case, "t1");
    typed["tenancyId"] = json!([TENANCY]);
    let why = finding(TOKENS, typed, t1_content(&case), true, "wrong");
    assert!(why.contains("field 'tenancyId' is [\""), "{why}");
}

#[test]
fn a_tombstone_the_sync_skips_is_wrong() {
    let case = sign_out();
    let why = finding(TOKENS, key(&case, "t1"), t1_content(&case), false, "wrong");
    assert!(
        why.contains("'shouldUpdateSequenceId' is false, the sync needs true"),
        "{why}"
    );
}

#[test]
fn data_that_is_not_the_deleted_row_is_wrong_column_by_column() {
    let case = sign_out();
    let mut stale = t1_content(&case);
    stale["refreshToken"] = json!("y");
    stale["extra"] = json!(1);
    let why = finding(TOKENS, key(&case, "t1"), stale, true, "wrong");
    assert!(
        why.contains("data field 'refreshToken' is \"y\", the row's is \"x\""),
        "{why}"
    );
    assert!(why.contains("data has field 'extra'"), "{why}");
}

#[test]
fn a_table_the_system_does_not_track_is_an_orphan() {
    let case = sign_out();
    let why = finding(
        "RefreshToken",
        key(&case, "t1"),
        t1_content(&case),
        true,
        "orphan",
    );
    assert!(
        why.contains("names table 'RefreshToken', which the system does not track"),
        "{why}"
    );
}

#[test]
fn keys_that_name_no_single_row_are_orphans() {
    let case = sign_out();
    let cases = [
        (json!("not json {"), "is not a JSON object"),
        (json!(42), "is not a JSON object"),
        (json!({ "tenancyId": TENANCY }), "names no row of the world"),
        (
            json!({ "id": "00000000-0000-4000-8000-00000000dead" }),
            "names no row of the world",
        ),
        (
            json!({ "a": id_of(&case, "t1"), "b": id_of(&case, "t2") }),
            "fits more than one row (token t1 and token t2)",
        ),
    ];
    for (key, reason) in cases {
        let why = finding(TOKENS, key.clone(), t1_content(&case), true, "orphan");
        assert!(why.contains(reason), "{key}: {why}");
    }
}

#[test]
fn a_key_held_as_text_still_points_at_its_row_but_is_wrong() {
    let case = sign_out();
    let text = Value::String(key(&case, "t1").to_string());
    let why = finding(TOKENS, text, t1_content(&case), true, "wrong");
    assert!(why.contains("token t1"), "{why}");
    assert!(why.contains("not an object"), "{why}");
}

#[test]
fn a_live_row_no_case_row_can_be_is_unexplained_not_an_error() {
    let case = sign_out();
    let good = tombstone(TOKENS, key(&case, "t1"), t1_content(&case), true);
    let mut raw = raw(&case, vec![good]);
    let token = case.system.entity("token").unwrap();
    raw.live.push(RawRow {
        entity: token,
        key: json!({ "tenancyId": TENANCY, "id": "00000000-0000-4000-8000-00000000beef" }),
    });
    let history = history(&case, &raw);
    assert_eq!(history.snapshot.strangers.len(), 1);
    let reference = SerialRun {
        order: vec![0],
        results: history.results.clone(),
        live: history.snapshot.live.clone(),
    };
    let verdict = judge(&case, &history, &[reference]);
    let unexplained: Vec<&Violation> = verdict.of(Invariant::SequentiallyExplained).collect();
    assert_eq!(unexplained.len(), 1, "{verdict}");
    assert!(
        unexplained[0]
            .explanation
            .contains("live in the database and no row of the case: ProjectUserRefreshToken"),
        "{verdict}"
    );
}
