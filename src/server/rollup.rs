//! Rollups: measures pre-aggregated at write time so that views read small tables instead of
//! scanning `events` (docs/rollups.md is the design, with which KPI each rollup serves).
//!
//! This module owns `rollup_daily` and `rollup_state` (migration 0020), through [`sets`]
//! the distinct sets per day (`rollup_sets`, migration 0022), through [`facts`] the
//! per-customer purchase facts (`rollup_facts`, migration 0023, kept with the sets), through
//! [`customer_facts`] the facts of the KPIs that judge an event by its customer's others
//! (migration 0029, kept by the journey builder), through [`order_facts`] those that judge
//! it by its order's (migration 0030, kept by each load) and through [`prices`] the purchase
//! prices per day, SKU and channel (migration 0032, kept by each load): how a write changes
//! them (always inside the writer's transaction), how they are rebuilt and verified against
//! the raw events, and whether the KPI engine may read them. Every statement that changes `events` calls in
//! here: a load through [`add_loaded`], a change of customer ids through [`detach`] (and
//! [`touch_customers`] for moves that keep the identified flag) before and [`reattach`] after.
//! No request path writes here.
//!
//! Days are local days in the zone recorded in `rollup_state`; the engine reads the rollup only
//! while that is the connection's zone ([`current`]), so a change of time zone can make it slow
//! for a moment, never wrong.

use duckdb::{Connection, ToSql};

use super::db::{Changed, Db, DbError};
use super::kpi::dialect::{Dialect, DialectError, render};
use super::kpi::{Dimension, Filters};

pub mod customer_facts;
pub mod facts;
pub mod order_facts;
pub mod prices;
pub mod sets;

const DAILY_SQL: &str = include_str!("rollup/daily.sql");

/// The columns that key a `rollup_daily` row: the local day, [`DIMENSIONS`], `identified`.
pub(crate) const KEY: &[&str] = &[
    "day",
    "event_type",
    "channel",
    "store_id",
    "campaign_id",
    "category",
    "touchpoint",
    "topic",
    "identified",
];

/// The event's own columns that key both rollups (`rollup_daily` and `rollup_sets`).
const DIMENSIONS: &[&str] = KEY.split_at(1).1.split_at(7).0;

/// The additive measures of a `rollup_daily` row.
pub(crate) const MEASURES: &[&str] = &[
    "event_count",
    "amount",
    "amount_count",
    "cost",
    "units",
    "nps_promoters",
    "nps_detractors",
    "nps_scored",
    "csat_satisfied",
    "csat_scored",
    "deliveries_promised",
    "deliveries_on_time",
];

/// The filter dimensions `rollup_daily` can answer: the event's own columns, and region
/// through `store_id` (the filter reads `stores` at query time). Not sku (too many values per
/// day) nor segment (it changes with every event of the customer): those fall back to raw
/// events.
pub const SERVED_DIMENSIONS: &[Dimension] = &[
    Dimension::Channel,
    Dimension::Store,
    Dimension::Region,
    Dimension::Campaign,
    Dimension::Category,
    Dimension::Touchpoint,
    Dimension::Topic,
];

/// The table the engine reads, aliased `events` so that the filter predicates and dimension
/// columns written for `events` (which qualify `events.store_id`) apply unchanged.
pub const DAILY_AS_EVENTS: &str = "rollup_daily AS events";

/// The predicate on `rollup_daily` that keeps the local days `[$1, $2)`.
pub const DAILY_PERIOD: &str = "day >= CAST($1 AS DATE) AND day < CAST($2 AS DATE)";

/// Whether every dimension `filters` narrows by is one the rollup keeps.
pub fn serves(filters: &Filters) -> bool {
    filters.dimensions().all(|d| SERVED_DIMENSIONS.contains(&d))
}

/// Whether the rollup holds the connection's local days (built in its time zone).
pub fn current(conn: &Connection) -> Result<bool, duckdb::Error> {
    conn.query_row(
        "SELECT count(*) > 0 FROM rollup_state WHERE time_zone = current_setting('TimeZone')",
        [],
        |r| r.get(0),
    )
}

