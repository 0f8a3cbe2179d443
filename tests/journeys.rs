//! Journeys, funnels, paths, hand-offs, pain point rules and the customer 360 on small
//! hand-made data sets; every expected value is worked out in the comments.

mod common;

use common::{Ev, TestDb, ev};
use omnikpi::i18n::Locale;
use omnikpi::journey::{FunnelStepDef, PainPoint};
use omnikpi::server::journey::{self, customer, funnel, handoff, pain, paths};
use omnikpi::server::kpi::{Filters, Period};

fn period(from: &str, to: &str) -> Period {
    Period::parse(from, to).expect("period")
}

/// An anonymous store visit that only moves the data's clock (the latest event) to `at`.
fn clock(at: &str) -> Ev {
    ev("clock", at, "visit").channel("store")
}

fn journeys_of(t: &TestDb) -> Vec<(i32, String, String, f64, String)> {
    let conn = t.db.connect().expect("connection");
    let mut stmt = conn
        .prepare(
            "SELECT steps, status, path, CAST(revenue AS DOUBLE), entry_channel FROM journeys
             ORDER BY started_at",
        )
        .expect("prepare");
    stmt.query_map([], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })
    .expect("query")
    .collect::<Result<_, _>>()
    .expect("rows")
}

fn s(v: &str) -> String {
    v.to_string()
}

