//! Funnels over journeys: configurable ordered steps, the journeys that reach each (every
//! earlier step reached first, in time order), the conversion from step to step and the median
//! time between them, overall and by entry channel.
//!
//! A journey reaches step k at its first step event that matches k and comes after the event
//! that reached step k-1 in the journey's step order (a tie in time keeps that order; one event
//! reaches one step only).

pub mod facts;

use std::collections::BTreeMap;

use duckdb::Connection;

use super::{JourneyError, median, ratio, scope};
use crate::journey::{Funnel, FunnelReport, FunnelStep, FunnelStepDef, JourneySummary};
use crate::server::kpi::{Filters, Period};

/// Checks a funnel definition against the event types and channels the instance knows.
pub fn check_steps(conn: &Connection, steps: &[FunnelStepDef]) -> Result<(), JourneyError> {
    if !(2..=10).contains(&steps.len()) || steps.iter().any(|s| s.event_types.is_empty()) {
        return Err(JourneyError::FunnelSteps);
    }
    for step in steps {
        for t in &step.event_types {
            let n: i64 = conn.query_row(
                "SELECT count(*) FROM event_types WHERE event_type = ?",
                [t],
                |r| r.get(0),
            )?;
            if n == 0 {
                return Err(JourneyError::UnknownEventType(t.clone()));
            }
        }
        for c in &step.channels {
            let n: i64 = conn.query_row(
                "SELECT count(*) FROM channels WHERE channel = ?",
                [c],
                |r| r.get(0),
            )?;
            if n == 0 {
                return Err(JourneyError::UnknownChannel(c.clone()));
            }
        }
    }
    Ok(())
}

/// The funnel of `steps` over the journeys starting in `period` (and matching `filters`).
pub fn funnel(
    conn: &Connection,
    period: &Period,
    filters: &Filters,
    steps: &[FunnelStepDef],
) -> Result<FunnelReport, JourneyError> {
    let [report] = funnels(conn, period, filters, [steps])?;
    Ok(report)
}

/// The funnels of each list of `steps`, over one read of the period's journey steps (the
/// journeys page shows two).
pub fn funnels<const N: usize>(
    conn: &Connection,
    period: &Period,
    filters: &Filters,
    funnels: [&[FunnelStepDef]; N],
) -> Result<[FunnelReport; N], JourneyError> {
    funnels_in(conn, period, filters, funnels, JOURNEYS_PER_READ)
}

