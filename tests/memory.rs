//! `memory_limit` (docs/configuration.md): a load that needs more memory than the configured
//! limit fails with a message naming the setting, without a panic or a stack trace, and leaves
//! the database as it was (only the failed attempt's line in `loads`); so does a query, from
//! the command line; a value that is not an amount of memory stops the binary at start-up,
//! naming its key.

mod common;
#[path = "common/proc.rs"]
mod proc;
#[path = "common/web.rs"]
mod web;

use common::TestDb;
use omnikpi::server::config::MemoryLimit;
use omnikpi::server::db::Db;
use omnikpi::server::ingest::IngestError;

/// Rows of the load that cannot fit: about 4 MB of CSV.
const ROWS: usize = 50_000;
/// Enough for the database's own bookkeeping (about 2 MB is in use once it is open), too little
/// for the load: DuckDB's CSV reader alone asks for a 30.5 MiB buffer.
const TINY: &str = "16MB";

fn tiny() -> MemoryLimit {
    MemoryLimit::parse(TINY).expect("a memory limit")
}

/// Reopens the test database with `limit` (the handle is replaced: one process, one open).
fn reopen(t: TestDb, limit: Option<&MemoryLimit>) -> TestDb {
    let TestDb { dir, db } = t;
    drop(db);
    let db = Db::open_limited(&dir.path().join("test.duckdb"), "Europe/Rome", limit)
        .expect("the database opens");
    TestDb { dir, db }
}

#[test]
fn a_load_past_the_memory_limit_fails_naming_it_and_changes_nothing() {
    let t = TestDb::with_fixture();
    let before = t.snapshot();
    let loads_before = t.count("SELECT count(*) FROM loads");
    let big = proc::big_csv(&t.dir.path().join("big.csv"), "m", ROWS);

    let t = reopen(t, Some(&tiny()));
    let err = t
        .load("pos", &big)
        .expect_err("a 50,000-row load cannot fit in 16 MB");
    let message = err.to_string();
    assert!(
        matches!(&err, IngestError::OutOfMemory { limit, .. } if limit == TINY),
        "{err:?}"
    );
    assert!(message.contains("memory_limit: 16MB"), "{message}");
    assert!(message.contains("nothing was loaded"), "{message}");
    assert!(message.contains("OMNIKPI_MEMORY_LIMIT"), "{message}");
    // One line of DuckDB's own words, not its SQL advice.
    assert!(!message.contains('\n'), "{message}");
    assert!(!message.contains("SET "), "{message}");

    // Read back without the limit: the events, identities and loads are as they were, and
    // the failed attempt is recorded with the same message.
    let t = reopen(t, None);
    assert_eq!(t.snapshot(), before);
    assert_eq!(t.count("SELECT count(*) FROM loads"), loads_before + 1);
    let conn = t.db.connect().expect("connection");
    let (status, recorded): (String, String) = conn
        .query_row(
            "SELECT status, error FROM loads ORDER BY load_id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("the failed load's line");
    assert_eq!(status, "failed");
    assert_eq!(recorded, message);

    // The file itself was fine: with DuckDB's default limit it loads whole.
    let report = t
        .load("pos", &big)
        .expect("the load fits without the limit");
    assert_eq!(report.files[0].rows_loaded, ROWS as u64);
}

#[test]
fn the_binary_reports_the_memory_limit_without_a_panic() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("memory.duckdb");
    let fixture = common::write_lines(dir.path(), "fixture.csv", common::FIXTURE);
    let (ok, _, err) = proc::run(&db, &["load", "--source", "pos", path(&fixture)]);
    assert!(ok, "{err}");
    let events = "SELECT count(*) FROM events";
    let loads = "SELECT count(*) FROM loads WHERE status = 'ok'";
    let (events_before, loads_before) = (proc::count(&db, events), proc::count(&db, loads));
    assert!(events_before > 0);

    let big = proc::big_csv(&dir.path().join("big.csv"), "b", ROWS);
    let out = proc::command(&db, &["load", "--source", "pos", path(&big)])
        .env("OMNIKPI_MEMORY_LIMIT", TINY)
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("run omnikpi");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the load passed 16 MB: {stderr}");
    assert!(stderr.contains("memory_limit: 16MB"), "{stderr}");
    assert!(stderr.contains("nothing was loaded"), "{stderr}");
    for internal in [
        "panicked",
        "backtrace",
        "Possible solutions",
        "SET memory_limit",
    ] {
        assert!(!stderr.contains(internal), "{internal:?} in: {stderr}");
    }
    assert_eq!(proc::count(&db, events), events_before);
    assert_eq!(proc::count(&db, loads), loads_before);

    // A value DuckDB would not read stops start-up, naming the variable, before any work.
    let out = proc::command(&db, &["load", "--source", "pos", path(&big)])
        .env("OMNIKPI_MEMORY_LIMIT", "lots")
        .output()
        .expect("run omnikpi");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("OMNIKPI_MEMORY_LIMIT: \"lots\" is not an amount of memory"),
        "{stderr}"
    );
    assert_eq!(proc::count(&db, events), events_before);

    // A query past the limit: the same clear words from any command, not DuckDB's SQL advice.
    let (ok, _, err) = proc::run(&db, &["load", "--source", "pos", path(&big)]);
    assert!(ok, "without the limit the file loads: {err}");
    // Filtered, the windowed KPIs join the events with themselves (the customer and order
    // facts serve only the unfiltered values): more than 16 MB.
    let kpis = [
        "kpi",
        "--from",
        "2026-01-01",
        "--to",
        "2026-06-30",
        "--filter",
        "channel=store,web",
    ];
    let out = proc::command(&db, &kpis)
        .env("OMNIKPI_MEMORY_LIMIT", TINY)
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("run omnikpi");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "the KPIs of 50,010 events fit in 16 MB: {stderr}"
    );
    assert!(
        stderr.starts_with(
            "error: the command needs more memory than the database may use (memory_limit"
        ),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    for internal in ["panicked", "backtrace", "SET memory_limit"] {
        assert!(!stderr.contains(internal), "{internal:?} in: {stderr}");
    }
}

