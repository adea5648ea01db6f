//! The oracles on hand-written histories: each anomaly's story, told as the
//! engine would record it, and the verdict it must get. No database.
//!
//! Longer than the ~400-line guideline: it is one binary per area (house
//! habit 12), and rustfmt spreads the story scripts one step per line, which
//! is also what makes them readable as schedules.

use std::collections::BTreeMap;
use tombstone_harness::case::Case;
use tombstone_harness::db::{Snapshot, StepReply, TombstoneRow};
use tombstone_harness::history::{Event, EventKind, History, OperationResult, Statement};
use tombstone_harness::implementation::Outcome;
use tombstone_harness::operation::{Action, OperationId};
use tombstone_harness::oracle::{Anomaly, Invariant, Verdict, judge};
use tombstone_harness::schedule::{Schedule, SessionId};
use tombstone_harness::world::{InvitationId, RowKey, Team, TeamId, TokenId, User, UserId, World};

const U1: UserId = UserId(1);
const T1: RowKey = RowKey::Token(TokenId(1));

/// A history written as a script: every `step` is one choice in which a
/// session sends a statement that completes at once, as in a serial run or
/// an interleaving without blocking.
struct Script {
    choices: Vec<SessionId>,
    events: Vec<Event>,
    step_index: BTreeMap<u16, usize>,
    results: Vec<Option<OperationResult>>,
}

impl Script {
    fn new(operations: usize) -> Script {
        Script {
            choices: Vec::new(),
            events: Vec::new(),
            step_index: BTreeMap::new(),
            results: vec![None; operations],
        }
    }

    fn send(mut self, session: u16, statement: Statement, reply: StepReply) -> Script {
        let session = SessionId(session);
        self.choices.push(session);
        let choice = self.choices.len();
        let sent = EventKind::Sent(statement.clone());
        let completed = EventKind::Completed { statement, reply };
        for kind in [sent, completed] {
            self.events.push(Event {
                choice,
                session,
                kind,
            });
        }
        self
    }

    /// Session `session` runs its next step, named `name`, which affects `rows`.
    fn step(mut self, session: u16, name: &str, rows: u64) -> Script {
        let index = self.step_index.entry(session).or_default();
        let statement = Statement::Step {
            index: *index,
            name: name.to_string(),
        };
        *index += 1;
        self.send(session, statement, StepReply::Rows(rows))
    }

    fn commit(self, session: u16) -> Script {
        self.send(session, Statement::Commit, StepReply::Rows(0))
    }

    /// The session's operation ends, at the choice of its last statement.
    fn finish(self, session: u16, outcome: &str) -> Script {
        let outcome = Outcome::parse(outcome).unwrap();
        self.end(session, OperationResult::Finished(outcome))
    }

    fn end(mut self, session: u16, result: OperationResult) -> Script {
        let choice = self.choices.len();
        let kind = EventKind::Finished(result.clone());
        self.events.push(Event {
            choice,
            session: SessionId(session),
            kind,
        });
        self.results[session as usize - 1] = Some(result);
        self
    }

    /// The history, ending with `live` rows and `tombstones` (row, writer op).
    fn ends_with(self, live: &[RowKey], tombstones: &[(RowKey, u16)]) -> History {
        let tombstones = tombstones
            .iter()
            .map(|(row, writer)| TombstoneRow {
                row: *row,
                writer: Some(OperationId(*writer)),
                primary_key: serde_json::Value::Null,
                data: None,
            })
            .collect();
        History {
            schedule: Schedule::new(self.choices),
            events: self.events,
            results: self
                .results
                .into_iter()
                .map(|r| r.expect("every operation ends"))
                .collect(),
            snapshot: Snapshot {
                live: live.iter().copied().collect(),
                tombstones,
            },
        }
    }
}

fn names<T: ToString>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Judges the history and checks each violation's invariant, anomaly, rows
/// and operations, one line each: `no-server-error A [token t1] [op1]`.
fn check(case: &Case, history: &History, expected: &[&str]) -> Verdict {
    let verdict = judge(case, history);
    let got: Vec<String> = verdict
        .violations
        .iter()
        .map(|v| {
            let anomaly = v.anomaly.map_or("-".to_string(), |a| a.to_string());
            format!(
                "{} {anomaly} [{}] [{}]",
                v.invariant,
                names(&v.rows),
                names(&v.operations)
            )
        })
        .collect();
    assert_eq!(got, expected, "verdict:\n{verdict}");
    verdict
}

