//! Derived KPIs: ratios of two existing KPIs that an admin adds at run time (table
//! `derived_kpis`, migration 0018). Once stored they are KPIs like the compiled ones: the live
//! catalog ([`catalog`]) is the compiled one plus these, and every report, series, breakdown,
//! comparison and target reads it.
//!
//! Writes validate against the live catalog (key free, parts known, no cycle, a unit that
//! fits) and record the change in the audit log in the caller's transaction.

use duckdb::{Connection, OptionalExt, params};

use crate::i18n::Locale;
use crate::kpi::{Direction, Unit};
use crate::server::auth::audit;

use super::catalog::{Catalog, DerivedError, DerivedSpec};

#[derive(Debug, thiserror::Error)]
pub enum DerivedKpiError {
    #[error(transparent)]
    Invalid(#[from] DerivedError),
    #[error("database error: {0}")]
    Sql(#[from] duckdb::Error),
}

impl DerivedKpiError {
    /// What the admin reads, in their language (database details stay in the log).
    pub fn message(&self, locale: Locale) -> String {
        match (self, locale) {
            (Self::Invalid(e), Locale::En) => e.en.clone(),
            (Self::Invalid(e), Locale::It) => e.it.clone(),
            (Self::Sql(_), Locale::En) => {
                "the change could not be saved; see the server log".into()
            }
            (Self::Sql(_), Locale::It) => {
                "la modifica non è stata salvata; vedi il log del server".into()
            }
        }
    }
}

fn invalid(en: impl Into<String>, it: impl Into<String>) -> DerivedKpiError {
    DerivedKpiError::Invalid(DerivedError {
        en: en.into(),
        it: it.into(),
    })
}

/// A stored derived KPI with who made it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Stored {
    #[serde(flatten)]
    pub spec: DerivedSpec,
    pub created_by: String,
    pub created_at: String,
}

fn unit_of(text: &str) -> Option<Unit> {
    serde_json::from_value(serde_json::Value::String(text.to_string())).ok()
}

fn direction_of(text: &str) -> Option<Direction> {
    serde_json::from_value(serde_json::Value::String(text.to_string())).ok()
}

fn text_of<T: serde::Serialize>(value: T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// Every stored derived KPI, by key.
pub fn list(conn: &Connection) -> Result<Vec<Stored>, duckdb::Error> {
    let mut stmt = conn.prepare(
        "SELECT key, name_en, name_it, description_en, description_it, numerator, denominator,
                unit, direction, owner, created_by,
                strftime(created_at, '%Y-%m-%d %H:%M')
         FROM derived_kpis ORDER BY key",
    )?;
    let rows = stmt.query_map([], |r| {
        let unit: String = r.get(7)?;
        let direction: String = r.get(8)?;
        Ok((
            DerivedSpec {
                key: r.get(0)?,
                name_en: r.get(1)?,
                name_it: r.get(2)?,
                description_en: r.get(3)?,
                description_it: r.get(4)?,
                numerator: r.get(5)?,
                denominator: r.get(6)?,
                unit: unit_of(&unit).unwrap_or(Unit::Multiple),
                direction: direction_of(&direction).unwrap_or(Direction::HigherIsBetter),
                owner: r.get(9)?,
            },
            r.get::<_, String>(10)?,
            r.get::<_, String>(11)?,
        ))
    })?;
    rows.map(|r| {
        r.map(|(spec, created_by, created_at)| Stored {
            spec,
            created_by,
            created_at,
        })
    })
    .collect()
}

/// The compiled catalog plus `specs`, each added once the KPIs it divides are there (a
/// derived KPI may divide derived ones). Returns the catalog and the specs that could not
/// be added (unknown parts, e.g. a catalog KPI a newer binary dropped).
pub fn extend(base: &Catalog, specs: &[DerivedSpec]) -> (Catalog, Vec<(String, DerivedError)>) {
    let mut catalog = base.clone();
    let mut pending: Vec<&DerivedSpec> = specs.iter().collect();
    loop {
        let before = pending.len();
        let mut rest = Vec::new();
        for spec in pending {
            match catalog.with_derived(spec) {
                Ok(next) => catalog = next,
                Err(_) => rest.push(spec),
            }
        }
        pending = rest;
        if pending.is_empty() || pending.len() == before {
            break;
        }
    }
    let failed = pending
        .into_iter()
        .filter_map(|spec| {
            catalog
                .with_derived(spec)
                .err()
                .map(|e| (spec.key.clone(), e))
        })
        .collect();
    (catalog, failed)
}

/// The live catalog: the compiled KPIs and every valid derived one. A stored definition that
/// no longer validates is left out and logged, never a failed page.
pub fn catalog(conn: &Connection) -> Result<Catalog, duckdb::Error> {
    let specs: Vec<DerivedSpec> = list(conn)?.into_iter().map(|s| s.spec).collect();
    if specs.is_empty() {
        return Ok(Catalog::builtin().clone());
    }
    let (catalog, failed) = extend(Catalog::builtin(), &specs);
    for (key, err) in failed {
        tracing::warn!(kpi = %key, error = %err, "derived KPI left out of the catalog");
    }
    Ok(catalog)
}

/// The derived KPIs that use `key`, directly or through others.
fn dependents(specs: &[DerivedSpec], key: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut frontier = vec![key.to_string()];
    while let Some(k) = frontier.pop() {
        for s in specs {
            if (s.numerator == k || s.denominator == k) && !found.contains(&s.key) && s.key != key {
                found.push(s.key.clone());
                frontier.push(s.key.clone());
            }
        }
    }
    found
}

fn department_exists(conn: &Connection, department: &str) -> Result<bool, duckdb::Error> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM departments WHERE department = ?",
        [department],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

/// Adds (`replace` false) or changes (`replace` true) a derived KPI, audited as
/// `kpi.derived.create` / `kpi.derived.update` by `actor`. Run it in a transaction.
pub fn save(
    conn: &Connection,
    actor: &str,
    spec: &DerivedSpec,
    replace: bool,
) -> Result<(), DerivedKpiError> {
    let stored = list(conn)?;
    let before = stored.iter().find(|s| s.spec.key == spec.key).cloned();
    match (&before, replace) {
        (Some(_), false) => {
            return Err(invalid(
                format!("a KPI with key {:?} already exists", spec.key),
                format!("esiste già un KPI con chiave {:?}", spec.key),
            ));
        }
        (None, true) => {
            return Err(invalid(
                format!("no derived KPI {:?}", spec.key),
                format!("nessun KPI derivato {:?}", spec.key),
            ));
        }
        _ => {}
    }
    if !department_exists(conn, &spec.owner)? {
        return Err(invalid(
            format!("unknown department {:?}", spec.owner),
            format!("reparto sconosciuto {:?}", spec.owner),
        ));
    }
    let others: Vec<DerivedSpec> = stored
        .iter()
        .filter(|s| s.spec.key != spec.key)
        .map(|s| s.spec.clone())
        .collect();
    let users = dependents(&others, &spec.key);
    for part in [&spec.numerator, &spec.denominator] {
        if *part == spec.key || users.contains(part) {
            return Err(invalid(
                format!(
                    "{:?} would be defined in terms of itself (through {part:?})",
                    spec.key
                ),
                format!(
                    "{:?} sarebbe definito in termini di sé stesso (tramite {part:?})",
                    spec.key
                ),
            ));
        }
    }
    // Validate against every other derived KPI that does not depend on this one, then make
    // sure the ones that do still validate with the new definition.
    let independent: Vec<DerivedSpec> = others
        .iter()
        .filter(|s| !users.contains(&s.key))
        .cloned()
        .collect();
    let (base, _) = extend(Catalog::builtin(), &independent);
    let with_new = base.with_derived(spec)?;
    let dependent: Vec<DerivedSpec> = others
        .iter()
        .filter(|s| users.contains(&s.key))
        .cloned()
        .collect();
    let (_, broken) = extend(&with_new, &dependent);
    if let Some((key, err)) = broken.first() {
        return Err(invalid(
            format!(
                "{key} uses this KPI and would no longer be valid: {}",
                err.en
            ),
            format!("{key} usa questo KPI e non sarebbe più valido: {}", err.it),
        ));
    }
    let trimmed = DerivedSpec {
        name_en: spec.name_en.trim().to_string(),
        name_it: spec.name_it.trim().to_string(),
        description_en: spec.description_en.trim().to_string(),
        description_it: spec.description_it.trim().to_string(),
        ..spec.clone()
    };
    let unit = text_of(trimmed.unit);
    let direction = text_of(trimmed.direction);
    if replace {
        conn.execute(
            "UPDATE derived_kpis SET name_en = ?, name_it = ?, description_en = ?,
                    description_it = ?, numerator = ?, denominator = ?, unit = ?, direction = ?,
                    owner = ?, updated_by = ?, updated_at = now()
             WHERE key = ?",
            params![
                trimmed.name_en,
                trimmed.name_it,
                trimmed.description_en,
                trimmed.description_it,
                trimmed.numerator,
                trimmed.denominator,
                unit,
                direction,
                trimmed.owner,
                actor,
                trimmed.key
            ],
        )?;
    } else {
        conn.execute(
            "INSERT INTO derived_kpis (key, name_en, name_it, description_en, description_it,
                                       numerator, denominator, unit, direction, owner,
                                       created_by)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            params![
                trimmed.key,
                trimmed.name_en,
                trimmed.name_it,
                trimmed.description_en,
                trimmed.description_it,
                trimmed.numerator,
                trimmed.denominator,
                unit,
                direction,
                trimmed.owner,
                actor
            ],
        )?;
    }
    // The owner lives in the definition; an ownership override would only shadow it.
    conn.execute("DELETE FROM kpi_owners WHERE kpi = ?", [&trimmed.key])?;
    let action = if replace {
        "kpi.derived.update"
    } else {
        "kpi.derived.create"
    };
    audit::record(
        conn,
        actor,
        action,
        &trimmed.key,
        before.as_ref().map(|b| &b.spec),
        Some(&trimmed),
    )?;
    Ok(())
}

/// Makes `owner` the owner department of `kpi` (any KPI of the live catalog), audited as
/// `kpi.owner`. Choosing the default owner again removes the override.
pub fn set_owner(
    conn: &Connection,
    actor: &str,
    kpi: &str,
    owner: &str,
) -> Result<(), DerivedKpiError> {
    let catalog = catalog(conn)?;
    let Some(def) = catalog.get(kpi) else {
        return Err(invalid(
            format!("unknown KPI {kpi:?}"),
            format!("KPI sconosciuto {kpi:?}"),
        ));
    };
    if !department_exists(conn, owner)? {
        return Err(invalid(
            format!("unknown department {owner:?}"),
            format!("reparto sconosciuto {owner:?}"),
        ));
    }
    let before = super::owners(conn)?.get(kpi).cloned();
    if owner == def.owner {
        conn.execute("DELETE FROM kpi_owners WHERE kpi = ?", [kpi])?;
    } else {
        conn.execute(
            "INSERT OR REPLACE INTO kpi_owners (kpi, owner, updated_at) VALUES (?, ?, now())",
            params![kpi, owner],
        )?;
    }
    audit::record(conn, actor, "kpi.owner", kpi, before.as_ref(), Some(&owner))?;
    Ok(())
}

/// Deletes a derived KPI, audited as `kpi.derived.delete`. Refused while another derived KPI
/// divides it or targets are set for it (delete those first: targets are someone's
/// commitment and are not removed as a side effect).
pub fn delete(conn: &Connection, actor: &str, key: &str) -> Result<(), DerivedKpiError> {
    let stored = list(conn)?;
    let Some(before) = stored.iter().find(|s| s.spec.key == key).cloned() else {
        return Err(invalid(
            format!("no derived KPI {key:?}"),
            format!("nessun KPI derivato {key:?}"),
        ));
    };
    let specs: Vec<DerivedSpec> = stored.into_iter().map(|s| s.spec).collect();
    if let Some(user) = dependents(&specs, key).first() {
        return Err(invalid(
            format!("{user} is computed from {key}; change or delete it first"),
            format!("{user} è calcolato da {key}; modificalo o eliminalo prima"),
        ));
    }
    let targets: i64 =
        conn.query_row("SELECT count(*) FROM targets WHERE kpi = ?", [key], |r| {
            r.get(0)
        })?;
    let rules: Option<i64> = conn
        .query_row(
            "SELECT count(*) FROM alert_rules WHERE kpi = ?",
            [key],
            |r| r.get(0),
        )
        .optional()?;
    if targets > 0 || rules.unwrap_or(0) > 0 {
        return Err(invalid(
            format!("{key} has targets or alert rules; delete them first"),
            format!("{key} ha obiettivi o regole di avviso; eliminali prima"),
        ));
    }
    conn.execute("DELETE FROM derived_kpis WHERE key = ?", [key])?;
    conn.execute("DELETE FROM kpi_owners WHERE kpi = ?", [key])?;
    audit::record::<DerivedSpec, ()>(
        conn,
        actor,
        "kpi.derived.delete",
        key,
        Some(&before.spec),
        None,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(key: &str, numerator: &str, denominator: &str, unit: Unit) -> DerivedSpec {
        DerivedSpec {
            key: key.into(),
            name_en: "x".into(),
            name_it: "x".into(),
            description_en: String::new(),
            description_it: String::new(),
            numerator: numerator.into(),
            denominator: denominator.into(),
            unit,
            direction: Direction::HigherIsBetter,
            owner: "sales".into(),
        }
    }

    #[test]
    fn derived_kpis_may_divide_derived_ones_in_any_stored_order() {
        let specs = [
            spec("b2", "a1", "orders", Unit::Multiple),
            spec("a1", "gross_revenue", "footfall", Unit::Money),
        ];
        let (catalog, failed) = extend(Catalog::builtin(), &specs);
        assert!(failed.is_empty(), "{failed:?}");
        assert!(catalog.get("b2").is_some_and(|d| d.derived));
    }

    #[test]
    fn units_must_fit_the_parts() {
        let err = Catalog::builtin()
            .with_derived(&spec("x1", "gross_revenue", "footfall", Unit::Ratio))
            .err()
            .map(|e| e.en)
            .unwrap_or_default();
        assert!(err.contains("money or multiple"), "{err}");
        assert!(
            Catalog::builtin()
                .with_derived(&spec("x2", "nps", "orders", Unit::Multiple))
                .is_err()
        );
        assert!(
            Catalog::builtin()
                .with_derived(&spec("x3", "online_orders", "orders", Unit::Ratio))
                .is_ok()
        );
    }

    #[test]
    fn keys_of_the_catalog_are_taken() {
        let err = Catalog::builtin()
            .with_derived(&spec("aov", "gross_revenue", "orders", Unit::Money))
            .err();
        assert!(err.is_some_and(|e| e.en.contains("already exists")));
    }

    #[test]
    fn looks_ahead_is_inherited() {
        let catalog = Catalog::builtin()
            .with_derived(&spec(
                "x4",
                "pickup_rate",
                "store_conversion_rate",
                Unit::Multiple,
            ))
            .expect("valid");
        assert!(catalog.looks_ahead("x4"));
        assert!(!catalog.looks_ahead("aov"));
    }
}
