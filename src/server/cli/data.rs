//! Getting data in: `load`, `source add|list|show`.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::server::db::Db;
use crate::server::ingest;

use super::load_progress;

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The source the files come from (e.g. pos, webshop).
    #[arg(long)]
    source: String,
    /// Load even files whose content was already loaded for this source.
    #[arg(long)]
    force: bool,
    /// Accept up to N bad values per file: their rows are left out and kept for review.
    #[arg(long, default_value_t = 0, value_name = "N")]
    max_rejects: u64,
    /// Files in canonical CSV form.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum SourceCommand {
    /// Add (or replace) a source with the mapping its files are read with.
    Add {
        #[arg(long)]
        name: String,
        /// A TOML mapping (see examples/).
        #[arg(long)]
        mapping: PathBuf,
    },
    /// List the registered sources.
    List,
    /// Print a source's mapping.
    Show { name: String },
}

pub fn load(db: &Db, args: LoadArgs) -> anyhow::Result<()> {
    let LoadArgs {
        source,
        force,
        max_rejects,
        files,
    } = args;
    for file in &files {
        if !file.is_file() {
            anyhow::bail!("{}: no such file", file.display());
        }
    }
    let mapping = ingest::sources::mapping(&db.connect()?, &source)?;
    let message = format!("loading {} file(s) for {source}", files.len());
    let (bar, progress) = load_progress(&message);
    let options = ingest::LoadOptions {
        force,
        mapping,
        max_rejects,
        progress,
    };
    let started = std::time::Instant::now();
    let report = ingest::load_files(db, &source, &files, &options);
    bar.finish_and_clear();
    let report = report?;
    println!(
        "{message}: done in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    print_load(&report);
    Ok(())
}

pub fn source(db: &Db, command: SourceCommand) -> anyhow::Result<()> {
    match command {
        SourceCommand::Add { name, mapping } => {
            let text = std::fs::read_to_string(&mapping)
                .with_context(|| format!("cannot read {}", mapping.display()))?;
            let parsed =
                ingest::sources::add(&db.connect()?, &name, &text, &mapping.display().to_string())?;
            println!(
                "source {name} ({}) reads {} fields from its files",
                parsed.kind,
                parsed.fields.len()
            );
        }
        SourceCommand::List => {
            for s in ingest::sources::list(&db.connect()?)? {
                println!("{:<20} {:<14} {}", s.name, s.kind, s.mapping_file);
            }
        }
        SourceCommand::Show { name } => {
            let sources = ingest::sources::list(&db.connect()?)?;
            let source = sources
                .iter()
                .find(|s| s.name == name)
                .with_context(|| format!("no source named {name:?}; `omnikpi source list`"))?;
            println!(
                "# {} ({}), from {}\n{}",
                source.name, source.kind, source.mapping_file, source.mapping
            );
        }
    }
    Ok(())
}

/// One line per file, then the customer count after stitching.
pub fn print_load(report: &ingest::LoadReport) {
    for f in &report.files {
        if f.skipped {
            println!(
                "{}: already loaded with the same content; skipped (use --force to load again)",
                f.file.display()
            );
        } else {
            println!(
                "{}: {} rows read, {} loaded, {} already present, {} rejected",
                f.file.display(),
                f.rows_read,
                f.rows_loaded,
                f.rows_duplicate,
                f.rows_rejected
            );
        }
    }
    println!("{} customers after identity stitching", report.customers);
}
