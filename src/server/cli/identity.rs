//! `omnikpi identity ...`: recompute every customer, print the identity rules in force, and
//! change them: `simulate --rules FILE` reports what would change without writing, `apply
//! --rules FILE` stores the rules and re-stitches (audited as the command line).

use std::path::PathBuf;

use clap::Subcommand;

use crate::server::db::Db;
use crate::server::identity::{self, simulate, suspicious};
use crate::server::kpi::Period;

#[derive(Debug, Subcommand)]
pub enum IdentityCommand {
    /// Recompute identities and customers from all events.
    Rebuild,
    /// Print the identity rules in force (TOML).
    Rules,
    /// Report what the rules in FILE would change (customers merged or split, examples, the
    /// customer KPIs of the last 12 months) without writing anything.
    Simulate(RulesArgs),
    /// Store the rules in FILE and re-stitch every customer.
    Apply(RulesArgs),
    /// List the customers whose merge looks suspicious (too many identifiers, too many events
    /// in a day, purchases in two stores within minutes), for review on the customer 360.
    Flagged {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct RulesArgs {
    /// The identity rules (TOML, see `omnikpi identity rules`).
    #[arg(long)]
    rules: PathBuf,
    /// Last day of the 12 months the KPIs cover (YYYY-MM-DD); today when absent.
    #[arg(long)]
    end: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn read(args: &RulesArgs) -> anyhow::Result<(String, Option<chrono::NaiveDate>)> {
    let text = std::fs::read_to_string(&args.rules)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.rules.display()))?;
    let end = match &args.end {
        Some(end) => Some(Period::parse(end, end)?.to()),
        None => None,
    };
    // Parse first, so a bad file names itself and its line.
    identity::Rules::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", args.rules.display()))?;
    Ok((text, end))
}

fn print(report: &simulate::Simulation, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
        return Ok(());
    }
    println!(
        "customers: {} -> {} ({} merged, {} split, {} new, {} gone)",
        report.customers_before,
        report.customers_after,
        report.merged,
        report.split,
        report.new,
        report.gone
    );
    println!("KPIs {} .. {}:", report.from, report.to);
    let show = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.4}"));
    for k in &report.kpis {
        println!(
            "  {:<20} {:>14} -> {:>14}",
            k.key,
            show(k.before),
            show(k.after)
        );
    }
    for e in &report.merge_examples {
        println!("  merge: customers {:?} -> {:?}", e.before, e.after);
    }
    for e in &report.split_examples {
        println!("  split: customer {:?} -> {:?}", e.before, e.after);
    }
    Ok(())
}

pub fn run(db: &Db, command: IdentityCommand) -> anyhow::Result<()> {
    match command {
        IdentityCommand::Rebuild => {
            let customers = identity::rebuild(db)?;
            println!("{customers} customers after identity stitching");
        }
        IdentityCommand::Rules => {
            print!("{}", identity::current_rules_text(&db.connect()?)?);
        }
        IdentityCommand::Simulate(args) => {
            let (text, end) = read(&args)?;
            let report = simulate::simulate(db, &text, end)?;
            print(&report, args.json)?;
        }
        IdentityCommand::Apply(args) => {
            let (text, end) = read(&args)?;
            let report = simulate::apply(db, &text, "cli", end)?;
            print(&report, args.json)?;
            if !args.json {
                println!("applied");
            }
        }
        IdentityCommand::Flagged { json } => {
            let conn = db.connect()?;
            let limits = suspicious::thresholds(&conn)?;
            let flags = suspicious::flagged(&conn, &limits)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&flags)?);
            } else {
                for f in &flags {
                    println!("{:>18}  {:<15} {}", f.customer_id, f.reason, f.value);
                }
                println!("{} customers to review", flags.len());
            }
        }
    }
    Ok(())
}
