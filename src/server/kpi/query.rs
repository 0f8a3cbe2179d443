//! Renders KPI definitions to SQL and evaluates them.
//!
//! Every aggregate a request needs is computed in one scan of `events` per period, each query
//! KPI (windows, history) in one statement, unless a rollup serves it (`rollup_daily` for sums,
//! `rollup_sets` through `sets.rs` for distinct counts and set algebra: see [`route`]); ratios and differences are then evaluated in Rust,
//! so a zero denominator gives `None` and never a division error.
//!
//! Bound parameters: `$1` is the first local day and `$2` the day after the last, cast to
//! TIMESTAMPTZ in the connection's time zone (an event at 23:30 UTC on 31 March is on 1 April
//! in Europe/Rome); filter values follow from `$3`. Filters narrow the events first: the
//! aggregates scan only matching rows, and query KPIs read them as `ev`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Days, Months, NaiveDate};
use duckdb::Connection;

use crate::kpi::{Grain, Unit};
use crate::server::rollup;

use super::catalog::{Catalog, Formula, KpiDef};
use super::filter::{Dimension, Filters};
use super::period::Period;
use super::sets;

#[derive(Debug, thiserror::Error)]
pub enum KpiError {
    #[error("unknown KPI {0:?}; `omnikpi kpi list` shows the catalog")]
    UnknownKpi(String),
    #[error("database error while computing KPIs: {0}")]
    Sql(#[from] duckdb::Error),
    /// An engine other than the embedded DuckDB ([`super::engine`]) failed.
    #[error("{0}")]
    Engine(String),
    #[error("unexpected bucket {0:?} in a series")]
    BadBucket(String),
    #[error(
        "{key} looks across time, so a series computes each point on its own: at most \
         {MAX_QUERY_BUCKETS} points; choose a coarser grain or a shorter period"
    )]
    TooManyBuckets { key: String },
}

/// The most points a series of a query KPI may have (each point is one statement).
pub const MAX_QUERY_BUCKETS: usize = 400;

/// The value of each requested KPI, keyed by KPI key.
pub type Values = BTreeMap<String, Option<f64>>;

/// The predicate that keeps a period's events.
const PERIOD_FILTER: &str = "occurred_at >= CAST(CAST($1 AS DATE) AS TIMESTAMPTZ) \
                             AND occurred_at < CAST(CAST($2 AS DATE) AS TIMESTAMPTZ)";

/// Computes `keys` over `period` on the events `filters` keep. Aggregates that a rollup serves
/// for these filters are read from it (docs/rollups.md), the rest from `events`.
pub fn compute(
    conn: &Connection,
    catalog: &Catalog,
    keys: &[&str],
    period: &Period,
    filters: &Filters,
) -> Result<Values, KpiError> {
    compute_in(conn, catalog, keys, period, filters, Source::Rollups)
}

/// [`compute`] from the raw events only, never a rollup: what the rollups are checked against.
pub fn compute_from_events(
    conn: &Connection,
    catalog: &Catalog,
    keys: &[&str],
    period: &Period,
    filters: &Filters,
) -> Result<Values, KpiError> {
    compute_in(conn, catalog, keys, period, filters, Source::Events)
}

/// Where aggregates may be read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Source {
    /// A rollup where it serves the KPI and the filters, `events` otherwise.
    Rollups,
    /// `events` only.
    Events,
}

pub(super) fn compute_in(
    conn: &Connection,
    catalog: &Catalog,
    keys: &[&str],
    period: &Period,
    filters: &Filters,
    source: Source,
) -> Result<Values, KpiError> {
    compute_with(conn, catalog, keys, (period, filters), source, None)
}

/// [`compute_in`], with the set rows already read for the same KPIs when given (a series reads
/// them once for all its buckets). From the rollups, values the catalog's memo keeps are read
/// back, and the others computed and kept (see [`super::memo`]).
fn compute_with(
    conn: &Connection,
    catalog: &Catalog,
    keys: &[&str],
    (period, filters): (&Period, &Filters),
    source: Source,
    fetched: Option<&sets::Fetched>,
) -> Result<Values, KpiError> {
    let Some(memo) = catalog.memo().filter(|_| source == Source::Rollups) else {
        return compute_fresh(conn, catalog, keys, (period, filters), source, fetched);
    };
    let mut known = memo.recall(period, filters);
    let missing: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| !known.values.contains_key(*k))
        .collect();
    let mut fresh = Values::new();
    if !missing.is_empty() {
        fresh = compute_fresh(conn, catalog, &missing, (period, filters), source, fetched)?;
        let before = known.values.len();
        // A value that reads past the period's end is never kept.
        known.values.extend(
            fresh
                .iter()
                .filter(|(key, _)| !catalog.reads_after_period(key))
                .map(|(key, value)| (key.clone(), *value)),
        );
        if known.values.len() > before {
            memo.keep(known.version, period, filters, known.values.clone());
        }
    }
    Ok(keys
        .iter()
        .filter_map(|k| {
            let value = fresh.get(*k).or_else(|| known.values.get(*k))?;
            Some((k.to_string(), *value))
        })
        .collect())
}

