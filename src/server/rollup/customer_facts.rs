//! Customer facts (`customer_facts`, migration 0029): what the KPIs that judge a purchase, an
//! order or an e-mail by its customer's other events need, so that they read a narrow table
//! instead of joining `events` with itself. ROAS's attributed revenue, webrooming and
//! showrooming judge a purchase or an order by what its customer did in the 7 days before;
//! the e-mail rates pair a campaign's sends to a customer with that customer's opens or
//! clicks. One row per KPI, customer, order or campaign and instant, with the events the KPI
//! counts there, the hits among them and the hit lines' revenue ([`FACTS_SQL`]); each KPI's
//! `facts` query in the catalog reads the rows of its period.
//!
//! A row depends on its customer's events alone, so it changes only when they do: the journey
//! builder, which knows the customers every write touched (loads, API batches, merges),
//! recomputes theirs in the writer's transaction ([`refresh`]); an erasure takes out the
//! customer's ([`forget`]) and has the builder redo the other customers whose events it
//! anonymised; every full rebuild of the journey rollup (a split, an identity
//! rebuild, a change of time zone, `rollup rebuild`) rebuilds them ([`rebuild_in`]). The rows
//! hold instants, not days, so they do not depend on the time zone. `omnikpi rollup verify`
//! compares them row by row ([`verify`]); `tests/rollup_properties.rs` holds each KPI read
//! from them equal to its raw query.

use duckdb::Connection;

use super::{Difference, FactTable};

/// The table, with [`FACTS_SQL`]: the rows of the customers whose every event `{events}` holds.
const TABLE: FactTable = FactTable {
    name: "customer_facts",
    sql: FACTS_SQL,
    key: &["kpi", "customer_id", "order_key", "line_at"],
    measures: &["lines", "hit_lines", "hit_amount"],
};

const FACTS_SQL: &str = include_str!("customer_facts.sql");

/// Recomputes every row from the events, inside the caller's transaction.
pub(crate) fn rebuild_in(conn: &Connection) -> Result<(), duckdb::Error> {
    TABLE.rebuild_in(conn)
}

/// Recomputes the rows of the customers `customers` lists (a query of one `customer_id`
/// column, from the builder's constants: every customer the write moved events to or from, or
/// added events of). `rows` is the builder's temporary table of the row ids (column `r`) of
/// every event of those customers: their events are copied by row id
/// (`crate::server::rowids`), so the lookups read a few hundred rows, not `events`.
pub(crate) fn refresh(conn: &Connection, customers: &str, rows: &str) -> Result<(), duckdb::Error> {
    let listed = crate::server::rowids::listed(rows);
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TEMP TABLE customer_fact_events AS
             SELECT e.customer_id, e.event_type, e.channel, e.occurred_at, e.order_id,
                    e.source, e.event_id, e.amount, e.campaign_id
             FROM events e
             WHERE {listed} AND e.customer_id IN ({customers});
         DELETE FROM customer_facts WHERE customer_id IN ({customers});
         INSERT INTO customer_facts BY NAME {};
         DROP TABLE customer_fact_events;",
        TABLE.rows_of("customer_fact_events")
    ))
}

/// Takes out the rows of one customer (an erasure: their events stay, anonymous, so they are
/// nobody's purchases any more).
pub(crate) fn forget(conn: &Connection, customer_id: i64) -> Result<(), duckdb::Error> {
    conn.execute(
        "DELETE FROM customer_facts WHERE customer_id = ?",
        [customer_id],
    )?;
    Ok(())
}

/// Recomputes every row from the raw events and lists the rows that differ from the stored
/// ones.
pub(crate) fn verify(conn: &Connection, out: &mut Vec<Difference>) -> Result<(), duckdb::Error> {
    TABLE.verify(conn, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::db::{Db, DbError};

    #[test]
    fn the_facts_fill_every_column_of_the_table() -> Result<(), DbError> {
        let db = Db::open_in_memory("Europe/Rome")?;
        let conn = db.connect()?;
        rebuild_in(&conn)?;
        let mut differences = Vec::new();
        verify(&conn, &mut differences)?;
        assert!(differences.is_empty(), "{differences:?}");
        Ok(())
    }
}
