//! A load, start to end: the record of each attempt, the one transaction that stages, checks
//! and inserts every file, stitches identities (and brings the journeys up to date) and
//! commits, or leaves the database as it was. Reading a file is [`super::stage`]'s job,
//! checking its values [`super::rejects`]'s.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use duckdb::{Connection, Transaction, params};
use sha2::{Digest, Sha256};

use super::canonical::Field;
use super::mapping::Mapping;
use super::rejects::find_rejects;
use super::stage::{
    Reader, drop_staged, format_extension, read_header, stage, stage_mapped, stage_ndjson,
    stage_parquet,
};
use super::{FileOutcome, IngestError, LoadOptions, LoadReport, LoadStep, LoadTimings, pseudonym};
use crate::server::db::Db;
use crate::server::identity;

/// DuckDB's `Out of Memory Error` anywhere in `err`'s chain becomes
/// [`IngestError::OutOfMemory`], which names the setting to change; any other error is
/// returned as it is.
fn name_the_memory_limit(db: &Db, err: IngestError) -> IngestError {
    match crate::server::db::out_of_memory(&err) {
        Some(detail) => IngestError::OutOfMemory {
            limit: db.memory_limit().map_or_else(
                || "not set, DuckDB's default of 80% of the memory".to_string(),
                ToString::to_string,
            ),
            detail,
        },
        None => err,
    }
}

/// Loads `files` for `source` in one transaction, stitches identities and rebuilds journeys.
pub fn load_files(
    db: &Db,
    source: &str,
    files: &[PathBuf],
    options: &LoadOptions,
) -> Result<LoadReport, IngestError> {
    let report = load_files_with(db, source, files, options, true)?;
    if report.files.iter().any(|f| f.rows_loaded > 0) {
        // New data may cross a rule's threshold (server::alerts).
        crate::server::alerts::evaluate_after_load(db);
    }
    Ok(report)
}

/// [`load_files`] without the journey rebuild, for a batch of loads (the demo) that rebuilds
/// the journeys once at its end with [`crate::server::journey::rebuild`].
pub fn load_files_without_journeys(
    db: &Db,
    source: &str,
    files: &[PathBuf],
    options: &LoadOptions,
) -> Result<LoadReport, IngestError> {
    load_files_with(db, source, files, options, false)
}

/// Loads several sources' files in one transaction with one identity stitch at its end and
/// no journey rebuild, for a batch of loads (the demo, the benchmark) that rebuilds the
/// journeys once at its end with [`crate::server::journey::rebuild`]. Stitching reads every event,
/// so one stitch for the batch instead of one per source is most of the saving; all files
/// are kept or none. Each entry's mapping, when it has one, reads that entry's file in place
/// of `options.mapping`.
pub fn load_sources_without_journeys(
    db: &Db,
    batch: &[(String, PathBuf, Option<Mapping>)],
    options: &LoadOptions,
) -> Result<LoadReport, IngestError> {
    let batch: Vec<BatchEntry<'_>> = batch
        .iter()
        .map(|(source, file, mapping)| {
            (
                source.as_str(),
                std::slice::from_ref(file),
                mapping.as_ref(),
            )
        })
        .collect();
    load_batch(db, &batch, options, false)
}

/// One source's files in a batch load, and the mapping that reads them if not
/// `LoadOptions::mapping`.
type BatchEntry<'a> = (&'a str, &'a [PathBuf], Option<&'a Mapping>);

fn load_files_with(
    db: &Db,
    source: &str,
    files: &[PathBuf],
    options: &LoadOptions,
    journeys: bool,
) -> Result<LoadReport, IngestError> {
    load_batch(db, &[(source, files, None)], options, journeys)
}

