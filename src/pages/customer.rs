//! The customer 360: a search by any identifier (a form post with the anti-forgery token, so
//! the identifier stays out of URLs; it redirects to the customer's number), and one customer's
//! identifiers and merges, first and last seen, channels, revenue, orders, returns, NPS and the
//! whole timeline with pain points marked. Identifiers arrive masked from the server for roles
//! without access to personal data. Admins may erase the customer (right to be forgotten).

use leptos::prelude::*;
use leptos_meta::{Html, Title};
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::components::forms::{CsrfField, Notice};
use crate::components::head::head;
use crate::components::header::Header;
use crate::format;
use crate::i18n::{Locale, Msg};
use crate::journey::server_fns::{CustomerPage as PageData, fetch_customer_page};
use crate::pages::admin::{csrf_token, page_locale};
use crate::pages::journeys::detail::{Steps, short_time};

#[component]
pub fn CustomerPage() -> impl IntoView {
    let query = use_query_map();
    let params = use_params_map();
    let locale = page_locale();
    let data = Resource::new(
        move || params.read().get("id"),
        |id| async move {
            match id {
                Some(id) => match id.parse::<i64>() {
                    Ok(id) => fetch_customer_page(id).await.map(Some),
                    Err(_) => Err(crate::error::AppError::NotFound(format!("customer {id}"))),
                },
                None => Ok(None),
            }
        },
    );
    let csrf = csrf_token();
    let search_csrf = csrf;
    view! {
        <Html {..} lang=head(locale, Locale::code) />
        <Title text=head(locale, move |l| l.text(Msg::CustomerTitle)) />
        <Header locale=locale />
        <main id="main" class="page journeys customer">
            <h1>{move || locale.get().text(Msg::CustomerTitle)}</h1>
            {move || view! { <Notice locale=locale.get() /> }}
            <Suspense>
                {move || Suspend::new(async move {
                    let locale = locale.get();
                    let token = search_csrf.await;
                    let _ = &query;
                    view! {
                        <form method="post" action="/customer/search">
                            <div class="search-form">
                                <CsrfField token />
                                <label>
                                    {locale.text(Msg::IdentifierLabel)}
                                    <input
                                        type="search"
                                        name="q"
                                        required=true
                                        autocomplete="off"
                                    />
                                </label>
                                <input type="hidden" name="lang" value=locale.code() />
                                <button type="submit">{locale.text(Msg::Search)}</button>
                            </div>
                        </form>
                    }
                })}
            </Suspense>
            <Suspense fallback=move || {
                view! { <p class="loading">{locale.get().text(Msg::Loading)}</p> }
            }>
                {move || Suspend::new(async move {
                    let locale = locale.get();
                    let csrf = csrf.await;
                    match data.await {
                        Ok(Some(page)) => view! { <CustomerBody page locale csrf /> }.into_any(),
                        Ok(None) => ().into_any(),
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
            </Suspense>
        </main>
    }
}

#[component]
fn CustomerBody(page: PageData, locale: Locale, csrf: String) -> impl IntoView {
    let p = page.profile;
    let id = p.customer_id;
    let n = move |v: u64| format::number(v as f64, 0, locale);
    let facts = [
        (Msg::CustomerLabel, id.to_string()),
        (Msg::FirstSeen, short_time(&p.first_seen)),
        (Msg::LastSeen, short_time(&p.last_seen)),
        (Msg::ChannelsLabel, p.channels.join(", ")),
        (
            Msg::SegmentLabel,
            p.segment
                .clone()
                .unwrap_or_else(|| locale.text(Msg::NotAvailable).to_string()),
        ),
        (
            Msg::LifetimeRevenue,
            format::money(p.lifetime_revenue, locale),
        ),
        (Msg::OrdersLabel, n(p.orders)),
        (Msg::ReturnsLabel, n(p.returns)),
        (
            Msg::LastNps,
            p.last_nps.map_or_else(
                || locale.text(Msg::NotAvailable).to_string(),
                |v| v.to_string(),
            ),
        ),
        (Msg::JourneysCount, n(p.journeys)),
    ]
    .into_iter()
    .map(|(label, value)| {
        view! {
            <div class="stat">
                <dt>{locale.text(label)}</dt>
                <dd>{value}</dd>
            </div>
        }
    })
    .collect_view();
    let can_split = page.can_split && !page.masked;
    let split_form = {
        let csrf = csrf.clone();
        move |kind: &'static str, a: (String, String), b: Option<(String, String)>, label: Msg| {
            let (b_type, b_value) = b.unwrap_or_default();
            view! {
                <form class="inline split" method="post" action="/customer/split">
                    <CsrfField token=csrf.clone() />
                    <input type="hidden" name="customer_id" value=id.to_string() />
                    <input type="hidden" name="lang" value=locale.code() />
                    <input type="hidden" name="kind" value=kind />
                    <input type="hidden" name="a_type" value=a.0 />
                    <input type="hidden" name="a_value" value=a.1 />
                    <input type="hidden" name="b_type" value=b_type />
                    <input type="hidden" name="b_value" value=b_value />
                    <label>
                        {locale.text(Msg::SplitReason)}
                        <input type="text" name="reason" required=true maxlength="500" autocomplete="off" />
                    </label>
                    <button type="submit" class="danger">{locale.text(label)}</button>
                </form>
            }
        }
    };
    let identifiers = p
        .identifiers
        .iter()
        .map(|i| {
            let block = can_split.then(|| {
                split_form(
                    "block",
                    (i.id_type.clone(), i.value.clone()),
                    None,
                    Msg::BlockIdentifier,
                )
            });
            view! {
                <tr>
                    <td>{i.id_type.clone()}</td>
                    <td class="identifier">{crate::journey::shorten_pseudonym(&i.value)}</td>
                    {can_split.then(|| view! { <td>{block}</td> })}
                </tr>
            }
        })
        .collect_view();
    let links = if p.links.is_empty() {
        view! { <p class="hint">{locale.text(Msg::NoIdentityLinks)}</p> }.into_any()
    } else {
        let rows = p
            .links
            .iter()
            .map(|l| {
                let unlink = can_split.then(|| {
                    split_form(
                        "unlink",
                        (l.a_type.clone(), l.a_value.clone()),
                        Some((l.b_type.clone(), l.b_value.clone())),
                        Msg::SplitLink,
                    )
                });
                let at = l.occurred_at.as_deref().map(short_time).unwrap_or_default();
                view! {
                    <tr class="identity-link">
                        <td>
                            {l.a_type.clone()} " " <span class="identifier">{crate::journey::shorten_pseudonym(&l.a_value)}</span>
                            " + " {l.b_type.clone()} " "
                            <span class="identifier">{crate::journey::shorten_pseudonym(&l.b_value)}</span>
                        </td>
                        <td>{format!("{}:{}", l.source, l.event_id)} " · " {at}</td>
                        <td>{l.rule.clone()} " (" {l.priority} ")"</td>
                        {can_split.then(|| view! { <td>{unlink}</td> })}
                    </tr>
                }
            })
            .collect_view();
        view! {
            <table class="data">
                <thead>
                    <tr>
                        <th scope="col">{locale.text(Msg::LinkedIdentifiers)}</th>
                        <th scope="col">{locale.text(Msg::LinkedByEvent)}</th>
                        <th scope="col">{locale.text(Msg::LinkRule)}</th>
                        {can_split
                            .then(|| view! { <th scope="col">{locale.text(Msg::SplitActions)}</th> })}
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        }
            .into_any()
    };
    let merges = (!p.merges.is_empty()).then(|| {
        let rows = p
            .merges
            .iter()
            .map(|m| {
                view! {
                    <tr>
                        <td class="num">{m.merged_id}</td>
                        <td>{short_time(&m.merged_at)}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <h3>{locale.text(Msg::Merges)}</h3>
            <table class="data">
                <thead>
                    <tr>
                        <th scope="col">{locale.text(Msg::CustomerLabel)}</th>
                        <th scope="col">{locale.text(Msg::MergedAt)}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        }
    });
    let erase = page.can_erase.then(|| {
        view! {
            <section class="card danger" aria-labelledby="erase-title">
                <h2 id="erase-title">{locale.text(Msg::EraseTitle)}</h2>
                <p>{locale.text(Msg::EraseHelp)}</p>
                <form class="stacked" method="post" action="/customer/erase">
                    <CsrfField token=csrf />
                    <input type="hidden" name="customer_id" value=id.to_string() />
                    <input type="hidden" name="lang" value=locale.code() />
                    <label>
                        {locale.text(Msg::EraseConfirm)}
                        <input type="text" name="confirm" required=true autocomplete="off" inputmode="numeric" />
                    </label>
                    <button type="submit" class="danger">{locale.text(Msg::Erase)}</button>
                </form>
            </section>
        }
    });
    view! {
        <dl class="stats">{facts}</dl>
        <section class="card" aria-labelledby="ids-title">
            <h2 id="ids-title">{locale.text(Msg::Identifiers)}</h2>
            {page.masked.then(|| view! { <p class="hint">{locale.text(Msg::MaskedNote)}</p> })}
            <table class="data">
                <thead>
                    <tr>
                        <th scope="col">{locale.text(Msg::IdType)}</th>
                        <th scope="col">{locale.text(Msg::ValueLabel)}</th>
                        {can_split
                            .then(|| view! { <th scope="col">{locale.text(Msg::SplitActions)}</th> })}
                    </tr>
                </thead>
                <tbody>{identifiers}</tbody>
            </table>
            {merges}
        </section>
        <section class="card" id="identity-links" aria-labelledby="links-title">
            <h2 id="links-title">{locale.text(Msg::IdentityLinksTitle)}</h2>
            <p class="hint">{locale.text(Msg::IdentityLinksHelp)}</p>
            {can_split.then(|| view! { <p class="hint">{locale.text(Msg::SplitHelp)}</p> })}
            {links}
        </section>
        <section class="card" aria-labelledby="timeline-title">
            <h2 id="timeline-title">{locale.text(Msg::TimelineTitle)}</h2>
            <Steps events=p.timeline locale from=String::new() to=String::new() />
        </section>
        {erase}
    }
}
