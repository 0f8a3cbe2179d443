//! The settings an admin changes at run time (stored in the `settings` table): what each one
//! means, its default, how it is checked, and how the two instance-wide ones, the time zone and
//! the currency, take effect at once.
//!
//! Computations read their own keys straight from the table in the same query (for example the
//! CLV margin), so a saved value applies from the next request on.

use duckdb::{Connection, OptionalExt};

use crate::format::{self, Currency};

use super::db::{Db, DbError};

/// One setting: key, default, help in English and Italian, and a check of its text.
pub struct SettingDef {
    pub key: &'static str,
    pub default: &'static str,
    pub help_en: &'static str,
    pub help_it: &'static str,
    valid: fn(&str) -> bool,
    /// Typed as a number: a decimal comma is read as a point.
    numeric: bool,
    /// May be left empty.
    pub optional: bool,
}

fn number_in(value: &str, low: f64, high: f64) -> bool {
    value
        .trim()
        .parse::<f64>()
        .is_ok_and(|v| v.is_finite() && (low..=high).contains(&v))
}

fn whole_in(value: &str, low: u32, high: u32) -> bool {
    value
        .trim()
        .parse::<u32>()
        .is_ok_and(|n| (low..=high).contains(&n))
}

/// Every setting the admin page shows, in its order.
pub const SETTINGS: &[SettingDef] = &[
    SettingDef {
        key: "time_zone",
        default: super::config::DEFAULT_TIME_ZONE,
        help_en: "IANA time zone in which days, months and periods are counted (e.g. Europe/Rome). \
                  Overrides the configuration file's time_zone.",
        help_it: "Fuso orario IANA in cui si contano giorni, mesi e periodi (es. Europe/Rome). \
                  Prevale sul time_zone del file di configurazione.",
        valid: |v| {
            !v.is_empty()
                && v.len() <= 64
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/_-+".contains(c))
        },
        numeric: false,
        optional: false,
    },
    SettingDef {
        key: "currency",
        default: "EUR",
        help_en: "ISO code of the currency amounts are reported in (EUR, USD, GBP, CHF, SEK, DKK, \
                  NOK, PLN). Loads refuse amounts in another currency.",
        help_it: "Codice ISO della valuta degli importi (EUR, USD, GBP, CHF, SEK, DKK, NOK, PLN). \
                  I caricamenti rifiutano importi in un'altra valuta.",
        valid: |v| Currency::parse(v).is_some(),
        numeric: false,
        optional: false,
    },
    SettingDef {
        key: "clv_margin",
        default: "1.0",
        help_en: "Gross margin applied to revenue in customer lifetime value (0.01 to 1).",
        help_it: "Margine lordo applicato ai ricavi nel valore del cliente (da 0,01 a 1).",
        valid: |v| number_in(v, 0.01, 1.0),
        numeric: true,
        optional: false,
    },
    SettingDef {
        key: "target_at_risk_within",
        default: "0.05",
        help_en: "How close to its target a KPI's projection is 'at risk' (0 to 0.5, 0.05 = 5 %).",
        help_it: "Quanto vicino al target una proiezione è 'a rischio' (da 0 a 0,5; 0,05 = 5 %).",
        valid: |v| number_in(v, 0.0, 0.5),
        numeric: true,
        optional: false,
    },
    SettingDef {
        key: "identity_max_links",
        default: "50",
        help_en: "An identifier shared by more people than this is ignored by stitching (2 to 10000).",
        help_it: "Un identificativo condiviso da più persone di così è ignorato (da 2 a 10000).",
        valid: |v| whole_in(v, 2, 10_000),
        numeric: true,
        optional: false,
    },
    SettingDef {
        key: "phone_country_code",
        default: "39",
        help_en: "Country calling code added to phone numbers written without one (1 to 3 digits).",
        help_it: "Prefisso internazionale per i numeri scritti senza (da 1 a 3 cifre).",
        valid: |v| (1..=3).contains(&v.len()) && v.chars().all(|c| c.is_ascii_digit()),
        numeric: false,
        optional: false,
    },
    SettingDef {
        key: super::ingest::pseudonym::SETTING,
        default: "off",
        help_en: "on: e-mails and phones are stored as salted hashes (stitching still works). \
                  Turn it on before loading any; once values are hashed it cannot be turned off.",
        help_it: "on: e-mail e telefoni sono salvati come hash con sale (l'unione delle identità \
                  funziona). Attivalo prima di caricarne; una volta salvati come hash non si può \
                  disattivare.",
        valid: |v| v == "on" || v == "off",
        numeric: false,
        optional: false,
    },
    SettingDef {
        key: "journey_inactivity_days",
        default: "30",
        help_en: "Days without any event after which a journey without a purchase is abandoned (1 to 365).",
        help_it: "Giorni senza eventi dopo i quali un percorso senza acquisto è abbandonato (da 1 a 365).",
        valid: |v| whole_in(v, 1, 365),
        numeric: true,
        optional: false,
    },
];