/// The API and the pages past the limit: a 503 whose message names the setting and what to do
/// (not "something went wrong"), in the page's language; the same request fits once the limit
/// is lifted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_and_the_pages_name_the_memory_limit() {
    let t = TestDb::with_fixture();
    let big = proc::big_csv(&t.dir.path().join("big.csv"), "w", ROWS);
    t.load("pos", &big).expect("the file loads without a limit");
    let token = web::admin_token(&t.db);
    web::add_user(&t.db, "exec@test.it", omnikpi::auth::Role::Executive, None);
    let t = reopen(t, Some(&tiny()));

    // The rollups now answer the unfiltered KPIs of these events within 16 MB; a segment filter
    // sends every KPI to the raw events (docs/rollups.md), the kind of request that still needs
    // memory. All 5,000 customers of the file buy only in stores.
    let api = "/api/v1/kpis?from=2026-01-01&to=2026-06-30&segment=store";
    let mut client = web::Browser::new(web::router(&t.db));
    client.bearer = Some(token.clone());
    let reply = client.get(api).await;
    assert_eq!(reply.status.as_u16(), 503, "{}", reply.body);
    let body: serde_json::Value = serde_json::from_str(&reply.body).expect("a JSON error");
    let error = body["error"].as_str().unwrap_or_default();
    assert!(error.contains("memory_limit"), "{error}");
    assert!(error.contains("nothing was changed"), "{error}");
    assert!(!error.contains("something went wrong"), "{error}");

    for (lang, words) in [
        ("en", "raise the memory_limit setting"),
        ("it", "aumentare l'impostazione memory_limit"),
    ] {
        let mut browser = web::signed_in(&t.db, "exec@test.it").await;
        let page = browser
            .page(&format!(
                "/?from=2026-01-01&to=2026-06-30&segment=store&lang={lang}"
            ))
            .await;
        let alert = web::after(&page, "role=\"alert\"");
        assert!(alert.contains(words), "{lang}: {alert}");
    }

    // The same request once the limit is lifted (the routers hold the database: drop them).
    drop(client);
    let t = reopen(t, None);
    let mut client = web::Browser::new(web::router(&t.db));
    client.bearer = Some(token);
    let reply = client.get(api).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
}

fn path(p: &std::path::Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}
