//! KPI definitions as data: `catalog.toml` parsed once into a validated [`Catalog`].
//!
//! Parse, don't validate: a key that is not snake_case, a ratio naming an unknown KPI, a cycle
//! or a view listing an unknown KPI fails here, at start-up, with the key in the message;
//! [`Catalog::check_against`] then asks DuckDB to plan every SQL expression against the real
//! schema. Definitions hold SQL, so they never implement `Serialize`.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use serde::Deserialize;

use crate::i18n::Locale;
use crate::kpi::{Direction, Unit};

const CATALOG_TOML: &str = include_str!("catalog.toml");

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("KPI catalog: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("KPI catalog: key {0:?} must be snake_case ASCII")]
    BadKey(String),
    #[error("KPI catalog: key {0:?} is defined twice")]
    Duplicate(String),
    #[error("KPI catalog: {0:?} needs exactly one of `sql`, `ratio`, `difference` or `query`")]
    Formula(String),
    #[error("KPI catalog: {kpi:?} refers to unknown KPI {missing:?}")]
    Unknown { kpi: String, missing: String },
    #[error("KPI catalog: {0:?} is defined in terms of itself")]
    Cycle(String),
    #[error(
        "KPI catalog: the query of {kpi:?} returns ({found}); it must return `value`, or \
         `numerator, denominator`"
    )]
    Columns { kpi: String, found: String },
    #[error("KPI catalog: the SQL of {kpi:?} does not run against the schema: {source}")]
    Sql { kpi: String, source: duckdb::Error },
}

/// A name or description in every UI language.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    pub en: String,
    pub it: String,
}

