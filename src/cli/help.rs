//! What `--help` shows beyond the flags (an "Examples" part for every
//! subcommand), and the generated shell completions and man page, so that
//! all three describe the very same parser.

use super::Cli;
use anyhow::Context;
use clap::{CommandFactory, ValueEnum};
use std::io::Write;

pub const TOP: &str = "\
Examples:
  tombstone-harness run
  tombstone-harness --pg local explore 1466
  tombstone-harness --system blog stress --duration 30s -i blog-buggy
  tombstone-harness --system path/to/my-system check
  tombstone-harness replay fixtures/systems/stack-auth/counterexamples/stack-auth-pre-1466-A-sign-out+change-password-admin-f6e77424.json";

pub const RUN: &str = "\
Without --duration or --cases, the exploration runs for 60 s.

Examples:
  tombstone-harness run
  tombstone-harness run --duration 5m -i stack-auth-post-1466
  tombstone-harness --system shop run
  tombstone-harness --pg local run -i path/to/mine.toml --cases 200 --seed 7";

pub const EXPLORE: &str = "\
Examples:
  tombstone-harness explore 1466
  tombstone-harness explore 1466 -i stack-auth-pre-1466 --schedule 'v1: 2 2 2 1'
  tombstone-harness explore fixtures/systems/stack-auth/scenarios/double-revoke.json --prune --save out/counterexamples";

pub const REPLAY: &str = "\
Examples:
  tombstone-harness replay fixtures/systems/stack-auth/counterexamples/stack-auth-pre-1466-A-sign-out+change-password-admin-f6e77424.json
  tombstone-harness replay out/counterexamples/mine-B-sign-out+sign-out-52133e60.json --check-determinism 20
  tombstone-harness replay saved.json --implementation path/to/mine.toml";

pub const STRESS: &str = "\
Examples:
  tombstone-harness stress --duration 1h --seed 42 --shard 2/4 --report report-2.json --junit junit-2.xml
  tombstone-harness stress --cases 1000 --mode free --jobs 4
  tombstone-harness --pg url --pg-url postgres://me@db.example/postgres stress --duration 10m";

pub const REPORT: &str = "\
Examples:
  tombstone-harness report merge report-1.json report-2.json --out report.json --junit junit.xml";

pub const TIMELINE: &str = "\
Examples:
  tombstone-harness timeline fixtures/systems/stack-auth/counterexamples/stack-auth-pre-1466-A-sign-out+change-password-admin-f6e77424.json --svg a.svg
  tombstone-harness timeline saved.json --svg saved.svg --implementation path/to/mine.toml";

pub const CHECK: &str = "\
Every file of the system is read and checked, its schema loaded into a scratch
database and compared with system.toml, and every operation of every
implementation run alone; exit 2 with one line on the first mistake.

Examples:
  tombstone-harness check
  tombstone-harness --system blog check -i blog-buggy
  tombstone-harness --system path/to/my-system check -i path/to/my-system/implementations/mine.toml";

pub const MUTATE: &str = "\
Each mutant is the implementation with one change (drop FOR UPDATE, split a
WITH d AS (DELETE … RETURNING) INSERT into record then delete, leave the
transaction, swap two steps, drop a WHERE conjunct, a required tombstone value
or a key field, a 0-rows rule). Each runs alone, then under the hunt for
--budget, then, if nothing killed it, every schedule of the shipped scenarios
that run its operation: the same outcomes as the original there make it
equivalent. Exit 0 when every mutant is killed or equivalent, 1 when one
survived (its line says how to re-run it).

Examples:
  tombstone-harness mutate -i atomic
  tombstone-harness mutate -i atomic --list
  tombstone-harness mutate -i atomic --jobs 4 --budget 10s
  tombstone-harness --system blog mutate -i blog-fixed --budget 5s --seed 1
  tombstone-harness mutate -i atomic --only sign-out --save /tmp/mutants";

pub const COMPLETIONS: &str = "\
Examples:
  tombstone-harness completions bash > /etc/bash_completion.d/tombstone-harness
  tombstone-harness completions zsh > ~/.zfunc/_tombstone-harness
  tombstone-harness completions fish > ~/.config/fish/completions/tombstone-harness.fish";

pub const MAN: &str = "\
Examples:
  tombstone-harness man > tombstone-harness.1
  tombstone-harness man > /usr/local/share/man/man1/tombstone-harness.1";

/// The shells `completions` writes for.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
}

pub fn completions(shell: Shell) -> anyhow::Result<i32> {
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
        Shell::Elvish => clap_complete::Shell::Elvish,
        Shell::Powershell => clap_complete::Shell::PowerShell,
    };
    // Into a buffer first: clap_complete panics when its writer fails (a
    // closed pipe), and a closed pipe is not a harness bug.
    let mut text = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "tombstone-harness", &mut text);
    print_all(&text)
}

pub fn man() -> anyhow::Result<i32> {
    let mut text = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut text)?;
    print_all(&text)
}

fn print_all(text: &[u8]) -> anyhow::Result<i32> {
    let mut out = std::io::stdout().lock();
    out.write_all(text)
        .and_then(|()| out.flush())
        .context("writing to stdout")?;
    Ok(super::EXIT_CLEAN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// The example command lines of one `after_help`, split as a shell
    /// would (single quotes only), without redirections.
    fn examples(text: &str) -> Vec<Vec<String>> {
        let part = text.split("Examples:").nth(1).unwrap_or("");
        part.lines()
            .filter_map(|l| l.trim().strip_prefix("tombstone-harness "))
            .map(|l| {
                let command = l.split(" > ").next().unwrap_or(l);
                let mut words = vec!["tombstone-harness".to_string()];
                for (i, piece) in command.split('\'').enumerate() {
                    if i % 2 == 1 {
                        words.push(piece.to_string());
                    } else {
                        words.extend(piece.split_whitespace().map(String::from));
                    }
                }
                words
            })
            .collect()
    }

    fn every_command(command: &clap::Command, path: &str, out: &mut Vec<(String, String)>) {
        let help = command.get_after_help().map(|h| h.to_string());
        out.push((path.to_string(), help.unwrap_or_default()));
        for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
            every_command(sub, &format!("{path} {}", sub.get_name()), out);
        }
    }

    #[test]
    fn every_subcommand_has_examples_and_every_example_parses() {
        let mut commands = Vec::new();
        every_command(&Cli::command(), "tombstone-harness", &mut commands);
        assert!(commands.len() >= 10, "{commands:?}");
        for (path, help) in commands {
            let examples = examples(&help);
            assert!(!examples.is_empty(), "{path}: no examples");
            for words in examples {
                let used: String = path.split(' ').skip(1).collect::<Vec<_>>().join(" ");
                assert!(
                    words.join(" ").contains(&used),
                    "{path}: example {words:?} is about another command"
                );
                if let Err(e) = Cli::try_parse_from(&words) {
                    panic!("{path}: example {words:?} does not parse: {e}");
                }
            }
        }
    }
}
