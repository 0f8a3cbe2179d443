//! Identity rules as data: the TOML document of `rules.toml` (the retail defaults) or the
//! version an admin stored in `identity_rules`, parsed and validated with line numbers.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::IDENTIFIERS;

/// The retail defaults compiled into the binary.
pub const DEFAULT_RULES: &str = include_str!("rules.toml");

/// How many of [`IDENTIFIERS`] (the first ones) name a person when a rules document does not
/// say.
const PERSON_LEVEL: usize = 4;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("identity rules, line {line}: {message}")]
pub struct RulesError {
    pub line: usize,
    pub message: String,
}

/// What the rules say about one identifier kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeRule {
    pub person: bool,
    /// 0: no limit.
    pub max_per_customer: usize,
    /// 0: the instance setting `identity_max_links`.
    pub max_links: usize,
    pub allow: Vec<String>,
    pub block: Vec<String>,
}

/// The parsed rules: one [`TypeRule`] per entry of [`IDENTIFIERS`] (same order) and the
/// priority of each pair of kinds that may link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rules {
    pub types: Vec<TypeRule>,
    /// `(a, b)` with `a < b` (indexes into [`IDENTIFIERS`]) → priority.
    pub links: BTreeMap<(u8, u8), i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    #[serde(default)]
    types: BTreeMap<Spanned<String>, Spanned<RawType>>,
    #[serde(default)]
    link: Vec<Spanned<RawLink>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawType {
    person: Option<bool>,
    #[serde(default)]
    max_per_customer: i64,
    #[serde(default)]
    max_links: i64,
    #[serde(default)]
    allow: Vec<Spanned<String>>,
    #[serde(default)]
    block: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLink {
    types: Spanned<Vec<Spanned<String>>>,
    priority: Spanned<i64>,
}

/// The 1-based line of byte `offset` in `text`.
fn line_at(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(offset.min(text.len()))
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The longest pattern or value the rules accept, so a document cannot make matching slow.
const MAX_PATTERN: usize = 200;

impl Rules {
    /// The built-in retail defaults.
    pub fn defaults() -> Rules {
        match Rules::parse(DEFAULT_RULES) {
            Ok(rules) => rules,
            // A broken built-in file is a build defect the unit tests catch.
            Err(err) => panic!("{err}"),
        }
    }

    pub fn parse(text: &str) -> Result<Rules, RulesError> {
        let at = |offset: usize, message: String| RulesError {
            line: line_at(text, offset),
            message,
        };
        let raw: RawRules = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            at(offset, e.message().to_string())
        })?;
        let kind = |name: &Spanned<String>| -> Result<u8, RulesError> {
            IDENTIFIERS
                .iter()
                .position(|c| *c == name.get_ref())
                .map(|i| i as u8)
                .ok_or_else(|| {
                    at(
                        name.span().start,
                        format!(
                            "unknown identifier {:?} (one of {})",
                            name.get_ref(),
                            IDENTIFIERS.join(", ")
                        ),
                    )
                })
        };
        let mut types: Vec<TypeRule> = (0..IDENTIFIERS.len())
            .map(|i| TypeRule {
                person: i < PERSON_LEVEL,
                max_per_customer: 0,
                max_links: 0,
                allow: Vec::new(),
                block: Vec::new(),
            })
            .collect();
        for (name, raw) in &raw.types {
            let index = usize::from(kind(name)?);
            let start = raw.span().start;
            let raw = raw.get_ref();
            let count = |v: i64, what: &str| {
                usize::try_from(v)
                    .ok()
                    .filter(|&v| v <= 1_000_000)
                    .ok_or_else(|| at(start, format!("{what} must be between 0 and 1000000")))
            };
            let patterns = |list: &[Spanned<String>]| -> Result<Vec<String>, RulesError> {
                list.iter()
                    .map(|p| {
                        let v = p.get_ref().trim();
                        if v.is_empty() || v.chars().count() > MAX_PATTERN {
                            Err(at(
                                p.span().start,
                                format!("a pattern must be 1 to {MAX_PATTERN} characters"),
                            ))
                        } else {
                            Ok(v.to_string())
                        }
                    })
                    .collect()
            };
            types[index] = TypeRule {
                person: raw.person.unwrap_or(index < PERSON_LEVEL),
                max_per_customer: count(raw.max_per_customer, "max_per_customer")?,
                max_links: count(raw.max_links, "max_links")?,
                allow: patterns(&raw.allow)?,
                block: patterns(&raw.block)?,
            };
        }
        if !types.iter().any(|t| t.person) {
            return Err(at(
                0,
                "at least one identifier must have person = true".into(),
            ));
        }
        let mut links = BTreeMap::new();
        for link in &raw.link {
            let start = link.span().start;
            let link = link.get_ref();
            let pair = link.types.get_ref();
            if pair.len() != 2 {
                return Err(at(
                    link.types.span().start,
                    "a link names exactly two identifiers, e.g. types = [\"loyalty_id\", \"email\"]"
                        .into(),
                ));
            }
            let (a, b) = (kind(&pair[0])?, kind(&pair[1])?);
            if a == b {
                return Err(at(
                    link.types.span().start,
                    "a link joins two different identifiers".into(),
                ));
            }
            let priority = *link.priority.get_ref();
            if !(0..=1_000_000).contains(&priority) {
                return Err(at(
                    link.priority.span().start,
                    "priority must be between 0 and 1000000".into(),
                ));
            }
            if links.insert((a.min(b), a.max(b)), priority).is_some() {
                return Err(at(
                    start,
                    format!(
                        "the link {} + {} is listed twice",
                        IDENTIFIERS[usize::from(a)],
                        IDENTIFIERS[usize::from(b)]
                    ),
                ));
            }
        }
        Ok(Rules { types, links })
    }

    /// The priority of a link between kinds `a` and `b`, when they may link.
    pub fn link(&self, a: u8, b: u8) -> Option<i64> {
        self.links.get(&(a.min(b), a.max(b))).copied()
    }

    /// Whether `value` of kind `t` may link at all (allowed and not blocked).
    pub fn usable(&self, t: u8, value: &str) -> bool {
        let rule = &self.types[usize::from(t)];
        (rule.allow.is_empty() || rule.allow.iter().any(|p| glob(p, value)))
            && !rule.block.iter().any(|p| glob(p, value))
    }

    /// The name of the rule behind a link of kinds `a` and `b`: "loyalty_id+email".
    pub fn link_name(a: u8, b: u8) -> String {
        let (a, b) = (a.min(b), a.max(b));
        format!(
            "{}+{}",
            IDENTIFIERS[usize::from(a)],
            IDENTIFIERS[usize::from(b)]
        )
    }
}

