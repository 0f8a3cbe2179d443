//! Operations: readiness, Prometheus metrics, request ids and the JSON log format.
//!
//! The metrics exposition is written by hand rather than with the `metrics` and
//! `metrics-exporter-prometheus` crates: what we expose is a handful of counters and one
//! histogram, the text format is a few lines, and the load figures come straight from the
//! `loads` table at scrape time (so they survive restarts and count loads from the command
//! line too), which an in-process recorder would not see. No new dependency, no global
//! recorder shared between the tests' routers.
//!
//! Policy: `/healthz` and `/readyz` are public; `/metrics` needs an administrator (a signed-in
//! admin or `Authorization: Bearer` with a token of role admin, `omnikpi token create --role
//! admin`), because route names and volumes tell an outsider about the instance.

pub mod backup;
pub mod fault;
pub mod lake;
pub mod laps;
pub mod logs;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::db::{DbError, migrate};
use super::state::AppState;

/// Upper bounds (seconds) of the request latency histogram's buckets.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0,
];

/// Request counters and latency histograms, by method, route pattern and status.
#[derive(Default)]
pub struct Metrics {
    series: Mutex<BTreeMap<(String, String, u16), Series>>,
}

#[derive(Clone, Default)]
struct Series {
    count: u64,
    sum_seconds: f64,
    /// Cumulative counts per bucket of [`LATENCY_BUCKETS`].
    buckets: Vec<u64>,
}

impl Metrics {
    /// Counts one answered request.
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut series = self
            .series
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = series
            .entry((method.to_string(), route.to_string(), status))
            .or_insert_with(|| Series {
                buckets: vec![0; LATENCY_BUCKETS.len()],
                ..Series::default()
            });
        entry.count += 1;
        entry.sum_seconds += seconds;
        for (bound, bucket) in LATENCY_BUCKETS.iter().zip(entry.buckets.iter_mut()) {
            if seconds <= *bound {
                *bucket += 1;
            }
        }
    }

    fn snapshot(&self) -> Vec<((String, String, u16), Series)> {
        self.series
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// Middleware: counts every request under its route pattern (never the raw path, so the
/// number of series stays bounded); paths no route matched count as `unmatched`.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let response = next.run(req).await;
    state.metrics.observe(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// What readiness found.
#[derive(Debug, PartialEq, Eq)]
pub enum Readiness {
    Ready { version: i64 },
    Behind { found: i64, latest: i64 },
}

/// `/readyz`: 200 when the database answers and its schema is at the latest version this
/// binary knows, 503 otherwise (with the reason).
pub async fn readyz(State(state): State<AppState>) -> Response {
    let checked = state
        .db
        .run(|conn| -> Result<Readiness, DbError> {
            let found = migrate::current_version(conn)?;
            let latest = migrate::latest();
            Ok(if found == latest {
                Readiness::Ready { version: found }
            } else {
                Readiness::Behind { found, latest }
            })
        })
        .await;
    match checked {
        Ok(Readiness::Ready { version }) => (
            StatusCode::OK,
            format!("ready (schema version {version})\n"),
        )
            .into_response(),
        Ok(Readiness::Behind { found, latest }) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("schema version {found}, expected {latest}: run omnikpi migrate\n"),
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "database unavailable\n".to_string(),
            )
                .into_response()
        }
    }
}

/// Load figures read from the `loads` table, and DuckDB's memory.
#[derive(Debug, Default)]
struct LoadFigures {
    by_status: Vec<(String, i64)>,
    rows_loaded: i64,
    rows_rejected: i64,
    rows_duplicate: i64,
    /// `duckdb_memory()`, per tag.
    memory: Vec<TagMemory>,
}

/// What DuckDB's buffer manager holds for one tag (base tables, hash tables, indexes, ...).
#[derive(Debug)]
struct TagMemory {
    tag: String,
    /// Bytes in memory.
    memory: i64,
    /// Bytes in temporary files.
    temporary: i64,
}

