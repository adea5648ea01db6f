//! The oracles on hand-written histories: each anomaly's story, told as the
//! engine would record it, and the verdict it must get. No database: where a
//! story is about sequentially-explained, the serial runs of the reference
//! implementation (atomic) are written out too, as the engine would gather
//! them.
//!
//! Longer than the ~400-line guideline: it is one binary per area (house
//! habit 12), and rustfmt spreads the story scripts one step per line, which
//! is also what makes them readable as schedules.

mod common;

use std::collections::BTreeMap;
use tombstone_harness::case::Case;
use tombstone_harness::db::StepReply;
use tombstone_harness::history::{Event, EventKind, History, OperationResult, Snapshot, Statement};
use tombstone_harness::implementation::{Implementation, Outcome};
use tombstone_harness::operation::OperationId;
use tombstone_harness::oracle::{Anomaly, Invariant, SerialRun, Verdict, judge};
use tombstone_harness::schedule::{Schedule, SessionId};
use tombstone_harness::world::{RowKey, parse_label};

/// Rows by label, separated by spaces: `rows("u1 t1")`.
fn rows(labels: &str) -> Vec<RowKey> {
    let system = common::stack();
    labels
        .split_whitespace()
        .map(|label| parse_label(&system, label).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

/// Stack Auth's anomaly of that name (A label; B duplicate, C missing,
/// D live, E server error).
fn letter(name: &str) -> Anomaly {
    Anomaly::all(&common::stack())
        .into_iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("stack-auth names no anomaly {name}"))
}

/// What the reference implementation (atomic) does when the operations run
/// one after the other in `order` (indexes): each operation's outcome, by
/// operation index, and the rows live at the end.
fn serial(order: &[usize], outcomes: &[&str], live: &[RowKey]) -> SerialRun {
    SerialRun {
        order: order.to_vec(),
        results: outcomes
            .iter()
            .map(|o| OperationResult::Finished(Outcome::parse(o).unwrap()))
            .collect(),
        live: live.iter().cloned().collect(),
    }
}

/// A history written as a script: every `step` is one choice in which a
/// session sends a statement that completes at once, as in a serial run or
/// an interleaving without blocking. Each step is the real step of that
/// name of the session's operation in Stack Auth's implementation (its
/// footprint is what blame reads).
struct Script {
    case: Case,
    implementation: Implementation,
    kinds: Vec<String>,
    choices: Vec<SessionId>,
    events: Vec<Event>,
    step_index: BTreeMap<u16, usize>,
    results: Vec<Option<OperationResult>>,
}

impl Script {
    fn new(case: &Case) -> Script {
        Script {
            case: case.clone(),
            implementation: common::implementation("stack-auth-post-1466"),
            kinds: case
                .operations
                .iter()
                .map(|o| o.action.kind.clone())
                .collect(),
            choices: Vec::new(),
            events: Vec::new(),
            step_index: BTreeMap::new(),
            results: vec![None; case.operations.len()],
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
        let kind = &self.kinds[session as usize - 1];
        let footprint = self
            .implementation
            .script(kind)
            .and_then(|script| script.steps.iter().find(|s| s.name == name))
            .unwrap_or_else(|| panic!("{kind} has no step {name:?}"))
            .footprint;
        let index = self.step_index.entry(session).or_default();
        let statement = Statement::Step {
            index: *index,
            name: name.to_string(),
            footprint,
        };
        *index += 1;
        self.send(session, statement, StepReply::Rows(rows))
    }

    fn commit(self, session: u16) -> Script {
        self.send(session, Statement::Commit, StepReply::Rows(0))
    }

    fn begin(self, session: u16) -> Script {
        let begin = Statement::Begin("read committed".into());
        self.send(session, begin, StepReply::Rows(0))
    }

    fn rollback(self, session: u16) -> Script {
        self.send(session, Statement::Rollback, StepReply::Rows(0))
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

    /// The history, ending with `live` rows and `tombstones` (row label,
    /// writer op).
    fn ends_with(self, live: &[RowKey], tombstones: &[(&str, u16)]) -> History {
        let tombstones = tombstones
            .iter()
            .map(|(label, writer)| common::recorded(&self.case, rows(label).remove(0), *writer))
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
                live: live.iter().cloned().collect(),
                tombstones,
                ..Snapshot::default()
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

/// Judges the history (with the serial runs `serial` of the reference) and
/// checks each violation's invariant, anomaly, rows and operations, one line
/// each: `no-server-error A [token t1] [op1]`.
fn check(case: &Case, history: &History, serial: &[SerialRun], expected: &[&str]) -> Verdict {
    let verdict = judge(case, history, serial);
    let got: Vec<String> = verdict
        .violations
        .iter()
        .map(|v| {
            let anomaly = v
                .anomaly
                .as_ref()
                .map_or("-".to_string(), |a| a.to_string());
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
    common::case(
        &common::one_user(1),
        &["sign-out token=t1 user=u1", "change-password-admin user=u1"],
    )
}

/// The only order real time allows once op2 finished before op1 began:
/// serially op2 takes t1, and op1 finds nothing (401).
fn password_change_then_sign_out() -> SerialRun {
    serial(
        &[1, 0],
        &["401 REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED", "200"],
        &rows("u1"),
    )
}

fn password_change_first(case: &Case) -> Script {
    Script::new(case)
        .step(2, "update password hash", 1)
        .step(2, "record all tokens", 1)
        .step(2, "delete all tokens", 1)
        .finish(2, "200")
}

#[test]
fn issue_1466_before_the_fix_is_a_500_named_anomaly_a() {
    let case = issue_1466_case();
    let history = password_change_first(&case)
        .step(1, "record token", 0)
        .finish(1, "500 expected exactly one recorded refresh token")
        .ends_with(&rows("u1"), &[("t1", 2)]);
    let verdict = check(
        &case,
        &history,
        &[password_change_then_sign_out()],
        &[
            "no-server-error A [token t1] [op1]",
            "sequentially-explained - [] [op1]",
        ],
    );
    assert_eq!(
        explanation(&verdict, Invariant::NoServerError),
        "op1 (sign-out u1 from t1) got 500 expected exactly one recorded refresh token after \
         'record token' (choice 4) recorded 0 rows: op2 had already recorded and removed \
         token t1, and the single-row record found nothing (A: 0 rows recorded → 500 (#1466))"
    );
    // A correct server never answers a 5xx: no order can explain it, and the
    // order the operations finished in shows what one would have answered.
    assert_eq!(
        explanation(&verdict, Invariant::SequentiallyExplained),
        "no serial order explains the history: op1 got a 5xx, which a correct server never \
         answers; as the operations finished, in order op2, op1: op1 would get 401 but got 500 \
         expected exactly one recorded refresh token"
    );
}

#[test]
fn issue_1466_after_the_fix_is_a_401_and_clean() {
    let case = issue_1466_case();
    let history = password_change_first(&case)
        .step(1, "record token", 0)
        .step(1, "delete token", 0)
        .finish(1, "401 REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED")
        .ends_with(&rows("u1"), &[("t1", 2)]);
    let verdict = check(&case, &history, &[password_change_then_sign_out()], &[]);
    assert!(verdict.is_clean());
    assert_eq!(verdict.to_string(), "clean");
}

#[test]
fn a_duplicate_tombstone_names_both_writers_and_their_steps() {
    // Sign-out records t1; the password change's bulk record still sees t1.
    let case = issue_1466_case();
    let history = Script::new(&case)
        .step(1, "record token", 1)
        .step(2, "update password hash", 1)
        .step(2, "record all tokens", 1)
        .step(1, "delete token", 1)
        .finish(1, "200")
        .step(2, "delete all tokens", 0)
        .finish(2, "200")
        .ends_with(&rows("u1"), &[("t1", 1), ("t1", 2)]);
    // In the order they finished, the reference explains the statuses and rows.
    let explained = serial(&[0, 1], &["200", "200"], &rows("u1"));
    let verdict = check(
        &case,
        &history,
        &[explained],
        &["exactly-one-tombstone B [token t1] [op1, op2]"],
    );
    assert_eq!(
        explanation(&verdict, Invariant::ExactlyOneTombstone),
        "token t1 has 2 tombstones: op1 'record token' (choice 1) and op2 'record all tokens' (choice 3)"
    );
    assert_eq!(verdict.anomalies(), [letter("B")]);
}

#[test]
fn a_token_signed_in_between_record_and_delete_has_no_tombstone() {
    let case = common::case(
        &common::one_user(1),
        &["change-password-admin user=u1", "sign-in user=u1 token=t2"],
    );
    let history = Script::new(&case)
        .step(1, "update password hash", 1)
        .step(1, "record all tokens", 1)
        .step(2, "insert token", 1)
        .finish(2, "200")
        .step(1, "delete all tokens", 2)
        .finish(1, "200")
        .ends_with(&rows("u1"), &[("t1", 1)]);
    // Serially, sign-in then the password change: both 200, only u1 left.
    let explained = serial(&[1, 0], &["200", "200"], &rows("u1"));
    let verdict = check(
        &case,
        &history,
        &[explained],
        &["exactly-one-tombstone C [token t2] [op1]"],
    );
    assert_eq!(
        explanation(&verdict, Invariant::ExactlyOneTombstone),
        "token t2 (created by op2) was deleted with no tombstone: deleted by op1 'delete all tokens' (choice 4)"
    );
}

#[test]
fn a_delete_that_was_rolled_back_is_not_blamed_for_a_missing_tombstone() {
    let case = common::case(
        &common::one_user(1),
        &[
            "change-password-admin user=u1",
            "change-password-admin user=u1",
        ],
    );
    // op2 deletes t1 inside a transaction that rolls back; op1 then deletes
    // it for good without having recorded it.
    let history = Script::new(&case)
        .begin(2)
        .step(2, "update password hash", 1)
        .step(2, "delete all tokens", 1)
        .rollback(2)
        .finish(2, "404 USER_NOT_FOUND")
        .step(1, "update password hash", 1)
        .step(1, "record all tokens", 0)
        .step(1, "delete all tokens", 1)
        .finish(1, "200")
        .ends_with(&rows("u1"), &[]);
    let verdict = judge(&case, &history, &[]);
    let missing: Vec<_> = verdict.of(Invariant::ExactlyOneTombstone).collect();
    assert_eq!(missing.len(), 1, "{verdict}");
    assert_eq!(
        missing[0].explanation,
        "token t1 was deleted with no tombstone: deleted by op1 'delete all tokens' (choice 7)"
    );
    assert_eq!(missing[0].operations, vec![OperationId(1)]);
}

#[test]
fn a_team_delete_that_leaves_its_invitation_live_is_d_and_unexplained() {
    let case = common::case(
        "u1 team1 m1(team1,u1) inv1(team1)",
        &["delete-team team=team1"],
    );
    let history = Script::new(&case)
        .step(1, "find team", 1)
        .step(1, "record members", 1)
        .step(1, "record invitations", 1)
        .step(1, "record team", 1)
        .step(1, "delete team", 1)
        .commit(1)
        .finish(1, "200")
        .ends_with(&rows("u1 inv1"), &[("m1", 1), ("inv1", 1), ("team1", 1)]);
    // The reference deletes the team's invitations too.
    let reference = serial(&[0], &["200"], &rows("u1"));
    let verdict = check(
        &case,
        &history,
        &[reference],
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

/// u1 [t1 t2], u2 [t3]; team1 members [u1 u2] invitations [inv1] (the
/// solo world, `table::standard_world`).
const STANDARD_WORLD: &str =
    "u1 u2 t1(u1) t2(u1) t3(u2) team1 m1(team1,u1) m2(team1,u2) inv1(team1)";

/// The world's rows without `deleted`.
fn live_after(case: &Case, deleted: &[RowKey]) -> Vec<RowKey> {
    case.world
        .keys()
        .into_iter()
        .filter(|r| !deleted.contains(r))
        .collect()
}

#[test]
fn a_clean_serial_history_passes_all_three() {
    let case = common::case(
        STANDARD_WORLD,
        &[
            "sign-out token=t1 user=u1",
            "sign-out token=t1 user=u1",
            "revoke-invitation invitation=inv1 team=team1",
            "delete-session current_token=t1 user=u1 token=t2",
        ],
    );
    let history = Script::new(&case)
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
    let live = live_after(&case, &rows("t1 inv1 t2"));
    let history = history.ends_with(&live, &[("t1", 1), ("inv1", 3), ("t2", 4)]);
    // Each operation finished before the next began: one order, which the
    // reference runs to the same statuses and rows.
    let serial = [serial(
        &[0, 1, 2, 3],
        &[
            "200",
            "401 REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED",
            "200",
            "200",
        ],
        &live,
    )];
    for invariant in Invariant::ALL {
        assert_eq!(invariant.check(&case, &history, &serial), [], "{invariant}");
    }
    check(&case, &history, &serial, &[]);
}

#[test]
fn serial_orders_respect_real_time() {
    // op1 got 401 and finished before op2 began, which got 200: only the
    // order op2, op1 explains the statuses, and real time forbids it.
    let case = common::case(
        &common::one_user(1),
        &["sign-out token=t1 user=u1", "sign-out token=t1 user=u1"],
    );
    let history = Script::new(&case)
        .step(1, "record token", 0)
        .step(1, "delete token", 0)
        .finish(1, "401 REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED")
        .step(2, "record token", 1)
        .step(2, "delete token", 1)
        .finish(2, "200")
        .ends_with(&rows("u1"), &[("t1", 2)]);
    // The one order real time allows, as the reference runs it.
    let in_order = serial(
        &[0, 1],
        &["200", "401 REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED"],
        &rows("u1"),
    );
    let verdict = check(
        &case,
        &history,
        &[in_order],
        &["sequentially-explained - [] [op1, op2]"],
    );
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
    let revoke = "revoke-invitation invitation=inv1 team=team1";
    let case = common::case(STANDARD_WORLD, &[revoke, revoke]);
    let history = Script::new(&case)
        .step(1, "record invitation", 1)
        .step(1, "delete invitation", 1)
        .finish(1, "200")
        .step(2, "record invitation", 0)
        .step(2, "delete invitation", 0)
        .finish(2, "500 record to delete does not exist");
    let live = live_after(&case, &rows("inv1"));
    let history = history.ends_with(&live, &[("inv1", 1)]);
    let reference = serial(&[0, 1], &["200", "404 INVITATION_NOT_FOUND"], &live);
    let verdict = check(
        &case,
        &history,
        &[reference],
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
    let case = issue_1466_case();
    let history = Script::new(&case)
        .step(1, "record token", 1)
        .step(2, "update password hash", 1)
        .step(2, "record all tokens", 1)
        .step(1, "delete token", 1)
        .finish(1, "200")
        .end(
            2,
            OperationResult::Indeterminate("connection lost: reset".into()),
        )
        .ends_with(&rows("u1"), &[("t1", 1), ("t1", 2)]);
    // Not even a serial run that explains nothing gets it judged.
    let unexplained = serial(
        &[0, 1],
        &[
            "401 REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED",
            "404 USER_NOT_FOUND",
        ],
        &[],
    );
    assert!(judge(&case, &history, &[unexplained]).is_clean());
}

#[test]
fn verdicts_print_one_violation_per_line_and_serialize_by_name() {
    let case = issue_1466_case();
    let history = password_change_first(&case)
        .step(1, "record token", 0)
        .finish(1, "500 expected exactly one recorded refresh token")
        .ends_with(&rows("u1"), &[("t1", 2), ("t1", 2)]);
    let verdict = judge(&case, &history, &[password_change_then_sign_out()]);
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
    assert_eq!(letter("A").title(), "A: 0 rows recorded → 500 (#1466)");
    let all = Anomaly::all(&common::stack());
    let titles: Vec<&str> = all.iter().map(|a| a.title()).collect();
    assert_eq!(
        titles,
        [
            "A: 0 rows recorded → 500 (#1466)",
            "B: duplicate tombstone",
            "C: missing tombstone",
            "D: tombstone for a live row",
            "wrong tombstone",
            "orphan tombstone",
            "E: server error"
        ]
    );
}

#[test]
fn a_failed_serial_run_rules_out_orders_by_its_first_wrong_status_and_by_footprints() {
    use tombstone_harness::oracle::serial::RuledOut;
    // op1 and op3 sign out the same token; op2 another. In the history op1
    // got 401 and op3 200: op3 got there first.
    let case = common::case(
        &common::one_user(2),
        &[
            "sign-out token=t1 user=u1",
            "sign-out token=t2 user=u1",
            "sign-out token=t1 user=u1",
        ],
    );
    let history = Script::new(&case)
        .step(3, "record token", 1)
        .step(3, "delete token", 1)
        .finish(3, "200")
        .step(2, "record token", 1)
        .step(2, "delete token", 1)
        .finish(2, "200")
        .step(1, "record token", 0)
        .step(1, "delete token", 0)
        .finish(1, "401 REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED")
        .ends_with(&rows("u1"), &[("t1", 3), ("t2", 2)]);
    // The reference in order op1, op2, op3: op1 is wrong already.
    let first = serial(
        &[0, 1, 2],
        &["200", "200", "401 REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED"],
        &rows("u1"),
    );
    let mut ruled_out = RuledOut::default();
    ruled_out.learn(&history, &first);
    // Whatever follows op1 first, op1 gets 200 there.
    assert!(ruled_out.by_prefix(&[0, 2, 1]));
    assert!(!ruled_out.by_prefix(&[1, 0, 2]) && !ruled_out.by_prefix(&[2, 0, 1]));
    // op2 conflicts with neither: moving it changes nothing; swapping op1
    // and op3 does.
    let conflicts = vec![
        vec![false, false, true],
        vec![false, false, false],
        vec![true, false, false],
    ];
    assert!(ruled_out.by_footprints(&[1, 0, 2], &conflicts));
    assert!(ruled_out.by_footprints(&[0, 2, 1], &conflicts));
    assert!(!ruled_out.by_footprints(&[2, 0, 1], &conflicts));
    assert!(!ruled_out.by_footprints(&[1, 2, 0], &conflicts));
    // Nothing conflicts with anything unless it says so: with op2 against
    // op3, op2 may no longer move past op3.
    let mut tighter = conflicts.clone();
    tighter[1][2] = true;
    tighter[2][1] = true;
    assert!(ruled_out.by_footprints(&[1, 0, 2], &tighter));
    assert!(!ruled_out.by_footprints(&[0, 2, 1], &tighter));
    // A run whose statuses all match rules out no prefix.
    let right = serial(
        &[2, 1, 0],
        &["401 REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED", "200", "200"],
        &rows("u1"),
    );
    let mut statuses_match = RuledOut::default();
    statuses_match.learn(&history, &right);
    assert!(!statuses_match.by_prefix(&[2, 1, 0]) && !statuses_match.by_prefix(&[2]));
}

/// Orders that a failed run rules out are not run; the violation says how
/// many orders were run and how many respect real time.
#[test]
fn an_unexplained_history_says_how_many_orders_were_run() {
    // Two sign-outs of t1 at once, both told 200: in either order the
    // second would get 401.
    let case = common::case(
        &common::one_user(1),
        &["sign-out token=t1 user=u1", "sign-out token=t1 user=u1"],
    );
    let history = Script::new(&case)
        .step(1, "record token", 1)
        .step(2, "record token", 1)
        .step(1, "delete token", 1)
        .step(2, "delete token", 0)
        .finish(1, "200")
        .finish(2, "200")
        .ends_with(&rows("u1"), &[("t1", 1), ("t1", 2)]);
    let first = serial(
        &[0, 1],
        &["200", "401 REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED"],
        &rows("u1"),
    );
    let one_run = judge(&case, &history, std::slice::from_ref(&first));
    assert!(
        explanation(&one_run, Invariant::SequentiallyExplained).starts_with(
            "no serial order explains the history (all 2 orders respecting real time tried: \
             1 run, the others ruled out by a run's statuses or footprints); closest, in order op1, op2"
        ),
        "{one_run}"
    );
    let second = serial(
        &[1, 0],
        &["401 REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED", "200"],
        &rows("u1"),
    );
    let both = judge(&case, &history, &[first, second]);
    assert!(
        explanation(&both, Invariant::SequentiallyExplained).starts_with(
            "no serial order explains the history (all 2 orders respecting real time tried); closest"
        ),
        "{both}"
    );
}
