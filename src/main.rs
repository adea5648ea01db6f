//! The `tombstone-harness` command: the only code that prints or exits.
//! Exit codes: 0 no finding, 1 findings, 2 infrastructure or usage error,
//! 130 interrupted.

mod cli;

fn main() {
    std::process::exit(cli::main());
}
