//! Command-line parsing, validation before any connection, and exit codes.

mod check;
mod explore;
mod findings;
mod help;
mod mutate;
mod progress;
mod replay;
mod report;
mod run;
mod stress;
mod timeline;

use clap::{Args, Parser, Subcommand};
use tombstone_harness::db::{PgChoice, PgOptions, Server};
use tombstone_harness::implementation::{Implementation, Isolation};
use tombstone_harness::system::System;

pub const EXIT_CLEAN: i32 = 0;
pub const EXIT_FINDINGS: i32 = 1;
pub const EXIT_ERROR: i32 = 2;
pub const EXIT_INTERRUPTED: i32 = 130;

#[derive(Parser)]
#[command(
    name = "tombstone-harness",
    version,
    about = "Finds races in tombstone recorders on a real PostgreSQL",
    after_help = help::TOP
)]
struct Cli {
    #[command(flatten)]
    pg: PgArgs,
    /// The system under test: a shipped one (stack-auth, blog, shop) or a
    /// directory holding system.toml.
    #[arg(long, global = true, env = "TOMBSTONE_SYSTEM", default_value = tombstone_harness::system::DEFAULT)]
    system: String,
    #[command(subcommand)]
    command: Command,
}

/// `--pg`, as the command line spells it (the library's `PgChoice` knows no clap).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PgArg {
    /// url if one is given, else container if Docker answers and the image is
    /// present, else a local cluster if PostgreSQL's binaries are found.
    Auto,
    /// A throwaway container of --pg-image.
    Container,
    /// A throwaway cluster from this machine's PostgreSQL binaries.
    Local,
    /// The server at --pg-url (DATABASE_URL).
    Url,
}

impl From<PgArg> for PgChoice {
    fn from(pg: PgArg) -> PgChoice {
        match pg {
            PgArg::Auto => PgChoice::Auto,
            PgArg::Container => PgChoice::Container,
            PgArg::Local => PgChoice::Local,
            PgArg::Url => PgChoice::Url,
        }
    }
}

#[derive(Args, Clone)]
#[command(next_help_heading = "PostgreSQL (every command)")]
pub struct PgArgs {
    /// How to get PostgreSQL: auto = url if given, else container if Docker
    /// has the image, else a local throwaway cluster.
    #[arg(
        long,
        global = true,
        value_enum,
        env = "TOMBSTONE_PG",
        default_value = "auto"
    )]
    pg: PgArg,
    /// An existing server; the harness creates and drops only its own databases.
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    pg_url: Option<String>,
    /// The image for --pg container.
    #[arg(
        long,
        global = true,
        env = "TOMBSTONE_PG_IMAGE",
        default_value = "postgres:15"
    )]
    pg_image: String,
}

#[derive(Args, Clone)]
pub struct TargetArgs {
    /// One of the system's implementations (stack-auth: stack-auth-pre-1466,
    /// stack-auth-post-1466, atomic) or an implementation file; repeatable.
    /// Default: all of the system's.
    #[arg(long = "implementation", short = 'i')]
    implementations: Vec<String>,
    /// Run every transaction at this isolation level instead of the file's.
    #[arg(long, value_parser = Isolation::parse)]
    isolation: Option<Isolation>,
}

#[derive(Subcommand)]
enum Command {
    /// The main job: every operation of every implementation alone, as a
    /// table, then 60 s of exploration ending in a findings table.
    #[command(after_help = help::RUN)]
    Run(run::RunArgs),
    /// Every schedule of a small scenario, as an outcome table.
    #[command(after_help = help::EXPLORE)]
    Explore(explore::ExploreArgs),
    /// Re-run a saved counterexample and tell its story.
    #[command(after_help = help::REPLAY)]
    Replay(replay::ReplayArgs),
    /// The nightly job: generated cases for a duration or count, with reports.
    #[command(after_help = help::STRESS)]
    Stress(stress::StressArgs),
    /// Work with JSON reports (merge the reports of N shards).
    #[command(
        after_help = help::REPORT,
        mut_subcommand("merge", |merge| merge.after_help(help::REPORT))
    )]
    Report(report::ReportArgs),
    /// Draw a saved counterexample as an SVG swimlane picture.
    #[command(after_help = help::TIMELINE)]
    Timeline(timeline::TimelineArgs),
    /// Validate a system and its implementations, and run every operation
    /// of every implementation alone on a scratch database.
    #[command(after_help = help::CHECK)]
    Check(check::CheckArgs),
    /// Derive mutants of an implementation and show which invariant kills
    /// each (a mutation score: is the harness strong enough for it?).
    #[command(after_help = help::MUTATE)]
    Mutate(mutate::MutateArgs),
    /// Write shell completions to stdout.
    #[command(after_help = help::COMPLETIONS)]
    Completions {
        #[arg(value_enum)]
        shell: help::Shell,
    },
    /// Write the man page (roff) to stdout.
    #[command(after_help = help::MAN)]
    Man,
}

