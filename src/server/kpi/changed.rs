//! "What changed": a KPI's change between two periods split between the values of one
//! dimension (channel, store, region, segment, campaign, category, ...).
//!
//! - A sum or a count (an aggregate or a difference of them): each part's own difference.
//! - A ratio of two KPIs: per part, a mix effect (its share of the denominator changed) and a
//!   rate effect (its own ratio changed), see [`super::decompose::mix_rate`].
//!
//! Parts are the most frequent values of either period (as breakdowns choose them) and
//! "other", which holds every other value and the rows without one, so the parts cover all
//! events. The KPI's own change is computed on all events; whatever the contributions do not
//! explain (an order with lines on two channels is one order but counts in both parts; a
//! distinct count) is reported as `unexplained`, never spread over the parts.

use duckdb::Connection;

use crate::insight::{ChangePart, SplitMethod};
use crate::kpi::Unit;

use super::breakdown::{self, MAX_CANDIDATES};
use super::catalog::{Catalog, Formula, KpiDef};
use super::decompose::{self, Pair, Segment};
use super::filter::{Dimension, Filters};
use super::period::Period;
use super::query::{KpiError, compute};

#[derive(Debug, thiserror::Error)]
pub enum ChangedError {
    #[error(transparent)]
    Kpi(#[from] KpiError),
    #[error(
        "{0} is computed by a query across time, so its change cannot be split by parts; \
         choose a sum, a count or a ratio of two KPIs"
    )]
    NotSplittable(String),
}

/// A KPI's change split between the parts of a dimension.
#[derive(Clone, Debug, PartialEq)]
pub struct Split {
    pub current: Option<f64>,
    pub previous: Option<f64>,
    pub delta: Option<f64>,
    pub method: SplitMethod,
    /// Largest absolute contribution first, "other" last.
    pub parts: Vec<ChangePart>,
    pub unexplained: f64,
}

/// How `def` splits, or why it cannot.
pub fn method_of(def: &KpiDef) -> Result<SplitMethod, ChangedError> {
    match &def.formula {
        Formula::Ratio { .. } => Ok(SplitMethod::MixRate),
        Formula::Aggregate(_) | Formula::Difference { .. }
            if matches!(def.unit, Unit::Money | Unit::Count) =>
        {
            Ok(SplitMethod::Difference)
        }
        _ => Err(ChangedError::NotSplittable(def.key.clone())),
    }
}

/// Every KPI that can be split, in catalog order (internal ones left out).
pub fn splittable(catalog: &Catalog) -> Vec<&KpiDef> {
    catalog
        .all()
        .iter()
        .filter(|d| !d.internal && method_of(d).is_ok())
        .collect()
}

/// Splits the change of `key` from `comparison` to `period` between the values of
/// `dimension` (on the events `filters` keep).
pub fn what_changed(
    conn: &Connection,
    catalog: &Catalog,
    key: &str,
    period: &Period,
    comparison: &Period,
    filters: &Filters,
    dimension: Dimension,
) -> Result<Split, ChangedError> {
    let def = catalog
        .get(key)
        .ok_or_else(|| KpiError::UnknownKpi(key.to_string()))?;
    let method = method_of(def)?;
    let current = compute(conn, catalog, &[key], period, filters)?[key];
    let previous = compute(conn, catalog, &[key], comparison, filters)?[key];
    let delta = current.zip(previous).map(|(c, p)| c - p);

    let mut values = breakdown::candidates(conn, period, filters, dimension)?;
    for v in breakdown::candidates(conn, comparison, filters, dimension)? {
        if !values.contains(&v) {
            values.push(v);
        }
    }
    values.truncate(2 * MAX_CANDIDATES);
    let mut scopes: Vec<(Option<String>, Filters)> = values
        .iter()
        .map(|v| (Some(v.clone()), filters.with(dimension, v)))
        .collect();
    let rest = filters.without(dimension, &values);
    if breakdown::remaining_events(conn, period, &rest)? > 0
        || breakdown::remaining_events(conn, comparison, &rest)? > 0
    {
        scopes.push((None, rest));
    }

    let (keys, ratio): (Vec<&str>, Option<(&str, &str)>) = match &def.formula {
        Formula::Ratio {
            numerator,
            denominator,
        } => (
            vec![key, numerator.as_str(), denominator.as_str()],
            Some((numerator.as_str(), denominator.as_str())),
        ),
        _ => (vec![key], None),
    };
    let mut measured = Vec::with_capacity(scopes.len());
    for (value, scope) in &scopes {
        let now = compute(conn, catalog, &keys, period, scope)?;
        let before = compute(conn, catalog, &keys, comparison, scope)?;
        measured.push((value.clone(), now, before));
    }

    let mut parts: Vec<ChangePart> = match ratio {
        None => measured
            .into_iter()
            .map(|(value, now, before)| {
                let (c, p) = (now[key], before[key]);
                ChangePart {
                    value,
                    current: c,
                    previous: p,
                    mix: None,
                    rate: None,
                    contribution: c.unwrap_or(0.0) - p.unwrap_or(0.0),
                }
            })
            .collect(),
        Some((n, d)) => {
            let segments: Vec<Segment> = measured
                .iter()
                .map(|(_, now, before)| Segment {
                    numerator: Pair::new(before[n].unwrap_or(0.0), now[n].unwrap_or(0.0)),
                    denominator: Pair::new(before[d].unwrap_or(0.0), now[d].unwrap_or(0.0)),
                })
                .collect();
            let split = decompose::mix_rate(&segments);
            measured
                .into_iter()
                .enumerate()
                .map(|(i, (value, now, before))| {
                    let effect = split.as_ref().and_then(|s| s.get(i).copied());
                    ChangePart {
                        value,
                        current: now[key],
                        previous: before[key],
                        mix: effect.map(|e| e.mix),
                        rate: effect.map(|e| e.rate),
                        contribution: effect.map(|e| e.total()).unwrap_or(0.0),
                    }
                })
                .collect()
        }
    };
    parts.sort_by(|a, b| {
        a.value
            .is_none()
            .cmp(&b.value.is_none())
            .then(
                b.contribution
                    .abs()
                    .partial_cmp(&a.contribution.abs())
                    .unwrap_or(std::cmp::Ordering::Equal),
            )
            .then_with(|| a.value.cmp(&b.value))
    });
    let explained: f64 = parts.iter().map(|p| p.contribution).sum();
    let unexplained = delta.map(|d| d - explained).unwrap_or(0.0);
    // Rounding noise is not a finding.
    let unexplained = if unexplained.abs() < 1e-9 * (1.0 + delta.unwrap_or(0.0).abs()) {
        0.0
    } else {
        unexplained
    };
    Ok(Split {
        current,
        previous,
        delta,
        method,
        parts,
        unexplained,
    })
}
