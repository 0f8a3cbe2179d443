//! Getting data in: a file is read by DuckDB's own CSV reader into a staging table, every row
//! is checked, and what passes goes into `events` in the same transaction as the load record
//! and the identity stitching that follows it.
//!
//! Guarantees: a load is one transaction, so a failure leaves the database as it was; a file
//! with any rejected row loads nothing and the rejects name file, line, column, reason and
//! value; (source, event_id) is unique, so loading the same file twice adds nothing; a file
//! whose checksum was already loaded for the source is skipped unless forced.

pub mod canonical;
pub mod events;
pub mod mapping;
pub mod pseudonym;
pub mod sources;

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use duckdb::{Connection, Transaction, params};
use sha2::{Digest, Sha256};

use super::db::{Db, DbError};
use super::identity;
use canonical::{Field, Kind};
use mapping::{Encoding, Mapping};

/// How many rejects an error message lists before it only counts.
pub const SHOWN_REJECTS: usize = 20;
/// How many characters of a rejected value a message quotes.
pub const SHOWN_VALUE: usize = 100;

#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Load files even when a file with the same checksum was already loaded.
    pub force: bool,
    /// How to read the source's files; `None` for files in canonical form.
    pub mapping: Option<Mapping>,
    /// Load a file with up to this many bad values, leaving their rows out (kept in
    /// `load_rejects`); with more, or by default (0), a bad value loads nothing.
    pub max_rejects: u64,
    /// Told how far the load is (the command line draws a progress bar from it).
    pub progress: Progress,
}

/// A step of a running load, as [`Progress`] reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadStep {
    /// A file was read and numbered: it holds this many rows.
    Read { rows: u64 },
    /// A file's rows were checked and inserted (or found duplicate or rejected).
    Done { rows: u64 },
    /// The files are in; identity stitching (and the journeys) follow.
    Stitching,
}

/// Where a load reports its steps; does nothing unless given a callback.
#[derive(Clone, Default)]
pub struct Progress(Option<std::sync::Arc<dyn Fn(LoadStep) + Send + Sync>>);

impl Progress {
    pub fn new(report: impl Fn(LoadStep) + Send + Sync + 'static) -> Self {
        Self(Some(std::sync::Arc::new(report)))
    }

    pub fn report(&self, step: LoadStep) {
        if let Some(report) = &self.0 {
            report(step);
        }
    }
}

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Progress(callback)"
        } else {
            "Progress(none)"
        })
    }
}

/// One rejected value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject {
    pub line: u64,
    pub column: String,
    pub reason: String,
    pub value: Option<String>,
}

/// What happened to one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileOutcome {
    pub file: PathBuf,
    pub rows_read: u64,
    pub rows_loaded: u64,
    pub rows_duplicate: u64,
    /// Bad rows accepted under `max_rejects` and kept in `load_rejects`.
    pub rows_rejected: u64,
    /// Skipped because the same content was already loaded for this source.
    pub skipped: bool,
}

/// What a whole load did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    pub files: Vec<FileOutcome>,
    pub customers: u64,
    /// Where the time went, each phase summed over the files (the benchmark reports it).
    pub timings: LoadTimings,
}

/// The wall time of each phase of a load.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadTimings {
    /// Checksum, reading the file into the staging table.
    pub read: Duration,
    /// Checking every value of every row.
    pub validate: Duration,
    /// Inserting the accepted rows into `events` and recording the load.
    pub insert: Duration,
    /// Identity stitching.
    pub stitch: Duration,
    /// The journey rebuild (zero when the load leaves it to its caller).
    pub journeys: Duration,
}

