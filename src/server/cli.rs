//! The command line: `omnikpi [serve|migrate|load|kpi|demo|...]`.
//!
//! Raw arguments (clap) become a validated [`Config`] plus one command. Each group of commands
//! lives in its own module below and is a small function over the same services the web app
//! uses. Errors print as one clear message and exit non-zero; nothing panics on bad input.

mod accounts;
mod bench;
mod data;
mod derived;
mod digest;
mod identity;
mod kpi;
mod kpi_defs;
mod ops;
mod rollup;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use super::config::{Config, LogFormat, Overrides};
use super::db::Db;
use super::kpi::Catalog;

#[derive(Debug, Parser)]
#[command(
    name = "omnikpi",
    version,
    about = "Omnichannel KPIs from every silo, one set of numbers"
)]
struct Cli {
    /// The DuckDB database file (created with its folder on first use).
    #[arg(long, global = true, env = "OMNIKPI_DB")]
    db: Option<PathBuf>,
    /// A TOML configuration file; every key can also be set as OMNIKPI_<KEY>.
    #[arg(long, global = true, env = "OMNIKPI_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the dashboards (the default).
    Serve {
        /// Listening address, e.g. 127.0.0.1:3000.
        #[arg(long)]
        addr: Option<String>,
    },
    /// Apply pending schema migrations and exit.
    Migrate,
    /// Load files for a source in one transaction.
    Load(data::LoadArgs),
    /// Compute KPIs for a period (`kpi list` prints the catalog).
    Kpi(kpi::KpiArgs),
    /// Identity stitching: `identity rebuild`, and rule changes: `identity simulate|apply
    /// --rules FILE`, `identity rules` (print the rules in force).
    Identity {
        #[command(subcommand)]
        command: identity::IdentityCommand,
    },
    /// Rollups (docs/rollups.md): `rollup verify` checks them against the raw events (exit
    /// status 1 on any difference), `rollup rebuild` recomputes them.
    Rollup {
        #[command(subcommand)]
        command: rollup::RollupCommand,
    },
    /// User accounts: `user add --email E --role admin` creates the first administrator.
    User {
        #[command(subcommand)]
        command: accounts::UserCommand,
    },
    /// Journeys: `journey rebuild` recomputes every journey from the stitched events.
    Journey {
        #[command(subcommand)]
        command: derived::JourneyCommand,
    },
    /// API tokens for machines: sending events (role ingest) or reading the API as a role.
    Token {
        #[command(subcommand)]
        command: accounts::TokenCommand,
    },
    /// Register sources and their mappings.
    Source {
        #[command(subcommand)]
        command: data::SourceCommand,
    },
    /// Set, import or list KPI targets.
    Target {
        #[command(subcommand)]
        command: kpi::TargetCommand,
    },
    /// Market benchmarks shown beside the KPIs: `benchmark import FILE` replaces them.
    Benchmark {
        #[command(subcommand)]
        command: kpi::BenchmarkCommand,
    },
    /// Generate a realistic demo data set and load it.
    Demo(derived::DemoArgs),
    /// E-mail digests: `digest send --department marketing --to lead@example.com`.
    Digest {
        #[command(subcommand)]
        command: digest::DigestCommand,
    },
    /// Write a consistent backup of the database to a new folder.
    Backup(ops::BackupArgs),
    /// Restore a backup folder as the database (`--force` to replace one holding data).
    Restore(ops::RestoreArgs),
    /// Export every event as Parquet partitioned by month (`export --parquet DIR`), or a lake
    /// for the Spark engine, brought up to date on each run (`export --lake DIR`).
    Export(ops::ExportArgs),
    /// Derived KPIs (ratios of two KPIs) and KPI ownership: `kpi-def add|edit|delete|list|owner`.
    KpiDef {
        #[command(subcommand)]
        command: kpi_defs::KpiDefCommand,
    },
    /// Benchmark at N events against raw DuckDB (bench/run.sh adds PostgreSQL and HTTP).
    Bench(bench::BenchArgs),
}

/// Runs the command line and turns any error into a message and exit code 1.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match execute(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            match super::db::out_of_memory(err.as_ref()) {
                // DuckDB's own message repeats itself down the chain and advises SQL.
                Some(detail) => eprintln!(
                    "error: the command needs more memory than the database may use \
                     (memory_limit in the configuration file or OMNIKPI_MEMORY_LIMIT; unset, \
                     DuckDB takes 80% of the memory); raise it (DuckDB: {detail})"
                ),
                None => eprintln!("error: {err:#}"),
            }
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr, filtered by `OMNIKPI_LOG` (default `info`), as text or JSON lines.
fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("OMNIKPI_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .fmt_fields(super::ops::logs::JsonFields)
            .event_format(super::ops::logs::JsonEvent)
            .try_init(),
    };
}