/// Whether every one of `keys` over `period` is in the catalog's memo (a series skips
/// reading the rows of such a bucket).
fn remembered(catalog: &Catalog, keys: &[&str], period: &Period, filters: &Filters) -> bool {
    catalog.memo().is_some_and(|memo| {
        let known = memo.recall(period, filters);
        keys.iter().all(|k| known.values.contains_key(*k))
    })
}

/// [`compute_with`] without the memo.
fn compute_fresh(
    conn: &Connection,
    catalog: &Catalog,
    keys: &[&str],
    (period, filters): (&Period, &Filters),
    source: Source,
    fetched: Option<&sets::Fetched>,
) -> Result<Values, KpiError> {
    let plan = Plan::new(catalog, keys)?;
    let (predicate, params) = bind(period, filters);
    let any_channel = filters.predicate_without(3, Dimension::Channel);
    let routes = route(conn, &plan, filters, source)?;
    let mut base = Values::new();
    if !routes.raw.is_empty() {
        let sql = select_aggregates(&routes.raw, None, &predicate);
        base = conn.query_row(&sql, duckdb::params_from_iter(&params), |row| {
            read_values(row, &routes.raw, 0)
        })?;
    }
    if !routes.daily.is_empty() {
        let sql = select_rollup(&routes.daily, None, &predicate);
        base.extend(
            conn.query_row(&sql, duckdb::params_from_iter(&params), |row| {
                read_values(row, &routes.daily, 0)
            })?,
        );
    }
    if !routes.sets.is_empty() {
        match fetched.and_then(|f| f.evaluate(&routes.sets, period)) {
            Some(values) => base.extend(values),
            None => base.extend(sets::compute(
                conn,
                &routes.sets,
                period,
                &under(catalog, filters, &predicate, &params[2..]),
            )?),
        }
    }
    for def in &routes.queries {
        if let Formula::Query(query) = &def.formula {
            let sql = wrap_query(query, &predicate, &any_channel);
            let value = run_query(conn, &sql, &params)?;
            base.insert(def.key.clone(), value);
        }
    }
    for def in &routes.facts {
        if let Some(facts) = &def.facts {
            let value = run_query(conn, &wrap_facts(facts), &params[..2])?;
            base.insert(def.key.clone(), value);
        }
    }
    evaluate(catalog, keys, &base)
}

/// `key` over `period` for each of `values` of `dimension` (on the events `filters` keep), in
/// one statement grouped by the dimension, when the daily rollup serves all of the KPI and
/// the filters; `None` otherwise (the caller computes each value alone). A value without rows
/// gets the KPI on no events, as computed alone.
pub(super) fn compute_by(
    conn: &Connection,
    catalog: &Catalog,
    key: &str,
    (period, filters): (&Period, &Filters),
    dimension: Dimension,
    values: &[String],
) -> Result<Option<BTreeMap<String, Option<f64>>>, KpiError> {
    let plan = Plan::new(catalog, &[key])?;
    let routes = route(conn, &plan, filters, Source::Rollups)?;
    let whole_daily = !routes.daily.is_empty()
        && routes.raw.is_empty()
        && routes.sets.is_empty()
        && routes.queries.is_empty()
        && routes.facts.is_empty();
    if !whole_daily || !rollup::SERVED_DIMENSIONS.contains(&dimension) || values.is_empty() {
        return Ok(None);
    }
    let (predicate, mut params) = bind(period, filters);
    let group = dimension.column_sql();
    let first = params.len() + 1;
    let placeholders: Vec<String> = (first..first + values.len())
        .map(|i| format!("${i}"))
        .collect();
    let predicate = format!("({predicate}) AND {group} IN ({})", placeholders.join(", "));
    params.extend(values.iter().cloned());
    let sql = select_rollup(&routes.daily, Some(group), &predicate);
    let empty_sql = format!("{} WHERE false", select_from(&plan.aggregates, None));
    let empty = conn.query_row(&empty_sql, [], |row| read_values(row, &plan.aggregates, 0))?;
    let mut by_value: BTreeMap<String, Values> = BTreeMap::new();
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(duckdb::params_from_iter(&params))?;
    while let Some(row) = rows.next()? {
        let value: Option<String> = row.get(0)?;
        if let Some(value) = value {
            by_value.insert(value, read_values(row, &routes.daily, 1)?);
        }
    }
    let mut out = BTreeMap::new();
    for value in values {
        let base = by_value.get(value).unwrap_or(&empty);
        out.insert(value.clone(), evaluate(catalog, &[key], base)?[key]);
    }
    Ok(Some(out))
}

