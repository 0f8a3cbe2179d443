//! The JSON API under `/api/v1`: typed responses per handler, the same services the pages use,
//! errors as `{"error": "..."}` with the matching status.
//!
//! Query parameters mirror the CLI: `from`, `to` (ISO dates), `kpi` (comma-separated keys),
//! `compare` (`previous` | `last_year`), `grain` (`day` | `week` | `month` | `quarter`),
//! `lang`, and one parameter per filter dimension (`channel=store,web`, `store=MI01`, ...).
//! Any other parameter is refused, so a misspelt filter never returns unfiltered numbers.
//!
//! Here: the routing table and its OpenAPI document (built from the handlers' annotations),
//! the error every handler answers with ([`ApiError`], [`ErrorBody`]) and the KPI parameters
//! several resources share (`Request`). One file per resource, each handler a thin typed
//! adapter over the service that owns the data: `kpis` (report, series, breakdown),
//! `targets`, `benchmarks`, `journeys` (and pain points), `insights` (KPI tree, what
//! changed) and `events` (NDJSON ingestion with a token).

mod benchmarks;
mod events;
mod insights;
mod journeys;
mod kpis;
mod targets;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::AppError;
use crate::i18n::Locale;
use crate::kpi::Grain;

use super::dashboard::DashboardError;
use super::kpi::report::Compare;
use super::kpi::{self as engine, Dimension, Filters, Period};
use super::state::AppState;
use super::view;

pub use super::ingest::events::{MAX_BODY, MAX_EVENTS};

/// The OpenAPI document's frame; the paths come from the handlers' annotations.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "omnikpi API",
        description = "Omnichannel KPIs: the same numbers as the dashboards and the CLI."
    ),
    servers((url = "/api/v1")),
    modifiers(&BearerToken)
)]
struct ApiDoc;

/// Declares the `bearer` scheme the events endpoint requires (an `omnikpi token create` token).
struct BearerToken;

impl utoipa::Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The API routes and their OpenAPI document, built from the same annotated handlers, so a
/// route cannot exist without being documented.
pub fn router_and_openapi() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(kpis::kpis))
        .routes(routes!(kpis::series))
        .routes(routes!(kpis::breakdown))
        .routes(routes!(
            targets::targets,
            targets::set_target,
            targets::delete_target
        ))
        .routes(routes!(benchmarks::benchmarks))
        .routes(routes!(events::ingest_events))
        .routes(routes!(journeys::journeys))
        .routes(routes!(journeys::pain_points))
        .routes(routes!(insights::kpi_tree))
        .routes(routes!(insights::what_changed))
        .split_for_parts()
}

/// The routes under `/api/v1`, with the document at `/api/v1/openapi.json`.
pub fn router() -> Router<AppState> {
    let (router, openapi) = router_and_openapi();
    let document = std::sync::Arc::new(openapi);
    router
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .route(
            "/openapi.json",
            get(move || {
                let document = document.clone();
                async move { Json(document.as_ref().clone()) }
            }),
        )
}

/// The body of every error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: String,
}

/// The parameters common to every KPI endpoint, parsed and validated.
struct Request {
    from: Option<String>,
    to: Option<String>,
    keys: Vec<String>,
    compare: Compare,
    grain: Grain,
    locale: Locale,
    filters: Filters,
    dimension: Option<Dimension>,
    top: usize,
}

/// Parts a breakdown shows by default, and at most.
const DEFAULT_TOP: usize = 10;
const MAX_TOP: usize = engine::breakdown::MAX_CANDIDATES;

impl Request {
    fn parse(pairs: Vec<(String, String)>) -> Result<Self, DashboardError> {
        let mut request = Request {
            from: None,
            to: None,
            keys: Vec::new(),
            compare: Compare::default(),
            grain: Grain::default(),
            locale: Locale::default(),
            filters: Filters::none(),
            dimension: None,
            top: DEFAULT_TOP,
        };
        let mut filter_pairs = Vec::new();
        for (name, value) in &pairs {
            match name.as_str() {
                "from" => request.from = Some(value.clone()),
                "to" => request.to = Some(value.clone()),
                "kpi" => request.keys.extend(
                    value
                        .split(',')
                        .map(str::trim)
                        .filter(|k| !k.is_empty())
                        .map(str::to_string),
                ),
                "compare" => {
                    request.compare = Compare::parse(value).ok_or_else(|| {
                        DashboardError::BadRequest(format!(
                            "compare: {value:?} is not previous or last_year"
                        ))
                    })?
                }
                "grain" => {
                    request.grain = Grain::parse(value).ok_or_else(|| {
                        DashboardError::BadRequest(format!(
                            "grain: {value:?} is not day, week, month or quarter"
                        ))
                    })?
                }
                "lang" => request.locale = Locale::parse(Some(value)),
                "dimension" => {
                    request.dimension = Some(Dimension::parse(value).ok_or_else(|| {
                        DashboardError::BadRequest(format!(
                            "dimension: {value:?} is not one of {}",
                            Dimension::ALL
                                .iter()
                                .map(|d| d.name())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    })?)
                }
                "top" => {
                    request.top = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=MAX_TOP).contains(n))
                        .ok_or_else(|| {
                            DashboardError::BadRequest(format!("top: a number from 1 to {MAX_TOP}"))
                        })?
                }
                _ => filter_pairs.push((name.as_str(), value.as_str())),
            }
        }
        request.filters = Filters::parse(filter_pairs)?;
        Ok(request)
    }

    fn period(&self, conn: &duckdb::Connection) -> Result<Period, DashboardError> {
        Ok(view::resolve_period(
            conn,
            self.from.as_deref(),
            self.to.as_deref(),
        )?)
    }
}

/// What a handler answers when it does not succeed, as JSON: an [`AppError`] with its status
/// and message (the same the pages show), or a refusal only the API makes (the events
/// endpoint's 413, 415 and 422, with the rejects when values are invalid).
pub enum ApiError {
    App(AppError),
    Refused(StatusCode, String),
    Rejected(events::RejectedBody),
}

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        Self::App(err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::App(err) => {
                let status = StatusCode::from_u16(err.status_code())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                (
                    status,
                    Json(ErrorBody {
                        error: err.to_string(),
                    }),
                )
                    .into_response()
            }
            Self::Refused(status, error) => (status, Json(ErrorBody { error })).into_response(),
            Self::Rejected(body) => (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response(),
        }
    }
}
