//! Derived KPIs (an admin's ratio of two KPIs), provisional values and the review findings on
//! the engine, each on a small hand-made fixture whose expected values are worked out in the
//! comments (docs/kpis.md states the rules).

mod common;
#[path = "common/web.rs"]
mod web;

use axum::http::StatusCode;
use common::{Ev, TestDb, ev};
use omnikpi::auth::Role;
use omnikpi::kpi::{Direction, Unit};
use omnikpi::server::kpi::report::{self, Compare, ReportRequest};
use omnikpi::server::kpi::{self, Catalog, DerivedSpec, Dimension, Filters, Period, derived};
use web::{Browser, PASSWORD};

fn db(events: &[Ev]) -> TestDb {
    let t = TestDb::new();
    t.load_events(events);
    t
}

fn period(from: &str, to: &str) -> Period {
    Period::parse(from, to).expect("period")
}

#[track_caller]
fn close(got: Option<f64>, expected: Option<f64>) {
    match (got, expected) {
        (Some(g), Some(e)) => assert!((g - e).abs() < 1e-9, "got {g}, expected {e}"),
        _ => assert_eq!(got, expected),
    }
}

const MARCH: (&str, &str) = ("2026-03-01", "2026-03-31");

/// Store visits and purchases: MI01 4 visits and 160 EUR in March, RM01 2 visits and 30 EUR,
/// TO01 no visit and 20 EUR; February: MI01 1 visit and 50 EUR.
fn stores() -> Vec<Ev> {
    let visit = |id: &str, at: &str, store: &str| {
        ev(id, at, "visit").channel("store").set("store_id", store)
    };
    let buy = |id: &str, at: &str, store: &str, order: &str, amount: &str| {
        ev(id, at, "purchase")
            .channel("store")
            .set("store_id", store)
            .order(order)
            .amount(amount)
    };
    vec![
        visit("v1", "2026-03-02T10:00:00+01:00", "MI01"),
        visit("v2", "2026-03-03T10:00:00+01:00", "MI01"),
        visit("v3", "2026-03-04T10:00:00+01:00", "MI01"),
        visit("v4", "2026-03-05T10:00:00+01:00", "MI01"),
        visit("v5", "2026-03-06T10:00:00+01:00", "RM01"),
        visit("v6", "2026-03-07T10:00:00+01:00", "RM01"),
        buy("p1", "2026-03-02T11:00:00+01:00", "MI01", "O1", "100.00"),
        buy("p2", "2026-03-05T11:00:00+01:00", "MI01", "O2", "60.00"),
        buy("p3", "2026-03-06T11:00:00+01:00", "RM01", "O3", "30.00"),
        buy("p4", "2026-03-09T11:00:00+01:00", "TO01", "O4", "20.00"),
        visit("v7", "2026-02-10T10:00:00+01:00", "MI01"),
        buy("p5", "2026-02-10T11:00:00+01:00", "MI01", "O5", "50.00"),
    ]
}

fn spec(key: &str, numerator: &str, denominator: &str, unit: Unit) -> DerivedSpec {
    DerivedSpec {
        key: key.into(),
        name_en: "Revenue per store visit".into(),
        name_it: "Ricavi per visita in negozio".into(),
        description_en: String::new(),
        description_it: String::new(),
        numerator: numerator.into(),
        denominator: denominator.into(),
        unit,
        direction: Direction::HigherIsBetter,
        owner: "stores".into(),
    }
}

fn add(t: &TestDb, spec: &DerivedSpec) -> Result<(), derived::DerivedKpiError> {
    let mut conn = t.db.connect().expect("connection");
    let tx = conn.transaction().expect("tx");
    derived::save(&tx, "admin@test.it", spec, false)?;
    tx.commit().expect("commit");
    Ok(())
}

fn with_revenue_per_visit() -> TestDb {
    let t = db(&stores());
    add(
        &t,
        &spec(
            "revenue_per_visit",
            "store_revenue",
            "footfall",
            Unit::Money,
        ),
    )
    .expect("valid derived KPI");
    t
}

