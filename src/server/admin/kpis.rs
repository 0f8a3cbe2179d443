//! KPI ownership (which department a KPI belongs to) and the derived KPIs admins add: ratios
//! of two existing KPIs.

use std::collections::BTreeMap;

use duckdb::Connection;

use crate::admin::{DerivedKpiRow, KpiOwnerRow, KpisPage};
use crate::error::AppError;
use crate::i18n::Locale;
use crate::server::forms::{Fields, field};
use crate::server::kpi::{self, DerivedSpec};

use super::{AdminError, AdminForm, departments, invalid, run};

/// Each KPI's owner department (see [`kpi::owners`]).
pub fn kpi_owners(conn: &Connection) -> Result<BTreeMap<String, String>, duckdb::Error> {
    kpi::owners(conn)
}

pub async fn kpis_page(lang: Option<String>) -> Result<KpisPage, AppError> {
    let locale = Locale::parse(lang.as_deref());
    run(move |conn| {
        let owners = kpi_owners(conn)?;
        let catalog = kpi::catalog(conn)?;
        let parts = catalog
            .all()
            .iter()
            .map(|k| (k.key.clone(), k.name.get(locale).to_string()))
            .collect();
        let derived = kpi::derived::list(conn)?
            .into_iter()
            .map(|d| DerivedKpiRow {
                key: d.spec.key,
                name_en: d.spec.name_en,
                name_it: d.spec.name_it,
                description_en: d.spec.description_en,
                description_it: d.spec.description_it,
                numerator: d.spec.numerator,
                denominator: d.spec.denominator,
                unit: d.spec.unit,
                direction: d.spec.direction,
                owner: d.spec.owner,
                created_by: d.created_by,
                created_at: d.created_at,
            })
            .collect();
        let kpis = catalog
            .all()
            .iter()
            .filter(|k| !k.internal)
            .map(|k| {
                let owner = owners
                    .get(&k.key)
                    .cloned()
                    .unwrap_or_else(|| k.owner.clone());
                KpiOwnerRow {
                    key: k.key.clone(),
                    name: k.name.get(locale).to_string(),
                    default_owner: (owner != k.owner).then(|| k.owner.clone()),
                    owner,
                }
            })
            .collect();
        Ok(KpisPage {
            kpis,
            departments: departments(conn)?,
            derived,
            parts,
        })
    })
    .await
}

/// `/admin/kpis/owner`.
pub struct OwnerForm {
    pub kpi: String,
    pub owner: String,
}

impl AdminForm for OwnerForm {
    fn parse(f: &Fields) -> Result<Self, AdminError> {
        Ok(Self {
            kpi: field(f, "kpi").to_string(),
            owner: field(f, "owner").to_string(),
        })
    }
}

/// `/admin/kpis/derived/save`: a derived KPI (`key`, `name_en`, `name_it`, `description_en`,
/// `description_it`, `numerator`, `denominator`, `unit`, `direction`, `owner`), new or
/// replacing one (`mode=update`). Unit and direction are parsed here; the rest is checked
/// against the catalog by [`kpi::derived::save`].
pub struct DerivedForm {
    pub spec: DerivedSpec,
    pub replace: bool,
}

impl AdminForm for DerivedForm {
    fn parse(f: &Fields) -> Result<Self, AdminError> {
        let unit = field(f, "unit");
        let unit =
            serde_json::from_value(serde_json::Value::String(unit.to_string())).map_err(|_| {
                invalid(
                    format!("unknown unit {unit:?}"),
                    format!("unità sconosciuta {unit:?}"),
                )
            })?;
        let direction = field(f, "direction");
        let direction = serde_json::from_value(serde_json::Value::String(direction.to_string()))
            .map_err(|_| {
                invalid(
                    format!("unknown direction {direction:?}"),
                    format!("direzione sconosciuta {direction:?}"),
                )
            })?;
        Ok(Self {
            spec: DerivedSpec {
                key: field(f, "key").to_string(),
                name_en: field(f, "name_en").to_string(),
                name_it: field(f, "name_it").to_string(),
                description_en: field(f, "description_en").to_string(),
                description_it: field(f, "description_it").to_string(),
                numerator: field(f, "numerator").to_string(),
                denominator: field(f, "denominator").to_string(),
                unit,
                direction,
                owner: field(f, "owner").to_string(),
            },
            replace: field(f, "mode") == "update",
        })
    }
}

/// `/admin/kpis/derived/delete`.
pub struct DeleteDerivedForm {
    pub key: String,
}

impl AdminForm for DeleteDerivedForm {
    fn parse(f: &Fields) -> Result<Self, AdminError> {
        Ok(Self {
            key: field(f, "key").to_string(),
        })
    }
}

handler!(
    set_kpi_owner,
    OwnerForm,
    "/admin/kpis",
    |conn: &Connection, actor: &str, f: OwnerForm| {
        kpi::derived::set_owner(conn, actor, &f.kpi, &f.owner)?;
        Ok("saved")
    }
);

handler!(
    save_derived_kpi,
    DerivedForm,
    "/admin/kpis",
    |conn: &Connection, actor: &str, f: DerivedForm| {
        kpi::derived::save(conn, actor, &f.spec, f.replace)?;
        Ok(if f.replace { "saved" } else { "created" })
    }
);

handler!(
    delete_derived_kpi,
    DeleteDerivedForm,
    "/admin/kpis",
    |conn: &Connection, actor: &str, f: DeleteDerivedForm| {
        kpi::derived::delete(conn, actor, &f.key)?;
        Ok("deleted")
    }
);
