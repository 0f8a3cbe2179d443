//! Users, sessions and authorisation through the real router: the authorisation matrix over
//! every route, sign-in and its throttling, session rotation, expiry and restart, CSRF, the
//! first-start rule, and the admin forms with their audit trail.

mod common;
#[path = "common/web.rs"]
mod web;

use axum::http::StatusCode;

use common::TestDb;
use omnikpi::auth::Role;
use omnikpi::server::auth::policy;
use omnikpi::server::db::Db;
use omnikpi::server::tokens;
use web::{Browser, PASSWORD, Reply};

const ADMIN: &str = "admin@test.it";

/// A database with one user per role (the viewer of `stores` may open the company view, as
/// every department's viewers may by default).
fn people() -> TestDb {
    let t = TestDb::new();
    web::add_user(&t.db, ADMIN, Role::Admin, None);
    web::add_user(&t.db, "ceo@test.it", Role::Executive, None);
    web::add_user(&t.db, "lead@test.it", Role::Lead, Some("stores"));
    web::add_user(&t.db, "cx@test.it", Role::CxOfficer, None);
    web::add_user(&t.db, "viewer@test.it", Role::Viewer, Some("stores"));
    t
}

/// Who may use each route, written out by hand: A admin, E executive, L lead (stores),
/// C cx officer, V viewer (stores), P anyone including anonymous visitors.
const EXPECTED: &[(&str, &str, &str)] = &[
    ("GET", "/login?lang=en", "P"),
    ("POST", "/login", "P"),
    ("POST", "/logout", "AELCV"),
    ("GET", "/account?lang=en", "AELCV"),
    ("POST", "/account/password", "AELCV"),
    ("POST", "/account/lang", "AELCV"),
    ("POST", "/api/visitor", "P"),
    ("GET", "/theme?set=dark&back=/account", "P"),
    ("GET", "/?lang=en&from=2026-03-01&to=2026-03-31", "AELCV"),
    ("POST", "/api/company_view", "AELCV"),
    (
        "GET",
        "/kpi/gross_revenue?lang=en&from=2026-03-01&to=2026-03-31",
        "AELCV",
    ),
    ("POST", "/api/kpi_detail", "AELCV"),
    (
        "GET",
        "/dept/stores?lang=en&from=2026-03-01&to=2026-03-31",
        "AELV",
    ),
    (
        "GET",
        "/dept/marketing?lang=en&from=2026-03-01&to=2026-03-31",
        "AEL",
    ),
    (
        "GET",
        "/dept/customer_service?lang=en&from=2026-03-01&to=2026-03-31",
        "AELC",
    ),
    ("POST", "/api/department_view", "AELCV"),
    ("POST", "/api/data_version", "AELCV"),
    ("GET", "/tv?views=company,dept/stores", "AELCV"),
    // A kiosk link needs no session: an unknown token is answered 410 (gone), not a refusal.
    ("GET", "/kiosk/okpk_unknown", "P"),
    ("POST", "/api/kiosk_view", "P"),
    // Kiosk links are managed by admins and the stores lead (the lead of this matrix).
    ("GET", "/admin/kiosk?lang=en", "AL"),
    ("POST", "/admin/kiosk/create", "AL"),
    ("POST", "/admin/kiosk/revoke", "AL"),
    ("POST", "/api/admin_kiosk", "AL"),
    ("POST", "/dept/stores/targets", "AL"),
    ("POST", "/dept/marketing/targets", "A"),
    ("POST", "/annotations/save", "AELC"),
    ("POST", "/annotations/delete", "AELC"),
    (
        "GET",
        "/insights/tree?lang=en&from=2026-03-01&to=2026-03-31",
        "AELCV",
    ),
    ("POST", "/api/kpi_tree", "AELCV"),
    (
        "GET",
        "/insights/changed?lang=en&from=2026-03-01&to=2026-03-31&kpi=footfall&by=store",
        "AELV",
    ),
    ("POST", "/api/what_changed", "AELCV"),
    (
        "GET",
        "/export/company/kpis.csv?from=2026-03-01&to=2026-03-31",
        "AELCV",
    ),
    (
        "GET",
        "/export/kpi/gross_revenue/series.csv?from=2026-03-01&to=2026-03-31",
        "AELCV",
    ),
    (
        "GET",
        "/export/dept/stores/kpis.csv?from=2026-03-01&to=2026-03-31",
        "AELV",
    ),
    (
        "GET",
        "/export/dept/marketing/kpis.csv?from=2026-03-01&to=2026-03-31",
        "AEL",
    ),
    (
        "GET",
        "/journeys?lang=en&from=2026-03-01&to=2026-03-31",
        "AEC",
    ),
    (
        "GET",
        "/journeys/pain/bad_after_sale?lang=en&from=2026-03-01&to=2026-03-31",
        "AEC",
    ),
    ("GET", "/journeys/journey/1?lang=en", "AEC"),
    ("POST", "/journeys/pain-note", "AC"),
    ("POST", "/api/journeys_page", "AEC"),
    ("POST", "/api/pain_page", "AEC"),
    ("POST", "/api/journey_page", "AEC"),
    ("GET", "/customer?lang=en", "AEC"),
    ("GET", "/customer/1?lang=en", "AEC"),
    ("POST", "/customer/erase", "A"),
    ("POST", "/customer/split", "AC"),
    ("GET", "/admin/identity?lang=en", "A"),
    ("POST", "/admin/identity/apply", "A"),
    ("POST", "/api/admin_identity", "A"),
    ("POST", "/api/customer_page", "AEC"),
    ("GET", "/alerts?lang=en", "AELCV"),
    ("POST", "/api/alerts_page", "AELCV"),
    ("POST", "/alerts/read", "AELCV"),
    ("POST", "/alerts/rules/save", "AL"),
    ("POST", "/alerts/rules/delete", "AL"),
    (
        "GET",
        "/journeys/funnel?lang=en&from=2026-03-01&to=2026-03-31&t1=visit&t2=purchase",
        "AEC",
    ),
    (
        "GET",
        "/journeys/compare?lang=en&at=2026-03-15&days=7",
        "AEC",
    ),
    ("POST", "/api/funnel_page", "AEC"),
    ("POST", "/api/compare_page", "AEC"),
    ("POST", "/customer/search", "AEC"),
    ("GET", "/admin?lang=en", "A"),
    ("GET", "/admin/users?lang=en", "A"),
    ("GET", "/admin/tokens?lang=en", "A"),
    ("GET", "/admin/departments?lang=en", "A"),
    ("GET", "/admin/kpis?lang=en", "A"),
    ("GET", "/admin/settings?lang=en", "A"),
    ("GET", "/admin/audit?lang=en", "A"),
    ("GET", "/admin/audit.csv", "A"),
    ("GET", "/admin/sources?lang=en", "A"),
    ("POST", "/admin/sources/save", "A"),
    ("POST", "/api/admin_sources", "A"),
    ("POST", "/admin/users/invite", "A"),
    ("POST", "/admin/users/update", "A"),
    ("POST", "/admin/users/disable", "A"),
    ("POST", "/admin/users/reset", "A"),
    ("POST", "/admin/tokens/create", "A"),
    ("POST", "/admin/tokens/revoke", "A"),
    ("POST", "/admin/departments/save", "A"),
    ("POST", "/admin/departments/grants", "A"),
    ("POST", "/admin/kpis/owner", "A"),
    ("POST", "/admin/kpis/derived/save", "A"),
    ("POST", "/admin/kpis/derived/delete", "A"),
    ("POST", "/admin/settings/save", "A"),
    ("POST", "/api/admin_users", "A"),
    ("POST", "/api/admin_tokens", "A"),
    ("POST", "/api/admin_departments", "A"),
    ("POST", "/api/admin_kpis", "A"),
    ("POST", "/api/admin_settings", "A"),
    ("POST", "/api/admin_audit", "A"),
    ("GET", "/api/v1/openapi.json", "P"),
    ("GET", "/api/v1/kpis?from=2026-03-01&to=2026-03-31", "AELCV"),
    (
        "GET",
        "/api/v1/kpis/gross_revenue/series?from=2026-03-01&to=2026-03-31",
        "AELCV",
    ),
    (
        "GET",
        "/api/v1/kpis/gross_revenue/breakdown?from=2026-03-01&to=2026-03-31&dimension=channel",
        "AELCV",
    ),
    ("GET", "/api/v1/targets", "AELCV"),
    ("POST", "/api/v1/targets", "AL"),
    (
        "DELETE",
        "/api/v1/targets?kpi=orders&department=stores&period=2026",
        "AL",
    ),
    ("GET", "/api/v1/benchmarks", "AELCV"),
    ("POST", "/api/v1/events", "A"),
    ("GET", "/healthz", "P"),
    ("GET", "/readyz", "P"),
    ("GET", "/metrics", "A"),
    ("POST", "/ops/backup", "A"),
    (
        "GET",
        "/api/v1/journeys?from=2026-03-01&to=2026-03-31",
        "AEC",
    ),
    (
        "GET",
        "/api/v1/pain-points?from=2026-03-01&to=2026-03-31",
        "AEC",
    ),
    (
        "GET",
        "/api/v1/kpi-tree?from=2026-03-01&to=2026-03-31",
        "AELCV",
    ),
    (
        "GET",
        "/api/v1/what-changed?from=2026-03-01&to=2026-03-31&kpi=footfall&dimension=store",
        "AELV",
    ),
];

