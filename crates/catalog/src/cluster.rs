//! Clustering records that describe the same item.
//!
//! # The rule
//!
//! Two records are one cluster when they describe one book closely enough that a library
//! holding either could lend it for the other: the same work, in the same language, the
//! same edition and part, on the same kind of carrier. Identifiers propose merges; what
//! the records say about the work decides them.
//!
//! 1. **OCLC numbers** (after mapping former numbers from 019 to the number that replaced
//!    them) merge records, unless the records contradict each other so plainly that the
//!    number must be a miscatalogued 035: their titles contradict *and* their main
//!    authors do not agree, or their languages differ (OCLC never gives a translation the
//!    original's number), or one is online and the other is not.
//! 2. **ISBN, LCCN and ISSN** (ISSN only between serials) propose a merge of the two
//!    records' clusters, which is made only when the clusters' representatives agree on
//!    everything below; a single contradiction refuses it:
//!    - *title*: the significant words ([`crate::words::significant`]) of one title
//!      proper all occur in the other's full title (title proper and subtitle), a word of
//!      five letters or more allowed one typo; and when both have subtitles (genre words
//!      such as "roman" or "poems" left out), they share at least half of the shorter's
//!      words. Series ISBNs and publishers' prefixes shared by unrelated books fail here;
//!    - *main author* (1XX): personal names share a surname word, corporate names half
//!      their words (a record without a main entry contradicts nothing);
//!    - *language* (008/35–37), *edition number* (250), *part* (245 `$n $p`, which
//!      tells the volumes of a set apart when the set's ISBN is printed in each),
//!      *material* ([`Format`]): equal where both records state them, and a part stated
//!      by one record only is a contradiction (the set against one of its volumes);
//!    - *year*: at most two years apart (printing against copyright dates, and a CIP
//!      record's guess, differ by one or two; a reprint years later with the same ISBN
//!      is rare, a different edition under a recycled ISBN is not).
//!
//!    Compatibility is checked between *clusters* as they stand (their accumulated OCLC
//!    numbers and a representative filled from their records), not between the two
//!    records that share the key. That is what stops chain merges: A–B via one ISBN and
//!    B–C via another cannot put A and C together if C contradicts the A+B cluster.
//! 3. **Records with no valid identifier** join the cluster whose records share their
//!    GoldRush-style match key (title, part, year, pages, edition, format, author).
//! 4. Identifiers with bad check digits or marked cancelled never merge anything.
//!
//! Every refused merge is kept ([`RefusedMerge`]) with both records and the reason, for
//! the build report.
//!
//! # How the rule was chosen
//!
//! On the Library of Congress records (250,000 "Books All 2016" records) split into
//! per-library copies ([`crate::realistic`]) and the 2,199 pairs of LoC records sharing
//! an identifier, labelled by hand in `tests/data/loc-shared-identifier-pairs.tsv`: the
//! rule this replaced (OCLC unconditional, half the shorter title's words including
//! "of", "de" and "la", nothing else) fused 15.9 % of the pairs that are different works;
//! this one fuses under 0.5 % while still merging over 99 % of the copies of one record
//! (the integration test `precision` measures both on every run).

use rustc_hash::FxHashMap;

use rayon::prelude::*;
use serde::Serialize;

use crate::bib::Bib;
use crate::format::Format;
use crate::ident::IdKind;
use crate::words::{has_word, is_accompanying, is_genre, normalize_text, significant};

/// Why two records were kept apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// Titles contradict.
    Title,
    /// Main authors contradict.
    Author,
    /// Titles contradict and authors do not agree (what makes an OCLC number yield).
    TitleAndAuthor,
    /// Languages differ.
    Language,
    /// Edition numbers differ.
    Edition,
    /// Parts (volumes) differ, or only one record names a part.
    Part,
    /// Material differs (print against online, book against microform).
    Format,
    /// Years more than two apart.
    Year,
    /// Page counts more than a fifth apart.
    Pages,
    /// The record would fit several clusters that contradict each other.
    Ambiguous,
    /// The clusters carry different OCLC numbers.
    OclcNumbers,
}

impl Refusal {
    /// Lower-case name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Refusal::Title => "title",
            Refusal::Author => "author",
            Refusal::TitleAndAuthor => "title_and_author",
            Refusal::Language => "language",
            Refusal::Edition => "edition",
            Refusal::Part => "part",
            Refusal::Format => "format",
            Refusal::Year => "year",
            Refusal::Pages => "pages",
            Refusal::Ambiguous => "ambiguous",
            Refusal::OclcNumbers => "oclc_numbers",
        }
    }
}

