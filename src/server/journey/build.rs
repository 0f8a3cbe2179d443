//! Cutting touchpoints into journeys, in DuckDB SQL with window functions.
//!
//! A journey is one stitched customer's journey steps (event types with
//! `event_types.journey_step`) in time order. A new journey starts at the customer's first
//! step, after a purchase (a journey ends at its purchase: converted), and after a gap of more
//! than the inactivity window (setting `journey_inactivity_days`, default 30 days, counted as
//! 30 × 24 h so a daylight-saving night does not stretch it): the journey before it ended without a purchase (abandoned). A journey whose last step
//! is less than the window before the data's latest event may still convert: it is open.
//!
//! The lines of one order are one step (at its first line, with the order's total). Steps at
//! the same instant are ordered with the purchase last, then by source and event id, so the
//! order is total and the same data always gives the same journeys.
//!
//! After a load the tables are updated, not rebuilt ([`update_in`]): only the customers whose
//! journey steps changed (new events, events stitched to them late, merges, a longer order)
//! are cut again. Which ones is found by comparing, per customer, the count and a sum of
//! hashes of the step rows the events give with those `journey_steps` holds, over every
//! customer, or, when the caller knows them ([`update_touched_in`]: a load passes the
//! customers its stitch moved events to or from), over those only, so a small batch does not
//! read every customer's events; the statuses of
//! the other customers' journeys are then brought up to the data's new clock (an open journey
//! may have become abandoned). A customer's journeys depend on nothing but their own steps,
//! the window and that clock, so the result equals a full rebuild (tests/journeys.rs checks
//! this on random splits of random loads) except for journey numbers: rebuilt journeys take
//! new numbers after the highest, so a link to a journey never shows another one.
//!
//! [`rebuild_in`] rebuilds the tables whole (`omnikpi journey rebuild`, identity rebuilds, the
//! demo); [`update_in`] falls back to it when the inactivity window changed since the tables
//! were built (setting `journey_built_days`, written by both).

use duckdb::Connection;

use super::JourneyError;
use crate::server::db::Db;

/// Rebuilds `journeys` and `journey_steps` in one transaction (`omnikpi journey rebuild`);
/// returns the number of journeys.
pub fn rebuild(db: &Db) -> Result<u64, JourneyError> {
    let _writer = db.write_lock();
    let mut conn = db.connect()?;
    let tx = conn.transaction()?;
    let journeys = rebuild_in(&tx)?;
    tx.commit()?;
    Ok(journeys)
}

/// Rebuilds the journey tables on `conn`, inside the caller's transaction (a load holds the
/// writer lock and calls this after identity stitching).
pub fn rebuild_in(conn: &Connection) -> Result<u64, duckdb::Error> {
    let window_days = inactivity_days(conn)?;
    let mut laps = crate::server::ops::laps::Laps::start("journey rebuild");
    conn.execute_batch("DELETE FROM journey_steps; DELETE FROM journeys;")?;
    laps.lap("clear");
    conn.execute(&steps_sql(""), [window_days, 0])?;
    laps.lap("steps");
    read_clock(conn)?;
    conn.execute(JOURNEYS_SQL, [window_days, 0])?;
    conn.execute_batch("DROP TABLE journey_clock;")?;
    laps.lap("journeys");
    super::rollup::rebuild_in(conn)?;
    laps.lap("rollup");
    record_window(conn, window_days)?;
    let n: i64 = conn.query_row("SELECT count(*) FROM journeys", [], |r| r.get(0))?;
    Ok(n as u64)
}

/// What [`update_in`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Update {
    /// Customers whose journeys were cut again (all of them after a full rebuild).
    pub customers: u64,
    /// Whether the window changed, so everything was rebuilt.
    pub full: bool,
}

/// Brings the journey tables up to date with `events` after a load, inside the caller's
/// transaction: only the customers whose steps changed are cut again (see the module).
pub fn update_in(conn: &Connection) -> Result<Update, duckdb::Error> {
    update_touched_in(conn, None)
}

