//! The one place that decides who may do what.
//!
//! [`RULES`] gives every route of the server (pages, server functions, the JSON API, form
//! handlers, static files) the access it requires; the gate (`super::gate`) applies it to
//! every request before routing, and a path with no rule is answered 404 without reaching a
//! handler, so a route added without a rule cannot be reached (and the authorisation matrix
//! test fails). Decisions that depend on the data (which department a server function was
//! asked about) call the same functions ([`decide`], [`can_edit_targets`], ...) from inside
//! the handler.

use crate::auth::Role;

/// What kind of endpoint a route is, which decides how a refusal is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An HTML page: anonymous visitors are sent to sign in, others get a "no access" page.
    Page,
    /// A Leptos server function: a typed `AppError` the view shows.
    ServerFn,
    /// The JSON API: 401/403 with a JSON body.
    Api,
    /// A form handler (POST) answering with a redirect.
    Form,
    /// Static files and the health check.
    Asset,
}

/// A view a user may open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Company,
    /// A department's view; which one comes from the route's `{department}` segment or from
    /// the handler's argument.
    Department,
    Journeys,
    /// One customer's timeline and identifiers (personal data masked unless
    /// [`sees_personal_data`]).
    Customer360,
    /// Sources, loads and rejects.
    Data,
}

/// A change a user may make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edit {
    /// A department's targets (the department as for [`View::Department`]).
    Targets,
    Annotations,
    PainRules,
    /// Splitting a customer on the customer 360 (admins and CX officers).
    Identity,
    /// A department's alert rules (the department as for [`View::Department`]).
    AlertRules,
    /// Kiosk links (admins; the stores lead for the stores: see [`can_manage_kiosk_link`]).
    KioskLinks,
}

/// What a route requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// Any signed-in user.
    SignedIn,
    View(View),
    Edit(Edit),
    /// Users, departments, sources, KPI definitions, settings, tokens, the audit log.
    Admin,
    /// Sending events (an ingest token, or an admin).
    Ingest,
}

/// One route: method (`*` for any), path pattern (`{name}` matches one segment, a final `*`
/// the rest), kind and access.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    pub method: &'static str,
    pub pattern: &'static str,
    pub kind: Kind,
    pub access: Access,
}

const fn rule(method: &'static str, pattern: &'static str, kind: Kind, access: Access) -> Rule {
    Rule {
        method,
        pattern,
        kind,
        access,
    }
}

use Access::{Admin, Ingest, Public, SignedIn};
use Kind::{Api, Asset, Form, Page, ServerFn};

