//! The state of a dashboard view as it lives in the URL query: period (dates or a preset),
//! grain, comparison, filters, the breakdown dimension and the language.
//!
//! Shared by the browser and the server: the pages read it from the query to build links and
//! forms, the server parses the same query strictly (a misspelt grain is an error, not a
//! silent default) before computing anything. A copied link therefore reproduces the view.

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::i18n::{Locale, Msg};
use crate::kpi::Grain;

/// The departments that have a view, in navigation order. Which KPIs each one owns comes from
/// the catalog (`owner`), never from this list.
pub const DEPARTMENTS: [&str; 6] = [
    "marketing",
    "sales",
    "stores",
    "online",
    "customer_service",
    "logistics",
];

/// The filter dimensions the period form offers, in order.
pub const FORM_FILTERS: [&str; 6] = [
    "channel", "store", "region", "segment", "campaign", "category",
];

/// Every dimension a KPI can be filtered or broken down by (the engine's list).
pub const DIMENSIONS: [&str; 9] = [
    "channel",
    "store",
    "region",
    "segment",
    "campaign",
    "category",
    "sku",
    "touchpoint",
    "topic",
];

/// The UI name of a department.
pub fn department_name(department: &str, locale: Locale) -> &'static str {
    locale.text(match department {
        "marketing" => Msg::DeptMarketing,
        "sales" => Msg::DeptSales,
        "stores" => Msg::DeptStores,
        "online" => Msg::DeptOnline,
        "customer_service" => Msg::DeptCustomerService,
        "logistics" => Msg::DeptLogistics,
        _ => Msg::NavCompany,
    })
}

/// A target status as a CSS class suffix and its words (never colour alone).
pub fn status_text(
    status: Option<crate::kpi::Status>,
    locale: Locale,
) -> (&'static str, &'static str) {
    use crate::kpi::Status;
    match status {
        Some(Status::OnTrack) => ("on-track", locale.text(Msg::StatusOnTrack)),
        Some(Status::AtRisk) => ("at-risk", locale.text(Msg::StatusAtRisk)),
        Some(Status::OffTrack) => ("off-track", locale.text(Msg::StatusOffTrack)),
        None => ("none", locale.text(Msg::StatusNone)),
    }
}

/// The UI name of a grain.
pub fn grain_label(grain: Grain, locale: Locale) -> &'static str {
    locale.text(match grain {
        Grain::Day => Msg::GrainDay,
        Grain::Week => Msg::GrainWeek,
        Grain::Month => Msg::GrainMonth,
        Grain::Quarter => Msg::GrainQuarter,
    })
}

/// The grain of a series when the URL names none: days up to two months, weeks up to a
/// year, months beyond. A year of days would be 365 points (and, for KPIs that look across
/// time, 365 queries); a user who wants them asks for `grain=day`.
pub fn auto_grain(days: i64) -> Grain {
    match days {
        d if d <= 62 => Grain::Day,
        d if d <= 366 => Grain::Week,
        _ => Grain::Month,
    }
}

/// The UI name of a dimension.
pub fn dimension_name(dimension: &str, locale: Locale) -> &'static str {
    locale.text(match dimension {
        "channel" => Msg::DimChannel,
        "store" => Msg::DimStore,
        "region" => Msg::DimRegion,
        "segment" => Msg::DimSegment,
        "campaign" => Msg::DimCampaign,
        "category" => Msg::DimCategory,
        "sku" => Msg::DimSku,
        "touchpoint" => Msg::DimTouchpoint,
        _ => Msg::DimTopic,
    })
}

/// What the view compares its period with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    /// The period of the same length ending the day before.
    #[default]
    Previous,
    /// The same dates one year earlier.
    LastYear,
}

impl Comparison {
    pub const ALL: [Comparison; 2] = [Self::Previous, Self::LastYear];

    pub fn name(self) -> &'static str {
        match self {
            Self::Previous => "previous",
            Self::LastYear => "last_year",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name.trim())
    }

    pub fn label(self, locale: Locale) -> &'static str {
        locale.text(match self {
            Self::Previous => Msg::ComparePrevious,
            Self::LastYear => Msg::CompareLastYear,
        })
    }
}

/// A named period relative to today; `Custom` uses the dates of the query.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    #[default]
    Custom,
    ThisMonth,
    LastMonth,
    QuarterToDate,
    YearToDate,
    Last12Months,
}

