//! Top paths: the channels of a journey's steps with consecutive repeats collapsed
//! (`ads > web > web > store` is `ads > web > store`), optionally cut to the first N channels,
//! and the flow between positions for a Sankey-like chart.

use std::collections::BTreeMap;

use duckdb::Connection;

use super::{JourneyError, ratio, scope};
use crate::journey::{FlowLink, PathRow};
use crate::server::kpi::{Filters, Period};

/// The separator of `journeys.path`.
pub const SEPARATOR: &str = " > ";

/// One path's journeys, conversions, ended journeys and revenue.
pub(crate) struct Agg {
    pub(crate) journeys: u64,
    pub(crate) converted: u64,
    pub(crate) ended: u64,
    pub(crate) revenue: f64,
}

impl Agg {
    /// A `(path, journeys, converted, ended, revenue)` row, as both the journeys and the
    /// journey rollup answer it.
    pub(crate) fn of_row(r: &duckdb::Row<'_>) -> duckdb::Result<(String, Self)> {
        Ok((
            r.get(0)?,
            Self {
                journeys: r.get::<_, i64>(1)? as u64,
                converted: r.get::<_, i64>(2)? as u64,
                ended: r.get::<_, i64>(3)? as u64,
                revenue: r.get(4)?,
            },
        ))
    }
}

/// Every distinct path of the period's journeys with its counts (from the journey rollup
/// when no filter narrows them).
fn all_paths(
    conn: &Connection,
    period: &Period,
    filters: &Filters,
) -> Result<Vec<(String, Agg)>, JourneyError> {
    if super::rollup::serves(conn, filters)? {
        return Ok(super::rollup::paths(conn, period)?);
    }
    let (cond, params) = scope(period, filters, 1);
    let sql = format!(
        "SELECT path, count(*), count(*) FILTER (WHERE status = 'converted'),
                count(*) FILTER (WHERE status <> 'open'),
                coalesce(CAST(sum(revenue) AS DOUBLE), 0)
         FROM journeys j WHERE {cond} GROUP BY path"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(duckdb::params_from_iter(params), Agg::of_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The `limit` most frequent paths (ties by path), each cut to its first `max_steps` channels
/// when given (paths that share that beginning are added up).
pub fn top_paths(
    conn: &Connection,
    period: &Period,
    filters: &Filters,
    max_steps: Option<usize>,
    limit: usize,
) -> Result<Vec<PathRow>, JourneyError> {
    let mut merged: BTreeMap<Vec<String>, Agg> = BTreeMap::new();
    for (path, agg) in all_paths(conn, period, filters)? {
        let mut channels: Vec<String> = path.split(SEPARATOR).map(str::to_string).collect();
        if let Some(n) = max_steps {
            channels.truncate(n.max(1));
        }
        let entry = merged.entry(channels).or_insert(Agg {
            journeys: 0,
            converted: 0,
            ended: 0,
            revenue: 0.0,
        });
        entry.journeys += agg.journeys;
        entry.converted += agg.converted;
        entry.ended += agg.ended;
        entry.revenue += agg.revenue;
    }
    let mut rows: Vec<PathRow> = merged
        .into_iter()
        .map(|(path, a)| PathRow {
            path,
            journeys: a.journeys,
            converted: a.converted,
            conversion: ratio(a.converted, a.ended),
            revenue: a.revenue,
        })
        .collect();
    rows.sort_by(|a, b| {
        b.journeys
            .cmp(&a.journeys)
            .then_with(|| a.path.cmp(&b.path))
    });
    rows.truncate(limit);
    Ok(rows)
}

/// The links between consecutive positions of the first `steps` channels of each path.
pub fn flow(
    conn: &Connection,
    period: &Period,
    filters: &Filters,
    steps: usize,
) -> Result<Vec<FlowLink>, JourneyError> {
    let mut links: BTreeMap<(u32, String, String), u64> = BTreeMap::new();
    for (path, agg) in all_paths(conn, period, filters)? {
        let channels: Vec<&str> = path.split(SEPARATOR).take(steps.max(2)).collect();
        for (i, pair) in channels.windows(2).enumerate() {
            *links
                .entry((i as u32, pair[0].to_string(), pair[1].to_string()))
                .or_default() += agg.journeys;
        }
    }
    Ok(links
        .into_iter()
        .map(|((position, from, to), journeys)| FlowLink {
            position,
            from,
            to,
            journeys,
        })
        .collect())
}
