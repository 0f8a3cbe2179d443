//! The JSON API under `/api/v1`: typed responses per handler, the same services the pages use,
//! errors as `{"error": "..."}` with the matching status.
//!
//! Query parameters mirror the CLI: `from`, `to` (ISO dates), `kpi` (comma-separated keys),
//! `compare` (`previous` | `last_year`), `grain` (`day` | `week` | `month` | `quarter`),
//! `lang`, and one parameter per filter dimension (`channel=store,web`, `store=MI01`, ...).
//! Any other parameter is refused, so a misspelt filter never returns unfiltered numbers.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDate;
use serde::Serialize;
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::AppError;
use crate::i18n::Locale;
use crate::kpi::Grain;

use super::dashboard::DashboardError;
use super::ingest;
use super::kpi::report::{self, Compare, ReportRequest};
use super::kpi::{self as engine, Dimension, Filters, Period};
use super::state::AppState;
use super::view;

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
        .routes(routes!(kpis))
        .routes(routes!(series))
        .routes(routes!(breakdown))
        .routes(routes!(targets, set_target, delete_target))
        .routes(routes!(benchmarks))
        .routes(routes!(ingest_events))
        .routes(routes!(journeys))
        .routes(routes!(pain_points))
        .routes(routes!(kpi_tree))
        .routes(routes!(what_changed))
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
async fn kpis(
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
                Ok(report::build(
                    conn,
                    &engine::catalog(conn)?,
                    &period,
                    &spec,
                )?)
            })
        })
        .await
        .map_err(AppError::from)?;
    Ok(Json(report))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SeriesResponse {
    pub key: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub grain: Grain,
    pub points: Vec<SeriesPoint>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
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
async fn series(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<SeriesResponse>, ApiError> {
    let response = state
        .db
        .run(move |conn| -> Result<_, DashboardError> {
            let request = Request::parse(pairs)?;
            let period = request.period(conn)?;
            request.filters.check(conn)?;
            let points = engine::series(
                conn,
                &engine::catalog(conn)?,
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
                key,
                from: period.from(),
                to: period.to(),
                grain: request.grain,
                points,
            })
        })
        .await
        .map_err(AppError::from)?;
    Ok(Json(response))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
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
async fn breakdown(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<BreakdownResponse>, ApiError> {
    let response = state
        .db
        .run(move |conn| -> Result<_, DashboardError> {
            let request = Request::parse(pairs)?;
            let dimension = request.dimension.ok_or_else(|| {
                DashboardError::BadRequest("dimension: required (e.g. dimension=channel)".into())
            })?;
            let period = request.period(conn)?;
            request.filters.check(conn)?;
            let parts = engine::breakdown::breakdown(
                conn,
                &engine::catalog(conn)?,
                &key,
                &period,
                &request.filters,
                dimension,
                request.top,
            )?;
            Ok(BreakdownResponse {
                key,
                from: period.from(),
                to: period.to(),
                dimension: dimension.name().to_string(),
                parts,
            })
        })
        .await
        .map_err(AppError::from)?;
    Ok(Json(response))
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetsQuery {
    pub department: Option<String>,
    pub kpi: Option<String>,
    /// The day to measure on (default today), clamped to each target's period.
    pub as_of: Option<String>,
}

/// `GET /api/v1/targets[?department=D][&kpi=K][&as_of=YYYY-MM-DD]`: targets with the KPI to
/// date, its projection and status.
#[utoipa::path(get, path = "/targets", tag = "targets",
    params(
        ("department" = Option<String>, Query, description = "Only this department's targets"),
        ("kpi" = Option<String>, Query, description = "Only this KPI's targets"),
        ("as_of" = Option<String>, Query, description = "Measure on this day (default today)"),
    ),
    responses(
        (status = 200, body = Vec<engine::targets::TargetReport>),
        (status = 400, body = ErrorBody),
    ))]
async fn targets(
    State(state): State<AppState>,
    Query(query): Query<TargetsQuery>,
) -> Result<Json<Vec<engine::targets::TargetReport>>, ApiError> {
    let reports = state
        .db
        .run(move |conn| -> Result<_, DashboardError> {
            // An unknown KPI or department is a mistake to name, not an empty list.
            if let Some(kpi) = query.kpi.as_deref()
                && engine::catalog(conn)?.get(kpi).is_none()
            {
                return Err(DashboardError::BadRequest(format!(
                    "kpi: unknown KPI {kpi:?}"
                )));
            }
            if let Some(department) = query.department.as_deref() {
                let known: i64 = conn.query_row(
                    "SELECT count(*) FROM departments WHERE department = ?",
                    [department],
                    |r| r.get(0),
                )?;
                if known == 0 {
                    return Err(DashboardError::BadRequest(format!(
                        "department: unknown department {department:?}"
                    )));
                }
            }
            let as_of = match query.as_of.as_deref() {
                Some(day) => Period::parse(day, day)?.to(),
                None => view::today(conn)?,
            };
            let list =
                engine::targets::list(conn, query.department.as_deref(), query.kpi.as_deref())?;
            Ok(engine::targets::report(
                conn,
                &engine::catalog(conn)?,
                list,
                as_of,
            )?)
        })
        .await
        .map_err(AppError::from)?;
    Ok(Json(reports))
}

/// A target to set (or replace): the KPI, the department whose target it is, the period (a
/// year `2026`, a quarter `2026-Q1` or a month `2026-03`) and the value in the KPI's unit.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetInput {
    pub kpi: String,
    pub department: String,
    pub period: String,
    pub value: f64,
}

/// `POST /api/v1/targets`: sets a target. Admins may set any department's; a lead only their
/// own department's. Recorded in the audit log with the value it replaced.
#[utoipa::path(post, path = "/targets", tag = "targets",
    request_body = TargetInput,
    responses(
        (status = 200, body = engine::targets::Target),
        (status = 400, body = ErrorBody, description = "Unknown KPI or department, bad period or value"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Not a lead of that department nor an admin"),
    ))]
