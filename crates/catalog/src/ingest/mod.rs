//! Building a catalogue from a consortium's files, with a build report that accounts for
//! every record read or skipped, every merge refused and every holder refused.
//!
//! Holdings come four ways, and each source says which ([`Source`]):
//!
//! - **a library's own file** (`--library SYMBOL=FILE`): every record is that library's
//!   holding and no other's. Its 852 fields name its own locations, so they are read
//!   only for what they say about lending (non-circulating notes), never as holders;
//! - **union records** (`--union FILE --holdings-field 924$b`): each configured field
//!   names a holder; 924 `$d` and 852 `$x`/`$z` say what it lends ([`crate::lending`]);
//! - **MARC holdings records** (MFHD, leader/06 `u v x y`) in either kind of file: the
//!   holdings of the bibliographic record they link to (004, or the source's
//!   `mfhd_link`), with their 008/20–21 lending and reproduction policies;
//! - **a holdings CSV** joined to records by 001 or identifier.
//!
//! A holder symbol that the manifest does not list and the caller does not know must
//! look like a library symbol ([`symbols`]); the build refuses the rest and reports them.
//! Online resources are never lent ([`crate::lending::LendRule::Online`]).
//!
//! [`build`] reads and assembles in one go; [`read`] and [`assemble`] separately let a
//! caller bring records it made itself (the precision tests, [`crate::realistic`]).

mod csv;
mod kbart;
mod manifest;
mod read;
mod report;
pub mod symbols;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

pub use manifest::{Manifest, ManifestError, ManifestLibrary, Source, SourceKind};
pub use read::SourceRecord;
pub use report::{
    BuildReport, FileReport, HoldingsRecords, Progress, RefusedMergeReport, SerialReport, Skip,
};

use crate::bib::{Bib, ReadOptions, RecordKind};
use crate::cluster::cluster;
use crate::format::Format;
use crate::id::LibraryId;
use crate::ident::IdKind;
use crate::index::{BuildError, ClusterData, Holding, IndexBuilder, Library};
use crate::lending::{HoldingSpec, LendRule, Lending};

/// What the caller knows beyond the manifest.
#[derive(Clone, Debug, Default)]
pub struct BuildOptions {
    /// Symbols accepted as holders whatever their shape (the lender directory's).
    pub known_symbols: HashSet<String>,
}

/// Records and rows read from a manifest's files, not yet clustered.
#[derive(Debug, Default)]
pub struct Input {
    /// MARC records, bibliographic and holdings.
    pub records: Vec<SourceRecord>,
    /// Holdings CSV rows per file.
    csv: Vec<(String, Vec<Result<csv::CsvHolding, Skip>>)>,
    /// What reading found.
    pub report: BuildReport,
}

impl Input {
    /// Records made by the caller, as if read from the manifest's sources.
    pub fn from_records(records: Vec<SourceRecord>) -> Input {
        Input {
            records,
            ..Input::default()
        }
    }
}

/// A built snapshot.
#[derive(Debug)]
pub struct Built {
    /// The snapshot bytes.
    pub bytes: Vec<u8>,
    /// The report.
    pub report: BuildReport,
    /// Per input record (in [`Input::records`] order), its cluster; `u32::MAX` for a
    /// holdings record.
    pub clusters: Vec<u32>,
}

/// Reads every source of a manifest.
pub fn read(manifest: &Manifest, progress: &(dyn Fn(Progress) + Sync)) -> Input {
    let mut input = Input::default();
    let total: u64 = manifest
        .sources
        .iter()
        .filter_map(|s| std::fs::metadata(&s.path).ok())
        .map(|m| m.len())
        .sum();
    let mut done = 0u64;
    let t0 = std::time::Instant::now();
    for (i, src) in manifest.sources.iter().enumerate() {
        match src.kind() {
            SourceKind::HoldingsCsv => input
                .csv
                .push((src.path.display().to_string(), csv::read(&src.path))),
            SourceKind::Marc => {
                let recs = read::read_marc(src, i, &mut input.report);
                input.records.extend(recs);
            }
            SourceKind::Kbart => {
                let recs = kbart::read(src, i, &mut input.report);
                input.records.extend(recs);
            }
        }
        done += std::fs::metadata(&src.path).map_or(0, |m| m.len());
        progress(Progress::Reading { done, total });
    }
    input
        .report
        .stage_ms
        .insert("parse".into(), t0.elapsed().as_millis() as u64);
    input
}

