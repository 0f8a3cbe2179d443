//! The journey rollup (migration 0024), per local day of a journey's start:
//! - `journey_rollup_paths`, per path: the journeys, how many converted and how many were
//!   abandoned (the rest are open), and their revenue: the journeys page's summary, top paths
//!   and flow, and the pain points' average order value;
//! - `journey_rollup_values`, per value of the significance rule (rule 5: a touchpoint within
//!   its channel and event type, a campaign, a hand-off) the ended journeys through it and how
//!   many converted, and per kind and group (value NULL) the same for the journeys through any:
//!   the journeys page's pain point list;
//! - `journey_handoff_facts`, per journey and channel pair its first hand-off (seconds, and
//!   the customer's complaints and NPS answers in the 30 days after), with the journey's start
//!   and status: the hand-off matrix, whose medians no sum gives. Keyed by the start instant,
//!   not a day, it does not depend on the zone.
//!
//! It is read when no filter narrows the journeys: a filter keeps a journey when one of its
//! steps matches, which no per-day sum can tell.
//!
//! The journey builder keeps it in the writer's transaction ([`patch`]): the journeys it is
//! about to delete are taken out, those it inserted are added, and so are the journeys whose
//! status the data's clock changes (before and after the update); the hand-off facts of every
//! customer the write touched are recomputed, and their status follows. Every other change of the
//! journey tables rebuilds it ([`rebuild_in`]): a full journey rebuild, `omnikpi rollup
//! rebuild`, a change of time zone. [`verify`] compares it with the journeys, row by row.
//!
//! Days are local days in the zone recorded in `journey_rollup_state`; the rollup is read only
//! while that is the connection's zone ([`current`]), so a change of zone can make the page
//! slow for a moment, never wrong.

use duckdb::Connection;

use super::paths::Agg;
use crate::server::kpi::{Filters, Period};
use crate::server::rollup::Difference;

/// One table of the journey rollup: its key, its additive measures (`journeys` first: a row
/// whose journeys sum to 0 has nothing left) and its rows for the journeys a filter keeps.
struct Table {
    name: &'static str,
    key: &'static [&'static str],
    measures: &'static [&'static str],
    aggregate: fn(&str, i8) -> String,
}

/// Per local day and path (summary, top paths, flow).
const PATHS: Table = Table {
    name: "journey_rollup_paths",
    key: &["day", "path"],
    measures: &["journeys", "converted", "abandoned", "revenue"],
    aggregate: paths_aggregate,
};

/// Per local day and value of rule 5 (the pain point list's significance rule): the ended
/// journeys through each value, and (value NULL) those of its kind and group.
const VALUES: Table = Table {
    name: "journey_rollup_values",
    key: &["day", "kind", "grp", "value"],
    measures: &["journeys", "converted"],
    aggregate: values_aggregate,
};

const TABLES: &[Table] = &[PATHS, VALUES];

/// The `journey_rollup_paths` rows of the journeys `filter` (a condition on `j`, from this
/// crate's constants) keeps, times `sign`.
fn paths_aggregate(filter: &str, sign: i8) -> String {
    format!(
        "SELECT CAST(j.started_at AS DATE) AS day, j.path,
                CAST({sign} * count(*) AS BIGINT) AS journeys,
                CAST({sign} * count(*) FILTER (WHERE j.status = 'converted') AS BIGINT)
                    AS converted,
                CAST({sign} * count(*) FILTER (WHERE j.status = 'abandoned') AS BIGINT)
                    AS abandoned,
                CAST({sign} * coalesce(sum(j.revenue), 0) AS DECIMAL(38, 2)) AS revenue
         FROM journeys j WHERE {filter}
         GROUP BY ALL"
    )
}

/// The `journey_rollup_values` rows of the ended journeys `filter` keeps, times `sign`: the
/// values of `pain/values.sql`, and per kind and group the journeys through any of them.
fn values_aggregate(filter: &str, sign: i8) -> String {
    format!(
        "WITH jj AS (SELECT j.journey_id, CAST(j.started_at AS DATE) AS day,
                           j.status = 'converted' AS converted
                    FROM journeys j WHERE ({filter}) AND j.status <> 'open'),
         s AS (SELECT s.journey_id, s.channel, s.event_type, s.touchpoint, s.campaign_id,
                      lag(s.channel) OVER (PARTITION BY s.journey_id ORDER BY s.step)
                          AS prev_channel
               FROM journey_steps s JOIN jj USING (journey_id)),
         v AS ({values}),
         vv AS (SELECT journey_id, kind, grp, value FROM v
                UNION ALL
                SELECT DISTINCT journey_id, kind, grp, CAST(NULL AS VARCHAR) FROM v)
         SELECT jj.day, vv.kind, vv.grp, vv.value,
                CAST({sign} * count(*) AS BIGINT) AS journeys,
                CAST({sign} * count(*) FILTER (WHERE jj.converted) AS BIGINT) AS converted
         FROM vv JOIN jj USING (journey_id)
         GROUP BY ALL",
        values = super::pain::significance::VALUES_SQL
    )
}