/// The filter as the set rows are read under it: its predicate and values, and the catalog's
/// memo, which keeps the rows of the days no write changed since.
fn under<'a>(
    catalog: &'a Catalog,
    filters: &'a Filters,
    predicate: &'a str,
    values: &'a [String],
) -> sets::Under<'a> {
    sets::Under {
        predicate,
        values,
        memo: catalog.memo().map(|memo| memo.rows(filters)),
    }
}

/// Where each aggregate and query of a plan is read from.
struct Routes<'c> {
    /// Aggregates with a `rollup` expression, read from `rollup_daily`.
    daily: Vec<&'c KpiDef>,
    /// Aggregates and queries with a `sets` expression, computed from `rollup_sets`.
    sets: Vec<&'c KpiDef>,
    /// Aggregates read from `events`.
    raw: Vec<&'c KpiDef>,
    /// Queries run over `events`.
    queries: Vec<&'c KpiDef>,
    /// Queries run over the customer or order facts (their `facts` query).
    facts: Vec<&'c KpiDef>,
}

/// The rollups serve a KPI with a `rollup` or `sets` expression when they serve every filter
/// dimension and hold the connection's local days; everything else reads `events`.
fn route<'c>(
    conn: &Connection,
    plan: &Plan<'c>,
    filters: &Filters,
    source: Source,
) -> Result<Routes<'c>, KpiError> {
    let mut routes = Routes {
        daily: Vec::new(),
        sets: Vec::new(),
        raw: Vec::new(),
        queries: Vec::new(),
        facts: Vec::new(),
    };
    let candidates = plan
        .aggregates
        .iter()
        .chain(&plan.queries)
        .any(|d| d.rollup.is_some() || d.sets.is_some());
    // Whether the rollups hold the connection's local days: read once, when first needed.
    let mut known: Option<bool> = None;
    let mut rollups_current = || -> Result<bool, duckdb::Error> {
        if known.is_none() {
            known = Some(rollup::current(conn)?);
        }
        Ok(known == Some(true))
    };
    let usable =
        source == Source::Rollups && candidates && rollup::serves(filters) && rollups_current()?;
    for def in &plan.aggregates {
        if usable && def.rollup.is_some() {
            routes.daily.push(def);
        } else if usable && def.sets.is_some() {
            routes.sets.push(def);
        } else {
            routes.raw.push(def);
        }
    }
    // The customer and order facts are computed over every event of a customer or an order:
    // no filter narrows them.
    let facts = source == Source::Rollups
        && filters.is_empty()
        && plan.queries.iter().any(|d| d.facts.is_some())
        && rollups_current()?
        && crate::server::journey::rollup::current(conn)?;
    for def in &plan.queries {
        if usable && def.sets.is_some() {
            routes.sets.push(def);
        } else if facts && def.facts.is_some() {
            routes.facts.push(def);
        } else {
            routes.queries.push(def);
        }
    }
    Ok(routes)
}

/// One statement [`compute`] runs: what it computes, its SQL and its bound parameters.
#[derive(Clone, Debug)]
pub struct Statement {
    pub label: String,
    pub sql: String,
    pub params: Vec<String>,
}

/// The statements [`compute`] runs for `keys` over `period`, in order: the aggregates in one
/// scan, then one per query KPI (the benchmark runs them directly in DuckDB and PostgreSQL).
pub fn statements(
    catalog: &Catalog,
    keys: &[&str],
    period: &Period,
    filters: &Filters,
) -> Result<Vec<Statement>, KpiError> {
    let plan = Plan::new(catalog, keys)?;
    let (predicate, params) = bind(period, filters);
    let any_channel = filters.predicate_without(3, Dimension::Channel);
    let mut out = Vec::new();
    if !plan.aggregates.is_empty() {
        out.push(Statement {
            label: "aggregates".to_string(),
            sql: select_aggregates(&plan.aggregates, None, &predicate),
            params: params.clone(),
        });
    }
    for def in &plan.queries {
        if let Formula::Query(query) = &def.formula {
            out.push(Statement {
                label: def.key.clone(),
                sql: wrap_query(query, &predicate, &any_channel),
                params: params.clone(),
            });
        }
    }
    Ok(out)
}

/// The SQL a query KPI runs: its SELECT inside the CTEs it may read (see catalog.toml), with
/// `predicate` (over `events`, placeholders from `$3`) narrowing `ev`, and `any_channel` (the
/// same without the channel filter, same placeholders) narrowing `pe_any_channel`.
pub fn wrap_query(query: &str, predicate: &str, any_channel: &str) -> String {
    with_ctes(
        "SELECT CAST(CAST($1 AS DATE) AS TIMESTAMPTZ) AS t0,
                    CAST(CAST($2 AS DATE) AS TIMESTAMPTZ) AS t1,
                    CAST($1 AS DATE) AS d0,
                    CAST($2 AS DATE) AS d1,
                    CAST(CAST($1 AS DATE) - CAST(CAST($2 AS DATE) - CAST($1 AS DATE) AS INTEGER)
                         AS TIMESTAMPTZ) AS p0,",
        query,
        predicate,
        any_channel,
    )
}

