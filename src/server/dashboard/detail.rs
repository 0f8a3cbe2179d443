//! The KPI detail page: the KPI's value and change, its series by grain with the comparison
//! period's series and the target line, a breakdown by one dimension, its targets and the
//! market benchmarks, and its definition in the UI language.
//!
//! Decisions (docs/kpis.md, "Dashboards"):
//! - the comparison line puts the comparison period's buckets at the same positions as the
//!   period's (first week beside first week); a comparison with fewer buckets leaves a gap;
//! - the target line is drawn only where a target's period *is* the bucket (a monthly revenue
//!   target beside monthly buckets) for sums and counts, and wherever a target's period
//!   contains the bucket for ratios and other levels; the owning department's targets win.
//!   Targets are set for the whole business, so with filters there is no target line.

use chrono::NaiveDate;
use duckdb::Connection;

use crate::dashboard::{
    AnnotationRow, BenchmarkRow, Breakdown, BreakdownRow, KpiDetail, SeriesRow, TargetRow,
};
use crate::error::AppError;
use crate::format;
use crate::i18n::Msg;
use crate::kpi::{Grain, KpiValue};
use crate::view::{dimension_name, grain_label};

use super::super::charts::{self, Line, LineKind, Texts};
use super::super::db::Db;
use super::super::kpi::targets::{self, TargetPeriod};
use super::super::kpi::{self, Catalog, Dimension, KpiDef, benchmarks, breakdown, report};
use super::DashboardError;
use crate::server::view::{Resolved, resolve_view};

/// Parts a breakdown shows before "other".
pub const TOP: usize = 8;

/// The dimension a detail page breaks down by when the URL names none.
pub const DEFAULT_DIMENSION: &str = "channel";

pub async fn kpi_detail(db: &Db, key: String, query: String) -> Result<KpiDetail, AppError> {
    let memo = db.clone();
    Ok(db
        .run(move |conn| {
            let catalog = kpi::catalog(conn)?.with_memo(&memo);
            detail_from(conn, &key, &query, &catalog)
        })
        .await?)
}

/// The detail of `key` for the view in `query`; an unknown key is [`DashboardError::NotFound`].
pub fn detail_blocking(
    conn: &mut Connection,
    key: &str,
    query: &str,
) -> Result<KpiDetail, DashboardError> {
    let catalog = kpi::catalog(conn)?;
    detail_from(conn, key, query, &catalog)
}

/// [`detail_blocking`] with `catalog`, which may keep its values between requests (the
/// page's own route: see `kpi::memo`).
fn detail_from(
    conn: &mut Connection,
    key: &str,
    query: &str,
    catalog: &Catalog,
) -> Result<KpiDetail, DashboardError> {
    let def = catalog
        .get(key)
        .ok_or_else(|| DashboardError::NotFound(format!("KPI {key:?}")))?;
    let resolved = resolve_view(conn, query)?;
    let locale = resolved.locale;
    let kpi_value = one_kpi(conn, catalog, def, &resolved)?;
    let target_rows = target_rows(conn, catalog, key, resolved.as_of)?;
    let grain = resolved.view.grain;
    let series = series_rows(conn, catalog, def, &resolved, &target_rows)?;
    let annotations = super::super::annotations::list(
        conn,
        "company",
        Some(key),
        resolved.period.from(),
        resolved.period.to(),
    )
    .map_err(|e| match e {
        super::super::annotations::AnnotationError::Sql(e) => DashboardError::from(e),
        super::super::annotations::AnnotationError::Db(e) => DashboardError::Db(e),
        other => DashboardError::BadRequest(other.to_string()),
    })?;
    let series_svg = series_chart(def, &series, &resolved, grain, &annotations)?;
    let dimension = resolved
        .state()
        .by
        .clone()
        .unwrap_or_else(|| DEFAULT_DIMENSION.to_string());
    let breakdown = breakdown_of(conn, catalog, def, &resolved, &dimension)?;
    let benchmarks = benchmarks::list(conn, Some(key))?
        .into_iter()
        .map(benchmark_row)
        .collect();
    Ok(KpiDetail {
        kpi: kpi_value,
        description: def.description.get(locale).to_string(),
        owner: kpi::owners(conn)?
            .get(&def.key)
            .cloned()
            .unwrap_or_else(|| def.owner.clone()),
        series,
        series_svg,
        breakdown,
        targets: target_rows,
        benchmarks,
        annotations,
        can_annotate: false,
        csrf: String::new(),
        view: resolved.view,
    })
}

fn one_kpi(
    conn: &Connection,
    catalog: &Catalog,
    def: &KpiDef,
    resolved: &Resolved,
) -> Result<KpiValue, DashboardError> {
    let request = report::ReportRequest {
        keys: vec![def.key.clone()],
        compare: resolved.compare,
        filters: resolved.filters.clone(),
        locale: resolved.locale,
    };
    report::build(conn, catalog, &resolved.period, &request)?
        .kpis
        .into_iter()
        .next()
        .ok_or_else(|| DashboardError::NotFound(def.key.clone()))
}

