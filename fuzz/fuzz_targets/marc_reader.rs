//! Any bytes: the ISO 2709 and MARCXML readers and the MARC-8 decoder must not panic,
//! and every record they accept must yield a Bib.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rota_catalog::bib::Bib;
use rota_catalog::lending::HoldingField;

fuzz_target!(|data: &[u8]| {
    // a union file's usual holdings fields: the GBV/SWB 924 and the MARC 852
    let fields: Vec<HoldingField> = ["924$b", "852$a"]
        .iter()
        .filter_map(|f| HoldingField::parse(f))
        .collect();
    for r in rota_catalog::marc::read_iso2709(data).into_iter().flatten() {
        let _ = Bib::from_record(&r, &fields);
    }
    for r in rota_catalog::marc::read_marcxml(data).into_iter().flatten() {
        let _ = Bib::from_record(&r, &fields);
    }
    let _ = rota_catalog::marc8::decode(data);
});