/// `/metrics`: the Prometheus text exposition format (version 0.0.4).
pub async fn metrics(State(state): State<AppState>) -> Response {
    let figures = state
        .db
        .run(|conn| -> Result<LoadFigures, DbError> {
            let mut stmt =
                conn.prepare("SELECT status, count(*) FROM loads GROUP BY status ORDER BY status")?;
            let by_status = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            let (rows_loaded, rows_rejected, rows_duplicate) = conn.query_row(
                "SELECT coalesce(sum(rows_loaded), 0)::BIGINT,
                        coalesce(sum(rows_rejected), 0)::BIGINT,
                        coalesce(sum(rows_duplicate), 0)::BIGINT
                 FROM loads WHERE status = 'ok'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            let mut stmt = conn.prepare(
                "SELECT tag, memory_usage_bytes, temporary_storage_bytes FROM duckdb_memory()
                 ORDER BY tag",
            )?;
            let memory = stmt
                .query_map([], |r| {
                    Ok(TagMemory {
                        tag: r.get(0)?,
                        memory: r.get(1)?,
                        temporary: r.get(2)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(LoadFigures {
                by_status,
                rows_loaded,
                rows_rejected,
                rows_duplicate,
                memory,
            })
        })
        .await;
    let figures = match figures {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(error = %e, "reading load figures for /metrics failed");
            return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response();
        }
    };
    let size = state.db.path().map(database_size);
    let text = exposition(&state.metrics, &figures, size, &state.pages);
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}

/// The database file plus its write-ahead log, in bytes.
pub fn database_size(path: &std::path::Path) -> u64 {
    let wal = {
        let mut p = path.as_os_str().to_owned();
        p.push(".wal");
        std::path::PathBuf::from(p)
    };
    [path.to_path_buf(), wal]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

fn exposition(
    metrics: &Metrics,
    loads: &LoadFigures,
    db_size: Option<u64>,
    pages: &super::page_cache::PageCache,
) -> String {
    let mut out = String::new();
    let snapshot = metrics.snapshot();
    out.push_str(
        "# HELP omnikpi_http_requests_total HTTP requests answered, by route pattern and status.\n",
    );
    out.push_str("# TYPE omnikpi_http_requests_total counter\n");
    for ((method, route, status), s) in &snapshot {
        let _ = writeln!(
            out,
            "omnikpi_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {}",
            label(method),
            label(route),
            s.count
        );
    }
    out.push_str(
        "# HELP omnikpi_http_request_duration_seconds Time to answer a request, by route pattern.\n",
    );
    out.push_str("# TYPE omnikpi_http_request_duration_seconds histogram\n");
    // The histogram is by method and route (status would multiply the series for little use).
    let mut by_route: BTreeMap<(String, String), Series> = BTreeMap::new();
    for ((method, route, _), s) in snapshot {
        let entry = by_route.entry((method, route)).or_insert_with(|| Series {
            buckets: vec![0; LATENCY_BUCKETS.len()],
            ..Series::default()
        });
        entry.count += s.count;
        entry.sum_seconds += s.sum_seconds;
        for (a, b) in entry.buckets.iter_mut().zip(&s.buckets) {
            *a += b;
        }
    }
    for ((method, route), s) in &by_route {
        let labels = format!("method=\"{}\",route=\"{}\"", label(method), label(route));
        for (bound, count) in LATENCY_BUCKETS.iter().zip(&s.buckets) {
            let _ = writeln!(
                out,
                "omnikpi_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "omnikpi_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
            s.count
        );
        let _ = writeln!(
            out,
            "omnikpi_http_request_duration_seconds_sum{{{labels}}} {}",
            s.sum_seconds
        );
        let _ = writeln!(
            out,
            "omnikpi_http_request_duration_seconds_count{{{labels}}} {}",
            s.count
        );
    }
    out.push_str("# HELP omnikpi_loads Loads recorded in the database, by status (one per file loaded, one per failed or interrupted attempt).\n");
    out.push_str("# TYPE omnikpi_loads gauge\n");
    for (status, n) in &loads.by_status {
        let _ = writeln!(out, "omnikpi_loads{{status=\"{}\"}} {n}", label(status));
    }
    out.push_str("# HELP omnikpi_rows_loaded Rows added to events by successful loads.\n");
    out.push_str("# TYPE omnikpi_rows_loaded gauge\n");
    let _ = writeln!(out, "omnikpi_rows_loaded {}", loads.rows_loaded);
    out.push_str("# HELP omnikpi_rows_rejected Bad rows left out of successful loads (under --max-rejects).\n");
    out.push_str("# TYPE omnikpi_rows_rejected gauge\n");
    let _ = writeln!(out, "omnikpi_rows_rejected {}", loads.rows_rejected);
    out.push_str(
        "# HELP omnikpi_rows_duplicate Rows skipped by successful loads as already loaded.\n",
    );
    out.push_str("# TYPE omnikpi_rows_duplicate gauge\n");
    let _ = writeln!(out, "omnikpi_rows_duplicate {}", loads.rows_duplicate);
    if let Some(size) = db_size {
        out.push_str(
            "# HELP omnikpi_database_size_bytes The DuckDB file plus its write-ahead log.\n",
        );
        out.push_str("# TYPE omnikpi_database_size_bytes gauge\n");
        let _ = writeln!(out, "omnikpi_database_size_bytes {size}");
    }
    if let Some(bytes) = resident_bytes() {
        out.push_str("# HELP process_resident_memory_bytes Resident memory of the server.\n");
        out.push_str("# TYPE process_resident_memory_bytes gauge\n");
        let _ = writeln!(out, "process_resident_memory_bytes {bytes}");
    }
    // Beside the resident memory: what DuckDB's buffer manager accounts for, by what holds
    // it. The rest of DuckDB's share is its allocator's, which only the resident memory shows.
    tag_gauge(
        &mut out,
        (
            "omnikpi_duckdb_memory_bytes",
            "Memory DuckDB's buffer manager holds, by tag.",
        ),
        &loads.memory,
        |m| m.memory,
    );
    tag_gauge(
        &mut out,
        (
            "omnikpi_duckdb_temporary_bytes",
            "Temporary file space DuckDB uses, by tag.",
        ),
        &loads.memory,
        |m| m.temporary,
    );
    let counts = pages.counts();
    out.push_str("# HELP omnikpi_page_cache_answers_total View pages answered from the rendered pages kept, or rendered.\n");
    out.push_str("# TYPE omnikpi_page_cache_answers_total counter\n");
    let _ = writeln!(
        out,
        "omnikpi_page_cache_answers_total{{from=\"kept\"}} {}",
        counts.kept
    );
    let _ = writeln!(
        out,
        "omnikpi_page_cache_answers_total{{from=\"rendered\"}} {}",
        counts.rendered
    );
    out.push_str("# HELP omnikpi_page_cache_pages Rendered view pages kept, and their bytes.\n");
    out.push_str("# TYPE omnikpi_page_cache_pages gauge\n");
    let _ = writeln!(out, "omnikpi_page_cache_pages {}", counts.pages);
    let _ = writeln!(out, "omnikpi_page_cache_bytes {}", counts.bytes);
    out
}

/// One gauge per DuckDB memory tag: `bytes` picks the figure.
fn tag_gauge(
    out: &mut String,
    (name, help): (&str, &str),
    memory: &[TagMemory],
    bytes: impl Fn(&TagMemory) -> i64,
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
    for m in memory {
        let _ = writeln!(out, "{name}{{tag=\"{}\"}} {}", label(&m.tag), bytes(m));
    }
}

/// The process's resident memory, from `VmRSS` of `/proc/self/status` (Linux; `None`
/// elsewhere).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let kib: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kib * 1024)
}

/// A label value with `\`, `"` and new lines escaped as the text format requires.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The body of `POST /ops/backup`.
#[derive(serde::Deserialize)]
pub struct BackupRequest {
    /// A new or empty folder on the server's machine, as an absolute path.
    pub dir: String,
}

/// `POST /ops/backup` (admin): a consistent backup taken by the running server, which holds
/// the database file (`omnikpi backup DIR --url ...` calls this).
pub async fn backup(
    State(state): State<AppState>,
    axum::Json(request): axum::Json<BackupRequest>,
) -> Response {
    let dir = std::path::PathBuf::from(&request.dir);
    if !dir.is_absolute() {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(serde_json::json!({"error": "give the backup folder as an absolute path"})),
        )
            .into_response();
    }
    let db = state.db.clone();
    let done = tokio::task::spawn_blocking(move || backup::backup(&db, &dir)).await;
    match done {
        Ok(Ok(summary)) => {
            tracing::info!(dir = %summary.dir.display(), events = summary.events, "backup taken");
            axum::Json(serde_json::json!({
                "dir": summary.dir.display().to_string(),
                "schema_version": summary.schema_version,
                "events": summary.events,
            }))
            .into_response()
        }
        Ok(Err(e @ (backup::BackupError::TargetNotEmpty(_) | backup::BackupError::Io { .. }))) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(serde_json::json!({"error": e.to_string()})),
        )
            .into_response(),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "backup failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                axum::Json(serde_json::json!({"error": format!("the backup failed: {e}")})),
            )
                .into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "backup task failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                axum::Json(serde_json::json!({"error": "the backup failed"})),
            )
                .into_response()
        }
    }
}

