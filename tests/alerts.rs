//! Alert rules on hand-made data: threshold (with filters), change vs the previous window,
//! off track against a target, one firing per crossing (true, true, false, true fires twice),
//! evaluation after a load, and the alerts page and its forms through the real router.

mod common;
#[path = "common/web.rs"]
mod web;

use axum::http::StatusCode;
use chrono::NaiveDate;

use common::{TestDb, ev};
use omnikpi::auth::Role;
use omnikpi::server::alerts::{self, NewRule};

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
}

/// Purchases: 100 (web, 15 March) and 50 (store, 18 March) in the week to 20 March; 999
/// (store, 10 March) in the week before it.
fn purchases() -> TestDb {
    let t = TestDb::new();
    t.load_events(&[
        ev("p1", "2026-03-15T12:00:00+01:00", "purchase")
            .channel("web")
            .amount("100.00"),
        ev("p2", "2026-03-18T12:00:00+01:00", "purchase")
            .channel("store")
            .amount("50.00"),
        ev("p3", "2026-03-10T12:00:00+01:00", "purchase")
            .channel("store")
            .amount("999.00"),
    ]);
    t
}

fn rule(kpi: &str, department: &str, kind: &str, op: &str, threshold: f64) -> NewRule {
    NewRule {
        kpi: kpi.into(),
        department: department.into(),
        filters: String::new(),
        kind: kind.into(),
        op: op.into(),
        threshold: Some(threshold),
        window: "last_7_days".into(),
    }
}

fn add(t: &TestDb, new: &NewRule) -> i64 {
    let conn = t.db.connect().expect("connection");
    alerts::create(&conn, new, "test@test.it").expect("rule").id
}

/// (rule, value, threshold, from, to) of every firing, oldest first.
fn firings(t: &TestDb) -> Vec<(i64, f64, f64, String, String)> {
    let conn = t.db.connect().expect("connection");
    let mut stmt = conn
        .prepare(
            "SELECT rule_id, value, threshold, CAST(period_from AS VARCHAR),
                    CAST(period_to AS VARCHAR)
             FROM alerts ORDER BY id",
        )
        .expect("query");
    stmt.query_map([], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })
    .expect("rows")
    .collect::<Result<_, _>>()
    .expect("firings")
}

fn evaluate(t: &TestDb, day: &str) -> usize {
    alerts::evaluate_now(&t.db, Some(d(day)))
        .expect("evaluation")
        .len()
}

#[test]
fn a_threshold_fires_on_the_window_and_its_filters() {
    let t = purchases();
    // Week to 20 March: 100 + 50 = 150.
    let above_120 = add(
        &t,
        &rule("gross_revenue", "sales", "threshold", "above", 120.0),
    );
    let above_200 = add(
        &t,
        &rule("gross_revenue", "sales", "threshold", "above", 200.0),
    );
    // Web only: 100, below 120.
    let mut web_only = rule("gross_revenue", "sales", "threshold", "below", 120.0);
    web_only.filters = "channel=web".into();
    let web_below_120 = add(&t, &web_only);
    assert_eq!(evaluate(&t, "2026-03-20"), 2);
    let fired = firings(&t);
    assert_eq!(
        fired,
        vec![
            (
                above_120,
                150.0,
                120.0,
                "2026-03-14".to_string(),
                "2026-03-20".to_string()
            ),
            (
                web_below_120,
                100.0,
                120.0,
                "2026-03-14".to_string(),
                "2026-03-20".to_string()
            ),
        ]
    );
    assert!(fired.iter().all(|f| f.0 != above_200));
}

#[test]
fn a_change_rule_compares_with_the_window_before() {
    let t = purchases();
    // 150 in the week to 20 March after 999 in the week before: -84.98... %.
    let fall = add(&t, &rule("gross_revenue", "sales", "change", "below", 50.0));
    let _rise = add(&t, &rule("gross_revenue", "sales", "change", "above", 50.0));
    let _deeper = add(&t, &rule("gross_revenue", "sales", "change", "below", 90.0));
    assert_eq!(evaluate(&t, "2026-03-20"), 1);
    let fired = firings(&t);
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].0, fall);
    let expected = (150.0 - 999.0) / 999.0 * 100.0;
    assert!((fired[0].1 - expected).abs() < 1e-9, "{}", fired[0].1);
    assert_eq!(fired[0].2, 50.0);
}