/// The `rollup_daily` rows of the events `filter` keeps (over `e`), times `sign`, in DuckDB's
/// SQL.
fn aggregate(filter: &str, sign: i8) -> Result<String, duckdb::Error> {
    render(&template(filter, sign), Dialect::DuckDb)
        .map_err(|e| duckdb::Error::ToSqlConversionFailure(Box::new(e)))
}

/// [`aggregate`] with the dialect's macros left to render.
fn template(filter: &str, sign: i8) -> String {
    DAILY_SQL
        .replace("{sign}", &sign.to_string())
        .replace("{filter}", filter)
}

/// The temporary table in which the writer's transaction records the first local day each
/// change of the rollups touched (no day: all of them), read by [`changed`].
const CHANGED: &str = "rollup_changed";

/// Records that the rollups changed from the day `first` (an SQL expression over `from`, none
/// when `from` has no row) or, with `None`, on every day.
fn note_changed(conn: &Connection, first: Option<(&str, &str)>) -> Result<(), duckdb::Error> {
    conn.execute_batch(&format!(
        "CREATE TEMP TABLE IF NOT EXISTS {CHANGED} (day DATE, every_day BOOLEAN NOT NULL)"
    ))?;
    let row = match first {
        Some((first, from)) => {
            format!("SELECT {first}, false FROM {from} HAVING count(*) > 0")
        }
        None => "SELECT NULL, true".to_string(),
    };
    conn.execute_batch(&format!("INSERT INTO {CHANGED} {row}"))
}

/// What the writer's transaction has changed so far in the rollups, and so in every KPI
/// value computed from events (the rollups count every event): the days from the first one
/// touched (the day after every day when nothing was), or every day after a rebuild. The
/// writer passes it to [`crate::server::db::WriteGuard::changed`] once it committed.
pub fn changed(conn: &Connection) -> Result<Changed, duckdb::Error> {
    conn.execute_batch(&format!(
        "CREATE TEMP TABLE IF NOT EXISTS {CHANGED} (day DATE, every_day BOOLEAN NOT NULL)"
    ))?;
    let (every_day, first): (bool, Option<i64>) = conn.query_row(
        &format!(
            "SELECT coalesce(bool_or(every_day), false),
                    CAST(min(day) - DATE '1970-01-01' AS BIGINT) FROM {CHANGED}"
        ),
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let day = |days: i64| {
        chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
            .and_then(|epoch| epoch.checked_add_signed(chrono::TimeDelta::days(days)))
    };
    Ok(match (every_day, first) {
        (false, None) => Changed::DaysFrom(chrono::NaiveDate::MAX),
        (false, Some(days)) => day(days).map_or(Changed::Everything, Changed::DaysFrom),
        (true, _) => Changed::Everything,
    })
}

/// A rollup table whose rows add up: rows of one key are summed by a reader (and by
/// `rollup verify`), and a write merges its rows into those of the days it touches ([`merge`]).
pub(crate) struct Additive {
    pub name: &'static str,
    /// The columns that key a row, the local day first.
    pub key: &'static [&'static str],
    /// The additive measures, the first one a count that is zero only for a row that holds
    /// nothing.
    pub measures: &'static [&'static str],
}

/// `rollup_daily`: [`KEY`] and [`MEASURES`].
const DAILY: Additive = Additive {
    name: "rollup_daily",
    key: KEY,
    measures: MEASURES,
};