async fn set_target(
    State(state): State<AppState>,
    axum::Extension(auth): axum::Extension<super::auth::RequestAuth>,
    Json(input): Json<TargetInput>,
) -> Result<Json<engine::targets::Target>, ApiError> {
    let who = auth.principal.ok_or(AppError::Unauthorized)?;
    if !super::auth::policy::can_edit_targets(&who, &input.department) {
        return Err(AppError::Forbidden.into());
    }
    let target = state
        .db
        .run(move |conn| -> Result<_, DashboardError> {
            let tx = conn.transaction()?;
            let before = engine::targets::list(&tx, Some(&input.department), Some(&input.kpi))?
                .into_iter()
                .find(|t| t.period == input.period);
            let target = engine::targets::set(
                &tx,
                &engine::catalog(&tx)?,
                &input.kpi,
                &input.department,
                &input.period,
                input.value,
                &who.label,
            )?;
            let subject = format!("{}/{}/{}", target.kpi, target.department, target.period);
            super::auth::audit::record(
                &tx,
                &who.label,
                "target.set",
                &subject,
                before.as_ref(),
                Some(&target),
            )?;
            tx.commit()?;
            Ok(target)
        })
        .await
        .map_err(AppError::from)?;
    Ok(Json(target))
}

/// Which target to delete.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TargetKey {
    pub kpi: String,
    pub department: String,
    /// `2026`, `2026-Q1` or `2026-03`.
    pub period: String,
}

/// `DELETE /api/v1/targets?kpi=K&department=D&period=P`: removes a target (admins, or the
/// department's own lead); recorded in the audit log with the value it had.
#[utoipa::path(delete, path = "/targets", tag = "targets",
    params(TargetKey),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, body = ErrorBody, description = "A bad period"),
        (status = 403, body = ErrorBody, description = "Not a lead of that department nor an admin"),
        (status = 404, body = ErrorBody, description = "No such target"),
    ))]
async fn delete_target(
    State(state): State<AppState>,
    axum::Extension(auth): axum::Extension<super::auth::RequestAuth>,
    Query(key): Query<TargetKey>,
) -> Result<StatusCode, ApiError> {
    let who = auth.principal.ok_or(AppError::Unauthorized)?;
    if !super::auth::policy::can_edit_targets(&who, &key.department) {
        return Err(AppError::Forbidden.into());
    }
    let deleted = state
        .db
        .run(move |conn| -> Result<bool, DashboardError> {
            let tx = conn.transaction()?;
            let before = engine::targets::list(&tx, Some(&key.department), Some(&key.kpi))?
                .into_iter()
                .find(|t| t.period == key.period);
            let deleted = engine::targets::delete(&tx, &key.kpi, &key.department, &key.period)?;
            if deleted {
                let subject = format!("{}/{}/{}", key.kpi, key.department, key.period);
                super::auth::audit::record::<_, ()>(
                    &tx,
                    &who.label,
                    "target.delete",
                    &subject,
                    before.as_ref(),
                    None,
                )?;
            }
            tx.commit()?;
            Ok(deleted)
        })
        .await
        .map_err(AppError::from)?;
    if deleted {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound("no such target".into()).into())
    }
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchmarksQuery {
    pub kpi: Option<String>,
}

