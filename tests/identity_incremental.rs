//! Incremental stitching (only the components a load touches) gives, load after load, what
//! stitching everything gives: the same customers, identifiers, event owners, merges, ignored
//! identifiers, customer headers and links.

mod common;

use common::{Ev, TestDb, ev};
use omnikpi::server::identity;
use proptest::prelude::*;

type Snapshot = (
    Vec<(String, String, i64)>,
    Vec<(String, Option<i64>)>,
    Vec<(i64, i64)>,
    Vec<(String, String, i64)>,
    Vec<(i64, String, String, i64, i64, String)>,
    Vec<(i64, String, String, String, String)>,
);

fn snapshot(t: &TestDb) -> Snapshot {
    let conn = t.db.connect().expect("connection");
    macro_rules! rows {
        ($sql:expr, $n:tt) => {{
            let mut stmt = conn.prepare($sql).expect("prepare");
            let rows = stmt
                .query_map([], |r| Ok(rows!(@get r, $n)))
                .expect("query")
                .collect::<Result<Vec<_>, _>>()
                .expect("rows");
            rows
        }};
        (@get $r:ident, 2) => {
            ($r.get(0)?, $r.get(1)?)
        };
        (@get $r:ident, 3) => {
            ($r.get(0)?, $r.get(1)?, $r.get(2)?)
        };
        (@get $r:ident, 5) => {
            ($r.get(0)?, $r.get(1)?, $r.get(2)?, $r.get(3)?, $r.get(4)?)
        };
        (@get $r:ident, 6) => {
            ($r.get(0)?, $r.get(1)?, $r.get(2)?, $r.get(3)?, $r.get(4)?, $r.get(5)?)
        };
    }
    (
        rows!(
            "SELECT id_type, id_value, customer_id FROM identities ORDER BY ALL",
            3
        ),
        rows!("SELECT event_id, customer_id FROM events ORDER BY ALL", 2),
        rows!(
            "SELECT merged_id, into_id FROM customer_merges ORDER BY ALL",
            2
        ),
        rows!(
            "SELECT id_type, id_value, linked FROM identifiers_ignored ORDER BY ALL",
            3
        ),
        rows!(
            "SELECT customer_id, CAST(first_seen AS VARCHAR) || ' ' || CAST(last_seen AS VARCHAR),
                    array_to_string(channels, ','), CAST(lifetime_revenue * 100 AS BIGINT), orders,
                    segment || ' ' || identifiers
             FROM customers ORDER BY ALL",
            6
        ),
        rows!(
            "SELECT customer_id, a_type || ':' || a_value, b_type || ':' || b_value, rule,
                    source || ':' || event_id
             FROM identity_links ORDER BY ALL",
            5
        ),
    )
}

fn event(i: usize, pick: (u8, u8, u8, u8, u8, u8)) -> Ev {
    let (kind, loyalty, email, phone, device, cookie) = pick;
    let (event_type, channel) = match kind % 4 {
        0 => ("purchase", "store"),
        1 => ("purchase", "web"),
        2 => ("visit", "app"),
        _ => ("identify", "store"),
    };
    let mut e = ev(
        &format!("e{i}"),
        &format!("2026-03-{:02}T10:{:02}:00Z", 1 + i % 28, i % 60),
        event_type,
    )
    .channel(channel);
    if event_type == "purchase" {
        e = e.order(&format!("o{i}")).amount("10.00");
    }
    // 0 = absent, so each identifier is carried by about half of the events.
    if loyalty > 0 && loyalty <= 4 {
        e = e.loyalty(&format!("L{loyalty}"));
    }
    if email > 0 && email <= 4 {
        e = e.email(&format!("p{email}@example.it"));
    }
    if phone > 0 && phone <= 3 {
        e = e.set("phone", &format!("+3934700000{phone}"));
    }
    if device > 0 && device <= 3 {
        e = e.device(&format!("d{device}"));
    }
    if cookie > 0 && cookie <= 4 {
        e = e.cookie(&format!("c{cookie}"));
    }
    e
}

fn load_in_batches(t: &TestDb, events: &[Ev], cuts: &[usize]) {
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&events.len())) {
        let end = cut.clamp(start, events.len());
        if end > start {
            t.load_events(&events[start..end]);
        }
        start = end;
    }
}

