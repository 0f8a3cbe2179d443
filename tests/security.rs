//! Attacks, one test per case of issue #11 ("Security"): SQL injection through every filter
//! and parameter, path traversal, XSS through data and annotations, CSRF on every form, sign-in
//! throttling by address, passwords at rest, and error answers that leak nothing.
//!
//! Covered elsewhere, not repeated here:
//! - every route checks the role (the full route × role matrix): tests/auth.rs
//!   `the_authorisation_matrix_holds_for_every_route_and_role`, `every_route_has_a_rule_and_an_expectation`
//! - a write from another origin is refused: tests/auth.rs `forged_and_tokenless_writes_are_refused`
//! - session fixation (a new session id at sign-in; a planted id is worth nothing), cookies
//!   HttpOnly + SameSite=Lax: tests/auth.rs `signing_in_rotates_the_session_and_signing_out_ends_it`
//! - sessions stored hashed: tests/auth.rs `sessions_are_stored_hashed_and_survive_a_restart`
//! - brute force on one account: tests/auth.rs `repeated_failures_slow_down_the_account`;
//!   the throttle's arithmetic: unit tests of src/server/auth/throttle.rs
//! - argon2id hashes, salted: unit test `hashes_are_argon2id_salted_and_verify` (password.rs)
//! - security headers and the CSP nonce on a page: tests/http.rs `responses_carry_security_headers`
//! - source names are a closed alphabet: unit test `source_names_are_a_closed_alphabet` (ingest.rs)
//! - upload names (a `?source=` of ../../etc): tests/bad_input.rs `api_a_bad_source_name`

mod common;
#[path = "common/web.rs"]
mod web;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use common::{FIXTURE, TestDb};
use omnikpi::auth::Role;
use web::{Browser, PASSWORD};

const ADMIN: &str = "admin@test.it";

fn people() -> TestDb {
    let t = TestDb::new();
    let file = t.file("fixture.csv", FIXTURE);
    t.load("pos", &file).expect("fixture loads");
    web::add_user(&t.db, ADMIN, Role::Admin, None);
    web::add_user(&t.db, "lead@test.it", Role::Lead, Some("stores"));
    t
}

/// Signed in as `email`, who lands on the company view.
async fn signed_in(t: &TestDb, email: &str) -> Browser {
    let (browser, landing) = web::signed_in_landing(&t.db, email).await;
    assert_eq!(landing, "/", "{email}");
    browser
}

/// The row count of every table but the sessions and sign-in attempts (which reading pages
/// and signing in change by design), and a checksum of the events.
fn everything(t: &TestDb) -> Vec<(String, i64)> {
    let conn = t.db.connect().expect("connection");
    let mut stmt = conn
        .prepare(
            "SELECT table_name FROM duckdb_tables() WHERE NOT temporary
               AND table_name NOT IN ('sessions', 'login_failures', 'login_attempts')
             ORDER BY table_name",
        )
        .expect("tables");
    let tables: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .expect("tables")
        .collect::<Result<_, _>>()
        .expect("tables");
    let mut out: Vec<(String, i64)> = tables
        .into_iter()
        .map(|table| {
            // Identifiers from the catalogue itself, quoted.
            let n: i64 = conn
                .query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| {
                    r.get(0)
                })
                .expect("count");
            (table, n)
        })
        .collect();
    let sum: i64 = conn
        .query_row(
            "SELECT coalesce(sum(hash(source, event_id, occurred_at, amount)) % 1000000007, 0)::BIGINT
             FROM events",
            [],
            |r| r.get(0),
        )
        .expect("checksum");
    out.push(("events checksum".into(), sum));
    out
}

/// Words that only a database error or a panic would put in an answer.
const LEAKS: &[&str] = &[
    "Parser Error",
    "Binder Error",
    "Catalog Error",
    "Conversion Error",
    "Invalid Input Error",
    "syntax error",
    "duckdb",
    "LINE 1:",
    "panicked",
    "RUST_BACKTRACE",
    "src/server",
    ".rs:",
];

fn assert_no_leak(what: &str, body: &str) {
    for word in LEAKS {
        assert!(
            !body.contains(word),
            "{what}: the answer leaks {word:?}: {}",
            body.chars().take(600).collect::<String>()
        );
    }
}

