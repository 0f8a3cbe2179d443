//! Journeys and pain points (issue #8): the engine the journey view, the pain point ranking and
//! the customer 360 read.
//!
//! - [`build`]: cuts each stitched customer's touchpoints into journeys (tables `journeys` and
//!   `journey_steps`), updated for the customers a load touched, rebuilt whole by an identity
//!   rebuild;
//! - [`funnel`], [`paths`], [`handoff`]: the views over the journeys of a period;
//! - [`rollup`]: the journeys per local day and path (summary, top paths, flow), kept by
//!   [`build`];
//! - [`pain`]: the pain point rules of `pain_rules.toml`, with their lost revenue;
//! - [`customer`]: the customer 360 data and the right to be forgotten;
//! - [`service`]: what the journey pages' server functions and the API handlers call: the
//!   view resolved, the engine run, charts rendered and identifiers masked;
//! - [`compare`], [`notes`], [`flow_chart`], [`forms`]: before/after, pain point notes, the
//!   flow chart, the form posts.
//!
//! Every query takes a [`Period`] (journeys that *start* in it) and the KPI [`Filters`] (a
//! journey is kept when one of its steps matches), and returns the serialisable types of
//! [`crate::journey`].

pub mod build;
pub mod compare;
pub mod customer;
pub mod flow_chart;
pub mod forms;
pub mod funnel;
pub mod handoff;
pub mod notes;
pub mod pain;
pub mod paths;
pub mod rollup;
pub mod service;

pub use build::{rebuild, rebuild_in, update_in, update_touched_in};

use super::kpi::{Filters, Period};

#[derive(Debug, thiserror::Error)]
pub enum JourneyError {
    #[error("database error: {0}")]
    Sql(#[from] duckdb::Error),
    #[error(transparent)]
    Db(#[from] super::db::DbError),
    #[error("a funnel needs 2 to 10 steps, each with at least one event type")]
    FunnelSteps,
    #[error("unknown event type {0:?} in a funnel step")]
    UnknownEventType(String),
    #[error("unknown channel {0:?} in a funnel step")]
    UnknownChannel(String),
    #[error("no customer has the identifier {0:?}")]
    NoCustomer(String),
    #[error("no journey {0}")]
    NoJourney(i64),
    #[error("pain point rules: {0}")]
    Rules(String),
}

/// The journeys of a period and filters: a condition on alias `j` (journeys) with
/// placeholders from `$first`, and the values to bind.
pub(crate) fn scope(period: &Period, filters: &Filters, first: usize) -> (String, Vec<String>) {
    let mut params = vec![
        period.from().to_string(),
        period.end_exclusive().to_string(),
    ];
    let mut sql = format!(
        "j.started_at >= CAST(CAST(${} AS DATE) AS TIMESTAMPTZ) \
         AND j.started_at < CAST(CAST(${} AS DATE) AS TIMESTAMPTZ)",
        first,
        first + 1
    );
    if !filters.is_empty() {
        // The filter predicate is written over `events` columns; journey_steps has the same
        // names, and the alias lets its subqueries (region, segment) resolve.
        let (predicate, values) = filters.predicate(first + 2);
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM journey_steps events \
             WHERE events.journey_id = j.journey_id AND {predicate})"
        ));
        params.extend(values);
    }
    (sql, params)
}

/// `template` (SQL kept in a `.sql` file) with each `{name}` slot replaced by its value from
/// `slots`, in one pass: a value is never scanned for slots itself, and a brace that names no
/// slot stays as written. Slots carry SQL fragments built from closed choices and the
/// validated rules; values from requests are bound as parameters, never put in a slot.
pub(crate) fn render(template: &str, slots: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() * 2);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let slot = after
            .find('}')
            .map(|close| (&after[..close], close))
            .and_then(|(name, close)| {
                slots
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (*v, close))
            });
        match slot {
            Some((value, close)) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `part / whole`, `None` when `whole` is 0.
pub(crate) fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// The median of `values` (sorted in place); `None` when empty.
pub(crate) fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }

    #[test]
    fn render_fills_each_slot_once_and_keeps_other_braces() {
        let sql = render(
            "SELECT {a} FROM t WHERE {b} AND x = '{not_a_slot}'",
            &[("a", "{b}"), ("b", "y > $1")],
        );
        assert_eq!(sql, "SELECT {b} FROM t WHERE y > $1 AND x = '{not_a_slot}'");
    }

    #[test]
    fn scope_binds_the_period_and_filter_values() {
        let period = Period::parse("2026-03-01", "2026-03-31").expect("period");
        let filters = Filters::parse([("channel", "web")]).expect("filters");
        let (sql, params) = scope(&period, &filters, 1);
        assert!(sql.contains("$1") && sql.contains("$2") && sql.contains("channel IN ($3)"));
        assert_eq!(params, ["2026-03-01", "2026-04-01", "web"]);
    }
}
