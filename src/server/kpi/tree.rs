//! The KPI tree as data: `tree.toml` parsed once into a validated [`Tree`], and its evaluation
//! for a period against a comparison period.
//!
//! Parse, don't validate: a node that is not a catalog KPI, an unknown operator, a difference
//! without exactly two terms, a KPI with two parents or a node unreachable from the root fails
//! here with the key in the message. [`evaluate`] is pure (values in, rows out), so its
//! arithmetic is tested on hand-made numbers; residual ("other") nodes make the contributions
//! add up where the catalog's definitions do not make an identity exact.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde::Deserialize;

use crate::insight::Operator;

use super::catalog::{Catalog, Text};
use super::decompose::{self, Pair, ProductMethod};

const TREE_TOML: &str = include_str!("tree.toml");

#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error("KPI tree: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("KPI tree: {0:?} is not a KPI of the catalog")]
    Unknown(String),
    #[error("KPI tree: {0:?} has no children")]
    Childless(String),
    #[error("KPI tree: the difference {0:?} needs exactly two children")]
    Difference(String),
    #[error("KPI tree: {0:?} appears twice (a node has one parent and one definition)")]
    Twice(String),
    #[error("KPI tree: {0:?} is not reachable from the root")]
    Unreachable(String),
    #[error("KPI tree: {0:?} is not exact, so it needs a `residual` text")]
    Residual(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTree {
    root: String,
    node: Vec<RawNode>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNode {
    kpi: String,
    operator: Operator,
    children: Vec<String>,
    exact: bool,
    residual: Option<Text>,
}

/// One inner node: a KPI and how its children make it.
#[derive(Clone, Debug)]
pub struct Node {
    pub kpi: String,
    pub operator: Operator,
    pub children: Vec<String>,
    /// What the children leave out, when the identity is not exact.
    pub residual: Option<Text>,
}

/// The validated tree.
#[derive(Debug)]
pub struct Tree {
    pub root: String,
    nodes: BTreeMap<String, Node>,
}

impl Tree {
    /// The tree compiled into the binary, checked against the builtin catalog on first use.
    pub fn builtin() -> &'static Tree {
        static TREE: OnceLock<Tree> = OnceLock::new();
        TREE.get_or_init(|| match Tree::parse(TREE_TOML, Catalog::builtin()) {
            Ok(tree) => tree,
            // The builtin tree is tested; a broken one is a build defect, not user input.
            Err(err) => panic!("{err}"),
        })
    }

    pub fn parse(text: &str, catalog: &Catalog) -> Result<Self, TreeError> {
        let raw: RawTree = toml::from_str(text)?;
        let known = |key: &str| {
            catalog
                .get(key)
                .map(|_| ())
                .ok_or_else(|| TreeError::Unknown(key.to_string()))
        };
        known(&raw.root)?;
        let mut nodes = BTreeMap::new();
        let mut seen = BTreeSet::from([raw.root.clone()]);
        for node in raw.node {
            known(&node.kpi)?;
            if node.children.is_empty() {
                return Err(TreeError::Childless(node.kpi));
            }
            if node.operator == Operator::Difference && node.children.len() != 2 {
                return Err(TreeError::Difference(node.kpi));
            }
            if !node.exact && node.residual.is_none() {
                return Err(TreeError::Residual(node.kpi));
            }
            for child in &node.children {
                known(child)?;
                if !seen.insert(child.clone()) {
                    return Err(TreeError::Twice(child.clone()));
                }
            }
            let key = node.kpi.clone();
            let residual = if node.exact { None } else { node.residual };
            let parsed = Node {
                kpi: node.kpi,
                operator: node.operator,
                children: node.children,
                residual,
            };
            if nodes.insert(key.clone(), parsed).is_some() {
                return Err(TreeError::Twice(key));
            }
        }
        let tree = Self {
            root: raw.root,
            nodes,
        };
        let reachable: BTreeSet<String> = tree.walk().into_iter().map(|(k, _)| k).collect();
        for key in tree.nodes.keys() {
            if !reachable.contains(key) {
                return Err(TreeError::Unreachable(key.clone()));
            }
        }
        Ok(tree)
    }

    pub fn node(&self, key: &str) -> Option<&Node> {
        self.nodes.get(key)
    }

    /// Every KPI of the tree, depth first, with its depth.
    pub fn walk(&self) -> Vec<(String, usize)> {
        let mut out = Vec::new();
        let mut stack = vec![(self.root.clone(), 0usize)];
        while let Some((key, depth)) = stack.pop() {
            if out.iter().any(|(k, _)| *k == key) {
                continue; // a cycle cannot go on: each KPI is visited once
            }
            if let Some(node) = self.nodes.get(&key) {
                for child in node.children.iter().rev() {
                    stack.push((child.clone(), depth + 1));
                }
            }
            out.push((key, depth));
        }
        out
    }

    /// The KPI keys the tree needs computed.
    pub fn keys(&self) -> Vec<String> {
        self.walk().into_iter().map(|(k, _)| k).collect()
    }
}

/// One evaluated node: a KPI, or the residual of its parent (`key` `None`).
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluated {
    pub key: Option<String>,
    /// For a residual, the parent KPI it belongs to.
    pub parent: Option<String>,
    pub depth: usize,
    pub value: Option<f64>,
    pub previous: Option<f64>,
    pub operator: Option<Operator>,
    /// Contribution to the parent's change, in the parent's unit.
    pub contribution: Option<f64>,
    /// Contribution to the root's change.
    pub to_root: Option<f64>,
    pub method: Option<ProductMethod>,
}

impl Evaluated {
    /// The residual is not a KPI: a difference for sums, a factor for products.
    pub fn is_residual(&self) -> bool {
        self.key.is_none()
    }
}

/// The value of each KPI in the period and in the comparison period.
pub type PeriodValues = BTreeMap<String, (Option<f64>, Option<f64>)>;

/// Evaluates the tree on `values` (current, comparison): each node with its contribution to
/// its parent's change and to the root's change, residuals after their siblings.
///
/// A node's contribution to the root is its contribution to its parent scaled by the parent's
/// own share of the root (`to_root(parent) / Δparent`); when a parent did not change, its
/// children's effects cancel out and each gets 0 towards the root.
pub fn evaluate(tree: &Tree, values: &PeriodValues) -> Vec<Evaluated> {
    let get = |key: &str| values.get(key).copied().unwrap_or((None, None));
    let mut out = Vec::new();
    let (v, p) = get(&tree.root);
    let root_delta = v.zip(p).map(|(v, p)| v - p);
    visit(tree, values, &tree.root, 0, None, root_delta, &mut out);
    out
}

#[allow(clippy::too_many_arguments)]
fn visit(
    tree: &Tree,
    values: &PeriodValues,
    key: &str,
    depth: usize,
    contribution: Option<f64>,
    to_root: Option<f64>,
    out: &mut Vec<Evaluated>,
) {
    let get = |key: &str| values.get(key).copied().unwrap_or((None, None));
    let (value, previous) = get(key);
    let node = tree.node(key);
    let index = out.len();
    out.push(Evaluated {
        key: Some(key.to_string()),
        parent: None,
        depth,
        value,
        previous,
        operator: node.map(|n| n.operator),
        contribution,
        to_root,
        method: None,
    });
    let Some(node) = node else {
        return;
    };
    // Children as pairs (comparison → current), then the residual that closes the identity.
    let children: Vec<Option<Pair>> = node
        .children
        .iter()
        .map(|c| {
            let (v, p) = get(c);
            v.zip(p).map(|(v, p)| Pair::new(p, v))
        })
        .collect();
    let parent = value.zip(previous).map(|(v, p)| Pair::new(p, v));
    let all: Option<Vec<Pair>> = children.iter().copied().collect();
    let residual = match (node.residual.is_some(), parent, &all) {
        (false, _, _) => None,
        (true, Some(parent), Some(kids)) => residual_of(node.operator, parent, kids),
        (true, _, _) => None,
    };
    let (contributions, method): (Option<Vec<f64>>, Option<ProductMethod>) = match (&all, parent) {
        (Some(kids), Some(_)) if node.residual.is_none() || residual.is_some() => {
            let mut terms = kids.clone();
            terms.extend(residual);
            match node.operator {
                Operator::Sum => (Some(decompose::sum(&plus(&terms))), None),
                Operator::Difference => {
                    let mut signed: Vec<(f64, Pair)> = Vec::with_capacity(terms.len());
                    for (i, t) in terms.iter().enumerate() {
                        // minuend +, subtrahend −, residual + (parent − (a − b)).
                        signed.push((if i == 1 { -1.0 } else { 1.0 }, *t));
                    }
                    (Some(decompose::sum(&signed)), None)
                }
                Operator::Product => {
                    let (c, m) = decompose::product(&terms);
                    (Some(c), Some(m))
                }
            }
        }
        _ => (None, None),
    };
    out[index].method = method;
    let parent_delta = parent.map(Pair::delta);
    let scale = match (to_root, parent_delta) {
        (Some(r), Some(d)) if d != 0.0 => Some(r / d),
        (Some(_), Some(_)) => Some(0.0),
        _ => None,
    };
    let share = |c: Option<f64>| c.zip(scale).map(|(c, s)| c * s);
    for (i, child) in node.children.iter().enumerate() {
        let c = contributions.as_ref().and_then(|c| c.get(i).copied());
        visit(tree, values, child, depth + 1, c, share(c), out);
    }
    if node.residual.is_some() {
        let c = contributions
            .as_ref()
            .and_then(|c| c.get(node.children.len()).copied());
        out.push(Evaluated {
            key: None,
            parent: Some(key.to_string()),
            depth: depth + 1,
            value: residual.map(|r| r.after),
            previous: residual.map(|r| r.before),
            operator: None,
            contribution: c,
            to_root: share(c),
            method: None,
        });
    }
}

fn plus(terms: &[Pair]) -> Vec<(f64, Pair)> {
    terms.iter().map(|t| (1.0, *t)).collect()
}

/// What closes `parent = op(children)` in each period: `parent − Σ` for a sum,
/// `parent − (a − b)` for a difference, `parent / Π` for a product (1 when both are 0;
/// `None` when the children multiply to 0 but the parent does not).
fn residual_of(operator: Operator, parent: Pair, children: &[Pair]) -> Option<Pair> {
    let close = |p: f64, kids: Vec<f64>| -> Option<f64> {
        match operator {
            Operator::Sum => Some(p - kids.iter().sum::<f64>()),
            Operator::Difference => Some(p - (kids[0] - kids.get(1).copied().unwrap_or(0.0))),
            Operator::Product => {
                let product: f64 = kids.iter().product();
                if product != 0.0 {
                    Some(p / product)
                } else if p == 0.0 {
                    Some(1.0)
                } else {
                    None
                }
            }
        }
    };
    let before = close(parent.before, children.iter().map(|c| c.before).collect())?;
    let after = close(parent.after, children.iter().map(|c| c.after).collect())?;
    Some(Pair::new(before, after))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, f64, f64)]) -> PeriodValues {
        pairs
            .iter()
            .map(|(k, now, before)| (k.to_string(), (Some(*now), Some(*before))))
            .collect()
    }

    #[test]
    fn the_builtin_tree_is_valid() {
        let tree = Tree::parse(TREE_TOML, Catalog::builtin()).expect("valid");
        assert_eq!(tree.root, "net_revenue");
        assert_eq!(tree.keys().len(), 11);
    }

    #[test]
    fn an_unknown_kpi_is_refused_by_name() {
        let text = "root = \"net_revenue\"\n[[node]]\nkpi = \"net_revenue\"\n\
                    operator = \"sum\"\nchildren = [\"revenue\"]\nexact = true\n";
        let err = Tree::parse(text, Catalog::builtin())
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("KPI tree: \"revenue\" is not a KPI of the catalog")
        );
    }

    #[test]
    fn an_unknown_operator_is_refused() {
        let text = "root = \"net_revenue\"\n[[node]]\nkpi = \"net_revenue\"\n\
                    operator = \"ratio\"\nchildren = [\"orders\"]\nexact = true\n";
        assert!(matches!(
            Tree::parse(text, Catalog::builtin()),
            Err(TreeError::Parse(_))
        ));
    }

    #[test]
    fn a_difference_needs_two_terms_and_an_inexact_node_a_residual() {
        let text = "root = \"net_revenue\"\n[[node]]\nkpi = \"net_revenue\"\n\
                    operator = \"difference\"\nchildren = [\"orders\"]\nexact = true\n";
        assert!(matches!(
            Tree::parse(text, Catalog::builtin()),
            Err(TreeError::Difference(_))
        ));
        let text = "root = \"orders\"\n[[node]]\nkpi = \"orders\"\n\
                    operator = \"sum\"\nchildren = [\"store_orders\"]\nexact = false\n";
        assert!(matches!(
            Tree::parse(text, Catalog::builtin()),
            Err(TreeError::Residual(_))
        ));
    }

    #[test]
    fn a_kpi_with_two_parents_or_off_the_tree_is_refused() {
        let text = "root = \"orders\"\n[[node]]\nkpi = \"orders\"\noperator = \"sum\"\n\
                    children = [\"store_orders\", \"store_orders\"]\nexact = true\n";
        assert!(matches!(
            Tree::parse(text, Catalog::builtin()),
            Err(TreeError::Twice(_))
        ));
        let text = "root = \"orders\"\n[[node]]\nkpi = \"aov\"\noperator = \"sum\"\n\
                    children = [\"store_orders\"]\nexact = true\n";
        assert!(matches!(
            Tree::parse(text, Catalog::builtin()),
            Err(TreeError::Unreachable(_))
        ));
    }

    /// A hand-made month against the month before, consistent with the catalog's identities:
    /// store orders = footfall × conversion exactly, aov = gross / orders exactly.
    fn month() -> PeriodValues {
        values(&[
            // (key, current, comparison)
            ("net_revenue", 9_350.0, 8_100.0),
            ("gross_revenue", 10_000.0, 9_000.0),
            ("returns_value", 650.0, 900.0),
            ("orders", 200.0, 180.0),
            ("aov", 50.0, 50.0),
            ("store_orders", 120.0, 100.0),
            ("footfall", 1_000.0, 1_000.0),
            ("store_conversion_rate", 0.12, 0.10),
            ("online_orders", 75.0, 78.0),
            ("unique_visitors", 1_500.0, 1_200.0),
            ("online_conversion_rate", 0.04, 0.05),
        ])
    }

    #[test]
    fn contributions_worked_by_hand() {
        let rows = evaluate(Tree::builtin(), &month());
        let find = |key: Option<&str>, parent: Option<&str>| {
            rows.iter()
                .find(|r| r.key.as_deref() == key && r.parent.as_deref() == parent)
                .cloned()
                .expect("row")
        };
        // net 8100 -> 9350 (+1250) = gross +1000, returns 900 -> 650 contributes +250.
        assert_eq!(find(Some("gross_revenue"), None).contribution, Some(1000.0));
        assert_eq!(find(Some("returns_value"), None).contribution, Some(250.0));
        // gross = orders × aov, aov unchanged: orders take all of +1000, aov 0.
        let orders = find(Some("orders"), None);
        assert!((orders.contribution.expect("c") - 1000.0).abs() < 1e-9);
        assert!(find(Some("aov"), None).contribution.expect("c").abs() < 1e-9);
        // orders 180 -> 200 (+20) = store +20, online -3, other (180-100-78 = 2 -> 200-120-75
        // = 5) +3.
        assert_eq!(find(Some("store_orders"), None).contribution, Some(20.0));
        assert_eq!(find(Some("online_orders"), None).contribution, Some(-3.0));
        let other = find(None, Some("orders"));
        assert_eq!((other.previous, other.value), (Some(2.0), Some(5.0)));
        assert_eq!(other.contribution, Some(3.0));
        // To the root: orders carry +1000 € for +20 orders, 50 € an order.
        assert!((other.to_root.expect("r") - 150.0).abs() < 1e-9);
        // Store orders: footfall unchanged, conversion takes all +20 orders.
        assert!(
            (find(Some("store_conversion_rate"), None)
                .contribution
                .expect("c")
                - 20.0)
                .abs()
                < 1e-9
        );
        // Online: 1200 × 0.05 = 60 converting visitors (78 orders: 1.3 an order) ->
        // 1500 × 0.04 = 60 (75 orders: 1.25). Visitors and conversion cancel out
        // (ln 1.25 = −ln 0.8), the residual factor 1.3 -> 1.25 takes the −3.
        let uv = find(Some("unique_visitors"), None).contribution.expect("c");
        let conv = find(Some("online_conversion_rate"), None)
            .contribution
            .expect("c");
        let per = find(None, Some("online_orders"));
        assert!((uv + conv).abs() < 1e-9, "{uv} {conv}");
        assert!((per.contribution.expect("c") + 3.0).abs() < 1e-9);
        assert!((per.value.expect("v") - 1.25).abs() < 1e-12);
        // L(75, 78) = −3 / ln(75/78) = 76.49; visitors: 76.49 × ln 1.25 = 17.07.
        assert!((uv - 17.07).abs() < 0.01, "{uv}");
    }

    #[test]
    fn the_leaves_add_up_to_the_root_change() {
        let rows = evaluate(Tree::builtin(), &month());
        let tree = Tree::builtin();
        let leaves: f64 = rows
            .iter()
            .filter(|r| r.key.as_deref().is_none_or(|k| tree.node(k).is_none()))
            .map(|r| r.to_root.expect("every leaf has a share"))
            .sum();
        assert!((leaves - 1250.0).abs() < 1e-6, "{leaves}");
    }

    #[test]
    fn a_missing_value_leaves_the_node_undecomposed() {
        let mut v = month();
        v.insert("store_conversion_rate".into(), (None, Some(0.1)));
        let rows = evaluate(Tree::builtin(), &v);
        let footfall = rows
            .iter()
            .find(|r| r.key.as_deref() == Some("footfall"))
            .expect("row");
        assert_eq!(footfall.contribution, None);
    }
}