/// Request ids: 16 random bytes in hex, for requests that come without an `x-request-id`.
#[derive(Clone, Copy, Default)]
pub struct MakeRequestId;

impl tower_http::request_id::MakeRequestId for MakeRequestId {
    fn make_request_id<B>(
        &mut self,
        _request: &axum::http::Request<B>,
    ) -> Option<tower_http::request_id::RequestId> {
        let mut bytes = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes);
        let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        HeaderValue::from_str(&id)
            .ok()
            .map(tower_http::request_id::RequestId::new)
    }
}

/// The span every request's log lines are recorded in: method, path (without the query,
/// which may hold personal filters) and the request id.
pub fn request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.uri().path(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::default();
        m.observe("GET", "/a", 200, 0.003);
        m.observe("GET", "/a", 200, 0.2);
        m.observe("GET", "/a", 500, 200.0);
        let pages = crate::server::page_cache::PageCache::default();
        let text = exposition(&m, &LoadFigures::default(), Some(42), &pages);
        assert!(text.contains(
            "omnikpi_http_requests_total{method=\"GET\",route=\"/a\",status=\"200\"} 2\n"
        ));
        assert!(text.contains(
            "omnikpi_http_requests_total{method=\"GET\",route=\"/a\",status=\"500\"} 1\n"
        ));
        let bucket = |le: &str| {
            format!(
                "omnikpi_http_request_duration_seconds_bucket{{method=\"GET\",route=\"/a\",le=\"{le}\"}} "
            )
        };
        assert!(text.contains(&format!("{}1\n", bucket("0.005"))), "{text}");
        assert!(text.contains(&format!("{}1\n", bucket("0.1"))));
        assert!(text.contains(&format!("{}2\n", bucket("0.25"))));
        assert!(text.contains(&format!("{}2\n", bucket("120"))));
        assert!(text.contains(&format!("{}3\n", bucket("+Inf"))));
        assert!(text.contains("omnikpi_database_size_bytes 42\n"));
        assert!(text.contains("omnikpi_page_cache_answers_total{from=\"kept\"} 0\n"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
