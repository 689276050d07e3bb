//! `rota catalog build`

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use rota_catalog::ingest::{
    self, BuildOptions, BuildReport, Manifest, ManifestLibrary, Progress, Source,
};
use rota_catalog::snapshot;

use super::bar;

#[derive(Args)]
pub struct BuildArgs {
    /// Where to write the snapshot.
    #[arg(long)]
    out: PathBuf,
    /// A TOML manifest naming libraries and sources.
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// A library's own MARC file: SYMBOL=PATH (repeatable). Every record in it is held
    /// by SYMBOL and by no other library.
    #[arg(long = "library", value_name = "SYMBOL=PATH")]
    libraries: Vec<String>,
    /// A union MARC file whose records name their holders in --holdings-field
    /// (repeatable).
    #[arg(long = "union", value_name = "PATH")]
    unions: Vec<PathBuf>,
    /// The holdings field of the --union files, e.g. '924$b' (quote it: the shell eats
    /// $b); repeatable.
    #[arg(long = "holdings-field", value_name = "TAG$CODE")]
    holdings_fields: Vec<String>,
    /// A MARC file of bibliographic records whose holdings come from a holdings CSV or
    /// from MFHD records (repeatable).
    #[arg(long = "records", value_name = "PATH")]
    records: Vec<PathBuf>,
    /// A library's electronic holdings as a KBART file: SYMBOL=PATH (repeatable). Each
    /// row's journal is held online by SYMBOL with the row's coverage and moving wall.
    #[arg(long = "kbart", value_name = "SYMBOL=PATH")]
    kbart: Vec<String>,
    /// A holdings CSV: symbol,record,copies,lendable,format (repeatable).
    #[arg(long = "holdings-csv", value_name = "PATH")]
    holdings_csv: Vec<PathBuf>,
    /// How MFHD records link to bibliographic records in the files given here, as
    /// HOLDINGS=BIB (default 004=001; e.g. '001=901$a').
    #[arg(long = "mfhd-link", value_name = "HOLDINGS=BIB")]
    mfhd_link: Option<String>,
    /// A lender directory whose symbols are accepted as holders whatever their shape.
    #[arg(long)]
    directory: Option<PathBuf>,
    /// Print the build report as JSON.
    #[arg(long)]
    json: bool,
    /// Exit with status 1 if any record was skipped.
    #[arg(long)]
    strict: bool,
}