/// Adds `delta` (rows shaped as `table`'s, possibly negative) to `table`: the rows of the days
/// it touches are summed with it and replaced, and rows left with nothing go.
fn merge(
    conn: &Connection,
    table: &Additive,
    delta: &str,
    params: &[&dyn ToSql],
) -> Result<(), duckdb::Error> {
    conn.execute(
        &format!("CREATE OR REPLACE TEMP TABLE rollup_delta AS {delta}"),
        params,
    )?;
    note_changed(conn, Some(("min(day)", "rollup_delta")))?;
    let sums: Vec<String> = table
        .measures
        .iter()
        .map(|m| format!("sum({m}) AS {m}"))
        .collect();
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TEMP TABLE rollup_merged AS
             SELECT {key}, {sums}
             FROM (SELECT * FROM {name} WHERE day IN (SELECT DISTINCT day FROM rollup_delta)
                   UNION ALL BY NAME
                   SELECT * FROM rollup_delta)
             GROUP BY {key}
             HAVING sum({count}) <> 0;
         DELETE FROM {name} WHERE day IN (SELECT DISTINCT day FROM rollup_delta);
         INSERT INTO {name} BY NAME SELECT * FROM rollup_merged;
         DROP TABLE rollup_delta;
         DROP TABLE rollup_merged;",
        name = table.name,
        key = table.key.join(", "),
        sums = sums.join(", "),
        count = table.measures[0],
    ))
}

/// Brings the rollup up to date after a load, in the load's transaction: the events of the
/// loads after `rollup_state.loaded_through` (only the rows really inserted: duplicates get no
/// row, so they add nothing) are aggregated and merged. A rollup in another time zone is
/// rebuilt instead.
pub fn add_loaded(conn: &Connection) -> Result<(), duckdb::Error> {
    if !current(conn)? {
        return rebuild_in(conn);
    }
    let mut laps = super::ops::laps::Laps::start("rollups of a load");
    let through: i64 =
        conn.query_row("SELECT loaded_through FROM rollup_state", [], |r| r.get(0))?;
    sets::add_loaded(conn, through)?;
    laps.lap("sets and facts");
    merge(conn, &DAILY, &aggregate("e.load_id > ?", 1)?, &[&through])?;
    prices::add_loaded(conn, through)?;
    laps.lap("daily and prices");
    order_facts::add_loaded(conn, through)?;
    laps.lap("order facts");
    crate::server::ops::fault::point("rollup.merged");
    conn.execute(
        "UPDATE rollup_state SET
             clock = greatest(clock, (SELECT max(occurred_at) FROM events WHERE load_id > $1)),
             loaded_through = (SELECT greatest(coalesce(max(load_id), 0), $1) FROM loads)",
        [through],
    )?;
    Ok(())
}

/// The data's clock, the latest `occurred_at` of the events, as the rollups keep it
/// (`rollup_state.clock`): a subquery for readers outside a writer's transaction. Every load
/// moves it in its transaction ([`add_loaded`]) and no write takes an event out or moves one
/// in time, so it is the latest event's instant, without reading `events`.
pub const CLOCK: &str = "(SELECT clock FROM rollup_state)";

/// Sets the data's clock aside in the temporary table `into` (`as_of`) as the writer's
/// transaction sees it, its own new events included: [`CLOCK`], or the latest event of the
/// loads the rollups do not count yet (read through a `load_id` range, so only their rows).
/// Inside a writer's transaction `max(occurred_at)` over `events` is a scan of every event.
pub fn set_clock_aside(conn: &Connection, into: &str) -> Result<(), duckdb::Error> {
    let through: i64 =
        conn.query_row("SELECT loaded_through FROM rollup_state", [], |r| r.get(0))?;
    conn.execute(
        &format!(
            "CREATE OR REPLACE TEMP TABLE {into} AS
             SELECT greatest({CLOCK}, (SELECT max(occurred_at) FROM events WHERE load_id > ?))
                 AS as_of"
        ),
        [through],
    )?;
    Ok(())
}

/// Takes out of the rollup the events that `predicate` (over `e`, with `params`) keeps, before
/// a statement changes what they count for (their customer id); [`reattach`] puts the same
/// events back afterwards, as they are then. Events of a load not yet in the rollup are left
/// alone ([`add_loaded`] will count them as they end up). The distinct sets of the events'
/// days are recomputed by [`reattach`].
pub fn detach(
    conn: &Connection,
    predicate: &str,
    params: &[&dyn ToSql],
) -> Result<(), duckdb::Error> {
    const PATCH: &str = "CREATE OR REPLACE TEMP TABLE rollup_patch AS
                         SELECT e.source, e.event_id FROM events e WHERE";
    if current(conn)? {
        sets::touch(conn, &format!("({predicate}) AND {IN_ROLLUP}"), params)?;
        conn.execute(
            &format!(
                "{PATCH} ({predicate}) AND (e.load_id IS NULL
                     OR e.load_id <= (SELECT loaded_through FROM rollup_state))"
            ),
            params,
        )?;
    } else {
        // Unused until rebuilt in the instance's zone: nothing to keep exact.
        conn.execute(&format!("{PATCH} false"), [])?;
    }
    merge(conn, &DAILY, &aggregate(PATCHED, -1)?, &[])
}