/// [`funnels`] reading the steps of about `per_read` journeys at a time (the tests read them
/// one by one, to check that the pieces add up to the whole).
pub fn funnels_in<const N: usize>(
    conn: &Connection,
    period: &Period,
    filters: &Filters,
    funnels: [&[FunnelStepDef]; N],
    per_read: i64,
) -> Result<[FunnelReport; N], JourneyError> {
    for steps in funnels {
        check_steps(conn, steps)?;
    }
    let (cond, params) = scope(period, filters, 1);
    // The steps are read in ranges of journey numbers, each sorted on its own: one sort of
    // every step of a year took about 350 MiB at 10M events (the page's memory peak). A
    // journey's steps are all in one range, so the walk below reads them as before.
    let (first, last, journeys): (Option<i64>, Option<i64>, i64) = conn.query_row(
        &format!(
            "SELECT min(j.journey_id), max(j.journey_id), count(*) FROM journeys j WHERE {cond}"
        ),
        duckdb::params_from_iter(&params),
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let ranges = match (first, last) {
        (Some(first), Some(last)) => journey_ranges(first, last, journeys, per_read),
        _ => Vec::new(),
    };
    let sql = format!(
        "SELECT s.journey_id, j.entry_channel, epoch(s.occurred_at), s.event_type, s.channel
         FROM journey_steps s JOIN journeys j USING (journey_id)
         WHERE {cond} AND j.journey_id >= ${lo} AND j.journey_id < ${hi}
         ORDER BY s.journey_id, s.step",
        lo = params.len() + 1,
        hi = params.len() + 2,
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut tallies: [(Tally, BTreeMap<String, Tally>); N] =
        funnels.map(|steps| (Tally::new(steps.len()), BTreeMap::new()));
    let mut current: Option<(i64, Option<String>)> = None;
    let mut events: Vec<(f64, String, Option<String>)> = Vec::new();
    let mut flush = |journey: &Option<(i64, Option<String>)>,
                     events: &mut Vec<(f64, String, Option<String>)>| {
        if let Some((_, entry)) = journey {
            for (steps, (overall, by_entry)) in funnels.iter().zip(tallies.iter_mut()) {
                let reached = walk(steps, events);
                overall.add(&reached);
                by_entry
                    .entry(entry.clone().unwrap_or_else(|| "other".to_string()))
                    .or_insert_with(|| Tally::new(steps.len()))
                    .add(&reached);
            }
        }
        events.clear();
    };
    for (lo, hi) in ranges {
        let mut bound: Vec<&dyn duckdb::ToSql> =
            params.iter().map(|p| p as &dyn duckdb::ToSql).collect();
        bound.push(&lo);
        bound.push(&hi);
        let mut rows = stmt.query(bound.as_slice())?;
        while let Some(row) = rows.next()? {
            let id: i64 = row.get(0)?;
            if current.as_ref().map(|(j, _)| *j) != Some(id) {
                flush(&current, &mut events);
                current = Some((id, row.get(1)?));
            }
            events.push((row.get(2)?, row.get(3)?, row.get(4)?));
        }
    }
    flush(&current, &mut events);
    let mut next = funnels.into_iter();
    Ok(tallies
        .map(|(overall, by_entry)| report(next.next().unwrap_or_default(), overall, by_entry)))
}

/// How many journeys one read of [`funnels`] sorts at most, about: their steps' sort stays
/// within tens of MiB.
const JOURNEYS_PER_READ: i64 = 200_000;

/// The half-open ranges of journey numbers `[lo, hi)` that cover `first..=last` in pieces of
/// about `per_read` of the `journeys` in it (numbers are dense, but for the journeys of other
/// periods in between).
fn journey_ranges(first: i64, last: i64, journeys: i64, per_read: i64) -> Vec<(i64, i64)> {
    let pieces = (journeys / per_read.max(1) + 1).max(1);
    let width = ((last - first) / pieces + 1).max(1);
    let mut out = Vec::new();
    let mut lo = first;
    while lo <= last {
        let hi = lo.saturating_add(width).min(last.saturating_add(1));
        out.push((lo, hi));
        lo = hi;
    }
    out
}

/// A funnel of `steps` from the tallies of all its journeys and of each entry channel's.
fn report(
    steps: &[FunnelStepDef],
    overall: Tally,
    by_entry: BTreeMap<String, Tally>,
) -> FunnelReport {
    FunnelReport {
        overall: overall.finish(steps, None),
        by_entry_channel: by_entry
            .into_iter()
            .map(|(entry, t)| t.finish(steps, Some(entry)))
            .collect(),
    }
}

/// The times (epoch seconds) at which one journey reached each step, in order, stopping at
/// the first step it did not reach.
pub fn walk(steps: &[FunnelStepDef], events: &[(f64, String, Option<String>)]) -> Vec<f64> {
    let mut reached = Vec::new();
    let mut from = 0;
    for step in steps {
        let found = events[from..].iter().position(|(_, t, c)| {
            step.event_types.iter().any(|x| x == t)
                && (step.channels.is_empty()
                    || c.as_ref().is_some_and(|c| step.channels.contains(c)))
        });
        match found {
            Some(i) => {
                reached.push(events[from + i].0);
                from += i + 1;
            }
            None => break,
        }
    }
    reached
}

struct Tally {
    counts: Vec<u64>,
    gaps: Vec<Vec<f64>>,
}

impl Tally {
    fn new(n: usize) -> Self {
        Self {
            counts: vec![0; n],
            gaps: vec![Vec::new(); n],
        }
    }

    fn add(&mut self, reached: &[f64]) {
        for (k, at) in reached.iter().enumerate() {
            self.counts[k] += 1;
            if k > 0 {
                self.gaps[k].push((at - reached[k - 1]) / 3600.0);
            }
        }
    }

    fn finish(mut self, defs: &[FunnelStepDef], entry: Option<String>) -> Funnel {
        let first = self.counts.first().copied().unwrap_or(0);
        let steps = defs
            .iter()
            .enumerate()
            .map(|(k, def)| FunnelStep {
                key: def.key.clone(),
                journeys: self.counts[k],
                conversion_from_previous: if k == 0 {
                    None
                } else {
                    ratio(self.counts[k], self.counts[k - 1])
                },
                conversion_from_first: ratio(self.counts[k], first),
                median_hours_from_previous: if k == 0 {
                    None
                } else {
                    median(&mut self.gaps[k])
                },
            })
            .collect();
        Funnel {
            entry_channel: entry,
            steps,
        }
    }
}

/// How the journeys of the period ended, with their revenue and average order value (from
/// the journey rollup when no filter narrows them).
pub fn summary(
    conn: &Connection,
    period: &Period,
    filters: &Filters,
) -> Result<JourneySummary, JourneyError> {
    let (journeys, converted, abandoned, open, revenue) = if super::rollup::serves(conn, filters)? {
        super::rollup::summary(conn, period)?
    } else {
        summary_raw(conn, period, filters)?
    };
    let (converted, abandoned) = (converted as u64, abandoned as u64);
    Ok(JourneySummary {
        journeys: journeys as u64,
        converted,
        abandoned,
        open: open as u64,
        conversion: ratio(converted, converted + abandoned),
        revenue,
        average_order_value: (converted > 0).then(|| revenue / converted as f64),
    })
}

/// The summary's counts over the journeys table: (journeys, converted, abandoned, open,
/// revenue).
fn summary_raw(
    conn: &Connection,
    period: &Period,
    filters: &Filters,
) -> Result<(i64, i64, i64, i64, f64), JourneyError> {
    let (cond, params) = scope(period, filters, 1);
    let sql = format!(
        "SELECT count(*),
                count(*) FILTER (WHERE status = 'converted'),
                count(*) FILTER (WHERE status = 'abandoned'),
                count(*) FILTER (WHERE status = 'open'),
                coalesce(CAST(sum(revenue) AS DOUBLE), 0)
         FROM journeys j WHERE {cond}"
    );
    Ok(conn.query_row(&sql, duckdb::params_from_iter(params), |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ranges_cover_every_journey_once() {
        for (first, last, journeys) in [
            (1, 1, 1),
            (5, 9, 5),
            (1, 1_000_000, 900_000),
            (7, 450_007, 3),
        ] {
            let ranges = journey_ranges(first, last, journeys, JOURNEYS_PER_READ);
            assert_eq!(ranges.first().map(|r| r.0), Some(first));
            assert_eq!(ranges.last().map(|r| r.1), Some(last + 1));
            assert!(
                ranges
                    .windows(2)
                    .all(|w| w[0].1 == w[1].0 && w[0].0 < w[0].1)
            );
            assert!(ranges.len() as i64 <= journeys / JOURNEYS_PER_READ + 2);
        }
    }

    fn ev(at: f64, t: &str, c: &str) -> (f64, String, Option<String>) {
        (at, t.to_string(), Some(c.to_string()))
    }

    #[test]
    fn steps_are_reached_in_order_only() {
        let steps = FunnelStepDef::cross_channel();
        // A purchase before the ad click does not count for the funnel that starts at it.
        let events = [
            ev(0.0, "purchase", "web"),
            ev(10.0, "click", "ads"),
            ev(20.0, "visit", "web"),
            ev(30.0, "add_to_cart", "web"),
        ];
        assert_eq!(walk(&steps, &events), [10.0, 20.0]);
        let store = FunnelStepDef::store();
        let events = [ev(5.0, "visit", "web"), ev(7.0, "visit", "store")];
        assert_eq!(walk(&store, &events), [7.0]);
    }
}
