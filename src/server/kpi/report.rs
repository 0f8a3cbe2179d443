//! The KPI report: the JSON contract shared by `omnikpi kpi --json` and `GET /api/v1/kpis`.
//!
//! Shape: `{"from": "YYYY-MM-DD", "to": "YYYY-MM-DD", "kpis": [{"key": ..., "value": ...}]}`,
//! `value` null when the denominator is 0. Later fields are added, never renamed.

use chrono::NaiveDate;
use serde::Serialize;

use crate::i18n::Locale;
use crate::kpi::{Direction, Unit};

use super::catalog::Catalog;
use super::period::Period;
use super::query::{KpiError, compute_with_previous};

#[derive(Debug, Serialize)]
pub struct KpiReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub kpis: Vec<KpiRow>,
}

#[derive(Debug, Serialize)]
pub struct KpiRow {
    pub key: String,
    pub name: String,
    pub unit: Unit,
    pub direction: Direction,
    pub value: Option<f64>,
    pub previous: Option<f64>,
    pub change: Option<f64>,
}

/// Computes `keys` (every KPI of the catalog but the internal ones when empty) for `period`.
pub fn build(
    conn: &duckdb::Connection,
    catalog: &Catalog,
    keys: &[&str],
    period: &Period,
    locale: Locale,
) -> Result<KpiReport, KpiError> {
    let keys: Vec<&str> = if keys.is_empty() {
        catalog
            .all()
            .iter()
            .filter(|d| !d.internal)
            .map(|d| d.key.as_str())
            .collect()
    } else {
        keys.to_vec()
    };
    let compared = compute_with_previous(conn, catalog, &keys, period)?;
    let mut kpis = Vec::with_capacity(keys.len());
    for key in keys {
        let def = catalog
            .get(key)
            .ok_or_else(|| KpiError::UnknownKpi(key.to_string()))?;
        let c = compared.get(key);
        kpis.push(KpiRow {
            key: def.key.clone(),
            name: def.name.get(locale).to_string(),
            unit: def.unit,
            direction: def.direction,
            value: c.and_then(|c| c.value),
            previous: c.and_then(|c| c.previous),
            change: c.and_then(|c| c.change),
        });
    }
    Ok(KpiReport {
        from: period.from(),
        to: period.to(),
        kpis,
    })
}
