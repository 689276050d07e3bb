//! Token posting lists (which clusters have a title or author word): Elias–Fano codes
//! for sparse lists, roaring bitmaps for dense ones.
//!
//! A list of `n` ascending cluster ids below `u` is stored as each id's low
//! `l = floor(log2(u / n))` bits, bit-packed, and its high bits as a unary bit vector
//! (`n` ones among `n + (u >> l) + 1` bits), `2 + l` bits an id whatever the list's
//! density. A serialised roaring bitmap spends 16 bits an id in its array containers
//! plus 8 bytes a container. Lookups turn the few lists a query touches into roaring
//! bitmaps for their unions and intersections ([`read`]); decoding costs what copying
//! does not, so the dense lists (see [`DENSE`]) stay roaring. In the synthetic
//! catalogue at 1 M records: all lists Elias–Fano 14.1 → 8.5 MB, but the typo lookup's
//! p99 went from 255 to 650 µs (through `from_sorted_iter`); the split gives
//! 14.1 → 11.6 MB with the p99 at 255–271 µs.
//!
//! A sparse list's header is its length alone: `l` and the size of the high bits follow
//! from `n` and the universe (the catalogue's cluster count, which the reader knows), and
//! which encoding a list has is its caller's to record. Real vocabularies are mostly rare
//! words: in the Library of Congress consortium 443 k title and name words, two thirds of
//! them in one cluster; a list there costs 5 bytes where the self-describing format of
//! snapshot 5 (tag, `l`, high-byte count, eight bytes of read padding) spent 17.
//!
//! ```text
//! sparse   varint(n)  lows: ceil(n·l / 8) bytes  highs: ceil((n + (u >> l) + 1) / 8) bytes
//! dense    roaring's portable format
//! ```

use roaring::RoaringBitmap;

use crate::varint;

/// Lists denser than one id in this many clusters stay roaring bitmaps: a query may read
/// several such lists in full, and roaring loads them by copying (0.07 ns an id, criterion)
/// where Elias–Fano must decode each id (2.9 ns with [`decode`]). The sparse lists
/// are most of the lists and most of the bytes.
pub const DENSE: u64 = 1000;

/// How a list is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// Elias–Fano.
    Sparse,
    /// A serialised roaring bitmap.
    Dense,
}

/// Appends the list `ids` (strictly ascending, all below `universe`) to `out`, as
/// Elias–Fano when sparse and as a serialised roaring bitmap when dense; returns which.
pub fn write(ids: &[u32], universe: u32, out: &mut Vec<u8>) -> Encoding {
    if (ids.len() as u64) * DENSE > u64::from(universe) {
        let bm = RoaringBitmap::from_sorted_iter(ids.iter().copied()).unwrap_or_default();
        out.reserve(bm.serialized_size());
        // writing into a Vec cannot fail
        let _ = bm.serialize_into(&mut *out);
        Encoding::Dense
    } else {
        encode(ids, universe, out);
        Encoding::Sparse
    }
}

/// Reads a list written by [`write()`] and accepted by [`check`].
///
/// A dense list is loaded without roaring's validation (checking that every container is
/// sorted cost a typo lookup a third of its p50, measured); [`check`] does that once when
/// the snapshot loads. A sparse list is decoded with its own checks and comes back empty
/// if malformed.
pub fn read(encoding: Encoding, b: &[u8], universe: u32) -> RoaringBitmap {
    match encoding {
        Encoding::Sparse => decode(b, universe),
        Encoding::Dense => RoaringBitmap::deserialize_unchecked_from(b).unwrap_or_default(),
    }
}

/// Whether the list at the start of `b` decodes, is ascending, and names only ids below
/// `universe`; run over every list when a snapshot loads.
pub fn check(encoding: Encoding, b: &[u8], universe: u32) -> bool {
    match encoding {
        Encoding::Sparse => decode_into(b, universe, &mut Vec::new()),
        Encoding::Dense => {
            RoaringBitmap::deserialize_from(b).is_ok_and(|bm| bm.max().is_none_or(|m| m < universe))
        }
    }
}

/// A sparse list's shape: low bits an id, bytes of low bits, bytes of high bits; `None`
/// when `n` ids cannot be distinct and below `universe`.
fn layout(n: u64, universe: u32) -> Option<(u32, usize, usize)> {
    let u = u64::from(universe.max(1));
    if n == 0 {
        return Some((0, 0, 0));
    }
    if n > u {
        return None;
    }
    let l = (u / n).ilog2();
    let low_bytes = usize::try_from((n * u64::from(l)).div_ceil(8)).ok()?;
    let high_bytes = usize::try_from((n + (u >> l) + 1).div_ceil(8)).ok()?;
    Some((l, low_bytes, high_bytes))
}

