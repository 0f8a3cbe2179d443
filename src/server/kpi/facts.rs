//! KPIs of per-customer orders and revenue answered from the purchase facts (`rollup_facts`,
//! docs/rollups.md): the repeat purchase rate and the multichannel comparisons (the uplifts and
//! the internal frequencies and order values by buyer group). Each customer's orders and
//! revenue come from the facts, their channels from the interaction sets of `rollup_sets`
//! ("seen on two channels", as the omnichannel share); the arithmetic follows each KPI's SQL in
//! `catalog.toml` step by step, so the doubles round the same (tests/rollup_properties.rs
//! holds the two equal).

use std::collections::HashMap;

use duckdb::Connection;
use roaring::RoaringBitmap;
use serde::Deserialize;

use super::query::KpiError;
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
struct Buyer {
    customer: u32,
    orders: u64,
    cents: i64,
    amounts: i64,
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
/// filter `predicate` (over `events`, placeholders from `$3`, values `filter_values`) keeps:
/// DuckDB groups the facts by span and customer, one statement for all the spans.
pub(super) fn fetch(
    conn: &Connection,
    spans: &[(i32, i32)],
    predicate: &str,
    filter_values: &[String],
) -> Result<Facts, KpiError> {
    let mut out = Facts::default();
    // Each span once, so that a span given twice does not count its buyers twice.
    let mut unique = spans.to_vec();
    unique.sort_unstable();
    unique.dedup();
    let spans = unique.as_slice();
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
    );
    let mut params = vec![first.to_string(), end.to_string()];
    params.extend(filter_values.iter().cloned());
    for span in spans {
        out.buyers.insert(*span, Vec::new());
    }
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(duckdb::params_from_iter(&params))?;
    while let Some(row) = rows.next()? {
        let i: i64 = row.get(0)?;
        let orders: i64 = row.get(2)?;
        let buyer = Buyer {
            customer: row.get(1)?,
            orders: u64::try_from(orders).unwrap_or(0),
            cents: row.get(3)?,
            amounts: row.get(4)?,
        };
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