/// Glob matching: `*` any run of characters (also none), `?` one character, anything else
/// itself. Iterative with one backtrack point, so linear-ish and never recursive.
pub fn glob(pattern: &str, value: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < v.len() {
        if i < p.len() && (p[i] == '?' || p[i] == v[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_parse() {
        let rules = Rules::defaults();
        assert_eq!(rules.types[0].max_per_customer, 1);
        assert_eq!(rules.link(2, 0), Some(90));
        // A device never links a phone number directly.
        assert_eq!(rules.link(4, 3), None);
        assert!(!rules.usable(2, "test@shop.it"));
        assert!(rules.usable(2, "anna@shop.it"));
        assert!(!rules.usable(3, "+390000000000"));
    }

    #[test]
    fn globs() {
        assert!(glob("test@*", "test@x.it"));
        assert!(!glob("test@*", "atest@x.it"));
        assert!(glob("*@shop.it", "negozio@shop.it"));
        assert!(glob("L?", "L1"));
        assert!(!glob("L?", "L12"));
        assert!(glob("*", ""));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("a*b*c", "axxbyy"));
    }

    #[test]
    fn errors_carry_the_line() {
        let err = Rules::parse("[types.email]\nmax_per_customer = 1\n\n[types.fax]\n")
            .expect_err("unknown kind");
        assert_eq!(err.line, 4, "{err}");
        let err = Rules::parse("[[link]]\ntypes = [\"email\"]\npriority = 1\n").expect_err("pair");
        assert_eq!(err.line, 2, "{err}");
        let err = Rules::parse("[types.email]\nmax_per_customer = -1\n").expect_err("negative");
        assert_eq!(err.line, 1, "{err}");
        let err = Rules::parse("[types.email]\nmax_per_customr = 1\n").expect_err("typo");
        assert_eq!(err.line, 2, "{err}");
        let err = Rules::parse("x = \n").expect_err("syntax");
        assert_eq!(err.line, 1, "{err}");
    }
}
