//! Identity rules (#12), each on a hand-made graph: which kinds may link, priorities and
//! per-customer limits with their tie-break, blocked values, a shared device, the lineage of
//! every link, splits that survive reloads and leave the KPIs as if the two people had never
//! been linked, simulations that predict what applying produces, and determinism whatever the
//! load order.

mod common;
#[path = "common/web.rs"]
mod web;

use chrono::NaiveDate;
use common::{Ev, TestDb, ev};
use omnikpi::server::identity::{self, simulate, split};
use omnikpi::server::kpi::report::{self, ReportRequest};
use omnikpi::server::kpi::{Catalog, Period};
use proptest::prelude::*;

fn owner(t: &TestDb, id_type: &str, value: &str) -> Option<i64> {
    let conn = t.db.connect().expect("connection");
    conn.query_row(
        "SELECT customer_id FROM identities WHERE id_type = ? AND id_value = ?",
        [id_type, value],
        |r| r.get(0),
    )
    .ok()
}

fn event_owner(t: &TestDb, event_id: &str) -> Option<i64> {
    let conn = t.db.connect().expect("connection");
    conn.query_row(
        "SELECT customer_id FROM events WHERE event_id = ?",
        [event_id],
        |r| r.get(0),
    )
    .expect("event")
}

fn identities(t: &TestDb) -> Vec<(String, String, i64)> {
    let conn = t.db.connect().expect("connection");
    let mut stmt = conn
        .prepare("SELECT id_type, id_value, customer_id FROM identities ORDER BY ALL")
        .expect("prepare");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

fn end() -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(2026, 6, 30)
}

/// The default rules with the e-mail section's block list replaced by `block`.
fn rules_with_email_block(block: &str) -> String {
    let text = identity::rules::DEFAULT_RULES;
    let start = text.find("[types.email]").expect("e-mail section");
    let line = start + text[start..].find("block = ").expect("block list");
    let end = line + text[line..].find('\n').expect("end of line");
    format!("{}block = {block}{}", &text[..line], &text[end..])
}

#[test]
fn a_device_links_only_to_logins_and_a_phone_not_to_a_device() {
    let t = TestDb::new();
    t.load_events(&[
        ev("1", "2026-03-01T10:00:00Z", "identify")
            .email("a@x.it")
            .set("phone", "+393470000001"),
        // device + phone: not an allowed pair by default.
        ev("2", "2026-03-02T10:00:00Z", "visit")
            .channel("app")
            .set("phone", "+393470000001")
            .device("D1"),
        // device + cookie: not allowed either.
        ev("3", "2026-03-03T10:00:00Z", "visit")
            .channel("web")
            .device("D1")
            .cookie("K1"),
    ]);
    assert_eq!(t.count("SELECT count(*) FROM customers"), 1);
    let a = owner(&t, "email", "a@x.it").expect("a@x.it is a customer");
    assert_eq!(owner(&t, "phone", "+393470000001"), Some(a));
    assert_eq!(owner(&t, "device_id", "D1"), None);
    assert_eq!(owner(&t, "cookie_id", "K1"), None);
    // Event 2 follows its phone; event 3 carries only browsers: anonymous.
    assert_eq!(event_owner(&t, "2"), Some(a));
    assert_eq!(event_owner(&t, "3"), None);
    // The lineage: one link, made by event fixture:1 under the e-mail + phone rule.
    let conn = t.db.connect().expect("connection");
    let links = split::lineage(&conn, a).expect("lineage");
    assert_eq!(links.len(), 1);
    let l = &links[0];
    assert_eq!(
        (
            l.a_type.as_str(),
            l.a_value.as_str(),
            l.b_type.as_str(),
            l.b_value.as_str()
        ),
        ("email", "a@x.it", "phone", "+393470000001")
    );
    assert_eq!(
        (l.rule.as_str(), l.source.as_str(), l.event_id.as_str()),
        ("email+phone", "fixture", "1")
    );
    assert!(
        l.occurred_at
            .as_deref()
            .is_some_and(|at| at.starts_with("2026-03-01")),
        "{l:?}"
    );
}