/// Appends the Elias–Fano code of `ids` (strictly ascending, all below `universe`).
pub fn encode(ids: &[u32], universe: u32, out: &mut Vec<u8>) {
    let n = ids.len() as u64;
    let Some((l, _, high_bytes)) = layout(n, universe) else {
        // more ids than the universe holds: not a list write() is given
        varint::put(out, 0);
        return;
    };
    varint::put(out, n);
    // lows
    let mut acc = 0u64;
    let mut len = 0u32;
    for &id in ids {
        let low = u64::from(id) & ((1u64 << l) - 1);
        acc |= low << len;
        len += l;
        while len >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            len -= 8;
        }
    }
    if len > 0 {
        out.push(acc as u8);
    }
    // highs: the k-th id sets bit (id >> l) + k
    let start = out.len();
    out.resize(start + high_bytes, 0);
    for (k, &id) in ids.iter().enumerate() {
        let bit = (u64::from(id) >> l) as usize + k;
        if let Some(b) = out.get_mut(start + bit / 8) {
            *b |= 1 << (bit % 8);
        }
    }
}

/// Eight little-endian bytes of `b` from `at`, zeros past its end.
#[inline]
fn load(b: &[u8], at: usize) -> u64 {
    match b.get(at..at + 8) {
        Some(x) => u64::from_le_bytes([x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]]),
        None => {
            let mut w = [0u8; 8];
            let rest = b.get(at..).unwrap_or_default();
            w[..rest.len()].copy_from_slice(rest);
            u64::from_le_bytes(w)
        }
    }
}

/// The parts of the sparse list at the start of `b`: n, l, lows, highs.
fn parts(b: &[u8], universe: u32) -> Option<(u64, u32, &[u8], &[u8])> {
    let mut p = 0usize;
    let n = varint::get(b, &mut p)?;
    let (l, low_bytes, high_bytes) = layout(n, universe)?;
    let lows = b.get(p..p.checked_add(low_bytes)?)?;
    let at = p + low_bytes;
    let highs = b.get(at..at.checked_add(high_bytes)?)?;
    Some((n, l, lows, highs))
}

/// The ids of the list at the start of `b`, ascending; stops early on malformed bytes.
pub fn ids(b: &[u8], universe: u32) -> impl Iterator<Item = u32> + '_ {
    let (n, l, lows, highs) = parts(b, universe).unwrap_or((0, 0, &[][..], &[][..]));
    let mut k = 0u64;
    let mut word_at = 0usize;
    let mut word = 0u64;
    std::iter::from_fn(move || {
        if k >= n {
            return None;
        }
        while word == 0 {
            if word_at >= highs.len() {
                return None;
            }
            word = load(highs, word_at);
            word_at += 8;
        }
        let bit = (word_at as u64 - 8) * 8 + u64::from(word.trailing_zeros());
        word &= word - 1;
        let high = bit.checked_sub(k)?;
        let pos = k * u64::from(l);
        let low = (load(lows, (pos / 8) as usize) >> (pos % 8)) & ((1u64 << l) - 1);
        k += 1;
        u32::try_from(high << l | low).ok()
    })
}

/// The list at the start of `b` as a roaring bitmap (empty if malformed).
///
/// Decoded in one tight loop into a scratch vector and handed to roaring as its own
/// serialised form, which it loads by copying: 2.9 ns an id, against 4.8 through
/// `RoaringBitmap::from_sorted_iter` (the `posting list` benches in
/// `benches/benches/catalog.rs`).
pub fn decode(b: &[u8], universe: u32) -> RoaringBitmap {
    thread_local! {
        static SCRATCH: std::cell::RefCell<(Vec<u32>, Vec<u8>)> =
            const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
    }
    SCRATCH.with(|s| {
        let (ids, ser) = &mut *s.borrow_mut();
        ids.clear();
        if !decode_into(b, universe, ids) {
            return RoaringBitmap::new();
        }
        if let [one] = ids[..] {
            // a lone id (most lists): no serialised detour
            let mut bm = RoaringBitmap::new();
            bm.insert(one);
            return bm;
        }
        serialise(ids, ser);
        RoaringBitmap::deserialize_unchecked_from(&ser[..]).unwrap_or_default()
    })
}

/// Appends the ids of the list at the start of `b`; false if it is malformed (not
/// ascending, past its bytes, or at or above `universe`).
fn decode_into(b: &[u8], universe: u32, out: &mut Vec<u32>) -> bool {
    let Some((n, l, lows, highs)) = parts(b, universe) else {
        return false;
    };
    out.reserve(n as usize);
    let mask = (1u64 << l) - 1;
    let mut k = 0u64;
    let mut prev: Option<u32> = None;
    let mut wi = 0usize;
    while wi < highs.len() {
        let mut w = load(highs, wi);
        while w != 0 {
            if k == n {
                return true;
            }
            let bit = (wi as u64) * 8 + u64::from(w.trailing_zeros());
            w &= w - 1;
            let high = bit - k; // k ones came before, so bit >= k
            let pos = k * u64::from(l);
            let low = (load(lows, (pos / 8) as usize) >> (pos % 8)) & mask;
            let Ok(id) = u32::try_from(high << l | low) else {
                return false;
            };
            if id >= universe || prev.is_some_and(|q| q >= id) {
                return false;
            }
            prev = Some(id);
            out.push(id);
            k += 1;
        }
        wi += 8;
    }
    k == n
}

