//! `rota catalog generate`

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use rota_catalog::{generate, snapshot};

use super::bar;

#[derive(Args)]
pub struct GenerateArgs {
    /// Where to write the snapshot.
    #[arg(long)]
    out: PathBuf,
    /// Number of libraries.
    #[arg(long, default_value_t = 300)]
    libraries: usize,
    /// Number of records.
    #[arg(long, default_value_t = 1_000_000)]
    records: usize,
    /// Mean holders per record.
    #[arg(long, default_value_t = 5.9)]
    mean_holders: f64,
    /// Seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

pub fn generate(a: GenerateArgs) -> anyhow::Result<ExitCode> {
    if a.libraries == 0 || a.libraries > 65_536 {
        bail!("--libraries must be between 1 and 65536");
    }
    if !(a.mean_holders >= 1.0 && a.mean_holders.is_finite()) {
        bail!("--mean-holders must be a number of at least 1");
    }
    let t = Instant::now();
    let pb = bar(a.records as u64, "records");
    let p = generate::GenParams {
        libraries: a.libraries,
        records: a.records,
        mean_holders: a.mean_holders,
        seed: a.seed,
    };
    let bytes = generate::generate(&p, &|n| pb.set_position(n as u64))?;
    pb.finish_and_clear();
    snapshot::write_atomic(&a.out, &bytes)
        .with_context(|| format!("writing {}", a.out.display()))?;
    println!(
        "generated {} ({} records, {} libraries, {} bytes) in {:.1}s",
        a.out.display(),
        a.records,
        a.libraries,
        bytes.len(),
        t.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
