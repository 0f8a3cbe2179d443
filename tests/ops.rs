//! Operations: readiness, metrics, request ids, interrupted loads, graceful shutdown.

mod common;
#[path = "common/proc.rs"]
mod proc;
#[path = "common/web.rs"]
mod web;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};

use common::{FIXTURE, TestDb};
use omnikpi::server::db::{Db, migrate};
use web::Browser;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_checks_the_schema_version() {
    let t = TestDb::new();
    let mut browser = Browser::new(web::router(&t.db));
    let ready = browser.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(
        ready.body,
        format!("ready (schema version {})\n", migrate::latest())
    );
    // A database whose last migration is not recorded is not ready.
    t.db.connect()
        .expect("connection")
        .execute(
            "DELETE FROM schema_migrations WHERE version = ?",
            [migrate::latest()],
        )
        .expect("delete");
    let behind = browser.get("/readyz").await;
    assert_eq!(behind.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(behind.body.contains("omnikpi migrate"), "{}", behind.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_an_admin_and_count_requests_and_loads() {
    let t = TestDb::new();
    let file = t.file("fixture.csv", FIXTURE);
    t.load("pos", &file).expect("fixture loads");
    let app = web::router(&t.db);
    let mut anonymous = Browser::new(app.clone());
    assert_eq!(
        anonymous.get("/metrics").await.status,
        StatusCode::UNAUTHORIZED
    );
    for _ in 0..3 {
        assert_eq!(anonymous.get("/healthz").await.status, StatusCode::OK);
    }
    assert_eq!(
        anonymous.get("/no/such/page").await.status,
        StatusCode::NOT_FOUND
    );
    let mut admin = Browser::new(app);
    admin.bearer = Some(web::admin_token(&t.db));
    let reply = admin.get("/metrics").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let content_type = reply.headers["content-type"].to_str().unwrap_or_default();
    assert!(content_type.starts_with("text/plain; version=0.0.4"));
    let text = reply.body;
    let has = |line: &str| assert!(text.contains(line), "missing {line:?} in\n{text}");
    has("omnikpi_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 3\n");
    has("omnikpi_http_requests_total{method=\"GET\",route=\"/metrics\",status=\"401\"} 1\n");
    has("omnikpi_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1\n");
    has("omnikpi_http_request_duration_seconds_count{method=\"GET\",route=\"/healthz\"} 3\n");
    has(
        "omnikpi_http_request_duration_seconds_bucket{method=\"GET\",route=\"/healthz\",le=\"+Inf\"} 3\n",
    );
    // The fixture: 10 rows, one load.
    has("omnikpi_loads{status=\"ok\"} 1\n");
    has("omnikpi_rows_loaded 10\n");
    has("omnikpi_rows_rejected 0\n");
    let size = omnikpi::server::ops::database_size(&t.path());
    assert!(size > 0);
    has(&format!("omnikpi_database_size_bytes {size}\n"));
    // The server's memory, and DuckDB's by what holds it: the fixture's table is in memory.
    let gauge = |prefix: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("missing {prefix:?} in\n{text}"))
    };
    assert!(gauge("process_resident_memory_bytes ") > 1 << 20);
    has("omnikpi_duckdb_memory_bytes{tag=\"HASH_TABLE\"} ");
    has("omnikpi_duckdb_temporary_bytes{tag=\"BASE_TABLE\"} ");
    let duckdb_total: u64 = text
        .lines()
        .filter_map(|l| l.strip_prefix("omnikpi_duckdb_memory_bytes{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert!(duckdb_total > 0, "DuckDB holds no memory?\n{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_a_request_id() {
    let t = TestDb::new();
    let mut browser = Browser::new(web::router(&t.db));
    let reply = browser.get("/healthz").await;
    let id = reply.headers["x-request-id"].to_str().unwrap_or_default();
    assert_eq!(id.len(), 32, "{id}");
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    let other = browser.get("/healthz").await;
    assert_ne!(other.headers["x-request-id"], reply.headers["x-request-id"]);
    // The caller's own id is kept.
    let given = browser
        .send(
            Request::get("/healthz").header("x-request-id", "trace-42"),
            Body::empty(),
        )
        .await;
    assert_eq!(given.headers["x-request-id"], "trace-42");
}

#[test]
fn a_load_left_running_is_marked_interrupted_at_the_next_start() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("t.duckdb");
    {
        let db = Db::open(&path, "Europe/Rome").expect("open");
        db.connect()
            .expect("connection")
            .execute(
                "INSERT INTO loads (source, file, checksum, started_at, status)
                 VALUES ('pos', 'big.csv', '', now(), 'running')",
                [],
            )
            .expect("insert");
    }
    let db = Db::open(&path, "Europe/Rome").expect("reopen");
    let conn = db.connect().expect("connection");
    let status: String = conn
        .query_row("SELECT status FROM loads", [], |r| r.get(0))
        .expect("status");
    assert_eq!(status, "interrupted");
}

#[test]
fn a_failed_load_leaves_one_failed_row_and_a_good_one_none_running() {
    let t = TestDb::new();
    let bad = t.file(
        "bad.csv",
        &["event_id,occurred_at,event_type", "x1,not a date,purchase"],
    );
    assert!(t.load("pos", &bad).is_err());
    let good = t.file("fixture.csv", FIXTURE);
    t.load("pos", &good).expect("loads");
    assert_eq!(
        t.count("SELECT count(*) FROM loads WHERE status = 'failed'"),
        1
    );
    assert_eq!(t.count("SELECT count(*) FROM loads WHERE status = 'ok'"), 1);
    assert_eq!(t.count("SELECT count(*) FROM loads"), 2);
}

/// SIGTERM while the server is answering a load: the load finishes (all its rows are there),
/// the request is answered, the process exits cleanly, and the database opens afterwards.
#[test]
fn sigterm_lets_an_in_flight_load_finish() {
    let dir = tempfile::tempdir().expect("dir");
    let db_path = dir.path().join("serve.duckdb");
    let token = {
        let db = Db::open(&db_path, "Europe/Rome").expect("open");
        let conn = db.connect().expect("connection");
        omnikpi::server::tokens::create(&conn, "shop", "ingest", None).expect("token")
    };
    let port = 3210;
    let mut server = proc::spawn(&db_path, &["serve", "--addr", &format!("127.0.0.1:{port}")]);
    proc::wait_for_port(port, Duration::from_secs(60));
    let rows = 10_000;
    let body: String = (0..rows)
        .map(|i| {
            format!(
                "{{\"event_id\":\"n{i}\",\"occurred_at\":\"2026-03-{:02}T10:00:00Z\",\"event_type\":\"purchase\",\"channel\":\"web\",\"amount\":\"1.25\"}}\n",
                1 + i % 28
            )
        })
        .collect();
    let auth = format!("Bearer {token}");
    let poster = std::thread::spawn(move || {
        proc::http(
            port,
            "POST",
            "/api/v1/events?source=shop",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/x-ndjson"),
            ],
            body.as_bytes(),
        )
    });
    std::thread::sleep(Duration::from_millis(300));
    proc::signal(&server, "TERM");
    let answer = poster.join().expect("poster").expect("answer");
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(answer.body.contains("\"loaded\":10000"), "{}", answer.body);
    let status = server.wait().expect("exit");
    assert!(status.success(), "{status:?}");
    assert_eq!(proc::count(&db_path, "SELECT count(*) FROM events"), 10_000);
    assert_eq!(
        proc::count(&db_path, "SELECT count(*) FROM loads WHERE status <> 'ok'"),
        0
    );
    // Nothing listens any more.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

/// SIGTERM to `omnikpi load` from the command line: the process stops, the database opens,
/// the load is absent (rolled back) or complete, and `loads` says which.
#[test]
fn sigterm_during_a_command_line_load_rolls_it_back() {
    let dir = tempfile::tempdir().expect("dir");
    let db_path = dir.path().join("cli.duckdb");
    let rows = 60_000;
    let file = proc::big_csv(&dir.path().join("big.csv"), "s", rows);
    let (ok, _, err) = proc::run(&db_path, &["migrate"]);
    assert!(ok, "{err}");
    let child = proc::spawn(
        &db_path,
        &["load", "--source", "pos", file.to_str().unwrap_or("")],
    );
    // Signal once the load is under way: its 'running' row is the first write after start-up,
    // so the write-ahead log appears. A fixed sleep alone signalled a busy machine's process
    // before it reached the load.
    let wal = db_path.with_extension("duckdb.wal");
    let waited = std::time::Instant::now();
    while !std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0)
        && waited.elapsed() < Duration::from_secs(30)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    proc::signal(&child, "TERM");
    let out = child.wait_with_output().expect("exit");
    let events = proc::count(&db_path, "SELECT count(*) FROM events");
    let ok_loads = proc::count(&db_path, "SELECT count(*) FROM loads WHERE status = 'ok'");
    if out.status.success() {
        assert_eq!((events, ok_loads), (rows as i64, 1));
    } else {
        assert_eq!((events, ok_loads), (0, 0));
        assert_eq!(
            proc::count(
                &db_path,
                "SELECT count(*) FROM loads WHERE status = 'interrupted'"
            ),
            1
        );
    }
}
