//! Sources and their mappings: the list, and a mapping uploaded through the page (checked as
//! `omnikpi source add` checks it).

use duckdb::{Connection, OptionalExt};

use crate::admin::SourceRow;
use crate::error::AppError;
use crate::server::auth::audit;
use crate::server::forms::{Fields, field};
use crate::server::ingest;

use super::{AdminError, AdminForm, run};

pub async fn sources_page() -> Result<Vec<SourceRow>, AppError> {
    run(|conn| {
        Ok(ingest::sources::list(conn)?
            .into_iter()
            .map(|s| SourceRow {
                name: s.name,
                kind: s.kind,
                mapping_file: s.mapping_file,
                mapping: s.mapping,
            })
            .collect())
    })
    .await
}

/// `/admin/sources/save`: a source's mapping (TOML), kept exactly as sent (not trimmed: its
/// errors cite lines and columns).
pub struct SourceForm {
    pub name: String,
    pub mapping: String,
}

impl AdminForm for SourceForm {
    fn parse(f: &Fields) -> Result<Self, AdminError> {
        Ok(Self {
            name: field(f, "name").to_string(),
            mapping: f
                .iter()
                .find(|(k, _)| k == "mapping")
                .map_or(String::new(), |(_, v)| v.clone()),
        })
    }
}

handler!(
    save_source,
    SourceForm,
    "/admin/sources",
    |conn: &Connection, actor: &str, f: SourceForm| {
        let name = f.name.as_str();
        let file = format!("{name}.toml (uploaded)");
        let before: Option<String> = conn
            .query_row("SELECT mapping FROM sources WHERE name = ?", [name], |r| {
                r.get(0)
            })
            .optional()?;
        ingest::sources::add(conn, name, &f.mapping, &file)?;
        audit::record(
            conn,
            actor,
            "source.mapping",
            name,
            before.as_ref(),
            Some(&f.mapping),
        )?;
        Ok("saved")
    }
);
