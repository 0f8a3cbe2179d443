//! KPI definitions as data: `catalog.toml` parsed once into a validated [`Catalog`].
//!
//! Parse, don't validate: a key that is not snake_case, a ratio naming an unknown KPI, a cycle
//! or a view listing an unknown KPI fails here, at start-up, with the key in the message;
//! [`Catalog::check_against`] then asks DuckDB to plan every SQL expression against the real
//! schema. Definitions hold SQL, so they never implement `Serialize`.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use serde::Deserialize;

use super::dialect::{Dialect, render};
use super::sets::{RawSets, SetExpr};
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
    #[error("KPI catalog: {0:?} has a `rollup` expression but no `sql` aggregate")]
    Rollup(String),
    #[error("KPI catalog: {0:?} has a `facts` query but no `query`")]
    Facts(String),
    #[error(
        "KPI catalog: the `sets` of {0:?} must be `{{ distinct = \"customers\" or \"orders\", \
         rows = \"...\" }}` on a `sql` aggregate or `{{ rule = \"...\" }}` on a `query`"
    )]
    Sets(String),
    #[error("KPI catalog: {kpi:?}: {source}")]
    Dialect {
        kpi: String,
        source: super::dialect::DialectError,
    },
    #[error("KPI catalog: the SQL of {kpi:?} does not run against the schema: {source}")]
    Sql { kpi: String, source: duckdb::Error },
}

/// Why an admin's derived KPI was refused, in both languages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{en}")]
pub struct DerivedError {
    pub en: String,
    pub it: String,
}

fn derived_error(en: impl Into<String>, it: impl Into<String>) -> DerivedError {
    DerivedError {
        en: en.into(),
        it: it.into(),
    }
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
    #[serde(default)]
    looks_ahead: bool,
    #[serde(default)]
    reads_after_period: bool,
    #[serde(default)]
    across_channels: bool,
    sql: Option<String>,
    rollup: Option<String>,
    facts: Option<String>,
    sets: Option<RawSets>,
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
    /// Counts what happens within 7 days *after* an event of the period (a pickup after a
    /// reservation): its value is provisional until those windows have closed.
    pub looks_ahead: bool,
    /// Reads events after the period's end with no bound (a return's purchase, whenever it
    /// was): a load of any later day can change it, so it is never kept between requests.
    pub reads_after_period: bool,
    /// Compares the channels of each customer (the omnichannel share and uplifts): narrowed to
    /// one channel it is empty by construction, so it is not broken down by the dimensions
    /// that keep one channel's events (see [`KpiDef::breakdown_dimensions`]).
    pub across_channels: bool,
    /// Defined by an admin (table `derived_kpis`), not compiled in.
    pub derived: bool,
    pub formula: Formula,
    /// The same aggregate over `rollup_daily` (docs/rollups.md): the engine reads it there
    /// when the filters allow; `tests/rollup_properties.rs` holds it equal to `sql`.
    pub rollup: Option<String>,
    /// The same query over the customer or order facts (`customer_facts`, `order_facts`,
    /// docs/rollups.md sections 8 and 9) and the daily rollup, with only `bounds` (t0, t1, d0,
    /// d1) defined: the engine runs it when no filter narrows the events and the rollups are
    /// current; `tests/rollup_properties.rs` holds it equal to `query`.
    pub facts: Option<String>,
    /// How the distinct sets per day (`rollup_sets`) compute it (docs/rollups.md): the engine
    /// uses it under the same conditions as `rollup`; `tests/rollup_properties.rs` holds it
    /// equal to `sql` or `query`.
    pub sets: Option<SetExpr>,
}

/// An admin-defined KPI: the ratio of two KPIs of the catalog (or of other derived ones),
/// as stored in `derived_kpis`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DerivedSpec {
    pub key: String,
    pub name_en: String,
    pub name_it: String,
    pub description_en: String,
    pub description_it: String,
    pub numerator: String,
    pub denominator: String,
    pub unit: Unit,
    pub direction: Direction,
    pub owner: String,
}

