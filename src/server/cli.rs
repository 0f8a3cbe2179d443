//! The command line: `omnikpi [serve|migrate|load|kpi|demo]`.
//!
//! Raw arguments (clap) become a validated [`Config`] plus one command; each command is a
//! small function over the same services the web app uses. Errors print as one clear message
//! and exit non-zero; nothing panics on bad input.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::auth::Role;
use crate::i18n::Locale;

use super::auth::{audit, users};
use super::config::{Config, Overrides};
use super::db::Db;
use super::kpi::{Catalog, Filters, Period, report, targets as kpi_targets};
use super::{dashboard, demo, ingest, routes, state::AppState};

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
    Load {
        /// The source the files come from (e.g. pos, webshop).
        #[arg(long)]
        source: String,
        /// Load even files whose content was already loaded for this source.
        #[arg(long)]
        force: bool,
        /// Accept up to N bad values per file: their rows are left out and kept for review.
        #[arg(long, default_value_t = 0, value_name = "N")]
        max_rejects: u64,
        /// Files in canonical CSV form.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Compute KPIs for a period (`kpi list` prints the catalog).
    Kpi {
        #[command(subcommand)]
        list: Option<KpiCommand>,
        /// First day (YYYY-MM-DD), inclusive.
        #[arg(long)]
        from: Option<String>,
        /// Last day (YYYY-MM-DD), inclusive.
        #[arg(long)]
        to: Option<String>,
        /// Only these KPIs (repeatable); all when absent.
        #[arg(long = "kpi")]
        kpis: Vec<String>,
        /// Only the KPIs this department owns (marketing, sales, stores, ...).
        #[arg(long)]
        department: Option<String>,
        /// Narrow the events first, e.g. --filter channel=store,web (repeatable).
        #[arg(long = "filter", value_name = "DIMENSION=VALUES")]
        filters: Vec<String>,
        /// Compare with the previous period or the same dates last year.
        #[arg(long, default_value = "previous", value_parser = ["previous", "last_year"])]
        compare: String,
        /// Print JSON: {"from", "to", "kpis": [{"key", "value", ...}]}.
        #[arg(long)]
        json: bool,
        /// Language of the KPI names.
        #[arg(long, default_value = "en")]
        lang: String,
    },
    /// Identity stitching: `identity rebuild` recomputes every customer from all events.
    Identity {
        #[command(subcommand)]
        command: IdentityCommand,
    },
    /// User accounts: `user add --email E --role admin` creates the first administrator.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Journeys: `journey rebuild` recomputes every journey from the stitched events.
    Journey {
        #[command(subcommand)]
        command: JourneyCommand,
    },
    /// API tokens for machines: sending events (role ingest) or reading the API as a role.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Register sources and their mappings.
    Source {
        #[command(subcommand)]
        command: SourceCommand,
    },
    /// Set or list KPI targets.
    Target {
        #[command(subcommand)]
        command: TargetCommand,
    },
    /// Generate a realistic demo data set and load it.
    Demo {
        #[arg(long, default_value_t = 42)]
        seed: u64,
        #[arg(long, default_value_t = 1500)]
        customers: u32,
        /// Last day of the data (YYYY-MM-DD); today when absent.
        #[arg(long)]
        end: Option<String>,
        /// Days of history.
        #[arg(long, default_value_t = 400)]
        days: u32,
        /// Where to write the generated files (default: demo/ beside the database).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token; it is printed once and stored only as a hash.
    Create {
        #[arg(long)]
        name: String,
        /// ingest (may only send events), or a user role to read the API with.
        #[arg(long, default_value = "ingest",
              value_parser = ["ingest", "admin", "executive", "lead", "cx_officer", "viewer"])]
        role: String,
        /// The department of a lead or viewer token.
        #[arg(long)]
        department: Option<String>,
    },
    /// List tokens (never the tokens themselves).
    List,
    /// Revoke a token.
    Revoke {
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create an account. The password is asked for (twice) or read from stdin.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = ["admin", "executive", "lead", "cx_officer", "viewer"])]
        role: String,
        /// The department of a lead or a viewer (marketing, sales, stores, ...).
        #[arg(long)]
        department: Option<String>,
        /// Display name (default: the part of the e-mail before @).
        #[arg(long, default_value = "")]
        name: String,
        #[arg(long, default_value = "en", value_parser = ["en", "it"])]
        lang: String,
        /// Read the password from the first line of stdin instead of prompting.
        #[arg(long)]
        password_stdin: bool,
        /// An invitation: the user must choose a new password at first sign-in.
        #[arg(long)]
        one_time: bool,
    },
    /// List accounts.
    List,
    /// Set a user's password (asked for, or from stdin).
    Passwd {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password_stdin: bool,
        /// The user must replace it at the next sign-in.
        #[arg(long)]
        one_time: bool,
    },
    /// Disable an account; its sessions end at once.
    Disable {
        #[arg(long)]
        email: String,
    },
    /// Enable a disabled account again.
    Enable {
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Subcommand)]
enum IdentityCommand {
    /// Recompute identities and customers from all events.
    Rebuild,
}

