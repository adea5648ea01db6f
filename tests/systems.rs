//! Systems as data: the shipped systems besides Stack Auth are found buggy
//! or given a clean bill through the command line a user runs, a system
//! written in a temporary directory from the README's instructions works
//! without touching `src/`, bad system files get one-line errors, and no
//! Rust code knows any system's table names.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tombstone_harness::case::Case;
use tombstone_harness::implementation::Footprint;
use tombstone_harness::system::System;

fn harness(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tombstone-harness"))
        .args(["--pg", "local"])
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("TOMBSTONE_PG")
        .env_remove("TOMBSTONE_SYSTEM")
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn no_rust_code_names_a_systems_tables() {
    let mut pending = vec![repository().join("src")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let source = std::fs::read_to_string(&path).unwrap();
            for table in [
                "ProjectUserRefreshToken",
                "DeletedRow",
                "VerificationCode",
                "comments_tombstones",
                "outbox",
            ] {
                assert!(!source.contains(table), "{} names {table}", path.display());
            }
        }
    }
}

/// What a statement does, read from its SQL against the system's tables
/// (bare lower-case names here, quoted camel case in Stack Auth's).
#[test]
fn tables_foreign_keys_deletes_and_records() {
    let system = System::load("blog").unwrap();
    let of = |sql: &str| Footprint::of_sql(&system, sql);
    let post = of("UPDATE posts SET title = 'x'");
    let record = of("INSERT INTO comments_tombstones (id) SELECT id FROM comments");
    assert!(!record.commutes_with(record));
    assert!(
        !post.commutes_with(record),
        "comments cascade with their post"
    );
    assert!(!Footprint::ALL.commutes_with(record));
    assert_eq!(post.describe(&system), "{posts, comments}");
    assert!(record.records && record.deletes == 0);
    assert!(record.names(1) && !record.names(0));
    let atomic = of(
        "WITH d AS (DELETE FROM comments WHERE id = 1 RETURNING id) INSERT INTO comments_tombstones (id) SELECT id FROM d",
    );
    assert!(atomic.records && atomic.deletes_rows_of(&system, 1));
    assert!(
        of("DELETE FROM posts").deletes_rows_of(&system, 1),
        "cascade"
    );
    let shop = System::load("shop").unwrap();
    let customer = Footprint::of_sql(&shop, "UPDATE customers SET name = 'x'");
    let order = Footprint::of_sql(&shop, "UPDATE orders SET cancelled_at = now()");
    assert!(customer.commutes_with(order), "no foreign key, no cascade");
}

/// The saved counterexample expects `invariant` with `anomaly`, naming
/// `operations` operations (a duplicate names both writers, a missing
/// tombstone the operation that deleted the row).
fn assert_expects(example: &serde_json::Value, invariant: &str, anomaly: &str, operations: usize) {
    let expected = example["expected"].as_array().unwrap();
    let found = expected
        .iter()
        .find(|e| e["invariant"] == invariant && e["anomaly"] == anomaly)
        .unwrap_or_else(|| panic!("{invariant} {anomaly} not expected: {example}"));
    assert_eq!(
        found["operations"].as_array().unwrap().len(),
        operations,
        "{example}"
    );
}

/// The saved counterexamples a stress run wrote into `dir`.
fn saved(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default()
}

/// `stress --system SYSTEM -i BUGGY --duration 30s` finds `anomaly`, saves a
/// shrunk counterexample of it that replays deterministically; the fixed
/// implementation gets a clean bill from the same run.
fn buggy_found_and_fixed_clean(system: &str, buggy: &str, fixed: &str, anomaly: &str) {
    let dir = tempfile::tempdir().unwrap();
    let save = dir.path().join("found");
    let report = dir.path().join("report.json");
    let args = [
        "--system",
        system,
        "stress",
        "-i",
        buggy,
        "--duration",
        "30s",
        "--seed",
        "7",
        "--save-dir",
        save.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ];
    let output = harness(&args);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let anomalies: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["anomaly"].as_str())
        .collect();
    assert!(anomalies.contains(&anomaly), "{anomalies:?}");
    let file = saved(&save)
        .into_iter()
        .find(|p| p.to_string_lossy().contains(&format!("-{anomaly}-")))
        .unwrap_or_else(|| panic!("no saved {anomaly} counterexample in {:?}", saved(&save)));
    let example: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let operations = example["case"]["operations"].as_array().unwrap().len();
    assert!(operations <= 3, "shrunk to a small story: {example}");
    let named = if anomaly == "duplicate" { 2 } else { 1 };
    assert_expects(&example, "exactly-one-tombstone", anomaly, named);
    let replay = harness(&["replay", file.to_str().unwrap(), "--check-determinism", "5"]);
    let told = text(&replay);
    assert_eq!(replay.status.code(), Some(1), "{told}");
    assert!(told.contains("deterministic: 5 replays"), "{told}");
    let violated = format!("exactly-one-tombstone ({anomaly} tombstone)");
    assert!(told.contains(&violated), "{told}");
    let clean = harness(&[
        "--system",
        system,
        "stress",
        "-i",
        fixed,
        "--duration",
        "30s",
        "--seed",
        "7",
        "--save-dir",
        save.to_str().unwrap(),
    ]);
    assert_eq!(clean.status.code(), Some(0), "{}", text(&clean));
}

