//! Assembles what each dashboard page shows from the KPI engine and the chart renderer.
//!
//! Server functions call these and nothing else; the mapping from internal errors to the
//! user-facing [`AppError`] happens here, with internals logged and never shown.

use chrono::NaiveDate;

use crate::error::AppError;
use crate::i18n::{Locale, Msg};
use crate::kpi::{CompanyView, DailyPoint, Grain};

use super::charts;
use super::db::{Db, DbError};
use super::kpi::{self, Catalog, FilterError, Filters, KpiError, Period, PeriodError};

/// The period shown when the URL names none: the last 30 days, today included.
pub const DEFAULT_DAYS: u64 = 30;

#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    #[error(transparent)]
    Period(#[from] PeriodError),
    #[error(transparent)]
    Kpi(#[from] KpiError),
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error(transparent)]
    Target(#[from] kpi::targets::TargetError),
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("chart: {0}")]
    Chart(String),
}

impl From<duckdb::Error> for DashboardError {
    fn from(err: duckdb::Error) -> Self {
        Self::Db(DbError::Sql(err))
    }
}

impl From<DashboardError> for AppError {
    fn from(err: DashboardError) -> Self {
        match err {
            DashboardError::Period(e) => AppError::bad_request(e.to_string()),
            DashboardError::Filter(FilterError::Sql(e)) => {
                tracing::error!(error = %e, "filter check failed");
                AppError::Internal
            }
            DashboardError::Filter(e) => AppError::bad_request(e.to_string()),
            DashboardError::BadRequest(e) => AppError::bad_request(e),
            DashboardError::Target(
                kpi::targets::TargetError::Sql(_) | kpi::targets::TargetError::Kpi(_),
            ) => {
                tracing::error!("target computation failed");
                AppError::Internal
            }
            DashboardError::Target(e) => AppError::bad_request(e.to_string()),
            DashboardError::Kpi(KpiError::UnknownKpi(k)) => {
                AppError::bad_request(format!("unknown KPI {k:?}"))
            }
            DashboardError::Kpi(e @ KpiError::TooManyBuckets { .. }) => {
                AppError::bad_request(e.to_string())
            }
            other => {
                tracing::error!(error = %other, "dashboard failed");
                AppError::Internal
            }
        }
    }
}

/// Resolves the period of a request: both dates, one of them, or neither (the default).
pub fn resolve_period(
    conn: &duckdb::Connection,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Period, DashboardError> {
    let from = from.map(str::trim).filter(|s| !s.is_empty());
    let to = to.map(str::trim).filter(|s| !s.is_empty());
    Ok(match (from, to) {
        (Some(from), Some(to)) => Period::parse(from, to)?,
        (Some(from), None) => Period::parse(from, &today(conn)?.to_string())?,
        (None, Some(to)) => {
            let end = Period::parse(to, to)?.to();
            Period::ending(end, DEFAULT_DAYS)
        }
        (None, None) => Period::ending(today(conn)?, DEFAULT_DAYS),
    })
}

/// Today's date in the instance's time zone.
pub fn today(conn: &duckdb::Connection) -> Result<NaiveDate, DashboardError> {
    let day: String = conn.query_row("SELECT CAST(CAST(now() AS DATE) AS VARCHAR)", [], |r| {
        r.get(0)
    })?;
    NaiveDate::parse_from_str(&day, "%Y-%m-%d").map_err(|e| DashboardError::Chart(e.to_string()))
}

/// The company view for the requested period.
pub async fn company(
    db: &Db,
    from: Option<&str>,
    to: Option<&str>,
    locale: Locale,
) -> Result<CompanyView, AppError> {
    let (from, to) = (from.map(str::to_string), to.map(str::to_string));
    let view = db
        .run(move |conn| company_blocking(conn, from.as_deref(), to.as_deref(), locale))
        .await?;
    Ok(view)
}

fn company_blocking(
    conn: &mut duckdb::Connection,
    from: Option<&str>,
    to: Option<&str>,
    locale: Locale,
) -> Result<CompanyView, DashboardError> {
    let catalog = Catalog::builtin();
    let period = resolve_period(conn, from, to)?;
    let defs = catalog.view("company");
    let filters = Filters::none();
    let request = kpi::report::ReportRequest {
        keys: defs.iter().map(|d| d.key.clone()).collect(),
        locale,
        ..Default::default()
    };
    let kpis = kpi::report::build(conn, catalog, &period, &request)?.kpis;
    let revenue: Vec<DailyPoint> = kpi::series(
        conn,
        catalog,
        "gross_revenue",
        &period,
        Grain::Day,
        &filters,
    )?
    .into_iter()
    .map(|(day, value)| DailyPoint {
        day: day.from(),
        value: value.unwrap_or(0.0),
    })
    .collect();
    let revenue_chart = charts::daily_line(&revenue, locale.text(Msg::RevenuePerDay), locale)
        .map_err(DashboardError::Chart)?;
    Ok(CompanyView {
        from: period.from(),
        to: period.to(),
        kpis,
        revenue,
        revenue_chart,
    })
}

impl From<DbError> for AppError {
    fn from(err: DbError) -> Self {
        tracing::error!(error = %err, "database failure");
        AppError::Internal
    }
}
