//! The holdings encoding: each cluster's holders as one short run of bytes.
//!
//! Holdings are most of a union catalogue (WorldCat has about six per record), so their
//! bytes decide whether a catalogue fits in memory. A cluster's holdings are sorted by
//! library id and written as:
//!
//! ```text
//! header   varint(count << 4 | lends << 3 | format)      the cluster's format and
//!                                                        its usual holding: lent and
//!                                                        copied, or neither
//! holding  varint(gap << 1 | differs) [flags byte if differs]
//! ```
//!
//! `gap` is the first library id itself, then the distance to the previous id minus one.
//! The header carries the cluster's format (so the catalogue keeps no separate format
//! array) and names the holding most of its libraries have: one copy of that format,
//! lent and copied or neither, by majority; only a holding that differs (a copy-only one,
//! several copies) carries its flag byte. Four lending states would need a header bit
//! more, and a second header byte for every cluster of four holders or more: more bytes
//! than the rare copy-only holding's flag byte costs. In the synthetic
//! 20 M catalogue that is 1.6 bytes a holding instead of the 3 of a u16 id plus a flag
//! byte, and reading a cluster touches one run of bytes instead of three arrays.
//!
//! Where each cluster's run starts: clusters are grouped by 16, and each group stores a
//! u64 base offset and 16 u16 offsets relative to it, 40 bytes together, so finding a
//! cluster is one read of one (usually) cache line. A group whose runs span 64 KiB or more
//! (a few huge clusters) is marked wide and keeps 16 u64 offsets in a side table instead.

use crate::format::Format;
use crate::id::LibraryId;
use crate::index::Holding;
use crate::lending::Lending;
use crate::varint;

/// Clusters per offset group.
pub const GROUP: usize = 16;
/// Bytes per offset group: base u64 + `GROUP` u16.
pub const GROUP_BYTES: usize = 8 + 2 * GROUP;
const WIDE: u64 = 1 << 63;

/// Copies a holding has when the header's usual holding describes it.
const USUAL_COPIES: u8 = 1;

fn usual_flags(lending: Lending, format: Format) -> u8 {
    Holding {
        library: LibraryId::new(0),
        copies: USUAL_COPIES,
        lending,
        format,
    }
    .flags()
}

fn lending_of(lends: bool) -> Lending {
    if lends { Lending::BOTH } else { Lending::NONE }
}

/// Collects the runs cluster by cluster, in cluster order, and lays out their offsets.
#[derive(Default)]
pub struct Writer {
    starts: Vec<u64>,
    runs: Vec<u8>,
    holdings: u64,
}

impl Writer {
    /// Adds the next cluster: its format and its holdings, sorted by library with no
    /// library twice.
    pub fn push(&mut self, format: Format, holdings: &[Holding]) {
        self.starts.push(self.runs.len() as u64);
        encode(format, holdings, &mut self.runs);
        self.holdings += holdings.len() as u64;
    }

    /// Holdings added so far.
    pub fn holdings(&self) -> u64 {
        self.holdings
    }

    /// The group table, the wide side table and the runs.
    pub fn finish(self) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let (groups, wide) = offsets(&self.starts);
        (groups, wide, self.runs)
    }
}

/// Appends one cluster's run. `holdings` must be sorted by library with no repeats.
fn encode(format: Format, holdings: &[Holding], out: &mut Vec<u8>) {
    let lends = holdings
        .iter()
        .filter(|h| h.lending == Lending::BOTH)
        .count()
        * 2
        >= holdings
            .iter()
            .filter(|h| h.lending == Lending::NONE)
            .count()
            * 2;
    let usual = usual_flags(lending_of(lends), format);
    let head = u64::from(u8::from(lends) << 3 | format.index());
    varint::put(out, (holdings.len() as u64) << 4 | head);
    let mut prev: Option<u32> = None;
    for h in holdings {
        debug_assert!(
            prev.is_none_or(|p| h.library.get() > p),
            "holdings sorted, no repeats"
        );
        let lib = h.library.get();
        let gap = match prev {
            None => lib,
            Some(p) => lib - p - 1,
        };
        prev = Some(lib);
        let f = h.flags();
        varint::put(out, u64::from(gap) << 1 | u64::from(f != usual));
        if f != usual {
            out.push(f);
        }
    }
}

