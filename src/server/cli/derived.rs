//! What omnikpi derives from the events: `journey rebuild|pains`, and the demo data set
//! (`demo`), which generates, loads and derives in one go (`identity ...` is in
//! [`super::identity`]).

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use crate::i18n::Locale;
use crate::server::auth::{audit, users};
use crate::server::db::Db;
use crate::server::kpi::{Filters, Period};
use crate::server::{demo, journey};

use super::{data::print_load, load_progress};

#[derive(Debug, Subcommand)]
pub enum JourneyCommand {
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
        /// Only this pain point (a rule key, or `significance:kind:value`), in full, computing
        /// only its rule (as its page does).
        #[arg(long)]
        rule: Option<String>,
    },
    /// Compute the journeys page of a period (the view and the pain point list) and print how
    /// long it took; each part's time is in the debug log (OMNIKPI_LOG=omnikpi=debug).
    View {
        /// First day (YYYY-MM-DD), inclusive; default: the page's (the last 30 days of data).
        #[arg(long)]
        from: Option<String>,
        /// Last day (YYYY-MM-DD), inclusive.
        #[arg(long)]
        to: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[arg(long, default_value_t = 1500)]
    customers: u32,
    /// About how many events to generate (up to 10,000,000): sets the number of customers
    /// (about one per 36 events over 400 days, fitted on two small runs), instead of
    /// --customers.
    #[arg(long, conflicts_with = "customers", value_name = "EVENTS",
          value_parser = clap::value_parser!(u64).range(1000..=10_000_000))]
    scale: Option<u64>,
    /// Last day of the data (YYYY-MM-DD); today when absent.
    #[arg(long)]
    end: Option<String>,
    /// Days of history.
    #[arg(long, default_value_t = 400)]
    days: u32,
    /// Where to write the generated files (default: demo/ beside the database).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Only write the files (each source's export, for its example mapping in examples/);
    /// load nothing.
    #[arg(long)]
    files_only: bool,
}

pub fn journey(db: &Db, command: JourneyCommand) -> anyhow::Result<()> {
    match command {
        JourneyCommand::Rebuild => {
            let started = std::time::Instant::now();
            let journeys = journey::rebuild(db)?;
            println!(
                "{journeys} journeys rebuilt in {:.2} s",
                started.elapsed().as_secs_f64()
            );
        }
        JourneyCommand::Pains {
            from,
            to,
            filters,
            json,
            rule,
        } => {
            let period = Period::parse(&from, &to)?;
            let conn = db.connect()?;
            let filters = Filters::parse_args(&filters)?;
            filters.check(&conn)?;
            let started = std::time::Instant::now();
            let points = match rule {
                Some(key) => journey::pain::pain_point(&conn, &period, &filters, Locale::En, &key)?
                    .into_iter()
                    .collect(),
                None => journey::pain::pain_points(&conn, &period, &filters, Locale::En)?,
            };
            tracing::info!(
                ms = started.elapsed().as_millis() as u64,
                "pain points computed"
            );
            if json {
                println!("{}", serde_json::to_string_pretty(&points)?);
            } else {
                for p in &points {
                    let subject = p.subject.as_deref().unwrap_or(&p.key);
                    let lost = crate::format::money(p.revenue_lost, Locale::En);
                    println!("{lost:>14}  {subject}: {}", p.formula);
                }
            }
        }
        JourneyCommand::View { from, to } => {
            let conn = db.connect()?;
            let period =
                crate::server::view::resolve_period(&conn, from.as_deref(), to.as_deref())?;
            let started = std::time::Instant::now();
            let (view, pains) =
                journey::service::page_blocking(&conn, &period, &Filters::none(), Locale::En)?;
            println!(
                "{} to {}: {} journeys, {} paths, {} hand-offs, {} pain points in {} ms",
                period.from(),
                period.to(),
                view.summary.journeys,
                view.paths.len(),
                view.handoffs.len(),
                pains.len(),
                started.elapsed().as_millis()
            );
        }
    }
    Ok(())
}

pub fn demo(db: &Db, database: &Path, args: DemoArgs) -> anyhow::Result<()> {
    let DemoArgs {
        seed,
        customers,
        scale,
        end,
        days,
        dir,
        files_only,
    } = args;
    let end = match end {
        Some(end) => Period::parse(&end, &end)?.to(),
        None => crate::server::view::today(&db.connect()?)?,
    };
    let customers = match scale {
        Some(events) => demo::customers_for(events, seed, end, days)?,
        None => customers,
    };
    let dir = dir.unwrap_or_else(|| {
        database
            .parent()
            .map_or_else(|| PathBuf::from("demo"), |p| p.join("demo"))
    });
    let spec = demo::DemoSpec {
        seed,
        customers,
        end,
        days,
    };
    if files_only {
        let started = std::time::Instant::now();
        let files = demo::write_export_files(&spec, &dir)?;
        let events: u64 = files.iter().map(|(_, _, rows)| rows).sum();
        println!(
            "demo: {events} events for {customers} customers up to {end}, written in {:.1} s:",
            started.elapsed().as_secs_f64()
        );
        for (source, path, rows) in &files {
            let mapping = demo::export::export_of(source).map_or("", |e| e.mapping_file);
            println!(
                "  {source:<14} {rows:>10} rows  {}  (mapping {mapping})",
                path.display()
            );
        }
        println!(
            "load each with `omnikpi source add --name SOURCE --mapping MAPPING` and \
             `omnikpi load --source SOURCE FILE`"
        );
        return Ok(());
    }
    let message = "generating and loading the demo data";
    let (bar, progress) = load_progress(message);
    let started = std::time::Instant::now();
    let summary = demo::generate_and_load_with(db, &spec, &dir, &progress);
    bar.finish_and_clear();
    let summary = summary?;
    println!(
        "{message}: done in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!(
        "demo: {} events for {} customers up to {end}, written to {}",
        summary.events,
        summary.load.customers,
        dir.display()
    );
    print_load(&summary.load);
    println!("{} journeys", summary.journeys);
    println!(
        "{} targets from the demo's plan ({}), market benchmarks loaded",
        summary.targets,
        dir.join("targets.csv").display()
    );
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
