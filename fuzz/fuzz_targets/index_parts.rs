//! Any bytes as an identifier table and as a posting list: the table's parser and the
//! lists' check refuse or accept, and no read of an accepted table or list (or of any
//! sparse list) panics (the snapshot checksum keeps fuzzed snapshots from reaching these
//! readers, so they have their own target). A table built from the bytes' pairs must
//! find every pair it was built from.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rota_catalog::{idtable, postings};

fuzz_target!(|data: &[u8]| {
    if let Some(t) = idtable::Table::parse(data) {
        let probe = data.iter().fold(0u64, |v, b| v.rotate_left(8) ^ u64::from(*b));
        t.each(probe, |_| {});
        if let Some(c) = t.coarse(probe) {
            t.each_in_coarse(c, 0, |_| {});
        }
        t.for_each(|_, _| {});
    }
    let universe = data.first().map_or(0, |b| u32::from(*b) << 12);
    for enc in [postings::Encoding::Sparse, postings::Encoding::Dense] {
        if postings::check(enc, data, universe) {
            let _ = postings::read(enc, data, universe);
        }
    }
    let _ = postings::decode(data, universe);
    let _ = postings::ids(data, universe).take(1 << 16).count();

    let pairs: Vec<(u64, u32)> = data
        .chunks_exact(8)
        .map(|c| {
            let v = u64::from_le_bytes(c.try_into().unwrap_or_default());
            (v >> 24, (v & 0xFF_FFFF) as u32)
        })
        .collect();
    let built = idtable::build(pairs.clone());
    let t = idtable::Table::parse(&built).expect("a built table parses");
    for (v, c) in pairs {
        let mut found = false;
        t.each(v, |x| found |= x == c);
        assert!(found, "({v}, {c}) lost");
    }
});
