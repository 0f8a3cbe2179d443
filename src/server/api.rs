//! The JSON API under `/api/v1`: typed query and response structs per handler, the same
//! services the pages use, errors as `{"error": "..."}` with the matching status.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use crate::error::AppError;
use crate::i18n::Locale;

use super::dashboard::{self, DashboardError};
use super::kpi::{Catalog, report};
use super::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/kpis", get(kpis))
}

/// `GET /api/v1/kpis?from=YYYY-MM-DD&to=YYYY-MM-DD[&kpi=key,key][&lang=it]`
#[derive(Debug, Deserialize)]
pub struct KpisQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    /// Comma-separated KPI keys; every KPI when absent.
    pub kpi: Option<String>,
    pub lang: Option<String>,
}

async fn kpis(
    State(state): State<AppState>,
    Query(query): Query<KpisQuery>,
) -> Result<Json<report::KpiReport>, ApiError> {
    let report = state
        .db
        .run(move |conn| -> Result<_, DashboardError> {
            let period =
                dashboard::resolve_period(conn, query.from.as_deref(), query.to.as_deref())?;
            let keys: Vec<&str> = query
                .kpi
                .as_deref()
                .map(|k| {
                    k.split(',')
                        .map(str::trim)
                        .filter(|k| !k.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            let locale = Locale::parse(query.lang.as_deref());
            Ok(report::build(
                conn,
                Catalog::builtin(),
                &keys,
                &period,
                locale,
            )?)
        })
        .await
        .map_err(AppError::from)?;
    Ok(Json(report))
}

/// An [`AppError`] answered as JSON.
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        Self(err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            status,
            Json(serde_json::json!({ "error": self.0.to_string() })),
        )
            .into_response()
    }
}
