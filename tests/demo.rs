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

/// A checksum of every loaded event and its stitched customer (everything but the load id),
/// with the number of events.
fn events_checksum(t: &TestDb) -> (i64, String) {
    let conn = t.db.connect().expect("connection");
    conn.query_row(
        "SELECT count(*), CAST(coalesce(sum(hash(source, event_id, occurred_at, customer_id, email,
                phone, loyalty_id, crm_id, device_id, cookie_id, channel, touchpoint, event_type,
                order_id, amount, currency, quantity, cost, store_id, campaign_id, sku, category,
                unit_price, score, score_scale, topic, CAST(attributes AS VARCHAR))), 0) AS VARCHAR)
         FROM events",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .expect("checksum")
}

#[test]
fn the_export_files_load_into_the_same_events_as_canonical_files() {
    let spec = DemoSpec {
        seed: 9,
        customers: 250,
        end: NaiveDate::from_ymd_opt(2026, 6, 30).expect("date"),
        days: 120,
    };
    let canonical = TestDb::new();
    let events = demo::load_canonical(&canonical.db, &spec, &canonical.dir.path().join("demo"))
        .expect("canonical files load");
    let exported = TestDb::new();
    let summary = demo::generate_and_load(&exported.db, &spec, &exported.dir.path().join("demo"))
        .expect("export files load");
    assert_eq!(summary.events, events);
    let (n, sum) = events_checksum(&canonical);
    assert!(n > 1000, "{n} events");
    assert_eq!(events_checksum(&exported), (n, sum));
    // Every demo source was registered with its example mapping and loaded through it.
    assert_eq!(
        exported.count("SELECT count(*) FROM sources WHERE mapping_file LIKE 'examples/%'"),
        demo::SOURCES.len() as i64
    );
    // The till's file is in the till's format: a title line, semicolons, decimal comma and
    // Italian dates.
    let pos = summary
        .files
        .iter()
        .find(|(s, _)| s == "pos")
        .map(|(_, p)| std::fs::read(p).expect("pos file"))
        .expect("a pos file");
    let text: String = pos.iter().map(|b| char::from(*b)).collect();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("EXPORT omnikpi demo"));
    assert!(lines.next().is_some_and(|h| h.contains("ID_MOVIMENTO;")));
    let receipt = text
        .lines()
        .find(|l| l.contains(";VEND;"))
        .expect("a receipt line");
    assert!(
        receipt
            .split(';')
            .any(|v| v.len() == 19 && v.as_bytes()[2] == b'/' && v.as_bytes()[5] == b'/'),
        "{receipt}"
    );
    assert!(receipt.split(';').any(|v| v.contains(',')), "{receipt}");
}

/// `demo --scale N` asks for about N events: the customers it derives give N within 5 %, at a
/// size other than the two it is fitted on and over another history.
#[test]
fn scale_gives_about_the_events_asked_for() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let end = NaiveDate::from_ymd_opt(2026, 3, 31).expect("date");
    let (wanted, seed, days) = (150_000u64, 7, 200);
    let customers = demo::customers_for(wanted, seed, end, days).expect("fitted");
    let spec = DemoSpec {
        seed,
        customers,
        end,
        days,
    };
    let files = demo::write_files(&spec, dir.path()).expect("generated");
    let events: u64 = files.iter().map(|(_, _, n)| n).sum();
    let off = (events as f64 - wanted as f64).abs() / wanted as f64;
    assert!(
        off <= 0.05,
        "{customers} customers wrote {events} events for {wanted} asked"
    );
}