/// Builds the offsets for runs starting at `starts` (one per cluster, ascending):
/// the group table and the wide side table.
fn offsets(starts: &[u64]) -> (Vec<u8>, Vec<u8>) {
    let mut groups = Vec::with_capacity(starts.len().div_ceil(GROUP) * GROUP_BYTES);
    let mut wide: Vec<u8> = Vec::new();
    for g in starts.chunks(GROUP) {
        let base = g[0];
        if g.iter().all(|s| s - base <= u64::from(u16::MAX)) {
            groups.extend_from_slice(&base.to_le_bytes());
            for k in 0..GROUP {
                let rel = g.get(k).map_or(0, |s| (s - base) as u16);
                groups.extend_from_slice(&rel.to_le_bytes());
            }
        } else {
            let at = (wide.len() / 8) as u64;
            groups.extend_from_slice(&(WIDE | at).to_le_bytes());
            groups.extend_from_slice(&[0; 2 * GROUP]);
            for k in 0..GROUP {
                wide.extend_from_slice(&g.get(k).copied().unwrap_or(base).to_le_bytes());
            }
        }
    }
    (groups, wide)
}

/// Reads runs through the offset tables. Every read is bounds-checked: a malformed
/// table gives no holdings, never a panic (and `validate` refuses it at load).
#[derive(Clone, Copy)]
pub struct Reader<'a> {
    /// The group table.
    pub groups: &'a [u8],
    /// The wide side table.
    pub wide: &'a [u8],
    /// The runs.
    pub runs: &'a [u8],
}

#[inline]
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        b.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

