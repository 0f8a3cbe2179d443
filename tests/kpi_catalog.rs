//! Every KPI of the contract on small hand-made fixtures. Each expected value is worked out by
//! hand in the comments beside it, from the definitions in docs/kpis.md, not by running SQL.

mod common;

use common::{Ev, TestDb, ev};
use omnikpi::server::kpi::{self, Catalog, Filters, Period};

fn db(events: &[Ev]) -> TestDb {
    let t = TestDb::new();
    t.load_events(events);
    t
}

fn value(t: &TestDb, key: &str, from: &str, to: &str) -> Option<f64> {
    let conn = t.db.connect().expect("connection");
    let period = Period::parse(from, to).expect("period");
    kpi::compute(&conn, Catalog::builtin(), &[key], &period, &Filters::none()).expect("compute")
        [key]
}

#[track_caller]
fn assert_kpi(t: &TestDb, key: &str, (from, to): (&str, &str), expected: Option<f64>) {
    let got = value(t, key, from, to);
    match (got, expected) {
        (Some(g), Some(e)) => assert!((g - e).abs() < 1e-9, "{key}: got {g}, expected {e}"),
        _ => assert_eq!(got, expected, "{key}"),
    }
}

const FEB: (&str, &str) = ("2026-02-01", "2026-02-28");

/// Sales, customers, churn and lifetime value. Customers are loyalty cards L1..L5.
fn sales() -> Vec<Ev> {
    let buy = |id: &str, at: &str, card: &str, order: &str, amount: &str, channel: &str| {
        let e = ev(id, at, "purchase")
            .channel(channel)
            .order(order)
            .amount(amount);
        if card.is_empty() { e } else { e.loyalty(card) }
    };
    vec![
        buy(
            "p0",
            "2024-06-01T10:00:00+02:00",
            "L2",
            "O0",
            "70.00",
            "store",
        ),
        buy(
            "p00",
            "2024-07-01T10:00:00+02:00",
            "L5",
            "O00",
            "30.00",
            "store",
        ),
        buy(
            "p1",
            "2025-03-10T10:00:00+01:00",
            "L1",
            "O1",
            "100.00",
            "store",
        ),
        buy(
            "p2",
            "2025-06-10T10:00:00+02:00",
            "L2",
            "O2",
            "50.00",
            "web",
        ),
        buy(
            "p3",
            "2026-02-10T10:00:00+01:00",
            "L1",
            "O3",
            "80.00",
            "store",
        ),
        buy(
            "p4",
            "2026-02-20T10:00:00+01:00",
            "L1",
            "O4",
            "20.00",
            "web",
        ),
        buy(
            "p5",
            "2026-02-15T10:00:00+01:00",
            "L3",
            "O5",
            "60.00",
            "store",
        ),
        buy(
            "p6",
            "2026-01-20T10:00:00+01:00",
            "L4",
            "O6",
            "40.00",
            "store",
        ),
        buy(
            "p7",
            "2026-02-05T10:00:00+01:00",
            "",
            "O7",
            "10.00",
            "store",
        ),
        ev("r1", "2026-02-25T10:00:00+01:00", "return")
            .channel("web")
            .loyalty("L1")
            .order("O3")
            .amount("30.00"),
    ]
}

#[test]
fn sales_kpis() {
    let t = db(&sales());
    // February: p3 80 + p4 20 + p5 60 + p7 10 (anonymous).
    assert_kpi(&t, "gross_revenue", FEB, Some(170.0));
    assert_kpi(&t, "returns_value", FEB, Some(30.0));
    assert_kpi(&t, "net_revenue", FEB, Some(140.0));
    assert_kpi(&t, "orders", FEB, Some(4.0));
    assert_kpi(&t, "aov", FEB, Some(42.5));
    // L1 and L3 bought; p7 is anonymous.
    assert_kpi(&t, "active_customers", FEB, Some(2.0));
    // Identified orders O3, O4, O5 over 2 customers; identified revenue 160.
    assert_kpi(&t, "purchase_frequency", FEB, Some(1.5));
    assert_kpi(&t, "revenue_per_customer", FEB, Some(80.0));
    // L1 has two orders, L3 one.
    assert_kpi(&t, "repeat_purchase_rate", FEB, Some(0.5));
}