/// Every route the server answers.
pub const RULES: &[Rule] = &[
    // Static files and health.
    rule("GET", "/pkg/*", Asset, Public),
    rule("GET", "/favicon.ico", Asset, Public),
    rule("GET", "/healthz", Asset, Public),
    rule("GET", "/readyz", Asset, Public),
    // Prometheus metrics: an admin session or an admin-role API token.
    rule("GET", "/metrics", Api, Admin),
    // A backup taken by the running server (`omnikpi backup DIR --url ...`).
    rule("POST", "/ops/backup", Api, Admin),
    // Signing in and out, one's own account.
    rule("GET", "/login", Page, Public),
    rule("POST", "/login", Form, Public),
    rule("POST", "/logout", Form, SignedIn),
    rule("GET", "/account", Page, SignedIn),
    rule("POST", "/account/password", Form, SignedIn),
    rule("POST", "/account/lang", Form, SignedIn),
    rule("POST", "/api/visitor", ServerFn, Public),
    // The theme switch (a cookie and a redirect back).
    rule("GET", "/theme", Page, Public),
    // Views.
    rule("GET", "/", Page, Access::View(View::Company)),
    rule(
        "POST",
        "/api/company_view",
        ServerFn,
        Access::View(View::Company),
    ),
    rule("GET", "/kpi/{key}", Page, Access::View(View::Company)),
    rule(
        "POST",
        "/api/kpi_detail",
        ServerFn,
        Access::View(View::Company),
    ),
    rule(
        "GET",
        "/dept/{department}",
        Page,
        Access::View(View::Department),
    ),
    rule(
        "POST",
        "/dept/{department}/targets",
        Form,
        Access::Edit(Edit::Targets),
    ),
    rule(
        "POST",
        "/annotations/save",
        Form,
        Access::Edit(Edit::Annotations),
    ),
    rule(
        "POST",
        "/annotations/delete",
        Form,
        Access::Edit(Edit::Annotations),
    ),
    rule(
        "POST",
        "/api/department_view",
        ServerFn,
        Access::View(View::Department),
    ),
    // The KPI tree and "what changed" (its handler checks the KPI's department).
    rule("GET", "/insights/tree", Page, Access::View(View::Company)),
    rule(
        "POST",
        "/api/kpi_tree",
        ServerFn,
        Access::View(View::Company),
    ),
    rule(
        "GET",
        "/insights/changed",
        Page,
        Access::View(View::Company),
    ),
    rule(
        "POST",
        "/api/what_changed",
        ServerFn,
        Access::View(View::Company),
    ),
    // TV mode: the views it rotates through check access like their own pages do.
    rule("GET", "/tv", Page, SignedIn),
    // The data version open dashboards poll to refresh themselves (`crate::live`).
    rule("POST", "/api/data_version", ServerFn, SignedIn),
    // Downloads of what those pages show (CSV, SVG, PNG).
    rule(
        "GET",
        "/export/company/*",
        Asset,
        Access::View(View::Company),
    ),
    rule(
        "GET",
        "/export/kpi/{key}/*",
        Asset,
        Access::View(View::Company),
    ),
    rule(
        "GET",
        "/export/dept/{department}/*",
        Asset,
        Access::View(View::Department),
    ),
    // Journeys, pain points and the customer 360.
    rule("GET", "/journeys", Page, Access::View(View::Journeys)),
    rule(
        "GET",
        "/journeys/pain/{rule}",
        Page,
        Access::View(View::Journeys),
    ),
    rule(
        "GET",
        "/journeys/journey/{id}",
        Page,
        Access::View(View::Journeys),
    ),
    rule(
        "POST",
        "/journeys/pain-note",
        Form,
        Access::Edit(Edit::PainRules),
    ),
    rule(
        "POST",
        "/api/journeys_page",
        ServerFn,
        Access::View(View::Journeys),
    ),
    rule(
        "POST",
        "/api/pain_page",
        ServerFn,
        Access::View(View::Journeys),
    ),
    rule(
        "POST",
        "/api/journey_page",
        ServerFn,
        Access::View(View::Journeys),
    ),
    rule(
        "GET",
        "/journeys/funnel",
        Page,
        Access::View(View::Journeys),
    ),
    rule(
        "GET",
        "/journeys/compare",
        Page,
        Access::View(View::Journeys),
    ),
    rule(
        "POST",
        "/api/funnel_page",
        ServerFn,
        Access::View(View::Journeys),
    ),
    rule(
        "POST",
        "/api/compare_page",
        ServerFn,
        Access::View(View::Journeys),
    ),
    rule("GET", "/customer", Page, Access::View(View::Customer360)),
    rule(
        "GET",
        "/customer/{id}",
        Page,
        Access::View(View::Customer360),
    ),
    rule("POST", "/customer/erase", Form, Admin),
    // The search posts the identifier (never in a URL) and redirects to the customer number.
    rule(
        "POST",
        "/customer/search",
        Form,
        Access::View(View::Customer360),
    ),
    rule(
        "POST",
        "/customer/split",
        Form,
        Access::Edit(Edit::Identity),
    ),
    rule(
        "POST",
        "/api/customer_page",
        ServerFn,
        Access::View(View::Customer360),
    ),
    // Alerts: anyone signed in reads those of the departments they may view (the handlers
    // filter); rules are changed by admins and a department's lead (the handlers decide).
    rule("GET", "/alerts", Page, SignedIn),
    rule("POST", "/api/alerts_page", ServerFn, SignedIn),
    rule("POST", "/alerts/read", Form, SignedIn),
    rule(
        "POST",
        "/alerts/rules/save",
        Form,
        Access::Edit(Edit::AlertRules),
    ),
    rule(
        "POST",
        "/alerts/rules/delete",
        Form,
        Access::Edit(Edit::AlertRules),
    ),
    // Kiosk links: the token in the path is the credential (checked by the kiosk's service);
    // they are managed by admins and the stores lead, before the admin-only `/admin/*` below.
    rule("GET", "/kiosk/{token}", Page, Public),
    rule("POST", "/api/kiosk_view", ServerFn, Public),
    rule("GET", "/admin/kiosk", Page, Access::Edit(Edit::KioskLinks)),
    rule(
        "POST",
        "/admin/kiosk/create",
        Form,
        Access::Edit(Edit::KioskLinks),
    ),
    rule(
        "POST",
        "/admin/kiosk/revoke",
        Form,
        Access::Edit(Edit::KioskLinks),
    ),
    rule(
        "POST",
        "/api/admin_kiosk",
        ServerFn,
        Access::Edit(Edit::KioskLinks),
    ),
    // Administration.
    rule("GET", "/admin", Page, Admin),
    rule("GET", "/admin/users", Page, Admin),
    rule("GET", "/admin/tokens", Page, Admin),
    rule("GET", "/admin/departments", Page, Admin),
    rule("GET", "/admin/kpis", Page, Admin),
    rule("GET", "/admin/settings", Page, Admin),
    rule("GET", "/admin/audit", Page, Admin),
    rule("GET", "/admin/sources", Page, Admin),
    rule("GET", "/admin/identity", Page, Admin),
    rule("POST", "/api/admin_sources", ServerFn, Admin),
    rule("GET", "/admin/audit.csv", Asset, Admin),
    rule("POST", "/admin/*", Form, Admin),
    rule("POST", "/api/admin_users", ServerFn, Admin),
    rule("POST", "/api/admin_tokens", ServerFn, Admin),
    rule("POST", "/api/admin_departments", ServerFn, Admin),
    rule("POST", "/api/admin_kpis", ServerFn, Admin),
    rule("POST", "/api/admin_settings", ServerFn, Admin),
    rule("POST", "/api/admin_audit", ServerFn, Admin),
    rule("POST", "/api/admin_identity", ServerFn, Admin),
    // The JSON API.
    rule("GET", "/api/v1/openapi.json", Api, Public),
    rule("GET", "/api/v1/kpis", Api, Access::View(View::Company)),
    rule(
        "GET",
        "/api/v1/kpis/{key}/series",
        Api,
        Access::View(View::Company),
    ),
    rule(
        "GET",
        "/api/v1/kpis/{key}/breakdown",
        Api,
        Access::View(View::Company),
    ),
    rule("GET", "/api/v1/targets", Api, Access::View(View::Company)),
    rule("POST", "/api/v1/targets", Api, Access::Edit(Edit::Targets)),
    rule(
        "DELETE",
        "/api/v1/targets",
        Api,
        Access::Edit(Edit::Targets),
    ),
    rule(
        "GET",
        "/api/v1/benchmarks",
        Api,
        Access::View(View::Company),
    ),
    rule("POST", "/api/v1/events", Api, Ingest),
    rule("GET", "/api/v1/journeys", Api, Access::View(View::Journeys)),
    rule(
        "GET",
        "/api/v1/pain-points",
        Api,
        Access::View(View::Journeys),
    ),
    rule("GET", "/api/v1/kpi-tree", Api, Access::View(View::Company)),
    rule(
        "GET",
        "/api/v1/what-changed",
        Api,
        Access::View(View::Company),
    ),
];

