//! What the journey pages and the customer 360 show, and the server functions that fetch it.
//!
//! Each server function checks the user first (`server::auth::require` with the route's
//! access), then calls one function of `server::journey::service`, which resolves the view,
//! runs the engine, renders the charts and masks identifiers for roles without access to
//! personal data. Changes (a pain point's note, an erasure) are plain form posts handled in
//! `server::journey::forms`.

use serde::{Deserialize, Serialize};

use super::{CustomerProfile, JourneyDetail, JourneyView, PainPoint};
use crate::error::AppError;

/// A pain point's acknowledgement and note (table `pain_point_notes`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PainNote {
    pub acknowledged: bool,
    pub acknowledged_at: Option<String>,
    pub acknowledged_by: Option<String>,
    pub note: Option<String>,
    pub updated_at: Option<String>,
}

/// `/journeys`: the journey view, its funnel charts and the ranked pain points (without their
/// trend, breakdown and examples, which the pain point page shows).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JourneysPage {
    /// The period and filters of the URL, with the form's choices.
    pub state: crate::dashboard::ResolvedView,
    pub view: JourneyView,
    pub funnel_chart: String,
    /// The flow chart of the first channels of the paths (table: `view.flow`).
    pub flow_chart: String,
    pub store_funnel_chart: String,
    pub pains: Vec<PainPoint>,
    /// Keys of the pain points marked acknowledged.
    pub acknowledged: Vec<String>,
}

/// `/journeys/pain/{rule}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PainPage {
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
    pub point: PainPoint,
    pub trend_chart: String,
    pub note: PainNote,
    /// The viewer may acknowledge it and write a note.
    pub can_edit: bool,
}

/// `/journeys/journey/{id}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JourneyPage {
    pub detail: JourneyDetail,
    /// The viewer may open the customer 360.
    pub can_open_customer: bool,
}

/// `/customer/{id}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomerPage {
    pub profile: CustomerProfile,
    /// Identifiers are masked for this viewer.
    pub masked: bool,
    /// The viewer may erase the customer (admins).
    pub can_erase: bool,
    /// The viewer may split the customer: remove a link, block an identifier (admins and CX
    /// officers).
    #[serde(default)]
    pub can_split: bool,
}

/// The journey view of the page's query (period, filters, language).
#[leptos::server(endpoint = "journeys_page")]
pub async fn fetch_journeys_page(query: String) -> Result<JourneysPage, AppError> {
    use crate::server::auth::{policy, require};
    require(policy::Access::View(policy::View::Journeys), None)?;
    crate::server::journey::service::journeys_page(query).await
}

#[leptos::server(endpoint = "pain_page")]
pub async fn fetch_pain_page(
    rule: String,
    from: Option<String>,
    to: Option<String>,
    lang: Option<String>,
) -> Result<PainPage, AppError> {
    use crate::server::auth::{policy, require};
    let who = require(policy::Access::View(policy::View::Journeys), None)?;
    crate::server::journey::service::pain_page(&who, rule, from, to, lang).await
}

#[leptos::server(endpoint = "journey_page")]
pub async fn fetch_journey_page(journey_id: i64) -> Result<JourneyPage, AppError> {
    use crate::server::auth::{policy, require};
    let who = require(policy::Access::View(policy::View::Journeys), None)?;
    crate::server::journey::service::journey_page(&who, journey_id).await
}

/// The customer 360 of `customer_id` (a search by identifier is the form post
/// `/customer/search`, which redirects here by number).
#[leptos::server(endpoint = "customer_page")]
pub async fn fetch_customer_page(customer_id: i64) -> Result<CustomerPage, AppError> {
    use crate::server::auth::{policy, require};
    let who = require(policy::Access::View(policy::View::Customer360), None)?;
    crate::server::journey::service::customer_page(&who, customer_id).await
}

/// How many steps the custom funnel form offers.
pub const MAX_FORM_STEPS: usize = 8;

/// Whether a query parameter is a step of the custom funnel (`t1`..`t8`: event types, comma
/// separated; `c1`..`c8`: a channel, empty for any).
pub fn is_step_param(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('t' | 'c'))
        && chars
            .as_str()
            .parse::<usize>()
            .is_ok_and(|n| (1..=MAX_FORM_STEPS).contains(&n))
}

