//! UI language: the [`Locale`] a page is rendered in and the text of every label.
//!
//! Each language's text lives in its own file ([`en`], [`it`]) as a match over [`Msg`], so a
//! message missing in one language is a compile error, not a blank label.

use serde::{Deserialize, Serialize};

mod en;
mod it;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    #[default]
    En,
    It,
}

impl Locale {
    /// Reads the `lang` query value; anything unknown falls back to English.
    pub fn parse(code: Option<&str>) -> Self {
        match code.map(|c| c.trim().to_ascii_lowercase()) {
            Some(c) if c == "it" || c.starts_with("it-") => Self::It,
            _ => Self::En,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::It => "it",
        }
    }

    pub fn text(self, msg: Msg) -> &'static str {
        match self {
            Self::En => en::text(msg),
            Self::It => it::text(msg),
        }
    }
}

/// The name of a role.
pub fn role_name(role: crate::auth::Role) -> Msg {
    use crate::auth::Role;
    match role {
        Role::Admin => Msg::RoleAdmin,
        Role::Executive => Msg::RoleExecutive,
        Role::Lead => Msg::RoleLead,
        Role::CxOfficer => Msg::RoleCxOfficer,
        Role::Viewer => Msg::RoleViewer,
    }
}

/// The name of a funnel step (its key when unknown).
pub fn step_name(key: &str, locale: Locale) -> String {
    let msg = match key {
        "ad_click" => Msg::StepAdClick,
        "visit" => Msg::StepVisit,
        "product_view" => Msg::StepProductView,
        "cart_or_reservation" => Msg::StepCartOrReservation,
        "purchase" => Msg::StepPurchase,
        "store_visit" => Msg::StepStoreVisit,
        "store_purchase" => Msg::StepStorePurchase,
        other => return other.to_string(),
    };
    locale.text(msg).to_string()
}

