//! What the insight pages and their API endpoints show, assembled from the KPI engine
//! (`kpi::tree`, `kpi::changed`), the targets and the chart renderer.
//!
//! Server functions and API handlers call these and nothing else; the "what changed" of a
//! department's KPI is checked here against the department view rule (the route's rule only
//! knows the company view).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use duckdb::Connection;

use crate::error::AppError;
use crate::format;
use crate::i18n::{Locale, Msg};
use crate::insight::{ChangedPage, KpiTree, Operator, TreePage, TreeRow, WhatChanged};
use crate::kpi::{Direction, Unit};

use super::auth::policy::{self, Access, Decision, Principal, View};
use super::charts;
use super::dashboard::DashboardError;
use super::dashboard::department::current_target;
use super::dashboard::detail::target_rows;
use super::db::Db;
use super::kpi::changed::{self, ChangedError};
use super::kpi::decompose::ProductMethod;
use super::kpi::query::change;
use super::kpi::tree::{self, Tree};
use super::kpi::{self, Catalog, Dimension, Filters, Period};
use super::view::resolve_view;

/// The KPI "what changed" shows when the URL names none.
pub const DEFAULT_KPI: &str = "net_revenue";
/// The dimension "what changed" splits by when the URL names none.
pub const DEFAULT_DIMENSION: &str = "channel";
/// How many contributors the summary names.
pub const SUMMARY_PARTS: usize = 3;
/// How many parts the waterfall draws before folding the rest into one bar.
pub const WATERFALL_PARTS: usize = 10;

impl From<ChangedError> for DashboardError {
    fn from(err: ChangedError) -> Self {
        match err {
            ChangedError::Kpi(e) => DashboardError::Kpi(e),
            e @ ChangedError::NotSplittable(_) => DashboardError::BadRequest(e.to_string()),
        }
    }
}

/// The KPI tree for `period` against `comparison`.
pub fn kpi_tree(
    conn: &Connection,
    period: &Period,
    comparison: &Period,
    filters: &Filters,
    locale: Locale,
    as_of: NaiveDate,
) -> Result<KpiTree, DashboardError> {
    let catalog = Catalog::builtin();
    let tree = Tree::builtin();
    let keys = tree.keys();
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let compared = kpi::compute_compared(conn, catalog, &key_refs, period, comparison, filters)?;
    let values: tree::PeriodValues = compared
        .iter()
        .map(|(k, c)| (k.clone(), (c.value, c.previous)))
        .collect();
    let owners = kpi::owners(conn)?;
    let evaluated = tree::evaluate(tree, &values);
    let mut rows = Vec::with_capacity(evaluated.len());
    for e in evaluated {
        let row = match &e.key {
            Some(key) => {
                let def = catalog
                    .get(key)
                    .ok_or_else(|| DashboardError::NotFound(key.clone()))?;
                let owner = owners
                    .get(key)
                    .cloned()
                    .unwrap_or_else(|| def.owner.clone());
                // Targets are set for the whole business: a filtered tree has no status.
                let target = if filters.is_empty() {
                    let rows: Vec<_> = target_rows(conn, catalog, key, as_of)?
                        .into_iter()
                        .filter(|r| r.department == owner)
                        .collect();
                    current_target(&rows, key, as_of)
                } else {
                    None
                };
                TreeRow {
                    key: Some(key.clone()),
                    name: def.name.get(locale).to_string(),
                    depth: e.depth,
                    unit: def.unit,
                    direction: def.direction,
                    value: e.value,
                    previous: e.previous,
                    change: change(Some(def.unit), e.value, e.previous),
                    owner: Some(owner),
                    status: target.as_ref().and_then(|t| t.status),
                    target: target.map(|t| t.value),
                    operator: e.operator,
                    contribution: e.contribution,
                    to_root: e.to_root,
                    note: None,
                    method: e.method.map(method_name),
                }
            }
            None => {
                let parent = e.parent.clone().unwrap_or_default();
                let node = tree
                    .node(&parent)
                    .ok_or_else(|| DashboardError::NotFound(parent.clone()))?;
                let parent_def = catalog
                    .get(&parent)
                    .ok_or_else(|| DashboardError::NotFound(parent.clone()))?;
                // A product's residual is a factor; a sum's is in the parent's unit.
                let unit = if node.operator == Operator::Product {
                    Unit::Multiple
                } else {
                    parent_def.unit
                };
                TreeRow {
                    key: None,
                    name: node
                        .residual
                        .as_ref()
                        .map(|t| t.get(locale).to_string())
                        .unwrap_or_else(|| locale.text(Msg::Other).to_string()),
                    depth: e.depth,
                    unit,
                    direction: Direction::HigherIsBetter,
                    value: e.value,
                    previous: e.previous,
                    change: change(Some(unit), e.value, e.previous),
                    owner: None,
                    status: None,
                    target: None,
                    operator: None,
                    contribution: e.contribution,
                    to_root: e.to_root,
                    note: Some(locale.text(Msg::TreeResidualNote).to_string()),
                    method: None,
                }
            }
        };
        rows.push(row);
    }
    let root_delta = rows
        .first()
        .and_then(|r| r.value.zip(r.previous))
        .map(|(v, p)| v - p);
    Ok(KpiTree {
        from: period.from(),
        to: period.to(),
        compare_from: comparison.from(),
        compare_to: comparison.to(),
        rows,
        root_delta,
    })
}

