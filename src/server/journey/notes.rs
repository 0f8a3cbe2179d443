//! A pain point's acknowledgement and note (table `pain_point_notes`, one row per pain point
//! key): who acknowledged it and when, and the CX officer's note. Written only by the form
//! handler in [`super::forms`], in the transaction that records the audit row.

use duckdb::{Connection, OptionalExt, params};

use crate::journey::server_fns::PainNote;

/// The longest note kept (characters).
pub const MAX_NOTE: usize = 2000;

/// The note of `rule`, or an empty one.
pub fn get(conn: &Connection, rule: &str) -> duckdb::Result<PainNote> {
    Ok(conn
        .query_row(
            "SELECT acknowledged_at IS NOT NULL,
                    strftime(acknowledged_at, '%Y-%m-%d %H:%M'), acknowledged_by, note,
                    strftime(updated_at, '%Y-%m-%d %H:%M')
             FROM pain_point_notes WHERE rule = ?",
            [rule],
            |r| {
                Ok(PainNote {
                    acknowledged: r.get(0)?,
                    acknowledged_at: r.get(1)?,
                    acknowledged_by: r.get(2)?,
                    note: r.get(3)?,
                    updated_at: r.get(4)?,
                })
            },
        )
        .optional()?
        .unwrap_or_default())
}

/// Keys of the acknowledged pain points.
pub fn acknowledged(conn: &Connection) -> duckdb::Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT rule FROM pain_point_notes WHERE acknowledged_at IS NOT NULL ORDER BY rule",
    )?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}

/// Sets `rule`'s acknowledgement and note; an acknowledgement keeps its first date and author
/// while it stays acknowledged. Returns the note after the change.
pub fn set(
    conn: &Connection,
    rule: &str,
    acknowledged: bool,
    note: Option<&str>,
    actor: &str,
) -> duckdb::Result<PainNote> {
    let before = get(conn, rule)?;
    let keep = acknowledged && before.acknowledged;
    conn.execute(
        "INSERT INTO pain_point_notes (rule, acknowledged_at, acknowledged_by, note, updated_at)
         VALUES ($1, CASE WHEN $2 THEN current_timestamp END, CASE WHEN $2 THEN $3 END, $4,
                 current_timestamp)
         ON CONFLICT (rule) DO UPDATE SET
            acknowledged_at = CASE WHEN $5 THEN pain_point_notes.acknowledged_at
                                   ELSE excluded.acknowledged_at END,
            acknowledged_by = CASE WHEN $5 THEN pain_point_notes.acknowledged_by
                                   ELSE excluded.acknowledged_by END,
            note = excluded.note,
            updated_at = excluded.updated_at",
        params![rule, acknowledged, actor, note, keep],
    )?;
    get(conn, rule)
}
