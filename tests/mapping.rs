//! Loading real-looking exports through source mappings: the examples/ files load with one
//! command each, and mapping mistakes and bad values are reported with file and line.

mod common;

use std::path::PathBuf;

use common::TestDb;
use omnikpi::server::ingest::{self, IngestError, LoadOptions, mapping::Mapping, sources};

fn example(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(path)
}

fn mapping(path: &str) -> Mapping {
    let file = example(path);
    let text = std::fs::read_to_string(&file).expect("mapping file");
    Mapping::parse(&text, &file.display().to_string()).expect("example mapping is valid")
}

fn load(
    t: &TestDb,
    source: &str,
    mapping: Mapping,
    file: PathBuf,
) -> Result<ingest::LoadReport, IngestError> {
    let options = LoadOptions {
        mapping: Some(mapping),
        ..Default::default()
    };
    ingest::load_files(&t.db, source, &[file], &options)
}

fn text(t: &TestDb, sql: &str) -> String {
    let conn = t.db.connect().expect("connection");
    conn.query_row(sql, [], |r| r.get(0)).expect("query")
}

#[test]
fn pos_receipts_load_with_separators_dates_latin1_and_value_maps() {
    let t = TestDb::new();
    let report = load(
        &t,
        "pos",
        mapping("pos/mapping.toml"),
        example("pos/receipts.csv"),
    )
    .expect("receipts load");
    assert_eq!(report.files[0].rows_loaded, 6);
    assert_eq!(
        t.count("SELECT count(*) FROM events WHERE event_type = 'purchase'"),
        5
    );
    assert_eq!(
        t.count("SELECT count(*) FROM events WHERE event_type = 'return'"),
        1
    );
    // "1.249,00" is 1249.00; the receipt lines of MI01 000123 are one order.
    assert_eq!(
        text(&t, "SELECT CAST(max(amount) AS VARCHAR) FROM events"),
        "1249.00"
    );
    assert_eq!(
        t.count("SELECT count(DISTINCT order_id) FROM events WHERE store_id = 'MI01'"),
        1
    );
    assert_eq!(
        text(&t, "SELECT event_id FROM events ORDER BY event_id LIMIT 1"),
        "MI01:000123:1"
    );
    // 07/03/2026 10:15 in Rome is 09:15 UTC.
    assert_eq!(
        text(
            &t,
            "SELECT CAST(timezone('UTC', occurred_at) AS VARCHAR) FROM events WHERE event_id = 'MI01:000123:1'"
        ),
        "2026-03-07 09:15:00"
    );
    // Latin-1 decoded.
    assert_eq!(
        t.count("SELECT count(*) FROM events WHERE category = 'Caffè e più'"),
        1
    );
    assert_eq!(
        t.count("SELECT count(*) FROM events WHERE channel = 'store' AND currency = 'EUR'"),
        6
    );
}

#[test]
fn ecommerce_orders_load() {
    let t = TestDb::new();
    load(
        &t,
        "webshop",
        mapping("ecommerce/mapping.toml"),
        example("ecommerce/orders.csv"),
    )
    .expect("orders load");
    assert_eq!(t.count("SELECT count(*) FROM events"), 4);
    assert_eq!(
        t.count("SELECT count(*) FROM events WHERE email = 'anna.rossi@example.it'"),
        2
    );
    assert_eq!(
        t.count("SELECT count(*) FROM events WHERE event_type = 'return'"),
        1
    );
    assert_eq!(t.count("SELECT count(DISTINCT customer_id) FROM events"), 2);
}

#[test]
fn a_column_missing_from_the_file_names_the_mapping_line() {
    let t = TestDb::new();
    let file = t.file(
        "orders.csv",
        &[
            "line_id,order_number,created_at,status",
            "x,1,2026-03-01T10:00:00Z,paid",
        ],
    );
    let err = load(&t, "webshop", mapping("ecommerce/mapping.toml"), file)
        .expect_err("columns are missing")
        .to_string();
    assert!(err.contains("mapping.toml:"), "{err}");
    assert!(
        err.contains("column \"customer_email\" is not in the header"),
        "{err}"
    );
    assert_eq!(t.count("SELECT count(*) FROM events"), 0);
}

#[test]
fn bad_and_unmapped_values_are_rejected_with_their_line() {
    let t = TestDb::new();
    let file = t.file(
        "receipts.csv",
        &[
            "EXPORT",
            "NEGOZIO;SCONTRINO;RIGA;DATA_ORA;CAUSALE;CARTA_FEDELTA;ARTICOLO;REPARTO;QTA;PREZZO;IMPORTO;\
             ID_MOVIMENTO;PUNTO;EMAIL_SCONTRINO;VALUTA",
            "MI01;1;1;07/03/2026 10:15;VEND;;A;B;1;1,00;1,00;m1;;;EUR",
            "MI01;2;1;07/03/2026 10:15;STORNO;;A;B;1;1,00;1,00;m2;;;EUR",
            "MI01;3;1;32/03/2026 10:15;VEND;;A;B;1;1,00;1,00;m3;;;EUR",
            "MI01;4;1;07/03/2026 10:15;VEND;;A;B;1;1,00;dieci;m4;;;EUR",
        ],
    );
    let mut m = mapping("pos/mapping.toml");
    m.encoding = ingest::mapping::Encoding::Utf8;
    let IngestError::Rejected { rejects, total, .. } =
        load(&t, "pos", m, file).expect_err("rejected")
    else {
        panic!("expected rejects");
    };
    assert_eq!(total, 3);
    let got: Vec<(u64, &str)> = rejects
        .iter()
        .map(|r| (r.line, r.column.as_str()))
        .collect();
    assert_eq!(got, [(4, "event_type"), (5, "occurred_at"), (6, "amount")]);
    assert_eq!(rejects[0].value.as_deref(), Some("STORNO"));
    assert_eq!(t.count("SELECT count(*) FROM events"), 0);
}

