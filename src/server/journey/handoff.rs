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

/// The statement of [`matrix`], with its `cond` slot.
const HANDOFF_SQL: &str = include_str!("handoff.sql");

pub fn matrix(
    conn: &Connection,
    period: &Period,
    filters: &Filters,
) -> Result<Vec<HandoffRow>, JourneyError> {
    let (cond, params) = scope(period, filters, 1);
    let sql = super::render(HANDOFF_SQL, &[("cond", &cond)]);
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
