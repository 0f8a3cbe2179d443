//! Journey, pain point and customer 360 types shared by the server and the browser.
//!
//! The engine that fills them is `server::journey` (ssr only); only values cross the wire.
//! Times are RFC 3339 strings in the instance's time zone as DuckDB renders them; durations
//! are in hours; conversions are fractions in [0, 1]; money is euros.

pub mod server_fns;

use serde::{Deserialize, Serialize};

/// How the journeys of a period ended.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JourneySummary {
    pub journeys: u64,
    pub converted: u64,
    pub abandoned: u64,
    /// No purchase yet and the inactivity window not over: left out of conversions.
    pub open: u64,
    /// converted / (converted + abandoned).
    pub conversion: Option<f64>,
    pub revenue: f64,
    /// Average revenue of the converted journeys (the value a lost conversion is worth).
    pub average_order_value: Option<f64>,
}

/// One step of a funnel definition: a journey reaches it with an event of one of
/// `event_types`, on one of `channels` (any channel when empty), at or after the previous step.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunnelStepDef {
    pub key: String,
    pub event_types: Vec<String>,
    #[serde(default)]
    pub channels: Vec<String>,
}

impl FunnelStepDef {
    pub fn new(key: &str, event_types: &[&str], channels: &[&str]) -> Self {
        Self {
            key: key.to_string(),
            event_types: event_types.iter().map(|s| s.to_string()).collect(),
            channels: channels.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// The cross-channel funnel: ad click, visit, product view, add to cart or reservation,
    /// purchase.
    pub fn cross_channel() -> Vec<Self> {
        vec![
            Self::new("ad_click", &["click"], &["ads"]),
            Self::new("visit", &["visit"], &[]),
            Self::new("product_view", &["product_view"], &[]),
            Self::new("cart_or_reservation", &["add_to_cart", "reservation"], &[]),
            Self::new("purchase", &["purchase"], &[]),
        ]
    }

    /// The store funnel: a store visit, then a store purchase.
    pub fn store() -> Vec<Self> {
        vec![
            Self::new("store_visit", &["visit"], &["store"]),
            Self::new("store_purchase", &["purchase"], &["store"]),
        ]
    }
}

/// One step of a computed funnel.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FunnelStep {
    pub key: String,
    /// Journeys that reached this step (and every step before it, in order).
    pub journeys: u64,
    /// journeys / journeys of the previous step; `None` for the first step.
    pub conversion_from_previous: Option<f64>,
    /// journeys / journeys of the first step.
    pub conversion_from_first: Option<f64>,
    /// Median hours from the previous step to this one; `None` for the first step.
    pub median_hours_from_previous: Option<f64>,
}

/// A funnel over the journeys of one entry channel (`None`: all journeys).
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Funnel {
    pub entry_channel: Option<String>,
    pub steps: Vec<FunnelStep>,
}

/// The funnel over all journeys and split by the channel of their first step.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FunnelReport {
    pub overall: Funnel,
    pub by_entry_channel: Vec<Funnel>,
}

/// One path: the channels of a journey's steps with consecutive repeats collapsed.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PathRow {
    pub path: Vec<String>,
    pub journeys: u64,
    pub converted: u64,
    /// converted / ended (converted + abandoned) journeys of this path.
    pub conversion: Option<f64>,
    pub revenue: f64,
}

/// One link of the flow chart: journeys going from `from` (at collapsed position `position`,
/// 0-based) to `to` (at `position + 1`).
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlowLink {
    pub position: u32,
    pub from: String,
    pub to: String,
    pub journeys: u64,
}

/// One hand-off: journeys with a step on `from` directly followed by a step on `to`.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HandoffRow {
    pub from: String,
    pub to: String,
    pub journeys: u64,
    pub converted: u64,
    /// converted / ended journeys through this hand-off.
    pub conversion: Option<f64>,
    /// Median hours between the two steps (the first such hand-off of each journey).
    pub median_hours: Option<f64>,
    /// Complaints of these customers within 30 days after the hand-off.
    pub complaints: u64,
    /// NPS answers (0-10) within 30 days after the hand-off, and their mean.
    pub surveys: u64,
    pub average_survey_score: Option<f64>,
}

