//! KPIs of per-customer orders and revenue answered from the purchase facts (`rollup_facts`,
//! docs/rollups.md): the repeat purchase rate and the multichannel comparisons (the uplifts and
//! the internal frequencies and order values by buyer group). Each customer's orders and
//! revenue come from the facts, their channels from the interaction sets of `rollup_sets`
//! ("seen on two channels", as the omnichannel share); the arithmetic follows each KPI's SQL in
//! `catalog.toml` step by step, so the doubles round the same (tests/rollup_properties.rs
//! holds the two equal).

use std::collections::HashMap;

use std::sync::Arc;

use duckdb::Connection;
use roaring::RoaringBitmap;
use serde::Deserialize;

use super::period::{epoch_date, month_start};
use super::query::KpiError;
use super::sets::Under;
use crate::server::rollup;

/// A computation over the buyers of a period, named by the catalog's `sets = { rule = ... }`.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum BuyerRule {
    /// Buyers with two or more orders, over buyers.
    RepeatPurchase,
    /// Orders per multichannel buyer over orders per single-channel buyer.
    MultichannelFrequencyUplift,
    /// Revenue per order of multichannel buyers over that of single-channel ones, minus 1.
    MultichannelValueUplift,
    /// Orders per multichannel buyer.
    MultichannelPurchaseFrequency,
    /// Orders per single-channel buyer.
    SingleChannelPurchaseFrequency,
    /// Revenue per order of multichannel buyers.
    MultichannelAov,
    /// Revenue per order of single-channel buyers.
    SingleChannelAov,
}

impl BuyerRule {
    /// Whether the rule splits buyers by their interaction channels.
    pub(super) fn needs_channels(self) -> bool {
        self != Self::RepeatPurchase
    }
}

/// One buyer of a period: distinct orders, Σ amount in cents (0 without amounts), and how many
/// amounts that sums (0: the SQL's revenue is NULL).
#[derive(Clone)]
struct Buyer {
    customer: u32,
    orders: u64,
    cents: i64,
    amounts: i64,
}

impl Buyer {
    /// Reads `customer, orders, cents, amounts` from columns `at..at + 4`.
    fn read(row: &duckdb::Row<'_>, at: usize) -> Result<Self, duckdb::Error> {
        let orders: i64 = row.get(at + 1)?;
        Ok(Self {
            customer: row.get(at)?,
            orders: u64::try_from(orders).unwrap_or(0),
            cents: row.get(at + 2)?,
            amounts: row.get(at + 3)?,
        })
    }
}

/// The buyers of each period read, by its days `[from, to)` (days since 1970-01-01).
#[derive(Default)]
pub(super) struct Facts {
    buyers: HashMap<(i32, i32), Vec<Buyer>>,
}

impl Facts {
    /// Whether the buyers of the days `[from, to)` were read.
    pub(super) fn covers(&self, from: i32, to: i32) -> bool {
        self.buyers.contains_key(&(from, to))
    }
}

/// Reads the buyers of each of `spans` (days `[from, to)` since 1970-01-01) among the facts the
/// filter keeps.
///
/// Without a memo, DuckDB groups the facts by span and customer, one statement for all the
/// spans. With one, each span is read in three parts: its whole months before the month of
/// its last day, then that month's days before the last, both kept in the memo (after a batch
/// of recent events they are read back), and the last day, read every time. A later part
/// reads, per customer, only the orders the earlier parts do not hold, and adds its sums.
pub(super) fn fetch(
    conn: &Connection,
    spans: &[(i32, i32)],
    under: &Under<'_>,
) -> Result<Facts, KpiError> {
    // Each span once, so that a span given twice does not count its buyers twice.
    let mut unique = spans.to_vec();
    unique.sort_unstable();
    unique.dedup();
    let Some(memo) = under.memo else {
        return fetch_spans(conn, &unique, under);
    };
    let mut out = Facts::default();
    for (from, to) in unique {
        // The whole months before the last day's, the days of its month before it, that day.
        let month = month_start(to - 1).clamp(from, to);
        let last = (to - 1).clamp(month, to);
        let version = memo.version();
        // The buyers of the days `[from, end)`.
        let kept = |end: i32| {
            format!(
                "buyers\u{1f}{from}\u{1f}{end}\u{1f}{}\u{1f}{:?}",
                under.predicate, under.values
            )
        };
        let months_key = kept(month);
        let months = match memo.recall::<Arc<Vec<Buyer>>>(&months_key) {
            Some(buyers) => buyers,
            None => {
                let mut read = fetch_spans(conn, &[(from, month)], under)?;
                let buyers = merged(&[], read.buyers.remove(&(from, month)).unwrap_or_default());
                let buyers = Arc::new(buyers);
                memo.keep(version, &months_key, epoch_date(month), Arc::clone(&buyers));
                buyers
            }
        };
        let before_key = kept(last);
        let before = match memo.recall::<Arc<Vec<Buyer>>>(&before_key) {
            Some(buyers) => buyers,
            None => {
                let later = fetch_later(conn, (from, month, last), under)?;
                let buyers = Arc::new(merged(&months, later));
                memo.keep(version, &before_key, epoch_date(last), Arc::clone(&buyers));
                buyers
            }
        };
        let buyers = merged(&before, fetch_later(conn, (from, last, to), under)?);
        out.buyers.insert((from, to), buyers);
    }
    Ok(out)
}

