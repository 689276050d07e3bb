//! The immutable catalogue index: identifier tables and an fst of other keys, per-cluster
//! holder lists, a title/author token index, and compressed display text, all laid out in
//! one snapshot buffer and read in place.
//!
//! # Layout and why
//!
//! - **Identifier numbers** (`NUMS`): valid ISBN-13s, ISSNs and OCLC numbers, the bulk of
//!   any catalogue's keys, are numbers spread almost at random over their range. Each kind
//!   is a sorted, bucketed, bit-packed table of (number, cluster) pairs
//!   ([`crate::idtable`]): about 4.6 bytes a key where an fst spent 7.3, and a lookup
//!   reads two cache lines where an fst walk touched a node per key byte.
//! - **Other keys** (`KEYS`): one fst map over LCCNs and identifiers with bad check digits
//!   (their kind letter, upper case when the check digit failed, and text) and, with a
//!   `k`, the match keys of records with no identifier ([`Ident::key`]). The value is the
//!   cluster id, or, with the top bit set, an offset into `MULTI` where a count and several
//!   cluster ids follow.
//! - **Holdings** (`HOLD_GROUPS`, `HOLD_WIDE`, `HOLD_RUNS`): per cluster one run of bytes,
//!   a header with the count, the cluster's format and its usual holding, then each
//!   holder as a gap-coded varint, with a flag byte (loan, copy, format, copies) only where
//!   the holding is not the usual one; offsets in groups of 16 clusters (see
//!   [`crate::holdings`]). "Who holds this" is one read of one run, 1.65 bytes a holding in
//!   the synthetic 20 M catalogue (a u16 id and a flag byte cost 3). A roaring bitmap per
//!   cluster would cost far more for the typical handful of holders (the bench report
//!   measures both); per-library bitmaps over clusters are what routing builds for its
//!   set questions.
//! - **Years**: one byte a cluster in the catalogue's commonest 254-year window, the rest
//!   in a side table.
//! - **Tokens** (`TOKENS`, `POSTINGS`): fst from `t`+title word / `a`+author word to a
//!   posting list of clusters, Elias–Fano coded when sparse and a roaring bitmap when
//!   dense ([`crate::postings`]), searched with Levenshtein automata.
//! - **Text** (`TEXT_OFF`, `TEXT`): title, author and identifiers per cluster for display,
//!   zstd-compressed in blocks of 64 clusters with a dictionary trained on the catalogue
//!   itself (`TEXT_DICT`): display text is the bulk of a catalogue, is read only for the
//!   few clusters a lookup returns, and small blocks compress well only with a shared
//!   dictionary. A number is stored as a two-byte stand-in and read back from its table
//!   (see [`crate::idtable::Table::coarse`]); other identifiers as their readable keys.

use std::collections::HashMap;

use fst::{IntoStreamer, Map, MapBuilder, Streamer};
use rayon::prelude::*;
use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};

use crate::format::Format;
use crate::ident::{IdKind, IdStatus, Ident};
use crate::lending::Lending;
use crate::snapshot::{self, Reader, Slice, SnapshotError};
use crate::text;
use crate::words::{normalize_text, tokens};
use crate::years;

// Section ids. 4, 5, 6 and 8 held format 2's holder offsets, holder ids, holding flags
// and cluster formats, 7 format 3's two-byte years, 10 format 3's roaring postings; they
// are not reused.
const S_META: u32 = 1;
const S_KEYS: u32 = 2;
const S_MULTI: u32 = 3;
const S_YEARS: u32 = 20;
const S_YEARS_WIDE: u32 = 21;
const S_TOKENS: u32 = 9;
const S_POSTINGS: u32 = 22;
const S_TEXT_OFF: u32 = 11;
const S_TEXT: u32 = 12;
const S_TEXT_DICT: u32 = 13;
const S_HOLD_GROUPS: u32 = 14;
const S_HOLD_WIDE: u32 = 15;
const S_HOLD_RUNS: u32 = 16;
/// Numeric identifier tables ([`crate::idtable`]), in [`NUM_KINDS`] order.
const S_NUMS: [u32; 3] = [17, 18, 19];
/// The identifier kinds kept as numbers, and each one's table slot.
const NUM_KINDS: [IdKind; 3] = [IdKind::Isbn, IdKind::Issn, IdKind::Oclc];

fn num_slot(kind: IdKind) -> usize {
    match kind {
        IdKind::Isbn => 0,
        IdKind::Issn => 1,
        _ => 2,
    }
}

const MULTI_BIT: u64 = 1 << 63;
/// Records per compressed display-text block in new snapshots. Small, because routing
/// shows the matched title with every answer and a lookup decompresses a whole block:
/// with the trained dictionary doing most of the work, 64-record blocks compress nearly
/// as well as 256-record ones (measured: 64 costs 4 % more text than 256, 32 costs 40 %)
/// and decompress a quarter as much per lookup.
const TEXT_BLOCK: usize = 64;
const DICT_BYTES: usize = 1024 * 1024;
const ZSTD_LEVEL: i32 = 9;

/// A library known to the catalogue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Library {
    /// Symbol (ISIL, OCLC symbol, ...).
    pub symbol: String,
    /// Human name.
    pub name: String,
}

/// Counts and provenance, stored in the snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// Libraries, indexed by library id.
    pub libraries: Vec<Library>,
    /// Number of clusters.
    pub clusters: u64,
    /// Number of holdings (cluster × library pairs).
    pub holdings: u64,
    /// Number of distinct identifier and match keys (numeric tables and fst).
    pub keys: u64,
    /// Distinct index tokens.
    pub tokens: u64,
    /// Free-form description of what was built from.
    pub source: String,
    /// Records per display-text block.
    pub text_block: u32,
}

