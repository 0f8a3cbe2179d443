//! The rollups against the raw events (docs/rollups.md): random events loaded in random
//! batches, through files and through `POST /api/v1/events`, with duplicates re-sent, identity
//! merges (later events link a cookie or an e-mail to a card), splits, erasures, a change of
//! time zone and full re-stitching in between. After every step every KPI the engine can
//! answer without a query, and every query KPI with a set path (`sets = { rule = ... }`), under
//! every filter the rollup serves (and some it does not), at every grain and in breakdowns,
//! equals the same computation over raw events, and `rollup verify` finds no difference
//! (`rollup_daily` and the distinct sets per day). The journeys page's parts and every pain
//! point, read from the journey rollup and the anchor facts, equal the same computation over
//! the journeys and events, and the
//! page's pain list and the pain point page's single rule equal the full ranking.

mod common;
#[path = "common/proc.rs"]
mod proc;
#[path = "common/web.rs"]
mod web;

use common::{Ev, TestDb, ev};
use omnikpi::i18n::Locale;
use omnikpi::kpi::Grain;
use omnikpi::server::identity::split::{Split, split};
use omnikpi::server::journey::customer::erase;
use omnikpi::server::journey::{self, pain, service};
use omnikpi::server::kpi::breakdown::{breakdown, breakdown_from_events};
use omnikpi::server::kpi::{self, Catalog, Dimension, Filters, Period, query::looks_across_time};
use omnikpi::server::{rollup, settings};
use proptest::prelude::*;

const TYPES: &[&str] = &[
    "purchase",
    "return",
    "visit",
    "click",
    "impression",
    "survey",
    "chat_start",
    "chat_resolved",
    "complaint",
    "social_like",
    "identify",
    // Last, so that the indices above stay: the pain rules' reservations and pickups.
    "reservation",
    "pickup",
    // The e-mail rates' sends, opens and clicks (paired by campaign and customer).
    "email_sent",
    "email_open",
    "email_click",
    // Online visitors' carts (cart abandonment) and deliveries (on-time delivery).
    "add_to_cart",
    "delivery",
];
const CHANNELS: &[&str] = &["store", "web", "app", "ads", "social", "chat"];

#[derive(Clone, Debug)]
struct Spec {
    event_type: usize,
    channel: usize,
    day: u64,
    minute: u32,
    loyalty: Option<u8>,
    email: Option<u8>,
    cookie: Option<u8>,
    store: Option<u8>,
    campaign: Option<u8>,
    category: Option<u8>,
    touchpoint: Option<u8>,
    topic: Option<u8>,
    cents: u32,
    score: u8,
    nps: bool,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        (0..TYPES.len(), 0..CHANNELS.len(), 0u64..40, 0u32..1440),
        (
            proptest::option::weighted(0.3, 0u8..3),
            proptest::option::weighted(0.3, 0u8..3),
            proptest::option::weighted(0.5, 0u8..4),
        ),
        (
            proptest::option::of(0u8..3),
            proptest::option::of(0u8..2),
            proptest::option::of(0u8..2),
            proptest::option::of(0u8..2),
            proptest::option::of(0u8..2),
        ),
        (0u32..30_000, 0u8..11, any::<bool>()),
    )
        .prop_map(
            |(
                (event_type, channel, day, minute),
                (loyalty, email, cookie),
                (store, campaign, category, touchpoint, topic),
                (cents, score, nps),
            )| Spec {
                event_type,
                channel,
                day,
                minute,
                loyalty,
                email,
                cookie,
                store,
                campaign,
                category,
                touchpoint,
                topic,
                cents,
                score,
                nps,
            },
        )
}

/// One step of a history.
#[derive(Clone, Debug)]
enum Step {
    /// New events, plus the first `resend` events loaded before sent again (duplicates).
    Load {
        specs: Vec<Spec>,
        api: bool,
        resend: usize,
    },
    /// Split: the n-th e-mail (in id order) that belongs to a customer links nobody any more.
    Block(usize),
    /// Right to be forgotten for the n-th customer.
    Erase(usize),
    /// An admin changes the time zone.
    Zone(bool),
    /// Loads from now on re-stitch every customer (`identity_incremental = off`) or only
    /// what they touch.
    FullStitch(bool),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (proptest::collection::vec(spec(), 1..25), any::<bool>(), 0usize..6)
            .prop_map(|(specs, api, resend)| Step::Load { specs, api, resend }),
        1 => (0usize..3).prop_map(Step::Block),
        1 => (0usize..3).prop_map(Step::Erase),
        1 => any::<bool>().prop_map(Step::Zone),
        1 => any::<bool>().prop_map(Step::FullStitch),
    ]
}

fn event(id: &str, s: &Spec) -> Ev {
    let start = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).expect("date");
    let day = start + chrono::Days::new(s.day);
    let at = format!("{day}T{:02}:{:02}:00Z", s.minute / 60, s.minute % 60);
    let event_type = TYPES[s.event_type];
    let mut e = ev(id, &at, event_type).channel(CHANNELS[s.channel]);
    let money = format!("{}.{:02}", s.cents / 100, s.cents % 100);
    if let Some(l) = s.loyalty {
        e = e.loyalty(&format!("L{l}"));
    }
    if let Some(m) = s.email {
        e = e.email(&format!("m{m}@x.it"));
    }
    if let Some(k) = s.cookie {
        e = e.cookie(&format!("k{k}"));
    }
    // Half the events with no other identifier have a device: their visitor is the device
    // (a visitor is the customer, else the cookie, else the device). Only there, so that
    // devices link no customers together.
    if (s.loyalty, s.email, s.cookie) == (None, None, None) && s.minute.is_multiple_of(2) {
        e = e.device(&format!("d{}", s.minute % 3));
    }
    if let Some(v) = s.store {
        e = e.set("store_id", &format!("S{v}"));
    }
    if let Some(v) = s.campaign {
        e = e.set("campaign_id", &format!("C{v}"));
    }
    if let Some(v) = s.category {
        e = e.set("category", ["shoes", "bags"][usize::from(v)]);
    }
    if let Some(v) = s.touchpoint {
        e = e.set("touchpoint", &format!("tp{v}"));
    }
    if let Some(v) = s.topic {
        e = e.set("topic", ["delivery", "availability"][usize::from(v)]);
    }
    match event_type {
        // A purchase without an amount now and then (a sum of NULLs is n/a, not 0: CLV).
        "purchase" if s.cents.is_multiple_of(13) => e = e.order(&format!("O{}", s.cents % 7)),
        "purchase" | "return" => e = e.amount(&money).order(&format!("O{}", s.cents % 7)),
        // Half the clicks land where the product cannot be bought (pain rule 1).
        "click" => {
            e = e.set("cost", &money).set(
                "attributes",
                if s.nps {
                    r#"{"shoppable":false}"#
                } else {
                    r#"{"shoppable":true}"#
                },
            )
        }
        // Reservations and pickups of the purchases' orders, of anyone (pain rule 3).
        "reservation" | "pickup" => e = e.order(&format!("O{}", s.cents % 7)),
        // Half the impressions are a platform's total (quantity), half one each.
        "impression" if s.nps => {
            e = e
                .set("cost", &money)
                .set("quantity", &(u32::from(s.score) + 1).to_string())
        }
        "impression" => e = e.set("cost", &money),
        "survey" if s.nps => {
            e = e
                .set("score", &s.score.to_string())
                .set("score_scale", "nps")
        }
        "survey" => {
            let score = (s.score % 5 + 1).to_string();
            e = e.set("score", &score).set("score_scale", "csat");
        }
        // Promised the day before, the same day or the day after, as a date or as an instant
        // (whose local day follows the zone), or not at all.
        "delivery" => {
            let promised = day + chrono::Days::new(u64::from(s.score % 3)) - chrono::Days::new(1);
            let promised = match s.cents % 3 {
                0 => Some(promised.to_string()),
                1 => Some(format!("{promised}T23:30:00Z")),
                _ => None,
            };
            if let Some(p) = promised {
                e = e.set("attributes", &format!(r#"{{"promised_date":"{p}"}}"#));
            }
        }
        _ => {}
    }
    // Purchase lines of three SKUs (the channel price gap), most with a unit price that
    // varies by line, now and then zero; a fifth carry neither.
    if event_type == "purchase" && !s.cents.is_multiple_of(5) {
        let cents = if s.cents.is_multiple_of(17) {
            0
        } else {
            100 + s.cents % 900
        };
        e = e
            .set("sku", ["X", "Y", "Z"][(s.cents % 3) as usize])
            .set("unit_price", &format!("{}.{:02}", cents / 100, cents % 100));
    }
    e
}

/// `events` as NDJSON lines of strings, as the events API's clients send them.
fn ndjson(events: &[Ev]) -> String {
    let mut out = String::new();
    for e in events {
        let fields: serde_json::Map<String, serde_json::Value> = e
            .fields()
            .into_iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::String(v)))
            .collect();
        out.push_str(&serde_json::Value::Object(fields).to_string());
        out.push('\n');
    }
    out
}