/// The buyers of `base` (in customer order) with the `later` additions of a following span
/// (see [`fetch_later`]), in customer order.
fn merged(base: &[Buyer], mut later: Vec<Buyer>) -> Vec<Buyer> {
    later.sort_unstable_by_key(|b| b.customer);
    let mut out = Vec::with_capacity(base.len() + later.len());
    let mut later = later.into_iter().peekable();
    for buyer in base {
        while let Some(new) = later.next_if(|l| l.customer < buyer.customer) {
            out.push(new);
        }
        let mut buyer = buyer.clone();
        if let Some(more) = later.next_if(|l| l.customer == buyer.customer) {
            buyer.orders += more.orders;
            buyer.cents += more.cents;
            buyer.amounts += more.amounts;
        }
        out.push(buyer);
    }
    out.extend(later);
    out
}

/// The buyers of the days `[split, to)` as additions to those of `[from, split)`: per customer,
/// their orders there that the earlier days do not hold, and the sums of all their amounts
/// there (sums add up; distinct orders do not).
fn fetch_later(
    conn: &Connection,
    (from, split, to): (i32, i32, i32),
    under: &Under<'_>,
) -> Result<Vec<Buyer>, KpiError> {
    // The earlier days' first day is a number computed here, not input: written into the
    // statement, so that the filter's placeholders keep their numbers (from `$3`).
    let sql = format!(
        "WITH later AS (
             SELECT events.customer_no, events.order_no, events.amount, events.amount_count
             FROM {table}
             WHERE events.day >= DATE '1970-01-01' + CAST($1 AS INTEGER)
               AND events.day < DATE '1970-01-01' + CAST($2 AS INTEGER)
               AND ({predicate})),
         earlier AS (
             SELECT DISTINCT events.customer_no, events.order_no
             FROM {table}
             SEMI JOIN later l
               ON l.customer_no = events.customer_no AND l.order_no = events.order_no
             WHERE events.day >= DATE '1970-01-01' + {from}
               AND events.day < DATE '1970-01-01' + CAST($1 AS INTEGER)
               AND ({predicate}))
         SELECT CAST(l.customer_no AS UINTEGER),
                count(DISTINCT l.order_no) FILTER (WHERE e.order_no IS NULL),
                CAST(sum(l.amount) * 100 AS BIGINT), CAST(sum(l.amount_count) AS BIGINT)
         FROM later l
         LEFT JOIN earlier e ON e.customer_no = l.customer_no AND e.order_no = l.order_no
         GROUP BY 1",
        table = rollup::facts::AS_EVENTS,
        predicate = under.predicate,
    );
    let mut params = vec![split.to_string(), to.to_string()];
    params.extend(under.values.iter().cloned());
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(duckdb::params_from_iter(&params))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(Buyer::read(row, 0)?);
    }
    Ok(out)
}

