//! Everything that runs only on the server: configuration, the DuckDB store, ingestion,
//! identity stitching, the KPI engine, charts, the HTTP router and the command line.
//!
//! Nothing in here is compiled into the browser bundle. Views reach it only through the server
//! functions declared beside their client types (for example [`crate::dashboard`]), which
//! check the user first; nothing in here imports a view (the `architecture` tests hold both).

pub mod admin;
pub mod alerts;
pub mod annotations;
pub mod api;
#[cfg(test)]
mod architecture;
pub mod auth;
pub mod bench;
pub mod charts;
pub mod cli;
pub mod config;
pub mod dashboard;
pub mod db;
pub mod demo;
pub mod digest;
pub mod export;
pub mod forms;
pub mod identity;
pub mod ingest;
pub mod insight;
pub mod journey;
pub mod kiosk;
pub mod kpi;
pub mod ops;
pub mod page_cache;
pub mod rollup;
pub mod routes;
pub mod rowids;
pub mod settings;
pub mod sheet;
#[cfg(feature = "spark")]
pub mod spark;
pub mod state;
pub mod theme;
pub mod tokens;
pub mod view;
