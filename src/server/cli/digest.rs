//! `omnikpi digest send --department D --to ADDRESS`: builds a digest now and sends it through
//! the SMTP server of the settings (the same service as the scheduled digests).

use anyhow::Context;
use chrono::NaiveDate;
use clap::{Args, Subcommand};

use crate::server::config::Config;
use crate::server::db::Db;
use crate::server::digest;

#[derive(Debug, Subcommand)]
pub enum DigestCommand {
    /// Send one digest now.
    Send(SendArgs),
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// A department key, `executive` or `cx_officer`.
    #[arg(long)]
    pub department: String,
    /// Recipient (repeat for more); the digest's recipients in the settings when omitted.
    #[arg(long)]
    pub to: Vec<String>,
    /// The last day the digest covers (YYYY-MM-DD); yesterday by default.
    #[arg(long = "last-day")]
    pub last_day: Option<String>,
    /// How many days it covers; 1 for a daily, 7 otherwise (the `digest_frequency` setting).
    #[arg(long)]
    pub days: Option<u64>,
}

pub fn digest(db: &Db, config: &Config, command: DigestCommand) -> anyhow::Result<()> {
    let DigestCommand::Send(args) = command;
    let last_day = args
        .last_day
        .as_deref()
        .map(|d| {
            NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
                .with_context(|| format!("--last-day {d:?} is not a date (YYYY-MM-DD)"))
        })
        .transpose()?;
    for address in &args.to {
        if !digest::is_address(address) {
            anyhow::bail!("--to {address:?} is not an e-mail address");
        }
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let sent = runtime.block_on(digest::send_now(
        db,
        config,
        &args.department,
        args.to,
        last_day,
        args.days,
    ))?;
    println!(
        "sent {:?} ({} KPIs, {} alerts)",
        sent.subject,
        sent.kpis.len(),
        sent.alerts.len()
    );
    Ok(())
}
