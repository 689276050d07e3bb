//! Title and author matching: candidates from the token index, and a confidence that
//! counts what the citation and the candidate each leave unmatched.
//!
//! For a citation with title words `w` and a candidate `x`:
//!
//! - *recall*: the share of the citation's words found in `x`'s title (title proper or
//!   subtitle), each word weighted by its rarity (`ln(1 + N / (1 + df))`, so "history"
//!   counts for less than "Tutankhamun") and by how well it matched (exact 1, one edit
//!   0.8, two 0.6);
//! - *coverage*: the share of `x`'s title-proper words the citation matched: a citation of
//!   two words cannot mean a title proper of six;
//! - the title score is their harmonic mean;
//! - an author that matches none of `x`'s names multiplies it by 0.25, a year more than a
//!   year off or another language by 0.4; an author that matches raises it slightly.
//!
//! Candidates are the intersection of the words' posting lists, rarest first, skipping a
//! word that would empty it (a word the catalogue does not know costs recall, not the
//! match). A word's posting lists are intersected with the candidates and the hits added
//! to a small per-candidate table, rather than each candidate probing each list.

use roaring::RoaringBitmap;

use super::{Citation, Match, MatchMethod, allowed_distance};
use crate::index::{Catalog, TokenLists};
use crate::words::{has_word, significant, tokens};

/// Most candidates scored: beyond that a citation is too vague for any of them to
/// deserve a confident answer.
const MAX_SCORED: usize = 512;
/// Candidates gathered before keeping the plausible [`MAX_SCORED`].
const MAX_SCANNED: u64 = 4096;
/// Most citation words used (a pasted abstract is not a title).
const MAX_WORDS: usize = 16;

struct Word {
    text: String,
    variants: Vec<TokenLists>,
    any: RoaringBitmap,
    /// Whether its spelling variants were looked for.
    fuzzy: bool,
}

impl Word {
    fn add(&mut self, v: TokenLists) {
        self.any |= &v.proper;
        self.any |= &v.subtitle;
        self.variants.push(v);
    }
}

/// See [`Catalog::book_key`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct BookKey {
    words: Vec<String>,
    surname: Option<String>,
    year: Option<u16>,
    format: crate::format::Format,
}

impl BookKey {
    /// Whether two clusters are one work: the same title words and author's surname,
    /// the same format.
    pub(super) fn same_work(&self, o: &BookKey) -> bool {
        self.format == o.format && self.words == o.words && self.surname == o.surname
    }

    /// Whether two clusters are one book split in the catalogue: one work, years at
    /// most one apart.
    pub(super) fn same_book(&self, o: &BookKey) -> bool {
        let years = match (self.year, o.year) {
            (Some(p), Some(q)) => p.abs_diff(q) <= 1,
            _ => true,
        };
        years && self.same_work(o)
    }
}

/// Lists longer than this are not counted when gathering candidates: a word that common
/// ("history", "new") tells little, and walking its list would cost more than the rest.
const COUNTED_LIST: u64 = 20_000;

/// The clusters that share the most words with the citation, at most `limit`: counted
/// over the lists no longer than [`COUNTED_LIST`] (all of them when every list is
/// longer), and among those with the same count, the lowest ids. A citation whose
/// subtitle the record lacks, or whose word the record spells otherwise, still finds the
/// record by the words they share.
fn most_shared(lists: &[&RoaringBitmap], limit: usize) -> Vec<u32> {
    let counted: Vec<&RoaringBitmap> = lists
        .iter()
        .copied()
        .filter(|l| l.len() <= COUNTED_LIST)
        .collect();
    if counted.is_empty() {
        // only common words: their intersection, as far as it does not empty
        let mut cand = lists[0].clone();
        for l in &lists[1..] {
            let x = &cand & *l;
            if !x.is_empty() {
                cand = x;
            }
        }
        return cand.iter().take(limit).collect();
    }
    let mut counts: rustc_hash::FxHashMap<u32, u16> = Default::default();
    for l in &counted {
        for x in l.iter() {
            *counts.entry(x).or_default() += 1;
        }
    }
    // the common lists confirm: a cluster in them counts them too
    for l in lists.iter().filter(|l| l.len() > COUNTED_LIST) {
        for (x, n) in counts.iter_mut() {
            if l.contains(*x) {
                *n += 1;
            }
        }
    }
    let mut v: Vec<(u32, u16)> = counts.into_iter().collect();
    v.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(limit);
    v.into_iter().map(|x| x.0).collect()
}

