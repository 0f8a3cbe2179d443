//! The marketing layer of the demo: the e-mail platform's activity (sends, opens, clicks,
//! unsubscribes by campaign), the brand's social pages (views, likes, shares, comments,
//! mentions, follows by post), the ad platform's impressions beside the clicks the journey
//! layer wrote, and the satisfaction (CSAT) question after a resolved chat, so every
//! marketing and service KPI has something to measure.
//!
//! It draws from its own random stream, so the purchases, the journeys and every planted
//! figure stay where they were, and it keeps clear of what those figures rest on:
//! - only multichannel customers (who already have a second channel) and newsletter
//!   subscribers who never bought receive e-mails, so no single-channel buyer becomes
//!   multichannel and the uplifts of [`super::PLANTED`] keep their meaning;
//! - a customer's opens and clicks (journey steps) stay away from the quiet slots the journey
//!   layer planted its failures in ([`super::journeys`]), so each failure is still its own
//!   journey with no purchase after it;
//! - social interactions and ad impressions are anonymous (the platforms export no
//!   identifier), and impressions cost nothing (the ads are bought per click), so ad spend,
//!   ROAS and CPA do not move;
//! - impressions and a post's views come as daily totals (one row with its `quantity`), as the
//!   platforms export them, so they do not swell the data set a hundredfold.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Weekday};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::journeys::{self, HEADER};
use super::sink::Sink;
use super::{Customer, DemoSpec, day_weight, poisson};

/// The files the layer writes its own rows into.
pub(super) struct Files<'a> {
    pub email: &'a mut Sink,
    pub social: &'a mut Sink,
}

/// What the layer aims at (each within the ranges retailers' platforms report).
pub struct MarketingRates {
    /// Chance that a customer opens a newsletter (outside the quiet slots).
    pub customer_open: f64,
    /// Chance that a subscriber who never bought opens one.
    pub subscriber_open: f64,
    /// Chance of a click once opened (click-to-open).
    pub click_to_open: f64,
    /// Chance of an unsubscribe per e-mail received.
    pub unsubscribe: f64,
    /// Newsletter subscribers who never bought, per customer.
    pub subscribers_per_customer: f64,
    /// Views of a post per customer of the retailer, on an ordinary day.
    pub post_views_per_customer: f64,
    /// Likes, comments, shares, mentions and follows per social view.
    pub social: [(&'static str, f64); 5],
    /// Chance that a customer answers the satisfaction question after a resolved chat.
    pub csat_answer: f64,
    /// How the answers (1 to 5) are spread.
    pub csat_scores: [f64; 5],
    /// Click-through rate of each campaign's ads; impressions follow the clicks.
    pub ctr: [(&'static str, f64); 3],
    pub other_ctr: f64,
}

pub const RATES: MarketingRates = MarketingRates {
    customer_open: 0.5,
    subscriber_open: 0.2,
    click_to_open: 0.08,
    unsubscribe: 0.003,
    subscribers_per_customer: 0.25,
    post_views_per_customer: 0.6,
    social: [
        ("social_like", 0.030),
        ("social_comment", 0.004),
        ("social_share", 0.003),
        ("social_mention", 0.001),
        ("follow", 0.0015),
    ],
    csat_answer: 0.35,
    csat_scores: [0.05, 0.07, 0.13, 0.35, 0.40],
    ctr: [
        ("GOOGLE-SEARCH", 0.029),
        ("META-RETARGET", 0.012),
        ("META-SPRING", 0.008),
    ],
    other_ctr: 0.015,
};

/// The rows of the layer that go into other sources' files, in [`HEADER`]'s columns (the
/// e-mail and social rows are written to their own files as they are made).
pub(super) struct Marketing {
    /// Ad impressions, to add to the ads file.
    pub impressions: Vec<String>,
    /// CSAT answers after resolved chats, to add to the survey file.
    pub surveys: Vec<String>,
}

/// Writes the layer for the data from `start` to `spec.end` (the e-mail and social rows into
/// `files`); `quiet` holds each customer's quiet slots, `ads` the rows of the ads file so far
/// (impressions follow their clicks) and `service` those of the service file (a resolved chat
/// may get a CSAT answer).
pub(super) fn generate(
    spec: &DemoSpec,
    start: NaiveDate,
    customers: &[Customer],
    quiet: &[Vec<NaiveDateTime>],
    (ads, service): (&[String], &[String]),
    files: Files<'_>,
) -> Marketing {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed ^ 0x6d61_726b_6574);
    let days: Vec<NaiveDate> = start.iter_days().take(spec.days as usize).collect();
    let data_end = spec.end.and_hms_opt(23, 59, 59).unwrap_or_default();
    email(&mut rng, &days, data_end, customers, quiet, files.email);
    social(&mut rng, &days, data_end, customers.len(), files.social);
    Marketing {
        impressions: impressions(&mut rng, &days, ads),
        surveys: csat(&mut rng, data_end, service),
    }
}

/// The rows of a journey-layer file whose event type is `kind`, as (time, values by column).
fn rows_of<'a>(
    rows: &'a [String],
    kind: &'a str,
) -> impl Iterator<Item = (NaiveDateTime, Vec<String>)> + 'a {
    let columns: Vec<&str> = HEADER.split(',').collect();
    let at = |name: &str| columns.iter().position(|c| *c == name).unwrap_or(0);
    let (when, event_type) = (at("occurred_at"), at("event_type"));
    rows.iter().filter_map(move |row| {
        let mut values = Vec::new();
        super::export::split_csv(row, &mut values);
        if values.get(event_type).map(String::as_str) != Some(kind) {
            return None;
        }
        let t = NaiveDateTime::parse_from_str(values.get(when)?, "%Y-%m-%dT%H:%M:%S").ok()?;
        Some((t, values))
    })
}

/// The value of `column` in a row of [`rows_of`].
fn value_of<'a>(values: &'a [String], column: &str) -> &'a str {
    HEADER
        .split(',')
        .position(|c| c == column)
        .and_then(|i| values.get(i))
        .map_or("", String::as_str)
}

