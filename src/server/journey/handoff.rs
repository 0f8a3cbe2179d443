//! The hand-off matrix: for each pair of channels (from → to), the journeys in which a step on
//! `from` is directly followed by a step on `to` (steps without a channel are skipped), their
//! conversion, the median time of the hand-off, and what the customers said after it:
//! complaints and NPS answers within 30 days (30 × 24 h) after the hand-off.
//!
//! A journey counts once per pair, at its first hand-off of that pair.

use duckdb::Connection;

use super::{JourneyError, ratio, scope};
use crate::journey::HandoffRow;
use crate::server::kpi::{Filters, Period};

pub fn matrix(
    conn: &Connection,
    period: &Period,
    filters: &Filters,
) -> Result<Vec<HandoffRow>, JourneyError> {
    let (cond, params) = scope(period, filters, 1);
    let sql = format!(
        "WITH s AS (
             SELECT s.journey_id, s.customer_id, s.step, s.occurred_at, s.channel,
                    lag(s.channel) OVER w AS prev_channel,
                    lag(s.occurred_at) OVER w AS prev_at
             FROM journey_steps s JOIN journeys j USING (journey_id)
             WHERE s.channel IS NOT NULL AND {cond}
             WINDOW w AS (PARTITION BY s.journey_id ORDER BY s.step)),
         h AS (
             SELECT journey_id, any_value(customer_id) AS customer_id,
                    prev_channel AS from_channel, channel AS to_channel,
                    arg_min(occurred_at, step) AS at,
                    arg_min(epoch(occurred_at) - epoch(prev_at), step) AS seconds
             FROM s WHERE prev_channel IS NOT NULL AND prev_channel <> channel
             GROUP BY journey_id, prev_channel, channel),
         after AS (
             SELECT h.journey_id, h.from_channel, h.to_channel,
                    count(e.event_id) FILTER (WHERE e.event_type = 'complaint') AS complaints,
                    count(e.score) FILTER (WHERE e.event_type = 'survey') AS surveys,
                    sum(e.score) FILTER (WHERE e.event_type = 'survey') AS score_sum
             FROM h LEFT JOIN events e
               ON e.customer_id = h.customer_id
              AND (e.event_type = 'complaint'
                   OR (e.event_type = 'survey' AND e.score_scale = 'nps'))
              AND e.occurred_at >= h.at AND e.occurred_at <= h.at + INTERVAL 720 HOUR
             GROUP BY h.journey_id, h.from_channel, h.to_channel)
         SELECT h.from_channel, h.to_channel, count(*),
                count(*) FILTER (WHERE j.status = 'converted'),
                count(*) FILTER (WHERE j.status <> 'open'),
                median(h.seconds) / 3600.0,
                CAST(coalesce(sum(a.complaints), 0) AS BIGINT),
                CAST(coalesce(sum(a.surveys), 0) AS BIGINT),
                CAST(sum(a.score_sum) AS DOUBLE) / nullif(sum(a.surveys), 0)
         FROM h JOIN journeys j USING (journey_id)
         JOIN after a ON a.journey_id = h.journey_id AND a.from_channel = h.from_channel
                     AND a.to_channel = h.to_channel
         GROUP BY h.from_channel, h.to_channel
         ORDER BY count(*) DESC, h.from_channel, h.to_channel"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(duckdb::params_from_iter(params), |r| {
        let converted = r.get::<_, i64>(3)? as u64;
        let ended = r.get::<_, i64>(4)? as u64;
        Ok(HandoffRow {
            from: r.get(0)?,
            to: r.get(1)?,
            journeys: r.get::<_, i64>(2)? as u64,
            converted,
            conversion: ratio(converted, ended),
            median_hours: r.get(5)?,
            complaints: r.get::<_, i64>(6)? as u64,
            surveys: r.get::<_, i64>(7)? as u64,
            average_survey_score: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
