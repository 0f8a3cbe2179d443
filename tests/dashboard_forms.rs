//! The dashboard pages' forms through the real router, signed in as the roles that use them:
//! a department's targets set from its page.

mod common;
#[path = "common/web.rs"]
mod web;

use axum::http::StatusCode;

use common::{FIXTURE, TestDb};
use omnikpi::auth::Role;

const VIEW: &str = "from=2026-03-01&to=2026-03-31&lang=en";

fn data() -> TestDb {
    let t = TestDb::new();
    let file = t.file("fixture.csv", FIXTURE);
    t.load("pos", &file).expect("fixture loads");
    web::add_user(&t.db, "admin@test.it", Role::Admin, None);
    web::add_user(&t.db, "lead@test.it", Role::Lead, Some("stores"));
    web::add_user(&t.db, "mlead@test.it", Role::Lead, Some("marketing"));
    web::add_user(&t.db, "ceo@test.it", Role::Executive, None);
    web::add_user(&t.db, "viewer@test.it", Role::Viewer, Some("stores"));
    t
}

fn target_of(t: &TestDb, kpi: &str, department: &str, period: &str) -> Option<f64> {
    let conn = t.db.connect().expect("connection");
    conn.query_row(
        "SELECT value FROM targets WHERE kpi = ? AND department = ? AND period = ?",
        [kpi, department, period],
        |r| r.get(0),
    )
    .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stores_lead_sets_a_stores_target_from_the_department_page() {
    let t = data();
    let mut lead = web::signed_in(&t.db, "lead@test.it").await;
    let body = lead.page(&format!("/dept/stores?{VIEW}")).await;
    assert!(body.contains("action=\"/dept/stores/targets\""), "a form");
    let csrf = web::csrf_in(&body).expect("csrf");
    // A ratio typed as a percentage, the Italian way: 12,5 % is stored as 0.125.
    let fields = [
        ("csrf", csrf.as_str()),
        ("kpi", "pickup_rate"),
        ("period", "2026-q1"),
        ("value", "12,5"),
        ("view", "from=2026-03-01&to=2026-03-31&lang=it"),
    ];
    let reply = lead.post_form("/dept/stores/targets", &fields).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(
        reply.location(),
        "/dept/stores?from=2026-03-01&to=2026-03-31&lang=it&ok=saved"
    );
    assert_eq!(
        target_of(&t, "pickup_rate", "stores", "2026-Q1"),
        Some(0.125)
    );
    // A count as typed; a second save replaces the value and the audit row has both.
    for value in ["1,200", "1,500"] {
        let fields = [
            ("csrf", csrf.as_str()),
            ("kpi", "footfall"),
            ("period", "2026-03"),
            ("value", value),
            ("view", VIEW),
        ];
        let reply = lead.post_form("/dept/stores/targets", &fields).await;
        assert!(
            reply.location().ends_with("&ok=saved"),
            "{}",
            reply.location()
        );
    }
    assert_eq!(target_of(&t, "footfall", "stores", "2026-03"), Some(1500.0));
    assert_eq!(
        t.count(
            "SELECT count(*) FROM audit_log WHERE action = 'target.set' AND actor = 'lead@test.it' \
             AND subject = 'footfall/stores/2026-03' AND old_value LIKE '%1200%' \
             AND new_value LIKE '%1500%'"
        ),
        1
    );
    assert_eq!(
        t.count("SELECT count(*) FROM audit_log WHERE action = 'target.set'"),
        3
    );
    // The page shows the saved target and the outcome.
    let after = lead
        .page("/dept/stores?from=2026-03-01&to=2026-03-31&lang=en&ok=saved")
        .await;
    assert!(after.contains("Saved."), "notice");
    assert!(
        after.contains("value=\"1500\""),
        "the form shows the current value"
    );
    // A bad value or period is refused with a message and nothing changes.
    let bad = [
        ("csrf", csrf.as_str()),
        ("kpi", "footfall"),
        ("period", "2026-Q5"),
        ("value", "7"),
        ("view", VIEW),
    ];
    let reply = lead.post_form("/dept/stores/targets", &bad).await;
    assert!(reply.location().contains("error="), "{}", reply.location());
    let bad = [
        ("csrf", csrf.as_str()),
        ("kpi", "footfall"),
        ("period", "2026-03"),
        ("value", "lots"),
        ("view", VIEW),
    ];
    let reply = lead.post_form("/dept/stores/targets", &bad).await;
    assert!(reply.location().contains("error="), "{}", reply.location());
    assert_eq!(target_of(&t, "footfall", "stores", "2026-03"), Some(1500.0));
    // Without the form's token nothing is saved.
    let forged = [
        ("kpi", "footfall"),
        ("period", "2026-03"),
        ("value", "9"),
        ("view", VIEW),
    ];
    let reply = lead.post_form("/dept/stores/targets", &forged).await;
    assert!(reply.location().contains("error="), "{}", reply.location());
    assert_eq!(target_of(&t, "footfall", "stores", "2026-03"), Some(1500.0));
    // A KPI the department does not own (ad spend is marketing's) is not its to target.
    let foreign = [
        ("csrf", csrf.as_str()),
        ("kpi", "ad_spend"),
        ("period", "2026-03"),
        ("value", "9"),
        ("view", VIEW),
    ];
    let reply = lead.post_form("/dept/stores/targets", &foreign).await;
    assert!(reply.location().contains("error="), "{}", reply.location());
    assert_eq!(target_of(&t, "ad_spend", "stores", "2026-03"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_and_the_department_lead_set_its_targets() {
    let t = data();
    let mut lead = web::signed_in(&t.db, "lead@test.it").await;
    let marketing = lead.page(&format!("/dept/marketing?{VIEW}")).await;
    assert!(
        !marketing.contains("/targets\""),
        "no form on another department"
    );
    let csrf = lead.csrf().await;
    let fields = [
        ("csrf", csrf.as_str()),
        ("kpi", "footfall"),
        ("period", "2026"),
        ("value", "10"),
        ("view", VIEW),
    ];
    let reply = lead.post_form("/dept/marketing/targets", &fields).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    for email in ["viewer@test.it", "ceo@test.it", "mlead@test.it"] {
        let mut other = web::signed_in(&t.db, email).await;
        let body = other.page(&format!("/dept/stores?{VIEW}")).await;
        assert!(
            !body.contains("/dept/stores/targets"),
            "{email} sees no form"
        );
        let csrf = other.csrf().await;
        let fields = [
            ("csrf", csrf.as_str()),
            ("kpi", "footfall"),
            ("period", "2026"),
            ("value", "10"),
            ("view", VIEW),
        ];
        let reply = other.post_form("/dept/stores/targets", &fields).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{email}");
    }
    assert_eq!(t.count("SELECT count(*) FROM targets"), 0);
    // An admin may set any department's.
    let mut admin = web::signed_in(&t.db, "admin@test.it").await;
    let body = admin.page(&format!("/dept/marketing?{VIEW}")).await;
    let csrf = web::csrf_in(&body).expect("csrf");
    let fields = [
        ("csrf", csrf.as_str()),
        ("kpi", "ad_spend"),
        ("period", "2026"),
        ("value", "10"),
        ("view", VIEW),
    ];
    let reply = admin.post_form("/dept/marketing/targets", &fields).await;
    assert!(
        reply.location().ends_with("ok=saved"),
        "{}",
        reply.location()
    );
    assert_eq!(target_of(&t, "ad_spend", "marketing", "2026"), Some(10.0));
}

fn note_text(t: &TestDb, id: i64) -> Option<String> {
    let conn = t.db.connect().expect("connection");
    conn.query_row("SELECT text FROM annotations WHERE id = ?", [id], |r| {
        r.get(0)
    })
    .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_are_added_shown_on_the_chart_edited_by_their_author_and_deleted_by_an_admin() {
    let t = data();
    let uri = format!("/kpi/gross_revenue?{VIEW}&grain=week");
    let mut ceo = web::signed_in(&t.db, "ceo@test.it").await;
    let before = ceo.page(&uri).await;
    assert!(before.contains("No notes in this period."));
    let svg_before = ceo
        .page(&format!(
            "/export/kpi/gross_revenue/series.svg?{VIEW}&grain=week"
        ))
        .await;
    assert!(!svg_before.contains("#5A5A5A"), "no marker yet");
    let csrf = web::csrf_in(&before).expect("a form to add a note");
    let add = [
        ("csrf", csrf.as_str()),
        ("kpi", "gross_revenue"),
        ("day", "2026-03-10"),
        ("text", "Spring campaign started"),
        ("view", "from=2026-03-01&to=2026-03-31&grain=week&lang=en"),
    ];
    let reply = ceo.post_form("/annotations/save", &add).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(
        reply.location(),
        "/kpi/gross_revenue?from=2026-03-01&to=2026-03-31&grain=week&lang=en&ok=saved"
    );
    let id: i64 = t.count("SELECT max(id) FROM annotations");
    assert_eq!(
        note_text(&t, id).as_deref(),
        Some("Spring campaign started")
    );
    assert_eq!(
        t.count(
            "SELECT count(*) FROM audit_log WHERE action = 'annotation.add' \
             AND actor = 'ceo@test.it'"
        ),
        1
    );
    // Listed, in the chart's table on the week that holds 10 March, and marked on the chart.
    let shown = ceo.page(&uri).await;
    assert!(shown.contains("Spring campaign started"));
    assert!(
        shown.contains("<td class=\"notes\">1. Spring campaign started</td>"),
        "in the table alternative"
    );
    let svg = ceo
        .page(&format!(
            "/export/kpi/gross_revenue/series.svg?{VIEW}&grain=week"
        ))
        .await;
    assert!(svg.contains("#5A5A5A"), "a marker on the chart");
    // A note outside the period is not shown.
    let april = ceo
        .page("/kpi/gross_revenue?from=2026-04-01&to=2026-04-30&lang=en")
        .await;
    assert!(!april.contains("Spring campaign started"));
    // Its author edits it.
    let id_text = id.to_string();
    let edit = [
        ("csrf", csrf.as_str()),
        ("id", id_text.as_str()),
        ("kpi", "gross_revenue"),
        ("day", "2026-03-11"),
        ("text", "Spring campaign started (TV)"),
        ("view", VIEW),
    ];
    let reply = ceo.post_form("/annotations/save", &edit).await;
    assert!(
        reply.location().ends_with("ok=saved"),
        "{}",
        reply.location()
    );
    assert_eq!(
        note_text(&t, id).as_deref(),
        Some("Spring campaign started (TV)")
    );
    // Another user who may write notes may not change someone else's.
    let mut lead = web::signed_in(&t.db, "lead@test.it").await;
    let body = lead.page(&uri).await;
    assert!(!body.contains("name=\"id\""), "no edit form for the lead");
    let csrf_lead = web::csrf_in(&body).expect("the add form");
    let hijack = [
        ("csrf", csrf_lead.as_str()),
        ("id", id_text.as_str()),
        ("kpi", "gross_revenue"),
        ("day", "2026-03-11"),
        ("text", "mine now"),
        ("view", VIEW),
    ];
    let reply = lead.post_form("/annotations/save", &hijack).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = lead
        .post_form(
            "/annotations/delete",
            &[("csrf", &csrf_lead), ("id", &id_text), ("view", VIEW)],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        note_text(&t, id).as_deref(),
        Some("Spring campaign started (TV)")
    );
    // A viewer reads notes but writes none.
    let mut viewer = web::signed_in(&t.db, "viewer@test.it").await;
    let token = viewer.csrf().await;
    let reply = viewer
        .post_form(
            "/annotations/save",
            &[("csrf", &token), ("day", "2026-03-02"), ("text", "x")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    // An admin deletes it.
    let mut admin = web::signed_in(&t.db, "admin@test.it").await;
    let body = admin.page(&uri).await;
    let csrf_admin = web::csrf_in(&body).expect("csrf");
    let reply = admin
        .post_form(
            "/annotations/delete",
            &[
                ("csrf", &csrf_admin),
                ("id", &id_text),
                ("kpi", "gross_revenue"),
                ("view", VIEW),
            ],
        )
        .await;
    assert!(
        reply.location().ends_with("ok=deleted"),
        "{}",
        reply.location()
    );
    assert_eq!(note_text(&t, id), None);
    assert_eq!(
        t.count(
            "SELECT count(*) FROM audit_log WHERE action = 'annotation.delete' \
             AND actor = 'admin@test.it' AND old_value LIKE '%(TV)%'"
        ),
        1
    );
    // Empty or over-long notes and bad days are refused with a message.
    for (day, text) in [
        ("2026-03-02", " "),
        ("2026-02-30", "x"),
        ("2026-03-02", &"y".repeat(501)),
    ] {
        let reply = admin
            .post_form(
                "/annotations/save",
                &[
                    ("csrf", &csrf_admin),
                    ("day", day),
                    ("text", text),
                    ("view", VIEW),
                ],
            )
            .await;
        assert!(reply.location().starts_with("/?"), "{}", reply.location());
        assert!(reply.location().contains("error="), "{}", reply.location());
    }
    assert_eq!(t.count("SELECT count(*) FROM annotations"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_note_on_the_company_view_shows_there_and_on_every_kpi_chart() {
    let t = data();
    let mut cx = web::signed_in(&t.db, "ceo@test.it").await;
    let home = cx.page(&format!("/?{VIEW}")).await;
    let csrf = web::csrf_in(&home).expect("a form to add a note");
    let reply = cx
        .post_form(
            "/annotations/save",
            &[
                ("csrf", &csrf),
                ("kpi", ""),
                ("day", "2026-03-20"),
                ("text", "Stores closed for the strike"),
                ("view", VIEW),
            ],
        )
        .await;
    assert_eq!(reply.location(), format!("/?{VIEW}&ok=saved"));
    assert_eq!(
        t.count(
            "SELECT count(*) FROM annotations WHERE kpi IS NULL AND view_key = 'company' \
             AND day = DATE '2026-03-20' AND author = 'ceo@test.it'"
        ),
        1
    );
    let home = cx.page(&format!("/?{VIEW}")).await;
    assert!(home.contains("Stores closed for the strike"));
    let detail = cx.page(&format!("/kpi/footfall?{VIEW}&grain=week")).await;
    assert!(detail.contains("<td class=\"notes\">1. Stores closed for the strike</td>"));
}

/// The error an admin form's redirect carries, decoded.
fn notice_error(location: &str) -> String {
    let query = location.split_once('?').map_or("", |(_, q)| q);
    omnikpi::url::parse(query)
        .into_iter()
        .find(|(k, _)| k == "error")
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no error in {location}"))
}

fn audited(t: &TestDb, action: &str) -> i64 {
    t.count(&format!(
        "SELECT count(*) FROM audit_log WHERE action = '{action}'"
    ))
}

/// Administration takes a pasted target plan and benchmark sheet (#19): a plan with a refused
/// line writes nothing and the notice names each line, column and reason; a good one is
/// written and audited; only an admin may post either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_imports_a_target_plan_and_the_benchmarks_from_the_pages() {
    let t = data();
    let mut admin = web::signed_in(&t.db, "admin@test.it").await;
    let body = admin.page("/admin/departments?lang=en").await;
    assert!(
        body.contains("action=\"/admin/targets/import\""),
        "the form is there"
    );
    let csrf = web::csrf_in(&body).expect("csrf");

    let bad = "kpi,department,period,value\n\
               net_revenue,sales,2026,125000\n\
               net_revenu,sales,2026-13,lots\n";
    let reply = admin
        .post_form("/admin/targets/import", &[("csrf", &csrf), ("plan", bad)])
        .await;
    assert!(reply.location().starts_with("/admin/departments?error="));
    let message = notice_error(reply.location());
    for expected in [
        "the pasted plan:3: kpi",
        "the pasted plan:3: period",
        "the pasted plan:3: value",
        "\"lots\"",
    ] {
        assert!(message.contains(expected), "{expected} in {message}");
    }
    assert_eq!(
        target_of(&t, "net_revenue", "sales", "2026"),
        None,
        "nothing written"
    );
    assert_eq!(audited(&t, "target.import"), 0);

    let good =
        "Department,KPI,Value,Period\nsales,net_revenue,125000,2026\nsales,aov,95.5,2026-Q2\n";
    let reply = admin
        .post_form("/admin/targets/import", &[("csrf", &csrf), ("plan", good)])
        .await;
    assert_eq!(reply.location(), "/admin/departments?ok=saved");
    assert_eq!(
        target_of(&t, "net_revenue", "sales", "2026"),
        Some(125_000.0)
    );
    assert_eq!(target_of(&t, "aov", "sales", "2026-Q2"), Some(95.5));
    assert_eq!(audited(&t, "target.import"), 2);

    let sheet = "kpi,value,source,url,published,scope\n\
                 cart_abandonment_rate,0.7,Baymard Institute,https://baymard.com/lists/cart-abandonment-rate,2021-11-19,\"46 studies, all e-commerce\"\n";
    let reply = admin
        .post_form(
            "/admin/benchmarks/import",
            &[("csrf", &csrf), ("benchmarks", sheet)],
        )
        .await;
    assert_eq!(reply.location(), "/admin/kpis?ok=saved");
    assert_eq!(
        t.count("SELECT count(*) FROM benchmarks"),
        1,
        "the set is replaced"
    );
    assert_eq!(
        t.count("SELECT count(*) FROM benchmarks WHERE scope = '46 studies, all e-commerce'"),
        1
    );
    assert_eq!(audited(&t, "benchmarks.import"), 1);
    let refused = admin
        .post_form(
            "/admin/benchmarks/import",
            &[
                ("csrf", &csrf),
                ("benchmarks", "kpi,value,source\naov,0.5,\n"),
            ],
        )
        .await;
    assert!(notice_error(refused.location()).contains("the pasted sheet:2: source"));
    assert_eq!(
        t.count("SELECT count(*) FROM benchmarks"),
        1,
        "a refused sheet changes nothing"
    );

    // A lead sets their own targets on their page, not plans for everyone.
    let mut lead = web::signed_in(&t.db, "lead@test.it").await;
    let lead_csrf = web::csrf_in(&lead.page("/dept/stores?lang=en").await).expect("csrf");
    let denied = lead
        .post_form(
            "/admin/targets/import",
            &[("csrf", &lead_csrf), ("plan", good)],
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
}
