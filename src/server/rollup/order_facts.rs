//! Order facts (`order_facts`, migration 0030): what the KPIs that judge a reservation or a
//! return by the other events of its order need, so that they read a narrow table instead of
//! joining `events` with itself. The pickup rate judges an order's reservations by a pickup
//! within 168 hours of its first one; the cross-channel return rate judges a return by the
//! channel class of its order's purchases. One row per KPI, order and instant, with the
//! reservations or returns there and the hits among them ([`FACTS_SQL`]); each KPI's `facts`
//! query in the catalog reads the rows of its period.
//!
//! A row depends on its order's events alone, whoever's they are, and no write takes an event
//! out or gives it another order (stitching, splits and erasures change customers and
//! identifiers only). So a load recomputes the rows of the orders its new events name, in its
//! transaction ([`add_loaded`], from [`super::add_loaded`]); every rebuild of the rollups
//! rebuilds them ([`rebuild_in`]). The rows hold instants, so they do not depend on the time
//! zone. `omnikpi rollup verify` compares them row by row ([`verify`]);
//! `tests/rollup_properties.rs` holds each KPI read from them equal to its raw query.

use duckdb::Connection;

use super::{Difference, FactTable};

/// The table, with [`FACTS_SQL`]: the rows of the orders whose every event `{events}` holds.
const TABLE: FactTable = FactTable {
    name: "order_facts",
    sql: FACTS_SQL,
    key: &["kpi", "order_id", "line_at"],
    measures: &["lines", "hit_lines"],
};

const FACTS_SQL: &str = include_str!("order_facts.sql");

/// Recomputes every row from the events, inside the caller's transaction.
pub(super) fn rebuild_in(conn: &Connection) -> Result<(), duckdb::Error> {
    TABLE.rebuild_in(conn)
}

/// Recomputes the rows of the orders that the events of the loads after `through` name
/// (before `rollup_state.loaded_through` moves past them). The orders' events are found by
/// row id (`crate::server::rowids`: one scan of `order_id`) and copied, so the facts read a
/// few rows, not `events`.
pub(super) fn add_loaded(conn: &Connection, through: i64) -> Result<(), duckdb::Error> {
    set_aside_new_orders(conn, "order_facts_orders", through)?;
    crate::server::rowids::find(
        conn,
        "order_facts_rows",
        "events",
        &["e.order_id IN (SELECT order_id FROM order_facts_orders)".to_string()],
        &[],
    )?;
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TEMP TABLE order_fact_events AS
             SELECT e.event_type, e.channel, e.order_id, e.occurred_at
             FROM events e WHERE {listed};
         DELETE FROM order_facts WHERE order_id IN (SELECT order_id FROM order_facts_orders);
         INSERT INTO order_facts BY NAME {rows};
         DROP TABLE order_fact_events;
         DROP TABLE order_facts_rows;
         DROP TABLE order_facts_orders;",
        listed = crate::server::rowids::listed("order_facts_rows"),
        rows = TABLE.rows_of("order_fact_events"),
    ))
}

/// Sets aside in the temporary table `into` (one `order_id` column; its name from the
/// caller's constants) the orders that the events of the loads after `through` name. Alone in
/// its statement: inside an `IN`, DuckDB planned the lookup of the new events as a scan of
/// the other side first (80 ms at 10M events for the anchor facts).
pub(crate) fn set_aside_new_orders(
    conn: &Connection,
    into: &str,
    through: i64,
) -> Result<(), duckdb::Error> {
    conn.execute(
        &format!(
            "CREATE OR REPLACE TEMP TABLE {into} AS
                 SELECT DISTINCT e.order_id FROM events e
                 WHERE e.load_id > ? AND e.order_id IS NOT NULL"
        ),
        [through],
    )?;
    Ok(())
}

/// Recomputes every row from the raw events and lists the rows that differ from the stored
/// ones.
pub(super) fn verify(conn: &Connection, out: &mut Vec<Difference>) -> Result<(), duckdb::Error> {
    TABLE.verify(conn, out)
}