fn method_name(method: ProductMethod) -> String {
    match method {
        ProductMethod::LogChange => "log_change".to_string(),
        ProductMethod::Shapley => "shapley".to_string(),
    }
}

/// "What changed" of `key` by `dimension`, with the summary in words.
#[allow(clippy::too_many_arguments)]
pub fn what_changed(
    conn: &Connection,
    key: &str,
    dimension: Dimension,
    period: &Period,
    comparison: &Period,
    filters: &Filters,
    locale: Locale,
) -> Result<WhatChanged, DashboardError> {
    let catalog = Catalog::builtin();
    let def = catalog
        .get(key)
        .ok_or_else(|| DashboardError::NotFound(format!("KPI {key:?}")))?;
    let split = changed::what_changed(conn, catalog, key, period, comparison, filters, dimension)?;
    let name = def.name.get(locale).to_string();
    let summary = summary(&name, def.unit, &split, locale);
    Ok(WhatChanged {
        kpi: key.to_string(),
        kpi_name: name,
        unit: def.unit,
        direction: def.direction,
        dimension: dimension.name().to_string(),
        from: period.from(),
        to: period.to(),
        compare_from: comparison.from(),
        compare_to: comparison.to(),
        current: split.current,
        previous: split.previous,
        delta: split.delta,
        method: split.method,
        parts: split.parts,
        unexplained: split.unexplained,
        summary,
    })
}

/// A signed step in the KPI's unit: points for ratios and scores, the unit otherwise.
pub fn signed(value: f64, unit: Unit, locale: Locale) -> String {
    match unit {
        Unit::Ratio | Unit::Score => format::change_in(value, unit, locale),
        _ => {
            let sign = if value > 0.0 { "+" } else { "" };
            format!("{sign}{}", format::kpi_value(Some(value), unit, locale))
        }
    }
}

fn part_label(value: &Option<String>, locale: Locale) -> String {
    value
        .clone()
        .unwrap_or_else(|| locale.text(Msg::Other).to_string())
}

