//! Renders KPI definitions to SQL and evaluates them.
//!
//! Every aggregate a request needs is computed in one scan of `events` per period, each query
//! KPI (windows, history) in one statement; ratios and differences are then evaluated in Rust,
//! so a zero denominator gives `None` and never a division error. Period bounds are bound parameters: local dates cast to TIMESTAMPTZ in the
//! connection's time zone, so an event at 23:30 UTC on 31 March is on 1 April in Europe/Rome.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use duckdb::Connection;

use super::catalog::{Catalog, Formula, KpiDef};
use super::period::Period;

#[derive(Debug, thiserror::Error)]
pub enum KpiError {
    #[error("unknown KPI {0:?}; `omnikpi kpi list` shows the catalog")]
    UnknownKpi(String),
    #[error("database error while computing KPIs: {0}")]
    Sql(#[from] duckdb::Error),
    #[error("unexpected day {0:?} in a series")]
    BadDay(String),
}

/// The value of each requested KPI over `period`, keyed by KPI key.
pub type Values = BTreeMap<String, Option<f64>>;

/// The SQL predicate that keeps a period's events; binds `from` and the day after `to`.
const PERIOD_FILTER: &str = "occurred_at >= CAST(CAST(? AS DATE) AS TIMESTAMPTZ) \
                             AND occurred_at < CAST(CAST(? AS DATE) AS TIMESTAMPTZ)";

/// Computes `keys` over `period`: every aggregate in one scan, then each query KPI.
pub fn compute(
    conn: &Connection,
    catalog: &Catalog,
    keys: &[&str],
    period: &Period,
) -> Result<Values, KpiError> {
    let plan = Plan::new(catalog, keys)?;
    let mut base = Values::new();
    if !plan.aggregates.is_empty() {
        let sql = select_aggregates(&plan.aggregates, None);
        base = conn.query_row(&sql, params(period), |row| {
            read_values(row, &plan.aggregates, 0)
        })?;
    }
    for def in &plan.queries {
        base.insert(def.key.clone(), run_query(conn, def, period)?);
    }
    evaluate(catalog, keys, &base)
}

/// The SQL a query KPI runs: its SELECT inside the CTEs it may read (see catalog.toml).
/// Binds `$1` = first day and `$2` = the day after the last, as ISO dates.
pub fn wrap_query(query: &str) -> String {
    format!(
        "WITH bounds AS (
             SELECT CAST(CAST($1 AS DATE) AS TIMESTAMPTZ) AS t0,
                    CAST(CAST($2 AS DATE) AS TIMESTAMPTZ) AS t1,
                    CAST($1 AS DATE) AS d0,
                    CAST($2 AS DATE) AS d1,
                    CAST(CAST($1 AS DATE) - CAST(CAST($2 AS DATE) - CAST($1 AS DATE) AS INTEGER)
                         AS TIMESTAMPTZ)
                        AS p0,
                    (SELECT coalesce(max(try_cast(value AS DOUBLE)), 1.0) FROM settings
                     WHERE key = 'clv_margin') AS margin),
         ev AS (SELECT * FROM events),
         pe AS (SELECT ev.* FROM ev, bounds
                WHERE ev.occurred_at >= bounds.t0 AND ev.occurred_at < bounds.t1),
         kpi AS ({query})
         SELECT * FROM kpi"
    )
}

/// Runs one query KPI: `value`, or `numerator / denominator` with null on a zero denominator.
fn run_query(conn: &Connection, def: &KpiDef, period: &Period) -> Result<Option<f64>, KpiError> {
    let Formula::Query(query) = &def.formula else {
        return Ok(None);
    };
    let mut stmt = conn.prepare(&wrap_query(query))?;
    let mut rows = stmt.query(params(period))?;
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    let first: Option<f64> = row.get(0)?;
    let columns = row.as_ref().column_count();
    if columns == 1 {
        return Ok(first);
    }
    let denominator: Option<f64> = row.get(1)?;
    Ok(match (first, denominator) {
        (Some(n), Some(d)) if d != 0.0 => Some(n / d),
        _ => None,
    })
}