/// A merge an identifier proposed and the rule refused: record `record` shares `key`
/// with the cluster of record `with`, and they contradict on `reason`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RefusedMerge {
    /// The record left out (index into the clustered records).
    pub record: usize,
    /// The first record of the cluster it was not merged into.
    pub with: usize,
    /// The shared identifier (`isbn:…`, `oclc:…`).
    pub key: String,
    /// Why.
    pub reason: Refusal,
}

/// What clustering decided, for the build summary.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ClusterStats {
    /// Merges made by shared OCLC numbers.
    pub merged_by_oclc: usize,
    /// Merges made by other identifiers.
    pub merged_by_identifier: usize,
    /// Merges made by match key.
    pub merged_by_match_key: usize,
    /// Merges refused (all reasons).
    pub refused_merges: usize,
    /// Refused merges by reason.
    pub refused_by_reason: std::collections::BTreeMap<String, usize>,
}

/// The outcome: each record's cluster and what was refused.
#[derive(Clone, Debug, Default)]
pub struct Clustering {
    /// Cluster per record (dense, 0-based, in order of first record).
    pub assign: Vec<u32>,
    /// Number of clusters.
    pub clusters: usize,
    /// Counts.
    pub stats: ClusterStats,
    /// Every refused merge.
    pub refused: Vec<RefusedMerge>,
}

