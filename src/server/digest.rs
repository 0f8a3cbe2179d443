//! Digests: an e-mail per department, one for executives and one for the CX officer, with the
//! KPIs (value, change vs the previous period, target status), the alerts of the period, the
//! top pain points (CX officer) and a link to each view with its state; HTML (a plain table,
//! the executive digest with the revenue chart as an inline PNG) plus a text part, sent with
//! lettre through any SMTP server.
//!
//! The numbers come from the same services as the pages (`dashboard::department`,
//! `dashboard::company_blocking`, `journey::pain`), so a digest says what the view says.
//! SMTP server, sender, frequency, language, base URL and recipients are settings (admin
//! settings page, table `settings`); the SMTP password only comes from the configuration file
//! or `OMNIKPI_SMTP_PASSWORD`, and is never shown.
//!
//! The period: the `days` days ending on `to`; the scheduled send uses the day before the
//! send (daily) or the seven days before it (weekly, on Mondays). An alert belongs to a digest
//! when it fired on a day of the period or its window ended on one.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use duckdb::{Connection, OptionalExt};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::alerts::AlertRow;
use crate::i18n::{Locale, Msg};
use crate::view::department_name;

use super::alerts;
use super::config::Config;
use super::dashboard::{self, DashboardError};
use super::db::{Db, DbError};
use super::journey::pain;
use super::kpi::{Filters, Period};

/// Setting keys and their defaults (the admin settings page lists and validates them).
pub const SMTP_HOST: (&str, &str) = ("smtp_host", "localhost");
pub const SMTP_PORT: (&str, &str) = ("smtp_port", "25");
pub const SMTP_TLS: (&str, &str) = ("smtp_tls", "none");
pub const SMTP_USER: (&str, &str) = ("smtp_user", "");
pub const SMTP_FROM: (&str, &str) = ("smtp_from", "omnikpi@localhost");
pub const FREQUENCY: (&str, &str) = ("digest_frequency", "off");
pub const LANG: (&str, &str) = ("digest_lang", "en");
pub const BASE_URL: (&str, &str) = ("digest_base_url", "http://127.0.0.1:3000");
/// Recipients of each audience: `digest_to_<audience>` (`digest_to_marketing`, ...).
pub const RECIPIENTS_PREFIX: &str = "digest_to_";
/// The last day the scheduled digests went out (internal, not on the settings page).
const LAST_SENT: &str = "digest_last_sent";

/// The audiences besides the departments.
pub const EXECUTIVE: &str = "executive";
pub const CX_OFFICER: &str = "cx_officer";

/// How many pain points the CX officer's digest lists.
pub const TOP_PAINS: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    #[error("unknown digest {0:?}: a department, `executive` or `cx_officer`")]
    UnknownAudience(String),
    #[error("setting {key}: {value:?} is not {expected}")]
    Setting {
        key: String,
        value: String,
        expected: &'static str,
    },
    #[error("{0:?} is not an e-mail address")]
    Address(String),
    #[error("no recipient")]
    NoRecipient,
    #[error("cannot build the e-mail: {0}")]
    Build(String),
    #[error("the SMTP server refused or failed: {0}")]
    Smtp(String),
    #[error(transparent)]
    Dashboard(#[from] DashboardError),
    #[error(transparent)]
    Alerts(#[from] alerts::AlertError),
    #[error(transparent)]
    Journey(#[from] super::journey::JourneyError),
    #[error("database error: {0}")]
    Sql(#[from] duckdb::Error),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// How the connection to the SMTP server is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain text (a relay on the same host or network).
    None,
    /// Plain connection upgraded with STARTTLS (usually port 587).
    StartTls,
    /// TLS from the first byte (usually port 465).
    Tls,
}

impl TlsMode {
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "none" => Some(Self::None),
            "starttls" => Some(Self::StartTls),
            "tls" => Some(Self::Tls),
            _ => None,
        }
    }
}

/// How often the scheduled digests go out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frequency {
    Off,
    Daily,
    Weekly,
}

