//! The demo data set loads through the real load path and the omnichannel KPIs find in it
//! what the generator planted, within the tolerances the generator states.

mod common;

use chrono::NaiveDate;
use common::TestDb;
use omnikpi::server::demo::{self, DemoSpec, PLANTED};
use omnikpi::server::kpi::{self, Catalog, Filters, Period};

#[test]
fn the_omnichannel_kpis_find_what_the_generator_planted() {
    let t = TestDb::new();
    let spec = DemoSpec {
        seed: 42,
        customers: 1500,
        end: NaiveDate::from_ymd_opt(2026, 6, 30).expect("date"),
        days: 400,
    };
    let summary =
        demo::generate_and_load(&t.db, &spec, &t.dir.path().join("demo")).expect("demo loads");
    assert!(summary.events > 10_000, "{} events", summary.events);
    assert_eq!(
        t.count("SELECT count(*) FROM events") as u64,
        summary.events,
        "every generated event is loaded"
    );

    let conn = t.db.connect().expect("connection");
    let year = Period::parse("2025-07-01", "2026-06-30").expect("period");
    let keys = ["multichannel_frequency_uplift", "multichannel_value_uplift"];
    let v =
        kpi::compute(&conn, Catalog::builtin(), &keys, &year, &Filters::none()).expect("compute");
    let frequency = v["multichannel_frequency_uplift"].expect("measured");
    let value = v["multichannel_value_uplift"].expect("measured");
    assert!(
        (frequency - PLANTED.frequency_uplift).abs() <= PLANTED.frequency_tolerance,
        "frequency uplift {frequency}"
    );
    assert!(
        (value - PLANTED.value_uplift).abs() <= PLANTED.value_tolerance,
        "value uplift {value}"
    );
}
