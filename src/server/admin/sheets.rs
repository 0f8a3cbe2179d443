//! Sheets an administrator pastes whole: a target plan (departments page) and the market
//! benchmarks (KPIs page). The same code as `omnikpi target import` and `omnikpi benchmark
//! import` checks and writes them, inside the form's transaction, so a sheet with a refused
//! line changes nothing and the notice lists each refused line.

use std::path::PathBuf;

use duckdb::Connection;
use rand::Rng;

use crate::server::forms::{Fields, field};
use crate::server::kpi::{self, benchmarks, targets::plan};

use super::{AdminError, AdminForm, invalid};

/// A pasted sheet: the text of one form field, kept exactly as sent.
pub struct SheetForm {
    pub text: String,
}

impl SheetForm {
    fn parse_field(f: &Fields, name: &str) -> Result<Self, AdminError> {
        let text = field(f, name).to_string();
        if text.trim().is_empty() {
            return Err(invalid(
                "paste the sheet first: a header line, then one line per row",
                "incolla prima il foglio: una riga di intestazione, poi una riga per voce",
            ));
        }
        Ok(Self { text })
    }
}

/// `/admin/targets/import`: the `plan` field.
pub struct PlanForm(SheetForm);

impl AdminForm for PlanForm {
    fn parse(f: &Fields) -> Result<Self, AdminError> {
        SheetForm::parse_field(f, "plan").map(Self)
    }
}

/// `/admin/benchmarks/import`: the `benchmarks` field.
pub struct BenchmarksForm(SheetForm);

impl AdminForm for BenchmarksForm {
    fn parse(f: &Fields) -> Result<Self, AdminError> {
        SheetForm::parse_field(f, "benchmarks").map(Self)
    }
}

/// The pasted text as a file for DuckDB's reader, removed when dropped.
struct Pasted(PathBuf);

impl Pasted {
    fn new(text: &str) -> Result<Self, AdminError> {
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

handler!(
    import_target_plan,
    PlanForm,
    "/admin/departments",
    |conn: &Connection, actor: &str, f: PlanForm| {
        let pasted = Pasted::new(&f.0.text)?;
        let catalog = kpi::catalog(conn)?;
        plan::apply(conn, &catalog, &pasted.0, "the pasted plan", actor)?;
        Ok("saved")
    }
);

handler!(
    import_benchmarks,
    BenchmarksForm,
    "/admin/kpis",
    |conn: &Connection, actor: &str, f: BenchmarksForm| {
        let pasted = Pasted::new(&f.0.text)?;
        let catalog = kpi::catalog(conn)?;
        benchmarks::apply(conn, &catalog, &pasted.0, "the pasted sheet", actor)?;
        Ok("saved")
    }
);
