//! The settings that apply to the whole instance at once: the time zone periods are counted
//! in and the currency amounts are written in; and admin messages in the admin's language.

mod common;
#[path = "common/web.rs"]
mod web;

use axum::http::StatusCode;

use common::TestDb;
use omnikpi::auth::Role;
use omnikpi::format::{self, Currency};
use omnikpi::i18n::Locale;
use omnikpi::server::kpi::{Catalog, Filters, Period, report};
use web::{Browser, PASSWORD};

fn gross_revenue(t: &TestDb, day: &str) -> Option<f64> {
    let conn = t.db.connect().expect("connection");
    let request = report::ReportRequest {
        keys: vec!["gross_revenue".into()],
        compare: report::Compare::default(),
        filters: Filters::default(),
        locale: Locale::En,
    };
    let period = Period::parse(day, day).expect("period");
    let report = report::build(&conn, Catalog::builtin(), &period, &request).expect("report");
    report.kpis[0].value
}

async fn admin(t: &TestDb, lang: &str) -> (Browser, String) {
    web::add_user(&t.db, "admin@test.it", Role::Admin, None);
    t.db.connect()
        .expect("connection")
        .execute(
            "UPDATE users SET lang = ? WHERE email = 'admin@test.it'",
            [lang],
        )
        .expect("language");
    let mut browser = Browser::new(web::router(&t.db));
    let signed = browser.sign_in("admin@test.it", PASSWORD).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    let page = browser.get(&format!("/admin/settings?lang={lang}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = web::csrf_in(&page.body).expect("csrf field");
    (browser, csrf)
}

async fn save(browser: &mut Browser, csrf: &str, key: &str, value: &str) -> String {
    let reply = browser
        .post_form(
            "/admin/settings/save",
            &[("csrf", csrf), ("key", key), ("value", value)],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    reply.location().to_string()
}

/// One test, because the currency is process-wide (the server formats every amount with it).
#[tokio::test]
async fn time_zone_and_currency_apply_at_once_and_refusals_speak_the_admins_language() {
    // 23:30 UTC on 31 March is already 1 April in Rome.
    let t = TestDb::new();
    let file = t.file(
        "late.csv",
        &[
            "event_id,occurred_at,event_type,channel,loyalty_id,order_id,amount,currency",
            "z1,2026-03-31T23:30:00Z,purchase,store,L1,A,10.00,EUR",
        ],
    );
    t.load("pos", &file).expect("load");
    assert_eq!(gross_revenue(&t, "2026-03-31"), Some(0.0));
    assert_eq!(gross_revenue(&t, "2026-04-01"), Some(10.0));

    let (mut browser, csrf) = admin(&t, "it").await;
    assert_eq!(
        save(&mut browser, &csrf, "time_zone", "UTC").await,
        "/admin/settings?ok=saved"
    );
    assert_eq!(t.db.time_zone(), "UTC");
    assert_eq!(gross_revenue(&t, "2026-03-31"), Some(10.0));
    assert_eq!(gross_revenue(&t, "2026-04-01"), Some(0.0));
    let page = browser.get("/admin/settings?lang=it").await.body;
    assert!(
        page.contains("value=\"UTC\""),
        "the page shows the zone in force"
    );

    // Refusals: an unknown zone, and a currency the loaded amounts are not in, in Italian.
    let refused = save(&mut browser, &csrf, "time_zone", "Mars/Olympus").await;
    assert!(refused.contains("error="), "{refused}");
    assert!(
        omnikpi::url::decode(&refused).contains("non è un fuso orario noto"),
        "{refused}"
    );
    assert_eq!(t.db.time_zone(), "UTC");
    let refused = save(&mut browser, &csrf, "currency", "CHF").await;
    assert!(
        omnikpi::url::decode(&refused).contains("gli eventi hanno già importi in EUR"),
        "{refused}"
    );
    assert_eq!(format::currency(), Currency::Eur);

    // On an instance whose amounts carry no currency, CHF is accepted and every page and
    // load follows it.
    let other = TestDb::new();
    let file = other.file(
        "plain.csv",
        &[
            "event_id,occurred_at,event_type,channel,loyalty_id,order_id,amount",
            "p1,2026-03-10T10:00:00+01:00,purchase,store,L1,A,1234.50",
        ],
    );
    other.load("pos", &file).expect("load");
    let (mut browser, csrf) = admin(&other, "en").await;
    assert_eq!(
        save(&mut browser, &csrf, "currency", "chf").await,
        "/admin/settings?ok=saved"
    );
    assert_eq!(format::currency(), Currency::Chf);
    let company = browser
        .get("/?lang=en&from=2026-03-01&to=2026-03-31")
        .await
        .body;
    assert!(
        company.contains(r#"<meta name="omnikpi-currency" content="CHF""#),
        "the browser bundle is told the currency"
    );
    assert!(company.contains("CHF 1,234.50"), "amounts are in francs");
    let usd = other.file(
        "usd.csv",
        &[
            "event_id,occurred_at,event_type,channel,loyalty_id,order_id,amount,currency",
            "p2,2026-03-11T10:00:00+01:00,purchase,store,L1,B,5.00,EUR",
        ],
    );
    let err = other.load("pos", &usd).expect_err("EUR is now foreign");
    assert!(
        err.to_string().contains("instance's currency, CHF"),
        "{err}"
    );

    // What opening the database does: the stored settings come back (the first database
    // keeps its time zone, the second has none stored).
    format::set_currency(Currency::Eur);
    omnikpi::server::settings::apply(&other.db).expect("apply");
    assert_eq!(format::currency(), Currency::Chf);
    assert_eq!(other.db.time_zone(), "Europe/Rome");
    t.db.set_time_zone("Europe/Rome").expect("zone");
    omnikpi::server::settings::apply(&t.db).expect("apply");
    assert_eq!(t.db.time_zone(), "UTC");
    format::set_currency(Currency::Eur);
}
