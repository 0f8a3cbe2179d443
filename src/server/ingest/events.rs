//! Events sent over HTTP (the API's `POST /events`): a body of canonical NDJSON is checked
//! (UTF-8, how many events), spooled to a temporary file and loaded like any canonical file,
//! in one transaction. The HTTP side (content type, token, query) stays in the API; what can
//! go wrong from here on is [`EventsError`], which the API turns into its answer.

use std::path::{Path, PathBuf};

use super::{IngestError, LoadOptions, Reject};
use crate::server::db::Db;

/// Events one request may carry.
pub const MAX_EVENTS: usize = 10_000;
/// The largest body a request may send.
pub const MAX_BODY: usize = 10 * 1024 * 1024;

/// What a body of events did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventsLoaded {
    /// Non-blank lines of the body.
    pub received: u64,
    pub loaded: u64,
    /// Events whose (source, event_id) was already loaded.
    pub duplicate: u64,
}

/// Why a body of events was not loaded.
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    #[error("the body is not UTF-8")]
    NotUtf8,
    #[error("the body holds no events")]
    NoEvents,
    #[error("{0} events; at most {MAX_EVENTS} per request")]
    TooMany(usize),
    /// Some values are invalid; nothing was loaded. `rejects` are the first, in line order.
    #[error("{total} invalid values; nothing was loaded")]
    Rejected { rejects: Vec<Reject>, total: u64 },
    /// The body cannot be loaded as sent (a bad source name, a line that is not an object, an
    /// unknown key...); the message names the body, not the spooled file.
    #[error("{0}")]
    Unloadable(String),
    #[error("cannot spool the request body: {0}")]
    Spool(#[source] std::io::Error),
    #[error("event ingestion failed: {0}")]
    Load(#[source] IngestError),
    #[error("event ingestion task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl EventsError {
    /// The load's error as the sender should read it: what is wrong with the body, or a
    /// failure on the server.
    fn of_load(err: IngestError, spooled: &Path) -> Self {
        match err {
            IngestError::Rejected { rejects, total, .. } => Self::Rejected { rejects, total },
            e @ (IngestError::Header { .. }
            | IngestError::BadSource(_)
            | IngestError::Unreadable { .. }
            | IngestError::BadLine { .. }
            | IngestError::Empty(_)
            | IngestError::HeaderOnly(_)) => {
                // The spooled file's name means nothing to the caller.
                Self::Unloadable(
                    e.to_string()
                        .replace(&spooled.display().to_string(), "body"),
                )
            }
            e => Self::Load(e),
        }
    }
}

/// Loads `body`, canonical events as NDJSON, for `source`: every event goes in, or none does.
/// An event already loaded for the source counts as a duplicate, so sending a batch again is
/// safe. The body is spooled to a temporary file that is removed whatever happens.
pub async fn load_events(db: &Db, source: &str, body: &[u8]) -> Result<EventsLoaded, EventsError> {
    let text = std::str::from_utf8(body).map_err(|_| EventsError::NotUtf8)?;
    let received = text.lines().filter(|l| !l.trim().is_empty()).count();
    if received == 0 {
        return Err(EventsError::NoEvents);
    }
    if received > MAX_EVENTS {
        return Err(EventsError::TooMany(received));
    }
    let file = spool_path();
    tokio::fs::write(&file, body)
        .await
        .map_err(EventsError::Spool)?;
    // Readers wait while a batch loads, so that it is not starved by them (Db::ingest_turn).
    let turn = db.ingest_turn().await;
    let db = db.clone();
    let (load_source, load_file) = (source.to_string(), file.clone());
    let result = tokio::task::spawn_blocking(move || {
        let options = LoadOptions {
            force: true,
            ..Default::default()
        };
        super::load_files(&db, &load_source, &[load_file], &options)
    })
    .await;
    drop(turn);
    let _ = tokio::fs::remove_file(&file).await;
    let report = result?.map_err(|e| EventsError::of_load(e, &file))?;
    let f = report.files.first();
    Ok(EventsLoaded {
        received: received as u64,
        loaded: f.map_or(0, |f| f.rows_loaded),
        duplicate: f.map_or(0, |f| f.rows_duplicate),
    })
}

/// A new, random file name in the temporary folder, so that two requests never share one.
fn spool_path() -> PathBuf {
    let mut bytes = [0u8; 8];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    let suffix: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    std::env::temp_dir().join(format!("omnikpi-events-{suffix}.ndjson"))
}