/// Every KPI computed from aggregates alone (ratios and differences of them included).
fn keys() -> Vec<&'static str> {
    let catalog = Catalog::builtin();
    catalog
        .all()
        .iter()
        .filter(|d| !looks_across_time(catalog, &d.key).unwrap_or(true))
        .map(|d| d.key.as_str())
        .collect()
}

/// Every query KPI the distinct sets answer (`sets = { rule = ... }`).
fn set_queries() -> Vec<&'static str> {
    let keys: Vec<&'static str> = Catalog::builtin()
        .all()
        .iter()
        .filter(|d| matches!(d.sets, Some(kpi::sets::SetExpr::Rule(_))))
        .map(|d| d.key.as_str())
        .collect();
    assert!(
        keys.len() >= 11,
        "churn, new customers, omnichannel, clv, repeat rate, the multichannel six: {keys:?}"
    );
    keys
}

/// Every query KPI the customer or order facts answer (a `facts` query).
fn fact_queries() -> Vec<&'static str> {
    let keys: Vec<&'static str> = Catalog::builtin()
        .all()
        .iter()
        .filter(|d| d.facts.is_some())
        .map(|d| d.key.as_str())
        .collect();
    assert!(
        keys.len() >= 9,
        "roas, webrooming, showrooming, the e-mail rates, chat to purchase, pickup, \
         cross-channel returns, the channel price gap: {keys:?}"
    );
    keys
}

fn filter_sets() -> Vec<Filters> {
    let one = |d: &str, v: &str| Filters::parse([(d, v)]).expect("filter");
    vec![
        Filters::none(),
        one("channel", "web,app"),
        one("channel", "store"),
        one("store", "S0"),
        one("region", "North"),
        one("campaign", "C1"),
        one("category", "shoes"),
        one("touchpoint", "tp0"),
        one("topic", "delivery"),
        Filters::parse([("channel", "ads"), ("campaign", "C0")]).expect("filter"),
        Filters::none().without(
            Dimension::Channel,
            &["store".to_string(), "ads".to_string()],
        ),
        Filters::none().without(Dimension::Store, &["S1".to_string()]),
        // Not served: these read raw events on both sides.
        one("segment", "omnichannel"),
        one("sku", "X"),
    ]
}

/// Every served KPI × filter × grain equals the raw computation, and verify is clean (which
/// covers the journey rollup's tables); with `journeys`, the journeys page's parts and every
/// pain point too.
fn check(t: &TestDb, step: usize, journeys: bool) -> Result<(), TestCaseError> {
    let conn = t.db.connect().expect("connection");
    let report = rollup::verify(&conn).expect("verify");
    prop_assert!(
        report.is_clean(),
        "step {step}: verify found {:?} {:?}",
        report.time_zone,
        report.differences
    );
    prop_assert!(
        rollup::current(&conn).expect("state"),
        "step {step}: rollup in use"
    );
    if journeys {
        check_journeys(&conn, step)?;
    }
    let catalog = Catalog::builtin();
    let keys = keys();
    let periods = [
        Period::parse("2026-03-01", "2026-04-09").expect("period"),
        Period::parse("2026-03-10", "2026-03-24").expect("period"),
    ];
    // CLV's 12 months end on the period's last day and the 12 before matter: these split the
    // data (2026-03-01 to 2026-04-09) between the two windows, at 21 and 6 March 2026.
    let clv_periods = [
        Period::parse("2027-03-01", "2027-03-20").expect("period"),
        Period::parse("2027-02-01", "2027-03-05").expect("period"),
    ];
    for (i, filters) in filter_sets().into_iter().enumerate() {
        // The shorter period (whose days start and end inside the data) for a few filters.
        let count = if i < 3 { periods.len() } else { 1 };
        for period in &periods[..count] {
            let fast = kpi::compute(&conn, catalog, &keys, period, &filters).expect("compute");
            let raw = kpi::compute_from_events(&conn, catalog, &keys, period, &filters)
                .expect("compute raw");
            prop_assert_eq!(&fast, &raw, "step {} {:?} {:?}", step, filters, period);
        }
        // The set queries on both periods (the second has a previous period with data), and
        // on CLV's.
        let queries = set_queries();
        let facts = fact_queries();
        for period in &periods {
            let fast = kpi::compute(&conn, catalog, &facts, period, &filters).expect("compute");
            let raw = kpi::compute_from_events(&conn, catalog, &facts, period, &filters)
                .expect("compute raw");
            prop_assert_eq!(&fast, &raw, "step {} {:?} {:?}", step, filters, period);
        }
        for period in periods.iter().chain(&clv_periods) {
            let fast = kpi::compute(&conn, catalog, &queries, period, &filters).expect("compute");
            let raw = kpi::compute_from_events(&conn, catalog, &queries, period, &filters)
                .expect("compute raw");
            prop_assert_eq!(&fast, &raw, "step {} {:?} {:?}", step, filters, period);
        }
    }
    let series_keys = [
        "orders",
        "active_customers",
        "purchase_frequency",
        "returned_orders_rate",
        "new_customers",
        "churn_rate",
        "omnichannel_share",
        "gross_revenue",
        "net_revenue",
        "aov",
        "footfall",
        "ad_ctr",
        "nps",
        "csat",
        "revenue_per_customer",
        "repeat_purchase_rate",
        "multichannel_frequency_uplift",
        "multichannel_value_uplift",
        "multichannel_aov",
        "single_channel_purchase_frequency",
    ];
    for dimension in [
        Dimension::Channel,
        Dimension::Store,
        Dimension::Region,
        Dimension::Campaign,
        Dimension::Topic,
        Dimension::Sku,
    ] {
        for key in [
            "gross_revenue",
            "nps",
            "aov",
            "ad_spend",
            "active_customers",
            "new_customers",
            "churn_rate",
            "repeat_purchase_rate",
        ] {
            let args = (key, &periods[0], &Filters::none(), dimension, 2);
            let fast = breakdown(&conn, catalog, args.0, args.1, args.2, args.3, args.4)
                .expect("breakdown");
            let raw = breakdown_from_events(&conn, catalog, args.0, args.1, args.2, args.3, args.4)
                .expect("breakdown raw");
            prop_assert_eq!(&fast, &raw, "step {} {} by {:?}", step, key, dimension);
        }
        let args = ("clv", &clv_periods[0], &Filters::none(), dimension, 2);
        let fast =
            breakdown(&conn, catalog, args.0, args.1, args.2, args.3, args.4).expect("breakdown");
        let raw = breakdown_from_events(&conn, catalog, args.0, args.1, args.2, args.3, args.4)
            .expect("breakdown raw");
        prop_assert_eq!(&fast, &raw, "step {} clv by {:?}", step, dimension);
    }
    for filters in [
        Filters::none(),
        Filters::parse([("channel", "store,web")]).expect("filter"),
    ] {
        for grain in Grain::ALL {
            let fast = kpi::series_many(&conn, catalog, &series_keys, &periods[0], grain, &filters)
                .expect("series");
            let raw = kpi::series_many_from_events(
                &conn,
                catalog,
                &series_keys,
                &periods[0],
                grain,
                &filters,
            )
            .expect("series raw");
            prop_assert_eq!(&fast, &raw, "step {} {:?} {:?}", step, grain, filters);
            // The facts' KPIs compute each bucket whole, as at every grain: two grains with
            // buckets cut at the period's edges (weeks) and inside the data (months) keep
            // the test short.
            if matches!(grain, Grain::Week | Grain::Month) {
                let facts = fact_queries();
                let fast = kpi::series_many(&conn, catalog, &facts, &periods[0], grain, &filters)
                    .expect("series");
                let raw = kpi::series_many_from_events(
                    &conn,
                    catalog,
                    &facts,
                    &periods[0],
                    grain,
                    &filters,
                )
                .expect("series raw");
                prop_assert_eq!(&fast, &raw, "step {} facts {:?} {:?}", step, grain, filters);
            }
            // CLV's buckets, each with its own two windows over the data.
            let clv = ["clv"];
            let fast = kpi::series_many(&conn, catalog, &clv, &clv_periods[0], grain, &filters)
                .expect("series");
            let raw = kpi::series_many_from_events(
                &conn,
                catalog,
                &clv,
                &clv_periods[0],
                grain,
                &filters,
            )
            .expect("series raw");
            prop_assert_eq!(&fast, &raw, "step {} clv {:?} {:?}", step, grain, filters);
        }
    }
    Ok(())
}

