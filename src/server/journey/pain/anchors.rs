//! Failure rules (1 to 4): each journey's first anchor step, judged against the rule's
//! failure and outcome windows ([`anchors`], one statement: `anchors.sql`), and the pain point
//! those anchors make ([`evaluate_failure`]): affected journeys, the conversion gap against
//! the comparison group, the trend, the breakdown and examples.

use std::collections::BTreeMap;

use duckdb::Connection;

use super::rules::{Failure, FailureRule, Outcome, Rule};
use super::{Detail, EXAMPLES, revenue_lost};
use crate::i18n::Locale;
use crate::journey::{PainBreakdownRow, PainExample, PainParams, PainPoint, PainTrendPoint};
use crate::server::journey::{JourneyError, ratio};

/// The statement of [`anchors`], with `{name}` slots filled per rule.
const ANCHORS_SQL: &str = include_str!("anchors.sql");

/// The store and campaign of each journey of `jj` at its first step (of the table `steps`)
/// that has one, for the breakdown.
pub(super) fn firsts(steps: &str) -> String {
    format!(
        "SELECT s.journey_id,
                arg_min(s.store_id, s.step) FILTER (WHERE s.store_id IS NOT NULL) AS store_id,
                arg_min(s.campaign_id, s.step) FILTER (WHERE s.campaign_id IS NOT NULL)
                    AS campaign_id
         FROM {steps} s JOIN jj USING (journey_id) GROUP BY s.journey_id"
    )
}

/// [`FIRSTS`] when no breakdown is wanted: no rows (the anchors keep their own store and
/// campaign only).
const NO_FIRSTS: &str = "SELECT CAST(NULL AS BIGINT) AS journey_id,
           CAST(NULL AS VARCHAR) AS store_id, CAST(NULL AS VARCHAR) AS campaign_id LIMIT 0";

/// One anchor (or reference) step of a journey, judged.
#[derive(Clone, Debug)]
pub struct Anchor {
    pub journey_id: i64,
    pub customer_id: i64,
    pub source: String,
    pub event_id: String,
    pub at: String,
    pub month: String,
    pub reference: bool,
    pub failed: bool,
    pub converted: bool,
    pub decided: bool,
    pub mature: bool,
    pub channel: Option<String>,
    pub store: Option<String>,
    pub campaign: Option<String>,
}

/// The anchors and reference anchors of a failure rule for the journeys meeting `cond` (a
/// condition on alias `j` whose placeholders are `params`).
pub fn anchors(
    conn: &Connection,
    rule: &FailureRule,
    cond: &str,
    mut params: Vec<String>,
    detail: Detail,
) -> Result<Vec<Anchor>, JourneyError> {
    let f = params.len() + 1;
    let o = f + 1;
    let d = f + 2;
    params.push(rule.failure_days.to_string());
    params.push(rule.outcome_days.to_string());
    // DuckDB refuses a parameter the SQL does not use: the threshold only for its rule.
    if rule.failure == Failure::BadAfterSale {
        params.push(rule.detractor_max.to_string());
    }
    let fw = format!("to_hours(CAST(${f} AS BIGINT) * 24)");
    let ow = format!("to_hours(CAST(${o} AS BIGINT) * 24)");
    let failed = match rule.failure {
        Failure::NoPurchase => format!(
            "NOT EXISTS (SELECT 1 FROM events p WHERE p.customer_id = a.customer_id
                 AND p.event_type = 'purchase' AND p.occurred_at >= a.at
                 AND p.occurred_at <= a.at + {fw})"
        ),
        Failure::NoPickup => format!(
            "NOT EXISTS (SELECT 1 FROM events k WHERE k.event_type = 'pickup'
                 AND k.order_id = a.order_id AND k.occurred_at >= a.at
                 AND k.occurred_at <= a.at + {fw})"
        ),
        Failure::BadAfterSale => {
            // Two EXISTS rather than an OR inside one, so DuckDB joins each on an equality.
            let bad = format!(
                "{} AND b.occurred_at >= a.at AND b.occurred_at <= a.at + {fw}",
                bad_after_sale(&format!("${d}"))
            );
            format!(
                "(EXISTS (SELECT 1 FROM events b WHERE b.order_id = a.order_id AND {bad})
                  OR EXISTS (SELECT 1 FROM events b WHERE b.order_id IS NULL
                             AND b.customer_id = a.customer_id AND {bad}))"
            )
        }
    };
    let converted = match rule.outcome {
        Outcome::Purchase => format!(
            "EXISTS (SELECT 1 FROM events p WHERE p.customer_id = a.customer_id
                 AND p.event_type = 'purchase' AND p.occurred_at >= a.at
                 AND p.occurred_at <= a.at + {ow})"
        ),
        Outcome::Repurchase => format!(
            "EXISTS (SELECT 1 FROM events p WHERE p.customer_id = a.customer_id
                 AND p.event_type = 'purchase'
                 AND {OTHER_ORDER} AND p.occurred_at > a.at AND p.occurred_at <= a.at + {ow})"
        ),
    };
    let firsts = match detail {
        Detail::Full => firsts("journey_steps"),
        Detail::List => NO_FIRSTS.to_string(),
    };
    let sql = super::super::render(
        ANCHORS_SQL,
        &[
            ("cond", cond),
            ("firsts", &firsts),
            (
                "anchor_steps",
                &first_steps(&rule.anchor, false, "journey_steps"),
            ),
            ("reference", &references(rule, "journey_steps")),
            ("failed", &failed),
            ("converted", &converted),
            ("fw", &fw),
            ("ow", &ow),
            ("needs_order", needs_order(rule)),
        ],
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(duckdb::params_from_iter(params), judged)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// An event `b` that makes an after-sale experience bad: a return, a complaint, or an NPS
/// answer of at most `threshold` (SQL: a placeholder or a number).
pub(super) fn bad_after_sale(threshold: &str) -> String {
    format!(
        "(b.event_type IN ('return', 'complaint')
          OR (b.event_type = 'survey' AND b.score_scale = 'nps'
              AND b.score <= CAST({threshold} AS INTEGER)))"
    )
}

