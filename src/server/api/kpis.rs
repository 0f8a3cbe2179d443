//! `/api/v1/kpis...`: the KPI report, a KPI's series per bucket and its breakdown by a
//! dimension, the same numbers as `omnikpi kpi` and the dashboards. Parameters are parsed by
//! the shared `Request`; the numbers come from the KPI engine ([`crate::server::kpi`]).

use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::NaiveDate;
use serde::Serialize;

use crate::error::AppError;
use crate::kpi::Grain;
use crate::server::dashboard::DashboardError;
use crate::server::kpi::report::{self, ReportRequest};
use crate::server::kpi::{self as engine};
use crate::server::state::AppState;
use crate::server::view;

use super::{ApiError, ErrorBody, Request};

/// `GET /api/v1/kpis`: the KPI report, the same JSON as `omnikpi kpi --json`.
#[utoipa::path(get, path = "/kpis", tag = "kpis",
    params(
        ("from" = Option<String>, Query, description = "First day, YYYY-MM-DD (default: 30 days ending today)"),
        ("to" = Option<String>, Query, description = "Last day, YYYY-MM-DD, inclusive"),
        ("kpi" = Option<String>, Query, description = "Comma-separated KPI keys (default: all)"),
        ("compare" = Option<String>, Query, description = "previous (default) or last_year"),
        ("lang" = Option<String>, Query, description = "en or it, for KPI names"),
        ("channel" = Option<String>, Query, description = "Filter: comma-separated values; likewise store, region, campaign, category, sku, touchpoint"),
    ),
    responses(
        (status = 200, body = report::KpiReport),
        (status = 400, body = ErrorBody, description = "A bad date, KPI, filter or parameter"),
    ))]
pub(super) async fn kpis(
    State(state): State<AppState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<report::KpiReport>, ApiError> {
    let cache = state.db.clone();
    let report = state
        .db
        .run(move |conn| -> Result<_, DashboardError> {
            // The parameters as sent and today (the default period ends today) name the
            // report; the results cache keeps it until the next write.
            let key = format!("kpis\u{1f}{}\u{1f}{pairs:?}", view::today(conn)?);
            cache.cached(&key, || {
                let request = Request::parse(pairs)?;
                let period = request.period(conn)?;
                request.filters.check(conn)?;
                let spec = ReportRequest {
                    keys: request.keys,
                    compare: request.compare,
                    filters: request.filters,
                    locale: request.locale,
                };
                // Values of periods no write changed since are kept (`kpi::memo`).
                let catalog = engine::catalog(conn)?.with_memo(&cache);
                Ok(report::build(conn, &catalog, &period, &spec)?)
            })
        })
        .await
        .map_err(AppError::from)?;
    Ok(Json(report))
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SeriesResponse {
    pub key: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub grain: Grain,
    pub points: Vec<SeriesPoint>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SeriesPoint {
    /// First day of the bucket (clipped to the period).
    pub from: NaiveDate,
    /// Last day of the bucket (clipped to the period).
    pub to: NaiveDate,
    pub value: Option<f64>,
}

/// `GET /api/v1/kpis/{key}/series`: the KPI per bucket of `grain`.
#[utoipa::path(get, path = "/kpis/{key}/series", tag = "kpis",
    params(
        ("key" = String, Path, description = "KPI key"),
        ("from" = Option<String>, Query, description = "First day, YYYY-MM-DD"),
        ("to" = Option<String>, Query, description = "Last day, YYYY-MM-DD, inclusive"),
        ("grain" = Option<String>, Query, description = "day (default), week, month or quarter"),
        ("channel" = Option<String>, Query, description = "Filter, as for /kpis"),
    ),
    responses((status = 200, body = SeriesResponse), (status = 400, body = ErrorBody)))]
pub(super) async fn series(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<SeriesResponse>, ApiError> {
    let cache = state.db.clone();
    let response = state
        .db
        .run(move |conn| -> Result<_, DashboardError> {
            // As the report: kept until the next write, the earlier buckets beyond it.
            let name = format!(
                "kpi series\u{1f}{key}\u{1f}{}\u{1f}{pairs:?}",
                view::today(conn)?
            );
            cache.cached(&name, || {
                let request = Request::parse(pairs)?;
                let period = request.period(conn)?;
                request.filters.check(conn)?;
                let points = engine::series(
                    conn,
                    &engine::catalog(conn)?.with_memo(&cache),
                    &key,
                    &period,
                    request.grain,
                    &request.filters,
                )?
                .into_iter()
                .map(|(bucket, value)| SeriesPoint {
                    from: bucket.from(),
                    to: bucket.to(),
                    value,
                })
                .collect();
                Ok(SeriesResponse {
                    key: key.clone(),
                    from: period.from(),
                    to: period.to(),
                    grain: request.grain,
                    points,
                })
            })
        })
        .await
        .map_err(AppError::from)?;
    Ok(Json(response))
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct BreakdownResponse {
    pub key: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub dimension: String,
    /// The top parts by value, then `{"value": null}` for everything else when anything is.
    pub parts: Vec<engine::breakdown::Part>,
}

/// `GET /api/v1/kpis/{key}/breakdown?dimension=channel[&top=N]`
#[utoipa::path(get, path = "/kpis/{key}/breakdown", tag = "kpis",
    params(
        ("key" = String, Path, description = "KPI key"),
        ("dimension" = String, Query, description = "channel, store, region, campaign, category, sku or touchpoint"),
        ("top" = Option<usize>, Query, description = "Parts before \"other\" (1-50, default 10)"),
        ("from" = Option<String>, Query, description = "First day, YYYY-MM-DD"),
        ("to" = Option<String>, Query, description = "Last day, YYYY-MM-DD, inclusive"),
    ),
    responses((status = 200, body = BreakdownResponse), (status = 400, body = ErrorBody)))]
pub(super) async fn breakdown(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<BreakdownResponse>, ApiError> {
    let cache = state.db.clone();
    let response = state
        .db
        .run(move |conn| -> Result<_, DashboardError> {
            let name = format!(
                "kpi breakdown\u{1f}{key}\u{1f}{}\u{1f}{pairs:?}",
                view::today(conn)?
            );
            cache.cached(&name, || {
                let request = Request::parse(pairs)?;
                let dimension = request.dimension.ok_or_else(|| {
                    DashboardError::BadRequest(
                        "dimension: required (e.g. dimension=channel)".into(),
                    )
                })?;
                let period = request.period(conn)?;
                request.filters.check(conn)?;
                let parts = engine::breakdown::breakdown(
                    conn,
                    &engine::catalog(conn)?.with_memo(&cache),
                    &key,
                    &period,
                    &request.filters,
                    dimension,
                    request.top,
                )?;
                Ok(BreakdownResponse {
                    key: key.clone(),
                    from: period.from(),
                    to: period.to(),
                    dimension: dimension.name().to_string(),
                    parts,
                })
            })
        })
        .await
        .map_err(AppError::from)?;
    Ok(Json(response))
}
