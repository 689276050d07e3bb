//! Any text: normalisers must not panic; a valid result must be stable under
//! re-normalisation (normalising the canonical form gives the same identifier).
#![no_main]
use libfuzzer_sys::fuzz_target;
use rota_catalog::ident::{self, IdKind};

fuzz_target!(|text: &str| {
    for k in [IdKind::Isbn, IdKind::Issn, IdKind::Oclc, IdKind::Lccn] {
        if let Ok(i) = ident::normalize(k, text) {
            if i.valid {
                let again = ident::normalize(k, &i.value).expect("canonical form re-reads");
                assert_eq!(again, i);
            }
        }
    }
});
