//! Rule 5 (significance): a touchpoint, campaign or hand-off whose journeys convert
//! significantly less than the others of its kind, by a one-sided two-proportion z-test
//! ([`z_score`]); one statement (`significance.sql`) gathers the ended journeys of each value.

use std::collections::BTreeMap;

use duckdb::Connection;

use super::rules::{Rule, RuleKind};
use super::{Detail, EXAMPLES, revenue_lost};
use crate::i18n::Locale;
use crate::journey::{PainExample, PainParams, PainPoint, PainTrendPoint};
use crate::server::journey::{JourneyError, ratio};
use crate::server::kpi::Period;

/// The statement of [`significance`], with its `{cond}` and `{values}` slots filled.
const SIGNIFICANCE_SQL: &str = include_str!("significance.sql");

/// The values each journey went through (a query over `s`: the steps with `prev_channel`),
/// for the statement and for the journey rollup (`journey_rollup_values`).
pub(crate) const VALUES_SQL: &str = include_str!("values.sql");

/// The one-sided two-proportion z score of `x1/n1` against `x2/n2` (`None` when undefined).
pub fn z_score(x1: u64, n1: u64, x2: u64, n2: u64) -> Option<f64> {
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let (p1, p2) = (x1 as f64 / n1 as f64, x2 as f64 / n2 as f64);
    let p = (x1 + x2) as f64 / (n1 + n2) as f64;
    let se = (p * (1.0 - p) * (1.0 / n1 as f64 + 1.0 / n2 as f64)).sqrt();
    (se > 0.0).then(|| (p1 - p2) / se)
}

/// One ended journey through a value (the raw statement's rows).
struct Row {
    journey_id: i64,
    customer_id: i64,
    converted: bool,
    month: String,
    started: String,
}

/// Ended journeys and conversions: `(n, x)`.
type Counts = (u64, u64);

/// Per (kind, group, value) the ended journeys through it, with their rows when read raw; and
/// per (kind, group) the ended journeys of the kind (a journey counts once per kind).
type Gathered = (
    BTreeMap<(String, String, String), (Counts, Vec<Row>)>,
    BTreeMap<(String, String), Counts>,
);

/// Rule 5 over the journeys meeting `cond`; from the journey rollup (numbers only) when
/// `rolled_up` gives the period it serves.
#[allow(clippy::too_many_arguments)]
pub fn significance(
    conn: &Connection,
    rule: &Rule,
    cond: &str,
    params: Vec<String>,
    aov: Option<f64>,
    locale: Locale,
    detail: Detail,
    rolled_up: Option<&Period>,
) -> Result<Vec<PainPoint>, JourneyError> {
    let RuleKind::Significance { z_threshold } = rule.kind else {
        return Ok(Vec::new());
    };
    let (values, kinds) = match rolled_up {
        Some(period) if detail == Detail::List => from_rollup(conn, period)?,
        _ => from_journeys(conn, cond, params)?,
    };
    let mut found = Vec::new();
    for ((kind, grp, value), ((n1, x1), list)) in &values {
        let (n_all, x_all) = kinds
            .get(&(kind.clone(), grp.clone()))
            .copied()
            .unwrap_or_default();
        let (n1, x1) = (*n1, *x1);
        let (n2, x2) = (n_all.saturating_sub(n1), x_all.saturating_sub(x1));
        if n1 < rule.min_volume || n2 < rule.min_volume {
            continue;
        }
        let Some(z) = z_score(x1, n1, x2, n2) else {
            continue;
        };
        if z > -z_threshold {
            continue;
        }
        let (p1, p2) = (ratio(x1, n1), ratio(x2, n2));
        let gap = match (p2, p1) {
            (Some(b), Some(a)) => Some(b - a),
            _ => None,
        };
        let (lost, formula) = revenue_lost(n1, gap, aov);
        let mut trend: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for r in list.iter().filter(|_| detail == Detail::Full) {
            let t = trend.entry(r.month.clone()).or_default();
            t.0 += 1;
            t.1 += u64::from(!r.converted);
        }
        found.push(PainPoint {
            key: format!("{}:{kind}:{value}", rule.key),
            rule: rule.key.clone(),
            number: rule.number,
            name: rule.name.get(locale).to_string(),
            description: rule.description.get(locale).to_string(),
            subject: Some(format!("{kind} {value}")),
            params: PainParams {
                failure_days: 0,
                outcome_days: 0,
                min_volume: rule.min_volume,
                z_threshold: Some(z_threshold),
            },
            affected_journeys: n1,
            exposed_journeys: n1,
            reference_journeys: n2,
            conversion_affected: p1,
            conversion_reference: p2,
            conversion_gap: gap,
            average_order_value: aov,
            revenue_lost: lost,
            formula,
            enough_volume: true,
            z_score: Some(z),
            trend: trend
                .into_iter()
                .map(|(month, (exposed, affected))| PainTrendPoint {
                    month,
                    exposed,
                    affected,
                })
                .collect(),
            breakdown: Vec::new(),
            examples: list
                .iter()
                .filter(|r| detail == Detail::Full && !r.converted)
                .take(EXAMPLES)
                .map(|r| PainExample {
                    journey_id: r.journey_id,
                    customer_id: r.customer_id,
                    at: r.started.clone(),
                })
                .collect(),
        });
    }
    Ok(found)
}

/// [`Gathered`] from the journeys (one statement, `significance.sql`), with every row.
fn from_journeys(
    conn: &Connection,
    cond: &str,
    params: Vec<String>,
) -> Result<Gathered, JourneyError> {
    let sql = super::super::render(SIGNIFICANCE_SQL, &[("cond", cond), ("values", VALUES_SQL)]);
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(duckdb::params_from_iter(params))?;
    let mut values: BTreeMap<(String, String, String), (Counts, Vec<Row>)> = BTreeMap::new();
    while let Some(r) = rows.next()? {
        let row = Row {
            journey_id: r.get(3)?,
            customer_id: r.get(4)?,
            converted: r.get(5)?,
            month: r.get(6)?,
            started: r.get(7)?,
        };
        let entry = values.entry((r.get(0)?, r.get(1)?, r.get(2)?)).or_default();
        entry.0.0 += 1;
        entry.0.1 += u64::from(row.converted);
        entry.1.push(row);
    }
    // Journeys (and conversions) of each kind: a journey counts once per kind.
    let mut sets: BTreeMap<(String, String), BTreeMap<i64, bool>> = BTreeMap::new();
    for ((kind, grp, _), (_, list)) in &values {
        let set = sets.entry((kind.clone(), grp.clone())).or_default();
        for r in list {
            set.insert(r.journey_id, r.converted);
        }
    }
    let kinds = sets
        .into_iter()
        .map(|(k, set)| {
            let x = set.values().filter(|c| **c).count() as u64;
            (k, (set.len() as u64, x))
        })
        .collect();
    Ok((values, kinds))
}

/// [`Gathered`] from the journey rollup (`journey_rollup_values`), without rows.
fn from_rollup(conn: &Connection, period: &Period) -> Result<Gathered, JourneyError> {
    let mut values: BTreeMap<(String, String, String), (Counts, Vec<Row>)> = BTreeMap::new();
    let mut kinds: BTreeMap<(String, String), Counts> = BTreeMap::new();
    for (kind, grp, value, n, x) in super::super::rollup::values(conn, period)? {
        let counts = (n as u64, x as u64);
        match value {
            Some(value) => {
                values.insert((kind, grp, value), (counts, Vec::new()));
            }
            None => {
                kinds.insert((kind, grp), counts);
            }
        }
    }
    Ok((values, kinds))
}
