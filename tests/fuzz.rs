//! Property-based fuzzing of every parser that takes user input (issue #11, "Bad input"): the
//! mapping TOML, CSV and NDJSON rows through the whole load path, the query strings of the
//! pages and the API (period, filters, parameters), and the body of `POST /api/v1/events`.
//!
//! Properties: nothing panics; every input is either accepted or refused with a typed error
//! that names where (file and line, or the parameter); a load applies completely or not at
//! all (row counts and a checksum of the events before and after).
//!
//! The default suite runs a few cases of each (the load path is slow: every case is a real
//! transaction with stitching). `scripts/fuzz.sh` runs many more with `PROPTEST_CASES`.

mod common;
#[path = "common/web.rs"]
mod web;

use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::StatusCode;
use common::TestDb;
use omnikpi::server::ingest::mapping::Mapping;
use omnikpi::server::ingest::{self, IngestError, LoadOptions};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use web::Browser;

/// Cases per property: `PROPTEST_CASES`, or `default` in the normal suite.
fn config(default: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    Config {
        cases,
        // Regressions are kept as tests below, by hand, rather than in a file per test.
        failure_persistence: None,
        ..Config::default()
    }
}

/// Counts each property's cases, printed at the end of each test for scripts/fuzz.sh.
fn report(name: &str, cases: &AtomicUsize) {
    println!("fuzz {name}: {} cases", cases.load(Ordering::Relaxed));
}

/// The outcome of one load must be all or nothing, and a refusal must say where.
fn check_load(
    t: &TestDb,
    name: &str,
    bytes: &[u8],
    options: &LoadOptions,
    physical_lines: u64,
) -> Result<(), TestCaseError> {
    let path = t.dir.path().join(name);
    std::fs::write(&path, bytes).expect("write");
    let before = t.snapshot();
    let result = ingest::load_files(&t.db, "fuzz", std::slice::from_ref(&path), options);
    let after = t.snapshot();
    let shown = path.display().to_string();
    match result {
        Ok(report) => {
            let f = &report.files[0];
            prop_assert!(!f.skipped || after == before);
            prop_assert_eq!(
                f.rows_loaded + f.rows_duplicate + f.rows_rejected,
                f.rows_read,
                "{:?}",
                f
            );
            prop_assert_eq!(after.events - before.events, f.rows_loaded as i64);
            if f.rows_loaded == 0 {
                prop_assert_eq!(&after.checksum, &before.checksum);
            }
        }
        Err(err) => {
            prop_assert_eq!(&after, &before, "a refused load changed the data: {}", err);
            let text = err.to_string();
            match &err {
                IngestError::Rejected { total, rejects, .. } => {
                    prop_assert!(*total >= rejects.len() as u64);
                    prop_assert!(!rejects.is_empty());
                    for r in rejects {
                        prop_assert!(
                            r.line >= 1 && r.line <= physical_lines.max(1),
                            "line {} of {}: {}",
                            r.line,
                            physical_lines,
                            text
                        );
                        prop_assert!(
                            ingest::canonical::find(&r.column).is_some(),
                            "column {:?}",
                            r.column
                        );
                        prop_assert!(!r.reason.is_empty());
                    }
                    prop_assert!(text.starts_with(&format!("{shown}:")), "{}", text);
                }
                IngestError::Mapping(m) => {
                    prop_assert!(m.line >= 1, "{}", text);
                }
                IngestError::Db(_) | IngestError::Identity(_) => {
                    prop_assert!(false, "an input reached a database error: {}", text);
                }
                _ => {
                    prop_assert!(text.starts_with(&shown), "{}", text);
                }
            }
        }
    }
    Ok(())
}

