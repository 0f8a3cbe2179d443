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

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::{Arc, OnceLock};

use chrono::{Days, Months};
use duckdb::Connection;
use roaring::RoaringBitmap;
use serde::Deserialize;

use super::catalog::KpiDef;
use super::facts::{self, BuyerRule, Facts};
use super::memo::RowsMemo;
use super::period::{Period, epoch_date, epoch_days, month_start, next_month_start};
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
    /// Visitors `coalesce('c:' || customer_id, 'k:' || cookie_id, 'd:' || device_id)`: the
    /// customers, and the anonymous visitors of events with no customer ([`visitors`]).
    Visitors,
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
    /// Online visitors who also bought online in the period, over online visitors.
    OnlineConversion,
    /// Visitor-days with an online add-to-cart and no online purchase, over visitor-days with
    /// an online add-to-cart.
    CartAbandonment,
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

/// The rows the rules read: purchases (buyers) and interactions (channels of a customer), and
/// the online visits, purchases and adds to cart (visitors).
const PURCHASES: &str = "event_type = 'purchase'";
const INTERACTIONS: &str = "event_type IN (SELECT event_type FROM event_types WHERE interaction)";
const ONLINE_VISITS: &str =
    "event_type = 'visit' AND channel IN (SELECT channel FROM channels WHERE online)";
const ONLINE_PURCHASES: &str =
    "event_type = 'purchase' AND channel IN (SELECT channel FROM channels WHERE online)";
const ONLINE_CARTS: &str =
    "event_type = 'add_to_cart' AND channel IN (SELECT channel FROM channels WHERE online)";

/// The index of each rule's selector (see [`selectors`]); the distinct counts' follow.
mod selector {
    pub const PURCHASES: usize = 0;
    pub const INTERACTIONS: usize = 1;
    pub const ONLINE_VISITS: usize = 2;
    pub const ONLINE_PURCHASES: usize = 3;
    pub const ONLINE_CARTS: usize = 4;
    pub const DISTINCT: usize = 5;
}

/// One `rollup_sets` row a selector keeps: its day (days since 1970-01-01), channel, and the
/// set the KPIs read of it.
struct Row {
    day: i32,
    channel: Option<String>,
    set: RoaringBitmap,
}

/// The rows one selector keeps over consecutive days, read (or kept) as a whole, with their
/// unions, computed when first asked for: a period's union takes those of the runs it covers
/// whole instead of their rows.
struct Run {
    /// The days `[from, to)` the run holds every row of.
    days: (i32, i32),
    rows: Vec<Row>,
    union: OnceLock<RoaringBitmap>,
    per_channel: OnceLock<BTreeMap<String, RoaringBitmap>>,
}

impl Run {
    fn new(days: (i32, i32), rows: Vec<Row>) -> Self {
        Self {
            days,
            rows,
            union: OnceLock::new(),
            per_channel: OnceLock::new(),
        }
    }

    /// Whether the days `[from, to)` hold all of the run's.
    fn inside(&self, from: i32, to: i32) -> bool {
        from <= self.days.0 && self.days.1 <= to
    }

    /// The rows of the days `[from, to)`.
    fn rows(&self, from: i32, to: i32) -> &[Row] {
        let start = self.rows.partition_point(|r| r.day < from);
        let end = self.rows.partition_point(|r| r.day < to).max(start);
        &self.rows[start..end]
    }
}

/// The rows one selector keeps over the days read, as runs in day order.
#[derive(Default)]
struct Selection {
    runs: Vec<Arc<Run>>,
}

impl Selection {
    /// The union of the sets of the days `[from, to)`.
    fn union(&self, from: i32, to: i32) -> RoaringBitmap {
        let mut out = RoaringBitmap::new();
        for run in &self.runs {
            if run.inside(from, to) {
                out |= run.union.get_or_init(|| union_of(&run.rows));
            } else {
                for row in run.rows(from, to) {
                    out |= &row.set;
                }
            }
        }
        out
    }