/// `GET /api/v1/benchmarks[?kpi=K]`
#[utoipa::path(get, path = "/benchmarks", tag = "targets",
    params(("kpi" = Option<String>, Query, description = "Only this KPI's benchmarks")),
    responses((status = 200, body = Vec<engine::benchmarks::Benchmark>)))]
async fn benchmarks(
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

/// The period, language and filters of a journeys endpoint: `from`, `to`, `lang`, and the
/// rest as filters (checked by the service, so a misspelt one is refused).
struct JourneyQuery {
    from: Option<String>,
    to: Option<String>,
    locale: Locale,
    filters: Vec<(String, String)>,
}

impl JourneyQuery {
    fn parse(pairs: Vec<(String, String)>) -> Self {
        let mut query = JourneyQuery {
            from: None,
            to: None,
            locale: Locale::default(),
            filters: Vec::new(),
        };
        for (name, value) in pairs {
            match name.as_str() {
                "from" => query.from = Some(value),
                "to" => query.to = Some(value),
                "lang" => query.locale = Locale::parse(Some(&value)),
                _ => query.filters.push((name, value)),
            }
        }
        query
    }
}

/// `GET /api/v1/journeys`: the journey view of a period (summary, funnels, paths, flow,
/// hand-offs), the same numbers as the `/journeys` page.
#[utoipa::path(get, path = "/journeys", tag = "journeys",
    params(
        ("from" = Option<String>, Query, description = "First day journeys start on, YYYY-MM-DD (default: 30 days ending today)"),
        ("to" = Option<String>, Query, description = "Last day, YYYY-MM-DD, inclusive"),
        ("channel" = Option<String>, Query, description = "Filter, as for /kpis: a journey is kept when one of its steps matches"),
    ),
    responses(
        (status = 200, body = crate::journey::JourneyView),
        (status = 400, body = ErrorBody, description = "A bad date or filter"),
    ))]
async fn journeys(
    State(state): State<AppState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<crate::journey::JourneyView>, ApiError> {
    let q = JourneyQuery::parse(pairs);
    let view = super::journey::service::journey_view(&state.db, q.from, q.to, q.filters).await?;
    Ok(Json(view))
}

/// `GET /api/v1/pain-points`: the pain points of a period, ranked by revenue lost, each with
/// its formula, trend, breakdown and example journeys.
#[utoipa::path(get, path = "/pain-points", tag = "journeys",
    params(
        ("from" = Option<String>, Query, description = "First day, YYYY-MM-DD"),
        ("to" = Option<String>, Query, description = "Last day, YYYY-MM-DD, inclusive"),
        ("lang" = Option<String>, Query, description = "en or it, for names and descriptions"),
        ("channel" = Option<String>, Query, description = "Filter, as for /kpis"),
    ),
    responses(
        (status = 200, body = Vec<crate::journey::PainPoint>),
        (status = 400, body = ErrorBody, description = "A bad date or filter"),
    ))]
async fn pain_points(
    State(state): State<AppState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Vec<crate::journey::PainPoint>>, ApiError> {
    let q = JourneyQuery::parse(pairs);
    let points =
        super::journey::service::pain_points(&state.db, q.from, q.to, q.filters, q.locale).await?;
    Ok(Json(points))
}

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
async fn ingest_events(
    State(state): State<AppState>,
    query: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
    axum::Extension(auth): axum::Extension<super::auth::RequestAuth>,
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
async fn kpi_tree(
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
            super::insight::kpi_tree(
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
async fn what_changed(
    State(state): State<AppState>,
    axum::Extension(auth): axum::Extension<super::auth::RequestAuth>,
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
                if !super::insight::may_see(conn, &who, &key)? {
                    return Ok(Err(AppError::Forbidden));
                }
                let period = request.period(conn)?;
                request.filters.check(conn)?;
                let comparison = request.compare.period(&period);
                Ok(Ok(super::insight::what_changed(
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