/// Cell values: valid ones of each kind, and the hostile ones.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just(String::new()),
        2 => prop::sample::select(vec![
            "2026-03-10T10:00:00Z", "2026-03-10T10:00:00+01:00", "2026-03-29T02:30:00",
            "2026-02-30T10:00:00Z", "1899-12-31T23:59:59Z", "2101-01-01T00:00:00Z",
            "10000-01-01T00:00:00Z", "infinity", "-infinity", "epoch", "2026-03-10",
        ]).prop_map(str::to_string),
        2 => prop::sample::select(vec![
            "purchase", "return", "visit", "identify", "survey", "delivery", "PURCHASE", "buy",
        ]).prop_map(str::to_string),
        2 => prop::sample::select(vec![
            "store", "web", "app", "Store ", "fax", "",
        ]).prop_map(str::to_string),
        2 => prop::sample::select(vec![
            "0", "1.00", "12.5", "-3", "1e3", "1e400", "NaN", "inf", "0.001", "1,50",
            "99999999999999999999999999999999.99", "0x10", " 7 ", "١٢٣",
        ]).prop_map(str::to_string),
        1 => prop::sample::select(vec![
            "a@x.it", "A@X.IT ", "not-an-email", "@", "a@b", "nps", "csat", "NPS",
            "{\"a\": 1}", "{oops", "[]", "null", "EUR", "usd", "pos", "fuzz",
        ]).prop_map(str::to_string),
        2 => "[a-z0-9]{1,8}",
        1 => any::<String>(),
        1 => "[\"',;\\t\\r\\n\\\\ ]{1,4}",
    ]
}

fn quote(v: &str) -> String {
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

/// A canonical CSV: the three required columns, some optional ones, then rows of cells.
fn csv_file() -> impl Strategy<Value = (Vec<&'static str>, Vec<Vec<String>>)> {
    let optional = prop::sample::subsequence(
        vec![
            "channel",
            "email",
            "loyalty_id",
            "order_id",
            "amount",
            "currency",
            "score",
            "score_scale",
            "attributes",
            "store_id",
            "quantity",
            "source",
        ],
        0..6,
    );
    (optional, 1usize..6).prop_flat_map(|(optional, rows)| {
        let mut header = vec!["event_id", "occurred_at", "event_type"];
        header.extend(optional);
        let width = header.len();
        let row = prop::collection::vec(cell(), width..=width);
        (Just(header), prop::collection::vec(row, rows..=rows))
    })
}

static CSV_CASES: AtomicUsize = AtomicUsize::new(0);

#[test]
fn csv_rows_through_the_load_path() {
    let t = TestDb::with_fixture();
    let mut runner = TestRunner::new(config(24));
    let result = runner.run(&(csv_file(), 0u64..2), |((header, rows), max_rejects)| {
        let n = CSV_CASES.fetch_add(1, Ordering::Relaxed);
        let mut text = header.join(",");
        text.push('\n');
        for row in &rows {
            let line: Vec<String> = row.iter().map(|v| quote(v)).collect();
            text.push_str(&line.join(","));
            text.push('\n');
        }
        let lines = text.matches('\n').count() as u64;
        let options = LoadOptions {
            max_rejects,
            force: true,
            ..Default::default()
        };
        check_load(
            &t,
            &format!("case{n}.csv"),
            text.as_bytes(),
            &options,
            lines,
        )
    });
    report("csv", &CSV_CASES);
    result.expect("property");
}

/// Raw bytes as a file: whatever it is, a load is refused or applied whole.
static BYTES_CASES: AtomicUsize = AtomicUsize::new(0);

#[test]
fn arbitrary_bytes_as_a_csv_file() {
    let t = TestDb::with_fixture();
    let mut runner = TestRunner::new(config(24));
    let header = b"event_id,occurred_at,event_type,amount\n".to_vec();
    let result = runner.run(
        &(any::<bool>(), prop::collection::vec(any::<u8>(), 0..300)),
        |(with_header, bytes)| {
            let n = BYTES_CASES.fetch_add(1, Ordering::Relaxed);
            let mut body = if with_header {
                header.clone()
            } else {
                Vec::new()
            };
            body.extend(bytes);
            let lines = body.iter().filter(|b| **b == b'\n').count() as u64 + 1;
            check_load(
                &t,
                &format!("bytes{n}.csv"),
                &body,
                &LoadOptions::default(),
                lines,
            )
        },
    );
    report("bytes", &BYTES_CASES);
    result.expect("property");
}

/// One NDJSON line: an object of canonical keys (and an odd one), or garbage.
fn ndjson_line() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "event_id",
        "occurred_at",
        "event_type",
        "channel",
        "amount",
        "email",
        "attributes",
        "score",
        "score_scale",
        "colour",
        "source",
    ]);
    let value = prop_oneof![
        cell().prop_map(serde_json::Value::String),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number)),
        Just(serde_json::Value::Null),
        Just(serde_json::json!({"nested": [1, {"deep": true}]})),
        Just(serde_json::json!([1, 2, 3])),
        any::<bool>().prop_map(serde_json::Value::Bool),
    ];
    let object = prop::collection::vec((key, value), 0..7).prop_map(|pairs| {
        let mut base = serde_json::Map::new();
        base.insert("event_id".into(), "n".into());
        base.insert("occurred_at".into(), "2026-03-10T10:00:00Z".into());
        base.insert("event_type".into(), "visit".into());
        for (k, v) in pairs {
            base.insert(k.to_string(), v);
        }
        serde_json::Value::Object(base).to_string()
    });
    prop_oneof![
        8 => object,
        1 => "[^\n]{0,40}",
        1 => Just("[1, 2]".to_string()),
        1 => Just("{\"event_id\": ".to_string()),
    ]
}

