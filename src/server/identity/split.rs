//! Explaining and undoing merges: the lineage of a customer (which event joined which two
//! identifiers under which rule) and splits. A split is a rule, not a one-off edit: an
//! identifier blocked for everyone, or a pair of identifiers that never link directly, stored in
//! `identity_splits`, so it holds after every later load and rebuild. Splitting re-stitches
//! every customer and rebuilds the journeys in the same transaction as its audit row.

use duckdb::Connection;
use serde::Serialize;

use super::{IDENTIFIERS, IdentityError};
use crate::journey::IdentityLink;
use crate::server::auth::audit;
use crate::server::db::Db;

/// The longest reason a split may give.
pub const MAX_REASON: usize = 500;

/// The links that made `customer_id` one customer, in the order they were made.
pub fn lineage(conn: &Connection, customer_id: i64) -> Result<Vec<IdentityLink>, IdentityError> {
    let mut stmt = conn.prepare(
        "SELECT a_type, a_value, b_type, b_value, rule, priority, source, event_id,
                CAST(occurred_at AS VARCHAR)
         FROM identity_links WHERE customer_id = ? ORDER BY step",
    )?;
    let links = stmt
        .query_map([customer_id], |r| {
            Ok(IdentityLink {
                a_type: r.get(0)?,
                a_value: r.get(1)?,
                b_type: r.get(2)?,
                b_value: r.get(3)?,
                rule: r.get(4)?,
                priority: r.get(5)?,
                source: r.get(6)?,
                event_id: r.get(7)?,
                occurred_at: r.get(8)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(links)
}

/// What a split does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Split {
    /// The identifier links nobody from now on.
    Block { id_type: String, value: String },
    /// The two identifiers never link directly from now on.
    Unlink {
        a_type: String,
        a_value: String,
        b_type: String,
        b_value: String,
    },
}

/// The result of a split.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SplitOutcome {
    pub customers_before: u64,
    pub customers_after: u64,
    /// The customers now holding the split identifiers (an unlinked pair still connected
    /// through other events stays one customer).
    pub now: Vec<i64>,
}

fn owner(conn: &Connection, id_type: &str, value: &str) -> Result<Option<i64>, IdentityError> {
    match conn.query_row(
        "SELECT customer_id FROM identities WHERE id_type = ? AND id_value = ?",
        [id_type, value],
        |r| r.get(0),
    ) {
        Ok(id) => Ok(Some(id)),
        Err(duckdb::Error::QueryReturnedNoRows) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Splits `customer_id` as `split` says, for `reason`, as `actor`: stores the split rule,
/// re-stitches, rebuilds the journeys and writes the audit row, in one transaction.
pub fn split(
    db: &Db,
    customer_id: i64,
    split: &Split,
    reason: &str,
    actor: &str,
) -> Result<SplitOutcome, IdentityError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(IdentityError::Invalid("a split needs a reason".into()));
    }
    if reason.chars().count() > MAX_REASON {
        return Err(IdentityError::Invalid(format!(
            "the reason is longer than {MAX_REASON} characters"
        )));
    }
    let _writer = db.write_lock();
    let mut conn = db.connect()?;
    let tx = conn.transaction()?;
    let known: i64 = tx.query_row(
        "SELECT count(*) FROM customers WHERE customer_id = ?",
        [customer_id],
        |r| r.get(0),
    )?;
    if known == 0 {
        return Err(IdentityError::NoCustomer(customer_id));
    }
    let theirs = |id_type: &str, value: &str| -> Result<(), IdentityError> {
        if !IDENTIFIERS.contains(&id_type) || owner(&tx, id_type, value)? != Some(customer_id) {
            return Err(IdentityError::NotTheirs {
                customer: customer_id,
                id_type: id_type.to_string(),
                value: value.to_string(),
            });
        }
        Ok(())
    };
    let customers_before: i64 = tx.query_row("SELECT count(*) FROM customers", [], |r| r.get(0))?;
    let pair = match split {
        Split::Block { id_type, value } => {
            theirs(id_type, value)?;
            tx.execute(
                "INSERT INTO identity_splits (kind, a_type, a_value, customer_id, reason, created_by)
                 VALUES ('block', ?, ?, ?, ?, ?)",
                duckdb::params![id_type, value, customer_id, reason, actor],
            )?;
            vec![(id_type.clone(), value.clone())]
        }
        Split::Unlink {
            a_type,
            a_value,
            b_type,
            b_value,
        } => {
            theirs(a_type, a_value)?;
            theirs(b_type, b_value)?;
            if a_type == b_type && a_value == b_value {
                return Err(IdentityError::Invalid(
                    "a link joins two different identifiers".into(),
                ));
            }
            tx.execute(
                "INSERT INTO identity_splits
                     (kind, a_type, a_value, b_type, b_value, customer_id, reason, created_by)
                 VALUES ('unlink', ?, ?, ?, ?, ?, ?, ?)",
                duckdb::params![a_type, a_value, b_type, b_value, customer_id, reason, actor],
            )?;
            vec![
                (a_type.clone(), a_value.clone()),
                (b_type.clone(), b_value.clone()),
            ]
        }
    };
    let customers_after = super::stitch(&tx)?;
    crate::server::journey::rebuild_in(&tx)?;
    let mut now = Vec::new();
    for (t, v) in &pair {
        if let Some(id) = owner(&tx, t, v)?
            && !now.contains(&id)
        {
            now.push(id);
        }
    }
    let outcome = SplitOutcome {
        customers_before: customers_before as u64,
        customers_after,
        now,
    };
    #[derive(Serialize)]
    struct Record<'a> {
        split: &'a Split,
        reason: &'a str,
        outcome: &'a SplitOutcome,
    }
    audit::record::<(), _>(
        &tx,
        actor,
        "identity.split",
        &format!("customer {customer_id}"),
        None,
        Some(&Record {
            split,
            reason,
            outcome: &outcome,
        }),
    )?;
    tx.commit()?;
    Ok(outcome)
}
