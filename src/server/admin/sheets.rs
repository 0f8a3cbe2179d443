//! Sheets an administrator pastes whole: a target plan (departments page) and the market
//! benchmarks (KPIs page). The same code as `omnikpi target import` and `omnikpi benchmark
//! import` checks and writes them, inside the form's transaction, so a sheet with a refused
//! line changes nothing and the notice lists each refused line.

use std::path::PathBuf;

use duckdb::Connection;
use rand::Rng;

use super::{AdminError, invalid};
use crate::server::forms::{Fields, field};
use crate::server::kpi::{self, benchmarks, targets::plan};

/// The pasted text as a file for DuckDB's reader, removed when dropped.
struct Pasted(PathBuf);

impl Pasted {
    fn new(text: &str) -> Result<Self, AdminError> {
        if text.trim().is_empty() {
            return Err(invalid(
                "paste the sheet first: a header line, then one line per row",
                "incolla prima il foglio: una riga di intestazione, poi una riga per voce",
            ));
        }
        let path = std::env::temp_dir().join(format!(
            "omnikpi-sheet-{:016x}.csv",
            rand::thread_rng().r#gen::<u64>()
        ));
        std::fs::write(&path, text).map_err(|e| {
            tracing::error!(error = %e, "writing a pasted sheet failed");
            invalid(
                "the sheet could not be read; see the server log",
                "il foglio non è stato letto; vedi il log del server",
            )
        })?;
        Ok(Self(path))
    }
}

impl Drop for Pasted {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// POST /admin/targets/import: the `plan` field, a target plan.
pub(super) fn import_target_plan(
    conn: &Connection,
    actor: &str,
    fields: &Fields,
) -> Result<&'static str, AdminError> {
    let pasted = Pasted::new(field(fields, "plan"))?;
    let catalog = kpi::catalog(conn)?;
    plan::apply(conn, &catalog, &pasted.0, "the pasted plan", actor)?;
    Ok("saved")
}

/// POST /admin/benchmarks/import: the `benchmarks` field, the whole benchmark sheet.
pub(super) fn import_benchmarks(
    conn: &Connection,
    actor: &str,
    fields: &Fields,
) -> Result<&'static str, AdminError> {
    let pasted = Pasted::new(field(fields, "benchmarks"))?;
    let catalog = kpi::catalog(conn)?;
    benchmarks::apply(conn, &catalog, &pasted.0, "the pasted sheet", actor)?;
    Ok("saved")
}