const INJECTIONS: &[&str] = &[
    "' OR '1'='1",
    "x'; DROP TABLE events; --",
    "1) UNION SELECT password_hash FROM users --",
    "\" OR \"\"=\"",
    "web' AND 1=CAST((SELECT email FROM users LIMIT 1) AS INT) --",
];

/// Every query parameter a page or the API reads, and where.
const TARGETS: &[(&str, &[&str])] = &[
    (
        "/api/v1/kpis?from=2026-03-01&to=2026-03-31",
        &[
            "from",
            "to",
            "kpi",
            "compare",
            "lang",
            "channel",
            "store",
            "region",
            "campaign",
            "category",
            "sku",
            "touchpoint",
            "segment",
            "topic",
        ],
    ),
    (
        "/api/v1/kpis/gross_revenue/series?from=2026-03-01&to=2026-03-31",
        &["from", "to", "grain", "compare", "channel", "store"],
    ),
    (
        "/api/v1/kpis/gross_revenue/breakdown?from=2026-03-01&to=2026-03-31",
        &["dimension", "top", "channel", "campaign"],
    ),
    (
        "/api/v1/journeys?from=2026-03-01&to=2026-03-31",
        &["from", "to", "channel", "store"],
    ),
    (
        "/api/v1/pain-points?from=2026-03-01&to=2026-03-31",
        &["from", "to", "channel"],
    ),
    (
        "/api/v1/kpi-tree?from=2026-03-01&to=2026-03-31",
        &["from", "to", "channel"],
    ),
    (
        "/api/v1/what-changed?from=2026-03-01&to=2026-03-31&kpi=footfall",
        &["kpi", "dimension", "channel"],
    ),
    (
        "/api/v1/targets?as_of=2026-03-15",
        &["kpi", "department", "as_of"],
    ),
    (
        "/?lang=en&from=2026-03-01&to=2026-03-31",
        &[
            "from", "to", "preset", "compare", "grain", "channel", "store", "region",
        ],
    ),
    (
        "/kpi/gross_revenue?lang=en&from=2026-03-01&to=2026-03-31",
        &["by", "channel", "grain"],
    ),
    (
        "/dept/stores?lang=en&from=2026-03-01&to=2026-03-31",
        &["channel", "compare"],
    ),
    (
        "/journeys?lang=en&from=2026-03-01&to=2026-03-31",
        &["from", "channel"],
    ),
    (
        "/insights/changed?lang=en&from=2026-03-01&to=2026-03-31&kpi=footfall",
        &["kpi", "by"],
    ),
    (
        "/export/company/kpis.csv?from=2026-03-01&to=2026-03-31",
        &["from", "channel"],
    ),
];

/// Path segments a request names data by.
const PATHS: &[&str] = &[
    "/api/v1/kpis/{}/series?from=2026-03-01&to=2026-03-31",
    "/kpi/{}?lang=en&from=2026-03-01&to=2026-03-31",
    "/dept/{}?lang=en&from=2026-03-01&to=2026-03-31",
    "/customer/{}?lang=en",
    "/journeys/journey/{}?lang=en",
    "/journeys/pain/{}?lang=en",
    "/export/kpi/{}/series.csv?from=2026-03-01&to=2026-03-31",
];

/// `base` with `param` set to `value` (replaced where the base has it, else added).
fn with_param(base: &str, param: &str, value: &str) -> String {
    let (path, query) = base.split_once('?').unwrap_or((base, ""));
    let mut pairs: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty() && p.split('=').next() != Some(param))
        .map(str::to_string)
        .collect();
    pairs.push(format!("{param}={}", omnikpi::url::encode(value)));
    format!("{path}?{}", pairs.join("&"))
}

