//! The KPI engine: the one code path that the pages, the JSON API and the CLI use, so every
//! team sees the same number for the same KPI.
//!
//! - [`catalog`]: KPI definitions as data (`catalog.toml`), validated at start-up, and
//!   [`derived`]: the ratios admins add at run time (the live catalog is both);
//! - [`period`]: calendar periods in the instance's time zone and their comparisons;
//!   [`filter`]: the dimensions a view is narrowed by, as bound SQL predicates;
//! - [`query`]: renders definitions to SQL and evaluates them, in one scan per period;
//!   [`dialect`]: the catalog's few engine-specific constructs, rendered for DuckDB or Spark;
//!   [`engine`]: the same computation on another engine (Spark);
//!   [`report`]: the KPI report of the API and the CLI (values, changes, status);
//! - [`breakdown`], [`changed`], [`decompose`], [`tree`]: a KPI split by a dimension, what
//!   changed between two periods and why, the KPI tree (`tree.toml`);
//! - [`targets`], [`benchmarks`]: what a KPI is measured against.
//!
//! What a request asks to see (period, filters, today) is resolved before it reaches the
//! engine, in [`crate::server::view`]; the engine takes a [`Period`] and [`Filters`] only.

pub mod benchmarks;
pub mod breakdown;
pub mod catalog;
pub mod changed;
pub mod decompose;
pub mod derived;
pub mod dialect;
pub mod engine;
pub mod facts;
pub mod filter;
pub mod memo;
pub mod period;
pub mod query;
pub mod report;
pub mod sets;
pub mod targets;
pub mod tree;

pub use catalog::{Catalog, CatalogError, DerivedSpec, KpiDef};
pub use filter::{Dimension, FilterError, Filters};
pub use period::{Period, PeriodError};
pub use query::{
    KpiError, compute, compute_compared, compute_from_events, compute_with_previous, series,
    series_many, series_many_from_events,
};

use std::collections::BTreeMap;

/// Each KPI's owner department: an admin's choice (table `kpi_owners`, set on the KPI
/// ownership page) over the catalog's default. Every view that groups KPIs by department
/// reads ownership here.
pub fn owners(conn: &duckdb::Connection) -> Result<BTreeMap<String, String>, duckdb::Error> {
    let mut owners: BTreeMap<String, String> = catalog(conn)?
        .all()
        .iter()
        .map(|k| (k.key.clone(), k.owner.clone()))
        .collect();
    let mut stmt = conn.prepare("SELECT kpi, owner FROM kpi_owners")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    for row in rows {
        let (kpi, owner) = row?;
        owners.insert(kpi, owner);
    }
    Ok(owners)
}

/// The live catalog: the compiled KPIs plus the admin's derived ones (see [`derived`]).
/// Every view, the API and the CLI compute through it.
pub fn catalog(conn: &duckdb::Connection) -> Result<Catalog, duckdb::Error> {
    derived::catalog(conn)
}
