//! What a request reads (issue #21: views read rollups, no request aggregates over the whole
//! `events` table). DuckDB's query log records every statement any connection runs; after a
//! write (an API batch, which empties the results cache), a request's statements are checked
//! for a read of `events`.
//!
//! Covered today: the company page (also filtered by channel, against last year), a KPI's
//! detail page and the company KPIs of the API, which every tile, chart, comparison and
//! sparkline serves from the rollups; the KPIs of the customer and order facts, and the
//! marketing, customer service and stores pages that they complete. The other department pages (windowed KPIs,
//! unique visitors), the journeys and pain pages, the KPI tree and segment filters still read
//! events (docs/rollups.md, section 6); the ignored survey at the end lists them. The same log
//! holds the write path of a batch to one read of the data's clock.

mod common;
#[path = "common/web.rs"]
mod web;

use common::TestDb;
use omnikpi::auth::Role;
use omnikpi::server::db::Db;
use omnikpi::server::kpi::Catalog;

/// The statements logged since the log was last cleared.
fn logged_statements(db: &Db) -> Vec<String> {
    let conn = db.connect().expect("connection");
    let mut stmt = conn
        .prepare("SELECT message FROM duckdb_logs WHERE type = 'QueryLog'")
        .expect("the query log");
    stmt.query_map([], |r| r.get(0))
        .expect("the query log")
        .collect::<Result<_, _>>()
        .expect("the query log")
}

/// The statements logged since the log was last cleared that read the `events` table.
fn reads_of_events(db: &Db) -> Vec<String> {
    logged_statements(db)
        .into_iter()
        .filter(|sql| reads_events(sql))
        .collect()
}

/// Whether `sql` names `events` as a table it reads (`FROM events`, `JOIN events`). A
/// statement whose only condition is `WHERE false` reads no row (DuckDB plans it as an empty
/// result): the KPI engine asks one for the aggregates' values on no events.
fn reads_events(sql: &str) -> bool {
    let trimmed = sql.trim_end().trim_end_matches(';').trim_end();
    if trimmed
        .to_ascii_lowercase()
        .ends_with("from events where false")
    {
        return false;
    }
    let words: Vec<String> = sql
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    words
        .windows(2)
        .any(|w| (w[0] == "from" || w[0] == "join") && w[1] == "events")
}

/// Fails, listing them, when a statement logged since [`start_log`] read `events`: `what`
/// (a page, the API) names the reader.
fn assert_no_reads_of_events(db: &Db, what: &str) {
    let reads = reads_of_events(db);
    assert!(
        reads.is_empty(),
        "{what} read events in {} statements:\n{}",
        reads.len(),
        reads.join("\n---\n")
    );
}

/// Renders each of `pages`, which must show `shown`, and fails when one read `events`.
async fn assert_pages_read_no_events(
    db: &Db,
    browser: &mut web::Browser,
    pages: &[&str],
    shown: &str,
) {
    for uri in pages {
        start_log(db);
        let page = browser.page(uri).await;
        assert!(page.contains(shown), "{uri}");
        assert_no_reads_of_events(db, uri);
    }
}

/// Starts a fresh query log.
fn start_log(db: &Db) {
    let conn = db.connect().expect("connection");
    conn.execute_batch("CALL truncate_duckdb_logs(); CALL enable_logging('QueryLog');")
        .expect("DuckDB's query log");
}

/// A batch of new events through the events API: a write that empties the results cache.
async fn write_a_batch(db: &Db, token: &str) {
    let body = (0..20)
        .map(|i| {
            serde_json::json!({
                "source": "web", "event_id": format!("scan-{i}"),
                "occurred_at": "2026-03-10T10:00:00Z", "event_type": "purchase",
                "channel": "web", "email": format!("scan{}@x.it", i % 4),
                "order_id": format!("SCAN{i}"), "amount": "12.50"
            })
            .to_string()
        })
        .collect::<Vec<_>>();
    post_events(db, token, &body).await;
}

