//! Token posting lists (which clusters have a title or author word): Elias–Fano codes
//! for sparse lists, roaring bitmaps for dense ones.
//!
//! A list of `n` ascending cluster ids below `u` is stored as each id's low
//! `l = floor(log2(u / n))` bits, bit-packed, and its high bits as a unary bit vector
//! (`n` ones among at most `n + (u >> l)` bits), `2 + l` bits an id whatever the list's
//! density. A serialised roaring bitmap spends 16 bits an id in its array containers
//! plus 8 bytes a container. Lookups turn the few lists a query touches into roaring
//! bitmaps for their unions and intersections ([`read`]); decoding costs what copying
//! does not, so the dense lists (see [`DENSE`]) stay roaring. In the synthetic
//! catalogue at 1 M records: all lists Elias–Fano 14.1 → 8.5 MB, but the typo lookup's
//! p99 went from 255 to 650 µs (through `from_sorted_iter`); the split gives
//! 14.1 → 11.6 MB with the p99 at 255–271 µs.
//!
//! ```text
//! list     tag u8: 0 Elias–Fano, 1 roaring (portable format)
//! EF       varint(n) u8(l) varint(high bytes)  lows: ceil(n·l / 8) bytes  highs  8 zero bytes
//! ```

use roaring::RoaringBitmap;

use crate::varint;

/// Lists denser than one id in this many clusters stay roaring bitmaps: a query may read
/// several such lists in full, and roaring loads them by copying (0.07 ns an id, criterion)
/// where Elias–Fano must decode each id (2.9 ns with [`decode`]). The sparse lists
/// are most of the lists and most of the bytes.
pub const DENSE: u64 = 1000;
const TAG_EF: u8 = 0;
const TAG_ROARING: u8 = 1;

/// Appends the list `ids` (strictly ascending, all below `universe`) to `out`, as
/// Elias–Fano when sparse and as a serialised roaring bitmap when dense.
pub fn write(ids: &[u32], universe: u32, out: &mut Vec<u8>) {
    if (ids.len() as u64) * DENSE > u64::from(universe) {
        out.push(TAG_ROARING);
        let bm = RoaringBitmap::from_sorted_iter(ids.iter().copied()).unwrap_or_default();
        out.reserve(bm.serialized_size());
        // writing into a Vec cannot fail
        let _ = bm.serialize_into(&mut *out);
    } else {
        out.push(TAG_EF);
        encode(ids, universe, out);
    }
}

/// Reads a list written by [`write()`] and accepted by [`check`].
///
/// A dense list is loaded without roaring's validation (checking that every container is
/// sorted cost a typo lookup a third of its p50, measured); [`check`] does that once when
/// the snapshot loads. A sparse list is decoded with its own checks and comes back empty
/// if malformed.
pub fn read(b: &[u8]) -> RoaringBitmap {
    match b.split_first() {
        Some((&TAG_EF, rest)) => decode(rest),
        Some((&TAG_ROARING, rest)) => {
            RoaringBitmap::deserialize_unchecked_from(rest).unwrap_or_default()
        }
        _ => RoaringBitmap::new(),
    }
}

/// Whether the list at the start of `b` decodes, is ascending, and names only ids below
/// `universe`; run over every list when a snapshot loads.
pub fn check(b: &[u8], universe: u32) -> bool {
    match b.split_first() {
        Some((&TAG_EF, rest)) => {
            let mut ids = Vec::new();
            decode_into(rest, &mut ids) && ids.last().is_none_or(|m| *m < universe)
        }
        Some((&TAG_ROARING, rest)) => RoaringBitmap::deserialize_from(rest)
            .is_ok_and(|bm| bm.max().is_none_or(|m| m < universe)),
        _ => false,
    }
}