/// The change in one sentence, then the largest contributors, each in one sentence.
fn summary(name: &str, unit: Unit, split: &changed::Split, locale: Locale) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(delta) = split.delta {
        out.push(
            locale
                .text(Msg::ChangedSummaryTotal)
                .replace("{kpi}", name)
                .replace(
                    "{previous}",
                    &format::kpi_value(split.previous, unit, locale),
                )
                .replace("{current}", &format::kpi_value(split.current, unit, locale))
                .replace("{delta}", &signed(delta, unit, locale)),
        );
    }
    let mut ranked: Vec<_> = split
        .parts
        .iter()
        .filter(|p| p.contribution != 0.0)
        .collect();
    ranked.sort_by(|a, b| {
        b.contribution
            .abs()
            .partial_cmp(&a.contribution.abs())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    for part in ranked.into_iter().take(SUMMARY_PARTS) {
        let label = part_label(&part.value, locale);
        let text = match (part.mix, part.rate) {
            (Some(mix), Some(rate)) => locale
                .text(Msg::ChangedSummaryMixRate)
                .replace("{rate}", &signed(rate, unit, locale))
                .replace("{mix}", &signed(mix, unit, locale)),
            _ => locale.text(Msg::ChangedSummaryPart).to_string(),
        };
        out.push(
            text.replace("{part}", &label)
                .replace("{contribution}", &signed(part.contribution, unit, locale)),
        );
    }
    if split.unexplained != 0.0 {
        out.push(
            locale
                .text(Msg::ChangedSummaryUnexplained)
                .replace("{amount}", &signed(split.unexplained, unit, locale)),
        );
    }
    out
}

/// The waterfall of a split: comparison value, the largest parts, the rest, the period's value.
pub fn waterfall_svg(changed: &WhatChanged, locale: Locale) -> Result<String, DashboardError> {
    let (Some(previous), Some(current)) = (changed.previous, changed.current) else {
        return Ok(String::new());
    };
    let other = locale.text(Msg::Other);
    let mut steps: Vec<(String, f64)> = Vec::new();
    let mut rest = changed.unexplained;
    let mut named = 0usize;
    for part in &changed.parts {
        if part.value.is_some() && named < WATERFALL_PARTS {
            steps.push((part_label(&part.value, locale), part.contribution));
            named += 1;
        } else {
            rest += part.contribution;
        }
    }
    if rest != 0.0 {
        steps.push((other.to_string(), rest));
    }
    let unit = changed.unit;
    let title = format!("{}: {}", locale.text(Msg::WhatChanged), changed.kpi_name);
    charts::waterfall(
        (locale.text(Msg::WaterfallStart), previous),
        &steps,
        (locale.text(Msg::WaterfallEnd), current),
        other,
        &title,
        &|v| format::kpi_value(Some(v), unit, locale),
        &|v| signed(v, unit, locale),
    )
    .map_err(DashboardError::Chart)
}

/// The tree page for the view in `query`.
pub async fn tree_page(db: &Db, query: String) -> Result<TreePage, AppError> {
    Ok(db
        .run(move |conn| -> Result<TreePage, DashboardError> {
            let resolved = resolve_view(conn, &query)?;
            let tree = kpi_tree(
                conn,
                &resolved.period,
                &resolved.comparison,
                &resolved.filters,
                resolved.locale,
                resolved.as_of,
            )?;
            Ok(TreePage {
                view: resolved.view,
                tree,
            })
        })
        .await?)
}

/// Splits a page's query into the KPI (`kpi`) and the view state (everything else; the
/// dimension is the view's `by`).
pub fn split_query(query: &str) -> (Option<String>, String) {
    let pairs = crate::url::parse(query);
    let kpi = pairs
        .iter()
        .find(|(k, v)| k == "kpi" && !v.trim().is_empty())
        .map(|(_, v)| v.trim().to_string());
    let rest = crate::url::query(
        pairs
            .iter()
            .filter(|(k, _)| k != "kpi")
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    (kpi, rest.trim_start_matches('?').to_string())
}

/// Whether `who` may see "what changed" of `key`: the department view rule for its owner.
pub fn may_see(conn: &Connection, who: &Principal, key: &str) -> Result<bool, DashboardError> {
    let owners: BTreeMap<String, String> = kpi::owners(conn)?;
    let Some(owner) = owners.get(key) else {
        return Err(DashboardError::NotFound(format!("KPI {key:?}")));
    };
    Ok(policy::decide(Some(who), Access::View(View::Department), Some(owner)) == Decision::Allow)
}

/// The "what changed" page for the view in `query`.
pub async fn changed_page(
    db: &Db,
    who: &Principal,
    query: String,
) -> Result<ChangedPage, AppError> {
    let who = who.clone();
    db.run(
        move |conn| -> Result<Result<ChangedPage, AppError>, DashboardError> {
            let (kpi, rest) = split_query(&query);
            let key = kpi.unwrap_or_else(|| DEFAULT_KPI.to_string());
            if !may_see(conn, &who, &key)? {
                return Ok(Err(AppError::Forbidden));
            }
            let resolved = resolve_view(conn, &rest)?;
            let dimension_name = resolved
                .state()
                .by
                .clone()
                .unwrap_or_else(|| DEFAULT_DIMENSION.to_string());
            let dimension = Dimension::parse(&dimension_name)
                .ok_or_else(|| DashboardError::BadRequest(format!("by: {dimension_name:?}")))?;
            let changed = what_changed(
                conn,
                &key,
                dimension,
                &resolved.period,
                &resolved.comparison,
                &resolved.filters,
                resolved.locale,
            )?;
            let svg = waterfall_svg(&changed, resolved.locale)?;
            let locale = resolved.locale;
            let kpis = changed::splittable(Catalog::builtin())
                .into_iter()
                .map(|d| (d.key.clone(), d.name.get(locale).to_string()))
                .collect();
            Ok(Ok(ChangedPage {
                view: resolved.view,
                changed,
                svg,
                kpis,
                dimensions: Dimension::ALL
                    .iter()
                    .map(|d| d.name().to_string())
                    .collect(),
            }))
        },
    )
    .await?
}
