//! Per-customer purchase facts (`rollup_facts`, migration 0023): per local day × the filter
//! dimensions of `rollup_daily` × customer number × order number (the numbering tables of
//! `rollup_sets`), the purchase revenue of that customer's order there and how many amounts
//! it sums. The distinct (customer, order) pairs of identified purchases, so orders and
//! revenue per customer (repeat rate, the multichannel uplifts) are a small grouping instead
//! of a scan of `events`.
//!
//! This module owns the table: it is kept exactly like the sets, by recomputing whole local
//! days in the writer's transaction, always together with them ([`super::sets`] calls
//! [`replace`] after numbering the days' values), and verified row by row. The KPI engine reads
//! it through `kpi::sets`; nothing on a request path writes here.

use duckdb::{Connection, ToSql};

use super::Difference;

const FACTS_SQL: &str = include_str!("facts.sql");

/// The table the engine reads, aliased `events` so that the filter predicates written for
/// `events` apply unchanged (as [`super::DAILY_AS_EVENTS`]).
pub const AS_EVENTS: &str = "rollup_facts AS events";

/// The key of a row: the local day, the dimensions of `rollup_daily` but the event type (always
/// a purchase) and `identified` (always), the customer and the order.
const KEY: &[&str] = &[
    "day",
    "channel",
    "store_id",
    "campaign_id",
    "category",
    "touchpoint",
    "topic",
    "customer_no",
    "order_no",
];

const MEASURES: &[&str] = &["amount", "amount_count"];

/// Replaces the rows `delete` (a predicate over `rollup_facts`) keeps by the rows computed from
/// the events `filter` keeps (both the same local days). The values must be numbered already.
pub(super) fn replace(
    conn: &Connection,
    filter: &str,
    delete: &str,
    params: &[&dyn ToSql],
) -> Result<(), duckdb::Error> {
    conn.execute(&format!("DELETE FROM rollup_facts WHERE {delete}"), [])?;
    conn.execute(
        &format!(
            "INSERT INTO rollup_facts BY NAME {}",
            FACTS_SQL
                .replace("{events}", "events")
                .replace("{filter}", filter)
        ),
        params,
    )?;
    Ok(())
}

/// Adds the facts of the purchase events of `loaded` (a table shaped as `events`, from the
/// caller's constant), which are new to the table (a load's): each key's amounts are summed
/// with the stored row's, and the rows of the keys they touch replaced.
pub(super) fn add(conn: &Connection, loaded: &str) -> Result<(), duckdb::Error> {
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TEMP TABLE rollup_facts_delta AS {}",
        FACTS_SQL
            .replace("{events}", loaded)
            .replace("{filter}", "true")
    ))?;
    let same: Vec<String> = KEY
        .iter()
        .map(|k| format!("d.{k} IS NOT DISTINCT FROM rollup_facts.{k}"))
        .collect();
    let touched = format!(
        "rollup_facts.day IN (SELECT DISTINCT day FROM rollup_facts_delta)
         AND EXISTS (SELECT 1 FROM rollup_facts_delta d WHERE {})",
        same.join(" AND ")
    );
    let sums: Vec<String> = MEASURES
        .iter()
        .map(|m| format!("sum({m}) AS {m}"))
        .collect();
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TEMP TABLE rollup_facts_merged AS
             SELECT {key}, {sums}
             FROM (SELECT * FROM rollup_facts WHERE {touched}
                   UNION ALL BY NAME
                   SELECT * FROM rollup_facts_delta)
             GROUP BY {key};
         DELETE FROM rollup_facts WHERE {touched};
         INSERT INTO rollup_facts BY NAME SELECT * FROM rollup_facts_merged;
         DROP TABLE rollup_facts_delta;
         DROP TABLE rollup_facts_merged;",
        key = KEY.join(", "),
        sums = sums.join(", "),
    ))
}

/// Recomputes every row from the raw events and lists the rows that differ from the stored
/// ones (a key stored twice shows as its sum, as a reader would see it).
pub(super) fn verify(conn: &Connection, out: &mut Vec<Difference>) -> Result<(), duckdb::Error> {
    let raw = FACTS_SQL
        .replace("{events}", "events")
        .replace("{filter}", "true");
    super::compare(conn, "rollup_facts", &raw, (KEY, MEASURES), out)
}
