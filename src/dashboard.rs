//! What the company, KPI detail and department pages show, as client-safe types, and the
//! server functions that fetch them.
//!
//! Each server function checks the user first (`server::auth::require` with the page's
//! access), takes the page's whole query string, so the server parses exactly what the URL
//! says (strictly: a bad grain or filter is an error, not a silent default), and is a thin
//! call into `server::dashboard`.

use chrono::NaiveDate;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::kpi::{DailyPoint, KpiValue, Status, Unit};
use crate::view::ViewState;

/// The view state after the server resolved it: the dates a preset stands for, the
/// comparison period, and the values each form filter can take.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResolvedView {
    pub state: ViewState,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub compare_from: NaiveDate,
    pub compare_to: NaiveDate,
    /// The grain of series: the URL's, or the default for the period's length.
    pub grain: crate::kpi::Grain,
    /// `(dimension, values)` for the form's select lists.
    pub options: Vec<(String, Vec<String>)>,
}

/// One bucket of a KPI's series.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeriesRow {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub value: Option<f64>,
    /// The bucket at the same position in the comparison period.
    pub comparison: Option<f64>,
    /// The target that applies to this bucket (see `server::dashboard::detail`).
    pub target: Option<f64>,
}

/// One part of a breakdown; `label` `None` is "other".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BreakdownRow {
    pub label: Option<String>,
    pub value: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Breakdown {
    pub kpi: String,
    pub kpi_name: String,
    pub unit: Unit,
    pub dimension: String,
    /// The dimensions this KPI may be broken down by (see `KpiDef::breakdown_dimensions`).
    pub dimensions: Vec<String>,
    pub rows: Vec<BreakdownRow>,
    pub svg: String,
}

/// A target with where the KPI stands against it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetRow {
    pub kpi: String,
    pub department: String,
    pub period: String,
    pub value: f64,
    pub actual: Option<f64>,
    pub projection: Option<f64>,
    pub status: Option<Status>,
    pub as_of: NaiveDate,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchmarkRow {
    pub value: f64,
    pub source: String,
    pub year: Option<i32>,
    pub note: Option<String>,
    /// Where the publication can be read.
    #[serde(default)]
    pub url: Option<String>,
    /// When it was published (a date, a month or a year).
    #[serde(default)]
    pub published: Option<String>,
    /// What the figure covers.
    #[serde(default)]
    pub scope: Option<String>,
}

/// Everything the KPI detail page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KpiDetail {
    pub view: ResolvedView,
    pub kpi: KpiValue,
    /// The definition in plain words, in the UI language.
    pub description: String,
    pub owner: String,
    pub series: Vec<SeriesRow>,
    pub series_svg: String,
    pub breakdown: Breakdown,
    pub targets: Vec<TargetRow>,
    pub benchmarks: Vec<BenchmarkRow>,
    /// The notes on this KPI and on the company view within the period, oldest first.
    pub annotations: Vec<AnnotationRow>,
    /// Whether the visitor may add notes.
    #[serde(default)]
    pub can_annotate: bool,
    /// The session's anti-forgery token when the page has forms to send, else empty.
    #[serde(default)]
    pub csrf: String,
}

/// A dated note on a KPI (`kpi`) or on a whole view (`kpi` `None`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnnotationRow {
    pub id: i64,
    pub kpi: Option<String>,
    pub day: NaiveDate,
    pub text: String,
    pub author: String,
    /// Whether the visitor may edit or delete it (its author or an admin).
    #[serde(default)]
    pub editable: bool,
}

/// A KPI tile of a department: value, change, target and status, and a sparkline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeptTile {
    pub kpi: KpiValue,
    pub target: Option<TargetRow>,
    pub sparkline: String,
    /// The market benchmark shown beside the value, when one is recorded.
    #[serde(default)]
    pub benchmark: Option<BenchmarkRow>,
}

/// Everything a department page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DepartmentView {
    pub view: ResolvedView,
    pub department: String,
    pub tiles: Vec<DeptTile>,
    pub breakdowns: Vec<Breakdown>,
    /// Whether the visitor may set this department's targets (an admin or its lead).
    #[serde(default)]
    pub can_edit_targets: bool,
    /// The session's anti-forgery token when the page has forms to send, else empty.
    #[serde(default)]
    pub csrf: String,
}

