//! Any bytes as a `rota.v1` message, through the same conversions the server runs: decoding
//! and conversion refuse or accept, never panic; what is accepted survives the trip back to
//! the wire and in again unchanged; and what would be made durable survives the log's JSON
//! unchanged (a value the server acknowledged but could not replay would be lost on
//! restart).
#![no_main]
use libfuzzer_sys::fuzz_target;
use prost::Message;
use rota_proto::v1 as pb;
use rota_server::convert;
use rota_server::log::LogRecord;

const NOW: i64 = 1_800_000_000;

fn survives_the_log(rec: LogRecord) {
    let bytes = serde_json::to_vec(&rec).expect("an accepted record serialises");
    let back: LogRecord = serde_json::from_slice(&bytes).expect("a written record reads back");
    assert_eq!(back, rec, "the log changed an accepted record");
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, msg)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => {
            let Ok(w) = pb::RouteRequest::decode(msg) else {
                return;
            };
            let _ = convert::searches_text(w.citation.as_ref());
            let Ok(r) = convert::request_from_wire(&w, NOW) else {
                return;
            };
            if r.validate().is_err() {
                return;
            }
            let again = convert::request_from_wire(&convert::request_to_wire(&r), NOW)
                .expect("a request rota sends is one it accepts");
            assert_eq!(again, r, "the wire changed an accepted request");
        }
        1 => {
            let Ok(w) = pb::LenderEvent::decode(msg) else {
                return;
            };
            let Ok(e) = convert::event_from_wire(&w, NOW) else {
                return;
            };
            if e.validate().is_err() {
                return;
            }
            survives_the_log(LogRecord::Event(e));
        }
        2 => {
            let Ok(w) = pb::WeightProfile::decode(msg) else {
                return;
            };
            let Ok(p) = convert::profile_from_wire(&w, None) else {
                return;
            };
            let again = convert::profile_from_wire(&convert::profile_to_wire(&p, 1), None)
                .expect("a profile rota shows is one it accepts");
            assert_eq!(again, p, "the wire changed an accepted profile");
            survives_the_log(LogRecord::Profile {
                who: "fuzz".into(),
                profile: p,
                version: 1,
                comment: String::new(),
            });
        }
        _ => {
            let Ok(w) = pb::Citation::decode(msg) else {
                return;
            };
            let Ok(c) = convert::citation_from_wire(Some(&w)) else {
                return;
            };
            if c.validate().is_err() {
                return;
            }
            let again = convert::citation_from_wire(Some(&convert::citation_to_wire(&c)))
                .expect("a citation rota sends is one it accepts");
            assert_eq!(again, c, "the wire changed an accepted citation");
        }
    }
});
