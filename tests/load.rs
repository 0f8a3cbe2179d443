//! The load path's guarantees: idempotent loads, all-or-nothing files, and rejects that say
//! file, line, column and reason.

mod common;

use common::{FIXTURE, TestDb};
use omnikpi::server::ingest::{self, IngestError, LoadOptions};

#[test]
fn loading_the_same_file_twice_changes_nothing() {
    let t = TestDb::new();
    let file = t.file("fixture.csv", FIXTURE);
    let first = t.load("pos", &file).expect("first load");
    assert_eq!(first.files[0].rows_loaded, 10);
    let events = t.count("SELECT count(*) FROM events");

    let second = t.load("pos", &file).expect("second load");
    assert!(second.files[0].skipped, "same checksum is skipped");
    let forced = ingest::load_files(
        &t.db,
        "pos",
        &[file],
        &LoadOptions {
            force: true,
            ..Default::default()
        },
    )
    .expect("forced load");
    assert_eq!(forced.files[0].rows_loaded, 0);
    assert_eq!(forced.files[0].rows_duplicate, 10);
    assert_eq!(t.count("SELECT count(*) FROM events"), events);
}

#[test]
fn an_overlapping_file_adds_only_the_new_events() {
    let t = TestDb::new();
    let header = FIXTURE[0];
    let a = t.file("a.csv", &[header, FIXTURE[1], FIXTURE[2]]);
    let b = t.file("b.csv", &[header, FIXTURE[2], FIXTURE[3]]);
    t.load("pos", &a).expect("a loads");
    let report = t.load("pos", &b).expect("b loads");
    assert_eq!(report.files[0].rows_loaded, 1);
    assert_eq!(report.files[0].rows_duplicate, 1);
    assert_eq!(t.count("SELECT count(*) FROM events"), 3);
}

#[test]
fn the_same_event_id_in_another_source_is_another_event() {
    let t = TestDb::new();
    let file = t.file("a.csv", &[FIXTURE[0], FIXTURE[1]]);
    t.load("pos", &file).expect("pos");
    ingest::load_files(&t.db, "webshop", &[file], &LoadOptions::default()).expect("webshop");
    assert_eq!(t.count("SELECT count(*) FROM events"), 2);
}