/// One holding as the index returns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Holding {
    /// Library id (index into [`Meta::libraries`]).
    pub library: u32,
    /// Copies held (saturates at [`MAX_COPIES`]).
    pub copies: u8,
    /// What this library does with it for ILL.
    pub lending: Lending,
    /// Format of this holding.
    pub format: Format,
}

/// Most copies a holding records: routing needs "one" or "several", not a count.
pub const MAX_COPIES: u8 = 7;

impl Holding {
    /// Whether this library lends or copies it at all.
    pub fn lendable(&self) -> bool {
        self.lending.any()
    }

    /// Packs into the one-byte flag form: loan, copy, three bits of format, three of
    /// copies.
    pub fn flags(&self) -> u8 {
        (u8::from(self.lending.loan) << 7)
            | (u8::from(self.lending.copy) << 6)
            | (self.format.index() << 3)
            | self.copies.min(MAX_COPIES)
    }

    /// Unpacks.
    pub fn from_flags(library: u32, f: u8) -> Holding {
        Holding {
            library,
            copies: f & 0x07,
            lending: Lending {
                loan: f & 0x80 != 0,
                copy: f & 0x40 != 0,
            },
            format: Format::from_index((f >> 3) & 0x07),
        }
    }
}

/// Everything the builder needs about one cluster.
#[derive(Clone, Debug, Default)]
pub struct ClusterData {
    /// Identifiers of all member records.
    pub ids: Vec<Ident>,
    /// Match key (indexed only when the cluster has no valid identifier).
    pub match_key: Option<String>,
    /// Display title.
    pub title: String,
    /// Display author.
    pub author: String,
    /// Year.
    pub year: Option<u16>,
    /// Format.
    pub format: Format,
    /// Holdings; duplicates by library are merged by the builder.
    pub holdings: Vec<Holding>,
}

/// Builds a snapshot from clusters added in id order.
pub struct IndexBuilder {
    libraries: Vec<Library>,
    keys: Vec<(Box<[u8]>, u32)>,
    nums: [Vec<(u64, u32)>; 3],
    tok_ids: HashMap<Box<str>, u32>,
    tok_names: Vec<Box<str>>,
    postings: Vec<(u32, u32)>,
    holdings: crate::holdings::Writer,
    merged: Vec<Holding>,
    years: Vec<u16>,
    text_off: Vec<u64>,
    text: Vec<u8>,
    block: Vec<u8>,
    record: Vec<u8>,
    raw_blocks: Vec<Vec<u8>>,
    source: String,
}

/// A build failure that is ours (limits), not the input's.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// More clusters than ids can name.
    #[error("more than {0} clusters: the index format's limit")]
    TooManyClusters(u64),
    /// fst construction failed (keys out of order would be our bug).
    #[error("building the key index failed: {0}")]
    Fst(#[from] fst::Error),
    /// The snapshot just written does not read back (our bug).
    #[error("the snapshot just built does not read back: {0}")]
    Invalid(SnapshotError),
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
            holdings: Default::default(),
            merged: Vec::new(),
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
        for (prefix, text) in [('t', &c.title), ('a', &c.author)] {
            for t in tokens(text) {
                let key: String = format!("{prefix}{t}");
                let next = self.tok_names.len() as u32;
                let tid = *self
                    .tok_ids
                    .entry(key.as_str().into())
                    .or_insert_with(|| next);
                if tid == next {
                    self.tok_names.push(key.into());
                }
                self.postings.push((tid, id));
            }
        }
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

    fn flush_block(&mut self) {
        self.raw_blocks.push(std::mem::take(&mut self.block));
    }

    /// Replaces the numbers in the display text by their tables' coarse forms, trains a
    /// dictionary on a sample of the blocks and compresses them all with it.
    fn compress_text(&mut self, tables: &[Option<crate::idtable::Table<'_>>]) -> Vec<u8> {
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
        let dict = if samples.len() >= 100 && total > 8 * DICT_BYTES {
            zstd::dict::from_samples(&samples, DICT_BYTES).unwrap_or_default()
        } else {
            Vec::new()
        };
        let compressed: Vec<Vec<u8>> = blocks
            .par_chunks(64)
            .flat_map_iter(|chunk| {
                let mut c = zstd::bulk::Compressor::with_dictionary(ZSTD_LEVEL, &dict).ok();
                chunk
                    .iter()
                    .map(|b| {
                        c.as_mut()
                            .and_then(|c| c.compress(b).ok())
                            .unwrap_or_default()
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        self.text_off.clear();
        self.text.clear();
        for c in compressed {
            self.text_off.push(self.text.len() as u64);
            self.text.extend_from_slice(&c);
        }
        dict
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
        let dict = self.compress_text(&tables);
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
                let ids: Vec<u32> = self.postings[s..e].iter().map(|p| p.1).collect();
                let mut v = Vec::new();
                crate::postings::write(&ids, clusters as u32, &mut v);
                v
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
        };
        let mut w = snapshot::Writer::default();
        w.section(S_META, serde_json::to_vec(&meta).unwrap_or_default());
        w.section(S_KEYS, keys_fst);
        w.section(S_MULTI, le_u32(&multi));
        for (id, t) in S_NUMS.into_iter().zip(nums) {
            w.section(id, t);
        }
        write_holdings(&mut w, self.holdings);
        let (years, wide) = years::encode(&self.years);
        w.section(S_YEARS, years);
        w.section(S_YEARS_WIDE, wide);
        w.section(S_TOKENS, tokens_fst);
        w.section(S_POSTINGS, post);
        w.section(
            S_TEXT_OFF,
            self.text_off.iter().flat_map(|o| o.to_le_bytes()).collect(),
        );
        w.section(S_TEXT, self.text);
        w.section(S_TEXT_DICT, dict);
        Ok(w.finish())
    }
}

fn write_holdings(w: &mut snapshot::Writer, h: crate::holdings::Writer) {
    let (groups, wide, runs) = h.finish();
    w.section(S_HOLD_GROUPS, groups);
    w.section(S_HOLD_WIDE, wide);
    w.section(S_HOLD_RUNS, runs);
}

fn le_u32(v: &[u32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len() * 4);
    for x in v {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

#[inline]
fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]])
}

/// One holdings change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum DeltaOp {
    /// A library adds (or updates) its holding of a cluster.
    Upsert {
        /// Cluster.
        cluster: u32,
        /// Library symbol (new symbols are added).
        symbol: String,
        /// Copies (saturates at [`MAX_COPIES`]).
        copies: u8,
        /// Lends or copies it.
        lendable: bool,
        /// Copies only (with `lendable`): no loans.
        #[serde(default)]
        copy_only: bool,
        /// Format, else the cluster's.
        #[serde(default)]
        format: Option<Format>,
    },
    /// A library withdraws its holding.
    Withdraw {
        /// Cluster.
        cluster: u32,
        /// Library symbol.
        symbol: String,
    },
}

/// A delta that cannot be applied (the caller's fault, except the width limit).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeltaError {
    /// No such cluster.
    #[error("cluster {0} does not exist")]
    UnknownCluster(u32),
    /// Withdrawal for a library the catalogue does not know.
    #[error("library {0:?} is not in the catalogue")]
    UnknownLibrary(String),
    /// Empty symbol.
    #[error("library symbol is empty")]
    EmptySymbol,
    /// Library table full for this snapshot's holder width.
    #[error("the snapshot holds at most {0} libraries; rebuild it to add more")]
    TooManyLibraries(usize),
}

