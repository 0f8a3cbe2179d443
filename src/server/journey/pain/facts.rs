//! Anchor facts of the failure rules (1 to 4): `journey_anchor_facts` (migration 0027), one
//! row per rule and journey with its first anchor (or reference) step, as [`super::anchors`]
//! finds it, and the two instants that judge it: `fail_at`, the first event at or after the
//! anchor that the rule's failure looks for, and `outcome_at`, the first that converts it.
//!
//! "An event within `d` days after the anchor" is "the first event at or after it comes no
//! later than the anchor plus `d` days", so the windows (overridable per instance) and the
//! data's clock (which every write moves) stay in the query ([`judge`]), and a row changes
//! only when its customer's journeys or events change, or when an event names its order.
//! What changes which events count at all (a rule's conditions, a detractor's threshold) is
//! the facts' signature ([`signature`]): facts of another one are not read.
//!
//! The journey builder keeps them in the writer's transaction ([`refresh`]): the facts of the
//! customers the write touched are recomputed, and so are those of the owners of the orders
//! its new events name (a pickup or a return of someone else's order, or of nobody's). An
//! erasure takes out the customer's ([`forget`]); every full rebuild of the journey rollup
//! rebuilds them ([`rebuild_in`]). `omnikpi rollup verify` compares them row by row
//! ([`verify`]).

use std::collections::HashMap;

use duckdb::Connection;

use super::anchors::{
    DIMENSIONS, Judged, OTHER_ORDER, Tallies, bad_after_sale, first_steps, firsts, needs_order,
    references,
};
use super::rules::{Failure, FailureRule, Outcome, RuleKind, Rules, overrides, with_overrides};
use super::{Detail, EXAMPLES};
use crate::journey::PainExample;
use crate::server::journey::JourneyError;
use crate::server::kpi::Filters;
use crate::server::rollup::Difference;

/// The statement of [`rows_of`], with `{name}` slots filled per rule.
const FACTS_SQL: &str = include_str!("facts.sql");

/// The failure rules with the instance's overrides, each with its key.
fn failure_rules(settings: &HashMap<String, String>) -> Vec<(String, FailureRule)> {
    Rules::builtin()
        .all()
        .iter()
        .filter_map(|rule| {
            let rule = with_overrides(rule, settings);
            match rule.kind {
                RuleKind::Failure(f) => Some((rule.key, f)),
                RuleKind::Significance { .. } => None,
            }
        })
        .collect()
}

/// What the facts depend on besides the data: each failure rule's key, conditions, kinds and,
/// for an after-sale rule, the detractor's threshold. Windows and volumes are left out: they
/// are applied when the facts are read.
pub fn signature(settings: &HashMap<String, String>) -> String {
    failure_rules(settings)
        .iter()
        .map(|(key, f)| {
            let threshold = match f.failure {
                Failure::BadAfterSale => f.detractor_max.to_string(),
                Failure::NoPurchase | Failure::NoPickup => "-".to_string(),
            };
            format!(
                "{key}|{}|{}|{:?}|{:?}|{threshold}",
                f.anchor,
                f.reference.as_deref().unwrap_or(""),
                f.failure,
                f.outcome
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether the facts were computed for the rules and overrides in force.
pub fn current(conn: &Connection) -> Result<bool, duckdb::Error> {
    current_for(conn, &overrides(conn)?)
}

fn current_for(
    conn: &Connection,
    settings: &HashMap<String, String>,
) -> Result<bool, duckdb::Error> {
    let kept: String = conn.query_row(
        "SELECT coalesce(max(anchors), '') FROM journey_facts_state",
        [],
        |r| r.get(0),
    )?;
    Ok(kept == signature(settings))
}

/// Whether the pain points of `filters` can be judged from the facts: no filter (a filter
/// keeps a journey when one of its steps matches, as for the rest of the journey rollup), the
/// journey rollup in use, and facts of the rules in force.
pub fn serves(
    conn: &Connection,
    filters: &Filters,
    settings: &HashMap<String, String>,
) -> Result<bool, duckdb::Error> {
    Ok(super::super::rollup::serves(conn, filters)? && current_for(conn, settings)?)
}

/// The facts of `rule` (keyed `key`) for the journeys of the table `journeys` meeting `cond` (a
/// condition on `j`, from this crate's constants), reading the steps and events of the tables
/// `steps` and `events`: the whole tables, or the writer's copies (`refresh`).
/// The key is a validated snake_case name and the threshold a number: both are written into
/// the statement, as the rule's conditions are.
fn rows_of(key: &str, rule: &FailureRule, cond: &str, tables: Tables<'_>) -> String {
    let Tables {
        journeys,
        steps,
        events,
    } = tables;
    let purchase_from = |after: &str| {
        format!(
            "(SELECT min(p.occurred_at) FROM {events} p WHERE p.customer_id = a.customer_id
                  AND p.event_type = 'purchase' AND p.occurred_at {after} a.at)"
        )
    };
    let fail_at = match rule.failure {
        Failure::NoPurchase => purchase_from(">="),
        Failure::NoPickup => format!(
            "(SELECT min(k.occurred_at) FROM {events} k WHERE k.event_type = 'pickup'
                  AND k.order_id = a.order_id AND k.occurred_at >= a.at)"
        ),
        Failure::BadAfterSale => {
            // Each on an equality, as the raw statement joins them; the earlier of the two.
            let bad = format!(
                "{} AND b.occurred_at >= a.at",
                bad_after_sale(&rule.detractor_max.to_string())
            );
            let of_order = format!(
                "(SELECT min(b.occurred_at) FROM {events} b
                  WHERE b.order_id = a.order_id AND {bad})"
            );
            let of_customer = format!(
                "(SELECT min(b.occurred_at) FROM {events} b
                  WHERE b.order_id IS NULL AND b.customer_id = a.customer_id AND {bad})"
            );
            format!(
                "least(coalesce({of_order}, {of_customer}), coalesce({of_customer}, {of_order}))"
            )
        }
    };
    let outcome_at = match rule.outcome {
        Outcome::Purchase => purchase_from(">="),
        Outcome::Repurchase => format!(
            "(SELECT min(p.occurred_at) FROM {events} p WHERE p.customer_id = a.customer_id
                  AND p.event_type = 'purchase' AND {OTHER_ORDER} AND p.occurred_at > a.at)"
        ),
    };
    super::super::render(
        FACTS_SQL,
        &[
            ("journeys", journeys),
            ("cond", cond),
            ("rule", key),
            ("anchor_steps", &first_steps(&rule.anchor, false, steps)),
            ("reference", &references(rule, steps)),
            ("firsts", &firsts(steps)),
            ("fail_at", &fail_at),
            ("outcome_at", &outcome_at),
            ("needs_order", needs_order(rule)),
        ],
    )
}

