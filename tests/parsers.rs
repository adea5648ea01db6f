//! Bad input never panics: property tests over every file and field parser.
//!
//! Inputs are arbitrary text, the shipped and saved files with random edits
//! (truncations, character deletions, insertions and replacements, line
//! deletions and duplications), implementation files whose fields hold
//! arbitrary values, and files from older or corrupt versions. Each parse
//! either succeeds or fails with one non-empty line that starts with the file
//! name. A panic inside a property fails it (proptest catches and shrinks it).

use proptest::prelude::*;
use proptest::sample::{Index, select};
use std::fmt::Display;
use tombstone_harness::counterexample::Counterexample;
use tombstone_harness::implementation::{
    self, Implementation, Isolation, Outcome, RowsMatcher, Then,
};
use tombstone_harness::scenario::{self, Scenario};
use tombstone_harness::schedule::{Schedule, SessionId};

const COUNTEREXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/counterexamples");

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

fn shipped_implementations() -> Vec<(String, String)> {
    let files = implementation::SHIPPED.iter();
    files
        .map(|(n, t)| (format!("{n}.toml"), t.to_string()))
        .collect()
}

fn shipped_scenarios() -> Vec<(String, String)> {
    let files = scenario::SHIPPED.iter();
    files
        .map(|(n, t)| (format!("{n}.json"), t.to_string()))
        .collect()
}

/// The saved counterexamples, read at test time: (file name, text).
fn saved_counterexamples() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(COUNTEREXAMPLES)
        .expect("fixtures/counterexamples is readable")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("a saved counterexample");
            (path.display().to_string(), text)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no counterexamples in {COUNTEREXAMPLES}");
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
fn mutated(files: Vec<(String, String)>) -> impl Strategy<Value = (String, String)> {
    let edits = prop::collection::vec(an_edit(), 1..=4);
    (select(files), edits).prop_map(|((file, text), edits)| {
        let text = edits.iter().fold(text, |text, edit| edit.apply(&text));
        (file, text)
    })
}

/// Arbitrary text: any line of characters, or printable ASCII with newlines.
fn arbitrary_text() -> impl Strategy<Value = String> {
    prop_oneof![".*", "[ -~\n]{0,200}"]
}

// ------------------------------------------------- checks on one parse each

fn check_implementation(file: &str, text: &str) -> Result<(), TestCaseError> {
    match Implementation::parse(file, text) {
        Ok(parsed) => prop_assert!(!parsed.operations.is_empty()),
        Err(error) => drop(line_error(&format!("{file}: "), error)?),
    }
    Ok(())
}

fn check_scenario(file: &str, text: &str) -> Result<(), TestCaseError> {
    match Scenario::parse(file, text) {
        Ok(parsed) => prop_assert!(parsed.case.validate().is_ok()),
        Err(error) => drop(line_error(&format!("{file}: not a scenario: "), error)?),
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
    fn implementation_files_with_edits((file, text) in mutated(shipped_implementations())) {
        check_implementation(&file, &text)?;
    }

    #[test]
    fn scenario_files_with_edits((file, text) in mutated(shipped_scenarios())) {
        check_scenario(&file, &text)?;
    }

    #[test]
    fn counterexample_files_with_edits((file, text) in mutated(saved_counterexamples())) {
        check_counterexample(&file, &text)?;
    }

    #[test]
    fn every_file_parser_on_arbitrary_text(text in arbitrary_text()) {
        check_implementation("any.toml", &text)?;
        check_scenario("any.json", &text)?;
        check_counterexample("any.json", &text)?;
    }

    #[test]
    fn implementation_files_with_arbitrary_field_values(text in implementation_with_fields()) {
        check_implementation("fields.toml", &text)?;
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
    for (file, text) in shipped_implementations() {
        Implementation::parse(&file, &text).unwrap_or_else(|e| panic!("{e}"));
    }
    for (file, text) in shipped_scenarios() {
        Scenario::parse(&file, &text).unwrap_or_else(|e| panic!("{e}"));
    }
    for (file, text) in saved_counterexamples() {
        Counterexample::parse(&file, &text).unwrap_or_else(|e| panic!("{e}"));
        check_counterexample(&file, &text).unwrap();
    }
}

/// The first saved counterexample with its format line replaced.
fn counterexample_with_format(format: &str) -> String {
    let (_, text) = saved_counterexamples().swap_remove(0);
    let current = "\"tombstone-harness counterexample v1\"";
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
    check(
        &counterexample_with_format("2"),
        &["not a counterexample", "\"format\""],
    );
    let (_, scenario) = shipped_scenarios().swap_remove(0);
    check(
        &scenario,
        &["'tombstone-harness scenario v1'", "not supported"],
    );
    check("", &["not a counterexample"]);
    check("[]", &["not a counterexample", "no \"format\" field"]);
}

#[test]
fn older_or_foreign_scenarios_are_refused() {
    let check = |text: &str, fragment: &str| {
        let error = Scenario::parse("old.json", text).expect_err(text);
        let line = line_error("old.json: not a scenario: ", error).unwrap();
        assert!(line.contains(fragment), "{line:?} lacks {fragment:?}");
    };
    let (_, text) = shipped_scenarios().swap_remove(0);
    let v0 = text.replacen("scenario v1", "scenario v0", 1);
    check(&v0, "format 'tombstone-harness scenario v0' is not");
    let (_, counterexample) = saved_counterexamples().swap_remove(0);
    check(&counterexample, "unknown field `implementation`");
    check("{}", "missing field");
}

/// `table` after a valid `name` line must be refused with every fragment.
fn check_implementation_error(table: &str, fragments: &[&str]) {
    let text = format!("name = \"bad\"\n{table}\n");
    let error = Implementation::parse("bad.toml", &text).expect_err(&text);
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
    check_implementation_error(unknown, &["operation 'sign-off' is unknown", "sign-out"]);
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
    let error = Implementation::parse("bad.toml", "name = \" \"\n[operations]\n").unwrap_err();
    let line = line_error("bad.toml: ", error).unwrap();
    assert!(line.contains("field 'name' is empty"), "{line}");
}

const SCENARIO_V1: &str = r#""format": "tombstone-harness scenario v1""#;

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
        Implementation::parse("f", &format!("name = \"x\"\n{rows}"))
            .unwrap_err()
            .to_string(),
        Implementation::parse("f", &format!("name = \"x\"\n{operation}"))
            .unwrap_err()
            .to_string(),
        Counterexample::parse("f", r#"{"format": "\n"}"#)
            .unwrap_err()
            .to_string(),
        Scenario::parse(
            "f",
            r#"{"format": "\n", "case": {"world": {}, "operations": []}}"#,
        )
        .unwrap_err()
        .to_string(),
        Scenario::parse("f", r#"{"\n": 1}"#)
            .unwrap_err()
            .to_string(),
        Scenario::parse("f", &format!("{{{SCENARIO_V1}, {kind}}}"))
            .unwrap_err()
            .to_string(),
    ];
    let multi_line: Vec<&String> = errors.iter().filter(|e| e.contains(['\n', '\r'])).collect();
    assert!(multi_line.is_empty(), "multi-line errors: {multi_line:#?}");
}