/// Digest settings: the SMTP server (its password only from the configuration file or
/// `OMNIKPI_SMTP_PASSWORD`), sender, frequency, language, base URL of links and recipients.
const DIGEST_SETTINGS: &[SettingDef] = &[
    SettingDef {
        key: super::digest::SMTP_HOST.0,
        default: super::digest::SMTP_HOST.1,
        help_en: "SMTP server of the digests (a host name or address).",
        help_it: "Server SMTP dei riepiloghi (nome host o indirizzo).",
        valid: |v| {
            let v = v.trim();
            !v.is_empty() && v.len() <= 253 && !v.contains(char::is_whitespace)
        },
        numeric: false,
        optional: false,
    },
    SettingDef {
        key: super::digest::SMTP_PORT.0,
        default: super::digest::SMTP_PORT.1,
        help_en: "SMTP port (25, 587 with starttls, 465 with tls).",
        help_it: "Porta SMTP (25, 587 con starttls, 465 con tls).",
        valid: |v| v.trim().parse::<u16>().is_ok_and(|p| p > 0),
        numeric: false,
        optional: false,
    },
    SettingDef {
        key: super::digest::SMTP_TLS.0,
        default: super::digest::SMTP_TLS.1,
        help_en: "Connection security: none, starttls or tls.",
        help_it: "Sicurezza della connessione: none, starttls o tls.",
        valid: |v| super::digest::TlsMode::parse(v).is_some(),
        numeric: false,
        optional: false,
    },
    SettingDef {
        key: super::digest::SMTP_USER.0,
        default: super::digest::SMTP_USER.1,
        help_en: "SMTP user name (empty: no authentication). The password is set in the configuration file or OMNIKPI_SMTP_PASSWORD.",
        help_it: "Utente SMTP (vuoto: nessuna autenticazione). La password va nel file di configurazione o in OMNIKPI_SMTP_PASSWORD.",
        valid: |v| v.len() <= 200 && !v.trim().contains(char::is_whitespace),
        numeric: false,
        optional: true,
    },
    SettingDef {
        key: super::digest::SMTP_FROM.0,
        default: super::digest::SMTP_FROM.1,
        help_en: "Sender address of the digests.",
        help_it: "Indirizzo mittente dei riepiloghi.",
        valid: |v| super::digest::is_address(v.trim()),
        numeric: false,
        optional: false,
    },
    SettingDef {
        key: super::digest::FREQUENCY.0,
        default: super::digest::FREQUENCY.1,
        help_en: "Scheduled digests: off, daily (the day before) or weekly (Mondays, the week before).",
        help_it: "Riepiloghi programmati: off, daily (il giorno prima) o weekly (il lunedì, la settimana prima).",
        valid: |v| super::digest::Frequency::parse(v).is_some(),
        numeric: false,
        optional: false,
    },
    SettingDef {
        key: super::digest::LANG.0,
        default: super::digest::LANG.1,
        help_en: "Language of the digests: en or it.",
        help_it: "Lingua dei riepiloghi: en o it.",
        valid: |v| matches!(v.trim(), "en" | "it"),
        numeric: false,
        optional: false,
    },
    SettingDef {
        key: super::digest::BASE_URL.0,
        default: super::digest::BASE_URL.1,
        help_en: "Address of omnikpi as readers open it, for the links in the digests (http:// or https://).",
        help_it: "Indirizzo di omnikpi come lo aprono i lettori, per i link dei riepiloghi (http:// o https://).",
        valid: |v| {
            let v = v.trim();
            (v.starts_with("http://") || v.starts_with("https://"))
                && !v.contains(char::is_whitespace)
        },
        numeric: false,
        optional: false,
    },
    SettingDef {
        key: "digest_to_marketing",
        default: "",
        help_en: "Recipients of the marketing digest (addresses separated by commas; empty: none).",
        help_it: "Destinatari del riepilogo marketing (indirizzi separati da virgole; vuoto: nessuno).",
        valid: valid_recipients,
        numeric: false,
        optional: true,
    },
    SettingDef {
        key: "digest_to_sales",
        default: "",
        help_en: "Recipients of the sales digest (addresses separated by commas; empty: none).",
        help_it: "Destinatari del riepilogo sales (indirizzi separati da virgole; vuoto: nessuno).",
        valid: valid_recipients,
        numeric: false,
        optional: true,
    },
    SettingDef {
        key: "digest_to_stores",
        default: "",
        help_en: "Recipients of the stores digest (addresses separated by commas; empty: none).",
        help_it: "Destinatari del riepilogo stores (indirizzi separati da virgole; vuoto: nessuno).",
        valid: valid_recipients,
        numeric: false,
        optional: true,
    },
    SettingDef {
        key: "digest_to_online",
        default: "",
        help_en: "Recipients of the online digest (addresses separated by commas; empty: none).",
        help_it: "Destinatari del riepilogo online (indirizzi separati da virgole; vuoto: nessuno).",
        valid: valid_recipients,
        numeric: false,
        optional: true,
    },
    SettingDef {
        key: "digest_to_customer_service",
        default: "",
        help_en: "Recipients of the customer_service digest (addresses separated by commas; empty: none).",
        help_it: "Destinatari del riepilogo customer_service (indirizzi separati da virgole; vuoto: nessuno).",
        valid: valid_recipients,
        numeric: false,
        optional: true,
    },
    SettingDef {
        key: "digest_to_logistics",
        default: "",
        help_en: "Recipients of the logistics digest (addresses separated by commas; empty: none).",
        help_it: "Destinatari del riepilogo logistics (indirizzi separati da virgole; vuoto: nessuno).",
        valid: valid_recipients,
        numeric: false,
        optional: true,
    },
    SettingDef {
        key: "digest_to_executive",
        default: "",
        help_en: "Recipients of the executive digest (addresses separated by commas; empty: none).",
        help_it: "Destinatari del riepilogo executive (indirizzi separati da virgole; vuoto: nessuno).",
        valid: valid_recipients,
        numeric: false,
        optional: true,
    },
    SettingDef {
        key: "digest_to_cx_officer",
        default: "",
        help_en: "Recipients of the cx_officer digest (addresses separated by commas; empty: none).",
        help_it: "Destinatari del riepilogo cx_officer (indirizzi separati da virgole; vuoto: nessuno).",
        valid: valid_recipients,
        numeric: false,
        optional: true,
    },
];