/// Everything the journey view shows for one period: the journeys' outcome, the two funnels,
/// the top paths with their flow, and the hand-off matrix.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JourneyView {
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
    pub summary: JourneySummary,
    pub funnel: FunnelReport,
    pub store_funnel: FunnelReport,
    pub paths: Vec<PathRow>,
    pub flow: Vec<FlowLink>,
    pub handoffs: Vec<HandoffRow>,
}

/// The parameters of a pain point rule, as used for this computation.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PainParams {
    pub failure_days: i64,
    pub outcome_days: i64,
    pub min_volume: u64,
    /// Rule 5 only: the z score below which a conversion is significantly low.
    pub z_threshold: Option<f64>,
}

/// A month of a pain point's trend (local calendar month of the anchor event).
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PainTrendPoint {
    /// `YYYY-MM`.
    pub month: String,
    /// Journeys whose anchor was judged this month.
    pub exposed: u64,
    pub affected: u64,
}

/// A pain point's journeys by store, channel or campaign.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PainBreakdownRow {
    /// `store`, `channel` or `campaign`.
    pub dimension: String,
    pub value: String,
    pub exposed: u64,
    pub affected: u64,
    /// affected / exposed.
    pub rate: Option<f64>,
}

/// A journey that hit the pain point: opens the customer 360.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PainExample {
    pub journey_id: i64,
    pub customer_id: i64,
    pub at: String,
}

/// One pain point: a rule (1 to 4) or a significantly poor touchpoint, campaign or hand-off
/// found by rule 5.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PainPoint {
    /// The rule key; for rule 5 findings `significance:<kind>:<value>`.
    pub key: String,
    pub rule: String,
    pub number: u32,
    pub name: String,
    pub description: String,
    /// Rule 5: what converts poorly, e.g. `campaign META-SPRING`, `handoff web > store`,
    /// `touchpoint ads:lp:retarget-sofa`.
    pub subject: Option<String>,
    pub params: PainParams,
    /// Journeys whose anchor was judged (its window over) and that hit the pain point.
    pub affected_journeys: u64,
    /// Judged anchors of the rule (hit or not).
    pub exposed_journeys: u64,
    /// Journeys of the comparison group.
    pub reference_journeys: u64,
    pub conversion_affected: Option<f64>,
    pub conversion_reference: Option<f64>,
    /// conversion_reference - conversion_affected.
    pub conversion_gap: Option<f64>,
    pub average_order_value: Option<f64>,
    /// affected_journeys × max(conversion_gap, 0) × average_order_value; 0 below the minimum
    /// volume.
    pub revenue_lost: f64,
    /// The formula with this pain point's numbers, in English (the page renders its own).
    pub formula: String,
    /// Whether both groups reach the rule's minimum volume.
    pub enough_volume: bool,
    /// Rule 5: the z score of the two-proportion test.
    pub z_score: Option<f64>,
    pub trend: Vec<PainTrendPoint>,
    pub breakdown: Vec<PainBreakdownRow>,
    pub examples: Vec<PainExample>,
}

impl PainPoint {
    /// The pain point's name with what rule 5 found, if anything: the title on its page, in
    /// the ranked list and in the before/after comparison.
    pub fn title(&self) -> String {
        match &self.subject {
            Some(subject) => format!("{}: {subject}", self.name),
            None => self.name.clone(),
        }
    }
}

/// One identifier of a customer.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomerIdentifier {
    pub id_type: String,
    pub value: String,
}

impl CustomerIdentifier {
    /// The value as a role without access to personal data sees it: an e-mail keeps its first
    /// letter and its domain (`a***@x.it`), a phone its last 3 digits (`*******567`), any other
    /// identifier its last 3 characters.
    pub fn masked(&self) -> String {
        mask(&self.id_type, &self.value)
    }
}

