//! TV mode for a store back office or an office wall: full screen, large type, no controls,
//! rotating through the views named in the URL, e.g.
//! `/tv?views=company,dept/stores&seconds=30&preset=this_month&lang=it`.
//!
//! `i` is the view shown now; the page carries a `<meta http-equiv="refresh">` to the next
//! one, so the rotation works without JavaScript (and survives a lost connection: the next
//! load tries again), which also brings in new data: no live refresh is needed. The
//! other query keys are the view state, passed to the views as they are.

use leptos::prelude::*;
use leptos_meta::{Html, Meta, Title};
use leptos_router::hooks::use_query_map;

use crate::components::head::head;
use crate::components::kpi_tile::KpiTile;
use crate::dashboard::{fetch_company_view, fetch_department_view};
use crate::i18n::{Locale, Msg};
use crate::view::{DEPARTMENTS, department_name};

/// The shortest and longest time a view stays on screen, and the default.
pub const MIN_SECONDS: u64 = 10;
pub const MAX_SECONDS: u64 = 3600;
pub const DEFAULT_SECONDS: u64 = 30;

/// One view of the rotation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TvView {
    Company,
    Department(&'static str),
}

impl TvView {
    fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "company" => Some(Self::Company),
            other => {
                let key = other.strip_prefix("dept/").unwrap_or(other);
                DEPARTMENTS
                    .into_iter()
                    .find(|d| *d == key)
                    .map(Self::Department)
            }
        }
    }
}

/// The rotation a TV URL asks for: its views (unknown names left out; the company view when
/// none is left), the seconds per view and the index shown now (wrapped into the list).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rotation {
    pub views: Vec<TvView>,
    pub seconds: u64,
    pub index: usize,
}

impl Rotation {
    pub fn parse(views: Option<&str>, seconds: Option<&str>, index: Option<&str>) -> Self {
        let mut list: Vec<TvView> = views
            .unwrap_or("company")
            .split(',')
            .filter_map(TvView::parse)
            .collect();
        if list.is_empty() {
            list.push(TvView::Company);
        }
        let seconds = seconds
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(DEFAULT_SECONDS)
            .clamp(MIN_SECONDS, MAX_SECONDS);
        let index = index
            .and_then(|s| s.trim().parse::<usize>().ok())
            .unwrap_or(0)
            % list.len();
        Self {
            views: list,
            seconds,
            index,
        }
    }

    pub fn next(&self) -> usize {
        (self.index + 1) % self.views.len()
    }
}

/// The query keys that drive the rotation rather than the view.
const TV_KEYS: [&str; 3] = ["views", "seconds", "i"];

#[component]
pub fn TvPage() -> impl IntoView {
    let query = use_query_map();
    let locale = Memo::new(move |_| Locale::parse(query.read().get("lang").as_deref()));
    let rotation = Memo::new(move |_| {
        let q = query.read();
        Rotation::parse(
            q.get("views").as_deref(),
            q.get("seconds").as_deref(),
            q.get("i").as_deref(),
        )
    });
    // The view state for the views: the query without the rotation's own keys.
    let view_query = Memo::new(move |_| {
        let params = query.read();
        crate::url::query(
            (&*params)
                .into_iter()
                .map(|(k, v)| (k.as_ref(), v))
                .filter(|(k, _)| !TV_KEYS.contains(k)),
        )
    });
    let next_url = move || {
        let params = query.read();
        let next = rotation.get().next().to_string();
        format!(
            "/tv{}",
            crate::url::with_param(
                (&*params).into_iter().map(|(k, v)| (k.as_ref(), v)),
                "i",
                &next
            )
        )
    };
    let refresh = Memo::new(move |_| format!("{};url={}", rotation.get().seconds, next_url()));
    // No live refresh here: the rotation's meta refresh reloads the screen every few seconds.
    let data = Resource::new(
        move || {
            let r = rotation.get();
            (r.views[r.index].clone(), view_query.get())
        },
        |(view, qs)| async move {
            match view {
                TvView::Company => fetch_company_view(qs)
                    .await
                    .map(|v| v.kpis.into_iter().map(|k| (k, None)).collect::<Vec<_>>()),
                TvView::Department(d) => fetch_department_view(d.to_string(), qs).await.map(|v| {
                    v.tiles
                        .into_iter()
                        .map(|t| (t.kpi, Some(t.target)))
                        .collect()
                }),
            }
        },
    );
    let title = move || {
        let r = rotation.get();
        let locale = locale.get();
        match r.views[r.index] {
            TvView::Company => locale.text(Msg::CompanyTitle),
            TvView::Department(d) => department_name(d, locale),
        }
    };
    let head_title =
        Memo::new(move |_| format!("{} · {}", title(), locale.get().text(Msg::TvMode)));
    view! {
        <Html {..} lang=head(locale, Locale::code) />
        <Title text=head(head_title, |t| t) />
        <Meta http_equiv="refresh" content=head(refresh, |r| r) />
        <main id="main" class="tv">
            <header class="tv-head">
                <h1>{title}</h1>
                <p class="tv-next">
                    {move || {
                        let r = rotation.get();
                        format!(
                            "{} / {} · {} {} {}",
                            r.index + 1,
                            r.views.len(),
                            locale.get().text(Msg::TvNextIn),
                            r.seconds,
                            locale.get().text(Msg::TvSeconds),
                        )
                    }}
                </p>
            </header>
            <Transition fallback=move || {
                view! { <p class="loading">{locale.get().text(Msg::Loading)}</p> }
            }>
                {move || Suspend::new(async move {
                    let locale = locale.get();
                    match data.await {
                        Ok(tiles) => {
                            let qs = view_query.get_untracked();
                            let tiles = tiles
                                .into_iter()
                                .map(|(kpi, target)| {
                                    let href = format!("/kpi/{}{qs}", kpi.key);
                                    match target {
                                        Some(target) => {
                                            view! { <KpiTile kpi locale href target /> }.into_any()
                                        }
                                        None => view! { <KpiTile kpi locale href /> }.into_any(),
                                    }
                                })
                                .collect_view();
                            view! {
                                <section class="tiles" aria-label=title()>
                                    {tiles}
                                </section>
                            }
                                .into_any()
                        }
                        Err(err) => {
                            view! {
                                <section class="error" role="alert">
                                    <h2>{locale.text(Msg::ErrorTitle)}</h2>
                                    <p>{err.to_string()}</p>
                                </section>
                            }
                                .into_any()
                        }
                    }
                })}
            </Transition>
        </main>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotation_keeps_known_views_clamps_the_time_and_wraps() {
        let r = Rotation::parse(
            Some("company,dept/stores,nope,online"),
            Some("5"),
            Some("4"),
        );
        assert_eq!(
            r.views,
            vec![
                TvView::Company,
                TvView::Department("stores"),
                TvView::Department("online")
            ]
        );
        assert_eq!((r.seconds, r.index, r.next()), (MIN_SECONDS, 1, 2));
        let r = Rotation::parse(Some("nope"), None, Some("x"));
        assert_eq!(
            (r.views, r.seconds, r.index),
            (vec![TvView::Company], DEFAULT_SECONDS, 0)
        );
        assert_eq!(Rotation::parse(None, Some("99999"), Some("2")).next(), 0);
    }
}
