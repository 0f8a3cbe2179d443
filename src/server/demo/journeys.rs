//! The journey layer of the demo: every touchpoint around the purchases (ad clicks, browsing,
//! click & collect, live chat, store visits, deliveries, returns, complaints, surveys), and the
//! pain points of issue #8 planted at known rates.
//!
//! It draws from its own random stream (seeded from the demo seed), so the purchases and the
//! figures of [`super::PLANTED`] are the same with or without it. Touchpoints on another
//! channel (ads, chat, click & collect, store visits) are given only to multichannel customers,
//! so a single-channel customer stays single-channel for the omnichannel KPIs; surveys and
//! deliveries carry no channel (they are outcomes, not touchpoints).
//!
//! Planted failures are placed in "quiet" slots: no order of the customer from two days before
//! to 35 days after, and at least 40 days from another planted failure of the customer, so each
//! is its own journey and no purchase follows it within the rule's window.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::sink::Sink;
use super::{Channel, Customer, DemoSpec, Order, STORES, at_datetime, poisson, seasonal_day};

/// The columns of every journey-layer file.
pub const HEADER: &str = "event_id,occurred_at,event_type,channel,touchpoint,email,loyalty_id,\
                          device_id,cookie_id,order_id,amount,currency,store_id,sku,campaign_id,\
                          cost,topic,score,score_scale,quantity,attributes";

/// One pain point the generator plants.
#[derive(Clone, Copy, Debug)]
pub struct PlantedPain {
    /// The rule key in src/server/journey/pain_rules.toml.
    pub rule: &'static str,
    /// Planted failures per eligible customer and year (eligible: multichannel customers for
    /// rules 1 to 3; every order of an identified customer for rule 4, as a probability).
    pub rate: f64,
    /// How far (relative) the journeys the engine finds may be from the number planted
    /// (reported in [`PlantedPains`]): planted failures can share a journey, and an edge of
    /// the data can cut a window.
    pub tolerance: f64,
}