/// The hex digest of a stored pseudonym (`h:` and 64 hex digits: an e-mail or phone stored
/// hashed, see server::ingest::pseudonym), or `None` for a value in clear.
pub fn pseudonym_hash(value: &str) -> Option<&str> {
    value
        .strip_prefix("h:")
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A stored pseudonym shortened for display (`h:1a2b3c4d…`) whoever looks: the full hash
/// means nothing to a person and is the key to link records elsewhere. Clear values as is.
pub fn shorten_pseudonym(value: &str) -> String {
    match pseudonym_hash(value) {
        Some(hash) => format!("h:{}…", &hash[..8]),
        None => value.to_string(),
    }
}

/// See [`CustomerIdentifier::masked`].
pub fn mask(id_type: &str, value: &str) -> String {
    if let Some(hash) = pseudonym_hash(value) {
        return format!("h:{}…", &hash[..8]);
    }
    match id_type {
        "email" => match value.split_once('@') {
            Some((local, domain)) => {
                let first: String = local.chars().take(1).collect();
                format!("{first}***@{domain}")
            }
            None => "***".to_string(),
        },
        _ => {
            let chars: Vec<char> = value.chars().collect();
            let keep = if chars.len() > 3 { 3 } else { 0 };
            let hidden = chars.len() - keep;
            let stars: String = std::iter::repeat_n('*', hidden.max(3)).collect();
            let tail: String = chars[hidden..].iter().collect();
            format!("{stars}{tail}")
        }
    }
}

/// One event of the customer's timeline.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimelineEvent {
    pub at: String,
    pub source: String,
    pub event_id: String,
    pub event_type: String,
    pub channel: Option<String>,
    pub touchpoint: Option<String>,
    pub order_id: Option<String>,
    pub amount: Option<f64>,
    pub store_id: Option<String>,
    pub campaign_id: Option<String>,
    pub topic: Option<String>,
    pub score: Option<i64>,
    /// The journey the event is a step of (after-sale events belong to none).
    pub journey_id: Option<i64>,
    /// Keys of the pain point rules this event is the anchor of a hit for.
    pub pain_points: Vec<String>,
}

/// One journey with its steps (a pain point's example opens this, then the customer 360).
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JourneyDetail {
    pub journey_id: i64,
    pub customer_id: i64,
    pub started_at: String,
    pub ended_at: String,
    /// `converted`, `abandoned` or `open`.
    pub status: String,
    pub path: Vec<String>,
    pub revenue: f64,
    /// The steps in order (a purchase is one step per order, with the order's total).
    pub steps: Vec<TimelineEvent>,
}

/// A merge of another customer id into this one.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomerMerge {
    pub merged_id: i64,
    pub merged_at: String,
}

/// The customer 360.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomerProfile {
    pub customer_id: i64,
    pub identifiers: Vec<CustomerIdentifier>,
    pub merges: Vec<CustomerMerge>,
    pub first_seen: String,
    pub last_seen: String,
    pub channels: Vec<String>,
    pub segment: Option<String>,
    pub lifetime_revenue: f64,
    pub orders: u64,
    pub returns: u64,
    /// The latest NPS answer (0-10).
    pub last_nps: Option<i64>,
    pub journeys: u64,
    pub timeline: Vec<TimelineEvent>,
    /// Why the identifiers are one customer: the links made while stitching, in order.
    #[serde(default)]
    pub links: Vec<IdentityLink>,
}

/// One link of a customer's identity: the event that carried both identifiers and the rule
/// that let them link.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityLink {
    pub a_type: String,
    pub a_value: String,
    pub b_type: String,
    pub b_value: String,
    /// The rule: the two kinds, e.g. "loyalty_id+email".
    pub rule: String,
    pub priority: i64,
    pub source: String,
    pub event_id: String,
    pub occurred_at: Option<String>,
}

/// What erasing a customer changed.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErasureReport {
    pub customer_id: i64,
    /// Events whose identifiers were removed (they stay, anonymous, in the KPIs).
    pub events_anonymised: u64,
    pub identifiers_removed: u64,
    /// The identifier types removed (never the values).
    pub identifier_types: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_only_what_a_colleague_needs() {
        assert_eq!(mask("email", "anna.rossi@x.it"), "a***@x.it");
        assert_eq!(mask("phone", "+393331234567"), "**********567");
        assert_eq!(mask("loyalty_id", "L1"), "***");
        assert_eq!(mask("email", "broken"), "***");
    }
}
