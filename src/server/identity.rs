//! Identity stitching: the identifiers that one event carries together may belong to one
//! person, and identifiers connected through a chain of allowed links form one customer.
//!
//! What may link is data ([`rules`]: the retail defaults of `identity/rules.toml`, or the
//! version an admin stored): which kinds of identifier link which and with what priority, how
//! many identifiers of a kind one customer may hold, and values that never link (test
//! accounts, the store's own e-mail). Splits made on the customer 360 ([`split`]) are rules
//! too: an identifier blocked for everyone, or a pair of identifiers that never link directly.
//!
//! Only a group that holds a person-level identifier (loyalty card, CRM id, e-mail, phone by
//! default) is a customer. A cookie or a device seen alone is a browser, not a person: its
//! events stay anonymous until an event links it to a person.
//!
//! Determinism: the result depends only on the set of events and the rules, never on the
//! order the events were loaded in.
//! - Candidate links are made one at a time, strongest rule first (higher priority), then by
//!   the earliest event carrying both identifiers (time, then source, then event id), then by
//!   the smaller pair of identifiers (kind in [`IDENTIFIERS`] order, then value). A link that
//!   would give a customer more identifiers of a kind than `max_per_customer` is refused:
//!   the earlier, stronger link wins (the tie-break above).
//! - A customer's id is derived from its smallest identifier (kind, then value): the first 53
//!   bits of its SHA-256, so it fits a JavaScript number; should two customers' hashes collide,
//!   the customer with the larger smallest identifier takes the next free number.
//! - An event belongs to the customer of its first identifier in [`IDENTIFIERS`] order that
//!   resolves (a loyalty card before an e-mail before a cookie), which matters only when its
//!   identifiers were not allowed to link.
//!
//! Every link made is stored with the event and the rule behind it (`identity_links`), so the
//! customer 360 can say why two identifiers are one customer.

pub mod forms;
pub mod rules;
pub mod simulate;
pub mod split;
pub mod suspicious;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use duckdb::Connection;
use sha2::{Digest, Sha256};

pub use rules::{Rules, RulesError};