/// Display information about one cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClusterInfo {
    /// Cluster id.
    pub id: u32,
    /// Title.
    pub title: String,
    /// Author.
    pub author: String,
    /// Year, if known.
    pub year: Option<u16>,
    /// Format.
    pub format: Format,
    /// Identifiers (as `kind:value`, invalid ones marked).
    pub ids: Vec<String>,
}

/// The read-only index over a snapshot buffer. Cheap to clone (shared bytes) and
/// `Send + Sync`.
#[derive(Clone)]
pub struct Catalog {
    meta: std::sync::Arc<Meta>,
    symbols: std::sync::Arc<HashMap<String, u32>>,
    keys: Map<Slice>,
    multi: Slice,
    nums: [(Slice, crate::idtable::Header); 3],
    hold_groups: Slice,
    hold_wide: Slice,
    hold_runs: Slice,
    years: Slice,
    years_wide: Slice,
    tokens: Map<Slice>,
    postings: Slice,
    text_off: Slice,
    text: Slice,
    /// Prepared zstd dictionary for the text blocks (shared, built once at load).
    dict: std::sync::Arc<zstd::dict::DecoderDictionary<'static>>,
    dict_bytes: Slice,
    size: usize,
    /// Holdings changed since the snapshot: full replacement lists for touched clusters.
    overlay: std::sync::Arc<HashMap<u32, Vec<Holding>>>,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog")
            .field("clusters", &self.meta.clusters)
            .field("holdings", &self.meta.holdings)
            .field("libraries", &self.meta.libraries.len())
            .finish()
    }
}

impl Catalog {
    /// Opens a snapshot file (memory-mapped) after validating it.
    pub fn open(path: &std::path::Path) -> Result<Catalog, SnapshotError> {
        Catalog::from_reader(Reader::open(path)?)
    }