    /// Per channel, the union of the sets of the days `[from, to)`.
    fn per_channel(&self, from: i32, to: i32) -> BTreeMap<&str, RoaringBitmap> {
        let mut out: BTreeMap<&str, RoaringBitmap> = BTreeMap::new();
        for run in &self.runs {
            if run.inside(from, to) {
                let whole = run.per_channel.get_or_init(|| {
                    let mut sets: BTreeMap<String, RoaringBitmap> = BTreeMap::new();
                    for row in &run.rows {
                        if let Some(channel) = &row.channel {
                            *sets.entry(channel.clone()).or_default() |= &row.set;
                        }
                    }
                    sets
                });
                for (channel, set) in whole {
                    *out.entry(channel.as_str()).or_default() |= set;
                }
            } else {
                for row in run.rows(from, to) {
                    if let Some(channel) = row.channel.as_deref() {
                        *out.entry(channel).or_default() |= &row.set;
                    }
                }
            }
        }
        out
    }

    /// Per day of `[from, to)` that has rows, the union of its sets.
    fn per_day(&self, from: i32, to: i32) -> BTreeMap<i32, RoaringBitmap> {
        let mut out: BTreeMap<i32, RoaringBitmap> = BTreeMap::new();
        for run in &self.runs {
            for row in run.rows(from, to) {
                *out.entry(row.day).or_default() |= &row.set;
            }
        }
        out
    }
}