/// A refusal: a 4xx, or for a page its frame with the problem in an alert (pages keep their
/// form so the user can correct it; see tests/http.rs `a_bad_period_shows_a_message_not_a_crash`).
fn refused(uri: &str, reply: &web::Reply) -> bool {
    let page = !uri.starts_with("/api/") && !uri.starts_with("/export/");
    reply.status.is_client_error()
        || (page && reply.status == StatusCode::OK && reply.body.contains("role=\"alert\""))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_injection_through_every_parameter_is_refused_without_a_trace() {
    let t = people();
    let mut browser = Browser::new(web::router_as_admin(&t.db));
    let before = everything(&t);
    let mut tried = 0;
    for (base, params) in TARGETS {
        for param in *params {
            for payload in INJECTIONS {
                let uri = with_param(base, param, payload);
                let reply = browser.get(&uri).await;
                tried += 1;
                // The language falls back to the default; every other parameter is checked.
                let lenient = *param == "lang";
                assert!(
                    refused(&uri, &reply) || (lenient && reply.status == StatusCode::OK),
                    "{uri}: {} {}",
                    reply.status,
                    reply.body.chars().take(300).collect::<String>()
                );
                assert_no_leak(&uri, &reply.body);
            }
        }
    }
    for path in PATHS {
        for payload in INJECTIONS {
            let uri = path.replace("{}", &omnikpi::url::encode(payload));
            let reply = browser.get(&uri).await;
            tried += 1;
            assert!(
                refused(&uri, &reply),
                "{uri}: {} {}",
                reply.status,
                reply.body.chars().take(300).collect::<String>()
            );
            assert_no_leak(&uri, &reply.body);
        }
    }
    assert!(tried > 300, "{tried}");
    assert_eq!(everything(&t), before, "nothing changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_traversal_reaches_no_file() {
    let t = people();
    let mut browser = Browser::new(web::router_as_admin(&t.db));
    for uri in [
        "/pkg/../Cargo.toml",
        "/pkg/%2e%2e/Cargo.toml",
        "/pkg/..%2fCargo.toml",
        "/pkg/..%2F..%2F..%2Fetc%2Fpasswd",
        "/pkg/%2e%2e%2f%2e%2e%2fsrc%2fmain.rs",
        "/export/company/..%2f..%2fCargo.toml",
        "/export/kpi/gross_revenue/..%2F..%2F..%2Fetc%2Fpasswd",
        "/export/dept/stores/%2e%2e%2fCargo.toml",
        "/export/dept/..%2f..%2f/kpis.csv",
        "/favicon.ico/../Cargo.toml",
    ] {
        let reply = browser.get(uri).await;
        assert!(
            reply.status.is_client_error(),
            "{uri}: {} {}",
            reply.status,
            reply.body.chars().take(200).collect::<String>()
        );
        assert!(!reply.body.contains("[package]"), "{uri}");
        assert!(!reply.body.contains("root:"), "{uri}");
        assert!(!reply.body.contains("fn main"), "{uri}");
    }
    // The server takes a backup only into an absolute folder of the admin's choosing.
    let reply = browser
        .send(
            Request::post("/ops/backup").header("content-type", "application/json"),
            Body::from(r#"{"dir": "../../tmp/stolen"}"#),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert!(
        reply
            .body
            .contains("give the backup folder as an absolute path"),
        "{}",
        reply.body
    );
    // A source is named in a closed alphabet, so its name never becomes a path.
    let mut admin = signed_in(&t, ADMIN).await;
    let csrf = web::csrf_in(&admin.get("/admin/sources?lang=en").await.body).expect("csrf");
    let before = everything(&t);
    let reply = admin
        .post_form(
            "/admin/sources/save",
            &[
                ("csrf", &csrf),
                ("name", "../../etc/cron.d/x"),
                (
                    "mapping",
                    "kind = \"pos\"\n[columns]\nevent_id = \"id\"\noccurred_at = \"at\"\nevent_type = \"type\"\n",
                ),
            ],
        )
        .await;
    let page = admin.get(reply.location()).await;
    assert!(
        page.body.contains("source name") || reply.location().contains("error"),
        "{} {}",
        reply.location(),
        page.body.chars().take(300).collect::<String>()
    );
    assert_eq!(everything(&t), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markup_in_data_and_annotations_is_rendered_escaped() {
    const XSS: &str = "<script>alert(1)</script>";
    const IMG: &str = "<img src=x onerror=alert(2)>";
    let t = people();
    let file = t.file(
        "xss.csv",
        &[
            "event_id,occurred_at,event_type,channel,store_id,campaign_id,touchpoint,loyalty_id,order_id,amount",
            &format!("x1,2026-03-12T10:00:00+01:00,purchase,store,\"{XSS}\",\"{IMG}\",\"{XSS}\",\"{IMG}\",X1,10.00"),
        ],
    );
    t.load("pos", &file).expect("markup is just text in data");
    let mut admin = signed_in(&t, ADMIN).await;
    let csrf = web::csrf_in(&admin.get("/account?lang=en").await.body).expect("csrf");
    let saved = admin
        .post_form(
            "/annotations/save",
            &[
                ("csrf", &csrf),
                ("kpi", "gross_revenue"),
                ("day", "2026-03-12"),
                ("text", XSS),
                ("view", "lang=en&from=2026-03-01&to=2026-03-31"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let customer = t.count("SELECT max(customer_id) FROM events WHERE event_id = 'x1'");
    for uri in [
        "/?lang=en&from=2026-03-01&to=2026-03-31&store=%3Cscript%3Ealert(1)%3C%2Fscript%3E"
            .to_string(),
        "/kpi/gross_revenue?lang=en&from=2026-03-01&to=2026-03-31&by=store".to_string(),
        "/kpi/gross_revenue?lang=en&from=2026-03-01&to=2026-03-31&by=campaign".to_string(),
        "/kpi/gross_revenue?lang=en&from=2026-03-01&to=2026-03-31&by=touchpoint".to_string(),
        "/dept/stores?lang=en&from=2026-03-01&to=2026-03-31".to_string(),
        format!("/customer/{customer}?lang=en"),
        "/admin/audit?lang=en".to_string(),
    ] {
        let page = admin.get(&uri).await;
        assert_eq!(page.status, StatusCode::OK, "{uri}");
        assert!(!page.body.contains(XSS), "{uri}: raw script in the page");
        assert!(!page.body.contains(IMG), "{uri}: raw img in the page");
        let csp = page.headers["content-security-policy"]
            .to_str()
            .unwrap_or_default();
        assert!(csp.contains("script-src 'self' 'nonce-"), "{uri}: {csp}");
    }
    let detail = admin
        .get("/kpi/gross_revenue?lang=en&from=2026-03-01&to=2026-03-31&by=store")
        .await;
    assert!(
        detail
            .body
            .contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the store's name is shown, escaped"
    );
}

/// Each form handler and fields that would change something if the token were not checked.
const FORMS: &[(&str, &[(&str, &str)])] = &[
    ("/logout", &[]),
    (
        "/account/password",
        &[
            ("current", PASSWORD),
            ("new", "another long password"),
            ("confirm", "another long password"),
        ],
    ),
    ("/account/lang", &[("lang", "it")]),
    (
        "/dept/stores/targets",
        &[
            ("kpi", "gross_revenue"),
            ("period", "2026"),
            ("value", "1000"),
        ],
    ),
    (
        "/annotations/save",
        &[
            ("kpi", "gross_revenue"),
            ("day", "2026-03-12"),
            ("text", "forged"),
        ],
    ),
    ("/annotations/delete", &[("id", "1")]),
    (
        "/journeys/pain-note",
        &[("rule", "bad_after_sale"), ("note", "forged")],
    ),
    ("/customer/erase", &[("customer", "1"), ("confirm", "1")]),
    (
        "/customer/split",
        &[("customer", "1"), ("link", "1"), ("reason", "forged")],
    ),
    ("/customer/search", &[("q", "L1")]),
    ("/admin/identity/apply", &[("rules", "")]),
    ("/alerts/read", &[("id", "1")]),
    (
        "/alerts/rules/save",
        &[("name", "forged"), ("kpi", "gross_revenue")],
    ),
    ("/alerts/rules/delete", &[("id", "1")]),
    (
        "/admin/sources/save",
        &[("name", "forged"), ("mapping", "kind = \"pos\"")],
    ),
    (
        "/admin/users/invite",
        &[
            ("email", "new@test.it"),
            ("role", "admin"),
            ("password", "a long one-time password"),
        ],
    ),
    (
        "/admin/users/update",
        &[("email", "lead@test.it"), ("role", "admin")],
    ),
    ("/admin/users/disable", &[("email", "lead@test.it")]),
    (
        "/admin/users/reset",
        &[
            ("email", "lead@test.it"),
            ("password", "a long one-time password"),
        ],
    ),
    (
        "/admin/tokens/create",
        &[("name", "forged"), ("role", "admin")],
    ),
    ("/admin/tokens/revoke", &[("name", "forged")]),
    (
        "/admin/kiosk/create",
        &[("scope", "department:online"), ("days", "30")],
    ),
    ("/admin/kiosk/revoke", &[("id", "1")]),
    (
        "/admin/departments/save",
        &[("key", "forged"), ("name", "Forged")],
    ),
    (
        "/admin/departments/grants",
        &[("department", "stores"), ("role", "viewer")],
    ),
    (
        "/admin/kpis/owner",
        &[("kpi", "gross_revenue"), ("department", "marketing")],
    ),
    (
        "/admin/settings/save",
        &[("key", "currency"), ("value", "USD")],
    ),
];

fn form_pattern_matches(pattern: &str, path: &str) -> bool {
    let p: Vec<&str> = pattern.trim_matches('/').split('/').collect();
    let u: Vec<&str> = path.trim_matches('/').split('/').collect();
    if p.last() == Some(&"*") {
        return u.len() >= p.len() - 1
            && p[..p.len() - 1]
                .iter()
                .zip(&u)
                .all(|(a, b)| a.starts_with('{') || a == b);
    }
    p.len() == u.len() && p.iter().zip(&u).all(|(a, b)| a.starts_with('{') || a == b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_form_refuses_a_missing_or_wrong_anti_forgery_token() {
    use omnikpi::server::auth::policy::{Kind, RULES};
    // Every form rule has a case here, so a new form cannot skip this test.
    for rule in RULES
        .iter()
        .filter(|r| r.kind == Kind::Form && r.method == "POST")
    {
        if rule.pattern == "/login" {
            continue;
        }
        assert!(
            FORMS
                .iter()
                .any(|(path, _)| form_pattern_matches(rule.pattern, path)),
            "form {} has no case in FORMS",
            rule.pattern
        );
    }
    let t = people();
    let mut admin = signed_in(&t, ADMIN).await;
    let before = everything(&t);
    for (path, fields) in FORMS {
        for token in [None, Some("forged-token"), Some("")] {
            let mut all: Vec<(&str, &str)> = fields.to_vec();
            if let Some(token) = token {
                all.push(("csrf", token));
            }
            let reply = admin.post_form(path, &all).await;
            // Refused outright, or sent back to the form with its error shown.
            let refused = reply.status == StatusCode::FORBIDDEN
                || (reply.status == StatusCode::SEE_OTHER && reply.location().contains("error="));
            assert!(
                refused,
                "{path} with token {token:?}: {} {} {}",
                reply.status,
                reply.location(),
                reply.body.chars().take(200).collect::<String>()
            );
            assert_no_leak(path, &reply.body);
        }
    }
    assert_eq!(everything(&t), before, "no forged form changed anything");
    // Still signed in: the forged logout did not end the session.
    assert_eq!(admin.get("/account?lang=en").await.status, StatusCode::OK);
    // The sign-in form checks its token too.
    let mut anonymous = Browser::new(web::router(&t.db));
    let _ = anonymous.get("/login?lang=en").await;
    let reply = anonymous
        .post_form("/login", &[("email", ADMIN), ("password", PASSWORD)])
        .await;
    assert_ne!(reply.location(), "/", "signed in without the form's token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_trying_many_accounts_is_slowed_down() {
    let t = people();
    for i in 0..6 {
        web::add_user(
            &t.db,
            &format!("user{i}@test.it"),
            Role::Viewer,
            Some("stores"),
        );
    }
    let attacker: SocketAddr = "203.0.113.9:40000".parse().expect("address");
    let mut browser = Browser::new(web::router(&t.db));
    let sign_in = async |browser: &mut Browser, email: &str, password: &str| {
        let csrf = browser.csrf().await;
        let body = format!(
            "email={}&password={}&csrf={}",
            omnikpi::url::encode(email),
            omnikpi::url::encode(password),
            omnikpi::url::encode(&csrf)
        );
        browser
            .send(
                Request::post("/login")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .header("origin", web::ORIGIN)
                    .extension(ConnectInfo(attacker)),
                Body::from(body),
            )
            .await
    };
    // One wrong guess on each of many accounts: no account reaches its own limit.
    let mut throttled = None;
    for i in 0..12 {
        let email = format!("user{}@test.it", i % 6);
        let reply = sign_in(&mut browser, &email, "a wrong guess, again").await;
        if reply.location().starts_with("/login?error=throttled") {
            throttled = Some(i);
            break;
        }
        assert_eq!(reply.location(), "/login?error=invalid", "attempt {i}");
    }
    assert!(throttled.is_some(), "the address was never slowed down");
    // Even the right password of an untouched account waits, from that address.
    let reply = sign_in(&mut browser, "lead@test.it", PASSWORD).await;
    assert!(
        reply.location().starts_with("/login?error=throttled&wait="),
        "{}",
        reply.location()
    );
    // Another address signs in to that account at once.
    let mut other = Browser::new(web::router(&t.db));
    let reply = other.sign_in("lead@test.it", PASSWORD).await;
    assert!(
        !reply.location().starts_with("/login"),
        "{}",
        reply.location()
    );
}

#[test]
fn passwords_and_tokens_are_stored_only_as_hashes() {
    let t = people();
    let conn = t.db.connect().expect("connection");
    let hashes: Vec<String> = conn
        .prepare("SELECT password_hash FROM users")
        .expect("query")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(hashes.len(), 2);
    for hash in &hashes {
        assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
        assert!(!hash.contains(PASSWORD));
    }
    assert_ne!(hashes[0], hashes[1], "the same password, salted apart");
    let token = web::admin_token(&t.db);
    let stored: i64 = conn
        .query_row(
            "SELECT count(*) FROM api_tokens t WHERE CAST(t AS VARCHAR) LIKE '%' || ? || '%'",
            [&token],
            |r| r.get(0),
        )
        .expect("query");
    assert_eq!(stored, 0, "the token is not stored as such");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_failure_answers_a_plain_message() {
    let t = people();
    let mut browser = Browser::new(web::router_as_admin(&t.db));
    {
        let conn = t.db.connect().expect("connection");
        // Both the raw events and the rollups' state: after a write every KPI reads the
        // rollups, and with them current none reads `events`.
        conn.execute_batch(
            "ALTER TABLE events RENAME TO events_gone;
             ALTER TABLE rollup_state RENAME TO rollup_state_gone;",
        )
        .expect("break the database");
    }
    for uri in [
        "/api/v1/kpis?from=2026-03-01&to=2026-03-31",
        "/?lang=en&from=2026-03-01&to=2026-03-31",
        "/kpi/gross_revenue?lang=en&from=2026-03-01&to=2026-03-31",
        "/export/company/kpis.csv?from=2026-03-01&to=2026-03-31",
    ] {
        let reply = browser.get(uri).await;
        if uri.starts_with("/?") || uri.starts_with("/kpi/") {
            // Pages keep their frame and say it in an alert.
            assert_eq!(reply.status, StatusCode::OK, "{uri}");
            assert!(reply.body.contains("role=\"alert\""), "{uri}");
        } else {
            assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR, "{uri}");
        }
        assert_no_leak(uri, &reply.body);
        assert!(!reply.body.contains("events_gone"), "{uri}");
        assert!(!reply.body.contains("rollup_state_gone"), "{uri}");
        assert_eq!(reply.headers["x-content-type-options"], "nosniff", "{uri}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_carry_the_security_headers_and_no_internals() {
    let t = people();
    let token = web::admin_token(&t.db);
    let mut anonymous = Browser::new(web::router(&t.db));
    let mut bearer = Browser::new(web::router(&t.db));
    bearer.bearer = Some(token);
    let mut wrong = Browser::new(web::router(&t.db));
    wrong.bearer = Some("okpi_not_a_token".into());
    let cases = [
        (anonymous.get("/no/such/page").await, StatusCode::NOT_FOUND),
        (
            anonymous.get("/api/v1/kpis").await,
            StatusCode::UNAUTHORIZED,
        ),
        (wrong.get("/api/v1/kpis").await, StatusCode::UNAUTHORIZED),
        (
            bearer.get("/api/v1/kpis?from=2026-13-01").await,
            StatusCode::BAD_REQUEST,
        ),
        // A page answers a bad period with its form and an alert (tests/http.rs).
        (
            bearer.get("/?lang=en&from=2026-13-01").await,
            StatusCode::OK,
        ),
        (
            bearer.get("/kpi/no_such_kpi?lang=en").await,
            StatusCode::NOT_FOUND,
        ),
    ];
    for (i, (reply, status)) in cases.iter().enumerate() {
        assert_eq!(reply.status, *status, "case {i}: {}", reply.body);
        assert_eq!(
            reply.headers["x-content-type-options"], "nosniff",
            "case {i}"
        );
        assert_eq!(reply.headers["x-frame-options"], "DENY", "case {i}");
        assert_eq!(reply.headers["referrer-policy"], "same-origin", "case {i}");
        assert_no_leak(&format!("case {i}"), &reply.body);
    }
}
