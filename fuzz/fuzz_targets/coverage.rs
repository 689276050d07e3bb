//! Serial coverage from hostile input: any text as a holdings statement or a KBART file,
//! any bytes as the snapshot's coverage section. Nothing may panic; a statement that
//! reads gives spans that encode and decode to themselves, checked in place and decoded
//! alike.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rota_catalog::coverage::{Cited, Coverage, Kbart, table::Table, textual};
use rota_catalog::{ClusterId, LibraryId};

fuzz_target!(|data: &[u8]| {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).expect("a real day");
    let cited = Cited {
        volume: data.first().map(|b| u32::from(*b)),
        year: data.get(1).map(|b| 1900 + u16::from(*b)),
        date: None,
    };
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(spans) = textual::parse(text) {
            let c = Coverage::from_spans(spans);
            let mut b = Vec::new();
            c.encode(&mut b);
            let back = Coverage::decode(&b, &mut 0).expect("what encode wrote decodes");
            assert_eq!(back, c);
            assert_eq!(
                Coverage::check_encoded(&b, &mut 0, &cited, today),
                Some(c.check(&cited, today))
            );
        }
        if let Ok(k) = Kbart::parse(text) {
            for r in &k.rows {
                let _ = r.coverage().check(&cited, today);
            }
        }
    }
    if let Some(t) = Table::new(data) {
        let _ = t.validate(64, 64);
        let mut offs: Vec<(LibraryId, u32)> = Vec::new();
        for c in 0..4 {
            let _ = t.of(ClusterId::new(c));
            t.offsets(ClusterId::new(c), &mut offs);
            for (_, o) in &offs {
                let _ = t.at(*o);
                let _ = t.check_at(*o, &cited, today);
            }
        }
    }
});