#[test]
fn a_derived_kpi_is_computed_compared_and_null_on_a_zero_denominator() {
    let t = with_revenue_per_visit();
    let conn = t.db.connect().expect("connection");
    let catalog = kpi::catalog(&conn).expect("catalog");
    let request = ReportRequest {
        keys: vec!["revenue_per_visit".into()],
        compare: Compare::Previous,
        ..Default::default()
    };
    let march =
        report::build(&conn, &catalog, &period(MARCH.0, MARCH.1), &request).expect("report");
    let k = &march.kpis[0];
    // March: store revenue 100 + 60 + 30 + 20 = 210 over 6 store visits = 35.
    close(k.value, Some(35.0));
    // Previous period (the 31 days before 1 March): 50 over 1 visit.
    close(k.previous, Some(50.0));
    // Money changes relatively: (35 - 50) / 50.
    close(k.change, Some(-0.3));
    assert_eq!(k.unit, Unit::Money);
    assert!(!k.provisional, "store revenue and footfall have no window");
    // April: no visit, no revenue: 0 / 0 is n/a, not 0.
    let april = kpi::compute(
        &conn,
        &catalog,
        &["revenue_per_visit"],
        &period("2026-04-01", "2026-04-30"),
        &Filters::none(),
    )
    .expect("compute");
    assert_eq!(april["revenue_per_visit"], None);
}

#[test]
fn a_derived_kpi_breaks_down_as_the_ratio_of_each_parts_own_sums() {
    let t = with_revenue_per_visit();
    let conn = t.db.connect().expect("connection");
    let catalog = kpi::catalog(&conn).expect("catalog");
    let parts = kpi::breakdown::breakdown(
        &conn,
        &catalog,
        "revenue_per_visit",
        &period(MARCH.0, MARCH.1),
        &Filters::none(),
        Dimension::Store,
        10,
    )
    .expect("breakdown");
    let got: Vec<(Option<&str>, Option<f64>)> =
        parts.iter().map(|p| (p.value.as_deref(), p.kpi)).collect();
    // MI01 160 / 4 = 40; RM01 30 / 2 = 15; TO01 20 / 0 visits = n/a (not the mean of ratios,
    // and not 0). No event lacks a store, so there is no "other".
    assert_eq!(
        got,
        [
            (Some("MI01"), Some(40.0)),
            (Some("RM01"), Some(15.0)),
            (Some("TO01"), None)
        ]
    );
    // The total is the ratio of the sums (210 / 6 = 35), not the mean of the parts' ratios.
    let month = kpi::series(
        &conn,
        &catalog,
        "revenue_per_visit",
        &period("2026-02-01", "2026-03-31"),
        omnikpi::kpi::Grain::Month,
        &Filters::none(),
    )
    .expect("series");
    let values: Vec<Option<f64>> = month.into_iter().map(|(_, v)| v).collect();
    assert_eq!(values, [Some(50.0), Some(35.0)]);
}

#[test]
fn a_derived_kpi_takes_targets_like_any_other() {
    let t = with_revenue_per_visit();
    let conn = t.db.connect().expect("connection");
    let catalog = kpi::catalog(&conn).expect("catalog");
    let target = kpi::targets::set(
        &conn,
        &catalog,
        "revenue_per_visit",
        "stores",
        "2026-03",
        40.0,
        "lead",
    )
    .expect("target");
    let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 31).expect("date");
    let report = kpi::targets::report(&conn, &catalog, vec![target], day).expect("report");
    // A ratio is projected as it stands: 35 against a target of 40.
    close(report[0].actual, Some(35.0));
    close(report[0].projection, Some(35.0));
    // The owner's department view lists it.
    assert_eq!(
        kpi::owners(&conn).expect("owners")["revenue_per_visit"],
        "stores"
    );
}

