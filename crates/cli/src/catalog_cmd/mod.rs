//! `rota catalog …`: build, inspect and query snapshots.

mod build;
mod generate;
mod lookup;
mod stats;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Subcommand)]
pub enum CatalogCmd {
    /// Build a snapshot from MARC files and holdings.
    Build(Box<build::BuildArgs>),
    /// Print a snapshot's statistics.
    Stats {
        /// Snapshot file.
        snapshot: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Look a citation up.
    Lookup(Box<lookup::LookupArgs>),
    /// Generate a synthetic catalogue snapshot.
    Generate(generate::GenerateArgs),
}

pub fn run(cmd: CatalogCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        CatalogCmd::Build(a) => build::build(*a),
        CatalogCmd::Stats { snapshot, json } => stats::stats(&snapshot, json),
        CatalogCmd::Lookup(a) => lookup::lookup(*a),
        CatalogCmd::Generate(a) => generate::generate(a),
    }
}

pub(crate) fn bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(
            "{msg:>10} [{bar:40}] {percent:>3}% {elapsed_precise} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}