/// Records that the events `predicate` (over `e`, with `params`) keeps are about to change
/// customer without becoming anonymous or identified (a merge): no `rollup_daily` measure
/// changes, but the distinct sets of their days do, and [`reattach`] recomputes them.
pub fn touch_customers(
    conn: &Connection,
    predicate: &str,
    params: &[&dyn ToSql],
) -> Result<(), duckdb::Error> {
    if current(conn)? {
        sets::touch(conn, &format!("({predicate}) AND {IN_ROLLUP}"), params)?;
    }
    Ok(())
}

/// The events (over `e`) of the loads the rollups already count: the days of the others are
/// recomputed by [`add_loaded`] anyway, after every change of the load's transaction.
const IN_ROLLUP: &str =
    "(e.load_id IS NULL OR e.load_id <= (SELECT loaded_through FROM rollup_state))";

/// Puts back the events [`detach`] took out, as they are now, and recomputes the distinct
/// sets of the days [`detach`] and [`touch_customers`] recorded.
pub fn reattach(conn: &Connection) -> Result<(), duckdb::Error> {
    merge(conn, &DAILY, &aggregate(PATCHED, 1)?, &[])?;
    conn.execute_batch("DROP TABLE rollup_patch;")?;
    if current(conn)? {
        sets::recompute_touched(conn)
    } else {
        sets::forget_touched(conn)
    }
}

/// The events listed in `rollup_patch` (an IN list over the key, which DuckDB answers through
/// the primary key rather than by scanning `events`).
const PATCHED: &str = "(e.source, e.event_id) IN (SELECT source, event_id FROM rollup_patch)";

/// Recomputes the rollup from every event, in the connection's time zone, inside the caller's
/// transaction.
pub fn rebuild_in(conn: &Connection) -> Result<(), duckdb::Error> {
    note_changed(conn, None)?;
    super::journey::rollup::rebuild_in(conn)?;
    sets::rebuild_in(conn)?;
    order_facts::rebuild_in(conn)?;
    prices::rebuild_in(conn)?;
    conn.execute_batch(&format!(
        "DELETE FROM rollup_daily;
         INSERT INTO rollup_daily BY NAME {};
         UPDATE rollup_state SET time_zone = current_setting('TimeZone'),
             clock = (SELECT max(occurred_at) FROM events),
             loaded_through = (SELECT greatest((SELECT coalesce(max(load_id), 0) FROM loads),
                                               (SELECT coalesce(max(load_id), 0) FROM events)));",
        aggregate("true", 1)?
    ))
}

/// The `rollup_daily` rows of every event in `dialect`: daily.sql, the one source of the
/// aggregation, for the Spark build (`omnikpi rollup build --engine spark`).
pub fn daily_sql(dialect: Dialect) -> Result<String, DialectError> {
    render(&template("true", 1), dialect)
}

/// The distinct (key, customer id) and (key, order key) pairs the Spark build computes for
/// `rollup_sets` ([`sets::pairs_sql`]) in `dialect`.
pub fn pairs_sql(dialect: Dialect) -> Result<String, DialectError> {
    render(&sets::pairs_sql(), dialect)
}

/// The tables a build elsewhere stages its results in (text columns named as the results'),
/// for [`import_staged`].
pub const STAGED_DAILY: &str = "rollup_import_daily";
pub const STAGED_PAIRS: &str = "rollup_import_pairs";
pub const STAGED_PRICES: &str = "rollup_import_prices";

/// The `rollup_prices` rows of every event in `dialect` ([`prices::rows`]), for the Spark
/// build.
pub fn prices_sql(dialect: Dialect) -> Result<String, DialectError> {
    render(&prices::rows("true"), dialect)
}