/// The validated catalog.
#[derive(Clone, Debug)]
pub struct Catalog {
    kpis: Vec<KpiDef>,
    index: HashMap<String, usize>,
    views: BTreeMap<String, Vec<String>>,
    /// Where computed values are kept between requests (see [`super::memo`]).
    memo: Option<super::memo::Memo>,
}

impl Catalog {
    /// This catalog, keeping the values it computes in `db`'s results cache and reading them
    /// back while the events they read are unchanged (see [`super::memo`]).
    pub fn with_memo(mut self, db: &crate::server::db::Db) -> Self {
        self.memo = Some(super::memo::Memo::new(db));
        self
    }

    /// Where computed values are kept, if anywhere.
    pub(super) fn memo(&self) -> Option<&super::memo::Memo> {
        self.memo.as_ref()
    }

    /// Whether computed values are kept between requests ([`Catalog::with_memo`]).
    pub fn kept(&self) -> bool {
        self.memo.is_some()
    }

    /// The catalog compiled into the binary (parsed and validated on first use).
    pub fn builtin() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| match Catalog::parse(CATALOG_TOML) {
            Ok(catalog) => catalog,
            // The builtin catalog is tested; a broken one is a build defect, not user input.
            Err(err) => panic!("{err}"),
        })
    }

    /// The compiled catalog with its SQL rendered for `dialect` (the Spark engine's copy);
    /// [`Catalog::builtin`] is the DuckDB one.
    pub fn builtin_in(dialect: Dialect) -> &'static Catalog {
        static SPARK: OnceLock<Catalog> = OnceLock::new();
        match dialect {
            Dialect::DuckDb => Self::builtin(),
            Dialect::Spark => {
                SPARK.get_or_init(|| match Catalog::parse_in(CATALOG_TOML, dialect) {
                    Ok(catalog) => catalog,
                    Err(err) => panic!("{err}"),
                })
            }
        }
    }

    /// Parses a catalog with its SQL rendered for DuckDB.
    pub fn parse(text: &str) -> Result<Self, CatalogError> {
        Self::parse_in(text, Dialect::DuckDb)
    }

    /// Parses a catalog with its SQL (`sql`, `query`, `rollup`) rendered for `dialect`.
    pub fn parse_in(text: &str, dialect: Dialect) -> Result<Self, CatalogError> {
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
            let sql = |text: Option<String>| {
                text.map(|t| render(&t, dialect))
                    .transpose()
                    .map_err(|source| CatalogError::Dialect {
                        kpi: kpi.key.clone(),
                        source,
                    })
            };
            let (query, rollup, facts) = (sql(kpi.query)?, sql(kpi.rollup)?, sql(kpi.facts)?);
            let formula = match (sql(kpi.sql)?, kpi.ratio, kpi.difference, query) {
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
            if rollup.is_some() && !matches!(formula, Formula::Aggregate(_)) {
                return Err(CatalogError::Rollup(kpi.key));
            }
            if facts.is_some() && !matches!(formula, Formula::Query(_)) {
                return Err(CatalogError::Facts(kpi.key));
            }
            let sets = match kpi.sets.map(RawSets::parse) {
                None => None,
                Some(Some(expr @ SetExpr::Distinct { .. }))
                    if matches!(formula, Formula::Aggregate(_)) =>
                {
                    Some(expr)
                }
                Some(Some(expr @ SetExpr::Rule(_))) if matches!(formula, Formula::Query(_)) => {
                    Some(expr)
                }
                Some(_) => return Err(CatalogError::Sets(kpi.key)),
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
                looks_ahead: kpi.looks_ahead,
                reads_after_period: kpi.reads_after_period,
                across_channels: kpi.across_channels,
                derived: false,
                formula,
                rollup,
                facts,
                sets,
            });
        }
        let catalog = Self {
            kpis,
            index,
            views: raw.views,
            memo: None,
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
                    super::query::wrap_query(query, "true", "true")
                ),
                Formula::Ratio { .. } | Formula::Difference { .. } => continue,
            };
            let err = |source| CatalogError::Sql {
                kpi: kpi.key.clone(),
                source,
            };
            let mut stmt = conn.prepare(&sql).map_err(err)?;
            if let Some(rollup) = &kpi.rollup {
                conn.prepare(&format!(
                    "SELECT {rollup} FROM {}",
                    crate::server::rollup::DAILY_AS_EVENTS
                ))
                .map_err(err)?;
            }
            if let Some(SetExpr::Distinct { rows, .. }) = &kpi.sets {
                conn.prepare(&format!(
                    "SELECT count(*) FILTER (WHERE {rows}) FROM {}",
                    crate::server::rollup::sets::AS_EVENTS
                ))
                .map_err(err)?;
            }
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
                if let Some(facts) = &kpi.facts {
                    let sql = format!(
                        "SELECT * FROM ({}) LIMIT 0",
                        super::query::wrap_facts(facts)
                    );
                    let mut stmt = conn.prepare(&sql).map_err(err)?;
                    let rows = stmt
                        .query(duckdb::params!["2000-01-01", "2000-01-01"])
                        .map_err(err)?;
                    let found = rows.as_ref().map(|s| s.column_names()).unwrap_or_default();
                    if found != names {
                        return Err(CatalogError::Columns {
                            kpi: kpi.key.clone(),
                            found: found.join(", "),
                        });
                    }
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

    /// This catalog plus `spec` as a derived KPI, validated: a snake_case key that no KPI
    /// has, both parts known KPIs (no cycle through other derived ones), a unit that fits
    /// the parts' units, non-empty names.
    pub fn with_derived(&self, spec: &DerivedSpec) -> Result<Catalog, DerivedError> {
        let key = spec.key.as_str();
        let key_ok = (2..=48).contains(&key.len())
            && key.starts_with(|c: char| c.is_ascii_lowercase())
            && key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !key_ok {
            return Err(derived_error(
                format!("key {key:?}: 2-48 characters of a-z, 0-9 and _, starting with a letter"),
                format!(
                    "chiave {key:?}: da 2 a 48 caratteri tra a-z, 0-9 e _, iniziando con una lettera"
                ),
            ));
        }
        if self.index.contains_key(key) {
            return Err(derived_error(
                format!("a KPI with key {key:?} already exists"),
                format!("esiste già un KPI con chiave {key:?}"),
            ));
        }
        if spec.name_en.trim().is_empty() || spec.name_it.trim().is_empty() {
            return Err(derived_error(
                "a derived KPI needs a name in English and in Italian",
                "un KPI derivato ha bisogno di un nome in inglese e in italiano",
            ));
        }
        let part = |k: &str| {
            self.get(k).ok_or_else(|| {
                derived_error(
                    format!("unknown KPI {k:?}"),
                    format!("KPI sconosciuto {k:?}"),
                )
            })
        };
        let numerator = part(&spec.numerator)?;
        let denominator = part(&spec.denominator)?;
        if numerator.key == denominator.key {
            return Err(derived_error(
                "numerator and denominator must be two different KPIs",
                "numeratore e denominatore devono essere due KPI diversi",
            ));
        }
        let allowed = derived_units(numerator.unit, denominator.unit);
        if allowed.is_empty() {
            return Err(derived_error(
                "a score can only be divided by a score",
                "un punteggio si può dividere solo per un punteggio",
            ));
        }
        if !allowed.contains(&spec.unit) {
            let names: Vec<&str> = allowed.iter().map(|u| unit_name(*u)).collect();
            return Err(derived_error(
                format!(
                    "{} / {}: the unit must be {}",
                    numerator.key,
                    denominator.key,
                    names.join(" or ")
                ),
                format!(
                    "{} / {}: l'unità deve essere {}",
                    numerator.key,
                    denominator.key,
                    names.join(" o ")
                ),
            ));
        }
        let mut catalog = self.clone();
        catalog.index.insert(spec.key.clone(), catalog.kpis.len());
        catalog.kpis.push(KpiDef {
            key: spec.key.clone(),
            name: Text {
                en: spec.name_en.trim().to_string(),
                it: spec.name_it.trim().to_string(),
            },
            description: Text {
                en: spec.description_en.trim().to_string(),
                it: spec.description_it.trim().to_string(),
            },
            unit: spec.unit,
            direction: spec.direction,
            owner: spec.owner.clone(),
            internal: false,
            additive: Some(false),
            looks_ahead: numerator.looks_ahead || denominator.looks_ahead,
            reads_after_period: numerator.reads_after_period || denominator.reads_after_period,
            across_channels: numerator.across_channels || denominator.across_channels,
            derived: true,
            formula: Formula::Ratio {
                numerator: spec.numerator.clone(),
                denominator: spec.denominator.clone(),
            },
            rollup: None,
            facts: None,
            sets: None,
        });
        // A new key cannot close a cycle (nothing refers to it yet); checked all the same.
        catalog
            .check_references()
            .map_err(|e| derived_error(e.to_string(), format!("definizione non valida: {e}")))?;
        Ok(catalog)
    }

    /// Whether `key`'s value counts events in windows that reach past the event (directly or
    /// through the KPIs it is computed from).
    pub fn looks_ahead(&self, key: &str) -> bool {
        self.any_part(key, |def| def.looks_ahead)
    }

    /// Whether `key`'s value can change with events after its period's end: it looks ahead,
    /// or reads later events with no bound (directly or through its parts). Such a value is
    /// never kept across writes (`kpi::memo`).
    pub fn reads_after_period(&self, key: &str) -> bool {
        self.any_part(key, |def| def.looks_ahead || def.reads_after_period)
    }

    /// Whether `test` holds for `key` or any KPI it is computed from.
    fn any_part(&self, key: &str, test: impl Fn(&KpiDef) -> bool) -> bool {
        let mut stack = vec![key];
        let mut seen = 0usize;
        while let Some(k) = stack.pop() {
            seen += 1;
            let Some(def) = self.get(k) else { continue };
            if test(def) {
                return true;
            }
            if seen <= self.kpis.len() * 2 {
                stack.extend(def.dependencies());
            }
        }
        false
    }
}

