//! Alerts as the views see them: the terms of a rule (kind, comparison, window), a rule and a
//! firing as rows, the words that describe a firing, and the server function of the alerts
//! page. Rules are evaluated and stored on the server (`server::alerts`); marking read and
//! managing rules are plain form posts (`server::alerts::forms`), so the page works without
//! JavaScript.

use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::i18n::{Locale, Msg};
use crate::kpi::Unit;

/// What a rule watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// The KPI over the window is above (below) a value.
    Threshold,
    /// The KPI over the window changed by more than a percentage vs the window before it.
    Change,
    /// The KPI's projection misses the department's current target ("off track").
    OffTrack,
}

impl RuleKind {
    pub const ALL: [RuleKind; 3] = [Self::Threshold, Self::Change, Self::OffTrack];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Threshold => "threshold",
            Self::Change => "change",
            Self::OffTrack => "off_track",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name.trim())
    }

    pub fn label(self, locale: Locale) -> &'static str {
        locale.text(match self {
            Self::Threshold => Msg::AlertKindThreshold,
            Self::Change => Msg::AlertKindChange,
            Self::OffTrack => Msg::AlertKindOffTrack,
        })
    }
}

/// Which side of the threshold fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Above,
    Below,
}

impl Op {
    pub const ALL: [Op; 2] = [Self::Above, Self::Below];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Above => "above",
            Self::Below => "below",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == name.trim())
    }

    pub fn label(self, locale: Locale) -> &'static str {
        locale.text(match self {
            Self::Above => Msg::AlertOpAbove,
            Self::Below => Msg::AlertOpBelow,
        })
    }
}

/// The rolling period a rule is evaluated over, ending on the day of the evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    Last7Days,
    Last30Days,
    MonthToDate,
}

impl Window {
    pub const ALL: [Window; 3] = [Self::Last7Days, Self::Last30Days, Self::MonthToDate];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Last7Days => "last_7_days",
            Self::Last30Days => "last_30_days",
            Self::MonthToDate => "month_to_date",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.as_str() == name.trim())
    }

    pub fn label(self, locale: Locale) -> &'static str {
        locale.text(match self {
            Self::Last7Days => Msg::AlertWindow7,
            Self::Last30Days => Msg::AlertWindow30,
            Self::MonthToDate => Msg::AlertWindowMtd,
        })
    }
}

/// A stored rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertRule {
    pub id: i64,
    pub kpi: String,
    pub department: String,
    /// View filters in URL query form (`channel=web`), empty for none.
    pub filters: String,
    pub kind: RuleKind,
    pub op: Op,
    /// A value in the KPI's unit (threshold), a percentage (change), unused (off track).
    pub threshold: f64,
    pub window: Window,
    /// Whether the condition held at the last evaluation.
    pub active: bool,
    pub created_by: String,
}

/// One firing of a rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertRow {
    pub id: i64,
    pub rule_id: i64,
    pub kpi: String,
    pub kpi_name: String,
    pub unit: Unit,
    pub department: String,
    pub filters: String,
    pub kind: RuleKind,
    pub op: Op,
    /// The KPI (threshold), the change in percent (change) or the projection (off track).
    pub value: f64,
    /// The threshold, the percentage or the target it was compared with.
    pub threshold: f64,
    pub period_from: chrono::NaiveDate,
    pub period_to: chrono::NaiveDate,
    /// `YYYY-MM-DD HH:MM` in the instance's time zone.
    pub fired_at: String,
    /// Read by the visitor.
    pub read: bool,
}

impl AlertRow {
    /// The firing in words: "Ad spend 1,234.00 € above 1,000.00 € (2026-06-24 – 2026-06-30)".
    pub fn describe(&self, locale: Locale) -> String {
        let value = |v: f64| crate::format::kpi_value(Some(v), self.unit, locale);
        let percent = |v: f64| format!("{} %", crate::format::number(v, 1, locale));
        let what = match self.kind {
            RuleKind::Threshold => format!(
                "{} {} {}",
                value(self.value),
                self.op.label(locale),
                value(self.threshold)
            ),
            RuleKind::Change => format!(
                "{} {} {} {}",
                locale.text(Msg::AlertChanged),
                percent(self.value),
                self.op.label(locale),
                percent(if self.op == Op::Below {
                    -self.threshold
                } else {
                    self.threshold
                })
            ),
            RuleKind::OffTrack => format!(
                "{}: {} {} {}",
                locale.text(Msg::StatusOffTrack),
                locale.text(Msg::AlertProjection),
                value(self.value),
                value(self.threshold)
            ),
        };
        let scope = if self.filters.is_empty() {
            String::new()
        } else {
            format!(" [{}]", self.filters)
        };
        format!(
            "{}{scope}: {what} ({} – {})",
            self.kpi_name,
            crate::format::date(self.period_from, locale),
            crate::format::date(self.period_to, locale)
        )
    }
}

/// A KPI a rule may be set on, for the form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KpiOption {
    pub key: String,
    pub name: String,
}

/// Everything the alerts page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertsPage {
    /// The firings the visitor may see, newest first.
    pub alerts: Vec<AlertRow>,
    pub unread: u32,
    /// The rules of the departments whose rules the visitor may change.
    pub rules: Vec<AlertRule>,
    /// Departments whose rules the visitor may change (empty: no rule management).
    pub manages: Vec<String>,
    pub kpis: Vec<KpiOption>,
    pub csrf: String,
}

/// The alerts page for the signed-in visitor.
#[leptos::server(endpoint = "alerts_page")]
pub async fn fetch_alerts_page(lang: String) -> Result<AlertsPage, AppError> {
    use crate::server::auth::{policy, require};
    let who = require(policy::Access::SignedIn, None)?;
    crate::server::alerts::page(who, Locale::parse(Some(&lang))).await
}