/// What a word matched at a distance is worth: a typo costs little, a missing word much
/// (see the title score).
fn match_score(distance: u8) -> f32 {
    match distance {
        0 => 1.0,
        1 => 0.95,
        _ => 0.9,
    }
}

impl Catalog {
    fn exact_words(&self, prefix: char, text: Option<&str>) -> Vec<Word> {
        let mut ws: Vec<String> = text.map(tokens).unwrap_or_default();
        ws.truncate(MAX_WORDS);
        ws.into_iter()
            .map(|w| {
                let mut word = Word {
                    variants: Vec::new(),
                    any: RoaringBitmap::new(),
                    fuzzy: false,
                    text: w,
                };
                for v in self.fuzzy_token(prefix, &word.text, 0) {
                    word.add(v);
                }
                word
            })
            .collect()
    }

    /// Adds a word's spelling variants within `dist` edits.
    fn add_variants(&self, prefix: char, w: &mut Word, dist: u8) {
        w.fuzzy = true;
        if dist == 0 {
            return;
        }
        for v in self.fuzzy_variants(prefix, &w.text, dist) {
            if v.distance > 0 {
                w.add(v);
            }
        }
    }

    /// Scored candidates for a citation's title and author (unsorted).
    pub(super) fn title_candidates(&self, c: &Citation) -> Vec<Match> {
        let mut tw = self.exact_words('t', c.title.as_deref());
        let mut aw = self.exact_words('a', c.author.as_deref());
        // a word the dictionary does not know can only be a misspelling (of four letters
        // or more: "whae" for "whale")
        for (prefix, ws) in [('t', &mut tw), ('a', &mut aw)] {
            for w in ws.iter_mut().filter(|w| w.any.is_empty()) {
                let d = allowed_distance(&w.text).max(u8::from(w.text.chars().count() >= 4));
                self.add_variants(prefix, w, d);
            }
        }
        let mut order: Vec<&Word> = tw
            .iter()
            .chain(aw.iter())
            .filter(|w| !w.any.is_empty())
            .collect();
        if order.is_empty() {
            return Vec::new();
        }
        order.sort_by_key(|w| w.any.len());
        let lists: Vec<&RoaringBitmap> = order.iter().map(|w| &w.any).collect();
        let mut ids = most_shared(&lists, MAX_SCANNED as usize);
        // too many: keep those whose title proper is short enough to be what was cited
        if ids.len() > MAX_SCORED && !tw.is_empty() {
            let longest = (2 * tw.len() + 1) as u8;
            ids.retain(|&x| self.facts(x).proper_words <= longest);
        }
        ids.truncate(MAX_SCORED);
        ids.sort_unstable();
        let cand: RoaringBitmap = ids.iter().copied().collect();
        // a word none of the candidates has may be a typo that is itself a word ("shart"
        // for "short"): its variants may fit them
        for (prefix, ws) in [('t', &mut tw), ('a', &mut aw)] {
            for w in ws
                .iter_mut()
                .filter(|w| !w.fuzzy && w.any.is_disjoint(&cand))
            {
                let d = allowed_distance(&w.text).max(u8::from(w.text.chars().count() >= 4));
                self.add_variants(prefix, w, d);
            }
        }
        if ids.is_empty() {
            return Vec::new();
        }
        // per candidate and word: the best score, and whether it is in the title proper
        let (nt, na) = (tw.len(), aw.len());
        let mut best = vec![(0f32, false); ids.len() * (nt + na)];
        let cols = nt + na;
        let mut mark = |k: usize, w: &Word| {
            for v in &w.variants {
                let s = match_score(v.distance);
                for (list, proper) in [(&v.proper, true), (&v.subtitle, false)] {
                    if list.is_empty() {
                        continue;
                    }
                    for x in &cand & list {
                        if let Ok(i) = ids.binary_search(&x) {
                            let cell = &mut best[i * cols + k];
                            if s > cell.0 || (s == cell.0 && proper && !cell.1) {
                                *cell = (s, proper);
                            }
                        }
                    }
                }
            }
        };
        for (k, w) in tw.iter().enumerate() {
            mark(k, w);
        }
        for (k, w) in aw.iter().enumerate() {
            mark(nt + k, w);
        }
        let n = f64::from(self.clusters().max(1));
        // a name word counts by its rarity: a surname tells more than a forename
        let a_weight: Vec<f32> = aw
            .iter()
            .map(|w| (1.0 + n / (1.0 + w.any.len() as f64)).ln() as f32)
            .collect();
        let a_total: f32 = a_weight.iter().sum();
        let language = c.language.as_deref().map(str::to_ascii_lowercase);
        ids.iter()
            .enumerate()
            .map(|(i, &x)| {
                let row = &best[i * cols..(i + 1) * cols];
                let facts = self.facts(x);
                let author = (na > 0).then(|| {
                    a_weight
                        .iter()
                        .zip(&row[nt..])
                        .map(|(w, (s, _))| w * s)
                        .sum::<f32>()
                        / a_total.max(f32::EPSILON)
                });
                let title = (nt > 0).then(|| {
                    let recall: f32 = row[..nt].iter().map(|c| c.0).sum::<f32>() / nt as f32;
                    let matched: f32 = row[..nt].iter().filter(|c| c.1).map(|c| c.0).sum();
                    let proper = f32::from(facts.proper_words.max(1));
                    let coverage = (matched / proper).min(1.0);
                    // both sides' unmatched words count, twice over: books of one author or
                    // series ("What your horse needs", "What your rabbit needs") differ in
                    // one word, while a typo still matches (at 0.8)
                    (recall * coverage).powi(2)
                });
                let unchecked = author.is_none() || !facts.has_names;
                let mut conf = match (title, author) {
                    // a title of one or two words whose author is not confirmed names too
                    // many books to be sure
                    (Some(t), _) if unchecked && nt < 3 => t.min(0.4),
                    (Some(t), _) => t,
                    // an author alone: a list of that author's books, none confidently
                    (None, Some(a)) => 0.5 * a,
                    (None, None) => 0.0,
                };
                if let (Some(_), Some(a)) = (title, author) {
                    conf *= if !facts.has_names {
                        0.7
                    } else if a == 0.0 {
                        0.25
                    } else {
                        0.8 + 0.2 * a
                    };
                }
                if let (Some(y), Some(cy)) = (c.year, self.year(x))
                    && y.abs_diff(cy) > 1
                {
                    conf *= 0.4;
                }
                if let (Some(l), Some(cl)) = (&language, self.language_name(facts.language))
                    && l != cl
                {
                    conf *= 0.4;
                }
                Match {
                    cluster: x,
                    method: MatchMethod::TitleAuthor,
                    confidence: conf.min(0.99),
                }
            })
            .collect()
    }