/// The units a ratio of a `numerator` KPI over a `denominator` KPI may be shown in: a share
/// or a multiple of like over like, money per unit of a count (revenue per visit), a plain
/// number otherwise. A score only divides by a score.
pub fn derived_units(numerator: Unit, denominator: Unit) -> &'static [Unit] {
    match (numerator, denominator) {
        (a, b) if a == b => &[Unit::Ratio, Unit::Multiple],
        (Unit::Money, Unit::Count) => &[Unit::Money, Unit::Multiple],
        (Unit::Score, _) | (_, Unit::Score) => &[],
        _ => &[Unit::Multiple],
    }
}

fn unit_name(unit: Unit) -> &'static str {
    match unit {
        Unit::Money => "money",
        Unit::Count => "count",
        Unit::Ratio => "ratio",
        Unit::Score => "score",
        Unit::Multiple => "multiple",
    }
}

/// Dimensions whose values each belong to one channel (a campaign runs on one, a touchpoint
/// and a service topic are on one): a breakdown by them leaves each customer one channel.
const ONE_CHANNEL_DIMENSIONS: [&str; 4] = ["channel", "campaign", "touchpoint", "topic"];

impl KpiDef {
    /// The dimensions this KPI is offered broken down by, in the order of `all`: every one,
    /// except the one-channel dimensions for a KPI that compares channels.
    pub fn breakdown_dimensions<'a>(&self, all: &[&'a str]) -> Vec<&'a str> {
        all.iter()
            .copied()
            .filter(|d| !self.across_channels || !ONE_CHANNEL_DIMENSIONS.contains(d))
            .collect()
    }

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