/// The custom funnel's steps as the URL states them: `(event types, channel)` in step order,
/// steps without an event type left out; the cross-channel funnel when none is given.
pub fn steps_from_query<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Vec<(String, String)> {
    let mut slots: Vec<(String, String)> = vec![Default::default(); MAX_FORM_STEPS];
    let mut any = false;
    for (name, value) in pairs {
        if !is_step_param(name) {
            continue;
        }
        let n: usize = name[1..].parse().unwrap_or(1);
        let value = value.trim().to_string();
        if name.starts_with('t') {
            any |= !value.is_empty();
            slots[n - 1].0 = value;
        } else {
            slots[n - 1].1 = value;
        }
    }
    if !any {
        return super::FunnelStepDef::cross_channel()
            .into_iter()
            .map(|d| (d.event_types.join(","), d.channels.join(",")))
            .collect();
    }
    slots.into_iter().filter(|(t, _)| !t.is_empty()).collect()
}

/// The query pairs of `steps` (`t1`, `c1`, ...), for links.
pub fn step_pairs(steps: &[(String, String)]) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for (i, (t, c)) in steps.iter().enumerate() {
        pairs.push((format!("t{}", i + 1), t.clone()));
        if !c.is_empty() {
            pairs.push((format!("c{}", i + 1), c.clone()));
        }
    }
    pairs
}

/// The funnel definition of the URL's steps; a step's key reads `types @ channel`.
pub fn step_defs(steps: &[(String, String)]) -> Vec<super::FunnelStepDef> {
    steps
        .iter()
        .map(|(t, c)| {
            let types: Vec<String> = t
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            let channels: Vec<String> = c
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            let mut key = types.join(" / ");
            if !channels.is_empty() {
                key = format!("{key} @ {}", channels.join(" / "));
            }
            super::FunnelStepDef {
                key,
                event_types: types,
                channels,
            }
        })
        .collect()
}

/// `/journeys/funnel`: a funnel with the steps the URL states.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FunnelPage {
    pub view: crate::dashboard::ResolvedView,
    /// `(event types, channel)` per step, as in the URL.
    pub steps: Vec<(String, String)>,
    pub report: super::FunnelReport,
    pub chart: String,
    /// The journey-step event types and the channels, for the form's select lists.
    pub event_types: Vec<String>,
    pub channels: Vec<String>,
}

/// A proportion before and after a day, with the two-proportion z-test of the change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProportionChange {
    pub key: String,
    pub label: String,
    pub before: u64,
    pub before_of: u64,
    pub after: u64,
    pub after_of: u64,
    pub before_rate: Option<f64>,
    pub after_rate: Option<f64>,
    /// after_rate - before_rate.
    pub difference: Option<f64>,
    /// (after_rate - before_rate) / pooled standard error.
    pub z: Option<f64>,
    /// |z| ≥ 1.96 (5 %, two-sided) with at least `MIN_VOLUME` in each group.
    pub significant: bool,
}

/// A company note to compare around.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnnotationChoice {
    pub id: i64,
    pub day: chrono::NaiveDate,
    pub text: String,
}

/// `/journeys/compare`: the funnel and the pain points N days before a day against N days
/// from it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComparePage {
    pub view: crate::dashboard::ResolvedView,
    pub at: chrono::NaiveDate,
    pub days: u32,
    pub annotation: Option<i64>,
    pub annotations: Vec<AnnotationChoice>,
    pub before_from: chrono::NaiveDate,
    pub before_to: chrono::NaiveDate,
    pub after_from: chrono::NaiveDate,
    pub after_to: chrono::NaiveDate,
    pub steps: Vec<(String, String)>,
    /// Journeys converted of those ended.
    pub conversion: ProportionChange,
    /// Each funnel step reached of the previous step's journeys.
    pub funnel: Vec<ProportionChange>,
    /// Each pain point's affected journeys of those judged.
    pub pains: Vec<ProportionChange>,
}

/// Journeys a group needs before a change is called significant.
pub const MIN_VOLUME: u64 = 10;

#[leptos::server(endpoint = "funnel_page")]
pub async fn fetch_funnel_page(query: String) -> Result<FunnelPage, AppError> {
    use crate::server::auth::{policy, require};
    require(policy::Access::View(policy::View::Journeys), None)?;
    crate::server::journey::service::funnel_page(query).await
}

#[leptos::server(endpoint = "compare_page")]
pub async fn fetch_compare_page(query: String) -> Result<ComparePage, AppError> {
    use crate::server::auth::{policy, require};
    require(policy::Access::View(policy::View::Journeys), None)?;
    crate::server::journey::service::compare_page(query).await
}