impl Frequency {
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "off" => Some(Self::Off),
            "daily" => Some(Self::Daily),
            "weekly" => Some(Self::Weekly),
            _ => None,
        }
    }

    /// Days a digest of this frequency covers.
    pub fn days(self) -> u64 {
        match self {
            Self::Daily => 1,
            Self::Off | Self::Weekly => 7,
        }
    }
}

/// The SMTP server and the digests' settings, validated.
#[derive(Clone)]
pub struct Settings {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub user: String,
    password: Option<String>,
    pub from: String,
    pub frequency: Frequency,
    pub locale: Locale,
    pub base_url: String,
    /// Audience → addresses.
    pub recipients: BTreeMap<String, Vec<String>>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "(set)"))
            .field("from", &self.from)
            .field("frequency", &self.frequency)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// Whether `text` looks like one e-mail address (a full check is the SMTP server's).
pub fn is_address(text: &str) -> bool {
    text.parse::<Mailbox>().is_ok()
}

/// Splits a recipients setting (commas, semicolons or spaces) into addresses.
pub fn split_addresses(text: &str) -> Vec<String> {
    text.split([',', ';', ' ', '\n', '\t'])
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect()
}

fn setting(conn: &Connection, (key, default): (&str, &str)) -> Result<String, DigestError> {
    let value: Option<String> = conn
        .query_row("SELECT value FROM settings WHERE key = ?", [key], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(value.unwrap_or_else(|| default.to_string()))
}

fn bad(key: &str, value: &str, expected: &'static str) -> DigestError {
    DigestError::Setting {
        key: key.to_string(),
        value: value.to_string(),
        expected,
    }
}

/// Reads and checks the settings; the password comes from `config`.
pub fn settings(conn: &Connection, config: &Config) -> Result<Settings, DigestError> {
    let port_text = setting(conn, SMTP_PORT)?;
    let port = port_text
        .trim()
        .parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| bad(SMTP_PORT.0, &port_text, "a port from 1 to 65535"))?;
    let tls_text = setting(conn, SMTP_TLS)?;
    let tls = TlsMode::parse(&tls_text)
        .ok_or_else(|| bad(SMTP_TLS.0, &tls_text, "none, starttls or tls"))?;
    let frequency_text = setting(conn, FREQUENCY)?;
    let frequency = Frequency::parse(&frequency_text)
        .ok_or_else(|| bad(FREQUENCY.0, &frequency_text, "off, daily or weekly"))?;
    let from = setting(conn, SMTP_FROM)?.trim().to_string();
    if !is_address(&from) {
        return Err(bad(SMTP_FROM.0, &from, "an e-mail address"));
    }
    let mut recipients = BTreeMap::new();
    for audience in audiences(conn)? {
        let key = format!("{RECIPIENTS_PREFIX}{audience}");
        let list = split_addresses(&setting(conn, (&key, ""))?);
        if !list.is_empty() {
            recipients.insert(audience, list);
        }
    }
    Ok(Settings {
        host: setting(conn, SMTP_HOST)?.trim().to_string(),
        port,
        tls,
        user: setting(conn, SMTP_USER)?.trim().to_string(),
        password: config
            .smtp_password
            .as_ref()
            .map(|s| s.expose().to_string()),
        from,
        frequency,
        locale: Locale::parse(Some(&setting(conn, LANG)?)),
        base_url: setting(conn, BASE_URL)?
            .trim()
            .trim_end_matches('/')
            .to_string(),
        recipients,
    })
}

/// Every audience: the departments, then `executive` and `cx_officer`.
pub fn audiences(conn: &Connection) -> Result<Vec<String>, DigestError> {
    let mut list = alerts::departments(conn)?;
    list.push(EXECUTIVE.to_string());
    list.push(CX_OFFICER.to_string());
    Ok(list)
}

/// One KPI line of a digest.
#[derive(Clone, Debug, PartialEq)]
pub struct DigestKpi {
    pub key: String,
    pub name: String,
    pub value: String,
    pub change: String,
    pub status: String,
    pub link: String,
}

/// One pain point line (CX officer).
#[derive(Clone, Debug, PartialEq)]
pub struct DigestPain {
    pub name: String,
    pub revenue_lost: String,
    pub affected: u64,
    pub link: String,
}

