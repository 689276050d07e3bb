//! The title and author index: words to clusters, and what matching needs to know about
//! each cluster without reading its display text.
//!
//! A title word's entry holds two posting lists: the clusters where the word is in the
//! title proper (245 `$a $n $p`), and the clusters where it is only in the subtitle
//! (245 `$b`) or another form of the title (246, the vernacular 880). A citation must match a
//! candidate's title proper, and may match its subtitle: "general chemistry" is not
//! *Experiments : arranged for students in general chemistry*. A name word's entry holds
//! one list.
//!
//! A word's fst value is the offset of its entry in the postings section. Two thirds of
//! the words of real catalogues are in one cluster (443 k words in the Library of
//! Congress consortium): their entry is that cluster in three bytes. (Keeping it in the
//! fst value instead cost more: offsets ascend with the keys and the fst shares their
//! high bytes, cluster numbers are random. Measured on that consortium: fst and postings
//! 9.84 MB that way, 9.48 MB this way; snapshot 5's entries made them 15.9 MB.)
//!
//! ```text
//! entry    varint(cluster << 2 | subtitle-only << 1 | 1)           a word of one cluster
//!        | varint(tag << 1)                                       any other word
//!          [varint(length of the proper list) when both]  proper list  subtitle list
//! tag      bit 0: proper list, bit 1: subtitle list; bits 2 and 3: that list is dense
//! list     see crate::postings
//! ```
//!
//! Per cluster, two bytes of [`Facts`]: how many significant words its title proper has
//! (so a candidate's unmatched words can cost confidence), whether it has a subtitle and
//! names, whether its author is a main entry, and its language (an index into
//! [`super::Meta::languages`]).

use fst::{Automaton, IntoStreamer, Streamer};
use roaring::RoaringBitmap;

use super::Catalog;
use crate::postings;

const HAS_PROPER: u8 = 1;
const HAS_SUB: u8 = 2;
const PROPER_DENSE: u8 = 4;
const SUB_DENSE: u8 = 8;

/// Writes one word's entry (its lists not both empty).
pub(crate) fn write_token(proper: &[u32], sub: &[u32], universe: u32) -> Vec<u8> {
    let mut out = Vec::new();
    match (proper, sub) {
        ([c], []) => {
            crate::varint::put(&mut out, u64::from(*c) << 2 | 1);
            return out;
        }
        ([], [c]) => {
            crate::varint::put(&mut out, u64::from(*c) << 2 | 2 | 1);
            return out;
        }
        _ => {}
    }
    let dense = |e| e == postings::Encoding::Dense;
    let mut tag =
        (u8::from(!proper.is_empty()) * HAS_PROPER) | (u8::from(!sub.is_empty()) * HAS_SUB);
    let mut lists = Vec::new();
    match (proper.is_empty(), sub.is_empty()) {
        (false, false) => {
            let mut p = Vec::new();
            if dense(postings::write(proper, universe, &mut p)) {
                tag |= PROPER_DENSE;
            }
            crate::varint::put(&mut lists, p.len() as u64);
            lists.extend_from_slice(&p);
            if dense(postings::write(sub, universe, &mut lists)) {
                tag |= SUB_DENSE;
            }
        }
        (false, true) => {
            if dense(postings::write(proper, universe, &mut lists)) {
                tag |= PROPER_DENSE;
            }
        }
        (true, false) => {
            if dense(postings::write(sub, universe, &mut lists)) {
                tag |= SUB_DENSE;
            }
        }
        (true, true) => {}
    }
    out.push(tag << 1);
    out.extend_from_slice(&lists);
    out
}

/// What an entry holds.
enum Entry<'a> {
    /// A word of one cluster.
    One { cluster: u32, subtitle: bool },
    /// The title proper's list and the subtitle's.
    Lists(List<'a>, List<'a>),
}

/// One list of an entry, how it is stored and its bytes (`None` when absent).
type List<'a> = Option<(postings::Encoding, &'a [u8])>;

