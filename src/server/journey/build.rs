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
//! The tables are rebuilt whole from `events`: anonymous events that a later event stitched to
//! a customer (a cookie linked at checkout) take their place in that customer's journeys.

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
    conn.execute_batch("DELETE FROM journey_steps; DELETE FROM journeys;")?;
    conn.execute(STEPS_SQL, [window_days])?;
    conn.execute(JOURNEYS_SQL, [window_days])?;
    let n: i64 = conn.query_row("SELECT count(*) FROM journeys", [], |r| r.get(0))?;
    Ok(n as u64)
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

const STEPS_SQL: &str = "
INSERT INTO journey_steps
WITH base AS (
    SELECT e.customer_id, e.source, e.event_id, e.occurred_at, e.channel, e.touchpoint,
           e.event_type, e.order_id,
           CASE WHEN e.event_type = 'purchase'
                THEN coalesce(e.order_id, e.source || ':' || e.event_id) END AS order_key,
           e.amount, e.store_id, e.campaign_id, e.category, e.sku, e.topic, e.attributes
    FROM events e JOIN event_types t USING (event_type)
    WHERE e.customer_id IS NOT NULL AND t.journey_step IS TRUE),
lines AS (
    SELECT *,
           row_number() OVER (PARTITION BY customer_id, order_key
                              ORDER BY occurred_at, source, event_id) AS line,
           sum(amount) OVER (PARTITION BY customer_id, order_key) AS order_total
    FROM base WHERE event_type = 'purchase'),
steps AS (
    SELECT customer_id, source, event_id, occurred_at, channel, touchpoint, event_type,
           order_id, order_key, CAST(amount AS DECIMAL(18, 2)) AS amount, store_id,
           campaign_id, category, sku, topic, attributes
    FROM base WHERE event_type <> 'purchase'
    UNION ALL
    SELECT customer_id, source, event_id, occurred_at, channel, touchpoint, event_type,
           order_id, order_key, CAST(order_total AS DECIMAL(18, 2)), store_id, campaign_id,
           category, sku, topic, attributes
    FROM lines WHERE line = 1),
ordered AS (
    SELECT *,
           row_number() OVER w AS seq,
           lag(occurred_at) OVER w AS prev_at,
           lag(event_type) OVER w AS prev_type
    FROM steps
    WINDOW w AS (PARTITION BY customer_id
                 ORDER BY occurred_at, event_type = 'purchase', source, event_id)),
cut AS (
    SELECT *,
           sum(CASE WHEN prev_at IS NULL OR prev_type = 'purchase'
                         OR occurred_at > prev_at + to_hours(CAST($1 AS BIGINT) * 24)
                    THEN 1 ELSE 0 END)
               OVER (PARTITION BY customer_id ORDER BY seq
                     ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS journey_no
    FROM ordered)
SELECT dense_rank() OVER (ORDER BY customer_id, journey_no) AS journey_id,
       CAST(row_number() OVER (PARTITION BY customer_id, journey_no ORDER BY seq) AS INTEGER),
       customer_id, source, event_id, occurred_at, channel, touchpoint, event_type, order_id,
       order_key, amount, store_id, campaign_id, category, sku, topic, attributes
FROM cut";

const JOURNEYS_SQL: &str = "
INSERT INTO journeys
WITH clock AS (SELECT max(occurred_at) AS as_of FROM events),
changes AS (
    SELECT journey_id, step, coalesce(channel, 'other') AS channel,
           coalesce(channel, 'other') IS DISTINCT FROM
               lag(coalesce(channel, 'other')) OVER (PARTITION BY journey_id ORDER BY step)
               AS changed
    FROM journey_steps),
paths AS (
    SELECT journey_id, string_agg(channel, ' > ' ORDER BY step) AS path
    FROM changes WHERE changed GROUP BY journey_id)
SELECT s.journey_id, any_value(s.customer_id), min(s.occurred_at), max(s.occurred_at),
       CAST(count(*) AS INTEGER),
       CASE WHEN bool_or(s.event_type = 'purchase') THEN 'converted'
            WHEN max(s.occurred_at) + to_hours(CAST($1 AS BIGINT) * 24) >= any_value(c.as_of)
                THEN 'open'
            ELSE 'abandoned' END,
       arg_min(s.channel, s.step), arg_min(s.touchpoint, s.step),
       max(s.channel) FILTER (WHERE s.event_type = 'purchase'),
       max(s.order_key) FILTER (WHERE s.event_type = 'purchase'),
       coalesce(sum(s.amount) FILTER (WHERE s.event_type = 'purchase'), 0),
       any_value(p.path)
FROM journey_steps s JOIN paths p USING (journey_id), clock c
GROUP BY s.journey_id";
