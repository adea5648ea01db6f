//! Bad input never panics: property tests over every file and field parser.
//!
//! Inputs are arbitrary text, the shipped and saved files (every shipped
//! system's `system.toml`, implementations, scenarios and counterexamples)
//! with random edits
//! (truncations, character deletions, insertions and replacements, line
//! deletions and duplications), implementation files whose fields hold
//! arbitrary values, and files from older or corrupt versions. Each parse
//! either succeeds or fails with one non-empty line that starts with the file
//! name. A panic inside a property fails it (proptest catches and shrinks it).

use proptest::prelude::*;
use proptest::sample::{Index, select};
use std::collections::BTreeMap;
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use tombstone_harness::counterexample::Counterexample;
use tombstone_harness::implementation::{Implementation, Isolation, Outcome, RowsMatcher, Then};
use tombstone_harness::scenario::Scenario;
use tombstone_harness::schedule::{Schedule, SessionId};
use tombstone_harness::system::System;

const SYSTEMS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/systems");

/// Few cases per property and no saved regressions, so the file runs in seconds.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// The error as text, if it is one non-empty line (no line feed or carriage
/// return) starting with `prefix`.
fn line_error(prefix: &str, error: impl Display) -> Result<String, TestCaseError> {
    let text = error.to_string();
    if text.contains(['\n', '\r']) || !text.starts_with(prefix) || text.len() == prefix.len() {
        let problem = format!("not one line starting with {prefix:?}: {text:?}");
        return Err(TestCaseError::fail(problem));
    }
    Ok(text)
}

// ---------------------------------------------------------------- the inputs

/// Every shipped system, loaded once per test binary, by name.
fn systems() -> &'static BTreeMap<String, Arc<System>> {
    static SYSTEMS: OnceLock<BTreeMap<String, Arc<System>>> = OnceLock::new();
    SYSTEMS.get_or_init(|| {
        let systems: BTreeMap<String, Arc<System>> = System::shipped_names()
            .into_iter()
            .map(|name| {
                let system = System::load(name).unwrap_or_else(|e| panic!("{e}"));
                (name.to_string(), system)
            })
            .collect();
        assert!(systems.contains_key("stack-auth"), "{:?}", systems.keys());
        systems
    })
}

fn system(name: &str) -> &'static Arc<System> {
    &systems()[name]
}

fn stack() -> &'static Arc<System> {
    system("stack-auth")
}

/// (system, file name, text) of each file of one folder of every shipped system.
fn shipped(
    folder: fn(&System) -> &[tombstone_harness::system::SystemFile],
) -> Vec<(String, String, String)> {
    let files: Vec<(String, String, String)> = systems()
        .iter()
        .flat_map(|(name, system)| {
            folder(system)
                .iter()
                .map(move |f| (name.clone(), format!("{name}/{}", f.path), f.text.clone()))
        })
        .collect();
    assert!(!files.is_empty(), "no shipped files");
    files
}

fn shipped_implementations() -> Vec<(String, String, String)> {
    shipped(|s| &s.implementations)
}

fn shipped_scenarios() -> Vec<(String, String, String)> {
    shipped(|s| &s.scenarios)
}

