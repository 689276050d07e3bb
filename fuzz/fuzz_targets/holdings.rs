//! Any bytes as the three holdings tables: validation refuses or accepts, reading never
//! panics (the snapshot checksum keeps fuzzed snapshots from reaching this reader, so it
//! has its own target).
#![no_main]
use libfuzzer_sys::fuzz_target;
use rota_catalog::holdings::{GROUP, GROUP_BYTES, Reader};

fuzz_target!(|data: &[u8]| {
    let a = data.len() / 3;
    let (groups, rest) = data.split_at(a);
    let (wide, runs) = rest.split_at(a);
    let r = Reader { groups, wide, runs };
    let n = groups.len() / GROUP_BYTES * GROUP;
    let _ = r.validate(n, u64::from(data.first().copied().unwrap_or(0)), 300);
    for c in 0..n + 1 {
        let _ = r.each(c, |_| {});
        let _ = r.count(c);
        let _ = r.format(c);
    }
});