#[test]
fn an_off_track_rule_fires_on_the_targets_projection() {
    let t = purchases();
    {
        let conn = t.db.connect().expect("connection");
        let catalog = omnikpi::server::kpi::Catalog::builtin();
        omnikpi::server::kpi::targets::set(
            &conn,
            catalog,
            "gross_revenue",
            "sales",
            "2026-03",
            10_000.0,
            "test",
        )
        .expect("target");
    }
    let id = add(&t, &rule("gross_revenue", "sales", "off_track", "", 0.0));
    assert_eq!(evaluate(&t, "2026-03-20"), 1);
    let fired = firings(&t);
    // 1 to 20 March: 999 + 100 + 50 = 1149, projected to 31 days: 1149 * 31 / 20 = 1780.95.
    assert_eq!(fired[0].0, id);
    assert!((fired[0].1 - 1780.95).abs() < 1e-9, "{}", fired[0].1);
    assert_eq!(fired[0].2, 10_000.0);
    assert_eq!(
        (fired[0].3.as_str(), fired[0].4.as_str()),
        ("2026-03-01", "2026-03-20")
    );
    // With a reachable target there is nothing to say.
    let t2 = purchases();
    {
        let conn = t2.db.connect().expect("connection");
        let catalog = omnikpi::server::kpi::Catalog::builtin();
        omnikpi::server::kpi::targets::set(
            &conn,
            catalog,
            "gross_revenue",
            "sales",
            "2026-03",
            1500.0,
            "test",
        )
        .expect("target");
    }
    add(&t2, &rule("gross_revenue", "sales", "off_track", "", 0.0));
    assert_eq!(evaluate(&t2, "2026-03-20"), 0);
}

#[test]
fn an_alert_fires_once_until_its_condition_clears() {
    let t = purchases();
    add(
        &t,
        &rule("gross_revenue", "sales", "threshold", "above", 120.0),
    );
    // True on 20 March (150), true again, false on 30 March (nothing in 24-30 March), true.
    assert_eq!(evaluate(&t, "2026-03-20"), 1);
    assert_eq!(evaluate(&t, "2026-03-20"), 0);
    assert_eq!(evaluate(&t, "2026-03-30"), 0);
    assert_eq!(evaluate(&t, "2026-03-20"), 1);
    assert_eq!(firings(&t).len(), 2);
}

#[test]
fn a_load_that_crosses_a_threshold_fires_an_alert() {
    let t = TestDb::new();
    add(
        &t,
        &rule("gross_revenue", "sales", "threshold", "above", 100.0),
    );
    let today = {
        let conn = t.db.connect().expect("connection");
        omnikpi::server::view::today(&conn).expect("today")
    };
    let at = format!("{today}T12:00:00+01:00");
    t.load_events(&[ev("t1", &at, "purchase").amount("60.00")]);
    assert!(firings(&t).is_empty(), "60 is not above 100");
    t.load_events(&[ev("t2", &at, "purchase").amount("70.00")]);
    let fired = firings(&t);
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].1, 130.0);
    assert_eq!(fired[0].4, today.to_string());
}