/// Reads the entry at the start of `b`.
fn entry(b: &[u8]) -> Option<Entry<'_>> {
    let mut at = 0;
    let head = crate::varint::get(b, &mut at)?;
    if head & 1 == 1 {
        return Some(Entry::One {
            cluster: u32::try_from(head >> 2).ok()?,
            subtitle: head & 2 != 0,
        });
    }
    let tag = u8::try_from(head >> 1).ok().filter(|t| *t <= 15)?;
    let rest = &b[at..];
    let enc = |bit| {
        if tag & bit != 0 {
            postings::Encoding::Dense
        } else {
            postings::Encoding::Sparse
        }
    };
    let (p, s) = match tag & (HAS_PROPER | HAS_SUB) {
        HAS_PROPER => (Some(rest), None),
        HAS_SUB => (None, Some(rest)),
        t if t == HAS_PROPER | HAS_SUB => {
            let mut p = 0;
            let n = usize::try_from(crate::varint::get(rest, &mut p)?).ok()?;
            let end = p.checked_add(n)?;
            (Some(rest.get(p..end)?), Some(rest.get(end..)?))
        }
        _ => return None,
    };
    Some(Entry::Lists(
        p.map(|p| (enc(PROPER_DENSE), p)),
        s.map(|s| (enc(SUB_DENSE), s)),
    ))
}

/// Whether the entry at the start of `b` decodes: its cluster, or both its lists
/// ascending, below `universe`.
pub(crate) fn check_token(b: &[u8], universe: u32) -> bool {
    match entry(b) {
        Some(Entry::One { cluster, .. }) => cluster < universe,
        Some(Entry::Lists(p, s)) => [p, s]
            .into_iter()
            .flatten()
            .all(|(e, b)| postings::check(e, b, universe)),
        None => false,
    }
}

/// One dictionary word's clusters.
#[derive(Clone, Debug, Default)]
pub struct TokenLists {
    /// Edits between the word looked up and this dictionary word.
    pub distance: u8,
    /// Clusters with the word in the title proper (or, for names, anywhere).
    pub proper: RoaringBitmap,
    /// Clusters with the word in the subtitle only.
    pub subtitle: RoaringBitmap,
}

/// What matching needs to know about a cluster, two bytes of it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// Significant words in the title proper (at most 15).
    pub proper_words: u8,
    /// The title has a subtitle.
    pub has_subtitle: bool,
    /// The record names persons or bodies (author, editors).
    pub has_names: bool,
    /// The first name is a main entry (the author, not an editor).
    pub main_entry: bool,
    /// Language index (0: not stated).
    pub language: u8,
}

impl Facts {
    pub(crate) fn to_bytes(self) -> [u8; 2] {
        [
            self.proper_words.min(15)
                | u8::from(self.has_subtitle) << 4
                | u8::from(self.has_names) << 5
                | u8::from(self.main_entry) << 6,
            self.language,
        ]
    }

    fn from_bytes(b: [u8; 2]) -> Facts {
        Facts {
            proper_words: b[0] & 15,
            has_subtitle: b[0] & 16 != 0,
            has_names: b[0] & 32 != 0,
            main_entry: b[0] & 64 != 0,
            language: b[1],
        }
    }
}

/// Most dictionary words a misspelled word may expand to.
const MAX_VARIANTS: usize = 16;

impl Catalog {
    /// What matching knows about a cluster (all zero beyond the catalogue).
    pub fn facts(&self, cluster: u32) -> Facts {
        let f = self.facts.as_ref();
        let i = cluster as usize * 2;
        match f.get(i..i + 2) {
            Some(b) => Facts::from_bytes([b[0], b[1]]),
            None => Facts::default(),
        }
    }

    /// The language code (`eng`, `ger`, ...) of a language index from [`Facts`].
    pub fn language_name(&self, index: u8) -> Option<&str> {
        let i = usize::from(index).checked_sub(1)?;
        self.meta.languages.get(i).map(String::as_str)
    }