/// A KPI's `facts` query with the one CTE it may read besides the rollups: `bounds`, the
/// period as instants (t0, t1, in the connection's zone) and local days (d0, d1), from `$1`
/// and `$2`.
pub fn wrap_facts(facts: &str) -> String {
    format!(
        "WITH bounds AS (
             SELECT CAST(CAST($1 AS DATE) AS TIMESTAMPTZ) AS t0,
                    CAST(CAST($2 AS DATE) AS TIMESTAMPTZ) AS t1,
                    CAST($1 AS DATE) AS d0,
                    CAST($2 AS DATE) AS d1)
         {facts}"
    )
}

/// The CTEs every dialect gives a query KPI: `bounds` (the dialect's `bounds_sql`, a SELECT of
/// t0, t1, d0, d1 and p0 ending in a comma, then the CLV margin), and `ev`, `pe`,
/// `pe_any_channel` over `events`, then the KPI's own SELECT.
pub(super) fn with_ctes(
    bounds_sql: &str,
    query: &str,
    predicate: &str,
    any_channel: &str,
) -> String {
    format!(
        "{},
         kpi AS ({query})
         SELECT * FROM kpi",
        query_ctes(bounds_sql, predicate, any_channel)
    )
}

/// The `WITH` clause of [`with_ctes`] without the KPI's own SELECT: more CTEs may follow it
/// after a comma (the Spark engine puts every query KPI of a period in one statement).
pub(super) fn query_ctes(bounds_sql: &str, predicate: &str, any_channel: &str) -> String {
    format!(
        "WITH bounds AS (
             {bounds_sql}
                    (SELECT coalesce(max(try_cast(value AS DOUBLE)), 1.0) FROM settings
                     WHERE key = 'clv_margin') AS margin),
         ev AS (SELECT * FROM events WHERE {predicate}),
         pe AS (SELECT ev.* FROM ev, bounds
                WHERE ev.occurred_at >= bounds.t0 AND ev.occurred_at < bounds.t1),
         pe_any_channel AS (SELECT events.* FROM events, bounds
                WHERE events.occurred_at >= bounds.t0 AND events.occurred_at < bounds.t1
                  AND ({any_channel}))"
    )
}

/// The CLV margin setting as `bounds.margin` of [`with_ctes`] reads it (1 when unset or not a
/// number), for the set path of CLV. Kept apart so the raw statements' text does not change.
pub(super) const CLV_MARGIN: &str =
    "SELECT coalesce(max(try_cast(value AS DOUBLE)), 1.0) FROM settings WHERE key = 'clv_margin'";

/// Runs one query KPI: `value`, or `numerator / denominator` with null on a zero denominator.
fn run_query(conn: &Connection, sql: &str, params: &[String]) -> Result<Option<f64>, KpiError> {
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.query(duckdb::params_from_iter(params))?;
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    let first: Option<f64> = row.get(0)?;
    if row.as_ref().column_count() == 1 {
        return Ok(first);
    }
    let denominator: Option<f64> = row.get(1)?;
    Ok(match (first, denominator) {
        (Some(n), Some(d)) if d != 0.0 => Some(n / d),
        _ => None,
    })
}

/// One KPI with its value over a comparison period and the relative change.
#[derive(Clone, Debug, PartialEq)]
pub struct Compared {
    pub value: Option<f64>,
    pub previous: Option<f64>,
    pub change: Option<f64>,
}

/// Computes `keys` over `period` and over `comparison` (e.g. [`Period::previous`]).
pub fn compute_compared(
    conn: &Connection,
    catalog: &Catalog,
    keys: &[&str],
    period: &Period,
    comparison: &Period,
    filters: &Filters,
) -> Result<BTreeMap<String, Compared>, KpiError> {
    let current = compute(conn, catalog, keys, period, filters)?;
    let previous = compute(conn, catalog, keys, comparison, filters)?;
    Ok(pair(catalog, current, &previous))
}

/// Each KPI of `current` with its value in `previous` and the change between the two.
pub(super) fn pair(
    catalog: &Catalog,
    current: Values,
    previous: &Values,
) -> BTreeMap<String, Compared> {
    current
        .into_iter()
        .map(|(key, value)| {
            let previous = previous.get(&key).copied().flatten();
            let unit = catalog.get(&key).map(|d| d.unit);
            let compared = Compared {
                value,
                previous,
                change: change(unit, value, previous),
            };
            (key, compared)
        })
        .collect()
}

