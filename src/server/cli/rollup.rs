//! `omnikpi rollup verify|rebuild|build`: for operators after an upgrade or a crash, check the
//! rollups against the raw events (every differing row printed, exit status 1 when any) and
//! recompute them from the raw events (docs/rollups.md); `build --engine spark` has a Spark
//! cluster compute them from the lake and imports them (docs/scaling.md).

use clap::{Args, Subcommand};

use crate::server::db::Db;
use crate::server::rollup;

#[derive(Debug, Subcommand)]
pub enum RollupCommand {
    /// Recompute every rollup from the raw events and report each row that differs.
    Verify,
    /// Recompute every rollup from the raw events, in one transaction.
    Rebuild,
    /// Compute every rollup on an engine (duckdb: as `rebuild`; spark: on a Spark cluster from
    /// the lake written by `omnikpi export --lake`) and replace them in one transaction.
    Build(BuildArgs),
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Where the rollups are computed: the database (duckdb) or a Spark cluster over the lake
    /// (spark: needs --spark and --lake; the lake must be current, `omnikpi export --lake`).
    #[arg(long, default_value = "duckdb", value_parser = ["duckdb", "spark"])]
    engine: String,
    /// The Spark Connect server, e.g. sc://127.0.0.1:15002 (with --engine spark).
    #[arg(long, value_name = "URL", env = "OMNIKPI_SPARK")]
    spark: Option<String>,
    /// The lake as the Spark cluster sees it: a shared folder or an object store URI (with
    /// --engine spark).
    #[arg(long, value_name = "DIR_OR_URI")]
    lake: Option<String>,
    /// Where Spark writes the computed rows as Parquet for omnikpi to read (with --engine
    /// spark): a folder the cluster and this machine both reach. Default: the lake's path
    /// with `-rollup-build` added, next to it.
    #[arg(long, value_name = "DIR")]
    stage: Option<String>,
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
            println!(
                "rollup_daily, rollup_prices, rollup_sets, rollup_facts, customer_facts, \
                 order_facts and the journey rollups: each matches the raw events"
            );
        }
        RollupCommand::Rebuild => {
            rollup::rebuild(db)?;
            println!("rollups rebuilt from the raw events");
        }
        RollupCommand::Build(args) if args.engine == "spark" => build_on_spark(db, &args)?,
        RollupCommand::Build(_) => {
            rollup::rebuild(db)?;
            println!("rollups rebuilt from the raw events");
        }
    }
    Ok(())
}

fn build_on_spark(db: &Db, args: &BuildArgs) -> anyhow::Result<()> {
    #[cfg(feature = "spark")]
    {
        let (Some(url), Some(lake)) = (&args.spark, &args.lake) else {
            anyhow::bail!("--engine spark needs --spark sc://HOST:15002 and --lake DIR");
        };
        let stage = args
            .stage
            .clone()
            .unwrap_or_else(|| format!("{}-rollup-build", lake.trim_end_matches('/')));
        let engine = crate::server::spark::SparkEngine::connect(url, lake)?;
        let built = engine.build_rollups(db, &stage)?;
        println!(
            "rollups built on Spark: {} rollup_daily rows, {} rollup_sets rows from {} \
             distinct pairs (Parquet in {stage}); lake of {} events (loads through {}), time \
             zone {}; Spark {:.1} s, import {:.1} s",
            built.daily_rows,
            built.set_rows,
            built.pairs,
            engine.manifest().events.rows,
            built.loaded_through,
            built.time_zone,
            built.spark_seconds,
            built.import_seconds
        );
        Ok(())
    }
    #[cfg(not(feature = "spark"))]
    {
        let _ = (db, args);
        anyhow::bail!(
            "this omnikpi was built without the Spark engine: cargo build --features spark"
        )
    }
}
