//! A synthetic union catalogue for tests, benchmarks and the demo.
//!
//! - Library sizes are log-normal (a few large research libraries, a long tail of small
//!   ones), which is the shape of the IMLS book-volume figures.
//! - Every record has a valid, unique ISBN-13 and OCLC number, a title of two to six
//!   words from a generated vocabulary, an author and a year.
//! - Holders per record are heavy-tailed with a mean of about 5.9 (WorldCat's ratio of
//!   holdings to records) and are drawn in proportion to library size, so big libraries
//!   hold more, as they do.
//!
//! Deterministic for a seed: the same parameters give byte-identical snapshots.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::format::Format;
use crate::id::LibraryId;
use crate::ident::{IdKind, IdStatus, Ident};
use crate::index::{BuildError, ClusterData, Holding, IndexBuilder, Library};
use crate::lending::Lending;

/// Generator parameters.
#[derive(Clone, Debug)]
pub struct GenParams {
    /// Number of libraries.
    pub libraries: usize,
    /// Number of records (each its own cluster).
    pub records: usize,
    /// Target mean holders per record.
    pub mean_holders: f64,
    /// Seed.
    pub seed: u64,
}

impl Default for GenParams {
    fn default() -> Self {
        GenParams {
            libraries: 300,
            records: 100_000,
            mean_holders: 5.9,
            seed: 42,
        }
    }
}

const SYL: &[&str] = &[
    "ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "pa", "li", "dor", "ven", "mar", "tis", "bel",
    "cor", "ran", "sol", "qui", "ber", "gan", "hel", "ith", "jor", "kel", "lum", "nor", "ost",
    "pel", "quo", "ras", "sen", "tur", "ul", "wen", "xa", "yor", "zel", "an", "en",
];
const GIVEN: &[&str] = &[
    "Anna", "Ben", "Clara", "David", "Elena", "Felix", "Grace", "Hugo", "Ines", "Jonas", "Karin",
    "Luis", "Maya", "Nils", "Olga", "Paul", "Rosa", "Sven", "Tara", "Umar",
];
const PLACES: &[&str] = &[
    "North", "South", "East", "West", "Lake", "River", "Hill", "Bay", "Valley", "Harbor", "Forest",
    "Stone", "Green", "Oak", "Pine", "Maple", "Cedar", "Spring", "Fair", "Glen",
];

/// A word from the vocabulary: syllables picked by the digits of `i` in base |SYL|.
pub fn word(mut i: usize) -> String {
    let n = SYL.len();
    let mut w = String::new();
    for _ in 0..2 + i % 2 {
        w.push_str(SYL[i % n]);
        i /= n;
    }
    w
}

/// The `i`-th library's symbol.
pub fn library_symbol(i: usize) -> String {
    format!("L{i:05}")
}

/// Log-normal library weights (relative collection sizes), largest first.
pub fn library_weights(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x11B5);
    let mut w: Vec<f64> = (0..n).map(|_| (1.6 * std_normal(&mut rng)).exp()).collect();
    w.sort_by(|a, b| b.total_cmp(a));
    w
}

