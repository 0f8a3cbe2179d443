//! Bad input, one test per case of issue #11 ("Bad input") and of what the load path plainly
//! needs: each input is refused with a message a user can act on (file, line, column, reason,
//! or the request's JSON error) and the database is exactly as it was (row counts and a
//! checksum of the events table before and after; a refused load leaves only its `failed`
//! line in `loads`).
//!
//! Cases covered elsewhere, not repeated here:
//! - Latin-1 file without a mapping: tests/load.rs `a_latin1_file_without_a_mapping_is_refused_with_the_way_out`
//! - duplicated, unknown, missing and derived columns: tests/load.rs `header_problems_are_named`
//! - negative amounts, unknown event types and channels, dates before 1990 and `infinity`,
//!   bad e-mails, scores, JSON attributes, missing and duplicated event ids, three decimals:
//!   tests/load.rs `every_kind_of_bad_value_is_reported`
//! - one bad row loads nothing and names line and column: tests/load.rs
//!   `a_file_with_one_bad_row_loads_nothing_and_names_line_and_column`; a later bad file rolls
//!   back earlier ones: `a_failed_file_rolls_back_the_files_before_it`
//! - a file name that reads as a pattern: tests/load.rs `a_file_name_that_reads_as_a_pattern_is_refused`
//! - amounts in another currency: tests/load.rs `amounts_in_another_currency_are_refused_with_their_line`
//! - NDJSON with an unknown key or a bad value: tests/load.rs `ndjson_files_load_with_numbers_objects_and_line_numbers`
//! - more than 10,000 events in one POST, a bad event in a batch: tests/http.rs
//!   `a_batch_with_a_bad_event_loads_nothing_and_names_the_line`
//! - unknown filters and injected filter values on the API: tests/http.rs
//!   `api_filters_narrow_and_unknown_parameters_are_refused`; on pages: tests/kpi_filters.rs
//!   `unknown_filter_values_are_refused_by_name`
//! - a bad period on a page: tests/http.rs `a_bad_period_shows_a_message_not_a_crash`
//! - formula injection: the cell rule in src/server/admin/audit.rs `csv_cells_are_quoted_and_formulas_defused`
//!   (unit), through a real export in [`exported_csv_cells_cannot_start_a_formula`] below
//! - mapping files with errors: tests/mapping.rs and the unit tests of src/server/ingest/mapping.rs
//! - random inputs to every parser: tests/fuzz.rs (proptest)

mod common;
#[path = "common/web.rs"]
mod web;

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{FIXTURE, TestDb};
use http_body_util::BodyExt;
use omnikpi::server::ingest::IngestError;
use omnikpi::server::tokens;
use tower::ServiceExt;

/// Writes `bytes` as `name`, loads it for source `pos`, and checks it is refused, the message
/// is exactly `expected` (with `{file}` standing for the path), and nothing changed but one
/// `failed` line in `loads`.
fn refused(t: &TestDb, name: &str, bytes: &[u8]) -> (IngestError, PathBuf) {
    let path = t.dir.path().join(name);
    std::fs::write(&path, bytes).expect("write");
    let before = t.snapshot();
    let failed = t.count("SELECT count(*) FROM loads WHERE status = 'failed'");
    let err = t.load("pos", &path).expect_err("refused");
    assert_eq!(t.snapshot(), before, "{err}");
    assert_eq!(
        t.count("SELECT count(*) FROM loads WHERE status = 'failed'"),
        failed + 1,
        "the attempt is recorded as failed"
    );
    (err, path)
}

fn message(err: &IngestError, path: &Path) -> String {
    err.to_string()
        .replace(&path.display().to_string(), "{file}")
}

#[test]
fn an_empty_file() {
    let t = TestDb::with_fixture();
    let (err, path) = refused(&t, "empty.csv", b"");
    assert!(matches!(err, IngestError::Empty(_)));
    assert_eq!(message(&err, &path), "{file}: the file is empty");
}

#[test]
fn a_file_with_only_a_header() {
    let t = TestDb::with_fixture();
    let (err, path) = refused(&t, "header.csv", format!("{}\n", FIXTURE[0]).as_bytes());
    assert_eq!(
        message(&err, &path),
        "{file}: the file has a header but no rows"
    );
    // Blank lines after the header are no rows either.
    let (err, path) = refused(
        &t,
        "header-blank.csv",
        format!("{}\n\n\n", FIXTURE[0]).as_bytes(),
    );
    assert_eq!(
        message(&err, &path),
        "{file}: the file has a header but no rows"
    );
}