/// Replaces the rollups by rows computed elsewhere (`rollup build --engine spark`), inside the
/// caller's transaction: `rollup_daily` from [`STAGED_DAILY`] (rows of [`daily_sql`]),
/// `rollup_prices` from [`STAGED_PRICES`] (rows of [`prices_sql`]), the distinct sets from [`STAGED_PAIRS`] (rows of [`pairs_sql`]) numbered and turned into
/// bitmaps as a local rebuild does, and `rollup_state` set to the zone they were computed in
/// and the highest load they hold, so later writes maintain them incrementally.
pub fn import_staged(
    conn: &Connection,
    time_zone: &str,
    loaded_through: i64,
) -> Result<(), duckdb::Error> {
    let pairs = format!(
        "(SELECT CAST(day AS DATE) AS day, event_type, channel, store_id, campaign_id,
                 category, touchpoint, topic, CAST(identified AS BOOLEAN) AS identified,
                 CAST(customer_id AS BIGINT) AS customer_id, order_key, visitor_key
          FROM {STAGED_PAIRS})"
    );
    sets::rebuild_from_pairs(conn, &pairs)?;
    // INSERT casts the text to the table's types (DECIMAL exactly).
    conn.execute_batch(&format!(
        "DELETE FROM rollup_daily;
         INSERT INTO rollup_daily BY NAME SELECT * FROM {STAGED_DAILY};
         DELETE FROM rollup_prices;
         INSERT INTO rollup_prices BY NAME SELECT * FROM {STAGED_PRICES};"
    ))?;
    conn.execute(
        "UPDATE rollup_state SET time_zone = ?, loaded_through = ?,
             clock = (SELECT max(occurred_at) FROM events)",
        duckdb::params![time_zone, loaded_through],
    )?;
    Ok(())
}

/// `omnikpi rollup rebuild`: [`rebuild_in`] in its own transaction, under the writer lock.
pub fn rebuild(db: &Db) -> Result<(), DbError> {
    let _writer = db.write_lock();
    let mut conn = db.connect()?;
    let tx = conn.transaction()?;
    rebuild_in(&tx)?;
    tx.commit()?;
    Ok(())
}

/// Rebuilds the rollup when the instance's time zone is not the one it was built in (the first
/// start after migration 0020, or an admin's change of zone). Returns whether it rebuilt.
pub fn follow_time_zone(db: &Db) -> Result<bool, DbError> {
    let conn = db.connect()?;
    if current(&conn)? {
        if super::journey::rollup::current(&conn)? {
            let anchors = super::journey::pain::facts::current(&conn)?;
            let funnels = super::journey::funnel::facts::current(&conn)?;
            if anchors && funnels {
                return Ok(false);
            }
            // Only journey facts are behind (the first start after migration 0027, or a
            // binary with other rules or funnels, or a detractor's threshold changed).
            tracing::info!("rebuilding the journey facts");
            let _writer = db.write_lock();
            let mut conn = db.connect()?;
            let tx = conn.transaction()?;
            if !anchors {
                super::journey::pain::facts::rebuild_in(&tx)?;
            }
            if !funnels {
                super::journey::funnel::facts::rebuild_in(&tx)?;
            }
            tx.commit()?;
            return Ok(true);
        }
        // Only the journey rollup is behind (the first start after migration 0024).
        tracing::info!(time_zone = %db.time_zone(), "rebuilding the journey rollup");
        let _writer = db.write_lock();
        let mut conn = db.connect()?;
        let tx = conn.transaction()?;
        super::journey::rollup::rebuild_in(&tx)?;
        tx.commit()?;
        return Ok(true);
    }
    tracing::info!(time_zone = %db.time_zone(), "rebuilding the rollups for the time zone");
    rebuild(db)?;
    Ok(true)
}

/// One `rollup_daily` row that differs from the raw events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// The table that differs: `rollup_daily`, `rollup_sets`, `rollup_facts`, a numbering
    /// table, `rollup_state` (its clock), `journey_rollup_paths` or `journey_rollup_state`.
    pub table: &'static str,
    /// The row's key, `name=value` pairs.
    pub key: String,
    /// Each differing measure: name, the rollup's value, the raw events' value ("-": no row).
    pub measures: Vec<(&'static str, String, String)>,
}