/// Who is asking: a signed-in user or an API token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The user's e-mail, or `token:<name>`: what the audit log records.
    pub label: String,
    /// `None` for an ingest-only token.
    pub role: Option<Role>,
    pub department: Option<String>,
    /// For viewers: the views their department was granted (`company`, `journeys`, a
    /// department key), besides their own department.
    pub grants: Vec<String>,
    pub user_id: Option<i64>,
}

impl Principal {
    fn granted(&self, view: &str) -> bool {
        self.grants.iter().any(|g| g == view)
    }

    fn own_department(&self, department: Option<&str>) -> bool {
        department.is_some() && self.department.as_deref() == department
    }
}

/// The outcome of a check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Nobody is signed in and the route needs someone.
    SignIn,
    Deny,
}

/// Whether `who` may have `access`. `department` is the department the request is about, when
/// it names one; `None` at the route level of a handler that reads it from its arguments (the
/// handler decides again with it).
pub fn decide(who: Option<&Principal>, access: Access, department: Option<&str>) -> Decision {
    let Some(who) = who else {
        return if access == Public {
            Decision::Allow
        } else {
            Decision::SignIn
        };
    };
    let allowed = match (who.role, access) {
        (_, Public) => true,
        (None, Ingest) => true,
        (None, _) => false,
        (Some(Role::Admin), _) => true,
        (Some(_), Ingest | Admin) => false,
        (Some(_), SignedIn) => true,
        (Some(role), Access::View(view)) => can_view(who, role, view, department),
        (Some(role), Access::Edit(edit)) => can_edit(who, role, edit, department),
    };
    if allowed {
        Decision::Allow
    } else {
        Decision::Deny
    }
}

