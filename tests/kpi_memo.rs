//! KPI values kept between requests (`kpi::memo`) against the raw engine: after loads of
//! random events, merges of customers included, every KPI of every period asked before and
//! after each load equals what the engine computes from the raw events on the spot. A load
//! keeps the values of the periods that end before the first day it changed and of no other
//! period, and never a value that reads past its period (`reads_after_period`).

mod common;

use chrono::{Days, NaiveDate};
use common::{Ev, TestDb, ev};
use omnikpi::kpi::Grain;
use omnikpi::server::kpi::memo::Memo;
use omnikpi::server::kpi::{self, Catalog, Filters, Period};
use proptest::prelude::*;

const CHANNELS: &[&str] = &["store", "web", "app"];
const TYPES: &[&str] = &["purchase", "return", "visit", "add_to_cart", "chat_start"];

fn start() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1).expect("date")
}

/// One event: channel, type, day after 1 January 2026, customer (none: anonymous), cents.
type Spec = (usize, usize, u64, Option<u8>, u32);

fn events(specs: &[Spec], prefix: &str) -> Vec<Ev> {
    specs
        .iter()
        .enumerate()
        .map(|(i, (channel, event_type, day, customer, cents))| {
            let day = start() + Days::new(*day);
            let mut e = ev(
                &format!("{prefix}{i}"),
                &format!("{day}T12:00:00Z"),
                TYPES[*event_type],
            )
            .channel(CHANNELS[*channel])
            .amount(&format!("{}.{:02}", cents / 100, cents % 100))
            // Orders shared across loads: a later load can bring the purchase of an earlier
            // return (the cross-channel return rate reads it whenever it happened).
            .order(&format!("O{}", i % 12));
            if let Some(c) = customer {
                e = e.email(&format!("c{c}@x.it"));
            }
            e
        })
        .collect()
}

fn spec(days: std::ops::Range<u64>) -> impl Strategy<Value = Spec> {
    (
        0..CHANNELS.len(),
        0..TYPES.len(),
        days,
        proptest::option::of(0u8..10),
        1u32..30_000,
    )
}

/// Every KPI listed by the catalog.
fn keys(catalog: &Catalog) -> Vec<&str> {
    catalog
        .all()
        .iter()
        .filter(|d| !d.internal)
        .map(|d| d.key.as_str())
        .collect()
}

/// Asserts that the KPIs of `period` through a catalog with the memo equal the raw engine's.
fn same_as_raw(t: &TestDb, period: &Period, filters: &Filters, when: &str) {
    let conn = t.db.connect().expect("connection");
    let kept = kpi::catalog(&conn).expect("catalog").with_memo(&t.db);
    let raw = Catalog::builtin();
    let keys = keys(raw);
    let served = kpi::compute(&conn, &kept, &keys, period, filters).expect("served");
    let expected =
        kpi::compute_from_events(&conn, raw, &keys, period, filters).expect("from events");
    for key in &keys {
        let (a, b) = (
            served.get(*key).copied().flatten(),
            expected.get(*key).copied().flatten(),
        );
        let equal = match (a, b) {
            (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * b.abs().max(1.0),
            (a, b) => a == b,
        };
        assert!(
            equal,
            "{when}: {key} over {period:?} {filters:?}: {a:?} served, {b:?} raw"
        );
    }
}

/// Asserts that the weekly series of the company view's KPIs through the memo equal the raw
/// engine's (a series reads back the buckets the memo keeps and computes the rest).
fn same_series_as_raw(t: &TestDb, filters: &Filters, when: &str) {
    let conn = t.db.connect().expect("connection");
    let kept = kpi::catalog(&conn).expect("catalog").with_memo(&t.db);
    let raw = Catalog::builtin();
    let keys: Vec<&str> = raw.view("company").iter().map(|d| d.key.as_str()).collect();
    let day = |n: u64| (start() + Days::new(n)).to_string();
    let quarter = Period::parse(&day(3), &day(89)).expect("period");
    let served =
        kpi::series_many(&conn, &kept, &keys, &quarter, Grain::Week, filters).expect("served");
    let expected = kpi::series_many_from_events(&conn, raw, &keys, &quarter, Grain::Week, filters)
        .expect("from events");
    for key in &keys {
        let (a, b) = (&served[*key], &expected[*key]);
        assert_eq!(a.len(), b.len(), "{when}: {key} buckets");
        for ((pa, va), (pb, vb)) in a.iter().zip(b) {
            assert_eq!(pa, pb, "{when}: {key} buckets");
            let equal = match (va, vb) {
                (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * y.abs().max(1.0),
                (x, y) => x == y,
            };
            assert!(equal, "{when}: {key} in {pa:?}: {va:?} served, {vb:?} raw");
        }
    }
}

fn periods() -> Vec<Period> {
    let day = |n: u64| (start() + Days::new(n)).to_string();
    [(0, 29), (30, 59), (60, 89), (0, 89), (45, 74), (80, 89)]
        .iter()
        .map(|(a, b)| Period::parse(&day(*a), &day(*b)).expect("period"))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, .. ProptestConfig::default() })]

    #[test]
    fn kept_values_are_the_raw_engine_values(
        first in proptest::collection::vec(spec(0..90), 10..60),
        later in proptest::collection::vec(spec(0..90), 1..25),
        channel in proptest::sample::select(CHANNELS.to_vec()),
    ) {
        let t = TestDb::new();
        t.load_events(&events(&first, "a"));
        let filtered = Filters::parse([("channel", channel)]).expect("filters");
        for period in periods() {
            same_as_raw(&t, &period, &Filters::none(), "first load");
            same_as_raw(&t, &period, &filtered, "first load");
        }
        same_series_as_raw(&t, &Filters::none(), "first load");
        // Asked again: from the memo now.
        for period in periods() {
            same_as_raw(&t, &period, &Filters::none(), "kept");
        }
        same_series_as_raw(&t, &Filters::none(), "kept");
        // A second load, of any days and of customers seen before (merges move their events).
        t.load_events(&events(&later, "b"));
        same_series_as_raw(&t, &filtered, "second load");
        for period in periods() {
            same_as_raw(&t, &period, &Filters::none(), "second load");
            same_as_raw(&t, &period, &filtered, "second load");
        }
        same_series_as_raw(&t, &Filters::none(), "second load");
    }
}

