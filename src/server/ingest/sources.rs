//! Sources: the named silos data comes from, each with the mapping its files are read with,
//! kept in the database so the CLI, the upload page and the scheduled loader read them the
//! same way.

use duckdb::{Connection, OptionalExt, params};

use super::IngestError;
use super::mapping::Mapping;

/// One registered source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceInfo {
    pub name: String,
    pub kind: String,
    pub mapping_file: String,
    pub mapping: String,
}

/// Validates `mapping_text` and saves it as the mapping of `name` (replacing an earlier one).
pub fn add(
    conn: &Connection,
    name: &str,
    mapping_text: &str,
    mapping_file: &str,
) -> Result<Mapping, IngestError> {
    super::check_source_name(name)?;
    let mapping = Mapping::parse(mapping_text, mapping_file)?;
    conn.execute(
        "INSERT OR REPLACE INTO sources (name, kind, mapping, mapping_file, updated_at)
         VALUES (?, ?, ?, ?, now())",
        params![name, mapping.kind, mapping_text, mapping_file],
    )?;
    Ok(mapping)
}

/// The mapping of `name`, or `None` for a source without one (canonical files).
pub fn mapping(conn: &Connection, name: &str) -> Result<Option<Mapping>, IngestError> {
    let row: Option<(String, String)> = conn
        .query_row(
            "SELECT mapping, mapping_file FROM sources WHERE name = ?",
            [name],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(match row {
        Some((text, file)) => Some(Mapping::parse(&text, &file)?),
        None => None,
    })
}

/// Every registered source, by name.
pub fn list(conn: &Connection) -> Result<Vec<SourceInfo>, IngestError> {
    let mut stmt =
        conn.prepare("SELECT name, kind, mapping_file, mapping FROM sources ORDER BY name")?;
    let rows = stmt.query_map([], |r| {
        Ok(SourceInfo {
            name: r.get(0)?,
            kind: r.get(1)?,
            mapping_file: r.get(2)?,
            mapping: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