impl Text {
    pub fn get(&self, locale: Locale) -> &str {
        match locale {
            Locale::En => &self.en,
            Locale::It => &self.it,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    kpi: Vec<RawKpi>,
    views: BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKpi {
    key: String,
    name: Text,
    description: Text,
    unit: Unit,
    direction: Direction,
    owner: String,
    #[serde(default)]
    internal: bool,
    additive: Option<bool>,
    sql: Option<String>,
    ratio: Option<RawRatio>,
    difference: Option<RawDifference>,
    query: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDifference {
    minuend: String,
    subtrahend: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRatio {
    numerator: String,
    denominator: String,
}

/// How a KPI is computed.
#[derive(Clone, Debug)]
pub enum Formula {
    /// An aggregate SQL expression over the period's events (alias-free, bound-parameter-free).
    Aggregate(String),
    /// `numerator / denominator`, `None` when the denominator is 0 or missing.
    Ratio {
        numerator: String,
        denominator: String,
    },
    /// `minuend - subtrahend`.
    Difference { minuend: String, subtrahend: String },
    /// A whole SELECT over `ev`, `pe` and `bounds` returning `value`, or `numerator` and
    /// `denominator`.
    Query(String),
}

/// One validated KPI definition.
#[derive(Clone, Debug)]
pub struct KpiDef {
    pub key: String,
    pub name: Text,
    pub description: Text,
    pub unit: Unit,
    pub direction: Direction,
    pub owner: String,
    /// A building block of other KPIs, left out of default listings.
    pub internal: bool,
    /// `Some(false)` for counts that do not add up over days (distinct customers).
    pub additive: Option<bool>,
    pub formula: Formula,
}

/// The validated catalog.
#[derive(Debug)]
pub struct Catalog {
    kpis: Vec<KpiDef>,
    index: HashMap<String, usize>,
    views: BTreeMap<String, Vec<String>>,
}

impl Catalog {
    /// The catalog compiled into the binary (parsed and validated on first use).
    pub fn builtin() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| match Catalog::parse(CATALOG_TOML) {
            Ok(catalog) => catalog,
            // The builtin catalog is tested; a broken one is a build defect, not user input.
            Err(err) => panic!("{err}"),
        })
    }

    pub fn parse(text: &str) -> Result<Self, CatalogError> {
        let raw: RawCatalog = toml::from_str(text)?;
        let mut kpis = Vec::with_capacity(raw.kpi.len());
        let mut index = HashMap::new();
        for kpi in raw.kpi {
            if kpi.key.is_empty()
                || !kpi
                    .key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                return Err(CatalogError::BadKey(kpi.key));
            }
            let formula = match (kpi.sql, kpi.ratio, kpi.difference, kpi.query) {
                (Some(sql), None, None, None) => Formula::Aggregate(sql),
                (None, Some(r), None, None) => Formula::Ratio {
                    numerator: r.numerator,
                    denominator: r.denominator,
                },
                (None, None, Some(d), None) => Formula::Difference {
                    minuend: d.minuend,
                    subtrahend: d.subtrahend,
                },
                (None, None, None, Some(query)) => Formula::Query(query),
                _ => return Err(CatalogError::Formula(kpi.key)),
            };
            if index.insert(kpi.key.clone(), kpis.len()).is_some() {
                return Err(CatalogError::Duplicate(kpi.key));
            }
            kpis.push(KpiDef {
                key: kpi.key,
                name: kpi.name,
                description: kpi.description,
                unit: kpi.unit,
                direction: kpi.direction,
                owner: kpi.owner,
                internal: kpi.internal,
                additive: kpi.additive,
                formula,
            });
        }
        let catalog = Self {
            kpis,
            index,
            views: raw.views,
        };
        catalog.check_references()?;
        Ok(catalog)
    }

    fn check_references(&self) -> Result<(), CatalogError> {
        for kpi in &self.kpis {
            for dep in kpi.dependencies() {
                if !self.index.contains_key(dep) {
                    return Err(CatalogError::Unknown {
                        kpi: kpi.key.clone(),
                        missing: dep.to_string(),
                    });
                }
            }
            // Every path from `kpi` must reach aggregates without coming back to it.
            let mut stack: Vec<&str> = kpi.dependencies().collect();
            let mut seen = 0usize;
            while let Some(key) = stack.pop() {
                if key == kpi.key || seen > self.kpis.len() * self.kpis.len() {
                    return Err(CatalogError::Cycle(kpi.key.clone()));
                }
                seen += 1;
                if let Some(dep) = self.get(key) {
                    stack.extend(dep.dependencies());
                }
            }
        }
        for (view, keys) in &self.views {
            for key in keys {
                if !self.index.contains_key(key) {
                    return Err(CatalogError::Unknown {
                        kpi: format!("views.{view}"),
                        missing: key.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Plans every SQL formula against the live schema, so a typo in a column fails at
    /// start-up, and checks that each query returns the columns the engine reads.
    pub fn check_against(&self, conn: &duckdb::Connection) -> Result<(), CatalogError> {
        for kpi in &self.kpis {
            let sql = match &kpi.formula {
                Formula::Aggregate(sql) => format!("SELECT {sql} FROM events"),
                // LIMIT 0: plan and type the query without scanning the events.
                Formula::Query(query) => format!(
                    "SELECT * FROM ({}) LIMIT 0",
                    super::query::wrap_query(query, "true")
                ),
                Formula::Ratio { .. } | Formula::Difference { .. } => continue,
            };
            let err = |source| CatalogError::Sql {
                kpi: kpi.key.clone(),
                source,
            };
            let mut stmt = conn.prepare(&sql).map_err(err)?;
            if let Formula::Query(_) = &kpi.formula {
                // Planning alone does not give the result columns; run it (it returns nothing).
                let rows = stmt
                    .query(duckdb::params!["2000-01-01", "2000-01-01"])
                    .map_err(err)?;
                let names = rows.as_ref().map(|s| s.column_names()).unwrap_or_default();
                let ok = names == ["value"] || names == ["numerator", "denominator"];
                if !ok {
                    return Err(CatalogError::Columns {
                        kpi: kpi.key.clone(),
                        found: names.join(", "),
                    });
                }
            }
        }
        Ok(())
    }

    pub fn get(&self, key: &str) -> Option<&KpiDef> {
        self.index.get(key).map(|&i| &self.kpis[i])
    }

    pub fn all(&self) -> &[KpiDef] {
        &self.kpis
    }

    /// The KPIs a view shows, in order (empty for an unknown view).
    pub fn view(&self, name: &str) -> Vec<&KpiDef> {
        self.views
            .get(name)
            .map(|keys| keys.iter().filter_map(|k| self.get(k)).collect())
            .unwrap_or_default()
    }
}

impl KpiDef {
    /// The KPIs this one is computed from.
    pub fn dependencies(&self) -> impl Iterator<Item = &str> {
        let deps = match &self.formula {
            Formula::Aggregate(_) | Formula::Query(_) => [None, None],
            Formula::Ratio {
                numerator: a,
                denominator: b,
            }
            | Formula::Difference {
                minuend: a,
                subtrahend: b,
            } => [Some(a.as_str()), Some(b.as_str())],
        };
        deps.into_iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "name = { en = \"x\", it = \"x\" }\ndescription = { en = \"x\", it = \"x\" }\n\
                        unit = \"count\"\ndirection = \"higher_is_better\"\nowner = \"sales\"\n";

    fn kpi(key: &str, formula: &str) -> String {
        format!("[[kpi]]\nkey = \"{key}\"\n{HEAD}{formula}\n")
    }

    #[test]
    fn builtin_catalog_is_valid_and_plans_against_the_schema() {
        let catalog = Catalog::parse(CATALOG_TOML).expect("builtin catalog parses");
        let db = crate::server::db::Db::open_in_memory("Europe/Rome").expect("db");
        let conn = db.connect().expect("connection");
        catalog.check_against(&conn).expect("every aggregate plans");
        assert!(!catalog.view("company").is_empty());
    }

    #[test]
    fn ratio_of_an_unknown_kpi_is_refused() {
        let text = kpi(
            "aov",
            "ratio = { numerator = \"revenue\", denominator = \"orders\" }",
        ) + "[views]\n";
        let err = Catalog::parse(&text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("unknown KPI \"revenue\""), "{err}");
    }

    #[test]
    fn cycles_are_refused() {
        let text = kpi("a", "ratio = { numerator = \"b\", denominator = \"b\" }")
            + &kpi("b", "ratio = { numerator = \"a\", denominator = \"a\" }")
            + "[views]\n";
        assert!(matches!(Catalog::parse(&text), Err(CatalogError::Cycle(_))));
    }

    #[test]
    fn a_kpi_needs_exactly_one_formula() {
        let text = kpi("a", "") + "[views]\n";
        assert!(matches!(
            Catalog::parse(&text),
            Err(CatalogError::Formula(_))
        ));
    }

    #[test]
    fn keys_must_be_snake_case() {
        let text = kpi("Gross Revenue", "sql = \"count(*)\"") + "[views]\n";
        assert!(matches!(
            Catalog::parse(&text),
            Err(CatalogError::BadKey(_))
        ));
    }

    #[test]
    fn a_misspelt_column_fails_the_schema_check() {
        let text = kpi("a", "sql = \"sum(amout)\"") + "[views]\n";
        let catalog = Catalog::parse(&text).expect("parses");
        let db = crate::server::db::Db::open_in_memory("Europe/Rome").expect("db");
        let conn = db.connect().expect("connection");
        assert!(matches!(
            catalog.check_against(&conn),
            Err(CatalogError::Sql { .. })
        ));
    }
}
