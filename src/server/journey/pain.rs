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

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use duckdb::Connection;
use serde::Deserialize;

use super::{JourneyError, ratio, scope};
use crate::i18n::Locale;
use crate::journey::{PainBreakdownRow, PainExample, PainParams, PainPoint, PainTrendPoint};
use crate::server::kpi::catalog::Text;
use crate::server::kpi::{Filters, Period};

const RULES_TOML: &str = include_str!("pain_rules.toml");

/// How many example journeys a pain point lists.
const EXAMPLES: usize = 5;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    NoPurchase,
    NoPickup,
    BadAfterSale,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Purchase,
    Repurchase,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    rule: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    key: String,
    number: u32,
    name: Text,
    description: Text,
    anchor: Option<String>,
    reference: Option<String>,
    failure: Option<Failure>,
    failure_days: Option<i64>,
    detractor_max: Option<i64>,
    outcome: Option<Outcome>,
    outcome_days: Option<i64>,
    min_volume: u64,
    z_threshold: Option<f64>,
}

/// A failure rule's definition (rules 1 to 4).
#[derive(Clone, Debug)]
pub struct FailureRule {
    pub anchor: String,
    pub reference: Option<String>,
    pub failure: Failure,
    pub failure_days: i64,
    pub detractor_max: i64,
    pub outcome: Outcome,
    pub outcome_days: i64,
}

#[derive(Clone, Debug)]
pub enum RuleKind {
    Failure(FailureRule),
    Significance { z_threshold: f64 },
}

#[derive(Clone, Debug)]
pub struct Rule {
    pub key: String,
    pub number: u32,
    pub name: Text,
    pub description: Text,
    pub min_volume: u64,
    pub kind: RuleKind,
}

#[derive(Debug)]
pub struct Rules {
    rules: Vec<Rule>,
}

impl Rules {
    /// The rules compiled into the binary (parsed on first use; a broken file is a build
    /// defect that the tests catch).
    pub fn builtin() -> &'static Rules {
        static RULES: OnceLock<Rules> = OnceLock::new();
        RULES.get_or_init(|| match Rules::parse(RULES_TOML) {
            Ok(rules) => rules,
            Err(err) => panic!("{err}"),
        })
    }

    pub fn parse(text: &str) -> Result<Self, JourneyError> {
        let bad = |m: String| JourneyError::Rules(m);
        let raw: RawRules = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        let mut rules = Vec::new();
        for r in raw.rule {
            if r.key.is_empty()
                || !r
                    .key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                return Err(bad(format!("key {:?} must be snake_case ASCII", r.key)));
            }
            if rules.iter().any(|x: &Rule| x.key == r.key) {
                return Err(bad(format!("key {:?} is defined twice", r.key)));
            }
            let kind = match (r.anchor, r.failure, r.outcome, r.z_threshold) {
                (Some(anchor), Some(failure), Some(outcome), None) => {
                    let days = |d: Option<i64>, what: &str| match d {
                        Some(d) if (1..=3650).contains(&d) => Ok(d),
                        _ => Err(bad(format!("{:?} needs {what} between 1 and 3650", r.key))),
                    };
                    RuleKind::Failure(FailureRule {
                        anchor,
                        reference: r.reference,
                        failure,
                        failure_days: days(r.failure_days, "failure_days")?,
                        detractor_max: r.detractor_max.unwrap_or(6),
                        outcome,
                        outcome_days: days(r.outcome_days, "outcome_days")?,
                    })
                }
                (None, None, None, Some(z)) if z > 0.0 => RuleKind::Significance { z_threshold: z },
                _ => {
                    return Err(bad(format!(
                        "{:?} needs either anchor, failure and outcome, or z_threshold > 0",
                        r.key
                    )));
                }
            };
            rules.push(Rule {
                key: r.key,
                number: r.number,
                name: r.name,
                description: r.description,
                min_volume: r.min_volume.max(1),
                kind,
            });
        }
        Ok(Self { rules })
    }

    pub fn all(&self) -> &[Rule] {
        &self.rules
    }

    pub fn get(&self, key: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.key == key)
    }

    /// Plans every rule's conditions against the schema, so a typo fails at start-up.
    pub fn check_against(&self, conn: &Connection) -> Result<(), JourneyError> {
        for rule in &self.rules {
            if let RuleKind::Failure(f) = &rule.kind {
                for cond in std::iter::once(&f.anchor).chain(f.reference.iter()) {
                    conn.prepare(&format!(
                        "SELECT count(*) FROM journey_steps WHERE {cond} LIMIT 0"
                    ))
                    .map_err(|e| JourneyError::Rules(format!("{}: {e}", rule.key)))?;
                }
            }
        }
        Ok(())
    }
}