/// One statement for all `spans`, grouped by span and customer.
fn fetch_spans(
    conn: &Connection,
    spans: &[(i32, i32)],
    under: &Under<'_>,
) -> Result<Facts, KpiError> {
    let mut out = Facts::default();
    let (Some(first), Some(end)) = (
        spans.iter().map(|s| s.0).min(),
        spans.iter().map(|s| s.1).max(),
    ) else {
        return Ok(out);
    };
    // The spans are numbers computed here, not input: written into the statement.
    let values: Vec<String> = spans
        .iter()
        .enumerate()
        .map(|(i, (from, to))| format!("({i}, {from}, {to})"))
        .collect();
    let sql = format!(
        "SELECT s.i, CAST(events.customer_no AS UINTEGER), count(DISTINCT events.order_no),
                CAST(sum(events.amount) * 100 AS BIGINT), CAST(sum(events.amount_count) AS BIGINT)
         FROM {table}, (VALUES {values}) s(i, lo, hi)
         WHERE events.day >= DATE '1970-01-01' + CAST($1 AS INTEGER)
           AND events.day < DATE '1970-01-01' + CAST($2 AS INTEGER)
           AND events.day >= DATE '1970-01-01' + s.lo AND events.day < DATE '1970-01-01' + s.hi
           AND ({predicate})
         GROUP BY 1, 2",
        table = rollup::facts::AS_EVENTS,
        values = values.join(", "),
        predicate = under.predicate,
    );
    let mut params = vec![first.to_string(), end.to_string()];
    params.extend(under.values.iter().cloned());
    for span in spans {
        out.buyers.insert(*span, Vec::new());
    }
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(duckdb::params_from_iter(&params))?;
    while let Some(row) = rows.next()? {
        let i: i64 = row.get(0)?;
        let buyer = Buyer::read(row, 1)?;
        let span = usize::try_from(i).ok().and_then(|i| spans.get(i));
        if let Some(list) = span.and_then(|s| out.buyers.get_mut(s)) {
            list.push(buyer);
        }
    }
    Ok(out)
}

/// A group of buyers: how many, their orders (Σ per buyer), their revenue in cents, and whether
/// any of them has an amount.
#[derive(Default)]
struct Group {
    buyers: u64,
    orders: u64,
    cents: i64,
    has_amount: bool,
}

impl Group {
    fn add(&mut self, buyer: &Buyer) {
        self.buyers += 1;
        self.orders += buyer.orders;
        self.cents += buyer.cents;
        self.has_amount |= buyer.amounts > 0;
    }

    /// Orders per buyer, `None` without buyers (`sum(orders) / nullif(count(*), 0)`).
    fn frequency(&self) -> Option<f64> {
        (self.buyers > 0).then(|| self.orders as f64 / self.buyers as f64)
    }

    /// `CAST(sum(revenue) AS DOUBLE)`: DuckDB casts the DECIMAL's integer of cents divided by 100.
    fn revenue(&self) -> f64 {
        self.cents as f64 / 100.0
    }
}

/// The value of `rule` over the days `[from, to)`, with `once` and `twice` the customers with an
/// interaction on at least one and at least two channels in those days (`None` for
/// [`BuyerRule::RepeatPurchase`], which does not read them).
pub(super) fn evaluate(
    rule: BuyerRule,
    facts: &Facts,
    (from, to): (i32, i32),
    channels: Option<(&RoaringBitmap, &RoaringBitmap)>,
) -> Option<f64> {
    let buyers = facts.buyers.get(&(from, to))?;
    let Some((once, twice)) = channels else {
        // Repeat purchase rate: count(*) FILTER (WHERE n >= 2) / count(*).
        let repeat = buyers.iter().filter(|b| b.orders >= 2).count();
        return (!buyers.is_empty()).then(|| repeat as f64 / buyers.len() as f64);
    };
    let (mut multi, mut single) = (Group::default(), Group::default());
    for buyer in buyers {
        if twice.contains(buyer.customer) {
            multi.add(buyer);
        } else if once.contains(buyer.customer) {
            single.add(buyer);
        }
    }
    // Revenue per order of a group, NULL when it has no orders or no amounts (a sum of NULLs).
    let value_per_order =
        |g: &Group| (g.orders > 0 && g.has_amount).then(|| g.revenue() / g.orders as f64);
    // The same with each buyer's revenue coalesced to 0: NULL only without buyers.
    let aov = |g: &Group| (g.buyers > 0).then(|| g.revenue() / g.orders as f64);
    match rule {
        BuyerRule::RepeatPurchase => None,
        BuyerRule::MultichannelFrequencyUplift => match (multi.frequency(), single.frequency()) {
            (Some(m), Some(s)) if s != 0.0 => Some(m / s),
            _ => None,
        },
        BuyerRule::MultichannelValueUplift => {
            match (value_per_order(&multi), value_per_order(&single)) {
                (Some(m), Some(s)) if s != 0.0 => Some(m / s - 1.0),
                _ => None,
            }
        }
        BuyerRule::MultichannelPurchaseFrequency => multi.frequency(),
        BuyerRule::SingleChannelPurchaseFrequency => single.frequency(),
        BuyerRule::MultichannelAov => aov(&multi),
        BuyerRule::SingleChannelAov => aov(&single),
    }
}
