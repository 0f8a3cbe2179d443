//! `omnikpi bench`: the in-process half of the benchmark of issue #10 (generation, loads,
//! company view against raw DuckDB, journeys and pain points). `bench/run.sh` (`make bench`)
//! runs it and adds PostgreSQL, HTTP and sizes.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::server::bench::{self, BenchOptions};
use crate::server::kpi::Period;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Events to generate (customers are scaled to reach about this many).
    #[arg(long, default_value_t = 10_000_000)]
    events: u64,
    /// Working folder for the files and databases (emptied of earlier databases).
    #[arg(long, default_value = "target/bench")]
    dir: PathBuf,
    /// Where to write the figures as JSON (stdout when absent).
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Last day of the data (YYYY-MM-DD).
    #[arg(long, default_value = "2026-06-30")]
    end: String,
    /// Days of history (two years: the comparison year has data too).
    #[arg(long, default_value_t = 730)]
    days: u32,
    /// Warm runs per query; the median is reported.
    #[arg(long, default_value_t = 5)]
    warm_runs: usize,
    /// Leave out the copy of the stitched events for PostgreSQL (pg/*.csv), as a run that
    /// does not measure PostgreSQL may (bench/run.sh with BENCH_SKIP_PG=1).
    #[arg(long)]
    no_postgres: bool,
}

pub fn bench(time_zone: &str, args: BenchArgs) -> anyhow::Result<()> {
    let end = Period::parse(&args.end, &args.end)?.to();
    let opts = BenchOptions {
        events: args.events,
        dir: args.dir,
        seed: args.seed,
        end,
        days: args.days,
        time_zone: time_zone.to_string(),
        warm_runs: args.warm_runs.max(1),
        postgres: !args.no_postgres,
    };
    let figures = bench::run(&opts)?;
    let text = serde_json::to_string_pretty(&figures)?;
    match args.out {
        Some(path) => std::fs::write(&path, text + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => println!("{text}"),
    }
    Ok(())
}
