//! Building a catalogue from a consortium's files: MARC (ISO 2709 or MARCXML) with
//! holdings given three ways, a TOML manifest, and a build report that accounts for
//! every record read or skipped.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::bib::{Bib, Format, HoldingField, HoldingSpec};
use crate::cluster::{ClusterStats, cluster};
use crate::ident::IdKind;
use crate::index::{BuildError, ClusterData, Holding, IndexBuilder, Library};
use crate::marc::{self, RecordErrorKind, Warning};

/// A manifest: the libraries and the files a catalogue is built from.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Consortium name (for the snapshot's provenance line).
    #[serde(default)]
    pub name: String,
    /// Libraries with their names (holders found in files but not listed are added with
    /// their symbol as name).
    #[serde(default, rename = "library")]
    pub libraries: Vec<ManifestLibrary>,
    /// Input files.
    #[serde(default, rename = "source")]
    pub sources: Vec<Source>,
}

/// A library in a manifest.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestLibrary {
    /// Symbol.
    pub symbol: String,
    /// Name.
    #[serde(default)]
    pub name: String,
}

/// What a source file holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// MARC records (ISO 2709 or MARCXML, sniffed).
    #[default]
    Marc,
    /// A holdings CSV: `symbol,record,copies,lendable,format`.
    HoldingsCsv,
}

/// One input file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Path (relative paths are relative to the manifest).
    pub path: PathBuf,
    /// File kind; `.csv` files default to holdings CSV.
    #[serde(default)]
    pub kind: Option<SourceKind>,
    /// For a library's own file: its symbol (every record is held by it).
    #[serde(default)]
    pub library: Option<String>,
    /// Holdings fields in union records, e.g. `["852$a", "924$b"]`; default both of those.
    #[serde(default)]
    pub holdings: Option<Vec<String>>,
    /// Whether a library file's holdings lend (default true).
    #[serde(default)]
    pub lendable: Option<bool>,
}

impl Source {
    fn kind(&self) -> SourceKind {
        self.kind.unwrap_or_else(|| {
            if self
                .path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
            {
                SourceKind::HoldingsCsv
            } else {
                SourceKind::Marc
            }
        })
    }
}

/// A manifest that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Cannot read it.
    #[error("cannot read manifest {path}: {source}")]
    Io {
        /// Path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Not valid TOML or unknown keys.
    #[error("manifest {path}: {message}")]
    Parse {
        /// Path.
        path: String,
        /// Parser message.
        message: String,
    },
    /// A bad value.
    #[error("manifest {path}: {message}")]
    Invalid {
        /// Path.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl Manifest {
    /// Reads and validates a manifest; source paths become relative to its folder.
    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Io {
            path: p.clone(),
            source,
        })?;
        let mut m: Manifest = toml::from_str(&text).map_err(|e| ManifestError::Parse {
            path: p.clone(),
            message: e.to_string().trim().to_string(),
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        for s in &mut m.sources {
            if s.path.is_relative() {
                s.path = dir.join(&s.path);
            }
        }
        m.validate()
            .map_err(|message| ManifestError::Invalid { path: p, message })?;
        Ok(m)
    }

    /// Checks symbols and holdings field specs.
    pub fn validate(&self) -> Result<(), String> {
        let mut seen = std::collections::HashSet::new();
        for l in &self.libraries {
            if l.symbol.trim().is_empty() {
                return Err("a [[library]] has an empty symbol".into());
            }
            if !seen.insert(&l.symbol) {
                return Err(format!("library {} is listed twice", l.symbol));
            }
        }
        for (i, s) in self.sources.iter().enumerate() {
            for h in s.holdings.iter().flatten() {
                if HoldingField::parse(h).is_none() {
                    return Err(format!(
                        "source {} ({}): holdings field {h:?} is not like \"852$a\"",
                        i + 1,
                        s.path.display()
                    ));
                }
            }
            if s.kind() == SourceKind::HoldingsCsv && s.library.is_some() {
                return Err(format!(
                    "source {} ({}): a holdings CSV names its libraries per row; remove `library`",
                    i + 1,
                    s.path.display()
                ));
            }
        }
        Ok(())
    }
}

/// Per-file counts.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FileReport {
    /// Path.
    pub path: String,
    /// Records (or CSV rows) read successfully.
    pub read: usize,
    /// Records (or rows) skipped.
    pub skipped: usize,
    /// Records read with a warning.
    pub warnings: usize,
    /// Set when the whole file could not be read.
    pub error: Option<String>,
}

