//! A union catalogue made from real records the way real union catalogues look, and
//! citations typed the way patrons type them: the ground on which matching precision is
//! measured (the tests and `bench-report --real`).
//!
//! Synthetic records cannot show what goes wrong on real data: series ISBNs printed in
//! unrelated books, translations sharing an identifier, miscatalogued 035s, subtitles that
//! one library records and another drops. Real records have all of that, but a single
//! real file (one library's catalogue) has no *copies*: every title is catalogued once.
//! [`Consortium`] turns one real file into many libraries' catalogues:
//!
//! - **Holdings.** Library `k` (0-based) holds each record with probability
//!   `min(0.9, c / (k + 1)^0.8)`, `c` set so that a record has `mean_holders` holders on
//!   average: a Zipf-shaped consortium where a few big libraries hold much and a long
//!   tail holds little. A share of records (`held_out`) is held by nobody: the books a
//!   patron asks for that the consortium does not have.
//! - **Copies.** Each library's copy of a record is its own cataloguing of the same book,
//!   varied independently per copy with the rates below (a seeded generator per record and
//!   library, so a copy is the same every run):
//!
//!   | what | rate |
//!   |---|---|
//!   | only the first ISBN kept / no 020 at all | 12 % / 4 % |
//!   | ISBN written in the other form (10 ↔ 13), with or without hyphens | 30 % |
//!   | ISBN qualifier such as "(pbk.)" dropped | 30 % |
//!   | 010 (LCCN) dropped | 20 % |
//!   | 035 (OCLC number) dropped, or written without its `ocm`/`ocn` prefix | 15 % / 30 % |
//!   | 245 `$b` (subtitle) dropped / `$c` dropped | 10 % / 20 % |
//!   | ISBD punctuation at the ends of subfields stripped | 30 % |
//!   | dates dropped from the 100 heading | 30 % |
//!   | every field folded to ASCII (diacritics dropped) | 15 % |
//!   | 250 edition statement written another way ("2nd ed." → "2. ed.", "Second edition") | 30 % |
//!   | 008 date one year off (printing vs copyright date) | 5 % |
//!   | 880 (vernacular) fields dropped | 30 % |
//!
//! Nothing here is tuned to the matcher: the rates are what a cataloguer sees between
//! member copies of one title in a union catalogue, and they are the same for every
//! version of the matching rules being compared.
//!
//! [`typed_citation`] writes the citation a patron would type for a record: the title
//! proper (the subtitle only sometimes), lower case or not, diacritics often dropped,
//! now and then a typo or a dropped leading article, the author as a surname, as
//! "Forename Surname" or with initials.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::id::ClusterId;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::lookup::Citation;
use crate::marc::{Record, trim_isbd, write_iso2709};
use crate::words::{ascii_fold, normalize_text};

/// How to split real records into a consortium.
#[derive(Clone, Debug)]
pub struct SplitOptions {
    /// Number of libraries.
    pub libraries: usize,
    /// Mean holders per held record.
    pub mean_holders: f64,
    /// Share of records (with a title and author no other record shares) held by nobody.
    pub held_out: f64,
    /// Seed for holdings, copies and citations.
    pub seed: u64,
}

impl Default for SplitOptions {
    fn default() -> Self {
        SplitOptions {
            libraries: 40,
            mean_holders: 4.0,
            held_out: 0.1,
            seed: 7,
        }
    }
}

/// Real records split into libraries' catalogues.
#[derive(Clone, Debug)]
pub struct Consortium {
    /// Library symbols (ISIL-shaped: `US-RL001`, ...), by library index.
    pub symbols: Vec<String>,
    /// Per record (by its index in the input), the libraries holding it, ascending.
    pub holders: Vec<Vec<u16>>,
    seed: u64,
}

/// Inclusion probability of library `k` for a given scale.
fn p_of(k: usize, c: f64) -> f64 {
    (c / ((k + 1) as f64).powf(0.8)).min(0.9)
}