#[test]
fn blog_buggy_loses_a_comment_tombstone_and_blog_fixed_is_clean() {
    buggy_found_and_fixed_clean("blog", "blog-buggy", "blog-fixed", "missing");
}

#[test]
fn shop_buggy_records_a_cancel_twice_and_shop_fixed_is_clean() {
    buggy_found_and_fixed_clean("shop", "shop-buggy", "shop-fixed", "duplicate");
}

#[test]
fn shop_serializable_with_retries_is_clean() {
    let output = harness(&[
        "--system",
        "shop",
        "stress",
        "-i",
        "shop-serializable",
        "--cases",
        "150",
        "--seed",
        "3",
        "--mode",
        "scheduled",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
}

#[test]
fn every_shipped_scenario_explores_to_an_outcome_table() {
    for (system, scenario) in [
        ("blog", "comment-during-post-delete"),
        ("blog", "comment-delete-vs-post-delete"),
        ("shop", "double-cancel"),
        ("shop", "order-during-close"),
    ] {
        let output = harness(&["--system", system, "explore", scenario]);
        let told = text(&output);
        assert!(
            output.status.code() == Some(1)
                && told.contains("tombstones (writer)")
                && told.contains("exactly-one-tombstone ["),
            "{system} {scenario}: {told}"
        );
    }
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::create_dir_all(dir.join(name).parent().unwrap()).unwrap();
    std::fs::write(dir.join(name), text).unwrap();
}

/// A system nobody shipped, written from scratch the way the README says: a
/// notes app whose notes are deleted, with one tombstone table.
fn notes_system(dir: &Path, delete_sql: &str) {
    write(
        dir,
        "schema.sql",
        "CREATE TABLE notes (id bigint PRIMARY KEY, body text NOT NULL);\nCREATE TABLE notes_deleted (id bigint NOT NULL);\n",
    );
    write(
        dir,
        "system.toml",
        r#"name = "notes"
schema = ["schema.sql"]
reference = "notes"

[tombstones]
layout = "per-table"

[[entities]]
name = "note"
prefix = "n"
table = "notes"
id = "int"
count = [1, 3]
key = ["id"]
columns = { id = "$id", body = "$label" }
tombstone_table = "notes_deleted"

[solo]
world = "n1 n2"

[operations.delete-note]
parameters = [{ name = "note", row = "note" }]
"#,
    );
    write(
        dir,
        "implementations/notes.toml",
        &format!(
            "name = \"notes\"\n[operations.delete-note]\nsteps = [{{ name = \"delete\", sql = '''{delete_sql}''', rows = [{{ when = \"0\", then = \"404 NOT_FOUND\" }}] }}]\n"
        ),
    );
}

#[test]
fn a_system_written_from_scratch_works_without_touching_src() {
    let dir = tempfile::tempdir().unwrap();
    let system = dir.path().join("notes");
    notes_system(
        &system,
        "WITH d AS (DELETE FROM notes WHERE id = :note RETURNING id) INSERT INTO notes_deleted (id) SELECT id FROM d",
    );
    let path = system.to_str().unwrap();
    let check = harness(&["--system", path, "check"]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
    let stress = harness(&["--system", path, "stress", "--cases", "60", "--seed", "1"]);
    assert_eq!(stress.status.code(), Some(0), "{}", text(&stress));
    // The same system with a recorder that records before it deletes, in two
    // statements: two deletes of one note both record it.
    let buggy = dir.path().join("buggy.toml");
    std::fs::write(
        &buggy,
        "name = \"buggy\"\n[operations.delete-note]\nsteps = [\n  { name = \"record\", sql = '''INSERT INTO notes_deleted (id) SELECT id FROM notes WHERE id = :note''', rows = [{ when = \"0\", then = \"404 NOT_FOUND\" }] },\n  { name = \"delete\", sql = '''DELETE FROM notes WHERE id = :note''' },\n]\n",
    )
    .unwrap();
    let save = dir.path().join("found");
    let found = harness(&[
        "--system",
        path,
        "stress",
        "-i",
        buggy.to_str().unwrap(),
        "--cases",
        "200",
        "--seed",
        "1",
        "--save-dir",
        save.to_str().unwrap(),
    ]);
    let told = text(&found);
    assert_eq!(found.status.code(), Some(1), "{told}");
    let file = saved(&save)
        .into_iter()
        .next()
        .expect("a saved counterexample");
    let example: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_expects(&example, "exactly-one-tombstone", "duplicate", 2);
    let kinds: Vec<&str> = example["case"]["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["action"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["delete-note", "delete-note"], "{example}");
    let replay = harness(&["replay", file.to_str().unwrap()]);
    assert_eq!(replay.status.code(), Some(1), "{}", text(&replay));
}

/// The notes system's delete that records its note in the same statement.
const NOTES_DELETE: &str = "WITH d AS (DELETE FROM notes WHERE id = :note RETURNING id) INSERT INTO notes_deleted (id) SELECT id FROM d";

/// The notes system in `dir`, with `sql` added to its schema and, if
/// given, another text for its reference implementation.
fn notes_with_schema(dir: &Path, sql: &str, reference: Option<&str>) -> std::sync::Arc<System> {
    notes_system(dir, NOTES_DELETE);
    if let Some(text) = reference {
        write(dir, "implementations/notes.toml", text);
    }
    let schema = dir.join("schema.sql");
    let text = std::fs::read_to_string(&schema).unwrap() + sql;
    std::fs::write(&schema, text).unwrap();
    System::load(dir.to_str().unwrap()).unwrap()
}

/// A case of the notes system that deletes `notes` in turn.
fn notes_case(system: &std::sync::Arc<System>, world: &str, notes: &[&str]) -> Case {
    let actions: Vec<String> = notes
        .iter()
        .map(|n| format!("delete-note note={n}"))
        .collect();
    let actions: Vec<&str> = actions.iter().map(String::as_str).collect();
    Case::parse(system, world, &actions).unwrap()
}

/// The notes system whose reference, after its delete, calls a function
/// that deletes every other note: no statement's SQL names those rows, so
/// the footprints cannot see it, and the first serial run that shows it
/// stops all sharing of what operations did. Without the function, the
/// same later case is put together from the first.
#[test]
fn a_serial_run_that_changes_a_row_outside_its_scope_stops_sharing() {
    let shared_with_later = |forget: bool| {
        let dir = tempfile::tempdir().unwrap();
        let forgetting = format!(
            "name = \"notes\"\n[operations.delete-note]\nsteps = [\n  {{ name = \"delete\", sql = '''{NOTES_DELETE}''', rows = [{{ when = \"0\", then = \"404 NOT_FOUND\" }}] }},\n  {{ name = \"forget the others\", sql = '''SELECT forget(:note)''' }},\n]\n"
        );
        let system = notes_with_schema(
            dir.path(),
            "CREATE FUNCTION forget(kept bigint) RETURNS bigint LANGUAGE sql AS $$ DELETE FROM notes WHERE id <> kept RETURNING id $$;\n",
            forget.then_some(forgetting.as_str()),
        );
        let rt = common::runtime();
        let (_database, mut engine) = rt.block_on(common::engine_for(&system));
        let left = if forget { 0 } else { 1 };
        for (world, note) in [("n1 n2", "n1"), ("n3 n5", "n3")] {
            let case = notes_case(&system, world, &[note]);
            let live = rt.block_on(engine.run_serial(&case, &[0])).unwrap().live;
            assert_eq!(live.len(), left, "{world}, forget {forget}: {live:?}");
        }
        engine.serial_runs_shared()
    };
    assert_eq!(shared_with_later(false), 1);
    assert_eq!(shared_with_later(true), 0);
}

/// A serial run that met a unique key (23505) keeps nothing, not even what
/// its operations did before: a unique index may compare rows no footprint
/// names. Here a unique index lets the notes system hold one tombstone at a
/// time, so the second of two deletes is refused; a later delete alone,
/// the situation the first delete met, is then run, not put together.
/// Without the index the same later case is put together.
#[test]
fn a_serial_run_that_met_a_unique_key_keeps_nothing() {
    let shared_with_later = |one_tombstone: bool| {
        let dir = tempfile::tempdir().unwrap();
        let index = "CREATE UNIQUE INDEX one_tombstone ON notes_deleted ((true));\n";
        let system = notes_with_schema(dir.path(), if one_tombstone { index } else { "" }, None);
        let rt = common::runtime();
        let (_database, mut engine) = rt.block_on(common::engine_for(&system));
        let both = notes_case(&system, "n1 n2", &["n1", "n2"]);
        let first = rt.block_on(engine.run_serial(&both, &[0, 1])).unwrap();
        assert_eq!(first.met_unique_key, one_tombstone);
        let later = notes_case(&system, "n3", &["n3"]);
        let run = rt.block_on(engine.run_serial(&later, &[0])).unwrap();
        assert!(run.live.is_empty(), "{:?}", run.live);
        engine.serial_runs_shared()
    };
    assert_eq!(shared_with_later(false), 1);
    assert_eq!(shared_with_later(true), 0);
}

#[test]
fn a_copy_of_the_blog_system_is_a_system_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("my-system");
    let source = repository().join("fixtures/systems/blog");
    for entry in walk(&source) {
        let relative = entry.strip_prefix(&source).unwrap();
        write(
            &copy,
            relative.to_str().unwrap(),
            &std::fs::read_to_string(&entry).unwrap(),
        );
    }
    let toml = copy.join("system.toml");
    let renamed = std::fs::read_to_string(&toml)
        .unwrap()
        .replace("name = \"blog\"", "name = \"my-blog\"");
    std::fs::write(&toml, renamed).unwrap();
    let path = copy.to_str().unwrap();
    let output = harness(&[
        "--system",
        path,
        "explore",
        "comment-during-post-delete",
        "-i",
        "blog-buggy",
    ]);
    let told = text(&output);
    assert_eq!(output.status.code(), Some(1), "{told}");
    assert!(told.contains("exactly-one-tombstone [missing]"), "{told}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Exit 2 and one line on stderr containing every one of `needles`.
fn assert_one_line_error(output: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{}", text(output));
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.starts_with("PostgreSQL:"))
        .collect();
    assert_eq!(lines.len(), 1, "not one line: {stderr}");
    for needle in needles {
        assert!(lines[0].contains(needle), "{needle:?} not in: {stderr}");
    }
}

#[test]
fn bad_system_files_get_one_line_naming_file_section_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let system = dir.path().join("notes");
    notes_system(&system, "DELETE FROM notes WHERE id = :note");
    let path = system.to_str().unwrap();
    let toml = system.join("system.toml");
    let original = std::fs::read_to_string(&toml).unwrap();
    for (from, to, needles) in [
        (
            "count = [1, 3]",
            "count = [3, 1]",
            vec!["system.toml", "entity 'note'", "field 'count'"],
        ),
        (
            "layout = \"per-table\"",
            "layout = \"sideways\"",
            vec!["section 'tombstones'", "field 'layout'"],
        ),
        (
            "row = \"note\"",
            "row = \"nope\"",
            vec![
                "operation 'delete-note'",
                "parameter 1 ('note')",
                "field 'row'",
            ],
        ),
        (
            "key = [\"id\"]",
            "key = [\"body\"]",
            vec!["entity 'note'", "column 'body'"],
        ),
        (
            "world = \"n1 n2\"",
            "world = \"x1\"",
            vec!["section 'solo'", "field 'world'"],
        ),
        (
            "reference = \"notes\"",
            "reference = \"gone\"",
            vec!["field 'reference'"],
        ),
        (
            "prefix = \"n\"",
            "prefx = \"n\"",
            vec!["system.toml", "line "],
        ),
    ] {
        std::fs::write(&toml, original.replace(from, to)).unwrap();
        assert_one_line_error(&harness(&["--system", path, "check"]), &needles);
    }
    std::fs::write(&toml, &original).unwrap();
    let check = harness(&["--system", path, "check"]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
}

#[test]
fn check_exits_2_on_sql_the_server_cannot_run() {
    let dir = tempfile::tempdir().unwrap();
    let system = dir.path().join("notes");
    notes_system(&system, "DELETE FROM notez WHERE id = :note");
    let output = harness(&["--system", system.to_str().unwrap(), "check"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        stderr.contains("notes.toml: operation 'delete-note', step 'delete'")
            && stderr.contains("42P01"),
        "{stderr}"
    );
}

#[test]
fn an_unknown_system_is_a_one_line_error() {
    assert_one_line_error(
        &harness(&["--system", "nope", "run"]),
        &["unknown system 'nope'", "stack-auth"],
    );
}
