//! Every operation of every shipped implementation, run alone: the outcome
//! and the exact tombstone rows it writes.

mod common;

use tombstone_harness::case::Case;
use tombstone_harness::chooser::Serial;
use tombstone_harness::history::History;
use tombstone_harness::operation::{Action, OperationId};
use tombstone_harness::table::{solo_actions, solo_rows, standard_world};
use tombstone_harness::world::{World, parse_label};

const IMPLEMENTATIONS: [&str; 3] = ["stack-auth-pre-1466", "stack-auth-post-1466", "atomic"];

/// The outcome, the rows deleted and the tombstones written, as one line.
fn summary(world: &World, history: &History) -> String {
    let deleted: Vec<String> = world
        .keys()
        .into_iter()
        .filter(|r| !history.snapshot.live.contains(r))
        .map(|r| r.to_string())
        .collect();
    let tombstones: Vec<String> = history
        .snapshot
        .tombstones
        .iter()
        .map(|t| t.row.to_string())
        .collect();
    format!(
        "{} | deleted: {} | tombstones: {}",
        history.results[0],
        deleted.join(", "),
        tombstones.join(", ")
    )
}

/// What each operation does alone on the standard world, the same for all
/// three implementations except where the table says otherwise.
fn expected(implementation: &str, action: &Action) -> &'static str {
    match (implementation, action.kind.as_str()) {
        (_, "sign-in") => "200 | deleted:  | tombstones: ",
        (_, "sign-out") => "200 | deleted: token t1 | tombstones: token t1",
        (_, "delete-session") => "200 | deleted: token t2 | tombstones: token t2",
        (_, "change-password") => "200 | deleted: token t2 | tombstones: token t2",
        (_, "change-password-admin") => {
            "200 | deleted: token t1, token t2 | tombstones: token t1, token t2"
        }
        ("atomic", "delete-user") => {
            "200 | deleted: user u1, token t1, token t2, member m1 | tombstones: token t1, token t2, member m1, user u1"
        }
        (_, "delete-user") => {
            "200 | deleted: user u1, token t1, token t2, member m1 | tombstones: user u1, member m1, token t1, token t2"
        }
        (_, "revoke-invitation") => "200 | deleted: invitation inv1 | tombstones: invitation inv1",
        // Stack Auth's team delete records invitations but never deletes them
        // (anomaly D, already visible without any concurrency).
        ("atomic", "delete-team") => {
            "200 | deleted: team team1, member m1, member m2, invitation inv1 | tombstones: member m1, member m2, invitation inv1, team team1"
        }
        (_, "delete-team") => {
            "200 | deleted: team team1, member m1, member m2 | tombstones: member m1, member m2, invitation inv1, team team1"
        }
        (_, other) => panic!("stack-auth has no operation {other}"),
    }
}

#[tokio::test]
async fn every_operation_alone_gives_its_outcome_and_exact_tombstones() {
    let (_database, mut engine) = common::engine().await;
    let system = common::stack();
    let world = standard_world(&system);
    let actions = solo_actions(&system, &world);
    // One action of each of Stack Auth's eight operations.
    assert_eq!(actions.len(), 8, "{actions:?}");
    for name in IMPLEMENTATIONS {
        let implementation = common::implementation(name);
        let rows = solo_rows(&mut engine, &system, &implementation, &world, &actions)
            .await
            .unwrap();
        assert_eq!(rows.len(), actions.len(), "{name}");
        for row in rows {
            let got = summary(&world, &row.history);
            assert_eq!(got, expected(name, &row.action), "{name}: {}", row.action);
            for tombstone in &row.history.snapshot.tombstones {
                assert_eq!(
                    tombstone.writer,
                    Some(OperationId(1)),
                    "{name}: {} attributed",
                    row.action
                );
            }
        }
    }
}

