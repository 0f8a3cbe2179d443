//! Reading the few rows of a big table that a write touches (the events of a batch's
//! identifiers, of its customers), without reading every column of every row.
//!
//! DuckDB plans `SELECT many columns FROM events WHERE customer_id IN (SELECT ...)` as a scan
//! of every column followed by the semi-join: at 10M events that is seconds, whatever the
//! size of the list. Its row ids, found first into a temporary table (a scan of the one
//! column the predicate reads, one statement per predicate so that no `OR` keeps a join's
//! filter out of the scan), then fetch the rows by row id: only the row groups that hold them
//! are read. Row ids are stable within the transaction that reads them, which is the only
//! place they are used: each table set aside here lives and dies in the writer's transaction.

use duckdb::{Connection, ToSql};

/// Creates (or replaces) the temporary table `into` (one BIGINT column `r`) of the row ids of
/// the rows of `table` (aliased `e`) that any of `predicates` keeps; `params` are bound to
/// every predicate (`$1`, `$2`: each predicate may use any of them). Table and predicates come
/// from the callers' constants, never from input.
pub fn find(
    conn: &Connection,
    into: &str,
    table: &str,
    predicates: &[String],
    params: &[&dyn ToSql],
) -> Result<usize, duckdb::Error> {
    let selects: Vec<String> = predicates
        .iter()
        .map(|p| format!("SELECT e.rowid AS r FROM {table} e WHERE {p}"))
        .collect();
    let body = if selects.is_empty() {
        "SELECT CAST(NULL AS BIGINT) AS r WHERE false".to_string()
    } else {
        selects.join(" UNION ")
    };
    conn.execute(
        &format!("CREATE OR REPLACE TEMP TABLE {into} AS {body}"),
        params,
    )
}

/// The condition (over `e`, a row of the table the row ids were found in) that keeps the rows
/// whose ids the temporary table `ids` (made by [`find`]) lists.
pub fn listed(ids: &str) -> String {
    format!("e.rowid IN (SELECT r FROM {ids})")
}
