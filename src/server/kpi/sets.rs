//! Set KPIs answered from the distinct sets per day (`rollup_sets`, docs/rollups.md): distinct
//! counts are unions of day bitmaps, and churn, new customers, the omnichannel share and CLV
//! are set algebra over them (CLV adds the identified purchase revenue of `rollup_daily`; the
//! repeat rate and the multichannel comparisons add the purchase facts, see `facts.rs`),
//! computed in Rust with the exact semantics of their SQL in `catalog.toml`
//! (tests/rollup_properties.rs holds the two equal).
//!
//! The catalog says which KPIs have a set path (`sets = ...`, parsed here into [`SetExpr`]);
//! `query.rs` decides when it may be used (the same conditions as `rollup_daily`). Filters are
//! the SQL predicates written for `events`, applied to the table aliased `events`.

use std::collections::BTreeMap;

use chrono::{Days, Months, NaiveDate};
use duckdb::Connection;
use roaring::RoaringBitmap;
use serde::Deserialize;

use super::catalog::KpiDef;
use super::facts::{self, BuyerRule, Facts};
use super::period::Period;
use super::query::{KpiError, Values};
use crate::server::rollup;

/// What a set is made of.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SetOf {
    /// Customer ids (anonymous events have none).
    Customers,
    /// Order keys `coalesce(order_id, source || ':' || event_id)` of purchases and returns.
    Orders,
}

/// A set computation implemented here, named by the catalog next to the query it replaces.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SetRule {
    /// Buyers of the previous period (same length) not buying in this one, over the former.
    Churn,
    /// Buyers of the period who bought nothing on any earlier day (of the filtered events).
    NewCustomers,
    /// Buyers with interactions on two or more channels, over buyers.
    Omnichannel,
    /// Revenue per buyer of the 12 months ending on the period's end, times the margin, times
    /// the expected lifetime (buyers of the 12 months before over those of them lost, at most
    /// 10).
    Clv,
    /// Orders and revenue per buyer from the purchase facts (`rollup_facts`).
    #[serde(untagged)]
    Buyers(BuyerRule),
}

/// How a KPI is computed from the sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetExpr {
    /// The number of distinct `of` in the period's rows that `rows` (a predicate over the
    /// columns of `rollup_sets`) keeps: a `sql` aggregate's `count(DISTINCT ...) FILTER (...)`.
    Distinct { of: SetOf, rows: String },
    /// A query KPI's set computation.
    Rule(SetRule),
}

/// The `sets` entry of a catalog KPI as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSets {
    distinct: Option<SetOf>,
    rows: Option<String>,
    rule: Option<SetRule>,
}

impl RawSets {
    /// `None` unless exactly one of `distinct` (with `rows`) or `rule` is given.
    pub(super) fn parse(self) -> Option<SetExpr> {
        match (self.distinct, self.rows, self.rule) {
            (Some(of), Some(rows), None) => Some(SetExpr::Distinct { of, rows }),
            (None, None, Some(rule)) => Some(SetExpr::Rule(rule)),
            _ => None,
        }
    }
}

/// The rows the rules read: purchases (buyers) and interactions (channels of a customer).
const PURCHASES: &str = "event_type = 'purchase'";
const INTERACTIONS: &str = "event_type IN (SELECT event_type FROM event_types WHERE interaction)";

/// One `rollup_sets` row as read: its day (days since 1970-01-01), channel, sets, and which
/// selectors keep it.
struct Row {
    day: i32,
    channel: Option<String>,
    customers: RoaringBitmap,
    orders: RoaringBitmap,
    selected: Vec<bool>,
}

fn epoch_days(day: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or(NaiveDate::MIN);
    i32::try_from((day - epoch).num_days()).unwrap_or(i32::MAX)
}

/// CLV's windows as days since 1970-01-01: `(yp, y0, end)`, the 12 months before `[y0, end)`
/// and the 12 months ending on the period's last day. As the SQL, both start the day after
/// the last day minus 12 (24) months, so that a period ending on 29 February gets no window a
/// day too long (chrono clamps to the month's end, as DuckDB's interval arithmetic).
fn clv_windows(period: &Period) -> (i32, i32, i32) {
    let last = period.to();
    let start = |months: u32| {
        last.checked_sub_months(Months::new(months))
            .and_then(|d| d.checked_add_days(Days::new(1)))
            .map_or(i32::MIN, epoch_days)
    };
    (start(24), start(12), epoch_days(period.end_exclusive()))
}