/// A purchase `p` of another order than the anchor `a`'s (a line without an order id is an
/// order of its own).
pub(super) const OTHER_ORDER: &str =
    "coalesce(p.order_id, p.source || ':' || p.event_id) IS DISTINCT FROM a.order_key";

/// An [`Anchor`] from a row of `anchors.sql`.
fn judged(r: &duckdb::Row<'_>) -> duckdb::Result<Anchor> {
    Ok(Anchor {
        journey_id: r.get(0)?,
        customer_id: r.get(1)?,
        source: r.get(2)?,
        event_id: r.get(3)?,
        at: r.get(4)?,
        month: r.get(5)?,
        reference: r.get(6)?,
        failed: r.get(7)?,
        converted: r.get(8)?,
        decided: r.get(9)?,
        mature: r.get(10)?,
        channel: r.get(11)?,
        store: r.get(12)?,
        campaign: r.get(13)?,
    })
}

/// The first step of each journey of `jj` that `pred` (a rule's condition) keeps, from the
/// table `steps` (`journey_steps`, or the writer's copy of some customers' steps).
pub(super) fn first_steps(pred: &str, is_reference: bool, steps: &str) -> String {
    format!(
        "SELECT s.journey_id, any_value(s.customer_id) AS customer_id,
                arg_min(s.source, s.step) AS source, arg_min(s.event_id, s.step) AS event_id,
                min(s.occurred_at) AS at,
                arg_min(s.order_id, s.step) AS order_id,
                arg_min(s.order_key, s.step) AS order_key,
                arg_min(s.channel, s.step) AS channel,
                arg_min(s.store_id, s.step) AS store_id,
                arg_min(s.campaign_id, s.step) AS campaign_id,
                {is_reference} AS reference
         FROM {steps} s JOIN jj USING (journey_id)
         WHERE {pred}
         GROUP BY s.journey_id"
    )
}

/// The reference anchors of the journeys without an anchor (`anchor_steps`), to follow the
/// anchors with `UNION ALL`; empty when the rule compares with its anchors that did not fail.
pub(super) fn references(rule: &FailureRule, steps: &str) -> String {
    match &rule.reference {
        Some(pred) => format!(
            "UNION ALL SELECT * FROM ({}) r
             WHERE r.journey_id NOT IN (SELECT journey_id FROM anchor_steps)",
            first_steps(pred, true, steps)
        ),
        None => String::new(),
    }
}

/// A reservation without an order id cannot be matched with its pickup: not judged (a
/// condition on the anchor `a`, to follow another).
pub(super) fn needs_order(rule: &FailureRule) -> &'static str {
    if rule.failure == Failure::NoPickup {
        "AND a.order_id IS NOT NULL"
    } else {
        ""
    }
}

/// Exposed and affected anchors per value of a month or a breakdown dimension.
pub type Tallies = BTreeMap<String, (u64, u64)>;

/// What a failure rule's pain point is made of: the counts of its judged anchors and, for
/// the pain point page ([`Detail::Full`]), the groups of its trend and breakdown and its
/// latest examples. [`Judged::of`] tallies raw anchors; the anchor facts give the same from
/// SQL (`facts::judge`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Judged {
    /// Anchors (not reference) whose failure window is over.
    pub exposed: u64,
    /// Exposed anchors that failed.
    pub affected: u64,
    /// Affected anchors whose outcome window is over, and how many of them converted.
    pub affected_mature: u64,
    pub affected_mature_converted: u64,
    /// The comparison group (the rule's reference anchors, else the exposed anchors that did
    /// not fail) whose outcome window is over, and how many of them converted.
    pub reference: u64,
    pub reference_converted: u64,
    /// Per month of the anchor (`YYYY-MM`): exposed and affected anchors.
    pub months: Tallies,
    /// Per dimension (`store`, `channel`, `campaign`) and value: exposed and affected anchors.
    pub groups: Vec<(&'static str, Tallies)>,
    /// The latest affected anchors (by the anchor's time as text, newest first, then by
    /// journey), at most [`EXAMPLES`].
    pub examples: Vec<PainExample>,
}