#[test]
fn derived_definitions_are_validated_and_audited() {
    let t = with_revenue_per_visit();
    let refused = |s: DerivedSpec| add(&t, &s).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        refused(spec("aov", "gross_revenue", "orders", Unit::Money)).contains("already exists")
    );
    assert!(
        refused(spec(
            "revenue_per_visit",
            "gross_revenue",
            "orders",
            Unit::Money
        ))
        .contains("already exists")
    );
    assert!(refused(spec("x_per_y", "revenue", "orders", Unit::Money)).contains("unknown KPI"));
    assert!(
        refused(spec("x_per_y", "gross_revenue", "orders", Unit::Ratio))
            .contains("money or multiple")
    );
    assert!(refused(spec("Bad Key", "gross_revenue", "orders", Unit::Money)).contains("key"));
    // A derived KPI of a derived one is fine; then making the first divide the second is a
    // cycle, refused.
    add(
        &t,
        &spec(
            "visit_value_per_order",
            "revenue_per_visit",
            "orders",
            Unit::Multiple,
        ),
    )
    .expect("derived of derived");
    let mut conn = t.db.connect().expect("connection");
    let tx = conn.transaction().expect("tx");
    let cycle = derived::save(
        &tx,
        "admin@test.it",
        &spec(
            "revenue_per_visit",
            "visit_value_per_order",
            "footfall",
            Unit::Multiple,
        ),
        true,
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(cycle.contains("in terms of itself"), "{cycle}");
    // Deleting a KPI another one divides is refused.
    let used = derived::delete(&tx, "admin@test.it", "revenue_per_visit")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(used.contains("visit_value_per_order"), "{used}");
    derived::delete(&tx, "admin@test.it", "visit_value_per_order").expect("deleted");
    tx.commit().expect("commit");
    assert_eq!(
        t.count("SELECT count(*) FROM audit_log WHERE action = 'kpi.derived.create'"),
        2
    );
    assert_eq!(
        t.count("SELECT count(*) FROM audit_log WHERE action = 'kpi.derived.delete' AND subject = 'visit_value_per_order'"),
        1
    );
    let catalog = kpi::catalog(&t.db.connect().expect("connection")).expect("catalog");
    assert!(catalog.get("visit_value_per_order").is_none());
    assert!(catalog.get("revenue_per_visit").is_some_and(|d| d.derived));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_page_creates_edits_and_deletes_a_derived_kpi_that_the_api_then_serves() {
    let t = db(&stores());
    web::add_user(&t.db, "admin@test.it", Role::Admin, None);
    web::add_user(&t.db, "lead@test.it", Role::Lead, Some("stores"));
    let mut admin = Browser::new(web::router(&t.db));
    admin.sign_in("admin@test.it", PASSWORD).await;
    let page = admin.get("/admin/kpis?lang=it").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("KPI derivati"),
        "the section is in Italian"
    );
    let csrf = web::csrf_in(&page.body).expect("csrf");
    let fields = |mode: &'static str, unit: &'static str| {
        vec![
            ("mode", mode),
            ("key", "revenue_per_visit"),
            ("name_en", "Revenue per store visit"),
            ("name_it", "Ricavi per visita"),
            ("description_en", ""),
            ("description_it", ""),
            ("numerator", "store_revenue"),
            ("denominator", "footfall"),
            ("unit", unit),
            ("direction", "higher_is_better"),
            ("owner", "stores"),
        ]
    };
    let mut create = fields("create", "money");
    create.push(("csrf", &csrf));
    let reply = admin.post_form("/admin/kpis/derived/save", &create).await;
    assert_eq!(reply.location(), "/admin/kpis?ok=created");
    // Without the form's token nothing changes.
    let forged = admin
        .post_form("/admin/kpis/derived/save", &fields("update", "multiple"))
        .await;
    assert!(
        forged.location().contains("error="),
        "{}",
        forged.location()
    );
    // A lead may not define KPIs.
    let mut lead = Browser::new(web::router(&t.db));
    lead.sign_in("lead@test.it", PASSWORD).await;
    let lead_csrf = lead.csrf().await;
    let mut attempt = fields("create", "money");
    attempt.push(("csrf", &lead_csrf));
    let denied = lead.post_form("/admin/kpis/derived/save", &attempt).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    // The API serves it with the hand-computed value (210 / 6).
    let api = admin
        .get("/api/v1/kpis?from=2026-03-01&to=2026-03-31&kpi=revenue_per_visit")
        .await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.body);
    let json: serde_json::Value = serde_json::from_str(&api.body).expect("json");
    assert_eq!(json["kpis"][0]["key"], "revenue_per_visit");
    assert_eq!(json["kpis"][0]["value"], 35.0);
    assert_eq!(json["kpis"][0]["provisional"], false);
    let breakdown = admin
        .get("/api/v1/kpis/revenue_per_visit/breakdown?from=2026-03-01&to=2026-03-31&dimension=store")
        .await;
    let json: serde_json::Value = serde_json::from_str(&breakdown.body).expect("json");
    assert_eq!(json["parts"][0]["value"], "MI01");
    assert_eq!(json["parts"][0]["kpi"], 40.0);
    // The owner department's view shows it.
    let stores = admin
        .get("/dept/stores?from=2026-03-01&to=2026-03-31&lang=en")
        .await;
    assert!(stores.body.contains("data-kpi=\"revenue_per_visit\""));
    // An edit to a unit that does not fit is refused with the reason, in the admin's language.
    let mut bad = fields("update", "ratio");
    bad.push(("csrf", &csrf));
    let refused = admin.post_form("/admin/kpis/derived/save", &bad).await;
    assert!(
        refused.location().contains("error="),
        "{}",
        refused.location()
    );
    let mut edit = fields("update", "multiple");
    edit.push(("csrf", &csrf));
    let edited = admin.post_form("/admin/kpis/derived/save", &edit).await;
    assert_eq!(edited.location(), "/admin/kpis?ok=saved");
    let deleted = admin
        .post_form(
            "/admin/kpis/derived/delete",
            &[("csrf", &csrf), ("key", "revenue_per_visit")],
        )
        .await;
    assert_eq!(deleted.location(), "/admin/kpis?ok=deleted");
    assert_eq!(
        t.count("SELECT count(*) FROM audit_log WHERE action LIKE 'kpi.derived.%' AND actor = 'admin@test.it'"),
        3
    );
    let gone = admin
        .get("/api/v1/kpis?from=2026-03-01&to=2026-03-31&kpi=revenue_per_visit")
        .await;
    assert_eq!(gone.status, StatusCode::BAD_REQUEST, "{}", gone.body);
}

