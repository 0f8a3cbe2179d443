//! Targets: a value per KPI, department and target period (a year, quarter or month), and the
//! status of a KPI against it.
//!
//! Status comes from the projection of the KPI to the end of the target period: linear on the
//! days elapsed for sums and counts (half the month gone, half the revenue is on track), the
//! current value for ratios and other non-additive KPIs. It respects the KPI's direction; a
//! projection that misses the target by at most the `target_at_risk_within` setting (default
//! 5 %) is "at risk".

use chrono::{Datelike, Months, NaiveDate};
use duckdb::{Connection, params};
use serde::Serialize;

use crate::kpi::{Direction, Status, Unit};

use super::catalog::{Catalog, Formula, KpiDef};
use super::filter::Filters;
use super::period::Period;
use super::query::{KpiError, compute};

pub mod plan;

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("period {0:?} is not a year (2026), a quarter (2026-Q1) or a month (2026-03)")]
    BadPeriod(String),
    #[error("unknown KPI {0:?}")]
    UnknownKpi(String),
    #[error("unknown department {0:?}")]
    UnknownDepartment(String),
    #[error("a target must be a finite number")]
    BadValue,
    #[error("the target plan {0}")]
    Plan(crate::server::sheet::Rejected),
    #[error(transparent)]
    Kpi(#[from] KpiError),
    #[error("database error: {0}")]
    Sql(#[from] duckdb::Error),
}

/// A target period as written (`2026`, `2026-Q1`, `2026-03`) and the days it covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetPeriod {
    pub label: String,
    pub period: Period,
}

impl TargetPeriod {
    pub fn parse(label: &str) -> Result<Self, TargetError> {
        let bad = || TargetError::BadPeriod(label.to_string());
        let label = label.trim();
        let year_of = |s: &str| -> Result<i32, TargetError> {
            s.parse::<i32>()
                .ok()
                .filter(|y| (1990..=2100).contains(y))
                .ok_or_else(bad)
        };
        let (from, months) = match label.split_once('-') {
            None => (
                NaiveDate::from_ymd_opt(year_of(label)?, 1, 1).ok_or_else(bad)?,
                12,
            ),
            Some((y, q)) if q.starts_with(['Q', 'q']) => {
                let quarter: u32 = q[1..]
                    .parse()
                    .ok()
                    .filter(|q| (1..=4).contains(q))
                    .ok_or_else(bad)?;
                let first = NaiveDate::from_ymd_opt(year_of(y)?, (quarter - 1) * 3 + 1, 1);
                (first.ok_or_else(bad)?, 3)
            }
            Some((y, m)) => {
                let month: u32 = m
                    .parse()
                    .ok()
                    .filter(|m| (1..=12).contains(m))
                    .ok_or_else(bad)?;
                (
                    NaiveDate::from_ymd_opt(year_of(y)?, month, 1).ok_or_else(bad)?,
                    1,
                )
            }
        };
        let end = from + Months::new(months);
        let to = end.pred_opt().ok_or_else(bad)?;
        Ok(Self {
            label: normalise(label, from, months),
            period: Period::new(from, to).map_err(|_| bad())?,
        })
    }
}

fn normalise(label: &str, from: NaiveDate, months: u32) -> String {
    match months {
        12 => format!("{}", from.year()),
        3 => format!("{}-Q{}", from.year(), from.month0() / 3 + 1),
        _ if label.contains('-') => format!("{}-{:02}", from.year(), from.month()),
        _ => label.to_string(),
    }
}

/// One stored target.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Target {
    pub kpi: String,
    pub department: String,
    pub period: String,
    pub value: f64,
    pub set_by: String,
}

/// A target with where the KPI stands against it.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TargetReport {
    #[serde(flatten)]
    pub target: Target,
    /// The KPI from the start of the target period to `as_of`.
    pub actual: Option<f64>,
    /// The KPI projected to the end of the target period.
    pub projection: Option<f64>,
    pub status: Option<Status>,
    pub as_of: NaiveDate,
}