impl Preset {
    pub const ALL: [Preset; 6] = [
        Self::Custom,
        Self::ThisMonth,
        Self::LastMonth,
        Self::QuarterToDate,
        Self::YearToDate,
        Self::Last12Months,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Custom => "custom",
            Self::ThisMonth => "this_month",
            Self::LastMonth => "last_month",
            Self::QuarterToDate => "quarter_to_date",
            Self::YearToDate => "year_to_date",
            Self::Last12Months => "last_12_months",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name.trim())
    }

    pub fn label(self, locale: Locale) -> &'static str {
        locale.text(match self {
            Self::Custom => Msg::PresetCustom,
            Self::ThisMonth => Msg::PresetThisMonth,
            Self::LastMonth => Msg::PresetLastMonth,
            Self::QuarterToDate => Msg::PresetQuarterToDate,
            Self::YearToDate => Msg::PresetYearToDate,
            Self::Last12Months => Msg::PresetLast12Months,
        })
    }

    /// The first and last day (inclusive) of the preset on `today`; `None` for `Custom`.
    /// "To date" presets end today; the last 12 months are the 12 whole months before this one.
    pub fn resolve(self, today: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
        let month_start = today.with_day(1)?;
        Some(match self {
            Self::Custom => return None,
            Self::ThisMonth => (month_start, today),
            Self::LastMonth => (
                month_start.checked_sub_months(Months::new(1))?,
                month_start.pred_opt()?,
            ),
            Self::QuarterToDate => (
                month_start.checked_sub_months(Months::new(today.month0() % 3))?,
                today,
            ),
            Self::YearToDate => (NaiveDate::from_ymd_opt(today.year(), 1, 1)?, today),
            Self::Last12Months => (
                month_start.checked_sub_months(Months::new(12))?,
                month_start.pred_opt()?,
            ),
        })
    }
}

/// The view state of a URL query.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewState {
    pub from: Option<String>,
    pub to: Option<String>,
    pub preset: Preset,
    /// `None`: chosen from the period's length ([`auto_grain`]).
    pub grain: Option<Grain>,
    pub compare: Comparison,
    /// `(dimension, "v1,v2")`, in query order, without empty values.
    pub filters: Vec<(String, String)>,
    /// The breakdown dimension of the KPI detail page.
    pub by: Option<String>,
    pub lang: Locale,
}

impl ViewState {
    /// Reads a query leniently (for links and forms in the browser): unknown values fall back
    /// to the defaults. The server uses [`ViewState::parse`].
    pub fn lenient<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut state = Self::default();
        for (name, value) in pairs {
            let _ = state.set(name, value);
        }
        state
    }

    /// Reads a query strictly: a bad grain, comparison or preset is an error naming it.
    /// Parameters that are not view state are taken as filters (the engine checks their
    /// names); empty values (a form's "all") are ignored.
    pub fn parse<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, String> {
        let mut state = Self::default();
        for (name, value) in pairs {
            state.set(name, value)?;
        }
        Ok(state)
    }

    fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(());
        }
        match name {
            "from" => self.from = Some(value.to_string()),
            "to" => self.to = Some(value.to_string()),
            "preset" => {
                self.preset = Preset::parse(value).ok_or_else(|| {
                    format!(
                        "preset: {value:?} is not one of {}",
                        names(Preset::ALL.map(Preset::name))
                    )
                })?
            }
            "grain" => {
                self.grain = Some(Grain::parse(value).ok_or_else(|| {
                    format!("grain: {value:?} is not day, week, month or quarter")
                })?)
            }
            "compare" => {
                self.compare = Comparison::parse(value)
                    .ok_or_else(|| format!("compare: {value:?} is not previous or last_year"))?
            }
            "by" => {
                if !DIMENSIONS.contains(&value) {
                    return Err(format!("by: {value:?} is not one of {}", names(DIMENSIONS)));
                }
                self.by = Some(value.to_string());
            }
            "lang" => self.lang = Locale::parse(Some(value)),
            // The outcome of the last form post, shown by the page, not view state.
            "ok" | "error" => {}
            _ => self.filters.push((name.to_string(), value.to_string())),
        }
        Ok(())
    }

    /// The value of a filter, as given (`"v1,v2"`), if any.
    pub fn filter(&self, dimension: &str) -> Option<&str> {
        self.filters
            .iter()
            .find(|(d, _)| d == dimension)
            .map(|(_, v)| v.as_str())
    }

    /// The query pairs of this state, defaults left out, in a stable order.
    pub fn pairs(&self) -> Vec<(&str, &str)> {
        let mut pairs = Vec::new();
        if self.preset != Preset::Custom {
            pairs.push(("preset", self.preset.name()));
        } else {
            if let Some(from) = &self.from {
                pairs.push(("from", from.as_str()));
            }
            if let Some(to) = &self.to {
                pairs.push(("to", to.as_str()));
            }
        }
        if let Some(grain) = self.grain {
            pairs.push(("grain", grain.name()));
        }
        if self.compare != Comparison::Previous {
            pairs.push(("compare", self.compare.name()));
        }
        for (d, v) in &self.filters {
            pairs.push((d.as_str(), v.as_str()));
        }
        if let Some(by) = &self.by {
            pairs.push(("by", by.as_str()));
        }
        pairs.push(("lang", self.lang.code()));
        pairs
    }

    /// `?k=v&...` for links (see [`crate::url::query`]).
    pub fn query(&self) -> String {
        crate::url::query(self.pairs())
    }

    /// The same state with the breakdown dimension set (or cleared).
    pub fn with_by(&self, by: Option<&str>) -> Self {
        Self {
            by: by.map(str::to_string),
            ..self.clone()
        }
    }

    pub fn with_grain(&self, grain: Grain) -> Self {
        Self {
            grain: Some(grain),
            ..self.clone()
        }
    }
}

