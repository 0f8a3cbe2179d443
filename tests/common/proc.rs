//! Driving the real `omnikpi` binary: start it, signal it, talk HTTP/1.1 to it over a plain
//! socket, and write big canonical CSV files for it to load.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary cargo built for these tests.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_omnikpi")
}

/// `omnikpi --db DB ARGS...` run from the crate root (where the Leptos settings are).
pub fn command(db: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(bin());
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("OMNIKPI_CONFIG")
        .env("OMNIKPI_LOG", "warn")
        .arg("--db")
        .arg(db)
        .args(args);
    cmd
}

/// Runs a command to its end: (success, stdout, stderr).
pub fn run(db: &Path, args: &[&str]) -> (bool, String, String) {
    let out = command(db, args).output().expect("run omnikpi");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Starts a command with its output collected (read with `wait_with_output`).
pub fn spawn(db: &Path, args: &[&str]) -> Child {
    command(db, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start omnikpi")
}

/// Sends `signal` (`TERM`, `KILL`) to the process.
pub fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{signal} failed");
}

/// A canonical CSV of `rows` purchases with ids `{prefix}{i}`, spread over January to June
/// 2026, amounts `(i % 97) + 0.5`, 5,000 loyalty cards.
pub fn big_csv(path: &Path, prefix: &str, rows: usize) -> PathBuf {
    let mut text = String::with_capacity(rows * 70);
    text.push_str("event_id,occurred_at,event_type,channel,loyalty_id,order_id,amount\n");
    for i in 0..rows {
        let month = 1 + i % 6;
        let day = 1 + i % 28;
        text.push_str(&format!(
            "{prefix}{i},2026-{month:02}-{day:02}T10:00:00+01:00,purchase,store,L{},O{prefix}{i},{}.50\n",
            i % 5000,
            i % 97
        ));
    }
    std::fs::write(path, text).expect("write big csv");
    path.to_path_buf()
}

/// The sum of the amounts [`big_csv`] writes.
pub fn big_csv_amount(rows: usize) -> f64 {
    (0..rows).map(|i| (i % 97) as f64 + 0.5).sum()
}

/// Waits until something listens on `port`.
pub fn wait_for_port(port: u16, limit: Duration) {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < limit, "nothing listens on port {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A plain HTTP/1.1 answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub head: String,
    pub body: String,
}

/// One request on its own connection (`Connection: close`).
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Answer> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(180)))?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Ok(Answer {
        status,
        head: head.to_string(),
        body,
    })
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Opens the database file read-write (as the next server start would) and counts.
pub fn count(db: &Path, sql: &str) -> i64 {
    let db = omnikpi::server::db::Db::open(db, "Europe/Rome").expect("the database opens");
    let conn = db.connect().expect("connection");
    conn.query_row(sql, [], |r| r.get(0)).expect("count")
}