// ---- review findings ------------------------------------------------------------------------

fn value(t: &TestDb, key: &str, (from, to): (&str, &str), filters: &Filters) -> Option<f64> {
    let conn = t.db.connect().expect("connection");
    kpi::compute(
        &conn,
        Catalog::builtin(),
        &[key],
        &period(from, to),
        filters,
    )
    .expect("compute")[key]
}

/// SKU1: web lines at 10 and 12 (web mean 11), a store line at 14; SKU2: web only, 20.
fn prices() -> Vec<Ev> {
    let line = |id: &str, channel: &str, sku: &str, price: &str| {
        ev(id, "2026-03-10T12:00:00+01:00", "purchase")
            .channel(channel)
            .order(id)
            .amount(price)
            .set("sku", sku)
            .set("unit_price", price)
    };
    vec![
        line("l1", "web", "SKU1", "10.00"),
        line("l2", "web", "SKU1", "12.00"),
        line("l3", "store", "SKU1", "14.00"),
        line("l4", "web", "SKU2", "20.00"),
    ]
}

#[test]
fn channel_price_gap_by_channel_compares_with_every_channel_not_zero() {
    let t = db(&prices());
    // SKU1 on all channels: (10 + 12 + 14) / 3 = 12; web gap |11/12 - 1| = 1/12, store gap
    // |14/12 - 1| = 1/6; SKU2 web = all channels: gap 0. All pairs: (1/12 + 1/6 + 0) / 3.
    close(
        value(&t, "channel_price_gap", MARCH, &Filters::none()),
        Some((1.0 / 12.0 + 1.0 / 6.0) / 3.0),
    );
    // Web only: its pairs against the all-channel means: (1/12 + 0) / 2 = 1/24 (it was 0,
    // because the filter also narrowed the reference to the web).
    let web = Filters::parse([("channel", "web")]).expect("filter");
    close(
        value(&t, "channel_price_gap", MARCH, &web),
        Some(1.0 / 24.0),
    );
    let conn = t.db.connect().expect("connection");
    let parts = kpi::breakdown::breakdown(
        &conn,
        Catalog::builtin(),
        "channel_price_gap",
        &period(MARCH.0, MARCH.1),
        &Filters::none(),
        Dimension::Channel,
        10,
    )
    .expect("breakdown");
    let got: Vec<(Option<&str>, Option<f64>)> =
        parts.iter().map(|p| (p.value.as_deref(), p.kpi)).collect();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].0, Some("store"));
    close(got[0].1, Some(1.0 / 6.0));
    assert_eq!(got[1].0, Some("web"));
    close(got[1].1, Some(1.0 / 24.0));
}