pub fn build(a: BuildArgs) -> anyhow::Result<ExitCode> {
    let mut m = match &a.manifest {
        Some(p) => Manifest::load(p)?,
        None => Manifest::default(),
    };
    if !a.unions.is_empty() && a.holdings_fields.is_empty() {
        bail!(
            "--union needs --holdings-field naming where its records list their holders (e.g. --holdings-field '924$b'); for records without holdings fields use --records"
        );
    }
    if a.unions.is_empty() && !a.holdings_fields.is_empty() {
        bail!("--holdings-field applies to --union files; there is none");
    }
    let mut add = |mut s: Source| {
        s.mfhd_link = a.mfhd_link.clone();
        m.sources.push(s);
    };
    for spec in &a.libraries {
        let Some((sym, path)) = spec.split_once('=') else {
            bail!("--library {spec:?}: expected SYMBOL=PATH");
        };
        if sym.trim().is_empty() {
            bail!("--library {spec:?}: empty symbol");
        }
        add(Source::library_file(path, sym.trim()));
    }
    let fields: Vec<&str> = a.holdings_fields.iter().map(String::as_str).collect();
    for p in &a.unions {
        add(Source::union_file(p, &fields));
    }
    for p in &a.records {
        add(Source::union_file(p, &[]));
    }
    for p in &a.holdings_csv {
        m.sources.push(Source::holdings_csv(p));
    }
    for spec in &a.kbart {
        let Some((sym, path)) = spec.split_once('=') else {
            bail!("--kbart {spec:?}: expected SYMBOL=PATH");
        };
        if sym.trim().is_empty() {
            bail!("--kbart {spec:?}: empty symbol");
        }
        m.sources.push(Source::kbart(path, sym.trim()));
    }
    for s in &m.sources {
        if let Some(sym) = &s.library
            && !m.libraries.iter().any(|l| &l.symbol == sym)
        {
            m.libraries.push(ManifestLibrary {
                symbol: sym.clone(),
                name: String::new(),
            });
        }
    }
    m.validate().map_err(anyhow::Error::msg)?;
    if m.sources.is_empty() {
        bail!(
            "nothing to build from: give --manifest, --library SYMBOL=PATH, --union PATH, --records PATH, --holdings-csv PATH or --kbart SYMBOL=PATH"
        );
    }
    let missing: Vec<String> = m
        .sources
        .iter()
        .filter(|s| std::fs::metadata(&s.path).is_err())
        .map(|s| s.path.display().to_string())
        .collect();
    if !missing.is_empty() {
        bail!("cannot read {}", missing.join(", "));
    }
    let mut opts = BuildOptions::default();
    if let Some(d) = &a.directory {
        let dir = rota_routing::Directory::load(d)?;
        opts.known_symbols = dir
            .lenders()
            .iter()
            .map(|l| l.symbol.clone())
            .collect::<HashSet<_>>();
    }
    let t = Instant::now();
    let pb = bar(100, "reading");
    let built = ingest::build(&m, &opts, &|p| match p {
        Progress::Reading { done, total } => {
            pb.set_length(total.max(1));
            pb.set_position(done);
        }
        Progress::Clustering(n) => pb.set_message(format!("clustering {n} records")),
        Progress::Indexing(n) => pb.set_message(format!("indexing {n} clusters")),
    })?;
    pb.finish_and_clear();
    let report = built.report;
    let unreadable: Vec<String> = report
        .files
        .iter()
        .filter_map(|f| f.error.as_ref().map(|e| format!("{} ({e})", f.path)))
        .collect();
    if !unreadable.is_empty() {
        bail!("cannot use {}", unreadable.join(", "));
    }
    if report.clusters == 0 {
        bail!(
            "nothing was built: {} records read, {} skipped; no snapshot written",
            report.records,
            report.skipped
        );
    }
    snapshot::write_atomic(&a.out, &built.bytes)
        .with_context(|| format!("writing {}", a.out.display()))?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report, &a.out, t.elapsed().as_secs_f64());
    }
    Ok(if a.strict && report.skipped > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_report(report: &BuildReport, out: &std::path::Path, secs: f64) {
    println!("built {} in {secs:.1}s", out.display());
    for f in &report.files {
        println!(
            "  {}: {} read, {} skipped, {} with warnings",
            f.path, f.read, f.skipped, f.warnings
        );
    }
    println!("records read          {}", report.records);
    println!("records skipped       {}", report.skipped);
    for (r, n) in &report.skipped_by_reason {
        println!("  {r:<26} {n}");
    }
    for s in report.skips.iter().take(10) {
        let off = s.offset.map(|o| format!(" byte {o}")).unwrap_or_default();
        println!("    {} record {}{off}: {}", s.file, s.index, s.reason);
    }
    if report.skipped > 10 {
        println!("    … {} more (--json lists them)", report.skipped - 10);
    }
    for (w, n) in &report.warnings_by_kind {
        println!("warning {w:<30} {n}");
    }
    println!(
        "identifiers kept but not trusted: {} bad check digit, {} cancelled; {} unreadable",
        report.invalid_identifiers, report.cancelled_identifiers, report.unreadable_identifiers
    );
    let h = &report.holdings_records;
    if h.read > 0 {
        println!(
            "holdings (MFHD) records {}: {} attached, {} linking to no record",
            h.read, h.attached, h.unlinked
        );
    }
    let s = &report.serials;
    if s.structured + s.textual_only + s.unreadable_statements + s.holdings_with_coverage > 0 {
        println!(
            "serial coverage: {} holdings; statements: {} structured (853/863), {} textual only (866), {} unreadable",
            s.holdings_with_coverage, s.structured, s.textual_only, s.unreadable_statements
        );
        for e in &s.unreadable_examples {
            println!("    unreadable {e}");
        }
    }
    if s.kbart_rows > 0 || !s.kbart_skipped.is_empty() {
        let skipped: usize = s.kbart_skipped.values().sum();
        let why: Vec<String> = s
            .kbart_skipped
            .iter()
            .map(|(r, n)| format!("{r} {n}"))
            .collect();
        println!(
            "kbart rows {}: {} skipped{}",
            s.kbart_rows + skipped,
            skipped,
            if why.is_empty() {
                String::new()
            } else {
                format!(" ({})", why.join(", "))
            }
        );
    }
    let c = &report.clustering;
    println!("clusters              {}", report.clusters);
    println!(
        "  merged by oclc {}, by identifier {}, by match key {}",
        c.merged_by_oclc, c.merged_by_identifier, c.merged_by_match_key
    );
    if c.refused_merges > 0 {
        let why: Vec<String> = c
            .refused_by_reason
            .iter()
            .map(|(r, n)| format!("{r} {n}"))
            .collect();
        println!("  refused merges {} ({})", c.refused_merges, why.join(", "));
        for r in report.refused_merges.iter().take(10) {
            println!(
                "    {} and {} share {} but differ in {}",
                r.record, r.with, r.key, r.reason
            );
        }
        if report.refused_merges.len() > 10 {
            println!(
                "    … {} more (--json lists them all)",
                report.refused_merges.len() - 10
            );
        }
    }
    println!("holdings              {}", report.holdings);
    for (what, n) in &report.limited_holdings {
        println!("  {what:<40} {n}");
    }
    println!("libraries             {}", report.libraries);
    let refused = &report.refused_symbols;
    if !refused.0.is_empty() {
        println!(
            "refused holder symbols (not library symbols; {} holdings dropped):",
            refused.holdings()
        );
        for (why, r) in &refused.0 {
            println!(
                "  {why:<20} {} symbols, {} holdings, e.g. {}",
                r.symbols,
                r.holdings,
                r.examples
                    .iter()
                    .map(|e| format!("{e:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    println!("snapshot bytes        {}", report.snapshot_bytes);
}
