//! KPI definitions an admin changes at run time: derived KPIs (`kpi-def list|add|edit|delete`,
//! ratios of two KPIs) and ownership (`kpi-def owner`). Each change is validated like the
//! admin page's and recorded in the audit log in the same transaction.

use clap::{Args, Subcommand};

use crate::kpi::{Direction, Unit};
use crate::server::db::Db;
use crate::server::kpi::{self, DerivedSpec, derived};

#[derive(Debug, Subcommand)]
pub enum KpiDefCommand {
    /// List the derived KPIs.
    List,
    /// Add a derived KPI: --key K --numerator A --denominator B --unit ratio --name-en ...
    Add(DefArgs),
    /// Change a derived KPI (every field is given again).
    Edit(DefArgs),
    /// Delete a derived KPI (refused while targets, alert rules or another derived KPI use it).
    Delete {
        #[arg(long)]
        key: String,
        /// Who deletes it (recorded in the audit log).
        #[arg(long, default_value = "cli")]
        by: String,
    },
    /// Make a department the owner of a KPI (the default owner again removes the override).
    Owner {
        #[arg(long)]
        kpi: String,
        #[arg(long)]
        department: String,
        #[arg(long, default_value = "cli")]
        by: String,
    },
}

#[derive(Debug, Args)]
pub struct DefArgs {
    #[arg(long)]
    key: String,
    #[arg(long)]
    name_en: String,
    #[arg(long)]
    name_it: String,
    #[arg(long, default_value = "")]
    description_en: String,
    #[arg(long, default_value = "")]
    description_it: String,
    #[arg(long)]
    numerator: String,
    #[arg(long)]
    denominator: String,
    /// ratio, multiple, money, count or score.
    #[arg(long, value_parser = ["ratio", "multiple", "money", "count", "score"])]
    unit: String,
    #[arg(long, default_value = "higher_is_better", value_parser = ["higher_is_better", "lower_is_better"])]
    direction: String,
    /// The owner department.
    #[arg(long)]
    owner: String,
    /// Who makes the change (recorded in the audit log).
    #[arg(long, default_value = "cli")]
    by: String,
}

impl DefArgs {
    fn spec(&self) -> anyhow::Result<DerivedSpec> {
        let unit: Unit = serde_json::from_value(serde_json::Value::String(self.unit.clone()))?;
        let direction: Direction =
            serde_json::from_value(serde_json::Value::String(self.direction.clone()))?;
        Ok(DerivedSpec {
            key: self.key.clone(),
            name_en: self.name_en.clone(),
            name_it: self.name_it.clone(),
            description_en: self.description_en.clone(),
            description_it: self.description_it.clone(),
            numerator: self.numerator.clone(),
            denominator: self.denominator.clone(),
            unit,
            direction,
            owner: self.owner.clone(),
        })
    }
}

pub fn run(db: &Db, command: KpiDefCommand) -> anyhow::Result<()> {
    let conn = db.connect()?;
    let in_transaction = |work: &dyn Fn(
        &duckdb::Connection,
    ) -> Result<(), derived::DerivedKpiError>|
     -> anyhow::Result<()> {
        let tx = conn.unchecked_transaction()?;
        work(&tx)?;
        tx.commit()?;
        Ok(())
    };
    match command {
        KpiDefCommand::List => {
            for d in derived::list(&conn)? {
                let s = &d.spec;
                println!(
                    "{:<32} {} / {}  {:<9} {:<17} {} (by {} at {})",
                    s.key,
                    s.numerator,
                    s.denominator,
                    serde_json::to_value(s.unit)?.as_str().unwrap_or(""),
                    s.owner,
                    s.name_en,
                    d.created_by,
                    d.created_at
                );
            }
        }
        KpiDefCommand::Add(args) => {
            let spec = args.spec()?;
            in_transaction(&|tx| derived::save(tx, &args.by, &spec, false))?;
            println!(
                "derived KPI added: {} = {} / {}",
                spec.key, spec.numerator, spec.denominator
            );
        }
        KpiDefCommand::Edit(args) => {
            let spec = args.spec()?;
            in_transaction(&|tx| derived::save(tx, &args.by, &spec, true))?;
            println!(
                "derived KPI changed: {} = {} / {}",
                spec.key, spec.numerator, spec.denominator
            );
        }
        KpiDefCommand::Delete { key, by } => {
            in_transaction(&|tx| derived::delete(tx, &by, &key))?;
            println!("derived KPI deleted: {key}");
        }
        KpiDefCommand::Owner {
            kpi: key,
            department,
            by,
        } => {
            in_transaction(&|tx| derived::set_owner(tx, &by, &key, &department))?;
            let owner = kpi::owners(&conn)?.get(&key).cloned().unwrap_or_default();
            println!("{key} is owned by {owner}");
        }
    }
    Ok(())
}