/// The change from `previous` to `value`: relative for money, counts and multiples; the
/// plain difference (percentage points, score points) for ratios and scores, where a
/// relative change reads wrong (NPS from -5 to +5 is not "+200 %").
pub fn change(unit: Option<Unit>, value: Option<f64>, previous: Option<f64>) -> Option<f64> {
    let (v, p) = (value?, previous?);
    match unit {
        Some(Unit::Ratio | Unit::Score) => Some(v - p),
        _ if p != 0.0 => Some((v - p) / p.abs()),
        _ => None,
    }
}

/// Computes `keys` over `period` and over the previous period of the same length.
pub fn compute_with_previous(
    conn: &Connection,
    catalog: &Catalog,
    keys: &[&str],
    period: &Period,
    filters: &Filters,
) -> Result<BTreeMap<String, Compared>, KpiError> {
    compute_compared(conn, catalog, keys, period, &period.previous(), filters)
}

/// The first day of the bucket of `grain` that contains `day`.
pub fn bucket_start(day: NaiveDate, grain: Grain) -> NaiveDate {
    let first_of_month = |d: NaiveDate| d.with_day(1).unwrap_or(d);
    match grain {
        Grain::Day => day,
        Grain::Week => day
            .checked_sub_days(Days::new(u64::from(day.weekday().num_days_from_monday())))
            .unwrap_or(day),
        Grain::Month => first_of_month(day),
        Grain::Quarter => {
            let month = first_of_month(day);
            month
                .checked_sub_months(Months::new(day.month0() % 3))
                .unwrap_or(month)
        }
    }
}

fn next_bucket(start: NaiveDate, grain: Grain) -> NaiveDate {
    match grain {
        Grain::Day => start + Days::new(1),
        Grain::Week => start + Days::new(7),
        Grain::Month => start + Months::new(1),
        Grain::Quarter => start + Months::new(3),
    }
}

/// The buckets of `grain` that cover `period`, each clipped to it: the first week of a
/// period starting on a Wednesday runs Wednesday to Sunday.
pub fn buckets(period: &Period, grain: Grain) -> Vec<Period> {
    let mut out = Vec::new();
    let mut start = bucket_start(period.from(), grain);
    while start <= period.to() {
        let next = next_bucket(start, grain);
        let from = start.max(period.from());
        let to = next.pred_opt().unwrap_or(next).min(period.to());
        if let Ok(p) = Period::new(from, to) {
            out.push(p);
        }
        start = next;
    }
    out
}

/// One KPI's values per bucket, each bucket clipped to the period.
pub type Series = Vec<(Period, Option<f64>)>;

/// The value of `key` in each bucket of `grain` over `period` (buckets clipped to it). A bucket
/// without events gets the KPI's value on no events: 0 for sums and counts, `None` for ratios.
pub fn series(
    conn: &Connection,
    catalog: &Catalog,
    key: &str,
    period: &Period,
    grain: Grain,
    filters: &Filters,
) -> Result<Series, KpiError> {
    let mut all = series_many(conn, catalog, &[key], period, grain, filters)?;
    all.remove(key)
        .ok_or_else(|| KpiError::UnknownKpi(key.to_string()))
}

/// Whether `key` needs a query KPI (windows, history), directly or through its parts: its
/// series then costs one statement per bucket (see [`series_many`]).
pub fn looks_across_time(catalog: &Catalog, key: &str) -> Result<bool, KpiError> {
    Ok(!Plan::new(catalog, &[key])?.queries.is_empty())
}

/// [`series`] of several KPIs at once, keyed by KPI key: the KPIs computed from aggregates
/// alone share one grouped scan of `events`; the KPIs that need a query (windows, history)
/// are computed together bucket by bucket, each bucket whole. Each KPI's values are exactly
/// what [`series`] gives for it alone (the detail page and the tiles show the same line).
pub fn series_many(
    conn: &Connection,
    catalog: &Catalog,
    keys: &[&str],
    period: &Period,
    grain: Grain,
    filters: &Filters,
) -> Result<BTreeMap<String, Series>, KpiError> {
    series_many_in(conn, catalog, keys, period, grain, filters, Source::Rollups)
}

/// [`series_many`] from the raw events only, never a rollup.
pub fn series_many_from_events(
    conn: &Connection,
    catalog: &Catalog,
    keys: &[&str],
    period: &Period,
    grain: Grain,
    filters: &Filters,
) -> Result<BTreeMap<String, Series>, KpiError> {
    series_many_in(conn, catalog, keys, period, grain, filters, Source::Events)
}