#[test]
fn a_chain_is_explained_link_by_link() {
    let t = TestDb::new();
    t.load_events(&[
        ev("1", "2026-03-01T10:00:00Z", "identify")
            .loyalty("L1")
            .email("a@x.it"),
        ev("2", "2026-03-02T10:00:00Z", "identify")
            .email("a@x.it")
            .set("crm_id", "C1"),
        ev("3", "2026-03-03T10:00:00Z", "visit")
            .channel("web")
            .set("crm_id", "C1")
            .cookie("K1"),
    ]);
    let l1 = owner(&t, "loyalty_id", "L1").expect("L1");
    assert_eq!(t.count("SELECT count(*) FROM identities"), 4);
    assert_eq!(
        t.count("SELECT count(DISTINCT customer_id) FROM identities"),
        1
    );
    // The id is that of the smallest identifier (loyalty L1), whatever else joins.
    assert_eq!(l1, identity::customer_id(&(0, "L1".to_string())));
    let conn = t.db.connect().expect("connection");
    let rules: Vec<(String, String)> = split::lineage(&conn, l1)
        .expect("lineage")
        .into_iter()
        .map(|l| (l.rule, l.event_id))
        .collect();
    // Strongest rule first: loyalty+crm (100) is not an edge here; loyalty+email (90) and
    // crm+email (90) by their events' time, then crm+cookie (40).
    assert_eq!(
        rules,
        [
            ("loyalty_id+email".to_string(), "1".to_string()),
            ("crm_id+email".to_string(), "2".to_string()),
            ("crm_id+cookie_id".to_string(), "3".to_string()),
        ]
    );
}

#[test]
fn one_loyalty_card_per_customer_the_earlier_link_wins() {
    let t = TestDb::new();
    // The shop's own e-mail typed on two customers' receipts.
    t.load_events(&[
        ev("1", "2026-03-01T10:00:00Z", "purchase")
            .channel("store")
            .loyalty("L1")
            .email("negozio@shop.it")
            .amount("10.00"),
        ev("2", "2026-03-02T10:00:00Z", "purchase")
            .channel("store")
            .loyalty("L2")
            .email("negozio@shop.it")
            .amount("20.00"),
    ]);
    assert_eq!(t.count("SELECT count(*) FROM customers"), 2);
    let l1 = owner(&t, "loyalty_id", "L1").expect("L1");
    let l2 = owner(&t, "loyalty_id", "L2").expect("L2");
    assert_ne!(l1, l2);
    // Both links have the same priority; the earlier event's link was made, the other refused.
    assert_eq!(owner(&t, "email", "negozio@shop.it"), Some(l1));
    // Each receipt belongs to the customer of its loyalty card.
    assert_eq!(event_owner(&t, "1"), Some(l1));
    assert_eq!(event_owner(&t, "2"), Some(l2));
}

#[test]
fn a_stronger_rule_is_linked_before_an_earlier_weaker_one() {
    let t = TestDb::new();
    t.load_events(&[
        // cookie + loyalty (40), earliest.
        ev("1", "2026-03-01T10:00:00Z", "visit")
            .channel("web")
            .cookie("K1")
            .loyalty("L1"),
        // cookie + e-mail (40).
        ev("2", "2026-03-02T10:00:00Z", "visit")
            .channel("web")
            .cookie("K1")
            .email("a@x.it"),
        // loyalty + e-mail (90), latest.
        ev("3", "2026-03-03T10:00:00Z", "identify")
            .email("a@x.it")
            .loyalty("L2"),
    ]);
    // L2 + a@x.it first (90); then L1 + K1; K1 + a@x.it would put L1 and L2 in one customer.
    let l2 = owner(&t, "loyalty_id", "L2").expect("L2");
    let l1 = owner(&t, "loyalty_id", "L1").expect("L1");
    assert_eq!(owner(&t, "email", "a@x.it"), Some(l2));
    assert_eq!(owner(&t, "cookie_id", "K1"), Some(l1));
    assert_ne!(l1, l2);
    assert_eq!(t.count("SELECT count(*) FROM customers"), 2);
}

