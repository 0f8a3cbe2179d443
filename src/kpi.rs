//! KPI types shared by the server and the browser, and the server functions the views call.
//!
//! The definitions themselves (formulas, SQL) stay on the server in `server::kpi`; only values,
//! names and units cross the wire.

use chrono::NaiveDate;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// What a KPI's number measures; decides how it is formatted.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Money,
    Count,
    /// A fraction in [0, 1], shown as a percentage.
    Ratio,
    Score,
    Multiple,
}

/// Which way is good news.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    HigherIsBetter,
    LowerIsBetter,
}

/// The width of one point of a series.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grain {
    #[default]
    Day,
    /// ISO weeks, Monday to Sunday.
    Week,
    Month,
    Quarter,
}

impl Grain {
    pub const ALL: [Grain; 4] = [Grain::Day, Grain::Week, Grain::Month, Grain::Quarter];

    pub fn name(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
            Self::Quarter => "quarter",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.name() == name.trim())
    }
}

/// Where a KPI stands against its target, from its projection to the target period's end.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    OnTrack,
    AtRisk,
    OffTrack,
}

/// One KPI computed for a period (the rows of the company view, the API and the CLI).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct KpiValue {
    pub key: String,
    pub name: String,
    pub unit: Unit,
    pub direction: Direction,
    /// `None` when the denominator is 0 (shown as "n/a").
    pub value: Option<f64>,
    /// The same KPI over the comparison period (by default the previous one).
    pub previous: Option<f64>,
    /// Change vs `previous`: relative (0.05 = +5 %) for money, counts and multiples; the plain
    /// difference for ratios (percentage points as a fraction) and scores (points). `None`
    /// when either side is missing, or for a relative change from 0.
    pub change: Option<f64>,
    /// The KPI counts what happens within 7 days after an event of the period (a pickup, a
    /// purchase after a chat) and some of those windows have not closed yet: the value can
    /// still rise (docs/kpis.md, "Provisional values").
    #[serde(default)]
    pub provisional: bool,
}

impl KpiValue {
    /// Whether the change is good news given the KPI's direction (`None` without a change).
    pub fn change_is_good(&self) -> Option<bool> {
        let change = self.change.filter(|c| *c != 0.0)?;
        Some(match self.direction {
            Direction::HigherIsBetter => change > 0.0,
            Direction::LowerIsBetter => change < 0.0,
        })
    }
}

/// One point of a daily series.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DailyPoint {
    pub day: NaiveDate,
    pub value: f64,
}

/// Everything the company page shows for one period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompanyView {
    pub view: crate::dashboard::ResolvedView,
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
    pub breakdowns: Vec<crate::dashboard::Breakdown>,
    /// Multichannel against single-channel buyers, side by side.
    #[serde(default)]
    pub multichannel: Multichannel,
    /// Each tile's target by KPI key: its owner department's target whose period holds the
    /// day measured on (absent: none is set).
    #[serde(default)]
    pub targets: std::collections::BTreeMap<String, crate::dashboard::TargetRow>,
    /// Each tile's change against the other comparison (last year when the view compares with
    /// the previous period, and the reverse), by KPI key.
    #[serde(default)]
    pub other_changes: std::collections::BTreeMap<String, Option<f64>>,
    /// Each tile's market benchmark by KPI key (absent: none is recorded).
    #[serde(default)]
    pub benchmarks: std::collections::BTreeMap<String, crate::dashboard::BenchmarkRow>,
    /// The notes on the company view within the period, oldest first.
    pub annotations: Vec<crate::dashboard::AnnotationRow>,
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
