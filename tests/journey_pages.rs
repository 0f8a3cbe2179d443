//! The journey pages, the customer 360 and the journeys API through the real router, signed in
//! as the roles that use them, on a small hand-made data set whose numbers are worked out
//! below: the values shown, the masking of identifiers, the pain point note and the erasure.

mod common;
#[path = "common/web.rs"]
mod web;

use axum::http::StatusCode;

use common::{Ev, TestDb, ev};
use omnikpi::auth::Role;
use omnikpi::server::journey::pain;
use web::Browser;

const PERIOD: &str = "from=2026-03-01&to=2026-06-30&lang=en";

/// Reservations (tests/journeys.rs works the same data out rule by rule):
/// - q1 reserves R1 at MI01 on 2 March, picks it up and pays 100.00 exactly 7 days later;
/// - q2 reserves R2 at MI01, picks it up a minute late and pays 50.00: not picked up in time;
/// - q3 reserves R3 at RM02 and never comes: not picked up, abandoned after 30 quiet days;
/// - q4 reserves R4 on 28 June: not judged yet, its journey still open on 1 July.
///
/// Journeys starting 1 March to 30 June: 4; converted q1, q2 (2), abandoned q3 (1), open q4
/// (1); conversion 2 / (2 + 1) = 66.7 %; revenue 150.00; average order value 75.00.
/// Rule 3: judged 3 (q1, q2, q3), affected 2 (q2, q3), their conversion 1 / 2 = 0.5; the
/// comparison q1 converts 1 / 1; gap 0.5; lost 2 × 0.5 × 75.00 = 75.00. By store: MI01 2
/// judged, 1 affected; RM02 1 judged, 1 affected.
///
/// Anna (anna.rossi@x.it, loyalty card L000123) visits and buys 40.00 online on 10 February,
/// outside that period: the customer 360 and erasure tests are about her.
fn data() -> TestDb {
    let t = TestDb::new();
    let conn = t.db.connect().expect("connection");
    for rule in pain::Rules::builtin().all() {
        conn.execute(
            "INSERT INTO settings (key, value) VALUES (?, '1')",
            [format!("pain.{}.min_volume", rule.key)],
        )
        .expect("setting");
    }
    let (reserve, pickup, buy) = (common::reservation, common::pickup, common::store_purchase);
    let events: Vec<Ev> = vec![
        ev("n1", "2026-02-10T10:00:00+01:00", "visit")
            .channel("web")
            .email("anna.rossi@x.it")
            .loyalty("L000123"),
        ev("n2", "2026-02-10T10:20:00+01:00", "purchase")
            .channel("web")
            .email("anna.rossi@x.it")
            .order("N1")
            .amount("40.00"),
        reserve("v1", "2026-03-02T10:00:00+01:00", "q1@x.it", "R1", "MI01"),
        pickup("w1", "2026-03-09T10:00:00+01:00", "q1@x.it", "R1"),
        buy("y1", "2026-03-09T10:00:00+01:00", "q1@x.it", "R1", "100.00"),
        reserve("v2", "2026-03-02T10:00:00+01:00", "q2@x.it", "R2", "MI01"),
        pickup("w2", "2026-03-09T10:01:00+01:00", "q2@x.it", "R2"),
        buy("y2", "2026-03-09T10:01:00+01:00", "q2@x.it", "R2", "50.00"),
        reserve("v3", "2026-03-02T10:00:00+01:00", "q3@x.it", "R3", "RM02"),
        reserve("v4", "2026-06-28T10:00:00+02:00", "q4@x.it", "R4", "RM02"),
        ev("clock", "2026-07-01T10:00:00+02:00", "visit").channel("store"),
    ];
    t.load_events(&events);
    web::add_user(&t.db, "admin@test.it", Role::Admin, None);
    web::add_user(&t.db, "ceo@test.it", Role::Executive, None);
    web::add_user(&t.db, "cx@test.it", Role::CxOfficer, None);
    web::add_user(&t.db, "viewer@test.it", Role::Viewer, Some("stores"));
    t
}

