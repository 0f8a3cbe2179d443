//! Filters narrow the events first, series by grain add up, and the API refuses what it does
//! not know. Expected values come from the hand-made fixture of tests/common.

mod common;

use common::TestDb;
use omnikpi::kpi::Grain;
use omnikpi::server::kpi::{self, Catalog, FilterError, Filters, Period};

fn gross(t: &TestDb, filters: &Filters) -> Option<f64> {
    let conn = t.db.connect().expect("connection");
    let march = Period::parse("2026-03-01", "2026-03-31").expect("period");
    kpi::compute(
        &conn,
        Catalog::builtin(),
        &["gross_revenue"],
        &march,
        filters,
    )
    .expect("compute")["gross_revenue"]
}

#[test]
fn channel_filters_partition_gross_revenue() {
    let t = TestDb::with_fixture();
    // March store purchases: e1 100 + e2 50 + e4 20 + e10 5; web: e3 30 + e6 10.
    let store = gross(&t, &Filters::parse([("channel", "store")]).expect("filter"));
    let web = gross(&t, &Filters::parse([("channel", "web")]).expect("filter"));
    assert_eq!(store, Some(175.0));
    assert_eq!(web, Some(40.0));
    let both = gross(
        &t,
        &Filters::parse([("channel", "store,web")]).expect("filter"),
    );
    assert_eq!(both, Some(215.0));
}

#[test]
fn query_kpis_see_only_the_filtered_events() {
    let t = TestDb::with_fixture();
    let conn = t.db.connect().expect("connection");
    let march = Period::parse("2026-03-01", "2026-03-31").expect("period");
    let web = Filters::parse([("channel", "web")]).expect("filter");
    // Web purchases in March: e3 (L1 = a@x.it, first web purchase) and e6 (b@x.it, first):
    // both are new on the web channel.
    let v =
        kpi::compute(&conn, Catalog::builtin(), &["new_customers"], &march, &web).expect("compute");
    assert_eq!(v["new_customers"], Some(2.0));
    // Unfiltered, L1 first bought on 10 March (e1) and b on 1 March, L3 on 29 March: 3.
    let all = kpi::compute(
        &conn,
        Catalog::builtin(),
        &["new_customers"],
        &march,
        &Filters::none(),
    )
    .expect("compute");
    assert_eq!(all["new_customers"], Some(3.0));
}

#[test]
fn unknown_filter_values_are_refused_by_name() {
    let t = TestDb::with_fixture();
    let conn = t.db.connect().expect("connection");
    let typo = Filters::parse([("channel", "stroe")]).expect("parses");
    assert_eq!(
        typo.check(&conn),
        Err(FilterError::UnknownValue {
            dimension: "channel",
            value: "stroe".into()
        })
    );
    assert!(
        Filters::parse([("channel", "store")])
            .expect("parses")
            .check(&conn)
            .is_ok()
    );
}

#[test]
fn monthly_and_weekly_series_add_up_to_the_period() {
    let t = TestDb::with_fixture();
    let conn = t.db.connect().expect("connection");
    let q1 = Period::parse("2026-01-01", "2026-04-30").expect("period");
    let total = kpi::compute(
        &conn,
        Catalog::builtin(),
        &["gross_revenue"],
        &q1,
        &Filters::none(),
    )
    .expect("compute")["gross_revenue"];
    for grain in Grain::ALL {
        let series = kpi::series(
            &conn,
            Catalog::builtin(),
            "gross_revenue",
            &q1,
            grain,
            &Filters::none(),
        )
        .expect("series");
        let sum: f64 = series.iter().filter_map(|(_, v)| *v).sum();
        assert_eq!(Some(sum), total, "{grain:?}");
    }
    let months = kpi::series(
        &conn,
        Catalog::builtin(),
        "gross_revenue",
        &q1,
        Grain::Month,
        &Filters::none(),
    )
    .expect("series");
    // March 215, April 999 (e5 at 01:30 on 1 April, Rome).
    assert_eq!(months[2].1, Some(215.0));
    assert_eq!(months[3].1, Some(999.0));
    // A ratio per bucket: March AOV 43, January without orders n/a.
    let aov = kpi::series(
        &conn,
        Catalog::builtin(),
        "aov",
        &q1,
        Grain::Month,
        &Filters::none(),
    )
    .expect("series");
    assert_eq!(aov[0].1, None);
    assert_eq!(aov[2].1, Some(43.0));
}

#[test]
fn query_kpi_series_are_computed_per_bucket() {
    let t = TestDb::with_fixture();
    let conn = t.db.connect().expect("connection");
    let q = Period::parse("2026-03-01", "2026-04-30").expect("period");
    let series = kpi::series(
        &conn,
        Catalog::builtin(),
        "new_customers",
        &q,
        Grain::Month,
        &Filters::none(),
    )
    .expect("series");
    assert_eq!(series.len(), 2);
    assert_eq!(series[0].1, Some(3.0));
    // L2 (e5) buys for the first time on 1 April.
    assert_eq!(series[1].1, Some(1.0));
}

#[test]
fn breakdowns_rank_the_parts_and_keep_the_rest_as_other() {
    use omnikpi::server::kpi::{Dimension, breakdown::breakdown};
    let t = TestDb::with_fixture();
    let conn = t.db.connect().expect("connection");
    let march = Period::parse("2026-03-01", "2026-03-31").expect("period");
    let parts = breakdown(
        &conn,
        Catalog::builtin(),
        "gross_revenue",
        &march,
        &Filters::none(),
        Dimension::Channel,
        1,
    )
    .expect("breakdown");
    // Store 175, then everything else (web 40) as "other".
    assert_eq!(parts.len(), 2);
    assert_eq!(
        (parts[0].value.as_deref(), parts[0].kpi),
        (Some("store"), Some(175.0))
    );
    assert_eq!(
        (parts[1].value.as_deref(), parts[1].kpi),
        (None, Some(40.0))
    );
    // A ratio's "other" is the ratio of the rest: web orders e3 and D, 40 / 2.
    let aov = breakdown(
        &conn,
        Catalog::builtin(),
        "aov",
        &march,
        &Filters::none(),
        Dimension::Channel,
        1,
    )
    .expect("breakdown");
    assert_eq!(aov[1].kpi, Some(20.0));
    // Wide enough, there is no "other": the parts are the whole.
    let all = breakdown(
        &conn,
        Catalog::builtin(),
        "gross_revenue",
        &march,
        &Filters::none(),
        Dimension::Channel,
        10,
    )
    .expect("breakdown");
    let sum: f64 = all.iter().filter_map(|p| p.kpi).sum();
    assert_eq!(sum, 215.0);
    assert!(all.iter().all(|p| p.value.is_some()));
}