/// The journeys page's parts and the pain points from the journey rollup equal those over the
/// journeys (the rollup set aside by an empty zone, then put back); the page's pain list is the
/// full ranking without trend, breakdown and examples; each pain point's page (its rule only)
/// shows the full ranking's point.
fn check_journeys(conn: &duckdb::Connection, step: usize) -> Result<(), TestCaseError> {
    prop_assert!(
        journey::rollup::current(conn).expect("state"),
        "step {step}: journey rollup in use"
    );
    prop_assert!(
        pain::facts::current(conn).expect("state"),
        "step {step}: anchor facts in use"
    );
    prop_assert!(
        journey::funnel::facts::current(conn).expect("state"),
        "step {step}: funnel facts in use"
    );
    let none = Filters::none();
    // The whole generated range, a window inside it whose journeys start before it, and a
    // month before any event. Each pain point's page is checked on the first only: with the
    // full ranking computed twice per period, that is where the test's time goes.
    let periods = [
        Period::parse("2026-03-01", "2026-04-09").expect("period"),
        Period::parse("2026-03-10", "2026-03-24").expect("period"),
        Period::parse("2026-02-01", "2026-02-28").expect("period"),
    ];
    for (nth_period, period) in periods.iter().enumerate() {
        let parts = |conn: &duckdb::Connection| {
            let view = service::view_blocking(conn, period, &none).expect("view");
            let pains = pain::pain_points(conn, period, &none, Locale::En).expect("pains");
            (view, pains)
        };
        let (fast_view, fast_pains) = parts(conn);
        conn.execute_batch("UPDATE journey_rollup_state SET time_zone = ''")
            .expect("set aside");
        prop_assert!(!journey::rollup::current(conn).expect("state"));
        let (raw_view, raw_pains) = parts(conn);
        conn.execute_batch(
            "UPDATE journey_rollup_state SET time_zone = current_setting('TimeZone')",
        )
        .expect("put back");
        prop_assert_eq!(&fast_view, &raw_view, "step {} {:?}", step, period);
        prop_assert_eq!(&fast_pains, &raw_pains, "step {} {:?}", step, period);

        let list = pain::pain_list(conn, period, &none, Locale::En).expect("list");
        let mut bare = fast_pains.clone();
        for p in &mut bare {
            p.trend.clear();
            p.breakdown.clear();
            p.examples.clear();
        }
        prop_assert_eq!(&list, &bare, "step {} list {:?}", step, period);
        if nth_period > 0 {
            continue;
        }
        for point in &fast_pains {
            let one =
                pain::pain_point(conn, period, &none, Locale::En, &point.key).expect("pain point");
            prop_assert_eq!(one.as_ref(), Some(point), "step {} {}", step, &point.key);
        }
    }
    Ok(())
}

fn nth(t: &TestDb, sql: &str, n: usize) -> Option<String> {
    let conn = t.db.connect().expect("connection");
    let mut stmt = conn.prepare(sql).expect("prepare");
    let rows: Vec<String> = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    if rows.is_empty() {
        None
    } else {
        Some(rows[n % rows.len()].clone())
    }
}

/// Runs `steps`, checking after each. The journeys page is checked after every step when
/// `journeys_each_step`, else after the last (a wrong patch of the journey rollup stays
/// until a later write redoes the same customers, and verify, run after every step, sees it).
fn run(steps: &[Step], journeys_each_step: bool) -> Result<(), TestCaseError> {
    let t = TestDb::new();
    {
        let conn = t.db.connect().expect("connection");
        conn.execute_batch(
            "INSERT INTO stores VALUES ('S0', 'Milano', 'North'), ('S1', 'Torino', 'North'),
                                       ('S2', 'Napoli', 'South');",
        )
        .expect("stores");
    }
    let token = {
        let conn = t.db.connect().expect("connection");
        omnikpi::server::tokens::create(&conn, "rollups", omnikpi::server::tokens::INGEST, None)
            .expect("token")
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut sent: Vec<Ev> = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        match step {
            Step::Load { specs, api, resend } => {
                let mut batch: Vec<Ev> = sent.iter().take(*resend).cloned().collect();
                let fresh: Vec<Ev> = specs
                    .iter()
                    .enumerate()
                    .map(|(j, s)| event(&format!("s{i}e{j}"), s))
                    .collect();
                batch.extend(fresh.iter().cloned());
                if *api {
                    let (status, body) = runtime.block_on(web::post_ndjson(
                        web::router(&t.db),
                        "/api/v1/events?source=fixture",
                        Some(&token),
                        ndjson(&batch),
                    ));
                    prop_assert_eq!(status.as_u16(), 200, "{}", body);
                } else {
                    t.load_events_named(&format!("batch{i}.csv"), &batch);
                }
                sent.extend(fresh);
            }
            Step::Block(n) => {
                let Some(email) = nth(
                    &t,
                    "SELECT id_value FROM identities WHERE id_type = 'email' ORDER BY id_value",
                    *n,
                ) else {
                    continue;
                };
                let conn = t.db.connect().expect("connection");
                let customer: i64 = conn
                    .query_row(
                        "SELECT customer_id FROM identities WHERE id_type = 'email' AND id_value = ?",
                        [&email],
                        |r| r.get(0),
                    )
                    .expect("owner");
                let block = Split::Block {
                    id_type: "email".to_string(),
                    value: email,
                };
                split(&t.db, customer, &block, "shared family e-mail", "tests").expect("split");
            }
            Step::Erase(n) => {
                let Some(customer) = nth(
                    &t,
                    "SELECT CAST(customer_id AS VARCHAR) FROM customers ORDER BY customer_id",
                    *n,
                ) else {
                    continue;
                };
                erase(&t.db, customer.parse().expect("id")).expect("erase");
            }
            Step::Zone(new_york) => {
                let zone = if *new_york {
                    "America/New_York"
                } else {
                    "Europe/Rome"
                };
                let conn = t.db.connect().expect("connection");
                conn.execute(
                    "INSERT OR REPLACE INTO settings (key, value, updated_at) VALUES ('time_zone', ?, now())",
                    [zone],
                )
                .expect("setting");
                settings::apply(&t.db).expect("apply");
            }
            Step::FullStitch(full) => {
                let conn = t.db.connect().expect("connection");
                conn.execute(
                    "INSERT OR REPLACE INTO settings (key, value, updated_at) VALUES (?, ?, now())",
                    [
                        omnikpi::server::identity::INCREMENTAL_SETTING,
                        if *full { "off" } else { "on" },
                    ],
                )
                .expect("setting");
            }
        }
        check(&t, i, journeys_each_step || i + 1 == steps.len())?;
    }
    Ok(())
}