/// Whether the rollup holds the connection's local days (built in its time zone).
pub fn current(conn: &Connection) -> Result<bool, duckdb::Error> {
    conn.query_row(
        "SELECT count(*) > 0 FROM journey_rollup_state
         WHERE time_zone = current_setting('TimeZone')",
        [],
        |r| r.get(0),
    )
}

/// Whether a view of `filters` can be answered from the rollup.
pub fn serves(conn: &Connection, filters: &Filters) -> Result<bool, duckdb::Error> {
    Ok(filters.is_empty() && current(conn)?)
}

/// Recomputes the rollup from the journeys, in the connection's time zone, inside the caller's
/// transaction.
pub fn rebuild_in(conn: &Connection) -> Result<(), duckdb::Error> {
    for t in TABLES {
        conn.execute_batch(&format!(
            "DELETE FROM {name}; INSERT INTO {name} BY NAME {rows};",
            name = t.name,
            rows = (t.aggregate)("true", 1)
        ))?;
    }
    rebuild_handoffs(conn)?;
    super::pain::facts::rebuild_in(conn)?;
    super::funnel::facts::rebuild_in(conn)?;
    crate::server::rollup::customer_facts::rebuild_in(conn)?;
    conn.execute_batch(
        "DELETE FROM journey_rollup_state;
         INSERT INTO journey_rollup_state VALUES (current_setting('TimeZone'));",
    )
}

/// Recomputes `journey_handoff_facts` from every journey.
pub(crate) fn rebuild_handoffs(conn: &Connection) -> Result<(), duckdb::Error> {
    conn.execute_batch(&format!(
        "DELETE FROM journey_handoff_facts;
         INSERT INTO journey_handoff_facts BY NAME {};",
        super::handoff::facts_sql("true")
    ))
}

/// Recomputes the hand-off facts of the customers `customers` lists (a query of one
/// `customer_id` column, from the builder's constants): their complaints and NPS answers after
/// a hand-off are events that are not journey steps, so every customer a write touched is
/// redone, not only those whose journeys were cut again. `events` (a condition on `e`, from
/// the builder's constants) keeps at least every event of those customers.
pub(crate) fn refresh_handoffs(
    conn: &Connection,
    customers: &str,
    events: &str,
) -> Result<(), duckdb::Error> {
    conn.execute_batch(&format!(
        "DELETE FROM journey_handoff_facts WHERE customer_id IN ({customers});
         INSERT INTO journey_handoff_facts BY NAME {};",
        super::handoff::facts_sql_within(&format!("j.customer_id IN ({customers})"), events)
    ))
}

/// Brings the status of the hand-off facts of the journeys listed in `journey_restatus` up to
/// their journeys' (after the builder's status update).
pub(crate) fn restatus_handoffs(conn: &Connection) -> Result<(), duckdb::Error> {
    conn.execute_batch(
        "UPDATE journey_handoff_facts SET status = j.status
         FROM journeys j
         WHERE journey_handoff_facts.journey_id = j.journey_id
           AND j.journey_id IN (SELECT journey_id FROM journey_restatus);",
    )
}

/// Takes out the hand-off facts of one customer (an erasure, before it deletes the journeys).
pub(crate) fn forget_handoffs(conn: &Connection, customer_id: i64) -> Result<(), duckdb::Error> {
    conn.execute(
        "DELETE FROM journey_handoff_facts WHERE customer_id = ?",
        [customer_id],
    )?;
    Ok(())
}

/// The key and the other columns of `journey_handoff_facts`, as [`verify`] compares them.
const HANDOFF_KEY: &[&str] = &[
    "journey_id",
    "from_channel",
    "to_channel",
    "customer_id",
    "started_at",
    "status",
];
const HANDOFF_MEASURES: &[&str] = &["seconds", "complaints", "surveys", "score_sum"];