fn mix(a: u64, b: u64) -> u64 {
    let mut x = a ^ b.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 33;
    x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    x ^= x >> 33;
    x
}

impl Consortium {
    /// Splits `records`. Records whose normalised title and author some other record
    /// shares are never held out: a citation of such a book could fairly match its twin.
    pub fn new(records: &[Record], opts: &SplitOptions) -> Consortium {
        let n = opts.libraries.clamp(1, u16::MAX as usize);
        let (mut lo, mut hi) = (0.0f64, n as f64);
        for _ in 0..60 {
            let mid = (lo + hi) / 2.0;
            let s: f64 = (0..n).map(|k| p_of(k, mid)).sum();
            if s < opts.mean_holders {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let p: Vec<f64> = (0..n).map(|k| p_of(k, hi)).collect();
        let mut seen: std::collections::HashMap<String, u32> = Default::default();
        let keys: Vec<String> = records.iter().map(work_key).collect();
        for k in &keys {
            *seen.entry(k.clone()).or_default() += 1;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
        let holders = records
            .iter()
            .zip(&keys)
            .map(|(_, k)| {
                if seen[k] == 1 && rng.gen_bool(opts.held_out.clamp(0.0, 1.0)) {
                    return Vec::new();
                }
                let mut h: Vec<u16> = (0..n)
                    .filter(|&i| rng.gen_bool(p[i]))
                    .map(|i| i as u16)
                    .collect();
                if h.is_empty() {
                    // held books have a holder: draw one in proportion to size
                    let total: f64 = p.iter().sum();
                    let mut x = rng.gen_range(0.0..total);
                    let mut pick = n - 1;
                    for (i, pi) in p.iter().enumerate() {
                        if x < *pi {
                            pick = i;
                            break;
                        }
                        x -= pi;
                    }
                    h.push(pick as u16);
                }
                h
            })
            .collect();
        Consortium {
            symbols: (0..n).map(|i| format!("US-RL{:03}", i + 1)).collect(),
            holders,
            seed: opts.seed,
        }
    }

    /// Whether nobody holds record `i`.
    pub fn is_held_out(&self, i: usize) -> bool {
        self.holders.get(i).is_none_or(Vec::is_empty)
    }

    /// Library `library`'s cataloguing of `record` (record number `index`).
    pub fn copy(&self, record: &Record, index: usize, library: u16) -> Record {
        let mut rng =
            ChaCha8Rng::seed_from_u64(mix(mix(self.seed, index as u64), u64::from(library) + 1));
        vary(record, &mut rng)
    }

    /// Writes one ISO 2709 file per library into `dir` (`US-RL001.mrc`, ...) and returns
    /// each library's symbol and file. A copy's 001 is the source record's 001, so a test
    /// can tell which record each copy came from.
    pub fn write_library_files(
        &self,
        records: &[Record],
        dir: &Path,
    ) -> std::io::Result<Vec<(String, PathBuf)>> {
        let mut out = Vec::with_capacity(self.symbols.len());
        let mut per_lib: Vec<Vec<usize>> = vec![Vec::new(); self.symbols.len()];
        for (i, h) in self.holders.iter().enumerate() {
            for &l in h {
                per_lib[usize::from(l)].push(i);
            }
        }
        for (l, recs) in per_lib.iter().enumerate() {
            let path = dir.join(format!("{}.mrc", self.symbols[l]));
            let mut w = std::io::BufWriter::new(std::fs::File::create(&path)?);
            let mut buf = Vec::new();
            for &i in recs {
                buf.clear();
                write_iso2709(&self.copy(&records[i], i, l as u16), &mut buf);
                w.write_all(&buf)?;
            }
            w.flush()?;
            out.push((self.symbols[l].clone(), path));
        }
        Ok(out)
    }
}

/// The significant words of the title proper and part, and the main author: two records
/// with the same key may be one book, so [`Consortium::new`] holds neither out.
fn work_key(r: &Record) -> String {
    let t = r
        .field("245")
        .map(|f| {
            f.subfields
                .iter()
                .filter(|s| matches!(s.code, b'a' | b'n' | b'p'))
                .map(|s| s.value.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    let a = ["100", "110", "111"]
        .iter()
        .find_map(|t| r.field(t).and_then(|f| f.sub(b'a')))
        .unwrap_or("");
    let mut words = crate::words::significant(&t);
    words.sort();
    format!("{}|{}", words.join(" "), normalize_text(a))
}

fn isbn_digits(s: &str) -> Option<(String, String)> {
    // (digits, rest of the subfield after the number)
    let t = s.trim_start();
    let end = t
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '-' || *c == 'X' || *c == 'x'))
        .map_or(t.len(), |(i, _)| i);
    let digits: String = t[..end].chars().filter(|c| *c != '-').collect();
    matches!(digits.len(), 10 | 13).then(|| (digits.to_ascii_uppercase(), t[end..].to_string()))
}

fn isbn10_to_13(d: &str) -> String {
    let body = format!("978{}", &d[..9]);
    let sum: u32 = body
        .bytes()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

fn isbn13_to_10(d: &str) -> Option<String> {
    if !d.starts_with("978") || !d.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let body = &d[3..12];
    let sum: u32 = body
        .bytes()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * (10 - i as u32))
        .sum();
    let c = (11 - sum % 11) % 11;
    Some(format!(
        "{body}{}",
        if c == 10 {
            'X'
        } else {
            char::from(b'0' + c as u8)
        }
    ))
}

fn hyphenate(d: &str) -> String {
    // not the registration-group rules, only what a hand-typed ISBN looks like
    match d.len() {
        10 => format!("{}-{}-{}-{}", &d[..1], &d[1..4], &d[4..9], &d[9..]),
        _ => format!(
            "{}-{}-{}-{}-{}",
            &d[..3],
            &d[3..4],
            &d[4..7],
            &d[7..12],
            &d[12..]
        ),
    }
}

fn rewrite_edition(s: &str, rng: &mut ChaCha8Rng) -> String {
    let Ok(v) = crate::bib::edition_number(s).parse::<u32>() else {
        return s.to_string();
    };
    const ORD: [&str; 10] = [
        "First", "Second", "Third", "Fourth", "Fifth", "Sixth", "Seventh", "Eighth", "Ninth",
        "Tenth",
    ];
    match rng.gen_range(0..3) {
        0 => format!("{v}. ed."),
        1 if (1..=10).contains(&v) => format!("{} edition", ORD[v as usize - 1]),
        _ => format!(
            "{v}{} ed.",
            match v % 10 {
                1 if v % 100 != 11 => "st",
                2 if v % 100 != 12 => "nd",
                3 if v % 100 != 13 => "rd",
                _ => "th",
            }
        ),
    }
}

/// One library's cataloguing of a record (see the module doc for the rates).
fn vary(r: &Record, rng: &mut ChaCha8Rng) -> Record {
    let mut out = r.clone();
    out.warnings.clear();
    let fold = rng.gen_bool(0.15);
    let strip_isbd = rng.gen_bool(0.30);
    // 020
    let isbn_mode = rng.gen_range(0.0..1.0);
    if isbn_mode < 0.04 {
        out.fields.retain(|f| &f.tag != b"020");
    } else if isbn_mode < 0.16 {
        let mut kept = false;
        out.fields.retain(|f| {
            if &f.tag != b"020" || f.sub(b'a').is_none() {
                return true;
            }
            let k = !kept;
            kept = true;
            k
        });
    }
    let other_form = rng.gen_bool(0.30);
    let hyphens = rng.gen_bool(0.5);
    let drop_qualifier = rng.gen_bool(0.30);
    let drop_lccn = rng.gen_bool(0.20);
    let oclc_mode = rng.gen_range(0.0..1.0);
    let drop_sub = rng.gen_bool(0.10);
    let drop_resp = rng.gen_bool(0.20);
    let drop_dates = rng.gen_bool(0.30);
    let edition = rng.gen_bool(0.30);
    let year_off = rng.gen_bool(0.05);
    let drop_880 = rng.gen_bool(0.30);
    out.fields.retain(|f| {
        !(drop_lccn && &f.tag == b"010"
            || oclc_mode < 0.15 && &f.tag == b"035"
            || drop_880 && &f.tag == b"880")
    });
    for f in &mut out.fields {
        match &f.tag {
            b"020" => {
                for s in f.subfields.iter_mut().filter(|s| s.code == b'a') {
                    let Some((d, rest)) = isbn_digits(&s.value) else {
                        continue;
                    };
                    let d = if other_form {
                        match d.len() {
                            10 => isbn10_to_13(&d),
                            _ => isbn13_to_10(&d).unwrap_or(d),
                        }
                    } else {
                        d
                    };
                    let d = if hyphens { hyphenate(&d) } else { d };
                    s.value = if drop_qualifier || rest.trim().is_empty() {
                        d
                    } else {
                        format!("{d}{rest}")
                    };
                }
            }
            b"035" if oclc_mode < 0.45 => {
                for s in f.subfields.iter_mut().filter(|s| s.code == b'a') {
                    for p in ["(OCoLC)ocm", "(OCoLC)ocn", "(OCoLC)on"] {
                        if let Some(rest) = s.value.strip_prefix(p) {
                            s.value = format!("(OCoLC){rest}");
                            break;
                        }
                    }
                }
            }
            b"245" => {
                f.subfields
                    .retain(|s| !(drop_sub && s.code == b'b' || drop_resp && s.code == b'c'));
            }
            b"100" | b"700" if drop_dates => f.subfields.retain(|s| s.code != b'd'),
            b"250" if edition => {
                if let Some(s) = f.subfields.iter_mut().find(|s| s.code == b'a') {
                    s.value = rewrite_edition(&s.value, rng);
                }
            }
            b"008" if year_off => {
                if let Some(c) = &mut f.control
                    && let Some(y) = c.get(7..11).and_then(|y| y.parse::<u16>().ok())
                {
                    let y = if rng.gen_bool(0.5) { y + 1 } else { y - 1 };
                    c.replace_range(7..11, &format!("{y:04}"));
                }
            }
            _ => {}
        }
        if strip_isbd && f.control.is_none() {
            for s in &mut f.subfields {
                let t = trim_isbd(&s.value).into_owned();
                s.value = t;
            }
            f.subfields.retain(|s| !s.value.is_empty());
        }
        if fold {
            if let Some(c) = &mut f.control {
                *c = ascii_fold(c);
            }
            for s in &mut f.subfields {
                s.value = ascii_fold(&s.value);
            }
        }
    }
    out
}

/// How a patron cites a book.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Typed {
    /// Title and author.
    TitleAuthor,
    /// Title only.
    Title,
    /// The first two words of the title only.
    FirstWords,
}

fn typo(word: &str, rng: &mut ChaCha8Rng) -> String {
    let mut cs: Vec<char> = word.chars().collect();
    let i = rng.gen_range(1..cs.len().saturating_sub(1).max(2));
    let i = i.min(cs.len() - 1);
    match rng.gen_range(0..4) {
        0 => {
            cs[i] = (b'a' + rng.gen_range(0..26)) as char;
        }
        1 => {
            cs.remove(i);
        }
        2 if i + 1 < cs.len() => cs.swap(i, i + 1),
        _ => cs.insert(i, (b'a' + rng.gen_range(0..26)) as char),
    }
    cs.into_iter().collect()
}

const ARTICLES: &[&str] = &[
    "the ", "a ", "an ", "der ", "die ", "das ", "le ", "la ", "les ", "l'", "el ", "los ", "las ",
    "il ", "lo ",
];

/// The citation a patron would type for `r` (see the module doc), or `None` when the
/// record has no usable title (or, for [`Typed::TitleAuthor`], no personal or corporate
/// main entry).
pub fn typed_citation(r: &Record, how: Typed, seed: u64) -> Option<Citation> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let f245 = r.field("245")?;
    let mut title = f245
        .sub(b'a')
        .map(|s| trim_isbd(s).into_owned())
        .unwrap_or_default();
    if rng.gen_bool(0.7) {
        for s in f245
            .subfields
            .iter()
            .filter(|s| matches!(s.code, b'n' | b'p'))
        {
            title.push(' ');
            title.push_str(&trim_isbd(&s.value));
        }
    }
    if how != Typed::FirstWords
        && rng.gen_bool(0.3)
        && let Some(b) = f245.sub(b'b')
    {
        title.push_str(": ");
        title.push_str(&trim_isbd(b));
    }
    // romanised titles carry an 880 link prefix in some exports
    if title.starts_with("880-") {
        title = title.split_once(' ').map_or("", |x| x.1).to_string();
    }
    if normalize_text(&title).is_empty() {
        return None;
    }
    if rng.gen_bool(0.4) {
        title = ascii_fold(&title);
    }
    if rng.gen_bool(0.5) {
        title = title.to_lowercase();
    }
    if rng.gen_bool(0.3) {
        let low = title.to_lowercase();
        if let Some(a) = ARTICLES.iter().find(|a| low.starts_with(**a)) {
            title = title[a.len()..].to_string();
        }
    }
    if how == Typed::FirstWords {
        title = title
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        return Some(Citation {
            title: Some(title),
            ..Citation::default()
        });
    }
    if rng.gen_bool(0.25) {
        let words: Vec<&str> = title.split_whitespace().collect();
        let long: Vec<usize> = (0..words.len())
            .filter(|&i| words[i].chars().count() >= 5)
            .collect();
        if let Some(&i) = long.choose(&mut rng) {
            let t = typo(words[i], &mut rng);
            title = words
                .iter()
                .enumerate()
                .map(|(j, w)| if j == i { t.as_str() } else { w })
                .collect::<Vec<_>>()
                .join(" ");
        }
    }
    let author = if how == Typed::TitleAuthor {
        Some(typed_author(r, &mut rng)?)
    } else {
        None
    };
    Some(Citation {
        title: Some(title),
        author,
        ..Citation::default()
    })
}

fn typed_author(r: &Record, rng: &mut ChaCha8Rng) -> Option<String> {
    if let Some(f) = r.field("100") {
        let a = trim_isbd(f.sub(b'a')?).into_owned();
        let a = if rng.gen_bool(0.4) { ascii_fold(&a) } else { a };
        let (sur, fore) = match a.split_once(',') {
            Some((s, f)) => (s.trim().to_string(), f.trim().to_string()),
            None => (a.trim().to_string(), String::new()),
        };
        if sur.is_empty() {
            return None;
        }
        return Some(match rng.gen_range(0..10) {
            0..4 => sur,
            4..8 if !fore.is_empty() => format!("{fore} {sur}"),
            _ => match fore.chars().next() {
                Some(c) => format!("{sur}, {c}."),
                None => sur,
            },
        });
    }
    ["110", "111"]
        .iter()
        .find_map(|t| r.field(t).and_then(|f| f.sub(b'a')))
        .map(|s| trim_isbd(s).into_owned())
}

/// A hand label for a pair of records that share an identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Label {
    /// The same book.
    Same,
    /// Different books.
    Different,
    /// A cataloguer could not tell from the records: left out of both measures.
    Unsure,
}

/// A labelled pair of records, by 001.
#[derive(Clone, Debug)]
pub struct LabelledPair {
    /// First record's 001.
    pub a: String,
    /// Second record's 001.
    pub b: String,
    /// The label.
    pub label: Label,
}

/// Parses the labelled pairs file (`a⇥b⇥same|different|unsure⇥…`); lines starting
/// with `#` are comments.
pub fn parse_labels(tsv: &str) -> Result<Vec<LabelledPair>, String> {
    tsv.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|(n, l)| {
            let c: Vec<&str> = l.split('\t').collect();
            let label = match c.get(2).copied() {
                Some("same") => Label::Same,
                Some("different") => Label::Different,
                Some("unsure") => Label::Unsure,
                other => return Err(format!("line {}: label {other:?}", n + 1)),
            };
            Ok(LabelledPair {
                a: c[0].to_string(),
                b: c.get(1).copied().unwrap_or("").to_string(),
                label,
            })
        })
        .collect()
}