/// One skipped record or row: where and why.
#[derive(Clone, Debug, Serialize)]
pub struct Skip {
    /// File.
    pub file: String,
    /// Record (or row) number, 0-based.
    pub index: usize,
    /// Byte offset, where known.
    pub offset: Option<u64>,
    /// Why.
    pub reason: String,
}

/// The build summary.
#[derive(Clone, Debug, Default, Serialize)]
pub struct BuildReport {
    /// Per file.
    pub files: Vec<FileReport>,
    /// Records read.
    pub records: usize,
    /// Records skipped.
    pub skipped: usize,
    /// Skips by reason.
    pub skipped_by_reason: BTreeMap<String, usize>,
    /// Warnings by kind.
    pub warnings_by_kind: BTreeMap<String, usize>,
    /// The first skips in detail (at most 1,000).
    pub skips: Vec<Skip>,
    /// Identifiers with bad check digits kept and flagged.
    pub invalid_identifiers: usize,
    /// Clusters built.
    pub clusters: usize,
    /// Holdings (cluster × library).
    pub holdings: usize,
    /// Libraries.
    pub libraries: usize,
    /// What clustering did.
    pub clustering: ClusterStats,
    /// Snapshot size in bytes.
    pub snapshot_bytes: usize,
    /// Identifier subfields that held no readable identifier (kept in the report only).
    pub unreadable_identifiers: usize,
    /// Wall time per stage, milliseconds: read+parse+normalise, cluster, index.
    pub stage_ms: BTreeMap<String, u64>,
}

impl BuildReport {
    fn skip(&mut self, s: Skip, label: &str) {
        self.skipped += 1;
        *self.skipped_by_reason.entry(label.to_string()).or_default() += 1;
        if self.skips.len() < 1000 {
            self.skips.push(s);
        }
    }
}

/// Build progress, for a progress bar.
#[derive(Clone, Copy, Debug)]
pub enum Progress {
    /// Read `done` of `total` bytes of input.
    Reading {
        /// Bytes done.
        done: u64,
        /// Bytes total.
        total: u64,
    },
    /// Clustering records.
    Clustering(usize),
    /// Writing the index.
    Indexing(usize),
}

fn kind_label(k: &RecordErrorKind) -> &'static str {
    match k {
        RecordErrorKind::TooShort(_) => "too_short",
        RecordErrorKind::Truncated => "truncated",
        RecordErrorKind::BadBaseAddress(_) => "bad_leader",
        RecordErrorKind::BadDirectory(_) => "bad_directory",
        RecordErrorKind::FieldOutOfBounds { .. } => "field_out_of_bounds",
        RecordErrorKind::InvalidUtf8(_) => "invalid_utf8",
        RecordErrorKind::UnknownEncoding(_) => "unknown_encoding",
        RecordErrorKind::Xml(_) => "malformed_xml",
    }
}

fn warning_label(w: &Warning) -> &'static str {
    match w {
        Warning::Marc8LeaderButUtf8 => "marc8_leader_but_utf8",
        Warning::UnmappedMarc8(_) => "unmapped_marc8_characters",
        Warning::LengthMismatch { .. } => "leader_length_mismatch",
    }
}

struct Rec {
    bib: Bib,
    /// Holdings from the source (library files) on top of the record's own.
    source_holding: Option<HoldingSpec>,
}

