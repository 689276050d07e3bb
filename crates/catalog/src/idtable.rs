//! Numeric identifiers (valid ISBN-13s, ISSNs and OCLC numbers) as sorted, bucketed,
//! bit-packed tables: value → clusters.
//!
//! These identifiers are numbers spread almost at random over their range, one or two per
//! record, and they are most of a catalogue's keys. An fst shares prefixes and suffixes,
//! and such numbers have few to share: in the synthetic 20 M catalogue the fst spent
//! 7.3 bytes a key. Here the values of one kind are sorted and cut into buckets by their
//! high bits, about sixteen values to a bucket; a bucket stores only each value's low
//! bits and its cluster, bit-packed at fixed widths, and a u32 offset says where it
//! starts. That is `2 + shift + cluster bits` bits a key (about 4.6 bytes at 20 M
//! records), and a lookup reads one offset pair and scans one bucket: two cache lines,
//! where an fst walk touched one node per key byte.
//!
//! ```text
//! header   shift u8, cluster_bits u8, 6 bytes zero, min u64, entries u64, buckets u64
//! offsets  (buckets + 1) × u32 LE   first entry of each bucket, then the entry count
//! entries  entries × (shift + cluster_bits) bits, LSB first, then 8 bytes of padding
//! ```
//!
//! An entry is the value's low `shift` bits then its cluster id. Within a bucket entries
//! are sorted by value then cluster, so an identifier printed in several clusters (a set
//! ISBN in every volume) is simply several consecutive entries.

/// Header bytes.
const HEADER: usize = 32;
/// Buckets per display range, as a power of two: see [`Table::coarse`].
pub const COARSE_BITS: u32 = 5;
/// Average entries per bucket the builder aims for: the offsets then cost two bits an
/// entry and a lookup scans one or two cache lines.
const PER_BUCKET: u64 = 16;
/// Widest field an unaligned u64 read can return at any bit offset.
const MAX_FIELD: u32 = 57;

/// Serialises a table from `(value, cluster)` pairs in any order. Values must be below
/// 2^57 (identifier numbers are below 2^40).
pub fn build(mut pairs: Vec<(u64, u32)>) -> Vec<u8> {
    pairs.sort_unstable();
    pairs.dedup();
    pairs.retain(|p| p.0 >> MAX_FIELD == 0);
    let n = pairs.len() as u64;
    let (min, max) = match (pairs.first(), pairs.last()) {
        (Some(a), Some(b)) => (a.0, b.0),
        _ => (0, 0),
    };
    let span = max - min;
    let target = (n / PER_BUCKET).max(1);
    let mut shift = 0u32;
    while (span >> shift) >= target {
        shift += 1;
    }
    let buckets = if n == 0 { 0 } else { (span >> shift) + 1 };
    let max_cluster = pairs.iter().map(|p| p.1).max().unwrap_or(0);
    let cluster_bits = (32 - max_cluster.leading_zeros()).max(1);
    let width = shift + cluster_bits;
    let mut out = Vec::with_capacity(
        HEADER + 4 * (buckets as usize + 1) + (n * u64::from(width)).div_ceil(8) as usize + 8,
    );
    out.push(shift as u8);
    out.push(cluster_bits as u8);
    out.extend_from_slice(&[0; 6]);
    out.extend_from_slice(&min.to_le_bytes());
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&buckets.to_le_bytes());
    let mut i = 0usize;
    for b in 0..buckets {
        out.extend_from_slice(&(i as u32).to_le_bytes());
        while i < pairs.len() && (pairs[i].0 - min) >> shift == b {
            i += 1;
        }
    }
    out.extend_from_slice(&(n as u32).to_le_bytes());
    let mut bits = BitWriter::default();
    let low_mask = (1u64 << shift) - 1;
    for &(v, c) in &pairs {
        bits.put((v - min) & low_mask, shift);
        bits.put(u64::from(c), cluster_bits);
    }
    out.extend_from_slice(&bits.finish());
    out
}

