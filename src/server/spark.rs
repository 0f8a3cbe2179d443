//! The Spark engine (feature `spark`): the KPI catalog computed by Apache Spark over a lake
//! written by `omnikpi export --lake` (src/server/ops/lake.rs), through Spark Connect.
//!
//! omnikpi sends SQL (the catalog rendered for Spark, [`crate::server::kpi::dialect`]) to the
//! Connect server and reads one row of numbers back: a report is one statement (every KPI of
//! both periods, [`crate::server::kpi::engine`]). `rollup build --engine spark`
//! ([`SparkEngine::build_rollups`]) reads back the rollups' rows instead. Spark reads the
//! Parquet files itself, so the lake's path is as Spark sees it (a folder every executor
//! reaches, or an object store URI). The lake's `manifest.json` is read through Spark too, so
//! omnikpi needs no access to the lake's storage. The session's time zone is the instance's
//! (from the manifest): local days and months are those of the DuckDB engine.

use std::collections::HashMap;

use duckdb::arrow::array::{Array, Float64Array, StringArray, StructArray};
use duckdb::arrow::compute::cast;
use duckdb::arrow::datatypes::DataType;
use duckdb::arrow::record_batch::RecordBatch;
use spark_connect::expression::{Expression, LiteralExpression};
use spark_connect::{DataFrame, SparkSession};

use crate::server::db::Db;
use crate::server::kpi::dialect::Dialect;
use crate::server::kpi::engine::{Engine, Groups};
use crate::server::kpi::{FilterError, Filters, KpiError};
use crate::server::ops::lake::{MANIFEST, Manifest};

/// A Spark Connect session with the lake's tables as temporary views.
pub struct SparkEngine {
    session: SparkSession,
    manifest: Manifest,
}

fn failed(what: &str, err: impl std::fmt::Display) -> KpiError {
    KpiError::Engine(format!("Spark: {what}: {err}"))
}

/// `text` as a Spark SQL string literal (backslash escapes are on by default).
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

impl SparkEngine {
    /// Connects to `url` (`sc://host:15002`) and opens the lake at `lake` (a path or URI as
    /// Spark's executors see it).
    pub fn connect(url: &str, lake: &str) -> Result<Self, KpiError> {
        let session = SparkSession::builder()
            .remote(url)
            .get_or_create()
            .map_err(|e| failed(&format!("cannot connect to {url}"), e))?;
        let lake = lake.trim_end_matches('/');
        // The whole file as one value (the `text` source splits lines otherwise).
        run(
            &session,
            &format!(
                "CREATE OR REPLACE TEMPORARY VIEW omnikpi_manifest USING text \
                 OPTIONS (path {}, wholetext 'true')",
                literal(&format!("{lake}/{MANIFEST}"))
            ),
        )?;
        let text = first_text(&session, "SELECT value FROM omnikpi_manifest")?;
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
            failed(
                &format!("{lake}/{MANIFEST} is not an omnikpi lake manifest"),
                e,
            )
        })?;
        session
            .conf()
            .set("spark.sql.session.timeZone", &manifest.time_zone)
            .map_err(|e| failed("cannot set the session time zone", e))?;
        run(
            &session,
            &format!(
                "CREATE OR REPLACE TEMPORARY VIEW events USING parquet OPTIONS (path {})",
                literal(&format!("{lake}/{}", manifest.events.dir))
            ),
        )?;
        for (table, file) in &manifest.tables {
            run(
                &session,
                &format!(
                    "CREATE OR REPLACE TEMPORARY VIEW `{table}` USING parquet OPTIONS (path {})",
                    literal(&format!("{lake}/{}", file.path))
                ),
            )?;
        }
        Ok(Self { session, manifest })
    }

    /// The lake's manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Refuses filter values the lake's data does not have, as the DuckDB engine does.
    pub fn check_filters(&mut self, filters: &Filters) -> Result<(), FilterError> {
        filters.check_with(":p1", |sql, value| {
            let row = self
                .first_row(sql, &[value.to_string()])
                .map_err(|e| FilterError::Sql(e.to_string()))?;
            Ok(row
                .first()
                .and_then(|g| g.first())
                .copied()
                .flatten()
                .map_or(0, |n| n as i64))
        })
    }

    /// Today in the instance's time zone, by the cluster's clock.
    pub fn today(&self) -> Result<chrono::NaiveDate, KpiError> {
        let text = first_text(&self.session, "SELECT CAST(current_date() AS STRING)")?;
        chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|e| failed("current_date", e))
    }
}

impl SparkEngine {
    /// Runs `sql` on the cluster and writes its rows as Parquet files in `dir`, replacing
    /// what was there.
    fn write_parquet(&self, sql: &str, dir: &str) -> Result<(), KpiError> {
        self.session
            .sql(sql)
            .map_err(|e| failed(sql, e))?
            .write()
            .mode("overwrite")
            .parquet(dir)
            .map_err(|e| failed(&format!("writing {dir}"), e))
    }
}

