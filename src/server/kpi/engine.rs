//! KPIs computed by an engine other than the embedded DuckDB connection (Apache Spark through
//! its Connect server, `src/server/spark.rs`): the same plan as [`super::query::compute`] (the
//! aggregates in one scan, one statement per query KPI), its statements rendered for the
//! engine's [`Dialect`], and ratios and differences evaluated in Rust by the same code.

use std::collections::BTreeMap;

use super::catalog::{Catalog, Formula};
use super::dialect::{Dialect, spark_placeholders};
use super::filter::{Dimension, Filters};
use super::period::Period;
use super::query::{
    Compared, KpiError, Plan, Values, bind, evaluate, pair, select_aggregates, with_ctes,
    wrap_query,
};

/// An engine that runs one statement of its dialect and gives its first row as numbers.
pub trait Engine {
    fn dialect(&self) -> Dialect;
    /// The first row of `sql` with `params` bound to its placeholders (`$1`.. in DuckDB,
    /// `:p1`.. in Spark), each column as a number (`None` for null); empty without rows.
    fn first_row(&mut self, sql: &str, params: &[String]) -> Result<Vec<Option<f64>>, KpiError>;
}

/// The predicate that keeps a period's events, in Spark SQL (session time zone = the
/// instance's: a date cast to TIMESTAMP is its local midnight).
const SPARK_PERIOD_FILTER: &str = "occurred_at >= CAST(CAST(:p1 AS DATE) AS TIMESTAMP) \
                                   AND occurred_at < CAST(CAST(:p2 AS DATE) AS TIMESTAMP)";

/// [`wrap_query`] in Spark SQL: the same CTEs (`bounds`, `ev`, `pe`, `pe_any_channel`).
pub fn wrap_query_spark(query: &str, predicate: &str, any_channel: &str) -> String {
    let (predicate, any_channel) = (
        spark_placeholders(predicate),
        spark_placeholders(any_channel),
    );
    with_ctes(
        "SELECT CAST(CAST(:p1 AS DATE) AS TIMESTAMP) AS t0,
                    CAST(CAST(:p2 AS DATE) AS TIMESTAMP) AS t1,
                    CAST(:p1 AS DATE) AS d0,
                    CAST(:p2 AS DATE) AS d1,
                    CAST(date_sub(CAST(:p1 AS DATE),
                                  datediff(CAST(:p2 AS DATE), CAST(:p1 AS DATE))) AS TIMESTAMP)
                         AS p0,",
        query,
        &predicate,
        &any_channel,
    )
}

/// The aggregates' statement in Spark SQL: one scan of the period's events.
fn select_aggregates_spark(plan: &Plan<'_>, predicate: &str) -> String {
    let columns: Vec<String> = plan
        .aggregates
        .iter()
        .filter_map(|def| match &def.formula {
            // Keys are snake_case (checked by the catalog): no quoting needed inside backticks.
            Formula::Aggregate(sql) => Some(format!("CAST(({sql}) AS DOUBLE) AS `{}`", def.key)),
            _ => None,
        })
        .collect();
    format!(
        "SELECT {} FROM events WHERE {SPARK_PERIOD_FILTER} AND ({})",
        columns.join(", "),
        spark_placeholders(predicate)
    )
}

/// Computes `keys` over `period` on the events `filters` keep, on `engine`. `catalog` must be
/// rendered for the engine's dialect ([`Catalog::builtin_in`]).
pub fn compute_on(
    engine: &mut dyn Engine,
    catalog: &Catalog,
    keys: &[&str],
    period: &Period,
    filters: &Filters,
) -> Result<Values, KpiError> {
    let plan = Plan::new(catalog, keys)?;
    let (predicate, params) = bind(period, filters);
    let any_channel = filters.predicate_without(3, Dimension::Channel);
    let dialect = engine.dialect();
    let mut base = Values::new();
    if !plan.aggregates.is_empty() {
        let sql = match dialect {
            Dialect::DuckDb => select_aggregates(&plan.aggregates, None, &predicate),
            Dialect::Spark => select_aggregates_spark(&plan, &predicate),
        };
        let row = engine.first_row(&sql, &params)?;
        for (i, def) in plan.aggregates.iter().enumerate() {
            base.insert(def.key.clone(), row.get(i).copied().flatten());
        }
    }
    for def in &plan.queries {
        if let Formula::Query(query) = &def.formula {
            let sql = match dialect {
                Dialect::DuckDb => wrap_query(query, &predicate, &any_channel),
                Dialect::Spark => wrap_query_spark(query, &predicate, &any_channel),
            };
            let row = engine.first_row(&sql, &params)?;
            // `value`, or `numerator / denominator` with null on a zero denominator.
            let value = match row.as_slice() {
                [value] => *value,
                [Some(n), Some(d)] if *d != 0.0 => Some(n / d),
                _ => None,
            };
            base.insert(def.key.clone(), value);
        }
    }
    evaluate(catalog, keys, &base)
}

/// [`compute_on`] over `period` and `comparison`, with each KPI's change (as
/// [`super::query::compute_compared`]).
pub fn compute_compared_on(
    engine: &mut dyn Engine,
    catalog: &Catalog,
    keys: &[&str],
    period: &Period,
    comparison: &Period,
    filters: &Filters,
) -> Result<BTreeMap<String, Compared>, KpiError> {
    let current = compute_on(engine, catalog, keys, period, filters)?;
    let previous = compute_on(engine, catalog, keys, comparison, filters)?;
    Ok(pair(catalog, current, &previous))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spark_statements_use_named_placeholders_and_no_duckdb_types() {
        let catalog = Catalog::builtin_in(Dialect::Spark);
        let plan = Plan::new(catalog, &["aov", "clv", "on_time_delivery_rate"]).expect("known");
        let filters = Filters::parse([("channel", "web,store")]).expect("filters");
        let (predicate, params) = bind(
            &Period::parse("2026-01-01", "2026-01-31").expect("p"),
            &filters,
        );
        assert_eq!(params.len(), 4);
        let sql = select_aggregates_spark(&plan, &predicate);
        assert!(sql.contains("channel IN (:p3, :p4)"), "{sql}");
        assert!(sql.contains("AS `gross_revenue`"), "{sql}");
        for def in &plan.queries {
            let Formula::Query(q) = &def.formula else {
                continue;
            };
            let sql = wrap_query_spark(q, &predicate, "true");
            for duckdb_only in ["TIMESTAMPTZ", "json_extract_string", "$1", "{{"] {
                assert!(!sql.contains(duckdb_only), "{}: {duckdb_only}", def.key);
            }
        }
    }
}
