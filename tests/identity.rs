//! Identity stitching: chains of identifiers become one customer, over-shared identifiers
//! link nobody, a merge keeps the id of the customer's smallest identifier and is recorded,
//! phones are compared in E.164, and the customer 360 headers follow.

mod common;

use common::{TestDb, ev};
use omnikpi::server::identity;

fn ids(t: &TestDb) -> Vec<(String, String, i64)> {
    let conn = t.db.connect().expect("connection");
    let mut stmt = conn
        .prepare("SELECT id_type, id_value, customer_id FROM identities ORDER BY ALL")
        .expect("prepare");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

#[test]
fn a_chain_of_identifiers_is_one_customer() {
    let t = TestDb::new();
    t.load_events(&[
        ev("1", "2026-03-01T10:00:00Z", "identify")
            .email("a@x.it")
            .loyalty("L1"),
        ev("2", "2026-03-02T10:00:00Z", "identify")
            .loyalty("L1")
            .set("cookie_id", "ck1"),
        ev("3", "2026-03-03T10:00:00Z", "visit")
            .channel("web")
            .cookie("ck1"),
    ]);
    assert_eq!(
        t.count("SELECT count(DISTINCT customer_id) FROM identities"),
        1
    );
    assert_eq!(t.count("SELECT count(*) FROM identities"), 3);
    // The anonymous-looking visit joined the customer through its cookie.
    assert_eq!(
        t.count("SELECT count(*) FROM events WHERE customer_id IS NULL"),
        0
    );
}

#[test]
fn phones_are_compared_in_e164() {
    let t = TestDb::new();
    t.load_events(&[
        ev("1", "2026-03-01T10:00:00Z", "identify")
            .set("phone", "347 123 4567")
            .loyalty("L1"),
        ev("2", "2026-03-02T10:00:00Z", "identify")
            .set("phone", "0039 347-123-4567")
            .email("b@x.it"),
        ev("3", "2026-03-03T10:00:00Z", "identify")
            .set("phone", "+39 (347) 1234567")
            .set("crm_id", "C9"),
    ]);
    assert_eq!(t.count("SELECT count(DISTINCT phone) FROM events"), 1);
    assert_eq!(
        t.count("SELECT count(*) FROM events WHERE phone = '+393471234567'"),
        3
    );
    assert_eq!(t.count("SELECT count(DISTINCT customer_id) FROM events"), 1);
}

#[test]
fn an_over_shared_identifier_links_nobody_and_is_listed() {
    let t = TestDb::new();
    t.set_setting("identity_max_links", "2");
    // The shop's own e-mail typed on four customers' receipts.
    let events: Vec<_> = (1..=4)
        .map(|i| {
            ev(&format!("r{i}"), "2026-03-01T10:00:00Z", "purchase")
                .channel("store")
                .email("negozio@shop.it")
                .loyalty(&format!("L{i}"))
                .amount("10.00")
        })
        .collect();
    t.load_events(&events);
    assert_eq!(t.count("SELECT count(DISTINCT customer_id) FROM events"), 4);
    assert_eq!(
        t.count("SELECT count(*) FROM identifiers_ignored WHERE id_value = 'negozio@shop.it' AND linked = 4"),
        1
    );
    assert_eq!(
        t.count("SELECT count(*) FROM identities WHERE id_type = 'email'"),
        0
    );
}

#[test]
fn a_merge_keeps_the_id_of_the_smallest_identifier_and_is_recorded() {
    let t = TestDb::new();
    t.load_events(&[
        ev("1", "2026-03-01T10:00:00Z", "purchase")
            .channel("store")
            .loyalty("L1")
            .amount("10.00"),
        ev("2", "2026-03-02T10:00:00Z", "purchase")
            .channel("web")
            .email("a@x.it")
            .amount("20.00"),
    ]);
    let before = ids(&t);
    let l1 = before
        .iter()
        .find(|(_, v, _)| v == "L1")
        .map(|r| r.2)
        .expect("L1");
    let a = before
        .iter()
        .find(|(_, v, _)| v == "a@x.it")
        .map(|r| r.2)
        .expect("a");
    assert_ne!(l1, a);
    // A later file shows both belong to one person.
    let file = t.file(
        "link.csv",
        &[
            "event_id,occurred_at,event_type,email,loyalty_id",
            "3,2026-03-05T10:00:00Z,identify,a@x.it,L1",
        ],
    );
    t.load("crm", &file).expect("link loads");
    let after = ids(&t);
    // The id derives from the smallest identifier: loyalty ids come before e-mails.
    let survivor = l1;
    assert!(after.iter().all(|r| r.2 == survivor), "{after:?}");
    assert_eq!(
        t.count(&format!(
            "SELECT count(*) FROM customer_merges WHERE merged_id = {a} AND into_id = {survivor}"
        )),
        1
    );
    // The customer 360 header sums both channels.
    assert_eq!(t.count("SELECT count(*) FROM customers"), 1);
    assert_eq!(
        t.count("SELECT CAST(lifetime_revenue AS BIGINT) FROM customers"),
        30
    );
    assert_eq!(t.count("SELECT len(channels) FROM customers"), 2);
}

#[test]
fn ids_are_stable_and_a_rebuild_changes_nothing() {
    let t = TestDb::new();
    t.load_events(&[
        ev("1", "2026-03-01T10:00:00Z", "identify")
            .email("a@x.it")
            .loyalty("L1"),
        ev("2", "2026-03-01T10:00:00Z", "identify").email("b@x.it"),
    ]);
    let first = ids(&t);
    let more = t.file(
        "more.csv",
        &[
            "event_id,occurred_at,event_type,email",
            "9,2026-03-09T10:00:00Z,identify,c@x.it",
        ],
    );
    t.load("other", &more).expect("loads");
    let second = ids(&t);
    for row in &first {
        assert!(second.contains(row), "{row:?} changed");
    }
    let conn = t.db.connect().expect("connection");
    identity::stitch(&conn).expect("rebuild");
    assert_eq!(ids(&t), second);
}