/// Builds a snapshot from a manifest. Never fails on bad input data (it is skipped and
/// reported); fails only on our own limits.
pub fn build(
    manifest: &Manifest,
    opts: &BuildOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Built, BuildError> {
    let input = read(manifest, progress);
    assemble(manifest, input, opts, progress)
}

/// How the report names a record: `SOURCE:001`.
fn record_name(manifest: &Manifest, source: usize, index: usize, bib: &Bib) -> String {
    let label = manifest
        .sources
        .get(source)
        .map_or_else(|| format!("source {source}"), Source::label);
    match &bib.record_id {
        Some(id) => format!("{label}:{id}"),
        None => format!("{label}:#{index}"),
    }
}

/// The holding a library's own file gives a record, with what the record and the
/// source say about lending it.
fn own_holding(src: &Source, bib: &Bib) -> Option<HoldingSpec> {
    if src.kind() == SourceKind::Kbart {
        return None;
    }
    let sym = src.library.as_ref()?;
    let mut h = HoldingSpec::new(sym.clone());
    if let Some((l, rule)) = bib.own_lending {
        h.limit(l, rule);
    }
    if src.lendable == Some(false) {
        h.limit(Lending::NONE, LendRule::Source);
    }
    h.coverage = bib.serial.as_ref().map(|s| s.coverage.clone());
    Some(h)
}

fn effect(l: Lending) -> &'static str {
    match (l.loan, l.copy) {
        (false, false) => "not lendable",
        (false, true) => "copy only",
        (true, false) => "loan only",
        (true, true) => "lendable",
    }
}