#[test]
fn the_cli_registers_a_source_and_loads_its_export() {
    let t = TestDb::new();
    let db = t.path();
    drop(t.db);
    let bin = env!("CARGO_BIN_EXE_omnikpi");
    let run = |args: &[&str]| {
        std::process::Command::new(bin)
            .arg("--db")
            .arg(&db)
            .args(args)
            .output()
            .expect("run omnikpi")
    };
    let mapping = example("pos/mapping.toml").display().to_string();
    let add = run(&["source", "add", "--name", "pos", "--mapping", &mapping]);
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    let receipts = example("pos/receipts.csv").display().to_string();
    let load = run(&["load", "--source", "pos", &receipts]);
    assert!(
        load.status.success(),
        "{}",
        String::from_utf8_lossy(&load.stderr)
    );
    assert!(String::from_utf8_lossy(&load.stdout).contains("6 loaded"));
    let list = run(&["source", "list"]);
    assert!(String::from_utf8_lossy(&list.stdout).contains("pos"));
}

#[test]
fn a_mapping_is_validated_when_added() {
    let t = TestDb::new();
    let conn = t.db.connect().expect("connection");
    let err = sources::add(
        &conn,
        "pos",
        "kind = \"pos\"\n[columns]\nevent_id = \"A\"\n",
        "bad.toml",
    )
    .expect_err("occurred_at and event_type are missing")
    .to_string();
    assert!(err.starts_with("bad.toml:1:"), "{err}");
    assert!(sources::list(&conn).expect("list").is_empty());
}

#[test]
fn every_example_source_loads_with_its_mapping() {
    let t = TestDb::new();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut kinds = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .expect("examples")
        .flatten()
        .collect();
    dirs.sort_by_key(|d| d.file_name());
    for dir in dirs {
        let name = dir.file_name().to_string_lossy().into_owned();
        if name == "benchmarks" {
            // The market benchmark sheet (`omnikpi benchmark import`), not a source.
            continue;
        }
        let mapping_file = dir.path().join("mapping.toml");
        let text = std::fs::read_to_string(&mapping_file).expect("every example has a mapping");
        let conn = t.db.connect().expect("connection");
        let mapping = sources::add(&conn, &name, &text, &mapping_file.display().to_string())
            .unwrap_or_else(|e| panic!("{e}"));
        kinds.push(mapping.kind.clone());
        let data: Vec<PathBuf> = std::fs::read_dir(dir.path())
            .expect("example folder")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "csv"))
            .collect();
        assert_eq!(data.len(), 1, "{name}: one data file");
        let report =
            load(&t, &name, mapping, data[0].clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(report.files[0].rows_loaded > 0, "{name} loaded nothing");
    }
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "ads",
            "app",
            "chat",
            "crm_loyalty",
            "ecommerce",
            "ecommerce",
            "email",
            "logistics",
            "pos",
            "social",
            "survey",
            "web_analytics"
        ]
    );
    // The loyalty export links the till's card L0001234 to anna's web orders: one customer.
    assert_eq!(
        t.count(
            "SELECT count(DISTINCT customer_id) FROM events
             WHERE loyalty_id = 'L0001234' OR email = 'anna.rossi@example.it'"
        ),
        1
    );
    // The example sources together answer KPIs of every department.
    let conn = t.db.connect().expect("connection");
    let march = omnikpi::server::kpi::Period::parse("2026-03-01", "2026-03-31").expect("period");
    let keys = [
        "nps",
        "csat",
        "email_open_rate",
        "on_time_delivery_rate",
        "chat_resolution_rate",
        "ad_ctr",
        "social_engagement_rate",
    ];
    let v = omnikpi::server::kpi::compute(
        &conn,
        omnikpi::server::kpi::Catalog::builtin(),
        &keys,
        &march,
        &omnikpi::server::kpi::Filters::none(),
    )
    .expect("compute");
    // NPS: one promoter (9), one detractor (4) of two answers: 0.
    assert_eq!(v["nps"], Some(0.0));
    assert_eq!(v["csat"], Some(0.0));
    assert_eq!(v["email_open_rate"], Some(0.5));
    assert_eq!(v["on_time_delivery_rate"], Some(0.5));
    assert_eq!(v["chat_resolution_rate"], Some(1.0));
    // 2 clicks of 4 impressions (two daily rows of 2).
    assert_eq!(v["ad_ctr"], Some(0.5));
    // A like and a comment on a post viewed 120 times (a follow is not engagement).
    assert_eq!(v["social_engagement_rate"], Some(2.0 / 120.0));
}
