//! Digests end to end: a small SMTP server written here (127.0.0.1, a free port) receives the
//! digest sent by the service and by `omnikpi digest send`, and the test reads the e-mail:
//! both parts, the KPI value the engine computes for the same period, the alert's text.

mod common;

use chrono::NaiveDate;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use common::{TestDb, ev};
use omnikpi::i18n::Locale;
use omnikpi::kpi::Unit;
use omnikpi::server::alerts::{self, NewRule};
use omnikpi::server::config::{Config, Overrides};
use omnikpi::server::digest;
use omnikpi::server::kpi::{Catalog, Filters, Period, compute};

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
}

/// What the sink received in one SMTP session.
#[derive(Debug, Default)]
struct Received {
    commands: Vec<String>,
    data: String,
}

/// Accepts one SMTP session on a free port of 127.0.0.1 and answers just enough SMTP: 220,
/// EHLO/HELO 250, MAIL/RCPT 250, DATA 354 ... "." 250, QUIT 221.
async fn smtp_sink() -> (u16, tokio::task::JoinHandle<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let task = tokio::spawn(async move {
        let mut got = Received::default();
        let Ok(Ok((socket, _))) =
            tokio::time::timeout(std::time::Duration::from_secs(60), listener.accept()).await
        else {
            return got;
        };
        let (read, mut write) = socket.into_split();
        let mut lines = BufReader::new(read).lines();
        let _ = write.write_all(b"220 sink ESMTP\r\n").await;
        let mut in_data = false;
        while let Ok(Ok(Some(line))) =
            tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line()).await
        {
            if in_data {
                if line == "." {
                    in_data = false;
                    let _ = write.write_all(b"250 queued\r\n").await;
                } else {
                    // Dot-stuffing: a leading ".." is one ".".
                    let line = line.strip_prefix('.').unwrap_or(&line);
                    got.data.push_str(line);
                    got.data.push('\n');
                }
                continue;
            }
            let verb = line
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_uppercase();
            got.commands.push(line.clone());
            let answer: &[u8] = match verb.as_str() {
                "EHLO" | "HELO" => b"250 sink\r\n",
                "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 ok\r\n",
                "DATA" => {
                    in_data = true;
                    b"354 go ahead\r\n"
                }
                "QUIT" => {
                    let _ = write.write_all(b"221 bye\r\n").await;
                    break;
                }
                _ => b"502 not implemented\r\n",
            };
            let _ = write.write_all(answer).await;
        }
        got
    });
    (port, task)
}

/// The decoded body of the first part of `content_type` in a MIME message.
fn part(message: &str, content_type: &str) -> Option<String> {
    let at = message.find(&format!("Content-Type: {content_type}"))?;
    let rest = &message[at..];
    let body_start = rest.find("\n\n")? + 2;
    let headers = &rest[..body_start];
    let body = &rest[body_start..];
    let body = &body[..body.find("\n--").unwrap_or(body.len())];
    if headers.contains("Content-Transfer-Encoding: base64") {
        Some(String::from_utf8_lossy(&base64(body)).into_owned())
    } else if headers.contains("Content-Transfer-Encoding: quoted-printable") {
        Some(quoted_printable(body))
    } else {
        Some(body.to_string())
    }
}

fn base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let digits: Vec<u8> = text.bytes().filter_map(value).collect();
    let mut out = Vec::new();
    for chunk in digits.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, v)| acc | (u32::from(*v) << (18 - 6 * i)));
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len().saturating_sub(1)]);
    }
    out
}

