//! The data table every list page uses: column headers for screen readers, and a box that
//! scrolls sideways on a phone (reachable with the keyboard) instead of widening the page.

use leptos::prelude::*;

/// A `table.data` with one `<th scope="col">` per entry of `headers`; `children` are its rows.
/// `class` adds classes to the table (`stack`: cells stack on narrow screens), `caption` names
/// it for assistive technology when no heading does.
#[component]
pub fn DataTable(
    headers: Vec<&'static str>,
    #[prop(optional, into)] class: Option<&'static str>,
    #[prop(optional, into)] caption: Option<String>,
    children: Children,
) -> impl IntoView {
    let class = match class {
        Some(extra) => format!("data {extra}"),
        None => "data".to_string(),
    };
    let heads = headers
        .into_iter()
        .map(|h| view! { <th scope="col">{h}</th> })
        .collect_view();
    view! {
        <div class="table-scroll" tabindex="0">
            <table class=class>
                {caption.map(|c| view! { <caption class="visually-hidden">{c}</caption> })}
                <thead>
                    <tr>{heads}</tr>
                </thead>
                <tbody>{children()}</tbody>
            </table>
        </div>
    }
}