fn explanation(verdict: &Verdict, invariant: Invariant) -> &str {
    let mut of = verdict.of(invariant);
    let violation = of
        .next()
        .unwrap_or_else(|| panic!("no {invariant} violation in:\n{verdict}"));
    &violation.explanation
}

/// #1466: the admin password change records and deletes t1; the sign-out's
/// single-row record then finds nothing.
fn issue_1466_case() -> Case {
    let actions = vec![
        Action::SignOut {
            user: U1,
            token: TokenId(1),
        },
        Action::ChangePasswordAdmin { user: U1 },
    ];
    Case::new(World::one_user(1), actions)
}

fn password_change_first() -> Script {
    Script::new(2)
        .step(2, "update password hash", 1)
        .step(2, "record all tokens", 1)
        .step(2, "delete all tokens", 1)
        .finish(2, "200")
}

#[test]
fn issue_1466_before_the_fix_is_a_500_named_anomaly_a() {
    let history = password_change_first()
        .step(1, "record token", 0)
        .finish(1, "500 expected exactly one recorded refresh token")
        .ends_with(&[RowKey::User(U1)], &[(T1, 2)]);
    let verdict = check(
        &issue_1466_case(),
        &history,
        &[
            "no-server-error A [token t1] [op1]",
            "sequentially-explained - [] [op1]",
        ],
    );
    assert_eq!(
        explanation(&verdict, Invariant::NoServerError),
        "op1 (sign-out u1 from t1) got 500 expected exactly one recorded refresh token after \
         'record token' (choice 4) recorded 0 rows: a bulk delete had already recorded and removed \
         token t1, and the single-row record asserted (#1466)"
    );
    // op2 finished before op1 began, so only one order may explain it.
    assert_eq!(
        explanation(&verdict, Invariant::SequentiallyExplained),
        "no serial order explains the history (the 1 order respecting real time tried); closest, \
         in order op2, op1: op1 would get 401 but got 500 expected exactly one recorded refresh token"
    );
}

#[test]
fn issue_1466_after_the_fix_is_a_401_and_clean() {
    let history = password_change_first()
        .step(1, "record token", 0)
        .step(1, "delete token", 0)
        .finish(1, "401 REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED")
        .ends_with(&[RowKey::User(U1)], &[(T1, 2)]);
    let verdict = check(&issue_1466_case(), &history, &[]);
    assert!(verdict.is_clean());
    assert_eq!(verdict.to_string(), "clean");
}

#[test]
fn a_duplicate_tombstone_names_both_writers_and_their_steps() {
    // Sign-out records t1; the password change's bulk record still sees t1.
    let history = Script::new(2)
        .step(1, "record token", 1)
        .step(2, "update password hash", 1)
        .step(2, "record all tokens", 1)
        .step(1, "delete token", 1)
        .finish(1, "200")
        .step(2, "delete all tokens", 0)
        .finish(2, "200")
        .ends_with(&[RowKey::User(U1)], &[(T1, 1), (T1, 2)]);
    let verdict = check(
        &issue_1466_case(),
        &history,
        &["exactly-one-tombstone B [token t1] [op1, op2]"],
    );
    assert_eq!(
        explanation(&verdict, Invariant::ExactlyOneTombstone),
        "token t1 has 2 tombstones: op1 'record token' (choice 1) and op2 'record all tokens' (choice 3)"
    );
    assert_eq!(verdict.anomalies(), [Anomaly::B]);
}

#[test]
fn a_token_signed_in_between_record_and_delete_has_no_tombstone() {
    let actions = vec![
        Action::ChangePasswordAdmin { user: U1 },
        Action::SignIn {
            user: U1,
            token: TokenId(2),
        },
    ];
    let case = Case::new(World::one_user(1), actions);
    let history = Script::new(2)
        .step(1, "update password hash", 1)
        .step(1, "record all tokens", 1)
        .step(2, "insert token", 1)
        .finish(2, "200")
        .step(1, "delete all tokens", 2)
        .finish(1, "200")
        .ends_with(&[RowKey::User(U1)], &[(T1, 1)]);
    let verdict = check(
        &case,
        &history,
        &["exactly-one-tombstone C [token t2] [op1]"],
    );
    assert_eq!(
        explanation(&verdict, Invariant::ExactlyOneTombstone),
        "token t2 (created by op2) was deleted with no tombstone: deleted by op1 'delete all tokens' (choice 4)"
    );
}

