//! The journey tables updated load by load (only the customers a load touched are cut again)
//! equal a full rebuild, on random events split at random into loads: anonymous events
//! stitched late, customers merged by a shared identifier, orders whose lines arrive in
//! different loads, and the clock moving an open journey to abandoned.

mod common;

use common::{Ev, TestDb, ev};
use omnikpi::server::journey;
use proptest::prelude::*;

const TYPES: &[&str] = &[
    "click",
    "visit",
    "product_view",
    "add_to_cart",
    "reservation",
    "purchase",
    "complaint",
];
const CHANNELS: &[&str] = &["ads", "web", "store", "app"];

#[derive(Clone, Debug)]
struct Spec {
    event_type: usize,
    channel: usize,
    day: u32,
    hour: u32,
    email: Option<u8>,
    cookie: Option<u8>,
    loyalty: Option<u8>,
    order: Option<u8>,
    load: u8,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        0..TYPES.len(),
        0..CHANNELS.len(),
        0u32..80,
        0u32..24,
        proptest::option::of(0u8..3),
        proptest::option::of(0u8..3),
        proptest::option::of(0u8..2),
        proptest::option::of(0u8..3),
        0u8..3,
    )
        .prop_map(
            |(event_type, channel, day, hour, email, cookie, loyalty, order, load)| Spec {
                event_type,
                channel,
                day,
                hour,
                email,
                cookie,
                loyalty,
                order,
                load,
            },
        )
}

fn event(i: usize, s: &Spec) -> Ev {
    let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).expect("date")
        + chrono::Days::new(u64::from(s.day));
    let at = format!("{day}T{:02}:00:00+01:00", s.hour);
    let event_type = TYPES[s.event_type];
    let mut e = ev(&format!("e{i}"), &at, event_type).channel(CHANNELS[s.channel]);
    if let Some(n) = s.email {
        e = e.email(&format!("c{n}@x.it"));
    }
    if let Some(n) = s.cookie {
        e = e.cookie(&format!("ck{n}"));
    }
    if let Some(n) = s.loyalty {
        e = e.loyalty(&format!("L{n}"));
    }
    if event_type == "purchase" {
        if let Some(n) = s.order {
            e = e.order(&format!("O{n}"));
        }
        e = e.amount(&format!("{}.50", 10 + i));
    }
    e
}

type Rows = Vec<Vec<Option<String>>>;

fn rows(t: &TestDb, sql: &str, width: usize) -> Rows {
    let conn = t.db.connect().expect("connection");
    let mut stmt = conn.prepare(sql).expect("prepare");
    let mut out: Rows = stmt
        .query_map([], |r| {
            (0..width)
                .map(|i| r.get::<_, Option<String>>(i))
                .collect::<Result<Vec<_>, _>>()
        })
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    out.sort();
    out
}

/// The journey tables with journey numbers replaced by what they stand for.
fn snapshot(t: &TestDb) -> (Rows, Rows) {
    let journeys = rows(
        t,
        "SELECT CAST(customer_id AS VARCHAR), CAST(started_at AS VARCHAR),
                CAST(ended_at AS VARCHAR), CAST(steps AS VARCHAR), status, entry_channel,
                entry_touchpoint, purchase_channel, order_key, CAST(revenue AS VARCHAR), path
         FROM journeys",
        11,
    );
    let steps = rows(
        t,
        "SELECT CAST(s.customer_id AS VARCHAR), CAST(j.started_at AS VARCHAR),
                CAST(s.step AS VARCHAR), s.source, s.event_id, CAST(s.occurred_at AS VARCHAR),
                s.channel, s.event_type, s.order_key, CAST(s.amount AS VARCHAR)
         FROM journey_steps s JOIN journeys j USING (journey_id)",
        10,
    );
    (journeys, steps)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]

    #[test]
    fn updating_after_each_load_equals_a_full_rebuild(
        specs in proptest::collection::vec(spec(), 1..40)
    ) {
        let t = TestDb::new();
        for load in 0..3u8 {
            let events: Vec<Ev> = specs
                .iter()
                .enumerate()
                .filter(|(_, s)| s.load == load)
                .map(|(i, s)| event(i, s))
                .collect();
            if !events.is_empty() {
                t.load_events(&events);
            }
        }
        let updated = snapshot(&t);
        let ids = t.count("SELECT count(DISTINCT journey_id) FROM journeys");
        prop_assert_eq!(ids, t.count("SELECT count(*) FROM journeys"), "journey numbers are unique");
        journey::rebuild(&t.db).expect("rebuild");
        let rebuilt = snapshot(&t);
        prop_assert_eq!(updated.0, rebuilt.0);
        prop_assert_eq!(updated.1, rebuilt.1);
    }
}

/// Hand-made: a second load touching only b@x.it leaves a@x.it's journey (and its number)
/// alone, and the clock it moves turns a@x.it's open journey into an abandoned one.
#[test]
fn a_load_cuts_again_only_the_customers_it_touched() {
    let t = TestDb::new();
    t.load_events(&[
        ev("a1", "2026-03-01T10:00:00+01:00", "visit")
            .channel("web")
            .email("a@x.it"),
        ev("b1", "2026-03-01T11:00:00+01:00", "visit")
            .channel("web")
            .email("b@x.it"),
    ]);
    let id_of = |email: &str| -> i64 {
        let conn = t.db.connect().expect("connection");
        conn.query_row(
            "SELECT j.journey_id FROM journeys j JOIN identities i USING (customer_id)
             WHERE i.id_value = ?",
            [email],
            |r| r.get(0),
        )
        .expect("journey of")
    };
    let (a_before, b_before) = (id_of("a@x.it"), id_of("b@x.it"));
    assert_eq!(
        t.count("SELECT count(*) FROM journeys WHERE status = 'open'"),
        2,
        "both open: the clock is 1 March"
    );
    // b buys on 10 April: 40 days after a's visit, so a's journey is over (30-day window).
    t.load_events(&[ev("b2", "2026-04-10T10:00:00+02:00", "purchase")
        .channel("web")
        .email("b@x.it")
        .order("B")
        .amount("20.00")]);
    assert_eq!(id_of("a@x.it"), a_before, "a was not cut again");
    assert!(
        t.count("SELECT max(journey_id) FROM journeys") > b_before,
        "b's journeys take new numbers"
    );
    // a: abandoned; b: visit (1 March) then a purchase 40 days later: abandoned + converted.
    assert_eq!(
        t.count("SELECT count(*) FROM journeys WHERE status = 'abandoned'"),
        2
    );
    assert_eq!(
        t.count("SELECT count(*) FROM journeys WHERE status = 'converted'"),
        1
    );
}