static NDJSON_CASES: AtomicUsize = AtomicUsize::new(0);

#[test]
fn ndjson_rows_through_the_load_path() {
    let t = TestDb::with_fixture();
    let mut runner = TestRunner::new(config(24));
    let result = runner.run(&prop::collection::vec(ndjson_line(), 1..6), |lines| {
        let n = NDJSON_CASES.fetch_add(1, Ordering::Relaxed);
        // Distinct event ids per line, so duplicates in the file are the generator's choice.
        let lines: Vec<String> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                l.replacen(
                    "\"event_id\":\"n\"",
                    &format!("\"event_id\":\"n{n}-{i}\""),
                    1,
                )
            })
            .collect();
        let text = format!("{}\n", lines.join("\n"));
        let count = lines.len() as u64;
        check_load(
            &t,
            &format!("case{n}.ndjson"),
            text.as_bytes(),
            &LoadOptions {
                force: true,
                ..Default::default()
            },
            count,
        )
    });
    report("ndjson", &NDJSON_CASES);
    result.expect("property");
}

/// A mapping file: a valid one with lines dropped, duplicated or replaced by hostile ones.
fn mapping_text() -> impl Strategy<Value = String> {
    const BASE: &[&str] = &[
        "kind = \"pos\"",
        "[csv]",
        "delimiter = \";\"",
        "decimal = \",\"",
        "thousands = \".\"",
        "encoding = \"utf-8\"",
        "skip_rows = 0",
        "[timestamp]",
        "format = \"%d/%m/%Y %H:%M\"",
        "time_zone = \"Europe/Rome\"",
        "[columns]",
        "event_id = [\"SHOP\", \"RECEIPT\"]",
        "occurred_at = \"WHEN\"",
        "event_type = \"WHAT\"",
        "amount = \"TOTAL\"",
        "[constants]",
        "channel = \"store\"",
        "[values.event_type]",
        "SALE = \"purchase\"",
    ];
    let hostile = prop::sample::select(vec![
        "delimiter = \"'\"",
        "delimiter = \"\"",
        "delimiter = \";;\"",
        "quote = \"\\\\\"",
        "encoding = \"ebcdic\"",
        "skip_rows = -1",
        "skip_rows = 99999999999999999999",
        "format = \"%Y'; DROP TABLE events; --\"",
        "time_zone = \"Mars/Olympus\"",
        "time_zone = \"Europe/Rome'\"",
        "amount = \"TOTAL\"",
        "customer_id = \"X\"",
        "colour = \"red\"",
        "event_type = 3",
        "[columns",
        "[[columns]]",
        "= \"x\"",
        "kind = \"spaceship\"",
        "event_id = []",
        "SALE = \"sale\"",
        "occurred_at = \"WHEN\"",
        "\"\\u0000\" = \"x\"",
        "decimal = \"é\"",
    ]);
    let edit = prop_oneof![
        Just(None),
        hostile.prop_map(|h| Some(h.to_string())),
        "[^\n]{0,30}".prop_map(Some),
    ];
    prop::collection::vec((0..BASE.len(), any::<bool>(), edit), 0..5).prop_map(|edits| {
        let mut lines: Vec<String> = BASE.iter().map(|s| s.to_string()).collect();
        for (at, drop, edit) in edits {
            let at = at.min(lines.len().saturating_sub(1));
            match edit {
                Some(line) => lines.insert(at, line),
                None if drop && !lines.is_empty() => {
                    lines.remove(at);
                }
                None => {
                    let copy = lines[at].clone();
                    lines.insert(at, copy);
                }
            }
        }
        lines.join("\n")
    })
}