/// Orders and reservations that straddle 31 March / 1 April (Rome, summer time).
fn edges() -> Vec<Ev> {
    vec![
        // Reserved on 30 March, reserved again (changed) on 2 April, picked up on 8 April at
        // noon: 9 days after the first reservation, 6 after the second.
        ev("r1", "2026-03-30T10:00:00+02:00", "reservation")
            .channel("web")
            .order("R9"),
        ev("r2", "2026-04-02T10:00:00+02:00", "reservation")
            .channel("web")
            .order("R9"),
        ev("k1", "2026-04-08T12:00:00+02:00", "pickup")
            .channel("store")
            .order("R9"),
        // A store order whose first line is on 31 March 21:00 and second on 1 April 10:00;
        // the customer browsed the web on 1 April at 09:00 only (after the first line).
        ev("w1", "2026-03-31T21:00:00+02:00", "purchase")
            .channel("store")
            .loyalty("L20")
            .order("W1")
            .amount("10.00"),
        ev("w2", "2026-04-01T10:00:00+02:00", "purchase")
            .channel("store")
            .loyalty("L20")
            .order("W1")
            .amount("5.00"),
        ev("w3", "2026-04-01T09:00:00+02:00", "visit")
            .channel("web")
            .loyalty("L20"),
        // The mirror image online: a web order across midnight, a store visit in between.
        ev("s1", "2026-03-31T21:00:00+02:00", "purchase")
            .channel("web")
            .loyalty("L21")
            .order("S1")
            .amount("10.00"),
        ev("s2", "2026-04-01T10:00:00+02:00", "purchase")
            .channel("web")
            .loyalty("L21")
            .order("S1")
            .amount("5.00"),
        ev("s3", "2026-04-01T09:00:00+02:00", "visit")
            .channel("store")
            .loyalty("L21"),
    ]
}

#[test]
fn seven_day_windows_start_at_the_first_event_of_all_history_not_of_the_period() {
    let t = db(&edges());
    let april = ("2026-04-01", "2026-04-30");
    let none = Filters::none();
    // R9 has a reservation in April, so it is one of April's reservations; its window starts
    // at the first reservation (30 March) and the pickup 9 days later is too late: 0 / 1.
    // (Anchored at 2 April it was picked up in 6 days: 1 / 1.)
    close(value(&t, "pickup_rate", april, &none), Some(0.0));
    close(value(&t, "pickup_rate", MARCH, &none), Some(0.0));
    // W1 has a line in April; it is anchored at its first line (31 March 21:00), before the
    // web visit, so it was not researched online: 0 / 1 (anchored at 1 April 10:00: 1 / 1).
    close(value(&t, "webrooming_rate", april, &none), Some(0.0));
    close(value(&t, "showrooming_rate", april, &none), Some(0.0));
    // In March the same orders count too, with the same anchor and the same answer.
    close(value(&t, "webrooming_rate", MARCH, &none), Some(0.0));
}

#[test]
fn online_kpis_read_the_configured_online_channels() {
    let t = TestDb::new();
    {
        let conn = t.db.connect().expect("connection");
        conn.execute(
            "INSERT INTO channels VALUES ('marketplace', true, 'Marketplace', 'Marketplace')",
            [],
        )
        .expect("channel");
    }
    t.load_events(&[
        ev("m1", "2026-03-10T10:00:00+01:00", "visit")
            .channel("marketplace")
            .cookie("K1"),
        ev("m2", "2026-03-10T10:00:00+01:00", "visit")
            .channel("web")
            .cookie("K2"),
        ev("m3", "2026-03-10T11:00:00+01:00", "purchase")
            .channel("marketplace")
            .cookie("K1")
            .order("M1")
            .amount("30.00"),
        ev("m4", "2026-03-11T11:00:00+01:00", "purchase")
            .channel("store")
            .order("M2")
            .amount("70.00"),
    ]);
    let none = Filters::none();
    // K1 on the marketplace (configured online) and K2 on the web: 2 visitors.
    close(value(&t, "unique_visitors", MARCH, &none), Some(2.0));
    // M1 on the marketplace is an online order; M2 in a store is not.
    close(value(&t, "online_orders", MARCH, &none), Some(1.0));
    close(value(&t, "online_revenue", MARCH, &none), Some(30.0));
    close(value(&t, "store_revenue", MARCH, &none), Some(70.0));
}

