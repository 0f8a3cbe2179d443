//! The lake export for the Spark engine (`omnikpi export --lake DIR`, src/server/ops/lake.rs):
//! Spark-safe types, events partitioned by UTC month, incremental by load, a manifest that
//! lists what the lake holds, and a rewrite when exported events changed.

mod common;

use std::path::Path;

use common::{TestDb, ev};
use omnikpi::server::ops::lake::{self, Manifest};

/// Rows of `glob` (Parquet) read back by DuckDB.
fn rows(t: &TestDb, glob: &Path) -> i64 {
    t.count(&format!(
        "SELECT count(*) FROM read_parquet('{}', hive_partitioning = false)",
        glob.display()
    ))
}

fn files_on_disk(dir: &Path, generation: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.join(generation)];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).expect("inside the lake");
                out.push(rel.display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn the_lake_grows_by_load_lists_its_files_and_is_rewritten_when_exported_events_change() {
    let t = TestDb::new();
    let lake_dir = t.dir.path().join("lake");
    t.load_events_named(
        "first.csv",
        &[
            // 23:30 UTC on 31 March is April in Rome, March in UTC: its folder is month=3.
            ev("a1", "2026-03-31T23:30:00Z", "purchase")
                .email("a@x.it")
                .order("O1")
                .amount("10.50")
                .channel("web")
                .set("attributes", r#"{"promised_date": "2026-04-03"}"#),
            ev("a2", "2026-02-10T10:00:00+01:00", "visit")
                .channel("store")
                .loyalty("L1"),
        ],
    );

    let first = lake::export_lake(&t.db, &lake_dir).expect("first export");
    assert!(first.rewritten, "a new lake is written whole");
    assert_eq!((first.events_written, first.events_total), (2, 2));
    let m1 = Manifest::read(&lake_dir).expect("manifest");
    assert_eq!(m1.time_zone, "Europe/Rome");
    assert_eq!(m1.max_load_id, first.max_load_id);
    assert_eq!(m1.events.rows, 2);
    let listed: Vec<String> = m1.events.files.iter().map(|f| f.path.clone()).collect();
    assert_eq!(listed, files_on_disk(&lake_dir, &m1.events.dir));
    assert!(
        listed
            .iter()
            .any(|p| p.contains("year=2026/month=3/") && p.ends_with(".parquet")),
        "partitioned by the UTC month: {listed:?}"
    );
    assert!(listed.iter().any(|p| p.contains("year=2026/month=2/")));
    for table in lake::TABLES {
        let file = &m1.tables[*table];
        assert_eq!(rows(&t, &lake_dir.join(&file.path)), file.rows, "{table}");
    }
    assert!(m1.tables["customers"].rows >= 1);
    assert!(m1.tables["identities"].rows >= 2);

    // Spark-safe types: instants as UTC timestamps, JSON as text, nothing Spark refuses.
    let types: Vec<(String, String)> = {
        let conn = t.db.connect().expect("connection");
        let mut stmt = conn
            .prepare(&format!(
                "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('{}/{}/**/*.parquet'))",
                lake_dir.display(),
                m1.events.dir
            ))
            .expect("describe");
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("types")
    };
    let type_of = |c: &str| {
        types
            .iter()
            .find(|(n, _)| n == c)
            .map(|(_, t)| t.as_str())
            .unwrap_or("missing")
    };
    assert_eq!(type_of("occurred_at"), "TIMESTAMP WITH TIME ZONE");
    assert_eq!(type_of("attributes"), "VARCHAR");
    assert_eq!(type_of("amount"), "DECIMAL(14,2)");
    for (name, kind) in &types {
        for refused in ["UUID", "INTERVAL", "TIMESTAMP_NS", "HUGEINT", "JSON"] {
            assert!(!kind.contains(refused), "{name}: {kind}");
        }
    }

    // Nothing new: nothing appended, the same files.
    let again = lake::export_lake(&t.db, &lake_dir).expect("second export");
    assert_eq!((again.events_written, again.rewritten), (0, false));
    let m2 = Manifest::read(&lake_dir).expect("manifest");
    assert_eq!(m2.events.files, m1.events.files);
    assert_eq!(m2.events.dir, m1.events.dir);
    // Replaced tables are rewritten whole, the previous version removed.
    assert_ne!(m2.tables["customers"].path, m1.tables["customers"].path);
    assert!(!lake_dir.join(&m1.tables["customers"].path).exists());

    // A later load: only its events are written, beside the files already there.
    t.load_events_named(
        "second.csv",
        &[ev("b1", "2026-04-02T09:00:00+02:00", "purchase")
            .email("b@x.it")
            .order("O2")
            .amount("7.00")
            .channel("store")],
    );
    let third = lake::export_lake(&t.db, &lake_dir).expect("incremental export");
    assert_eq!(
        (third.events_written, third.events_total, third.rewritten),
        (1, 3, false)
    );
    let m3 = Manifest::read(&lake_dir).expect("manifest");
    assert!(m3.max_load_id > m1.max_load_id);
    assert_eq!(m3.events.files.len(), m1.events.files.len() + 1);
    assert!(m1.events.files.iter().all(|f| m3.events.files.contains(f)));
    assert_eq!(
        m3.events.files.iter().map(|f| f.rows).sum::<i64>(),
        t.count("SELECT count(*) FROM events")
    );
    assert_eq!(
        files_on_disk(&lake_dir, &m3.events.dir),
        m3.events
            .files
            .iter()
            .map(|f| f.path.clone())
            .collect::<Vec<_>>()
    );

    // An exported event changed (as identity stitching reassigns customers): the events are
    // written whole in a new generation and the old one removed.
    let conn = t.db.connect().expect("connection");
    conn.execute(
        "UPDATE events SET customer_id = NULL WHERE event_id = 'a1'",
        [],
    )
    .expect("update");
    drop(conn);
    let fourth = lake::export_lake(&t.db, &lake_dir).expect("rewrite");
    assert_eq!(
        (fourth.events_written, fourth.events_total, fourth.rewritten),
        (3, 3, true)
    );
    let m4 = Manifest::read(&lake_dir).expect("manifest");
    assert_ne!(m4.events.dir, m3.events.dir);
    assert!(!lake_dir.join(&m3.events.dir).exists());
    assert_eq!(
        rows(&t, &lake_dir.join(&m4.events.dir).join("**/*.parquet")),
        3
    );
    assert_eq!(
        t.count(&format!(
            "SELECT count(*) FROM read_parquet('{}/{}/**/*.parquet')
             WHERE event_id = 'a1' AND customer_id IS NULL",
            lake_dir.display(),
            m4.events.dir
        )),
        1
    );
}

#[test]
fn a_folder_that_is_not_a_lake_is_refused() {
    let t = TestDb::new();
    let dir = t.dir.path().join("other");
    std::fs::create_dir_all(&dir).expect("folder");
    std::fs::write(dir.join("notes.txt"), "mine").expect("file");
    let err = lake::export_lake(&t.db, &dir).expect_err("refused");
    assert!(
        err.to_string()
            .contains("neither empty nor an omnikpi lake"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).expect("kept"),
        "mine"
    );
}
