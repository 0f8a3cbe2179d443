//! `/api/v1/kpi-tree` and `/api/v1/what-changed`: how net revenue decomposes into the
//! departments' KPIs, and what moved one KPI, from [`crate::server::insight`].

use axum::Json;
use axum::extract::{Query, State};

use crate::error::AppError;
use crate::server::auth::RequestAuth;
use crate::server::dashboard::DashboardError;
use crate::server::insight;
use crate::server::state::AppState;
use crate::server::view;

use super::{ApiError, ErrorBody, Request};

/// `GET /api/v1/kpi-tree`: how net revenue decomposes into the KPIs each department owns,
/// with each node's contribution to its parent's change and to net revenue's change.
#[utoipa::path(get, path = "/kpi-tree", tag = "insights",
    params(
        ("from" = Option<String>, Query, description = "First day, YYYY-MM-DD (default: 30 days ending today)"),
        ("to" = Option<String>, Query, description = "Last day, YYYY-MM-DD, inclusive"),
        ("compare" = Option<String>, Query, description = "previous (default) or last_year"),
        ("lang" = Option<String>, Query, description = "en or it, for KPI names"),
        ("channel" = Option<String>, Query, description = "Filter, as for /kpis"),
    ),
    responses((status = 200, body = crate::insight::KpiTree), (status = 400, body = ErrorBody)))]
pub(super) async fn kpi_tree(
    State(state): State<AppState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<crate::insight::KpiTree>, ApiError> {
    let tree = state
        .db
        .run(move |conn| -> Result<_, DashboardError> {
            let request = Request::parse(pairs)?;
            let period = request.period(conn)?;
            request.filters.check(conn)?;
            let comparison = request.compare.period(&period);
            let today = view::today(conn)?;
            insight::kpi_tree(
                conn,
                &period,
                &comparison,
                &request.filters,
                request.locale,
                today.min(period.to()),
            )
        })
        .await
        .map_err(AppError::from)?;
    Ok(Json(tree))
}

/// `GET /api/v1/what-changed?kpi=K&dimension=D`: the change of one KPI split between the
/// values of a dimension (differences for sums and counts, mix and rate for ratios). The
/// KPI's owner department decides who may see it, as for the department views.
#[utoipa::path(get, path = "/what-changed", tag = "insights",
    params(
        ("kpi" = String, Query, description = "KPI key (a sum, a count or a ratio of two KPIs)"),
        ("dimension" = String, Query, description = "channel, store, region, segment, campaign, category, sku, touchpoint or topic"),
        ("from" = Option<String>, Query, description = "First day, YYYY-MM-DD (default: 30 days ending today)"),
        ("to" = Option<String>, Query, description = "Last day, YYYY-MM-DD, inclusive"),
        ("compare" = Option<String>, Query, description = "previous (default) or last_year"),
        ("lang" = Option<String>, Query, description = "en or it, for names and the summary"),
    ),
    responses(
        (status = 200, body = crate::insight::WhatChanged),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The KPI's department is not visible to the caller"),
    ))]
pub(super) async fn what_changed(
    State(state): State<AppState>,
    axum::Extension(auth): axum::Extension<RequestAuth>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<crate::insight::WhatChanged>, ApiError> {
    let who = auth.principal.ok_or(AppError::Unauthorized)?;
    let changed = state
        .db
        .run(
            move |conn| -> Result<Result<crate::insight::WhatChanged, AppError>, DashboardError> {
                let request = Request::parse(pairs)?;
                let key = match request.keys.as_slice() {
                    [key] => key.clone(),
                    _ => {
                        return Err(DashboardError::BadRequest(
                            "kpi: exactly one KPI key is required".into(),
                        ));
                    }
                };
                let dimension = request.dimension.ok_or_else(|| {
                    DashboardError::BadRequest(
                        "dimension: required (e.g. dimension=channel)".into(),
                    )
                })?;
                if !insight::may_see(conn, &who, &key)? {
                    return Ok(Err(AppError::Forbidden));
                }
                let period = request.period(conn)?;
                request.filters.check(conn)?;
                let comparison = request.compare.period(&period);
                Ok(Ok(insight::what_changed(
                    conn,
                    &key,
                    dimension,
                    &period,
                    &comparison,
                    &request.filters,
                    request.locale,
                )?))
            },
        )
        .await
        .map_err(AppError::from)??;
    Ok(Json(changed))
}
