//! Funnel facts: `journey_funnel_facts` (migration 0027), per fixed funnel of the journeys
//! page and journey, one row per step the journey reached with the hours since the step
//! before, computed by the same [`walk`] as [`super::funnels`] over the journey's steps. The
//! page's two funnels are then counts and medians over the period's rows ([`fixed`]), not an
//! ordered read of every step of the period.
//!
//! A journey's row depends on its steps only, so the journey builder redoes the facts of the
//! customers it cuts again ([`refresh`]); an erasure takes out the customer's ([`forget`]);
//! every full rebuild of the journey rollup rebuilds them ([`rebuild_in`]). `omnikpi rollup
//! verify` compares them with a fresh walk ([`verify`]). The funnels' definitions are the
//! facts' signature: facts of other steps are not read.

use std::collections::BTreeMap;

use duckdb::Connection;

use super::{Tally, walk};
use crate::journey::{FunnelReport, FunnelStepDef};
use crate::server::journey::{JourneyError, scope};
use crate::server::kpi::{Filters, Period};
use crate::server::rollup::Difference;

/// The funnels kept as facts, by key: the two the journeys page shows, in its order.
fn kept() -> [(&'static str, Vec<FunnelStepDef>); 2] {
    [
        ("cross_channel", FunnelStepDef::cross_channel()),
        ("store", FunnelStepDef::store()),
    ]
}

/// The kept funnels' definitions, as recorded with the facts.
fn signature() -> String {
    kept()
        .iter()
        .map(|(key, steps)| {
            let steps: Vec<String> = steps
                .iter()
                .map(|s| {
                    format!(
                        "{}={}@{}",
                        s.key,
                        s.event_types.join("+"),
                        s.channels.join("+")
                    )
                })
                .collect();
            format!("{key}:{}", steps.join(","))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether the facts were computed for the funnels of this binary.
pub fn current(conn: &Connection) -> Result<bool, duckdb::Error> {
    let kept: String = conn.query_row(
        "SELECT coalesce(max(funnels), '') FROM journey_facts_state",
        [],
        |r| r.get(0),
    )?;
    Ok(kept == signature())
}

/// Walks the steps of the journeys whose steps `steps` (a condition on `e`, a row of
/// `journey_steps`, from this crate's constants) keeps, into the temporary table
/// `funnel_fact_rows` (funnel, journey_id, step, hours).
fn walk_into_rows(conn: &Connection, steps: &str) -> Result<(), duckdb::Error> {
    conn.execute_batch(
        "CREATE OR REPLACE TEMP TABLE funnel_fact_rows
             (funnel VARCHAR, journey_id BIGINT, step INTEGER, hours DOUBLE);",
    )?;
    let funnels = kept();
    let mut stmt = conn.prepare(&format!(
        "SELECT e.journey_id, epoch(e.occurred_at), e.event_type, e.channel
         FROM journey_steps e WHERE {steps}
         ORDER BY e.journey_id, e.step"
    ))?;
    let mut rows = stmt.query([])?;
    let mut out = conn.appender("funnel_fact_rows")?;
    let mut current: Option<i64> = None;
    let mut events: Vec<(f64, String, Option<String>)> = Vec::new();
    let mut flush = |journey: Option<i64>,
                     events: &mut Vec<(f64, String, Option<String>)>|
     -> Result<(), duckdb::Error> {
        if let Some(id) = journey {
            for (key, steps) in &funnels {
                let reached = walk(steps, events);
                for (k, at) in reached.iter().enumerate() {
                    let hours = (k > 0).then(|| (at - reached[k - 1]) / 3600.0);
                    out.append_row(duckdb::params![key, id, k as i32, hours])?;
                }
            }
        }
        events.clear();
        Ok(())
    };
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        if current != Some(id) {
            flush(current, &mut events)?;
            current = Some(id);
        }
        events.push((row.get(1)?, row.get(2)?, row.get(3)?));
    }
    flush(current, &mut events)?;
    out.flush()
}

/// `funnel_fact_rows` with each journey's customer, start and entry channel: the rows of
/// `journey_funnel_facts`.
const WITH_JOURNEYS: &str =
    "SELECT t.funnel, t.journey_id, j.customer_id, j.started_at, j.entry_channel, t.step, t.hours
     FROM funnel_fact_rows t JOIN journeys j USING (journey_id)";

/// Recomputes every journey's facts, inside the caller's transaction.
pub(crate) fn rebuild_in(conn: &Connection) -> Result<(), duckdb::Error> {
    walk_into_rows(conn, "true")?;
    conn.execute_batch(&format!(
        "DELETE FROM journey_funnel_facts;
         INSERT INTO journey_funnel_facts BY NAME {WITH_JOURNEYS};
         DROP TABLE funnel_fact_rows;"
    ))?;
    conn.execute("UPDATE journey_facts_state SET funnels = ?", [signature()])?;
    Ok(())
}

/// Redoes the facts of the customers `customers` lists (a query of one `customer_id` column,
/// from the builder's constants: those whose journeys it has just cut again), whose steps are
/// the rows of `journey_steps` (aliased `e`) that `steps` keeps with `params`. The builder
/// names them by journey number (the journeys cut again have the newest numbers, so only the
/// table's end is read); their row ids are found first (`crate::server::rowids`). Facts of
/// other funnels are rebuilt whole.
pub(crate) fn refresh(
    conn: &Connection,
    customers: &str,
    steps: &str,
    params: &[&dyn duckdb::ToSql],
) -> Result<(), duckdb::Error> {
    if !current(conn)? {
        return rebuild_in(conn);
    }
    crate::server::rowids::find(
        conn,
        "funnel_step_rows",
        "journey_steps",
        &[steps.to_string()],
        params,
    )?;
    walk_into_rows(conn, &crate::server::rowids::listed("funnel_step_rows"))?;
    conn.execute_batch(&format!(
        "DELETE FROM journey_funnel_facts WHERE customer_id IN ({customers});
         INSERT INTO journey_funnel_facts BY NAME {WITH_JOURNEYS};
         DROP TABLE funnel_fact_rows; DROP TABLE funnel_step_rows;"
    ))
}

/// Takes out the facts of one customer (an erasure: their journeys go).
pub(crate) fn forget(conn: &Connection, customer_id: i64) -> Result<(), duckdb::Error> {
    conn.execute(
        "DELETE FROM journey_funnel_facts WHERE customer_id = ?",
        [customer_id],
    )?;
    Ok(())
}

/// The journeys page's two funnels (cross-channel, store) from the facts, equal to
/// [`super::funnels`] of the same steps; `None` when the facts do not serve `filters` (a
/// filter, the journey rollup set aside, facts of other funnels).
pub fn fixed(
    conn: &Connection,
    period: &Period,
    filters: &Filters,
) -> Result<Option<[FunnelReport; 2]>, JourneyError> {
    if !(super::super::rollup::serves(conn, filters)? && current(conn)?) {
        return Ok(None);
    }
    let (cond, params) = scope(period, filters, 1);
    let funnels = kept();
    // Every entry channel of the period's journeys has its funnel, reached or not.
    let mut tallies: Vec<BTreeMap<String, Tally>> =
        funnels.iter().map(|_| BTreeMap::new()).collect();
    let mut stmt = conn.prepare(&format!(
        "SELECT DISTINCT coalesce(j.entry_channel, 'other') FROM journeys j WHERE {cond}"
    ))?;
    let entries: Vec<String> = stmt
        .query_map(duckdb::params_from_iter(&params), |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for (by_entry, (_, steps)) in tallies.iter_mut().zip(&funnels) {
        for entry in &entries {
            by_entry.insert(entry.clone(), Tally::new(steps.len()));
        }
    }
    let mut stmt = conn.prepare(&format!(
        "SELECT j.funnel, coalesce(j.entry_channel, 'other'), j.step, count(*),
                list(j.hours) FILTER (WHERE j.hours IS NOT NULL)
         FROM journey_funnel_facts j WHERE {cond}
         GROUP BY ALL"
    ))?;
    let mut rows = stmt.query(duckdb::params_from_iter(&params))?;
    while let Some(row) = rows.next()? {
        let key: String = row.get(0)?;
        let Some(f) = funnels.iter().position(|(k, _)| *k == key) else {
            continue;
        };
        let entry: String = row.get(1)?;
        let step: i32 = row.get(2)?;
        let count: i64 = row.get(3)?;
        let hours = match row.get::<_, duckdb::types::Value>(4)? {
            duckdb::types::Value::List(values) => values
                .into_iter()
                .filter_map(|v| match v {
                    duckdb::types::Value::Double(h) => Some(h),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        let steps = funnels[f].1.len();
        let tally = tallies[f].entry(entry).or_insert_with(|| Tally::new(steps));
        let k = usize::try_from(step).unwrap_or(usize::MAX);
        if k < steps {
            tally.counts[k] += count as u64;
            tally.gaps[k] = hours;
        }
    }
    let mut reports = tallies
        .into_iter()
        .zip(&funnels)
        .map(|(by_entry, (_, steps))| {
            let mut overall = Tally::new(steps.len());
            for t in by_entry.values() {
                for k in 0..steps.len() {
                    overall.counts[k] += t.counts[k];
                    overall.gaps[k].extend_from_slice(&t.gaps[k]);
                }
            }
            super::report(steps, overall, by_entry)
        });
    match (reports.next(), reports.next()) {
        (Some(cross), Some(store)) => Ok(Some([cross, store])),
        _ => Ok(None),
    }
}

/// The key and the value of `journey_funnel_facts`, as [`verify`] compares them.
const KEY: &[&str] = &[
    "funnel",
    "journey_id",
    "customer_id",
    "started_at",
    "entry_channel",
    "step",
];
const MEASURES: &[&str] = &["hours"];

/// Compares the facts with a fresh walk of every journey's steps (`omnikpi rollup verify`):
/// facts of other funnels are one difference; otherwise each differing row.
pub fn verify(conn: &Connection, out: &mut Vec<Difference>) -> Result<(), duckdb::Error> {
    if !current(conn)? {
        out.push(Difference {
            table: "journey_facts_state",
            key: "funnels".to_string(),
            measures: vec![(
                "funnels",
                "built for other funnels".to_string(),
                "the funnels in force".to_string(),
            )],
        });
        return Ok(());
    }
    walk_into_rows(conn, "true")?;
    crate::server::rollup::compare_values(
        conn,
        "journey_funnel_facts",
        WITH_JOURNEYS,
        (KEY, MEASURES),
        out,
    )?;
    conn.execute_batch("DROP TABLE funnel_fact_rows;")
}
