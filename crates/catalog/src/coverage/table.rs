//! The snapshot section that holds coverage: for each cluster with any, the coverage of
//! each of its holdings that states one.
//!
//! ```text
//! count    u32 LE                      clusters with coverage
//! index    count × (cluster u32 LE, offset u32 LE), clusters ascending
//! runs     per cluster: varint(holdings), then per holding varint(library gap),
//!          varint(length) and the holding's Coverage::encode bytes, libraries ascending
//! ```
//!
//! Serial holdings are a minority of a catalogue's, so coverage is a side table rather
//! than a field of every holding: a book costs nothing, a serial cluster 8 bytes of
//! index, and each serial holding a byte of library gap, a byte of length and its spans
//! (6 bytes for the usual one-run print holding). Routing indexes a cluster's run once
//! per request, stepping from holding to holding by the lengths (parsing each coverage
//! to step over it was 5 % of an article's route), and reads only the holdings it checks.

use super::Coverage;
use crate::id::{ClusterId, LibraryId};
use crate::varint;

const ENTRY: usize = 8;

/// Collects the runs cluster by cluster, in cluster order.
#[derive(Default)]
pub struct Writer {
    index: Vec<(u32, u32)>,
    runs: Vec<u8>,
    holdings: u64,
}

impl Writer {
    /// Adds a cluster's coverage, by library ascending with no library twice; clusters
    /// must come in ascending order. Nothing is written for an empty list.
    pub fn push(&mut self, cluster: u32, entries: &[(LibraryId, Coverage)]) {
        if entries.is_empty() {
            return;
        }
        debug_assert!(self.index.last().is_none_or(|&(c, _)| c < cluster));
        self.index.push((cluster, self.runs.len() as u32));
        varint::put(&mut self.runs, entries.len() as u64);
        let mut prev: Option<u32> = None;
        for (lib, c) in entries {
            let id = lib.get();
            let gap = match prev {
                None => id,
                Some(p) => id - p - 1,
            };
            prev = Some(id);
            varint::put(&mut self.runs, u64::from(gap));
            let mut one = Vec::new();
            c.encode(&mut one);
            varint::put(&mut self.runs, one.len() as u64);
            self.runs.extend_from_slice(&one);
        }
        self.holdings += entries.len() as u64;
    }

    /// Holdings with coverage added so far.
    pub fn holdings(&self) -> u64 {
        self.holdings
    }

    /// The section's bytes.
    pub fn finish(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + ENTRY * self.index.len() + self.runs.len());
        out.extend_from_slice(&(self.index.len() as u32).to_le_bytes());
        for (c, off) in &self.index {
            out.extend_from_slice(&c.to_le_bytes());
            out.extend_from_slice(&off.to_le_bytes());
        }
        out.extend_from_slice(&self.runs);
        out
    }
}

/// Reads the section (an absent section, from a snapshot written before coverage, reads
/// as empty).
#[derive(Clone, Copy)]
pub struct Table<'a> {
    bytes: &'a [u8],
    count: usize,
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

impl<'a> Table<'a> {
    /// Over a section's bytes; `None` when its header does not fit them.
    pub fn new(bytes: &'a [u8]) -> Option<Table<'a>> {
        if bytes.is_empty() {
            return Some(Table { bytes, count: 0 });
        }
        let count = usize::try_from(u32_at(bytes, 0)?).ok()?;
        (4 + count.checked_mul(ENTRY)? <= bytes.len()).then_some(Table { bytes, count })
    }

    /// Clusters with coverage.
    pub fn clusters(&self) -> usize {
        self.count
    }

    fn entry(&self, i: usize) -> (u32, usize) {
        let at = 4 + i * ENTRY;
        (
            u32_at(self.bytes, at).unwrap_or(u32::MAX),
            u32_at(self.bytes, at + 4).unwrap_or(0) as usize,
        )
    }

    fn runs(&self) -> &'a [u8] {
        &self.bytes[(4 + self.count * ENTRY).min(self.bytes.len())..]
    }

    /// The coverage of each holding of `cluster` that states one, by library ascending.
    pub fn of(&self, cluster: ClusterId) -> Vec<(LibraryId, Coverage)> {
        match self.find(cluster) {
            // every run decoded when the snapshot was loaded (`validate`)
            Some(i) => decode_run(self.runs(), self.entry(i).1).unwrap_or_default(),
            None => Vec::new(),
        }
    }

    /// Where each holding's coverage of `cluster` starts, by library ascending, without
    /// decoding any: [`Table::at`] decodes one.
    pub fn offsets(&self, cluster: ClusterId, out: &mut Vec<(LibraryId, u32)>) {
        out.clear();
        let Some(i) = self.find(cluster) else {
            return;
        };
        let runs = self.runs();
        let mut p = self.entry(i).1;
        let Some(n) = varint::get(runs, &mut p) else {
            return;
        };
        let mut prev: Option<u32> = None;
        for _ in 0..n {
            let Some(gap) = varint::get(runs, &mut p).and_then(|g| u32::try_from(g).ok()) else {
                return;
            };
            let id = match prev {
                None => gap,
                Some(q) => q.saturating_add(gap).saturating_add(1),
            };
            prev = Some(id);
            let Some(len) = varint::get(runs, &mut p).and_then(|l| usize::try_from(l).ok()) else {
                return;
            };
            out.push((LibraryId::new(id), p as u32));
            p = p.saturating_add(len);
        }
    }