fn valid_recipients(value: &str) -> bool {
    super::digest::split_addresses(value)
        .iter()
        .all(|a| super::digest::is_address(a))
}

/// Every setting of the settings page, in its order.
pub fn all() -> impl Iterator<Item = &'static SettingDef> {
    SETTINGS.iter().chain(DIGEST_SETTINGS)
}

/// Why a value was refused, in words for the admin.
#[derive(Debug, thiserror::Error)]
pub enum SettingError {
    #[error("unknown setting {0:?}")]
    Unknown(String),
    #[error("{key}: {value:?} is not allowed. {help}")]
    Invalid {
        key: &'static str,
        value: String,
        help: &'static str,
    },
    #[error(
        "time_zone: {0:?} is not a time zone DuckDB knows (use an IANA name such as Europe/Rome)"
    )]
    UnknownTimeZone(String),
    #[error(
        "currency: events already hold amounts in {held}; the currency can only be {held} \
         (convert the amounts and load them again to change it)"
    )]
    CurrencyInUse { held: String },
    #[error(
        "pseudonymise: {0} events already hold e-mails or phones as hashes, which cannot be turned \
         back into addresses; pseudonymisation stays on"
    )]
    PseudonymsStored(i64),
    #[error(
        "pseudonymise: {0} events hold e-mails or phones in clear, which would never match their \
         hashes; turn it on in an instance before loading them (or erase those events first)"
    )]
    ClearIdentifiersStored(i64),
    #[error("database error: {0}")]
    Sql(#[from] duckdb::Error),
}