/// What `omnikpi rollup verify` found.
#[derive(Clone, Debug, Default)]
pub struct Verification {
    /// `(rollup's zone, instance's zone)` when they differ: the rollup is then unused.
    pub time_zone: Option<(String, String)>,
    pub differences: Vec<Difference>,
}

impl Verification {
    pub fn is_clean(&self) -> bool {
        self.time_zone.is_none() && self.differences.is_empty()
    }
}

/// The most differences [`verify`] lists.
pub const MAX_DIFFERENCES: usize = 1000;

/// Recomputes the rollups from the raw events and compares them with the stored ones, row by
/// row (`rollup_daily`, the distinct sets, the purchase facts, the customer and order facts,
/// the journey rollup).
pub fn verify(conn: &Connection) -> Result<Verification, duckdb::Error> {
    let mut out = Verification::default();
    let (built, now): (String, String) = conn.query_row(
        "SELECT time_zone, current_setting('TimeZone') FROM rollup_state",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if built != now {
        out.time_zone = Some((built, now));
        return Ok(out);
    }
    compare(
        conn,
        DAILY.name,
        &aggregate("true", 1)?,
        (DAILY.key, DAILY.measures),
        &mut out.differences,
    )?;
    prices::verify(conn, &mut out.differences)?;
    let (kept, latest): (Option<String>, Option<String>) = conn.query_row(
        &format!("SELECT CAST({CLOCK} AS VARCHAR), CAST(max(occurred_at) AS VARCHAR) FROM events"),
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if kept != latest {
        let show = |t: Option<String>| t.unwrap_or_else(|| "-".to_string());
        out.differences.push(Difference {
            table: "rollup_state",
            key: "the data's clock".to_string(),
            measures: vec![("clock", show(kept), show(latest))],
        });
    }
    sets::verify(conn, &mut out.differences)?;
    facts::verify(conn, &mut out.differences)?;
    customer_facts::verify(conn, &mut out.differences)?;
    order_facts::verify(conn, &mut out.differences)?;
    super::journey::rollup::verify(conn, &mut out.differences)?;
    Ok(out)
}

/// A table of facts whose rows a write recomputes whole for what it touched (the customer and
/// the order facts): its name, the SQL of its rows over the relation in its `{events}` slot,
/// and the key and additive measures `rollup verify` compares.
pub(crate) struct FactTable {
    pub name: &'static str,
    pub sql: &'static str,
    pub key: &'static [&'static str],
    pub measures: &'static [&'static str],
}

impl FactTable {
    /// The rows of the customers or orders whose every event `events` (a table or a copy of
    /// some of its rows, from the callers' constants) holds.
    pub(crate) fn rows_of(&self, events: &str) -> String {
        self.sql.replace("{events}", events)
    }

    /// Recomputes every row from the events, inside the caller's transaction.
    pub(crate) fn rebuild_in(&self, conn: &Connection) -> Result<(), duckdb::Error> {
        conn.execute_batch(&format!(
            "DELETE FROM {name}; INSERT INTO {name} BY NAME {rows};",
            name = self.name,
            rows = self.rows_of("events")
        ))
    }

    /// Recomputes every row from the raw events and lists the rows that differ from the
    /// stored ones.
    pub(crate) fn verify(
        &self,
        conn: &Connection,
        out: &mut Vec<Difference>,
    ) -> Result<(), duckdb::Error> {
        compare(
            conn,
            self.name,
            &self.rows_of("events"),
            (self.key, self.measures),
            out,
        )
    }
}