#[tokio::test]
async fn a_tombstone_carries_the_deleted_rows_key_and_data() {
    let (_database, mut engine) = common::engine().await;
    let system = common::stack();
    let implementation = common::implementation("stack-auth-post-1466");
    let case = common::case(&common::one_user(1), &["sign-out token=t1 user=u1"]);
    let history = engine
        .run(&case, &implementation, &mut Serial::default())
        .await
        .unwrap();
    let [tombstone] = history.snapshot.tombstones.as_slice() else {
        panic!("{:?}", history.snapshot)
    };
    let t1 = parse_label(&system, "t1").unwrap();
    let u1 = parse_label(&system, "u1").unwrap();
    assert_eq!(tombstone.row, t1);
    let token = system.identity(&t1).unwrap().as_text();
    let user = system.identity(&u1).unwrap().as_text();
    assert_eq!(tombstone.primary_key["id"], token.as_str());
    let data = tombstone.data.as_ref().expect("the deleted row's data");
    assert_eq!(data["id"], token.as_str());
    assert_eq!(data["projectUserId"], user.as_str());
    assert_eq!(data["refreshToken"], token.as_str());
}

/// A second sign-out of the same token: 401 after #1466 and for atomic; the
/// real pre-fix behaviour, a 500 from the exact-count assertion, before it.
#[tokio::test]
async fn signing_out_twice() {
    let (_database, mut engine) = common::engine().await;
    let system = common::stack();
    let sign_out = "sign-out token=t1 user=u1";
    let case = common::case(&common::one_user(1), &[sign_out, sign_out]);
    let t1 = parse_label(&system, "t1").unwrap();
    for (name, second) in [
        (
            "stack-auth-pre-1466",
            "500 expected exactly one recorded refresh token",
        ),
        (
            "stack-auth-post-1466",
            "401 REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED",
        ),
        ("atomic", "401 REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED"),
    ] {
        let implementation = common::implementation(name);
        let history = engine
            .run(&case, &implementation, &mut Serial::default())
            .await
            .unwrap();
        assert_eq!(history.results[0].to_string(), "200", "{name}");
        assert_eq!(history.results[1].to_string(), second, "{name}");
        let tombstones: Vec<_> = history
            .snapshot
            .tombstones
            .iter()
            .map(|t| (t.row.clone(), t.writer))
            .collect();
        assert_eq!(
            tombstones,
            vec![(t1.clone(), Some(OperationId(1)))],
            "{name}"
        );
    }
}

/// Sequential double revoke and double user delete: the 500s that #1466 left
/// (anomaly E), and the 404s of the atomic design.
#[tokio::test]
async fn double_revoke_and_double_user_delete() {
    let (_database, mut engine) = common::engine().await;
    let system = common::stack();
    let world = standard_world(&system);
    let revoke = Action::parse(&system, "revoke-invitation invitation=inv1 team=team1").unwrap();
    let delete_user = Action::parse(&system, "delete-user user=u2").unwrap();
    for (name, revoke_again, delete_again) in [
        (
            "stack-auth-pre-1466",
            "500 expected exactly one recorded invitation",
            "404 USER_NOT_FOUND",
        ),
        (
            "stack-auth-post-1466",
            "500 record to delete does not exist",
            "404 USER_NOT_FOUND",
        ),
        ("atomic", "404 INVITATION_NOT_FOUND", "404 USER_NOT_FOUND"),
    ] {
        let implementation = common::implementation(name);
        let case = Case::new(
            system.clone(),
            world.clone(),
            vec![
                revoke.clone(),
                revoke.clone(),
                delete_user.clone(),
                delete_user.clone(),
            ],
        );
        let history = engine
            .run(&case, &implementation, &mut Serial::default())
            .await
            .unwrap();
        let results: Vec<String> = history.results.iter().map(ToString::to_string).collect();
        assert_eq!(
            results,
            vec!["200", revoke_again, "200", delete_again],
            "{name}"
        );
    }
}

#[tokio::test]
async fn refusing_to_delete_the_current_session_runs_no_statement() {
    let (_database, mut engine) = common::engine().await;
    let implementation = common::implementation("stack-auth-post-1466");
    let case = common::case(
        &common::one_user(1),
        &["delete-session current_token=t1 user=u1 token=t1"],
    );
    let history = engine
        .run(&case, &implementation, &mut Serial::default())
        .await
        .unwrap();
    assert_eq!(
        history.results[0].to_string(),
        "400 CANNOT_DELETE_CURRENT_SESSION"
    );
    assert!(history.schedule.choices.is_empty());
    assert!(history.snapshot.tombstones.is_empty());
}
