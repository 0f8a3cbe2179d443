//! The KPI tree and "what changed": hand-made data whose contributions are worked out here by
//! hand, properties of the decompositions (contributions always add up), the pages and the
//! API through the real router, and the demo data, where "what changed" must name the weak
//! store and the weak campaign the generator planted.

mod common;
#[path = "common/web.rs"]
mod web;

use axum::http::StatusCode;
use proptest::prelude::*;

use common::{Ev, TestDb, ev};
use omnikpi::i18n::Locale;
use omnikpi::insight::SplitMethod;
use omnikpi::server::demo::{self, PLANTED_CHANGE};
use omnikpi::server::insight;
use omnikpi::server::kpi::changed::what_changed;
use omnikpi::server::kpi::decompose::{self, Pair, Segment};
use omnikpi::server::kpi::{self, Catalog, Dimension, Filters, Period};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9 * (1.0 + a.abs().max(b.abs()))
}

fn store_visit(id: &str, day: &str, store: &str) -> Ev {
    ev(id, &format!("{day}T10:00:00+01:00"), "visit")
        .channel("store")
        .set("store_id", store)
}

fn purchase(id: &str, day: &str, channel: &str, store: &str, amount: &str) -> Ev {
    let e = ev(id, &format!("{day}T11:00:00+01:00"), "purchase")
        .channel(channel)
        .order(id)
        .amount(amount);
    if store.is_empty() {
        e
    } else {
        e.set("store_id", store)
    }
}

/// February against March, by hand:
/// - MI01: 10 visits, 2 orders of 50 → 10 visits, 3 orders of 50 (conversion 0.2 → 0.3);
/// - RM01: 10 visits, 1 order of 50 → 30 visits, 1 order of 50 (0.1 → 1/30);
/// - web: 1 order of 80 → 2 orders of 60.
fn two_months() -> TestDb {
    let t = TestDb::new();
    let mut events = Vec::new();
    let mut n = 0;
    let mut next = || {
        n += 1;
        format!("e{n}")
    };
    for (day, store, visits, orders) in [
        ("2026-02-10", "MI01", 10, 2),
        ("2026-02-10", "RM01", 10, 1),
        ("2026-03-10", "MI01", 10, 3),
        ("2026-03-10", "RM01", 30, 1),
    ] {
        for _ in 0..visits {
            events.push(store_visit(&next(), day, store));
        }
        for _ in 0..orders {
            events.push(purchase(&next(), day, "store", store, "50"));
        }
    }
    events.push(purchase(&next(), "2026-02-12", "web", "", "80"));
    events.push(purchase(&next(), "2026-03-12", "web", "", "60"));
    events.push(purchase(&next(), "2026-03-13", "web", "", "60"));
    t.load_events(&events);
    t
}

/// The rows whose contribution to the root is not split further: leaves, and nodes whose
/// children could not be split (a value n/a); rows come depth first, children right after
/// their parent.
fn terminal(rows: &[omnikpi::insight::TreeRow]) -> Vec<(String, f64)> {
    rows.iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let to_root = r.to_root?;
            let split = rows
                .get(i + 1)
                .is_some_and(|next| next.depth == r.depth + 1 && next.to_root.is_some());
            (!split).then(|| (r.name.clone(), to_root))
        })
        .collect()
}

fn february() -> Period {
    Period::parse("2026-02-01", "2026-02-28").expect("period")
}

fn march() -> Period {
    Period::parse("2026-03-01", "2026-03-31").expect("period")
}