/// Builds a snapshot from a manifest. Never fails on bad input data (it is skipped and
/// reported); fails only on our own limits.
pub fn build(
    manifest: &Manifest,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<(Vec<u8>, BuildReport), BuildError> {
    let mut report = BuildReport::default();
    let t0 = std::time::Instant::now();
    let total: u64 = manifest
        .sources
        .iter()
        .filter_map(|s| std::fs::metadata(&s.path).ok())
        .map(|m| m.len())
        .sum();
    let mut done = 0u64;
    let mut recs: Vec<Rec> = Vec::new();
    let mut csvs: Vec<&Source> = Vec::new();
    for src in &manifest.sources {
        if src.kind() == SourceKind::HoldingsCsv {
            csvs.push(src);
            continue;
        }
        let path = src.path.display().to_string();
        let mut fr = FileReport {
            path: path.clone(),
            ..FileReport::default()
        };
        let input = match crate::snapshot::read_input(&src.path) {
            Ok(d) => d,
            Err(e) => {
                fr.error = Some(format!("cannot read: {e}"));
                report.skip(
                    Skip {
                        file: path,
                        index: 0,
                        offset: None,
                        reason: format!("file cannot be read: {e}"),
                    },
                    "missing_file",
                );
                report.files.push(fr);
                continue;
            }
        };
        let data: &[u8] = input.as_ref();
        if data.iter().all(|b| b.is_ascii_whitespace()) {
            fr.error = Some("file is empty".into());
            report.skip(
                Skip {
                    file: path,
                    index: 0,
                    offset: None,
                    reason: "file is empty".into(),
                },
                "empty_file",
            );
            report.files.push(fr);
            continue;
        }
        let fields: Vec<HoldingField> = match &src.holdings {
            Some(h) => h.iter().filter_map(|s| HoldingField::parse(s)).collect(),
            None => HoldingField::defaults(),
        };
        let parsed: Vec<Result<Bib, marc::RecordError>> = if marc::sniff_xml(data) {
            marc::read_marcxml(data)
                .into_par_iter()
                .map(|r| r.map(|rec| bib_with_warnings(rec, &fields)))
                .collect()
        } else {
            marc::split_records(data)
                .into_par_iter()
                .enumerate()
                .map(|(i, (off, b, t))| {
                    marc::parse_iso2709(b, i, off, t).map(|rec| bib_with_warnings(rec, &fields))
                })
                .collect()
        };
        for r in parsed {
            match r {
                Ok(mut bib) => {
                    fr.read += 1;
                    let warns = std::mem::take(&mut bib.warnings);
                    if !warns.is_empty() {
                        fr.warnings += 1;
                        for w in warns {
                            *report.warnings_by_kind.entry(w.to_string()).or_default() += 1;
                        }
                    }
                    report.invalid_identifiers += bib.ids.iter().filter(|i| !i.valid).count();
                    report.unreadable_identifiers += bib.unreadable_ids.len();
                    let source_holding = src.library.as_ref().map(|sym| HoldingSpec {
                        symbol: sym.clone(),
                        copies: 1,
                        lendable: src.lendable.unwrap_or(true),
                        format: None,
                    });
                    recs.push(Rec {
                        bib,
                        source_holding,
                    });
                }
                Err(e) => {
                    fr.skipped += 1;
                    report.skip(
                        Skip {
                            file: path.clone(),
                            index: e.index,
                            offset: Some(e.offset),
                            reason: e.kind.to_string(),
                        },
                        kind_label(&e.kind),
                    );
                }
            }
        }
        done += data.len() as u64;
        progress(Progress::Reading { done, total });
        report.files.push(fr);
    }
    report.records = recs.len();
    report
        .stage_ms
        .insert("parse".into(), t0.elapsed().as_millis() as u64);
    progress(Progress::Clustering(recs.len()));
    let t1 = std::time::Instant::now();
    let (bibs, source_holdings): (Vec<Bib>, Vec<Option<HoldingSpec>>) =
        recs.into_iter().map(|r| (r.bib, r.source_holding)).unzip();
    let (assign, nclusters, cstats) = cluster(&bibs);
    report.clustering = cstats;
    report
        .stage_ms
        .insert("cluster".into(), t1.elapsed().as_millis() as u64);
    let t2 = std::time::Instant::now();

    // libraries: manifest order, then every other symbol seen, sorted
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
    let mut extra: Vec<String> = bibs
        .iter()
        .zip(&source_holdings)
        .flat_map(|(b, s)| {
            b.holdings
                .iter()
                .map(|h| &h.symbol)
                .chain(s.as_ref().map(|h| &h.symbol))
        })
        .filter(|s| !lib_ids.contains_key(*s))
        .cloned()
        .collect();
    let csv_rows: Vec<(String, Vec<Result<CsvHolding, Skip>>)> = csvs
        .iter()
        .map(|s| (s.path.display().to_string(), read_holdings_csv(&s.path)))
        .collect();
    for (_, rows) in &csv_rows {
        extra.extend(
            rows.iter()
                .flatten()
                .map(|r| r.symbol.clone())
                .filter(|s| !lib_ids.contains_key(s)),
        );
    }
    extra.sort();
    extra.dedup();
    for s in extra {
        lib_ids.insert(s.clone(), libraries.len() as u32);
        libraries.push(Library {
            symbol: s.clone(),
            name: s,
        });
    }

    // cluster data
    let mut clusters: Vec<ClusterData> = vec![ClusterData::default(); nclusters];
    let mut by_record_id: HashMap<String, u32> = HashMap::new();
    for (r, (b, source_holding)) in bibs.into_iter().zip(source_holdings).enumerate() {
        let c = &mut clusters[assign[r] as usize];
        if let Some(id) = &b.record_id {
            by_record_id.entry(id.clone()).or_insert(assign[r]);
        }
        if c.title.is_empty() && !b.title.is_empty() {
            c.title = b.title.clone();
            c.author = b.author.clone();
            c.year = b.year;
            c.format = b.format;
            c.match_key = b.match_key();
        }
        for i in b.ids {
            if !c.ids.contains(&i) {
                c.ids.push(i);
            }
        }
        for h in b.holdings.iter().chain(source_holding.as_ref()) {
            c.holdings.push(Holding {
                library: lib_ids[&h.symbol],
                copies: h.copies.min(15) as u8,
                lendable: h.lendable,
                format: h.format.unwrap_or(b.format),
            });
        }
    }

    // holdings CSVs: join by record id or by identifier
    let mut key_to_cluster: HashMap<Vec<u8>, u32> = HashMap::new();
    if !csv_rows.is_empty() {
        for (ci, c) in clusters.iter().enumerate() {
            for i in &c.ids {
                key_to_cluster.entry(i.key()).or_insert(ci as u32);
            }
        }
    }
    for (path, rows) in csv_rows {
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
                Ok(h) => {
                    let target = resolve_record(&h.record, &by_record_id, &key_to_cluster);
                    match target {
                        Some(ci) => {
                            fr.read += 1;
                            let c = &mut clusters[ci as usize];
                            let f = h.format.unwrap_or(c.format);
                            c.holdings.push(Holding {
                                library: lib_ids[&h.symbol],
                                copies: h.copies.min(15) as u8,
                                lendable: h.lendable,
                                format: f,
                            });
                        }
                        None => {
                            fr.skipped += 1;
                            report.skip(
                                Skip {
                                    file: path.clone(),
                                    index: h.row,
                                    offset: None,
                                    reason: format!(
                                        "record {:?} is not in the catalogue",
                                        h.record
                                    ),
                                },
                                "unknown_record",
                            );
                        }
                    }
                }
            }
        }
        report.files.push(fr);
    }

    progress(Progress::Indexing(clusters.len()));
    report.libraries = libraries.len();
    let mut b = IndexBuilder::new(libraries, manifest.name.clone());
    for c in clusters {
        b.add(c)?;
    }
    let bytes = b.finish()?;
    let cat = crate::index::Catalog::from_bytes(bytes.clone()).map_err(|e| {
        // a snapshot we just wrote failing validation is our bug, not the input's
        BuildError::Fst(fst::Error::Io(std::io::Error::other(e.to_string())))
    })?;
    report.clusters = cat.clusters() as usize;
    report.holdings = cat.meta().holdings as usize;
    report.snapshot_bytes = bytes.len();
    report
        .stage_ms
        .insert("index".into(), t2.elapsed().as_millis() as u64);
    Ok((bytes, report))
}