static MAPPING_CASES: AtomicUsize = AtomicUsize::new(0);

#[test]
fn mapping_toml_and_a_file_through_it() {
    let t = TestDb::with_fixture();
    let mut runner = TestRunner::new(config(48));
    let data = "SHOP;RECEIPT;WHEN;WHAT;TOTAL\nS1;1;10/03/2026 10:00;SALE;1.234,50\nS1;2;10/03/2026 11:00;SALE;12,00\n";
    let result = runner.run(&mapping_text(), |text| {
        let n = MAPPING_CASES.fetch_add(1, Ordering::Relaxed);
        let lines = text.lines().count().max(1);
        match Mapping::parse(&text, "fuzz.toml") {
            Err(e) => {
                prop_assert_eq!(&e.file, "fuzz.toml");
                prop_assert!(
                    e.line >= 1 && e.line <= lines + 1,
                    "line {} of {}: {}",
                    e.line,
                    lines,
                    e
                );
                prop_assert!(!e.problem.is_empty());
                let prefix = format!("fuzz.toml:{}: ", e.line);
                prop_assert!(e.to_string().starts_with(&prefix), "{}", e);
            }
            Ok(mapping) => {
                let options = LoadOptions {
                    mapping: Some(mapping),
                    force: true,
                    ..Default::default()
                };
                check_load(&t, &format!("mapped{n}.csv"), data.as_bytes(), &options, 3)?;
            }
        }
        Ok(())
    });
    report("mapping", &MAPPING_CASES);
    result.expect("property");
}

static TOML_CASES: AtomicUsize = AtomicUsize::new(0);

#[test]
fn arbitrary_text_as_a_mapping() {
    let mut runner = TestRunner::new(config(256));
    let result = runner.run(&any::<String>(), |text| {
        TOML_CASES.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = Mapping::parse(&text, "any.toml") {
            prop_assert!(e.line >= 1 && e.line <= text.lines().count() + 1, "{}", e);
        }
        Ok(())
    });
    report("toml", &TOML_CASES);
    result.expect("property");
}

/// Query strings: known parameters with good and bad values, unknown ones, raw escapes.
fn query_string() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        6 => prop::sample::select(vec![
            "from", "to", "kpi", "compare", "grain", "lang", "dimension", "top", "channel",
            "store", "region", "campaign", "category", "sku", "touchpoint", "segment", "topic",
            "preset", "by",
        ]).prop_map(str::to_string),
        1 => "[a-z_%+=&]{0,8}",
    ];
    let value = prop_oneof![
        3 => prop::sample::select(vec![
            "2026-03-01", "2026-03-31", "2026-02-30", "0001-01-01", "9999-12-31", "+262143-01-01",
            "-0001-01-01", "gross_revenue,orders", "nope", "previous", "last_year", "week",
            "month", "day", "quarter", "channel", "store", "0", "1", "51", "-1", "99999999999999999999",
            "en", "it", "web", "store,web", ",,,", "%", "%zz", "%+1", "%00", "%ff", "last_30_days",
        ]).prop_map(str::to_string),
        1 => any::<String>().prop_map(|s| omnikpi::url::encode(&s)),
        1 => "[^&#]{0,12}",
    ];
    prop::collection::vec((name, value), 0..6).prop_map(|pairs| {
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    })
}