/// A digest ready to send.
#[derive(Clone, Debug)]
pub struct Digest {
    pub audience: String,
    pub subject: String,
    pub title: String,
    pub period: Period,
    pub view_link: String,
    pub kpis: Vec<DigestKpi>,
    pub alerts: Vec<String>,
    pub pains: Vec<DigestPain>,
    /// The executive digest's revenue chart as PNG.
    pub chart_png: Option<Vec<u8>>,
    pub locale: Locale,
}

/// The view query of a digest's period, so every link opens exactly that view.
fn view_query(period: &Period, locale: Locale) -> String {
    let (from, to) = (period.from().to_string(), period.to().to_string());
    crate::url::query([
        ("from", from.as_str()),
        ("to", to.as_str()),
        ("lang", locale.code()),
    ])
}

/// Builds the digest of `audience` over `period`.
pub fn build(
    conn: &mut Connection,
    audience: &str,
    period: &Period,
    locale: Locale,
    base_url: &str,
) -> Result<Digest, DigestError> {
    let departments = alerts::departments(conn)?;
    let query = view_query(period, locale);
    let kpi_link = |key: &str| format!("{base_url}/kpi/{}{query}", crate::url::encode(key));
    let status_words = |status| crate::view::status_text(status, locale).1.to_string();
    let (title, view_link, kpis, alert_departments, chart_png) = match audience {
        EXECUTIVE => {
            let view = dashboard::company_blocking(conn, &query)?;
            let kpis = view
                .kpis
                .iter()
                .map(|k| DigestKpi {
                    key: k.key.clone(),
                    name: k.name.clone(),
                    value: crate::format::kpi_value(k.value, k.unit, locale),
                    change: k
                        .change
                        .map(|c| crate::format::change_in(c, k.unit, locale))
                        .unwrap_or_default(),
                    status: String::new(),
                    link: kpi_link(&k.key),
                })
                .collect();
            let png = super::charts::to_png(&view.revenue_chart)
                .map_err(|e| tracing::warn!(error = %e, "digest chart not rendered"))
                .ok();
            (
                locale.text(Msg::DigestExecutive).to_string(),
                format!("{base_url}/{query}"),
                kpis,
                departments.clone(),
                png,
            )
        }
        _ if audience == CX_OFFICER || departments.iter().any(|d| d == audience) => {
            // The CX officer reads customer service's view (survey KPIs) plus pain points.
            let department = if audience == CX_OFFICER {
                "customer_service"
            } else {
                audience
            };
            let view = dashboard::department::department_blocking(conn, department, &query)?;
            let kpis = view
                .tiles
                .iter()
                .map(|t| DigestKpi {
                    key: t.kpi.key.clone(),
                    name: t.kpi.name.clone(),
                    value: crate::format::kpi_value(t.kpi.value, t.kpi.unit, locale),
                    change: t
                        .kpi
                        .change
                        .map(|c| crate::format::change_in(c, t.kpi.unit, locale))
                        .unwrap_or_default(),
                    status: status_words(t.target.as_ref().and_then(|t| t.status)),
                    link: kpi_link(&t.kpi.key),
                })
                .collect();
            let link = if audience == CX_OFFICER {
                format!("{base_url}/journeys{query}")
            } else {
                format!("{base_url}/dept/{}{query}", crate::url::encode(department))
            };
            (
                department_name(department, locale).to_string(),
                link,
                kpis,
                vec![department.to_string()],
                None,
            )
        }
        other => return Err(DigestError::UnknownAudience(other.to_string())),
    };
    let alerts = alerts::list_alerts(conn, &alert_departments, None, locale, alerts::MAX_LISTED)?
        .into_iter()
        .filter(|a| in_period(a, period))
        .map(|a| {
            format!(
                "{} · {}",
                department_name(&a.department, locale),
                a.describe(locale)
            )
        })
        .collect();
    let pains = if audience == CX_OFFICER {
        // The numbers only (the list mode): the digest links to each pain point's page.
        pain::pain_list(conn, period, &Filters::none(), locale)?
            .into_iter()
            .take(TOP_PAINS)
            .map(|p| DigestPain {
                link: format!(
                    "{base_url}/journeys/pain/{}{query}",
                    crate::url::encode(&p.rule)
                ),
                name: match &p.subject {
                    Some(s) => format!("{} ({s})", p.name),
                    None => p.name.clone(),
                },
                revenue_lost: crate::format::money(p.revenue_lost, locale),
                affected: p.affected_journeys,
            })
            .collect()
    } else {
        Vec::new()
    };
    let subject = format!(
        "{}: {} · {} – {}",
        locale.text(Msg::DigestTitle),
        title,
        crate::format::date(period.from(), locale),
        crate::format::date(period.to(), locale)
    );
    Ok(Digest {
        audience: audience.to_string(),
        subject,
        title,
        period: *period,
        view_link,
        kpis,
        alerts,
        pains,
        chart_png,
        locale,
    })
}