    /// Reads a snapshot held in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Catalog, SnapshotError> {
        Catalog::from_reader(Reader::new(snapshot::Bytes::Owned(std::sync::Arc::new(
            bytes,
        )))?)
    }

    /// Builds the accessors over a validated snapshot, checking every section's shape so
    /// that no later access can index out of bounds.
    pub fn from_reader(r: Reader) -> Result<Catalog, SnapshotError> {
        let meta: Meta = serde_json::from_slice(r.section(S_META, "meta")?.as_ref())
            .map_err(|_| SnapshotError::Section("meta"))?;
        let keys =
            Map::new(r.section(S_KEYS, "keys")?).map_err(|_| SnapshotError::Section("keys"))?;
        let tokens = Map::new(r.section(S_TOKENS, "tokens")?)
            .map_err(|_| SnapshotError::Section("tokens"))?;
        let n = usize::try_from(meta.clusters).map_err(|_| SnapshotError::Section("meta"))?;
        let hold_groups = r.section(S_HOLD_GROUPS, "hold_groups")?;
        let hold_wide = r.section(S_HOLD_WIDE, "hold_wide")?;
        let hold_runs = r.section(S_HOLD_RUNS, "hold_runs")?;
        let years = r.section(S_YEARS, "years")?;
        let text_off = r.section(S_TEXT_OFF, "text_off")?;
        let text = r.section(S_TEXT, "text")?;
        if meta.text_block == 0 {
            return Err(SnapshotError::Section("meta"));
        }
        let blocks = n.div_ceil(meta.text_block as usize).max(1);
        let years_wide = r.section(S_YEARS_WIDE, "years")?;
        let ok = years.as_ref().len() == years::HEADER + n
            && years_wide.as_ref().len() % years::WIDE_ENTRY == 0
            && text_off.as_ref().len() == 8 * (blocks + 1)
            && u32::try_from(meta.libraries.len()).is_ok();
        if !ok {
            return Err(SnapshotError::Section("holdings"));
        }
        let nlib = meta.libraries.len() as u32;
        let num = |i: usize| -> Result<(Slice, crate::idtable::Header), SnapshotError> {
            let s = r.section(S_NUMS[i], "identifier numbers")?;
            let h = crate::idtable::Table::parse(s.as_ref())
                .ok_or(SnapshotError::Section("identifier numbers"))?
                .header();
            Ok((s, h))
        };
        let nums = [num(0)?, num(1)?, num(2)?];
        let cat = Catalog {
            symbols: std::sync::Arc::new(
                meta.libraries
                    .iter()
                    .enumerate()
                    .map(|(i, l)| (l.symbol.clone(), i as u32))
                    .collect(),
            ),
            meta: std::sync::Arc::new(meta),
            keys,
            multi: r.section(S_MULTI, "multi")?,
            nums,
            hold_groups,
            hold_wide,
            hold_runs,
            years,
            years_wide,
            tokens,
            postings: r.section(S_POSTINGS, "postings")?,
            text_off,
            text,
            dict: std::sync::Arc::new(zstd::dict::DecoderDictionary::copy(
                r.section(S_TEXT_DICT, "text_dict")?.as_ref(),
            )),
            dict_bytes: r.section(S_TEXT_DICT, "text_dict")?,
            size: r.len(),
            overlay: Default::default(),
        };
        // every run must decode inside its bounds and name known libraries, in order
        if !cat.hreader().validate(n, cat.meta.holdings, nlib) {
            return Err(SnapshotError::Section("holdings"));
        }
        // every posting list must decode, ascending, to known clusters: lookups then read
        // dense lists without checking them again
        let mut offsets = Vec::with_capacity(cat.tokens.len());
        let mut stream = cat.tokens.stream();
        while let Some((_, off)) = stream.next() {
            offsets.push(off);
        }
        let postings = cat.postings.as_ref();
        let universe = cat.clusters();
        let ok = offsets.par_iter().all(|&off| {
            usize::try_from(off)
                .ok()
                .and_then(|o| postings.get(o..))
                .is_some_and(|b| crate::postings::check(b, universe))
        });
        if !ok {
            return Err(SnapshotError::Section("postings"));
        }
        Ok(cat)
    }

    /// Snapshot metadata.
    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    /// Number of clusters.
    pub fn clusters(&self) -> u32 {
        self.meta.clusters as u32
    }

    /// Snapshot size in bytes.
    pub fn size_bytes(&self) -> usize {
        self.size
    }

    /// Bytes per snapshot section, for stats and the bench report.
    pub fn section_sizes(&self) -> Vec<(&'static str, usize)> {
        vec![
            (
                "identifier numbers (bucketed tables)",
                self.nums.iter().map(|n| n.0.as_ref().len()).sum(),
            ),
            (
                "identifier text keys (fst)",
                self.keys.as_fst().as_bytes().len(),
            ),
            ("multi-cluster keys", self.multi.as_ref().len()),
            (
                "holding offsets",
                self.hold_groups.as_ref().len() + self.hold_wide.as_ref().len(),
            ),
            ("holdings (varint runs)", self.hold_runs.as_ref().len()),
            (
                "years",
                self.years.as_ref().len() + self.years_wide.as_ref().len(),
            ),
            (
                "title/author tokens (fst)",
                self.tokens.as_fst().as_bytes().len(),
            ),
            (
                "token postings (Elias–Fano or roaring)",
                self.postings.as_ref().len(),
            ),
            (
                "display text (zstd blocks + dictionary)",
                self.text.as_ref().len() + self.text_off.as_ref().len(),
            ),
        ]
    }

    /// The libraries (index = library id).
    pub fn libraries(&self) -> &[Library] {
        &self.meta.libraries
    }

    /// Library id by symbol.
    pub fn library_id(&self, symbol: &str) -> Option<u32> {
        self.symbols.get(symbol).copied()
    }

    #[inline]
    fn hreader(&self) -> crate::holdings::Reader<'_> {
        crate::holdings::Reader {
            groups: self.hold_groups.as_ref(),
            wide: self.hold_wide.as_ref(),
            runs: self.hold_runs.as_ref(),
        }
    }

    fn base_count(&self, cluster: u32) -> usize {
        if cluster >= self.clusters() {
            return 0;
        }
        self.hreader().count(cluster as usize)
    }

    /// Number of holders of a cluster.
    pub fn holder_count(&self, cluster: u32) -> usize {
        match self.overlay.get(&cluster) {
            Some(v) => v.len(),
            None => self.base_count(cluster),
        }
    }

    /// Appends the holdings of a cluster to `out` (in library-id order).
    pub fn holders_into(&self, cluster: u32, out: &mut Vec<Holding>) {
        self.each_holder(cluster, |h| out.push(h));
    }

    /// Calls `f` with each holding of a cluster (deltas applied), allocating nothing.
    pub fn each_holder(&self, cluster: u32, f: impl FnMut(Holding)) {
        if !self.overlay.is_empty()
            && let Some(v) = self.overlay.get(&cluster)
        {
            v.iter().copied().for_each(f);
            return;
        }
        self.each_base_holder(cluster, f);
    }

    /// The snapshot's holdings of a cluster, without the deltas.
    fn each_base_holder(&self, cluster: u32, f: impl FnMut(Holding)) {
        if cluster < self.clusters() {
            // validated at load: a run that does not decode cannot occur here
            let _ = self.hreader().each(cluster as usize, f);
        }
    }

    /// Holdings of a cluster.
    pub fn holders(&self, cluster: u32) -> Vec<Holding> {
        let mut v = Vec::with_capacity(self.holder_count(cluster));
        self.holders_into(cluster, &mut v);
        v
    }

    /// Year of a cluster.
    pub fn year(&self, cluster: u32) -> Option<u16> {
        years::get(self.years.as_ref(), self.years_wide.as_ref(), cluster)
    }

    /// Format of a cluster.
    pub fn format(&self, cluster: u32) -> Format {
        if cluster >= self.clusters() {
            return Format::Book;
        }
        self.hreader().format(cluster as usize)
    }

    /// Clusters under an exact typed key (see [`Ident::key`]).
    pub fn clusters_for_key(&self, key: &[u8]) -> Vec<u32> {
        let mut out = Vec::new();
        self.each_cluster_for_key(key, |c| out.push(c));
        out
    }

    /// Calls `f` with every identifier key (as [`Ident::key`] writes it;
    /// [`Ident::from_key`] reads it back) and each of its clusters, in key order: for
    /// exports and for loading the same catalogue into another system.
    pub fn each_identifier_key(&self, mut f: impl FnMut(&[u8], u32)) {
        // binary keys' tags sort below every text key's letter
        for (k, kind) in NUM_KINDS.into_iter().enumerate() {
            let mut kb = [0u8; crate::ident::MAX_KEY];
            self.num_table(k).for_each(|n, c| {
                let key = Ident::from_number(kind, n).and_then(|i| {
                    let len = i.write_key(&mut kb)?;
                    Some(&kb[..len])
                });
                if let Some(key) = key {
                    f(key, c);
                }
            });
        }
        let mut s = self.keys.stream();
        while let Some((k, v)) = s.next() {
            if crate::ident::is_identifier_key(k) {
                self.each_value(v, |c| f(k, c));
            }
        }
    }

    /// Calls `f` with each cluster under a typed key, allocating nothing.
    pub fn each_cluster_for_key(&self, key: &[u8], f: impl FnMut(u32)) {
        if let Some((kind, n)) = Ident::key_number(key) {
            self.each_cluster_for_number(kind, n, f);
        } else if let Some(v) = self.keys.get(key) {
            self.each_value(v, f);
        }
    }

    fn each_value(&self, v: u64, mut f: impl FnMut(u32)) {
        match v {
            v if v & MULTI_BIT == 0 => f(v as u32),
            v => {
                let m = self.multi.as_ref();
                let off = (v & !MULTI_BIT) as usize;
                if 4 * (off + 1) > m.len() {
                    return;
                }
                let n = u32_at(m, off) as usize;
                if 4 * (off + 1 + n) > m.len() {
                    return;
                }
                (0..n).for_each(|k| f(u32_at(m, off + 1 + k)));
            }
        }
    }

    /// Clusters for an identifier (valid or, exactly, invalid).
    pub fn clusters_for(&self, id: &Ident) -> Vec<u32> {
        let mut out = Vec::new();
        self.each_cluster_for(id, |c| out.push(c));
        out
    }

    /// Calls `f` with each cluster of an identifier, allocating nothing.
    pub fn each_cluster_for(&self, id: &Ident, f: impl FnMut(u32)) {
        if let Some((kind, n)) = id.number() {
            return self.each_cluster_for_number(kind, n, f);
        }
        let mut kb = [0u8; crate::ident::MAX_KEY];
        match id.write_key(&mut kb) {
            Some(n) => self.each_cluster_for_key(&kb[..n], f),
            None => self.each_cluster_for_key(&id.text_key(), f),
        }
    }

    #[inline]
    fn num_table(&self, slot: usize) -> crate::idtable::Table<'_> {
        let (s, h) = &self.nums[slot];
        h.view(s.as_ref())
    }

    /// Calls `f` with each cluster of an identifier number ([`Ident::number`]).
    pub fn each_cluster_for_number(&self, kind: IdKind, n: u64, mut f: impl FnMut(u32)) {
        let clusters = self.clusters();
        self.num_table(num_slot(kind)).each(n, |c| {
            if c < clusters {
                f(c);
            }
        });
    }

    /// Calls `f(i, cluster, holding)` for every holding of every cluster of `ids[i]`, for
    /// all `i` in order: what [`Catalog::each_cluster_for`] and [`Catalog::each_holder`]
    /// give one identifier at a time, for many at once (batch re-routing, bulk exports).
    ///
    /// One lookup is three dependent memory reads (the identifier's table entry, its
    /// cluster's offset group, the holders' run), each likely a cache miss, so a loop of
    /// single lookups waits on them one after another. Here a group of identifiers goes
    /// through each step together: the reads of one step are independent of each other,
    /// and the processor overlaps their misses.
    pub fn each_holding_of_many(&self, ids: &[Ident], mut f: impl FnMut(usize, u32, Holding)) {
        const LANES: usize = 16;
        if !self.overlay.is_empty() {
            // deltas in play: the plain path consults them
            for (i, id) in ids.iter().enumerate() {
                self.each_cluster_for(id, |c| self.each_holder(c, |h| f(i, c, h)));
            }
            return;
        }
        let clusters = self.clusters();
        let hr = self.hreader();
        let mut hits: Vec<(usize, u32)> = Vec::with_capacity(2 * LANES);
        let mut starts: Vec<Option<usize>> = Vec::with_capacity(2 * LANES);
        for (g, chunk) in ids.chunks(LANES).enumerate() {
            let base = g * LANES;
            // 1. each number's bucket (the bucket offsets are small and mostly cached);
            // `None` for an identifier kept as text, `Some(None)` for a number outside its
            // table
            let mut located = [None; LANES];
            for (j, id) in chunk.iter().enumerate() {
                located[j] = id.number().map(|(kind, n)| {
                    let slot = num_slot(kind);
                    self.num_table(slot).locate(n).map(|at| (slot, at))
                });
            }
            // 2. the entries: clusters
            hits.clear();
            for (j, id) in chunk.iter().enumerate() {
                match located[j] {
                    Some(Some((slot, at))) => self.num_table(slot).scan(at, |c| {
                        if c < clusters {
                            hits.push((base + j, c));
                        }
                    }),
                    Some(None) => {}
                    None => self.each_cluster_for(id, |c| hits.push((base + j, c))),
                }
            }
            // 3. where each cluster's run starts
            starts.clear();
            starts.extend(hits.iter().map(|&(_, c)| hr.start(c as usize)));
            // 4. the runs
            for (&(i, c), p) in hits.iter().zip(&starts) {
                if let Some(p) = *p {
                    // validated at load: a run that does not decode cannot occur here
                    let _ = hr.each_at(p, |h| f(i, c, h));
                }
            }
        }
    }

    /// Decompresses one text block with this thread's reusable context (creating a zstd
    /// context per call cost more than the decompression).
    fn decompress_block(&self, raw: &[u8], records: usize) -> Option<Vec<u8>> {
        use zstd::zstd_safe::{DCtx, get_frame_content_size};
        thread_local! {
            static DCTX: std::cell::RefCell<Option<DCtx<'static>>> =
                const { std::cell::RefCell::new(None) };
        }
        // the writer records the content size; else, a block is at most `records` records
        // and MARC bounds a field at 9,999 bytes
        let cap = match get_frame_content_size(raw) {
            Ok(Some(n)) => usize::try_from(n).ok()?,
            _ => records * 3 * 10_000,
        };
        let mut out: Vec<u8> = Vec::with_capacity(cap);
        DCTX.with(|c| {
            let mut c = c.borrow_mut();
            let ctx = c.get_or_insert_with(DCtx::create);
            ctx.decompress_using_ddict(&mut out, raw, self.dict.as_ddict())
                .ok()
        })?;
        Some(out)
    }

    /// Display information for a cluster.
    pub fn info(&self, cluster: u32) -> Option<ClusterInfo> {
        if cluster >= self.clusters() {
            return None;
        }
        let tb = self.meta.text_block as usize;
        let block = cluster as usize / tb;
        let offs = self.text_off.as_ref();
        let at = |i: usize| -> Option<usize> {
            let s = offs.get(8 * i..8 * i + 8)?;
            usize::try_from(u64::from_le_bytes(s.try_into().ok()?)).ok()
        };
        let (s, e) = (at(block)?, at(block + 1)?);
        let raw = self.text.as_ref().get(s..e)?;
        let plain = self.decompress_block(raw, tb)?;
        let rec = text::records(&plain).nth(cluster as usize % tb)?;
        let (title, author, stored) = text::read_record(rec);
        let mut ids = Vec::with_capacity(stored.len());
        for (k, id) in stored.iter().enumerate() {
            match id {
                text::Stored::Number(kind, coarse) => {
                    // two ids of a cluster may share a coarse form: read it once
                    if stored[..k].contains(id) {
                        continue;
                    }
                    self.num_table(num_slot(*kind))
                        .each_in_coarse(*coarse, cluster, |n| {
                            ids.extend(Ident::from_number(*kind, n).map(|i| i.to_string()));
                        });
                }
                text::Stored::Text(i) => ids.push(i.to_string()),
            }
        }
        Some(ClusterInfo {
            id: cluster,
            title,
            author,
            year: self.year(cluster),
            format: self.format(cluster),
            ids,
        })
    }

    /// Postings of one exact token key (`t...`/`a...`).
    fn postings_at(&self, off: u64) -> RoaringBitmap {
        let p = self.postings.as_ref();
        p.get(off as usize..)
            .map(crate::postings::read)
            .unwrap_or_default()
    }

    /// Token matches for a word within `dist` edits: `(distance, postings)` per matching
    /// dictionary token, best first.
    pub(crate) fn fuzzy_token(
        &self,
        prefix: char,
        word: &str,
        dist: u8,
    ) -> Vec<(u8, RoaringBitmap)> {
        use crate::lookup::dfa_for;
        let key = format!("{prefix}{word}");
        // a word the index knows is taken as spelled: expanding it to its neighbours would
        // mostly add other real words (and their postings) to every query
        if let Some(off) = self.tokens.get(&key) {
            return vec![(0, self.postings_at(off))];
        }
        if dist == 0 {
            return Vec::new();
        }
        let dfa = dfa_for(&key, dist);
        let mut found: Vec<(u8, u64)> = Vec::new();
        let mut stream = self.tokens.search(&dfa).into_stream();
        while let Some((k, off)) = stream.next() {
            found.push((dfa.distance_of(k), off));
            if found.len() >= 64 {
                break; // a word with more neighbours than this is not telling us much
            }
        }
        found.sort_by_key(|x| x.0);
        found.truncate(16);
        found
            .into_iter()
            .map(|(d, off)| (d, self.postings_at(off)))
            .collect()
    }

    /// All keys of the identifier fst (for stats and tests).
    pub fn key_count_by_kind(&self) -> Vec<(char, u64)> {
        let mut counts: std::collections::BTreeMap<char, u64> = Default::default();
        for (k, kind) in NUM_KINDS.into_iter().enumerate() {
            let n = self.num_table(k).distinct();
            if n > 0 {
                *counts.entry(kind.prefix() as char).or_default() += n;
            }
        }
        let mut s = self.keys.stream();
        while let Some((k, _)) = s.next() {
            // binary keys count under their kind's letter
            let c = match crate::ident::key_kind(k) {
                Some((kind, IdStatus::Valid)) => kind.prefix(),
                Some((kind, IdStatus::BadCheckDigit)) => kind.invalid_prefix(),
                Some((_, IdStatus::Cancelled)) => crate::ident::CANCELLED,
                None => k[0],
            };
            *counts.entry(c as char).or_default() += 1;
        }
        counts.into_iter().collect()
    }

    /// Normalised form of free text, as the token index sees it.
    pub fn normalize(text: &str) -> String {
        normalize_text(text)
    }

    /// Holder ids of a cluster as a roaring bitmap (for the measurements in the bench).
    pub fn holder_bitmap(&self, cluster: u32) -> RoaringBitmap {
        self.holders(cluster).iter().map(|h| h.library).collect()
    }

    /// Number of clusters whose holdings differ from the snapshot (compact when large).
    pub fn delta_len(&self) -> usize {
        self.overlay.len()
    }

    /// Applies holdings changes without a rebuild. Returns a new catalogue sharing this
    /// one's snapshot bytes; this one is unchanged (readers in flight keep a consistent
    /// view). New library symbols are added to the library table.
    pub fn with_delta(&self, ops: &[DeltaOp]) -> Result<Catalog, DeltaError> {
        let mut meta = (*self.meta).clone();
        let mut symbols = (*self.symbols).clone();
        let mut overlay = (*self.overlay).clone();
        let limit = u32::MAX as usize;
        for op in ops {
            let (cluster, symbol) = match op {
                DeltaOp::Upsert {
                    cluster, symbol, ..
                }
                | DeltaOp::Withdraw { cluster, symbol } => (*cluster, symbol),
            };
            if cluster >= self.clusters() {
                return Err(DeltaError::UnknownCluster(cluster));
            }
            if symbol.trim().is_empty() {
                return Err(DeltaError::EmptySymbol);
            }
            let lib = match symbols.get(symbol) {
                Some(&l) => l,
                None => {
                    if matches!(op, DeltaOp::Withdraw { .. }) {
                        return Err(DeltaError::UnknownLibrary(symbol.clone()));
                    }
                    if meta.libraries.len() >= limit {
                        return Err(DeltaError::TooManyLibraries(limit));
                    }
                    let id = meta.libraries.len() as u32;
                    meta.libraries.push(Library {
                        symbol: symbol.clone(),
                        name: symbol.clone(),
                    });
                    symbols.insert(symbol.clone(), id);
                    id
                }
            };
            let list = overlay.entry(cluster).or_insert_with(|| {
                let mut v = Vec::new();
                self.each_base_holder(cluster, |h| v.push(h));
                v
            });
            let pos = list.binary_search_by_key(&lib, |h| h.library);
            match (op, pos) {
                (
                    DeltaOp::Upsert {
                        copies,
                        lendable,
                        copy_only,
                        format,
                        ..
                    },
                    p,
                ) => {
                    let h = Holding {
                        library: lib,
                        copies: (*copies).min(MAX_COPIES),
                        lending: Lending {
                            loan: *lendable && !*copy_only,
                            copy: *lendable,
                        },
                        format: format.unwrap_or_else(|| self.format(cluster)),
                    };
                    match p {
                        Ok(i) => list[i] = h,
                        Err(i) => list.insert(i, h),
                    }
                }
                (DeltaOp::Withdraw { .. }, Ok(i)) => {
                    list.remove(i);
                }
                (DeltaOp::Withdraw { .. }, Err(_)) => {}
            }
        }
        meta.holdings = (0..self.clusters())
            .map(|c| match overlay.get(&c) {
                Some(v) => v.len() as u64,
                None => self.base_count(c) as u64,
            })
            .sum();
        Ok(Catalog {
            meta: std::sync::Arc::new(meta),
            symbols: std::sync::Arc::new(symbols),
            overlay: std::sync::Arc::new(overlay),
            ..self.clone()
        })
    }

    /// Writes a new snapshot with the delta folded into the holdings arrays (the other
    /// sections are copied as they are).
    pub fn compact(&self) -> Vec<u8> {
        let mut holdings = crate::holdings::Writer::default();
        let mut buf = Vec::new();
        for c in 0..self.clusters() {
            buf.clear();
            self.holders_into(c, &mut buf);
            holdings.push(self.format(c), &buf);
        }
        let mut meta = (*self.meta).clone();
        meta.holdings = holdings.holdings();
        let mut w = snapshot::Writer::default();
        w.section(S_META, serde_json::to_vec(&meta).unwrap_or_default());
        w.section(S_KEYS, self.keys.as_fst().as_bytes().to_vec());
        w.section(S_MULTI, self.multi.as_ref().to_vec());
        for (id, (t, _)) in S_NUMS.into_iter().zip(&self.nums) {
            w.section(id, t.as_ref().to_vec());
        }
        write_holdings(&mut w, holdings);
        w.section(S_YEARS, self.years.as_ref().to_vec());
        w.section(S_YEARS_WIDE, self.years_wide.as_ref().to_vec());
        w.section(S_TOKENS, self.tokens.as_fst().as_bytes().to_vec());
        w.section(S_POSTINGS, self.postings.as_ref().to_vec());
        w.section(S_TEXT_OFF, self.text_off.as_ref().to_vec());
        w.section(S_TEXT, self.text.as_ref().to_vec());
        w.section(S_TEXT_DICT, self.dict_bytes.as_ref().to_vec());
        w.finish()
    }

    /// Which identifier kinds resolve for a cluster is not stored; this helper returns
    /// the first valid identifier of the cluster's display list, for examples and tests.
    pub fn first_id(&self, cluster: u32, kind: IdKind) -> Option<String> {
        let info = self.info(cluster)?;
        let p = format!("{}:", kind.name());
        info.ids
            .iter()
            .find(|s| s.starts_with(&p) && !s.ends_with(')'))
            .map(|s| s[p.len()..].to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_text_across_block_boundaries() {
        let mut b = IndexBuilder::new(
            vec![Library {
                symbol: "A".into(),
                name: String::new(),
            }],
            "test",
        );
        let n = 3 * TEXT_BLOCK as u32 + 5;
        for i in 0..n {
            b.add(ClusterData {
                ids: vec![],
                match_key: Some(format!("k{i}")),
                title: format!("Title number {i}"),
                author: format!("Author {i}"),
                year: Some(2000),
                format: Format::Book,
                holdings: vec![],
            })
            .unwrap();
        }
        let cat = Catalog::from_bytes(b.finish().unwrap()).unwrap();
        assert_eq!(cat.meta().text_block as usize, TEXT_BLOCK);
        for i in [
            0,
            TEXT_BLOCK as u32 - 1,
            TEXT_BLOCK as u32,
            2 * TEXT_BLOCK as u32 + 1,
            n - 1,
        ] {
            let info = cat.info(i).unwrap();
            assert_eq!(info.title, format!("Title number {i}"));
            assert_eq!(info.author, format!("Author {i}"));
        }
        assert!(cat.info(n).is_none());
    }

    #[test]
    fn many_lookups_at_once_agree_with_one_at_a_time() {
        use crate::ident::{normalize_isbn, normalize_lccn};
        let p = crate::generate::GenParams {
            libraries: 50,
            records: 2000,
            ..Default::default()
        };
        let cat = Catalog::from_bytes(crate::generate::generate(&p, &|_| {}).unwrap()).unwrap();
        let mut ids: Vec<Ident> = (0..300u64)
            .map(|i| normalize_isbn(&crate::generate::isbn_of(i * 7 % 2000)).unwrap())
            .collect();
        ids.push(normalize_isbn("9780306406157").unwrap()); // not in the catalogue
        ids.push(normalize_lccn("n78-890351").unwrap()); // a text key
        ids.push(ids[3].clone());
        let one_by_one = |cat: &Catalog| {
            let mut v = Vec::new();
            for (i, id) in ids.iter().enumerate() {
                cat.each_cluster_for(id, |c| cat.each_holder(c, |h| v.push((i, c, h))));
            }
            v
        };
        let many = |cat: &Catalog| {
            let mut v = Vec::new();
            cat.each_holding_of_many(&ids, |i, c, h| v.push((i, c, h)));
            v
        };
        let want = one_by_one(&cat);
        assert!(want.len() > 300);
        assert_eq!(many(&cat), want);
        // with a delta applied, both read it
        let changed = cat
            .with_delta(&[DeltaOp::Withdraw {
                cluster: cat.clusters_for(&ids[0])[0],
                symbol: cat.libraries()
                    [cat.holders(cat.clusters_for(&ids[0])[0])[0].library as usize]
                    .symbol
                    .clone(),
            }])
            .unwrap();
        let want2 = one_by_one(&changed);
        assert_eq!(want2.len() + 1, want.len());
        assert_eq!(many(&changed), want2);
    }

    #[test]
    fn identifiers_are_found_and_displayed_from_their_tables() {
        use crate::ident::{normalize_isbn, normalize_issn, normalize_lccn, normalize_oclc};
        let lib = vec![Library {
            symbol: "A".into(),
            name: String::new(),
        }];
        let mut b = IndexBuilder::new(lib, "test");
        let set_isbn = normalize_isbn("9780306406157").unwrap();
        // neighbours: two ISBNs of one cluster that share a coarse form
        let near = Ident::from_number(IdKind::Isbn, 978_030_640_616).unwrap();
        let ids: Vec<Vec<Ident>> = vec![
            vec![
                set_isbn.clone(),
                near.clone(),
                normalize_oclc("ocm00012345").unwrap(),
            ],
            vec![set_isbn.clone(), normalize_issn("0317-8471").unwrap()],
            vec![
                normalize_isbn("9780306406158").unwrap(), // bad check digit
                normalize_lccn("n78-890351").unwrap(),
                normalize_oclc("4294967296").unwrap(),
            ],
        ];
        for (k, v) in ids.iter().enumerate() {
            b.add(ClusterData {
                ids: v.clone(),
                title: format!("T{k}"),
                ..Default::default()
            })
            .unwrap();
        }
        // and a generated catalogue's worth of scattered numbers after them
        let p = crate::generate::GenParams {
            libraries: 1,
            records: 3000,
            ..Default::default()
        };
        let w = crate::generate::library_weights(1, p.seed);
        for i in 0..3000 {
            let mut r = crate::generate::record(i, &p, &w);
            r.holdings.clear();
            b.add(r).unwrap();
        }
        let cat = Catalog::from_bytes(b.finish().unwrap()).unwrap();
        assert_eq!(cat.clusters_for(&set_isbn), vec![0, 1]);
        for (k, v) in ids.iter().enumerate() {
            let mut shown = cat.info(k as u32).unwrap().ids;
            shown.sort();
            let mut want: Vec<String> = v.iter().map(Ident::to_string).collect();
            want.sort();
            assert_eq!(shown, want, "cluster {k}");
            for i in v {
                assert!(cat.clusters_for(i).contains(&(k as u32)), "{i}");
            }
        }
        for c in 3..3003u32 {
            let isbn = normalize_isbn(&crate::generate::isbn_of(u64::from(c - 3))).unwrap();
            assert_eq!(cat.clusters_for(&isbn), vec![c]);
            let info = cat.info(c).unwrap();
            assert!(info.ids.contains(&isbn.to_string()), "{c}: {:?}", info.ids);
            assert_eq!(info.ids.len(), 2, "{c}: {:?}", info.ids);
        }
    }
}
