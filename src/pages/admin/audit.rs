//! The audit log: every change, newest first, paged; downloadable as CSV.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::admin::{AuditPage, admin_audit};
use crate::components::table::DataTable;
use crate::i18n::{Locale, Msg};

use super::{AdminFrame, page_locale};

#[component]
pub fn AdminAuditPage() -> impl IntoView {
    let locale = page_locale();
    let query = use_query_map();
    let data = Resource::new(
        move || {
            query
                .read()
                .get("offset")
                .and_then(|o| o.parse::<u32>().ok())
        },
        admin_audit,
    );
    view! {
        <AdminFrame locale title=Msg::AdminAudit>
            <p>
                <a href=move || format!("/admin/audit.csv?lang={}", locale.get().code()) download="omnikpi-audit.csv">
                    {move || locale.get().text(Msg::DownloadCsv)}
                </a>
            </p>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let locale = locale.get();
                    match data.await {
                        Ok(page) => view! { <AuditBody page locale /> }.into_any(),
                        Err(err) => view! { <p class="notice-error" role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </AdminFrame>
    }
}

#[component]
fn AuditBody(page: AuditPage, locale: Locale) -> impl IntoView {
    let next = page.offset.saturating_add(page.limit);
    let more = (i64::from(next) < page.total).then(|| {
        view! {
            <a href=format!("/admin/audit?offset={next}&lang={}", locale.code())>
                {locale.text(Msg::NextPage)}
            </a>
        }
    });
    let rows = page
        .entries
        .into_iter()
        .map(|e| {
            view! {
                <tr>
                    <td class="nowrap">{e.at}</td>
                    <td>{e.actor}</td>
                    <td><code>{e.action}</code></td>
                    <td>{e.subject}</td>
                    <td><code class="json">{e.before.unwrap_or_default()}</code></td>
                    <td><code class="json">{e.after.unwrap_or_default()}</code></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <DataTable
            headers=vec![
                locale.text(Msg::When),
                locale.text(Msg::Actor),
                locale.text(Msg::ActionLabel),
                locale.text(Msg::Subject),
                locale.text(Msg::Before),
                locale.text(Msg::After),
            ]
        >
            {rows}
        </DataTable>
        <p>{more}</p>
    }
}
