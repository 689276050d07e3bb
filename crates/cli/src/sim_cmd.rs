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
    /// Replay instead of simulate: the service's data directory (its durable log is
    /// read, never changed); each logged request is re-routed under the candidate profile
    /// (`--profile-file`) and compared with what really happened.
    #[arg(long, value_name = "DATA_DIR", requires_all = ["snapshot", "directory"])]
    replay: Option<PathBuf>,
    /// Replay: the catalogue snapshot the service used.
    #[arg(long)]
    snapshot: Option<PathBuf>,
    /// Replay: the lender directory the service used.
    #[arg(long)]
    directory: Option<PathBuf>,
    /// Replay: the profile to compare against (default: `default`, or the log's latest
    /// version of it).
    #[arg(long, default_value = "default")]
    baseline: String,
}

fn replay(a: &SimArgs, data_dir: &std::path::Path) -> anyhow::Result<ExitCode> {
    use rota_server::log::LogRecord;
    let snapshot = a
        .snapshot
        .as_ref()
        .context("--snapshot is required with --replay")?;
    let directory = a
        .directory
        .as_ref()
        .context("--directory is required with --replay")?;
    let [candidate_file] = a.profiles.as_slice() else {
        anyhow::bail!("--replay needs exactly one --profile-file: the candidate profile");
    };
    let text = std::fs::read_to_string(candidate_file)
        .with_context(|| format!("reading {}", candidate_file.display()))?;
    let json = candidate_file.extension().is_some_and(|e| e == "json");
    let candidate = rota_routing::Profile::parse(&text, json)
        .map_err(|e| anyhow::anyhow!("{}: {e}", candidate_file.display()))?;
    let cat = std::sync::Arc::new(
        rota_catalog::Catalog::open(snapshot)
            .with_context(|| format!("opening {}", snapshot.display()))?,
    );
    let dir = std::sync::Arc::new(rota_routing::Directory::load(directory)?);
    let log_dir = data_dir.join("log");
    let (records, _) = rota_server::log::read_only(&log_dir)
        .with_context(|| format!("reading the durable log in {}", log_dir.display()))?;
    // the operator's profiles as the log last stored them, then the candidate
    let mut profiles: std::collections::BTreeMap<String, rota_routing::Profile> =
        Default::default();
    let mut events = Vec::new();
    for (_, r) in records {
        match r {
            LogRecord::Event(e) => events.push(e),
            LogRecord::Profile { profile, .. } => {
                profiles.insert(profile.name.clone(), profile);
            }
            _ => {}
        }
    }
    anyhow::ensure!(
        !events.is_empty(),
        "the log in {} holds no events to replay",
        log_dir.display()
    );
    let name = candidate.name.clone();
    anyhow::ensure!(
        name != a.baseline,
        "the candidate profile is named {name:?}, like the baseline: rename it"
    );
    profiles.insert(name.clone(), candidate);
    let engine = rota_routing::Engine::new(cat, dir, profiles.into_values().collect())?;
    anyhow::ensure!(
        engine.profile(&a.baseline).is_some(),
        "baseline profile {:?} is neither built in nor in the log",
        a.baseline
    );
    eprintln!("replaying {} events …", events.len());
    let opts = rota_sim::replay::ReplayOptions {
        candidate: name,
        baseline: a.baseline.clone(),
        ..Default::default()
    };
    let r = rota_sim::replay::replay(&engine, &events, &opts);
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    std::fs::write(a.out.join("replay.md"), r.markdown())?;
    std::fs::write(a.out.join("replay.json"), serde_json::to_string_pretty(&r)?)?;
    print!("{}", r.markdown());
    eprintln!("replay written to {}", a.out.display());
    Ok(ExitCode::SUCCESS)
}

pub fn simulate(a: SimArgs) -> anyhow::Result<ExitCode> {
    if let Some(d) = &a.replay {
        return replay(&a, d);
    }
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
