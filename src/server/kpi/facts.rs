//! KPIs of per-customer orders and revenue answered from the purchase facts (`rollup_facts`,
//! docs/rollups.md): the repeat purchase rate and the multichannel comparisons (the uplifts and
//! the internal frequencies and order values by buyer group). Each customer's orders and
//! revenue come from the facts, their channels from the interaction sets of `rollup_sets`
//! ("seen on two channels", as the omnichannel share); the arithmetic follows each KPI's SQL in
//! `catalog.toml` step by step, so the doubles round the same (tests/rollup_properties.rs
//! holds the two equal).

use std::collections::BTreeMap;

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

/// One `rollup_facts` row as read.
struct Fact {
    day: i32,
    customer: u32,
    order: u32,
    cents: i64,
    amounts: i64,
}

/// The facts of a range of days, in day order.
#[derive(Default)]
pub(super) struct Facts {
    rows: Vec<Fact>,
}

/// Reads the facts of the days `[first, end)` that the filter `predicate` (over `events`,
/// placeholders from `$3`, values `filter_values`) keeps.
pub(super) fn fetch(
    conn: &Connection,
    first: i32,
    end: i32,
    predicate: &str,
    filter_values: &[String],
) -> Result<Facts, KpiError> {
    let sql = format!(
        "SELECT CAST(day - DATE '1970-01-01' AS INTEGER), CAST(customer_no AS UINTEGER),
                CAST(order_no AS UINTEGER), CAST(amount * 100 AS BIGINT), amount_count
         FROM {table}
         WHERE day >= DATE '1970-01-01' + CAST($1 AS INTEGER)
           AND day < DATE '1970-01-01' + CAST($2 AS INTEGER)
           AND ({predicate})
         ORDER BY 1",
        table = rollup::facts::AS_EVENTS,
    );
    let mut params = vec![first.to_string(), end.to_string()];
    params.extend(filter_values.iter().cloned());
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map(duckdb::params_from_iter(&params), |r| {
            Ok(Fact {
                day: r.get(0)?,
                customer: r.get(1)?,
                order: r.get(2)?,
                cents: r.get(3)?,
                amounts: r.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Facts { rows })
}

/// One buyer of a period: distinct orders, Σ amount in cents (0 without amounts), and how many
/// amounts that sums (0: the SQL's revenue is NULL).
#[derive(Default)]
struct Buyer {
    orders: RoaringBitmap,
    cents: i64,
    amounts: i64,
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
        self.orders += buyer.orders.len();
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
    let start = facts.rows.partition_point(|f| f.day < from);
    let end = facts.rows.partition_point(|f| f.day < to).max(start);
    let mut buyers: BTreeMap<u32, Buyer> = BTreeMap::new();
    for fact in &facts.rows[start..end] {
        let buyer = buyers.entry(fact.customer).or_default();
        buyer.orders.insert(fact.order);
        buyer.cents += fact.cents;
        buyer.amounts += fact.amounts;
    }
    let Some((once, twice)) = channels else {
        // Repeat purchase rate: count(*) FILTER (WHERE n >= 2) / count(*).
        let repeat = buyers.values().filter(|b| b.orders.len() >= 2).count();
        return (!buyers.is_empty()).then(|| repeat as f64 / buyers.len() as f64);
    };
    let (mut multi, mut single) = (Group::default(), Group::default());
    for (customer, buyer) in &buyers {
        if twice.contains(*customer) {
            multi.add(buyer);
        } else if once.contains(*customer) {
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
