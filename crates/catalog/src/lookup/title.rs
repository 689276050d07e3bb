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
use crate::id::ClusterId;
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

/// The most clusters seeded by the rarest words' lists: as many lists as fit. Any more
/// and their order must be counted over every list, which cost the synthetic typo lookup
/// most of its time: p50 383 µs seeding 4,096, 245 µs seeding 1,024 and counting past
/// 512; the LoC figures stay within 0.1 point (held books found 96.0 → 95.9 %).
const SEEDS: u64 = MAX_SCORED as u64;

/// The clusters that share the most words with the citation, at most `limit`, best first
/// (among those with the same count, the lowest ids). `lists` are the words' clusters,
/// rarest first.
///
/// The candidates are the clusters of the rarest words, as many lists as fit [`SEEDS`]
/// together: a book is found by its rare words, and the common ones ("history", "new")
/// only confirm. When even the rarest list is longer, the next lists narrow it, as far as
/// they do not empty it, down to [`MAX_SCORED`] (more clusters than that sharing every
/// word is a citation too vague to be sure of any). Every list then counts for the
/// candidates in it. A citation whose subtitle the record lacks, or whose word the
/// record spells otherwise, still finds the record by the words they share.
///
/// Counting goes through roaring intersections of the candidates with each list and a
/// merge into a count per candidate: a hash map of counts over every list of up to 20,000
/// clusters, as before, spent 63 % of a synthetic typo lookup (p50 666 µs, perf).
fn most_shared(lists: &[&RoaringBitmap], limit: usize) -> Vec<u32> {
    let Some((first, rest)) = lists.split_first() else {
        return Vec::new();
    };
    let mut seeds = (*first).clone();
    let mut seeded = 1;
    for l in rest {
        if seeds.len() + l.len() > SEEDS {
            break;
        }
        seeds |= *l;
        seeded += 1;
    }
    if seeds.len() > SEEDS {
        for l in &lists[seeded..] {
            let x = &seeds & *l;
            if !x.is_empty() {
                seeds = x;
                if seeds.len() <= MAX_SCORED as u64 {
                    break;
                }
            }
        }
    }
    let ids: Vec<u32> = seeds.iter().take(4 * SEEDS as usize).collect();
    if ids.len() <= MAX_SCORED.min(limit) {
        // all of them are scored: their order does not matter
        return ids;
    }
    let mut counts = vec![0u8; ids.len()];
    for l in lists {
        each_in(&ids, &seeds, l, |i| counts[i] = counts[i].saturating_add(1));
    }
    // best first: by count, then id (a counting sort, stable)
    let mut start = [0usize; 257];
    for &c in &counts {
        start[255 - usize::from(c)] += 1;
    }
    let mut sum = 0;
    for s in &mut start {
        let n = *s;
        *s = sum;
        sum += n;
    }
    let mut out = vec![0u32; ids.len()];
    for (&x, &c) in ids.iter().zip(&counts) {
        let slot = &mut start[255 - usize::from(c)];
        out[*slot] = x;
        *slot += 1;
    }
    out.truncate(limit);
    out
}

/// A list this many times longer than the ids looked up in it is probed id by id:
/// roaring-rs intersects two array containers by walking both whole (no galloping), and
/// a probe (two binary searches) costs about as much as thirty steps of that walk.
const PROBE_RATIO: u64 = 32;

/// Calls `f(i)` for every `ids[i]` in `list`, ascending; `set` holds `ids` (and perhaps
/// more, beyond them).
fn each_in(ids: &[u32], set: &RoaringBitmap, list: &RoaringBitmap, mut f: impl FnMut(usize)) {
    if list.len() > PROBE_RATIO * ids.len() as u64 {
        for (i, x) in ids.iter().enumerate() {
            if list.contains(*x) {
                f(i);
            }
        }
        return;
    }
    let mut at = 0;
    for x in set & list {
        // both ascending: a merge
        while at < ids.len() && ids[at] < x {
            at += 1;
        }
        if at == ids.len() {
            return;
        }
        if ids[at] == x {
            f(at);
        }
    }
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
                // one edit: a typo that makes another word is one slip of a finger, and a
                // two-edit search for every word of an unheld book's citation was the
                // slowest part of its lookup
                let d = u8::from(w.text.chars().count() >= 4);
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
                    each_in(&ids, &cand, list, |i| {
                        let cell = &mut best[i * cols + k];
                        if s > cell.0 || (s == cell.0 && proper && !cell.1) {
                            *cell = (s, proper);
                        }
                    });
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
                // the year only when cited: reading it is a cache miss per candidate
                if let Some(y) = c.year
                    && let Some(cy) = self.year(ClusterId::new(x))
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
                    cluster: ClusterId::new(x),
                    method: MatchMethod::TitleAuthor,
                    confidence: conf.min(0.99),
                }
            })
            .collect()
    }

    /// What makes a cluster one book for [`Catalog::same_book`]: its title words,
    /// author's surname, year and format.
    pub(super) fn book_key(&self, cluster: ClusterId) -> Option<BookKey> {
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
    pub(super) fn text_fit(&self, cluster: ClusterId, c: &Citation) -> (Option<f32>, Option<bool>) {
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
                let proper_n =
                    usize::from(self.facts(cluster.get()).proper_words.max(1)).min(all.len());
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

#[cfg(test)]
mod tests {
    use super::*;

    fn bm(ids: impl IntoIterator<Item = u32>) -> RoaringBitmap {
        ids.into_iter().collect()
    }

    #[test]
    fn clusters_sharing_more_words_come_first() {
        let rare = bm([5, 9]);
        let mid = bm([9, 12, 40]);
        let common = bm((0..50_000).step_by(3)); // 9 and 12 in it, 5 and 40 not
        // room for all: all, in any order
        let mut got = most_shared(&[&rare, &mid, &common], 10);
        got.sort_unstable();
        assert_eq!(got, vec![5, 9, 12, 40]);
        // room for some: those sharing most words, then the lowest ids
        assert_eq!(most_shared(&[&rare, &mid, &common], 3), vec![9, 12, 5]);
    }

    #[test]
    fn common_words_alone_narrow_to_their_intersection() {
        // rarest first; even the rarest is longer than SEEDS
        let c = bm((0..20_000).step_by(10));
        let f = bm((1..20_000).step_by(10)); // shares nothing with c: passed over
        let b = bm((0..20_000).step_by(4));
        let a = bm((0..20_000).step_by(3));
        let got = most_shared(&[&c, &f, &b, &a], 5000);
        assert_eq!(got.len(), 334);
        assert!(got.iter().all(|x| x % 60 == 0));
    }

    #[test]
    fn probing_and_merging_find_the_same_ids() {
        let ids: Vec<u32> = (0..100).map(|i| i * 7).collect();
        let set = bm(ids.iter().copied());
        for list in [bm((0..1000).step_by(2)), bm((0..1_000_000).step_by(2))] {
            let mut hit = Vec::new();
            each_in(&ids, &set, &list, |i| hit.push(ids[i]));
            let want: Vec<u32> = ids.iter().copied().filter(|x| list.contains(*x)).collect();
            assert_eq!(hit, want);
        }
    }
}
