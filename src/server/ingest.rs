//! Getting data in: a file is read by DuckDB's own CSV reader into a staging table, every row
//! is checked, and what passes goes into `events` in the same transaction as the load record
//! and the identity stitching that follows it.
//!
//! Guarantees: a load is one transaction, so a failure leaves the database as it was; a file
//! with any rejected row loads nothing and the rejects name file, line, column, reason and
//! value; (source, event_id) is unique, so loading the same file twice adds nothing; a file
//! whose checksum was already loaded for the source is skipped unless forced.
//!
//! Here: the module map, the public API (the load functions, re-exported from `load`), what
//! a load reports and the error every part answers with ([`IngestError`]). One job per file:
//! `load` (the transaction and its orchestration, the load records), `stage` (reading a file
//! (CSV, NDJSON, Parquet, or through a [`mapping`]) into the staging tables), `rejects`
//! (checking every staged value), [`events`] (a body of events sent over HTTP), [`canonical`]
//! (the canonical fields and their checks), [`mapping`], [`pseudonym`] and [`sources`].

pub mod canonical;
pub mod events;
mod load;
pub mod mapping;
pub mod pseudonym;
mod rejects;
pub mod sources;
mod stage;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::db::DbError;
use super::identity;
use mapping::Mapping;

pub(crate) use load::check_source_name;
pub use load::{
    load_files, load_files_without_journeys, load_sources_without_journeys, mark_interrupted_loads,
};

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
    /// What the load changed, for the results cache (`None`: not known, all of it stale).
    pub changed: Option<crate::server::db::Changed>,
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
    /// Bringing the rollups up to date with the inserted rows.
    pub rollups: Duration,
}

impl LoadTimings {
    /// Adds `other`'s phases to these.
    pub fn add(&mut self, other: &Self) {
        self.read += other.read;
        self.validate += other.validate;
        self.insert += other.insert;
        self.stitch += other.stitch;
        self.journeys += other.journeys;
        self.rollups += other.rollups;
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

#[cfg(test)]
mod tests {
    use super::*;

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