/// What a set of KPIs needs computed from the database.
struct Plan<'c> {
    aggregates: Vec<&'c KpiDef>,
    queries: Vec<&'c KpiDef>,
}

impl<'c> Plan<'c> {
    /// The aggregates and queries that `keys` need, directly or through ratios and
    /// differences, in catalog order.
    fn new(catalog: &'c Catalog, keys: &[&str]) -> Result<Self, KpiError> {
        let mut needed = BTreeSet::new();
        let mut stack: Vec<&str> = keys.to_vec();
        while let Some(key) = stack.pop() {
            let def = catalog
                .get(key)
                .ok_or_else(|| KpiError::UnknownKpi(key.to_string()))?;
            if needed.insert(def.key.as_str()) {
                stack.extend(def.dependencies());
            }
        }
        let mut plan = Self {
            aggregates: Vec::new(),
            queries: Vec::new(),
        };
        for def in catalog
            .all()
            .iter()
            .filter(|d| needed.contains(d.key.as_str()))
        {
            match def.formula {
                Formula::Aggregate(_) => plan.aggregates.push(def),
                Formula::Query(_) => plan.queries.push(def),
                Formula::Ratio { .. } | Formula::Difference { .. } => {}
            }
        }
        Ok(plan)
    }
}

/// One KPI with its value over the previous period and the relative change.
#[derive(Clone, Debug, PartialEq)]
pub struct Compared {
    pub value: Option<f64>,
    pub previous: Option<f64>,
    pub change: Option<f64>,
}

/// Computes `keys` over `period` and over [`Period::previous`].
pub fn compute_with_previous(
    conn: &Connection,
    catalog: &Catalog,
    keys: &[&str],
    period: &Period,
) -> Result<BTreeMap<String, Compared>, KpiError> {
    let current = compute(conn, catalog, keys, period)?;
    let previous = compute(conn, catalog, keys, &period.previous())?;
    Ok(current
        .into_iter()
        .map(|(key, value)| {
            let previous = previous.get(&key).copied().flatten();
            let change = match (value, previous) {
                (Some(v), Some(p)) if p != 0.0 => Some((v - p) / p.abs()),
                _ => None,
            };
            (
                key,
                Compared {
                    value,
                    previous,
                    change,
                },
            )
        })
        .collect())
}

/// The value of `key` on each local day of `period`. Days without events get the KPI's value
/// on no events: 0 for sums and counts, `None` for ratios.
pub fn daily_series(
    conn: &Connection,
    catalog: &Catalog,
    key: &str,
    period: &Period,
) -> Result<Vec<(NaiveDate, Option<f64>)>, KpiError> {
    let plan = Plan::new(catalog, &[key])?;
    if !plan.queries.is_empty() {
        // A query KPI looks beyond its own rows (windows, history): compute each day whole.
        return period
            .each_day()
            .map(|day| {
                let one = Period::new(day, day).map_err(|_| KpiError::BadDay(day.to_string()))?;
                let values = compute(conn, catalog, &[key], &one)?;
                Ok((day, values.get(key).copied().flatten()))
            })
            .collect();
    }
    let aggregates = plan.aggregates;
    let day = "CAST(CAST(occurred_at AS DATE) AS VARCHAR)";
    let sql = select_aggregates(&aggregates, Some(day));
    let mut stmt = conn.prepare(&sql)?;
    let mut by_day = BTreeMap::new();
    let rows = stmt.query_map(params(period), |row| {
        let day: String = row.get(0)?;
        Ok((day, read_values(row, &aggregates, 1)?))
    })?;
    for row in rows {
        let (day, values) = row?;
        let day = NaiveDate::parse_from_str(&day, "%Y-%m-%d").map_err(|_| KpiError::BadDay(day))?;
        by_day.insert(day, evaluate(catalog, &[key], &values)?);
    }
    let empty_sql = format!("{} WHERE false", select_from(&aggregates, None));
    let empty = conn.query_row(&empty_sql, [], |row| read_values(row, &aggregates, 0))?;
    let empty = evaluate(catalog, &[key], &empty)?;
    Ok(period
        .each_day()
        .map(|d| {
            let values = by_day.get(&d).unwrap_or(&empty);
            (d, values.get(key).copied().flatten())
        })
        .collect())
}

