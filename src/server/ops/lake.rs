//! The lake export: `omnikpi export --lake DIR` writes what the KPI catalog reads as Parquet in
//! types Apache Spark reads, for the Spark engine (`omnikpi kpi --engine spark`, docs/scaling.md).
//!
//! Layout of `DIR`:
//! - `events-G/year=Y/month=M/loads-A-B-N.parquet`: the events, partitioned by the year and
//!   month of `occurred_at` in UTC (a local period reads by timestamp, never by folder). `G`
//!   is the events' generation: an export adds the files of the loads not exported yet
//!   (`A`..`B`) to the current generation; when already exported events changed since (identity
//!   stitching reassigns `customer_id`, an erasure deletes rows), the next export writes a new
//!   generation whole and removes the old one.
//! - `TABLE/vN.parquet` for every other table (customers, identities, journeys, targets, the
//!   reference tables and settings): small or replaced as a whole, so rewritten each time.
//! - `manifest.json`, written last: the files with their row counts, the highest load id, the
//!   events' fingerprint and the instance's time zone (the Spark session's zone, so local days
//!   are the same on both engines).
//!
//! Types: TIMESTAMPTZ is written as UTC instants (Spark `timestamp`); JSON, UUID and ENUM
//! become text, HUGEINT a DECIMAL(38, 0), TIMESTAMP_NS and the other sub-microsecond kinds
//! microseconds; a table with an INTERVAL column is refused (Spark rejects the whole file).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use duckdb::Connection;
use serde::{Deserialize, Serialize};

use crate::server::db::Db;

/// The manifest's file name inside the lake folder.
pub const MANIFEST: &str = "manifest.json";

/// The manifest's format version.
const FORMAT: u32 = 1;

/// The tables written whole on every export (besides `events`).
pub const TABLES: &[&str] = &[
    "channels",
    "event_types",
    "stores",
    "settings",
    "customers",
    "identities",
    "journeys",
    "journey_steps",
    "targets",
];

#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not an omnikpi lake ({MANIFEST} unreadable: {reason})", .dir.display())]
    BadManifest { dir: PathBuf, reason: String },
    #[error(
        "{} is neither empty nor an omnikpi lake (no {MANIFEST}); choose a new folder",
        .0.display()
    )]
    NotALake(PathBuf),
    #[error(
        "the lake in {} was written for time zone {lake}, the instance's is {instance}; \
         export to a new folder",
        .dir.display()
    )]
    TimeZone {
        dir: PathBuf,
        lake: String,
        instance: String,
    },
    #[error("table {table}: column {column} is an INTERVAL, which Spark cannot read")]
    Interval { table: String, column: String },
    #[error(transparent)]
    Db(#[from] crate::server::db::DbError),
    #[error("database error: {0}")]
    Sql(#[from] duckdb::Error),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LakeError + '_ {
    move |source| LakeError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One Parquet file of the lake, its path relative to the lake folder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LakeFile {
    pub path: String,
    pub rows: i64,
}

/// The events part of the manifest.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LakeEvents {
    /// The generation folder, relative to the lake folder (`events-1`).
    pub dir: String,
    pub rows: i64,
    /// count and hash sum of (source, event_id, customer_id) over the exported events: when
    /// the database gives another value for the same loads, they changed since.
    pub fingerprint: String,
    pub files: Vec<LakeFile>,
}

/// `manifest.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// The instance's IANA time zone: local days and months are in it.
    pub time_zone: String,
    /// The highest load id whose events are in the lake (0: none).
    pub max_load_id: i64,
    /// How many exports wrote this lake; names the replaced tables' files.
    pub exports: u64,
    pub exported_at: String,
    pub events: LakeEvents,
    /// The other tables, by name.
    pub tables: BTreeMap<String, LakeFile>,
}

impl Manifest {
    /// Reads `DIR/manifest.json`.
    pub fn read(dir: &Path) -> Result<Self, LakeError> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        serde_json::from_str(&text).map_err(|e| LakeError::BadManifest {
            dir: dir.to_path_buf(),
            reason: e.to_string(),
        })
    }

    fn write(&self, dir: &Path) -> Result<(), LakeError> {
        let path = dir.join(MANIFEST);
        let staged = dir.join(format!("{MANIFEST}.tmp"));
        let text = serde_json::to_string_pretty(self).map_err(|e| LakeError::BadManifest {
            dir: dir.to_path_buf(),
            reason: e.to_string(),
        })?;
        std::fs::write(&staged, text).map_err(io(&staged))?;
        std::fs::rename(&staged, &path).map_err(io(&path))
    }
}

