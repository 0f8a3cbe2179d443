//! `/api/v1/benchmarks`: the market benchmarks imported from their sheet
//! ([`crate::server::kpi::benchmarks`]).

use axum::Json;
use axum::extract::{Query, State};

use crate::error::AppError;
use crate::server::dashboard::DashboardError;
use crate::server::kpi::{self as engine};
use crate::server::state::AppState;

use super::ApiError;

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchmarksQuery {
    pub kpi: Option<String>,
}

/// `GET /api/v1/benchmarks[?kpi=K]`
#[utoipa::path(get, path = "/benchmarks", tag = "targets",
    params(("kpi" = Option<String>, Query, description = "Only this KPI's benchmarks")),
    responses((status = 200, body = Vec<engine::benchmarks::Benchmark>)))]
pub(super) async fn benchmarks(
    State(state): State<AppState>,
    Query(query): Query<BenchmarksQuery>,
) -> Result<Json<Vec<engine::benchmarks::Benchmark>>, ApiError> {
    let list = state
        .db
        .run(move |conn| -> Result<_, DashboardError> {
            Ok(engine::benchmarks::list(conn, query.kpi.as_deref())?)
        })
        .await
        .map_err(AppError::from)?;
    Ok(Json(list))
}
