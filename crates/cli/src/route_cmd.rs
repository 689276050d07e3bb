//! `rota route` (offline, against a snapshot and a directory) and `rota directory …`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use rota_catalog::{Catalog, Format};

use crate::citation_args::CitationArgs;
use rota_routing::{Answer, Directory, Engine, Event, Profile, Request, ServiceType, Tried};

#[derive(Subcommand)]
pub enum DirectoryCmd {
    /// Generate a lender directory for every library in a snapshot.
    Generate {
        /// Snapshot whose libraries become lenders.
        #[arg(long)]
        snapshot: PathBuf,
        /// Where to write the directory (TOML).
        #[arg(long)]
        out: PathBuf,
        /// Seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Validate a directory file.
    Check {
        /// Directory file (TOML or JSON).
        file: PathBuf,
    },
    /// Ask a lender's catalogue, by its directory entry's `lookup` (SRU, NCIP or
    /// Z39.50), whether a copy of an item is on the shelf, as the broker does before it
    /// commits a request there. Exit 0 with the answer, 1 if the lookup failed.
    Probe {
        /// Directory file (TOML or JSON).
        #[arg(long)]
        directory: PathBuf,
        /// The lender.
        #[arg(long)]
        lender: String,
        /// ISBN.
        #[arg(long)]
        isbn: Option<String>,
        /// ISSN.
        #[arg(long)]
        issn: Option<String>,
        /// OCLC number.
        #[arg(long)]
        oclc: Option<String>,
        /// Time allowed, milliseconds.
        #[arg(long, default_value_t = 3000)]
        timeout_ms: u64,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ServiceArg {
    Loan,
    Copy,
    CopyOrLoan,
}

#[derive(Args)]
pub struct RouteArgs {
    /// A running rota server (http://host:port) instead of --snapshot/--directory.
    #[arg(long, conflicts_with_all = ["snapshot", "directory", "events", "profile_files"])]
    pub server: Option<String>,
    /// Bearer token for --server (or ROTA_TOKEN).
    #[arg(long, env = "ROTA_TOKEN")]
    pub token: Option<String>,
    /// Catalogue snapshot (offline).
    #[arg(long, required_unless_present = "server")]
    pub snapshot: Option<PathBuf>,
    /// Lender directory, TOML or JSON (offline).
    #[arg(long, required_unless_present = "server")]
    pub directory: Option<PathBuf>,
    /// Borrowing library's symbol.
    #[arg(long)]
    pub borrower: String,
    #[command(flatten)]
    pub citation: CitationArgs,
    /// Service (default: copy for an article, i.e. a citation with --volume, --issue,
    /// --pages, --article-title, --doi or --pmid; else loan).
    #[arg(long, value_enum)]
    pub service: Option<ServiceArg>,
    /// Format (book, serial, audio_visual, microform, rare, map, score, electronic).
    #[arg(long)]
    pub format: Option<String>,
    /// Maximum cost.
    #[arg(long)]
    pub max_cost: Option<f64>,
    /// Currency of --max-cost.
    #[arg(long)]
    pub currency: Option<String>,
    /// Rush request.
    #[arg(long)]
    pub rush: bool,
    /// A lender already tried and its answer: SYMBOL=REASON (not_held, non_circulating,
    /// not_available_for_ill, not_on_shelf, policy_problem, poor_condition, on_loan,
    /// cost_exceeds_max_cost, no_answer). Repeatable.
    #[arg(long = "tried", value_name = "SYMBOL=REASON")]
    pub tried: Vec<String>,
    /// Lenders to return.
    #[arg(long, default_value_t = 5)]
    pub max_lenders: u32,
    /// Weight profile name (default, pure_fastest_fill, weighted, or one from --profile-file).
    #[arg(long)]
    pub profile: Option<String>,
    /// Extra weight profile files (TOML).
    #[arg(long = "profile-file")]
    pub profile_files: Vec<PathBuf>,
    /// Lifecycle events to learn from first (JSON lines of rota events).
    #[arg(long)]
    pub events: Option<PathBuf>,
    /// Request id (ties rotate by it).
    #[arg(long, default_value = "")]
    pub request_id: String,
    /// Confidence a title/author match needs to be routed (0..1; default 0.6).
    #[arg(long)]
    pub min_confidence: Option<f32>,
    /// Route only what an identifier matched.
    #[arg(long)]
    pub require_identifier: bool,
    /// Route even when the borrower's own institution holds a lendable copy.
    #[arg(long)]
    pub route_anyway: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Parses `not_held` etc. into an ISO 18626 answer.
pub fn parse_answer(s: &str) -> anyhow::Result<Answer> {
    rota_server::reroute::parse_answer(s).map_err(anyhow::Error::msg)
}

pub fn service_type(s: ServiceArg) -> ServiceType {
    match s {
        ServiceArg::Loan => ServiceType::Loan,
        ServiceArg::Copy => ServiceType::Copy,
        ServiceArg::CopyOrLoan => ServiceType::CopyOrLoan,
    }
}

pub fn directory_cmd(cmd: DirectoryCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        DirectoryCmd::Generate {
            snapshot,
            out,
            seed,
        } => {
            let cat = Catalog::open(&snapshot)?;
            let today = chrono::Utc::now().date_naive();
            let dir = rota_routing::synth::directory_for(&cat, seed, today)?;
            rota_catalog::snapshot::write_atomic(&out, dir.to_toml()?.as_bytes())
                .with_context(|| format!("writing {}", out.display()))?;
            println!("wrote {} lenders to {}", dir.len(), out.display());
        }
        DirectoryCmd::Check { file } => {
            let dir = Directory::load(&file)?;
            println!("{}: {} lenders, valid", file.display(), dir.len());
        }
        DirectoryCmd::Probe {
            directory,
            lender,
            isbn,
            issn,
            oclc,
            timeout_ms,
        } => return probe(&directory, &lender, isbn, issn, oclc, timeout_ms),
    }
    Ok(ExitCode::SUCCESS)
}

fn probe(
    directory: &std::path::Path,
    lender: &str,
    isbn: Option<String>,
    issn: Option<String>,
    oclc: Option<String>,
    timeout_ms: u64,
) -> anyhow::Result<ExitCode> {
    use rota_server::availability::{Checker, Item, Outcome};
    let dir = Directory::load(directory)?;
    let i = dir
        .index(lender)
        .with_context(|| format!("--lender {lender:?} is not in {}", directory.display()))?;
    let lookup = dir
        .get(i)
        .lookup
        .clone()
        .with_context(|| format!("{lender} has no lookup in {}", directory.display()))?;
    let item = Item { isbn, issn, oclc };
    anyhow::ensure!(item != Item::default(), "give --isbn, --issn or --oclc");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let started = std::time::Instant::now();
    let checker = Checker::new(
        std::time::Duration::from_millis(timeout_ms),
        std::time::Duration::ZERO,
    );
    let (answer, outcome) = rt
        .block_on(checker.check(&[(lender.to_string(), lookup)], &item))
        .pop()
        .context("no answer")?;
    let ms = started.elapsed().as_millis();
    let shelf = match answer.shelf {
        rota_routing::Shelf::OnShelf => "on the shelf".to_string(),
        rota_routing::Shelf::OnLoan { until: Some(t) } => format!(
            "on loan until {}",
            chrono::DateTime::from_timestamp(t, 0)
                .map(|d| d.date_naive().to_string())
                .unwrap_or_default()
        ),
        rota_routing::Shelf::OnLoan { until: None } => "on loan".to_string(),
        rota_routing::Shelf::Unknown => "unknown".to_string(),
    };
    match outcome {
        Outcome::Answered => {
            println!("{lender}: {shelf} ({ms} ms)");
            Ok(ExitCode::SUCCESS)
        }
        Outcome::TimedOut => {
            println!("{lender}: no answer within {timeout_ms} ms");
            Ok(ExitCode::from(1))
        }
        Outcome::NoQuery => {
            println!("{lender}: its lookup profile cannot ask about this item");
            Ok(ExitCode::from(1))
        }
        Outcome::Failed(why) => {
            println!("{lender}: the lookup failed: {why}");
            Ok(ExitCode::from(1))
        }
        Outcome::Cached | Outcome::Skipped => {
            println!("{lender}: {shelf}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Builds a request from the shared flags.
#[allow(clippy::too_many_arguments)]
pub fn build_request(a: &RouteArgs) -> anyhow::Result<Request> {
    let mut tried = Vec::new();
    for t in &a.tried {
        let (sym, reason) = t.split_once('=').unwrap_or((t.as_str(), "no_answer"));
        tried.push(Tried {
            lender: sym.to_string(),
            answer: parse_answer(reason)?,
            at: None,
        });
    }
    let format = match &a.format {
        None => None,
        Some(f) => {
            Some(Format::parse(f).with_context(|| format!("--format: unknown format {f:?}"))?)
        }
    };
    Ok(Request {
        request_id: a.request_id.clone(),
        borrower: a.borrower.clone(),
        citation: a.citation.citation(),
        service: a.service.map(service_type),
        format,
        max_cost: a.max_cost,
        currency: a.currency.clone(),
        need_before: None,
        rush: a.rush,
        tried,
        max_lenders: a.max_lenders,
        profile: a.profile.clone(),
        min_confidence: a.min_confidence,
        require_identifier: a.require_identifier,
        route_anyway: a.route_anyway,
        availability: Vec::new(),
        now: chrono::Utc::now().timestamp(),
    })
}

pub fn route(a: RouteArgs) -> anyhow::Result<ExitCode> {
    if let Some(server) = &a.server {
        let req = build_request(&a)?;
        return crate::serve_cmd::route_remote(server, a.token.as_deref(), req, a.json);
    }
    let (Some(snap), Some(dirf)) = (&a.snapshot, &a.directory) else {
        bail!("give --server, or --snapshot and --directory");
    };
    let cat = Arc::new(Catalog::open(snap)?);
    let dir = Arc::new(Directory::load(dirf)?);
    let mut profiles = Vec::new();
    for f in &a.profile_files {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        profiles.push(
            Profile::parse(&text, false).map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?,
        );
    }
    let engine = Engine::new(cat, dir.clone(), profiles)?;
    let mut state = engine.new_state();
    if let Some(p) = &a.events {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let e: Event =
                serde_json::from_str(line).with_context(|| format!("{}:{}", p.display(), n + 1))?;
            state
                .apply(&dir, &e)
                .map_err(|e| anyhow::anyhow!("{}:{}: {e}", p.display(), n + 1))?;
        }
    }
    let req = build_request(&a)?;
    let s = engine.route(&state, &req)?;
    let wire = rota_server::convert::response_to_wire(s, engine.catalog());
    crate::route_print::print_response(&wire, a.json)?;
    Ok(crate::route_print::exit_code(&wire))
}
