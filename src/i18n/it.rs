//! Italian UI text.

use super::Msg;

pub fn text(msg: Msg) -> &'static str {
    match msg {
        Msg::AppTitle => "omnikpi",
        Msg::SkipToContent => "Vai al contenuto",
        Msg::NavCompany => "Azienda",
        Msg::CompanyTitle => "Panoramica aziendale",
        Msg::PeriodFrom => "Dal",
        Msg::PeriodTo => "Al",
        Msg::Apply => "Applica",
        Msg::Language => "Lingua",
        Msg::Loading => "Caricamento…",
        Msg::NotAvailable => "n.d.",
        Msg::VsPreviousPeriod => "rispetto al periodo precedente",
        Msg::RevenuePerDay => "Fatturato lordo per giorno",
        Msg::ChartDataTable => "Mostra i dati come tabella",
        Msg::Day => "Giorno",
        Msg::Revenue => "Fatturato",
        Msg::ErrorTitle => "Impossibile mostrare questa vista",
        Msg::NoData => "Nessun evento in questo periodo.",
        Msg::PageNotFound => "Pagina non trovata",
        Msg::BackHome => "Torna alla panoramica aziendale",
    }
}