/// Whether a firing belongs to the period: fired on one of its days, or about a window
/// that ended on one.
fn in_period(alert: &AlertRow, period: &Period) -> bool {
    let fired = alert
        .fired_at
        .get(..10)
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    fired.is_some_and(|d| period.contains(d)) || period.contains(alert.period_to)
}

/// Escapes text for HTML.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The content id of the inline chart.
const CHART_CID: &str = "revenue-chart";

impl Digest {
    /// The text part.
    pub fn text(&self) -> String {
        let l = self.locale;
        let mut out = format!("{}\n\n{}\n", self.subject, self.view_link);
        out.push_str(&format!("\n{}\n", l.text(Msg::DigestKpis)));
        for k in &self.kpis {
            out.push_str(&format!("- {}: {}", k.name, k.value));
            if !k.change.is_empty() {
                out.push_str(&format!(
                    " ({} {})",
                    k.change,
                    l.text(Msg::VsPreviousPeriod)
                ));
            }
            if !k.status.is_empty() {
                out.push_str(&format!(" · {}", k.status));
            }
            out.push('\n');
        }
        out.push_str(&format!("\n{}\n", l.text(Msg::DigestAlerts)));
        if self.alerts.is_empty() {
            out.push_str(&format!("{}\n", l.text(Msg::DigestNoAlerts)));
        }
        for a in &self.alerts {
            out.push_str(&format!("- {a}\n"));
        }
        if !self.pains.is_empty() {
            out.push_str(&format!("\n{}\n", l.text(Msg::TopPainPoints)));
            for p in &self.pains {
                out.push_str(&format!(
                    "- {}: {} ({} journeys) {}\n",
                    p.name, p.revenue_lost, p.affected, p.link
                ));
            }
        }
        out
    }

    /// The HTML part: plain tables, links to each view with its state.
    pub fn html(&self) -> String {
        let l = self.locale;
        let mut out = format!(
            "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title></head>\
             <body><h1>{}</h1><p><a href=\"{}\">{}</a></p>",
            l.code(),
            esc(&self.subject),
            esc(&self.subject),
            esc(&self.view_link),
            esc(l.text(Msg::DigestOpenView))
        );
        if self.chart_png.is_some() {
            out.push_str(&format!(
                "<p><img src=\"cid:{CHART_CID}\" alt=\"{}\" width=\"640\"></p>",
                esc(l.text(Msg::RevenuePerDay))
            ));
        }
        out.push_str(&format!(
            "<h2>{}</h2><table border=\"1\" cellpadding=\"4\" cellspacing=\"0\">\
             <tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            esc(l.text(Msg::DigestKpis)),
            esc(l.text(Msg::Kpi)),
            esc(l.text(Msg::Value)),
            esc(l.text(Msg::Change)),
            esc(l.text(Msg::DigestStatus))
        ));
        for k in &self.kpis {
            out.push_str(&format!(
                "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&k.link),
                esc(&k.name),
                esc(&k.value),
                esc(&k.change),
                esc(&k.status)
            ));
        }
        out.push_str("</table>");
        out.push_str(&format!("<h2>{}</h2>", esc(l.text(Msg::DigestAlerts))));
        if self.alerts.is_empty() {
            out.push_str(&format!("<p>{}</p>", esc(l.text(Msg::DigestNoAlerts))));
        } else {
            out.push_str("<ul>");
            for a in &self.alerts {
                out.push_str(&format!("<li>{}</li>", esc(a)));
            }
            out.push_str("</ul>");
        }
        if !self.pains.is_empty() {
            out.push_str(&format!("<h2>{}</h2><ol>", esc(l.text(Msg::TopPainPoints))));
            for p in &self.pains {
                out.push_str(&format!(
                    "<li><a href=\"{}\">{}</a>: {} ({})</li>",
                    esc(&p.link),
                    esc(&p.name),
                    esc(&p.revenue_lost),
                    p.affected
                ));
            }
            out.push_str("</ol>");
        }
        out.push_str("</body></html>");
        out
    }