#[test]
fn a_file_with_one_bad_row_loads_nothing_and_names_line_and_column() {
    let t = TestDb::new();
    let file = t.file(
        "bad.csv",
        &[
            FIXTURE[0],
            FIXTURE[1],
            "e2,2026-03-10T10:00:00+01:00,purchase,store,,L1,,A,12;50",
            FIXTURE[3],
        ],
    );
    let err = t
        .load("pos", &file)
        .expect_err("the bad row rejects the file");
    match &err {
        IngestError::Rejected { total, rejects, .. } => {
            assert_eq!(*total, 1);
            assert_eq!(rejects[0].line, 3);
            assert_eq!(rejects[0].column, "amount");
            assert_eq!(rejects[0].value.as_deref(), Some("12;50"));
        }
        other => panic!("expected rejects, got {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("bad.csv:3: column amount: not a number"),
        "{message}"
    );
    assert!(
        message.ends_with("1 invalid value; nothing was loaded"),
        "{message}"
    );
    assert_eq!(t.count("SELECT count(*) FROM events"), 0);
    assert_eq!(
        t.count("SELECT count(*) FROM loads WHERE status = 'failed'"),
        1
    );
    assert_eq!(t.count("SELECT count(*) FROM loads WHERE status = 'ok'"), 0);
}

#[test]
fn every_kind_of_bad_value_is_reported() {
    let t = TestDb::new();
    let file = t.file(
        "bad.csv",
        &[
            "event_id,occurred_at,event_type,channel,email,amount,quantity,score,score_scale,attributes",
            "x1,yesterday,purchase,store,,1.00,,,,",
            "x2,2026-03-10T10:00:00Z,buy,store,,1.00,,,,",
            "x3,2026-03-10T10:00:00Z,purchase,fax,,1.00,,,,",
            "x4,2026-03-10T10:00:00Z,purchase,store,not-an-email,1.00,,,,",
            "x5,2026-03-10T10:00:00Z,purchase,store,,-3.00,,,,",
            "x6,2026-03-10T10:00:00Z,purchase,store,,1.00,two,,,",
            "x7,2026-03-10T10:00:00Z,survey,store,,,,11,nps,",
            "x8,2026-03-10T10:00:00Z,survey,store,,,,3,,",
            "x9,2026-03-10T10:00:00Z,identify,store,,,,,,{oops",
            ",2026-03-10T10:00:00Z,visit,store,,,,,,",
            "x1,2026-03-10T10:00:00Z,visit,store,,,,,,",
            "x12,1890-01-01T00:00:00Z,visit,store,,,,,,",
            "x13,infinity,visit,store,,,,,,",
            "x14,2026-03-10T10:00:00Z,purchase,store,,1.005,,,,",
        ],
    );
    let IngestError::Rejected { total, rejects, .. } = t.load("pos", &file).expect_err("rejected")
    else {
        panic!("expected rejects");
    };
    let got: Vec<(u64, &str, &str)> = rejects
        .iter()
        .map(|r| (r.line, r.column.as_str(), r.reason.as_str()))
        .collect();
    let expect_prefix = [
        (2, "occurred_at", "not an ISO-8601"),
        (3, "event_type", "unknown event type"),
        (4, "channel", "unknown channel"),
        (5, "email", "not an e-mail"),
        (6, "amount", "must not be negative"),
        (7, "quantity", "not a whole number"),
        (8, "score", "an NPS score is 0 to 10"),
        (9, "score", "a score needs a score_scale"),
        (10, "attributes", "not valid JSON"),
        (11, "event_id", "a value is required"),
        (
            12,
            "event_id",
            "duplicate event_id in this file (first on line 2)",
        ),
        (13, "occurred_at", "date out of range"),
        (14, "occurred_at", "date out of range"),
        (15, "amount", "more than two decimals"),
    ];
    assert_eq!(total, expect_prefix.len() as u64, "{got:?}");
    for ((line, column, reason), (gl, gc, gr)) in expect_prefix.iter().zip(&got) {
        assert_eq!((line, column), (gl, gc), "{got:?}");
        assert!(
            gr.starts_with(reason),
            "line {line}: {gr:?} should start with {reason:?}"
        );
    }
    assert_eq!(t.count("SELECT count(*) FROM events"), 0);
}

#[test]
fn line_numbers_count_line_breaks_inside_quoted_values() {
    let t = TestDb::new();
    let file = t.file(
        "quoted.csv",
        &[
            "event_id,occurred_at,event_type,touchpoint,amount",
            "q1,2026-03-10T10:00:00Z,visit,\"a touchpoint",
            "spanning two lines\",",
            "q2,2026-03-10T10:00:00Z,purchase,shop,abc",
        ],
    );
    let IngestError::Rejected { rejects, .. } = t.load("pos", &file).expect_err("rejected") else {
        panic!("expected rejects");
    };
    assert_eq!(rejects[0].line, 4);
}

#[test]
fn header_problems_are_named() {
    let t = TestDb::new();
    let cases: &[(&str, &str)] = &[
        (
            "event_id,occurred_at,event_type,amout",
            "unknown column \"amout\"",
        ),
        (
            "event_id,occurred_at,amount",
            "required column \"event_type\" is missing",
        ),
        (
            "event_id,occurred_at,event_type,amount,amount",
            "column \"amount\" appears twice",
        ),
        (
            "event_id,occurred_at,event_type,customer_id",
            "filled by omnikpi",
        ),
    ];
    for (i, (header, expected)) in cases.iter().enumerate() {
        let file = t.file(
            &format!("h{i}.csv"),
            &[header, "1,2026-03-10T10:00:00Z,visit,1"],
        );
        let message = t
            .load("pos", &file)
            .expect_err("header refused")
            .to_string();
        assert!(
            message.contains(":1:") || message.contains("line 1"),
            "{message}"
        );
        assert!(message.contains(expected), "{message}");
    }
    assert_eq!(t.count("SELECT count(*) FROM events"), 0);
}

#[test]
fn empty_and_header_only_files_are_refused_clearly() {
    let t = TestDb::new();
    let empty = t.dir.path().join("empty.csv");
    std::fs::write(&empty, "").expect("write");
    assert!(matches!(t.load("pos", &empty), Err(IngestError::Empty(_))));
    let header_only = t.file("header.csv", &[FIXTURE[0]]);
    assert!(matches!(
        t.load("pos", &header_only),
        Err(IngestError::HeaderOnly(_))
    ));
}

#[test]
fn a_source_column_must_match_the_source_loaded() {
    let t = TestDb::new();
    let file = t.file(
        "src.csv",
        &[
            "source,event_id,occurred_at,event_type",
            "webshop,s1,2026-03-10T10:00:00Z,visit",
        ],
    );
    let IngestError::Rejected { rejects, .. } = t.load("pos", &file).expect_err("rejected") else {
        panic!("expected rejects");
    };
    assert_eq!((rejects[0].line, rejects[0].column.as_str()), (2, "source"));
    let ok = ingest::load_files(&t.db, "webshop", &[file], &LoadOptions::default());
    assert!(ok.is_ok(), "{ok:?}");
}

#[test]
fn a_failed_file_rolls_back_the_files_before_it() {
    let t = TestDb::new();
    let good = t.file("good.csv", FIXTURE);
    let bad = t.file("bad.csv", &[FIXTURE[0], "z1,never,purchase,store,,,,,1.00"]);
    let result = ingest::load_files(&t.db, "pos", &[good, bad], &LoadOptions::default());
    assert!(result.is_err());
    assert_eq!(t.count("SELECT count(*) FROM events"), 0);
    assert_eq!(t.count("SELECT count(*) FROM identities"), 0);
}

#[test]
fn a_file_name_that_reads_as_a_pattern_is_refused() {
    let t = TestDb::new();
    let file = t.file("sales[1].csv", FIXTURE);
    let err = t.load("pos", &file).expect_err("refused");
    assert!(err.to_string().contains("rename it"), "{err}");
}

#[test]
fn max_rejects_loads_the_good_rows_and_keeps_the_bad_ones_for_review() {
    let t = TestDb::new();
    let file = t.file(
        "some_bad.csv",
        &[
            FIXTURE[0],
            FIXTURE[1],
            "e2,2026-03-10T10:00:00+01:00,purchase,store,,L1,,A,12;50",
            FIXTURE[3],
        ],
    );
    let options = LoadOptions {
        max_rejects: 1,
        ..Default::default()
    };
    let report = ingest::load_files(&t.db, "pos", &[file], &options).expect("accepted");
    assert_eq!(report.files[0].rows_loaded, 2);
    assert_eq!(report.files[0].rows_rejected, 1);
    assert_eq!(t.count("SELECT count(*) FROM events"), 2);
    assert_eq!(
        t.count("SELECT count(*) FROM load_rejects WHERE line = 3 AND column_name = 'amount'"),
        1
    );
    assert_eq!(
        t.count("SELECT sum(rows_rejected) FROM loads WHERE status = 'ok'"),
        1
    );
    // Two bad values with a limit of one: nothing at all.
    let worse = t.file(
        "worse.csv",
        &[
            FIXTURE[0],
            "x1,never,purchase,store,,,,,1.00",
            "x2,2026-03-10T10:00:00Z,buy,store,,,,,1.00",
        ],
    );
    assert!(ingest::load_files(&t.db, "pos", &[worse], &options).is_err());
    assert_eq!(t.count("SELECT count(*) FROM events"), 2);
}

#[test]
fn ndjson_files_load_with_numbers_objects_and_line_numbers() {
    let t = TestDb::new();
    let file = t.file(
        "events.ndjson",
        &[
            r#"{"event_id": "n1", "occurred_at": "2026-03-10T10:00:00Z", "event_type": "purchase", "amount": 12.5, "email": "a@x.it"}"#,
            r#"{"event_id": "n2", "occurred_at": "2026-03-11T10:00:00Z", "event_type": "delivery", "attributes": {"promised_date": "2026-03-12"}}"#,
        ],
    );
    t.load("api", &file).expect("ndjson loads");
    assert_eq!(t.count("SELECT count(*) FROM events"), 2);
    assert_eq!(
        t.count("SELECT CAST(amount * 10 AS BIGINT) FROM events WHERE event_id = 'n1'"),
        125
    );
    assert_eq!(
        t.count("SELECT count(*) FROM events WHERE json_extract_string(attributes, '$.promised_date') = '2026-03-12'"),
        1
    );
    let bad = t.file(
        "bad.ndjson",
        &[
            r#"{"event_id": "b1", "occurred_at": "2026-03-10T10:00:00Z", "event_type": "visit"}"#,
            r#"{"event_id": "b2", "occurred_at": "2026-03-10T10:00:00Z", "event_type": "purchase", "amount": "ten"}"#,
        ],
    );
    let IngestError::Rejected { rejects, .. } = t.load("api", &bad).expect_err("rejected") else {
        panic!("expected rejects");
    };
    assert_eq!((rejects[0].line, rejects[0].column.as_str()), (2, "amount"));
    let unknown = t.file("unknown.ndjson", &[r#"{"event_id": "u", "occurred_at": "2026-03-10T10:00:00Z", "event_type": "visit", "colour": "red"}"#]);
    let err = t
        .load("api", &unknown)
        .expect_err("unknown key")
        .to_string();
    assert!(err.contains("unknown column \"colour\""), "{err}");
}

#[test]
fn parquet_files_load() {
    let t = TestDb::new();
    let csv = t.file("fixture.csv", FIXTURE);
    let parquet = t.dir.path().join("fixture.parquet");
    {
        let conn = t.db.connect().expect("connection");
        conn.execute(
            &format!(
                "COPY (SELECT * FROM read_csv('{}', all_varchar = true)) TO '{}' (FORMAT parquet)",
                csv.display(),
                parquet.display()
            ),
            [],
        )
        .expect("write parquet");
    }
    let report = t.load("pos", &parquet).expect("parquet loads");
    assert_eq!(report.files[0].rows_loaded, 10);
}

#[test]
fn a_gzip_compressed_export_loads_like_the_plain_one() {
    use std::io::Write;
    let t = TestDb::new();
    let plain = t.file("fixture.csv", FIXTURE);
    let gz = t.dir.path().join("fixture.csv.gz");
    let mut encoder = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).expect("create"),
        flate2::Compression::default(),
    );
    encoder
        .write_all(&std::fs::read(&plain).expect("read"))
        .expect("compress");
    encoder.finish().expect("finish");
    let report = t.load("pos", &gz).expect("the .csv.gz loads");
    assert_eq!(report.files[0].rows_loaded, 10);
    let other = TestDb::new();
    other.load("pos", &plain).expect("the plain file loads");
    let total = "SELECT CAST(sum(amount) * 100 AS BIGINT) FROM events";
    assert_eq!(t.count(total), other.count(total));
}

#[test]
fn a_latin1_file_without_a_mapping_is_refused_with_the_way_out() {
    let t = TestDb::new();
    let path = t.dir.path().join("latin1.csv");
    // "città" in Latin-1: 0xE0 is not UTF-8 on its own.
    std::fs::write(
        &path,
        b"event_id,occurred_at,event_type,channel,store_id\ne1,2026-03-10T10:00:00+01:00,visit,store,citt\xe0\n",
    )
    .expect("write");
    let err = t
        .load("pos", &path)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("latin1.csv"), "{err}");
    assert!(
        err.to_lowercase().contains("utf-8") && err.contains("encoding = \"latin1\""),
        "{err}"
    );
    assert_eq!(t.count("SELECT count(*) FROM events"), 0);
    let header = t.dir.path().join("latin1-header.csv");
    std::fs::write(&header, b"event_id,occurred_at,event_type,citt\xe0\n").expect("write");
    let err = t
        .load("pos", &header)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("encoding = \"latin1\""), "{err}");
}

#[test]
fn amounts_in_another_currency_are_refused_with_their_line() {
    let t = TestDb::new();
    let file = t.file(
        "usd.csv",
        &[
            "event_id,occurred_at,event_type,channel,loyalty_id,order_id,amount,currency",
            "u1,2026-03-10T10:00:00+01:00,purchase,store,L1,A,100.00,EUR",
            "u2,2026-03-10T11:00:00+01:00,purchase,store,L2,B,80.00,",
            "u3,2026-03-10T12:00:00+01:00,purchase,store,L3,C,50.00,usd",
            "u4,2026-03-10T12:30:00+01:00,visit,store,L3,,,USD",
        ],
    );
    let err = t
        .load("pos", &file)
        .expect_err("the USD amount rejects the file");
    let message = err.to_string();
    assert!(
        message.contains(
            "usd.csv:4: column currency: amounts must be in the instance's currency, EUR"
        ),
        "{message}"
    );
    // A currency without an amount converts nothing, so it is no reason to refuse the row.
    assert!(!message.contains("usd.csv:5"), "{message}");
    assert_eq!(t.count("SELECT count(*) FROM events"), 0);
}
