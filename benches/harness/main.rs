//! `cargo bench --bench harness`: the figures of BENCHMARKS.md, each a ratio
//! measured side by side in one run on one throwaway local PostgreSQL 15.
//! Not a test: nothing here asserts a speed. Sections (all by default, or a
//! comma list in `BENCH_ONLY`): isolation, blocking, hunts, stress, scaling, pruning,
//! mutants, jobs, coverage.
//! Writes `benches/results.json` and `benches/results.md`.
//!
//! Env: BENCH_REPEATS (runs of each permutation, default 40), BENCH_SEEDS
//! (hunt seeds, 20), BENCH_THROUGHPUT_SECS (harness vs pgbench, 15),
//! BENCH_STRESS_SECS (the RSS run, 120), BENCH_JOBS (workers / pgbench
//! clients, 2), BENCH_SCALING_SECS (cap per exhaustive size, 60).

mod coverage;
mod hunts;
mod isolation;
mod jobs;
mod mutants;
mod pruning;
mod scaling;
mod stress;

use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tombstone_harness::case::Case;
use tombstone_harness::db::{PgChoice, PgOptions, Server};
use tombstone_harness::engine::{Engine, Limits};
use tombstone_harness::implementation::Implementation;
use tombstone_harness::system::System;

/// Everything a section needs: the runtime, the server and where it listens.
pub struct Bench {
    pub runtime: tokio::runtime::Runtime,
    pub server: Server,
    pub socket_dir: PathBuf,
    pub bin_dir: PathBuf,
    /// The system every section measures: Stack Auth.
    pub system: Arc<System>,
}

impl Bench {
    /// A fresh database and an engine on it; the database name for outside tools.
    pub fn engine(&self) -> (tombstone_harness::db::Database, Engine) {
        self.runtime.block_on(async {
            let database = self
                .server
                .create_database(&self.system)
                .await
                .expect("create database");
            let engine = Engine::open(database.connector(), Limits::default())
                .await
                .expect("open engine");
            (database, engine)
        })
    }

    pub fn implementation(&self, name: &str) -> Implementation {
        Implementation::load(&self.system, name).expect("implementation")
    }

    /// A Stack Auth case from its text form.
    pub fn case(&self, world: &str, actions: &[&str]) -> Case {
        Case::parse(&self.system, world, actions).expect("case")
    }

    pub fn conninfo(&self, database: &str) -> String {
        format!(
            "host={} port=5432 user=postgres dbname={database}",
            self.socket_dir.display()
        )
    }
}

pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

pub fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn main() {
    // `cargo bench` passes `--bench`; we take no arguments.
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let wanted = |name: &str| only.is_empty() || only.split(',').any(|s| s.trim() == name);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let options = PgOptions {
        choice: PgChoice::Local,
        url: None,
        image: "postgres:15".into(),
    };
    let server = runtime
        .block_on(Server::start(&options))
        .expect("starting PostgreSQL");
    let cluster = server.local_cluster().expect("a local cluster");
    let socket_dir = cluster.dir.clone();
    let bin_dir = std::env::var("TOMBSTONE_PG_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("/usr/lib/postgresql/15/bin"));
    eprintln!("bench: PostgreSQL is {}", server.description());
    let bench = Bench {
        runtime,
        server,
        socket_dir,
        bin_dir,
        system: System::load("stack-auth").expect("the shipped system"),
    };
    let mut results = Map::new();
    results.insert("postgres".into(), json!(bench.server.description()));
    results.insert(
        "cores".into(),
        json!(
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(0)
        ),
    );
    let mut table: Vec<[String; 4]> = Vec::new();
    if wanted("isolation") {
        let (value, rows) = isolation::issue_1466(&bench);
        results.insert("issue_1466".into(), value);
        table.extend(rows);
    }
    if wanted("blocking") {
        let (value, rows) = isolation::blocking(&bench);
        results.insert("blocking".into(), value);
        table.extend(rows);
    }
    if wanted("hunts") {
        let (value, rows) = hunts::time_to_find(&bench);
        results.insert("time_to_find".into(), value);
        table.extend(rows);
    }
    if wanted("stress") {
        let (value, rows) = stress::throughput(&bench);
        results.insert("throughput".into(), value);
        table.extend(rows);
        let (value, rows) = stress::memory(&bench);
        results.insert("memory".into(), value);
        table.extend(rows);
    }
    if wanted("scaling") {
        let (value, rows) = scaling::exhaustive(&bench);
        results.insert("scaling".into(), value);
        table.extend(rows);
    }
    if wanted("jobs") {
        let (value, rows) = jobs::explore_scaling(&bench);
        results.insert("explore_jobs".into(), value);
        table.extend(rows);
    }
    if wanted("mutants") {
        let (value, rows) = mutants::time_to_kill(&bench);
        results.insert("mutants".into(), value);
        table.extend(rows);
    }
    if wanted("pruning") {
        let (value, rows) = pruning::savings(&bench);
        results.insert("pruning".into(), value);
        table.extend(rows);
    }
    if wanted("coverage") {
        let (value, rows) = coverage::three_sessions(&bench);
        results.insert(
            "coverage_speedup_vs_isolationtester".into(),
            value["speedup"].clone(),
        );
        results.insert("coverage_scenario".into(), value["scenario"].clone());
        results.insert("coverage".into(), value);
        table.extend(rows);
    }
    write_outputs(Value::Object(results), &table);
}

fn write_outputs(results: Value, table: &[[String; 4]]) {
    let json_path = repo_path("benches/results.json");
    let text = serde_json::to_string_pretty(&results).expect("json");
    std::fs::write(&json_path, text + "\n").expect("writing benches/results.json");
    let mut md = String::from("| figure | harness | baseline | target |\n|---|---:|---:|---|\n");
    for row in table {
        md.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            row[0], row[1], row[2], row[3]
        ));
    }
    std::fs::write(repo_path("benches/results.md"), &md).expect("writing benches/results.md");
    println!("{md}");
    println!("wrote {} and benches/results.md", json_path.display());
}
