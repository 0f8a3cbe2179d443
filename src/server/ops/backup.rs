//! Backups, restores and the Parquet export.
//!
//! A backup is DuckDB's `EXPORT DATABASE` to Parquet files plus the schema and load scripts.
//! It runs as one statement, so it reads one MVCC snapshot of every table: consistent while
//! the server keeps answering and loading, without holding the write lock (a load running
//! meanwhile is in the backup entirely if it committed before the export began, otherwise not
//! at all). The alternative, CHECKPOINT then copying the file under the write lock, would stop
//! loads for the whole copy and copy the free pages too; an export is also readable by any
//! DuckDB version, where the storage file is not.
//!
//! DuckDB accepts no bound parameter for the target of `EXPORT`/`IMPORT`/`COPY ... TO`, so
//! paths are written into the statement as string literals with their quotes doubled; the
//! paths come from the administrator (command line, or an admin-only endpoint).

use std::path::{Path, PathBuf};

use duckdb::Connection;

use crate::server::db::{Db, DbError};

/// The file that marks a folder as an omnikpi backup.
pub const MANIFEST: &str = "omnikpi-backup.txt";

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{} is not empty; choose a new folder for the backup", .0.display())]
    TargetNotEmpty(PathBuf),
    #[error("{} is not an omnikpi backup (no {MANIFEST} in it)", .0.display())]
    NotABackup(PathBuf),
    #[error(
        "the database {} already holds data; restore with --force to replace it (it is kept as {}.before-restore)",
        .0.display(), .0.display()
    )]
    DatabaseNotEmpty(PathBuf),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the database is in memory; there is nothing to back up to a file")]
    InMemory,
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("database error: {0}")]
    Sql(#[from] duckdb::Error),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `path` as a SQL string literal.
fn literal(path: &Path) -> String {
    crate::server::db::string_literal(&path.display().to_string())
}

/// A folder that does not exist yet (created) or is empty.
fn prepare_empty_dir(dir: &Path) -> Result<(), BackupError> {
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).map_err(io(dir))?;
        if entries.next().is_some() {
            return Err(BackupError::TargetNotEmpty(dir.to_path_buf()));
        }
    } else {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    Ok(())
}

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    pub dir: PathBuf,
    pub schema_version: i64,
    pub events: i64,
}

/// Writes a consistent snapshot of the database to `dir` (new or empty).
pub fn backup(db: &Db, dir: &Path) -> Result<BackupSummary, BackupError> {
    prepare_empty_dir(dir)?;
    let conn = db.connect()?;
    // One transaction: the counts in the manifest are those of the exported snapshot.
    conn.execute_batch("BEGIN TRANSACTION")?;
    let result = (|| -> Result<BackupSummary, BackupError> {
        let schema_version = crate::server::db::migrate::current_version(&conn)
            .map_err(|e| BackupError::Db(DbError::Migrate(e)))?;
        let events: i64 = conn.query_row("SELECT count(*) FROM events", [], |r| r.get(0))?;
        conn.execute_batch(&format!(
            "EXPORT DATABASE {} (FORMAT parquet)",
            literal(dir)
        ))?;
        Ok(BackupSummary {
            dir: dir.to_path_buf(),
            schema_version,
            events,
        })
    })();
    let _ = conn.execute_batch("ROLLBACK");
    let summary = result?;
    let manifest = format!(
        "omnikpi backup\nschema_version = {}\nevents = {}\ntaken_at = {}\n",
        summary.schema_version,
        summary.events,
        chrono::Utc::now().to_rfc3339()
    );
    let path = dir.join(MANIFEST);
    std::fs::write(&path, manifest).map_err(io(&path))?;
    Ok(summary)
}

/// Whether the database at `path` holds anything worth keeping (events, users, sources or
/// loads). A missing file holds nothing.
fn holds_data(path: &Path) -> Result<bool, BackupError> {
    if !path.exists() {
        return Ok(false);
    }
    let conn = Connection::open(path)?;
    let tables: i64 = conn.query_row(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name IN ('events', 'users', 'sources', 'loads')",
        [],
        |r| r.get(0),
    )?;
    if tables < 4 {
        // Not an omnikpi database (or an empty file): anything in it counts as data.
        let any: i64 = conn.query_row("SELECT count(*) FROM duckdb_tables()", [], |r| r.get(0))?;
        return Ok(any > 0);
    }
    let rows: i64 = conn.query_row(
        "SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM users)
              + (SELECT count(*) FROM sources) + (SELECT count(*) FROM loads)",
        [],
        |r| r.get(0),
    )?;
    Ok(rows > 0)
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Restores the backup in `dir` as the database `path`. A database that holds data is only
/// replaced with `force`, and then kept beside it as `<path>.before-restore`. The backup is
/// imported into a new file first, which replaces the old one only once complete.
pub fn restore(dir: &Path, path: &Path, time_zone: &str, force: bool) -> Result<i64, BackupError> {
    if !dir.join(MANIFEST).is_file() || !dir.join("schema.sql").is_file() {
        return Err(BackupError::NotABackup(dir.to_path_buf()));
    }
    if holds_data(path)? && !force {
        return Err(BackupError::DatabaseNotEmpty(path.to_path_buf()));
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    let staging = sibling(path, ".restoring");
    for p in [staging.clone(), sibling(&staging, ".wal")] {
        if p.exists() {
            std::fs::remove_file(&p).map_err(io(&p))?;
        }
    }
    {
        let conn = Connection::open(&staging)?;
        conn.execute_batch(&format!("IMPORT DATABASE {}", literal(dir)))?;
        conn.execute_batch("CHECKPOINT")?;
    }
    // Opening applies any migration newer than the backup and checks the time zone.
    let events = {
        let db = Db::open(&staging, time_zone)?;
        let conn = db.connect()?;
        conn.execute_batch("CHECKPOINT")?;
        conn.query_row("SELECT count(*) FROM events", [], |r| r.get::<_, i64>(0))?
    };
    if path.exists() {
        let kept = sibling(path, ".before-restore");
        std::fs::rename(path, &kept).map_err(io(path))?;
        let wal = sibling(path, ".wal");
        if wal.exists() {
            std::fs::rename(&wal, sibling(&kept, ".wal")).map_err(io(&wal))?;
        }
    }
    std::fs::rename(&staging, path).map_err(io(&staging))?;
    let staging_wal = sibling(&staging, ".wal");
    if staging_wal.exists() {
        std::fs::rename(&staging_wal, sibling(path, ".wal")).map_err(io(&staging_wal))?;
    }
    Ok(events)
}

/// Writes every event as Parquet under `dir`, partitioned by the local year and month of
/// `occurred_at` (`dir/year=2026/month=3/data_0.parquet`), for DuckDB, DuckLake or any Parquet
/// reader. Returns the number of events written.
pub fn export_parquet(db: &Db, dir: &Path) -> Result<i64, BackupError> {
    prepare_empty_dir(dir)?;
    let conn = db.connect()?;
    conn.execute_batch("BEGIN TRANSACTION")?;
    let result = (|| -> Result<i64, BackupError> {
        let events: i64 = conn.query_row("SELECT count(*) FROM events", [], |r| r.get(0))?;
        conn.execute_batch(&format!(
            "COPY (SELECT *, year(occurred_at) AS year, month(occurred_at) AS month FROM events)
             TO {} (FORMAT parquet, PARTITION_BY (year, month))",
            literal(dir)
        ))?;
        Ok(events)
    })();
    let _ = conn.execute_batch("ROLLBACK");
    result
}