fn execute(cli: Cli) -> anyhow::Result<()> {
    let addr = match &cli.command {
        Some(Command::Serve { addr }) => addr.clone(),
        _ => None,
    };
    let config = Config::load(
        Overrides {
            config_file: cli.config,
            db: cli.db,
            addr,
        },
        |key| std::env::var(key).ok(),
    )?;
    init_tracing(config.log_format);
    // Backups, restores and exports open the database themselves (or not at all).
    let command = match cli.command.unwrap_or(Command::Serve { addr: None }) {
        Command::Backup(args) => return ops::backup(&config, args),
        Command::Restore(args) => return ops::restore(&config, args),
        Command::Export(args) => return ops::export(&config, args),
        // Spark reads the lake; the database is not opened.
        Command::Kpi(args) if args.engine == "spark" => return kpi::kpi_spark(args),
        command => command,
    };
    let db = Db::open_limited(&config.db, &config.time_zone, config.memory_limit.as_ref())?;
    Catalog::builtin().check_against(&db.connect()?)?;
    super::journey::pain::Rules::builtin().check_against(&db.connect()?)?;
    match command {
        Command::Serve { .. } => serve::run(db, config),
        Command::Migrate => {
            let version = super::db::migrate::current_version(&db.connect()?)?;
            println!(
                "database {} is at schema version {version}",
                config.db.display()
            );
            Ok(())
        }
        Command::Load(args) => data::load(&db, args),
        Command::Source { command } => data::source(&db, command),
        Command::Kpi(args) => kpi::kpi(&db, args),
        Command::Target { command } => kpi::target(&db, command),
        Command::Benchmark { command } => kpi::benchmark(&db, command),
        Command::User { command } => accounts::user(&db, command),
        Command::Token { command } => accounts::token(&db, command),
        Command::Identity { command } => identity::run(&db, command),
        Command::Rollup { command } => rollup::run(&db, command),
        Command::Journey { command } => derived::journey(&db, command),
        Command::Demo(args) => derived::demo(&db, &config.db, args),
        Command::Bench(args) => bench::bench(&config.time_zone, args),
        Command::Digest { command } => digest::digest(&db, &config, command),
        Command::KpiDef { command } => kpi_defs::run(&db, command),
        // Answered above, before the database was opened.
        Command::Backup(_) | Command::Restore(_) | Command::Export(_) => Ok(()),
    }
}

/// Runs `work` behind a spinner with the elapsed time (drawn only on a terminal).
/// A progress bar for a load: rows read so far against rows done, with rows per second. It
/// appears only when the load takes more than a second, and only on a terminal (stderr);
/// piped or redirected output gets the final line alone.
fn load_progress(message: &str) -> (indicatif::ProgressBar, super::ingest::Progress) {
    use std::io::IsTerminal;
    let bar =
        indicatif::ProgressBar::with_draw_target(Some(0), indicatif::ProgressDrawTarget::hidden());
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {msg} [{bar:30}] {human_pos}/{human_len} rows, {per_sec} ({elapsed})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(message.to_string());
    if std::io::stderr().is_terminal() {
        let shown = bar.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_secs(1));
            if !shown.is_finished() {
                shown.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                shown.enable_steady_tick(std::time::Duration::from_millis(120));
            }
        });
    }
    let reported = bar.clone();
    let progress = super::ingest::Progress::new(move |step| match step {
        super::ingest::LoadStep::Read { rows } => reported.inc_length(rows),
        super::ingest::LoadStep::Done { rows } => reported.inc(rows),
        super::ingest::LoadStep::Stitching => reported.set_message("stitching identities"),
    });
    (bar, progress)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn kpi_list_needs_no_period() {
        let cli = Cli::try_parse_from(["omnikpi", "kpi", "list"]).expect("parses");
        assert!(matches!(
            cli.command,
            Some(Command::Kpi(kpi::KpiArgs {
                list: Some(kpi::KpiCommand::List),
                ..
            }))
        ));
    }

    #[test]
    fn filters_and_comparison_parse() {
        let cli = Cli::try_parse_from([
            "omnikpi",
            "kpi",
            "--from",
            "2026-01-01",
            "--to",
            "2026-01-31",
            "--filter",
            "channel=store",
            "--compare",
            "last_year",
        ])
        .expect("parses");
        let Some(Command::Kpi(kpi::KpiArgs {
            filters, compare, ..
        })) = cli.command
        else {
            panic!("kpi command expected");
        };
        assert_eq!(filters, ["channel=store"]);
        assert_eq!(compare, "last_year");
        assert!(Cli::try_parse_from(["omnikpi", "kpi", "--compare", "yesterday"]).is_err());
    }

    #[test]
    fn kpi_def_add_takes_a_ratio_and_refuses_an_unknown_unit() {
        let args = |unit: &'static str| {
            [
                "omnikpi",
                "kpi-def",
                "add",
                "--key",
                "revenue_per_visit",
                "--name-en",
                "Revenue per visit",
                "--name-it",
                "Ricavi per visita",
                "--numerator",
                "store_revenue",
                "--denominator",
                "footfall",
                "--unit",
                unit,
                "--owner",
                "stores",
            ]
        };
        let cli = Cli::try_parse_from(args("money")).expect("parses");
        assert!(matches!(
            cli.command,
            Some(Command::KpiDef {
                command: kpi_defs::KpiDefCommand::Add(_)
            })
        ));
        assert!(Cli::try_parse_from(args("percent")).is_err());
    }
}