    /// [`Coverage::check`] of the coverage at an offset [`Table::offsets`] gave, read
    /// in place.
    pub fn check_at(
        &self,
        offset: u32,
        cited: &super::Cited,
        today: chrono::NaiveDate,
    ) -> Option<super::Verdict> {
        Coverage::check_encoded(self.runs(), &mut (offset as usize), cited, today)
    }

    /// The coverage at an offset [`Table::offsets`] gave.
    pub fn at(&self, offset: u32) -> Option<Coverage> {
        Coverage::decode(self.runs(), &mut (offset as usize))
    }

    fn find(&self, cluster: ClusterId) -> Option<usize> {
        let c = cluster.get();
        let (mut lo, mut hi) = (0, self.count);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.entry(mid).0 < c {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        (lo < self.count && self.entry(lo).0 == c).then_some(lo)
    }

    /// Checks every run: clusters ascending below `clusters`, libraries ascending below
    /// `libraries`, every coverage decoding. A snapshot that fails is refused at load.
    pub fn validate(&self, clusters: u32, libraries: u32) -> Option<u64> {
        let mut prev: Option<u32> = None;
        let mut holdings = 0u64;
        for i in 0..self.count {
            let (c, off) = self.entry(i);
            if c >= clusters || prev.is_some_and(|p| p >= c) {
                return None;
            }
            prev = Some(c);
            let run = decode_run(self.runs(), off)?;
            if run.is_empty() || run.iter().any(|(l, _)| l.get() >= libraries) {
                return None;
            }
            holdings += run.len() as u64;
        }
        Some(holdings)
    }
}

fn decode_run(runs: &[u8], off: usize) -> Option<Vec<(LibraryId, Coverage)>> {
    let mut p = off;
    let n = usize::try_from(varint::get(runs, &mut p)?).ok()?;
    if n > runs.len() {
        return None;
    }
    let mut out = Vec::with_capacity(n);
    let mut prev: Option<u32> = None;
    for _ in 0..n {
        let gap = u32::try_from(varint::get(runs, &mut p)?).ok()?;
        let id = match prev {
            None => gap,
            Some(q) => q.checked_add(gap)?.checked_add(1)?,
        };
        prev = Some(id);
        let len = usize::try_from(varint::get(runs, &mut p)?).ok()?;
        let end = p.checked_add(len)?;
        let c = Coverage::decode(runs.get(..end)?, &mut p)?;
        // the length must be the coverage's own: routing steps by it
        if p != end {
            return None;
        }
        out.push((LibraryId::new(id), c));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coverage::Span;

    #[test]
    fn round_trip_and_lookup() {
        let a = Coverage::from_spans(vec![
            Span::volumes(1, Some(34)).with_years(1960, Some(1993)),
        ]);
        let b = Coverage::from_spans(vec![Span::years(2000, None)]);
        let mut w = Writer::default();
        w.push(
            3,
            &[
                (LibraryId::new(0), a.clone()),
                (LibraryId::new(7), b.clone()),
            ],
        );
        w.push(4, &[]);
        w.push(9, &[(LibraryId::new(2), b.clone())]);
        assert_eq!(w.holdings(), 3);
        let bytes = w.finish();
        let t = Table::new(&bytes).unwrap();
        assert_eq!(t.clusters(), 2);
        assert_eq!(t.validate(10, 8), Some(3));
        assert_eq!(t.validate(9, 8), None);
        assert_eq!(t.validate(10, 7), None);
        assert_eq!(
            t.of(ClusterId::new(3)),
            vec![(LibraryId::new(0), a), (LibraryId::new(7), b.clone())]
        );
        assert_eq!(t.of(ClusterId::new(9)), vec![(LibraryId::new(2), b)]);
        assert!(t.of(ClusterId::new(4)).is_empty());
        let mut offs = Vec::new();
        t.offsets(ClusterId::new(3), &mut offs);
        let libs: Vec<u32> = offs.iter().map(|(l, _)| l.get()).collect();
        assert_eq!(libs, vec![0, 7]);
        assert_eq!(
            t.at(offs[1].1).as_ref(),
            Some(&t.of(ClusterId::new(3))[1].1)
        );
        t.offsets(ClusterId::new(4), &mut offs);
        assert!(offs.is_empty());
        assert!(t.of(ClusterId::new(100)).is_empty());
        assert_eq!(Table::new(&[]).unwrap().validate(0, 0), Some(0));
        // a truncated section is refused, never read past its end
        for cut in 1..bytes.len() {
            if let Some(t) = Table::new(&bytes[..cut]) {
                assert_eq!(t.validate(10, 8), None, "cut at {cut}");
            }
        }
    }
}