#[derive(Default)]
struct BitWriter {
    out: Vec<u8>,
    acc: u64,
    len: u32,
}

impl BitWriter {
    fn put(&mut self, v: u64, width: u32) {
        let mut v = v;
        let mut width = width;
        while width > 0 {
            let take = width.min(64 - self.len).min(32);
            let part = v & ((1u64 << take) - 1);
            self.acc |= part << self.len;
            self.len += take;
            v >>= take;
            width -= take;
            while self.len >= 8 {
                self.out.push(self.acc as u8);
                self.acc >>= 8;
                self.len -= 8;
            }
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.len > 0 {
            self.out.push(self.acc as u8);
        }
        self.out.extend_from_slice(&[0; 8]);
        self.out
    }
}

/// A table's header, read and checked once when the snapshot loads; [`Header::view`]
/// then makes a [`Table`] over the same bytes without checking again.
#[derive(Clone, Copy, Debug, Default)]
pub struct Header {
    shift: u32,
    cluster_bits: u32,
    min: u64,
    n: u64,
    buckets: u64,
    off_len: usize,
}

impl Header {
    /// The table over `b`, which must be the bytes this header was read from by
    /// [`Table::parse`] (other bytes give wrong answers, never a panic).
    #[inline]
    pub fn view<'a>(&self, b: &'a [u8]) -> Table<'a> {
        let end = (HEADER + self.off_len).min(b.len());
        Table {
            h: *self,
            offsets: b.get(HEADER..end).unwrap_or_default(),
            entries: b.get(end..).unwrap_or_default(),
        }
    }
}

/// A value's bucket, from [`Table::locate`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Located {
    start: usize,
    end: usize,
    low: u64,
}

/// A view of one serialised table.
#[derive(Clone, Copy, Debug)]
pub struct Table<'a> {
    h: Header,
    offsets: &'a [u8],
    entries: &'a [u8],
}

#[inline]
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