/// What the rule compares about a record (or a cluster's representative).
#[derive(Clone, Debug, Default)]
struct Work {
    /// Significant words of the title proper, sorted, deduplicated.
    proper: Vec<String>,
    /// Significant, non-genre words of the subtitle, sorted, deduplicated.
    subtitle: Vec<String>,
    part: String,
    author: Option<Author>,
    /// Words of the main entry, sorted: a title proper may name its author ("James
    /// Ensor, lettres" against "Lettres" by Ensor).
    author_words: Vec<String>,
    language: Option<String>,
    edition: String,
    format: Format,
    year: Option<u16>,
    pages: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Author {
    /// Surname words of a personal name.
    Person(Vec<String>),
    /// Words of a corporate or meeting name.
    Body(Vec<String>),
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

impl Work {
    fn of(b: &Bib) -> Work {
        let author =
            (b.main_entry && !b.author.is_empty()).then(|| match b.author.split_once(',') {
                Some((surname, _)) if !surname.trim().is_empty() => {
                    Author::Person(sorted(significant(surname)))
                }
                _ => Author::Body(sorted(significant(&b.author))),
            });
        Work {
            author_words: if b.main_entry {
                sorted(significant(&b.author))
            } else {
                Vec::new()
            },
            proper: sorted(significant(&b.title_proper)),
            subtitle: sorted(
                significant(&b.subtitle)
                    .into_iter()
                    .filter(|w| !is_genre(w))
                    .collect(),
            ),
            part: normalize_text(&b.part),
            author,
            language: b.language.clone(),
            edition: b.edition.clone(),
            format: b.format,
            year: b.year,
            pages: b.pages,
        }
    }

    /// Takes what `other` states and this one does not (a cluster's representative
    /// learns from every record merged into it).
    fn fill_from(&mut self, other: &Work) {
        if self.proper.is_empty() {
            self.proper = other.proper.clone();
        }
        if self.subtitle.is_empty() {
            self.subtitle = other.subtitle.clone();
        }
        if self.part.is_empty() {
            self.part = other.part.clone();
        }
        if self.author.is_none() {
            self.author = other.author.clone();
            self.author_words = other.author_words.clone();
        }
        if self.language.is_none() {
            self.language = other.language.clone();
        }
        if self.edition.is_empty() {
            self.edition = other.edition.clone();
        }
        if self.year.is_none() {
            self.year = other.year;
        }
        if self.pages.is_none() {
            self.pages = other.pages;
        }
    }
}

fn contained(words: &[String], pools: &[&[String]]) -> bool {
    words.iter().all(|w| pools.iter().any(|p| has_word(p, w)))
}

fn numbers(words: &[String]) -> impl Iterator<Item = &String> {
    words
        .iter()
        .filter(|w| w.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether two word lists state numbers and the numbers differ ("levels 7-12" against
/// "levels 6-12", "maja 1995" against "maja 1997").
fn numbers_differ(a: &[String], b: &[String]) -> bool {
    let (x, y): (Vec<&String>, Vec<&String>) = (numbers(a).collect(), numbers(b).collect());
    !x.is_empty() && !y.is_empty() && x != y
}

/// Whether two titles agree (see the module doc).
fn titles_agree(a: &Work, b: &Work) -> bool {
    if a.proper.is_empty() || b.proper.is_empty() {
        return true;
    }
    if numbers_differ(&a.proper, &b.proper) || numbers_differ(&a.subtitle, &b.subtitle) {
        return false;
    }
    let accompanies = |w: &Work| {
        w.proper
            .iter()
            .chain(&w.subtitle)
            .any(|x| is_accompanying(x))
    };
    if accompanies(a) != accompanies(b) {
        return false;
    }
    // each title proper is found in the other record's title or author: "Código civil"
    // is not "Código de procedimiento civil", though one contains the other
    if !contained(&a.proper, &[&b.proper, &b.subtitle, &b.author_words])
        || !contained(&b.proper, &[&a.proper, &a.subtitle, &a.author_words])
    {
        return false;
    }
    if a.subtitle.is_empty() || b.subtitle.is_empty() {
        return true;
    }
    let (short, long) = if a.subtitle.len() <= b.subtitle.len() {
        (&a.subtitle, &b.subtitle)
    } else {
        (&b.subtitle, &a.subtitle)
    };
    let shared = short.iter().filter(|w| has_word(long, w)).count();
    shared * 2 >= short.len()
}

/// `Some(true)` when the main authors agree, `Some(false)` when they contradict, `None`
/// when either record has none.
fn authors_agree(a: &Work, b: &Work) -> Option<bool> {
    match (a.author.as_ref()?, b.author.as_ref()?) {
        (Author::Person(x), Author::Person(y)) => {
            Some(x.is_empty() || y.is_empty() || x.iter().any(|w| has_word(y, w)))
        }
        (Author::Body(x), Author::Body(y)) => {
            let shared = x.iter().filter(|w| has_word(y, w)).count();
            Some(shared * 2 >= x.len().min(y.len()))
        }
        // a person against a body: different kinds of main entry, not a contradiction
        // by themselves (a conference proceedings under its meeting or its editor)
        _ => None,
    }
}

fn stated_differ<T: PartialEq>(a: &Option<T>, b: &Option<T>) -> bool {
    matches!((a, b), (Some(x), Some(y)) if x != y)
}

/// The first contradiction between two works, in the order a cataloguer would check.
fn contradiction(a: &Work, b: &Work) -> Option<Refusal> {
    if a.format != b.format {
        return Some(Refusal::Format);
    }
    if stated_differ(&a.language, &b.language) {
        return Some(Refusal::Language);
    }
    if a.part != b.part {
        return Some(Refusal::Part);
    }
    if !a.edition.is_empty() && !b.edition.is_empty() && a.edition != b.edition {
        return Some(Refusal::Edition);
    }
    if !titles_agree(a, b) {
        return Some(Refusal::Title);
    }
    if authors_agree(a, b) == Some(false) {
        return Some(Refusal::Author);
    }
    if let (Some(x), Some(y)) = (a.year, b.year)
        && x.abs_diff(y) > 2
    {
        return Some(Refusal::Year);
    }
    if let (Some(x), Some(y)) = (a.pages, b.pages)
        && x.min(y) >= 30
        && f64::from(x.max(y)) > 1.2 * f64::from(x.min(y))
    {
        return Some(Refusal::Pages);
    }
    None
}

/// Whether a shared OCLC number must yield (see the module doc).
fn oclc_contradiction(a: &Work, b: &Work) -> Option<Refusal> {
    if stated_differ(&a.language, &b.language) {
        return Some(Refusal::Language);
    }
    if (a.format == Format::Electronic) != (b.format == Format::Electronic) {
        return Some(Refusal::Format);
    }
    if !a.edition.is_empty() && !b.edition.is_empty() && a.edition != b.edition {
        return Some(Refusal::Edition);
    }
    if !a.part.is_empty() && !b.part.is_empty() && a.part != b.part {
        return Some(Refusal::Part);
    }
    if numbers_differ(&a.proper, &b.proper) {
        return Some(Refusal::Title);
    }
    (!titles_agree(a, b) && authors_agree(a, b) != Some(true)).then_some(Refusal::TitleAndAuthor)
}

struct Dsu {
    parent: Vec<u32>,
    oclc: Vec<Vec<String>>,
    work: Vec<Work>,
}

impl Dsu {
    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            self.parent[x as usize] = self.parent[p as usize];
            x = p;
        }
        x
    }

    fn union(&mut self, a: u32, b: u32) -> u32 {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return ra;
        }
        let (keep, gone) = if ra < rb { (ra, rb) } else { (rb, ra) };
        self.parent[gone as usize] = keep;
        let o = std::mem::take(&mut self.oclc[gone as usize]);
        for x in o {
            if !self.oclc[keep as usize].contains(&x) {
                self.oclc[keep as usize].push(x);
            }
        }
        let g = std::mem::take(&mut self.work[gone as usize]);
        self.work[keep as usize].fill_from(&g);
        keep
    }

    fn contradiction(&mut self, a: u32, b: u32) -> Option<Refusal> {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return None;
        }
        let (oa, ob) = (&self.oclc[ra as usize], &self.oclc[rb as usize]);
        if !oa.is_empty() && !ob.is_empty() && !oa.iter().any(|x| ob.contains(x)) {
            return Some(Refusal::OclcNumbers);
        }
        contradiction(&self.work[ra as usize], &self.work[rb as usize])
    }
}

/// Assigns every record a cluster number.
pub fn cluster(bibs: &[Bib]) -> Clustering {
    let n = bibs.len();
    let mut stats = ClusterStats::default();
    let mut refused: Vec<RefusedMerge> = Vec::new();
    // former OCLC number -> current, from 019
    let mut alias: FxHashMap<&str, &str> = FxHashMap::default();
    for b in bibs {
        if let Some(cur) = b.valid_ids(IdKind::Oclc).next() {
            for f in &b.former_oclc {
                if f != cur.value {
                    alias.entry(f.as_str()).or_insert(cur.value.as_str());
                }
            }
        }
    }
    let canon = |v: &'_ str| -> String { alias.get(v).map_or(v, |c| *c).to_string() };
    let oclcs = |b: &Bib| -> Vec<String> {
        let mut v: Vec<String> = b.valid_ids(IdKind::Oclc).map(|i| canon(&i.value)).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    // the records that share an identifier with another: only they are ever compared,
    // and the per-record text work (most of clustering's time when done for every
    // record: 0.83 -> 1.35 s on the LoC file) is done for them alone
    let mut oclc_count: FxHashMap<String, u32> = FxHashMap::default();
    let mut by_key: FxHashMap<Vec<u8>, Vec<u32>> = FxHashMap::default();
    for (r, b) in bibs.iter().enumerate() {
        for c in oclcs(b) {
            *oclc_count.entry(c).or_default() += 1;
        }
        for i in &b.ids {
            if !i.valid()
                || i.kind == IdKind::Oclc
                || (i.kind == IdKind::Issn && b.format != Format::Serial)
            {
                continue;
            }
            let g = by_key.entry(i.key()).or_default();
            // a record listing one identifier twice is one member
            if g.last() != Some(&(r as u32)) {
                g.push(r as u32);
            }
        }
    }
    let mut shares = vec![false; n];
    for (r, b) in bibs.iter().enumerate() {
        shares[r] = oclcs(b)
            .iter()
            .any(|c| oclc_count.get(c).is_some_and(|k| *k > 1));
    }
    for g in by_key.values().filter(|g| g.len() > 1) {
        for &r in g {
            shares[r as usize] = true;
        }
    }
    let work: Vec<Work> = bibs
        .par_iter()
        .zip(&shares)
        .map(|(b, &s)| if s { Work::of(b) } else { Work::default() })
        .collect();
    let mut dsu = Dsu {
        parent: (0..n as u32).collect(),
        oclc: bibs
            .iter()
            .zip(&shares)
            .map(|(b, &s)| if s { oclcs(b) } else { Vec::new() })
            .collect(),
        work,
    };
    let mut refuse = |stats: &mut ClusterStats, r: RefusedMerge| {
        stats.refused_merges += 1;
        *stats
            .refused_by_reason
            .entry(r.reason.name().to_string())
            .or_default() += 1;
        refused.push(r);
    };

    // 1. OCLC numbers, unless the records plainly contradict them
    let mut first: FxHashMap<String, Vec<u32>> = FxHashMap::default();
    for (r, b) in bibs.iter().enumerate() {
        if !shares[r] {
            continue;
        }
        let r = r as u32;
        let mut seen: Vec<String> = Vec::new();
        for i in b.valid_ids(IdKind::Oclc) {
            let c = canon(&i.value);
            if seen.contains(&c) || oclc_count.get(&c).is_none_or(|k| *k < 2) {
                continue;
            }
            seen.push(c.clone());
            let heads = first.entry(c.clone()).or_default();
            if heads.is_empty() {
                heads.push(r);
                continue;
            }
            let mut joined = false;
            let mut why = None;
            for h in heads.iter_mut() {
                let (rh, rr) = (dsu.find(*h), dsu.find(r));
                if rh == rr {
                    joined = true;
                    break;
                }
                match oclc_contradiction(&dsu.work[rh as usize], &dsu.work[rr as usize]) {
                    None => {
                        *h = dsu.union(*h, r);
                        stats.merged_by_oclc += 1;
                        joined = true;
                        break;
                    }
                    Some(w) => {
                        why.get_or_insert((*h, w));
                    }
                }
            }
            if !joined {
                if let Some((h, w)) = why {
                    refuse(
                        &mut stats,
                        RefusedMerge {
                            record: r as usize,
                            with: h as usize,
                            key: format!("oclc:{c}"),
                            reason: w,
                        },
                    );
                }
                heads.push(r);
            }
        }
    }

    // 2. ISBN, LCCN, ISSN (serials only), guarded
    let mut groups: Vec<(Vec<u8>, Vec<u32>)> =
        by_key.into_iter().filter(|(_, g)| g.len() > 1).collect();
    groups.sort_unstable_by(|a, b| a.1.cmp(&b.1));
    for (key, g) in groups {
        // each record joins the one cluster in the group it agrees with; a record that
        // agrees with several clusters the rule kept apart (a record without a subtitle
        // against volumes told apart by theirs) joins none: which one it is, nobody can say
        let mut heads: Vec<u32> = Vec::new();
        for &r in &g {
            let mut fits: Vec<usize> = Vec::new();
            let mut why = None;
            for (k, h) in heads.iter().enumerate() {
                if dsu.find(*h) == dsu.find(r) {
                    fits.clear();
                    fits.push(usize::MAX);
                    break;
                }
                match dsu.contradiction(*h, r) {
                    None => fits.push(k),
                    Some(w) => {
                        why.get_or_insert((*h, w));
                    }
                }
            }
            match fits.as_slice() {
                [usize::MAX] => {}
                [k] => {
                    heads[*k] = dsu.union(heads[*k], r);
                    stats.merged_by_identifier += 1;
                }
                _ => {
                    let why = match fits.first() {
                        Some(&k) => Some((heads[k], Refusal::Ambiguous)),
                        None => why,
                    };
                    if let Some((h, w)) = why {
                        let key = crate::ident::Ident::from_key(&key)
                            .map(|i| format!("{}:{}", i.kind.name(), i.value))
                            .unwrap_or_default();
                        refuse(
                            &mut stats,
                            RefusedMerge {
                                record: r as usize,
                                with: h as usize,
                                key,
                                reason: w,
                            },
                        );
                    }
                    if fits.is_empty() {
                        heads.push(r);
                    }
                }
            }
        }
    }

    // 3. match key, for records with no valid identifier
    let keys: Vec<Option<String>> = bibs.par_iter().map(Bib::match_key).collect();
    let mut by_mk: FxHashMap<&str, u32> = FxHashMap::default();
    for (r, k) in keys.iter().enumerate() {
        if let Some(k) = k
            && bibs[r].has_valid_id()
        {
            by_mk.entry(k.as_str()).or_insert(r as u32);
        }
    }
    for (r, k) in keys.iter().enumerate() {
        if bibs[r].has_valid_id() {
            continue;
        }
        let Some(k) = k else { continue };
        match by_mk.get(k.as_str()) {
            Some(&o) => {
                if dsu.find(o) != dsu.find(r as u32) {
                    dsu.union(o, r as u32);
                    stats.merged_by_match_key += 1;
                }
            }
            None => {
                by_mk.insert(k.as_str(), r as u32);
            }
        }
    }

    let mut dense: FxHashMap<u32, u32> = FxHashMap::default();
    let mut assign = Vec::with_capacity(n);
    for r in 0..n as u32 {
        let root = dsu.find(r);
        let next = dense.len() as u32;
        assign.push(*dense.entry(root).or_insert(next));
    }
    Clustering {
        assign,
        clusters: dense.len(),
        stats,
        refused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ident::{normalize_isbn, normalize_oclc};

    fn bib(title: &str, part: &str, ids: &[&str]) -> Bib {
        let (proper, sub) = match title.split_once(" : ") {
            Some((p, s)) => (p.to_string(), s.to_string()),
            None => (title.to_string(), String::new()),
        };
        let mut b = Bib {
            title: title.into(),
            title_proper: proper,
            subtitle: sub,
            part: part.into(),
            year: Some(2000),
            ..Bib::default()
        };
        for i in ids {
            if let Some(o) = i.strip_prefix("oclc:") {
                b.ids.push(normalize_oclc(o).unwrap());
            } else {
                b.ids.push(normalize_isbn(i).unwrap());
            }
        }
        b
    }

    fn by(mut b: Bib, author: &str) -> Bib {
        b.author = author.into();
        b.main_entry = true;
        b
    }

    fn lang(mut b: Bib, l: &str) -> Bib {
        b.language = Some(l.into());
        b
    }

    #[test]
    fn shared_isbn_merges_same_title() {
        let bibs = [
            bib("Moby Dick", "", &["9780142437247"]),
            bib("Moby-Dick : or, The whale", "", &["9780142437247"]),
        ];
        let c = cluster(&bibs);
        assert_eq!(c.clusters, 1);
    }

    #[test]
    fn set_isbn_does_not_fuse_volumes() {
        let bibs = [
            bib("History of England", "Vol. 1", &["9780140135978"]),
            bib("History of England", "Vol. 2", &["9780140135978"]),
            bib("History of England", "", &["9780140135978"]),
        ];
        let c = cluster(&bibs);
        assert_eq!(c.clusters, 3);
        assert_eq!(c.stats.refused_by_reason["part"], 2);
    }

    #[test]
    fn wrong_isbn_does_not_glue_unrelated_titles() {
        let bibs = [
            bib("Moby Dick", "", &["9780142437247"]),
            bib("A brief history of time", "", &["9780142437247"]),
        ];
        let c = cluster(&bibs);
        assert_eq!(c.clusters, 2);
        assert_eq!(c.refused[0].reason, Refusal::Title);
        assert_eq!((c.refused[0].record, c.refused[0].with), (1, 0));
        assert_eq!(c.refused[0].key, "isbn:9780142437247");
    }

    #[test]
    fn series_titles_sharing_words_stay_apart() {
        // LoC 00038350 / 00038358: one series ISBN, one author, different books
        let bibs = [
            by(
                bib(
                    "The world in the time of Marie Antoinette",
                    "",
                    &["0791060349"],
                ),
                "Macdonald, Fiona,",
            ),
            by(
                bib("The world in the time of Tutankhamun", "", &["0791060349"]),
                "Macdonald, Fiona,",
            ),
        ];
        assert_eq!(cluster(&bibs).clusters, 2);
        // LoC 00456306 / 00690813: "Tyneside Scottish" against "Tyneside Irish"
        let bibs = [
            by(
                bib("Tyneside Scottish", "", &["085052587X"]),
                "Stewart, Graham,",
            ),
            by(bib("Tyneside Irish", "", &["085052587X"]), "Sheen, John."),
        ];
        assert_eq!(cluster(&bibs).clusters, 2);
    }

    #[test]
    fn genre_words_in_subtitles_do_not_glue_novels() {
        let bibs = [
            by(
                bib("Die Fähre : Roman", "", &["3716022543"]),
                "Walter, Silja",
            ),
            by(
                bib("Der Strand : Roman", "", &["3716022543"]),
                "Maier, Hans",
            ),
        ];
        assert_eq!(cluster(&bibs).clusters, 2);
    }

    #[test]
    fn a_translation_is_another_book() {
        // LoC 00031667 / 00408564: Fordlandia in English and in Spanish, one ISBN
        let bibs = [
            lang(
                by(bib("Fordlandia", "", &["0312265921"]), "Sguiglia, Eduardo."),
                "eng",
            ),
            lang(
                by(
                    bib("Fordlandia : un oscuro paraíso", "", &["0312265921"]),
                    "Sguiglia, Eduardo.",
                ),
                "spa",
            ),
        ];
        let c = cluster(&bibs);
        assert_eq!(c.clusters, 2);
        assert_eq!(c.refused[0].reason, Refusal::Language);
    }

    #[test]
    fn editions_and_typos() {
        let mut a = bib("Ley agraria comentada", "", &["9700709428"]);
        a.edition = "5".into();
        let mut b = a.clone();
        b.edition = "6".into();
        assert_eq!(cluster(&[a, b]).clusters, 2);
        // LoC 0034139 / 00345139: a typo in one copy of a long title
        let bibs = [
            bib(
                "Règlement donné par une dame pour sa condiute",
                "",
                &["2852036983"],
            ),
            bib(
                "Règlement donné par une dame pour sa conduite",
                "",
                &["2852036983"],
            ),
        ];
        assert_eq!(cluster(&bibs).clusters, 1);
        assert!(!has_word(&["1944".into()], "1994"));
    }

    #[test]
    fn no_chain_merge_across_oclc_numbers() {
        // A and B share OCLC 1; C has OCLC 2 and shares an ISBN with B: stays apart
        let bibs = [
            bib("Moby Dick", "", &["oclc:1", "9780142437247"]),
            bib("Moby Dick", "", &["oclc:1", "9780553213119"]),
            bib("Moby Dick", "", &["oclc:2", "9780553213119"]),
        ];
        let c = cluster(&bibs);
        assert_eq!(c.clusters, 2);
        assert_eq!(c.assign[0], c.assign[1]);
        assert_ne!(c.assign[1], c.assign[2]);
        assert_eq!(c.refused[0].reason, Refusal::OclcNumbers);
    }

    #[test]
    fn oclc_numbers_merge_unless_the_records_contradict_them() {
        let mut a = bib("Moby Dick", "", &["oclc:100"]);
        a.former_oclc.push("7".into());
        let b = bib("Moby Dick : or, The whale", "", &["oclc:7"]);
        let c = cluster(&[a.clone(), b]);
        assert_eq!(c.assign[0], c.assign[1], "former numbers alias");
        // a miscatalogued 035: different title, different author (LoC 00333521 / 00357925)
        let x = by(
            bib("Laïcité et spiritualités", "", &["oclc:43365627"]),
            "Lemaire, Jacques",
        );
        let y = by(
            bib(
                "Le nouvel art du temps : contre le stress",
                "",
                &["oclc:43365627"],
            ),
            "Servan-Schreiber, Jean-Louis,",
        );
        let c = cluster(&[x, y]);
        assert_eq!(c.clusters, 2);
        assert_eq!(c.refused[0].reason, Refusal::TitleAndAuthor);
        // a reprint under the original's number (LoC 00503623 / 01015005) merges
        let mut old = by(
            bib("Reminiscences of Troy", "", &["oclc:8068057"]),
            "Woodworth, John,",
        );
        old.year = Some(1860);
        let new = by(
            bib("Reminiscences of Troy", "", &["oclc:8068057"]),
            "Woodworth, John,",
        );
        assert_eq!(cluster(&[old, new]).clusters, 1);
        // a translation carrying the original's number (LoC 00338666 / 00416714) yields
        let en = lang(
            by(
                bib("Carl Nielsen : life and music", "", &["oclc:43593786"]),
                "Eskildsen, Karsten.",
            ),
            "eng",
        );
        let da = lang(
            by(
                bib("Carl Nielsen : livet og musikken", "", &["oclc:43593786"]),
                "Eskildsen, Karsten.",
            ),
            "dan",
        );
        assert_eq!(cluster(&[en, da]).clusters, 2);
    }

    #[test]
    fn invalid_ids_never_merge_and_match_key_does() {
        let mut a = bib("Songs of the 60's", "", &[]);
        a.ids.push(crate::ident::Ident {
            kind: IdKind::Isbn,
            value: "9780000000001".into(),
            status: crate::ident::IdStatus::BadCheckDigit,
        });
        let mut b = a.clone();
        b.title = "Totally different".into();
        b.title_proper = "Totally different".into();
        assert_eq!(cluster(&[a.clone(), b]).clusters, 2);
        let c = cluster(&[a.clone(), a]);
        assert_eq!(c.clusters, 1);
        assert_eq!(c.stats.merged_by_match_key, 1);
    }
}
