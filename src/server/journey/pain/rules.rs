//! The pain point rules: `pain_rules.toml` parsed once into validated [`Rules`] (a failure
//! rule, 1 to 4, or the significance rule, 5), checked against the schema at start-up, with
//! the instance's overrides (settings `pain.<rule>.<parameter>`) applied per request.

use std::collections::HashMap;
use std::sync::OnceLock;

use duckdb::Connection;
use serde::Deserialize;

use crate::server::journey::JourneyError;
use crate::server::kpi::catalog::Text;

pub(super) const RULES_TOML: &str = include_str!("../pain_rules.toml");

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
pub(super) fn with_overrides(rule: &Rule, settings: &HashMap<String, String>) -> Rule {
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

pub(super) fn overrides(conn: &Connection) -> Result<HashMap<String, String>, duckdb::Error> {
    let mut stmt =
        conn.prepare("SELECT key, value FROM settings WHERE starts_with(key, 'pain.')")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}
