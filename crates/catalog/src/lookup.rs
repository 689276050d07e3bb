//! Citation lookup: exact identifier matches, then typo-tolerant title/author matching.
//!
//! Identifiers are exact after normalisation (confidence 1.0; an identifier with a bad
//! check digit matches only records carrying the same bad string, at 0.6, and says so).
//! Title words are matched through Levenshtein automata over the token fst: a word of
//! 4–7 characters may be one edit off, a longer one two. Candidates are the intersection
//! of the per-word postings, rarest word first, skipping words that would empty the set
//! (a word the catalogue does not know costs confidence, not the match). Author and year
//! then confirm or weaken each candidate.

use std::sync::OnceLock;

use levenshtein_automata::{DFA, Distance, LevenshteinAutomatonBuilder};
use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};

use crate::ident::{self, IdError, IdKind};
use crate::index::Catalog;
use crate::words::tokens;

/// A citation: any subset of these.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Citation {
    /// ISBN-10 or -13, any punctuation.
    #[serde(default)]
    pub isbn: Option<String>,
    /// ISSN.
    #[serde(default)]
    pub issn: Option<String>,
    /// OCLC number, any prefix.
    #[serde(default)]
    pub oclc: Option<String>,
    /// LCCN.
    #[serde(default)]
    pub lccn: Option<String>,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// Author.
    #[serde(default)]
    pub author: Option<String>,
    /// Year of publication.
    #[serde(default)]
    pub year: Option<u16>,
}

impl Citation {
    /// True when nothing at all was given.
    pub fn is_empty(&self) -> bool {
        let blank = |s: &Option<String>| s.as_deref().is_none_or(|s| s.trim().is_empty());
        blank(&self.isbn)
            && blank(&self.issn)
            && blank(&self.oclc)
            && blank(&self.lccn)
            && blank(&self.title)
            && blank(&self.author)
            && self.year.is_none()
    }
}

/// How a cluster matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchMethod {
    /// Exact ISBN.
    Isbn,
    /// Exact ISSN.
    Issn,
    /// Exact OCLC number.
    Oclc,
    /// Exact LCCN.
    Lccn,
    /// The same identifier with the same bad check digit.
    InvalidIdentifier,
    /// Title (and author/year) words, typo-tolerant.
    TitleAuthor,
    /// The cluster was given (replaying a logged request that names its cluster).
    Cluster,
}

impl MatchMethod {
    /// Lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            MatchMethod::Isbn => "isbn",
            MatchMethod::Issn => "issn",
            MatchMethod::Oclc => "oclc",
            MatchMethod::Lccn => "lccn",
            MatchMethod::InvalidIdentifier => "invalid_identifier",
            MatchMethod::TitleAuthor => "title_author",
            MatchMethod::Cluster => "cluster",
        }
    }
}

/// One matched cluster.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Match {
    /// Cluster id.
    pub cluster: u32,
    /// How it matched.
    pub method: MatchMethod,
    /// 0..=1.
    pub confidence: f32,
}

/// The caller's citation could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// No field given.
    #[error("citation is empty: give at least one of isbn, issn, oclc, lccn, title, author")]
    Empty,
    /// An identifier field holds no identifier.
    #[error("{field}: {source}")]
    BadIdentifier {
        /// Which field.
        field: &'static str,
        /// Why.
        source: IdError,
    },
    /// Only a year was given: that matches too much to be a citation.
    #[error("a year alone is not a citation: add a title, author or identifier")]
    YearOnly,
}

/// Lookup limits.
#[derive(Clone, Copy, Debug)]
pub struct LookupOptions {
    /// Most matches returned.
    pub limit: usize,
    /// Title candidates below this confidence are dropped.
    pub min_confidence: f32,
}

impl Default for LookupOptions {
    fn default() -> Self {
        LookupOptions {
            limit: 10,
            min_confidence: 0.35,
        }
    }
}

fn builder(d: u8) -> &'static LevenshteinAutomatonBuilder {
    static B1: OnceLock<LevenshteinAutomatonBuilder> = OnceLock::new();
    static B2: OnceLock<LevenshteinAutomatonBuilder> = OnceLock::new();
    if d <= 1 {
        B1.get_or_init(|| LevenshteinAutomatonBuilder::new(1, true))
    } else {
        B2.get_or_init(|| LevenshteinAutomatonBuilder::new(2, true))
    }
}

