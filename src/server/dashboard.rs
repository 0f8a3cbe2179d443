//! Assembles what each dashboard page shows from the KPI engine and the chart renderer.
//!
//! Server functions call these and nothing else; the mapping from internal errors to the
//! user-facing [`AppError`] happens here, with internals logged and never shown.

use chrono::NaiveDate;

use crate::dashboard::ResolvedView;
use crate::error::AppError;
use crate::i18n::{Locale, Msg};
use crate::kpi::{CompanyView, DailyPoint, Grain, Multichannel, Unit};
use crate::view::{Comparison, FORM_FILTERS, ViewState};

use super::charts;
use super::db::{Db, DbError};
use super::kpi::report::Compare;
use super::kpi::{self, Catalog, Dimension, FilterError, Filters, KpiError, Period, PeriodError};

pub mod department;
pub mod detail;
pub mod forms;

/// The most values a filter's select list offers.
pub const MAX_OPTIONS: usize = 200;

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
        match err {
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

/// A view request parsed from its query string and checked against the data.
pub struct Resolved {
    pub view: ResolvedView,
    pub period: Period,
    pub comparison: Period,
    pub compare: Compare,
    pub filters: Filters,
    pub locale: Locale,
    /// The day targets are measured on: the period's last day, or today if that is earlier.
    pub as_of: NaiveDate,
}

impl Resolved {
    pub fn state(&self) -> &ViewState {
        &self.view.state
    }
}

/// Parses a page's query string strictly, resolves its period (a preset is relative to
/// today), checks its filters and lists the values of the form's filters.
pub fn resolve_view(conn: &duckdb::Connection, query: &str) -> Result<Resolved, DashboardError> {
    let pairs = crate::url::parse(query);
    let mut state = ViewState::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(DashboardError::BadRequest)?;
    let today = today(conn)?;
    let period = match state.preset.resolve(today) {
        Some((from, to)) => Period::new(from, to)?,
        None => resolve_period(conn, state.from.as_deref(), state.to.as_deref())?,
    };
    let filters = Filters::parse(state.filters.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    filters.check(conn)?;
    let compare = match state.compare {
        Comparison::Previous => Compare::Previous,
        Comparison::LastYear => Compare::LastYear,
    };
    let comparison = compare.period(&period);
    state.from = Some(period.from().to_string());
    state.to = Some(period.to().to_string());
    let mut options = Vec::with_capacity(FORM_FILTERS.len());
    for name in FORM_FILTERS {
        if let Some(dimension) = Dimension::parse(name) {
            options.push((
                name.to_string(),
                Filters::known_values(conn, dimension, MAX_OPTIONS)?,
            ));
        }
    }
    let locale = state.lang;
    let grain = state
        .grain
        .unwrap_or(crate::view::auto_grain(period.days()));
    Ok(Resolved {
        view: ResolvedView {
            state,
            from: period.from(),
            to: period.to(),
            compare_from: comparison.from(),
            compare_to: comparison.to(),
            grain,
            options,
        },
        period,
        comparison,
        compare,
        filters,
        locale,
        as_of: today.min(period.to()),
    })
}

/// The breakdowns of the company view, in order: (KPI, dimension). The channel mix first, then
/// the top stores and regions.
pub const COMPANY_BREAKDOWNS: &[(&str, &str)] = &[
    ("gross_revenue", "channel"),
    ("gross_revenue", "store"),
    ("gross_revenue", "region"),
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
    let keys = [
        "multichannel_purchase_frequency",
        "single_channel_purchase_frequency",
        "multichannel_aov",
        "single_channel_aov",
    ];
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
            cache.cached(&key, || company_blocking(conn, &query))
        })
        .await?;
    Ok(view)
}

pub fn company_blocking(
    conn: &mut duckdb::Connection,
    query: &str,
) -> Result<CompanyView, DashboardError> {
    let mut laps = super::ops::laps::Laps::start("company view");
    let catalog = &kpi::catalog(conn)?;
    let resolved = resolve_view(conn, query)?;
    let locale = resolved.locale;
    let defs = catalog.view("company");
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
        tracing::error!(error = %err, "database failure");
        AppError::Internal
    }
}
