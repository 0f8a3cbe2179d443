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

/// The statement of [`matrix`], with its `facts` slot.
const HANDOFF_SQL: &str = include_str!("handoff.sql");

/// The hand-offs of each journey, with its `journeys` slot: see [`facts_sql`].
const HANDOFF_FACTS_SQL: &str = include_str!("handoff_facts.sql");

/// The hand-off rows (one per journey and channel pair) of the journeys `journeys` keeps (a
/// condition on `j`: a request's scope, or the journey builder's constants): the matrix's
/// input, and the rows of `journey_handoff_facts`.
pub(crate) fn facts_sql(journeys: &str) -> String {
    facts_sql_within(journeys, "true")
}

/// [`facts_sql`] reading only the events `events` keeps (a condition on `e` from the journey
/// builder's constants that keeps every event of the journeys' customers).
pub(crate) fn facts_sql_within(journeys: &str, events: &str) -> String {
    super::render(
        HANDOFF_FACTS_SQL,
        &[("journeys", journeys), ("events", events)],
    )
}

/// The hand-off matrix of the period's journeys: from `journey_handoff_facts` when no filter
/// narrows them ([`super::rollup`]), else from the journeys' steps and the events.
pub fn matrix(
    conn: &Connection,
    period: &Period,
    filters: &Filters,
) -> Result<Vec<HandoffRow>, JourneyError> {
    let (cond, params) = scope(period, filters, 1);
    let facts = if super::rollup::serves(conn, filters)? {
        format!("SELECT * FROM journey_handoff_facts j WHERE {cond}")
    } else {
        facts_sql(&cond)
    };
    let sql = super::render(HANDOFF_SQL, &[("facts", &facts)]);
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
