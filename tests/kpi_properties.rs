//! Properties of the KPI engine on generated event sets: filters by channel partition additive
//! KPIs, net = gross − returns, bounded ratios stay in [0, 1], series add up to the period, and
//! breakdown parts add up to the total.

mod common;

use common::{Ev, TestDb, ev};
use omnikpi::kpi::Grain;
use omnikpi::server::kpi::{self, Catalog, Dimension, Filters, Period, breakdown::breakdown};
use proptest::prelude::*;

const CHANNELS: &[&str] = &["store", "web", "app"];
const TYPES: &[&str] = &[
    "purchase",
    "return",
    "visit",
    "add_to_cart",
    "reservation",
    "pickup",
];

#[derive(Clone, Debug)]
struct Spec {
    channel: usize,
    event_type: usize,
    day: u64,
    minute: u32,
    customer: Option<u8>,
    order: Option<u8>,
    cents: u32,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        0..CHANNELS.len(),
        0..TYPES.len(),
        0u64..59,
        0u32..1440,
        proptest::option::of(0u8..6),
        proptest::option::of(0u8..10),
        0u32..50_000,
    )
        .prop_map(
            |(channel, event_type, day, minute, customer, order, cents)| Spec {
                channel,
                event_type,
                day,
                minute,
                customer,
                order,
                cents,
            },
        )
}

fn events(specs: &[Spec]) -> Vec<Ev> {
    let start = chrono::NaiveDate::from_ymd_opt(2026, 2, 1).expect("date");
    specs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let day = start + chrono::Days::new(s.day);
            let at = format!("{day}T{:02}:{:02}:00Z", s.minute / 60, s.minute % 60);
            let mut e = ev(&format!("g{i}"), &at, TYPES[s.event_type]).channel(CHANNELS[s.channel]);
            if let Some(c) = s.customer {
                e = e.email(&format!("c{c}@x.it"));
            }
            if let Some(o) = s.order {
                e = e.order(&format!("O{o}"));
            }
            if matches!(TYPES[s.event_type], "purchase" | "return") {
                e = e.amount(&format!("{}.{:02}", s.cents / 100, s.cents % 100));
            }
            e
        })
        .collect()
}

fn value(t: &TestDb, key: &str, period: &Period, filters: &Filters) -> Option<f64> {
    let conn = t.db.connect().expect("connection");
    kpi::compute(&conn, Catalog::builtin(), &[key], period, filters).expect("compute")[key]
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6 * (1.0 + a.abs().max(b.abs()))
}

const BOUNDED: &[&str] = &[
    "repeat_purchase_rate",
    "churn_rate",
    "omnichannel_share",
    "online_conversion_rate",
    "cart_abandonment_rate",
    "webrooming_rate",
    "showrooming_rate",
    "pickup_rate",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn kpi_engine_properties(specs in proptest::collection::vec(spec(), 1..60)) {
        let t = TestDb::new();
        t.load_events(&events(&specs));
        let period = Period::parse("2026-02-10", "2026-03-20").expect("period");
        let none = Filters::none();

        let gross = value(&t, "gross_revenue", &period, &none).unwrap_or(f64::NAN);
        let returns = value(&t, "returns_value", &period, &none).unwrap_or(f64::NAN);
        let net = value(&t, "net_revenue", &period, &none).unwrap_or(f64::NAN);
        prop_assert!(close(net, gross - returns), "net {net} gross {gross} returns {returns}");

        let by_channel: f64 = CHANNELS
            .iter()
            .map(|c| {
                let f = Filters::parse([("channel", *c)]).expect("filter");
                value(&t, "gross_revenue", &period, &f).unwrap_or(0.0)
            })
            .sum();
        prop_assert!(close(by_channel, gross), "channels {by_channel} total {gross}");

        for key in BOUNDED {
            if let Some(v) = value(&t, key, &period, &none) {
                prop_assert!((0.0..=1.0).contains(&v), "{key} = {v}");
            }
        }

        let conn = t.db.connect().expect("connection");
        for key in ["gross_revenue", "returns_value", "footfall"] {
            let total = value(&t, key, &period, &none).unwrap_or(0.0);
            for grain in Grain::ALL {
                let series = kpi::series(&conn, Catalog::builtin(), key, &period, grain, &none)
                    .expect("series");
                let sum: f64 = series.iter().filter_map(|(_, v)| *v).sum();
                prop_assert!(close(sum, total), "{key} {grain:?}: {sum} vs {total}");
            }
        }

        let parts = breakdown(&conn, Catalog::builtin(), "gross_revenue", &period, &none, Dimension::Channel, 2)
            .expect("breakdown");
        let sum: f64 = parts.iter().filter_map(|p| p.kpi).sum();
        prop_assert!(close(sum, gross), "breakdown {sum} total {gross}");
    }
}
