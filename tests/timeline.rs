//! The timeline picture on hand-written histories, told as the engine would
//! record them, with the oracle's verdict on each: what a person must be able
//! to see in it. No database.
//!
//! Set `TIMELINE_DUMP=DIR` to write every picture drawn here into DIR, to
//! look at them (`rsvg-convert DIR/x.svg -o x.png`).

mod common;

use std::collections::BTreeMap;
use tombstone_harness::case::Case;
use tombstone_harness::db::StepReply;
use tombstone_harness::history::{Event, EventKind, History, OperationResult, Snapshot, Statement};
use tombstone_harness::implementation::{Footprint, Implementation, Outcome};
use tombstone_harness::operation::OperationId;
use tombstone_harness::oracle::{self, Invariant, Verdict};
use tombstone_harness::schedule::{Schedule, SessionId};
use tombstone_harness::timeline;
use tombstone_harness::world::{RowKey, parse_label};

/// Rows by label, separated by spaces: `rows("u1 t1")`.
fn rows(labels: &str) -> Vec<RowKey> {
    let system = common::stack();
    labels
        .split_whitespace()
        .map(|label| parse_label(&system, label).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

/// A history written as a script: `choose` starts a choice, and every
/// statement sent or answered after it happens during that choice.
struct Story {
    case: Case,
    implementation: Implementation,
    kinds: Vec<String>,
    choices: Vec<SessionId>,
    events: Vec<Event>,
    steps: BTreeMap<u16, usize>,
    last_sent: BTreeMap<u16, Statement>,
    results: Vec<Option<OperationResult>>,
}

impl Story {
    fn new(case: &Case) -> Story {
        Story {
            case: case.clone(),
            implementation: common::implementation("stack-auth-post-1466"),
            kinds: case
                .operations
                .iter()
                .map(|o| o.action.kind.clone())
                .collect(),
            choices: Vec::new(),
            events: Vec::new(),
            steps: BTreeMap::new(),
            last_sent: BTreeMap::new(),
            results: vec![None; case.operations.len()],
        }
    }

    fn event(mut self, session: u16, kind: EventKind) -> Story {
        let choice = self.choices.len();
        let session = SessionId(session);
        self.events.push(Event {
            choice,
            session,
            kind,
        });
        self
    }

    fn choose(mut self, session: u16) -> Story {
        self.choices.push(SessionId(session));
        self
    }

    fn send(mut self, session: u16, statement: Statement) -> Story {
        self.last_sent.insert(session, statement.clone());
        self.event(session, EventKind::Sent(statement))
    }

    /// Sends the session's next step: the step named `name` of its
    /// operation in Stack Auth's implementation. It has no reply yet.
    fn sent(self, session: u16, name: &str) -> Story {
        let kind = &self.kinds[session as usize - 1];
        let footprint = self
            .implementation
            .script(kind)
            .and_then(|script| script.steps.iter().find(|s| s.name == name))
            .unwrap_or_else(|| panic!("{kind} has no step {name:?}"))
            .footprint;
        self.sent_sql(session, name, footprint)
    }

    /// Sends the session's next step, named `name`, whose SQL does
    /// `footprint`: a step no shipped implementation has.
    fn sent_sql(mut self, session: u16, name: &str, footprint: Footprint) -> Story {
        let index = self.steps.entry(session).or_default();
        let statement = Statement::Step {
            index: *index,
            name: name.to_string(),
            footprint,
        };
        *index += 1;
        self.send(session, statement)
    }

    /// The reply to the session's last statement.
    fn reply(self, session: u16, reply: StepReply) -> Story {
        let statement = self.last_sent[&session].clone();
        self.event(session, EventKind::Completed { statement, reply })
    }

    /// The session's last statement affected `rows`.
    fn rows(self, session: u16, rows: u64) -> Story {
        self.reply(session, StepReply::Rows(rows))
    }

    /// Sends a step that affects `rows` at once.
    fn step(self, session: u16, name: &str, rows: u64) -> Story {
        self.sent(session, name).rows(session, rows)
    }

    fn begin(self, session: u16) -> Story {
        self.send(session, Statement::Begin("read committed".into()))
            .rows(session, 0)
    }

    fn commit(self, session: u16) -> Story {
        self.send(session, Statement::Commit).rows(session, 0)
    }

    fn rollback(self, session: u16) -> Story {
        self.send(session, Statement::Rollback).rows(session, 0)
    }

    fn blocked_by(self, session: u16, by: &[u16]) -> Story {
        let by = by.iter().map(|s| SessionId(*s)).collect();
        self.event(session, EventKind::Blocked { by })
    }

    fn finish(mut self, session: u16, outcome: &str) -> Story {
        let result = OperationResult::Finished(Outcome::parse(outcome).unwrap());
        self.results[session as usize - 1] = Some(result.clone());
        self.event(session, EventKind::Finished(result))
    }

    /// The history, ending with `live` rows and `tombstones` (row label,
    /// writer op).
    fn ends_with(self, live: &str, tombstones: &[(&str, u16)]) -> History {
        let tombstones = tombstones
            .iter()
            .map(|(label, writer)| common::recorded(&self.case, rows(label).remove(0), *writer))
            .collect();
        History {
            schedule: Schedule::new(self.choices),
            events: self.events,
            results: self.results.into_iter().map(|r| r.unwrap()).collect(),
            snapshot: Snapshot {
                live: rows(live).into_iter().collect(),
                tombstones,
                ..Snapshot::default()
            },
        }
    }
}

/// The oracle's verdict on a story (no serial runs: these stories are not
/// about sequentially-explained), checked to be the one violation the story
/// is about: `(invariant, anomaly, rows, operations, explanation)`. The
/// steps it blames are what the timeline marks.
fn judged(
    case: &Case,
    history: &History,
    expected: (Invariant, &str, &str, &[u16], &str),
) -> Verdict {
    let verdict = oracle::judge(case, history, &[]);
    let (invariant, anomaly, rows_expected, operations, explanation) = expected;
    let got: Vec<_> = verdict
        .violations
        .iter()
        .map(|v| {
            (
                v.invariant,
                v.anomaly.as_ref().map(|a| a.name.clone()),
                v.rows.clone(),
                v.operations.clone(),
                v.explanation.clone(),
            )
        })
        .collect();
    let wanted = vec![(
        invariant,
        Some(anomaly.to_string()),
        rows(rows_expected),
        operations.iter().map(|o| OperationId(*o)).collect(),
        explanation.to_string(),
    )];
    assert_eq!(got, wanted, "verdict:\n{verdict}");
    verdict
}

/// The #1466 race before the fix: the admin's bulk record and the
/// sign-out's single record both see token t1, so it gets two tombstones.
fn story_1466() -> (Case, History, Verdict) {
    let case = common::case(
        &common::one_user(1),
        &["sign-out token=t1 user=u1", "change-password-admin user=u1"],
    );
    let history = Story::new(&case)
        .choose(2)
        .step(2, "update password hash", 1)
        .choose(2)
        .step(2, "record all tokens", 1)
        .choose(1)
        .step(1, "record token", 1)
        .choose(2)
        .step(2, "delete all tokens", 1)
        .finish(2, "200")
        .choose(1)
        .step(1, "delete token", 0)
        .finish(1, "401 REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED")
        .ends_with("u1", &[("t1", 2), ("t1", 1)]);
    let verdict = judged(
        &case,
        &history,
        (
            Invariant::ExactlyOneTombstone,
            "B",
            "t1",
            &[1, 2],
            "token t1 has 2 tombstones: op2 'record all tokens' (choice 2) and op1 'record token' (choice 3)",
        ),
    );
    (case, history, verdict)
}

/// Two deletes of user u2 after #1466: op2's record waits on op1's row lock,
/// and once op1 commits finds no user to record, so it asserts: a 500 (E).
fn story_two_user_deletes() -> (Case, History, Verdict) {
    let delete_u2 = "delete-user user=u2";
    let case = common::case(
        "u1 u2 t1(u1) t2(u1) t3(u2) team1 m1(team1,u1) m2(team1,u2)",
        &[delete_u2, delete_u2],
    );
    let history = Story::new(&case)
        .choose(1)
        .step(1, "find user", 1)
        .choose(1)
        .begin(1)
        .step(1, "record user", 1)
        .choose(2)
        .step(2, "find user", 1)
        .choose(2)
        .begin(2)
        .sent(2, "record user")
        .blocked_by(2, &[1])
        .choose(1)
        .step(1, "record memberships", 1)
        .choose(1)
        .step(1, "record tokens", 1)
        .choose(1)
        .step(1, "delete tokens", 1)
        .choose(1)
        .step(1, "delete user", 1)
        .choose(1)
        .commit(1)
        .finish(1, "200")
        .rows(2, 0)
        .rollback(2)
        .finish(2, "500 expected exactly one recorded ProjectUser")
        .ends_with("u1 t1 t2 team1 m1", &[("u2", 1), ("m2", 1), ("t3", 1)]);
    let verdict = judged(
        &case,
        &history,
        (
            Invariant::NoServerError,
            "E",
            "u2",
            &[2],
            "op2 (delete-user u2) got 500 expected exactly one recorded ProjectUser after 'record user' (choice 9) recorded 0 rows",
        ),
    );
    (case, history, verdict)
}

/// Two password changes that lock u1's tokens in opposite orders: each
/// waits on the other, and the engine cancels s2's statement (40P01).
fn story_deadlock() -> (Case, History, Verdict) {
    let change = "change-password-admin user=u1";
    let case = common::case(&common::one_user(2), &[change, change]);
    let deadlock = StepReply::Error {
        sqlstate: "40P01".into(),
        message: "deadlock detected".into(),
    };
    let lock = |token: &str| {
        let sql =
            format!(r#"SELECT 1 FROM "ProjectUserRefreshToken" WHERE "id" = '{token}' FOR UPDATE"#);
        Footprint::of_sql(&common::stack(), &sql)
    };
    let history = Story::new(&case)
        .choose(1)
        .begin(1)
        .sent_sql(1, "lock token t1", lock("t1"))
        .rows(1, 1)
        .choose(2)
        .begin(2)
        .sent_sql(2, "lock token t2", lock("t2"))
        .rows(2, 1)
        .choose(1)
        .sent(1, "record all tokens")
        .blocked_by(1, &[2])
        .choose(2)
        .sent(2, "record all tokens")
        .blocked_by(2, &[1])
        .event(
            2,
            EventKind::DeadlockVictim {
                cycle: vec![SessionId(1), SessionId(2)],
            },
        )
        .reply(2, deadlock)
        .rollback(2)
        .finish(2, "500 unmapped database error 40P01: deadlock detected")
        .rows(1, 2)
        .choose(1)
        .step(1, "delete all tokens", 2)
        .choose(1)
        .commit(1)
        .finish(1, "200")
        .ends_with("u1", &[("t1", 1), ("t2", 1)]);
    let verdict = judged(
        &case,
        &history,
        (
            Invariant::NoServerError,
            "E",
            "u1",
            &[2],
            "op2 (change-password-admin u1) got 500 unmapped database error 40P01: deadlock detected \
             after 'record all tokens' (choice 4) failed with 40P01 deadlock detected",
        ),
    );
    (case, history, verdict)
}

/// Renders twice (the picture must be byte-identical) and checks it is XML;
/// writes it into `$TIMELINE_DUMP` when set.
fn render(title: &str, (case, history, verdict): &(Case, History, Verdict)) -> String {
    let svg = timeline::svg(title, case, history, verdict);
    if let Ok(dir) = std::env::var("TIMELINE_DUMP") {
        let name: String = title.chars().filter(|c| c.is_alphanumeric()).collect();
        std::fs::write(format!("{dir}/{name}.svg"), &svg).unwrap();
    }
    assert_eq!(
        svg,
        timeline::svg(title, case, history, verdict),
        "not deterministic"
    );
    if let Err(e) = roxmltree::Document::parse(&svg) {
        panic!("not XML: {e}\n{svg}");
    }
    svg
}

fn with_class<'a>(doc: &'a roxmltree::Document<'a>, class: &str) -> Vec<roxmltree::Node<'a, 'a>> {
    doc.descendants()
        .filter(|n| n.attribute("class") == Some(class))
        .collect()
}

/// Every text of `node`'s `<text>` elements, one string each.
fn texts(node: roxmltree::Node<'_, '_>) -> Vec<String> {
    node.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| {
            n.descendants()
                .filter(|d| d.is_text())
                .filter_map(|d| d.text())
                .collect()
        })
        .collect()
}

#[test]
fn the_1466_story_has_one_lane_per_session_and_every_step_and_reply() {
    let svg = render("#1466 before the fix", &story_1466());
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let lanes = with_class(&doc, "lane");
    let sessions: Vec<&str> = lanes
        .iter()
        .filter_map(|l| l.attribute("data-session"))
        .collect();
    assert_eq!(sessions, ["s1", "s2"]);
    let s1 = texts(lanes[0]);
    assert!(
        s1.contains(&"s1 · op1 sign-out u1 from t1".to_string()),
        "{s1:?}"
    );
    for expected in [
        "record token",
        "1 row",
        "delete token",
        "0 rows",
        "#3",
        "#5",
    ] {
        assert!(
            s1.contains(&expected.to_string()),
            "{expected} not in {s1:?}"
        );
    }
    assert!(s1.contains(&"401 REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED".to_string()));
    let s2 = texts(lanes[1]);
    for expected in [
        "update password hash",
        "record all tokens",
        "delete all tokens",
        "200",
    ] {
        assert!(
            s2.contains(&expected.to_string()),
            "{expected} not in {s2:?}"
        );
    }
    let footer = texts(with_class(&doc, "footer")[0]).join(" ");
    assert!(footer.contains("token t1 (written by op2) · token t1 (written by op1)"));
    assert!(footer.contains("v1: 2 2 1 2 1"), "{footer}");
}

#[test]
fn the_two_writers_of_the_duplicate_tombstone_are_marked() {
    let svg = render("#1466 before the fix", &story_1466());
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let marked: Vec<Vec<String>> = with_class(&doc, "violating")
        .into_iter()
        .map(|frame| texts(frame.parent().unwrap()))
        .collect();
    assert_eq!(marked.len(), 2, "{marked:?}");
    assert!(
        marked[0].contains(&"record token".to_string()),
        "{marked:?}"
    );
    assert!(
        marked[1].contains(&"record all tokens".to_string()),
        "{marked:?}"
    );
    assert!(marked.iter().all(|texts| texts.contains(&"B".to_string())));
}

#[test]
fn a_blocked_step_is_a_hatched_interval_and_the_500_step_is_marked() {
    let svg = render("two deletes of u2", &story_two_user_deletes());
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let blocked = with_class(&doc, "blocked");
    assert_eq!(blocked.len(), 1);
    let lane = blocked[0]
        .ancestors()
        .find(|n| n.attribute("class") == Some("lane"))
        .unwrap();
    assert_eq!(lane.attribute("data-session"), Some("s2"));
    assert!(
        texts(lane).contains(&"blocked by s1".to_string()),
        "{:?}",
        texts(lane)
    );
    let marked = with_class(&doc, "violating");
    assert_eq!(marked.len(), 1);
    let step = texts(marked[0].parent().unwrap());
    for expected in ["record user", "0 rows", "#9", "E"] {
        assert!(
            step.contains(&expected.to_string()),
            "{expected} not in {step:?}"
        );
    }
    let outcome = texts(with_class(&doc, "outcome")[1]);
    assert_eq!(outcome, ["500 expected exactly one recorded ProjectUser"]);
}

#[test]
fn text_is_escaped() {
    let (case, mut history, mut verdict) = story_1466();
    let reason = "500 rows < 1 & \"boom\"";
    history.results[0] = OperationResult::Finished(Outcome::parse(reason).unwrap());
    verdict.violations[0].explanation = "a <script> & more".into();
    let svg = render("<title> & co", &(case, history, verdict));
    assert!(!svg.contains("<script>") && !svg.contains("< 1 &"), "{svg}");
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let all = texts(doc.root()).join("\n");
    assert!(all.contains("<title> & co"));
    assert!(all.contains("a <script> & more"));
    assert!(all.contains(reason), "{all}");
}

#[test]
fn a_statement_never_answered_still_draws() {
    let (case, mut history, _) = story_two_user_deletes();
    // Cut the history where s2 waits: its record never gets a reply.
    history.events.truncate(12);
    assert_eq!(
        history.events[11].kind,
        EventKind::Blocked {
            by: vec![SessionId(1)]
        }
    );
    history.results.clear();
    let svg = render("cut short", &(case, history, Verdict::default()));
    let doc = roxmltree::Document::parse(&svg).unwrap();
    assert_eq!(with_class(&doc, "blocked").len(), 1);
    let all = texts(doc.root());
    assert!(all.contains(&"blocked by s1".to_string()), "{all:?}");
    assert!(all.contains(&"did not finish".to_string()), "{all:?}");
}

#[test]
fn a_deadlock_victim_says_so() {
    let svg = render("deadlock", &story_deadlock());
    let doc = roxmltree::Document::parse(&svg).unwrap();
    assert_eq!(with_class(&doc, "blocked").len(), 2);
    let all = texts(doc.root());
    for expected in [
        "ERROR 40P01 deadlock detected",
        "blocked by s1",
        "blocked by s2",
        "ROLLBACK",
    ] {
        assert!(
            all.contains(&expected.to_string()),
            "{expected} not in {all:?}"
        );
    }
    assert!(
        all.contains(&"deadlock s1↔s2: cancelled".to_string()),
        "{all:?}"
    );
    let marked = with_class(&doc, "violating");
    assert_eq!(marked.len(), 1);
    assert!(
        texts(marked[0].parent().unwrap()).contains(&"ERROR 40P01 deadlock detected".to_string())
    );
}

/// `docs/timeline-example.svg` is what the timeline draws today; set
/// `TIMELINE_EXAMPLE=write` to redraw it after changing the picture.
#[test]
fn the_documented_example_is_current() {
    let svg = render(
        "stack-auth-post-1466: two deletes of user u2 (counterexample E)",
        &story_two_user_deletes(),
    );
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/timeline-example.svg");
    if std::env::var("TIMELINE_EXAMPLE").as_deref() == Ok("write") {
        std::fs::write(&path, &svg).unwrap();
    }
    let saved = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        saved == svg,
        "{} is out of date: run TIMELINE_EXAMPLE=write cargo test --test timeline",
        path.display()
    );
}