fn load_batch(
    db: &Db,
    batch: &[BatchEntry<'_>],
    options: &LoadOptions,
    journeys: bool,
) -> Result<LoadReport, IngestError> {
    for (source, _, _) in batch {
        check_source_name(source)?;
    }
    let mut writer = db.write_lock();
    let mut conn = db.connect()?;
    let clock = Instant::now();
    let clear = |err: IngestError| name_the_memory_limit(db, err);
    // Each source's attempt is recorded as 'running' in its own committed transaction before
    // the data transaction starts; the data transaction deletes them when it commits (the
    // rows of the files it loaded are the record), a failure marks them 'failed', and one
    // still 'running' when the database is next opened was cut short (killed, power lost): it
    // is marked 'interrupted' by [`mark_interrupted_loads`]. Its data never committed.
    let mut attempts = Vec::with_capacity(batch.len());
    for (source, files, _) in batch {
        let names = files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let attempt: Result<i64, _> = conn.query_row(
            "INSERT INTO loads (source, file, checksum, started_at, status)
             VALUES (?, ?, '', now(), 'running') RETURNING load_id",
            params![source, names],
            |r| r.get(0),
        );
        attempts.push(attempt.map_err(|e| clear(e.into()))?);
    }
    let result = load_in_transaction(&mut conn, batch, options, journeys, &attempts).map_err(clear);
    // Cached results of the days the load did not change stay (see `kpi::memo`).
    if let Some(changed) = result.as_ref().ok().and_then(|r| r.changed) {
        writer.changed(changed);
    }
    if let Err(err) = &result {
        // The transaction rolled back; keep a trace of the attempts for the data page.
        for attempt in &attempts {
            let recorded = conn.execute(
                "UPDATE loads SET status = 'failed', duration_ms = ?, error = ? WHERE load_id = ?",
                params![clock.elapsed().as_millis() as i64, err.to_string(), attempt],
            );
            if let Err(e) = recorded {
                tracing::warn!(error = %e, "could not record the failed load");
            }
        }
    }
    result
}

/// Marks the loads still 'running' as 'interrupted': called when the database is opened, by
/// which time no load of this process can be running (DuckDB lets one process write a file).
/// Returns how many there were.
pub fn mark_interrupted_loads(conn: &Connection) -> Result<usize, duckdb::Error> {
    conn.execute(
        "UPDATE loads SET status = 'interrupted',
                error = 'the process stopped during the load; nothing of it was kept'
         WHERE status = 'running'",
        [],
    )
}

fn load_in_transaction(
    conn: &mut Connection,
    batch: &[BatchEntry<'_>],
    options: &LoadOptions,
    journeys: bool,
    attempts: &[i64],
) -> Result<LoadReport, IngestError> {
    let tx = conn.transaction()?;
    if pseudonym::salt_missing(&tx)? {
        return Err(IngestError::NoSalt);
    }
    // Events of this load get load ids above this one: stitching re-does only what they touch.
    let before: i64 = tx.query_row("SELECT coalesce(max(load_id), 0) FROM loads", [], |r| {
        r.get(0)
    })?;
    let mut report = LoadReport::default();
    for (source, files, mapping) in batch {
        let mapped;
        let options = match mapping {
            Some(mapping) => {
                mapped = LoadOptions {
                    mapping: Some((*mapping).clone()),
                    ..options.clone()
                };
                &mapped
            }
            None => options,
        };
        for file in *files {
            let outcome = load_file(&tx, source, file, options, &mut report.timings)?;
            options.progress.report(LoadStep::Done {
                rows: outcome.rows_read,
            });
            report.files.push(outcome);
        }
    }
    options.progress.report(LoadStep::Stitching);
    let clock = Instant::now();
    // Written by this load's stitch; one left by an earlier statement must not stand in for it.
    tx.execute_batch(&format!("DROP TABLE IF EXISTS {};", identity::TOUCHED))?;
    report.customers = identity::stitch_after(&tx, before)?;
    report.timings.stitch = clock.elapsed();
    // Journeys read the stitched customers; brought up to date in the same transaction so a
    // reader never sees events without their journeys. Only the customers the load touched are
    // cut again (journey::build::update_in).
    if journeys {
        let clock = Instant::now();
        // Every path of `stitch_after` lists the customers it moved events to or from (new
        // events included), an empty list when the load carries no identifier.
        crate::server::journey::update_touched_in(&tx, Some(identity::TOUCHED))?;
        tx.execute_batch(&format!("DROP TABLE IF EXISTS {};", identity::TOUCHED))?;
        report.timings.journeys = clock.elapsed();
    }
    // The rollups count the rows this transaction inserted, as stitched (docs/rollups.md).
    let clock = Instant::now();
    crate::server::rollup::add_loaded(&tx)?;
    report.timings.rollups = clock.elapsed();
    report.changed = Some(crate::server::rollup::changed(&tx)?);
    crate::server::ops::fault::point("load.before_commit");
    let clock = Instant::now();
    for attempt in attempts {
        tx.execute("DELETE FROM loads WHERE load_id = ?", [attempt])?;
    }
    tx.commit()?;
    report.timings.insert += clock.elapsed();
    // The profile of a slow load on a customer's own data, as `ops::laps` gives for pages.
    let ms = |d: std::time::Duration| d.as_millis() as u64;
    let t = &report.timings;
    tracing::debug!(
        read_ms = ms(t.read),
        validate_ms = ms(t.validate),
        insert_ms = ms(t.insert),
        stitch_ms = ms(t.stitch),
        journeys_ms = ms(t.journeys),
        rollups_ms = ms(t.rollups),
        "load profile"
    );
    Ok(report)
}

pub(crate) fn check_source_name(source: &str) -> Result<(), IngestError> {
    let ok = !source.is_empty()
        && source.len() <= 64
        && source
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(IngestError::BadSource(source.to_string()))
    }
}

fn load_file(
    tx: &Transaction<'_>,
    source: &str,
    file: &Path,
    options: &LoadOptions,
    timings: &mut LoadTimings,
) -> Result<FileOutcome, IngestError> {
    let clock = Instant::now();
    if file.to_string_lossy().contains(['*', '?', '[']) {
        return Err(IngestError::PatternInName(file.to_path_buf()));
    }
    let checksum = checksum(file)?;
    let already: i64 = tx.query_row(
        "SELECT count(*) FROM loads WHERE source = ? AND checksum = ? AND status = 'ok'",
        params![source, checksum],
        |r| r.get(0),
    )?;
    if already > 0 && !options.force {
        return Ok(FileOutcome {
            file: file.to_path_buf(),
            rows_read: 0,
            rows_loaded: 0,
            rows_duplicate: 0,
            rows_rejected: 0,
            skipped: true,
        });
    }

    let extension = format_extension(file);
    let (fields, rows_read) = match &options.mapping {
        None if extension == "ndjson" || extension == "jsonl" => stage_ndjson(tx, file)?,
        None if extension == "parquet" => stage_parquet(tx, file)?,
        None => {
            let fields = read_header(file)?;
            let projection: Vec<(&'static Field, String)> = fields
                .iter()
                .enumerate()
                .map(|(i, f)| (*f, format!("r{i}")))
                .collect();
            let rows = stage(tx, file, &Reader::CANONICAL, fields.len(), &projection)?;
            (fields, rows)
        }
        Some(mapping) => stage_mapped(tx, file, mapping)?,
    };
    let read_done = clock.elapsed();
    timings.read += read_done;
    options.progress.report(LoadStep::Read { rows: rows_read });
    let (total, rejects) = find_rejects(tx, source, &fields)?;
    let validate_done = clock.elapsed();
    timings.validate += validate_done - read_done;
    if total > options.max_rejects {
        return Err(IngestError::Rejected {
            file: file.to_path_buf(),
            total,
            rejects,
        });
    }

    let load_id: i64 = tx.query_row(
        "INSERT INTO loads (source, file, checksum, rows_read, started_at, status)
         VALUES (?, ?, ?, ?, now(), 'loading') RETURNING load_id",
        params![
            source,
            file.display().to_string(),
            checksum,
            rows_read as i64
        ],
        |r| r.get(0),
    )?;
    let columns: Vec<&str> = fields
        .iter()
        .map(|f| f.name)
        .filter(|n| *n != "source")
        .collect();
    let values: Vec<String> = fields
        .iter()
        .filter(|f| f.name != "source")
        .map(|f| f.convert_sql())
        .collect();
    // Ids already loaded for the source are duplicates (counted, not inserted). The check
    // joins the file with every event of the source, the slowest part of a first load of a
    // big file (the benchmark's profile): a source with no events yet has none to find.
    let source_has_events: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM events WHERE source = ?)",
        [source],
        |r| r.get(0),
    )?;
    let rejected: bool = tx.query_row("SELECT EXISTS (FROM ingest_rejects)", [], |r| r.get(0))?;
    let mut conditions = Vec::new();
    if source_has_events {
        conditions.push(
            "NOT EXISTS (SELECT 1 FROM events e WHERE e.source = $1 AND e.event_id = trim(s.event_id))",
        );
    }
    if rejected {
        conditions.push("s.__line NOT IN (SELECT line FROM ingest_rejects)");
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let insert = format!(
        "INSERT INTO events (source, load_id, {}) SELECT $1, $2, {} FROM ingest_rows s {filter}",
        columns.join(", "),
        values.join(", ")
    );
    let rows_loaded = tx.execute(&insert, params![source, load_id])? as u64;
    // Accepted bad rows (up to --max-rejects) are kept for the data page.
    tx.execute(
        "INSERT INTO load_rejects (load_id, line, column_name, reason, value)
         SELECT ?, line, col, reason, left(value, 1000) FROM ingest_rejects",
        [load_id],
    )?;
    let rows_rejected: i64 =
        tx.query_row("SELECT count(DISTINCT line) FROM ingest_rejects", [], |r| {
            r.get(0)
        })?;
    let rows_rejected = rows_rejected as u64;
    let rows_duplicate = rows_read - rows_rejected - rows_loaded;
    tx.execute(
        "UPDATE loads SET rows_loaded = ?, rows_duplicate = ?, rows_rejected = ?,
                duration_ms = ?, status = 'ok'
         WHERE load_id = ?",
        params![
            rows_loaded as i64,
            rows_duplicate as i64,
            rows_rejected as i64,
            clock.elapsed().as_millis() as i64,
            load_id
        ],
    )?;
    drop_staged(tx)?;
    timings.insert += clock.elapsed() - validate_done;
    Ok(FileOutcome {
        file: file.to_path_buf(),
        rows_read,
        rows_loaded,
        rows_duplicate,
        rows_rejected,
        skipped: false,
    })
}

fn checksum(file: &Path) -> Result<String, IngestError> {
    let io = |source| IngestError::Io {
        file: file.to_path_buf(),
        source,
    };
    let mut reader = std::fs::File::open(file).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = reader.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    if size == 0 {
        return Err(IngestError::Empty(file.to_path_buf()));
    }
    Ok(format!("{:x}", hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_names_are_a_closed_alphabet() {
        assert!(check_source_name("pos").is_ok());
        assert!(check_source_name("web-shop_2").is_ok());
        assert!(check_source_name("").is_err());
        assert!(check_source_name("pos'; DROP TABLE events; --").is_err());
        assert!(check_source_name(&"x".repeat(65)).is_err());
    }
}