/// A consortium built into a catalogue, and where each record's copies went.
pub struct Built {
    /// The catalogue.
    pub catalog: crate::index::Catalog,
    /// The build report.
    pub report: crate::ingest::BuildReport,
    /// Per record, the clusters of its copies (empty for a held-out record).
    pub clusters: Vec<Vec<ClusterId>>,
    /// Per record, the cluster of each copy, in holder order.
    pub copy_clusters: Vec<Vec<ClusterId>>,
}

/// Builds the consortium's catalogue through the real pipeline ([`crate::ingest`]):
/// every library's copies as that library's own file.
pub fn build(records: &[Record], con: &Consortium) -> Result<Built, crate::index::BuildError> {
    use crate::ingest::{self, Input, Manifest, Source, SourceRecord};
    let opts = crate::bib::ReadOptions::default();
    let mut input = Vec::new();
    let mut owner = Vec::new();
    for (i, r) in records.iter().enumerate() {
        for &l in &con.holders[i] {
            input.push(SourceRecord {
                bib: crate::bib::Bib::read(&con.copy(r, i, l), &opts),
                source: usize::from(l),
                index: i,
            });
            owner.push(i);
        }
    }
    let manifest = Manifest {
        name: "realistic".into(),
        libraries: vec![],
        sources: con
            .symbols
            .iter()
            .map(|s| Source::library_file(format!("{s}.mrc"), s.clone()))
            .collect(),
    };
    let built = ingest::assemble(
        &manifest,
        Input::from_records(input),
        &ingest::BuildOptions::default(),
        &|_| {},
    )?;
    let mut copy_clusters = vec![Vec::new(); records.len()];
    for (k, &i) in owner.iter().enumerate() {
        copy_clusters[i].push(ClusterId::new(built.clusters[k]));
    }
    let clusters = copy_clusters
        .iter()
        .map(|v| {
            let mut v = v.clone();
            v.sort_unstable();
            v.dedup();
            v
        })
        .collect();
    Ok(Built {
        catalog: crate::index::Catalog::from_bytes(built.bytes)
            .map_err(crate::index::BuildError::Invalid)?,
        report: built.report,
        clusters,
        copy_clusters,
    })
}