    /// The e-mail: text and HTML alternatives, the chart inline beside the HTML.
    pub fn message(&self, from: &str, to: &[String]) -> Result<Message, DigestError> {
        let from: Mailbox = from
            .parse()
            .map_err(|_| DigestError::Address(from.to_string()))?;
        let mut builder = Message::builder().from(from).subject(self.subject.clone());
        if to.is_empty() {
            return Err(DigestError::NoRecipient);
        }
        for address in to {
            let mailbox: Mailbox = address
                .parse()
                .map_err(|_| DigestError::Address(address.clone()))?;
            builder = builder.to(mailbox);
        }
        let html = SinglePart::html(self.html());
        let html_part = match &self.chart_png {
            Some(png) => MultiPart::related().singlepart(html).singlepart(
                Attachment::new_inline(CHART_CID.to_string()).body(
                    png.clone(),
                    ContentType::parse("image/png")
                        .map_err(|e| DigestError::Build(e.to_string()))?,
                ),
            ),
            None => MultiPart::related().singlepart(html),
        };
        let body = MultiPart::alternative()
            .singlepart(SinglePart::plain(self.text()))
            .multipart(html_part);
        builder
            .multipart(body)
            .map_err(|e| DigestError::Build(e.to_string()))
    }
}

/// The SMTP transport the settings describe.
fn transport(settings: &Settings) -> Result<AsyncSmtpTransport<Tokio1Executor>, DigestError> {
    let smtp = |e: lettre::transport::smtp::Error| DigestError::Smtp(e.to_string());
    let builder = match settings.tls {
        TlsMode::None => {
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(settings.host.clone())
        }
        TlsMode::StartTls => {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.host).map_err(smtp)?
        }
        TlsMode::Tls => {
            AsyncSmtpTransport::<Tokio1Executor>::relay(&settings.host).map_err(smtp)?
        }
    };
    let mut builder = builder
        .port(settings.port)
        .timeout(Some(std::time::Duration::from_secs(30)));
    if let (false, Some(password)) = (settings.user.is_empty(), &settings.password) {
        builder = builder.credentials(Credentials::new(settings.user.clone(), password.clone()));
    }
    Ok(builder.build())
}

/// Sends `digest` to `to` through the server in `settings`.
pub async fn send(settings: &Settings, digest: &Digest, to: &[String]) -> Result<(), DigestError> {
    let message = digest.message(&settings.from, to)?;
    transport(settings)?
        .send(message)
        .await
        .map_err(|e| DigestError::Smtp(e.to_string()))?;
    Ok(())
}

/// Builds the digest of `audience` for the `days` days ending on `to_day` (yesterday when
/// `None`) and sends it to `to` (the audience's recipients when empty). Returns the digest.
pub async fn send_now(
    db: &Db,
    config: &Config,
    audience: &str,
    to: Vec<String>,
    to_day: Option<NaiveDate>,
    days: Option<u64>,
) -> Result<Digest, DigestError> {
    let (config, audience_owned) = (config.clone(), audience.to_string());
    let (settings, digest) = db
        .run(move |conn| -> Result<(Settings, Digest), DigestError> {
            let settings = settings(conn, &config)?;
            let last = match to_day {
                Some(day) => day,
                None => {
                    let today = super::view::today(conn).map_err(alerts::AlertError::from)?;
                    today.pred_opt().unwrap_or(today)
                }
            };
            let period = Period::ending(last, days.unwrap_or(settings.frequency.days()).max(1));
            let digest = build(
                conn,
                &audience_owned,
                &period,
                settings.locale,
                &settings.base_url,
            )?;
            Ok((settings, digest))
        })
        .await?;
    let to = if to.is_empty() {
        settings
            .recipients
            .get(audience)
            .cloned()
            .ok_or(DigestError::NoRecipient)?
    } else {
        to
    };
    send(&settings, &digest, &to).await?;
    Ok(digest)
}