/// Clusters the records read, attaches every holding, and writes the snapshot.
pub fn assemble(
    manifest: &Manifest,
    input: Input,
    opts: &BuildOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Built, BuildError> {
    let Input {
        records,
        csv,
        mut report,
    } = input;
    let n_in = records.len();
    // bibliographic records are clustered; holdings records attach to them
    let mut bibs: Vec<Bib> = Vec::with_capacity(n_in);
    let mut origin: Vec<(usize, usize, usize)> = Vec::with_capacity(n_in);
    let mut mfhds: Vec<(usize, SourceRecord)> = Vec::new();
    for (k, r) in records.into_iter().enumerate() {
        match r.bib.kind {
            RecordKind::Bibliographic => {
                origin.push((k, r.source, r.index));
                bibs.push(r.bib);
            }
            RecordKind::Holdings => mfhds.push((k, r)),
        }
    }
    report.records = bibs.len();
    progress(Progress::Clustering(bibs.len()));
    let t1 = std::time::Instant::now();
    let clustering = cluster(&bibs);
    let assign = &clustering.assign;
    let name = |i: usize| record_name(manifest, origin[i].1, origin[i].2, &bibs[i]);
    report.refused_merges = clustering
        .refused
        .iter()
        .map(|r| RefusedMergeReport {
            record: name(r.record),
            with: name(r.with),
            key: r.key.clone(),
            reason: r.reason.name(),
        })
        .collect();
    report.clustering = clustering.stats.clone();
    report
        .stage_ms
        .insert("cluster".into(), t1.elapsed().as_millis() as u64);
    let t2 = std::time::Instant::now();

    // every holding, by cluster
    let mut pending: Vec<(u32, HoldingSpec)> = Vec::new();
    let limit_online = |h: &mut HoldingSpec, f: Format| {
        if f == Format::Electronic {
            h.limit(Lending::COPY_ONLY, LendRule::Online);
        }
    };
    for (i, b) in bibs.iter().enumerate() {
        let c = assign[i];
        if let Some(s) = &b.serial
            && manifest
                .sources
                .get(origin[i].1)
                .is_some_and(|s| s.library.is_some())
        {
            report.serials.add(s);
        }
        for h in &b.holdings {
            pending.push((c, h.clone()));
        }
        if let Some(mut h) = manifest
            .sources
            .get(origin[i].1)
            .and_then(|s| own_holding(s, b))
        {
            limit_online(&mut h, b.format);
            pending.push((c, h));
        }
    }
    // holdings records, by the values bibliographic records may be linked by
    let mut by_link: HashMap<&str, u32> = HashMap::new();
    for (i, b) in bibs.iter().enumerate() {
        for v in &b.link {
            by_link.entry(v.as_str()).or_insert(assign[i]);
        }
    }
    let mut clusters_of = vec![u32::MAX; n_in];
    for (i, &(k, _, _)) in origin.iter().enumerate() {
        clusters_of[k] = assign[i];
    }
    let mut cluster_format: HashMap<u32, Format> = HashMap::new();
    for (i, b) in bibs.iter().enumerate() {
        cluster_format.entry(assign[i]).or_insert(b.format);
    }
    for (_, m) in &mfhds {
        report.holdings_records.read += 1;
        let target = m.bib.link.first().and_then(|v| by_link.get(v.as_str()));
        let Some(&c) = target else {
            report.holdings_records.unlinked += 1;
            let file = manifest
                .sources
                .get(m.source)
                .map_or_else(String::new, |s| s.path.display().to_string());
            report.skip(
                Skip {
                    file,
                    index: m.index,
                    offset: None,
                    reason: format!(
                        "holdings record links to {:?}, which no bibliographic record in the build has",
                        m.bib.link.first().map(|v| v.chars().take(40).collect::<String>()).unwrap_or_default()
                    ),
                },
                "unlinked_holdings_record",
            );
            continue;
        };
        report.holdings_records.attached += 1;
        if let Some(s) = &m.bib.serial {
            report.serials.add(s);
        }
        let f = cluster_format.get(&c).copied().unwrap_or_default();
        for h in &m.bib.holdings {
            let mut h = h.clone();
            h.coverage = m.bib.serial.as_ref().map(|s| s.coverage.clone());
            if let Some((l, rule)) = m.bib.own_lending {
                h.limit(l, rule);
            }
            limit_online(&mut h, f);
            pending.push((c, h));
        }
        if let Some(mut h) = manifest
            .sources
            .get(m.source)
            .and_then(|s| own_holding(s, &m.bib))
        {
            limit_online(&mut h, f);
            pending.push((c, h));
        }
    }
    // holdings CSVs: joined by record id or by identifier
    if !csv.is_empty() {
        let mut by_record_id: HashMap<&str, u32> = HashMap::new();
        let mut by_key: HashMap<Vec<u8>, u32> = HashMap::new();
        for (i, b) in bibs.iter().enumerate() {
            if let Some(id) = &b.record_id {
                by_record_id.entry(id.as_str()).or_insert(assign[i]);
            }
            for id in &b.ids {
                by_key.entry(id.key()).or_insert(assign[i]);
            }
        }
        for (path, rows) in csv {
            let mut fr = FileReport {
                path: path.clone(),
                ..FileReport::default()
            };
            for row in rows {
                match row {
                    Err(s) => {
                        fr.skipped += 1;
                        report.skip(s, "bad_csv_row");
                    }
                    Ok(row) => match resolve_record(&row.record, &by_record_id, &by_key) {
                        Some(c) => {
                            fr.read += 1;
                            let mut h = row.holding;
                            limit_online(
                                &mut h,
                                cluster_format.get(&c).copied().unwrap_or_default(),
                            );
                            pending.push((c, h));
                        }
                        None => {
                            fr.skipped += 1;
                            report.skip(
                                Skip {
                                    file: path.clone(),
                                    index: row.row,
                                    offset: None,
                                    reason: format!(
                                        "record {:?} is not in the catalogue",
                                        row.record.chars().take(40).collect::<String>()
                                    ),
                                },
                                "unknown_record",
                            );
                        }
                    },
                }
            }
            report.files.push(fr);
        }
    }

    // libraries: the manifest's, then every other plausible symbol seen, sorted
    let mut libraries: Vec<Library> = manifest
        .libraries
        .iter()
        .map(|l| Library {
            symbol: l.symbol.clone(),
            name: if l.name.is_empty() {
                l.symbol.clone()
            } else {
                l.name.clone()
            },
        })
        .collect();
    let mut lib_ids: HashMap<String, u32> = libraries
        .iter()
        .enumerate()
        .map(|(i, l)| (l.symbol.clone(), i as u32))
        .collect();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, h) in &pending {
        if !lib_ids.contains_key(&h.symbol) {
            *seen.entry(h.symbol.as_str()).or_default() += 1;
        }
    }
    let mut refused: HashSet<String> = HashSet::new();
    for (sym, count) in seen {
        if opts.known_symbols.contains(sym) {
            lib_ids.insert(sym.to_string(), libraries.len() as u32);
            libraries.push(Library {
                symbol: sym.to_string(),
                name: sym.to_string(),
            });
            continue;
        }
        match symbols::check(sym) {
            Ok(()) => {
                lib_ids.insert(sym.to_string(), libraries.len() as u32);
                libraries.push(Library {
                    symbol: sym.to_string(),
                    name: sym.to_string(),
                });
            }
            Err(p) => {
                report.refused_symbols.add(sym, p, count);
                refused.insert(sym.to_string());
            }
        }
    }

    // cluster data, in cluster order
    let mut clusters: Vec<ClusterData> = vec![ClusterData::default(); clustering.clusters];
    for (i, b) in bibs.iter().enumerate() {
        let c = &mut clusters[assign[i] as usize];
        if c.title.is_empty() && !b.title.is_empty() {
            c.title = b.title.clone();
            c.author = b.author.clone();
            c.title_proper = b.title_proper.clone();
            c.part = b.part.clone();
            c.subtitle = b.subtitle.clone();
            c.alt_titles = b.alt_titles.clone();
            c.names = std::iter::once(&b.author)
                .chain(&b.other_names)
                .chain(&b.alt_names)
                .filter(|n| !n.is_empty())
                .cloned()
                .collect();
            c.main_entry = b.main_entry;
            c.language = b.language.clone();
            c.year = b.year;
            c.format = b.format;
            c.match_key = b.match_key();
        }
        // a member that records the subtitle gives it to a cluster whose first record
        // dropped it: a citation with the subtitle must find it
        if c.subtitle.is_empty() && !b.subtitle.is_empty() && c.title_proper == b.title_proper {
            c.subtitle = b.subtitle.clone();
        }
        for id in &b.ids {
            if !c.ids.contains(id) {
                c.ids.push(id.clone());
            }
        }
    }
    for (c, h) in pending {
        if refused.contains(&h.symbol) {
            continue;
        }
        if let Some(rule) = h.rule
            && h.lending != Lending::BOTH
        {
            *report
                .limited_holdings
                .entry(format!("{}: {}", effect(h.lending), rule.label()))
                .or_default() += 1;
        }
        let data = &mut clusters[c as usize];
        let library = LibraryId::new(lib_ids[&h.symbol]);
        if let Some(cov) = h.coverage.filter(|c| !c.is_empty()) {
            data.coverage.push((library, cov));
        }
        data.holdings.push(Holding {
            library,
            copies: h.copies.min(u16::from(crate::index::MAX_COPIES)) as u8,
            lending: h.lending,
            format: h.format.unwrap_or(data.format),
        });
    }

    progress(Progress::Indexing(clusters.len()));
    report.libraries = libraries.len();
    let mut b = IndexBuilder::new(libraries, manifest.name.clone());
    for c in clusters {
        b.add(c)?;
    }
    let bytes = b.finish()?;
    let cat = crate::index::Catalog::from_bytes(bytes.clone()).map_err(BuildError::Invalid)?;
    report.clusters = cat.clusters() as usize;
    report.holdings = cat.meta().holdings as usize;
    report.serials.holdings_with_coverage = cat.coverage_holdings() as usize;
    report.snapshot_bytes = bytes.len();
    report
        .stage_ms
        .insert("index".into(), t2.elapsed().as_millis() as u64);
    Ok(Built {
        bytes,
        report,
        clusters: clusters_of,
    })
}

fn resolve_record(
    r: &str,
    by_id: &HashMap<&str, u32>,
    keys: &HashMap<Vec<u8>, u32>,
) -> Option<u32> {
    let r = r.trim();
    if let Some((kind, v)) = r.split_once(':') {
        let kind = match kind.trim().to_ascii_lowercase().as_str() {
            "isbn" => Some(IdKind::Isbn),
            "issn" => Some(IdKind::Issn),
            "oclc" => Some(IdKind::Oclc),
            "lccn" => Some(IdKind::Lccn),
            _ => None,
        };
        if let Some(k) = kind {
            return crate::ident::normalize(k, v)
                .ok()
                .and_then(|i| keys.get(&i.key()).copied());
        }
    }
    by_id.get(r).copied()
}

/// Reads records from one file (ISO 2709 or MARCXML) into bibs, for tools and tests.
pub fn read_file_bibs(
    path: &Path,
    opts: &ReadOptions,
) -> std::io::Result<Vec<Result<Bib, crate::marc::RecordError>>> {
    let data = std::fs::read(path)?;
    Ok(crate::marc::read_any(&data)
        .into_iter()
        .map(|r| r.map(|rec| Bib::read(&rec, opts)))
        .collect())
}