fn series_many_in(
    conn: &Connection,
    catalog: &Catalog,
    keys: &[&str],
    period: &Period,
    grain: Grain,
    filters: &Filters,
    source: Source,
) -> Result<BTreeMap<String, Series>, KpiError> {
    let mut plain = Vec::new();
    let mut looking = Vec::new();
    for key in keys {
        if looks_across_time(catalog, key)? {
            looking.push(*key);
        } else {
            plain.push(*key);
        }
    }
    let buckets = buckets(period, grain);
    let mut out = BTreeMap::new();
    if !looking.is_empty() {
        // A query KPI looks beyond its own rows (windows, history): compute each bucket whole.
        if buckets.len() > MAX_QUERY_BUCKETS {
            return Err(KpiError::TooManyBuckets {
                key: looking[0].to_string(),
            });
        }
        // The set rows of every bucket (and of the history they look at) are read once.
        let routes = route(conn, &Plan::new(catalog, &looking)?, filters, source)?;
        // Buckets whose values the memo keeps need no rows (all but the last, after a load of
        // today's events).
        let unknown: Vec<Period> = buckets
            .iter()
            .filter(|b| source != Source::Rollups || !remembered(catalog, &looking, b, filters))
            .copied()
            .collect();
        let fetched = if routes.sets.is_empty() || unknown.is_empty() {
            None
        } else {
            let (predicate, params) = bind(period, filters);
            Some(sets::fetch_for(
                conn,
                &routes.sets,
                &unknown,
                &under(catalog, filters, &predicate, &params[2..]),
            )?)
        };
        let mut per_key: BTreeMap<&str, Series> = BTreeMap::new();
        for b in &buckets {
            let values = compute_with(
                conn,
                catalog,
                &looking,
                (b, filters),
                source,
                fetched.as_ref(),
            )?;
            for key in &looking {
                per_key
                    .entry(*key)
                    .or_default()
                    .push((*b, values.get(*key).copied().flatten()));
            }
        }
        out.extend(per_key.into_iter().map(|(k, v)| (k.to_string(), v)));
    }
    if plain.is_empty() {
        return Ok(out);
    }
    out.extend(plain_series_kept(
        conn,
        catalog,
        &plain,
        (period, grain),
        filters,
        source,
    )?);
    Ok(out)
}

/// [`plain_series`] through the catalog's memo: the buckets from the first one it does not
/// keep to the period's end are computed (after a load of today's events, the last one), the
/// others read back. A plain KPI's bucket reads only its own days, so the later buckets
/// computed alone are what the whole series gives.
fn plain_series_kept(
    conn: &Connection,
    catalog: &Catalog,
    plain: &[&str],
    (period, grain): (&Period, Grain),
    filters: &Filters,
    source: Source,
) -> Result<BTreeMap<String, Series>, KpiError> {
    let Some(memo) = catalog.memo().filter(|_| source == Source::Rollups) else {
        return plain_series(conn, catalog, plain, (period, grain), filters, source);
    };
    let all = buckets(period, grain);
    let version = memo.version();
    let mut known: Vec<Values> = Vec::with_capacity(all.len());
    for b in &all {
        let values = memo.recall(b, filters).values;
        if !plain.iter().all(|k| values.contains_key(*k)) {
            break;
        }
        known.push(values);
    }
    let mut out: BTreeMap<String, Series> = plain
        .iter()
        .map(|k| {
            let line = all
                .iter()
                .zip(&known)
                .map(|(b, values)| (*b, values.get(*k).copied().flatten()))
                .collect();
            (k.to_string(), line)
        })
        .collect();
    let Some(first) = all.get(known.len()) else {
        return Ok(out);
    };
    // The first unknown bucket starts inside the period, so this is never reversed.
    let Ok(rest) = Period::new(first.from(), period.to()) else {
        return plain_series(conn, catalog, plain, (period, grain), filters, source);
    };
    let computed = plain_series(conn, catalog, plain, (&rest, grain), filters, source)?;
    for (i, b) in all.iter().enumerate().skip(known.len()) {
        let mut values = memo.recall(b, filters).values;
        let before = values.len();
        for key in plain {
            let value = computed
                .get(*key)
                .and_then(|line| line.get(i - known.len()))
                .map(|(_, v)| *v)
                .unwrap_or(None);
            if let Some(line) = out.get_mut(*key) {
                line.push((*b, value));
            }
            if !catalog.reads_after_period(key) {
                values.insert(key.to_string(), value);
            }
        }
        if values.len() > before {
            memo.keep(version, b, filters, values);
        }
    }
    Ok(out)
}