/// [`update_in`] comparing only the customers of the temporary table `touched` (a one-column
/// `customer_id` table, such as `identity::TOUCHED`): correct when every customer whose events
/// changed since the last update is in it.
pub fn update_touched_in(
    conn: &Connection,
    touched: Option<&str>,
) -> Result<Update, duckdb::Error> {
    let mut laps = crate::server::ops::laps::Laps::start("journey update");
    let window_days = inactivity_days(conn)?;
    let built: Option<i64> = conn.query_row(
        "SELECT max(try_cast(value AS BIGINT)) FROM settings WHERE key = 'journey_built_days'",
        [],
        |r| r.get(0),
    )?;
    let any: i64 = conn.query_row("SELECT count(*) FROM journeys", [], |r| r.get(0))?;
    if built != Some(window_days) && any > 0 {
        rebuild_in(conn)?;
        let customers: i64 = conn.query_row(
            "SELECT count(DISTINCT customer_id) FROM journeys",
            [],
            |r| r.get(0),
        )?;
        return Ok(Update {
            customers: customers as u64,
            full: true,
        });
    }
    // The table name comes from the caller's constant, never from input. The touched
    // customers' events and steps are found by row id first (crate::server::rowids): the step
    // rows read most of their columns, which a plain IN would read of every row.
    let (events_of, steps_of) = match touched {
        Some(table) => {
            let theirs = format!("e.customer_id IN (SELECT customer_id FROM {table})");
            let rowids = crate::server::rowids::find;
            rowids(
                conn,
                "journey_rows",
                "events",
                std::slice::from_ref(&theirs),
                &[],
            )?;
            laps.lap("their events");
            rowids(conn, "journey_step_rows", "journey_steps", &[theirs], &[])?;
            laps.lap("their steps");
            (
                format!("AND {}", crate::server::rowids::listed("journey_rows")),
                format!(
                    "e WHERE {}",
                    crate::server::rowids::listed("journey_step_rows")
                ),
            )
        }
        None => (String::new(), String::new()),
    };
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TEMP TABLE journey_touched AS
         WITH {},
         cur AS (SELECT customer_id, count(*) AS n, sum(CAST({ROW_HASH} AS HUGEINT)) AS h
                 FROM steps GROUP BY customer_id),
         was AS (SELECT customer_id, count(*) AS n, sum(CAST({ROW_HASH} AS HUGEINT)) AS h
                 FROM journey_steps {steps_of} GROUP BY customer_id)
         SELECT coalesce(cur.customer_id, was.customer_id) AS customer_id
         FROM cur FULL OUTER JOIN was ON cur.customer_id = was.customer_id
         WHERE cur.n IS DISTINCT FROM was.n OR cur.h IS DISTINCT FROM was.h;",
        steps_cte(&events_of)
    ))?;
    let customers: i64 =
        conn.query_row("SELECT count(*) FROM journey_touched", [], |r| r.get(0))?;
    laps.lap(format!("compare ({customers} customers)"));
    // The rollup follows every change below when it is in the connection's zone; otherwise it
    // is rebuilt at the end.
    let keep = super::rollup::current(conn)?;
    // No event changes below: the clock is read once, for the journeys cut and the statuses.
    read_clock(conn)?;
    if customers > 0 {
        // New numbers start after the highest ever given (kept in the steps as well).
        let offset: i64 = conn.query_row(
            "SELECT greatest(coalesce((SELECT max(journey_id) FROM journeys), 0),
                             coalesce((SELECT max(journey_id) FROM journey_steps), 0))",
            [],
            |r| r.get(0),
        )?;
        if keep {
            super::rollup::patch(conn, TOUCHED_JOURNEYS, &[], -1)?;
        }
        laps.lap("rollup patched out");
        // Their steps are among those set aside above when there are some: those row ids are
        // narrowed to the customers cut again, then deleted by row id alone (a condition on
        // `customer_id` as well would read that column of every step).
        match touched {
            Some(_) => conn.execute_batch(
                "CREATE OR REPLACE TEMP TABLE journey_step_gone AS
                     SELECT e.rowid AS r FROM journey_steps e
                     WHERE e.rowid IN (SELECT r FROM journey_step_rows)
                       AND e.customer_id IN (SELECT customer_id FROM journey_touched);
                 DELETE FROM journey_steps WHERE rowid IN (SELECT r FROM journey_step_gone);
                 DROP TABLE journey_step_gone;",
            )?,
            None => conn.execute_batch(
                "DELETE FROM journey_steps
                 WHERE customer_id IN (SELECT customer_id FROM journey_touched);",
            )?,
        }
        laps.lap("steps deleted");
        conn.execute_batch(
            "DELETE FROM journeys WHERE customer_id IN (SELECT customer_id FROM journey_touched);",
        )?;
        laps.lap("journeys deleted");
        // Those customers' events are among the ones set aside above when there are some.
        let only = match touched {
            Some(_) => format!(
                "{events_of} AND e.customer_id IN (SELECT customer_id FROM journey_touched)"
            ),
            None => "AND e.customer_id IN (SELECT customer_id FROM journey_touched)".to_string(),
        };
        conn.execute(&steps_sql(&only), [window_days, offset])?;
        laps.lap("steps cut");
        conn.execute(JOURNEYS_SQL, [window_days, offset])?;
        laps.lap("journeys");
        if keep {
            // The journeys just cut are those numbered past `offset`: only the end of the
            // journeys and steps tables is read for them (their customers' journeys, spread
            // over the tables, would read a column of every row).
            super::rollup::patch(conn, CUT_JOURNEYS, &[&offset], 1)?;
            laps.lap("rollup patched");
            super::funnel::facts::refresh(
                conn,
                "SELECT customer_id FROM journey_touched",
                "e.journey_id > ?",
                &[&offset],
            )?;
            laps.lap("funnel facts");
        }
    }
    if keep {
        match touched {
            // The table name comes from the caller's constant, never from input.
            // Both are customers of `table`, whose events `journey_rows` lists.
            Some(table) => {
                super::rollup::refresh_handoffs(
                    conn,
                    &format!(
                        "SELECT customer_id FROM journey_touched
                         UNION SELECT customer_id FROM {table}"
                    ),
                    &crate::server::rowids::listed("journey_rows"),
                )?;
                laps.lap("hand-offs");
                // The customers cut again are among the write's.
                super::pain::facts::refresh(
                    conn,
                    &format!("SELECT customer_id FROM {table}"),
                    "journey_rows",
                )?;
                laps.lap("anchor facts");
                crate::server::rollup::customer_facts::refresh(
                    conn,
                    &format!("SELECT customer_id FROM {table}"),
                    "journey_rows",
                )?;
                laps.lap("customer facts");
            }
            // Without the write's customers, every customer's facts are redone.
            None => {
                super::rollup::rebuild_handoffs(conn)?;
                super::pain::facts::rebuild_in(conn)?;
                crate::server::rollup::customer_facts::rebuild_in(conn)?;
                laps.lap("hand-offs, anchor and customer facts");
            }
        }
    }
    conn.execute_batch(
        "DROP TABLE IF EXISTS journey_touched;
         DROP TABLE IF EXISTS journey_rows;
         DROP TABLE IF EXISTS journey_step_rows;",
    )?;
    // The clock may have moved: an open journey of anyone may now be over.
    // Only the journeys whose status changes are written: most keep theirs. The rollup takes
    // them out before and back after (the same ones: nothing else changes in between).
    if keep {
        conn.execute(
            &format!(
                "CREATE OR REPLACE TEMP TABLE journey_restatus AS
                 SELECT journey_id FROM journeys WHERE {RESTATUS}"
            ),
            [window_days],
        )?;
        let changing: i64 =
            conn.query_row("SELECT count(*) FROM journey_restatus", [], |r| r.get(0))?;
        // Most writes do not move the clock past anyone's window: nothing to patch then.
        if changing > 0 {
            super::rollup::patch(conn, RESTATUS_JOURNEYS, &[], -1)?;
            conn.execute_batch(
                "UPDATE journeys SET status = 'abandoned'
                 WHERE journey_id IN (SELECT journey_id FROM journey_restatus);",
            )?;
            super::rollup::patch(conn, RESTATUS_JOURNEYS, &[], 1)?;
            super::rollup::restatus_handoffs(conn)?;
        }
        conn.execute_batch("DROP TABLE journey_restatus;")?;
    } else {
        conn.execute(
            &format!("UPDATE journeys SET status = 'abandoned' WHERE {RESTATUS}"),
            [window_days],
        )?;
        super::rollup::rebuild_in(conn)?;
    }
    conn.execute_batch("DROP TABLE journey_clock;")?;
    laps.lap("statuses");
    record_window(conn, window_days)?;
    Ok(Update {
        customers: customers as u64,
        full: false,
    })
}