/// How clustering did on real pairs and on copies of one record.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ClusteringScore {
    /// Labelled "different" pairs, and how many ended up sharing a cluster.
    pub different: usize,
    /// Different pairs fused.
    pub fused: usize,
    /// Labelled "same" pairs, and how many share a cluster.
    pub same: usize,
    /// Same pairs merged.
    pub merged: usize,
    /// Pairs of copies of one record.
    pub copy_pairs: u64,
    /// Copy pairs in one cluster.
    pub copies_merged: u64,
    /// The fused different pairs (001s).
    pub fused_pairs: Vec<(String, String)>,
    /// The same pairs left apart (001s).
    pub missed_pairs: Vec<(String, String)>,
}

impl ClusteringScore {
    /// Share of different pairs fused.
    pub fn fused_share(&self) -> f64 {
        self.fused as f64 / self.different.max(1) as f64
    }

    /// Share of same pairs and copy pairs merged (the copies dominate).
    pub fn merged_share(&self) -> f64 {
        (self.merged as f64 + self.copies_merged as f64)
            / (self.same as f64 + self.copy_pairs as f64).max(1.0)
    }
}

/// Scores a build against labelled pairs: a pair is fused (or merged) when a copy of one
/// shares a cluster with a copy of the other.
pub fn score_clustering(
    records: &[Record],
    built: &Built,
    pairs: &[LabelledPair],
) -> ClusteringScore {
    let by_id: std::collections::HashMap<&str, usize> = records
        .iter()
        .enumerate()
        .filter_map(|(i, r)| Some((r.control("001")?.trim(), i)))
        .collect();
    let mut s = ClusteringScore::default();
    for p in pairs {
        let (Some(&a), Some(&b)) = (by_id.get(p.a.as_str()), by_id.get(p.b.as_str())) else {
            continue;
        };
        let (ca, cb) = (&built.clusters[a], &built.clusters[b]);
        if ca.is_empty() || cb.is_empty() {
            continue;
        }
        let together = ca.iter().any(|c| cb.binary_search(c).is_ok());
        match p.label {
            Label::Different => {
                s.different += 1;
                if together {
                    s.fused += 1;
                    s.fused_pairs.push((p.a.clone(), p.b.clone()));
                }
            }
            Label::Same => {
                s.same += 1;
                if together {
                    s.merged += 1;
                } else {
                    s.missed_pairs.push((p.a.clone(), p.b.clone()));
                }
            }
            Label::Unsure => {}
        }
    }
    for v in &built.copy_clusters {
        for x in 0..v.len() {
            for y in x + 1..v.len() {
                s.copy_pairs += 1;
                s.copies_merged += u64::from(v[x] == v[y]);
            }
        }
    }
    s
}