#[test]
fn a_team_delete_that_leaves_its_invitation_live_is_d_and_unexplained() {
    let world = World {
        users: vec![User {
            id: U1,
            tokens: Vec::new(),
        }],
        teams: vec![Team {
            id: TeamId(1),
            members: vec![U1],
            invitations: vec![InvitationId(1)],
        }],
    };
    let case = Case::new(world, vec![Action::DeleteTeam { team: TeamId(1) }]);
    let (team, member, invitation) = (
        RowKey::Team(TeamId(1)),
        RowKey::Member(TeamId(1), U1),
        RowKey::Invitation(InvitationId(1)),
    );
    let history = Script::new(1)
        .step(1, "find team", 1)
        .step(1, "record members", 1)
        .step(1, "record invitations", 1)
        .step(1, "record team", 1)
        .step(1, "delete team", 1)
        .commit(1)
        .finish(1, "200")
        .ends_with(
            &[RowKey::User(U1), invitation],
            &[(member, 1), (invitation, 1), (team, 1)],
        );
    let verdict = check(
        &case,
        &history,
        &[
            "exactly-one-tombstone D [invitation inv1] [op1]",
            "sequentially-explained - [invitation inv1] [op1]",
        ],
    );
    assert_eq!(
        explanation(&verdict, Invariant::ExactlyOneTombstone),
        "invitation inv1 is still live but has a tombstone: op1 'record invitations' (choice 3)"
    );
    assert!(
        explanation(&verdict, Invariant::SequentiallyExplained).ends_with(
            "in order op1: live rows differ: live in the database but not serially: invitation inv1"
        ),
        "{verdict}"
    );
}

/// u1 [t1 t2], u2 [t3]; team1 members [u1 u2] invitations [inv1].
fn standard_world() -> World {
    World {
        users: vec![
            User {
                id: U1,
                tokens: vec![TokenId(1), TokenId(2)],
            },
            User {
                id: UserId(2),
                tokens: vec![TokenId(3)],
            },
        ],
        teams: vec![Team {
            id: TeamId(1),
            members: vec![U1, UserId(2)],
            invitations: vec![InvitationId(1)],
        }],
    }
}

#[test]
fn a_clean_serial_history_passes_all_three() {
    let sign_out = Action::SignOut {
        user: U1,
        token: TokenId(1),
    };
    let actions = vec![
        sign_out.clone(),
        sign_out,
        Action::RevokeInvitation {
            team: TeamId(1),
            invitation: InvitationId(1),
        },
        Action::DeleteSession {
            user: U1,
            token: TokenId(2),
            current: TokenId(1),
        },
    ];
    let case = Case::new(standard_world(), actions);
    let history = Script::new(4)
        .step(1, "record token", 1)
        .step(1, "delete token", 1)
        .finish(1, "200")
        .step(2, "record token", 0)
        .step(2, "delete token", 0)
        .finish(2, "401 REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED")
        .step(3, "record invitation", 1)
        .step(3, "delete invitation", 1)
        .finish(3, "200")
        .step(4, "find session", 1)
        .step(4, "record token", 1)
        .step(4, "delete token", 1)
        .finish(4, "200");
    let deleted = [
        T1,
        RowKey::Invitation(InvitationId(1)),
        RowKey::Token(TokenId(2)),
    ];
    let live: Vec<RowKey> = case
        .world
        .rows()
        .into_iter()
        .filter(|r| !deleted.contains(r))
        .collect();
    let history = history.ends_with(&live, &[(T1, 1), (deleted[1], 3), (deleted[2], 4)]);
    for invariant in Invariant::ALL {
        assert_eq!(invariant.check(&case, &history), [], "{invariant}");
    }
    check(&case, &history, &[]);
}

