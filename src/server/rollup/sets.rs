//! Distinct sets per day (`rollup_sets`, migrations 0022 and 0031): for each key of
//! `rollup_daily`, the customers, the orders and the anonymous visitors of its events as
//! serialised Roaring bitmaps of dense u32 numbers.
//!
//! This module owns the table and its three numbering tables: how a write changes them and how
//! they are verified; the per-customer purchase facts (`super::facts`) are recomputed with it,
//! for the same days. Maintenance is simple and exact: a load **adds** its new events to the
//! rows of their keys (a union of bitmaps, a sum of facts: [`add_loaded`]); an identity change
//! or an erasure, which takes members out, **recomputes whole local days** from the raw events
//! (the days of every event whose customer it moved), reading each day's events through a
//! range predicate on `occurred_at`. The KPI engine reads the table through
//! `kpi::sets`; nothing on a request path writes here.

use std::collections::HashMap;
use std::ops::BitOrAssign;

use duckdb::types::Value;
use duckdb::{Connection, ToSql};
use roaring::RoaringBitmap;

use super::Difference;

const SETS_SQL: &str = include_str!("sets.sql");

/// The table the engine reads, aliased `events` so that the filter predicates written for
/// `events` apply unchanged (as [`super::DAILY_AS_EVENTS`]).
pub const AS_EVENTS: &str = "rollup_sets AS events";

/// The temporary table of the local days a transaction must recompute before it ends.
const TOUCHED: &str = "rollup_sets_days";

/// The key of a `rollup_sets` row: local day (days since 1970-01-01), then event_type,
/// channel, store_id, campaign_id, category, touchpoint, topic, and identified.
type Key = (i32, [Option<String>; 7], bool);

/// The sets of a row, in the order of [`SETS`].
#[derive(Clone, Debug, Default, PartialEq)]
struct Members([RoaringBitmap; 3]);

impl BitOrAssign for Members {
    fn bitor_assign(&mut self, other: Self) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0) {
            *mine |= theirs;
        }
    }
}

/// Each set of a row: its column in `rollup_sets` and in [`SETS_SQL`], how verify names a
/// value without a number, the value [`keyed_events`] gives each event (NULL: in no set), its
/// numbering table and sequence.
struct SetColumn {
    column: &'static str,
    numbered: &'static str,
    value: &'static str,
    numbers: &'static str,
    sequence: &'static str,
}

const SETS: [SetColumn; 3] = [
    SetColumn {
        column: "customers",
        numbered: "numbered customers",
        value: "customer_id",
        numbers: "rollup_customer_numbers",
        sequence: "rollup_customer_number_seq",
    },
    SetColumn {
        column: "orders",
        numbered: "numbered orders",
        value: "order_key",
        numbers: "rollup_order_numbers",
        sequence: "rollup_order_number_seq",
    },
    SetColumn {
        column: "visitors",
        numbered: "numbered visitors",
        value: "visitor_key",
        numbers: "rollup_visitor_numbers",
        sequence: "rollup_visitor_number_seq",
    },
];

/// One row computed from the raw events.
struct Computed {
    members: Members,
    /// Distinct raw values of each set: more than its bitmap holds means a value without a
    /// number.
    values: [u64; 3],
}

/// Reads a serialised bitmap (the table's blobs are written by [`encode`] only).
pub fn decode(blob: &[u8]) -> Result<RoaringBitmap, duckdb::Error> {
    RoaringBitmap::deserialize_from(blob).map_err(|e| {
        duckdb::Error::FromSqlConversionFailure(0, duckdb::types::Type::Blob, e.into())
    })
}

fn encode(set: &RoaringBitmap) -> Result<Vec<u8>, duckdb::Error> {
    let mut out = Vec::with_capacity(set.serialized_size());
    set.serialize_into(&mut out)
        .map_err(|e| duckdb::Error::ToSqlConversionFailure(Box::new(e)))?;
    Ok(out)
}

/// The events `filter` (over `e`) keeps as [`SETS_SQL`] reads them: the key of their row
/// (`day` the local day in the session's zone), `customer_id`, `order_key`, the KPIs' order
/// (NULL but for purchases and returns), and `visitor_key`, the KPIs' visitor of an anonymous
/// event (its cookie, else its device; NULL when it has a customer, who is then the visitor),
/// computed once per event so that the joins on the numbering tables are plain equalities
/// (hash joins). Plain SQL that DuckDB and Spark read
/// alike: the Spark build (`rollup build --engine spark`) computes its pairs from it.
pub(crate) fn keyed_events(filter: &str) -> String {
    keyed_from("events", filter)
}