#[test]
fn a_shared_device_links_nobody() {
    let t = TestDb::new();
    // A store tablet: seven customers sign in with their e-mail on device T1 (max_links 6).
    let events: Vec<Ev> = (1..=7)
        .map(|i| {
            ev(&format!("t{i}"), "2026-03-01T10:00:00Z", "visit")
                .channel("app")
                .device("T1")
                .email(&format!("c{i}@x.it"))
        })
        .collect();
    t.load_events(&events);
    assert_eq!(t.count("SELECT count(*) FROM customers"), 7);
    assert_eq!(
        t.count(
            "SELECT count(*) FROM identifiers_ignored
             WHERE id_type = 'device_id' AND id_value = 'T1' AND linked = 7"
        ),
        1
    );
    // Six e-mails on a personal device are one person's (the limit is 3 e-mails, though:
    // the three earliest join).
    let t = TestDb::new();
    let events: Vec<Ev> = (1..=6)
        .map(|i| {
            ev(
                &format!("p{i}"),
                &format!("2026-03-0{i}T10:00:00Z"),
                "visit",
            )
            .channel("app")
            .device("P1")
            .email(&format!("c{i}@x.it"))
        })
        .collect();
    t.load_events(&events);
    let c1 = owner(&t, "email", "c1@x.it").expect("c1");
    assert_eq!(owner(&t, "email", "c3@x.it"), Some(c1));
    assert_eq!(owner(&t, "device_id", "P1"), Some(c1));
    assert_ne!(owner(&t, "email", "c4@x.it"), Some(c1));
    // c1 with the device and c2, c3; c4, c5, c6 alone.
    assert_eq!(t.count("SELECT count(*) FROM customers"), 4);
}

#[test]
fn a_blocked_value_links_nobody_and_identifies_nobody() {
    let t = TestDb::new();
    t.load_events(&[
        ev("1", "2026-03-01T10:00:00Z", "identify")
            .email("test@shop.it")
            .set("phone", "+393470000001"),
        ev("2", "2026-03-02T10:00:00Z", "identify")
            .email("test@shop.it")
            .set("phone", "+393470000002"),
        ev("3", "2026-03-03T10:00:00Z", "purchase")
            .channel("web")
            .email("test@shop.it")
            .amount("5.00"),
        // A placeholder phone number.
        ev("4", "2026-03-04T10:00:00Z", "identify")
            .email("b@x.it")
            .set("phone", "+390000000000"),
    ]);
    assert_eq!(t.count("SELECT count(*) FROM customers"), 3);
    assert_eq!(owner(&t, "email", "test@shop.it"), None);
    assert_eq!(owner(&t, "phone", "+390000000000"), None);
    assert_eq!(event_owner(&t, "3"), None);
    assert_ne!(
        owner(&t, "phone", "+393470000001"),
        owner(&t, "phone", "+393470000002")
    );
}