/// Whether the scheduled digests are due on `today`, last sent on `last_sent`.
pub fn due(frequency: Frequency, today: NaiveDate, last_sent: Option<NaiveDate>) -> bool {
    let not_yet = last_sent.is_none_or(|d| d < today);
    match frequency {
        Frequency::Off => false,
        Frequency::Daily => not_yet,
        Frequency::Weekly => today.weekday() == Weekday::Mon && not_yet,
    }
}

/// Checks every hour whether the digests are due and sends each audience's to its
/// recipients, for as long as the server runs.
pub async fn send_on_schedule(db: Db, config: Config) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tick.tick().await;
        if let Err(e) = send_if_due(&db, &config).await {
            tracing::warn!(error = %e, "scheduled digests failed");
        }
    }
}

/// Sends the scheduled digests if they are due; returns how many were sent.
pub async fn send_if_due(db: &Db, config: &Config) -> Result<usize, DigestError> {
    let config_for_read = config.clone();
    let (settings, today, last) = db
        .run(move |conn| -> Result<_, DigestError> {
            let settings = settings(conn, &config_for_read)?;
            let today = super::view::today(conn).map_err(alerts::AlertError::from)?;
            let last = setting(conn, (LAST_SENT, ""))?;
            Ok((
                settings,
                today,
                NaiveDate::parse_from_str(&last, "%Y-%m-%d").ok(),
            ))
        })
        .await?;
    if !due(settings.frequency, today, last) {
        return Ok(0);
    }
    // Mark the day first: a failing server must not get the same digest every hour.
    let day = today.to_string();
    db.run(move |conn| -> Result<(), DigestError> {
        conn.execute(
            "INSERT OR REPLACE INTO settings (key, value, updated_at) VALUES (?, ?, now())",
            duckdb::params![LAST_SENT, day],
        )?;
        Ok(())
    })
    .await?;
    let last_day = today.checked_sub_days(Days::new(1)).unwrap_or(today);
    let mut sent = 0;
    for (audience, to) in &settings.recipients {
        match send_now(
            db,
            config,
            audience,
            to.clone(),
            Some(last_day),
            Some(settings.frequency.days()),
        )
        .await
        {
            Ok(_) => sent += 1,
            Err(e) => tracing::warn!(audience = %audience, error = %e, "digest not sent"),
        }
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
    }

    #[test]
    fn weekly_digests_go_on_mondays_once() {
        // 23 November 2026 is a Monday.
        let monday = d("2026-11-23");
        assert!(due(Frequency::Weekly, monday, Some(d("2026-11-16"))));
        assert!(!due(Frequency::Weekly, monday, Some(monday)));
        assert!(!due(Frequency::Weekly, d("2026-11-24"), None));
        assert!(due(Frequency::Daily, d("2026-11-24"), Some(monday)));
        assert!(!due(Frequency::Off, monday, None));
    }

    #[test]
    fn recipients_split_on_commas_semicolons_and_spaces() {
        assert_eq!(
            split_addresses(" a@x.it, b@y.it;c@z.it  d@w.it "),
            ["a@x.it", "b@y.it", "c@z.it", "d@w.it"]
        );
        assert!(is_address("lead@shop.example"));
        assert!(!is_address("not an address"));
    }

    #[test]
    fn html_escapes_what_it_shows() {
        assert_eq!(esc("<b>&\"'"), "&lt;b&gt;&amp;&quot;&#39;");
    }
}