/// A rule with the instance's overrides (settings `pain.<rule>.<parameter>`) applied.
fn with_overrides(rule: &Rule, settings: &HashMap<String, String>) -> Rule {
    let mut rule = rule.clone();
    let get = |p: &str| settings.get(&format!("pain.{}.{p}", rule.key)).cloned();
    let days = |p: &str, d: i64| {
        get(p)
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|v| (1..=3650).contains(v))
            .unwrap_or(d)
    };
    if let Some(v) = get("min_volume").and_then(|v| v.trim().parse::<u64>().ok()) {
        rule.min_volume = v.max(1);
    }
    match &mut rule.kind {
        RuleKind::Failure(f) => {
            f.failure_days = days("failure_days", f.failure_days);
            f.outcome_days = days("outcome_days", f.outcome_days);
            if let Some(v) = get("detractor_max").and_then(|v| v.trim().parse::<i64>().ok()) {
                f.detractor_max = v.clamp(0, 10);
            }
        }
        RuleKind::Significance { z_threshold } => {
            if let Some(v) = get("z_threshold")
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|v| v.is_finite() && *v > 0.0)
            {
                *z_threshold = v;
            }
        }
    }
    rule
}

fn overrides(conn: &Connection) -> Result<HashMap<String, String>, JourneyError> {
    let mut stmt =
        conn.prepare("SELECT key, value FROM settings WHERE starts_with(key, 'pain.')")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

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
                "(b.event_type IN ('return', 'complaint')
                  OR (b.event_type = 'survey' AND b.score_scale = 'nps'
                      AND b.score <= CAST(${d} AS INTEGER)))
                 AND b.occurred_at >= a.at AND b.occurred_at <= a.at + {fw}"
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
                 AND coalesce(p.order_id, p.source || ':' || p.event_id)
                     IS DISTINCT FROM a.order_key
                 AND p.occurred_at > a.at AND p.occurred_at <= a.at + {ow})"
        ),
    };
    // A reservation without an order id cannot be matched with its pickup: not judged.
    let needs_order = if rule.failure == Failure::NoPickup {
        "AND a.order_id IS NOT NULL"
    } else {
        ""
    };
    let first = |pred: &str, is_reference: bool| {
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
             FROM journey_steps s JOIN jj USING (journey_id)
             WHERE {pred}
             GROUP BY s.journey_id"
        )
    };
    let reference = match &rule.reference {
        Some(pred) => format!(
            "UNION ALL SELECT * FROM ({}) r
             WHERE r.journey_id NOT IN (SELECT journey_id FROM anchor_steps)",
            first(pred, true)
        ),
        None => String::new(),
    };
    let sql = format!(
        "WITH clock AS (SELECT max(occurred_at) AS as_of FROM events),
         jj AS (SELECT j.journey_id FROM journeys j WHERE {cond}),
         anchor_steps AS ({anchor_steps}),
         a AS (SELECT * FROM anchor_steps {reference}),
         firsts AS (
             SELECT s.journey_id,
                    arg_min(s.store_id, s.step) FILTER (WHERE s.store_id IS NOT NULL) AS store_id,
                    arg_min(s.campaign_id, s.step) FILTER (WHERE s.campaign_id IS NOT NULL)
                        AS campaign_id
             FROM journey_steps s JOIN jj USING (journey_id) GROUP BY s.journey_id)
         SELECT a.journey_id, a.customer_id, a.source, a.event_id, CAST(a.at AS VARCHAR),
                strftime(CAST(a.at AS TIMESTAMP), '%Y-%m'), a.reference,
                {failed}, {converted},
                a.at + {fw} <= c.as_of, a.at + {ow} <= c.as_of,
                a.channel, coalesce(a.store_id, f.store_id),
                coalesce(a.campaign_id, f.campaign_id)
         FROM a JOIN firsts f USING (journey_id), clock c
         WHERE true {needs_order}
         ORDER BY a.at, a.journey_id",
        anchor_steps = first(&rule.anchor, false),
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(duckdb::params_from_iter(params), |r| {
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
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

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

/// A failure rule's pain point from its judged anchors.
pub fn evaluate_failure(
    rule: &Rule,
    f: &FailureRule,
    anchors: &[Anchor],
    aov: Option<f64>,
    locale: Locale,
) -> PainPoint {
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
    let conv = |n: u64, of: usize| ratio(n, of as u64);
    let conversion_affected = conv(
        affected_mature.iter().filter(|a| a.converted).count() as u64,
        affected_mature.len(),
    );
    let conversion_reference = conv(
        reference.iter().filter(|a| a.converted).count() as u64,
        reference.len(),
    );
    let gap = match (conversion_reference, conversion_affected) {
        (Some(r), Some(a)) => Some(r - a),
        _ => None,
    };
    let enough =
        affected.len() as u64 >= rule.min_volume && reference.len() as u64 >= rule.min_volume;
    let (lost, formula) = revenue_lost(affected.len() as u64, gap, aov);

    let mut trend: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for a in &exposed {
        let t = trend.entry(a.month.clone()).or_default();
        t.0 += 1;
        t.1 += u64::from(a.failed);
    }
    let mut breakdown = Vec::new();
    for (dimension, value) in [
        (
            "store",
            (|a: &Anchor| a.store.clone()) as fn(&Anchor) -> Option<String>,
        ),
        ("channel", |a: &Anchor| a.channel.clone()),
        ("campaign", |a: &Anchor| a.campaign.clone()),
    ] {
        let mut groups: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for a in &exposed {
            if let Some(v) = value(a) {
                let g = groups.entry(v).or_default();
                g.0 += 1;
                g.1 += u64::from(a.failed);
            }
        }
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
    let mut examples: Vec<&&Anchor> = affected.iter().collect();
    examples.sort_by(|a, b| b.at.cmp(&a.at).then(a.journey_id.cmp(&b.journey_id)));
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
        affected_journeys: affected.len() as u64,
        exposed_journeys: exposed.len() as u64,
        reference_journeys: reference.len() as u64,
        conversion_affected,
        conversion_reference,
        conversion_gap: gap,
        average_order_value: aov,
        revenue_lost: if enough { lost } else { 0.0 },
        formula,
        enough_volume: enough,
        z_score: None,
        trend: trend
            .into_iter()
            .map(|(month, (exposed, affected))| PainTrendPoint {
                month,
                exposed,
                affected,
            })
            .collect(),
        breakdown,
        examples: examples
            .into_iter()
            .take(EXAMPLES)
            .map(|a| PainExample {
                journey_id: a.journey_id,
                customer_id: a.customer_id,
                at: a.at.clone(),
            })
            .collect(),
    }
}

/// The one-sided two-proportion z score of `x1/n1` against `x2/n2` (`None` when undefined).
pub fn z_score(x1: u64, n1: u64, x2: u64, n2: u64) -> Option<f64> {
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let (p1, p2) = (x1 as f64 / n1 as f64, x2 as f64 / n2 as f64);
    let p = (x1 + x2) as f64 / (n1 + n2) as f64;
    let se = (p * (1.0 - p) * (1.0 / n1 as f64 + 1.0 / n2 as f64)).sqrt();
    (se > 0.0).then(|| (p1 - p2) / se)
}

/// Rule 5 over the journeys meeting `cond`.
fn significance(
    conn: &Connection,
    rule: &Rule,
    z_threshold: f64,
    cond: &str,
    params: Vec<String>,
    aov: Option<f64>,
    locale: Locale,
) -> Result<Vec<PainPoint>, JourneyError> {
    let sql = format!(
        "WITH jj AS (SELECT j.journey_id, j.status = 'converted' AS converted,
                            strftime(CAST(j.started_at AS TIMESTAMP), '%Y-%m') AS month,
                            j.customer_id, CAST(j.started_at AS VARCHAR) AS started
                     FROM journeys j WHERE {cond} AND j.status <> 'open'),
         s AS (SELECT s.*, lag(s.channel) OVER (PARTITION BY s.journey_id ORDER BY s.step)
                          AS prev_channel
               FROM journey_steps s JOIN jj USING (journey_id)),
         v AS (
             SELECT DISTINCT journey_id, 'touchpoint' AS kind,
                    coalesce(channel, 'other') || ':' || event_type AS grp,
                    coalesce(channel, 'other') || ':' || coalesce(touchpoint, '') AS value
             FROM s WHERE event_type <> 'purchase'
             UNION
             SELECT DISTINCT journey_id, 'campaign', '', campaign_id
             FROM s WHERE campaign_id IS NOT NULL
             UNION
             SELECT DISTINCT journey_id, 'handoff', '', prev_channel || ' > ' || channel
             FROM s WHERE channel IS NOT NULL AND prev_channel IS NOT NULL
                      AND prev_channel <> channel)
         SELECT v.kind, v.grp, v.value, jj.journey_id, jj.customer_id, jj.converted, jj.month,
                jj.started
         FROM v JOIN jj USING (journey_id)
         ORDER BY v.kind, v.grp, v.value, jj.started DESC, jj.journey_id"
    );
    struct Row {
        journey_id: i64,
        customer_id: i64,
        converted: bool,
        month: String,
        started: String,
    }
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(duckdb::params_from_iter(params))?;
    let mut values: BTreeMap<(String, String, String), Vec<Row>> = BTreeMap::new();
    while let Some(r) = rows.next()? {
        values
            .entry((r.get(0)?, r.get(1)?, r.get(2)?))
            .or_default()
            .push(Row {
                journey_id: r.get(3)?,
                customer_id: r.get(4)?,
                converted: r.get(5)?,
                month: r.get(6)?,
                started: r.get(7)?,
            });
    }
    // Journeys (and conversions) of each kind: a journey counts once per kind.
    let mut kinds: BTreeMap<(String, String), BTreeMap<i64, bool>> = BTreeMap::new();
    for ((kind, grp, _), list) in &values {
        let set = kinds.entry((kind.clone(), grp.clone())).or_default();
        for r in list {
            set.insert(r.journey_id, r.converted);
        }
    }
    let mut found = Vec::new();
    for ((kind, grp, value), list) in &values {
        let all = &kinds[&(kind.clone(), grp.clone())];
        let n_all = all.len() as u64;
        let x_all = all.values().filter(|c| **c).count() as u64;
        let n1 = list.len() as u64;
        let x1 = list.iter().filter(|r| r.converted).count() as u64;
        let (n2, x2) = (n_all - n1, x_all - x1);
        if n1 < rule.min_volume || n2 < rule.min_volume {
            continue;
        }
        let Some(z) = z_score(x1, n1, x2, n2) else {
            continue;
        };
        if z > -z_threshold {
            continue;
        }
        let (p1, p2) = (ratio(x1, n1), ratio(x2, n2));
        let gap = match (p2, p1) {
            (Some(b), Some(a)) => Some(b - a),
            _ => None,
        };
        let (lost, formula) = revenue_lost(n1, gap, aov);
        let mut trend: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for r in list {
            let t = trend.entry(r.month.clone()).or_default();
            t.0 += 1;
            t.1 += u64::from(!r.converted);
        }
        found.push(PainPoint {
            key: format!("{}:{kind}:{value}", rule.key),
            rule: rule.key.clone(),
            number: rule.number,
            name: rule.name.get(locale).to_string(),
            description: rule.description.get(locale).to_string(),
            subject: Some(format!("{kind} {value}")),
            params: PainParams {
                failure_days: 0,
                outcome_days: 0,
                min_volume: rule.min_volume,
                z_threshold: Some(z_threshold),
            },
            affected_journeys: n1,
            exposed_journeys: n1,
            reference_journeys: n2,
            conversion_affected: p1,
            conversion_reference: p2,
            conversion_gap: gap,
            average_order_value: aov,
            revenue_lost: lost,
            formula,
            enough_volume: true,
            z_score: Some(z),
            trend: trend
                .into_iter()
                .map(|(month, (exposed, affected))| PainTrendPoint {
                    month,
                    exposed,
                    affected,
                })
                .collect(),
            breakdown: Vec::new(),
            examples: list
                .iter()
                .filter(|r| !r.converted)
                .take(EXAMPLES)
                .map(|r| PainExample {
                    journey_id: r.journey_id,
                    customer_id: r.customer_id,
                    at: r.started.clone(),
                })
                .collect(),
        });
    }
    Ok(found)
}

/// Every pain point of the period's journeys, ranked by revenue lost (highest first; ties by
/// rule number and key).
pub fn pain_points(
    conn: &Connection,
    period: &Period,
    filters: &Filters,
    locale: Locale,
) -> Result<Vec<PainPoint>, JourneyError> {
    let mut laps = crate::server::ops::laps::Laps::start("pain points");
    let settings = overrides(conn)?;
    let aov = super::funnel::summary(conn, period, filters)?.average_order_value;
    laps.lap("summary");
    let (cond, params) = scope(period, filters, 1);
    let mut points = Vec::new();
    for rule in Rules::builtin().all() {
        let rule = with_overrides(rule, &settings);
        match &rule.kind {
            RuleKind::Failure(f) => {
                let list = anchors(conn, f, &cond, params.clone())?;
                points.push(evaluate_failure(&rule, f, &list, aov, locale));
            }
            RuleKind::Significance { z_threshold } => {
                points.extend(significance(
                    conn,
                    &rule,
                    *z_threshold,
                    &cond,
                    params.clone(),
                    aov,
                    locale,
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
        let broken = Rules::parse(&RULES_TOML.replace("lower(topic)", "lower(no_such_column)"))?;
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