/// Everything the company page shows for one period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompanyView {
    pub view: ResolvedView,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub kpis: Vec<KpiValue>,
    pub revenue: Vec<DailyPoint>,
    /// The revenue chart, rendered to SVG on the server.
    pub revenue_chart: String,
    /// Active customers per day, and its chart.
    #[serde(default)]
    pub customers: Vec<DailyPoint>,
    #[serde(default)]
    pub customers_chart: String,
    /// Each tile's sparkline (SVG) by KPI key: the KPI's series over the period.
    #[serde(default)]
    pub sparklines: std::collections::BTreeMap<String, String>,
    /// Channel mix, top stores and top regions (gross revenue split by each).
    #[serde(default)]
    pub breakdowns: Vec<Breakdown>,
    /// Multichannel against single-channel buyers, side by side.
    #[serde(default)]
    pub multichannel: Multichannel,
    /// Each tile's target by KPI key: its owner department's target whose period holds the
    /// day measured on (absent: none is set).
    #[serde(default)]
    pub targets: std::collections::BTreeMap<String, TargetRow>,
    /// Each tile's change against the other comparison (last year when the view compares with
    /// the previous period, and the reverse), by KPI key.
    #[serde(default)]
    pub other_changes: std::collections::BTreeMap<String, Option<f64>>,
    /// Each tile's market benchmark by KPI key (absent: none is recorded).
    #[serde(default)]
    pub benchmarks: std::collections::BTreeMap<String, BenchmarkRow>,
    /// The notes on the company view within the period, oldest first.
    pub annotations: Vec<AnnotationRow>,
    /// Whether the visitor may add notes.
    #[serde(default)]
    pub can_annotate: bool,
    /// The session's anti-forgery token when the page has forms to send, else empty.
    #[serde(default)]
    pub csrf: String,
}

/// Purchase frequency and average order value of identified buyers who interacted on two or
/// more channels and of those on exactly one, over the view's period (`None`: nobody in the
/// group).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Multichannel {
    pub frequency_multi: Option<f64>,
    pub frequency_single: Option<f64>,
    pub frequency_uplift: Option<f64>,
    pub aov_multi: Option<f64>,
    pub aov_single: Option<f64>,
    pub aov_uplift: Option<f64>,
}

/// The company view for the view in `query` (the page's query string; the last 30 days
/// when it names no period).
#[server(endpoint = "company_view")]
pub async fn fetch_company_view(query: String) -> Result<CompanyView, AppError> {
    use crate::server::auth::{self, policy};
    use crate::server::{dashboard, state::AppState};

    let who = auth::require(policy::Access::View(policy::View::Company), None)?;
    let state = expect_context::<AppState>();
    let mut view = dashboard::company(&state.db, query).await?;
    view.can_annotate = policy::decide(
        Some(&who),
        policy::Access::Edit(policy::Edit::Annotations),
        None,
    ) == policy::Decision::Allow;
    crate::server::annotations::mark_editable(&mut view.annotations, &who);
    if view.can_annotate || view.annotations.iter().any(|a| a.editable) {
        view.csrf = crate::server::auth::visitor().await.csrf;
    }
    Ok(view)
}

/// The KPI detail of `key` for the view in `query` (the page's query string).
#[server(endpoint = "kpi_detail")]
pub async fn fetch_kpi_detail(key: String, query: String) -> Result<KpiDetail, AppError> {
    use crate::server::auth::{self, policy};
    use crate::server::{dashboard, state::AppState};
    let who = auth::require(policy::Access::View(policy::View::Company), None)?;
    let state = expect_context::<AppState>();
    let mut detail = dashboard::detail::kpi_detail(&state.db, key, query).await?;
    detail.can_annotate = policy::decide(
        Some(&who),
        policy::Access::Edit(policy::Edit::Annotations),
        None,
    ) == policy::Decision::Allow;
    crate::server::annotations::mark_editable(&mut detail.annotations, &who);
    if detail.can_annotate || detail.annotations.iter().any(|a| a.editable) {
        detail.csrf = crate::server::auth::visitor().await.csrf;
    }
    Ok(detail)
}

/// The view of `department` for the view in `query`.
#[server(endpoint = "department_view")]
pub async fn fetch_department_view(
    department: String,
    query: String,
) -> Result<DepartmentView, AppError> {
    use crate::server::auth::{self, policy};
    use crate::server::{dashboard, state::AppState};
    let who = auth::require(
        policy::Access::View(policy::View::Department),
        Some(&department),
    )?;
    let can_edit_targets = policy::can_edit_targets(&who, &department);
    let state = expect_context::<AppState>();
    let mut view = dashboard::department::department_view(&state.db, department, query).await?;
    view.can_edit_targets = can_edit_targets;
    if can_edit_targets {
        view.csrf = crate::server::auth::visitor().await.csrf;
    }
    Ok(view)
}