/// The journeys of the customers being cut again (a condition on `j`).
const TOUCHED_JOURNEYS: &str = "j.customer_id IN (SELECT customer_id FROM journey_touched)";

/// The journeys those customers were just cut into: numbered past the highest number before
/// the cut (`$1`), as every journey cut takes a new number (a condition on `j`).
const CUT_JOURNEYS: &str = "j.journey_id > ?";

/// The journeys whose status the clock changes (to abandoned): open ones whose window has
/// passed; `$1` is the window in days. The clock
/// (the latest event) only moves forward, as no write deletes an event, so an abandoned
/// journey never reopens; a journey cut again takes its status when it is cut. Only the open
/// journeys are read (4 % of them at 10M events), not every journey's end.
const RESTATUS: &str = "status = 'open'
     AND ended_at + to_hours(CAST($1 AS BIGINT) * 24) < (SELECT as_of FROM journey_clock)";

/// The journeys listed in `journey_restatus` (a condition on `j`).
const RESTATUS_JOURNEYS: &str = "j.journey_id IN (SELECT journey_id FROM journey_restatus)";

/// Sets the data's clock (the latest event) aside in the temporary table `journey_clock`
/// (`as_of`), for the statuses of the journeys cut and of the others: the rollups' clock and
/// the load's new events (`rollup::set_clock_aside`), never a scan of every event.
fn read_clock(conn: &Connection) -> Result<(), duckdb::Error> {
    crate::server::rollup::set_clock_aside(conn, "journey_clock")
}

