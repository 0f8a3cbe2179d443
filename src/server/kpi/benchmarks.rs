//! Market benchmarks: reference values for a KPI with where they come from (the publisher, the
//! publication's address, when it was published and what it covers), shown beside our own
//! figure on the KPI page and its tiles.
//!
//! The set is a sheet (`kpi,value,source[,url,published,scope,note]`, see
//! examples/benchmarks/market.csv, which the demo loads): an administrator replaces it whole
//! with `omnikpi benchmark import FILE` or from the KPI administration page, checked line by
//! line, in one transaction, audited.

use std::path::Path;

use duckdb::{Connection, params};
use serde::Serialize;

use super::catalog::Catalog;
use crate::server::auth::audit;
use crate::server::sheet::{self, Refusals, Rejected};

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Benchmark {
    pub kpi: String,
    pub value: f64,
    /// Who published the figure.
    pub source: String,
    /// The year the figure refers to, when the source states one.
    pub year: Option<i32>,
    pub note: Option<String>,
    /// Where the publication can be read.
    pub url: Option<String>,
    /// When it was published: `2021-11-19`, `2018-03` or `2019`.
    pub published: Option<String>,
    /// What the figure covers: market, industry, sample.
    pub scope: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum BenchmarkError {
    #[error("the benchmark file {0}")]
    Sheet(Rejected),
    #[error("database error: {0}")]
    Sql(#[from] duckdb::Error),
}

/// The columns of a benchmark sheet: required, then optional.
pub const REQUIRED: [&str; 3] = ["kpi", "value", "source"];
pub const OPTIONAL: [&str; 4] = ["url", "published", "scope", "note"];

/// The benchmarks of one KPI, or of all when `kpi` is `None`.
pub fn list(conn: &Connection, kpi: Option<&str>) -> Result<Vec<Benchmark>, duckdb::Error> {
    let mut stmt = conn.prepare(
        "SELECT kpi, value, source, year, note, url, published, scope FROM benchmarks
         WHERE ? IS NULL OR kpi = ? ORDER BY kpi, benchmark_id",
    )?;
    let rows = stmt.query_map(params![kpi, kpi], |r| {
        Ok(Benchmark {
            kpi: r.get(0)?,
            value: r.get(1)?,
            source: r.get(2)?,
            year: r.get(3)?,
            note: r.get(4)?,
            url: r.get(5)?,
            published: r.get(6)?,
            scope: r.get(7)?,
        })
    })?;
    rows.collect()
}

/// Replaces every benchmark with those of the sheet at `file` (all or nothing), recording
/// the old and the new set in the audit log as `actor`. Returns how many were imported.
pub fn import(
    conn: &Connection,
    catalog: &Catalog,
    file: &Path,
    actor: &str,
) -> Result<usize, BenchmarkError> {
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
) -> Result<usize, BenchmarkError> {
    let columns: Vec<&str> = REQUIRED.iter().chain(&OPTIONAL).copied().collect();
    let rows =
        sheet::read(conn, file, name, &REQUIRED, &OPTIONAL).map_err(BenchmarkError::Sheet)?;
    let mut refusals = Refusals::default();
    let mut new = Vec::with_capacity(rows.len());
    for row in rows {
        let line = row.line;
        let get = |column: &str| {
            columns
                .iter()
                .position(|c| *c == column)
                .and_then(|i| row.values.get(i))
                .cloned()
                .unwrap_or_default()
        };
        let optional = |column: &str| Some(get(column)).filter(|v| !v.is_empty());
        let kpi = get("kpi");
        if catalog.get(&kpi).is_none() {
            let reason = "not a KPI of the catalog (`omnikpi kpi list`)".to_string();
            refusals.refuse(line, "kpi", reason, &kpi);
        }
        let value = get("value").parse::<f64>().ok().filter(|v| v.is_finite());
        if value.is_none() {
            let reason = "not a number in the KPI's unit (0.25 for 25 %)".to_string();
            refusals.refuse(line, "value", reason, &get("value"));
        }
        let source = get("source");
        if source.is_empty() {
            refusals.refuse(line, "source", "who published it is required".into(), "");
        }
        let url = optional("url");
        if let Some(url) = url.as_deref().filter(|u| !is_web_address(u)) {
            let reason = "not a web address (https://...)".to_string();
            refusals.refuse(line, "url", reason, url);
        }
        let published = optional("published");
        if let Some(p) = published.as_deref().filter(|p| year_of(p).is_none()) {
            let reason = "not a date (2021-11-19), a month (2018-03) or a year (2019)".into();
            refusals.refuse(line, "published", reason, p);
        }
        if let (Some(value), false) = (value, source.is_empty()) {
            new.push(Benchmark {
                year: published.as_deref().and_then(year_of),
                kpi,
                value,
                source,
                note: optional("note"),
                url,
                published,
                scope: optional("scope"),
            });
        }
    }
    refusals.finish(name).map_err(BenchmarkError::Sheet)?;
    let before = list(conn, None)?;
    conn.execute("DELETE FROM benchmarks", [])?;
    for b in &new {
        conn.execute(
            "INSERT INTO benchmarks (kpi, value, source, year, note, url, published, scope)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            params![
                b.kpi,
                b.value,
                b.source,
                b.year,
                b.note,
                b.url,
                b.published,
                b.scope
            ],
        )?;
    }
    audit::record(
        conn,
        actor,
        "benchmarks.import",
        name,
        Some(&before),
        Some(&new),
    )?;
    Ok(new.len())
}

fn is_web_address(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && !url.contains(char::is_whitespace)
}

/// The year of `2021-11-19`, `2018-03` or `2019`; `None` for anything else.
fn year_of(published: &str) -> Option<i32> {
    let parts: Vec<&str> = published.split('-').collect();
    let number = |s: &str, len: usize| (s.len() == len).then(|| s.parse::<u32>().ok())?;
    let year = number(parts.first()?, 4)?;
    let ok = match parts.as_slice() {
        [_] => true,
        [_, m] => number(m, 2).is_some_and(|m| (1..=12).contains(&m)),
        [_, m, d] => {
            let (Some(m), Some(d)) = (number(m, 2), number(d, 2)) else {
                return None;
            };
            chrono::NaiveDate::from_ymd_opt(year as i32, m, d).is_some()
        }
        _ => false,
    };
    ok.then_some(year as i32)
}

#[cfg(test)]
mod tests {
    use super::year_of;

    #[test]
    fn published_is_a_date_a_month_or_a_year() {
        assert_eq!(year_of("2021-11-19"), Some(2021));
        assert_eq!(year_of("2018-03"), Some(2018));
        assert_eq!(year_of("2019"), Some(2019));
        for bad in ["2021-13", "2021-02-30", "19", "2019-3", "March 2019", ""] {
            assert_eq!(year_of(bad), None, "{bad}");
        }
    }
}
