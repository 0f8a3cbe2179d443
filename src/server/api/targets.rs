//! `/api/v1/targets`: targets with where the KPI stands against them, and setting or deleting
//! one (admins, or the department's own lead), each change recorded in the audit log. The
//! targets themselves are [`crate::server::kpi::targets`]'s.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;

use crate::error::AppError;
use crate::server::auth::{self, RequestAuth};
use crate::server::dashboard::DashboardError;
use crate::server::kpi::{self as engine, Period};
use crate::server::state::AppState;
use crate::server::view;

use super::{ApiError, ErrorBody};

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
pub(super) async fn targets(
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
            if let Some(department) = query.department.as_deref()
                && !engine::targets::department_exists(conn, department)?
            {
                return Err(DashboardError::BadRequest(format!(
                    "department: unknown department {department:?}"
                )));
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
pub(super) async fn set_target(
    State(state): State<AppState>,
    axum::Extension(auth): axum::Extension<RequestAuth>,
    Json(input): Json<TargetInput>,
) -> Result<Json<engine::targets::Target>, ApiError> {
    let who = auth.principal.ok_or(AppError::Unauthorized)?;
    if !auth::policy::can_edit_targets(&who, &input.department) {
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
            auth::audit::record(
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
pub(super) async fn delete_target(
    State(state): State<AppState>,
    axum::Extension(auth): axum::Extension<RequestAuth>,
    Query(key): Query<TargetKey>,
) -> Result<StatusCode, ApiError> {
    let who = auth.principal.ok_or(AppError::Unauthorized)?;
    if !auth::policy::can_edit_targets(&who, &key.department) {
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
                auth::audit::record::<_, ()>(
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