#[test]
fn new_customers_count_first_purchases_in_all_history() {
    let t = db(&sales());
    // First purchases: L5 2024-07, L2 2024-06, L1 2025-03, L4 2026-01, L3 2026-02.
    assert_kpi(&t, "new_customers", FEB, Some(1.0));
    assert_kpi(&t, "new_customers", ("2026-01-01", "2026-01-31"), Some(1.0));
    assert_kpi(&t, "new_customers", ("2025-04-01", "2025-04-30"), Some(0.0));
}

#[test]
fn churn_rate_compares_with_the_previous_period() {
    let t = db(&sales());
    // Previous period of February (28 days): 4..31 January; its only buyer L4 bought nothing
    // in February.
    assert_kpi(&t, "churn_rate", FEB, Some(1.0));
    // Previous period of 1..28 March is 1..28 February: buyers L1, L3; neither buys in March.
    assert_kpi(&t, "churn_rate", ("2026-03-01", "2026-03-28"), Some(1.0));
    // Nobody bought in the 30 days before 1..30 April 2024: no buyers to measure.
    assert_kpi(&t, "churn_rate", ("2024-04-01", "2024-04-30"), None);
}

#[test]
fn clv_uses_the_last_twelve_months_and_the_margin() {
    let t = db(&sales());
    // 12 months ending 28 Feb 2026: [2025-03-01, 2026-03-01): L1 100+80+20, L2 50, L3 60,
    // L4 40 = 350 over 4 buyers = 87.5. The 12 months before: L2 and L5 bought; L5 is lost:
    // churn 1/2, lifetime min(1 / 0.5, 10) = 2. CLV = 87.5 x 1.0 x 2 = 175.
    assert_kpi(&t, "clv", FEB, Some(175.0));
    let conn = t.db.connect().expect("connection");
    conn.execute(
        "UPDATE settings SET value = '0.5' WHERE key = 'clv_margin'",
        [],
    )
    .expect("set margin");
    assert_kpi(&t, "clv", FEB, Some(87.5));
    // For a period ending June 2024 the 12 months before hold no buyer: null.
    assert_kpi(&t, "clv", ("2024-06-01", "2024-06-30"), None);
}

#[test]
fn logistics_kpis_on_returns() {
    let t = db(&sales());
    assert_kpi(&t, "return_rate", FEB, Some(30.0 / 170.0));
    // O3 returned, over the 4 February orders.
    assert_kpi(&t, "returned_orders_rate", FEB, Some(0.25));
    // O3 was bought in store and returned on the web.
    assert_kpi(&t, "cross_channel_return_rate", FEB, Some(1.0));
    // No returns in January: no denominator.
    assert_kpi(
        &t,
        "cross_channel_return_rate",
        ("2026-01-01", "2026-01-31"),
        None,
    );
}

const MARCH: (&str, &str) = ("2026-03-01", "2026-03-31");

/// M (L10 = m@x.it) is multichannel; S1 (L11) store only; S2 (s2@x.it) web only.
fn omnichannel() -> Vec<Ev> {
    vec![
        ev("i1", "2026-01-01T10:00:00+01:00", "identify")
            .channel("store")
            .loyalty("L10")
            .email("m@x.it"),
        ev("m1", "2026-03-05T10:00:00+01:00", "visit")
            .channel("web")
            .email("m@x.it"),
        ev("m2", "2026-03-08T11:00:00+01:00", "purchase")
            .channel("store")
            .loyalty("L10")
            .order("O10")
            .amount("100.00"),
        ev("m3", "2026-03-15T11:00:00+01:00", "visit")
            .channel("store")
            .loyalty("L10"),
        ev("m4", "2026-03-20T11:00:00+01:00", "purchase")
            .channel("web")
            .email("m@x.it")
            .order("O11")
            .amount("60.00"),
        ev("s1", "2026-03-10T11:00:00+01:00", "purchase")
            .channel("store")
            .loyalty("L11")
            .order("O12")
            .amount("50.00"),
        ev("s2", "2026-03-25T11:00:00+01:00", "purchase")
            .channel("store")
            .loyalty("L11")
            .order("O13")
            .amount("30.00"),
        // A brand e-mail is not an interaction: S2 stays single-channel.
        ev("s3", "2026-03-01T09:00:00+01:00", "email_sent")
            .channel("email")
            .email("s2@x.it")
            .set("campaign_id", "C0"),
        ev("s4", "2026-03-12T11:00:00+01:00", "purchase")
            .channel("web")
            .email("s2@x.it")
            .order("O14")
            .amount("40.00"),
        ev("a1", "2026-03-08T12:00:00+01:00", "visit").channel("store"),
        // Click & collect: exactly 7 days counts, a minute more does not.
        ev("r1", "2026-03-01T10:00:00+01:00", "reservation")
            .channel("web")
            .order("R1"),
        ev("k1", "2026-03-08T10:00:00+01:00", "pickup")
            .channel("store")
            .order("R1"),
        ev("r2", "2026-03-02T10:00:00+01:00", "reservation")
            .channel("web")
            .order("R2"),
        ev("k2", "2026-03-09T10:01:00+01:00", "pickup")
            .channel("store")
            .order("R2"),
        ev("r3", "2026-03-30T10:00:00+02:00", "reservation")
            .channel("web")
            .order("R3"),
    ]
}

