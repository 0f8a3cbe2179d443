//! `POST /api/v1/events`: canonical events sent as NDJSON with an API token. This handler
//! refuses a request of the wrong form (content type or encoding, query, a body too large, no
//! source) and hands the body to [`ingest::events::load_events`], which checks, spools and
//! loads it; its [`EventsError`] becomes the answer through the one `From` below.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Serialize;

use crate::error::AppError;
use crate::server::auth::RequestAuth;
use crate::server::ingest::events::{self as ingest_events, EventsError, MAX_BODY};
use crate::server::state::AppState;

use super::{ApiError, ErrorBody};

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
) -> Result<Json<IngestResponse>, ApiError> {
    // Every refusal of the request's form is JSON like the others, before the body is read.
    if let Some(problem) = unaccepted_body(&headers) {
        return Err(ApiError::Refused(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            problem,
        ));
    }
    let Ok(Query(query)) = query else {
        return Err(ApiError::Refused(
            StatusCode::BAD_REQUEST,
            "unknown parameter in the query string; the only one is source".into(),
        ));
    };
    let body = match body {
        Ok(body) => body,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(ApiError::Refused(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the body is larger than {} MB; send the events in smaller batches",
                    MAX_BODY / (1024 * 1024)
                ),
            ));
        }
        Err(e) => {
            return Err(ApiError::Refused(
                e.status(),
                "the body could not be read".into(),
            ));
        }
    };
    // The gate has checked the Ingest right; the default source is the token's name.
    let default_source = auth
        .principal
        .as_ref()
        .and_then(|p| p.label.strip_prefix("token:"))
        .map(str::to_string);
    let Some(source) = query.source.clone().or(default_source) else {
        return Err(ApiError::Refused(
            StatusCode::BAD_REQUEST,
            "name the source: POST /api/v1/events?source=NAME".into(),
        ));
    };
    let loaded = ingest_events::load_events(&state.db, &source, &body).await?;
    Ok(Json(IngestResponse {
        source,
        received: loaded.received,
        loaded: loaded.loaded,
        duplicate: loaded.duplicate,
    }))
}

/// The answer to each way a body of events is not loaded: what is wrong with the body is the
/// sender's to fix (400, 413, 422 with the rejects); a failure on the server is logged and
/// answered as a plain 500.
impl From<EventsError> for ApiError {
    fn from(err: EventsError) -> Self {
        let message = err.to_string();
        match err {
            EventsError::NotUtf8 | EventsError::NoEvents => {
                ApiError::Refused(StatusCode::BAD_REQUEST, message)
            }
            EventsError::TooMany(_) => ApiError::Refused(StatusCode::PAYLOAD_TOO_LARGE, message),
            EventsError::Unloadable(message) => {
                ApiError::Refused(StatusCode::UNPROCESSABLE_ENTITY, message)
            }
            EventsError::Rejected { rejects, total } => ApiError::Rejected(RejectedBody {
                error: message,
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
            EventsError::Spool(_) | EventsError::Load(_) | EventsError::Task(_) => {
                tracing::error!(error = %message, "event ingestion failed");
                ApiError::App(AppError::Internal)
            }
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
