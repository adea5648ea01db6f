//! The reports CI keeps: the JSON against its published schema, the JUnit as
//! CI parses it, merging shards, and the reports of a run that never started.

mod common;

use common::reports::{Junit, valid_report};
use std::path::Path;
use std::process::{Command, Output};

fn harness(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tombstone-harness"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("TOMBSTONE_PG")
        .output()
        .unwrap()
}

fn stress(dir: &Path, shard: &str, implementations: &[&str]) -> Output {
    let path = |name: &str| dir.join(name).display().to_string();
    let n = &shard[..1];
    let mut args = vec![
        "--pg",
        "local",
        "stress",
        "--cases",
        "15",
        "--seed",
        "11",
        "--shard",
        shard,
        "--mode",
        "scheduled",
    ]
    .into_iter()
    .map(String::from)
    .collect::<Vec<_>>();
    for implementation in implementations {
        args.extend(["-i".to_string(), implementation.to_string()]);
    }
    args.extend([
        "--report".into(),
        path(&format!("shard{n}.json")),
        "--junit".into(),
        path(&format!("shard{n}.xml")),
        "--save-dir".into(),
        path("saved"),
    ]);
    harness(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn merging_shards_with_different_implementations_keeps_all_of_them() {
    let dir = tempfile::tempdir().unwrap();
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/systems/stack-auth/implementations/stack-auth-pre-1466.toml"
    );
    let first = stress(dir.path(), "1/2", &["stack-auth-post-1466"]);
    assert_eq!(first.status.code(), Some(1), "{first:?}");
    let second = stress(dir.path(), "2/2", &["atomic", file]);
    assert_eq!(second.status.code(), Some(1), "{second:?}");

    let shard = valid_report(&dir.path().join("shard2.json"));
    assert_eq!(shard["format"], "tombstone-harness-report/2");
    assert_eq!(
        shard["isolation"],
        serde_json::Value::Null,
        "each file's own"
    );
    let implementations = shard["implementations"].as_array().unwrap();
    assert_eq!(implementations[0]["name"], "atomic");
    assert_eq!(
        implementations[0]["path"],
        serde_json::Value::Null,
        "shipped"
    );
    assert_eq!(implementations[1]["name"], "stack-auth-pre-1466");
    assert_eq!(implementations[1]["path"], file);
    let finding = &shard["findings"][0];
    assert_eq!(finding["first_case"]["seed"], 11, "{finding}");
    assert!(finding["first_case"]["case_number"].is_u64(), "{finding}");
    assert!(finding["first_found_after_s"].as_f64().unwrap() >= 0.0);

    let path = |name: &str| dir.path().join(name).display().to_string();
    let merged = harness(&[
        "report",
        "merge",
        &path("shard1.json"),
        &path("shard2.json"),
        "--out",
        &path("merged.json"),
        "--junit",
        &path("merged.xml"),
    ]);
    assert_eq!(merged.status.code(), Some(1), "{merged:?}");
    let json = valid_report(&dir.path().join("merged.json"));
    let names: Vec<&str> = json["implementations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["stack-auth-post-1466", "atomic", "stack-auth-pre-1466"]
    );
    // JSON and JUnit agree: a failed test case for each implementation ×
    // invariant the JSON has findings for.
    let broken: std::collections::BTreeSet<(String, String)> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["implementation"].as_str().unwrap().into(),
                f["invariant"].as_str().unwrap().into(),
            )
        })
        .collect();
    let junit = Junit::read(&dir.path().join("merged.xml"));
    assert_eq!(junit.cases.len(), 12, "3 implementations × 4 invariants");
    let failed: std::collections::BTreeSet<(String, String)> = junit
        .cases
        .iter()
        .filter(|c| c.2 == "failure")
        .map(|c| (c.0.clone(), c.1.clone()))
        .collect();
    assert_eq!(failed, broken, "{}", junit.text);
    assert!(
        broken.iter().any(|(i, _)| i == "stack-auth-pre-1466"),
        "{broken:?}"
    );
    assert!(
        broken.iter().any(|(i, _)| i == "stack-auth-post-1466"),
        "{broken:?}"
    );
    assert_eq!(junit.property("seed"), Some("11,11"));
}

#[test]
fn an_unreachable_server_writes_a_red_junit_and_a_report_saying_why() {
    for command in ["stress", "run"] {
        let dir = tempfile::tempdir().unwrap();
        let (json, xml) = (dir.path().join("r.json"), dir.path().join("r.xml"));
        let output = harness(&[
            "--pg",
            "url",
            "--pg-url",
            "postgres://nobody@127.0.0.1:1/x",
            command,
            "--cases",
            "5",
            "--seed",
            "4",
            "--report",
            json.to_str().unwrap(),
            "--junit",
            xml.to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{command}: {stderr}");
        let report = valid_report(&json);
        assert_eq!(report["outcome"], "error");
        assert_eq!(report["postgres"], serde_json::Value::Null);
        assert_eq!(report["seeds"], serde_json::json!([4]));
        let error = report["error"].as_str().unwrap();
        assert!(
            stderr.contains(error),
            "the report says what stderr said: {error} / {stderr}"
        );
        let junit = Junit::read(&xml);
        assert_eq!(junit.error_type(), Some("infrastructure"), "{}", junit.text);
        junit.assert_described("4");
    }
}