/// How citations of one kind routed.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct CitationScore {
    /// Citations of held books.
    pub held: usize,
    /// ... routed to the right book's holders (perhaps with another edition's: a
    /// citation without a year names any edition).
    pub held_right: usize,
    /// ... of those, routed to another edition's holders as well.
    pub held_with_editions: usize,
    /// ... routed to another book only.
    pub held_wrong: usize,
    /// Citations of books nobody holds.
    pub unheld: usize,
    /// ... routed to some other book's holders.
    pub unheld_routed: usize,
}

impl CitationScore {
    /// Share of held books routed right.
    pub fn held_right_share(&self) -> f64 {
        self.held_right as f64 / self.held.max(1) as f64
    }

    /// Share of unheld books routed to another book.
    pub fn unheld_routed_share(&self) -> f64 {
        self.unheld_routed as f64 / self.unheld.max(1) as f64
    }
}

/// Scores citations typed `how` for every record (every `step`-th held one, all held
/// out ones): `route` returns the clusters a citation would be routed to (empty when it
/// would not be routed).
pub fn score_citations(
    records: &[Record],
    built: &Built,
    how: Typed,
    step: usize,
    seed: u64,
    mut route: impl FnMut(&Citation) -> Vec<ClusterId>,
) -> CitationScore {
    let mut s = CitationScore::default();
    for (i, r) in records.iter().enumerate() {
        let held = !built.clusters[i].is_empty();
        if held && i % step.max(1) != 0 {
            continue;
        }
        let Some(c) = typed_citation(r, how, mix(seed, i as u64)) else {
            continue;
        };
        let routed = route(&c);
        if held {
            s.held += 1;
            if routed.is_empty() {
                continue;
            }
            if routed.iter().any(|c| built.clusters[i].contains(c)) {
                s.held_right += 1;
                s.held_with_editions +=
                    usize::from(!routed.iter().all(|c| built.clusters[i].contains(c)));
            } else {
                s.held_wrong += 1;
            }
        } else {
            s.unheld += 1;
            s.unheld_routed += usize::from(!routed.is_empty());
        }
    }
    s
}

