//! The dashboard pages and downloads through the real router against a real temporary
//! DuckDB: the KPI detail page, the department views and every export, with values worked out
//! by hand from the fixture of tests/common (March 2026: gross revenue 215.00, of which the
//! store channel 175.00 and web 40.00; see tests/kpi_slice.rs).

mod common;
#[path = "common/web.rs"]
mod web;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

use common::{TestDb, ev};
use omnikpi::server::kpi::{self, Catalog, Dimension, FilterError, Filters, Period};

/// The app as an admin's API token sees it (authorisation is tested in tests/auth.rs).
fn app(t: &TestDb) -> axum::Router {
    web::router_as_admin(&t.db)
}

const MARCH: &str = "from=2026-03-01&to=2026-03-31";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kpi_detail_page_shows_value_definition_series_and_breakdown() {
    let t = TestDb::with_fixture();
    let a = web::get(app(&t), &format!("/kpi/gross_revenue?{MARCH}")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.header(header::CONTENT_TYPE).starts_with("text/html"));
    let html = a.body;
    assert_eq!(
        web::text_of(&html, "data-value=\"215\""),
        "€215.00",
        "the value"
    );
    assert!(
        html.contains("Sum of the amounts of purchase events."),
        "the definition"
    );
    assert!(html.contains("<svg"), "charts are inline SVG");
    // Breakdown by channel (the default): store 100 + 50 + 20 + 5, web 30 + 10.
    assert!(
        html.contains("<td>store</td><td class=\"num\">€175.00</td>"),
        "{html}"
    );
    assert!(html.contains("<td>web</td><td class=\"num\">€40.00</td>"));
    // 31 daily rows in the series table.
    assert!(html.matches("<tr><td>").count() >= 31);
    // The export links carry the same view.
    assert!(
        html.contains(
            "/export/kpi/gross_revenue/series.csv?from=2026-03-01&amp;to=2026-03-31&amp;lang=en"
        ),
        "{html}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grain_switch_groups_the_series_and_italian_is_spoken() {
    let t = TestDb::with_fixture();
    let html = web::get(
        app(&t),
        &format!("/kpi/gross_revenue?{MARCH}&grain=month&lang=it"),
    )
    .await
    .body;
    // One bucket, March, worth the whole month.
    assert!(html.contains("<td>03/2026</td>"), "{html}");
    assert_eq!(web::text_of(&html, "class=\"kpi-value\""), "215,00 €");
    assert!(html.contains("Somma degli importi degli acquisti."));
    assert!(
        html.contains("aria-current=\"page\">Mese</a>"),
        "the grain switch marks month"
    );
    // Quarters: one bucket, clipped to March.
    let html = web::get(
        app(&t),
        &format!("/kpi/gross_revenue?{MARCH}&grain=quarter"),
    )
    .await
    .body;
    assert!(html.contains("<td>Q1 2026</td>"), "{html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_comparison_follows_the_url() {
    let t = TestDb::with_fixture();
    let html = web::get(
        app(&t),
        &format!("/kpi/gross_revenue?{MARCH}&compare=last_year"),
    )
    .await
    .body;
    // March 2025 has no events: 0.00, and no relative change from 0.
    assert!(html.contains("vs same period last year"), "{html}");
    assert!(html.contains("€0.00"));
    assert!(html.contains("1 Mar 2025"));
    assert!(html.contains("31 Mar 2025"));
    assert!(
        html.contains("<option value=\"last_year\" selected"),
        "the form keeps it"
    );
    let csv = web::get(
        app(&t),
        &format!("/export/kpi/gross_revenue/series.csv?{MARCH}&compare=last_year&grain=month"),
    )
    .await
    .body;
    assert!(
        csv.starts_with(
            "\u{FEFF}First day,Last day,Gross revenue,Same period last year,Target\r\n"
        ),
        "{csv}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_kpi_or_department_is_not_found_with_a_way_back() {
    let t = TestDb::with_fixture();
    let a = web::get(app(&t), "/kpi/revenue_of_mars").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(a.body.contains("This KPI does not exist"), "{}", a.body);
    assert!(a.body.contains("href=\"/?lang=en\""));
    let a = web::get(app(&t), "/dept/finance?lang=it").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(a.body.contains("Questo reparto non ha una vista"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_view_parameter_is_a_message_with_the_form_to_fix_it() {
    let t = TestDb::with_fixture();
    let a = web::get(app(&t), &format!("/kpi/gross_revenue?{MARCH}&grain=hour")).await;
    assert_eq!(
        a.status,
        StatusCode::OK,
        "as the company page: the form is the answer"
    );
    assert!(a.body.contains("role=\"alert\""));
    assert!(a.body.contains("grain: \"hour\""), "{}", a.body);
    assert!(a.body.contains("name=\"preset\""), "the controls are there");
    let a = web::get(app(&t), &format!("/dept/sales?{MARCH}&channel=fax")).await;
    assert!(a.body.contains("role=\"alert\""));
    assert!(a.body.contains("fax"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_department_shows_the_kpis_it_owns_with_target_and_status() {
    let t = TestDb::with_fixture();
    {
        let conn = t.db.connect().expect("connection");
        // March is over on every day this test can run: the projection is the month's 215.00.
        kpi::targets::set(
            &conn,
            Catalog::builtin(),
            "gross_revenue",
            "sales",
            "2026-03",
            200.0,
            "test",
        )
        .expect("target");
        kpi::targets::set(
            &conn,
            Catalog::builtin(),
            "orders",
            "sales",
            "2026-03",
            10.0,
            "test",
        )
        .expect("target");
    }
    // Signed in as a person: the navigation is a user's.
    web::admin_token(&t.db);
    let mut admin = web::Browser::new(web::router(&t.db));
    admin.sign_in("admin@test.it", web::PASSWORD).await;
    let a = admin.get(&format!("/dept/sales?{MARCH}&lang=en")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let html = a.body;
    for owned in ["gross_revenue", "net_revenue", "orders", "aov"] {
        assert!(html.contains(&format!("data-kpi=\"{owned}\"")), "{owned}");
    }
    assert!(
        !html.contains("data-kpi=\"ad_spend\""),
        "marketing owns ad spend"
    );
    assert!(
        html.contains("aria-current=\"page\">Sales</a>"),
        "navigation shows where we are"
    );
    // Gross revenue: 215.00 against 200.00 is on track; 5 orders against 10 are off track.
    let gross = web::after(&html, "data-kpi=\"gross_revenue\"");
    assert_eq!(
        web::text_of(gross, "class=\"num\""),
        "€200.00",
        "the tile's target"
    );
    assert!(
        html.contains("data-status=\"on-track\" class=\"status status-on-track\">On track"),
        "{html}"
    );
    assert!(html.contains("data-status=\"off-track\" class=\"status status-off-track\">Off track"));
    // The sales breakdown by channel.
    assert!(html.contains("<td>store</td><td class=\"num\">€175.00</td>"));
    let marketing = web::get(app(&t), &format!("/dept/marketing?{MARCH}"))
        .await
        .body;
    assert!(marketing.contains("data-kpi=\"ad_spend\""));
    assert!(!marketing.contains("data-kpi=\"gross_revenue\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_exports_follow_the_locale() {
    let t = TestDb::with_fixture();
    let a = web::get(
        app(&t),
        &format!("/export/kpi/gross_revenue/breakdown.csv?{MARCH}&lang=it"),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.header(header::CONTENT_TYPE), "text/csv; charset=utf-8");
    assert!(
        a.header(header::CONTENT_DISPOSITION).starts_with(
            "attachment; filename=\"omnikpi-gross_revenue-by-channel-2026-03-01-2026-03-31.csv\""
        ),
        "{}",
        a.header(header::CONTENT_DISPOSITION)
    );
    assert_eq!(
        a.body,
        "\u{FEFF}Canale;Fatturato lordo\r\nstore;175\r\nweb;40\r\n"
    );

    let a = web::get(
        app(&t),
        &format!("/export/kpi/gross_revenue/series.csv?{MARCH}&grain=month"),
    )
    .await;
    assert_eq!(
        a.body,
        "\u{FEFF}First day,Last day,Gross revenue,Previous period,Target\r\n2026-03-01,2026-03-31,215,0,\r\n"
    );

    let a = web::get(app(&t), &format!("/export/dept/sales/kpis.csv?{MARCH}")).await;
    assert_eq!(a.status, StatusCode::OK);
    // The previous period (29 January to 28 February) has no revenue: no relative change.
    assert!(
        a.body
            .contains("\r\ngross_revenue,Gross revenue,215,0,,,,,\r\n"),
        "{}",
        a.body
    );

    let a = web::get(
        app(&t),
        &format!("/export/company/kpis.csv?{MARCH}&lang=it"),
    )
    .await;
    assert!(a.body.contains("\r\naov;Scontrino medio;43;"), "{}", a.body);
    let a = web::get(app(&t), &format!("/export/company/revenue.csv?{MARCH}")).await;
    assert!(a.body.contains("\r\n2026-03-10,150\r\n"), "{}", a.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn svg_exports_are_the_page_charts() {
    let t = TestDb::with_fixture();
    for uri in [
        format!("/export/kpi/gross_revenue/series.svg?{MARCH}"),
        format!("/export/kpi/gross_revenue/breakdown.svg?{MARCH}&by=store"),
        format!("/export/dept/stores/breakdown-1.svg?{MARCH}"),
        format!("/export/company/revenue.svg?{MARCH}"),
    ] {
        let a = web::get(app(&t), &uri).await;
        assert_eq!(a.status, StatusCode::OK, "{uri}: {}", a.body);
        assert_eq!(a.header(header::CONTENT_TYPE), "image/svg+xml", "{uri}");
        assert!(a.body.starts_with("<svg"), "{uri}");
    }
    let a = web::get(
        app(&t),
        &format!("/export/kpi/gross_revenue/breakdown.svg?{MARCH}&by=channel"),
    )
    .await;
    assert!(a.body.contains("€175.00"), "bar values are written");
    assert!(a.body.contains("€40.00"), "bar values are written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charts_also_download_as_png() {
    let t = TestDb::with_fixture();
    let response = app(&t)
        .oneshot(
            Request::get(format!("/export/kpi/gross_revenue/breakdown.png?{MARCH}"))
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "image/png");
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    // Two bars (store, web) at twice the SVG's size: 2 x (10 + 2 x 34 + 10) pixels high.
    let height = u32::from_be_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]);
    assert_eq!(height, 176);
    let a = web::get(app(&t), &format!("/export/dept/sales/kpis.png?{MARCH}")).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "tables have no PNG");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_export_requests_are_plain_errors() {
    let t = TestDb::with_fixture();
    let a = web::get(
        app(&t),
        &format!("/export/kpi/gross_revenue/series.csv?{MARCH}&grain=hour"),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.contains("grain"));
    assert_eq!(
        web::get(app(&t), "/export/kpi/nope/series.csv")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        web::get(
            app(&t),
            &format!("/export/kpi/gross_revenue/secrets.txt?{MARCH}")
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        web::get(
            app(&t),
            &format!("/export/dept/sales/breakdown-9.csv?{MARCH}")
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        web::get(
            app(&t),
            &format!("/export/dept/sales/breakdown-0.csv?{MARCH}")
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
}

/// Customer service breaks complaints down by topic: a dimension added for this view.
#[test]
fn complaints_filter_and_break_down_by_topic() {
    let t = TestDb::new();
    t.load_events(&[
        ev("c1", "2026-03-02T10:00:00+01:00", "complaint")
            .email("a@x.it")
            .set("topic", "delivery"),
        ev("c2", "2026-03-03T10:00:00+01:00", "complaint")
            .email("b@x.it")
            .set("topic", "delivery"),
        ev("c3", "2026-03-04T10:00:00+01:00", "complaint")
            .email("c@x.it")
            .set("topic", "price"),
        ev("c4", "2026-03-05T10:00:00+01:00", "complaint").email("d@x.it"),
        // February: outside the period.
        ev("c5", "2026-02-27T10:00:00+01:00", "complaint")
            .email("e@x.it")
            .set("topic", "price"),
    ]);
    let conn = t.db.connect().expect("connection");
    let catalog = Catalog::builtin();
    let march = Period::parse("2026-03-01", "2026-03-31").expect("period");
    let delivery = Filters::parse([("topic", "delivery")]).expect("filter");
    delivery.check(&conn).expect("delivery is a topic");
    let n = kpi::compute(&conn, catalog, &["complaints"], &march, &delivery).expect("compute");
    assert_eq!(n["complaints"], Some(2.0));
    assert_eq!(
        Filters::parse([("topic", "weather")])
            .expect("parses")
            .check(&conn),
        Err(FilterError::UnknownValue {
            dimension: "topic",
            value: "weather".into()
        })
    );
    let parts = kpi::breakdown::breakdown(
        &conn,
        catalog,
        "complaints",
        &march,
        &Filters::none(),
        Dimension::Topic,
        1,
    )
    .expect("breakdown");
    // Top 1: delivery (2); "other" holds price (1) and the complaint without a topic (1).
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0].value.as_deref(), Some("delivery"));
    assert_eq!(parts[0].kpi, Some(2.0));
    assert_eq!(parts[1].value, None);
    assert_eq!(parts[1].kpi, Some(2.0));
    assert_eq!(
        Filters::known_values(&conn, Dimension::Topic, 10).expect("values"),
        ["delivery", "price"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_year_without_a_grain_is_shown_by_week() {
    let t = TestDb::with_fixture();
    let year = "from=2025-07-01&to=2026-06-30";
    let html = web::get(app(&t), &format!("/kpi/gross_revenue?{year}"))
        .await
        .body;
    assert!(html.contains("aria-current=\"page\">Week</a>"), "{html}");
    // Tuesday 1 July 2025 to Tuesday 30 June 2026: a first week of 6 days (1-6 July), 51 whole
    // weeks (7 July 2025 to 28 June 2026) and a last one of 2 days.
    let csv = web::get(
        app(&t),
        &format!("/export/kpi/gross_revenue/series.csv?{year}"),
    )
    .await
    .body;
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 1 + 53);
    assert!(
        lines[1].starts_with("2025-07-01,2025-07-06,"),
        "{}",
        lines[1]
    );
    assert!(
        lines[53].starts_with("2026-06-29,2026-06-30,"),
        "{}",
        lines[53]
    );
    // The March week with the fixture's two store lines (Tuesday 10 March): 9-15 March holds
    // e1 + e2 (150.00) and e3 (30.00, Sunday 15 March).
    assert!(csv.contains("\r\n2026-03-09,2026-03-15,180,"), "{csv}");
    // Asked for explicitly, a day grain stays.
    let html = web::get(app(&t), &format!("/kpi/gross_revenue?{year}&grain=day"))
        .await
        .body;
    assert!(html.contains("aria-current=\"page\">Day</a>"));
}

/// The company view's tiles draw the same series the KPI detail computes: one pass for every
/// tile gives, KPI by KPI, what the detail's series gives for that KPI alone.
#[test]
fn company_sparklines_are_the_detail_series() {
    let t = TestDb::with_fixture();
    let conn = t.db.connect().expect("connection");
    let catalog = Catalog::builtin();
    let march = Period::parse("2026-03-01", "2026-03-31").expect("period");
    let keys: Vec<&str> = catalog
        .view("company")
        .iter()
        .map(|d| d.key.as_str())
        .collect();
    for grain in [omnikpi::kpi::Grain::Day, omnikpi::kpi::Grain::Week] {
        let all = kpi::series_many(&conn, catalog, &keys, &march, grain, &Filters::none())
            .expect("series of every tile");
        assert_eq!(all.len(), keys.len());
        for key in &keys {
            let alone =
                kpi::series(&conn, catalog, key, &march, grain, &Filters::none()).expect("series");
            assert_eq!(all[*key], alone, "{key} by {grain:?}");
        }
    }
    let days = kpi::series_many(
        &conn,
        catalog,
        &["gross_revenue", "active_customers"],
        &march,
        omnikpi::kpi::Grain::Day,
        &Filters::none(),
    )
    .expect("series");
    // 10 March: order A (100 + 50) of the customer of L1.
    assert_eq!(days["gross_revenue"][9].1, Some(150.0));
    assert_eq!(days["active_customers"][9].1, Some(1.0));
    // 20 March: an anonymous purchase is revenue but no active customer.
    assert_eq!(days["gross_revenue"][19].1, Some(20.0));
    assert_eq!(days["active_customers"][19].1, Some(0.0));
}

/// The company view: a sparkline per tile with its name, active customers per day, the channel
/// mix and multichannel against single-channel buyers, with values worked out from FIXTURE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_company_view_shows_trends_mix_and_multichannel_buyers() {
    let t = TestDb::with_fixture();
    // Without the hydration markers between a cell's parts.
    let html = web::get(app(&t), &format!("/?{MARCH}"))
        .await
        .body
        .replace("<!>", "");
    let tiles = html.matches("class=\"kpi-tile\"").count();
    assert!(tiles >= 10, "{html}");
    assert_eq!(
        html.matches("role=\"img\" aria-label=\"Trend of ").count(),
        tiles,
        "every tile has a named sparkline"
    );
    assert!(
        html.contains("aria-label=\"Trend of Net revenue, 1 Mar 2026–31 Mar 2026\""),
        "{html}"
    );
    // Channel mix: store 100 + 50 + 20 + 5, web 30 + 10.
    assert!(html.contains("Channel mix · Gross revenue"), "{html}");
    assert!(html.contains("<td>store</td><td class=\"num\">€175.00</td>"));
    assert!(html.contains("Top stores"));
    assert!(html.contains("Top regions"));
    // Buyers in March: the customer of L1 and a@x.it bought in store (order A, 150) and on the
    // web (e3, 30): two channels, 2 orders, 180. Single-channel: b@x.it (web, 10) and L3
    // (store, 5): 2 orders for 2 buyers, 15.
    assert!(
        html.contains(
            "<td class=\"num\">2.00</td><td class=\"num\">1.00</td><td class=\"num\">2.00×</td>"
        ),
        "{html}"
    );
    assert!(
        html.contains("<td class=\"num\">€90.00</td><td class=\"num\">€7.50</td>"),
        "{html}"
    );
    assert!(html.contains("Active customers per day"));

    // The same numbers download: active customers per day (1 March: b@x.it; 20 March: only an
    // anonymous purchase) and the channel mix.
    let a = web::get(app(&t), &format!("/export/company/customers.csv?{MARCH}")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(
        a.body
            .starts_with("\u{FEFF}Day,Active customers\r\n2026-03-01,1\r\n"),
        "{}",
        a.body
    );
    assert!(a.body.contains("\r\n2026-03-20,0\r\n"), "{}", a.body);
    let a = web::get(
        app(&t),
        &format!("/export/company/breakdown-1.csv?{MARCH}&lang=it"),
    )
    .await;
    assert_eq!(
        a.body,
        "\u{FEFF}Canale;Fatturato lordo\r\nstore;175\r\nweb;40\r\n"
    );
    assert!(
        a.header(header::CONTENT_DISPOSITION)
            .contains("omnikpi-company-gross_revenue-by-channel-2026-03-01-2026-03-31.csv"),
        "{}",
        a.header(header::CONTENT_DISPOSITION)
    );
    for file in ["customers.svg", "breakdown-2.svg", "breakdown-3.png"] {
        let a = web::get(app(&t), &format!("/export/company/{file}?{MARCH}")).await;
        assert_eq!(a.status, StatusCode::OK, "{file}: {}", a.body);
    }
    let a = web::get(app(&t), &format!("/export/company/breakdown-4.csv?{MARCH}")).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

/// Online's orders by channel list only the channels that took online orders: the store, where
/// there were purchases but none online, is not a row with 0 (issue #22).
#[test]
fn online_orders_by_channel_lists_only_channels_with_online_orders() {
    let t = TestDb::new();
    t.load_events(&[
        ev("w1", "2026-03-02T10:00:00+01:00", "purchase")
            .channel("web")
            .order("W1")
            .amount("10.00"),
        ev("w2", "2026-03-03T10:00:00+01:00", "purchase")
            .channel("web")
            .order("W2")
            .amount("12.00"),
        ev("a1", "2026-03-04T10:00:00+01:00", "purchase")
            .channel("app")
            .order("A1")
            .amount("8.00"),
        ev("s1", "2026-03-05T10:00:00+01:00", "purchase")
            .channel("store")
            .order("S1")
            .amount("40.00"),
        ev("s2", "2026-03-06T10:00:00+01:00", "visit").channel("store"),
    ]);
    let mut conn = t.db.connect().expect("connection");
    let view = omnikpi::server::dashboard::department::department_blocking(
        &mut conn,
        "online",
        &format!("{MARCH}&lang=en"),
    )
    .expect("online view");
    let by_channel = view
        .breakdowns
        .iter()
        .find(|b| b.kpi == "online_orders" && b.dimension == "channel")
        .expect("online orders by channel");
    let rows: Vec<(Option<&str>, Option<f64>)> = by_channel
        .rows
        .iter()
        .map(|r| (r.label.as_deref(), r.value))
        .collect();
    assert_eq!(
        rows,
        [(Some("web"), Some(2.0)), (Some("app"), Some(1.0))],
        "{rows:?}"
    );
    // Gross revenue by channel (a sum too) still lists the store, which sold.
    let mut conn = t.db.connect().expect("connection");
    let sales = omnikpi::server::dashboard::department::department_blocking(
        &mut conn,
        "sales",
        &format!("{MARCH}&lang=en"),
    )
    .expect("sales view");
    let revenue = sales
        .breakdowns
        .iter()
        .find(|b| b.kpi == "gross_revenue" && b.dimension == "channel")
        .expect("revenue by channel");
    assert!(
        revenue
            .rows
            .iter()
            .any(|r| r.label.as_deref() == Some("store") && r.value == Some(40.0)),
        "{:?}",
        revenue.rows
    );
}