impl PgArgs {
    pub fn options(&self) -> PgOptions {
        PgOptions {
            choice: self.pg.into(),
            url: self.pg_url.clone(),
            image: self.pg_image.clone(),
        }
    }
}

impl TargetArgs {
    /// The implementations named (default: all the system's), as their
    /// files say.
    pub fn load_unmodified(&self, system: &System) -> anyhow::Result<Vec<Implementation>> {
        if self.implementations.is_empty() {
            return Ok(Implementation::shipped(system)?);
        }
        let loaded = self
            .implementations
            .iter()
            .map(|n| Implementation::load(system, n));
        Ok(loaded.collect::<Result<Vec<_>, _>>()?)
    }

    /// Loads and validates every implementation before anything connects,
    /// at the `--isolation` asked for.
    pub fn load(&self, system: &System) -> anyhow::Result<Vec<Implementation>> {
        let loaded = self.load_unmodified(system)?;
        Ok(match self.isolation {
            Some(isolation) => loaded.iter().map(|i| i.with_isolation(isolation)).collect(),
            None => loaded,
        })
    }
}

/// Starts the server and says which one was chosen, once.
pub async fn start_server(pg: &PgArgs) -> anyhow::Result<Server> {
    if pg.pg == PgArg::Url && pg.pg_url.is_none() {
        anyhow::bail!("--pg url needs --pg-url or DATABASE_URL");
    }
    let server = Server::start(&pg.options()).await?;
    eprintln!("PostgreSQL: {}", server.description());
    for warning in server.warnings() {
        eprintln!("warning: {warning}");
    }
    Ok(server)
}

pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return EXIT_CLEAN;
        }
        Err(e) => {
            // clap's message spans several lines; a usage error gets one.
            let text = e.render().to_string();
            let lines: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|l| {
                    !l.is_empty()
                        && !l.starts_with("For more information")
                        && !l.starts_with("Usage:")
                })
                .collect();
            eprintln!("{}", tombstone_harness::text::one_line(&lines.join(" ")));
            return EXIT_ERROR;
        }
    };
    init_tracing();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build();
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return EXIT_ERROR;
        }
    };
    let result = runtime.block_on(async {
        // Every system file is read and checked before anything connects.
        let system = || System::load(&cli.system).map_err(anyhow::Error::from);
        match &cli.command {
            Command::Run(args) => run::run(&cli.pg, &system()?, args).await,
            Command::Explore(args) => explore::run(&cli.pg, &system()?, args).await,
            Command::Replay(args) => replay::run(&cli.pg, args).await,
            Command::Stress(args) => stress::run(&cli.pg, &system()?, args).await,
            Command::Report(args) => report::run(args),
            Command::Timeline(args) => timeline::run(&cli.pg, args).await,
            Command::Check(args) => check::run(&cli.pg, &system()?, args).await,
            Command::Mutate(args) => mutate::run(&cli.pg, &system()?, args).await,
            Command::Completions { shell } => help::completions(*shell),
            Command::Man => help::man(),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", error_line(&e));
            EXIT_ERROR
        }
    }
}

/// One line: the chain of contexts, outermost first.
pub fn error_line(error: &anyhow::Error) -> String {
    let chain: Vec<String> = error.chain().map(|c| c.to_string()).collect();
    tombstone_harness::text::one_line(&chain.join(": "))
}

/// `RUST_LOG` output on stderr: coloured only on a terminal, and never when
/// `NO_COLOR` is set to anything (no-color.org), so pipes and CI logs get
/// plain text.
fn init_tracing() {
    use std::io::IsTerminal;
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "off".into());
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && !no_color)
        .try_init();
}
