//! The first KPIs of the contract on a hand-made fixture whose values are worked out here by
//! hand, not by running the same SQL: period edges in Europe/Rome, a multi-line order, an
//! anonymous purchase, a zero denominator, and the CLI's JSON contract.

mod common;

use common::{FIXTURE, TestDb};
use omnikpi::kpi::Grain;
use omnikpi::server::kpi::{self, Catalog, Filters, Period};

fn compute(t: &TestDb, from: &str, to: &str, keys: &[&str]) -> kpi::query::Values {
    let conn = t.db.connect().expect("connection");
    let period = Period::parse(from, to).expect("period");
    kpi::compute(&conn, Catalog::builtin(), keys, &period, &Filters::none()).expect("compute")
}

const SLICE: &[&str] = &["gross_revenue", "orders", "aov", "active_customers"];

#[test]
fn march_values_match_the_hand_computed_ones() {
    let t = TestDb::with_fixture();
    let v = compute(&t, "2026-03-01", "2026-03-31", SLICE);
    // e1 100 + e2 50 + e3 30 + e4 20 + e6 10 + e10 5; e5 is April, e9 is a return.
    assert_eq!(v["gross_revenue"], Some(215.0));
    // Orders A, e3 (no order id), B, D, E.
    assert_eq!(v["orders"], Some(5.0));
    assert_eq!(v["aov"], Some(215.0 / 5.0));
    // L1 = a@x.it (stitched by e8), b@x.it, L3; e4 is anonymous.
    assert_eq!(v["active_customers"], Some(3.0));
}

#[test]
fn an_event_at_2330_utc_on_the_last_day_belongs_to_the_next_day_in_rome() {
    let t = TestDb::with_fixture();
    let april_first = compute(&t, "2026-04-01", "2026-04-01", &["gross_revenue"]);
    assert_eq!(april_first["gross_revenue"], Some(999.0));
    let march_31 = compute(&t, "2026-03-31", "2026-03-31", &["gross_revenue"]);
    assert_eq!(march_31["gross_revenue"], Some(0.0));
    let march_first = compute(&t, "2026-03-01", "2026-03-01", &["gross_revenue"]);
    assert_eq!(march_first["gross_revenue"], Some(10.0));
}

#[test]
fn a_period_without_purchases_gives_zero_sums_and_null_ratios() {
    let t = TestDb::with_fixture();
    let v = compute(&t, "2026-05-01", "2026-05-31", SLICE);
    assert_eq!(v["gross_revenue"], Some(0.0));
    assert_eq!(v["orders"], Some(0.0));
    assert_eq!(v["aov"], None, "zero orders: AOV is n/a, not 0");
    assert_eq!(v["active_customers"], Some(0.0));
}

#[test]
fn the_daily_series_sums_to_the_period_value() {
    let t = TestDb::with_fixture();
    let conn = t.db.connect().expect("connection");
    let period = Period::parse("2026-03-01", "2026-03-31").expect("period");
    let series = kpi::series(
        &conn,
        Catalog::builtin(),
        "gross_revenue",
        &period,
        Grain::Day,
        &Filters::none(),
    )
    .expect("series");
    assert_eq!(series.len(), 31);
    let total: f64 = series.iter().filter_map(|(_, v)| *v).sum();
    assert_eq!(total, 215.0);
    let tenth = series
        .iter()
        .find(|(d, _)| d.from().to_string() == "2026-03-10")
        .and_then(|(_, v)| *v);
    assert_eq!(tenth, Some(150.0));
}

#[test]
fn the_previous_period_is_compared() {
    let t = TestDb::with_fixture();
    let conn = t.db.connect().expect("connection");
    let april = Period::parse("2026-04-01", "2026-04-30").expect("period");
    let none = Filters::none();
    let c =
        kpi::compute_with_previous(&conn, Catalog::builtin(), &["gross_revenue"], &april, &none)
            .expect("compare");
    // Previous period of April (30 days) is 2 March .. 31 March: 215 - e6 (1 March) = 205.
    let g = &c["gross_revenue"];
    assert_eq!(g.value, Some(999.0));
    assert_eq!(g.previous, Some(205.0));
    assert_eq!(g.change, Some((999.0 - 205.0) / 205.0));
}

#[test]
fn cli_kpi_json_keeps_the_contract() {
    let t = TestDb::new();
    let file = t.file("fixture.csv", FIXTURE);
    let db = t.path();
    drop(t.db);
    let bin = env!("CARGO_BIN_EXE_omnikpi");
    let load = std::process::Command::new(bin)
        .args(["--db"])
        .arg(&db)
        .args(["load", "--source", "pos"])
        .arg(&file)
        .output()
        .expect("run omnikpi load");
    assert!(
        load.status.success(),
        "{}",
        String::from_utf8_lossy(&load.stderr)
    );

    let out = std::process::Command::new(bin)
        .arg("--db")
        .arg(&db)
        .args([
            "kpi",
            "--from",
            "2026-05-01",
            "--to",
            "2026-05-31",
            "--json",
        ])
        .output()
        .expect("run omnikpi kpi");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(json["from"], "2026-05-01");
    assert_eq!(json["to"], "2026-05-31");
    let kpis = json["kpis"].as_array().expect("kpis array");
    let value = |key: &str| {
        kpis.iter()
            .find(|k| k["key"] == key)
            .map(|k| k["value"].clone())
            .expect("kpi present")
    };
    assert_eq!(value("gross_revenue"), serde_json::json!(0.0));
    assert_eq!(value("aov"), serde_json::Value::Null);
    for key in ["gross_revenue", "orders", "aov", "active_customers"] {
        assert!(kpis.iter().any(|k| k["key"] == key), "{key} missing");
    }
}
