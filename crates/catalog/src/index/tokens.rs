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
//! ```text
//! entry    tag u8 (bit 0: proper list, bit 1: subtitle list)
//!          [varint(length of the proper list) when both]  proper list  subtitle list
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

/// Writes one token's entry.
pub(crate) fn write_token(proper: &[u32], sub: &[u32], universe: u32, out: &mut Vec<u8>) {
    let tag = (u8::from(!proper.is_empty()) * HAS_PROPER) | (u8::from(!sub.is_empty()) * HAS_SUB);
    out.push(tag);
    match (proper.is_empty(), sub.is_empty()) {
        (false, false) => {
            let mut p = Vec::new();
            postings::write(proper, universe, &mut p);
            crate::varint::put(out, p.len() as u64);
            out.extend_from_slice(&p);
            postings::write(sub, universe, out);
        }
        (false, true) => postings::write(proper, universe, out),
        (true, false) => postings::write(sub, universe, out),
        (true, true) => {}
    }
}

/// The byte ranges of an entry's two lists (empty ranges for absent lists).
fn split(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&tag, rest) = b.split_first()?;
    Some(match tag {
        HAS_PROPER => (rest, &[][..]),
        HAS_SUB => (&[][..], rest),
        t if t == HAS_PROPER | HAS_SUB => {
            let mut p = 0;
            let n = usize::try_from(crate::varint::get(rest, &mut p)?).ok()?;
            let end = p.checked_add(n)?;
            (rest.get(p..end)?, rest.get(end..)?)
        }
        _ => return None,
    })
}

/// Whether an entry decodes, both lists ascending and below `universe`.
pub(crate) fn check_token(b: &[u8], universe: u32) -> bool {
    split(b).is_some_and(|(p, s)| {
        (p.is_empty() || postings::check(p, universe))
            && (s.is_empty() || postings::check(s, universe))
    })
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
        let b = self.postings.as_ref();
        let Some((p, s)) = usize::try_from(off)
            .ok()
            .and_then(|o| b.get(o..))
            .and_then(split)
        else {
            return TokenLists::default();
        };
        let read = |x: &[u8]| {
            if x.is_empty() {
                RoaringBitmap::new()
            } else {
                postings::read(x)
            }
        };
        TokenLists {
            distance,
            proper: read(p),
            subtitle: read(s),
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
    /// its first letter, best first (at most [`MAX_VARIANTS`]).
    pub fn fuzzy_variants(&self, prefix: char, word: &str, dist: u8) -> Vec<TokenLists> {
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
        ] {
            let mut b = Vec::new();
            write_token(&p, &s, 10_000, &mut b);
            assert!(check_token(&b, 10_000));
            let (bp, bs) = split(&b).unwrap();
            let got = |x: &[u8]| -> Vec<u32> {
                if x.is_empty() {
                    vec![]
                } else {
                    postings::read(x).iter().collect()
                }
            };
            assert_eq!(got(bp), p);
            assert_eq!(got(bs), s);
        }
        assert!(!check_token(&[9], 10));
        assert!(!check_token(&[3, 200], 10));
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
