//! KPI values kept between requests, per period and filters, for as long as the events they
//! read are unchanged (docs/rollups.md section 4).
//!
//! A view asks for the same values many times (a tile and its comparison, the comparison of
//! another view, the buckets of a sparkline), and the views of a recent period are asked
//! again after every write. The values of a period that ends before the first day a write
//! changed are still exact afterwards: every KPI reads only events before its period's end,
//! except those that look ahead or read later events with no bound
//! ([`super::Catalog::reads_after_period`]), which are never kept here. So
//! the results cache ([`Db::cached_reading`]) keeps them across such writes, and a batch of
//! today's events costs the views only their current period.
//!
//! A catalog reads and fills the memo when built with [`super::Catalog::with_memo`]; the request
//! paths do that, and the writers and checks (which must see their own transaction, or the
//! raw events) use a catalog without one.

use std::fmt;

use chrono::NaiveDate;

use super::filter::{Dimension, Filters};
use super::period::Period;
use super::query::Values;
use crate::server::db::{Db, Reads};

/// A handle to the values kept in a database's results cache.
#[derive(Clone)]
pub struct Memo {
    db: Db,
}

impl fmt::Debug for Memo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Memo")
    }
}

/// The values read together: the data version they were read at, and what is known.
pub(super) struct Recall {
    pub version: u64,
    pub values: Values,
}

impl Memo {
    pub fn new(db: &Db) -> Self {
        Self { db: db.clone() }
    }

    fn key(period: &Period, filters: &Filters) -> String {
        format!(
            "kpi values\u{1f}{}\u{1f}{}\u{1f}{filters:?}",
            period.from(),
            period.end_exclusive()
        )
    }

    /// The data version now: values computed after reading it are kept only if no write
    /// happened in between (`Db::cache_put`).
    pub(super) fn version(&self) -> u64 {
        self.db.data_version()
    }

    /// The values known for `period` and `filters` (none when nothing is kept).
    pub(super) fn recall(&self, period: &Period, filters: &Filters) -> Recall {
        // The version first: values computed after this read are kept only if no write
        // happened in between (Db::cache_put).
        let version = self.db.data_version();
        let values = self
            .db
            .cache_get::<Values>(&Self::key(period, filters))
            .unwrap_or_default();
        Recall { version, values }
    }

    /// The values kept for `period` and `filters` at the current data version (for checks).
    pub fn known(&self, period: &Period, filters: &Filters) -> Values {
        self.recall(period, filters).values
    }

    /// Keeps `values` (all of `period` and `filters`, none that reads past its end) as known at
    /// `version`.
    pub(super) fn keep(&self, version: u64, period: &Period, filters: &Filters, values: Values) {
        self.db.cache_put(
            &Self::key(period, filters),
            version,
            reads(filters, period.end_exclusive()),
            values,
        );
    }
}

/// The memo as the set rows of one filter see it (`sets.rs` keeps the rows of each month it
/// read, so that after a write it reads again only the months from the first day changed).
#[derive(Clone, Copy)]
pub(super) struct RowsMemo<'m> {
    memo: &'m Memo,
    filters: &'m Filters,
}

impl Memo {
    /// The memo for set rows read under `filters`.
    pub(super) fn rows<'m>(&'m self, filters: &'m Filters) -> RowsMemo<'m> {
        RowsMemo {
            memo: self,
            filters,
        }
    }
}

impl RowsMemo<'_> {
    /// See [`Memo::version`].
    pub(super) fn version(&self) -> u64 {
        self.memo.version()
    }

    /// What is kept under `key`, if anything.
    pub(super) fn recall<T: Clone + 'static>(&self, key: &str) -> Option<T> {
        self.memo.db.cache_get(key)
    }

    /// Keeps `value`, read at `version` from the days before `end`, under `key`.
    pub(super) fn keep<T: Send + Sync + 'static>(
        &self,
        version: u64,
        key: &str,
        end: NaiveDate,
        value: T,
    ) {
        let reads = reads(self.filters, end);
        self.memo.db.cache_put(key, version, reads, value);
    }
}

/// What a result over the events before `end` under `filters` reads: those events, unless a
/// filter reads what a load may change at any day (the customer's current segment).
fn reads(filters: &Filters, end: NaiveDate) -> Reads {
    if filters.dimensions().any(|d| d == Dimension::Segment) {
        Reads::Everything
    } else {
        Reads::DaysBefore(end)
    }
}