/// Every target of `key`, owner's first, with where the KPI stands on `as_of`.
pub fn target_rows(
    conn: &Connection,
    catalog: &Catalog,
    key: &str,
    as_of: NaiveDate,
) -> Result<Vec<TargetRow>, DashboardError> {
    let owners = kpi::owners(conn)?;
    let owner = owners
        .get(key)
        .map(String::as_str)
        .or_else(|| catalog.get(key).map(|d| d.owner.as_str()))
        .unwrap_or("");
    let mut list = targets::list(conn, None, Some(key))?;
    list.sort_by_key(|t| t.department != owner);
    Ok(to_rows(targets::report(conn, catalog, list, as_of)?))
}

pub fn to_rows(reports: Vec<targets::TargetReport>) -> Vec<TargetRow> {
    reports
        .into_iter()
        .map(|r| TargetRow {
            kpi: r.target.kpi,
            department: r.target.department,
            period: r.target.period,
            value: r.target.value,
            actual: r.actual,
            projection: r.projection,
            status: r.status,
            as_of: r.as_of,
        })
        .collect()
}

/// The target a bucket is measured against (see the module doc), from `rows` in priority
/// order.
pub fn bucket_target(
    def: &KpiDef,
    rows: &[TargetRow],
    from: NaiveDate,
    to: NaiveDate,
) -> Option<f64> {
    let additive = targets::is_additive(def);
    let department = rows.first().map(|r| r.department.as_str())?;
    rows.iter()
        .filter(|r| r.department == department)
        .filter_map(|r| Some((r, TargetPeriod::parse(&r.period).ok()?.period)))
        .filter(|(_, p)| {
            if additive {
                p.from() == from && p.to() == to
            } else {
                p.from() <= from && to <= p.to()
            }
        })
        .min_by_key(|(_, p)| p.days())
        .map(|(r, _)| r.value)
}

fn series_rows(
    conn: &Connection,
    catalog: &Catalog,
    def: &KpiDef,
    resolved: &Resolved,
    target_rows: &[TargetRow],
) -> Result<Vec<SeriesRow>, DashboardError> {
    let grain = resolved.view.grain;
    let current = kpi::series(
        conn,
        catalog,
        &def.key,
        &resolved.period,
        grain,
        &resolved.filters,
    )?;
    let previous = kpi::series(
        conn,
        catalog,
        &def.key,
        &resolved.comparison,
        grain,
        &resolved.filters,
    )?;
    let with_targets = resolved.filters.is_empty();
    Ok(current
        .into_iter()
        .enumerate()
        .map(|(i, (bucket, value))| SeriesRow {
            from: bucket.from(),
            to: bucket.to(),
            value,
            comparison: previous.get(i).and_then(|(_, v)| *v),
            target: with_targets
                .then(|| bucket_target(def, target_rows, bucket.from(), bucket.to()))
                .flatten(),
        })
        .collect())
}

/// The series chart of a detail page.
pub fn series_chart(
    def: &KpiDef,
    rows: &[SeriesRow],
    resolved: &Resolved,
    grain: Grain,
    annotations: &[AnnotationRow],
) -> Result<String, DashboardError> {
    let locale = resolved.locale;
    let labels: Vec<String> = rows
        .iter()
        .map(|r| format::bucket(r.from, grain, locale))
        .collect();
    let values: Vec<Option<f64>> = rows.iter().map(|r| r.value).collect();
    let comparison: Vec<Option<f64>> = rows.iter().map(|r| r.comparison).collect();
    let target: Vec<Option<f64>> = rows.iter().map(|r| r.target).collect();
    let mut lines = vec![
        Line {
            name: locale.text(Msg::ThisPeriod),
            values: &values,
            kind: LineKind::Main,
        },
        Line {
            name: resolved.state().compare.label(locale),
            values: &comparison,
            kind: LineKind::Comparison,
        },
    ];
    if target.iter().any(Option::is_some) {
        lines.push(Line {
            name: locale.text(Msg::Target),
            values: &target,
            kind: LineKind::Target,
        });
    }
    let name = def.name.get(locale);
    let title = format!("{name} · {}", grain_label(grain, locale));
    // A note is marked on the bucket that holds its day, numbered as in the page's list.
    let markers: Vec<(usize, String)> = annotations
        .iter()
        .enumerate()
        .filter_map(|(n, a)| {
            rows.iter()
                .position(|r| r.from <= a.day && a.day <= r.to)
                .map(|i| (i, format!("{}", n + 1)))
        })
        .collect();
    charts::line_chart_marked(
        &labels,
        &lines,
        &markers,
        def.unit,
        &Texts {
            title: &title,
            x_label: grain_label(grain, locale),
            y_label: name,
        },
        locale,
    )
    .map_err(DashboardError::Chart)
}

/// A market benchmark as the pages show it.
pub fn benchmark_row(b: benchmarks::Benchmark) -> BenchmarkRow {
    BenchmarkRow {
        value: b.value,
        source: b.source,
        year: b.year,
        note: b.note,
        url: b.url,
        published: b.published,
        scope: b.scope,
    }
}

