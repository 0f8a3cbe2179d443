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

/// `GET /api/v1/kpis` through a browser (session or token), twice: the second answer comes
/// from the cache and must be the first.
async fn api_twice(browser: &mut web::Browser, query: &str) -> serde_json::Value {
    let uri = format!("/api/v1/kpis?{query}");
    let first = browser.get(&uri).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let second = browser.get(&uri).await;
    assert_eq!(
        first.body, second.body,
        "the cached answer is the computed one"
    );
    serde_json::from_str(&first.body).expect("json")
}

/// After each kind of write, through the server (forms, the events and targets API) or in
/// the same process (loads, identity rules, rebuilds), the API answers what the engine
/// computes on the spot, never an answer cached before the write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_cached_answer_outlives_a_write() {
    let t = TestDb::new();
    let specs: Vec<(usize, usize, u64, Option<u8>, u32)> = (0..24)
        .map(|i| {
            (
                i % 3,
                i % 2,
                (i as u64 * 3) % 60,
                Some((i % 6) as u8),
                1_000 + i as u32 * 37,
            )
        })
        .collect();
    t.load_events(&events(&specs, "a"));
    web::add_user(&t.db, "admin@test.it", omnikpi::auth::Role::Admin, None);
    let mut admin = web::Browser::new(web::router(&t.db));
    admin.sign_in("admin@test.it", web::PASSWORD).await;
    let csrf = admin.csrf().await;
    let mut machine = web::Browser::new(web::router(&t.db));
    machine.bearer = Some(web::admin_token(&t.db));
    let (from, to) = ("2026-01-15", "2026-02-28");
    let query = format!("from={from}&to={to}&kpi={KEYS}");
    let check = |what: &'static str, answer: serde_json::Value| {
        let expected = raw(&t, from, to, &[]);
        assert_eq!(answer, expected, "after {what}");
        answer
    };

    let mut before = check("the first load", api_twice(&mut admin, &query).await);
    let mut changed = |what: &'static str, after: serde_json::Value, moves: bool| {
        if moves {
            assert_ne!(
                after, before,
                "{what} changes the answer (else the test proves nothing)"
            );
        }
        before = after;
    };

    // The events API (a session's cached answer, a token's write).
    let body = "{\"event_id\":\"api1\",\"occurred_at\":\"2026-02-01T10:00:00Z\",\"event_type\":\"purchase\",\"channel\":\"web\",\"amount\":\"99.00\",\"order_id\":\"OAPI\",\"email\":\"c1@x.it\"}\n";
    let sent = machine
        .send(
            Request::post("/api/v1/events?source=shop")
                .header("content-type", "application/x-ndjson"),
            Body::from(body),
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    let after = check("the events API", api_twice(&mut admin, &query).await);
    changed("the events API", after, true);

    // A load from a file, in the same process (the write lock).
    t.load_events(&[ev("f1", "2026-02-02T10:00:00Z", "purchase")
        .channel("store")
        .amount("10.00")
        .order("OF1")]);
    let after = check("a load", api_twice(&mut admin, &query).await);
    changed("a load", after, true);

    // Settings: the time zone moves events across days, so across the period's edge.
    t.load_events(&[ev("edge", "2026-02-28T23:30:00Z", "purchase")
        .channel("web")
        .amount("500.00")
        .order("OEDGE")]);
    // 00:30 on 1 March in Rome: outside the period until the time zone changes.
    let after = check("a load at the edge", api_twice(&mut admin, &query).await);
    changed("a load at the edge", after, false);
    let saved = admin
        .post_form(
            "/admin/settings/save",
            &[
                ("csrf", &csrf),
                ("key", "time_zone"),
                ("value", "America/New_York"),
            ],
        )
        .await;
    assert_eq!(saved.location(), "/admin/settings?ok=saved");
    let after = check("a time zone change", api_twice(&mut admin, &query).await);
    changed("a time zone change", after, true);

    // A target (through the API, as a session).
    let target = serde_json::json!({
        "kpi": "gross_revenue", "department": "sales", "period": "2026-Q1", "value": 1000.0
    })
    .to_string();
    let set = admin
        .send(
            Request::post("/api/v1/targets")
                .header("content-type", "application/json")
                .header("origin", web::ORIGIN),
            Body::from(target),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    let after = check("a target", api_twice(&mut admin, &query).await);
    changed("a target", after, false);

    // Identity: rules applied (an e-mail blocked splits customers), a rebuild, journeys.
    let text = omnikpi::server::identity::rules::DEFAULT_RULES;
    let start = text.find("[types.email]").expect("e-mail section");
    let line = start + text[start..].find("block = ").expect("block list");
    let end = line + text[line..].find('\n').expect("end of line");
    let blocked = format!("{}block = [\"c1@*\"]{}", &text[..line], &text[end..]);
    omnikpi::server::identity::simulate::apply(&t.db, &blocked, "tester", None).expect("rules");
    let after = check("identity rules", api_twice(&mut admin, &query).await);
    changed("identity rules", after, true);
    omnikpi::server::identity::rebuild(&t.db).expect("identity rebuild");
    check("an identity rebuild", api_twice(&mut admin, &query).await);
    omnikpi::server::journey::rebuild(&t.db).expect("journey rebuild");
    check("a journey rebuild", api_twice(&mut admin, &query).await);

    // A customer erased (the form): their events leave the totals.
    let customer: i64 =
        t.db.connect()
            .expect("connection")
            .query_row(
                "SELECT customer_id FROM events WHERE event_id = 'a0' AND customer_id IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .expect("a customer");
    let id = customer.to_string();
    let erased = admin
        .post_form(
            "/customer/erase",
            &[("csrf", &csrf), ("customer_id", &id), ("confirm", &id)],
        )
        .await;
    assert!(
        erased.location().contains("ok=erased"),
        "{}",
        erased.location()
    );
    let after = check("an erasure", api_twice(&mut admin, &query).await);
    changed("an erasure", after, true);
}

/// Server functions are exempt from the invalidation after non-GET requests (open pages
/// poll `data_version` every few seconds): each must only read. A new one fails this test
/// until it is checked to be a read and added here, or made to invalidate.
#[test]
fn server_functions_only_read() {
    let mut found: Vec<&str> = omnikpi::server::auth::policy::RULES
        .iter()
        .filter(|r| r.kind == omnikpi::server::auth::policy::Kind::ServerFn)
        .map(|r| r.pattern)
        .collect();
    found.sort_unstable();
    let mut reads = vec![
        "/api/visitor",
        "/api/company_view",
        "/api/kpi_detail",
        "/api/department_view",
        "/api/kpi_tree",
        "/api/what_changed",
        "/api/data_version",
        "/api/journeys_page",
        "/api/pain_page",
        "/api/journey_page",
        "/api/customer_page",
        "/api/funnel_page",
        "/api/compare_page",
        "/api/alerts_page",
        "/api/admin_sources",
        "/api/admin_users",
        "/api/admin_tokens",
        "/api/admin_departments",
        "/api/admin_kpis",
        "/api/admin_settings",
        "/api/admin_audit",
        "/api/admin_identity",
        "/api/admin_kiosk",
        // Reads the view; it stamps the link's last use, as a request with an API token
        // stamps the token's, which changes no data a dashboard shows.
        "/api/kiosk_view",
    ];
    reads.sort_unstable();
    assert_eq!(found, reads);
    assert!(!omnikpi::server::routes::may_write(
        "POST",
        "/api/data_version"
    ));
    assert!(omnikpi::server::routes::may_write("POST", "/api/v1/events"));
    assert!(omnikpi::server::routes::may_write(
        "POST",
        "/admin/settings/save"
    ));
    assert!(!omnikpi::server::routes::may_write("GET", "/api/v1/kpis"));
}

/// The page cache's counters from `/metrics`: answers of a kept page, and renders.
async fn page_counts(browser: &mut web::Browser) -> (u64, u64) {
    let metrics = browser.get("/metrics").await;
    assert_eq!(metrics.status, StatusCode::OK, "{}", metrics.body);
    let count = |from: &str| {
        let line = format!("omnikpi_page_cache_answers_total{{from=\"{from}\"}} ");
        metrics
            .body
            .lines()
            .find_map(|l| l.strip_prefix(line.as_str()))
            .unwrap_or_else(|| panic!("no {line} in {}", metrics.body))
            .parse::<u64>()
            .expect("a count")
    };
    (count("kept"), count("rendered"))
}

/// The nonce the page's Content-Security-Policy allows its inline scripts.
fn nonce_of(reply: &web::Reply) -> String {
    let csp = reply.header(axum::http::header::CONTENT_SECURITY_POLICY);
    let at = csp.find("'nonce-").expect("a nonce in the policy") + 7;
    csp[at..at + csp[at..].find('\'').expect("quoted")].to_string()
}

/// Rendered view pages (`server::page_cache`): a signed-in view page is rendered once and
/// answered again with a new script nonce in its place; another session (of the same user)
/// gets its own render with its own anti-forgery token; a write renders it anew with the new
/// numbers; admin pages, whose flash shows a new secret once, are never kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_page_is_answered_to_its_session_only_and_never_after_a_write() {
    let t = TestDb::new();
    let specs: Vec<(usize, usize, u64, Option<u8>, u32)> = (0..12)
        .map(|i| {
            (
                i % 3,
                0,
                (i as u64 * 5) % 60,
                Some((i % 4) as u8),
                2_000 + i as u32,
            )
        })
        .collect();
    t.load_events(&events(&specs, "a"));
    web::add_user(&t.db, "admin@test.it", omnikpi::auth::Role::Admin, None);
    // One server (one page cache) for every browser.
    let app = web::router(&t.db);
    let mut first = web::Browser::new(app.clone());
    first.sign_in("admin@test.it", web::PASSWORD).await;
    let mut second = web::Browser::new(app.clone());
    second.sign_in("admin@test.it", web::PASSWORD).await;
    let uri = "/?lang=en&from=2026-01-01&to=2026-03-31";
    let revenue = |html: &str| {
        web::text_of(
            web::after(html, "data-kpi=\"gross_revenue\""),
            "class=\"kpi-value\"",
        )
        .to_string()
    };

    let (kept0, rendered0) = page_counts(&mut first).await;
    let one = first.get(uri).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.body);
    let two = first.get(uri).await;
    assert_eq!(two.status, StatusCode::OK);
    let (n1, n2) = (nonce_of(&one), nonce_of(&two));
    assert_ne!(n1, n2, "each answer has a nonce of its own");
    assert!(
        two.body.contains(&format!("nonce=\"{n2}\"")),
        "the new nonce is in the page"
    );
    assert!(
        !two.body.contains(&n1),
        "nothing of the render's nonce is left"
    );
    assert_eq!(two.body, one.body.replace(&n1, &n2), "the same page");
    assert_eq!(
        page_counts(&mut first).await,
        (kept0 + 1, rendered0 + 1),
        "rendered once, answered twice"
    );

    let theirs = second.page(uri).await;
    let (mine, their_token) = (web::csrf_in(&one.body), web::csrf_in(&theirs));
    assert!(
        mine.is_some() && their_token.is_some(),
        "the page has a form"
    );
    assert_ne!(
        mine, their_token,
        "another session's page has its own token"
    );
    assert_eq!(page_counts(&mut first).await, (kept0 + 1, rendered0 + 2));

    // The events API writes: the next answer is a new render, with the new purchase.
    let body = "{\"event_id\":\"p1\",\"occurred_at\":\"2026-02-01T10:00:00Z\",\"event_type\":\"purchase\",\"channel\":\"web\",\"amount\":\"99.00\",\"order_id\":\"OP1\",\"email\":\"c1@x.it\"}\n";
    let token = web::admin_token(&t.db);
    let (status, answer) = web::post_ndjson(
        app.clone(),
        "/api/v1/events?source=shop",
        Some(&token),
        body.into(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let three = first.page(uri).await;
    assert_ne!(
        revenue(&three),
        revenue(&one.body),
        "the write's purchase is counted"
    );
    assert_eq!(page_counts(&mut first).await, (kept0 + 1, rendered0 + 3));

    // Admin pages go through untouched.
    first.page("/admin/tokens?lang=en").await;
    first.page("/admin/tokens?lang=en").await;
    assert_eq!(page_counts(&mut first).await, (kept0 + 1, rendered0 + 3));
}