static QUERY_CASES: AtomicUsize = AtomicUsize::new(0);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_strings_of_the_api_and_pages() {
    let t = TestDb::with_fixture();
    let app = web::router_as_admin(&t.db);
    let mut runner = TestRunner::new(config(32));
    let cases: Vec<(String, usize)> = {
        // Generate first (the runner's closure is synchronous), then send each request.
        let strategy = (query_string(), 0usize..4);
        let mut out = Vec::new();
        for _ in 0..runner.config().cases {
            out.push(strategy.new_tree(&mut runner).expect("generate").current());
        }
        out
    };
    let before = t.snapshot();
    for (query, target) in cases {
        QUERY_CASES.fetch_add(1, Ordering::Relaxed);
        let uri = match target {
            0 => format!("/api/v1/kpis?{query}"),
            1 => format!("/api/v1/kpis/gross_revenue/breakdown?{query}"),
            2 => format!("/?{query}"),
            _ => format!("/kpi/gross_revenue?{query}"),
        };
        let Ok(uri_parsed) = uri.parse::<axum::http::Uri>() else {
            continue;
        };
        let reply = Browser::new(app.clone()).get(&uri_parsed.to_string()).await;
        assert!(
            reply.status == StatusCode::OK
                || reply.status == StatusCode::BAD_REQUEST
                || reply.status == StatusCode::NOT_FOUND
                || reply.status == StatusCode::SEE_OTHER,
            "{uri}: {} {}",
            reply.status,
            reply.body.chars().take(400).collect::<String>()
        );
        if uri.starts_with("/api/") {
            let json: Result<serde_json::Value, _> = serde_json::from_str(&reply.body);
            assert!(json.is_ok(), "{uri}: not JSON");
            if reply.status == StatusCode::BAD_REQUEST {
                let error = json
                    .ok()
                    .and_then(|j| j["error"].as_str().map(str::to_string));
                assert!(error.is_some_and(|e| !e.is_empty()), "{uri}: no message");
            }
        }
    }
    assert_eq!(t.snapshot(), before);
    report("query", &QUERY_CASES);
}

static PARSER_CASES: AtomicUsize = AtomicUsize::new(0);

#[test]
fn filter_and_view_parsers_never_panic() {
    let mut runner = TestRunner::new(config(512));
    let result = runner.run(&query_string(), |query| {
        PARSER_CASES.fetch_add(1, Ordering::Relaxed);
        let pairs = omnikpi::url::parse(&query);
        let refs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        match omnikpi::server::kpi::Filters::parse(refs.clone()) {
            Ok(_) => {}
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
        match omnikpi::view::ViewState::parse(refs.clone()) {
            Ok(state) => {
                // The query a page writes into its links parses back to the same query
                // (a preset drops from/to by design, so compare the written forms).
                let written = state.query();
                let again = omnikpi::url::parse(&written);
                let again: Vec<(&str, &str)> = again
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let reparsed = omnikpi::view::ViewState::parse(again);
                prop_assert!(reparsed.is_ok(), "{} -> {}: {:?}", query, written, reparsed);
                prop_assert_eq!(reparsed.map(|s| s.query()).unwrap_or_default(), written);
            }
            Err(e) => prop_assert!(!e.is_empty()),
        }
        let _ = omnikpi::view::ViewState::lenient(refs);
        Ok(())
    });
    report("filters", &PARSER_CASES);
    result.expect("property");
}

/// Found by `mapping_toml_and_a_file_through_it`: a stray carriage return before the first
/// key made the TOML parser's message empty, so the error said only "fuzz.toml:1: ".
#[test]
fn regression_a_toml_error_always_has_words() {
    let err = Mapping::parse("\r0\nkind = \"pos\"\n", "cr.toml").expect_err("not TOML");
    assert_eq!(err.line, 1);
    assert!(!err.problem.trim().is_empty(), "{err}");
    assert!(err.to_string().starts_with("cr.toml:1: "), "{err}");
}

static URL_CASES: AtomicUsize = AtomicUsize::new(0);

#[test]
fn url_decoding_round_trips_and_decodes_only_escapes() {
    let mut runner = TestRunner::new(config(1024));
    runner
        .run(&any::<String>(), |s| {
            URL_CASES.fetch_add(1, Ordering::Relaxed);
            prop_assert_eq!(omnikpi::url::decode(&omnikpi::url::encode(&s)), s.clone());
            // Text without % or + decodes to itself.
            if !s.contains(['%', '+']) {
                prop_assert_eq!(omnikpi::url::decode(&s), s.clone());
            }
            let _ = omnikpi::url::parse(&s);
            Ok(())
        })
        .expect("property");
    runner
        .run(&("[%+0-9a-fA-FgG-]{0,6}"), |s| {
            URL_CASES.fetch_add(1, Ordering::Relaxed);
            // A % escape is exactly two hex digits; anything else stays as written.
            let decoded = omnikpi::url::decode(&s);
            let mut expected = Vec::new();
            let b = s.as_bytes();
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'%'
                    && i + 2 < b.len()
                    && b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                    && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
                {
                    let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("0");
                    expected.push(u8::from_str_radix(hex, 16).unwrap_or(0));
                    i += 3;
                } else {
                    expected.push(if b[i] == b'+' { b' ' } else { b[i] });
                    i += 1;
                }
            }
            prop_assert_eq!(
                decoded,
                String::from_utf8_lossy(&expected).into_owned(),
                "{}",
                s
            );
            Ok(())
        })
        .expect("property");
    report("url", &URL_CASES);
}

