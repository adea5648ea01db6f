//! No user input panics: cases, scenarios and counterexamples with too many
//! operations, durations too long to represent, and random mutations of the
//! shipped files and of command lines all end in a one-line error (exit 2),
//! never in exit 101.

mod common;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tombstone_harness::chooser::Scripted;
use tombstone_harness::counterexample::{Counterexample, story};
use tombstone_harness::implementation::Implementation;
use tombstone_harness::scenario::Scenario;

/// The text of Stack Auth's shipped scenarios.
fn scenarios() -> Vec<String> {
    common::stack()
        .scenarios
        .iter()
        .map(|f| f.text.clone())
        .collect()
}

fn parse_scenario(
    file: &str,
    text: &str,
) -> Result<Scenario, tombstone_harness::scenario::ScenarioError> {
    Scenario::parse(&common::stack(), file, file, text)
}
use tombstone_harness::judge::judge;
use tombstone_harness::timeline;

/// A port nothing listens on: any command that gets as far as connecting
/// fails there (exit 2) instead of reaching a real server.
const CLOSED_PG: [&str; 4] = ["--pg", "url", "--pg-url", "postgres://me@127.0.0.1:1/x"];

fn harness(args: &[String], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tombstone-harness"))
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("TOMBSTONE_PG")
        .output()
        .unwrap()
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(ToString::to_string).collect()
}

/// `cases` runs, failures shrunk and printed rather than saved to a file.
fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Exit 2 with one line on stderr that contains `needle`.
fn assert_one_line_error(output: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "not one line: {stderr}"
    );
    assert!(stderr.contains(needle), "{needle:?} not in: {stderr}");
}

fn shipped_counterexamples() -> Vec<(PathBuf, String)> {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/systems/stack-auth/counterexamples");
    let mut files: Vec<(PathBuf, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.clone(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    files.sort();
    files
}

/// `value`'s operations replaced by `count` well-numbered copies of its own.
fn with_operations(mut value: Value, count: usize) -> Value {
    let operations = value["case"]["operations"].as_array().unwrap().clone();
    let grown: Vec<Value> = (0..count)
        .map(|i| {
            let mut op = operations[i % operations.len()].clone();
            if let Some(fields) = op.as_object_mut() {
                fields.insert("id".into(), json!(i + 1));
            }
            op
        })
        .collect();
    value["case"]["operations"] = Value::Array(grown);
    value
}

#[test]
fn nine_operations_are_refused_when_a_file_is_loaded() {
    let scenario: Value = serde_json::from_str(&scenarios()[0]).unwrap();
    let text = with_operations(scenario, 9).to_string();
    let err = parse_scenario("nine.json", &text).unwrap_err().to_string();
    assert!(
        err.starts_with(
            "nine.json: not a scenario: a case has at most 8 operations, this one has 9"
        ),
        "{err}"
    );
    let (_, shipped) = &shipped_counterexamples()[0];
    let text = with_operations(serde_json::from_str(shipped).unwrap(), 9).to_string();
    let err = Counterexample::parse("nine.json", &text)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("nine.json: not a counterexample: a case has at most 8 operations"),
        "{err}"
    );
    let eight = with_operations(serde_json::from_str(&scenarios()[0]).unwrap(), 8);
    parse_scenario("eight.json", &eight.to_string()).unwrap();
}

#[test]
fn explore_replay_and_timeline_refuse_nine_operations_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("nine-scenario.json");
    let scenario_value = with_operations(serde_json::from_str(&scenarios()[0]).unwrap(), 9);
    std::fs::write(&scenario, scenario_value.to_string()).unwrap();
    let counterexample = dir.path().join("nine-counterexample.json");
    let (_, shipped) = &shipped_counterexamples()[0];
    let value = with_operations(serde_json::from_str(shipped).unwrap(), 9);
    std::fs::write(&counterexample, value.to_string()).unwrap();
    let run = |args: &[&str]| harness(&strings(&[&CLOSED_PG[..], args].concat()), dir.path());
    assert_one_line_error(
        &run(&["explore", "nine-scenario.json"]),
        "nine-scenario.json: not a scenario: a case has at most 8 operations",
    );
    for command in [
        vec!["replay", "nine-counterexample.json"],
        vec!["timeline", "nine-counterexample.json", "--svg", "x.svg"],
    ] {
        assert_one_line_error(
            &run(&command),
            "nine-counterexample.json: not a counterexample: a case has at most 8 operations",
        );
    }
}

#[test]
fn a_duration_too_long_to_represent_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    for duration in ["99999999999999999999h", "99999999999999999999"] {
        let args = [&CLOSED_PG[..], &["stress", "--duration", duration]].concat();
        assert_one_line_error(&harness(&strings(&args), dir.path()), "too long a duration");
    }
}

