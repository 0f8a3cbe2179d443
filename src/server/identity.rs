//! Identity stitching: the identifiers that one event carries together belong to one person,
//! and identifiers connected through any chain of events form one customer (union-find over
//! the link graph).
//!
//! Only a component that holds a person-level identifier (loyalty card, CRM id, e-mail, phone)
//! is a customer. A cookie or a device seen alone is a browser, not a person: its events stay
//! anonymous until an event links it to a person (then they join that customer), so a guest
//! with a fresh cookie is not counted as another active or new customer.
//!
//! Customer ids are stable: a component keeps the smallest id any of its identifiers already
//! had, and new components get new ids in a deterministic order (by their smallest
//! identifier), so the same events always give the same customers.

use std::collections::{BTreeMap, HashMap, HashSet};

use duckdb::Connection;

/// The identifier columns of `events`, in the order they are tried.
pub const IDENTIFIERS: &[&str] = &[
    "loyalty_id",
    "crm_id",
    "email",
    "phone",
    "device_id",
    "cookie_id",
];

/// How many of [`IDENTIFIERS`] (the first ones) name a person rather than a browser.
const PERSON_LEVEL: usize = 4;

/// Recomputes `identities` and `events.customer_id`; returns the number of customers.
pub fn stitch(conn: &Connection) -> Result<u64, duckdb::Error> {
    let max_links: usize = conn.query_row(
        "SELECT coalesce(max(try_cast(value AS BIGINT)), 50) FROM settings
         WHERE key = 'identity_max_links'",
        [],
        |r| r.get::<_, i64>(0),
    )? as usize;

    // Every distinct combination of identifiers that some event carries.
    let mut keys: HashMap<(u8, String), usize> = HashMap::new();
    let mut combos: Vec<Vec<usize>> = Vec::new();
    let any = IDENTIFIERS
        .iter()
        .map(|c| format!("{c} IS NOT NULL"))
        .collect::<Vec<_>>()
        .join(" OR ");
    let mut stmt = conn.prepare(&format!(
        "SELECT DISTINCT {} FROM events WHERE {any}",
        IDENTIFIERS.join(", ")
    ))?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let mut combo = Vec::new();
        for (i, _) in IDENTIFIERS.iter().enumerate() {
            if let Some(value) = row.get::<_, Option<String>>(i)? {
                let next = keys.len();
                combo.push(*keys.entry((i as u8, value)).or_insert(next));
            }
        }
        combos.push(combo);
    }
    drop(rows);

    // Guard rail: an identifier linked to more distinct identifiers than `max_links` is shared
    // by many people (a shop's generic e-mail, a shared tablet) and links nobody.
    let mut neighbours: Vec<HashSet<usize>> = vec![HashSet::new(); keys.len()];
    for combo in &combos {
        for &a in combo {
            neighbours[a].extend(combo.iter().copied().filter(|&b| b != a));
        }
    }
    let ignored: HashSet<usize> = (0..keys.len())
        .filter(|&n| neighbours[n].len() > max_links)
        .collect();
    let mut forest = Forest::default();
    for _ in 0..keys.len() {
        forest.add();
    }
    for combo in &combos {
        let mut linked = combo.iter().copied().filter(|n| !ignored.contains(n));
        if let Some(first) = linked.next() {
            for node in linked {
                forest.union(first, node);
            }
        }
    }

    let mut existing: HashMap<(u8, String), i64> = HashMap::new();
    let mut stmt = conn.prepare("SELECT id_type, id_value, customer_id FROM identities")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let id_type: String = row.get(0)?;
        if let Some(t) = IDENTIFIERS.iter().position(|c| *c == id_type) {
            existing.insert((t as u8, row.get(1)?), row.get(2)?);
        }
    }
    drop(rows);

    // Group identifiers by component, each group ordered, groups ordered by smallest member.
    let mut components: BTreeMap<usize, Vec<&(u8, String)>> = BTreeMap::new();
    for (key, &node) in &keys {
        if !ignored.contains(&node) {
            components.entry(forest.find(node)).or_default().push(key);
        }
    }
    let mut components: Vec<Vec<&(u8, String)>> = components
        .into_values()
        .filter(|members| members.iter().any(|(t, _)| usize::from(*t) < PERSON_LEVEL))
        .collect();
    for members in &mut components {
        members.sort();
    }
    components.sort();

    let mut next_id = existing.values().copied().max().unwrap_or(0) + 1;
    conn.execute_batch("DELETE FROM identities; DELETE FROM identifiers_ignored;")?;
    {
        let mut merges =
            conn.prepare("INSERT INTO customer_merges (merged_id, into_id) VALUES (?, ?)")?;
        let mut appender = conn.appender("identities")?;
        for members in &components {
            let mut ids: Vec<i64> = members
                .iter()
                .filter_map(|k| existing.get(*k))
                .copied()
                .collect();
            ids.sort_unstable();
            ids.dedup();
            let id = match ids.first() {
                Some(&oldest) => oldest,
                None => {
                    next_id += 1;
                    next_id - 1
                }
            };
            // Two customers turned out to be one: the older id survives.
            for merged in ids.iter().skip(1) {
                merges.execute(duckdb::params![merged, id])?;
            }
            for (t, value) in members {
                appender.append_row(duckdb::params![IDENTIFIERS[*t as usize], value, id])?;
            }
        }
        appender.flush()?;
        let mut ignored_rows = conn.appender("identifiers_ignored")?;
        for (key, &node) in &keys {
            if ignored.contains(&node) {
                let linked = neighbours[node].len() as i64;
                ignored_rows.append_row(duckdb::params![
                    IDENTIFIERS[key.0 as usize],
                    key.1,
                    linked
                ])?;
            }
        }
        ignored_rows.flush()?;
    }

    // Events whose identifiers no longer resolve (a browser never linked to a person, an
    // over-shared identifier) are anonymous; the passes below set everything else.
    conn.execute_batch(
        "UPDATE events SET customer_id = NULL WHERE customer_id IS NOT NULL
           AND customer_id NOT IN (SELECT DISTINCT customer_id FROM identities)",
    )?;
    for column in IDENTIFIERS {
        conn.execute(
            &format!(
                "UPDATE events SET customer_id = i.customer_id FROM identities i
                 WHERE i.id_type = ? AND i.id_value = events.{column}
                   AND events.customer_id IS DISTINCT FROM i.customer_id"
            ),
            [column],
        )?;
    }
    conn.execute_batch(CUSTOMERS_SQL)?;
    Ok(components.len() as u64)
}

