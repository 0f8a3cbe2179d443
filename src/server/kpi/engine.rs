//! KPIs computed by an engine other than the embedded DuckDB connection (Apache Spark through
//! its Connect server, `src/server/spark.rs`): the same plan as [`super::query::compute`] (the
//! aggregates in one scan, one query per query KPI), its statements rendered for the engine's
//! [`Dialect`], and ratios and differences evaluated in Rust by the same code.
//!
//! On Spark every period's aggregates and query KPIs go in ONE statement (a comparison's two
//! periods included): each statement costs a Connect round trip, an analysis and a job
//! schedule, while the scans themselves are small; one statement also lets Spark run the
//! subqueries side by side on its executors. Each KPI is a scalar subquery returning a struct
//! (its one row), so a query KPI keeps its own columns (`value`, or `numerator, denominator`).

use std::collections::BTreeMap;

use super::catalog::{Catalog, Formula};
use super::dialect::{Dialect, spark_placeholders};
use super::filter::{Dimension, Filters};
use super::period::Period;
use super::query::{
    Compared, KpiError, Plan, Values, bind, evaluate, pair, query_ctes, select_aggregates,
    with_ctes, wrap_query,
};

/// The Spark Connect server settings that keep it from ending a long statement's response
/// stream early (after 2 minutes or 1 GB by default, expecting the client to reattach, which
/// the Rust client does not do on a cleanly ended stream): scripts/spark.sh sets them.
pub const UNCUT: &str = "spark.connect.execute.reattachable.senderMaxStreamDuration=0 and \
                         spark.connect.execute.reattachable.senderMaxStreamSize=0";

/// The first row of a statement: each column as a group of numbers (a struct column gives its
/// fields, `None` for null, all `None` when the struct is null; any other column one number).
pub type Groups = Vec<Vec<Option<f64>>>;

/// An engine that runs one statement of its dialect and gives its first row as numbers.
pub trait Engine {
    fn dialect(&self) -> Dialect;
    /// The first row of `sql` with `params` bound to its placeholders (`$1`.. in DuckDB,
    /// `:p1`.. in Spark) as [`Groups`]; empty without rows.
    fn first_row(&mut self, sql: &str, params: &[String]) -> Result<Groups, KpiError>;
}

/// The SELECT of a period's bounds in Spark SQL, from the placeholders of its first day and
/// its end (session time zone = the instance's: a date cast to TIMESTAMP is its local
/// midnight), ending in a comma as [`with_ctes`] wants.
fn spark_bounds(from: &str, to: &str) -> String {
    format!(
        "SELECT CAST(CAST({from} AS DATE) AS TIMESTAMP) AS t0,
                    CAST(CAST({to} AS DATE) AS TIMESTAMP) AS t1,
                    CAST({from} AS DATE) AS d0,
                    CAST({to} AS DATE) AS d1,
                    CAST(date_sub(CAST({from} AS DATE),
                                  datediff(CAST({to} AS DATE), CAST({from} AS DATE))) AS TIMESTAMP)
                         AS p0,"
    )
}

/// The predicate that keeps a period's events in Spark SQL.
fn spark_period_filter(from: &str, to: &str) -> String {
    format!(
        "occurred_at >= CAST(CAST({from} AS DATE) AS TIMESTAMP) \
         AND occurred_at < CAST(CAST({to} AS DATE) AS TIMESTAMP)"
    )
}

/// [`wrap_query`] in Spark SQL: the same CTEs (`bounds`, `ev`, `pe`, `pe_any_channel`).
pub fn wrap_query_spark(query: &str, predicate: &str, any_channel: &str) -> String {
    with_ctes(
        &spark_bounds(":p1", ":p2"),
        query,
        &spark_placeholders(predicate),
        &spark_placeholders(any_channel),
    )
}

/// The aggregates' SELECT in Spark SQL over the period `[from, to)`: one scan of its events,
/// one struct of every aggregate (as DOUBLE) named by its key.
fn spark_aggregates_struct(plan: &Plan<'_>, predicate: &str, from: &str, to: &str) -> String {
    let fields: Vec<String> = plan
        .aggregates
        .iter()
        .filter_map(|def| match &def.formula {
            // Keys are snake_case (checked by the catalog): no quoting needed.
            Formula::Aggregate(sql) => Some(format!("'{}', CAST(({sql}) AS DOUBLE)", def.key)),
            _ => None,
        })
        .collect();
    format!(
        "SELECT named_struct({}) FROM events WHERE {} AND ({})",
        fields.join(", "),
        spark_period_filter(from, to),
        spark_placeholders(predicate)
    )
}