/// The breakdown's dimensions, in the page's order.
pub(super) const DIMENSIONS: [&str; 3] = ["store", "channel", "campaign"];

impl Judged {
    /// Tallies a failure rule's judged anchors.
    pub fn of(anchors: &[Anchor], f: &FailureRule, detail: Detail) -> Self {
        let exposed: Vec<&Anchor> = anchors
            .iter()
            .filter(|a| !a.reference && a.decided)
            .collect();
        let affected: Vec<&Anchor> = exposed.iter().copied().filter(|a| a.failed).collect();
        let affected_mature: Vec<&&Anchor> = affected.iter().filter(|a| a.mature).collect();
        let reference: Vec<&Anchor> = if f.reference.is_some() {
            anchors.iter().filter(|a| a.reference && a.mature).collect()
        } else {
            exposed
                .iter()
                .copied()
                .filter(|a| !a.failed && a.mature)
                .collect()
        };
        let mut judged = Judged {
            exposed: exposed.len() as u64,
            affected: affected.len() as u64,
            affected_mature: affected_mature.len() as u64,
            affected_mature_converted: affected_mature.iter().filter(|a| a.converted).count()
                as u64,
            reference: reference.len() as u64,
            reference_converted: reference.iter().filter(|a| a.converted).count() as u64,
            ..Judged::default()
        };
        if detail == Detail::List {
            return judged;
        }
        for a in &exposed {
            let t = judged.months.entry(a.month.clone()).or_default();
            t.0 += 1;
            t.1 += u64::from(a.failed);
        }
        for dimension in DIMENSIONS {
            let mut groups = Tallies::new();
            for a in &exposed {
                let value = match dimension {
                    "store" => &a.store,
                    "channel" => &a.channel,
                    _ => &a.campaign,
                };
                if let Some(v) = value {
                    let g = groups.entry(v.clone()).or_default();
                    g.0 += 1;
                    g.1 += u64::from(a.failed);
                }
            }
            judged.groups.push((dimension, groups));
        }
        let mut examples = affected;
        examples.sort_by(|a, b| b.at.cmp(&a.at).then(a.journey_id.cmp(&b.journey_id)));
        judged.examples = examples
            .into_iter()
            .take(EXAMPLES)
            .map(|a| PainExample {
                journey_id: a.journey_id,
                customer_id: a.customer_id,
                at: a.at.clone(),
            })
            .collect();
        judged
    }
}

/// A failure rule's pain point from its judged anchors.
pub fn evaluate_failure(
    rule: &Rule,
    f: &FailureRule,
    judged: Judged,
    aov: Option<f64>,
    locale: Locale,
) -> PainPoint {
    let conversion_affected = ratio(judged.affected_mature_converted, judged.affected_mature);
    let conversion_reference = ratio(judged.reference_converted, judged.reference);
    let gap = match (conversion_reference, conversion_affected) {
        (Some(r), Some(a)) => Some(r - a),
        _ => None,
    };
    let enough = judged.affected >= rule.min_volume && judged.reference >= rule.min_volume;
    let (lost, formula) = revenue_lost(judged.affected, gap, aov);
    let trend = judged
        .months
        .into_iter()
        .map(|(month, (exposed, affected))| PainTrendPoint {
            month,
            exposed,
            affected,
        })
        .collect();
    let mut breakdown = Vec::new();
    for (dimension, groups) in judged.groups {
        let mut rows: Vec<PainBreakdownRow> = groups
            .into_iter()
            .map(|(value, (exposed, affected))| PainBreakdownRow {
                dimension: dimension.to_string(),
                value,
                exposed,
                affected,
                rate: ratio(affected, exposed),
            })
            .collect();
        rows.sort_by(|a, b| {
            b.affected
                .cmp(&a.affected)
                .then_with(|| a.value.cmp(&b.value))
        });
        breakdown.extend(rows);
    }
    PainPoint {
        key: rule.key.clone(),
        rule: rule.key.clone(),
        number: rule.number,
        name: rule.name.get(locale).to_string(),
        description: rule.description.get(locale).to_string(),
        subject: None,
        params: PainParams {
            failure_days: f.failure_days,
            outcome_days: f.outcome_days,
            min_volume: rule.min_volume,
            z_threshold: None,
        },
        affected_journeys: judged.affected,
        exposed_journeys: judged.exposed,
        reference_journeys: judged.reference,
        conversion_affected,
        conversion_reference,
        conversion_gap: gap,
        average_order_value: aov,
        revenue_lost: if enough { lost } else { 0.0 },
        formula,
        enough_volume: enough,
        z_score: None,
        trend,
        breakdown,
        examples: judged.examples,
    }
}