#[derive(Debug, Subcommand)]
enum JourneyCommand {
    /// Recompute the journeys (loads and identity rebuilds already do).
    Rebuild,
    /// Print the pain points of the journeys starting in a period, by revenue lost.
    Pains {
        /// First day (YYYY-MM-DD), inclusive.
        #[arg(long)]
        from: String,
        /// Last day (YYYY-MM-DD), inclusive.
        #[arg(long)]
        to: String,
        /// Narrow the journeys, e.g. --filter channel=store (repeatable).
        #[arg(long = "filter", value_name = "DIMENSION=VALUES")]
        filters: Vec<String>,
        /// Print JSON (a list of pain points).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum SourceCommand {
    /// Add (or replace) a source with the mapping its files are read with.
    Add {
        #[arg(long)]
        name: String,
        /// A TOML mapping (see examples/).
        #[arg(long)]
        mapping: PathBuf,
    },
    /// List the registered sources.
    List,
    /// Print a source's mapping.
    Show { name: String },
}

#[derive(Debug, Subcommand)]
enum TargetCommand {
    /// Delete a target: --kpi K --department D --period 2026-Q1.
    Delete {
        #[arg(long)]
        kpi: String,
        #[arg(long)]
        department: String,
        #[arg(long)]
        period: String,
    },
    /// Set (or replace) a target: --kpi K --department D --period 2026-Q1 --value V.
    Set {
        #[arg(long)]
        kpi: String,
        #[arg(long)]
        department: String,
        /// A year (2026), a quarter (2026-Q1) or a month (2026-03).
        #[arg(long)]
        period: String,
        /// In the KPI's unit: euros, a count, a fraction (0.25 for 25 %), points.
        #[arg(long, allow_negative_numbers = true)]
        value: f64,
        /// Who sets it (recorded with the target).
        #[arg(long, default_value = "cli")]
        by: String,
    },
    /// List targets with the KPI to date, its projection and status.
    List {
        #[arg(long)]
        department: Option<String>,
        /// Measure on this day (default today).
        #[arg(long)]
        as_of: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum KpiCommand {
    /// Print the KPI catalog: key, unit, owner, name.
    List,
}

/// Runs the command line and turns any error into a message and exit code 1.
pub fn run() -> ExitCode {
    init_tracing();
    let cli = Cli::parse();
    match execute(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("OMNIKPI_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
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
    let db = Db::open(&config.db, &config.time_zone)?;
    Catalog::builtin().check_against(&db.connect()?)?;
    super::journey::pain::Rules::builtin().check_against(&db.connect()?)?;
    match cli.command.unwrap_or(Command::Serve { addr: None }) {
        Command::Serve { .. } => serve(db, config),
        Command::Migrate => {
            let conn = db.connect()?;
            let version = super::db::migrate::current_version(&conn)?;
            println!(
                "database {} is at schema version {version}",
                config.db.display()
            );
            Ok(())
        }
        Command::Load {
            source,
            force,
            max_rejects,
            files,
        } => {
            let files = expand(files)?;
            let mapping = ingest::sources::mapping(&db.connect()?, &source)?;
            let options = ingest::LoadOptions {
                force,
                mapping,
                max_rejects,
            };
            let report = with_spinner(
                &format!("loading {} file(s) for {source}", files.len()),
                || ingest::load_files(&db, &source, &files, &options),
            )?;
            print_load(&report);
            Ok(())
        }
        Command::Kpi {
            list: Some(KpiCommand::List),
            lang,
            ..
        } => {
            let locale = Locale::parse(Some(&lang));
            for def in Catalog::builtin().all() {
                let internal = if def.internal { " (internal)" } else { "" };
                println!(
                    "{:<32} {:<9} {:<17} {}{internal}",
                    def.key,
                    format!("{:?}", def.unit).to_lowercase(),
                    def.owner,
                    def.name.get(locale)
                );
            }
            Ok(())
        }
        Command::Kpi {
            list: None,
            from,
            to,
            kpis,
            department,
            filters,
            compare,
            json,
            lang,
        } => {
            let (Some(from), Some(to)) = (from, to) else {
                anyhow::bail!("kpi needs --from and --to");
            };
            let kpis = match department {
                Some(department) => {
                    let owners = super::kpi::owners(&db.connect()?)?;
                    let owned: Vec<String> = Catalog::builtin()
                        .all()
                        .iter()
                        .filter(|d| !d.internal && owners.get(&d.key) == Some(&department))
                        .map(|d| d.key.clone())
                        .filter(|k| kpis.is_empty() || kpis.contains(k))
                        .collect();
                    if owned.is_empty() {
                        anyhow::bail!("department {department:?} owns no KPI");
                    }
                    owned
                }
                None => kpis,
            };
            let period = Period::parse(&from, &to)?;
            let conn = db.connect()?;
            let filters = Filters::parse_args(&filters)?;
            filters.check(&conn)?;
            let request = report::ReportRequest {
                keys: kpis,
                compare: report::Compare::parse(&compare).unwrap_or_default(),
                filters,
                locale: Locale::parse(Some(&lang)),
            };
            let report = report::build(&conn, Catalog::builtin(), &period, &request)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_kpis(&report, request.locale);
            }
            Ok(())
        }
        Command::Token { command } => {
            let conn = db.connect()?;
            match command {
                TokenCommand::Create {
                    name,
                    role,
                    department,
                } => {
                    let tx = conn.unchecked_transaction()?;
                    let token = super::tokens::create(&tx, &name, &role, department.as_deref())?;
                    audit::record(
                        &tx,
                        "cli",
                        "token.create",
                        &name,
                        None::<&()>,
                        Some(&serde_json::json!({ "role": role, "department": department })),
                    )?;
                    tx.commit()?;
                    println!("{token}");
                    eprintln!("token {name} created; it is shown only now, keep it safe");
                }
                TokenCommand::List => {
                    for t in super::tokens::list(&conn)? {
                        let state = if t.revoked { "revoked" } else { "active" };
                        let used = t.last_used_at.unwrap_or_else(|| "never".into());
                        let role = match &t.department {
                            Some(d) => format!("{} ({d})", t.role),
                            None => t.role.clone(),
                        };
                        println!(
                            "{:<20} {role:<20} {state:<8} created {}  last used {used}",
                            t.name, t.created_at
                        );
                    }
                }
                TokenCommand::Revoke { name } => {
                    let tx = conn.unchecked_transaction()?;
                    super::tokens::revoke(&tx, &name)?;
                    audit::record::<(), ()>(&tx, "cli", "token.revoke", &name, None, None)?;
                    tx.commit()?;
                    println!("token {name} revoked");
                }
            }
            Ok(())
        }
        Command::User { command } => user_command(&db, command),
        Command::Identity {
            command: IdentityCommand::Rebuild,
        } => {
            let customers = super::identity::rebuild(&db)?;
            println!("{customers} customers after identity stitching");
            Ok(())
        }
        Command::Journey {
            command: JourneyCommand::Rebuild,
        } => {
            let started = std::time::Instant::now();
            let journeys = super::journey::rebuild(&db)?;
            println!(
                "{journeys} journeys rebuilt in {:.2} s",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Journey {
            command:
                JourneyCommand::Pains {
                    from,
                    to,
                    filters,
                    json,
                },
        } => {
            let period = Period::parse(&from, &to)?;
            let conn = db.connect()?;
            let filters = Filters::parse_args(&filters)?;
            filters.check(&conn)?;
            let points = super::journey::pain::pain_points(&conn, &period, &filters, Locale::En)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&points)?);
            } else {
                for p in &points {
                    let subject = p.subject.as_deref().unwrap_or(&p.key);
                    println!("{:>12.2} €  {subject}: {}", p.revenue_lost, p.formula);
                }
            }
            Ok(())
        }
        Command::Source {
            command: SourceCommand::Add { name, mapping },
        } => {
            let text = std::fs::read_to_string(&mapping)
                .with_context(|| format!("cannot read {}", mapping.display()))?;
            let parsed =
                ingest::sources::add(&db.connect()?, &name, &text, &mapping.display().to_string())?;
            println!(
                "source {name} ({}) reads {} fields from its files",
                parsed.kind,
                parsed.fields.len()
            );
            Ok(())
        }
        Command::Source {
            command: SourceCommand::List,
        } => {
            for s in ingest::sources::list(&db.connect()?)? {
                println!("{:<20} {:<14} {}", s.name, s.kind, s.mapping_file);
            }
            Ok(())
        }
        Command::Source {
            command: SourceCommand::Show { name },
        } => {
            let sources = ingest::sources::list(&db.connect()?)?;
            let source = sources
                .iter()
                .find(|s| s.name == name)
                .with_context(|| format!("no source named {name:?}; `omnikpi source list`"))?;
            println!(
                "# {} ({}), from {}\n{}",
                source.name, source.kind, source.mapping_file, source.mapping
            );
            Ok(())
        }
        Command::Target {
            command:
                TargetCommand::Set {
                    kpi,
                    department,
                    period,
                    value,
                    by,
                },
        } => {
            let conn = db.connect()?;
            let tx = conn.unchecked_transaction()?;
            let before = kpi_targets::list(&tx, Some(&department), Some(&kpi))?
                .into_iter()
                .find(|t| t.period == period);
            let t = kpi_targets::set(
                &tx,
                Catalog::builtin(),
                &kpi,
                &department,
                &period,
                value,
                &by,
            )?;
            let subject = format!("{}/{}/{}", t.kpi, t.department, t.period);
            audit::record(&tx, &by, "target.set", &subject, before.as_ref(), Some(&t))?;
            tx.commit()?;
            println!(
                "target set: {} for {} in {} = {}",
                t.kpi, t.department, t.period, t.value
            );
            Ok(())
        }
        Command::Target {
            command:
                TargetCommand::Delete {
                    kpi,
                    department,
                    period,
                },
        } => {
            let conn = db.connect()?;
            let tx = conn.unchecked_transaction()?;
            let before = kpi_targets::list(&tx, Some(&department), Some(&kpi))?
                .into_iter()
                .find(|t| t.period == period);
            if !kpi_targets::delete(&tx, &kpi, &department, &period)? {
                anyhow::bail!("no target of {kpi} for {department} in {period}");
            }
            let subject = format!("{kpi}/{department}/{period}");
            audit::record::<_, ()>(&tx, "cli", "target.delete", &subject, before.as_ref(), None)?;
            tx.commit()?;
            println!("target deleted: {kpi} for {department} in {period}");
            Ok(())
        }
        Command::Target {
            command: TargetCommand::List { department, as_of },
        } => {
            let conn = db.connect()?;
            let as_of = match as_of {
                Some(day) => Period::parse(&day, &day)?.to(),
                None => dashboard::today(&conn)?,
            };
            let list = kpi_targets::list(&conn, department.as_deref(), None)?;
            for r in kpi_targets::report(&conn, Catalog::builtin(), list, as_of)? {
                let status = r.status.map_or("n/a".to_string(), |s| format!("{s:?}"));
                println!(
                    "{:<17} {:<28} {:<8} target {:>12.2}  projection {:>12}  {status}",
                    r.target.department,
                    r.target.kpi,
                    r.target.period,
                    r.target.value,
                    r.projection
                        .map_or("n/a".to_string(), |p| format!("{p:.2}")),
                );
            }
            Ok(())
        }
        Command::Demo {
            seed,
            customers,
            end,
            days,
            dir,
        } => {
            let end = match end {
                Some(end) => Period::parse(&end, &end)?.to(),
                None => dashboard::today(&db.connect()?)?,
            };
            let dir = dir.unwrap_or_else(|| {
                config
                    .db
                    .parent()
                    .map_or_else(|| PathBuf::from("demo"), |p| p.join("demo"))
            });
            let spec = demo::DemoSpec {
                seed,
                customers,
                end,
                days,
            };
            let summary = with_spinner("generating and loading the demo data", || {
                demo::generate_and_load(&db, &spec, &dir)
            })?;
            println!(
                "demo: {} events for {} customers up to {end}, written to {}",
                summary.events,
                summary.load.customers,
                dir.display()
            );
            print_load(&summary.load);
            println!("{} journeys", summary.journeys);
            let planted = &demo::PLANTED;
            println!(
                "planted: multichannel buyers order {:.1}x as often (± {:.1}) and spend {:.0} % \
                 more per order (± {:.0} points) over 12 months",
                planted.frequency_uplift,
                planted.frequency_tolerance,
                planted.value_uplift * 100.0,
                planted.value_tolerance * 100.0
            );
            for pain in &demo::PLANTED_PAIN.pains {
                println!(
                    "planted pain point {}: {} journeys (± {:.0} %)",
                    pain.rule,
                    summary.planted.get(pain.rule),
                    pain.tolerance * 100.0
                );
            }
            let conn = db.connect()?;
            let created = users::add_demo_users(&conn)?;
            if created > 0 {
                audit::record::<(), ()>(&conn, "cli", "demo.users", "demo accounts", None, None)?;
            }
            println!("demo accounts (e-mail / password):");
            for user in users::DEMO_USERS {
                let role = match user.department {
                    Some(d) => format!("{} of {d}", user.role),
                    None => user.role.to_string(),
                };
                println!("  {:<30} {:<22} {role}", user.email, user.password);
            }
            Ok(())
        }
    }
}

/// Runs `work` behind a spinner with the elapsed time (drawn only on a terminal).
fn with_spinner<T, E>(message: &str, work: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    spinner.set_message(message.to_string());
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let started = std::time::Instant::now();
    let result = work();
    spinner.finish_and_clear();
    if result.is_ok() {
        println!(
            "{message}: done in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    result
}

/// Files as given; a missing file is reported before anything is loaded.
fn expand(files: Vec<PathBuf>) -> anyhow::Result<Vec<PathBuf>> {
    for file in &files {
        if !file.is_file() {
            anyhow::bail!("{}: no such file", file.display());
        }
    }
    Ok(files)
}

fn print_load(report: &ingest::LoadReport) {
    for f in &report.files {
        if f.skipped {
            println!(
                "{}: already loaded with the same content; skipped (use --force to load again)",
                f.file.display()
            );
        } else {
            println!(
                "{}: {} rows read, {} loaded, {} already present, {} rejected",
                f.file.display(),
                f.rows_read,
                f.rows_loaded,
                f.rows_duplicate,
                f.rows_rejected
            );
        }
    }
    println!("{} customers after identity stitching", report.customers);
}

fn print_kpis(report: &report::KpiReport, locale: Locale) {
    println!("{} .. {}", report.from, report.to);
    let width = report
        .kpis
        .iter()
        .map(|k| k.name.chars().count())
        .max()
        .unwrap_or(0);
    for k in &report.kpis {
        let value = crate::format::kpi_value(k.value, k.unit, locale);
        let change = k
            .change
            .map(|c| crate::format::change_in(c, k.unit, locale))
            .unwrap_or_default();
        println!("{:<width$}  {value:>16}  {change}", k.name);
    }
}

/// Reads a new password: the first line of stdin, or twice from the terminal without echo.
fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("reading the password from stdin")?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    let first = rpassword::prompt_password("Password (at least 12 characters): ")
        .context("reading the password (use --password-stdin without a terminal)")?;
    let second = rpassword::prompt_password("Repeat it: ").context("reading the password")?;
    if first != second {
        anyhow::bail!("the two passwords differ; nothing was changed");
    }
    Ok(first)
}

fn user_command(db: &Db, command: UserCommand) -> anyhow::Result<()> {
    let conn = db.connect()?;
    match command {
        UserCommand::Add {
            email,
            role,
            department,
            name,
            lang,
            password_stdin,
            one_time,
        } => {
            let role: Role = role.parse().map_err(anyhow::Error::msg)?;
            let secret = read_password(password_stdin)?;
            let tx = conn.unchecked_transaction()?;
            let user = users::add(
                &tx,
                &users::NewUser {
                    email: &email,
                    display_name: &name,
                    lang: &lang,
                    role,
                    department: department.as_deref(),
                    password: &secret,
                    one_time,
                },
            )?;
            audit::record(
                &tx,
                "cli",
                "user.add",
                &user.email,
                None::<&()>,
                Some(&user),
            )?;
            tx.commit()?;
            println!("user {} ({role}) created", user.email);
        }
        UserCommand::List => {
            for u in users::list(&conn)? {
                let role = match &u.department {
                    Some(d) => format!("{} ({d})", u.role),
                    None => u.role.to_string(),
                };
                let state = if u.disabled { "disabled" } else { "active" };
                let last = u.last_login_at.unwrap_or_else(|| "never".into());
                println!("{:<36} {role:<24} {state:<8} last sign-in {last}", u.email);
            }
        }
        UserCommand::Passwd {
            email,
            password_stdin,
            one_time,
        } => {
            let secret = read_password(password_stdin)?;
            let tx = conn.unchecked_transaction()?;
            users::set_password(&tx, &email, &secret, one_time)?;
            audit::record::<(), ()>(&tx, "cli", "user.password", &email, None, None)?;
            tx.commit()?;
            println!("password of {email} changed; their sessions ended");
        }
        UserCommand::Disable { email } => set_disabled(&conn, &email, true)?,
        UserCommand::Enable { email } => set_disabled(&conn, &email, false)?,
    }
    Ok(())
}

fn set_disabled(conn: &duckdb::Connection, email: &str, disabled: bool) -> anyhow::Result<()> {
    let tx = conn.unchecked_transaction()?;
    let before = users::find(&tx, email)?;
    let after = users::set_disabled(&tx, email, disabled)?;
    let action = if disabled {
        "user.disable"
    } else {
        "user.enable"
    };
    audit::record(&tx, "cli", action, email, before.as_ref(), Some(&after))?;
    tx.commit()?;
    println!("{email} {}", if disabled { "disabled" } else { "enabled" });
    Ok(())
}

fn serve(db: Db, config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let mut leptos_options = leptos::config::get_configuration(None)
            .context("reading the Leptos site configuration")?
            .leptos_options;
        if leptos_options.output_name.is_empty() {
            leptos_options.output_name = "omnikpi".into();
        }
        leptos_options.site_addr = config.addr;
        if !users::admin_exists(&db.connect()?)? {
            eprintln!(
                "no administrator yet: dashboards stay closed until one exists. Create one with\n  \
                 omnikpi user add --email you@example.com --role admin"
            );
        }
        let state = AppState::new(db, config.clone(), leptos_options);
        tokio::spawn(routes::delete_expired_sessions(state.db.clone()));
        let app = routes::router(state);
        let listener = tokio::net::TcpListener::bind(config.addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.addr))?;
        println!("omnikpi is serving on http://{}", config.addr);
        let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("server error")
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
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
            Some(Command::Kpi {
                list: Some(KpiCommand::List),
                ..
            })
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
        let Some(Command::Kpi {
            filters, compare, ..
        }) = cli.command
        else {
            panic!("kpi command expected");
        };
        assert_eq!(filters, ["channel=store"]);
        assert_eq!(compare, "last_year");
        assert!(Cli::try_parse_from(["omnikpi", "kpi", "--compare", "yesterday"]).is_err());
    }
}