/// Values a careless or hostile file might hold where another was expected.
fn junk_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(0)),
        Just(json!(-1)),
        Just(json!(65535)),
        Just(json!(65536)),
        Just(json!(u64::MAX)),
        Just(json!(1e300)),
        Just(json!("")),
        Just(json!("op9")),
        Just(json!("sign-out")),
        Just(json!("delete-team")),
        Just(json!("v1: 9 9 9")),
        Just(json!("v1: 1 2 1 2 1 2 1 2")),
        Just(json!("v2: 1")),
        Just(json!("line\nbreak \u{202e}")),
        Just(json!(null)),
        Just(json!(true)),
        Just(json!([])),
        Just(json!({})),
        Just(json!([1, 1])),
    ]
}

#[derive(Clone, Debug)]
enum Mutation {
    Replace(usize, Value),
    Remove(usize),
    Duplicate(usize),
    UnknownField(usize),
    Operations(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = any::<usize>;
    prop_oneof![
        4 => (at(), junk_value()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        2 => at().prop_map(Mutation::Remove),
        2 => at().prop_map(Mutation::Duplicate),
        1 => at().prop_map(Mutation::UnknownField),
        2 => (1usize..=12).prop_map(Mutation::Operations),
    ]
}

/// Every node's JSON pointer, the root's ("") first.
fn pointers(value: &Value, at: String, all: &mut Vec<String>) {
    all.push(at.clone());
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                pointers(item, format!("{at}/{i}"), all);
            }
        }
        Value::Object(fields) => {
            for (key, item) in fields {
                pointers(item, format!("{at}/{key}"), all);
            }
        }
        _ => {}
    }
}

fn apply(value: &mut Value, mutation: &Mutation) {
    let mut all = Vec::new();
    pointers(value, String::new(), &mut all);
    let node = |i: &usize| all[i % all.len()].clone();
    match mutation {
        Mutation::Replace(i, junk) => *value.pointer_mut(&node(i)).unwrap() = junk.clone(),
        Mutation::Remove(i) | Mutation::Duplicate(i) => {
            let at = node(i);
            let Some((parent, last)) = at.rsplit_once('/') else {
                return;
            };
            let parent = value.pointer_mut(parent).unwrap();
            match (parent, mutation) {
                (Value::Object(fields), Mutation::Remove(_)) => {
                    fields.remove(last);
                }
                (Value::Array(items), Mutation::Remove(_)) => {
                    items.remove(last.parse::<usize>().unwrap());
                }
                (Value::Array(items), _) => {
                    let copy = items[last.parse::<usize>().unwrap()].clone();
                    items.push(copy);
                }
                _ => {}
            }
        }
        Mutation::UnknownField(i) => {
            if let Value::Object(fields) = value.pointer_mut(&node(i)).unwrap() {
                fields.insert("surprise".into(), json!(1));
            }
        }
        Mutation::Operations(count) => {
            if value["case"]["operations"]
                .as_array()
                .is_some_and(|o| !o.is_empty())
            {
                *value = with_operations(value.clone(), *count);
            }
        }
    }
}

