//! The real router against a real temporary DuckDB: health, the JSON API and the
//! server-rendered company page.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use leptos::config::LeptosOptions;
use tower::ServiceExt;

use common::{FIXTURE, TestDb};
use omnikpi::server::config::{Config, Overrides};
use omnikpi::server::routes;
use omnikpi::server::state::AppState;

fn app(t: &TestDb) -> axum::Router {
    let config = Config::load(Overrides::default(), |_| None).expect("config");
    let leptos_options = LeptosOptions::builder()
        .output_name("omnikpi")
        .site_root("target/site")
        .build();
    routes::router(AppState {
        db: t.db.clone(),
        config: Arc::new(config),
        leptos_options,
    })
}

fn loaded() -> TestDb {
    let t = TestDb::new();
    let file = t.file("fixture.csv", FIXTURE);
    t.load("pos", &file).expect("fixture loads");
    t
}

async fn get(app: axum::Router, uri: &str) -> (StatusCode, String) {
    let response = app
        .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
        .await
        .expect("response");
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn healthz_answers_when_the_database_does() {
    let t = TestDb::new();
    let (status, body) = get(app(&t), "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "ok\n");
}

#[tokio::test]
async fn api_kpis_returns_the_contract_shape() {
    let t = loaded();
    let (status, body) = get(app(&t), "/api/v1/kpis?from=2026-03-01&to=2026-03-31").await;
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

#[tokio::test]
async fn api_errors_are_json_with_the_right_status() {
    let t = TestDb::new();
    let (status, body) = get(app(&t), "/api/v1/kpis?from=2026-13-01&to=2026-12-31").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert!(
        json["error"].as_str().unwrap_or_default().contains("from"),
        "{body}"
    );
    let (status, body) = get(
        app(&t),
        "/api/v1/kpis?from=2026-01-01&to=2026-01-31&kpi=nope",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn the_company_page_renders_the_kpis_on_the_server() {
    let t = loaded();
    let (status, html) = get(app(&t), "/?from=2026-03-01&to=2026-03-31").await;
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

#[tokio::test]
async fn the_company_page_speaks_italian() {
    let t = loaded();
    let (status, html) = get(app(&t), "/?from=2026-03-01&to=2026-03-31&lang=it").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("215,00 €"), "Italian money format");
    assert!(html.contains("Scontrino medio"));
    assert!(html.contains("lang=\"it\""));
}

#[tokio::test]
async fn a_bad_period_shows_a_message_not_a_crash() {
    let t = TestDb::new();
    let (status, html) = get(app(&t), "/?from=2026-02-01&to=2026-01-01").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("role=\"alert\""), "{html}");
    assert!(html.contains("starts (2026-02-01) after it ends"), "{html}");
}

#[tokio::test]
async fn unknown_pages_are_404() {
    let t = TestDb::new();
    let (status, _) = get(app(&t), "/no-such-page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn responses_carry_security_headers() {
    let t = TestDb::new();
    let response = app(&t)
        .oneshot(
            Request::get("/healthz")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(response.headers()["x-frame-options"], "DENY");
}