/// Record numbers (indexes into `records`) whose 001 is in `ids`.
pub fn indexes_of(records: &[Record], ids: &HashSet<String>) -> Vec<usize> {
    records
        .iter()
        .enumerate()
        .filter(|(_, r)| r.control("001").is_some_and(|c| ids.contains(c.trim())))
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bib::Bib;
    use crate::ident::normalize_isbn;
    use crate::marc::{Field, Subfield};

    fn field(tag: &str, code: u8, v: &str) -> Field {
        Field {
            tag: tag.as_bytes().try_into().unwrap(),
            ind: *b"  ",
            control: None,
            subfields: vec![Subfield {
                code,
                value: v.into(),
            }],
        }
    }

    fn rec() -> Record {
        let mut t = field("245", b'a', "Die Fähre legt sich hin am Strand :");
        t.subfields.push(Subfield {
            code: b'b',
            value: "ein Lesebuch /".into(),
        });
        Record {
            leader: "00000nam a2200000 a 4500".into(),
            fields: vec![
                Field {
                    tag: *b"001",
                    ind: *b"  ",
                    control: Some("00299693".into()),
                    subfields: vec![],
                },
                field("020", b'a', "3716022543 (pbk.)"),
                field("100", b'a', "Walter, Silja,"),
                t,
            ],
            warnings: vec![],
        }
    }

    #[test]
    fn isbn_forms_convert_both_ways() {
        assert_eq!(isbn10_to_13("3716022543"), "9783716022542");
        assert_eq!(isbn13_to_10("9783716022542").as_deref(), Some("3716022543"));
        assert_eq!(isbn13_to_10("9790000000001"), None);
        assert!(normalize_isbn(&hyphenate("9783716022542")).unwrap().valid());
    }

    #[test]
    fn copies_keep_the_book_and_differ_in_form() {
        let r = rec();
        let c = Consortium {
            symbols: vec!["A".into()],
            holders: vec![vec![0]],
            seed: 1,
        };
        let base = Bib::from_record(&r, &[]);
        let mut differ = 0;
        for l in 0..200u16 {
            let copy = c.copy(&r, 0, l);
            assert_eq!(copy, c.copy(&r, 0, l), "deterministic");
            let b = Bib::from_record(&copy, &[]);
            // the ISBN, when kept, is the same number in whatever form
            if let Some(i) = b.ids.first() {
                assert_eq!(i, &base.ids[0]);
            }
            differ += usize::from(b.title != base.title || b.author != base.author);
        }
        assert!(differ > 20, "copies vary: {differ}");
    }

    #[test]
    fn holdings_follow_the_options() {
        let recs: Vec<Record> = (0..4000)
            .map(|i| {
                let mut r = rec();
                r.fields[3] = field("245", b'a', &format!("Title number {i}"));
                r
            })
            .collect();
        let c = Consortium::new(
            &recs,
            &SplitOptions {
                libraries: 30,
                mean_holders: 4.0,
                held_out: 0.1,
                seed: 3,
            },
        );
        let held: Vec<&Vec<u16>> = c.holders.iter().filter(|h| !h.is_empty()).collect();
        let out = recs.len() - held.len();
        assert!((300..500).contains(&out), "held out {out}");
        let mean = held.iter().map(|h| h.len()).sum::<usize>() as f64 / held.len() as f64;
        assert!((3.6..4.6).contains(&mean), "mean holders {mean}");
        // the first library holds far more than the last
        let count = |l: u16| held.iter().filter(|h| h.contains(&l)).count();
        assert!(count(0) > 4 * count(29));
    }

    #[test]
    fn citations_are_typed_from_the_title_proper() {
        let r = rec();
        let mut subtitles = 0;
        for s in 0..100 {
            let c = typed_citation(&r, Typed::TitleAuthor, s).unwrap();
            let t = normalize_text(c.title.as_deref().unwrap());
            assert!(t.contains("legt") || t.contains("strand") || t.contains("fahre"));
            subtitles += usize::from(t.contains("lesebuch"));
            let a = normalize_text(c.author.as_deref().unwrap());
            assert!(a.contains("walter"), "{a}");
        }
        assert!((10..60).contains(&subtitles), "{subtitles}");
        let c = typed_citation(&r, Typed::FirstWords, 1).unwrap();
        assert!(c.title.unwrap().split_whitespace().count() <= 2);
    }
}
