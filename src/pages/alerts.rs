//! The alerts page: the firings of the views the visitor may open, newest first, each with a
//! "mark read" form; and, for admins and department leads, the rules they may change with a
//! form to add one. Every action is a plain form post, so the page works without JavaScript.

use leptos::prelude::*;
use leptos_meta::{Html, Title};
use leptos_router::hooks::use_query_map;

use crate::alerts::{AlertRow, AlertRule, AlertsPage, Op, RuleKind, Window, fetch_alerts_page};
use crate::components::forms::{CsrfField, Notice};
use crate::components::head::head;
use crate::components::header::Header;
use crate::i18n::{Locale, Msg};
use crate::view::department_name;

#[component]
pub fn AlertsPageView() -> impl IntoView {
    let query = use_query_map();
    let locale = Memo::new(move |_| Locale::parse(query.read().get("lang").as_deref()));
    let data = Resource::new(
        move || locale.get(),
        |locale| fetch_alerts_page(locale.code().to_string()),
    );
    view! {
        <Html {..} lang=head(locale, Locale::code) />
        <Title text=head(locale, move |l| l.text(Msg::AlertsTitle)) />
        <Header locale=locale />
        <main id="main" class="page alerts">
            <h1>{move || locale.get().text(Msg::AlertsTitle)}</h1>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let locale = locale.get();
                    match data.await {
                        Ok(page) => view! { <AlertsBody page locale /> }.into_any(),
                        Err(err) => {
                            view! { <p class="notice-error" role="alert">{err.to_string()}</p> }
                                .into_any()
                        }
                    }
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn AlertsBody(page: AlertsPage, locale: Locale) -> impl IntoView {
    let AlertsPage {
        alerts,
        unread,
        rules,
        manages,
        kpis,
        csrf,
    } = page;
    let lang = locale.code();
    let list = if alerts.is_empty() {
        view! { <p class="muted">{locale.text(Msg::AlertsNone)}</p> }.into_any()
    } else {
        let rows = alerts
            .into_iter()
            .map(|a| view! { <AlertItem alert=a locale csrf=csrf.clone() /> })
            .collect_view();
        view! { <ul class="alert-list">{rows}</ul> }.into_any()
    };
    let mark_all = (unread > 0).then(|| {
        view! {
            <form method="post" action="/alerts/read" class="inline">
                <CsrfField token=csrf.clone() />
                <input type="hidden" name="lang" value=lang />
                <input type="hidden" name="alert" value="all" />
                <button type="submit">{locale.text(Msg::AlertMarkAllRead)}</button>
            </form>
        }
    });
    let management = (!manages.is_empty()).then(|| {
        view! { <RulesSection rules manages kpis locale csrf=csrf.clone() /> }
    });
    view! {
        <Notice locale />
        <p class="alert-unread" data-unread=unread.to_string()>
            {unread} " " {locale.text(Msg::AlertsUnread)}
        </p>
        {mark_all}
        {list}
        {management}
    }
}

#[component]
fn AlertItem(alert: AlertRow, locale: Locale, csrf: String) -> impl IntoView {
    let text = alert.describe(locale);
    let department = department_name(&alert.department, locale);
    let read = alert.read;
    let id = alert.id.to_string();
    let item_id = id.clone();
    view! {
        <li class=if read { "alert read" } else { "alert unread" } data-alert=item_id>
            <span class="alert-state">
                {locale.text(if read { Msg::AlertReadLabel } else { Msg::AlertNewLabel })}
            </span>
            " "
            <strong>{department}</strong>
            " · "
            <span class="alert-text">{text}</span>
            " · "
            <span class="muted">{locale.text(Msg::AlertFiredAt)} " " {alert.fired_at}</span>
            {(!read)
                .then(|| {
                    view! {
                        <form method="post" action="/alerts/read" class="inline">
                            <CsrfField token=csrf />
                            <input type="hidden" name="lang" value=locale.code() />
                            <input type="hidden" name="alert" value=id />
                            <button type="submit" class="link-button">
                                {locale.text(Msg::AlertMarkRead)}
                            </button>
                        </form>
                    }
                })}
        </li>
    }
}

#[component]
fn RulesSection(
    rules: Vec<AlertRule>,
    manages: Vec<String>,
    kpis: Vec<crate::alerts::KpiOption>,
    locale: Locale,
    csrf: String,
) -> impl IntoView {
    let lang = locale.code();
    let rows = rules
        .into_iter()
        .map(|r| {
            let kpi_name = kpis
                .iter()
                .find(|k| k.key == r.kpi)
                .map_or_else(|| r.kpi.clone(), |k| k.name.clone());
            let terms = match r.kind {
                RuleKind::OffTrack => r.kind.label(locale).to_string(),
                RuleKind::Threshold => format!(
                    "{} {} {}",
                    r.op.label(locale),
                    crate::format::number(r.threshold, 2, locale),
                    r.window.label(locale)
                ),
                RuleKind::Change => format!(
                    "{}: {} {} % ({})",
                    r.kind.label(locale),
                    r.op.label(locale),
                    crate::format::number(r.threshold, 1, locale),
                    r.window.label(locale)
                ),
            };
            view! {
                <tr>
                    <td>{department_name(&r.department, locale)}</td>
                    <td>{kpi_name}</td>
                    <td>{terms}</td>
                    <td><code>{r.filters.clone()}</code></td>
                    <td>
                        <form method="post" action="/alerts/rules/delete" class="inline">
                            <CsrfField token=csrf.clone() />
                            <input type="hidden" name="lang" value=lang />
                            <input type="hidden" name="id" value=r.id.to_string() />
                            <button type="submit" class="link-button">
                                {locale.text(Msg::AlertDelete)}
                            </button>
                        </form>
                    </td>
                </tr>
            }
        })
        .collect_view();
    let department_options = manages
        .into_iter()
        .map(|d| {
            let name = department_name(&d, locale);
            view! { <option value=d>{name}</option> }
        })
        .collect_view();
    let kpi_options = kpis
        .into_iter()
        .map(|k| view! { <option value=k.key>{k.name}</option> })
        .collect_view();
    let kind_options = RuleKind::ALL
        .into_iter()
        .map(|k| view! { <option value=k.as_str()>{k.label(locale)}</option> })
        .collect_view();
    let op_options = Op::ALL
        .into_iter()
        .map(|o| view! { <option value=o.as_str()>{o.label(locale)}</option> })
        .collect_view();
    let window_options = Window::ALL
        .into_iter()
        .map(|w| view! { <option value=w.as_str()>{w.label(locale)}</option> })
        .collect_view();
    view! {
        <section class="card">
            <h2>{locale.text(Msg::AlertRules)}</h2>
            <div class="table-wrap">
            <table class="data">
                <thead>
                    <tr>
                        <th scope="col">{locale.text(Msg::Department)}</th>
                        <th scope="col">{locale.text(Msg::Kpi)}</th>
                        <th scope="col">{locale.text(Msg::AlertKind)}</th>
                        <th scope="col">{locale.text(Msg::Filters)}</th>
                        <th scope="col"></th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            </div>
            <h3>{locale.text(Msg::AlertNewRule)}</h3>
            <form class="stacked" method="post" action="/alerts/rules/save">
                <CsrfField token=csrf />
                <input type="hidden" name="lang" value=lang />
                <label>
                    {locale.text(Msg::Department)}
                    <select name="department">{department_options}</select>
                </label>
                <label>
                    {locale.text(Msg::Kpi)}
                    <select name="kpi">{kpi_options}</select>
                </label>
                <label>
                    {locale.text(Msg::AlertKind)}
                    <select name="kind">{kind_options}</select>
                </label>
                <label>
                    {locale.text(Msg::AlertOp)}
                    <select name="op">{op_options}</select>
                </label>
                <label>
                    {locale.text(Msg::AlertThreshold)}
                    <input type="text" name="threshold" inputmode="decimal" />
                </label>
                <label>
                    {locale.text(Msg::AlertWindow)}
                    <select name="window">{window_options}</select>
                </label>
                <label>
                    {locale.text(Msg::AlertFiltersHelp)}
                    <input type="text" name="filters" />
                </label>
                <button type="submit">{locale.text(Msg::Create)}</button>
            </form>
        </section>
    }
}