/// [`keyed_events`] of `relation`, rows shaped as `events` (a load's rows set aside).
fn keyed_from(relation: &str, filter: &str) -> String {
    format!(
        "(SELECT CAST(e.occurred_at AS DATE) AS day, e.event_type, e.channel, e.store_id,
                 e.campaign_id, e.category, e.touchpoint, e.topic,
                 e.customer_id IS NOT NULL AS identified, e.customer_id,
                 CASE WHEN e.event_type IN ('purchase', 'return')
                      THEN coalesce(e.order_id, e.source || ':' || e.event_id) END AS order_key,
                 CASE WHEN e.customer_id IS NULL
                      THEN coalesce('k:' || e.cookie_id, 'd:' || e.device_id) END AS visitor_key
          FROM {relation} e
          WHERE {filter})"
    )
}

/// The distinct (key, customer id), (key, order key) and (key, visitor key) pairs of every
/// event, the other values NULL: all [`SETS_SQL`] needs of the events, and much fewer rows.
/// The heavy part of the Spark build, in SQL both engines read alike.
pub(crate) fn pairs_sql() -> String {
    let key = "day, event_type, channel, store_id, campaign_id, category, touchpoint, topic, \
               identified";
    format!(
        "WITH keyed AS {keyed}
         SELECT DISTINCT {key}, customer_id, CAST(NULL AS STRING) AS order_key,
                CAST(NULL AS STRING) AS visitor_key
         FROM keyed WHERE customer_id IS NOT NULL
         UNION ALL
         SELECT DISTINCT {key}, CAST(NULL AS BIGINT) AS customer_id, order_key,
                CAST(NULL AS STRING) AS visitor_key
         FROM keyed WHERE order_key IS NOT NULL
         UNION ALL
         SELECT DISTINCT {key}, CAST(NULL AS BIGINT) AS customer_id,
                CAST(NULL AS STRING) AS order_key, visitor_key
         FROM keyed WHERE visitor_key IS NOT NULL",
        keyed = keyed_events("true")
    )
}

/// Numbers the customer ids, order keys and visitor keys of `events` (shaped as
/// [`keyed_events`], with `params`) that have none yet.
fn number(conn: &Connection, events: &str, params: &[&dyn ToSql]) -> Result<(), duckdb::Error> {
    for SetColumn {
        value,
        numbers,
        sequence,
        ..
    } in &SETS
    {
        conn.execute(
            &format!(
                "INSERT INTO {numbers}
                 SELECT {value}, nextval('{sequence}')
                 FROM (SELECT DISTINCT e.{value} FROM {events} e
                       WHERE e.{value} IS NOT NULL) d
                 WHERE NOT EXISTS (SELECT 1 FROM {numbers} n WHERE n.{value} = d.{value})"
            ),
            params,
        )?;
    }
    Ok(())
}

/// The bitmap of a LIST of UINTEGER (NULL: empty).
fn bitmap(value: Value) -> RoaringBitmap {
    let mut set = RoaringBitmap::new();
    if let Value::List(items) = value {
        for item in items {
            if let Value::UInt(n) = item {
                set.insert(n);
            }
        }
    }
    set
}

/// The rows of `events` (shaped as [`keyed_events`], with `params`).
fn compute(
    conn: &Connection,
    events: &str,
    params: &[&dyn ToSql],
) -> Result<HashMap<Key, Computed>, duckdb::Error> {
    let mut stmt = conn.prepare(&SETS_SQL.replace("{events}", events))?;
    let mut rows = stmt.query(params)?;
    let mut out = HashMap::new();
    while let Some(row) = rows.next()? {
        let mut dims: [Option<String>; 7] = Default::default();
        for (i, d) in dims.iter_mut().enumerate() {
            *d = row.get(1 + i)?;
        }
        let key = (row.get(0)?, dims, row.get(8)?);
        let count = |i: usize| -> Result<u64, duckdb::Error> {
            Ok(u64::try_from(row.get::<_, i64>(i)?).unwrap_or(0))
        };
        out.insert(
            key,
            Computed {
                members: Members([
                    bitmap(row.get(9)?),
                    bitmap(row.get(10)?),
                    bitmap(row.get(11)?),
                ]),
                values: [count(12)?, count(13)?, count(14)?],
            },
        );
    }
    Ok(out)
}