fn record_window(conn: &Connection, days: i64) -> Result<(), duckdb::Error> {
    conn.execute(
        "INSERT INTO settings (key, value) VALUES ('journey_built_days', CAST(? AS VARCHAR))
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()",
        [days],
    )?;
    Ok(())
}

/// The inactivity window in days (setting `journey_inactivity_days`, 1 to 3650, default 30).
pub fn inactivity_days(conn: &Connection) -> Result<i64, duckdb::Error> {
    let value: Option<i64> = conn.query_row(
        "SELECT max(try_cast(value AS BIGINT)) FROM settings WHERE key = 'journey_inactivity_days'",
        [],
        |r| r.get(0),
    )?;
    Ok(value.unwrap_or(30).clamp(1, 3650))
}

/// A hash of one step row over every column `journey_steps` keeps from the events (the same
/// names in the `steps` CTE and in the table).
const ROW_HASH: &str = "hash(customer_id, source, event_id, occurred_at, channel, touchpoint, \
     event_type, order_id, order_key, amount, store_id, campaign_id, category, sku, topic, \
     attributes)";

/// The step rows of the events: `base` (the journey-step events of known customers, `{only}`
/// narrowing them), `lines` (the purchase lines of each order) and `steps` (one row per
/// non-purchase event and per order, with the order's total).
const STEPS_CTE: &str = include_str!("build/steps.sql");

fn steps_cte(only: &str) -> String {
    super::render(STEPS_CTE, &[("only", only)])
}

/// Inserts the journey steps of the customers `only` selects (a condition on `e`, from a
/// fixed list in this module), numbering journeys from `$2 + 1`; `$1` is the window in days.
fn steps_sql(only: &str) -> String {
    super::render(INSERT_STEPS_SQL, &[("steps", &steps_cte(only))])
}

/// The statement of [`steps_sql`], with the `steps` slot.
const INSERT_STEPS_SQL: &str = include_str!("build/insert_steps.sql");

/// Inserts the journeys of the steps numbered above `$2`; `$1` is the window in days.
const JOURNEYS_SQL: &str = include_str!("build/insert_journeys.sql");
