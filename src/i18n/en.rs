//! English UI text.

use super::Msg;

pub fn text(msg: Msg) -> &'static str {
    match msg {
        Msg::AppTitle => "omnikpi",
        Msg::SkipToContent => "Skip to content",
        Msg::NavCompany => "Company",
        Msg::CompanyTitle => "Company overview",
        Msg::PeriodFrom => "From",
        Msg::PeriodTo => "To",
        Msg::Apply => "Apply",
        Msg::Language => "Language",
        Msg::Loading => "Loading…",
        Msg::NotAvailable => "n/a",
        Msg::VsPreviousPeriod => "vs previous period",
        Msg::RevenuePerDay => "Gross revenue per day",
        Msg::ChartDataTable => "Show the data as a table",
        Msg::Day => "Day",
        Msg::Revenue => "Revenue",
        Msg::ErrorTitle => "This view could not be shown",
        Msg::NoData => "No events in this period.",
        Msg::PageNotFound => "Page not found",
        Msg::BackHome => "Back to the company overview",
    }
}