#[test]
fn a_file_separated_by_semicolons() {
    let t = TestDb::with_fixture();
    let (err, path) = refused(
        &t,
        "semicolons.csv",
        b"event_id;occurred_at;event_type\nz1;2026-03-10T10:00:00Z;visit\n",
    );
    let text = message(&err, &path);
    assert!(
        text.starts_with(
            "{file}: line 1: unknown column \"event_id;occurred_at;event_type\"; \
             a canonical file uses these names: source, event_id, "
        ),
        "{text}"
    );
}

#[test]
fn a_row_with_more_values_than_the_header() {
    let t = TestDb::with_fixture();
    let (err, path) = refused(
        &t,
        "extra.csv",
        b"event_id,occurred_at,event_type\nz1,2026-03-10T10:00:00Z,visit\nz2,2026-03-10T10:00:00Z,visit,surplus\n",
    );
    assert_eq!(
        message(&err, &path),
        "{file}:3: 4 values where the header has 3 (check the delimiter and the quotes of this line)"
    );
}

#[test]
fn a_row_with_fewer_values_than_the_header() {
    let t = TestDb::with_fixture();
    let (err, path) = refused(
        &t,
        "short.csv",
        b"event_id,occurred_at,event_type,channel\nz1,2026-03-10T10:00:00Z,visit\n",
    );
    assert_eq!(
        message(&err, &path),
        "{file}:2: 3 values where the header has 4 (check the delimiter and the quotes of this line)"
    );
}

#[test]
fn an_unterminated_quote() {
    let t = TestDb::with_fixture();
    let (err, path) = refused(
        &t,
        "quote.csv",
        b"event_id,occurred_at,event_type,touchpoint\nz1,2026-03-10T10:00:00Z,visit,\"never closed\nz2,2026-03-10T10:00:00Z,visit,shop\n",
    );
    assert_eq!(
        message(&err, &path),
        "{file}:2: a quoted value is never closed (a \" without its closing \")"
    );
}

#[test]
fn a_ten_megabyte_line() {
    let t = TestDb::with_fixture();
    let mut body =
        b"event_id,occurred_at,event_type,touchpoint\nz1,2026-03-10T10:00:00Z,visit,".to_vec();
    body.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
    body.push(b'\n');
    let (err, path) = refused(&t, "long-line.csv", &body);
    assert_eq!(
        message(&err, &path),
        "{file}:2: the line is longer than 2000000 bytes (10485790 bytes)"
    );
}

#[test]
fn a_ten_megabyte_header() {
    let t = TestDb::with_fixture();
    let mut body = b"event_id,occurred_at,event_type,".to_vec();
    body.extend(std::iter::repeat_n(b'y', 10 * 1024 * 1024));
    body.extend(b"\nz1,2026-03-10T10:00:00Z,visit,1\n");
    let (err, path) = refused(&t, "long-header.csv", &body);
    assert_eq!(
        message(&err, &path),
        "{file}: line 1: the first line is longer than 64 KB, which no header is"
    );
    // A long column name that fits is quoted cut short.
    let mut body = b"event_id,occurred_at,event_type,".to_vec();
    body.extend(std::iter::repeat_n(b'y', 10_000));
    body.extend(b"\nz1,2026-03-10T10:00:00Z,visit,1\n");
    let (err, path) = refused(&t, "wide-header.csv", &body);
    let text = message(&err, &path);
    assert!(
        text.starts_with(&format!(
            "{{file}}: line 1: unknown column \"{}\"... (10000 characters); ",
            "y".repeat(60)
        )),
        "{}",
        &text[..text.len().min(300)]
    );
}

#[test]
fn nul_bytes_and_control_characters() {
    let t = TestDb::with_fixture();
    let (err, path) = refused(
        &t,
        "nul.csv",
        b"event_id,occurred_at,event_type,amount\nz1,2026-03-10T10:00:00Z,purchase,1\x0000\n",
    );
    let IngestError::Rejected { rejects, .. } = &err else {
        panic!("expected rejects: {err}");
    };
    assert_eq!((rejects[0].line, rejects[0].column.as_str()), (2, "amount"));
    assert!(message(&err, &path).starts_with("{file}:2: column amount: not a number"));
}