    /// What makes a cluster one book for [`Catalog::same_book`]: its title words,
    /// author's surname, year and format.
    pub(super) fn book_key(&self, cluster: u32) -> Option<BookKey> {
        let (title, author) = self.title_author(cluster)?;
        let mut words = significant(&title);
        words.sort();
        words.dedup();
        Some(BookKey {
            words,
            surname: significant(author.split(',').next().unwrap_or(""))
                .into_iter()
                .next(),
            year: self.year(cluster),
            format: self.format(cluster),
        })
    }

    /// How well a citation's title and author fit one cluster's display text: the title
    /// score (as for title candidates, unweighted) and whether the author agrees (`None`
    /// when either side has none).
    pub(super) fn text_fit(&self, cluster: u32, c: &Citation) -> (Option<f32>, Option<bool>) {
        let Some((info_title, info_author)) = self.title_author(cluster) else {
            return (None, None);
        };
        let title = c
            .title
            .as_deref()
            .map(tokens)
            .filter(|t| !t.is_empty())
            .map(|cw| {
                let all = significant(&info_title);
                let proper_n = usize::from(self.facts(cluster).proper_words.max(1)).min(all.len());
                let mut sorted = all.clone();
                sorted.sort();
                sorted.dedup();
                let recall =
                    cw.iter().filter(|w| has_word(&sorted, w)).count() as f32 / cw.len() as f32;
                let covered = all[..proper_n].iter().filter(|w| has_word(&cw, w)).count() as f32
                    / proper_n.max(1) as f32;
                recall * covered
            });
        let author = c
            .author
            .as_deref()
            .map(tokens)
            .filter(|a| !a.is_empty() && !info_author.is_empty())
            .map(|aw| {
                let mut names = tokens(&info_author);
                names.sort();
                aw.iter().any(|w| has_word(&names, w))
            });
        (title, author)
    }
}