/// The selectors (row predicates) of the KPIs: purchases and interactions first (for the
/// rules), then each distinct count's own; and whether the KPIs need the rows each keeps (a
/// row is read when a needed selector keeps it).
fn selectors(defs: &[&KpiDef]) -> Vec<(String, bool)> {
    let rule = |r: SetRule| defs.iter().any(|d| d.sets == Some(SetExpr::Rule(r)));
    let mut out = vec![
        (
            PURCHASES.to_string(),
            rule(SetRule::Churn)
                || rule(SetRule::NewCustomers)
                || rule(SetRule::Omnichannel)
                || rule(SetRule::Clv),
        ),
        (
            INTERACTIONS.to_string(),
            rule(SetRule::Omnichannel)
                || defs.iter().any(|d| {
                    matches!(d.sets, Some(SetExpr::Rule(SetRule::Buyers(b))) if b.needs_channels())
                }),
        ),
    ];
    for def in defs {
        if let Some(SetExpr::Distinct { rows, .. }) = &def.sets {
            out.push((rows.clone(), true));
        }
    }
    out
}

/// The first day the KPIs read for `period` (`None`: all history).
fn first_day(defs: &[&KpiDef], period: &Period) -> Option<i32> {
    let from = epoch_days(period.from());
    let mut first = Some(from);
    for def in defs {
        match def.sets {
            Some(SetExpr::Rule(SetRule::NewCustomers)) => return None,
            Some(SetExpr::Rule(SetRule::Churn)) => {
                let days = i32::try_from(period.days()).unwrap_or(i32::MAX);
                first = first.map(|f| f.min(from - days));
            }
            Some(SetExpr::Rule(SetRule::Clv)) => {
                let (yp, _, _) = clv_windows(period);
                first = first.map(|f| f.min(yp));
            }
            _ => {}
        }
    }
    first
}

/// Reads the rows of the days `[first, end)` that the filter `predicate` (over `events`,
/// placeholders from `$3`, values `filter_values`) and any selector keep.
fn fetch(
    conn: &Connection,
    (selectors, needs): (&[(String, bool)], (bool, bool)),
    first: Option<i32>,
    end: i32,
    predicate: &str,
    filter_values: &[String],
) -> Result<Vec<Row>, KpiError> {
    let flags: Vec<String> = selectors.iter().map(|(s, _)| format!("({s})")).collect();
    let needed: Vec<&str> = selectors
        .iter()
        .zip(&flags)
        .filter(|((_, needed), _)| *needed)
        .map(|(_, flag)| flag.as_str())
        .collect();
    let sql = format!(
        "SELECT CAST(day - DATE '1970-01-01' AS INTEGER), channel, customers, orders, {flags}
         FROM {table}
         WHERE day >= DATE '1970-01-01' + CAST($1 AS INTEGER)
           AND day < DATE '1970-01-01' + CAST($2 AS INTEGER)
           AND ({predicate}) AND ({any})
         ORDER BY 1",
        flags = flags.join(", "),
        table = rollup::sets::AS_EVENTS,
        any = if needed.is_empty() {
            "false".to_string()
        } else {
            needed.join(" OR ")
        },
    );
    let mut params = vec![first.unwrap_or(-1_000_000).to_string(), end.to_string()];
    // Only the sets some KPI reads are decoded.
    let (customers, orders) = needs;
    params.extend(filter_values.iter().cloned());
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(duckdb::params_from_iter(&params))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut selected = Vec::with_capacity(selectors.len());
        for i in 0..selectors.len() {
            selected.push(row.get::<_, Option<bool>>(4 + i)?.unwrap_or(false));
        }
        out.push(Row {
            day: row.get(0)?,
            channel: row.get(1)?,
            customers: if customers {
                rollup::sets::decode(blob(row, 2)?)?
            } else {
                RoaringBitmap::new()
            },
            orders: if orders {
                rollup::sets::decode(blob(row, 3)?)?
            } else {
                RoaringBitmap::new()
            },
            selected,
        });
    }
    Ok(out)
}