proptest! {
    // Each case loads, merges, splits and erases through the real write path and checks
    // every served KPI × filter × grain plus the journeys page: 4 cases keep this binary
    // near 5 minutes on 2 cores; the fixed history below covers every kind of step.
    #![proptest_config(ProptestConfig { cases: 4, .. ProptestConfig::default() })]

    #[test]
    fn kpis_from_rollups_equal_kpis_from_raw_events(
        steps in proptest::collection::vec(step(), 1..6)
    ) {
        run(&steps, false)?;
    }
}

/// A purchase on `day` carrying the given identifiers, on the web with campaign and topic.
fn purchase(day: u64, loyalty: Option<u8>, email: Option<u8>, cookie: Option<u8>) -> Spec {
    Spec {
        event_type: 0,
        channel: 1,
        day,
        minute: 600,
        loyalty,
        email,
        cookie,
        store: Some(0),
        campaign: Some(1),
        category: Some(0),
        touchpoint: None,
        topic: Some(0),
        cents: 1234 + day as u32,
        score: 9,
        nps: true,
    }
}

/// Every kind of step at least once, in an order where each one changes what the rollup
/// counts: anonymous events that a later event links to a customer (a merge), the same
/// events re-sent through the API, a split, an erasure, full re-stitching and a zone change.
#[test]
fn a_fixed_history_with_every_kind_of_step() -> Result<(), TestCaseError> {
    let load = |specs: Vec<Spec>, api: bool, resend: usize| Step::Load { specs, api, resend };
    run(
        &[
            load(
                vec![
                    purchase(1, None, None, Some(0)),
                    purchase(2, None, Some(0), None),
                    purchase(3, Some(0), None, None),
                    purchase(4, None, None, Some(1)),
                ],
                false,
                0,
            ),
            // Links cookie k0 to e-mail m0 and m0 to card L0: earlier anonymous events flip.
            load(
                vec![
                    purchase(5, None, Some(0), Some(0)),
                    purchase(6, Some(0), Some(0), None),
                ],
                true,
                4,
            ),
            Step::Block(0),
            Step::FullStitch(true),
            load(vec![purchase(7, Some(1), None, Some(1))], false, 2),
            Step::Erase(0),
            Step::Zone(true),
            load(vec![purchase(8, None, Some(2), Some(0))], true, 0),
            Step::Erase(1),
        ],
        true,
    )
}

/// A case the property found (CI, session 15): an erasure also anonymises events of other
/// customers that carry one of the erased customer's identifiers, and their journeys, hand-off
/// and customer facts must follow (a complaint left their hand-off facts' 30 days after).
#[test]
fn regression_an_erasure_changes_the_facts_of_the_other_customers_it_touches()
-> Result<(), TestCaseError> {
    run(
        &[
            Step::Load {
                specs: vec![
                    Spec {
                        event_type: 8,
                        channel: 4,
                        day: 29,
                        minute: 936,
                        loyalty: Some(0),
                        email: Some(1),
                        cookie: None,
                        store: None,
                        campaign: None,
                        category: Some(1),
                        touchpoint: None,
                        topic: Some(1),
                        cents: 26760,
                        score: 3,
                        nps: true,
                    },
                    Spec {
                        event_type: 12,
                        channel: 5,
                        day: 21,
                        minute: 511,
                        loyalty: None,
                        email: Some(0),
                        cookie: None,
                        store: None,
                        campaign: None,
                        category: Some(1),
                        touchpoint: Some(1),
                        topic: Some(0),
                        cents: 25901,
                        score: 4,
                        nps: true,
                    },
                    Spec {
                        event_type: 15,
                        channel: 0,
                        day: 37,
                        minute: 1122,
                        loyalty: None,
                        email: Some(2),
                        cookie: Some(2),
                        store: None,
                        campaign: None,
                        category: Some(0),
                        touchpoint: Some(1),
                        topic: Some(1),
                        cents: 18220,
                        score: 3,
                        nps: true,
                    },
                    Spec {
                        event_type: 9,
                        channel: 4,
                        day: 2,
                        minute: 1121,
                        loyalty: Some(1),
                        email: None,
                        cookie: Some(1),
                        store: Some(1),
                        campaign: Some(1),
                        category: None,
                        touchpoint: Some(0),
                        topic: Some(0),
                        cents: 11106,
                        score: 6,
                        nps: false,
                    },
                    Spec {
                        event_type: 15,
                        channel: 3,
                        day: 19,
                        minute: 422,
                        loyalty: None,
                        email: Some(1),
                        cookie: Some(3),
                        store: None,
                        campaign: Some(0),
                        category: Some(0),
                        touchpoint: Some(1),
                        topic: None,
                        cents: 18097,
                        score: 3,
                        nps: false,
                    },
                    Spec {
                        event_type: 13,
                        channel: 5,
                        day: 37,
                        minute: 460,
                        loyalty: Some(2),
                        email: None,
                        cookie: None,
                        store: None,
                        campaign: Some(0),
                        category: Some(0),
                        touchpoint: None,
                        topic: Some(1),
                        cents: 3778,
                        score: 8,
                        nps: false,
                    },
                    Spec {
                        event_type: 14,
                        channel: 5,
                        day: 35,
                        minute: 793,
                        loyalty: Some(0),
                        email: Some(0),
                        cookie: None,
                        store: None,
                        campaign: Some(0),
                        category: None,
                        touchpoint: None,
                        topic: Some(0),
                        cents: 5875,
                        score: 7,
                        nps: true,
                    },
                    Spec {
                        event_type: 6,
                        channel: 3,
                        day: 30,
                        minute: 1353,
                        loyalty: Some(0),
                        email: None,
                        cookie: Some(0),
                        store: Some(1),
                        campaign: Some(1),
                        category: None,
                        touchpoint: Some(0),
                        topic: Some(0),
                        cents: 26008,
                        score: 9,
                        nps: true,
                    },
                    Spec {
                        event_type: 1,
                        channel: 3,
                        day: 33,
                        minute: 1126,
                        loyalty: None,
                        email: None,
                        cookie: None,
                        store: None,
                        campaign: None,
                        category: Some(1),
                        touchpoint: Some(0),
                        topic: None,
                        cents: 19745,
                        score: 9,
                        nps: false,
                    },
                    Spec {
                        event_type: 6,
                        channel: 0,
                        day: 1,
                        minute: 1046,
                        loyalty: Some(0),
                        email: Some(0),
                        cookie: None,
                        store: None,
                        campaign: Some(1),
                        category: None,
                        touchpoint: Some(0),
                        topic: None,
                        cents: 19613,
                        score: 6,
                        nps: false,
                    },
                    Spec {
                        event_type: 10,
                        channel: 2,
                        day: 2,
                        minute: 725,
                        loyalty: Some(2),
                        email: Some(1),
                        cookie: Some(1),
                        store: Some(2),
                        campaign: Some(0),
                        category: None,
                        touchpoint: Some(0),
                        topic: None,
                        cents: 21399,
                        score: 8,
                        nps: true,
                    },
                    Spec {
                        event_type: 14,
                        channel: 2,
                        day: 24,
                        minute: 135,
                        loyalty: None,
                        email: Some(2),
                        cookie: None,
                        store: Some(2),
                        campaign: Some(1),
                        category: Some(0),
                        touchpoint: None,
                        topic: Some(1),
                        cents: 11370,
                        score: 10,
                        nps: false,
                    },
                    Spec {
                        event_type: 15,
                        channel: 2,
                        day: 15,
                        minute: 1085,
                        loyalty: None,
                        email: None,
                        cookie: None,
                        store: Some(2),
                        campaign: Some(0),
                        category: Some(1),
                        touchpoint: Some(0),
                        topic: None,
                        cents: 15766,
                        score: 1,
                        nps: false,
                    },
                ],
                api: false,
                resend: 2,
            },
            Step::Erase(0),
        ],
        false,
    )
}