fn database(max_links: i64, incremental: bool) -> TestDb {
    let t = TestDb::new();
    let conn = t.db.connect().expect("connection");
    conn.execute(
        "UPDATE settings SET value = CAST(? AS VARCHAR) WHERE key = 'identity_max_links'",
        [max_links],
    )
    .expect("limit");
    if !incremental {
        conn.execute(
            "INSERT INTO settings (key, value) VALUES (?, 'off')",
            [identity::INCREMENTAL_SETTING],
        )
        .expect("full stitching");
    }
    t
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn load_by_load_incremental_equals_stitching_everything(
        picks in prop::collection::vec((0u8..4, 0u8..9, 0u8..9, 0u8..7, 0u8..7, 0u8..9), 1..28),
        cuts in prop::collection::vec(0usize..28, 0..4),
        max_links in 2i64..8,
    ) {
        let events: Vec<Ev> = picks.iter().enumerate().map(|(i, p)| event(i, *p)).collect();
        let mut cuts = cuts;
        cuts.sort_unstable();
        let incremental = database(max_links, true);
        load_in_batches(&incremental, &events, &cuts);
        let full = database(max_links, false);
        load_in_batches(&full, &events, &cuts);
        let got = snapshot(&incremental);
        prop_assert_eq!(&got, &snapshot(&full));
        // And `identity rebuild` (the full path) changes nothing.
        identity::rebuild(&incremental.db).expect("rebuild");
        prop_assert_eq!(got, snapshot(&incremental));
    }
}

#[test]
fn a_load_that_joins_two_customers_is_stitched_incrementally() {
    let t = database(50, true);
    t.load_events(&[
        ev("a", "2026-03-01T10:00:00Z", "identify")
            .email("anna@example.it")
            .loyalty("L1"),
        ev("b", "2026-03-02T10:00:00Z", "identify")
            .set("phone", "+393470000001")
            .device("d1"),
        ev("z", "2026-03-02T11:00:00Z", "identify").email("zoe@example.it"),
    ]);
    assert_eq!(t.count("SELECT count(*) FROM customers"), 3);
    t.load_events(&[ev("c", "2026-03-03T10:00:00Z", "identify")
        .email("anna@example.it")
        .set("phone", "+393470000001")]);
    // anna's two identities are one customer now; zoe untouched; one merge recorded.
    assert_eq!(t.count("SELECT count(*) FROM customers"), 2);
    assert_eq!(
        t.count("SELECT count(DISTINCT customer_id) FROM events WHERE event_id IN ('a', 'b', 'c')"),
        1
    );
    assert_eq!(t.count("SELECT count(*) FROM customer_merges"), 1);
    // anna's e-mail, card and phone, and zoe's e-mail (a device never links to a phone alone
    // by the default rules, so d1 stays a browser).
    assert_eq!(t.count("SELECT count(*) FROM identities"), 4);
}

/// Measures a load of 2,000 events of existing customers into a loaded demo database, with
/// full stitching (as before) and incremental stitching (`--ignored --nocapture`).
#[test]
#[ignore]
fn measure_a_load_into_a_loaded_demo_database() {
    use omnikpi::server::demo::{self, DemoSpec};
    let customers: u32 = std::env::var("MEASURE_CUSTOMERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let t = TestDb::new();
    let spec = DemoSpec {
        seed: 42,
        customers,
        end: chrono::NaiveDate::from_ymd_opt(2026, 6, 30).expect("date"),
        days: 400,
    };
    let summary = demo::generate_and_load(&t.db, &spec, &t.dir.path().join("demo")).expect("demo");
    let batch = |tag: &str| -> Vec<Ev> {
        (0..2000)
            .map(|i| {
                ev(
                    &format!("{tag}{i}"),
                    "2026-06-29T10:00:00Z",
                    if i % 2 == 0 { "visit" } else { "identify" },
                )
                .channel("web")
                .email(&format!(
                    "cliente{:05}@example.it",
                    (i * 7) % customers as usize
                ))
                .cookie(&format!("ck-new-{tag}{i}"))
            })
            .collect()
    };
    {
        let conn = t.db.connect().expect("connection");
        conn.execute(
            "INSERT INTO settings (key, value) VALUES (?, 'off')",
            [identity::INCREMENTAL_SETTING],
        )
        .expect("full stitching");
    }
    let started = std::time::Instant::now();
    t.load_events(&batch("full"));
    let full = started.elapsed();
    {
        let conn = t.db.connect().expect("connection");
        conn.execute(
            "DELETE FROM settings WHERE key = ?",
            [identity::INCREMENTAL_SETTING],
        )
        .expect("incremental again");
    }
    let started = std::time::Instant::now();
    t.load_events(&batch("incr"));
    let incremental = started.elapsed();
    println!(
        "{} demo events; load of 2,000 events: full stitching {:.2} s, incremental {:.2} s",
        summary.events,
        full.as_secs_f64(),
        incremental.as_secs_f64()
    );
}