#[test]
fn omnichannel_kpis() {
    let t = db(&omnichannel());
    // Buyers M, S1, S2; only M interacts on two channels (web and store).
    assert_kpi(&t, "omnichannel_share", MARCH, Some(1.0 / 3.0));
    // Multi: 2 orders / 1 buyer = 2; single: 3 orders / 2 buyers = 1.5.
    assert_kpi(&t, "multichannel_frequency_uplift", MARCH, Some(2.0 / 1.5));
    // Multi AOV 160 / 2 = 80; single AOV (80 + 40) / 3 = 40; 80 / 40 - 1.
    assert_kpi(&t, "multichannel_value_uplift", MARCH, Some(1.0));
    // The two sides the company view shows side by side (internal KPIs): M's 2 orders for 1
    // buyer against S1's and S2's 3 orders for 2; M's 160 / 2 against (80 + 40) / 3.
    assert_kpi(&t, "multichannel_purchase_frequency", MARCH, Some(2.0));
    assert_kpi(&t, "single_channel_purchase_frequency", MARCH, Some(1.5));
    assert_kpi(&t, "multichannel_aov", MARCH, Some(80.0));
    assert_kpi(&t, "single_channel_aov", MARCH, Some(40.0));
    // Store orders O10 (web visit 3 days before), O12, O13: 1 of 3.
    assert_kpi(&t, "webrooming_rate", MARCH, Some(1.0 / 3.0));
    // Online orders O11 (store visit 5 days before) and O14: 1 of 2.
    assert_kpi(&t, "showrooming_rate", MARCH, Some(0.5));
    // R1 picked up at exactly 7 days; R2 one minute late; R3 never.
    assert_kpi(&t, "pickup_rate", MARCH, Some(1.0 / 3.0));
    // Store visits m3 and a1; store orders O10, O12, O13.
    assert_kpi(&t, "footfall", MARCH, Some(2.0));
    assert_kpi(&t, "store_orders", MARCH, Some(3.0));
    assert_kpi(&t, "store_conversion_rate", MARCH, Some(1.5));
    // The stores' and online's revenue: store O10 100 + O12 50 + O13 30; web O11 60 + O14 40.
    assert_kpi(&t, "store_revenue", MARCH, Some(180.0));
    assert_kpi(&t, "online_revenue", MARCH, Some(100.0));
}

#[test]
fn omnichannel_kpis_are_null_without_buyers() {
    let t = db(&omnichannel());
    let april = ("2026-04-01", "2026-04-30");
    for key in [
        "omnichannel_share",
        "multichannel_frequency_uplift",
        "multichannel_value_uplift",
        "multichannel_purchase_frequency",
        "single_channel_purchase_frequency",
        "multichannel_aov",
        "single_channel_aov",
        "webrooming_rate",
        "showrooming_rate",
        "pickup_rate",
        "store_conversion_rate",
    ] {
        assert_kpi(&t, key, april, None);
    }
}

const APRIL: (&str, &str) = ("2026-04-01", "2026-04-30");