/// The identifier columns of `events`, in the order they are tried.
pub const IDENTIFIERS: &[&str] = &[
    "loyalty_id",
    "crm_id",
    "email",
    "phone",
    "device_id",
    "cookie_id",
];

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("database error: {0}")]
    Sql(#[from] duckdb::Error),
    #[error(transparent)]
    Db(#[from] super::db::DbError),
    #[error(transparent)]
    Rules(#[from] RulesError),
    #[error("the stored identity rules (version {0}) no longer parse: {1}")]
    StoredRules(i64, RulesError),
    #[error(transparent)]
    Kpi(#[from] super::kpi::KpiError),
    #[error(transparent)]
    Journey(#[from] super::journey::JourneyError),
    #[error("no customer {0}")]
    NoCustomer(i64),
    #[error("customer {customer} has no identifier {id_type} {value:?}")]
    NotTheirs {
        customer: i64,
        id_type: String,
        value: String,
    },
    #[error("{0}")]
    Invalid(String),
}

/// An identifier: its kind (index into [`IDENTIFIERS`]) and value.
pub type Key = (u8, String);

/// The event that first carried two identifiers together: time (µs since the epoch), source,
/// event id. Ordered as the tie-break orders links.
type Evidence = (i64, String, String);

/// One link made while stitching, in the order it was made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub a: Key,
    pub b: Key,
    pub priority: i64,
    pub source: String,
    pub event_id: String,
    pub at_us: i64,
}

/// The outcome of stitching, before (or instead of) writing it.
#[derive(Clone, Debug, Default)]
pub struct Stitched {
    /// Customer id → its identifiers, sorted.
    pub customers: BTreeMap<i64, Vec<Key>>,
    /// Links made, with the customer they belong to.
    pub links: Vec<(i64, Link)>,
    /// Identifiers shared by too many people: (key, distinct identifiers seen with it).
    pub ignored: Vec<(Key, usize)>,
    /// Links refused because a customer would exceed a per-kind limit.
    pub refused: usize,
}

/// The rules in force: the latest version an admin stored, else the built-in defaults; with
/// its version (None: defaults).
pub fn current_rules(conn: &Connection) -> Result<(Rules, Option<i64>), IdentityError> {
    let stored: Option<(i64, String)> = match conn.query_row(
        "SELECT version, rules FROM identity_rules ORDER BY version DESC LIMIT 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    ) {
        Ok(row) => Some(row),
        Err(duckdb::Error::QueryReturnedNoRows) => None,
        Err(e) => return Err(e.into()),
    };
    match stored {
        Some((version, text)) => Rules::parse(&text)
            .map(|r| (r, Some(version)))
            .map_err(|e| IdentityError::StoredRules(version, e)),
        None => Ok((Rules::defaults(), None)),
    }
}

/// The text of the rules in force (for the admin page and `identity simulate` diffs).
pub fn current_rules_text(conn: &Connection) -> Result<String, IdentityError> {
    match conn.query_row(
        "SELECT rules FROM identity_rules ORDER BY version DESC LIMIT 1",
        [],
        |r| r.get::<_, String>(0),
    ) {
        Ok(text) => Ok(text),
        Err(duckdb::Error::QueryReturnedNoRows) => Ok(rules::DEFAULT_RULES.to_string()),
        Err(e) => Err(e.into()),
    }
}

/// Recomputes `identities`, `identity_links`, `events.customer_id` and `customers` with the
/// rules in force; returns the number of customers.
pub fn stitch(conn: &Connection) -> Result<u64, IdentityError> {
    let (rules, _) = current_rules(conn)?;
    stitch_with(conn, &rules)
}

/// [`stitch`] with `rules` instead of the rules in force.
pub fn stitch_with(conn: &Connection, rules: &Rules) -> Result<u64, IdentityError> {
    let stitched = compute_in(conn, rules, false)?;
    write_in(conn, &stitched, false)?;
    Ok(stitched.customers.len() as u64)
}

/// The setting that turns incremental stitching off (loads then re-stitch everything): an
/// escape hatch, and how the tests compare the two.
pub const INCREMENTAL_SETTING: &str = "identity_incremental";

/// The temporary table of the customers whose events the last stitch moved (gained or lost,
/// including events that had no customer yet), written by every stitch in the caller's
/// transaction; empty when a load's events carry no identifier.
pub const TOUCHED: &str = "stitch_touched";

/// Stitches after a load, re-doing only what the events with a `load_id` above `after` can
/// change: the identifiers they carry, grown to every identifier connected to those by any
/// event (so whole components, whose stitching depends on nothing outside them). The result
/// is the one [`stitch`] gives (a test proves it), except that link step numbers of the
/// components re-done follow the others'. Returns the number of customers.
pub fn stitch_after(conn: &Connection, after: i64) -> Result<u64, IdentityError> {
    let off: Option<String> = conn.query_row(
        "SELECT max(value) FROM settings WHERE key = ?",
        [INCREMENTAL_SETTING],
        |r| r.get(0),
    )?;
    if off.as_deref() == Some("off") {
        return stitch(conn);
    }
    let mut laps = super::ops::laps::Laps::start("incremental stitch");
    let (rules, _) = current_rules(conn)?;
    let scope = scope_of_load(conn, after)?;
    laps.lap(format!("scope ({scope} identifiers)"));
    if scope == 0 {
        conn.execute_batch(&format!(
            "DROP TABLE IF EXISTS stitch_scope; DROP TABLE IF EXISTS {SCOPE_EVENTS};
             CREATE OR REPLACE TEMP TABLE {TOUCHED} (customer_id BIGINT);"
        ))?;
        return Ok(customer_count(conn)?);
    }
    let stitched = compute_in(conn, &rules, true)?;
    laps.lap("components");
    write_in(conn, &stitched, true)?;
    laps.lap("write");
    conn.execute_batch(
        "DROP TABLE IF EXISTS stitch_scope; DROP TABLE IF EXISTS stitch_customers;
         DROP TABLE IF EXISTS stitch_events;",
    )?;
    Ok(customer_count(conn)?)
}

fn customer_count(conn: &Connection) -> Result<u64, duckdb::Error> {
    let n: i64 = conn.query_row(
        "SELECT count(DISTINCT customer_id) FROM identities",
        [],
        |r| r.get(0),
    )?;
    Ok(n as u64)
}

/// The temporary table of the events that carry an identifier of `stitch_scope` (filled with
/// it by [`scope_of_load`]): every column stitching reads of them, as they were before the
/// stitch, so the components and the moves are computed without reading `events` again.
const SCOPE_EVENTS: &str = "stitch_events";

/// Fills the temporary table `stitch_scope (t, v)` with the identifiers of the events loaded
/// after load `after`, grown until closed: every identifier that shares an event with one in
/// the scope is in it; and [`SCOPE_EVENTS`] with the events that carry one. Returns the
/// scope's size.
///
/// Each round reads `events` once, for the identifiers the previous round added only and in
/// their columns only (a batch of cookies and e-mails reads two of the six identifier
/// columns): the events that carry the identifiers of earlier rounds are already set aside.
/// A batch whose identifiers link nothing older ends after one round.
fn scope_of_load(conn: &Connection, after: i64) -> Result<usize, IdentityError> {
    let ids = IDENTIFIERS
        .iter()
        .map(|c| format!("e.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    // (identifier type, value) of every identifier the rows of `relation` (aliased `e`) that
    // `filter` keeps carry.
    let unpivot = |relation: &str, filter: &str| {
        IDENTIFIERS
            .iter()
            .map(|c| {
                format!(
                    "SELECT '{c}' AS t, e.{c} AS v FROM {relation} e WHERE e.{c} IS NOT NULL AND ({filter})"
                )
            })
            .collect::<Vec<_>>()
            .join(" UNION ")
    };
    conn.execute_batch(&format!(
        "DROP TABLE IF EXISTS stitch_scope;
         DROP TABLE IF EXISTS {SCOPE_EVENTS};
         CREATE TEMP TABLE {SCOPE_EVENTS} AS
             SELECT e.source, e.event_id, e.occurred_at, e.customer_id, {ids},
                    0 AS round, e.rowid AS row_id
             FROM events e WHERE false;"
    ))?;
    conn.execute(
        &format!(
            "CREATE TEMP TABLE stitch_scope AS SELECT DISTINCT t, v, 0 AS round FROM ({})",
            unpivot("events", "e.load_id > $1")
        ),
        [after],
    )?;
    let mut round: i64 = 0;
    loop {
        // The columns of the identifiers the last round added.
        let columns: Vec<String> = {
            let mut stmt =
                conn.prepare("SELECT DISTINCT t FROM stitch_scope WHERE round = ? ORDER BY t")?;
            let rows = stmt.query_map([round], |r| r.get::<_, String>(0))?;
            rows.collect::<Result<_, _>>()?
        };
        let hits: Vec<String> = IDENTIFIERS
            .iter()
            .filter(|c| columns.iter().any(|t| t == *c))
            .map(|c| {
                format!("e.{c} IN (SELECT v FROM stitch_scope WHERE t = '{c}' AND round = $1)")
            })
            .collect();
        if hits.is_empty() {
            break;
        }
        round += 1;
        // Column names come from the fixed list; the round is bound. One predicate per
        // column: the row ids first, then the rows (super::rowids).
        super::rowids::find(conn, "stitch_rows", "events", &hits, &[&(round - 1)])?;
        conn.execute(
            &format!(
                "INSERT INTO {SCOPE_EVENTS}
                 SELECT e.source, e.event_id, e.occurred_at, e.customer_id, {ids}, $1, e.rowid
                 FROM events e
                 WHERE {} AND NOT EXISTS
                     (SELECT 1 FROM {SCOPE_EVENTS} s
                      WHERE s.source = e.source AND s.event_id = e.event_id)",
                super::rowids::listed("stitch_rows")
            ),
            [round],
        )?;
        conn.execute(
            &format!(
                "INSERT INTO stitch_scope
                 SELECT DISTINCT n.t, n.v, $1 FROM ({}) n
                 WHERE NOT EXISTS (SELECT 1 FROM stitch_scope s WHERE s.t = n.t AND s.v = n.v)",
                unpivot(SCOPE_EVENTS, "e.round = $1")
            ),
            [round],
        )?;
    }
    conn.execute_batch("DROP TABLE IF EXISTS stitch_rows;")?;
    let n: i64 = conn.query_row("SELECT count(*) FROM stitch_scope", [], |r| r.get(0))?;
    Ok(n as usize)
}

/// The splits in force: identifiers that link nobody, and pairs that never link directly.
/// Identifiers blocked by splits, and pairs unlinked by splits (smaller identifier first).
type SplitRules = (HashSet<Key>, HashSet<(Key, Key)>);

fn splits(conn: &Connection) -> Result<SplitRules, IdentityError> {
    let mut blocked = HashSet::new();
    let mut unlinked = HashSet::new();
    let mut stmt =
        conn.prepare("SELECT kind, a_type, a_value, b_type, b_value FROM identity_splits")?;
    let mut rows = stmt.query([])?;
    let kind_of = |t: &str| IDENTIFIERS.iter().position(|c| *c == t).map(|i| i as u8);
    while let Some(row) = rows.next()? {
        let kind: String = row.get(0)?;
        let a_type: String = row.get(1)?;
        let a_value: String = row.get(2)?;
        let b_type: Option<String> = row.get(3)?;
        let b_value: Option<String> = row.get(4)?;
        let Some(a) = kind_of(&a_type).map(|t| (t, a_value)) else {
            continue;
        };
        match (kind.as_str(), b_type.as_deref().and_then(kind_of), b_value) {
            ("block", _, _) => {
                blocked.insert(a);
            }
            ("unlink", Some(bt), Some(bv)) => {
                let b = (bt, bv);
                unlinked.insert(if a <= b { (a, b) } else { (b, a) });
            }
            _ => {}
        }
    }
    Ok((blocked, unlinked))
}

/// Stitches the events with `rules` (and the splits in force) without writing anything.
pub fn compute(conn: &Connection, rules: &Rules) -> Result<Stitched, IdentityError> {
    compute_in(conn, rules, false)
}

/// [`compute`] over every event, or (`scoped`) over the events carrying an identifier of
/// `stitch_scope`, whole components, which give those components as over every event.
fn compute_in(conn: &Connection, rules: &Rules, scoped: bool) -> Result<Stitched, IdentityError> {
    let max_links_setting: usize = conn
        .query_row(
            "SELECT coalesce(max(try_cast(value AS BIGINT)), 50) FROM settings
         WHERE key = 'identity_max_links'",
            [],
            |r| r.get::<_, i64>(0),
        )?
        .max(0) as usize;
    let (blocked, unlinked) = splits(conn)?;

    // Every distinct combination of identifiers some event carries, with the earliest event
    // that carries it (the order makes the pick independent of how the rows are stored).
    // Scoped, the events carrying an identifier of the scope were set aside while it grew.
    let any = IDENTIFIERS
        .iter()
        .map(|c| format!("{c} IS NOT NULL"))
        .collect::<Vec<_>>()
        .join(" OR ");
    let relation = if scoped { SCOPE_EVENTS } else { "events" };
    let columns = IDENTIFIERS.join(", ");
    let mut stmt = conn.prepare(&format!(
        "SELECT DISTINCT ON ({columns}) {columns}, epoch_us(occurred_at), source, event_id
         FROM {relation} WHERE {any}
         ORDER BY {columns}, occurred_at, source, event_id"
    ))?;
    let mut rows = stmt.query([])?;
    let mut keys: Vec<Key> = Vec::new();
    let mut index: HashMap<Key, usize> = HashMap::new();
    let mut combos: Vec<(Vec<usize>, Evidence)> = Vec::new();
    let n = IDENTIFIERS.len();
    while let Some(row) = rows.next()? {
        let mut combo = Vec::new();
        for t in 0..n {
            if let Some(value) = row.get::<_, Option<String>>(t)? {
                let key = (t as u8, value);
                if !rules.usable(key.0, &key.1) || blocked.contains(&key) {
                    continue;
                }
                let next = keys.len();
                let id = *index.entry(key.clone()).or_insert_with(|| {
                    keys.push(key);
                    next
                });
                combo.push(id);
            }
        }
        if !combo.is_empty() {
            let evidence = (row.get(n)?, row.get(n + 1)?, row.get(n + 2)?);
            combos.push((combo, evidence));
        }
    }
    drop(rows);

    // Guard rail: an identifier seen with more distinct identifiers than its kind's max_links
    // (default: the setting) is shared by many people and links nobody.
    let mut neighbours: Vec<HashSet<usize>> = vec![HashSet::new(); keys.len()];
    for (combo, _) in &combos {
        for &a in combo {
            neighbours[a].extend(combo.iter().copied().filter(|&b| b != a));
        }
    }
    let ignored: HashSet<usize> = (0..keys.len())
        .filter(|&k| {
            let own = rules.types[usize::from(keys[k].0)].max_links;
            let limit = if own > 0 { own } else { max_links_setting };
            neighbours[k].len() > limit
        })
        .collect();

    // Candidate links: every allowed pair of usable identifiers, with its earliest event.
    let mut candidates: HashMap<(usize, usize), (i64, Evidence)> = HashMap::new();
    for (combo, evidence) in &combos {
        let usable: Vec<usize> = combo
            .iter()
            .copied()
            .filter(|k| !ignored.contains(k))
            .collect();
        for (i, &x) in usable.iter().enumerate() {
            for &y in &usable[i + 1..] {
                let (a, b) = if keys[x] <= keys[y] { (x, y) } else { (y, x) };
                let Some(priority) = rules.link(keys[a].0, keys[b].0) else {
                    continue;
                };
                if unlinked.contains(&(keys[a].clone(), keys[b].clone())) {
                    continue;
                }
                candidates
                    .entry((a, b))
                    .and_modify(|(_, e)| {
                        if evidence < e {
                            *e = evidence.clone();
                        }
                    })
                    .or_insert_with(|| (priority, evidence.clone()));
            }
        }
    }
    let mut ordered: Vec<((usize, usize), (i64, Evidence))> = candidates.into_iter().collect();
    ordered.sort_by(|((a1, b1), (p1, e1)), ((a2, b2), (p2, e2))| {
        p2.cmp(p1)
            .then_with(|| e1.cmp(e2))
            .then_with(|| keys[*a1].cmp(&keys[*a2]))
            .then_with(|| keys[*b1].cmp(&keys[*b2]))
    });

    let mut forest = Forest::new(keys.len(), n);
    for (k, key) in keys.iter().enumerate() {
        forest.counts[k][usize::from(key.0)] = 1;
    }
    let limits: Vec<usize> = rules.types.iter().map(|t| t.max_per_customer).collect();
    let mut made: Vec<(usize, Link)> = Vec::new();
    let mut refused = 0;
    for ((a, b), (priority, (at_us, source, event_id))) in ordered {
        match forest.union_within(a, b, &limits) {
            Union::Joined => made.push((
                a,
                Link {
                    a: keys[a].clone(),
                    b: keys[b].clone(),
                    priority,
                    source,
                    event_id,
                    at_us,
                },
            )),
            Union::Same => {}
            Union::Refused => refused += 1,
        }
    }

    // Components that hold a person-level identifier are customers.
    let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
    for k in 0..keys.len() {
        if !ignored.contains(&k) {
            groups.entry(forest.find(k)).or_default().push(k);
        }
    }
    let mut components: Vec<(usize, Vec<Key>)> = groups
        .into_iter()
        .filter(|(_, members)| {
            members
                .iter()
                .any(|&k| rules.types[usize::from(keys[k].0)].person)
        })
        .map(|(root, members)| {
            let mut members: Vec<Key> = members.into_iter().map(|k| keys[k].clone()).collect();
            members.sort();
            (root, members)
        })
        .collect();
    components.sort_by(|x, y| x.1.cmp(&y.1));
    let mut taken: HashSet<i64> = HashSet::new();
    let mut id_of_root: HashMap<usize, i64> = HashMap::new();
    let mut customers = BTreeMap::new();
    for (root, members) in components {
        let mut id = customer_id(&members[0]);
        while !taken.insert(id) {
            id = if id >= ID_SPACE { 1 } else { id + 1 };
        }
        id_of_root.insert(root, id);
        customers.insert(id, members);
    }
    let links = made
        .into_iter()
        .filter_map(|(k, link)| id_of_root.get(&forest.find(k)).map(|&id| (id, link)))
        .collect();
    let mut ignored: Vec<(Key, usize)> = ignored
        .into_iter()
        .map(|k| (keys[k].clone(), neighbours[k].len()))
        .collect();
    ignored.sort();
    Ok(Stitched {
        customers,
        links,
        ignored,
        refused,
    })
}

/// How many over-shared identifiers the admin page lists.
pub const IGNORED_SHOWN: i64 = 200;

/// The identifiers stitching ignores because too many people share them: (type, value, how
/// many distinct identifiers they were seen with), most shared first.
pub fn ignored(conn: &Connection) -> Result<Vec<(String, String, i64)>, IdentityError> {
    let mut stmt = conn.prepare(
        "SELECT id_type, id_value, linked FROM identifiers_ignored
         ORDER BY linked DESC, id_type, id_value LIMIT ?",
    )?;
    let rows = stmt.query_map([IGNORED_SHOWN], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Customer ids are below 2^53 (exact in JavaScript and JSON numbers).
const ID_SPACE: i64 = (1 << 53) - 1;

/// The id of the customer whose smallest identifier is `key`.
pub fn customer_id(key: &Key) -> i64 {
    let mut hash = Sha256::new();
    hash.update(IDENTIFIERS[usize::from(key.0)].as_bytes());
    hash.update([0x1f]);
    hash.update(key.1.as_bytes());
    let digest = hash.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let id = (u64::from_be_bytes(first) >> 11) as i64;
    id.max(1)
}

/// Writes a stitching: identities, links, ignored identifiers, merges, events and customers.
pub fn write(conn: &Connection, stitched: &Stitched) -> Result<(), IdentityError> {
    write_in(conn, stitched, false)
}

/// [`write`] of everything, or (`scoped`) of the components of `stitch_scope` only: their
/// identities, links and ignored identifiers are replaced, the events that carry them and
/// the customers they were or are get their ids and headers again.
fn write_in(conn: &Connection, stitched: &Stitched, scoped: bool) -> Result<(), IdentityError> {
    let mut laps = super::ops::laps::Laps::start("stitch write");
    let scope_of = |t: &str, v: &str| {
        if scoped {
            format!("EXISTS (SELECT 1 FROM stitch_scope s WHERE s.t = {t} AND s.v = {v})")
        } else {
            "true".to_string()
        }
    };
    let mut existing: HashMap<i64, BTreeSet<Key>> = HashMap::new();
    {
        let mut stmt = conn.prepare(&format!(
            "SELECT id_type, id_value, customer_id FROM identities WHERE {}",
            scope_of("id_type", "id_value")
        ))?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let id_type: String = row.get(0)?;
            if let Some(t) = IDENTIFIERS.iter().position(|c| *c == id_type) {
                existing
                    .entry(row.get(2)?)
                    .or_default()
                    .insert((t as u8, row.get(1)?));
            }
        }
    }
    if scoped {
        // The customers whose headers are redone: the ones the scope held and will hold.
        conn.execute_batch(
            "DROP TABLE IF EXISTS stitch_customers;
             CREATE TEMP TABLE stitch_customers (customer_id BIGINT);",
        )?;
        let mut ids = conn.appender("stitch_customers")?;
        for id in existing.keys().chain(stitched.customers.keys()) {
            ids.append_row([*id])?;
        }
        ids.flush()?;
        conn.execute_batch(&format!(
            "DELETE FROM identities WHERE {};
             DELETE FROM identifiers_ignored WHERE {};
             DELETE FROM identity_links WHERE customer_id IN (SELECT customer_id FROM stitch_customers)
                 OR {};",
            scope_of("id_type", "id_value"),
            scope_of("id_type", "id_value"),
            scope_of("a_type", "a_value"),
        ))?;
    } else {
        conn.execute_batch(
            "DELETE FROM identities; DELETE FROM identifiers_ignored; DELETE FROM identity_links;",
        )?;
    }
    let first_step: i64 = if scoped {
        conn.query_row(
            "SELECT coalesce(max(step) + 1, 0) FROM identity_links",
            [],
            |r| r.get(0),
        )?
    } else {
        0
    };
    // Scoped, the scope's identities are also kept apart (`stitch_identities`): every
    // identifier of a scope event is in the scope, so the moves below join with those few
    // rows instead of hashing the whole table once per identifier column.
    let identities = if scoped {
        conn.execute_batch(
            "CREATE OR REPLACE TEMP TABLE stitch_identities
                 (id_type VARCHAR, id_value VARCHAR, customer_id BIGINT);",
        )?;
        "stitch_identities"
    } else {
        "identities"
    };
    {
        let mut tables = vec![conn.appender("identities")?];
        if scoped {
            tables.push(conn.appender("stitch_identities")?);
        }
        for appender in &mut tables {
            for (id, members) in &stitched.customers {
                for (t, value) in members {
                    appender.append_row(duckdb::params![
                        IDENTIFIERS[usize::from(*t)],
                        value,
                        id
                    ])?;
                }
            }
            appender.flush()?;
        }
        let mut links = conn.appender("identity_links")?;
        for (step, (id, link)) in stitched.links.iter().enumerate() {
            links.append_row(duckdb::params![
                id,
                IDENTIFIERS[usize::from(link.a.0)],
                link.a.1,
                IDENTIFIERS[usize::from(link.b.0)],
                link.b.1,
                Rules::link_name(link.a.0, link.b.0),
                link.priority,
                link.source,
                link.event_id,
                None::<String>,
                first_step + step as i64,
            ])?;
        }
        links.flush()?;
        let mut ignored = conn.appender("identifiers_ignored")?;
        for ((t, value), linked) in &stitched.ignored {
            ignored.append_row(duckdb::params![
                IDENTIFIERS[usize::from(*t)],
                value,
                *linked as i64
            ])?;
        }
        ignored.flush()?;
    }
    laps.lap("identities written");
    // The links just made name an event of the scope's (scoped) as their evidence.
    let evidence = if scoped { SCOPE_EVENTS } else { "events" };
    conn.execute_batch(&format!(
        "UPDATE identity_links SET occurred_at = e.occurred_at FROM {evidence} e
         WHERE identity_links.occurred_at IS NULL
           AND e.source = identity_links.source AND e.event_id = identity_links.event_id"
    ))?;

    // Two customers turned out to be one: the ids that no longer exist are recorded as merged
    // into the customer that now holds most of their identifiers (ties: the smaller id). An id
    // that exists again (a split) is no longer a merge.
    let mut owner: HashMap<&Key, i64> = HashMap::new();
    for (id, members) in &stitched.customers {
        for key in members {
            owner.insert(key, *id);
        }
    }
    let mut merges = conn.prepare(
        "INSERT INTO customer_merges (merged_id, into_id)
         SELECT $1, $2 WHERE NOT EXISTS
             (SELECT 1 FROM customer_merges WHERE merged_id = $1 AND into_id = $2)",
    )?;
    let mut old_ids: Vec<&i64> = existing.keys().collect();
    old_ids.sort();
    for old in old_ids {
        if stitched.customers.contains_key(old) {
            continue;
        }
        let mut votes: BTreeMap<i64, usize> = BTreeMap::new();
        for key in &existing[old] {
            if let Some(&id) = owner.get(key) {
                *votes.entry(id).or_default() += 1;
            }
        }
        if let Some((&into, _)) = votes.iter().max_by(|x, y| x.1.cmp(y.1).then(y.0.cmp(x.0))) {
            merges.execute(duckdb::params![old, into])?;
        }
    }
    conn.execute_batch(
        "DELETE FROM customer_merges WHERE merged_id IN (SELECT DISTINCT customer_id FROM identities)",
    )?;
    laps.lap("link times and merges");

    // Each event belongs to the customer of its first identifier (in IDENTIFIERS order) that
    // resolves; none: anonymous. Column names come from the fixed list.
    let joins: Vec<String> = IDENTIFIERS
        .iter()
        .enumerate()
        .map(|(i, c)| {
            format!("LEFT JOIN {identities} i{i} ON i{i}.id_type = '{c}' AND i{i}.id_value = e.{c}")
        })
        .collect();
    let picks: Vec<String> = (0..IDENTIFIERS.len())
        .map(|i| format!("i{i}.customer_id"))
        .collect();
    // Scoped, the events that carry an identifier of the scope, as they were before this
    // stitch (nothing has moved them since [`scope_of_load`] set them aside).
    let relation = if scoped { SCOPE_EVENTS } else { "events" };
    // The events that change customer, kept aside so the rollups can be patched for exactly
    // those whose identified flag flips (a merge of two customers changes no rollup measure).
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TEMP TABLE stitch_moves AS
         SELECT source, event_id, old_id, customer_id,
                (old_id IS NULL) <> (customer_id IS NULL) AS flips
         FROM (SELECT e.source, e.event_id, e.customer_id AS old_id, coalesce({}) AS customer_id
               FROM {relation} e {})
         WHERE old_id IS DISTINCT FROM customer_id",
        picks.join(", "),
        joins.join(" ")
    ))?;
    laps.lap("moves");
    // Every move changes the distinct customer sets of its day (docs/rollups.md). The moved
    // events are named by their key as an IN list, which DuckDB answers through the primary
    // key: written as a correlated EXISTS it scanned all of `events` (3 s at 10M events).
    super::rollup::touch_customers(
        conn,
        "(e.source, e.event_id) IN (SELECT source, event_id FROM stitch_moves)",
        &[],
    )?;
    super::rollup::detach(
        conn,
        "(e.source, e.event_id) IN (SELECT source, event_id FROM stitch_moves WHERE flips)",
        &[],
    )?;
    // The customers who lost or gained events: the only ones whose journeys a load must cut
    // again (`journey::update_in` with [`TOUCHED`]).
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TEMP TABLE {TOUCHED} AS
         SELECT old_id AS customer_id FROM stitch_moves WHERE old_id IS NOT NULL
         UNION
         SELECT customer_id FROM stitch_moves WHERE customer_id IS NOT NULL;"
    ))?;
    conn.execute_batch(
        "UPDATE events SET customer_id = m.customer_id
         FROM stitch_moves m
         WHERE m.source = events.source AND m.event_id = events.event_id;
         DROP TABLE stitch_moves;",
    )?;
    super::ops::fault::point("identity.events_moved");
    laps.lap("rollups detached, events moved");
    super::rollup::reattach(conn)?;
    laps.lap("rollups reattached");
    if scoped {
        // Every event of those customers is one of the scope's: a customer held or holds an
        // identifier of the scope, so all of its identifiers (one component) are in the
        // scope, and an event belongs to the customer of one of its identifiers. Read by row
        // id (super::rowids): the headers read most columns, which a plain IN on the
        // customers would read of every event.
        conn.execute_batch(&format!(
            "DELETE FROM customers WHERE customer_id IN (SELECT customer_id FROM stitch_customers);
             {}",
            CUSTOMERS_SQL
                .replace("DELETE FROM customers;", "")
                .replace(
                    "WHERE e.customer_id IS NOT NULL",
                    &format!(
                        "WHERE e.customer_id IN (SELECT customer_id FROM stitch_customers)
                           AND e.rowid IN (SELECT row_id FROM {SCOPE_EVENTS})"
                    )
                )
                // Their identities are the scope's (whole components).
                .replace("FROM identities i", "FROM stitch_identities i")
        ))?;
        conn.execute_batch("DROP TABLE stitch_identities;")?;
    } else {
        conn.execute_batch(CUSTOMERS_SQL)?;
    }
    laps.lap("customers");
    Ok(())
}

/// Rebuilds the customer 360 headers from the stitched events.
const CUSTOMERS_SQL: &str = include_str!("identity/customers.sql");

/// Recomputes every customer from all events in one transaction (`omnikpi identity rebuild`).
pub fn rebuild(db: &super::db::Db) -> Result<u64, IdentityError> {
    let _writer = db.write_lock();
    let mut conn = db.connect()?;
    let tx = conn.transaction()?;
    let customers = stitch(&tx)?;
    super::journey::rebuild_in(&tx)?;
    super::ops::fault::point("identity.before_commit");
    tx.commit()?;
    Ok(customers)
}

/// What [`Forest::union_within`] did.
enum Union {
    Joined,
    Same,
    Refused,
}

/// Union-find with path halving and union by size, counting each set's identifiers by kind.
struct Forest {
    parent: Vec<usize>,
    size: Vec<usize>,
    counts: Vec<Vec<usize>>,
}

impl Forest {
    fn new(nodes: usize, kinds: usize) -> Self {
        Self {
            parent: (0..nodes).collect(),
            size: vec![1; nodes],
            counts: vec![vec![0; kinds]; nodes],
        }
    }

    fn find(&mut self, mut node: usize) -> usize {
        while self.parent[node] != node {
            self.parent[node] = self.parent[self.parent[node]];
            node = self.parent[node];
        }
        node
    }

    /// Joins the sets of `a` and `b` unless the joined set would hold more identifiers of a
    /// kind than `limits` allows (0: no limit).
    fn union_within(&mut self, a: usize, b: usize, limits: &[usize]) -> Union {
        let (mut a, mut b) = (self.find(a), self.find(b));
        if a == b {
            return Union::Same;
        }
        let over = limits
            .iter()
            .enumerate()
            .any(|(t, &max)| max > 0 && self.counts[a][t] + self.counts[b][t] > max);
        if over {
            return Union::Refused;
        }
        if self.size[a] < self.size[b] {
            std::mem::swap(&mut a, &mut b);
        }
        self.parent[b] = a;
        self.size[a] += self.size[b];
        for t in 0..limits.len().min(self.counts[a].len()) {
            self.counts[a][t] += self.counts[b][t];
        }
        Union::Joined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_join_into_one_set_within_limits() {
        let mut f = Forest::new(4, 1);
        for k in 0..4 {
            f.counts[k][0] = 1;
        }
        assert!(matches!(f.union_within(0, 1, &[3]), Union::Joined));
        assert!(matches!(f.union_within(1, 2, &[3]), Union::Joined));
        assert!(matches!(f.union_within(0, 2, &[3]), Union::Same));
        // A fourth identifier of the kind would exceed the limit of 3.
        assert!(matches!(f.union_within(2, 3, &[3]), Union::Refused));
        assert_eq!(f.find(0), f.find(2));
        assert_ne!(f.find(0), f.find(3));
    }

    #[test]
    fn customer_ids_fit_a_javascript_number() {
        let id = customer_id(&(0, "L1".to_string()));
        assert!(id > 0 && id <= ID_SPACE);
        assert_eq!(id, customer_id(&(0, "L1".to_string())));
        assert_ne!(id, customer_id(&(2, "L1".to_string())));
    }
}