impl Reader<'_> {
    /// Where cluster `c`'s run starts.
    #[inline]
    pub fn start(&self, c: usize) -> Option<usize> {
        let g = (c / GROUP) * GROUP_BYTES;
        let base = u64_at(self.groups, g)?;
        let k = c % GROUP;
        let at = if base & WIDE == 0 {
            let r = self.groups.get(g + 8 + 2 * k..g + 10 + 2 * k)?;
            base + u64::from(u16::from_le_bytes([r[0], r[1]]))
        } else {
            let i = usize::try_from(base & !WIDE).ok()?;
            u64_at(self.wide, i.checked_add(k)?.checked_mul(8)?)?
        };
        usize::try_from(at).ok()
    }

    fn head(&self, c: usize) -> Option<u64> {
        let mut p = self.start(c)?;
        varint::get(self.runs, &mut p)
    }

    /// Number of holdings of cluster `c`.
    #[inline]
    pub fn count(&self, c: usize) -> usize {
        self.head(c).map_or(0, |h| (h >> 4) as usize)
    }

    /// The format of cluster `c`.
    #[inline]
    pub fn format(&self, c: usize) -> Format {
        Format::from_index(self.head(c).map_or(0, |h| (h & 7) as u8))
    }

    /// Calls `f` with each holding of cluster `c`; returns the end of its run (`None` if
    /// the run is malformed, in which case `f` may have seen part of it).
    #[inline]
    pub fn each(&self, c: usize, f: impl FnMut(Holding)) -> Option<usize> {
        self.each_at(self.start(c)?, f)
    }

    /// Calls `f` with each holding of the run starting at byte `p` (a [`Reader::start`])
    /// and returns where the run ends; `None` if it does not decode.
    #[inline]
    pub fn each_at(&self, p: usize, mut f: impl FnMut(Holding)) -> Option<usize> {
        let b = self.runs;
        let mut p = p;
        let head = varint::get(b, &mut p)?;
        let usual = usual_flags(
            lending_of(head & 8 != 0),
            Format::from_index((head & 7) as u8),
        );
        let mut lib: u64 = 0;
        for i in 0..head >> 4 {
            let v = varint::get(b, &mut p)?;
            lib = lib.checked_add((v >> 1) + u64::from(i > 0))?;
            let flags = if v & 1 == 1 {
                p += 1;
                *b.get(p - 1)?
            } else {
                usual
            };
            f(Holding::from_flags(
                LibraryId::new(u32::try_from(lib).ok()?),
                flags,
            ));
        }
        Some(p)
    }

    /// Checks the tables for `clusters` clusters, `holdings` holdings and `libraries`
    /// libraries: every run lies inside the runs, follows the previous one, decodes, names
    /// known libraries in ascending order, and the counts add up.
    pub fn validate(&self, clusters: usize, holdings: u64, libraries: u32) -> bool {
        if self.groups.len() != clusters.div_ceil(GROUP) * GROUP_BYTES
            || self.wide.len() % (8 * GROUP) != 0
        {
            return false;
        }
        let mut end = 0usize;
        let mut total = 0u64;
        for c in 0..clusters {
            if self.start(c) != Some(end) {
                return false;
            }
            let mut prev: Option<u32> = None;
            let mut ok = true;
            let mut n = 0u64;
            match self.each(c, |h| {
                let lib = h.library.get();
                ok &= lib < libraries && prev.is_none_or(|p| lib > p);
                prev = Some(lib);
                n += 1;
            }) {
                Some(e) if ok => end = e,
                _ => return false,
            }
            total += n;
        }
        end == self.runs.len() && total == holdings
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn build(clusters: &[Vec<Holding>]) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let mut w = Writer::default();
        for c in clusters {
            w.push(c.first().map_or(Format::Book, |h| h.format), c);
        }
        w.finish()
    }

    fn holding(library: u32, copies: u8, lending: u8, f: u8) -> Holding {
        Holding {
            library: LibraryId::new(library),
            copies,
            lending: Lending {
                loan: lending & 2 != 0,
                copy: lending & 1 != 0,
            },
            format: Format::from_index(f),
        }
    }

    proptest! {
        #[test]
        fn runs_round_trip(clusters in prop::collection::vec(
            prop::collection::btree_map(0u32..70_000, (1u8..8, 0u8..4, 0u8..6), 0..40),
            1..60,
        )) {
            let clusters: Vec<Vec<Holding>> = clusters
                .into_iter()
                .map(|m| m.into_iter().map(|(l, (c, le, f))| holding(l, c, le, f)).collect())
                .collect();
            let (g, w, runs) = build(&clusters);
            let r = Reader { groups: &g, wide: &w, runs: &runs };
            let total: usize = clusters.iter().map(Vec::len).sum();
            prop_assert!(r.validate(clusters.len(), total as u64, 70_000));
            for (c, want) in clusters.iter().enumerate() {
                let mut got = Vec::new();
                r.each(c, |h| got.push(h));
                prop_assert_eq!(&got, want);
                prop_assert_eq!(r.count(c), want.len());
            }
            // a library id beyond the table is refused
            if let Some(max) = clusters.iter().flatten().map(|h| h.library.get()).max() {
                prop_assert!(!r.validate(clusters.len(), total as u64, max));
            }
        }
    }

    proptest! {
        /// Whatever the bytes (a snapshot is checksummed, but the reader must not trust
        /// that alone), reading never panics.
        #[test]
        fn garbage_never_panics(groups in prop::collection::vec(any::<u8>(), 0..200),
                                wide in prop::collection::vec(any::<u8>(), 0..300),
                                runs in prop::collection::vec(any::<u8>(), 0..300)) {
            let r = Reader { groups: &groups, wide: &wide, runs: &runs };
            let n = groups.len() / GROUP_BYTES * GROUP;
            let _ = r.validate(n, 10, 50);
            for c in 0..n + 2 {
                let _ = r.each(c, |_| {});
                let _ = r.count(c);
                let _ = r.format(c);
            }
        }
    }

    #[test]
    fn usual_holdings_cost_no_flag_byte_and_wide_groups_work() {
        let usual: Vec<Holding> = (0..5).map(|l| holding(l * 10, 1, 3, 0)).collect();
        let mut one = Vec::new();
        encode(Format::Book, &usual, &mut one);
        assert_eq!(one.len(), 1 + 5, "header and a byte per holder");
        // a 40,000-holder cluster pushes its group past 64 KiB: the group goes wide
        let mut clusters = vec![usual.clone(); 3];
        clusters.push((0..40_000).map(|l| holding(l * 2, 3, 0, 2)).collect());
        clusters.extend(vec![usual; 20]);
        let (g, w, runs) = build(&clusters);
        assert!(!w.is_empty());
        let r = Reader {
            groups: &g,
            wide: &w,
            runs: &runs,
        };
        let total = clusters.iter().map(Vec::len).sum::<usize>() as u64;
        assert!(r.validate(clusters.len(), total, 80_000));
        assert!(!r.validate(clusters.len(), total + 1, 80_000));
        assert!(!r.validate(clusters.len(), total, 79_998));
        let mut got = Vec::new();
        r.each(3, |h| got.push(h));
        assert_eq!(got, clusters[3]);
        assert_eq!(r.count(20), 5);
    }

    #[test]
    fn malformed_runs_are_refused_not_panicked_on() {
        let clusters = vec![(0..8).map(|l| holding(l, 2, 3, 1)).collect::<Vec<_>>(); 5];
        let (g, w, runs) = build(&clusters);
        for cut in 0..runs.len() {
            let r = Reader {
                groups: &g,
                wide: &w,
                runs: &runs[..cut],
            };
            assert!(!r.validate(5, 40, 100));
            for c in 0..6 {
                r.each(c, |_| {});
                r.count(c);
            }
        }
        let mut bad = g.clone();
        bad[7] = 0xFF; // a base far out of range
        let r = Reader {
            groups: &bad,
            wide: &w,
            runs: &runs,
        };
        assert!(!r.validate(5, 40, 100));
        assert_eq!(r.each(0, |_| {}), None);
    }
}