#[test]
fn a_ratio_splits_into_mix_and_rate_worked_by_hand() {
    let t = two_months();
    let conn = t.db.connect().expect("connection");
    let split = what_changed(
        &conn,
        Catalog::builtin(),
        "store_conversion_rate",
        &march(),
        &february(),
        &Filters::none(),
        Dimension::Store,
    )
    .expect("split");
    // 3/20 = 0.15 → 4/40 = 0.10: −0.05.
    assert_eq!(split.method, SplitMethod::MixRate);
    assert!(close(split.delta.expect("delta"), -0.05));
    // Weights 0.5/0.5 → 0.25/0.75; mean rate R̄ = 0.125.
    // RM01: mix 0.25 × ((0.1 + 1/30)/2 − 0.125) = −0.0145833, rate 0.625 × (1/30 − 0.1)
    // = −0.0416667, total −0.05625. MI01: mix −0.25 × (0.25 − 0.125) = −0.03125, rate
    // 0.375 × 0.1 = 0.0375, total +0.00625.
    let first = &split.parts[0];
    assert_eq!(first.value.as_deref(), Some("RM01"));
    assert!(close(
        first.mix.expect("mix"),
        0.25 * ((0.1 + 1.0 / 30.0) / 2.0 - 0.125)
    ));
    assert!(close(first.rate.expect("rate"), 0.625 * (1.0 / 30.0 - 0.1)));
    assert!((first.contribution + 0.05625).abs() < 1e-12);
    let second = &split.parts[1];
    assert_eq!(second.value.as_deref(), Some("MI01"));
    assert!(close(second.mix.expect("mix"), -0.03125));
    assert!(close(second.rate.expect("rate"), 0.0375));
    let total: f64 = split.parts.iter().map(|p| p.contribution).sum();
    assert!(close(total, -0.05), "{total}");
    assert_eq!(split.unexplained, 0.0);
}

#[test]
fn a_sum_splits_into_each_parts_difference() {
    let t = two_months();
    let conn = t.db.connect().expect("connection");
    let split = what_changed(
        &conn,
        Catalog::builtin(),
        "gross_revenue",
        &march(),
        &february(),
        &Filters::none(),
        Dimension::Channel,
    )
    .expect("split");
    // 150 + 80 = 230 → 200 + 120 = 320: store +50, web +40 (every event has a channel, so
    // there is no "other").
    assert_eq!(split.method, SplitMethod::Difference);
    assert_eq!(split.delta, Some(90.0));
    let parts: Vec<(Option<&str>, f64)> = split
        .parts
        .iter()
        .map(|p| (p.value.as_deref(), p.contribution))
        .collect();
    assert_eq!(parts, vec![(Some("store"), 50.0), (Some("web"), 40.0)]);
    assert_eq!(split.unexplained, 0.0);
}

#[test]
fn an_order_on_two_channels_is_reported_as_unexplained_not_spread() {
    let t = TestDb::new();
    // One order O1 with a line in the store and a line on the web in March; nothing before.
    t.load_events(&[
        ev("a", "2026-03-10T11:00:00+01:00", "purchase")
            .channel("store")
            .order("O1")
            .amount("10"),
        ev("b", "2026-03-10T12:00:00+01:00", "purchase")
            .channel("web")
            .order("O1")
            .amount("5"),
    ]);
    let conn = t.db.connect().expect("connection");
    let split = what_changed(
        &conn,
        Catalog::builtin(),
        "orders",
        &march(),
        &february(),
        &Filters::none(),
        Dimension::Channel,
    )
    .expect("split");
    // Orders 0 → 1; store +1 and web +1 are each right; together they overcount by one.
    assert_eq!(split.delta, Some(1.0));
    let explained: f64 = split.parts.iter().map(|p| p.contribution).sum();
    assert_eq!(explained, 2.0);
    assert_eq!(split.unexplained, -1.0);
}