fn path_of(uri: &str) -> &str {
    uri.split('?').next().unwrap_or(uri)
}

/// Every route the server has, as the router and the server-function registry list them,
/// has a rule in the policy and a line in [`EXPECTED`].
#[test]
fn every_route_has_a_rule_and_an_expectation() {
    let pages = leptos_axum::generate_route_list(omnikpi::app::App);
    let mut routes: Vec<(String, String)> = pages
        .iter()
        .map(|r| ("GET".to_string(), r.path().to_string()))
        .collect();
    routes.extend(
        leptos::server_fn::axum::server_fn_paths()
            .map(|(path, method)| (method.to_string(), path.to_string())),
    );
    let (_, openapi) = omnikpi::server::api::router_and_openapi();
    for (path, item) in &openapi.paths.paths {
        if item.get.is_some() {
            routes.push(("GET".into(), format!("/api/v1{path}")));
        }
        if item.post.is_some() {
            routes.push(("POST".into(), format!("/api/v1{path}")));
        }
        if item.delete.is_some() {
            routes.push(("DELETE".into(), format!("/api/v1{path}")));
        }
    }
    assert!(routes.len() > 20, "{routes:?}");
    for (method, path) in &routes {
        assert!(
            policy::rule_for(method, path).is_some(),
            "{method} {path} has no rule in auth::policy::RULES"
        );
        let sample = path
            .replace("{key}", "gross_revenue")
            .replace("{department}", "stores")
            .replace("{rule}", "bad_after_sale")
            .replace("{id}", "1")
            .replace("{token}", "okpk_unknown");
        let expected = EXPECTED
            .iter()
            .any(|(m, uri, _)| m == method && path_of(uri) == sample);
        assert!(expected, "{method} {path} has no line in EXPECTED");
    }
}

