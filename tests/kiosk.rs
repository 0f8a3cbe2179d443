//! Kiosk links through the real router: a store's link shows that store's numbers (the KPIs
//! computed with the store filter) to a visitor who is not signed in, with a meta refresh and
//! nothing personal; editing its URL does not widen it; an expired, revoked or tampered link
//! shows nothing; creating and revoking are audited and reserved to admins and the stores lead.

mod common;
#[path = "common/web.rs"]
mod web;

use axum::http::StatusCode;

use common::{TestDb, ev};
use omnikpi::auth::Role;
use web::Browser;

const ADMIN: &str = "admin@test.it";
const STORES_LEAD: &str = "lead@test.it";
const ONLINE_LEAD: &str = "online@test.it";
const VIEWER: &str = "viewer@test.it";
/// A customer's e-mail and loyalty card, which no kiosk may show.
const CUSTOMER_EMAIL: &str = "buyer@example.org";
const CUSTOMER_CARD: &str = "LOYAL-77";

/// Two stores with sales this month (MI01: 3 orders, RM01: 1), a web order, and one user per
/// role that matters here.
fn shop() -> TestDb {
    let t = TestDb::new();
    web::add_user(&t.db, ADMIN, Role::Admin, None);
    web::add_user(&t.db, STORES_LEAD, Role::Lead, Some("stores"));
    web::add_user(&t.db, ONLINE_LEAD, Role::Lead, Some("online"));
    web::add_user(&t.db, VIEWER, Role::Viewer, Some("stores"));
    {
        let conn = t.db.connect().expect("connection");
        conn.execute_batch(
            "INSERT INTO stores VALUES ('MI01', 'Milano Duomo', 'north'),
                                       ('RM01', 'Roma Termini', 'centre');",
        )
        .expect("stores");
    }
    // A minute ago: this month in any time zone but in the first minute of a month.
    let now = (chrono::Utc::now() - chrono::Duration::minutes(1))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let sale = |id: &str, store: &str, amount: &str| {
        ev(id, &now, "purchase")
            .channel("store")
            .order(id)
            .amount(amount)
            .set("store_id", store)
    };
    t.load_events(&[
        sale("m1", "MI01", "100.00")
            .email(CUSTOMER_EMAIL)
            .loyalty(CUSTOMER_CARD),
        sale("m2", "MI01", "60.00"),
        sale("m3", "MI01", "40.00"),
        sale("r1", "RM01", "500.00"),
        ev("w1", &now, "purchase")
            .channel("web")
            .order("w1")
            .amount("30.00")
            .email(CUSTOMER_EMAIL),
    ]);
    t
}

/// The raw value of `kpi`'s tile in a kiosk page.
fn tile_value(html: &str, kpi: &str) -> String {
    let tile = web::after(html, &format!("data-kpi=\"{kpi}\""));
    let at = tile.find("data-value=\"").expect("a value") + "data-value=\"".len();
    tile[at..at + tile[at..].find('"').expect("closing quote")].to_string()
}

/// The stores department's KPIs as the dashboard computes them for `query`, by key.
fn store_kpis(t: &TestDb, query: &str) -> Vec<(String, Option<f64>)> {
    let mut conn = t.db.connect().expect("connection");
    omnikpi::server::dashboard::department::department_blocking(&mut conn, "stores", query)
        .expect("stores view")
        .tiles
        .into_iter()
        .map(|tile| (tile.kpi.key, tile.kpi.value))
        .collect()
}

fn raw(value: Option<f64>) -> String {
    value.map_or_else(|| "null".to_string(), |v| v.to_string())
}

