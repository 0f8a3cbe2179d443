//! The KPI report: the JSON contract shared by `omnikpi kpi --json` and `GET /api/v1/kpis`.
//!
//! Shape: `{"from": "YYYY-MM-DD", "to": "YYYY-MM-DD", "kpis": [{"key": ..., "value": ...}]}`,
//! `value` null when the denominator is 0. Later fields are added, never renamed.

use chrono::NaiveDate;
use serde::Serialize;

use crate::i18n::Locale;
use crate::kpi::KpiValue;

use super::catalog::Catalog;
use super::engine::{Engine, compute_compared_on};
use super::filter::Filters;
use super::period::Period;
use super::query::{KpiError, compute_compared};

/// What a report compares the period with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Compare {
    /// The period of the same length ending the day before.
    #[default]
    Previous,
    /// The same dates one year earlier.
    LastYear,
}

impl Compare {
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim() {
            "previous" => Some(Self::Previous),
            "last_year" => Some(Self::LastYear),
            _ => None,
        }
    }

    pub fn period(self, period: &Period) -> Period {
        match self {
            Self::Previous => period.previous(),
            Self::LastYear => period.last_year(),
        }
    }
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct KpiReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub compare: Compare,
    pub compare_from: NaiveDate,
    pub compare_to: NaiveDate,
    /// The filters applied, as `name: "v1,v2"`.
    pub filters: std::collections::BTreeMap<String, String>,
    pub kpis: Vec<KpiValue>,
}

/// What a report covers.
#[derive(Clone, Debug, Default)]
pub struct ReportRequest {
    /// KPI keys; every KPI of the catalog but the internal ones when empty.
    pub keys: Vec<String>,
    pub compare: Compare,
    pub filters: Filters,
    pub locale: Locale,
}

/// Computes the requested KPIs for `period`, marking provisional values as of the database
/// clock's local day.
pub fn build(
    conn: &duckdb::Connection,
    catalog: &Catalog,
    period: &Period,
    request: &ReportRequest,
) -> Result<KpiReport, KpiError> {
    let today = crate::server::view::today(conn)?;
    build_as_of(conn, catalog, period, request, today)
}

/// [`build`] with `today` given: a KPI that looks ahead is provisional while
/// [`Period::windows_open`] on `today`.
pub fn build_as_of(
    conn: &duckdb::Connection,
    catalog: &Catalog,
    period: &Period,
    request: &ReportRequest,
    today: NaiveDate,
) -> Result<KpiReport, KpiError> {
    let keys = requested(catalog, request);
    let comparison = request.compare.period(period);
    let compared = compute_compared(conn, catalog, &keys, period, &comparison, &request.filters)?;
    assemble(catalog, period, request, today, &keys, &compared)
}

/// [`build_as_of`] on another engine (Spark): the same report from the same catalog, rendered
/// for the engine's dialect.
pub fn build_on(
    engine: &mut dyn Engine,
    catalog: &Catalog,
    period: &Period,
    request: &ReportRequest,
    today: NaiveDate,
) -> Result<KpiReport, KpiError> {
    let keys = requested(catalog, request);
    let comparison = request.compare.period(period);
    let compared = compute_compared_on(
        engine,
        catalog,
        &keys,
        period,
        &comparison,
        &request.filters,
    )?;
    assemble(catalog, period, request, today, &keys, &compared)
}

/// The requested keys: every KPI but the internal ones when none is named.
fn requested<'c>(catalog: &'c Catalog, request: &'c ReportRequest) -> Vec<&'c str> {
    if request.keys.is_empty() {
        catalog
            .all()
            .iter()
            .filter(|d| !d.internal)
            .map(|d| d.key.as_str())
            .collect()
    } else {
        request.keys.iter().map(String::as_str).collect()
    }
}

/// The report from each KPI's computed values.
fn assemble(
    catalog: &Catalog,
    period: &Period,
    request: &ReportRequest,
    today: NaiveDate,
    keys: &[&str],
    compared: &std::collections::BTreeMap<String, super::query::Compared>,
) -> Result<KpiReport, KpiError> {
    let locale = request.locale;
    let comparison = request.compare.period(period);
    let mut kpis = Vec::with_capacity(keys.len());
    for key in keys.iter().copied() {
        let def = catalog
            .get(key)
            .ok_or_else(|| KpiError::UnknownKpi(key.to_string()))?;
        let c = compared.get(key);
        kpis.push(KpiValue {
            key: def.key.clone(),
            name: def.name.get(locale).to_string(),
            unit: def.unit,
            direction: def.direction,
            value: c.and_then(|c| c.value),
            previous: c.and_then(|c| c.previous),
            change: c.and_then(|c| c.change),
            // n/a has nothing to revise: no reservation, no chat.
            provisional: c.and_then(|c| c.value).is_some()
                && catalog.looks_ahead(key)
                && period.windows_open(today),
        });
    }
    Ok(KpiReport {
        from: period.from(),
        to: period.to(),
        compare: request.compare,
        compare_from: comparison.from(),
        compare_to: comparison.to(),
        filters: request
            .filters
            .pairs()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        kpis,
    })
}
