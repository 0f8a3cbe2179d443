//! The KPI engine: the one code path that the pages, the JSON API and the CLI use, so every
//! team sees the same number for the same KPI.
//!
//! - [`catalog`]: KPI definitions as data (`catalog.toml`), validated at start-up;
//! - [`period`]: calendar periods in the instance's time zone and their comparisons;
//! - [`query`]: renders definitions to SQL and evaluates them, in one scan per period.

pub mod benchmarks;
pub mod breakdown;
pub mod catalog;
pub mod filter;
pub mod period;
pub mod query;
pub mod report;
pub mod targets;

pub use catalog::{Catalog, CatalogError, KpiDef};
pub use filter::{Dimension, FilterError, Filters};
pub use period::{Period, PeriodError};
pub use query::{KpiError, compute, compute_compared, compute_with_previous, series};
