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
use web::{Browser, PASSWORD};

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
    let reserve = |id: &str, at: &str, email: &str, order: &str, store: &str| {
        ev(id, at, "reservation")
            .channel("web")
            .email(email)
            .order(order)
            .set("store_id", store)
    };
    let pickup = |id: &str, at: &str, email: &str, order: &str| {
        ev(id, at, "pickup")
            .channel("store")
            .email(email)
            .order(order)
    };
    let buy = |id: &str, at: &str, email: &str, order: &str, amount: &str| {
        ev(id, at, "purchase")
            .channel("store")
            .email(email)
            .order(order)
            .amount(amount)
    };
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

async fn signed_in(t: &TestDb, email: &str) -> Browser {
    let mut browser = Browser::new(web::router(&t.db));
    let reply = browser.sign_in(email, PASSWORD).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    browser
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

async fn page(browser: &mut Browser, uri: &str) -> String {
    let reply = browser.get(uri).await;
    assert_eq!(reply.status, StatusCode::OK, "{uri}: {}", reply.body);
    reply.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journey_view_shows_the_period_and_ranks_the_pain_points() {
    let t = data();
    let mut cx = signed_in(&t, "cx@test.it").await;
    let body = page(&mut cx, &format!("/journeys?{PERIOD}")).await;
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
    let mut viewer = signed_in(&t, "viewer@test.it").await;
    let home = page(&mut viewer, "/?lang=en&from=2026-03-01&to=2026-03-31").await;
    assert!(!home.contains("href=\"/journeys"));
    let refused = viewer.get(&format!("/journeys?{PERIOD}")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pain_point_page_shows_its_numbers_trend_breakdown_and_examples() {
    let t = data();
    let mut cx = signed_in(&t, "cx@test.it").await;
    let body = page(
        &mut cx,
        &format!("/journeys/pain/reservation_not_picked_up?{PERIOD}"),
    )
    .await;
    for expected in [
        "Reservation not picked up",
        ">3<",    // judged
        "50.0%",  // conversion when affected, and the gap
        "100.0%", // conversion of the comparison; RM02's share affected
        "2 × 50.0% × €75.00 = €75.00",
        "2026-03", // the trend's month
        "MI01",
        "RM02",
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
    let mut ceo = signed_in(&t, "ceo@test.it").await;
    let seen = page(
        &mut ceo,
        &format!("/journeys/pain/reservation_not_picked_up?{PERIOD}"),
    )
    .await;
    assert!(seen.contains("2 × 50.0% × €75.00 = €75.00"));
    assert!(!seen.contains("name=\"acknowledged\""));
    // An unknown pain point says so.
    let unknown = page(&mut cx, &format!("/journeys/pain/no_such_rule?{PERIOD}")).await;
    assert!(unknown.contains("not found: pain point no_such_rule"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cx_officer_acknowledges_a_pain_point_with_a_note() {
    let t = data();
    let mut cx = signed_in(&t, "cx@test.it").await;
    let body = page(
        &mut cx,
        &format!("/journeys/pain/reservation_not_picked_up?{PERIOD}"),
    )
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
    let after = page(&mut cx, reply.location()).await;
    assert!(after.contains("Called the MI01 manager") && after.contains("Saved."));
    let list = page(&mut cx, &format!("/journeys?{PERIOD}")).await;
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
    let mut ceo = signed_in(&t, "ceo@test.it").await;
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
    let mut cx = signed_in(&t, "cx@test.it").await;
    let body = page(&mut cx, &format!("/journeys/journey/{journey}?{PERIOD}")).await;
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
    let missing = page(&mut cx, "/journeys/journey/999999?lang=en").await;
    assert!(missing.contains("no journey 999999"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_customer_360_masks_identifiers_for_roles_without_personal_data() {
    let t = data();
    let anna = customer_of(&t, "anna.rossi@x.it");
    let mut cx = signed_in(&t, "cx@test.it").await;
    let body = page(&mut cx, "/customer?q=L000123&lang=en").await;
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
    let mut ceo = signed_in(&t, "ceo@test.it").await;
    let masked = page(&mut ceo, &format!("/customer/{anna}?lang=en")).await;
    assert!(masked.contains("a***@x.it"), "masked e-mail");
    assert!(masked.contains("****123"), "masked card");
    assert!(!masked.contains("anna.rossi"), "no e-mail anywhere");
    assert!(!masked.contains("L000123"), "no card anywhere");
    assert!(masked.contains("€40.00"));
    let searched = page(&mut ceo, "/customer?q=L000123&lang=en").await;
    assert!(searched.contains("a***@x.it") && !searched.contains("anna.rossi"));
    let nobody = page(&mut ceo, "/customer?q=nobody%40x.it&lang=en").await;
    assert!(nobody.contains("no customer has the identifier"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_erases_a_customer_and_the_cx_officer_may_not() {
    let t = data();
    let anna = customer_of(&t, "anna.rossi@x.it");
    let id = anna.to_string();
    // The CX officer is refused by the policy.
    let mut cx = signed_in(&t, "cx@test.it").await;
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
    let mut admin = signed_in(&t, "admin@test.it").await;
    let body = page(&mut admin, &format!("/customer/{anna}?lang=en")).await;
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
    let notice = page(&mut admin, done.location()).await;
    assert!(notice.contains("Customer erased"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journeys_api_answers_the_same_numbers() {
    let t = data();
    let mut cx = signed_in(&t, "cx@test.it").await;
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
