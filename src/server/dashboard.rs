//! Assembles what each dashboard page shows from the KPI engine and the chart renderer.
//!
//! Server functions call these and nothing else; the mapping from internal errors to the
//! user-facing [`AppError`] happens here, with internals logged and never shown.

use chrono::NaiveDate;

use crate::dashboard::{CompanyView, Multichannel};
use crate::error::AppError;
use crate::i18n::Msg;
use crate::kpi::{DailyPoint, Grain, Unit};

use super::charts;
use super::db::{Db, DbError};
use super::kpi::report::Compare;
use super::kpi::{self, Catalog, FilterError, KpiError, PeriodError};
use super::view::{Resolved, ViewError, resolve_view, today};

pub mod department;
pub mod detail;
pub mod forms;

#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    #[error(transparent)]
    View(#[from] ViewError),
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
    #[error(transparent)]
    Chart(#[from] super::charts::ChartError),
    #[error("not found: {0}")]
    NotFound(String),
}

impl From<duckdb::Error> for DashboardError {
    fn from(err: duckdb::Error) -> Self {
        Self::Db(DbError::Sql(err))
    }
}

impl From<DashboardError> for AppError {
    fn from(err: DashboardError) -> Self {
        if let Some(detail) = super::db::out_of_memory(&err) {
            tracing::warn!(detail, "a view needed more memory than memory_limit allows");
            return AppError::OutOfMemory;
        }
        match err {
            DashboardError::View(e) => e.into(),
            DashboardError::Period(e) => AppError::bad_request(e.to_string()),
            DashboardError::Filter(FilterError::Sql(e)) => {
                tracing::error!(error = %e, "filter check failed");
                AppError::Internal
            }
            DashboardError::Filter(e) => AppError::bad_request(e.to_string()),
            DashboardError::BadRequest(e) => AppError::bad_request(e),
            DashboardError::NotFound(e) => AppError::NotFound(e),
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

/// The breakdowns of the company view, in order: (KPI, dimension). The channel mix first, then
/// the top stores and regions.
pub const COMPANY_BREAKDOWNS: &[(&str, &str)] = &[
    ("gross_revenue", "channel"),
    ("gross_revenue", "store"),
    ("gross_revenue", "region"),
];

/// The KPIs of the two sides of the multichannel table.
const MULTICHANNEL_SIDES: [&str; 4] = [
    "multichannel_purchase_frequency",
    "single_channel_purchase_frequency",
    "multichannel_aov",
    "single_channel_aov",
];

/// Multichannel against single-channel buyers over the view's period, from the engine's KPIs:
/// the two sides of each uplift computed here, the uplifts themselves taken from the tiles
/// (`kpis`, computed for the same period and filters).
pub fn multichannel(
    conn: &duckdb::Connection,
    catalog: &Catalog,
    resolved: &Resolved,
    kpis: &[crate::kpi::KpiValue],
) -> Result<Multichannel, DashboardError> {
    let keys = MULTICHANNEL_SIDES;
    let uplifts = ["multichannel_frequency_uplift", "multichannel_value_uplift"];
    let tile = |k: &str| kpis.iter().find(|v| v.key == k).map(|v| v.value);
    let mut wanted: Vec<&str> = keys.to_vec();
    wanted.extend(uplifts.iter().filter(|k| tile(k).is_none()));
    let v = kpi::compute(conn, catalog, &wanted, &resolved.period, &resolved.filters)?;
    let get = |k: &str| tile(k).unwrap_or_else(|| v.get(k).copied().flatten());
    Ok(Multichannel {
        frequency_multi: get(keys[0]),
        frequency_single: get(keys[1]),
        frequency_uplift: get(uplifts[0]),
        aov_multi: get(keys[2]),
        aov_single: get(keys[3]),
        aov_uplift: get(uplifts[1]),
    })
}

/// The target each company tile shows: its owner department's target whose period holds
/// `as_of`, the narrowest period first (as on the department views); only those are measured.
pub fn company_targets(
    conn: &duckdb::Connection,
    catalog: &Catalog,
    keys: &[&str],
    as_of: NaiveDate,
) -> Result<std::collections::BTreeMap<String, crate::dashboard::TargetRow>, DashboardError> {
    let owners = kpi::owners(conn)?;
    let mut chosen: std::collections::BTreeMap<String, (i64, kpi::targets::Target)> =
        std::collections::BTreeMap::new();
    for target in kpi::targets::list(conn, None, None)? {
        if !keys.contains(&target.kpi.as_str())
            || owners.get(&target.kpi) != Some(&target.department)
        {
            continue;
        }
        let Ok(period) = kpi::targets::TargetPeriod::parse(&target.period) else {
            continue;
        };
        if !period.period.contains(as_of) {
            continue;
        }
        let days = period.period.days();
        if chosen.get(&target.kpi).is_none_or(|(d, _)| days < *d) {
            chosen.insert(target.kpi.clone(), (days, target));
        }
    }
    let list = chosen.into_values().map(|(_, t)| t).collect();
    let rows = detail::to_rows(kpi::targets::report(conn, catalog, list, as_of)?);
    Ok(rows.into_iter().map(|r| (r.kpi.clone(), r)).collect())
}

/// The company view for the view in `query` (the page's query string), from the results
/// cache while no write happened since it was computed (see [`Db::cached`]).
pub async fn company(db: &Db, query: String) -> Result<CompanyView, AppError> {
    let cache = db.clone();
    let view = db
        .run(move |conn| {
            // Presets and the default period are relative to today, so today is in the key.
            let key = format!("company\u{1f}{}\u{1f}{query}", today(conn)?);
            cache.cached(&key, || company_kept(conn, &query, &cache))
        })
        .await?;
    Ok(view)
}

/// The company view for the view in `query`, computed now from the database.
pub fn company_blocking(
    conn: &mut duckdb::Connection,
    query: &str,
) -> Result<CompanyView, DashboardError> {
    company_from(conn, query, &kpi::catalog(conn)?)
}

/// [`company_blocking`] reading and keeping KPI values in `db`'s results cache, so that the
/// periods a write did not change are not computed again (see `kpi::memo`).
fn company_kept(
    conn: &mut duckdb::Connection,
    query: &str,
    db: &Db,
) -> Result<CompanyView, DashboardError> {
    company_from(conn, query, &kpi::catalog(conn)?.with_memo(db))
}

fn company_from(
    conn: &mut duckdb::Connection,
    query: &str,
    catalog: &Catalog,
) -> Result<CompanyView, DashboardError> {
    let mut laps = super::ops::laps::Laps::start("company view");
    let resolved = resolve_view(conn, query)?;
    let locale = resolved.locale;
    let defs = catalog.view("company");
    if catalog.kept() {
        // The tiles and the multichannel table of the period in one computation: the buyers
        // of the period are read once for both (the table's calls below find them kept).
        let mut keys: Vec<&str> = defs.iter().map(|d| d.key.as_str()).collect();
        keys.extend(MULTICHANNEL_SIDES);
        kpi::compute(conn, catalog, &keys, &resolved.period, &resolved.filters)?;
        laps.lap("period");
    }
    let request = kpi::report::ReportRequest {
        keys: defs.iter().map(|d| d.key.clone()).collect(),
        locale,
        compare: resolved.compare,
        filters: resolved.filters.clone(),
    };
    let kpis = kpi::report::build(conn, catalog, &resolved.period, &request)?.kpis;
    laps.lap("kpis");
    let tile_keys: Vec<&str> = kpis.iter().map(|k| k.key.as_str()).collect();
    let sparklines = department::sparklines(
        conn,
        catalog,
        &tile_keys,
        &resolved.period,
        &resolved.filters,
    )?;
    laps.lap("sparklines");
    // Both daily charts in one scan.
    let daily = kpi::series_many(
        conn,
        catalog,
        &["gross_revenue", "active_customers"],
        &resolved.period,
        Grain::Day,
        &resolved.filters,
    )?;
    let per_day = |key: &str| -> Vec<DailyPoint> {
        daily
            .get(key)
            .map(|s| {
                s.iter()
                    .map(|(day, value)| DailyPoint {
                        day: day.from(),
                        value: value.unwrap_or(0.0),
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    laps.lap("daily series");
    let revenue = per_day("gross_revenue");
    let customers = per_day("active_customers");
    let revenue_chart = charts::daily_line(
        &revenue,
        Unit::Money,
        locale.text(Msg::RevenuePerDay),
        locale,
    )
    .map_err(DashboardError::Chart)?;
    let customers_chart = charts::daily_line(
        &customers,
        Unit::Count,
        locale.text(Msg::CustomersPerDay),
        locale,
    )
    .map_err(DashboardError::Chart)?;
    laps.lap("charts");
    let mut breakdowns = Vec::with_capacity(COMPANY_BREAKDOWNS.len());
    for (key, dimension) in COMPANY_BREAKDOWNS {
        if let Some(def) = catalog.get(key) {
            // The channel mix is whole; the top stores and regions are a ranking.
            let with_other = *dimension == "channel";
            breakdowns.push(detail::breakdown_shown(
                conn, catalog, def, &resolved, dimension, with_other,
            )?);
        }
    }
    laps.lap("breakdowns");
    let multichannel = multichannel(conn, catalog, &resolved, &kpis)?;
    laps.lap("multichannel");
    let targets = company_targets(conn, catalog, &tile_keys, resolved.as_of)?;
    let benchmarks = detail::tile_benchmarks(conn, &tile_keys)?;
    laps.lap("targets");
    // The other comparison: last year when the view compares with the previous period, and the
    // previous period when it compares with last year.
    let other = match resolved.compare {
        Compare::Previous => Compare::LastYear,
        Compare::LastYear => Compare::Previous,
    }
    .period(&resolved.period);
    let before = kpi::compute(conn, catalog, &tile_keys, &other, &resolved.filters)?;
    laps.lap("other comparison");
    let other_changes = kpis
        .iter()
        .map(|k| {
            let previous = before.get(&k.key).copied().flatten();
            (
                k.key.clone(),
                kpi::query::change(Some(k.unit), k.value, previous),
            )
        })
        .collect();
    let annotations = super::annotations::list(
        conn,
        "company",
        None,
        resolved.period.from(),
        resolved.period.to(),
    )
    .map_err(|e| match e {
        super::annotations::AnnotationError::Sql(e) => DashboardError::from(e),
        super::annotations::AnnotationError::Db(e) => DashboardError::Db(e),
        other => DashboardError::BadRequest(other.to_string()),
    })?;
    Ok(CompanyView {
        view: resolved.view,
        from: resolved.period.from(),
        to: resolved.period.to(),
        kpis,
        revenue,
        revenue_chart,
        customers,
        customers_chart,
        sparklines,
        breakdowns,
        multichannel,
        targets,
        other_changes,
        benchmarks,
        annotations,
        can_annotate: false,
        csrf: String::new(),
    })
}

impl From<DbError> for AppError {
    fn from(err: DbError) -> Self {
        if let Some(detail) = super::db::out_of_memory(&err) {
            tracing::warn!(
                detail,
                "a request needed more memory than memory_limit allows"
            );
            return AppError::OutOfMemory;
        }
        tracing::error!(error = %err, "database failure");
        AppError::Internal
    }
}
