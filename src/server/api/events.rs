//! `POST /api/v1/events`: canonical events sent as NDJSON with an API token, loaded in one
//! transaction through [`crate::server::ingest`]. This handler checks the request's form
//! (content type and encoding, query, the source's name); reading the body into a load and
//! its errors belong to ingest.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::AppError;
use crate::server::auth::RequestAuth;
use crate::server::ingest;
use crate::server::state::AppState;

use super::ErrorBody;

/// Events one `POST /events` may carry, and its largest body.
pub const MAX_EVENTS: usize = 10_000;
pub const MAX_BODY: usize = 10 * 1024 * 1024;

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// The source the events come from; the token's name when absent.
    pub source: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IngestResponse {
    pub source: String,
    pub received: u64,
    pub loaded: u64,
    /// Events whose (source, event_id) was already loaded: re-sending a batch is safe.
    pub duplicate: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RejectBody {
    /// The line of the request body (1 = first).
    pub line: u64,
    pub column: String,
    pub reason: String,
    pub value: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RejectedBody {
    pub error: String,
    /// The first rejects in line order (at most 20).
    pub rejects: Vec<RejectBody>,
    pub total: u64,
}

/// `POST /api/v1/events[?source=NAME]`: canonical events as NDJSON (one JSON object a line),
/// authenticated with `Authorization: Bearer <token>` (`omnikpi token create`). One
/// transaction per request: every event goes in, or none does. They count in every KPI as
/// soon as this answers.
#[utoipa::path(post, path = "/events", tag = "ingest",
    params(("source" = Option<String>, Query, description = "Source name (default: the token's name)")),
    request_body(content = String, content_type = "application/x-ndjson",
        description = "One canonical event per line, at most 10,000 lines and 10 MB"),
    responses(
        (status = 200, body = IngestResponse),
        (status = 400, body = ErrorBody, description = "Not UTF-8, empty, or not NDJSON"),
        (status = 401, body = ErrorBody, description = "Missing, unknown or revoked token"),
        (status = 403, body = ErrorBody, description = "The token's role may not send events"),
        (status = 413, body = ErrorBody, description = "More than 10,000 events or 10 MB"),
        (status = 415, body = ErrorBody, description = "A content type other than NDJSON, or a compressed body"),
        (status = 422, body = RejectedBody, description = "Some events are invalid; none was loaded"),
    ),
    security(("bearer" = [])))]
pub(super) async fn ingest_events(
    State(state): State<AppState>,
    query: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
    axum::Extension(auth): axum::Extension<RequestAuth>,
    headers: axum::http::HeaderMap,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let error = |status: StatusCode, message: String| {
        (status, Json(ErrorBody { error: message })).into_response()
    };
    // Every refusal of the request's form is JSON like the others, before the body is read.
    if let Some(problem) = unaccepted_body(&headers) {
        return error(StatusCode::UNSUPPORTED_MEDIA_TYPE, problem);
    }
    let Ok(Query(query)) = query else {
        return error(
            StatusCode::BAD_REQUEST,
            "unknown parameter in the query string; the only one is source".into(),
        );
    };
    let body = match body {
        Ok(body) => body,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the body is larger than {} MB; send the events in smaller batches",
                    MAX_BODY / (1024 * 1024)
                ),
            );
        }
        Err(e) => return error(e.status(), "the body could not be read".into()),
    };
    // The gate has checked the Ingest right; the default source is the token's name.
    let default_source = auth
        .principal
        .as_ref()
        .and_then(|p| p.label.strip_prefix("token:"))
        .map(str::to_string);
    let Some(name) = query.source.clone().or(default_source) else {
        return error(
            StatusCode::BAD_REQUEST,
            "name the source: POST /api/v1/events?source=NAME".into(),
        );
    };
    let Ok(text) = std::str::from_utf8(&body) else {
        return error(StatusCode::BAD_REQUEST, "the body is not UTF-8".into());
    };
    let received = text.lines().filter(|l| !l.trim().is_empty()).count();
    if received == 0 {
        return error(StatusCode::BAD_REQUEST, "the body holds no events".into());
    }
    if received > MAX_EVENTS {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("{received} events; at most {MAX_EVENTS} per request"),
        );
    }
    let source = name;
    let mut bytes = [0u8; 8];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    let suffix: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let file = std::env::temp_dir().join(format!("omnikpi-events-{suffix}.ndjson"));
    if let Err(e) = tokio::fs::write(&file, &body).await {
        tracing::error!(error = %e, "cannot spool the request body");
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            AppError::Internal.to_string(),
        );
    }
    let db = state.db.clone();
    let (load_source, load_file) = (source.clone(), file.clone());
    let result = tokio::task::spawn_blocking(move || {
        let options = ingest::LoadOptions {
            force: true,
            ..Default::default()
        };
        ingest::load_files(&db, &load_source, &[load_file], &options)
    })
    .await;
    let _ = tokio::fs::remove_file(&file).await;
    match result {
        Ok(Ok(report)) => {
            let f = report.files.first();
            Json(IngestResponse {
                source,
                received: received as u64,
                loaded: f.map_or(0, |f| f.rows_loaded),
                duplicate: f.map_or(0, |f| f.rows_duplicate),
            })
            .into_response()
        }
        Ok(Err(ingest::IngestError::Rejected { rejects, total, .. })) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(RejectedBody {
                error: format!("{total} invalid values; nothing was loaded"),
                rejects: rejects
                    .into_iter()
                    .map(|r| RejectBody {
                        line: r.line,
                        column: r.column,
                        reason: r.reason,
                        value: r.value,
                    })
                    .collect(),
                total,
            }),
        )
            .into_response(),
        Ok(Err(
            e @ (ingest::IngestError::Header { .. }
            | ingest::IngestError::BadSource(_)
            | ingest::IngestError::Unreadable { .. }
            | ingest::IngestError::BadLine { .. }
            | ingest::IngestError::Empty(_)
            | ingest::IngestError::HeaderOnly(_)),
        )) => {
            // The spooled file's name means nothing to the caller.
            let message = e.to_string().replace(&file.display().to_string(), "body");
            error(StatusCode::UNPROCESSABLE_ENTITY, message)
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "event ingestion failed");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                AppError::Internal.to_string(),
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "event ingestion task failed");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                AppError::Internal.to_string(),
            )
        }
    }
}

/// Media types a `POST /events` body may be declared as (or none at all).
const NDJSON_TYPES: &[&str] = &[
    "application/x-ndjson",
    "application/ndjson",
    "application/jsonl",
    "application/x-jsonlines",
    "application/json",
    "text/plain",
];

/// Why the body's declared form is refused: a content type that is not NDJSON, or any content
/// encoding (bodies are never decompressed, so a gzip bomb cannot expand on the server).
fn unaccepted_body(headers: &axum::http::HeaderMap) -> Option<String> {
    if let Some(encoding) = headers.get(axum::http::header::CONTENT_ENCODING) {
        let encoding = encoding.to_str().unwrap_or("?").trim();
        if !encoding.eq_ignore_ascii_case("identity") {
            return Some(format!(
                "Content-Encoding {encoding} is not accepted; send the events uncompressed"
            ));
        }
    }
    let declared = headers
        .get(axum::http::header::CONTENT_TYPE)?
        .to_str()
        .unwrap_or("?")
        .trim();
    let essence = declared
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    (!NDJSON_TYPES.contains(&essence.as_str())).then(|| {
        format!(
            "Content-Type {declared} is not accepted; send application/x-ndjson \
             (one JSON object a line)"
        )
    })
}
