//! Sources and their mappings: what each silo is, how its files are read; a new or changed
//! mapping is pasted here, validated (errors name the mapping's line) and audited.

use leptos::prelude::*;

use crate::admin::{SourceRow, admin_sources};
use crate::components::forms::CsrfField;
use crate::components::table::DataTable;
use crate::i18n::{Locale, Msg};

use super::{AdminFrame, admin_content, page_locale};

#[component]
pub fn AdminSourcesPage() -> impl IntoView {
    let locale = page_locale();
    let data = Resource::new(|| (), |()| admin_sources());
    view! {
        <AdminFrame locale title=Msg::AdminSources>
            {admin_content(locale, data, |sources, locale, csrf| {
                view! { <SourcesBody sources locale csrf /> }
            })}
        </AdminFrame>
    }
}

#[component]
fn SourcesBody(sources: Vec<SourceRow>, locale: Locale, csrf: String) -> impl IntoView {
    let rows = sources
        .into_iter()
        .map(|s| {
            view! {
                <tr>
                    <td>{s.name}</td>
                    <td>{s.kind}</td>
                    <td>
                        <details>
                            <summary>{s.mapping_file}</summary>
                            <pre class="mapping">{s.mapping}</pre>
                        </details>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <DataTable
            headers=vec![
                locale.text(Msg::NameLabel),
                locale.text(Msg::SourceKind),
                locale.text(Msg::Mapping),
            ]
        >
            {rows}
        </DataTable>
        <section class="card">
            <h2>{locale.text(Msg::SaveMapping)}</h2>
            <form class="stacked wide" method="post" action="/admin/sources/save">
                <CsrfField token=csrf />
                <label>
                    {locale.text(Msg::NameLabel)}
                    <input type="text" name="name" required=true pattern="[a-z0-9_-]{1,64}" autocomplete="off" />
                </label>
                <label>
                    {locale.text(Msg::MappingToml)}
                    <textarea name="mapping" rows="14" required=true spellcheck="false"></textarea>
                </label>
                <button type="submit">{locale.text(Msg::Save)}</button>
            </form>
        </section>
    }
}