/// Compares the rows of `table` (summed by `key`, as a reader sees them) with `raw`, the same
/// rows recomputed from the events, and lists each key whose `measures` differ, up to
/// [`MAX_DIFFERENCES`] in all.
pub(crate) fn compare(
    conn: &Connection,
    table: &'static str,
    raw: &str,
    columns: (&[&str], &[&'static str]),
    out: &mut Vec<Difference>,
) -> Result<(), duckdb::Error> {
    compare_by(conn, table, raw, columns, "sum", out)
}

/// [`compare`] for a table of facts, one row per key, whose measures are values that do not
/// add up (instants): each is compared as it is.
pub(crate) fn compare_values(
    conn: &Connection,
    table: &'static str,
    raw: &str,
    columns: (&[&str], &[&'static str]),
    out: &mut Vec<Difference>,
) -> Result<(), duckdb::Error> {
    compare_by(conn, table, raw, columns, "max", out)
}

/// [`compare`] with the kept rows of one key combined by `combine` (`sum` or `max`).
fn compare_by(
    conn: &Connection,
    table: &'static str,
    raw: &str,
    (key, measures): (&[&str], &[&'static str]),
    combine: &str,
    out: &mut Vec<Difference>,
) -> Result<(), duckdb::Error> {
    let on: Vec<String> = key
        .iter()
        .map(|k| format!("r.{k} IS NOT DISTINCT FROM k.{k}"))
        .collect();
    let keys: Vec<String> = key
        .iter()
        .map(|k| format!("CAST(coalesce(k.{k}, r.{k}) AS VARCHAR)"))
        .collect();
    let order: Vec<String> = (1..=key.len()).map(|i| i.to_string()).collect();
    let pairs: Vec<String> = measures
        .iter()
        .map(|m| format!("CAST(k.{m} AS VARCHAR), CAST(r.{m} AS VARCHAR)"))
        .collect();
    let differs: Vec<String> = measures
        .iter()
        .map(|m| format!("k.{m} IS DISTINCT FROM r.{m}"))
        .collect();
    let sums: Vec<String> = measures
        .iter()
        .map(|m| format!("{combine}({m}) AS {m}"))
        .collect();
    let sql = format!(
        "WITH r AS ({raw}),
              k AS (SELECT {key}, {sums} FROM {table} GROUP BY {key})
         SELECT {keys}, {pairs}
         FROM r FULL OUTER JOIN k ON {on}
         WHERE {differs}
         ORDER BY {order}
         LIMIT {room}",
        room = MAX_DIFFERENCES.saturating_sub(out.len()),
        order = order.join(", "),
        key = key.join(", "),
        sums = sums.join(", "),
        keys = keys.join(", "),
        pairs = pairs.join(", "),
        on = on.join(" AND "),
        differs = differs.join(" OR "),
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let mut shown = Vec::with_capacity(key.len());
        for (i, name) in key.iter().enumerate() {
            let value: Option<String> = row.get(i)?;
            shown.push(format!("{name}={}", value.as_deref().unwrap_or("∅")));
        }
        let mut differing = Vec::new();
        for (i, name) in measures.iter().enumerate() {
            let kept: Option<String> = row.get(key.len() + 2 * i)?;
            let raw: Option<String> = row.get(key.len() + 2 * i + 1)?;
            if kept != raw {
                let show = |v: Option<String>| v.unwrap_or_else(|| "-".to_string());
                differing.push((*name, show(kept), show(raw)));
            }
        }
        out.push(Difference {
            table,
            key: shown.join(" "),
            measures: differing,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_daily_aggregate_fills_every_column_of_the_table() -> Result<(), DbError> {
        let db = Db::open_in_memory("Europe/Rome")?;
        let conn = db.connect()?;
        conn.execute_batch(&format!(
            "INSERT INTO rollup_daily BY NAME {}",
            aggregate("true", -1)?
        ))?;
        assert!(current(&conn)?, "built at start-up in the instance's zone");
        Ok(())
    }

    #[test]
    fn a_sku_or_segment_filter_is_not_served() {
        let by = |d: &str| Filters::parse([(d, "x")]).expect("filter");
        assert!(serves(&Filters::none()));
        assert!(serves(&by("channel")));
        assert!(serves(&by("region")));
        assert!(!serves(&by("sku")));
        assert!(!serves(&by("segment")));
        assert!(!serves(
            &Filters::none().without(Dimension::Segment, &["vip".to_string()])
        ));
    }
}