/// The tables [`rows_of`] reads.
#[derive(Clone, Copy)]
struct Tables<'a> {
    journeys: &'a str,
    steps: &'a str,
    events: &'a str,
}

/// The whole tables.
const WHOLE: Tables<'static> = Tables {
    journeys: "journeys",
    steps: "journey_steps",
    events: "events",
};

/// Every rule's facts of the journeys meeting `cond`, over the whole tables.
fn all_rows(settings: &HashMap<String, String>, cond: &str) -> String {
    failure_rules(settings)
        .iter()
        .map(|(key, f)| format!("SELECT * FROM ({})", rows_of(key, f, cond, WHOLE)))
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

/// Recomputes every fact from the journeys and events, inside the caller's transaction.
pub(crate) fn rebuild_in(conn: &Connection) -> Result<(), duckdb::Error> {
    let settings = overrides(conn)?;
    conn.execute_batch("DELETE FROM journey_anchor_facts;")?;
    for (key, f) in failure_rules(&settings) {
        conn.execute_batch(&format!(
            "INSERT INTO journey_anchor_facts BY NAME {};",
            rows_of(&key, &f, "true", WHOLE)
        ))?;
    }
    conn.execute(
        "UPDATE journey_facts_state SET anchors = ?",
        [signature(&settings)],
    )?;
    Ok(())
}

/// Recomputes the facts of the customers `customers` lists (a query of one `customer_id`
/// column, from the builder's constants: every customer the write moved events to or from)
/// and of the owners of the orders its new events name, after the builder has cut their
/// journeys again. `rows` is the builder's temporary table of the row ids (column `r`) of
/// every event of `customers`; the new events are those of loads the daily rollup has not
/// counted yet (the builder runs before it does). A customer's anchors look up only that
/// customer's events and the events of the orders their steps name: those are copied first,
/// by row id (`crate::server::rowids`), so the lookups read a few hundred rows, and `events`
/// is scanned only for the orders' rows and for owners outside `customers` (rare). Facts of
/// other rules are rebuilt whole.
pub(crate) fn refresh(conn: &Connection, customers: &str, rows: &str) -> Result<(), duckdb::Error> {
    let settings = overrides(conn)?;
    if !current_for(conn, &settings)? {
        return rebuild_in(conn);
    }
    // The new events' orders first, alone (inside the `IN` below they cost a scan of every
    // fact's order).
    let through: i64 = conn.query_row(
        "SELECT coalesce(max(loaded_through), 0) FROM rollup_state",
        [],
        |r| r.get(0),
    )?;
    crate::server::rollup::order_facts::set_aside_new_orders(conn, "anchor_new_orders", through)?;
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TEMP TABLE anchor_touched AS
             SELECT customer_id FROM ({customers}) c WHERE customer_id IS NOT NULL
             UNION
             SELECT customer_id FROM journey_anchor_facts
             WHERE order_id IN (SELECT order_id FROM anchor_new_orders);
         CREATE OR REPLACE TEMP TABLE anchor_others AS
             SELECT customer_id FROM anchor_touched
             EXCEPT SELECT customer_id FROM ({customers}) c;
         CREATE OR REPLACE TEMP TABLE anchor_rows AS SELECT r FROM {rows};"
    ))?;
    let others: i64 = conn.query_row("SELECT count(*) FROM anchor_others", [], |r| r.get(0))?;
    if others > 0 {
        conn.execute_batch(
            "INSERT INTO anchor_rows
                 SELECT e.rowid FROM events e
                 WHERE e.customer_id IN (SELECT customer_id FROM anchor_others);",
        )?;
    }
    let listed = crate::server::rowids::listed("anchor_rows");
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TEMP TABLE anchor_orders AS
             SELECT DISTINCT e.order_id FROM events e
             WHERE {listed} AND e.order_id IS NOT NULL;
         INSERT INTO anchor_rows
             SELECT e.rowid FROM events e
             WHERE e.order_id IN (SELECT order_id FROM anchor_orders);
         CREATE OR REPLACE TEMP TABLE anchor_events AS
             SELECT e.customer_id, e.event_type, e.occurred_at, e.order_id, e.source,
                    e.event_id, e.score_scale, e.score
             FROM events e WHERE {listed};
         DELETE FROM journey_anchor_facts
         WHERE customer_id IN (SELECT customer_id FROM anchor_touched);
         CREATE OR REPLACE TEMP TABLE anchor_journeys AS
             SELECT j.journey_id, j.started_at FROM journeys j
             WHERE j.customer_id IN (SELECT customer_id FROM anchor_touched);
         CREATE OR REPLACE TEMP TABLE anchor_steps_of AS
             SELECT s.* FROM journey_steps s
             WHERE s.journey_id IN (SELECT journey_id FROM anchor_journeys);"
    ))?;
    // Their journeys and steps are copied once for the four rules: the journeys cut again
    // have the newest numbers, at the steps table's end.
    let copies = Tables {
        journeys: "anchor_journeys",
        steps: "anchor_steps_of",
        events: "anchor_events",
    };
    for (key, f) in failure_rules(&settings) {
        conn.execute_batch(&format!(
            "INSERT INTO journey_anchor_facts BY NAME {};",
            rows_of(&key, &f, "true", copies)
        ))?;
    }
    conn.execute_batch(
        "DROP TABLE anchor_new_orders; DROP TABLE anchor_touched; DROP TABLE anchor_others;
         DROP TABLE anchor_orders;
         DROP TABLE anchor_rows; DROP TABLE anchor_events; DROP TABLE anchor_journeys;
         DROP TABLE anchor_steps_of;",
    )
}

