//! Writing a snapshot: clusters added in id order, then laid out section by section.

use std::collections::HashMap;

use fst::MapBuilder;
use rayon::prelude::*;

use super::tokens::Facts;
use super::*;
use crate::words::tokens;

/// Builds a snapshot from clusters added in id order.
pub struct IndexBuilder {
    libraries: Vec<Library>,
    keys: Vec<(Box<[u8]>, u32)>,
    nums: [Vec<(u64, u32)>; 3],
    tok_ids: HashMap<Box<str>, u32>,
    tok_names: Vec<Box<str>>,
    /// (token, cluster << 1 | in subtitle only)
    postings: Vec<(u32, u32)>,
    facts: Vec<u8>,
    languages: Vec<String>,
    language_ids: HashMap<String, u8>,
    holdings: crate::holdings::Writer,
    merged: Vec<Holding>,
    coverage: crate::coverage::table::Writer,
    years: Vec<u16>,
    text_off: Vec<u64>,
    text: Vec<u8>,
    block: Vec<u8>,
    record: Vec<u8>,
    raw_blocks: Vec<Vec<u8>>,
    source: String,
}

impl IndexBuilder {
    /// Starts a build over these libraries (ids are their positions).
    pub fn new(libraries: Vec<Library>, source: impl Into<String>) -> IndexBuilder {
        IndexBuilder {
            libraries,
            keys: Vec::new(),
            nums: Default::default(),
            tok_ids: HashMap::new(),
            tok_names: Vec::new(),
            postings: Vec::new(),
            facts: Vec::new(),
            languages: Vec::new(),
            language_ids: HashMap::new(),
            holdings: Default::default(),
            merged: Vec::new(),
            coverage: Default::default(),
            years: Vec::new(),
            text_off: Vec::new(),
            text: Vec::new(),
            block: Vec::new(),
            record: Vec::new(),
            raw_blocks: Vec::new(),
            source: source.into(),
        }
    }

    /// Number of clusters added.
    pub fn len(&self) -> usize {
        self.years.len()
    }

    /// Whether no cluster was added.
    pub fn is_empty(&self) -> bool {
        self.years.is_empty()
    }

    /// Adds the next cluster and returns its id.
    pub fn add(&mut self, mut c: ClusterData) -> Result<u32, BuildError> {
        let id = u32::try_from(self.years.len())
            .ok()
            .filter(|i| *i < u32::MAX >> 1)
            .ok_or(BuildError::TooManyClusters(u64::from(u32::MAX >> 1)))?;
        c.ids.sort();
        c.ids.dedup();
        for i in &c.ids {
            match i.number() {
                Some((kind, n)) => self.nums[num_slot(kind)].push((n, id)),
                None => self.keys.push((i.key().into_boxed_slice(), id)),
            }
        }
        if !c.ids.iter().any(Ident::valid)
            && let Some(k) = &c.match_key
        {
            let mut key = vec![b'k'];
            key.extend_from_slice(k.as_bytes());
            self.keys.push((key.into_boxed_slice(), id));
        }
        // title words: the title proper (with its part and the other forms of the title)
        // are the words a citation must match; subtitle words only may
        let proper = tokens(&format!("{} {}", c.title_proper, c.part));
        // counted as the citation's words are (tokens: two letters or more)
        let proper_count = proper.len();
        for t in &proper {
            self.post('t', t, id, false);
        }
        // subtitle and other forms of the title (246, vernacular 880): found, not required
        let mut optional = tokens(&c.subtitle);
        for t in &c.alt_titles {
            optional.extend(tokens(t));
        }
        optional.sort();
        optional.dedup();
        for t in optional {
            if proper.binary_search(&t).is_err() {
                self.post('t', &t, id, true);
            }
        }
        let mut names: Vec<String> = c.names.iter().flat_map(|n| tokens(n)).collect();
        names.sort();
        names.dedup();
        for t in &names {
            self.post('a', t, id, false);
        }
        let language = match &c.language {
            None => 0,
            Some(l) => match self.language_ids.get(l) {
                Some(&i) => i,
                None if self.languages.len() < 255 => {
                    self.languages.push(l.clone());
                    let i = self.languages.len() as u8;
                    self.language_ids.insert(l.clone(), i);
                    i
                }
                // more than 255 languages: the rest go unrecorded (none seen in practice)
                None => 0,
            },
        };
        let facts = Facts {
            proper_words: proper_count.min(15) as u8,
            has_subtitle: !c.subtitle.trim().is_empty(),
            has_names: !names.is_empty(),
            main_entry: c.main_entry,
            language,
        };
        self.facts.extend_from_slice(&facts.to_bytes());
        c.holdings.sort_by_key(|h| h.library);
        self.merged.clear();
        for h in &c.holdings {
            match self.merged.last_mut() {
                // same library twice (two source records): add copies, lend what either lends
                Some(last) if last.library == h.library => {
                    last.copies = last.copies.saturating_add(h.copies).min(MAX_COPIES);
                    last.lending = last.lending.union(h.lending);
                }
                _ => self.merged.push(Holding {
                    copies: h.copies.min(MAX_COPIES),
                    ..*h
                }),
            }
        }
        self.holdings.push(c.format, &self.merged);
        // a library's statements from several records (an MFHD per location) are one
        c.coverage.sort_by_key(|(l, _)| *l);
        let mut cov: Vec<(LibraryId, crate::coverage::Coverage)> = Vec::new();
        for (l, c) in c.coverage.drain(..) {
            match cov.last_mut() {
                Some((pl, pc)) if *pl == l => pc.absorb(c),
                _ => cov.push((l, c)),
            }
        }
        self.coverage.push(id, &cov);
        self.years.push(c.year.unwrap_or(0));
        if id as usize % TEXT_BLOCK == 0 && id > 0 {
            self.flush_block();
        }
        self.record.clear();
        text::write_record(&mut self.record, &c.title, &c.author, &c.ids);
        crate::varint::put(&mut self.block, self.record.len() as u64);
        self.block.extend_from_slice(&self.record);
        Ok(id)
    }