/// `SELECT [group,] CAST((agg) AS DOUBLE), ... FROM events` without a WHERE clause.
fn select_from(aggregates: &[&KpiDef], group: Option<&str>) -> String {
    let mut columns: Vec<String> = group.map(str::to_string).into_iter().collect();
    for def in aggregates {
        if let Formula::Aggregate(sql) = &def.formula {
            // Keys are checked snake_case by the catalog, so the alias needs no escaping.
            columns.push(format!("CAST(({sql}) AS DOUBLE) AS \"{}\"", def.key));
        }
    }
    format!("SELECT {} FROM events", columns.join(", "))
}

/// The full statement for a period, grouped by `group` when given.
fn select_aggregates(aggregates: &[&KpiDef], group: Option<&str>) -> String {
    let mut sql = format!("{} WHERE {PERIOD_FILTER}", select_from(aggregates, group));
    if group.is_some() {
        sql.push_str(" GROUP BY 1 ORDER BY 1");
    }
    sql
}

fn params(period: &Period) -> [String; 2] {
    [
        period.from().to_string(),
        period.end_exclusive().to_string(),
    ]
}

fn read_values(
    row: &duckdb::Row<'_>,
    aggregates: &[&KpiDef],
    offset: usize,
) -> duckdb::Result<Values> {
    aggregates
        .iter()
        .enumerate()
        .map(|(i, def)| Ok((def.key.clone(), row.get::<_, Option<f64>>(offset + i)?)))
        .collect()
}

/// Evaluates `keys` from the computed aggregates.
fn evaluate(catalog: &Catalog, keys: &[&str], aggregates: &Values) -> Result<Values, KpiError> {
    keys.iter()
        .map(|key| Ok((key.to_string(), value_of(catalog, key, aggregates)?)))
        .collect()
}

fn value_of(catalog: &Catalog, key: &str, aggregates: &Values) -> Result<Option<f64>, KpiError> {
    let def = catalog
        .get(key)
        .ok_or_else(|| KpiError::UnknownKpi(key.to_string()))?;
    Ok(match &def.formula {
        Formula::Aggregate(_) | Formula::Query(_) => aggregates.get(key).copied().flatten(),
        Formula::Difference {
            minuend,
            subtrahend,
        } => {
            let a = value_of(catalog, minuend, aggregates)?;
            let b = value_of(catalog, subtrahend, aggregates)?;
            a.zip(b).map(|(a, b)| a - b)
        }
        Formula::Ratio {
            numerator,
            denominator,
        } => {
            let n = value_of(catalog, numerator, aggregates)?;
            let d = value_of(catalog, denominator, aggregates)?;
            match (n, d) {
                (Some(n), Some(d)) if d != 0.0 => Some(n / d),
                _ => None,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_statement_computes_every_needed_aggregate() {
        let catalog = Catalog::builtin();
        let aggregates = Plan::new(catalog, &["aov"])
            .expect("aov is known")
            .aggregates;
        let keys: Vec<&str> = aggregates.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(keys, ["gross_revenue", "orders"]);
        let sql = select_aggregates(&aggregates, None);
        assert!(sql.starts_with("SELECT CAST(("), "{sql}");
        assert!(sql.contains("AS \"gross_revenue\""), "{sql}");
        assert!(sql.ends_with(PERIOD_FILTER), "{sql}");
        assert!(!sql.contains("GROUP BY"), "{sql}");
    }

    #[test]
    fn unknown_kpis_are_named_in_the_error() {
        let err = Plan::new(Catalog::builtin(), &["revenue"]).err();
        assert!(matches!(err, Some(KpiError::UnknownKpi(k)) if k == "revenue"));
    }
}
