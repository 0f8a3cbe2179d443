//! The Spark engine (feature `spark`): the KPI catalog computed by Apache Spark over a lake
//! written by `omnikpi export --lake` (src/server/ops/lake.rs), through Spark Connect.
//!
//! omnikpi sends SQL (the catalog rendered for Spark, [`crate::server::kpi::dialect`]) to the
//! Connect server and reads one row of numbers back: a report is one statement (every KPI of
//! both periods, [`crate::server::kpi::engine`]). Spark reads the Parquet files itself, so
//! the lake's path is as Spark sees it (a folder every executor reaches, or an object store
//! URI). The lake's `manifest.json` is read through Spark too, so omnikpi needs no access to
//! the lake's storage. The session's time zone is the instance's (from the manifest): local
//! days and months are those of the DuckDB engine.

use std::collections::HashMap;

use duckdb::arrow::array::{Array, Float64Array, StringArray, StructArray};
use duckdb::arrow::compute::cast;
use duckdb::arrow::datatypes::DataType;
use duckdb::arrow::record_batch::RecordBatch;
use spark_connect::expression::{Expression, LiteralExpression};
use spark_connect::{DataFrame, SparkSession};

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
