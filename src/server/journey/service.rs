//! What the journey pages and the JSON API call: each function resolves the request (period,
//! filters), runs the engine on a blocking thread and maps errors to [`AppError`]. A policy
//! check goes at the top of each; the identifier masking is the caller's choice
//! ([`crate::journey::mask`]).

use crate::error::AppError;
use crate::i18n::Locale;
use crate::journey::{
    CustomerProfile, ErasureReport, FunnelReport, FunnelStepDef, JourneyDetail, JourneyView,
    PainPoint,
};
use crate::server::dashboard::{DashboardError, resolve_period};
use crate::server::db::Db;
use crate::server::kpi::{Filters, Period};

use super::{JourneyError, customer, funnel, handoff, pain, paths};

/// How many paths the journey view lists, and how many positions its flow chart shows.
pub const TOP_PATHS: usize = 20;
pub const FLOW_STEPS: usize = 4;

/// A request's period and filters (`(dimension, "v1,v2")` pairs), checked against the data.
fn resolve(
    conn: &duckdb::Connection,
    from: Option<&str>,
    to: Option<&str>,
    filters: &[(String, String)],
) -> Result<(Period, Filters), AppError> {
    let period = resolve_period(conn, from, to).map_err(AppError::from)?;
    let filters = Filters::parse(filters.iter().map(|(d, v)| (d.as_str(), v.as_str())))
        .map_err(|e| AppError::from(DashboardError::from(e)))?;
    filters
        .check(conn)
        .map_err(|e| AppError::from(DashboardError::from(e)))?;
    Ok((period, filters))
}

/// The journey view of a period.
pub async fn journey_view(
    db: &Db,
    from: Option<String>,
    to: Option<String>,
    filters: Vec<(String, String)>,
) -> Result<JourneyView, AppError> {
    db.run(move |conn| {
        let (period, filters) = resolve(conn, from.as_deref(), to.as_deref(), &filters)?;
        view_blocking(conn, &period, &filters).map_err(AppError::from)
    })
    .await
}

/// The journey view of a resolved period and filters, on the caller's connection.
pub fn view_blocking(
    conn: &duckdb::Connection,
    period: &Period,
    filters: &Filters,
) -> Result<JourneyView, JourneyError> {
    Ok(JourneyView {
        from: period.from(),
        to: period.to(),
        summary: funnel::summary(conn, period, filters)?,
        funnel: funnel::funnel(conn, period, filters, &FunnelStepDef::cross_channel())?,
        store_funnel: funnel::funnel(conn, period, filters, &FunnelStepDef::store())?,
        paths: paths::top_paths(conn, period, filters, None, TOP_PATHS)?,
        flow: paths::flow(conn, period, filters, FLOW_STEPS)?,
        handoffs: handoff::matrix(conn, period, filters)?,
    })
}

/// A funnel with the caller's steps.
pub async fn custom_funnel(
    db: &Db,
    from: Option<String>,
    to: Option<String>,
    filters: Vec<(String, String)>,
    steps: Vec<FunnelStepDef>,
) -> Result<FunnelReport, AppError> {
    db.run(move |conn| {
        let (period, filters) = resolve(conn, from.as_deref(), to.as_deref(), &filters)?;
        funnel::funnel(conn, &period, &filters, &steps).map_err(AppError::from)
    })
    .await
}

/// The pain points of a period, ranked by revenue lost.
pub async fn pain_points(
    db: &Db,
    from: Option<String>,
    to: Option<String>,
    filters: Vec<(String, String)>,
    locale: Locale,
) -> Result<Vec<PainPoint>, AppError> {
    db.run(move |conn| {
        let (period, filters) = resolve(conn, from.as_deref(), to.as_deref(), &filters)?;
        pain::pain_points(conn, &period, &filters, locale).map_err(AppError::from)
    })
    .await
}

/// One journey with its steps (a pain point's example).
pub async fn journey_detail(db: &Db, journey_id: i64) -> Result<JourneyDetail, AppError> {
    db.run(move |conn| customer::journey(conn, journey_id).map_err(AppError::from))
        .await
}

/// The customer 360 of whoever holds `identifier` (e-mail, phone, loyalty card, ...).
pub async fn find_customer(db: &Db, identifier: String) -> Result<CustomerProfile, AppError> {
    db.run(move |conn| {
        let id = customer::find(conn, &identifier)?;
        customer::profile(conn, id).map_err(AppError::from)
    })
    .await
}

/// The customer 360 of `customer_id` (from a pain point's example journeys).
pub async fn customer_profile(db: &Db, customer_id: i64) -> Result<CustomerProfile, AppError> {
    db.run(move |conn| customer::profile(conn, customer_id).map_err(AppError::from))
        .await
}

/// Right to be forgotten; the caller records the audit row with the report.
pub async fn erase_customer(db: &Db, customer_id: i64) -> Result<ErasureReport, AppError> {
    let db2 = db.clone();
    tokio::task::spawn_blocking(move || customer::erase(&db2, customer_id))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "erase task failed");
            AppError::Internal
        })?
        .map_err(AppError::from)
}

/// Right to be forgotten with its audit row (actor, customer number, counts and identifier
/// types, never a value), written in the erasure's transaction.
pub async fn erase_customer_audited(
    db: &Db,
    customer_id: i64,
    actor: String,
) -> Result<ErasureReport, AppError> {
    let db2 = db.clone();
    tokio::task::spawn_blocking(move || {
        customer::erase_then(&db2, customer_id, |tx, report| {
            crate::server::auth::audit::record(
                tx,
                &actor,
                "customer.erase",
                &customer_id.to_string(),
                None::<&()>,
                Some(report),
            )
            .map_err(JourneyError::from)
        })
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "erase task failed");
        AppError::Internal
    })?
    .map_err(AppError::from)
}

impl From<JourneyError> for AppError {
    fn from(err: JourneyError) -> Self {
        match err {
            JourneyError::Sql(_) | JourneyError::Db(_) | JourneyError::Rules(_) => {
                tracing::error!(error = %err, "journey query failed");
                AppError::Internal
            }
            JourneyError::NoCustomer(_) | JourneyError::NoJourney(_) => {
                AppError::NotFound(err.to_string())
            }
            other => AppError::BadRequest(other.to_string()),
        }
    }
}
