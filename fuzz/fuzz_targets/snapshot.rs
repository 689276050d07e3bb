//! Any bytes as a snapshot: refused with an error or read; never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(cat) = rota_catalog::Catalog::from_bytes(data.to_vec()) {
        for c in cat.cluster_ids().take(64) {
            let _ = cat.holders(c);
            let _ = cat.info(c);
        }
    }
});