    /// The lists of one entry at `off` in the postings section.
    fn token_at(&self, off: u64, distance: u8) -> TokenLists {
        let universe = self.clusters();
        let read = |l: List<'_>| {
            l.map_or_else(RoaringBitmap::new, |(e, x)| postings::read(e, x, universe))
        };
        let b = self.postings.as_ref();
        match usize::try_from(off)
            .ok()
            .and_then(|o| b.get(o..))
            .and_then(entry)
        {
            Some(Entry::One { cluster, subtitle }) => {
                let one = RoaringBitmap::from_iter([cluster]);
                let (proper, subtitle) = if subtitle {
                    (RoaringBitmap::new(), one)
                } else {
                    (one, RoaringBitmap::new())
                };
                TokenLists {
                    distance,
                    proper,
                    subtitle,
                }
            }
            Some(Entry::Lists(p, s)) => TokenLists {
                distance,
                proper: read(p),
                subtitle: read(s),
            },
            None => TokenLists::default(),
        }
    }

    /// Dictionary words within `dist` edits of `word` under `prefix` (`t` title, `a`
    /// name), best first. A word the index knows is taken as spelled: expanding it to
    /// its neighbours would mostly add other real words (and their postings) to every
    /// query ([`Catalog::fuzzy_variants`] expands it anyway).
    pub fn fuzzy_token(&self, prefix: char, word: &str, dist: u8) -> Vec<TokenLists> {
        let key = format!("{prefix}{word}");
        if let Some(off) = self.tokens.get(&key) {
            return vec![self.token_at(off, 0)];
        }
        if dist == 0 {
            return Vec::new();
        }
        self.fuzzy_variants(prefix, word, dist)
    }

    /// Every dictionary word within `dist` edits of `word` under `prefix` that shares
    /// its first letter, best first (at most [`MAX_VARIANTS`]). Words one edit away are
    /// looked for first, and two edits away only when there are none: a two-edit
    /// automaton walks far more of the dictionary (on the Library of Congress vocabulary
    /// two fifths of all title and author lookup time went to fuzzy search), and one edit
    /// is what most typos are.
    pub fn fuzzy_variants(&self, prefix: char, word: &str, dist: u8) -> Vec<TokenLists> {
        if dist >= 2 {
            let near = self.variants_within(prefix, word, 1);
            if near.iter().any(|v| v.distance > 0) {
                return near;
            }
        }
        self.variants_within(prefix, word, dist)
    }

    fn variants_within(&self, prefix: char, word: &str, dist: u8) -> Vec<TokenLists> {
        use crate::lookup::dfa_for;
        let key = format!("{prefix}{word}");
        // typos are rarely in a word's first letter: searching only under it cuts the
        // automaton's walk over the dictionary to one branch (measured on the Library of
        // Congress vocabulary: a misspelled long title's lookup from up to 45 ms to under
        // 14 ms, the p99 of title and author lookups from 13 to 1.3 ms)
        let dfa = dfa_for(&key, dist);
        let first: String = key.chars().take(2).collect();
        let under = fst::automaton::Str::new(&first).starts_with();
        let mut found: Vec<(u8, u64)> = Vec::new();
        let mut stream = self.tokens.search((&dfa).intersection(under)).into_stream();
        while let Some((k, off)) = stream.next() {
            found.push((dfa.distance_of(k), off));
            if found.len() >= 64 {
                break; // a word with more neighbours than this is not telling us much
            }
        }
        found.sort_by_key(|x| x.0);
        found.truncate(MAX_VARIANTS);
        found
            .into_iter()
            .map(|(d, off)| self.token_at(off, d))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_with_one_or_both_lists() {
        for (p, s) in [
            (vec![1u32, 5, 9], vec![]),
            (vec![], vec![2u32, 3]),
            (vec![0, 7], vec![8, 100]),
            ((0..5000).collect::<Vec<u32>>(), vec![6000]),
            (vec![4], vec![9000]),
            (vec![77], vec![]),
            (vec![], vec![9999]),
        ] {
            let b = write_token(&p, &s, 10_000);
            assert!(check_token(&b, 10_000));
            let (gp, gs): (Vec<u32>, Vec<u32>) = match entry(&b).unwrap() {
                Entry::One { cluster, subtitle } => {
                    if subtitle {
                        (vec![], vec![cluster])
                    } else {
                        (vec![cluster], vec![])
                    }
                }
                Entry::Lists(bp, bs) => {
                    let got = |l: List<'_>| -> Vec<u32> {
                        l.map_or_else(Vec::new, |(e, x)| {
                            postings::read(e, x, 10_000).iter().collect()
                        })
                    };
                    (got(bp), got(bs))
                }
            };
            assert_eq!(gp, p);
            assert_eq!(gs, s);
        }
        assert!(!check_token(&[9 << 1], 10), "tag of lists with no lists");
        assert!(
            !check_token(&[3 << 1, 200], 10),
            "a proper list running out"
        );
        assert!(
            !check_token(&[77 << 2 | 1], 10),
            "one cluster beyond the catalogue"
        );
        assert!(!check_token(&[40 << 1], 10), "an unknown tag");
    }

    #[test]
    fn facts_pack_into_two_bytes() {
        let f = Facts {
            proper_words: 12,
            has_subtitle: true,
            has_names: false,
            main_entry: true,
            language: 200,
        };
        assert_eq!(Facts::from_bytes(f.to_bytes()), f);
    }
}
