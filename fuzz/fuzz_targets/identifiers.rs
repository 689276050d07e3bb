//! Any text: normalisers must not panic; a valid result must be stable under
//! re-normalisation (normalising the canonical form gives the same identifier), and
//! every result must read back from its index key. Any bytes as a key: no panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rota_catalog::ident::{self, IdKind};

fuzz_target!(|text: &str| {
    let _ = ident::Ident::from_key(text.as_bytes());
    for k in [IdKind::Isbn, IdKind::Issn, IdKind::Oclc, IdKind::Lccn] {
        if let Ok(i) = ident::normalize(k, text) {
            assert_eq!(ident::Ident::from_key(&i.key()).as_ref(), Some(&i));
            if i.valid() {
                let again = ident::normalize(k, &i.value).expect("canonical form re-reads");
                assert_eq!(again, i);
            }
        }
    }
});
