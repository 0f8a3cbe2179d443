//! Target plans: a CSV of targets (`kpi,department,period,value`, columns in any order) that a
//! planning team keeps in a spreadsheet, imported in one go by `omnikpi target import FILE`,
//! from the administration's departments page, and by the demo.
//!
//! A plan is all or nothing, like a load: every line is checked first (known KPI and
//! department, a year, quarter or month, a finite number, no line repeating another), every
//! refused line is reported with its line, column, reason and value, and only a plan without
//! any is written, in one transaction that records each target in the audit log.

use std::collections::BTreeMap;
use std::path::Path;

use duckdb::Connection;

use super::super::catalog::Catalog;
use super::{Target, TargetError, TargetPeriod, list, set};
use crate::server::auth::audit;
use crate::server::sheet::{self, Refusals};

/// The columns of a plan.
pub const COLUMNS: [&str; 4] = ["kpi", "department", "period", "value"];

/// What an import wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Imported {
    /// Targets new to the database.
    pub added: usize,
    /// Targets that replaced one of the same KPI, department and period.
    pub replaced: usize,
}

/// Reads and checks the plan at `file`, then writes it in one transaction, auditing each
/// target as set by `actor`.
pub fn import(
    conn: &Connection,
    catalog: &Catalog,
    file: &Path,
    actor: &str,
) -> Result<Imported, TargetError> {
    sheet::import(conn, file, |tx, file, name| {
        apply(tx, catalog, file, name, actor)
    })
}

/// [`import`] inside the caller's transaction; `name` is what reports call the file.
pub fn apply(
    conn: &Connection,
    catalog: &Catalog,
    file: &Path,
    name: &str,
    actor: &str,
) -> Result<Imported, TargetError> {
    let targets = read(conn, catalog, file, name)?;
    let before: BTreeMap<(String, String, String), Target> = list(conn, None, None)?
        .into_iter()
        .map(|t| ((t.kpi.clone(), t.department.clone(), t.period.clone()), t))
        .collect();
    let mut imported = Imported {
        added: 0,
        replaced: 0,
    };
    for (kpi, department, period, value) in targets {
        let t = set(conn, catalog, &kpi, &department, &period, value, actor)?;
        let old = before.get(&(t.kpi.clone(), t.department.clone(), t.period.clone()));
        let subject = format!("{}/{}/{}", t.kpi, t.department, t.period);
        audit::record(conn, actor, "target.import", &subject, old, Some(&t))?;
        if old.is_some() {
            imported.replaced += 1;
        } else {
            imported.added += 1;
        }
    }
    Ok(imported)
}

/// The plan's targets as (kpi, department, period label, value), or every refused line.
fn read(
    conn: &Connection,
    catalog: &Catalog,
    file: &Path,
    name: &str,
) -> Result<Vec<(String, String, String, f64)>, TargetError> {
    let rows = sheet::read(conn, file, name, &COLUMNS, &[]).map_err(TargetError::Plan)?;
    let departments: Vec<String> = {
        let mut stmt = conn.prepare("SELECT department FROM departments")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut refusals = Refusals::default();
    let mut seen: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    let mut targets = Vec::with_capacity(rows.len());
    for row in rows {
        let line = row.line;
        let mut values = row.values.into_iter();
        let mut next = || values.next().unwrap_or_default();
        let (kpi, department, period, value) = (next(), next(), next(), next());
        let known_kpi = catalog.get(&kpi).is_some();
        if !known_kpi {
            let reason = "not a KPI of the catalog (`omnikpi kpi list`)".to_string();
            refusals.refuse(line, "kpi", reason, &kpi);
        }
        let known_department = departments.contains(&department);
        if !known_department {
            refusals.refuse(line, "department", "not a department".into(), &department);
        }
        let label = TargetPeriod::parse(&period).map(|p| p.label).ok();
        if label.is_none() {
            let reason = "not a year (2026), a quarter (2026-Q1) or a month (2026-03)";
            refusals.refuse(line, "period", reason.into(), &period);
        }
        let number = value.parse::<f64>().ok().filter(|v| v.is_finite());
        if number.is_none() {
            let reason = "not a number in the KPI's unit (a point for decimals, 0.25 for 25 %)";
            refusals.refuse(line, "value", reason.into(), &value);
        }
        let (true, true, Some(label), Some(number)) = (known_kpi, known_department, label, number)
        else {
            continue;
        };
        let key = (kpi.clone(), department.clone(), label.clone());
        if let Some(first) = seen.get(&key) {
            let reason = format!("line {first} already sets this KPI, department and period");
            refusals.refuse(line, "period", reason, &period);
        } else {
            seen.insert(key, line);
            targets.push((kpi, department, label, number));
        }
    }
    refusals.finish(name).map_err(TargetError::Plan)?;
    Ok(targets)
}

/// Writes a plan as CSV (the demo's).
pub fn write(targets: &[(String, String, String, f64)]) -> String {
    let mut out = COLUMNS.join(",");
    out.push('\n');
    for (kpi, department, period, value) in targets {
        out.push_str(&format!("{kpi},{department},{period},{value}\n"));
    }
    out
}