/// Writes ascending ids in roaring's portable format without run containers.
fn serialise(ids: &[u32], out: &mut Vec<u8>) {
    const COOKIE_NO_RUNS: u32 = 12346;
    out.clear();
    let mut containers: Vec<(u16, &[u32])> = Vec::new();
    let mut s = 0;
    while s < ids.len() {
        let key = (ids[s] >> 16) as u16;
        let e = s + ids[s..].partition_point(|x| (x >> 16) as u16 == key);
        containers.push((key, &ids[s..e]));
        s = e;
    }
    out.extend_from_slice(&COOKIE_NO_RUNS.to_le_bytes());
    out.extend_from_slice(&(containers.len() as u32).to_le_bytes());
    for (key, c) in &containers {
        out.extend_from_slice(&key.to_le_bytes());
        out.extend_from_slice(&((c.len() - 1) as u16).to_le_bytes());
    }
    let data_at = out.len() + 4 * containers.len();
    let mut off = data_at;
    for (_, c) in &containers {
        out.extend_from_slice(&(off as u32).to_le_bytes());
        off += if c.len() > 4096 { 8192 } else { 2 * c.len() };
    }
    for (_, c) in &containers {
        if c.len() > 4096 {
            let mut words = [0u64; 1024];
            for x in c.iter() {
                let lo = (x & 0xFFFF) as usize;
                words[lo / 64] |= 1 << (lo % 64);
            }
            for w in words {
                out.extend_from_slice(&w.to_le_bytes());
            }
        } else {
            for x in c.iter() {
                out.extend_from_slice(&(*x as u16).to_le_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn small_lists_round_trip() {
        for (ids_in, u) in [
            (vec![], 10u32),
            (vec![0], 1),
            (vec![0, 1, 2, 3], 4),
            (vec![5], 1_000_000),
            (vec![0, 999_999], 1_000_000),
            (vec![u32::MAX - 1], u32::MAX),
            ((0..5000).chain(70_000..70_010).collect(), 10_000_000),
        ] {
            let mut b = Vec::new();
            encode(&ids_in, u, &mut b);
            assert_eq!(ids(&b, u).collect::<Vec<_>>(), ids_in, "universe {u}");
            assert_eq!(
                decode(&b, u),
                ids_in.iter().copied().collect::<RoaringBitmap>()
            );
            let mut w = Vec::new();
            let enc = write(&ids_in, u, &mut w);
            assert!(check(enc, &w, u));
            assert_eq!(
                read(enc, &w, u),
                ids_in.iter().copied().collect::<RoaringBitmap>()
            );
            if let Some(max) = ids_in.last() {
                assert!(
                    !check(enc, &w, *max),
                    "an id at or above the universe is refused"
                );
            }
        }
    }

    #[test]
    fn a_lone_id_costs_its_low_bits_and_two_bytes() {
        let mut b = Vec::new();
        encode(&[123_456], 230_323, &mut b);
        // n, 17 low bits in 3 bytes, 3 high bits in 1
        assert_eq!(b.len(), 5);
    }

    #[test]
    fn malformed_lists_are_refused() {
        // a length the universe cannot hold, and a list cut short
        let mut b = Vec::new();
        varint::put(&mut b, 11);
        assert!(!check(Encoding::Sparse, &b, 10));
        let mut b = Vec::new();
        encode(&[1, 5, 9], 100, &mut b);
        assert!(!check(Encoding::Sparse, &b[..b.len() - 1], 100));
        assert!(decode(&b[..b.len() - 1], 100).is_empty());
        // a dense list whose array container is not sorted: refused by check
        let mut ser = Vec::new();
        [1u32, 3]
            .iter()
            .copied()
            .collect::<RoaringBitmap>()
            .serialize_into(&mut ser)
            .unwrap();
        let n = ser.len();
        ser.swap(n - 4, n - 2); // the two u16 values, swapped
        assert!(!check(Encoding::Dense, &ser, 100));
    }

    proptest! {
        #[test]
        fn lists_round_trip(set in proptest::collection::btree_set(0u32..2_000_000, 0..500), extra in 0u32..1000) {
            let v: Vec<u32> = set.into_iter().collect();
            let u = v.last().map_or(1, |m| m + 1 + extra);
            let mut b = vec![7, 7];
            encode(&v, u, &mut b);
            prop_assert_eq!(ids(&b[2..], u).collect::<Vec<_>>(), v.clone());
            prop_assert_eq!(decode(&b[2..], u), v.iter().copied().collect::<RoaringBitmap>());
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200), u in 0u32..5000) {
            let _ = ids(&bytes, u).take(10_000).count();
            let _ = decode(&bytes, u);
            for enc in [Encoding::Sparse, Encoding::Dense] {
                if check(enc, &bytes, u) {
                    let _ = read(enc, &bytes, u);
                }
            }
        }
    }
}