/// A shipped file's text after the mutations, maybe cut short.
fn mutated(text: &str, mutations: &[Mutation], cut: Option<usize>) -> String {
    let mut value: Value = serde_json::from_str(text).unwrap();
    for m in mutations {
        apply(&mut value, m);
    }
    let mut text = serde_json::to_string_pretty(&value).unwrap();
    if let Some(cut) = cut {
        let mut at = cut % (text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        text.truncate(at);
    }
    text
}

fn file_mutations() -> impl Strategy<Value = (usize, Vec<Mutation>, Option<usize>)> {
    (
        any::<usize>(),
        proptest::collection::vec(mutation(), 1..4),
        proptest::option::weighted(0.1, any::<usize>()),
    )
}

/// An error names the file and stays on one line.
fn assert_one_line_naming(err: &dyn std::fmt::Display, file: &str) {
    let err = err.to_string();
    assert!(err.starts_with(file) && !err.contains('\n'), "{err}");
}

#[test]
fn mutated_scenarios_load_or_are_refused_in_one_line() {
    let shipped = scenarios();
    let mut runner = TestRunner::new(config(400));
    runner
        .run(&file_mutations(), |(pick, mutations, cut)| {
            let text = &shipped[pick % shipped.len()];
            let text = mutated(text, &mutations, cut);
            match parse_scenario("mutant.json", &text) {
                Ok(scenario) => {
                    assert!(scenario.case.operations.len() <= 8);
                    let _ = scenario.case.to_string();
                }
                Err(err) => assert_one_line_naming(&err, "mutant.json"),
            }
            Ok(())
        })
        .unwrap();
}

/// Loaded mutants are also replayed as `replay` and `timeline` would: run on
/// the real engine under their schedule, judged, told and drawn.
#[test]
fn mutated_counterexamples_load_and_replay_or_are_refused_in_one_line() {
    let shipped = shipped_counterexamples();
    let (_database, engine) = common::blocking_engine();
    // proptest's property is a `Fn`: the engine and the count live in cells.
    let engine = std::cell::RefCell::new(engine);
    let replayed = std::cell::Cell::new(0);
    let mut runner = TestRunner::new(config(300));
    runner
        .run(&file_mutations(), |(pick, mutations, cut)| {
            let (_, text) = &shipped[pick % shipped.len()];
            let text = mutated(text, &mutations, cut);
            let loaded = match Counterexample::parse("mutant.json", &text) {
                Ok(loaded) => loaded,
                Err(err) => {
                    assert_one_line_naming(&err, "mutant.json");
                    return Ok(());
                }
            };
            assert!(loaded.case.operations.len() <= 8);
            let Ok(implementation) =
                Implementation::load(&loaded.case.system, &loaded.implementation)
            else {
                return Ok(());
            };
            replayed.set(replayed.get() + 1);
            let chooser = &mut Scripted::new(loaded.schedule.clone());
            let mut engine = engine.borrow_mut();
            let run = engine.run(&loaded.case, &implementation, chooser);
            if let Ok(history) = common::runtime().block_on(run) {
                let judged = judge(&mut engine, &loaded.case, &history);
                let verdict = common::runtime().block_on(judged).unwrap_or_default();
                let _ = story("mutant", &loaded.case, &history, &verdict, "replay");
                let _ = timeline::svg("mutant", &loaded.case, &history, &verdict);
            }
            Ok(())
        })
        .unwrap();
    assert!(
        replayed.get() > 0,
        "no mutant was replayed: the property tests nothing"
    );
}

/// The subcommands with their own flags (not `--pg`: a fuzzed `--pg local`
/// would start a cluster; the closed URL is given first instead).
const SUBCOMMANDS: [(&[&str], &[&str]); 7] = [
    (&["run"], &["--cases", "--seed", "--save-dir", "--duration"]),
    (
        &["explore"],
        &[
            "--schedule",
            "--save",
            "--prune",
            "--schedules-max",
            "--jobs",
        ],
    ),
    (
        &["mutate"],
        &["--budget", "--seed", "--jobs", "--only", "--list", "--save"],
    ),
    (&["replay"], &["--check-determinism"]),
    (
        &["stress"],
        &[
            "--duration",
            "--cases",
            "--seed",
            "--shard",
            "--jobs",
            "--mode",
            "--report",
            "--junit",
            "--reconnect-max",
            "--save-dir",
        ],
    ),
    (&["report", "merge"], &["--out", "--junit"]),
    (&["timeline"], &["--svg"]),
];

/// Flags every subcommand takes or rejects.
const COMMON_FLAGS: [&str; 5] = [
    "--implementation",
    "--isolation",
    "--pg-url",
    "--pg-image",
    "--help",
];

/// Junk values; `{nine}` and `{shipped}` stand for real files.
const VALUES: [&str; 24] = [
    "",
    "0",
    "-1",
    "18446744073709551616",
    "99999999999999999999h",
    "1e400s",
    "0/0",
    "3/2",
    "free",
    "serializable",
    "v1: 9 9 9",
    "v1:",
    "1466",
    "atomic",
    "nope.json",
    "{nine}",
    "{shipped}",
    "out/x.json",
    "postgres://me:p%zz@[::1:5432/x",
    "é\u{202e}",
    "--",
    "-",
    "100000000000000000000000000000ms",
    "10ns",
];

fn command_line() -> impl Strategy<Value = (usize, Vec<(usize, usize)>, Vec<usize>)> {
    (
        0..SUBCOMMANDS.len(),
        proptest::collection::vec((any::<usize>(), 0..VALUES.len()), 0..4),
        proptest::collection::vec(0..VALUES.len(), 0..2),
    )
}

#[test]
fn no_command_line_panics() {
    let dir = tempfile::tempdir().unwrap();
    let nine = with_operations(serde_json::from_str(&scenarios()[0]).unwrap(), 9);
    std::fs::write(dir.path().join("nine.json"), nine.to_string()).unwrap();
    let shipped = shipped_counterexamples()[0].0.display().to_string();
    let value = |i: usize| {
        VALUES[i]
            .replace("{nine}", "nine.json")
            .replace("{shipped}", &shipped)
    };
    // A few dozen processes: enough variety, cheap enough for CI.
    let mut runner = TestRunner::new(config(40));
    runner
        .run(&command_line(), |(subcommand, flags, positionals)| {
            let (words, own) = SUBCOMMANDS[subcommand];
            let mut args = strings(&CLOSED_PG);
            args.extend(strings(words));
            args.extend(positionals.into_iter().map(value));
            for (flag, v) in flags {
                // Mostly the subcommand's own flags, so values reach parsers.
                let flag = match flag % 4 {
                    0 => COMMON_FLAGS[flag / 4 % COMMON_FLAGS.len()],
                    _ => own[flag / 4 % own.len()],
                };
                args.push(flag.to_string());
                args.push(value(v));
            }
            let output = harness(&args, dir.path());
            let stderr = String::from_utf8_lossy(&output.stderr);
            prop_assert!(
                output.status.code() != Some(101) && !stderr.contains("panicked"),
                "{args:?} panicked: {stderr}"
            );
            prop_assert!(
                matches!(output.status.code(), Some(0..=2)),
                "{args:?} exited {:?}: {stderr}",
                output.status.code()
            );
            Ok(())
        })
        .unwrap();
}