#[test]
fn a_simulation_predicts_what_applying_produces() {
    let t = TestDb::new();
    // The store's own e-mail links two customers' phones (phones: up to 2 per customer).
    t.load_events(&[
        ev("1", "2026-03-01T10:00:00Z", "purchase")
            .channel("store")
            .email("negozio@shop.it")
            .set("phone", "+393470000001")
            .amount("10.00"),
        ev("2", "2026-03-02T10:00:00Z", "purchase")
            .channel("web")
            .email("negozio@shop.it")
            .set("phone", "+393470000002")
            .amount("30.00"),
    ]);
    assert_eq!(t.count("SELECT count(*) FROM customers"), 1);
    let blocked = rules_with_email_block("[\"test@*\", \"negozio@*\"]");
    let before = identities(&t);
    let sim = simulate::simulate(&t.db, &blocked, end()).expect("simulates");
    // Nothing was written.
    assert_eq!(identities(&t), before);
    assert_eq!(t.count("SELECT count(*) FROM identity_rules"), 0);
    assert_eq!((sim.customers_before, sim.customers_after), (1, 2));
    assert_eq!((sim.merged, sim.split, sim.new, sim.gone), (0, 1, 0, 0));
    let kpi = |key: &str| {
        sim.kpis
            .iter()
            .find(|k| k.key == key)
            .map(|k| (k.before, k.after))
            .expect("kpi")
    };
    // One customer with two orders, then two customers with one order each.
    assert_eq!(kpi("active_customers"), (Some(1.0), Some(2.0)));
    assert_eq!(kpi("purchase_frequency"), (Some(2.0), Some(1.0)));
    // One customer buying in store and on the web, then two single-channel customers.
    assert_eq!(kpi("omnichannel_share").0, Some(1.0));
    assert_eq!(kpi("omnichannel_share").1, Some(0.0));

    let applied = simulate::apply(&t.db, &blocked, "tester", end()).expect("applies");
    assert_eq!(applied, sim);
    assert_eq!(t.count("SELECT count(*) FROM customers"), 2);
    assert_eq!(t.count("SELECT count(*) FROM identity_rules"), 1);
    assert_eq!(
        t.count(
            "SELECT count(*) FROM audit_log WHERE action = 'identity.rules' AND actor = 'tester'"
        ),
        1
    );
    // The KPIs recomputed from scratch equal the prediction.
    let conn = t.db.connect().expect("connection");
    let period = Period::new(sim.from, sim.to).expect("period");
    let now = omnikpi::server::kpi::query::compute(
        &conn,
        Catalog::builtin(),
        simulate::KPIS,
        &period,
        &omnikpi::server::kpi::Filters::none(),
    )
    .expect("kpis");
    for k in &sim.kpis {
        assert_eq!(now.get(&k.key).copied().flatten(), k.after, "{}", k.key);
    }
    // The rules in force hold after a rebuild and after a later load.
    identity::rebuild(&t.db).expect("rebuild");
    assert_eq!(t.count("SELECT count(*) FROM customers"), 2);
    // A bad document is refused with its line.
    let err = simulate::simulate(&t.db, "[types.email]\nmax_per_customer = \"x\"\n", end())
        .expect_err("bad rules");
    assert!(err.to_string().contains("line 2"), "{err}");
}

/// Person A (loyalty L1, store) and person B (e-mail b@x.it, web); `wrong` adds B's e-mail to
/// one of A's receipts, as a cashier might.
fn two_people(wrong: bool) -> Vec<Ev> {
    let receipt = ev("s2", "2026-03-05T10:00:00Z", "purchase")
        .channel("store")
        .loyalty("L1")
        .order("A2")
        .amount("40.00");
    vec![
        ev("s1", "2026-03-01T10:00:00Z", "purchase")
            .channel("store")
            .loyalty("L1")
            .order("A1")
            .amount("60.00"),
        if wrong {
            receipt.email("b@x.it")
        } else {
            receipt
        },
        ev("w1", "2026-03-10T10:00:00Z", "purchase")
            .channel("web")
            .email("b@x.it")
            .order("B1")
            .amount("25.00"),
        ev("w2", "2026-04-10T10:00:00Z", "visit")
            .channel("web")
            .email("b@x.it"),
    ]
}

fn company_report(t: &TestDb) -> Vec<(String, Option<f64>, Option<f64>)> {
    let conn = t.db.connect().expect("connection");
    let period = Period::parse("2026-03-01", "2026-04-30").expect("period");
    report::build(
        &conn,
        Catalog::builtin(),
        &period,
        &ReportRequest::default(),
    )
    .expect("report")
    .kpis
    .into_iter()
    .map(|k| (k.key, k.value, k.previous))
    .collect()
}