/// Replaces the rows `delete` (a predicate over `rollup_sets`) keeps by the rows computed from
/// the events `filter` keeps (both the same local days), numbering new values first; the
/// purchase facts of the same days with them (`rollup_facts` has the same `day` column).
fn replace(
    conn: &Connection,
    filter: &str,
    delete: &str,
    params: &[&dyn ToSql],
) -> Result<(), duckdb::Error> {
    replace_from(conn, &keyed_events(filter), delete, params)?;
    // The purchase facts of the same days, whose values are numbered by now.
    super::facts::replace(conn, filter, delete, params)
}

/// [`replace`] from `events`, a relation shaped as [`keyed_events`] (with `params`).
fn replace_from(
    conn: &Connection,
    events: &str,
    delete: &str,
    params: &[&dyn ToSql],
) -> Result<(), duckdb::Error> {
    number(conn, events, params)?;
    let rows = compute(conn, events, params)?;
    conn.execute(&format!("DELETE FROM rollup_sets WHERE {delete}"), [])?;
    append(conn, rows.into_iter().map(|(key, row)| (key, row.members)))
}

/// Appends rows to `rollup_sets`: key and sets.
fn append(
    conn: &Connection,
    rows: impl Iterator<Item = (Key, Members)>,
) -> Result<(), duckdb::Error> {
    let mut appender = conn.appender("rollup_sets")?;
    for ((day, dims, identified), Members([customers, orders, visitors])) in rows {
        let [
            event_type,
            channel,
            store,
            campaign,
            category,
            touchpoint,
            topic,
        ] = dims;
        appender.append_row(duckdb::params![
            Value::Date32(day),
            event_type,
            channel,
            store,
            campaign,
            category,
            touchpoint,
            topic,
            identified,
            encode(&customers)?,
            encode(&orders)?,
            encode(&visitors)?,
        ])?;
    }
    appender.flush()
}

/// Records the local days of the events `predicate` (over `e`) keeps, to be recomputed by
/// [`recompute_touched`] before the transaction ends.
pub(super) fn touch(
    conn: &Connection,
    predicate: &str,
    params: &[&dyn ToSql],
) -> Result<(), duckdb::Error> {
    conn.execute_batch(&format!(
        "CREATE TEMP TABLE IF NOT EXISTS {TOUCHED} (day DATE NOT NULL)"
    ))?;
    conn.execute(
        &format!(
            "INSERT INTO {TOUCHED}
             SELECT DISTINCT CAST(e.occurred_at AS DATE) FROM events e WHERE ({predicate})"
        ),
        params,
    )?;
    Ok(())
}