/// One period's whole plan as one Spark SELECT of one row: column `{tag}_a` the aggregates'
/// struct (when the plan has aggregates), then `{tag}_q0`.. each query KPI's first row as a
/// struct (null without rows), in the plan's order. `from` and `to` are the placeholders of
/// the period's bounds; the filter's are `:p3`.. as [`bind`] numbers them.
fn spark_period_select(
    plan: &Plan<'_>,
    predicate: &str,
    any_channel: &str,
    (from, to): (&str, &str),
    tag: &str,
) -> String {
    let mut ctes = query_ctes(
        &spark_bounds(from, to),
        &spark_placeholders(predicate),
        &spark_placeholders(any_channel),
    );
    let mut columns = Vec::new();
    if !plan.aggregates.is_empty() {
        columns.push(format!(
            "({}) AS {tag}_a",
            spark_aggregates_struct(plan, predicate, from, to)
        ));
    }
    for (i, def) in plan.queries.iter().enumerate() {
        if let Formula::Query(query) = &def.formula {
            ctes.push_str(&format!(",\n         {tag}_q{i} AS ({query})"));
            columns.push(format!(
                "(SELECT struct(*) FROM {tag}_q{i} LIMIT 1) AS {tag}_q{i}"
            ));
        }
    }
    format!(
        "{ctes}\n         SELECT {}",
        columns.join(",\n                ")
    )
}

/// The statement that computes `plan` over each of `periods` on Spark, and its parameters:
/// the first period's bounds are `:p1`, `:p2`, the filter's values `:p3`.., the other
/// periods' bounds follow them.
fn spark_statement(
    plan: &Plan<'_>,
    periods: &[&Period],
    filters: &Filters,
) -> (String, Vec<String>) {
    let (predicate, mut params) = match periods.first() {
        Some(first) => bind(first, filters),
        None => (String::new(), Vec::new()),
    };
    let any_channel = filters.predicate_without(3, Dimension::Channel);
    let mut selects = Vec::new();
    for (n, period) in periods.iter().enumerate() {
        let bounds = if n == 0 {
            (":p1".to_string(), ":p2".to_string())
        } else {
            params.push(period.from().to_string());
            params.push(period.end_exclusive().to_string());
            (
                format!(":p{}", params.len() - 1),
                format!(":p{}", params.len()),
            )
        };
        selects.push(format!(
            "({}) AS period{n}",
            spark_period_select(
                plan,
                &predicate,
                &any_channel,
                (&bounds.0, &bounds.1),
                &format!("period{n}")
            )
        ));
    }
    (
        format!("SELECT * FROM {}", selects.join("\nCROSS JOIN ")),
        params,
    )
}
/// The base values (aggregates and query KPIs) of `plan` from one period's groups of
/// [`spark_period_select`].
fn read_groups(plan: &Plan<'_>, groups: &[Vec<Option<f64>>]) -> Result<Values, KpiError> {
    let mut base = Values::new();
    let mut groups = groups.iter();
    if !plan.aggregates.is_empty() {
        let row = groups
            .next()
            .ok_or_else(|| KpiError::Engine("the aggregates' column is missing".into()))?;
        for (i, def) in plan.aggregates.iter().enumerate() {
            base.insert(def.key.clone(), row.get(i).copied().flatten());
        }
    }
    for def in &plan.queries {
        let row = groups
            .next()
            .ok_or_else(|| KpiError::Engine(format!("the column of {} is missing", def.key)))?;
        base.insert(def.key.clone(), query_value(row));
    }
    Ok(base)
}

/// A query KPI's value from its row: `value`, or `numerator / denominator` with null on a
/// zero denominator.
fn query_value(row: &[Option<f64>]) -> Option<f64> {
    match row {
        [value] => *value,
        [Some(n), Some(d)] if *d != 0.0 => Some(n / d),
        _ => None,
    }
}

/// The base values of `plan` over each of `periods` (filtered by `filters`), on `engine`.
fn base_values(
    engine: &mut dyn Engine,
    plan: &Plan<'_>,
    periods: &[&Period],
    filters: &Filters,
) -> Result<Vec<Values>, KpiError> {
    let width = usize::from(!plan.aggregates.is_empty()) + plan.queries.len();
    if width == 0 {
        // Nothing to compute (and a SELECT of no columns would not parse).
        return Ok(periods.iter().map(|_| Values::new()).collect());
    }
    if engine.dialect() == Dialect::Spark {
        let (sql, params) = spark_statement(plan, periods, filters);
        let row = engine.first_row(&sql, &params)?;
        if row.is_empty() {
            // The statement always returns one row: none means the response stream was cut.
            return Err(KpiError::Engine(format!(
                "Spark returned no row: its Connect server ended the response stream early; set \
                 {UNCUT} on the server"
            )));
        }
        if row.len() != width * periods.len() {
            return Err(KpiError::Engine(format!(
                "Spark returned {} columns for {} period(s) of {width}",
                row.len(),
                periods.len()
            )));
        }
        return row
            .chunks(width.max(1))
            .map(|g| read_groups(plan, g))
            .collect();
    }
    // One statement per aggregate scan and per query KPI.
    let any_channel = filters.predicate_without(3, Dimension::Channel);
    let mut out = Vec::new();
    for period in periods {
        let (predicate, params) = bind(period, filters);
        let mut base = Values::new();
        if !plan.aggregates.is_empty() {
            let sql = select_aggregates(&plan.aggregates, None, &predicate);
            let row: Vec<Option<f64>> = engine
                .first_row(&sql, &params)?
                .into_iter()
                .flatten()
                .collect();
            for (i, def) in plan.aggregates.iter().enumerate() {
                base.insert(def.key.clone(), row.get(i).copied().flatten());
            }
        }
        for def in &plan.queries {
            if let Formula::Query(query) = &def.formula {
                let sql = wrap_query(query, &predicate, &any_channel);
                let row: Vec<Option<f64>> = engine
                    .first_row(&sql, &params)?
                    .into_iter()
                    .flatten()
                    .collect();
                base.insert(def.key.clone(), query_value(&row));
            }
        }
        out.push(base);
    }
    Ok(out)
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
    let base = base_values(engine, &plan, &[period], filters)?;
    evaluate(catalog, keys, base.first().unwrap_or(&Values::new()))
}

