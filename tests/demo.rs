//! The demo data set loads through the real load path and the omnichannel KPIs find in it
//! what the generator planted, within the tolerances the generator states.

mod common;
#[path = "common/proc.rs"]
mod proc;

use chrono::NaiveDate;
use common::TestDb;
use omnikpi::server::demo::{self, DemoSpec, PLANTED};
use omnikpi::server::kpi::{self, Catalog, Filters, Period};

#[test]
fn the_omnichannel_kpis_find_what_the_generator_planted() {
    let (t, _, summary) = common::planted_demo(42);
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

/// The KPIs the demo cannot give a value for in its last full month, each with the reason in
/// docs/kpis.md ("The demo data set"). Empty: every catalog KPI has a value.
const NO_VALUE_IN_THE_DEMO: &[&str] = &[];

/// Every department's page opens with values, targets with their status and the market's
/// figures: the demo writes the marketing platforms' exports (e-mail, social, impressions), a
/// target plan and the benchmark sheet, and imports them through the same code as a user.
#[test]
fn every_kpi_has_a_value_and_every_department_a_target_status() {
    use omnikpi::kpi::Status;
    use omnikpi::server::dashboard;
    use omnikpi::view::DEPARTMENTS;

    let (t, spec, summary) = common::planted_demo(42);
    let (first, last) = demo::planted_month(spec.end);
    let month = Period::new(first, last).expect("period");
    let mut conn = t.db.connect().expect("connection");
    let catalog = kpi::catalog(&conn).expect("catalog");
    let keys: Vec<&str> = catalog
        .all()
        .iter()
        .filter(|d| !d.internal)
        .map(|d| d.key.as_str())
        .collect();
    let values = kpi::compute(&conn, &catalog, &keys, &month, &Filters::none()).expect("compute");
    let missing: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| values[*k].is_none() && !NO_VALUE_IN_THE_DEMO.contains(k))
        .collect();
    assert!(missing.is_empty(), "n/a in {first}..{last}: {missing:?}");

    // The marketing platforms' rates are in the ranges their users know.
    let within = |key: &str, lo: f64, hi: f64| {
        let v = values[key].expect("a value");
        assert!((lo..=hi).contains(&v), "{key} {v} not in {lo}..{hi}");
    };
    within("email_open_rate", 0.15, 0.30);
    within("ad_ctr", 0.005, 0.03);
    within("social_engagement_rate", 0.01, 0.08);
    let opens = values["email_open_rate"].expect("open rate");
    within("email_ctr", opens * 0.05, opens * 0.15);

    // A target for every KPI a view shows, for the year, the quarter and the month, and
    // each status on show.
    assert_eq!(summary.targets, 3 * keys.len());
    let query = format!("from={first}&to={last}");
    let mut statuses = std::collections::BTreeSet::new();
    for department in DEPARTMENTS {
        let view = dashboard::department::department_blocking(&mut conn, department, &query)
            .expect("department view");
        assert!(!view.tiles.is_empty(), "{department}");
        for tile in &view.tiles {
            let status = tile.target.as_ref().and_then(|t| t.status);
            assert!(
                status.is_some(),
                "{department}: {} has no status",
                tile.kpi.key
            );
            statuses.extend(status.map(|s| format!("{s:?}")));
        }
    }
    let all: std::collections::BTreeSet<String> =
        [Status::OnTrack, Status::AtRisk, Status::OffTrack]
            .iter()
            .map(|s| format!("{s:?}"))
            .collect();
    assert_eq!(statuses, all);

    // The market's figures sit beside our own, with their sources.
    let company = dashboard::company_blocking(&mut conn, &query).expect("company view");
    assert!(
        company.targets.len() == company.kpis.len(),
        "every tile has a target"
    );
    let marketing = dashboard::department::department_blocking(&mut conn, "marketing", &query)
        .expect("marketing view");
    let open_rate = marketing
        .tiles
        .iter()
        .find(|t| t.kpi.key == "email_open_rate")
        .and_then(|t| t.benchmark.clone())
        .expect("the open rate has a benchmark");
    assert_eq!(open_rate.source, "Mailchimp");
    assert!(open_rate.url.is_some_and(|u| u.starts_with("https://")));
    assert!(open_rate.published.is_some());
}

/// `demo --files-only` writes every source's export file, says how to load them, and loads
/// nothing; the files are those the full demo loads (same seed, same bytes).
#[test]
fn files_only_writes_the_export_files_and_loads_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("files.duckdb");
    let demo = |out: &std::path::Path, extra: &[&str]| -> Vec<String> {
        let mut args = [
            "demo",
            "--customers",
            "60",
            "--days",
            "60",
            "--end",
            "2026-06-30",
        ]
        .map(str::to_string)
        .to_vec();
        args.extend(["--dir".to_string(), out.display().to_string()]);
        args.extend(extra.iter().map(|a| a.to_string()));
        args
    };
    let only = dir.path().join("only");
    let with_flag = demo(&only, &["--files-only"]);
    let with_flag: Vec<&str> = with_flag.iter().map(String::as_str).collect();
    let (ok, out, err) = proc::run(&db, &with_flag);
    assert!(ok, "{err}");
    assert!(out.contains("load each with"), "{out}");
    assert_eq!(proc::count(&db, "SELECT count(*) FROM events"), 0);
    let written: Vec<_> = demo::export::EXPORTS
        .iter()
        .map(|e| only.join(e.file))
        .collect();
    for file in &written {
        assert!(file.exists(), "{} was not written", file.display());
        assert!(out.contains(&file.display().to_string()), "{out}");
    }

    let full = dir.path().join("full");
    let without = demo(&full, &[]);
    let without: Vec<&str> = without.iter().map(String::as_str).collect();
    let (ok, _, err) = proc::run(&dir.path().join("full.duckdb"), &without);
    assert!(ok, "{err}");
    for e in demo::export::EXPORTS {
        assert_eq!(
            std::fs::read(only.join(e.file)).expect("written"),
            std::fs::read(full.join(e.file)).expect("written"),
            "{} differs from the file the demo loads",
            e.file
        );
    }
}