#[test]
fn dates_that_do_not_exist_or_are_out_of_range() {
    let t = TestDb::with_fixture();
    let (err, path) = refused(
        &t,
        "dates.csv",
        b"event_id,occurred_at,event_type\n\
          d1,2026-02-30T10:00:00Z,visit\n\
          d2,2026-13-01T10:00:00Z,visit\n\
          d3,2101-01-01T00:00:00Z,visit\n\
          d4,10000-01-01T00:00:00Z,visit\n\
          d5,2026-03-10T25:00:00Z,visit\n\
          d6,2026-03-10,visit\n",
    );
    let IngestError::Rejected { total, rejects, .. } = &err else {
        panic!("expected rejects: {err}");
    };
    let got: Vec<(u64, &str)> = rejects
        .iter()
        .map(|r| (r.line, r.column.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (2, "occurred_at"),
            (3, "occurred_at"),
            (4, "occurred_at"),
            (5, "occurred_at"),
            (6, "occurred_at")
        ],
        "{err}"
    );
    assert_eq!(*total, 5);
    let text = message(&err, &path);
    assert!(
        text.contains("{file}:4: column occurred_at: date out of range (1990-2100)"),
        "{text}"
    );
    assert!(
        text.ends_with("5 invalid values; nothing was loaded"),
        "{text}"
    );
}

#[test]
fn amounts_that_are_not_money() {
    let t = TestDb::with_fixture();
    let (err, path) = refused(
        &t,
        "money.csv",
        b"event_id,occurred_at,event_type,amount\n\
          m1,2026-03-10T10:00:00Z,purchase,NaN\n\
          m2,2026-03-10T10:00:00Z,purchase,inf\n\
          m3,2026-03-10T10:00:00Z,purchase,1e400\n\
          m4,2026-03-10T10:00:00Z,purchase,99999999999999999999999999.00\n\
          m5,2026-03-10T10:00:00Z,purchase,-0.01\n",
    );
    let IngestError::Rejected { total, rejects, .. } = &err else {
        panic!("expected rejects: {err}");
    };
    let lines: Vec<u64> = rejects.iter().map(|r| r.line).collect();
    assert_eq!(lines, [2, 3, 4, 5, 6], "{err}");
    assert!(rejects.iter().all(|r| r.column == "amount"), "{err}");
    assert_eq!(*total, 5);
    assert!(message(&err, &path).contains("{file}:6: column amount: must not be negative"));
}