fn resolve_record(
    r: &str,
    by_id: &HashMap<String, u32>,
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

/// A holdings CSV row.
#[derive(Clone, Debug)]
struct CsvHolding {
    row: usize,
    symbol: String,
    record: String,
    copies: u16,
    lendable: bool,
    format: Option<Format>,
}

/// Reads `symbol,record,copies,lendable,format` (header optional; copies, lendable and
/// format optional per row). `record` is a record's 001 or `isbn:`/`oclc:`/`issn:`/`lccn:`
/// followed by the identifier.
fn read_holdings_csv(path: &Path) -> Vec<Result<CsvHolding, Skip>> {
    let file = path.display().to_string();
    let skip = |index: usize, reason: String| Skip {
        file: file.clone(),
        index,
        offset: None,
        reason,
    };
    let mut rdr = match csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_path(path)
    {
        Ok(r) => r,
        Err(e) => return vec![Err(skip(0, format!("file cannot be read: {e}")))],
    };
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                out.push(Err(skip(i, format!("unreadable row: {e}"))));
                continue;
            }
        };
        if i == 0 && rec.get(0).is_some_and(|s| s.eq_ignore_ascii_case("symbol")) {
            continue;
        }
        let get = |k: usize| rec.get(k).unwrap_or("").trim();
        let (symbol, record) = (get(0), get(1));
        if symbol.is_empty() || record.is_empty() {
            out.push(Err(skip(
                i,
                "row needs a library symbol and a record".into(),
            )));
            continue;
        }
        let copies = match get(2) {
            "" => 1,
            s => match s.parse::<u16>() {
                Ok(n) if n > 0 => n,
                _ => {
                    out.push(Err(skip(
                        i,
                        format!("copies {s:?} is not a positive number"),
                    )));
                    continue;
                }
            },
        };
        let lendable = match get(3).to_ascii_lowercase().as_str() {
            "" | "y" | "yes" | "true" | "1" => true,
            "n" | "no" | "false" | "0" => false,
            s => {
                out.push(Err(skip(i, format!("lendable {s:?} is not yes/no"))));
                continue;
            }
        };
        let format = match get(4) {
            "" => None,
            s => match Format::parse(s) {
                Some(f) => Some(f),
                None => {
                    out.push(Err(skip(i, format!("unknown format {s:?}"))));
                    continue;
                }
            },
        };
        out.push(Ok(CsvHolding {
            row: i,
            symbol: symbol.to_string(),
            record: record.to_string(),
            copies,
            lendable,
            format,
        }));
    }
    out
}

/// Reads a MARC record into a [`Bib`], carrying its read warnings along.
fn bib_with_warnings(rec: marc::Record, fields: &[HoldingField]) -> Bib {
    let mut b = Bib::from_record(&rec, fields);
    b.warnings = rec
        .warnings
        .iter()
        .map(|w| warning_label(w).to_string())
        .collect();
    b
}

/// Reads records from one file (ISO 2709 or MARCXML) into bibs, for tools and tests.
pub fn read_file_bibs(
    path: &Path,
    fields: &[HoldingField],
) -> std::io::Result<Vec<Result<Bib, marc::RecordError>>> {
    let data = std::fs::read(path)?;
    Ok(marc::read_any(&data)
        .into_iter()
        .map(|r| r.map(|rec| Bib::from_record(&rec, fields)))
        .collect())
}
