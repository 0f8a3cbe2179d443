//! A department's view: the KPIs the catalog says it owns (`owner`), each with its value,
//! change, target, projection to the target period's end and status, a sparkline, and the
//! breakdowns that fit the department.
//!
//! Which target a tile shows: the department's target whose period contains the day measured
//! on (the view's last day, or today if earlier), the shortest such period first (a monthly
//! target before the quarter's before the year's).

use std::collections::BTreeMap;

use duckdb::Connection;

use crate::dashboard::{DepartmentView, DeptTile, TargetRow};
use crate::error::AppError;
use crate::kpi::Grain;
use crate::view::DEPARTMENTS;

use super::super::charts;
use super::super::db::Db;
use super::super::kpi::Catalog;
use super::super::kpi::targets::{self, TargetPeriod};
use super::super::kpi::{self, Period, report};
use super::DashboardError;
use super::detail::{breakdown_of, to_rows};
use crate::server::view::resolve_view;

/// The breakdowns each department sees: (KPI it owns, dimension). A test checks that every
/// KPI here is owned by its department in the catalog.
pub const BREAKDOWNS: &[(&str, &[(&str, &str)])] = &[
    (
        "marketing",
        &[("ad_spend", "campaign"), ("new_customers", "channel")],
    ),
    (
        "sales",
        &[("gross_revenue", "channel"), ("gross_revenue", "category")],
    ),
    (
        "stores",
        &[("store_orders", "store"), ("store_orders", "region")],
    ),
    (
        "online",
        &[
            // By device: the web shop in a browser against the app.
            ("online_orders", "channel"),
            ("online_orders", "touchpoint"),
            ("unique_visitors", "touchpoint"),
        ],
    ),
    (
        "customer_service",
        &[("complaints", "topic"), ("csat", "topic")],
    ),
    (
        "logistics",
        &[("return_rate", "channel"), ("returns_value", "category")],
    ),
];

pub async fn department_view(
    db: &Db,
    department: String,
    query: String,
) -> Result<DepartmentView, AppError> {
    let memo = db.clone();
    Ok(db
        .run(move |conn| {
            let catalog = kpi::catalog(conn)?.with_memo(&memo);
            department_from(conn, &department, &query, &catalog)
        })
        .await?)
}

/// The grain of the tiles' sparklines: the default grain of the period
/// ([`crate::view::auto_grain`]), so a sparkline never has hundreds of points.
pub fn sparkline_grain(period: &Period) -> Grain {
    crate::view::auto_grain(period.days())
}

/// The grain of the sparklines of KPIs that look across time (churn, CLV, omnichannel share):
/// each of their points is a statement of its own (measured: about 0.1 s each on the demo data),
/// so they get at most about 8 points: days up to 8 days, weeks up to 8 weeks, months up to 8
/// months, quarters beyond.
pub fn sparkline_grain_across_time(period: &Period) -> Grain {
    match period.days() {
        ..=8 => Grain::Day,
        9..=56 => Grain::Week,
        57..=245 => Grain::Month,
        _ => Grain::Quarter,
    }
}

/// The sparkline of each of `keys` over the period, by key: the engine's series (the KPI
/// detail's), the KPIs computed from aggregates in one grouped scan at [`sparkline_grain`],
/// the ones that look across time at [`sparkline_grain_across_time`].
pub fn sparklines(
    conn: &Connection,
    catalog: &Catalog,
    keys: &[&str],
    period: &Period,
    filters: &kpi::Filters,
) -> Result<BTreeMap<String, String>, DashboardError> {
    let mut plain = Vec::new();
    let mut across = Vec::new();
    for key in keys {
        if kpi::query::looks_across_time(catalog, key)? {
            across.push(*key);
        } else {
            plain.push(*key);
        }
    }
    let mut series = BTreeMap::new();
    if !plain.is_empty() {
        series.extend(kpi::series_many(
            conn,
            catalog,
            &plain,
            period,
            sparkline_grain(period),
            filters,
        )?);
    }
    if !across.is_empty() {
        series.extend(kpi::series_many(
            conn,
            catalog,
            &across,
            period,
            sparkline_grain_across_time(period),
            filters,
        )?);
    }
    let mut out = BTreeMap::new();
    for (key, points) in series {
        let values: Vec<Option<f64>> = points.into_iter().map(|(_, v)| v).collect();
        out.insert(
            key,
            charts::sparkline(&values).map_err(DashboardError::Chart)?,
        );
    }
    Ok(out)
}

/// The view of `department` for the view in `query`, computed now from the database.
pub fn department_blocking(
    conn: &mut Connection,
    department: &str,
    query: &str,
) -> Result<DepartmentView, DashboardError> {
    let catalog = kpi::catalog(conn)?;
    department_from(conn, department, query, &catalog)
}