#[test]
fn a_query_kpi_is_refused_with_a_reason() {
    let t = two_months();
    let conn = t.db.connect().expect("connection");
    let err = what_changed(
        &conn,
        Catalog::builtin(),
        "churn_rate",
        &march(),
        &february(),
        &Filters::none(),
        Dimension::Channel,
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(err.contains("cannot be split"), "{err}");
}

#[test]
fn the_tree_on_hand_made_data_adds_up_and_its_identities_hold() {
    let t = two_months();
    let conn = t.db.connect().expect("connection");
    let tree = insight::kpi_tree(
        &conn,
        &march(),
        &february(),
        &Filters::none(),
        Locale::En,
        march().to(),
    )
    .expect("tree");
    let row = |key: &str| {
        tree.rows
            .iter()
            .find(|r| r.key.as_deref() == Some(key))
            .cloned()
            .expect("row")
    };
    // Net revenue = gross (no returns): 230 → 320.
    assert_eq!(tree.root_delta, Some(90.0));
    assert_eq!(row("gross_revenue").contribution, Some(90.0));
    // Orders 4 → 6 at AOV 57.5 → 53.33: by hand, L = 90 / ln(320/230) = 90 / 0.330242
    // = 272.53; orders L ln 1.5 = 272.53 × 0.405465 = 110.50, AOV L ln(53.333/57.5)
    // = 272.53 × (−0.075223) = −20.50.
    let orders = row("orders").contribution.expect("c");
    let aov = row("aov").contribution.expect("c");
    assert!((orders - 110.50).abs() < 0.01, "{orders}");
    assert!((aov + 20.50).abs() < 0.01, "{aov}");
    // Orders = store + online exactly here: the residual is 0 in both months.
    let other = tree
        .rows
        .iter()
        .find(|r| r.key.is_none() && r.depth == 3)
        .expect("the residual of orders");
    assert_eq!((other.previous, other.value), (Some(0.0), Some(0.0)));
    // No online visits: online conversion is n/a, so online orders (1 → 2) cannot be split
    // and its +1 order (55.25 € at the L-weighted rate) stays on it.
    let online = row("online_orders");
    assert!(online.to_root.is_some());
    assert_eq!(row("unique_visitors").contribution, None);
    // The terminal contributions add up to net revenue's change.
    let sum: f64 = terminal(&tree.rows).iter().map(|(_, v)| v).sum();
    assert!((sum - 90.0).abs() < 1e-6, "{sum}");
    // Owner and status are there for KPI nodes.
    assert_eq!(row("footfall").owner.as_deref(), Some("stores"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn product_contributions_add_up_to_the_change(
        factors in proptest::collection::vec((-50.0f64..500.0, -50.0f64..500.0), 1..5)
    ) {
        let pairs: Vec<Pair> = factors.iter().map(|(a, b)| Pair::new(*a, *b)).collect();
        let (c, _) = decompose::product(&pairs);
        let p0: f64 = pairs.iter().map(|p| p.before).product();
        let p1: f64 = pairs.iter().map(|p| p.after).product();
        let sum: f64 = c.iter().sum();
        prop_assert!((sum - (p1 - p0)).abs() <= 1e-7 * (1.0 + p0.abs().max(p1.abs())),
            "{sum} vs {}", p1 - p0);
    }

    #[test]
    fn mix_and_rate_add_up_to_the_ratio_change(
        segments in proptest::collection::vec(
            (0.0f64..100.0, 0.0f64..100.0, 0.0f64..100.0, 0.0f64..100.0), 1..8)
    ) {
        let segs: Vec<Segment> = segments
            .iter()
            .map(|(n0, n1, d0, d1)| Segment {
                numerator: Pair::new(*n0, *n1),
                denominator: Pair::new(*d0, *d1),
            })
            .collect();
        let d0: f64 = segs.iter().map(|s| s.denominator.before).sum();
        let d1: f64 = segs.iter().map(|s| s.denominator.after).sum();
        let split = decompose::mix_rate(&segs);
        if d0 <= 0.0 || d1 <= 0.0 {
            prop_assert!(split.is_none());
        } else {
            let split = split.expect("defined");
            let n0: f64 = segs.iter().map(|s| s.numerator.before).sum();
            let n1: f64 = segs.iter().map(|s| s.numerator.after).sum();
            // A segment without denominator in one period carries no numerator there
            // (it has no events), which is what the data gives; the generator does not
            // ensure it, so compare with the ratio of the segments that count.
            let counted0: f64 = segs.iter().filter(|s| s.denominator.before > 0.0).map(|s| s.numerator.before).sum();
            let counted1: f64 = segs.iter().filter(|s| s.denominator.after > 0.0).map(|s| s.numerator.after).sum();
            let _ = (n0, n1);
            let change = counted1 / d1 - counted0 / d0;
            let sum: f64 = split.iter().map(|s| s.total()).sum();
            prop_assert!((sum - change).abs() < 1e-9 * (1.0 + change.abs()), "{sum} vs {change}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_and_the_api_show_the_same_numbers() {
    let t = two_months();
    let range = "from=2026-03-01&to=2026-03-31";
    let (status, html) = web::get(
        web::router_as_admin(&t.db),
        &format!("/insights/tree?{range}"),
    )
    .await
    .into_parts();
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("data-kpi=\"net_revenue\" data-value=\"320\""),
        "{html}"
    );
    assert!(
        html.contains("href=\"/kpi/footfall?"),
        "nodes link to their detail"
    );
    let (status, json) = web::get(
        web::router_as_admin(&t.db),
        &format!("/api/v1/kpi-tree?{range}"),
    )
    .await
    .into_parts();
    assert_eq!(status, StatusCode::OK, "{json}");
    let tree: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(tree["rows"][0]["key"], "net_revenue");
    assert_eq!(tree["rows"][0]["value"], 320.0);

    let (status, html) = web::get(
        web::router_as_admin(&t.db),
        &format!("/insights/changed?kpi=gross_revenue&by=channel&{range}"),
    )
    .await
    .into_parts();
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("<svg"), "the waterfall");
    assert!(html.contains("store contributed +€50.00."), "{html}");
    let (status, json) = web::get(
        web::router_as_admin(&t.db),
        &format!("/api/v1/what-changed?kpi=gross_revenue&dimension=channel&{range}&lang=it"),
    )
    .await
    .into_parts();
    assert_eq!(status, StatusCode::OK, "{json}");
    let changed: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(changed["parts"][0]["value"], "store");
    assert_eq!(changed["parts"][0]["contribution"], 50.0);
    let summary = changed["summary"][1]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        summary.starts_with("store ha contribuito per +"),
        "{summary}"
    );
}

/// The demo data of the other demo tests, loaded once.
#[test]
fn what_changed_names_the_planted_store_and_campaign_first() {
    let (t, spec, _) = common::planted_demo(42);
    let conn = t.db.connect().expect("connection");
    let (first, last) = demo::planted_month(spec.end);
    assert_eq!(
        (first.to_string(), last.to_string()),
        ("2026-06-01".into(), "2026-06-30".into())
    );
    let june = Period::new(first, last).expect("period");
    let may = Period::parse("2026-05-01", "2026-05-31").expect("period");
    let catalog = Catalog::builtin();

    let stores = what_changed(
        &conn,
        catalog,
        "store_conversion_rate",
        &june,
        &may,
        &Filters::none(),
        Dimension::Store,
    )
    .expect("split");
    eprintln!(
        "store conversion May {:?} June {:?}; by store: {:?}",
        stores.previous,
        stores.current,
        stores
            .parts
            .iter()
            .take(4)
            .map(|p| (
                p.value.clone(),
                p.previous,
                p.current,
                p.mix,
                p.rate,
                p.contribution
            ))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        stores.parts[0].value.as_deref(),
        Some(PLANTED_CHANGE.weak_store)
    );
    assert!(stores.parts[0].contribution < 0.0);

    let campaigns = what_changed(
        &conn,
        catalog,
        "ad_spend",
        &june,
        &may,
        &Filters::none(),
        Dimension::Campaign,
    )
    .expect("split");
    eprintln!(
        "ad spend May {:?} June {:?}; by campaign: {:?}",
        campaigns.previous,
        campaigns.current,
        campaigns
            .parts
            .iter()
            .map(|p| (p.value.clone(), p.previous, p.current, p.contribution))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        campaigns.parts[0].value.as_deref(),
        Some(PLANTED_CHANGE.weak_campaign)
    );
    assert!(campaigns.parts[0].contribution > 0.0);

    // The tree explains June's net revenue change with contributions that add up to it.
    let tree =
        insight::kpi_tree(&conn, &june, &may, &Filters::none(), Locale::En, last).expect("tree");
    let delta = tree.root_delta.expect("both months have revenue");
    let leaves = terminal(&tree.rows);
    assert!(leaves.len() >= 8, "every leaf has a share: {leaves:?}");
    let sum: f64 = leaves.iter().map(|(_, v)| v).sum();
    eprintln!("net revenue change {delta:.2}; leaves {leaves:?}; sum {sum:.6}");
    assert!(
        (sum - delta).abs() < 1e-6 * (1.0 + delta.abs()),
        "{sum} vs {delta}"
    );
    for r in &tree.rows {
        eprintln!(
            "{}{} {:?} -> {:?} contribution {:?} to root {:?}",
            "  ".repeat(r.depth),
            r.name,
            r.previous,
            r.value,
            r.contribution,
            r.to_root
        );
    }

    // The identities the tree calls exact hold on the demo data within rounding.
    let keys = [
        "net_revenue",
        "gross_revenue",
        "returns_value",
        "orders",
        "aov",
        "store_orders",
        "footfall",
        "store_conversion_rate",
    ];
    let v = kpi::compute(&conn, catalog, &keys, &june, &Filters::none()).expect("compute");
    let get = |k: &str| v[k].expect("a value");
    assert!((get("net_revenue") - (get("gross_revenue") - get("returns_value"))).abs() < 1e-6);
    assert!((get("gross_revenue") - get("orders") * get("aov")).abs() < 1e-6);
    assert!((get("store_orders") - get("footfall") * get("store_conversion_rate")).abs() < 1e-6);
}
