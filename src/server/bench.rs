//! The performance benchmark of issue #10, the in-process half: it generates the demo data at
//! a given number of events, loads it through omnikpi and through DuckDB's own CSV reader,
//! times the company view against the same SQL run directly in DuckDB, times journeys and pain
//! points, and writes the statements PostgreSQL must run (translated where DuckDB's dialect
//! differs) for `bench/run.sh`, which adds PostgreSQL, HTTP and sizes.
//!
//! Nothing here asserts a time: figures are reported, compared in the same run.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use serde_json::{Value, json};

use crate::i18n::Locale;

use super::db::{Db, DbError};
use super::demo::{self, DemoSpec};
use super::ingest::{self, LoadOptions};
use super::journey;
use super::kpi::query::{self, Statement};
use super::kpi::report::{self, Compare, ReportRequest};
use super::kpi::{Catalog, Filters, Period};

/// The size of a database file with its write-ahead log (0 when absent).
fn file_bytes(path: &std::path::Path) -> u64 {
    ["", ".wal"]
        .iter()
        .filter_map(|suffix| std::fs::metadata(format!("{}{suffix}", path.display())).ok())
        .map(|m| m.len())
        .sum()
}

/// What the benchmark runs on.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Events to generate (approximately: customers are scaled to reach it).
    pub events: u64,
    /// The working folder: CSV files, both databases, the PostgreSQL script.
    pub dir: PathBuf,
    pub seed: u64,
    /// The last day of the data; the company view is the year ending on it.
    pub end: NaiveDate,
    /// Days of history: two years, so the comparison year has data too.
    pub days: u32,
    pub time_zone: String,
    /// Warm runs of each query (the median is reported).
    pub warm_runs: usize,
    /// Whether to copy the stitched events out for PostgreSQL (`pg/*.csv`): left out at 100M,
    /// where the copy alone is about 13 GB. The statements are written either way.
    pub postgres: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("cannot use the working folder {}: {source}", dir.display())]
    Dir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Demo(Box<demo::DemoError>),
    #[error(transparent)]
    Ingest(Box<ingest::IngestError>),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("database error: {0}")]
    Sql(#[from] duckdb::Error),
    #[error(transparent)]
    Kpi(#[from] super::kpi::query::KpiError),
    #[error(transparent)]
    Journey(#[from] journey::JourneyError),
    #[error("company view: {0}")]
    Dashboard(String),
    #[error("the raw DuckDB answer differs from omnikpi's for {key}: {raw:?} vs {ours:?}")]
    Mismatch {
        key: String,
        raw: Option<f64>,
        ours: Option<f64>,
    },
}

impl From<demo::DemoError> for BenchError {
    fn from(err: demo::DemoError) -> Self {
        Self::Demo(Box::new(err))
    }
}

impl From<ingest::IngestError> for BenchError {
    fn from(err: ingest::IngestError) -> Self {
        Self::Ingest(Box::new(err))
    }
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values.get(values.len() / 2).copied().unwrap_or_default()
}

fn timed<T, E>(work: impl FnOnce() -> Result<T, E>) -> Result<(T, Duration), E> {
    let clock = Instant::now();
    let value = work()?;
    Ok((value, clock.elapsed()))
}

/// The company page's KPI keys.
fn company_keys(catalog: &Catalog) -> Vec<String> {
    catalog
        .view("company")
        .iter()
        .map(|d| d.key.clone())
        .collect()
}

/// Runs the benchmark and returns its figures as JSON.
pub fn run(opts: &BenchOptions) -> Result<Value, BenchError> {
    let dir_err = |source| BenchError::Dir {
        dir: opts.dir.clone(),
        source,
    };
    std::fs::create_dir_all(&opts.dir).map_err(dir_err)?;
    let csv_dir = opts.dir.join("csv");
    let ours_path = opts.dir.join("omnikpi.duckdb");
    let raw_path = opts.dir.join("raw.duckdb");
    for path in [&ours_path, &raw_path] {
        for suffix in ["", ".wal"] {
            let file = PathBuf::from(format!("{}{suffix}", path.display()));
            if file.exists() {
                std::fs::remove_file(&file).map_err(dir_err)?;
            }
        }
    }

    // 1. Generation.
    let customers = demo::customers_for(opts.events, opts.seed, opts.end, opts.days)?;
    let spec = DemoSpec {
        seed: opts.seed,
        customers,
        end: opts.end,
        days: opts.days,
    };
    eprintln!(
        "bench: generating about {} events ({customers} customers)",
        opts.events
    );
    let (files, generate_time) = timed(|| demo::write_files(&spec, &csv_dir))?;
    let events: u64 = files.iter().map(|(_, _, n)| n).sum();
    let csv_bytes: u64 = files
        .iter()
        .filter_map(|(_, p, _)| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();

    // 2a. omnikpi's load: every source through the canonical path, then one journey rebuild
    // (as the demo does; a single `omnikpi load` rebuilds journeys itself).
    eprintln!("bench: omnikpi load");
    let ours = Db::open(&ours_path, &opts.time_zone)?;
    demo::ensure_stores(&ours)?;
    let load_clock = Instant::now();
    // Every source in one load (one transaction, one identity stitch), as the demo does.
    let batch: Vec<_> = files
        .iter()
        .map(|(source, path, _)| (source.clone(), path.clone(), None))
        .collect();
    let timings =
        ingest::load_sources_without_journeys(&ours, &batch, &LoadOptions::default())?.timings;
    let load_time = load_clock.elapsed();
    let (journeys, journeys_time) = timed(|| journey::rebuild(&ours))?;
    let load_with_journeys = load_time + journeys_time;
    drop(ours);

    // 2b. The limit: DuckDB's own reader inserting the same files into the same table.
    eprintln!("bench: raw DuckDB load");
    let raw = Db::open(&raw_path, &opts.time_zone)?;
    let raw_load_time = {
        let conn = raw.connect()?;
        let clock = Instant::now();
        conn.execute_batch("BEGIN")?;
        for (source, path, _) in &files {
            conn.execute(
                "INSERT INTO events BY NAME SELECT ? AS source, * FROM read_csv(?, header = true)",
                duckdb::params![source, path.display().to_string()],
            )?;
        }
        conn.execute_batch("COMMIT")?;
        clock.elapsed()
    };
    drop(raw);

    // 3. The company view: the year ending on `end`, compared with the year before.
    let catalog = Catalog::builtin();
    let keys = company_keys(catalog);
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let from = opts
        .end
        .checked_sub_days(chrono::Days::new(364))
        .unwrap_or(opts.end);
    let period = Period::new(from, opts.end).map_err(|e| BenchError::Dashboard(e.to_string()))?;
    let comparison = Compare::Previous.period(&period);
    let request = ReportRequest {
        keys: keys.clone(),
        compare: Compare::Previous,
        filters: Filters::default(),
        locale: Locale::En,
    };
    let page_query = format!("from={}&to={}", period.from(), period.to());

    eprintln!("bench: company view through omnikpi");
    // Cold: a new database instance (as a new process would open), first query.
    let clock = Instant::now();
    let ours = Db::open(&ours_path, &opts.time_zone)?;
    let conn = ours.connect()?;
    let open_time = clock.elapsed();
    let (report, first_build) = timed(|| report::build(&conn, catalog, &period, &request))?;
    let ours_cold = open_time + first_build;
    let mut warm = Vec::new();
    for _ in 0..opts.warm_runs {
        warm.push(timed(|| report::build(&conn, catalog, &period, &request))?.1);
    }
    let ours_warm = median(warm);
    let mut page_warm = Vec::new();
    let mut page_conn = ours.connect()?;
    for _ in 0..opts.warm_runs.max(1) {
        let (_, t) = timed(|| {
            super::dashboard::company_blocking(&mut page_conn, &page_query)
                .map_err(|e| BenchError::Dashboard(e.to_string()))
        })?;
        page_warm.push(t);
    }
    let page_warm = median(page_warm);
    drop(page_conn);
    drop(conn);

    // 4. Journeys and pain points, on the same instance (rebuild timed during the load).
    eprintln!("bench: pain points");
    let (points, pains_time) = {
        let conn = ours.connect()?;
        timed(|| journey::pain::pain_points(&conn, &period, &Filters::default(), Locale::En))?
    };
    drop(ours);

    // 3b. The same statements run directly in DuckDB, on a fresh instance.
    eprintln!("bench: company view SQL directly in DuckDB");
    let mut statements = query::statements(catalog, &key_refs, &period, &Filters::default())?;
    let current = statements.len();
    statements.extend(query::statements(
        catalog,
        &key_refs,
        &comparison,
        &Filters::default(),
    )?);
    let clock = Instant::now();
    let raw_conn = duckdb::Connection::open(&ours_path)?;
    let tz = opts.time_zone.replace('\'', "''");
    raw_conn.execute_batch(&format!("SET TimeZone = '{tz}';"))?;
    let raw_first = run_statements(&raw_conn, &statements)?;
    let raw_cold = clock.elapsed();
    let mut warm = Vec::new();
    for _ in 0..opts.warm_runs {
        let clock = Instant::now();
        run_statements(&raw_conn, &statements)?;
        warm.push(clock.elapsed());
    }
    let raw_warm = median(warm);
    check_same_answers(&report, &raw_first[..current], &statements[..current])?;

    // The PostgreSQL half: the stitched events as CSV and the translated statements.
    let pg_dir = opts.dir.join("pg");
    std::fs::create_dir_all(&pg_dir).map_err(dir_err)?;
    let tables: &[&str] = if opts.postgres {
        &["events", "event_types", "settings"]
    } else {
        &[]
    };
    for table in tables {
        let file = pg_dir.join(format!("{table}.csv"));
        // Table names come from the fixed list above; the path is bound.
        raw_conn.execute(
            &format!("COPY {table} TO ? (FORMAT csv, HEADER)"),
            [file.display().to_string()],
        )?;
    }
    drop(raw_conn);
    let script = postgres_script(&statements);
    std::fs::write(pg_dir.join("company.sql"), script).map_err(dir_err)?;
    let duckdb_sql: String = statements
        .iter()
        .map(|s| format!("-- {} {:?}\n{};\n\n", s.label, s.params, s.sql))
        .collect();
    std::fs::write(pg_dir.join("company.duckdb.sql"), duckdb_sql).map_err(dir_err)?;

    let ratio = |a: Duration, b: Duration| {
        if b.is_zero() {
            None
        } else {
            Some((a.as_secs_f64() / b.as_secs_f64() * 100.0).round() / 100.0)
        }
    };
    Ok(json!({
        "events": events,
        "time_zone": opts.time_zone,
        "customers": customers,
        "csv_bytes": csv_bytes,
        "database_bytes": file_bytes(&ours_path),
        "raw_database_bytes": file_bytes(&raw_path),
        "generate_ms": ms(generate_time),
        "load": {
            "omnikpi_ms": ms(load_time),
            "omnikpi_with_journeys_ms": ms(load_with_journeys),
            "phases_ms": {
                "read": ms(timings.read),
                "validate": ms(timings.validate),
                "insert": ms(timings.insert),
                "stitch": ms(timings.stitch),
                "journeys": ms(journeys_time),
                "rollups": ms(timings.rollups),
            },
            "duckdb_raw_ms": ms(raw_load_time),
            "ratio": ratio(load_time, raw_load_time),
            "ratio_with_journeys": ratio(load_with_journeys, raw_load_time),
        },
        "company_view": {
            "period": [period.from().to_string(), period.to().to_string()],
            "comparison": [comparison.from().to_string(), comparison.to().to_string()],
            "kpis": keys,
            "statements": statements.len(),
            "omnikpi_cold_ms": ms(ours_cold),
            "omnikpi_open_ms": ms(open_time),
            "omnikpi_warm_ms": ms(ours_warm),
            "page_warm_ms": ms(page_warm),
            "duckdb_raw_cold_ms": ms(raw_cold),
            "duckdb_raw_warm_ms": ms(raw_warm),
            "cold_ratio": ratio(ours_cold, raw_cold),
            "warm_ratio": ratio(ours_warm, raw_warm),
        },
        "journeys": {
            "journeys": journeys,
            "rebuild_ms": ms(journeys_time),
            "pain_points_ms": ms(pains_time),
            "pain_points": points.len(),
            "total_ms": ms(journeys_time + pains_time),
        },
    }))
}

/// Runs each statement and reads its single row as the engine does: the first column, or
/// the first over the second.
fn run_statements(
    conn: &duckdb::Connection,
    statements: &[Statement],
) -> Result<Vec<Vec<Option<f64>>>, BenchError> {
    let mut out = Vec::with_capacity(statements.len());
    for s in statements {
        let mut stmt = conn.prepare(&s.sql)?;
        let mut rows = stmt.query(duckdb::params_from_iter(&s.params))?;
        let mut values = Vec::new();
        if let Some(row) = rows.next()? {
            for i in 0..row.as_ref().column_count() {
                values.push(row.get::<_, Option<f64>>(i)?);
            }
        }
        out.push(values);
    }
    Ok(out)
}

/// The raw statements of the current period must give the report's values for the query
/// KPIs (a check that the benchmark compares the same work).
fn check_same_answers(
    report: &report::KpiReport,
    raw: &[Vec<Option<f64>>],
    statements: &[Statement],
) -> Result<(), BenchError> {
    for (values, s) in raw.iter().zip(statements) {
        let Some(kpi) = report.kpis.iter().find(|k| k.key == s.label) else {
            continue;
        };
        let raw_value = match values.as_slice() {
            [v] => *v,
            [Some(n), Some(d)] if *d != 0.0 => Some(n / d),
            _ => None,
        };
        let same = match (raw_value, kpi.value) {
            (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * a.abs().max(1.0),
            (None, None) => true,
            _ => false,
        };
        if !same {
            return Err(BenchError::Mismatch {
                key: s.label.clone(),
                raw: raw_value,
                ours: kpi.value,
            });
        }
    }
    Ok(())
}

/// A psql script preparing each statement (PostgreSQL dialect) and executing it with the same
/// parameters, bound.
pub fn postgres_script(statements: &[Statement]) -> String {
    let mut script = String::new();
    for (i, s) in statements.iter().enumerate() {
        let types = vec!["text"; s.params.len()].join(", ");
        script.push_str(&format!(
            "-- {}\nPREPARE s{i}({types}) AS\n{};\n",
            s.label,
            to_postgres(&s.sql)
        ));
        let values: Vec<String> = s
            .params
            .iter()
            .map(|p| format!("'{}'", p.replace('\'', "''")))
            .collect();
        script.push_str(&format!("EXECUTE s{i}({});\n\n", values.join(", ")));
    }
    script
}

/// Translates the DuckDB dialect the catalog uses to PostgreSQL 15:
/// - `DOUBLE` is `DOUBLE PRECISION`;
/// - `INTERVAL 1 DAY` / `INTERVAL 12 MONTH` need quotes;
/// - `try_cast` does not exist (the only use reads a numeric setting: a plain cast);
/// - a subquery in FROM needs an alias in PostgreSQL before 16;
/// - the CTEs `ev` and `pe` are marked NOT MATERIALIZED, so PostgreSQL inlines them as DuckDB
///   does instead of copying the events and scanning the copy without indexes.
pub fn to_postgres(sql: &str) -> String {
    let mut out = sql
        .replace(" AS DOUBLE)", " AS DOUBLE PRECISION)")
        .replace("try_cast(", "cast(");
    for (duck, pg) in [
        ("INTERVAL 1 DAY", "INTERVAL '1 day'"),
        ("INTERVAL 12 MONTH", "INTERVAL '12 months'"),
        ("INTERVAL 24 MONTH", "INTERVAL '24 months'"),
    ] {
        out = out.replace(duck, pg);
    }
    // Read twice, PostgreSQL would materialise them (DuckDB inlines them).
    out = out
        .replace(
            "ev AS (SELECT * FROM events",
            "ev AS NOT MATERIALIZED (SELECT * FROM events",
        )
        .replace("pe AS (SELECT ev.*", "pe AS NOT MATERIALIZED (SELECT ev.*");
    alias_subqueries(&out)
}

/// Adds `AS sub<n>` after every `FROM (` … `)` that has no alias.
fn alias_subqueries(sql: &str) -> String {
    let bytes = sql.as_bytes();
    let mut inserts = Vec::new();
    let mut search = 0;
    while let Some(at) = sql[search..].find("FROM (") {
        let open = search + at + "FROM (".len() - 1;
        search = open + 1;
        let mut depth = 0usize;
        let mut close = None;
        for (i, b) in bytes.iter().enumerate().skip(open) {
            match b {
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(i);
                        break;
                    }
                }
                _ => {}
            }
        }
        let Some(close) = close else { break };
        let rest = sql[close + 1..].trim_start();
        let word: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let needs_alias = rest.is_empty()
            || rest.starts_with(')')
            || rest.starts_with(',')
            || rest.starts_with(';')
            || ["WHERE", "GROUP", "ORDER", "LIMIT", "JOIN", "LEFT", "UNION"]
                .contains(&word.to_ascii_uppercase().as_str());
        if needs_alias {
            inserts.push(close + 1);
        }
    }
    let mut out = String::with_capacity(sql.len() + inserts.len() * 10);
    let mut last = 0;
    for (n, at) in inserts.iter().enumerate() {
        out.push_str(&sql[last..*at]);
        out.push_str(&format!(" AS sub{n}"));
        last = *at;
    }
    out.push_str(&sql[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subqueries_without_alias_get_one() {
        let sql = "SELECT x FROM (SELECT a FROM (SELECT 1 AS a) q GROUP BY a) WHERE x > 0";
        assert_eq!(
            alias_subqueries(sql),
            "SELECT x FROM (SELECT a FROM (SELECT 1 AS a) q GROUP BY a) AS sub0 WHERE x > 0"
        );
        assert_eq!(
            alias_subqueries("SELECT * FROM (SELECT 1)"),
            "SELECT * FROM (SELECT 1) AS sub0"
        );
    }

    #[test]
    fn duckdb_only_syntax_is_translated() {
        let sql = "SELECT CAST(x AS DOUBLE), CAST(d - INTERVAL 1 DAY - INTERVAL 12 MONTH AS DATE), \
                   try_cast(v AS DOUBLE) FROM t";
        assert_eq!(
            to_postgres(sql),
            "SELECT CAST(x AS DOUBLE PRECISION), \
             CAST(d - INTERVAL '1 day' - INTERVAL '12 months' AS DATE), \
             cast(v AS DOUBLE PRECISION) FROM t"
        );
    }

    #[test]
    fn every_company_statement_translates_without_duckdb_syntax() {
        let catalog = Catalog::builtin();
        let keys = company_keys(catalog);
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let period = Period::parse("2025-07-01", "2026-06-30").expect("period");
        let statements =
            query::statements(catalog, &keys, &period, &Filters::default()).expect("statements");
        assert!(statements.len() >= 2);
        for s in &statements {
            let pg = to_postgres(&s.sql);
            assert!(!pg.contains(" AS DOUBLE)"), "{pg}");
            assert!(!pg.contains("try_cast"), "{pg}");
            assert!(!pg.contains("INTERVAL 1"), "{pg}");
            assert_eq!(s.params, ["2025-07-01", "2026-07-01"]);
        }
    }
}