fn run(session: &SparkSession, sql: &str) -> Result<(), KpiError> {
    collect(session, sql).map(|_| ())
}

/// Runs `sql` and returns its Arrow batches.
fn collect(session: &SparkSession, sql: &str) -> Result<Vec<RecordBatch>, KpiError> {
    let df = session.sql(sql).map_err(|e| failed(sql, e))?;
    df.collect_record_batches().map_err(|e| failed(sql, e))
}

/// The first column of the first row of `sql`, as text.
fn first_text(session: &SparkSession, sql: &str) -> Result<String, KpiError> {
    let batches = collect(session, sql)?;
    let batch = batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .ok_or_else(|| failed(sql, "no row"))?;
    let column = cast(batch.column(0), &DataType::Utf8).map_err(|e| failed(sql, e))?;
    let text = column
        .as_any()
        .downcast_ref::<StringArray>()
        .filter(|a| !a.is_null(0))
        .map(|a| a.value(0).to_string())
        .ok_or_else(|| failed(sql, "null"))?;
    Ok(text)
}

impl Engine for SparkEngine {
    fn dialect(&self) -> Dialect {
        Dialect::Spark
    }

    fn first_row(&mut self, sql: &str, params: &[String]) -> Result<Groups, KpiError> {
        // Named parameters :p1, :p2, ... as text literals; only those the statement uses.
        let named: HashMap<String, Expression> = params
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("p{}", i + 1), v))
            .filter(|(name, _)| uses(sql, name))
            .map(|(name, v)| {
                (
                    name,
                    Expression::Literal(LiteralExpression::String(v.clone())),
                )
            })
            .collect();
        let df: DataFrame = self
            .session
            .sql_with_args(sql, Vec::new(), named)
            .map_err(|e| failed("statement", e))?;
        let batches = df
            .collect_record_batches()
            .map_err(|e| failed(&format!("statement failed\n{sql}\n"), e))?;
        let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else {
            return Ok(Vec::new());
        };
        batch
            .columns()
            .iter()
            .map(|c| numbers(c.as_ref()))
            .collect()
    }
}

/// The first value of `column` as a group of numbers: a struct's fields (all `None` when the
/// struct is null), or the one number of any other column.
fn numbers(column: &dyn Array) -> Result<Vec<Option<f64>>, KpiError> {
    if let Some(fields) = column.as_any().downcast_ref::<StructArray>() {
        let null = fields.is_null(0);
        return fields
            .columns()
            .iter()
            .map(|field| Ok(if null { None } else { number(field.as_ref())? }))
            .collect();
    }
    Ok(vec![number(column)?])
}

/// The first value of `column` as a number (`None` for null).
fn number(column: &dyn Array) -> Result<Option<f64>, KpiError> {
    let column = cast(column, &DataType::Float64)
        .map_err(|e| failed("a result column is not a number", e))?;
    let numbers = column
        .as_any()
        .downcast_ref::<Float64Array>()
        .ok_or_else(|| failed("a result column", "not a number"))?;
    Ok((!numbers.is_null(0)).then(|| numbers.value(0)))
}