#[test]
fn journeys_end_at_purchases_and_inactivity_and_take_events_stitched_later() {
    let t = TestDb::new();
    // First load: a cookie nobody is known by yet clicks an ad and browses.
    t.load_events(&[
        ev("a1", "2026-03-01T10:00:00+01:00", "click")
            .channel("ads")
            .cookie("ck1")
            .set("attributes", r#"{"shoppable":true}"#),
        ev("a2", "2026-03-01T10:01:00+01:00", "visit")
            .channel("web")
            .cookie("ck1"),
        ev("a3", "2026-03-01T10:05:00+01:00", "product_view")
            .channel("web")
            .cookie("ck1"),
    ]);
    assert_eq!(
        t.count("SELECT count(*) FROM journeys"),
        0,
        "anonymous: no journey"
    );

    // Second load: the checkout links the cookie to a@x.it, so the click joins her journey.
    t.load_events(&[
        ev("a4", "2026-03-02T09:00:00+01:00", "add_to_cart")
            .channel("web")
            .cookie("ck1"),
        // Two lines of order A: one step worth 150.00.
        ev("a5", "2026-03-02T09:10:00+01:00", "purchase")
            .channel("web")
            .email("a@x.it")
            .cookie("ck1")
            .order("A")
            .amount("100.00"),
        ev("a6", "2026-03-02T09:10:00+01:00", "purchase")
            .channel("web")
            .email("a@x.it")
            .cookie("ck1")
            .order("A")
            .amount("50.00"),
        // After the purchase a new journey: store, web, store (repeats are not consecutive).
        ev("a7", "2026-03-05T11:00:00+01:00", "visit")
            .channel("store")
            .email("a@x.it"),
        ev("a8", "2026-03-06T11:00:00+01:00", "visit")
            .channel("web")
            .cookie("ck1"),
        ev("a9", "2026-03-07T11:00:00+01:00", "visit")
            .channel("store")
            .email("a@x.it"),
        // 30 days and 1 second after a9 (10:00 UTC on 7 March; the clocks went forward on
        // 29 March): more than the window, a new journey.
        ev("a10", "2026-04-06T12:00:01+02:00", "visit")
            .channel("web")
            .cookie("ck1"),
        // Exactly 30 × 24 h after a10: still the same journey; web, web collapses to web.
        ev("a11", "2026-05-06T12:00:01+02:00", "visit")
            .channel("web")
            .cookie("ck1"),
        // After-sale events are not steps.
        ev("a12", "2026-03-03T10:00:00+01:00", "survey")
            .email("a@x.it")
            .set("score", "9")
            .set("score_scale", "nps"),
        clock("2026-07-01T10:00:00+02:00"),
    ]);
    assert_eq!(
        journeys_of(&t),
        [
            (5, s("converted"), s("ads > web"), 150.0, s("ads")),
            (3, s("abandoned"), s("store > web > store"), 0.0, s("store")),
            (2, s("abandoned"), s("web"), 0.0, s("web")),
        ]
    );
    assert_eq!(
        t.count("SELECT count(*) FROM journey_steps WHERE event_id = 'a1' AND step = 1"),
        1,
        "the click stitched by a later checkout is the first step"
    );

    let conn = t.db.connect().expect("connection");
    let march = period("2026-03-01", "2026-03-31");
    let summary = funnel::summary(&conn, &march, &Filters::none()).expect("summary");
    assert_eq!(
        (summary.journeys, summary.converted, summary.abandoned),
        (2, 1, 1)
    );
    assert_eq!(summary.conversion, Some(0.5));
    assert_eq!(summary.average_order_value, Some(150.0));
    // A filter keeps journeys with a matching step: only the first has an ads step.
    let ads = Filters::parse([("channel", "ads")]).expect("filter");
    assert_eq!(
        funnel::summary(&conn, &march, &ads)
            .expect("summary")
            .journeys,
        1
    );

    let spring = period("2026-03-01", "2026-05-31");
    let top = paths::top_paths(&conn, &spring, &Filters::none(), None, 10).expect("paths");
    let listed: Vec<(Vec<String>, u64, Option<f64>)> = top
        .iter()
        .map(|p| (p.path.clone(), p.journeys, p.conversion))
        .collect();
    assert_eq!(
        listed,
        [
            (vec![s("ads"), s("web")], 1, Some(1.0)),
            (vec![s("store"), s("web"), s("store")], 1, Some(0.0)),
            (vec![s("web")], 1, Some(0.0)),
        ]
    );
    assert_eq!(top[0].revenue, 150.0);
    let cut = paths::top_paths(&conn, &spring, &Filters::none(), Some(2), 10).expect("paths");
    assert_eq!(cut[1].path, [s("store"), s("web")]);
    let flow = paths::flow(&conn, &spring, &Filters::none(), 3).expect("flow");
    let links: Vec<(u32, String, String, u64)> = flow
        .into_iter()
        .map(|l| (l.position, l.from, l.to, l.journeys))
        .collect();
    assert_eq!(
        links,
        [
            (0, s("ads"), s("web"), 1),
            (0, s("store"), s("web"), 1),
            (1, s("web"), s("store"), 1),
        ]
    );

    // The rebuild from the command line gives the same journeys.
    assert_eq!(journey::rebuild(&t.db).expect("rebuild"), 3);
    assert_eq!(journeys_of(&t).len(), 3);
}

#[test]
fn a_shorter_inactivity_window_cuts_more_journeys() {
    let t = TestDb::new();
    t.set_setting("journey_inactivity_days", "2");
    t.load_events(&[
        ev("b1", "2026-03-01T10:00:00+01:00", "visit")
            .channel("web")
            .email("b@x.it"),
        // 2 days: same journey; 2 days and a minute: a new one.
        ev("b2", "2026-03-03T10:00:00+01:00", "visit")
            .channel("web")
            .email("b@x.it"),
        ev("b3", "2026-03-05T10:01:00+01:00", "visit")
            .channel("app")
            .email("b@x.it"),
        // Within 2 days of b3 and the latest event: still open.
        clock("2026-03-06T10:00:00+01:00"),
    ]);
    let rows: Vec<(i32, String)> = journeys_of(&t)
        .into_iter()
        .map(|(n, status, ..)| (n, status))
        .collect();
    assert_eq!(rows, [(2, s("abandoned")), (1, s("open"))]);
}

#[test]
fn funnel_medians_and_the_hand_off_matrix() {
    let t = TestDb::new();
    let c1 = "c1@x.it";
    let c2 = "c2@x.it";
    t.load_events(&[
        // c1: click 10:00, visit 10:10, view 10:30, cart 11:00, purchase 12:00.
        ev("f1", "2026-03-10T10:00:00+01:00", "click")
            .channel("ads")
            .email(c1),
        ev("f2", "2026-03-10T10:10:00+01:00", "visit")
            .channel("web")
            .email(c1),
        ev("f3", "2026-03-10T10:30:00+01:00", "product_view")
            .channel("web")
            .email(c1),
        ev("f4", "2026-03-10T11:00:00+01:00", "add_to_cart")
            .channel("web")
            .email(c1),
        ev("f5", "2026-03-10T12:00:00+01:00", "purchase")
            .channel("web")
            .email(c1)
            .order("F1")
            .amount("80.00"),
        // c2: click 09:00, visit 09:30, view 10:30, then nothing.
        ev("g1", "2026-03-11T09:00:00+01:00", "click")
            .channel("ads")
            .email(c2),
        ev("g2", "2026-03-11T09:30:00+01:00", "visit")
            .channel("web")
            .email(c2),
        ev("g3", "2026-03-11T10:30:00+01:00", "product_view")
            .channel("web")
            .email(c2),
        // c3: a store visit and a purchase 45 minutes later.
        ev("h1", "2026-03-12T10:00:00+01:00", "visit")
            .channel("store")
            .email("c3@x.it"),
        ev("h2", "2026-03-12T10:45:00+01:00", "purchase")
            .channel("store")
            .email("c3@x.it")
            .order("H1")
            .amount("40.00"),
        // After the ads > web hand-offs (c1 at 10:10 on 10 March, c2 at 09:30 on 11 March):
        // a complaint and an NPS 9 of c1, an NPS 5 of c2 within 30 days, and an NPS 0 of c2
        // a day too late (30 × 24 h after 08:30 UTC on 11 March is 08:30 UTC on 10 April).
        ev("x1", "2026-03-12T10:00:00+01:00", "complaint")
            .channel("web")
            .email(c1),
        ev("x2", "2026-03-15T10:00:00+01:00", "survey")
            .email(c1)
            .set("score", "9")
            .set("score_scale", "nps"),
        ev("x3", "2026-03-20T10:00:00+01:00", "survey")
            .email(c2)
            .set("score", "5")
            .set("score_scale", "nps"),
        ev("x4", "2026-04-11T10:31:00+02:00", "survey")
            .email(c2)
            .set("score", "0")
            .set("score_scale", "nps"),
        clock("2026-07-01T10:00:00+02:00"),
    ]);
    let conn = t.db.connect().expect("connection");
    let march = period("2026-03-01", "2026-03-31");
    let report = funnel::funnel(
        &conn,
        &march,
        &Filters::none(),
        &FunnelStepDef::cross_channel(),
    )
    .expect("funnel");
    let steps: Vec<(u64, Option<f64>, Option<f64>)> = report
        .overall
        .steps
        .iter()
        .map(|s| {
            (
                s.journeys,
                s.conversion_from_previous,
                s.median_hours_from_previous.map(|h| (h * 60.0).round()),
            )
        })
        .collect();
    // Medians in minutes: visit (10, 30) -> 20; view (20, 60) -> 40; cart 30; purchase 60.
    assert_eq!(
        steps,
        [
            (2, None, None),
            (2, Some(1.0), Some(20.0)),
            (2, Some(1.0), Some(40.0)),
            (1, Some(0.5), Some(30.0)),
            (1, Some(1.0), Some(60.0)),
        ]
    );
    assert_eq!(report.overall.steps[4].conversion_from_first, Some(0.5));
    // Read one journey at a time, the steps add up to the same funnel.
    let [one_by_one] = funnel::funnels_in(
        &conn,
        &march,
        &Filters::none(),
        [&FunnelStepDef::cross_channel()[..]],
        1,
    )
    .expect("funnel read in pieces");
    assert_eq!(one_by_one, report);
    let entries: Vec<(Option<String>, u64)> = report
        .by_entry_channel
        .iter()
        .map(|f| (f.entry_channel.clone(), f.steps[0].journeys))
        .collect();
    assert_eq!(entries, [(Some(s("ads")), 2), (Some(s("store")), 0)]);

    let store = funnel::funnel(&conn, &march, &Filters::none(), &FunnelStepDef::store())
        .expect("store funnel");
    assert_eq!(store.overall.steps[1].journeys, 1);
    assert_eq!(
        store.overall.steps[1].median_hours_from_previous,
        Some(0.75)
    );

    let bad = vec![FunnelStepDef::new("x", &["teleport"], &[]); 2];
    assert!(funnel::funnel(&conn, &march, &Filters::none(), &bad).is_err());

    let matrix = handoff::matrix(&conn, &march, &Filters::none()).expect("matrix");
    assert_eq!(matrix.len(), 1, "{matrix:?}");
    let h = &matrix[0];
    assert_eq!((h.from.as_str(), h.to.as_str()), ("ads", "web"));
    assert_eq!((h.journeys, h.converted, h.conversion), (2, 1, Some(0.5)));
    assert_eq!(h.median_hours.map(|v| (v * 60.0).round()), Some(20.0));
    assert_eq!((h.complaints, h.surveys), (1, 2));
    assert_eq!(h.average_survey_score, Some(7.0));
}

/// The rules' minimum volumes set to 1 for hand-made data (settings `pain.<rule>.min_volume`).
fn small_volumes(t: &TestDb) {
    let conn = t.db.connect().expect("connection");
    for rule in pain::Rules::builtin().all() {
        conn.execute(
            "INSERT INTO settings (key, value) VALUES (?, '1')",
            [format!("pain.{}.min_volume", rule.key)],
        )
        .expect("setting");
    }
}

fn point<'a>(points: &'a [PainPoint], key: &str) -> &'a PainPoint {
    points.iter().find(|p| p.key == key).expect("pain point")
}

