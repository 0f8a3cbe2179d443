//! Breakdowns: a KPI split by the values of one dimension, top N by value plus "other".
//!
//! Each part is the KPI computed on the events of that value (the filter narrows first, as
//! for every KPI), and "other" is the KPI on everything else, rows without a value included,
//! so a ratio's "other" is a real ratio and not a difference of ratios.
//!
//! A part where a sum (a count, an amount) is exactly 0 is left out: a channel without online
//! orders is not one of online orders' channels, and it adds nothing to the whole. A rate of
//! 0 % is a finding and stays, and so does a rate that is n/a (a store with revenue and no
//! counted visit: revenue per visit cannot be measured there, which is worth knowing). The
//! pages, the exports and the API all read parts from here, so they list the same ones.

use duckdb::Connection;

use super::catalog::Catalog;
use super::filter::{Dimension, Filters};
use super::period::Period;
use super::query::{KpiError, Source, bind, compute_by, compute_in};
use crate::kpi::Unit;
use crate::server::rollup;

/// How many values a breakdown considers at most (the most frequent in the period).
pub const MAX_CANDIDATES: usize = 50;

/// One part of a breakdown.
#[derive(Clone, Debug, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Part {
    /// The dimension's value; `None` for "other".
    pub value: Option<String>,
    pub kpi: Option<f64>,
}

/// `key` over `period` split by `dimension`: the `top` parts with the highest KPI value
/// (ties by name), then "other" when anything remains.
pub fn breakdown(
    conn: &Connection,
    catalog: &Catalog,
    key: &str,
    period: &Period,
    filters: &Filters,
    dimension: Dimension,
    top: usize,
) -> Result<Vec<Part>, KpiError> {
    let scope = (period, filters, dimension);
    breakdown_in(conn, catalog, key, scope, top, Source::Rollups)
}

/// [`breakdown`] from the raw events only, never a rollup: what the rollups are checked
/// against.
pub fn breakdown_from_events(
    conn: &Connection,
    catalog: &Catalog,
    key: &str,
    period: &Period,
    filters: &Filters,
    dimension: Dimension,
    top: usize,
) -> Result<Vec<Part>, KpiError> {
    let scope = (period, filters, dimension);
    breakdown_in(conn, catalog, key, scope, top, Source::Events)
}

fn breakdown_in(
    conn: &Connection,
    catalog: &Catalog,
    key: &str,
    (period, filters, dimension): (&Period, &Filters, Dimension),
    top: usize,
    source: Source,
) -> Result<Vec<Part>, KpiError> {
    let Some(def) = catalog.get(key) else {
        return Err(KpiError::UnknownKpi(key.to_string()));
    };
    let sums = matches!(def.unit, Unit::Count | Unit::Money);
    let measures = |kpi: Option<f64>| !(sums && kpi == Some(0.0));
    let compute = |filters: &Filters| -> Result<Option<f64>, KpiError> {
        Ok(compute_in(conn, catalog, &[key], period, filters, source)?[key])
    };
    let candidates = candidates_in(conn, period, filters, dimension, source)?;
    // From the daily rollup, every value's in one statement.
    let grouped = match source {
        Source::Rollups => compute_by(
            conn,
            catalog,
            key,
            (period, filters),
            dimension,
            &candidates,
        )?,
        Source::Events => None,
    };
    let mut parts = Vec::with_capacity(candidates.len());
    for value in &candidates {
        let kpi = match grouped.as_ref().and_then(|g| g.get(value)) {
            Some(kpi) => *kpi,
            None => compute(&filters.with(dimension, value))?,
        };
        if measures(kpi) {
            parts.push(Part {
                value: Some(value.clone()),
                kpi,
            });
        }
    }
    parts.sort_by(|a, b| {
        b.kpi
            .partial_cmp(&a.kpi)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.value.cmp(&b.value))
    });
    parts.truncate(top);
    let shown: Vec<String> = parts.iter().filter_map(|p| p.value.clone()).collect();
    let rest = filters.without(dimension, &shown);
    if remaining_events_in(conn, period, &rest, source)? > 0 {
        let kpi = compute(&rest)?;
        if measures(kpi) {
            parts.push(Part { value: None, kpi });
        }
    }
    Ok(parts)
}

/// The most frequent values of `dimension` among the period's filtered events. The daily
/// rollup counts the same events per value, so it answers when it keeps the dimension and
/// every filter (docs/rollups.md).
pub(super) fn candidates(
    conn: &Connection,
    period: &Period,
    filters: &Filters,
    dimension: Dimension,
) -> Result<Vec<String>, KpiError> {
    candidates_in(conn, period, filters, dimension, Source::Rollups)
}

fn candidates_in(
    conn: &Connection,
    period: &Period,
    filters: &Filters,
    dimension: Dimension,
    source: Source,
) -> Result<Vec<String>, KpiError> {
    let (predicate, params) = bind(period, filters);
    let from_rollup =
        rollup::SERVED_DIMENSIONS.contains(&dimension) && served(conn, filters, source)?;
    let (rows, period_sql, weight) = if from_rollup {
        (rollup::DAILY_AS_EVENTS, rollup::DAILY_PERIOD, "event_count")
    } else {
        ("events", EVENTS_PERIOD, "1")
    };
    let sql = format!(
        "SELECT v FROM (SELECT {} AS v, {weight} AS n FROM {rows} WHERE {period_sql} AND ({predicate}))
         WHERE v IS NOT NULL GROUP BY v ORDER BY sum(n) DESC, v LIMIT {MAX_CANDIDATES}",
        dimension.column_sql()
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(duckdb::params_from_iter(&params), |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The period's events that `filters` keep.
pub(super) fn remaining_events(
    conn: &Connection,
    period: &Period,
    filters: &Filters,
) -> Result<i64, KpiError> {
    remaining_events_in(conn, period, filters, Source::Rollups)
}

fn remaining_events_in(
    conn: &Connection,
    period: &Period,
    filters: &Filters,
    source: Source,
) -> Result<i64, KpiError> {
    let (predicate, params) = bind(period, filters);
    let sql = if served(conn, filters, source)? {
        format!(
            "SELECT CAST(coalesce(sum(event_count), 0) AS BIGINT) FROM {}
             WHERE {} AND ({predicate})",
            rollup::DAILY_AS_EVENTS,
            rollup::DAILY_PERIOD
        )
    } else {
        format!("SELECT count(*) FROM events WHERE {EVENTS_PERIOD} AND ({predicate})")
    };
    Ok(conn.query_row(&sql, duckdb::params_from_iter(&params), |r| r.get(0))?)
}

/// The period `[$1, $2)` of local days over `events`.
const EVENTS_PERIOD: &str = "occurred_at >= CAST(CAST($1 AS DATE) AS TIMESTAMPTZ)
                             AND occurred_at < CAST(CAST($2 AS DATE) AS TIMESTAMPTZ)";

/// Whether the daily rollup may count the events `filters` keep.
fn served(conn: &Connection, filters: &Filters, source: Source) -> Result<bool, KpiError> {
    Ok(source == Source::Rollups && rollup::serves(filters) && rollup::current(conn)?)
}