fn online() -> Vec<Ev> {
    vec![
        ev("v1", "2026-04-02T10:00:00+02:00", "visit")
            .channel("web")
            .cookie("k1"),
        ev("c1", "2026-04-02T10:05:00+02:00", "add_to_cart")
            .channel("web")
            .cookie("k1"),
        ev("b1", "2026-04-02T10:10:00+02:00", "purchase")
            .channel("web")
            .cookie("k1")
            .order("O20")
            .amount("25.00"),
        ev("v2", "2026-04-03T10:00:00+02:00", "visit")
            .channel("web")
            .cookie("k2"),
        ev("c2", "2026-04-03T10:05:00+02:00", "add_to_cart")
            .channel("web")
            .cookie("k2"),
        ev("c3", "2026-04-04T10:05:00+02:00", "add_to_cart")
            .channel("web")
            .cookie("k2"),
        ev("b2", "2026-04-04T10:10:00+02:00", "purchase")
            .channel("web")
            .cookie("k2")
            .order("O21")
            .amount("30.00"),
        ev("v3", "2026-04-05T20:00:00+02:00", "visit")
            .channel("app")
            .device("d3"),
        // Carted at 23:30 and bought ten minutes after local midnight: abandoned that day.
        ev("c4", "2026-04-05T23:30:00+02:00", "add_to_cart")
            .channel("app")
            .device("d3"),
        ev("b3", "2026-04-06T00:10:00+02:00", "purchase")
            .channel("app")
            .device("d3")
            .order("O22")
            .amount("15.00"),
        ev("v4", "2026-04-07T10:00:00+02:00", "visit")
            .channel("web")
            .cookie("k4"),
        // A visit with no identifier cannot be told apart from others: not a visitor.
        ev("v5", "2026-04-07T11:00:00+02:00", "visit").channel("web"),
    ]
}

#[test]
fn online_kpis() {
    let t = db(&online());
    assert_kpi(&t, "unique_visitors", APRIL, Some(4.0));
    // k1, k2 and d3 bought online; k4 did not.
    assert_kpi(&t, "online_conversion_rate", APRIL, Some(0.75));
    // Visitor-days with a cart: k1 2 Apr (bought), k2 3 Apr (no), k2 4 Apr (bought),
    // d3 5 Apr (bought on the 6th): 2 of 4.
    assert_kpi(&t, "cart_abandonment_rate", APRIL, Some(0.5));
    assert_kpi(&t, "online_orders", APRIL, Some(3.0));
}

const MAY: (&str, &str) = ("2026-05-01", "2026-05-31");

fn marketing() -> Vec<Ev> {
    let mut events: Vec<Ev> = (0..4)
        .map(|i| {
            ev(&format!("im{i}"), "2026-05-09T10:00:00+02:00", "impression")
                .channel("ads")
                .set("cost", "10.00")
        })
        .collect();
    events.extend([
        ev("ck", "2026-05-10T10:00:00+02:00", "click")
            .channel("ads")
            .email("a@x.it")
            .set("cost", "2.00"),
        ev("pa", "2026-05-12T10:00:00+02:00", "purchase")
            .channel("web")
            .email("a@x.it")
            .order("O30")
            .amount("100.00"),
        ev("pb", "2026-05-12T11:00:00+02:00", "purchase")
            .channel("web")
            .email("b@x.it")
            .order("O31")
            .amount("50.00"),
        // Ten days after the click: not attributed.
        ev("pc", "2026-05-20T10:00:00+02:00", "purchase")
            .channel("web")
            .email("a@x.it")
            .order("O32")
            .amount("10.00"),
        ev("e1", "2026-05-02T08:00:00+02:00", "email_sent")
            .channel("email")
            .email("a@x.it")
            .set("campaign_id", "C1"),
        ev("e2", "2026-05-02T08:00:00+02:00", "email_sent")
            .channel("email")
            .email("b@x.it")
            .set("campaign_id", "C1"),
        ev("e3", "2026-05-02T09:00:00+02:00", "email_open")
            .channel("email")
            .email("a@x.it")
            .set("campaign_id", "C1"),
        ev("e4", "2026-05-03T09:00:00+02:00", "email_open")
            .channel("email")
            .email("a@x.it")
            .set("campaign_id", "C1"),
        ev("e5", "2026-05-03T09:01:00+02:00", "email_click")
            .channel("email")
            .email("a@x.it")
            .set("campaign_id", "C1"),
        // Opened without a send in the period (forwarded): in neither side.
        ev("e6", "2026-05-03T09:00:00+02:00", "email_open")
            .channel("email")
            .email("d@x.it")
            .set("campaign_id", "C1"),
        ev("so1", "2026-05-04T09:00:00+02:00", "social_like").channel("social"),
        ev("so2", "2026-05-04T09:00:00+02:00", "social_share").channel("social"),
        ev("so3", "2026-05-04T09:00:00+02:00", "social_comment").channel("social"),
        ev("so4", "2026-05-04T09:00:00+02:00", "social_mention").channel("social"),
        ev("so5", "2026-05-04T09:00:00+02:00", "follow").channel("social"),
    ]);
    events.extend((0..8).map(|i| {
        ev(&format!("si{i}"), "2026-05-04T08:00:00+02:00", "impression").channel("social")
    }));
    events
}

