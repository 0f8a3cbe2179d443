//! Pain points: the rules of `pain_rules.toml` evaluated over the journeys of a period, each
//! with the journeys it affected, the conversion gap against its comparison group and the
//! revenue that gap is worth, ranked by that revenue.
//!
//! Failure rules (1 to 4). Each journey contributes its first anchor step. An anchor is
//! *judged* when its failure window is over (anchor + failure_days × 24 h <= the latest event);
//! *affected* journeys are judged anchors that failed. Conversion is the rule's outcome within
//! outcome_days, measured only on anchors whose outcome window is over. The comparison group is
//! the rule's `reference` anchors (journeys without an anchor of the rule), or the judged
//! anchors that did not fail. Then
//!
//! `revenue lost = affected journeys × max(conversion_reference − conversion_affected, 0) ×
//! average order value`, the average order value being that of the period's converted
//! journeys. Below the rule's minimum volume (affected or reference) it is 0.
//!
//! Rule 5 (significance), for each kind (a touchpoint among the touchpoints of the same
//! channel and event type, e.g. the landing pages of ad clicks; a campaign among campaigns; a
//! hand-off among hand-offs): `n1` ended journeys through the
//! value, `x1` converted; `n2`, `x2` the other ended journeys of the kind. With
//! `p = (x1 + x2) / (n1 + n2)`, `z = (x1/n1 − x2/n2) / sqrt(p (1 − p) (1/n1 + 1/n2))`; a value is
//! a pain point when `n1` and `n2` reach the minimum volume and `z <= −z_threshold` (one-sided).
//! Its lost revenue is `n1 × (x2/n2 − x1/n1) × average order value`.
//!
//! [`rules`] parses the rules; [`anchors`] evaluates the failure rules, [`significance`]
//! rule 5; here they are run for a period and ranked.

pub mod anchors;
pub mod facts;
pub mod rules;
pub mod significance;

use std::collections::HashMap;

use duckdb::Connection;

use super::{JourneyError, scope};
use crate::i18n::Locale;
use crate::journey::PainPoint;
use crate::server::kpi::{Filters, Period};

pub use anchors::{Anchor, Judged, anchors, evaluate_failure};
pub use rules::{Failure, FailureRule, Outcome, Rule, RuleKind, Rules};
pub use significance::{significance, z_score};

use rules::{overrides, with_overrides};

/// How many example journeys a pain point lists.
const EXAMPLES: usize = 5;

/// `affected × max(gap, 0) × aov`, and the formula written out with the numbers.
pub fn revenue_lost(affected: u64, gap: Option<f64>, aov: Option<f64>) -> (f64, String) {
    let (g, v) = (gap.unwrap_or(0.0).max(0.0), aov.unwrap_or(0.0));
    let lost = affected as f64 * g * v;
    let money = |amount: f64| crate::format::money(amount, crate::i18n::Locale::En);
    let formula = format!(
        "{affected} affected journeys × {:.1} % conversion gap × {} average order value = {}",
        g * 100.0,
        money(v),
        money(lost)
    );
    (lost, formula)
}

/// How much of each pain point to compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detail {
    /// The numbers only, as the journeys page lists them: no trend, breakdown or examples
    /// (left empty), which spares their part of the SQL as well.
    List,
    /// Everything the pain point page shows.
    Full,
}

/// Every pain point of the period's journeys, ranked by revenue lost (highest first; ties by
/// rule number and key).
pub fn pain_points(
    conn: &Connection,
    period: &Period,
    filters: &Filters,
    locale: Locale,
) -> Result<Vec<PainPoint>, JourneyError> {
    evaluate(conn, period, filters, locale, None, Detail::Full)
}

/// [`pain_points`] in list mode ([`Detail::List`]): the same numbers, ranked the same way.
pub fn pain_list(
    conn: &Connection,
    period: &Period,
    filters: &Filters,
    locale: Locale,
) -> Result<Vec<PainPoint>, JourneyError> {
    evaluate(conn, period, filters, locale, None, Detail::List)
}

/// The pain point `key` (a rule key, or `significance:kind:value`) in full, computing only its
/// rule; `None` when the period has no such pain point.
pub fn pain_point(
    conn: &Connection,
    period: &Period,
    filters: &Filters,
    locale: Locale,
    key: &str,
) -> Result<Option<PainPoint>, JourneyError> {
    let rule = key.split(':').next().unwrap_or(key);
    if Rules::builtin().get(rule).is_none() {
        return Ok(None);
    }
    Ok(
        evaluate(conn, period, filters, locale, Some(rule), Detail::Full)?
            .into_iter()
            .find(|p| p.key == key),
    )
}

