//! `rota simulate`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use rota_sim::Scenario;

#[derive(Args)]
pub struct SimArgs {
    /// Scenario file (TOML); relative paths in it are relative to the file.
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// Directory for report.md, report.json and the SVG charts.
    #[arg(long, default_value = "sim-report")]
    out: PathBuf,
    /// Add an operator's weight profile as a strategy (repeatable).
    #[arg(long = "profile-file")]
    profiles: Vec<PathBuf>,
    /// Override the scenario's seed.
    #[arg(long)]
    seed: Option<u64>,
}

pub fn simulate(a: SimArgs) -> anyhow::Result<ExitCode> {
    let mut s = match &a.scenario {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            let mut s: Scenario = toml::from_str(&text)
                .map_err(|e| anyhow::anyhow!("{}: {}", p.display(), e.to_string().trim()))?;
            if let Some(imls) = &s.imls
                && imls.is_relative()
            {
                s.imls = Some(p.parent().unwrap_or(std::path::Path::new(".")).join(imls));
            }
            s
        }
        None => Scenario::default(),
    };
    if let Some(seed) = a.seed {
        s.seed = seed;
    }
    for p in &a.profiles {
        s.strategies.push(format!("profile:{}", p.display()));
    }
    eprintln!(
        "simulating {} strategies over {} days …",
        s.strategies.len(),
        s.days
    );
    let r = rota_sim::simulate(&s)?;
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    std::fs::write(a.out.join("report.md"), r.markdown())?;
    std::fs::write(a.out.join("report.json"), serde_json::to_string_pretty(&r)?)?;
    std::fs::write(a.out.join("time_to_fill.svg"), r.svg_time_to_fill())?;
    std::fs::write(a.out.join("load_per_lender.svg"), r.svg_load())?;
    print!("{}", r.markdown());
    eprintln!("report written to {}", a.out.display());
    Ok(ExitCode::SUCCESS)
}