fn names<const N: usize>(list: [&str; N]) -> String {
    list.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
    }

    #[test]
    fn presets_resolve_from_today() {
        let today = d("2026-05-17");
        let r = |p: Preset| p.resolve(today).expect("resolves");
        assert_eq!(r(Preset::ThisMonth), (d("2026-05-01"), d("2026-05-17")));
        assert_eq!(r(Preset::LastMonth), (d("2026-04-01"), d("2026-04-30")));
        assert_eq!(r(Preset::QuarterToDate), (d("2026-04-01"), d("2026-05-17")));
        assert_eq!(r(Preset::YearToDate), (d("2026-01-01"), d("2026-05-17")));
        assert_eq!(r(Preset::Last12Months), (d("2025-05-01"), d("2026-04-30")));
        assert_eq!(Preset::Custom.resolve(today), None);
        // January: last month is December of the year before; March 2024 had a 29 February.
        assert_eq!(
            Preset::LastMonth.resolve(d("2026-01-09")),
            Some((d("2025-12-01"), d("2025-12-31")))
        );
        assert_eq!(
            Preset::LastMonth.resolve(d("2024-03-31")),
            Some((d("2024-02-01"), d("2024-02-29")))
        );
    }

    #[test]
    fn a_query_round_trips_and_empty_form_values_are_ignored() {
        let state = ViewState::parse([
            ("from", "2026-06-01"),
            ("to", "2026-06-30"),
            ("grain", "week"),
            ("compare", "last_year"),
            ("channel", "web"),
            ("store", ""),
            ("lang", "it"),
        ])
        .expect("valid");
        assert_eq!(state.filters, [("channel".to_string(), "web".to_string())]);
        assert_eq!(
            state.query(),
            "?from=2026-06-01&to=2026-06-30&grain=week&compare=last_year&channel=web&lang=it"
        );
        let again = ViewState::parse(state.pairs()).expect("valid");
        assert_eq!(again, state);
    }

    #[test]
    fn strict_parsing_names_the_bad_parameter() {
        let err = ViewState::parse([("grain", "hour")])
            .err()
            .unwrap_or_default();
        assert!(err.starts_with("grain:"), "{err}");
        assert!(ViewState::parse([("compare", "yesterday")]).is_err());
        assert!(ViewState::parse([("by", "colour")]).is_err());
        assert!(ViewState::parse([("preset", "forever")]).is_err());
        // The browser's reading keeps going with the default.
        assert_eq!(ViewState::lenient([("grain", "hour")]).grain, None);
    }

    #[test]
    fn the_default_grain_follows_the_period_length() {
        assert_eq!(auto_grain(31), Grain::Day);
        assert_eq!(auto_grain(62), Grain::Day);
        assert_eq!(auto_grain(63), Grain::Week);
        assert_eq!(auto_grain(366), Grain::Week);
        assert_eq!(auto_grain(367), Grain::Month);
        // An explicit grain stays in links, even the day.
        let state = ViewState::parse([("grain", "day")]).expect("valid");
        assert_eq!(state.query(), "?grain=day&lang=en");
    }

    #[test]
    fn a_preset_replaces_the_dates_in_links() {
        let state =
            ViewState::parse([("preset", "this_month"), ("from", "2026-01-01")]).expect("valid");
        assert_eq!(state.query(), "?preset=this_month&lang=en");
    }
}