/// The series of KPIs computed from aggregates alone (no query KPI), all buckets at once.
fn plain_series(
    conn: &Connection,
    catalog: &Catalog,
    plain: &[&str],
    (period, grain): (&Period, Grain),
    filters: &Filters,
    source: Source,
) -> Result<BTreeMap<String, Series>, KpiError> {
    let buckets = buckets(period, grain);
    let mut out = BTreeMap::new();
    let plan = Plan::new(catalog, plain)?;
    let (predicate, params) = bind(period, filters);
    let routes = route(conn, &plan, filters, source)?;
    // A bucket without rows gets the aggregates' values on no events.
    let empty_sql = format!("{} WHERE false", select_from(&plan.aggregates, None));
    let empty = conn.query_row(&empty_sql, [], |row| read_values(row, &plan.aggregates, 0))?;
    let mut by_bucket: BTreeMap<NaiveDate, Values> = BTreeMap::new();
    if !routes.raw.is_empty() {
        let bucket = bucket_sql("CAST(occurred_at AS DATE)", grain);
        let sql = select_aggregates(&routes.raw, Some(&bucket), &predicate);
        read_buckets(conn, &sql, &params, &routes.raw, &empty, &mut by_bucket)?;
    }
    if !routes.daily.is_empty() {
        let bucket = bucket_sql("day", grain);
        let sql = select_rollup(&routes.daily, Some(&bucket), &predicate);
        read_buckets(conn, &sql, &params, &routes.daily, &empty, &mut by_bucket)?;
    }
    if !routes.sets.is_empty() {
        let under = under(catalog, filters, &predicate, &params[2..]);
        let values = sets::compute_buckets(conn, &routes.sets, &buckets, &under)?;
        for (b, values) in buckets.iter().zip(values) {
            by_bucket
                .entry(bucket_start(b.from(), grain))
                .or_insert_with(|| empty.clone())
                .extend(values);
        }
    }
    let mut evaluated = BTreeMap::new();
    for (day, values) in &by_bucket {
        evaluated.insert(*day, evaluate(catalog, plain, values)?);
    }
    let empty = evaluate(catalog, plain, &empty)?;
    for key in plain {
        let line = buckets
            .iter()
            .map(|b| {
                let values = evaluated
                    .get(&bucket_start(b.from(), grain))
                    .unwrap_or(&empty);
                (*b, values.get(*key).copied().flatten())
            })
            .collect();
        out.insert(key.to_string(), line);
    }
    Ok(out)
}

/// The first day (as text) of the bucket of `grain` holding the local date `day`.
fn bucket_sql(day: &str, grain: Grain) -> String {
    match grain {
        Grain::Day => format!("CAST({day} AS VARCHAR)"),
        other => format!(
            "CAST(CAST(date_trunc('{}', {day}) AS DATE) AS VARCHAR)",
            other.name()
        ),
    }
}

/// Runs a grouped statement (bucket first, then `aggregates`) and sets each bucket's values in
/// `by_bucket`; a bucket seen for the first time starts from `empty`.
fn read_buckets(
    conn: &Connection,
    sql: &str,
    params: &[String],
    aggregates: &[&KpiDef],
    empty: &Values,
    by_bucket: &mut BTreeMap<NaiveDate, Values>,
) -> Result<(), KpiError> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map(duckdb::params_from_iter(params), |row| {
        let start: String = row.get(0)?;
        Ok((start, read_values(row, aggregates, 1)?))
    })?;
    for row in rows {
        let (start, values) = row?;
        let day = NaiveDate::parse_from_str(&start, "%Y-%m-%d")
            .map_err(|_| KpiError::BadBucket(start.clone()))?;
        by_bucket
            .entry(day)
            .or_insert_with(|| empty.clone())
            .extend(values);
    }
    Ok(())
}

/// What a set of KPIs needs computed from the database.
pub(super) struct Plan<'c> {
    pub(super) aggregates: Vec<&'c KpiDef>,
    pub(super) queries: Vec<&'c KpiDef>,
}