impl<'a> Table<'a> {
    /// Reads a table, checking that its header, offsets and entries agree with each other
    /// and with the section's length, so no later read can go out of bounds; `None` if
    /// they do not.
    pub fn parse(b: &'a [u8]) -> Option<Table<'a>> {
        let shift = u32::from(*b.first()?);
        let cluster_bits = u32::from(*b.get(1)?);
        let min = u64_at(b, 8)?;
        let n = u64_at(b, 16)?;
        let buckets = u64_at(b, 24)?;
        if shift > MAX_FIELD
            || !(1..=32).contains(&cluster_bits)
            || n > u64::from(u32::MAX)
            || (n == 0) != (buckets == 0)
            || buckets > n
        {
            return None;
        }
        let off_len = 4 * (usize::try_from(buckets).ok()? + 1);
        let ent_len = usize::try_from((n * u64::from(shift + cluster_bits)).div_ceil(8)).ok()? + 8;
        if b.len() != HEADER.checked_add(off_len)?.checked_add(ent_len)? {
            return None;
        }
        let h = Header {
            shift,
            cluster_bits,
            min,
            n,
            buckets,
            off_len,
        };
        let t = h.view(b);
        // offsets start at 0, never decrease and end at the entry count
        let mut prev = 0u32;
        for (k, o) in t.offsets.chunks_exact(4).enumerate() {
            let o = u32::from_le_bytes([o[0], o[1], o[2], o[3]]);
            if o < prev || (k == 0 && o != 0) {
                return None;
            }
            prev = o;
        }
        (u64::from(prev) == n).then_some(t)
    }

    /// The header, to keep and [`Header::view`] again later.
    pub fn header(&self) -> Header {
        self.h
    }

    /// Number of entries (value, cluster pairs).
    pub fn len(&self) -> u64 {
        self.h.n
    }

    /// Whether the table has no entries.
    pub fn is_empty(&self) -> bool {
        self.h.n == 0
    }

    #[inline]
    fn offset(&self, b: usize) -> usize {
        match self.offsets.get(4 * b..4 * b + 4) {
            Some(o) => u32::from_le_bytes([o[0], o[1], o[2], o[3]]) as usize,
            None => 0,
        }
    }

    /// Reads `width` bits at bit `pos` of the entries: one unaligned load, since every
    /// field is at most 57 bits and the entries end with 8 bytes of padding.
    #[inline]
    fn bits(&self, pos: u64, width: u32) -> u64 {
        let byte = (pos / 8) as usize;
        let word = match self.entries.get(byte..byte + 8) {
            Some(w) => u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]),
            None => 0,
        };
        (word >> (pos % 8)) & ((1u64 << width) - 1)
    }

    #[inline]
    fn entry(&self, i: usize) -> (u64, u32) {
        let width = u64::from(self.h.shift + self.h.cluster_bits);
        let pos = i as u64 * width;
        let low = self.bits(pos, self.h.shift);
        let cluster = self.bits(pos + u64::from(self.h.shift), self.h.cluster_bits) as u32;
        (low, cluster)
    }

    /// Calls `f` with each cluster under `value`, in cluster order.
    #[inline]
    pub fn each(&self, value: u64, f: impl FnMut(u32)) {
        if let Some(at) = self.locate(value) {
            self.scan(at, f);
        }
    }

    /// Where `value`'s entries would be: the first half of [`Table::each`], reading only
    /// the (small, mostly cached) bucket offsets, so that a batch can locate all its
    /// values before touching any entries.
    #[inline]
    pub fn locate(&self, value: u64) -> Option<Located> {
        let d = value.checked_sub(self.h.min)?;
        let b = d >> self.h.shift;
        if b >= self.h.buckets {
            return None;
        }
        Some(Located {
            start: self.offset(b as usize),
            end: self.offset(b as usize + 1),
            low: d & ((1u64 << self.h.shift) - 1),
        })
    }

    /// The second half of [`Table::each`]: the clusters of a located value.
    #[inline]
    pub fn scan(&self, at: Located, mut f: impl FnMut(u32)) {
        for i in at.start..at.end {
            let (l, c) = self.entry(i);
            if l == at.low {
                f(c);
            } else if l > at.low {
                break;
            }
        }
    }

    /// The display text's stand-in for `value`: its bucket number without the low
    /// [`COARSE_BITS`] bits, about `log2(entries) - 9` bits (two bytes for a table of up
    /// to 16 M identifiers) instead of the value's 30 to 40. `None` if `value` is outside
    /// the table's range.
    ///
    /// The table holds every identifier with its cluster anyway; storing the whole number
    /// again beside the title would keep it twice, and random digits do not compress.
    /// [`Table::each_in_coarse`] recovers the value from this and the cluster.
    pub fn coarse(&self, value: u64) -> Option<u64> {
        let b = value.checked_sub(self.h.min)? >> self.h.shift;
        (b < self.h.buckets).then_some(b >> COARSE_BITS)
    }

    /// Calls `f` with each value of `cluster` whose [`Table::coarse`] is `coarse`, in
    /// value order: a scan of 32 buckets, about 500 entries.
    pub fn each_in_coarse(&self, coarse: u64, cluster: u32, mut f: impl FnMut(u64)) {
        let first = coarse.saturating_mul(1 << COARSE_BITS);
        let end = first.saturating_add(1 << COARSE_BITS).min(self.h.buckets);
        for b in first..end {
            let high = b << self.h.shift;
            for i in self.offset(b as usize)..self.offset(b as usize + 1) {
                let (l, c) = self.entry(i);
                if c == cluster {
                    f(self.h.min.wrapping_add(high | l));
                }
            }
        }
    }

    /// Calls `f` with every `(value, cluster)` pair in value order.
    pub fn for_each(&self, mut f: impl FnMut(u64, u32)) {
        for b in 0..self.h.buckets as usize {
            let high = (b as u64) << self.h.shift;
            for i in self.offset(b)..self.offset(b + 1) {
                let (l, c) = self.entry(i);
                f(self.h.min.wrapping_add(high | l), c);
            }
        }
    }

    /// Number of distinct values.
    pub fn distinct(&self) -> u64 {
        let mut n = 0;
        let mut last = None;
        self.for_each(|v, _| {
            if last != Some(v) {
                n += 1;
                last = Some(v);
            }
        });
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lookup(t: &Table<'_>, v: u64) -> Vec<u32> {
        let mut out = Vec::new();
        t.each(v, |c| out.push(c));
        out
    }

    #[test]
    fn empty_and_single() {
        let b = build(Vec::new());
        let t = Table::parse(&b).expect("empty table");
        assert!(t.is_empty());
        assert!(lookup(&t, 0).is_empty());
        let b = build(vec![(978_030_640_615, 7)]);
        let t = Table::parse(&b).expect("one entry");
        assert_eq!(lookup(&t, 978_030_640_615), vec![7]);
        assert!(lookup(&t, 978_030_640_614).is_empty());
        assert!(lookup(&t, 978_030_640_616).is_empty());
        assert!(lookup(&t, 0).is_empty());
        assert!(lookup(&t, u64::MAX).is_empty());
    }

    #[test]
    fn a_value_in_several_clusters() {
        let b = build(vec![(5, 3), (5, 1), (9, 2), (5, 1)]);
        let t = Table::parse(&b).expect("table");
        assert_eq!(lookup(&t, 5), vec![1, 3]);
        assert_eq!(lookup(&t, 9), vec![2]);
        assert_eq!(t.len(), 3);
        assert_eq!(t.distinct(), 2);
    }

    #[test]
    fn damaged_tables_are_refused() {
        let pairs: Vec<(u64, u32)> = (0..1000u64)
            .map(|i| (i * 7919 % 100_003, i as u32))
            .collect();
        let b = build(pairs);
        assert!(Table::parse(&b).is_some());
        assert!(Table::parse(&b[..b.len() - 1]).is_none());
        assert!(Table::parse(&b[..10]).is_none());
        let mut bad = b.clone();
        bad[0] = 60; // shift too wide
        assert!(Table::parse(&bad).is_none());
        let mut bad = b.clone();
        bad[HEADER + 4] = 0xFF; // an offset past the entries
        assert!(Table::parse(&bad).is_none());
    }

    proptest! {
        #[test]
        fn every_pair_is_found_and_nothing_else(
            pairs in proptest::collection::vec((0u64..(1 << 40), 0u32..5_000_000), 0..400),
            probes in proptest::collection::vec(0u64..(1 << 40), 0..50),
        ) {
            let b = build(pairs.clone());
            let t = Table::parse(&b).expect("a built table parses");
            let mut want: std::collections::BTreeMap<u64, Vec<u32>> = Default::default();
            for (v, c) in &pairs {
                want.entry(*v).or_default().push(*c);
            }
            for v in want.values_mut() {
                v.sort_unstable();
                v.dedup();
            }
            for (v, cs) in &want {
                prop_assert_eq!(&lookup(&t, *v), cs);
            }
            for p in probes {
                prop_assert_eq!(lookup(&t, p), want.get(&p).cloned().unwrap_or_default());
            }
            for (v, cs) in &want {
                let coarse = t.coarse(*v).expect("a stored value has a coarse form");
                for c in cs {
                    let mut back = Vec::new();
                    t.each_in_coarse(coarse, *c, |x| back.push(x));
                    prop_assert!(back.contains(v));
                    for x in back {
                        prop_assert!(want[&x].contains(c) && t.coarse(x) == Some(coarse));
                    }
                }
            }
            let mut all = Vec::new();
            t.for_each(|v, c| all.push((v, c)));
            let flat: Vec<(u64, u32)> =
                want.iter().flat_map(|(v, cs)| cs.iter().map(move |c| (*v, *c))).collect();
            prop_assert_eq!(all, flat);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300), v in any::<u64>()) {
            if let Some(t) = Table::parse(&bytes) {
                t.each(v, |_| {});
                t.for_each(|_, _| {});
            }
        }
    }
}