/// Caught by the property above: `%+1` decoded to the byte 0x01, because the standard
/// library's radix parser takes a leading `+` as a sign.
#[test]
fn regression_a_plus_after_percent_is_not_a_hex_digit() {
    assert_eq!(omnikpi::url::decode("%+1"), "%+1".replace('+', " "));
    assert_eq!(omnikpi::url::decode("%+f%41"), "% fA");
    assert_eq!(omnikpi::url::decode("a%2Bb"), "a+b");
}

static API_CASES: AtomicUsize = AtomicUsize::new(0);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_event_bodies() {
    let t = TestDb::with_fixture();
    let token = {
        let conn = t.db.connect().expect("connection");
        omnikpi::server::tokens::create(&conn, "fuzz", omnikpi::server::tokens::INGEST, None)
            .expect("token")
    };
    let mut runner = TestRunner::new(config(24));
    let strategy = (prop::collection::vec(ndjson_line(), 0..5), any::<bool>());
    let mut bodies = Vec::new();
    for _ in 0..runner.config().cases {
        bodies.push(strategy.new_tree(&mut runner).expect("generate").current());
    }
    for (n, (lines, crlf)) in bodies.into_iter().enumerate() {
        API_CASES.fetch_add(1, Ordering::Relaxed);
        let lines: Vec<String> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                l.replacen(
                    "\"event_id\":\"n\"",
                    &format!("\"event_id\":\"a{n}-{i}\""),
                    1,
                )
            })
            .collect();
        let body = lines.join(if crlf { "\r\n" } else { "\n" });
        let received = body.lines().filter(|l| !l.trim().is_empty()).count() as u64;
        let before = t.snapshot();
        let (status, text) = web::post_ndjson(
            web::router(&t.db),
            "/api/v1/events?source=fuzz",
            Some(&token),
            body.clone(),
        )
        .await;
        let json: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: not JSON: {text}"));
        let after = t.snapshot();
        match status {
            StatusCode::OK => {
                let loaded = json["loaded"].as_u64().unwrap_or(u64::MAX);
                let duplicate = json["duplicate"].as_u64().unwrap_or(u64::MAX);
                assert_eq!(loaded + duplicate, received, "{body}: {json}");
                assert_eq!((after.events - before.events) as u64, loaded, "{body}");
            }
            StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => {
                assert_eq!(after, before, "{body}: {json}");
                let error = json["error"].as_str().unwrap_or_default();
                assert!(!error.is_empty(), "{json}");
                assert!(
                    !error.contains("omnikpi-events-"),
                    "the spool file leaks: {error}"
                );
                if let Some(rejects) = json["rejects"].as_array() {
                    for r in rejects {
                        let line = r["line"].as_u64().unwrap_or(0);
                        assert!(line >= 1 && line <= received.max(1), "{body}: {json}");
                    }
                }
            }
            other => panic!("{other}: {body}: {json}"),
        }
    }
    report("api", &API_CASES);
}
