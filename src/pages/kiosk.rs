//! A kiosk screen, `/kiosk/TOKEN`: one store's (or one department's) KPIs in the TV layout,
//! for a screen in a shop that nobody signs in to. The token is all the page sends to its
//! server function, which resolves it to the link's scope: the rest of the URL (but `lang`) is
//! not read, so editing it cannot widen what is shown. The page reloads itself with a
//! `<meta http-equiv="refresh">` (no JavaScript needed) and links nowhere; a link that is not
//! live answers 410 with a plain message and nothing else.

use leptos::prelude::*;
use leptos_meta::{Html, Meta, Title};
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::components::kpi_tile::KpiTile;
use crate::i18n::{Locale, Msg};
use crate::kiosk::fetch_kiosk_view;
use crate::pages::not_found::set_status;

/// How soon the page tries again after a server error, so an unattended screen recovers by
/// itself. A refused link is not reloaded: it stays refused.
const RETRY_SECONDS: u32 = 60;

#[component]
pub fn KioskPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let locale = Locale::parse(query.read_untracked().get("lang").as_deref());
    let token = params.read_untracked().get("token").unwrap_or_default();
    let lang = locale.code().to_string();
    let data = Resource::new(
        move || (token.clone(), lang.clone()),
        |(token, lang)| fetch_kiosk_view(token, Some(lang)),
    );
    view! {
        <Html {..} lang=locale.code() />
        <Suspense fallback=move || {
            view! { <p class="loading">{locale.text(Msg::Loading)}</p> }
        }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some(kiosk)) => {
                        let tiles = kiosk
                            .tiles
                            .into_iter()
                            .map(|tile| match tile.target {
                                Some(target) => view! { <KpiTile kpi=tile.kpi locale target /> }.into_any(),
                                None => view! { <KpiTile kpi=tile.kpi locale /> }.into_any(),
                            })
                            .collect_view();
                        let title = kiosk.title.clone();
                        view! {
                            <Title text=title.clone() />
                            <Meta http_equiv="refresh" content=kiosk.refresh_seconds.to_string() />
                            <main id="main" class="tv kiosk">
                                <header class="tv-head">
                                    <h1>{kiosk.title}</h1>
                                    <p class="tv-next">
                                        {kiosk.subtitle} " · " {locale.text(Msg::KioskRefreshNote)}
                                    </p>
                                </header>
                                <section class="tiles" aria-label=title>
                                    {tiles}
                                </section>
                            </main>
                        }
                            .into_any()
                    }
                    Ok(None) => {
                        set_status(410);
                        view! { <Refused locale /> }.into_any()
                    }
                    Err(err) => {
                        view! {
                            <Meta http_equiv="refresh" content=RETRY_SECONDS.to_string() />
                            <main id="main" class="tv kiosk">
                                <section class="error" role="alert">
                                    <h1>{locale.text(Msg::ErrorTitle)}</h1>
                                    <p>{err.to_string()}</p>
                                </section>
                            </main>
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// The plain page of a link that is unknown, expired or revoked: it does not say which.
#[component]
fn Refused(locale: Locale) -> impl IntoView {
    view! {
        <Title text=locale.text(Msg::KioskGoneTitle) />
        <main id="main" class="tv kiosk">
            <section class="missing" role="alert">
                <h1>{locale.text(Msg::KioskGoneTitle)}</h1>
                <p>{locale.text(Msg::KioskGone)}</p>
            </section>
        </main>
    }
}