/// What one export did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LakeSummary {
    /// Events written by this export.
    pub events_written: i64,
    /// Events in the lake after it.
    pub events_total: i64,
    /// Whether the events were written whole (first export, or exported events changed).
    pub rewritten: bool,
    pub max_load_id: i64,
}

/// `path` as a SQL string literal.
fn literal(path: &Path) -> String {
    crate::server::db::string_literal(&path.display().to_string())
}

/// Exports the database to the lake in `dir` (new, empty, or a lake written before).
pub fn export_lake(db: &Db, dir: &Path) -> Result<LakeSummary, LakeError> {
    let previous = open_or_create(dir)?;
    let time_zone = db.time_zone();
    if let Some(p) = &previous
        && p.time_zone != time_zone
    {
        return Err(LakeError::TimeZone {
            dir: dir.to_path_buf(),
            lake: p.time_zone.clone(),
            instance: time_zone,
        });
    }
    let conn = db.connect()?;
    // One snapshot: the tables, the events and the manifest's counts agree.
    conn.execute_batch("BEGIN TRANSACTION")?;
    let result = write_snapshot(&conn, dir, previous.as_ref(), &time_zone);
    let _ = conn.execute_batch("ROLLBACK");
    let (manifest, summary, stale) = result?;
    manifest.write(dir)?;
    // The manifest no longer names them: what a reader opens from now on is complete.
    for path in stale {
        let full = dir.join(&path);
        let removed = if full.is_dir() {
            std::fs::remove_dir_all(&full)
        } else {
            std::fs::remove_file(&full)
        };
        removed.map_err(io(&full))?;
    }
    Ok(summary)
}

/// The lake's manifest, `None` for a new or empty folder (created).
fn open_or_create(dir: &Path) -> Result<Option<Manifest>, LakeError> {
    if dir.join(MANIFEST).exists() {
        return Manifest::read(dir).map(Some);
    }
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).map_err(io(dir))?;
        if entries.next().is_some() {
            return Err(LakeError::NotALake(dir.to_path_buf()));
        }
    } else {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    Ok(None)
}

/// The count and hash sum of the events of loads up to `max_load_id`.
pub(crate) fn fingerprint(conn: &Connection, max_load_id: i64) -> Result<String, LakeError> {
    Ok(conn.query_row(
        "SELECT count(*) || ':' || CAST(coalesce(sum(CAST(hash(source, event_id, customer_id)
                    AS HUGEINT)), 0) AS VARCHAR)
         FROM events WHERE load_id <= ?",
        [max_load_id],
        |r| r.get(0),
    )?)
}

type Written = (Manifest, LakeSummary, Vec<String>);

fn write_snapshot(
    conn: &Connection,
    dir: &Path,
    previous: Option<&Manifest>,
    time_zone: &str,
) -> Result<Written, LakeError> {
    let exports = previous.map_or(0, |p| p.exports) + 1;
    let max_load_id: i64 =
        conn.query_row("SELECT coalesce(max(load_id), 0) FROM events", [], |r| {
            r.get(0)
        })?;
    let mut stale = Vec::new();
    // Append to the current generation when what it holds is still what the database holds.
    let kept = previous.filter(|p| {
        !p.events.dir.is_empty()
            && fingerprint(conn, p.max_load_id).ok().as_deref() == Some(&p.events.fingerprint)
    });
    let (mut events, from_load) = match kept {
        Some(p) => (p.events.clone(), p.max_load_id),
        None => {
            if let Some(p) = previous
                && !p.events.dir.is_empty()
            {
                stale.push(p.events.dir.clone());
            }
            let generation = format!("events-{exports}");
            (
                LakeEvents {
                    dir: generation,
                    ..LakeEvents::default()
                },
                0,
            )
        }
    };
    let rewritten = kept.is_none();
    let new_rows: i64 = conn.query_row(
        "SELECT count(*) FROM events WHERE load_id > ? AND load_id <= ?",
        [from_load, max_load_id],
        |r| r.get(0),
    )?;
    if new_rows > 0 {
        events.files.extend(write_events(
            conn,
            dir,
            &events.dir,
            from_load,
            max_load_id,
        )?);
    }
    events.rows = events.files.iter().map(|f| f.rows).sum();
    events.fingerprint = fingerprint(conn, max_load_id)?;
    let mut tables = BTreeMap::new();
    for table in TABLES {
        let file = write_table(conn, dir, table, exports)?;
        if let Some(old) = previous.and_then(|p| p.tables.get(*table))
            && old.path != file.path
        {
            stale.push(old.path.clone());
        }
        tables.insert((*table).to_string(), file);
    }
    let summary = LakeSummary {
        events_written: new_rows,
        events_total: events.rows,
        rewritten,
        max_load_id,
    };
    let manifest = Manifest {
        format: FORMAT,
        time_zone: time_zone.to_string(),
        max_load_id,
        exports,
        exported_at: chrono::Utc::now().to_rfc3339(),
        events,
        tables,
    };
    Ok((manifest, summary, stale))
}