/// Saves (or replaces) a target.
pub fn set(
    conn: &Connection,
    catalog: &Catalog,
    kpi: &str,
    department: &str,
    period: &str,
    value: f64,
    set_by: &str,
) -> Result<Target, TargetError> {
    if catalog.get(kpi).is_none() {
        return Err(TargetError::UnknownKpi(kpi.to_string()));
    }
    if !value.is_finite() {
        return Err(TargetError::BadValue);
    }
    if !department_exists(conn, department)? {
        return Err(TargetError::UnknownDepartment(department.to_string()));
    }
    let period = TargetPeriod::parse(period)?;
    conn.execute(
        "INSERT OR REPLACE INTO targets (kpi, department, period, value, set_by, set_at)
         VALUES (?, ?, ?, ?, ?, now())",
        params![kpi, department, period.label, value, set_by],
    )?;
    Ok(Target {
        kpi: kpi.to_string(),
        department: department.to_string(),
        period: period.label,
        value,
        set_by: set_by.to_string(),
    })
}

/// Whether `department` is one a target can be set for.
pub fn department_exists(conn: &Connection, department: &str) -> Result<bool, TargetError> {
    let known: i64 = conn.query_row(
        "SELECT count(*) FROM departments WHERE department = ?",
        [department],
        |r| r.get(0),
    )?;
    Ok(known > 0)
}

/// Deletes a target; `false` when there was none.
pub fn delete(
    conn: &Connection,
    kpi: &str,
    department: &str,
    period: &str,
) -> Result<bool, TargetError> {
    let period = TargetPeriod::parse(period)?;
    let n = conn.execute(
        "DELETE FROM targets WHERE kpi = ? AND department = ? AND period = ?",
        params![kpi, department, period.label],
    )?;
    Ok(n > 0)
}

