//! The audit log: every change made through the product, who made it and when, with the
//! state before and after as JSON. Written in the same transaction as the change it records.

use duckdb::{Connection, params};
use serde::Serialize;

/// One entry as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Entry {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Records a change. `before`/`after` are serialised to JSON (`None` for creation/deletion).
pub fn record<B: Serialize, A: Serialize>(
    conn: &Connection,
    actor: &str,
    action: &str,
    subject: &str,
    before: Option<&B>,
    after: Option<&A>,
) -> duckdb::Result<()> {
    let json = |v: Option<String>| v.filter(|s| s != "null");
    let before = json(before.and_then(|b| serde_json::to_string(b).ok()));
    let after = json(after.and_then(|a| serde_json::to_string(a).ok()));
    conn.execute(
        "INSERT INTO audit_log (actor, action, subject, old_value, new_value)
         VALUES (?, ?, ?, ?, ?)",
        params![actor, action, subject, before, after],
    )?;
    Ok(())
}

/// The most recent entries first; `limit` at most, skipping `offset`.
pub fn list(conn: &Connection, limit: u32, offset: u32) -> duckdb::Result<Vec<Entry>> {
    let mut stmt = conn.prepare(
        "SELECT strftime(changed_at, '%Y-%m-%d %H:%M:%S'), actor, action, subject,
                CAST(old_value AS VARCHAR), CAST(new_value AS VARCHAR)
         FROM audit_log ORDER BY audit_id DESC LIMIT ? OFFSET ?",
    )?;
    let rows = stmt.query_map(params![limit, offset], |r| {
        Ok(Entry {
            at: r.get(0)?,
            actor: r.get(1)?,
            action: r.get(2)?,
            subject: r.get(3)?,
            before: r.get(4)?,
            after: r.get(5)?,
        })
    })?;
    rows.collect()
}

pub fn count(conn: &Connection) -> duckdb::Result<i64> {
    conn.query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))
}
