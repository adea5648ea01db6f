//! What a person reads before running anything: `--help` of every
//! subcommand, the shell completions and the man page, from the real binary.

#[path = "common/cli.rs"]
mod cli;

const SUBCOMMANDS: [&str; 8] = [
    "run",
    "explore",
    "replay",
    "stress",
    "report",
    "timeline",
    "completions",
    "man",
];

fn help(args: &[&str]) -> String {
    let args = [args, &["--help"]].concat();
    cli::expect_exit(std::path::Path::new("."), &args, 0)
}

#[test]
fn every_subcommand_help_has_examples_of_itself() {
    let top = help(&[]);
    for subcommand in SUBCOMMANDS {
        assert!(top.contains(subcommand), "{subcommand} not listed:\n{top}");
    }
    let nested: Vec<Vec<&str>> = SUBCOMMANDS
        .iter()
        .map(|s| vec![*s])
        .chain([vec!["report", "merge"]])
        .collect();
    for path in nested {
        let text = help(&path);
        let examples = text.split("Examples:").nth(1);
        let example = format!("tombstone-harness {}", path.join(" "));
        assert!(
            examples.is_some_and(|e| e.contains(&example)),
            "{path:?}: no example of {example:?}:\n{text}"
        );
    }
}

#[test]
fn run_help_gives_its_default_budget_and_the_modes() {
    let text = help(&["run"]);
    assert!(text.contains("60 s"), "{text}");
    for mode in ["scheduled:", "free:", "mixed:"] {
        assert!(
            text.contains(mode),
            "--mode value {mode} undocumented:\n{text}"
        );
    }
}

#[test]
fn the_postgresql_options_are_grouped_under_a_heading() {
    for path in [&[][..], &["stress"], &["replay"]] {
        let text = help(path);
        let (_, group) = text
            .split_once("PostgreSQL (every command):")
            .unwrap_or_else(|| panic!("{path:?}: no PostgreSQL heading:\n{text}"));
        let group = group.split("\n\n\n").next().unwrap_or(group);
        let group = group.split("Examples:").next().unwrap_or(group);
        for flag in ["--pg <PG>", "--pg-url", "--pg-image"] {
            assert!(
                group.contains(flag),
                "{path:?}: {flag} not under the heading"
            );
        }
    }
}

#[test]
fn bash_completions_name_every_subcommand() {
    let script = cli::expect_exit(std::path::Path::new("."), &["completions", "bash"], 0);
    assert!(script.contains("complete -F"), "{script}");
    for subcommand in SUBCOMMANDS {
        assert!(
            script.contains(&format!("tombstone__harness,{subcommand})")),
            "{subcommand} missing from the bash completions"
        );
    }
}

#[test]
fn the_man_page_renders() {
    let page = cli::expect_exit(std::path::Path::new("."), &["man"], 0);
    let first = page
        .lines()
        .find(|l| !l.starts_with(".ie") && !l.starts_with(".el"));
    assert!(
        first.is_some_and(|l| l.starts_with(".TH tombstone-harness 1")),
        "{page}"
    );
    assert!(
        page.contains("Finds races in tombstone recorders"),
        "{page}"
    );
}

#[test]
fn an_unknown_shell_is_a_one_line_usage_error() {
    cli::expect_one_line_error(std::path::Path::new("."), &["completions", "tcsh"], "tcsh");
}
