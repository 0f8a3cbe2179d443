//! The results cache (Db::cached) against the raw engine: on generated events and random
//! filters, `GET /api/v1/kpis` answers exactly what `report::build` computes on the spot, on
//! the first request (computed), the second (from the cache) and after a load (recomputed, as
//! the load's write invalidated it).

mod common;
#[path = "common/web.rs"]
mod web;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{Ev, TestDb, ev};
use http_body_util::BodyExt;
use omnikpi::i18n::Locale;
use omnikpi::server::kpi::report::{self, Compare, ReportRequest};
use omnikpi::server::kpi::{Catalog, Filters, Period};
use proptest::prelude::*;
use tower::ServiceExt;

const CHANNELS: &[&str] = &["store", "web", "app"];
const TYPES: &[&str] = &["purchase", "return", "visit", "add_to_cart"];
const KEYS: &str =
    "gross_revenue,net_revenue,orders,aov,active_customers,omnichannel_share,churn_rate";

fn events(specs: &[(usize, usize, u64, Option<u8>, u32)], prefix: &str) -> Vec<Ev> {
    let start = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).expect("date");
    specs
        .iter()
        .enumerate()
        .map(|(i, (channel, event_type, day, customer, cents))| {
            let day = start + chrono::Days::new(*day);
            let mut e = ev(
                &format!("{prefix}{i}"),
                &format!("{day}T12:00:00Z"),
                TYPES[*event_type],
            )
            .channel(CHANNELS[*channel])
            .amount(&format!("{}.{:02}", cents / 100, cents % 100))
            .order(&format!("{prefix}O{i}"));
            if let Some(c) = customer {
                e = e.email(&format!("c{c}@x.it"));
            }
            e
        })
        .collect()
}

fn spec() -> impl Strategy<Value = (usize, usize, u64, Option<u8>, u32)> {
    (
        0..CHANNELS.len(),
        0..TYPES.len(),
        0u64..90,
        proptest::option::of(0u8..8),
        1u32..30_000,
    )
}

/// What the API answers for `query`, as JSON.
async fn api(app: &axum::Router, query: &str) -> serde_json::Value {
    let response = app
        .clone()
        .oneshot(
            Request::get(format!("/api/v1/kpis?{query}"))
                .header("host", web::HOST)
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    serde_json::from_slice(&bytes).expect("json")
}

/// The same report computed by the engine directly, as JSON.
fn raw(t: &TestDb, from: &str, to: &str, channels: &[&str]) -> serde_json::Value {
    let conn = t.db.connect().expect("connection");
    let filters = if channels.is_empty() {
        Filters::default()
    } else {
        Filters::parse([("channel", channels.join(",").as_str())]).expect("filters")
    };
    let request = ReportRequest {
        keys: KEYS.split(',').map(str::to_string).collect(),
        compare: Compare::Previous,
        filters,
        locale: Locale::En,
    };
    let period = Period::parse(from, to).expect("period");
    let report = report::build(&conn, Catalog::builtin(), &period, &request).expect("report");
    serde_json::to_value(report).expect("json")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]

    #[test]
    fn cached_answers_are_the_raw_engine_answers(
        first in proptest::collection::vec(spec(), 1..40),
        more in proptest::collection::vec(spec(), 1..20),
        start in 0u64..60,
        days in 1u64..30,
        channels in proptest::sample::subsequence(CHANNELS.to_vec(), 0..=2),
    ) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let t = TestDb::new();
        t.load_events(&events(&first, "a"));
        let app = web::router_as_admin(&t.db);
        let day0 = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).expect("date");
        let from = (day0 + chrono::Days::new(start)).to_string();
        let to = (day0 + chrono::Days::new(start + days)).to_string();
        let mut query = format!("from={from}&to={to}&kpi={KEYS}");
        if !channels.is_empty() {
            query.push_str(&format!("&channel={}", channels.join(",")));
        }

        let computed = runtime.block_on(api(&app, &query));
        let expected = raw(&t, &from, &to, &channels);
        prop_assert_eq!(&computed, &expected);
        let cached = runtime.block_on(api(&app, &query));
        prop_assert_eq!(&cached, &expected);

        // A load is a write: the next answer is computed again, on the new events.
        t.load_events(&events(&more, "b"));
        let after = runtime.block_on(api(&app, &query));
        prop_assert_eq!(&after, &raw(&t, &from, &to, &channels));
    }
}