fn allowed(reply: &Reply) -> bool {
    let to_login = reply.status.is_redirection() && reply.location().starts_with("/login?next=");
    // A JSON 404 is a handler's "no such thing"; the gate's 404 (no route) is a page.
    let no_route = reply.status == StatusCode::NOT_FOUND && !reply.body.starts_with('{');
    !matches!(
        reply.status,
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
    ) && !no_route
        && !to_login
}

/// Calls a route the way its own page would (a POST carries the session's form token), so
/// that only the policy can refuse it.
async fn call(browser: &mut Browser, method: &str, uri: &str) -> Reply {
    if method == "GET" {
        browser.get(uri).await
    } else if method == "DELETE" {
        let request = axum::http::Request::delete(uri).header("origin", web::ORIGIN);
        browser.send(request, axum::body::Body::empty()).await
    } else {
        let csrf = browser.csrf().await;
        browser.post_form(uri, &[("csrf", &csrf)]).await
    }
}

/// Walks every route for every role and for an anonymous visitor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authorisation_matrix_holds_for_every_route_and_role() {
    let t = people();
    let who = [
        ('A', Some(ADMIN)),
        ('E', Some("ceo@test.it")),
        ('L', Some("lead@test.it")),
        ('C', Some("cx@test.it")),
        ('V', Some("viewer@test.it")),
        ('-', None),
    ];
    let mut wrong = Vec::new();
    for (letter, email) in who {
        for (method, uri, roles) in EXPECTED {
            // Each call gets a fresh session: a POST /logout must not end the next one.
            let mut browser = match email {
                Some(email) => web::signed_in(&t.db, email).await,
                None => Browser::new(web::router(&t.db)),
            };
            let reply = call(&mut browser, method, uri).await;
            let expect = roles.contains('P') || roles.contains(letter);
            if allowed(&reply) != expect {
                wrong.push(format!(
                    "{letter} {method} {uri}: expected {}, got {} {}",
                    if expect { "allow" } else { "deny" },
                    reply.status,
                    reply.location()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_take_the_form_of_the_route() {
    let t = people();
    let mut anonymous = Browser::new(web::router(&t.db));
    let page = anonymous.get("/?lang=en").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/login?next=%2F%3Flang%3Den");
    let api = anonymous.get("/api/v1/kpis").await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
    assert!(api.body.contains("\"error\""), "{}", api.body);
    let server_fn = anonymous.post_form("/api/company_view", &[]).await;
    assert_eq!(server_fn.status, StatusCode::UNAUTHORIZED);
    assert!(server_fn.headers.contains_key("serverfnerror"));
    assert_eq!(server_fn.body, "\"Unauthorized\"");

    let mut lead = web::signed_in(&t.db, "lead@test.it").await;
    let denied = lead.get("/admin/users?lang=en").await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert!(
        denied.body.contains("You do not have access"),
        "{}",
        denied.body
    );
    assert!(denied.body.contains("href=\"/\""), "a way back");
    let unknown = lead.get("/etc/passwd").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_served_until_an_admin_exists() {
    let t = TestDb::new();
    let mut browser = Browser::new(web::router(&t.db));
    let page = browser.get("/login").await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        page.body
            .contains("omnikpi user add --email you@example.com --role admin"),
        "{}",
        page.body
    );
    assert_eq!(browser.get("/healthz").await.status, StatusCode::OK);
    web::add_user(&t.db, ADMIN, Role::Admin, None);
    assert_eq!(browser.get("/login").await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_and_an_unknown_account_get_the_same_answer() {
    let t = people();
    let mut a = Browser::new(web::router(&t.db));
    let wrong = a.sign_in("lead@test.it", "not the password").await;
    let mut b = Browser::new(web::router(&t.db));
    let unknown = b.sign_in("nobody@test.it", "not the password").await;
    assert_eq!(wrong.status, unknown.status);
    assert_eq!(wrong.location(), "/login?error=invalid");
    assert_eq!(unknown.location(), "/login?error=invalid");
    let page = a.get(wrong.location()).await;
    assert!(
        page.body.contains("E-mail or password is wrong."),
        "{}",
        page.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_slow_down_the_account() {
    let t = people();
    let mut browser = Browser::new(web::router(&t.db));
    for attempt in 1..=5 {
        let reply = browser.sign_in("lead@test.it", "guess guess guess").await;
        assert_eq!(
            reply.location(),
            "/login?error=invalid",
            "attempt {attempt}"
        );
    }
    // Now even the right password waits.
    let reply = browser.sign_in("lead@test.it", PASSWORD).await;
    assert!(
        reply.location().starts_with("/login?error=throttled&wait="),
        "{}",
        reply.location()
    );
    // Another account is not affected (the client address is not known in this test).
    let other = browser.sign_in("ceo@test.it", PASSWORD).await;
    assert_eq!(other.location(), "/");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_rotates_the_session_and_signing_out_ends_it() {
    let t = people();
    let mut browser = Browser::new(web::router(&t.db));
    let csrf = browser.csrf().await;
    let before = browser
        .cookie
        .clone()
        .expect("an anonymous session for the form");
    let reply = browser
        .post_form(
            "/login",
            &[
                ("email", "ceo@test.it"),
                ("password", PASSWORD),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(reply.location(), "/");
    let after = browser.cookie.clone().expect("session cookie");
    assert_ne!(before, after, "a new session id at sign-in");
    let set = reply.headers["set-cookie"]
        .to_str()
        .unwrap_or_default()
        .to_string();
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Lax"), "{set}");
    assert!(!set.contains("Secure"), "plain HTTP by default: {set}");

    // The id planted before sign-in is worth nothing.
    let mut planted = Browser::new(web::router(&t.db));
    planted.cookie = Some(before);
    assert_eq!(planted.get("/?lang=en").await.status, StatusCode::SEE_OTHER);

    assert_eq!(browser.get("/?lang=en").await.status, StatusCode::OK);
    let csrf = web::csrf_in(&browser.get("/account?lang=en").await.body).expect("csrf");
    let out = browser.post_form("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.location(), "/login");
    let mut stale = Browser::new(web::router(&t.db));
    stale.cookie = Some(after);
    assert_eq!(stale.get("/?lang=en").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_stored_hashed_and_survive_a_restart() {
    let dir = tempfile::tempdir().expect("folder");
    let path = dir.path().join("restart.duckdb");
    let cookie = {
        let db = Db::open(&path, "Europe/Rome").expect("db");
        web::add_user(&db, ADMIN, Role::Admin, None);
        let browser = web::signed_in(&db, ADMIN).await;
        let cookie = browser.cookie.clone().expect("cookie");
        let id = cookie.split('=').nth(1).unwrap_or_default().to_string();
        let conn = db.connect().expect("connection");
        let stored: i64 = conn
            .query_row(
                "SELECT count(*) FROM sessions WHERE id_hash = ? OR data LIKE '%' || ? || '%'",
                [&id, &id],
                |r| r.get(0),
            )
            .expect("query");
        assert_eq!(stored, 0, "the cookie's id is not stored as such");
        cookie
    };
    let db = Db::open(&path, "Europe/Rome").expect("reopened");
    let mut browser = Browser::new(web::router(&db));
    browser.cookie = Some(cookie);
    let page = browser.get("/admin/users?lang=en").await;
    assert_eq!(
        page.status,
        StatusCode::OK,
        "still signed in after the restart"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_absolute_timeouts_end_a_session() {
    let t = people();
    let mut idle = web::signed_in(&t.db, "ceo@test.it").await;
    let conn = t.db.connect().expect("connection");
    conn.execute(
        "UPDATE sessions SET expires_at = now() - INTERVAL 1 MINUTE WHERE user_id IS NOT NULL",
        [],
    )
    .expect("expire");
    // The server is the only writer of its sessions and answers a session it read at the
    // same data version from memory: an edit behind its back, as this one standing in for
    // the passing hours, moves the version like any write.
    t.db.invalidate();
    assert_eq!(idle.get("/?lang=en").await.status, StatusCode::SEE_OTHER);
    omnikpi::server::routes::purge_expired_sessions(&t.db)
        .await
        .expect("purge");
    let left: i64 = conn
        .query_row(
            "SELECT count(*) FROM sessions WHERE expires_at <= now()",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(left, 0, "expired sessions are deleted");

    let mut old = web::signed_in(&t.db, "ceo@test.it").await;
    // Signed in 13 hours ago: past the 12-hour absolute limit however active.
    conn.execute(
        "UPDATE sessions SET data = json_object('user_id', user_id,
             'login_at', epoch(now())::BIGINT - 13 * 3600,
             'seen_at', epoch(now())::BIGINT, 'csrf', 'x')::VARCHAR
         WHERE user_id IS NOT NULL",
        [],
    )
    .expect("age");
    t.db.invalidate();
    assert_eq!(old.get("/?lang=en").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_tokenless_writes_are_refused() {
    let t = people();
    let mut browser = web::signed_in(&t.db, "lead@test.it").await;
    let csrf = web::csrf_in(&browser.get("/account?lang=en").await.body).expect("csrf");
    // From another site: refused before any handler runs.
    let forged = browser
        .send(
            axum::http::Request::post("/account/lang")
                .header("content-type", "application/x-www-form-urlencoded")
                .header("origin", "http://evil.example"),
            axum::body::Body::from(format!("csrf={csrf}&lang=it")),
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // From our origin but without the form's token: refused by the handler.
    let tokenless = browser.post_form("/account/lang", &[("lang", "it")]).await;
    assert_eq!(tokenless.status, StatusCode::FORBIDDEN);
    let lang = |db: &Db| -> String {
        db.connect()
            .expect("connection")
            .query_row(
                "SELECT lang FROM users WHERE email = 'lead@test.it'",
                [],
                |r| r.get(0),
            )
            .expect("lang")
    };
    assert_eq!(lang(&t.db), "en");
    let ok = browser
        .post_form("/account/lang", &[("csrf", &csrf), ("lang", "it")])
        .await;
    assert_eq!(ok.location(), "/account?ok=lang");
    assert_eq!(lang(&t.db), "it");
    // Pages now open in Italian unless the link says otherwise.
    let page = browser.get("/").await;
    assert_eq!(page.location(), "/?lang=it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invited_user_must_choose_a_password_and_everything_is_audited() {
    let t = people();
    let mut admin = web::signed_in(&t.db, ADMIN).await;
    let csrf = web::csrf_in(&admin.get("/admin/users?lang=en").await.body).expect("csrf");
    let invite = admin
        .post_form(
            "/admin/users/invite",
            &[
                ("csrf", &csrf),
                ("email", "New.Lead@Test.it"),
                ("name", "New Lead"),
                ("role", "lead"),
                ("department", "marketing"),
                ("lang", "it"),
                ("password", "one-time-secret-1"),
            ],
        )
        .await;
    assert_eq!(invite.location(), "/admin/users?ok=invited");
    let short = admin
        .post_form(
            "/admin/users/invite",
            &[
                ("csrf", &csrf),
                ("email", "x@test.it"),
                ("role", "executive"),
                ("password", "short"),
            ],
        )
        .await;
    assert!(
        short.location().contains("error=a+password")
            || short.location().contains("error=a%20password"),
        "{}",
        short.location()
    );

    let mut invited = Browser::new(web::router(&t.db));
    let reply = invited
        .sign_in("new.lead@test.it", "one-time-secret-1")
        .await;
    assert_eq!(reply.location(), "/account");
    assert_eq!(invited.get("/?lang=it").await.location(), "/account");
    let csrf = web::csrf_in(&invited.get("/account?lang=it").await.body).expect("csrf");
    let changed = invited
        .post_form(
            "/account/password",
            &[
                ("csrf", &csrf),
                ("current", "one-time-secret-1"),
                ("new", "my own long password"),
                ("confirm", "my own long password"),
            ],
        )
        .await;
    assert_eq!(changed.location(), "/account?ok=password");
    assert_eq!(invited.get("/?lang=it").await.status, StatusCode::OK);

    let conn = t.db.connect().expect("connection");
    let actions: Vec<(String, String)> = conn
        .prepare("SELECT actor, action FROM audit_log ORDER BY audit_id")
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()
        })
        .expect("audit");
    assert_eq!(
        actions,
        [
            (ADMIN.to_string(), "user.invite".to_string()),
            (
                "new.lead@test.it".to_string(),
                "password.change".to_string()
            ),
        ]
    );
    let csv = admin.get("/admin/audit.csv?lang=it").await;
    assert!(csv.body.starts_with('\u{feff}'), "UTF-8 BOM for Excel");
    assert!(
        csv.body.contains("user.invite;new.lead@test.it"),
        "{}",
        csv.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_manage_accounts_tokens_and_settings_safely() {
    let t = people();
    let mut admin = web::signed_in(&t.db, ADMIN).await;
    let csrf = web::csrf_in(&admin.get("/admin/users?lang=en").await.body).expect("csrf");
    // The last admin cannot be disabled (nor disable themselves).
    let own = admin
        .post_form(
            "/admin/users/disable",
            &[("csrf", &csrf), ("email", ADMIN), ("disabled", "true")],
        )
        .await;
    assert!(own.location().contains("error="), "{}", own.location());

    // Disabling a user ends their session at once.
    let mut ceo = web::signed_in(&t.db, "ceo@test.it").await;
    let off = admin
        .post_form(
            "/admin/users/disable",
            &[
                ("csrf", &csrf),
                ("email", "ceo@test.it"),
                ("disabled", "true"),
            ],
        )
        .await;
    assert_eq!(off.location(), "/admin/users?ok=disabled");
    assert_eq!(ceo.get("/?lang=en").await.status, StatusCode::SEE_OTHER);
    let again = Browser::new(web::router(&t.db))
        .sign_in("ceo@test.it", PASSWORD)
        .await;
    assert_eq!(again.location(), "/login?error=invalid");

    // A token is shown once, on the next view of the page, then never again.
    let created = admin
        .post_form(
            "/admin/tokens/create",
            &[("csrf", &csrf), ("name", "report"), ("role", "executive")],
        )
        .await;
    assert_eq!(created.location(), "/admin/tokens?ok=created");
    let page = admin.get("/admin/tokens?lang=en").await.body;
    let at = page.find(tokens::PREFIX).expect("the new token is shown");
    let token: String = page[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    assert!(
        !admin
            .get("/admin/tokens?lang=en")
            .await
            .body
            .contains(&token)
    );
    let mut machine = Browser::new(web::router(&t.db));
    machine.bearer = Some(token);
    assert_eq!(machine.get("/api/v1/kpis").await.status, StatusCode::OK);
    // An executive token may read but not send events.
    let sent = machine.post_form("/api/v1/events", &[]).await;
    assert_eq!(sent.status, StatusCode::FORBIDDEN);

    // Settings are validated.
    let bad = admin
        .post_form(
            "/admin/settings/save",
            &[("csrf", &csrf), ("key", "clv_margin"), ("value", "7")],
        )
        .await;
    assert!(bad.location().contains("error="), "{}", bad.location());
    let good = admin
        .post_form(
            "/admin/settings/save",
            &[("csrf", &csrf), ("key", "clv_margin"), ("value", "0,4")],
        )
        .await;
    assert_eq!(good.location(), "/admin/settings?ok=saved");
    assert_eq!(
        t.count("SELECT count(*) FROM settings WHERE key = 'clv_margin' AND value = '0.4'"),
        1
    );

    // A viewer's department loses the company view: the viewer is refused it at once.
    let mut viewer = web::signed_in(&t.db, "viewer@test.it").await;
    assert_eq!(viewer.get("/?lang=en").await.status, StatusCode::OK);
    let grants = admin
        .post_form(
            "/admin/departments/grants",
            &[
                ("csrf", &csrf),
                ("department", "stores"),
                ("view", "journeys"),
            ],
        )
        .await;
    assert_eq!(grants.location(), "/admin/departments?ok=saved");
    assert_eq!(viewer.get("/?lang=en").await.status, StatusCode::FORBIDDEN);

    // KPI ownership moves, and moving it back to the catalog's owner forgets the override.
    let moved = admin
        .post_form(
            "/admin/kpis/owner",
            &[
                ("csrf", &csrf),
                ("kpi", "gross_revenue"),
                ("owner", "stores"),
            ],
        )
        .await;
    assert_eq!(moved.location(), "/admin/kpis?ok=saved");
    let conn = t.db.connect().expect("connection");
    let owners = omnikpi::server::admin::kpi_owners(&conn).expect("owners");
    assert_eq!(owners["gross_revenue"], "stores");
    // The department views follow the new owner.
    let stores = admin.get("/dept/stores?lang=en").await.body;
    assert!(
        stores.contains("data-kpi=\"gross_revenue\""),
        "stores now owns it"
    );
    let sales = admin.get("/dept/sales?lang=en").await.body;
    assert!(
        !sales.contains("data-kpi=\"gross_revenue\""),
        "sales no longer does"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_sets_only_their_own_departments_targets_and_it_is_audited() {
    let t = people();
    let post = |browser: &mut Browser, department: &str| {
        let body = serde_json::json!({
            "kpi": "gross_revenue", "department": department, "period": "2026-Q3", "value": 125000.0
        })
        .to_string();
        let request = axum::http::Request::post("/api/v1/targets")
            .header("content-type", "application/json")
            .header("origin", web::ORIGIN);
        let mut browser = browser.clone();
        async move { browser.send(request, axum::body::Body::from(body)).await }
    };
    let mut lead = web::signed_in(&t.db, "lead@test.it").await;
    let own = post(&mut lead, "stores").await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    let json: serde_json::Value = serde_json::from_str(&own.body).expect("json");
    assert_eq!(
        (json["value"].as_f64(), json["set_by"].as_str()),
        (Some(125000.0), Some("lead@test.it"))
    );
    assert_eq!(
        post(&mut lead, "marketing").await.status,
        StatusCode::FORBIDDEN
    );
    let mut viewer = web::signed_in(&t.db, "viewer@test.it").await;
    assert_eq!(
        post(&mut viewer, "stores").await.status,
        StatusCode::FORBIDDEN
    );
    let mut admin = web::signed_in(&t.db, ADMIN).await;
    assert_eq!(post(&mut admin, "marketing").await.status, StatusCode::OK);
    assert_eq!(
        t.count("SELECT count(*) FROM audit_log WHERE action = 'target.set'"),
        2
    );
    assert_eq!(
        t.count("SELECT count(*) FROM targets WHERE kpi = 'gross_revenue' AND period = '2026-Q3'"),
        2
    );
    // Deleting: the lead's own department only, once.
    let delete = |browser: &Browser, department: &str| {
        let uri =
            format!("/api/v1/targets?kpi=gross_revenue&department={department}&period=2026-Q3");
        let request = axum::http::Request::delete(uri).header("origin", web::ORIGIN);
        let mut browser = browser.clone();
        async move { browser.send(request, axum::body::Body::empty()).await }
    };
    assert_eq!(
        delete(&lead, "marketing").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(delete(&lead, "stores").await.status, StatusCode::NO_CONTENT);
    assert_eq!(delete(&lead, "stores").await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        t.count("SELECT count(*) FROM audit_log WHERE action = 'target.delete'"),
        1
    );
}