/// The engine really reads the rollup (the property above would hold trivially otherwise), and
/// verify reports a rollup row that no longer matches the events.
#[test]
fn a_tampered_rollup_shows_in_the_kpis_and_in_verify() {
    let t = TestDb::new();
    let specs: Vec<Spec> = (0..8)
        .map(|i| Spec {
            event_type: 0,
            channel: 1,
            day: i,
            minute: 600,
            loyalty: Some(0),
            email: None,
            cookie: None,
            store: None,
            campaign: None,
            category: None,
            touchpoint: None,
            topic: None,
            cents: 1000,
            score: 0,
            nps: false,
        })
        .collect();
    let events: Vec<Ev> = specs
        .iter()
        .enumerate()
        .map(|(i, s)| event(&format!("t{i}"), s))
        .collect();
    t.load_events(&events);
    let conn = t.db.connect().expect("connection");
    let period = Period::parse("2026-03-01", "2026-03-31").expect("period");
    let catalog = Catalog::builtin();
    let keys = ["gross_revenue"];
    let value = |raw: bool| {
        let v = if raw {
            kpi::compute_from_events(&conn, catalog, &keys, &period, &Filters::none())
        } else {
            kpi::compute(&conn, catalog, &keys, &period, &Filters::none())
        };
        v.expect("compute")["gross_revenue"]
    };
    assert_eq!(value(false), Some(80.0));
    assert!(rollup::verify(&conn).expect("verify").is_clean());
    conn.execute_batch("UPDATE rollup_daily SET amount = amount + 1 WHERE day = DATE '2026-03-02'")
        .expect("tamper");
    assert_eq!(value(false), Some(81.0), "read from the rollup");
    assert_eq!(value(true), Some(80.0));
    let report = rollup::verify(&conn).expect("verify");
    assert_eq!(report.differences.len(), 1, "{:?}", report.differences);
    assert!(report.differences[0].key.contains("day=2026-03-02"));
    rollup::rebuild(&t.db).expect("rebuild");
    assert_eq!(value(false), Some(80.0));
    assert!(rollup::verify(&conn).expect("verify").is_clean());
}

/// The journeys page really reads the journey rollup (the property above would hold trivially
/// otherwise), and verify reports a (day, path) that no longer matches the journeys.
#[test]
fn a_tampered_journey_rollup_shows_on_the_journeys_page_and_in_verify() {
    let t = TestDb::new();
    // Eight web purchases of one customer on eight days, the first and the last of the same
    // order (O2: one step, at its first line): seven converted journeys.
    let events: Vec<Ev> = (0..8u64)
        .map(|i| event(&format!("t{i}"), &purchase(i, Some(0), None, None)))
        .collect();
    t.load_events(&events);
    let conn = t.db.connect().expect("connection");
    let period = Period::parse("2026-03-01", "2026-03-31").expect("period");
    let journeys = || {
        service::view_blocking(&conn, &period, &Filters::none())
            .expect("view")
            .summary
            .journeys
    };
    assert_eq!(journeys(), 7);
    assert!(rollup::verify(&conn).expect("verify").is_clean());
    conn.execute_batch(
        "UPDATE journey_rollup_paths SET journeys = journeys + 1 WHERE day = DATE '2026-03-02'",
    )
    .expect("tamper");
    assert_eq!(journeys(), 8, "read from the rollup");
    let report = rollup::verify(&conn).expect("verify");
    assert_eq!(report.differences.len(), 1, "{:?}", report.differences);
    assert_eq!(report.differences[0].table, "journey_rollup_paths");
    assert!(
        report.differences[0]
            .key
            .contains("day=2026-03-02 path=web")
    );
    rollup::rebuild(&t.db).expect("rebuild");
    assert_eq!(journeys(), 7);
    assert!(rollup::verify(&conn).expect("verify").is_clean());
}

/// The journeys page's funnels really read `journey_funnel_facts` (the property above would
/// hold trivially otherwise), and verify reports a fact that no longer matches.
#[test]
fn a_tampered_funnel_fact_shows_on_the_journeys_page_and_in_verify() {
    let t = TestDb::new();
    // A store visit, then a store purchase an hour later: both steps of the store funnel.
    t.load_events(&[
        ev("v1", "2026-03-02T10:00:00Z", "visit")
            .channel("store")
            .email("a@x.it"),
        ev("p1", "2026-03-02T11:00:00Z", "purchase")
            .channel("store")
            .email("a@x.it")
            .order("P1")
            .amount("20.00"),
    ]);
    let conn = t.db.connect().expect("connection");
    let period = Period::parse("2026-03-01", "2026-03-31").expect("period");
    let hours = || {
        let view = service::view_blocking(&conn, &period, &Filters::none()).expect("view");
        let purchase = &view.store_funnel.overall.steps[1];
        (purchase.journeys, purchase.median_hours_from_previous)
    };
    assert_eq!(hours(), (1, Some(1.0)));
    assert!(rollup::verify(&conn).expect("verify").is_clean());
    conn.execute_batch(
        "UPDATE journey_funnel_facts SET hours = 2 WHERE funnel = 'store' AND step = 1",
    )
    .expect("tamper");
    assert_eq!(hours(), (1, Some(2.0)), "read from the facts");
    let report = rollup::verify(&conn).expect("verify");
    assert_eq!(report.differences.len(), 1, "{:?}", report.differences);
    assert_eq!(report.differences[0].table, "journey_funnel_facts");
    rollup::rebuild(&t.db).expect("rebuild");
    assert_eq!(hours(), (1, Some(1.0)));
    assert!(rollup::verify(&conn).expect("verify").is_clean());
}

/// The affected journeys of the pain point `key` in March 2026, over the whole ranking.
fn affected(conn: &duckdb::Connection, key: &str) -> u64 {
    let period = Period::parse("2026-03-01", "2026-03-31").expect("period");
    pain::pain_points(conn, &period, &Filters::none(), Locale::En)
        .expect("pain points")
        .into_iter()
        .find(|p| p.key == key)
        .map_or(0, |p| p.affected_journeys)
}

/// The failure rules really read `journey_anchor_facts` (the property above would hold
/// trivially otherwise); a pickup that names a reservation's order but no customer (so the
/// write touches no customer) still changes that reservation's fact; verify reports a fact
/// that no longer matches.
#[test]
fn anchor_facts_follow_a_pickup_of_nobody_and_a_tampered_one_shows() {
    let t = TestDb::new();
    let rule = "reservation_not_picked_up";
    // A reservation on March 1st, and a visit on the 20th that puts its 7 days in the past.
    t.load_events(&[
        ev("r1", "2026-03-01T10:00:00Z", "reservation")
            .channel("web")
            .email("a@x.it")
            .order("R1"),
        ev("v1", "2026-03-20T10:00:00Z", "visit")
            .channel("web")
            .email("b@x.it"),
    ]);
    let conn = t.db.connect().expect("connection");
    assert!(pain::facts::current(&conn).expect("state"));
    assert_eq!(affected(&conn, rule), 1, "not picked up");
    // The store's till sends the pickup two days later with the order only.
    t.load_events(&[ev("k1", "2026-03-03T10:00:00Z", "pickup")
        .channel("store")
        .order("R1")]);
    assert_eq!(affected(&conn, rule), 0, "picked up");
    assert!(rollup::verify(&conn).expect("verify").is_clean());
    conn.execute_batch(&format!(
        "UPDATE journey_anchor_facts SET fail_at = NULL WHERE rule = '{rule}'"
    ))
    .expect("tamper");
    assert_eq!(affected(&conn, rule), 1, "read from the facts");
    let report = rollup::verify(&conn).expect("verify");
    assert_eq!(report.differences.len(), 1, "{:?}", report.differences);
    assert_eq!(report.differences[0].table, "journey_anchor_facts");
    rollup::rebuild(&t.db).expect("rebuild");
    assert_eq!(affected(&conn, rule), 0);
    assert!(rollup::verify(&conn).expect("verify").is_clean());
}