/// Rebuilds the customer 360 headers from the stitched events.
const CUSTOMERS_SQL: &str = "
    DELETE FROM customers;
    INSERT INTO customers (customer_id, first_seen, last_seen, channels, lifetime_revenue,
                           orders, identifiers, segment)
    SELECT e.customer_id, min(e.occurred_at), max(e.occurred_at),
           coalesce(list_sort(list_distinct(list(e.channel) FILTER (WHERE e.channel IS NOT NULL))),
                    CAST([] AS VARCHAR[])),
           coalesce(sum(e.amount) FILTER (WHERE e.event_type = 'purchase'), 0),
           count(DISTINCT coalesce(e.order_id, e.source || ':' || e.event_id))
               FILTER (WHERE e.event_type = 'purchase'),
           (SELECT count(*) FROM identities i WHERE i.customer_id = e.customer_id),
           CASE
               WHEN count(DISTINCT e.channel) FILTER (WHERE t.interaction) >= 2 THEN 'omnichannel'
               WHEN bool_and(e.channel = 'store') FILTER (WHERE t.interaction) THEN 'store'
               WHEN bool_and(c.online) FILTER (WHERE t.interaction) THEN 'online'
               ELSE 'other'
           END
    FROM events e
    JOIN event_types t USING (event_type)
    LEFT JOIN channels c ON c.channel = e.channel
    WHERE e.customer_id IS NOT NULL
    GROUP BY e.customer_id;";

/// Recomputes every customer from all events in one transaction (`omnikpi identity rebuild`).
pub fn rebuild(db: &super::db::Db) -> Result<u64, super::db::DbError> {
    let _writer = db.write_lock();
    let mut conn = db.connect()?;
    let tx = conn.transaction()?;
    let customers = stitch(&tx)?;
    super::journey::rebuild_in(&tx)?;
    tx.commit()?;
    Ok(customers)
}

/// Union-find with path halving and union by size.
#[derive(Default)]
struct Forest {
    parent: Vec<usize>,
    size: Vec<usize>,
}

impl Forest {
    fn add(&mut self) -> usize {
        self.parent.push(self.parent.len());
        self.size.push(1);
        self.parent.len() - 1
    }

    fn find(&mut self, mut node: usize) -> usize {
        while self.parent[node] != node {
            self.parent[node] = self.parent[self.parent[node]];
            node = self.parent[node];
        }
        node
    }

    fn union(&mut self, a: usize, b: usize) {
        let (mut a, mut b) = (self.find(a), self.find(b));
        if a == b {
            return;
        }
        if self.size[a] < self.size[b] {
            std::mem::swap(&mut a, &mut b);
        }
        self.parent[b] = a;
        self.size[a] += self.size[b];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_join_into_one_set() {
        let mut f = Forest::default();
        let (a, b, c, d) = (f.add(), f.add(), f.add(), f.add());
        f.union(a, b);
        f.union(b, c);
        assert_eq!(f.find(a), f.find(c));
        assert_ne!(f.find(a), f.find(d));
    }
}
