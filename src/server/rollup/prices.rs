//! Purchase prices per local day, SKU and channel (`rollup_prices`, migration 0032): what the
//! channel price gap needs, so that it reads a small table instead of every purchase line of
//! the period. Each row holds the lines that carry a unit price and the exact sum of their
//! prices ([`PRICES_SQL`]); the KPI's `facts` query in the catalog averages them per SKU and
//! channel and per SKU, as its raw query does over `events`.
//!
//! A row depends on its events' instant, type, SKU, channel and unit price. No write changes
//! those after the load (stitching, splits and erasures change customers and identifiers), so
//! only a load adds to the table, in its transaction ([`add_loaded`], from
//! [`super::add_loaded`]); every rebuild of the rollups rebuilds it. Days are local, like
//! `rollup_daily`'s, and read only while the rollups are current. `omnikpi rollup verify`
//! compares it row by row ([`verify`]); `tests/rollup_properties.rs` holds the KPI read from
//! it equal to its raw query, bit for bit.

use duckdb::Connection;

use super::{Additive, Difference};

/// The table: its key and its additive measures, the first one the count of lines.
pub(super) const TABLE: Additive = Additive {
    name: "rollup_prices",
    key: &["day", "sku", "channel"],
    measures: &["prices", "price_total"],
};

const PRICES_SQL: &str = include_str!("prices.sql");

/// The rows of the events that `filter` (an SQL predicate over `e`) keeps. The SQL reads
/// alike in DuckDB and Spark: the Spark build runs it as it is.
pub(crate) fn rows(filter: &str) -> String {
    PRICES_SQL.replace("{filter}", filter)
}

/// Adds the purchase lines of the loads after `through` (before `rollup_state.loaded_through`
/// moves past them): their rows are merged into those of the days they fall on.
pub(super) fn add_loaded(conn: &Connection, through: i64) -> Result<(), duckdb::Error> {
    super::merge(conn, &TABLE, &rows("e.load_id > ?"), &[&through])
}

/// Recomputes every row from the events, inside the caller's transaction.
pub(super) fn rebuild_in(conn: &Connection) -> Result<(), duckdb::Error> {
    conn.execute_batch(&format!(
        "DELETE FROM {name}; INSERT INTO {name} BY NAME {rows};",
        name = TABLE.name,
        rows = rows("true"),
    ))
}

/// Recomputes every row from the raw events and lists the rows that differ from the stored
/// ones.
pub(super) fn verify(conn: &Connection, out: &mut Vec<Difference>) -> Result<(), duckdb::Error> {
    super::compare(
        conn,
        TABLE.name,
        &rows("true"),
        (TABLE.key, TABLE.measures),
        out,
    )
}