/// [`compute_on`] over `period` and `comparison`, with each KPI's change (as
/// [`super::query::compute_compared`]); on Spark, both periods in one statement.
pub fn compute_compared_on(
    engine: &mut dyn Engine,
    catalog: &Catalog,
    keys: &[&str],
    period: &Period,
    comparison: &Period,
    filters: &Filters,
) -> Result<BTreeMap<String, Compared>, KpiError> {
    let plan = Plan::new(catalog, keys)?;
    let base = base_values(engine, &plan, &[period, comparison], filters)?;
    let empty = Values::new();
    let current = evaluate(catalog, keys, base.first().unwrap_or(&empty))?;
    let previous = evaluate(catalog, keys, base.get(1).unwrap_or(&empty))?;
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
        let period = Period::parse("2026-01-01", "2026-01-31").expect("p");
        let (predicate, params) = bind(&period, &filters);
        assert_eq!(params.len(), 4);
        for def in &plan.queries {
            let Formula::Query(q) = &def.formula else {
                continue;
            };
            let sql = wrap_query_spark(q, &predicate, "true");
            for duckdb_only in ["TIMESTAMPTZ", "json_extract_string", "$1", "{{"] {
                assert!(!sql.contains(duckdb_only), "{}: {duckdb_only}", def.key);
            }
        }

        // A comparison is one statement: the second period's bounds follow the filter's values.
        let previous = period.previous();
        let (sql, params) = spark_statement(&plan, &[&period, &previous], &filters);
        assert_eq!(
            params,
            [
                "2026-01-01",
                "2026-02-01",
                "web",
                "store",
                &previous.from().to_string(),
                &previous.end_exclusive().to_string()
            ]
        );
        assert!(sql.contains("channel IN (:p3, :p4)"), "{sql}");
        assert!(sql.contains("'gross_revenue', CAST(("), "{sql}");
        assert!(
            sql.contains("CAST(CAST(:p5 AS DATE) AS TIMESTAMP) AS t0"),
            "{sql}"
        );
        assert!(sql.contains("CAST(:p6 AS DATE) AS d1"), "{sql}");
        // The aggregates and each query KPI, once per period.
        let columns = 1 + plan.queries.len();
        for tag in ["period0", "period1"] {
            assert_eq!(
                sql.matches(&format!(" AS {tag}_")).count(),
                columns,
                "{sql}"
            );
        }
        // On-time delivery's aggregate reads its attributes the Spark way.
        assert!(sql.contains("get_json_object(attributes"), "{sql}");
        for duckdb_only in ["TIMESTAMPTZ", "json_extract_string", "$1", "{{"] {
            assert!(!sql.contains(duckdb_only), "{duckdb_only}");
        }
    }

    /// An engine that must not be asked anything.
    struct Unasked;

    impl Engine for Unasked {
        fn dialect(&self) -> Dialect {
            Dialect::Spark
        }
        fn first_row(&mut self, sql: &str, _: &[String]) -> Result<Groups, KpiError> {
            Err(KpiError::Engine(format!("asked {sql}")))
        }
    }

    #[test]
    fn no_kpi_sends_no_statement() {
        let catalog = Catalog::builtin_in(Dialect::Spark);
        let period = Period::parse("2026-01-01", "2026-01-31").expect("p");
        let compared = compute_compared_on(
            &mut Unasked,
            catalog,
            &[],
            &period,
            &period.previous(),
            &Filters::none(),
        )
        .expect("nothing to compute");
        assert!(compared.is_empty());
    }

    #[test]
    fn a_query_kpi_is_its_value_or_its_ratio() {
        assert_eq!(query_value(&[Some(2.0)]), Some(2.0));
        assert_eq!(query_value(&[Some(3.0), Some(4.0)]), Some(0.75));
        assert_eq!(query_value(&[Some(3.0), Some(0.0)]), None);
        assert_eq!(query_value(&[None, None]), None);
    }
}
