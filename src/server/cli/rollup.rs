//! `omnikpi rollup verify|rebuild`: for operators after an upgrade or a crash, check the
//! rollups against the raw events (every differing row printed, exit status 1 when any) and
//! recompute them from the raw events (docs/rollups.md).

use clap::Subcommand;

use crate::server::db::Db;
use crate::server::rollup;

#[derive(Debug, Subcommand)]
pub enum RollupCommand {
    /// Recompute every rollup from the raw events and report each row that differs.
    Verify,
    /// Recompute every rollup from the raw events, in one transaction.
    Rebuild,
}

pub fn run(db: &Db, command: RollupCommand) -> anyhow::Result<()> {
    match command {
        RollupCommand::Verify => {
            let report = rollup::verify(&db.connect()?)?;
            if let Some((built, now)) = &report.time_zone {
                println!(
                    "rollups: built in time zone {built}, the instance is in {now}; \
                     `omnikpi rollup rebuild` rebuilds them"
                );
            }
            for d in &report.differences {
                let measures: Vec<String> = d
                    .measures
                    .iter()
                    .map(|(name, kept, raw)| format!("{name} rollup {kept} raw {raw}"))
                    .collect();
                println!("{}: {}: {}", d.table, d.key, measures.join("; "));
            }
            if !report.is_clean() {
                let shown = report.differences.len();
                let more = if shown >= rollup::MAX_DIFFERENCES {
                    " (the first ones)"
                } else {
                    ""
                };
                anyhow::bail!(
                    "the rollups differ from the raw events: {shown} rows{more}; \
                     `omnikpi rollup rebuild` recomputes them"
                );
            }
            println!("rollup_daily, rollup_sets and rollup_facts: each matches the raw events");
        }
        RollupCommand::Rebuild => {
            rollup::rebuild(db)?;
            println!("rollups rebuilt from the raw events");
        }
    }
    Ok(())
}