impl SettingError {
    /// The message in Italian (the Display text is English).
    pub fn italian(&self) -> String {
        match self {
            SettingError::Unknown(key) => format!("impostazione sconosciuta {key:?}"),
            SettingError::Invalid { key, value, .. } => {
                let help = all().find(|d| d.key == *key).map_or("", |d| d.help_it);
                format!("{key}: {value:?} non è ammesso. {help}")
            }
            SettingError::UnknownTimeZone(zone) => format!(
                "time_zone: {zone:?} non è un fuso orario noto (usa un nome IANA come Europe/Rome)"
            ),
            SettingError::CurrencyInUse { held } => format!(
                "currency: gli eventi hanno già importi in {held}; la valuta può essere solo \
                 {held} (converti gli importi e ricaricali per cambiarla)"
            ),
            SettingError::PseudonymsStored(n) => format!(
                "pseudonymise: {n} eventi hanno già e-mail o telefoni come hash, che non si possono \
                 riportare in chiaro; la pseudonimizzazione resta attiva"
            ),
            SettingError::ClearIdentifiersStored(n) => format!(
                "pseudonymise: {n} eventi hanno e-mail o telefoni in chiaro, che non \
                 corrisponderebbero mai ai loro hash; attivala prima di caricarli (o cancella \
                 prima quegli eventi)"
            ),
            SettingError::Sql(e) => format!("errore del database: {e}"),
        }
    }
}

/// The stored value of `key`, if an admin set one.
pub fn stored(conn: &Connection, key: &str) -> Result<Option<String>, duckdb::Error> {
    conn.query_row("SELECT value FROM settings WHERE key = ?", [key], |r| {
        r.get(0)
    })
    .optional()
}

/// Checks `value` for `key` and returns it as it will be stored (trimmed, decimal comma read
/// as a point, currency codes upper-case). Turning `pseudonymise` on also stores the
/// instance's salt the first time (see ingest::pseudonym).
pub fn check(conn: &Connection, key: &str, value: &str) -> Result<String, SettingError> {
    let Some(def) = all().find(|d| d.key == key) else {
        return Err(SettingError::Unknown(key.to_string()));
    };
    let value = value.trim();
    let value = match key {
        "currency" => value.to_ascii_uppercase(),
        _ if def.numeric => value.replace(',', "."),
        _ => value.to_string(),
    };
    let empty_ok = def.optional && value.is_empty();
    if !empty_ok && !(def.valid)(&value) {
        return Err(SettingError::Invalid {
            key: def.key,
            value,
            help: def.help_en,
        });
    }
    match key {
        "time_zone" if !time_zone_known(conn, &value)? => {
            return Err(SettingError::UnknownTimeZone(value));
        }
        "currency" => {
            if let Some(held) = held_currency(conn, &value)? {
                return Err(SettingError::CurrencyInUse { held });
            }
        }
        super::ingest::pseudonym::SETTING => {
            use super::ingest::pseudonym;
            let (clear, hashed) = pseudonym::held(conn)?;
            let on = pseudonym::enabled(conn)?;
            if value == "off" && hashed > 0 {
                return Err(SettingError::PseudonymsStored(hashed));
            }
            if value == "on" && !on && clear > 0 {
                return Err(SettingError::ClearIdentifiersStored(clear));
            }
            if value == "on" {
                // Drawn once, the first time the setting is turned on; never replaced.
                pseudonym::ensure_salt(conn)?;
            }
        }
        _ => {}
    }
    Ok(value)
}