/// A detractor's threshold decides which answers count, so the facts record it: after an
/// override the pain points are judged from the events (not from facts of the old threshold)
/// until the next write rebuilds the facts for the new one.
#[test]
fn a_new_detractor_threshold_sets_the_anchor_facts_aside_until_the_next_write() {
    let t = TestDb::new();
    let rule = "bad_after_sale";
    // A purchase, an NPS answer of 5 about it four days later, and a visit that puts the
    // 30 days after the purchase in the past.
    t.load_events(&[
        ev("p1", "2026-03-01T10:00:00Z", "purchase")
            .channel("web")
            .email("a@x.it")
            .order("P1")
            .amount("50.00"),
        ev("s1", "2026-03-05T10:00:00Z", "survey")
            .channel("email")
            .email("a@x.it")
            .order("P1")
            .set("score", "5")
            .set("score_scale", "nps"),
        ev("v1", "2026-04-15T10:00:00Z", "visit")
            .channel("web")
            .email("b@x.it"),
    ]);
    let conn = t.db.connect().expect("connection");
    assert_eq!(affected(&conn, rule), 1, "a detractor at 6 or less");
    conn.execute(
        "INSERT OR REPLACE INTO settings (key, value, updated_at) VALUES (?, '4', now())",
        [format!("pain.{rule}.detractor_max")],
    )
    .expect("override");
    assert!(!pain::facts::current(&conn).expect("state"));
    assert_eq!(affected(&conn, rule), 0, "5 is no detractor at 4 or less");
    let report = rollup::verify(&conn).expect("verify");
    assert_eq!(report.differences[0].table, "journey_facts_state");
    t.load_events(&[ev("v2", "2026-04-16T10:00:00Z", "visit")
        .channel("web")
        .email("c@x.it")]);
    assert!(
        pain::facts::current(&conn).expect("state"),
        "rebuilt by the write"
    );
    assert_eq!(affected(&conn, rule), 0);
    assert!(rollup::verify(&conn).expect("verify").is_clean());
}

/// The set KPIs really read `rollup_sets` (the property above would hold trivially otherwise),
/// and verify reports a day whose sets no longer match the events.
#[test]
fn a_tampered_set_shows_in_the_kpis_and_in_verify() {
    let t = TestDb::new();
    // Eight web purchases on eight days: customers L0 and L1 in turn, orders O0..O6 (the
    // first and the last day share O(1000 % 7)).
    let events: Vec<Ev> = (0..8u8)
        .map(|i| {
            let mut s = purchase(u64::from(i), Some(i % 2), None, None);
            s.cents = 1000 + u32::from(i);
            event(&format!("t{i}"), &s)
        })
        .collect();
    t.load_events(&events);
    let conn = t.db.connect().expect("connection");
    let period = Period::parse("2026-03-01", "2026-03-31").expect("period");
    let catalog = Catalog::builtin();
    let keys = ["orders", "active_customers", "new_customers"];
    let value = |raw: bool| {
        let v = if raw {
            kpi::compute_from_events(&conn, catalog, &keys, &period, &Filters::none())
        } else {
            kpi::compute(&conn, catalog, &keys, &period, &Filters::none())
        };
        let v = v.expect("compute");
        (v["orders"], v["active_customers"], v["new_customers"])
    };
    assert_eq!(value(false), (Some(7.0), Some(2.0), Some(2.0)));
    assert!(rollup::verify(&conn).expect("verify").is_clean());
    // 2 March held L1's only order of the day: without it, one order fewer.
    conn.execute_batch("DELETE FROM rollup_sets WHERE day = DATE '2026-03-02'")
        .expect("tamper");
    assert_eq!(
        value(false),
        (Some(6.0), Some(2.0), Some(2.0)),
        "read from the sets"
    );
    assert_eq!(value(true), (Some(7.0), Some(2.0), Some(2.0)));
    let report = rollup::verify(&conn).expect("verify");
    assert_eq!(report.differences.len(), 1, "{:?}", report.differences);
    assert_eq!(report.differences[0].table, "rollup_sets");
    assert!(
        report.differences[0].key.contains("day=2026-03-02"),
        "{:?}",
        report.differences
    );
    rollup::rebuild(&t.db).expect("rebuild");
    assert_eq!(value(false), (Some(7.0), Some(2.0), Some(2.0)));
    assert!(rollup::verify(&conn).expect("verify").is_clean());
}

/// CLV from the rollups is n/a, as the SQL, when no recent purchase has an amount (the daily
/// rollup keeps their sum as 0, and counts the amounts to tell), reads the revenue from
/// `rollup_daily`, and verify reports a wrong count of amounts.
#[test]
fn clv_from_the_rollups_tells_missing_amounts_from_zero() {
    let t = TestDb::new();
    // L0 buys on 1 March 2026 (the earlier 12 months of a period ending on 20 March 2027),
    // L1 on 31 March without an amount (1300 cents: see `event`), in the recent 12 months.
    let mut early = purchase(0, Some(0), None, None);
    early.cents = 2000;
    let mut late = purchase(30, Some(1), None, None);
    late.cents = 1300;
    t.load_events(&[event("c0", &early), event("c1", &late)]);
    let conn = t.db.connect().expect("connection");
    let period = Period::parse("2027-03-01", "2027-03-20").expect("period");
    let catalog = Catalog::builtin();
    let value = |raw: bool| {
        let v = if raw {
            kpi::compute_from_events(&conn, catalog, &["clv"], &period, &Filters::none())
        } else {
            kpi::compute(&conn, catalog, &["clv"], &period, &Filters::none())
        };
        v.expect("compute")["clv"]
    };
    assert_eq!(value(true), None, "a sum of no amounts");
    assert_eq!(value(false), None, "not 0");
    // L1 buys again for 10.00: 10.00 per recent buyer, L0 lost (lifetime 1 / 1), margin 1.
    let mut again = purchase(31, Some(1), None, None);
    again.cents = 1000;
    t.load_events(&[event("c2", &again)]);
    assert_eq!(value(true), Some(10.0));
    assert_eq!(value(false), Some(10.0));
    assert!(rollup::verify(&conn).expect("verify").is_clean());
    conn.execute_batch(
        "UPDATE rollup_daily SET amount = amount + 1
         WHERE day = DATE '2026-04-01' AND event_type = 'purchase'",
    )
    .expect("tamper");
    assert_eq!(value(false), Some(11.0), "read from rollup_daily");
    assert_eq!(value(true), Some(10.0));
    conn.execute_batch(
        "UPDATE rollup_daily SET amount = amount - 1, amount_count = amount_count + 1
         WHERE day = DATE '2026-04-01' AND event_type = 'purchase'",
    )
    .expect("tamper");
    let report = rollup::verify(&conn).expect("verify");
    assert_eq!(report.differences.len(), 1, "{:?}", report.differences);
    assert!(
        report.differences[0].key.contains("day=2026-04-01")
            && report.differences[0].measures[0].0 == "amount_count",
        "{:?}",
        report.differences
    );
    rollup::rebuild(&t.db).expect("rebuild");
    assert!(rollup::verify(&conn).expect("verify").is_clean());
    assert_eq!(value(false), Some(10.0));
}