/// [`department_blocking`] with `catalog`, which may keep its values between requests (the
/// page's own route: see `kpi::memo`).
fn department_from(
    conn: &mut Connection,
    department: &str,
    query: &str,
    catalog: &kpi::Catalog,
) -> Result<DepartmentView, DashboardError> {
    if !DEPARTMENTS.contains(&department) {
        return Err(DashboardError::NotFound(format!(
            "department {department:?}"
        )));
    }
    let mut laps = crate::server::ops::laps::Laps::start("department view");
    let resolved = resolve_view(conn, query)?;
    let owners = kpi::owners(conn)?;
    let owned: Vec<&kpi::KpiDef> = catalog
        .all()
        .iter()
        .filter(|d| owners.get(&d.key).is_some_and(|o| o == department) && !d.internal)
        .collect();
    let request = report::ReportRequest {
        keys: owned.iter().map(|d| d.key.clone()).collect(),
        compare: resolved.compare,
        filters: resolved.filters.clone(),
        locale: resolved.locale,
    };
    let values = report::build(conn, catalog, &resolved.period, &request)?.kpis;
    laps.lap("kpis");
    let list = targets::list(conn, Some(department), None)?;
    let reports = to_rows(targets::report(conn, catalog, list, resolved.as_of)?);
    laps.lap("targets");
    let keys: Vec<&str> = values.iter().map(|v| v.key.as_str()).collect();
    let mut sparklines = sparklines(conn, catalog, &keys, &resolved.period, &resolved.filters)?;
    laps.lap("sparklines");
    let mut benchmarks = super::detail::tile_benchmarks(conn, &keys)?;
    let mut tiles = Vec::with_capacity(values.len());
    for value in values {
        let sparkline = sparklines.remove(&value.key).unwrap_or_default();
        let target = current_target(&reports, &value.key, resolved.as_of);
        tiles.push(DeptTile {
            benchmark: benchmarks.remove(&value.key),
            kpi: value,
            target,
            sparkline,
        });
    }
    let mut breakdowns = Vec::new();
    for (key, dimension) in BREAKDOWNS
        .iter()
        .find(|(d, _)| *d == department)
        .map(|(_, list)| *list)
        .unwrap_or_default()
    {
        if let Some(def) = catalog.get(key) {
            breakdowns.push(breakdown_of(conn, catalog, def, &resolved, dimension)?);
        }
    }
    laps.lap("breakdowns");
    Ok(DepartmentView {
        view: resolved.view,
        department: department.to_string(),
        tiles,
        breakdowns,
        can_edit_targets: false,
        csrf: String::new(),
    })
}

/// The target of `key` whose period contains `day`, the shortest period first.
pub fn current_target(
    reports: &[TargetRow],
    key: &str,
    day: chrono::NaiveDate,
) -> Option<TargetRow> {
    reports
        .iter()
        .filter_map(|r| Some((r, TargetPeriod::parse(&r.period).ok()?.period)))
        .filter(|(r, p)| r.kpi == key && p.contains(day))
        .min_by_key(|(_, p)| p.days())
        .map(|(r, _)| r.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::kpi::Catalog;

    #[test]
    fn every_breakdown_kpi_is_owned_by_its_department() {
        let catalog = Catalog::builtin();
        for (department, list) in BREAKDOWNS {
            assert!(DEPARTMENTS.contains(department), "{department}");
            for (key, dimension) in *list {
                let def = catalog.get(key).expect("known KPI");
                assert_eq!(def.owner, *department, "{key}");
                assert!(
                    kpi::Dimension::parse(dimension).is_some(),
                    "{dimension} is an engine dimension"
                );
            }
        }
        for department in DEPARTMENTS {
            assert!(
                catalog
                    .all()
                    .iter()
                    .any(|d| d.owner == department && !d.internal),
                "{department} owns at least one KPI"
            );
        }
    }

    #[test]
    fn a_tile_shows_the_narrowest_target_around_the_day() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 6, 15).expect("date");
        let row = |kpi: &str, period: &str, value: f64| TargetRow {
            kpi: kpi.into(),
            department: "sales".into(),
            period: period.into(),
            value,
            actual: None,
            projection: None,
            status: None,
            as_of: day,
        };
        let rows = [
            row("orders", "2026", 5000.0),
            row("orders", "2026-Q2", 1300.0),
            row("orders", "2026-05", 400.0),
            row("aov", "2026-06", 50.0),
        ];
        let pick = |key: &str| current_target(&rows, key, day).map(|t| t.value);
        // May is over: the quarter is the narrowest target that holds 15 June.
        assert_eq!(pick("orders"), Some(1300.0));
        assert_eq!(pick("aov"), Some(50.0));
        assert_eq!(pick("gross_revenue"), None);
    }

    #[test]
    fn sparklines_stay_short() {
        let p = |from: &str, to: &str| Period::parse(from, to).expect("period");
        assert_eq!(sparkline_grain(&p("2026-06-01", "2026-06-30")), Grain::Day);
        assert_eq!(sparkline_grain(&p("2025-07-01", "2026-06-30")), Grain::Week);
        assert_eq!(
            sparkline_grain(&p("2024-01-01", "2026-06-30")),
            Grain::Month
        );
        // A point of churn or CLV is a statement of its own: at most about 8 of them.
        let across = |from: &str, to: &str| sparkline_grain_across_time(&p(from, to));
        assert_eq!(across("2026-06-23", "2026-06-30"), Grain::Day);
        assert_eq!(across("2026-06-01", "2026-06-30"), Grain::Week);
        assert_eq!(across("2026-04-01", "2026-06-30"), Grain::Month);
        assert_eq!(across("2025-07-01", "2026-06-30"), Grain::Quarter);
    }
}