fn can_view(who: &Principal, role: Role, view: View, department: Option<&str>) -> bool {
    match (role, view) {
        (Role::Admin, _) => true,
        (Role::Executive, View::Data) => false,
        (Role::Executive, _) => true,
        (Role::Lead, View::Company | View::Department) => true,
        (Role::Lead, _) => false,
        (Role::CxOfficer, View::Company | View::Journeys | View::Customer360) => true,
        // Survey KPIs are customer service's: the CX officer reads that view.
        (Role::CxOfficer, View::Department) => department.is_none_or(|d| d == "customer_service"),
        (Role::CxOfficer, View::Data) => false,
        (Role::Viewer, View::Company) => who.granted("company"),
        (Role::Viewer, View::Journeys) => who.granted("journeys"),
        (Role::Viewer, View::Department) => match department {
            None => true,
            Some(d) => who.own_department(Some(d)) || who.granted(d),
        },
        (Role::Viewer, View::Customer360 | View::Data) => false,
    }
}

fn can_edit(who: &Principal, role: Role, edit: Edit, department: Option<&str>) -> bool {
    match (role, edit) {
        (Role::Admin, _) => true,
        // At the route level (no department yet) a lead may try; the handler decides.
        (Role::Lead, Edit::Targets) => department.is_none() || who.own_department(department),
        (Role::Lead, Edit::AlertRules) => department.is_none() || who.own_department(department),
        (Role::Executive | Role::Lead | Role::CxOfficer, Edit::Annotations) => true,
        (Role::CxOfficer, Edit::PainRules | Edit::Identity) => true,
        // Leads have a department, not stores: the stores lead looks after every store.
        (Role::Lead, Edit::KioskLinks) => who.own_department(Some("stores")),
        _ => false,
    }
}

/// Whether `who` may change the targets of `department`.
pub fn can_edit_targets(who: &Principal, department: &str) -> bool {
    decide(Some(who), Access::Edit(Edit::Targets), Some(department)) == Decision::Allow
}

/// Whether `who` may create and delete the alert rules of `department`.
pub fn can_edit_alert_rules(who: &Principal, department: &str) -> bool {
    decide(Some(who), Access::Edit(Edit::AlertRules), Some(department)) == Decision::Allow
}

/// Whether `who` may create or revoke a kiosk link showing `department`'s KPIs (a store's
/// link shows the stores department's): admins any, the stores lead only the stores'.
pub fn can_manage_kiosk_link(who: &Principal, department: &str) -> bool {
    match who.role {
        Some(Role::Admin) => true,
        Some(Role::Lead) => department == "stores" && who.own_department(Some("stores")),
        _ => false,
    }
}

/// Whether identifiers and timelines are shown unmasked to `who`.
pub fn sees_personal_data(who: &Principal) -> bool {
    matches!(who.role, Some(Role::Admin | Role::CxOfficer))
}

/// The rule for a request, with the path's named segments.
pub fn rule_for<'p>(
    method: &str,
    path: &'p str,
) -> Option<(&'static Rule, Vec<(&'static str, &'p str)>)> {
    RULES.iter().find_map(|rule| {
        let method_ok = rule.method == "*"
            || rule.method == method
            || (rule.method == "GET" && method == "HEAD");
        if !method_ok {
            return None;
        }
        matches(rule.pattern, path).map(|params| (rule, params))
    })
}