/// What CLV reads besides the sets: the identified purchase revenue of `rollup_daily` per day
/// and the margin setting.
#[derive(Default)]
struct Revenue {
    /// `(day, Σ amount in cents, number of amounts)`, in day order; a day without identified
    /// purchases has no entry.
    days: Vec<(i32, i64, i64)>,
    margin: f64,
}

impl Revenue {
    /// Σ amount over `[from, to)` as the SQL's `CAST(sum(amount) AS DOUBLE)`, `None` when no
    /// purchase there has an amount (a sum of NULLs). DuckDB casts a DECIMAL(38, 2) to DOUBLE
    /// as its integer of cents divided by 100, which is what this does.
    fn sum(&self, from: i32, to: i32) -> Option<f64> {
        let start = self.days.partition_point(|d| d.0 < from);
        let end = self.days.partition_point(|d| d.0 < to).max(start);
        let (cents, amounts) = self.days[start..end]
            .iter()
            .fold((0i64, 0i64), |(c, n), d| (c + d.1, n + d.2));
        (amounts > 0).then(|| cents as f64 / 100.0)
    }
}

/// Reads [`Revenue`] over the days `[first, end)` of the rows the filter `predicate` keeps
/// (placeholders from `$3`, values `filter_values`).
fn fetch_revenue(
    conn: &Connection,
    first: Option<i32>,
    end: i32,
    predicate: &str,
    filter_values: &[String],
) -> Result<Revenue, KpiError> {
    let sql = format!(
        "SELECT CAST(day - DATE '1970-01-01' AS INTEGER), CAST(sum(amount) * 100 AS BIGINT),
                CAST(sum(amount_count) AS BIGINT)
         FROM {table}
         WHERE day >= DATE '1970-01-01' + CAST($1 AS INTEGER)
           AND day < DATE '1970-01-01' + CAST($2 AS INTEGER)
           AND event_type = 'purchase' AND identified AND ({predicate})
         GROUP BY 1
         ORDER BY 1",
        table = rollup::DAILY_AS_EVENTS,
    );
    let mut params = vec![first.unwrap_or(-1_000_000).to_string(), end.to_string()];
    params.extend(filter_values.iter().cloned());
    let mut stmt = conn.prepare(&sql)?;
    let days = stmt
        .query_map(duckdb::params_from_iter(&params), |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<Result<Vec<(i32, i64, i64)>, _>>()?;
    let margin = conn.query_row(super::query::CLV_MARGIN, [], |r| r.get(0))?;
    Ok(Revenue { days, margin })
}

/// Column `i` of `row` as bytes, without copying them.
fn blob<'r>(row: &'r duckdb::Row<'_>, i: usize) -> Result<&'r [u8], duckdb::Error> {
    row.get_ref(i)?.as_blob().map_err(|e| {
        duckdb::Error::FromSqlConversionFailure(i, duckdb::types::Type::Blob, e.into())
    })
}

/// The rows of the days `[from, to)` (`rows` are in day order).
fn days(rows: &[Row], from: i32, to: i32) -> &[Row] {
    let start = rows.partition_point(|r| r.day < from);
    let end = rows.partition_point(|r| r.day < to).max(start);
    &rows[start..end]
}

/// The union of `of` over the rows of `[from, to)` that selector `s` keeps.
fn union(rows: &[Row], s: usize, from: i32, to: i32, of: SetOf) -> RoaringBitmap {
    let mut out = RoaringBitmap::new();
    for row in days(rows, from, to).iter().filter(|r| r.selected[s]) {
        out |= match of {
            SetOf::Customers => &row.customers,
            SetOf::Orders => &row.orders,
        };
    }
    out
}

/// `numerator / denominator`, `None` on a zero denominator (as `run_query` for the SQL).
/// Counts of u32 numbers stay far below 2^53, so the conversions are exact.
fn ratio(numerator: u64, denominator: u64) -> Option<f64> {
    (denominator != 0).then(|| numerator as f64 / denominator as f64)
}

fn count(set: &RoaringBitmap) -> Option<f64> {
    Some(set.len() as f64)
}

/// Per channel, the customers of `rows` in `[from, to)` with an interaction there: those on at
/// least one channel and those "seen twice", on a second one (`seen_once ∩ channel` before
/// `seen_once ∪= channel`).
fn reach(rows: &[Row], interaction: usize, from: i32, to: i32) -> (RoaringBitmap, RoaringBitmap) {
    let mut per_channel: BTreeMap<&str, RoaringBitmap> = BTreeMap::new();
    for row in days(rows, from, to)
        .iter()
        .filter(|r| r.selected[interaction])
    {
        if let Some(channel) = row.channel.as_deref() {
            *per_channel.entry(channel).or_default() |= &row.customers;
        }
    }
    let (mut once, mut twice) = (RoaringBitmap::new(), RoaringBitmap::new());
    for here in per_channel.into_values() {
        twice |= &once & &here;
        once |= here;
    }
    (once, twice)
}

/// The values of `defs` over `period` from what [`fetch_for`] read for the same defs.
fn evaluate(defs: &[&KpiDef], data: &Fetched, period: &Period) -> Values {
    let (rows, revenue) = (&data.rows, &data.revenue);
    const PURCHASE: usize = 0;
    const INTERACTION: usize = 1;
    let (from, to) = (
        epoch_days(period.from()),
        epoch_days(period.end_exclusive()),
    );
    let mut out = Values::new();
    let mut next_selector = 2;
    for def in defs {
        let value = match &def.sets {
            None => continue,
            Some(SetExpr::Distinct { of, .. }) => {
                next_selector += 1;
                count(&union(rows, next_selector - 1, from, to, *of))
            }
            Some(SetExpr::Rule(SetRule::Churn)) => {
                let days = to - from;
                let before = union(rows, PURCHASE, from - days, from, SetOf::Customers);
                let now = union(rows, PURCHASE, from, to, SetOf::Customers);
                ratio(before.difference_len(&now), before.len())
            }
            Some(SetExpr::Rule(SetRule::NewCustomers)) => {
                let before = union(rows, PURCHASE, i32::MIN, from, SetOf::Customers);
                let now = union(rows, PURCHASE, from, to, SetOf::Customers);
                count(&(now - before))
            }
            Some(SetExpr::Rule(SetRule::Omnichannel)) => {
                let buyers = union(rows, PURCHASE, from, to, SetOf::Customers);
                let (_, twice) = reach(rows, INTERACTION, from, to);
                ratio(buyers.intersection_len(&twice), buyers.len())
            }
            Some(SetExpr::Rule(SetRule::Clv)) => {
                let (yp, y0, end) = clv_windows(period);
                let recent = union(rows, PURCHASE, y0, end, SetOf::Customers);
                let earlier = union(rows, PURCHASE, yp, y0, SetOf::Customers);
                let lost = earlier.difference_len(&recent);
                match revenue.sum(y0, end) {
                    Some(total) if !earlier.is_empty() && !recent.is_empty() => {
                        // The SQL's order of operations, for the same rounding.
                        let lifetime = if lost == 0 {
                            10.0
                        } else {
                            (earlier.len() as f64 / lost as f64).min(10.0)
                        };
                        Some(total / recent.len() as f64 * revenue.margin * lifetime)
                    }
                    _ => None,
                }
            }
            Some(SetExpr::Rule(SetRule::Buyers(rule))) => {
                let channels = rule
                    .needs_channels()
                    .then(|| reach(rows, INTERACTION, from, to));
                let channels = channels.as_ref().map(|(once, twice)| (once, twice));
                facts::evaluate(*rule, &data.facts, (from, to), channels)
            }
        };
        out.insert(def.key.clone(), value);
    }
    out
}

/// The set KPIs `defs` over `period`, on the rows the filter `predicate` keeps (over
/// `events`, placeholders from `$3`, values `filter_values`).
pub(super) fn compute(
    conn: &Connection,
    defs: &[&KpiDef],
    period: &Period,
    predicate: &str,
    filter_values: &[String],
) -> Result<Values, KpiError> {
    let fetched = fetch_for(
        conn,
        defs,
        std::slice::from_ref(period),
        predicate,
        filter_values,
    )?;
    Ok(evaluate(defs, &fetched, period))
}

/// The rows read once for several periods of the same KPIs (a series' buckets).
pub(super) struct Fetched {
    keys: Vec<String>,
    rows: Vec<Row>,
    revenue: Revenue,
    facts: Facts,
}

impl Fetched {
    /// The values of `defs` over `period`, when they are the KPIs the rows were read for and
    /// `period` is inside the range read.
    pub(super) fn evaluate(&self, defs: &[&KpiDef], period: &Period) -> Option<Values> {
        let same =
            self.keys.len() == defs.len() && self.keys.iter().zip(defs).all(|(k, d)| *k == d.key);
        // The buyers were read per period: another period reads its own.
        let covered = self.facts.covers(
            epoch_days(period.from()),
            epoch_days(period.end_exclusive()),
        ) || !defs
            .iter()
            .any(|d| matches!(d.sets, Some(SetExpr::Rule(SetRule::Buyers(_)))));
        (same && covered).then(|| evaluate(defs, self, period))
    }
}

/// Reads the rows that `defs` need over every one of `periods`, once.
pub(super) fn fetch_for(
    conn: &Connection,
    defs: &[&KpiDef],
    periods: &[Period],
    predicate: &str,
    filter_values: &[String],
) -> Result<Fetched, KpiError> {
    let selectors = selectors(defs);
    let start = periods
        .iter()
        .map(|p| first_day(defs, p))
        .try_fold(i32::MAX, |acc, d| d.map(|d| acc.min(d)));
    let end = periods
        .iter()
        .map(|p| epoch_days(p.end_exclusive()))
        .max()
        .unwrap_or(i32::MIN);
    let needs = (
        defs.iter().any(|d| {
            matches!(
                d.sets,
                Some(
                    SetExpr::Rule(_)
                        | SetExpr::Distinct {
                            of: SetOf::Customers,
                            ..
                        }
                )
            )
        }),
        defs.iter().any(|d| {
            matches!(
                d.sets,
                Some(SetExpr::Distinct {
                    of: SetOf::Orders,
                    ..
                })
            )
        }),
    );
    let rows = fetch(
        conn,
        (&selectors, needs),
        start,
        end,
        predicate,
        filter_values,
    )?;
    let revenue = if defs
        .iter()
        .any(|d| d.sets == Some(SetExpr::Rule(SetRule::Clv)))
    {
        fetch_revenue(conn, start, end, predicate, filter_values)?
    } else {
        Revenue::default()
    };
    let facts = if defs
        .iter()
        .any(|d| matches!(d.sets, Some(SetExpr::Rule(SetRule::Buyers(_)))))
    {
        let spans: Vec<(i32, i32)> = periods
            .iter()
            .map(|p| (epoch_days(p.from()), epoch_days(p.end_exclusive())))
            .collect();
        facts::fetch(conn, &spans, predicate, filter_values)?
    } else {
        Facts::default()
    };
    Ok(Fetched {
        keys: defs.iter().map(|d| d.key.clone()).collect(),
        rows,
        revenue,
        facts,
    })
}

/// [`compute`] for each of `buckets`, reading the rows once.
pub(super) fn compute_buckets(
    conn: &Connection,
    defs: &[&KpiDef],
    buckets: &[Period],
    predicate: &str,
    filter_values: &[String],
) -> Result<Vec<Values>, KpiError> {
    let fetched = fetch_for(conn, defs, buckets, predicate, filter_values)?;
    Ok(buckets
        .iter()
        .map(|b| evaluate(defs, &fetched, b))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sets_entry_is_a_distinct_count_or_a_rule_never_both() {
        let parse = |text: &str| {
            toml::from_str::<RawSets>(text)
                .ok()
                .and_then(RawSets::parse)
        };
        assert_eq!(
            parse("distinct = \"orders\"\nrows = \"event_type = 'return'\""),
            Some(SetExpr::Distinct {
                of: SetOf::Orders,
                rows: "event_type = 'return'".to_string()
            })
        );
        assert_eq!(
            parse("rule = \"churn\""),
            Some(SetExpr::Rule(SetRule::Churn))
        );
        assert_eq!(parse("distinct = \"customers\""), None);
        assert_eq!(
            parse("rule = \"churn\"\ndistinct = \"orders\"\nrows = \"true\""),
            None
        );
        assert_eq!(parse("rule = \"clv\""), Some(SetExpr::Rule(SetRule::Clv)));
        assert_eq!(parse("rule = \"webrooming\""), None);
        assert_eq!(
            parse("rule = \"repeat_purchase\""),
            Some(SetExpr::Rule(SetRule::Buyers(BuyerRule::RepeatPurchase)))
        );
    }
}