/// Whether `sql` has the placeholder `:name` (not the prefix of a longer one).
fn uses(sql: &str, name: &str) -> bool {
    let needle = format!(":{name}");
    sql.match_indices(&needle).any(|(at, _)| {
        !sql[at + needle.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// What `omnikpi rollup build --engine spark` did.
#[derive(Debug, Clone)]
pub struct RollupBuild {
    /// `rollup_daily` rows and distinct (key, customer or order) pairs Spark wrote.
    pub daily_rows: i64,
    pub pairs: i64,
    /// `rollup_sets` rows after the import.
    pub set_rows: i64,
    pub time_zone: String,
    pub loaded_through: i64,
    /// Seconds Spark computed (its Parquet written included) and the import took.
    pub spark_seconds: f64,
    pub import_seconds: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Spark(#[from] KpiError),
    #[error(
        "the lake was written for time zone {lake}, the instance's is {instance}: export it \
         again to a new folder"
    )]
    TimeZone { lake: String, instance: String },
    #[error(
        "the lake does not hold the database's events up to load {0} as they are now (an \
         identity change or an erasure since the export): run `omnikpi export --lake` again"
    )]
    Stale(i64),
    #[error(
        "Spark's rollup_daily rows count {counted} events, the lake holds {events}: the \
         stage folder holds another build's rows or Spark's write was cut short; build again"
    )]
    Incomplete { counted: i64, events: i64 },
    #[error(
        "cannot read Spark's rows in {dir} (the stage folder must be one this machine and \
         the cluster both reach): {source}"
    )]
    Stage { dir: String, source: duckdb::Error },
    #[error("the catalog's SQL for Spark: {0}")]
    Dialect(#[from] crate::server::kpi::dialect::DialectError),
    #[error(transparent)]
    Db(#[from] crate::server::db::DbError),
    #[error(transparent)]
    Lake(#[from] crate::server::ops::lake::LakeError),
    #[error("database error: {0}")]
    Sql(#[from] duckdb::Error),
}

impl SparkEngine {
    /// `omnikpi rollup build --engine spark`: Spark computes `rollup_daily` and the distinct
    /// (key, customer) and (key, order) pairs from the lake (the SQL of the local rebuild,
    /// rendered for Spark); omnikpi numbers new values, builds the bitmaps as a local rebuild
    /// does and replaces the rollups in one transaction, recording the lake's zone and highest
    /// load so later local writes maintain them incrementally. Refuses a lake in another
    /// zone or whose events changed since the export (the rollups would be wrong).
    ///
    /// Spark writes the rows as Parquet under `stage` (a folder both the cluster and this
    /// machine reach; its `daily` and `pairs` subfolders are replaced) and omnikpi reads them
    /// there with DuckDB.
    pub fn build_rollups(&self, db: &Db, stage: &str) -> Result<RollupBuild, BuildError> {
        use crate::server::rollup;

        let manifest = &self.manifest;
        if manifest.time_zone != db.time_zone() {
            return Err(BuildError::TimeZone {
                lake: manifest.time_zone.clone(),
                instance: db.time_zone(),
            });
        }
        let fresh = crate::server::ops::lake::fingerprint(&db.connect()?, manifest.max_load_id)?;
        if fresh != manifest.events.fingerprint {
            return Err(BuildError::Stale(manifest.max_load_id));
        }
        let stage = stage.trim_end_matches('/');
        let started = std::time::Instant::now();
        // Spark writes its rows where omnikpi reads them with DuckDB: a result of millions of
        // rows never passes through the Connect server (its driver ran out of memory on the
        // pairs of 10M events).
        let daily_dir = format!("{stage}/daily");
        let pairs_dir = format!("{stage}/pairs");
        let prices_dir = format!("{stage}/prices");
        self.write_parquet(&rollup::daily_sql(Dialect::Spark)?, &daily_dir)?;
        self.write_parquet(&rollup::pairs_sql(Dialect::Spark)?, &pairs_dir)?;
        self.write_parquet(&rollup::prices_sql(Dialect::Spark)?, &prices_dir)?;
        let spark_seconds = started.elapsed().as_secs_f64();

        let started = std::time::Instant::now();
        let _writer = db.write_lock();
        let mut conn = db.connect()?;
        let tx = conn.transaction()?;
        for (view, dir) in [
            (rollup::STAGED_DAILY, &daily_dir),
            (rollup::STAGED_PAIRS, &pairs_dir),
            (rollup::STAGED_PRICES, &prices_dir),
        ] {
            let files = format!("{dir}/*.parquet");
            tx.execute_batch(&format!(
                "CREATE OR REPLACE TEMP VIEW {view} AS SELECT * FROM read_parquet({})",
                crate::server::db::string_literal(&files)
            ))
            .map_err(|e| BuildError::Stage {
                dir: dir.clone(),
                source: e,
            })?;
        }
        // Every event counts in one daily row: fewer means rows went missing on the way.
        let (daily_rows, counted): (i64, Option<i64>) = tx.query_row(
            &format!(
                "SELECT count(*), CAST(sum(event_count) AS BIGINT) FROM {}",
                rollup::STAGED_DAILY
            ),
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let counted = counted.unwrap_or(0);
        if counted != manifest.events.rows {
            return Err(BuildError::Incomplete {
                counted,
                events: manifest.events.rows,
            });
        }
        let pair_rows: i64 = tx.query_row(
            &format!("SELECT count(*) FROM {}", rollup::STAGED_PAIRS),
            [],
            |r| r.get(0),
        )?;
        rollup::import_staged(&tx, &manifest.time_zone, manifest.max_load_id)?;
        tx.execute_batch(&format!(
            "DROP VIEW {}; DROP VIEW {}; DROP VIEW {};",
            rollup::STAGED_DAILY,
            rollup::STAGED_PAIRS,
            rollup::STAGED_PRICES
        ))?;
        let set_rows: i64 = tx.query_row("SELECT count(*) FROM rollup_sets", [], |r| r.get(0))?;
        tx.commit()?;
        Ok(RollupBuild {
            daily_rows,
            pairs: pair_rows,
            set_rows,
            time_zone: manifest.time_zone.clone(),
            loaded_through: manifest.max_load_id,
            spark_seconds,
            import_seconds: started.elapsed().as_secs_f64(),
        })
    }
}