#[test]
fn marketing_kpis() {
    let t = db(&marketing());
    // 4 impressions x 10 + one click at 2.
    assert_kpi(&t, "ad_spend", MAY, Some(42.0));
    assert_kpi(&t, "ad_ctr", MAY, Some(0.25));
    // Only O30 follows a@x.it's click within 7 days.
    assert_kpi(&t, "roas", MAY, Some(100.0 / 42.0));
    // a@x.it and b@x.it buy for the first time in May.
    assert_kpi(&t, "new_customers", MAY, Some(2.0));
    assert_kpi(&t, "cpa", MAY, Some(21.0));
    // C1 was sent to a and b; a opened (twice: one pair) and clicked.
    assert_kpi(&t, "email_open_rate", MAY, Some(0.5));
    assert_kpi(&t, "email_ctr", MAY, Some(0.5));
    // Like, share, comment, mention (a follow is not engagement) over 8 social impressions.
    assert_kpi(&t, "social_engagement", MAY, Some(4.0));
    assert_kpi(&t, "social_engagement_rate", MAY, Some(0.5));
}

const JUNE: (&str, &str) = ("2026-06-01", "2026-06-30");

fn service() -> Vec<Ev> {
    let survey = |id: &str, score: &str, scale: &str| {
        ev(id, "2026-06-03T10:00:00+02:00", "survey")
            .channel("email")
            .set("score", score)
            .set("score_scale", scale)
    };
    let delivery = |id: &str, at: &str, promised: &str| {
        let e = ev(id, at, "delivery").channel("web");
        if promised.is_empty() {
            e
        } else {
            e.set(
                "attributes",
                &format!("{{\"promised_date\": \"{promised}\"}}"),
            )
        }
    };
    let priced = |id: &str, channel: &str, sku: &str, price: &str| {
        ev(id, "2026-06-20T10:00:00+02:00", "purchase")
            .channel(channel)
            .set("sku", sku)
            .set("unit_price", price)
            .amount(price)
    };
    vec![
        survey("n1", "10", "nps"),
        survey("n2", "9", "nps"),
        survey("n3", "9", "nps"),
        survey("n4", "7", "nps"),
        survey("n5", "3", "nps"),
        survey("s1", "5", "csat"),
        survey("s2", "4", "csat"),
        survey("s3", "2", "csat"),
        ev("ch1", "2026-06-01T10:00:00+02:00", "chat_start")
            .channel("chat")
            .email("x@x.it"),
        ev("px", "2026-06-08T10:00:00+02:00", "purchase")
            .channel("web")
            .email("x@x.it")
            .order("O40")
            .amount("10.00"),
        ev("ch2", "2026-06-02T10:00:00+02:00", "chat_start")
            .channel("chat")
            .email("y@x.it"),
        ev("py", "2026-06-10T10:00:00+02:00", "purchase")
            .channel("web")
            .email("y@x.it")
            .order("O41")
            .amount("10.00"),
        ev("ch3", "2026-06-02T11:00:00+02:00", "chat_start").channel("chat"),
        ev("cr1", "2026-06-01T10:30:00+02:00", "chat_resolved").channel("chat"),
        ev("cr2", "2026-06-02T10:30:00+02:00", "chat_resolved").channel("chat"),
        ev("cp1", "2026-06-05T10:00:00+02:00", "complaint").channel("call_center"),
        ev("cp2", "2026-06-06T10:00:00+02:00", "complaint").channel("chat"),
        delivery("d1", "2026-06-10T15:00:00+02:00", "2026-06-10"),
        // 23:30 local on the promised day is on time (21:30 UTC).
        delivery("d2", "2026-06-12T21:30:00Z", "2026-06-12"),
        delivery("d3", "2026-06-15T09:00:00+02:00", "2026-06-14"),
        delivery("d4", "2026-06-16T09:00:00+02:00", ""),
        priced("g1", "web", "SKU1", "10.00"),
        priced("g2", "store", "SKU1", "12.00"),
        priced("g3", "store", "SKU1", "14.00"),
        priced("g4", "web", "SKU2", "20.00"),
    ]
}