/// Adds (`sign` 1) or takes out (-1) the journeys `filter` (a condition on `j` from the
/// builder's constants, with `params`) keeps: in each table the rows of the keys they touch are summed with
/// them and replaced, and rows left with no journey go.
pub(crate) fn patch(
    conn: &Connection,
    filter: &str,
    params: &[&dyn duckdb::ToSql],
    sign: i8,
) -> Result<(), duckdb::Error> {
    for t in TABLES {
        let same: Vec<String> = t
            .key
            .iter()
            .map(|k| format!("d.{k} IS NOT DISTINCT FROM {}.{k}", t.name))
            .collect();
        let sums: Vec<String> = t
            .measures
            .iter()
            .map(|m| format!("sum({m}) AS {m}"))
            .collect();
        conn.execute(
            &format!(
                "CREATE OR REPLACE TEMP TABLE journey_rollup_delta AS {delta}",
                delta = (t.aggregate)(filter, sign),
            ),
            params,
        )?;
        // No journey of the filter has a row here (new customers before they are cut): the
        // table stays as it is, and the four statements below would only read it.
        let rows: i64 = conn.query_row("SELECT count(*) FROM journey_rollup_delta", [], |r| {
            r.get(0)
        })?;
        if rows == 0 {
            conn.execute_batch("DROP TABLE journey_rollup_delta;")?;
            continue;
        }
        conn.execute_batch(&format!(
            "CREATE OR REPLACE TEMP TABLE journey_rollup_merged AS
                 SELECT {key}, {sums}
                 FROM (SELECT * FROM {name} WHERE EXISTS ({touched})
                       UNION ALL BY NAME
                       SELECT * FROM journey_rollup_delta)
                 GROUP BY {key}
                 HAVING sum(journeys) <> 0;
             DELETE FROM {name} WHERE EXISTS ({touched});
             INSERT INTO {name} BY NAME SELECT * FROM journey_rollup_merged;
             DROP TABLE journey_rollup_delta;
             DROP TABLE journey_rollup_merged;",
            name = t.name,
            key = t.key.join(", "),
            sums = sums.join(", "),
            touched = format!(
                "SELECT 1 FROM journey_rollup_delta d WHERE {}",
                same.join(" AND ")
            ),
        ))?;
    }
    Ok(())
}

/// The period's journeys: (journeys, converted, abandoned, open, revenue), as
/// [`super::funnel::summary`] counts them.
pub fn summary(
    conn: &Connection,
    period: &Period,
) -> Result<(i64, i64, i64, i64, f64), duckdb::Error> {
    conn.query_row(
        "SELECT CAST(coalesce(sum(journeys), 0) AS BIGINT),
                CAST(coalesce(sum(converted), 0) AS BIGINT),
                CAST(coalesce(sum(abandoned), 0) AS BIGINT),
                CAST(coalesce(sum(journeys - converted - abandoned), 0) AS BIGINT),
                coalesce(CAST(sum(revenue) AS DOUBLE), 0)
         FROM journey_rollup_paths
         WHERE day >= CAST($1 AS DATE) AND day < CAST($2 AS DATE)",
        [
            period.from().to_string(),
            period.end_exclusive().to_string(),
        ],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    )
}

/// Every distinct path of the period's journeys with its counts, as
/// [`super::paths`] reads them from the journeys.
pub(crate) fn paths(
    conn: &Connection,
    period: &Period,
) -> Result<Vec<(String, Agg)>, duckdb::Error> {
    let mut stmt = conn.prepare(
        "SELECT path, CAST(sum(journeys) AS BIGINT), CAST(sum(converted) AS BIGINT),
                CAST(sum(converted + abandoned) AS BIGINT),
                coalesce(CAST(sum(revenue) AS DOUBLE), 0)
         FROM journey_rollup_paths
         WHERE day >= CAST($1 AS DATE) AND day < CAST($2 AS DATE)
         GROUP BY path",
    )?;
    let rows = stmt.query_map(
        [
            period.from().to_string(),
            period.end_exclusive().to_string(),
        ],
        Agg::of_row,
    )?;
    rows.collect()
}

/// The period's rule-5 counts: (kind, group, value, ended journeys, converted), value `None`
/// for the journeys of the kind and group.
#[allow(clippy::type_complexity)]
pub(crate) fn values(
    conn: &Connection,
    period: &Period,
) -> Result<Vec<(String, String, Option<String>, i64, i64)>, duckdb::Error> {
    let mut stmt = conn.prepare(
        "SELECT kind, grp, value, CAST(sum(journeys) AS BIGINT), CAST(sum(converted) AS BIGINT)
         FROM journey_rollup_values
         WHERE day >= CAST($1 AS DATE) AND day < CAST($2 AS DATE)
         GROUP BY kind, grp, value",
    )?;
    let rows = stmt.query_map(
        [
            period.from().to_string(),
            period.end_exclusive().to_string(),
        ],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    )?;
    rows.collect()
}

/// Compares the rollup with the journeys (`omnikpi rollup verify`): a rollup built in another
/// zone than the connection's is one difference; otherwise each differing row of each table.
pub fn verify(conn: &Connection, out: &mut Vec<Difference>) -> Result<(), duckdb::Error> {
    let (built, now): (String, String) = conn.query_row(
        "SELECT coalesce(max(time_zone), ''), current_setting('TimeZone')
         FROM journey_rollup_state",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if built != now {
        out.push(Difference {
            table: "journey_rollup_state",
            key: "time_zone".to_string(),
            measures: vec![("time_zone", built, now)],
        });
        return Ok(());
    }
    for t in TABLES {
        crate::server::rollup::compare(
            conn,
            t.name,
            &(t.aggregate)("true", 1),
            (t.key, t.measures),
            out,
        )?;
    }
    crate::server::rollup::compare(
        conn,
        "journey_handoff_facts",
        &super::handoff::facts_sql("true"),
        (HANDOFF_KEY, HANDOFF_MEASURES),
        out,
    )?;
    super::pain::facts::verify(conn, out)?;
    super::funnel::facts::verify(conn, out)
}