/// The repeat rate and the multichannel comparisons really read `rollup_facts` (the property
/// above would hold trivially otherwise), and verify reports a fact that no longer matches.
#[test]
fn a_tampered_fact_shows_in_the_kpis_and_in_verify() {
    let t = TestDb::new();
    // L0 buys twice on the web (orders O2 and O3), L1 once (O1) on the web and visits a store:
    // L0 single-channel with 2 orders, L1 multichannel with 1.
    let mut specs = vec![
        purchase(0, Some(0), None, None),
        purchase(1, Some(0), None, None),
        purchase(2, Some(1), None, None),
    ];
    specs[0].cents = 1003;
    specs[1].cents = 1004;
    specs[2].cents = 2003;
    let mut visit = purchase(3, Some(1), None, None);
    visit.event_type = 2;
    visit.channel = 0;
    specs.push(visit);
    let events: Vec<Ev> = specs
        .iter()
        .enumerate()
        .map(|(i, s)| event(&format!("f{i}"), s))
        .collect();
    t.load_events(&events);
    let conn = t.db.connect().expect("connection");
    let period = Period::parse("2026-03-01", "2026-03-31").expect("period");
    let catalog = Catalog::builtin();
    let keys = ["repeat_purchase_rate", "multichannel_frequency_uplift"];
    let value = |raw: bool| {
        let v = if raw {
            kpi::compute_from_events(&conn, catalog, &keys, &period, &Filters::none())
        } else {
            kpi::compute(&conn, catalog, &keys, &period, &Filters::none())
        };
        let v = v.expect("compute");
        (v[keys[0]], v[keys[1]])
    };
    assert_eq!(value(true), (Some(0.5), Some(0.5)));
    assert_eq!(value(false), (Some(0.5), Some(0.5)));
    assert!(rollup::verify(&conn).expect("verify").is_clean());
    // Without L0's order of 2 March, L0 has one order: nobody repeats, frequencies 1 and 1.
    conn.execute_batch("DELETE FROM rollup_facts WHERE day = DATE '2026-03-02'")
        .expect("tamper");
    assert_eq!(value(false), (Some(0.0), Some(1.0)), "read from the facts");
    assert_eq!(value(true), (Some(0.5), Some(0.5)));
    let report = rollup::verify(&conn).expect("verify");
    assert_eq!(report.differences.len(), 1, "{:?}", report.differences);
    assert_eq!(report.differences[0].table, "rollup_facts");
    assert!(
        report.differences[0].key.contains("day=2026-03-02"),
        "{:?}",
        report.differences
    );
    rollup::rebuild(&t.db).expect("rebuild");
    assert_eq!(value(false), (Some(0.5), Some(0.5)));
    assert!(rollup::verify(&conn).expect("verify").is_clean());
}

/// `omnikpi rollup verify` names the differing row and exits non-zero; `rollup rebuild`
/// repairs it.
#[test]
fn rollup_verify_and_rebuild_through_the_binary() {
    let TestDb { dir, db } = TestDb::with_fixture();
    db.connect()
        .expect("connection")
        .execute_batch(
            "UPDATE rollup_daily SET event_count = event_count + 2
             WHERE day = DATE '2026-03-10' AND event_type = 'purchase'",
        )
        .expect("tamper");
    drop(db);
    let path = dir.path().join("test.duckdb");
    let (ok, out, err) = proc::run(&path, &["rollup", "verify"]);
    assert!(!ok, "a difference fails the command: {out} {err}");
    assert!(
        out.contains("day=2026-03-10 event_type=purchase channel=store")
            && out.contains("event_count rollup 4 raw 2"),
        "{out}"
    );
    assert!(err.contains("differ from the raw events"), "{err}");
    let (ok, out, err) = proc::run(&path, &["rollup", "rebuild"]);
    assert!(ok, "{out} {err}");
    let (ok, out, err) = proc::run(&path, &["rollup", "verify"]);
    assert!(ok, "{out} {err}");
    assert!(out.contains("matches the raw events"), "{out}");
}

/// In-process timings of the rollups against the raw computation on a real database (the
/// figures of docs/rollups.md section 5), results asserted equal:
/// `OMNIKPI_MEASURE_DB=demo.duckdb OMNIKPI_MEASURE_TO=2026-11-30 cargo test --features ssr
/// --test rollup_properties -- --ignored --nocapture measure`.
#[test]
#[ignore = "measures the database named by OMNIKPI_MEASURE_DB"]
fn measure_rollups_against_raw_events() {
    use std::time::{Duration, Instant};
    let Ok(path) = std::env::var("OMNIKPI_MEASURE_DB") else {
        return;
    };
    let to = std::env::var("OMNIKPI_MEASURE_TO").unwrap_or_else(|_| "2026-11-30".to_string());
    let db = omnikpi::server::db::Db::open(std::path::Path::new(&path), "Europe/Rome")
        .expect("database");
    let conn = db.connect().expect("connection");
    let to_day = chrono::NaiveDate::parse_from_str(&to, "%Y-%m-%d").expect("date");
    let from = to_day - chrono::Months::new(12) + chrono::Days::new(1);
    let year = Period::new(from, to_day).expect("period");
    let catalog = Catalog::builtin();
    let median = |f: &mut dyn FnMut()| {
        let mut times: Vec<Duration> = (0..5)
            .map(|_| {
                let clock = Instant::now();
                f();
                clock.elapsed()
            })
            .collect();
        times.sort();
        times[2].as_millis()
    };
    let company: Vec<&str> = catalog
        .view("company")
        .iter()
        .map(|d| d.key.as_str())
        .collect();
    let sets: Vec<&str> = catalog
        .all()
        .iter()
        .filter(|d| d.sets.is_some())
        .map(|d| d.key.as_str())
        .collect();
    let store = Filters::parse([("channel", "store")]).expect("filter");
    for (label, keys, filters) in [
        ("set KPIs", &sets, Filters::none()),
        ("set KPIs, channel=store", &sets, store),
        ("company view", &company, Filters::none()),
    ] {
        let fast = kpi::compute(&conn, catalog, keys, &year, &filters).expect("compute");
        let raw = kpi::compute_from_events(&conn, catalog, keys, &year, &filters).expect("raw");
        assert_eq!(fast, raw, "{label}");
        let mut run_fast = || {
            kpi::compute(&conn, catalog, keys, &year, &filters).expect("compute");
        };
        let f = median(&mut run_fast);
        let mut run_raw = || {
            kpi::compute_from_events(&conn, catalog, keys, &year, &filters).expect("raw");
        };
        let r = median(&mut run_raw);
        println!("compute {label}: raw {r} ms, rollups {f} ms");
    }
    for key in &sets {
        let one = [*key];
        let mut run_fast = || {
            kpi::compute(&conn, catalog, &one, &year, &Filters::none()).expect("compute");
        };
        let f = median(&mut run_fast);
        let mut run_raw = || {
            kpi::compute_from_events(&conn, catalog, &one, &year, &Filters::none()).expect("raw");
        };
        let r = median(&mut run_raw);
        println!("compute {key}: raw {r} ms, rollups {f} ms");
    }
    let series = ["orders", "active_customers", "aov"];
    for grain in [Grain::Day, Grain::Month] {
        let fast = kpi::series_many(&conn, catalog, &series, &year, grain, &Filters::none())
            .expect("series");
        let raw =
            kpi::series_many_from_events(&conn, catalog, &series, &year, grain, &Filters::none())
                .expect("series raw");
        assert_eq!(fast, raw, "{grain:?}");
        let mut run_fast = || {
            kpi::series_many(&conn, catalog, &series, &year, grain, &Filters::none())
                .expect("series");
        };
        let f = median(&mut run_fast);
        let mut run_raw = || {
            kpi::series_many_from_events(&conn, catalog, &series, &year, grain, &Filters::none())
                .expect("series raw");
        };
        let r = median(&mut run_raw);
        println!("series {grain:?} {series:?}: raw {r} ms, rollups {f} ms");
    }
    // The company tiles' weekly sparklines (every tile a series of the year by week), timed
    // once each: the raw side runs every query KPI per week.
    let clock = Instant::now();
    let fast = kpi::series_many(
        &conn,
        catalog,
        &company,
        &year,
        Grain::Week,
        &Filters::none(),
    )
    .expect("series");
    let f = clock.elapsed().as_millis();
    let clock = Instant::now();
    let raw = kpi::series_many_from_events(
        &conn,
        catalog,
        &company,
        &year,
        Grain::Week,
        &Filters::none(),
    )
    .expect("series raw");
    let r = clock.elapsed().as_millis();
    assert_eq!(fast, raw, "company weekly");
    println!("series Week of the company tiles: raw {r} ms, rollups {f} ms");
    let facts: i64 = conn
        .query_row("SELECT count(*) FROM rollup_facts", [], |r| r.get(0))
        .expect("facts");
    println!("rollup_facts rows: {facts}");
    let rows: (i64, i64, i64, i64) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM rollup_sets),
                    (SELECT sum(octet_length(customers) + octet_length(orders)) FROM rollup_sets),
                    (SELECT count(*) FROM rollup_order_numbers)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .expect("sizes");
    println!("events, rollup_sets rows, blob bytes, order numbers: {rows:?}");
    let clock = Instant::now();
    let report = rollup::verify(&conn).expect("verify");
    println!(
        "verify: {} ms, clean {}",
        clock.elapsed().as_millis(),
        report.is_clean()
    );
}