impl LoadTimings {
    /// Adds `other`'s phases to these.
    pub fn add(&mut self, other: &Self) {
        self.read += other.read;
        self.validate += other.validate;
        self.insert += other.insert;
        self.stitch += other.stitch;
        self.journeys += other.journeys;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("source name {0:?} must be 1-64 characters of a-z, 0-9, _ and -")]
    BadSource(String),
    #[error("{}: cannot read the file: {source}", file.display())]
    Io {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{}: the file name contains *, ? or [, which the reader takes as a pattern; rename it",
        .0.display()
    )]
    PatternInName(PathBuf),
    #[error("{}: the file is empty", .0.display())]
    Empty(PathBuf),
    #[error("{}: the file has a header but no rows", .0.display())]
    HeaderOnly(PathBuf),
    #[error("{}: could not be read as CSV: {message}", file.display())]
    Unreadable { file: PathBuf, message: String },
    /// A line the CSV reader cannot split into the header's columns.
    #[error("{}:{line}: {problem}", file.display())]
    BadLine {
        file: PathBuf,
        line: u64,
        problem: String,
    },
    #[error("{}: line 1: {problem}", file.display())]
    Header { file: PathBuf, problem: String },
    #[error("{}", RejectList { file, total: *total, rejects })]
    Rejected {
        file: PathBuf,
        total: u64,
        rejects: Vec<Reject>,
    },
    #[error(transparent)]
    Mapping(#[from] mapping::MappingError),
    #[error(
        "pseudonymisation is on but the instance's salt (setting pseudonym_salt) is missing; \
         restore it from a backup before loading"
    )]
    NoSalt,
    /// DuckDB needed more memory than `memory_limit` lets it use; the transaction rolled back.
    #[error(
        "the load needs more memory than the database may use (memory_limit: {limit}); nothing \
         was loaded. Raise memory_limit in the configuration file or OMNIKPI_MEMORY_LIMIT, or \
         load the data in smaller files (DuckDB: {detail})"
    )]
    OutOfMemory { limit: String, detail: String },
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Identity(Box<identity::IdentityError>),
}

/// DuckDB's `Out of Memory Error` anywhere in `err`'s chain becomes
/// [`IngestError::OutOfMemory`], which names the setting to change; any other error is
/// returned as it is.
fn name_the_memory_limit(db: &Db, err: IngestError) -> IngestError {
    match super::db::out_of_memory(&err) {
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

impl From<identity::IdentityError> for IngestError {
    fn from(err: identity::IdentityError) -> Self {
        Self::Identity(Box::new(err))
    }
}

impl From<duckdb::Error> for IngestError {
    fn from(err: duckdb::Error) -> Self {
        Self::Db(DbError::Sql(err))
    }
}

struct RejectList<'a> {
    file: &'a Path,
    total: u64,
    rejects: &'a [Reject],
}

impl fmt::Display for RejectList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in self.rejects.iter().take(SHOWN_REJECTS) {
            write!(
                f,
                "{}:{}: column {}: {}",
                self.file.display(),
                r.line,
                r.column,
                r.reason
            )?;
            if let Some(value) = &r.value {
                write!(f, " (value {value:?})")?;
            }
            writeln!(f)?;
        }
        // A row can hold several bad values; each is counted (and listed) on its own.
        let values = if self.total == 1 { "value" } else { "values" };
        write!(f, "{} invalid {values}; nothing was loaded", self.total)
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
        super::alerts::evaluate_after_load(db);
    }
    Ok(report)
}

/// [`load_files`] without the journey rebuild, for a batch of loads (the demo) that rebuilds
/// the journeys once at its end with [`super::journey::rebuild`].
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
/// journeys once at its end with [`super::journey::rebuild`]. Stitching reads every event,
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
    let _writer = db.write_lock();
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
    report.customers = identity::stitch_after(&tx, before)?;
    report.timings.stitch = clock.elapsed();
    // Journeys read the stitched customers; brought up to date in the same transaction so a
    // reader never sees events without their journeys. Only the customers the load touched are
    // cut again (journey::build::update_in).
    if journeys {
        let clock = Instant::now();
        super::journey::update_in(&tx)?;
        report.timings.journeys = clock.elapsed();
    }
    let clock = Instant::now();
    for attempt in attempts {
        tx.execute("DELETE FROM loads WHERE load_id = ?", [attempt])?;
    }
    tx.commit()?;
    report.timings.insert += clock.elapsed();
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
    tx.execute_batch("DROP TABLE ingest_raw; DROP TABLE ingest_rows; DROP TABLE ingest_rejects;")?;
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