/// The satisfaction question after a resolved chat (scale 1 to 5), sent by e-mail a quarter
/// of an hour later; surveys carry no channel (they are outcomes, not touchpoints).
fn csat(rng: &mut ChaCha8Rng, data_end: NaiveDateTime, service: &[String]) -> Vec<String> {
    let mut rows = Vec::new();
    let mut seq = 0u64;
    for (at, values) in rows_of(service, "chat_resolved") {
        let email = value_of(&values, "email");
        let answered = at + Duration::minutes(15);
        if email.is_empty() || answered > data_end || !rng.gen_bool(RATES.csat_answer) {
            continue;
        }
        let mut draw = rng.r#gen::<f64>();
        let mut score = 5;
        for (i, share) in RATES.csat_scores.iter().enumerate() {
            if draw < *share {
                score = i + 1;
                break;
            }
            draw -= share;
        }
        seq += 1;
        let score = score.to_string();
        rows.push(journeys::line(
            &format!("cs{seq}"),
            answered,
            "survey",
            &[
                ("touchpoint", "chat_csat"),
                ("email", email),
                ("score", &score),
                ("score_scale", "csat"),
            ],
        ));
    }
    rows
}

/// A recipient of the newsletter: an e-mail, and the quiet slots to keep opens away from.
struct Recipient<'a> {
    email: String,
    quiet: &'a [NaiveDateTime],
    open: f64,
    unsubscribed: bool,
}

/// The campaigns: a newsletter on the first Tuesday of every month at 7:00, and a promotion
/// on the third Thursday of every other month at 10:00.
fn campaigns(days: &[NaiveDate]) -> Vec<(String, NaiveDateTime)> {
    let mut out = Vec::new();
    for day in days {
        let nth = (day.day() - 1) / 7;
        let (name, hour) = match (day.weekday(), nth) {
            (Weekday::Tue, 0) => ("NL", 7),
            (Weekday::Thu, 2) if day.month() % 2 == 1 => ("PROMO", 10),
            _ => continue,
        };
        let id = format!("{name}-{}-{:02}", day.year(), day.month());
        out.push((id, day.and_hms_opt(hour, 0, 0).unwrap_or_default()));
    }
    out
}

fn email(
    rng: &mut ChaCha8Rng,
    days: &[NaiveDate],
    data_end: NaiveDateTime,
    customers: &[Customer],
    quiet: &[Vec<NaiveDateTime>],
    rows: &mut Sink,
) {
    const NO_QUIET: &[NaiveDateTime] = &[];
    let mut recipients: Vec<Recipient> = customers
        .iter()
        .enumerate()
        .filter(|(_, c)| c.channels.len() >= 2)
        .filter_map(|(i, c)| {
            Some(Recipient {
                email: c.email.clone()?,
                quiet: quiet.get(i).map_or(NO_QUIET, Vec::as_slice),
                open: RATES.customer_open,
                unsubscribed: false,
            })
        })
        .collect();
    let subscribers = (customers.len() as f64 * RATES.subscribers_per_customer).round() as usize;
    recipients.extend((0..subscribers).map(|i| Recipient {
        email: format!("iscritto{i:05}@example.it"),
        quiet: NO_QUIET,
        open: RATES.subscriber_open,
        unsubscribed: false,
    }));
    let mut seq = 0u64;
    let mut push = |rows: &mut Sink, at: NaiveDateTime, kind: &str, to: &str, id: &str| {
        seq += 1;
        rows.push(journeys::line(
            &format!("em{seq}"),
            at,
            kind,
            &[("channel", "email"), ("email", to), ("campaign_id", id)],
        ));
    };
    for (campaign, send) in campaigns(days) {
        for r in recipients.iter_mut().filter(|r| !r.unsubscribed) {
            let sent = send + Duration::seconds(rng.gen_range(0..600));
            push(rows, sent, "email_sent", &r.email, &campaign);
            let opened = sent + Duration::minutes(rng.gen_range(5..72 * 60));
            // Journey steps a month around a quiet slot would join or convert its journey.
            let clear = r
                .quiet
                .iter()
                .all(|q| opened < *q - Duration::days(32) || opened > *q + Duration::days(37));
            if rng.gen_bool(r.open) && clear && opened <= data_end {
                push(rows, opened, "email_open", &r.email, &campaign);
                let clicked = opened + Duration::minutes(rng.gen_range(1..30));
                if rng.gen_bool(RATES.click_to_open) && clicked <= data_end {
                    push(rows, clicked, "email_click", &r.email, &campaign);
                }
                if rng.gen_bool(RATES.unsubscribe) && clicked <= data_end {
                    push(rows, clicked, "unsubscribe", &r.email, &campaign);
                    r.unsubscribed = true;
                }
            }
        }
    }
}