#[test]
fn serial_orders_respect_real_time() {
    // op1 got 401 and finished before op2 began, which got 200: only the
    // order op2, op1 explains the statuses, and real time forbids it.
    let sign_out = Action::SignOut {
        user: U1,
        token: TokenId(1),
    };
    let case = Case::new(World::one_user(1), vec![sign_out.clone(), sign_out]);
    let history = Script::new(2)
        .step(1, "record token", 0)
        .step(1, "delete token", 0)
        .finish(1, "401 REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED")
        .step(2, "record token", 1)
        .step(2, "delete token", 1)
        .finish(2, "200")
        .ends_with(&[RowKey::User(U1)], &[(T1, 2)]);
    let verdict = check(&case, &history, &["sequentially-explained - [] [op1, op2]"]);
    assert!(
        explanation(&verdict, Invariant::SequentiallyExplained).ends_with(
            "in order op1, op2: op1 would get 200 but got 401 REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED; \
             op2 would get 401 but got 200"
        ),
        "{verdict}"
    );
}

#[test]
fn a_double_revoke_500_is_anomaly_e() {
    let revoke = Action::RevokeInvitation {
        team: TeamId(1),
        invitation: InvitationId(1),
    };
    let case = Case::new(standard_world(), vec![revoke.clone(), revoke]);
    let invitation = RowKey::Invitation(InvitationId(1));
    let history = Script::new(2)
        .step(1, "record invitation", 1)
        .step(1, "delete invitation", 1)
        .finish(1, "200")
        .step(2, "record invitation", 0)
        .step(2, "delete invitation", 0)
        .finish(2, "500 record to delete does not exist");
    let live: Vec<RowKey> = case
        .world
        .rows()
        .into_iter()
        .filter(|r| *r != invitation)
        .collect();
    let history = history.ends_with(&live, &[(invitation, 1)]);
    let verdict = check(
        &case,
        &history,
        &[
            "no-server-error E [invitation inv1] [op2]",
            "sequentially-explained - [] [op2]",
        ],
    );
    assert_eq!(
        explanation(&verdict, Invariant::NoServerError),
        "op2 (revoke-invitation inv1 of team1) got 500 record to delete does not exist after \
         'delete invitation' (choice 4) affected 0 rows"
    );
}

#[test]
fn an_indeterminate_history_is_never_judged() {
    // The same rows as the duplicate story, but op2's connection was lost.
    let history = Script::new(2)
        .step(1, "record token", 1)
        .step(2, "update password hash", 1)
        .step(2, "record all tokens", 1)
        .step(1, "delete token", 1)
        .finish(1, "200")
        .end(
            2,
            OperationResult::Indeterminate("connection lost: reset".into()),
        )
        .ends_with(&[RowKey::User(U1)], &[(T1, 1), (T1, 2)]);
    assert!(judge(&issue_1466_case(), &history).is_clean());
}

#[test]
fn verdicts_print_one_violation_per_line_and_serialize_by_name() {
    let history = password_change_first()
        .step(1, "record token", 0)
        .finish(1, "500 expected exactly one recorded refresh token")
        .ends_with(&[RowKey::User(U1)], &[(T1, 2), (T1, 2)]);
    let verdict = judge(&issue_1466_case(), &history);
    let text = verdict.to_string();
    let lines: Vec<&str> = text.lines().map(|l| l.split(':').next().unwrap()).collect();
    assert_eq!(
        lines,
        [
            "exactly-one-tombstone (B",
            "no-server-error (A",
            "sequentially-explained"
        ]
    );
    let json = serde_json::to_value(&verdict.violations[1]).unwrap();
    assert_eq!(json["invariant"], "no-server-error");
    assert_eq!(json["anomaly"], "A");
    assert_eq!(json["operations"], serde_json::json!([1]));
    assert_eq!(Anomaly::A.title(), "A: 0 rows recorded → 500 (#1466)");
    let titles: Vec<&str> = Anomaly::ALL.iter().map(|a| a.title()).collect();
    assert_eq!(
        titles[1..],
        [
            "B: duplicate tombstone",
            "C: missing tombstone",
            "D: tombstone for a live row",
            "E: other 500"
        ]
    );
}