/// Creates a link through the admin form as `browser`; returns the redirect and, when one was
/// created, its path (`/kiosk/TOKEN`) as the page showed it once.
async fn create(browser: &mut Browser, scope: &str, days: &str) -> (web::Reply, Option<String>) {
    let page = browser.page("/admin/kiosk?lang=en").await;
    let csrf = web::csrf_in(&page).expect("csrf");
    let reply = browser
        .post_form(
            "/admin/kiosk/create",
            &[("csrf", &csrf), ("scope", scope), ("days", days)],
        )
        .await;
    let page = browser.page("/admin/kiosk?lang=en").await;
    let path = page.find("/kiosk/okpk_").map(|at| {
        let rest = &page[at..];
        let end = rest["/kiosk/".len()..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(rest.len(), |i| i + "/kiosk/".len());
        rest[..end].to_string()
    });
    (reply, path)
}

async fn revoke(browser: &mut Browser, id: i64) -> web::Reply {
    let page = browser.page("/admin/kiosk?lang=en").await;
    let csrf = web::csrf_in(&page).expect("csrf");
    browser
        .post_form(
            "/admin/kiosk/revoke",
            &[("csrf", &csrf), ("id", &id.to_string())],
        )
        .await
}

fn link_id(t: &TestDb, scope_sql: &str) -> i64 {
    t.count(&format!(
        "SELECT max(link_id) FROM kiosk_links WHERE {scope_sql}"
    ))
}

async fn visit(t: &TestDb, path: &str) -> web::Reply {
    web::get(web::router(&t.db), path).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_link_shows_that_stores_numbers_to_anyone_and_nothing_else() {
    let t = shop();
    let mut admin = web::signed_in(&t.db, ADMIN).await;
    let (reply, path) = create(&mut admin, "store:MI01", "30").await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert!(
        reply.location().contains("ok=created"),
        "{}",
        reply.location()
    );
    let path = path.expect("the new link is shown once");
    assert!(path.len() > "/kiosk/okpk_".len() + 60, "256 bits: {path}");
    // Shown once: the next view of the page no longer holds it.
    let again = admin.page("/admin/kiosk?lang=en").await;
    assert!(!again.contains("/kiosk/okpk_"));
    assert!(again.contains("store:MI01") && again.contains(ADMIN));
    // Only the hash is kept.
    let token = path.trim_start_matches("/kiosk/");
    assert_eq!(
        t.count(&format!(
            "SELECT count(*) FROM kiosk_links WHERE token_hash = '{token}'"
        )),
        0
    );

    let reply = visit(&t, &path).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let html = reply.body;
    assert!(html.contains("http-equiv=\"refresh\""), "meta refresh");
    assert!(html.contains("Milano Duomo (MI01)"));
    // The store's numbers: equal to the stores view filtered to MI01, not the whole chain's.
    let mine = store_kpis(&t, "preset=this_month&store=MI01");
    let chain = store_kpis(&t, "preset=this_month");
    assert!(!mine.is_empty());
    for (key, value) in &mine {
        assert_eq!(tile_value(&html, key), raw(*value), "{key}");
    }
    let orders = |list: &[(String, Option<f64>)]| {
        list.iter()
            .find(|(k, _)| k == "store_orders")
            .and_then(|(_, v)| *v)
    };
    assert_eq!(orders(&mine), Some(3.0));
    assert_eq!(orders(&chain), Some(4.0));
    // Nothing personal, no way into the rest of the dashboard, no form.
    for secret in [
        CUSTOMER_EMAIL,
        CUSTOMER_CARD,
        ADMIN,
        "/customer",
        "/kpi/",
        "csrf",
    ] {
        assert!(!html.contains(secret), "the kiosk shows {secret}");
    }
    assert!(!html.contains("RM01") && !html.contains("Roma"));
    // Its use is recorded.
    assert_eq!(
        t.count("SELECT count(*) FROM kiosk_links WHERE last_used_at IS NOT NULL"),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_the_url_or_using_another_stores_token_cannot_widen_a_link() {
    let t = shop();
    let mut admin = web::signed_in(&t.db, ADMIN).await;
    let milan = create(&mut admin, "store:MI01", "").await.1.expect("milan");
    let rome = create(&mut admin, "store:RM01", "").await.1.expect("rome");
    let milan_orders = "3";
    let rome_orders = "1";
    // Another store asked for in the query is ignored: the link's own store is shown.
    for (path, orders, other) in [(&milan, milan_orders, "RM01"), (&rome, rome_orders, "MI01")] {
        for edited in [
            format!("{path}?store={other}"),
            format!("{path}?store=&preset=this_year&from=2000-01-01"),
            format!("{path}?lang=it&store={other}&department=online"),
        ] {
            let reply = visit(&t, &edited).await;
            assert_eq!(reply.status, StatusCode::OK, "{edited}");
            assert_eq!(tile_value(&reply.body, "store_orders"), orders, "{edited}");
        }
    }
    // Nothing else is reachable under the kiosk path.
    let reply = visit(&t, &format!("{milan}/RM01")).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(!reply.body.contains("data-kpi"));
    // The Italian page is Italian.
    let it = visit(&t, &format!("{milan}?lang=it")).await.body;
    assert!(it.contains("lang=\"it\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_revoked_and_tampered_links_show_nothing() {
    let t = shop();
    let mut admin = web::signed_in(&t.db, ADMIN).await;
    let path = create(&mut admin, "store:MI01", "1").await.1.expect("link");
    assert_eq!(visit(&t, &path).await.status, StatusCode::OK);

    let refused = |reply: &web::Reply| {
        reply.status == StatusCode::GONE
            && !reply.body.contains("data-kpi")
            && !reply.body.contains("Milano")
            && reply.body.contains("not valid")
    };
    // Tampered: one character changed, cut short, another prefix, an API token.
    let last = path.chars().last().expect("a token");
    let flipped = format!(
        "{}{}",
        &path[..path.len() - 1],
        if last == '0' { '1' } else { '0' }
    );
    let api_token = web::admin_token(&t.db);
    for bad in [
        flipped,
        path[..path.len() - 2].to_string(),
        path.replace("okpk_", "okpi_"),
        format!("/kiosk/{api_token}"),
        "/kiosk/okpk_".to_string(),
    ] {
        let reply = visit(&t, &bad).await;
        assert!(refused(&reply), "{bad}: {} {}", reply.status, reply.body);
    }

    // Expired.
    {
        let conn = t.db.connect().expect("connection");
        conn.execute_batch(
            "UPDATE kiosk_links SET expires_at = current_timestamp - INTERVAL 1 MINUTE",
        )
        .expect("expire");
    }
    let reply = visit(&t, &path).await;
    assert!(refused(&reply), "expired: {}", reply.status);
    let page = admin.page("/admin/kiosk?lang=en").await;
    assert!(page.contains("expired"));

    // Revoked (a live one).
    let live = create(&mut admin, "store:MI01", "").await.1.expect("link");
    assert_eq!(visit(&t, &live).await.status, StatusCode::OK);
    let id = link_id(&t, "revoked_at IS NULL AND expires_at > current_timestamp");
    let reply = revoke(&mut admin, id).await;
    assert!(
        reply.location().contains("ok=revoked"),
        "{}",
        reply.location()
    );
    let reply = visit(&t, &live).await;
    assert!(refused(&reply), "revoked: {}", reply.status);
    // The server function refuses it the same way.
    let token = live.trim_start_matches("/kiosk/");
    let mut anonymous = Browser::new(web::router(&t.db));
    let reply = anonymous
        .post_form("/api/kiosk_view", &[("token", token), ("lang", "en")])
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body.trim(), "null");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_and_revoking_are_audited_and_reserved_to_admins_and_the_stores_lead() {
    let t = shop();
    let audit = |action: &str| {
        t.count(&format!(
            "SELECT count(*) FROM audit_log WHERE action = '{action}'"
        ))
    };
    let mut admin = web::signed_in(&t.db, ADMIN).await;
    let (_, online) = create(&mut admin, "department:online", "365").await;
    let online = online.expect("an admin creates any department's link");
    let online_id = link_id(&t, "department = 'online'");
    assert_eq!(audit("kiosk.create"), 1);
    let reply = visit(&t, &online).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body.contains("data-kpi=\"online_orders\""));
    assert!(!reply.body.contains("data-kpi=\"store_orders\""));
    // More than a year, or an unknown store, is refused without a link.
    let (reply, none) = create(&mut admin, "store:MI01", "400").await;
    assert!(reply.location().contains("error="), "{}", reply.location());
    assert!(none.is_none());
    let (reply, none) = create(&mut admin, "store:XX99", "").await;
    assert!(reply.location().contains("error="), "{}", reply.location());
    assert!(none.is_none());
    assert_eq!(t.count("SELECT count(*) FROM kiosk_links"), 1);

    // The stores lead: the stores' links, not another department's.
    let mut lead = web::signed_in(&t.db, STORES_LEAD).await;
    let page = lead.page("/admin/kiosk?lang=en").await;
    assert!(
        !page.contains("department:online"),
        "the lead sees only the stores' links"
    );
    let (_, store) = create(&mut lead, "store:RM01", "").await;
    assert!(store.is_some());
    assert_eq!(audit("kiosk.create"), 2);
    let (reply, none) = create(&mut lead, "department:online", "").await;
    assert!(reply.location().contains("error="), "{}", reply.location());
    assert!(none.is_none());
    let reply = revoke(&mut lead, online_id).await;
    assert!(reply.location().contains("error="), "{}", reply.location());
    assert_eq!(visit(&t, &online).await.status, StatusCode::OK);
    let store_id = link_id(&t, "store_id = 'RM01'");
    let reply = revoke(&mut lead, store_id).await;
    assert!(
        reply.location().contains("ok=revoked"),
        "{}",
        reply.location()
    );
    assert_eq!(audit("kiosk.revoke"), 1);
    assert_eq!(audit("kiosk.create"), 2);
    let actor: i64 = t.count(&format!(
        "SELECT count(*) FROM audit_log WHERE action = 'kiosk.revoke' AND actor = '{STORES_LEAD}'"
    ));
    assert_eq!(actor, 1);

    // Others may not: the gate refuses the page and the forms.
    for email in [ONLINE_LEAD, VIEWER] {
        let mut browser = web::signed_in(&t.db, email).await;
        assert_eq!(
            browser.get("/admin/kiosk?lang=en").await.status,
            StatusCode::FORBIDDEN,
            "{email}"
        );
        let csrf = browser.csrf().await;
        for form in ["/admin/kiosk/create", "/admin/kiosk/revoke"] {
            let reply = browser
                .post_form(
                    form,
                    &[
                        ("csrf", &csrf),
                        ("scope", "store:MI01"),
                        ("id", &online_id.to_string()),
                    ],
                )
                .await;
            assert_eq!(reply.status, StatusCode::FORBIDDEN, "{email} {form}");
        }
    }
    assert_eq!(audit("kiosk.create"), 2);
    assert_eq!(audit("kiosk.revoke"), 1);
    assert_eq!(visit(&t, &online).await.status, StatusCode::OK);
}