/// The brand's posts (Monday, Wednesday and Friday at noon, on one network each): their views
/// on the day and the next (a daily total each) and what people do with them.
fn social(
    rng: &mut ChaCha8Rng,
    days: &[NaiveDate],
    data_end: NaiveDateTime,
    customers: usize,
    rows: &mut Sink,
) {
    const NETWORKS: [&str; 3] = ["instagram", "facebook", "tiktok"];
    let mut seq = 0u64;
    let mut posts = 0usize;
    let mut push = |rows: &mut Sink, at: NaiveDateTime, kind: &str, values: &[(&str, &str)]| {
        seq += 1;
        rows.push(journeys::line(&format!("so{seq}"), at, kind, values));
    };
    for day in days {
        if !matches!(day.weekday(), Weekday::Mon | Weekday::Wed | Weekday::Fri) {
            continue;
        }
        let posted = day.and_hms_opt(12, 0, 0).unwrap_or_default();
        let post = format!("post-{}", day.format("%Y%m%d"));
        let network = NETWORKS[posts % NETWORKS.len()];
        posts += 1;
        let reach = customers as f64
            * RATES.post_views_per_customer
            * day_weight(*day)
            * rng.gen_range(0.6..1.4);
        let on = [
            ("channel", "social"),
            ("touchpoint", network),
            ("campaign_id", post.as_str()),
        ];
        // Two thirds of the views on the day it is posted, the rest the day after.
        for (share, at) in [(0.67, posted), (0.33, posted + Duration::days(1))] {
            let views = poisson(rng, reach * share);
            if views == 0 || at > data_end {
                continue;
            }
            let quantity = views.to_string();
            let mut values = on.to_vec();
            values.push(("quantity", &quantity));
            push(rows, at, "impression", &values);
            for (kind, rate) in RATES.social {
                for _ in 0..poisson(rng, f64::from(views) * rate) {
                    let when = at + Duration::minutes(rng.gen_range(0..12 * 60));
                    if when <= data_end {
                        push(rows, when, kind, &on);
                    }
                }
            }
        }
    }
}

/// Impressions of each campaign on each day, one row with the day's total: its clicks that
/// day over its click-through rate (a day without clicks still shows the ads a little).
fn impressions(rng: &mut ChaCha8Rng, days: &[NaiveDate], ads: &[String]) -> Vec<String> {
    let mut clicks: BTreeMap<(NaiveDate, String), u32> = BTreeMap::new();
    for (t, values) in rows_of(ads, "click") {
        let campaign = value_of(&values, "campaign_id");
        if !campaign.is_empty() {
            *clicks.entry((t.date(), campaign.to_string())).or_default() += 1;
        }
    }
    let ctr = |c: &str| {
        RATES
            .ctr
            .iter()
            .find(|(name, _)| *name == c)
            .map_or(RATES.other_ctr, |(_, r)| *r)
    };
    let mut names: Vec<String> = RATES.ctr.iter().map(|(c, _)| c.to_string()).collect();
    for (_, c) in clicks.keys() {
        if !names.contains(c) {
            names.push(c.clone());
        }
    }
    let mut rows = Vec::new();
    let mut seq = 0u64;
    for day in days {
        for name in &names {
            let n = clicks.get(&(*day, name.clone())).copied().unwrap_or(0);
            let shown = ((f64::from(n) + rng.gen_range(0.0..0.5)) / ctr(name)).round() as u32;
            if shown == 0 {
                continue;
            }
            seq += 1;
            let quantity = shown.to_string();
            // The platform's daily total, stamped at the start of the day.
            rows.push(journeys::line(
                &format!("im{seq}"),
                day.and_hms_opt(0, 0, 0).unwrap_or_default(),
                "impression",
                &[
                    ("channel", "ads"),
                    ("campaign_id", name),
                    ("quantity", &quantity),
                ],
            ));
        }
    }
    rows
}
