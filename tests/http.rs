//! The real router against a real temporary DuckDB: health, the JSON API and the
//! server-rendered company page.

mod common;
#[path = "common/web.rs"]
mod web;

use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::StatusCode;

use common::TestDb;
use omnikpi::server::tokens;
use web::Browser;

/// The app as an admin's API token sees it (the authorisation tests are in tests/auth.rs).
fn app(t: &TestDb) -> Browser {
    static N: AtomicUsize = AtomicUsize::new(0);
    let name = format!("tests-{}", N.fetch_add(1, Ordering::Relaxed));
    let conn = t.db.connect().expect("connection");
    if !omnikpi::server::auth::users::admin_exists(&conn).expect("admin check") {
        web::add_user(&t.db, "admin@test.it", omnikpi::auth::Role::Admin, None);
    }
    let token = tokens::create(&conn, &name, "admin", None).expect("token");
    let mut browser = Browser::new(web::router(&t.db));
    browser.bearer = Some(token);
    browser
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_when_the_database_does() {
    let t = TestDb::new();
    let (status, body) = app(&t).get("/healthz").await.into_parts();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "ok\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_kpis_returns_the_contract_shape() {
    let t = TestDb::with_fixture();
    let (status, body) = app(&t)
        .get("/api/v1/kpis?from=2026-03-01&to=2026-03-31")
        .await
        .into_parts();
    assert_eq!(status, StatusCode::OK, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json["from"], "2026-03-01");
    let gross = json["kpis"]
        .as_array()
        .and_then(|k| k.iter().find(|k| k["key"] == "gross_revenue"))
        .expect("gross revenue");
    assert_eq!(gross["value"], 215.0);
    assert_eq!(gross["unit"], "money");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_errors_are_json_with_the_right_status() {
    let t = TestDb::new();
    let (status, body) = app(&t)
        .get("/api/v1/kpis?from=2026-13-01&to=2026-12-31")
        .await
        .into_parts();
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert!(
        json["error"].as_str().unwrap_or_default().contains("from"),
        "{body}"
    );
    let (status, body) = app(&t)
        .get("/api/v1/kpis?from=2026-01-01&to=2026-01-31&kpi=nope")
        .await
        .into_parts();
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_company_page_renders_the_kpis_on_the_server() {
    let t = TestDb::with_fixture();
    let (status, html) = app(&t)
        .get("/?from=2026-03-01&to=2026-03-31")
        .await
        .into_parts();
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("data-kpi=\"gross_revenue\""), "{html}");
    assert!(html.contains("€215.00"), "gross revenue tile");
    assert!(html.contains("€43.00"), "AOV tile");
    assert!(html.contains("<svg"), "the chart is inline SVG");
    assert!(
        html.contains("value=\"2026-03-01\""),
        "the form keeps the period"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_company_page_speaks_italian() {
    let t = TestDb::with_fixture();
    let (status, html) = app(&t)
        .get("/?from=2026-03-01&to=2026-03-31&lang=it")
        .await
        .into_parts();
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("215,00 €"), "Italian money format");
    assert!(html.contains("Scontrino medio"));
    assert!(html.contains("lang=\"it\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_period_shows_a_message_not_a_crash() {
    let t = TestDb::new();
    let (status, html) = app(&t)
        .get("/?from=2026-02-01&to=2026-01-01")
        .await
        .into_parts();
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("role=\"alert\""), "{html}");
    assert!(html.contains("starts (2026-02-01) after it ends"), "{html}");
    // The form stays, with the dates as given, so the user can correct them without JS.
    assert!(html.contains("value=\"2026-02-01\""), "{html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_pages_are_404() {
    let t = TestDb::new();
    let (status, _) = app(&t).get("/no-such-page").await.into_parts();
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_carry_security_headers() {
    let t = TestDb::new();
    let response = app(&t).get("/healthz").await;
    assert_eq!(response.headers["x-content-type-options"], "nosniff");
    assert_eq!(response.headers["x-frame-options"], "DENY");
    let page = app(&t).get("/?from=2026-03-01&to=2026-03-31").await;
    let csp = page.headers["content-security-policy"]
        .to_str()
        .unwrap_or_default();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("object-src 'none'"), "{csp}");
    assert!(
        !csp.contains("unsafe-inline' 'wasm") && !csp.contains("script-src 'self' 'unsafe-inline'"),
        "{csp}"
    );
    // The page's inline scripts carry the nonce the policy names.
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a script nonce");
    assert!(
        page.body.contains(&format!("nonce=\"{nonce}\"")),
        "{}",
        page.body
    );
    assert_eq!(page.headers["referrer-policy"], "same-origin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_filters_narrow_and_unknown_parameters_are_refused() {
    let t = TestDb::with_fixture();
    let base = "/api/v1/kpis?from=2026-03-01&to=2026-03-31&kpi=gross_revenue";
    let (status, body) = app(&t)
        .get(&format!("{base}&channel=web"))
        .await
        .into_parts();
    assert_eq!(status, StatusCode::OK, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json["kpis"][0]["value"], 40.0);
    assert_eq!(json["filters"]["channel"], "web");
    let (status, body) = app(&t)
        .get(&format!("{base}&chanel=web"))
        .await
        .into_parts();
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("unknown filter \\\"chanel\\\""), "{body}");
    let (status, body) = app(&t)
        .get(&format!("{base}&channel=fax"))
        .await
        .into_parts();
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("no data has the value \\\"fax\\\""), "{body}");
    let (status, body) = app(&t)
        .get(&format!("{base}&channel=web%27%20OR%20%271%27%3D%271"))
        .await
        .into_parts();
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_compares_with_last_year() {
    let t = TestDb::with_fixture();
    let (status, body) = app(&t)
        .get("/api/v1/kpis?from=2026-03-01&to=2026-03-31&compare=last_year")
        .await
        .into_parts();
    assert_eq!(status, StatusCode::OK, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json["compare"], "last_year");
    assert_eq!(json["compare_from"], "2025-03-01");
    assert_eq!(json["compare_to"], "2025-03-31");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_series_by_month() {
    let t = TestDb::with_fixture();
    let (status, body) = app(&t)
        .get("/api/v1/kpis/gross_revenue/series?from=2026-02-15&to=2026-04-30&grain=month")
        .await
        .into_parts();
    assert_eq!(status, StatusCode::OK, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    let points = json["points"].as_array().expect("points");
    assert_eq!(points.len(), 3);
    // February is clipped to the 15th..28th; e6 (1 March, Rome) is March.
    assert_eq!(points[0]["from"], "2026-02-15");
    assert_eq!(points[0]["value"], 0.0);
    assert_eq!(points[1]["value"], 215.0);
    assert_eq!(points[2]["value"], 999.0);
    let (status, _) = app(&t)
        .get("/api/v1/kpis/nope/series?grain=month")
        .await
        .into_parts();
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app(&t)
        .get("/api/v1/kpis/aov/series?grain=fortnight")
        .await
        .into_parts();
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_breakdown_by_channel() {
    let t = TestDb::with_fixture();
    let (status, body) = app(&t).get("/api/v1/kpis/gross_revenue/breakdown?from=2026-03-01&to=2026-03-31&dimension=channel&top=5",
    )
    .await.into_parts();
    assert_eq!(status, StatusCode::OK, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json["parts"][0]["value"], "store");
    assert_eq!(json["parts"][0]["kpi"], 175.0);
    let (status, _) = app(&t)
        .get("/api/v1/kpis/gross_revenue/breakdown?dimension=colour")
        .await
        .into_parts();
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app(&t)
        .get("/api/v1/kpis/gross_revenue/breakdown?dimension=store&top=0")
        .await
        .into_parts();
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_report_projection_and_status() {
    use omnikpi::server::kpi::{Catalog, targets};
    let t = TestDb::with_fixture();
    {
        let conn = t.db.connect().expect("connection");
        targets::set(
            &conn,
            Catalog::builtin(),
            "gross_revenue",
            "sales",
            "2026-03",
            400.0,
            "test",
        )
        .expect("set");
        let err = targets::set(
            &conn,
            Catalog::builtin(),
            "gross_revenue",
            "finance",
            "2026-03",
            1.0,
            "t",
        )
        .expect_err("unknown department");
        assert!(err.to_string().contains("finance"));
    }
    let (status, body) = app(&t)
        .get("/api/v1/targets?department=sales&as_of=2026-03-15")
        .await
        .into_parts();
    assert_eq!(status, StatusCode::OK, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    let row = &json[0];
    // 1..15 March: e1 100 + e2 50 + e3 30 + e6 10 = 190 in 15 of 31 days.
    assert_eq!(row["actual"], 190.0);
    let projection = row["projection"].as_f64().expect("projection");
    assert!(
        (projection - 190.0 * 31.0 / 15.0).abs() < 1e-9,
        "{projection}"
    );
    // 392.67 misses 400 by less than 5 %.
    assert_eq!(row["status"], "at_risk");
    let (_, body) = app(&t)
        .get("/api/v1/targets?department=sales&as_of=2026-03-31")
        .await
        .into_parts();
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    // The whole month: 215, off track against 400.
    assert_eq!(json[0]["actual"], 215.0);
    assert_eq!(json[0]["status"], "off_track");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn benchmarks_carry_their_source() {
    let t = TestDb::new();
    let (status, body) = app(&t)
        .get("/api/v1/benchmarks?kpi=multichannel_frequency_uplift")
        .await
        .into_parts();
    assert_eq!(status, StatusCode::OK, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json[0]["value"], 2.5);
    assert_eq!(json[0]["source"], "Medallia");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_every_api_route_and_each_one_answers() {
    let t = TestDb::with_fixture();
    let (status, body) = app(&t).get("/api/v1/openapi.json").await.into_parts();
    assert_eq!(status, StatusCode::OK);
    let doc: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert!(
        doc["openapi"]
            .as_str()
            .unwrap_or_default()
            .starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let paths: Vec<String> = doc["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .cloned()
        .collect();
    // The router is built from the documented handlers (utoipa-axum), so this list is the API.
    assert_eq!(
        paths,
        [
            "/benchmarks",
            "/events",
            "/journeys",
            "/kpi-tree",
            "/kpis",
            "/kpis/{key}/breakdown",
            "/kpis/{key}/series",
            "/pain-points",
            "/targets",
            "/what-changed"
        ]
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    // POST /events answers (401 without a token; the events tests cover the rest).
    let (status, _) = post_events(app(&t), "/api/v1/events", None, "{}\n").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for path in paths.iter().filter(|p| *p != "/events") {
        let uri = format!(
            "/api/v1{}?from=2026-03-01&to=2026-03-31&dimension=channel",
            path.replace("{key}", "gross_revenue")
        );
        let uri = if path.starts_with("/kpis") || path == "/kpi-tree" {
            uri
        } else if path == "/what-changed" {
            format!("{uri}&kpi=gross_revenue")
        } else {
            format!("/api/v1{path}")
        };
        let (status, body) = app(&t).get(&uri).await.into_parts();
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
    }
}

async fn post_events(
    app: Browser,
    uri: &str,
    token: Option<&str>,
    body: &str,
) -> (StatusCode, String) {
    web::post_ndjson(app.app, uri, token, body.to_string()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_pushed_with_a_token_count_at_once() {
    let t = TestDb::with_fixture();
    let token = {
        let conn = t.db.connect().expect("connection");
        tokens::create(&conn, "webshop", tokens::INGEST, None).expect("token")
    };
    let batch = concat!(
        r#"{"event_id": "rt1", "occurred_at": "2026-03-20T10:00:00Z", "event_type": "purchase", "channel": "web", "amount": 100, "email": "rt@x.it"}"#,
        "\n",
        r#"{"event_id": "rt2", "occurred_at": "2026-03-20T10:05:00Z", "event_type": "visit", "channel": "web"}"#,
        "\n"
    );
    let (status, body) = post_events(app(&t), "/api/v1/events", None, batch).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, _) = post_events(app(&t), "/api/v1/events", Some("okpi_nope"), batch).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, body) = post_events(app(&t), "/api/v1/events", Some(&token), batch).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        (json["loaded"].as_u64(), json["source"].as_str()),
        (Some(2), Some("webshop"))
    );
    // The March revenue moves from 215 to 315 in the very next request.
    let (_, body) = app(&t)
        .get("/api/v1/kpis?from=2026-03-01&to=2026-03-31&kpi=gross_revenue")
        .await
        .into_parts();
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json["kpis"][0]["value"], 315.0);
    // Sending the same batch again adds nothing.
    let (status, body) = post_events(app(&t), "/api/v1/events", Some(&token), batch).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        (json["loaded"].as_u64(), json["duplicate"].as_u64()),
        (Some(0), Some(2))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_with_a_bad_event_loads_nothing_and_names_the_line() {
    let t = TestDb::new();
    let token = {
        let conn = t.db.connect().expect("connection");
        tokens::create(&conn, "app", tokens::INGEST, None).expect("token")
    };
    let batch = concat!(
        r#"{"event_id": "a1", "occurred_at": "2026-03-20T10:00:00Z", "event_type": "visit"}"#,
        "\n",
        r#"{"event_id": "a2", "occurred_at": "yesterday", "event_type": "visit"}"#,
        "\n"
    );
    let (status, body) =
        post_events(app(&t), "/api/v1/events?source=app", Some(&token), batch).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json["rejects"][0]["line"], 2);
    assert_eq!(json["rejects"][0]["column"], "occurred_at");
    assert_eq!(t.count("SELECT count(*) FROM events"), 0);
    let (status, _) = post_events(app(&t), "/api/v1/events", Some(&token), "not json\n").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let too_many = "{}\n".repeat(10_001);
    let (status, _) = post_events(app(&t), "/api/v1/events", Some(&token), &too_many).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_period_that_has_not_started_has_no_status() {
    use omnikpi::server::kpi::{Catalog, targets};
    let t = TestDb::with_fixture();
    {
        let conn = t.db.connect().expect("connection");
        targets::set(
            &conn,
            Catalog::builtin(),
            "gross_revenue",
            "sales",
            "2026-Q2",
            1000.0,
            "t",
        )
        .expect("set");
    }
    let (status, body) = app(&t)
        .get("/api/v1/targets?as_of=2026-03-15")
        .await
        .into_parts();
    assert_eq!(status, StatusCode::OK, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json[0]["status"], serde_json::Value::Null);
    assert_eq!(json[0]["projection"], serde_json::Value::Null);
}
