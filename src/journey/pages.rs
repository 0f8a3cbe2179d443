//! What the journey pages and the customer 360 show, and the server functions that fetch it.
//!
//! Each server function checks the policy first (`server::auth::require`), then calls one
//! function of `server::journey::pages`, which runs the engine, renders the charts and masks
//! identifiers for roles without access to personal data. Changes (a pain point's note, an
//! erasure) are plain form posts handled in `server::journey::forms`.

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
    pub view: JourneyView,
    pub funnel_chart: String,
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

/// `/customer/{id}` and `/customer?q=...`.
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

#[leptos::server(endpoint = "journeys_page")]
pub async fn fetch_journeys_page(
    from: Option<String>,
    to: Option<String>,
    lang: Option<String>,
) -> Result<JourneysPage, AppError> {
    use crate::server::auth::{policy, require};
    require(policy::Access::View(policy::View::Journeys), None)?;
    crate::server::journey::pages::journeys(from, to, lang).await
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
    crate::server::journey::pages::pain(&who, rule, from, to, lang).await
}

#[leptos::server(endpoint = "journey_page")]
pub async fn fetch_journey_page(journey_id: i64) -> Result<JourneyPage, AppError> {
    use crate::server::auth::{policy, require};
    let who = require(policy::Access::View(policy::View::Journeys), None)?;
    crate::server::journey::pages::journey(&who, journey_id).await
}

/// The customer 360 of `customer_id`, or of whoever holds the identifier `q`.
#[leptos::server(endpoint = "customer_page")]
pub async fn fetch_customer_page(
    customer_id: Option<i64>,
    q: Option<String>,
) -> Result<CustomerPage, AppError> {
    use crate::server::auth::{policy, require};
    let who = require(policy::Access::View(policy::View::Customer360), None)?;
    crate::server::journey::pages::customer(&who, customer_id, q).await
}
