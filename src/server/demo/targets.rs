//! The demo's target plan and market benchmarks, so every tile has a target and a status from
//! the first start, and the KPIs that have a published market figure show it.
//!
//! The plan holds a target for every KPI a view shows (owned by its department) for the year,
//! the quarter and the month of the data's last day. Each is set from where the KPI is heading
//! (its projection to the period's end, as the status computes it), so the demo shows each
//! status on purpose: on track (10 % easier than the projection), at risk (3 % harder, inside
//! the 5 % band) and off track (25 % harder), in turn. Both files are written into the demo's
//! folder and imported through the same code as `omnikpi target import` and `omnikpi
//! benchmark import`.

use std::path::Path;

use chrono::{Datelike, NaiveDate};

use super::DemoError;
use crate::kpi::Direction;
use crate::server::db::Db;
use crate::server::kpi::targets::{self, TargetPeriod, plan};
use crate::server::kpi::{self, Filters, Period, benchmarks};

/// The benchmark sheet the demo loads (also in examples/, for administrators to edit).
const MARKET: &str = include_str!("../../../examples/benchmarks/market.csv");

/// What the demo's plan aims at, in turn: the target as a multiple of how far the projection
/// is from zero, towards "better" (negative: easier than the projection).
const STATUS_STEPS: [f64; 3] = [-0.10, 0.03, 0.25];

/// Writes the plan (targets.csv) and the benchmarks (market_benchmarks.csv) into `dir` and
/// imports both, into a database without targets; returns how many targets were set.
pub(super) fn seed(db: &Db, end: NaiveDate, dir: &Path) -> Result<usize, DemoError> {
    let _writer = db.write_lock();
    let conn = db.connect()?;
    let catalog = kpi::catalog(&conn)?;
    let market = dir.join("market_benchmarks.csv");
    write(dir, &market, MARKET)?;
    benchmarks::import(&conn, &catalog, &market, "demo")?;

    let existing: i64 = conn.query_row("SELECT count(*) FROM targets", [], |r| r.get(0))?;
    if existing > 0 {
        return Ok(0);
    }
    let owners = kpi::owners(&conn)?;
    let shown: Vec<&kpi::KpiDef> = catalog.all().iter().filter(|d| !d.internal).collect();
    let keys: Vec<&str> = shown.iter().map(|d| d.key.as_str()).collect();
    let labels = [
        format!("{}", end.year()),
        format!("{}-Q{}", end.year(), end.month0() / 3 + 1),
        format!("{}-{:02}", end.year(), end.month()),
    ];
    let mut rows = Vec::new();
    for (p, label) in labels.iter().enumerate() {
        let whole = TargetPeriod::parse(label)?.period;
        let to_date = Period::new(whole.from(), end.min(whole.to()))?;
        let values = kpi::compute(&conn, &catalog, &keys, &to_date, &Filters::none())?;
        for (k, def) in shown.iter().enumerate() {
            let Some(actual) = values.get(&def.key).copied().flatten() else {
                continue;
            };
            let projection = targets::project(def, actual, to_date.days(), whole.days());
            let step = STATUS_STEPS[(k + p) % STATUS_STEPS.len()];
            let better = match def.direction {
                Direction::HigherIsBetter => 1.0,
                Direction::LowerIsBetter => -1.0,
            };
            let target = round3(projection + better * step * projection.abs());
            let owner = owners.get(&def.key).unwrap_or(&def.owner);
            rows.push((def.key.clone(), owner.clone(), label.clone(), target));
        }
    }
    let file = dir.join("targets.csv");
    write(dir, &file, &plan::write(&rows))?;
    let imported = plan::import(&conn, &catalog, &file, "demo")?;
    Ok(imported.added + imported.replaced)
}

fn write(dir: &Path, file: &Path, text: &str) -> Result<(), DemoError> {
    std::fs::write(file, text).map_err(|source| DemoError::Write {
        dir: dir.to_path_buf(),
        source,
    })
}

/// `x` to three significant digits, as a planner would write it.
fn round3(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let scale = 10f64.powi(2 - x.abs().log10().floor() as i32);
    (x * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::round3;

    #[test]
    fn targets_are_rounded_to_three_significant_digits() {
        assert_eq!(round3(123_456.0), 123_000.0);
        assert_eq!(round3(0.183_456), 0.183);
        assert_eq!(round3(-42.17), -42.2);
        assert_eq!(round3(0.0), 0.0);
    }
}