/// Matches `path` against `pattern`, returning the named segments.
pub fn matches<'p>(pattern: &'static str, path: &'p str) -> Option<Vec<(&'static str, &'p str)>> {
    let mut params = Vec::new();
    let mut want = pattern.split('/');
    let mut have = path.split('/');
    loop {
        match (want.next(), have.next()) {
            (None, None) => return Some(params),
            (Some("*"), Some(seg)) if !seg.is_empty() => return Some(params),
            (Some(w), Some(h)) if w.starts_with('{') && w.ends_with('}') => {
                if h.is_empty() {
                    return None;
                }
                params.push((&w[1..w.len() - 1], h));
            }
            (Some(w), Some(h)) if w == h => {}
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role, department: Option<&str>, grants: &[&str]) -> Principal {
        Principal {
            label: "someone@example.com".into(),
            role: Some(role),
            department: department.map(str::to_string),
            grants: grants.iter().map(|g| g.to_string()).collect(),
            user_id: Some(1),
        }
    }

    #[test]
    fn patterns_match_whole_segments() {
        assert_eq!(matches("/", "/"), Some(vec![]));
        assert_eq!(matches("/pkg/*", "/pkg/omnikpi.js"), Some(vec![]));
        assert_eq!(matches("/pkg/*", "/pkg/"), None);
        assert_eq!(matches("/pkg/*", "/pkg"), None);
        assert_eq!(
            matches("/api/v1/kpis/{key}/series", "/api/v1/kpis/revenue/series"),
            Some(vec![("key", "revenue")])
        );
        assert_eq!(
            matches("/api/v1/kpis/{key}/series", "/api/v1/kpis//series"),
            None
        );
        assert_eq!(matches("/admin", "/admin/"), None);
        assert_eq!(matches("/login", "/login/x"), None);
    }

    #[test]
    fn unknown_routes_have_no_rule() {
        assert!(rule_for("GET", "/etc/passwd").is_none());
        assert!(rule_for("DELETE", "/").is_none());
        assert!(rule_for("HEAD", "/healthz").is_some());
    }

    #[test]
    fn leads_edit_only_their_own_department_and_viewers_nothing() {
        let lead = user(Role::Lead, Some("stores"), &[]);
        assert!(can_edit_targets(&lead, "stores"));
        assert!(!can_edit_targets(&lead, "marketing"));
        let viewer = user(Role::Viewer, Some("stores"), &["company"]);
        assert!(!can_edit_targets(&viewer, "stores"));
        assert!(can_edit_targets(&user(Role::Admin, None, &[]), "marketing"));
        assert!(can_edit_alert_rules(&lead, "stores"));
        assert!(!can_edit_alert_rules(&lead, "marketing"));
        assert!(!can_edit_alert_rules(&viewer, "stores"));
        let ceo = user(Role::Executive, None, &[]);
        assert!(!can_edit_alert_rules(&ceo, "stores"));
    }

    #[test]
    fn viewers_see_their_department_and_what_it_was_granted() {
        let viewer = user(Role::Viewer, Some("stores"), &["company"]);
        let view = |v, d| decide(Some(&viewer), Access::View(v), d);
        assert_eq!(view(View::Company, None), Decision::Allow);
        assert_eq!(view(View::Department, Some("stores")), Decision::Allow);
        assert_eq!(view(View::Department, Some("marketing")), Decision::Deny);
        assert_eq!(view(View::Journeys, None), Decision::Deny);
        let ungranted = user(Role::Viewer, Some("stores"), &[]);
        assert_eq!(
            decide(Some(&ungranted), Access::View(View::Company), None),
            Decision::Deny
        );
    }

    #[test]
    fn anonymous_visitors_are_asked_to_sign_in_and_tokens_only_ingest() {
        assert_eq!(
            decide(None, Access::View(View::Company), None),
            Decision::SignIn
        );
        assert_eq!(decide(None, Public, None), Decision::Allow);
        let token = Principal {
            label: "token:webshop".into(),
            role: None,
            department: None,
            grants: vec![],
            user_id: None,
        };
        assert_eq!(decide(Some(&token), Ingest, None), Decision::Allow);
        assert_eq!(decide(Some(&token), SignedIn, None), Decision::Deny);
        assert_eq!(
            decide(Some(&user(Role::Executive, None, &[])), Ingest, None),
            Decision::Deny
        );
    }

    #[test]
    fn kiosk_links_are_managed_by_admins_and_the_stores_lead_for_the_stores() {
        let kiosk = |who: &Principal| decide(Some(who), Access::Edit(Edit::KioskLinks), None);
        let stores_lead = user(Role::Lead, Some("stores"), &[]);
        let online_lead = user(Role::Lead, Some("online"), &[]);
        let admin = user(Role::Admin, None, &[]);
        assert_eq!(kiosk(&admin), Decision::Allow);
        assert_eq!(kiosk(&stores_lead), Decision::Allow);
        assert_eq!(kiosk(&online_lead), Decision::Deny);
        assert_eq!(kiosk(&user(Role::Executive, None, &[])), Decision::Deny);
        assert_eq!(
            kiosk(&user(Role::Viewer, Some("stores"), &["company"])),
            Decision::Deny
        );
        assert!(can_manage_kiosk_link(&admin, "online"));
        assert!(can_manage_kiosk_link(&stores_lead, "stores"));
        assert!(!can_manage_kiosk_link(&stores_lead, "online"));
        assert!(!can_manage_kiosk_link(&online_lead, "online"));
        assert_eq!(
            rule_for("GET", "/kiosk/okpk_x").map(|(r, _)| r.access),
            Some(Public)
        );
        assert_eq!(
            rule_for("POST", "/admin/kiosk/create").map(|(r, _)| r.access),
            Some(Access::Edit(Edit::KioskLinks))
        );
    }

    #[test]
    fn personal_data_only_for_admins_and_the_cx_officer() {
        assert!(sees_personal_data(&user(Role::Admin, None, &[])));
        assert!(sees_personal_data(&user(Role::CxOfficer, None, &[])));
        for role in [Role::Executive, Role::Lead, Role::Viewer] {
            assert!(!sees_personal_data(&user(role, Some("sales"), &[])));
        }
    }
}
