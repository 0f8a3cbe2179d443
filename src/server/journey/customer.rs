//! The customer 360: find a customer by any identifier, their identifiers, merges, headline
//! numbers and the timeline of every event across channels with the pain points they hit; and
//! the right to be forgotten.
//!
//! Identifiers are returned as stored; [`crate::journey::mask`] renders them for roles that may
//! not see personal data (the caller decides).

use duckdb::Connection;

use super::JourneyError;
use crate::journey::{
    CustomerIdentifier, CustomerMerge, CustomerProfile, ErasureReport, JourneyDetail, TimelineEvent,
};
use crate::server::db::Db;
use crate::server::identity::IDENTIFIERS;

/// How many events the timeline shows (the most recent).
pub const TIMELINE_LIMIT: usize = 2000;

/// The customer an identifier belongs to: the value as typed, trimmed, lower-cased (e-mail),
/// or as a phone number in E.164 (`+39 333 123 4567`, `0039...`, or national with the
/// instance's country code).
pub fn find(conn: &Connection, identifier: &str) -> Result<i64, JourneyError> {
    let value = identifier.trim();
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    let country: String = conn
        .query_row(
            "SELECT coalesce(max(value), '39') FROM settings WHERE key = 'phone_country_code'",
            [],
            |r| r.get(0),
        )
        .unwrap_or_else(|_| "39".to_string());
    let phone = if value.starts_with('+') {
        format!("+{digits}")
    } else if let Some(rest) = digits.strip_prefix("00") {
        format!("+{rest}")
    } else {
        format!("+{country}{digits}")
    };
    // With pseudonymisation on, the stored e-mails and phones are hashes of the normalised
    // values: the typed value is normalised and hashed the same way.
    let email = crate::server::ingest::pseudonym::sql("lower($2)");
    let phone_stored = crate::server::ingest::pseudonym::sql("$3");
    let found: Option<i64> = conn.query_row(
        &format!(
            "SELECT min(customer_id) FROM identities
             WHERE id_value = $1 OR (id_type = 'email' AND id_value = {email})
                OR (id_type = 'phone' AND id_value = {phone_stored} AND length($4) >= 6)"
        ),
        duckdb::params![value, value, phone, digits],
        |r| r.get(0),
    )?;
    found.ok_or_else(|| JourneyError::NoCustomer(value.to_string()))
}

