//! Annotations: dated notes on a KPI or a whole view, shown on the charts and listed on the
//! pages. Anyone who can view a page reads its notes; writing needs
//! `Access::Edit(Edit::Annotations)`; editing and deleting a note is for its author or an
//! admin ([`may_change`]).

use chrono::NaiveDate;
use duckdb::{Connection, OptionalExt, params};
use serde::Serialize;

use crate::auth::Role;
use crate::dashboard::AnnotationRow;

use super::auth::policy::Principal;

/// The longest note, in characters.
pub const MAX_TEXT: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum AnnotationError {
    #[error("the note is empty")]
    Empty,
    #[error("the note is longer than 500 characters")]
    TooLong,
    #[error("the date {0:?} is not a day (YYYY-MM-DD)")]
    BadDay(String),
    #[error("no such note")]
    NotFound,
    #[error("database error: {0}")]
    Sql(#[from] duckdb::Error),
    #[error(transparent)]
    Db(#[from] super::db::DbError),
}

/// A stored day (read as text: the duckdb crate is built without chrono).
fn day_of(text: &str) -> duckdb::Result<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|e| {
        duckdb::Error::FromSqlConversionFailure(0, duckdb::types::Type::Date32, Box::new(e))
    })
}

/// One stored note (what the audit log records).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Annotation {
    pub id: i64,
    pub kpi: Option<String>,
    pub view_key: String,
    pub day: NaiveDate,
    pub text: String,
    pub author: String,
}

/// Whether `who` may edit or delete `note`: its author or an admin.
pub fn may_change(who: &Principal, note: &Annotation) -> bool {
    who.role == Some(Role::Admin) || who.label == note.author
}

/// The checked text and day of a note.
pub fn check(day: &str, text: &str) -> Result<(NaiveDate, String), AnnotationError> {
    let day = day.trim();
    let day = NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map_err(|_| AnnotationError::BadDay(day.to_string()))?;
    let text = text.trim();
    if text.is_empty() {
        return Err(AnnotationError::Empty);
    }
    if text.chars().count() > MAX_TEXT {
        return Err(AnnotationError::TooLong);
    }
    Ok((day, text.to_string()))
}

pub fn add(
    conn: &Connection,
    kpi: Option<&str>,
    view_key: &str,
    day: NaiveDate,
    text: &str,
    author: &str,
) -> Result<Annotation, AnnotationError> {
    let id: i64 = conn.query_row(
        "INSERT INTO annotations (kpi, view_key, day, text, author)
         VALUES (?, ?, CAST(? AS DATE), ?, ?) RETURNING id",
        params![kpi, view_key, day.to_string(), text, author],
        |r| r.get(0),
    )?;
    get(conn, id)?.ok_or(AnnotationError::NotFound)
}

pub fn get(conn: &Connection, id: i64) -> Result<Option<Annotation>, AnnotationError> {
    Ok(conn
        .query_row(
            "SELECT id, kpi, view_key, CAST(day AS VARCHAR), text, author FROM annotations
             WHERE id = ?",
            [id],
            |r| {
                Ok(Annotation {
                    id: r.get(0)?,
                    kpi: r.get(1)?,
                    view_key: r.get(2)?,
                    day: day_of(&r.get::<_, String>(3)?)?,
                    text: r.get(4)?,
                    author: r.get(5)?,
                })
            },
        )
        .optional()?)
}

pub fn update(
    conn: &Connection,
    id: i64,
    day: NaiveDate,
    text: &str,
) -> Result<Annotation, AnnotationError> {
    conn.execute(
        "UPDATE annotations SET day = CAST(? AS DATE), text = ?, updated_at = current_timestamp
         WHERE id = ?",
        params![day.to_string(), text, id],
    )?;
    get(conn, id)?.ok_or(AnnotationError::NotFound)
}

pub fn delete(conn: &Connection, id: i64) -> Result<(), AnnotationError> {
    conn.execute("DELETE FROM annotations WHERE id = ?", [id])?;
    Ok(())
}

/// The notes shown with a view from `from` to `to` (days included), oldest first: those of
/// the KPI `kpi` (if any) and those on the whole view `view_key`.
pub fn list(
    conn: &Connection,
    view_key: &str,
    kpi: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<AnnotationRow>, AnnotationError> {
    let mut stmt = conn.prepare(
        "SELECT id, kpi, CAST(day AS VARCHAR), text, author FROM annotations
         WHERE day BETWEEN CAST(? AS DATE) AND CAST(? AS DATE)
           AND ((kpi IS NULL AND view_key = ?) OR kpi = ?)
         ORDER BY day, id",
    )?;
    let rows = stmt.query_map(
        params![from.to_string(), to.to_string(), view_key, kpi],
        |r| {
            Ok(AnnotationRow {
                id: r.get(0)?,
                kpi: r.get(1)?,
                day: day_of(&r.get::<_, String>(2)?)?,
                text: r.get(3)?,
                author: r.get(4)?,
                editable: false,
            })
        },
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Marks the notes `who` may edit or delete.
pub fn mark_editable(rows: &mut [AnnotationRow], who: &Principal) {
    for row in rows {
        row.editable = who.role == Some(Role::Admin) || who.label == row.author;
    }
}