/// A Levenshtein DFA for a token key, and the distance it assigns to a matched key.
pub(crate) struct TokenDfa(DFA);

impl TokenDfa {
    pub(crate) fn distance_of(&self, key: &[u8]) -> u8 {
        match self.0.eval(key) {
            Distance::Exact(d) => d,
            Distance::AtLeast(d) => d,
        }
    }
}

impl fst::Automaton for TokenDfa {
    type State = <DFA as fst::Automaton>::State;
    fn start(&self) -> Self::State {
        fst::Automaton::start(&self.0)
    }
    fn is_match(&self, s: &Self::State) -> bool {
        fst::Automaton::is_match(&self.0, s)
    }
    fn can_match(&self, s: &Self::State) -> bool {
        fst::Automaton::can_match(&self.0, s)
    }
    fn accept(&self, s: &Self::State, b: u8) -> Self::State {
        fst::Automaton::accept(&self.0, s, b)
    }
}

pub(crate) fn dfa_for(key: &str, dist: u8) -> TokenDfa {
    TokenDfa(builder(dist).build_dfa(key))
}

/// Edit distance allowed for a word of this many characters.
pub fn allowed_distance(word: &str) -> u8 {
    match word.chars().count() {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

struct WordHits {
    /// Union of all variants' postings.
    any: RoaringBitmap,
    /// Postings per distance 0, 1, 2; `None` where `any` is all there is, at that
    /// distance (the usual case: the word is spelled as indexed, one posting list, and
    /// copying it twice was a third of a title lookup).
    by_dist: [Option<RoaringBitmap>; 3],
    /// The distance of `any` when it is one distance's postings.
    only: Option<u8>,
}

impl WordHits {
    /// The edit distance at which this word matches cluster `cl`, if it does.
    fn distance(&self, cl: u32) -> Option<u8> {
        if let Some(d) = self.only {
            return self.any.contains(cl).then_some(d);
        }
        (0..3u8).find(|&d| {
            self.by_dist[usize::from(d)]
                .as_ref()
                .is_some_and(|b| b.contains(cl))
        })
    }
}

/// The union of posting lists. A word's spelling variants are mostly rare words whose
/// lists are a few ids per roaring container: merging them pairwise keeps array
/// containers as arrays, where roaring's multi-way union goes through 8 KiB bitmap
/// containers and converts every one back at the end (measured: that conversion was the
/// largest item in a typo lookup's profile).
fn union<'a>(lists: impl IntoIterator<Item = &'a RoaringBitmap>) -> RoaringBitmap {
    let mut it = lists.into_iter();
    let Some(first) = it.next() else {
        return RoaringBitmap::new();
    };
    let mut acc = first.clone();
    for b in it {
        acc |= b;
    }
    acc
}

fn word_hits(cat: &Catalog, prefix: char, word: &str) -> WordHits {
    let found = cat.fuzzy_token(prefix, word, allowed_distance(word));
    if found.windows(2).all(|w| w[0].0.min(2) == w[1].0.min(2)) {
        let only = found.first().map(|f| f.0.min(2));
        let any = if found.len() == 1 {
            found.into_iter().next().map(|f| f.1).unwrap_or_default()
        } else {
            union(found.iter().map(|f| &f.1))
        };
        return WordHits {
            only,
            any,
            by_dist: Default::default(),
        };
    }
    let mut by: [Vec<&RoaringBitmap>; 3] = Default::default();
    for (d, bm) in &found {
        by[usize::from((*d).min(2))].push(bm);
    }
    let by_dist = by.map(|v| (!v.is_empty()).then(|| union(v)));
    WordHits {
        any: union(by_dist.iter().flatten()),
        by_dist,
        only: None,
    }
}

impl Catalog {
    /// Looks a citation up.
    pub fn lookup(&self, c: &Citation, opts: LookupOptions) -> Result<Vec<Match>, LookupError> {
        if c.is_empty() {
            return Err(LookupError::Empty);
        }
        let mut out: Vec<Match> = Vec::new();
        let fields: [(&'static str, IdKind, &Option<String>, MatchMethod); 4] = [
            ("isbn", IdKind::Isbn, &c.isbn, MatchMethod::Isbn),
            ("oclc", IdKind::Oclc, &c.oclc, MatchMethod::Oclc),
            ("lccn", IdKind::Lccn, &c.lccn, MatchMethod::Lccn),
            ("issn", IdKind::Issn, &c.issn, MatchMethod::Issn),
        ];
        let mut any_id = false;
        for (field, kind, val, method) in fields {
            let Some(v) = val.as_deref().filter(|s| !s.trim().is_empty()) else {
                continue;
            };
            any_id = true;
            let id = ident::normalize(kind, v)
                .map_err(|source| LookupError::BadIdentifier { field, source })?;
            let (method, conf) = if id.valid() {
                (method, 1.0)
            } else {
                (MatchMethod::InvalidIdentifier, 0.6)
            };
            self.each_cluster_for(&id, |cl| {
                if !out.iter().any(|m| m.cluster == cl) {
                    out.push(Match {
                        cluster: cl,
                        method,
                        confidence: conf,
                    });
                }
            });
        }
        let has_text = c.title.as_deref().is_some_and(|t| !tokens(t).is_empty())
            || c.author.as_deref().is_some_and(|t| !tokens(t).is_empty());
        if !any_id && !has_text {
            return Err(LookupError::YearOnly);
        }
        // identifiers win; the title is only consulted when they found nothing
        if out.is_empty() && has_text {
            out = self.title_lookup(c, opts);
        }
        out.sort_by(|a, b| {
            b.confidence
                .total_cmp(&a.confidence)
                .then(a.cluster.cmp(&b.cluster))
        });
        out.truncate(opts.limit);
        Ok(out)
    }

    fn title_lookup(&self, c: &Citation, opts: LookupOptions) -> Vec<Match> {
        let twords = c.title.as_deref().map(tokens).unwrap_or_default();
        let awords = c.author.as_deref().map(tokens).unwrap_or_default();
        let thits: Vec<WordHits> = twords.iter().map(|w| word_hits(self, 't', w)).collect();
        let ahits: Vec<WordHits> = awords.iter().map(|w| word_hits(self, 'a', w)).collect();
        // candidate set: intersect rarest first, skipping words that would empty it
        let mut order: Vec<&WordHits> = thits
            .iter()
            .chain(ahits.iter())
            .filter(|h| !h.any.is_empty())
            .collect();
        order.sort_by_key(|h| h.any.len());
        let Some(first) = order.first() else {
            return Vec::new();
        };
        let mut cand = first.any.clone();
        for h in &order[1..] {
            let n = &cand & &h.any;
            if !n.is_empty() {
                cand = n;
            }
        }
        // score at most a few hundred candidates: beyond that the citation is too vague
        // for any of them to deserve a confident answer
        let total_t = thits.len().max(1) as f32;
        let mut scored: Vec<Match> = cand
            .iter()
            .take(512)
            .map(|cl| {
                let word_score = |hits: &[WordHits]| -> f32 {
                    hits.iter()
                        .map(|h| match h.distance(cl) {
                            Some(0) => 1.0,
                            Some(1) => 0.8,
                            Some(_) => 0.6,
                            None => 0.0,
                        })
                        .sum()
                };
                let mut conf = if thits.is_empty() {
                    0.5 * word_score(&ahits) / ahits.len().max(1) as f32
                } else {
                    0.85 * word_score(&thits) / total_t
                };
                if !thits.is_empty() && !ahits.is_empty() {
                    let a = word_score(&ahits) / ahits.len() as f32;
                    conf += 0.15 * a;
                    if a == 0.0 {
                        conf *= 0.8;
                    }
                } else if !thits.is_empty() {
                    conf += 0.05;
                }
                if let Some(y) = c.year {
                    match self.year(cl) {
                        Some(cy) if cy == y => conf = (conf + 0.05).min(1.0),
                        Some(cy) if cy.abs_diff(y) <= 1 => {}
                        Some(_) => conf *= 0.7,
                        None => {}
                    }
                }
                Match {
                    cluster: cl,
                    method: MatchMethod::TitleAuthor,
                    confidence: conf.min(0.99),
                }
            })
            .filter(|m| m.confidence >= opts.min_confidence)
            .collect();
        scored.sort_by(|a, b| {
            b.confidence
                .total_cmp(&a.confidence)
                .then(a.cluster.cmp(&b.cluster))
        });
        scored.truncate(opts.limit);
        scored
    }
}