#[test]
fn values_whose_windows_are_still_open_are_provisional() {
    let t = db(&edges());
    let conn = t.db.connect().expect("connection");
    let catalog = Catalog::builtin()
        .with_derived(&spec(
            "pickups_per_euro",
            "pickup_rate",
            "gross_revenue",
            Unit::Multiple,
        ))
        .expect("valid");
    let request = ReportRequest {
        keys: vec![
            "pickup_rate".into(),
            "chat_to_purchase_rate".into(),
            "webrooming_rate".into(),
            "gross_revenue".into(),
            "pickups_per_euro".into(),
        ],
        ..Default::default()
    };
    let march = period(MARCH.0, MARCH.1);
    let flags = |today: &str| -> Vec<bool> {
        let today = chrono::NaiveDate::parse_from_str(today, "%Y-%m-%d").expect("date");
        report::build_as_of(&conn, &catalog, &march, &request, today)
            .expect("report")
            .kpis
            .iter()
            .map(|k| k.provisional)
            .collect()
    };
    // A reservation at 23:59 on 31 March may be picked up until 7 April 23:59: on 7 April the
    // windows that look ahead (pickups, and a ratio of a pickup rate: 0 / 20 EUR) are still
    // open; the 7 days *before* a store purchase closed when it was made; March has no chat,
    // so chat to purchase is n/a, with nothing to revise.
    assert_eq!(flags("2026-04-07"), [true, false, false, false, true]);
    assert_eq!(flags("2026-03-15"), [true, false, false, false, true]);
    // From 8 April every window of March has closed.
    assert_eq!(flags("2026-04-08"), [false, false, false, false, false]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiles_and_the_kpi_detail_mark_provisional_values_in_both_languages() {
    // A reservation two days ago, not picked up (yet): this week's pickup rate is 0 for now.
    let today = chrono::Utc::now().date_naive();
    let day = |back: u64| today - chrono::Days::new(back);
    let at = format!("{}T12:00:00Z", day(2));
    let t = db(&[
        ev("r1", &at, "reservation").channel("web").order("R1"),
        ev("r0", "2026-03-10T12:00:00+01:00", "reservation")
            .channel("web")
            .order("R0"),
    ]);
    web::add_user(&t.db, "admin@test.it", Role::Admin, None);
    let mut admin = Browser::new(web::router(&t.db));
    admin.sign_in("admin@test.it", PASSWORD).await;
    let recent = format!("from={}&to={}", day(5), today);
    for (lang, word) in [("en", "Provisional"), ("it", "Provvisorio")] {
        let stores = admin
            .get(&format!("/dept/stores?{recent}&lang={lang}"))
            .await;
        assert_eq!(stores.status, StatusCode::OK);
        let tile = stores
            .body
            .split("data-kpi=\"pickup_rate\"")
            .nth(1)
            .expect("pickup tile");
        let tile = tile.split("</article>").next().unwrap_or_default();
        assert!(tile.contains("data-provisional=\"true\""), "{lang}: {tile}");
        assert!(tile.contains(word), "{lang}");
        let detail = admin
            .get(&format!("/kpi/pickup_rate?{recent}&lang={lang}"))
            .await;
        assert!(detail.body.contains("data-provisional=\"true\""), "{lang}");
        assert!(detail.body.contains(word), "{lang}");
    }
    // March 2026 closed long ago (its pickup rate is 0 of 1): no marker.
    let march = admin
        .get("/kpi/pickup_rate?from=2026-03-01&to=2026-03-31&lang=en")
        .await;
    assert!(!march.body.contains("data-provisional"), "closed windows");
    let api = admin
        .get(&format!(
            "/api/v1/kpis?{recent}&kpi=pickup_rate,gross_revenue"
        ))
        .await;
    let json: serde_json::Value = serde_json::from_str(&api.body).expect("json");
    assert_eq!(json["kpis"][0]["value"], 0.0);
    assert_eq!(json["kpis"][0]["provisional"], true);
    assert_eq!(json["kpis"][1]["provisional"], false);
}