#[test]
fn bad_rules_are_refused_with_a_reason() {
    let t = purchases();
    let conn = t.db.connect().expect("connection");
    let refused = |new: NewRule| {
        alerts::create(&conn, &new, "x")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    assert!(refused(rule("nope", "sales", "threshold", "above", 1.0)).contains("unknown KPI"));
    assert!(
        refused(rule("orders", "mars", "threshold", "above", 1.0)).contains("unknown department")
    );
    assert!(refused(rule("orders", "sales", "often", "above", 1.0)).contains("kind"));
    assert!(refused(rule("orders", "sales", "change", "above", -5.0)).contains("threshold"));
    let mut bad_filter = rule("orders", "sales", "threshold", "above", 1.0);
    bad_filter.filters = "channel=fax".into();
    assert!(refused(bad_filter).contains("fax"));
}

fn audit_actions(t: &TestDb) -> Vec<String> {
    let conn = t.db.connect().expect("connection");
    let mut stmt = conn
        .prepare("SELECT action FROM audit_log WHERE action LIKE 'alert_rule.%' ORDER BY audit_id")
        .expect("query");
    stmt.query_map([], |r| r.get(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("actions")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bell_the_page_and_the_forms() {
    let t = purchases();
    web::add_user(&t.db, "admin@test.it", Role::Admin, None);
    web::add_user(&t.db, "mlead@test.it", Role::Lead, Some("marketing"));
    web::add_user(&t.db, "cx@test.it", Role::CxOfficer, None);
    add(
        &t,
        &rule("gross_revenue", "sales", "threshold", "above", 120.0),
    );
    add(
        &t,
        &rule("gross_revenue", "marketing", "threshold", "above", 100.0),
    );
    assert_eq!(evaluate(&t, "2026-03-20"), 2);

    // A lead sees every department's view (read-only), so both alerts count.
    let mut lead = web::signed_in(&t.db, "mlead@test.it").await;
    let page = lead.get("/alerts?lang=en").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("data-unread=\"2\""), "{}", page.body);
    assert!(page.body.contains("class=\"bell-count\""), "the bell");
    assert!(page.body.contains("Gross revenue"), "{}", page.body);
    // The CX officer sees customer service only: nothing here.
    let mut cx = web::signed_in(&t.db, "cx@test.it").await;
    let cx_page = cx.get("/alerts?lang=en").await;
    assert!(
        cx_page.body.contains("data-unread=\"0\""),
        "{}",
        cx_page.body
    );

    // Mark one read.
    let id = {
        let conn = t.db.connect().expect("connection");
        conn.query_row("SELECT min(id) FROM alerts", [], |r| r.get::<_, i64>(0))
            .expect("an alert")
    };
    let csrf = web::csrf_in(&page.body).expect("csrf");
    let id_text = id.to_string();
    let reply = lead
        .post_form(
            "/alerts/read",
            &[("csrf", &csrf), ("alert", &id_text), ("lang", "en")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), "/alerts?lang=en&ok=read");
    let page = lead.get("/alerts?lang=en").await;
    assert!(page.body.contains("data-unread=\"1\""), "{}", page.body);
    // Without the token nothing changes.
    let reply = lead
        .post_form("/alerts/read", &[("alert", "all"), ("lang", "en")])
        .await;
    assert!(reply.location().contains("error="), "{}", reply.location());

    // Rules: the marketing lead manages marketing's rules, not sales'.
    let csrf = web::csrf_in(&page.body).expect("csrf");
    let reply = lead
        .post_form(
            "/alerts/rules/save",
            &[
                ("csrf", &csrf),
                ("lang", "en"),
                ("department", "marketing"),
                ("kpi", "ad_spend"),
                ("kind", "threshold"),
                ("op", "above"),
                ("threshold", "1,500.5"),
                ("window", "last_30_days"),
                ("filters", ""),
            ],
        )
        .await;
    assert_eq!(reply.location(), "/alerts?lang=en&ok=saved");
    let stored: (String, f64, String) = {
        let conn = t.db.connect().expect("connection");
        conn.query_row(
            "SELECT kpi, threshold, time_window FROM alert_rules ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("rule")
    };
    assert_eq!(stored, ("ad_spend".into(), 1500.5, "last_30_days".into()));
    let reply = lead
        .post_form(
            "/alerts/rules/save",
            &[
                ("csrf", &csrf),
                ("lang", "en"),
                ("department", "sales"),
                ("kpi", "orders"),
                ("kind", "threshold"),
                ("op", "above"),
                ("threshold", "1"),
                ("window", "last_7_days"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let sales_rule = "1";
    let reply = lead
        .post_form(
            "/alerts/rules/delete",
            &[("csrf", &csrf), ("lang", "en"), ("id", sales_rule)],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let marketing_rule = "2";
    let reply = lead
        .post_form(
            "/alerts/rules/delete",
            &[("csrf", &csrf), ("lang", "en"), ("id", marketing_rule)],
        )
        .await;
    assert_eq!(reply.location(), "/alerts?lang=en&ok=deleted");
    // The firing of a deleted rule stays in the history.
    assert_eq!(firings(&t).len(), 2);
    assert_eq!(
        audit_actions(&t),
        vec![
            "alert_rule.create",
            "alert_rule.create",
            "alert_rule.create",
            "alert_rule.delete"
        ]
    );
}