/// Whether DuckDB (its ICU time zone data) knows `zone`.
pub fn time_zone_known(conn: &Connection, zone: &str) -> Result<bool, duckdb::Error> {
    let known: i64 = conn.query_row(
        "SELECT count(*) FROM pg_timezone_names() WHERE name = ?",
        [zone],
        |r| r.get(0),
    )?;
    Ok(known > 0)
}

/// A currency other than `wanted` that loaded amounts are already in, if any. Amounts loaded
/// without a currency are in the instance's currency whatever it is, so they never block.
fn held_currency(conn: &Connection, wanted: &str) -> Result<Option<String>, duckdb::Error> {
    conn.query_row(
        "SELECT min(upper(trim(currency))) FROM events
         WHERE amount IS NOT NULL AND nullif(trim(currency), '') IS NOT NULL
           AND upper(trim(currency)) <> ?",
        [wanted],
        |r| r.get(0),
    )
}

/// The instance's currency as stored (EUR until an admin sets another).
pub fn currency(conn: &Connection) -> Result<Currency, duckdb::Error> {
    Ok(stored(conn, "currency")?
        .and_then(|code| Currency::parse(&code))
        .unwrap_or_default())
}

/// Makes the stored time zone and currency the ones every new connection and every formatted
/// amount use. Called when the database opens and after an admin saves either setting.
pub fn apply(db: &Db) -> Result<(), DbError> {
    let conn = db.connect()?;
    if let Some(zone) = stored(&conn, "time_zone")? {
        if zone != db.time_zone() {
            tracing::info!(time_zone = %zone, "using the time zone set on the settings page");
        }
        db.set_time_zone(&zone)?;
    }
    // Rollups are keyed by local day: a new zone needs them rebuilt (docs/rollups.md).
    super::rollup::follow_time_zone(db)?;
    format::set_currency(currency(&conn)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_default_is_valid() {
        for def in all() {
            assert!(
                (def.optional && def.default.is_empty()) || (def.valid)(def.default),
                "{}",
                def.key
            );
        }
        let margin = SETTINGS.iter().find(|d| d.key == "clv_margin");
        assert!(margin.is_some_and(|d| !(d.valid)("1.5") && !(d.valid)("x")));
    }

    #[test]
    fn values_are_normalised_and_checked_against_the_database() -> Result<(), SettingError> {
        let db =
            Db::open_in_memory("Europe/Rome").map_err(|e| SettingError::Unknown(e.to_string()))?;
        let conn = db
            .connect()
            .map_err(|e| SettingError::Unknown(e.to_string()))?;
        assert_eq!(check(&conn, "clv_margin", " 0,4 ")?, "0.4");
        assert_eq!(check(&conn, "currency", "chf")?, "CHF");
        assert_eq!(
            check(&conn, "time_zone", "America/New_York")?,
            "America/New_York"
        );
        assert!(matches!(
            check(&conn, "time_zone", "Mars/Olympus"),
            Err(SettingError::UnknownTimeZone(_))
        ));
        assert!(matches!(
            check(&conn, "currency", "XYZ"),
            Err(SettingError::Invalid { .. })
        ));
        assert!(matches!(
            check(&conn, "nope", "1"),
            Err(SettingError::Unknown(_))
        ));
        Ok(())
    }
}