/// Every piece of UI text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Msg {
    AppTitle,
    SkipToContent,
    NavCompany,
    CompanyTitle,
    PeriodFrom,
    PeriodTo,
    Apply,
    Language,
    Loading,
    NotAvailable,
    VsPreviousPeriod,
    RevenuePerDay,
    ChartDataTable,
    Day,
    Revenue,
    ErrorTitle,
    NoData,
    PageNotFound,
    BackHome,
    DeniedTitle,
    SetupTitle,
    SignIn,
    SignInTitle,
    Email,
    Password,
    SignOut,
    LoginInvalid,
    LoginThrottled,
    LoginExpired,
    Account,
    ChangePassword,
    CurrentPassword,
    NewPassword,
    ConfirmPassword,
    Save,
    PasswordChanged,
    PasswordMismatch,
    PasswordTooShort,
    PasswordTooLong,
    PasswordWrongCurrent,
    MustChangePassword,
    LanguageSaved,
    SignedInAs,
    RoleAdmin,
    RoleExecutive,
    RoleLead,
    RoleCxOfficer,
    RoleViewer,
    NavAdmin,
    AdminUsers,
    AdminTokens,
    AdminDepartments,
    AdminKpis,
    AdminSettings,
    AdminAudit,
    DisplayName,
    RoleLabel,
    DepartmentLabel,
    NoDepartment,
    LastLogin,
    StatusLabel,
    Active,
    Disabled,
    Disable,
    Enable,
    InviteUser,
    OneTimePassword,
    ResetPassword,
    Update,
    NameLabel,
    Create,
    Revoke,
    Revoked,
    LastUsed,
    CreatedAt,
    TokenShownOnce,
    OwnerLabel,
    ViewerGrants,
    Add,
    KeyLabel,
    ValueLabel,
    Actor,
    ActionLabel,
    Subject,
    Before,
    After,
    When,
    DownloadCsv,
    Saved,
    Never,
    NameEnglish,
    NameItalian,
    Kpi,
    NextPage,
    JourneysView,
    AdminSources,
    SourceKind,
    Mapping,
    SaveMapping,
    MappingToml,
    NavLabel,
    DeptMarketing,
    DeptSales,
    DeptStores,
    DeptOnline,
    DeptCustomerService,
    DeptLogistics,
    DimChannel,
    DimStore,
    DimRegion,
    DimSegment,
    DimCampaign,
    DimCategory,
    DimSku,
    DimTouchpoint,
    DimTopic,
    CompareWith,
    ComparePrevious,
    CompareLastYear,
    VsLastYear,
    Preset,
    PresetCustom,
    PresetThisMonth,
    PresetLastMonth,
    PresetQuarterToDate,
    PresetYearToDate,
    PresetLast12Months,
    GrainLabel,
    GrainDay,
    GrainWeek,
    GrainMonth,
    GrainQuarter,
    Filters,
    FilterAll,
    Definition,
    OwnedBy,
    OverTime,
    ThisPeriod,
    Target,
    Targets,
    BreakdownBy,
    Other,
    Benchmarks,
    NoBenchmarks,
    Source,
    Year,
    Note,
    Value,
    PeriodColumn,
    TargetPeriod,
    ToDate,
    Projection,
    StatusOnTrack,
    StatusAtRisk,
    StatusOffTrack,
    StatusNone,
    NoTarget,
    NoTargets,
    Department,
    KpiNotFound,
    DeptNotFound,
    DownloadSvg,
    DownloadPng,
    OwnedKpis,
    SetTargets,
    SetTargetsHelp,
    TargetPeriodLabel,
    TargetValueLabel,
    SaveTarget,
    CurrentTargetLabel,
    Breakdowns,
    NoParts,
    Change,
    Comparison,
    FirstDay,
    LastDay,
    KpiTable,
    NavJourneys,
    JourneysTitle,
    JourneysCount,
    Converted,
    Abandoned,
    StillOpen,
    Conversion,
    AverageOrderValue,
    CrossChannelFunnel,
    StoreFunnel,
    Step,
    FromPreviousStep,
    FromFirstStep,
    MedianHours,
    FunnelByEntry,
    EntryChannel,
    AllChannels,
    TopPaths,
    PathLabel,
    HandoffMatrix,
    FromChannel,
    ToChannel,
    ComplaintsAfter,
    SurveysAfter,
    AverageScore,
    TopPainPoints,
    PainPointLabel,
    AffectedJourneys,
    ConversionGap,
    RevenueLost,
    LostFormula,
    AcknowledgedBadge,
    LowVolume,
    NoPainPoints,
    JudgedJourneys,
    ReferenceJourneys,
    ConversionAffected,
    ConversionReference,
    ZScore,
    TrendTitle,
    Month,
    BreakdownTitle,
    DimensionLabel,
    AffectedShare,
    ExampleJourneys,
    JourneyLabel,
    CustomerLabel,
    AcknowledgeTitle,
    AcknowledgeBox,
    NoteLabel,
    AcknowledgedBy,
    BackToJourneys,
    JourneyTitle,
    StatusConverted,
    StatusAbandoned,
    StatusOpen,
    Started,
    Ended,
    TimeLabel,
    ChannelLabel,
    TouchpointLabel,
    EventLabel,
    AmountLabel,
    PainHit,
    OpenCustomer,
    CustomerTitle,
    FindCustomer,
    IdentifierLabel,
    Search,
    Identifiers,
    IdType,
    Merges,
    MergedAt,
    FirstSeen,
    LastSeen,
    ChannelsLabel,
    SegmentLabel,
    LifetimeRevenue,
    OrdersLabel,
    ReturnsLabel,
    LastNps,
    TimelineTitle,
    MaskedNote,
    EraseTitle,
    EraseHelp,
    EraseConfirm,
    Erase,
    Erased,
    StepAdClick,
    StepVisit,
    StepProductView,
    StepCartOrReservation,
    StepPurchase,
    StepStoreVisit,
    StepStorePurchase,
    MedianHoursBetween,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_italian_variants_and_defaults_to_english() {
        assert_eq!(Locale::parse(Some("it")), Locale::It);
        assert_eq!(Locale::parse(Some("it-IT")), Locale::It);
        assert_eq!(Locale::parse(Some("EN")), Locale::En);
        assert_eq!(Locale::parse(Some("fr")), Locale::En);
        assert_eq!(Locale::parse(None), Locale::En);
    }

    #[test]
    fn languages_differ_where_they_should() {
        assert_ne!(
            Locale::En.text(Msg::CompanyTitle),
            Locale::It.text(Msg::CompanyTitle)
        );
    }
}
