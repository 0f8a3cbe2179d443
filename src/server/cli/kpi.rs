//! The numbers: `kpi` (compute a period, or `kpi list`) and `target set|delete|list`.

use clap::{Args, Subcommand};

use crate::i18n::Locale;
use crate::server::auth::audit;
use crate::server::db::Db;
use crate::server::kpi::{Filters, Period, benchmarks, report, targets as kpi_targets};

#[derive(Debug, Args)]
pub struct KpiArgs {
    #[command(subcommand)]
    pub list: Option<KpiCommand>,
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
    pub filters: Vec<String>,
    /// Compare with the previous period or the same dates last year.
    #[arg(long, default_value = "previous", value_parser = ["previous", "last_year"])]
    pub compare: String,
    /// Print JSON: {"from", "to", "kpis": [{"key", "value", ...}]}.
    #[arg(long)]
    json: bool,
    /// Language of the KPI names.
    #[arg(long, default_value = "en")]
    lang: String,
    /// Where the KPIs are computed: the database (duckdb) or a Spark cluster over a lake
    /// written by `omnikpi export --lake` (spark: needs --spark and --lake).
    #[arg(long, default_value = "duckdb", value_parser = ["duckdb", "spark"])]
    pub engine: String,
    /// The Spark Connect server, e.g. sc://127.0.0.1:15002 (with --engine spark).
    #[arg(long, value_name = "URL", env = "OMNIKPI_SPARK")]
    spark: Option<String>,
    /// The lake as the Spark cluster sees it: a shared folder or an object store URI (with
    /// --engine spark).
    #[arg(long, value_name = "DIR_OR_URI")]
    lake: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum KpiCommand {
    /// Print the KPI catalog: key, unit, owner, name.
    List,
}

#[derive(Debug, Subcommand)]
pub enum TargetCommand {
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
    /// Import a target plan: a CSV with the columns kpi,department,period,value. Every line
    /// is checked first; a plan with any refused line imports nothing.
    Import {
        file: std::path::PathBuf,
        /// Who sets the targets (recorded with each and in the audit log).
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

pub fn kpi(db: &Db, args: KpiArgs) -> anyhow::Result<()> {
    if let Some(KpiCommand::List) = args.list {
        return list(db, &args.lang);
    }
    let KpiArgs {
        from,
        to,
        kpis,
        department,
        filters,
        compare,
        json,
        lang,
        ..
    } = args;
    let (Some(from), Some(to)) = (from, to) else {
        anyhow::bail!("kpi needs --from and --to");
    };
    let kpis = match department {
        Some(department) => {
            let owners = crate::server::kpi::owners(&db.connect()?)?;
            let owned: Vec<String> = crate::server::kpi::catalog(&db.connect()?)?
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
    let report = report::build(
        &conn,
        &crate::server::kpi::catalog(&conn)?,
        &period,
        &request,
    )?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_kpis(&report, request.locale);
    }
    Ok(())
}

/// `kpi --engine spark`: the same report as the DuckDB engine, computed by Spark over the lake
/// (filter values checked against the lake's data as against the database), from the compiled
/// catalog (admins' derived KPIs live in the database).
pub fn kpi_spark(args: KpiArgs) -> anyhow::Result<()> {
    #[cfg(feature = "spark")]
    {
        use crate::server::kpi::Catalog;
        use crate::server::kpi::dialect::Dialect;
        let (Some(url), Some(lake)) = (&args.spark, &args.lake) else {
            anyhow::bail!("--engine spark needs --spark sc://HOST:15002 and --lake DIR");
        };
        let (Some(from), Some(to)) = (&args.from, &args.to) else {
            anyhow::bail!("kpi needs --from and --to");
        };
        let period = Period::parse(from, to)?;
        let catalog = Catalog::builtin_in(Dialect::Spark);
        let keys: Vec<String> = match &args.department {
            Some(department) => {
                let owned: Vec<String> = catalog
                    .all()
                    .iter()
                    .filter(|d| !d.internal && &d.owner == department)
                    .map(|d| d.key.clone())
                    .filter(|k| args.kpis.is_empty() || args.kpis.contains(k))
                    .collect();
                if owned.is_empty() {
                    anyhow::bail!("department {department:?} owns no KPI");
                }
                owned
            }
            None => args.kpis.clone(),
        };
        let request = report::ReportRequest {
            keys,
            compare: report::Compare::parse(&args.compare).unwrap_or_default(),
            filters: Filters::parse_args(&args.filters)?,
            locale: Locale::parse(Some(&args.lang)),
        };
        let mut engine = crate::server::spark::SparkEngine::connect(url, lake)?;
        engine.check_filters(&request.filters)?;
        let today = engine.today()?;
        let report = report::build_on(&mut engine, catalog, &period, &request, today)?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print_kpis(&report, request.locale);
        }
        Ok(())
    }
    #[cfg(not(feature = "spark"))]
    {
        let _ = args;
        anyhow::bail!(
            "this omnikpi was built without the Spark engine: cargo build --features spark"
        )
    }
}

fn list(db: &Db, lang: &str) -> anyhow::Result<()> {
    let locale = Locale::parse(Some(lang));
    let conn = db.connect()?;
    let owners = crate::server::kpi::owners(&conn)?;
    for def in crate::server::kpi::catalog(&conn)?.all() {
        let note = match (def.internal, def.derived) {
            (true, _) => " (internal)",
            (_, true) => " (derived)",
            _ => "",
        };
        println!(
            "{:<32} {:<9} {:<17} {}{note}",
            def.key,
            format!("{:?}", def.unit).to_lowercase(),
            owners.get(&def.key).unwrap_or(&def.owner),
            def.name.get(locale)
        );
    }
    Ok(())
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

#[derive(Debug, Subcommand)]
pub enum BenchmarkCommand {
    /// Replace every benchmark with those of a CSV: kpi,value,source and optionally
    /// url,published,scope,note (examples/benchmarks/market.csv). All or nothing.
    Import {
        file: std::path::PathBuf,
        /// Who replaces them (recorded in the audit log).
        #[arg(long, default_value = "cli")]
        by: String,
    },
    /// List the benchmarks with their sources.
    List,
}

pub fn benchmark(db: &Db, command: BenchmarkCommand) -> anyhow::Result<()> {
    let conn = db.connect()?;
    match command {
        BenchmarkCommand::Import { file, by } => {
            let catalog = crate::server::kpi::catalog(&conn)?;
            let n = benchmarks::import(&conn, &catalog, &file, &by)?;
            println!("benchmarks {}: {n} imported", file.display());
        }
        BenchmarkCommand::List => {
            for b in benchmarks::list(&conn, None)? {
                println!(
                    "{:<30} {:>10} {} {} {}",
                    b.kpi,
                    b.value,
                    b.source,
                    b.published.unwrap_or_default(),
                    b.url.unwrap_or_default()
                );
            }
        }
    }
    Ok(())
}

pub fn target(db: &Db, command: TargetCommand) -> anyhow::Result<()> {
    let conn = db.connect()?;
    match command {
        TargetCommand::Set {
            kpi,
            department,
            period,
            value,
            by,
        } => {
            let tx = conn.unchecked_transaction()?;
            let before = kpi_targets::list(&tx, Some(&department), Some(&kpi))?
                .into_iter()
                .find(|t| t.period == period);
            let t = kpi_targets::set(
                &tx,
                &crate::server::kpi::catalog(&tx)?,
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
        }
        TargetCommand::Delete {
            kpi,
            department,
            period,
        } => {
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
        }
        TargetCommand::Import { file, by } => {
            let catalog = crate::server::kpi::catalog(&conn)?;
            let imported = kpi_targets::plan::import(&conn, &catalog, &file, &by)?;
            println!(
                "target plan {}: {} targets added, {} replaced",
                file.display(),
                imported.added,
                imported.replaced
            );
        }
        TargetCommand::List { department, as_of } => {
            let as_of = match as_of {
                Some(day) => Period::parse(&day, &day)?.to(),
                None => crate::server::view::today(&conn)?,
            };
            let list = kpi_targets::list(&conn, department.as_deref(), None)?;
            for r in kpi_targets::report(&conn, &crate::server::kpi::catalog(&conn)?, list, as_of)?
            {
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
        }
    }
    Ok(())
}