/// What the generator plants for the journey view.
#[derive(Clone, Copy, Debug)]
pub struct PlantedPainSet {
    pub pains: [PlantedPain; 4],
    /// Rule 4: the probability of a bad after-sale (return, complaint or detractor survey)
    /// for an order the customer does not follow with another within 180 days; `pains[3].rate`
    /// is the one for orders that are followed by another.
    pub after_sale_no_repurchase: f64,
    /// The rules in the order of their estimated lost revenue, highest first, as measured
    /// on seeds 1 to 4 and 42 with 1,500 customers and 400 days.
    pub ranked: [&'static str; 4],
    /// The campaign with many clicks and a poor conversion (rule 5 must flag it).
    pub poor_campaign: &'static str,
    /// The store whose click & collect reservations are picked up far less often (the worst
    /// store of rule 3's breakdown).
    pub poor_pickup_store: &'static str,
    /// Yearly rate of lost reservations at `poor_pickup_store` (instead of `pains[2].rate`).
    pub poor_pickup_rate: f64,
}

pub const PLANTED_PAIN: PlantedPainSet = PlantedPainSet {
    pains: [
        PlantedPain {
            rule: "non_shoppable_landing",
            rate: 1.2,
            tolerance: 0.1,
        },
        PlantedPain {
            rule: "availability_chat_no_purchase",
            rate: 0.8,
            tolerance: 0.1,
        },
        PlantedPain {
            rule: "reservation_not_picked_up",
            rate: 0.5,
            tolerance: 0.1,
        },
        PlantedPain {
            rule: "bad_after_sale",
            rate: 0.06,
            tolerance: 0.15,
        },
    ],
    after_sale_no_repurchase: 0.25,
    ranked: [
        "non_shoppable_landing",
        "reservation_not_picked_up",
        "availability_chat_no_purchase",
        "bad_after_sale",
    ],
    poor_campaign: "META-SPRING",
    poor_pickup_store: "RM02",
    poor_pickup_rate: 2.5,
};

/// How many failures of each rule were planted with a window complete inside the data.
#[derive(Clone, Debug, Default)]
pub struct PlantedPains {
    pub counts: BTreeMap<&'static str, u64>,
}

impl PlantedPains {
    pub fn get(&self, rule: &str) -> u64 {
        self.counts.get(rule).copied().unwrap_or(0)
    }
}

pub(super) struct Layer {
    /// The layer's files, in [`Src`] order: ads, web_analytics, clickcollect, service,
    /// survey, logistics.
    pub files: [Sink; 6],
    pub planted: PlantedPains,
    /// Per customer (by index), the times of the events placed in quiet slots (planted
    /// failures and the browsing and chats that end nowhere): other layers keep their journey
    /// steps away from them, so each stays its own journey with no purchase after it.
    pub quiet: Vec<Vec<NaiveDateTime>>,
}

#[derive(Clone, Copy)]
enum Src {
    Ads,
    Web,
    ClickCollect,
    Service,
    Survey,
    Logistics,
}

struct Out {
    rows: [Sink; 6],
    seq: u64,
}

impl Out {
    fn push(&mut self, src: Src, at: NaiveDateTime, event_type: &str, values: &[(&str, &str)]) {
        self.seq += 1;
        let line = line(&format!("j{}", self.seq), at, event_type, values);
        self.rows[src as usize].push(line);
    }
}

/// One row of a journey-layer file ([`HEADER`]'s columns): `values` fill the named columns,
/// the others stay empty; a value with a comma or a quote is quoted.
pub(super) fn line(
    id: &str,
    at: NaiveDateTime,
    event_type: &str,
    values: &[(&str, &str)],
) -> String {
    let at = at.format("%Y-%m-%dT%H:%M:%S").to_string();
    let mut line = String::with_capacity(96);
    for (i, column) in HEADER.split(',').enumerate() {
        if i > 0 {
            line.push(',');
        }
        let value = match column {
            "event_id" => id,
            "occurred_at" => at.as_str(),
            "event_type" => event_type,
            _ => values
                .iter()
                .find(|(k, _)| *k == column)
                .map_or("", |(_, v)| *v),
        };
        if value.contains('"') || value.contains(',') {
            line.push('"');
            line.push_str(&value.replace('"', "\"\""));
            line.push('"');
        } else {
            line.push_str(value);
        }
    }
    line
}

fn online_channel(c: &Customer) -> Option<Channel> {
    if c.channels.contains(&Channel::Web) {
        Some(Channel::Web)
    } else if c.channels.contains(&Channel::App) {
        Some(Channel::App)
    } else {
        None
    }
}

/// The identifier pair of a customer's browser on `channel`.
fn browser(c: &Customer, channel: Channel) -> (&'static str, &str, &'static str) {
    match channel {
        Channel::App => ("device_id", c.device.as_deref().unwrap_or(""), "app"),
        _ => ("cookie_id", c.cookie.as_str(), "web"),
    }
}

/// The person-level identifier the customer gives a shop assistant or a form.
fn person(c: &Customer) -> Option<(&'static str, &str)> {
    c.loyalty
        .as_deref()
        .map(|l| ("loyalty_id", l))
        .or_else(|| c.email.as_deref().map(|e| ("email", e)))
}

/// The number in an order id (`O0001234` is 1234).
fn order_number(order_id: &str) -> u64 {
    order_id
        .trim_start_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .unwrap_or(0)
}

fn minutes(n: i64) -> Duration {
    Duration::minutes(n)
}

pub(super) fn generate(
    spec: &DemoSpec,
    start: NaiveDate,
    customers: &[Customer],
    orders: &[Order],
    files: [Sink; 6],
) -> Layer {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed ^ 0x6a6f_7572_6e65_7973);
    let mut out = Out {
        rows: files,
        seq: 0,
    };
    let mut planted = PlantedPains::default();
    let end_day = spec.end;
    let data_end = end_day.and_hms_opt(23, 59, 59).unwrap_or_default();
    let year_fraction = f64::from(spec.days) / 365.0;
    let [r1, r2, r3, r4] = PLANTED_PAIN.pains;