/// Appends the Elias–Fano code of `ids` (strictly ascending, all below `universe`).
pub fn encode(ids: &[u32], universe: u32, out: &mut Vec<u8>) {
    let n = ids.len() as u64;
    let u = u64::from(universe.max(1));
    let l = u.checked_div(n).map_or(0, |q| q.max(1).ilog2());
    let high_bits = n + (u >> l) + 1;
    let high_bytes = high_bits.div_ceil(8) as usize;
    varint::put(out, n);
    out.push(l as u8);
    varint::put(out, high_bytes as u64);
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
    out.extend_from_slice(&[0; 8]);
}

/// The ids of the list at the start of `b`, ascending; stops early on malformed bytes.
pub fn ids(b: &[u8]) -> impl Iterator<Item = u32> + '_ {
    let mut p = 0usize;
    let header = (|| {
        let n = varint::get(b, &mut p)?;
        let l = u32::from(*b.get(p)?);
        p += 1;
        let high_bytes = usize::try_from(varint::get(b, &mut p)?).ok()?;
        if l > 32 {
            return None;
        }
        let low_bytes = usize::try_from(n.checked_mul(u64::from(l))?.div_ceil(8)).ok()?;
        let lows = b.get(p..p.checked_add(low_bytes)?.checked_add(8)?)?;
        let highs = b.get(p + low_bytes..(p + low_bytes).checked_add(high_bytes)?)?;
        Some((n, l, lows, highs))
    })();
    let (n, l, lows, highs) = header.unwrap_or((0, 0, &[][..], &[][..]));
    let mut k = 0u64;
    let mut word_at = 0usize;
    let mut word = 0u64;
    std::iter::from_fn(move || {
        if k >= n {
            return None;
        }
        while word == 0 {
            let chunk = highs.get(word_at..)?;
            let take = chunk.len().min(8);
            if take == 0 {
                return None;
            }
            let mut w = [0u8; 8];
            w[..take].copy_from_slice(&chunk[..take]);
            word = u64::from_le_bytes(w);
            word_at += 8;
        }
        let bit = (word_at as u64 - 8) * 8 + u64::from(word.trailing_zeros());
        word &= word - 1;
        let high = bit.checked_sub(k)?;
        let low = if l == 0 {
            0
        } else {
            let pos = k * u64::from(l);
            let at = (pos / 8) as usize;
            let w = lows.get(at..at + 8)?;
            let w = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
            (w >> (pos % 8)) & ((1u64 << l) - 1)
        };
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
pub fn decode(b: &[u8]) -> RoaringBitmap {
    thread_local! {
        static SCRATCH: std::cell::RefCell<(Vec<u32>, Vec<u8>)> =
            const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
    }
    SCRATCH.with(|s| {
        let (ids, ser) = &mut *s.borrow_mut();
        ids.clear();
        if !decode_into(b, ids) {
            return RoaringBitmap::new();
        }
        serialise(ids, ser);
        RoaringBitmap::deserialize_unchecked_from(&ser[..]).unwrap_or_default()
    })
}

/// Appends the ids of the list at the start of `b`; false if it is malformed (not
/// ascending, or running past its bytes).
fn decode_into(b: &[u8], out: &mut Vec<u32>) -> bool {
    let mut p = 0usize;
    let Some(n) = varint::get(b, &mut p) else {
        return false;
    };
    let Some(&l) = b.get(p) else { return false };
    p += 1;
    let l = u32::from(l);
    let Some(high_bytes) = varint::get(b, &mut p).and_then(|h| usize::try_from(h).ok()) else {
        return false;
    };
    let low_bytes = match n
        .checked_mul(u64::from(l))
        .and_then(|x| usize::try_from(x.div_ceil(8)).ok())
    {
        Some(x) if l <= 32 => x,
        _ => return false,
    };
    let Some(lows) = p
        .checked_add(low_bytes)
        .and_then(|e| e.checked_add(8))
        .and_then(|e| b.get(p..e))
    else {
        return false;
    };
    let Some(highs) = (p + low_bytes)
        .checked_add(high_bytes)
        .and_then(|e| b.get(p + low_bytes..e))
    else {
        return false;
    };
    // n ones need n bits of highs at least: a bound on what we reserve
    if n > 8 * high_bytes as u64 {
        return false;
    }
    out.reserve(n as usize);
    let mask = (1u64 << l) - 1;
    let mut k = 0u64;
    let mut prev: Option<u32> = None;
    for (wi, chunk) in highs.chunks(8).enumerate() {
        let mut w8 = [0u8; 8];
        w8[..chunk.len()].copy_from_slice(chunk);
        let mut w = u64::from_le_bytes(w8);
        while w != 0 {
            if k == n {
                return true;
            }
            let bit = (wi as u64) * 64 + u64::from(w.trailing_zeros());
            w &= w - 1;
            let high = bit - k; // k ones came before, so bit >= k
            let pos = k * u64::from(l);
            let at = (pos / 8) as usize;
            let low = match lows.get(at..at + 8) {
                Some(x) => {
                    let x = u64::from_le_bytes([x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]]);
                    (x >> (pos % 8)) & mask
                }
                None => return false,
            };
            let Ok(id) = u32::try_from(high << l | low) else {
                return false;
            };
            if prev.is_some_and(|q| q >= id) {
                return false;
            }
            prev = Some(id);
            out.push(id);
            k += 1;
        }
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
            assert_eq!(ids(&b).collect::<Vec<_>>(), ids_in, "universe {u}");
            assert_eq!(
                decode(&b),
                ids_in.iter().copied().collect::<RoaringBitmap>()
            );
            let mut w = Vec::new();
            write(&ids_in, u, &mut w);
            assert!(check(&w, u));
            assert_eq!(read(&w), ids_in.iter().copied().collect::<RoaringBitmap>());
            if let Some(max) = ids_in.last() {
                assert!(
                    !check(&w, *max),
                    "an id at or above the universe is refused"
                );
            }
        }
    }

    #[test]
    fn a_huge_high_byte_count_is_refused() {
        // found by the index_parts fuzz target: n = 0, l = 9, then a high-byte count
        // near 2^64 overflowed the end of the highs' range in a debug build
        let mut b = vec![0u8, 9];
        b.extend_from_slice(&[0xFF; 9]);
        b.push(0x01);
        b.extend_from_slice(&[0; 16]);
        assert_eq!(ids(&b).count(), 0);
        assert!(decode(&b).is_empty());
        let mut w = vec![TAG_EF];
        w.extend_from_slice(&b);
        assert!(read(&w).is_empty());
        assert!(!check(&w, 100));
        // a dense list whose array container is not sorted: refused by check
        let mut bad = vec![TAG_ROARING];
        let mut ser = Vec::new();
        [1u32, 3]
            .iter()
            .copied()
            .collect::<RoaringBitmap>()
            .serialize_into(&mut ser)
            .unwrap();
        let n = ser.len();
        ser.swap(n - 4, n - 2); // the two u16 values, swapped
        bad.extend_from_slice(&ser);
        assert!(!check(&bad, 100));
    }

    proptest! {
        #[test]
        fn lists_round_trip(set in proptest::collection::btree_set(0u32..2_000_000, 0..500), extra in 0u32..1000) {
            let v: Vec<u32> = set.into_iter().collect();
            let u = v.last().map_or(1, |m| m + 1 + extra);
            let mut b = vec![7, 7];
            encode(&v, u, &mut b);
            prop_assert_eq!(ids(&b[2..]).collect::<Vec<_>>(), v.clone());
            prop_assert_eq!(decode(&b[2..]), v.iter().copied().collect::<RoaringBitmap>());
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = ids(&bytes).take(10_000).count();
            let _ = decode(&bytes);
            if check(&bytes, u32::MAX) {
                let _ = read(&bytes);
            }
        }
    }
}