#[test]
fn customer_service_kpis() {
    let t = db(&service());
    // Promoters 3, detractors 1, of 5 answers: (3 - 1) / 5 = 40 points.
    assert_kpi(&t, "nps", JUNE, Some(40.0));
    assert_kpi(&t, "csat", JUNE, Some(2.0 / 3.0));
    assert_kpi(&t, "chat_resolution_rate", JUNE, Some(2.0 / 3.0));
    // x bought exactly 7 days after the chat, y 8 days after; the anonymous chat is out.
    assert_kpi(&t, "chat_to_purchase_rate", JUNE, Some(0.5));
    assert_kpi(&t, "complaints", JUNE, Some(2.0));
}

#[test]
fn logistics_and_pricing_kpis() {
    let t = db(&service());
    // d1 and d2 on time, d3 late, d4 has no promise.
    assert_kpi(&t, "on_time_delivery_rate", JUNE, Some(2.0 / 3.0));
    // SKU1 overall 12: web 10 (gap 1/6), store 13 (gap 1/12); SKU2 web only (gap 0).
    assert_kpi(
        &t,
        "channel_price_gap",
        JUNE,
        Some((1.0 / 6.0 + 1.0 / 12.0) / 3.0),
    );
}

#[test]
fn survey_and_service_kpis_are_null_without_answers() {
    let t = db(&service());
    let july = ("2026-07-01", "2026-07-31");
    for key in [
        "nps",
        "csat",
        "chat_resolution_rate",
        "chat_to_purchase_rate",
        "on_time_delivery_rate",
        "channel_price_gap",
    ] {
        assert_kpi(&t, key, july, None);
    }
    assert_kpi(&t, "complaints", july, Some(0.0));
}

#[test]
fn every_catalog_kpi_has_a_fixture_here() {
    let source = include_str!("kpi_catalog.rs");
    for def in Catalog::builtin().all().iter().filter(|d| !d.internal) {
        assert!(
            source.contains(&format!("\"{}\"", def.key)),
            "KPI {} has no hand-computed fixture in tests/kpi_catalog.rs",
            def.key
        );
    }
}

#[test]
fn seven_day_windows_are_absolute_across_the_clock_change() {
    // Clocks go forward on 29 March 2026: from 10:00 (+01:00) on the 25th to 10:30 (+02:00)
    // on 1 April is 167.5 hours, inside 7 x 24 h (a calendar week would end at 10:00).
    let t = db(&[
        ev("r1", "2026-03-25T10:00:00+01:00", "reservation")
            .channel("web")
            .order("R1"),
        ev("k1", "2026-04-01T10:30:00+02:00", "pickup")
            .channel("store")
            .order("R1"),
    ]);
    assert_kpi(&t, "pickup_rate", MARCH, Some(1.0));
}

#[test]
fn a_cookie_seen_alone_is_not_a_customer() {
    // A guest checkout with only a cookie is a purchase and an order, not an active customer.
    let t = db(&[
        ev("g1", "2026-03-03T10:00:00+01:00", "purchase")
            .channel("web")
            .cookie("k9")
            .order("G1")
            .amount("20.00"),
        ev("g2", "2026-03-04T10:00:00+01:00", "purchase")
            .channel("web")
            .email("z@x.it")
            .order("G2")
            .amount("10.00"),
    ]);
    assert_kpi(&t, "orders", MARCH, Some(2.0));
    assert_kpi(&t, "active_customers", MARCH, Some(1.0));
    assert_kpi(&t, "new_customers", MARCH, Some(1.0));
}

#[test]
fn segments_follow_the_channel_profile_and_filter_kpis() {
    let t = db(&omnichannel());
    let gross = |segment: &str| {
        let conn = t.db.connect().expect("connection");
        let period = Period::parse(MARCH.0, MARCH.1).expect("period");
        let filters = Filters::parse([("segment", segment)]).expect("filter");
        filters.check(&conn).expect("known segment");
        kpi::compute(
            &conn,
            Catalog::builtin(),
            &["gross_revenue"],
            &period,
            &filters,
        )
        .expect("compute")["gross_revenue"]
    };
    // M buys in store and on the web (omnichannel), S1 only in store, S2 only online.
    assert_eq!(gross("omnichannel"), Some(160.0));
    assert_eq!(gross("store"), Some(80.0));
    assert_eq!(gross("online"), Some(40.0));
}