#[test]
fn after_a_split_the_kpis_are_those_of_two_people_never_linked() {
    let linked = TestDb::new();
    linked.load_events(&two_people(true));
    let apart = TestDb::new();
    apart.load_events(&two_people(false));
    assert_eq!(linked.count("SELECT count(*) FROM customers"), 1);
    assert_eq!(apart.count("SELECT count(*) FROM customers"), 2);
    assert_ne!(company_report(&linked), company_report(&apart));

    let customer = owner(&linked, "loyalty_id", "L1").expect("L1");
    let outcome = split::split(
        &linked.db,
        customer,
        &split::Split::Unlink {
            a_type: "loyalty_id".into(),
            a_value: "L1".into(),
            b_type: "email".into(),
            b_value: "b@x.it".into(),
        },
        "cashier typed another customer's e-mail",
        "cx@omnikpi.local",
    )
    .expect("splits");
    assert_eq!((outcome.customers_before, outcome.customers_after), (1, 2));
    assert_eq!(outcome.now.len(), 2);
    assert_eq!(company_report(&linked), company_report(&apart));
    // Same customers, same ids, same journeys.
    assert_eq!(identities(&linked), identities(&apart));
    assert_eq!(
        linked.count("SELECT count(*) FROM journeys"),
        apart.count("SELECT count(*) FROM journeys")
    );
    assert_eq!(
        linked.count(
            "SELECT count(*) FROM audit_log WHERE action = 'identity.split'
             AND actor = 'cx@omnikpi.local'
             AND new_value LIKE '%cashier typed another customer''s e-mail%'"
        ),
        1
    );

    // The split is a rule: another receipt with both identifiers, and a rebuild, keep it.
    let again = linked.file(
        "again.csv",
        &[
            "event_id,occurred_at,event_type,channel,loyalty_id,email,amount",
            "s3,2026-04-20T10:00:00Z,purchase,store,L1,b@x.it,15.00",
        ],
    );
    linked.load("till", &again).expect("loads");
    identity::rebuild(&linked.db).expect("rebuild");
    assert_eq!(linked.count("SELECT count(*) FROM customers"), 2);
    assert_eq!(owner(&linked, "loyalty_id", "L1"), Some(customer));
    assert_ne!(owner(&linked, "email", "b@x.it"), Some(customer));
}

#[test]
fn blocking_an_identifier_sends_its_events_back_and_survives_a_reload() {
    let t = TestDb::new();
    t.load_events(&two_people(true));
    let customer = owner(&t, "loyalty_id", "L1").expect("L1");
    // A split needs a reason, and the identifier must be the customer's.
    let block = split::Split::Block {
        id_type: "email".into(),
        value: "b@x.it".into(),
    };
    assert!(split::split(&t.db, customer, &block, "  ", "cx").is_err());
    let other = split::Split::Block {
        id_type: "email".into(),
        value: "z@x.it".into(),
    };
    assert!(split::split(&t.db, customer, &other, "why", "cx").is_err());
    let outcome =
        split::split(&t.db, customer, &block, "shared family e-mail", "cx").expect("splits");
    // b@x.it identifies nobody now: its web events are anonymous.
    assert_eq!(outcome.customers_after, 1);
    assert_eq!(owner(&t, "email", "b@x.it"), None);
    assert_eq!(event_owner(&t, "w1"), None);
    assert_eq!(event_owner(&t, "s2"), Some(customer));
    t.load_events(&two_people(true));
    identity::rebuild(&t.db).expect("rebuild");
    assert_eq!(owner(&t, "email", "b@x.it"), None);
    assert_eq!(t.count("SELECT count(*) FROM customers"), 1);
}

