//! LEB128 varints, as the holdings runs, posting lists and display text use them.

/// Appends `v` as a varint.
pub(crate) fn put(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a varint at `*p`, advancing it; `None` past the end or on an overlong one.
/// Library gaps and run headers are nearly always one byte: that case is inlined, the
/// rest is not.
#[inline(always)]
pub(crate) fn get(b: &[u8], p: &mut usize) -> Option<u64> {
    let x = *b.get(*p)?;
    if x < 0x80 {
        *p += 1;
        return Some(u64::from(x));
    }
    get_long(b, p)
}

#[cold]
#[inline(never)]
fn get_long(b: &[u8], p: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let x = *b.get(*p)?;
        *p += 1;
        v |= u64::from(x & 0x7F) << shift;
        if x < 0x80 {
            return Some(v);
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trip(v in any::<u64>(), junk in proptest::collection::vec(any::<u8>(), 0..12)) {
            let mut b = Vec::new();
            super::put(&mut b, v);
            b.extend_from_slice(&junk);
            let mut p = 0;
            prop_assert_eq!(super::get(&b, &mut p), Some(v));
            let mut q = 0;
            let _ = super::get(&junk, &mut q);
        }
    }
}
