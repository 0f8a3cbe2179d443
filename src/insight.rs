//! The insight views, as client-safe types, and the server functions that fetch them: the KPI
//! tree (how net revenue decomposes into the KPIs each department owns, and how much each
//! driver contributed to a period's change) and "what changed" (a KPI's change split between
//! the values of one dimension).
//!
//! The arithmetic lives in `server::kpi::{decompose, tree, changed}`; the server functions
//! check the visitor and call `server::insight`.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::dashboard::ResolvedView;
use crate::error::AppError;
use crate::kpi::{Direction, Status, Unit};

/// How a tree node's children combine into it.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    Sum,
    Difference,
    Product,
}

/// One node of the KPI tree, in depth-first order (`depth` 0 is the root).
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TreeRow {
    /// The KPI; `None` for a residual ("other") node.
    pub key: Option<String>,
    pub name: String,
    pub depth: usize,
    pub unit: Unit,
    pub direction: Direction,
    pub value: Option<f64>,
    pub previous: Option<f64>,
    /// As on the company view: relative for money and counts, a difference for ratios.
    pub change: Option<f64>,
    /// The owner department (none for a residual).
    pub owner: Option<String>,
    /// Against the owner's target whose period contains the day measured on.
    pub status: Option<Status>,
    pub target: Option<f64>,
    /// How this node's children combine into it (`None` for a leaf).
    pub operator: Option<Operator>,
    /// This node's contribution to its parent's change, in the parent's unit.
    pub contribution: Option<f64>,
    /// This node's contribution to the root's change (net revenue, in euros).
    pub to_root: Option<f64>,
    /// Why a residual exists (a residual node only).
    pub note: Option<String>,
    /// Whether the children's contributions were split with logarithms (LMDI) or, because a
    /// value was zero or negative, with the Shapley split.
    pub method: Option<String>,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KpiTree {
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
    pub compare_from: chrono::NaiveDate,
    pub compare_to: chrono::NaiveDate,
    pub rows: Vec<TreeRow>,
    /// The root's change (current − comparison) in its unit.
    pub root_delta: Option<f64>,
}

/// The tree page: the tree and the resolved view.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TreePage {
    pub view: ResolvedView,
    pub tree: KpiTree,
}

/// One part of a "what changed" split.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangePart {
    /// The dimension's value; `None` for "other" (every other value and rows without one).
    pub value: Option<String>,
    /// The KPI on this part, in each period.
    pub current: Option<f64>,
    pub previous: Option<f64>,
    /// Mix effect (ratios only): from the part's weight changing.
    pub mix: Option<f64>,
    /// Rate effect (ratios only): from the part's own rate changing.
    pub rate: Option<f64>,
    /// The part's contribution to the KPI's change (the difference, or mix + rate).
    pub contribution: f64,
}

/// How the change was split.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitMethod {
    /// A sum or a count: each part's own difference.
    Difference,
    /// A ratio: mix and rate effects per part.
    MixRate,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WhatChanged {
    pub kpi: String,
    pub kpi_name: String,
    pub unit: Unit,
    pub direction: Direction,
    pub dimension: String,
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
    pub compare_from: chrono::NaiveDate,
    pub compare_to: chrono::NaiveDate,
    pub current: Option<f64>,
    pub previous: Option<f64>,
    /// current − previous, in the KPI's unit (`None` when either is missing).
    pub delta: Option<f64>,
    pub method: SplitMethod,
    /// Largest absolute contribution first; "other" last.
    pub parts: Vec<ChangePart>,
    /// What the parts do not explain: the KPI's change minus the sum of the contributions
    /// (non-zero only where a value is counted in two parts, e.g. an order with lines on two
    /// channels, or a distinct count).
    pub unexplained: f64,
    /// The top contributors in words, in the UI language.
    pub summary: Vec<String>,
}

/// The "what changed" page: the split, its waterfall chart and the resolved view.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangedPage {
    pub view: ResolvedView,
    pub changed: WhatChanged,
    pub svg: String,
    /// KPIs that can be split, `(key, name)`, for the form.
    pub kpis: Vec<(String, String)>,
    pub dimensions: Vec<String>,
}

/// The KPI tree for the view in `query` (the page's query string).
#[server(endpoint = "kpi_tree")]
pub async fn fetch_kpi_tree(query: String) -> Result<TreePage, AppError> {
    use crate::server::auth::{self, policy};
    use crate::server::state::AppState;
    auth::require(policy::Access::View(policy::View::Company), None)?;
    let state = expect_context::<AppState>();
    crate::server::insight::tree_page(&state.db, query).await
}

/// "What changed" for the view in `query` (`kpi`, `dimension` and the view state).
#[server(endpoint = "what_changed")]
pub async fn fetch_what_changed(query: String) -> Result<ChangedPage, AppError> {
    use crate::server::auth::{self, policy};
    use crate::server::state::AppState;
    let who = auth::require(policy::Access::View(policy::View::Company), None)?;
    let state = expect_context::<AppState>();
    crate::server::insight::changed_page(&state.db, &who, query).await
}