fn unreadable(file: &Path, err: duckdb::Error) -> IngestError {
    let message = err.to_string();
    if let Some(line) = csv_error_line(&message) {
        return IngestError::BadLine {
            file: file.to_path_buf(),
            line,
            problem: csv_problem(&message),
        };
    }
    // DuckDB's message repeats the reader's options after a blank line; the first part is
    // the one a user can act on.
    let message = message
        .split("\n\n")
        .next()
        .unwrap_or(&message)
        .trim()
        .to_string();
    let message = if message.contains("not utf-8 encoded") {
        format!(
            "{message}\nExports in Latin-1 (common from Italian tills) load through a mapping \
             with encoding = \"latin1\" (see examples/pos/mapping.toml)"
        )
    } else {
        message
    };
    IngestError::Unreadable {
        file: file.to_path_buf(),
        message,
    }
}

/// The line of a CSV reader error ("CSV Error on Line: 12"), counted in the file.
fn csv_error_line(message: &str) -> Option<u64> {
    let rest = message.split("CSV Error on Line: ").nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// What is wrong with a line the CSV reader refused, in words a user can act on. The reader's
/// own message quotes the whole line (megabytes, for a runaway line) and proposes its options,
/// which are not ours to set; neither is repeated.
fn csv_problem(message: &str) -> String {
    let number_after = |label: &str| -> Option<u64> {
        let rest = message.split(label).nth(1)?;
        rest.trim_start()
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    if let (Some(expected), Some(found)) = (
        number_after("Expected Number of Columns:"),
        number_after("Found:"),
    ) {
        return format!(
            "{found} values where the header has {expected} (check the delimiter and the \
             quotes of this line)"
        );
    }
    if let Some(max) = number_after("Maximum line size of") {
        let actual = number_after("Actual Size:")
            .map(|n| format!(" ({n} bytes)"))
            .unwrap_or_default();
        return format!("the line is longer than {max} bytes{actual}");
    }
    if message.contains("unterminated quote") {
        return "a quoted value is never closed (a \" without its closing \")".into();
    }
    if message.contains("not utf-8 encoded") {
        return "the text is not UTF-8. Exports in Latin-1 (common from Italian tills) load \
                through a mapping with encoding = \"latin1\" (see examples/pos/mapping.toml)"
            .into();
    }
    "the line cannot be read as CSV (check the delimiter and the quotes)".into()
}

/// A name from a file, as quoted in a message: at most 60 characters.
fn shown_name(name: &str) -> String {
    const MAX: usize = 60;
    if name.chars().count() <= MAX {
        format!("{name:?}")
    } else {
        let cut: String = name.chars().take(MAX).collect();
        format!("{cut:?}... ({} characters)", name.chars().count())
    }
}

/// The longest header line accepted; a longer first line is not a header.
const MAX_HEADER: u64 = 64 * 1024;

/// The extension that names a file's format: `csv` for `orders.csv.gz` (a gzip-compressed
/// file is read as what it contains; DuckDB decompresses it while reading).
fn format_extension(file: &Path) -> String {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    name.rsplit_once('.')
        .map(|(_, ext)| ext.to_string())
        .unwrap_or_default()
}

/// The file's bytes, decompressed when it is gzip (by its magic number, whatever its name).
fn open_text(file: &Path) -> std::io::Result<Box<dyn Read>> {
    let mut handle = std::fs::File::open(file)?;
    let mut magic = [0u8; 2];
    let gzip = handle.read(&mut magic)? == 2 && magic == [0x1f, 0x8b];
    let handle = std::fs::File::open(file)?;
    Ok(if gzip {
        Box::new(flate2::read::GzDecoder::new(handle))
    } else {
        Box::new(handle)
    })
}

/// Reads and checks the header line: canonical names only, no duplicates, required present.
fn read_header(file: &Path) -> Result<Vec<&'static Field>, IngestError> {
    use std::io::BufRead;
    let io = |source| IngestError::Io {
        file: file.to_path_buf(),
        source,
    };
    let reader = open_text(file).map_err(io)?;
    let mut bytes = Vec::new();
    std::io::BufReader::new(reader.take(MAX_HEADER))
        .read_until(b'\n', &mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 == MAX_HEADER && !bytes.ends_with(b"\n") {
        return Err(IngestError::Header {
            file: file.to_path_buf(),
            problem: format!(
                "the first line is longer than {} KB, which no header is",
                MAX_HEADER / 1024
            ),
        });
    }
    let header_line = String::from_utf8(bytes).map_err(|_| IngestError::Header {
        file: file.to_path_buf(),
        problem: "the header is not UTF-8: canonical files are UTF-8; an export in Latin-1 \
                  loads through a mapping with encoding = \"latin1\""
            .into(),
    })?;
    let names: Vec<String> = header_line
        .trim_start_matches('\u{feff}')
        .split(',')
        .map(|raw| raw.trim().trim_matches('"').trim().to_string())
        .collect();
    canonical_fields(file, &names)
}

/// How a file's text is read.
struct Reader {
    delimiter: char,
    quote: char,
    encoding: Encoding,
    skip_rows: usize,
}

impl Reader {
    const CANONICAL: Reader = Reader {
        delimiter: ',',
        quote: '"',
        encoding: Encoding::Utf8,
        skip_rows: 0,
    };

    /// read_csv options; every character comes from the closed sets a mapping accepts.
    fn options_sql(&self) -> String {
        let encoding = match self.encoding {
            Encoding::Utf8 => "utf-8",
            Encoding::Latin1 => "latin-1",
        };
        format!(
            "all_varchar = true, auto_detect = false, header = false, skip = {}, delim = {}, \
             quote = {q}, escape = {q}, encoding = '{encoding}'",
            self.skip_rows + 1,
            char_literal(self.delimiter),
            q = char_literal(self.quote),
        )
    }
}

/// A SQL string literal of one separator character (from a mapping's closed sets).
fn char_literal(c: char) -> String {
    match c {
        '\'' => "''''".to_string(),
        c => format!("'{c}'"),
    }
}

/// Reads a CSV's rows (text only) into `ingest_raw` as columns r0, r1, ..., then numbers and
/// projects them (see [`number_and_project`]). Returns the row count.
fn stage(
    tx: &Transaction<'_>,
    file: &Path,
    reader: &Reader,
    raw_columns: usize,
    projection: &[(&'static Field, String)],
) -> Result<u64, IngestError> {
    let path = file.display().to_string();
    let columns: Vec<String> = (0..raw_columns)
        .map(|i| format!("'r{i}': 'VARCHAR'"))
        .collect();
    let sql = format!(
        "CREATE TEMP TABLE ingest_raw AS SELECT * FROM read_csv(?, {}, columns = {{{}}})",
        reader.options_sql(),
        columns.join(", ")
    );
    tx.execute(&sql, [&path]).map_err(|e| unreadable(file, e))?;
    let names: Vec<String> = (0..raw_columns).map(|i| format!("r{i}")).collect();
    number_and_project(tx, file, &names, projection, reader.skip_rows + 2, true)
}

/// Numbers the rows of `ingest_raw` with their line in the file (from `first_line`, counting
/// quoted line breaks when `count_breaks`) and projects them into `ingest_rows`: one text
/// column per canonical field plus `__line`. Row ids follow the file's order but do not start
/// at 0 for rows a transaction has not committed, hence the offset.
fn number_and_project(
    tx: &Transaction<'_>,
    file: &Path,
    raw_columns: &[String],
    projection: &[(&'static Field, String)],
    first_line: usize,
    count_breaks: bool,
) -> Result<u64, IngestError> {
    // Quoted line breaks are rare; without any, a row's line follows from its row id alone,
    // which spares a running sum and a sort over the whole file (the slow part of a big load).
    let breaks = count_breaks && {
        let any: Vec<String> = raw_columns
            .iter()
            .map(|c| format!("contains(\"{c}\", chr(10))"))
            .collect();
        tx.query_row(
            &format!(
                "SELECT EXISTS (SELECT 1 FROM ingest_raw WHERE {})",
                any.join(" OR ")
            ),
            [],
            |r| r.get::<_, bool>(0),
        )?
    };
    let projected: Vec<String> = projection
        .iter()
        .map(|(field, expr)| format!("{expr} AS \"{}\"", field.name))
        .collect();
    if breaks {
        let concat: Vec<String> = raw_columns
            .iter()
            .map(|c| format!("coalesce(\"{c}\", '')"))
            .collect();
        let concat = format!("concat({})", concat.join(", "));
        let newlines = format!("length({concat}) - length(replace({concat}, chr(10), ''))");
        tx.execute_batch(&format!(
            "CREATE TEMP TABLE ingest_rows AS
             SELECT {}, __line FROM (
                 SELECT *, {first_line} + rid - min(rid) OVER () + coalesce(sum(newlines) OVER (
                            ORDER BY rid ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
                        AS __line
                 FROM (SELECT rowid AS rid, *, {newlines} AS newlines FROM ingest_raw))
             ORDER BY __line;",
            projected.join(", ")
        ))?;
    } else {
        // The projection keeps the table's order (DuckDB preserves insertion order).
        let first_rid: Option<i64> =
            tx.query_row("SELECT min(rowid) FROM ingest_raw", [], |r| r.get(0))?;
        let first_rid = first_rid.unwrap_or(0);
        tx.execute_batch(&format!(
            "CREATE TEMP TABLE ingest_rows AS
             SELECT {}, CAST({first_line} + rowid - ({first_rid}) AS BIGINT) AS __line
             FROM ingest_raw;",
            projected.join(", ")
        ))?;
    }
    let rows: i64 = tx.query_row("SELECT count(*) FROM ingest_rows", [], |r| r.get(0))?;
    if rows == 0 {
        return Err(IngestError::HeaderOnly(file.to_path_buf()));
    }
    Ok(rows as u64)
}

/// The canonical fields named by `names`, refusing unknown, derived and duplicated names and
/// requiring the three the contract needs. `at` says where the names were read.
fn canonical_fields(file: &Path, names: &[String]) -> Result<Vec<&'static Field>, IngestError> {
    let header_err = |problem: String| IngestError::Header {
        file: file.to_path_buf(),
        problem,
    };
    let mut fields: Vec<&'static Field> = Vec::new();
    for name in names {
        let name = name.as_str();
        if canonical::DERIVED.contains(&name) {
            return Err(header_err(format!(
                "column {name:?} is filled by omnikpi (identity stitching and load history); \
                 remove it from the file"
            )));
        }
        let field = canonical::find(name).ok_or_else(|| {
            header_err(format!(
                "unknown column {}; a canonical file uses these names: {}",
                shown_name(name),
                canonical::FIELDS
                    .iter()
                    .map(|f| f.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        if fields.contains(&field) {
            return Err(header_err(format!("column {name:?} appears twice")));
        }
        fields.push(field);
    }
    for required in canonical::FIELDS.iter().filter(|f| f.required) {
        if !fields.contains(&required) {
            return Err(header_err(format!(
                "required column {:?} is missing",
                required.name
            )));
        }
    }
    Ok(fields)
}

/// Stages a canonical NDJSON file (one JSON object a line; keys are canonical names).
fn stage_ndjson(
    tx: &Transaction<'_>,
    file: &Path,
) -> Result<(Vec<&'static Field>, u64), IngestError> {
    const READER: &str = "read_json_objects(?, format = 'newline_delimited')";
    stage_named(
        tx,
        file,
        &format!("SELECT DISTINCT unnest(json_keys(json)) AS k FROM {READER} ORDER BY k"),
        // Each value as text: strings without their quotes, numbers and objects as written.
        |n| {
            format!(
                "CASE WHEN json_type(json -> '{n}') = 'VARCHAR' THEN json ->> '{n}' \
                 WHEN json_type(json -> '{n}') = 'NULL' THEN NULL \
                 ELSE CAST(json -> '{n}' AS VARCHAR) END"
            )
        },
        READER,
    )
}

/// Stages a canonical Parquet file (column names are canonical names); "line" is the row.
fn stage_parquet(
    tx: &Transaction<'_>,
    file: &Path,
) -> Result<(Vec<&'static Field>, u64), IngestError> {
    stage_named(
        tx,
        file,
        "SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet(?))",
        |n| format!("CAST(\"{n}\" AS VARCHAR)"),
        "read_parquet(?)",
    )
}

/// Stages a file whose reader names the values (NDJSON keys, Parquet columns): `names_sql`
/// lists the names, `text_of` renders one field's text from a row of `reader`. Rows are
/// numbered from 1. Field names are checked against the canonical set before they reach SQL.
fn stage_named(
    tx: &Transaction<'_>,
    file: &Path,
    names_sql: &str,
    text_of: impl Fn(&str) -> String,
    reader: &str,
) -> Result<(Vec<&'static Field>, u64), IngestError> {
    let path = file.display().to_string();
    let mut stmt = tx.prepare(names_sql)?;
    let names: Vec<String> = stmt
        .query_map([&path], |r| r.get(0))
        .map_err(|e| unreadable(file, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| unreadable(file, e))?;
    if names.is_empty() {
        return Err(IngestError::Empty(file.to_path_buf()));
    }
    let fields = canonical_fields(file, &names)?;
    let columns: Vec<String> = fields
        .iter()
        .map(|f| format!("{} AS \"{}\"", text_of(f.name), f.name))
        .collect();
    tx.execute(
        &format!(
            "CREATE TEMP TABLE ingest_raw AS SELECT {} FROM {reader}",
            columns.join(", ")
        ),
        [&path],
    )
    .map_err(|e| unreadable(file, e))?;
    let raw: Vec<String> = fields.iter().map(|f| f.name.to_string()).collect();
    let projection: Vec<(&'static Field, String)> = fields
        .iter()
        .map(|f| (*f, format!("\"{}\"", f.name)))
        .collect();
    let rows = number_and_project(tx, file, &raw, &projection, 1, false)?;
    Ok((fields, rows))
}

/// Stages a file through its source's mapping; returns the canonical fields it produces.
fn stage_mapped(
    tx: &Transaction<'_>,
    file: &Path,
    mapping: &Mapping,
) -> Result<(Vec<&'static Field>, u64), IngestError> {
    let header = read_raw_header(file, mapping)?;
    let position = |column: &str| -> Result<usize, IngestError> {
        header.iter().position(|h| h == column).ok_or_else(|| {
            IngestError::Mapping(mapping::MappingError {
                file: mapping.file.clone(),
                line: mapping.column_lines.get(column).copied().unwrap_or(1),
                problem: format!(
                    "column {column:?} is not in the header of {} (it has: {})",
                    file.display(),
                    header.join(", ")
                ),
            })
        })
    };
    if let Some(zone) = &mapping.time_zone {
        let known: i64 = tx.query_row(
            "SELECT count(*) FROM pg_timezone_names() WHERE name = ?",
            [zone],
            |r| r.get(0),
        )?;
        if known == 0 {
            return Err(IngestError::Mapping(mapping::MappingError {
                file: mapping.file.clone(),
                line: 1,
                problem: format!("unknown time zone {zone:?}"),
            }));
        }
    }
    // Constants and value maps are data: bound into temporary tables, never spliced into SQL.
    tx.execute_batch(
        "CREATE TEMP TABLE ingest_constants (field VARCHAR, value VARCHAR);
         CREATE TEMP TABLE ingest_value_map (field VARCHAR, source_value VARCHAR, target VARCHAR);",
    )?;
    for (field, source) in &mapping.fields {
        if let mapping::Source::Constant(value) = source {
            tx.execute(
                "INSERT INTO ingest_constants VALUES (?, ?)",
                params![field.name, value],
            )?;
        }
    }
    for (field, map) in &mapping.values {
        for (from, to) in map {
            tx.execute(
                "INSERT INTO ingest_value_map VALUES (?, ?, ?)",
                params![field, from, to],
            )?;
        }
    }
    let mut projection = Vec::with_capacity(mapping.fields.len());
    for (field, source) in &mapping.fields {
        let raw = match source {
            mapping::Source::Columns(columns) => {
                let parts = columns
                    .iter()
                    .map(|c| Ok(format!("trim(r{})", position(c)?)))
                    .collect::<Result<Vec<_>, IngestError>>()?;
                if parts.len() == 1 {
                    parts[0].clone()
                } else {
                    format!("concat_ws(':', {})", parts.join(", "))
                }
            }
            mapping::Source::Constant(_) => format!(
                "(SELECT value FROM ingest_constants WHERE field = '{}')",
                field.name
            ),
        };
        projection.push((*field, convert_mapped(field, raw, mapping)));
    }
    let reader = Reader {
        delimiter: mapping.delimiter,
        quote: mapping.quote,
        encoding: mapping.encoding,
        skip_rows: mapping.skip_rows,
    };
    let rows = stage(tx, file, &reader, header.len(), &projection)?;
    tx.execute_batch("DROP TABLE ingest_constants; DROP TABLE ingest_value_map;")?;
    Ok((mapping.fields.iter().map(|(f, _)| *f).collect(), rows))
}

/// The mapped value of `field` as canonical text: value map, then separators and formats.
fn convert_mapped(field: &Field, raw: String, mapping: &Mapping) -> String {
    let mut expr = raw;
    if mapping.values.contains_key(field.name) {
        expr = format!(
            "coalesce((SELECT m.target FROM ingest_value_map m WHERE m.field = '{}' \
             AND m.source_value = {expr}), {expr})",
            field.name
        );
    }
    match field.kind {
        Kind::Money => {
            if let Some(t) = mapping.thousands {
                expr = format!("replace({expr}, {}, '')", char_literal(t));
            }
            if mapping.decimal != '.' {
                expr = format!("replace({expr}, {}, '.')", char_literal(mapping.decimal));
            }
        }
        Kind::Timestamp if !mapping.timestamp_formats.is_empty() => {
            {
                // The formats and zone passed the mapping's strict alphabets (no quotes); the
                // first format that parses wins.
                let tries: Vec<String> = mapping
                    .timestamp_formats
                    .iter()
                    .map(|format| format!("try_strptime({expr}, '{format}')"))
                    .collect();
                let parsed = format!("coalesce({})", tries.join(", "));
                let text = match &mapping.time_zone {
                    Some(zone) => format!("CAST(timezone('{zone}', {parsed}) AS VARCHAR)"),
                    None => format!("strftime({parsed}, '%Y-%m-%dT%H:%M:%S')"),
                };
                expr = format!("coalesce({text}, {expr})");
            }
        }
        _ => {}
    }
    expr
}

/// The header of a mapped file: after `skip_rows` lines, split on the delimiter.
fn read_raw_header(file: &Path, mapping: &Mapping) -> Result<Vec<String>, IngestError> {
    use std::io::BufRead;
    let io = |source| IngestError::Io {
        file: file.to_path_buf(),
        source,
    };
    let reader = open_text(file).map_err(io)?;
    let mut lines = std::io::BufReader::new(reader.take(MAX_HEADER * 16)).split(b'\n');
    for _ in 0..mapping.skip_rows {
        lines.next().transpose().map_err(io)?;
    }
    let bytes = lines.next().transpose().map_err(io)?.unwrap_or_default();
    let text = match mapping.encoding {
        Encoding::Latin1 => bytes.iter().map(|b| char::from(*b)).collect(),
        Encoding::Utf8 => String::from_utf8(bytes).map_err(|_| IngestError::Header {
            file: file.to_path_buf(),
            problem: "the header is not UTF-8; set encoding = \"latin1\" in the mapping".into(),
        })?,
    };
    Ok(text
        .trim_start_matches('\u{feff}')
        .trim_end_matches(['\r', '\n'])
        .split(mapping.delimiter)
        .map(|h| h.trim().trim_matches(mapping.quote).trim().to_string())
        .collect())
}

/// The rows whose event_id appeared on an earlier line of the file.
fn duplicate_check() -> String {
    "SELECT __line, 'event_id', 'duplicate event_id in this file (first on line ' ||
            first_line || ')', event_id
     FROM (SELECT __line, trim(event_id) AS event_id,
                  min(__line) OVER (PARTITION BY trim(event_id)) AS first_line
           FROM ingest_rows WHERE nullif(trim(event_id), '') IS NOT NULL)
     WHERE __line > first_line"
        .to_string()
}

/// Finds every reject of the staged rows and keeps them in `ingest_rejects`; returns the
/// total and the first [`SHOWN_REJECTS`] in line order.
fn find_rejects(
    tx: &Transaction<'_>,
    source: &str,
    fields: &[&'static Field],
) -> Result<(u64, Vec<Reject>), IngestError> {
    let mut checks: Vec<String> = Vec::new();
    for field in fields {
        let per_value = format!(
            "(SELECT __line, nullif(trim(\"{}\"), '') AS v FROM ingest_rows)",
            field.name
        );
        for (cond, reason) in field.checks() {
            checks.push(format!(
                "SELECT __line AS line, '{}' AS col, '{}' AS reason, v AS value FROM {per_value} \
                 WHERE {cond}",
                field.name,
                reason.replace('\'', "''")
            ));
        }
    }
    let has = |name: &str| fields.iter().any(|f| f.name == name);
    // Parameters are bound in order of appearance; the source check is the only one that
    // takes one.
    let mut bound_source = false;
    if has("source") {
        checks.push(
            "SELECT __line, 'source', 'does not match the source being loaded', \"source\"
             FROM ingest_rows WHERE nullif(trim(\"source\"), '') IS DISTINCT FROM ?"
                .to_string(),
        );
        bound_source = true;
    }
    // The duplicate check sorts the whole file by id; a grouping (parallel, no sort) says
    // first whether there is any duplicate at all.
    let duplicates: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM ingest_rows WHERE nullif(trim(event_id), '') IS NOT NULL
                        GROUP BY trim(event_id) HAVING count(*) > 1)",
        [],
        |r| r.get(0),
    )?;
    if duplicates {
        checks.push(duplicate_check());
    }
    if has("currency") && has("amount") {
        // One reporting currency per instance (the `currency` setting): an amount in another
        // one would be added to the totals as if it were the same money.
        checks.push(
            "SELECT __line, 'currency', 'amounts must be in the instance''s currency, ' ||
                    (SELECT coalesce(max(value), 'EUR') FROM settings WHERE key = 'currency') ||
                    ' (convert them before loading)', currency
             FROM ingest_rows
             WHERE nullif(trim(amount), '') IS NOT NULL AND nullif(trim(currency), '') IS NOT NULL
               AND upper(trim(currency)) <> (SELECT coalesce(max(value), 'EUR') FROM settings
                                             WHERE key = 'currency')"
                .to_string(),
        );
    }
    if has("score") {
        let scale = if has("score_scale") {
            "lower(nullif(trim(score_scale), ''))"
        } else {
            "NULL"
        };
        checks.push(format!(
            "SELECT __line, 'score', CASE WHEN scale IS NULL THEN 'a score needs a score_scale \
                    (nps or csat)' WHEN scale = 'nps' THEN 'an NPS score is 0 to 10'
                    ELSE 'a CSAT score is 1 to 5' END, score
             FROM (SELECT __line, trim(score) AS score, {scale} AS scale,
                          try_cast(trim(score) AS SMALLINT) AS s FROM ingest_rows
                   WHERE nullif(trim(score), '') IS NOT NULL)
             WHERE s IS NOT NULL AND (scale IS NULL OR (scale = 'nps' AND s NOT BETWEEN 0 AND 10)
                   OR (scale = 'csat' AND s NOT BETWEEN 1 AND 5))"
        ));
    }
    let all = checks.join("\nUNION ALL\n");
    let source_param: Vec<&dyn duckdb::ToSql> = if bound_source {
        vec![&source]
    } else {
        Vec::new()
    };
    tx.execute(
        &format!("CREATE TEMP TABLE ingest_rejects AS SELECT * FROM ({all})"),
        source_param.as_slice(),
    )?;
    let total: i64 = tx.query_row("SELECT count(*) FROM ingest_rejects", [], |r| r.get(0))?;
    let mut stmt = tx.prepare(&format!(
        "SELECT line, col, reason,
                CASE WHEN length(value) > {SHOWN_VALUE} THEN left(value, {SHOWN_VALUE}) || '...'
                     ELSE value END
         FROM ingest_rejects ORDER BY line, col LIMIT {SHOWN_REJECTS}"
    ))?;
    let rejects = stmt
        .query_map([], |r| {
            Ok(Reject {
                line: r.get::<_, i64>(0)? as u64,
                column: r.get(1)?,
                reason: r.get(2)?,
                value: r.get(3)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((total as u64, rejects))
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

    #[test]
    fn reject_lists_show_twenty_and_count_the_rest() {
        let rejects: Vec<Reject> = (0..25)
            .map(|i| Reject {
                line: i + 2,
                column: "amount".into(),
                reason: "not a number".into(),
                value: Some("x".into()),
            })
            .collect();
        let text = RejectList {
            file: Path::new("f.csv"),
            total: 25,
            rejects: &rejects,
        }
        .to_string();
        assert!(text.starts_with("f.csv:2: column amount: not a number (value \"x\")"));
        assert_eq!(text.lines().count(), SHOWN_REJECTS + 1);
        assert!(text.ends_with("25 invalid values; nothing was loaded"));
    }
}
