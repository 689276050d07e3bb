//! `rota catalog …`

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use rota_catalog::ingest::{self, Manifest, ManifestLibrary, Progress, Source, SourceKind};
use rota_catalog::{Catalog, Citation, LookupOptions, generate, snapshot};

#[derive(Subcommand)]
pub enum CatalogCmd {
    /// Build a snapshot from MARC files and holdings.
    Build(BuildArgs),
    /// Print a snapshot's statistics.
    Stats {
        /// Snapshot file.
        snapshot: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Look a citation up.
    Lookup(LookupArgs),
    /// Generate a synthetic catalogue snapshot.
    Generate(GenerateArgs),
}

#[derive(Args)]
pub struct BuildArgs {
    /// Where to write the snapshot.
    #[arg(long)]
    out: PathBuf,
    /// A TOML manifest naming libraries and sources.
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// A library's own MARC file: SYMBOL=PATH (repeatable).
    #[arg(long = "library", value_name = "SYMBOL=PATH")]
    libraries: Vec<String>,
    /// A union MARC file whose records carry holdings fields (repeatable).
    #[arg(long = "union", value_name = "PATH")]
    unions: Vec<PathBuf>,
    /// Holdings fields to read from union records, e.g. 924$b (default 852$a and 924$b).
    #[arg(long = "holdings-field", value_name = "TAG$CODE")]
    holdings_fields: Vec<String>,
    /// A holdings CSV: symbol,record,copies,lendable,format (repeatable).
    #[arg(long = "holdings-csv", value_name = "PATH")]
    holdings_csv: Vec<PathBuf>,
    /// Print the build report as JSON.
    #[arg(long)]
    json: bool,
    /// Exit with status 1 if any record was skipped.
    #[arg(long)]
    strict: bool,
}

#[derive(Args)]
pub struct LookupArgs {
    /// Snapshot file.
    snapshot: PathBuf,
    /// ISBN (10 or 13, any punctuation).
    #[arg(long)]
    isbn: Option<String>,
    /// ISSN.
    #[arg(long)]
    issn: Option<String>,
    /// OCLC number (any prefix).
    #[arg(long)]
    oclc: Option<String>,
    /// LCCN.
    #[arg(long)]
    lccn: Option<String>,
    /// Title (typos tolerated).
    #[arg(long)]
    title: Option<String>,
    /// Author (typos tolerated).
    #[arg(long)]
    author: Option<String>,
    /// Year.
    #[arg(long)]
    year: Option<u16>,
    /// Most matches.
    #[arg(long, default_value_t = 10)]
    limit: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

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

pub fn run(cmd: CatalogCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        CatalogCmd::Build(a) => build(a),
        CatalogCmd::Stats { snapshot, json } => stats(&snapshot, json),
        CatalogCmd::Lookup(a) => lookup(a),
        CatalogCmd::Generate(a) => gen_cmd(a),
    }
}

fn bar(len: u64, what: &str) -> ProgressBar {
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

fn build(a: BuildArgs) -> anyhow::Result<ExitCode> {
    let mut m = match &a.manifest {
        Some(p) => Manifest::load(p)?,
        None => Manifest::default(),
    };
    let fields = if a.holdings_fields.is_empty() {
        None
    } else {
        Some(a.holdings_fields.clone())
    };
    for spec in &a.libraries {
        let Some((sym, path)) = spec.split_once('=') else {
            bail!("--library {spec:?}: expected SYMBOL=PATH");
        };
        if sym.trim().is_empty() {
            bail!("--library {spec:?}: empty symbol");
        }
        if !m.libraries.iter().any(|l| l.symbol == sym) {
            m.libraries.push(ManifestLibrary {
                symbol: sym.to_string(),
                name: String::new(),
            });
        }
        m.sources.push(Source {
            path: path.into(),
            kind: None,
            library: Some(sym.to_string()),
            holdings: fields.clone(),
            lendable: None,
        });
    }
    for p in &a.unions {
        m.sources.push(Source {
            path: p.clone(),
            kind: Some(SourceKind::Marc),
            library: None,
            holdings: fields.clone(),
            lendable: None,
        });
    }
    for p in &a.holdings_csv {
        m.sources.push(Source {
            path: p.clone(),
            kind: Some(SourceKind::HoldingsCsv),
            library: None,
            holdings: None,
            lendable: None,
        });
    }
    m.validate().map_err(anyhow::Error::msg)?;
    if m.sources.is_empty() {
        bail!(
            "nothing to build from: give --manifest, --library SYMBOL=PATH, --union PATH or --holdings-csv PATH"
        );
    }
    let t = Instant::now();
    let pb = bar(100, "reading");
    let (bytes, report) = ingest::build(&m, &|p| match p {
        Progress::Reading { done, total } => {
            pb.set_length(total.max(1));
            pb.set_position(done);
        }
        Progress::Clustering(n) => pb.set_message(format!("clustering {n} records")),
        Progress::Indexing(n) => pb.set_message(format!("indexing {n} clusters")),
    })?;
    pb.finish_and_clear();
    snapshot::write_atomic(&a.out, &bytes)
        .with_context(|| format!("writing {}", a.out.display()))?;
    let secs = t.elapsed().as_secs_f64();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("built {} in {secs:.1}s", a.out.display());
        for f in &report.files {
            let err = f
                .error
                .as_deref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default();
            println!(
                "  {}: {} read, {} skipped, {} with warnings{err}",
                f.path, f.read, f.skipped, f.warnings
            );
        }
        println!("records read      {}", report.records);
        println!("records skipped   {}", report.skipped);
        for (r, n) in &report.skipped_by_reason {
            println!("  {r:<22} {n}");
        }
        for s in report.skips.iter().take(10) {
            let off = s.offset.map(|o| format!(" byte {o}")).unwrap_or_default();
            println!("    {} record {}{off}: {}", s.file, s.index, s.reason);
        }
        if report.skips.len() > 10 {
            println!("    … {} more (use --json for all)", report.skipped - 10);
        }
        for (w, n) in &report.warnings_by_kind {
            println!("warning {w:<26} {n}");
        }
        println!("invalid ids kept  {}", report.invalid_identifiers);
        println!("clusters          {}", report.clusters);
        println!(
            "  merged by oclc {}, by identifier {}, by match key {}; refused (chain guard) {}",
            report.clustering.merged_by_oclc,
            report.clustering.merged_by_identifier,
            report.clustering.merged_by_match_key,
            report.clustering.refused_merges
        );
        println!("holdings          {}", report.holdings);
        println!("libraries         {}", report.libraries);
        println!("snapshot bytes    {}", report.snapshot_bytes);
    }
    Ok(if a.strict && report.skipped > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn stats(path: &std::path::Path, json: bool) -> anyhow::Result<ExitCode> {
    let t = Instant::now();
    let cat = Catalog::open(path)?;
    let load = t.elapsed();
    let m = cat.meta();
    let keys = cat.key_count_by_kind();
    let mut hist = [0u64; 8];
    for c in 0..cat.clusters() {
        let n = cat.holder_count(c);
        let b = match n {
            0 => 0,
            1 => 1,
            2..=3 => 2,
            4..=7 => 3,
            8..=15 => 4,
            16..=63 => 5,
            64..=255 => 6,
            _ => 7,
        };
        hist[b] += 1;
    }
    let labels = ["0", "1", "2-3", "4-7", "8-15", "16-63", "64-255", "256+"];
    if json {
        let v = serde_json::json!({
            "snapshot": path.display().to_string(),
            "bytes": cat.size_bytes(),
            "load_ms": load.as_secs_f64() * 1e3,
            "source": m.source,
            "libraries": m.libraries.len(),
            "clusters": m.clusters,
            "holdings": m.holdings,
            "mean_holders": m.holdings as f64 / m.clusters.max(1) as f64,
            "keys": keys.iter().map(|(k, n)| (k.to_string(), *n)).collect::<std::collections::BTreeMap<_,_>>(),
            "tokens": m.tokens,
            "holders_histogram": labels.iter().zip(hist).map(|(l, n)| (l.to_string(), n)).collect::<std::collections::BTreeMap<_,_>>(),
            "bytes_per_holding": cat.size_bytes() as f64 / m.holdings.max(1) as f64,
            "sections": cat.section_sizes().into_iter().map(|(n, b)| (n.to_string(), b)).collect::<std::collections::BTreeMap<_,_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "snapshot      {} ({} bytes, validated and mapped in {:.1} ms)",
        path.display(),
        cat.size_bytes(),
        load.as_secs_f64() * 1e3
    );
    println!("source        {}", m.source);
    println!("libraries     {}", m.libraries.len());
    println!("clusters      {}", m.clusters);
    println!(
        "holdings      {} ({:.2} per cluster, {:.2} snapshot bytes per holding)",
        m.holdings,
        m.holdings as f64 / m.clusters.max(1) as f64,
        cat.size_bytes() as f64 / m.holdings.max(1) as f64
    );
    println!("title/author tokens {}", m.tokens);
    let name = |k: char| match k {
        'i' => "isbn",
        's' => "issn",
        'o' => "oclc",
        'l' => "lccn",
        'k' => "match key",
        'I' => "isbn (bad check digit)",
        'S' => "issn (bad check digit)",
        _ => "other",
    };
    for (k, n) in keys {
        println!("  keys {:<24} {n}", name(k));
    }
    println!("snapshot sections:");
    for (name, bytes) in cat.section_sizes() {
        println!(
            "  {name:<28} {bytes:>14} bytes  {:>6.2} per holding",
            bytes as f64 / m.holdings.max(1) as f64
        );
    }
    println!("holders per cluster:");
    for (l, n) in labels.iter().zip(hist) {
        println!("  {l:>7} {n}");
    }
    Ok(ExitCode::SUCCESS)
}

fn lookup(a: LookupArgs) -> anyhow::Result<ExitCode> {
    let cat = Catalog::open(&a.snapshot)?;
    let c = Citation {
        isbn: a.isbn,
        issn: a.issn,
        oclc: a.oclc,
        lccn: a.lccn,
        title: a.title,
        author: a.author,
        year: a.year,
    };
    let matches = cat.lookup(
        &c,
        LookupOptions {
            limit: a.limit,
            ..LookupOptions::default()
        },
    )?;
    let rows: Vec<serde_json::Value> = matches
        .iter()
        .map(|m| {
            let info = cat.info(m.cluster);
            let holders: Vec<serde_json::Value> = cat
                .holders(m.cluster)
                .iter()
                .map(|h| {
                    serde_json::json!({
                    "symbol": cat.libraries()[h.library as usize].symbol,
                    "copies": h.copies, "lendable": h.lendable, "format": h.format.name()})
                })
                .collect();
            serde_json::json!({
                "cluster": m.cluster,
                "method": m.method.name(),
                "confidence": (m.confidence * 1000.0).round() / 1000.0,
                "title": info.as_ref().map(|i| i.title.clone()),
                "author": info.as_ref().map(|i| i.author.clone()),
                "year": info.as_ref().and_then(|i| i.year),
                "format": info.as_ref().map(|i| i.format.name()),
                "identifiers": info.as_ref().map(|i| i.ids.clone()),
                "holders": holders,
            })
        })
        .collect();
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "matches": rows }))?
        );
    } else if rows.is_empty() {
        println!("no match");
    } else {
        for r in &rows {
            println!(
                "cluster {}  {} ({})  {} / {} / {}",
                r["cluster"],
                r["method"].as_str().unwrap_or(""),
                r["confidence"],
                r["title"].as_str().unwrap_or(""),
                r["author"].as_str().unwrap_or(""),
                r["year"]
            );
            if let Some(ids) = r["identifiers"].as_array() {
                let ids: Vec<&str> = ids.iter().filter_map(|v| v.as_str()).collect();
                println!("  ids: {}", ids.join(", "));
            }
            let hs: Vec<String> = r["holders"]
                .as_array()
                .map(|v| {
                    v.iter()
                        .map(|h| {
                            let s = h["symbol"].as_str().unwrap_or("").to_string();
                            if h["lendable"].as_bool() == Some(false) {
                                format!("{s}(no ILL)")
                            } else {
                                s
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            println!("  {} holders: {}", hs.len(), hs.join(" "));
        }
    }
    Ok(if rows.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn gen_cmd(a: GenerateArgs) -> anyhow::Result<ExitCode> {
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
