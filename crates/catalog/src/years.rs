//! Publication years in one byte a cluster.
//!
//! Most of a catalogue's years fall in a window of a few centuries, so each cluster keeps
//! one byte: 0 for no year, `1..=254` for `base + code - 1`, 255 for "look in the side
//! table", which lists the rest as (cluster, year) pairs sorted by cluster. The builder
//! picks the 254-year window holding the most clusters. Two bytes a cluster would be 40 MB
//! of a 20 M catalogue; this is 20 MB and a handful of exceptions.
//!
//! ```text
//! years  base u16 LE, then one code byte per cluster
//! wide   (cluster u32 LE, year u16 LE)*, sorted by cluster
//! ```

/// Bytes before the codes.
pub(crate) const HEADER: usize = 2;
/// Bytes per side-table entry.
pub(crate) const WIDE_ENTRY: usize = 6;
const WINDOW: usize = 254;
const SIDE: u8 = 255;

/// Encodes the years of clusters `0..years.len()` (0 = unknown).
pub(crate) fn encode(years: &[u16]) -> (Vec<u8>, Vec<u8>) {
    let mut hist = vec![0u64; 1 << 16];
    for &y in years {
        if y != 0 {
            hist[usize::from(y)] += 1;
        }
    }
    // the window of WINDOW consecutive years holding the most clusters
    let mut in_window: u64 = hist[1..=WINDOW].iter().sum();
    let (mut best, mut best_n) = (1usize, in_window);
    for start in 2..=(hist.len() - WINDOW) {
        in_window = in_window + hist[start + WINDOW - 1] - hist[start - 1];
        if in_window > best_n {
            (best, best_n) = (start, in_window);
        }
    }
    let base = best as u16;
    let mut codes = Vec::with_capacity(HEADER + years.len());
    codes.extend_from_slice(&base.to_le_bytes());
    let mut wide = Vec::new();
    for (c, &y) in years.iter().enumerate() {
        let code = match y.checked_sub(base) {
            _ if y == 0 => 0,
            Some(d) if usize::from(d) < WINDOW => d as u8 + 1,
            _ => {
                wide.extend_from_slice(&(c as u32).to_le_bytes());
                wide.extend_from_slice(&y.to_le_bytes());
                SIDE
            }
        };
        codes.push(code);
    }
    (codes, wide)
}

/// The year of `cluster`, `None` when unknown or out of range.
pub(crate) fn get(codes: &[u8], wide: &[u8], cluster: u32) -> Option<u16> {
    let base = u16::from_le_bytes([*codes.first()?, *codes.get(1)?]);
    match *codes.get(HEADER + cluster as usize)? {
        0 => None,
        SIDE => {
            let n = wide.len() / WIDE_ENTRY;
            let at = |i: usize| {
                let e = &wide[i * WIDE_ENTRY..(i + 1) * WIDE_ENTRY];
                (
                    u32::from_le_bytes([e[0], e[1], e[2], e[3]]),
                    u16::from_le_bytes([e[4], e[5]]),
                )
            };
            let (mut lo, mut hi) = (0, n);
            while lo < hi {
                let mid = (lo + hi) / 2;
                match at(mid).0.cmp(&cluster) {
                    std::cmp::Ordering::Less => lo = mid + 1,
                    std::cmp::Ordering::Greater => hi = mid,
                    std::cmp::Ordering::Equal => return Some(at(mid).1).filter(|y| *y != 0),
                }
            }
            None
        }
        code => base.checked_add(u16::from(code) - 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_common_window_is_one_byte_and_the_rest_is_exact() {
        let mut years: Vec<u16> = (0..1000).map(|i| 1900 + (i % 120) as u16).collect();
        years.extend([0, 1455, 2026, 9999, 1, 65535]);
        let (codes, wide) = encode(&years);
        assert_eq!(codes.len(), HEADER + years.len());
        assert_eq!(wide.len(), 4 * WIDE_ENTRY); // 1, 1455, 9999 and 65535 fall outside
        for (c, y) in years.iter().enumerate() {
            assert_eq!(get(&codes, &wide, c as u32), Some(*y).filter(|y| *y != 0));
        }
        assert_eq!(get(&codes, &wide, years.len() as u32), None);
        assert_eq!(get(&[], &[], 0), None);
    }

    proptest! {
        #[test]
        fn every_year_reads_back(years in proptest::collection::vec(any::<u16>(), 0..300)) {
            let (codes, wide) = encode(&years);
            for (c, y) in years.iter().enumerate() {
                prop_assert_eq!(get(&codes, &wide, c as u32), Some(*y).filter(|y| *y != 0));
            }
        }
    }
}