fn customer_of(t: &TestDb, value: &str) -> i64 {
    let conn = t.db.connect().expect("connection");
    conn.query_row(
        "SELECT customer_id FROM identities WHERE id_value = ?",
        [value],
        |r| r.get(0),
    )
    .expect("customer")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journey_view_shows_the_period_and_ranks_the_pain_points() {
    let t = data();
    let mut cx = web::signed_in(&t.db, "cx@test.it").await;
    let body = cx.page(&format!("/journeys?{PERIOD}")).await;
    // Summary: 4 journeys, 2 converted, 1 abandoned, 1 open, 66.7 %, €150.00, €75.00.
    for (label, value) in [
        ("Journeys", "4"),
        ("Converted", "2"),
        ("Abandoned", "1"),
        ("Still open", "1"),
        ("Conversion", "66.7%"),
        ("Revenue", "€150.00"),
        ("Average order value", "€75.00"),
    ] {
        let stat = format!("<dt>{label}</dt><dd class=\"num\">{value}</dd>");
        assert!(body.contains(&stat), "{stat} missing");
    }
    for expected in [
        // The top pain point with its formula, linking to its page with the period.
        "Reservation not picked up",
        "2 × 50.0% × €75.00 = €75.00",
        "/journeys/pain/reservation_not_picked_up?from=2026-03-01",
        // Both funnels are drawn, with their tables.
        "<svg",
        "Cross-channel funnel",
        "Store funnel",
        // The paths: web then store twice (both bought, 150.00).
        "web → store",
        "Hand-offs between channels",
    ] {
        assert!(body.contains(expected), "{expected} missing");
    }
    // The header links to the journeys, marked as the current page.
    assert!(body.contains("href=\"/journeys?lang=en\" aria-current=\"page\""));
    // The viewer of a department that was not granted the journeys has neither.
    let mut viewer = web::signed_in(&t.db, "viewer@test.it").await;
    let home = viewer.page("/?lang=en&from=2026-03-01&to=2026-03-31").await;
    assert!(!home.contains("href=\"/journeys"));
    let refused = viewer.get(&format!("/journeys?{PERIOD}")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pain_point_page_shows_its_numbers_trend_breakdown_and_examples() {
    let t = data();
    let mut cx = web::signed_in(&t.db, "cx@test.it").await;
    let body = cx
        .page(&format!(
            "/journeys/pain/reservation_not_picked_up?{PERIOD}"
        ))
        .await;
    // Each number in the element that holds it: the summary's `<dt>`/`<dd>` pairs.
    for (label, value) in [
        ("Journeys judged", "3"),
        ("Journeys affected", "2"),
        ("Conversion when affected", "50.0%"),
        ("Conversion of the comparison", "100.0%"),
        ("Conversion gap", "50.0%"),
        ("Average order value", "€75.00"),
        ("Revenue lost (estimate)", "€75.00"),
    ] {
        assert!(
            body.contains(&stat(label, value)),
            "{label}: {value} missing"
        );
    }
    for expected in [
        "Reservation not picked up",
        "2 × 50.0% × €75.00 = €75.00",
        "<th scope=\"row\">2026-03</th>", // the trend's month
        "<th scope=\"row\">MI01</th>",
        "<th scope=\"row\">RM02</th>",
        "/journeys/journey/",
        "name=\"acknowledged\"",
    ] {
        assert!(body.contains(expected), "{expected} missing");
    }
    // MI01: 2 judged, 1 affected, 50.0 %.
    let mi01 = &body[body.find(">MI01<").expect("MI01 row")..];
    let row = &mi01[..mi01.find("</tr>").expect("row end")];
    assert!(
        row.contains(">2<") && row.contains(">1<") && row.contains("50.0%"),
        "{row}"
    );

    // The executive sees it but has no form.
    let mut ceo = web::signed_in(&t.db, "ceo@test.it").await;
    let seen = ceo
        .page(&format!(
            "/journeys/pain/reservation_not_picked_up?{PERIOD}"
        ))
        .await;
    assert!(seen.contains("2 × 50.0% × €75.00 = €75.00"));
    assert!(!seen.contains("name=\"acknowledged\""));
    // An unknown pain point says so.
    let unknown = cx
        .page(&format!("/journeys/pain/no_such_rule?{PERIOD}"))
        .await;
    assert!(unknown.contains("not found: pain point no_such_rule"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cx_officer_acknowledges_a_pain_point_with_a_note() {
    let t = data();
    let mut cx = web::signed_in(&t.db, "cx@test.it").await;
    let body = cx
        .page(&format!(
            "/journeys/pain/reservation_not_picked_up?{PERIOD}"
        ))
        .await;
    let csrf = web::csrf_in(&body).expect("csrf");
    let fields = [
        ("csrf", csrf.as_str()),
        ("rule", "reservation_not_picked_up"),
        ("from", "2026-03-01"),
        ("to", "2026-06-30"),
        ("lang", "en"),
        ("acknowledged", "on"),
        ("note", "Called the MI01 manager"),
    ];
    let reply = cx.post_form("/journeys/pain-note", &fields).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(
        reply.location(),
        "/journeys/pain/reservation_not_picked_up?from=2026-03-01&to=2026-06-30&lang=en&ok=saved"
    );
    assert_eq!(
        t.count(
            "SELECT count(*) FROM pain_point_notes WHERE rule = 'reservation_not_picked_up' \
             AND acknowledged_by = 'cx@test.it' AND note = 'Called the MI01 manager'"
        ),
        1
    );
    assert_eq!(
        t.count(
            "SELECT count(*) FROM audit_log WHERE action = 'pain_point.note' \
             AND actor = 'cx@test.it' AND subject = 'reservation_not_picked_up'"
        ),
        1
    );
    let after = cx.page(reply.location()).await;
    assert!(after.contains("Called the MI01 manager") && after.contains("Saved."));
    let list = cx.page(&format!("/journeys?{PERIOD}")).await;
    assert!(list.contains(">acknowledged<"));
    // Un-ticking the box withdraws the acknowledgement and keeps the note as sent.
    let withdraw = [
        ("csrf", csrf.as_str()),
        ("rule", "reservation_not_picked_up"),
        ("note", "Waiting for the new pickup desk"),
    ];
    let reply = cx.post_form("/journeys/pain-note", &withdraw).await;
    assert!(
        reply.location().ends_with("ok=saved"),
        "{}",
        reply.location()
    );
    assert_eq!(
        t.count(
            "SELECT count(*) FROM pain_point_notes WHERE acknowledged_at IS NULL \
             AND acknowledged_by IS NULL AND note = 'Waiting for the new pickup desk'"
        ),
        1
    );
    assert_eq!(
        t.count("SELECT count(*) FROM audit_log WHERE action = 'pain_point.note'"),
        2
    );
    // A forged post (no token) changes nothing.
    let forged = cx
        .post_form(
            "/journeys/pain-note",
            &[("rule", "reservation_not_picked_up"), ("note", "x")],
        )
        .await;
    assert!(
        forged.location().contains("error="),
        "{}",
        forged.location()
    );
    assert_eq!(
        t.count("SELECT count(*) FROM pain_point_notes WHERE note = 'x'"),
        0
    );
    // The executive may not.
    let mut ceo = web::signed_in(&t.db, "ceo@test.it").await;
    let token = ceo.csrf().await;
    let refused = ceo
        .post_form(
            "/journeys/pain-note",
            &[("csrf", &token), ("rule", "bad_after_sale"), ("note", "y")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journey_shows_its_steps_and_the_pain_point_it_hit() {
    let t = data();
    let q3 = customer_of(&t, "q3@x.it");
    let journey: i64 = {
        let conn = t.db.connect().expect("connection");
        conn.query_row(
            "SELECT journey_id FROM journeys WHERE customer_id = ?",
            [q3],
            |r| r.get(0),
        )
        .expect("journey")
    };
    let mut cx = web::signed_in(&t.db, "cx@test.it").await;
    let body = cx
        .page(&format!("/journeys/journey/{journey}?{PERIOD}"))
        .await;
    for expected in [
        "2026-03-02 10:00",
        "reservation",
        "RM02",
        "abandoned",
        "⚠ reservation_not_picked_up",
        &format!("/customer/{q3}?lang=en"),
    ] {
        assert!(body.contains(expected), "{expected} missing");
    }
    let missing = cx.page("/journeys/journey/999999?lang=en").await;
    assert!(missing.contains("no journey 999999"));
}

/// Searches `q` through the customer search form post; returns the redirect's location.
async fn search(browser: &mut Browser, q: &str) -> String {
    let form = browser.page("/customer?lang=en").await;
    assert!(form.contains("action=\"/customer/search\""), "a post form");
    let csrf = web::csrf_in(&form).expect("csrf in the search form");
    let reply = browser
        .post_form(
            "/customer/search",
            &[("csrf", &csrf), ("q", q), ("lang", "en")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    reply.location().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_customer_360_masks_identifiers_for_roles_without_personal_data() {
    let t = data();
    let anna = customer_of(&t, "anna.rossi@x.it");
    let mut cx = web::signed_in(&t.db, "cx@test.it").await;
    // The search posts the card number and lands on her customer number: no identifier in
    // any URL.
    let found = search(&mut cx, "L000123").await;
    assert_eq!(found, format!("/customer/{anna}?lang=en"));
    let body = cx.page(&found).await;
    for expected in [
        "anna.rossi@x.it",
        "L000123",
        "€40.00", // lifetime revenue: one order
        "2026-02-10 10:00",
        "2026-02-10 10:20",
    ] {
        assert!(body.contains(expected), "{expected} missing");
    }
    assert!(!body.contains("/customer/erase"), "only admins may erase");
    // The executive finds her by the same identifier and sees it masked.
    let mut ceo = web::signed_in(&t.db, "ceo@test.it").await;
    let masked = ceo.page(&format!("/customer/{anna}?lang=en")).await;
    assert!(masked.contains("a***@x.it"), "masked e-mail");
    assert!(masked.contains("****123"), "masked card");
    assert!(!masked.contains("anna.rossi"), "no e-mail anywhere");
    assert!(!masked.contains("L000123"), "no card anywhere");
    assert!(
        masked.contains("€40.00"),
        "the numbers and the timeline stay"
    );
    assert!(masked.contains("2026-02-10 10:20"));
    let searched_at = search(&mut ceo, "anna.rossi@x.it").await;
    assert_eq!(searched_at, format!("/customer/{anna}?lang=en"));
    let searched = ceo.page(&searched_at).await;
    assert!(searched.contains("a***@x.it") && !searched.contains("anna.rossi"));
    // A miss says so without repeating the identifier.
    let nobody = search(&mut ceo, "nobody@x.it").await;
    assert!(nobody.starts_with("/customer?lang=en&error="), "{nobody}");
    assert!(!nobody.contains("nobody"), "{nobody}");
    assert!(
        ceo.page(&nobody)
            .await
            .contains("no customer has this identifier")
    );
    // The old GET search finds nobody: an identifier in a URL is not a search any more.
    let old = ceo.page("/customer?q=L000123&lang=en").await;
    assert!(!old.contains("a***@x.it") && !old.contains("€40.00"));
    // Without the session's token the post is refused.
    let forged = ceo
        .post_form("/customer/search", &[("csrf", "forged"), ("q", "L000123")])
        .await;
    assert!(
        forged.location().contains("error="),
        "{}",
        forged.location()
    );
    assert!(!forged.location().contains(&anna.to_string()));
    // A viewer may not search at all.
    let mut viewer = web::signed_in(&t.db, "viewer@test.it").await;
    let token = viewer.csrf().await;
    let refused = viewer
        .post_form("/customer/search", &[("csrf", &token), ("q", "L000123")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_erases_a_customer_and_the_cx_officer_may_not() {
    let t = data();
    let anna = customer_of(&t, "anna.rossi@x.it");
    let id = anna.to_string();
    // The CX officer is refused by the policy.
    let mut cx = web::signed_in(&t.db, "cx@test.it").await;
    let token = cx.csrf().await;
    let refused = cx
        .post_form(
            "/customer/erase",
            &[("csrf", &token), ("customer_id", &id), ("confirm", &id)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        t.count("SELECT count(*) FROM events WHERE email = 'anna.rossi@x.it'"),
        2
    );
    // The admin must type the number.
    let mut admin = web::signed_in(&t.db, "admin@test.it").await;
    let body = admin.page(&format!("/customer/{anna}?lang=en")).await;
    assert!(body.contains("action=\"/customer/erase\""));
    let csrf = web::csrf_in(&body).expect("csrf");
    let typo = format!("{id}0");
    let wrong = admin
        .post_form(
            "/customer/erase",
            &[("csrf", &csrf), ("customer_id", &id), ("confirm", &typo)],
        )
        .await;
    assert!(
        wrong.location().starts_with(&format!("/customer/{anna}?")),
        "{} {}",
        wrong.status,
        wrong.location()
    );
    assert!(wrong.location().contains("error="));
    assert_eq!(
        t.count("SELECT count(*) FROM events WHERE email = 'anna.rossi@x.it'"),
        2
    );
    let done = admin
        .post_form(
            "/customer/erase",
            &[
                ("csrf", &csrf),
                ("customer_id", &id),
                ("confirm", &id),
                ("lang", "en"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(done.location(), "/customer?lang=en&ok=erased");
    // Her two events stay, anonymous: no identifiers, no customer.
    assert_eq!(
        t.count(
            "SELECT count(*) FROM events WHERE event_id IN ('n1', 'n2') \
             AND email IS NULL AND loyalty_id IS NULL AND customer_id IS NULL"
        ),
        2
    );
    assert_eq!(
        t.count(&format!(
            "SELECT count(*) FROM identities WHERE customer_id = {anna}"
        )),
        0
    );
    // One audit row: who, which customer, the counts; no identifier value.
    let conn = t.db.connect().expect("connection");
    let (actor, subject, after): (String, String, String) = conn
        .query_row(
            "SELECT actor, subject, CAST(new_value AS VARCHAR) FROM audit_log
             WHERE action = 'customer.erase'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("audit row");
    assert_eq!(
        (actor.as_str(), subject.as_str()),
        ("admin@test.it", id.as_str())
    );
    assert!(after.contains("\"events_anonymised\":2"), "{after}");
    assert!(after.contains("\"identifiers_removed\":2"), "{after}");
    assert!(
        !after.contains("anna") && !after.contains("L000123"),
        "{after}"
    );
    let notice = admin.page(done.location()).await;
    assert!(notice.contains("Customer erased"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journeys_api_answers_the_same_numbers() {
    let t = data();
    let mut cx = web::signed_in(&t.db, "cx@test.it").await;
    let reply = cx
        .get("/api/v1/journeys?from=2026-03-01&to=2026-06-30")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let view: serde_json::Value = serde_json::from_str(&reply.body).expect("json");
    let s = &view["summary"];
    assert_eq!(
        (&s["journeys"], &s["converted"], &s["abandoned"], &s["open"]),
        (&4.into(), &2.into(), &1.into(), &1.into())
    );
    assert_eq!(s["revenue"], 150.0);
    assert_eq!(s["average_order_value"], 75.0);
    let reply = cx
        .get("/api/v1/pain-points?from=2026-03-01&to=2026-06-30")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let points: serde_json::Value = serde_json::from_str(&reply.body).expect("json");
    let pickup = points
        .as_array()
        .expect("list")
        .iter()
        .find(|p| p["key"] == "reservation_not_picked_up")
        .expect("rule 3");
    assert_eq!(pickup["affected_journeys"], 2);
    assert_eq!(pickup["revenue_lost"], 75.0);
    // A misspelt filter is refused, not ignored.
    let bad = cx.get("/api/v1/journeys?chanel=web").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
}

/// The `<dt>`/`<dd>` pair of the journeys summary.
fn stat(label: &str, value: &str) -> String {
    format!("<dt>{label}</dt><dd class=\"num\">{value}</dd>")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_narrow_every_number_of_the_journey_view() {
    let t = data();
    let mut cx = web::signed_in(&t.db, "cx@test.it").await;
    // Store MI01 has the reservations of q1 and q2: 2 journeys, both bought (150.00), both
    // web → store. Store RM02 has q3 (abandoned) and q4 (open): nothing bought, no hand-off.
    let mi01 = cx.page(&format!("/journeys?{PERIOD}&store=MI01")).await;
    for (label, value) in [
        ("Journeys", "2"),
        ("Converted", "2"),
        ("Abandoned", "0"),
        ("Still open", "0"),
        ("Conversion", "100.0%"),
        ("Revenue", "€150.00"),
        ("Average order value", "€75.00"),
    ] {
        assert!(mi01.contains(&stat(label, value)), "MI01: {label} {value}");
    }
    assert!(mi01.contains("web → store"));
    let rm02 = cx.page(&format!("/journeys?{PERIOD}&store=RM02")).await;
    for (label, value) in [
        ("Journeys", "2"),
        ("Converted", "0"),
        ("Abandoned", "1"),
        ("Still open", "1"),
        ("Conversion", "0.0%"),
        ("Revenue", "€0.00"),
    ] {
        assert!(rm02.contains(&stat(label, value)), "RM02: {label} {value}");
    }
    assert!(
        !rm02.contains("web → store"),
        "no hand-off in RM02's journeys"
    );
    // The filter is in the form, selected, and carried to the custom funnel.
    assert!(rm02.contains("name=\"store\""));
    assert!(rm02.contains("/journeys/funnel?from=2026-03-01&amp;to=2026-06-30&amp;store=RM02"));
    // A value no data has is refused by name.
    let bad = cx.page(&format!("/journeys?{PERIOD}&store=XX99")).await;
    assert!(bad.contains("no data has the value"), "refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flow_chart_draws_the_channel_hand_offs_with_a_table() {
    let t = data();
    let mut cx = web::signed_in(&t.db, "cx@test.it").await;
    let body = cx.page(&format!("/journeys?{PERIOD}")).await;
    // Paths: web > store (q1, q2), web (q3, q4): one band, web → store, 2 journeys.
    assert!(body.contains("<title>Flow between channels"), "the chart");
    assert!(
        body.contains("web 2") && body.contains("store 2"),
        "node labels"
    );
    let table = &body[body.find("id=\"flow\"").expect("flow figure")..];
    let table = &table[..table.find("</figure>").expect("figure end")];
    assert!(table.contains("<polygon"), "a band");
    let row = "<td class=\"num\">1</td><th scope=\"row\">web</th><th scope=\"row\">store</th>\
               <td class=\"num\">2</td>";
    assert!(table.contains(row), "{table}");
    // Only store RM02: no journey changes channel, no band, an empty table.
    let rm02 = cx.page(&format!("/journeys?{PERIOD}&store=RM02")).await;
    let flow = &rm02[rm02.find("id=\"flow\"").expect("flow figure")..];
    let flow = &flow[..flow.find("</figure>").expect("figure end")];
    assert!(!flow.contains("<polygon") && !flow.contains("<th scope=\"row\">web"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_funnel_comes_from_the_url() {
    let t = data();
    let mut cx = web::signed_in(&t.db, "cx@test.it").await;
    // Reservation (q1..q4: 4), then a pickup at the store (q1, q2: 2, 50 %), then a purchase
    // (both, at the pickup's instant: the purchase counts after it; 2, 100 %).
    let uri = format!("/journeys/funnel?{PERIOD}&t1=reservation&t2=pickup&c2=store&t3=purchase");
    let body = cx.page(&uri).await;
    for row in [
        "<th scope=\"row\">reservation</th><td class=\"num\">4</td><td class=\"num\">n/a</td>\
         <td class=\"num\">100.0%</td>",
        "<th scope=\"row\">pickup @ store</th><td class=\"num\">2</td>\
         <td class=\"num\">50.0%</td><td class=\"num\">50.0%</td>",
        // A step that is a default step's key takes its name.
        "<th scope=\"row\">Purchase</th><td class=\"num\">2</td>\
         <td class=\"num\">100.0%</td><td class=\"num\">50.0%</td>",
    ] {
        assert!(body.contains(row), "{row} missing");
    }
    // The form holds the steps, and the period form keeps them.
    assert!(body.contains("name=\"t1\"") && body.contains("name=\"c8\""));
    assert!(body.contains("<input type=\"hidden\" name=\"t2\" value=\"pickup\""));
    // Filtered to RM02: q3 and q4 reserve, nobody picks up.
    let rm02 = cx.page(&format!("{uri}&store=RM02")).await;
    assert!(rm02.contains("<th scope=\"row\">reservation</th><td class=\"num\">2</td>"));
    assert!(rm02.contains("<th scope=\"row\">pickup @ store</th><td class=\"num\">0</td>"));
    // Without steps, the default funnel fills the form.
    let default = cx.page(&format!("/journeys/funnel?{PERIOD}")).await;
    assert!(default.contains("add_to_cart / reservation"));
    // An unknown event type is refused by name.
    let bad = cx
        .page(&format!("/journeys/funnel?{PERIOD}&t1=visit&t2=teleport"))
        .await;
    assert!(bad.contains("unknown event type"), "refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn before_and_after_an_annotation_with_the_z_test() {
    let t = data();
    let note: i64 =
        t.db.connect()
            .expect("connection")
            .query_row(
                "INSERT INTO annotations (kpi, view_key, day, text, author)
             VALUES (NULL, 'company', DATE '2026-03-02', 'New pickup desk', 'cx@test.it')
             RETURNING id",
                [],
                |r| r.get(0),
            )
            .expect("annotation");
    let mut cx = web::signed_in(&t.db, "cx@test.it").await;
    let body = cx
        .page(&format!(
            "/journeys/compare?annotation={note}&days=120&lang=en"
        ))
        .await;
    assert!(body.contains("New pickup desk"), "the note is offered");
    assert!(body.contains("Before: 2025-11-02 – 2026-03-01 · After: 2026-03-02 – 2026-06-29"));
    // Before: Anna's journey (10 February), converted: 1 of 1. After: q1..q4, 2 converted, 1
    // abandoned, 1 open: 2 of 3. Difference -33.3 pp; p = 3/4, se = sqrt(0.75 × 0.25 ×
    // (1 + 1/3)) = 0.5, z = (2/3 - 1) / 0.5 = -0.67; too few journeys to be significant.
    let conversion = &body[body.find("id=\"compare-conversion\"").expect("table")..];
    let conversion = &conversion[..conversion.find("</section>").expect("end")];
    for expected in [
        "100.0% (1 of 1)",
        "66.7% (2 of 3)",
        "-33.3 pp",
        "0.67",
        ">no<",
    ] {
        assert!(
            conversion.contains(expected),
            "{expected} missing: {conversion}"
        );
    }
    // Rule 3 before: nothing judged; after: 2 of 3 reservations not picked up.
    let pains = &body[body.find("id=\"compare-pains\"").expect("table")..];
    let row = &pains[pains.find("Reservation not picked up").expect("rule 3")..];
    let row = &row[..row.find("</tr>").expect("row end")];
    assert!(
        row.contains("n/a (0 of 0)") && row.contains("66.7% (2 of 3)"),
        "{row}"
    );
    // A day instead of a note gives the same windows.
    let by_day = cx
        .page("/journeys/compare?at=2026-03-02&days=120&lang=en")
        .await;
    assert!(by_day.contains("66.7% (2 of 3)"));
    // A store filter narrows both sides: MI01 after is q1, q2 (2 of 2), before nothing.
    let mi01 = cx
        .page("/journeys/compare?at=2026-03-02&days=120&lang=en&store=MI01")
        .await;
    assert!(mi01.contains("n/a (0 of 0)") && mi01.contains("100.0% (2 of 2)"));
    let bad = cx
        .page("/journeys/compare?at=2026-03-02&days=0&lang=en")
        .await;
    assert!(bad.contains("days: a number from 1 to 366"));
}
