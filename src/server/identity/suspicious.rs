//! Merges worth a second look: customers with more identifiers than a person usually has, with
//! more events in one day than a person makes, or with purchases in two different stores
//! within minutes of each other (one card, two people). Listed for review with a link to the
//! customer 360, where a wrong link can be split.

use duckdb::Connection;
use serde::{Deserialize, Serialize};

use super::IdentityError;

/// The thresholds (settings `identity_flag_*` override them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
    /// More identifiers than this.
    pub identifiers: i64,
    /// More events on one day than this.
    pub events_per_day: i64,
    /// Purchases in two different stores less than this many minutes apart.
    pub store_minutes: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            identifiers: 8,
            events_per_day: 100,
            store_minutes: 30,
        }
    }
}

/// Why a customer is flagged; `value` is the number behind it (identifiers, events in a day,
/// minutes between the two purchases).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    pub customer_id: i64,
    /// "identifiers", "events_per_day" or "two_stores".
    pub reason: String,
    pub value: i64,
}

/// The most flags listed.
pub const MAX_FLAGS: i64 = 200;

/// The flagged customers, the largest first within each reason.
pub fn flagged(conn: &Connection, limits: &Thresholds) -> Result<Vec<Flag>, IdentityError> {
    let sql = include_str!("flagged.sql");
    let mut stmt = conn.prepare(sql)?;
    let flags = stmt
        .query_map(
            duckdb::params![
                limits.identifiers,
                limits.events_per_day,
                limits.store_minutes,
                MAX_FLAGS
            ],
            |r| {
                Ok(Flag {
                    customer_id: r.get(0)?,
                    reason: r.get(1)?,
                    value: r.get(2)?,
                })
            },
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(flags)
}

/// The thresholds of this instance: the defaults, overridden by settings
/// `identity_flag_identifiers`, `identity_flag_events_per_day`, `identity_flag_store_minutes`.
pub fn thresholds(conn: &Connection) -> Result<Thresholds, IdentityError> {
    let mut t = Thresholds::default();
    let mut stmt = conn.prepare(
        "SELECT key, try_cast(value AS BIGINT) FROM settings WHERE key LIKE 'identity_flag_%'",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    for (key, value) in rows {
        let Some(v) = value.filter(|v| *v > 0) else {
            continue;
        };
        match key.as_str() {
            "identity_flag_identifiers" => t.identifiers = v,
            "identity_flag_events_per_day" => t.events_per_day = v,
            "identity_flag_store_minutes" => t.store_minutes = v,
            _ => {}
        }
    }
    Ok(t)
}