/// A load of new customers' events on recent days keeps the values of the periods that end
/// before its first day, and only those.
#[test]
fn a_load_of_recent_days_keeps_the_earlier_periods() {
    let t = TestDb::new();
    let first: Vec<Spec> = (0..60u64)
        .map(|i| {
            (
                (i % 3) as usize,
                (i % 2) as usize,
                i,
                Some((i % 7) as u8),
                1_000 + i as u32,
            )
        })
        .collect();
    t.load_events(&events(&first, "a"));
    let memo = Memo::new(&t.db);
    let none = Filters::none();
    let all = periods();
    for period in &all {
        same_as_raw(&t, period, &none, "first load");
        assert!(!memo.known(period, &none).is_empty(), "{period:?} kept");
    }
    // New customers only, on days 70 and 71: no event moves, the first changed day is day 70.
    let recent: Vec<Ev> = (0..4)
        .map(|i| {
            ev(
                &format!("r{i}"),
                &format!("2026-03-{}T12:00:00Z", 12 + i % 2),
                "purchase",
            )
            .channel("web")
            .amount("12.50")
            .order(&format!("R{i}"))
            .email(&format!("new{i}@x.it"))
        })
        .collect();
    t.load_events(&recent);
    let changed = start() + Days::new(70);
    for period in &all {
        let kept = !memo.known(period, &none).is_empty();
        assert_eq!(
            kept,
            period.end_exclusive() <= changed,
            "{period:?}: kept only if it ends before the first changed day"
        );
        same_as_raw(&t, period, &none, "recent load");
    }
}

/// A return's purchase loaded after the return's period changes the cross-channel return
/// rate of that period: it reads purchases whenever they happened, so it is never kept.
#[test]
fn a_value_reading_after_its_period_is_never_kept() {
    let t = TestDb::new();
    t.load_events(&[ev("r", "2026-01-10T10:00:00Z", "return")
        .channel("store")
        .amount("10.00")
        .order("O1")
        .email("a@x.it")]);
    let conn = t.db.connect().expect("connection");
    let kept = kpi::catalog(&conn).expect("catalog").with_memo(&t.db);
    let january = Period::parse("2026-01-01", "2026-01-31").expect("period");
    let rate = || {
        kpi::compute(
            &conn,
            &kept,
            &["cross_channel_return_rate"],
            &january,
            &Filters::none(),
        )
        .expect("rate")["cross_channel_return_rate"]
    };
    assert_eq!(rate(), None, "no purchase known");
    t.load_events(&[ev("p", "2026-02-03T10:00:00Z", "purchase")
        .channel("web")
        .amount("10.00")
        .order("O1")
        .email("a@x.it")]);
    assert_eq!(rate(), Some(1.0), "bought online, returned in a store");
}

/// A look-ahead KPI (pickups within 7 days after a reservation) is never kept: a load after
/// the period changes it.
#[test]
fn a_look_ahead_kpi_is_never_kept() {
    let t = TestDb::new();
    t.load_events(&[common::reservation(
        "r1",
        "2026-01-30T10:00:00Z",
        "a@x.it",
        "O1",
        "S1",
    )]);
    let conn = t.db.connect().expect("connection");
    let kept = kpi::catalog(&conn).expect("catalog").with_memo(&t.db);
    let january = Period::parse("2026-01-01", "2026-01-31").expect("period");
    let rate = |catalog: &Catalog| {
        kpi::compute(&conn, catalog, &["pickup_rate"], &january, &Filters::none())
            .expect("pickup rate")["pickup_rate"]
    };
    assert_eq!(rate(&kept), Some(0.0));
    assert!(
        !Memo::new(&t.db)
            .known(&january, &Filters::none())
            .contains_key("pickup_rate")
    );
    t.load_events(&[common::pickup("p1", "2026-02-02T10:00:00Z", "a@x.it", "O1")]);
    assert_eq!(rate(&kept), Some(1.0));
}
