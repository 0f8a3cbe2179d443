//! Market benchmarks: reference values for a KPI with their source and year, shown beside our
//! own figure ("multichannel buyers purchase about 2.5 times as often", Medallia).

use duckdb::Connection;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Benchmark {
    pub kpi: String,
    pub value: f64,
    pub source: String,
    /// The year the figure refers to, when the source states one.
    pub year: Option<i32>,
    pub note: Option<String>,
}

/// The benchmarks of one KPI, or of all when `kpi` is `None`.
pub fn list(conn: &Connection, kpi: Option<&str>) -> Result<Vec<Benchmark>, duckdb::Error> {
    let mut stmt = conn.prepare(
        "SELECT kpi, value, source, year, note FROM benchmarks
         WHERE ? IS NULL OR kpi = ? ORDER BY kpi, benchmark_id",
    )?;
    let rows = stmt.query_map(duckdb::params![kpi, kpi], |r| {
        Ok(Benchmark {
            kpi: r.get(0)?,
            value: r.get(1)?,
            source: r.get(2)?,
            year: r.get(3)?,
            note: r.get(4)?,
        })
    })?;
    rows.collect()
}