fn union_of(rows: &[Row]) -> RoaringBitmap {
    let mut out = RoaringBitmap::new();
    for row in rows {
        out |= &row.set;
    }
    out
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

/// A row predicate and the set the KPIs read of the rows it keeps.
type Selector = (String, SetOf);

/// The selectors of the KPIs, by index: purchases and interactions (for the rules) first, then
/// each distinct count's own; `None` where no KPI reads it.
fn selectors(defs: &[&KpiDef]) -> Vec<Option<Selector>> {
    let rule = |r: SetRule| defs.iter().any(|d| d.sets == Some(SetExpr::Rule(r)));
    let purchases = rule(SetRule::Churn)
        || rule(SetRule::NewCustomers)
        || rule(SetRule::Omnichannel)
        || rule(SetRule::Clv);
    let interactions = rule(SetRule::Omnichannel)
        || defs.iter().any(
            |d| matches!(d.sets, Some(SetExpr::Rule(SetRule::Buyers(b))) if b.needs_channels()),
        );
    let conversion = rule(SetRule::OnlineConversion);
    let carts = rule(SetRule::CartAbandonment);
    let visitors = |on: bool, rows: &str| on.then(|| (rows.to_string(), SetOf::Visitors));
    let mut out = vec![
        purchases.then(|| (PURCHASES.to_string(), SetOf::Customers)),
        interactions.then(|| (INTERACTIONS.to_string(), SetOf::Customers)),
        visitors(conversion, ONLINE_VISITS),
        visitors(conversion || carts, ONLINE_PURCHASES),
        visitors(carts, ONLINE_CARTS),
    ];
    debug_assert_eq!(out.len(), selector::DISTINCT);
    for def in defs {
        if let Some(SetExpr::Distinct { of, rows }) = &def.sets {
            out.push(Some((rows.clone(), *of)));
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

/// The filter the rows are read under: its predicate over `events` (placeholders from `$3`),
/// its values, and the memo that keeps the rows read under it, if any.
#[derive(Clone, Copy)]
pub(super) struct Under<'a> {
    pub predicate: &'a str,
    pub values: &'a [String],
    pub memo: Option<RowsMemo<'a>>,
}

/// Reads the rows of the days `[first, end)` that `selector` and the filter keep, decoding
/// the set it names.
fn read_rows(
    conn: &Connection,
    (selector, of): (&str, SetOf),
    (first, end): (i32, i32),
    under: &Under<'_>,
) -> Result<Vec<Row>, KpiError> {
    let sql = format!(
        "SELECT CAST(day - DATE '1970-01-01' AS INTEGER), channel, {sets}
         FROM {table}
         WHERE day >= DATE '1970-01-01' + CAST($1 AS INTEGER)
           AND day < DATE '1970-01-01' + CAST($2 AS INTEGER)
           AND ({predicate}) AND ({selector})
         ORDER BY 1",
        sets = match of {
            SetOf::Customers => "customers",
            SetOf::Orders => "orders",
            SetOf::Visitors => "customers, visitors",
        },
        table = rollup::sets::AS_EVENTS,
        predicate = under.predicate,
    );
    let mut params = vec![first.to_string(), end.to_string()];
    params.extend(under.values.iter().cloned());
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(duckdb::params_from_iter(&params))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let set = rollup::sets::decode(blob(row, 2)?)?;
        let set = match of {
            SetOf::Visitors => visitors(set, &rollup::sets::decode(blob(row, 3)?)?)?,
            SetOf::Customers | SetOf::Orders => set,
        };
        out.push(Row {
            day: row.get(0)?,
            channel: row.get(1)?,
            set,
        });
    }
    Ok(out)
}

/// The high bit that tells an anonymous visitor's number from a customer's in one set.
const ANONYMOUS: u32 = 1 << 31;

/// The visitors of a row as one set: its customers' numbers as they are, its anonymous
/// visitors' with [`ANONYMOUS`] set. The two are visitors of different kinds (a customer is
/// `c:` id, an anonymous visitor `k:` cookie or `d:` device), so the union counts each once.
fn visitors(
    customers: RoaringBitmap,
    anonymous: &RoaringBitmap,
) -> Result<RoaringBitmap, KpiError> {
    let too_many = |set: &RoaringBitmap| set.max().is_some_and(|n| n >= ANONYMOUS);
    if too_many(&customers) || too_many(anonymous) {
        return Err(KpiError::Engine(
            "more than 2^31 customers or anonymous visitors are numbered: the visitor sets \
             cannot hold them (docs/rollups.md section 5)"
                .to_string(),
        ));
    }
    let mut out = customers;
    out.extend(anonymous.iter().map(|n| n | ANONYMOUS));
    Ok(out)
}

/// The first local day of `rollup_sets` (days since 1970-01-01), `None` when it is empty.
fn first_stored_day(conn: &Connection) -> Result<Option<i32>, KpiError> {
    Ok(conn.query_row(
        "SELECT CAST(min(day) - DATE '1970-01-01' AS INTEGER) FROM rollup_sets",
        [],
        |r| r.get(0),
    )?)
}

/// The rows `selector` keeps over the days `[first, end)` (from the first stored day when
/// `first` is `None`). With a memo, the rows are read and kept a month at a time: after a
/// write, only the months from its first changed day are read again.
fn select(
    conn: &Connection,
    selector: (&str, SetOf),
    (first, end): (Option<i32>, i32),
    under: &Under<'_>,
) -> Result<Selection, KpiError> {
    let first = match first {
        Some(day) => day,
        None => match first_stored_day(conn)? {
            Some(day) => day,
            None => return Ok(Selection::default()),
        },
    };
    if first >= end {
        return Ok(Selection::default());
    }
    let Some(memo) = under.memo else {
        let rows = read_rows(conn, selector, (first, end), under)?;
        return Ok(Selection {
            runs: vec![Arc::new(Run::new((first, end), rows))],
        });
    };
    let mut months = Vec::new();
    let mut day = first;
    while day < end {
        let start = month_start(day);
        let next = next_month_start(day);
        months.push((start, next));
        day = next;
    }
    let key = |start: i32| {
        format!(
            "set rows\u{1f}{}\u{1f}{:?}\u{1f}{}\u{1f}{:?}\u{1f}{start}",
            selector.0, selector.1, under.predicate, under.values
        )
    };
    let version = memo.version();
    let mut runs: Vec<Option<Arc<Run>>> = months
        .iter()
        .map(|(start, _)| memo.recall::<Arc<Run>>(&key(*start)))
        .collect();
    // The months not kept are read in one statement, from the first to the last of them.
    let missing = |run: &Option<Arc<Run>>| run.is_none();
    if let (Some(lo), Some(hi)) = (
        runs.iter().position(missing),
        runs.iter().rposition(missing),
    ) {
        let rows = read_rows(conn, selector, (months[lo].0, months[hi].1), under)?;
        let mut rows = rows.into_iter().peekable();
        for (i, (start, next)) in months.iter().enumerate().take(hi + 1).skip(lo) {
            let mut run = Vec::new();
            while let Some(row) = rows.next_if(|r| r.day < *next) {
                run.push(row);
            }
            let run = Arc::new(Run::new((*start, *next), run));
            memo.keep(version, &key(*start), epoch_date(*next), Arc::clone(&run));
            runs[i] = Some(run);
        }
    }
    Ok(Selection {
        runs: runs.into_iter().flatten().collect(),
    })
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

/// `numerator / denominator`, `None` on a zero denominator (as `run_query` for the SQL).
/// Counts of u32 numbers stay far below 2^53, so the conversions are exact.
fn ratio(numerator: u64, denominator: u64) -> Option<f64> {
    (denominator != 0).then(|| numerator as f64 / denominator as f64)
}

fn count(set: &RoaringBitmap) -> Option<f64> {
    Some(set.len() as f64)
}

/// The customers with an interaction on at least one channel, and on at least two.
type Reach = (RoaringBitmap, RoaringBitmap);

/// Per channel, the customers of the interactions in `[from, to)`: those on at least one
/// channel and those "seen twice", on a second one (`seen_once ∩ channel` before
/// `seen_once ∪= channel`).
fn reach(interactions: &Selection, from: i32, to: i32) -> Reach {
    let per_channel = interactions.per_channel(from, to);
    let (mut once, mut twice) = (RoaringBitmap::new(), RoaringBitmap::new());
    for here in per_channel.into_values() {
        twice |= &once & &here;
        once |= here;
    }
    (once, twice)
}

/// The values of `defs` over `period` from what [`fetch_for`] read for the same defs.
fn evaluate(defs: &[&KpiDef], data: &Fetched, period: &Period) -> Values {
    let revenue = &data.revenue;
    use selector::{ONLINE_CARTS, ONLINE_PURCHASES, ONLINE_VISITS, PURCHASES};
    let union = |i: usize, from: i32, to: i32| data.union(i, from, to);
    let (from, to) = (
        epoch_days(period.from()),
        epoch_days(period.end_exclusive()),
    );
    let mut out = Values::new();
    let mut next_selector = selector::DISTINCT;
    for def in defs {
        let value = match &def.sets {
            None => continue,
            Some(SetExpr::Distinct { .. }) => {
                next_selector += 1;
                count(&union(next_selector - 1, from, to))
            }
            Some(SetExpr::Rule(SetRule::Churn)) => {
                let days = to - from;
                let before = union(PURCHASES, from - days, from);
                let now = union(PURCHASES, from, to);
                ratio(before.difference_len(&now), before.len())
            }
            Some(SetExpr::Rule(SetRule::NewCustomers)) => {
                let before = union(PURCHASES, i32::MIN, from);
                let now = union(PURCHASES, from, to);
                Some(now.difference_len(&before) as f64)
            }
            Some(SetExpr::Rule(SetRule::Omnichannel)) => {
                let buyers = union(PURCHASES, from, to);
                let (_, twice) = &*data.reach(from, to);
                ratio(buyers.intersection_len(twice), buyers.len())
            }
            Some(SetExpr::Rule(SetRule::Clv)) => {
                let (yp, y0, end) = clv_windows(period);
                let recent = union(PURCHASES, y0, end);
                let earlier = union(PURCHASES, yp, y0);
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
            Some(SetExpr::Rule(SetRule::OnlineConversion)) => {
                let visited = union(ONLINE_VISITS, from, to);
                let bought = union(ONLINE_PURCHASES, from, to);
                ratio(visited.intersection_len(&bought), visited.len())
            }
            Some(SetExpr::Rule(SetRule::CartAbandonment)) => {
                let carted = data.per_day(ONLINE_CARTS, from, to);
                let bought = data.per_day(ONLINE_PURCHASES, from, to);
                let (mut abandoned, mut days) = (0, 0);
                for (day, carts) in &carted {
                    days += carts.len();
                    abandoned += bought
                        .get(day)
                        .map_or(carts.len(), |b| carts.difference_len(b));
                }
                ratio(abandoned, days)
            }
            Some(SetExpr::Rule(SetRule::Buyers(rule))) => {
                let channels = rule.needs_channels().then(|| data.reach(from, to));
                let channels = channels.as_deref().map(|(once, twice)| (once, twice));
                facts::evaluate(*rule, &data.facts, (from, to), channels)
            }
        };
        out.insert(def.key.clone(), value);
    }
    out
}

/// The set KPIs `defs` over `period`, on the rows the filter keeps.
pub(super) fn compute(
    conn: &Connection,
    defs: &[&KpiDef],
    period: &Period,
    under: &Under<'_>,
) -> Result<Values, KpiError> {
    let fetched = fetch_for(conn, defs, std::slice::from_ref(period), under)?;
    Ok(evaluate(defs, &fetched, period))
}

/// The rows read once for several periods of the same KPIs (a series' buckets).
pub(super) struct Fetched {
    keys: Vec<String>,
    /// By selector index (see [`selectors`]); empty where no KPI reads it.
    selections: Vec<Selection>,
    revenue: Revenue,
    facts: Facts,
    /// The unions (by selector and days) and reaches (by days) computed so far: the KPIs of a
    /// period, and the buckets of a series, share many of them.
    unions: RefCell<HashMap<(usize, i32, i32), Rc<RoaringBitmap>>>,
    reaches: RefCell<HashMap<(i32, i32), Rc<Reach>>>,
}

impl Fetched {
    /// The union of the sets selector `i` keeps over the days `[from, to)`.
    fn union(&self, i: usize, from: i32, to: i32) -> Rc<RoaringBitmap> {
        let key = (i, from, to);
        if let Some(set) = self.unions.borrow().get(&key) {
            return Rc::clone(set);
        }
        let set = Rc::new(
            self.selections
                .get(i)
                .map(|s| s.union(from, to))
                .unwrap_or_default(),
        );
        self.unions.borrow_mut().insert(key, Rc::clone(&set));
        set
    }

    /// Per day of `[from, to)`, the union of the sets selector `i` keeps.
    fn per_day(&self, i: usize, from: i32, to: i32) -> BTreeMap<i32, RoaringBitmap> {
        self.selections
            .get(i)
            .map(|s| s.per_day(from, to))
            .unwrap_or_default()
    }

    /// [`reach`] over the interactions of the days `[from, to)`.
    fn reach(&self, from: i32, to: i32) -> Rc<Reach> {
        if let Some(pair) = self.reaches.borrow().get(&(from, to)) {
            return Rc::clone(pair);
        }
        let empty = Selection::default();
        let interactions = self
            .selections
            .get(selector::INTERACTIONS)
            .unwrap_or(&empty);
        let pair = Rc::new(reach(interactions, from, to));
        self.reaches
            .borrow_mut()
            .insert((from, to), Rc::clone(&pair));
        pair
    }

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
    under: &Under<'_>,
) -> Result<Fetched, KpiError> {
    let mut laps = crate::server::ops::laps::Laps::start("set rows");
    let start = periods
        .iter()
        .map(|p| first_day(defs, p))
        .try_fold(i32::MAX, |acc, d| d.map(|d| acc.min(d)));
    let end = periods
        .iter()
        .map(|p| epoch_days(p.end_exclusive()))
        .max()
        .unwrap_or(i32::MIN);
    let mut selections = Vec::new();
    for selector in selectors(defs) {
        selections.push(match selector {
            Some((rows, of)) => select(conn, (&rows, of), (start, end), under)?,
            None => Selection::default(),
        });
    }
    laps.lap("sets");
    let revenue = if defs
        .iter()
        .any(|d| d.sets == Some(SetExpr::Rule(SetRule::Clv)))
    {
        fetch_revenue(conn, start, end, under.predicate, under.values)?
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
        facts::fetch(conn, &spans, under)?
    } else {
        Facts::default()
    };
    laps.lap("revenue and facts");
    Ok(Fetched {
        keys: defs.iter().map(|d| d.key.clone()).collect(),
        selections,
        revenue,
        facts,
        unions: RefCell::default(),
        reaches: RefCell::default(),
    })
}

/// [`compute`] for each of `buckets`, reading the rows once.
pub(super) fn compute_buckets(
    conn: &Connection,
    defs: &[&KpiDef],
    buckets: &[Period],
    under: &Under<'_>,
) -> Result<Vec<Values>, KpiError> {
    let fetched = fetch_for(conn, defs, buckets, under)?;
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