/// Takes out the facts of one customer (an erasure: their journeys go; their events stay,
/// anonymous, so no one else's order changes).
pub(crate) fn forget(conn: &Connection, customer_id: i64) -> Result<(), duckdb::Error> {
    conn.execute(
        "DELETE FROM journey_anchor_facts WHERE customer_id = ?",
        [customer_id],
    )?;
    Ok(())
}

/// The judged anchors of `rule` (keyed `key`) for the journeys meeting `cond` (a condition on
/// `j`, whose placeholders are `params`), tallied in SQL from the facts: equal to
/// [`Judged::of`] the anchors [`super::anchors`] finds in the journeys and events. The
/// breakdown's store and campaign are the anchor's own, else the journey's first.
pub fn judge(
    conn: &Connection,
    key: &str,
    rule: &FailureRule,
    cond: &str,
    mut params: Vec<String>,
    detail: Detail,
) -> Result<Judged, JourneyError> {
    let k = params.len() + 1;
    let (f, o) = (k + 1, k + 2);
    params.push(key.to_string());
    params.push(rule.failure_days.to_string());
    params.push(rule.outcome_days.to_string());
    let fw = format!("to_hours(CAST(${f} AS BIGINT) * 24)");
    let ow = format!("to_hours(CAST(${o} AS BIGINT) * 24)");
    let within = format!("coalesce(j.fail_at <= j.anchored_at + {fw}, false)");
    let failed = match rule.failure {
        Failure::NoPurchase | Failure::NoPickup => format!("NOT {within}"),
        Failure::BadAfterSale => within,
    };
    let anchors = format!(
        "WITH clock AS (SELECT {clock} AS as_of),
         a AS (SELECT j.journey_id, j.customer_id, CAST(j.anchored_at AS VARCHAR) AS at,
                      strftime(CAST(j.anchored_at AS TIMESTAMP), '%Y-%m') AS month,
                      j.reference, {failed} AS failed,
                      coalesce(j.outcome_at <= j.anchored_at + {ow}, false) AS converted,
                      j.anchored_at + {fw} <= c.as_of AS decided,
                      j.anchored_at + {ow} <= c.as_of AS mature,
                      j.channel, j.store_id AS store, j.campaign_id AS campaign
               FROM journey_anchor_facts j, clock c
               WHERE j.rule = ${k} AND {cond})",
        clock = crate::server::rollup::CLOCK
    );
    let exposed = "NOT a.reference AND a.decided";
    let reference = match rule.reference {
        Some(_) => "a.reference AND a.mature".to_string(),
        None => format!("{exposed} AND NOT a.failed AND a.mature"),
    };
    let bound = || duckdb::params_from_iter(&params);
    let count = |n: i64| n as u64;
    let mut judged = conn.query_row(
        &format!(
            "{anchors}
             SELECT count(*) FILTER (WHERE {exposed}),
                    count(*) FILTER (WHERE {exposed} AND a.failed),
                    count(*) FILTER (WHERE {exposed} AND a.failed AND a.mature),
                    count(*) FILTER (WHERE {exposed} AND a.failed AND a.mature AND a.converted),
                    count(*) FILTER (WHERE {reference}),
                    count(*) FILTER (WHERE {reference} AND a.converted)
             FROM a"
        ),
        bound(),
        |r| {
            Ok(Judged {
                exposed: count(r.get(0)?),
                affected: count(r.get(1)?),
                affected_mature: count(r.get(2)?),
                affected_mature_converted: count(r.get(3)?),
                reference: count(r.get(4)?),
                reference_converted: count(r.get(5)?),
                ..Judged::default()
            })
        },
    )?;
    if detail == Detail::List {
        return Ok(judged);
    }
    let groups = |column: &str| -> Result<Tallies, duckdb::Error> {
        let mut stmt = conn.prepare(&format!(
            "{anchors}
             SELECT a.{column}, count(*), count(*) FILTER (WHERE a.failed)
             FROM a WHERE {exposed} AND a.{column} IS NOT NULL
             GROUP BY a.{column}"
        ))?;
        let rows = stmt.query_map(bound(), |r| {
            Ok((r.get::<_, String>(0)?, (count(r.get(1)?), count(r.get(2)?))))
        })?;
        rows.collect()
    };
    judged.months = groups("month")?;
    for dimension in DIMENSIONS {
        judged.groups.push((dimension, groups(dimension)?));
    }
    let mut stmt = conn.prepare(&format!(
        "{anchors}
         SELECT a.journey_id, a.customer_id, a.at
         FROM a WHERE {exposed} AND a.failed
         ORDER BY a.at DESC, a.journey_id
         LIMIT {EXAMPLES}"
    ))?;
    let rows = stmt.query_map(bound(), |r| {
        Ok(PainExample {
            journey_id: r.get(0)?,
            customer_id: r.get(1)?,
            at: r.get(2)?,
        })
    })?;
    judged.examples = rows.collect::<Result<_, _>>()?;
    Ok(judged)
}

/// The columns of `journey_anchor_facts` that identify a row and those compared as values,
/// as [`verify`] reads them.
const KEY: &[&str] = &[
    "rule",
    "journey_id",
    "customer_id",
    "started_at",
    "reference",
    "source",
    "event_id",
    "anchored_at",
    "order_id",
    "channel",
    "store_id",
    "campaign_id",
];
const MEASURES: &[&str] = &["fail_at", "outcome_at"];

/// Compares the facts with the journeys and events (`omnikpi rollup verify`): facts of other
/// rules than those in force are one difference; otherwise each differing row.
pub fn verify(conn: &Connection, out: &mut Vec<Difference>) -> Result<(), duckdb::Error> {
    let settings = overrides(conn)?;
    if !current_for(conn, &settings)? {
        out.push(Difference {
            table: "journey_facts_state",
            key: "anchors".to_string(),
            measures: vec![(
                "anchors",
                "built for other rules".to_string(),
                "the rules in force".to_string(),
            )],
        });
        return Ok(());
    }
    crate::server::rollup::compare_values(
        conn,
        "journey_anchor_facts",
        &all_rows(&settings, "true"),
        (KEY, MEASURES),
        out,
    )
}
