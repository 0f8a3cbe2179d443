//! View resolution: what a request asks to see, made concrete against the data. A page's query
//! string (or an API call's `from`/`to` and filters) becomes a [`Period`] (a preset or a
//! missing date resolved against [`today`]), checked [`Filters`], the language and the form's
//! choices. Dashboards, journeys, insights and the JSON API all resolve here, so "the last 30
//! days" and "today" mean the same on every page.
//!
//! What to compute for the view is not decided here: that is each feature's service.

use chrono::NaiveDate;

use crate::dashboard::ResolvedView;
use crate::error::AppError;
use crate::i18n::Locale;
use crate::view::{Comparison, FORM_FILTERS, ViewState};

use super::kpi::report::Compare;
use super::kpi::{Dimension, FilterError, Filters, Period, PeriodError};

/// The most values a filter's select list offers.
pub const MAX_OPTIONS: usize = 200;

/// The period shown when the URL names none: the last 30 days, today included.
pub const DEFAULT_DAYS: u64 = 30;

#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error(transparent)]
    Period(#[from] PeriodError),
    #[error(transparent)]
    Filter(#[from] FilterError),
    /// The query string does not parse (an unknown preset, grain or comparison).
    #[error("{0}")]
    BadQuery(String),
    #[error("database error while resolving the view: {0}")]
    Sql(#[from] duckdb::Error),
}

impl From<ViewError> for AppError {
    fn from(err: ViewError) -> Self {
        match err {
            ViewError::Period(e) => AppError::bad_request(e.to_string()),
            ViewError::Filter(FilterError::Sql(e)) => {
                tracing::error!(error = %e, "filter check failed");
                AppError::Internal
            }
            ViewError::Sql(e) => {
                tracing::error!(error = %e, "view resolution failed");
                AppError::Internal
            }
            ViewError::Filter(e) => AppError::bad_request(e.to_string()),
            ViewError::BadQuery(e) => AppError::bad_request(e),
        }
    }
}

/// Today's date in the instance's time zone (the connection's `TimeZone` setting).
pub fn today(conn: &duckdb::Connection) -> Result<NaiveDate, duckdb::Error> {
    let day: String = conn.query_row("SELECT CAST(CAST(now() AS DATE) AS VARCHAR)", [], |r| {
        r.get(0)
    })?;
    NaiveDate::parse_from_str(&day, "%Y-%m-%d").map_err(|e| {
        duckdb::Error::FromSqlConversionFailure(0, duckdb::types::Type::Text, Box::new(e))
    })
}

/// Resolves the period of a request: both dates, one of them, or neither (the last
/// [`DEFAULT_DAYS`] days).
pub fn resolve_period(
    conn: &duckdb::Connection,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Period, ViewError> {
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

/// A request's filters (`(dimension, "v1,v2")` pairs), checked against the data.
pub fn resolve_filters(
    conn: &duckdb::Connection,
    pairs: &[(String, String)],
) -> Result<Filters, ViewError> {
    let filters = Filters::parse(pairs.iter().map(|(d, v)| (d.as_str(), v.as_str())))?;
    filters.check(conn)?;
    Ok(filters)
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
pub fn resolve_view(conn: &duckdb::Connection, query: &str) -> Result<Resolved, ViewError> {
    let pairs = crate::url::parse(query);
    let mut state = ViewState::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(ViewError::BadQuery)?;
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