/// The saved counterexamples of every system, read at test time: (file name, text).
fn saved_counterexamples() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = system_dirs()
        .into_iter()
        .flat_map(|dir| {
            std::fs::read_dir(dir.join("counterexamples"))
                .into_iter()
                .flatten()
        })
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("a saved counterexample");
            (path.display().to_string(), text)
        })
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no counterexamples in {SYSTEMS}/*/counterexamples"
    );
    files
}

/// The directories of the shipped systems, in the checkout.
fn system_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(SYSTEMS)
        .expect("fixtures/systems is readable")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.join("system.toml").is_file())
        .collect();
    dirs.sort();
    dirs
}

/// Every shipped `system.toml`: (system directory, text).
fn shipped_system_tomls() -> Vec<(PathBuf, String)> {
    let files: Vec<(PathBuf, String)> = system_dirs()
        .into_iter()
        .map(|dir| {
            let text = std::fs::read_to_string(dir.join("system.toml")).expect("a system.toml");
            (dir, text)
        })
        .collect();
    assert!(!files.is_empty(), "no systems in {SYSTEMS}");
    files
}

/// One random change to a text; positions scale with its length.
#[derive(Clone, Debug)]
enum Edit {
    Truncate(Index),
    Delete(Index),
    Insert(Index, char),
    Replace(Index, char),
    DeleteLine(Index),
    DuplicateLine(Index),
}

impl Edit {
    /// Edits characters, never bytes, so the result stays valid UTF-8.
    fn apply(&self, text: &str) -> String {
        let mut chars: Vec<char> = text.chars().collect();
        let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
        let (n, l) = (chars.len(), lines.len());
        if n == 0 {
            return text.to_string();
        }
        match *self {
            Edit::Truncate(at) => chars.truncate(at.index(n)),
            Edit::Delete(at) => drop(chars.remove(at.index(n))),
            Edit::Insert(at, c) => chars.insert(at.index(n + 1), c),
            Edit::Replace(at, c) => chars[at.index(n)] = c,
            Edit::DeleteLine(at) => drop(lines.remove(at.index(l))),
            Edit::DuplicateLine(at) => lines.insert(at.index(l), lines[at.index(l)]),
        }
        match self {
            Edit::DeleteLine(_) | Edit::DuplicateLine(_) => lines.concat(),
            _ => chars.into_iter().collect(),
        }
    }
}

/// Mostly characters that matter to TOML and JSON (a backslash and an `n`
/// make a line break inside a quoted value), sometimes any character.
fn a_char() -> impl Strategy<Value = char> {
    let syntax: Vec<char> = "\"'{}[],:=#\\\n .-_0123456789>!aenrstuvxyz"
        .chars()
        .collect();
    prop_oneof![3 => select(syntax), 1 => any::<char>()]
}

fn an_edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        1 => any::<Index>().prop_map(Edit::Truncate),
        3 => any::<Index>().prop_map(Edit::Delete),
        3 => (any::<Index>(), a_char()).prop_map(|(at, c)| Edit::Insert(at, c)),
        3 => (any::<Index>(), a_char()).prop_map(|(at, c)| Edit::Replace(at, c)),
        2 => any::<Index>().prop_map(Edit::DeleteLine),
        2 => any::<Index>().prop_map(Edit::DuplicateLine),
    ]
}

/// One of `files`, with one to four edits: (file name, edited text).
fn mutated<F: Clone + std::fmt::Debug + 'static>(
    files: Vec<(F, String)>,
) -> impl Strategy<Value = (F, String)> {
    let edits = prop::collection::vec(an_edit(), 1..=4);
    (select(files), edits).prop_map(|((file, text), edits)| {
        let text = edits.iter().fold(text, |text, edit| edit.apply(&text));
        (file, text)
    })
}

/// One system's file (system, file name), with one to four edits.
fn mutated_in_system(
    files: Vec<(String, String, String)>,
) -> impl Strategy<Value = ((String, String), String)> {
    let files = files
        .into_iter()
        .map(|(system, file, text)| ((system, file), text))
        .collect();
    mutated(files)
}

/// Arbitrary text: any line of characters, or printable ASCII with newlines.
fn arbitrary_text() -> impl Strategy<Value = String> {
    prop_oneof![".*", "[ -~\n]{0,200}"]
}

// ------------------------------------------------- checks on one parse each

fn check_implementation(system: &System, file: &str, text: &str) -> Result<(), TestCaseError> {
    match Implementation::parse(system, file, text) {
        Ok(parsed) => prop_assert!(!parsed.operations.is_empty()),
        Err(error) => drop(line_error(&format!("{file}: "), error)?),
    }
    Ok(())
}

fn check_scenario(system: &Arc<System>, file: &str, text: &str) -> Result<(), TestCaseError> {
    match Scenario::parse(system, "edited", file, text) {
        Ok(parsed) => prop_assert!(parsed.case.validate().is_ok()),
        Err(error) => drop(line_error(&format!("{file}: not a scenario: "), error)?),
    }
    Ok(())
}

/// A copy of the system in `dir` with its `system.toml` replaced by `text`
/// (the schema and implementations it names stay beside it).
fn system_with_toml(dir: &Path, text: &str) -> tempfile::TempDir {
    let copy = tempfile::tempdir().expect("a temporary directory");
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).expect("a system directory") {
            let path = entry.expect("a directory entry").path();
            let relative = path.strip_prefix(dir).expect("inside the system");
            if path.is_dir() {
                std::fs::create_dir_all(copy.path().join(relative)).expect("a folder");
                pending.push(path);
            } else if relative != Path::new("system.toml") {
                std::fs::copy(&path, copy.path().join(relative)).expect("a copy");
            }
        }
    }
    std::fs::write(copy.path().join("system.toml"), text).expect("system.toml is written");
    copy
}

/// What a location in `system.toml` is named by: a line of TOML, or a
/// section (an entity, operation, label, constant or `section '…'`) and a
/// field of it.
fn names_section_and_field(message: &str) -> bool {
    let line = message.starts_with("line ");
    let section = ["entity ", "operation ", "label ", "constant ", "section '"]
        .iter()
        .any(|s| message.contains(s));
    let field = message.contains("field ");
    // A field of the top-level table names no section.
    line || (section && field) || message.starts_with("field '")
}

/// A `system.toml` is loaded with the files beside it: an error is one line
/// naming the file, and the section and field (or the line); a system that
/// loads gives its standard world and its implementations load or fail
/// with one line.
fn check_system_toml(dir: &Path, text: &str) -> Result<(), TestCaseError> {
    let copy = system_with_toml(dir, text);
    match System::load_dir(copy.path()) {
        Ok(system) => {
            let system = Arc::new(system);
            prop_assert!(!system.entities.is_empty() && !system.operations.is_empty());
            let world = tombstone_harness::table::standard_world(&system);
            let actions = tombstone_harness::table::solo_actions(&system, &world);
            for action in actions {
                let text = action.to_json(&system);
                prop_assert_eq!(
                    tombstone_harness::operation::Action::from_json(&system, &text),
                    Ok(action)
                );
            }
            for name in Implementation::names(&system) {
                if let Err(error) = Implementation::load(&system, &name) {
                    line_error("", error)?;
                }
            }
        }
        Err(error) => {
            let prefix = format!("{}/system.toml: ", copy.path().display());
            let line = line_error(&prefix, error)?;
            let message = &line[prefix.len()..];
            prop_assert!(
                names_section_and_field(message),
                "names no section and field: {:?}",
                line
            );
        }
    }
    Ok(())
}

/// A counterexample that parses is written out and read back unchanged.
fn check_counterexample(file: &str, text: &str) -> Result<(), TestCaseError> {
    match Counterexample::parse(file, text) {
        Ok(parsed) => {
            let written = serde_json::to_string_pretty(&parsed).expect("serializes");
            let again = Counterexample::parse(file, &written);
            let again = again.map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&again.case, &parsed.case);
            prop_assert_eq!(&again.schedule, &parsed.schedule);
            prop_assert_eq!(&again.expected, &parsed.expected);
        }
        Err(error) => drop(line_error(&format!("{file}: "), error)?),
    }
    Ok(())
}

/// Field parsers: never panic; an error is one line whatever the input.
fn check_fields(text: &str) -> Result<(), TestCaseError> {
    let errors = [
        RowsMatcher::parse(text).err(),
        Outcome::parse(text).err(),
        Isolation::parse(text).err(),
        Then::parse(text).err(),
    ];
    for error in errors.into_iter().flatten() {
        line_error("", &error)?;
    }
    Ok(())
}

/// A schedule that parses prints as text that parses back to it.
fn check_schedule(text: &str) -> Result<(), TestCaseError> {
    match Schedule::parse(text) {
        Ok(schedule) => prop_assert_eq!(Schedule::parse(&schedule.to_string()), Ok(schedule)),
        Err(error) => drop(line_error("", &error)?),
    }
    Ok(())
}

// ------------------------------------------------------------ the properties

proptest! {
    #![proptest_config(config(400))]

    #[test]
    fn system_files_with_edits((dir, text) in mutated(shipped_system_tomls())) {
        check_system_toml(&dir, &text)?;
    }

    #[test]
    fn implementation_files_with_edits(((name, file), text) in mutated_in_system(shipped_implementations())) {
        check_implementation(system(&name), &file, &text)?;
    }

    #[test]
    fn scenario_files_with_edits(((name, file), text) in mutated_in_system(shipped_scenarios())) {
        check_scenario(system(&name), &file, &text)?;
    }

    #[test]
    fn counterexample_files_with_edits((file, text) in mutated(saved_counterexamples())) {
        check_counterexample(&file, &text)?;
    }

    #[test]
    fn every_file_parser_on_arbitrary_text(text in arbitrary_text()) {
        for system in systems().values() {
            check_implementation(system, "any.toml", &text)?;
            check_scenario(system, "any.json", &text)?;
        }
        check_counterexample("any.json", &text)?;
    }

    #[test]
    fn system_file_on_arbitrary_text(text in arbitrary_text()) {
        check_system_toml(&system_dirs()[0], &text)?;
    }

    #[test]
    fn implementation_files_with_arbitrary_field_values(text in implementation_with_fields()) {
        check_implementation(stack(), "fields.toml", &text)?;
    }
}

proptest! {
    #![proptest_config(config(1000))]

    #[test]
    fn field_parsers_on_arbitrary_text(text in arbitrary_text()) {
        check_fields(&text)?;
    }

    #[test]
    fn schedule_parse_on_arbitrary_text(text in arbitrary_text()) {
        check_schedule(&text)?;
    }

    #[test]
    fn schedule_parse_on_schedule_like_text(text in schedule_like_text()) {
        check_schedule(&text)?;
    }

    #[test]
    fn schedules_round_trip(choices in prop::collection::vec(1..=u16::MAX, 0..40)) {
        let schedule = Schedule::new(choices.into_iter().map(SessionId).collect());
        prop_assert_eq!(Schedule::parse(&schedule.to_string()), Ok(schedule));
    }

    #[test]
    fn valid_field_values_round_trip(
        isolation in select(Isolation::ALL.to_vec()),
        status in 100u16..600,
        reason in "([A-Za-z_.]+( [A-Za-z_.]+)*)?",
        count in any::<u64>(),
    ) {
        prop_assert_eq!(Isolation::parse(isolation.name()), Ok(isolation));
        prop_assert_eq!(Isolation::parse(isolation.sql()), Ok(isolation));
        let outcome = Outcome { status, reason };
        prop_assert_eq!(Outcome::parse(&outcome.to_string()), Ok(outcome));
        prop_assert_eq!(RowsMatcher::parse(&count.to_string()), Ok(RowsMatcher::Exactly(count)));
        prop_assert_eq!(RowsMatcher::parse(&format!(">{count}")), Ok(RowsMatcher::MoreThan(count)));
        prop_assert_eq!(RowsMatcher::parse(&format!("!={count}")), Ok(RowsMatcher::Not(count)));
    }
}

/// Words of digits, some with an `s` and some junk, joined by spaces and
/// commas, with or without a version in front.
fn schedule_like_text() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        4 => any::<u16>().prop_map(|n| n.to_string()),
        2 => any::<u16>().prop_map(|n| format!("s{n}")),
        1 => "[0-9a-z+-]{1,6}",
    ];
    let separator = select(vec![" ", ",", ", ", "  ", " ,"]);
    let words = prop::collection::vec((word, separator), 0..12);
    let version = select(vec!["", "v1:", "v1: ", " v1 : ", "v2: ", "v0:"]);
    (version, words).prop_map(|(version, words)| {
        let body: String = words.into_iter().map(|(w, s)| w + s).collect();
        format!("{version}{body}")
    })
}

/// A TOML string literal for printable ASCII (JSON's escapes are TOML's).
fn toml_string(value: &str) -> String {
    serde_json::to_string(value).expect("a string serializes")
}

/// A valid sample or arbitrary printable ASCII, as a TOML string.
fn field(valid: &[&'static str]) -> impl Strategy<Value = String> {
    let valid: Vec<String> = valid.iter().map(|v| v.to_string()).collect();
    prop_oneof![2 => select(valid), 1 => "[ -~]{0,16}"].prop_map(|v| toml_string(&v))
}

/// One operation whose every field is valid or arbitrary.
fn implementation_with_fields() -> impl Strategy<Value = String> {
    let head = (
        field(&["x", ""]),
        field(&["read committed", "serializable"]),
        field(&["sign-out", "delete-session", "sign-of"]),
        field(&["record", "nowhere"]),
        (field(&["token", "nope"]), field(&["current_token", "user"])),
        field(&["400 CANNOT_DELETE_CURRENT_SESSION", "continue", "4OO"]),
    );
    let step = (
        field(&["record", "other"]),
        field(&["SELECT :token", "SELECT ':x' ::text", "SELECT :nope", "'"]),
        (
            field(&["0", ">1", "!=1", "lots"]),
            field(&["continue", "404 GONE"]),
        ),
        (
            field(&["40P01", "40P", "23505"]),
            field(&["409 CONFLICT", "maybe"]),
        ),
    );
    (head, prop::collection::vec(step, 0..3)).prop_map(|(head, steps)| {
        let (name, isolation, operation, from, (a, b), outcome) = head;
        let steps: Vec<String> = steps
            .into_iter()
            .map(|(name, sql, (when, then), (code, then_error))| {
                format!(
                    "{{ name = {name}, sql = {sql}, rows = [{{ when = {when}, then = {then} }}], \
                     errors = [{{ sqlstate = {code}, then = {then_error} }}] }}"
                )
            })
            .collect();
        format!(
            "name = {name}\nisolation = {isolation}\n[operations.{operation}]\n\
             transaction_from = {from}\n\
             refuse = [{{ equal = [{a}, {b}], outcome = {outcome} }}]\n\
             steps = [{}]\n",
            steps.join(", ")
        )
    })
}

// ------------------------------------------------------------------ examples

#[test]
fn shipped_and_saved_files_parse() {
    for dir in system_dirs() {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let system = System::load_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(system.name, name, "{}", dir.display());
        assert!(
            System::shipped_names().contains(&name.as_str()),
            "{name} is not embedded"
        );
        check_system_toml(
            &dir,
            &std::fs::read_to_string(dir.join("system.toml")).unwrap(),
        )
        .unwrap();
    }
    for (name, file, text) in shipped_implementations() {
        Implementation::parse(system(&name), &file, &text).unwrap_or_else(|e| panic!("{e}"));
    }
    for (name, file, text) in shipped_scenarios() {
        Scenario::parse(system(&name), "shipped", &file, &text).unwrap_or_else(|e| panic!("{e}"));
    }
    for (file, text) in saved_counterexamples() {
        Counterexample::parse(&file, &text).unwrap_or_else(|e| panic!("{e}"));
        check_counterexample(&file, &text).unwrap();
    }
}

/// The first saved counterexample with its format line replaced.
fn counterexample_with_format(format: &str) -> String {
    let (_, text) = saved_counterexamples().swap_remove(0);
    let current = "\"tombstone-harness counterexample v2\"";
    assert!(text.contains(current));
    text.replacen(current, format, 1)
}

#[test]
fn older_or_foreign_counterexamples_are_refused() {
    let check = |text: &str, fragments: &[&str]| {
        let error = Counterexample::parse("old.json", text).expect_err(text);
        let line = line_error("old.json: ", error).unwrap();
        for fragment in fragments {
            assert!(line.contains(fragment), "{line:?} lacks {fragment:?}");
        }
    };
    let v0 = counterexample_with_format("\"tombstone-harness counterexample v0\"");
    check(
        &v0,
        &["'tombstone-harness counterexample v0'", "not supported"],
    );
    // Saved before systems were data.
    let v1 = counterexample_with_format("\"tombstone-harness counterexample v1\"");
    check(
        &v1,
        &["'tombstone-harness counterexample v1'", "not supported"],
    );
    check(
        &counterexample_with_format("2"),
        &["not a counterexample", "\"format\""],
    );
    let (_, _, scenario) = shipped_scenarios().swap_remove(0);
    check(
        &scenario,
        &["'tombstone-harness scenario v2'", "not supported"],
    );
    check("", &["not a counterexample"]);
    check("[]", &["not a counterexample", "no \"format\" field"]);
}

#[test]
fn older_or_foreign_scenarios_are_refused() {
    let check = |text: &str, fragment: &str| {
        let error = Scenario::parse(stack(), "old", "old.json", text).expect_err(text);
        let line = line_error("old.json: not a scenario: ", error).unwrap();
        assert!(line.contains(fragment), "{line:?} lacks {fragment:?}");
    };
    let (_, _, text) = shipped_scenarios().swap_remove(0);
    assert!(text.contains("scenario v2"));
    let v0 = text.replacen("scenario v2", "scenario v0", 1);
    check(&v0, "format 'tombstone-harness scenario v0' is not");
    let v1 = text.replacen("scenario v2", "scenario v1", 1);
    check(&v1, "format 'tombstone-harness scenario v1' is not");
    // A counterexample's first field a scenario lacks is now its system.
    let (_, counterexample) = saved_counterexamples().swap_remove(0);
    check(&counterexample, "unknown field `system`");
    check("{}", "missing field");
}

/// `table` after a valid `name` line must be refused with every fragment.
fn check_implementation_error(table: &str, fragments: &[&str]) {
    let text = format!("name = \"bad\"\n{table}\n");
    let error = Implementation::parse(stack(), "bad.toml", &text).expect_err(&text);
    let line = line_error("bad.toml: ", error).unwrap();
    for fragment in fragments {
        assert!(line.contains(fragment), "{line:?} lacks {fragment:?}");
    }
}

const SIGN_OUT: &str = "[operations.sign-out]";

#[test]
fn implementation_errors_name_the_operation_step_and_field() {
    let step = |rest: &str| {
        format!("{SIGN_OUT}\nsteps = [{{ name = \"record\", sql = \"SELECT 1\"{rest} }}]")
    };
    let unknown = "[operations.sign-off]\nsteps = [{ name = \"a\", sql = \"SELECT 1\" }]";
    check_implementation_error(
        unknown,
        &[
            "operation 'sign-off' is not one of system stack-auth's",
            "sign-out",
        ],
    );
    let nope = format!("{SIGN_OUT}\nsteps = [{{ name = \"record\", sql = \"SELECT :nope\" }}]");
    let where_ = "operation 'sign-out', step 1 ('record'), field 'sql': parameter :nope";
    check_implementation_error(&nope, &[where_]);
    let lots = step(", rows = [{ when = \"lots\", then = \"continue\" }]");
    check_implementation_error(&lots, &["step 1 ('record'), field 'rows', rule 1: 'lots'"]);
    let short = step(", errors = [{ sqlstate = \"40P\", then = \"continue\" }]");
    check_implementation_error(&short, &["field 'errors', rule 1: '40P' is not a SQLSTATE"]);
    let then = step(", rows = [{ when = \"0\", then = \"maybe\" }]");
    check_implementation_error(&then, &["field 'rows', rule 1: 'maybe' is not an outcome"]);
    let quote = format!("{SIGN_OUT}\nsteps = [{{ name = \"record\", sql = \"SELECT 'x\" }}]");
    check_implementation_error(&quote, &["field 'sql': a quote is never closed"]);
    let blank = format!("{SIGN_OUT}\nsteps = [{{ name = \"record\", sql = \" \" }}]");
    check_implementation_error(&blank, &["step 1 ('record'), field 'sql' is empty"]);
}

#[test]
fn implementation_errors_name_the_operation_field() {
    let a = "{ name = \"a\", sql = \"SELECT 1\" }";
    let from = format!("{SIGN_OUT}\ntransaction_from = \"nowhere\"\nsteps = [{a}]");
    let where_ = "operation 'sign-out', field 'transaction_from': no step is named 'nowhere'";
    check_implementation_error(&from, &[where_]);
    let twice = format!("{SIGN_OUT}\nsteps = [{a}, {a}]");
    check_implementation_error(
        &twice,
        &["step 2 ('a'), field 'name': another step has this name"],
    );
    let empty = format!("{SIGN_OUT}\nsteps = []");
    check_implementation_error(&empty, &["operation 'sign-out', field 'steps'"]);
    let isolation = format!("{SIGN_OUT}\nisolation = \"snapshot\"\nsteps = [{a}]");
    check_implementation_error(&isolation, &["field 'isolation': 'snapshot'"]);
    let refuse = "refuse = [{ equal = [\"token\", \"team\"], outcome = \"400 NO\" }]";
    let refuse = format!("{SIGN_OUT}\n{refuse}\nsteps = [{a}]");
    check_implementation_error(&refuse, &["field 'refuse': parameter :team"]);
}

#[test]
fn implementation_errors_name_the_file_field() {
    check_implementation_error("", &["operations"]);
    check_implementation_error("[operations]", &["no [operations.*] table"]);
    check_implementation_error("colour = \"red\"", &["line 2", "unknown field `colour`"]);
    check_implementation_error(
        "isolation = \"snapshot\"\n[operations]",
        &["field 'isolation': 'snapshot'"],
    );
    let error =
        Implementation::parse(stack(), "bad.toml", "name = \" \"\n[operations]\n").unwrap_err();
    let line = line_error("bad.toml: ", error).unwrap();
    assert!(line.contains("field 'name' is empty"), "{line}");
}

const SCENARIO_V2: &str = r#""format": "tombstone-harness scenario v2""#;

/// Errors quote the offending value, which may hold a line break (a `\n`
/// escape in TOML or JSON, or a raw one on the command line). The properties
/// found each of these when values were quoted verbatim.
#[test]
fn errors_stay_one_line_when_a_value_holds_a_line_break() {
    let rule = r#"rows = [{ when = "a\nb", then = "continue" }]"#;
    let rows = format!("{SIGN_OUT}\nsteps = [{{ name = \"a\", sql = \"SELECT 1\", {rule} }}]");
    let kind = r#""case": {"world": {}, "operations": [{"id": 1, "action": {"kind": "\n"}}]}"#;
    let operation = "[operations.\"\\n\"]\nsteps = [{ name = \"a\", sql = \"SELECT 1\" }]";
    let errors = [
        Outcome::parse("\n").unwrap_err(),
        RowsMatcher::parse("a\nb").unwrap_err(),
        Isolation::parse("\n").unwrap_err(),
        Isolation::parse("a\rb").unwrap_err(),
        Schedule::parse("1\nx\n").unwrap_err(),
        Implementation::parse(stack(), "f", &format!("name = \"x\"\n{rows}"))
            .unwrap_err()
            .to_string(),
        Implementation::parse(stack(), "f", &format!("name = \"x\"\n{operation}"))
            .unwrap_err()
            .to_string(),
        Counterexample::parse("f", r#"{"format": "\n"}"#)
            .unwrap_err()
            .to_string(),
        Scenario::parse(
            stack(),
            "f",
            "f",
            r#"{"format": "\n", "case": {"world": {}, "operations": []}}"#,
        )
        .unwrap_err()
        .to_string(),
        Scenario::parse(stack(), "f", "f", r#"{"\n": 1}"#)
            .unwrap_err()
            .to_string(),
        Scenario::parse(stack(), "f", "f", &format!("{{{SCENARIO_V2}, {kind}}}"))
            .unwrap_err()
            .to_string(),
    ];
    let multi_line: Vec<&String> = errors.iter().filter(|e| e.contains(['\n', '\r'])).collect();
    assert!(multi_line.is_empty(), "multi-line errors: {multi_line:#?}");
}

/// Stack Auth's `system.toml` with `from` replaced by `to` must be refused
/// with one line naming the file and every fragment (section and field).
fn check_system_error(from: &str, to: &str, fragments: &[&str]) {
    let dir = Path::new(SYSTEMS).join("stack-auth");
    let text = std::fs::read_to_string(dir.join("system.toml")).unwrap();
    assert!(
        text.contains(from),
        "{from:?} is not in stack-auth's system.toml"
    );
    let copy = system_with_toml(&dir, &text.replacen(from, to, 1));
    let error = System::load_dir(copy.path()).expect_err(to);
    let prefix = format!("{}/system.toml: ", copy.path().display());
    let line = line_error(&prefix, error).unwrap();
    for fragment in fragments {
        assert!(line.contains(fragment), "{line:?} lacks {fragment:?}");
    }
}

#[test]
fn system_errors_name_the_file_section_and_field() {
    check_system_error(
        "layout = \"shared\"",
        "layout = \"sharded\"",
        &["section 'tombstones', field 'layout': 'sharded'"],
    );
    check_system_error(
        "table = \"DeletedRow\"",
        "",
        &["section 'tombstones', field 'table'"],
    );
    check_system_error(
        "prefix = \"t\"",
        "prefix = \"u\"",
        &["entity 'token', field 'prefix': another entity has this prefix"],
    );
    check_system_error(
        "parents = [\"user\"]",
        "parents = [\"usr\"]",
        &["entity 'token', field 'parents': 'usr'"],
    );
    check_system_error(
        "count = [0, 4]",
        "count = [4, 0]",
        &["entity 'token', field 'count'"],
    );
    check_system_error(
        "id = \"uuid\"",
        "id = \"serial\"",
        &["entity 'user', field 'id': 'serial' is not a type"],
    );
    check_system_error(
        "key = [\"tenancyId\", \"id\"]",
        "key = [\"tenancyId\", \"uuid\"]",
        &["entity 'token', field 'key': column 'uuid'"],
    );
    check_system_error(
        "{ name = \"token\", row = \"token\" },",
        "{ name = \"token\", row = \"tokn\" },",
        &["operation 'sign-out', parameter 1 ('token'), field 'row': 'tokn' is not an entity"],
    );
    check_system_error(
        "otherwise = \"sign-in\"",
        "otherwise = \"sign-on\"",
        &["operation 'sign-out', field 'otherwise': 'sign-on'"],
    );
    check_system_error(
        "describe = \"delete-team {team}\"",
        "describe = \"delete-team {teem}\"",
        &["operation 'delete-team', field 'describe': {teem}"],
    );
    check_system_error(
        "reference = \"atomic\"",
        "reference = \"atomik\"",
        &["field 'reference': no implementations/atomik.toml"],
    );
    check_system_error(
        "schema = [\"schema.sql\"]",
        "schema = [\"schemas.sql\"]",
        &["field 'schema', file 1: 'schemas.sql'"],
    );
    check_system_error(
        "tenancy = { type = \"uuid\"",
        "tenancy = { type = \"guid\"",
        &["constant 'tenancy', field 'type': 'guid'"],
    );
    check_system_error(
        "world = \"u1 u2",
        "world = \"x1 u2",
        &["section 'solo', field 'world': 'x1' names no entity"],
    );
    check_system_error(
        "duplicate = \"B\"",
        "duplicated = \"B\"",
        &["section 'names', field 'duplicated': not one of the harness's anomalies"],
    );
    check_system_error(
        "row = \"token\", recorded_by",
        "row = \"tokens\", recorded_by",
        &["label 1 ('A'), field 'row': operation 'sign-out' has no parameter 'tokens'"],
    );
    check_system_error(
        "operations = [\"sign-out\", \"delete-session\"]",
        "operations = [\"sign-off\", \"delete-session\"]",
        &["label 1 ('A'), field 'server_error_at_record', field 'operations': 'sign-off'"],
    );
    check_system_error(
        "recorded_by = [\"change-password\",",
        "recorded_by = [\"change-passwd\",",
        &["label 1 ('A'), field 'server_error_at_record', field 'recorded_by': 'change-passwd'"],
    );
    check_system_error(
        "{ name = \"token\", row = \"token\" },",
        "{ name = \"token\" },",
        &["operation 'sign-out', parameter 1 ('token'), field 'row', 'parent' or 'new'"],
    );
    check_system_error(
        "[operations.delete-team]",
        "[operations.delete_team]",
        &["operation 'delete_team', field 'name'"],
    );
    check_system_error(
        "cascade = true",
        "cascade = true\ncolour = \"red\"",
        &["line ", "unknown field `colour`"],
    );
    check_system_error("[solo]", "[sol]", &["line ", "sol"]);
}