#[test]
fn ndjson_that_is_not_one_object_a_line() {
    let t = TestDb::with_fixture();
    let cases: &[(&str, &str)] = &[
        (
            "array.ndjson",
            r#"[{"event_id": "j1", "occurred_at": "2026-03-10T10:00:00Z", "event_type": "visit"}]"#,
        ),
        ("scalar.ndjson", "42"),
        ("cut.ndjson", r#"{"event_id": "j1", "occurred_at": "#),
        ("garbage.ndjson", "\u{1}\u{2} not json at all"),
    ];
    for (name, line) in cases {
        let (err, path) = refused(&t, name, format!("{line}\n").as_bytes());
        let text = message(&err, &path);
        assert!(text.starts_with("{file}: "), "{name}: {text}");
    }
}

#[test]
fn deeply_nested_json_attributes() {
    let t = TestDb::with_fixture();
    let depth = 100_000;
    let nested = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
    let line = format!(
        r#"{{"event_id": "deep", "occurred_at": "2026-03-10T10:00:00Z", "event_type": "visit", "attributes": {nested}}}"#
    );
    let (err, path) = refused(&t, "deep.ndjson", format!("{line}\n").as_bytes());
    let text = message(&err, &path);
    assert!(
        text.starts_with(
            "{file}:1: column attributes: too large or too deep: at most 16 KB and 100 objects \
             or arrays (value \"[[[["
        ),
        "{}",
        &text[..text.len().min(300)]
    );
}

// --- POST /api/v1/events -------------------------------------------------------------------

struct Api {
    t: TestDb,
    token: String,
}

fn api() -> Api {
    let t = TestDb::with_fixture();
    let token = {
        let conn = t.db.connect().expect("connection");
        tokens::create(&conn, "shop", tokens::INGEST, None).expect("token")
    };
    Api { t, token }
}

impl Api {
    /// Posts `body` with the headers given; returns status and body, and checks the database
    /// did not change.
    async fn refused(
        &self,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (StatusCode, serde_json::Value) {
        let before = self.t.snapshot();
        let mut request = Request::post("/api/v1/events?source=shop")
            .header("authorization", format!("Bearer {}", self.token));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = web::router(&self.t.db)
            .oneshot(request.body(Body::from(body)).expect("request"))
            .await
            .expect("response");
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{status}: the answer is not JSON: {text}"));
        assert_eq!(self.t.snapshot(), before, "{status} {text}");
        assert!(status.is_client_error(), "{status} {text}");
        (status, json)
    }
}

const NDJSON: (&str, &str) = ("content-type", "application/x-ndjson");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_garbage_lines_name_the_line() {
    let a = api();
    let body = concat!(
        r#"{"event_id": "g1", "occurred_at": "2026-03-20T10:00:00Z", "event_type": "visit"}"#,
        "\n",
        "this is not JSON\n"
    );
    let (status, json) = a.refused(&[NDJSON], body.into()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let error = json["error"].as_str().unwrap_or_default();
    assert!(error.starts_with("body: "), "{json}");
    assert!(
        !error.contains("/tmp"),
        "the spool file is not named: {json}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_a_json_array_instead_of_lines() {
    let a = api();
    let body =
        r#"[{"event_id": "g1", "occurred_at": "2026-03-20T10:00:00Z", "event_type": "visit"}]"#;
    let (status, json) = a.refused(&[NDJSON], body.into()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{json}");
    assert!(
        json["error"]
            .as_str()
            .unwrap_or_default()
            .starts_with("body: "),
        "{json}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_invalid_utf8() {
    let a = api();
    let (status, json) = a
        .refused(&[NDJSON], b"{\"event_id\": \"\xff\xfe\"}\n".to_vec())
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json["error"], "the body is not UTF-8");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_an_empty_body() {
    let a = api();
    let (status, json) = a.refused(&[NDJSON], b"\n \n".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json["error"], "the body holds no events");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_an_oversize_body() {
    let a = api();
    let line = r#"{"event_id": "big", "occurred_at": "2026-03-20T10:00:00Z", "event_type": "visit", "touchpoint": "PAD"}"#;
    let body = line.replace("PAD", &"p".repeat(11 * 1024 * 1024));
    let (status, json) = a.refused(&[NDJSON], body.into_bytes()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        json["error"],
        "the body is larger than 10 MB; send the events in smaller batches"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_a_gzip_bomb() {
    use std::io::Write;
    let a = api();
    // 64 MB of one repeated event compress to a few hundred kilobytes.
    let line =
        r#"{"event_id": "bomb", "occurred_at": "2026-03-20T10:00:00Z", "event_type": "visit"}"#;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let chunk = format!("{line}\n").repeat(1024);
    for _ in 0..(64 * 1024 * 1024 / chunk.len()) {
        encoder.write_all(chunk.as_bytes()).expect("compress");
    }
    let bomb = encoder.finish().expect("finish");
    assert!(bomb.len() < 1024 * 1024, "{} bytes", bomb.len());
    let (status, json) = a
        .refused(&[NDJSON, ("content-encoding", "gzip")], bomb)
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        json["error"],
        "Content-Encoding gzip is not accepted; send the events uncompressed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_a_wrong_content_type() {
    let a = api();
    let body =
        r#"{"event_id": "ct", "occurred_at": "2026-03-20T10:00:00Z", "event_type": "visit"}"#;
    for content_type in [
        "text/csv",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let (status, json) = a
            .refused(&[("content-type", content_type)], body.into())
            .await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{content_type}");
        assert_eq!(
            json["error"],
            format!(
                "Content-Type {content_type} is not accepted; send application/x-ndjson \
                 (one JSON object a line)"
            )
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_a_bad_source_name() {
    let a = api();
    let body = r#"{"event_id": "s", "occurred_at": "2026-03-20T10:00:00Z", "event_type": "visit"}"#;
    let before = a.t.snapshot();
    for (query, expected) in [
        (
            "source=..%2F..%2Fetc",
            "source name \"../../etc\" must be 1-64 characters of a-z, 0-9, _ and -",
        ),
        (
            "source=shop&colour=red",
            "unknown parameter in the query string; the only one is source",
        ),
    ] {
        let (status, text) = web::post_ndjson(
            web::router(&a.t.db),
            &format!("/api/v1/events?{query}"),
            Some(&a.token),
            body.to_string(),
        )
        .await;
        let json: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{query}: {text}"));
        assert!(status.is_client_error(), "{query}: {status}");
        assert_eq!(json["error"], expected, "{query}");
    }
    assert_eq!(a.t.snapshot(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_deeply_nested_json() {
    let a = api();
    let depth = 100_000;
    let body = format!(
        r#"{{"event_id": "deep", "occurred_at": "2026-03-20T10:00:00Z", "event_type": "visit", "attributes": {}1{}}}"#,
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let (status, json) = a.refused(&[NDJSON], body.into_bytes()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{json}");
    assert!(json["error"].as_str().unwrap_or_default().len() < 2_000);
}

// --- Query strings ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_and_impossible_date_ranges() {
    let t = TestDb::with_fixture();
    let before = t.snapshot();
    // 1900-01-01..2100-12-31 is 201 years with 49 leap days (2000 is one, 1900 and 2100 not).
    let days = 201 * 365 + 49;
    let cases = [
        (
            "from=1900-01-01&to=2100-12-31",
            format!("the period is {days} days long; at most 7320 are allowed"),
        ),
        (
            "from=2026-03-31&to=2026-03-01",
            "the period starts (2026-03-31) after it ends (2026-03-01)".to_string(),
        ),
        (
            "from=2026-02-30&to=2026-03-31",
            "from: \"2026-02-30\" is not a date in the form YYYY-MM-DD".to_string(),
        ),
        (
            "from=%2B262143-01-01&to=%2B262143-12-31",
            "from: \"+262143-01-01\" is not a date in the form YYYY-MM-DD".to_string(),
        ),
    ];
    for (query, expected) in cases {
        let (status, body) = web::get(
            web::router_as_admin(&t.db),
            &format!("/api/v1/kpis?{query}"),
        )
        .await
        .into_parts();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        let json: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(json["error"], expected, "{query}");
        // The page shows the same words in an alert above its form (see tests/http.rs
        // `a_bad_period_shows_a_message_not_a_crash`).
        let (status, page) = web::get(web::router_as_admin(&t.db), &format!("/?{query}&lang=en"))
            .await
            .into_parts();
        assert_eq!(status, StatusCode::OK, "{query}");
        assert!(page.contains("role=\"alert\""), "{query}");
        let escaped = expected.replace('"', "&quot;");
        assert!(
            page.contains(&expected) || page.contains(&escaped),
            "{query}: the page names the problem"
        );
    }
    assert_eq!(t.snapshot(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exported_csv_cells_cannot_start_a_formula() {
    let t = TestDb::new();
    let file = t.file(
        "formula.csv",
        &[
            "event_id,occurred_at,event_type,channel,store_id,order_id,amount",
            "f1,2026-03-10T10:00:00+01:00,purchase,store,=HYPERLINK(\"http://evil\"),A,10.00",
            "f2,2026-03-10T11:00:00+01:00,purchase,store,+SUM(1),B,20.00",
            "f3,2026-03-10T12:00:00+01:00,purchase,store,@cmd,C,30.00",
        ],
    );
    t.load("pos", &file).expect("loads: a store id is any text");
    let (status, body) = web::get(
        web::router_as_admin(&t.db),
        "/export/kpi/gross_revenue/breakdown.csv?from=2026-03-01&to=2026-03-31&by=store&lang=en",
    )
    .await
    .into_parts();
    assert_eq!(status, StatusCode::OK, "{body}");
    for line in body.lines() {
        for cell in line.split(',') {
            let cell = cell.trim_start_matches('\u{feff}').trim_start_matches('"');
            assert!(
                !cell.starts_with(['=', '+', '@']),
                "a cell starts a formula: {line}"
            );
        }
    }
    assert!(body.contains("'=HYPERLINK"), "{body}");
    assert!(body.contains("'+SUM(1)"), "{body}");
    assert!(body.contains("'@cmd"), "{body}");
}
