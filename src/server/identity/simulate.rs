//! Rule changes, simulated before they apply: [`simulate`] stitches with proposed rules inside
//! a transaction that is rolled back, [`apply`] does exactly the same and commits (storing the
//! rules and an audit row), so a simulation predicts what applying produces. Both report how
//! many customers merge or split, examples, and the company customer KPIs over the 12 months
//! ending on a day (default today), before and after.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;
use duckdb::Connection;
use serde::Serialize;

use super::{IDENTIFIERS, IdentityError, Key, Rules};
use crate::server::auth::audit;
use crate::server::db::Db;
use crate::server::kpi::{Catalog, Filters, Period};

/// The KPIs a rule change reports.
pub const KPIS: &[&str] = &[
    "active_customers",
    "omnichannel_share",
    "purchase_frequency",
    "clv",
];

/// How many examples of each kind a report lists.
const EXAMPLES: usize = 5;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KpiChange {
    pub key: String,
    pub before: Option<f64>,
    pub after: Option<f64>,
}

/// Customers before → after (ids).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Example {
    pub before: Vec<i64>,
    pub after: Vec<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Simulation {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub customers_before: u64,
    pub customers_after: u64,
    /// Customers after that join identifiers of two or more customers before.
    pub merged: u64,
    /// Customers before whose identifiers end up in two or more customers after.
    pub split: u64,
    /// Customers after whose identifiers are all new to customers (e.g. unblocked).
    pub new: u64,
    /// Customers before none of whose identifiers is a customer's any more (e.g. blocked).
    pub gone: u64,
    pub merge_examples: Vec<Example>,
    pub split_examples: Vec<Example>,
    pub kpis: Vec<KpiChange>,
}

fn mapping(conn: &Connection) -> Result<BTreeMap<i64, BTreeSet<Key>>, IdentityError> {
    let mut out: BTreeMap<i64, BTreeSet<Key>> = BTreeMap::new();
    let mut stmt = conn.prepare("SELECT id_type, id_value, customer_id FROM identities")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let t: String = row.get(0)?;
        if let Some(t) = IDENTIFIERS.iter().position(|c| *c == t) {
            out.entry(row.get(2)?)
                .or_default()
                .insert((t as u8, row.get(1)?));
        }
    }
    Ok(out)
}

fn kpis(
    conn: &Connection,
    period: &Period,
) -> Result<BTreeMap<String, Option<f64>>, IdentityError> {
    Ok(crate::server::kpi::query::compute(
        conn,
        Catalog::builtin(),
        KPIS,
        period,
        &Filters::none(),
    )?)
}

/// The 12 months ending on `end` (default: today in the database's time zone).
fn period(conn: &Connection, end: Option<NaiveDate>) -> Result<Period, IdentityError> {
    let end = match end {
        Some(end) => end,
        None => {
            crate::server::view::today(conn).map_err(|e| IdentityError::Invalid(e.to_string()))?
        }
    };
    let from = end
        .checked_sub_months(chrono::Months::new(12))
        .and_then(|d| d.succ_opt())
        .unwrap_or(end);
    Period::new(from, end).map_err(|e| IdentityError::Invalid(e.to_string()))
}

/// Re-stitches with `rules` inside `conn`'s transaction and compares with what was there.
fn run(
    conn: &Connection,
    rules: &Rules,
    end: Option<NaiveDate>,
) -> Result<Simulation, IdentityError> {
    let period = period(conn, end)?;
    let before = mapping(conn)?;
    let kpis_before = kpis(conn, &period)?;
    super::stitch_with(conn, rules)?;
    crate::server::journey::rebuild_in(conn)?;
    let after = mapping(conn)?;
    let kpis_after = kpis(conn, &period)?;

    let mut old_of: HashMap<&Key, i64> = HashMap::new();
    for (id, keys) in &before {
        for key in keys {
            old_of.insert(key, *id);
        }
    }
    let mut new_of: HashMap<&Key, i64> = HashMap::new();
    for (id, keys) in &after {
        for key in keys {
            new_of.insert(key, *id);
        }
    }
    let spread = |keys: &BTreeSet<Key>, to: &HashMap<&Key, i64>| -> Vec<i64> {
        let ids: BTreeSet<i64> = keys.iter().filter_map(|k| to.get(k).copied()).collect();
        ids.into_iter().collect()
    };
    let mut report = Simulation {
        from: period.from(),
        to: period.to(),
        customers_before: before.len() as u64,
        customers_after: after.len() as u64,
        merged: 0,
        split: 0,
        new: 0,
        gone: 0,
        merge_examples: Vec::new(),
        split_examples: Vec::new(),
        kpis: KPIS
            .iter()
            .map(|k| KpiChange {
                key: (*k).to_string(),
                before: kpis_before.get(*k).copied().flatten(),
                after: kpis_after.get(*k).copied().flatten(),
            })
            .collect(),
    };
    for (id, keys) in &after {
        let olds = spread(keys, &old_of);
        match olds.len() {
            0 => report.new += 1,
            1 => {}
            _ => {
                report.merged += 1;
                if report.merge_examples.len() < EXAMPLES {
                    report.merge_examples.push(Example {
                        before: olds,
                        after: vec![*id],
                    });
                }
            }
        }
    }
    for (id, keys) in &before {
        let news = spread(keys, &new_of);
        match news.len() {
            0 => report.gone += 1,
            1 => {}
            _ => {
                report.split += 1;
                if report.split_examples.len() < EXAMPLES {
                    report.split_examples.push(Example {
                        before: vec![*id],
                        after: news,
                    });
                }
            }
        }
    }
    Ok(report)
}

/// What applying `rules` would change; nothing is written (the transaction rolls back).
pub fn simulate(db: &Db, rules: &str, end: Option<NaiveDate>) -> Result<Simulation, IdentityError> {
    let rules = Rules::parse(rules)?;
    let _writer = db.write_lock();
    let mut conn = db.connect()?;
    let tx = conn.transaction()?;
    let report = run(&tx, &rules, end)?;
    tx.rollback()?;
    Ok(report)
}

/// Stores `rules` as the rules in force and re-stitches every customer, as `actor`, with the
/// audit row (the report) in the same transaction.
pub fn apply(
    db: &Db,
    text: &str,
    actor: &str,
    end: Option<NaiveDate>,
) -> Result<Simulation, IdentityError> {
    let rules = Rules::parse(text)?;
    let _writer = db.write_lock();
    let mut conn = db.connect()?;
    let tx = conn.transaction()?;
    let previous = super::current_rules_text(&tx)?;
    let version: i64 = tx.query_row(
        "INSERT INTO identity_rules (rules, created_by) VALUES (?, ?) RETURNING version",
        [text, actor],
        |r| r.get(0),
    )?;
    let report = run(&tx, &rules, end)?;
    #[derive(Serialize)]
    struct After<'a> {
        version: i64,
        rules: &'a str,
        customers_before: u64,
        customers_after: u64,
        merged: u64,
        split: u64,
    }
    audit::record(
        &tx,
        actor,
        "identity.rules",
        &format!("identity rules v{version}"),
        Some(&previous),
        Some(&After {
            version,
            rules: text,
            customers_before: report.customers_before,
            customers_after: report.customers_after,
            merged: report.merged,
            split: report.split,
        }),
    )?;
    tx.commit()?;
    Ok(report)
}