    // Orders of each customer in time order.
    let mut by_customer: Vec<Vec<usize>> = vec![Vec::new(); customers.len()];
    for (i, o) in orders.iter().enumerate() {
        by_customer[o.customer].push(i);
    }
    for list in &mut by_customer {
        list.sort_by_key(|&i| (orders[i].at, i));
    }

    let mut reservation_seq = 0u64;
    let mut quiet_slots: Vec<Vec<NaiveDateTime>> = vec![Vec::new(); customers.len()];
    for (ci, c) in customers.iter().enumerate() {
        let multichannel = c.channels.len() >= 2;
        let store = STORES[c.home_store].0;
        let store_tp = format!("store:{store}");
        let own = &by_customer[ci];
        let times: Vec<NaiveDateTime> = own.iter().map(|&i| orders[i].at).collect();

        for (k, &oi) in own.iter().enumerate() {
            let o = &orders[oi];
            let email = c.email.as_deref().unwrap_or("");
            match o.channel {
                Channel::Web | Channel::App => {
                    let (id_col, id, ch) = browser(c, o.channel);
                    if multichannel && rng.gen_bool(0.4) {
                        let campaign = if rng.gen_bool(0.6) {
                            "GOOGLE-SEARCH"
                        } else {
                            "META-RETARGET"
                        };
                        out.push(
                            Src::Ads,
                            o.at - minutes(rng.gen_range(45..120)),
                            "click",
                            &[
                                ("channel", "ads"),
                                ("touchpoint", "lp:product"),
                                (id_col, id),
                                ("campaign_id", campaign),
                                ("cost", "0.45"),
                                ("attributes", r#"{"shoppable":true}"#),
                            ],
                        );
                    }
                    let visit = rng.gen_range(6..40);
                    let tp_home = if ch == "app" { "app_home" } else { "home" };
                    out.push(
                        Src::Web,
                        o.at - minutes(visit),
                        "visit",
                        &[("channel", ch), ("touchpoint", tp_home), (id_col, id)],
                    );
                    out.push(
                        Src::Web,
                        o.at - minutes(rng.gen_range(3..visit)),
                        "product_view",
                        &[("channel", ch), ("touchpoint", "product"), (id_col, id)],
                    );
                    out.push(
                        Src::Web,
                        o.at - minutes(2),
                        "add_to_cart",
                        &[("channel", ch), ("touchpoint", "cart"), (id_col, id)],
                    );
                }
                Channel::Store => {
                    if multichannel {
                        let who = person(c);
                        if let Some((pcol, pid)) = who {
                            if rng.gen_bool(0.25) {
                                // Click & collect: reserved online, paid at pickup.
                                let online = online_channel(c).unwrap_or(Channel::Web);
                                let (id_col, id, ch) = browser(c, online);
                                let total = format!("{:.2}", o.total);
                                out.push(
                                    Src::ClickCollect,
                                    o.at - Duration::hours(rng.gen_range(20..72)),
                                    "reservation",
                                    &[
                                        ("channel", ch),
                                        ("touchpoint", "click_collect"),
                                        ("email", email),
                                        (id_col, id),
                                        ("order_id", &o.order_id),
                                        ("amount", &total),
                                        ("currency", "EUR"),
                                        ("store_id", store),
                                    ],
                                );
                                out.push(
                                    Src::ClickCollect,
                                    o.at - minutes(1),
                                    "pickup",
                                    &[
                                        ("channel", "store"),
                                        ("touchpoint", &store_tp),
                                        (pcol, pid),
                                        ("order_id", &o.order_id),
                                        ("store_id", store),
                                    ],
                                );
                            } else if rng.gen_bool(0.3) {
                                out.push(
                                    Src::Web,
                                    o.at - minutes(rng.gen_range(5..30)),
                                    "visit",
                                    &[
                                        ("channel", "store"),
                                        ("touchpoint", &store_tp),
                                        (pcol, pid),
                                        ("store_id", store),
                                    ],
                                );
                            }
                        }
                    }
                }
            }
            // A chat before some orders of multichannel customers.
            if multichannel && !email.is_empty() && rng.gen_bool(0.15) {
                let topic = if rng.gen_bool(0.3) {
                    "availability"
                } else if rng.gen_bool(0.5) {
                    "sizing"
                } else {
                    "delivery"
                };
                let at = o.at - Duration::hours(rng.gen_range(20..70));
                chat(&mut out, &mut rng, at, email, topic, 0.9);
            }

            // After the sale: deliveries, then (rule 4) a return, a complaint or a detractor
            // survey, likelier when the customer does not come back within 180 days.
            let Some((pcol, pid)) = (match o.channel {
                Channel::Store => c.loyalty.as_deref().map(|l| ("loyalty_id", l)),
                _ => c.email.as_deref().map(|e| ("email", e)),
            }) else {
                continue;
            };
            let ch = match o.channel {
                Channel::Store => "store",
                Channel::Web => "web",
                Channel::App => "app",
            };
            if o.channel != Channel::Store {
                let promised = (o.at + Duration::days(3)).date();
                // Most parcels arrive by the promised day, some a day or three late.
                let days = if rng.gen_bool(0.88) {
                    rng.gen_range(1..=3)
                } else {
                    rng.gen_range(4..=6)
                };
                let delivered = (o.at + Duration::days(days)).date();
                let attributes = format!(r#"{{"promised_date":"{promised}"}}"#);
                if delivered <= end_day {
                    out.push(
                        Src::Logistics,
                        at_datetime(&mut rng, delivered, 9, 19),
                        "delivery",
                        &[
                            (pcol, pid),
                            ("order_id", &o.order_id),
                            ("attributes", &attributes),
                        ],
                    );
                }
            }
            let repurchase = times
                .get(k + 1)
                .is_some_and(|next| *next <= o.at + Duration::days(180));
            let bad = rng.gen_bool(if repurchase {
                r4.rate
            } else {
                PLANTED_PAIN.after_sale_no_repurchase
            });
            let after =
                o.at + Duration::days(rng.gen_range(2..26)) + minutes(rng.gen_range(0..600));
            let store_id = if o.channel == Channel::Store {
                store
            } else {
                ""
            };
            if bad && after <= data_end {
                if o.at + Duration::days(30) <= data_end {
                    *planted.counts.entry(r4.rule).or_default() += 1;
                }
                match rng.gen_range(0..10) {
                    0..=4 => {
                        let amount = format!("{:.2}", o.total);
                        // Multichannel customers bring two in five online orders back to
                        // their store (chosen by the order's number, so no random draw
                        // moves the rest of the layer).
                        let (ch, store_id) = if multichannel
                            && o.channel != Channel::Store
                            && order_number(&o.order_id) % 5 < 2
                        {
                            ("store", store)
                        } else {
                            (ch, store_id)
                        };
                        out.push(
                            Src::Logistics,
                            after,
                            "return",
                            &[
                                ("channel", ch),
                                ("touchpoint", "returns"),
                                (pcol, pid),
                                ("order_id", &o.order_id),
                                ("amount", &amount),
                                ("currency", "EUR"),
                                ("store_id", store_id),
                            ],
                        );
                    }
                    5..=6 => out.push(
                        Src::Service,
                        after,
                        "complaint",
                        &[
                            ("channel", ch),
                            ("touchpoint", "complaint_form"),
                            (pcol, pid),
                            ("order_id", &o.order_id),
                            ("store_id", store_id),
                            ("topic", if ch == "store" { "service" } else { "delivery" }),
                        ],
                    ),
                    _ => {
                        let score = rng.gen_range(0..=6).to_string();
                        out.push(
                            Src::Survey,
                            after,
                            "survey",
                            &[
                                ("touchpoint", "nps_survey"),
                                (pcol, pid),
                                ("order_id", &o.order_id),
                                ("store_id", store_id),
                                ("score", &score),
                                ("score_scale", "nps"),
                            ],
                        );
                    }
                }
            } else if !bad && after <= data_end && rng.gen_bool(0.25) {
                let score = [7, 8, 9, 9, 10, 10][rng.gen_range(0..6)].to_string();
                out.push(
                    Src::Survey,
                    after,
                    "survey",
                    &[
                        ("touchpoint", "nps_survey"),
                        (pcol, pid),
                        ("order_id", &o.order_id),
                        ("store_id", store_id),
                        ("score", &score),
                        ("score_scale", "nps"),
                    ],
                );
            }
        }

        if !multichannel {
            continue;
        }
        let Some(online) = online_channel(c) else {
            continue;
        };
        let (id_col, id, ch) = browser(c, online);
        let email = c.email.as_deref().unwrap_or("");
        let mut busy: Vec<NaiveDateTime> = Vec::new();

        // Store visits that do not buy (wifi login with the loyalty card).
        if let Some((pcol, pid)) = person(c) {
            for _ in 0..poisson(&mut rng, 0.8 * year_fraction) {
                let day = seasonal_day(&mut rng, start, spec.days);
                out.push(
                    Src::Web,
                    at_datetime(&mut rng, day, 10, 20),
                    "visit",
                    &[
                        ("channel", "store"),
                        ("touchpoint", &store_tp),
                        (pcol, pid),
                        ("store_id", store),
                    ],
                );
            }
        }

        // Ad clicks that land well and are not followed by a purchase (browsing), most of them
        // from the poor campaign.
        for _ in 0..poisson(&mut rng, 1.0 * year_fraction) {
            let Some(at) = quiet(&mut rng, start, spec.days, end_day, &times, &mut busy) else {
                continue;
            };
            let campaign = if rng.gen_bool(0.8) {
                PLANTED_PAIN.poor_campaign
            } else {
                "GOOGLE-SEARCH"
            };
            click_and_browse(
                &mut out,
                &mut rng,
                at,
                campaign,
                "lp:product",
                true,
                (id_col, id, ch),
            );
        }
        // Chats on other topics not followed by a purchase.
        if !email.is_empty() {
            for _ in 0..poisson(&mut rng, 0.4 * year_fraction) {
                let Some(at) = quiet(&mut rng, start, spec.days, end_day, &times, &mut busy) else {
                    continue;
                };
                let topic = if rng.gen_bool(0.5) {
                    "sizing"
                } else {
                    "delivery"
                };
                chat(&mut out, &mut rng, at, email, topic, 0.9);
            }
        }

        // Rule 1: a retargeting ad landing on a page where the product cannot be bought.
        for _ in 0..poisson(&mut rng, r1.rate * year_fraction) {
            let Some(at) = quiet(&mut rng, start, spec.days, end_day, &times, &mut busy) else {
                continue;
            };
            click_and_browse(
                &mut out,
                &mut rng,
                at,
                "META-RETARGET",
                "lp:retarget-sofa",
                false,
                (id_col, id, ch),
            );
            *planted.counts.entry(r1.rule).or_default() += 1;
        }
        // Rule 2: a chat asking about availability, no purchase within 7 days.
        if !email.is_empty() {
            for _ in 0..poisson(&mut rng, r2.rate * year_fraction) {
                let Some(at) = quiet(&mut rng, start, spec.days, end_day, &times, &mut busy) else {
                    continue;
                };
                // Nobody could say whether it is in stock: the chat is not resolved.
                chat(&mut out, &mut rng, at, email, "availability", 0.0);
                *planted.counts.entry(r2.rule).or_default() += 1;
            }
        }
        // Rule 3: a reservation for store pickup that nobody collects.
        let rate = if store == PLANTED_PAIN.poor_pickup_store {
            PLANTED_PAIN.poor_pickup_rate
        } else {
            r3.rate
        };
        if !email.is_empty() {
            for _ in 0..poisson(&mut rng, rate * year_fraction) {
                let Some(at) = quiet(&mut rng, start, spec.days, end_day, &times, &mut busy) else {
                    continue;
                };
                reservation_seq += 1;
                let order_id = format!("R{reservation_seq:07}");
                let amount = format!("{:.2}", rng.gen_range(40.0..220.0));
                out.push(
                    Src::ClickCollect,
                    at,
                    "reservation",
                    &[
                        ("channel", ch),
                        ("touchpoint", "click_collect"),
                        ("email", email),
                        (id_col, id),
                        ("order_id", &order_id),
                        ("amount", &amount),
                        ("currency", "EUR"),
                        ("store_id", store),
                    ],
                );
                *planted.counts.entry(r3.rule).or_default() += 1;
            }
        }
        quiet_slots[ci] = busy;
    }

    Layer {
        files: out.rows,
        planted,
        quiet: quiet_slots,
    }
}

/// A live chat, resolved with probability `resolved` 5 to 30 minutes later.
fn chat(
    out: &mut Out,
    rng: &mut ChaCha8Rng,
    at: NaiveDateTime,
    email: &str,
    topic: &str,
    resolved: f64,
) {
    let values = [
        ("channel", "chat"),
        ("touchpoint", "chat"),
        ("email", email),
        ("topic", topic),
    ];
    out.push(Src::Service, at, "chat_start", &values);
    if resolved > 0.0 && rng.gen_bool(resolved) {
        out.push(
            Src::Service,
            at + minutes(rng.gen_range(5..30)),
            "chat_resolved",
            &values,
        );
    }
}

/// An ad click followed a minute later by a visit and a product view on the landing channel.
fn click_and_browse(
    out: &mut Out,
    rng: &mut ChaCha8Rng,
    at: NaiveDateTime,
    campaign: &str,
    landing: &str,
    shoppable: bool,
    (id_col, id, ch): (&str, &str, &str),
) {
    let attributes = if shoppable {
        r#"{"shoppable":true}"#
    } else {
        r#"{"shoppable":false}"#
    };
    out.push(
        Src::Ads,
        at,
        "click",
        &[
            ("channel", "ads"),
            ("touchpoint", landing),
            (id_col, id),
            ("campaign_id", campaign),
            ("cost", "0.45"),
            ("attributes", attributes),
        ],
    );
    let home = if ch == "app" { "app_home" } else { "home" };
    out.push(
        Src::Web,
        at + minutes(1),
        "visit",
        &[("channel", ch), ("touchpoint", home), (id_col, id)],
    );
    out.push(
        Src::Web,
        at + minutes(3),
        "product_view",
        &[("channel", ch), ("touchpoint", "product"), (id_col, id)],
    );
    // Where the product can be bought, some put it in the cart and leave.
    if shoppable && rng.gen_bool(0.35) {
        out.push(
            Src::Web,
            at + minutes(6),
            "add_to_cart",
            &[("channel", ch), ("touchpoint", "cart"), (id_col, id)],
        );
    }
}

/// A time with no order of the customer from 2 days before to 35 days after, at least 40
/// days from the other planted events in `busy`, and 8 days before the end of the data (so a
/// 7-day window closes inside it); `None` after a few tries.
fn quiet(
    rng: &mut ChaCha8Rng,
    start: NaiveDate,
    days: u32,
    end: NaiveDate,
    orders: &[NaiveDateTime],
    busy: &mut Vec<NaiveDateTime>,
) -> Option<NaiveDateTime> {
    for _ in 0..20 {
        let day = seasonal_day(rng, start, days);
        if day + Duration::days(8) > end {
            continue;
        }
        let at = at_datetime(rng, day, 9, 22);
        let clear = orders
            .iter()
            .all(|o| *o < at - Duration::days(2) || *o > at + Duration::days(35));
        let apart = busy.iter().all(|b| (*b - at).num_days().abs() >= 40);
        if clear && apart {
            busy.push(at);
            return Some(at);
        }
    }
    None
}