impl<'c> Plan<'c> {
    /// The aggregates and queries that `keys` need, directly or through ratios and
    /// differences, in catalog order.
    pub(super) fn new(catalog: &'c Catalog, keys: &[&str]) -> Result<Self, KpiError> {
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

/// The full statement for a period and filter predicate, grouped by `group` when given.
pub(super) fn select_aggregates(
    aggregates: &[&KpiDef],
    group: Option<&str>,
    predicate: &str,
) -> String {
    let mut sql = format!(
        "{} WHERE {PERIOD_FILTER} AND ({predicate})",
        select_from(aggregates, group)
    );
    if group.is_some() {
        sql.push_str(" GROUP BY 1 ORDER BY 1");
    }
    sql
}

/// [`select_aggregates`] over the daily rollup (aliased `events`, see [`rollup::DAILY_AS_EVENTS`])
/// with each KPI's `rollup` expression.
fn select_rollup(aggregates: &[&KpiDef], group: Option<&str>, predicate: &str) -> String {
    let mut columns: Vec<String> = group.map(str::to_string).into_iter().collect();
    for def in aggregates {
        if let Some(sql) = &def.rollup {
            columns.push(format!("CAST(({sql}) AS DOUBLE) AS \"{}\"", def.key));
        }
    }
    let mut sql = format!(
        "SELECT {} FROM {} WHERE {} AND ({predicate})",
        columns.join(", "),
        rollup::DAILY_AS_EVENTS,
        rollup::DAILY_PERIOD
    );
    if group.is_some() {
        sql.push_str(" GROUP BY 1 ORDER BY 1");
    }
    sql
}

/// The filter predicate (placeholders from `$3`) and every parameter to bind for `period`.
pub(super) fn bind(period: &Period, filters: &Filters) -> (String, Vec<String>) {
    let (predicate, values) = filters.predicate(3);
    (predicate, params(period, &values))
}

fn params(period: &Period, filter_values: &[String]) -> Vec<String> {
    let mut params = vec![
        period.from().to_string(),
        period.end_exclusive().to_string(),
    ];
    params.extend(filter_values.iter().cloned());
    params
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

/// Evaluates `keys` from the computed aggregates and queries.
pub(super) fn evaluate(
    catalog: &Catalog,
    keys: &[&str],
    base: &Values,
) -> Result<Values, KpiError> {
    keys.iter()
        .map(|key| Ok((key.to_string(), value_of(catalog, key, base)?)))
        .collect()
}

fn value_of(catalog: &Catalog, key: &str, base: &Values) -> Result<Option<f64>, KpiError> {
    let def = catalog
        .get(key)
        .ok_or_else(|| KpiError::UnknownKpi(key.to_string()))?;
    Ok(match &def.formula {
        Formula::Aggregate(_) | Formula::Query(_) => base.get(key).copied().flatten(),
        Formula::Difference {
            minuend,
            subtrahend,
        } => {
            let a = value_of(catalog, minuend, base)?;
            let b = value_of(catalog, subtrahend, base)?;
            a.zip(b).map(|(a, b)| a - b)
        }
        Formula::Ratio {
            numerator,
            denominator,
        } => {
            let n = value_of(catalog, numerator, base)?;
            let d = value_of(catalog, denominator, base)?;
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

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
    }

    #[test]
    fn one_statement_computes_every_needed_aggregate() {
        let catalog = Catalog::builtin();
        let aggregates = Plan::new(catalog, &["aov"])
            .expect("aov is known")
            .aggregates;
        let keys: Vec<&str> = aggregates.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(keys, ["gross_revenue", "orders"]);
        let sql = select_aggregates(&aggregates, None, "true");
        assert!(sql.starts_with("SELECT CAST(("), "{sql}");
        assert!(sql.contains("AS \"gross_revenue\""), "{sql}");
        assert!(
            sql.ends_with(&format!("{PERIOD_FILTER} AND (true)")),
            "{sql}"
        );
        assert!(!sql.contains("GROUP BY"), "{sql}");
    }

    #[test]
    fn unknown_kpis_are_named_in_the_error() {
        let err = Plan::new(Catalog::builtin(), &["revenue"]).err();
        assert!(matches!(err, Some(KpiError::UnknownKpi(k)) if k == "revenue"));
    }

    #[test]
    fn buckets_cover_the_period_exactly_and_are_clipped() {
        let p = Period::parse("2026-01-14", "2026-04-02").expect("period");
        let weeks = buckets(&p, Grain::Week);
        assert_eq!(weeks[0].from(), d("2026-01-14"));
        assert_eq!(
            weeks[0].to(),
            d("2026-01-18"),
            "the first week ends on Sunday"
        );
        assert_eq!(weeks[1].from(), d("2026-01-19"));
        let months = buckets(&p, Grain::Month);
        assert_eq!(months.len(), 4);
        assert_eq!(months[3].to(), d("2026-04-02"));
        let quarters = buckets(&p, Grain::Quarter);
        assert_eq!(quarters.len(), 2);
        assert_eq!(quarters[0].to(), d("2026-03-31"));
        for grain in Grain::ALL {
            let b = buckets(&p, grain);
            let days: i64 = b.iter().map(Period::days).sum();
            assert_eq!(days, p.days(), "{grain:?} buckets cover every day once");
            assert!(b.windows(2).all(|w| w[0].end_exclusive() == w[1].from()));
        }
    }

    #[test]
    fn ratios_and_scores_change_by_points_the_rest_relatively() {
        assert_eq!(change(Some(Unit::Score), Some(5.0), Some(-5.0)), Some(10.0));
        assert_eq!(change(Some(Unit::Ratio), Some(0.25), Some(0.0)), Some(0.25));
        assert_eq!(
            change(Some(Unit::Money), Some(150.0), Some(100.0)),
            Some(0.5)
        );
        assert_eq!(change(Some(Unit::Count), Some(3.0), Some(0.0)), None);
        assert_eq!(change(Some(Unit::Money), None, Some(1.0)), None);
    }

    #[test]
    fn quarter_starts_are_january_april_july_october() {
        assert_eq!(
            bucket_start(d("2026-08-15"), Grain::Quarter),
            d("2026-07-01")
        );
        assert_eq!(
            bucket_start(d("2026-12-31"), Grain::Quarter),
            d("2026-10-01")
        );
        assert_eq!(bucket_start(d("2026-11-23"), Grain::Week), d("2026-11-23"));
    }
}