fn std_normal(rng: &mut impl Rng) -> f64 {
    // Box–Muller; one value is enough here
    let u1: f64 = rng.r#gen::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.r#gen();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Walker's alias table for O(1) weighted draws.
struct Alias {
    prob: Vec<f64>,
    alias: Vec<u32>,
}

impl Alias {
    fn new(w: &[f64]) -> Alias {
        let n = w.len();
        let sum: f64 = w.iter().sum();
        let mut p: Vec<f64> = w.iter().map(|x| x * n as f64 / sum).collect();
        let mut alias = vec![0u32; n];
        let (mut small, mut large): (Vec<usize>, Vec<usize>) = (0..n).partition(|&i| p[i] < 1.0);
        while let (Some(s), Some(&l)) = (small.pop(), large.last()) {
            alias[s] = l as u32;
            p[l] -= 1.0 - p[s];
            if p[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        for i in large.into_iter().chain(small) {
            p[i] = 1.0;
        }
        Alias { prob: p, alias }
    }

    fn draw(&self, rng: &mut impl Rng) -> u32 {
        let i = rng.gen_range(0..self.prob.len());
        if rng.r#gen::<f64>() < self.prob[i] {
            i as u32
        } else {
            self.alias[i]
        }
    }
}

/// A pseudo-random permutation of 0..10^9 (a Feistel network on 30 bits, walking cycles
/// until the value falls below 10^9), keyed by `salt`. Real identifiers are scattered:
/// an affine map from the record number would let the identifier index compress the
/// synthetic catalogue far better than any real one.
fn scatter(i: u64, salt: u64) -> u64 {
    const N: u64 = 1_000_000_000;
    let mut x = i % N;
    loop {
        let (mut l, mut r) = (x >> 15, x & 0x7FFF);
        for round in 0..4u64 {
            let f = (r ^ salt ^ round.wrapping_mul(0x9E37_79B9))
                .wrapping_mul(0xBF58_476D_1CE4_E5B9)
                >> 49;
            (l, r) = (r, l ^ (f & 0x7FFF));
        }
        x = l << 15 | r;
        if x < N {
            return x;
        }
    }
}

fn isbn_for(i: u64) -> String {
    let body = scatter(i, 0x15B1);
    let mut d = format!("978{body:09}").into_bytes();
    let sum: u32 = d
        .iter()
        .enumerate()
        .map(|(k, c)| if k % 2 == 0 { 1 } else { 3 } * u32::from(c - b'0'))
        .sum();
    d.push(b'0' + ((10 - sum % 10) % 10) as u8);
    String::from_utf8(d).unwrap_or_default()
}

fn holders_count(rng: &mut impl Rng, mean: f64, max: usize) -> usize {
    // log-normal with sigma 1.1; mu chosen so the mean after rounding/clamping is ~mean
    let sigma = 1.1;
    let mu = mean.ln() - sigma * sigma / 2.0;
    let x = (mu + sigma * std_normal(rng)).exp();
    (x.round() as usize).clamp(1, max)
}

/// One generated record, as the index builder takes it.
pub fn record(i: u64, p: &GenParams, alias_w: &[f64]) -> ClusterData {
    let alias = Alias::new(alias_w);
    record_with(i, p, &alias)
}

fn record_with(i: u64, p: &GenParams, alias: &Alias) -> ClusterData {
    let mut rng = ChaCha8Rng::seed_from_u64(p.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i);
    let nwords = rng.gen_range(2..=6);
    let title: Vec<String> = (0..nwords)
        .map(|_| {
            // Zipf-ish vocabulary use: a few common words, a long tail
            let r: f64 = rng.r#gen();
            word((r * r * 20_000.0) as usize)
        })
        .collect();
    let mut title = title.join(" ");
    if let Some(c) = title.get_mut(0..1) {
        c.make_ascii_uppercase();
    }
    let author = format!(
        "{}, {}",
        capital(&word(rng.gen_range(0..8_000))),
        GIVEN[rng.gen_range(0..GIVEN.len())]
    );
    let fr: f64 = rng.r#gen();
    let format = match fr {
        x if x < 0.85 => Format::Book,
        x if x < 0.93 => Format::Serial,
        x if x < 0.97 => Format::AudioVisual,
        x if x < 0.98 => Format::Microform,
        x if x < 0.99 => Format::Score,
        _ => Format::Rare,
    };
    let k = holders_count(&mut rng, p.mean_holders, p.libraries);
    let mut libs: Vec<u32> = Vec::with_capacity(k);
    if k * 2 > p.libraries {
        let mut all: Vec<u32> = (0..p.libraries as u32).collect();
        for j in 0..k {
            let s = rng.gen_range(j..all.len());
            all.swap(j, s);
        }
        libs.extend_from_slice(&all[..k]);
    } else {
        let mut tries = 0;
        while libs.len() < k && tries < 50 * k {
            let l = alias.draw(&mut rng);
            if !libs.contains(&l) {
                libs.push(l);
            }
            tries += 1;
        }
    }
    let holdings = libs
        .into_iter()
        .map(|l| Holding {
            library: LibraryId::new(l),
            copies: if rng.gen_bool(0.85) {
                1
            } else {
                rng.gen_range(2..5)
            },
            lending: if format != Format::Rare && rng.gen_bool(0.92) {
                Lending::BOTH
            } else {
                Lending::NONE
            },
            format,
        })
        .collect();
    ClusterData {
        ids: vec![
            Ident {
                kind: IdKind::Isbn,
                value: isbn_for(i).into(),
                status: IdStatus::Valid,
            },
            Ident {
                kind: IdKind::Oclc,
                value: (scatter(i, 0x0C1C) + 1).to_string().into(),
                status: IdStatus::Valid,
            },
        ],
        match_key: None,
        title_proper: title.clone(),
        names: vec![author.clone()],
        main_entry: true,
        title,
        author,
        year: Some(rng.gen_range(1900..=2025)),
        format,
        holdings,
        ..ClusterData::default()
    }
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The ISBN-13 of synthetic record `i` (for tests and load generators).
pub fn isbn_of(i: u64) -> String {
    isbn_for(i)
}

/// The libraries of a synthetic consortium.
pub fn libraries(n: usize) -> Vec<Library> {
    (0..n)
        .map(|i| Library {
            symbol: library_symbol(i),
            name: format!(
                "{} {} {}",
                PLACES[i % PLACES.len()],
                capital(&word(i / PLACES.len() + 7)),
                if i % 5 == 0 {
                    "University Library"
                } else {
                    "Public Library"
                }
            ),
        })
        .collect()
}

/// Generates a catalogue snapshot. `progress` is called with records done.
pub fn generate(p: &GenParams, progress: &(dyn Fn(usize) + Sync)) -> Result<Vec<u8>, BuildError> {
    let weights = library_weights(p.libraries.max(1), p.seed);
    generate_for(p, libraries(p.libraries.max(1)), &weights, progress)
}

/// Generates a catalogue over given libraries, drawing holders in proportion to
/// `weights` (e.g. real collection sizes).
pub fn generate_for(
    p: &GenParams,
    libs: Vec<Library>,
    weights: &[f64],
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Vec<u8>, BuildError> {
    generate_with(p, libs, weights, progress, &|_, _| {})
}

/// [`generate_for`], with each record passed through `edit` (its number, its data) before
/// it is indexed: a simulation adds what its world needs, such as serial coverage.
pub fn generate_with(
    p: &GenParams,
    libs: Vec<Library>,
    weights: &[f64],
    progress: &(dyn Fn(usize) + Sync),
    edit: &(dyn Fn(u64, &mut ClusterData) + Sync),
) -> Result<Vec<u8>, BuildError> {
    let p = GenParams {
        libraries: libs.len(),
        ..p.clone()
    };
    let alias = Alias::new(weights);
    let mut b = IndexBuilder::new(
        libs,
        format!(
            "synthetic: {} libraries, {} records, seed {}",
            p.libraries, p.records, p.seed
        ),
    );
    const CHUNK: usize = 65_536;
    let mut start = 0usize;
    while start < p.records {
        let end = (start + CHUNK).min(p.records);
        let chunk: Vec<ClusterData> = (start..end)
            .into_par_iter()
            .map(|i| {
                let mut c = record_with(i as u64, &p, &alias);
                edit(i as u64, &mut c);
                c
            })
            .collect();
        for c in chunk {
            b.add(c)?;
        }
        start = end;
        progress(start);
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_unique_and_scattered() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..200_000u64 {
            let x = scatter(i, 0x0C1C);
            assert!(x < 1_000_000_000 && seen.insert(x), "record {i}");
        }
        // neighbours in record order are not neighbours in identifier order
        let close = (0..1000u64)
            .filter(|&i| scatter(i, 1).abs_diff(scatter(i + 1, 1)) < 1_000_000)
            .count();
        assert!(close < 10, "{close}");
    }
    use crate::ident::normalize_isbn;

    #[test]
    fn isbns_are_valid_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..20_000 {
            let s = isbn_for(i);
            assert!(normalize_isbn(&s).unwrap().valid(), "{s}");
            assert!(seen.insert(s));
        }
    }

    #[test]
    fn holders_mean_is_about_5_9() {
        let p = GenParams {
            libraries: 1000,
            ..GenParams::default()
        };
        let w = library_weights(1000, 1);
        let a = Alias::new(&w);
        let n = 20_000;
        let total: usize = (0..n).map(|i| record_with(i, &p, &a).holdings.len()).sum();
        let mean = total as f64 / n as f64;
        assert!((5.4..6.4).contains(&mean), "mean holders {mean}");
    }

    #[test]
    fn deterministic() {
        let p = GenParams {
            records: 500,
            libraries: 20,
            ..GenParams::default()
        };
        assert_eq!(
            generate(&p, &|_| {}).unwrap(),
            generate(&p, &|_| {}).unwrap()
        );
    }
}