#[test]
fn availability_chats_are_judged_over_seven_days_of_absolute_time() {
    let t = TestDb::new();
    small_volumes(&t);
    t.load_events(&[
        // r1: 23:30 on 28 March (UTC+1); the clocks go forward that night, so 7 × 24 h later
        // is 00:30 on 5 April (UTC+2). A purchase then is within the window.
        ev("c1", "2026-03-28T23:30:00+01:00", "chat_start")
            .channel("chat")
            .email("r1@x.it")
            .set("topic", "availability"),
        ev("p1", "2026-04-05T00:30:00+02:00", "purchase")
            .channel("web")
            .email("r1@x.it")
            .order("P1")
            .amount("100.00"),
        // r2: a purchase 7 days and 1 second after the chat: the chat failed.
        ev("c2", "2026-03-10T12:00:00+01:00", "chat_start")
            .channel("chat")
            .email("r2@x.it")
            .set("topic", "Availability"),
        ev("p2", "2026-03-17T12:00:01+01:00", "purchase")
            .channel("web")
            .email("r2@x.it")
            .order("P2")
            .amount("60.00"),
        // The comparison group: chats on other topics, one of two followed by a purchase.
        ev("c3", "2026-03-10T12:00:00+01:00", "chat_start")
            .channel("chat")
            .email("r3@x.it")
            .set("topic", "sizing"),
        ev("p3", "2026-03-12T12:00:00+01:00", "purchase")
            .channel("web")
            .email("r3@x.it")
            .order("P3")
            .amount("80.00"),
        ev("c4", "2026-03-10T12:00:00+01:00", "chat_start")
            .channel("chat")
            .email("r4@x.it")
            .set("phone", "333 123 4567")
            .set("topic", "delivery"),
        clock("2026-07-01T10:00:00+02:00"),
    ]);
    let conn = t.db.connect().expect("connection");
    let spring = period("2026-03-01", "2026-04-30");
    let points = pain::pain_points(&conn, &spring, &Filters::none(), Locale::En).expect("pain");
    let p = point(&points, "availability_chat_no_purchase");
    // Exposed: r1 and r2; affected: r2 (no purchase within 7 days, so conversion 0).
    // Reference: r3 bought, r4 did not: 0.5. Gap 0.5. Average order value of the converted
    // journeys (r1 100, r2 60, r3 80): 80. Lost: 1 × 0.5 × 80 = 40.
    assert_eq!((p.exposed_journeys, p.affected_journeys), (2, 1));
    assert_eq!(p.reference_journeys, 2);
    assert_eq!(p.conversion_affected, Some(0.0));
    assert_eq!(p.conversion_reference, Some(0.5));
    assert_eq!(p.average_order_value, Some(80.0));
    assert!((p.revenue_lost - 40.0).abs() < 1e-9, "{}", p.revenue_lost);
    assert_eq!(
        p.formula,
        "1 affected journeys × 50.0 % conversion gap × €80.00 average order value = €40.00"
    );
    assert_eq!(p.examples.len(), 1);
    // The example opens r2's journey: the failed chat (marked), then the late purchase.
    let detail = customer::journey(&conn, p.examples[0].journey_id).expect("journey");
    assert_eq!(detail.customer_id, p.examples[0].customer_id);
    assert_eq!(
        (detail.status.as_str(), detail.revenue),
        ("converted", 60.0)
    );
    assert_eq!(detail.path, [s("chat"), s("web")]);
    let marks: Vec<(&str, Vec<String>)> = detail
        .steps
        .iter()
        .map(|e| (e.event_id.as_str(), e.pain_points.clone()))
        .collect();
    assert_eq!(
        marks,
        [
            ("c2", vec![s("availability_chat_no_purchase")]),
            ("p2", vec![])
        ]
    );
    assert!(customer::journey(&conn, 999_999).is_err());
    assert_eq!(p.trend.len(), 1);
    assert_eq!(
        (p.trend[0].month.as_str(), p.trend[0].affected),
        ("2026-03", 1)
    );

    // A tighter window from the settings: with 1 day, r1's purchase is late too.
    conn.execute(
        "INSERT INTO settings (key, value) VALUES \
         ('pain.availability_chat_no_purchase.failure_days', '1'), \
         ('pain.availability_chat_no_purchase.outcome_days', '1')",
        [],
    )
    .expect("setting");
    let points = pain::pain_points(&conn, &spring, &Filters::none(), Locale::En).expect("pain");
    assert_eq!(
        point(&points, "availability_chat_no_purchase").affected_journeys,
        2
    );
    conn.execute(
        "DELETE FROM settings WHERE key LIKE 'pain.availability_chat_no_purchase.%_days'",
        [],
    )
    .expect("setting");

    // The customer 360 finds r2 by any spelling of the e-mail and marks the failed chat.
    let r2 = customer::find(&conn, "  R2@X.it ").expect("found");
    let profile = customer::profile(&conn, r2).expect("profile");
    let chat = profile
        .timeline
        .iter()
        .find(|e| e.event_id == "c2")
        .expect("chat in the timeline");
    assert_eq!(chat.pain_points, ["availability_chat_no_purchase"]);
    assert!(chat.journey_id.is_some());
    assert_eq!((profile.orders, profile.lifetime_revenue), (1, 60.0));
    let r1 = customer::find(&conn, "r1@x.it").expect("found");
    let profile = customer::profile(&conn, r1).expect("profile");
    assert!(profile.timeline.iter().all(|e| e.pain_points.is_empty()));

    // A phone in any common spelling finds r4; then r4 is erased.
    let r4 = customer::find(&conn, "+39 333 1234567").expect("found");
    assert_eq!(
        customer::find(&conn, "0039 333 123 4567").expect("found"),
        r4
    );
    assert_eq!(customer::find(&conn, "3331234567").expect("found"), r4);
    assert!(customer::find(&conn, "nobody@x.it").is_err());
    let events_before = t.count("SELECT count(*) FROM events");
    let erased = customer::erase(&t.db, r4).expect("erased");
    assert_eq!(erased.events_anonymised, 1);
    assert_eq!(erased.identifiers_removed, 2);
    assert_eq!(erased.identifier_types, ["email", "phone"]);
    assert_eq!(t.count("SELECT count(*) FROM events"), events_before);
    assert_eq!(
        t.count("SELECT count(*) FROM events WHERE email = 'r4@x.it' OR phone IS NOT NULL"),
        0
    );
    assert!(customer::find(&conn, "r4@x.it").is_err());
    assert!(customer::profile(&conn, r4).is_err());
}

