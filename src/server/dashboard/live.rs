//! The data version open dashboards poll to know when to refresh: the number of the latest
//! load (file, CLI or API batch). It only grows, and it is one indexed `max` on a small
//! table, so polling it every few seconds costs nothing next to recomputing a view.

use duckdb::Connection;

use super::DashboardError;

/// The id of the latest load, or 0 before the first one.
pub fn data_version(conn: &Connection) -> Result<i64, DashboardError> {
    Ok(
        conn.query_row("SELECT coalesce(max(load_id), 0) FROM loads", [], |r| {
            r.get(0)
        })?,
    )
}