/// A pool of identifiers small enough that random events link and collide often.
fn random_event(i: usize, pick: &[u8]) -> Ev {
    let at = format!("2026-03-{:02}T10:00:00Z", 1 + usize::from(pick[0] % 4));
    let mut e = ev(&format!("e{i}"), &at, "visit").channel("web");
    if pick[1].is_multiple_of(3) {
        e = e.loyalty(&format!("L{}", pick[1] % 4));
    }
    if pick[2].is_multiple_of(2) {
        e = e.email(&format!("m{}@x.it", pick[2] % 5));
    }
    if pick[3].is_multiple_of(3) {
        e = e.set("phone", &format!("+3934700000{:02}", pick[3] % 4));
    }
    if pick[4].is_multiple_of(3) {
        e = e.device(&format!("D{}", pick[4] % 3));
    }
    if pick[5].is_multiple_of(2) {
        e = e.cookie(&format!("K{}", pick[5] % 4));
    }
    e
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn the_same_events_in_any_load_order_give_the_same_customers(
        picks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 6), 4..24),
        orders in proptest::collection::vec(any::<u64>(), 2),
        chunks in 1usize..4,
    ) {
        let events: Vec<Ev> = picks.iter().enumerate().map(|(i, p)| random_event(i, p)).collect();
        let once = TestDb::new();
        once.load_events(&events);
        let expected = identities(&once);
        for seed in orders {
            // A deterministic shuffle from the seed, loaded in `chunks` files.
            let mut shuffled: Vec<(u64, Ev)> = events
                .iter()
                .enumerate()
                .map(|(i, e)| (seed.wrapping_mul(6364136223846793005).wrapping_add((i as u64).wrapping_mul(1442695040888963407)).rotate_left(17), e.clone()))
                .collect();
            shuffled.sort_by_key(|(k, _)| *k);
            let shuffled: Vec<Ev> = shuffled.into_iter().map(|(_, e)| e).collect();
            let t = TestDb::new();
            let size = shuffled.len().div_ceil(chunks);
            for part in shuffled.chunks(size) {
                t.load_events(part);
            }
            prop_assert_eq!(identities(&t), expected.clone());
            let conn = t.db.connect().expect("connection");
            let links: i64 = conn.query_row("SELECT count(*) FROM identity_links", [], |r| r.get(0)).expect("links");
            prop_assert_eq!(links, once.count("SELECT count(*) FROM identity_links"));
        }
    }
}