/// The visitor sets and the delivery measures on a history small enough to count by hand:
/// the rollups give what the raw SQL gives, and the values are the expected ones.
#[test]
fn visitors_and_deliveries_from_the_rollups_equal_the_raw_kpis() {
    let t = TestDb::new();
    let web = |id: &str, at: &str, kind: &str| ev(id, at, kind).channel("web");
    t.load_events(&[
        // A customer visits, adds to cart and buys on the 2nd: converted, no abandonment.
        web("a1", "2026-03-02T10:00:00Z", "visit").email("a@x.it"),
        web("a2", "2026-03-02T10:05:00Z", "add_to_cart").email("a@x.it"),
        web("a3", "2026-03-02T10:10:00Z", "purchase")
            .email("a@x.it")
            .order("A1")
            .amount("10.00"),
        // A cookie visits and adds to cart twice on two days: two abandoned visitor-days.
        web("k1", "2026-03-02T11:00:00Z", "visit").cookie("k-1"),
        web("k2", "2026-03-02T11:05:00Z", "add_to_cart").cookie("k-1"),
        web("k3", "2026-03-03T11:05:00Z", "add_to_cart").cookie("k-1"),
        // A device visits the app; a store visit is no online visitor.
        ev("d1", "2026-03-04T09:00:00Z", "visit")
            .channel("app")
            .device("d-1"),
        ev("s1", "2026-03-04T09:00:00Z", "visit")
            .channel("store")
            .device("d-2"),
        // Deliveries: on the promised day, a day late, early against an instant, and one
        // with no promise (left out).
        web("v1", "2026-03-05T09:00:00Z", "delivery")
            .set("attributes", r#"{"promised_date":"2026-03-05"}"#),
        web("v2", "2026-03-06T09:00:00Z", "delivery")
            .set("attributes", r#"{"promised_date":"2026-03-05"}"#),
        web("v3", "2026-03-06T09:00:00Z", "delivery")
            .set("attributes", r#"{"promised_date":"2026-03-07T12:00:00Z"}"#),
        web("v4", "2026-03-06T09:00:00Z", "delivery"),
    ]);
    let conn = t.db.connect().expect("connection");
    let period = Period::parse("2026-03-01", "2026-03-31").expect("period");
    let catalog = Catalog::builtin();
    let keys = [
        "unique_visitors",
        "online_conversion_rate",
        "cart_abandonment_rate",
        "on_time_delivery_rate",
    ];
    let fast = kpi::compute(&conn, catalog, &keys, &period, &Filters::none()).expect("rollups");
    let raw =
        kpi::compute_from_events(&conn, catalog, &keys, &period, &Filters::none()).expect("raw");
    assert_eq!(fast, raw);
    assert_eq!(
        fast["unique_visitors"],
        Some(3.0),
        "the customer, the cookie, the device"
    );
    assert_eq!(fast["online_conversion_rate"], Some(1.0 / 3.0));
    assert_eq!(fast["cart_abandonment_rate"], Some(2.0 / 3.0));
    assert_eq!(fast["on_time_delivery_rate"], Some(2.0 / 3.0));
    assert!(rollup::verify(&conn).expect("verify").is_clean());
    // The sets are really read: without the cookie's rows of the 2nd, it is no visitor and
    // the 3rd is its only abandoned visitor-day.
    conn.execute_batch("DELETE FROM rollup_sets WHERE day = DATE '2026-03-02' AND NOT identified")
        .expect("tamper");
    let fast = kpi::compute(&conn, catalog, &keys, &period, &Filters::none()).expect("rollups");
    assert_eq!(fast["unique_visitors"], Some(2.0));
    assert_eq!(fast["cart_abandonment_rate"], Some(1.0 / 2.0));
    let report = rollup::verify(&conn).expect("verify");
    assert!(
        report
            .differences
            .iter()
            .any(|d| d.table == "rollup_sets" && d.measures.iter().any(|m| m.0 == "visitors")),
        "{:?}",
        report.differences
    );
}

/// The channel price gap really reads `rollup_prices`, kept by two loads that share a row:
/// SKU A at 10.00 and 12.00 on the web and 14.00 in a store (overall 12: gaps 1/12 and 1/6),
/// SKU B at 5.00 on the app only (gap 0), a line without a price and one without a SKU (left
/// out). Verify reports a tampered row, and a rebuild puts it right.
#[test]
fn the_price_gap_reads_the_price_rollup_and_verify_sees_a_tampered_row() {
    let t = TestDb::new();
    let line = |id: &str, at: &str, channel: &str, sku: Option<&str>, price: Option<&str>| {
        let mut e = ev(id, at, "purchase")
            .channel(channel)
            .email("p@x.it")
            .order(id)
            .amount("1.00");
        if let Some(sku) = sku {
            e = e.set("sku", sku);
        }
        if let Some(price) = price {
            e = e.set("unit_price", price);
        }
        e
    };
    t.load_events(&[
        line(
            "p1",
            "2026-03-03T09:00:00Z",
            "web",
            Some("A"),
            Some("10.00"),
        ),
        line(
            "p2",
            "2026-03-03T10:00:00Z",
            "store",
            Some("A"),
            Some("14.00"),
        ),
        line("p3", "2026-03-02T11:00:00Z", "app", Some("B"), Some("5.00")),
    ]);
    t.load_events_named(
        "second.csv",
        &[
            line(
                "p4",
                "2026-03-03T12:00:00Z",
                "web",
                Some("A"),
                Some("12.00"),
            ),
            line("p5", "2026-03-03T13:00:00Z", "web", Some("A"), None),
            line("p6", "2026-03-03T14:00:00Z", "web", None, Some("99.00")),
        ],
    );
    let conn = t.db.connect().expect("connection");
    let period = Period::parse("2026-03-01", "2026-03-31").expect("period");
    let catalog = Catalog::builtin();
    let keys = ["channel_price_gap"];
    let value = |raw: bool| {
        let v = if raw {
            kpi::compute_from_events(&conn, catalog, &keys, &period, &Filters::none())
        } else {
            kpi::compute(&conn, catalog, &keys, &period, &Filters::none())
        };
        v.expect("compute")[keys[0]].expect("a value")
    };
    let expected = (1.0 / 12.0 + 1.0 / 6.0 + 0.0) / 3.0;
    assert!((value(false) - expected).abs() < 1e-15, "{}", value(false));
    assert_eq!(value(false).to_bits(), value(true).to_bits());
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM rollup_prices", [], |r| r.get(0))
        .expect("rows");
    assert_eq!(
        rows, 3,
        "the second load's web line of A merged into the first's row"
    );
    assert!(rollup::verify(&conn).expect("verify").is_clean());
    // The web's 12.00 counted as 16.00: A's web average 13, overall 40/3.
    conn.execute_batch(
        "UPDATE rollup_prices SET price_total = 16.00
         WHERE sku = 'A' AND channel = 'web' AND day = DATE '2026-03-03'",
    )
    .expect("tamper");
    assert!(
        (value(false) - expected).abs() > 1e-3,
        "read from the rollup"
    );
    assert!((value(true) - expected).abs() < 1e-15);
    let report = rollup::verify(&conn).expect("verify");
    assert_eq!(report.differences.len(), 1, "{:?}", report.differences);
    assert_eq!(report.differences[0].table, "rollup_prices");
    assert!(
        report.differences[0].key.contains("sku=A"),
        "{:?}",
        report.differences
    );
    rollup::rebuild(&t.db).expect("rebuild");
    assert_eq!(value(false).to_bits(), value(true).to_bits());
}