/// The pain points of every rule, or of the rule `only`, ranked by revenue lost.
fn evaluate(
    conn: &Connection,
    period: &Period,
    filters: &Filters,
    locale: Locale,
    only: Option<&str>,
    detail: Detail,
) -> Result<Vec<PainPoint>, JourneyError> {
    let mut laps = crate::server::ops::laps::Laps::start("pain points");
    let settings = overrides(conn)?;
    let aov = super::funnel::summary(conn, period, filters)?.average_order_value;
    laps.lap("summary");
    let (cond, params) = scope(period, filters, 1);
    // The list's significance counts come from the journey rollup when it serves the filters.
    let rolled_up =
        (detail == Detail::List && super::rollup::serves(conn, filters)?).then_some(period);
    // The failure rules' anchors are judged from their facts when those serve the filters.
    let from_facts = facts::serves(conn, filters, &settings)?;
    let mut points = Vec::new();
    for rule in Rules::builtin().all() {
        if only.is_some_and(|key| key != rule.key) {
            continue;
        }
        let rule = with_overrides(rule, &settings);
        match &rule.kind {
            RuleKind::Failure(f) => {
                let judged = if from_facts {
                    facts::judge(conn, &rule.key, f, &cond, params.clone(), detail)?
                } else {
                    Judged::of(&anchors(conn, f, &cond, params.clone(), detail)?, f, detail)
                };
                points.push(evaluate_failure(&rule, f, judged, aov, locale));
            }
            RuleKind::Significance { .. } => {
                points.extend(significance(
                    conn,
                    &rule,
                    &cond,
                    params.clone(),
                    aov,
                    locale,
                    detail,
                    rolled_up,
                )?);
            }
        }
        laps.lap(rule.key.clone());
    }
    points.sort_by(|a, b| {
        b.revenue_lost
            .total_cmp(&a.revenue_lost)
            .then(a.number.cmp(&b.number))
            .then_with(|| a.key.cmp(&b.key))
    });
    Ok(points)
}

/// The failure-rule hits of one customer's journeys: (source, event_id) of each failed anchor
/// with the rule keys, for the customer 360 timeline.
pub fn customer_hits(
    conn: &Connection,
    customer_id: i64,
) -> Result<HashMap<(String, String), Vec<String>>, JourneyError> {
    let settings = overrides(conn)?;
    let mut hits: HashMap<(String, String), Vec<String>> = HashMap::new();
    for rule in Rules::builtin().all() {
        let rule = with_overrides(rule, &settings);
        if let RuleKind::Failure(f) = &rule.kind {
            let list = anchors(
                conn,
                f,
                "j.customer_id = CAST($1 AS BIGINT)",
                vec![customer_id.to_string()],
                Detail::List,
            )?;
            for a in list
                .into_iter()
                .filter(|a| !a.reference && a.decided && a.failed)
            {
                hits.entry((a.source, a.event_id))
                    .or_default()
                    .push(rule.key.clone());
            }
        }
    }
    Ok(hits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_rules_parse_with_five_numbers() {
        let rules = Rules::builtin();
        let numbers: Vec<u32> = rules.all().iter().map(|r| r.number).collect();
        assert_eq!(numbers, [1, 2, 3, 4, 5]);
    }

    #[test]
    fn the_builtin_rules_plan_against_the_schema() -> Result<(), Box<dyn std::error::Error>> {
        let db = crate::server::db::Db::open_in_memory("Europe/Rome")?;
        Rules::builtin().check_against(&db.connect()?)?;
        let broken =
            Rules::parse(&rules::RULES_TOML.replace("lower(topic)", "lower(no_such_column)"))?;
        assert!(broken.check_against(&db.connect()?).is_err());
        Ok(())
    }

    #[test]
    fn a_rule_needs_one_complete_shape() {
        let text = r#"
[[rule]]
key = "half"
number = 1
name = { en = "a", it = "a" }
description = { en = "a", it = "a" }
anchor = "event_type = 'click'"
min_volume = 1
"#;
        assert!(matches!(Rules::parse(text), Err(JourneyError::Rules(_))));
    }

    #[test]
    fn z_score_by_hand() {
        // 10/100 against 30/100: p = 0.2, se = sqrt(0.2 * 0.8 * 0.02) = 0.05657, z = -3.5355.
        let z = z_score(10, 100, 30, 100).expect("defined");
        assert!((z + 3.535_533_9).abs() < 1e-6, "{z}");
        assert_eq!(z_score(0, 10, 0, 10), None);
        assert_eq!(z_score(1, 0, 0, 10), None);
    }

    #[test]
    fn lost_revenue_formula_by_hand() {
        // 40 journeys × (0.5 - 0.1) × 80 € = 1,280 €.
        let (lost, formula) = revenue_lost(40, Some(0.4), Some(80.0));
        assert!((lost - 1280.0).abs() < 1e-9);
        assert_eq!(
            formula,
            "40 affected journeys × 40.0 % conversion gap × €80.00 average order value = €1,280.00"
        );
        // A negative gap is no loss.
        assert_eq!(revenue_lost(40, Some(-0.1), Some(80.0)).0, 0.0);
    }
}