#[test]
fn clicks_landing_where_nothing_can_be_bought() {
    let t = TestDb::new();
    small_volumes(&t);
    let non_shoppable = r#"{"shoppable":false}"#;
    t.load_events(&[
        // s1: non-shoppable landing, no purchase: affected.
        ev("k1", "2026-03-10T10:00:00+01:00", "click")
            .channel("ads")
            .email("s1@x.it")
            .set("attributes", non_shoppable),
        // s4: non-shoppable landing, a purchase exactly 7 × 24 h later: not affected.
        ev("k4", "2026-03-10T10:00:00+01:00", "click")
            .channel("ads")
            .email("s4@x.it")
            .set("attributes", non_shoppable),
        ev("q4", "2026-03-17T10:00:00+01:00", "purchase")
            .channel("web")
            .email("s4@x.it")
            .amount("70.00"),
        // Reference: a shoppable landing that converts, and a click without the attribute
        // (taken as shoppable) that does not.
        ev("k2", "2026-03-10T10:00:00+01:00", "click")
            .channel("ads")
            .email("s2@x.it")
            .set("attributes", r#"{"shoppable":true}"#),
        ev("q2", "2026-03-11T10:00:00+01:00", "purchase")
            .channel("web")
            .email("s2@x.it")
            .amount("50.00"),
        ev("k3", "2026-03-10T10:00:00+01:00", "click")
            .channel("ads")
            .email("s3@x.it"),
        clock("2026-07-01T10:00:00+02:00"),
    ]);
    let conn = t.db.connect().expect("connection");
    let points = pain::pain_points(
        &conn,
        &period("2026-03-01", "2026-03-31"),
        &Filters::none(),
        Locale::En,
    )
    .expect("pain");
    let p = point(&points, "non_shoppable_landing");
    // Exposed 2, affected 1 (conversion 0); reference 2, conversion 0.5; average order value
    // (50 + 70) / 2 = 60; lost 1 × 0.5 × 60 = 30.
    assert_eq!((p.exposed_journeys, p.affected_journeys), (2, 1));
    assert_eq!(
        (p.reference_journeys, p.conversion_reference),
        (2, Some(0.5))
    );
    assert!((p.revenue_lost - 30.0).abs() < 1e-9, "{}", p.revenue_lost);
    assert_eq!(p.examples[0].at.get(..10), Some("2026-03-10"));
}

#[test]
fn reservations_not_picked_up_within_seven_days() {
    let t = TestDb::new();
    small_volumes(&t);
    let (reserve, pickup, buy) = (common::reservation, common::pickup, common::store_purchase);
    t.load_events(&[
        // q1: picked up exactly 7 × 24 h later (and paid): in time.
        reserve("v1", "2026-03-02T10:00:00+01:00", "q1@x.it", "R1", "MI01"),
        pickup("w1", "2026-03-09T10:00:00+01:00", "q1@x.it", "R1"),
        buy("y1", "2026-03-09T10:00:00+01:00", "q1@x.it", "R1", "100.00"),
        // q2: a minute late: failed, although it was bought.
        reserve("v2", "2026-03-02T10:00:00+01:00", "q2@x.it", "R2", "MI01"),
        pickup("w2", "2026-03-09T10:01:00+01:00", "q2@x.it", "R2"),
        buy("y2", "2026-03-09T10:01:00+01:00", "q2@x.it", "R2", "50.00"),
        // q3: never collected.
        reserve("v3", "2026-03-02T10:00:00+01:00", "q3@x.it", "R3", "RM02"),
        // q4: 3 days before the latest event: not judged yet.
        reserve("v4", "2026-06-28T10:00:00+02:00", "q4@x.it", "R4", "RM02"),
        clock("2026-07-01T10:00:00+02:00"),
    ]);
    let conn = t.db.connect().expect("connection");
    let points = pain::pain_points(
        &conn,
        &period("2026-03-01", "2026-06-30"),
        &Filters::none(),
        Locale::En,
    )
    .expect("pain");
    let p = point(&points, "reservation_not_picked_up");
    // Judged 3, affected 2 (q2 converted within 30 days, q3 not: 0.5); reference q1: 1.0.
    // Average order value (100 + 50) / 2 = 75; lost 2 × 0.5 × 75 = 75.
    assert_eq!((p.exposed_journeys, p.affected_journeys), (3, 2));
    assert_eq!(p.conversion_affected, Some(0.5));
    assert_eq!(
        (p.reference_journeys, p.conversion_reference),
        (1, Some(1.0))
    );
    assert!((p.revenue_lost - 75.0).abs() < 1e-9, "{}", p.revenue_lost);
    let stores: Vec<(String, u64, u64)> = p
        .breakdown
        .iter()
        .filter(|r| r.dimension == "store")
        .map(|r| (r.value.clone(), r.exposed, r.affected))
        .collect();
    assert_eq!(stores, [(s("MI01"), 2, 1), (s("RM02"), 1, 1)]);
}

#[test]
fn purchases_followed_by_a_return_a_complaint_or_a_detractor() {
    let t = TestDb::new();
    small_volumes(&t);
    let buy = |id: &str, at: &str, email: &str, order: &str, amount: &str| {
        ev(id, at, "purchase")
            .channel("web")
            .email(email)
            .order(order)
            .amount(amount)
    };
    let nps = |id: &str, at: &str, email: &str, order: &str, score: &str| {
        ev(id, at, "survey")
            .email(email)
            .order(order)
            .set("score", score)
            .set("score_scale", "nps")
    };
    t.load_events(&[
        // u1: a return exactly 30 × 24 h after the purchase (09:00 UTC on 1 and 31 March):
        // failed; never buys again.
        buy("b1", "2026-03-01T10:00:00+01:00", "u1@x.it", "P1", "100.00"),
        ev("z1", "2026-03-31T11:00:00+02:00", "return")
            .channel("web")
            .email("u1@x.it")
            .order("P1")
            .amount("100.00"),
        // u2: a complaint a second too late: not failed; buys again in May.
        buy("b2", "2026-03-01T10:00:00+01:00", "u2@x.it", "P2", "200.00"),
        ev("z2", "2026-03-31T11:00:01+02:00", "complaint")
            .channel("web")
            .email("u2@x.it")
            .order("P2"),
        buy(
            "b2b",
            "2026-05-01T10:00:00+02:00",
            "u2@x.it",
            "P2B",
            "100.00",
        ),
        // u3: an NPS of 6 (a detractor): failed; buys again in April.
        buy("b3", "2026-03-01T10:00:00+01:00", "u3@x.it", "P3", "60.00"),
        nps("z3", "2026-03-10T10:00:00+01:00", "u3@x.it", "P3", "6"),
        buy(
            "b3b",
            "2026-04-01T10:00:00+02:00",
            "u3@x.it",
            "P3B",
            "40.00",
        ),
        // u4: an NPS of 7 is not a detractor; buys again in June.
        buy("b4", "2026-03-01T10:00:00+01:00", "u4@x.it", "P4", "40.00"),
        nps("z4", "2026-03-10T10:00:00+01:00", "u4@x.it", "P4", "7"),
        buy(
            "b4b",
            "2026-06-01T10:00:00+02:00",
            "u4@x.it",
            "P4B",
            "30.00",
        ),
        clock("2026-12-31T12:00:00+01:00"),
    ]);
    let conn = t.db.connect().expect("connection");
    let points = pain::pain_points(
        &conn,
        &period("2026-03-01", "2026-03-31"),
        &Filters::none(),
        Locale::En,
    )
    .expect("pain");
    let p = point(&points, "bad_after_sale");
    // March journeys: the four first purchases. Affected u1, u3: repurchase 1 of 2 = 0.5.
    // Reference u2, u4: 2 of 2 = 1.0. Average order value (100 + 200 + 60 + 40) / 4 = 100.
    // Lost 2 × 0.5 × 100 = 100.
    assert_eq!((p.exposed_journeys, p.affected_journeys), (4, 2));
    assert_eq!(p.conversion_affected, Some(0.5));
    assert_eq!(p.conversion_reference, Some(1.0));
    assert!((p.revenue_lost - 100.0).abs() < 1e-9, "{}", p.revenue_lost);
    // Below the minimum volume the loss is not claimed.
    conn.execute(
        "UPDATE settings SET value = '3' WHERE key = 'pain.bad_after_sale.min_volume'",
        [],
    )
    .expect("setting");
    let points = pain::pain_points(
        &conn,
        &period("2026-03-01", "2026-03-31"),
        &Filters::none(),
        Locale::En,
    )
    .expect("pain");
    let p = point(&points, "bad_after_sale");
    assert!(!p.enough_volume);
    assert_eq!(p.revenue_lost, 0.0);
}

#[test]
fn a_poorly_converting_campaign_is_significant() {
    let t = TestDb::new();
    {
        let conn = t.db.connect().expect("connection");
        conn.execute(
            "INSERT INTO settings (key, value) VALUES ('pain.significance.min_volume', '10')",
            [],
        )
        .expect("setting");
    }
    // Campaign GOOD: 20 journeys, 15 convert. Campaign POOR: 20 journeys, 3 convert.
    // p = 18/40 = 0.45; se = sqrt(0.45 × 0.55 × (1/20 + 1/20)) = 0.157321; z for POOR =
    // (0.15 - 0.75) / 0.157321 = -3.8139: below -3, flagged; GOOD is above.
    let mut events = Vec::new();
    for i in 0..40 {
        let campaign = if i < 20 { "GOOD" } else { "POOR" };
        let buys = if i < 20 { i < 15 } else { i < 23 };
        let email = format!("m{i}@x.it");
        events.push(
            ev(&format!("k{i}"), "2026-03-10T10:00:00+01:00", "click")
                .channel("ads")
                .email(&email)
                .set("campaign_id", campaign),
        );
        if buys {
            events.push(
                ev(&format!("p{i}"), "2026-03-10T11:00:00+01:00", "purchase")
                    .channel("ads")
                    .email(&email)
                    .amount("10.00"),
            );
        }
    }
    events.push(clock("2026-07-01T10:00:00+02:00"));
    t.load_events(&events);
    let conn = t.db.connect().expect("connection");
    let points = pain::pain_points(
        &conn,
        &period("2026-03-01", "2026-03-31"),
        &Filters::none(),
        Locale::En,
    )
    .expect("pain");
    let flagged: Vec<&PainPoint> = points.iter().filter(|p| p.number == 5).collect();
    assert_eq!(flagged.len(), 1, "{flagged:?}");
    let p = flagged[0];
    assert_eq!(p.key, "significance:campaign:POOR");
    assert!(
        (p.z_score.expect("z") + 3.813_850).abs() < 1e-5,
        "{:?}",
        p.z_score
    );
    // Lost: 20 × (0.75 - 0.15) × 10 = 120.
    assert!((p.revenue_lost - 120.0).abs() < 1e-9, "{}", p.revenue_lost);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_service_functions_resolve_requests_and_map_errors() {
    use omnikpi::error::AppError;
    use omnikpi::server::journey::service;

    let t = TestDb::new();
    t.load_events(&[
        ev("a1", "2026-03-01T10:00:00+01:00", "visit")
            .channel("web")
            .email("a@x.it"),
        ev("a2", "2026-03-01T10:30:00+01:00", "purchase")
            .channel("web")
            .email("a@x.it")
            .amount("25.00"),
        clock("2026-07-01T10:00:00+02:00"),
    ]);
    let (from, to) = (Some(s("2026-03-01")), Some(s("2026-03-31")));
    let view = service::journey_view(&t.db, from.clone(), to.clone(), vec![])
        .await
        .expect("view");
    assert_eq!((view.summary.journeys, view.summary.converted), (1, 1));
    assert_eq!(view.summary.revenue, 25.0);
    assert_eq!(view.paths[0].path, [s("web")]);
    let unknown = vec![(s("channel"), s("fax"))];
    assert!(matches!(
        service::pain_points(&t.db, from, to, unknown, Locale::En).await,
        Err(AppError::BadRequest(_))
    ));
    assert!(matches!(
        service::find_customer(&t.db, s("nobody@x.it")).await,
        Err(AppError::NotFound(_))
    ));
    let found = service::find_customer(&t.db, s("A@x.it"))
        .await
        .expect("found");
    assert_eq!(found.timeline.len(), 2);
    let erased = service::erase_customer(&t.db, found.customer_id)
        .await
        .expect("erased");
    assert_eq!(erased.events_anonymised, 2);
    assert_eq!(t.count("SELECT count(*) FROM journeys"), 0);
}

#[test]
fn a_journey_belongs_to_the_local_day_it_starts_on() {
    let t = TestDb::new();
    // 23:30 UTC on 28 February is 00:30 on 1 March in Rome: a March journey.
    t.load_events(&[
        ev("d1", "2026-02-28T23:30:00Z", "visit")
            .channel("web")
            .email("d@x.it"),
        clock("2026-07-01T10:00:00+02:00"),
    ]);
    let conn = t.db.connect().expect("connection");
    let count = |from: &str, to: &str| {
        funnel::summary(&conn, &period(from, to), &Filters::none())
            .expect("summary")
            .journeys
    };
    assert_eq!(count("2026-02-01", "2026-02-28"), 0);
    assert_eq!(count("2026-03-01", "2026-03-31"), 1);
}
