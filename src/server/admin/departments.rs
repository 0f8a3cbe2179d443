//! Departments and what their viewers may open besides their own view (the company view, the
//! journeys, other departments).

use duckdb::{Connection, OptionalExt, params};

use crate::admin::DepartmentRow;
use crate::error::AppError;
use crate::server::auth::audit;
use crate::server::forms::{Fields, field};

use super::{AdminError, AdminForm, invalid, run};

/// Every department but the company, with the views its viewers may open.
pub fn departments(conn: &Connection) -> Result<Vec<DepartmentRow>, AdminError> {
    let mut stmt = conn.prepare(
        "SELECT d.department, d.name_en, d.name_it,
                coalesce(list(v.view ORDER BY v.view) FILTER (WHERE v.view IS NOT NULL), [])
         FROM departments d LEFT JOIN department_views v USING (department)
         WHERE d.department <> 'company'
         GROUP BY ALL ORDER BY d.department",
    )?;
    let rows = stmt.query_map([], |r| {
        let grants: duckdb::types::Value = r.get(3)?;
        Ok(DepartmentRow {
            key: r.get(0)?,
            name_en: r.get(1)?,
            name_it: r.get(2)?,
            grants: strings(grants),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn strings(value: duckdb::types::Value) -> Vec<String> {
    match value {
        duckdb::types::Value::List(items) => items
            .into_iter()
            .filter_map(|v| match v {
                duckdb::types::Value::Text(s) => Some(s),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

pub async fn departments_page() -> Result<Vec<DepartmentRow>, AppError> {
    run(|conn| departments(conn)).await
}

fn unknown_department(key: &str) -> AdminError {
    invalid(
        format!("unknown department {key:?}"),
        format!("reparto sconosciuto {key:?}"),
    )
}

fn department_key_ok(key: &str) -> bool {
    (2..=32).contains(&key.len())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// `/admin/departments/save`: a new department, or new names for one. The key and both names
/// are checked here.
pub struct DepartmentForm {
    pub key: String,
    pub name_en: String,
    pub name_it: String,
}

impl AdminForm for DepartmentForm {
    fn parse(f: &Fields) -> Result<Self, AdminError> {
        let key = field(f, "key");
        let (name_en, name_it) = (field(f, "name_en"), field(f, "name_it"));
        if !department_key_ok(key) || key == "company" {
            return Err(invalid(
                format!("department key {key:?}: 2-32 characters of a-z, 0-9 and _"),
                format!("chiave del reparto {key:?}: da 2 a 32 caratteri tra a-z, 0-9 e _"),
            ));
        }
        if name_en.is_empty() || name_it.is_empty() {
            return Err(invalid(
                "a department needs both names",
                "un reparto ha bisogno di entrambi i nomi",
            ));
        }
        Ok(Self {
            key: key.to_string(),
            name_en: name_en.to_string(),
            name_it: name_it.to_string(),
        })
    }
}

/// `/admin/departments/grants`: the views a department's viewers may open (the `view` check
/// boxes, sorted and without repeats). Which names exist is checked against the database.
pub struct GrantsForm {
    pub department: String,
    pub views: Vec<String>,
}

impl AdminForm for GrantsForm {
    fn parse(f: &Fields) -> Result<Self, AdminError> {
        let mut views: Vec<String> = f
            .iter()
            .filter(|(k, _)| k == "view")
            .map(|(_, v)| v.clone())
            .collect();
        views.sort_unstable();
        views.dedup();
        Ok(Self {
            department: field(f, "department").to_string(),
            views,
        })
    }
}

handler!(
    save_department,
    DepartmentForm,
    "/admin/departments",
    |conn: &Connection, actor: &str, f: DepartmentForm| {
        let key = f.key.as_str();
        let before: Option<(String, String)> = conn
            .query_row(
                "SELECT name_en, name_it FROM departments WHERE department = ?",
                [key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if before.is_some() {
            conn.execute(
                "UPDATE departments SET name_en = ?, name_it = ? WHERE department = ?",
                params![f.name_en, f.name_it, key],
            )?;
        } else {
            conn.execute(
                "INSERT INTO departments (department, name_en, name_it) VALUES (?, ?, ?)",
                params![key, f.name_en, f.name_it],
            )?;
            conn.execute("INSERT INTO department_views VALUES (?, 'company')", [key])?;
        }
        let after = (f.name_en.as_str(), f.name_it.as_str());
        let action = if before.is_some() {
            "department.rename"
        } else {
            "department.add"
        };
        audit::record(conn, actor, action, key, before.as_ref(), Some(&after))?;
        Ok("saved")
    }
);

handler!(
    save_grants,
    GrantsForm,
    "/admin/departments",
    |conn: &Connection, actor: &str, f: GrantsForm| {
        let department = f.department.as_str();
        let known: Vec<String> = {
            let mut stmt = conn.prepare("SELECT department FROM departments")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            rows.collect::<Result<_, _>>()?
        };
        if !known.iter().any(|d| d == department) || department == "company" {
            return Err(unknown_department(department));
        }
        for view in &f.views {
            let ok = matches!(view.as_str(), "company" | "journeys") || known.contains(view);
            if !ok || view == department {
                return Err(invalid(
                    format!("unknown view {view:?}"),
                    format!("vista sconosciuta {view:?}"),
                ));
            }
        }
        let before = departments(conn)?
            .into_iter()
            .find(|d| d.key == department)
            .map(|d| d.grants);
        conn.execute(
            "DELETE FROM department_views WHERE department = ?",
            [department],
        )?;
        for view in &f.views {
            conn.execute(
                "INSERT INTO department_views VALUES (?, ?)",
                params![department, view],
            )?;
        }
        audit::record(
            conn,
            actor,
            "department.grants",
            department,
            before.as_ref(),
            Some(&f.views),
        )?;
        Ok("saved")
    }
);
