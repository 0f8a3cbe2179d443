//! KPI types shared by the server and the browser: units, grains, statuses and one KPI's value.
//! The pages that show them, and their server functions, are in [`crate::dashboard`].
//!
//! The definitions themselves (formulas, SQL) stay on the server in `server::kpi`; only values,
//! names and units cross the wire.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

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