/// Targets, optionally of one department and/or KPI, in a stable order.
pub fn list(
    conn: &Connection,
    department: Option<&str>,
    kpi: Option<&str>,
) -> Result<Vec<Target>, TargetError> {
    let mut stmt = conn.prepare(
        "SELECT kpi, department, period, value, set_by FROM targets
         WHERE (? IS NULL OR department = ?) AND (? IS NULL OR kpi = ?)
         ORDER BY department, kpi, period",
    )?;
    let rows = stmt.query_map(params![department, department, kpi, kpi], |r| {
        Ok(Target {
            kpi: r.get(0)?,
            department: r.get(1)?,
            period: r.get(2)?,
            value: r.get(3)?,
            set_by: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Where each target stands on `as_of` (clamped to its period).
pub fn report(
    conn: &Connection,
    catalog: &Catalog,
    targets: Vec<Target>,
    as_of: NaiveDate,
) -> Result<Vec<TargetReport>, TargetError> {
    let at_risk_within: f64 = conn.query_row(
        "SELECT coalesce(max(try_cast(value AS DOUBLE)), 0.05) FROM settings
         WHERE key = 'target_at_risk_within'",
        [],
        |r| r.get(0),
    )?;
    targets
        .into_iter()
        .map(|target| {
            let def = catalog
                .get(&target.kpi)
                .ok_or_else(|| TargetError::UnknownKpi(target.kpi.clone()))?;
            let whole = TargetPeriod::parse(&target.period)?.period;
            if as_of < whole.from() {
                // Nothing to measure before the target period starts.
                return Ok(TargetReport {
                    target,
                    actual: None,
                    projection: None,
                    status: None,
                    as_of,
                });
            }
            let as_of = as_of.min(whole.to());
            let to_date = Period::new(whole.from(), as_of)
                .map_err(|_| TargetError::BadPeriod(target.period.clone()))?;
            let actual =
                compute(conn, catalog, &[&target.kpi], &to_date, &Filters::none())?[&target.kpi];
            let projection = actual.map(|a| project(def, a, to_date.days(), whole.days()));
            let status = projection.map(|p| status(def.direction, p, target.value, at_risk_within));
            Ok(TargetReport {
                target,
                actual,
                projection,
                status,
                as_of,
            })
        })
        .collect()
}

/// Whether a KPI adds up over days (then it is projected linearly).
pub fn is_additive(def: &KpiDef) -> bool {
    if def.additive == Some(false) {
        return false;
    }
    match def.formula {
        Formula::Aggregate(_) | Formula::Difference { .. } => {
            matches!(def.unit, Unit::Money | Unit::Count)
        }
        Formula::Query(_) => def.unit == Unit::Count,
        Formula::Ratio { .. } => false,
    }
}

/// The value expected at the end of a period of `total` days after `elapsed` days.
pub fn project(def: &KpiDef, actual: f64, elapsed: i64, total: i64) -> f64 {
    if is_additive(def) && elapsed > 0 {
        actual * total as f64 / elapsed as f64
    } else {
        actual
    }
}

/// On track when the projection reaches the target in the KPI's direction; at risk when it
/// misses by at most `at_risk_within` of the target; off track otherwise.
pub fn status(direction: Direction, projection: f64, target: f64, at_risk_within: f64) -> Status {
    let shortfall = match direction {
        Direction::HigherIsBetter => target - projection,
        Direction::LowerIsBetter => projection - target,
    };
    if shortfall <= 0.0 {
        Status::OnTrack
    } else if shortfall <= at_risk_within * target.abs() {
        Status::AtRisk
    } else {
        Status::OffTrack
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
    }

    #[test]
    fn target_periods_parse_to_their_days() {
        let q = TargetPeriod::parse("2026-Q1").expect("quarter");
        assert_eq!(
            (q.period.from(), q.period.to()),
            (d("2026-01-01"), d("2026-03-31"))
        );
        let m = TargetPeriod::parse("2024-02").expect("month");
        assert_eq!(m.period.to(), d("2024-02-29"));
        let y = TargetPeriod::parse("2026").expect("year");
        assert_eq!(y.period.days(), 365);
        assert_eq!(
            TargetPeriod::parse("2026-q4").expect("quarter").label,
            "2026-Q4"
        );
        for bad in ["2026-Q5", "2026-13", "26", "next year", "2026-Q", ""] {
            assert!(TargetPeriod::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sums_project_linearly_ratios_stay() {
        let catalog = Catalog::builtin();
        let gross = catalog.get("gross_revenue").expect("kpi");
        let aov = catalog.get("aov").expect("kpi");
        let clv = catalog.get("clv").expect("kpi");
        assert_eq!(project(gross, 100.0, 10, 30), 300.0);
        assert_eq!(project(aov, 42.0, 10, 30), 42.0);
        assert_eq!(
            project(clv, 500.0, 10, 30),
            500.0,
            "CLV is not a sum over days"
        );
        assert!(is_additive(catalog.get("new_customers").expect("kpi")));
        // The same customers buying every week are not twice as many by the month's end.
        assert!(!is_additive(catalog.get("active_customers").expect("kpi")));
        assert!(!is_additive(catalog.get("unique_visitors").expect("kpi")));
    }

    #[test]
    fn status_respects_direction_and_the_at_risk_band() {
        use Direction::*;
        assert_eq!(status(HigherIsBetter, 100.0, 100.0, 0.05), Status::OnTrack);
        assert_eq!(status(HigherIsBetter, 96.0, 100.0, 0.05), Status::AtRisk);
        assert_eq!(status(HigherIsBetter, 94.0, 100.0, 0.05), Status::OffTrack);
        // Fewer complaints is good news.
        assert_eq!(status(LowerIsBetter, 90.0, 100.0, 0.05), Status::OnTrack);
        assert_eq!(status(LowerIsBetter, 104.0, 100.0, 0.05), Status::AtRisk);
        assert_eq!(status(LowerIsBetter, 120.0, 100.0, 0.05), Status::OffTrack);
    }
}