#[test]
fn review_regressions_on_deliveries_and_returns() {
    let t = db(&[
        // Promised 23:30 UTC on 12 June = 01:30 on 13 June in Rome: a delivery on the 13th
        // (local) is on time.
        ev("d1", "2026-06-13T10:00:00+02:00", "delivery")
            .channel("web")
            .set("attributes", r#"{"promised_date": "2026-06-12T23:30:00Z"}"#),
        ev("p1", "2026-06-01T10:00:00+02:00", "purchase")
            .channel("web")
            .order("O1")
            .amount("10.00"),
        // A return without a channel is not "in another channel".
        ev("r1", "2026-06-05T10:00:00+02:00", "return")
            .order("O1")
            .amount("10.00"),
    ]);
    assert_kpi(&t, "on_time_delivery_rate", JUNE, Some(1.0));
    assert_kpi(&t, "cross_channel_return_rate", JUNE, None);
}

#[test]
fn the_clv_window_is_twelve_months_even_before_a_leap_day() {
    // Period ending 28 Feb 2028 (a leap year): the 12 months are 1 Mar 2027 .. 28 Feb 2028.
    // A purchase on 28 Feb 2027 belongs to the 12 months before, not to the window.
    let buy = |id: &str, at: &str, card: &str| {
        ev(id, at, "purchase")
            .channel("store")
            .loyalty(card)
            .amount("100.00")
    };
    let t = db(&[
        buy("a", "2026-06-01T10:00:00+02:00", "L1"),
        buy("b", "2026-06-01T10:00:00+02:00", "L2"),
        buy("c", "2027-02-28T10:00:00+01:00", "L3"),
        buy("d", "2027-06-01T10:00:00+02:00", "L1"),
    ]);
    // Window: L1 100 over 1 buyer = 100. Before: L1, L2, L3 bought; L2 and L3 lost: churn
    // 2/3, lifetime 1.5. CLV = 100 x 1.0 x 1.5 = 150. A window starting on 28 Feb 2027 would
    // put L3 in it and give 100 x 2 = 200.
    assert_kpi(&t, "clv", ("2028-02-01", "2028-02-28"), Some(150.0));
}

/// The SQL the catalog renders is reviewed like code: the company view's statements for a
/// month with a channel and a store filter are kept in tests/snapshots/, and a change to the
/// rendering or to a definition shows here as a diff to read (and to commit with the change:
/// run with OMNIKPI_UPDATE_SNAPSHOTS=1 to rewrite the file).
#[test]
fn the_company_statements_render_as_reviewed() {
    let catalog = Catalog::builtin();
    let keys: Vec<&str> = catalog
        .view("company")
        .iter()
        .map(|d| d.key.as_str())
        .collect();
    let period = Period::parse("2026-03-01", "2026-03-31").expect("period");
    let filters = Filters::parse([("channel", "store,web"), ("store", "MI01")]).expect("filters");
    let mut text = String::new();
    for s in kpi::query::statements(catalog, &keys, &period, &filters).expect("statements") {
        text.push_str(&format!(
            "-- {} ({})\n{}\n\n",
            s.label,
            s.params.join(", "),
            s.sql.trim_end()
        ));
    }
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots/company_statements.sql");
    if std::env::var_os("OMNIKPI_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&file, &text).expect("write the snapshot");
        return;
    }
    let kept = std::fs::read_to_string(&file).expect("tests/snapshots/company_statements.sql");
    if kept != text {
        let line = kept
            .lines()
            .zip(text.lines())
            .position(|(a, b)| a != b)
            .map_or(kept.lines().count().min(text.lines().count()), |i| i);
        panic!(
            "the rendered SQL differs from tests/snapshots/company_statements.sql from line {}:\n\
             kept:     {:?}\nrendered: {:?}\n(review it, then OMNIKPI_UPDATE_SNAPSHOTS=1)",
            line + 1,
            kept.lines().nth(line),
            text.lines().nth(line)
        );
    }
}