/// Recomputes the days [`touch`] recorded, from the raw events, and forgets them.
pub(super) fn recompute_touched(conn: &Connection) -> Result<(), duckdb::Error> {
    conn.execute_batch(&format!(
        "CREATE TEMP TABLE IF NOT EXISTS {TOUCHED} (day DATE NOT NULL)"
    ))?;
    let (first, last): (Option<i32>, Option<i32>) = conn.query_row(
        &format!(
            "SELECT CAST(min(day) - DATE '1970-01-01' AS INTEGER),
                    CAST(max(day) - DATE '1970-01-01' AS INTEGER) FROM {TOUCHED}"
        ),
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if let (Some(first), Some(last)) = (first, last) {
        super::note_changed(conn, Some(("min(day)", TOUCHED)))?;
        // The range bounds the scan (zone maps on occurred_at); the list keeps only the days.
        // Only the events the rollups already count: inside a load, its own events are merged
        // afterwards by [`add_loaded`], and counting them here too would count their facts twice.
        let filter = format!(
            "e.occurred_at >= CAST(DATE '1970-01-01' + CAST(? AS INTEGER) AS TIMESTAMPTZ)
             AND e.occurred_at < CAST(DATE '1970-01-01' + CAST(? AS INTEGER) AS TIMESTAMPTZ)
             AND CAST(e.occurred_at AS DATE) IN (SELECT day FROM {TOUCHED})
             AND {in_rollup}",
            in_rollup = super::IN_ROLLUP
        );
        let end = last + 1;
        replace(
            conn,
            &filter,
            &format!("day IN (SELECT day FROM {TOUCHED})"),
            &[&first, &end],
        )?;
    }
    conn.execute_batch(&format!("DROP TABLE {TOUCHED}"))
}

/// Forgets the days [`touch`] recorded (the sets are unused until rebuilt in the zone).
pub(super) fn forget_touched(conn: &Connection) -> Result<(), duckdb::Error> {
    conn.execute_batch(&format!("DROP TABLE IF EXISTS {TOUCHED}"))
}

/// Adds the events of the loads after `through` to the sets and the purchase facts (in the
/// load's transaction). A load only adds: each new event puts its customer and order into the
/// sets of its row and its amount into its fact, and leaves every other member of its day as
/// it was, so the rows are computed from the new events alone and merged into the stored ones
/// (a union of bitmaps, a sum of facts), which equals recomputing their days (the property
/// tests compare with raw events) without reading a day's other events: at 10M events, a busy
/// day's 100,000 events cost more than a second. The events that an identity change moved
/// were recomputed with their days when it happened ([`touch`], [`recompute_touched`]).
pub(super) fn add_loaded(conn: &Connection, through: i64) -> Result<(), duckdb::Error> {
    recompute_touched(conn)?;
    // The load's rows, set aside: the load_id range reads only the row groups that hold them,
    // and the joins on the numbering tables then know how few they are (left as a predicate
    // on `events`, DuckDB built its hash tables on the numbering tables' ~1M rows).
    conn.execute(
        &format!(
            "CREATE OR REPLACE TEMP TABLE {LOADED} AS SELECT * FROM events e WHERE e.load_id > ?"
        ),
        [through],
    )?;
    let events = keyed_from(LOADED, "true");
    number(conn, &events, &[])?;
    let added = compute(conn, &events, &[])?;
    let days: Vec<i32> = {
        let mut days: Vec<i32> = added.keys().map(|(day, _, _)| *day).collect();
        days.sort_unstable();
        days.dedup();
        days
    };
    if !days.is_empty() {
        // Days are numbers computed here, never input.
        let list = days
            .iter()
            .map(|d| format!("DATE '1970-01-01' + {d}"))
            .collect::<Vec<_>>()
            .join(", ");
        let of_days = format!("day IN ({list})");
        let mut rows = stored_where(conn, &of_days)?;
        for (key, row) in added {
            *rows.entry(key).or_default() |= row.members;
        }
        conn.execute(&format!("DELETE FROM rollup_sets WHERE {of_days}"), [])?;
        append(conn, rows.into_iter())?;
    }
    super::facts::add(conn, LOADED)?;
    conn.execute_batch(&format!("DROP TABLE {LOADED}"))
}

/// The temporary table of a load's new rows while [`add_loaded`] adds them.
const LOADED: &str = "rollup_loaded";

/// Recomputes every row from every event (numbers already given are kept).
pub(super) fn rebuild_in(conn: &Connection) -> Result<(), duckdb::Error> {
    conn.execute_batch(&format!("DROP TABLE IF EXISTS {TOUCHED}"))?;
    replace(conn, "true", "true", &[])
}

/// Replaces every row by those of `pairs`, a relation shaped as [`pairs_sql`]'s result (the
/// Spark build's), numbering new values first: the same numbering and bitmaps as a local
/// rebuild. The purchase facts are not among Spark's results yet: they are recomputed here
/// from the local events (docs/scaling.md).
pub(super) fn rebuild_from_pairs(conn: &Connection, pairs: &str) -> Result<(), duckdb::Error> {
    conn.execute_batch(&format!("DROP TABLE IF EXISTS {TOUCHED}"))?;
    replace_from(conn, pairs, "true", &[])?;
    super::facts::replace(conn, "true", "true", &[])
}

/// The stored rows, decoded.
fn stored(conn: &Connection) -> Result<HashMap<Key, Members>, duckdb::Error> {
    stored_where(conn, "true")
}

/// The stored rows that `filter` (a condition on `rollup_sets` from this module) keeps, decoded.
fn stored_where(conn: &Connection, filter: &str) -> Result<HashMap<Key, Members>, duckdb::Error> {
    let mut stmt = conn.prepare(&format!(
        "SELECT CAST(day - DATE '1970-01-01' AS INTEGER), event_type, channel, store_id,
                campaign_id, category, touchpoint, topic, identified, customers, orders, visitors
         FROM rollup_sets WHERE {filter}"
    ))?;
    let mut rows = stmt.query([])?;
    let mut out: HashMap<Key, Members> = HashMap::new();
    while let Some(row) = rows.next()? {
        let mut dims: [Option<String>; 7] = Default::default();
        for (i, d) in dims.iter_mut().enumerate() {
            *d = row.get(1 + i)?;
        }
        let set = |i: usize| decode(&row.get::<_, Vec<u8>>(i)?);
        let members = Members([set(9)?, set(10)?, set(11)?]);
        // Two rows with one key would be a defect; their union is what a reader would see.
        *out.entry((row.get(0)?, dims, row.get(8)?)).or_default() |= members;
    }
    Ok(out)
}

/// The dimension columns of a key: those of `rollup_daily` between its day and `identified`.
const KEY_NAMES: &[&str] = super::DIMENSIONS;

fn describe(key: &Key) -> String {
    let (day, dims, identified) = key;
    let date = chrono::NaiveDate::from_num_days_from_ce_opt(day + 719_163)
        .map_or_else(|| day.to_string(), |d| d.to_string());
    let mut out = format!("day={date}");
    for (name, value) in KEY_NAMES.iter().zip(dims) {
        out.push_str(&format!(" {name}={}", value.as_deref().unwrap_or("∅")));
    }
    out.push_str(&format!(" identified={identified}"));
    out
}

/// A set's size as verify prints it ("-": no row); `other` when it has the size of the set it
/// is compared with but not the same members.
fn show(set: Option<&RoaringBitmap>, other: bool) -> String {
    let other = if other { " (other members)" } else { "" };
    set.map_or_else(|| "-".to_string(), |s| format!("{} ids{other}", s.len()))
}

/// The `(kept, raw)` pair verify prints for two differing sets.
fn pair(kept: Option<&RoaringBitmap>, raw: Option<&RoaringBitmap>) -> (String, String) {
    let same_size = kept.map(RoaringBitmap::len) == raw.map(RoaringBitmap::len);
    (show(kept, false), show(raw, same_size))
}

/// Recomputes every row from the raw events and lists the rows that differ from the stored
/// ones, and numbering tables that give one value two numbers or one number two values.
pub(super) fn verify(conn: &Connection, out: &mut Vec<Difference>) -> Result<(), duckdb::Error> {
    for SetColumn {
        value,
        numbers: table,
        ..
    } in &SETS
    {
        let (values, numbers, rows): (i64, i64, i64) = conn.query_row(
            &format!("SELECT count(DISTINCT {value}), count(DISTINCT n), count(*) FROM {table}"),
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        if values != rows || numbers != rows {
            out.push(Difference {
                table,
                key: format!("{rows} rows"),
                measures: vec![
                    ("distinct values", values.to_string(), rows.to_string()),
                    ("distinct numbers", numbers.to_string(), rows.to_string()),
                ],
            });
        }
    }
    let raw = compute(conn, &keyed_events("true"), &[])?;
    let kept = stored(conn)?;
    let mut keys: Vec<&Key> = raw.keys().chain(kept.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        if out.len() >= super::MAX_DIFFERENCES {
            break;
        }
        let r = raw.get(key);
        let k = kept.get(key);
        let mut measures = Vec::new();
        for (i, set) in SETS.iter().enumerate() {
            let raw_set = r.map(|r| &r.members.0[i]);
            let kept_set = k.map(|k| &k.0[i]);
            if raw_set != kept_set {
                let (kept, raw) = pair(kept_set, raw_set);
                measures.push((set.column, kept, raw));
            }
        }
        if let Some(r) = r {
            for (i, set) in SETS.iter().enumerate() {
                if r.members.0[i].len() != r.values[i] {
                    measures.push((
                        set.numbered,
                        r.members.0[i].len().to_string(),
                        r.values[i].to_string(),
                    ));
                }
            }
        }
        if !measures.is_empty() {
            out.push(Difference {
                table: "rollup_sets",
                key: describe(key),
                measures,
            });
        }
    }
    Ok(())
}