fn quoted_printable(text: &str) -> String {
    let joined = text.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && let Some(hex) = joined.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Sales data: 100 + 50 in the week to 20 March, 999 in the week before; a rule that fires.
fn sales_data() -> TestDb {
    let t = TestDb::new();
    t.load_events(&[
        ev("p1", "2026-03-15T12:00:00+01:00", "purchase")
            .channel("web")
            .amount("100.00"),
        ev("p2", "2026-03-18T12:00:00+01:00", "purchase")
            .channel("store")
            .amount("50.00"),
        ev("p3", "2026-03-10T12:00:00+01:00", "purchase")
            .channel("store")
            .amount("999.00"),
    ]);
    let conn = t.db.connect().expect("connection");
    alerts::create(
        &conn,
        &NewRule {
            kpi: "gross_revenue".into(),
            department: "sales".into(),
            filters: String::new(),
            kind: "threshold".into(),
            op: "above".into(),
            threshold: Some(120.0),
            window: "last_7_days".into(),
        },
        "test",
    )
    .expect("rule");
    alerts::evaluate_now(&t.db, Some(d("2026-03-20"))).expect("evaluation");
    t
}

fn smtp_settings(t: &TestDb, port: u16) {
    let conn = t.db.connect().expect("connection");
    for (key, value) in [
        ("smtp_host", "127.0.0.1".to_string()),
        ("smtp_port", port.to_string()),
        ("smtp_tls", "none".to_string()),
        ("smtp_from", "omnikpi@shop.example".to_string()),
        ("digest_base_url", "https://kpi.shop.example".to_string()),
    ] {
        conn.execute(
            "INSERT OR REPLACE INTO settings (key, value, updated_at) VALUES (?, ?, now())",
            [key, value.as_str()],
        )
        .expect("setting");
    }
}

/// What the engine says gross revenue was from 14 to 20 March, as the digest writes it.
fn engine_revenue(t: &TestDb) -> String {
    let conn = t.db.connect().expect("connection");
    let period = Period::parse("2026-03-14", "2026-03-20").expect("period");
    let value = compute(
        &conn,
        Catalog::builtin(),
        &["gross_revenue"],
        &period,
        &Filters::none(),
    )
    .expect("kpi")["gross_revenue"];
    assert_eq!(value, Some(150.0), "100 + 50 in the week");
    omnikpi::format::kpi_value(value, Unit::Money, Locale::En)
}

fn assert_sales_digest(got: &Received, revenue: &str) {
    assert!(
        got.commands
            .iter()
            .any(|c| c.eq_ignore_ascii_case("RCPT TO:<lead@shop.example>")),
        "{:?}",
        got.commands
    );
    let text = part(&got.data, "text/plain").expect("a text part");
    let html = part(&got.data, "text/html").expect("an HTML part");
    assert!(got.data.contains("multipart/alternative"), "{}", got.data);
    for body in [&text, &html] {
        assert!(body.contains(revenue), "{revenue} in {body}");
        assert!(body.contains("Gross revenue"), "{body}");
        // The alert: 150 above the threshold 120, for the week to 20 March.
        assert!(
            body.contains("Gross revenue: €150.00 above €120.00 (14 Mar 2026 – 20 Mar 2026)"),
            "{body}"
        );
    }
    // The view with its state, and a KPI's detail.
    assert!(
        text.contains("https://kpi.shop.example/dept/sales?from=2026-03-14&to=2026-03-20&lang=en"),
        "{text}"
    );
    assert!(
        html.contains(
            "href=\"https://kpi.shop.example/kpi/gross_revenue?from=2026-03-14&amp;to=2026-03-20&amp;lang=en\""
        ),
        "{html}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_sends_a_department_digest_with_the_engines_numbers() {
    let t = sales_data();
    let revenue = engine_revenue(&t);
    let (port, sink) = smtp_sink().await;
    smtp_settings(&t, port);
    let config = Config::load(Overrides::default(), |_| None).expect("config");
    let digest = digest::send_now(
        &t.db,
        &config,
        "sales",
        vec!["lead@shop.example".into()],
        Some(d("2026-03-20")),
        Some(7),
    )
    .await
    .expect("sent");
    assert_eq!(digest.alerts.len(), 1);
    let got = sink.await.expect("sink");
    assert!(
        got.data.contains("Subject: KPI digest: Sales"),
        "{}",
        got.data
    );
    assert_sales_digest(&got, &revenue);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_executive_digest_carries_the_revenue_chart_as_png() {
    let t = sales_data();
    let (port, sink) = smtp_sink().await;
    smtp_settings(&t, port);
    let config = Config::load(Overrides::default(), |_| None).expect("config");
    let digest = digest::send_now(
        &t.db,
        &config,
        "executive",
        vec!["ceo@shop.example".into()],
        Some(d("2026-03-20")),
        Some(7),
    )
    .await
    .expect("sent");
    let got = sink.await.expect("sink");
    assert!(got.data.contains("Content-Type: image/png"), "{}", got.data);
    let html = part(&got.data, "text/html").expect("an HTML part");
    assert!(html.contains("cid:revenue-chart"), "{html}");
    // Every department's alerts reach the executives.
    assert_eq!(digest.alerts.len(), 1);
    assert!(html.contains("Sales · Gross revenue"), "{html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_audience_is_refused_before_anything_is_sent() {
    let t = sales_data();
    let config = Config::load(Overrides::default(), |_| None).expect("config");
    let err = digest::send_now(
        &t.db,
        &config,
        "finance",
        vec!["x@shop.example".into()],
        Some(d("2026-03-20")),
        Some(7),
    )
    .await
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(err.contains("unknown digest \"finance\""), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_send_on_the_command_line_reaches_the_sink() {
    let t = sales_data();
    let revenue = engine_revenue(&t);
    let (port, sink) = smtp_sink().await;
    smtp_settings(&t, port);
    let path = t.path();
    // The command opens the file itself: this process lets go of it first.
    let TestDb { dir, db } = t;
    drop(db);
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_omnikpi"))
        .args([
            "--db",
            path.to_str().expect("path"),
            "digest",
            "send",
            "--department",
            "sales",
            "--to",
            "lead@shop.example",
            "--last-day",
            "2026-03-20",
            "--days",
            "7",
        ])
        .output()
        .await
        .expect("omnikpi runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("1 alerts"), "{stdout}");
    let got = sink.await.expect("sink");
    assert_sales_digest(&got, &revenue);
    drop(dir);
}
