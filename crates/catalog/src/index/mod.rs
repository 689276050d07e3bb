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

mod build;
mod delta;
mod display;
pub mod tokens;

use std::collections::HashMap;

use fst::{Map, Streamer};
use rayon::prelude::*;
use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};

pub use build::IndexBuilder;
pub use delta::{DeltaError, DeltaOp};
pub use tokens::{Facts, TokenLists};

use crate::format::Format;
use crate::id::{ClusterId, LibraryId};
use crate::ident::{IdKind, IdStatus, Ident};
use crate::lending::Lending;
use crate::snapshot::{self, Reader, Slice, SnapshotError};
use crate::text;
use crate::words::normalize_text;
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
const S_FACTS: u32 = 23;
const S_HOLD_GROUPS: u32 = 14;
const S_HOLD_WIDE: u32 = 15;
const S_HOLD_RUNS: u32 = 16;
/// Serial coverage per holding ([`crate::coverage::table`]); absent in snapshots written
/// before it, which read as having none.
const S_COVERAGE: u32 = 24;
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
    /// Languages of the text (MARC codes), by [`Facts::language`] index minus one.
    #[serde(default)]
    pub languages: Vec<String>,
}

/// One holding as the index returns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Holding {
    /// Library id (index into [`Meta::libraries`]).
    pub library: LibraryId,
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
    pub fn from_flags(library: LibraryId, f: u8) -> Holding {
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
    /// Title proper (245 `$a`), which a citation must match.
    pub title_proper: String,
    /// Part designation (245 `$n $p`), matched as part of the title proper.
    pub part: String,
    /// Subtitle (245 `$b`), which a citation may match.
    pub subtitle: String,
    /// Other forms of the title (246, vernacular 880), matched like the title proper.
    pub alt_titles: Vec<String>,
    /// Every name to index: the author, other names, vernacular forms.
    pub names: Vec<String>,
    /// Whether the author is a main entry.
    pub main_entry: bool,
    /// Language of the text (MARC code).
    pub language: Option<String>,
    /// Year.
    pub year: Option<u16>,
    /// Format.
    pub format: Format,
    /// Holdings; duplicates by library are merged by the builder.
    pub holdings: Vec<Holding>,
    /// Serial coverage of those holdings that state one; a library's several statements
    /// are merged by the builder.
    pub coverage: Vec<(LibraryId, crate::coverage::Coverage)>,
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
    /// zstd refused a block of display text (out of memory, or our bug).
    #[error("compressing the display text failed: {0}")]
    Compress(String),
    /// The metadata would not serialise (our bug).
    #[error("writing the snapshot metadata failed: {0}")]
    Meta(#[from] serde_json::Error),
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
    coverage: Option<Slice>,
    coverage_holdings: u64,
    years: Slice,
    years_wide: Slice,
    tokens: Map<Slice>,
    postings: Slice,
    facts: Slice,
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
        let facts = r.section(S_FACTS, "facts")?;
        if facts.as_ref().len() != 2 * n {
            return Err(SnapshotError::Section("facts"));
        }
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
            coverage: r.section(S_COVERAGE, "coverage").ok(),
            coverage_holdings: 0,
            years,
            years_wide,
            tokens,
            postings: r.section(S_POSTINGS, "postings")?,
            facts,
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
        let mut cat = cat;
        cat.coverage_holdings = crate::coverage::table::Table::new(cat.coverage_bytes())
            .and_then(|t| t.validate(cat.clusters(), nlib))
            .ok_or(SnapshotError::Section("coverage"))?;
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
                .is_some_and(|b| tokens::check_token(b, universe))
        });
        if !ok {
            return Err(SnapshotError::Section("postings"));
        }
        Ok(cat)
    }

    /// The serial coverage of each holding of `cluster` that states one, by library.
    /// Holdings added by a delta since the snapshot state none.
    pub fn coverage(&self, cluster: ClusterId) -> Vec<(LibraryId, crate::coverage::Coverage)> {
        match crate::coverage::table::Table::new(self.coverage_bytes()) {
            Some(t) => t.of(cluster),
            None => Vec::new(),
        }
    }

    /// Where each holding's coverage of `cluster` is, by library, without decoding it
    /// ([`Catalog::coverage_at`] does): routing checks only the holders that pass its
    /// other rules.
    pub fn coverage_offsets(&self, cluster: ClusterId, out: &mut Vec<(LibraryId, u32)>) {
        match crate::coverage::table::Table::new(self.coverage_bytes()) {
            Some(t) => t.offsets(cluster, out),
            None => out.clear(),
        }
    }

    /// Checks a citation against the coverage at an offset [`Catalog::coverage_offsets`]
    /// gave, without building it.
    pub fn coverage_check_at(
        &self,
        offset: u32,
        cited: &crate::coverage::Cited,
        today: chrono::NaiveDate,
    ) -> Option<crate::coverage::Verdict> {
        crate::coverage::table::Table::new(self.coverage_bytes())?.check_at(offset, cited, today)
    }

    /// The coverage at an offset [`Catalog::coverage_offsets`] gave.
    pub fn coverage_at(&self, offset: u32) -> Option<crate::coverage::Coverage> {
        crate::coverage::table::Table::new(self.coverage_bytes())?.at(offset)
    }

    fn coverage_bytes(&self) -> &[u8] {
        self.coverage.as_ref().map_or(&[], |s| s.as_ref())
    }

    /// Holdings with serial coverage in the snapshot.
    pub fn coverage_holdings(&self) -> u64 {
        self.coverage_holdings
    }

    /// Snapshot metadata.
    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    /// Number of clusters.
    pub fn clusters(&self) -> u32 {
        self.meta.clusters as u32
    }

    /// Every cluster's id, in order.
    pub fn cluster_ids(&self) -> impl ExactSizeIterator<Item = ClusterId> + use<> {
        (0..self.clusters()).map(ClusterId::new)
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
            ("serial coverage", self.coverage_bytes().len()),
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
            ("title facts", self.facts.as_ref().len()),
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
    pub fn library_id(&self, symbol: &str) -> Option<LibraryId> {
        self.symbols.get(symbol).copied().map(LibraryId::new)
    }

    /// A library by id.
    pub fn library(&self, id: LibraryId) -> &Library {
        &self.meta.libraries[id.index()]
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
    pub fn holder_count(&self, cluster: ClusterId) -> usize {
        let cluster = cluster.get();
        match self.overlay.get(&cluster) {
            Some(v) => v.len(),
            None => self.base_count(cluster),
        }
    }

    /// Appends the holdings of a cluster to `out` (in library-id order).
    pub fn holders_into(&self, cluster: ClusterId, out: &mut Vec<Holding>) {
        self.each_holder(cluster, |h| out.push(h));
    }

    /// Calls `f` with each holding of a cluster (deltas applied), allocating nothing.
    pub fn each_holder(&self, cluster: ClusterId, f: impl FnMut(Holding)) {
        let cluster = cluster.get();
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
    pub fn holders(&self, cluster: ClusterId) -> Vec<Holding> {
        let mut v = Vec::with_capacity(self.holder_count(cluster));
        self.holders_into(cluster, &mut v);
        v
    }

    /// Year of a cluster.
    pub fn year(&self, cluster: ClusterId) -> Option<u16> {
        years::get(self.years.as_ref(), self.years_wide.as_ref(), cluster.get())
    }

    /// Format of a cluster.
    pub fn format(&self, cluster: ClusterId) -> Format {
        let cluster = cluster.get();
        if cluster >= self.clusters() {
            return Format::Book;
        }
        self.hreader().format(cluster as usize)
    }

    /// Clusters under an exact typed key (see [`Ident::key`]).
    pub fn clusters_for_key(&self, key: &[u8]) -> Vec<ClusterId> {
        let mut out = Vec::new();
        self.each_cluster_for_key(key, |c| out.push(c));
        out
    }

    /// Calls `f` with every identifier key (as [`Ident::key`] writes it;
    /// [`Ident::from_key`] reads it back) and each of its clusters, in key order: for
    /// exports and for loading the same catalogue into another system.
    pub fn each_identifier_key(&self, mut f: impl FnMut(&[u8], ClusterId)) {
        // binary keys' tags sort below every text key's letter
        for (k, kind) in NUM_KINDS.into_iter().enumerate() {
            let mut kb = [0u8; crate::ident::MAX_KEY];
            self.num_table(k).for_each(|n, c| {
                let key = Ident::from_number(kind, n).and_then(|i| {
                    let len = i.write_key(&mut kb)?;
                    Some(&kb[..len])
                });
                if let Some(key) = key {
                    f(key, ClusterId::new(c));
                }
            });
        }
        let mut s = self.keys.stream();
        while let Some((k, v)) = s.next() {
            if crate::ident::is_identifier_key(k) {
                self.each_value(v, |c| f(k, ClusterId::new(c)));
            }
        }
    }

    /// Calls `f` with each cluster under a typed key, allocating nothing.
    pub fn each_cluster_for_key(&self, key: &[u8], mut f: impl FnMut(ClusterId)) {
        if let Some((kind, n)) = Ident::key_number(key) {
            self.each_cluster_for_number(kind, n, f);
        } else if let Some(v) = self.keys.get(key) {
            self.each_value(v, |c| f(ClusterId::new(c)));
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
    pub fn clusters_for(&self, id: &Ident) -> Vec<ClusterId> {
        let mut out = Vec::new();
        self.each_cluster_for(id, |c| out.push(c));
        out
    }

    /// Calls `f` with each cluster of an identifier, allocating nothing.
    pub fn each_cluster_for(&self, id: &Ident, f: impl FnMut(ClusterId)) {
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
    pub fn each_cluster_for_number(&self, kind: IdKind, n: u64, mut f: impl FnMut(ClusterId)) {
        let clusters = self.clusters();
        self.num_table(num_slot(kind)).each(n, |c| {
            if c < clusters {
                f(ClusterId::new(c));
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
    pub fn each_holding_of_many(
        &self,
        ids: &[Ident],
        mut f: impl FnMut(usize, ClusterId, Holding),
    ) {
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
        let mut hits: Vec<(usize, ClusterId)> = Vec::with_capacity(2 * LANES);
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
                            hits.push((base + j, ClusterId::new(c)));
                        }
                    }),
                    Some(None) => {}
                    None => self.each_cluster_for(id, |c| hits.push((base + j, c))),
                }
            }
            // 3. where each cluster's run starts
            starts.clear();
            starts.extend(hits.iter().map(|&(_, c)| hr.start(c.index())));
            // 4. the runs
            for (&(i, c), p) in hits.iter().zip(&starts) {
                if let Some(p) = *p {
                    // validated at load: a run that does not decode cannot occur here
                    let _ = hr.each_at(p, |h| f(i, c, h));
                }
            }
        }
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
    pub fn holder_bitmap(&self, cluster: ClusterId) -> RoaringBitmap {
        self.holders(cluster)
            .iter()
            .map(|h| h.library.get())
            .collect()
    }

    /// Which identifier kinds resolve for a cluster is not stored; this helper returns
    /// the first valid identifier of the cluster's display list, for examples and tests.
    pub fn first_id(&self, cluster: ClusterId, kind: IdKind) -> Option<String> {
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
                ..ClusterData::default()
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
            let info = cat.info(ClusterId::new(i)).unwrap();
            assert_eq!(info.title, format!("Title number {i}"));
            assert_eq!(info.author, format!("Author {i}"));
        }
        assert!(cat.info(ClusterId::new(n)).is_none());
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
                symbol: cat
                    .library(cat.holders(cat.clusters_for(&ids[0])[0])[0].library)
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
        assert_eq!(
            cat.clusters_for(&set_isbn),
            [ClusterId::new(0), ClusterId::new(1)]
        );
        for (k, v) in ids.iter().enumerate() {
            let mut shown = cat.info(ClusterId::new(k as u32)).unwrap().ids;
            shown.sort();
            let mut want: Vec<String> = v.iter().map(Ident::to_string).collect();
            want.sort();
            assert_eq!(shown, want, "cluster {k}");
            for i in v {
                assert!(
                    cat.clusters_for(i).contains(&ClusterId::new(k as u32)),
                    "{i}"
                );
            }
        }
        for c in 3..3003u32 {
            let isbn = normalize_isbn(&crate::generate::isbn_of(u64::from(c - 3))).unwrap();
            assert_eq!(cat.clusters_for(&isbn), [ClusterId::new(c)]);
            let info = cat.info(ClusterId::new(c)).unwrap();
            assert!(info.ids.contains(&isbn.to_string()), "{c}: {:?}", info.ids);
            assert_eq!(info.ids.len(), 2, "{c}: {:?}", info.ids);
        }
    }
}