/// `table`'s columns as a SELECT list in types Spark reads.
fn spark_columns(conn: &Connection, table: &str) -> Result<String, LakeError> {
    let mut stmt = conn.prepare(
        "SELECT column_name, data_type FROM duckdb_columns()
         WHERE table_name = ? AND schema_name = 'main' ORDER BY column_index",
    )?;
    let columns = stmt
        .query_map([table], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = Vec::with_capacity(columns.len());
    for (name, kind) in columns {
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        let upper = kind.to_ascii_uppercase();
        let expr = if upper == "INTERVAL" {
            return Err(LakeError::Interval {
                table: table.to_string(),
                column: name,
            });
        } else if upper == "JSON" || upper == "UUID" || upper.starts_with("ENUM") {
            format!("CAST({quoted} AS VARCHAR)")
        } else if upper == "HUGEINT" || upper == "UHUGEINT" {
            format!("CAST({quoted} AS DECIMAL(38, 0))")
        } else if upper == "TIMESTAMP_NS" || upper == "TIMESTAMP_MS" || upper == "TIMESTAMP_S" {
            format!("CAST({quoted} AS TIMESTAMP)")
        } else {
            quoted.clone()
        };
        out.push(format!("{expr} AS {quoted}"));
    }
    Ok(out.join(", "))
}

/// Writes the events of loads `(from, to]` into `dir/generation`, partitioned by UTC month;
/// returns the files written.
fn write_events(
    conn: &Connection,
    dir: &Path,
    generation: &str,
    from: i64,
    to: i64,
) -> Result<Vec<LakeFile>, LakeError> {
    let staging = dir.join(format!(".staging-{generation}-{to}"));
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(io(&staging))?;
    }
    let columns = spark_columns(conn, "events")?;
    let prefix = format!("loads-{}-{to}", from + 1);
    conn.execute(
        &format!(
            "COPY (SELECT {columns},
                          CAST(year(timezone('UTC', occurred_at)) AS INTEGER) AS year,
                          CAST(month(timezone('UTC', occurred_at)) AS INTEGER) AS month
                   FROM events WHERE load_id > ? AND load_id <= ?)
             TO {} (FORMAT parquet, PARTITION_BY (year, month),
                    FILENAME_PATTERN '{prefix}-{{i}}')",
            literal(&staging)
        ),
        [from, to],
    )?;
    // Move each file into its partition of the generation, then count its rows.
    let mut files = Vec::new();
    let mut moved = Vec::new();
    for partition in read_dir_sorted(&staging)? {
        for month in read_dir_sorted(&partition)? {
            let rel_month = format!(
                "{generation}/{}/{}",
                file_name(&partition),
                file_name(&month)
            );
            let into = dir.join(&rel_month);
            std::fs::create_dir_all(&into).map_err(io(&into))?;
            for file in read_dir_sorted(&month)? {
                let rel = format!("{rel_month}/{}", file_name(&file));
                let dest = dir.join(&rel);
                std::fs::rename(&file, &dest).map_err(io(&dest))?;
                moved.push((rel, dest));
            }
        }
    }
    std::fs::remove_dir_all(&staging).map_err(io(&staging))?;
    for (rel, dest) in moved {
        let rows: i64 = conn.query_row(
            &format!(
                "SELECT CAST(num_rows AS BIGINT) FROM parquet_file_metadata({})",
                literal(&dest)
            ),
            [],
            |r| r.get(0),
        )?;
        files.push(LakeFile { path: rel, rows });
    }
    Ok(files)
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>, LakeError> {
    let mut out = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(io(dir))?;
    out.sort();
    Ok(out)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Writes `table` whole as `dir/table/vN.parquet`.
fn write_table(
    conn: &Connection,
    dir: &Path,
    table: &str,
    export: u64,
) -> Result<LakeFile, LakeError> {
    let folder = dir.join(table);
    std::fs::create_dir_all(&folder).map_err(io(&folder))?;
    let rel = format!("{table}/v{export}.parquet");
    let path = dir.join(&rel);
    let columns = spark_columns(conn, table)?;
    let rows = conn.execute(
        &format!(
            "COPY (SELECT {columns} FROM \"{table}\") TO {} (FORMAT parquet)",
            literal(&path)
        ),
        [],
    )?;
    Ok(LakeFile {
        path: rel,
        rows: i64::try_from(rows).unwrap_or(i64::MAX),
    })
}