/// The customer 360 of `customer_id`.
pub fn profile(conn: &Connection, customer_id: i64) -> Result<CustomerProfile, JourneyError> {
    let header = conn.query_row(
        "SELECT CAST(first_seen AS VARCHAR), CAST(last_seen AS VARCHAR),
                array_to_string(channels, ','), segment, CAST(lifetime_revenue AS DOUBLE), orders
         FROM customers WHERE customer_id = ?",
        [customer_id],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, f64>(4)?,
                r.get::<_, i64>(5)?,
            ))
        },
    );
    let (first_seen, last_seen, channels, segment, lifetime_revenue, orders) = match header {
        Ok(h) => h,
        Err(duckdb::Error::QueryReturnedNoRows) => {
            return Err(JourneyError::NoCustomer(customer_id.to_string()));
        }
        Err(e) => return Err(e.into()),
    };
    let mut stmt = conn.prepare(
        "SELECT id_type, id_value FROM identities WHERE customer_id = ? ORDER BY id_type, id_value",
    )?;
    let identifiers = stmt
        .query_map([customer_id], |r| {
            Ok(CustomerIdentifier {
                id_type: r.get(0)?,
                value: r.get(1)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut stmt = conn.prepare(
        "SELECT merged_id, CAST(merged_at AS VARCHAR) FROM customer_merges
         WHERE into_id = ? ORDER BY merged_at, merged_id",
    )?;
    let merges = stmt
        .query_map([customer_id], |r| {
            Ok(CustomerMerge {
                merged_id: r.get(0)?,
                merged_at: r.get(1)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let (returns, last_nps, journeys): (i64, Option<i64>, i64) = conn.query_row(
        "SELECT (SELECT count(DISTINCT coalesce(order_id, source || ':' || event_id))
                 FROM events WHERE customer_id = $1 AND event_type = 'return'),
                (SELECT arg_max(score, occurred_at) FROM events
                 WHERE customer_id = $1 AND event_type = 'survey' AND score_scale = 'nps'
                   AND score IS NOT NULL),
                (SELECT count(*) FROM journeys WHERE customer_id = $1)",
        [customer_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;

    let hits = super::pain::customer_hits(conn, customer_id)?;
    let mut stmt = conn.prepare(
        "SELECT * FROM (
             SELECT CAST(e.occurred_at AS VARCHAR), e.source, e.event_id, e.event_type,
                    e.channel, e.touchpoint, e.order_id, CAST(e.amount AS DOUBLE), e.store_id,
                    e.campaign_id, e.topic, e.score, s.journey_id, e.occurred_at AS ts
             FROM events e
             LEFT JOIN journey_steps s ON s.source = e.source AND s.event_id = e.event_id
             WHERE e.customer_id = ?
             ORDER BY e.occurred_at DESC, e.source, e.event_id
             LIMIT ?)
         ORDER BY ts, source, event_id",
    )?;
    let timeline = stmt
        .query_map(duckdb::params![customer_id, TIMELINE_LIMIT as i64], |r| {
            let source: String = r.get(1)?;
            let event_id: String = r.get(2)?;
            let pain_points = hits
                .get(&(source.clone(), event_id.clone()))
                .cloned()
                .unwrap_or_default();
            Ok(TimelineEvent {
                at: r.get(0)?,
                source,
                event_id,
                event_type: r.get(3)?,
                channel: r.get(4)?,
                touchpoint: r.get(5)?,
                order_id: r.get(6)?,
                amount: r.get(7)?,
                store_id: r.get(8)?,
                campaign_id: r.get(9)?,
                topic: r.get(10)?,
                score: r.get::<_, Option<i16>>(11)?.map(i64::from),
                journey_id: r.get(12)?,
                pain_points,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CustomerProfile {
        customer_id,
        identifiers,
        merges,
        first_seen,
        last_seen,
        channels: channels
            .map(|c| {
                c.split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        segment,
        lifetime_revenue,
        orders: orders as u64,
        returns: returns as u64,
        last_nps,
        journeys: journeys as u64,
        timeline,
        links: crate::server::identity::split::lineage(conn, customer_id).map_err(|e| match e {
            crate::server::identity::IdentityError::Sql(e) => JourneyError::Sql(e),
            other => JourneyError::Rules(other.to_string()),
        })?,
    })
}

/// One journey and its steps, with the failure-rule hits marked.
pub fn journey(conn: &Connection, journey_id: i64) -> Result<JourneyDetail, JourneyError> {
    let head = conn.query_row(
        "SELECT customer_id, CAST(started_at AS VARCHAR), CAST(ended_at AS VARCHAR), status,
                path, CAST(revenue AS DOUBLE)
         FROM journeys WHERE journey_id = ?",
        [journey_id],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, f64>(5)?,
            ))
        },
    );
    let (customer_id, started_at, ended_at, status, path, revenue) = match head {
        Ok(h) => h,
        Err(duckdb::Error::QueryReturnedNoRows) => {
            return Err(JourneyError::NoJourney(journey_id));
        }
        Err(e) => return Err(e.into()),
    };
    let hits = super::pain::customer_hits(conn, customer_id)?;
    let mut stmt = conn.prepare(
        "SELECT CAST(occurred_at AS VARCHAR), source, event_id, event_type, channel, touchpoint,
                order_id, CAST(amount AS DOUBLE), store_id, campaign_id, topic
         FROM journey_steps WHERE journey_id = ? ORDER BY step",
    )?;
    let steps = stmt
        .query_map([journey_id], |r| {
            let source: String = r.get(1)?;
            let event_id: String = r.get(2)?;
            let pain_points = hits
                .get(&(source.clone(), event_id.clone()))
                .cloned()
                .unwrap_or_default();
            Ok(TimelineEvent {
                at: r.get(0)?,
                source,
                event_id,
                event_type: r.get(3)?,
                channel: r.get(4)?,
                touchpoint: r.get(5)?,
                order_id: r.get(6)?,
                amount: r.get(7)?,
                store_id: r.get(8)?,
                campaign_id: r.get(9)?,
                topic: r.get(10)?,
                score: None,
                journey_id: Some(journey_id),
                pain_points,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(JourneyDetail {
        journey_id,
        customer_id,
        started_at,
        ended_at,
        status,
        path: path
            .split(super::paths::SEPARATOR)
            .map(str::to_string)
            .collect(),
        revenue,
        steps,
    })
}

/// Right to be forgotten: in one transaction, removes every identifier from the customer's
/// events (they stay, anonymous, so company totals do not change), deletes their identities,
/// customer header, merges and journeys. Returns what was erased; the caller records the audit
/// row. Files on disk and rejected rows kept for review are not touched.
pub fn erase(db: &Db, customer_id: i64) -> Result<ErasureReport, JourneyError> {
    erase_then(db, customer_id, |_, _| Ok(()))
}

/// The temporary table of the other customers an erasure anonymises events of (events that
/// carry one of the erased customer's identifiers), whose journeys are cut again.
const OTHERS: &str = "erasure_others";

/// [`erase`], running `record` (the audit row) in the same transaction before it commits.
pub fn erase_then(
    db: &Db,
    customer_id: i64,
    record: impl FnOnce(&Connection, &ErasureReport) -> Result<(), JourneyError>,
) -> Result<ErasureReport, JourneyError> {
    let _writer = db.write_lock();
    let mut conn = db.connect()?;
    let tx = conn.transaction()?;
    let known: i64 = tx.query_row(
        "SELECT count(*) FROM customers WHERE customer_id = ?",
        [customer_id],
        |r| r.get(0),
    )?;
    if known == 0 {
        return Err(JourneyError::NoCustomer(customer_id.to_string()));
    }
    let mut stmt = tx.prepare(
        "SELECT DISTINCT id_type FROM identities WHERE customer_id = ? ORDER BY id_type",
    )?;
    let identifier_types = stmt
        .query_map([customer_id], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    drop(stmt);
    // Events of the customer, and any event carrying one of their identifiers (an over-shared
    // identifier is not in `identities`, so it is never a reason to erase someone else).
    // Column names come from the fixed list of identifier columns; the id types are bound.
    let carries: Vec<String> = IDENTIFIERS
        .iter()
        .enumerate()
        .map(|(i, c)| {
            format!(
                "{c} IN (SELECT id_value FROM identities WHERE customer_id = $1 \
                 AND id_type = ${})",
                i + 2
            )
        })
        .collect();
    let cleared: Vec<String> = IDENTIFIERS.iter().map(|c| format!("{c} = NULL")).collect();
    let mut params: Vec<Box<dyn duckdb::ToSql>> = vec![Box::new(customer_id)];
    params.extend(
        IDENTIFIERS
            .iter()
            .map(|c| Box::new(c.to_string()) as Box<dyn duckdb::ToSql>),
    );
    let erased = format!("customer_id = $1 OR {}", carries.join(" OR "));
    // The events become anonymous: the rollups take them out and count them again as such.
    let bound: Vec<&dyn duckdb::ToSql> = params.iter().map(|p| p.as_ref()).collect();
    // Other customers whose events carry one of the identifiers lose those events too: their
    // journeys and every fact computed from their events are cut again below.
    tx.execute(
        &format!(
            "CREATE OR REPLACE TEMP TABLE {OTHERS} AS
             SELECT DISTINCT customer_id FROM events
             WHERE ({erased}) AND customer_id IS NOT NULL AND customer_id <> $1"
        ),
        bound.as_slice(),
    )?;
    crate::server::rollup::detach(&tx, &erased, &bound)?;
    let events = tx.execute(
        &format!(
            "UPDATE events SET {}, customer_id = NULL WHERE {erased}",
            cleared.join(", "),
        ),
        duckdb::params_from_iter(params.iter().map(|p| p.as_ref())),
    )?;
    crate::server::rollup::reattach(&tx)?;
    let identifiers = tx.execute(
        "DELETE FROM identities WHERE customer_id = ?",
        [customer_id],
    )?;
    tx.execute("DELETE FROM customers WHERE customer_id = ?", [customer_id])?;
    // The lineage names the identifiers; splits that name them go too (the values are gone
    // from the events, so they could never link again anyway).
    tx.execute(
        "DELETE FROM identity_splits WHERE customer_id = $1
            OR EXISTS (SELECT 1 FROM identity_links l WHERE l.customer_id = $1
                       AND ((l.a_type = identity_splits.a_type AND l.a_value = identity_splits.a_value)
                         OR (l.b_type = identity_splits.a_type AND l.b_value = identity_splits.a_value)))",
        [customer_id],
    )?;
    tx.execute(
        "DELETE FROM identity_links WHERE customer_id = ?",
        [customer_id],
    )?;
    tx.execute(
        "DELETE FROM customer_merges WHERE into_id = $1 OR merged_id = $1",
        [customer_id],
    )?;
    // The journey rollup takes out the customer's journeys while their steps are still there.
    let keep = super::rollup::current(&tx)?;
    if keep {
        // The id is a number: written into the condition, as the builder's constants are.
        super::rollup::patch(&tx, "j.customer_id = ?", &[&customer_id], -1)?;
        super::rollup::forget_handoffs(&tx, customer_id)?;
        super::pain::facts::forget(&tx, customer_id)?;
        super::funnel::facts::forget(&tx, customer_id)?;
        crate::server::rollup::customer_facts::forget(&tx, customer_id)?;
    }
    tx.execute(
        "DELETE FROM journey_steps WHERE customer_id = ?",
        [customer_id],
    )?;
    tx.execute("DELETE FROM journeys WHERE customer_id = ?", [customer_id])?;
    let others: i64 = tx.query_row(&format!("SELECT count(*) FROM {OTHERS}"), [], |r| r.get(0))?;
    if others > 0 {
        super::update_touched_in(&tx, Some(OTHERS))?;
    }
    tx.execute_batch(&format!("DROP TABLE {OTHERS};"))?;
    if !keep {
        super::rollup::rebuild_in(&tx)?;
    }
    let report = ErasureReport {
        customer_id,
        events_anonymised: events as u64,
        identifiers_removed: identifiers as u64,
        identifier_types,
    };
    record(&tx, &report)?;
    tx.commit()?;
    Ok(report)
}
