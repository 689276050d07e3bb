//! Any bytes: the ISO 2709 and MARCXML readers and the MARC-8 decoder must not panic,
//! and every record they accept must yield a Bib.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rota_catalog::bib::{Bib, HoldingField};

fuzz_target!(|data: &[u8]| {
    for r in rota_catalog::marc::read_iso2709(data).into_iter().flatten() {
        let _ = Bib::from_record(&r, &HoldingField::defaults());
    }
    for r in rota_catalog::marc::read_marcxml(data).into_iter().flatten() {
        let _ = Bib::from_record(&r, &HoldingField::defaults());
    }
    let _ = rota_catalog::marc8::decode(data);
});