#[test]
fn suspicious_merges_are_flagged() {
    use omnikpi::server::identity::suspicious::{self, Thresholds};
    let t = TestDb::new();
    t.load_events(&[
        // One card used in Milan and Rome 10 minutes apart.
        ev("m1", "2026-03-01T10:00:00Z", "purchase")
            .channel("store")
            .loyalty("L1")
            .set("store_id", "MI01")
            .amount("10.00"),
        ev("r1", "2026-03-01T10:10:00Z", "purchase")
            .channel("store")
            .loyalty("L1")
            .set("store_id", "RM01")
            .amount("12.00"),
        // Same two stores a day apart: plausible.
        ev("m2", "2026-03-01T10:00:00Z", "purchase")
            .channel("store")
            .loyalty("L2")
            .set("store_id", "MI01")
            .amount("10.00"),
        ev("r2", "2026-03-02T10:00:00Z", "purchase")
            .channel("store")
            .loyalty("L2")
            .set("store_id", "RM01")
            .amount("12.00"),
        // Three identifiers, three events on one day.
        ev("x1", "2026-03-03T10:00:00Z", "identify")
            .loyalty("L3")
            .email("c@x.it"),
        ev("x2", "2026-03-03T11:00:00Z", "identify")
            .email("c@x.it")
            .set("phone", "+393470000003"),
        ev("x3", "2026-03-03T12:00:00Z", "visit")
            .channel("web")
            .email("c@x.it"),
    ]);
    let conn = t.db.connect().expect("connection");
    let limits = Thresholds {
        identifiers: 2,
        events_per_day: 2,
        store_minutes: 30,
    };
    let flags: Vec<(Option<String>, String, i64)> = suspicious::flagged(&conn, &limits)
        .expect("flags")
        .into_iter()
        .map(|f| {
            let who = [
                ("L1", "loyalty_id"),
                ("L2", "loyalty_id"),
                ("L3", "loyalty_id"),
            ]
            .iter()
            .find(|(v, k)| owner(&t, k, v) == Some(f.customer_id))
            .map(|(v, _)| (*v).to_string());
            (who, f.reason, f.value)
        })
        .collect();
    assert_eq!(
        flags,
        [
            (Some("L3".to_string()), "events_per_day".to_string(), 3),
            (Some("L3".to_string()), "identifiers".to_string(), 3),
            (Some("L1".to_string()), "two_stores".to_string(), 10),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cx_officer_sees_why_and_splits_a_link_in_the_customer_360() {
    use axum::http::StatusCode;
    use omnikpi::auth::Role;
    let t = TestDb::new();
    t.load_events(&two_people(true));
    web::add_user(&t.db, "admin@test.it", Role::Admin, None);
    web::add_user(&t.db, "cx@test.it", Role::CxOfficer, None);
    web::add_user(&t.db, "ceo@test.it", Role::Executive, None);
    let customer = owner(&t, "loyalty_id", "L1").expect("L1");
    let url = format!("/customer/{customer}?lang=en");

    // The executive sees the lineage masked, and no split form.
    let mut ceo = web::Browser::new(web::router(&t.db));
    assert_eq!(
        ceo.sign_in("ceo@test.it", web::PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let masked = ceo.get(&url).await;
    assert_eq!(masked.status, StatusCode::OK);
    assert!(
        masked
            .body
            .contains("Why these identifiers are one customer")
    );
    assert!(
        masked.body.contains("fixture:s2"),
        "the event that linked them"
    );
    assert!(masked.body.contains("loyalty_id+email"), "the rule");
    assert!(masked.body.contains("b***@x.it"));
    assert!(!masked.body.contains("b@x.it"), "no e-mail anywhere");
    assert!(!masked.body.contains("/customer/split"));

    let mut cx = web::Browser::new(web::router(&t.db));
    assert_eq!(
        cx.sign_in("cx@test.it", web::PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let page = cx.get(&url).await;
    assert!(page.body.contains("b@x.it"));
    assert!(page.body.contains("action=\"/customer/split\""));
    let csrf = web::csrf_in(&page.body).expect("csrf");
    let id = customer.to_string();
    let fields = |reason: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("customer_id", id.clone()),
            ("lang", "en".to_string()),
            ("kind", "unlink".to_string()),
            ("a_type", "loyalty_id".to_string()),
            ("a_value", "L1".to_string()),
            ("b_type", "email".to_string()),
            ("b_value", "b@x.it".to_string()),
            ("reason", reason.to_string()),
        ]
    };
    let no_reason = fields("");
    let refs: Vec<(&str, &str)> = no_reason.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = cx.post_form("/customer/split", &refs).await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    assert!(
        refused.location().contains("error="),
        "{}",
        refused.location()
    );
    assert_eq!(t.count("SELECT count(*) FROM customers"), 1);

    let with_reason = fields("cashier typed another customer's e-mail");
    let refs: Vec<(&str, &str)> = with_reason.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let done = cx.post_form("/customer/split", &refs).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(
        done.location(),
        format!("/customer/{customer}?lang=en&ok=split#identity-links")
    );
    assert_eq!(t.count("SELECT count(*) FROM customers"), 2);
    assert_eq!(
        t.count(
            "SELECT count(*) FROM audit_log WHERE action = 'identity.split' AND actor LIKE '%cx@test.it%'"
        ),
        1
    );
    let after = cx.get(&url).await;
    assert!(after.body.contains("nothing was linked"));
    // The executive may not split.
    let csrf = web::csrf_in(&masked.body).unwrap_or_default();
    let forbidden = ceo
        .post_form(
            "/customer/split",
            &[("csrf", &csrf), ("customer_id", &id), ("kind", "block")],
        )
        .await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_simulates_then_applies_rules_on_the_admin_page() {
    use axum::http::StatusCode;
    use omnikpi::auth::Role;
    let t = TestDb::new();
    t.load_events(&[
        ev("1", "2026-03-01T10:00:00Z", "identify")
            .email("negozio@shop.it")
            .set("phone", "+393470000001"),
        ev("2", "2026-03-02T10:00:00Z", "identify")
            .email("negozio@shop.it")
            .set("phone", "+393470000002"),
    ]);
    web::add_user(&t.db, "admin@test.it", Role::Admin, None);
    let mut admin = web::Browser::new(web::router(&t.db));
    admin.sign_in("admin@test.it", web::PASSWORD).await;
    let page = admin.get("/admin/identity?lang=en").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("built-in retail defaults"));
    assert!(page.body.contains("[[link]]"));
    let blocked = rules_with_email_block("[\"negozio@*\"]");
    let uri = format!(
        "/admin/identity?lang=en&rules={}",
        omnikpi::url::encode(&blocked)
    );
    let simulated = admin.get(&uri).await;
    assert_eq!(simulated.status, StatusCode::OK);
    assert!(simulated.body.contains("1 → 2"), "customers 1 → 2");
    assert_eq!(
        t.count("SELECT count(*) FROM customers"),
        1,
        "nothing written"
    );
    let csrf = web::csrf_in(&simulated.body).expect("csrf");
    let done = admin
        .post_form(
            "/admin/identity/apply",
            &[("csrf", &csrf), ("lang", "en"), ("rules", &blocked)],
        )
        .await;
    assert_eq!(done.location(), "/admin/identity?lang=en&ok=saved");
    assert_eq!(t.count("SELECT count(*) FROM customers"), 2);
    let bad = admin
        .post_form(
            "/admin/identity/apply",
            &[("csrf", &csrf), ("lang", "en"), ("rules", "[types.fax]\n")],
        )
        .await;
    assert!(bad.location().contains("error="), "{}", bad.location());
    assert!(bad.location().contains("line%201"), "{}", bad.location());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_identity_page_lists_over_shared_identifiers() {
    use axum::http::StatusCode;
    use omnikpi::auth::Role;
    let t = TestDb::new();
    t.set_setting("identity_max_links", "2");
    // The shop's e-mail on three receipts of three cards: seen with 3 identifiers (> 2).
    let events: Vec<Ev> = (1..=3)
        .map(|i| {
            ev(&format!("r{i}"), "2026-03-01T10:00:00Z", "purchase")
                .channel("store")
                .email("cassa@shop.it")
                .loyalty(&format!("L{i}"))
                .amount("10.00")
        })
        .collect();
    t.load_events(&events);
    let conn = t.db.connect().expect("connection");
    assert_eq!(
        identity::ignored(&conn).expect("ignored"),
        [("email".to_string(), "cassa@shop.it".to_string(), 3)]
    );
    web::add_user(&t.db, "admin@test.it", Role::Admin, None);
    let mut admin = web::Browser::new(web::router(&t.db));
    admin.sign_in("admin@test.it", web::PASSWORD).await;
    let page = admin.get("/admin/identity?lang=en").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Identifiers shared by too many people"));
    let row = page
        .body
        .split("<tr>")
        .find(|r| r.contains("cassa@shop.it"))
        .expect("the shop's e-mail is listed");
    assert!(row.contains(">3<"), "{row}");
    let italian = admin.get("/admin/identity?lang=it").await;
    assert!(
        italian
            .body
            .contains("Identificativi condivisi da troppe persone")
    );
}