/// Posts `lines` (NDJSON events of source web) through the events API and checks they were
/// taken.
async fn post_events(db: &Db, token: &str, lines: &[impl AsRef<str>]) {
    let body: Vec<&str> = lines.iter().map(AsRef::as_ref).collect();
    let (status, reply) = web::post_ndjson(
        web::router(db),
        "/api/v1/events?source=web",
        Some(token),
        format!("{}\n", body.join("\n")),
    )
    .await;
    assert!(status.is_success(), "{status}: {reply}");
}

#[test]
fn the_detector_sees_reads_of_events_and_nothing_else() {
    assert!(reads_events("SELECT count(*) FROM events WHERE x"));
    assert!(reads_events(
        "select 1 from rollup_daily r join EVENTS e on true"
    ));
    assert!(reads_events("WITH ev AS (SELECT * FROM events e) SELECT 1"));
    assert!(!reads_events("SELECT sum(amount) FROM rollup_daily"));
    assert!(!reads_events("SELECT * FROM events_rejected"));
    assert!(!reads_events("SELECT max(load_id) FROM loads -- events"));
    assert!(!reads_events(
        "SELECT sum(amount) AS a FROM events WHERE false"
    ));
    assert!(reads_events(
        "SELECT sum(amount) FROM events WHERE false OR true"
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_company_page_after_a_write_reads_no_raw_events() {
    let t = TestDb::with_fixture();
    let token = web::admin_token(&t.db);
    web::add_user(&t.db, "ceo@test.it", Role::Executive, None);
    let mut browser = web::signed_in(&t.db, "ceo@test.it").await;
    write_a_batch(&t.db, &token).await;
    // The log itself works: a statement over events is seen.
    start_log(&t.db);
    t.count("SELECT count(*) FROM events");
    assert_eq!(
        reads_of_events(&t.db).len(),
        1,
        "the query log is not recording"
    );

    let pages = [
        "/?lang=en&from=2026-01-01&to=2026-06-30",
        "/?lang=en&from=2026-01-01&to=2026-06-30&channel=web&compare=last_year",
        "/kpi/gross_revenue?lang=en&from=2026-01-01&to=2026-06-30",
    ];
    assert_pages_read_no_events(&t.db, &mut browser, &pages, "Gross revenue").await;

    start_log(&t.db);
    let keys: Vec<&str> = Catalog::builtin()
        .view("company")
        .iter()
        .map(|d| d.key.as_str())
        .collect();
    assert!(keys.len() >= 10, "{keys:?}");
    let reply = browser
        .get(&format!(
            "/api/v1/kpis?from=2026-01-01&to=2026-06-30&kpi={}",
            keys.join(",")
        ))
        .await;
    assert_eq!(reply.status, axum::http::StatusCode::OK, "{}", reply.body);
    assert_no_reads_of_events(&t.db, "the company KPIs");
}

/// The KPIs that judge a purchase by the 7 days before it (ROAS, webrooming, showrooming), an
/// e-mail by its customer's opens and clicks, a chat by the purchases after it, read the
/// customer facts after a write; those that judge a reservation or a return by its order's
/// other events read the order facts; all equal their raw queries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_customer_fact_kpis_after_a_write_read_no_raw_events() {
    let t = TestDb::with_fixture();
    let token = web::admin_token(&t.db);
    web::add_user(&t.db, "cmo@test.it", Role::Executive, None);
    let mut browser = web::signed_in(&t.db, "cmo@test.it").await;
    write_a_batch(&t.db, &token).await;
    // A click before a purchase, a web visit before a store order, a store visit before a web
    // order (three new customers), ad spend, an e-mail opened and clicked, a chat before a
    // purchase, a reservation picked up, a web order returned in a store: each KPI gets a hit.
    let specs = [
        ("lb-1", "09T10:00", "click", "ads", "lb1"),
        ("lb-2", "10T10:00", "purchase", "web", "lb1"),
        ("lb-3", "09T10:00", "visit", "web", "lb2"),
        ("lb-4", "10T10:00", "purchase", "store", "lb2"),
        ("lb-5", "09T10:00", "visit", "store", "lb3"),
        ("lb-6", "10T10:00", "purchase", "app", "lb3"),
        ("lb-7", "09T09:00", "impression", "ads", "lb1"),
        ("lb-8", "09T08:00", "email_sent", "email", "lb1"),
        ("lb-9", "09T08:30", "email_open", "email", "lb1"),
        ("lb-10", "09T08:40", "email_click", "email", "lb1"),
        ("lb-11", "09T07:00", "chat_start", "chat", "lb1"),
        ("lb-12", "11T10:00", "reservation", "web", "lb2"),
        ("lb-13", "12T10:00", "pickup", "store", "lb2"),
        ("lb-14", "13T10:00", "return", "store", "lb1"),
    ];
    let mut lines: Vec<serde_json::Value> = specs
        .iter()
        .map(|(id, at, kind, channel, who)| {
            serde_json::json!({
                "source": "web", "event_id": id, "occurred_at": format!("2026-03-{at}:00Z"),
                "event_type": kind, "channel": channel, "email": format!("{who}@x.it"),
            })
        })
        .collect();
    for line in &mut lines[7..10] {
        line["campaign_id"] = "NEWS-03".into();
    }
    // A reserved order picked up the next day; the web order returned in a store.
    lines[11]["order_id"] = "LB-R1".into();
    lines[12]["order_id"] = "LB-R1".into();
    lines[1]["order_id"] = "LB-W1".into();
    lines[13]["order_id"] = "LB-W1".into();
    lines[1]["amount"] = "80.00".into();
    lines[6]["cost"] = "20.00".into();
    let body: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    post_events(&t.db, &token, &body).await;
    let keys = [
        "roas",
        "webrooming_rate",
        "showrooming_rate",
        "email_open_rate",
        "email_ctr",
        "chat_to_purchase_rate",
        "pickup_rate",
        "cross_channel_return_rate",
    ];
    // With them, every KPI of these departments reads rollups.
    let pages = [
        "/dept/marketing?lang=en&from=2026-01-01&to=2026-06-30",
        "/dept/customer_service?lang=en&from=2026-01-01&to=2026-06-30",
        "/dept/stores?lang=en&from=2026-01-01&to=2026-06-30",
    ];
    assert_kpis_read_rollups(
        &t.db,
        &mut browser,
        &keys,
        &pages,
        ("2026-01-01", "2026-06-30"),
    )
    .await;
}

/// After a write: the API's values of `keys` and each of `pages` read no events, and over the
/// days `period` each KPI has a hit and equals its raw computation.
async fn assert_kpis_read_rollups(
    db: &Db,
    browser: &mut web::Browser,
    keys: &[&str],
    pages: &[&str],
    period: (&str, &str),
) {
    start_log(db);
    let reply = browser
        .get(&format!(
            "/api/v1/kpis?from=2026-01-01&to=2026-06-30&kpi={}",
            keys.join(",")
        ))
        .await;
    assert_eq!(reply.status, axum::http::StatusCode::OK, "{}", reply.body);
    assert_no_reads_of_events(db, &format!("the API's {keys:?}"));
    assert_pages_read_no_events(db, browser, pages, "name=\"from\"").await;
    let conn = db.connect().expect("connection");
    let catalog = Catalog::builtin();
    let period = omnikpi::server::kpi::Period::parse(period.0, period.1).expect("period");
    let none = omnikpi::server::kpi::Filters::none();
    let fast = omnikpi::server::kpi::compute(&conn, catalog, keys, &period, &none).expect("fast");
    let raw = omnikpi::server::kpi::compute_from_events(&conn, catalog, keys, &period, &none)
        .expect("raw");
    assert_eq!(fast, raw);
    assert!(
        keys.iter()
            .all(|k| fast.get(*k).copied().flatten().is_some_and(|v| v > 0.0)),
        "each KPI has a hit: {fast:?}"
    );
}

/// Unique visitors, online conversion and cart abandonment (the visitor sets) and on-time
/// delivery (two measures of the daily rollup) after a write: no statement reads `events`,
/// the values equal the raw computation and each has a hit; with them every KPI of the
/// logistics and online pages reads rollups.
#[tokio::test]
async fn the_visitor_and_delivery_kpis_after_a_write_read_no_raw_events() {
    let t = TestDb::with_fixture();
    let token = web::admin_token(&t.db);
    web::add_user(&t.db, "cmo@test.it", Role::Executive, None);
    let mut browser = web::signed_in(&t.db, "cmo@test.it").await;
    write_a_batch(&t.db, &token).await;
    // Visitors of three kinds (a customer, a cookie, a device): the customer and the cookie
    // add to cart, the customer buys the same day; two deliveries promised for the 12th.
    let lines = [
        r#"{"event_id":"vd-1","occurred_at":"2026-03-09T10:00:00Z","event_type":"visit","channel":"web","email":"vd1@x.it"}"#,
        r#"{"event_id":"vd-2","occurred_at":"2026-03-09T10:05:00Z","event_type":"add_to_cart","channel":"web","email":"vd1@x.it"}"#,
        r#"{"event_id":"vd-3","occurred_at":"2026-03-09T10:10:00Z","event_type":"purchase","channel":"web","email":"vd1@x.it","order_id":"VD-1","amount":"30.00"}"#,
        r#"{"event_id":"vd-4","occurred_at":"2026-03-09T11:00:00Z","event_type":"visit","channel":"web","cookie_id":"vd-cookie"}"#,
        r#"{"event_id":"vd-5","occurred_at":"2026-03-09T11:05:00Z","event_type":"add_to_cart","channel":"web","cookie_id":"vd-cookie"}"#,
        r#"{"event_id":"vd-6","occurred_at":"2026-03-09T12:00:00Z","event_type":"visit","channel":"app","device_id":"vd-device"}"#,
        r#"{"event_id":"vd-7","occurred_at":"2026-03-11T09:00:00Z","event_type":"delivery","channel":"web","order_id":"VD-1","attributes":"{\"promised_date\":\"2026-03-12\"}"}"#,
        r#"{"event_id":"vd-8","occurred_at":"2026-03-13T09:00:00Z","event_type":"delivery","channel":"web","order_id":"VD-2","attributes":"{\"promised_date\":\"2026-03-12T18:00:00Z\"}"}"#,
    ];
    post_events(&t.db, &token, &lines).await;
    let keys = [
        "unique_visitors",
        "online_conversion_rate",
        "cart_abandonment_rate",
        "on_time_delivery_rate",
    ];
    let pages = [
        "/dept/logistics?lang=en&from=2026-01-01&to=2026-06-30",
        "/dept/online?lang=en&from=2026-01-01&to=2026-06-30",
    ];
    assert_kpis_read_rollups(
        &t.db,
        &mut browser,
        &keys,
        &pages,
        ("2026-03-01", "2026-03-31"),
    )
    .await;
}

/// The channel price gap (purchase prices per day, SKU and channel, `rollup_prices`) after a
/// write: no statement reads `events`, the value equals the raw computation and has a hit;
/// with it every KPI of the sales page reads rollups.
#[tokio::test]
async fn the_price_gap_after_a_write_reads_no_raw_events() {
    let t = TestDb::with_fixture();
    let token = web::admin_token(&t.db);
    web::add_user(&t.db, "cso@test.it", Role::Executive, None);
    let mut browser = web::signed_in(&t.db, "cso@test.it").await;
    write_a_batch(&t.db, &token).await;
    // One SKU at 10.00 on the web and 14.00 in a store: a gap of a sixth on each channel.
    let lines: Vec<String> = [("pg-1", "web", "10.00"), ("pg-2", "store", "14.00")]
        .iter()
        .map(|(id, channel, price)| {
            serde_json::json!({
                "event_id": id, "occurred_at": "2026-03-09T10:00:00Z",
                "event_type": "purchase", "channel": channel, "email": "pg@x.it",
                "order_id": id, "amount": price, "sku": "PG-SKU", "unit_price": price
            })
            .to_string()
        })
        .collect();
    post_events(&t.db, &token, &lines).await;
    assert_kpis_read_rollups(
        &t.db,
        &mut browser,
        &["channel_price_gap"],
        &["/dept/sales?lang=en&from=2026-01-01&to=2026-06-30"],
        ("2026-03-01", "2026-03-31"),
    )
    .await;
}

/// The journeys page and a pain point's page after a write read the journey rollup and the
/// data's clock that the rollups keep (`rollup_state.clock`), not `events`.
#[tokio::test]
async fn the_journeys_pages_after_a_write_read_no_raw_events() {
    let t = TestDb::with_fixture();
    let token = web::admin_token(&t.db);
    web::add_user(&t.db, "cxo@test.it", Role::Executive, None);
    let mut browser = web::signed_in(&t.db, "cxo@test.it").await;
    write_a_batch(&t.db, &token).await;
    let pages = [
        "/journeys?lang=en&from=2026-01-01&to=2026-06-30",
        "/journeys/pain/non_shoppable_landing?lang=en&from=2026-01-01&to=2026-06-30",
    ];
    assert_pages_read_no_events(&t.db, &mut browser, &pages, "</main>").await;
}

/// The write path reads the data's clock (the latest event) without a scan of every event:
/// inside a writer's transaction `max(occurred_at)` over `events` is one (20-60 ms at 10M
/// events). The rollups keep the clock (`rollup_state.clock`); the writer adds its own new
/// events, read through their `load_id` range.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_reads_the_data_clock_without_a_scan_of_every_event() {
    let t = TestDb::with_fixture();
    let token = web::admin_token(&t.db);
    start_log(&t.db);
    write_a_batch(&t.db, &token).await;
    let statements = logged_statements(&t.db);
    assert!(
        statements
            .iter()
            .any(|s| s.contains("INSERT INTO journeys")),
        "the batch cut no journey: the test would prove nothing"
    );
    let flat = |s: &String| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let clock: Vec<String> = statements
        .iter()
        .filter(|s| flat(s).contains("max(occurred_at)") && reads_events(s))
        .map(flat)
        .collect();
    assert!(
        !clock.is_empty(),
        "the batch read no clock: {statements:#?}"
    );
    let unbounded: Vec<&String> = clock
        .iter()
        .filter(|s| !s.contains("max(occurred_at) FROM events WHERE load_id >"))
        .collect();
    assert!(unbounded.is_empty(), "{unbounded:#?}");
}

/// The survey behind docs/rollups.md's list of what still reads events: for each view, after
/// a write, the statements that read the `events` table. It asserts nothing about the views
/// not yet on the rollups; run it to see them:
/// `cargo test --features ssr,spark --test request_scans -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a survey that prints, for the views not yet on the rollups"]
async fn survey_of_the_views_that_still_read_events() {
    let t = TestDb::with_fixture();
    let token = web::admin_token(&t.db);
    web::add_user(&t.db, "ceo@test.it", Role::Executive, None);
    let mut browser = web::signed_in(&t.db, "ceo@test.it").await;
    let period = "lang=en&from=2026-01-01&to=2026-06-30";
    for (i, page) in [
        format!("/?{period}"),
        format!("/?{period}&channel=web"),
        format!("/dept/sales?{period}"),
        format!("/dept/marketing?{period}"),
        format!("/dept/stores?{period}"),
        format!("/dept/online?{period}"),
        format!("/dept/customer_service?{period}"),
        format!("/dept/logistics?{period}"),
        format!("/kpi/gross_revenue?{period}"),
        format!("/journeys?{period}"),
        format!("/journeys/pain/non_shoppable_landing?{period}"),
        format!("/insights/tree?{period}"),
        format!("/insights/changed?{period}"),
    ]
    .iter()
    .enumerate()
    {
        let body: String = (0..5)
            .map(|j| {
                serde_json::json!({
                    "source": "web", "event_id": format!("survey-{i}-{j}"),
                    "occurred_at": "2026-03-10T10:00:00Z", "event_type": "purchase",
                    "channel": "web", "email": format!("survey{j}@x.it"),
                    "order_id": format!("SURVEY{i}-{j}"), "amount": "12.50"
                })
                .to_string()
                    + "\n"
            })
            .collect();
        let (status, _) = web::post_ndjson(
            web::router(&t.db),
            "/api/v1/events?source=web",
            Some(&token),
            body,
        )
        .await;
        assert!(status.is_success());
        start_log(&t.db);
        let reply = browser.get(page).await;
        let reads = reads_of_events(&t.db);
        println!(
            "{page}: status {}, {} statements read events",
            reply.status,
            reads.len()
        );
        let mut kinds = std::collections::BTreeMap::<String, usize>::new();
        for sql in reads {
            let short: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
            *kinds.entry(short.chars().take(100).collect()).or_default() += 1;
        }
        for (kind, n) in kinds {
            println!("    {n} × {kind}");
        }
    }
}