/// The benchmark each tile of `keys` shows: the first recorded for its KPI.
pub fn tile_benchmarks(
    conn: &Connection,
    keys: &[&str],
) -> Result<std::collections::BTreeMap<String, BenchmarkRow>, duckdb::Error> {
    let mut out = std::collections::BTreeMap::new();
    for b in benchmarks::list(conn, None)? {
        if keys.contains(&b.kpi.as_str()) && !out.contains_key(&b.kpi) {
            out.insert(b.kpi.clone(), benchmark_row(b));
        }
    }
    Ok(out)
}

/// `def` over the view's period split by `dimension` (top [`TOP`] and "other"), with its bar
/// chart.
pub fn breakdown_of(
    conn: &Connection,
    catalog: &Catalog,
    def: &KpiDef,
    resolved: &Resolved,
    dimension: &str,
) -> Result<Breakdown, DashboardError> {
    breakdown_shown(conn, catalog, def, resolved, dimension, true)
}

/// [`breakdown_of`], with or without its "other" part: a ranking of the top stores leaves it
/// out, since "other" there also holds every sale made outside a store.
pub fn breakdown_shown(
    conn: &Connection,
    catalog: &Catalog,
    def: &KpiDef,
    resolved: &Resolved,
    dimension: &str,
    with_other: bool,
) -> Result<Breakdown, DashboardError> {
    let locale = resolved.locale;
    // A KPI that compares channels is not split by a one-channel dimension (empty by
    // construction): asked for one, it shows its first offered dimension instead.
    let offered = def.breakdown_dimensions(&crate::view::DIMENSIONS);
    let dimension = if offered.contains(&dimension) {
        dimension
    } else {
        offered.first().copied().unwrap_or(dimension)
    };
    let dim = Dimension::parse(dimension)
        .ok_or_else(|| DashboardError::BadRequest(format!("unknown dimension {dimension:?}")))?;
    let parts = breakdown::breakdown(
        conn,
        catalog,
        &def.key,
        &resolved.period,
        &resolved.filters,
        dim,
        TOP,
    )?;
    // The engine leaves out the zero parts of sums (issue #22).
    let rows: Vec<BreakdownRow> = parts
        .into_iter()
        .filter(|p| with_other || p.value.is_some())
        .map(|p| BreakdownRow {
            label: p.value,
            value: p.kpi,
        })
        .collect();
    let other = locale.text(Msg::Other);
    let bars: Vec<(String, Option<f64>)> = rows
        .iter()
        .map(|r| {
            (
                r.label.clone().unwrap_or_else(|| other.to_string()),
                r.value,
            )
        })
        .collect();
    let title = format!(
        "{} · {} {}",
        def.name.get(locale),
        locale.text(Msg::BreakdownBy).to_lowercase(),
        dimension_name(dimension, locale).to_lowercase()
    );
    let svg =
        charts::bar_chart(&bars, other, def.unit, &title, locale).map_err(DashboardError::Chart)?;
    Ok(Breakdown {
        kpi: def.key.clone(),
        kpi_name: def.name.get(locale).to_string(),
        unit: def.unit,
        dimension: dimension.to_string(),
        dimensions: offered.iter().map(|d| d.to_string()).collect(),
        rows,
        svg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
    }

    fn row(department: &str, period: &str, value: f64) -> TargetRow {
        TargetRow {
            kpi: "k".into(),
            department: department.into(),
            period: period.into(),
            value,
            actual: None,
            projection: None,
            status: None,
            as_of: d("2026-06-30"),
        }
    }

    #[test]
    fn sums_get_a_target_only_on_the_bucket_it_covers() {
        let catalog = Catalog::builtin();
        let gross = catalog.get("gross_revenue").expect("kpi");
        let rows = [
            row("sales", "2026-06", 1000.0),
            row("sales", "2026-Q2", 2500.0),
        ];
        assert_eq!(
            bucket_target(gross, &rows, d("2026-06-01"), d("2026-06-30")),
            Some(1000.0)
        );
        assert_eq!(
            bucket_target(gross, &rows, d("2026-04-01"), d("2026-06-30")),
            Some(2500.0)
        );
        // A day of June is not a month: a monthly revenue target says nothing about it.
        assert_eq!(
            bucket_target(gross, &rows, d("2026-06-03"), d("2026-06-03")),
            None
        );
    }

    #[test]
    fn ratios_get_the_narrowest_target_that_contains_the_bucket() {
        let catalog = Catalog::builtin();
        let aov = catalog.get("aov").expect("kpi");
        let rows = [
            row("sales", "2026", 40.0),
            row("sales", "2026-06", 45.0),
            row("marketing", "2026-06", 99.0),
        ];
        assert_eq!(
            bucket_target(aov, &rows, d("2026-06-03"), d("2026-06-03")),
            Some(45.0)
        );
        assert_eq!(
            bucket_target(aov, &rows, d("2026-05-03"), d("2026-05-09")),
            Some(40.0)
        );
        assert_eq!(
            bucket_target(aov, &[], d("2026-05-03"), d("2026-05-09")),
            None
        );
    }
}
