//! Any bytes as an ISO 18626 message: read or refused, never a panic; the confirmation
//! answering it is always a document the reader itself accepts.
#![no_main]

use chrono::TimeZone;
use libfuzzer_sys::fuzz_target;
use rota_iso18626::{Confirmation, parse, xml};

fuzz_target!(|data: &[u8]| {
    let at = chrono::Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap();
    let conf = match parse(data) {
        Ok(m) => Confirmation::ok(&m, at),
        Err(r) => Confirmation::refused(&r, at),
    };
    let doc = conf.to_xml(at);
    assert!(xml::parse(doc.as_bytes()).is_ok(), "{doc}");
});