    fn post(&mut self, prefix: char, token: &str, cluster: u32, subtitle_only: bool) {
        let key: String = format!("{prefix}{token}");
        let next = self.tok_names.len() as u32;
        let tid = *self
            .tok_ids
            .entry(key.as_str().into())
            .or_insert_with(|| next);
        if tid == next {
            self.tok_names.push(key.into());
        }
        self.postings
            .push((tid, cluster << 1 | u32::from(subtitle_only)));
    }

    fn flush_block(&mut self) {
        self.raw_blocks.push(std::mem::take(&mut self.block));
    }

    /// Replaces the numbers in the display text by their tables' coarse forms, trains a
    /// dictionary on a sample of the blocks and compresses them all with it.
    fn compress_text(
        &mut self,
        tables: &[Option<crate::idtable::Table<'_>>],
    ) -> Result<Vec<u8>, BuildError> {
        let mut blocks = std::mem::take(&mut self.raw_blocks);
        blocks.par_iter_mut().for_each(|b| {
            *b = text::coarsen(b, |kind, n| tables.get(num_slot(kind))?.as_ref()?.coarse(n));
        });
        // samples: records from blocks spread over the whole catalogue
        let step = (blocks.len() / 4000).max(1);
        let samples: Vec<&[u8]> = blocks
            .iter()
            .step_by(step)
            .flat_map(|b| text::records(b))
            .take(400_000)
            .collect();
        let total: usize = samples.iter().map(|s| s.len()).sum();
        // a dictionary only makes the blocks smaller: when zstd cannot train one (too
        // few distinct samples), the blocks are compressed without
        let dict = if samples.len() >= 100 && total > 8 * DICT_BYTES {
            zstd::dict::from_samples(&samples, DICT_BYTES).unwrap_or_default()
        } else {
            Vec::new()
        };
        let compressed: Vec<Vec<u8>> = blocks
            .par_chunks(64)
            .map(|chunk| {
                let mut c = zstd::bulk::Compressor::with_dictionary(ZSTD_LEVEL, &dict)?;
                chunk
                    .iter()
                    .map(|b| c.compress(b))
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<Vec<Vec<u8>>>, std::io::Error>>()
            .map_err(|e| BuildError::Compress(e.to_string()))?
            .into_iter()
            .flatten()
            .collect();
        self.text_off.clear();
        self.text.clear();
        for c in compressed {
            self.text_off.push(self.text.len() as u64);
            self.text.extend_from_slice(&c);
        }
        Ok(dict)
    }

    /// Serialises the snapshot.
    pub fn finish(mut self) -> Result<Vec<u8>, BuildError> {
        if !self.block.is_empty() || self.raw_blocks.is_empty() {
            self.flush_block();
        }
        let nums: Vec<Vec<u8>> = std::mem::take(&mut self.nums)
            .into_par_iter()
            .map(crate::idtable::build)
            .collect();
        let tables: Vec<Option<crate::idtable::Table<'_>>> = nums
            .iter()
            .map(|t| crate::idtable::Table::parse(t))
            .collect();
        let dict = self.compress_text(&tables)?;
        self.text_off.push(self.text.len() as u64);
        let clusters = self.years.len() as u64;
        // keys: sort, group duplicates into MULTI entries
        self.keys.par_sort_unstable();
        self.keys.dedup();
        let mut multi: Vec<u32> = Vec::new();
        let mut kb = MapBuilder::memory();
        let mut nkeys = 0u64;
        let mut i = 0;
        while i < self.keys.len() {
            let mut j = i + 1;
            while j < self.keys.len() && self.keys[j].0 == self.keys[i].0 {
                j += 1;
            }
            let v = if j - i == 1 {
                u64::from(self.keys[i].1)
            } else {
                let off = multi.len() as u64;
                multi.push((j - i) as u32);
                multi.extend(self.keys[i..j].iter().map(|k| k.1));
                MULTI_BIT | off
            };
            kb.insert(&self.keys[i].0, v)?;
            nkeys += 1;
            i = j;
        }
        let keys_fst = kb.into_inner()?;
        drop(std::mem::take(&mut self.keys));
        nkeys += tables.iter().flatten().map(|t| t.distinct()).sum::<u64>();

        // tokens: sort postings by token, one posting list each, fst in token order
        self.postings.par_sort_unstable();
        let mut order: Vec<u32> = (0..self.tok_names.len() as u32).collect();
        order.par_sort_unstable_by(|a, b| {
            self.tok_names[*a as usize].cmp(&self.tok_names[*b as usize])
        });
        let mut ranges = vec![(0usize, 0usize); self.tok_names.len()];
        let mut s = 0;
        while s < self.postings.len() {
            let t = self.postings[s].0;
            let mut e = s;
            while e < self.postings.len() && self.postings[e].0 == t {
                e += 1;
            }
            ranges[t as usize] = (s, e);
            s = e;
        }
        let blobs: Vec<Vec<u8>> = order
            .par_iter()
            .map(|&t| {
                let (s, e) = ranges[t as usize];
                let (mut proper, mut sub) = (Vec::new(), Vec::new());
                for &(_, v) in &self.postings[s..e] {
                    if v & 1 == 0 {
                        proper.push(v >> 1);
                    } else {
                        sub.push(v >> 1);
                    }
                }
                crate::index::tokens::write_token(&proper, &sub, clusters as u32)
            })
            .collect();
        let mut post = Vec::new();
        let mut tb = MapBuilder::memory();
        for (&t, blob) in order.iter().zip(&blobs) {
            tb.insert(self.tok_names[t as usize].as_bytes(), post.len() as u64)?;
            post.extend_from_slice(blob);
        }
        let tokens_fst = tb.into_inner()?;

        let meta = Meta {
            libraries: self.libraries,
            clusters,
            holdings: self.holdings.holdings(),
            keys: nkeys,
            tokens: self.tok_names.len() as u64,
            source: self.source,
            text_block: TEXT_BLOCK as u32,
            languages: self.languages,
        };
        let mut w = snapshot::Writer::default();
        w.section(S_META, serde_json::to_vec(&meta)?);
        w.section(S_KEYS, keys_fst);
        w.section(S_MULTI, le_u32(&multi));
        for (id, t) in S_NUMS.into_iter().zip(nums) {
            w.section(id, t);
        }
        write_holdings(&mut w, self.holdings);
        w.section(S_COVERAGE, self.coverage.finish());
        let (years, wide) = years::encode(&self.years);
        w.section(S_YEARS, years);
        w.section(S_YEARS_WIDE, wide);
        w.section(S_TOKENS, tokens_fst);
        w.section(S_POSTINGS, post);
        w.section(S_FACTS, self.facts);
        w.section(
            S_TEXT_OFF,
            self.text_off.iter().flat_map(|o| o.to_le_bytes()).collect(),
        );
        w.section(S_TEXT, self.text);
        w.section(S_TEXT_DICT, dict);
        Ok(w.finish())
    }
}

pub(super) fn write_holdings(w: &mut snapshot::Writer, h: crate::holdings::Writer) {
    let (groups, wide, runs) = h.finish();
    w.section(S_HOLD_GROUPS, groups);
    w.section(S_HOLD_WIDE, wide);
    w.section(S_HOLD_RUNS, runs);
}
